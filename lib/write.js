'use strict';
// The JS side of every JS-initiated dump: make sure V8's script line ends are warm, then write
// natively.
//
// V8 before 12 (Node 18 and 20) recomputes every script's line ends while it builds a
// snapshot, which costs seconds with large bundles loaded (21 s with TypeScript's compiler,
// measured here, against 0.7 s warm). Every dump warms them natively right before the
// snapshot (src/line_ends.rs, through V8 debug functions the node binary exports). Where that
// is unavailable (or turned off), a debugger session computes them once, in ~100 ms.

const { writer } = require('./native');

const LINE_ENDS_NEED_WARMING = Number.parseInt(process.versions.v8, 10) < 12;

// One session for the life of the thread, never disconnected: closing an inspector session
// disables its heap profiler agent, which clears V8's object ids, and then no two snapshots
// of the process could be compared (diff, leaks, leakCheck).
let session;

function warmLineEnds(native) {
  if (!LINE_ENDS_NEED_WARMING || native.warmLineEnds().status === 'warmed') return;
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

// V8 does not know what ArrayBuffers hold: that one figure comes from Node.
function withArrayBuffers(info, arrayBuffers) {
  if (info.memory) info.memory.arrayBuffers = arrayBuffers;
  return info;
}

function writeNow(nativeOptions) {
  const native = writer();
  warmLineEnds(native);
  const { arrayBuffers } = process.memoryUsage();
  try {
    return withArrayBuffers(native.writeSnapshotSync(nativeOptions), arrayBuffers);
  } catch (err) {
    throw withHeadroomNumbers(native, err);
  }
}

async function writeAsync(nativeOptions) {
  const native = writer();
  warmLineEnds(native);
  const { arrayBuffers } = process.memoryUsage();
  let pending;
  try {
    pending = native.writeSnapshotAsync(nativeOptions);
  } catch (err) {
    throw withHeadroomNumbers(native, err);
  }
  return withArrayBuffers(await pending, arrayBuffers);
}

module.exports = { writeNow, writeAsync };
