//! What an interactive viewer (`heapsnap view`) asks of a snapshot, one page of rows at a
//! time: the Summary's classes with DevTools' distance, a class's instances sorted and paged,
//! one object by id, the edges holding an object (its retainers) and the edges it holds, the
//! dominator tree one level at a time, and the objects new (or gone) in a class between two
//! snapshots.
//!
//! Why pages: a class can have millions of instances and an object millions of retainers;
//! the page shows about a hundred rows, so only those cross to JS. A page is chosen with a
//! partial selection (`select_nth_unstable`) and sorted, O(n) in the class, never a full
//! sort; nothing is kept between requests but the lazily computed analyses the graph already
//! keeps (`snapshot`), so a viewer costs no memory per click.

use serde::Serialize;

use super::classes::Classes;
use super::distances::{Distances, BASE_SYSTEM_DISTANCE, BASE_UNREACHABLE_DISTANCE, NO_DISTANCE};
use super::dominators::BitSet;
use super::graph::Location;
use super::paths::edge_source;
use super::snapshot::HeapGraph;
use super::summary::ClassSummary;

/// Longest name a row carries, in bytes (cut at a character boundary, then `…`): names of
/// objects and properties are kept whole by the parser and may be long.
const NAME_LIMIT: usize = 200;

/// One object as a row of the viewer's tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRow {
    pub id: u64,
    /// The raw name (constructor, function name, string value prefix), cut to [`NAME_LIMIT`].
    pub name: String,
    /// DevTools' class name (what the Summary groups by).
    pub class_name: String,
    pub node_type: String,
    pub self_size: u64,
    pub retained_size: u64,
    /// DevTools' distance (see `distances`).
    pub distance: i64,
    /// Children in the dominator tree (0: nothing to expand there).
    pub dominated: u64,
}

/// An edge and the object at its other end (the holder in a retainers list, the target in
/// an object's own edges).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EdgeRow {
    pub edge_type: String,
    /// Property name, or the index for element/hidden edges.
    pub edge_name: String,
    /// A weak edge keeps nothing alive (listed last, marked by the page).
    pub weak: bool,
    /// In a retainers list: this edge is on the object's preferred path from the GC roots
    /// (user references over V8's and Node's internals, see `paths`), listed first.
    pub preferred: bool,
    pub node: NodeRow,
}

/// One page of rows and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub total: u64,
    pub offset: u64,
    pub rows: Vec<T>,
}

/// A Summary row with what the viewer also needs: its class key (to ask for its instances)
/// and DevTools' distance (the smallest of its counted objects).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassRow {
    pub key: u32,
    #[serde(flatten)]
    pub class: ClassSummary,
    pub distance: i64,
}

/// The column a list of objects is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Id,
    Distance,
    SelfSize,
    RetainedSize,
}

impl SortBy {
    /// The page's column names (`id`, `distance`, `selfSize`, `retainedSize`).
    pub fn parse(s: &str) -> Option<SortBy> {
        Some(match s {
            "id" => SortBy::Id,
            "distance" => SortBy::Distance,
            "selfSize" => SortBy::SelfSize,
            "retainedSize" => SortBy::RetainedSize,
            _ => return None,
        })
    }
}

/// Which page of a list of objects: sorted by `sort`, `limit` rows from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub sort: SortBy,
    pub descending: bool,
    pub offset: usize,
    pub limit: usize,
}

