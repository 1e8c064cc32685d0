//! Parity with Chrome DevTools on a real Node 20 snapshot.
//!
//! `tests/fixtures/node20-pruned.heapsnapshot.gz` is a Node 20.20.2 snapshot (Sessions,
//! linked lists, Maps, WeakMaps with symbol keys, WeakRefs, closures) cut to 2500 nodes by
//! `tests/fixtures/prune.js`; `node20-pruned.devtools.json` is the Summary that
//! chrome-devtools-frontend@1.0.1705227's own `HeapSnapshot.ts` computes for it (see
//! `tests/fixtures/README.md`). The cut leaves nodes held only weakly and unreachable cliques,
//! which exercise DevTools' special cases too. Every row must match exactly.

use std::collections::HashMap;
use std::path::PathBuf;

use super::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn summary_matches_devtools_exactly() {
    let g = read_snapshot(&fixture("node20-pruned.heapsnapshot.gz")).unwrap();
    let want: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("node20-pruned.devtools.json")).unwrap())
            .unwrap();
    let s = g.summary();
    assert_eq!(s.node_count, want["nodeCount"].as_u64().unwrap());
    assert_eq!(s.total_size, want["totalSize"].as_u64().unwrap());
    let key = |name: &str, loc: Option<(u64, u64, u64)>| format!("{name}@{loc:?}");
    let mut ours: HashMap<String, &ClassSummary> = s
        .constructors
        .iter()
        .map(|c| {
            (
                key(
                    &c.name,
                    c.location
                        .map(|l| (l.script_id as u64, l.line as u64, l.column as u64)),
                ),
                c,
            )
        })
        .collect();
    let rows = want["constructors"].as_array().unwrap();
    assert!(rows.len() > 30);
    for r in rows {
        let loc = r.get("location").map(|l| {
            (
                l["scriptId"].as_u64().unwrap(),
                l["line"].as_u64().unwrap(),
                l["column"].as_u64().unwrap(),
            )
        });
        let k = key(r["name"].as_str().unwrap(), loc);
        let c = ours
            .remove(&k)
            .unwrap_or_else(|| panic!("DevTools has {k}, we do not"));
        let got = (c.count, c.self_size, c.retained_size);
        let exp = (
            r["count"].as_u64().unwrap(),
            r["selfSize"].as_u64().unwrap(),
            r["retainedSize"].as_u64().unwrap(),
        );
        assert_eq!(got, exp, "{k}: (count, self, retained) ours vs DevTools");
    }
    assert!(
        ours.is_empty(),
        "rows DevTools does not have: {:?}",
        ours.keys().collect::<Vec<_>>()
    );
}
