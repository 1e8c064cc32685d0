//! The Summary view: nodes aggregated by class key (see [`super::classes`]).
//!
//! Like DevTools' `buildAggregates` + `calculateClassesRetainedSize`: only nodes with a
//! non-zero (re-attributed) self size count; a class's retained size is the sum of the
//! retained sizes of its nodes that are not dominated by another counted node of the same
//! class (else nested instances, e.g. a linked list, would be counted many times).

use serde::Serialize;

use super::classes::Classes;
use super::graph::Location;
use super::snapshot::HeapGraph;

/// One row of the Summary view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassSummary {
    pub name: String,
    /// Constructor location (script id, line, column) when the snapshot records one; two rows
    /// may share a name when same-named classes come from different places, as in DevTools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub count: u64,
    pub self_size: u64,
    pub retained_size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub node_count: u64,
    pub edge_count: u64,
    /// DevTools' total: retained size of the root plus `extra_native_bytes`.
    pub total_size: u64,
    /// Sorted by retained size, descending (then self size, then name).
    pub constructors: Vec<ClassSummary>,
}

impl Serialize for Location {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Location", 3)?;
        st.serialize_field("scriptId", &self.script_id)?;
        st.serialize_field("line", &self.line)?;
        st.serialize_field("column", &self.column)?;
        st.end()
    }
}

#[derive(Default, Clone, Copy)]
pub(crate) struct Agg {
    pub count: u64,
    pub self_size: u64,
    pub retained: u64,
}

/// Sums retained sizes of the "top-level" members of each group: walks the dominator tree
/// depth-first (iteratively) and skips members that have an ancestor of the same group.
/// `group(n)` returns the group of a counted node.
pub(crate) fn top_level_retained(g: &HeapGraph, groups: usize, group: impl Fn(u32) -> Option<u32>) -> Vec<u64> {
    let a = g.analysis();
    let mut out = vec![0u64; groups];
    let mut seen = vec![false; groups];
    // Entries: node ordinal, or (MARK | group) to clear `seen` when a subtree is done.
    const MARK: u64 = 1 << 32;
    let mut stack: Vec<u64> = vec![g.root as u64];
    while let Some(x) = stack.pop() {
        if x & MARK != 0 {
            seen[(x & 0xffff_ffff) as usize] = false;
            continue;
        }
        let n = x as u32;
        let (from, to) = (a.dom_first.get(n as usize) as usize, a.dom_first.get(n as usize + 1) as usize);
        if let Some(k) = group(n) {
            if !seen[k as usize] {
                out[k as usize] += a.retained.get(n as usize);
                if from != to {
                    seen[k as usize] = true;
                    stack.push(MARK | k as u64);
                }
            }
        }
        stack.extend((from..to).map(|i| a.dom_children.get(i)));
    }
    out
}

pub(crate) fn aggregate(g: &HeapGraph, classes: &Classes) -> Vec<Agg> {
    let a = g.analysis();
    let mut aggs = vec![Agg::default(); classes.keys.len()];
    for (o, &k) in classes.class_of.iter().enumerate() {
        let s = a.shallow.get(o);
        if s == 0 {
            continue;
        }
        let agg = &mut aggs[k as usize];
        agg.count += 1;
        agg.self_size += s;
    }
    let retained = top_level_retained(g, aggs.len(), |n| {
        (a.shallow.get(n as usize) != 0).then(|| classes.class_of[n as usize])
    });
    for (agg, r) in aggs.iter_mut().zip(retained) {
        agg.retained = r;
    }
    aggs
}

impl HeapGraph {
    /// DevTools' Summary view ("All objects"), every class, sorted by retained size.
    pub fn summary(&self) -> Summary {
        Summary {
            node_count: self.node_count() as u64,
            edge_count: self.edge_count() as u64,
            total_size: self.total_size(),
            constructors: self.summary_rows().into_iter().map(|(_, c)| c).collect(),
        }
    }

    /// The Summary's rows in its order, each with its class key (see [`super::classes`]).
    pub(crate) fn summary_rows(&self) -> Vec<(u32, ClassSummary)> {
        let (_, classes) = self.analysis_and_classes();
        let aggs = aggregate(self, classes);
        let mut constructors: Vec<(u32, ClassSummary)> = aggs
            .iter()
            .enumerate()
            .filter(|(_, a)| a.count > 0)
            .map(|(k, a)| {
                (
                    k as u32,
                    ClassSummary {
                        name: classes.keys[k].name.clone(),
                        location: classes.keys[k].location,
                        count: a.count,
                        self_size: a.self_size,
                        retained_size: a.retained,
                    },
                )
            })
            .collect();
        constructors.sort_by(|(_, x), (_, y)| {
            y.retained_size
                .cmp(&x.retained_size)
                .then(y.self_size.cmp(&x.self_size))
                .then_with(|| x.name.cmp(&y.name))
                .then(x.location.cmp(&y.location))
        });
        constructors
    }
}
