'use strict';
// Where heapsnap's two addons live, for the loader (lib/loader/native.js) and the build scripts.
//
//   writer    heapsnap.<platform>.abi<N>.node   V8 shim inside: one build per Node ABI
//   analyzer  heapsnap-analyzer.<platform>.node plain N-API: one build for every Node >= 18
//
// <platform> is `<os>-<arch>`, plus `-musl` on musl Linux (Alpine): a glibc build can't load there.
// Looked for, in this order:
//   native/                      builds made on this machine (`npm run build`, `npm rebuild`): they win
//   @heapsnap/<platform>         the platform package npm installed beside heapsnap (one per
//                                platform, chosen by its os/cpu/libc fields: `npm run package`)
//   prebuilds/                   `npm run prebuilds` in a checkout (what the platform packages carry)
//
// The WebAssembly analyzer (lib/loader/wasm.js) ships the same way, in the packages npm installs
// only where no platform package serves (PORTABLE_PACKAGES): a Linux x64 or arm64 user does not
// download it, a macOS, Windows or FreeBSD user gets it from a plain `npm install heapsnap`.

const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const PREBUILDS = path.join(ROOT, 'prebuilds');
const LOCAL_BUILDS = path.join(ROOT, 'native');
const SCOPE = '@heapsnap';

/**
 * The packages of the WebAssembly analyzer, with the npm os/cpu fields that choose them: every
 * machine that no platform package serves, and only those. npm installs a package when both its
 * os and its cpu match, so "not Linux, or Linux on another CPU" takes two packages (same file).
 */
const PORTABLE_PACKAGES = {
  [`${SCOPE}/portable`]: { os: ['!linux'] },
  [`${SCOPE}/portable-linux`]: { os: ['linux'], cpu: ['!x64', '!arm64'] },
};

let musl;
/**
 * Whether this process runs on musl. Decided by the running process, not by the files of the
 * machine (reading /usr/bin/ldd, as detect-libc does first, is wrong for a musl node on a glibc
 * machine and the reverse): the C library this process has mapped (/proc/self/maps, ~1 ms), else
 * process.report's header, which carries glibcVersionRuntime only under glibc (30-110 ms).
 */
function isMusl() {
  if (process.platform !== 'linux') return false;
  if (musl === undefined) musl = muslFromMaps() ?? !processReport().header.glibcVersionRuntime;
  return musl;
}

/** true / false from the libc this process mapped, undefined if /proc says nothing (or is not there). */
function muslFromMaps() {
  let maps;
  try {
    maps = fs.readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return undefined;
  }
  if (/\/(ld-musl-[\w.-]+\.so\.1|libc\.musl-[\w.-]+\.so\.1)$/m.test(maps)) return true;
  if (/\/(libc\.so\.6|libc-2\.\d+\.so)$/m.test(maps)) return false;
  return undefined;
}

function processReport() {
  // excludeNetwork (Node >= 20.13) skips the network part: faster, no DNS.
  const report = process.report;
  const saved = report.excludeNetwork;
  try {
    report.excludeNetwork = true;
    return report.getReport();
  } finally {
    report.excludeNetwork = saved;
  }
}

/** `linux-x64`, `linux-x64-musl`, `darwin-arm64`, `win32-x64`... for the running process. */
function currentPlatform() {
  return `${process.platform}-${process.arch}${isMusl() ? '-musl' : ''}`;
}

/** npm name of a platform's package of prebuilt addons: `@heapsnap/linux-arm64-musl`. */
function platformPackageName(platform) {
  return `${SCOPE}/${platform}`;
}

/** Folder of the installed platform package for `platform`, or undefined. */
function platformPackageDir(platform = currentPlatform()) {
  try {
    return path.dirname(require.resolve(`${platformPackageName(platform)}/package.json`, { paths: [ROOT] }));
  } catch {
    return undefined;
  }
}

/** Folders of the installed WebAssembly analyzer packages (at most one on a given machine). */
function portablePackageDirs() {
  return Object.keys(PORTABLE_PACKAGES).flatMap((name) => {
    try {
      return [path.dirname(require.resolve(`${name}/package.json`, { paths: [ROOT] }))];
    } catch {
      return [];
    }
  });
}

/** File name of an addon: `kind` is 'writer' or 'analyzer'; `abi` only matters for the writer. */
function addonFileName(kind, platform, abi) {
  if (kind === 'writer') return `heapsnap.${platform}.abi${abi}.node`;
  if (kind === 'analyzer') return `heapsnap-analyzer.${platform}.node`;
  throw new Error(`unknown addon kind ${kind}`);
}

/** Folders holding prebuilt addons for this platform: the platform package's, then prebuilds/. */
function prebuiltDirs(platform = currentPlatform()) {
  const pkg = platformPackageDir(platform);
  return [...(pkg ? [pkg] : []), PREBUILDS];
}

/** Candidate files for the running Node, the local build first. */
function addonCandidates(kind) {
  const platform = currentPlatform();
  const name = addonFileName(kind, platform, process.versions.modules);
  return [LOCAL_BUILDS, ...prebuiltDirs(platform)].map((dir) => path.join(dir, name));
}

function heapsnapConfig() {
  return require('../../package.json').heapsnap;
}

/** Node majors -> ABI (process.versions.modules) of the majors heapsnap prebuilds. */
function prebuiltNodeAbis() {
  return heapsnapConfig().prebuiltNodeAbis;
}

/** Platform -> the Node majors whose writer `npm run prebuilds` builds for it. */
function prebuiltPlatforms() {
  return heapsnapConfig().prebuilds;
}

/** The Node majors whose writer is prebuilt and installed for this platform. */
function prebuiltWriterMajors(platform = currentPlatform()) {
  const present = new Set(prebuiltDirs(platform).flatMap((dir) => (fs.existsSync(dir) ? fs.readdirSync(dir) : [])));
  return Object.entries(prebuiltNodeAbis())
    .filter(([, abi]) => present.has(addonFileName('writer', platform, abi)))
    .map(([major]) => Number(major));
}

module.exports = {
  ROOT,
  PREBUILDS,
  LOCAL_BUILDS,
  PORTABLE_PACKAGES,
  isMusl,
  muslFromMaps,
  processReport,
  currentPlatform,
  platformPackageName,
  platformPackageDir,
  portablePackageDirs,
  addonFileName,
  addonCandidates,
  prebuiltNodeAbis,
  prebuiltPlatforms,
  prebuiltWriterMajors,
};
