'use strict';
// The analyzer addon built for WebAssembly (wasm32-wasip1-threads), for wherever no native
// analyzer loads (macOS, Windows, FreeBSD, linux-ppc64...) or HEAPSNAP_FORCE_PORTABLE=analyzer
// asks for it. Same Rust code, same exports: lib/loader/native.js hands it out as analyzer().
//
// napi-rs's own WASI loader, written out by hand (`napi build --target wasm32-wasip1-threads`
// generates one per package; ours differs in the few places heapsnap needs), on emnapi's
// runtime (@emnapi/core, @emnapi/runtime: what @napi-rs/wasm-runtime re-exports, without its
// Node >= 20.19 engines field, so Node 18 installs it without a warning):
// - the .wasm ships in @heapsnap/portable (every OS but Linux) and @heapsnap/portable-linux
//   (Linux on CPUs with no platform package), chosen by their os/cpu fields
//   (addons.js PORTABLE_PACKAGES), not in a package installed only with `--cpu=wasm32`: a plain
//   `npm install heapsnap` has it wherever it is needed, and only there;
// - Node's WASI ExperimentalWarning (Node 18-22) is swallowed, that one warning only;
// - WASI has no pid, host name or working directory of its own: the host's are passed in
//   (HEAPSNAP_HOST_PID, HEAPSNAP_HOST_HOSTNAME; wasiSetCwd before each call taking a path);
// - the file sink's temp file is created by the host, mode 0600 from birth (WASI creates
//   files 0666 less the umask): the `heapsnap.create_private_file` import; its free-space
//   figure comes from the host too (`heapsnap.available_bytes`: WASI has no statvfs).
// Threads (std::thread, the async tasks' pool) are Node workers running wasm-worker.js; the
// threaded build links emnapi's C async work, so no emnapi plugins are needed.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker } = require('worker_threads');
const { ROOT, PREBUILDS, LOCAL_BUILDS, portablePackageDirs } = require('./addons');

const WASM_FILE = 'heapsnap-analyzer.wasm32-wasi.wasm';

/**
 * Memory: 1200 pages (75 MiB: the 64 MB stack and the data) to start, WebAssembly's 4 GiB (65536 pages) at most: the
 * largest snapshots need a native analyzer. HEAPSNAP_WASM_MAX_MB lowers the cap (the tests
 * provoke running out of it that way).
 */
const INITIAL_PAGES = 1200;
/** The file sink's staging area (see adapt): V8's snapshot chunks are smaller. */
const STAGING_BYTES = 1 << 20;
const MAXIMUM_PAGES = 65536;

function maximumPages(env = process.env) {
  const mb = Number(env.HEAPSNAP_WASM_MAX_MB);
  if (!(mb > 0)) return MAXIMUM_PAGES;
  return Math.max(INITIAL_PAGES, Math.min(MAXIMUM_PAGES, Math.floor((mb * 2 ** 20) / 65536)));
}

/**
 * emnapi's runtime (`@emnapi/core`, `@emnapi/runtime`): a dependency of the WebAssembly
 * packages, not of heapsnap (a Linux x64 or arm64 user does not download it), so resolved from
 * there first (pnpm gives each package its own dependencies only), then from heapsnap (a checkout).
 */
function requireRuntime(name) {
  return require(require.resolve(name, { paths: [...portablePackageDirs(), ROOT] }));
}

/** The .wasm to load: a local build (`npm run build:wasm`) wins over the installed package's, then a checkout's prebuilds/. */
function wasmCandidates() {
  return [LOCAL_BUILDS, ...portablePackageDirs(), PREBUILDS].map((dir) => path.join(dir, WASM_FILE));
}

/**
 * Runs `fn` with Node's "WASI is an experimental feature" warning (Node 18-22: require('wasi')
 * emits it once per thread) dropped, and every other warning passed on as it was.
 */
