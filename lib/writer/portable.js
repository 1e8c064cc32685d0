'use strict';
// The portable writer: heapsnap's writing functions where no native writer addon loads (macOS,
// Windows, FreeBSD, a Node major newer than any prebuilt, or HEAPSNAP_FORCE_PORTABLE=writer),
// through Node's own in-process inspector (`node:inspector` Session) and `node:v8`.
//
// It has the native addon's JS surface (writeSnapshotSync, writeSnapshotAsync, gc,
// installSignalHandler, ...; lib/loader/native.js hands it out as `writer()`), so every
// caller's option checks, results and error codes stay the same. Bytes go through heapsnap's
// own file sink (the analyzer addon's NativeFileSink: naming templates, `dir`, gzip/zstd, 0600,
// named only when complete) chunk by chunk as V8 serializes, never gathered in JS.
//
// - One inspector session per thread, opened on first use and never disconnected:
//   disconnecting disables the heap profiler agent, which clears V8's object ids, and then no
//   two snapshots of the process could be compared by id (diff, leaks, leakCheck).
// - Snapshots: `v8.getHeapSnapshot()`, whose stream serializes the whole snapshot inside its
//   first read (synchronously: also what the synchronous `writeSnapshot` needs), each chunk
//   taken from the stream's push() straight into the sink. Measured as fast as
//   v8.writeHeapSnapshot (bench/README.md). The inspector's HeapProfiler.takeHeapSnapshot
//   (addHeapSnapshotChunk events) is the fallback, and HEAPSNAP_PORTABLE_SNAPSHOT=inspector
//   chooses it: 10-80% slower, each chunk being a protocol message JSON-escaped by V8 and
//   parsed again in JS; V8 < 12 answers it within post(), V8 >= 12 in a task of its own. Should
//   a Node ever not finish the stream within its read, that dump is taken again through the
//   inspector (and so are later ones), never a file named before it is complete. Both see the
//   same object ids (one per isolate).
// - gc(): HeapProfiler.collectGarbage answers only after a task, so the synchronous gc() (and
//   writeSnapshot's `gc: true`) uses V8's `gc` function, fetched once from a fresh context with
//   --expose-gc set just for it (that context, ~2000 small objects, stays in later snapshots);
//   writeSnapshotAsync's `gc: true` (and so leakCheck) awaits HeapProfiler.collectGarbage.
// - Native only, refused with ERR_HEAPSNAP_UNSUPPORTED: background (fork) dumps, signal dumps
//   while JS is busy (here the signal is served when the event loop is free), the request
//   channel of `heapsnap dump <pid>`, signal dumps of worker threads (Node delivers signals to
//   the main thread only), onNearHeapLimit options Node's own near-heap-limit snapshot lacks.

const os = require('os');
const v8 = require('v8');
const { isMainThread } = require('worker_threads');
const { utf8 } = require('../bytes');
const { heapsnapError } = require('../errors');
const { analyzer } = require('../loader/native');
const { FORMAT: MEMORY_RECORD_FORMAT, SUFFIX: MEMORY_RECORD_SUFFIX } = require('../analyzer/memory-record');

const V8_MAJOR = Number.parseInt(process.versions.v8, 10);
/** V8 < 12 answers HeapProfiler.takeHeapSnapshot within post(); later ones after a task. */
const INSPECTOR_SNAPSHOT_IS_SYNC = V8_MAJOR < 12;
/** 'stream' (v8.getHeapSnapshot) or 'inspector' (HeapProfiler.takeHeapSnapshot): see above. */
let snapshotRoute = process.env.HEAPSNAP_PORTABLE_SNAPSHOT === 'inspector' ? 'inspector' : 'stream';
const LINE_ENDS_NEED_WARMING = V8_MAJOR < 12;
/** The stack depth V8's inspector samples with (HeapProfiler.startSampling has no option). */
const INSPECTOR_STACK_DEPTH = 128;
const DEFAULT_SIGNAL_INTERVAL_S = 30;

