//! DevTools' "class name" of each node — the rows of its Summary view — and the class *key*
//! aggregation uses (`calculateObjectNames`, `inferInterfaceDefinitions`,
//! `applyInterfaceDefinitions`, `classKeyInternal` in chrome-devtools-frontend):
//!
//! * `object`/`native`: the node name (the constructor name); DOM-ish names `<div id=..>` are
//!   cut to `<div>`.
//! * `closure` → `Function`, `regexp` → `RegExp`, `code` → `(compiled code)`,
//!   `hidden` → `(system)`, any other type `t` → `(t)`: `(string)`, `(array)`,
//!   `(concatenated string)`, `(number)`, `(object shape)`, ...
//! * Plain `Object`s are split by shape: property-name lists shared by at least
//!   max(2, objects/1000) plain objects become "interfaces" named like `{id, name, data}`; an
//!   object takes the largest interface whose properties it has (ties: the most popular).
//! * Objects with a constructor location (the snapshot's `locations`) are keyed by name *and*
//!   location, so two classes `Foo` from different scripts stay separate rows, as in DevTools.

use std::collections::HashMap;

use super::dominators::BitSet;
use super::graph::{Graph, Location};

/// An inferred shape of plain objects (DevTools' `InterfaceDefinition`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceDefinition {
    pub name: String,
    pub properties: Vec<String>,
}

/// One aggregation key: a class name, plus the constructor location for `object` nodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClassKey {
    pub name: String,
    pub location: Option<Location>,
}

pub(crate) struct Classes {
    /// Class key id per node ordinal.
    pub class_of: Vec<u32>,
    pub keys: Vec<ClassKey>,
    pub definitions: Vec<InterfaceDefinition>,
}

impl Classes {
    pub fn name(&self, key: u32) -> &str {
        &self.keys[key as usize].name
    }

    /// Computes classes with this graph's own interface definitions, or with `defs` (a diff
    /// classifies the base snapshot with the other snapshot's definitions, like DevTools).
    pub fn compute(g: &Graph, defs: Option<&[InterfaceDefinition]>) -> Classes {
        let definitions = match defs {
            Some(d) => d.to_vec(),
            None => infer_interface_definitions(g),
        };
        let mut plain = InterfaceMatcher::new(&definitions);
        let mut b = KeyBuilder::default();
        let def_names: Vec<u32> = definitions.iter().map(|d| b.name_id(&d.name)).collect();
        let n = g.node_count();
        // Class name id per node type for the types named after their type.
        let type_names: Vec<u32> = (0..g.node_type_names.len())
            .map(|t| {
                let t8 = t as u8;
                let name = if t8 == g.nt.hidden {
                    "(system)".to_string()
                } else if t8 == g.nt.code {
                    "(compiled code)".to_string()
                } else if t8 == g.nt.closure {
                    "Function".to_string()
                } else if t8 == g.nt.regexp {
                    "RegExp".to_string()
                } else {
                    format!("({})", g.node_type_names[t])
                };
                b.name_id(&name)
            })
            .collect();
        let mut by_string: Vec<u32> = vec![u32::MAX; g.strings.len()];
        let detached = detached_dom_nodes(g);
        let mut by_string_detached: std::collections::HashMap<u32, u32> = Default::default();
        let mut class_of = Vec::with_capacity(n);
        for o in 0..n as u32 {
            let t = g.node_type[o as usize];
            let name_id = if t == g.nt.object || t == g.nt.native {
                if let Some(di) = plain.as_mut().and_then(|m| m.match_node(g, o)) {
                    def_names[di as usize]
                } else {
                    let s = g.node_name.get(o as usize) as usize;
                    if detached.as_ref().is_some_and(|d| d.get(o as usize)) {
                        *by_string_detached.entry(s as u32).or_insert_with(|| {
                            b.name_id(&dom_class_name(&format!("Detached {}", g.strings.get(s as u32))))
                        })
                    } else {
                        if by_string[s] == u32::MAX {
                            by_string[s] = b.name_id(&dom_class_name(g.strings.get(s as u32)));
                        }
                        by_string[s]
                    }
                }
            } else {
                type_names[t as usize]
            };
            let location = if t == g.nt.object { g.location(o) } else { None };
            class_of.push(b.key_id(name_id, location));
        }
        let keys = b.keys.into_iter().map(|(nid, location)| ClassKey { name: b.names[nid as usize].clone(), location }).collect();
        Classes { class_of, keys, definitions }
    }
}

#[derive(Default)]
struct KeyBuilder {
    names: Vec<String>,
    name_ids: HashMap<String, u32>,
    keys: Vec<(u32, Option<Location>)>,
    key_ids: HashMap<(u32, Option<Location>), u32>,
    plain_key: Vec<u32>,
}

