//! The memory record a dump leaves beside its snapshot (`<snapshot>.memory.json`).
//!
//! A snapshot shows the JS heap and nothing else, so "the snapshot says 18 MB, the container
//! uses 1.7 GB" reads like a broken tool. The record keeps the process's memory as it was when
//! the dump started (RSS, V8's heap and its spaces, external memory, the cgroup limit), and
//! `heapsnap summary` and the report say plainly how much of the RSS lies outside the JS heap.
//! Its field names are `process.memoryUsage()`'s, so the numbers compare directly.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What the record's `format` field holds; readers ignore records of another format.
pub const FORMAT: &str = "heapsnap-memory/1";

/// The suffix appended to the snapshot's file name (compression suffix included).
pub const SUFFIX: &str = ".memory.json";

/// Where the record of `snapshot` lives: its full file name plus [`SUFFIX`], so that
/// `a.heapsnapshot` and `a.heapsnapshot.gz` never share a record.
pub fn companion_path(snapshot: &Path) -> PathBuf {
    let mut name = snapshot.as_os_str().to_owned();
    name.push(SUFFIX);
    PathBuf::from(name)
}

/// Now, as the record's `time` says it: RFC 3339 in UTC, to the millisecond.
pub fn timestamp_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One V8 heap space (`v8.getHeapSpaceStatistics()`), in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeapSpace {
    pub name: String,
    pub size: u64,
    pub used: u64,
    pub available: u64,
    pub physical: u64,
}

/// The process's memory when a dump started, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryRecord {
    pub format: String,
    /// The snapshot's file name (no directory: the two files travel together).
    pub snapshot: String,
    /// When the dump started (RFC 3339, UTC).
    pub time: String,
    pub pid: u32,
    /// Resident set size; `None` where the OS does not tell (outside Linux).
    pub rss: Option<u64>,
    pub heap_total: u64,
    pub heap_used: u64,
    /// Memory outside V8's heap that JS objects own (Buffers, ArrayBuffers, addons' reports).
    pub external: u64,
    /// Only when the dump was started from JS: V8 cannot tell it, Node can.
    pub array_buffers: Option<u64>,
    /// V8's own malloc'ed memory (compiler, parser, snapshot bookkeeping).
    pub malloced: u64,
    pub cgroup_limit: Option<u64>,
    pub heap_spaces: Vec<HeapSpace>,
    /// What started the dump, when the caller says (a watch rule: the rule and the samples
    /// that led to it); free-form JSON, so each trigger keeps its own shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
}

/// A [`MemoryRecord`]'s `trigger`: JSON as the caller gave it.
pub type Trigger = serde_json::Value;

/// Parses the JSON text of a `trigger` (from JS); an error names the problem.
pub fn parse_trigger(text: &str) -> Result<Trigger, String> {
    match serde_json::from_str::<Trigger>(text) {
        Ok(value @ Trigger::Object(_)) => Ok(value),
        Ok(_) => Err("trigger must be a JSON object".into()),
        Err(err) => Err(format!("trigger is not valid JSON: {err}")),
    }
}

impl MemoryRecord {
    /// The part of the RSS that the snapshot cannot show: everything but V8's heap.
    pub fn outside_heap(&self) -> Option<u64> {
        self.rss.map(|rss| rss.saturating_sub(self.heap_total))
    }

    /// The record as written to disk: pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec_pretty(self).expect("a MemoryRecord always serializes");
        json.push(b'\n');
        json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> MemoryRecord {
        MemoryRecord {
            format: FORMAT.into(),
            snapshot: "a.heapsnapshot".into(),
            time: "2026-12-01T22:00:00Z".into(),
            pid: 42,
            rss: Some(1_700_000_000),
            heap_total: 20_000_000,
            heap_used: 18_000_000,
            external: 1_200_000_000,
            array_buffers: None,
            malloced: 300_000,
            cgroup_limit: Some(2 << 30),
            heap_spaces: vec![HeapSpace { name: "old_space".into(), size: 10, used: 8, available: 2, physical: 10 }],
            trigger: None,
        }
    }

    #[test]
    fn trigger_is_kept_when_given_and_absent_otherwise() {
        assert!(!std::str::from_utf8(&record().to_json()).unwrap().contains("trigger"));
        let trigger = parse_trigger(r#"{"kind":"watch","rule":"heap>80%","samples":[{"heapUsed":1}]}"#).unwrap();
        let json = MemoryRecord { trigger: Some(trigger.clone()), ..record() }.to_json();
        let back: MemoryRecord = serde_json::from_slice(&json).unwrap();
        assert_eq!(back.trigger, Some(trigger));
        assert!(parse_trigger("[1]").unwrap_err().contains("object"));
        assert!(parse_trigger("{").unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn companion_path_keeps_the_whole_name() {
        assert_eq!(companion_path(Path::new("/d/a.heapsnapshot.gz")), Path::new("/d/a.heapsnapshot.gz.memory.json"));
        assert_eq!(companion_path(Path::new("a.heapsnapshot")), Path::new("a.heapsnapshot.memory.json"));
    }

    #[test]
    fn json_uses_memory_usage_names_and_reads_back() {
        let json = record().to_json();
        let text = std::str::from_utf8(&json).unwrap();
        for key in ["\"heapUsed\"", "\"heapTotal\"", "\"arrayBuffers\"", "\"cgroupLimit\"", "\"heapSpaces\""] {
            assert!(text.contains(key), "{key} missing in {text}");
        }
        assert_eq!(serde_json::from_slice::<MemoryRecord>(&json).unwrap(), record());
    }

    #[test]
    fn outside_heap_is_rss_minus_heap() {
        assert_eq!(record().outside_heap(), Some(1_680_000_000));
        assert_eq!(MemoryRecord { rss: Some(5), ..record() }.outside_heap(), Some(0));
        assert_eq!(MemoryRecord { rss: None, ..record() }.outside_heap(), None);
    }
}
