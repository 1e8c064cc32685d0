//! V8's sampling heap profiler: declarations of the shim's `heapsnap_*_sampling_heap_profiler`
//! functions and a safe face for them. Like the rest of `v8`, every call runs on the isolate's
//! own thread (an [`Isolate`] cannot leave it), and no panic unwinds into C++.

use std::ffi::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use heapsnap_core::read::heapprofile::{CallFrame, HeapProfile, Sample};

use super::Isolate;

type NodeCallback = unsafe extern "C" fn(
    ctx: *mut c_void,
    id: u32,
    parent_id: u32,
    name: *const c_char,
    name_len: usize,
    url: *const c_char,
    url_len: usize,
    script_id: c_int,
    line: c_int,
    column: c_int,
    self_size: u64,
);
type SampleCallback = unsafe extern "C" fn(ctx: *mut c_void, node_id: u32, size: u64, ordinal: u64);

extern "C" {
    fn heapsnap_start_sampling_heap_profiler(isolate: *mut c_void, interval: u64, stack_depth: c_int, include_collected: c_int) -> c_int;
    fn heapsnap_read_allocation_profile(isolate: *mut c_void, on_node: NodeCallback, on_sample: SampleCallback, ctx: *mut c_void) -> c_int;
    fn heapsnap_stop_sampling_heap_profiler(isolate: *mut c_void);
}

/// Why the profiler did not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartError {
    /// V8 refused: a sampling profiler already runs on this isolate (the inspector's, or
    /// `--heap-prof`).
    AlreadyRunning,
    /// `include_collected` needs V8 >= 11 (Node 20).
    IncludeCollectedUnsupported,
}

impl Isolate {
    /// Starts V8's sampling heap profiler: one sample about every `interval` bytes allocated,
    /// with up to `stack_depth` frames; `include_collected` keeps samples of objects the GC
    /// has freed since.
    pub fn start_sampling_heap_profiler(&self, interval: u64, stack_depth: u32, include_collected: bool) -> Result<(), StartError> {
        let depth = c_int::try_from(stack_depth).unwrap_or(c_int::MAX);
        // SAFETY: on the isolate's thread (Isolate is !Send); plain values only.
        match unsafe { heapsnap_start_sampling_heap_profiler(self.as_raw(), interval, depth, include_collected as c_int) } {
            0 => Ok(()),
            2 => Err(StartError::IncludeCollectedUnsupported),
            _ => Err(StartError::AlreadyRunning),
        }
    }

    /// The allocation profile so far (the samples still alive), copied out of V8; `None` when
    /// no profiler runs or a callback failed.
    pub fn allocation_profile(&self) -> Option<HeapProfile> {
        let mut state = ProfileState { profile: HeapProfile::default(), failed: false };
        // SAFETY: on the isolate's thread; `state` outlives the call, and the callbacks have
        // the types the shim expects and do not unwind.
        let status = unsafe {
            heapsnap_read_allocation_profile(self.as_raw(), on_node, on_sample, (&mut state as *mut ProfileState).cast())
        };
        (status == 0 && !state.failed).then_some(state.profile)
    }

    /// Stops the sampling profiler (a no-op when none runs).
    pub fn stop_sampling_heap_profiler(&self) {
        // SAFETY: on the isolate's thread; V8 ignores a stop without a start.
        unsafe { heapsnap_stop_sampling_heap_profiler(self.as_raw()) }
    }
}

struct ProfileState {
    profile: HeapProfile,
    failed: bool,
}

/// # Safety
/// `ptr` must point at `len` bytes (or be null), valid for the call.
unsafe fn text(ptr: *const c_char, len: usize) -> String {
    if ptr.is_null() || len == 0 {
        return String::new();
    }
    // SAFETY: the shim passes a Utf8Value's buffer and length, alive during the callback.
    String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) }).into_owned()
}

unsafe extern "C" fn on_node(
    ctx: *mut c_void,
    id: u32,
    parent_id: u32,
    name: *const c_char,
    name_len: usize,
    url: *const c_char,
    url_len: usize,
    script_id: c_int,
    line: c_int,
    column: c_int,
    self_size: u64,
) {
    // SAFETY: `ctx` is the ProfileState that `allocation_profile` passed and keeps alive.
    let state = unsafe { &mut *ctx.cast::<ProfileState>() };
    // SAFETY: the strings are valid for this call (see `text`).
    let (function_name, url) = unsafe { (text(name, name_len), text(url, url_len)) };
    let ok = catch_unwind(AssertUnwindSafe(|| {
        // V8 numbers lines and columns from 1 (0 when unknown); the file from 0 (-1 unknown).
        let frame = CallFrame {
            function_name,
            script_id: i64::from(script_id),
            url,
            line_number: i64::from(line) - 1,
            column_number: i64::from(column) - 1,
        };
        state.profile.push_node(id, parent_id, frame, self_size)
    }));
    if !matches!(ok, Ok(true)) {
        state.failed = true;
    }
}

unsafe extern "C" fn on_sample(ctx: *mut c_void, node_id: u32, size: u64, ordinal: u64) {
    // SAFETY: as in `on_node`.
    let state = unsafe { &mut *ctx.cast::<ProfileState>() };
    if catch_unwind(AssertUnwindSafe(|| state.profile.push_sample(Sample { node_id, size, ordinal }))).is_err() {
        state.failed = true;
    }
}
