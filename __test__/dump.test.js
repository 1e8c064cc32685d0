'use strict';
// `heapsnap dump <pid>` against real processes that loaded heapsnap: the request channel
// (a request file in /tmp/heapsnap-<uid>/ plus the signal), what the file holds, that the
// target keeps serving and keeps nothing behind, and one clear line for every failure.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const { spawn, spawnSync } = require('child_process');
const { PKG, tmpDir, readSnapshot, snapshotText, listDir, withRecords, nativeWriterOnly } = require('./helpers');

const CLI = path.join(PKG, 'bin', 'heapsnap.js');
const { channelDir } = require(path.join(PKG, 'lib', 'operator', 'channel'));

/**
 * A target process: `code` runs after heapsnap is required; the process then answers each
 * stdin line `ping` with `pong`, so a test can tell it still serves. Resolves once it printed
 * `ready` (or what `readyLine` says).
 */
function startTarget(t, code, { env = {}, cwd, withHeapsnap = true, readyLine = 'ready' } = {}) {
  const source = `${withHeapsnap ? `const heapsnap = require(${JSON.stringify(PKG)});` : ''}
    ${code}
    require('readline').createInterface({ input: process.stdin }).on('line', (line) => { if (line === 'ping') console.log('pong'); });`;
  const child = spawn(process.execPath, ['-e', source], { cwd, env: { ...process.env, HEAPSNAP_OPTIONS: '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const lines = readline.createInterface({ input: child.stdout });
  const waiters = [];
  lines.on('line', (line) => {
    const i = waiters.findIndex((w) => w.match(line));
    if (i >= 0) waiters.splice(i, 1)[0].resolve(line);
  });
  const nextLine = (match) => new Promise((resolve) => waiters.push({ match, resolve }));
  t.after(() => child.kill('SIGKILL'));
  const ready = nextLine((line) => line.startsWith(readyLine));
  return ready.then((line) => ({
    child,
    pid: child.pid,
    readyLine: line,
    stderr: () => stderr,
    ping: () => {
      const pong = nextLine((l) => l === 'pong');
      child.stdin.write('ping\n');
      return pong;
    },
  }));
}

function dumpCli(args, options = {}) {
  return runCli(['dump', ...args], options);
}

function runCli(args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { encoding: 'utf8', ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The CLI failed with exit 2 and exactly one stderr line carrying `code`. */
function assertFailure(r, code, pattern) {
  assert.strictEqual(r.status, 2, `exit ${r.status}\n${r.stdout}${r.stderr}`);
  assert.strictEqual(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.strictEqual(lines.length, 1, r.stderr);
  assert.match(lines[0], new RegExp(`^heapsnap: ${code}: `));
  if (pattern) assert.match(lines[0], pattern);
}

/** Request files of `pid` left in the channel (its `heapsnap ps` registration is not one). */
function leftInChannel(pid) {
  const dir = channelDir(process.getuid());
  // The channel's names for one pid: `<pid>.request[.taken]`, `<pid>-<id>.response` and its
  // `.<pid>-<id>.response.tmp`; `<pid>.process.json` is the registry's, kept while it runs.
  const ours = new RegExp(`^\\.?${pid}[.-]`);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => ours.test(name) && name !== `${pid}.process.json`) : [];
}

const PROBES = "class DumpProbe { constructor(i) { this.i = i; } }; globalThis.probes = Array.from({ length: 500 }, (_, i) => new DumpProbe(i)); console.log('ready');";

test('heapsnap dump <pid> prints the path of a complete 0600 snapshot; the target keeps serving and keeps nothing behind', nativeWriterOnly('the request channel of heapsnap dump <pid>'), async (t) => {
  const dir = tmpDir(t);
  const cwd = tmpDir(t);
  const target = await startTarget(t, PROBES, { cwd });
  const file = path.join(dir, 'remote.heapsnapshot');
  const r = await dumpCli([String(target.pid), '-o', file]);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.stdout, `${file}\n`);
  assert.strictEqual(readSnapshot(file).countObjects('DumpProbe'), 500);
  assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
  assert.strictEqual(await target.ping(), 'pong');
  assert.deepStrictEqual(listDir(dir), withRecords('remote.heapsnapshot'), 'no temp file beside it');
  assert.deepStrictEqual(fs.readdirSync(cwd), [], 'no ordinary signal dump in the cwd');
  assert.deepStrictEqual(leftInChannel(target.pid), []);
  const channel = fs.statSync(channelDir(process.getuid()));
  assert.strictEqual(channel.mode & 0o777, 0o700);
  assert.match(target.stderr(), /heapsnap: heapsnap dump: wrote .*remote\.heapsnapshot/);

  // A plain kill -USR2 afterwards is an ordinary heapdump-style dump again.
  process.kill(target.pid, 'SIGUSR2');
  for (let i = 0; i < 200 && !fs.readdirSync(cwd).some((n) => /^heapdump-.*\.heapsnapshot$/.test(n)); i++) await new Promise((r) => setTimeout(r, 50));
  assert.strictEqual(fs.readdirSync(cwd).filter((n) => /^heapdump-.*\.heapsnapshot$/.test(n)).length, 1);
});

test('heapsnap dump --gc --compress gzip, relative -o, and the default name', nativeWriterOnly('the request channel of heapsnap dump <pid>'), async (t) => {
  const cwd = tmpDir(t);
  const target = await startTarget(t, PROBES);
  const r = await dumpCli([String(target.pid), '--gc', '--compress', 'gzip', '-o', 'rel.heapsnapshot.gz'], { cwd });
  assert.strictEqual(r.status, 0, r.stderr);
  const file = path.join(cwd, 'rel.heapsnapshot.gz');
  assert.strictEqual(r.stdout, `${file}\n`);
  assert.deepStrictEqual([...fs.readFileSync(file).subarray(0, 2)], [0x1f, 0x8b]);
  assert.strictEqual(readSnapshot(file).countObjects('DumpProbe'), 500);

  const byDefault = await dumpCli([String(target.pid)], { cwd });
  assert.strictEqual(byDefault.status, 0, byDefault.stderr);
  const name = path.basename(byDefault.stdout.trim());
  assert.match(name, new RegExp(`^heapsnap-${target.pid}-\\d{8}-\\d{6}\\.heapsnapshot$`));
  assert.strictEqual(readSnapshot(path.join(cwd, name)).countObjects('DumpProbe'), 500);
});

test('--thread picks a worker; without it the main thread dumps, and the other thread writes nothing', nativeWriterOnly('the request channel of heapsnap dump <pid>'), async (t) => {
  const cwd = tmpDir(t);
  const dir = tmpDir(t);
  const code = `${PROBES.replace("console.log('ready');", '')}
    const { Worker } = require('worker_threads');
    const worker = new Worker(\`const heapsnap = require(${JSON.stringify(JSON.stringify(PKG)).slice(1, -1)});
      class WorkerProbe {}; globalThis.w = Array.from({ length: 300 }, () => new WorkerProbe());
      require('worker_threads').parentPort.postMessage('up'); setInterval(() => {}, 1000);\`, { eval: true });
    worker.on('message', () => console.log('ready ' + worker.threadId));`;
  const target = await startTarget(t, code, { cwd });
  const threadId = target.readyLine.split(' ')[1];

  const fromWorker = path.join(dir, 'worker.heapsnapshot');
  const r = await dumpCli([String(target.pid), '--thread', threadId, '-o', fromWorker]);
  assert.strictEqual(r.status, 0, r.stderr);
  const w = readSnapshot(fromWorker);
  assert.strictEqual(w.countObjects('WorkerProbe'), 300);
  assert.strictEqual(w.countObjects('DumpProbe'), 0);

  const fromMain = path.join(dir, 'main.heapsnapshot');
  const m = await dumpCli([String(target.pid), '-o', fromMain]);
  assert.strictEqual(m.status, 0, m.stderr);
  assert.strictEqual(readSnapshot(fromMain).countObjects('DumpProbe'), 500);
  assert.strictEqual(readSnapshot(fromMain).countObjects('WorkerProbe'), 0);

  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepStrictEqual(fs.readdirSync(cwd), [], 'the thread not asked wrote no ordinary dump');
  assert.strictEqual(await target.ping(), 'pong');

  const noSuchWorker = await dumpCli([String(target.pid), '--thread', '99', '--timeout', '1']);
  assertFailure(noSuchWorker, 'ERR_HEAPSNAP_NO_ANSWER', /thread 99 of process \d+ did not answer SIGUSR2/);
  assert.deepStrictEqual(leftInChannel(target.pid), []);
});

test('the signal comes from the target HEAPSNAP_OPTIONS; nosignal is explained', nativeWriterOnly('the request channel of heapsnap dump <pid>'), async (t) => {
  const usr1 = await startTarget(t, PROBES, { env: { HEAPSNAP_OPTIONS: 'signal=SIGUSR1' } });
  const file = path.join(tmpDir(t), 'usr1.heapsnapshot');
  const r = await dumpCli([String(usr1.pid), '-o', file]);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(readSnapshot(file).countObjects('DumpProbe'), 500);

  const off = await startTarget(t, PROBES, { env: { HEAPSNAP_OPTIONS: 'nosignal' } });
  assertFailure(await dumpCli([String(off.pid)]), 'ERR_HEAPSNAP_NO_HANDLER', /signal dumps off.*--inspector/);
  assert.strictEqual(await off.ping(), 'pong');
});

test('failures: no such process, not Node, heapsnap not loaded, no handler, write error, target died', nativeWriterOnly('the request channel of heapsnap dump <pid>'), async (t) => {
  assertFailure(await dumpCli(['2147483646']), 'ESRCH', /no such process: 2147483646/);

  const sleeper = spawn('sleep', ['30']);
  t.after(() => sleeper.kill('SIGKILL'));
  assertFailure(await dumpCli([String(sleeper.pid)]), 'ERR_HEAPSNAP_NOT_NODE', /is not a Node\.js process \(.*sleep\)/);

  const plain = await startTarget(t, "console.log('ready')", { withHeapsnap: false });
  assertFailure(await dumpCli([String(plain.pid)]), 'ERR_HEAPSNAP_NOT_LOADED', /has not loaded heapsnap.*--inspector.*any local user can connect/);
  assert.strictEqual(await plain.ping(), 'pong', 'not signalled: still alive');

  const removed = await startTarget(t, "heapsnap.removeSignalHandler(); process.on('SIGUSR2', () => {}); console.log('ready')");
  assertFailure(await dumpCli([String(removed.pid), '--timeout', '1']), 'ERR_HEAPSNAP_NO_ANSWER', /did not answer SIGUSR2/);

  const writer = await startTarget(t, PROBES);
  const missing = path.join(tmpDir(t), 'no', 'such', 'dir', 'x.heapsnapshot');
  assertFailure(await dumpCli([String(writer.pid), '-o', missing]), 'ENOENT', /could not write .*x\.heapsnapshot/);
  assert.strictEqual(fs.existsSync(path.dirname(missing)), false);
  assert.strictEqual(await writer.ping(), 'pong');
  assert.deepStrictEqual(leftInChannel(writer.pid), []);

  const dying = await startTarget(t, "heapsnap.removeSignalHandler(); process.on('SIGUSR2', () => process.exit(7)); console.log('ready')");
  assertFailure(await dumpCli([String(dying.pid), '--signal', 'SIGUSR2']), 'ERR_HEAPSNAP_TARGET_DIED', /exited before the snapshot was complete/);
});

test('heapsnap dump --inspector: a process that never loaded heapsnap, its inspector closed again', async (t) => {
  const target = await startTarget(t, PROBES, { withHeapsnap: false });
  const file = path.join(tmpDir(t), 'plain.heapsnapshot.zst');
  const r = await dumpCli([String(target.pid), '--inspector', '-o', file]);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.stdout, `${file}\n`);
  assert.strictEqual(readSnapshot(file).countObjects('DumpProbe'), 500);
  assert.strictEqual(await target.ping(), 'pong');
  const { listeningSockets } = require(path.join(PKG, 'lib', 'operator', 'proc'));
  assert.deepStrictEqual(listeningSockets(target.pid), [], 'no inspector port left open');
  const misuse = await dumpCli([String(target.pid), '--inspector', '--thread', '2']);
  assert.strictEqual(misuse.status, 2);
  assert.match(misuse.stderr, /^heapsnap: ERR_HEAPSNAP_INVALID_OPTION: --thread and --signal are for processes with heapsnap loaded/);
});

test('usage errors exit 2 with one line', async () => {
  for (const [args, pattern] of [
    [[], /one process id/],
    [['abc'], /positive integer/],
    [['1', '--compress', 'brotli'], /--compress must be gzip or zstd/],
    [['1', '--thread', '-3'], /--thread/],
    [['1', '--timeout', '0'], /--timeout/],
    [['1', '--signal', 'SIGNOPE'], /--signal/],
  ]) {
    const r = await dumpCli(args);
    assert.strictEqual(r.status, 2, `${args}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
});

test('only the target user or root can ask: another user gets EPERM, and a channel others can enter is refused', { skip: process.getuid() !== 0 && 'needs root to act as another user', ...nativeWriterOnly('the request channel of heapsnap dump <pid>') }, async (t) => {
  const target = await startTarget(t, PROBES);
  const asNobody = spawnSync(process.execPath, [CLI, 'dump', String(target.pid)], { uid: 65534, gid: 65534, cwd: '/', encoding: 'utf8' });
  assert.strictEqual(asNobody.status, 2, asNobody.stderr);
  assert.match(asNobody.stderr, /^heapsnap: EPERM: permission denied: process \d+ belongs to another user/);

  // A channel directory made by someone else (here: left group/world-writable) is never used.
  const dir = channelDir(process.getuid());
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o777);
  t.after(() => fs.chmodSync(dir, 0o700));
  assertFailure(await dumpCli([String(target.pid)]), 'ERR_HEAPSNAP_UNSAFE_CHANNEL', /must be a directory owned by uid 0 with mode 0700/);
  // (The target's side of the same rule, ignoring requests there, is unit-tested in remote.rs.)
  fs.chmodSync(dir, 0o700);
  assert.strictEqual(await target.ping(), 'pong');
});

// ---- heapsnap profile <pid> ----

const PROFILED = `
  const kept = [];
  function remoteProfiledSite() { for (let i = 0; i < 100; i++) kept.push({ payload: new Array(64).fill(i) }); }
  setInterval(remoteProfiledSite, 5);
  console.log('ready');`;

function topSites(file) {
  const r = spawnSync(process.execPath, [CLI, 'top', file, '--json'], { encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).sites;
}

test('heapsnap profile <pid> samples a live process for --seconds; the profile names the allocating function; twice in a row', nativeWriterOnly('the request channel of heapsnap profile <pid>'), async (t) => {
  const dir = tmpDir(t);
  const target = await startTarget(t, PROFILED);
  for (const name of ['first.heapprofile', 'second.heapprofile.gz']) {
    const file = path.join(dir, name);
    const r = await runCli(['profile', String(target.pid), '--seconds', '1', '--interval', '8192', '-o', file]);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(r.stdout, `${file}\n`);
    assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
    const site = topSites(file).find((s) => s.functionName === 'remoteProfiledSite');
    assert.ok(site && site.selfSize > 0, `remoteProfiledSite among ${JSON.stringify(topSites(file).slice(0, 5))}`);
    assert.strictEqual(site.url, '[eval]');
  }
  assert.deepStrictEqual(listDir(dir), ['first.heapprofile', 'second.heapprofile.gz']);
  assert.strictEqual(await target.ping(), 'pong');
  assert.deepStrictEqual(leftInChannel(target.pid), []);
  assert.match(target.stderr(), /heapsnap: heapsnap profile: wrote .*first\.heapprofile/);
});

test("heapsnap profile never touches a profiler the application runs itself: ERR_HEAPSNAP_BUSY; usage errors are exit 2", nativeWriterOnly('the request channel of heapsnap profile <pid>'), async (t) => {
  const dir = tmpDir(t);
  const target = await startTarget(t, `heapsnap.startSamplingHeapProfiler(); ${PROFILED}`);
  const file = path.join(dir, 'p.heapprofile');
  const r = await runCli(['profile', String(target.pid), '--seconds', '1', '-o', file]);
  assertFailure(r, 'ERR_HEAPSNAP_BUSY', /already running/);
  assert.deepStrictEqual(listDir(dir), []);
  assert.deepStrictEqual(leftInChannel(target.pid), []);
  for (const args of [['--seconds', '0'], ['--interval', 'x'], ['--stack-depth', '-1'], ['--compress', 'xz']]) {
    const bad = await runCli(['profile', String(target.pid), ...args]);
    assert.strictEqual(bad.status, 2, `${args}: ${bad.stderr}`);
    assert.match(bad.stderr, /ERR_HEAPSNAP_INVALID_OPTION/);
  }
});

test('heapsnap dump --redact: no planted value in the file, every name kept; through the channel and --inspector', nativeWriterOnly('the request channel of heapsnap dump <pid>'), async (t) => {
  const dir = tmpDir(t);
  const secret = `sk_live_${'7'.repeat(24)}`;
  const plant = `class RedactProbe { constructor() { this.apiToken = ${JSON.stringify(secret)}.split('').join(''); } }
    globalThis.redactProbe = new RedactProbe(); console.log('ready');`;
  for (const [withHeapsnap, extra] of [[true, []], [false, ['--inspector']]]) {
    const target = await startTarget(t, plant, { withHeapsnap });
    const file = path.join(dir, `redacted-${withHeapsnap ? 'channel' : 'inspector'}.heapsnapshot`);
    const r = await dumpCli([String(target.pid), '-o', file, '--redact', ...extra]);
    assert.strictEqual(r.status, 0, r.stderr);
    const text = snapshotText(file);
    assert.ok(!text.includes(secret), `${file} holds the secret`);
    assert.match(text, /"<redacted 32 chars>"/);
    for (const name of ['RedactProbe', 'apiToken']) assert.ok(text.includes(`"${name}"`), `${file} lost ${name}`);
    assert.strictEqual(readSnapshot(file).countObjects('RedactProbe'), 1);
  }
  // Without --redact the value is there: the check above can fail.
  const plainTarget = await startTarget(t, plant);
  const plain = path.join(dir, 'plain.heapsnapshot');
  assert.strictEqual((await dumpCli([String(plainTarget.pid), '-o', plain])).status, 0);
  assert.ok(snapshotText(plain).includes(secret));
});
