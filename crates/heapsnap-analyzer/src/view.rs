//! The interactive viewer's queries (`heapsnap view`, lib/viewer/): heapsnap-core's `browse`
//! and `details` on a `NativeSnapshot`, each answered as JSON text.
//!
//! Why JSON text rather than JS objects like the rest of this addon: the server sends each
//! answer to the page as it is, so serde writes it once and no JS object is built per row
//! and then serialized again. Ids and sizes are JSON integers (the page reads them as
//! numbers, exact up to 2^53 like the rest of the JS API).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use heapsnap_core::read::{self as core, HeapGraph, Location, PageRequest, SortBy};
use heapsnap_napi::CodedTask;
use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use crate::{not_found, to_id, to_js, NativeLocation, NativeSnapshot};

fn json<T: serde::Serialize>(value: &T) -> napi::Result<String, String> {
    serde_json::to_string(value).map_err(|e| napi::Error::new("ERR_HEAPSNAP_INTERNAL".to_string(), e.to_string()))
}

fn invalid(message: String) -> napi::Error<String> {
    napi::Error::new("ERR_HEAPSNAP_INVALID_OPTION".to_string(), message)
}

fn request(sort: &str, descending: bool, offset: u32, limit: u32) -> napi::Result<PageRequest, String> {
    let sort = SortBy::parse(sort).ok_or_else(|| invalid(format!("sort must be id, distance, selfSize or retainedSize, got '{sort}'")))?;
    Ok(PageRequest { sort, descending, offset: offset as usize, limit: limit as usize })
}

fn node_id(id: f64) -> napi::Result<u64, String> {
    to_id(id).ok_or_else(|| not_found(id))
}

fn found<T: serde::Serialize>(value: Option<T>, id: f64) -> napi::Result<String, String> {
    json(&value.ok_or_else(|| not_found(id))?)
}

#[napi]
impl NativeSnapshot {
    /// Computes on the libuv pool what the queries below use (see `prepare_browsing`), so a
    /// server's event loop stays free while a big snapshot is prepared.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn view_prepare(&self) -> AsyncTask<CodedTask<bool>> {
        let graph = Arc::clone(&self.graph);
        CodedTask::spawn(move || {
            graph.prepare_browsing();
            Ok(true)
        })
    }

    /// The Summary's rows with class keys and DevTools' distances, as JSON.
    #[napi]
    pub fn view_classes(&self) -> napi::Result<String, String> {
        json(&self.graph.class_rows())
    }

    /// One page of a class's instances (`key` from `viewClasses`), as JSON.
    #[napi]
    pub fn view_instances(&self, key: u32, sort: String, descending: bool, offset: u32, limit: u32) -> napi::Result<String, String> {
        let req = request(&sort, descending, offset, limit)?;
        let page = self.graph.instances(key, &req).ok_or_else(|| invalid(format!("no class with key {key} in this snapshot")))?;
        json(&page)
    }

    /// The object with this id as a row, as JSON (`ERR_HEAPSNAP_NODE_NOT_FOUND` if none).
    #[napi]
    pub fn view_node(&self, id: f64) -> napi::Result<String, String> {
        found(self.graph.find_row(node_id(id)?), id)
    }

    /// One page of the edges holding the object (preferred path first, then by distance).
    #[napi]
    pub fn view_retainers(&self, id: f64, offset: u32, limit: u32) -> napi::Result<String, String> {
        found(self.graph.retainer_edges(node_id(id)?, offset as usize, limit as usize), id)
    }

    /// The whole value of the string object `id` when the graph keeps only its first bytes,
    /// read back from `path` (this snapshot's file) on the libuv pool: one pass over the
    /// file in constant memory. Resolves to `null` when the graph already has all of it.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn view_full_string(&self, path: String, id: f64) -> napi::Result<AsyncTask<CodedTask<Option<String>>>, String> {
        let graph = Arc::clone(&self.graph);
        let id = node_id(id)?;
        graph.find_node(id).ok_or_else(|| not_found(id as f64))?;
        Ok(CodedTask::spawn(move || match graph.cut_string_index(id) {
            None => Ok(None),
            Some(index) => core::read_string_at(Path::new(&path), index).map_err(to_js),
        }))
    }

    /// The Retainers view with the objects `ids` hidden (DevTools' "ignore this retainer"):
    /// distances recomputed without them, kept in the returned object for the clicks after.
    #[napi]
    pub fn view_ignoring(&self, ids: Vec<f64>) -> napi::Result<NativeRetainerView, String> {
        let ids: Vec<u64> = ids.into_iter().map(node_id).collect::<Result<_, _>>()?;
        Ok(NativeRetainerView { graph: Arc::clone(&self.graph), distances: self.graph.distances_ignoring(&ids) })
    }

    /// One page of the edges the object holds, in snapshot order.
    #[napi]
    pub fn view_edges(&self, id: f64, offset: u32, limit: u32) -> napi::Result<String, String> {
        found(self.graph.outgoing_edges(node_id(id)?, offset as usize, limit as usize), id)
    }

    /// One page of the dominator tree's children of `id` (the root when absent), largest first.
    #[napi]
    pub fn view_dominated(&self, id: Option<f64>, offset: u32, limit: u32) -> napi::Result<String, String> {
        let node = id.map(node_id).transpose()?;
        found(self.graph.dominated_rows(node, offset as usize, limit as usize), id.unwrap_or(-1.0))
    }

    /// An object's details (string value, closure variables and source, Map/Set entries,
    /// array elements, EventEmitter listeners, allocation stack), as JSON.
    #[napi]
    pub fn view_details(&self, id: f64) -> napi::Result<String, String> {
        found(self.graph.details(node_id(id)?), id)
    }
}

