//! The in-memory heap graph: columns indexed by node *ordinal* (position in the snapshot's
//! node list) and edge ordinal, each bit-packed at the width this snapshot needs (`packed`
//! for node columns, `edges` for the edge records).
//!
//! Why columns instead of DevTools' interleaved `nodes` array: each pass (dominators,
//! aggregation, BFS) touches one or two fields, so separate arrays keep the caches busy with
//! useful bytes, and fields nobody uses (`trace_node_id`) are never stored. The id index is
//! built lazily here; what the analysis derives (dominators, classes, retainers) is kept by
//! `snapshot::HeapGraph`, which wraps this graph, so the passes that compute it depend on
//! the graph and never the other way round.

use std::ops::Range;
use std::sync::OnceLock;

use super::column::Column;
use super::edges::EdgeTable;
use super::packed::PackedVec;
use super::traces::{AllocationStack, AllocationTraces, StackFrame};

/// All strings of the snapshot in one buffer (one allocation instead of one per string).
///
/// String *values* (the names of `string`-type nodes) past [`VALUE_PREFIX`] bytes are kept
/// as a prefix plus `…` when the parser can tell they are only values (see
/// `parser::value_only_strings`): nothing in the analysis reads past a display prefix, and a
/// string-heavy heap's snapshot is mostly such text, which would otherwise all stay in memory.
#[derive(Default, Debug)]
pub struct StringTable {
    data: String,
    /// End offset of each string in `data` (4 bytes each until `data` passes 4 GiB).
    ends: Column,
    len: usize,
    /// `(string index, length in UTF-16 units)` of the values [`StringTable::push_value`]
    /// cut, in index order: what a viewer shows as the string's length.
    cut_lengths: Vec<(u32, u32)>,
}

/// Bytes of a string value kept (then `…`); names of objects, properties and the like are
/// always kept whole.
pub const VALUE_PREFIX: usize = 100;

impl StringTable {
    pub(crate) fn push(&mut self, s: &str) {
        self.data.push_str(s);
        self.ends.push(self.data.len() as u64);
        self.len += 1;
    }
    /// Pushes `s` cut to at most [`VALUE_PREFIX`] bytes (at a character boundary) plus `…`.
    pub(crate) fn push_value(&mut self, s: &str) {
        if s.len() <= VALUE_PREFIX + '…'.len_utf8() {
            return self.push(s);
        }
        self.cut_lengths.push((self.len as u32, s.encode_utf16().count().min(u32::MAX as usize) as u32));
        let mut cut = VALUE_PREFIX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        self.data.push_str(&s[..cut]);
        self.data.push('…');
        self.ends.push(self.data.len() as u64);
        self.len += 1;
    }
    /// Length in UTF-16 units (JS `length`) of the string at `index` as the snapshot had it,
    /// also for a value kept only as a prefix.
    pub fn js_length(&self, index: u32) -> u64 {
        match self.cut_lengths.binary_search_by_key(&index, |&(i, _)| i) {
            Ok(k) => self.cut_lengths[k].1 as u64,
            Err(_) => self.get(index).encode_utf16().count() as u64,
        }
    }
    /// Whether the string at `index` is kept only as a prefix (see [`VALUE_PREFIX`]).
    pub fn is_cut(&self, index: u32) -> bool {
        self.cut_lengths.binary_search_by_key(&index, |&(i, _)| i).is_ok()
    }
    pub(crate) fn shrink_to_fit(&mut self) {
        self.cut_lengths.shrink_to_fit();
        self.data.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The string at `index`, or `""` when out of range (indices are validated at load time).
    pub fn get(&self, index: u32) -> &str {
        let i = index as usize;
        if i >= self.len {
            return "";
        }
        let start = if i == 0 { 0 } else { self.ends.get(i - 1) as usize };
        &self.data[start..self.ends.get(i) as usize]
    }
}

/// Indices of the node types the analysis treats specially (`NO_TYPE` when absent).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeTypes {
    pub hidden: u8,
    pub array: u8,
    pub object: u8,
    pub code: u8,
    pub closure: u8,
    pub regexp: u8,
    pub native: u8,
    pub synthetic: u8,
    pub object_shape: u8,
}

/// Indices of the edge types the analysis treats specially (`NO_TYPE` when absent).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EdgeTypes {
    pub element: u8,
    pub property: u8,
    pub internal: u8,
    pub hidden: u8,
    pub shortcut: u8,
    pub weak: u8,
}

/// Source location of an object's constructor (from the snapshot's `locations` section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub script_id: u32,
    pub line: u32,
    pub column: u32,
}

/// A parsed heap snapshot's graph as read: node and edge columns, strings, locations and
/// allocation traces. What is derived from it (dominators, classes, retainers) lives in
/// [`super::HeapGraph`], which wraps it.
pub struct Graph {
    pub(crate) node_type_names: Vec<String>,
    pub(crate) edge_type_names: Vec<String>,
    pub(crate) nt: NodeTypes,
    pub(crate) et: EdgeTypes,
    // Per node (ordinal).
    pub(crate) node_type: Vec<u8>,
    /// String index of each node's name; ids; self sizes: each packed at the width its
    /// largest value needs (see `packed`).
    pub(crate) node_name: PackedVec,
    pub(crate) node_id: PackedVec,
    pub(crate) node_self: PackedVec,
    /// `first_edge[n]..first_edge[n + 1]` are node n's outgoing edge ordinals (len = nodes + 1).
    pub(crate) first_edge: PackedVec,
    /// DOM link state per node, empty when the snapshot has no `detachedness` field.
    pub(crate) detachedness: Vec<u8>,
    /// Per edge (ordinal): type, name and target, bit-packed (see `edges`).
    pub(crate) edges: EdgeTable,
    pub(crate) strings: StringTable,
    /// (node ordinal, location), sorted by ordinal.
    pub(crate) locations: Vec<(u32, Location)>,
    pub(crate) root: u32,
    pub(crate) extra_native_bytes: u64,
    /// Node ordinals sorted by id, for id lookups and diffs.
    pub(crate) by_id: OnceLock<Vec<u32>>,
    /// Allocation traces, when V8 tracked allocations (see `traces`), with each node's
    /// `trace_node_id` (empty without traces).
    pub(crate) traces: Option<AllocationTraces>,
    pub(crate) node_trace: Vec<u32>,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("nodes", &self.node_count())
            .field("edges", &self.edge_count())
            .field("strings", &self.strings.len())
            .finish()
    }
}