/// Cuts `s` to at most `limit` bytes at a character boundary, plus `…`.
fn cut(s: &str, limit: usize) -> String {
    if s.len() <= limit {
        return s.to_string();
    }
    let mut end = limit;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The first `offset + limit` items of `items` in `cmp` order, then the page from `offset`:
/// a partial selection, so a page of a huge list costs O(n), not a full sort.
fn page_of<T: Copy>(mut items: Vec<T>, offset: usize, limit: usize, cmp: impl Fn(&T, &T) -> std::cmp::Ordering) -> Page<T> {
    let total = items.len() as u64;
    let end = offset.saturating_add(limit).min(items.len());
    if offset >= end {
        return Page { total, offset: offset as u64, rows: Vec::new() };
    }
    if end < items.len() {
        items.select_nth_unstable_by(end - 1, &cmp);
        items.truncate(end);
    }
    items.sort_unstable_by(&cmp);
    Page { total, offset: offset as u64, rows: items[offset..].to_vec() }
}

impl HeapGraph {
    /// Computes what the Summary with distances needs (dominators, classes, distances), so a
    /// viewer can do it while loading, off its event loop.
    pub fn prepare_summary(&self) {
        self.analysis_and_classes();
        self.distances();
    }

    /// Computes the rest of what the viewer's queries use (the id index, the retainer index
    /// and preferred paths): a viewer runs it while the person reads the Summary, and every
    /// click after that is a lookup (one that comes first waits for it).
    pub fn prepare_browsing(&self) {
        self.prepare_summary();
        self.find_node(0);
        self.retainer_index();
        self.retainer_paths();
    }

    /// The object at ordinal `ord` as a row.
    pub fn node_row(&self, ord: u32) -> NodeRow {
        let a = self.analysis();
        let dominated = a.dom_first.get(ord as usize + 1) - a.dom_first.get(ord as usize);
        NodeRow {
            id: self.node_id(ord),
            name: cut(self.node_name(ord), NAME_LIMIT),
            class_name: self.class_name(ord).to_string(),
            node_type: self.node_type_name(ord).to_string(),
            self_size: self.self_size(ord),
            retained_size: self.retained_size(ord),
            distance: self.distance(ord),
            dominated,
        }
    }

    /// The object with this id as a row (`None` if there is none): the viewer's `@id` search.
    pub fn find_row(&self, id: u64) -> Option<NodeRow> {
        self.find_node(id).map(|o| self.node_row(o))
    }

    /// The Summary (same rows, same order, see [`HeapGraph::summary`]) with class keys and
    /// distances.
    pub fn class_rows(&self) -> Vec<ClassRow> {
        let rows = self.summary_rows();
        let classes = self.classes();
        let shallow = &self.analysis().shallow;
        let mut distance = vec![i64::MAX; classes.keys.len()];
        for (o, &k) in classes.class_of.iter().enumerate() {
            if shallow.get(o) != 0 {
                let d = &mut distance[k as usize];
                *d = (*d).min(self.distance(o as u32));
            }
        }
        rows.into_iter()
            .map(|(key, class)| ClassRow { key, class, distance: distance[key as usize] })
            .collect()
    }

    /// The counted objects (non-zero shallow size, as the Summary counts them) of class `key`.
    fn members(&self, classes: &Classes, key: u32) -> Vec<u32> {
        let shallow = &self.analysis().shallow;
        classes
            .class_of
            .iter()
            .enumerate()
            .filter(|&(o, &k)| k == key && shallow.get(o) != 0)
            .map(|(o, _)| o as u32)
            .collect()
    }

    /// Compares two objects by `sort` (ties by id, so pages never overlap).
    fn compare(&self, sort: SortBy, descending: bool, x: u32, y: u32) -> std::cmp::Ordering {
        let key = |o: u32| -> i128 {
            match sort {
                SortBy::Id => self.node_id(o) as i128,
                SortBy::Distance => self.distance(o) as i128,
                SortBy::SelfSize => self.self_size(o) as i128,
                SortBy::RetainedSize => self.retained_size(o) as i128,
            }
        };
        let by = key(x).cmp(&key(y));
        let by = if descending { by.reverse() } else { by };
        by.then_with(|| self.node_id(x).cmp(&self.node_id(y)))
    }

    fn rows_page(&self, objects: Vec<u32>, req: &PageRequest) -> Page<NodeRow> {
        let page = page_of(objects, req.offset, req.limit, |&x, &y| self.compare(req.sort, req.descending, x, y));
        Page { total: page.total, offset: page.offset, rows: page.rows.into_iter().map(|o| self.node_row(o)).collect() }
    }

    /// One page of the instances of class `key` (a [`ClassRow::key`]); `None` for no such key.
    pub fn instances(&self, key: u32, req: &PageRequest) -> Option<Page<NodeRow>> {
        let classes = self.classes();
        if key as usize >= classes.keys.len() {
            return None;
        }
        let members = self.members(classes, key);
        Some(self.rows_page(members, req))
    }

    fn edge_row(&self, e: usize, other: u32, preferred: bool) -> EdgeRow {
        EdgeRow {
            edge_type: self.edge_type_name(e).to_string(),
            edge_name: cut(&self.edge_name(e), NAME_LIMIT),
            weak: self.edge_type(e) == self.et.weak,
            preferred,
            node: self.node_row(other),
        }
    }

    /// One page of the edges holding the object `id` (`None` if there is none): strong edges
    /// first, the one on its preferred path from the GC roots first of all, then by the
    /// holder's distance (DevTools' order: shortest path first), then its retained size.
    /// Edges from the snapshot's synthetic root are left out, as DevTools does; weak edges
    /// are kept, marked.
    pub fn retainer_edges(&self, id: u64, offset: usize, limit: usize) -> Option<Page<EdgeRow>> {
        self.retainer_page(id, offset, limit, None)
    }

    /// DevTools' distances with the retainers `ignored` (ids) hidden: see
    /// [`HeapGraph::retainer_edges_ignoring`]. Unknown ids are skipped.
    pub fn distances_ignoring(&self, ignored: &[u64]) -> Distances {
        let mut set = BitSet::new(self.node_count());
        for o in ignored.iter().filter_map(|&id| self.find_node(id)) {
            set.set(o as usize);
        }
        Distances::ignoring(self, &set)
    }

    /// Like [`HeapGraph::retainer_edges`] after DevTools' "ignore this retainer": holders are
    /// ranked by `distances` (from [`HeapGraph::distances_ignoring`]), those the hidden ones cut
    /// off from the roots after all others (distance [`BASE_UNREACHABLE_DISTANCE`] + their
    /// usual one), and the preferred holder goes first only while it is still reachable.
    pub fn retainer_edges_ignoring(&self, id: u64, offset: usize, limit: usize, distances: &Distances) -> Option<Page<EdgeRow>> {
        self.retainer_page(id, offset, limit, Some(distances))
    }

    fn retainer_page(&self, id: u64, offset: usize, limit: usize, ignoring: Option<&Distances>) -> Option<Page<EdgeRow>> {
        let o = self.find_node(id)?;
        let ri = self.retainer_index();
        let distance = |from: u32| match ignoring {
            None => self.distance(from),
            Some(d) => match d.get(from) {
                NO_DISTANCE => self.distance(from).max(0) + BASE_UNREACHABLE_DISTANCE,
                d => d,
            },
        };
        let preferred = self
            .retainer_paths()
            .preferred_edge(o)
            .filter(|&e| ignoring.is_none() || distance(edge_source(self, e)) < BASE_SYSTEM_DISTANCE);
        let list: Vec<(u32, u32)> = (ri.first[o as usize]..ri.first[o as usize + 1])
            .map(|i| (ri.from[i as usize], ri.edge[i as usize]))
            .filter(|&(from, _)| from != self.root)
            .collect();
        let rank = |&(from, e): &(u32, u32)| {
            (
                self.edge_type(e as usize) == self.et.weak,
                Some(e) != preferred,
                distance(from),
                std::cmp::Reverse(self.retained_size(from)),
                e,
            )
        };
        let page = page_of(list, offset, limit, |x, y| rank(x).cmp(&rank(y)));
        Some(Page {
            total: page.total,
            offset: page.offset,
            rows: page
                .rows
                .into_iter()
                .map(|(from, e)| {
                    let mut row = self.edge_row(e as usize, from, Some(e) == preferred);
                    row.node.distance = distance(from);
                    row
                })
                .collect(),
        })
    }

    /// One page of the edges the object `id` holds, in the snapshot's order (`None` if there
    /// is no such object).
    pub fn outgoing_edges(&self, id: u64, offset: usize, limit: usize) -> Option<Page<EdgeRow>> {
        let o = self.find_node(id)?;
        let edges = self.edges(o);
        let total = edges.len() as u64;
        let rows = edges.skip(offset).take(limit).map(|e| self.edge_row(e, self.edge_to(e), false)).collect();
        Some(Page { total, offset: offset as u64, rows })
    }

    /// One page of the objects the object `id` (the root when `None`) immediately dominates,
    /// largest retained size first: the dominator tree, one level at a time.
    pub fn dominated_rows(&self, id: Option<u64>, offset: usize, limit: usize) -> Option<Page<NodeRow>> {
        let o = match id {
            Some(id) => self.find_node(id)?,
            None => self.root,
        };
        let req = PageRequest { sort: SortBy::RetainedSize, descending: true, offset, limit };
        Some(self.rows_page(self.dominated_nodes(o), &req))
    }

    /// The class key of `name` (and `location`) in this snapshot, if any object has it.
    pub fn class_key(&self, name: &str, location: Option<Location>) -> Option<u32> {
        self.classes().keys.iter().position(|k| k.name == name && k.location == location).map(|k| k as u32)
    }
}

/// One page of the objects of class `name` (and `location`) in `other` whose id is not an
/// object of that class in `base`: a Comparison row's "# New" expanded (with `base` and
/// `other` swapped, its "# Deleted").
///
/// Classes are each snapshot's own; the diff classifies the base with the other's plain-object
/// shapes (see `diff`), so for shape-named plain objects (`{a, b}`) a count here can differ
/// from the diff's. For every other class it is the same set.
pub fn objects_not_in(base: &HeapGraph, other: &HeapGraph, name: &str, location: Option<Location>, req: &PageRequest) -> Page<NodeRow> {
    let Some(key) = other.class_key(name, location) else {
        return Page { total: 0, offset: req.offset as u64, rows: Vec::new() };
    };
    let base_key = base.class_key(name, location);
    let base_classes = base.classes();
    let base_shallow = &base.analysis().shallow;
    let in_base = |id: u64| {
        base.find_node(id).is_some_and(|b| {
            Some(base_classes.class_of[b as usize]) == base_key && base_shallow.get(b as usize) != 0
        })
    };
    let members: Vec<u32> = other.members(other.classes(), key).into_iter().filter(|&o| !in_base(other.node_id(o))).collect();
    other.rows_page(members, req)
}
