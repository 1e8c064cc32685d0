//! The V8-free half of background (fork) dumps: what the writer addon reads from /proc before
//! it forks, and what the child tells the parent when it is done.
//!
//! A background dump forks the process and lets the copy-on-write child take the snapshot
//! while the parent keeps serving. Two things about the parent decide whether that is safe,
//! and both come from /proc:
//! - which mappings the kernel will leave out of the child ([`dont_fork_ranges`]): Node's V8
//!   heap pages are `MADV_DONTFORK`, so they must be marked copyable just before the fork;
//! - whether another thread is running right now ([`running_threads`]): a V8 worker that is
//!   in the middle of a GC job when the process forks never finishes it in the child, and the
//!   child's GC waits for it forever. Forking while the others sleep avoids most of that.
//!
//! The child reports on a pipe in one line ([`ChildReport`]), written before it exits.

use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The address ranges of `/proc/self/smaps` whose `VmFlags` say "dc" (do not copy on fork),
/// leaving out I/O mappings, which `madvise` cannot change.
pub fn dont_fork_ranges(smaps: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut current: Option<Range<usize>> = None;
    for line in smaps.lines() {
        if let Some(flags) = line.strip_prefix("VmFlags:") {
            let mut flags = flags.split_whitespace();
            let (mut dc, mut io) = (false, false);
            for flag in &mut flags {
                dc |= flag == "dc";
                io |= flag == "io";
            }
            if let (Some(range), true, false) = (current.take(), dc, io) {
                ranges.push(range);
            }
        } else if let Some(range) = mapping_range(line) {
            current = Some(range);
        }
    }
    ranges
}

/// `7f1c00000000-7f1c00040000 rw-p ...` -> the range; `None` for the per-mapping detail lines.
fn mapping_range(line: &str) -> Option<Range<usize>> {
    let (addresses, rest) = line.split_once(' ')?;
    let (start, end) = addresses.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    // Detail lines ("Rss:     12 kB") have no hex range; the permissions field follows a range.
    (start < end && rest.len() >= 4).then_some(start..end)
}

/// The state letter of a `/proc/<pid>/task/<tid>/stat` line (`R` running, `S` sleeping...).
/// The command name in parentheses may itself hold spaces and parentheses: the state follows
/// the last `)`.
pub fn thread_state(stat: &str) -> Option<char> {
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

/// How many of the process's threads other than `own_tid` are running (state `R`) right now.
pub fn running_threads(own_tid: u32) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks
        .filter_map(Result::ok)
        .filter(|task| task.file_name().to_str().and_then(|tid| tid.parse::<u32>().ok()) != Some(own_tid))
        .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
        .filter(|stat| thread_state(stat) == Some('R'))
        .count()
}

/// The watchdog's default: generous for the heap at hand, so that only a child that is stuck
/// is killed. A child that hangs costs only a late dump (the parent keeps serving), one killed
/// too early costs an in-process dump's pause. V8 builds a snapshot of a 150 MB heap in 6-16 s
/// here, but the child competes with the parent and everything else for the cores: 40-65 s
/// were measured on a loaded 2-core machine. 120 s plus 1 s per 2 MB of used heap.
pub fn default_timeout(heap_used: u64) -> Duration {
    Duration::from_secs(120) + Duration::from_millis(heap_used / 2_000)
}

/// The child's one-line answer on the result pipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum ChildReport {
    /// The file is complete and renamed into place.
    #[serde(rename_all = "camelCase")]
    Done {
        path: String,
        bytes: u64,
        raw_bytes: u64,
        compression: String,
        redacted: bool,
        snapshot_ms: f64,
        /// The child's free-space check: the file's estimate and what the filesystem had left.
        #[serde(default)]
        disk_estimated: u64,
        #[serde(default)]
        disk_available: Option<u64>,
    },
    /// The dump failed in the child with this code and message.
    Failed { code: String, message: String },
}

impl ChildReport {
    /// One JSON line. Reports stay far below `PIPE_BUF` (4096 bytes) unless a path is huge,
    /// so the child's single `write` lands whole.
    pub fn encode(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec());
        line.push(b'\n');
        line
    }

    /// What the parent read from the pipe; `None` when the child said nothing usable (it died
    /// before reporting, or was killed).
    pub fn decode(bytes: &[u8]) -> Option<ChildReport> {
        let line = bytes.split(|byte| *byte == b'\n').next()?;
        serde_json::from_slice(line).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
00400000-00401000 r-xp 00000000 08:01 123 /usr/bin/node
Size:                  4 kB
Rss:                   4 kB
VmFlags: rd ex mr mw me dw
3272700000-3272740000 rw-p 00000000 00:00 0 
Size:                256 kB
VmFlags: rd wr mr mw me dc nr
7ffd1000-7ffd3000 rw-p 00000000 00:00 0 [vvar]
Size:                  8 kB
VmFlags: rd wr mr pf io dc de dd
3c946c0000-3c94700000 rw-p 00000000 00:00 0
Size:                256 kB
VmFlags: rd wr mr mw me dc nr
";

    #[test]
    fn finds_the_do_not_copy_mappings_but_not_io_ones() {
        assert_eq!(dont_fork_ranges(SMAPS), vec![0x3272700000..0x3272740000, 0x3c946c0000..0x3c94700000]);
    }

    #[test]
    fn nothing_to_mark_without_dc() {
        assert!(dont_fork_ranges("00400000-00401000 r-xp 0 0 0 /x\nVmFlags: rd ex\n").is_empty());
        assert!(dont_fork_ranges("").is_empty());
    }

    #[test]
    fn reads_the_state_after_the_last_parenthesis() {
        assert_eq!(thread_state("123 (node) S 1 123"), Some('S'));
        assert_eq!(thread_state("124 (a) b) (c) R 1 123"), Some('R'));
        assert_eq!(thread_state("garbage"), None);
    }

    fn own_tid() -> u32 {
        std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|path| path.file_name()?.to_str()?.parse().ok())
            .expect("/proc/thread-self")
    }

    #[test]
    fn a_spinning_thread_counts_as_running_and_the_caller_does_not() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let stop = Arc::new(AtomicBool::new(false));
        let spinner = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
                own_tid()
            })
        };
        // A spinning thread is runnable ("R") whether or not it has a CPU at this instant.
        let running = running_threads(own_tid());
        stop.store(true, Ordering::Relaxed);
        let spinner_tid = spinner.join().unwrap();
        assert!(running >= 1, "the spinner was not seen running");
        assert_ne!(spinner_tid, own_tid());
    }

    #[test]
    fn reports_round_trip_and_garbage_is_none() {
        let done = ChildReport::Done {
            path: "/tmp/a b.heapsnapshot".into(),
            bytes: 12,
            raw_bytes: 34,
            compression: "gzip".into(),
            redacted: false,
            snapshot_ms: 1.5,
            disk_estimated: 56,
            disk_available: Some(78),
        };
        assert_eq!(ChildReport::decode(&done.encode()), Some(done));
        let failed = ChildReport::Failed { code: "ENOSPC".into(), message: "no space".into() };
        assert_eq!(ChildReport::decode(&failed.encode()), Some(failed));
        assert_eq!(ChildReport::decode(b""), None);
        assert_eq!(ChildReport::decode(b"{\"result\":\"done\""), None);
    }

    #[test]
    fn the_default_timeout_grows_with_the_heap() {
        assert_eq!(default_timeout(0), Duration::from_secs(120));
        assert_eq!(default_timeout(150_000_000), Duration::from_secs(195));
    }
}
