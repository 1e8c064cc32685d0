//! Dominator tree and retained sizes, with Chrome DevTools' semantics so numbers match its
//! Summary view (`HeapSnapshot.ts` in chrome-devtools-frontend: `calculateShallowSizes`,
//! `markPageOwnedNodes`, `computeIsEssentialEdge`, `calculateDominatorsAndRetainedSizes`,
//! `buildDominatedNodes`). Written from scratch in Rust, same rules:
//!
//! * **Shallow sizes.** When the root has user roots (a non-synthetic child such as the
//!   `global` object), each `hidden`/`array`/`system / ExternalStringData` node reachable
//!   from exactly one "owner" (any other node) through such nodes gives its self size to that
//!   owner (not to synthetic nodes or the root). Arrays backing an object are then counted in
//!   the object, as DevTools shows them.
//! * **Essential edges** (the only ones that retain): not `weak`; not self loops; `shortcut`
//!   only from the root; not from a non-page-owned node to a page-owned one (page-owned =
//!   reachable over non-weak edges from the root's shortcut targets, i.e. the global object,
//!   or from `(Document DOM trees)`), so objects also held by e.g. the debugger are attributed
//!   to the page; and for a WeakMap value, the edge from the table is dropped in favour of
//!   the edge from the key (ephemeron edge names are parsed like DevTools' regex).
//! * **Dominators** by Lengauer–Tarjan (iterative DFS from the root, in edge order). Nodes
//!   with no essential retainer are treated as children of the root; nodes still unreached
//!   (cycles held only by each other) are hung under the root too, exactly as DevTools does.
//! * **Retained size** = own shallow size + retained sizes of dominated nodes.

use super::column::Column;
use super::packed::{bit_len, PackedVec};
use super::graph::Graph;
use super::parallel::{join, node_halves};
use std::sync::atomic::{AtomicU32, Ordering};

/// Results of the DevTools-style analysis, indexed by node ordinal.
pub(crate) struct Analysis {
    /// Self sizes after owner re-attribution (see module docs).
    pub shallow: Column,
    /// Immediate dominator ordinal (the root dominates itself).
    pub dominator: PackedVec,
    /// Retained sizes: 4 bytes each when the heap's total fits in a `u32` (no retained
    /// size exceeds the root's, which is the sum of all shallow sizes), else 8.
    pub retained: Column,
    /// Children in the dominator tree: `dom_children[dom_first[n]..dom_first[n + 1]]`.
    pub dom_first: PackedVec,
    pub dom_children: PackedVec,
}

/// Post-order accumulation: reverse DFS preorder visits children before dominators.
fn accumulate<T: Copy + std::ops::AddAssign>(sizes: &mut [T], order: &[u32], dominator: &[u32]) {
    for &v in order.iter().skip(1).rev() {
        let d = dominator[v as usize] as usize;
        let s = sizes[v as usize];
        sizes[d] += s;
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BitSet(Vec<u64>);

impl BitSet {
    pub fn new(n: usize) -> Self {
        BitSet(vec![0; n.div_ceil(64)])
    }
    #[inline]
    pub fn get(&self, i: usize) -> bool {
        self.0[i >> 6] & (1 << (i & 63)) != 0
    }
    /// Like `get`, but false past the end instead of a panic.
    pub fn contains(&self, i: usize) -> bool {
        self.0.get(i >> 6).is_some_and(|w| w & (1 << (i & 63)) != 0)
    }
    /// Sets every bit set in `other` (which may be shorter).
    pub fn union(&mut self, other: &BitSet) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }
    /// Clears every bit set in `other` (which may be shorter).
    pub fn subtract(&mut self, other: &BitSet) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a &= !b;
        }
    }
    #[inline]
    pub fn set(&mut self, i: usize) {
        self.0[i >> 6] |= 1 << (i & 63);
    }
}