function unsupported(what) {
  return heapsnapError('ERR_HEAPSNAP_UNSUPPORTED', `heapsnap: ${what}`);
}

/** Why this process runs the portable writer, for messages (set by lib/loader/native.js). */
let portableReason = 'no native writer addon loads here';
function setReason(reason) {
  portableReason = reason;
}
function nativeOnly(what) {
  return unsupported(`${what} needs heapsnap's native writer, and this process runs the portable one (${portableReason})`);
}

// ---- the inspector session ---------------------------------------------------------------

let session;

function inspectorSession() {
  if (session) return session;
  let inspector;
  try {
    inspector = require('inspector');
    const fresh = new inspector.Session();
    fresh.connect();
    session = fresh;
  } catch (err) {
    throw unsupported(`the portable writer needs Node's inspector, which this Node.js does not offer (${err.message})`);
  }
  return session;
}

/** An inspector error as a coded heapsnap error. */
function protocolError(method, err) {
  return heapsnapError('ERR_HEAPSNAP_SNAPSHOT_FAILED', `heapsnap: the inspector's ${method} failed: ${err.message}`);
}

/** A method in-process sessions answer within post(); throws if it did not. */
function postSync(method, params = {}) {
  let answered = false;
  let error;
  let result;
  inspectorSession().post(method, params, (err, res) => {
    answered = true;
    error = err;
    result = res;
  });
  if (!answered) throw heapsnapError('ERR_HEAPSNAP_SNAPSHOT_FAILED', `heapsnap: the inspector did not answer ${method} synchronously`);
  if (error) throw protocolError(method, error);
  return result;
}

function post(method, params = {}) {
  return new Promise((resolve, reject) => {
    inspectorSession().post(method, params, (err, res) => (err ? reject(protocolError(method, err)) : resolve(res)));
  });
}

/**
 * One inspector snapshot at a time per thread (its chunks arrive as events on the one
 * session), and the other heap profiler calls that emit chunks (stopping allocation tracking)
 * wait their turn too. Dumps queue rather than fail: native dumps never overlap either.
 */
let queue = Promise.resolve();
function exclusive(task) {
  const run = queue.then(task, task);
  queue = run.catch(() => {});
  return run;
}

// ---- garbage collection and line ends ----------------------------------------------------

let gcFunction;

/** A full GC now, with or without --expose-gc. */
function gc() {
  if (!gcFunction) {
    if (typeof globalThis.gc === 'function') {
      gcFunction = globalThis.gc;
    } else {
      // --expose-gc only installs `gc` in contexts created while it is set: one, just for us.
      v8.setFlagsFromString('--expose-gc');
      try {
        gcFunction = require('vm').runInNewContext('gc');
      } finally {
        v8.setFlagsFromString('--no-expose-gc');
      }
    }
  }
  gcFunction();
}

/**
 * V8 < 12 recomputes every script's line ends inside the snapshot (seconds with a large bundle
 * loaded); a debugger enable/disable computes them once. Same shape as the native diagnostic.
 */
function warmLineEnds() {
  if (!LINE_ENDS_NEED_WARMING) return { status: 'not-needed', scripts: 0, lines: 0, durationMs: 0 };
  const started = process.hrtime.bigint();
  try {
    postSync('Debugger.enable');
    postSync('Debugger.disable');
  } catch {
    return { status: 'unavailable', scripts: 0, lines: 0, durationMs: 0 };
  }
  return { status: 'warmed', scripts: 0, lines: 0, durationMs: Number(process.hrtime.bigint() - started) / 1e6 };
}

// ---- one dump ----------------------------------------------------------------------------

const msSince = (started) => Number(process.hrtime.bigint() - started) / 1e6;

