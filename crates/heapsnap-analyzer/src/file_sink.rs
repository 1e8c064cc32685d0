//! The file sink (`fileSinkCreate`... by handle, the object `NativeFileSink` of
//! lib/loader/file-sink.js in JavaScript): heapsnap's snapshot sink (heapsnap-core's
//! `SnapshotSink`: gzip/zstd, an unnamed 0600 file in the target's directory, fsync, named only
//! once complete) for snapshot bytes that arrive in JavaScript, such as the chunks Node's
//! inspector streams out of another process (lib/operator/inspector-dump.js).
//!
//! It lives in the ABI-free analyzer addon, not in the writer, so that it works on every
//! Node.js from 18 on, whether or not a writer was built for that major: dumping another
//! process through its inspector needs nothing of this process's V8. The portable writer
//! (lib/writer/portable.js: this process's own snapshots through Node's in-process inspector,
//! where no native writer loads) writes through it too, with the naming of native dumps
//! (`dir`, `{tid}`, heapdump's default name, the profile template), `finishSync` for the
//! synchronous `writeSnapshot`, and `checkHeadroom`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

use heapsnap_core::write::error::Error as CoreError;
use heapsnap_core::write::headroom::{self, Decision};
use heapsnap_core::write::naming::{self, NameContext, WriteRequest, DEFAULT_TEMPLATE, PROFILE_TEMPLATE};
use heapsnap_core::write::sink::{SinkOptions, SinkStats, SnapshotSink};
use heapsnap_core::write::space::{self, NoSpace};
use napi::bindgen_prelude::{AsyncTask, BufferSlice};
use napi_derive::napi;

use heapsnap_napi::CodedTask;

/// Code for calls on a sink that is already finished or aborted.
const CLOSED: &str = "ERR_HEAPSNAP_SINK_CLOSED";

/// Sink errors keep their stable code (`ENOENT`, `EACCES`, `ENOSPC`...,
/// `ERR_HEAPSNAP_INVALID_OPTION`) and Node-style message (`ENOENT: no such file or directory,
/// open '/x/a.heapsnapshot'`).
fn to_js(err: CoreError) -> napi::Error<String> {
    napi::Error::new(err.code().to_string(), err.to_string())
}

/// Where and how to write, as `fileSinkCreate` takes it.
#[napi(object)]
pub struct NativeFileSinkOptions {
    /// File name or template; `None` for heapsnap's default name in the cwd.
    pub path: Option<String>,
    /// `"gzip"`, `"zstd"` or `"none"`; inferred from a `.gz` / `.zst` path when absent.
    pub compress: Option<String>,
    pub level: Option<i32>,
    /// The pid the snapshot is of, for `{pid}` in templates and default names (the dumped
    /// process, not this one); this process's when absent.
    pub pid: Option<u32>,
    /// Replace string values by placeholders while writing (heapsnap-core's `redact`).
    pub redact: Option<bool>,
    /// Where relative names go; the cwd when absent.
    pub dir: Option<String>,
    /// The JS thread (`{tid}`): the worker's `threadId`, 0 on the main thread.
    pub thread_id: Option<u32>,
    /// With no path, heapdump's default name (`writeSnapshot()`, signal dumps).
    pub heapdump_default: Option<bool>,
    /// `"profile"`: with no path, the default name of a sampling heap profile
    /// (`.heapprofile`); a snapshot's otherwise.
    pub kind: Option<String>,
}

/// What a finished file amounts to.
#[napi(object)]
pub struct NativeFileSinkStats {
    pub path: String,
    /// Bytes on disk, after compression.
    pub bytes: f64,
    /// Bytes written to the sink, before compression.
    pub raw_bytes: f64,
    pub compression: String,
    /// Problems that did not fail the write (a directory writable by others, a failed
    /// directory fsync after the rename).
    pub warnings: Vec<String>,
}

impl From<SinkStats> for NativeFileSinkStats {
    fn from(stats: SinkStats) -> Self {
        NativeFileSinkStats {
            path: stats.path.to_string_lossy().into_owned(),
            bytes: stats.bytes as f64,
            raw_bytes: stats.raw_bytes as f64,
            compression: stats.compression.as_str().to_string(),
            warnings: stats.warnings,
        }
    }
}

/// What the free-space check saw: the estimated file and what the filesystem had left
/// (`null` when it does not say).
#[napi(object)]
pub struct NativeSpaceCheck {
    pub estimated: f64,
    pub available: Option<f64>,
}

/// A sink as `fileSinkCreate` opens it: the number the other calls take, and the path the
/// file gets once finished.
#[napi(object)]
pub struct NativeFileSinkOpened {
    pub handle: u32,
    pub path: String,
}

/// The sinks being written, by handle. JavaScript holds a number (lib/loader/file-sink.js
/// makes an object of it), not an object napi wraps: in the WebAssembly build a wrapped object
/// stays alive to the end of the JS task (emnapi holds it through a WeakRef) and its entry in
/// emnapi's reference store until a later task finalizes it, so a leak analysis of a process
/// that dumped counted those as allocated by each dump.
static OPEN: Mutex<BTreeMap<u32, SnapshotSink>> = Mutex::new(BTreeMap::new());
static NEXT_HANDLE: AtomicU32 = AtomicU32::new(1);

