//! One object explained the way a person thinks of it, not as V8 lays it out: a string's
//! value, a closure's variables and where its code is, a Map's or Set's entries as
//! key -> value, an array's elements, an EventEmitter's listeners by event, and where the
//! object was allocated when the snapshot has allocation traces.
//!
//! Everything is read from edges of the packed graph; what V8 does not record as an edge
//! (small integers, `true`/`false` are often left out, a Map entry whose key is a number) is
//! not invented: an entry can have only a key or only a value, and the page says so.
//!
//! V8's layouts relied on (checked on Node 18-24 snapshots):
//! * a closure's `context` (internal) edge leads to a `system / Context` whose `context`
//!   edges are the captured variables and whose `previous` edge is the enclosing scope;
//!   `shared` -> `script_or_debug_info` (or `script`) is the Script, named by its URL;
//! * a Map or Set has an internal `table` edge to an OrderedHashMap/Set: a FixedArray of
//!   3 header slots, `b` bucket slots (a power of two), then `2b` entries of 3 slots
//!   (key, value, chain) for a Map or 2 (key, chain) for a Set; slots holding heap objects
//!   are internal edges named by slot index. The slot count comes from the table's size;
//! * a concatenated string has `first` and `second` edges, a sliced string a `parent`;
//! * an EventEmitter keeps its listeners in `_events`: one property per event, a function
//!   or an array of functions.

use serde::Serialize;

use super::browse::NodeRow;
use super::snapshot::HeapGraph;
use super::traces::StackFrame;