/** The memory context of a dump and the headroom check's verdict (heapsnap-core's, via the analyzer addon). */
function checkMemory(options) {
  // Every figure before anything else runs: the analyzer's first load (the WebAssembly one
  // compiles and starts its runtime) would otherwise grow the heap between the totals and the
  // spaces.
  const stats = v8.getHeapStatistics();
  const spaces = v8.getHeapSpaceStatistics();
  const { rss } = process.memoryUsage();
  const room = analyzer().checkHeadroom(stats.used_heap_size, rss, options.memoryLimit, options.force === true);
  if (room.refusal) {
    throw Object.assign(heapsnapError('ERR_HEAPSNAP_NO_HEADROOM', room.refusal), {
      estimatedBytes: room.estimated,
      availableBytes: room.available,
    });
  }
  return {
    time: new Date().toISOString(),
    rss,
    heapUsed: stats.used_heap_size,
    heapTotal: stats.total_heap_size,
    external: stats.external_memory,
    malloced: stats.malloced_memory,
    cgroupLimit: room.cgroupLimit ?? null,
    estimatedBytes: room.estimated,
    availableBytes: room.available ?? null,
    heapSpaces: spaces.map((space) => ({
      name: space.space_name,
      size: space.space_size,
      used: space.space_used_size,
      available: space.space_available_size,
      physical: space.physical_space_size,
    })),
  };
}

function createSink(options, extra = {}) {
  const { NativeFileSink } = analyzer();
  if (NativeFileSink === undefined || NativeFileSink.prototype.finishSync === undefined) {
    throw heapsnapError('ERR_HEAPSNAP_NATIVE_MISMATCH', 'heapsnap: the analyzer addon predates the portable writer: run `npm run build` again');
  }
  return NativeFileSink.create({
    path: options.path,
    dir: options.dir,
    compress: options.compress,
    level: options.level,
    redact: options.redact,
    threadId: options.threadId,
    heapdumpDefault: options.heapdumpDefault,
    ...extra,
  });
}

/** The free-space check; a refusal carries its numbers, as native ones do. */
function checkSpace(sink, usedHeap, force) {
  try {
    return sink.checkSpace(usedHeap, force);
  } catch (err) {
    if (err.code === 'ERR_HEAPSNAP_NO_SPACE') {
      const figures = sink.checkSpace(usedHeap, true);
      Object.assign(err, { estimatedBytes: figures.estimated, availableBytes: figures.available });
    }
    throw err;
  }
}

/**
 * Everything up to the snapshot, in the native order: GC, headroom check, the file (a bad path
 * fails before any snapshot), the free-space check. Returns the dump under way.
 */
function begin(options) {
  const started = process.hrtime.bigint();
  if (options.gc) gc();
  const memory = checkMemory(options);
  const sink = createSink(options);
  let disk;
  try {
    disk = checkSpace(sink, memory.heapUsed, options.force === true);
  } catch (err) {
    sink.abort();
    throw err;
  }
  warmLineEnds();
  return { options, started, memory, disk, sink, pauseMs: 0, failure: null };
}

/** Writes one chunk; the first failure is kept and the rest of the snapshot dropped. */
function writeChunk(dump, chunk) {
  if (dump.failure) return;
  try {
    dump.sink.write(chunk);
  } catch (err) {
    dump.failure = err;
  }
}

function snapshotParams(options) {
  return { reportProgress: false, captureNumericValue: options.numericValues === true, exposeInternals: options.exposeInternals === true };
}

/** The snapshot through the inspector; `sync` demands the answer within post(). */
function inspectorSnapshot(dump, sync) {
  const onChunk = ({ params }) => writeChunk(dump, utf8(params.chunk));
  const s = inspectorSession();
  s.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
  const taken = process.hrtime.bigint();
  const done = () => {
    s.removeListener('HeapProfiler.addHeapSnapshotChunk', onChunk);
    dump.pauseMs = msSince(taken);
  };
  if (sync) {
    try {
      postSync('HeapProfiler.takeHeapSnapshot', snapshotParams(dump.options));
    } finally {
      done();
    }
    return undefined;
  }
  return post('HeapProfiler.takeHeapSnapshot', snapshotParams(dump.options)).finally(done);
}

