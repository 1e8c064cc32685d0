'use strict';
// The WebAssembly analyzer (issue 20's portable mode, analyzer half): the same Rust analyzer
// built for wasm32-wasip1-threads, loaded where no native analyzer does, or when
// HEAPSNAP_FORCE_PORTABLE=analyzer says so. Every answer must be the native analyzer's, byte
// for byte: each check runs the same command or API call twice, natively and forced portable,
// in fresh processes, and compares (and reads the output, so two equal failures don't pass).

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { spawnSync } = require('child_process');
const { PKG, ROOT, tmpDir, runNode } = require('./helpers');

const CLI = path.join(PKG, 'bin', 'heapsnap.js');
const LOADER = path.join(PKG, 'lib', 'loader', 'native.js');
const FIXTURE = path.join(ROOT, 'crates', 'heapsnap-core', 'tests', 'fixtures', 'node20-pruned.heapsnapshot.gz');
const NATIVE = { HEAPSNAP_FORCE_PORTABLE: '' };
const PORTABLE = { HEAPSNAP_FORCE_PORTABLE: 'analyzer' };

// A preload that says on stderr which analyzer the process used, so a portable run that
// quietly fell back to the native analyzer (or the reverse) fails the comparison.
const fixtures = tmpDir(null, 'heapsnap-wasm-');
process.on('exit', () => fs.rmSync(fixtures, { recursive: true, force: true }));
const REPORT_MODE = path.join(fixtures, 'report-mode.js');
fs.writeFileSync(
  REPORT_MODE,
  `process.on('exit', () => { const { analyzer } = require(${JSON.stringify(LOADER)});
  if (analyzer.isLoaded()) process.stderr.write('\\nanalyzer-mode=' + analyzer.mode() + '\\n'); });`,
);

function run(env, args, { cwd = fixtures } = {}) {
  const r = spawnSync(process.execPath, ['-r', REPORT_MODE, CLI, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal', ...env },
  });
  const mode = /analyzer-mode=(\w+)/.exec(r.stderr);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.replace(/\nanalyzer-mode=\w+\n$/, ''), mode: mode && mode[1] };
}

/** Runs the CLI natively and forced portable; asserts the same exit code and byte-identical output. */
function sameCli(args, { loads = true, ...options } = {}) {
  const native = run(NATIVE, args, options);
  const portable = run(PORTABLE, args, options);
  // `loads: false`: the CLI refuses before it needs an analyzer (a missing file).
  assert.strictEqual(native.mode, loads ? 'native' : null, `native run: ${native.stderr}`);
  assert.strictEqual(portable.mode, loads ? 'portable' : null, `portable run: ${portable.stderr}`);
  assert.strictEqual(portable.status, native.status, `exit code of ${args.join(' ')}: ${portable.stderr}`);
  assert.strictEqual(portable.stdout, native.stdout, `stdout of ${args.join(' ')}`);
  assert.strictEqual(portable.stderr, native.stderr, `stderr of ${args.join(' ')}`);
  return native;
}

/** Runs `code` (heapsnap in scope; it prints JSON) natively and forced portable; returns both parsed. */
function bothApis(code) {
  const wrapped = `const heapsnap = require(${JSON.stringify(PKG)});
const { analyzer } = require(${JSON.stringify(LOADER)});
const show = (value) => process.stdout.write(JSON.stringify({ mode: analyzer.mode(), value }));
(async () => { ${code} })().catch((err) => { console.error(err); process.exit(1); });`;
  const results = [NATIVE, PORTABLE].map((env) => {
    const r = runNode(wrapped, { env: { HEAPSNAP_OPTIONS: 'nosignal', ...env }, cwd: fixtures, timeout: 300_000 });
    assert.strictEqual(r.status, 0, `child failed: ${r.stderr}`);
    assert.strictEqual(r.stderr, '', 'nothing on stderr (no WASI ExperimentalWarning)');
    return JSON.parse(r.stdout);
  });
  assert.strictEqual(results[0].mode, 'native');
  assert.strictEqual(results[1].mode, 'portable');
  return { native: results[0].value, portable: results[1].value };
}