function withoutWasiWarning(fn) {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    const type = typeof rest[0] === 'string' ? rest[0] : rest[0] && rest[0].type;
    const text = typeof warning === 'string' ? warning : warning && warning.message;
    if (type === 'ExperimentalWarning' && typeof text === 'string' && text.startsWith('WASI ')) return undefined;
    return emitWarning.call(process, warning, ...rest);
  };
  try {
    return fn();
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** The WASI instance for one thread: the host's root preopened, host facts in the env. */
function createWasi() {
  const { WASI } = withoutWasiWarning(() => require('wasi'));
  const root = path.parse(process.cwd()).root;
  return withoutWasiWarning(
    () =>
      new WASI({
        version: 'preview1',
        env: { ...process.env, HEAPSNAP_HOST_PID: String(process.pid), HEAPSNAP_HOST_HOSTNAME: os.hostname() },
        preopens: { [root]: root },
      }),
  );
}

/** Imports heapsnap's own Rust code asks the host for (crates/heapsnap-core/src/outfile_wasi.rs). */
function heapsnapImports(getMemory) {
  // A view on the module's memory, decoded in place: Buffer.from(Uint8Array) would copy into
  // Buffer's shared pool, and a pool made anew between two snapshots reads as a leak.
  const text = (ptr, len) => Buffer.from(getMemory().buffer, ptr, len).toString('utf8');
  return {
    // 0 created (exclusive, 0600, closed again), 1 the name exists, 2 another failure.
    create_private_file(ptr, len) {
      const file = text(ptr, len);
      try {
        fs.closeSync(fs.openSync(file, 'wx', 0o600));
        return 0;
      } catch (err) {
        return err.code === 'EEXIST' ? 1 : 2;
      }
    },
    // The directory's permission bits (the check for one writable by others), -1 when unknown.
    directory_mode(ptr, len) {
      const dir = text(ptr, len);
      try {
        return fs.statSync(dir).mode & 0o7777;
      } catch {
        return -1;
      }
    },
    // bavail * bsize of the directory's filesystem (the free-space check), -1 when unknown.
    available_bytes(ptr, len) {
      const dir = text(ptr, len);
      try {
        const stats = fs.statfsSync(dir);
        return Number(stats.bavail) * Number(stats.bsize);
      } catch {
        return -1;
      }
    },
  };
}

/**
 * Node's WASI functions reached through plain JavaScript functions, not called from the module
 * directly: V8 11 and 12 (Node 20, 22) then call them as fast API calls, and a heap snapshot
 * taken while concurrent marking runs, after such calls on this thread, left the heap corrupt
 * (a segfault after the dump, every time with 64 MB of Buffers allocated before its snapshot).
 * Called from JavaScript, Node takes its regular path. The calls are few and large (file
 * reads and writes), so the wrapper costs nothing measurable.
 */
function withoutFastWasiCalls(importObject) {
  for (const name of ['wasi_snapshot_preview1', 'wasi_unstable']) {
    const wasi = importObject[name];
    if (!wasi) continue;
    importObject[name] = Object.fromEntries(
      Object.entries(wasi).map(([key, fn]) => [key, typeof fn === 'function' ? (...args) => fn(...args) : fn]),
    );
  }
}

/** Workers that run wasm threads must not keep the process alive (Rust threads are never awaited). */
function unrefWorker(worker) {
  for (const name of ['kPublicPort', 'kHandle']) {
    const symbol = Object.getOwnPropertySymbols(worker).find((s) => s.toString().includes(name));
    if (symbol && worker[symbol]) worker[symbol].ref = () => {};
  }
  worker.unref();
}

/** Marks the code in a rejection from the wasm build (crates/heapsnap-napi's CodedTask::reject). */
const CODED = '\u0001heapsnap-code\u0001';

/** The coded error the native build rejects with, rebuilt from the wasm build's rejection. */
function recoded(err) {
  const message = err && typeof err.message === 'string' ? err.message : '';
  if (!message.startsWith(CODED)) return err;
  const rest = message.slice(CODED.length);
  const cut = rest.indexOf(CODED);
  const coded = new Error(rest.slice(cut + CODED.length));
  coded.code = rest.slice(0, cut);
  return coded;
}

/**
 * The exports as the native build has them: calls that take a path first set WASI's working
 * directory to the host's, and promises reject with coded errors. A new object: napi's
 * classes' static methods cannot be redefined, so NativeSnapshot is stood in for by a plain
 * object with its own factory and the class's prototype. Not one that inherits from the class: V8
 * names such an object "Function", and DevTools' Summary of any snapshot of this process then
 * keys it like the closures (both ",Function"), so one of the two rows replaced the other.
 */
function adapt(exports, memory, workers, context) {
  // A trap (WebAssembly.RuntimeError: Rust aborted, mostly because the 4 GiB ran out) leaves the
  // instance's state undefined (locks held, threads stopped midway): it is reported with a code,
  // and every later call fails the same way instead of running in that state.
  let broken;
  const failure = (err) => {
    // Its threads will never be asked for anything again: let them go (one waiting on a dead
    // thread would otherwise keep the process alive).
    for (const worker of workers.splice(0)) worker.terminate().catch(() => {});
    // emnapi holds the event loop open while async work is pending (its waiting-request
    // counter); work a dead thread held never completes, so that hold is released here.
    const counter = context && context.refCounter;
    if (counter && counter.count > 0 && counter.refHandle && typeof counter.refHandle.unref === 'function') {
      counter.count = 0;
      counter.refHandle.unref();
    }
    const limit = `${Math.round(memory.buffer.byteLength / 2 ** 20)} MiB of WebAssembly memory in use, ${Math.round((maximumPages() * 65536) / 2 ** 20)} MiB at most`;
    const coded = new Error(
      `the WebAssembly analyzer stopped (${err.message}; ${limit}): most likely the snapshot needs more memory than WebAssembly's 4 GiB allow. ` +
        'Analyze it where a native analyzer loads (the prebuilt one on linux-x64, or one built from source: install Rust and run `npm rebuild heapsnap`)',
    );
    coded.code = 'ERR_HEAPSNAP_WASM_STOPPED';
    return coded;
  };
  const guard = (fn) =>
    function (...args) {
      if (broken) throw failure(broken);
      let result;
      try {
        result = fn.apply(this, args);
      } catch (err) {
        if (err instanceof WebAssembly.RuntimeError) {
          broken = err;
          throw failure(err);
        }
        throw err;
      }
      if (result && typeof result.then === 'function') {
        return result.catch((err) => {
          if (err instanceof WebAssembly.RuntimeError) {
            broken = err;
            return Promise.reject(failure(err));
          }
          return Promise.reject(recoded(err));
        });
      }
      return result;
    };
  let cwd;
  const sync = () => {
    const now = process.cwd();
    if (now !== cwd) {
      exports.wasiSetCwd(now);
      cwd = now;
    }
  };
  const followingCwd = (owner, name) => {
    const fn = owner[name];
    return guard(function (...args) {
      sync();
      return fn.apply(owner, args);
    });
  };
  // A snapshot's own methods run wasm code too (summary computes the dominator tree).
  const guarded = (snap) => {
    const proto = Object.getPrototypeOf(snap);
    for (const name of Object.getOwnPropertyNames(proto)) {
      const desc = Object.getOwnPropertyDescriptor(proto, name);
      if (name !== 'constructor' && typeof desc.value === 'function') {
        Object.defineProperty(snap, name, { value: guard((...args) => desc.value.apply(snap, args)), configurable: true, writable: true });
      }
    }
    return snap;
  };
  const result = { ...exports };
  const read = followingCwd(exports.NativeSnapshot, 'read');
  result.NativeSnapshot = { read: (...args) => guarded(read(...args)), prototype: exports.NativeSnapshot.prototype };
  // The file sink (lib/loader/file-sink.js makes it an object): a name relative to the cwd.
  result.fileSinkCreate = followingCwd(exports, 'fileSinkCreate');
  for (const name of ['fileSinkCheckSpace', 'fileSinkFinish', 'fileSinkFinishSync', 'fileSinkAbort']) {
    result[name] = guard(exports[name]);
  }
  // Chunks are copied into the module's memory here, into the staging area the sink reads
  // (made now, at load: no chunk grows the memory during a snapshot; larger ones go in pieces).
  // Handed a Buffer, emnapi would copy its whole ArrayBuffer into memory freed only once that
  // ArrayBuffer is collected; handed a Latin-1 string, it copies a byte at a time in JavaScript.
  const stage = new Uint8Array(memory.buffer, exports.fileSinkStaging(STAGING_BYTES), STAGING_BYTES);
  result.fileSinkWrite = guard((handle, chunk) => {
    for (let at = 0; at < chunk.length; at += STAGING_BYTES) {
      const piece = chunk.subarray(at, at + STAGING_BYTES);
      stage.set(piece);
      exports.fileSinkWriteStaged(handle, piece.length);
    }
  });
  delete result.fileSinkStaging;
  delete result.fileSinkWriteStaged;
  result.leaks = guard(exports.leaks);
  const readSnapshotAsync = followingCwd(exports, 'readSnapshotAsync');
  result.readSnapshotAsync = (...args) => readSnapshotAsync(...args).then(guarded);
  // heapsnap view's load (lib/analyzer/browse.js readForBrowsing): a path, and a snapshot back.
  const viewReadAsync = followingCwd(exports, 'viewReadAsync');
  result.viewReadAsync = (...args) => viewReadAsync(...args).then(guarded);
  for (const name of ['heapProfileTop', 'heapProfileDiff', 'writeSyntheticSnapshot', 'abandonUnfinishedSinks']) {
    result[name] = followingCwd(exports, name);
  }
  return result;
}

/**
 * `napi_wrap` that makes the finalizer's JS function (the module's function table entry) at
 * once. V8 makes one on a table entry's first use and keeps it for good (a closure and its
 * WebAssembly internals); made when the first snapshot object was collected, it was an object
 * allocated between two snapshots (leakCheck's second check in a process: one Function more).
 */
function finalizerMadeAtWrap(napiWrap, getTable) {
  return function napi_wrap(env, jsObject, nativeObject, finalizeCb, finalizeHint, result) {
    const table = getTable();
    if (finalizeCb && table) table.get(finalizeCb);
    return napiWrap(env, jsObject, nativeObject, finalizeCb, finalizeHint, result);
  };
}

/** Loads the WebAssembly analyzer (`file`, else the first candidate); throws when there is none or it fails. */
function loadWasmAnalyzer(file = wasmCandidates().find((candidate) => fs.existsSync(candidate))) {
  if (file === undefined) {
    throw new Error(`no ${WASM_FILE} in ${wasmCandidates().map((c) => path.dirname(c)).join(' or ')}`);
  }
  const { instantiateNapiModuleSync } = requireRuntime('@emnapi/core');
  const { getDefaultContext } = requireRuntime('@emnapi/runtime');
  const workers = [];
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: maximumPages(), shared: true });
  const poolSize = Number(process.env.NAPI_RS_ASYNC_WORK_POOL_SIZE ?? process.env.UV_THREADPOOL_SIZE);
  const context = getDefaultContext();
  let table;
  const { napiModule } = instantiateNapiModuleSync(fs.readFileSync(file), {
    context,
    asyncWorkPoolSize: poolSize > 0 ? poolSize : 4,
    reuseWorker: true,
    wasi: createWasi(),
    onCreateWorker() {
      const worker = new Worker(path.join(__dirname, 'wasm-worker.js'), { env: process.env });
      workers.push(worker);
      unrefWorker(worker);
      return worker;
    },
    overwriteImports(importObject) {
      importObject.env = { ...importObject.env, ...importObject.napi, ...importObject.emnapi, memory };
      importObject.env.napi_wrap = finalizerMadeAtWrap(importObject.env.napi_wrap, () => table);
      importObject.heapsnap = heapsnapImports(() => memory);
      withoutFastWasiCalls(importObject);
      return importObject;
    },
    beforeInit({ instance }) {
      table = instance.exports.__indirect_function_table;
      for (const name of Object.keys(instance.exports)) {
        if (name.startsWith('__napi_register__')) instance.exports[name]();
      }
    },
  });
  return adapt(napiModule.exports, memory, workers, context);
}

module.exports = { loadWasmAnalyzer, wasmCandidates, requireRuntime, withoutWasiWarning, createWasi, heapsnapImports, withoutFastWasiCalls, WASM_FILE };