impl Analysis {
    /// Temporaries are freed as soon as they are used up and the big per-node arrays are
    /// reused in place, so the peak stays near 28 bytes per node (the Lengauer–Tarjan
    /// arrays and one chunk of predecessor lists) on top of the graph.
    pub(crate) fn compute(g: &Graph) -> Analysis {
        Analysis::compute_beside(g, || ()).0
    }

    /// [`Analysis::compute`], running `beside` on a second thread while the steps after the
    /// dominator tree (shallow and retained sizes, the dominated lists) run on this one: the
    /// Summary computes classes there. Not during the Lengauer–Tarjan pass, whose arrays are
    /// the peak of the whole analysis: what `beside` allocates then adds to a lower one.
    pub(crate) fn compute_beside<T: Send>(g: &Graph, beside: impl FnOnce() -> T + Send) -> (Analysis, T) {
        let page = page_owned(g);
        let essential = essential_edges(g, &page);
        drop(page);
        let (dominator, order) = lengauer_tarjan(g, &essential);
        drop(essential);
        join(|| Analysis::finish(g, dominator, order), beside)
    }

    /// Sizes and the dominated lists from the dominator tree (see [`lengauer_tarjan`]).
    fn finish(g: &Graph, dominator: Vec<u32>, order: Vec<u32>) -> Analysis {
        // After the dominator tree, so its arrays and these never coexist.
        let shallow = shallow_sizes(g);
        let n = g.node_count();
        // Each shallow size is added along a chain of dominators whose preorder positions
        // decrease, so into any node at most once: nothing exceeds the total, and the
        // shallow column is already wide when the total needs it.
        let mut retained = shallow.clone();
        match &mut retained {
            Column::Narrow(v) => accumulate(v, &order, &dominator),
            Column::Wide(v) => accumulate(v, &order, &dominator),
        }
        drop(order);
        let dominator = PackedVec::from_values(dominator.into_iter().map(u64::from));
        let (dom_first, dom_children) = dominated_nodes(&dominator, g.root, n);
        Analysis { shallow, dominator, retained, dom_first, dom_children }
    }
}

/// Whether the root has a user root (DevTools' `#hasUserRoots`: a non-synthetic child, or
/// the `(Document DOM trees)` root). Snapshots taken with "expose internals" have none.
pub(crate) fn is_user_root(g: &Graph, ord: u32) -> bool {
    let t = g.node_type[ord as usize];
    t != g.nt.synthetic || g.node_name(ord) == "(Document DOM trees)"
}

fn has_user_roots(g: &Graph) -> bool {
    g.edges(g.root).any(|e| is_user_root(g, g.edge_to(e)))
}

/// DevTools' `markPageOwnedNodes`.
pub(crate) fn page_owned(g: &Graph) -> BitSet {
    let mut flags = BitSet::new(g.node_count());
    let mut stack: Vec<u32> = Vec::new();
    for e in g.edges(g.root) {
        let to = g.edge_to(e);
        let t = g.edge_type(e);
        let entry = if t == g.et.element {
            g.node_type[to as usize] == g.nt.synthetic && g.node_name(to) == "(Document DOM trees)"
        } else {
            t == g.et.shortcut
        };
        if entry && !flags.get(to as usize) {
            flags.set(to as usize);
            stack.push(to);
        }
    }
    while let Some(n) = stack.pop() {
        for e in g.edges(n) {
            let to = g.edge_to(e) as usize;
            if flags.get(to) || g.edge_type(e) == g.et.weak {
                continue;
            }
            flags.set(to);
            stack.push(to as u32);
        }
    }
    flags
}

