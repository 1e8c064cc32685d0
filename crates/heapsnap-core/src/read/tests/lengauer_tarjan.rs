//! The dominator computation against the textbook vertex-numbered Lengauer–Tarjan it was
//! derived from (kept here verbatim as the reference), on random graphs full of what makes
//! DevTools' variant unusual: nodes held only weakly, cycles held only by each other
//! (visited individually, so the spanning tree is not a DFS tree), shortcuts, self loops.

use super::*;
use crate::read::dominators::{essential_edges, essential_edges_of, lengauer_tarjan, lengauer_tarjan_in_chunks, page_owned, BitSet};
use crate::read::parallel::node_halves;

#[allow(clippy::needless_range_loop)]
fn reference_lengauer_tarjan(g: &HeapGraph, essential: &BitSet) -> (Vec<u32>, Vec<u32>) {
    let count = g.node_count();
    // Predecessors over essential edges only (all LT needs), as a CSR index.
    let mut pred_first = vec![0u32; count + 1];
    for (e, to) in g.edge_targets().enumerate() {
        if essential.get(e) {
            pred_first[to as usize + 1] += 1;
        }
    }
    for i in 0..count {
        pred_first[i + 1] += pred_first[i];
    }
    let mut fill = pred_first.clone();
    let mut preds = vec![0u32; pred_first[count] as usize];
    for n in 0..count as u32 {
        for e in g.edges(n) {
            if essential.get(e) {
                let to = g.edge_to(e) as usize;
                preds[fill[to] as usize] = n + 1; // vertex numbers are ordinal + 1
                fill[to] += 1;
            }
        }
    }
    drop(fill);

    // Vertices are numbered ordinal + 1; 0 means "none", as in the paper.
    let len = count + 1;
    let mut parent = vec![0u32; len];
    let mut ancestor = vec![0u32; len];
    let mut vertex = vec![0u32; len];
    let mut label = vec![0u32; len];
    let mut semi = vec![0u32; len];
    let mut next_edge = vec![0u32; len];
    let mut n: u32 = 0;

    let mut dfs = |root: u32,
                   parent: &mut [u32],
                   semi: &mut [u32],
                   vertex: &mut [u32],
                   label: &mut [u32],
                   n: &mut u32| {
        next_edge[root as usize] = g.first_edge.get(root as usize - 1) as u32;
        let mut v = root;
        while v != 0 {
            if semi[v as usize] == 0 {
                *n += 1;
                semi[v as usize] = *n;
                vertex[*n as usize] = v;
                label[v as usize] = v;
            }
            let mut v_next = parent[v as usize];
            let end = g.first_edge.get(v as usize) as u32;
            while next_edge[v as usize] < end {
                let e = next_edge[v as usize] as usize;
                if essential.get(e) {
                    let w = g.edge_to(e) + 1;
                    if semi[w as usize] == 0 {
                        parent[w as usize] = v;
                        next_edge[w as usize] = g.first_edge.get(w as usize - 1) as u32;
                        v_next = w;
                        break;
                    }
                }
                next_edge[v as usize] += 1;
            }
            v = v_next;
        }
    };

    let r = g.root + 1;
    dfs(r, &mut parent, &mut semi, &mut vertex, &mut label, &mut n);
    if (n as usize) < count {
        // Nodes whose only retainers are non-essential (e.g. weak): hang them off the root.
        for v in 1..=count as u32 {
            let has_pred = pred_first[v as usize - 1] != pred_first[v as usize];
            if semi[v as usize] == 0 && !has_pred {
                parent[v as usize] = r;
                dfs(v, &mut parent, &mut semi, &mut vertex, &mut label, &mut n);
            }
        }
    }
    if (n as usize) < count {
        // Still unreached (cycles retained only by each other): visit individually.
        for v in 1..=count as u32 {
            if semi[v as usize] == 0 {
                parent[v as usize] = r;
                n += 1;
                semi[v as usize] = n;
                vertex[n as usize] = v;
                label[v as usize] = v;
            }
        }
    }
    drop(next_edge);

    let mut stack: Vec<u32> = Vec::new();
    let mut eval = |v: u32, ancestor: &mut [u32], label: &mut [u32], semi: &[u32]| -> u32 {
        if ancestor[v as usize] == 0 {
            return v;
        }
        // compress(v), iteratively.
        let mut x = v;
        while ancestor[ancestor[x as usize] as usize] != 0 {
            stack.push(x);
            x = ancestor[x as usize];
        }
        while let Some(w) = stack.pop() {
            let a = ancestor[w as usize] as usize;
            if semi[label[a] as usize] < semi[label[w as usize] as usize] {
                label[w as usize] = label[a];
            }
            ancestor[w as usize] = ancestor[a];
        }
        label[v as usize]
    };

    let mut dom = vec![0u32; len];
    // Buckets as singly linked lists: each vertex is put in exactly one bucket, once.
    let mut bucket_head = vec![0u32; len];
    let mut bucket_next = vec![0u32; len];
    for i in (2..=n).rev() {
        let w = vertex[i as usize];
        let wo = w as usize - 1;
        let (ps, pe) = (pred_first[wo] as usize, pred_first[wo + 1] as usize);
        if ps == pe {
            semi[w as usize] = semi[r as usize];
        }
        for &v in &preds[ps..pe] {
            let u = eval(v, &mut ancestor, &mut label, &semi);
            if semi[u as usize] < semi[w as usize] {
                semi[w as usize] = semi[u as usize];
            }
        }
        let b = vertex[semi[w as usize] as usize] as usize;
        bucket_next[w as usize] = bucket_head[b];
        bucket_head[b] = w;
        let p = parent[w as usize];
        ancestor[w as usize] = p; // link(parent[w], w)
        let mut v = std::mem::replace(&mut bucket_head[p as usize], 0);
        while v != 0 {
            let u = eval(v, &mut ancestor, &mut label, &semi);
            dom[v as usize] = if semi[u as usize] < semi[v as usize] { u } else { p };
            v = bucket_next[v as usize];
        }
    }
    dom[0] = r;
    dom[r as usize] = r;
    for i in 2..=n {
        let w = vertex[i as usize] as usize;
        if dom[w] != vertex[semi[w] as usize] {
            dom[w] = dom[dom[w] as usize];
        }
    }
    let dominator: Vec<u32> = (0..count).map(|o| dom[o + 1].wrapping_sub(1).min(count as u32 - 1)).collect();
    let order: Vec<u32> = vertex[1..=n as usize].iter().map(|v| v - 1).collect();
    (dominator, order)
}


