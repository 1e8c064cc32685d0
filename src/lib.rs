//! heapsnap's writer addon: the JS surface only. The work is in plain modules: `dump` (one
//! heap dump), `v8` (the C++ boundary), `options` (JS options to a dump request), the
//! triggers (`signal`, `near_limit`, `remote` requests, all through `trigger`), `background`
//! (a dump taken by a forked child), `profile` (the sampling heap profiler), and the V8-free
//! crate `heapsnap-core` (its `write` room: sink, naming, checks). It is built once per Node ABI because of the
//! V8 shim; the analyzer is a separate, ABI-free addon (crates/heapsnap-analyzer).

mod background;
mod dump;
mod error;
mod headroom;
mod line_ends;
mod near_limit;
mod notify;
mod options;
mod profile;
mod remote;
mod signal;
mod space;
mod sync;
mod trigger;
mod v8;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use heapsnap_core::write::naming;
use heapsnap_core::write::rate_limit::{self, Limits};
use napi::bindgen_prelude::AsyncTask;
use napi::bindgen_prelude::{Function, Object};
use napi::{Env, JsDeferred};
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

/// What a background dump came to: the file, or why there is none (JS then falls back to an
/// in-process dump, or rejects when asked not to).
#[napi(object)]
pub struct BackgroundOutcome {
    pub info: Option<SnapshotInfo>,
    pub fallback_reason: Option<String>,
}

type BackgroundResolver = Box<dyn FnOnce(Env) -> napi::Result<BackgroundOutcome>>;

fn settle(deferred: &Rc<RefCell<Option<JsDeferred<BackgroundOutcome, BackgroundResolver>>>>, outcome: BackgroundOutcome) {
    if let Some(deferred) = deferred.borrow_mut().take() {
        deferred.resolve(Box::new(move |_env| Ok(outcome)));
    }
}

/// How many other threads of the process are running now (0 outside Linux).
#[napi]
pub fn other_threads_running() -> u32 {
    background::other_threads_running() as u32
}

/// Forks; the child takes the snapshot while this thread goes on. The promise resolves once
/// the child is done (see src/background.rs). Throws only what an in-process dump would
/// (bad name, no headroom) and `ERR_HEAPSNAP_BUSY` when a background dump is running.
#[napi(ts_return_type = "Promise<BackgroundOutcome>")]
pub fn write_snapshot_background<'env>(env: &'env Env, options: NativeWriteOptions) -> napi::Result<Object<'env>> {
    let coded = |err: DumpError| napi::Error::from(napi::JsError::from(napi::Error::<String>::from(err)).into_unknown(*env));
    let isolate = current_isolate().map_err(coded)?;
    let timeout = options.background_timeout_duration();
    let request = options.into_request().map_err(coded)?;
    let uv_loop = env.get_uv_event_loop()?;
    background::set_loop(uv_loop.cast());
    hook_teardown(env).map_err(coded)?;
    let (deferred, promise) = env.create_deferred::<BackgroundOutcome, BackgroundResolver>()?;
    let deferred = Rc::new(RefCell::new(Some(deferred)));
    let pending = deferred.clone();
    let done: background::Done = Box::new(move |result| {
        let outcome = match result {
            Ok(outcome) => BackgroundOutcome { info: Some(outcome.into()), fallback_reason: None },
            Err(failure) => BackgroundOutcome { info: None, fallback_reason: Some(failure.reason) },
        };
        settle(&pending, outcome);
    });
    match background::start(&isolate, &request, background::BackgroundOptions { timeout }, done) {
        Ok(Ok(_pause)) => {}
        Ok(Err(failure)) => settle(&deferred, BackgroundOutcome { info: None, fallback_reason: Some(failure.reason) }),
        Err(err) => {
            // The promise is never handed out; settling it releases its threadsafe function,
            // which would otherwise keep the event loop alive.
            settle(&deferred, BackgroundOutcome { info: None, fallback_reason: Some(err.to_string()) });
            return Err(coded(err));
        }
    }
    Ok(promise)
}

thread_local! {
    /// Whether this thread's environment already has its teardown hook.
    static CLEANUP_HOOKED: Cell<bool> = const { Cell::new(false) };
}

/// Dumps this thread's heap on `signal` (a number), even during a busy loop. Replaces this
/// environment's previous handler. `interval_seconds` and `max_dumps` are the rate limit (`None`: the defaults of
/// heapsnap-core's `rate_limit`).
#[napi]
pub fn install_signal_handler(
    env: Env,
    signal: i32,
    options: NativeWriteOptions,
    quiet: bool,
    interval_seconds: Option<f64>,
    max_dumps: Option<u32>,
) -> napi::Result<(), String> {
    let isolate = current_isolate()?;
    let uv_loop = env.get_uv_event_loop().map_err(|err| DumpError::Signal(err.reason))?;
    hook_teardown(&env)?;
    background::set_loop(uv_loop.cast());
    // Threads answering the same signal must not replace each other's dumps.
    let options = NativeWriteOptions {
        path: options.path.as_deref().map(|path| naming::per_thread_template(path, options.thread_id.unwrap_or(0)).into_owned()),
        ..options
    };
    let limits = Limits {
        interval: interval_seconds.map_or(rate_limit::DEFAULT_INTERVAL, |seconds| Duration::from_secs_f64(seconds.clamp(0.0, 1e9))),
        max_dumps,
    };
    // SAFETY: `uv_loop` is this environment's loop, and the teardown hook uninstalls on
    // this thread before the loop closes.
    unsafe { signal::install(&isolate, uv_loop.cast(), signal, trigger::TriggerOptions { write: options, quiet }, limits) }?;
    Ok(())
}