/// Parses a V8 ephemeron edge name
/// `<n> / part of key (<K> @<id>) -> value (<V> @<id>) pair in WeakMap (table @<table id>)`
/// and returns the table id. Same language as DevTools' `tryParseWeakMapEdgeName` regex
/// `^\d+ / part of key \(.*? @\d+\) -> value \(.*? @\d+\) pair in WeakMap \(table @(\d+)\)$`
/// (`.` does not match line terminators; the name ends with a single `)`).
pub(crate) fn weakmap_table_id(name: &str) -> Option<u64> {
    const KEY: &str = " / part of key (";
    const VALUE: &str = ") -> value (";
    const TABLE: &str = " pair in WeakMap (table @";
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let ends_with_at_digits = |s: &str| {
        let d = s.len() - s.bytes().rev().take_while(u8::is_ascii_digit).count();
        d < s.len() && s[..d].ends_with(" @")
    };
    if name.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
        return None;
    }
    let lead = digits(name);
    if lead == 0 || !name[lead..].starts_with(KEY) {
        return None;
    }
    let rest = name[lead + KEY.len()..].strip_suffix(')')?;
    let at = rest.rfind(TABLE)?;
    let id = &rest[at + TABLE.len()..];
    if id.is_empty() || digits(id) != id.len() {
        return None;
    }
    // `<K> @<id>) -> value (<V> @<id>)`: the value part ends with ` @<digits>)`, and some
    // `) -> value (` is preceded by ` @<digits>`.
    let pair = rest[..at].strip_suffix(')')?;
    if !ends_with_at_digits(pair) {
        return None;
    }
    let value_tail = pair.len() - pair.bytes().rev().take_while(u8::is_ascii_digit).count() - 2;
    let ok = pair.match_indices(VALUE).any(|(p, _)| p + VALUE.len() <= value_tail && ends_with_at_digits(&pair[..p]));
    if !ok {
        return None;
    }
    id.parse().ok()
}

/// DevTools' `initEssentialEdges`: one bit per edge ordinal. Each half of the nodes on its
/// own core (see `parallel`).
pub(crate) fn essential_edges(g: &Graph, page: &BitSet) -> BitSet {
    bits_by_halves(g, |nodes| essential_edges_of(g, page, nodes))
}

/// The union of `bits_of(nodes)` over the two halves of the nodes (see `parallel`), one half
/// on each core.
fn bits_by_halves(g: &Graph, bits_of: impl Fn(std::ops::Range<u32>) -> BitSet + Sync) -> BitSet {
    let [a, b] = node_halves(g);
    let (mut bits, other) = join(|| bits_of(a), || bits_of(b));
    bits.union(&other);
    bits
}

/// [`essential_edges`] of the edges of `nodes`, the others left clear.
pub(crate) fn essential_edges_of(g: &Graph, page: &BitSet, nodes: std::ops::Range<u32>) -> BitSet {
    const UNKNOWN: u64 = u64::MAX;
    const NOT_WEAKMAP: u64 = u64::MAX - 1;
    let mut weakmap_cache: Vec<u64> = Vec::new();
    let mut bits = BitSet::new(g.edge_count());
    for n in nodes {
        let node_page = page.get(n as usize);
        for e in g.edges(n) {
            let t = g.edge_type(e);
            if t == g.et.weak {
                continue;
            }
            if t == g.et.internal {
                if weakmap_cache.is_empty() {
                    weakmap_cache = vec![UNKNOWN; g.strings.len()];
                }
                let s = g.edge_name_index(e) as usize;
                if weakmap_cache[s] == UNKNOWN {
                    weakmap_cache[s] = weakmap_table_id(g.strings.get(s as u32)).unwrap_or(NOT_WEAKMAP);
                }
                if weakmap_cache[s] == g.node_id.get(n as usize) {
                    continue;
                }
            }
            let to = g.edge_to(e);
            if to == n {
                continue;
            }
            if n != g.root {
                if t == g.et.shortcut {
                    continue;
                }
                if page.get(to as usize) && !node_page {
                    continue;
                }
            }
            bits.set(e);
        }
    }
    bits
}

