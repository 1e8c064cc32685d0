//! Corrupt, truncated and hostile input: always `Err(ERR_HEAPSNAP_CORRUPT_SNAPSHOT)` with an
//! offset (or `Ok` for a harmless change), never a panic, a hang or a huge allocation; and
//! whatever parses can be analyzed without panicking.
//!
//! The input is a real Node 20 snapshot (the parity fixture, cut further to keep debug runs
//! quick) plus hand-written hostile files. Random cases come from a fixed seed, so a failure
//! names a case that reproduces.

use std::io::Read;
use std::time::{Duration, Instant};

use super::*;

/// The parity fixture, decompressed.
pub(crate) fn real_snapshot() -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/node20-pruned.heapsnapshot.gz");
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(p).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}


/// Everything a caller may do with a parsed graph; must not panic.
pub(crate) fn exercise(g: &HeapGraph) {
    let s = g.summary();
    assert_eq!(s.node_count as usize, g.node_count());
    let total: u64 = (0..g.node_count() as u32).map(|o| g.self_size(o)).sum();
    assert_eq!(
        g.retained_size(g.root()),
        total,
        "the root retains every byte"
    );
    let some_id = g.node_id(g.node_count() as u32 / 2);
    g.dominators(some_id);
    g.dominated(None, 5);
    g.retainers(some_id);
    if let Some(c) = s.constructors.first() {
        g.retainers_by_class(&c.name);
    }
    diff(g, g);
    leaks(g, g, g);
}

/// Parses `bytes`; on error checks the code and offset. Returns whether it parsed.
fn check(bytes: &[u8], what: &str) -> bool {
    let t = Instant::now();
    let r = std::panic::catch_unwind(|| match read_snapshot_from(bytes) {
        Ok(g) => {
            exercise(&g);
            true
        }
        Err(e) => {
            assert_eq!(e.code(), CORRUPT_SNAPSHOT, "{what}: {e}");
            let off = e
                .offset()
                .unwrap_or_else(|| panic!("{what}: no offset: {e}"));
            assert!(
                off <= bytes.len() as u64 * 64 + 64,
                "{what}: offset {off} past the input"
            );
            false
        }
    });
    let ok = r.unwrap_or_else(|_| panic!("{what}: panicked"));
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "{what}: took {:?}",
        t.elapsed()
    );
    ok
}

/// The real snapshot cut to its first 300 nodes, the edges among them and the strings they
/// use: a small valid Node 20 snapshot (~25 KB), so hundreds of cases stay quick in debug.
pub(super) fn small_real() -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&real_snapshot()).unwrap();
    let meta = v["snapshot"]["meta"].clone();
    let pos = |list: &str, f: &str| {
        meta[list]
            .as_array()
            .unwrap()
            .iter()
            .position(|x| x == f)
            .unwrap()
    };
    let nf = meta["node_fields"].as_array().unwrap().len();
    let ef = meta["edge_fields"].as_array().unwrap().len();
    let (ec, nname) = (pos("node_fields", "edge_count"), pos("node_fields", "name"));
    let (to, etype, ename) = (
        pos("edge_fields", "to_node"),
        pos("edge_fields", "type"),
        pos("edge_fields", "name_or_index"),
    );
    let etypes: Vec<String> = meta["edge_types"][etype]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let keep = 300usize;
    let nodes: Vec<u64> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    let edges: Vec<u64> = v["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    let strings: Vec<String> = v["strings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    let mut new_strings: Vec<String> = Vec::new();
    let mut remap: std::collections::HashMap<u64, u64> = Default::default();
    let mut string = |i: u64| {
        *remap.entry(i).or_insert_with(|| {
            new_strings.push(strings[i as usize].clone());
            new_strings.len() as u64 - 1
        })
    };
    let (mut new_nodes, mut new_edges) = (Vec::new(), Vec::new());
    let mut e = 0usize;
    for n in 0..keep {
        let mut rec = nodes[n * nf..n * nf + nf].to_vec();
        let count = rec[ec] as usize;
        let mut kept = 0;
        for k in e..e + count {
            let mut erec = edges[k * ef..k * ef + ef].to_vec();
            if (erec[to] as usize) < keep * nf {
                let t = &etypes[erec[etype] as usize];
                if t != "element" && t != "hidden" {
                    erec[ename] = string(erec[ename]);
                }
                new_edges.extend(erec);
                kept += 1;
            }
        }
        e += count;
        rec[ec] = kept;
        rec[nname] = string(rec[nname]);
        new_nodes.extend(rec);
    }
    v["snapshot"]["node_count"] = keep.into();
    v["snapshot"]["edge_count"] = (new_edges.len() / ef).into();
    v["nodes"] = new_nodes.into();
    v["edges"] = new_edges.into();
    v["strings"] = new_strings.into();
    v["locations"] = serde_json::json!([]);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn every_truncation_is_corrupt_with_an_offset() {
    assert!(check(&real_snapshot(), "the whole fixture"));
    let full = small_real();
    assert!(check(&full, "small"));
    let mut cuts: Vec<usize> = (0..300).map(|i| i * full.len() / 300).collect();
    // Plus every cut inside the header, where the structure is densest.
    cuts.extend(0..600.min(full.len()));
    cuts.sort_unstable();
    cuts.dedup();
    let t = Instant::now();
    for cut in cuts {
        let what = format!("cut at {cut}");
        assert!(
            !check(&full[..cut], &what),
            "{what}: a truncated snapshot parsed"
        );
    }
    assert!(t.elapsed() < Duration::from_secs(120), "{:?}", t.elapsed());
}

#[test]
fn random_mutations_never_panic() {
    let base = small_real();
    assert!(check(&base, "small base"));
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let specials: [&[u8]; 12] = [
        b"4294967295",
        b"4294967296",
        b"-1",
        b"1e9",
        b"99999999999999999999",
        b"0",
        b"[",
        b"]",
        b"{",
        b"\"",
        b",",
        b"null",
    ];
    let (mut ok, mut err) = (0, 0);
    for case in 0..500 {
        let mut m = base.clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(m.len());
            match rng.below(5) {
                0 => m[at] = rng.next() as u8,
                1 => m[at] = b"0123456789"[rng.below(10)],
                2 => {
                    m.remove(at);
                }
                3 => {
                    let s = specials[rng.below(specials.len())];
                    m.splice(at..at, s.iter().copied());
                }
                _ if !m[at].is_ascii_digit() => m[at] = b"-"[0],
                _ => {
                    // Replace a whole number with a special value.
                    let start = (0..=at)
                        .rev()
                        .find(|&i| !m[i].is_ascii_digit())
                        .map_or(0, |i| i + 1);
                    let end = (at..m.len())
                        .find(|&i| !m[i].is_ascii_digit())
                        .unwrap_or(m.len());
                    let s = specials[rng.below(6)];
                    m.splice(start..end, s.iter().copied());
                }
            }
        }
        if check(&m, &format!("mutation case {case}")) {
            ok += 1;
        } else {
            err += 1;
        }
    }
    // Both outcomes occur (a mutation of a string value is harmless).
    assert!(ok > 0 && err > 0, "ok {ok}, err {err}");
}

