//! The three-snapshot technique: take A (warmed up), B (after the suspect work), C (after
//! more of it). Objects whose ids are in B but not in A were allocated in between; those
//! still alive in C survived at least one more round: leak candidates. They are grouped by
//! C's class key, each group with the shortest retainer path from a GC root to its largest
//! member, so the user can see what holds it.
//!
//! Noise skipped (V8 internals that churn on their own and that users cannot free):
//! `hidden` (shown as `(system)`), `code`, `synthetic`, `object shape` and `array` (internal
//! FixedArrays; a JS array is an `Array` object, whose backing store is counted in it after
//! DevTools' owner re-attribution) nodes, nodes with no self size after that re-attribution,
//! and nodes not reachable from the root over non-weak edges.

use serde::Serialize;

use super::dominators::is_user_root;
use super::graph::HeapGraph;
use super::summary::top_level_retained;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeakGroup {
    /// DevTools class name of the objects (in C).
    pub name: String,
    pub count: u64,
    /// Sum of the objects' self sizes (after DevTools' re-attribution), in C.
    pub size: u64,
    /// Retained size of the group in C (members dominated by other members counted once).
    pub retained_size: u64,
    /// Id (in C) of the member with the largest retained size, the one the path leads to.
    pub representative_id: u64,
    /// Shortest chain from the GC roots to the representative, alternating node and edge
    /// labels: `["(GC roots)", "global", "cache (property)", "Map", ..., "Session"]`.
    pub retainer_path: Vec<String>,
}

/// BFS parents over non-weak edges: user roots (the global object) first, as DevTools'
/// distances do, then everything else from the root. `u32::MAX` = unreached.
struct Paths {
    parent_edge: Vec<u32>,
}

const UNREACHED: u32 = u32::MAX;
const ROOT_EDGE: u32 = u32::MAX - 1;

fn bfs(g: &HeapGraph) -> Paths {
    let n = g.node_count();
    let mut parent_edge = vec![UNREACHED; n];
    let mut queue: Vec<u32> = Vec::with_capacity(n.min(1 << 20));
    parent_edge[g.root as usize] = ROOT_EDGE;
    for e in g.edges(g.root) {
        let to = g.edge_to[e];
        if is_user_root(g, to) && parent_edge[to as usize] == UNREACHED {
            parent_edge[to as usize] = e as u32;
            queue.push(to);
        }
    }
    let run = |queue: &mut Vec<u32>, parent_edge: &mut Vec<u32>| {
        let mut head = 0;
        while head < queue.len() {
            let v = queue[head];
            head += 1;
            for e in g.edges(v) {
                if g.edge_type[e] == g.et.weak {
                    continue;
                }
                let to = g.edge_to[e] as usize;
                if parent_edge[to] == UNREACHED {
                    parent_edge[to] = e as u32;
                    queue.push(to as u32);
                }
            }
        }
    };
    run(&mut queue, &mut parent_edge);
    queue.clear();
    queue.push(g.root);
    run(&mut queue, &mut parent_edge);
    Paths { parent_edge }
}

/// Source node of an edge ordinal (binary search over first-edge offsets).
fn edge_source(g: &HeapGraph, e: u32) -> u32 {
    // partition_point: first node whose first edge is > e, minus one.
    (g.first_edge.partition_point(|&f| f <= e) - 1) as u32
}

/// Readable node label: class names for objects, `fn()` for closures.
pub(crate) fn node_label(g: &HeapGraph, o: u32) -> String {
    let t = g.node_type[o as usize];
    if t == g.nt.closure {
        let name = g.node_name(o);
        return if name.is_empty() { "Function".into() } else { format!("{name}()") };
    }
    if t == g.nt.synthetic {
        return g.node_name(o).to_string();
    }
    g.class_name(o).to_string()
}

fn edge_label(g: &HeapGraph, e: usize) -> String {
    let t = g.edge_type_name(e);
    if g.edge_has_string_name(e) {
        format!("{} ({t})", g.strings.get(g.edge_name[e]))
    } else {
        format!("[{}] ({t})", g.edge_name[e])
    }
}

fn retainer_path(g: &HeapGraph, paths: &Paths, target: u32) -> Vec<String> {
    let mut hops: Vec<(u32, u32)> = Vec::new(); // (edge, node), from target upward
    let mut o = target;
    for _ in 0..g.node_count() {
        let e = paths.parent_edge[o as usize];
        if e == ROOT_EDGE || e == UNREACHED {
            break;
        }
        hops.push((e, o));
        o = edge_source(g, e);
    }
    if paths.parent_edge[o as usize] == UNREACHED {
        return vec!["(unreachable)".into(), node_label(g, target)];
    }
    let mut out = vec!["(GC roots)".to_string()];
    for (i, &(e, n)) in hops.iter().rev().enumerate() {
        let src = edge_source(g, e);
        // The root's own edges are synthetic; "(GC roots)" already stands for them.
        if i > 0 || src != g.root {
            out.push(edge_label(g, e as usize));
        }
        out.push(node_label(g, n));
    }
    // "(GC roots)" is also the name of a real synthetic node: don't repeat it.
    if out.len() > 1 && out[1] == "(GC roots)" {
        out.remove(1);
    }
    out
}

fn sorted_ids(g: &HeapGraph) -> Vec<u32> {
    let mut v = g.node_id.clone();
    v.sort_unstable();
    v
}

/// Leak candidates: allocated between `a` and `b`, still alive in `c`, by class, largest
/// total self size first.
pub fn leaks(a: &HeapGraph, b: &HeapGraph, c: &HeapGraph) -> Vec<LeakGroup> {
    let ids_a = sorted_ids(a);
    let ids_b = sorted_ids(b);
    let classes = c.classes();
    let an = c.analysis();
    let paths = bfs(c);
    let nt = c.nt;
    let noise = |t: u8| {
        t == nt.hidden || t == nt.code || t == nt.synthetic || t == nt.object_shape || t == nt.array
    };
    let groups = classes.keys.len();
    let mut member: Vec<bool> = vec![false; c.node_count()];
    let mut count = vec![0u64; groups];
    let mut size = vec![0u64; groups];
    let mut rep: Vec<u32> = vec![u32::MAX; groups];
    for o in 0..c.node_count() {
        let id = c.node_id[o];
        if an.shallow[o] == 0
            || noise(c.node_type[o])
            || paths.parent_edge[o] == UNREACHED
            || ids_b.binary_search(&id).is_err()
            || ids_a.binary_search(&id).is_ok()
        {
            continue;
        }
        member[o] = true;
        let k = classes.class_of[o] as usize;
        count[k] += 1;
        size[k] += an.shallow[o] as u64;
        let r = rep[k];
        if r == u32::MAX || an.retained[o] > an.retained[r as usize] {
            rep[k] = o as u32;
        }
    }
    let retained = top_level_retained(c, groups, |n| member[n as usize].then(|| classes.class_of[n as usize]));
    let mut out: Vec<LeakGroup> = (0..groups)
        .filter(|&k| count[k] > 0)
        .map(|k| LeakGroup {
            name: classes.keys[k].name.clone(),
            count: count[k],
            size: size[k],
            retained_size: retained[k],
            representative_id: c.node_id(rep[k]),
            retainer_path: retainer_path(c, &paths, rep[k]),
        })
        .collect();
    out.sort_by(|x, y| y.size.cmp(&x.size).then(y.count.cmp(&x.count)).then_with(|| x.name.cmp(&y.name)));
    out
}
