//! The body shared by the `parse` fuzz target and the `replay` runner.

use heapsnap_core::read::{diff, leaks, read_snapshot_from, CORRUPT_SNAPSHOT};

/// Parses `data` as a snapshot (plain, gzip or zstd). Input we reject must be reported as
/// `ERR_HEAPSNAP_CORRUPT_SNAPSHOT` with an offset; input we accept must be analyzable.
/// Returns whether the input parsed.
pub fn run(data: &[u8]) -> bool {
    match read_snapshot_from(data) {
        Ok(g) => {
            let s = g.summary();
            assert_eq!(s.node_count as usize, g.node_count());
            let self_total: u64 = (0..g.node_count() as u32).map(|o| g.self_size(o)).sum();
            assert_eq!(g.retained_size(g.root()), self_total, "the root retains every byte");
            let id = g.node_id(g.node_count() as u32 / 2);
            let chain = g.dominators(id).expect("a node's own id is found");
            assert!(chain.len() <= g.node_count());
            let _ = g.retainers(id);
            if let Some(c) = s.constructors.first() {
                let _ = g.retainers_by_class(&c.name);
            }
            let d = diff(&g, &g);
            assert!(d.added_ids.is_empty() && d.removed_ids.is_empty());
            assert!(leaks(&g, &g, &g).is_empty());
            true
        }
        Err(e) => {
            assert_eq!(e.code(), CORRUPT_SNAPSHOT, "{e}");
            assert!(e.offset().is_some(), "no offset: {e}");
            false
        }
    }
}
