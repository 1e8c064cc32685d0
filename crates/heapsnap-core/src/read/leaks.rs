//! The three-snapshot technique: take A (warmed up), B (after the suspect work), C (after
//! more of it). Objects whose ids are in B but not in A were allocated in between; those
//! still alive in C survived at least one more round: leak candidates. They are grouped by
//! C's class key, each group with a retainer path from a GC root to its largest member, so
//! the user can see what holds it: the path a person would follow, through user code's
//! properties and closures rather than V8/Node internals (see `paths` for the ranking).
//!
//! A member reached (on its retainer path) through a member of another class belongs to that
//! holder: a leaked Session's arrays and strings are reported under the Session (`holds`),
//! not as groups of their own, so the first lines name what to fix. Holders chain (an array
//! held by a context held by a closure: the closure holds both); members of the same class
//! nested in each other (a linked list) stay one group.
//!
//! Noise skipped (V8 internals that churn on their own and that users cannot free):
//! `hidden` (shown as `(system)`), `code`, `synthetic`, `object shape` and `array` (internal
//! FixedArrays; a JS array is an `Array` object, whose backing store is counted in it after
//! DevTools' owner re-attribution) nodes, nodes with no self size after that re-attribution,
//! and nodes not reachable from the root over non-weak edges.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::column::Column;
use super::snapshot::HeapGraph;
use super::paths::RetainerPaths;
use super::summary::top_level_retained;
use super::traces::AllocationStack;

/// How many allocation stacks a group lists: the few that explain most of it.
const STACKS_PER_GROUP: usize = 3;

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
    /// Chain from the GC roots to the representative, alternating node and edge labels:
    /// `["(GC roots)", "global", "cache (property)", "Map", "[entry] (internal)", "Session"]`.
    /// The preferred path (user properties and closures over internals), not the one with
    /// the fewest hops; a Map/Set's hash table hop is shown as `[entry]` (see `paths`).
    pub retainer_path: Vec<String>,
    /// Leaked objects of other classes this group's members hold (see the module docs), by
    /// class, largest total self size first.
    pub holds: Vec<HeldObjects>,
    /// When C has allocation traces: the stacks that allocated most of the group's objects,
    /// most objects first (empty otherwise).
    pub allocation_stacks: Vec<AllocationStack>,
}

/// Objects of one class held by a leak group's members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldObjects {
    pub name: String,
    pub count: u64,
    /// Sum of their self sizes.
    pub size: u64,
}


/// A snapshot's nodes by id, to tell whether a node of a later snapshot is the same object.
///
/// V8 keys ids by address: an object allocated where one died, before V8 dropped the dead
/// one's entry, inherits its id (seen: a heap number in B and a path string allocated after
/// B, one id). So an id of B counts as the object of B only on a node of the type and name it
/// had in B; otherwise that object was allocated after B, not between A and B.
struct SameObjectIn<'g> {
    graph: &'g HeapGraph,
    /// Ordinals by ascending id.
    by_id: Vec<u32>,
}

impl<'g> SameObjectIn<'g> {
    fn new(graph: &'g HeapGraph) -> Self {
        let mut by_id: Vec<u32> = (0..graph.node_count() as u32).collect();
        by_id.sort_unstable_by_key(|&o| graph.node_id(o));
        SameObjectIn { graph, by_id }
    }

    /// Whether node `o` of `later` (its id `id`) is an object this snapshot has.
    fn has(&self, id: u64, later: &HeapGraph, o: u32) -> bool {
        let g = self.graph;
        self.by_id.binary_search_by_key(&id, |&n| g.node_id(n)).is_ok_and(|i| {
            let n = self.by_id[i];
            g.node_type_name(n) == later.node_type_name(o) && g.node_name(n) == later.node_name(o)
        })
    }
}