/**
 * The snapshot through `v8.getHeapSnapshot()`, synchronously: V8 takes it in the call, and
 * the stream's first read serializes all of it, handing each chunk to push() (Node's stream
 * glue) before it returns. We take the chunks from push() straight into the sink. Returns
 * false when the stream had not ended by then (a Node that no longer works so): the caller
 * starts over through the inspector, with a new file.
 */
function streamSnapshot(dump) {
  const { options } = dump;
  const taken = process.hrtime.bigint();
  const stream = v8.getHeapSnapshot({ exposeInternals: options.exposeInternals === true, exposeNumericValues: options.numericValues === true });
  let ended = false;
  const read = stream._read;
  stream._read = () => {};
  stream.push = (chunk) => {
    if (chunk === null) ended = true;
    else writeChunk(dump, chunk);
    return true;
  };
  try {
    read.call(stream);
  } finally {
    stream.destroy();
    dump.pauseMs = msSince(taken);
  }
  if (ended || dump.failure) return true;
  snapshotRoute = 'inspector';
  dump.sink.abort();
  dump.sink = createSink(dump.options);
  return false;
}

/** Braces in a finished file's name are literal, not template tokens. */
const literalName = (name) => name.replace(/[{}]/g, (brace) => brace + brace);

function memoryRecord(dump, stats) {
  const { memory, options } = dump;
  return {
    format: MEMORY_RECORD_FORMAT,
    snapshot: require('path').basename(stats.path),
    time: memory.time,
    pid: process.pid,
    rss: memory.rss,
    heapTotal: memory.heapTotal,
    heapUsed: memory.heapUsed,
    external: memory.external,
    arrayBuffers: options.arrayBuffers ?? null,
    malloced: memory.malloced,
    cgroupLimit: memory.cgroupLimit,
    heapSpaces: memory.heapSpaces,
    // What started the dump (a watch rule and its samples), as the native record keeps it.
    ...(options.trigger ? { trigger: JSON.parse(options.trigger) } : {}),
  };
}

/** The record beside the snapshot, through the sink too (0600, complete or absent); finish it. */
function memoryRecordSink(dump, stats) {
  const sink = createSink({ path: literalName(stats.path + MEMORY_RECORD_SUFFIX), compress: 'none' });
  sink.write(utf8(`${JSON.stringify(memoryRecord(dump, stats), null, 2)}\n`));
  return sink;
}

function info(dump, stats, memoryFile, warnings) {
  const { memory, options } = dump;
  return {
    path: stats.path,
    bytes: stats.bytes,
    rawBytes: stats.rawBytes,
    compression: stats.compression,
    durationMs: msSince(dump.started),
    pauseMs: dump.pauseMs,
    redacted: options.redact === true,
    memory: {
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      external: memory.external,
      arrayBuffers: options.arrayBuffers,
      cgroupLimit: memory.cgroupLimit ?? undefined,
      estimatedBytes: memory.estimatedBytes,
      availableBytes: memory.availableBytes ?? undefined,
    },
    memoryFile,
    disk: { estimatedBytes: dump.disk.estimated, availableBytes: dump.disk.available ?? undefined },
    warnings,
  };
}

function failed(dump) {
  dump.sink.abort();
  return dump.failure;
}

