'use strict';
// `heapsnap dump <pid>` and `heapsnap profile <pid>`: a heap snapshot (or a sampling heap
// profile) of another running Node process, written by that process itself, with the answer
// of when it is complete.
//
// Target with heapsnap loaded (its writer addon is mapped): the request channel. We leave a
// request in /tmp/heapsnap-<uid>/ (private to the target's user), send the target its dump
// signal, and wait for its answer file (heapsnap-core's remote.rs is the other side; the
// protocol and its trust rules are in SECURITY.md). Nothing listens in the target.
// Target without heapsnap: only with `inspector: true`, through Node's own inspector
// (lib/operator/inspector-dump.js), which opens a debugging port while it runs.

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { heapsnapError } = require('../errors');
const { optionsFromEnv } = require('../writer/signal');
const proc = require('./proc');
const { channelDir, openChannel } = require('./channel');

const POLL_MS = 50;
// A signalled thread answers at once (interrupt inside running JS, or its idle event loop):
// no answer in this time means no heapsnap handler is listening for that signal there.
const ANSWER_WINDOW_MS = 10_000;

const INSPECTOR_HINT =
  "--inspector dumps it through Node's own inspector instead (it opens a debugging port on 127.0.0.1 " +
  'while the dump runs: any local user can connect to it and run code in the process until heapsnap closes it)';

/** Checks the pid exists, is ours to signal, and runs Node. Returns its uid. */
function inspectTarget(pid) {
  if (process.platform !== 'linux') {
    throw heapsnapError('ERR_HEAPSNAP_UNSUPPORTED', `heapsnap dump needs Linux's /proc (this is ${process.platform})`);
  }
  proc.checkCanSignal(pid);
  const exe = proc.executable(pid);
  let uid;
  try {
    uid = fs.statSync(`/proc/${pid}`).uid;
  } catch {
    throw heapsnapError('ERR_HEAPSNAP_TARGET_DIED', `process ${pid} exited`);
  }
  if (exe === undefined) throw heapsnapError('EPERM', `permission denied reading /proc/${pid} (run heapsnap dump as the process's user or as root)`);
  if (!/node/i.test(path.basename(exe))) {
    throw heapsnapError('ERR_HEAPSNAP_NOT_NODE', `process ${pid} is not a Node.js process (${exe})`);
  }
  return uid;
}

/** Which of heapsnap's addons the target has mapped: `{ writer, analyzer }`. */
function heapsnapAddons(pid) {
  const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
  return { writer: /[/]heapsnap\.[\w-]+\.abi\d+\.node$/m.test(maps), analyzer: /[/]heapsnap-analyzer\.[\w-]+\.node$/m.test(maps) };
}

/** The signal the target's default heapsnap handler listens to, from its environment. */
function targetSignal(pid) {
  let env;
  try {
    ({ env } = proc.commandLine(pid));
  } catch {
    return 'SIGUSR2';
  }
  const options = optionsFromEnv(env, { quiet: true });
  if (options === null) {
    throw heapsnapError(
      'ERR_HEAPSNAP_NO_HANDLER',
      `process ${pid} runs with heapsnap's signal dumps off (HEAPSNAP_OPTIONS=nosignal): pass --signal if it installed a handler itself; or ${INSPECTOR_HINT}`,
    );
  }
  return options.signal || 'SIGUSR2';
}

/** Leaves the request where only the target will take it; returns the files to clean up. */
function leaveRequest(dir, pid, request) {
  const target = path.join(dir, `${pid}.request`);
  const temp = path.join(dir, `.${pid}.request.${request.id}`);
  fs.writeFileSync(temp, JSON.stringify(request), { mode: 0o600, flag: 'wx' });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(temp, target);
        break;
      } catch (err) {
        if (err.code !== 'EEXIST' || attempt > 0 || !removeIfExpired(target)) {
          throw heapsnapError('ERR_HEAPSNAP_BUSY', `another heapsnap dump of process ${pid} is in progress (${target})`);
        }
      }
    }
  } finally {
    fs.rmSync(temp, { force: true });
  }
  return {
    request: target,
    taken: path.join(dir, `${pid}.request.taken`),
    response: path.join(dir, `${pid}-${request.id}.response`),
  };
}

