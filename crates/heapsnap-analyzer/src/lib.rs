//! heapsnap's analyzer addon: `NativeSnapshot` (a parsed snapshot held natively), its sync and
//! async loaders, `leaks` and `holders`. All the work is in `heapsnap_core::read`; this file only
//! moves results into plain JS objects and errors into coded JS errors. It also carries
//! `NativeFileSink` (file_sink.rs), heapsnap's snapshot file writer for bytes that come from JS,
//! and the interactive viewer's queries on a `NativeSnapshot` (view.rs).
//!
//! It is its own addon, apart from the writer, because it needs nothing of V8: built as plain
//! N-API, one binary loads on every Node.js >= 18, including majors that have no writer build.
//!
//! Numbers (ids, sizes, counts) cross as JS numbers (f64): exact up to 2^53, far beyond any
//! heap. lib/analyzer/analyze.js shapes the arguments and adds the error's `offset` property.

mod allocator;
mod file_sink;
mod profile;
mod view;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use heapsnap_core::read::{self as core, AnalyzeError, HeapGraph};
use napi::bindgen_prelude::{AsyncTask, FnArgs, Function};
use napi_derive::napi;

use heapsnap_napi::CodedTask;

/// `AnalyzeError` -> JS error: `code` is `ERR_HEAPSNAP_CORRUPT_SNAPSHOT` or an errno name
/// (`ENOENT`...), the message names the path and, for corruption, `(at byte N)`.
fn to_js(err: AnalyzeError) -> napi::Error<String> {
    napi::Error::new(err.code().to_string(), err.to_string())
}

fn not_found(id: f64) -> napi::Error<String> {
    napi::Error::new("ERR_HEAPSNAP_NODE_NOT_FOUND".to_string(), format!("no node with id {id} in this snapshot"))
}

fn to_id(id: f64) -> Option<u64> {
    (id.is_finite() && id >= 0.0 && id.fract() == 0.0 && id <= 9_007_199_254_740_991.0).then_some(id as u64)
}

#[napi(object)]
pub struct NativeLocation {
    pub script_id: u32,
    pub line: u32,
    pub column: u32,
}

fn location(l: Option<core::Location>) -> Option<NativeLocation> {
    l.map(|l| NativeLocation { script_id: l.script_id, line: l.line, column: l.column })
}

#[napi(object)]
pub struct NativeClassSummary {
    pub name: String,
    pub location: Option<NativeLocation>,
    pub count: f64,
    pub self_size: f64,
    pub retained_size: f64,
}

fn native_class(c: &core::ClassSummary) -> NativeClassSummary {
    NativeClassSummary {
        name: c.name.clone(),
        location: location(c.location),
        count: c.count as f64,
        self_size: c.self_size as f64,
        retained_size: c.retained_size as f64,
    }
}

#[napi(object)]
pub struct NativeSummary {
    pub node_count: f64,
    pub edge_count: f64,
    pub total_size: f64,
    pub constructors: Vec<NativeClassSummary>,
}

#[napi(object)]
pub struct NativeClassDiff {
    pub name: String,
    pub location: Option<NativeLocation>,
    pub count_delta: f64,
    pub size_delta: f64,
    pub added: f64,
    pub removed: f64,
    pub added_size: f64,
    pub removed_size: f64,
}

#[napi(object)]
pub struct NativeDiff {
    pub constructors: Vec<NativeClassDiff>,
    /// How many counted objects appeared / disappeared (also without the id lists).
    pub added_count: f64,
    pub removed_count: f64,
    pub added_ids: Vec<f64>,
    pub removed_ids: Vec<f64>,
}

#[napi(object)]
pub struct NativeRetainer {
    pub id: f64,
    pub name: String,
    pub class_name: String,
    pub node_type: String,
    pub edge_type: String,
    pub edge_name: String,
    pub self_size: f64,
    pub retained_size: f64,
}

#[napi(object)]
pub struct NativeRetainerGroup {
    pub class_name: String,
    pub edge_type: String,
    pub edge_name: String,
    pub count: f64,
}

#[napi(object)]
pub struct NativeDominatorEntry {
    pub id: f64,
    pub name: String,
    pub class_name: String,
    pub self_size: f64,
    pub retained_size: f64,
}