fn open_sinks() -> MutexGuard<'static, BTreeMap<u32, SnapshotSink>> {
    OPEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The sink of `handle`, out of the table (a call that blocks, on a full queue, holds no lock).
fn take(handle: u32) -> napi::Result<SnapshotSink, String> {
    open_sinks().remove(&handle).ok_or_else(|| {
        napi::Error::new(CLOSED.to_string(), format!("no snapshot file is being written as handle {handle}: finished or aborted"))
    })
}

/// `f` on the sink of `handle`, which stays open.
fn with_sink<R>(handle: u32, f: impl FnOnce(&mut SnapshotSink) -> R) -> napi::Result<R, String> {
    let mut sink = take(handle)?;
    let result = f(&mut sink);
    open_sinks().insert(handle, sink);
    Ok(result)
}

/// Opens a snapshot file to be written from JavaScript: decides the name and compression as
/// every heapsnap write does (heapsnap-core's `naming::plan`), then creates the temp file at
/// once, so a bad path fails before anyone spends seconds producing a snapshot. Until
/// `fileSinkFinish` resolves the target path is untouched; `fileSinkAbort` removes the temp file.
#[napi]
pub fn file_sink_create(options: NativeFileSinkOptions) -> napi::Result<NativeFileSinkOpened, String> {
    let tid = options.thread_id.unwrap_or(0);
    let context = match options.pid {
        Some(pid) => NameContext { pid, ..NameContext::now(tid) },
        None => NameContext::now(tid),
    };
    let request = WriteRequest {
        path: options.path,
        dir: options.dir,
        compress: options.compress,
        level: options.level,
        heapdump_default: options.heapdump_default.unwrap_or(false),
    };
    let template = match options.kind.as_deref() {
        None | Some("snapshot") => DEFAULT_TEMPLATE,
        Some("profile") => PROFILE_TEMPLATE,
        Some(other) => {
            return Err(napi::Error::new(
                "ERR_HEAPSNAP_INVALID_OPTION".to_string(),
                format!("kind must be 'snapshot' or 'profile', got '{other}'"),
            ))
        }
    };
    let plan = naming::plan_named(&request, &context, template).map_err(to_js)?;
    let sink_options = SinkOptions {
        compression: plan.compression,
        level: plan.level,
        redact: options.redact.unwrap_or(false),
        ..SinkOptions::default()
    };
    let sink = SnapshotSink::create(&plan.target, sink_options).map_err(to_js)?;
    let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
    open_sinks().insert(handle, sink);
    Ok(NativeFileSinkOpened { handle, path: plan.target.to_string_lossy().into_owned() })
}

/// The free-space check every dump makes (heapsnap-core's `space`), for a heap with
/// `usedHeapBytes` in use: fails with `ERR_HEAPSNAP_NO_SPACE` when the estimated file does
/// not fit in what the target's filesystem has left, unless `force`.
#[napi]
pub fn file_sink_check_space(handle: u32, used_heap_bytes: f64, force: bool) -> napi::Result<NativeSpaceCheck, String> {
    match with_sink(handle, |sink| space::check(sink, used_heap_bytes.max(0.0) as u64, force))? {
        Ok(fits) => Ok(NativeSpaceCheck { estimated: fits.estimated as f64, available: fits.available.map(|a| a as f64) }),
        Err(refusal) => Err(napi::Error::new(NoSpace::CODE.to_string(), refusal.to_string())),
    }
}

/// Copies `chunk` for the writer thread, which compresses and writes it. Blocks only while
/// the writer is a full queue (8 MiB) behind: that bounds memory, whatever the snapshot's
/// size. After a write error (e.g. ENOSPC) every call fails with it.
#[napi]
pub fn file_sink_write(handle: u32, chunk: BufferSlice) -> napi::Result<(), String> {
    with_sink(handle, |sink| sink.write(&chunk))?.map_err(to_js)
}

/// WebAssembly: where JavaScript copies each chunk for `fileSinkWriteStaged` (lib/loader/wasm.js),
/// made once when the module loads, at least `len` bytes, and never moved: no chunk grows the
/// module's memory during a snapshot (the loader splits larger ones). The two other ways in
/// cost more: a Buffer handed to emnapi is copied into memory freed only once that Buffer is
/// collected, after the dump (the memory grew by the snapshot's size, each growth a new
/// SharedArrayBuffer in the next snapshot), and a Latin-1 string is copied a byte at a time by
/// JavaScript (writes took twice as long as `v8.writeHeapSnapshot`).
#[cfg(target_family = "wasm")]
static STAGING: Mutex<Vec<u8>> = Mutex::new(Vec::new());

