//! The headroom check before every dump, and the memory context each dump records.
//!
//! The logic (estimate, cgroup and meminfo parsing, the decision) is heapsnap-core's
//! `headroom`; here it meets the V8 heap statistics of the dumping isolate. Every dump path goes
//! through [`check`] (from `dump::capture`), before any file is created.

use std::cell::Cell;
use std::path::Path;

use heapsnap_core::write::headroom::{self, Decision, Source};
use heapsnap_core::write::memory_record::{self, HeapSpace, MemoryRecord, Trigger};

use crate::error::DumpError;
use crate::v8::Isolate;

/// How a dump is checked: the caller's `force` and `memoryLimit`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    pub force: bool,
    /// Total bytes the process may use (like a cgroup limit); replaces the detected limits.
    pub memory_limit: Option<u64>,
}

/// The process's memory when a dump started.
#[derive(Debug, Clone)]
pub struct MemoryContext {
    /// When it was measured (RFC 3339, UTC).
    pub time: String,
    pub rss: Option<u64>,
    pub heap_used: u64,
    pub heap_total: u64,
    pub external: u64,
    pub malloced: u64,
    pub heap_spaces: Vec<HeapSpace>,
    pub cgroup_limit: Option<u64>,
    /// What the dump was estimated to add to the peak RSS.
    pub estimated: u64,
    /// What the process could still use; `None` when unknown (then nothing is refused).
    pub available: Option<u64>,
    pub source: Option<Source>,
}

/// A refusal's numbers, kept for JS to put on the error it throws.
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    pub estimated: u64,
    pub available: u64,
}

thread_local! {
    static LAST_REFUSAL: Cell<Option<Refusal>> = const { Cell::new(None) };
}

/// Keeps a refusal's numbers (this check's, or the free-space check's) for JS.
pub fn record_refusal(refusal: Refusal) {
    LAST_REFUSAL.with(|last| last.set(Some(refusal)));
}

/// This thread's last refusal (taken: read once).
pub fn take_last_refusal() -> Option<Refusal> {
    LAST_REFUSAL.with(Cell::take)
}

/// Measures the process and decides: the memory context, or `NoHeadroom`.
pub fn check(isolate: &Isolate, policy: Policy) -> Result<MemoryContext, DumpError> {
    let stats = isolate.heap_statistics();
    let root = Path::new("/");
    let rss = headroom::current_rss(root);
    let room = headroom::headroom(root, policy.memory_limit, rss);
    let estimated = headroom::estimate(stats.used_heap_size);
    let context = MemoryContext {
        time: memory_record::timestamp_now(),
        rss,
        heap_used: stats.used_heap_size,
        heap_total: stats.total_heap_size,
        external: stats.external_memory,
        malloced: stats.malloced_memory,
        heap_spaces: isolate.heap_spaces(),
        cgroup_limit: room.and_then(|room| room.cgroup_limit),
        estimated,
        available: room.map(|room| room.available),
        source: room.map(|room| room.source),
    };
    match headroom::decide(estimated, room.as_ref(), policy.force) {
        Decision::Go => Ok(context),
        Decision::Refuse { estimated, available, source } => {
            record_refusal(Refusal { estimated, available });
            Err(DumpError::NoHeadroom { estimated, available, from: source.as_str() })
        }
    }
}

impl MemoryContext {
    /// The record written beside the snapshot `snapshot_name`; `array_buffers` and `trigger`
    /// come from JS.
    pub fn record(&self, snapshot_name: String, array_buffers: Option<u64>, trigger: Option<Trigger>) -> MemoryRecord {
        MemoryRecord {
            format: memory_record::FORMAT.into(),
            snapshot: snapshot_name,
            time: self.time.clone(),
            pid: std::process::id(),
            rss: self.rss,
            heap_total: self.heap_total,
            heap_used: self.heap_used,
            external: self.external,
            array_buffers,
            malloced: self.malloced,
            cgroup_limit: self.cgroup_limit,
            heap_spaces: self.heap_spaces.clone(),
            trigger,
        }
    }

    /// A few words for a dump's stderr line: `rss 120.3 MiB, heap 30.1 MiB`.
    pub fn describe(&self) -> String {
        let rss = self.rss.map(headroom::human_bytes).unwrap_or_else(|| "?".into());
        let limit = self.cgroup_limit.map(|limit| format!(" of {}", headroom::human_bytes(limit))).unwrap_or_default();
        format!("rss {rss}{limit}, heap {}", headroom::human_bytes(self.heap_used))
    }
}
