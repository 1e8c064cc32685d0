'use strict';
// heapsnap: heap snapshots for Node.js, written natively. This file only shapes arguments,
// keeps heapdump's calling conventions, and turns native results into JS values.

const { writer } = require('./lib/loader/native');
const { writeNow, writeAsync } = require('./lib/writer/write');
const { checkOptions, toNative, ASYNC_WRITE_OPTIONS } = require('./lib/writer/options');
const { invalidOption } = require('./lib/errors');
const { installSignalHandler, removeSignalHandler, signalHandlerStatus, installDefaultHandler, parseEnv } = require('./lib/writer/signal');
const { readSnapshot, readSnapshotAsync, leaks, holders } = require('./lib/analyzer/analyze');
const { on, off, onDumpInternal, emitDump } = require('./lib/writer/events');
const { watch, stopWatch, watchStatus, installDefaultWatch } = require('./lib/watch/watch');
const { onNearHeapLimit } = require('./lib/writer/near-heap-limit');
const { leakCheck, assertNoLeaks } = require('./lib/harness/leak-check');
const { writeReport } = require('./lib/analyzer/report');
const { startSamplingHeapProfiler, stopSamplingHeapProfiler } = require('./lib/writer/profile');
const { readHeapProfileTop, diffHeapProfiles } = require('./lib/analyzer/profile');
const { capabilities } = require('./lib/loader/capabilities');
const { splitUpload, uploadDump, resumeLeftovers, dumpDir } = require('./lib/upload/after-dump');

/**
 * Drop-in for heapdump's `writeSnapshot([filename][, options][, callback])`: synchronous,
 * returns true on success and false on failure; the callback (called before returning, as
 * heapdump does) gets `(err, filename)`.
 */
function writeSnapshot(filename, options, callback) {
  if (typeof filename === 'function') [filename, options, callback] = [undefined, undefined, filename];
  else if (typeof options === 'function') [options, callback] = [undefined, options];
  if (filename !== null && typeof filename === 'object') [filename, options] = [undefined, filename];
  if (callback !== undefined && typeof callback !== 'function') {
    throw invalidOption(`writeSnapshot: callback must be a function, got ${typeof callback}`);
  }
  if (filename !== undefined && filename !== null && typeof filename !== 'string') {
    throw invalidOption(`writeSnapshot: filename must be a string, got ${typeof filename}`);
  }
  const { upload, write: checked } = splitUpload(checkOptions('writeSnapshot', options));
  if (typeof filename === 'string') checked.path = filename;

  let info;
  try {
    info = writeNow(toNative(checked, { heapdumpDefault: checked.path === undefined }));
  } catch (err) {
    // heapdump's message prefix, which existing code matches on.
    err.message = `heapdump write error ${err.code}: ${err.message}`;
    if (callback) callback(err);
    else process.emitWarning(err.message, { code: err.code });
    return false;
  }
  // The upload runs after this returns (it cannot be synchronous); listeners hear of the dump
  // once it settled, with `upload`.
  if (upload) uploadDump(info, upload).then((result) => emitDump({ ...info, upload: result }, 'api'));
  else emitDump(info, 'api');
  if (callback) callback(null, info.path);
  return true;
}

/**
 * Writes a snapshot; the JS thread pauses only while V8 builds and serializes it, the file
 * is finished off-thread. Resolves to
 * `{ path, bytes, rawBytes, compression, durationMs, pauseMs, redacted }`.
 */
async function writeSnapshotAsync(options) {
  const { upload, write } = splitUpload(checkOptions('writeSnapshotAsync', options, ASYNC_WRITE_OPTIONS));
  const info = await writeAsync(toNative(write));
  // With `upload`, resolves once the store confirmed the objects (or the upload failed: then
  // `info.upload.error`, and the file stays).
  if (upload) info.upload = await uploadDump(info, upload, { report: false });
  emitDump(info, 'api');
  return info;
}

/** A full garbage collection, with or without --expose-gc. */
function gc() {
  writer().gc();
}

module.exports = {
  writeSnapshot,
  writeSnapshotAsync,
  gc,
  installSignalHandler,
  removeSignalHandler,
  signalHandlerStatus,
  onNearHeapLimit,
  readSnapshot,
  readSnapshotAsync,
  leaks,
  holders,
  leakCheck,
  assertNoLeaks,
  writeReport,
  startSamplingHeapProfiler,
  stopSamplingHeapProfiler,
  heapProfileTop: readHeapProfileTop,
  heapProfileDiff: diffHeapProfiles,
  watch,
  stopWatch,
  watchStatus,
  on,
  off,
  capabilities,
};

// HEAPSNAP_OPTIONS, read once (unknown words said once) for the signal handler, the registry
// and the watch.
const env = parseEnv();
installDefaultHandler(env);
if (require('worker_threads').isMainThread) {
  // What `heapsnap ps` shows of this process (lib/operator/registry.js), then its watch.
  const registry = require('./lib/operator/registry');
  registry.register({ signal: env.enabled ? env.options.signal || 'SIGUSR2' : null, dir: env.options.dir });
  onDumpInternal(({ path, trigger }) => registry.update({ lastDump: { path, trigger, time: new Date().toISOString() } }));
  installDefaultWatch(env);
  resumeEnvUploads(env);
}

/**
 * `upload=` in HEAPSNAP_OPTIONS: what earlier processes with the same setting left unfinished
 * in the dump directory (a near-heap-limit dump, an upload cut off by an exit) is uploaded now,
 * on the upload thread. Without the SDK, one line says so; dumps stay local.
 */
function resumeEnvUploads(env) {
  const { options } = env;
  if (options.upload === undefined) return;
  try {
    const { upload } = splitUpload(checkOptions('HEAPSNAP_OPTIONS', { upload: options.upload, keepLocal: options.keepLocal, uploadPathStyle: options.uploadPathStyle }));
    resumeLeftovers(dumpDir(options), upload, { quiet: options.quiet });
  } catch (err) {
    // With signal dumps on, installDefaultHandler already said why uploads are off.
    if (!env.enabled) console.error(`heapsnap: uploads disabled: ${err.code}: ${err.message.replace(/^heapsnap: /, '')}`);
  }
}

// A process that exits while a dump's file is being finished (writeSnapshotAsync resolves only
// after that) waits for it, up to EXIT_WAIT_MS, rather than lose a snapshot V8 already took;
// what is still unfinished then is removed: never a partial file. Pool and writer threads are
// process-wide, so the main thread's exit covers the dumps of every worker too.
const EXIT_WAIT_MS = 10_000;
if (require('worker_threads').isMainThread) {
  process.on('exit', () => writer.isLoaded() && writer().settleDumpsAtExit(EXIT_WAIT_MS));
}
