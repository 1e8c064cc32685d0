//! The OS half of background (fork) dumps: fork with V8's heap included, the child's
//! detachment from the parent's resources, and the parent's watch on the child. Linux only;
//! src/background.rs decides when to use it. Every `unsafe` block of the feature is here.

use std::ffi::c_void;
use std::io;
use std::ops::Range;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::uv::UvError;

mod ffi {
    use std::ffi::{c_int, c_void};

    #[repr(C)]
    pub struct ChildWatch {
        _opaque: [u8; 0],
    }

    extern "C" {
        pub fn heapsnap_child_silence_worker_wakeups() -> c_int;
        pub fn heapsnap_child_watch_start(
            uv_loop: *mut c_void,
            pidfd: c_int,
            timeout_ms: u64,
            callback: unsafe extern "C" fn(data: *mut c_void, event: c_int),
            data: *mut c_void,
            error: *mut c_int,
        ) -> *mut ChildWatch;
        pub fn heapsnap_child_watch_close(watch: *mut ChildWatch);
    }
}

/// Which side of the fork the caller is on.
pub enum Forked {
    Parent { pid: i32 },
    Child,
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// A pipe for the child's report: (read end, write end), both close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 succeeded, so both are fresh descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A pidfd for `pid` (Linux >= 5.3): readable once the process has exited.
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: a plain syscall with integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The calling thread's kernel id.
pub fn gettid() -> u32 {
    // SAFETY: gettid cannot fail.
    unsafe { libc::gettid() as u32 }
}

/// Forks the process with V8's heap in the child: the `ranges` (the `MADV_DONTFORK` mappings
/// of /proc/self/smaps) are marked copyable just before `fork` and, in the parent, not
/// copyable again right after, so the parent's mappings end as they began. A range that
/// cannot be marked (unmapped meanwhile) is left alone.
///
/// # Safety
/// Call on the isolate's thread, with no V8 call in progress on it. In the child only
/// async-signal-safe work plus what [`child_detach`] allows may follow, and the child must
/// end with [`exit_child`]: it must never return into JS or run the parent's exit handlers.
pub unsafe fn fork_with_heap(ranges: &[Range<usize>]) -> io::Result<Forked> {
    let mut marked = Vec::with_capacity(ranges.len());
    for range in ranges {
        // SAFETY: madvise only changes the inheritance flag of whole mappings the kernel
        // listed for this process; it never touches their contents.
        if unsafe { libc::madvise(range.start as *mut c_void, range.len(), libc::MADV_DOFORK) } == 0 {
            marked.push(range.clone());
        }
    }
    // SAFETY: glibc's fork runs its atfork handlers (malloc stays usable in the child); the
    // caller upholds the child's contract above.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        return Ok(Forked::Child);
    }
    let error = (pid < 0).then(io::Error::last_os_error);
    for range in &marked {
        // SAFETY: as above; restores exactly the flag these mappings had.
        unsafe { libc::madvise(range.start as *mut c_void, range.len(), libc::MADV_DONTFORK) };
    }
    match error {
        Some(error) => Err(error),
        None => Ok(Forked::Parent { pid }),
    }
}

/// In the child, first thing: die with the parent (`PR_SET_PDEATHSIG`), and point every
/// inherited descriptor except `keep` at /dev/null. Closing them would make libuv abort on
/// its next use; leaving them would let the child act on the parent's epoll set, eventfds and
/// listening sockets (they are shared open files), and keep the parent's pipes open.
pub fn child_detach(parent: i32, keep: RawFd) -> io::Result<()> {
    // SAFETY: prctl with integer arguments; getppid cannot fail.
    unsafe {
        check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0))?;
        // The parent may have died before prctl: then nobody would kill us.
        if libc::getppid() != parent {
            exit_child(3);
        }
    }
    let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null")?;
    let null_fd = null.as_raw_fd();
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds {
        if fd == keep || fd == null_fd {
            continue;
        }
        // SAFETY: dup2 atomically replaces whatever `fd` refers to (the read_dir handle, now
        // closed, makes it fail with EBADF, which is fine) by /dev/null; no Rust object owns
        // the parent's descriptors in this process.
        unsafe { libc::dup2(null_fd, fd) };
    }
    Ok(())
}

/// In the child: make the node binary's condition-variable wake-ups no-ops, so V8's GC cannot
/// block signalling worker threads that stayed in the parent (see the shim). Returns how many
/// call sites were redirected; 0 means none could be, and the child must not go on.
pub fn child_silence_worker_wakeups() -> i32 {
    // SAFETY: only the child's private copy of node's GOT changes, and the child has no other
    // thread that could be calling through it meanwhile.
    unsafe { ffi::heapsnap_child_silence_worker_wakeups() }
}

/// Ends the child without atexit handlers, destructors or Node's exit path.
pub fn exit_child(code: i32) -> ! {
    // SAFETY: _exit ends the process at once; nothing is left to run.
    unsafe { libc::_exit(code) }
}

