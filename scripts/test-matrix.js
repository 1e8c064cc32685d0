#!/usr/bin/env node
'use strict';
// `npm run test:matrix`: heapsnap as users get it, on every Node major it prebuilds for.
//
// 1. `npm run prebuilds`, then `npm pack`: the tarball users would install.
// 2. For each major, a fresh project and that major's node (from the npm registry):
//    - `npm install <tarball>` (and again with --ignore-scripts) with failing stand-ins for
//      every compiler first on PATH: any call is recorded, and fails the run;
//    - what a user does first: a snapshot from code, a dump on SIGUSR2, `npx heapsnap summary`;
//    - the whole Node test suite (this checkout's __test__/ and examples/, with its dev
//      dependencies linked in) against the installed package;
//    - the prebuilt writer removed from the installed package: the analyzer and the CLI still
//      work, and the portable writer (Node's inspector) writes, `info.mode === 'portable'`.
// 3. A major with no prebuilt (25): the install succeeds with no Rust on PATH and says what is
//    missing; require() is silent; the analyzer and the portable writer work; then
//    `npm rebuild heapsnap` with cargo builds the native writer.
//
//   node scripts/test-matrix.js [--node 18,26] [--bare 25|none] [--no-prebuilds] [--no-suite] [--suite-on 18,22,26]
//
// Ends with one line "matrix: N passed, N failed" (N counts tests and checks) and exits 1 on
// any failure. Logs are in $TMPDIR/heapsnap-matrix/.

const { spawn, spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const { ROOT, PREBUILDS, addonFileName, prebuiltNodeAbis } = require('../lib/loader/addons');
const { fetchNode } = require('./node-dist');

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

function run(command, args, { cwd, env, timeout = 600_000, log }) {
  const started = Date.now();
  const child = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 512 << 20 });
  const seconds = (Date.now() - started) / 1000;
  if (log) fs.appendFileSync(log, `$ ${command} ${args.join(' ')}\n${child.stdout}${child.stderr}\n(exit ${child.status}, ${seconds.toFixed(1)} s)\n\n`);
  return { ...child, seconds };
}

function freshProject(name) {
  const dir = path.join(WORK, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `matrix-${name}`, version: '1.0.0', private: true }, null, 2));
  return dir;
}

function npmInstall(project, tarball, env, log, extraArgs = []) {
  // npm itself runs on this node (npm 11 needs Node >= 20.17); the install script runs on the
  // `node` first on PATH: the major under test.
  return run(process.execPath, [npmCli, 'install', '--no-audit', '--no-fund', ...extraArgs, tarball], { cwd: project, env, log });
}

/** Runs `code` with the major's node in the project, as a user's script would. */
function nodeIn(project, node, env, code, log, args = []) {
  return run(node.execPath, [...args, '-e', code], { cwd: project, env, timeout: 120_000, log });
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
  check('kill -USR2 dumps a complete snapshot', () => {
    if (dumped instanceof Error) throw dumped;
    return `${dumped.nodes} nodes in ${dumped.ms} ms`;
  });

  check('npx heapsnap summary reads it', () => {
    const r = run(process.execPath, [npxCli, '--no-install', 'heapsnap', 'summary', 'api.heapsnapshot', '--json', '--top', '3'], { cwd: project, env, log });
    assert(r.status === 0, `exit ${r.status}: ${r.stderr}`);
    const summary = JSON.parse(r.stdout);
    assert(summary.nodeCount > 1000 && summary.constructors.length === 3, r.stdout.slice(0, 200));
    return `${summary.nodeCount} nodes, top: ${summary.constructors[0].name}`;
  });
}

