'use strict';
// Loads heapsnap's addons on first use (see lib/loader/addons.js for where they live):
// - writer(): dumps, triggers, gc. Built per Node ABI; where none loads for this Node and
//   platform, the portable writer (lib/writer/portable.js: Node's in-process inspector) stands
//   in with the same surface, and writerMode() says 'portable'.
// - analyzer(): readSnapshot, leaks, the CLI. Plain N-API, so it loads on any Node >= 18;
//   where no native build loads (macOS, Windows, FreeBSD... without a build from source), the
//   same analyzer built for WebAssembly (lib/loader/wasm.js), with the same exports and output.
// HEAPSNAP_FORCE_PORTABLE=writer,analyzer (either or both) chooses the portable part(s) even
// where native addons load (tests, comparisons): forcedPortable(), read once.

const fs = require('fs');
const { addonCandidates, currentPlatform, prebuiltWriterMajors } = require('./addons');
const { heapsnapError } = require('../errors');
const { fileSinkClass } = require('./file-sink');

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
    if (kind === 'writer') {
      const prebuilt = ` (prebuilt here: ${listMajors(prebuiltWriterMajors())})`;
      throw heapsnapError('ERR_HEAPSNAP_NATIVE_MISSING', `${what}${prebuilt}: the portable writer (Node's inspector) stands in; for the native one, ${REBUILD}`);
    }
    throw heapsnapError('ERR_HEAPSNAP_NATIVE_MISSING', `${what}: ${REBUILD}`);
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

const PARTS = ['writer', 'analyzer'];
let forced;

/** The parts HEAPSNAP_FORCE_PORTABLE names (`writer`, `analyzer`, comma-separated), parsed once. */
function forcedPortable() {
  if (forced) return forced;
  forced = new Set();
  const words = (process.env.HEAPSNAP_FORCE_PORTABLE || '').split(',').map((word) => word.trim().toLowerCase()).filter(Boolean);
  const unknown = words.filter((word) => !PARTS.includes(word));
  for (const word of words) if (PARTS.includes(word)) forced.add(word);
  if (unknown.length > 0) {
    console.error(`heapsnap: HEAPSNAP_FORCE_PORTABLE: ignoring ${unknown.map((w) => `'${w}'`).join(', ')} (known: ${PARTS.join(', ')})`);
  }
  return forced;
}

/** Why the writer is not native: null while it is. */
let writerReason = null;

/**
 * The native writer, or the portable one where no native writer loads (missing for this Node
 * or platform, or failing to load) or HEAPSNAP_FORCE_PORTABLE names `writer`. A build for
 * another ABI (ERR_HEAPSNAP_NATIVE_MISMATCH: a stale local build) stays an error.
 */
function loadWriter() {
  if (forcedPortable().has('writer')) {
    writerReason = 'HEAPSNAP_FORCE_PORTABLE=writer';
  } else {
    try {
      return load('writer');
    } catch (err) {
      if (err.code !== 'ERR_HEAPSNAP_NATIVE_MISSING') throw err;
      writerReason = err.message.replace(/^heapsnap: /, '');
    }
  }
  const portable = require('../writer/portable');
  portable.setReason(writerReason);
  return portable;
}

/** Which analyzer `analyzer()` gave: 'native', 'portable' (WebAssembly), or undefined before the first load. */
let analyzerMode;
/** Why the analyzer is the WebAssembly one (null when native). */
let analyzerReason = null;

/** The analyzer's exports, with its file sink made an object (`NativeFileSink.create`). */
function withFileSink(addon) {
  return { ...addon, NativeFileSink: fileSinkClass(addon) };
}

/** The native analyzer, else the WebAssembly one; a coded error naming both when neither loads. */
function loadAnalyzer() {
  let nativeFailure;
  if (!forcedPortable().has('analyzer')) {
    try {
      const addon = withFileSink(load('analyzer'));
      analyzerMode = 'native';
      return addon;
    } catch (err) {
      nativeFailure = err;
    }
  }
  try {
    const addon = withFileSink(require('./wasm').loadWasmAnalyzer());
    analyzerMode = 'portable';
    analyzerReason = nativeFailure ? `${String(nativeFailure.message).replace(/^heapsnap: /, '').split('\n')[0]}: the WebAssembly analyzer stands in` : 'HEAPSNAP_FORCE_PORTABLE=analyzer';
    return addon;
  } catch (err) {
    const wasm = `the WebAssembly analyzer does not load either (${String(err.message).split('\n')[0]})`;
    if (nativeFailure) throw heapsnapError(nativeFailure.code, `${nativeFailure.message}; ${wasm}`);
    throw heapsnapError('ERR_HEAPSNAP_NATIVE_MISSING', `heapsnap: HEAPSNAP_FORCE_PORTABLE=analyzer, but ${wasm}`);
  }
}

/** Loads once; a failure is remembered and thrown again (a fresh Error each time, same code). */
function lazy(kind, loader = () => load(kind)) {
  let addon;
  let failure;
  const get = () => {
    if (addon) return addon;
    if (!failure) {
      try {
        addon = loader();
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

const writer = lazy('writer', loadWriter);
const analyzer = lazy('analyzer', loadAnalyzer);

/** Why the analyzer is the WebAssembly one, null when native (loads it if needed). */
analyzer.reason = () => {
  analyzer();
  return analyzerReason;
};

/** 'native' or 'portable' once the analyzer has loaded (it is loaded by this call if needed). */
analyzer.mode = () => {
  analyzer();
  return analyzerMode;
};

/** 'native' or 'portable' (loads the writer); throws what loading threw otherwise. */
function writerMode() {
  return writer().portable ? 'portable' : 'native';
}

/** Why the writer is portable (null when native), once writer() loaded. */
function writerPortableReason() {
  return writerReason;
}

/** Whether HEAPSNAP_FORCE_PORTABLE names `part` ('writer' or 'analyzer'). */
function portableForced(part) {
  return forcedPortable().has(part);
}

module.exports = { writer, analyzer, writerMode, writerPortableReason, forcedPortable, portableForced };
