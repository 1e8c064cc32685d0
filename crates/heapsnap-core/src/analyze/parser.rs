//! Streaming `.heapsnapshot` reader (plain JSON, gzip or zstd, detected by magic bytes).
//!
//! Memory is proportional to the node and edge counts, never to the JSON text: serde_json
//! reads from a `Read`er and our `DeserializeSeed` visitors push each number straight into
//! the graph's columns (`Vec<u32>`/`Vec<u8>`), guided by the file's own `snapshot.meta`.
//! Nothing is hard-coded: field positions are looked up by name, unknown fields are skipped,
//! unknown sections (`locations` is used, `samples`, `trace_tree`... are not) are skipped with
//! `IgnoredAny`. Declared counts are only capacity *hints*, capped, because a hostile file can
//! claim anything. Every inconsistency becomes `ERR_HEAPSNAP_CORRUPT_SNAPSHOT` with the byte
//! offset (in the decompressed stream) where it was noticed.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::rc::Rc;
use std::sync::OnceLock;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::error::AnalyzeError;
use super::graph::{EdgeTypes, HeapGraph, Location, NodeTypes, StringTable, NO_TYPE};

/// Never pre-allocate more than this many elements on the strength of a declared count.
const MAX_PREALLOC: usize = 1 << 22;

/// Reads a snapshot file (`.heapsnapshot`, `.gz` or `.zst`; the format is sniffed, not
/// taken from the name).
pub fn read_snapshot(path: &Path) -> Result<HeapGraph, AnalyzeError> {
    read_snapshot_with_progress(path, |_, _| {})
}

/// Like [`read_snapshot`], calling `progress(bytes_read, file_len)` about every 4 MiB of
/// *file* bytes (compressed bytes for compressed files), for progress bars.
pub fn read_snapshot_with_progress(
    path: &Path,
    progress: impl FnMut(u64, u64),
) -> Result<HeapGraph, AnalyzeError> {
    let file = File::open(path).map_err(|e| AnalyzeError::from_io(e, None).with_path(path))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let reader = Progress { inner: file, read: 0, next_report: 0, total, cb: progress };
    read_snapshot_from(reader).map_err(|e| e.with_path(path))
}

/// Reads a snapshot from any byte stream (plain, gzip or zstd).
pub fn read_snapshot_from(mut reader: impl Read) -> Result<HeapGraph, AnalyzeError> {
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < magic.len() {
        match reader.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(AnalyzeError::from_io(e, Some(0))),
        }
    }
    let stream = io::Cursor::new(magic[..n].to_vec()).chain(reader);
    let decoded: Box<dyn Read> = if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(stream))
    } else if n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
        Box::new(zstd::stream::read::Decoder::new(stream).map_err(|e| AnalyzeError::from_io(e, Some(0)))?)
    } else {
        Box::new(stream)
    };
    parse_json(BufReader::with_capacity(1 << 18, decoded))
}

/// Calls the progress callback as file bytes are consumed.
struct Progress<R, F> {
    inner: R,
    read: u64,
    next_report: u64,
    total: u64,
    cb: F,
}

impl<R: Read, F: FnMut(u64, u64)> Read for Progress<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read >= self.next_report || n == 0 {
            (self.cb)(self.read, self.total);
            self.next_report = self.read + (4 << 20);
        }
        Ok(n)
    }
}

/// Counts bytes handed to serde_json so errors can carry a byte offset.
struct Counting<R> {
    inner: R,
    pos: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos.set(self.pos.get() + n as u64);
        Ok(n)
    }
}

#[derive(Deserialize)]
struct Header {
    meta: Meta,
    #[serde(default)]
    node_count: Option<u64>,
    #[serde(default)]
    edge_count: Option<u64>,
    #[serde(default)]
    root_index: Option<u64>,
    #[serde(default)]
    extra_native_bytes: Option<f64>,
}

#[derive(Deserialize)]
struct Meta {
    node_fields: Vec<String>,
    node_types: Vec<serde_json::Value>,
    edge_fields: Vec<String>,
    edge_types: Vec<serde_json::Value>,
    #[serde(default)]
    location_fields: Option<Vec<String>>,
}

