//! Comparing two snapshots of one process by object id (V8 keeps ids stable across
//! snapshots of an isolate), the way DevTools' Comparison view does: the base snapshot is
//! classified with the *other* snapshot's plain-object interfaces so class keys line up,
//! only nodes DevTools counts (non-zero self size) take part, and within each class key an
//! id in B but not A is "added", an id in A but not B is "removed".

use std::collections::HashMap;

use serde::Serialize;

use super::classes::{ClassKey, Classes};
use super::column::Column;
use super::graph::Location;
use super::snapshot::HeapGraph;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassDiff {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub count_delta: i64,
    /// Self-size delta (bytes): added_size - removed_size.
    pub size_delta: i64,
    /// Number of added / removed objects.
    pub added: u64,
    pub removed: u64,
    pub added_size: u64,
    pub removed_size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diff {
    /// Classes with any added or removed object, by size delta descending.
    pub constructors: Vec<ClassDiff>,
    /// Ids of counted objects present in B and not in A, ascending.
    pub added_ids: Vec<u64>,
    /// Ids of counted objects present in A and not in B, ascending.
    pub removed_ids: Vec<u64>,
}

/// (class key index, node ordinal) for every counted node, sorted by (key, id). Ordinals
/// rather than ids and sizes keep it at 8 bytes a node whatever the width of either.
fn entries(g: &HeapGraph, shallow: &Column, classes: &Classes, keymap: &mut HashMap<ClassKey, u32>, keys: &mut Vec<ClassKey>) -> Vec<(u32, u32)> {
    let local: Vec<u32> = classes
        .keys
        .iter()
        .map(|k| {
            let next = keys.len() as u32;
            *keymap.entry(k.clone()).or_insert_with(|| {
                keys.push(k.clone());
                next
            })
        })
        .collect();
    let mut v: Vec<(u32, u32)> = (0..g.node_count())
        .filter(|&o| shallow.get(o) != 0)
        .map(|o| (local[classes.class_of[o] as usize], o as u32))
        .collect();
    v.sort_unstable_by_key(|&(k, o)| (k, g.node_id.get(o as usize)));
    v
}

/// Differences from snapshot `a` (base) to snapshot `b`.
pub fn diff(a: &HeapGraph, b: &HeapGraph) -> Diff {
    let classes_b = b.classes();
    let classes_a = Classes::compute(a, Some(&classes_b.definitions));
    let mut keymap = HashMap::new();
    let mut keys = Vec::new();
    // Shallow sizes only: a diff needs no dominator tree (the most expensive analysis).
    let (sa, sb) = (a.shallow_sizes(), b.shallow_sizes());
    let ea = entries(a, &sa, &classes_a, &mut keymap, &mut keys);
    let eb = entries(b, &sb, classes_b, &mut keymap, &mut keys);
    drop(classes_a);
    let mut per: Vec<ClassDiff> = keys
        .iter()
        .map(|k| ClassDiff {
            name: k.name.clone(),
            location: k.location,
            count_delta: 0,
            size_delta: 0,
            added: 0,
            removed: 0,
            added_size: 0,
            removed_size: 0,
        })
        .collect();
    let mut added_ids = Vec::new();
    let mut removed_ids = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < ea.len() || j < eb.len() {
        let ka = ea.get(i).map(|e| (e.0, a.node_id.get(e.1 as usize)));
        let kb = eb.get(j).map(|e| (e.0, b.node_id.get(e.1 as usize)));
        match (ka, kb) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
            }
            (Some(x), y) if y.is_none() || x < y.unwrap() => {
                let d = &mut per[x.0 as usize];
                d.removed += 1;
                d.removed_size += sa.get(ea[i].1 as usize);
                i += 1;
            }
            (_, Some(y)) => {
                let d = &mut per[y.0 as usize];
                d.added += 1;
                d.added_size += sb.get(eb[j].1 as usize);
                j += 1;
            }
            _ => unreachable!("loop condition guarantees one side"),
        }
    }
    let mut constructors: Vec<ClassDiff> = per
        .into_iter()
        .filter(|d| d.added + d.removed > 0)
        .map(|mut d| {
            d.count_delta = d.added as i64 - d.removed as i64;
            d.size_delta = d.added_size as i64 - d.removed_size as i64;
            d
        })
        .collect();
    constructors.sort_by(|x, y| {
        y.size_delta
            .cmp(&x.size_delta)
            .then(y.count_delta.cmp(&x.count_delta))
            .then_with(|| x.name.cmp(&y.name))
    });
    // By id alone (an object whose class key changed, e.g. a plain object that grew a
    // property, is neither added nor removed here).
    let sorted_ids = |g: &HeapGraph, e: Vec<(u32, u32)>| {
        let mut ids: Vec<u64> = e.into_iter().map(|(_, o)| g.node_id.get(o as usize)).collect();
        ids.sort_unstable();
        ids
    };
    let ids_a = sorted_ids(a, ea);
    let ids_b = sorted_ids(b, eb);
    let (mut i, mut j) = (0, 0);
    while i < ids_a.len() || j < ids_b.len() {
        match (ids_a.get(i), ids_b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
            }
            (Some(x), y) if y.is_none_or(|y| x < y) => {
                removed_ids.push(*x);
                i += 1;
            }
            (_, Some(y)) => {
                added_ids.push(*y);
                j += 1;
            }
            _ => unreachable!("loop condition guarantees one side"),
        }
    }
    Diff { constructors, added_ids, removed_ids }
}
