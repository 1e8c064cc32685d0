#!/usr/bin/env node
'use strict';
// `npm run test:matrix`: heapsnap as users get it, on every platform and Node major it prebuilds for.
//
// 1. `npm run prebuilds`, then `npm run package`: the tarballs a release publishes (the main
//    package and one package per platform).
// 2. For each platform (linux-x64; linux-arm64 under qemu; linux-x64-musl and linux-arm64-musl
//    with the musl wheels' node, in a private mount namespace whose /usr/bin/ldd is musl's, as in
//    an Alpine container: scripts/emulation.js) and each major prebuilt there, a fresh project
//    and that platform's own official node:
//    - `npm install <main tarball>` (and again with --ignore-scripts) with failing stand-ins for
//      every compiler first on PATH: any call is recorded, and fails the run. npm itself runs on
//      that node (Node >= 20; on 18, npm 11 runs on this machine's node with that platform's
//      --os/--cpu/--libc) and picks the platform package by its os/cpu/libc fields; the
//      project's `overrides` point the platform packages at the local tarballs;
//    - what a user does first: a snapshot from code, a dump on SIGUSR2 while the JS thread is in
//      a `while (true)` loop, `npx heapsnap summary`;
//    - the whole Node test suite (this checkout's __test__/ and examples/, with its dev
//      dependencies linked in) against the installed package (linux-x64: every major by
//      default; emulated platforms: with --full, too slow for CI);
//    - the prebuilt writer removed from the installed platform package: the analyzer and the
//      CLI still work, and the portable writer (Node's inspector) writes, `info.mode === 'portable'`;
//    - (linux-x64, the --as-darwin majors, default 20, and the major with no prebuilt) what a
//      macOS user gets: `npm install --os=darwin --cpu=arm64`, so npm picks
//      @heapsnap/portable and no platform package (no .node file at all): the portable writer's
//      files load in DevTools' own model, gc() without --expose-gc, leakCheck under node:test,
//      `background` refused with a code, and summary/diff/leaks --json on the WebAssembly
//      analyzer byte-identical to the native analyzer's.
// 3. A major with no prebuilt (25, linux-x64): the install succeeds with no Rust on PATH and
//    says what is missing; require() is silent; the analyzer and the portable writer work; then
//    `npm rebuild heapsnap` with cargo builds the native writer.
//
//   node scripts/test-matrix.js [--platform linux-x64,linux-arm64,linux-x64-musl,linux-arm64-musl]
//     [--node 18,26] [--bare 25|none] [--no-prebuilds] [--no-suite] [--suite-on 18,22,26]
//     [--full linux-arm64,...|all]   (the whole suite on emulated platforms too)
//     [--as-darwin 20,22|none]       (the linux-x64 majors also installed as macOS would)
//
// Ends with one line "matrix: N passed, N failed" (N counts tests and checks) and exits 1 on
// any failure. Logs are in $TMPDIR/heapsnap-matrix/.

const { spawn, spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const { ROOT, PORTABLE_PACKAGES, addonFileName, platformPackageName, prebuiltPlatforms } = require('../lib/loader/addons');
const { fetchNode } = require('./node-dist');
const emulation = require('./emulation');

// Outside the checkout, so that test runners crawling it (jest) never see the copies made here.
const WORK = path.join(os.tmpdir(), 'heapsnap-matrix');
const COMPILERS = ['cargo', 'rustc', 'cc', 'gcc', 'g++', 'c++', 'clang', 'clang++', 'make', 'zig', 'node-gyp'];

const npmCli = process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath)
  ? process.env.npm_execpath
  : fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
const npxCli = path.join(path.dirname(npmCli), 'npx-cli.js');

const results = [];
let passed = 0;
let failed = 0;

