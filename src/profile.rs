//! The sampling heap profiler's JS surface: `startSamplingHeapProfiler` and
//! `stopSamplingHeapProfiler` (lib/writer/profile.js shapes their arguments). One profiler per JS
//! thread; the profile is copied out of V8 on the JS thread, then written as a `.heapprofile`
//! (heapsnap-core's `heapprofile`) through the snapshot sink on the libuv pool.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use heapsnap_core::write::naming::{self, NameContext, WriteRequest, PROFILE_TEMPLATE};
use heapsnap_core::write::sink::{SinkOptions, SnapshotSink};
use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use heapsnap_napi::CodedTask;

use crate::error::DumpError;
use crate::v8::sampling::StartError;
use heapsnap_core::read::heapprofile::HeapProfile;
use crate::v8::Isolate;

/// Who started this thread's profiler: a `heapsnap profile <pid>` request may replace a
/// profiler an earlier request left running (its CLI was killed), never one the app started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Api,
    Remote,
}

thread_local! {
    /// When this thread's profiler started and who started it, while it runs.
    static PROFILING: RefCell<Option<(Instant, Owner)>> = const { RefCell::new(None) };
}

fn coded(code: &str, message: impl Into<String>) -> napi::Error<String> {
    napi::Error::new(code.to_string(), message.into())
}

fn current_isolate() -> napi::Result<Isolate, String> {
    Isolate::current().ok_or_else(|| DumpError::NoIsolate.into())
}

/// Options of `startSamplingHeapProfiler`, checked and defaulted by lib/writer/profile.js.
#[napi(object)]
pub struct NativeProfileStartOptions {
    /// Average bytes between two samples.
    pub interval: f64,
    /// Frames kept per sample.
    pub stack_depth: u32,
    /// Keep samples of objects the GC has freed since (V8 >= 11).
    pub include_collected: bool,
}

/// Where `stopSamplingHeapProfiler` writes, checked by lib/writer/profile.js.
#[napi(object)]
pub struct NativeProfileWriteOptions {
    pub path: Option<String>,
    pub dir: Option<String>,
    /// "gzip" | "zstd" | "none"
    pub compress: Option<String>,
    pub level: Option<i32>,
    pub thread_id: Option<u32>,
}

/// What `stopSamplingHeapProfiler` resolves to.
#[napi(object)]
pub struct ProfileInfo {
    pub path: String,
    /// Bytes on disk.
    pub bytes: f64,
    /// Bytes of JSON before compression.
    pub raw_bytes: f64,
    pub compression: String,
    /// Samples in the profile (allocations still alive, unless `includeCollected`).
    pub samples: f64,
    /// Bytes those samples stand for.
    pub sampled_bytes: f64,
    /// How long the profiler ran.
    pub duration_ms: f64,
}

/// Starts this thread's sampling heap profiler.
#[napi]
pub fn start_sampling_heap_profiler(options: NativeProfileStartOptions) -> napi::Result<(), String> {
    start(&current_isolate()?, options.interval as u64, options.stack_depth, options.include_collected, Owner::Api)
}

/// Starts sampling on `isolate`'s thread: for the API and for `heapsnap profile` requests.
pub fn start(isolate: &Isolate, interval: u64, stack_depth: u32, include_collected: bool, owner: Owner) -> napi::Result<(), String> {
    match PROFILING.with(|p| *p.borrow()) {
        Some((_, Owner::Remote)) if owner == Owner::Remote => {
            // Left behind by a `heapsnap profile` that never came back for it.
            isolate.stop_sampling_heap_profiler();
            PROFILING.with(|p| *p.borrow_mut() = None);
        }
        Some(_) => return Err(coded("ERR_HEAPSNAP_BUSY", "a sampling heap profiler is already running on this thread; stop it first")),
        None => {}
    }
    match isolate.start_sampling_heap_profiler(interval, stack_depth, include_collected) {
        Ok(()) => {
            PROFILING.with(|p| *p.borrow_mut() = Some((Instant::now(), owner)));
            Ok(())
        }
        Err(StartError::AlreadyRunning) => Err(coded(
            "ERR_HEAPSNAP_BUSY",
            "V8 refused to start the sampling heap profiler: one already runs on this thread (the inspector's, or --heap-prof)",
        )),
        Err(StartError::IncludeCollectedUnsupported) => Err(coded(
            "ERR_HEAPSNAP_INVALID_OPTION",
            format!("startSamplingHeapProfiler: option 'includeCollected' needs V8 11 or later (Node 20+); this is V8 {}", crate::v8::built_for_v8_major()),
        )),
    }
}

