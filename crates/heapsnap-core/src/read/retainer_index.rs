//! The reverse (retainer) index: every node's incoming edges, built in two passes over the
//! edge targets. `snapshot::HeapGraph` builds it on first use; `retainers` queries it.

use super::graph::Graph;

/// Incoming edges per node, CSR layout: `edge[first[n]..first[n + 1]]` / `from[...]`.
pub(crate) struct RetainerIndex {
    pub first: Vec<u32>,
    pub edge: Vec<u32>,
    pub from: Vec<u32>,
}

impl RetainerIndex {
    pub(crate) fn build(g: &Graph) -> RetainerIndex {
        let n = g.node_count();
        let mut first = vec![0u32; n + 1];
        for to in g.edge_targets() {
            first[to as usize + 1] += 1;
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut fill = first.clone();
        let mut edge = vec![0u32; g.edge_count()];
        let mut from = vec![0u32; g.edge_count()];
        for src in 0..n as u32 {
            for e in g.edges(src) {
                let to = g.edge_to(e) as usize;
                edge[fill[to] as usize] = e as u32;
                from[fill[to] as usize] = src;
                fill[to] += 1;
            }
        }
        RetainerIndex { first, edge, from }
    }
}