#[cfg(target_family = "wasm")]
#[napi]
pub fn file_sink_staging(len: u32) -> napi::Result<u32, String> {
    let mut staging = STAGING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if staging.is_empty() {
        *staging = vec![0; len as usize];
    }
    // Never grown: JavaScript keeps a view of where it is.
    if staging.len() < len as usize {
        return Err(napi::Error::new(
            "ERR_HEAPSNAP_INVALID_OPTION".to_string(),
            format!("the staging area is {} bytes, {len} asked for", staging.len()),
        ));
    }
    Ok(staging.as_mut_ptr() as usize as u32)
}

/// `fileSinkWrite` of the first `len` bytes staged (`fileSinkStaging`).
#[cfg(target_family = "wasm")]
#[napi]
pub fn file_sink_write_staged(handle: u32, len: u32) -> napi::Result<(), String> {
    let staging = STAGING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let bytes = staging.get(..len as usize).ok_or_else(|| {
        napi::Error::new("ERR_HEAPSNAP_INVALID_OPTION".to_string(), format!("{len} bytes staged, {} there", staging.len()))
    })?;
    with_sink(handle, |sink| sink.write(bytes))?.map_err(to_js)
}

/// Flushes, fsyncs and renames the file into place on the libuv pool; resolves with its
/// stats. On failure the temp file is removed and the target left as it was.
#[napi(ts_return_type = "Promise<NativeFileSinkStats>")]
pub fn file_sink_finish(handle: u32) -> napi::Result<AsyncTask<CodedTask<NativeFileSinkStats>>, String> {
    let sink = take(handle)?;
    Ok(CodedTask::spawn(move || Ok(sink.finish().map_err(to_js)?.into())))
}

/// `fileSinkFinish` on the calling thread, for the synchronous `writeSnapshot`.
#[napi]
pub fn file_sink_finish_sync(handle: u32) -> napi::Result<NativeFileSinkStats, String> {
    Ok(take(handle)?.finish().map_err(to_js)?.into())
}

/// Abandons the file: stops the writer and removes the temp file. Does nothing once
/// finished or aborted, so cleanup paths may call it unconditionally.
#[napi]
pub fn file_sink_abort(handle: u32) {
    if let Ok(sink) = take(handle) {
        sink.abort();
    }
}

/// A task that does nothing: the first task starts the async pool's threads, which the
/// portable writer wants started before the snapshot whose file a task then finishes (in the
/// WebAssembly build each is a Node worker in that process's heap). Resolves to true.
#[napi(ts_return_type = "Promise<boolean>")]
pub fn start_async_pool() -> AsyncTask<CodedTask<bool>> {
    CodedTask::spawn(|| Ok(true))
}

/// Removes the temp files of sinks still being written; for a process that is exiting.
#[napi]
pub fn abandon_unfinished_sinks() -> u32 {
    heapsnap_core::write::sink::remove_unfinished_temp_files() as u32
}

/// The headroom check's figures (heapsnap-core's `headroom`), in bytes.
#[napi(object)]
pub struct NativeHeadroom {
    /// What a snapshot of the heap is estimated to add to the peak RSS.
    pub estimated: f64,
    /// What the process may still use; `null` when nothing tells (then nothing is refused).
    pub available: Option<f64>,
    /// Where `available` comes from: `memoryLimit`, `cgroup`, `cgroup v1`, `MemAvailable`.
    pub source: Option<String>,
    pub cgroup_limit: Option<f64>,
    /// The refusal's message when the snapshot does not fit (and `force` was not given).
    pub refusal: Option<String>,
}

/// The headroom check every native dump makes before its snapshot, for a heap with
/// `usedHeapBytes` in use in a process of `rss` bytes: what the snapshot needs against what
/// the process may still use (`memoryLimit - rss`, else its cgroup's room and the machine's
/// `MemAvailable`). Reports rather than throws: the caller makes the coded error.
#[napi]
pub fn check_headroom(used_heap_bytes: f64, rss: Option<f64>, memory_limit: Option<f64>, force: bool) -> NativeHeadroom {
    let root = Path::new("/");
    let rss = rss.map(|bytes| bytes.max(0.0) as u64).or_else(|| headroom::current_rss(root));
    let room = headroom::headroom(root, memory_limit.map(|bytes| bytes.max(0.0) as u64), rss);
    let estimated = headroom::estimate(used_heap_bytes.max(0.0) as u64);
    let refusal = match headroom::decide(estimated, room.as_ref(), force) {
        Decision::Go => None,
        Decision::Refuse { estimated, available, source } => Some(format!(
            "not enough memory for a heap snapshot: it needs about {} more, {} available ({}); force: true dumps anyway",
            headroom::human_bytes(estimated),
            headroom::human_bytes(available),
            source.as_str()
        )),
    };
    NativeHeadroom {
        estimated: estimated as f64,
        available: room.map(|room| room.available as f64),
        source: room.map(|room| room.source.as_str().to_string()),
        cgroup_limit: room.and_then(|room| room.cgroup_limit).map(|limit| limit as f64),
        refusal,
    }
}
