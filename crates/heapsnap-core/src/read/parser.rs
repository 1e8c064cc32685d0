//! Streaming `.heapsnapshot` reader (plain JSON, gzip or zstd, detected by magic bytes).
//!
//! Memory is proportional to the node and edge counts, never to the JSON text: a dedicated
//! scanner (`scanner.rs`) walks 1 MiB chunks of the (decompressed) stream and pushes each
//! number of `nodes`/`edges` straight into the graph's columns (`Vec<u32>`/`Vec<u8>`), guided
//! by the file's own `snapshot.meta`; only that small `snapshot` section goes through serde.
//! Files are read and decompressed on a second thread. Nothing is hard-coded: field positions
//! are looked up by name, unknown fields are skipped, unknown sections (`locations` is used,
//! `samples`, `trace_tree`... are not) are skipped by a validating skipper. Declared counts are
//! only capacity *hints*, capped by what the input's length can hold, because a hostile file
//! can claim anything. Every inconsistency becomes `ERR_HEAPSNAP_CORRUPT_SNAPSHOT` with the
//! byte offset (in the decompressed stream) where it was noticed.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, OnceLock};


use super::column::Column;
use super::error::AnalyzeError;
use super::dominators::BitSet;
use super::edges::EdgeTable;
use super::packed::{bit_len, PackedVec};
use super::graph::{EdgeTypes, Graph, Location, NodeTypes, StringTable};
use super::snapshot::HeapGraph;
use crate::format::header::{read_header, Header, Layout, NodeRole, EdgeRole, NO_TYPE};
use super::traces::AllocationTraces;
#[cfg_attr(target_os = "wasi", allow(unused_imports))]
use crate::format::scanner::{self, fill_chunk, NumSink, ReadSource, ScanError, Scanner, Source, CHUNK};

/// Never pre-allocate more than this many elements on the strength of a declared count when
/// the length of the (decompressed) input is unknown.
const MAX_PREALLOC: usize = 1 << 22;

/// Chunks decoded ahead of the parser (each `scanner::CHUNK` bytes).
#[cfg_attr(target_os = "wasi", allow(dead_code))]
const QUEUE: usize = 4;

/// Reads a snapshot file (`.heapsnapshot`, `.gz` or `.zst`; the format is sniffed, not
/// taken from the name).
pub fn read_snapshot(path: &Path) -> Result<HeapGraph, AnalyzeError> {
    read_snapshot_with_progress(path, |_, _| {})
}

/// Like [`read_snapshot`], calling `progress(bytes_read, file_len)` about every 4 MiB of
/// *file* bytes (compressed bytes for compressed files), for progress bars.
///
/// Reading and decompression run on a second thread, a few 1 MiB chunks ahead of the parser.
pub fn read_snapshot_with_progress(
    path: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<HeapGraph, AnalyzeError> {
    let file = File::open(path).map_err(|e| AnalyzeError::from_io(e, None).with_path(path))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    // WASI opens a directory for reading, then fails the read with EBADF: say EISDIR as Linux does.
    #[cfg(target_os = "wasi")]
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(AnalyzeError::from_io(io::Error::from_raw_os_error(libc::EISDIR), None).with_path(path));
    }
    // WASI: one thread. Each wasm thread is a Node worker with its own WASI file table, and one
    // that traps (out of its 4 GiB) would leave the other waiting on the channel forever.
    #[cfg(target_os = "wasi")]
    let res = on_this_thread(file, total, &mut progress);
    #[cfg(not(target_os = "wasi"))]
    let read = AtomicU64::new(0);
    #[cfg(not(target_os = "wasi"))]
    let res = std::thread::scope(|s| {
        let (decoded, compressed) = sniff(Counted { inner: file, n: &read })?;
        let (tx, rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(QUEUE);
        let (back_tx, back_rx) = mpsc::channel::<Vec<u8>>();
        s.spawn(move || {
            let mut decoded = decoded;
            loop {
                let mut buf = back_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK));
                let r = fill_chunk(&mut decoded, &mut buf);
                let done = r.as_ref().map_or(true, |_| buf.is_empty());
                if tx.send(r.map(|_| buf)).is_err() || done {
                    break;
                }
            }
        });
        let src = ChannelSource { rx, back: back_tx, read: &read, total, next_report: 0, progress: &mut progress };
        // The decompressed length of a plain file is its length.
        parse_stream(src, (!compressed).then_some(total))
    });
    res.map_err(|e| e.with_path(path))
}

