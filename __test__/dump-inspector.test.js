'use strict';
// dumpViaInspector: heap snapshots of real Node processes that never loaded heapsnap, taken
// through their own inspector, on every Node major found in .cache/node (as targets), by the
// Node running this test (as the CLI side).

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const net = require('net');
const http = require('http');
const path = require('path');
const { spawn } = require('child_process');
const { ROOT, PKG, tmpDir, snapshotText, readSnapshot, listDir } = require('./helpers');

const { dumpViaInspector } = require(path.join(PKG, 'lib', 'operator', 'inspector-dump'));

const MAJORS = [18, 20, 22, 24, 26];

/** The node binary of `major` from the local cache; undefined when it is not there. */
function nodeOf(major) {
  const file = path.join(ROOT, '.cache', 'node', String(major), 'package', 'bin', 'node');
  return fs.existsSync(file) ? file : undefined;
}

const majorOf = (node) => Number(/^v(\d+)/.exec(require('child_process').execFileSync(node, ['--version'], { encoding: 'utf8' }))[1]);

/** A node of major >= 22 (whose V8 takes inspector snapshots only between tasks, and which knows --disable-sigusr1). */
const MODERN_NODE = [22, 24, 26].map(nodeOf).find(Boolean) ?? (majorOf(process.execPath) >= 22 ? process.execPath : undefined);

// A plain target: recognizable objects, an HTTP server of its own (so the inspector's socket is
// not its only one), and an echo of stdin lines to show it still answers.
const TARGET = `
  class InspectorProbe { constructor(i) { this.i = i; } }
  globalThis.probes = Array.from({ length: 1000 }, (_, i) => new InspectorProbe(i));
  const server = require('http').createServer((req, res) => res.end('served'));
  server.listen(0, '127.0.0.1', () => process.stdout.write('ready ' + server.address().port + '\\n'));
  require('readline').createInterface({ input: process.stdin }).on('line', (line) => process.stdout.write('echo:' + line + '\\n'));
`;

/** Starts `code` under `node`; resolves once it printed "ready", with ways to talk to it. */
async function startTarget(t, { node = process.execPath, args = ['--inspect-port=0'], code = TARGET } = {}) {
  const child = spawn(node, [...args, '-e', code], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const readyLine = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /^ready ?(\d*)$/m.exec(stdout);
      if (match) resolve(match);
    });
    exited.then(() => reject(new Error(`target exited early: ${stderr}`)));
  });
  const echo = (line) =>
    new Promise((resolve) => {
      const seen = stdout.length;
      const check = () => {
        const reply = stdout.slice(seen).split('\n').find((l) => l.startsWith('echo:'));
        if (reply) resolve(reply);
      };
      child.stdout.on('data', check);
      child.stdin.write(`${line}\n`);
    });
  return { child, pid: child.pid, httpPort: Number(readyLine[1]), echo, exited, stderr: () => stderr };
}

function get(port) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** The target answers on stdin and over HTTP, and its inspector port is closed again. */
async function assertServingWithInspectorClosed(target, info) {
  assert.strictEqual(await target.echo('still there?'), 'echo:still there?');
  assert.strictEqual(await get(target.httpPort), 'served');
  assert.strictEqual(info.inspector.alreadyOpen, false);
  assert.strictEqual(info.inspector.closed, true);
  assert.notStrictEqual(info.inspector.port, target.httpPort, "the inspector's port, not the app's");
  assert.strictEqual(await accepts(info.inspector.port), false, 'inspector port closed');
}

function assertCompleteSnapshot(file, info, compression) {
  assert.strictEqual(info.path, file);
  assert.strictEqual(info.compression, compression);
  assert.strictEqual(info.bytes, fs.statSync(file).size);
  assert.strictEqual(info.rawBytes, Buffer.byteLength(snapshotText(file)));
  assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
  assert.strictEqual(readSnapshot(file).countObjects('InspectorProbe'), 1000);
  assert.deepStrictEqual(listDir(path.dirname(file)), [path.basename(file)], 'no temp file is left');
}

async function rejectsWith(promise, code, pid) {
  const err = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e) => e,
  );
  assert.strictEqual(err.code, code, err.message);
  assert.ok(err.message.includes(String(pid)), `names the pid: ${err.message}`);
  assert.ok(!err.message.includes('\n'), 'one line');
  return err;
}

for (const major of MAJORS) {
  const node = nodeOf(major);
  test(`dumps a plain Node ${major} process (gzip), which keeps serving with its inspector closed`, { skip: !node && `no Node ${major} in .cache/node` }, async (t) => {
    const target = await startTarget(t, { node });
    const file = path.join(tmpDir(t), 'target.heapsnapshot.gz');
    const info = await dumpViaInspector({ pid: target.pid, path: file, timeoutMs: 15_000 });
    assertCompleteSnapshot(file, info, 'gzip');
    assert.ok(info.bytes * 2 < info.rawBytes, 'compressed');
    assert.ok(info.durationMs > 0);
    await assertServingWithInspectorClosed(target, info);
  });
}

