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

/// `HEAPSNAP_SUMMARY_IN=x.heapsnapshot HEAPSNAP_SUMMARY_OUT=x.json cargo test dump_summary`
/// writes our summary as JSON, for comparison with DevTools' model run in node.
#[test]
fn dump_summary() {
    let (Ok(i), Ok(o)) = (std::env::var("HEAPSNAP_SUMMARY_IN"), std::env::var("HEAPSNAP_SUMMARY_OUT")) else {
        return;
    };
    let t = std::time::Instant::now();
    let g = read_snapshot(i.as_ref()).unwrap();
    let t1 = t.elapsed();
    let s = g.summary();
    eprintln!("parse {:?}, parse+summary {:?}", t1, t.elapsed());
    std::fs::write(o, serde_json::to_string(&s).unwrap()).unwrap();
}
