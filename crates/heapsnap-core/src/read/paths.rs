//! Retainer paths a person can follow: from the GC roots to an object through user code's
//! properties, array elements and closure variables, around V8's and Node's internals.
//!
//! The plain shortest path (fewest hops) is usually not that path: in a Node process almost
//! everything is a few hops from `global.setTimeout` through Node's timer lists, so a
//! module-level `Map` shows up as `global -> clearTimeout -> context -> timerListMap -> ...
//! -> Server -> ... -> sessionCache`. Like memlab (which postpones "less preferable" edges) and
//! DevTools (which measures distances from the user roots first), the search here ranks edges,
//! but with costs: one Dijkstra over the whole graph, with small integer costs, so Dial's
//! bucket queue makes it linear in nodes + edges plus the largest distance. One search per
//! snapshot, then each path is read back through the parent edges.
//!
//! Costs (never weak edges, as before):
//! - every hop costs [`HOP`]; a `property`, `element` or `context` (closure variable) edge
//!   into a user object costs just that;
//! - [`PENALTY`] more for a `hidden` or `shortcut` edge, and for an `internal` edge except the
//!   ones that are the user's own structure: a closure's `context` into a user context, a
//!   user context's `previous` (the enclosing scope), `bound_this`/`bound_function` of a
//!   `fn.bind`, and a Map/Set's `table` and the entries of that table;
//! - [`PENALTY`] more for entering an internal node: `(system)` (hidden), code, object shapes,
//!   internal arrays (not Map/Set tables), synthetic nodes, `system / ...` objects, and the
//!   contexts of Node's own functions (closures whose script is `node:...`), e.g. the context
//!   of `setTimeout` that holds `timerListMap`;
//! - where the path starts: the global object (the user root) is free; Node's embedder roots
//!   (`Node / TCPServerWrap`, ...) and the global handles cost [`HANDLE_ROOT`], the stack and
//!   handle scopes [`STACK_ROOT`] (what happened to be running when the snapshot was taken,
//!   rarely why something leaks), V8's own tables (strings, builtins, caches)
//!   [`VM_ROOT`].
//!
//! Rendering (see [`RetainerPaths::path`]): alternating node and edge labels, as before, with
//! one collapse: `Map -> table (internal) -> (array) -> 3086 (internal) -> Session` is shown
//! as `Map -> [entry] (internal) -> Session`. The collapsed hop is a Map/Set's (or a subclass
//! instance's) `table` edge into its backing hash table followed by that table's slot; the
//! table itself and the slot number (a hash table index, meaningless to the user) are what is
//! left out, and whether the object is the entry's key or its value is not claimed.

use super::classes::is_plain_object;
use super::dominators::is_user_root;
use super::snapshot::HeapGraph;

const UNREACHED: u32 = u32::MAX;
const ROOT_EDGE: u32 = u32::MAX - 1;

/// Cost of one hop.
pub(crate) const HOP: u32 = 1;
/// Extra cost of an internal/hidden/shortcut edge, and of entering an internal node.
pub(crate) const PENALTY: u32 = 4;
/// Starting at one of Node's embedder roots or the global handles.
pub(crate) const HANDLE_ROOT: u32 = 3;
/// Starting at the stack or a handle scope.
pub(crate) const STACK_ROOT: u32 = 15;
/// Starting at V8's own root tables.
pub(crate) const VM_ROOT: u32 = 20;
/// Largest single edge cost (the bucket ring is one longer).
const MAX_COST: u32 = max(VM_ROOT, max(STACK_ROOT, max(HANDLE_ROOT, HOP + 2 * PENALTY)));

const fn max(a: u32, b: u32) -> u32 {
    if a > b {
        a
    } else {
        b
    }
}

// Node flags.
/// V8/Node internals: entering costs PENALTY.
const SYS: u8 = 1;
/// Backing hash table of a Map/Set.
const TABLE: u8 = 2;
/// A function context (`system / Context`).
const CONTEXT: u8 = 4;
/// A closure whose script is one of Node's own (`node:...`).
const NODE_CLOSURE: u8 = 8;
/// Context of a Node closure / of a user closure.
const CTX_OF_NODE: u8 = 16;
const CTX_OF_USER: u8 = 32;

// Edge-name tags (by string index).
const T_CONTEXT: u8 = 1;
const T_PREVIOUS: u8 = 2;
const T_TABLE: u8 = 3;
const T_BOUND: u8 = 4;
const T_SHARED: u8 = 5;
const T_SCRIPT: u8 = 6;

/// Preferred-path parents of every node reachable over non-weak edges, one search per graph.
pub(crate) struct RetainerPaths {
    parent_edge: Vec<u32>,
    flags: Vec<u8>,
    tags: Vec<u8>,
}

