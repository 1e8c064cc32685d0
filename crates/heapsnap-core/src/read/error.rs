//! The analyzer's one error type.
//!
//! Callers (the napi layer, the CLI) turn it into a JS `Error` with a stable `code`, so the
//! code is part of the contract: `ERR_HEAPSNAP_CORRUPT_SNAPSHOT` for anything wrong with the
//! bytes we were given, the OS errno name (`ENOENT`, `EACCES`, ...) when the OS said no.

use std::io;
use std::path::{Path, PathBuf};

/// Code of every error about the content of a snapshot (bad JSON, bad indices, truncation...).
pub const CORRUPT_SNAPSHOT: &str = "ERR_HEAPSNAP_CORRUPT_SNAPSHOT";

/// Why a snapshot could not be read or analyzed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// The bytes are not a valid heap snapshot. `offset` is the best-effort position in the
    /// *decompressed* JSON stream where the problem was noticed.
    #[error("corrupt heap snapshot{}{}: {message}",
        path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default(),
        offset.map(|o| format!(" (at byte {o})")).unwrap_or_default())]
    Corrupt { message: String, offset: Option<u64>, path: Option<PathBuf> },
    /// The OS refused (missing file, permissions, read error).
    #[error("{code}: cannot read{}: {source}",
        path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Io { code: &'static str, path: Option<PathBuf>, #[source] source: io::Error },
}

impl AnalyzeError {
    pub(crate) fn corrupt(message: impl Into<String>, offset: Option<u64>) -> Self {
        AnalyzeError::Corrupt { message: message.into(), offset, path: None }
    }

    /// Classifies an I/O error: one the OS reported (it carries an errno) keeps its errno
    /// name; anything else comes from a decoder (bad gzip/zstd data, truncated stream) and is
    /// about the content, so it becomes `Corrupt`.
    pub(crate) fn from_io(source: io::Error, offset: Option<u64>) -> Self {
        // WASI numbers errors its own way: name and print them as the native build does.
        #[cfg(target_os = "wasi")]
        if let Some(code) = crate::wasi_errno::name(&source) {
            return AnalyzeError::Io { code, path: None, source: crate::wasi_errno::as_linux(source) };
        }
        if source.raw_os_error().is_some() || source.kind() == io::ErrorKind::NotFound
            || source.kind() == io::ErrorKind::PermissionDenied
        {
            AnalyzeError::Io { code: errno_name(&source), path: None, source }
        } else {
            AnalyzeError::corrupt(format!("cannot decode input: {source}"), offset)
        }
    }

    /// Attaches the file name so messages name the path (as DESIGN.md asks).
    pub fn with_path(mut self, p: &Path) -> Self {
        match &mut self {
            AnalyzeError::Corrupt { path, .. } | AnalyzeError::Io { path, .. } => {
                *path = Some(p.to_path_buf())
            }
        }
        self
    }

    /// Stable code: `ERR_HEAPSNAP_CORRUPT_SNAPSHOT` or an errno name such as `ENOENT`.
    pub fn code(&self) -> &str {
        match self {
            AnalyzeError::Corrupt { .. } => CORRUPT_SNAPSHOT,
            AnalyzeError::Io { code, .. } => code,
        }
    }

    /// Byte offset (in the decompressed stream) where corruption was detected, if known.
    pub fn offset(&self) -> Option<u64> {
        match self {
            AnalyzeError::Corrupt { offset, .. } => *offset,
            AnalyzeError::Io { .. } => None,
        }
    }
}

/// errno name for an I/O error; by raw errno when there is one (Linux/macOS share these
/// low numbers), else by kind.
fn errno_name(e: &io::Error) -> &'static str {
    if let Some(n) = e.raw_os_error() {
        let name = match n {
            1 => "EPERM",
            2 => "ENOENT",
            4 => "EINTR",
            5 => "EIO",
            9 => "EBADF",
            12 => "ENOMEM",
            13 => "EACCES",
            20 => "ENOTDIR",
            21 => "EISDIR",
            22 => "EINVAL",
            23 => "ENFILE",
            24 => "EMFILE",
            27 => "EFBIG",
            _ => "",
        };
        if !name.is_empty() {
            return name;
        }
    }
    match e.kind() {
        io::ErrorKind::NotFound => "ENOENT",
        io::ErrorKind::PermissionDenied => "EACCES",
        io::ErrorKind::IsADirectory => "EISDIR",
        io::ErrorKind::NotADirectory => "ENOTDIR",
        io::ErrorKind::OutOfMemory => "ENOMEM",
        io::ErrorKind::Interrupted => "EINTR",
        _ => "EIO",
    }
}