#[napi(object)]
pub struct NativeLeakGroup {
    pub name: String,
    pub count: f64,
    pub size: f64,
    pub retained_size: f64,
    pub representative_id: f64,
    pub retainer_path: Vec<String>,
    /// Leaked objects of other classes its members hold (see core's `LeakGroup`).
    pub holds: Vec<NativeHeldObjects>,
    /// With allocation traces in C: the stacks that allocated most of the group.
    pub allocation_stacks: Vec<NativeAllocationStack>,
}

/// One frame of an allocation stack (1-based line and column of the function).
#[napi(object)]
pub struct NativeStackFrame {
    pub function_name: String,
    pub url: String,
    pub line: u32,
    pub column: u32,
}

/// Objects allocated by one stack (innermost frame first).
#[napi(object)]
pub struct NativeAllocationStack {
    pub count: f64,
    pub size: f64,
    pub frames: Vec<NativeStackFrame>,
}

fn stack_frame(f: core::StackFrame) -> NativeStackFrame {
    NativeStackFrame { function_name: f.function_name, url: f.url, line: f.line, column: f.column }
}

#[napi(object)]
pub struct NativeHeldObjects {
    pub name: String,
    pub count: f64,
    pub size: f64,
}

fn dominator_entry(d: core::DominatorEntry) -> NativeDominatorEntry {
    NativeDominatorEntry {
        id: d.id as f64,
        name: d.name,
        class_name: d.class_name,
        self_size: d.self_size as f64,
        retained_size: d.retained_size as f64,
    }
}

/// A heap snapshot parsed into heapsnap's compact graph, held natively.
#[napi]
pub struct NativeSnapshot {
    graph: Arc<HeapGraph>,
    summary: Arc<OnceLock<core::Summary>>,
}

impl NativeSnapshot {
    fn new(graph: HeapGraph) -> Self {
        NativeSnapshot { graph: Arc::new(graph), summary: Arc::new(OnceLock::new()) }
    }
}

#[napi]
impl NativeSnapshot {
    /// Reads `.heapsnapshot`, `.heapsnapshot.gz` or `.heapsnapshot.zst` on this thread,
    /// calling `progress(bytesRead, fileBytes)` about every 4 MiB when given.
    #[napi(factory)]
    pub fn read(path: String, progress: Option<Function<FnArgs<(f64, f64)>, ()>>) -> napi::Result<Self, String> {
        let graph = match progress {
            None => core::read_snapshot(Path::new(&path)),
            Some(cb) => core::read_snapshot_with_progress(Path::new(&path), |read, len| {
                // A throwing progress callback must not abort the read; its error is dropped.
                let _ = cb.call((read as f64, len as f64).into());
            }),
        }
        .map_err(to_js)?;
        Ok(NativeSnapshot::new(graph))
    }

    /// Summary view by constructor, sorted by retained size; all rows, or the first `top`.
    #[napi]
    pub fn summary(&self, top: Option<u32>) -> NativeSummary {
        let s = self.summary.get_or_init(|| self.graph.summary());
        let take = top.map_or(usize::MAX, |t| t as usize);
        NativeSummary {
            node_count: s.node_count as f64,
            edge_count: s.edge_count as f64,
            total_size: s.total_size as f64,
            constructors: s
                .constructors
                .iter()
                .take(take)
                .map(native_class)
                .collect(),
        }
    }

    /// What changed from `this` (older) to `other` (newer), by constructor and by node id.
    #[napi]
    /// `ids: false` leaves `addedIds`/`removedIds` empty: between two multi-GB snapshots they
    /// can hold tens of millions of numbers that a caller wanting the counts never reads.
    pub fn diff(&self, other: &NativeSnapshot, ids: Option<bool>) -> NativeDiff {
        let d = core::diff(&self.graph, &other.graph);
        let ids = ids.unwrap_or(true);
        NativeDiff {
            added_count: d.added_ids.len() as f64,
            removed_count: d.removed_ids.len() as f64,
            constructors: d
                .constructors
                .into_iter()
                .map(|c| NativeClassDiff {
                    name: c.name,
                    location: location(c.location),
                    count_delta: c.count_delta as f64,
                    size_delta: c.size_delta as f64,
                    added: c.added as f64,
                    removed: c.removed as f64,
                    added_size: c.added_size as f64,
                    removed_size: c.removed_size as f64,
                })
                .collect(),
            added_ids: if ids { d.added_ids.into_iter().map(|i| i as f64).collect() } else { Vec::new() },
            removed_ids: if ids { d.removed_ids.into_iter().map(|i| i as f64).collect() } else { Vec::new() },
        }
    }

