//! Dumps nobody awaits (a signal, the near-heap-limit callback, a `heapsnap dump <pid>`
//! request): what they write, and their one line on stderr.

use crate::dump::write_now;
use crate::notify::{self, DumpNotice};
use crate::options::NativeWriteOptions;
use crate::v8::Isolate;

/// What a triggered dump (signal, near heap limit) writes, and whether it reports on stderr.
#[derive(Clone, Default)]
pub struct TriggerOptions {
    pub write: NativeWriteOptions,
    pub quiet: bool,
}

impl TriggerOptions {
    /// Writes a dump nobody awaits; the outcome goes to stderr as one line (the success line
    /// only when not quiet). `trigger` names the cause: `signal`, `near-heap-limit`. Returns
    /// whether the snapshot was written.
    pub fn write_and_report(&self, isolate: &Isolate, trigger: &str, success_prefix: &str) -> bool {
        let result = self.write.clone().into_request().and_then(|request| write_now(isolate, &request));
        let written = result.is_ok();
        match result {
            Ok(outcome) => {
                notify::notify(DumpNotice::new(&outcome, trigger, "in-process"));
                if !self.quiet {
                    eprintln!("heapsnap: {success_prefix}{}", outcome.describe());
                }
                for warning in &outcome.warnings {
                    eprintln!("heapsnap: warning: {warning}");
                }
            }
            Err(err) => eprintln!("heapsnap: {trigger} dump failed: {}: {err}", err.code()),
        }
        written
    }
}