/// The WebAssembly build's [`read_snapshot_with_progress`]: reading, decompression and parsing
/// on the calling thread.
#[cfg(target_os = "wasi")]
fn on_this_thread(file: File, total: u64, progress: &mut impl FnMut(u64, u64)) -> Result<HeapGraph, AnalyzeError> {
    struct Progress<'a, R, F> {
        inner: R,
        read: &'a AtomicU64,
        total: u64,
        next_report: u64,
        progress: &'a mut F,
    }
    impl<R: Read, F: FnMut(u64, u64)> Source for Progress<'_, R, F> {
        fn next_chunk(&mut self, mut old: Vec<u8>) -> io::Result<Vec<u8>> {
            fill_chunk(&mut self.inner, &mut old)?;
            let read = self.read.load(Ordering::Relaxed);
            if read >= self.next_report || old.is_empty() {
                (self.progress)(read, self.total);
                self.next_report = read + (4 << 20);
            }
            Ok(old)
        }
    }
    let read = AtomicU64::new(0);
    let (decoded, compressed) = sniff(Counted { inner: file, n: &read })?;
    let src = Progress { inner: decoded, read: &read, total, next_report: 0, progress };
    parse_stream(src, (!compressed).then_some(total))
}

/// The string at `index` of a snapshot file's `strings` section, whole: the graph keeps long
/// string values as a prefix (see `graph::VALUE_PREFIX`), and a viewer may want all of one.
/// One streaming pass over the file on the calling thread, in constant memory (every other
/// section is skipped, not parsed), so it takes about as long as reading the file does; on a
/// compressed multi-GB file, seconds. `Ok(None)` when the section has no such index.
pub fn read_string_at(path: &Path, index: u32) -> Result<Option<String>, AnalyzeError> {
    let file = File::open(path).map_err(|e| AnalyzeError::from_io(e, None).with_path(path))?;
    let (decoded, _) = sniff(file).map_err(|e| e.with_path(path))?;
    let mut sc = Scanner::new(ReadSource(decoded));
    let mut found = None;
    sc.sections(|sc, key| {
        if key != b"strings" {
            return sc.skip_value();
        }
        let mut i = 0u32;
        sc.string_array(|s| {
            if i == index {
                found = Some(s.to_string());
            }
            i = i.wrapping_add(1);
        })
    })
    .map_err(|e| scan_err(e).with_path(path))?;
    Ok(found)
}

/// Reads a snapshot from any byte stream (plain, gzip or zstd), on the calling thread.
pub fn read_snapshot_from(reader: impl Read) -> Result<HeapGraph, AnalyzeError> {
    let (decoded, _) = sniff(reader)?;
    parse_stream(ReadSource(decoded), None)
}

/// The input with its sniffed magic bytes put back in front.
type Sniffed<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// The input, decompressed when its first bytes say gzip or zstd.
pub(crate) enum Decoded<R: Read> {
    Plain(Sniffed<R>),
    Gz(Box<flate2::read::MultiGzDecoder<Sniffed<R>>>),
    Zst(Box<zstd::stream::read::Decoder<'static, io::BufReader<Sniffed<R>>>>),
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Plain(r) => r.read(buf),
            Decoded::Gz(r) => r.read(buf),
            Decoded::Zst(r) => r.read(buf),
        }
    }
}

/// Sniffs the format from the magic bytes; returns the decoded stream and whether it is
/// compressed.
pub(crate) fn sniff<R: Read>(mut reader: R) -> Result<(Decoded<R>, bool), AnalyzeError> {
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
    Ok(if n >= 2 && magic[..2] == [0x1f, 0x8b] {
        (Decoded::Gz(Box::new(flate2::read::MultiGzDecoder::new(stream))), true)
    } else if n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
        let d = zstd::stream::read::Decoder::new(stream).map_err(|e| AnalyzeError::from_io(e, Some(0)))?;
        (Decoded::Zst(Box::new(d)), true)
    } else {
        (Decoded::Plain(stream), false)
    })
}

/// Counts the file bytes read (for progress reports from the parsing thread).
struct Counted<'a, R> {
    inner: R,
    n: &'a AtomicU64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

