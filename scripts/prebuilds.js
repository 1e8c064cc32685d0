#!/usr/bin/env node
'use strict';
// `npm run prebuilds`: the addons shipped in the platform packages (`npm run package`), in
// prebuilds/, for every platform and Node major in package.json's heapsnap.prebuilds.
//
// One writer per Node major and platform, each compiled against that major's own headers (the
// official build of that platform: scripts/node-dist.js), and one analyzer per platform. All are
// built on a linux-x64 machine and linked with zig (pip install ziglang cargo-zigbuild); the
// shim compiles with that architecture's g++ (scripts/cargo-build.js). Each shipped file is
// then checked, and the build fails when one is wrong:
//   - its NEEDED libraries are the C runtime's only (no libstdc++, no libc++: the shim binds to
//     the C++ library node itself loaded);
//   - no undefined symbol from libc++ (`std::__1`), and (where that platform's libraries are
//     here: scripts/emulation.js) every undefined symbol is defined by node or those libraries;
//   - glibc: no newer GLIBC_/GLIBCXX_/CXXABI_ symbol version than that major's own node binary
//     of that architecture;
//   - it loads in that platform's node (under emulation for arm64 and musl; skipped with a
//     warning where the emulation is not set up).
//
//   node scripts/prebuilds.js [--platform linux-arm64,linux-x64-musl] [--node 20,22]
//   (--target <rust-triple> is the same as --platform <its platform>)

const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');
const { ROOT, PREBUILDS, prebuiltNodeAbis, prebuiltPlatforms } = require('../lib/loader/addons');
const { buildAddons, platformOf, targetOf } = require('./cargo-build');
const { fetchNode } = require('./node-dist');
const emulation = require('./emulation');
const { buildWasm } = require('./build-wasm');

// cargo's target directory for prebuilds: target/prebuilds, or HEAPSNAP_PREBUILDS_TARGET_DIR
// (CI keeps it outside the clone, so the dependencies of the four targets compile once per machine).
const TARGET_DIR = process.env.HEAPSNAP_PREBUILDS_TARGET_DIR ? path.resolve(process.env.HEAPSNAP_PREBUILDS_TARGET_DIR) : path.join(ROOT, 'target', 'prebuilds');

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
      throw new Error(`heapsnap: ${path.basename(addon)} needs ${family}_${version}, but ${node.platform} Node ${node.version}'s own binary needs at most ${family}_${has[family] || '(none)'}`);
    }
  }
  return needs;
}

