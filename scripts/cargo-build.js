'use strict';
// Builds heapsnap's addons with cargo and installs them under the loader's names (lib/loader/addons.js).
// Shared by scripts/build.js (this machine, this node) and scripts/prebuilds.js (every major).

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { ROOT, addonFileName } = require('../lib/loader/addons');

// Rust target triple -> the loader's platform name. The linux ones are prebuilt on a linux-x64
// machine (scripts/prebuilds.js); the others build from source on their own machines.
const PLATFORMS = {
  'x86_64-unknown-linux-gnu': 'linux-x64',
  'aarch64-unknown-linux-gnu': 'linux-arm64',
  'x86_64-unknown-linux-musl': 'linux-x64-musl',
  'aarch64-unknown-linux-musl': 'linux-arm64-musl',
  'x86_64-apple-darwin': 'darwin-x64',
  'aarch64-apple-darwin': 'darwin-arm64',
  'x86_64-pc-windows-msvc': 'win32-x64',
};

// The oldest glibc a prebuilt may need: the one napi-rs targets, below every Node >= 18's own.
const GLIBC_BASELINE = '2.17';

const CRATES = { writer: 'heapsnap', analyzer: 'heapsnap-analyzer' };

// The C++ compiler of the writer's shim, per prebuilt target: a g++ (Node's own C++ ABI, and
// libstdc++'s headers, as the node binaries of all four were built with) for that architecture;
// zig only links. Nothing is linked for C++: the shim binds to the libstdc++ node itself loads.
const SHIM_CXX = {
  'x86_64-unknown-linux-gnu': 'g++',
  'aarch64-unknown-linux-gnu': 'aarch64-linux-gnu-g++',
  'x86_64-unknown-linux-musl': 'g++',
  'aarch64-unknown-linux-musl': 'aarch64-linux-gnu-g++',
};

/** The Rust target triple of a loader platform name (`linux-arm64-musl`...). */
function targetOf(platform) {
  const target = Object.keys(PLATFORMS).find((triple) => PLATFORMS[triple] === platform);
  if (!target) throw new Error(`heapsnap: unknown platform ${platform}; known: ${Object.values(PLATFORMS).join(', ')}`);
  return target;
}

function platformOf(target) {
  const platform = PLATFORMS[target];
  if (!platform) throw new Error(`heapsnap: unknown target ${target}; known: ${Object.keys(PLATFORMS).join(', ')}`);
  return platform;
}

/** The dynamic library cargo writes for a crate, on a target triple or a process.platform. */
function libraryFile(crate, target) {
  const stem = crate.replace(/-/g, '_');
  if (/apple|darwin/.test(target)) return `lib${stem}.dylib`;
  if (/windows|win32/.test(target)) return `${stem}.dll`;
  return `lib${stem}.so`;
}

function run(command, args, options) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
  if (result.error && result.error.code === 'ENOENT') {
    throw Object.assign(new Error(`heapsnap: building from source needs Rust (${command} on PATH): see https://rustup.rs`), { code: 'ENOENT' });
  }
  if (result.status !== 0) throw new Error(`heapsnap: ${command} ${args.join(' ')} failed (exit ${result.status})`);
}

/**
 * Builds `kinds` ('writer', 'analyzer') and copies them into `outDir` under the loader's names.
 *   node      { execPath, include?, abi }: the Node whose V8 headers the writer's shim compiles
 *             against (build.rs finds them beside execPath unless `include` is given)
 *   target    Rust target triple, or undefined for this machine (then `platform` names it)
 *   zig       link with zig (cargo-zigbuild): linux-gnu targets then need glibc GLIBC_BASELINE
 *             at most. The shim still compiles with g++, so its C++ ABI is Node's own, and no
 *             C++ library is linked: it binds to node's own libstdc++ when loaded.
 *   targetDir cargo's target directory (default: CARGO_TARGET_DIR or target/)
 * Returns the installed files.
 */
function buildAddons({ kinds, node, target, platform = platformOf(target), outDir, profile = 'release', zig = false, targetDir }) {
  const env = { ...process.env, HEAPSNAP_NODE: node.execPath, HEAPSNAP_NODE_ABI: String(node.abi) };
  if (node.include) env.HEAPSNAP_NODE_INCLUDE = node.include;
  const args = [zig ? 'zigbuild' : 'build', '--lib', ...kinds.flatMap((kind) => ['-p', CRATES[kind]])];
  if (profile === 'release') args.push('--release');
  if (target && zig) {
    const triple = target.replace(/-/g, '_');
    args.push('--target', target.endsWith('-linux-gnu') ? `${target}.${GLIBC_BASELINE}` : target);
    env[`CXX_${triple}`] = env[`CXX_${triple}`] || SHIM_CXX[target] || 'g++';
    env[`CXXSTDLIB_${triple}`] = '';
    // A musl cdylib must link musl dynamically (Rust's musl targets default to a static C runtime).
    if (target.endsWith('-musl')) env[`CARGO_TARGET_${triple.toUpperCase()}_RUSTFLAGS`] = '-C target-feature=-crt-static';
  } else if (target) {
    args.push('--target', target);
  }
  const dir = targetDir || (process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target'));
  run('cargo', args, { env: { ...env, CARGO_TARGET_DIR: dir } });

  fs.mkdirSync(outDir, { recursive: true });
  return kinds.map((kind) => {
    const built = path.join(dir, ...(target ? [target] : []), profile, libraryFile(CRATES[kind], target || process.platform));
    const installed = path.join(outDir, addonFileName(kind, platform, node.abi));
    // Copy to a temp name and rename: a process loading the addon never sees half a file.
    const tmp = `${installed}.${process.pid}.tmp`;
    fs.copyFileSync(built, tmp);
    fs.renameSync(tmp, installed);
    return installed;
  });
}

/**
 * The newest modification time among the files below `entries` (relative to the checkout)
 * whose names match `pattern`, skipping fuzz/ and target/: whether a build is still fresh.
 */
function newestMtime(entries, pattern) {
  let newest = 0;
  const visit = (entry) => {
    const stat = fs.statSync(entry, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(entry)) if (name !== 'fuzz' && name !== 'target') visit(path.join(entry, name));
    } else if (pattern.test(entry)) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const entry of entries) visit(path.join(ROOT, entry));
  return newest;
}

module.exports = { buildAddons, platformOf, targetOf, SHIM_CXX, newestMtime };
