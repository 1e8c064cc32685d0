'use strict';
// Background (fork) dumps: each scenario runs in its own node process, which forks its own
// snapshot child. Linux only (elsewhere the option falls back, which the last test checks).

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { PKG, tmpDir, runNode, listDir, withRecords, nativeWriterOnly } = require('./helpers');

const LINUX = process.platform === 'linux';

// What every scenario starts with: heapsnap, planted objects, and views of the process's
// state that a background dump must leave as it found it.
const PRELUDE = `
const heapsnap = require(${JSON.stringify(PKG)});
const fs = require('fs');
class PlantedForBackground { constructor(i) { this.i = i; this.label = 'planted-' + i; } }
globalThis.planted = Array.from({ length: 20000 }, (_, i) => new PlantedForBackground(i));
// Mappings the kernel will not copy on fork ("dc"), by address range.
function dontForkRanges() {
  const ranges = new Set();
  let current;
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\\n')) {
    const m = /^([0-9a-f]+-[0-9a-f]+) /.exec(line);
    if (m) current = m[1];
    else if (line.startsWith('VmFlags:') && / dc/.test(line)) ranges.add(current);
  }
  return ranges;
}
function openFds() {
  return fs.readdirSync('/proc/self/fd').map((fd) => { try { return fd + '->' + fs.readlinkSync('/proc/self/fd/' + fd); } catch { return null; } })
    .filter((entry) => entry && !entry.includes('/proc/')).sort();
}
// Whether process \`pid\` has a file open in \`dir\` (the snapshot it writes has no name yet:
// O_TMPFILE, seen in /proc as "<dir>/#<inode> (deleted)").
function writingIn(pid, dir) {
  try {
    return fs.readdirSync('/proc/' + pid + '/fd').some((fd) => { try { return fs.readlinkSync('/proc/' + pid + '/fd/' + fd).startsWith(dir + '/'); } catch { return false; } });
  } catch { return false; }
}
// Processes whose parent is this one (zombies included).
function children() {
  const found = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\\d+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync('/proc/' + pid + '/stat', 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid) found.push({ pid: Number(pid), state: fields[0] });
    } catch {}
  }
  return found;
}
function plantedCount(file) {
  const row = heapsnap.readSnapshot(file).summary().constructors.find((c) => c.name === 'PlantedForBackground');
  return row ? row.count : 0;
}
const out = (value) => console.log('RESULT ' + JSON.stringify(value));
`;

function run(t, code, { env = {}, timeout = 120_000 } = {}) {
  const result = runNode(`${PRELUDE}\n(async () => {\n${code}\n})().catch((err) => { console.log('ERROR ' + JSON.stringify({ code: err.code, message: err.message })); process.exitCode = 1; });`, {
    env: { HEAPSNAP_OPTIONS: 'nosignal', ...env },
    timeout,
  });
  const line = (result.stdout || '').split('\n').find((l) => l.startsWith('RESULT ') || l.startsWith('ERROR '));
  assert.ok(line, `no result from the scenario: status ${result.status} signal ${result.signal}\n${result.stdout}\n${result.stderr}`);
  if (line.startsWith('ERROR ')) assert.fail(`scenario failed: ${line}\n${result.stderr}`);
  // A process kept alive by a leftover handle (or a hang) is killed by the timeout.
  assert.strictEqual(result.signal, null, `the scenario did not exit by itself:\n${result.stderr}`);
  return { value: JSON.parse(line.slice(7)), stderr: result.stderr };
}

test('a background dump has the planted objects, and the parent kept running and is as before', { skip: !LINUX, ...nativeWriterOnly('background (fork) dumps') }, (t) => {
  const dir = tmpDir(t);
  const { value } = run(t, `
    const dcBefore = dontForkRanges();
    const fdsBefore = openFds();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    // gc: the child collects first (single-threaded, like everything it does).
    const info = await heapsnap.writeSnapshotAsync({ background: true, gc: true, dir: ${JSON.stringify(dir)}, path: 'bg.heapsnapshot' });
    clearInterval(timer);
    const dcAfter = dontForkRanges();
    // Ranges present both times must still be "dc" (V8 may have mapped or unmapped pages).
    const lostDc = [...dcBefore].filter((range) => !dcAfter.has(range) && fs.readFileSync('/proc/self/maps', 'utf8').includes(range + ' '));
    out({ info, ticks, planted: plantedCount(info.path), lostDc, dcBefore: dcBefore.size,
          fdsSame: JSON.stringify(openFds()) === JSON.stringify(fdsBefore), fdsBefore, fdsAfter: openFds(), children: children(),
          mode: (fs.statSync(info.path).mode & 0o777).toString(8) });
  `);
  assert.strictEqual(value.info.mode, 'background', value.info.fallbackReason);
  assert.strictEqual(value.info.fallbackReason, undefined);
  assert.strictEqual(value.planted, 20000);
  assert.ok(value.info.pauseMs < value.info.durationMs, `pause ${value.info.pauseMs} of ${value.info.durationMs} ms`);
  assert.ok(value.ticks > 0, 'no timer fired while the child dumped');
  assert.ok(value.dcBefore > 0, 'this node has no DONTFORK mappings: the test checks nothing');
  assert.deepStrictEqual(value.lostDc, []);
  assert.ok(value.fdsSame, `open fds changed:\n${value.fdsBefore}\n${value.fdsAfter}`);
  assert.deepStrictEqual(value.children, []);
  assert.strictEqual(value.mode, '600');
  assert.deepStrictEqual(listDir(dir), withRecords('bg.heapsnapshot'));
});