test('dumps the same process again (the inspector reopens), with gc, zstd by option and progress', async (t) => {
  const target = await startTarget(t);
  const dir = tmpDir(t);
  const first = path.join(dir, 'first.heapsnapshot');
  assertCompleteSnapshot(first, await dumpViaInspector({ pid: target.pid, path: first }), 'none');
  fs.rmSync(first);

  const second = path.join(dir, 'second.heapsnapshot');
  const progress = [];
  const info = await dumpViaInspector({ pid: target.pid, path: second, compress: 'zstd', gc: true, onProgress: (done, total) => progress.push([done, total]) });
  assertCompleteSnapshot(second, info, 'zstd');
  assert.ok(progress.length > 0, 'progress reported');
  assert.ok(progress.every(([done, total]) => done <= total));
  await assertServingWithInspectorClosed(target, info);
});

test('an inspector that was open before is used and left open', async (t) => {
  const target = await startTarget(t, { args: ['--inspect=127.0.0.1:0'] });
  const file = path.join(tmpDir(t), 'open.heapsnapshot');
  const info = await dumpViaInspector({ pid: target.pid, path: file, timeoutMs: 15_000 });
  assertCompleteSnapshot(file, info, 'none');
  assert.strictEqual(info.inspector.alreadyOpen, true);
  assert.strictEqual(info.inspector.closed, false);
  assert.strictEqual(await accepts(info.inspector.port), true, 'still open, as we found it');
  assert.strictEqual(await target.echo('hi'), 'echo:hi');
});

test('no such process: ESRCH', async (t) => {
  const gone = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => gone.on('exit', resolve));
  const dir = tmpDir(t);
  await rejectsWith(dumpViaInspector({ pid: gone.pid, path: path.join(dir, 'x.heapsnapshot') }), 'ESRCH', gone.pid);
  assert.deepStrictEqual(listDir(dir), []);
});

test('a target started with --disable-sigusr1 fails at once, untouched', { skip: !MODERN_NODE && 'no Node >= 22 here' }, async (t) => {
  const target = await startTarget(t, { node: MODERN_NODE, args: ['--disable-sigusr1'] });
  const dir = tmpDir(t);
  const err = await rejectsWith(
    dumpViaInspector({ pid: target.pid, path: path.join(dir, 'x.heapsnapshot'), timeoutMs: 2000 }),
    'ERR_HEAPSNAP_INSPECTOR_UNAVAILABLE',
    target.pid,
  );
  assert.match(err.message, /--disable-sigusr1/);
  assert.deepStrictEqual(listDir(dir), []);
  assert.strictEqual(await target.echo('alive'), 'echo:alive');
});

test('a process that is not Node is refused, not killed by SIGUSR1', async (t) => {
  const sleeper = spawn('sleep', ['60']);
  t.after(() => sleeper.kill('SIGKILL'));
  await new Promise((resolve) => sleeper.on('spawn', resolve));
  const dir = tmpDir(t);
  await rejectsWith(dumpViaInspector({ pid: sleeper.pid, path: path.join(dir, 'x.heapsnapshot'), timeoutMs: 2000 }), 'ERR_HEAPSNAP_INSPECTOR_UNAVAILABLE', sleeper.pid);
  assert.strictEqual(sleeper.exitCode, null);
  assert.strictEqual(sleeper.signalCode, null);
  assert.deepStrictEqual(listDir(dir), []);
});

test('an unwritable output path fails before the target is touched, leaving no file', async (t) => {
  const target = await startTarget(t);
  const dir = tmpDir(t);
  const file = path.join(dir, 'missing', 'x.heapsnapshot');
  const err = await rejectsWith(dumpViaInspector({ pid: target.pid, path: file }), 'ENOENT', target.pid);
  assert.ok(err.message.includes(file), err.message);
  assert.deepStrictEqual(listDir(dir), []);
  assert.strictEqual(await target.echo('x'), 'echo:x');
  assert.doesNotMatch(target.stderr(), /Debugger listening/, 'its inspector was never opened');
});

test('a target killed mid-dump: ERR_HEAPSNAP_TARGET_DIED and no file', async (t) => {
  const target = await startTarget(t, { code: `globalThis.heap = Array.from({ length: 300000 }, (_, i) => ({ i })); ${TARGET}` });
  const dir = tmpDir(t);
  const onProgress = () => target.child.kill('SIGKILL');
  await rejectsWith(dumpViaInspector({ pid: target.pid, path: path.join(dir, 'x.heapsnapshot.gz'), onProgress }), 'ERR_HEAPSNAP_TARGET_DIED', target.pid);
  assert.deepStrictEqual(listDir(dir), []);
});