impl KeyBuilder {
    fn name_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.name_ids.insert(name.to_string(), id);
        id
    }
    fn key_id(&mut self, name: u32, location: Option<Location>) -> u32 {
        if location.is_none() {
            if let Some(&k) = self.plain_key.get(name as usize) {
                if k != u32::MAX {
                    return k;
                }
            }
        }
        let next = self.keys.len() as u32;
        let id = *self.key_ids.entry((name, location)).or_insert(next);
        if id == next {
            self.keys.push((name, location));
        }
        if location.is_none() {
            if self.plain_key.len() <= name as usize {
                self.plain_key.resize(name as usize + 1, u32::MAX);
            }
            self.plain_key[name as usize] = id;
        }
        id
    }
}

/// DevTools' `propagateDOMState`: native nodes whose `detachedness` says detached, or that
/// are reached from a detached native node (and not from an attached one) through
/// non-hidden, non-weak edges, get a `Detached ` name prefix. `None` without the field.
fn detached_dom_nodes(g: &Graph) -> Option<BitSet> {
    if g.detachedness.is_empty() {
        return None;
    }
    const ATTACHED: u8 = 1;
    const DETACHED: u8 = 2;
    let n = g.node_count();
    let mut state = g.detachedness.clone();
    let mut visited = vec![false; n];
    let mut renamed = BitSet::new(n);
    let mut attached: Vec<u32> = Vec::new();
    let mut detached: Vec<u32> = Vec::new();
    let mut process = |o: u32, new_state: u8, state: &mut [u8], attached: &mut Vec<u32>, detached: &mut Vec<u32>| {
        let i = o as usize;
        if visited[i] {
            return;
        }
        visited[i] = true;
        if g.node_type[i] != g.nt.native {
            return;
        }
        state[i] = new_state;
        if new_state == ATTACHED {
            attached.push(o);
        } else if new_state == DETACHED {
            renamed.set(i);
            detached.push(o);
        }
    };
    for o in 0..n as u32 {
        let s = state[o as usize] & 3;
        if s != 0 {
            process(o, s, &mut state, &mut attached, &mut detached);
        }
    }
    let follow = |e: usize| g.edge_type(e) != g.et.hidden && g.edge_type(e) != g.et.weak;
    while let Some(o) = attached.pop() {
        for e in g.edges(o) {
            if follow(e) {
                process(g.edge_to(e), ATTACHED, &mut state, &mut attached, &mut detached);
            }
        }
    }
    while let Some(o) = detached.pop() {
        if state[o as usize] == ATTACHED {
            continue;
        }
        for e in g.edges(o) {
            if follow(e) {
                process(g.edge_to(e), DETACHED, &mut state, &mut attached, &mut detached);
            }
        }
    }
    Some(renamed)
}

/// `<div id="x">` → `<div>`, `Detached <div id="x">` → `Detached <div>`.
fn dom_class_name(name: &str) -> String {
    if name.starts_with('<') {
        if let Some(sp) = name.find(' ') {
            return format!("{}>", &name[..sp]);
        }
    } else if let Some(rest) = name.strip_prefix("Detached <") {
        if let Some(sp) = rest.find(' ') {
            return format!("{}>", &name[..10 + sp]);
        }
    }
    name.to_string()
}

/// A plain `{}` (or `Object.create(null)`) object: DevTools names it by its properties; a
/// retainer name (`paths`) by where it is held.
pub(crate) fn is_plain_object(g: &Graph, o: u32) -> bool {
    g.node_type[o as usize] == g.nt.object && g.node_name(o) == "Object"
}

/// DevTools' `formatPropertyName`: quote names that would be confusing inside `{a, b}`.
pub(crate) fn format_property_name(name: &str) -> String {
    if name.contains([',', '\'', '"', '{', '}']) {
        serde_json::to_string(name).unwrap_or_else(|_| name.to_string())
    } else {
        name.to_string()
    }
}

fn js_len(s: &str) -> usize {
    s.encode_utf16().count()
}

const MIN_INTERFACE_PROPERTY_COUNT: usize = 1;
const MAX_INTERFACE_NAME_LENGTH: usize = 120;
const MIN_OBJECT_COUNT_PER_INTERFACE: f64 = 2.0;
const MIN_OBJECT_PROPORTION_PER_INTERFACE: f64 = 1000.0;