// Snapshots written here: three of a process whose cache keeps growing (A, B, C), one of each
// compression, and a sampling heap profile.
const r = runNode(
  `const heapsnap = require(${JSON.stringify(PKG)}); const path = require('path');
const file = (name) => path.join(${JSON.stringify(fixtures)}, name);
class SessionRecord { constructor(i) { this.i = i; this.payload = new Array(16).fill(i); this.name = 'session-' + i; } }
globalThis.cache = new Map();
const grow = (from) => { for (let i = from; i < from + 300; i++) cache.set('k' + i, new SessionRecord(i)); };
heapsnap.startSamplingHeapProfiler();
function allocateForTheProfile() { const kept = []; for (let i = 0; i < 20000; i++) kept.push(new Array(64).fill(i)); return kept; }
globalThis.profiled = allocateForTheProfile();
heapsnap.writeSnapshot(file('a.heapsnapshot'), { gc: true });
grow(0);
heapsnap.writeSnapshot(file('b.heapsnapshot.gz'), { gc: true });
grow(300);
heapsnap.writeSnapshot(file('c.heapsnapshot.zst'), { gc: true });
heapsnap.stopSamplingHeapProfiler({ path: file('p.heapprofile') }).then(() => {}, (err) => { console.error(err); process.exit(1); });`,
  { env: { HEAPSNAP_OPTIONS: 'nosignal' }, timeout: 300_000 },
);
if (r.status !== 0) throw new Error(`writing the fixtures failed: ${r.stderr}`);
const [A, B, C] = ['a.heapsnapshot', 'b.heapsnapshot.gz', 'c.heapsnapshot.zst'].map((name) => path.join(fixtures, name));
const PROFILE = path.join(fixtures, 'p.heapprofile');

test('the WebAssembly analyzer is what HEAPSNAP_FORCE_PORTABLE=analyzer loads, and it is quiet', () => {
  const code = `const { analyzer, portableForced } = require(${JSON.stringify(LOADER)});
const { capabilities } = require(${JSON.stringify(path.join(path.dirname(LOADER), 'capabilities'))});
console.log(JSON.stringify({ forced: portableForced('analyzer'), mode: analyzer.mode(), exports: Object.keys(analyzer()).sort(), capabilities: capabilities().analyzer }));`;
  const portable = runNode(code, { env: { HEAPSNAP_FORCE_PORTABLE: 'writer, Analyzer' } });
  assert.strictEqual(portable.status, 0, portable.stderr);
  assert.strictEqual(portable.stderr, '', 'no warning of any kind (Node 18-22 warn that WASI is experimental)');
  const p = JSON.parse(portable.stdout);
  assert.deepStrictEqual([p.forced, p.mode], [true, 'portable']);
  assert.deepStrictEqual(p.capabilities, { mode: 'portable', forced: true, reason: 'HEAPSNAP_FORCE_PORTABLE=analyzer' });
  const native = JSON.parse(runNode(code, { env: NATIVE }).stdout);
  assert.deepStrictEqual([native.forced, native.mode], [false, 'native']);
  assert.deepStrictEqual(native.capabilities, { mode: 'native', forced: false, reason: null });
  // Same API, plus the one call the loader uses to keep WASI's working directory the host's.
  assert.deepStrictEqual(p.exports.filter((name) => name !== 'wasiSetCwd'), native.exports);
});

test('summary --json and summary: byte-identical on every compression and on the pruned fixture', () => {
  for (const file of [A, B, C, FIXTURE]) {
    const out = sameCli(['summary', '--json', file]);
    const summary = JSON.parse(out.stdout);
    assert.ok(summary.nodeCount > 1000 && summary.constructors.length > 10, file);
    sameCli(['summary', '--top', '15', file]);
  }
  const c = JSON.parse(run(PORTABLE, ['summary', '--json', C]).stdout);
  const row = c.constructors.find((x) => x.name === 'SessionRecord');
  assert.strictEqual(row && row.count, 600, 'C holds the 600 SessionRecords it made');
});

