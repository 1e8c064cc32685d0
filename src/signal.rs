//! Signal-triggered dumps that work even while JS spins in a busy loop.
//!
//! A watcher thread (its own libuv loop, sharing Node's process-wide signal handler) sees the
//! signal and arms two things for every JS environment that installed a handler: a V8
//! interrupt, which fires inside running JS, and a wake-up of the environment's event loop,
//! which fires when it is idle. Whichever runs first dumps; the other finds nothing pending.
//! Signals that arrive while a dump is pending or running are coalesced into it; the others
//! are subject to the handler's rate limit (heapsnap-core's `rate_limit`).

use std::cell::RefCell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use heapsnap_core::write::rate_limit::{History, Limits};

use crate::sync::lock;
use crate::trigger::TriggerOptions;
use crate::error::DumpError;
use crate::remote;
use crate::v8::uv::{SignalWatcher, Wakeup};
use crate::v8::{InterruptHandle, Isolate};

/// One JS environment (main thread or worker) that dumps on a signal.
struct Trigger {
    signum: i32,
    options: Mutex<TriggerOptions>,
    limits: Mutex<Limits>,
    history: Mutex<History>,
    /// Signals seen by the watcher thread, coalesced ones included.
    received: AtomicU64,
    /// A dump was requested and has not finished yet.
    pending: AtomicBool,
    /// The environment is gone or removed its handler: late interrupts do nothing.
    closed: AtomicBool,
    interrupt: InterruptHandle,
    /// `None` once closed; the lock keeps a send from racing the close.
    wakeup: Mutex<Option<Wakeup>>,
}

/// Process-wide: which environments listen to which signal, and one watcher per signal.
struct Registry {
    triggers: Vec<Arc<Trigger>>,
    watchers: Vec<(i32, SignalWatcher)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { triggers: Vec::new(), watchers: Vec::new() });

thread_local! {
    /// This thread's environment's trigger: one isolate per thread, so no global isolate pointer.
    static CURRENT: RefCell<Option<Arc<Trigger>>> = const { RefCell::new(None) };
}

/// Installs (or reconfigures) this environment's handler for `signum`.
///
/// # Safety
/// `uv_loop` must be the event loop of the calling thread's environment, and
/// [`uninstall`] must run on this thread before that loop is closed (an env cleanup hook).
/// Reinstalling for the same signal keeps the handler's history (its rate limit still counts).
pub unsafe fn install(isolate: &Isolate, uv_loop: *mut c_void, signum: i32, options: TriggerOptions, limits: Limits) -> Result<(), DumpError> {
    let existing = CURRENT.with(|current| current.borrow().clone());
    if let Some(trigger) = existing {
        if trigger.signum == signum {
            *lock(&trigger.options) = options;
            *lock(&trigger.limits) = limits;
            return Ok(());
        }
        uninstall();
    }
    let trigger = Arc::new(Trigger {
        signum,
        options: Mutex::new(options),
        limits: Mutex::new(limits),
        history: Mutex::new(History::default()),
        received: AtomicU64::new(0),
        pending: AtomicBool::new(false),
        closed: AtomicBool::new(false),
        interrupt: isolate.interrupt_handle(),
        wakeup: Mutex::new(None),
    });
    // The wake-up's callbacks borrow the trigger until `uninstall` closes it; this
    // reference is given back there.
    let data = Arc::into_raw(trigger.clone()) as *mut c_void;
    // SAFETY: the caller vouches for the loop; `data` stays valid until uninstall closes the wake-up.
    let wakeup = unsafe { Wakeup::new(uv_loop, on_wakeup, data) }.map_err(|err| {
        // SAFETY: the wake-up was not created, so nothing else holds this reference.
        drop(unsafe { Arc::from_raw(data as *const Trigger) });
        DumpError::Signal(format!("cannot watch the event loop: {err}"))
    })?;
    *lock(&trigger.wakeup) = Some(wakeup);

    let mut registry = lock(&REGISTRY);
    if !registry.watchers.iter().any(|(watched, _)| *watched == signum) {
        let watcher = SignalWatcher::start(signum, on_signal).map_err(|err| {
            if let Some(wakeup) = lock(&trigger.wakeup).take() {
                wakeup.close();
            }
            // SAFETY: the wake-up is closed: the reference it held is ours to release.
            drop(unsafe { Arc::from_raw(data as *const Trigger) });
            DumpError::Signal(format!("cannot listen for signal {signum}: {err}"))
        })?;
        registry.watchers.push((signum, watcher));
    }
    registry.triggers.push(trigger.clone());
    drop(registry);
    CURRENT.with(|current| *current.borrow_mut() = Some(trigger));
    Ok(())
}

