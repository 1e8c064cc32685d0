//! The analyzer past every 32-bit boundary, on synthetic snapshots whose Summary is known by
//! construction (`crate::read::synth`). The cheap cases run by default; the multi-GB ones are
//! `#[ignore]`d (run them in release: `cargo test --release -p heapsnap-core scale --
//! --ignored`; `HEAPSNAP_SCALE_DIR` picks the directory for the big file, default the
//! system temp dir).

use crate::read::graph::VALUE_PREFIX;
use crate::read::{diff, read_snapshot, read_snapshot_from, HeapGraph};
use crate::read::synth::{SynthClass, SynthExpected, SynthSpec};

fn summary_of(g: &HeapGraph) -> SynthExpected {
    let s = g.summary();
    SynthExpected {
        node_count: s.node_count,
        edge_count: s.edge_count,
        total_size: s.total_size,
        // Long string values are kept as a prefix (see the test below): callers compare this
        // only for short ones.
        string_chars: (0..g.strings().len() as u32)
            .map(|i| g.strings().get(i).len() as u64)
            .sum(),
        constructors: s
            .constructors
            .into_iter()
            .map(|c| SynthClass {
                name: c.name,
                count: c.count,
                self_size: c.self_size,
                retained_size: c.retained_size,
            })
            .collect(),
    }
}

const WIDE: u64 = 1 << 32;

fn wide_spec(holders: u64) -> SynthSpec {
    SynthSpec {
        holders,
        items_per_holder: 25,
        item_classes: 6,
        string_len: 24,
        id_base: 5 * WIDE,
        big_native: 6 << 30,
    }
}

#[test]
fn ids_self_sizes_retained_sizes_and_totals_past_2_pow_32_are_exact_plain_and_gzip() {
    let spec = wide_spec(40);
    let want = spec.expected();
    assert!(want.total_size > WIDE && want.constructors[0].retained_size > WIDE);
    let mut plain = Vec::new();
    let n = spec.write(&mut plain).unwrap();
    assert_eq!(n, plain.len() as u64);
    let g = read_snapshot_from(&plain[..]).unwrap();
    assert_eq!(summary_of(&g), want);

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    spec.write(&mut gz).unwrap();
    let gz = gz.finish().unwrap();
    assert_eq!(summary_of(&read_snapshot_from(&gz[..]).unwrap()), want);

    // Ids past 2^32 are found; a holder retains its items and their strings.
    let holder_id = spec.id_base + 2 * 2; // root, BigBuffer, then the first holder
    let h = g.find_node(holder_id).expect("wide id is found");
    assert_eq!(g.node_id(h), holder_id);
    assert_eq!(g.node_name(h), "Holder");
    let per_holder = want
        .constructors
        .iter()
        .find(|c| c.name == "Holder")
        .unwrap()
        .retained_size
        / 40;
    assert_eq!(g.retained_size(h), per_holder);
    assert_eq!(
        g.find_node(holder_id - WIDE),
        None,
        "ids are not truncated to 32 bits"
    );
    let big = g.find_node(spec.id_base + 2).unwrap();
    assert_eq!(
        (g.raw_self_size(big), g.retained_size(big)),
        (6 << 30, 6 << 30)
    );

    // Diff by wide ids: one more holder in B is exactly one holder's nodes added.
    let b = read_snapshot_from(
        &{
            let mut v = Vec::new();
            wide_spec(41).write(&mut v).unwrap();
            v
        }[..],
    )
    .unwrap();
    let d = diff(&g, &b);
    assert!(d.removed_ids.is_empty());
    assert_eq!(d.added_ids.len(), 1 + 25 * 2);
    assert!(d.added_ids.iter().all(|&id| id > 5 * WIDE));
    let holder = d.constructors.iter().find(|c| c.name == "Holder").unwrap();
    assert_eq!((holder.added, holder.size_delta), (1, 64));
    let strings = d
        .constructors
        .iter()
        .find(|c| c.name == "(string)")
        .unwrap();
    assert_eq!(strings.added, 25);
}

#[test]
fn generated_counts_match_the_spec_without_strings_or_big_node() {
    let spec = SynthSpec {
        holders: 3,
        items_per_holder: 7,
        item_classes: 3,
        string_len: 0,
        id_base: 1,
        big_native: 0,
    };
    let mut v = Vec::new();
    spec.write(&mut v).unwrap();
    let g = read_snapshot_from(&v[..]).unwrap();
    let want = spec.expected();
    assert_eq!(
        (want.node_count, want.edge_count),
        (1 + 3 * 8, 3 + 3 * 7 * 3)
    );
    assert_eq!(summary_of(&g), want);
}

#[test]
fn long_string_values_are_kept_as_a_prefix_and_sized_whole() {
    let spec = SynthSpec { holders: 2, items_per_holder: 3, item_classes: 1, string_len: 5000, id_base: 1, big_native: 0 };
    let mut v = Vec::new();
    spec.write(&mut v).unwrap();
    let g = read_snapshot_from(&v[..]).unwrap();
    let want = spec.expected();
    let got = summary_of(&g);
    assert_eq!(got.constructors, want.constructors);
    // Root, holder, item, then the item's string: ordinal 3.
    let s = g.find_node(spec.id_base + 2 * 3).unwrap();
    assert_eq!(g.node_type_name(s), "string");
    let name = g.node_name(s);
    assert!(name.starts_with("0000000000000000qrstuv"), "{name}");
    assert!(name.ends_with('…') && name.len() == VALUE_PREFIX + '…'.len_utf8(), "{}", name.len());
    // Every other string (class and property names) is whole.
    assert_eq!(g.class_name(1), "Holder");
    assert_eq!(got.string_chars, want.string_chars - 6 * (5000 - (VALUE_PREFIX + '…'.len_utf8()) as u64));
}

/// Writes `spec` to a file, reads it back, checks the Summary.
fn check_file(spec: &SynthSpec, name: &str) -> (u64, SynthExpected) {
    let dir = std::env::var_os("HEAPSNAP_SCALE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!("{name}-{}.heapsnapshot", std::process::id()));
    let bytes = spec.write_file(&path).unwrap();
    let got = read_snapshot(&path).map(|g| summary_of(&g));
    std::fs::remove_file(&path).unwrap();
    let want = spec.expected();
    let got = got.unwrap();
    assert_eq!(got.constructors, want.constructors);
    assert_eq!((got.node_count, got.edge_count, got.total_size), (want.node_count, want.edge_count, want.total_size));
    (bytes, want)
}

#[test]
#[ignore = "multi-GB: run in release by hand"]
fn more_than_2_pow_32_bytes_and_2_pow_31_string_characters() {
    let spec = SynthSpec {
        holders: 4_400,
        items_per_holder: 1_000,
        item_classes: 10,
        string_len: 1_000,
        id_base: WIDE,
        big_native: 0,
    };
    let (bytes, want) = check_file(&spec, "scale-strings");
    assert!(bytes > WIDE, "{bytes} bytes");
    assert!(want.string_chars > 1 << 31);
}

#[test]
#[ignore = "~1 GB file: run in release by hand"]
fn more_than_2_pow_24_nodes() {
    let spec = SynthSpec {
        holders: 17_000,
        items_per_holder: 1_000,
        item_classes: 100,
        string_len: 0,
        id_base: WIDE,
        big_native: 5 << 30,
    };
    let (_, want) = check_file(&spec, "scale-nodes");
    assert!(want.node_count > 1 << 24);
}
