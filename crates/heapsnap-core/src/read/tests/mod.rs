//! Analyzer tests: hand-built snapshots with exact expected numbers (`graph`, `classes`,
//! `compare`), file formats and errors (`io`), hostile input (`robust`), and parity with
//! Chrome DevTools on a real Node 20 snapshot (`parity`).

mod browse;
mod chunks;
mod classes;
mod compare;
mod graph;
mod holders;
mod io;
mod lengauer_tarjan;
mod parity;
pub(crate) mod robust;
mod scale;

use super::*;

/// xorshift64*: deterministic pseudo-random cases for the fuzz-like tests, no dependency.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Node types and edge types exactly as Node 20 (V8 11.3) writes them.
pub(super) const NODE_TYPES: &[&str] = &[
    "hidden",
    "array",
    "string",
    "object",
    "code",
    "closure",
    "regexp",
    "number",
    "native",
    "synthetic",
    "concatenated string",
    "sliced string",
    "symbol",
    "bigint",
    "object shape",
    "wasm object",
];
pub(super) const EDGE_TYPES: &[&str] = &[
    "context", "element", "property", "internal", "hidden", "shortcut", "weak",
];
const NODE_FIELDS: usize = 7; // type, name, id, self_size, edge_count, trace_node_id, detachedness

pub(crate) enum EdgeName {
    Str(String),
    Index(u32),
}
impl From<&str> for EdgeName {
    fn from(s: &str) -> Self {
        EdgeName::Str(s.to_string())
    }
}
impl From<String> for EdgeName {
    fn from(s: String) -> Self {
        EdgeName::Str(s)
    }
}
impl From<u32> for EdgeName {
    fn from(i: u32) -> Self {
        EdgeName::Index(i)
    }
}

struct TNode {
    ty: &'static str,
    name: String,
    id: u32,
    size: u32,
    det: u32,
    trace: u32,
    edges: Vec<(&'static str, EdgeName, usize)>,
}

/// A tiny snapshot written as V8 would: node 0 is the synthetic root (id 1).
pub(crate) struct Snap {
    nodes: Vec<TNode>,
    /// (node ordinal, script id, line, column)
    locations: Vec<(usize, u32, u32, u32)>,
    /// Allocation traces: the tree of [`Snap::ALLOCATED_IN_MAKE_SESSION`].
    traced: bool,
}

pub(super) const ROOT: u32 = 1;

impl Snap {
    pub fn new() -> Snap {
        let mut s = Snap {
            nodes: Vec::new(),
            locations: Vec::new(),
            traced: false,
        };
        s.node("synthetic", "", ROOT, 0);
        s
    }

    /// The usual top of a Node snapshot: root -shortcut-> `global` (id 3, size 10, a user
    /// root, so page-owned), root -element-> `(GC roots)` (id 5). Returns (global, gc roots).
    pub fn with_global() -> (Snap, usize, usize) {
        let mut s = Snap::new();
        let g = s.node("object", "global", 3, 10);
        let gcr = s.node("synthetic", "(GC roots)", 5, 0);
        s.edge(0, "shortcut", "global", g);
        s.edge(0, "element", 1, gcr);
        (s, g, gcr)
    }

    pub fn node(&mut self, ty: &'static str, name: &str, id: u32, size: u32) -> usize {
        assert!(NODE_TYPES.contains(&ty), "{ty}");
        self.nodes.push(TNode {
            ty,
            name: name.to_string(),
            id,
            size,
            det: 0,
            trace: 0,
            edges: Vec::new(),
        });
        self.nodes.len() - 1
    }

    pub fn detachedness(&mut self, n: usize, d: u32) {
        self.nodes[n].det = d;
    }

    /// The trace node id of allocations in `makeSession` (`/app/a.js:7:12`) called by `main`
    /// (1:1), in the trace tree of a snapshot with [`Snap::allocation_traces`].
    pub const ALLOCATED_IN_MAKE_SESSION: u32 = 3;

    /// Writes allocation traces (as V8 does while tracking allocations).
    pub fn allocation_traces(&mut self) {
        self.traced = true;
    }

    /// Node `n` was allocated at trace node `trace` (0: not recorded).
    pub fn allocated_at(&mut self, n: usize, trace: u32) {
        self.nodes[n].trace = trace;
    }

    pub fn location(&mut self, n: usize, script: u32, line: u32, column: u32) {
        self.locations.push((n, script, line, column));
    }

    pub fn edge(&mut self, from: usize, ty: &'static str, name: impl Into<EdgeName>, to: usize) {
        assert!(EDGE_TYPES.contains(&ty), "{ty}");
        self.nodes[from].edges.push((ty, name.into(), to));
    }

