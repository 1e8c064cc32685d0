//! The analyzer's use of a second core: two jobs side by side, and a node range cut in two
//! halves of about equal edge counts. Under WASI everything runs on the calling thread (see
//! `parser`: each wasm thread is a Node worker, and one that traps would strand the other).

use std::ops::Range;

use super::graph::Graph;

/// Runs `a` on this thread and `b` on a second one (WASI: one after the other); a panic in
/// either is resumed here.
pub(crate) fn join<A, B>(a: impl FnOnce() -> A, b: impl FnOnce() -> B + Send) -> (A, B)
where
    B: Send,
{
    #[cfg(target_os = "wasi")]
    return (a(), b());
    #[cfg(not(target_os = "wasi"))]
    std::thread::scope(|scope| {
        let other = scope.spawn(b);
        let a = a();
        (a, other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// The graph's nodes in two ranges with about half of the edges each, for passes over the
/// edges that [`join`] splits.
pub(crate) fn node_halves(g: &Graph) -> [Range<u32>; 2] {
    let count = g.node_count();
    let half = g.edge_count() / 2;
    // The first node whose edges start at or past the middle edge (first_edge ascends).
    let (mut lo, mut hi) = (0usize, count);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if (g.first_edge.get(mid) as usize) < half {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    [0..lo as u32, lo as u32..count as u32]
}
