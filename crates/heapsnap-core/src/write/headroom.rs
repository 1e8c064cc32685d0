//! Is there memory for a heap snapshot? The pure half of the headroom check that runs before
//! every dump: the estimate of what V8's snapshot will cost, what the process may still use
//! (its cgroup, v2 or v1, the machine's `MemAvailable`, or an explicit limit), and the decision.
//!
//! Why: while it builds a snapshot V8 keeps its own graph of the whole heap outside the heap,
//! ~9-12x the used heap in extra peak RSS for ordinary objects (bench/README.md). A container
//! sized for its heap is OOM-killed mid-dump and leaves nothing; refusing first keeps the
//! process alive and says why.
//!
//! Everything here reads text (file contents are passed in, or read under a root folder that
//! tests point at fixtures); the V8 heap statistics come from the addon's shim.

use std::fs;
use std::path::{Path, PathBuf};

/// Extra peak RSS of a snapshot per byte of used heap (see [`estimate`]).
pub const BYTES_PER_HEAP_BYTE: u64 = 10;
/// Fixed part of the estimate: the serializer's buffers, the writer queue, V8's fixed tables.
pub const FIXED_BYTES: u64 = 32 << 20;

/// cgroup v1 reports "no limit" as a huge page-aligned number (2^63 - 4096 on x86-64).
const V1_UNLIMITED: u64 = 1 << 60;

/// What a dump of a heap with `used_heap_bytes` in use will add to the process's peak RSS.
///
/// Calibrated with `v8.writeHeapSnapshot` on Node 20 (bench/README.md, "Headroom estimate"):
/// the snapshot's graph costs per object and per reference, not per byte, so heaps of small
/// objects cost 9-12x their size and heaps of large strings or arrays much less. The factor
/// is the one for small objects, the common case of a leak and the dangerous one: for heaps
/// of large strings the estimate is high (the check errs on the side of refusing; `force`
/// overrides it).
pub fn estimate(used_heap_bytes: u64) -> u64 {
    used_heap_bytes.saturating_mul(BYTES_PER_HEAP_BYTE).saturating_add(FIXED_BYTES)
}

/// Where the available figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The caller's `memoryLimit` minus the current RSS.
    Option,
    /// The process's cgroup v2 (`memory.max - memory.current`, the tightest level).
    CgroupV2,
    /// The process's cgroup v1 (`memory.limit_in_bytes - memory.usage_in_bytes`).
    CgroupV1,
    /// `MemAvailable` in /proc/meminfo.
    System,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Option => "memoryLimit",
            Source::CgroupV2 => "cgroup",
            Source::CgroupV1 => "cgroup v1",
            Source::System => "MemAvailable",
        }
    }
}

/// What the process may still use, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headroom {
    pub available: u64,
    pub source: Source,
    /// The cgroup's limit, when the process has one (for the memory context of a dump).
    pub cgroup_limit: Option<u64>,
}

/// A cgroup's memory limit and usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupMemory {
    pub limit: u64,
    pub usage: u64,
}

impl CgroupMemory {
    pub fn available(&self) -> u64 {
        self.limit.saturating_sub(self.usage)
    }
}

/// `MemAvailable` of /proc/meminfo, in bytes.
pub fn parse_meminfo_available(meminfo: &str) -> Option<u64> {
    meminfo_field(meminfo, "MemAvailable:")
}

/// `VmRSS` of /proc/self/status, in bytes.
pub fn parse_status_rss(status: &str) -> Option<u64> {
    meminfo_field(status, "VmRSS:")
}

fn meminfo_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.starts_with(key))?;
    let mut words = line[key.len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => Some(value * 1024),
        None => Some(value),
        Some(_) => None,
    }
}

/// A cgroup memory file: `max` (v2 "no limit") or a number of bytes. v1's "no limit" (a
/// number near 2^63) is `None` too.
pub fn parse_limit(text: &str) -> Option<u64> {
    let text = text.trim();
    if text == "max" {
        return None;
    }
    text.parse::<u64>().ok().filter(|&bytes| bytes < V1_UNLIMITED)
}