impl Graph {
    pub fn node_count(&self) -> usize {
        self.node_type.len()
    }
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }
    /// Ordinal of the root node (`snapshot.root_index`, normally 0).
    pub fn root(&self) -> u32 {
        self.root
    }
    pub fn strings(&self) -> &StringTable {
        &self.strings
    }
    /// Whether V8 tracked allocations when it took the snapshot (see `traces`).
    pub fn has_allocation_traces(&self) -> bool {
        self.traces.is_some()
    }

    /// Where node `ord` was allocated, innermost frame first; `None` without traces or for
    /// an object allocated before tracking started.
    pub fn allocation_stack(&self, ord: u32) -> Option<Vec<StackFrame>> {
        self.traces.as_ref()?.frames(self.allocation_trace(ord))
    }

    /// The `trace_node_id` of node `ord`: 0 without traces or when V8 did not record it.
    pub fn allocation_trace(&self, ord: u32) -> u32 {
        self.node_trace.get(ord as usize).copied().unwrap_or(0)
    }

    /// The `top` stacks that allocated most of `objects` (`(trace_node_id, self size)`), by
    /// count, then self size.
    pub fn allocation_stacks(&self, objects: impl IntoIterator<Item = (u32, u64)>, top: usize) -> Vec<AllocationStack> {
        let Some(traces) = &self.traces else { return Vec::new() };
        traces.top_stacks(objects, top)
    }

    pub fn node_id(&self, ord: u32) -> u64 {
        self.node_id.get(ord as usize)
    }
    /// The raw `name` of a node (for a closure the function name, for a string its value).
    pub fn node_name(&self, ord: u32) -> &str {
        self.strings.get(self.node_name.get(ord as usize) as u32)
    }
    pub fn node_type_name(&self, ord: u32) -> &str {
        self.node_type_names
            .get(self.node_type[ord as usize] as usize)
            .map(String::as_str)
            .unwrap_or("")
    }
    /// Self size as recorded in the file (before DevTools' owner re-attribution).
    pub fn raw_self_size(&self, ord: u32) -> u64 {
        self.node_self.get(ord as usize)
    }
    pub(crate) fn edges(&self, ord: u32) -> Range<usize> {
        self.first_edge.get(ord as usize) as usize..self.first_edge.get(ord as usize + 1) as usize
    }
    /// Type index of edge `e` (see `et` for the ones the analysis treats specially).
    #[inline]
    pub(crate) fn edge_type(&self, e: usize) -> u8 {
        self.edges.ty(e)
    }
    /// String index for named edge types, the numeric index for `element`/`hidden`.
    #[inline]
    pub(crate) fn edge_name_index(&self, e: usize) -> u32 {
        self.edges.name(e)
    }
    /// Target node *ordinal* of edge `e` (the file stores ordinal * node field count).
    #[inline]
    pub(crate) fn edge_to(&self, e: usize) -> u32 {
        self.edges.to(e)
    }
    /// Every edge's target, in edge order.
    pub(crate) fn edge_targets(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.edge_count()).map(|e| self.edges.to(e))
    }
    pub fn edge_type_name(&self, e: usize) -> &str {
        self.edge_type_names.get(self.edge_type(e) as usize).map(String::as_str).unwrap_or("")
    }
    /// Edge name as text: property names for named edges, the index for `element`/`hidden`.
    pub fn edge_name(&self, e: usize) -> String {
        if self.edge_has_string_name(e) {
            self.strings.get(self.edge_name_index(e)).to_string()
        } else {
            self.edge_name_index(e).to_string()
        }
    }
    pub(crate) fn edge_has_string_name(&self, e: usize) -> bool {
        let t = self.edge_type(e);
        t != self.et.element && t != self.et.hidden
    }
    pub(crate) fn location(&self, ord: u32) -> Option<Location> {
        self.locations
            .binary_search_by_key(&ord, |&(o, _)| o)
            .ok()
            .map(|i| self.locations[i].1)
    }
    fn by_id(&self) -> &[u32] {
        self.by_id.get_or_init(|| {
            let mut v: Vec<u32> = (0..self.node_count() as u32).collect();
            v.sort_unstable_by_key(|&o| self.node_id.get(o as usize));
            v
        })
    }
    /// Node ordinal for a snapshot object id (`@123` in DevTools), if present.
    pub fn find_node(&self, id: u64) -> Option<u32> {
        let v = self.by_id();
        v.binary_search_by_key(&id, |&o| self.node_id.get(o as usize)).ok().map(|i| v[i])
    }
    /// DOM link state from the `detachedness` field (0 unknown, 1 attached, 2 detached).
    pub fn detachedness(&self, ord: u32) -> u8 {
        self.detachedness.get(ord as usize).copied().unwrap_or(0)
    }
}
