#!/usr/bin/env node
'use strict';
// Builds heapsnap's addons from source for the Node.js running this script, into native/
// (which the loader prefers over the shipped prebuilds/).
//
// The writer's C++ shim is compiled against this node's own V8 headers (build.rs finds them
// from HEAPSNAP_NODE), and named after this node's ABI, so several majors live side by side.
//
//   node scripts/build.js              release build
//   node scripts/build.js --debug      debug build
//   node scripts/build.js --if-needed  skip when both addons are newer than every source file
//   node scripts/build.js --target T   build for Rust target T (default: this machine's)
//   node scripts/build.js --no-wasm    without the WebAssembly analyzer (scripts/build-wasm.js),
//                                      which is built by default when its toolchain is here

const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');
const { ROOT, LOCAL_BUILDS, addonFileName, currentPlatform } = require('../lib/loader/addons');
const { buildAddons, platformOf, newestMtime } = require('./cargo-build');
const wasm = require('./build-wasm');
const { WASM_FILE } = require('../lib/loader/wasm');

const SOURCES = ['Cargo.toml', 'Cargo.lock', 'build.rs', 'src', 'crates/heapsnap-core', 'crates/heapsnap-napi', 'crates/heapsnap-analyzer'];

function newestSourceMtime() {
  return newestMtime(SOURCES, /\.(rs|cc|h|toml|lock)$/);
}

function upToDate(platform) {
  const sources = newestSourceMtime();
  return ['writer', 'analyzer'].every((kind) => {
    const built = fs.statSync(path.join(LOCAL_BUILDS, addonFileName(kind, platform, process.versions.modules)), { throwIfNoEntry: false });
    return built && built.mtimeMs >= sources;
  });
}

/**
 * The WebAssembly analyzer, into native/ beside the native addons. Without its toolchain this
 * says what is missing and goes on: the native addons do not need it (the tests of the
 * portable analyzer then fail, saying the .wasm is missing).
 */
function buildWasmIfPossible(values) {
  // An installed package ships the .wasm in prebuilds/: a build from source there (no prebuilt
  // writer for this Node) is about the native addons only.
  if (!fs.existsSync(path.join(ROOT, '.git'))) return;
  const built = fs.statSync(path.join(LOCAL_BUILDS, WASM_FILE), { throwIfNoEntry: false });
  if (values['if-needed'] && built && built.mtimeMs >= wasm.newestSourceMtime()) return;
  const missing = wasm.missingToolchain();
  if (missing) {
    console.error(`heapsnap: not building the WebAssembly analyzer: it needs ${missing}`);
    return;
  }
  const file = wasm.buildWasm({ outDir: LOCAL_BUILDS, profile: values.debug ? 'debug' : 'release' });
  console.error(`heapsnap: built ${path.relative(ROOT, file)}`);
}

function main() {
  const { values } = parseArgs({
    options: { debug: { type: 'boolean' }, 'if-needed': { type: 'boolean' }, target: { type: 'string' }, 'no-wasm': { type: 'boolean' } },
  });
  // Without --target: this machine, named as the loader here will look for it.
  const platform = values.target ? platformOf(values.target) : currentPlatform();
  if (!values['no-wasm']) buildWasmIfPossible(values);
  if (values['if-needed'] && upToDate(platform)) return;
  const files = buildAddons({
    kinds: ['writer', 'analyzer'],
    node: { execPath: process.execPath, abi: process.versions.modules },
    target: values.target,
    platform,
    outDir: LOCAL_BUILDS,
    profile: values.debug ? 'debug' : 'release',
  });
  for (const file of files) console.error(`heapsnap: built ${path.relative(ROOT, file)}`);
}

try {
  main();
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