/** Starts a process that loaded heapsnap, sends SIGUSR2, waits for the renamed file. */
function signalDump(project, node, env, log) {
  return new Promise((resolve) => {
    const child = spawn(node.execPath, ['-e', "require('heapsnap'); console.log('ready'); setInterval(() => {}, 1000)"], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
    const timer = setTimeout(() => finish(new Error(`no snapshot 60 s after SIGUSR2: ${output}`)), 60_000);
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

/** This checkout's tests and examples in the project, its dev dependencies linked in. */
function addTestSuite(project) {
  for (const dir of ['__test__', 'examples']) fs.cpSync(path.join(ROOT, dir), path.join(project, dir), { recursive: true });
  // The reference DevTools model some tests compare with (its bundle is cached in .cache/).
  fs.mkdirSync(path.join(project, 'scripts'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'scripts', 'devtools-model.js'), path.join(project, 'scripts', 'devtools-model.js'));
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
  const r = run(node.execPath, ['--test', '--test-reporter=tap', ...files], { cwd: project, env, timeout: 1_800_000, log: logFile });
  const count = (key) => Number((new RegExp(`^# ${key} (\\d+)$`, 'm').exec(r.stdout) || [])[1] || 0);
  return { status: r.status, seconds: r.seconds, pass: count('pass'), fail: count('fail'), skipped: count('skipped'), output: r.stdout };
}

/** Without the prebuilt writer: analysis works, writing says what is missing. */
function withoutWriter(project, node, env, log) {
  const installed = path.join(project, 'node_modules', 'heapsnap');
  const writer = path.join(installed, 'prebuilds', addonFileName('writer', 'linux-x64', node.abi));
  const aside = `${writer}.removed`;
  fs.renameSync(writer, aside);
  try {
    check('prebuilt writer removed: readSnapshot and npx heapsnap summary still work', () => {
      const r = nodeIn(project, node, env, "console.log(require('heapsnap').readSnapshot('api.heapsnapshot').summary({ top: 1 }).nodeCount)", log);
      assert(r.status === 0 && Number(r.stdout) > 1000, `exit ${r.status}: ${r.stdout}${r.stderr}`);
      const cli = run(process.execPath, [npxCli, '--no-install', 'heapsnap', 'summary', 'api.heapsnapshot', '--top', '1'], { cwd: project, env, log });
      assert(cli.status === 0 && /nodes/.test(cli.stdout), `CLI exit ${cli.status}: ${cli.stderr}`);
    });
    check('prebuilt writer removed: the portable writer writes (info.mode portable)', () => expectPortableWriter(project, node, env, log));
  } finally {
    fs.renameSync(aside, writer);
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

async function testMajor(node, tarball, { suite }) {
  console.log(`\nNode ${node.version} (ABI ${node.abi})`);
  const project = freshProject(`node${node.major}`);
  const log = path.join(WORK, `node${node.major}.log`);
  fs.writeFileSync(log, '');
  const standIns = compilerStandIns(path.join(WORK, `node${node.major}-bin`));
  const env = { ...process.env, PATH: pathWith(standIns.bin, path.dirname(node.execPath)), HEAPSNAP_OPTIONS: '' };
  delete env.npm_config_nodedir;
  const row = { node: node.version, install: '-', tests: '-' };
  results.push(row);

  let installed = false;
  check('npm install <tarball> with no compiler on PATH', () => {
    const r = npmInstall(project, tarball, env, log);
    assert(r.status === 0, `exit ${r.status}: ${r.stderr.slice(-2000)}`);
    row.install = `${r.seconds.toFixed(1)} s`;
    installed = true;
    return row.install;
  });
  check('no compiler was called', () => assert(standIns.calls() === '', `calls:\n${standIns.calls()}`));
  if (!installed) return;
  check('the installed package loads its prebuilt writer', () => {
    const r = nodeIn(project, node, env, "const h = require.resolve('heapsnap'); console.log(require(require('path').join(h, '..', 'lib', 'loader', 'native')).writer().nativeBuildInfo().nodeModuleVersion)", log);
    assert(r.status === 0 && r.stdout.trim() === node.abi, `exit ${r.status}: ${r.stdout}${r.stderr}`);
  });

  check('installed with --ignore-scripts (as pnpm 10 and Bun do), it still writes a snapshot', () => {
    const bare = freshProject(`node${node.major}-ignore-scripts`);
    const r = npmInstall(bare, tarball, env, log, ['--ignore-scripts']);
    assert(r.status === 0, `install exit ${r.status}: ${r.stderr.slice(-2000)}`);
    const w = nodeIn(bare, node, env, "console.log(require('heapsnap').writeSnapshot('x.heapsnapshot'))", log);
    assert(w.status === 0 && w.stdout.trim() === 'true', `exit ${w.status}: ${w.stdout}${w.stderr}`);
    return `${parseSnapshotHeader(path.join(bare, 'x.heapsnapshot'))} nodes`;
  });

  await userChecks(project, node, env, log);
  withoutWriter(project, node, env, log);

  if (suite) runSuiteAndCount(project, node, env, log, row, 'test suite');
  check('no compiler was called, all through', () => assert(standIns.calls() === '', `calls:\n${standIns.calls()}`));
}

/** A major with no prebuilt: install succeeds without Rust; analyzer works; rebuild with cargo. */
function testBareMajor(node, tarball, snapshot, { suite }) {
  console.log(`\nNode ${node.version} (ABI ${node.abi}): no prebuilt writer`);
  const project = freshProject(`node${node.major}-bare`);
  const log = path.join(WORK, `node${node.major}-bare.log`);
  fs.writeFileSync(log, '');
  const noRust = { ...process.env, PATH: pathWith(path.dirname(node.execPath)), HEAPSNAP_OPTIONS: '' };
  delete noRust.npm_config_nodedir;
  const row = { node: `${node.version} (no prebuilt)`, install: '-', tests: '-' };
  results.push(row);

  check('npm install <tarball> with no Rust succeeds and says what is missing', () => {
    // npm shows a successful install script's output only with --foreground-scripts.
    const r = npmInstall(project, tarball, noRust, log, ['--foreground-scripts']);
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
    const cli = run(process.execPath, [npxCli, '--no-install', 'heapsnap', 'summary', 'api.heapsnapshot', '--json'], { cwd: project, env: noRust, log });
    assert(cli.status === 0 && JSON.parse(cli.stdout).nodeCount > 1000, `CLI exit ${cli.status}: ${cli.stderr}`);
  });
  check('the portable writer writes (info.mode portable), and says how to get the native one', () => expectPortableWriter(project, node, noRust, log));

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
    runSuiteAndCount(project, node, noRust, log, row, 'test suite with the writer built from source');
  }
}

/** Runs the whole suite, adds its counts to the totals and the row, prints failures. */
function runSuiteAndCount(project, node, env, log, row, label) {
  addTestSuite(project);
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

async function main() {
  const { values } = parseArgs({
    options: {
      node: { type: 'string' },
      bare: { type: 'string', default: '25' },
      'no-prebuilds': { type: 'boolean' },
      'no-suite': { type: 'boolean' },
      'suite-on': { type: 'string' },
    },
  });
  const majors = values.node ? values.node.split(',').map((m) => m.trim()) : Object.keys(prebuiltNodeAbis());
  // Which majors also run the whole suite (default: all); the others get the user checks only.
  const suiteOn = values['suite-on'] ? new Set(values['suite-on'].split(',').map((m) => m.trim())) : null;
  const wantsSuite = (major) => !values['no-suite'] && (!suiteOn || suiteOn.has(String(major)));
  fs.mkdirSync(WORK, { recursive: true });
  const started = Date.now();

  if (!values['no-prebuilds']) {
    const r = spawnSync(process.execPath, [path.join(__dirname, 'prebuilds.js')], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm run prebuilds failed');
  }
  for (const major of majors) {
    const file = path.join(PREBUILDS, addonFileName('writer', 'linux-x64', prebuiltNodeAbis()[major]));
    if (!fs.existsSync(file)) throw new Error(`no prebuilt ${path.relative(ROOT, file)}: run npm run prebuilds`);
  }
  const pack = JSON.parse(execFileSync(process.execPath, [npmCli, 'pack', '--json', '--pack-destination', WORK], { cwd: ROOT, encoding: 'utf8' }))[0];
  const tarball = path.join(WORK, pack.filename);
  console.log(`${pack.filename}: ${(fs.statSync(tarball).size / 1048576).toFixed(2)} MiB packed, ${(pack.unpackedSize / 1048576).toFixed(2)} MiB unpacked, ${pack.entryCount} files`);

  for (const major of majors) await testMajor(fetchNode(major), tarball, { suite: wantsSuite(major) });
  const snapshot = path.join(WORK, `node${majors[majors.length - 1]}`, 'api.heapsnapshot');
  if (values.bare !== 'none' && fs.existsSync(snapshot)) testBareMajor(fetchNode(values.bare), tarball, snapshot, { suite: wantsSuite(values.bare) });

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
