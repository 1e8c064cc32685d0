//! JS option objects as napi sees them, and their translation into a [`DumpRequest`].
//! index.js has already checked the types, so what is left here is meaning: names,
//! templates and compression, decided by heapsnap-core's `naming::plan`.

use heapsnap_core::naming::{self, NameContext, WriteRequest};
use napi_derive::napi;

use crate::dump::{DumpOutcome, DumpRequest};
use crate::error::DumpError;
use crate::v8::SnapshotOptions;

/// Options of `writeSnapshot`, `writeSnapshotAsync` and the triggers, after index.js checked their types.
#[napi(object)]
#[derive(Default, Clone)]
pub struct NativeWriteOptions {
    pub path: Option<String>,
    pub dir: Option<String>,
    /// "gzip" | "zstd" | "none"
    pub compress: Option<String>,
    pub level: Option<i32>,
    pub gc: Option<bool>,
    pub expose_internals: Option<bool>,
    pub numeric_values: Option<bool>,
    /// Replace string values by `<redacted N chars>`; names stay (see heapsnap-core's `redact`).
    pub redact: Option<bool>,
    /// `worker_threads.threadId` of the caller, for the `{tid}` token.
    pub thread_id: Option<u32>,
    /// No path given: use heapdump's `heapdump-<ms>.<seq>.heapsnapshot` name.
    pub heapdump_default: Option<bool>,
}

/// What JS gets back from a dump.
#[napi(object)]
pub struct SnapshotInfo {
    pub path: String,
    /// Bytes on disk.
    pub bytes: f64,
    /// Bytes of JSON before compression.
    pub raw_bytes: f64,
    pub compression: String,
    pub duration_ms: f64,
    /// How long the JS thread was blocked (GC + take + serialize).
    pub pause_ms: f64,
    /// String values were replaced by placeholders.
    pub redacted: bool,
}

impl NativeWriteOptions {
    pub fn into_request(self) -> Result<DumpRequest, DumpError> {
        let context = NameContext::now(self.thread_id.unwrap_or(0));
        let plan = naming::plan(
            &WriteRequest {
                path: self.path,
                dir: self.dir,
                compress: self.compress,
                level: self.level,
                heapdump_default: self.heapdump_default.unwrap_or(false),
            },
            &context,
        )?;
        Ok(DumpRequest {
            plan,
            gc: self.gc.unwrap_or(false),
            snapshot: SnapshotOptions {
                expose_internals: self.expose_internals.unwrap_or(false),
                numeric_values: self.numeric_values.unwrap_or(false),
            },
            redact: self.redact.unwrap_or(false),
        })
    }
}

impl From<DumpOutcome> for SnapshotInfo {
    fn from(outcome: DumpOutcome) -> Self {
        SnapshotInfo {
            path: outcome.path.to_string_lossy().into_owned(),
            bytes: outcome.bytes as f64,
            raw_bytes: outcome.raw_bytes as f64,
            compression: outcome.compression.as_str().to_string(),
            duration_ms: outcome.duration.as_secs_f64() * 1e3,
            pause_ms: outcome.pause.as_secs_f64() * 1e3,
            redacted: outcome.redacted,
        }
    }
}