#[derive(Clone, Copy, PartialEq)]
enum NodeRole {
    Type,
    Name,
    Id,
    SelfSize,
    EdgeCount,
    Detachedness,
    Skip,
}

#[derive(Clone, Copy, PartialEq)]
enum EdgeRole {
    Type,
    Name,
    To,
    Skip,
}

/// What `snapshot.meta` tells us about the layout of `nodes`, `edges` and `locations`.
struct Layout {
    node_roles: Vec<NodeRole>,
    edge_roles: Vec<EdgeRole>,
    node_type_names: Vec<String>,
    edge_type_names: Vec<String>,
    has_detachedness: bool,
    /// (field count, object_index, script_id, line, column)
    location: Option<(usize, usize, usize, usize, usize)>,
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
            location,
        })
    }
}

#[derive(Default)]
struct NodeCols {
    ty: Vec<u8>,
    name: Vec<u32>,
    id: Vec<u32>,
    self_size: Vec<u32>,
    edge_count: Vec<u32>,
    det: Vec<u8>,
    field: usize,
}

impl NodeCols {
    fn reserve(&mut self, n: usize, det: bool) {
        self.ty.reserve(n);
        self.name.reserve(n);
        self.id.reserve(n);
        self.self_size.reserve(n);
        self.edge_count.reserve(n);
        if det {
            self.det.reserve(n);
        }
    }
    #[inline]
    fn push(&mut self, l: &Layout, v: u32) -> Result<(), String> {
        match l.node_roles[self.field] {
            NodeRole::Type => {
                if v as usize >= l.node_type_names.len() {
                    return Err(format!("node type {v} out of range"));
                }
                self.ty.push(v as u8)
            }
            NodeRole::Name => self.name.push(v),
            NodeRole::Id => self.id.push(v),
            NodeRole::SelfSize => self.self_size.push(v),
            NodeRole::EdgeCount => self.edge_count.push(v),
            NodeRole::Detachedness => self.det.push(v.min(255) as u8),
            NodeRole::Skip => {}
        }
        self.field += 1;
        if self.field == l.node_roles.len() {
            self.field = 0;
        }
        Ok(())
    }
}

#[derive(Default)]
struct EdgeCols {
    ty: Vec<u8>,
    name: Vec<u32>,
    to: Vec<u32>,
    field: usize,
}

impl EdgeCols {
    fn reserve(&mut self, n: usize) {
        self.ty.reserve(n);
        self.name.reserve(n);
        self.to.reserve(n);
    }
    /// `node_count` is known when `nodes` came before `edges` (always, in V8's output); then
    /// bad targets are reported right where they occur.
    #[inline]
    fn push(&mut self, l: &Layout, node_count: Option<usize>, v: u32) -> Result<(), String> {
        match l.edge_roles[self.field] {
            EdgeRole::Type => {
                if v as usize >= l.edge_type_names.len() {
                    return Err(format!("edge type {v} out of range"));
                }
                self.ty.push(v as u8)
            }
            EdgeRole::Name => self.name.push(v),
            EdgeRole::To => {
                let nf = l.node_roles.len() as u32;
                if !v.is_multiple_of(nf) {
                    return Err(format!("edge to_node {v} is not a multiple of the node field count {nf}"));
                }
                let ord = v / nf;
                if let Some(n) = node_count {
                    if ord as usize >= n {
                        return Err(format!("edge to_node {v} is beyond the last node"));
                    }
                }
                self.to.push(ord)
            }
            EdgeRole::Skip => {}
        }
        self.field += 1;
        if self.field == l.edge_roles.len() {
            self.field = 0;
        }
        Ok(())
    }
}

/// Where the numbers of an array go: straight into columns when the layout is known,
/// else (a file whose `snapshot` key comes after `nodes`) into a raw buffer converted later.
enum Target<'a> {
    Nodes(&'a Layout, &'a mut NodeCols),
    Edges(&'a Layout, Option<usize>, &'a mut EdgeCols),
    Raw(&'a mut Vec<u32>),
}

