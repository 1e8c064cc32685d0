//! The `snapshot` section at the head of a heap snapshot: counts, and the `meta` that says
//! how the flat `nodes`, `edges` and `locations` arrays are laid out (field order, type
//! names). Read by the analyzer's parser and by the writer's redaction, which both walk those
//! arrays driven by this layout, never by hard-coded offsets.

use serde::Deserialize;

use super::scanner::{self, ScanError, Scanner, Source};

/// Sentinel for "this snapshot's meta does not define that type"; type lists may hold at
/// most this many names, so every real index fits below it.
pub(crate) const NO_TYPE: u8 = u8::MAX;

#[derive(Deserialize)]
pub(crate) struct Header {
    pub(crate) meta: Meta,
    #[serde(default)]
    pub(crate) node_count: Option<u64>,
    #[serde(default)]
    pub(crate) edge_count: Option<u64>,
    #[serde(default)]
    pub(crate) root_index: Option<u64>,
    #[serde(default)]
    pub(crate) extra_native_bytes: Option<f64>,
    /// Functions in `trace_function_infos`: more than 0 when V8 tracked allocations.
    #[serde(default)]
    pub(crate) trace_function_count: Option<u64>,
}

#[derive(Deserialize)]
pub(crate) struct Meta {
    pub(crate) node_fields: Vec<String>,
    pub(crate) node_types: Vec<serde_json::Value>,
    pub(crate) edge_fields: Vec<String>,
    pub(crate) edge_types: Vec<serde_json::Value>,
    #[serde(default)]
    pub(crate) location_fields: Option<Vec<String>>,
    /// Allocation tracking's function table; its `name` and `script_name` are string indices.
    #[serde(default)]
    pub(crate) trace_function_info_fields: Option<Vec<String>>,
    /// Allocation tracking's call tree records (see `traces`).
    #[serde(default)]
    pub(crate) trace_node_fields: Option<Vec<String>>,
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum NodeRole {
    Type,
    Name,
    Id,
    SelfSize,
    EdgeCount,
    Detachedness,
    /// `trace_node_id`, kept only when the snapshot has allocation traces.
    TraceId,
    Skip,
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum EdgeRole {
    Type,
    Name,
    To,
    Skip,
}

/// What `snapshot.meta` tells us about the layout of `nodes`, `edges` and `locations`.
pub(crate) struct Layout {
    pub(crate) node_roles: Vec<NodeRole>,
    pub(crate) edge_roles: Vec<EdgeRole>,
    pub(crate) node_type_names: Vec<String>,
    pub(crate) edge_type_names: Vec<String>,
    pub(crate) has_detachedness: bool,
    /// The snapshot has allocation traces: `trace_node_id` is kept per node.
    pub(crate) has_traces: bool,
    /// (field count, object_index, script_id, line, column)
    pub(crate) location: Option<(usize, usize, usize, usize, usize)>,
}

fn type_names(types: &[serde_json::Value], offset: usize, what: &str) -> Result<Vec<String>, String> {
    let list = types
        .get(offset)
        .and_then(|v| v.as_array())
        .ok_or_else(|| format!("meta.{what}_types[{offset}] must be the list of type names"))?;
    let names: Option<Vec<String>> = list.iter().map(|v| v.as_str().map(str::to_owned)).collect();
    let names = names.ok_or_else(|| format!("meta.{what}_types[{offset}] must hold strings"))?;
    if names.len() >= NO_TYPE as usize {
        return Err(format!("too many {what} types ({})", names.len()));
    }
    Ok(names)
}

impl Layout {
    fn from_meta(meta: &Meta) -> Result<Layout, String> {
        let nf = &meta.node_fields;
        let find = |fields: &[String], name: &str, what: &str| {
            fields
                .iter()
                .position(|f| f == name)
                .ok_or_else(|| format!("meta.{what}_fields has no \"{name}\""))
        };
        let t = find(nf, "type", "node")?;
        let required = [
            (t, NodeRole::Type),
            (find(nf, "name", "node")?, NodeRole::Name),
            (find(nf, "id", "node")?, NodeRole::Id),
            (find(nf, "self_size", "node")?, NodeRole::SelfSize),
            (find(nf, "edge_count", "node")?, NodeRole::EdgeCount),
        ];
        let mut node_roles = vec![NodeRole::Skip; nf.len()];
        for (i, r) in required {
            node_roles[i] = r;
        }
        let det = nf.iter().position(|f| f == "detachedness");
        if let Some(d) = det {
            if node_roles[d] == NodeRole::Skip {
                node_roles[d] = NodeRole::Detachedness;
            }
        }
        let ef = &meta.edge_fields;
        let et = find(ef, "type", "edge")?;
        let mut edge_roles = vec![EdgeRole::Skip; ef.len()];
        edge_roles[et] = EdgeRole::Type;
        let en = find(ef, "name_or_index", "edge")?;
        let eto = find(ef, "to_node", "edge")?;
        if en == et || eto == et || en == eto {
            return Err("meta.edge_fields repeats a field".into());
        }
        edge_roles[en] = EdgeRole::Name;
        edge_roles[eto] = EdgeRole::To;
        let distinct = required.iter().map(|r| r.0).collect::<std::collections::HashSet<_>>().len();
        if distinct != required.len() {
            return Err("meta.node_fields repeats a field".into());
        }
        let location = match &meta.location_fields {
            Some(lf) if !lf.is_empty() => Some((
                lf.len(),
                find(lf, "object_index", "location")?,
                find(lf, "script_id", "location")?,
                find(lf, "line", "location")?,
                find(lf, "column", "location")?,
            )),
            _ => None,
        };
        Ok(Layout {
            node_roles,
            edge_roles,
            node_type_names: type_names(&meta.node_types, t, "node")?,
            edge_type_names: type_names(&meta.edge_types, et, "edge")?,
            has_detachedness: det.is_some(),
            has_traces: false,
            location,
        })
    }

    /// Keeps each node's `trace_node_id` (a snapshot with allocation traces).
    fn keep_trace_ids(&mut self, meta: &Meta) {
        if let Some(t) = meta.node_fields.iter().position(|f| f == "trace_node_id") {
            if self.node_roles[t] == NodeRole::Skip {
                self.node_roles[t] = NodeRole::TraceId;
                self.has_traces = true;
            }
        }
    }

    /// Where `role` is in a `nodes` record (the required roles always are).
    pub(crate) fn node_field(&self, role: NodeRole) -> Option<usize> {
        self.node_roles.iter().position(|&x| x == role)
    }

    /// Where `role` is in an `edges` record (the required roles always are).
    pub(crate) fn edge_field(&self, role: EdgeRole) -> Option<usize> {
        self.edge_roles.iter().position(|&x| x == role)
    }
}

/// The `snapshot` section (after whitespace) and the layout its `meta` describes.
pub(crate) fn read_header<S: Source>(sc: &mut Scanner<S>) -> scanner::Result<(Header, Layout)> {
    let at = sc.offset();
    let text = sc.capture_value()?;
    let h: Header = serde_json::from_slice(&text).map_err(|e| {
        let off = scanner::line_col_offset(&text, e.line(), e.column());
        ScanError::Corrupt(format!("\"snapshot\": {e}"), at + off as u64)
    })?;
    let mut layout = Layout::from_meta(&h.meta).map_err(|m| ScanError::Corrupt(m, at))?;
    if h.trace_function_count.unwrap_or(0) > 0 {
        layout.keep_trace_ids(&h.meta);
    }
    Ok((h, layout))
}