/// Removes this environment's handler, if any. On the environment's thread.
pub fn uninstall() {
    let Some(trigger) = CURRENT.with(|current| current.borrow_mut().take()) else { return };
    trigger.closed.store(true, Ordering::SeqCst);
    let idle_watcher = {
        let mut registry = lock(&REGISTRY);
        registry.triggers.retain(|other| !Arc::ptr_eq(other, &trigger));
        let still_wanted = registry.triggers.iter().any(|other| other.signum == trigger.signum);
        let position = registry.watchers.iter().position(|(signum, _)| *signum == trigger.signum);
        match position {
            Some(index) if !still_wanted => Some(registry.watchers.remove(index).1),
            _ => None,
        }
    };
    // Stopped outside the registry lock: the watcher thread may be waiting for it.
    drop(idle_watcher);
    let wakeup = lock(&trigger.wakeup).take();
    if let Some(wakeup) = wakeup {
        wakeup.close();
        // SAFETY: the reference given to the wake-up in `install`; it can no longer fire.
        drop(unsafe { Arc::from_raw(Arc::as_ptr(&trigger)) });
    }
}

/// Whether this environment has a handler installed.
pub fn is_installed() -> bool {
    CURRENT.with(|current| current.borrow().is_some())
}

/// What this environment's handler has done: the acknowledgement a caller (or a test) can
/// read instead of guessing from an empty directory.
#[derive(Debug, Clone, Copy)]
pub struct Status {
    pub signum: i32,
    pub limits: Limits,
    pub received: u64,
    pub dumps: u32,
    pub skipped: u32,
    /// Whether a dump is pending or running now.
    pub pending: bool,
}

/// This environment's handler's status, `None` when none is installed.
pub fn status() -> Option<Status> {
    let trigger = CURRENT.with(|current| current.borrow().clone())?;
    let history = *lock(&trigger.history);
    let limits = *lock(&trigger.limits);
    Some(Status {
        signum: trigger.signum,
        limits,
        received: trigger.received.load(Ordering::SeqCst),
        dumps: history.dumps,
        skipped: history.skipped,
        pending: trigger.pending.load(Ordering::SeqCst),
    })
}

/// On the watcher thread: arm every environment that listens to `signum`.
fn on_signal(signum: i32) {
    let registry = lock(&REGISTRY);
    for trigger in registry.triggers.iter().filter(|trigger| trigger.signum == signum) {
        trigger.arm();
    }
}

impl Trigger {
    fn arm(self: &Arc<Self>) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        self.received.fetch_add(1, Ordering::SeqCst);
        if self.pending.swap(true, Ordering::SeqCst) {
            return;
        }
        // A pending interrupt can fire late (or never, if the isolate dies first): it owns a
        // reference so the trigger outlives it.
        let data = Arc::into_raw(self.clone()) as *mut c_void;
        // SAFETY: the trigger is registered, so its isolate is alive (uninstall runs before
        // the environment goes away); `data` is released by `on_interrupt`.
        unsafe { self.interrupt.request_interrupt(on_interrupt, data) };
        if let Some(wakeup) = lock(&self.wakeup).as_ref() {
            wakeup.send();
        }
    }

    /// On the environment's thread, from the interrupt or the wake-up.
    fn dump_if_pending(&self) {
        if self.closed.load(Ordering::SeqCst) || !self.pending.load(Ordering::SeqCst) {
            return;
        }
        let options = lock(&self.options).clone();
        match Isolate::current() {
            Some(isolate) => remote::on_signal(&isolate, &options, &mut || self.ordinary_dump(&isolate, &options)),
            None => eprintln!("heapsnap: signal dump failed: {}", DumpError::NoIsolate),
        }
        self.pending.store(false, Ordering::SeqCst);
    }

    /// The handler's own dump, if its rate limit allows; an ignored signal says why on stderr.
    fn ordinary_dump(&self, isolate: &Isolate, options: &TriggerOptions) {
        let limits = *lock(&self.limits);
        if let Err(skip) = lock(&self.history).admit(&limits, Instant::now()) {
            if !options.quiet {
                eprintln!("heapsnap: signal ignored: {skip}");
            }
            return;
        }
        // In the background when asked (src/background.rs), else in-process.
        let written = crate::background::signal_dump_and_report(isolate, options);
        lock(&self.history).ended(Instant::now(), written);
    }
}

unsafe extern "C" fn on_interrupt(_isolate: *mut c_void, data: *mut c_void) {
    // SAFETY: `data` is the reference `arm` leaked for this interrupt; we take it back.
    let trigger = unsafe { Arc::from_raw(data as *const Trigger) };
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| trigger.dump_if_pending()));
}

unsafe extern "C" fn on_wakeup(data: *mut c_void) {
    // SAFETY: `data` is the reference `install` gave the wake-up; it lives until uninstall.
    let trigger = unsafe { &*(data as *const Trigger) };
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| trigger.dump_if_pending()));
}
