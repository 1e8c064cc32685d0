#!/usr/bin/env node
'use strict';
// Running the official Node builds of other Linux platforms on this x64 glibc machine, to prove
// the prebuilds there (scripts/prebuilds.js, scripts/test-matrix.js):
//
//   linux-arm64       user-mode emulation: Debian's qemu-user-static registered with binfmt_misc
//                     (so the arm64 node runs directly and can spawn itself), its libraries from
//                     Debian's libc6-arm64-cross, libstdc++6-arm64-cross, libatomic1-arm64-cross
//                     (QEMU_LD_PREFIX=/usr/aarch64-linux-gnu)
//   linux-*-musl      musl's dynamic loader (Debian trixie's musl 1.2.5: the wheels' libstdc++
//                     uses RELR relocations, which need musl >= 1.2.4) installed where Alpine has
//                     it (/lib/ld-musl-<arch>.so.1), and an Alpine-like library folder with
//                     libgcc_s.so.1 and libstdc++.so.6 (copied from the wheel, as Alpine's
//                     libgcc and libstdc++ packages provide them) named in /etc/ld-musl-<arch>.path.
//                     Each musl command runs in a private mount namespace whose /usr/bin/ldd is
//                     musl's (`unshare -m` + `mount --bind`), as inside an Alpine container: that
//                     is what npm and libc detectors read.
//
//   node scripts/emulation.js setup     as root, once per machine (after the apt installs in .ci/run)
//   node scripts/emulation.js check     says what is missing

const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const CACHE = process.env.HEAPSNAP_EMULATION_CACHE || '/var/cache/heapsnap';
const BINFMT = '/proc/sys/fs/binfmt_misc';
const ARM64_PREFIX = '/usr/aarch64-linux-gnu';
const MUSL = {
  'linux-x64-musl': { arch: 'x86_64', deb: 'amd64' },
  'linux-arm64-musl': { arch: 'aarch64', deb: 'arm64' },
};

function isArm64(platform) {
  return platform.startsWith('linux-arm64');
}

function muslLoader(platform) {
  return `/lib/ld-musl-${MUSL[platform].arch}.so.1`;
}

function muslLibDir(platform) {
  return path.join(CACHE, `musl-${MUSL[platform].arch}`, 'lib');
}

/** What this machine lacks to run `platform`'s official node; [] when it can. */
function missing(platform) {
  const lacks = [];
  if (isArm64(platform)) {
    const entry = path.join(BINFMT, 'qemu-aarch64');
    if (!fs.existsSync(entry) || !fs.readFileSync(entry, 'utf8').startsWith('enabled')) lacks.push('qemu-aarch64 registered with binfmt_misc');
    for (const lib of ['ld-linux-aarch64.so.1', 'libstdc++.so.6', 'libatomic.so.1']) {
      if (!fs.existsSync(path.join(ARM64_PREFIX, 'lib', lib))) lacks.push(`${ARM64_PREFIX}/lib/${lib}`);
    }
  }
  if (MUSL[platform]) {
    if (!fs.existsSync(muslLoader(platform))) lacks.push(`musl >= 1.2.4 at ${muslLoader(platform)}`);
    if (!fs.existsSync(path.join(muslLibDir(platform), 'libgcc_s.so.1'))) lacks.push(`libgcc_s.so.1 in ${muslLibDir(platform)}`);
    if (process.getuid && process.getuid() !== 0) lacks.push('root (musl commands run under unshare -m with musl\'s ldd bound over /usr/bin/ldd)');
  }
  return lacks;
}

/** Throws, saying what to run, unless `platform`'s node can run here. */
function assertRunnable(platform) {
  const lacks = missing(platform);
  if (lacks.length) {
    throw new Error(`heapsnap: cannot run ${platform} binaries here: missing ${lacks.join(', ')}. As root: apt-get install qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross libatomic1-arm64-cross, then node scripts/emulation.js setup`);
  }
}

/**
 * Environment additions for running `platform`'s node. arm64: the Neoverse N1 CPU model (AWS
 * Graviton2, Ampere Altra): qemu's default `max` CPU emulates pointer authentication slowly, and
 * Node 18's V8 on it took 30 s to start (1.3-2.3 s with N1, any major).
 */
function envFor(platform) {
  return isArm64(platform) ? { QEMU_LD_PREFIX: ARM64_PREFIX, QEMU_CPU: process.env.QEMU_CPU || 'neoverse-n1' } : {};
}

/**
 * [command, args] that run `command args` as on `platform`: for musl, in a private mount
 * namespace whose /usr/bin/ldd is musl's (an exec chain: the process keeps the pid, so signals
 * sent to the child reach node itself).
 */
