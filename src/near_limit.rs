//! A snapshot just before V8 runs out of heap.
//!
//! V8 calls our near-heap-limit callback from inside a GC, where taking a snapshot would
//! nest a GC in a GC. So the callback only raises the limit enough to keep going and asks
//! for an interrupt; the dump runs at the next safe point in JS. After the last allowed dump
//! the limit is restored, so the process dies of OOM as it would have without us.

use std::cell::RefCell;
use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::trigger::TriggerOptions;
use crate::error::DumpError;
use crate::sync::lock;
use crate::v8::{InterruptHandle, Isolate};

/// How many times the limit may be raised while a requested dump has not started yet
/// (e.g. the interrupt is slow to fire): bounded, so a runaway process still dies.
const MAX_RAISES_PER_DUMP: u32 = 3;


struct NearLimit {
    options: Mutex<TriggerOptions>,
    dumps_left: AtomicU32,
    /// Raises since the last dump finished.
    raises: AtomicU32,
    /// The limit V8 had when it first warned us: restored after the last dump.
    original_limit: AtomicUsize,
    pending: AtomicBool,
    /// A dump is running (its GC can call us back).
    dumping: AtomicBool,
    closed: AtomicBool,
    interrupt: InterruptHandle,
    /// The isolate, for a dump from inside the callback (which V8 calls on its thread).
    isolate: *mut c_void,
}

// SAFETY: `isolate` is only turned back into an Isolate on the isolate's own thread (inside
// V8's callbacks); the other fields are atomics and a mutex.
unsafe impl Send for NearLimit {}
// SAFETY: as above.
unsafe impl Sync for NearLimit {}

thread_local! {
    static CURRENT: RefCell<Option<Arc<NearLimit>>> = const { RefCell::new(None) };
}

/// Arms (or re-arms with new options) this environment's near-heap-limit dump.
pub fn install(isolate: &Isolate, options: TriggerOptions, max_dumps: u32) -> Result<(), DumpError> {
    uninstall(isolate);
    if max_dumps == 0 {
        return Ok(());
    }
    let state = Arc::new(NearLimit {
        options: Mutex::new(options),
        dumps_left: AtomicU32::new(max_dumps),
        raises: AtomicU32::new(0),
        original_limit: AtomicUsize::new(0),
        pending: AtomicBool::new(false),
        dumping: AtomicBool::new(false),
        closed: AtomicBool::new(false),
        interrupt: isolate.interrupt_handle(),
        isolate: isolate.as_raw(),
    });
    // The registration holds one reference, given back in `uninstall`.
    let data = Arc::into_raw(state.clone()) as *mut c_void;
    // SAFETY: `on_near_heap_limit` never unwinds, and `data` stays valid until uninstall
    // removes the callback.
    unsafe { isolate.add_near_heap_limit_callback(on_near_heap_limit, data) };
    CURRENT.with(|current| *current.borrow_mut() = Some(state));
    Ok(())
}

/// Removes the callback and puts back the limit V8 had before we raised it.
pub fn uninstall(isolate: &Isolate) {
    let Some(state) = CURRENT.with(|current| current.borrow_mut().take()) else { return };
    remove(isolate, &state);
}

fn remove(isolate: &Isolate, state: &Arc<NearLimit>) {
    if state.closed.swap(true, Ordering::SeqCst) {
        return;
    }
    isolate.remove_near_heap_limit_callback(on_near_heap_limit, state.original_limit.load(Ordering::SeqCst));
    // SAFETY: the registration's reference from `install`; V8 no longer calls us with it.
    drop(unsafe { Arc::from_raw(Arc::as_ptr(state)) });
}

