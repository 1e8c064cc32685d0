//! The free-space check before every dump: the file heapsnap-core's `space` estimates for this
//! isolate's heap and compression, against what the target's filesystem has left (statvfs on
//! the sink's directory handle). Runs from `dump::capture` right after the sink is created
//! (an unnamed file: refusing leaves nothing) and before the snapshot is taken.

use heapsnap_core::write::sink::SnapshotSink;
use heapsnap_core::write::space;

use crate::error::DumpError;
use crate::headroom::{record_refusal, Refusal};

/// What the free-space check saw, for `info.disk`: heapsnap-core's [`space::Fits`].
pub type DiskContext = space::Fits;

/// Refuses with `ERR_HEAPSNAP_NO_SPACE` when the estimated file does not fit, unless `force`.
pub fn check(sink: &SnapshotSink, used_heap_bytes: u64, force: bool) -> Result<DiskContext, DumpError> {
    space::check(sink, used_heap_bytes, force).map_err(|refusal| {
        record_refusal(Refusal { estimated: refusal.estimated, available: refusal.available });
        refusal.into()
    })
}
