//! Allocation traces: which code allocated an object.
//!
//! A snapshot taken while V8 tracks allocations (`HeapProfiler::StartTrackingHeapObjects(true)`,
//! heapsnap's `leakCheck({ stacks: true })`, DevTools' "Allocation instrumentation on
//! timeline") carries a call tree of allocation sites (`trace_tree`: `[id, function_info_index,
//! count, size, [children...]]` per node), the functions it names (`trace_function_infos`:
//! function id, name and script name as string indices, script id, 1-based line and column),
//! and per object the id of the tree node that allocated it (`trace_node_id`, 0 when unknown).
//! An object's allocation stack is the path from its tree node up to the root.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

/// One frame of an allocation stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackFrame {
    pub function_name: String,
    /// The script's name (a file path or URL); empty for V8's own code.
    pub url: String,
    /// 1-based, where the function starts (0 when V8 did not know).
    pub line: u32,
    pub column: u32,
}

/// Objects allocated by the same stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocationStack {
    pub count: u64,
    /// Sum of the objects' self sizes.
    pub size: u64,
    /// Innermost frame (the allocating function) first, outermost last.
    pub frames: Vec<StackFrame>,
}

/// The allocation call tree of a snapshot, flattened.
#[derive(Debug, Clone, Default)]
pub struct AllocationTraces {
    /// Per tree node: its parent's index (`u32::MAX` for the root) and its function's index.
    parent: Vec<u32>,
    function: Vec<u32>,
    /// `trace_node_id` -> tree node index.
    index_of: HashMap<u32, u32>,
    functions: Vec<StackFrame>,
}

/// Where the fields of a `trace_function_infos` record are (from `meta`).
fn field(fields: &[String], name: &str, what: &str) -> Result<usize, String> {
    fields.iter().position(|f| f == name).ok_or_else(|| format!("meta.{what} has no \"{name}\""))
}

