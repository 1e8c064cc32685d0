//! heapsnap's writer addon: the JS surface only. The work is in plain modules: `dump` (one
//! heap dump), `v8` (the C++ boundary), `options` (JS options to a dump request), and the
//! V8-free crate `heapsnap-core` (sink, naming). It is built once per Node ABI because of the
//! V8 shim; the analyzer is a separate, ABI-free addon (crates/heapsnap-analyzer).

mod dump;
mod error;
mod headroom;
mod line_ends;
mod near_limit;
mod options;
mod profile;
mod remote;
mod signal;
mod space;
mod v8;

use std::cell::Cell;

use napi::bindgen_prelude::AsyncTask;
use napi::Env;
use napi_derive::napi;

use crate::error::DumpError;
use crate::options::{NativeWriteOptions, SnapshotInfo};
use heapsnap_napi::CodedTask;

fn current_isolate() -> Result<v8::Isolate, DumpError> {
    v8::Isolate::current().ok_or(DumpError::NoIsolate)
}

/// Writes a heap snapshot synchronously and returns where it went.
#[napi]
pub fn write_snapshot_sync(options: NativeWriteOptions) -> napi::Result<SnapshotInfo, String> {
    let request = options.into_request()?;
    Ok(dump::write_now(&current_isolate()?, &request)?.into())
}

/// Takes and serializes the snapshot now (the JS thread must), then finishes the file on the
/// libuv pool; the promise resolves once it is complete and renamed into place.
#[napi(ts_return_type = "Promise<SnapshotInfo>")]
pub fn write_snapshot_async(options: NativeWriteOptions) -> napi::Result<AsyncTask<CodedTask<SnapshotInfo>>, String> {
    let request = options.into_request()?;
    let captured = dump::capture(&current_isolate()?, &request)?;
    Ok(CodedTask::spawn(move || Ok(captured.finish()?.into())))
}

thread_local! {
    /// Whether this thread's environment already has its teardown hook.
    static CLEANUP_HOOKED: Cell<bool> = const { Cell::new(false) };
}

/// Dumps this thread's heap on `signal` (a number), even during a busy loop. Replaces this
/// environment's previous handler.
#[napi]
pub fn install_signal_handler(env: Env, signal: i32, options: NativeWriteOptions, quiet: bool) -> napi::Result<(), String> {
    let isolate = current_isolate()?;
    let uv_loop = env.get_uv_event_loop().map_err(|err| DumpError::Signal(err.reason))?;
    hook_teardown(&env)?;
    // SAFETY: `uv_loop` is this environment's loop, and the teardown hook uninstalls on
    // this thread before the loop closes.
    unsafe { signal::install(&isolate, uv_loop.cast(), signal, dump::TriggerOptions { write: options, quiet }) }?;
    Ok(())
}

/// Writes a snapshot when V8 is about to run out of heap, up to `max_dumps` times, then lets
/// the process fail as it would have.
#[napi]
pub fn on_near_heap_limit(env: Env, options: NativeWriteOptions, quiet: bool, max_dumps: u32) -> napi::Result<(), String> {
    let isolate = current_isolate()?;
    hook_teardown(&env)?;
    near_limit::install(&isolate, dump::TriggerOptions { write: options, quiet }, max_dumps)?;
    Ok(())
}

/// Triggers must be gone before this environment's isolate and loop are (worker exit).
fn hook_teardown(env: &Env) -> Result<(), DumpError> {
    if !CLEANUP_HOOKED.with(|hooked| hooked.replace(true)) {
        // The handler must be gone before this environment's loop closes (worker exit).
        env.add_env_cleanup_hook((), |()| {
            signal::uninstall();
            if let Some(isolate) = v8::Isolate::current() {
                near_limit::uninstall(&isolate);
            }
        })
        .map_err(|err| DumpError::Signal(err.reason))?;
    }
    Ok(())
}

/// Removes this environment's signal handler; returns whether there was one.
#[napi]
pub fn remove_signal_handler() -> bool {
    let installed = signal::is_installed();
    signal::uninstall();
    installed
}

/// Removes the temp files of dumps still being written; for a process that is exiting.
#[napi]
pub fn abandon_unfinished_dumps() -> u32 {
    heapsnap_core::sink::remove_unfinished_temp_files() as u32
}

/// The numbers of this thread's last `ERR_HEAPSNAP_NO_HEADROOM` or `ERR_HEAPSNAP_NO_SPACE`
/// refusal (read once), for the JS error's `estimatedBytes` and `availableBytes`.
#[napi(object)]
pub struct HeadroomRefusal {
    pub estimated_bytes: f64,
    pub available_bytes: f64,
}

#[napi]
pub fn take_headroom_refusal() -> Option<HeadroomRefusal> {
    headroom::take_last_refusal()
        .map(|refusal| HeadroomRefusal { estimated_bytes: refusal.estimated as f64, available_bytes: refusal.available as f64 })
}

/// A full garbage collection, with or without `--expose-gc`.
#[napi]
pub fn gc() -> napi::Result<(), String> {
    current_isolate()?.full_gc();
    Ok(())
}

/// What the shim was built against, so index.js can refuse a build for another Node major.
#[napi(object)]
pub struct NativeBuildInfo {
    pub node_module_version: i32,
    pub v8_major: i32,
}

#[napi]
pub fn native_build_info() -> NativeBuildInfo {
    NativeBuildInfo { node_module_version: v8::built_for_module_version(), v8_major: v8::built_for_v8_major() }
}

/// What a line-end warm-up did (see src/line_ends.rs): a diagnostic for tests and benchmarks,
/// not part of the JS API.
#[napi(object)]
pub struct LineEndWarmupInfo {
    /// `warmed`, `not-needed` (V8 >= 12), `unavailable` (no debug interface here) or `off`.
    pub status: String,
    pub scripts: u32,
    /// Sum of the scripts' last line numbers: about how many lines were scanned.
    pub lines: f64,
    pub duration_ms: f64,
}

impl From<line_ends::WarmupRecord> for LineEndWarmupInfo {
    fn from(record: line_ends::WarmupRecord) -> Self {
        let (scripts, lines) = record.scripts_and_lines();
        LineEndWarmupInfo {
            status: record.status().to_string(),
            scripts,
            lines: lines as f64,
            duration_ms: record.duration.as_secs_f64() * 1e3,
        }
    }
}

/// The warm-up before this thread's last dump (signal and near-heap-limit ones included).
#[napi]
pub fn last_line_end_warmup() -> Option<LineEndWarmupInfo> {
    line_ends::last().map(Into::into)
}

/// Warms this thread's script line ends now, as a dump would.
#[napi]
pub fn warm_line_ends() -> napi::Result<LineEndWarmupInfo, String> {
    Ok(line_ends::warm(&current_isolate()?).into())
}
