//! Dumps that JS did not start (a signal, the near-heap-limit callback, a `heapsnap dump`
//! request) told to this thread's JS `dump` listeners (lib/writer/events.js). The listener is a
//! weak threadsafe function: the call is queued and runs when the event loop next turns, never
//! inside the interrupt or callback that dumped, and it never keeps the process alive. After
//! a near-heap-limit dump the process usually dies before that turn: that notice is lost.

use std::cell::RefCell;

use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::dump::DumpOutcome;

/// What a `dump` listener learns of a dump it did not start.
#[napi(object)]
pub struct DumpNotice {
    pub path: String,
    pub bytes: f64,
    pub raw_bytes: f64,
    pub compression: String,
    /// `signal`, `near-heap-limit` or `remote` (a `heapsnap dump <pid>` request).
    pub trigger: String,
    /// `in-process` or `background`.
    pub mode: String,
    pub memory_file: Option<String>,
}

impl DumpNotice {
    pub fn new(outcome: &DumpOutcome, trigger: &str, mode: &str) -> DumpNotice {
        DumpNotice {
            path: outcome.path.to_string_lossy().into_owned(),
            bytes: outcome.bytes as f64,
            raw_bytes: outcome.raw_bytes as f64,
            compression: outcome.compression.as_str().to_string(),
            trigger: trigger.to_string(),
            mode: mode.to_string(),
            memory_file: outcome.memory_file.as_ref().map(|path| path.to_string_lossy().into_owned()),
        }
    }
}

type Listener = ThreadsafeFunction<DumpNotice, (), DumpNotice, napi::Status, false, true>;

thread_local! {
    // One per JS thread: dumps are taken, and reported, on the thread whose heap they show.
    static LISTENER: RefCell<Option<Listener>> = const { RefCell::new(None) };
}

/// Makes `callback` this thread's listener (replacing any earlier one).
pub fn set_listener(callback: Function<DumpNotice, ()>) -> napi::Result<()> {
    let listener = callback.build_threadsafe_function::<DumpNotice>().callee_handled::<false>().weak::<true>().build()?;
    LISTENER.with(|slot| *slot.borrow_mut() = Some(listener));
    Ok(())
}

/// Queues `notice` for this thread's listener, if it has one.
pub fn notify(notice: DumpNotice) {
    LISTENER.with(|slot| {
        if let Some(listener) = slot.borrow().as_ref() {
            listener.call(notice, ThreadsafeFunctionCallMode::NonBlocking);
        }
    });
}