/// Most rows of any one list in the details (the page links to the edges for the rest).
const LIST_LIMIT: usize = 100;
/// Bytes of a concatenated string's value assembled from its parts.
const CONS_LIMIT: usize = 1024;
/// Enclosing scopes followed from a closure's own context.
const SCOPE_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDetails {
    pub node: NodeRow,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string: Option<StringValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
    /// A closure's captured variables, its own scope (depth 0) first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<Binding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Entries>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elements: Option<Elements>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<Listeners>,
    /// Innermost frame first; absent without allocation traces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation_stack: Option<Vec<StackFrame>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StringValue {
    /// The value as kept: whole, or its first bytes (then `complete` is false).
    pub value: String,
    /// Length (UTF-16 units) of the value in the snapshot; V8 writes at most the first 1024
    /// characters of a string, so 1024 can mean "1024 or more". `None` for a concatenated
    /// string whose parts were not all read.
    pub length: Option<u64>,
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceLocation {
    pub script_id: u32,
    /// 1-based, as editors count.
    pub line: u32,
    pub column: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A name and the object it leads to (a variable, an array index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    pub name: String,
    /// Scope depth for closure variables (0: the function's own), 0 otherwise.
    pub depth: u32,
    pub value: NodeRow,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Absent when the key (or value) is not an object in the snapshot (a small integer...).
    pub key: Option<NodeRow>,
    pub value: Option<NodeRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entries {
    /// `Map` or `Set` (the layout found, also for subclasses).
    pub kind: String,
    /// Entries with at least a key or a value in the snapshot.
    pub count: u64,
    pub rows: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Elements {
    /// Elements that are objects in the snapshot (numbers and small integers are not).
    pub count: u64,
    pub rows: Vec<Binding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listeners {
    pub event: String,
    pub functions: Vec<NodeRow>,
}

impl HeapGraph {
    /// The named (string-named) edge `name` of `o`, if any: its target.
    fn named_edge(&self, o: u32, name: &str) -> Option<u32> {
        self.edges(o)
            .find(|&e| self.edge_has_string_name(e) && self.strings.get(self.edge_name_index(e)) == name)
            .map(|e| self.edge_to(e))
    }

    /// Object details of the node with this id (`None` if there is none).
    pub fn details(&self, id: u64) -> Option<ObjectDetails> {
        let o = self.find_node(id)?;
        Some(ObjectDetails {
            node: self.node_row(o),
            string: self.string_value(o),
            source: self.source_location(o),
            context: self.context_variables(o),
            entries: self.collection_entries(o),
            elements: self.array_elements(o),
            listeners: self.listeners(o),
            allocation_stack: self.allocation_stack(o),
        })
    }

    /// The index in the file's `strings` section of the value of string object `id`, when the
    /// graph keeps only a prefix of it (see [`super::read_string_at`] for the rest); `None`
    /// for a value kept whole, an object that is not a plain string, or an unknown id.
    pub fn cut_string_index(&self, id: u64) -> Option<u32> {
        let o = self.find_node(id)?;
        let index = self.node_name.get(o as usize) as u32;
        (self.node_type_name(o) == "string" && self.strings.is_cut(index)).then_some(index)
    }

    fn string_value(&self, o: u32) -> Option<StringValue> {
        let ty = self.node_type_name(o);
        match ty {
            "string" => {
                let index = self.node_name.get(o as usize) as u32;
                Some(StringValue {
                    value: self.strings.get(index).to_string(),
                    length: Some(self.strings.js_length(index)),
                    complete: !self.strings.is_cut(index),
                })
            }
            "concatenated string" => {
                let mut value = String::new();
                let complete = self.cons_text(o, &mut value);
                let length = complete.then(|| value.encode_utf16().count() as u64);
                Some(StringValue { value, length, complete })
            }
            "sliced string" => {
                // The slice's offset and length are small integers V8 does not record: show
                // the string it is cut from.
                let parent = self.named_edge(o, "parent")?;
                let mut s = self.string_value(parent)?;
                s.length = None;
                s.complete = false;
                Some(s)
            }
            _ => None,
        }
    }

    /// Appends a concatenated string's text (`first`, then `second`, depth first) to `out`, up
    /// to [`CONS_LIMIT`] bytes; true when all of it was read and every part was whole.
    fn cons_text(&self, o: u32, out: &mut String) -> bool {
        let mut stack = vec![o];
        let mut complete = true;
        while let Some(s) = stack.pop() {
            if out.len() >= CONS_LIMIT {
                return false;
            }
            match self.node_type_name(s) {
                "concatenated string" => {
                    let (first, second) = (self.named_edge(s, "first"), self.named_edge(s, "second"));
                    if first.is_none() || second.is_none() {
                        complete = false;
                    }
                    stack.extend(second);
                    stack.extend(first);
                }
                _ => match self.string_value(s) {
                    Some(v) => {
                        complete &= v.complete;
                        out.push_str(&v.value);
                    }
                    None => complete = false,
                },
            }
        }
        if out.len() > CONS_LIMIT {
            let mut end = CONS_LIMIT;
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
            out.push('…');
            complete = false;
        }
        complete
    }

    fn source_location(&self, o: u32) -> Option<SourceLocation> {
        let l = self.location(o)?;
        let url = self.closure_script_url(o).or_else(|| self.script_url(l.script_id));
        Some(SourceLocation { script_id: l.script_id, line: l.line + 1, column: l.column + 1, url })
    }

    /// A closure's script URL: `shared` -> `script_or_debug_info` (or `script`) -> its name.
    fn closure_script_url(&self, o: u32) -> Option<String> {
        if self.node_type[o as usize] != self.nt.closure {
            return None;
        }
        let sfi = self.named_edge(o, "shared")?;
        let script = self.named_edge(sfi, "script_or_debug_info").or_else(|| self.named_edge(sfi, "script"))?;
        Some(self.node_name(script).to_string()).filter(|u| !u.is_empty())
    }

    /// The URL of script `script_id`, through a closure located in it (locations name scripts
    /// by id only; an object's constructor location has no path to its script).
    fn script_url(&self, script_id: u32) -> Option<String> {
        self.locations
            .iter()
            .filter(|(_, l)| l.script_id == script_id)
            .find_map(|&(ord, _)| self.closure_script_url(ord))
    }

    fn context_variables(&self, o: u32) -> Vec<Binding> {
        let mut out = Vec::new();
        if self.node_type[o as usize] != self.nt.closure {
            return out;
        }
        let mut ctx = self.named_edge(o, "context");
        for depth in 0..SCOPE_DEPTH as u32 {
            let Some(c) = ctx else { break };
            if self.node_name(c) != "system / Context" {
                break; // the native context: globals, not this function's
            }
            for e in self.edges(c) {
                if self.edge_type_name(e) == "context" && out.len() < LIST_LIMIT {
                    out.push(Binding { name: self.edge_name(e), depth, value: self.node_row(self.edge_to(e)) });
                }
            }
            ctx = self.named_edge(c, "previous");
        }
        out
    }

    /// A Map's or Set's entries from its hash table (see the module docs for the layout).
    fn collection_entries(&self, o: u32) -> Option<Entries> {
        if self.node_type[o as usize] != self.nt.object {
            return None;
        }
        let table = self.edges(o).find(|&e| {
            self.edge_type(e) == self.et.internal
                && self.strings.get(self.edge_name_index(e)) == "table"
                && self.node_type[self.edge_to(e) as usize] == self.nt.array
        });
        let table = self.edge_to(table?);
        let (kind, first_entry, per_entry) = hash_table_layout(self.raw_self_size(table))?;
        let mut slots: Vec<(u64, u32)> = self
            .edges(table)
            .filter_map(|e| {
                let name = if self.edge_has_string_name(e) { self.strings.get(self.edge_name_index(e)).parse().ok()? } else { self.edge_name_index(e) as u64 };
                (name >= first_entry).then(|| (name, self.edge_to(e)))
            })
            .collect();
        slots.sort_unstable();
        let mut rows = Vec::new();
        let mut count = 0u64;
        let mut i = 0;
        while i < slots.len() {
            let entry = (slots[i].0 - first_entry) / per_entry;
            let base = first_entry + entry * per_entry;
            let mut key = None;
            let mut value = None;
            while i < slots.len() && slots[i].0 < base + per_entry {
                match slots[i].0 - base {
                    0 => key = Some(slots[i].1),
                    1 if kind == "Map" => value = Some(slots[i].1),
                    _ => {}
                }
                i += 1;
            }
            if key.is_none() && value.is_none() {
                continue;
            }
            count += 1;
            if rows.len() < LIST_LIMIT {
                rows.push(Entry { key: key.map(|k| self.node_row(k)), value: value.map(|v| self.node_row(v)) });
            }
        }
        Some(Entries { kind: kind.to_string(), count, rows })
    }

    fn array_elements(&self, o: u32) -> Option<Elements> {
        if self.node_type[o as usize] != self.nt.object || self.node_name(o) != "Array" {
            return None;
        }
        let element = |e: &usize| self.edge_type(*e) == self.et.element;
        let count = self.edges(o).filter(element).count() as u64;
        let rows = self
            .edges(o)
            .filter(element)
            .take(LIST_LIMIT)
            .map(|e| Binding { name: self.edge_name(e), depth: 0, value: self.node_row(self.edge_to(e)) })
            .collect();
        Some(Elements { count, rows })
    }

    fn listeners(&self, o: u32) -> Vec<Listeners> {
        let Some(events) = self.named_edge(o, "_events").filter(|&ev| self.node_type[ev as usize] == self.nt.object) else {
            return Vec::new();
        };
        self.edges(events)
            .filter(|&e| self.edge_type(e) == self.et.property && self.strings.get(self.edge_name_index(e)) != "__proto__")
            .take(LIST_LIMIT)
            .map(|e| {
                let target = self.edge_to(e);
                let functions = if self.node_type[target as usize] == self.nt.object && self.node_name(target) == "Array" {
                    self.edges(target)
                        .filter(|&x| self.edge_type(x) == self.et.element)
                        .take(LIST_LIMIT)
                        .map(|x| self.node_row(self.edge_to(x)))
                        .collect()
                } else {
                    vec![self.node_row(target)]
                };
                Listeners { event: self.edge_name(e), functions }
            })
            .collect()
    }
}

/// `(kind, first entry slot, slots per entry)` of an OrderedHashMap/Set of `self_size` bytes:
/// 3 header slots, `b` buckets (a power of two), `2b` entries. Tried with 8-byte slots and a
/// 16-byte header, then with pointer compression's 4 and 8.
fn hash_table_layout(self_size: u64) -> Option<(&'static str, u64, u64)> {
    for (header, slot) in [(16u64, 8u64), (8, 4)] {
        if self_size < header || !(self_size - header).is_multiple_of(slot) {
            continue;
        }
        let len = (self_size - header) / slot;
        for (kind, per_entry) in [("Map", 3u64), ("Set", 2)] {
            let per_bucket = 1 + 2 * per_entry;
            if len >= 3 && (len - 3).is_multiple_of(per_bucket) {
                let buckets = (len - 3) / per_bucket;
                if buckets.is_power_of_two() {
                    return Some((kind, 3 + buckets, per_entry));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::hash_table_layout;

    #[test]
    fn hash_table_layouts() {
        // A Map of 4 entries in Node 20: 17 slots (3 + 2 buckets + 4 x 3), 152 bytes.
        assert_eq!(hash_table_layout(152), Some(("Map", 5, 3)));
        // A Set with 2 buckets: 3 + 2 + 4 x 2 = 13 slots, 120 bytes.
        assert_eq!(hash_table_layout(120), Some(("Set", 5, 2)));
        // Neither layout: 6 slots (or 14 compressed) fit no power-of-two bucket count.
        assert_eq!(hash_table_layout(64), None);
    }
}
