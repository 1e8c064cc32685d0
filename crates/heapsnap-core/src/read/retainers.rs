//! Who holds a node: queries over the retainer index (`retainer_index`, built on first use)
//! and over the dominator tree.
//!
//! Retainer lists follow DevTools' Retainers view filter: weak edges and edges from the
//! snapshot root are not shown (they do not keep anything alive / are synthetic).

use serde::Serialize;

use super::snapshot::HeapGraph;

/// One edge holding a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retainer {
    /// Id of the retaining node.
    pub id: u64,
    /// Its raw name (constructor, function name, string value...).
    pub name: String,
    /// Its DevTools class name.
    pub class_name: String,
    pub node_type: String,
    pub edge_type: String,
    /// Property name, or the index for element/hidden edges.
    pub edge_name: String,
    pub self_size: u64,
    pub retained_size: u64,
}

/// Retainers of all objects of one class, grouped by who holds them and through what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetainerGroup {
    pub class_name: String,
    pub edge_type: String,
    /// Property name; element indices are collapsed to `[]`.
    pub edge_name: String,
    pub count: u64,
}

/// One step of a dominator chain (the node itself first, the root last).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DominatorEntry {
    pub id: u64,
    pub name: String,
    pub class_name: String,
    pub self_size: u64,
    pub retained_size: u64,
}

impl HeapGraph {
    fn shown_retainer(&self, from: u32, e: usize) -> bool {
        from != self.root && self.edge_type(e) != self.et.weak
    }

    /// Retainers of the node with this id (`None` if no such node), as DevTools lists them.
    pub fn retainers(&self, id: u64) -> Option<Vec<Retainer>> {
        let o = self.find_node(id)?;
        let ri = self.retainer_index();
        let range = ri.first[o as usize] as usize..ri.first[o as usize + 1] as usize;
        Some(
            range
                .filter(|&i| self.shown_retainer(ri.from[i], ri.edge[i] as usize))
                .map(|i| {
                    let (src, e) = (ri.from[i], ri.edge[i] as usize);
                    Retainer {
                        id: self.node_id(src),
                        name: self.node_name(src).to_string(),
                        class_name: self.class_name(src).to_string(),
                        node_type: self.node_type_name(src).to_string(),
                        edge_type: self.edge_type_name(e).to_string(),
                        edge_name: self.edge_name(e),
                        self_size: self.self_size(src),
                        retained_size: self.retained_size(src),
                    }
                })
                .collect(),
        )
    }

    /// Who holds objects of class `class_name`, grouped by (retainer class, edge), most
    /// frequent first. Empty when no object has that class.
    pub fn retainers_by_class(&self, class_name: &str) -> Vec<RetainerGroup> {
        use std::collections::HashMap;
        let classes = self.classes();
        let wanted: Vec<bool> = classes.keys.iter().map(|k| k.name == class_name).collect();
        let ri = self.retainer_index();
        let mut groups: HashMap<(u32, u8, String), u64> = HashMap::new();
        for o in 0..self.node_count() {
            if !wanted[classes.class_of[o] as usize] {
                continue;
            }
            for i in ri.first[o] as usize..ri.first[o + 1] as usize {
                let (src, e) = (ri.from[i], ri.edge[i] as usize);
                if !self.shown_retainer(src, e) {
                    continue;
                }
                let name = if self.edge_has_string_name(e) { self.edge_name(e) } else { "[]".to_string() };
                *groups.entry((classes.class_of[src as usize], self.edge_type(e), name)).or_default() += 1;
            }
        }
        let mut out: Vec<RetainerGroup> = groups
            .into_iter()
            .map(|((k, t, name), count)| RetainerGroup {
                class_name: classes.name(k).to_string(),
                edge_type: self.edge_type_names.get(t as usize).cloned().unwrap_or_default(),
                edge_name: name,
                count,
            })
            .collect();
        out.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.class_name.cmp(&b.class_name))
                .then_with(|| a.edge_name.cmp(&b.edge_name))
        });
        out
    }

    fn dominator_entry(&self, o: u32) -> DominatorEntry {
        DominatorEntry {
            id: self.node_id(o),
            name: self.node_name(o).to_string(),
            class_name: self.class_name(o).to_string(),
            self_size: self.self_size(o),
            retained_size: self.retained_size(o),
        }
    }

    /// Dominator chain of a node: the node, its immediate dominator, ... up to the root
    /// (DevTools' `getDominatorsOf`). `None` if no node has this id.
    pub fn dominators(&self, id: u64) -> Option<Vec<DominatorEntry>> {
        let mut o = self.find_node(id)?;
        let a = self.analysis();
        let mut chain = vec![self.dominator_entry(o)];
        // A tree: at most node_count steps, guarded anyway.
        for _ in 0..self.node_count() {
            if o == self.root {
                break;
            }
            let d = a.dominator.get(o as usize) as u32;
            if d == o {
                break;
            }
            chain.push(self.dominator_entry(d));
            o = d;
        }
        Some(chain)
    }

    /// Nodes immediately dominated by `id` (the root if `None`), largest retained size first (ties by id),
    /// at most `limit`: the "Containment by dominator" tree, one level at a time.
    pub fn dominated(&self, id: Option<u64>, limit: usize) -> Option<Vec<DominatorEntry>> {
        let o = match id {
            Some(id) => self.find_node(id)?,
            None => self.root,
        };
        let a = self.analysis();
        let mut kids = self.dominated_nodes(o);
        // Ties by id, as the viewer's pages order them (browse.rs).
        let id = |o: u32| self.node_id.get(o as usize);
        kids.sort_by(|&x, &y| a.retained.get(y as usize).cmp(&a.retained.get(x as usize)).then(id(x).cmp(&id(y))));
        kids.truncate(limit);
        Some(kids.into_iter().map(|k| self.dominator_entry(k)).collect())
    }

    /// The ordinals `o` immediately dominates, in the dominator tree's order.
    pub(crate) fn dominated_nodes(&self, o: u32) -> Vec<u32> {
        let a = self.analysis();
        let (from, to) = (a.dom_first.get(o as usize) as usize, a.dom_first.get(o as usize + 1) as usize);
        (from..to).map(|i| a.dom_children.get(i) as u32).collect()
    }
}
