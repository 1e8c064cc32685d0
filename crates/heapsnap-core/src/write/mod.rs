//! Writing snapshot files: everything between V8's serializer (or an inspector session's
//! chunks) and a complete 0600 file on disk, plus the checks and records around a dump.

pub mod background;
pub mod error;
pub mod headroom;
pub mod memory_record;
pub mod naming;
pub mod outfile;
pub mod rate_limit;
pub mod redact;
pub mod remote;
pub mod sink;
pub mod space;
