//! The V8 boundary: declarations of the C++ shim (shim.cc) and a safe Rust face for them.
//!
//! Everything `unsafe` in heapsnap lives here. The invariants the rest of the crate relies on:
//! an [`Isolate`] is only obtained on, and used from, its own thread (it is `!Send`), except
//! through [`InterruptHandle`]; a [`Snapshot`] is deleted on that same thread when dropped;
//! no Rust panic unwinds into C++.

use std::ffi::{c_char, c_int, c_void, CStr};

#[cfg(target_os = "linux")]
pub mod call;
pub mod fork;
pub mod sampling;
pub mod uv;
use std::marker::PhantomData;

use heapsnap_core::write::memory_record::HeapSpace;
use std::panic::{catch_unwind, AssertUnwindSafe};

mod ffi {
    use std::ffi::{c_char, c_int, c_void};

    pub type ChunkCallback = unsafe extern "C" fn(ctx: *mut c_void, data: *const c_char, size: c_int) -> c_int;
    pub type InterruptCallback = unsafe extern "C" fn(isolate: *mut c_void, data: *mut c_void);
    pub type NearHeapLimitCallback = unsafe extern "C" fn(data: *mut c_void, current: usize, initial: usize) -> usize;

    extern "C" {
        pub fn heapsnap_node_module_version() -> c_int;
        pub fn heapsnap_v8_major_version() -> c_int;
        pub fn heapsnap_current_isolate() -> *mut c_void;
        pub fn heapsnap_take_snapshot(isolate: *mut c_void, expose_internals: c_int, numeric_values: c_int) -> *const c_void;
        pub fn heapsnap_serialize_snapshot(snapshot: *const c_void, callback: ChunkCallback, ctx: *mut c_void) -> c_int;
        pub fn heapsnap_delete_snapshot(snapshot: *const c_void);
        pub fn heapsnap_warm_script_line_ends(isolate: *mut c_void, scripts: *mut u32, lines: *mut u64) -> c_int;
        pub fn heapsnap_low_memory_notification(isolate: *mut c_void);
        pub fn heapsnap_get_heap_statistics(isolate: *mut c_void, out: *mut super::HeapStatistics);
        pub fn heapsnap_heap_space_count(isolate: *mut c_void) -> usize;
        pub fn heapsnap_start_tracking_allocations(isolate: *mut c_void);
        pub fn heapsnap_stop_tracking_allocations(isolate: *mut c_void);
        pub fn heapsnap_get_heap_space(isolate: *mut c_void, index: usize, out: *mut super::RawHeapSpace) -> c_int;
        pub fn heapsnap_request_interrupt(isolate: *mut c_void, callback: InterruptCallback, data: *mut c_void);
        pub fn heapsnap_add_near_heap_limit_callback(isolate: *mut c_void, callback: NearHeapLimitCallback, data: *mut c_void);
        pub fn heapsnap_remove_near_heap_limit_callback(isolate: *mut c_void, callback: NearHeapLimitCallback, heap_limit: usize);
    }
}

pub use ffi::{InterruptCallback, NearHeapLimitCallback};

/// NODE_MODULE_VERSION of the headers the shim was compiled against.
pub fn built_for_module_version() -> i32 {
    // SAFETY: returns a compile-time constant; touches no V8 state.
    unsafe { ffi::heapsnap_node_module_version() }
}

/// V8 major version of the headers the shim was compiled against.
pub fn built_for_v8_major() -> i32 {
    // SAFETY: returns a compile-time constant; touches no V8 state.
    unsafe { ffi::heapsnap_v8_major_version() }
}

/// Snapshot flavours V8 offers (DevTools' "expose internals" and "include numerical values").
#[derive(Debug, Clone, Copy, Default)]
pub struct SnapshotOptions {
    pub expose_internals: bool,
    pub numeric_values: bool,
}

/// The fields of `v8::HeapStatistics` heapsnap uses; same layout as the shim's struct.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct HeapStatistics {
    pub total_heap_size: u64,
    pub used_heap_size: u64,
    pub heap_size_limit: u64,
    pub external_memory: u64,
    pub malloced_memory: u64,
}

/// One heap space as the shim returns it (`heapsnap_heap_space`).
#[repr(C)]
pub struct RawHeapSpace {
    name: *const c_char,
    size: u64,
    used: u64,
    available: u64,
    physical: u64,
}

/// What warming the script line ends did (see [`Isolate::warm_script_line_ends`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEndWarmup {
    /// `scripts` scripts have their line ends cached; `lines` is the sum of their last line numbers.
    Warmed { scripts: u32, lines: u64 },
    /// V8 >= 12 caches line ends itself while it builds a snapshot.
    NotNeeded,
    /// This node or platform lacks V8's debug interface: snapshots are only slower.
    Unavailable,
}

