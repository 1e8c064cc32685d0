'use strict';
// A heap snapshot of another Node process that never loaded heapsnap, through Node's own
// inspector: the way `node inspect -p <pid>` attaches, then HeapProfiler.takeHeapSnapshot with
// every chunk streamed into heapsnap's file sink as it arrives.
//
//  1. SIGUSR1 makes Node open its inspector (127.0.0.1:9229, or its --inspect-port). The port
//     is found through /proc (lib/operator/proc.js), never assumed: 9229 may be someone else's, the
//     target may use another one, or may have had an inspector open before we came.
//  2. /json/list names the session's WebSocket; we connect (lib/operator/inspector-client.js).
//  3. V8 < 12: Debugger.enable + disable first, which computes every script's line ends once;
//     otherwise the snapshot generator recomputes them and takes ~20 s with a big bundle.
//     Optional HeapProfiler.collectGarbage, then HeapProfiler.takeHeapSnapshot.
//  4. Chunks go to the analyzer addon's NativeFileSink (heapsnap-core's sink: hidden 0600 temp
//     file, gzip/zstd on a writer thread, fsync, rename when complete). Its write() copies
//     into a bounded queue and blocks only when the writer is 8 MiB behind; blocking this
//     thread then is the backpressure we want: the CLI does nothing else meanwhile, and the
//     writer (gzip 3 at 240+ MB/s) outruns V8's serializer (~150 MB/s), so it rarely happens.
//  5. The inspector is closed again with `process._debugEnd()` (unless it was open before we
//     came), and we check that its socket is gone. An open inspector lets any local user run
//     code in the process, so it closes before the file is even finished, and on failures too.

const { constants } = require('os');
const { analyzer } = require('../loader/native');
const { heapsnapError, invalidOption } = require('../errors');
const { checkValue } = require('../writer/options');
const proc = require('./proc');
const { debuggerUrl, InspectorSession, PROTOCOL_ERROR } = require('./inspector-client');

const WHERE = 'dumpViaInspector';
const SIGUSR1 = constants.signals.SIGUSR1;
const DEFAULT_INSPECTOR_PORT = 9229;

const POLL_MS = 25;
// Node opens the inspector from an interrupt or its event loop, within milliseconds unless the
// JS thread is blocked outside JavaScript.
const OPEN_WAIT_MS = 10_000;
// No new listening socket by then: maybe the inspector was already open, so look among the old.
const ALREADY_OPEN_AFTER_MS = 1000;
// Attempts at a new socket that does not answer like an inspector (it may be the app's own).
const PROBES_PER_SOCKET = 3;
const PROBE_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 10_000;
const CLOSE_WAIT_MS = 2000;
const SEND_WAIT_MS = 1000;
// A killed target closes its sockets a moment before /proc shows it gone.
const EXIT_WAIT_MS = 1000;
// setTimeout fires at once for longer delays: beyond this, no timeout.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Dumps the heap of process `pid` (same user or root) through Node's inspector.
 * Resolves { path, bytes, rawBytes, compression, durationMs, inspector: { host, port,
 * alreadyOpen, closed } } once the file is complete and renamed into place.
 * Rejects with an Error carrying a stable `code` and a one-line message naming the pid.
 *
 * `signal` (an AbortSignal, optional) stops the dump as a timeout would (code ABORT_ERR),
 * e.g. on Ctrl-C: the temp file is removed and the target's inspector closed.
 */
async function dumpViaInspector(options) {
  return new InspectorDump(checkDumpOptions(options)).run();
}

