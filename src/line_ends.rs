//! Script line ends, warmed right before every snapshot on V8 < 12 (Node 18 and 20).
//!
//! V8 before 12 recomputes a script's line ends for every function location it records in a
//! snapshot unless they are cached: ~20 s with TypeScript's compiler loaded, against 0.3 s
//! once cached. Scripts loaded since the last warm-up are cold again, so this runs before each
//! snapshot (a fraction of a millisecond when nothing is new). It is native so that it serves
//! the dumps that run inside V8 interrupts and callbacks (signal, near heap limit), where no
//! JS can run. JS-initiated dumps rely on it too, and fall back to a debugger session
//! (lib/writer/write.js) only where it is unavailable or off.
//!
//! `HEAPSNAP_LINE_END_WARMUP=off` in the environment turns it off: for benchmarks, and as an
//! escape hatch should V8's private debug interface misbehave on some node build.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::v8::{Isolate, LineEndWarmup};

/// One warm-up: what it did (`None`: turned off) and how long the JS thread spent on it.
#[derive(Debug, Clone, Copy)]
pub struct WarmupRecord {
    pub outcome: Option<LineEndWarmup>,
    pub duration: Duration,
}

thread_local! {
    /// This thread's last warm-up (one isolate per thread), for diagnostics.
    static LAST: Cell<Option<WarmupRecord>> = const { Cell::new(None) };
}

/// Warms the isolate's script line ends now, and remembers what it did.
pub fn warm(isolate: &Isolate) -> WarmupRecord {
    let started = Instant::now();
    let outcome = enabled().then(|| isolate.warm_script_line_ends());
    let record = WarmupRecord { outcome, duration: started.elapsed() };
    LAST.with(|last| last.set(Some(record)));
    record
}

/// This thread's last warm-up, if any.
pub fn last() -> Option<WarmupRecord> {
    LAST.with(Cell::get)
}

/// Read once: the environment does not change under a running dump.
fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("HEAPSNAP_LINE_END_WARMUP").is_none_or(|value| value != "off"))
}

impl WarmupRecord {
    /// `warmed`, `not-needed` (V8 >= 12), `unavailable` (no debug interface here) or `off`.
    pub fn status(&self) -> &'static str {
        match self.outcome {
            Some(LineEndWarmup::Warmed { .. }) => "warmed",
            Some(LineEndWarmup::NotNeeded) => "not-needed",
            Some(LineEndWarmup::Unavailable) => "unavailable",
            None => "off",
        }
    }

    /// Scripts visited and the sum of their last line numbers; zeros unless warmed.
    pub fn scripts_and_lines(&self) -> (u32, u64) {
        match self.outcome {
            Some(LineEndWarmup::Warmed { scripts, lines }) => (scripts, lines),
            _ => (0, 0),
        }
    }
}
