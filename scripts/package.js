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
//   dist/heapsnap-portable[-linux]-<version>.tgz     @heapsnap/portable, @heapsnap/portable-linux:
//                                                    the WebAssembly analyzer and its runtime
//                                                    (emnapi), for every machine no platform
//                                                    package serves (addons.js PORTABLE_PACKAGES).
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
const { ROOT, PREBUILDS, PORTABLE_PACKAGES, addonFileName, platformPackageName, prebuiltNodeAbis, prebuiltPlatforms } = require('../lib/loader/addons');

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

// The WebAssembly analyzer's runtime: dependencies of the portable packages only (lib/loader/wasm.js).
const WASM_RUNTIME = ['@emnapi/core', '@emnapi/runtime'];

/**
 * Stages one of heapsnap's own packages in `dir`: `files` copied from prebuilds/ (`hint` says
 * how to make them), a package.json with `fields` (os/cpu/libc, dependencies), a README.
 */
function stagePackage({ name, description, files, fields, hint }, main, dir) {
  const absent = files.filter((file) => !fs.existsSync(path.join(PREBUILDS, file)));
  if (absent.length) throw new Error(`heapsnap: prebuilds/ lacks ${absent.join(', ')}: ${hint}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const file of files) fs.copyFileSync(path.join(PREBUILDS, file), path.join(dir, file));
  const manifest = {
    name,
    version: main.version,
    description,
    license: main.license,
    ...(main.repository ? { repository: main.repository } : {}),
    ...fields,
    engines: main.engines,
    files,
  };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.writeFileSync(
    path.join(dir, 'README.md'),
    `# ${name}\n\n${description} of [heapsnap](https://www.npmjs.com/package/heapsnap). ` +
      "Install `heapsnap`, not this package: npm adds it where the machine needs it.\n",
  );
}

/** @heapsnap/<platform>: the writer per Node major and the analyzer. */
function platformPackage(platform, majors) {
  const abis = prebuiltNodeAbis();
  return {
    name: platformPackageName(platform),
    description: `The prebuilt native addons for ${platform} (the writer for Node ${majors.join(', ')}, the analyzer for every Node >= 18)`,
    files: [addonFileName('analyzer', platform), ...majors.map((major) => addonFileName('writer', platform, abis[major]))],
    fields: manifestFields(platform),
    hint: `run npm run prebuilds -- --platform ${platform}`,
  };
}

/** @heapsnap/portable[-linux]: the WebAssembly analyzer and emnapi, where no platform package serves. */
function portablePackage(name, main) {
  const versions = { ...main.devDependencies, ...main.dependencies };
  return {
    name,
    description: 'The WebAssembly analyzer (portable mode, wherever no native addon is prebuilt)',
    files: [WASM_FILE],
    fields: { ...PORTABLE_PACKAGES[name], dependencies: Object.fromEntries(WASM_RUNTIME.map((dep) => [dep, versions[dep]])) },
    hint: 'run npm run prebuilds (it builds the .wasm too)',
  };
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
  const packages = [
    ...Object.entries(platforms).map(([platform, majors]) => platformPackage(platform, majors)),
    ...Object.keys(PORTABLE_PACKAGES).map((name) => portablePackage(name, main)),
  ];
  manifest.optionalDependencies = Object.fromEntries(packages.map(({ name }) => [name, main.version]));
  fs.writeFileSync(path.join(mainDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const binaries = fs.readdirSync(mainDir, { recursive: true }).filter((file) => /\.(node|wasm)$/.test(String(file)));
  if (binaries.length) throw new Error(`heapsnap: the main package would carry ${binaries.join(', ')}: they belong in the platform and portable packages`);
  const misplaced = WASM_RUNTIME.filter((dep) => manifest.dependencies && manifest.dependencies[dep]);
  if (misplaced.length) throw new Error(`heapsnap: ${misplaced.join(', ')} belong to the portable packages, not to every user's install`);

  const rows = [];
  const tarballs = [pack(mainDir, out)];
  for (const spec of packages) {
    const dir = path.join(stage, spec.name.replace('/', '+'));
    stagePackage(spec, main, dir);
    tarballs.push(pack(dir, out));
  }
  fs.rmSync(stage, { recursive: true, force: true });

  const size = (file) => fs.statSync(file).size;
  const [mainTgz, ...platformTgzs] = tarballs;
  for (const t of tarballs) rows.push({ tarball: path.relative(ROOT, t.file), package: t.name, files: t.files, 'packed MiB': (size(t.file) / 1048576).toFixed(2), 'unpacked MiB': (t.unpacked / 1048576).toFixed(2) });
  console.table(rows);
  for (const t of platformTgzs) {
    const portable = PORTABLE_PACKAGES[t.name];
    const where = portable ? `${Object.entries(portable).map(([k, v]) => `${k} ${v.join(' ')}`).join(', ')}` : t.name.split('/')[1];
    const also = portable ? ` and from the registry ${WASM_RUNTIME.join(', ')}` : '';
    console.log(`one user on ${where} downloads ${((size(mainTgz.file) + size(t.file)) / 1048576).toFixed(2)} MiB (${path.basename(mainTgz.file)} + ${path.basename(t.file)}${also})`);
  }
}

try {
  main();
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