/// Chunks from the reading thread; calls the progress callback as they arrive.
#[cfg_attr(target_os = "wasi", allow(dead_code))]
struct ChannelSource<'a, F> {
    rx: mpsc::Receiver<io::Result<Vec<u8>>>,
    back: mpsc::Sender<Vec<u8>>,
    read: &'a AtomicU64,
    total: u64,
    next_report: u64,
    progress: &'a mut F,
}

impl<F: FnMut(u64, u64)> Source for ChannelSource<'_, F> {
    fn next_chunk(&mut self, old: Vec<u8>) -> io::Result<Vec<u8>> {
        if old.capacity() > 0 {
            let _ = self.back.send(old);
        }
        let chunk = match self.rx.recv() {
            Ok(r) => r?,
            Err(_) => Vec::new(),
        };
        let read = self.read.load(Ordering::Relaxed);
        if read >= self.next_report || chunk.is_empty() {
            (self.progress)(read, self.total);
            self.next_report = read + (4 << 20);
        }
        Ok(chunk)
    }
}

#[derive(Default)]
struct NodeCols {
    ty: Vec<u8>,
    name: Vec<u32>,
    id: Column,
    self_size: Column,
    edge_count: Vec<u32>,
    det: Vec<u8>,
    trace: Vec<u32>,
    field: usize,
    /// The four wide columns above, packed once the `nodes` section is complete.
    packed: Option<PackedNodes>,
}

/// Node columns at the width their largest value needs (see `packed`). Packed as soon as
/// the `nodes` section ends, so they are at their final size before the edges (the bulk of
/// the file) are read.
struct PackedNodes {
    name: PackedVec,
    id: PackedVec,
    self_size: PackedVec,
    edge_count: PackedVec,
}

impl NodeCols {
    /// Packs the finished columns, each wide one freed before the next is packed.
    fn pack(&mut self) -> &PackedNodes {
        if self.packed.is_none() {
            let name = PackedVec::from_values(self.name.iter().map(|&s| s as u64));
            self.name = Vec::new();
            let id = PackedVec::from_values(self.id.iter());
            self.id = Column::default();
            let self_size = PackedVec::from_values(self.self_size.iter());
            self.self_size = Column::default();
            let edge_count = PackedVec::from_values(self.edge_count.iter().map(|&c| c as u64));
            self.edge_count = Vec::new();
            self.packed = Some(PackedNodes { name, id, self_size, edge_count });
        }
        self.packed.as_ref().expect("packed above")
    }
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
    #[inline(always)]
    fn push(&mut self, l: &Layout, v: u64) -> Result<(), String> {
        match l.node_roles[self.field] {
            NodeRole::Type => {
                if v >= l.node_type_names.len() as u64 {
                    return Err(format!("node type {v} out of range"));
                }
                self.ty.push(v as u8)
            }
            NodeRole::Name => self.name.push(narrow(v, "node name string index")?),
            NodeRole::Id => self.id.push(v),
            NodeRole::SelfSize => self.self_size.push(v),
            NodeRole::EdgeCount => self.edge_count.push(narrow(v, "node edge_count")?),
            NodeRole::Detachedness => self.det.push(v.min(255) as u8),
            NodeRole::TraceId => self.trace.push(narrow(v, "node trace_node_id")?),
            NodeRole::Skip => {}
        }
        self.field += 1;
        if self.field == l.node_roles.len() {
            self.field = 0;
        }
        Ok(())
    }
}

/// Field positions of the node roles, for whole-record pushes.
struct NodeSink<'a> {
    l: &'a Layout,
    cols: &'a mut NodeCols,
    pos: [usize; 5],
    det: Option<usize>,
    trace: Option<usize>,
}

impl<'a> NodeSink<'a> {
    fn new(l: &'a Layout, cols: &'a mut NodeCols) -> Self {
        let pos = [NodeRole::Type, NodeRole::Name, NodeRole::Id, NodeRole::SelfSize, NodeRole::EdgeCount]
            .map(|r| l.node_field(r).expect("required node fields are in the layout"));
        NodeSink { l, cols, pos, det: l.node_field(NodeRole::Detachedness), trace: l.node_field(NodeRole::TraceId) }
    }
}

