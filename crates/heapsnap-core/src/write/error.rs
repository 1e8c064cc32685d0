//! Errors shared by `sink` and `naming`.
//!
//! JS callers branch on `err.code`, so every error carries a stable code: the OS's errno
//! name when the OS refused (what Node's own `fs` errors carry), otherwise an
//! `ERR_HEAPSNAP_*` code. Messages follow Node's `fs` style,
//! `ENOENT: no such file or directory, open '/does/not/exist'`, so they read the same as
//! the errors users already know.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Code for options that can never work: bad template, unknown compression, bad level.
pub const INVALID_OPTION: &str = "ERR_HEAPSNAP_INVALID_OPTION";
/// Code for I/O failures that carry no errno (e.g. the zstd encoder's own errors).
pub const IO: &str = "ERR_HEAPSNAP_IO";

/// The error type of `sink` and `naming`.
///
/// `Clone` because a sink reports a writer failure from every later `write` and again
/// from `finish`; the `io::Error` is shared behind an `Arc` for that.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    /// The OS (or an encoder writing to it) refused `op` on `path`.
    #[error("{code}: {}, {op} '{}'", os_text(.source), .path.display())]
    Io {
        /// Errno name (`ENOENT`) or [`IO`]; computed once so `code()` can borrow it.
        code: String,
        /// The syscall as Node names it: `open`, `write`, `fsync`, `rename`.
        op: &'static str,
        /// The path the user asked for, not our temp file: that is the name they know.
        path: PathBuf,
        source: Arc<io::Error>,
    },
    /// An option or template that can never work, found before any I/O.
    #[error("{0}")]
    InvalidOption(String),
}

impl Error {
    /// Wraps an OS error from `op` on the user-visible `path`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        let code = errno_name(&source).unwrap_or_else(|| IO.to_string());
        Error::Io {
            code,
            op,
            path: path.into(),
            source: Arc::new(source),
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Error {
        Error::InvalidOption(msg.into())
    }

    /// The stable code JS sees as `err.code`.
    pub fn code(&self) -> &str {
        match self {
            Error::Io { code, .. } => code,
            Error::InvalidOption(_) => INVALID_OPTION,
        }
    }

    /// The path the failure is about, for `err.path`.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Io { path, .. } => Some(path),
            Error::InvalidOption(_) => None,
        }
    }

    /// The raw errno, for callers that want `err.errno` like Node's fs errors.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            Error::InvalidOption(_) => None,
        }
    }
}

#[cfg(target_os = "wasi")]
fn errno_name(err: &io::Error) -> Option<String> {
    crate::wasi_errno::name(err).map(str::to_string)
}

#[cfg(target_os = "wasi")]
fn os_text(err: &io::Error) -> String {
    match crate::wasi_errno::desc(err) {
        Some(desc) => desc[..1].to_lowercase() + &desc[1..],
        None => err.to_string(),
    }
}

#[cfg(not(target_os = "wasi"))]
fn errno_name(err: &io::Error) -> Option<String> {
    use nix::errno::Errno;
    match Errno::from_raw(err.raw_os_error()?) {
        Errno::UnknownErrno => None,
        // nix's Debug is the C name ("ENOENT"); no table of our own to keep in sync.
        e => Some(format!("{e:?}")),
    }
}

/// libuv's lowercase wording ("no such file or directory") where there is an errno,
/// the error's own text otherwise.
#[cfg(not(target_os = "wasi"))]
fn os_text(err: &io::Error) -> String {
    use nix::errno::Errno;
    match err.raw_os_error().map(Errno::from_raw) {
        Some(e) if e != Errno::UnknownErrno => {
            let desc = e.desc();
            let mut chars = desc.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => desc.to_string(),
            }
        }
        _ => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_reads_like_node() {
        let e = Error::io("open", "/does/not/exist", io::Error::from_raw_os_error(2));
        assert_eq!(e.code(), "ENOENT");
        assert_eq!(e.path(), Some(Path::new("/does/not/exist")));
        assert_eq!(e.raw_os_error(), Some(2));
        assert_eq!(
            e.to_string(),
            "ENOENT: no such file or directory, open '/does/not/exist'"
        );
    }

    #[test]
    fn io_error_without_errno_falls_back() {
        let e = Error::io("write", "a.zst", io::Error::other("zstd: bad parameter"));
        assert_eq!(e.code(), IO);
        assert_eq!(
            e.to_string(),
            "ERR_HEAPSNAP_IO: zstd: bad parameter, write 'a.zst'"
        );
    }

    #[test]
    fn invalid_option_has_code_and_no_path() {
        let e = Error::invalid("bad");
        assert_eq!(e.code(), INVALID_OPTION);
        assert_eq!(e.path(), None);
        assert_eq!(e.to_string(), "bad");
    }
}
