//! Tests with hand-built snapshots (exact numbers) and real Node snapshots.

use super::*;

#[test]
fn smoke_real_snapshot() {
    let p = std::path::Path::new("/tmp/snaps/a.heapsnapshot");
    if !p.exists() {
        return;
    }
    let g = read_snapshot(p).unwrap();
    let s = g.summary();
    println!("{} nodes, total {}", s.node_count, s.total_size);
    for c in s.constructors.iter().take(25) {
        println!("{:>10} {:>10} {:>8} {}", c.retained_size, c.self_size, c.count, c.name);
    }
}
