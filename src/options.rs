//! JS option objects as napi sees them, and their translation into a [`DumpRequest`].
//! index.js has already checked the types, so what is left here is meaning: names,
//! templates and compression, decided by heapsnap-core's `naming::plan`.

use heapsnap_core::write::memory_record;
use heapsnap_core::write::naming::{self, NameContext, WriteRequest};
use napi_derive::napi;

use crate::dump::{DumpOutcome, DumpRequest};
use crate::error::DumpError;
use heapsnap_core::write::error::Error as CoreError;
use crate::headroom::{self, MemoryContext};
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
    /// Dump even when the headroom check says there is not enough memory, or the free-space
    /// check that there is not enough disk space.
    pub force: Option<bool>,
    /// Total bytes the process may use (like a cgroup limit), for the headroom check.
    pub memory_limit: Option<f64>,
    /// Write `<snapshot>.memory.json` beside the snapshot (default true).
    pub memory_file: Option<bool>,
    /// `process.memoryUsage().arrayBuffers`, set by lib/writer/write.js for JS-initiated dumps.
    pub array_buffers: Option<f64>,
    /// What started the dump, as JSON text, kept in the memory record (lib/watch/ sets it).
    pub trigger: Option<String>,
    /// Take the snapshot in a forked child (Linux); see src/background.rs.
    pub background: Option<bool>,
    /// When a background dump fails: dump in-process (default) or report the failure.
    pub fallback: Option<bool>,
    /// Milliseconds before the background child is killed (default: see heapsnap-core).
    pub background_timeout: Option<f64>,
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
    /// The process's memory when the dump started.
    pub memory: MemoryInfo,
    /// `<snapshot>.memory.json`, when it was asked for and written.
    pub memory_file: Option<String>,
    /// The free-space check: the file's estimated size and what its filesystem had left.
    pub disk: DiskInfo,
    /// Problems that did not fail the dump: a target directory writable by other users without
    /// the sticky bit, a directory fsync that failed after the rename. Empty when none.
    pub warnings: Vec<String>,
}

/// The free-space check of a dump (`info.disk`), in bytes.
#[napi(object)]
pub struct DiskInfo {
    /// What the check estimated the file would take (an over-estimate; see bench/README.md).
    pub estimated_bytes: f64,
    /// What the target's filesystem had left for unprivileged users (statvfs `f_bavail`), when known.
    pub available_bytes: Option<f64>,
}

/// The memory context of a dump (`info.memory`), in bytes.
#[napi(object)]
pub struct MemoryInfo {
    /// Resident set size (unknown outside Linux).
    pub rss: Option<f64>,
    pub heap_used: f64,
    pub heap_total: f64,
    pub external: f64,
    /// Filled in by lib/writer/write.js from `process.memoryUsage()`: V8 does not know it.
    pub array_buffers: Option<f64>,
    /// The limit of the process's cgroup, when it has one.
    pub cgroup_limit: Option<f64>,
    /// What the headroom check estimated the dump would add to the peak RSS.
    pub estimated_bytes: f64,
    /// What the process could still use, when known.
    pub available_bytes: Option<f64>,
}

impl NativeWriteOptions {
    /// `background_timeout` as a duration; `None` for the default.
    pub fn background_timeout_duration(&self) -> Option<std::time::Duration> {
        self.background_timeout.filter(|ms| ms.is_finite() && *ms > 0.0).map(|ms| std::time::Duration::from_secs_f64(ms / 1e3))
    }

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
            headroom: headroom::Policy {
                force: self.force.unwrap_or(false),
                memory_limit: self.memory_limit.map(|bytes| bytes.max(0.0) as u64),
            },
            memory_file: self.memory_file.unwrap_or(true),
            array_buffers: self.array_buffers.map(|bytes| bytes.max(0.0) as u64),
            trigger: self.trigger.as_deref().map(memory_record::parse_trigger).transpose().map_err(|msg| DumpError::Core(CoreError::InvalidOption(msg)))?,
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
            memory: outcome.memory.into(),
            memory_file: outcome.memory_file.map(|path| path.to_string_lossy().into_owned()),
            disk: DiskInfo {
                estimated_bytes: outcome.disk.estimated as f64,
                available_bytes: outcome.disk.available.map(|bytes| bytes as f64),
            },
            warnings: outcome.warnings,
        }
    }
}

impl From<MemoryContext> for MemoryInfo {
    fn from(memory: MemoryContext) -> Self {
        MemoryInfo {
            rss: memory.rss.map(|bytes| bytes as f64),
            heap_used: memory.heap_used as f64,
            heap_total: memory.heap_total as f64,
            external: memory.external as f64,
            array_buffers: None,
            cgroup_limit: memory.cgroup_limit.map(|bytes| bytes as f64),
            estimated_bytes: memory.estimated as f64,
            available_bytes: memory.available.map(|bytes| bytes as f64),
        }
    }
}