test('diff --json and leaks --json: byte-identical, and they find the growth', () => {
  const diff = JSON.parse(sameCli(['diff', '--json', A, C]).stdout);
  const grew = diff.constructors.find((x) => x.name === 'SessionRecord');
  assert.strictEqual(grew && grew.countDelta, 600);
  const leaks = sameCli(['leaks', '--json', A, B, C]);
  assert.strictEqual(leaks.status, 1, 'exit code 1: leaks found');
  const names = JSON.parse(leaks.stdout).leaks.map((l) => l.name);
  assert.ok(names.includes('SessionRecord'), names.join(', '));
  sameCli(['leaks', A, B, C]);
  sameCli(['diff', A, B]);
});

test('retainers and top on a .heapprofile: byte-identical', () => {
  sameCli(['retainers', C, '--name', 'SessionRecord']);
  const top = JSON.parse(sameCli(['top', '--json', PROFILE]).stdout);
  assert.ok(top.sites.some((site) => site.functionName === 'allocateForTheProfile'), JSON.stringify(top.sites.slice(0, 5)));
  sameCli(['top', PROFILE]);
});

test('relative paths mean the same to the WebAssembly analyzer (WASI has its own cwd)', () => {
  const out = sameCli(['summary', '--json', '--top', '3', path.basename(A)], { cwd: fixtures });
  assert.strictEqual(JSON.parse(out.stdout).constructors.length, 3);
  const { native, portable } = bothApis(`process.chdir(${JSON.stringify(fixtures)});
const first = heapsnap.readSnapshot('a.heapsnapshot').nodeCount;
process.chdir('/');
let err;
try { heapsnap.readSnapshot('a.heapsnapshot'); } catch (e) { err = { code: e.code, message: e.message }; }
show({ first, err });`);
  assert.deepStrictEqual(portable, native);
  assert.strictEqual(portable.err.code, 'ENOENT', 'after chdir the relative name is looked up in the new cwd');
});

test('errors keep their codes, offsets and messages: ENOENT, EISDIR, a truncated and a garbage file', () => {
  const truncated = path.join(fixtures, 'truncated.heapsnapshot');
  const bytes = fs.readFileSync(A);
  fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const garbage = path.join(fixtures, 'garbage.heapsnapshot.gz');
  fs.writeFileSync(garbage, Buffer.concat([zlib.gzipSync(bytes).subarray(0, 2000), Buffer.alloc(100, 7)]));
  const files = [path.join(fixtures, 'missing.heapsnapshot'), fixtures, truncated, garbage];
  const { native, portable } = bothApis(`const out = [];
for (const file of ${JSON.stringify(files)}) {
  for (const read of [(f) => heapsnap.readSnapshot(f), (f) => heapsnap.readSnapshotAsync(f)]) {
    try { await read(file); out.push('no error'); } catch (e) { out.push({ code: e.code, offset: e.offset, message: e.message }); }
  }
}
show(out);`);
  assert.deepStrictEqual(portable, native);
  assert.deepStrictEqual(portable.map((e) => e.code), ['ENOENT', 'ENOENT', 'EISDIR', 'EISDIR', 'ERR_HEAPSNAP_CORRUPT_SNAPSHOT', 'ERR_HEAPSNAP_CORRUPT_SNAPSHOT', 'ERR_HEAPSNAP_CORRUPT_SNAPSHOT', 'ERR_HEAPSNAP_CORRUPT_SNAPSHOT']);
  assert.ok(portable[4].offset > 0 && portable[4].message.includes(truncated), portable[4].message);
  sameCli(['summary', files[0]], { loads: false });
  for (const args of [['summary', truncated], ['leaks', A, B, garbage], ['summary', '--json', garbage]]) {
    assert.notStrictEqual(sameCli(args).status, 0, args.join(' '));
  }
});