impl AllocationTraces {
    /// Builds the traces from the raw sections; `string` resolves function and script names
    /// (string indices), `None` when out of range.
    pub(crate) fn build<'s>(
        function_fields: &[String],
        function_infos: &[u32],
        node_fields: &[String],
        tree: &[u8],
        string: impl Fn(u32) -> Option<&'s str>,
    ) -> Result<AllocationTraces, String> {
        let nf = function_fields.len();
        if nf == 0 || function_infos.len() % nf != 0 {
            return Err("\"trace_function_infos\" length is not a multiple of its field count".into());
        }
        let what = "trace_function_info_fields";
        let (name, script, line, column) = (
            field(function_fields, "name", what)?,
            field(function_fields, "script_name", what)?,
            field(function_fields, "line", what)?,
            field(function_fields, "column", what)?,
        );
        let text = |index: u32| -> Result<String, String> {
            string(index).map(str::to_owned).ok_or_else(|| format!("trace function string index {index} out of range"))
        };
        let functions = function_infos
            .chunks_exact(nf)
            .map(|record| {
                Ok(StackFrame {
                    function_name: text(record[name])?,
                    url: text(record[script])?,
                    // V8 writes 0 for "no position"; u32::MAX-like junk is kept as is.
                    line: record[line],
                    column: record[column],
                })
            })
            .collect::<Result<Vec<_>, String>>()?;

        let what = "trace_node_fields";
        let tf = node_fields.len();
        let (id_at, function_at, children_at) =
            (field(node_fields, "id", what)?, field(node_fields, "function_info_index", what)?, field(node_fields, "children", what)?);
        let tree: Value = serde_json::from_slice(tree).map_err(|e| format!("\"trace_tree\": {e}"))?;
        let mut traces = AllocationTraces { functions, ..AllocationTraces::default() };
        // Iterative walk: (flat list of sibling records, parent index).
        let top = tree.as_array().ok_or("\"trace_tree\" must be an array")?;
        let mut pending: Vec<(&[Value], u32)> = vec![(top.as_slice(), u32::MAX)];
        while let Some((siblings, parent)) = pending.pop() {
            if siblings.len() % tf != 0 {
                return Err("a \"trace_tree\" node list is not a multiple of its field count".into());
            }
            for record in siblings.chunks_exact(tf) {
                let number = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
                let (Some(id), Some(function)) = (number(&record[id_at]), number(&record[function_at])) else {
                    return Err("a \"trace_tree\" node's id or function is not a 32-bit number".into());
                };
                if function as usize >= traces.functions.len() {
                    return Err(format!("trace node {id} names function {function} of {}", traces.functions.len()));
                }
                let index = traces.parent.len() as u32;
                traces.parent.push(parent);
                traces.function.push(function);
                traces.index_of.insert(id, index);
                let children = record[children_at].as_array().ok_or("a \"trace_tree\" node's children must be an array")?;
                if !children.is_empty() {
                    pending.push((children.as_slice(), index));
                }
            }
        }
        Ok(traces)
    }

    /// The allocation stack of trace node `trace_node_id`, innermost first, without the
    /// tree's root; `None` for 0 (not tracked) or an unknown id.
    pub fn frames(&self, trace_node_id: u32) -> Option<Vec<StackFrame>> {
        let mut index = *self.index_of.get(&trace_node_id)?;
        let mut frames = Vec::new();
        while self.parent[index as usize] != u32::MAX {
            frames.push(self.functions[self.function[index as usize] as usize].clone());
            index = self.parent[index as usize];
        }
        (!frames.is_empty()).then_some(frames)
    }

    /// The `top` stacks that allocated most of `objects` (`(trace_node_id, self size)`), by
    /// count, then size. Objects allocated before tracking started (id 0) are left out.
    pub fn top_stacks(&self, objects: impl IntoIterator<Item = (u32, u64)>, top: usize) -> Vec<AllocationStack> {
        let mut by_site: HashMap<u32, (u64, u64)> = HashMap::new();
        for (trace, size) in objects {
            if trace != 0 {
                let site = by_site.entry(trace).or_default();
                site.0 += 1;
                site.1 += size;
            }
        }
        let mut sites: Vec<(u32, u64, u64)> = by_site.into_iter().map(|(trace, (count, size))| (trace, count, size)).collect();
        sites.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
        sites
            .into_iter()
            .filter_map(|(trace, count, size)| Some(AllocationStack { count, size, frames: self.frames(trace)? }))
            .take(top)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FUNCTION_FIELDS: [&str; 6] = ["function_id", "name", "script_name", "script_id", "line", "column"];
    const NODE_FIELDS: [&str; 5] = ["id", "function_info_index", "count", "size", "children"];
    const STRINGS: [&str; 5] = ["(root)", "", "main", "/app/a.js", "alloc"];

    fn traces(tree: &str) -> Result<AllocationTraces, String> {
        let fields = |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // (root), main at /app/a.js:1:1, alloc at /app/a.js:7:12.
        let infos = [0, 0, 1, 0, 0, 0, 1, 2, 3, 9, 1, 1, 2, 4, 3, 9, 7, 12];
        AllocationTraces::build(&fields(&FUNCTION_FIELDS), &infos, &fields(&NODE_FIELDS), tree.as_bytes(), |i| STRINGS.get(i as usize).copied())
    }

    #[test]
    fn a_trace_node_is_its_path_to_the_root_innermost_first() {
        let t = traces("[1,0,0,0,[2,1,0,0,[3,2,4,64,[]],4,2,1,8,[]]]").unwrap();
        let frames = t.frames(3).unwrap();
        let names: Vec<_> = frames.iter().map(|f| (f.function_name.as_str(), f.line, f.column)).collect();
        assert_eq!(names, [("alloc", 7, 12), ("main", 1, 1)]);
        assert_eq!(frames[0].url, "/app/a.js");
        assert_eq!(t.frames(4).unwrap().len(), 1);
        assert_eq!(t.frames(1), None, "the root alone is no stack");
        assert_eq!(t.frames(0), None, "0: allocated before tracking");
        assert_eq!(t.frames(99), None);
    }

    #[test]
    fn top_stacks_count_objects_per_site_and_skip_untracked_ones() {
        let t = traces("[1,0,0,0,[2,1,0,0,[3,2,4,64,[]],4,2,1,8,[]]]").unwrap();
        let stacks = t.top_stacks([(3, 16), (3, 16), (4, 100), (0, 5000), (3, 16)], 5);
        assert_eq!(stacks.iter().map(|s| (s.count, s.size)).collect::<Vec<_>>(), [(3, 48), (1, 100)]);
        assert_eq!(stacks[0].frames[0].function_name, "alloc");
        assert_eq!(t.top_stacks([(3, 1), (4, 1)], 1).len(), 1);
    }

    #[test]
    fn corrupt_traces_are_errors_not_panics() {
        assert!(traces("[1,0,0,0]").is_err(), "children missing");
        assert!(traces("[1,9,0,0,[]]").unwrap_err().contains("names function 9"));
        assert!(traces("{}").is_err());
        assert!(traces("[1,0,0,0,[2,1,0]]").is_err());
        assert!(traces("[-1,0,0,0,[]]").is_err());
        let fields = |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let bad_string = AllocationTraces::build(&fields(&FUNCTION_FIELDS), &[0, 77, 0, 0, 0, 0], &fields(&NODE_FIELDS), b"[]", |i| STRINGS.get(i as usize).copied());
        assert!(bad_string.unwrap_err().contains("string index 77"));
    }
}