/// Whether this thread's profiler runs.
#[napi]
pub fn is_sampling_heap_profiler() -> bool {
    PROFILING.with(|p| p.borrow().is_some())
}

/// Stops this thread's profiler and writes its profile. The target is checked and opened
/// first: when that fails, the profiler keeps running and the call can be retried.
#[napi(ts_return_type = "Promise<ProfileInfo>")]
pub fn stop_sampling_heap_profiler(options: NativeProfileWriteOptions) -> napi::Result<AsyncTask<CodedTask<ProfileInfo>>, String> {
    let request = WriteRequest { path: options.path, dir: options.dir, compress: options.compress, level: options.level, heapdump_default: false };
    let captured = capture(&current_isolate()?, &request, options.thread_id.unwrap_or(0))?;
    Ok(CodedTask::spawn(move || captured.finish()))
}

/// A profile copied out of V8, with its file open: what is left is writing it.
pub struct CapturedProfile {
    sink: SnapshotSink,
    profile: HeapProfile,
    duration: Duration,
}

/// Stops this thread's profiler and copies its profile out of V8 (on the JS thread).
pub fn capture(isolate: &Isolate, request: &WriteRequest, thread_id: u32) -> napi::Result<CapturedProfile, String> {
    let Some((started, _)) = PROFILING.with(|p| *p.borrow()) else {
        return Err(coded("ERR_HEAPSNAP_NOT_PROFILING", "stopSamplingHeapProfiler: no sampling heap profiler is running on this thread; call startSamplingHeapProfiler() first"));
    };
    let plan = naming::plan_named(request, &NameContext::now(thread_id), PROFILE_TEMPLATE).map_err(DumpError::from)?;
    let sink = SnapshotSink::create(&plan.target, SinkOptions { compression: plan.compression, level: plan.level, ..SinkOptions::default() })
        .map_err(DumpError::from)?;
    let profile = isolate.allocation_profile();
    isolate.stop_sampling_heap_profiler();
    PROFILING.with(|p| *p.borrow_mut() = None);
    let duration = started.elapsed();
    let Some(profile) = profile else {
        return Err(coded("ERR_HEAPSNAP_PROFILE_FAILED", "V8 returned no allocation profile"));
    };
    Ok(CapturedProfile { sink, profile, duration })
}

impl CapturedProfile {
    /// Writes the `.heapprofile` through the sink; may run on any thread.
    pub fn finish(mut self) -> napi::Result<ProfileInfo, String> {
        let mut json = Vec::with_capacity(64 * 1024);
        self.profile.write_json(&mut json).map_err(|err| coded("ERR_HEAPSNAP_IO", err.to_string()))?;
        self.sink.write(&json).map_err(DumpError::from)?;
        let stats = self.sink.finish().map_err(DumpError::from)?;
        Ok(ProfileInfo {
            path: stats.path.to_string_lossy().into_owned(),
            bytes: stats.bytes as f64,
            raw_bytes: stats.raw_bytes as f64,
            compression: stats.compression.as_str().to_string(),
            samples: self.profile.samples.len() as f64,
            sampled_bytes: self.profile.samples.iter().map(|s| s.size).sum::<u64>() as f64,
            duration_ms: self.duration.as_secs_f64() * 1e3,
        })
    }
}
