//! Writing snapshot files: everything between V8's serializer (or an inspector session's
//! chunks) and a complete 0600 file on disk, plus the checks and records around a dump.

pub mod background;
pub mod error;
pub mod headroom;
pub mod memory_record;
pub mod naming;
#[cfg(not(target_os = "wasi"))]
pub mod outfile;
/// WASI (the WebAssembly analyzer): no O_TMPFILE nor directory handles; a 0600 temp file
/// renamed into place.
#[cfg(target_os = "wasi")]
#[path = "outfile_wasi.rs"]
pub mod outfile;
pub mod rate_limit;
pub mod redact;
/// `heapsnap dump <pid>`'s channel: native only.
#[cfg(not(target_os = "wasi"))]
pub mod remote;
pub mod sink;
pub mod space;
mod target;
/// Writer threads kept for the next sink: used by the WebAssembly build.
#[cfg_attr(not(target_os = "wasi"), allow(dead_code))]
pub(crate) mod threads;
