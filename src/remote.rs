//! Dumps asked for from outside by `heapsnap dump <pid>`: the signal handler's thread claims
//! the request from heapsnap-core's channel, dumps where it says and answers, so the CLI knows
//! when the file is complete (and why not, if it failed).

use heapsnap_core::remote::{Channel, Claim, DumpRequest, Response};

use crate::dump::{self, TriggerOptions};
use crate::error::DumpError;
use crate::options::NativeWriteOptions;
use crate::v8::Isolate;

/// Serves one signal on this thread: the request it carries, or an ordinary signal dump.
pub fn on_signal(isolate: &Isolate, trigger: &TriggerOptions) {
    let channel = Channel::for_this_process();
    match channel.claim(trigger.write.thread_id.unwrap_or(0)) {
        // A request from `heapsnap dump` waits for its answer: always in-process.
        Claim::Ordinary => crate::background::signal_dump_and_report(isolate, trigger),
        Claim::NotForThisThread => {}
        Claim::Request(request) => {
            let response = serve(isolate, &request, trigger);
            if channel.is_awaited(&request.id) {
                channel.respond(&response);
            }
            channel.release();
        }
    }
}

/// Writes the requested snapshot; the answer for the CLI, after the usual stderr line.
fn serve(isolate: &Isolate, request: &DumpRequest, trigger: &TriggerOptions) -> Response {
    let options = NativeWriteOptions {
        path: Some(request.path.to_string_lossy().into_owned()),
        compress: request.compress.clone(),
        gc: Some(request.gc),
        // A handler set to redact (HEAPSNAP_OPTIONS=redact) never writes a plain snapshot.
        redact: trigger.write.redact,
        // So does the headroom check (HEAPSNAP_OPTIONS=memlimit=...,force).
        force: Some(request.force || trigger.write.force.unwrap_or(false)),
        memory_limit: trigger.write.memory_limit,
        thread_id: trigger.write.thread_id,
        ..NativeWriteOptions::default()
    };
    let id = request.id.clone();
    match options.into_request().and_then(|plan| dump::write_now(isolate, &plan)) {
        Ok(outcome) => {
            if !trigger.quiet {
                eprintln!("heapsnap: heapsnap dump: {}", outcome.describe());
            }
            Response::Done {
                id,
                path: outcome.path,
                bytes: outcome.bytes,
                raw_bytes: outcome.raw_bytes,
                compression: outcome.compression.as_str().to_string(),
                duration_ms: outcome.duration.as_millis() as u64,
                pause_ms: outcome.pause.as_millis() as u64,
            }
        }
        Err(err) => failed(id, &err),
    }
}

fn failed(id: String, err: &DumpError) -> Response {
    eprintln!("heapsnap: requested dump failed: {}: {err}", err.code());
    Response::Failed { id, code: err.code(), message: err.to_string() }
}