/** The synchronous, heapdump-compatible dump. */
function writeSnapshotSync(options) {
  const dump = begin(options);
  try {
    if (snapshotRoute === 'stream' && streamSnapshot(dump)) {
      // taken
    } else if (INSPECTOR_SNAPSHOT_IS_SYNC) {
      inspectorSnapshot(dump, true);
    } else {
      throw unsupported(
        `a synchronous writeSnapshot here: V8 ${process.versions.v8} takes the inspector's snapshot only after a task` +
          `${process.env.HEAPSNAP_PORTABLE_SNAPSHOT === 'inspector' ? ' (HEAPSNAP_PORTABLE_SNAPSHOT=inspector)' : " and v8.getHeapSnapshot()'s stream did not finish within its read"}; use writeSnapshotAsync`,
      );
    }
  } catch (err) {
    dump.sink.abort();
    throw err;
  }
  if (dump.failure) throw failed(dump);
  const stats = dump.sink.finishSync();
  const warnings = [...stats.warnings];
  let memoryFile;
  if (options.memoryFile !== false) {
    try {
      memoryFile = memoryRecordSink(dump, stats).finishSync().path;
    } catch (err) {
      warnings.push(`the memory record beside the snapshot was not written: ${err.message}`);
    }
  }
  return info(dump, stats, memoryFile, warnings);
}

let asyncPoolStarted;

/**
 * Starts the analyzer's async pool, once, and resolves when its threads are up: before a
 * snapshot whose file it will finish. In the WebAssembly analyzer the pool's threads are Node
 * workers of this process: started by that file's finish(), they were objects new in the
 * process's next snapshot (leaks between A and B); started and not awaited, they booted, and
 * grew the module's shared memory by their stacks (32 MiB), while V8 took the snapshot.
 */
function startAsyncPool() {
  if (asyncPoolStarted === undefined) {
    const start = analyzer().startAsyncPool;
    // Its one no-op task runs once every thread of the pool is ready (emnapi waits for all).
    asyncPoolStarted = typeof start === 'function' ? start().catch(() => {}) : Promise.resolve();
  }
  return asyncPoolStarted;
}

/** writeSnapshotAsync: the snapshot on this thread, the file finished on the libuv pool. */
function writeSnapshotAsync(options) {
  return exclusive(async () => {
    // HeapProfiler.collectGarbage: no context of its own left behind, unlike gc()'s first call.
    if (options.gc) await post('HeapProfiler.collectGarbage');
    // The memory record and the headroom check first: they measure the process, not the pool.
    const dump = begin({ ...options, gc: false });
    await startAsyncPool();
    try {
      if (!(snapshotRoute === 'stream' && streamSnapshot(dump))) await inspectorSnapshot(dump, false);
    } catch (err) {
      dump.sink.abort();
      throw err;
    }
    if (dump.failure) throw failed(dump);
    return dump;
  }).then(async (dump) => {
    const stats = await dump.sink.finish();
    const warnings = [...stats.warnings];
    let memoryFile;
    if (options.memoryFile !== false) {
      try {
        memoryFile = (await memoryRecordSink(dump, stats).finish()).path;
      } catch (err) {
        warnings.push(`the memory record beside the snapshot was not written: ${err.message}`);
      }
    }
    return info(dump, stats, memoryFile, warnings);
  });
}

/** One stderr line for a dump nobody awaits, as native triggers print it. */
function describe(result) {
  const { memory } = result;
  const mib = (bytes) => formatMiB(bytes);
  const limit = memory.cgroupLimit ? ` of ${mib(memory.cgroupLimit)}` : '';
  return (
    `wrote ${result.path} (${(result.bytes / 1e6).toFixed(1)} MB) in ${Math.round(result.durationMs)} ms ` +
    `(JS paused ${Math.round(result.pauseMs)} ms; rss ${memory.rss === undefined ? '?' : mib(memory.rss)}${limit}, heap ${mib(memory.heapUsed)})`
  );
}

/** heapsnap-core's human_bytes: `812.3 MiB`, `1.4 GiB`, `512 KiB`. */
function formatMiB(bytes) {
  const KIB = 1024;
  if (bytes >= KIB ** 3) return `${(bytes / KIB ** 3).toFixed(1)} GiB`;
  if (bytes >= KIB ** 2) return `${(bytes / KIB ** 2).toFixed(1)} MiB`;
  return `${(bytes / KIB).toFixed(0)} KiB`;
}

