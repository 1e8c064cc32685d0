#!/usr/bin/env node
'use strict';
// `npm run package`: every tarball a release publishes, into dist/ (after `npm run prebuilds`).
//
//   dist/heapsnap-<version>.tgz                      the main package: JS, CLI, types, the sources
//                                                    for builds elsewhere; no addon. Its
//                                                    optionalDependencies name every platform
//                                                    package at the same version.
//   dist/heapsnap-<platform>-<version>.tgz           @heapsnap/<platform>: that platform's prebuilt
//                                                    writers (one per Node major) and analyzer,
//                                                    with os/cpu/libc fields, so npm installs only
//                                                    the one matching the machine (napi-rs's layout;
//                                                    npm's --os/--cpu/--libc override the choice).
//
// The loader (lib/loader/addons.js) finds the platform package at require(): no install script
// is involved. Prints each tarball's size and what one user downloads (main + one platform).
//
//   node scripts/package.js [--out dist]

const { WASM_FILE } = require('../lib/loader/wasm');
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');
const { ROOT, PREBUILDS, addonFileName, platformPackageName, prebuiltNodeAbis, prebuiltPlatforms } = require('../lib/loader/addons');

const npmCli = process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath) ? process.env.npm_execpath : null;

function npm(args, cwd) {
  const [command, prefix] = npmCli ? [process.execPath, [npmCli]] : ['npm', []];
  return execFileSync(command, [...prefix, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
}

function pack(dir, out) {
  const [info] = JSON.parse(npm(['pack', '--json', '--pack-destination', out], dir));
  return { file: path.join(out, info.filename), name: info.name, files: info.entryCount, unpacked: info.unpackedSize };
}

// npm's os/cpu/libc values of each platform.
function manifestFields(platform) {
  const [os, cpu, libc] = platform.split('-');
  return { os: [os], cpu: [cpu], ...(os === 'linux' ? { libc: [libc === 'musl' ? 'musl' : 'glibc'] } : {}) };
}

/** Stages @heapsnap/<platform> in `dir`: its addons from prebuilds/, a package.json, a README. */
function stagePlatform(platform, majors, main, dir) {
  const abis = prebuiltNodeAbis();
  const files = [addonFileName('analyzer', platform), ...majors.map((major) => addonFileName('writer', platform, abis[major]))];
  const absent = files.filter((file) => !fs.existsSync(path.join(PREBUILDS, file)));
  if (absent.length) throw new Error(`heapsnap: prebuilds/ lacks ${absent.join(', ')}: run npm run prebuilds -- --platform ${platform}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const file of files) fs.copyFileSync(path.join(PREBUILDS, file), path.join(dir, file));
  const name = platformPackageName(platform);
  const manifest = {
    name,
    version: main.version,
    description: `heapsnap's prebuilt native addons for ${platform}: the writer for Node ${majors.join(', ')} and the analyzer for every Node >= 18`,
    license: main.license,
    ...(main.repository ? { repository: main.repository } : {}),
    ...manifestFields(platform),
    engines: main.engines,
    files,
  };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.writeFileSync(
    path.join(dir, 'README.md'),
    `# ${name}\n\nThe prebuilt addons of [heapsnap](https://www.npmjs.com/package/heapsnap) for ${platform}. ` +
      "Install `heapsnap`, not this package: npm adds the one that matches the machine.\n",
  );
}

function main() {
  const { values } = parseArgs({ options: { out: { type: 'string', default: 'dist' } } });
  const out = path.resolve(ROOT, values.out);
  const stage = path.join(out, '.stage');
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  const main = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const platforms = prebuiltPlatforms();

  // The main package as `npm pack` makes it from the checkout, with the optional dependencies added.
  const raw = pack(ROOT, stage);
  const mainDir = path.join(stage, 'main');
  fs.mkdirSync(mainDir);
  execFileSync('tar', ['xzf', raw.file, '-C', mainDir, '--strip-components=1']);
  const manifest = JSON.parse(fs.readFileSync(path.join(mainDir, 'package.json'), 'utf8'));
  manifest.optionalDependencies = Object.fromEntries(Object.keys(platforms).map((platform) => [platformPackageName(platform), main.version]));
  fs.writeFileSync(path.join(mainDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const addons = fs.readdirSync(mainDir, { recursive: true }).filter((file) => String(file).endsWith('.node'));
  if (addons.length) throw new Error(`heapsnap: the main package would carry addons (${addons.join(', ')}): they belong in the platform packages`);
  // The WebAssembly analyzer is what macOS, Windows and FreeBSD users analyze with: never ship without it.
  if (!fs.existsSync(path.join(mainDir, 'prebuilds', WASM_FILE))) {
    throw new Error(`heapsnap: the main package lacks prebuilds/${WASM_FILE}: run npm run prebuilds first`);
  }

  const rows = [];
  const tarballs = [pack(mainDir, out)];
  for (const [platform, majors] of Object.entries(platforms)) {
    const dir = path.join(stage, platform);
    stagePlatform(platform, majors, main, dir);
    tarballs.push(pack(dir, out));
  }
  fs.rmSync(stage, { recursive: true, force: true });

  const size = (file) => fs.statSync(file).size;
  const [mainTgz, ...platformTgzs] = tarballs;
  for (const t of tarballs) rows.push({ tarball: path.relative(ROOT, t.file), package: t.name, files: t.files, 'packed MiB': (size(t.file) / 1048576).toFixed(2), 'unpacked MiB': (t.unpacked / 1048576).toFixed(2) });
  console.table(rows);
  for (const t of platformTgzs) {
    console.log(`one user on ${t.name.split('/')[1]} downloads ${((size(mainTgz.file) + size(t.file)) / 1048576).toFixed(2)} MiB (${path.basename(mainTgz.file)} + ${path.basename(t.file)})`);
  }
}

try {
  main();
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
