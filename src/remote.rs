//! Dumps asked for from outside by `heapsnap dump <pid>`: the signal handler's thread claims
//! the request from heapsnap-core's channel, dumps where it says and answers, so the CLI knows
//! when the file is complete (and why not, if it failed).

use heapsnap_core::write::naming::WriteRequest;
use heapsnap_core::write::remote::{Action, Channel, Claim, DumpRequest, Response};

use crate::dump;
use crate::notify::{self, DumpNotice};
use crate::trigger::TriggerOptions;
use crate::error::DumpError;
use crate::options::NativeWriteOptions;
use crate::profile::{self, Owner};
use crate::v8::Isolate;

/// Serves one signal on this thread: the request it carries, or else `ordinary` (the signal
/// handler's own dump, subject to its rate limit; a request is not: someone awaits it).
pub fn on_signal(isolate: &Isolate, trigger: &TriggerOptions, ordinary: &mut dyn FnMut()) {
    let channel = Channel::for_this_process();
    match channel.claim(trigger.write.thread_id.unwrap_or(0)) {
        Claim::Ordinary => ordinary(),
        Claim::NotForThisThread => {}
        Claim::Request(request) => {
            let response = match request.action {
                Action::Snapshot => serve(isolate, &request, trigger),
                Action::ProfileStart | Action::ProfileStop => serve_profile(isolate, &request, trigger),
            };
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
        redact: Some(request.redact || trigger.write.redact.unwrap_or(false)),
        // So does the headroom check (HEAPSNAP_OPTIONS=memlimit=...,force).
        force: Some(request.force || trigger.write.force.unwrap_or(false)),
        memory_limit: trigger.write.memory_limit,
        thread_id: trigger.write.thread_id,
        ..NativeWriteOptions::default()
    };
    let id = request.id.clone();
    match options.into_request().and_then(|plan| dump::write_now(isolate, &plan)) {
        Ok(outcome) => {
            notify::notify(DumpNotice::new(&outcome, "remote", "in-process"));
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

/// `heapsnap profile <pid>`: starts this thread's sampling profiler, or stops it and writes
/// the profile where the request says (synchronously: a profile is small next to a snapshot).
fn serve_profile(isolate: &Isolate, request: &DumpRequest, trigger: &TriggerOptions) -> Response {
    let id = request.id.clone();
    let thread = trigger.write.thread_id.unwrap_or(0);
    let result = match request.action {
        Action::ProfileStart => {
            let (interval, stack_depth) = (request.interval.unwrap_or(512 * 1024).max(1), request.stack_depth.unwrap_or(128).max(1));
            profile::start(isolate, interval, stack_depth, false, Owner::Remote).map(|()| Response::Profiling { id: id.clone() })
        }
        _ => {
            let write = WriteRequest { path: Some(request.path.to_string_lossy().into_owned()), compress: request.compress.clone(), ..WriteRequest::default() };
            profile::capture(isolate, &write, thread).and_then(|captured| captured.finish()).map(|info| {
                if !trigger.quiet {
                    eprintln!("heapsnap: heapsnap profile: wrote {} ({} samples, {:.1} s)", info.path, info.samples, info.duration_ms / 1e3);
                }
                Response::Done {
                    id: id.clone(),
                    path: info.path.into(),
                    bytes: info.bytes as u64,
                    raw_bytes: info.raw_bytes as u64,
                    compression: info.compression,
                    duration_ms: info.duration_ms as u64,
                    pause_ms: 0,
                }
            })
        }
    };
    result.unwrap_or_else(|err| {
        eprintln!("heapsnap: heapsnap profile request failed: {}: {}", err.status, err.reason);
        Response::Failed { id, code: err.status, message: err.reason }
    })
}

fn failed(id: String, err: &DumpError) -> Response {
    eprintln!("heapsnap: requested dump failed: {}: {err}", err.code());
    Response::Failed { id, code: err.code(), message: err.to_string() }
}