    /// Who holds the node with this id (`ERR_HEAPSNAP_NODE_NOT_FOUND` if there is none).
    #[napi]
    pub fn retainers(&self, id: f64) -> napi::Result<Vec<NativeRetainer>, String> {
        let list = to_id(id).and_then(|id| self.graph.retainers(id)).ok_or_else(|| not_found(id))?;
        Ok(list
            .into_iter()
            .map(|r| NativeRetainer {
                id: r.id as f64,
                name: r.name,
                class_name: r.class_name,
                node_type: r.node_type,
                edge_type: r.edge_type,
                edge_name: r.edge_name,
                self_size: r.self_size as f64,
                retained_size: r.retained_size as f64,
            })
            .collect())
    }

    /// Where the node with this id was allocated, innermost frame first: `null` when the
    /// snapshot has no allocation traces or the object predates tracking.
    #[napi]
    pub fn allocation_stack(&self, id: f64) -> napi::Result<Option<Vec<NativeStackFrame>>, String> {
        let ord = to_id(id).and_then(|id| self.graph.find_node(id)).ok_or_else(|| not_found(id))?;
        Ok(self.graph.allocation_stack(ord).map(|frames| frames.into_iter().map(stack_frame).collect()))
    }

    /// Whether V8 tracked allocations when it took the snapshot.
    #[napi(getter)]
    pub fn has_allocation_traces(&self) -> bool {
        self.graph.has_allocation_traces()
    }

    /// Who holds the objects of a class, grouped by holder class and edge.
    #[napi]
    pub fn retainers_by_class(&self, name: String) -> Vec<NativeRetainerGroup> {
        self.graph
            .retainers_by_class(&name)
            .into_iter()
            .map(|g| NativeRetainerGroup {
                class_name: g.class_name,
                edge_type: g.edge_type,
                edge_name: g.edge_name,
                count: g.count as f64,
            })
            .collect()
    }

    /// Dominator chain of a node: the node first, the root last.
    #[napi]
    pub fn dominators(&self, id: f64) -> napi::Result<Vec<NativeDominatorEntry>, String> {
        let chain = to_id(id).and_then(|id| self.graph.dominators(id)).ok_or_else(|| not_found(id))?;
        Ok(chain.into_iter().map(dominator_entry).collect())
    }

    /// Nodes immediately dominated by `id` (the root when absent), largest first, at most `limit`.
    #[napi]
    pub fn dominated(&self, id: Option<f64>, limit: u32) -> napi::Result<Vec<NativeDominatorEntry>, String> {
        let node = match id {
            None => None,
            Some(id) => Some(to_id(id).ok_or_else(|| not_found(id))?),
        };
        let list = self.graph.dominated(node, limit as usize).ok_or_else(|| not_found(id.unwrap_or(-1.0)))?;
        Ok(list.into_iter().map(dominator_entry).collect())
    }

    #[napi(getter)]
    pub fn node_count(&self) -> f64 {
        self.graph.node_count() as f64
    }

    #[napi(getter)]
    pub fn edge_count(&self) -> f64 {
        self.graph.edge_count() as f64
    }
}

/// Three-snapshot leak candidates: allocated between `a` and `b`, still alive in `c`.
#[napi]
pub fn leaks(a: &NativeSnapshot, b: &NativeSnapshot, c: &NativeSnapshot) -> Vec<NativeLeakGroup> {
    core::leaks(&a.graph, &b.graph, &c.graph)
        .into_iter()
        .map(|l| NativeLeakGroup {
            name: l.name,
            count: l.count as f64,
            size: l.size as f64,
            retained_size: l.retained_size as f64,
            representative_id: l.representative_id as f64,
            retainer_path: l.retainer_path,
            holds: l
                .holds
                .into_iter()
                .map(|h| NativeHeldObjects { name: h.name, count: h.count as f64, size: h.size as f64 })
                .collect(),
            allocation_stacks: l
                .allocation_stacks
                .into_iter()
                .map(|s| NativeAllocationStack {
                    count: s.count as f64,
                    size: s.size as f64,
                    frames: s.frames.into_iter().map(stack_frame).collect(),
                })
                .collect(),
        })
        .collect()
}

