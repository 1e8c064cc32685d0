//! Is there disk space for a heap snapshot's file? The estimate and the decision of the
//! free-space check that runs before every dump (beside the headroom check, `headroom`); the
//! free bytes come from the sink's directory handle (`SnapshotSink::available_bytes`).
//!
//! Why: a 1 GB heap makes ~1-2 GB of JSON; discovering ENOSPC after seconds of pause, with the
//! filesystem full for everyone else meanwhile, is worse than refusing up front.

use crate::write::headroom::human_bytes;
use crate::write::outfile::parent_dir;
use crate::write::sink::{Compression, SnapshotSink};

/// Fixed part of every estimate: the snapshot's meta and a fresh isolate's own strings are a
/// few MiB whatever the heap (a fresh Node 20 process: 4.2 MiB heap, 4.9 MiB file).
pub const FIXED_BYTES: u64 = 2 << 20;

/// The file a dump of a heap with `used_heap_bytes` in use (V8's `used_heap_size`) will make,
/// for a compression and level (`None`: the compression's default level).
///
/// Calibrated with `node bench/disk.js` on Node 20 (bench/README.md, "Free-space estimate"):
/// the file per byte of used heap was, across heaps of records, nested objects, 2 KB strings,
/// escaped non-ASCII strings, number arrays, TypeScript ASTs and TypeScript's compiler loaded
/// (20-80 MiB), at most 2.09 plain, 0.43 gzip 1, 0.26 gzip 3, 0.18 zstd 1, and as little as a
/// tenth of that for number arrays. The factors below sit 8-16% above those maxima: the
/// estimate is 1.09-2.8x the real file for string, object, record and AST heaps (2.4-3x for a
/// fresh process's 4 MiB heap), 2.3-3.4x with TypeScript's compiler loaded and 7-16x for heaps
/// of number arrays; it was below the file in no measured case.
/// It over-estimates on purpose: a refusal costs a `force`, a full disk costs the dump and
/// everyone else's writes.
pub fn estimate(used_heap_bytes: u64, compression: Compression, level: Option<i32>) -> u64 {
    let per_heap_byte = bytes_per_heap_byte(compression, level.or(compression.default_level()));
    ((used_heap_bytes as f64 * per_heap_byte) as u64).saturating_add(FIXED_BYTES)
}

/// File bytes per byte of used heap (see [`estimate`]). Higher levels compress better than the
/// measured ones, so the measured level's factor covers them.
fn bytes_per_heap_byte(compression: Compression, level: Option<i32>) -> f64 {
    const PLAIN: f64 = 2.25;
    match (compression, level.unwrap_or(0)) {
        (Compression::None, _) => PLAIN,
        // Level 0 stores: deflate's framing adds ~5 bytes per 64 KiB block.
        (Compression::Gzip, 0) => PLAIN * 1.01,
        (Compression::Gzip, 1..=2) => 0.5,
        (Compression::Gzip, _) => 0.3,
        (Compression::Zstd, _) => 0.2,
    }
}

/// The refusal's error: `ERR_HEAPSNAP_NO_SPACE` ([`NoSpace::CODE`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not enough disk space for the heap snapshot in '{dir}': the file needs about {}, {} available; force: true dumps anyway",
    human_bytes(*.estimated),
    human_bytes(*.available)
)]
pub struct NoSpace {
    pub estimated: u64,
    pub available: u64,
    /// The directory the file was to go to.
    pub dir: String,
}

impl NoSpace {
    pub const CODE: &'static str = "ERR_HEAPSNAP_NO_SPACE";
}

/// What the check saw for a file that fits: the estimate and the filesystem's free bytes
/// (`None` when it does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fits {
    pub estimated: u64,
    pub available: Option<u64>,
}

/// The whole check for one dump: the estimate for `used_heap_bytes` at `sink`'s compression
/// and level, against what the filesystem of `sink`'s directory has left (through its handle).
pub fn check(sink: &SnapshotSink, used_heap_bytes: u64, force: bool) -> Result<Fits, NoSpace> {
    let (compression, level) = sink.compression();
    let estimated = estimate(used_heap_bytes, compression, level);
    let available = sink.available_bytes();
    match decide(estimated, available, force) {
        Decision::Go => Ok(Fits { estimated, available }),
        Decision::Refuse { estimated, available } => {
            Err(NoSpace { estimated, available, dir: parent_dir(sink.target()).display().to_string() })
        }
    }
}

/// The verdict on one dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// It fits (or the filesystem does not say how much is free).
    Go,
    /// It does not, and the caller did not force it.
    Refuse { estimated: u64, available: u64 },
}

/// Refuse when the estimated file does not fit in what the filesystem has left, unless forced.
pub fn decide(estimated: u64, available: Option<u64>, force: bool) -> Decision {
    match available {
        Some(available) if !force && estimated > available => Decision::Refuse { estimated, available },
        _ => Decision::Go,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_per_compression() {
        let heap = 100 << 20;
        let plain = estimate(heap, Compression::None, None);
        assert_eq!(plain, 225 * (1 << 20) + FIXED_BYTES);
        assert!(estimate(heap, Compression::Gzip, Some(0)) > plain, "stored deflate is larger");
        assert!(estimate(heap, Compression::Gzip, Some(1)) > estimate(heap, Compression::Gzip, None));
        assert_eq!(estimate(heap, Compression::Gzip, None), estimate(heap, Compression::Gzip, Some(9)));
        assert!(estimate(heap, Compression::Zstd, None) < estimate(heap, Compression::Gzip, None));
        assert_eq!(estimate(0, Compression::Zstd, Some(19)), FIXED_BYTES);
        assert_eq!(estimate(u64::MAX, Compression::None, None), u64::MAX, "saturates");
        // Calibration points (bench/README.md): the estimate covers each measured file.
        let mib = |x: f64| (x * (1 << 20) as f64) as u64;
        for (heap, compression, level, file) in [
            (mib(76.0), Compression::None, None, mib(158.5)),
            (mib(27.4), Compression::Gzip, Some(1), mib(11.5)),
            (mib(76.2), Compression::Gzip, None, mib(20.1)),
            (mib(28.1), Compression::Zstd, None, mib(4.9)),
            (mib(4.2), Compression::None, None, mib(4.9)),
        ] {
            assert!(estimate(heap, compression, level) > file, "{heap} {compression} {level:?}");
        }
    }

    #[test]
    fn decision() {
        assert_eq!(decide(10, Some(11), false), Decision::Go);
        assert_eq!(decide(10, Some(10), false), Decision::Go);
        assert_eq!(decide(11, Some(10), false), Decision::Refuse { estimated: 11, available: 10 });
        assert_eq!(decide(11, Some(10), true), Decision::Go, "force");
        assert_eq!(decide(u64::MAX, None, false), Decision::Go, "nothing known");
    }
}
