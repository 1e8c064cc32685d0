//! WASI's errno numbers, told as Linux tells them (WebAssembly analyzer only).
//!
//! Under WASI an `io::Error` carries WASI's own errno (ENOENT is 44 there, not 2). The codes
//! and messages JS sees must be the native analyzer's on Linux, byte for byte, so each WASI
//! errno is mapped to its name, its Linux number, glibc's text (what `io::Error` prints
//! natively: "No such file or directory (os error 2)") and nix's text (what the sink's
//! Node-style messages use natively: "ENOENT: no such file or directory, open '...'").

use std::io;

/// (WASI errno, name, Linux errno, glibc's strerror, nix's `desc()`).
const TABLE: &[(i32, &str, i32, &str, &str)] = &[
    (libc::EPERM, "EPERM", 1, "Operation not permitted", "Operation not permitted"),
    (libc::ENOENT, "ENOENT", 2, "No such file or directory", "No such file or directory"),
    (libc::EINTR, "EINTR", 4, "Interrupted system call", "Interrupted system call"),
    (libc::EIO, "EIO", 5, "Input/output error", "I/O error"),
    (libc::EBADF, "EBADF", 9, "Bad file descriptor", "Bad file number"),
    (libc::EAGAIN, "EAGAIN", 11, "Resource temporarily unavailable", "Try again"),
    (libc::ENOMEM, "ENOMEM", 12, "Cannot allocate memory", "Out of memory"),
    (libc::EACCES, "EACCES", 13, "Permission denied", "Permission denied"),
    (libc::EBUSY, "EBUSY", 16, "Device or resource busy", "Device or resource busy"),
    (libc::EEXIST, "EEXIST", 17, "File exists", "File exists"),
    (libc::EXDEV, "EXDEV", 18, "Invalid cross-device link", "Cross-device link"),
    (libc::ENOTDIR, "ENOTDIR", 20, "Not a directory", "Not a directory"),
    (libc::EISDIR, "EISDIR", 21, "Is a directory", "Is a directory"),
    (libc::EINVAL, "EINVAL", 22, "Invalid argument", "Invalid argument"),
    (libc::ENFILE, "ENFILE", 23, "Too many open files in system", "File table overflow"),
    (libc::EMFILE, "EMFILE", 24, "Too many open files", "Too many open files"),
    (libc::ETXTBSY, "ETXTBSY", 26, "Text file busy", "Text file busy"),
    (libc::EFBIG, "EFBIG", 27, "File too large", "File too large"),
    (libc::ENOSPC, "ENOSPC", 28, "No space left on device", "No space left on device"),
    (libc::ESPIPE, "ESPIPE", 29, "Illegal seek", "Illegal seek"),
    (libc::EROFS, "EROFS", 30, "Read-only file system", "Read-only file system"),
    (libc::EPIPE, "EPIPE", 32, "Broken pipe", "Broken pipe"),
    (libc::ENAMETOOLONG, "ENAMETOOLONG", 36, "File name too long", "File name too long"),
    (libc::ENOSYS, "ENOSYS", 38, "Function not implemented", "Function not implemented"),
    (libc::ENOTEMPTY, "ENOTEMPTY", 39, "Directory not empty", "Directory not empty"),
    (libc::ELOOP, "ELOOP", 40, "Too many levels of symbolic links", "Too many symbolic links encountered"),
    (libc::ENOTSUP, "ENOTSUP", 95, "Operation not supported", "Operation not supported"),
    (libc::EDQUOT, "EDQUOT", 122, "Disk quota exceeded", "Quota exceeded"),
];

fn entry(err: &io::Error) -> Option<&'static (i32, &'static str, i32, &'static str, &'static str)> {
    let raw = err.raw_os_error()?;
    TABLE.iter().find(|e| e.0 == raw)
}

/// The errno name (`ENOENT`), as nix names it natively.
pub(crate) fn name(err: &io::Error) -> Option<&'static str> {
    entry(err).map(|e| e.1)
}

/// nix's description (`No such file or directory`), for the sink's messages.
pub(crate) fn desc(err: &io::Error) -> Option<&'static str> {
    entry(err).map(|e| e.4)
}

/// The same error as the native build prints it: `No such file or directory (os error 2)`,
/// with the same kind. Errors without a known errno are returned as they are.
pub(crate) fn as_linux(err: io::Error) -> io::Error {
    match entry(&err) {
        Some(&(_, _, linux, text, _)) => io::Error::new(err.kind(), format!("{text} (os error {linux})")),
        None => err,
    }
}