/** Who hears about dumps JS did not start (signal dumps): the native writer's setDumpListener. */
let dumpListener = null;

function setDumpListener(callback) {
  dumpListener = callback;
}

/** Runs a dump nobody awaits; its outcome goes to stderr as one line. Returns whether it wrote. */
function report(trigger, dump, quiet) {
  let result;
  try {
    result = dump();
  } catch (err) {
    console.error(`heapsnap: ${trigger} dump failed: ${err.code}: ${err.message.replace(/^heapsnap: /, '')}`);
    return false;
  }
  if (!quiet) console.error(`heapsnap: ${describe(result)}`);
  for (const warning of result.warnings) console.error(`heapsnap: warning: ${warning}`);
  const listener = dumpListener;
  if (listener) {
    const { path, bytes, rawBytes, compression, memoryFile } = result;
    // On the next turn of the event loop, as the native writer's notices come.
    setImmediate(() => listener({ path, bytes, rawBytes, compression, trigger, mode: 'portable', memoryFile }));
  }
  return true;
}

// ---- signal dumps ------------------------------------------------------------------------

/** This thread's handler: { name, listener, limits, counts }. */
let handler = null;

function signalName(signum) {
  return Object.keys(os.constants.signals).find((key) => os.constants.signals[key] === signum);
}

/**
 * Dumps on `signum` from a process.on() listener, synchronously: when the event loop is free
 * (a busy JS thread is not served), with the native handler's rate limit (`interval` seconds from the
 * end of the last dump, `maxDumps`) and its stderr lines.
 */
function installSignalHandler(signum, options, quiet, interval, maxDumps) {
  if (options.background) throw nativeOnly('background signal dumps (a forked child takes the snapshot)');
  if (!isMainThread) throw nativeOnly('a signal handler in a worker thread (Node delivers signals to the main thread only)');
  const name = signalName(signum);
  if (name === undefined) throw heapsnapError('ERR_HEAPSNAP_INVALID_OPTION', `installSignalHandler: signal ${signum} does not exist on ${process.platform}`, TypeError);
  // The file sink signal dumps write through, loaded now: a missing one fails here, not at the
  // signal; and `heapsnap dump <pid>` sees it mapped and says this process is portable.
  analyzer();
  removeSignalHandler();
  const state = {
    name,
    signum,
    intervalMs: (interval ?? DEFAULT_SIGNAL_INTERVAL_S) * 1000,
    maxDumps: maxDumps ?? undefined,
    counts: { received: 0, dumps: 0, skipped: 0, pending: false },
    lastEnd: undefined,
  };
  state.listener = () => {
    const { counts } = state;
    counts.received++;
    if (counts.pending) return; // part of the dump under way
    const skip = rateLimited(state);
    if (skip) {
      counts.skipped++;
      if (!quiet) console.error(`heapsnap: signal ignored: ${skip}`);
      return;
    }
    // Synchronous, as native signal dumps are: the file is complete when the listener returns.
    counts.pending = true;
    if (report('signal', () => writeSnapshotSync(options), quiet)) counts.dumps++;
    state.lastEnd = Date.now();
    // Signals that arrived during the dump are part of it, as natively: libuv hands them over
    // in the next loop iteration's poll phase, which comes before the second check phase.
    setImmediate(() => setImmediate(() => (counts.pending = false)));
  };
  process.on(name, state.listener);
  handler = state;
}

/** heapsnap-core's rate_limit, for the JS handler: why a signal may not dump now, or null. */
function rateLimited(state) {
  if (state.maxDumps !== undefined && state.counts.dumps >= state.maxDumps) {
    return `${state.maxDumps} dump(s) written, the most allowed (option 'maxDumps', HEAPSNAP_OPTIONS=maxdumps=N)`;
  }
  if (state.lastEnd !== undefined && Date.now() - state.lastEnd < state.intervalMs) {
    return (
      `the last dump ended ${((Date.now() - state.lastEnd) / 1000).toFixed(1)} s ago and the interval is ${state.intervalMs / 1000} s ` +
      "(option 'interval', HEAPSNAP_OPTIONS=interval=SECONDS)"
    );
  }
  return null;
}