/// A valid tiny snapshot as a JSON value, to be broken in one place per case.
fn base() -> serde_json::Value {
    let (mut s, g, _) = Snap::with_global();
    let a = s.node("object", "A", 7, 20);
    s.edge(g, "property", "a", a);
    serde_json::from_str(&s.json()).unwrap()
}

fn hostile(what: &str, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut v = base();
    edit(&mut v);
    let bytes = serde_json::to_vec(&v).unwrap();
    assert!(!check(&bytes, what), "{what}: parsed");
}

#[test]
fn hostile_counts_indices_and_types_are_rejected() {
    use serde_json::json;
    // Declared counts are hints; they must not make us allocate 4e9 of anything.
    {
        let mut v = base();
        v["snapshot"]["node_count"] = json!(4_000_000_000u64);
        v["snapshot"]["edge_count"] = json!(4_000_000_000u64);
        let g = read_snapshot_from(&serde_json::to_vec(&v).unwrap()[..]).unwrap();
        assert_eq!(g.node_count(), 4);
    }
    // Node 1 (the global) claims 1e9 edges.
    hostile("huge edge_count", |v| {
        v["nodes"][7 + 4] = json!(1_000_000_000u64)
    });
    hostile("edge_count > u32", |v| {
        v["nodes"][7 + 4] = json!(5_000_000_000u64)
    });
    hostile("edge counts sum to more than the edges", |v| {
        v["nodes"][4] = json!(3)
    });
    hostile("to_node out of range", |v| v["edges"][2] = json!(7 * 1000));
    hostile("to_node not a node boundary", |v| v["edges"][2] = json!(8));
    hostile("node name string out of range", |v| {
        v["nodes"][1] = json!(100_000)
    });
    hostile("edge name string out of range", |v| {
        let n = v["edges"].as_array().unwrap().len();
        v["edges"][n - 2] = json!(100_000)
    });
    hostile("node type out of range", |v| v["nodes"][0] = json!(99));
    hostile("edge type out of range", |v| v["edges"][0] = json!(99));
    hostile("negative number", |v| v["nodes"][3] = json!(-1));
    hostile("float", |v| v["nodes"][3] = json!(1.5));
    // Self sizes (and ids) may pass 2^32: kept exactly in 64 bits. Past 2^64 a number is
    // corrupt, and so is a 32-bit reference (string index, edge count) past 2^32.
    {
        let mut v = base();
        v["nodes"][3] = json!(4_294_967_296u64);
        let g = read_snapshot_from(&serde_json::to_vec(&v).unwrap()[..]).unwrap();
        assert_eq!(g.raw_self_size(0), 4_294_967_296);
        let text = serde_json::to_string(&v).unwrap().replacen("4294967296", "18446744073709551616", 1);
        assert!(!check(text.as_bytes(), "number > u64"), "number > u64: parsed");
    }
    hostile("string index > u32", |v| v["nodes"][1] = json!(4_294_967_296u64));
    hostile("edge name > u32", |v| {
        let n = v["edges"].as_array().unwrap().len();
        v["edges"][n - 2] = json!(4_294_967_296u64)
    });
    hostile("string in nodes", |v| v["nodes"][3] = json!("10"));
    hostile("nodes is an object", |v| v["nodes"] = json!({}));
    hostile("strings hold a number", |v| v["strings"][0] = json!(1));
    hostile("strings is a string", |v| v["strings"] = json!("x"));
    hostile("meta missing", |v| v["snapshot"] = json!({}));
    hostile("node_fields not strings", |v| {
        v["snapshot"]["meta"]["node_fields"] = json!([1, 2])
    });
    hostile("no edge_count field", |v| {
        v["snapshot"]["meta"]["node_fields"][4] = json!("nope")
    });
    hostile("node types not a list", |v| {
        v["snapshot"]["meta"]["node_types"][0] = json!("hidden")
    });
    hostile("too many node types", |v| {
        v["snapshot"]["meta"]["node_types"][0] =
            json!((0..300).map(|i| i.to_string()).collect::<Vec<_>>())
    });
    hostile("nodes length not a multiple of fields", |v| {
        v["nodes"].as_array_mut().unwrap().push(json!(0))
    });
    hostile("no nodes", |v| {
        v["nodes"] = json!([]);
        v["edges"] = json!([]);
    });
    hostile("root_index not a node", |v| {
        v["snapshot"]["root_index"] = json!(3)
    });
    hostile("root_index beyond", |v| {
        v["snapshot"]["root_index"] = json!(7 * 50)
    });
    hostile("location object_index not a node", |v| {
        v["locations"] = json!([7 * 50, 1, 2, 3])
    });
    hostile("locations length", |v| v["locations"] = json!([0, 1, 2]));
    hostile("no strings", |v| {
        v.as_object_mut().unwrap().remove("strings");
    });
    hostile("no snapshot", |v| {
        v.as_object_mut().unwrap().remove("snapshot");
    });
    hostile("not an object", |v| *v = json!([1, 2, 3]));
}

