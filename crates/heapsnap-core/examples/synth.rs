//! Writes a synthetic heap snapshot of any size (see `heapsnap_core::read::synth`) and prints the
//! Summary the analyzer must produce for it (the `heapsnap summary --json` shape plus
//! `stringChars`), so benchmarks can check results exactly on multi-GB inputs.
//!
//!   cargo run --release -p heapsnap-core --example synth -- OUT.heapsnapshot[.gz] \
//!     [--holders N] [--items N] [--classes N] [--string-len N] [--id-base N] [--big BYTES]
//!
//! Defaults make a ~5 GB string-heavy file: 4,400 holders x 1,000 items, 1,000-character
//! strings (4.4 G characters), ids from 2^32, one 6 GiB native node. A `.gz` name gzips
//! (level 1). Progress and the rate go to stderr.

use std::time::Instant;

use heapsnap_core::read::synth::SynthSpec;

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args.next().expect("usage: synth OUT.heapsnapshot[.gz] [--holders N] ...");
    let mut spec = SynthSpec {
        holders: 4_400,
        items_per_holder: 1_000,
        item_classes: 10,
        string_len: 1_000,
        id_base: 1 << 32,
        big_native: 6 << 30,
    };
    while let Some(flag) = args.next() {
        let v: u64 = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{flag} needs a number"));
        match flag.as_str() {
            "--holders" => spec.holders = v,
            "--items" => spec.items_per_holder = v as u32,
            "--classes" => spec.item_classes = v as u32,
            "--string-len" => spec.string_len = v as usize,
            "--id-base" => spec.id_base = v,
            "--big" => spec.big_native = v,
            _ => panic!("unknown flag {flag}"),
        }
    }
    let t = Instant::now();
    let bytes = spec.write_file(out.as_ref()).expect("write");
    let s = t.elapsed().as_secs_f64();
    eprintln!("{out}: {bytes} bytes of JSON in {s:.1} s ({:.0} MB/s)", bytes as f64 / s / 1e6);
    println!("{}", serde_json::to_string(&spec.expected()).expect("json"));
}