struct NumbersSeed<'a> {
    target: Target<'a>,
}

impl<'de> DeserializeSeed<'de> for NumbersSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for NumbersSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of unsigned 32-bit integers")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        match &mut self.target {
            Target::Nodes(l, cols) => {
                while let Some(v) = seq.next_element::<u32>()? {
                    cols.push(l, v).map_err(de::Error::custom)?;
                }
            }
            Target::Edges(l, n, cols) => {
                while let Some(v) = seq.next_element::<u32>()? {
                    cols.push(l, *n, v).map_err(de::Error::custom)?;
                }
            }
            Target::Raw(out) => {
                while let Some(v) = seq.next_element::<u32>()? {
                    out.push(v);
                }
            }
        }
        Ok(())
    }
}

struct StringsSeed<'a>(&'a mut StringTable);

impl<'de> DeserializeSeed<'de> for StringsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for StringsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of strings")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(OneString(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

/// Appends one string to the table without allocating a `String` for it.
struct OneString<'a>(&'a mut StringTable);

impl<'de> DeserializeSeed<'de> for OneString<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for OneString<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.0.push(s);
        Ok(())
    }
}

#[derive(Default)]
struct Builder {
    header: Option<Header>,
    layout: Option<Layout>,
    nodes: NodeCols,
    edges: EdgeCols,
    raw_nodes: Option<Vec<u32>>,
    raw_edges: Option<Vec<u32>>,
    seen_nodes: bool,
    seen_edges: bool,
    strings: Option<StringTable>,
    locations: Option<Vec<u32>>,
    edges_offset: u64,
}

enum Section {
    Snapshot,
    Nodes,
    Edges,
    Strings,
    Locations,
    Other,
}

impl<'de> Deserialize<'de> for Section {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Section;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a section name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Section, E> {
                Ok(match s {
                    "snapshot" => Section::Snapshot,
                    "nodes" => Section::Nodes,
                    "edges" => Section::Edges,
                    "strings" => Section::Strings,
                    "locations" => Section::Locations,
                    _ => Section::Other,
                })
            }
        }
        d.deserialize_str(V)
    }
}

struct TopLevel<'a> {
    b: &'a mut Builder,
    pos: Rc<Cell<u64>>,
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