function removeSignalHandler() {
  if (!handler) return false;
  process.removeListener(handler.name, handler.listener);
  handler = null;
  return true;
}

function signalHandlerStatus() {
  if (!handler) return null;
  return { signal: handler.signum, intervalSeconds: handler.intervalMs / 1000, maxDumps: handler.maxDumps, ...handler.counts };
}

// ---- near the heap limit -----------------------------------------------------------------

// What Node's own near-heap-limit snapshot (v8.setHeapSnapshotNearHeapLimit) does: it writes
// `Heap.<date>.<time>.<pid>.<tid>.<seq>.heapsnapshot` into --diagnostic-dir (default: the
// cwd), uncompressed, with the file mode the umask gives, for at most `limit` snapshots per
// process, armed once. These options mean what they mean natively, or are refused.
// `force` is moot (Node makes no headroom check); `memoryFile` and `redact` may be false.
const NEAR_LIMIT_HONOURED = new Set(['force', 'threadId', 'heapdumpDefault']);
const NEAR_LIMIT_DEFAULTS = { compress: 'none', memoryFile: false, redact: false };
let nearLimitArmed = 0;

function onNearHeapLimit(options, _quiet, maxDumps) {
  if (typeof v8.setHeapSnapshotNearHeapLimit !== 'function') {
    throw unsupported(`onNearHeapLimit needs heapsnap's native writer or Node's v8.setHeapSnapshotNearHeapLimit (Node >= 18.10), and this Node.js (${process.version}) has neither`);
  }
  if (!isMainThread) throw nativeOnly('onNearHeapLimit in a worker thread');
  const refused = Object.keys(options).filter(
    (key) => options[key] !== undefined && !NEAR_LIMIT_HONOURED.has(key) && NEAR_LIMIT_DEFAULTS[key] !== options[key],
  );
  if (refused.length > 0) {
    throw nativeOnly(
      `onNearHeapLimit with ${refused.map((key) => `'${key}'`).join(', ')} (the portable writer arms Node's own near-heap-limit snapshot, ` +
        'which writes an uncompressed Heap.*.heapsnapshot into --diagnostic-dir or the cwd and takes only a count: maxDumps)',
    );
  }
  if (maxDumps === 0) {
    if (nearLimitArmed > 0) throw unsupported("onNearHeapLimit: Node's own near-heap-limit snapshot cannot be disarmed once armed (portable writer)");
    return;
  }
  if (nearLimitArmed > 0) {
    if (nearLimitArmed === maxDumps) return;
    throw unsupported(`onNearHeapLimit: Node's own near-heap-limit snapshot is armed for ${nearLimitArmed} dump(s) and cannot be changed (portable writer)`);
  }
  v8.setHeapSnapshotNearHeapLimit(maxDumps);
  nearLimitArmed = maxDumps;
}

// ---- sampling heap profiler, allocation tracking ------------------------------------------

let profiling = null;

function startSamplingHeapProfiler({ interval, stackDepth, includeCollected }) {
  if (profiling) {
    throw heapsnapError('ERR_HEAPSNAP_BUSY', 'startSamplingHeapProfiler: a sampling heap profiler is already running on this thread');
  }
  if (stackDepth !== INSPECTOR_STACK_DEPTH) {
    throw nativeOnly(`a sampling heap profile with stackDepth ${stackDepth} (the inspector always records ${INSPECTOR_STACK_DEPTH} frames)`);
  }
  if (includeCollected && V8_MAJOR < 11) {
    throw unsupported(`startSamplingHeapProfiler: includeCollected needs V8 11 (Node 20) or later, this is V8 ${process.versions.v8}`);
  }
  try {
    postSync('HeapProfiler.startSampling', {
      samplingInterval: interval,
      ...(includeCollected && { includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }),
    });
  } catch (err) {
    throw heapsnapError('ERR_HEAPSNAP_BUSY', `startSamplingHeapProfiler: V8's sampling heap profiler could not start (${err.message}); is the inspector or --heap-prof running one?`);
  }
  profiling = { started: process.hrtime.bigint() };
}