/// Script names of Node's own code.
fn is_node_script(name: &str) -> bool {
    name.starts_with("node:") || name.starts_with("internal/")
}

fn string_tags(g: &HeapGraph) -> Vec<u8> {
    (0..g.strings.len() as u32)
        .map(|i| match g.strings.get(i) {
            "context" => T_CONTEXT,
            "previous" => T_PREVIOUS,
            "table" => T_TABLE,
            "bound_this" | "bound_function" => T_BOUND,
            "shared" => T_SHARED,
            "script_or_debug_info" | "script" => T_SCRIPT,
            _ => 0,
        })
        .collect()
}

impl RetainerPaths {
    fn tag(&self, g: &HeapGraph, e: usize) -> u8 {
        if !g.edge_has_string_name(e) {
            return 0;
        }
        self.tags.get(g.edge_name_index(e) as usize).copied().unwrap_or(0)
    }

    /// First target of a named (internal/context) edge of `o` with this tag.
    fn target(&self, g: &HeapGraph, o: u32, tag: u8) -> Option<u32> {
        g.edges(o).find(|&e| self.tag(g, e) == tag).map(|e| g.edge_to(e))
    }

    fn classify(&mut self, g: &HeapGraph) {
        let n = g.node_count();
        let nt = g.nt;
        for u in 0..n as u32 {
            let ut = g.node_type[u as usize];
            for e in g.edges(u) {
                if g.edge_type(e) == g.et.internal
                    && self.tag(g, e) == T_TABLE
                    && ut == nt.object
                    && g.node_type[g.edge_to(e) as usize] == nt.array
                {
                    self.flags[g.edge_to(e) as usize] |= TABLE;
                }
            }
            if ut == nt.closure {
                // closure -shared-> SharedFunctionInfo -script_or_debug_info-> Script (named by
                // its URL). No script (builtins, hand-made snapshots): not known to be Node's.
                let script = self.target(g, u, T_SHARED).and_then(|sfi| self.target(g, sfi, T_SCRIPT));
                let node_code = script.is_some_and(|s| is_node_script(g.node_name(s)));
                if node_code {
                    self.flags[u as usize] |= NODE_CLOSURE;
                }
                if let Some(ctx) = self.target(g, u, T_CONTEXT) {
                    self.flags[ctx as usize] |= if node_code { CTX_OF_NODE } else { CTX_OF_USER };
                }
            }
        }
        for o in 0..n {
            let t = g.node_type[o];
            let name = g.node_name(o as u32);
            let f = &mut self.flags[o];
            let sys = if name == "system / Context" {
                *f |= CONTEXT;
                // A context only Node's functions close over is Node's.
                *f & CTX_OF_NODE != 0 && *f & CTX_OF_USER == 0
            } else {
                t == nt.hidden
                    || t == nt.code
                    || t == nt.object_shape
                    || t == nt.synthetic
                    || (t == nt.array && *f & TABLE == 0)
                    || name.starts_with("system / ")
            };
            if sys {
                *f |= SYS;
            }
        }
    }

    fn sys(&self, o: u32) -> bool {
        self.flags[o as usize] & SYS != 0
    }

    /// Cost of the non-weak edge `e` from `u` (not the root or `(GC roots)`) to `v`.
    fn edge_cost(&self, g: &HeapGraph, u: u32, e: usize, v: u32) -> u32 {
        let t = g.edge_type(e);
        let target = if self.sys(v) { PENALTY } else { 0 };
        if g.node_type[u as usize] == g.nt.synthetic {
            // A root category naming what it holds: its edges are the start of the path.
            return HOP + target;
        }
        let fu = self.flags[u as usize];
        let edge = if t == g.et.shortcut || t == g.et.hidden {
            PENALTY
        } else if t == g.et.internal {
            let cheap = fu & TABLE != 0
                || match self.tag(g, e) {
                    T_CONTEXT => g.node_type[u as usize] == g.nt.closure && !self.sys(v),
                    T_PREVIOUS => fu & CONTEXT != 0 && fu & SYS == 0 && !self.sys(v),
                    T_TABLE => self.flags[v as usize] & TABLE != 0,
                    T_BOUND => true,
                    _ => false,
                };
            if cheap {
                0
            } else {
                PENALTY
            }
        } else {
            0
        };
        HOP + edge + target
    }

    /// Cost of starting at a child of `(GC roots)`, by its name.
    fn gc_root_cost(g: &HeapGraph, v: u32) -> u32 {
        match g.node_name(v) {
            "(Global handles)" | "(Eternal handles)" | "(Traced handles)" => HANDLE_ROOT,
            "(Stack roots)" | "(Handle scope)" => STACK_ROOT,
            _ => VM_ROOT,
        }
    }

