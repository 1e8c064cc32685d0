//! Runs every file given (or found in the directories given) through the fuzz body, for
//! machines without a nightly toolchain and for replaying crashes:
//! `cargo run --release --no-default-features --bin replay -- corpus/parse artifacts/parse`.

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut files: Vec<PathBuf> = Vec::new();
    for arg in std::env::args_os().skip(1) {
        let p = PathBuf::from(arg);
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()).collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(p);
        }
    }
    let t = Instant::now();
    let mut slowest = (0.0f64, PathBuf::new());
    let mut parsed = 0;
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let t1 = Instant::now();
        parsed += heapsnap_core_fuzz::run(&data) as usize;
        let s = t1.elapsed().as_secs_f64();
        if s > slowest.0 {
            slowest = (s, f.clone());
        }
    }
    println!(
        "{} inputs ({} parsed, {} rejected as corrupt) in {:.2?}, slowest {:.3} s ({})",
        files.len(),
        parsed,
        files.len() - parsed,
        t.elapsed(),
        slowest.0,
        slowest.1.display()
    );
}