/// DevTools' `calculateShallowSizes` (see module docs). Owners' sums never exceed the
/// heap's total, so the column is widened up front when that total needs 8 bytes.
pub(crate) fn shallow_sizes(g: &Graph) -> Column {
    let mut sizes = Column::from_values(g.node_self.iter());
    if sizes.sum() > u32::MAX as u128 {
        sizes.widen();
    }
    if has_user_roots(g) {
        match &mut sizes {
            Column::Narrow(v) => reattribute_owned(g, v),
            Column::Wide(v) => reattribute_owned(g, v),
        }
    }
    sizes
}

/// Moves the self size of each owned node (see module docs) to its single owner.
fn reattribute_owned<T: Copy + Default + std::ops::AddAssign>(g: &Graph, sizes: &mut [T]) {
    let n = g.node_count();
    // Owner ordinal per node, or one of two markers past the last ordinal.
    let (unvisited, multiple) = (n as u64, n as u64 + 1);
    let mut owners = PackedVec::zeros(n, bit_len(multiple));
    let mut worklist: Vec<u32> = Vec::new();
    for i in 0..n as u32 {
        let t = g.node_type[i as usize];
        let owned = t == g.nt.hidden
            || t == g.nt.array
            || (t == g.nt.native && g.node_name(i) == "system / ExternalStringData");
        if owned {
            owners.set(i as usize, unvisited);
        } else {
            owners.set(i as usize, i as u64);
            worklist.push(i);
        }
    }
    while let Some(id) = worklist.pop() {
        let owner = owners.get(id as usize);
        for e in g.edges(id) {
            if g.edge_type(e) == g.et.weak {
                continue;
            }
            let target = g.edge_to(e);
            let cur = owners.get(target as usize);
            if cur == unvisited {
                owners.set(target as usize, owner);
                worklist.push(target);
            } else if cur == target as u64 || cur == owner || cur == multiple {
                // Owned by itself, by the same owner, or already shared: nothing changes.
            } else {
                owners.set(target as usize, multiple);
                worklist.push(target);
            }
        }
    }
    for i in 0..n {
        let o = owners.get(i);
        if o == unvisited || o == multiple || o as usize == i {
            continue;
        }
        if g.node_type[o as usize] == g.nt.synthetic || o == g.root as u64 {
            continue;
        }
        let s = std::mem::take(&mut sizes[i]);
        sizes[o as usize] += s;
    }
}

/// DevTools' traversal order: a DFS from the root over essential edges in edge order; then,
/// from each still unreached node without essential predecessors in ordinal order, a DFS
/// hung off the root; then every node still unreached (cycles retained only by each other)
/// individually, hung off the root. Calls `number(v, parent)` for each vertex (ordinal + 1)
/// in that preorder.
fn dfs_preorder(g: &Graph, essential: &BitSet, has_pred: &BitSet, mut number: impl FnMut(u32, u32)) {
    let count = g.node_count();
    let len = count + 1;
    let mut seen = BitSet::new(len);
    let mut parent = vec![0u32; len];
    let mut next_edge = vec![0u32; len];
    let mut dfs = |root: u32, root_parent: u32, seen: &mut BitSet| {
        parent[root as usize] = root_parent;
        next_edge[root as usize] = g.first_edge.get(root as usize - 1) as u32;
        let mut v = root;
        while v != 0 && v != root_parent {
            if !seen.get(v as usize) {
                seen.set(v as usize);
                number(v, parent[v as usize]);
            }
            let mut v_next = parent[v as usize];
            let end = g.first_edge.get(v as usize) as u32;
            while next_edge[v as usize] < end {
                let e = next_edge[v as usize] as usize;
                if essential.get(e) {
                    let w = g.edge_to(e) + 1;
                    if !seen.get(w as usize) {
                        parent[w as usize] = v;
                        next_edge[w as usize] = g.first_edge.get(w as usize - 1) as u32;
                        v_next = w;
                        break;
                    }
                }
                next_edge[v as usize] += 1;
            }
            v = v_next;
        }
    };
    let r = g.root + 1;
    dfs(r, 0, &mut seen);
    for v in 1..=count as u32 {
        if !seen.get(v as usize) && !has_pred.get(v as usize) {
            dfs(v, r, &mut seen);
        }
    }
    for v in 1..=count as u32 {
        if !seen.get(v as usize) {
            seen.set(v as usize);
            number(v, r);
        }
    }
}

