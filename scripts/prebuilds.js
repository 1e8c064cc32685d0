#!/usr/bin/env node
'use strict';
// `npm run prebuilds`: the addons shipped in the npm package, in prebuilds/.
//
// One writer per Node major in package.json's heapsnap.prebuiltNodeAbis, each compiled against
// that major's own headers (node-<os>-<arch>@<major> from the npm registry), and one analyzer
// for all. Linked with zig (pip install ziglang cargo-zigbuild) so that they need glibc 2.17 at
// most; each is then checked to need no newer GLIBC_/GLIBCXX_/CXXABI_ symbol version than that
// major's own node binary, and to load in it.
//
//   node scripts/prebuilds.js [--target x86_64-unknown-linux-gnu] [--node 20,22]

const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');
const { ROOT, PREBUILDS, prebuiltNodeAbis } = require('../lib/loader/addons');
const { buildAddons, platformOf } = require('./cargo-build');
const { fetchNode } = require('./node-dist');
const { buildWasm } = require('./build-wasm');

const TARGET_DIR = path.join(ROOT, 'target', 'prebuilds');

/** Highest version per symbol-version family (GLIBC, GLIBCXX, CXXABI) an ELF file requires or offers. */
function symbolVersions(file) {
  const table = execFileSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const highest = {};
  for (const [, family, version] of table.matchAll(/\b(GLIBC|GLIBCXX|CXXABI)_([0-9.]+)\b/g)) {
    if (!highest[family] || compareVersions(version, highest[family]) > 0) highest[family] = version;
  }
  return highest;
}

function compareVersions(a, b) {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) - (y[i] || 0);
  }
  return 0;
}

/** Fails when `addon` needs a symbol version newer than `node` has (it would not load where that node runs). */
function checkSymbolVersions(addon, node) {
  const needs = symbolVersions(addon);
  const has = symbolVersions(node.execPath);
  for (const [family, version] of Object.entries(needs)) {
    if (!has[family] || compareVersions(version, has[family]) > 0) {
      throw new Error(`heapsnap: ${path.basename(addon)} needs ${family}_${version}, but Node ${node.version}'s own binary needs at most ${family}_${has[family] || '(none)'}`);
    }
  }
  return needs;
}

/** Loads the addon in that node, as a user's process would, and checks what it was built for. */
function checkLoads(addon, node, kind) {
  const probe =
    kind === 'writer'
      ? `const info = require(${JSON.stringify(addon)}).nativeBuildInfo(); if (String(info.nodeModuleVersion) !== process.versions.modules) { console.error('built for ABI ' + info.nodeModuleVersion); process.exit(1); }`
      : `if (typeof require(${JSON.stringify(addon)}).NativeSnapshot !== 'function') process.exit(1);`;
  const child = spawnSync(node.execPath, ['-e', probe], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`heapsnap: ${path.basename(addon)} does not load in Node ${node.version}: ${child.stderr.trim()}`);
}

/** Loads the .wasm in that node through the loader, as a user's process would without a native analyzer. */
function checkWasmLoads(file, node) {
  const loader = path.join(ROOT, 'lib', 'loader', 'wasm.js');
  const probe = `const a = require(${JSON.stringify(loader)}).loadWasmAnalyzer(${JSON.stringify(file)}); if (typeof a.NativeSnapshot.read !== 'function') process.exit(1);`;
  const child = spawnSync(node.execPath, ['-e', probe], { encoding: 'utf8' });
  if (child.status !== 0 || child.stderr !== '') throw new Error(`heapsnap: ${path.basename(file)} does not load quietly in Node ${node.version}: ${child.stderr.trim()}`);
}

function main() {
  const { values } = parseArgs({ options: { target: { type: 'string', default: 'x86_64-unknown-linux-gnu' }, node: { type: 'string' } } });
  const { target } = values;
  const platform = platformOf(target);
  const abis = prebuiltNodeAbis();
  const majors = values.node ? values.node.split(',').map((m) => m.trim()) : Object.keys(abis);
  const checkable = target === 'x86_64-unknown-linux-gnu' && process.platform === 'linux' && process.arch === 'x64';

  const probe = spawnSync('cargo', ['zigbuild', '--help'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new Error('heapsnap: prebuilds link with zig: `pip install ziglang cargo-zigbuild` (or `cargo install cargo-zigbuild`)');
  }

  const nodes = majors.map((major) => {
    if (!(major in abis)) throw new Error(`heapsnap: Node ${major} is not in package.json's heapsnap.prebuiltNodeAbis`);
    const node = fetchNode(major);
    if (node.abi !== String(abis[major])) {
      throw new Error(`heapsnap: Node ${node.version} has ABI ${node.abi}, package.json says ${abis[major]}: fix heapsnap.prebuiltNodeAbis`);
    }
    return node;
  });

  const rows = [];
  nodes.forEach((node, i) => {
    const started = Date.now();
    // The analyzer is the same for every Node: built once, with the oldest one's tools.
    const kinds = i === 0 ? ['writer', 'analyzer'] : ['writer'];
    const files = buildAddons({ kinds, node, target, outDir: PREBUILDS, zig: true, targetDir: TARGET_DIR });
    files.forEach((file, k) => {
      const versions = checkable ? checkSymbolVersions(file, kinds[k] === 'writer' ? node : nodes[0]) : {};
      if (checkable) for (const n of kinds[k] === 'writer' ? [node] : nodes) checkLoads(file, n, kinds[k]);
      rows.push({ file: path.relative(ROOT, file), node: kinds[k] === 'writer' ? node.version : 'any', kB: Math.round(fs.statSync(file).size / 1024), glibc: versions.GLIBC || '?', seconds: ((Date.now() - started) / 1000).toFixed(0) });
    });
  });
  // The WebAssembly analyzer (portable mode): one file for every platform and Node >= 18.
  const started = Date.now();
  const wasm = buildWasm({ outDir: PREBUILDS });
  for (const node of checkable ? nodes : []) checkWasmLoads(wasm, node);
  rows.push({ file: path.relative(ROOT, wasm), node: 'any', kB: Math.round(fs.statSync(wasm).size / 1024), glibc: '-', seconds: ((Date.now() - started) / 1000).toFixed(0) });
  console.table(rows);
  if (!checkable) console.error(`heapsnap: built for ${platform} without load or symbol checks (not this machine's platform)`);
}

try {
  main();
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