/// The isolate of the calling thread. Not `Send`: V8 may only be driven from its own thread.
pub struct Isolate {
    raw: *mut c_void,
    _not_send: PhantomData<*mut ()>,
}

impl Isolate {
    /// The isolate running JS on this thread, if any. Called from a napi callback or a V8
    /// interrupt, this is the main thread's or the worker's own isolate.
    pub fn current() -> Option<Isolate> {
        // SAFETY: Isolate::GetCurrent only reads a thread-local.
        let raw = unsafe { ffi::heapsnap_current_isolate() };
        (!raw.is_null()).then_some(Isolate { raw, _not_send: PhantomData })
    }

    /// Rebuilds the handle inside a V8 callback that hands us the isolate pointer.
    ///
    /// # Safety
    /// `raw` must be the live isolate of the calling thread.
    pub unsafe fn from_raw(raw: *mut c_void) -> Isolate {
        Isolate { raw, _not_send: PhantomData }
    }

    /// A full GC, as `global.gc()` would do, with or without `--expose-gc`.
    pub fn full_gc(&self) {
        // SAFETY: we are on the isolate's thread (Isolate is !Send and only made there).
        unsafe { ffi::heapsnap_low_memory_notification(self.raw) }
    }

    /// V8's heap figures now (what `v8.getHeapStatistics()` and `process.memoryUsage()` show).
    pub fn heap_statistics(&self) -> HeapStatistics {
        let mut stats = HeapStatistics::default();
        // SAFETY: on the isolate's thread; `stats` is a valid, writable struct with the shim's
        // layout (repr(C), five u64) for the duration of the call.
        unsafe { ffi::heapsnap_get_heap_statistics(self.raw, &mut stats) };
        stats
    }

    /// Records the JS stack of every allocation from now on, so that snapshots carry allocation
    /// traces (costly: for tests, not production).
    pub fn start_tracking_allocations(&self) {
        // SAFETY: on the isolate's thread; the heap profiler lives as long as the isolate.
        unsafe { ffi::heapsnap_start_tracking_allocations(self.raw) }
    }

    /// Stops [`start_tracking_allocations`](Self::start_tracking_allocations) and frees what it recorded.
    pub fn stop_tracking_allocations(&self) {
        // SAFETY: as above; stopping when not tracking is a no-op in V8.
        unsafe { ffi::heapsnap_stop_tracking_allocations(self.raw) }
    }

    /// Every heap space's figures now, in V8's order.
    pub fn heap_spaces(&self) -> Vec<HeapSpace> {
        // SAFETY: on the isolate's thread; the call only reads V8's counters.
        let count = unsafe { ffi::heapsnap_heap_space_count(self.raw) };
        (0..count)
            .filter_map(|index| {
                let mut raw = RawHeapSpace { name: std::ptr::null(), size: 0, used: 0, available: 0, physical: 0 };
                // SAFETY: on the isolate's thread; `raw` is a valid, writable struct with the
                // shim's layout for the duration of the call.
                let found = unsafe { ffi::heapsnap_get_heap_space(self.raw, index, &mut raw) } != 0;
                if !found || raw.name.is_null() {
                    return None;
                }
                // SAFETY: V8's space names are static, NUL-terminated C strings.
                let name = unsafe { CStr::from_ptr(raw.name) }.to_string_lossy().into_owned();
                Some(HeapSpace { name, size: raw.size, used: raw.used, available: raw.available, physical: raw.physical })
            })
            .collect()
    }

    /// Caches every script's line ends, so that V8 < 12 does not recompute them for each
    /// function while it builds a snapshot (seconds with a large bundle loaded). Uses V8 debug
    /// functions the shim finds at run time; does nothing where they are missing or not needed.
    pub fn warm_script_line_ends(&self) -> LineEndWarmup {
        let (mut scripts, mut lines) = (0u32, 0u64);
        // SAFETY: on the isolate's thread; the shim opens its own HandleScope, and the out
        // pointers are valid for the call.
        let status = unsafe { ffi::heapsnap_warm_script_line_ends(self.raw, &mut scripts, &mut lines) };
        match status {
            0 => LineEndWarmup::Warmed { scripts, lines },
            1 => LineEndWarmup::NotNeeded,
            _ => LineEndWarmup::Unavailable,
        }
    }

