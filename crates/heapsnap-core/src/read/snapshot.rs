//! A parsed snapshot as the analyses see it: the [`Graph`] as read, plus what is derived
//! from it (DevTools' shallow and retained sizes and the dominator tree, classes, the
//! retainer index), each computed on first use and kept, so a graph that is only diffed
//! never pays for a dominator tree.
//!
//! Derefs to [`Graph`], so the graph's own accessors (node names, ids, edges) read the same
//! on a `HeapGraph`.

use std::ops::Deref;
use std::sync::OnceLock;

use super::classes::Classes;
use super::column::Column;
use super::distances::Distances;
use super::dominators::{self, Analysis};
use super::graph::Graph;
use super::paths::RetainerPaths;
use super::retainer_index::RetainerIndex;

/// A parsed heap snapshot. Build one with [`super::read_snapshot`].
pub struct HeapGraph {
    graph: Graph,
    analysis: OnceLock<Analysis>,
    classes: OnceLock<Classes>,
    retainer_index: OnceLock<RetainerIndex>,
    distances: OnceLock<Distances>,
    retainer_paths: OnceLock<RetainerPaths>,
}

impl Deref for HeapGraph {
    type Target = Graph;
    fn deref(&self) -> &Graph {
        &self.graph
    }
}

impl From<Graph> for HeapGraph {
    fn from(graph: Graph) -> HeapGraph {
        HeapGraph {
            graph,
            analysis: OnceLock::new(),
            classes: OnceLock::new(),
            retainer_index: OnceLock::new(),
            distances: OnceLock::new(),
            retainer_paths: OnceLock::new(),
        }
    }
}

impl std::fmt::Debug for HeapGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.graph.fmt(f)
    }
}

impl HeapGraph {
    pub(crate) fn analysis(&self) -> &Analysis {
        self.analysis.get_or_init(|| Analysis::compute(&self.graph))
    }
    pub(crate) fn classes(&self) -> &Classes {
        self.classes.get_or_init(|| Classes::compute(&self.graph, None))
    }
    /// Both of the above, for the views that need both (the Summary): when neither exists
    /// yet, the classes are computed on a second thread beside the last steps of the
    /// analysis (see [`Analysis::compute_beside`]).
    pub(crate) fn analysis_and_classes(&self) -> (&Analysis, &Classes) {
        if self.analysis.get().is_none() && self.classes.get().is_none() {
            let (analysis, classes) = Analysis::compute_beside(&self.graph, || Classes::compute(&self.graph, None));
            // Another thread may have set either meanwhile: the values are the same.
            let _ = self.analysis.set(analysis);
            let _ = self.classes.set(classes);
        }
        (self.analysis(), self.classes())
    }
    pub(crate) fn retainer_index(&self) -> &RetainerIndex {
        self.retainer_index.get_or_init(|| RetainerIndex::build(&self.graph))
    }
    /// DevTools' distances (see [`super::distances`]), computed on first use (4 bytes or
    /// less per node), for the viewer.
    pub(crate) fn distances(&self) -> &Distances {
        self.distances.get_or_init(|| Distances::compute(&self.graph))
    }
    /// DevTools' distance of a node from the GC roots (see [`super::distances`]).
    pub fn distance(&self, ord: u32) -> i64 {
        self.distances().get(ord)
    }
    /// Preferred retainer paths (see [`super::paths`]), kept once computed: the viewer marks
    /// each object's preferred holder in every retainers list it shows.
    pub(crate) fn retainer_paths(&self) -> &RetainerPaths {
        self.retainer_paths.get_or_init(|| RetainerPaths::compute(self))
    }
    /// DevTools' shallow sizes (see [`super::dominators`]): the analysis' when it is already
    /// computed, else computed alone, without the dominator tree.
    pub(crate) fn shallow_sizes(&self) -> std::borrow::Cow<'_, Column> {
        match self.analysis.get() {
            Some(a) => std::borrow::Cow::Borrowed(&a.shallow),
            None => std::borrow::Cow::Owned(dominators::shallow_sizes(&self.graph)),
        }
    }
    /// Retained size of a node with DevTools' semantics (see [`super::dominators`]).
    pub fn retained_size(&self, ord: u32) -> u64 {
        self.analysis().retained.get(ord as usize)
    }
    /// Self size after DevTools' re-attribution of owned arrays/hidden objects to their owner.
    pub fn self_size(&self, ord: u32) -> u64 {
        self.analysis().shallow.get(ord as usize)
    }
    /// DevTools' class name of a node (what the Summary view groups by).
    pub fn class_name(&self, ord: u32) -> &str {
        let c = self.classes();
        c.name(c.class_of[ord as usize])
    }
    /// Total size as DevTools reports it: the root's retained size plus `extra_native_bytes`.
    pub fn total_size(&self) -> u64 {
        self.retained_size(self.root) + self.extra_native_bytes
    }
    /// Immediate dominator of a node, by id (`None` for the root or an unknown id).
    pub fn immediate_dominator(&self, id: u64) -> Option<u64> {
        let o = self.find_node(id)?;
        if o == self.root {
            return None;
        }
        Some(self.node_id(self.analysis().dominator.get(o as usize) as u32))
    }}