function neededLibraries(file) {
  const headers = execFileSync('objdump', ['-p', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return [...headers.matchAll(/^\s*NEEDED\s+(\S+)$/gm)].map((m) => m[1]);
}

/** Dynamic symbols of an ELF file: `{ undefined: [names], defined: Set }` (weak undefined ones left out: they may stay unresolved). */
function dynamicSymbols(file) {
  const text = execFileSync('nm', ['-D', '--with-symbol-versions', file], { encoding: 'utf8', maxBuffer: 512 << 20 });
  const undefinedNames = [];
  const defined = new Set();
  for (const line of text.split('\n')) {
    const m = /^\s*(?:[0-9a-f]+)?\s+([A-Za-z])\s+(\S+)$/.exec(line);
    if (!m) continue;
    const name = m[2].replace(/@.*$/, '');
    if (m[1] === 'U') undefinedNames.push(name);
    else if (m[1] !== 'w' && m[1] !== 'v') defined.add(name);
  }
  return { undefined: undefinedNames, defined };
}

// The C runtime libraries an addon may need, per libc: no C++ library of its own.
const ALLOWED_NEEDED = {
  glibc: /^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libgcc_s\.so\.1|ld-linux-(x86-64|aarch64)\.so\.[12])$/,
  musl: /^(libc\.so|libc\.musl-(x86_64|aarch64)\.so\.1|libgcc_s\.so\.1)$/,
};

/** The libraries node of `platform` runs with here, to resolve an addon's symbols against; null when absent. */
function runtimeLibraries(node) {
  const { platform } = node;
  const glibc = {
    'linux-x64': ['/lib/x86_64-linux-gnu', 'ld-linux-x86-64.so.2'],
    'linux-arm64': ['/usr/aarch64-linux-gnu/lib', 'ld-linux-aarch64.so.1'],
  }[platform];
  if (glibc) {
    // The dynamic loader defines a few (__tls_get_addr, _dl_find_object).
    const [dir, loader] = glibc;
    const files = ['libc.so.6', 'libm.so.6', 'libgcc_s.so.1', 'libstdc++.so.6', 'libpthread.so.0', 'libdl.so.2', loader].map((name) => path.join(dir, name));
    return files.every((file) => fs.existsSync(file)) ? files : null;
  }
  // musl: the loader is libc; node's own libstdc++ and libgcc_s are the wheel's.
  const libc = `/lib/ld-musl-${emulation.MUSL[platform].arch}.so.1`;
  if (!fs.existsSync(libc)) return null;
  return [libc, ...fs.readdirSync(node.libs).map((name) => path.join(node.libs, name))];
}

/** The checks on what a shipped file links to; returns a short description. */
function checkLinkage(addon, node) {
  const name = path.basename(addon);
  const needed = neededLibraries(addon);
  const allowed = ALLOWED_NEEDED[node.platform.endsWith('-musl') ? 'musl' : 'glibc'];
  const foreign = needed.filter((lib) => !allowed.test(lib));
  if (foreign.length) throw new Error(`heapsnap: ${name} needs ${foreign.join(', ')}: a prebuilt for ${node.platform} may need that platform's C runtime only`);
  const { undefined: wanted } = dynamicSymbols(addon);
  const libcxx = wanted.filter((symbol) => /St3__1|NSt3__1|__1::/.test(symbol));
  if (libcxx.length) throw new Error(`heapsnap: ${name} uses libc++ (${libcxx.slice(0, 3).join(', ')}...), node on ${node.platform} carries libstdc++`);
  const libs = runtimeLibraries(node);
  let resolved = 'not resolved (this platform\'s libraries are not here)';
  if (libs) {
    const defined = new Set(dynamicSymbols(node.execPath).defined);
    for (const lib of libs) for (const symbol of dynamicSymbols(lib).defined) defined.add(symbol);
    const unresolved = wanted.filter((symbol) => !defined.has(symbol));
    if (unresolved.length) {
      throw new Error(`heapsnap: ${name}: ${unresolved.length} undefined symbols that neither ${node.platform} Node ${node.version} nor its C/C++ runtime defines: ${unresolved.slice(0, 8).join(', ')}`);
    }
    resolved = `all ${wanted.length} resolved`;
  }
  return `needs ${needed.join(' ')}; undefined symbols ${resolved}`;
}

/** Loads the addon in that platform's node, as a user's process would, and checks what it was built for. */
function checkLoads(addon, node, kind) {
  const probe =
    kind === 'writer'
      ? `const info = require(${JSON.stringify(addon)}).nativeBuildInfo(); if (String(info.nodeModuleVersion) !== process.versions.modules) { console.error('built for ABI ' + info.nodeModuleVersion); process.exit(1); } console.log(process.arch)`
      : `if (typeof require(${JSON.stringify(addon)}).NativeSnapshot !== 'function') process.exit(1); console.log(process.arch)`;
  const [command, args] = emulation.wrap(node.platform, node.execPath, ['-e', probe]);
  const child = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, ...emulation.envFor(node.platform) }, timeout: 120_000 });
  if (child.status !== 0) throw new Error(`heapsnap: ${path.basename(addon)} does not load in ${node.platform} Node ${node.version}: ${(child.stderr || String(child.error)).trim()}`);
  return child.stdout.trim();
}

/** Loads the .wasm in that node through the loader, as a user's process would without a native analyzer. */
function checkWasmLoads(file, node) {
  const loader = path.join(ROOT, 'lib', 'loader', 'wasm.js');
  const probe = `const a = require(${JSON.stringify(loader)}).loadWasmAnalyzer(${JSON.stringify(file)}); if (typeof a.NativeSnapshot.read !== 'function') process.exit(1);`;
  const child = spawnSync(node.execPath, ['-e', probe], { encoding: 'utf8' });
  if (child.status !== 0 || child.stderr !== '') throw new Error(`heapsnap: ${path.basename(file)} does not load quietly in Node ${node.version}: ${child.stderr.trim()}`);
}