test('an HTTP server keeps answering during a background dump, not during an in-process one', { skip: !LINUX, ...nativeWriterOnly('background (fork) dumps') }, (t) => {
  const dir = tmpDir(t);
  const { value } = run(t, `
    const http = require('http');
    const server = http.createServer((req, res) => res.end('ok'));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    let answered = 0, stop = false;
    // A bounded load generator: 4 clients, one request at a time each.
    const client = async () => {
      while (!stop) {
        await new Promise((resolve, reject) => http.get({ port: server.address().port, host: '127.0.0.1', agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject));
        answered++;
      }
    };
    const clients = Array.from({ length: 4 }, client);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const during = async (options) => {
      let inflight = true, seen = 0;
      const before = answered;
      const start = heapsnap.writeSnapshotAsync(options);
      // Responses that arrive while the dump's promise is pending.
      const counter = setInterval(() => { if (inflight) seen = answered - before; }, 1);
      const info = await start;
      inflight = false;
      clearInterval(counter);
      return { info, seen };
    };
    const background = await during({ background: true, dir: ${JSON.stringify(dir)}, path: 'bg.heapsnapshot' });
    const inProcess = await during({ dir: ${JSON.stringify(dir)}, path: 'ip.heapsnapshot' });
    stop = true;
    await Promise.all(clients);
    agent.destroy();
    server.close();
    out({ background, inProcess, planted: plantedCount(background.info.path), children: children() });
  `);
  assert.strictEqual(value.background.info.mode, 'background', value.background.info.fallbackReason);
  assert.strictEqual(value.inProcess.info.mode, 'in-process');
  assert.strictEqual(value.planted, 20000);
  // The in-process dump blocks the loop while V8 builds the snapshot: its count is only what
  // was already in flight. The background dump's child took seconds while the server served.
  assert.ok(value.background.seen > 20, `only ${value.background.seen} responses during the background dump`);
  assert.ok(value.background.seen > value.inProcess.seen, JSON.stringify(value));
  assert.deepStrictEqual(value.children, []);
});

test('the background snapshot matches an in-process one taken right after (node count within 1%)', { skip: !LINUX, ...nativeWriterOnly('background (fork) dumps') }, (t) => {
  const dir = tmpDir(t);
  const { value } = run(t, `
    const bg = await heapsnap.writeSnapshotAsync({ background: true, dir: ${JSON.stringify(dir)}, path: 'bg.heapsnapshot.gz' });
    const ip = await heapsnap.writeSnapshotAsync({ dir: ${JSON.stringify(dir)}, path: 'ip.heapsnapshot.gz' });
    out({ mode: bg.mode, compression: bg.compression, bg: heapsnap.readSnapshot(bg.path).summary().nodeCount, ip: heapsnap.readSnapshot(ip.path).summary().nodeCount });
  `);
  assert.strictEqual(value.mode, 'background');
  assert.strictEqual(value.compression, 'gzip');
  assert.ok(Math.abs(value.bg - value.ip) / value.ip < 0.01, `background ${value.bg} nodes, in-process ${value.ip}`);
});