/// The process's cgroup v2 path (`0::/path` in /proc/self/cgroup).
pub fn cgroup_v2_path(proc_cgroup: &str) -> Option<&str> {
    proc_cgroup.lines().find_map(|line| line.strip_prefix("0::"))
}

/// The process's cgroup v1 memory controller path (`N:memory:/path`, the controller possibly
/// listed with others).
pub fn cgroup_v1_memory_path(proc_cgroup: &str) -> Option<&str> {
    proc_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers.split(',').any(|c| c == "memory").then_some(path)
    })
}

/// Reads `<dir>/<limit_file>` and `<dir>/<usage_file>`; `None` without a limit.
fn read_cgroup(dir: &Path, limit_file: &str, usage_file: &str) -> Option<CgroupMemory> {
    let limit = parse_limit(&fs::read_to_string(dir.join(limit_file)).ok()?)?;
    let usage = fs::read_to_string(dir.join(usage_file)).ok()?.trim().parse().ok()?;
    Some(CgroupMemory { limit, usage })
}

/// The cgroup folders that may limit the process, from its own up to the mount's root. In a
/// container with its own cgroup namespace `path` is `/`, and the mount is the container's.
fn cgroup_dirs(mount: &Path, path: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut rel = PathBuf::from(path.trim_start_matches('/'));
    loop {
        let dir = mount.join(&rel);
        if dir.is_dir() {
            dirs.push(dir);
        }
        if !rel.pop() {
            break;
        }
    }
    dirs
}

/// The tightest cgroup limit on the process: v2 first (every level from its own cgroup up,
/// since a parent's limit binds too), then v1. `root` is `/` except in tests.
pub fn cgroup_memory(root: &Path) -> Option<(CgroupMemory, Source)> {
    let proc_cgroup = fs::read_to_string(root.join("proc/self/cgroup")).ok()?;
    let tightest = |dirs: Vec<PathBuf>, limit: &str, usage: &str| {
        dirs.iter().filter_map(|dir| read_cgroup(dir, limit, usage)).min_by_key(CgroupMemory::available)
    };
    if let Some(path) = cgroup_v2_path(&proc_cgroup) {
        let dirs = cgroup_dirs(&root.join("sys/fs/cgroup"), path);
        if let Some(memory) = tightest(dirs, "memory.max", "memory.current") {
            return Some((memory, Source::CgroupV2));
        }
    }
    if let Some(path) = cgroup_v1_memory_path(&proc_cgroup) {
        let dirs = cgroup_dirs(&root.join("sys/fs/cgroup/memory"), path);
        if let Some(memory) = tightest(dirs, "memory.limit_in_bytes", "memory.usage_in_bytes") {
            return Some((memory, Source::CgroupV1));
        }
    }
    None
}

/// What the process may still use: `memory_limit - rss` when the caller gave a limit, else the
/// smaller of its cgroup's room and the machine's `MemAvailable`. `None` when nothing is known
/// (no /proc: not Linux), and then no dump is refused.
pub fn headroom(root: &Path, memory_limit: Option<u64>, rss: Option<u64>) -> Option<Headroom> {
    let cgroup = cgroup_memory(root);
    let cgroup_limit = cgroup.map(|(memory, _)| memory.limit);
    if let Some(limit) = memory_limit {
        return Some(Headroom { available: limit.saturating_sub(rss?), source: Source::Option, cgroup_limit });
    }
    let system = fs::read_to_string(root.join("proc/meminfo"))
        .ok()
        .and_then(|text| parse_meminfo_available(&text))
        .map(|available| Headroom { available, source: Source::System, cgroup_limit });
    let cgroup = cgroup.map(|(memory, source)| Headroom { available: memory.available(), source, cgroup_limit });
    match (cgroup, system) {
        (Some(c), Some(s)) => Some(if s.available < c.available { s } else { c }),
        (c, s) => c.or(s),
    }
}