#[test]
fn hostile_text_is_rejected() {
    let good = String::from_utf8(serde_json::to_vec(&base()).unwrap()).unwrap();
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    // (case, text, parses): skipped sections may nest deeply (serde_json skips them without
    // recursing); anything we must descend into is limited by serde_json's recursion limit.
    let cases: Vec<(&str, String, bool)> = vec![
        (
            "deep nesting in an unknown section",
            good.replacen(
                "\"samples\":[]",
                &format!("\"samples\":{}", deep(100_000)),
                1,
            ),
            true,
        ),
        (
            "deep nesting in meta",
            good.replacen(
                "\"sample_fields\":",
                &format!("\"x\":{},\"sample_fields\":", deep(100_000)),
                1,
            ),
            true,
        ),
        (
            "deep nesting in a used meta field",
            good.replacen(
                "\"location_fields\":[",
                &format!("\"location_fields\":[{},", deep(100_000)),
                1,
            ),
            false,
        ),
        (
            "deep nesting in nodes",
            good.replacen("\"nodes\":[", &format!("\"nodes\":[{},", deep(100_000)), 1),
            false,
        ),
        ("deep nesting at the top", deep(1_000_000), false),
        ("unclosed nesting", "[".repeat(1_000_000), false),
        (
            "duplicate nodes",
            good.replacen("\"edges\":", "\"nodes\":[],\"edges\":", 1),
            false,
        ),
        (
            "duplicate snapshot",
            good.replacen("\"nodes\":", "\"snapshot\":{},\"nodes\":", 1),
            false,
        ),
        (
            "bad escape in a string",
            good.replacen("\"global\"", "\"\\uZZZZ\"", 1),
            false,
        ),
        (
            "lone surrogate",
            good.replacen("\"global\"", "\"\\ud800\"", 1),
            false,
        ),
        (
            "control character in a string",
            good.replacen("\"global\"", "\"\u{1}\"", 1),
            false,
        ),
        ("two documents", format!("{good}{good}"), false),
    ];
    for (what, text, parses) in cases {
        assert_eq!(check(text.as_bytes(), what), parses, "{what}");
    }
    let mut invalid_utf8 = good.into_bytes();
    let at = invalid_utf8
        .windows(6)
        .position(|w| w == b"global")
        .unwrap();
    invalid_utf8[at] = 0xff;
    assert!(!check(&invalid_utf8, "invalid utf-8"));
}

#[test]
fn sections_in_any_order_and_extra_fields_are_fine() {
    let v = base();
    let order = [
        "strings",
        "edges",
        "nodes",
        "locations",
        "samples",
        "snapshot",
    ];
    let mut text = String::from("{\"extra\":{\"a\":[1,2,{\"b\":null}]}");
    for k in order {
        text.push_str(&format!(",\"{k}\":{}", v[k]));
    }
    text.push('}');
    let g = read_snapshot_from(text.as_bytes()).unwrap();
    let want = read_snapshot_from(serde_json::to_vec(&v).unwrap().as_slice()).unwrap();
    assert_eq!(g.summary(), want.summary());
    exercise(&g);
}