#[test]
fn same_dominators_as_the_reference_on_random_graphs() {
    let mut rng = Rng(0x00d0_0d1e_5eed_0042);
    let types = ["property", "element", "internal", "hidden", "weak", "shortcut", "context"];
    let mut unreached_cases = 0;
    for case in 0..3000 {
        let (mut s, g, gcr) = Snap::with_global();
        let n = 3 + rng.below(if case % 10 == 0 { 400 } else { 40 });
        let mut nodes = vec![0, g, gcr];
        for i in 0..n {
            let ty = ["object", "array", "hidden", "closure", "string", "synthetic"][rng.below(6)];
            nodes.push(s.node(ty, &format!("N{}", rng.below(5)), 7 + 2 * i as u32, rng.below(50) as u32));
        }
        let edges = rng.below(3 * n + 1);
        for _ in 0..edges {
            let from = nodes[rng.below(nodes.len())];
            let to = nodes[1 + rng.below(nodes.len() - 1)];
            // Mostly edges among the new nodes, so some groups are reached only weakly or
            // only from each other.
            let t = types[rng.below(types.len())];
            let name: EdgeName = if t == "element" || t == "hidden" { (rng.below(9) as u32).into() } else { format!("p{}", rng.below(7)).into() };
            s.edge(from, t, name, to);
        }
        let graph = s.graph();
        let page = page_owned(&graph);
        let essential = essential_edges(&graph, &page);
        // Two halves of the nodes on two threads give the bits of one pass over all of them.
        let [a, b] = node_halves(&graph);
        assert_eq!((a.start, a.end, b.end), (0, b.start, graph.node_count() as u32), "case {case}");
        assert_eq!(essential, essential_edges_of(&graph, &page, 0..graph.node_count() as u32), "case {case}");
        let want = reference_lengauer_tarjan(&graph, &essential);
        let got = lengauer_tarjan(&graph, &essential);
        assert_eq!(got, want, "case {case}");
        // Predecessor lists built a few vertices at a time, down to one vertex per chunk.
        let budget = [0, 1, 3, 17][case % 4];
        assert_eq!(lengauer_tarjan_in_chunks(&graph, &essential, budget), want, "case {case}, chunks of {budget}");
        // How often the reference had to visit nodes individually (no DFS tree).
        let mut seen = BitSet::new(graph.node_count());
        let mut stack = vec![graph.root()];
        seen.set(graph.root() as usize);
        while let Some(v) = stack.pop() {
            for e in graph.edges(v) {
                let w = graph.edge_to(e);
                if essential.get(e) && !seen.get(w as usize) {
                    seen.set(w as usize);
                    stack.push(w);
                }
            }
        }
        unreached_cases += (0..graph.node_count()).any(|o| !seen.get(o)) as usize;
    }
    assert!(unreached_cases > 300, "{unreached_cases}");
}
