//! The half of heapsnap that needs no V8: where snapshot bytes go (`sink`), what the
//! files are called (`naming`), how snapshots are read back and explained (`analyze`), how
//! their string values are redacted on the way to disk (`redact`), the target's side of
//! `heapsnap dump <pid>` (`remote`), whether there is memory for a dump (`headroom`) and disk
//! space for its file (`space`), the process's memory recorded beside each snapshot
//! (`memory_record`), and how often a signal may dump (`rate_limit`); `outfile` creates and
//! names the file the sink writes.
//!
//! Kept free of napi and V8 symbols so `cargo test` and fuzz targets can link it.

pub mod analyze;
pub mod background;
pub mod error;
pub mod heapprofile;
pub mod headroom;
pub mod memory_record;
pub mod rate_limit;
pub mod naming;
#[cfg(not(target_os = "wasi"))]
pub mod outfile;
/// WASI (the WebAssembly analyzer): no O_TMPFILE nor directory handles; a 0600 temp file
/// renamed into place.
#[cfg(target_os = "wasi")]
#[path = "outfile_wasi.rs"]
pub mod outfile;
pub mod redact;
/// `heapsnap dump <pid>`'s channel: native only.
#[cfg(not(target_os = "wasi"))]
pub mod remote;
pub mod sink;
pub mod space;
pub mod synth;
#[cfg(target_os = "wasi")]
mod wasi_errno;
