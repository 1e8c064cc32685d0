//! libuv half of the native boundary: a signal watcher on its own thread and loop, and
//! wake-ups for a JS thread's event loop. Both built in shim.cc on the libuv Node exports.

use std::ffi::{c_int, c_void, CStr};

mod ffi {
    use std::ffi::{c_char, c_int, c_void};

    #[repr(C)]
    pub struct SignalWatcher {
        _opaque: [u8; 0],
    }
    #[repr(C)]
    pub struct Wakeup {
        _opaque: [u8; 0],
    }

    extern "C" {
        pub fn heapsnap_signal_watcher_start(
            signum: c_int,
            callback: unsafe extern "C" fn(data: *mut c_void, signum: c_int),
            data: *mut c_void,
            error: *mut c_int,
        ) -> *mut SignalWatcher;
        pub fn heapsnap_signal_watcher_stop(watcher: *mut SignalWatcher);
        pub fn heapsnap_wakeup_new(
            uv_loop: *mut c_void,
            callback: unsafe extern "C" fn(data: *mut c_void),
            data: *mut c_void,
            error: *mut c_int,
        ) -> *mut Wakeup;
        pub fn heapsnap_wakeup_send(wakeup: *mut Wakeup);
        pub fn heapsnap_wakeup_close(wakeup: *mut Wakeup);
        pub fn heapsnap_uv_err_name(error: c_int) -> *const c_char;
    }
}

/// A libuv error, by name ("EINVAL").
#[derive(Debug, Clone, thiserror::Error)]
#[error("{name}")]
pub struct UvError {
    pub name: String,
}

pub(super) fn uv_error(code: c_int) -> UvError {
    // SAFETY: uv_err_name returns a static string for any code ("Unknown system error" otherwise).
    let name = unsafe { CStr::from_ptr(ffi::heapsnap_uv_err_name(code)) };
    UvError { name: name.to_string_lossy().into_owned() }
}

type SignalCallback = Box<dyn Fn(i32) + Send + Sync>;

/// Sees a signal on a thread of its own, however busy the JS threads are. Stops on drop.
pub struct SignalWatcher {
    raw: *mut ffi::SignalWatcher,
    callback: *mut SignalCallback,
}

// SAFETY: the watcher is only started and stopped through this handle; its callback is Sync.
unsafe impl Send for SignalWatcher {}

impl SignalWatcher {
    pub fn start(signum: i32, callback: impl Fn(i32) + Send + Sync + 'static) -> Result<SignalWatcher, UvError> {
        let callback: *mut SignalCallback = Box::into_raw(Box::new(Box::new(callback)));
        let mut error = 0;
        // SAFETY: `callback` stays allocated until the watcher thread is joined in Drop.
        let raw = unsafe { ffi::heapsnap_signal_watcher_start(signum, on_signal, callback.cast(), &mut error) };
        if raw.is_null() {
            // SAFETY: the watcher never started, so nothing else holds `callback`.
            drop(unsafe { Box::from_raw(callback) });
            return Err(uv_error(error));
        }
        Ok(SignalWatcher { raw, callback })
    }
}

impl Drop for SignalWatcher {
    fn drop(&mut self) {
        // SAFETY: `raw` is a running watcher; stop joins its thread, after which nothing calls
        // `callback` and it can be freed.
        unsafe {
            ffi::heapsnap_signal_watcher_stop(self.raw);
            drop(Box::from_raw(self.callback));
        }
    }
}

unsafe extern "C" fn on_signal(data: *mut c_void, signum: c_int) {
    // SAFETY: `data` is the boxed callback owned by the running SignalWatcher.
    let callback = unsafe { &*data.cast::<SignalCallback>() };
    // A panic must not unwind into libuv.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(signum)));
}

/// Runs a callback on a JS thread's event loop when poked from any thread. Must be closed
/// on that loop's thread with [`Wakeup::close`]; it does not keep the loop alive.
pub struct Wakeup {
    raw: *mut ffi::Wakeup,
}

// SAFETY: sending is thread-safe in libuv (uv_async_send); closing is documented as loop-thread only.
unsafe impl Send for Wakeup {}
// SAFETY: as above.
unsafe impl Sync for Wakeup {}

impl Wakeup {
    /// # Safety
    /// `uv_loop` must be the live loop of the calling thread; `callback(data)` runs on that
    /// thread for every send until close, so `data` must outlive [`Wakeup::close`].
    pub unsafe fn new(
        uv_loop: *mut c_void,
        callback: unsafe extern "C" fn(data: *mut c_void),
        data: *mut c_void,
    ) -> Result<Wakeup, UvError> {
        let mut error = 0;
        // SAFETY: the caller vouches for the loop, the callback and data.
        let raw = unsafe { ffi::heapsnap_wakeup_new(uv_loop, callback, data, &mut error) };
        if raw.is_null() {
            return Err(uv_error(error));
        }
        Ok(Wakeup { raw })
    }

    /// Pokes the loop. Any thread; callers make sure close has not happened yet.
    pub fn send(&self) {
        // SAFETY: the handle is open (close consumes self).
        unsafe { ffi::heapsnap_wakeup_send(self.raw) }
    }

    /// Closes the handle; on the loop's thread only.
    pub fn close(self) {
        // SAFETY: called on the loop's thread (caller's contract); libuv frees it after close.
        unsafe { ffi::heapsnap_wakeup_close(self.raw) }
    }
}
