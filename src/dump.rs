//! One heap dump, start to finish: the part that must run on the JS thread (GC, take,
//! serialize into the sink) and the part that need not (finish the file).
//!
//! Splitting the two is what lets `writeSnapshotAsync` resolve from the libuv pool while the
//! JS thread pauses only for V8's own work, and what a signal-triggered dump reuses.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use heapsnap_core::write::memory_record::{self, MemoryRecord, Trigger};
use heapsnap_core::write::naming::WritePlan;
use heapsnap_core::write::sink::{self, Compression, SinkOptions, SinkStats, SnapshotSink};

use crate::error::DumpError;
use crate::headroom::{self, MemoryContext};
use crate::line_ends;
use crate::space;
use crate::sync::lock;
use crate::v8::{Isolate, SnapshotOptions};

/// Everything a dump needs once the file name is decided.
#[derive(Debug, Clone)]
pub struct DumpRequest {
    pub plan: WritePlan,
    /// Run a full GC first, so the snapshot shows only what is really retained.
    pub gc: bool,
    pub snapshot: SnapshotOptions,
    /// Replace the heap's string values by placeholders (heapsnap-core's `redact`).
    pub redact: bool,
    /// The headroom check's `force` and `memoryLimit` (see src/headroom.rs).
    pub headroom: headroom::Policy,
    /// Leave the process's memory beside the snapshot (heapsnap-core's `memory_record`).
    pub memory_file: bool,
    /// `process.memoryUsage().arrayBuffers` when JS started the dump (V8 cannot tell it).
    pub array_buffers: Option<u64>,
    /// What started the dump, for the memory record (a watch rule and its samples).
    pub trigger: Option<Trigger>,
}

/// A snapshot fully handed to the sink; the file still has to be finished and renamed.
pub struct CapturedDump {
    sink: SnapshotSink,
    started: Instant,
    pause: Duration,
    memory: MemoryContext,
    memory_file: bool,
    array_buffers: Option<u64>,
    trigger: Option<Trigger>,
    disk: space::DiskContext,
    _finishing: Finishing,
}

/// What a finished dump reports to JS.
#[derive(Debug, Clone)]
pub struct DumpOutcome {
    pub path: PathBuf,
    pub bytes: u64,
    pub raw_bytes: u64,
    pub compression: Compression,
    pub duration: Duration,
    pub pause: Duration,
    pub redacted: bool,
    /// The process's memory when the dump started.
    pub memory: MemoryContext,
    /// The memory record written beside the snapshot, if one was asked for and written.
    pub memory_file: Option<PathBuf>,
    /// The free-space check's estimate and what the filesystem had left.
    pub disk: space::DiskContext,
    /// What went wrong without failing the dump (the snapshot itself is complete): the sink's
    /// (see `SinkStats::warnings`) and a memory record that could not be written.
    pub warnings: Vec<String>,
}

thread_local! {
    /// One dump at a time per isolate (each isolate has its own thread): an interrupt must
    /// never start a dump inside another one.
    static DUMPING: Cell<bool> = const { Cell::new(false) };
}

/// How many dumps, on any thread, have their snapshot taken and their file still unfinished.
static FINISHING: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// Counts one dump in [`FINISHING`] from capture until its `finish` ends (or it is dropped).
struct Finishing;

impl Finishing {
    fn start() -> Finishing {
        *lock(&FINISHING.0) += 1;
        Finishing
    }
}

impl Drop for Finishing {
    fn drop(&mut self) {
        let mut count = lock(&FINISHING.0);
        *count -= 1;
        FINISHING.1.notify_all();
    }
}

/// Waits until no dump is being finished, at most `timeout`; whether none is left. For
/// process exit: a snapshot V8 already took is worth the few seconds its file needs.
pub fn wait_for_finishing(timeout: Duration) -> bool {
    let count = lock(&FINISHING.0);
    let (count, _) = FINISHING.1.wait_timeout_while(count, timeout, |count| *count > 0).unwrap_or_else(|poisoned| poisoned.into_inner());
    *count == 0
}

/// Resets the busy flag however `capture` leaves.
struct BusyGuard;

impl BusyGuard {
    fn acquire() -> Result<BusyGuard, DumpError> {
        if DUMPING.with(|busy| busy.replace(true)) {
            return Err(DumpError::Busy);
        }
        Ok(BusyGuard)
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        DUMPING.with(|busy| busy.set(false));
    }
}

