//! How often a signal may cause a dump.
//!
//! Every signal used to write a full snapshot: a burst spread over minutes, or an operator's
//! `while true; do kill -USR2 ...; done`, pauses the service for seconds each time and can fill
//! the disk (a 1 GB heap makes ~1.5 GB of JSON per dump). So a signal dump needs a minimum
//! interval since the previous dump attempt ended, and may be capped in number. Dumps asked
//! for explicitly (`heapsnap dump <pid>`, `writeSnapshot`) are not limited: someone awaits them.

use std::time::{Duration, Instant};

/// The default minimum time between the end of one signal dump and the start of the next.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// The limits of one signal handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Minimum time from the end of the previous dump attempt; zero turns it off.
    pub interval: Duration,
    /// How many dumps the handler writes in all; `None` for no cap.
    pub max_dumps: Option<u32>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { interval: DEFAULT_INTERVAL, max_dumps: None }
    }
}

/// Why a signal did not dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The previous attempt ended `since` ago, less than `interval`.
    TooSoon { since: Duration, interval: Duration },
    /// `max_dumps` dumps were written already.
    MaxDumps { max_dumps: u32 },
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::TooSoon { since, interval } => write!(
                f,
                "the last dump ended {:.1} s ago and the interval is {} s (option 'interval', HEAPSNAP_OPTIONS=interval=SECONDS)",
                since.as_secs_f64(),
                interval.as_secs_f64()
            ),
            Skip::MaxDumps { max_dumps } => {
                write!(f, "{max_dumps} dump(s) written, the most allowed (option 'maxDumps', HEAPSNAP_OPTIONS=maxdumps=N)")
            }
        }
    }
}

/// What one handler has done so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct History {
    /// Dumps written (successfully).
    pub dumps: u32,
    /// Signals that did not dump because of the limits.
    pub skipped: u32,
    /// When the last dump attempt ended, successful or not.
    pub last_end: Option<Instant>,
}

impl History {
    /// Whether a signal arriving `now` may dump; counts it as skipped when not.
    pub fn admit(&mut self, limits: &Limits, now: Instant) -> Result<(), Skip> {
        let verdict = match (limits.max_dumps, self.last_end) {
            (Some(max_dumps), _) if self.dumps >= max_dumps => Err(Skip::MaxDumps { max_dumps }),
            (_, Some(end)) if now.saturating_duration_since(end) < limits.interval => {
                Err(Skip::TooSoon { since: now.saturating_duration_since(end), interval: limits.interval })
            }
            _ => Ok(()),
        };
        if verdict.is_err() {
            self.skipped += 1;
        }
        verdict
    }

    /// Records the end of a dump attempt.
    pub fn ended(&mut self, at: Instant, succeeded: bool) {
        self.last_end = Some(at);
        if succeeded {
            self.dumps += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn the_first_signal_always_dumps() {
        let mut history = History::default();
        assert_eq!(history.admit(&Limits::default(), Instant::now()), Ok(()));
        assert_eq!(history.skipped, 0);
    }

    #[test]
    fn a_signal_within_the_interval_of_the_last_end_is_skipped() {
        let limits = Limits { interval: 10 * SECOND, max_dumps: None };
        let start = Instant::now();
        let mut history = History::default();
        history.ended(start, true);
        assert_eq!(history.admit(&limits, start + 4 * SECOND), Err(Skip::TooSoon { since: 4 * SECOND, interval: 10 * SECOND }));
        assert_eq!(history.skipped, 1);
        assert_eq!(history.admit(&limits, start + 10 * SECOND), Ok(()));
        // A failed attempt also starts the interval: a failing dump can still pause for seconds.
        history.ended(start + 20 * SECOND, false);
        assert!(history.admit(&limits, start + 21 * SECOND).is_err());
        assert_eq!(history.dumps, 1);
    }

    #[test]
    fn max_dumps_counts_successful_dumps_only() {
        let limits = Limits { interval: Duration::ZERO, max_dumps: Some(2) };
        let now = Instant::now();
        let mut history = History::default();
        for succeeded in [false, true, true] {
            assert_eq!(history.admit(&limits, now), Ok(()));
            history.ended(now, succeeded);
        }
        assert_eq!(history.admit(&limits, now), Err(Skip::MaxDumps { max_dumps: 2 }));
        assert_eq!(history.skipped, 1);
    }

    #[test]
    fn zero_interval_and_no_cap_admit_everything() {
        let limits = Limits { interval: Duration::ZERO, max_dumps: None };
        let now = Instant::now();
        let mut history = History::default();
        for _ in 0..100 {
            assert_eq!(history.admit(&limits, now), Ok(()));
            history.ended(now, true);
        }
    }

    #[test]
    fn skip_messages_name_the_option() {
        let too_soon = Skip::TooSoon { since: Duration::from_millis(3200), interval: 30 * SECOND };
        assert_eq!(
            too_soon.to_string(),
            "the last dump ended 3.2 s ago and the interval is 30 s (option 'interval', HEAPSNAP_OPTIONS=interval=SECONDS)"
        );
        assert!(Skip::MaxDumps { max_dumps: 3 }.to_string().starts_with("3 dump(s) written"));
    }
}