/// Lengauer–Tarjan ("simple" eval/link with iterative path compression), following
/// DevTools' traversal order so ties and unreachable nodes resolve identically.
/// Returns (immediate dominator per ordinal, DFS preorder of ordinals).
///
/// Everything runs on DFS numbers instead of vertex numbers (a pure relabeling: the
/// algorithm compares only DFS numbers), which keeps the memory at 6 per-vertex arrays
/// (packed at the width of a vertex number)
/// plus one chunk of predecessor lists (about one more array) at the peak: `semi` starts as
/// the identity, the predecessor lists hold DFS numbers and are built a chunk at a time as
/// the main loop reaches them (see `PredChunk`), bucket heads live in `label` while their vertex is
/// unlinked, a bucket's "next" link of vertex `i` lives in `pred_first[i]` (read for the
/// last time at step `i`, before it is needed), `parent` becomes `dom` (a vertex's parent
/// is read once, when it is linked), the DFS-number -> vertex map is not kept beside
/// `dfnum` but made from it once the main loop's arrays are freed, and
/// allocations are handed from one array to the next.
pub(crate) fn lengauer_tarjan(g: &Graph, essential: &BitSet) -> (Vec<u32>, Vec<u32>) {
    lengauer_tarjan_in_chunks(g, essential, g.node_count().max(1 << 16))
}