fn hint(declared: Option<u64>, per: usize) -> usize {
    (declared.unwrap_or(0) as usize).min(MAX_PREALLOC / per.max(1))
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a heap snapshot object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let b = self.b;
        while let Some(key) = map.next_key::<Section>()? {
            match key {
                Section::Snapshot => {
                    if b.header.is_some() {
                        return Err(de::Error::custom("duplicate \"snapshot\" section"));
                    }
                    let h: Header = map.next_value()?;
                    let layout = Layout::from_meta(&h.meta).map_err(de::Error::custom)?;
                    b.nodes.reserve(hint(h.node_count, 1), layout.has_detachedness);
                    b.edges.reserve(hint(h.edge_count, 1));
                    b.layout = Some(layout);
                    b.header = Some(h);
                }
                Section::Nodes => {
                    if std::mem::replace(&mut b.seen_nodes, true) {
                        return Err(de::Error::custom("duplicate \"nodes\" section"));
                    }
                    let target = match &b.layout {
                        Some(l) => Target::Nodes(l, &mut b.nodes),
                        None => Target::Raw(b.raw_nodes.insert(Vec::new())),
                    };
                    map.next_value_seed(NumbersSeed { target })?;
                }
                Section::Edges => {
                    if std::mem::replace(&mut b.seen_edges, true) {
                        return Err(de::Error::custom("duplicate \"edges\" section"));
                    }
                    b.edges_offset = self.pos.get();
                    let n = b.seen_nodes.then_some(b.nodes.ty.len());
                    let target = match &b.layout {
                        Some(l) if b.raw_nodes.is_none() => Target::Edges(l, n, &mut b.edges),
                        _ => Target::Raw(b.raw_edges.insert(Vec::new())),
                    };
                    map.next_value_seed(NumbersSeed { target })?;
                }
                Section::Strings => {
                    if b.strings.is_some() {
                        return Err(de::Error::custom("duplicate \"strings\" section"));
                    }
                    map.next_value_seed(StringsSeed(b.strings.insert(StringTable::default())))?;
                }
                Section::Locations => {
                    if b.locations.is_some() {
                        return Err(de::Error::custom("duplicate \"locations\" section"));
                    }
                    map.next_value_seed(NumbersSeed { target: Target::Raw(b.locations.insert(Vec::new())) })?;
                }
                Section::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

fn parse_json<R: Read>(reader: R) -> Result<HeapGraph, AnalyzeError> {
    let pos = Rc::new(Cell::new(0u64));
    let counting = Counting { inner: reader, pos: pos.clone() };
    let mut de = serde_json::Deserializer::from_reader(counting);
    let mut b = Builder::default();
    let res = TopLevel { b: &mut b, pos: pos.clone() }.deserialize(&mut de).and_then(|_| de.end());
    if let Err(e) = res {
        let at = Some(pos.get());
        return Err(if e.is_io() {
            AnalyzeError::from_io(io::Error::from(e), at)
        } else if e.is_eof() {
            AnalyzeError::corrupt(format!("truncated: {e}"), at)
        } else {
            AnalyzeError::corrupt(e.to_string(), at)
        });
    }
    let end = pos.get();
    finish(b, end)
}

/// Validates everything that could not be checked while streaming and builds the graph.
fn finish(mut b: Builder, end: u64) -> Result<HeapGraph, AnalyzeError> {
    let corrupt = |m: String, at: u64| AnalyzeError::corrupt(m, Some(at));
    let header = b.header.take().ok_or_else(|| corrupt("no \"snapshot\" section".into(), end))?;
    let layout = b.layout.take().expect("layout is set with header");
    if !b.seen_nodes {
        return Err(corrupt("no \"nodes\" section".into(), end));
    }
    if !b.seen_edges {
        return Err(corrupt("no \"edges\" section".into(), end));
    }
    let strings = b.strings.take().ok_or_else(|| corrupt("no \"strings\" section".into(), end))?;
    let mut nodes = std::mem::take(&mut b.nodes);
    if let Some(raw) = b.raw_nodes.take() {
        for v in raw {
            nodes.push(&layout, v).map_err(|m| corrupt(m, end))?;
        }
    }
    if nodes.field != 0 {
        return Err(corrupt("\"nodes\" length is not a multiple of the node field count".into(), end));
    }
    let node_count = nodes.ty.len();
    if node_count == 0 {
        return Err(corrupt("snapshot has no nodes".into(), end));
    }
    if node_count >= u32::MAX as usize {
        return Err(corrupt("too many nodes".into(), end));
    }
    let mut edges = std::mem::take(&mut b.edges);
    if let Some(raw) = b.raw_edges.take() {
        for v in raw {
            edges.push(&layout, Some(node_count), v).map_err(|m| corrupt(m, b.edges_offset))?;
        }
    }
    if edges.field != 0 {
        return Err(corrupt("\"edges\" length is not a multiple of the edge field count".into(), b.edges_offset));
    }
    let edge_count = edges.ty.len();
    if edges.to.iter().any(|&t| t as usize >= node_count) {
        return Err(corrupt("an edge points beyond the last node".into(), b.edges_offset));
    }
    // edge_count per node -> first edge ordinal per node (+ sentinel).
    let mut first_edge = nodes.edge_count;
    let mut acc: u64 = 0;
    for c in first_edge.iter_mut() {
        let n = *c as u64;
        *c = acc.min(u32::MAX as u64) as u32;
        acc += n;
    }
    if acc != edge_count as u64 {
        return Err(corrupt(
            format!("node edge counts sum to {acc} but there are {edge_count} edges"),
            end,
        ));
    }
    if acc > u32::MAX as u64 {
        return Err(corrupt("too many edges".into(), end));
    }
    first_edge.push(acc as u32);

    let nstr = strings.len();
    if let Some(bad) = nodes.name.iter().find(|&&s| s as usize >= nstr) {
        return Err(corrupt(format!("node name string index {bad} out of range ({nstr} strings)"), end));
    }
    let etype_index = |name: &str| {
        layout.edge_type_names.iter().position(|t| t == name).map(|i| i as u8).unwrap_or(NO_TYPE)
    };
    let ntype_index = |name: &str| {
        layout.node_type_names.iter().position(|t| t == name).map(|i| i as u8).unwrap_or(NO_TYPE)
    };
    let et = EdgeTypes {
        element: etype_index("element"),
        property: etype_index("property"),
        internal: etype_index("internal"),
        hidden: etype_index("hidden"),
        shortcut: etype_index("shortcut"),
        weak: etype_index("weak"),
    };
    for (i, &t) in edges.ty.iter().enumerate() {
        if t != et.element && t != et.hidden && edges.name[i] as usize >= nstr {
            return Err(corrupt(
                format!("edge name string index {} out of range ({nstr} strings)", edges.name[i]),
                b.edges_offset,
            ));
        }
    }
    let nf = layout.node_roles.len() as u64;
    let root_index = header.root_index.unwrap_or(0);
    if root_index % nf != 0 || root_index / nf >= node_count as u64 {
        return Err(corrupt(format!("root_index {root_index} is not a node"), end));
    }
    let mut locations = Vec::new();
    if let (Some(raw), Some((lf, oi, si, li, ci))) = (b.locations.take(), layout.location) {
        if raw.len() % lf != 0 {
            return Err(corrupt("\"locations\" length is not a multiple of its field count".into(), end));
        }
        locations.reserve(raw.len() / lf);
        for rec in raw.chunks_exact(lf) {
            let idx = rec[oi] as u64;
            if !idx.is_multiple_of(nf) || idx / nf >= node_count as u64 {
                return Err(corrupt(format!("location object_index {idx} is not a node"), end));
            }
            locations.push((
                (idx / nf) as u32,
                Location { script_id: rec[si], line: rec[li], column: rec[ci] },
            ));
        }
        locations.sort_by_key(|l| l.0);
        locations.dedup_by_key(|l| l.0);
    }
    let nt = NodeTypes {
        hidden: ntype_index("hidden"),
        array: ntype_index("array"),
        object: ntype_index("object"),
        code: ntype_index("code"),
        closure: ntype_index("closure"),
        regexp: ntype_index("regexp"),
        native: ntype_index("native"),
        synthetic: ntype_index("synthetic"),
        object_shape: ntype_index("object shape"),
    };
    let mut det = nodes.det;
    if !layout.has_detachedness {
        det = Vec::new();
    }
    let extra = header.extra_native_bytes.filter(|x| x.is_finite() && *x > 0.0).unwrap_or(0.0) as u64;
    let mut g = HeapGraph {
        node_type_names: layout.node_type_names,
        edge_type_names: layout.edge_type_names,
        nt,
        et,
        node_type: nodes.ty,
        node_name: nodes.name,
        node_id: nodes.id,
        node_self: nodes.self_size,
        first_edge,
        detachedness: det,
        edge_type: edges.ty,
        edge_name: edges.name,
        edge_to: edges.to,
        strings,
        locations,
        root: (root_index / nf) as u32,
        extra_native_bytes: extra,
        analysis: OnceLock::new(),
        classes: OnceLock::new(),
        retainer_index: OnceLock::new(),
        by_id: OnceLock::new(),
    };
    shrink(&mut g);
    Ok(g)
}

/// Returns the growth slack of the columns (up to ~2x with amortized pushes).
fn shrink(g: &mut HeapGraph) {
    g.node_type.shrink_to_fit();
    g.node_name.shrink_to_fit();
    g.node_id.shrink_to_fit();
    g.node_self.shrink_to_fit();
    g.first_edge.shrink_to_fit();
    g.edge_type.shrink_to_fit();
    g.edge_name.shrink_to_fit();
    g.edge_to.shrink_to_fit();
}