/// What this thread's signal handler has done (`signalHandlerStatus()`).
#[napi(object)]
pub struct SignalHandlerStatus {
    pub signal: i32,
    pub interval_seconds: f64,
    pub max_dumps: Option<u32>,
    /// Signals seen, coalesced ones included.
    pub received: f64,
    /// Snapshots written.
    pub dumps: u32,
    /// Signals ignored because of `interval` or `maxDumps`.
    pub skipped: u32,
    /// A dump is pending or running now.
    pub pending: bool,
}

/// Starts (`true`) or stops (`false`) recording the stack of every allocation on this thread,
/// for snapshots with allocation traces (leakCheck's `stacks`).
#[napi]
pub fn track_allocations(on: bool) -> napi::Result<(), String> {
    let isolate = current_isolate()?;
    if on {
        isolate.start_tracking_allocations();
    } else {
        isolate.stop_tracking_allocations();
    }
    Ok(())
}

/// Calls `scenario(iteration)` from native code: `{ threw, value }`, what it returned or threw
/// (leakCheck's loop with `stacks`). V8 never inlines a function into its caller across a
/// native call; inlined into heapsnap's own loop, the scenario's frames would vanish from the
/// allocation stacks V8 records, which name an optimized frame's outermost function only.
#[napi(ts_return_type = "{ threw: boolean, value: unknown }")]
pub fn call_not_inlined<'env>(env: &'env Env, scenario: Function<'env>, iteration: u32) -> napi::Result<Object<'env>> {
    let (threw, value) = match v8::call::call_catching(&scenario, iteration)? {
        v8::call::Outcome::Returned(value) => (false, value),
        v8::call::Outcome::Threw(value) => (true, value),
    };
    let mut outcome = Object::new(env)?;
    outcome.set("threw", threw)?;
    outcome.set("value", value)?;
    Ok(outcome)
}

/// This thread's signal handler's status, or `null` when none is installed.
#[napi]
pub fn signal_handler_status() -> Option<SignalHandlerStatus> {
    signal::status().map(|status| SignalHandlerStatus {
        signal: status.signum,
        interval_seconds: status.limits.interval.as_secs_f64(),
        max_dumps: status.limits.max_dumps,
        received: status.received as f64,
        dumps: status.dumps,
        skipped: status.skipped,
        pending: status.pending,
    })
}

/// Writes a snapshot when V8 is about to run out of heap, up to `max_dumps` times, then lets
/// the process fail as it would have.
#[napi]
pub fn on_near_heap_limit(env: Env, options: NativeWriteOptions, quiet: bool, max_dumps: u32) -> napi::Result<(), String> {
    let isolate = current_isolate()?;
    hook_teardown(&env)?;
    near_limit::install(&isolate, trigger::TriggerOptions { write: options, quiet }, max_dumps)?;
    Ok(())
}

/// Triggers must be gone before this environment's isolate and loop are (worker exit).
fn hook_teardown(env: &Env) -> Result<(), DumpError> {
    if !CLEANUP_HOOKED.with(|hooked| hooked.replace(true)) {
        // The handler must be gone before this environment's loop closes (worker exit).
        env.add_env_cleanup_hook((), |()| {
            background::abandon_on_this_thread();
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

/// For a process that is exiting (its pool and writer threads die with it): waits up to
/// `timeout_ms` for dumps whose snapshot is already taken to finish their file, then removes
/// what is left unfinished. Returns whether every dump finished.
#[napi]
pub fn settle_dumps_at_exit(timeout_ms: u32) -> bool {
    let finished = dump::wait_for_finishing(Duration::from_millis(timeout_ms.into()));
    heapsnap_core::write::sink::remove_unfinished_temp_files();
    // A background child's dump dies with us (PDEATHSIG): kill it now and remove its file.
    background::abandon();
    finished
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

/// The tightest cgroup memory limit on this process and that cgroup's usage (v2 or v1),
/// for watch rules like `cgroup>85%`; `None` without a limit (or outside Linux).
#[napi(object)]
pub struct CgroupMemoryInfo {
    pub limit: f64,
    pub usage: f64,
}

#[napi]
pub fn cgroup_memory() -> Option<CgroupMemoryInfo> {
    heapsnap_core::write::headroom::cgroup_memory(std::path::Path::new("/"))
        .map(|(memory, _)| CgroupMemoryInfo { limit: memory.limit as f64, usage: memory.usage as f64 })
}

/// Tells `callback` about every dump of this thread that JS did not start (signal,
/// near-heap-limit, `heapsnap dump` requests), on a later turn of the event loop.
#[napi]
pub fn set_dump_listener(callback: Function<notify::DumpNotice, ()>) -> napi::Result<()> {
    notify::set_listener(callback)
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