function main() {
  const { values } = parseArgs({ options: { platform: { type: 'string' }, target: { type: 'string' }, node: { type: 'string' } } });
  const all = prebuiltPlatforms();
  const platforms = values.target ? [platformOf(values.target)] : values.platform ? values.platform.split(',').map((p) => p.trim()) : Object.keys(all);
  const abis = prebuiltNodeAbis();

  const probe = spawnSync('cargo', ['zigbuild', '--help'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new Error('heapsnap: prebuilds link with zig: `pip install ziglang cargo-zigbuild` (or `cargo install cargo-zigbuild`)');
  }

  const rows = [];
  const unchecked = [];
  for (const platform of platforms.filter((p) => p !== 'wasm32-wasi')) {
    if (!all[platform]) throw new Error(`heapsnap: ${platform} is not in package.json's heapsnap.prebuilds (${Object.keys(all).join(', ')})`);
    const target = targetOf(platform);
    const majors = values.node ? values.node.split(',').map((m) => m.trim()).filter((m) => all[platform].includes(Number(m))) : all[platform].map(String);
    const runnable = platform === 'linux-x64' ? process.platform === 'linux' && process.arch === 'x64' : emulation.missing(platform).length === 0;
    if (!runnable) unchecked.push(platform);
    const nodes = majors.map((major) => {
      if (!(major in abis)) throw new Error(`heapsnap: Node ${major} is not in package.json's heapsnap.prebuiltNodeAbis`);
      const node = fetchNode(major, platform);
      if (node.abi !== String(abis[major])) {
        throw new Error(`heapsnap: ${platform} Node ${node.version} has ABI ${node.abi}, package.json says ${abis[major]}: fix heapsnap.prebuiltNodeAbis`);
      }
      return node;
    });
    nodes.forEach((node, i) => {
      const started = Date.now();
      // The analyzer is the same for every Node: built once per platform.
      const kinds = i === 0 ? ['writer', 'analyzer'] : ['writer'];
      const files = buildAddons({ kinds, node, target, platform, outDir: PREBUILDS, zig: true, targetDir: TARGET_DIR });
      files.forEach((file, k) => {
        const kind = kinds[k];
        const linkage = checkLinkage(file, node);
        const versions = platform.endsWith('-musl') ? {} : checkSymbolVersions(file, node);
        // The analyzer loads in every major's node of the platform; a writer in its own.
        const loadedIn = runnable ? (kind === 'writer' ? [node] : nodes).map((n) => `${n.version} ${checkLoads(file, n, kind)}`) : [];
        rows.push({
          file: path.relative(ROOT, file),
          node: kind === 'writer' ? node.version : 'any',
          kB: Math.round(fs.statSync(file).size / 1024),
          glibc: versions.GLIBC || (platform.endsWith('-musl') ? 'musl' : '?'),
          loads: runnable ? loadedIn.length : 'unchecked',
          seconds: Number(((Date.now() - started) / 1000).toFixed(0)),
        });
        console.error(`heapsnap: ${path.relative(ROOT, file)}: ${linkage}${runnable ? `; loads in ${loadedIn.join(', ')}` : ''}`);
      });
    });
  }
  // The WebAssembly analyzer (portable mode): one file for every platform and Node >= 18, built
  // with the full set (or alone with --platform wasm32-wasi), load-checked in this machine's nodes.
  if (!values.target && (!values.platform || platforms.includes('wasm32-wasi'))) {
    const started = Date.now();
    const wasm = buildWasm({ outDir: PREBUILDS });
    const hostNodes = process.platform === 'linux' && process.arch === 'x64' ? Object.keys(abis).map((major) => fetchNode(major)) : [];
    for (const node of hostNodes) checkWasmLoads(wasm, node);
    rows.push({ file: path.relative(ROOT, wasm), node: 'any', kB: Math.round(fs.statSync(wasm).size / 1024), glibc: '-', loads: hostNodes.length || 'unchecked', seconds: Number(((Date.now() - started) / 1000).toFixed(0)) });
  }
  console.table(rows);
  for (const platform of unchecked) {
    console.error(`heapsnap: built for ${platform} without load checks: ${emulation.missing(platform).join(', ')} (node scripts/emulation.js setup)`);
  }
}

try {
  main();
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
