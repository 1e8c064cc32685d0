//! Errors of the addon and their mapping to JS: every failure becomes an `Error` whose
//! `code` is stable (an OS code such as `ENOENT`, or `ERR_HEAPSNAP_*`).

use heapsnap_core::write::error::Error as CoreError;

/// What a dump can fail with, beyond the sink's own errors.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("heapsnap must be called from a thread running JavaScript")]
    NoIsolate,
    #[error("a heap snapshot is already being written on this thread")]
    Busy,
    #[error("V8 could not take a heap snapshot")]
    SnapshotFailed,
    #[error("heapsnap signal handler: {0}")]
    Signal(String),
    #[error("V8 stopped serializing the heap snapshot for '{0}'")]
    SerializeFailed(String),
    #[error(
        "not enough memory for a heap snapshot: it needs about {} more, {} available ({from}); force: true dumps anyway",
        heapsnap_core::write::headroom::human_bytes(*.estimated),
        heapsnap_core::write::headroom::human_bytes(*.available)
    )]
    NoHeadroom { estimated: u64, available: u64, from: &'static str },
    #[error("a background heap dump is already running (child pid {0}); one at a time per process")]
    BackgroundBusy(i32),
    #[error("background heap dump failed: {0}")]
    Background(String),
    #[error(transparent)]
    NoSpace(#[from] heapsnap_core::write::space::NoSpace),
}

impl DumpError {
    pub fn code(&self) -> String {
        match self {
            DumpError::Core(err) => err.code().to_string(),
            DumpError::NoIsolate => "ERR_HEAPSNAP_NO_ISOLATE".into(),
            DumpError::Busy => "ERR_HEAPSNAP_BUSY".into(),
            DumpError::SnapshotFailed => "ERR_HEAPSNAP_SNAPSHOT_FAILED".into(),
            DumpError::Signal(_) => "ERR_HEAPSNAP_SIGNAL".into(),
            DumpError::SerializeFailed(_) => "ERR_HEAPSNAP_SERIALIZE_FAILED".into(),
            DumpError::NoHeadroom { .. } => "ERR_HEAPSNAP_NO_HEADROOM".into(),
            DumpError::BackgroundBusy(_) => "ERR_HEAPSNAP_BUSY".into(),
            DumpError::Background(_) => "ERR_HEAPSNAP_BACKGROUND_FAILED".into(),
            DumpError::NoSpace(_) => heapsnap_core::write::space::NoSpace::CODE.into(),
        }
    }
}


/// napi-rs turns the status string of an `Error<String>` into the JS error's `code`.
impl From<DumpError> for napi::Error<String> {
    fn from(err: DumpError) -> Self {
        napi::Error::new(err.code(), err.to_string())
    }
}
