'use strict';
// Where heapsnap's two addons live, for the loader (lib/loader/native.js) and the build scripts.
//
//   writer    heapsnap.<platform>.abi<N>.node   V8 shim inside: one build per Node ABI
//   analyzer  heapsnap-analyzer.<platform>.node plain N-API: one build for every Node >= 18
//
// <platform> is `<os>-<arch>`, plus `-musl` on musl Linux (Alpine): a glibc build can't load there.
// prebuilds/ ships in the npm package (`npm run prebuilds`); native/ holds builds made on this
// machine (`npm run build`), which win, so a developer's fresh build is what runs.

const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const PREBUILDS = path.join(ROOT, 'prebuilds');
const LOCAL_BUILDS = path.join(ROOT, 'native');

function isMusl() {
  if (process.platform !== 'linux') return false;
  const { familySync, MUSL } = require('detect-libc');
  return familySync() === MUSL;
}

/** `linux-x64`, `linux-x64-musl`, `darwin-arm64`, `win32-x64`... for the running process. */
function currentPlatform() {
  return `${process.platform}-${process.arch}${isMusl() ? '-musl' : ''}`;
}

/** File name of an addon: `kind` is 'writer' or 'analyzer'; `abi` only matters for the writer. */
function addonFileName(kind, platform, abi) {
  if (kind === 'writer') return `heapsnap.${platform}.abi${abi}.node`;
  if (kind === 'analyzer') return `heapsnap-analyzer.${platform}.node`;
  throw new Error(`unknown addon kind ${kind}`);
}

/** Candidate files for the running Node, the local build first. */
function addonCandidates(kind) {
  const name = addonFileName(kind, currentPlatform(), process.versions.modules);
  return [path.join(LOCAL_BUILDS, name), path.join(PREBUILDS, name)];
}

/** Node majors -> ABI (process.versions.modules) of the majors heapsnap prebuilds. */
function prebuiltNodeAbis() {
  return require('../../package.json').heapsnap.prebuiltNodeAbis;
}

/** The Node majors whose writer is prebuilt for this platform in this package. */
function prebuiltWriterMajors(platform = currentPlatform()) {
  const present = new Set(fs.existsSync(PREBUILDS) ? fs.readdirSync(PREBUILDS) : []);
  return Object.entries(prebuiltNodeAbis())
    .filter(([, abi]) => present.has(addonFileName('writer', platform, abi)))
    .map(([major]) => Number(major));
}

module.exports = { ROOT, PREBUILDS, LOCAL_BUILDS, currentPlatform, addonFileName, addonCandidates, prebuiltNodeAbis, prebuiltWriterMajors };
