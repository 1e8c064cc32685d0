//! Allocator tuning for processes that only analyze (the CLI).
//!
//! Why: glibc serves a block from a private mapping when it is larger than its mmap threshold,
//! and raises that threshold to the size of each such block that is freed (up to 32 MiB).
//! The analyzer frees several 5-20 MB columns while it builds the next ones, so after the
//! first free the rest land in the heap, where freed space stays resident between live
//! blocks: 8-11 MB of a 200-330 MB peak on the AST heaps of bench/README.md. A fixed
//! threshold keeps every large column in its own mapping, returned to the OS when freed.
//!
//! Only the CLI calls this: the setting is process-wide, and a host application that loads
//! the analyzer to read a snapshot keeps its allocator as it was.

use napi_derive::napi;

/// Blocks from this size on get their own mapping.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1 << 20;

/// Fixes glibc's mmap threshold at 1 MiB; returns whether the allocator took the setting
/// (false on other C libraries, which need no such tuning or offer none).
#[napi]
pub fn use_private_mappings_for_large_blocks() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets an allocator parameter; glibc accepts any
        // M_MMAP_THRESHOLD up to HEAP_MAX_SIZE / 2 (32 MiB on 64-bit) and returns 0 otherwise.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