test('20 background dumps in a row under allocation churn all give valid files', { skip: !LINUX, ...nativeWriterOnly('background (fork) dumps') }, (t) => {
  const dir = tmpDir(t);
  const { value } = run(t, `
    let churn = [];
    const churner = setInterval(() => { churn = Array.from({ length: 5000 }, (_, i) => ({ i, s: 'c' + i })); }, 2);
    const results = [];
    for (let i = 0; i < 20; i++) {
      const info = await heapsnap.writeSnapshotAsync({ background: true, dir: ${JSON.stringify(dir)}, path: 'churn-' + i + '.heapsnapshot' });
      results.push({ mode: info.mode, reason: info.fallbackReason, planted: plantedCount(info.path) });
    }
    clearInterval(churner);
    out({ results, children: children() });
  `, { timeout: 300_000 });
  const fallbacks = value.results.filter((r) => r.mode !== 'background');
  t.diagnostic(`fallbacks: ${fallbacks.length}/20 ${fallbacks.map((r) => r.reason).join('; ')}`);
  for (const result of value.results) assert.strictEqual(result.planted, 20000);
  // The target is >= 95% without fallback.
  assert.ok(fallbacks.length <= 1, `${fallbacks.length} of 20 fell back: ${JSON.stringify(fallbacks)}`);
  assert.deepStrictEqual(value.children, []);
  assert.strictEqual(listDir(dir).length, 40, 'twenty snapshots, each with its memory record');
});

test('a stalled child is killed by the watchdog: in-process fallback, or a rejection with fallback: false', { skip: !LINUX, ...nativeWriterOnly('background (fork) dumps') }, (t) => {
  const dir = tmpDir(t);
  const { value } = run(t, `
    const info = await heapsnap.writeSnapshotAsync({ background: true, backgroundTimeout: 500, dir: ${JSON.stringify(dir)}, path: 'a.heapsnapshot' });
    const afterFallback = { files: fs.readdirSync(${JSON.stringify(dir)}).sort(), children: children() };
    let rejection;
    try {
      await heapsnap.writeSnapshotAsync({ background: true, fallback: false, backgroundTimeout: 500, dir: ${JSON.stringify(dir)}, path: 'b.heapsnapshot' });
    } catch (err) {
      rejection = { code: err.code, message: err.message };
    }
    out({ info, planted: plantedCount(info.path), afterFallback, rejection, files: fs.readdirSync(${JSON.stringify(dir)}).sort(), children: children() });
  `, { env: { HEAPSNAP_TEST_BACKGROUND_CHILD: 'stall' } });
  assert.strictEqual(value.info.mode, 'in-process');
  assert.match(value.info.fallbackReason, /did not finish within 500 ms and was killed/);
  assert.strictEqual(value.planted, 20000);
  assert.deepStrictEqual(value.afterFallback, { files: withRecords('a.heapsnapshot'), children: [] });
  assert.strictEqual(value.rejection.code, 'ERR_HEAPSNAP_BACKGROUND_FAILED');
  assert.match(value.rejection.message, /did not finish within 500 ms.*fallback: false/);
  assert.deepStrictEqual(value.files, withRecords('a.heapsnapshot'));
  assert.deepStrictEqual(value.children, []);
});

test('a child killed mid-dump leads to the fallback, leaving no temp file and no zombie', { skip: !LINUX, ...nativeWriterOnly('background (fork) dumps') }, (t) => {
  const dir = tmpDir(t);
  const { value } = run(t, `
    globalThis.more = Array.from({ length: 300000 }, (_, i) => ({ i, s: 'more-' + i }));
    let killed;
    const hunter = setInterval(() => {
      const [child] = children();
      // Once the child has its (still unnamed) file open.
      if (child && !killed && writingIn(child.pid, ${JSON.stringify(dir)})) { killed = child.pid; process.kill(child.pid, 'SIGKILL'); }
    }, 2);
    const info = await heapsnap.writeSnapshotAsync({ background: true, dir: ${JSON.stringify(dir)}, path: 'k.heapsnapshot' });
    clearInterval(hunter);
    out({ killed, info, planted: plantedCount(info.path), files: fs.readdirSync(${JSON.stringify(dir)}).sort(), children: children() });
  `);
  assert.ok(value.killed, 'the test never saw the child');
  assert.strictEqual(value.info.mode, 'in-process');
  assert.match(value.info.fallbackReason, new RegExp(`pid ${value.killed}\\) ended with signal 9`));
  assert.strictEqual(value.planted, 20000);
  assert.deepStrictEqual(value.files, withRecords('k.heapsnapshot'));
  assert.deepStrictEqual(value.children, []);
});