/// The process's resident set size now, from /proc/self/status.
pub fn current_rss(root: &Path) -> Option<u64> {
    parse_status_rss(&fs::read_to_string(root.join("proc/self/status")).ok()?)
}

/// The verdict on one dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Enough room (or nothing known about the room).
    Go,
    /// Not enough, and not forced.
    Refuse { estimated: u64, available: u64, source: Source },
}

/// Refuse when the estimate exceeds what is available, unless forced.
pub fn decide(estimated: u64, headroom: Option<&Headroom>, force: bool) -> Decision {
    match headroom {
        Some(room) if !force && estimated > room.available => {
            Decision::Refuse { estimated, available: room.available, source: room.source }
        }
        _ => Decision::Go,
    }
}

/// Bytes for people: `812.3 MiB`, `1.4 GiB`, `512 KiB`.
pub fn human_bytes(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB * KIB {
        format!("{:.1} GiB", b / (KIB * KIB * KIB))
    } else if b >= KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else {
        format!("{:.0} KiB", b / KIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &str = "MemTotal:       24684544 kB\nMemFree:        21040000 kB\nMemAvailable:   24117248 kB\nBuffers:          123456 kB\n";
    const STATUS: &str = "Name:\tnode\nVmPeak:\t 1234 kB\nVmHWM:\t   90000 kB\nVmRSS:\t   51200 kB\nThreads:\t7\n";

    #[test]
    fn meminfo_and_status() {
        assert_eq!(parse_meminfo_available(MEMINFO), Some(24117248 * 1024));
        assert_eq!(parse_meminfo_available("MemTotal: 1 kB\n"), None);
        assert_eq!(parse_status_rss(STATUS), Some(51200 * 1024));
        assert_eq!(parse_status_rss("VmRSS:\tlots kB\n"), None);
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("536870912\n"), Some(512 << 20));
        assert_eq!(parse_limit("9223372036854771712\n"), None, "v1 unlimited");
        assert_eq!(parse_limit("garbage"), None);
    }

    #[test]
    fn proc_cgroup_lines() {
        let v2 = "0::/system.slice/app.service\n";
        assert_eq!(cgroup_v2_path(v2), Some("/system.slice/app.service"));
        assert_eq!(cgroup_v1_memory_path(v2), None);
        let v1 = "12:pids:/docker/abc\n9:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n";
        assert_eq!(cgroup_v1_memory_path(v1), Some("/docker/abc"));
        assert_eq!(cgroup_v2_path(v1), None);
        assert_eq!(cgroup_v1_memory_path("4:cpuset,memory:/x\n"), Some("/x"));
        // Hybrid hierarchies list both; v2's line is the unified one.
        let hybrid = "9:memory:/a\n0::/b\n";
        assert_eq!(cgroup_v2_path(hybrid), Some("/b"));
        assert_eq!(cgroup_v1_memory_path(hybrid), Some("/a"));
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// A fake `/` holding these files.
    fn fixture(files: &[(&str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            write(root.path(), rel, text);
        }
        root
    }

    #[test]
    fn cgroup_v2_tightest_level_wins() {
        let root = fixture(&[
            ("proc/self/cgroup", "0::/kubepods/pod1/app\n"),
            ("proc/meminfo", MEMINFO),
            ("sys/fs/cgroup/kubepods/pod1/memory.max", "1073741824\n"),
            ("sys/fs/cgroup/kubepods/pod1/memory.current", "805306368\n"),
            ("sys/fs/cgroup/kubepods/pod1/app/memory.max", "max\n"),
            ("sys/fs/cgroup/kubepods/pod1/app/memory.current", "700000000\n"),
        ]);
        let root = root.path();
        let (memory, source) = cgroup_memory(root).unwrap();
        assert_eq!(source, Source::CgroupV2);
        assert_eq!(memory, CgroupMemory { limit: 1 << 30, usage: 768 << 20 });
        let room = headroom(root, None, Some(100 << 20)).unwrap();
        assert_eq!(room, Headroom { available: 256 << 20, source: Source::CgroupV2, cgroup_limit: Some(1 << 30) });
    }

    #[test]
    fn cgroup_v2_namespaced_root() {
        let root = fixture(&[
            ("proc/self/cgroup", "0::/\n"),
            ("sys/fs/cgroup/memory.max", "268435456\n"),
            ("sys/fs/cgroup/memory.current", "67108864\n"),
        ]);
        let root = root.path();
        let room = headroom(root, None, None).unwrap();
        assert_eq!((room.available, room.source), (192 << 20, Source::CgroupV2));
    }

    #[test]
    fn cgroup_v1() {
        let root = fixture(&[
            ("proc/self/cgroup", "9:memory:/docker/abc\n1:name=systemd:/docker/abc\n"),
            ("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "536870912\n"),
            ("sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes", "134217728\n"),
            ("proc/meminfo", MEMINFO),
        ]);
        let root = root.path();
        let room = headroom(root, None, None).unwrap();
        assert_eq!(room, Headroom { available: 384 << 20, source: Source::CgroupV1, cgroup_limit: Some(512 << 20) });
        // An unlimited v1 group: the machine decides.
        write(root, "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "9223372036854771712\n");
        let room = headroom(root, None, None).unwrap();
        assert_eq!((room.source, room.cgroup_limit), (Source::System, None));
    }

    #[test]
    fn machine_tighter_than_cgroup() {
        let root = fixture(&[
            ("proc/self/cgroup", "0::/\n"),
            ("sys/fs/cgroup/memory.max", "1099511627776\n"),
            ("sys/fs/cgroup/memory.current", "0\n"),
            ("proc/meminfo", "MemAvailable: 1024 kB\n"),
        ]);
        let root = root.path();
        let room = headroom(root, None, None).unwrap();
        assert_eq!(room, Headroom { available: 1 << 20, source: Source::System, cgroup_limit: Some(1 << 40) });
    }

    #[test]
    fn explicit_limit_replaces_the_detected_ones() {
        let root = fixture(&[
            ("proc/meminfo", MEMINFO),
        ]);
        let root = root.path();
        let room = headroom(root, Some(300 << 20), Some(100 << 20)).unwrap();
        assert_eq!((room.available, room.source), (200 << 20, Source::Option));
        let room = headroom(root, Some(1 << 20), Some(100 << 20)).unwrap();
        assert_eq!(room.available, 0, "a limit below the RSS leaves nothing");
        assert_eq!(headroom(root, Some(1 << 20), None), None, "no RSS known: no check");
        assert_eq!(headroom(Path::new("/nonexistent-root"), None, None), None);
    }

    #[test]
    fn decision() {
        let room = Headroom { available: 500 << 20, source: Source::CgroupV2, cgroup_limit: Some(1 << 30) };
        assert_eq!(decide(400 << 20, Some(&room), false), Decision::Go);
        assert_eq!(
            decide(600 << 20, Some(&room), false),
            Decision::Refuse { estimated: 600 << 20, available: 500 << 20, source: Source::CgroupV2 }
        );
        assert_eq!(decide(600 << 20, Some(&room), true), Decision::Go, "force");
        assert_eq!(decide(u64::MAX, None, false), Decision::Go, "nothing known");
    }

    #[test]
    fn estimate_and_words() {
        assert_eq!(estimate(0), FIXED_BYTES);
        assert_eq!(estimate(100 << 20), 1000 * (1 << 20) + FIXED_BYTES);
        assert_eq!(estimate(u64::MAX), u64::MAX);
        assert_eq!(human_bytes(512 << 10), "512 KiB");
        assert_eq!(human_bytes(812 << 20), "812.0 MiB");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
    }
}