    pub(crate) fn compute(g: &HeapGraph) -> RetainerPaths {
        let n = g.node_count();
        let mut p = RetainerPaths { parent_edge: vec![UNREACHED; n], flags: vec![0; n], tags: string_tags(g) };
        p.classify(g);
        let root = g.root;
        let gc_roots = g.edges(root).map(|e| g.edge_to(e)).find(|&v| {
            g.node_type[v as usize] == g.nt.synthetic && g.node_name(v) == "(GC roots)"
        });
        // Dial's algorithm: a ring of MAX_COST + 1 buckets; lazy deletion (a node popped at a
        // distance larger than its best is stale).
        let mut dist = vec![u32::MAX; n];
        let ring = MAX_COST as usize + 1;
        let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); ring];
        let mut pending = 1usize;
        dist[root as usize] = 0;
        p.parent_edge[root as usize] = ROOT_EDGE;
        buckets[0].push(root);
        let mut d: u32 = 0;
        while pending > 0 {
            let slot = d as usize % ring;
            // Zero-cost edges push into the bucket being drained: drain until it stays empty.
            loop {
                let batch = std::mem::take(&mut buckets[slot]);
                if batch.is_empty() {
                    break;
                }
                pending -= batch.len();
                for &u in &batch {
                    if dist[u as usize] != d {
                        continue; // stale
                    }
                    for e in g.edges(u) {
                        if g.edge_type(e) == g.et.weak {
                            continue;
                        }
                        let v = g.edge_to(e);
                        let c = if u == root {
                            if Some(v) == gc_roots || is_user_root(g, v) {
                                0
                            } else {
                                HANDLE_ROOT
                            }
                        } else if Some(u) == gc_roots {
                            Self::gc_root_cost(g, v)
                        } else {
                            p.edge_cost(g, u, e, v)
                        };
                        let nd = d + c;
                        if nd < dist[v as usize] {
                            dist[v as usize] = nd;
                            p.parent_edge[v as usize] = e as u32;
                            buckets[nd as usize % ring].push(v);
                            pending += 1;
                        }
                    }
                }
            }
            d += 1;
        }
        p
    }

    /// The edge that brings `o` onto its preferred path (`None` for the root and for objects
    /// no non-weak edge reaches).
    pub(crate) fn preferred_edge(&self, o: u32) -> Option<u32> {
        let e = self.parent_edge[o as usize];
        (e != ROOT_EDGE && e != UNREACHED).then_some(e)
    }

    pub(crate) fn reached(&self, o: u32) -> bool {
        self.parent_edge[o as usize] != UNREACHED
    }

    /// The nodes on `target`'s path, from its holder up to the root's child (not `target`).
    pub(crate) fn ancestors<'g>(&'g self, g: &'g HeapGraph, target: u32) -> impl Iterator<Item = u32> + 'g {
        let mut o = target;
        std::iter::from_fn(move || {
            let e = self.parent_edge[o as usize];
            if e == ROOT_EDGE || e == UNREACHED {
                return None;
            }
            o = edge_source(g, e);
            Some(o)
        })
        .take(g.node_count())
    }

    /// The holder of `o` on its path and the edge from it (`None` for the root, its
    /// children and unreached nodes).
    fn parent(&self, g: &HeapGraph, o: u32) -> Option<(u32, usize)> {
        let e = self.parent_edge[o as usize];
        (e != ROOT_EDGE && e != UNREACHED).then(|| (edge_source(g, e), e as usize))
    }

    /// The name a person gives `o`: its holder on the path and the edge from it, as code
    /// would spell the access: `MemoryStore.sessions`, `Array[3]`, `Object["user:42"]`. A
    /// plain object or array holder is itself named that way, since `Object` or `Array` alone
    /// says nothing (`Channel._events.message`, `global.queue[0]`, up to [`NAME_DEPTH`]
    /// holders). A closure variable is named after a function that closes over it
    /// (`handler().items`, the holder being its context), or alone when that function has no
    /// name (`sessionCache`); an object in a Map's or Set's table after the Map
    /// (`Cache.byId[entry]`, as [`RetainerPaths::path`] collapses that hop). Nodes with no
    /// holder (the root's children) are their own label.
    pub(crate) fn name(&self, g: &HeapGraph, o: u32) -> String {
        self.qualified(g, o, NAME_DEPTH)
    }

    fn qualified(&self, g: &HeapGraph, o: u32, depth: u32) -> String {
        let Some((from, e)) = self.parent(g, o) else { return node_label(g, o) };
        if self.flags[from as usize] & TABLE != 0 {
            if let Some((map, e)) = self.parent(g, from) {
                if self.tag(g, e) == T_TABLE {
                    return format!("{}[entry]", self.qualified(g, map, depth));
                }
            }
        }
        let anonymous = is_plain_object(g, from) || (g.node_type[from as usize] == g.nt.object && g.node_name(from) == "Array");
        let holder = if depth > 1 && anonymous && self.parent(g, from).is_some() {
            Some(self.qualified(g, from, depth - 1))
        } else {
            self.holder_label(g, from)
        };
        match holder {
            Some(holder) => format!("{holder}{}", accessor(g, e)),
            None => g.edge_name(e),
        }
    }

    /// A holder's label in a name: a context is shown as the closure that leads to it, or not
    /// at all when that closure is anonymous (`None`: the variable's name stands alone).
    fn holder_label(&self, g: &HeapGraph, from: u32) -> Option<String> {
        if self.flags[from as usize] & CONTEXT != 0 {
            if let Some((closure, e)) = self.parent(g, from) {
                if g.node_type[closure as usize] == g.nt.closure && self.tag(g, e) == T_CONTEXT {
                    return (!g.node_name(closure).is_empty()).then(|| node_label(g, closure));
                }
            }
        }
        Some(node_label(g, from))
    }

    /// The path from the GC roots to `target`: `["(GC roots)", node, (edge, node)*]`.
    pub(crate) fn path(&self, g: &HeapGraph, target: u32) -> Vec<String> {
        let mut hops: Vec<u32> = Vec::new(); // edges, from target upward
        let mut o = target;
        for _ in 0..g.node_count() {
            let e = self.parent_edge[o as usize];
            if e == ROOT_EDGE || e == UNREACHED {
                break;
            }
            hops.push(e);
            o = edge_source(g, e);
        }
        if self.parent_edge[o as usize] == UNREACHED {
            return vec!["(unreachable)".into(), node_label(g, target)];
        }
        hops.reverse();
        let mut out = vec!["(GC roots)".to_string()];
        let mut i = 0;
        while i < hops.len() {
            let e = hops[i] as usize;
            let to = g.edge_to(e);
            // Map/Set -table-> hash table -slot-> object: one `[entry]` hop.
            if i + 1 < hops.len()
                && g.edge_type(e) == g.et.internal
                && self.tag(g, e) == T_TABLE
                && self.flags[to as usize] & TABLE != 0
            {
                out.push("[entry] (internal)".into());
                out.push(node_label(g, g.edge_to(hops[i + 1] as usize)));
                i += 2;
                continue;
            }
            // The root's own edges are synthetic; "(GC roots)" already stands for them.
            if i > 0 || edge_source(g, e as u32) != g.root {
                out.push(edge_label(g, e));
            }
            out.push(node_label(g, to));
            i += 1;
        }
        // "(GC roots)" is also the name of a real synthetic node: don't repeat it.
        if out.len() > 1 && out[1] == "(GC roots)" {
            out.remove(1);
        }
        out
    }
}

