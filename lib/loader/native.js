'use strict';
// Loads heapsnap's addons on first use (see lib/loader/addons.js for where they live):
// - writer(): dumps, triggers, gc. Built per Node ABI; without one for this Node, the writing
//   functions throw ERR_HEAPSNAP_NATIVE_MISSING and say what to do, while the rest still works.
// - analyzer(): readSnapshot, leaks, the CLI. Plain N-API, so it loads on any Node >= 18;
//   where no native build loads (macOS, Windows, FreeBSD... without a build from source), the
//   same analyzer built for WebAssembly (lib/loader/wasm.js), with the same exports and output.
//   HEAPSNAP_FORCE_PORTABLE=analyzer (a comma list: `writer`, `analyzer`) uses it even where
//   the native one loads, which is how the tests run it here.

const fs = require('fs');
const { addonCandidates, currentPlatform, prebuiltWriterMajors } = require('./addons');
const { heapsnapError } = require('../errors');

const REBUILD = "install Rust (https://rustup.rs) and run `npm rebuild heapsnap` to build one from source";

function listMajors(majors) {
  return majors.length === 0 ? 'none' : `Node ${majors.join(', ')}`;
}

/** The first candidate file that exists, loaded; or a coded error that says what to do. */
function load(kind) {
  const candidates = addonCandidates(kind);
  const file = candidates.find((candidate) => fs.existsSync(candidate));
  const what = `heapsnap: no ${kind} addon for Node ${process.version} (ABI ${process.versions.modules}) on ${currentPlatform()}`;
  if (file === undefined) {
    const prebuilt = kind === 'writer' ? ` (prebuilt here: ${listMajors(prebuiltWriterMajors())})` : '';
    const tail = kind === 'writer' ? '; reading and analyzing snapshots works without it' : '';
    throw heapsnapError('ERR_HEAPSNAP_NATIVE_MISSING', `${what}${prebuilt}: to write snapshots, ${REBUILD}${tail}`);
  }
  let addon;
  try {
    addon = require(file);
  } catch (err) {
    throw heapsnapError('ERR_HEAPSNAP_NATIVE_MISSING', `${what}: ${file} does not load (${err.message.split('\n')[0]}): ${REBUILD}`);
  }
  if (kind === 'writer') {
    const built = addon.nativeBuildInfo();
    if (String(built.nodeModuleVersion) !== process.versions.modules) {
      throw heapsnapError(
        'ERR_HEAPSNAP_NATIVE_MISMATCH',
        `heapsnap: ${file} was built for Node ABI ${built.nodeModuleVersion}, this is Node ${process.version} ` +
          `(ABI ${process.versions.modules}): run \`npm run build\` again with this node`,
      );
    }
  }
  return addon;
}

/** Whether HEAPSNAP_FORCE_PORTABLE (comma-separated parts: `writer`, `analyzer`) names `part`. */
function portableForced(part, env = process.env) {
  return String(env.HEAPSNAP_FORCE_PORTABLE || '')
    .split(',')
    .map((word) => word.trim().toLowerCase())
    .includes(part);
}

/** Options for the WebAssembly analyzer's load (see `analyzer.onlyAnalyzing`). */
const wasmOptions = {};

/** Which analyzer `analyzer()` gave: 'native', 'portable' (WebAssembly), or undefined before the first load. */
let analyzerMode;

/** The native analyzer, else the WebAssembly one; a coded error naming both when neither loads. */
function loadAnalyzer() {
  let nativeFailure;
  if (!portableForced('analyzer')) {
    try {
      const addon = load('analyzer');
      analyzerMode = 'native';
      return addon;
    } catch (err) {
      nativeFailure = err;
    }
  }
  try {
    const addon = require('./wasm').loadWasmAnalyzer(undefined, wasmOptions);
    analyzerMode = 'portable';
    return addon;
  } catch (err) {
    const wasm = `the WebAssembly analyzer does not load either (${String(err.message).split('\n')[0]})`;
    if (nativeFailure) throw heapsnapError(nativeFailure.code, `${nativeFailure.message}; ${wasm}`);
    throw heapsnapError('ERR_HEAPSNAP_NATIVE_MISSING', `heapsnap: HEAPSNAP_FORCE_PORTABLE=analyzer, but ${wasm}`);
  }
}

/** Loads once; a failure is remembered and thrown again (a fresh Error each time, same code). */
function lazy(kind) {
  let addon;
  let failure;
  const get = () => {
    if (addon) return addon;
    if (!failure) {
      try {
        addon = kind === 'analyzer' ? loadAnalyzer() : load(kind);
        return addon;
      } catch (err) {
        failure = err;
      }
    }
    throw heapsnapError(failure.code, failure.message);
  };
  get.isLoaded = () => addon !== undefined;
  return get;
}

const analyzer = lazy('analyzer');
/**
 * For a process that only analyzes (the CLI), called before the first analyzer(): should the
 * analyzer be the WebAssembly one, its code is compiled fully optimized up front (V8's
 * --no-liftoff, process-wide: not for a host application's process). The parse and the
 * dominator pass are each one long call, which V8's baseline code would run to its end.
 */
analyzer.onlyAnalyzing = () => {
  wasmOptions.optimizeUpFront = true;
};
/** 'native' or 'portable' once the analyzer has loaded (it is loaded by this call if needed). */
analyzer.mode = () => {
  analyzer();
  return analyzerMode;
};

module.exports = { writer: lazy('writer'), analyzer, portableForced };
