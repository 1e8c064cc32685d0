'use strict';
// Loads heapsnap's addons on first use (see lib/loader/addons.js for where they live):
// - writer(): dumps, triggers, gc. Built per Node ABI; without one for this Node, the writing
//   functions throw ERR_HEAPSNAP_NATIVE_MISSING and say what to do, while the rest still works.
// - analyzer(): readSnapshot, leaks, the CLI. Plain N-API, so it loads on any Node >= 18.

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

/** Loads once; a failure is remembered and thrown again (a fresh Error each time, same code). */
function lazy(kind) {
  let addon;
  let failure;
  const get = () => {
    if (addon) return addon;
    if (!failure) {
      try {
        addon = load(kind);
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

module.exports = { writer: lazy('writer'), analyzer: lazy('analyzer') };
