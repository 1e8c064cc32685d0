//! DevTools' "Distance" column: hops from the GC roots, as its Summary and Retainers views
//! show it (`calculateDistances` and `bfs` in chrome-devtools-frontend's HeapSnapshot.ts,
//! with JSHeapSnapshot's edge filter).
//!
//! Why a BFS of its own and not the retainer paths' search (`paths`): DevTools' numbers are
//! plain hop counts, first from the user roots (the global object: distance 1) and only then,
//! for what those do not reach, from the root at [`BASE_SYSTEM_DISTANCE`], so V8's internals
//! read as "far". Matching them lets a person check the viewer against DevTools, and the
//! Retainers view sorts by it (shortest path first) exactly as DevTools does.
//!
//! The filter, as DevTools': weak edges never count; a `system / NativeContext`'s
//! `sloppy_function_map` and the key slots of `(map descriptors)` arrays are skipped; of the
//! two edges V8 records for a WeakMap value (table -> value, key -> value), the first one seen
//! is put off so that the value's distance comes from its key.

use std::collections::HashSet;

use super::dominators::{is_user_root, weakmap_table_id, BitSet};
use super::graph::Graph;
use super::packed::PackedVec;

/// DevTools' `baseSystemDistance`: the root's distance when the BFS restarts from it.
pub const BASE_SYSTEM_DISTANCE: i64 = 100_000_000;
/// DevTools' `noDistance`: nodes no BFS reaches keep it.
pub const NO_DISTANCE: i64 = -5;
/// DevTools' `baseUnreachableDistance`: added to the distance of a holder that hidden
/// retainers cut off (see [`Distances::ignoring`]), so it sorts after every reachable one.
pub const BASE_UNREACHABLE_DISTANCE: i64 = 2 * BASE_SYSTEM_DISTANCE;

/// Distances are stored as `distance - NO_DISTANCE` (non-negative), packed.
const OFFSET: i64 = -NO_DISTANCE;

/// Each node's distance, packed at the width the largest one needs.
pub struct Distances(PackedVec);

impl Distances {
    pub(crate) fn get(&self, ord: u32) -> i64 {
        self.0.get(ord as usize) as i64 - OFFSET
    }

    pub(crate) fn compute(g: &Graph) -> Distances {
        Distances::compute_with(g, None)
    }

    /// DevTools' distances for its Retainers view after "ignore this retainer": the BFS does
    /// not enter the `ignored` nodes, so what only they lead to gets [`NO_DISTANCE`] (shown
    /// as [`BASE_UNREACHABLE_DISTANCE`] plus the usual distance, see `browse`).
    pub(crate) fn ignoring(g: &Graph, ignored: &BitSet) -> Distances {
        Distances::compute_with(g, Some(ignored))
    }

    fn compute_with(g: &Graph, ignored: Option<&BitSet>) -> Distances {
        let n = g.node_count();
        let mut dist: Vec<i32> = vec![NO_DISTANCE as i32; n];
        let mut queue: Vec<u32> = Vec::with_capacity(n.min(1 << 20));
        let ignored_node = |v: u32| ignored.is_some_and(|i| i.contains(v as usize));
        for e in g.edges(g.root) {
            let v = g.edge_to(e);
            if is_user_root(g, v) && !ignored_node(v) && dist[v as usize] == NO_DISTANCE as i32 {
                dist[v as usize] = 1;
                queue.push(v);
            }
        }
        let mut filter = Filter::new(g, ignored);
        let from_user_roots = !queue.is_empty();
        bfs(g, &mut dist, &mut queue, &mut filter);
        dist[g.root as usize] = if from_user_roots { BASE_SYSTEM_DISTANCE as i32 } else { 0 };
        queue.clear();
        queue.push(g.root);
        bfs(g, &mut dist, &mut queue, &mut filter);
        drop(queue);
        Distances(PackedVec::from_values(dist.iter().map(|&d| (d as i64 + OFFSET) as u64)))
    }
}

/// JSHeapSnapshot's `calculateDistances` filter (see the module docs); the pending WeakMap
/// edges are shared by both BFS passes, as in DevTools.
struct Filter<'g> {
    g: &'g Graph,
    /// Nodes the BFS must not enter (the Retainers view's ignored retainers).
    ignored: Option<&'g BitSet>,
    sloppy_function_map: Option<u32>,
    pending: HashSet<&'g str>,
    /// Per string index: 0 unknown, 1 not an ephemeron edge name, 2 one.
    weakmap_names: Vec<u8>,
}

impl<'g> Filter<'g> {
    fn new(g: &'g Graph, ignored: Option<&'g BitSet>) -> Self {
        let sloppy_function_map = (0..g.strings.len() as u32).find(|&i| g.strings.get(i) == "sloppy_function_map");
        Filter { g, ignored, sloppy_function_map, pending: HashSet::new(), weakmap_names: Vec::new() }
    }

    fn follow(&mut self, from: u32, e: usize) -> bool {
        let g = self.g;
        if self.ignored.is_some_and(|i| i.contains(g.edge_to(e) as usize)) {
            return false;
        }
        let t = g.node_type[from as usize];
        if t == g.nt.hidden
            && g.edge_has_string_name(e)
            && Some(g.edge_name_index(e)) == self.sloppy_function_map
            && g.node_name(from) == "system / NativeContext"
        {
            return false;
        }
        if t == g.nt.array && g.node_name(from) == "(map descriptors)" {
            // `parseInt(edge.name())`: element/hidden names are indices; a property name
            // that does not start with digits is NaN, and `NaN < 2 || NaN % 3 !== 1` is true.
            return match leading_int(g, e) {
                Some(index) => index < 2 || index % 3 != 1,
                None => true,
            };
        }
        if g.edge_type(e) == g.et.internal {
            let name_index = g.edge_name_index(e);
            if self.weakmap_names.is_empty() {
                self.weakmap_names = vec![0; g.strings.len()];
            }
            let slot = &mut self.weakmap_names[name_index as usize];
            if *slot == 0 {
                *slot = if weakmap_table_id(g.strings.get(name_index)).is_some() { 2 } else { 1 };
            }
            if *slot == 2 {
                let name = g.strings.get(name_index);
                let duplicated = name.trim_start_matches(|c: char| c.is_ascii_digit());
                if !self.pending.remove(duplicated) {
                    self.pending.insert(duplicated);
                    return false;
                }
            }
        }
        true
    }
}

/// JS `parseInt(edge.name(), 10)` for the `(map descriptors)` rule.
fn leading_int(g: &Graph, e: usize) -> Option<u64> {
    if !g.edge_has_string_name(e) {
        return Some(g.edge_name_index(e) as u64);
    }
    let s = g.strings.get(g.edge_name_index(e)).trim_start();
    let digits: &str = &s[..s.bytes().take_while(u8::is_ascii_digit).count()];
    // Sign and overflow don't matter here: descriptor names are never negative or huge.
    digits.parse().ok()
}

fn bfs(g: &Graph, dist: &mut [i32], queue: &mut Vec<u32>, filter: &mut Filter<'_>) {
    let mut i = 0;
    while i < queue.len() {
        let u = queue[i];
        i += 1;
        let d = dist[u as usize] + 1;
        for e in g.edges(u) {
            if g.edge_type(e) == g.et.weak {
                continue;
            }
            let v = g.edge_to(e);
            if dist[v as usize] != NO_DISTANCE as i32 {
                continue;
            }
            if !filter.follow(u, e) {
                continue;
            }
            dist[v as usize] = d;
            queue.push(v);
        }
    }
}