    /// Takes a heap snapshot; `None` when V8 returned none.
    pub fn take_snapshot(&self, options: SnapshotOptions) -> Option<Snapshot<'_>> {
        // SAFETY: on the isolate's thread; the shim opens its own HandleScope.
        let raw = unsafe {
            ffi::heapsnap_take_snapshot(self.raw, options.expose_internals as c_int, options.numeric_values as c_int)
        };
        (!raw.is_null()).then_some(Snapshot { raw, _isolate: PhantomData })
    }

    /// The raw pointer, for state that V8 hands back to our callbacks on this thread.
    pub fn as_raw(&self) -> *mut c_void {
        self.raw
    }

    /// A handle that other threads may use to interrupt this isolate.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle { raw: self.raw }
    }

    /// Registers a near-heap-limit callback. `data` must stay valid until it is removed.
    ///
    /// # Safety
    /// `callback` must not unwind and must treat `data` according to its own contract.
    pub unsafe fn add_near_heap_limit_callback(&self, callback: NearHeapLimitCallback, data: *mut c_void) {
        // SAFETY: on the isolate's thread; the caller vouches for callback and data.
        unsafe { ffi::heapsnap_add_near_heap_limit_callback(self.raw, callback, data) }
    }

    /// Removes a callback registered with [`Isolate::add_near_heap_limit_callback`];
    /// `heap_limit` 0 keeps the current limit.
    pub fn remove_near_heap_limit_callback(&self, callback: NearHeapLimitCallback, heap_limit: usize) {
        // SAFETY: on the isolate's thread; removing an unknown callback is a no-op in V8.
        unsafe { ffi::heapsnap_remove_near_heap_limit_callback(self.raw, callback, heap_limit) }
    }
}

/// A cross-thread handle to an isolate, good only for [`InterruptHandle::request_interrupt`].
#[derive(Clone, Copy)]
pub struct InterruptHandle {
    raw: *mut c_void,
}

// SAFETY: RequestInterrupt is the one V8 entry point documented as callable from any thread.
unsafe impl Send for InterruptHandle {}
// SAFETY: as above; the handle is a plain pointer that is never dereferenced on this side.
unsafe impl Sync for InterruptHandle {}

impl InterruptHandle {
    /// Asks V8 to run `callback(isolate, data)` on the isolate's thread when JS next runs.
    ///
    /// # Safety
    /// The isolate must still be alive, and `data` must stay valid until the callback has run
    /// (a pending interrupt can fire late, or never if the isolate is torn down first).
    pub unsafe fn request_interrupt(&self, callback: InterruptCallback, data: *mut c_void) {
        // SAFETY: RequestInterrupt is thread-safe; the caller vouches for liveness and data.
        unsafe { ffi::heapsnap_request_interrupt(self.raw, callback, data) }
    }
}

/// A snapshot V8 holds in its own heap; deleted on drop, on the isolate's thread (it borrows
/// the [`Isolate`], which cannot leave that thread).
pub struct Snapshot<'isolate> {
    raw: *const c_void,
    _isolate: PhantomData<&'isolate Isolate>,
}

impl Snapshot<'_> {
    /// Streams the snapshot's JSON to `write`, one chunk at a time. `write` returning false
    /// stops the serializer; the result says whether every chunk was accepted.
    pub fn serialize(&self, write: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let mut state = ChunkState { write, panicked: false };
        // SAFETY: `self.raw` is a live snapshot on its isolate's thread; `state` outlives the
        // call, and `forward_chunk` is the callback type the shim expects.
        let aborted = unsafe {
            ffi::heapsnap_serialize_snapshot(self.raw, forward_chunk, (&mut state as *mut ChunkState).cast())
        };
        aborted == 0 && !state.panicked
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        // SAFETY: the snapshot is live and we are on its isolate's thread (see the type docs).
        unsafe { ffi::heapsnap_delete_snapshot(self.raw) }
    }
}

struct ChunkState<'a> {
    write: &'a mut dyn FnMut(&[u8]) -> bool,
    panicked: bool,
}

/// The serializer's per-chunk callback: hands the chunk to Rust, never lets a panic out.
unsafe extern "C" fn forward_chunk(ctx: *mut c_void, data: *const c_char, size: c_int) -> c_int {
    // SAFETY: `ctx` is the `ChunkState` that `Snapshot::serialize` passed and keeps alive.
    let state = unsafe { &mut *ctx.cast::<ChunkState>() };
    let len = usize::try_from(size).unwrap_or(0);
    let chunk: &[u8] = if len == 0 || data.is_null() {
        &[]
    } else {
        // SAFETY: V8 guarantees `data` points at `size` bytes for the duration of the call.
        unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
    };
    match catch_unwind(AssertUnwindSafe(|| (state.write)(chunk))) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(_) => {
            state.panicked = true;
            1
        }
    }
}
