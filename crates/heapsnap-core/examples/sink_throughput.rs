//! How fast the sink's writer thread takes a snapshot, plain and redacted, for each
//! compression: the file is fed in 64 KiB pieces (as V8 hands them over), so the time is the
//! writer thread's, which must stay ahead of V8's serializer (~150 MB/s) not to slow a dump.
//!
//!   cargo run --release -p heapsnap-core --example sink_throughput -- FILE.heapsnapshot
//!
//! Prints, per compression and mode: time, input MB/s, extra peak RSS (VmHWM after minus
//! VmRSS before, the kernel's peak reset first), JSON and file sizes.

use std::time::Instant;

use heapsnap_core::write::sink::{Compression, SinkOptions, SnapshotSink};

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with(field)).expect("field in /proc/self/status");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a number of kB")
}

fn main() {
    let file = std::env::args().nth(1).expect("usage: sink_throughput FILE.heapsnapshot (plain JSON)");
    let input = std::fs::read(&file).expect("readable snapshot");
    let dir = std::env::temp_dir();
    println!("| compression | mode | time | input rate | extra peak RSS | JSON | file |");
    println!("|---|---|---|---|---|---|---|");
    for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
        for redact in [false, true] {
            let target = dir.join(format!("heapsnap-sink-throughput-{}.heapsnapshot{}", std::process::id(), compression.extension()));
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let before = status_kib("VmRSS:");
            let started = Instant::now();
            let mut sink = SnapshotSink::create(&target, SinkOptions { compression, redact, ..SinkOptions::default() }).expect("sink");
            for piece in input.chunks(64 << 10) {
                sink.write(piece).expect("write");
            }
            let stats = sink.finish().expect("finish");
            let secs = started.elapsed().as_secs_f64();
            let peak = status_kib("VmHWM:").saturating_sub(before) as f64 / 1024.0;
            let mode = if redact { "redact" } else { "plain" };
            println!(
                "| {compression} | {mode} | {secs:.2} s | {:.0} MB/s | {peak:.1} MiB | {:.1} MB | {:.1} MB |",
                input.len() as f64 / 1e6 / secs,
                stats.raw_bytes as f64 / 1e6,
                stats.bytes as f64 / 1e6
            );
            std::fs::remove_file(&target).expect("remove the output");
        }
    }
}