/// DevTools' `inferInterfaceDefinitions`.
pub(crate) fn infer_interface_definitions(g: &Graph) -> Vec<InterfaceDefinition> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut candidates: Vec<(InterfaceDefinition, u64)> = Vec::new();
    let mut total = 0u64;
    let mut name = String::new();
    for o in 0..g.node_count() as u32 {
        if !is_plain_object(g, o) {
            continue;
        }
        total += 1;
        name.clear();
        name.push('{');
        let mut name_len = 1usize; // in UTF-16 units, like JS `length`
        let mut props: Vec<&str> = Vec::new();
        for e in g.edges(o) {
            if g.edge_type(e) != g.et.property {
                continue;
            }
            let edge_name = g.strings.get(g.edge_name_index(e));
            if edge_name == "__proto__" {
                continue;
            }
            let formatted = format_property_name(edge_name);
            let flen = js_len(&formatted);
            if name_len > MIN_INTERFACE_PROPERTY_COUNT && name_len + flen > MAX_INTERFACE_NAME_LENGTH {
                break;
            }
            if name_len != 1 {
                name.push_str(", ");
                name_len += 2;
            }
            name.push_str(&formatted);
            name_len += flen;
            props.push(edge_name);
        }
        if props.is_empty() {
            continue;
        }
        name.push('}');
        match index.get(&name) {
            Some(&i) => candidates[i].1 += 1,
            None => {
                index.insert(name.clone(), candidates.len());
                candidates.push((
                    InterfaceDefinition {
                        name: name.clone(),
                        properties: props.iter().map(|s| s.to_string()).collect(),
                    },
                    1,
                ));
            }
        }
    }
    // Stable sort by popularity (JS sort is stable: ties keep first-seen order).
    candidates.sort_by_key(|c| std::cmp::Reverse(c.1));
    let min = MIN_OBJECT_COUNT_PER_INTERFACE.max(total as f64 / MIN_OBJECT_PROPORTION_PER_INTERFACE);
    candidates.into_iter().take_while(|c| c.1 as f64 >= min).map(|c| c.0).collect()
}

struct TrieNode {
    next: HashMap<u32, u32>,
    /// (property count, definition index)
    matched: Option<(usize, usize)>,
    greatest: Option<u32>,
}

/// DevTools' `applyInterfaceDefinitions`, one node at a time (no per-node array): the
/// definition a plain object takes. Property names are mapped to ids; any consistent order
/// works for the subset walk.
struct InterfaceMatcher<'a> {
    prop_ids: HashMap<&'a str, u32>,
    trie: Vec<TrieNode>,
    props: Vec<u32>,
    states: Vec<u32>,
    next_states: Vec<u32>,
}

impl<'a> InterfaceMatcher<'a> {
    /// `None` when there are no definitions (nothing can match).
    fn new(defs: &'a [InterfaceDefinition]) -> Option<Self> {
        if defs.is_empty() {
            return None;
        }
        let mut prop_ids: HashMap<&str, u32> = HashMap::new();
        for d in defs {
            for p in &d.properties {
                let next = prop_ids.len() as u32;
                prop_ids.entry(p.as_str()).or_insert(next);
            }
        }
        let mut trie = vec![TrieNode { next: HashMap::new(), matched: None, greatest: None }];
        for (di, d) in defs.iter().enumerate() {
            let mut props: Vec<u32> = d.properties.iter().map(|p| prop_ids[p.as_str()]).collect();
            props.sort_unstable();
            let mut cur = 0usize;
            for p in &props {
                let existing = trie[cur].next.get(p).copied();
                let nxt = match existing {
                    Some(n) => n as usize,
                    None => {
                        let id = trie.len();
                        trie.push(TrieNode { next: HashMap::new(), matched: None, greatest: None });
                        trie[cur].next.insert(*p, id as u32);
                        if trie[cur].greatest.is_none_or(|gr| gr < *p) {
                            trie[cur].greatest = Some(*p);
                        }
                        id
                    }
                };
                cur = nxt;
            }
            if trie[cur].matched.is_none() {
                trie[cur].matched = Some((props.len(), di));
            }
        }
        Some(InterfaceMatcher { prop_ids, trie, props: Vec::new(), states: Vec::new(), next_states: Vec::new() })
    }

    /// Definition index of node `o`, if it is a plain object that matches one.
    fn match_node(&mut self, g: &Graph, o: u32) -> Option<u32> {
        if !is_plain_object(g, o) {
            return None;
        }
        let better = |a: (usize, usize), b: Option<(usize, usize)>| -> (usize, usize) {
            match b {
                None => a,
                Some(b) if a.0 > b.0 => a,
                Some(b) if b.0 > a.0 => b,
                Some(b) => {
                    if a.1 <= b.1 {
                        a
                    } else {
                        b
                    }
                }
            }
        };
        let (trie, props, states, next_states) = (&self.trie, &mut self.props, &mut self.states, &mut self.next_states);
        props.clear();
        for e in g.edges(o) {
            if g.edge_type(e) == g.et.property {
                // Properties no definition mentions can never extend a match.
                if let Some(&id) = self.prop_ids.get(g.strings.get(g.edge_name_index(e))) {
                    props.push(id);
                }
            }
        }
        props.sort_unstable();
        states.clear();
        states.push(0);
        const NONE: (usize, usize) = (0, usize::MAX);
        let mut best = better(NONE, trie[0].matched);
        for &p in props.iter() {
            next_states.clear();
            for &s in states.iter() {
                let node = &trie[s as usize];
                let keep = node.greatest.is_some_and(|gr| p < gr);
                if keep {
                    next_states.push(s);
                }
                if let Some(&n) = node.next.get(&p) {
                    next_states.push(n);
                    best = better(best, trie[n as usize].matched);
                }
            }
            next_states.sort_unstable();
            next_states.dedup();
            std::mem::swap(states, next_states);
        }
        (best != NONE).then_some(best.1 as u32)
    }
}