function check(label, fn) {
  try {
    const detail = fn();
    passed++;
    console.log(`  ok   ${label}${detail ? `: ${detail}` : ''}`);
  } catch (err) {
    failed++;
    console.log(`  FAIL ${label}: ${err.message}`);
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** A folder of stand-ins for compilers: each records its call and fails. */
function compilerStandIns(dir) {
  const bin = path.join(dir, 'no-compilers');
  const log = path.join(dir, 'compiler-calls.log');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(log, '');
  for (const name of COMPILERS) {
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> '${log}'\necho "${name}: not available on this machine (heapsnap test matrix)" >&2\nexit 127\n`, { mode: 0o755 });
  }
  return { bin, calls: () => fs.readFileSync(log, 'utf8').trim() };
}

/** PATH with `first` folders, then the system's, minus Rust's own (cargo, rustup). */
function pathWith(...first) {
  const system = (process.env.PATH || '').split(path.delimiter).filter((dir) => dir && !/[/\\]\.cargo[/\\]bin$/.test(dir));
  return [...first, ...system].join(path.delimiter);
}

function run(command, args, { cwd, env, timeout = 600_000, log, platform = 'linux-x64' }) {
  const started = Date.now();
  const [cmd, argv] = emulation.wrap(platform, command, args);
  const child = spawnSync(cmd, argv, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 512 << 20 });
  const seconds = (Date.now() - started) / 1000;
  if (log) fs.appendFileSync(log, `$ ${command} ${args.join(' ')}\n${child.stdout}${child.stderr}\n(exit ${child.status}, ${seconds.toFixed(1)} s)\n\n`);
  return { ...child, seconds };
}

/** An empty project whose `overrides` resolve heapsnap's platform and portable packages to the local tarballs (they are not published). */
function freshProject(name, tarballs) {
  const dir = path.join(WORK, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const overrides = Object.fromEntries([
    ...Object.entries(tarballs.platforms).map(([platform, file]) => [platformPackageName(platform), `file:${file}`]),
    ...Object.entries(tarballs.portable).map(([name_, file]) => [name_, `file:${file}`]),
  ]);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `matrix-${name}`, version: '1.0.0', private: true, overrides }, null, 2));
  return dir;
}

// npm 11 runs on Node ^20.17 || >= 22.9.
function npmRunsOn(node) {
  const [major, minor] = node.version.slice(1).split('.').map(Number);
  return major >= 22 || (major === 20 && minor >= 17);
}

function npmInstall(project, tarballs, node, env, log, extraArgs = [], { as } = {}) {
  // npm runs on the node under test where npm 11 can (it then picks the platform package as a
  // user's npm would), else on this node told that platform's os/cpu/libc; install scripts run
  // on the `node` first on PATH: the node under test. `as` ('darwin-arm64') installs what
  // another platform's npm would choose.
  const [os_, cpu, libc] = (as || node.platform).split('-');
  const runner = npmRunsOn(node) ? node.execPath : process.execPath;
  const overrides = runner === process.execPath || as ? [`--os=${os_}`, `--cpu=${cpu}`, ...(os_ === 'linux' ? [`--libc=${libc === 'musl' ? 'musl' : 'glibc'}`] : [])] : [];
  return run(runner, [npmCli, 'install', '--no-audit', '--no-fund', ...overrides, ...extraArgs, tarballs.main], { cwd: project, env, log, platform: node.platform });
}

/** `npx heapsnap ...` in the project: npx on the node under test where npm 11 runs, the CLI on the `node` first on PATH (that one). */
function npx(project, node, env, args, log) {
  return run(npmRunsOn(node) ? node.execPath : process.execPath, [npxCli, '--no-install', 'heapsnap', ...args], { cwd: project, env, log, platform: node.platform });
}

/** Runs `code` with the major's node in the project, as a user's script would. */
function nodeIn(project, node, env, code, log, args = []) {
  return run(node.execPath, [...args, '-e', code], { cwd: project, env, timeout: 300_000, log, platform: node.platform });
}

function parseSnapshotHeader(file) {
  const text = fs.readFileSync(file, 'utf8');
  const snapshot = JSON.parse(text);
  return snapshot.snapshot.node_count;
}

/** The first thing a user does: snapshot from code, SIGUSR2, npx heapsnap summary. */
async function userChecks(project, node, env, log) {
  check('writeSnapshot() writes a complete snapshot', () => {
    const r = nodeIn(project, node, env, "console.log(require('heapsnap').writeSnapshot('api.heapsnapshot'))", log);
    assert(r.status === 0 && r.stdout.trim() === 'true', `exit ${r.status}: ${r.stdout}${r.stderr}`);
    const nodes = parseSnapshotHeader(path.join(project, 'api.heapsnapshot'));
    assert(nodes > 1000, `only ${nodes} nodes`);
    return `${nodes} nodes`;
  });

  const dumped = await signalDump(project, node, env, log);
  check('kill -USR2 dumps a complete snapshot while JS spins in while (true)', () => {
    if (dumped instanceof Error) throw dumped;
    return `${dumped.nodes} nodes in ${dumped.ms} ms`;
  });

  check('npx heapsnap summary reads it', () => {
    const r = npx(project, node, env, ['summary', 'api.heapsnapshot', '--json', '--top', '3'], log);
    assert(r.status === 0, `exit ${r.status}: ${r.stderr}`);
    const summary = JSON.parse(r.stdout);
    assert(summary.nodeCount > 1000 && summary.constructors.length === 3, r.stdout.slice(0, 200));
    return `${summary.nodeCount} nodes, top: ${summary.constructors[0].name}`;
  });
}

/** Starts a process that loaded heapsnap and then spins in `while (true)`, sends SIGUSR2, waits for the renamed file. */
function signalDump(project, node, env, log) {
  return new Promise((resolve) => {
    const [command, args] = emulation.wrap(node.platform, node.execPath, ['-e', "require('heapsnap'); console.log('ready'); while (true) {}"]);
    const child = spawn(command, args, { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const finish = (result) => {
      clearInterval(poll);
      clearTimeout(timer);
      child.kill('SIGKILL');
      fs.appendFileSync(log, `signal dump: ${output}\n`);
      resolve(result);
    };
    let sentAt = 0;
    const poll = setInterval(() => {
      if (!sentAt) return;
      const file = fs.readdirSync(project).find((name) => /^heapdump-\d+\.\d+\.heapsnapshot$/.test(name));
      if (file) finish({ nodes: parseSnapshotHeader(path.join(project, file)), ms: Date.now() - sentAt });
    }, 50);
    const timer = setTimeout(() => finish(new Error(`no snapshot 120 s after SIGUSR2: ${output}`)), 120_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (!sentAt && output.includes('ready')) {
        sentAt = Date.now();
        child.kill('SIGUSR2');
      }
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code, signal) => {
      if (sentAt && (code !== null || signal !== 'SIGKILL')) finish(new Error(`the process died (${code ?? signal}): ${output}`));
    });
  });
}

/**
 * This checkout's tests and examples in the project, its dev dependencies linked in, and
 * @heapsnap/portable unpacked beside the platform package (npm installs it on no Linux x64 or
 * arm64 machine; wasm.test.js compares the WebAssembly analyzer with the native one).
 */
function addTestSuite(project, tarballs) {
  const portable = path.join(project, 'node_modules', '@heapsnap', 'portable');
  if (!fs.existsSync(portable)) {
    fs.mkdirSync(portable, { recursive: true });
    execFileSync('tar', ['xzf', tarballs.portable['@heapsnap/portable'], '-C', portable, '--strip-components=1']);
  }
  for (const dir of ['__test__', 'examples']) fs.cpSync(path.join(ROOT, dir), path.join(project, dir), { recursive: true });
  // The checkout's snapshot fixture that wasm.test.js compares both analyzers on.
  const fixture = path.join('crates', 'heapsnap-core', 'tests', 'fixtures', 'node20-pruned.heapsnapshot.gz');
  fs.mkdirSync(path.dirname(path.join(project, fixture)), { recursive: true });
  fs.copyFileSync(path.join(ROOT, fixture), path.join(project, fixture));
  // The reference DevTools model some tests compare with (its bundle is cached in .cache/).
  fs.mkdirSync(path.join(project, 'scripts'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'scripts', 'devtools-model.js'), path.join(project, 'scripts', 'devtools-model.js'));
  // The S3 server the upload tests start (Garage, from /var/cache).
  fs.copyFileSync(path.join(ROOT, 'scripts', 's3-server.js'), path.join(project, 'scripts', 's3-server.js'));
  // The Node builds cached here serve the tests that dump targets of every major.
  if (!fs.existsSync(path.join(project, '.cache'))) fs.symlinkSync(path.join(ROOT, '.cache'), path.join(project, '.cache'));
  const modules = path.join(project, 'node_modules');
  for (const name of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
    if (name.startsWith('.') || fs.existsSync(path.join(modules, name))) continue;
    fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name));
  }
}

function runTestSuite(project, node, env, logFile) {
  const files = fs.readdirSync(path.join(project, '__test__')).filter((name) => name.endsWith('.test.js')).map((name) => path.join('__test__', name));
  const r = run(node.execPath, ['--test', '--test-reporter=tap', ...files], { cwd: project, env, timeout: 7_200_000, log: logFile, platform: node.platform });
  const count = (key) => Number((new RegExp(`^# ${key} (\\d+)$`, 'm').exec(r.stdout) || [])[1] || 0);
  return { status: r.status, seconds: r.seconds, pass: count('pass'), fail: count('fail'), skipped: count('skipped'), output: r.stdout };
}

/** Without the prebuilt writer: analysis works, writing says what is missing. */
function withoutWriter(project, node, env, log) {
  const installed = path.join(project, 'node_modules', platformPackageName(node.platform));
  const writer = path.join(installed, addonFileName('writer', node.platform, node.abi));
  const aside = `${writer}.removed`;
  fs.renameSync(writer, aside);
  try {
    check('prebuilt writer removed: readSnapshot and npx heapsnap summary still work', () => {
      const r = nodeIn(project, node, env, "console.log(require('heapsnap').readSnapshot('api.heapsnapshot').summary({ top: 1 }).nodeCount)", log);
      assert(r.status === 0 && Number(r.stdout) > 1000, `exit ${r.status}: ${r.stdout}${r.stderr}`);
      const cli = npx(project, node, env, ['summary', 'api.heapsnapshot', '--top', '1'], log);
      assert(cli.status === 0 && /nodes/.test(cli.stdout), `CLI exit ${cli.status}: ${cli.stderr}`);
    });
    check('prebuilt writer removed: the portable writer writes (info.mode portable)', () => expectPortableWriter(project, node, env, log));
  } finally {
    fs.renameSync(aside, writer);
  }
}

/**
 * What a macOS user gets (npm told --os=darwin --cpu=arm64 picks @heapsnap/portable and no
 * platform package): issue 20's checks on this major's node. `native` is a project of the same
 * major with the native analyzer, to compare the CLI's output with.
 */
function asMacOS(node, tarballs, native, env) {
  const name = `${label(node)}-as-darwin`;
  const project = freshProject(name, tarballs);
  const log = path.join(WORK, `${name}.log`);
  fs.writeFileSync(log, '');
  const standIns = compilerStandIns(path.join(WORK, `${name}-bin`));
  env = { ...env, PATH: pathWith(standIns.bin, path.dirname(node.execPath)), HEAPSNAP_OPTIONS: 'nosignal' };
  let installed = false;
  check('as macOS: npm install --os=darwin --cpu=arm64 takes @heapsnap/portable alone, no .node file, no build', () => {
    const r = npmInstall(project, tarballs, node, env, log, [], { as: 'darwin-arm64' });
    assert(r.status === 0, `exit ${r.status}: ${r.stderr.slice(-2000)}`);
    const scope = path.join(project, 'node_modules', '@heapsnap');
    const got = fs.existsSync(scope) ? fs.readdirSync(scope) : [];
    assert(got.join() === 'portable', `installed: ${got.join(', ') || 'none'}`);
    const addons = fs.readdirSync(path.join(project, 'node_modules'), { recursive: true }).filter((f) => String(f).endsWith('.node'));
    assert(addons.length === 0, `.node files: ${addons.join(', ')}`);
    // The install script asks `cargo --version` (a build from source where Rust is, as on a
    // real Mac); with no cargo it builds nothing.
    const calls = standIns.calls().split('\n').filter((call) => call && call !== 'cargo --version');
    assert(calls.length === 0, `compiler calls:\n${calls.join('\n')}`);
    installed = true;
    return `${r.seconds.toFixed(1)} s`;
  });
  if (!installed) return;

  check('as macOS: writeSnapshot and writeSnapshotAsync (gzip) write portably; DevTools\' own model loads both; gc() without --expose-gc; background refused with a code', () => {
    const code = `const heapsnap = require('heapsnap');
      class Leaky { constructor(i) { this.payload = 'x'.repeat(64) + i; } }
      const kept = [];
      (async () => {
        const caps = heapsnap.capabilities();
        const sync = heapsnap.writeSnapshot('a.heapsnapshot');
        for (let i = 0; i < 3000; i++) kept.push(new Leaky(i));
        const b = await heapsnap.writeSnapshotAsync({ path: 'b.heapsnapshot', gc: true });
        for (let i = 0; i < 3000; i++) kept.push(new Leaky(i));
        const c = await heapsnap.writeSnapshotAsync({ path: 'c.heapsnapshot.gz', gc: true, compress: 'gzip' });
        let target = {}; const ref = new WeakRef(target); target = null;
        await new Promise((r) => setImmediate(r));
        heapsnap.gc();
        const background = await heapsnap.writeSnapshotAsync({ background: true, path: 'bg.heapsnapshot' }).then(() => 'resolved', (err) => err.code);
        console.log(JSON.stringify({ writer: caps.writer.mode, analyzer: caps.analyzer.mode, sync, b: b.mode, c: c.mode, collected: ref.deref() === undefined, background }));
      })();`;
    const r = nodeIn(project, node, env, code, log);
    assert(r.status === 0 && r.stderr === '', `exit ${r.status}: ${r.stdout}${r.stderr}`);
    const got = JSON.parse(r.stdout);
    const want = { writer: 'portable', analyzer: 'portable', sync: true, b: 'portable', c: 'portable', collected: true, background: 'ERR_HEAPSNAP_UNSUPPORTED' };
    assert(JSON.stringify(got) === JSON.stringify(want), `got ${r.stdout}`);
    assert(!fs.existsSync(path.join(project, 'bg.heapsnapshot')), 'a background file was written');
    const counts = ['a.heapsnapshot', 'c.heapsnapshot.gz'].map((file) => {
      const m = run(process.execPath, [path.join(ROOT, 'scripts', 'devtools-model.js'), path.join(project, file)], { cwd: ROOT, env: process.env, log, timeout: 300_000 });
      assert(m.status === 0, `DevTools' model on ${file}: exit ${m.status}: ${m.stderr.slice(-500)}`);
      return JSON.parse(m.stdout).nodeCount;
    });
    assert(counts.every((n) => n > 1000), `DevTools' node counts ${counts}`);
    return `DevTools' model read ${counts.join(' and ')} nodes`;
  });

  check('as macOS: leakCheck under node:test finds a planted leak and passes its clean twin', () => {
    fs.writeFileSync(path.join(project, 'leak.test.js'), `const test = require('node:test');
      const assert = require('node:assert');
      const heapsnap = require('heapsnap');
      class PlantedLeak { constructor() { this.data = new Array(32).fill(1); } }
      const held = [];
      test('planted', async () => {
        const report = await heapsnap.leakCheck(() => { for (let i = 0; i < 200; i++) held.push(new PlantedLeak()); }, { iterations: 5 });
        assert.ok(report.leaks.some((l) => l.name === 'PlantedLeak'), JSON.stringify(report.leaks.map((l) => l.name)));
      });
      test('clean twin', async () => {
        await heapsnap.assertNoLeaks(() => { const local = []; for (let i = 0; i < 200; i++) local.push(new PlantedLeak()); }, { iterations: 5 });
      });`);
    const r = run(node.execPath, ['--test', '--test-reporter=tap', 'leak.test.js'], { cwd: project, env, log, timeout: 600_000 });
    const count = (key) => Number((new RegExp(`^# ${key} (\\d+)$`, 'm').exec(r.stdout) || [])[1]);
    assert(r.status === 0 && count('pass') === 2 && count('fail') === 0, `exit ${r.status}: ${r.stdout.slice(-1500)}`);
    return '2 passed';
  });

  const files = ['a.heapsnapshot', 'b.heapsnapshot', 'c.heapsnapshot.gz'].map((file) => path.join(project, file));
  for (const args of [['summary', files[0]], ['diff', files[0], files[1]], ['leaks', ...files]]) {
    check(`as macOS: npx heapsnap ${args[0]} --json on the WebAssembly analyzer equals the native analyzer's, with nothing on stderr`, () => {
      const portable = npx(project, node, env, [...args, '--json'], log);
      const reference = npx(native, node, env, [...args, '--json'], log);
      // `leaks` exits 1 when it found leaks (the planted Leaky instances are one).
      const expected = args[0] === 'leaks' ? 1 : 0;
      assert(portable.status === expected && reference.status === expected, `exit ${portable.status} / ${reference.status}: ${portable.stderr}${reference.stderr}`);
      assert(portable.stdout === reference.stdout, 'the outputs differ');
      assert(portable.stderr === '', `stderr: ${portable.stderr}`);
      const out = JSON.parse(portable.stdout);
      if (args[0] === 'leaks') assert(out.leaks.some((l) => l.name === 'Leaky'), `leaks: ${out.leaks.map((l) => l.name).join(', ')}`);
      return `${portable.stdout.length} bytes`;
    });
  }
}

/** No native writer: the portable one writes (gzip), and capabilities() says why, in one line. */
function expectPortableWriter(project, node, env, log) {
  const code = `const heapsnap = require('heapsnap');
    heapsnap.writeSnapshotAsync({ path: 'portable.heapsnapshot.gz' }).then(
      (info) => console.log(JSON.stringify({ mode: info.mode, path: info.path, capabilities: heapsnap.capabilities().writer })),
      (err) => { console.log(JSON.stringify({ code: err.code, message: err.message })); process.exit(1); });`;
  const r = nodeIn(project, node, { ...env, HEAPSNAP_OPTIONS: 'nosignal' }, code, log);
  assert(r.status === 0 && r.stderr === '', `exit ${r.status}: ${r.stdout}${r.stderr}`);
  const { mode, path: file, capabilities } = JSON.parse(r.stdout);
  assert(mode === 'portable' && capabilities.mode === 'portable', `mode ${mode}`);
  assert(/npm rebuild heapsnap/.test(capabilities.reason) && !capabilities.reason.includes('\n'), `reason: ${capabilities.reason}`);
  assert(fs.statSync(path.join(project, 'portable.heapsnapshot.gz')).size > 1000, `no file at ${file}`);
  fs.rmSync(path.join(project, 'portable.heapsnapshot.gz'));
  fs.rmSync(path.join(project, 'portable.heapsnapshot.gz.memory.json'), { force: true });
  return capabilities.reason;
}

/** `node18` on linux-x64 (the names of before), `linux-arm64-node18` elsewhere. */
function label(node) {
  return node.platform === 'linux-x64' ? `node${node.major}` : `${node.platform}-node${node.major}`;
}

async function testMajor(node, tarballs, { suite, ignoreScripts = true, asDarwin = false }) {
  const how = node.platform === 'linux-x64' ? '' : emulation.isArm64(node.platform) ? ', under qemu-aarch64' : '';
  console.log(`\n${node.platform}: Node ${node.version} (ABI ${node.abi})${how}${node.platform.endsWith('-musl') ? ', musl ldd on /usr/bin/ldd' : ''}`);
  const name = label(node);
  const project = freshProject(name, tarballs);
  const log = path.join(WORK, `${name}.log`);
  fs.writeFileSync(log, '');
  const standIns = compilerStandIns(path.join(WORK, `${name}-bin`));
  const env = { ...process.env, PATH: pathWith(standIns.bin, path.dirname(node.execPath)), HEAPSNAP_OPTIONS: '', ...emulation.envFor(node.platform) };
  delete env.npm_config_nodedir;
  const row = { platform: node.platform, node: node.version, install: '-', tests: '-' };
  results.push(row);

  let installed = false;
  check(`npm install <main tarball> with no compiler on PATH (npm on ${npmRunsOn(node) ? 'this' : 'the host\'s'} node)`, () => {
    const r = npmInstall(project, tarballs, node, env, log);
    assert(r.status === 0, `exit ${r.status}: ${r.stderr.slice(-2000)}`);
    row.install = `${r.seconds.toFixed(1)} s`;
    installed = true;
    return row.install;
  });
  check('no compiler was called', () => assert(standIns.calls() === '', `calls:\n${standIns.calls()}`));
  if (!installed) return;
  check(`npm installed ${platformPackageName(node.platform)} alone, and heapsnap loads its writer from there`, () => {
    const scope = path.join(project, 'node_modules', platformPackageName(node.platform).split('/')[0]);
    const platforms = fs.existsSync(scope) ? fs.readdirSync(scope) : [];
    assert(platforms.join() === node.platform.replace(/^.*\//, ''), `installed platform packages: ${platforms.join(', ') || 'none'}`);
    const probe = `const dir = require('path').join(require.resolve('heapsnap'), '..', 'lib', 'loader');
      const addons = require(dir + '/addons');
      const file = addons.addonCandidates('writer').find((f) => require('fs').existsSync(f));
      console.log(JSON.stringify({ platform: addons.currentPlatform(), arch: process.arch, file, abi: require(dir + '/native').writer().nativeBuildInfo().nodeModuleVersion }));`;
    const r = nodeIn(project, node, env, probe, log);
    assert(r.status === 0, `exit ${r.status}: ${r.stdout}${r.stderr}`);
    const got = JSON.parse(r.stdout);
    assert(got.platform === node.platform && String(got.abi) === node.abi, r.stdout);
    assert(got.file.includes(path.join('node_modules', platformPackageName(node.platform), addonFileName('writer', node.platform, node.abi))), `loaded ${got.file}`);
    return `${got.arch}, ${path.relative(project, got.file)}`;
  });

  if (ignoreScripts) check('installed with --ignore-scripts (as pnpm 10 and Bun do), it still writes a snapshot', () => {
    const bare = freshProject(`${name}-ignore-scripts`, tarballs);
    const r = npmInstall(bare, tarballs, node, env, log, ['--ignore-scripts']);
    assert(r.status === 0, `install exit ${r.status}: ${r.stderr.slice(-2000)}`);
    const w = nodeIn(bare, node, env, "console.log(require('heapsnap').writeSnapshot('x.heapsnapshot'))", log);
    assert(w.status === 0 && w.stdout.trim() === 'true', `exit ${w.status}: ${w.stdout}${w.stderr}`);
    return `${parseSnapshotHeader(path.join(bare, 'x.heapsnapshot'))} nodes`;
  });

  await userChecks(project, node, env, log);
  withoutWriter(project, node, env, log);
  if (asDarwin) asMacOS(node, tarballs, project, env);

  if (suite) runSuiteAndCount(project, tarballs, node, env, log, row, 'test suite');
  check('no compiler was called, all through', () => assert(standIns.calls() === '', `calls:\n${standIns.calls()}`));
}

/** A major with no prebuilt: install succeeds without Rust; analyzer works; rebuild with cargo. */
function testBareMajor(node, tarballs, snapshot, { suite }) {
  console.log(`\nNode ${node.version} (ABI ${node.abi}): no prebuilt writer`);
  const project = freshProject(`node${node.major}-bare`, tarballs);
  const log = path.join(WORK, `node${node.major}-bare.log`);
  fs.writeFileSync(log, '');
  const noRust = { ...process.env, PATH: pathWith(path.dirname(node.execPath)), HEAPSNAP_OPTIONS: '' };
  delete noRust.npm_config_nodedir;
  const row = { platform: node.platform, node: `${node.version} (no prebuilt)`, install: '-', tests: '-' };
  results.push(row);

  check('npm install <tarball> with no Rust succeeds and says what is missing', () => {
    // npm shows a successful install script's output only with --foreground-scripts.
    const r = npmInstall(project, tarballs, node, noRust, log, ['--foreground-scripts']);
    assert(r.status === 0, `exit ${r.status}: ${r.stderr.slice(-2000)}`);
    assert(/no writer addon .*portable writer.*npm rebuild heapsnap.* \[ERR_HEAPSNAP_NATIVE_MISSING\]/.test(r.stdout + r.stderr), `no explanation printed: ${r.stdout}${r.stderr}`);
    row.install = `${r.seconds.toFixed(1)} s`;
  });
  check("require('heapsnap') loads without a word, its SIGUSR2 handler the portable writer's", () => {
    const r = nodeIn(project, node, noRust, "const h = require('heapsnap'); console.log(h.capabilities().writer.mode, h.signalHandlerStatus().signal)", log);
    assert(r.status === 0 && r.stderr === '', `exit ${r.status}: ${r.stderr}`);
    assert(r.stdout.trim() === 'portable SIGUSR2', r.stdout);
  });
  fs.copyFileSync(snapshot, path.join(project, 'api.heapsnapshot'));
  check('readSnapshot and npx heapsnap summary work', () => {
    const r = nodeIn(project, node, noRust, "console.log(require('heapsnap').readSnapshot('api.heapsnapshot').summary({ top: 1 }).nodeCount)", log);
    assert(r.status === 0 && Number(r.stdout) > 1000, `exit ${r.status}: ${r.stdout}${r.stderr}`);
    const cli = npx(project, node, noRust, ['summary', 'api.heapsnapshot', '--json'], log);
    assert(cli.status === 0 && JSON.parse(cli.stdout).nodeCount > 1000, `CLI exit ${cli.status}: ${cli.stderr}`);
  });
  check('the portable writer writes (info.mode portable), and says how to get the native one', () => expectPortableWriter(project, node, noRust, log));
  asMacOS(node, tarballs, project, noRust);

  const withRust = { ...noRust, PATH: [path.dirname(node.execPath), process.env.PATH].join(path.delimiter), CARGO_TARGET_DIR: path.join(ROOT, 'target', 'matrix') };
  check('npm rebuild heapsnap with cargo builds the writer from source', () => {
    const r = run(process.execPath, [npmCli, 'rebuild', 'heapsnap', '--foreground-scripts'], { cwd: project, env: withRust, timeout: 1_200_000, log });
    assert(r.status === 0, `exit ${r.status}: ${r.stderr.slice(-2000)}`);
    const w = nodeIn(project, node, noRust, "console.log(require('heapsnap').writeSnapshot('built.heapsnapshot'))", log);
    assert(w.status === 0 && w.stdout.trim() === 'true', `exit ${w.status}: ${w.stdout}${w.stderr}`);
    row.tests = `writer built from source in ${r.seconds.toFixed(0)} s`;
    return `${row.tests}, snapshot of ${parseSnapshotHeader(path.join(project, 'built.heapsnapshot'))} nodes`;
  });
  if (suite && fs.existsSync(path.join(project, 'node_modules', 'heapsnap', 'native'))) {
    runSuiteAndCount(project, tarballs, node, noRust, log, row, 'test suite with the writer built from source');
  }
}

/** Runs the whole suite, adds its counts to the totals and the row, prints failures. */
function runSuiteAndCount(project, tarballs, node, env, log, row, label) {
  addTestSuite(project, tarballs);
  const s = runTestSuite(project, node, env, log);
  const counts = `${s.pass} passed, ${s.fail} failed, ${s.skipped} skipped (${s.seconds.toFixed(0)} s)`;
  row.tests = row.tests === '-' ? counts : `${row.tests}; ${counts}`;
  passed += s.pass;
  failed += s.fail;
  if (s.status !== 0 || s.fail > 0 || s.pass === 0) {
    if (s.fail === 0) failed++;
    console.log(`  FAIL ${label} (exit ${s.status}): ${counts}; log: ${log}`);
    for (const block of s.output.split(/^(?=# Subtest)/m).filter((b) => /^not ok/m.test(b))) console.log(block.slice(0, 3000));
  } else {
    console.log(`  ok   ${label}: ${counts}`);
  }
}

/** The tarballs `npm run package` makes, into WORK/dist: `{ main, platforms: { platform: file }, portable: { name: file } }`. */
function packageAll() {
  const out = path.join(WORK, 'dist');
  fs.rmSync(out, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [path.join(__dirname, 'package.js'), '--out', out], { cwd: ROOT, encoding: 'utf8' });
  process.stdout.write(r.stdout);
  if (r.status !== 0) throw new Error(`npm run package failed: ${r.stderr}`);
  const files = fs.readdirSync(out);
  const version = require('../package.json').version;
  const main = path.join(out, `heapsnap-${version}.tgz`);
  assert(fs.existsSync(main), `no ${main}`);
  const platforms = Object.fromEntries(Object.keys(prebuiltPlatforms()).map((platform) => {
    const file = files.find((name) => name === `heapsnap-${platform}-${version}.tgz`);
    assert(file, `no tarball for ${platform} in ${files.join(', ')}`);
    return [platform, path.join(out, file)];
  }));
  const portable = Object.fromEntries(Object.keys(PORTABLE_PACKAGES).map((name) => {
    const file = path.join(out, `${name.slice(1).replace('/', '-')}-${version}.tgz`);
    assert(fs.existsSync(file), `no ${file}`);
    return [name, file];
  }));
  return { main, platforms, portable };
}

async function main() {
  const { values } = parseArgs({
    options: {
      platform: { type: 'string' },
      node: { type: 'string' },
      bare: { type: 'string', default: '25' },
      'no-prebuilds': { type: 'boolean' },
      'no-suite': { type: 'boolean' },
      'suite-on': { type: 'string' },
      full: { type: 'string' },
      'as-darwin': { type: 'string', default: '20' },
    },
  });
  const all = prebuiltPlatforms();
  const platforms = values.platform ? values.platform.split(',').map((p) => p.trim()) : Object.keys(all);
  for (const platform of platforms) if (!all[platform]) throw new Error(`unknown platform ${platform} (package.json's heapsnap.prebuilds: ${Object.keys(all).join(', ')})`);
  const onlyMajors = values.node ? new Set(values.node.split(',').map((m) => m.trim())) : null;
  // Which majors also run the whole suite (linux-x64 default: all; emulated platforms: only with --full).
  const suiteOn = values['suite-on'] ? new Set(values['suite-on'].split(',').map((m) => m.trim())) : null;
  const full = new Set((values.full || '').split(',').map((p) => p.trim()).filter(Boolean));
  const wantsSuite = (platform, major) =>
    !values['no-suite'] && (platform === 'linux-x64' ? !suiteOn || suiteOn.has(String(major)) : full.has(platform) || full.has('all'));
  for (const platform of platforms) if (platform !== 'linux-x64') emulation.assertRunnable(platform);
  fs.mkdirSync(WORK, { recursive: true });
  const started = Date.now();

  if (!values['no-prebuilds']) {
    const r = spawnSync(process.execPath, [path.join(__dirname, 'prebuilds.js')], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm run prebuilds failed');
  }
  const tarballs = packageAll();

  let last;
  for (const platform of platforms) {
    const platformStarted = Date.now();
    let first = true;
    for (const major of all[platform].map(String)) {
      if (onlyMajors && !onlyMajors.has(major)) continue;
      const node = fetchNode(major, platform);
      // Under emulation an npm install takes 20-50 s: the --ignore-scripts install (the loader's
      // path, the same for every major) runs on the first major there, on every major natively.
      const emulated = emulation.isArm64(platform);
      const asDarwin = platform === 'linux-x64' && values['as-darwin'].split(',').map((m) => m.trim()).includes(major);
      await testMajor(node, tarballs, { suite: wantsSuite(platform, major), ignoreScripts: !emulated || first, asDarwin });
      first = false;
      if (platform === 'linux-x64') last = node;
    }
    console.log(`${platform}: ${((Date.now() - platformStarted) / 60000).toFixed(1)} min`);
  }
  const snapshot = last && path.join(WORK, label(last), 'api.heapsnapshot');
  if (values.bare !== 'none' && snapshot && fs.existsSync(snapshot)) testBareMajor(fetchNode(values.bare), tarballs, snapshot, { suite: wantsSuite('linux-x64', values.bare) });

  console.log('');
  console.table(results);
  console.log(`matrix took ${((Date.now() - started) / 60000).toFixed(1)} min on ${os.cpus().length} cores`);
  console.log(`matrix: ${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
}

main().catch((err) => {
  console.error(err.stack || err.message);
  console.log(`matrix: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