/// Source node of an edge ordinal (binary search over first-edge offsets).
pub(crate) fn edge_source(g: &HeapGraph, e: u32) -> u32 {
    // The first node whose first edge is > e, minus one.
    let (mut lo, mut hi) = (0usize, g.first_edge.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if g.first_edge.get(mid) <= e as u64 {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    (lo - 1) as u32
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

/// How many holders a name shows at most (`a.b.c`).
const NAME_DEPTH: u32 = 3;

/// How code reaches an edge's target from its source: `.name`, `["not an identifier"]`,
/// `[3]` (an element, or a name that is a number).
fn accessor(g: &HeapGraph, e: usize) -> String {
    if !g.edge_has_string_name(e) {
        return format!("[{}]", g.edge_name_index(e));
    }
    let name = g.strings.get(g.edge_name_index(e));
    if !name.is_empty() && name.len() < 10 && name.bytes().all(|b| b.is_ascii_digit()) {
        return format!("[{name}]"); // an index held as a name (an internal slot, `obj[3]`)
    }
    let identifier = name.chars().enumerate().all(|(i, c)| c == '_' || c == '$' || c.is_alphabetic() || (i > 0 && c.is_numeric()));
    if identifier && !name.is_empty() {
        format!(".{name}")
    } else {
        format!("[{}]", serde_json::to_string(name).unwrap_or_default())
    }
}

fn edge_label(g: &HeapGraph, e: usize) -> String {
    let t = g.edge_type_name(e);
    if g.edge_has_string_name(e) {
        format!("{} ({t})", g.strings.get(g.edge_name_index(e)))
    } else {
        format!("[{}] ({t})", g.edge_name_index(e))
    }
}