/// Leak candidates: allocated between `a` and `b`, still alive in `c`, by class, largest
/// total self size first.
pub fn leaks(a: &HeapGraph, b: &HeapGraph, c: &HeapGraph) -> Vec<LeakGroup> {
    let ids_a = Column::sorted_from(a.node_id.iter());
    let in_b = SameObjectIn::new(b);
    let (an, classes) = c.analysis_and_classes();
    let paths = RetainerPaths::compute(c);
    let nt = c.nt;
    let noise = |t: u8| {
        t == nt.hidden || t == nt.code || t == nt.synthetic || t == nt.object_shape || t == nt.array
    };
    let groups = classes.keys.len();
    let mut member: Vec<bool> = vec![false; c.node_count()];
    for o in 0..c.node_count() {
        let id = c.node_id.get(o);
        member[o] = an.shallow.get(o) != 0
            && !noise(c.node_type[o])
            && paths.reached(o as u32)
            && in_b.has(id, c, o as u32)
            && !ids_a.contains_sorted(id);
    }
    let owner = owners(c, &paths, &member, &classes.class_of);

    // Members that own themselves are the groups' own objects; the others are held.
    let mut count = vec![0u64; groups];
    let mut size = vec![0u64; groups];
    let mut rep: Vec<u32> = vec![u32::MAX; groups];
    let mut holds: Vec<std::collections::BTreeMap<u32, (u64, u64)>> = vec![Default::default(); groups];
    let traced = c.has_allocation_traces();
    let mut own: Vec<Vec<u32>> = vec![Vec::new(); if traced { groups } else { 0 }];
    for o in (0..c.node_count()).filter(|&o| member[o]) {
        let k = classes.class_of[o] as usize;
        let self_size = an.shallow.get(o);
        if owner[o] != o as u32 {
            let holder = classes.class_of[owner[o] as usize] as usize;
            let held = holds[holder].entry(k as u32).or_default();
            held.0 += 1;
            held.1 += self_size;
            continue;
        }
        count[k] += 1;
        size[k] += self_size;
        if traced {
            own[k].push(o as u32);
        }
        let r = rep[k];
        if r == u32::MAX || an.retained.get(o) > an.retained.get(r as usize) {
            rep[k] = o as u32;
        }
    }
    let traces = if traced { allocation_traces(b, c, &own, &an.shallow) } else { Vec::new() };
    let retained = top_level_retained(c, groups, |n| (owner[n as usize] == n).then(|| classes.class_of[n as usize]));
    let mut out: Vec<LeakGroup> = (0..groups)
        .filter(|&k| count[k] > 0)
        .map(|k| {
            let mut held: Vec<HeldObjects> = holds[k]
                .iter()
                .map(|(&class, &(count, size))| HeldObjects { name: classes.keys[class as usize].name.clone(), count, size })
                .collect();
            held.sort_by(|x, y| y.size.cmp(&x.size).then(y.count.cmp(&x.count)).then_with(|| x.name.cmp(&y.name)));
            LeakGroup {
                name: classes.keys[k].name.clone(),
                count: count[k],
                size: size[k],
                retained_size: retained[k],
                representative_id: c.node_id(rep[k]),
                retainer_path: paths.path(c, rep[k]),
                holds: held,
                allocation_stacks: if traced { c.allocation_stacks(traces[k].iter().copied(), STACKS_PER_GROUP) } else { Vec::new() },
            }
        })
        .collect();
    out.sort_by(|x, y| y.size.cmp(&x.size).then(y.count.cmp(&x.count)).then_with(|| x.name.cmp(&y.name)));
    out
}

/// Per group, its own members' `(trace_node_id, self size)`: from C, or from B where C has
/// none. V8 before 11 (Node 18) forgets the trace of an object that moves after a snapshot
/// gave it an id (`HeapProfiler::ObjectMoveEvent` moves the traces of id-less objects only),
/// so members allocated between A and B lose theirs when C's full GCs compact them; B, the
/// first snapshot that saw them, still has it, and trace node ids hold across the snapshots
/// of one tracking session.
fn allocation_traces(b: &HeapGraph, c: &HeapGraph, own: &[Vec<u32>], shallow: &Column) -> Vec<Vec<(u32, u64)>> {
    let lost: HashSet<u64> =
        own.iter().flatten().filter(|&&o| c.allocation_trace(o) == 0).map(|&o| c.node_id(o)).collect();
    let in_b: HashMap<u64, u32> = if lost.is_empty() {
        Default::default()
    } else {
        (0..b.node_count() as u32).filter(|&o| lost.contains(&b.node_id(o))).map(|o| (b.node_id(o), b.allocation_trace(o))).collect()
    };
    own.iter()
        .map(|members| {
            members
                .iter()
                .map(|&o| {
                    let trace = match c.allocation_trace(o) {
                        0 => in_b.get(&c.node_id(o)).copied().unwrap_or(0),
                        trace => trace,
                    };
                    (trace, shallow.get(o as usize))
                })
                .collect()
        })
        .collect()
}

/// For every member, the member that owns it: the outermost member of another class on its
/// retainer path, following holders up (itself when there is none). Not a member: `u32::MAX`.
fn owners(c: &HeapGraph, paths: &RetainerPaths, member: &[bool], class_of: &[u32]) -> Vec<u32> {
    const UNKNOWN: u32 = u32::MAX;
    let mut owner = vec![UNKNOWN; c.node_count()];
    let mut chain = Vec::new();
    for start in (0..c.node_count()).filter(|&o| member[o]) {
        // Walk up holder by holder until an owner is known, then give it to the whole chain.
        let mut o = start as u32;
        let known = loop {
            if owner[o as usize] != UNKNOWN {
                break owner[o as usize];
            }
            chain.push(o);
            let class = class_of[o as usize];
            match paths.ancestors(c, o).find(|&p| member[p as usize] && class_of[p as usize] != class) {
                Some(holder) => o = holder,
                None => break o,
            }
        };
        for o in chain.drain(..) {
            owner[o as usize] = known;
        }
    }
    owner
}
