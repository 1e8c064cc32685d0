#!/usr/bin/env node
'use strict';
// Builds the WebAssembly analyzer (crates/heapsnap-analyzer for wasm32-wasip1-threads) with
// napi-rs's CLI, which links emnapi's archive (EMNAPI_LINK_DIR) as napi-build expects, and
// installs the .wasm under the name lib/loader/wasm.js looks for.
//
// Needs: `rustup target add wasm32-wasip1-threads`, and a C compiler for wasm32 for zstd's C
// sources: WASI_SDK_PATH (napi-rs's CLI then sets it up), or else zig from PyPI
// (`pip install ziglang`) through scripts/zig-wasm-cc.sh.
//
//   node scripts/build-wasm.js                 release build into native/ (the loader prefers it)
//   node scripts/build-wasm.js --out prebuilds the shipped file (npm run prebuilds does this)
//   node scripts/build-wasm.js --if-needed     skip when the .wasm is newer than every source
//   node scripts/build-wasm.js --debug

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const { ROOT, LOCAL_BUILDS } = require('../lib/loader/addons');
const { WASM_FILE } = require('../lib/loader/wasm');
const { newestMtime } = require('./cargo-build');

const TARGET = 'wasm32-wasip1-threads';
const SOURCES = ['Cargo.lock', 'crates/heapsnap-core', 'crates/heapsnap-napi', 'crates/heapsnap-analyzer'];

function newestSourceMtime() {
  return newestMtime(SOURCES, /\.(rs|toml|lock)$/);
}

/** Why the WebAssembly build cannot run here (what to install), or null when it can. */
function missingToolchain(env = process.env) {
  for (const dev of ['@napi-rs/cli/package.json', 'emnapi/package.json']) {
    try {
      require.resolve(dev, { paths: [ROOT] });
    } catch {
      return 'the dev dependencies @napi-rs/cli and emnapi (`npm install` in a clone; an installed package ships the .wasm)';
    }
  }
  // The target's standard library in the sysroot (what rustc needs; rustup's own list can lag).
  const sysroot = spawnSync('rustc', ['--print', 'sysroot'], { encoding: 'utf8' });
  if (sysroot.error || sysroot.status !== 0) return 'Rust (https://rustup.rs)';
  if (!fs.existsSync(path.join(sysroot.stdout.trim(), 'lib', 'rustlib', TARGET))) {
    return `the Rust target ${TARGET} (\`rustup target add ${TARGET}\`)`;
  }
  const triple = TARGET.replace(/-/g, '_');
  if (env.WASI_SDK_PATH || env[`CC_${triple}`] || env[`CC_${TARGET}`]) return null;
  const zig = spawnSync(env.HEAPSNAP_PYTHON || 'python3', ['-m', 'ziglang', 'version'], { stdio: 'ignore' });
  if (zig.error || zig.status !== 0) return 'a C compiler for wasm32 (`pip install ziglang`, or WASI_SDK_PATH)';
  return null;
}

/** Builds the .wasm into `outDir` (as WASM_FILE); returns its path. */
function buildWasm({ outDir = LOCAL_BUILDS, profile = 'release', targetDir } = {}) {
  const env = { ...process.env };
  const triple = TARGET.replace(/-/g, '_');
  if (!env.WASI_SDK_PATH && !env[`CC_${triple}`] && !env[`CC_${TARGET}`]) {
    env[`CC_${triple}`] = path.join(__dirname, 'zig-wasm-cc.sh');
    env[`AR_${triple}`] = env[`AR_${triple}`] || path.join(__dirname, 'zig-wasm-ar.sh');
  }
  if (targetDir) env.CARGO_TARGET_DIR = targetDir;
  const napi = require.resolve('@napi-rs/cli/package.json');
  const cli = path.join(path.dirname(napi), require(napi).bin.napi);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heapsnap-wasm-'));
  try {
    const args = [
      cli, 'build', '--target', TARGET, '-p', 'heapsnap-analyzer',
      '--manifest-path', path.join(ROOT, 'crates', 'heapsnap-analyzer', 'Cargo.toml'),
      '--package-json-path', path.join(ROOT, 'package.json'),
      '--config-path', path.join(ROOT, 'crates', 'heapsnap-analyzer', 'napi.json'),
      '--output-dir', tmp, '--no-js', '--no-dts-cache',
    ];
    if (profile === 'release') args.push('--release');
    const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit', env });
    if (result.status !== 0) throw new Error(`heapsnap: the WebAssembly build failed (napi build exited ${result.status})`);
    const built = fs.readdirSync(tmp).find((name) => name.endsWith('.wasm') && !name.includes('.debug.'));
    if (!built) throw new Error(`heapsnap: napi build left no .wasm in ${tmp}`);
    fs.mkdirSync(outDir, { recursive: true });
    const installed = path.join(outDir, WASM_FILE);
    const partial = `${installed}.${process.pid}.tmp`;
    fs.copyFileSync(path.join(tmp, built), partial);
    fs.renameSync(partial, installed);
    return installed;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function main() {
  const { values } = parseArgs({ options: { debug: { type: 'boolean' }, 'if-needed': { type: 'boolean' }, out: { type: 'string' } } });
  const outDir = values.out ? path.resolve(ROOT, values.out) : LOCAL_BUILDS;
  if (values['if-needed']) {
    const built = fs.statSync(path.join(outDir, WASM_FILE), { throwIfNoEntry: false });
    if (built && built.mtimeMs >= newestSourceMtime()) return;
  }
  const file = buildWasm({ outDir, profile: values.debug ? 'debug' : 'release' });
  console.error(`heapsnap: built ${path.relative(ROOT, file)}`);
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}

module.exports = { buildWasm, missingToolchain, newestSourceMtime, TARGET };
