'use strict';
// Signal dumps, in child processes: busy loops, bursts, chaining, opt-out, workers.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { PKG, tmpDir, readSnapshot, nativeWriterOnly } = require('./helpers');

// A child's acknowledgement: every line on its stdin makes it print its handler's status.
const ANSWER_STATUS = `
  process.stdin.on('data', () => console.log('STATUS ' + JSON.stringify(heapsnap.signalHandlerStatus())));
`;

/**
 * Starts `code` in a child that requires heapsnap; resolves once it printed "ready". With
 * `status`, the child answers `status()` (its signal handler's status: what it decided,
 * rather than what an empty directory after a sleep suggests); it then lives until killed.
 */
function startChild(t, code, { env = {}, cwd, status = false } = {}) {
  const child = spawn(process.execPath, ['-e', `const heapsnap = require(${JSON.stringify(PKG)});\n${status ? ANSWER_STATUS : ''}${code}`], {
    cwd,
    env: { ...process.env, HEAPSNAP_OPTIONS: '', NODE_HEAPDUMP_OPTIONS: '', ...env },
    stdio: [status ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => child.kill('SIGKILL'));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child never got ready: ${stderr}`)), 20_000);
    child.stdout.on('data', () => {
      if (stdout.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    exited.then(() => reject(new Error(`child exited early: ${stdout} ${stderr}`)));
  });
  let asked = 0;
  const statusOf = async () => {
    const answer = ++asked;
    child.stdin.write('status?\n');
    await waitFor(() => (stdout.match(/^STATUS .*$/gm) || []).length >= answer);
    return JSON.parse(stdout.match(/^STATUS (.*)$/gm)[answer - 1].slice('STATUS '.length));
  };
  /** Asks until `predicate(status)` holds (20 s at most); returns the last status. */
  const statusWhen = async (predicate) => {
    const deadline = Date.now() + 20_000;
    let last = await statusOf();
    while (!predicate(last) && Date.now() < deadline) {
      await sleep(50);
      last = await statusOf();
    }
    return last;
  };
  return { child, ready, exited, output: () => ({ stdout, stderr }), statusWhen };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Complete snapshots in `dir` (temp files are hidden dot-files and never match). */
function snapshots(dir, pattern = /\.heapsnapshot(\.gz|\.zst)?$/) {
  return fs.readdirSync(dir).filter((name) => !name.startsWith('.') && !name.endsWith('.memory.json') && pattern.test(name)).sort();
}

async function waitFor(predicate, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = predicate();
    if (value) return value;
    await sleep(50);
  }
  return predicate();
}

const BUSY_LOOP = `
  class BusyLoopMarker {}
  globalThis.marker = new BusyLoopMarker();
  console.log('ready');
  setTimeout(() => { while (true) {} }, 10);
`;

test('SIGUSR2 dumps a process stuck in while(true){}', nativeWriterOnly('signal dumps while JS is busy (the portable handler runs when the event loop is free)'), async (t) => {
  const dir = tmpDir(t);
  const { child, ready, output } = startChild(t, BUSY_LOOP, { cwd: dir });
  await ready;
  await sleep(200);
  child.kill('SIGUSR2');
  const files = await waitFor(() => snapshots(dir).length > 0 && snapshots(dir));
  assert.ok(files && files.length === 1, `one snapshot, got ${files} ${output().stderr}`);
  assert.match(files[0], /^heapdump-\d+\.\d+\.heapsnapshot$/);
  assert.strictEqual(readSnapshot(path.join(dir, files[0])).countObjects('BusyLoopMarker'), 1);
  await waitFor(() => /heapsnap: wrote heapdump-/.test(output().stderr), 5_000);
  assert.match(output().stderr, /heapsnap: wrote heapdump-\S+ \([\d.]+ MB\) in \d+ ms/);
  assert.strictEqual(child.exitCode, null, 'the process keeps running');
});

test('a burst of 50 signals gives one complete snapshot (the default interval) and a live process', async (t) => {
  const dir = tmpDir(t);
  const { child, ready, output, statusWhen } = startChild(t, `
    console.log('ready');
    setInterval(() => { const t0 = Date.now(); while (Date.now() - t0 < 50) {} }, 60);
  `, { cwd: dir, env: { HEAPSNAP_OPTIONS: 'quiet' }, status: true });
  await ready;
  for (let i = 0; i < 50; i++) child.kill('SIGUSR2');
  const settled = await statusWhen((s) => s.dumps === 1 && !s.pending);
  assert.strictEqual(settled.dumps, 1, JSON.stringify(settled));
  // One more signal after the dump ended: the process says it ignored it.
  const skippedBefore = settled.skipped;
  child.kill('SIGUSR2');
  const after = await statusWhen((s) => s.skipped > skippedBefore && !s.pending);
  assert.strictEqual(after.skipped, skippedBefore + 1, JSON.stringify(after));
  assert.strictEqual(after.dumps, 1);
  assert.strictEqual(after.interval, 30);
  const files = snapshots(dir);
  assert.strictEqual(files.length, 1, `one dump: ${files}`);
  assert.ok(readSnapshot(path.join(dir, files[0])).nodes.length > 1000);
  assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.')), [], 'no temp files');
  assert.strictEqual(child.exitCode, null, `alive: ${output().stderr}`);
  assert.strictEqual(output().stderr, '', 'quiet prints nothing');
});

test('JS listeners for the same signal keep working', async (t) => {
  const dir = tmpDir(t);
  const { child, ready, output } = startChild(t, `
    process.on('SIGUSR2', () => console.log('listener ran'));
    console.log('ready');
    setInterval(() => {}, 1000);
  `, { cwd: dir });
  await ready;
  child.kill('SIGUSR2');
  await waitFor(() => output().stdout.includes('listener ran') && snapshots(dir).length === 1);
  assert.match(output().stdout, /listener ran/);
  assert.strictEqual(snapshots(dir).length, 1);
});

test('HEAPSNAP_OPTIONS sets dir, compression and signal', async (t) => {
  const dir = tmpDir(t);
  const cwd = tmpDir(t);
  const { child, ready } = startChild(t, `console.log('ready'); setInterval(() => {}, 1000);`, {
    cwd,
    env: { HEAPSNAP_OPTIONS: `signal=SIGUSR1,dir=${dir},compress=gzip,gc,quiet` },
  });
  await ready;
  child.kill('SIGUSR1');
  const files = await waitFor(() => snapshots(dir).length > 0 && snapshots(dir));
  assert.ok(files, 'a snapshot was written to dir');
  assert.match(files[0], /^heapdump-\d+\.\d+\.heapsnapshot\.gz$/);
  readSnapshot(path.join(dir, files[0]));
  assert.deepStrictEqual(fs.readdirSync(cwd), []);
});

for (const env of [{ HEAPSNAP_OPTIONS: 'nosignal' }, { NODE_HEAPDUMP_OPTIONS: 'nosignal' }]) {
  test(`${Object.keys(env)[0]}=nosignal installs no handler`, async (t) => {
    const dir = tmpDir(t);
    const { child, ready, output, statusWhen } = startChild(t, `
      process.on('SIGUSR2', () => console.log('listener ran'));
      console.log('ready');
      setInterval(() => {}, 1000);
    `, { cwd: dir, env, status: true });
    await ready;
    child.kill('SIGUSR2');
    await waitFor(() => output().stdout.includes('listener ran'));
    assert.match(output().stdout, /listener ran/);
    // The process's own word: no heapsnap handler, so nothing can dump later either.
    assert.strictEqual(await statusWhen(() => true), null);
    assert.deepStrictEqual(fs.readdirSync(dir), []);
  });
}

test('removeSignalHandler stops dumps; installSignalHandler validates its options', async (t) => {
  const dir = tmpDir(t);
  const { child, ready, output, statusWhen } = startChild(t, `
    const removed = [heapsnap.removeSignalHandler(), heapsnap.removeSignalHandler()];
    for (const bad of [{ signal: 'SIGKILL' }, { signal: 'SIGNOPE' }, { dir: 5 }, { bogus: 1 }, { interval: -1 }, { maxDumps: 1.5 }]) {
      try { heapsnap.installSignalHandler(bad); console.log('accepted', JSON.stringify(bad)); }
      catch (err) { console.log('rejected', err.code); }
    }
    process.on('SIGUSR2', () => console.log('listener ran'));
    console.log(JSON.stringify(removed));
    console.log('ready');
    setInterval(() => {}, 1000);
  `, { cwd: dir, status: true });
  await ready;
  child.kill('SIGUSR2');
  await waitFor(() => output().stdout.includes('listener ran'));
  assert.strictEqual(await statusWhen(() => true), null, 'no handler left to dump');
  assert.match(output().stdout, /\[true,false\]/);
  assert.strictEqual(output().stdout.match(/rejected ERR_HEAPSNAP_INVALID_OPTION/g).length, 6);
  assert.deepStrictEqual(fs.readdirSync(dir), []);
});

test('a worker dumps its own heap, on signal and on demand', nativeWriterOnly('signal dumps of worker threads'), async (t) => {
  const dir = tmpDir(t);
  const { child, ready, output } = startChild(t, `
    const { Worker } = require('worker_threads');
    class MainThreadOnly {}
    globalThis.mainOnly = new MainThreadOnly();
    const worker = new Worker(\`
      const heapsnap = require(${JSON.stringify(PKG)});
      const { parentPort } = require('worker_threads');
      class WorkerOnly {}
      globalThis.workerOnly = [new WorkerOnly(), new WorkerOnly()];
      heapsnap.writeSnapshot(${JSON.stringify(path.join(dir, 'direct.heapsnapshot'))});
      heapsnap.installSignalHandler({ dir: ${JSON.stringify(dir)}, path: 'worker-{tid}.heapsnapshot', quiet: true });
      parentPort.postMessage('ready');
      setTimeout(() => { while (true) {} }, 10);
    \`, { eval: true });
    worker.on('message', () => console.log('ready'));
    worker.on('error', (err) => console.log('worker error', err));
  `, { env: { HEAPSNAP_OPTIONS: 'nosignal' } });
  await ready;
  await sleep(200);
  child.kill('SIGUSR2');
  const files = await waitFor(() => snapshots(dir, /^worker-/).length > 0 && snapshots(dir, /^worker-/));
  assert.deepStrictEqual(files, ['worker-1.heapsnapshot'], output().stderr);
  for (const name of ['direct.heapsnapshot', files[0]]) {
    const snap = readSnapshot(path.join(dir, name));
    assert.strictEqual(snap.countObjects('WorkerOnly'), 2, name);
    assert.strictEqual(snap.countObjects('MainThreadOnly'), 0, name);
  }
});

test('a worker that exits with a handler installed leaves no crash and no partial file', nativeWriterOnly('signal handlers in worker threads'), async (t) => {
  const dir = tmpDir(t);
  const { exited, output } = startChild(t, `
    const { Worker } = require('worker_threads');
    // Once the last worker is gone nobody dumps on SIGUSR2: keep it from killing us.
    process.on('SIGUSR2', () => {});
    let done = 0;
    for (let i = 0; i < 4; i++) {
      const worker = new Worker(\`
        const heapsnap = require(${JSON.stringify(PKG)});
        heapsnap.installSignalHandler({ dir: ${JSON.stringify(dir)}, path: 'w-{tid}-{seq}.heapsnapshot', quiet: true });
        const t0 = Date.now(); while (Date.now() - t0 < 300) {}
      \`, { eval: true });
      worker.on('exit', () => { if (++done === 4) console.log('all workers exited'); });
    }
    const timer = setInterval(() => process.kill(process.pid, 'SIGUSR2'), 20);
    setTimeout(() => { clearInterval(timer); console.log('ready'); }, 1500);
  `, { env: { HEAPSNAP_OPTIONS: 'nosignal' } });
  const { code, signal } = await exited;
  assert.strictEqual(signal, null, output().stderr);
  assert.strictEqual(code, 0, output().stderr);
  assert.match(output().stdout, /all workers exited/);
  assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.')), [], 'no temp files');
  const files = snapshots(dir);
  assert.ok(files.length >= 1, `the workers dumped while alive: ${output().stderr}`);
  for (const file of files) readSnapshot(path.join(dir, file));
});

test('interval: 0 with maxDumps: 2 dumps twice, then says why it ignores the third signal', async (t) => {
  const dir = tmpDir(t);
  const { child, ready, output, statusWhen } = startChild(t, `
    heapsnap.installSignalHandler({ dir: ${JSON.stringify(dir)}, path: 'limited-{seq}.heapsnapshot', interval: 0, maxDumps: 2 });
    console.log('ready');
    setInterval(() => {}, 1000);
  `, { env: { HEAPSNAP_OPTIONS: 'nosignal' }, status: true });
  await ready;
  for (let sent = 1; sent <= 3; sent++) {
    child.kill('SIGUSR2');
    const status = await statusWhen((s) => s.dumps + s.skipped === sent && !s.pending);
    assert.strictEqual(status.dumps + status.skipped, sent, JSON.stringify(status));
  }
  const last = await statusWhen(() => true);
  assert.deepStrictEqual({ dumps: last.dumps, skipped: last.skipped, maxDumps: last.maxDumps, interval: last.interval }, { dumps: 2, skipped: 1, maxDumps: 2, interval: 0 });
  assert.strictEqual(snapshots(dir).length, 2);
  assert.match(output().stderr, /heapsnap: signal ignored: 2 dump\(s\) written, the most allowed \(option 'maxDumps', HEAPSNAP_OPTIONS=maxdumps=N\)/);
});

test('HEAPSNAP_OPTIONS=interval=,maxdumps= set the default handler\'s limits; a signal within the interval is ignored aloud', async (t) => {
  const dir = tmpDir(t);
  const { child, ready, output, statusWhen } = startChild(t, `console.log('ready'); setInterval(() => {}, 1000);`, {
    env: { HEAPSNAP_OPTIONS: `dir=${dir},interval=3600,maxdumps=5` },
    status: true,
  });
  await ready;
  child.kill('SIGUSR2');
  await statusWhen((s) => s.dumps === 1 && !s.pending);
  child.kill('SIGUSR2');
  const status = await statusWhen((s) => s.skipped === 1 && !s.pending);
  assert.deepStrictEqual({ dumps: status.dumps, skipped: status.skipped, interval: status.interval, maxDumps: status.maxDumps }, { dumps: 1, skipped: 1, interval: 3600, maxDumps: 5 });
  assert.match(output().stderr, /heapsnap: signal ignored: the last dump ended [\d.]+ s ago and the interval is 3600 s/);
  assert.strictEqual(snapshots(dir).length, 1);
});

test('threads answering one signal with one fixed name never share a file', nativeWriterOnly('signal dumps of worker threads'), async (t) => {
  const dir = tmpDir(t);
  const fixed = JSON.stringify({ dir, path: 'fixed.heapsnapshot', quiet: true });
  const { child, ready, output } = startChild(t, `
    const { Worker } = require('worker_threads');
    heapsnap.installSignalHandler(${fixed});
    let ready = 0;
    for (let i = 0; i < 2; i++) {
      const worker = new Worker(\`
        const heapsnap = require(${JSON.stringify(PKG)});
        heapsnap.installSignalHandler(${fixed});
        require('worker_threads').parentPort.postMessage('ready');
        setInterval(() => {}, 1000);
      \`, { eval: true });
      worker.on('message', () => { if (++ready === 2) console.log('ready'); });
    }
    setInterval(() => {}, 1000);
  `, { env: { HEAPSNAP_OPTIONS: 'nosignal' } });
  await ready;
  child.kill('SIGUSR2');
  const files = await waitFor(() => snapshots(dir).length === 3 && snapshots(dir));
  assert.deepStrictEqual(files, ['fixed-1.heapsnapshot', 'fixed-2.heapsnapshot', 'fixed.heapsnapshot'], output().stderr);
  for (const file of files) readSnapshot(path.join(dir, file));
});
