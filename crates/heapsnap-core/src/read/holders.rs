//! Growth by holder: across two or three snapshots of one process (oldest first), the
//! collections (JS objects used as dictionaries, arrays, Maps, Sets) whose entries grew, each
//! named by its holder and edge (`MemoryStore.sessions`) with its retainer path.
//!
//! Why a second view beside `leaks`: the leak groups answer "what was allocated and survived",
//! by class, and the class is often meaningless (express-session's MemoryStore leaks
//! `(concatenated string)`s); what a person fixes is the collection that keeps them. DevTools
//! users find it by hand: expand the leaked class, follow the retainers to the object whose
//! property list keeps getting longer. This module does that for every collection at once.
//!
//! A *collection* is a JS object (node type `object`, not V8's own `system / ...` objects) in
//! the newest snapshot with the same id in every snapshot (V8 keeps ids stable within one
//! process). V8 keeps a collection's contents in *backing stores* (internal arrays: an object's
//! `properties` dictionary and `elements`, a Map's or Set's `table`); they are counted in the
//! object that owns them, as DevTools re-attributes them, since a growing store gets a new id
//! each time it is reallocated while the object keeps its own. Per snapshot:
//! - `entries`: the object's own property and element edges (not `__proto__`), plus a Map's or
//!   Set's entries in its table (slots that hold an object; a key and its value are
//!   adjacent slots, so a run of adjacent slots is one entry; small integers are not objects
//!   and hold no slot). WeakMap/WeakSet entries are not counted.
//! - `size`: the object's self size plus its backing stores' (what it costs itself).
//!
//! Ranking (a real leaking holder first; see [`holders`]): only collections that grew in
//! every interval (entries or size up from each snapshot to the next, and neither ever down:
//! a cache that grew then shrank, or a bounded one that stayed full, is not growth), by the
//! bytes the growth keeps alive, largest first: the retained size, in the newest snapshot, of
//! the entries added since the oldest one, plus the growth of the collection's own size.
//! That is local to the collection, so the objects above a leaking collection, whose retained
//! sizes grow with it (its owner, the module, `global`), are not reported.
//!
//! Cost: one pass over each snapshot's nodes, no dominator tree of the older snapshots (only
//! the newest one's retained sizes, which `leaks` computes anyway), a sorted id column of the
//! oldest snapshot while the candidates are found (as `leaks` does), and per candidate (a
//! collection in the newest snapshot that holds something new since the oldest) about 45
//! bytes: few in real heaps, a million (+8% peak) when every old object of a 3 M-node heap got
//! a new value (bench/holders.js `--churn`).

use std::collections::HashMap;

use serde::Serialize;

use super::column::Column;
use super::graph::Graph;
use super::paths::RetainerPaths;
use super::snapshot::HeapGraph;

/// A collection that grew steadily across the snapshots (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrowingHolder {
    /// Its holder on the retainer path and the edge from it: `MemoryStore.sessions`,
    /// `Cache.byId`, `handler().items` (a closure variable), `Cache.byId[entry]` (a Map entry).
    pub name: String,
    /// Its own DevTools class name (`Object`, `Array`, `Map`...), in the newest snapshot.
    pub class_name: String,
    /// Node id (`@id` in DevTools), the same in every snapshot.
    pub id: u64,
    /// Entries in each snapshot, oldest first (see the module docs for what counts).
    pub entries: Vec<u64>,
    /// Its own size with its backing stores, in each snapshot, oldest first.
    pub size: Vec<u64>,
    /// Newest minus oldest entries.
    pub entries_growth: u64,
    /// Newest minus oldest size.
    pub size_growth: u64,
    /// Its retained size in the newest snapshot.
    pub retained_size: u64,
    /// Retained size, in the newest snapshot, of its entries that are new since the oldest
    /// (keys and values; each object once).
    pub added_retained_size: u64,
    /// Chain from the GC roots to it, as `leaks` renders retainer paths.
    pub retainer_path: Vec<String>,
}

impl GrowingHolder {
    /// The bytes its growth keeps alive: what the ranking sorts by.
    pub fn growth_bytes(&self) -> u64 {
        self.added_retained_size + self.size_growth
    }
}