test('a process exiting mid-dump leaves no child and no temp file', { skip: !LINUX, ...nativeWriterOnly('background (fork) dumps') }, (t) => {
  const dir = tmpDir(t);
  const { value } = run(t, `
    globalThis.more = Array.from({ length: 300000 }, (_, i) => ({ i, s: 'more-' + i }));
    heapsnap.writeSnapshotAsync({ background: true, dir: ${JSON.stringify(dir)}, path: 'x.heapsnapshot' });
    const wait = setInterval(() => {
      const [child] = children();
      if (child && writingIn(child.pid, ${JSON.stringify(dir)})) { out({ child: child.pid }); process.exit(0); }
    }, 2);
  `);
  assert.ok(value.child);
  let alive = true;
  try {
    process.kill(value.child, 0);
  } catch {
    alive = false;
  }
  assert.strictEqual(alive, false, `child ${value.child} outlived its parent`);
  assert.deepStrictEqual(listDir(dir), []);
});

test('one background dump at a time: a second request gets ERR_HEAPSNAP_BUSY', { skip: !LINUX, ...nativeWriterOnly('background (fork) dumps') }, (t) => {
  const dir = tmpDir(t);
  const { value } = run(t, `
    const first = heapsnap.writeSnapshotAsync({ background: true, dir: ${JSON.stringify(dir)}, path: '1.heapsnapshot' });
    let second;
    try {
      await heapsnap.writeSnapshotAsync({ background: true, dir: ${JSON.stringify(dir)}, path: '2.heapsnapshot' });
    } catch (err) {
      second = { code: err.code, message: err.message };
    }
    const info = await first;
    const third = await heapsnap.writeSnapshotAsync({ background: true, dir: ${JSON.stringify(dir)}, path: '3.heapsnapshot' });
    out({ first: info.mode, second, third: third.mode, files: fs.readdirSync(${JSON.stringify(dir)}).sort() });
  `);
  assert.strictEqual(value.first, 'background');
  assert.strictEqual(value.second.code, 'ERR_HEAPSNAP_BUSY');
  assert.match(value.second.message, /background heap dump is already running/);
  assert.strictEqual(value.third, 'background');
  assert.deepStrictEqual(value.files, withRecords('1.heapsnapshot', '3.heapsnapshot'));
});

test('HEAPSNAP_OPTIONS=background: SIGUSR2 dumps in a child while timers keep firing', { skip: !LINUX, ...nativeWriterOnly('background (fork) dumps') }, (t) => {
  const dir = tmpDir(t);
  const { value, stderr } = run(t, `
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    process.kill(process.pid, 'SIGUSR2');
    const deadline = Date.now() + 60000;
    let files = [];
    while (Date.now() < deadline && files.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      files = fs.readdirSync(${JSON.stringify(dir)}).filter((name) => !name.startsWith('.') && !name.endsWith('.memory.json'));
    }
    // The success line and the child's reaping follow the file's rename, on the loop: wait for
    // them (a loaded machine may take a while), up to 10 s.
    for (let i = 0; i < 500 && children().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    clearInterval(timer);
    out({ files, ticks, planted: plantedCount(${JSON.stringify(dir)} + '/' + files[0]), children: children() });
  `, { env: { HEAPSNAP_OPTIONS: `background,dir=${dir}` } });
  assert.strictEqual(value.files.length, 1);
  assert.strictEqual(value.planted, 20000);
  assert.ok(value.ticks > 0);
  assert.match(stderr, /heapsnap: wrote .*\(in the background\)/);
  assert.deepStrictEqual(value.children, []);
});

test('background options are checked', async () => {
  const heapsnap = require(PKG);
  await assert.rejects(() => heapsnap.writeSnapshotAsync({ background: 'yes' }), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
  await assert.rejects(() => heapsnap.writeSnapshotAsync({ background: true, backgroundTimeout: -5 }), {
    code: 'ERR_HEAPSNAP_INVALID_OPTION',
    message: /backgroundTimeout' must be a positive number of milliseconds/,
  });
  // The synchronous, heapdump-compatible call never forks.
  assert.throws(() => heapsnap.writeSnapshot({ background: true }), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
  assert.throws(() => heapsnap.installSignalHandler({ background: true, fallback: 1 }), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
  const { optionsFromEnv } = require(path.join(PKG, 'lib/writer/signal'));
  assert.deepStrictEqual(optionsFromEnv({ HEAPSNAP_OPTIONS: 'background,fallback=false,bgtimeout=30000' }), {
    background: true,
    fallback: false,
    backgroundTimeout: 30000,
  });
});

test('elsewhere than Linux the option falls back in-process with a clear reason', { skip: LINUX }, async (t) => {
  const heapsnap = require(PKG);
  const dir = tmpDir(t);
  const info = await heapsnap.writeSnapshotAsync({ background: true, dir, path: 'a.heapsnapshot' });
  assert.strictEqual(info.mode, 'in-process');
  assert.match(info.fallbackReason, /background dumps need Linux/);
  assert.ok(fs.existsSync(info.path));
});