impl NumSink<u64> for NodeSink<'_> {
    fn take(&mut self, nums: &[u64]) -> Result<(), (usize, String)> {
        let (l, cols) = (self.l, &mut *self.cols);
        let nf = l.node_roles.len();
        let mut i = 0;
        // Finish a record begun in the previous batch, then whole records, then the rest.
        while cols.field != 0 && i < nums.len() {
            cols.push(l, nums[i]).map_err(|m| (i, m))?;
            i += 1;
        }
        let [ty, name, id, self_size, edge_count] = self.pos;
        let ntypes = l.node_type_names.len() as u64;
        while i + nf <= nums.len() {
            let r = &nums[i..i + nf];
            let trace_too_big = self.trace.is_some_and(|t| r[t] > u32::MAX as u64);
            if r[ty] >= ntypes || r[name] > u32::MAX as u64 || r[edge_count] > u32::MAX as u64 || trace_too_big {
                // The per-field path finds and words the problem (same checks).
                for (k, &x) in r.iter().enumerate() {
                    cols.push(l, x).map_err(|m| (i + k, m))?;
                }
                i += nf;
                continue;
            }
            cols.ty.push(r[ty] as u8);
            cols.name.push(r[name] as u32);
            cols.id.push(r[id]);
            cols.self_size.push(r[self_size]);
            cols.edge_count.push(r[edge_count] as u32);
            if let Some(d) = self.det {
                cols.det.push(r[d].min(255) as u8);
            }
            if let Some(t) = self.trace {
                cols.trace.push(r[t] as u32);
            }
            i += nf;
        }
        while i < nums.len() {
            cols.push(l, nums[i]).map_err(|m| (i, m))?;
            i += 1;
        }
        Ok(())
    }
}

/// Edges as they are read: whole records go straight into the packed table; a record that
/// spans two batches of numbers is assembled in `partial` first.
#[derive(Default)]
struct EdgeCols {
    table: EdgeTable,
    /// Type, name and target of the record being read, field by field.
    partial: [u32; 3],
    field: usize,
    /// Edges to reserve room for once the table is created (from the declared count).
    expected: usize,
    /// Targets were checked against the node count while they were read.
    targets_checked: bool,
}

/// Edge types whose `name_or_index` is an index, not a string.
fn index_named(edge_type: &str) -> bool {
    edge_type == "element" || edge_type == "hidden"
}

impl EdgeCols {
    /// Creates the table once the layout (and, in V8's order, the node count) is known.
    fn start(&mut self, l: &Layout, node_count: Option<usize>) {
        let mut string_named = [0u64; 4];
        for (i, _) in l.edge_type_names.iter().enumerate().filter(|(_, t)| !index_named(t)) {
            string_named[(i >> 6) & 3] |= 1 << (i & 63);
        }
        self.table = EdgeTable::new(l.edge_type_names.len(), node_count, string_named);
        self.targets_checked = node_count.is_some();
        self.table.reserve(self.expected);
    }
    /// `node_count` is known when `nodes` came before `edges` (always, in V8's output); then
    /// bad targets are reported right where they occur.
    /// `NF` is the node field count when known at compile time (0: use the layout's).
    #[inline(always)]
    fn push<const NF: u64>(&mut self, l: &Layout, node_count: Option<usize>, v: u64) -> Result<(), String> {
        match l.edge_roles[self.field] {
            EdgeRole::Type => {
                if v >= l.edge_type_names.len() as u64 {
                    return Err(format!("edge type {v} out of range"));
                }
                self.partial[0] = v as u32;
            }
            EdgeRole::Name => self.partial[1] = narrow(v, "edge name_or_index")?,
            EdgeRole::To => {
                let nf = if NF != 0 { NF } else { l.node_roles.len() as u64 };
                if !v.is_multiple_of(nf) {
                    return Err(format!("edge to_node {v} is not a multiple of the node field count {nf}"));
                }
                let ord = v / nf;
                if node_count.is_some_and(|n| ord >= n as u64) || ord >= u32::MAX as u64 {
                    return Err(format!("edge to_node {v} is beyond the last node"));
                }
                self.partial[2] = ord as u32;
            }
            EdgeRole::Skip => {}
        }
        self.field += 1;
        if self.field == l.edge_roles.len() {
            self.field = 0;
            let [ty, name, to] = self.partial;
            self.table.push(ty as u8, name, to);
        }
        Ok(())
    }
}

/// Whole-record pushes of edges; `NF` is the node field count when known at compile time
/// (0: the layout's).
struct EdgeSink<'a, const NF: u64> {
    l: &'a Layout,
    node_count: Option<usize>,
    cols: &'a mut EdgeCols,
    pos: [usize; 3],
}