async function stopSamplingHeapProfiler(options) {
  if (!profiling) {
    throw heapsnapError('ERR_HEAPSNAP_NOT_PROFILING', 'stopSamplingHeapProfiler: no sampling heap profiler is running on this thread; call startSamplingHeapProfiler() first');
  }
  // The file first: when it cannot be created, the profiler keeps running.
  const sink = createSink(options, { kind: 'profile' });
  let profile;
  try {
    ({ profile } = postSync('HeapProfiler.stopSampling'));
  } catch (err) {
    sink.abort();
    throw err;
  }
  const durationMs = msSince(profiling.started);
  profiling = null;
  try {
    sink.write(utf8(JSON.stringify(profile)));
  } catch (err) {
    sink.abort();
    throw err;
  }
  const stats = await sink.finish();
  return {
    path: stats.path,
    bytes: stats.bytes,
    rawBytes: stats.rawBytes,
    compression: stats.compression,
    samples: profile.samples.length,
    sampledBytes: profile.samples.reduce((sum, sample) => sum + sample.size, 0),
    durationMs,
  };
}

/**
 * Allocation stacks for the snapshots that follow (leakCheck's `stacks`). Stopping takes one
 * more snapshot, inside V8 (HeapProfiler.stopTrackingHeapObjects always does): its chunks are
 * dropped, and it waits for any inspector snapshot under way.
 */
function trackAllocations(on) {
  if (on) {
    postSync('HeapProfiler.startTrackingHeapObjects', { trackAllocations: true });
    return undefined;
  }
  return exclusive(() => post('HeapProfiler.stopTrackingHeapObjects', { reportProgress: false }));
}

/**
 * Calls `scenario(iteration)` from V8's microtask runner, native code, so V8 cannot inline it
 * into heapsnap's loop (which would hide its frames from allocation stacks).
 */
function callNotInlined(scenario, iteration) {
  return { threw: false, value: Promise.resolve(iteration).then(scenario) };
}

// ---- the rest of the native surface ------------------------------------------------------

function writeSnapshotBackground() {
  return Promise.reject(nativeOnly('a background dump (a forked child takes the snapshot)'));
}

/** At exit: what is still being finished is removed, never left partial (sinks are unnamed or temp files). */
function settleDumpsAtExit() {
  if (analyzer.isLoaded() && typeof analyzer().abandonUnfinishedSinks === 'function') analyzer().abandonUnfinishedSinks();
  return true;
}

module.exports = {
  portable: true,
  setReason,
  nativeOnly,
  writeSnapshotSync,
  writeSnapshotAsync,
  writeSnapshotBackground,
  gc,
  warmLineEnds,
  lastLineEndWarmup: () => null,
  installSignalHandler,
  removeSignalHandler,
  signalHandlerStatus,
  onNearHeapLimit,
  startSamplingHeapProfiler,
  stopSamplingHeapProfiler,
  trackAllocations,
  callNotInlined,
  otherThreadsRunning: () => 0,
  setDumpListener,
  // The cgroup's usage is read natively; the portable writer has none to offer.
  cgroupMemory: () => null,
  settleDumpsAtExit,
  INSPECTOR_SNAPSHOT_IS_SYNC,
  /** 'stream' or 'inspector' from now on (tests, comparisons); returns the previous one. */
  useSnapshotRoute(route) {
    const previous = snapshotRoute;
    snapshotRoute = route === 'inspector' ? 'inspector' : 'stream';
    return previous;
  },
  INSPECTOR_STACK_DEPTH,
};
