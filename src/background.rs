//! Background (fork) dumps: a copy-on-write child takes the snapshot while the parent keeps
//! serving; the parent pauses only to fork.
//!
//! The hazards and how each is met (measured in the spike of issue 10; the OS calls are in
//! src/v8/fork.rs, the V8 and libuv ones in the shim):
//! - Node's V8 heap pages are `MADV_DONTFORK`: marked copyable just before the fork, and not
//!   copyable again in the parent right after.
//! - The child has one thread; V8's GC would signal platform workers that stayed in the parent
//!   (glibc's condition variables can block forever on waiters that no longer exist): the
//!   child makes those wake-ups no-ops first (V8 joins its GC jobs from the main thread, which
//!   then does the work itself). A job half done by a worker at the fork can never finish in
//!   the child, so the parent forks when no other thread is running (within a short budget).
//! - Something can still hang or kill the child: a watchdog (timeout) kills it, its temp file
//!   is removed, and the caller falls back to an in-process dump or reports the failure.
//! - The child's inherited descriptors point at /dev/null, it dies with the parent
//!   (`PR_SET_PDEATHSIG`), writes through heapsnap's sink, reports one line on a pipe and
//!   `_exit`s. The parent watches it from its event loop (a pidfd), never from a pool thread.
//! - At most one background dump per process: a second request gets `ERR_HEAPSNAP_BUSY`.

use std::time::Duration;

use crate::dump::{DumpOutcome, DumpRequest};
use crate::notify::{self, DumpNotice};
use crate::trigger::TriggerOptions;
use crate::error::DumpError;
use crate::v8::Isolate;

/// What the caller asked for beyond the dump itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct BackgroundOptions {
    /// Kill the child after this long; `None` for the default (see heapsnap-core).
    pub timeout: Option<Duration>,
}

/// Why a background dump produced no file; the caller falls back (or reports it).
#[derive(Debug, Clone)]
pub struct Failure {
    pub reason: String,
}

impl Failure {
    fn new(reason: impl Into<String>) -> Failure {
        Failure { reason: reason.into() }
    }
}

/// A background dump's end, on the JS thread: the file, or why there is none.
pub type Done = Box<dyn FnOnce(Result<DumpOutcome, Failure>)>;

#[cfg(target_os = "linux")]
pub use linux::{abandon, abandon_on_this_thread, other_threads_running, set_loop, start};

#[cfg(not(target_os = "linux"))]
pub use elsewhere::{abandon, abandon_on_this_thread, other_threads_running, set_loop, start};

/// A signal dump in the background: the success line on stderr as for an in-process dump,
/// and on failure a line that says why, then the in-process dump unless `fallback: false`.
/// Returns whether a dump was written, or started in the background (for the rate limit).
pub fn signal_dump_and_report(isolate: &Isolate, trigger: &TriggerOptions) -> bool {
    if trigger.write.background != Some(true) {
        return trigger.write_and_report(isolate, "signal", "");
    }
    let request = match trigger.write.clone().into_request() {
        Ok(request) => request,
        Err(err) => {
            eprintln!("heapsnap: signal dump failed: {}: {err}", err.code());
            return false;
        }
    };
    let options = BackgroundOptions { timeout: trigger.write.background_timeout_duration() };
    let fallback = trigger.write.fallback != Some(false);
    let after = trigger.clone();
    let done: Done = Box::new(move |result| match result {
        Ok(outcome) => {
            notify::notify(DumpNotice::new(&outcome, "signal", "background"));
            if !after.quiet {
                eprintln!("heapsnap: {} (in the background)", outcome.describe());
            }
        }
        Err(failure) => {
            report_failure(&after, &failure, fallback);
        }
    });
    match start(isolate, &request, options, done) {
        Ok(Ok(_pause)) => true,
        Ok(Err(failure)) => report_failure(trigger, &failure, fallback),
        Err(err) => {
            eprintln!("heapsnap: signal dump failed: {}: {err}", err.code());
            false
        }
    }
}