/// Runs the JS-thread half of a dump: the GC if asked, then the check that there is memory
/// for the snapshot (on the heap as it will be snapshotted, before any file exists), then opens
/// the file (so a bad path fails before V8 spends seconds on a snapshot) and checks that its
/// filesystem has room for it (a refusal drops the still unnamed file), takes and serializes.
/// The writer thread compresses and writes while V8 serializes.
pub fn capture(isolate: &Isolate, request: &DumpRequest) -> Result<CapturedDump, DumpError> {
    let _busy = BusyGuard::acquire()?;
    let started = Instant::now();
    if request.gc {
        isolate.full_gc();
    }
    let memory = headroom::check(isolate, request.headroom)?;
    snapshot_into_sink(isolate, request, started, memory)
}

/// The snapshot itself, into a new sink: opens the file, warms line ends, takes and
/// serializes. `capture` runs it after its checks; a background dump's child runs it alone
/// (the parent checked).
pub fn snapshot_into_sink(
    isolate: &Isolate,
    request: &DumpRequest,
    started: Instant,
    memory: MemoryContext,
) -> Result<CapturedDump, DumpError> {
    let mut sink = SnapshotSink::create(
        &request.plan.target,
        SinkOptions { compression: request.plan.compression, level: request.plan.level, redact: request.redact, ..SinkOptions::default() },
    )?;
    let disk = space::check(&sink, memory.heap_used, request.headroom.force)?;
    // Last thing before the snapshot: a script loaded even just before would be cold again.
    line_ends::warm(isolate);
    let snapshot = isolate.take_snapshot(request.snapshot).ok_or(DumpError::SnapshotFailed)?;
    let mut sink_error = None;
    let complete = snapshot.serialize(&mut |chunk| match sink.write(chunk) {
        Ok(()) => true,
        Err(err) => {
            sink_error = Some(err);
            false
        }
    });
    // Free V8's copy before the file is finished: it can be as large as the heap.
    drop(snapshot);
    let pause = started.elapsed();
    if let Some(err) = sink_error {
        return Err(err.into());
    }
    if !complete {
        return Err(DumpError::SerializeFailed(request.plan.target.display().to_string()));
    }
    Ok(CapturedDump {
        sink,
        started,
        pause,
        memory,
        memory_file: request.memory_file,
        array_buffers: request.array_buffers,
        trigger: request.trigger.clone(),
        disk,
        _finishing: Finishing::start(),
    })
}

impl CapturedDump {
    /// Waits for the writer, then fsyncs and renames the file into place. May run on any thread.
    /// The memory record follows the snapshot; failing to write it costs only the record.
    pub fn finish(self) -> Result<DumpOutcome, DumpError> {
        let SinkStats { path, bytes, raw_bytes, compression, redacted, mut warnings } = self.sink.finish()?;
        let (duration, pause, memory, disk) = (self.started.elapsed(), self.pause, self.memory, self.disk);
        let memory_file = if self.memory_file {
            let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            match write_memory_record(&path, &memory.record(name, self.array_buffers, self.trigger)) {
                Ok(written) => Some(written),
                Err(err) => {
                    warnings.push(format!("the memory record beside the snapshot was not written: {err}"));
                    None
                }
            }
        } else {
            None
        };
        Ok(DumpOutcome { path, bytes, raw_bytes, compression, duration, pause, redacted, memory, memory_file, disk, warnings })
    }
}

/// Writes `record` to `<snapshot>.memory.json` through the sink (0600, complete or absent).
fn write_memory_record(snapshot: &Path, record: &MemoryRecord) -> Result<PathBuf, sink::Error> {
    let mut file = SnapshotSink::create(&memory_record::companion_path(snapshot), SinkOptions::default())?;
    file.write(&record.to_json())?;
    Ok(file.finish()?.path)
}

impl DumpOutcome {
    /// One line for stderr: where, how big, how long, the process's memory.
    pub fn describe(&self) -> String {
        format!(
            "wrote {} ({:.1} MB) in {} ms (JS paused {} ms; {})",
            self.path.display(),
            self.bytes as f64 / 1e6,
            self.duration.as_millis(),
            self.pause.as_millis(),
            self.memory.describe()
        )
    }
}

/// Both halves on the calling thread: the synchronous, heapdump-compatible path.
pub fn write_now(isolate: &Isolate, request: &DumpRequest) -> Result<DumpOutcome, DumpError> {
    capture(isolate, request)?.finish()
}
