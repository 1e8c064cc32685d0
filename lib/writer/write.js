'use strict';
// The JS side of every JS-initiated dump: make sure V8's script line ends are warm, then write
// natively.
//
// V8 before 12 (Node 18 and 20) recomputes every script's line ends while it builds a
// snapshot, which costs seconds with large bundles loaded (21 s with TypeScript's compiler,
// measured here, against 0.7 s warm). Every dump warms them natively right before the
// snapshot (src/line_ends.rs, through V8 debug functions the node binary exports). Where that
// is unavailable (or turned off), a debugger session computes them once, in ~100 ms.

const { writer } = require('../loader/native');
const { heapsnapError } = require('../errors');

const LINE_ENDS_NEED_WARMING = Number.parseInt(process.versions.v8, 10) < 12;

// One session for the life of the thread, never disconnected: closing an inspector session
// disables its heap profiler agent, which clears V8's object ids, and then no two snapshots
// of the process could be compared (diff, leaks, leakCheck).
let session;

function warmLineEnds(native) {
  // The portable writer warms them itself, right before its snapshot.
  if (!LINE_ENDS_NEED_WARMING || native.portable || native.warmLineEnds().status === 'warmed') return;
  try {
    if (!session) {
      const inspector = require('inspector');
      const fresh = new inspector.Session();
      fresh.connect();
      session = fresh;
    }
    // In-process sessions answer synchronously: the work is done when post() returns.
    session.post('Debugger.enable');
    session.post('Debugger.disable');
  } catch {
    // No inspector in this build, or the session is refused: the snapshot is only slower.
  }
}

// The headroom and free-space checks' refusals carry their numbers (src/headroom.rs keeps them
// for us).
const REFUSALS = new Set(['ERR_HEAPSNAP_NO_HEADROOM', 'ERR_HEAPSNAP_NO_SPACE']);

function withHeadroomNumbers(native, err) {
  if (err && REFUSALS.has(err.code) && native.takeHeadroomRefusal) {
    const refusal = native.takeHeadroomRefusal();
    if (refusal) Object.assign(err, refusal);
  }
  return err;
}

// V8 does not know what ArrayBuffers hold: that one figure comes from Node (for the info here,
// and for the memory record beside the snapshot, natively).
function withArrayBuffers(info, arrayBuffers) {
  if (info.memory) info.memory.arrayBuffers = arrayBuffers;
  return info;
}

function writeNow(nativeOptions) {
  const native = writer();
  warmLineEnds(native);
  const { arrayBuffers } = process.memoryUsage();
  try {
    return withArrayBuffers(native.writeSnapshotSync({ ...nativeOptions, arrayBuffers }), arrayBuffers);
  } catch (err) {
    throw withHeadroomNumbers(native, err);
  }
}

async function writeAsync(nativeOptions) {
  if (nativeOptions.background) return writeInBackground(nativeOptions);
  const mode = writer().portable ? 'portable' : 'in-process';
  return { ...(await writeInProcess(nativeOptions)), mode };
}

async function writeInProcess(nativeOptions) {
  const native = writer();
  warmLineEnds(native);
  const { arrayBuffers } = process.memoryUsage();
  let pending;
  try {
    pending = native.writeSnapshotAsync({ ...nativeOptions, arrayBuffers });
  } catch (err) {
    throw withHeadroomNumbers(native, err);
  }
  return withArrayBuffers(await pending, arrayBuffers);
}

// A V8 worker that is in the middle of a GC job when the process forks never finishes it in
// the child, whose GC then waits for it forever (the watchdog ends that, at the cost of a late
// in-process dump). So the fork waits, on the event loop (no pause), for a moment when no
// other thread of the process is running, up to QUIET_WAIT_MS; the native side then checks
// once more (up to 20 ms) right before forking.
const QUIET_WAIT_MS = 2000;

// This thread's background request, from its wait for quiet to the child's end.
let backgroundPending = false;

async function untilQuiet(native) {
  const deadline = Date.now() + QUIET_WAIT_MS;
  while (native.otherThreadsRunning() > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/**
 * A forked child takes the snapshot (Linux); this thread pauses only to fork. When the child
 * cannot be started or fails (its reason in `fallbackReason`), the dump is taken in-process,
 * unless `fallback: false`, which rejects with ERR_HEAPSNAP_BACKGROUND_FAILED instead.
 */
async function writeInBackground(nativeOptions) {
  const { background, fallback, backgroundTimeout, ...inProcess } = nativeOptions;
  // Asked for explicitly, so refused rather than quietly taken in-process (no fork here).
  if (writer().portable) throw writer().nativeOnly('writeSnapshotAsync({ background: true }) (a forked child takes the snapshot)');
  let reason;
  if (process.platform !== 'linux') {
    reason = `background dumps need Linux (fork with copy-on-write heap pages), not ${process.platform}`;
  } else {
    const native = writer();
    // One at a time, from the first wait on: the native side refuses a second fork too, but
    // two requests waiting for quiet here would otherwise race for it.
    if (backgroundPending) {
      throw heapsnapError('ERR_HEAPSNAP_BUSY', 'heapsnap: a background heap dump is already running; one at a time per process');
    }
    backgroundPending = true;
    const { arrayBuffers } = process.memoryUsage();
    let outcome;
    try {
      await untilQuiet(native);
      outcome = await native.writeSnapshotBackground(nativeOptions);
    } catch (err) {
      throw withHeadroomNumbers(native, err);
    } finally {
      backgroundPending = false;
    }
    if (outcome.info) return { ...withArrayBuffers(outcome.info, arrayBuffers), mode: 'background' };
    reason = outcome.fallbackReason;
  }
  if (fallback === false) {
    throw heapsnapError('ERR_HEAPSNAP_BACKGROUND_FAILED', `heapsnap: background heap dump failed: ${reason} (fallback: false)`);
  }
  return { ...(await writeInProcess(inProcess)), mode: 'in-process', fallbackReason: reason };
}

module.exports = { writeNow, writeAsync };