test('the JS API answers the same: summary, diff, leaks, retainers, dominators, async reads', () => {
  const { native, portable } = bothApis(`const [a, b, c] = [heapsnap.readSnapshot(${JSON.stringify(A)}), await heapsnap.readSnapshotAsync(${JSON.stringify(B)}), heapsnap.readSnapshot(${JSON.stringify(C)})];
const summary = c.summary();
const record = c.retainers ? summary.constructors.find((x) => x.name === 'SessionRecord') : null;
const diff = a.diff(c);
const leaks = heapsnap.leaks(a, b, c);
const id = leaks.length ? leaks[0].representativeId : null;
show({ summary, diff, leaks, record, retainers: id === null ? null : c.retainers(id), dominators: id === null ? null : c.dominators(id), counts: [a.nodeCount, b.edgeCount] });`);
  assert.deepStrictEqual(portable, native);
  assert.ok(portable.leaks.length > 0 && portable.retainers.length > 0 && portable.dominators.length > 1);
});

/**
 * Writes `chunks` (strings, or `{ file }`: that file's bytes in 1 MiB chunks) through the
 * analyzer's NativeFileSink in a child; returns what it reported.
 */
function sinkRun(env, options, chunks, { finish = true } = {}) {
  const code = `const { analyzer } = require(${JSON.stringify(LOADER)});
(async () => {
  let sink;
  try { sink = analyzer().NativeFileSink.create(${JSON.stringify(options)}); } catch (e) { return console.log(JSON.stringify({ mode: analyzer.mode(), error: { code: e.code, message: e.message } })); }
  const chunks = ${JSON.stringify(chunks)};
  for (const chunk of chunks) {
    if (typeof chunk === 'string') { sink.write(Buffer.from(chunk)); continue; }
    const bytes = require('fs').readFileSync(chunk.file);
    for (let at = 0; at < bytes.length; at += 1 << 20) sink.write(bytes.subarray(at, at + (1 << 20)));
  }
  if (!${finish}) { sink.abort(); return console.log(JSON.stringify({ mode: analyzer.mode(), aborted: true })); }
  const stats = await sink.finish();
  console.log(JSON.stringify({ mode: analyzer.mode(), stats }));
})().catch((e) => { console.error(e); process.exit(1); });`;
  const r = runNode(code, { env: { HEAPSNAP_OPTIONS: 'nosignal', ...env } });
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('the file sink in WebAssembly: a 0600 file, complete or absent, plain, gzip and zstd', (t) => {
  const dir = tmpDir(t);
  const text = fs.readFileSync(A, 'utf8');
  const chunks = [{ file: A }];
  for (const [name, decode] of [
    ['s.heapsnapshot', (b) => b],
    ['s.heapsnapshot.gz', (b) => zlib.gunzipSync(b)],
    ['s.heapsnapshot.zst', (b) => Buffer.from(require('fzstd').decompress(b))],
  ]) {
    const target = path.join(dir, name);
    const out = sinkRun(PORTABLE, { path: target }, chunks);
    assert.strictEqual(out.mode, 'portable');
    assert.strictEqual(out.stats.path, target);
    assert.strictEqual(out.stats.rawBytes, Buffer.byteLength(text));
    assert.strictEqual(out.stats.bytes, fs.statSync(target).size);
    assert.strictEqual(fs.statSync(target).mode & 0o777, 0o600, `${name} is 0600`);
    assert.ok(decode(fs.readFileSync(target)).equals(Buffer.from(text)), `${name} holds the bytes written`);
    assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.heapsnap-tmp')), [], 'no temp file left');
  }
  // The written files read back (through the portable analyzer too) as the original does (less
  // the memory record heapsnap's writer left beside the original).
  const summary = (env, file) => {
    const out = JSON.parse(run(env, ['summary', '--json', file]).stdout);
    delete out.memory;
    return out;
  };
  assert.deepStrictEqual(summary(PORTABLE, path.join(dir, 's.heapsnapshot.zst')), summary(NATIVE, A));

  // Aborted: nothing at the target, no temp; an existing target is left as it was.
  const kept = path.join(dir, 'kept.heapsnapshot');
  fs.writeFileSync(kept, 'old');
  assert.deepStrictEqual(sinkRun(PORTABLE, { path: kept }, ['{"partial":'], { finish: false }).aborted, true);
  assert.strictEqual(fs.readFileSync(kept, 'utf8'), 'old');
  assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.')), []);

  // Errors: the native sink's codes and messages.
  for (const bad of [{ path: path.join(dir, 'no', 'such', 'dir.heapsnapshot') }, { path: dir }, { path: path.join(dir, 'x.heapsnapshot'), compress: 'lz4' }]) {
    const native = sinkRun(NATIVE, bad, []);
    const portable = sinkRun(PORTABLE, bad, []);
    assert.ok(native.error && native.error.code, JSON.stringify(native));
    assert.deepStrictEqual(portable.error, native.error);
  }
});

test("the file sink in WebAssembly needs no more memory for a larger file: 200 MB through 120 MiB, sync and async", (t) => {
  // Each chunk a Buffer of its own (its own ArrayBuffer), as the portable writer's chunks are;
  // byte values 0 to 199, ASCII and beyond, cross as they were.
  const dir = tmpDir(t);
  const r = runNode(`const { analyzer } = require(${JSON.stringify(LOADER)});
const { NativeFileSink } = analyzer();
const fill = (sink) => { for (let i = 0; i < 200; i++) sink.write(Buffer.alloc(1 << 20, i)); };
const sync = NativeFileSink.create({ path: ${JSON.stringify(path.join(dir, 'sync.heapsnapshot.zst'))} });
fill(sync);
const stats = [sync.finishSync()];
const later = NativeFileSink.create({ path: ${JSON.stringify(path.join(dir, 'async.heapsnapshot.zst'))} });
fill(later);
later.finish().then((s) => console.log(JSON.stringify({ mode: analyzer.mode(), stats: [...stats, s] })), (e) => { console.error(e); process.exit(1); });`, {
    env: { HEAPSNAP_OPTIONS: 'nosignal', ...PORTABLE, HEAPSNAP_WASM_MAX_MB: '120' },
  });
  assert.strictEqual(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.strictEqual(out.mode, 'portable');
  for (const stats of out.stats) {
    assert.strictEqual(stats.rawBytes, 200 << 20);
    const bytes = Buffer.from(require('fzstd').decompress(fs.readFileSync(stats.path)));
    assert.strictEqual(bytes.length, 200 << 20);
    assert.ok([0, 99, 199].every((i) => bytes[i << 20] === i && bytes[((i + 1) << 20) - 1] === i), `${stats.path} holds the chunks in order`);
  }
});

test('a portable dump with 64 MB of Buffers allocated before its snapshot: both parts portable, no crash, two whole snapshots', (t) => {
  // Node 20 and 22 segfaulted here every time while the module called Node's WASI functions
  // directly (V8's fast API calls; lib/loader/wasm.js withoutFastWasiCalls).
  const heapsnap = require(PKG);
  const dir = tmpDir(t);
  const r = runNode(`const heapsnap = require(${JSON.stringify(PKG)});
(async () => {
  const first = heapsnap.writeSnapshotAsync({ path: ${JSON.stringify(path.join(dir, 'a.heapsnapshot'))} });
  const kept = [];
  for (let i = 0; i < 8; i++) kept.push(Buffer.alloc(8 << 20, i));
  const a = await first;
  const b = await heapsnap.writeSnapshotAsync({ path: ${JSON.stringify(path.join(dir, 'b.heapsnapshot'))} });
  console.log(JSON.stringify({ modes: [a.mode, heapsnap.capabilities().analyzer.mode], kept: kept.length, external: process.memoryUsage().external }));
})();`, { env: { HEAPSNAP_FORCE_PORTABLE: 'writer,analyzer' }, timeout: 120_000 });
  assert.strictEqual(r.status, 0, `exit ${r.status}, signal ${r.signal}: ${r.stderr}`);
  const out = JSON.parse(r.stdout);
  assert.deepStrictEqual(out.modes, ['portable', 'portable']);
  assert.ok(out.external >= 64 << 20, 'the Buffers were alive for the second dump');
  for (const name of ['a.heapsnapshot', 'b.heapsnapshot']) {
    const summary = heapsnap.readSnapshot(path.join(dir, name)).summary({ top: 200 });
    assert.ok(summary.nodeCount > 1000, `${name}: ${summary.nodeCount} nodes`);
  }
  const b = heapsnap.readSnapshot(path.join(dir, 'b.heapsnapshot')).summary({ top: 500 });
  const buffers = b.constructors.filter((c) => c.name === 'Buffer' || c.name === 'Uint8Array');
  assert.ok(buffers.some((c) => c.count >= 8), `b holds the 8 Buffers: ${JSON.stringify(buffers)}`);
});

test('where no native analyzer loads, the WebAssembly one is used without being asked', (t) => {
  // A copy of the package with no .node file at all, the .wasm in @heapsnap/portable beside
  // it: what a macOS or Windows install has.
  const dir = path.join(tmpDir(t), 'node_modules');
  const copy = path.join(dir, 'heapsnap');
  fs.mkdirSync(copy, { recursive: true });
  for (const entry of ['package.json', 'index.js', 'lib', 'bin']) fs.cpSync(path.join(PKG, entry), path.join(copy, entry), { recursive: true });
  // The .wasm the loader would use here (a build in the checkout, or the installed @heapsnap/portable).
  const wasm = require(path.join(PKG, 'lib', 'loader', 'wasm')).wasmCandidates().find((f) => fs.existsSync(f));
  assert.ok(wasm, 'a built .wasm (npm run build or npm run prebuilds)');
  const portable = path.join(dir, '@heapsnap', 'portable');
  fs.mkdirSync(portable, { recursive: true });
  fs.writeFileSync(path.join(portable, 'package.json'), JSON.stringify({ name: '@heapsnap/portable', version: '0.0.0' }));
  fs.copyFileSync(wasm, path.join(portable, path.basename(wasm)));
  // Its dependencies, wherever npm put them (beside it when installed, inside it in a clone).
  let deps = require.resolve('@emnapi/core', { paths: [PKG] });
  while (path.basename(deps) !== 'node_modules') deps = path.dirname(deps);
  fs.symlinkSync(deps, path.join(copy, 'node_modules'), 'dir');
  const r = spawnSync(process.execPath, [path.join(copy, 'bin', 'heapsnap.js'), 'summary', '--json', A], {
    encoding: 'utf8',
    env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal', HEAPSNAP_FORCE_PORTABLE: '' },
    timeout: 120_000,
  });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.stderr, '');
  assert.strictEqual(r.stdout, run(NATIVE, ['summary', '--json', A]).stdout);
  // capabilities() says which analyzer runs, and why.
  const caps = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(copy)}).capabilities().analyzer))`], {
    encoding: 'utf8',
    env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal', HEAPSNAP_FORCE_PORTABLE: '' },
  });
  assert.strictEqual(caps.status, 0, caps.stderr);
  const analyzer = JSON.parse(caps.stdout);
  assert.deepStrictEqual([analyzer.mode, analyzer.forced], ['portable', false]);
  assert.match(analyzer.reason, /no analyzer addon .*: the WebAssembly analyzer stands in$/);
});

test("a snapshot too big for the WebAssembly memory fails with ERR_HEAPSNAP_WASM_STOPPED, never a hang or a crash", (t) => {
  // HEAPSNAP_WASM_MAX_MB caps the memory below the 4 GiB WebAssembly allows, so a 50 MB
  // synthetic snapshot plays the part of a 6 GB one.
  const dir = tmpDir(t);
  const big = path.join(dir, 'big.heapsnapshot');
  const made = runNode(`const { analyzer } = require(${JSON.stringify(LOADER)});