/// Collections that grew in every interval of `series` (snapshots of one process, oldest
/// first), ranked as the module docs say: growth in bytes, then in entries, largest first.
/// Fewer than two snapshots: nothing can grow, empty.
pub fn holders(series: &[&HeapGraph]) -> Vec<GrowingHolder> {
    let [first, .., last] = series else { return Vec::new() };
    let steps = series.len();
    let last: &HeapGraph = last;
    // The newest snapshot's retained sizes first: their computation's temporaries then never
    // coexist with this pass's.
    let an = last.analysis();
    let paths = RetainerPaths::compute(last);
    let old_ids = Column::sorted_from(first.node_id.iter());
    let is_new = |o: u32| !old_ids.contains_sorted(last.node_id(o));
    let names_last = EdgeNames::of(last);

    // Candidates: collections of the newest snapshot that hold something new.
    let mut candidates: Vec<u32> = Vec::new();
    let mut scratch = Scratch::default();
    for o in 0..last.node_count() as u32 {
        if is_collection(last, o) && paths.reached(o) && !is_new(o) {
            names_last.contents(last, o, &mut scratch);
            if scratch.stores.iter().chain(&scratch.targets).any(|&t| is_new(t)) {
                candidates.push(o);
            }
        }
    }
    let index: HashMap<u64, usize> = candidates.iter().enumerate().map(|(k, &o)| (last.node_id(o), k)).collect();

    // Their measures in every snapshot, found by id; a collection missing from one is dropped.
    let mut measures = vec![Measure::MISSING; candidates.len() * steps];
    for (i, g) in series.iter().enumerate() {
        let names = EdgeNames::of(g);
        for o in 0..g.node_count() as u32 {
            if !is_collection(g, o) {
                continue;
            }
            if let Some(&k) = index.get(&g.node_id(o)) {
                measures[k * steps + i] = names.measure(g, o, &mut scratch);
            }
        }
    }
    drop(index);

    let mut out = Vec::new();
    for (k, &o) in candidates.iter().enumerate() {
        let m = &measures[k * steps..(k + 1) * steps];
        if !grew_steadily(m) {
            continue;
        }
        names_last.contents(last, o, &mut scratch);
        let mut added: Vec<u32> = scratch.targets.iter().copied().filter(|&t| is_new(t)).collect();
        added.sort_unstable();
        added.dedup();
        let (newest, oldest) = (m[steps - 1], m[0]);
        out.push(GrowingHolder {
            name: paths.name(last, o),
            class_name: last.class_name(o).to_string(),
            id: last.node_id(o),
            entries: m.iter().map(|m| m.entries).collect(),
            size: m.iter().map(|m| m.size).collect(),
            entries_growth: newest.entries - oldest.entries,
            size_growth: newest.size - oldest.size,
            retained_size: an.retained.get(o as usize),
            added_retained_size: added.iter().map(|&t| an.retained.get(t as usize)).sum(),
            retainer_path: paths.path(last, o),
        });
    }
    out.sort_by(|x, y| {
        y.growth_bytes()
            .cmp(&x.growth_bytes())
            .then(y.entries_growth.cmp(&x.entries_growth))
            .then_with(|| x.name.cmp(&y.name))
            .then(x.id.cmp(&y.id))
    });
    out
}

/// Grew in every interval (entries or size up each time) and shrank in none.
fn grew_steadily(m: &[Measure]) -> bool {
    if m.iter().any(|m| m.entries == u64::MAX) {
        return false;
    }
    let never_down = m.windows(2).all(|w| w[1].entries >= w[0].entries && w[1].size >= w[0].size);
    let always_up = m.windows(2).all(|w| w[1].entries > w[0].entries) || m.windows(2).all(|w| w[1].size > w[0].size);
    never_down && always_up
}

/// A JS object that can be a collection: not V8's internal objects.
fn is_collection(g: &Graph, o: u32) -> bool {
    g.node_type[o as usize] == g.nt.object && !g.node_name(o).starts_with("system / ")
}

/// One collection in one snapshot.
#[derive(Debug, Clone, Copy)]
struct Measure {
    entries: u64,
    size: u64,
}