/** Removes a request left by a heapsnap dump that gave up (its deadline passed). */
function removeIfExpired(file) {
  try {
    if (JSON.parse(fs.readFileSync(file, 'utf8')).deadline < Date.now()) {
      fs.rmSync(file, { force: true });
      return true;
    }
  } catch {
    fs.rmSync(file, { force: true });
    return true;
  }
  return false;
}

/** A small JSON file the other side wrote whole (temp + rename), or null. */
function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Bytes written so far: the size of the file the target has open in the target's directory.
 * The sink's file has no name until it is complete (O_TMPFILE, or a random hidden name), so it
 * is found through /proc/<pid>/fd, whose links stat the open file itself.
 */
function bytesSoFar(target, pid) {
  const dir = `${path.dirname(target)}/`;
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      const link = `/proc/${pid}/fd/${fd}`;
      if (fs.readlinkSync(link).startsWith(dir)) {
        const stat = fs.statSync(link);
        if (stat.isFile()) return stat.size;
      }
    }
  } catch {
    // The target exited or closed the file meanwhile: nothing to show this time.
  }
  return 0;
}

/**
 * Only our own request's files: a later request may already use the same names. The claimed
 * request goes first: without it, a target still dumping knows nobody waits for its answer.
 */
function cleanUp(files, id) {
  for (const file of [files.request, files.taken]) {
    const left = readJson(file);
    if (left && left.id === id) fs.rmSync(file, { force: true });
  }
  fs.rmSync(files.response, { force: true });
}