analyzer().writeSyntheticSnapshot(${JSON.stringify(big)}, { holders: 1000, itemsPerHolder: 400, itemClasses: 5, stringLen: 20, idBase: 1, bigNative: 0 });`);
  assert.strictEqual(made.status, 0, made.stderr);
  const env = { ...PORTABLE, HEAPSNAP_WASM_MAX_MB: '80' };
  const cli = run(env, ['summary', '--json', big]);
  assert.strictEqual(cli.status, 2, cli.stderr);
  assert.match(cli.stderr, /heapsnap: ERR_HEAPSNAP_WASM_STOPPED: the WebAssembly analyzer stopped \(.*MiB at most\): .*native analyzer/);
  const api = runNode(`const heapsnap = require(${JSON.stringify(PKG)});
const out = [];
try { heapsnap.readSnapshot(${JSON.stringify(big)}); out.push('read'); } catch (e) { out.push(e.code); }
try { heapsnap.readSnapshot(${JSON.stringify(A)}); out.push('read'); } catch (e) { out.push(e.code); }
heapsnap.readSnapshotAsync(${JSON.stringify(big)}).then(() => out.push('read'), (e) => out.push(e.code)).then(() => console.log(JSON.stringify(out)));`, { env: { HEAPSNAP_OPTIONS: 'nosignal', ...env } });
  assert.strictEqual(api.status, 0, api.stderr);
  // After a trap the instance's state is undefined: later calls fail the same way, by design.
  assert.deepStrictEqual(JSON.parse(api.stdout), ['ERR_HEAPSNAP_WASM_STOPPED', 'ERR_HEAPSNAP_WASM_STOPPED', 'ERR_HEAPSNAP_WASM_STOPPED']);
  // Async first, in a process of its own: the promise rejects with the code, and the process
  // still exits by itself (no worker or pending-work hold left behind by the dead thread).
  const alone = runNode(`require(${JSON.stringify(PKG)}).readSnapshotAsync(${JSON.stringify(big)}).then(() => console.log('read'), (e) => console.log(e.code));`, { env: { HEAPSNAP_OPTIONS: 'nosignal', ...env }, timeout: 60_000 });
  assert.strictEqual(alone.status, 0, `exit ${alone.status} ${alone.signal || ''}: ${alone.stderr}`);
  assert.strictEqual(alone.stdout.trim(), 'ERR_HEAPSNAP_WASM_STOPPED');
  // The same file within the cap of a fresh process reads fine (the failure was the cap).
  const fine = run(PORTABLE, ['summary', '--json', '--top', '1', big]);
  assert.strictEqual(fine.status, 0, fine.stderr);
  assert.strictEqual(JSON.parse(fine.stdout).nodeCount, 801001);
});

test('report: the same HTML page, but for the time it was generated', (t) => {
  const pages = [NATIVE, PORTABLE].map((env) => {
    const dir = tmpDir(t);
    const r = run(env, ['report', A, B, C], { cwd: dir });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(r.mode, env === NATIVE ? 'native' : 'portable');
    const file = r.stdout.trim();
    assert.strictEqual(path.dirname(file), dir, r.stdout);
    return fs.readFileSync(file, 'utf8').replace(/generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/, 'generated (time)');
  });
  assert.ok(pages[1].includes('SessionRecord'), 'the page names the leaking class');
  assert.strictEqual(pages[1], pages[0]);
});