/// A snapshot's Retainers view with some retainers hidden (see `viewIgnoring`).
#[napi]
pub struct NativeRetainerView {
    graph: Arc<HeapGraph>,
    distances: core::Distances,
}

#[napi]
impl NativeRetainerView {
    /// One page of the edges holding the object, ranked with the hidden retainers' distances.
    #[napi]
    pub fn retainers(&self, id: f64, offset: u32, limit: u32) -> napi::Result<String, String> {
        found(self.graph.retainer_edges_ignoring(node_id(id)?, offset as usize, limit as usize, &self.distances), id)
    }
}

/// How far a `viewReadAsync` has read: bytes of the file so far, of `fileBytes` (compressed
/// bytes for a compressed file). Updated from the libuv pool, read from JS at any time.
#[napi]
#[derive(Default)]
pub struct NativeReadProgress {
    read: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
}

#[napi]
impl NativeReadProgress {
    #[napi(constructor)]
    pub fn new() -> Self {
        NativeReadProgress::default()
    }

    #[napi(getter)]
    pub fn bytes_read(&self) -> f64 {
        self.read.load(Ordering::Relaxed) as f64
    }

    #[napi(getter)]
    pub fn file_bytes(&self) -> f64 {
        self.total.load(Ordering::Relaxed) as f64
    }
}

/// Reads a snapshot on the libuv pool, reporting progress in `progress`, then computes its
/// summary and distances there too (`prepare_summary`; `viewPrepare` does the rest): the
/// viewer's load, with a progress bar and an event loop that stays free to serve it.
#[napi(ts_return_type = "Promise<NativeSnapshot>")]
pub fn view_read_async(path: String, progress: &NativeReadProgress) -> AsyncTask<CodedTask<NativeSnapshot>> {
    let (read, total) = (Arc::clone(&progress.read), Arc::clone(&progress.total));
    CodedTask::spawn(move || {
        let graph = core::read_snapshot_with_progress(Path::new(&path), |r, t| {
            read.store(r, Ordering::Relaxed);
            total.store(t, Ordering::Relaxed);
        })
        .map_err(to_js)?;
        let snap = NativeSnapshot::new(graph);
        let _ = snap.summary.set(snap.graph.summary());
        snap.graph.prepare_summary();
        Ok(snap)
    })
}

fn core_location(l: Option<NativeLocation>) -> Option<Location> {
    l.map(|l| Location { script_id: l.script_id, line: l.line, column: l.column })
}

/// One page of the objects of a class in `other` that are not objects of it in `base` (a
/// Comparison row's new objects; swapped, its deleted ones), as JSON.
#[napi]
#[allow(clippy::too_many_arguments)] // the page's query, flat as it crosses from JS
pub fn view_objects_not_in(
    base: &NativeSnapshot,
    other: &NativeSnapshot,
    name: String,
    location: Option<NativeLocation>,
    sort: String,
    descending: bool,
    offset: u32,
    limit: u32,
) -> napi::Result<String, String> {
    let req = request(&sort, descending, offset, limit)?;
    let (b, o): (&HeapGraph, &HeapGraph) = (&base.graph, &other.graph);
    json(&core::objects_not_in(b, o, &name, core_location(location), &req))
}