function wrap(platform, command, args) {
  if (!MUSL[platform]) return [command, args];
  return ['unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /usr/bin/ldd && exec "$@"', muslLoader(platform), command, ...args]];
}

/** Registers qemu-aarch64 with binfmt_misc (Debian's own line), mounting binfmt_misc if needed. */
function registerQemu() {
  if (!fs.existsSync(path.join(BINFMT, 'register'))) execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT]);
  const entry = path.join(BINFMT, 'qemu-aarch64');
  if (fs.existsSync(entry)) {
    if (!fs.readFileSync(entry, 'utf8').startsWith('enabled')) fs.writeFileSync(entry, '1');
    return;
  }
  const conf = '/usr/lib/binfmt.d/qemu-aarch64.conf';
  if (!fs.existsSync(conf)) throw new Error(`heapsnap: no ${conf}: apt-get install qemu-user-static`);
  fs.writeFileSync(path.join(BINFMT, 'register'), fs.readFileSync(conf, 'utf8').trim());
}

/** Debian trixie's musl packages (amd64 and arm64) through apt, with a private source list and state. */
function fetchMuslDebs(dir) {
  const apt = path.join(dir, 'apt');
  for (const sub of ['parts', 'lists/partial', 'cache/archives/partial']) fs.mkdirSync(path.join(apt, sub), { recursive: true });
  fs.writeFileSync(
    path.join(apt, 'parts', 'trixie.sources'),
    'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nArchitectures: amd64 arm64\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n',
  );
  const options = [
    '-o', 'Dir::Etc::SourceList=/dev/null', '-o', `Dir::Etc::SourceParts=${apt}/parts`, '-o', `Dir::State::Lists=${apt}/lists`,
    '-o', `Dir::Cache=${apt}/cache`, '-o', 'APT::Architectures::=amd64', '-o', 'APT::Architectures::=arm64', '-o', 'APT::Sandbox::User=root', '-q',
  ];
  execFileSync('apt-get', [...options, 'update'], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('apt-get', [...options, 'download', 'musl:amd64', 'musl:arm64'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
}

function setupMusl() {
  const debs = path.join(CACHE, 'musl-debs');
  fs.mkdirSync(debs, { recursive: true });
  if (!fs.readdirSync(debs).some((name) => name.endsWith('.deb'))) fetchMuslDebs(debs);
  const { fetchNode } = require('./node-dist');
  for (const [platform, { arch, deb }] of Object.entries(MUSL)) {
    const file = fs.readdirSync(debs).find((name) => name.endsWith(`_${deb}.deb`));
    const tree = path.join(CACHE, `musl-${arch}`, 'deb');
    fs.rmSync(tree, { recursive: true, force: true });
    fs.mkdirSync(tree, { recursive: true });
    execFileSync('dpkg-deb', ['-x', path.join(debs, file), tree]);
    const loader = muslLoader(platform);
    fs.copyFileSync(path.join(tree, 'usr', 'lib', path.basename(loader)), `${loader}.tmp`);
    fs.chmodSync(`${loader}.tmp`, 0o755);
    fs.renameSync(`${loader}.tmp`, loader);
    // Alpine's libgcc and libstdc++ packages, from the newest wheel's bundled copies.
    const lib = muslLibDir(platform);
    fs.mkdirSync(lib, { recursive: true });
    const node = fetchNode(24, platform);
    for (const name of fs.readdirSync(node.libs)) {
      const soname = name.startsWith('libgcc_s') ? 'libgcc_s.so.1' : name.startsWith('libstdc++') ? 'libstdc++.so.6' : null;
      if (soname) fs.copyFileSync(path.join(node.libs, name), path.join(lib, soname));
    }
    fs.writeFileSync(`/etc/ld-musl-${arch}.path`, `${lib}\n/lib\n/usr/local/lib\n/usr/lib\n`);
    console.error(`heapsnap: ${loader} (${file}), libraries in ${lib}`);
  }
}

function main() {
  const command = process.argv[2];
  const platforms = ['linux-arm64', 'linux-x64-musl', 'linux-arm64-musl'];
  if (command === 'setup') {
    if (process.getuid && process.getuid() !== 0) throw new Error('heapsnap: emulation setup needs root (binfmt_misc, /lib, /etc)');
    registerQemu();
    setupMusl();
  } else if (command !== 'check') {
    throw new Error('usage: node scripts/emulation.js setup|check');
  }
  let ok = true;
  for (const platform of platforms) {
    const lacks = missing(platform);
    ok = ok && lacks.length === 0;
    console.log(`${platform}: ${lacks.length ? `missing ${lacks.join(', ')}` : 'ready'}`);
  }
  if (!ok) process.exitCode = 1;
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}

module.exports = { missing, assertRunnable, envFor, wrap, isArm64, MUSL };