impl Measure {
    const MISSING: Measure = Measure { entries: u64::MAX, size: 0 };
}

/// Reused buffers: a collection's backing stores, the objects it holds, its table's slots.
#[derive(Default)]
struct Scratch {
    stores: Vec<u32>,
    targets: Vec<u32>,
    slots: Vec<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Store {
    /// A Map's or Set's hash table.
    Table,
    /// An object's `properties` or `elements`.
    Properties,
}

/// The string indices one snapshot names backing stores and `__proto__` with.
struct EdgeNames {
    table: Option<u32>,
    properties: Option<u32>,
    elements: Option<u32>,
    proto: Option<u32>,
}

impl EdgeNames {
    fn of(g: &Graph) -> EdgeNames {
        let mut n = EdgeNames { table: None, properties: None, elements: None, proto: None };
        for i in 0..g.strings.len() as u32 {
            let slot = match g.strings.get(i) {
                "table" => &mut n.table,
                "properties" => &mut n.properties,
                "elements" => &mut n.elements,
                "__proto__" => &mut n.proto,
                _ => continue,
            };
            slot.get_or_insert(i);
        }
        n
    }

    /// The backing store edge `e` of an object leads to, if it is one.
    fn store(&self, g: &Graph, e: usize) -> Option<Store> {
        if g.edge_type(e) != g.et.internal || g.node_type[g.edge_to(e) as usize] != g.nt.array {
            return None;
        }
        let name = Some(g.edge_name_index(e));
        if name == self.table {
            Some(Store::Table)
        } else if name == self.properties || name == self.elements {
            Some(Store::Properties)
        } else {
            None
        }
    }

    /// An own entry edge: a property (not `__proto__`) or an element.
    fn is_entry(&self, g: &Graph, e: usize) -> bool {
        let t = g.edge_type(e);
        t == g.et.element || (t == g.et.property && Some(g.edge_name_index(e)) != self.proto)
    }

    /// Fills `s.stores` with `o`'s backing stores and `s.targets` with what it holds (own
    /// entries, and every object its stores hold: keys too).
    fn contents(&self, g: &Graph, o: u32, s: &mut Scratch) {
        s.stores.clear();
        s.targets.clear();
        for e in g.edges(o) {
            if self.is_entry(g, e) {
                s.targets.push(g.edge_to(e));
            } else if self.store(g, e).is_some() {
                let store = g.edge_to(e);
                s.stores.push(store);
                s.targets.extend(g.edges(store).filter(|&e| g.edge_type(e) != g.et.weak).map(|e| g.edge_to(e)).filter(|&t| g.node_type[t as usize] != g.nt.hidden && g.node_type[t as usize] != g.nt.object_shape));
            }
        }
    }

    fn measure(&self, g: &Graph, o: u32, s: &mut Scratch) -> Measure {
        let mut m = Measure { entries: 0, size: g.raw_self_size(o) };
        for e in g.edges(o) {
            if self.is_entry(g, e) {
                m.entries += 1;
            } else if let Some(kind) = self.store(g, e) {
                let store = g.edge_to(e);
                m.size += g.raw_self_size(store);
                if kind == Store::Table {
                    m.entries += table_entries(g, store, &mut s.slots);
                }
            }
        }
        m
    }
}

/// Entries of a Map's or Set's hash table: its slots that hold an object (edges named by slot
/// index), a run of adjacent slots counting once. An entry's key and value are adjacent
/// (`OrderedHashMap`: key, value, chain; `OrderedHashSet`: key, chain), and the chain slot
/// (a small integer, never an edge) separates one entry from the next.
fn table_entries(g: &Graph, table: u32, slots: &mut Vec<u32>) -> u64 {
    slots.clear();
    slots.extend(
        g.edges(table)
            .filter(|&e| g.edge_type(e) == g.et.internal)
            .filter_map(|e| g.strings.get(g.edge_name_index(e)).parse::<u32>().ok()),
    );
    slots.sort_unstable();
    slots.dedup();
    slots.iter().enumerate().filter(|&(i, &s)| i == 0 || slots[i - 1] + 1 != s).count() as u64
}