const BUSY = `${TARGET}; setTimeout(() => { for (;;); }, 200);`;

test('a JS thread that never yields: ERR_HEAPSNAP_TIMEOUT, no file, inspector closed', { skip: !MODERN_NODE && 'no Node >= 22 here' }, async (t) => {
  // V8 >= 12 takes inspector snapshots in a task of its own, which a busy loop never runs.
  const target = await startTarget(t, { node: MODERN_NODE, code: BUSY });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const dir = tmpDir(t);
  const err = await rejectsWith(dumpViaInspector({ pid: target.pid, path: path.join(dir, 'x.heapsnapshot'), timeoutMs: 1500 }), 'ERR_HEAPSNAP_TIMEOUT', target.pid);
  assert.match(err.message, /start the heap snapshot/);
  assert.deepStrictEqual(listDir(dir), []);
  // The close request runs inside the busy loop (inspector messages arrive as V8 interrupts).
  const { listeningSockets } = require(path.join(PKG, 'lib', 'operator', 'proc'));
  const until = Date.now() + 10_000;
  while (listeningSockets(target.pid).some((s) => s.port !== target.httpPort) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.deepStrictEqual(listeningSockets(target.pid).map((s) => s.port), [target.httpPort], 'only the app listens');
});

test('an AbortSignal stops the dump: ABORT_ERR, no file', { skip: !MODERN_NODE && 'no Node >= 22 here' }, async (t) => {
  const target = await startTarget(t, { node: MODERN_NODE, code: BUSY });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const dir = tmpDir(t);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 500);
  const err = await rejectsWith(dumpViaInspector({ pid: target.pid, path: path.join(dir, 'x.heapsnapshot'), signal: controller.signal }), 'ABORT_ERR', target.pid);
  assert.strictEqual(err.name, 'AbortError');
  assert.deepStrictEqual(listDir(dir), []);
});

test('bad options are ERR_HEAPSNAP_INVALID_OPTION', async () => {
  for (const options of [undefined, { pid: 0 }, { pid: 'x' }, { pid: process.pid }, { pid: 1, timeoutMs: -1 }, { pid: 1, compress: 'brotli' }, { pid: 1, nope: 1 }]) {
    await assert.rejects(dumpViaInspector(options), { code: 'ERR_HEAPSNAP_INVALID_OPTION' }, JSON.stringify(options));
  }
});

test("NativeFileSink: the target's {pid} in names, abort leaves nothing, a closed sink says so", async (t) => {
  const { analyzer } = require(path.join(PKG, 'lib', 'loader', 'native'));
  const { NativeFileSink } = analyzer();
  const dir = tmpDir(t);
  const sink = NativeFileSink.create({ path: path.join(dir, 'p-{pid}.heapsnapshot.zst'), pid: 4242 });
  assert.strictEqual(sink.path, path.join(dir, 'p-4242.heapsnapshot.zst'));
  if (analyzer.mode() === 'native') {
    assert.deepStrictEqual(listDir(dir), [], 'nothing in the directory until finished (an unnamed file)');
  } else {
    // The WebAssembly analyzer's sink: WASI has no O_TMPFILE, so a hidden 0600 temp, no target.
    const temps = listDir(dir);
    assert.match(temps.join(','), /^\.p-4242\.heapsnapshot\.zst\.[0-9a-f]{16}\.heapsnap-tmp$/);
    assert.strictEqual(fs.statSync(path.join(dir, temps[0])).mode & 0o777, 0o600);
  }
  sink.write(Buffer.from('{"snapshot":{}}'));
  const stats = await sink.finish();
  assert.deepStrictEqual({ ...stats, bytes: undefined }, { path: sink.path, bytes: undefined, rawBytes: 15, compression: 'zstd', warnings: [] });
  assert.strictEqual(snapshotText(sink.path), '{"snapshot":{}}');
  assert.throws(() => sink.write(Buffer.from('x')), { code: 'ERR_HEAPSNAP_SINK_CLOSED' });

  const aborted = NativeFileSink.create({ path: path.join(dir, 'aborted.heapsnapshot') });
  aborted.write(Buffer.from('partial'));
  aborted.abort();
  aborted.abort();
  assert.deepStrictEqual(listDir(dir), ['p-4242.heapsnapshot.zst'], 'no temp file, no target');
  assert.throws(() => NativeFileSink.create({ path: path.join(dir, 'a.gz'), compress: 'zstd' }), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
});