/// Says why the background dump failed, then writes it in-process unless `fallback: false`;
/// whether a snapshot was written.
fn report_failure(trigger: &TriggerOptions, failure: &Failure, fallback: bool) -> bool {
    if !fallback {
        eprintln!("heapsnap: background signal dump failed: {} (fallback: false, no dump written)", failure.reason);
        return false;
    }
    eprintln!("heapsnap: background signal dump failed: {}; writing it in-process", failure.reason);
    match Isolate::current() {
        Some(isolate) => trigger.write_and_report(&isolate, "signal", ""),
        None => {
            eprintln!("heapsnap: signal dump failed: {}", DumpError::NoIsolate);
            false
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod elsewhere {
    use super::*;
    use std::ffi::c_void;

    pub fn set_loop(_uv_loop: *mut c_void) {}

    pub fn start(
        _isolate: &Isolate,
        _request: &DumpRequest,
        _options: BackgroundOptions,
        _done: Done,
    ) -> Result<Result<Duration, Failure>, DumpError> {
        Ok(Err(Failure::new("background dumps need Linux (fork with copy-on-write heap pages)")))
    }

    pub fn abandon() -> u32 {
        0
    }

    pub fn other_threads_running() -> usize {
        0
    }

    pub fn abandon_on_this_thread() {}
}

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::ffi::c_void;
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::path::PathBuf;
    use std::sync::Mutex;
    use std::time::Instant;

    use heapsnap_core::write::background::{default_timeout, dont_fork_ranges, running_threads, ChildReport};
    use heapsnap_core::write::sink::Compression;

    use crate::dump;
    use crate::headroom::{self, MemoryContext};
    use crate::sync::lock;
    use crate::v8::fork::{self, ChildStatus, ChildWatch, Forked, WatchEvent};

    /// How long the parent waits for its other threads to be idle before it forks anyway.
    const QUIESCE_BUDGET: Duration = Duration::from_millis(20);
    /// Exit code of a child that could not report (its report is the failure's reason).
    const CHILD_FAILED: i32 = 1;

    /// The one background dump of the process: whose child.
    struct Active {
        pid: i32,
    }

    static ACTIVE: Mutex<Option<Active>> = Mutex::new(None);

    thread_local! {
        /// This thread's event loop, for the child watch (set by the napi entry points).
        static LOOP: Cell<*mut c_void> = const { Cell::new(std::ptr::null_mut()) };
        /// This thread's open watch, so an environment teardown can close it.
        static WATCH: RefCell<Option<ChildWatch>> = const { RefCell::new(None) };
    }

    /// Remembers this thread's event loop.
    pub fn set_loop(uv_loop: *mut c_void) {
        LOOP.with(|current| current.set(uv_loop));
    }

    /// Forks and lets the child take the snapshot. Returns the parent's pause, or why no child
    /// was started (the caller falls back); errors that an in-process dump would hit too (a
    /// bad name, not enough memory, another background dump running) are `Err`.
    pub fn start(
        isolate: &Isolate,
        request: &DumpRequest,
        options: BackgroundOptions,
        done: Done,
    ) -> Result<Result<Duration, Failure>, DumpError> {
        let started = Instant::now();
        let uv_loop = LOOP.with(Cell::get);
        if uv_loop.is_null() {
            return Ok(Err(Failure::new("no event loop to watch the child from")));
        }
        let mut active = lock(&ACTIVE);
        if let Some(running) = active.as_ref() {
            return Err(DumpError::BackgroundBusy(running.pid));
        }
        // The same check as in-process: the child needs what an in-process snapshot needs.
        let memory = headroom::check(isolate, request.headroom)?;
        let timeout = options.timeout.unwrap_or_else(|| default_timeout(memory.heap_used));
        let test_mode = std::env::var("HEAPSNAP_TEST_BACKGROUND_CHILD").unwrap_or_default();
        // Probe pidfd support (Linux >= 5.3) before forking: without it there is no safe watch.
        if let Err(err) = fork::pidfd_open(std::process::id() as i32) {
            return Ok(Err(Failure::new(format!("this kernel has no pidfd_open ({err})"))));
        }
        let (result_read, result_write) = match fork::pipe() {
            Ok(pipe) => pipe,
            Err(err) => return Ok(Err(Failure::new(format!("cannot create the result pipe: {err}")))),
        };
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
        let ranges = dont_fork_ranges(&smaps);
        drop(smaps);
        quiesce();
        let parent = std::process::id() as i32;
        // SAFETY: on the isolate's thread between V8 calls; the child only runs `run_child`,
        // which ends in `_exit`.
        let pid = match unsafe { fork::fork_with_heap(&ranges) } {
            Ok(Forked::Child) => run_child(parent, result_write, request, memory, &test_mode),
            Ok(Forked::Parent { pid }) => pid,
            Err(err) => return Ok(Err(Failure::new(format!("fork failed: {err}")))),
        };
        drop(result_write);
        let pause = started.elapsed();
        let pidfd = match fork::pidfd_open(pid) {
            Ok(pidfd) => pidfd,
            Err(err) => {
                kill_and_clean(pid);
                return Ok(Err(Failure::new(format!("cannot watch the child: {err}"))));
            }
        };
        let state = Watched {
            pid,
            pidfd,
            result_read,
            started,
            pause,
            memory,
            timeout,
            timed_out: false,
            done: Some(done),
        };
        let pidfd = state.pidfd.as_raw_fd();
        let mut state = state;
        // SAFETY: `uv_loop` is this thread's loop (the napi entry points set it on this
        // thread, and close the watch at teardown); the closure owns the pidfd, so it stays
        // open until the watch is closed.
        let watch = unsafe { ChildWatch::start(uv_loop, pidfd, timeout.as_millis() as u64, move |event| state.on_event(event)) };
        match watch {
            Ok(watch) => {
                *active = Some(Active { pid });
                WATCH.with(|slot| *slot.borrow_mut() = Some(watch));
                Ok(Ok(pause))
            }
            Err(err) => {
                // The closure (and its `done`) was dropped with the failed watch.
                kill_and_clean(pid);
                Ok(Err(Failure::new(format!("cannot watch the child: {err}"))))
            }
        }
    }

    /// How many of the process's other threads are running (or runnable) now. JS polls it
    /// from the event loop before a background dump, so that the fork finds the process
    /// quiet without pausing it (see [`quiesce`] for why that matters).
    pub fn other_threads_running() -> usize {
        running_threads(fork::gettid())
    }

    /// Waits (briefly) until no other thread of the process is running, so that no V8 worker
    /// is in the middle of a GC job at the fork: the child could never finish it.
    fn quiesce() {
        let own = fork::gettid();
        let deadline = Instant::now() + QUIESCE_BUDGET;
        while running_threads(own) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(500));
        }
    }

    /// The child: detach from the parent's resources, take the snapshot through the sink,
    /// report on the pipe, `_exit`. Never returns.
    fn run_child(parent: i32, report: OwnedFd, request: &DumpRequest, memory: MemoryContext, test_mode: &str) -> ! {
        let result = catch_unwind(AssertUnwindSafe(|| -> Result<DumpOutcome, DumpError> {
            fork::child_detach(parent, report.as_raw_fd())
                .map_err(|err| DumpError::Background(format!("the child could not detach: {err}")))?;
            if fork::child_silence_worker_wakeups() == 0 {
                return Err(DumpError::Background(
                    "node does not call pthread_cond_signal through its GOT (a static build?): the child's GC could hang".into(),
                ));
            }
            match test_mode {
                // Test hooks: a child that hangs (watchdog) or dies without a word.
                "stall" => loop {
                    std::thread::sleep(Duration::from_secs(3600));
                },
                "die" => fork::exit_child(7),
                _ => {}
            }
            let isolate = Isolate::current().ok_or(DumpError::NoIsolate)?;
            if request.gc {
                isolate.full_gc();
            }
            dump::snapshot_into_sink(&isolate, request, Instant::now(), memory)?.finish()
        }));
        let (line, code) = match result {
            Ok(Ok(outcome)) => (
                ChildReport::Done {
                    path: outcome.path.to_string_lossy().into_owned(),
                    bytes: outcome.bytes,
                    raw_bytes: outcome.raw_bytes,
                    disk_estimated: outcome.disk.estimated,
                    disk_available: outcome.disk.available,
                    compression: outcome.compression.as_str().to_string(),
                    redacted: outcome.redacted,
                    snapshot_ms: outcome.duration.as_secs_f64() * 1e3,
                },
                0,
            ),
            Ok(Err(err)) => (ChildReport::Failed { code: err.code(), message: err.to_string() }, CHILD_FAILED),
            Err(_) => (
                ChildReport::Failed { code: "ERR_HEAPSNAP_BACKGROUND_FAILED".into(), message: "the child panicked".into() },
                CHILD_FAILED,
            ),
        };
        let _ = fork::write_all(report.as_raw_fd(), &line.encode());
        fork::exit_child(code)
    }

    /// A child that will not be watched: kill it and reap it. What it wrote has no name until
    /// it is complete (the sink's `O_TMPFILE`), so it vanishes with the child.
    fn kill_and_clean(pid: i32) {
        fork::kill(pid);
        fork::reap(pid, true);
    }

    /// The parent's side of one running child, owned by its watch's callback.
    struct Watched {
        pid: i32,
        /// Polled by the watch; closed with this state, after libuv stopped polling it.
        #[allow(dead_code)]
        pidfd: OwnedFd,
        result_read: OwnedFd,
        started: Instant,
        pause: Duration,
        memory: MemoryContext,
        timeout: Duration,
        timed_out: bool,
        done: Option<Done>,
    }

    impl Watched {
        /// On the JS thread, from the event loop. Returns true when the watch is done.
        fn on_event(&mut self, event: WatchEvent) -> bool {
            if event == WatchEvent::TimedOut {
                if !self.timed_out {
                    self.timed_out = true;
                    fork::kill(self.pid);
                }
                // Its exit (the pidfd turning readable) comes next.
                return false;
            }
            let status = fork::reap(self.pid, false).or_else(|| {
                // The pidfd says it exited, so this is immediate; blocking covers a spurious wake.
                fork::reap(self.pid, true)
            });
            let report = ChildReport::decode(&fork::read_available(&self.result_read, 64 * 1024));
            let result = self.result(status, report);
            // The watch closes itself when we return true: forget our handle to it.
            WATCH.with(|slot| slot.borrow_mut().take());
            lock(&ACTIVE).take();
            if let Some(done) = self.done.take() {
                done(result);
            }
            true
        }

        fn result(&self, status: Option<ChildStatus>, report: Option<ChildReport>) -> Result<DumpOutcome, Failure> {
            let status_text = status.map_or_else(|| "an unknown status".to_string(), |status| status.to_string());
            if self.timed_out {
                return Err(Failure::new(format!(
                    "the child (pid {}) did not finish within {} ms and was killed",
                    self.pid,
                    self.timeout.as_millis()
                )));
            }
            match (report, status) {
                (
                    Some(ChildReport::Done { path, bytes, raw_bytes, compression, redacted, disk_estimated, disk_available, .. }),
                    Some(ChildStatus::Exited(0)),
                ) => {
                    let path = PathBuf::from(path);
                    // The child wrote the memory record after the snapshot, when it was asked for.
                    let record = heapsnap_core::write::memory_record::companion_path(&path);
                    Ok(DumpOutcome {
                        memory_file: record.exists().then_some(record),
                        path,
                        bytes,
                        raw_bytes,
                        compression: compression.parse().unwrap_or(Compression::None),
                        duration: self.started.elapsed(),
                        pause: self.pause,
                        redacted,
                        memory: self.memory.clone(),
                        disk: crate::space::DiskContext { estimated: disk_estimated, available: disk_available },
                        warnings: Vec::new(),
                    })
                }
                (Some(ChildReport::Failed { code, message }), _) => {
                    Err(Failure::new(format!("the child (pid {}) failed: {code}: {message}", self.pid)))
                }
                _ => Err(Failure::new(format!("the child (pid {}) ended with {status_text} before finishing", self.pid))),
            }
        }
    }

    /// For a process about to exit: kill the running child (its unnamed file goes with it);
    /// how many were killed.
    pub fn abandon() -> u32 {
        let Some(active) = lock(&ACTIVE).take() else { return 0 };
        kill_and_clean(active.pid);
        1
    }

    /// For an environment being torn down (a worker exiting): its watch must be closed before
    /// its loop is, and its child must not outlive it.
    pub fn abandon_on_this_thread() {
        if let Some(watch) = WATCH.with(|slot| slot.borrow_mut().take()) {
            abandon();
            watch.close();
        }
    }
}
