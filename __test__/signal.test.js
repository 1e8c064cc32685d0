'use strict';
// Signal dumps, in child processes: busy loops, bursts, chaining, opt-out, workers.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { PKG, tmpDir, readSnapshot } = require('./helpers');

/** Starts `code` in a child that requires heapsnap; resolves once it printed "ready". */
function startChild(t, code, { env = {}, cwd } = {}) {
  const child = spawn(process.execPath, ['-e', `const heapsnap = require(${JSON.stringify(PKG)});\n${code}`], {
    cwd,
    env: { ...process.env, HEAPSNAP_OPTIONS: '', NODE_HEAPDUMP_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
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
  return { child, ready, exited, output: () => ({ stdout, stderr }) };
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

test('SIGUSR2 dumps a process stuck in while(true){}', async (t) => {
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

test('a burst of 50 signals gives a few complete snapshots and a live process', async (t) => {
  const dir = tmpDir(t);
  const { child, ready, output } = startChild(t, `
    console.log('ready');
    setInterval(() => { const t0 = Date.now(); while (Date.now() - t0 < 50) {} }, 60);
  `, { cwd: dir, env: { HEAPSNAP_OPTIONS: 'quiet' } });
  await ready;
  for (let i = 0; i < 50; i++) child.kill('SIGUSR2');
  await waitFor(() => snapshots(dir).length > 0);
  await sleep(1500);
  const files = snapshots(dir);
  assert.ok(files.length >= 1 && files.length <= 5, `bounded number of dumps: ${files.length}`);
  for (const file of files) assert.ok(readSnapshot(path.join(dir, file)).nodes.length > 1000);
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
    const { child, ready, output } = startChild(t, `
      process.on('SIGUSR2', () => console.log('listener ran'));
      console.log('ready');
      setInterval(() => {}, 1000);
    `, { cwd: dir, env });
    await ready;
    child.kill('SIGUSR2');
    await waitFor(() => output().stdout.includes('listener ran'));
    await sleep(500);
    assert.match(output().stdout, /listener ran/);
    assert.deepStrictEqual(fs.readdirSync(dir), []);
  });
}

test('removeSignalHandler stops dumps; installSignalHandler validates its options', async (t) => {
  const dir = tmpDir(t);
  const { child, ready, output } = startChild(t, `
    const removed = [heapsnap.removeSignalHandler(), heapsnap.removeSignalHandler()];
    for (const bad of [{ signal: 'SIGKILL' }, { signal: 'SIGNOPE' }, { dir: 5 }, { bogus: 1 }]) {
      try { heapsnap.installSignalHandler(bad); console.log('accepted', JSON.stringify(bad)); }
      catch (err) { console.log('rejected', err.code); }
    }
    process.on('SIGUSR2', () => console.log('listener ran'));
    console.log(JSON.stringify(removed));
    console.log('ready');
    setInterval(() => {}, 1000);
  `, { cwd: dir });
  await ready;
  child.kill('SIGUSR2');
  await waitFor(() => output().stdout.includes('listener ran'));
  await sleep(300);
  assert.match(output().stdout, /\[true,false\]/);
  assert.strictEqual(output().stdout.match(/rejected ERR_HEAPSNAP_INVALID_OPTION/g).length, 4);
  assert.deepStrictEqual(fs.readdirSync(dir), []);
});

test('a worker dumps its own heap, on signal and on demand', async (t) => {
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

test('a worker that exits with a handler installed leaves no crash and no partial file', async (t) => {
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
  for (const file of snapshots(dir)) readSnapshot(path.join(dir, file));
});
