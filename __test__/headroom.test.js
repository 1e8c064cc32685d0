'use strict';
// The headroom check before every dump (ERR_HEAPSNAP_NO_HEADROOM, force, memoryLimit,
// HEAPSNAP_OPTIONS=memlimit=) and the memory context each dump records, in real processes.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { PKG, tmpDir, runNode, listDir, withRecords, nativeWriterOnly } = require('./helpers');

const CLI = path.join(PKG, 'bin', 'heapsnap.js');

/** Runs `code` in a child that required heapsnap; returns its last stdout line as JSON. */
function runJson(code, options = {}) {
  const r = runNode(`const heapsnap = require(${JSON.stringify(PKG)}); const fs = require('fs');\n(async () => {\n${code}\n})().catch((err) => { console.error(err); process.exit(1); });`, {
    env: { HEAPSNAP_OPTIONS: 'nosignal', NODE_HEAPDUMP_OPTIONS: '' },
    ...options,
  });
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

test('a memoryLimit below what the dump needs refuses quickly with both numbers; no file, no temp file', (t) => {
  const dir = tmpDir(t);
  const out = runJson(`
    const dir = ${JSON.stringify(dir)};
    const started = Date.now();
    let asyncErr;
    try { await heapsnap.writeSnapshotAsync({ dir, path: 'a.heapsnapshot', memoryLimit: 64 * 1024 * 1024 }); } catch (err) { asyncErr = err; }
    let syncErr;
    const ok = heapsnap.writeSnapshot(dir + '/b.heapsnapshot', { memoryLimit: 1 }, (err) => { syncErr = err; });
    const pick = (e) => e && { code: e.code, message: e.message, estimatedBytes: e.estimatedBytes, availableBytes: e.availableBytes };
    console.log(JSON.stringify({ ms: Date.now() - started, ok, asyncErr: pick(asyncErr), syncErr: pick(syncErr) }));
  `);
  for (const err of [out.asyncErr, out.syncErr]) {
    assert.ok(err, 'rejected');
    assert.strictEqual(err.code, 'ERR_HEAPSNAP_NO_HEADROOM');
    assert.strictEqual(typeof err.estimatedBytes, 'number');
    assert.strictEqual(typeof err.availableBytes, 'number');
    assert.ok(err.estimatedBytes > err.availableBytes, JSON.stringify(err));
    const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
    assert.ok(err.message.includes(mib(err.estimatedBytes)), err.message);
    assert.strictEqual(err.message.split('\n').length, 1);
    assert.match(err.message, /force: true/);
  }
  assert.match(out.asyncErr.message, new RegExp(`${(out.asyncErr.availableBytes / 2 ** 20).toFixed(1)} MiB available \\(memoryLimit\\)`));
  assert.strictEqual(out.syncErr.availableBytes, 0, 'a limit below the RSS leaves nothing');
  assert.match(out.syncErr.message, /^heapdump write error ERR_HEAPSNAP_NO_HEADROOM: /);
  assert.strictEqual(out.ok, false);
  assert.ok(out.ms < 5000, `refusals take no snapshot (${out.ms} ms)`);
  assert.deepStrictEqual(listDir(dir), [], 'no file and no temp file');
});

test('a high memoryLimit dumps, force: true overrides a low one, and info.memory is the memory before the dump', (t) => {
  const dir = tmpDir(t);
  const out = runJson(`
    const dir = ${JSON.stringify(dir)};
    globalThis.keep = Array.from({ length: 20000 }, (_, i) => ({ i, s: 'x' + i }));
    globalThis.buf = Buffer.alloc(4 << 20, 1);
    const before = process.memoryUsage();
    const high = await heapsnap.writeSnapshotAsync({ dir, path: 'high.heapsnapshot', memoryLimit: 64 * 2 ** 30 });
    let forcedPath;
    const ok = heapsnap.writeSnapshot(dir + '/forced.heapsnapshot', { memoryLimit: 1, force: true }, (err, file) => { if (err) throw err; forcedPath = file; });
    console.log(JSON.stringify({ before, high, ok, forcedPath }));
  `);
  assert.strictEqual(out.ok, true);
  assert.deepStrictEqual(listDir(dir), withRecords('forced.heapsnapshot', 'high.heapsnapshot'));
  const { memory } = out.high;
  const { before } = out;
  assert.ok(Math.abs(memory.rss - before.rss) < Math.max(16 << 20, before.rss * 0.15), `rss ${memory.rss} vs ${before.rss}`);
  assert.ok(Math.abs(memory.heapUsed - before.heapUsed) < Math.max(4 << 20, before.heapUsed * 0.25), `heapUsed ${memory.heapUsed} vs ${before.heapUsed}`);
  assert.ok(Math.abs(memory.heapTotal - before.heapTotal) < Math.max(8 << 20, before.heapTotal * 0.25), `heapTotal ${memory.heapTotal} vs ${before.heapTotal}`);
  assert.ok(Math.abs(memory.external - before.external) < 1 << 20, `external ${memory.external} vs ${before.external}`);
  assert.ok(memory.external >= 4 << 20, 'the Buffer counts as external');
  assert.ok(Math.abs(memory.arrayBuffers - before.arrayBuffers) < 1 << 20, `arrayBuffers ${memory.arrayBuffers} vs ${before.arrayBuffers}`);
  assert.ok(memory.estimatedBytes > memory.heapUsed, 'the estimate is several times the heap');
  assert.ok(memory.availableBytes > memory.estimatedBytes);
  assert.ok(Math.abs(memory.availableBytes - (64 * 2 ** 30 - memory.rss)) < 1 << 20, 'memoryLimit minus rss');
});

test('HEAPSNAP_OPTIONS=memlimit=1m: a signal dump is refused on one stderr line, writes nothing, and the process lives', async (t) => {
  const cwd = tmpDir(t);
  const code = `require(${JSON.stringify(PKG)}); console.log('ready'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', code], {
    cwd,
    env: { ...process.env, HEAPSNAP_OPTIONS: 'memlimit=1m', NODE_HEAPDUMP_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const until = async (predicate) => {
    for (let i = 0; i < 400 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    return predicate();
  };
  assert.ok(await until(() => stdout.includes('ready')), stderr);
  process.kill(child.pid, 'SIGUSR2');
  assert.ok(await until(() => stderr.includes('\n')), 'a line on stderr');
  const lines = stderr.trim().split('\n');
  assert.strictEqual(lines.length, 1, stderr);
  assert.match(lines[0], /^heapsnap: signal dump failed: ERR_HEAPSNAP_NO_HEADROOM: not enough memory for a heap snapshot: it needs about [\d.]+ MiB more, 0 KiB available \(memoryLimit\)/);
  assert.strictEqual(child.exitCode, null, 'still running');
  assert.doesNotThrow(() => process.kill(child.pid, 0));
  assert.deepStrictEqual(listDir(cwd), [], 'no file, no temp file');
});

function dumpCli(args) {
  return new Promise((resolve) => {
    const cli = spawn(process.execPath, [CLI, 'dump', ...args], { encoding: 'utf8' });
    let stdout = '';
    let stderr = '';
    cli.stdout.on('data', (chunk) => (stdout += chunk));
    cli.stderr.on('data', (chunk) => (stderr += chunk));
    cli.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

test('heapsnap dump <pid> of a process without headroom fails with ERR_HEAPSNAP_NO_HEADROOM; --force dumps', nativeWriterOnly('the request channel of heapsnap dump <pid>'), async (t) => {
  const dir = tmpDir(t);
  const code = `require(${JSON.stringify(PKG)}); console.log('ready'); setInterval(() => {}, 1000);`;
  const target = spawn(process.execPath, ['-e', code], {
    env: { ...process.env, HEAPSNAP_OPTIONS: 'memlimit=1m', NODE_HEAPDUMP_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => target.kill('SIGKILL'));
  await new Promise((resolve) => target.stdout.on('data', (chunk) => String(chunk).includes('ready') && resolve()));
  const file = path.join(dir, 'remote.heapsnapshot');
  const r = await dumpCli([String(target.pid), '-o', file]);
  assert.strictEqual(r.status, 2, r.stdout + r.stderr);
  assert.strictEqual(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.strictEqual(lines.length, 1, r.stderr);
  assert.match(lines[0], /^heapsnap: ERR_HEAPSNAP_NO_HEADROOM: .*MiB/);
  assert.deepStrictEqual(listDir(dir), []);
  assert.strictEqual(target.exitCode, null, 'the target lives');

  const forced = await dumpCli([String(target.pid), '-o', file, '--force']);
  assert.strictEqual(forced.status, 0, forced.stderr);
  assert.strictEqual(forced.stdout, `${file}\n`);
  assert.deepStrictEqual(listDir(dir), withRecords('remote.heapsnapshot'));
});

// The estimate against the real cost: extra peak RSS of a plain write (VmHWM reset through
// /proc/self/clear_refs right before, as bench/write.js does), on two heaps of different shapes.
test('the estimate is within 0.5x-2x of the measured extra peak RSS on two heaps', { skip: process.platform !== 'linux' }, (t) => {
  const dir = tmpDir(t);
  const heaps = {
    records: "keep.push({ id: i, name: 'user-' + i, tags: ['a' + (i % 97), 'b' + (i % 89)], at: new Date(i), score: i * 1.5 })",
    nested: 'keep.push({ a: { b: { c: i } }, d: [i, i + 1] })',
  };
  const sizes = { records: 30, nested: 60 };
  for (const [shape, push] of Object.entries(heaps)) {
    const out = runJson(`
      const v8 = require('v8');
      const keep = (globalThis.keep = []);
      for (let i = 0; v8.getHeapStatistics().used_heap_size < ${sizes[shape]} * 1e6; ) for (let j = 0; j < 1000; j++, i++) ${push};
      heapsnap.gc();
      const status = () => Object.fromEntries(fs.readFileSync('/proc/self/status', 'utf8').split('\\n')
        .filter((l) => /^Vm(RSS|HWM):/.test(l)).map((l) => [l.split(':')[0], parseInt(l.split(':')[1]) * 1024]));
      fs.writeFileSync('/proc/self/clear_refs', '5');
      const before = status();
      const info = await heapsnap.writeSnapshotAsync({ path: ${JSON.stringify(path.join(dir, 'x.heapsnapshot'))} });
      const after = status();
      fs.rmSync(info.path);
      console.log(JSON.stringify({ estimated: info.memory.estimatedBytes, heapUsed: info.memory.heapUsed, extra: after.VmHWM - before.VmRSS }));
    `);
    const ratio = out.estimated / out.extra;
    t.diagnostic(`${shape}: heap ${(out.heapUsed / 2 ** 20).toFixed(0)} MiB, estimated ${(out.estimated / 2 ** 20).toFixed(0)} MiB, measured ${(out.extra / 2 ** 20).toFixed(0)} MiB, ratio ${ratio.toFixed(2)}`);
    assert.ok(ratio >= 0.5 && ratio <= 2, `${shape}: estimate/measured = ${ratio.toFixed(2)} (${JSON.stringify(out)})`);
  }
});

test('near the heap limit, a refused dump prints one line and the process dies of its heap OOM as it would have', nativeWriterOnly('heapsnap\'s own near-heap-limit dump (Node\'s makes no headroom check)'), (t) => {
  const dir = tmpDir(t);
  const code = `
    const heapsnap = require(${JSON.stringify(PKG)});
    heapsnap.onNearHeapLimit({ dir: ${JSON.stringify(dir)}, memoryLimit: 1024 * 1024 });
    const keep = [];
    for (let i = 0; ; i++) keep.push({ i, payload: new Array(64).fill(i) });`;
  const child = runNode(code, { args: ['--max-old-space-size=64'], cwd: dir, timeout: 120_000, env: { HEAPSNAP_OPTIONS: 'nosignal' } });
  assert.notStrictEqual(child.status, 0, 'the process still dies');
  assert.match(child.stderr, /heap out of memory/i);
  const ours = child.stderr.split('\n').filter((line) => line.startsWith('heapsnap:'));
  assert.strictEqual(ours.length, 1, child.stderr);
  assert.match(ours[0], /^heapsnap: near-heap-limit dump failed: ERR_HEAPSNAP_NO_HEADROOM: not enough memory for a heap snapshot/);
  assert.deepStrictEqual(listDir(dir), [], 'no file, no temp file');
});

test('memlimit= and force in HEAPSNAP_OPTIONS, and the memoryLimit option checks its type', () => {
  const { optionsFromEnv } = require(path.join(PKG, 'lib', 'writer', 'signal'));
  const env = (value) => optionsFromEnv({ HEAPSNAP_OPTIONS: value }, { quiet: true });
  assert.deepStrictEqual(env('memlimit=1048576'), { memoryLimit: 1048576 });
  assert.deepStrictEqual(env('memlimit=512k,force'), { memoryLimit: 512 * 1024, force: true });
  assert.deepStrictEqual(env('memlimit=300m'), { memoryLimit: 300 * 2 ** 20 });
  assert.deepStrictEqual(env('memlimit=2G'), { memoryLimit: 2 * 2 ** 30 });
  assert.deepStrictEqual(env('memlimit=lots'), {}, 'not a size: ignored');
  const heapsnap = require('heapsnap');
  for (const bad of [0, -1, '1g', Infinity]) {
    assert.throws(() => heapsnap.writeSnapshot({ memoryLimit: bad }), { code: 'ERR_HEAPSNAP_INVALID_OPTION' }, String(bad));
  }
  assert.throws(() => heapsnap.writeSnapshot({ force: 'yes' }), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
});