/// Writes all of `bytes` to `fd`, retrying on EINTR and short writes.
pub fn write_all(fd: RawFd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a valid buffer of its length.
        let written = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if written < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        bytes = &bytes[written as usize..];
    }
    Ok(())
}

/// Sends SIGKILL to `pid`, a child of ours that has not been reaped (so its pid is not reused).
pub fn kill(pid: i32) {
    // SAFETY: kill with integer arguments; an exited child makes it a no-op (or ESRCH).
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildStatus {
    Exited(i32),
    Signaled(i32),
}

impl std::fmt::Display for ChildStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChildStatus::Exited(code) => write!(f, "exit code {code}"),
            ChildStatus::Signaled(signal) => write!(f, "signal {signal}"),
        }
    }
}

/// Reaps `pid`; `None` while it still runs (`block` false) or when it is not our child.
pub fn reap(pid: i32, block: bool) -> Option<ChildStatus> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid int for waitpid to fill.
        let rc = unsafe { libc::waitpid(pid, &mut status, if block { 0 } else { libc::WNOHANG }) };
        if rc == pid {
            return Some(if libc::WIFSIGNALED(status) {
                ChildStatus::Signaled(libc::WTERMSIG(status))
            } else {
                ChildStatus::Exited(libc::WEXITSTATUS(status))
            });
        }
        if rc < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return None;
    }
}

/// What is in the pipe now, up to `limit` bytes, without blocking (the writer has exited).
pub fn read_available(fd: &OwnedFd, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < limit {
        let mut poll = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd; a zero timeout never blocks.
        if unsafe { libc::poll(&mut poll, 1, 0) } <= 0 || poll.revents & libc::POLLIN == 0 {
            break;
        }
        // SAFETY: `buf` is a valid buffer of its length.
        let got = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if got <= 0 {
            break;
        }
        out.extend_from_slice(&buf[..got as usize]);
    }
    out
}

/// What a [`ChildWatch`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEvent {
    Exited,
    TimedOut,
}

/// Returns true when the watch is done and should close (after the callback returns).
type WatchCallback = Box<dyn FnMut(WatchEvent) -> bool>;

struct WatchState {
    raw: *mut ffi::ChildWatch,
    callback: WatchCallback,
    in_callback: bool,
    close_requested: bool,
}

/// Watches a child's pidfd and a deadline on a JS thread's event loop. It closes itself when
/// its callback returns true, or through [`ChildWatch::close`] (on that thread, once, and
/// never after the callback asked to close); the pidfd must stay open until then.
pub struct ChildWatch {
    state: *mut WatchState,
}

impl ChildWatch {
    /// # Safety
    /// `uv_loop` must be the live loop of the calling thread; `callback` runs on it until the
    /// watch is closed, which must happen before that loop closes. `pidfd` must stay open
    /// until then (the callback may own it: it is dropped after libuv stopped polling).
    pub unsafe fn start(
        uv_loop: *mut c_void,
        pidfd: RawFd,
        timeout_ms: u64,
        callback: impl FnMut(WatchEvent) -> bool + 'static,
    ) -> Result<ChildWatch, UvError> {
        let state = Box::into_raw(Box::new(WatchState {
            raw: std::ptr::null_mut(),
            callback: Box::new(callback),
            in_callback: false,
            close_requested: false,
        }));
        let mut error = 0;
        // SAFETY: the caller vouches for the loop; `state` stays allocated until the close.
        let raw = unsafe {
            ffi::heapsnap_child_watch_start(uv_loop, pidfd, timeout_ms, on_watch_event, state.cast(), &mut error)
        };
        if raw.is_null() {
            // SAFETY: the watch never started: nothing else holds `state`.
            drop(unsafe { Box::from_raw(state) });
            return Err(super::uv::uv_error(error));
        }
        // SAFETY: `state` is live and only this thread touches it.
        unsafe { (*state).raw = raw };
        Ok(ChildWatch { state })
    }

    /// Stops watching; from inside the callback, once it returns.
    pub fn close(self) {
        // SAFETY: the watch is open (see the type's contract) and on this thread.
        unsafe {
            if (*self.state).in_callback {
                (*self.state).close_requested = true;
            } else {
                close_watch(self.state);
            }
        }
    }
}

/// # Safety
/// `state` is an open watch's state, not inside its callback.
unsafe fn close_watch(state: *mut WatchState) {
    // SAFETY: once closed, libuv calls no more callbacks, so the state can be freed.
    unsafe {
        ffi::heapsnap_child_watch_close((*state).raw);
        drop(Box::from_raw(state));
    }
}

unsafe extern "C" fn on_watch_event(data: *mut c_void, event: libc::c_int) {
    let state = data.cast::<WatchState>();
    let event = if event == 0 { WatchEvent::Exited } else { WatchEvent::TimedOut };
    // SAFETY: `data` is the state of the open watch that libuv is calling back.
    unsafe {
        (*state).in_callback = true;
        // A panic must not unwind into libuv; a panicking callback closes the watch.
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ((*state).callback)(event))).unwrap_or(true);
        (*state).in_callback = false;
        if done || (*state).close_requested {
            close_watch(state);
        }
    }
}