/// Inside V8's GC: raise the limit and schedule the dump.
unsafe extern "C" fn on_near_heap_limit(data: *mut c_void, current: usize, _initial: usize) -> usize {
    // SAFETY: `data` is the registration's reference, alive while the callback is installed;
    // ManuallyDrop keeps us from releasing it, and our own clone keeps the state alive even
    // if the dump below removes the registration.
    let state = Arc::clone(&ManuallyDrop::new(unsafe { Arc::from_raw(data as *const NearLimit) }));
    let raise = || -> usize {
        if state.closed.load(Ordering::SeqCst) || state.dumps_left.load(Ordering::SeqCst) == 0 {
            return current;
        }
        if state.dumping.load(Ordering::SeqCst) {
            // The snapshot's own GC is short of room: give it some, or the dump itself dies.
            return current + headroom(current);
        }
        if state.raises.fetch_add(1, Ordering::SeqCst) >= MAX_RAISES_PER_DUMP {
            return current;
        }
        let _ = state.original_limit.compare_exchange(0, current, Ordering::SeqCst, Ordering::SeqCst);
        if !state.pending.swap(true, Ordering::SeqCst) {
            request_dump(&state);
        } else {
            // The interrupt did not come in time (V8 13 holds it back while the heap is this
            // full): dump right here, inside the GC callback, as Node's own near-limit
            // snapshot does. V8 supports taking a snapshot from this callback.
            // SAFETY: V8 calls this callback on the isolate's thread.
            let isolate = unsafe { Isolate::from_raw(state.isolate) };
            dump_now(&isolate, &state);
            if state.closed.load(Ordering::SeqCst) {
                // Last dump done: no more room, the allocation fails as it would have.
                return current;
            }
        }
        current + headroom(current)
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(raise)).unwrap_or(current)
}

/// Room for the program to reach the interrupt, or for the snapshot's GC to finish.
fn headroom(current: usize) -> usize {
    (current / 2).max(64 << 20)
}

/// Asks for the dump from another thread: V8 13 drops interrupts requested from inside its
/// own GC, and one requested from outside is served at the next safe point in JS.
fn request_dump(state: &Arc<NearLimit>) {
    let interrupt = state.interrupt;
    // Carried as an address: the reference is released by `on_interrupt`.
    let data = Arc::into_raw(Arc::clone(state)) as usize;
    let spawned = std::thread::Builder::new().name("heapsnap-oom".into()).spawn(move || {
        // SAFETY: the isolate is alive while its near-heap-limit callback is installed (the
        // environment's teardown removes it), and `on_interrupt` takes back `data`.
        unsafe { interrupt.request_interrupt(on_interrupt, data as *mut c_void) };
    });
    if spawned.is_err() {
        // SAFETY: no thread took `data`: release it, and let a later callback try again.
        drop(unsafe { Arc::from_raw(data as *const NearLimit) });
        state.pending.store(false, Ordering::SeqCst);
    }
}

unsafe extern "C" fn on_interrupt(isolate: *mut c_void, data: *mut c_void) {
    // SAFETY: the reference `on_near_heap_limit` leaked for this interrupt; we take it back.
    let state = unsafe { Arc::from_raw(data as *const NearLimit) };
    // SAFETY: V8 runs interrupts on the isolate's own thread and passes that isolate.
    let isolate = unsafe { Isolate::from_raw(isolate) };
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dump_now(&isolate, &state)));
}

fn dump_now(isolate: &Isolate, state: &Arc<NearLimit>) {
    // Both the interrupt and the callback may try: the first one dumps.
    if state.closed.load(Ordering::SeqCst) || !state.pending.load(Ordering::SeqCst) {
        return;
    }
    let options = lock(&state.options).clone();
    state.dumping.store(true, Ordering::SeqCst);
    let _written = options.write_and_report(isolate, "near-heap-limit", "near the heap limit: ");
    state.dumping.store(false, Ordering::SeqCst);
    state.raises.store(0, Ordering::SeqCst);
    state.pending.store(false, Ordering::SeqCst);
    if state.dumps_left.fetch_sub(1, Ordering::SeqCst) <= 1 {
        // Last dump: give V8 its limit back and let the process meet the fate it was heading for.
        CURRENT.with(|current| {
            let mut current = current.borrow_mut();
            if current.as_ref().is_some_and(|mine| Arc::ptr_eq(mine, state)) {
                *current = None;
            }
        });
        remove(isolate, state);
    }
}
