//! The half of heapsnap that needs no V8, in three rooms:
//!
//! - [`format`]: the heap snapshot's JSON as a stream of tokens (`scanner`) and the layout its
//!   `snapshot.meta` declares (`header`): what both the writer and the reader must understand.
//! - [`write`]: where snapshot bytes go and what happens on the way: the file they land in
//!   (`sink`, `outfile`, `naming`), redaction of string values (`redact`), whether there is
//!   memory (`headroom`) and disk (`space`) for a dump, the memory record beside it
//!   (`memory_record`), how often a signal may dump (`rate_limit`), the target's side of
//!   `heapsnap dump <pid>` (`remote`) and the child of a background dump (`background`).
//! - [`read`]: snapshots and heap profiles read back and explained (parser, packed graph,
//!   dominators, classes, diff, leaks, retainer paths, allocation traces, `.heapprofile`s),
//!   and the synthetic snapshot generator its scale tests use.
//!
//! Dependencies point one way: `write` and `read` use `format`; neither uses the other
//! (outside tests, which read back what was written). Kept free of napi and V8 symbols so
//! `cargo test` and fuzz targets can link it.

pub mod format;
pub mod read;
pub mod write;

/// OS error names and texts under WASI (the WebAssembly analyzer), for both rooms' errors.
#[cfg(target_os = "wasi")]
mod wasi_errno;