/// [`lengauer_tarjan`] with predecessor chunks of at most `chunk_budget` entries (tests use
/// tiny ones).
pub(crate) fn lengauer_tarjan_in_chunks(g: &Graph, essential: &BitSet, chunk_budget: usize) -> (Vec<u32>, Vec<u32>) {
    let count = g.node_count();
    // Vertices are numbered ordinal + 1; 0 means "none", as in the paper.
    let len = count + 1;
    let has_pred_of = |nodes: std::ops::Range<u32>| {
        let mut bits = BitSet::new(len);
        for n in nodes {
            for e in g.edges(n).filter(|&e| essential.get(e)) {
                bits.set(g.edge_to(e) as usize + 1);
            }
        }
        bits
    };
    let has_pred = bits_by_halves(g, has_pred_of);
    // Every per-vertex array holds vertex numbers or counts up to the edge count, packed at
    // the width they need (see `packed`): on real heaps 21-23 bits instead of 32.
    let vw = bit_len(len as u64);
    // DFS number per vertex, and the parent per DFS number (then the dominator).
    let mut dfnum = PackedVec::zeros(len, vw);
    let mut dom = PackedVec::zeros(len, vw);
    let mut n = 0usize;
    dfs_preorder(g, essential, &has_pred, |v, p| {
        n += 1;
        dfnum.set(v as usize, n as u64);
        dom.set(n, dfnum.get(p as usize)); // numbered before v (0 for none)
    });
    debug_assert_eq!(n, count);
    drop(has_pred);

    // Predecessors over essential edges, as DFS numbers: those of w are, in the same
    // order as before the relabeling (by source ordinal, then edge order), the global
    // positions pred_first[w - 1]..pred_first[w]. A vertex's DFS parent is left out (it is a
    // predecessor of every vertex reached through a tree edge, the bit says which): it is
    // unlinked when its child is processed, so its eval is itself, with no side effect, and
    // its candidate semi is its own number. That is one entry fewer per vertex (and repeated
    // edges from the parent).
    // Counted by both halves of the sources at once, into shared counters.
    let pred_count: Vec<AtomicU32> = (0..len).map(|_| AtomicU32::new(0)).collect();
    let count_preds = |sources: std::ops::Range<u32>| {
        let mut parent_is_pred = BitSet::new(len);
        for_each_essential_edge(g, essential, &dfnum, sources, |from, k| {
            if dom.get(k) == from {
                parent_is_pred.set(k);
            } else {
                pred_count[k - 1].fetch_add(1, Ordering::Relaxed);
            }
        });
        parent_is_pred
    };
    let parent_is_pred = bits_by_halves(g, count_preds);
    let pred_count: Vec<u32> = pred_count.into_iter().map(AtomicU32::into_inner).collect();
    let total = pred_count.iter().map(|&c| c as u64).sum::<u64>();
    let mut pred_first = PackedVec::zeros(len, bit_len(total.max(len as u64)));
    let mut acc = 0u64;
    for (i, c) in pred_count.into_iter().enumerate() {
        pred_first.set(i, acc);
        acc += c as u64;
    }
    // The lists are materialized a chunk of vertices at a time, in the order the main loop
    // needs them (descending DFS numbers), each chunk holding at most about one per-node
    // array's worth of entries: one more pass over the edges per chunk instead of 4 bytes
    // per essential edge at once (on real heaps, several per node).
    let mut chunk = PredChunk { lo: usize::MAX, base: 0, preds: PackedVec::default() };
    let mut ancestor = PackedVec::zeros(len, vw);
    let mut semi = PackedVec::zeros(len, vw);
    for i in 0..len {
        semi.set(i, i as u64);
    }
    // `label[v]` is only read once v is linked (eval looks at linked vertices only), and
    // until then it would be the identity: so it holds the head of v's bucket (0: empty)
    // while v is unlinked, and becomes `v` when v is linked. A bucket of v is only filled
    // and emptied before v is linked (sdom(w) <= w; parent(w) < w); anything still in it
    // then was never going to be processed.
    let mut label = PackedVec::zeros(len, vw);

    let mut stack: Vec<u32> = Vec::new();
    let mut eval = |v: u64, ancestor: &mut PackedVec, label: &mut PackedVec, semi: &PackedVec| -> u64 {
        if ancestor.get(v as usize) == 0 {
            return v;
        }
        // compress(v), iteratively.
        let mut x = v;
        while ancestor.get(ancestor.get(x as usize) as usize) != 0 {
            stack.push(x as u32);
            x = ancestor.get(x as usize);
        }
        while let Some(w) = stack.pop() {
            let w = w as usize;
            let a = ancestor.get(w) as usize;
            let (la, lw) = (label.get(a), label.get(w));
            if semi.get(la as usize) < semi.get(lw as usize) {
                label.set(w, la);
            }
            ancestor.set(w, ancestor.get(a));
        }
        label.get(v as usize)
    };

    // Buckets as singly linked lists: each vertex is put in exactly one bucket, once. The
    // head of v's bucket is label[v] (see above); the link of vertex w is kept in
    // pred_first[w], whose last reader is step w itself.
    for w in (2..=n).rev() {
        if w < chunk.lo {
            chunk.fill(g, essential, &dfnum, &dom, &mut pred_first, w, chunk_budget);
        }
        let (ps, pe) = (pred_first.get(w - 1) as usize, pred_first.get(w) as usize);
        let mut sw = semi.get(w);
        if parent_is_pred.get(w) {
            sw = sw.min(dom.get(w)); // the parent, unlinked: eval = itself
        } else if ps == pe {
            sw = semi.get(1);
        }
        for i in ps - chunk.base..pe - chunk.base {
            let u = eval(chunk.preds.get(i), &mut ancestor, &mut label, &semi);
            sw = sw.min(semi.get(u as usize));
        }
        semi.set(w, sw);
        let b = sw as usize;
        pred_first.set(w, label.get(b));
        label.set(b, w as u64);
        let p = dom.get(w);
        dom.set(w, 0);
        ancestor.set(w, p); // link(parent[w], w)
        label.set(w, w as u64);
        let mut v = label.get(p as usize);
        label.set(p as usize, 0);
        while v != 0 {
            let u = eval(v, &mut ancestor, &mut label, &semi);
            dom.set(v as usize, if semi.get(u as usize) < semi.get(v as usize) { u } else { p });
            v = pred_first.get(v as usize);
        }
    }
    drop((chunk, pred_first, ancestor, label, parent_is_pred));
    // Back to ordinals: the inverse of `dfnum` (vertex -> DFS number), instead of running
    // the DFS a second time.
    let vertex_of = invert_permutation(dfnum);
    dom.set(0, 1);
    dom.set(1, 1);
    for i in 2..=n {
        let d = dom.get(i);
        if d != semi.get(i) {
            dom.set(i, dom.get(d as usize));
        }
    }
    drop(semi);
    // `order[i - 1]`: the ordinal of DFS number i.
    let order: Vec<u32> = (1..=n).map(|i| vertex_of.get(i) as u32 - 1).collect();
    drop(vertex_of);
    let mut dominator = vec![0u32; count];
    for i in 1..=n {
        dominator[order[i - 1] as usize] = order[(dom.get(i) as usize).max(1) - 1];
    }
    drop(dom);
    (dominator, order)
}