/** Waits for the target's answer; resolves with its `done` response. */
async function awaitAnswer(pid, files, { thread, signal, timeoutMs, onProgress, target, abort }) {
  const started = Date.now();
  let answeredAt = 0;
  for (;;) {
    const answer = readJson(files.response);
    if (answer && (answer.state === 'done' || answer.state === 'profiling')) return answer;
    if (answer && answer.state === 'failed') throw heapsnapError(answer.code, `process ${pid} could not write ${target}: ${answer.message}`);
    if (answer && !answeredAt) answeredAt = Date.now();
    if (proc.hasExited(pid)) throw heapsnapError('ERR_HEAPSNAP_TARGET_DIED', `process ${pid} exited before the snapshot was complete`);
    const waited = Date.now() - started;
    if (!answeredAt && waited > Math.min(ANSWER_WINDOW_MS, timeoutMs)) {
      const who = thread === 0 ? `process ${pid}` : `thread ${thread} of process ${pid}`;
      throw heapsnapError(
        'ERR_HEAPSNAP_NO_ANSWER',
        `${who} did not answer ${signal}: no heapsnap handler listens for it there (removed, or another signal: pass --signal${thread === 0 ? '' : '; or no such worker'})`,
      );
    }
    if (waited > timeoutMs) throw heapsnapError('ERR_HEAPSNAP_TIMEOUT', `no complete snapshot from process ${pid} after ${Math.round(timeoutMs / 1000)} s (it may still finish: ${target})`);
    if (abort && abort.aborted) throw heapsnapError('ABORT_ERR', `stopped waiting for process ${pid} (it may still finish: ${target})`);
    if (onProgress) onProgress({ phase: answeredAt ? 'writing' : 'waiting', bytes: bytesSoFar(target, pid), ms: waited });
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Dumps process `pid`'s heap to `path` (absolute or relative to our cwd). Resolves with
 * `{ path, bytes, rawBytes, compression, durationMs, via }` once the file is complete.
 * `onProgress({ phase, bytes, ms, done, total })`: phase `waiting` (for the target to answer),
 * `writing` (bytes so far), or `snapshot` (V8's progress, done/total, through the inspector).
 * `abort` (an AbortSignal) stops waiting and cleans up (code ABORT_ERR).
 */
async function dumpProcess({ pid, path: output, compress, gc = false, force = false, redact = false, thread = 0, signal, timeoutMs = 300_000, inspector = false, onProgress, abort }) {
  const uid = inspectTarget(pid);
  const target = path.resolve(output);
  if (inspector) {
    const { dumpViaInspector } = require('./inspector-dump');
    const started = Date.now();
    const progress = onProgress && ((done, total) => onProgress({ phase: 'snapshot', done, total, ms: Date.now() - started }));
    const info = await dumpViaInspector({ pid, path: target, compress, gc, redact, force, timeoutMs, onProgress: progress, signal: abort });
    return { ...info, via: 'inspector' };
  }
  const channel = openTarget(pid, uid, signal);
  const fields = { action: 'snapshot', path: target, gc, ...(compress && { compress }), ...(force && { force: true }), ...(redact && { redact: true }) };
  const done = await ask(pid, channel, fields, { thread, timeoutMs, onProgress, target, abort });
  return { path: done.path, bytes: done.bytes, rawBytes: done.rawBytes, compression: done.compression, durationMs: done.durationMs, pauseMs: done.pauseMs, via: 'signal' };
}

/** The request channel to a target with heapsnap loaded, and the signal its handler listens to. */
function openTarget(pid, uid, signal) {
  // Signals off in its environment first: heapsnap then never loads its writer, so it looks
  // exactly like a process without heapsnap.
  const dumpSignal = signal || targetSignal(pid);
  const addons = heapsnapAddons(pid);
  // The portable writer's signal handler loads the analyzer (its file sink) and no writer.
  if (!addons.writer && addons.analyzer) {
    throw heapsnapError(
      'ERR_HEAPSNAP_UNSUPPORTED',
      `process ${pid} runs heapsnap's portable writer (no native writer for its Node or platform, or HEAPSNAP_FORCE_PORTABLE=writer), ` +
        `which has no request channel for heapsnap dump; ${INSPECTOR_HINT}`,
    );
  }
  if (!addons.writer) {
    throw heapsnapError('ERR_HEAPSNAP_NOT_LOADED', `process ${pid} has not loaded heapsnap (add require('heapsnap') to it); ${INSPECTOR_HINT}`);
  }
  return { dir: openChannel(uid), signal: dumpSignal };
}

/** Leaves one request, signals the target and waits for its answer (`done` or `profiling`). */
async function ask(pid, { dir, signal }, fields, { thread, timeoutMs, ...wait }) {
  const request = { id: crypto.randomBytes(8).toString('hex'), thread, deadline: Date.now() + timeoutMs, ...fields };
  const files = leaveRequest(dir, pid, request);
  try {
    process.kill(pid, signal);
    return await awaitAnswer(pid, files, { thread, signal, timeoutMs, ...wait });
  } finally {
    cleanUp(files, request.id);
  }
}

/** Resolves after `ms`, or as soon as `abort` fires. */
function sleep(ms, abort) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    abort?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/**
 * A sampling heap profile of process `pid` over `seconds`: asks its heapsnap to start the
 * sampling profiler, waits, then asks it to stop and write `path`. `abort` (Ctrl-C) ends the
 * wait early and still writes what was sampled. Resolves like {@link dumpProcess}, plus
 * `seconds`. A profiler left running by a `heapsnap profile` that was killed is replaced by
 * the next one; one the application started itself is never touched (ERR_HEAPSNAP_BUSY).
 */
async function profileProcess({ pid, path: output, seconds = 30, interval, stackDepth, compress, thread = 0, signal, timeoutMs = 60_000, onProgress, abort }) {
  const channel = openTarget(pid, inspectTarget(pid), signal);
  const target = path.resolve(output);
  const wait = { thread, timeoutMs, onProgress, target };
  await ask(pid, channel, { action: 'profile-start', path: target, ...(interval && { interval }), ...(stackDepth && { stackDepth }) }, { ...wait, abort });
  const started = Date.now();
  await sleep(seconds * 1000, abort);
  const done = await ask(pid, channel, { action: 'profile-stop', path: target, ...(compress && { compress }) }, wait);
  return { path: done.path, bytes: done.bytes, rawBytes: done.rawBytes, compression: done.compression, seconds: (Date.now() - started) / 1000, via: 'signal' };
}

module.exports = { dumpProcess, profileProcess };
