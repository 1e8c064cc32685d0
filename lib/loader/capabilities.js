'use strict';
// heapsnap.capabilities(): which implementation each part runs here, native or portable, and
// what that lets it do. Loads the addons (or their portable stand-ins) to find out.

const os = require('os');
const v8 = require('v8');
const { isMainThread } = require('worker_threads');
const { analyzer, writerMode, writerPortableReason, forcedPortable } = require('./native');

/** What the writer can do in `mode` on this platform and thread. */
function writerFeatures(mode) {
  const native = mode === 'native';
  const linux = process.platform === 'linux';
  const hasSignal = os.constants.signals.SIGUSR2 !== undefined;
  let signalDumps = false;
  if (native) signalDumps = 'always';
  else if (isMainThread && hasSignal) signalDumps = 'idle-loop';
  let nearHeapLimit = false;
  if (native) nearHeapLimit = 'native';
  else if (isMainThread && typeof v8.setHeapSnapshotNearHeapLimit === 'function') nearHeapLimit = 'node';
  return {
    writeSnapshot: true,
    writeSnapshotAsync: true,
    compression: ['gzip', 'zstd'],
    gc: true,
    leakCheck: true,
    allocationStacks: true,
    samplingHeapProfiler: true,
    // 'always': busy loops too (native); 'idle-loop': when the event loop is free (portable).
    signalDumps,
    // 'native': heapsnap's own, every option; 'node': Node's v8.setHeapSnapshotNearHeapLimit (maxDumps only).
    nearHeapLimit,
    background: native && linux,
    dumpRequests: native && linux,
    headroomCheck: true,
    freeSpaceCheck: true,
  };
}

/**
 * `{ writer: { mode, forced, reason, features }, analyzer: { mode, forced, reason } }`:
 * `mode` is 'native' or 'portable' (Node's inspector for the writer, WebAssembly for the
 * analyzer), 'unavailable' when neither works; `reason` says why a part is not native.
 */
function capabilities() {
  const forced = forcedPortable();
  let writerPart;
  try {
    const mode = writerMode();
    writerPart = { mode, forced: forced.has('writer'), reason: writerPortableReason(), features: writerFeatures(mode) };
  } catch (err) {
    writerPart = { mode: 'unavailable', forced: forced.has('writer'), reason: err.message.replace(/^heapsnap: /, ''), features: null };
  }
  let analyzerPart;
  try {
    analyzerPart = { mode: analyzer.mode(), forced: forced.has('analyzer'), reason: analyzer.reason() };
  } catch (err) {
    analyzerPart = { mode: 'unavailable', forced: forced.has('analyzer'), reason: err.message.replace(/^heapsnap: /, '') };
  }
  // The portable writer writes through the analyzer's file sink.
  if (writerPart.mode === 'portable' && analyzerPart.mode === 'unavailable') {
    writerPart = { ...writerPart, mode: 'unavailable', reason: `${writerPart.reason}; the portable writer needs the analyzer: ${analyzerPart.reason}`, features: null };
  }
  return { writer: writerPart, analyzer: analyzerPart };
}

module.exports = { capabilities };