/// The inverse of a permutation of `0..len` (`p[inverse[x]] == x`). Called once the
/// dominator pass's big temporaries are freed, so the second array costs no peak memory;
/// walking its cycles in place instead was an order of magnitude slower (it chases each
/// cycle through the array, a cache miss per read and per mark).
fn invert_permutation(p: PackedVec) -> PackedVec {
    let mut inverse = PackedVec::zeros(p.len(), p.width());
    for (i, x) in p.iter().enumerate() {
        inverse.set(x as usize, i as u64);
    }
    inverse
}

/// Calls `f(source, target)` with DFS numbers for every essential edge from `sources`, by
/// source ordinal then edge order (the order the predecessor lists keep).
fn for_each_essential_edge(g: &Graph, essential: &BitSet, dfnum: &PackedVec, sources: std::ops::Range<u32>, mut f: impl FnMut(u64, usize)) {
    for src in sources {
        let from = dfnum.get(src as usize + 1);
        for e in g.edges(src) {
            if essential.get(e) {
                f(from, dfnum.get(g.edge_to(e) as usize + 1) as usize);
            }
        }
    }
}

/// The predecessor lists of DFS numbers `lo..=hi` (see `lengauer_tarjan`): entries
/// `base..` of the global layout.
struct PredChunk {
    lo: usize,
    base: usize,
    preds: PackedVec,
}

impl PredChunk {
    /// Replaces the chunk with the lists of `hi` and the vertices below it that fit in
    /// `budget` entries (at least `hi`'s own). Runs before step `hi`, so every vertex in the
    /// chunk is unprocessed: `dom` still holds its parent and `pred_first[k - 1..=k]` its
    /// range (a vertex's bucket link overwrites `pred_first[k]` only at step k).
    #[allow(clippy::too_many_arguments)]
    fn fill(&mut self, g: &Graph, essential: &BitSet, dfnum: &PackedVec, dom: &PackedVec, pred_first: &mut PackedVec, hi: usize, budget: usize) {
        let end = pred_first.get(hi) as usize;
        let mut lo = hi;
        while lo > 2 && end - pred_first.get(lo - 2) as usize <= budget {
            lo -= 1;
        }
        let base = pred_first.get(lo - 1) as usize;
        self.preds = PackedVec::default(); // the old chunk goes before the new one is allocated
        self.preds = PackedVec::zeros(end - base, dfnum.width());
        // pred_first[k - 1] serves as k's fill cursor, then the starts are shifted back.
        for_each_essential_edge(g, essential, dfnum, 0..g.node_count() as u32, |from, k| {
            if (lo..=hi).contains(&k) && dom.get(k) != from {
                let at = pred_first.get(k - 1);
                self.preds.set(at as usize - base, from);
                pred_first.set(k - 1, at + 1);
            }
        });
        for k in (lo + 1..=hi).rev() {
            pred_first.set(k - 1, pred_first.get(k - 2));
        }
        pred_first.set(lo - 1, base as u64);
        self.lo = lo;
        self.base = base;
    }
}