function checkDumpOptions(options) {
  if (options === null || typeof options !== 'object') throw invalidOption(`${WHERE}: options must be an object`);
  const { pid, path, compress, level, gc = false, redact = false, force = false, timeoutMs, onProgress, signal, ...unknown } = options;
  const extra = Object.keys(unknown);
  if (extra.length > 0) throw invalidOption(`${WHERE}: unknown option '${extra[0]}'`);
  if (!Number.isSafeInteger(pid) || pid <= 0) throw invalidOption(`${WHERE}: pid must be a positive integer, got ${pid}`);
  if (pid === process.pid) throw invalidOption(`${WHERE}: pid ${pid} is this process: use writeSnapshotAsync()`);
  if (timeoutMs !== undefined && !(timeoutMs > 0)) throw invalidOption(`${WHERE}: timeoutMs must be a positive number, got ${timeoutMs}`);
  if (onProgress !== undefined && typeof onProgress !== 'function') throw invalidOption(`${WHERE}: onProgress must be a function`);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidOption(`${WHERE}: signal must be an AbortSignal`);
  const optional = (key, kind, value) => (value === undefined ? undefined : checkValue(WHERE, key, kind, value));
  return {
    pid,
    path: optional('path', 'string', path),
    compress: optional('compress', 'compress', compress),
    level: optional('level', 'integer', level),
    gc: checkValue(WHERE, 'gc', 'boolean', gc),
    redact: checkValue(WHERE, 'redact', 'boolean', redact),
    force: checkValue(WHERE, 'force', 'boolean', force),
    timeoutMs: timeoutMs ?? Infinity,
    onProgress,
    signal,
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class InspectorDump {
  constructor(options) {
    this.options = options;
    this.pid = options.pid;
    this.started = Date.now();
    this.deadline = this.started + options.timeoutMs;
    /** What we are doing, for timeout and exit messages. */
    this.phase = 'starting';
    /** Why we must stop now (timeout or abort), once that happened. */
    this.stopReason = null;
    /** The target's listening sockets before SIGUSR1; null until it is sent. */
    this.socketsBefore = null;
    this.inspector = null;
    this.session = null;
    /** What the free-space check saw: { estimated, available }. */
    this.disk = null;
  }

  async run() {
    checkTarget(this.pid);
    // Opened before the target is touched: a bad path fails without opening anything there.
    const sink = this.createSink();
    const unwatch = this.watchStopConditions();
    try {
      this.inspector = await this.openInspector();
      this.session = await this.connect(this.inspector.url);
      await this.takeSnapshot(sink);
    } catch (err) {
      sink.abort();
      await this.closeInspector({ confirm: false }).catch(() => {});
      throw await this.explain(err);
    } finally {
      unwatch();
    }
    this.phase = 'closing its inspector';
    const closed = await this.closeInspector({ confirm: true });
    this.phase = 'finishing the file';
    let stats;
    try {
      stats = await sink.finish();
    } catch (err) {
      throw this.fileError(err);
    }
    const { host, port, alreadyOpen } = this.inspector;
    return { ...stats, disk: this.disk, durationMs: Date.now() - this.started, inspector: { host, port, alreadyOpen, closed } };
  }

  createSink() {
    const { pid, path, compress, level, redact } = this.options;
    const { NativeFileSink } = analyzer();
    if (NativeFileSink === undefined) {
      // A stale build (native/ or prebuilds/) from before this module: say so, not a TypeError.
      throw heapsnapError('ERR_HEAPSNAP_NATIVE_MISMATCH', 'heapsnap: the analyzer addon predates NativeFileSink: run `npm run build` again');
    }
    try {
      return NativeFileSink.create({ path, compress, level, pid, redact });
    } catch (err) {
      throw this.fileError(err);
    }
  }

  /** Timeout and abort: fail the session (pending calls reject); polls check `stopReason`. */
  watchStopConditions() {
    const stop = (reason) => {
      if (this.stopReason) return;
      this.stopReason = reason;
      if (this.session) this.session.fail(reason);
    };
    const { signal, timeoutMs } = this.options;
    const onTimeout = () => stop(this.timeoutError());
    const onAbort = () => stop(this.abortError());
    const timer = timeoutMs <= MAX_TIMER_MS ? setTimeout(onTimeout, timeoutMs) : undefined;
    signal?.addEventListener('abort', onAbort);
    if (signal?.aborted) onAbort();
    return () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
  }

  throwIfStopped() {
    if (this.stopReason) throw this.stopReason;
  }

  remainingMs() {
    return Math.max(0, this.deadline - Date.now());
  }

  /**
   * Sends SIGUSR1 and waits for the inspector's listening socket. A socket that appears after
   * the signal is the inspector's (checked by asking it for /json/list); if none appears, an
   * inspector may already have been open, so the sockets from before are asked too: at once
   * when the target was started with --inspect, else after a grace period (they are most
   * likely the app's own, which we would rather not send requests to).
   */
  async openInspector() {
    this.phase = 'waiting for its inspector to open';
    const options = inspectOptions(this.pid);
    this.socketsBefore = this.listeningSockets();
    try {
      process.kill(this.pid, SIGUSR1);
    } catch (err) {
      throw err.code === 'ESRCH' ? this.targetDied() : err;
    }
    const signalled = Date.now();
    const giveUpAt = signalled + Math.min(OPEN_WAIT_MS, this.remainingMs());
    const askOldSocketsAt = signalled + (options.some((o) => /^--inspect(-brk|-wait)?(=|$)/.test(o)) ? 0 : ALREADY_OPEN_AFTER_MS);
    const attempts = new Map();
    let askedOldSockets = false;
    for (;;) {
      if (this.stopReason?.code === 'ABORT_ERR') throw this.stopReason;
      if (proc.hasExited(this.pid)) throw this.targetDied();
      const opened = await this.findNewInspector(attempts, giveUpAt);
      if (opened) return opened;
      if (!askedOldSockets && Date.now() >= askOldSocketsAt) {
        askedOldSockets = true;
        for (const socket of this.socketsBefore) {
          const url = await probe(socket, giveUpAt);
          if (url) return { ...socket, url, alreadyOpen: true };
        }
        // Node could not bind its default port (and said so on the target's stderr): no use waiting.
        if (options.length === 0 && this.defaultPortTaken()) throw this.notOpened(Date.now() - signalled);
      }
      if (Date.now() >= giveUpAt) throw this.notOpened(Date.now() - signalled);
      await sleep(POLL_MS);
    }
  }

  /** One look for a socket that appeared since SIGUSR1 and answers like an inspector. */
  async findNewInspector(attempts, giveUpAt) {
    const fresh = this.listeningSockets().filter((s) => !this.socketsBefore.some((old) => old.inode === s.inode));
    for (const socket of fresh) {
      const tried = attempts.get(socket.inode) ?? 0;
      if (tried >= PROBES_PER_SOCKET) continue;
      attempts.set(socket.inode, tried + 1);
      const url = await probe(socket, giveUpAt);
      if (url) return { ...socket, url, alreadyOpen: false };
    }
    return null;
  }

  listeningSockets() {
    try {
      return proc.listeningSockets(this.pid);
    } catch (err) {
      if (err.code === 'ENOENT' || err.code === 'ESRCH') throw this.targetDied();
      if (err.code === 'EACCES' || err.code === 'EPERM') {
        throw heapsnapError('EPERM', `permission denied reading /proc/${this.pid}/fd (run as the user of process ${this.pid} or as root)`);
      }
      throw err;
    }
  }

  async connect(url) {
    this.phase = 'connecting to its inspector';
    this.throwIfStopped();
    const session = await InspectorSession.connect(url, Math.max(1, Math.min(CONNECT_TIMEOUT_MS, this.remainingMs())));
    // A stop that came while connecting applies to the new session too.
    if (this.stopReason) session.fail(this.stopReason);
    return session;
  }

  async takeSnapshot(sink) {
    const { session } = this;
    const { gc, onProgress } = this.options;
    if (await this.lineEndsNeedWarming()) {
      this.phase = 'warming its script line ends';
      await session.call('Debugger.enable');
      await session.call('Debugger.disable');
    }
    if (gc) {
      this.phase = 'collecting garbage';
      await session.call('HeapProfiler.collectGarbage');
    }
    // The free-space check every heapsnap dump makes, on the heap the target reports.
    this.phase = 'checking disk space';
    const { usedSize } = await session.call('Runtime.getHeapUsage');
    try {
      this.disk = sink.checkSpace(usedSize, this.options.force);
    } catch (err) {
      throw this.fileError(err);
    }
    // V8 >= 12 takes the snapshot in a task of the target's own (a GC without JS on the stack),
    // so a JS thread that never yields never starts it: the phase says which wait it is.
    this.phase = 'waiting for its JS thread to start the heap snapshot';
    session.on('HeapProfiler.reportHeapSnapshotProgress', ({ done, total }) => {
      this.phase = 'taking the heap snapshot';
      if (onProgress === undefined) return;
      try {
        onProgress(done, total);
      } catch {
        // A throwing progress callback must not abort the dump.
      }
    });
    // A sink error (ENOSPC...) thrown here fails the session, so takeHeapSnapshot rejects with it.
    session.on('HeapProfiler.addHeapSnapshotChunk', ({ chunk }) => {
      try {
        sink.write(Buffer.from(chunk, 'utf8'));
      } catch (err) {
        throw this.fileError(err);
      }
    });
    // V8 sends every chunk before the reply, so the sink has the whole snapshot when this resolves.
    await session.call('HeapProfiler.takeHeapSnapshot', { reportProgress: true });
  }

  /** V8 < 12 (Node 18, 20) recomputes script line ends in the snapshot generator; unknown: warm. */
  async lineEndsNeedWarming() {
    this.phase = 'asking for its V8 version';
    const { result } = await this.session.call('Runtime.evaluate', { expression: 'process.versions.v8', returnByValue: true });
    const major = Number.parseInt(result?.value, 10);
    return !(major >= 12);
  }

  /**
   * Closes the inspector we opened with `process._debugEnd()`, which stops Node's inspector
   * server and drops every session, ours included (so no reply ever comes). With `confirm`, we
   * wait for our connection to close and check through /proc that the listening socket is gone;
   * without (failure paths), we only make sure the request left. A busy target (e.g. still
   * building the snapshot we gave up on) has the request queued and closes as soon as its JS
   * thread is free. Returns whether the socket is known gone. An inspector that was open
   * before we came is left open.
   */
  async closeInspector({ confirm }) {
    const inspector = this.inspector ?? (await this.lateInspector());
    if (inspector === null) return false;
    if (inspector.alreadyOpen) {
      this.session?.close();
      return false;
    }
    if (proc.hasExited(this.pid)) return true;
    const session = this.session?.open ? this.session : await this.reconnect();
    if (session === null) return false;
    await Promise.race([session.send('Runtime.evaluate', { expression: 'process._debugEnd()' }), sleep(SEND_WAIT_MS)]);
    if (confirm) await Promise.race([session.closed, sleep(CLOSE_WAIT_MS)]);
    session.close();
    return confirm && this.waitForSocketGone(inspector.inode);
  }

  /**
   * An inspector that opened after we stopped waiting for it (SIGUSR1 sent, then a timeout or
   * an abort): it must not stay open either.
   */
  async lateInspector() {
    if (this.socketsBefore === null) return null;
    try {
      this.inspector = await this.findNewInspector(new Map(), Date.now() + PROBE_TIMEOUT_MS);
    } catch {
      // the target is gone, or /proc will not say
    }
    return this.inspector;
  }

  /** A fresh session to send the close request when ours is gone; null if none can be had. */
  async reconnect() {
    try {
      const url = await debuggerUrl(this.inspector, PROBE_TIMEOUT_MS);
      return await InspectorSession.connect(url, PROBE_TIMEOUT_MS);
    } catch {
      return null;
    }
  }

  async waitForSocketGone(inode) {
    const until = Date.now() + CLOSE_WAIT_MS;
    for (;;) {
      let open;
      try {
        open = proc.listeningSockets(this.pid).some((s) => s.inode === inode);
      } catch {
        return true; // the process is gone, and its sockets with it
      }
      if (!open) return true;
      if (Date.now() >= until) return false;
      await sleep(POLL_MS);
    }
  }

  /**
   * The error to report for `err`, caught while dumping. Ours (timeout, abort, file, target
   * checks) stand as they are; a protocol error may really be a dead target (a lost
   * connection) or a timeout (a handshake cut short by it).
   */
  async explain(err) {
    if (err.code !== PROTOCOL_ERROR) return err;
    if (err.connectionLost && (await waitForExit(this.pid, EXIT_WAIT_MS))) return this.targetDied();
    if (this.stopReason) return this.stopReason;
    return heapsnapError(err.code, `inspector of process ${this.pid}: ${err.message} (while ${this.phase})`);
  }

  fileError(err) {
    return heapsnapError(err.code, `cannot write the snapshot of process ${this.pid}: ${err.message}`);
  }

  targetDied() {
    return heapsnapError('ERR_HEAPSNAP_TARGET_DIED', `process ${this.pid} exited during the dump (while ${this.phase})`);
  }

  timeoutError() {
    const seconds = (this.options.timeoutMs / 1000).toFixed(1);
    return heapsnapError('ERR_HEAPSNAP_TIMEOUT', `the dump of process ${this.pid} timed out after ${seconds} s (while ${this.phase})`);
  }

  abortError() {
    const err = heapsnapError('ABORT_ERR', `the dump of process ${this.pid} was aborted (while ${this.phase})`);
    err.name = 'AbortError';
    return err;
  }

  /** Whether another process holds the default inspector port. */
  defaultPortTaken() {
    try {
      return proc.portTaken(this.pid, DEFAULT_INSPECTOR_PORT);
    } catch {
      return false;
    }
  }

  notOpened(waitedMs) {
    const seconds = (waitedMs / 1000).toFixed(1);
    const hint = inspectOptions(this.pid).length === 0 && this.defaultPortTaken()
      ? `127.0.0.1:${DEFAULT_INSPECTOR_PORT}, the default inspector port, is taken by another process: start it with --inspect-port=0 or another free port`
      : 'if it is only busy, its inspector may still open later';
    return heapsnapError(
      'ERR_HEAPSNAP_INSPECTOR_UNAVAILABLE',
      `the inspector of process ${this.pid} did not open within ${seconds} s of SIGUSR1 (${hint})`,
    );
  }
}

/** The pid exists, is ours to signal, and catches SIGUSR1 (else the signal would kill it). */
function checkTarget(pid) {
  if (process.platform !== 'linux') {
    throw heapsnapError('ERR_HEAPSNAP_UNSUPPORTED', `dumping process ${pid} through its inspector needs Linux's /proc (this is ${process.platform})`);
  }
  proc.checkCanSignal(pid);
  if (!proc.catchesSignal(pid, SIGUSR1)) {
    const exe = proc.executable(pid);
    throw heapsnapError(
      'ERR_HEAPSNAP_INSPECTOR_UNAVAILABLE',
      `process ${pid}${exe ? ` (${exe})` : ''} does not catch SIGUSR1, so its inspector cannot be opened: ` +
        'it is not Node.js, or it runs with --disable-sigusr1',
    );
  }
}

/**
 * The target's --inspect* and --debug-port options, from its command line and NODE_OPTIONS
 * (an argument of the script that looks like one only makes us wait longer). [] when unknown.
 */
function inspectOptions(pid) {
  try {
    const { argv, env } = proc.commandLine(pid);
    return [...argv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].filter((arg) => /^--(inspect|debug)(-[a-z]+)*(=|$)/.test(arg));
  } catch {
    return [];
  }
}

/** The WebSocket URL if `socket` answers like Node's inspector, else null. */
async function probe(socket, giveUpAt) {
  const timeoutMs = Math.max(1, Math.min(PROBE_TIMEOUT_MS, giveUpAt - Date.now()));
  try {
    return await debuggerUrl(socket, timeoutMs);
  } catch {
    return null;
  }
}

async function waitForExit(pid, ms) {
  const until = Date.now() + ms;
  while (!proc.hasExited(pid)) {
    if (Date.now() >= until) return false;
    await sleep(POLL_MS);
  }
  return true;
}

module.exports = { dumpViaInspector };