// ---- growth by holder (core's `holders`) ----

/// A collection that grew in every interval (see core's `GrowingHolder`).
#[napi(object)]
pub struct NativeGrowingHolder {
    pub name: String,
    pub class_name: String,
    pub id: f64,
    pub entries: Vec<f64>,
    pub size: Vec<f64>,
    pub entries_growth: f64,
    pub size_growth: f64,
    pub retained_size: f64,
    pub added_retained_size: f64,
    pub retainer_path: Vec<String>,
}

/// Collections that grew across two or three snapshots of one process (oldest first), the
/// largest growth first.
#[napi]
pub fn holders(a: &NativeSnapshot, b: &NativeSnapshot, c: Option<&NativeSnapshot>) -> Vec<NativeGrowingHolder> {
    let mut series: Vec<&HeapGraph> = vec![&a.graph, &b.graph];
    series.extend(c.map(|c| &*c.graph));
    let f = |v: Vec<u64>| v.into_iter().map(|x| x as f64).collect();
    core::holders(&series)
        .into_iter()
        .map(|h| NativeGrowingHolder {
            name: h.name,
            class_name: h.class_name,
            id: h.id as f64,
            entries: f(h.entries),
            size: f(h.size),
            entries_growth: h.entries_growth as f64,
            size_growth: h.size_growth as f64,
            retained_size: h.retained_size as f64,
            added_retained_size: h.added_retained_size as f64,
            retainer_path: h.retainer_path,
        })
        .collect()
}

/// Reads a snapshot on the libuv pool, and computes its dominator tree and summary there too,
/// so the JS thread never waits for either.
#[napi(ts_return_type = "Promise<NativeSnapshot>")]
pub fn read_snapshot_async(path: String) -> AsyncTask<CodedTask<NativeSnapshot>> {
    CodedTask::spawn(move || {
        let snap = NativeSnapshot::new(core::read_snapshot(Path::new(&path)).map_err(to_js)?);
        let _ = snap.summary.set(snap.graph.summary());
        Ok(snap)
    })
}

/// WASI keeps a working directory of its own (`/` at start): the WebAssembly build's loader
/// (lib/loader/wasm.js) sets it to the host process's before each call that takes a path, so
/// relative paths mean what they mean to the native analyzer, and messages name them as given.
#[cfg(target_os = "wasi")]
#[napi]
pub fn wasi_set_cwd(dir: String) -> napi::Result<(), String> {
    std::env::set_current_dir(&dir).map_err(|e| napi::Error::new("ERR_HEAPSNAP_IO".to_string(), format!("cannot use '{dir}' as the working directory: {e}")))
}

/// Shape of a synthetic snapshot (see `heapsnap_core::read::synth::SynthSpec`).
#[napi(object)]
pub struct NativeSynthSpec {
    pub holders: f64,
    pub items_per_holder: u32,
    pub item_classes: u32,
    pub string_len: u32,
    pub id_base: f64,
    pub big_native: f64,
}

/// Tests and benchmarks only (not part of the public API): streams a synthetic snapshot whose
/// Summary is known by construction to `path` and returns that Summary, so the suite can
/// check the released analyzer on inputs past 2^24 nodes without a V8 heap that large.
#[napi]
pub fn write_synthetic_snapshot(path: String, spec: NativeSynthSpec) -> napi::Result<NativeSummary, String> {
    let spec = heapsnap_core::read::synth::SynthSpec {
        holders: spec.holders as u64,
        items_per_holder: spec.items_per_holder,
        item_classes: spec.item_classes,
        string_len: spec.string_len as usize,
        id_base: spec.id_base as u64,
        big_native: spec.big_native as u64,
    };
    spec.write_file(Path::new(&path)).map_err(to_js)?;
    let e = spec.expected();
    let row = |c: &heapsnap_core::read::synth::SynthClass| core::ClassSummary {
        name: c.name.clone(),
        location: None,
        count: c.count,
        self_size: c.self_size,
        retained_size: c.retained_size,
    };
    Ok(NativeSummary {
        node_count: e.node_count as f64,
        edge_count: e.edge_count as f64,
        total_size: e.total_size as f64,
        constructors: e.constructors.iter().map(|c| native_class(&row(c))).collect(),
    })
}
