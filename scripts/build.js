#!/usr/bin/env node
'use strict';
// Builds the native addon from source for the Node.js running this script.
//
// The C++ shim is compiled against this node's own V8 headers (build.rs finds them from
// HEAPSNAP_NODE), and the result is named after this node's ABI, so several Node majors can
// live side by side in native/ and index.js loads the right one.
//
//   node scripts/build.js              release build
//   node scripts/build.js --debug      debug build
//   node scripts/build.js --if-needed  skip when the addon is newer than every source file

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { addonPath } = require('../lib/native-path');

const root = path.resolve(__dirname, '..');
const args = new Set(process.argv.slice(2));
const profile = args.has('--debug') ? 'debug' : 'release';
const target = addonPath();

function newestSourceMtime() {
  let newest = 0;
  const visit = (entry) => {
    const stat = fs.statSync(entry, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(entry)) visit(path.join(entry, name));
    } else if (/\.(rs|cc|h|toml|lock)$/.test(entry) || entry.endsWith('build.rs')) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const entry of ['Cargo.toml', 'Cargo.lock', 'build.rs', 'src', 'crates/heapsnap-core/Cargo.toml', 'crates/heapsnap-core/src']) {
    visit(path.join(root, entry));
  }
  return newest;
}

if (args.has('--if-needed')) {
  const built = fs.statSync(target, { throwIfNoEntry: false });
  if (built && built.mtimeMs >= newestSourceMtime()) process.exit(0);
}

const cargoArgs = ['build', '--lib', '-p', 'heapsnap'];
if (profile === 'release') cargoArgs.push('--release');
const result = spawnSync('cargo', cargoArgs, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, HEAPSNAP_NODE: process.execPath },
});
if (result.error && result.error.code === 'ENOENT') {
  console.error('heapsnap: building from source needs Rust (cargo on PATH): see https://rustup.rs');
  process.exit(1);
}
if (result.status !== 0) process.exit(result.status || 1);

const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, 'target');
const libName = { darwin: 'libheapsnap.dylib', win32: 'heapsnap.dll' }[process.platform] || 'libheapsnap.so';
fs.mkdirSync(path.dirname(target), { recursive: true });
// Copy to a temp name and rename: a process that is loading the addon never sees half a file.
const tmp = `${target}.${process.pid}.tmp`;
fs.copyFileSync(path.join(targetDir, profile, libName), tmp);
fs.renameSync(tmp, target);
console.error(`heapsnap: built ${path.relative(root, target)}`);