    pub fn json(&self) -> String {
        let mut strings: Vec<String> = Vec::new();
        let mut intern = |s: &str| -> u32 {
            if let Some(i) = strings.iter().position(|x| x == s) {
                return i as u32;
            }
            strings.push(s.to_string());
            (strings.len() - 1) as u32
        };
        let ty = |list: &[&str], t: &str| list.iter().position(|x| *x == t).unwrap();
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        for n in &self.nodes {
            let name = intern(&n.name);
            nodes.extend([
                ty(NODE_TYPES, n.ty) as u32,
                name,
                n.id,
                n.size,
                n.edges.len() as u32,
                n.trace,
                n.det,
            ]);
            for (t, en, to) in &n.edges {
                let en = match en {
                    EdgeName::Str(s) => intern(s),
                    EdgeName::Index(i) => *i,
                };
                edges.extend([ty(EDGE_TYPES, t) as u32, en, (*to * NODE_FIELDS) as u32]);
            }
        }
        let locations: Vec<u32> = self
            .locations
            .iter()
            .flat_map(|&(n, s, l, c)| [(n * NODE_FIELDS) as u32, s, l, c])
            .collect();
        // (root), main at /app/a.js:1:1, makeSession at /app/a.js:7:12, called by main.
        let (function_infos, trace_tree) = if self.traced {
            let (root, main, make, url) = (intern("(root)"), intern("main"), intern("makeSession"), intern("/app/a.js"));
            let infos = vec![0, root, intern(""), 0, 0, 0, 1, main, url, 9, 1, 1, 2, make, url, 9, 7, 12];
            let tree = serde_json::json!([1, 0, 0, 0, [2, 1, 0, 0, [Self::ALLOCATED_IN_MAKE_SESSION, 2, 1, 40, []]]]);
            (infos, tree)
        } else {
            (Vec::new(), serde_json::json!([]))
        };
        let meta = serde_json::json!({
            "node_fields": ["type", "name", "id", "self_size", "edge_count", "trace_node_id", "detachedness"],
            "node_types": [NODE_TYPES, "string", "number", "number", "number", "number", "number"],
            "edge_fields": ["type", "name_or_index", "to_node"],
            "edge_types": [EDGE_TYPES, "string_or_number", "node"],
            "trace_function_info_fields": ["function_id", "name", "script_name", "script_id", "line", "column"],
            "trace_node_fields": ["id", "function_info_index", "count", "size", "children"],
            "sample_fields": ["timestamp_us", "last_assigned_id"],
            "location_fields": ["object_index", "script_id", "line", "column"],
        });
        serde_json::json!({
            "snapshot": {
                "meta": meta,
                "node_count": self.nodes.len(),
                "edge_count": edges.len() / 3,
                "trace_function_count": function_infos.len() / 6,
            },
            "nodes": nodes,
            "edges": edges,
            "trace_function_infos": function_infos,
            "trace_tree": trace_tree,
            "samples": [],
            "locations": locations,
            "strings": strings,
        })
        .to_string()
    }

    pub fn graph(&self) -> HeapGraph {
        read_snapshot_from(self.json().as_bytes()).expect("test snapshot parses")
    }
}

/// `json` with every non-ASCII character as a `\u` escape (surrogate pairs above U+FFFF), as
/// V8 writes them.
pub(crate) fn ascii_escaped(json: &str) -> String {
    json.chars()
        .map(|c| if c.is_ascii() { c.to_string() } else { c.encode_utf16(&mut [0; 2]).iter().map(|u| format!("\\u{u:04x}")).collect() })
        .collect()
}

/// Small queries by node id.
pub(super) trait ById {
    fn ord(&self, id: u64) -> u32;
    fn dom(&self, id: u64) -> u64;
    fn ret(&self, id: u64) -> u64;
    fn shallow(&self, id: u64) -> u64;
    fn class(&self, id: u64) -> &str;
}

impl ById for HeapGraph {
    fn ord(&self, id: u64) -> u32 {
        self.find_node(id)
            .unwrap_or_else(|| panic!("no node @{id}"))
    }
    /// Immediate dominator id (the root's is itself).
    fn dom(&self, id: u64) -> u64 {
        self.ord(id);
        self.immediate_dominator(id).unwrap_or(id)
    }
    fn ret(&self, id: u64) -> u64 {
        self.retained_size(self.ord(id))
    }
    fn shallow(&self, id: u64) -> u64 {
        self.self_size(self.ord(id))
    }
    fn class(&self, id: u64) -> &str {
        self.class_name(self.ord(id))
    }
}

/// `(name, count, self, retained)` rows of a summary, for compact assertions.
pub(super) fn rows(s: &Summary) -> Vec<(String, u64, u64, u64)> {
    s.constructors
        .iter()
        .map(|c| (c.name.clone(), c.count, c.self_size, c.retained_size))
        .collect()
}

pub(super) fn row<'a>(s: &'a Summary, name: &str) -> Option<&'a ClassSummary> {
    s.constructors.iter().find(|c| c.name == name)
}