/// Children lists of the dominator tree (DevTools' `buildDominatedNodes`), CSR layout,
/// children in ordinal order; `first` doubles as the fill cursor (no copy of it).
fn dominated_nodes(dominator: &PackedVec, root: u32, n: usize) -> (PackedVec, PackedVec) {
    let width = bit_len(n as u64);
    let mut first = PackedVec::zeros(n + 1, width);
    for (o, d) in dominator.iter().enumerate() {
        if o as u32 != root {
            first.set(d as usize, first.get(d as usize) + 1);
        }
    }
    let mut acc = 0u64;
    for i in 0..=n {
        let k = first.get(i);
        first.set(i, acc);
        acc += k;
    }
    let mut children = PackedVec::zeros(n.saturating_sub(1), width);
    for (o, d) in dominator.iter().enumerate() {
        if o as u32 != root {
            let at = first.get(d as usize);
            children.set(at as usize, o as u64);
            first.set(d as usize, at + 1);
        }
    }
    for i in (1..=n).rev() {
        first.set(i, first.get(i - 1));
    }
    first.set(0, 0);
    (first, children)
}

#[cfg(test)]
mod weakmap_name_tests {
    use super::weakmap_table_id;

    #[test]
    fn parses_v8_ephemeron_names_like_devtools() {
        // Real names from a Node 20 snapshot: one closing parenthesis at the end.
        let n = "3 / part of key (symbol @6177) -> value (Object @68521) pair in WeakMap (table @68519)";
        assert_eq!(weakmap_table_id(n), Some(68519));
        let n = "1 / part of key (Foo @1) -> value (Bar @2) pair in WeakMap (table @3)";
        assert_eq!(weakmap_table_id(n), Some(3));
        // Names inside may hold anything but line terminators, even the separators.
        let n = "12 / part of key (a) -> value (b @9 @1) -> value ( @2) pair in WeakMap (table @77)";
        assert_eq!(weakmap_table_id(n), Some(77));
        let n = "12 / part of key ( @1) -> value ( @2) pair in WeakMap (table @0)";
        assert_eq!(weakmap_table_id(n), Some(0));
    }

    #[test]
    fn rejects_what_the_devtools_regex_rejects() {
        for n in [
            "",
            "part of key (a @1) -> value (b @2) pair in WeakMap (table @3)",
            "x / part of key (a @1) -> value (b @2) pair in WeakMap (table @3)",
            "1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @3))",
            "1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @)",
            "1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @3x)",
            "1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @3",
            "1 / part of key (a 1) -> value (b @2) pair in WeakMap (table @3)",
            "1 / part of key (a @1) -> value (b 2) pair in WeakMap (table @3)",
            "1 / part of key (a @1) -> value (b @) pair in WeakMap (table @3)",
            "1 / part of key (a\n @1) -> value (b @2) pair in WeakMap (table @3)",
            "1 / part of key (a @1) -> value (b\r @2) pair in WeakMap (table @3)",
            "1 / part of key (a @1) value (b @2) pair in WeakMap (table @3)",
            "1 / part of key (a @1) -> value (b @2) pair in WeakSet (table @3)",
            "1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @99999999999999999999999)",
        ] {
            assert_eq!(weakmap_table_id(n), None, "{n:?}");
        }
    }
}