impl<'a, const NF: u64> EdgeSink<'a, NF> {
    fn new(l: &'a Layout, node_count: Option<usize>, cols: &'a mut EdgeCols) -> Self {
        let at = |r: EdgeRole| l.edge_field(r).expect("required edge fields are in the layout");
        EdgeSink { l, node_count, cols, pos: [at(EdgeRole::Type), at(EdgeRole::Name), at(EdgeRole::To)] }
    }
}

impl<const NF: u64> NumSink<u64> for EdgeSink<'_, NF> {
    fn take(&mut self, nums: &[u64]) -> Result<(), (usize, String)> {
        let (l, n, cols) = (self.l, self.node_count, &mut *self.cols);
        let ef = l.edge_roles.len();
        let mut i = 0;
        while cols.field != 0 && i < nums.len() {
            cols.push::<NF>(l, n, nums[i]).map_err(|m| (i, m))?;
            i += 1;
        }
        let [ty, name, to] = self.pos;
        let ntypes = l.edge_type_names.len() as u64;
        let nf = if NF != 0 { NF } else { l.node_roles.len() as u64 };
        let limit = n.map_or(u32::MAX as u64, |n| (n as u64).min(u32::MAX as u64));
        while i + ef <= nums.len() {
            let r = &nums[i..i + ef];
            let (t, v) = (r[ty], r[to]);
            if t >= ntypes || !v.is_multiple_of(nf) || v / nf >= limit || r[name] > u32::MAX as u64 {
                // The per-field path finds and words the problem (same checks).
                for (k, &x) in r.iter().enumerate() {
                    cols.push::<NF>(l, n, x).map_err(|m| (i + k, m))?;
                }
                i += ef;
                continue;
            }
            cols.table.push(t as u8, r[name] as u32, (v / nf) as u32);
            i += ef;
        }
        while i < nums.len() {
            cols.push::<NF>(l, n, nums[i]).map_err(|m| (i, m))?;
            i += 1;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Builder {
    header: Option<Header>,
    layout: Option<Layout>,
    nodes: NodeCols,
    edges: EdgeCols,
    raw_nodes: Option<Vec<u64>>,
    raw_edges: Option<Vec<u64>>,
    seen_nodes: bool,
    seen_edges: bool,
    strings: Option<StringTable>,
    locations: Option<Vec<u32>>,
    trace_function_infos: Option<Vec<u32>>,
    trace_tree: Option<Vec<u8>>,
    edges_offset: u64,
}

/// Capacity to reserve for a section of `fields` numbers per element whose declared count
/// is `declared`: trusted up to what the input can hold (each number takes at least two
/// bytes of text, "0,"), or up to `MAX_PREALLOC` when the decompressed length is unknown.
fn hint(declared: Option<u64>, fields: usize, input_len: Option<u64>) -> usize {
    let declared = declared.unwrap_or(0);
    let cap = match input_len {
        Some(len) => len / (2 * fields.max(1) as u64),
        None => MAX_PREALLOC as u64,
    };
    declared.min(cap).min(u32::MAX as u64) as usize
}

/// A value the graph keeps in 32 bits (string indices, edge counts, element indices):
/// past that it cannot be a real reference, so the file is corrupt rather than truncated.
fn narrow(v: u64, what: &str) -> Result<u32, String> {
    u32::try_from(v).map_err(|_| format!("{what} {v} out of range (more than 32 bits)"))
}

fn scan_err(e: ScanError) -> AnalyzeError {
    match e {
        ScanError::Corrupt(m, at) => AnalyzeError::corrupt(m, Some(at)),
        ScanError::Io(e, at) => AnalyzeError::from_io(e, Some(at)),
    }
}

/// Which string indices are used only as the value of a string node (`string`,
/// `concatenated string`, `sliced string`), so a prefix of them is enough (see
/// `StringTable`). Known only when `nodes` and `edges` came first (as V8 writes them);
/// otherwise `None`, and every string is kept whole. A string that is also a node name of
/// another type or an edge name is kept whole.
fn value_only_strings(b: &Builder) -> Option<BitSet> {
    let l = b.layout.as_ref()?;
    if !b.seen_nodes || !b.seen_edges || b.raw_nodes.is_some() || b.raw_edges.is_some() {
        return None;
    }
    let is_value: Vec<bool> = l
        .node_type_names
        .iter()
        .map(|t| matches!(t.as_str(), "string" | "concatenated string" | "sliced string"))
        .collect();
    // Element and hidden edges hold an index, not a string: left out (and out of `len`).
    let edge_unnamed: Vec<bool> = l.edge_type_names.iter().map(|t| index_named(t)).collect();
    let t = &b.edges.table;
    let node_names = &b.nodes.packed.as_ref()?.name;
    let len = node_names.iter().max().unwrap_or(0).max(t.max_string_name() as u64) as usize + 1;
    // A string index far past the references is out of range (rejected once the strings
    // are counted): no bitset sized by a hostile number.
    if len > 2 * (node_names.len() + t.len()) + 1024 {
        return None;
    }
    let (mut value, mut named) = (BitSet::new(len), BitSet::new(len));
    for (&t, s) in b.nodes.ty.iter().zip(node_names.iter()) {
        if is_value[t as usize] {
            value.set(s as usize);
        } else {
            named.set(s as usize);
        }
    }
    for (ty, s, _) in t.records() {
        if !edge_unnamed[ty as usize] {
            named.set(s as usize);
        }
    }
    value.subtract(&named);
    Some(value)
}

/// The top-level object: sections in any order, unknown ones skipped.
fn parse_top<S: Source>(sc: &mut Scanner<S>, b: &mut Builder, input_len: Option<u64>) -> scanner::Result<()> {
    sc.sections(|sc, key| {
        let at = sc.offset();
        match key {
            b"snapshot" => {
                if b.header.is_some() {
                    return sc.corrupt("duplicate \"snapshot\" section");
                }
                let (h, layout) = read_header(sc)?;
                b.nodes.reserve(hint(h.node_count, layout.node_roles.len(), input_len), layout.has_detachedness);
                b.edges.expected = hint(h.edge_count, layout.edge_roles.len(), input_len);
                b.layout = Some(layout);
                b.header = Some(h);
            }
            b"nodes" => {
                if std::mem::replace(&mut b.seen_nodes, true) {
                    return sc.corrupt("duplicate \"nodes\" section");
                }
                match &b.layout {
                    Some(l) => {
                        sc.uint_array(&mut NodeSink::new(l, &mut b.nodes))?;
                        b.nodes.pack();
                    }
                    None => sc.uint_array(b.raw_nodes.insert(Vec::new()))?,
                }
            }
            b"edges" => {
                if std::mem::replace(&mut b.seen_edges, true) {
                    return sc.corrupt("duplicate \"edges\" section");
                }
                b.edges_offset = at;
                let n = b.seen_nodes.then_some(b.nodes.ty.len());
                match &b.layout {
                    Some(l) if b.raw_nodes.is_none() => {
                        let cols = &mut b.edges;
                        cols.start(l, n);
                        match l.node_roles.len() {
                            7 => sc.uint_array(&mut EdgeSink::<7>::new(l, n, cols))?,
                            6 => sc.uint_array(&mut EdgeSink::<6>::new(l, n, cols))?,
                            _ => sc.uint_array(&mut EdgeSink::<0>::new(l, n, cols))?,
                        }
                    }
                    _ => sc.uint_array(b.raw_edges.insert(Vec::new()))?,
                }
            }
            b"strings" => {
                if b.strings.is_some() {
                    return sc.corrupt("duplicate \"strings\" section");
                }
                let values = value_only_strings(b);
                let t = b.strings.insert(StringTable::default());
                let mut i = 0usize;
                sc.string_array(|s| {
                    if values.as_ref().is_some_and(|v| v.contains(i)) {
                        t.push_value(s)
                    } else {
                        t.push(s)
                    }
                    i += 1;
                })?;
                t.shrink_to_fit();
            }
            b"locations" => {
                if b.locations.is_some() {
                    return sc.corrupt("duplicate \"locations\" section");
                }
                sc.u32_array(b.locations.insert(Vec::new()))?;
            }
            // Allocation traces: read only when the header announced them (it comes first
            // in V8's files); otherwise skipped like any unknown section.
            b"trace_function_infos" if b.layout.as_ref().is_some_and(|l| l.has_traces) && b.trace_function_infos.is_none() => {
                sc.u32_array(b.trace_function_infos.insert(Vec::new()))?;
            }
            b"trace_tree" if b.layout.as_ref().is_some_and(|l| l.has_traces) && b.trace_tree.is_none() => {
                b.trace_tree = Some(sc.capture_value()?);
            }
            _ => sc.skip_value()?,
        }
        Ok(())
    })
}

fn parse_stream<S: Source>(src: S, input_len: Option<u64>) -> Result<HeapGraph, AnalyzeError> {
    let mut sc = Scanner::new(src);
    let mut b = Builder::default();
    parse_top(&mut sc, &mut b, input_len).map_err(scan_err)?;
    let end = sc.offset();
    drop(sc);
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
        edges.start(&layout, Some(node_count));
        for v in raw {
            edges.push::<0>(&layout, Some(node_count), v).map_err(|m| corrupt(m, b.edges_offset))?;
        }
    }
    if edges.field != 0 {
        return Err(corrupt("\"edges\" length is not a multiple of the edge field count".into(), b.edges_offset));
    }
    let targets_checked = edges.targets_checked;
    let mut edges = edges.table;
    let edge_count = edges.len();
    if !targets_checked && edges.records().any(|(_, _, to)| to as usize >= node_count) {
        return Err(corrupt("an edge points beyond the last node".into(), b.edges_offset));
    }
    nodes.pack();
    let packed = nodes.packed.take().expect("packed above");
    // edge_count per node -> first edge ordinal per node (+ sentinel).
    let acc: u64 = packed.edge_count.iter().sum();
    if acc != edge_count as u64 {
        return Err(corrupt(
            format!("node edge counts sum to {acc} but there are {edge_count} edges"),
            end,
        ));
    }
    if acc > u32::MAX as u64 {
        return Err(corrupt("too many edges".into(), end));
    }
    let mut first_edge = PackedVec::zeros(node_count + 1, bit_len(acc));
    let mut at = 0;
    for (i, c) in packed.edge_count.iter().enumerate() {
        first_edge.set(i, at);
        at += c;
    }
    first_edge.set(node_count, at);
    drop(packed.edge_count);

    let nstr = strings.len();
    if let Some(bad) = packed.name.iter().find(|&s| s as usize >= nstr) {
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
    if edges.max_string_name() as usize >= nstr {
        let bad = edges.max_string_name();
        return Err(corrupt(format!("edge name string index {bad} out of range ({nstr} strings)"), b.edges_offset));
    }
    edges.finish(node_count);
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
    let (traces, node_trace) = match (layout.has_traces, b.trace_function_infos.take(), b.trace_tree.take()) {
        (true, Some(_), Some(_)) if nodes.trace.len() != node_count => {
            return Err(corrupt("\"nodes\" has a trace_node_id column of the wrong length".into(), end));
        }
        (true, Some(infos), Some(tree)) => {
            let meta = &header.meta;
            let traces = AllocationTraces::build(
                meta.trace_function_info_fields.as_deref().unwrap_or_default(),
                &infos,
                meta.trace_node_fields.as_deref().unwrap_or_default(),
                &tree,
                |index| ((index as usize) < strings.len()).then(|| strings.get(index)),
            )
            .map_err(|m| corrupt(m, end))?;
            (Some(traces), nodes.trace)
        }
        _ => (None, Vec::new()),
    };
    let mut g = Graph {
        node_type_names: layout.node_type_names,
        edge_type_names: layout.edge_type_names,
        nt,
        et,
        node_type: nodes.ty,
        node_name: packed.name,
        node_id: packed.id,
        node_self: packed.self_size,
        first_edge,
        detachedness: det,
        edges,
        strings,
        locations,
        root: (root_index / nf) as u32,
        extra_native_bytes: extra,
        by_id: OnceLock::new(),
        traces,
        node_trace,
    };
    shrink(&mut g);
    Ok(HeapGraph::from(g))
}

/// Returns the growth slack of the columns (up to ~2x with amortized pushes).
fn shrink(g: &mut Graph) {
    g.node_type.shrink_to_fit();
}

/// Parses plain JSON handed over in chunks of `chunk` bytes, so tests can put every token
/// across a chunk boundary.
#[cfg(test)]
pub(crate) fn read_snapshot_chunked(bytes: &[u8], chunk: usize) -> Result<HeapGraph, AnalyzeError> {
    parse_stream(scanner::Pieces::new(bytes, chunk), Some(bytes.len() as u64))
}
