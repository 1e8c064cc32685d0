'use strict';
// The portable writer (lib/writer/portable.js: Node's in-process inspector, through heapsnap's
// file sink), forced with HEAPSNAP_FORCE_PORTABLE=writer in child processes, so these run
// whichever writer the rest of the suite uses. What it writes is read back by heapsnap's
// analyzer, by a plain JSON parse and by Chrome DevTools' own loader.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const heapsnap = require('heapsnap');
const { PKG, ROOT, WRITER_MODE, tmpDir, runNode, listDir, withRecords, snapshotText, readSnapshot } = require('./helpers');

const PORTABLE = { HEAPSNAP_FORCE_PORTABLE: 'writer', HEAPSNAP_OPTIONS: 'nosignal', NODE_HEAPDUMP_OPTIONS: '' };

/** Runs `body` (an async function body) in a portable child; returns what it returned, as JSON. */
function portable(body, { env = {}, args = [], cwd } = {}) {
  const code = `
    const heapsnap = require(${JSON.stringify(PKG)});
    (async () => { ${body} })().then(
      (result) => console.log(JSON.stringify(result ?? null)),
      (err) => { console.log(JSON.stringify({ error: { code: err.code, message: err.message } })); process.exitCode = 1; },
    );`;
  const child = runNode(code, { env: { ...PORTABLE, ...env }, args, cwd, timeout: 240_000 });
  assert.strictEqual(child.status, 0, `child failed: ${child.stdout}${child.stderr}`);
  return { result: JSON.parse(child.stdout.trim().split('\n').pop()), stderr: child.stderr };
}

const mode = (file) => fs.statSync(file).mode & 0o777;

/** Ids of the objects of class `name` in a snapshot file, by a plain JSON parse. */
function idsOf(file, name) {
  const { snapshot } = readSnapshot(file);
  const fields = snapshot.snapshot.meta.node_fields;
  const [type, nameAt, idAt] = ['type', 'name', 'id'].map((field) => fields.indexOf(field));
  const objectType = snapshot.snapshot.meta.node_types[type].indexOf('object');
  const ids = [];
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    if (snapshot.nodes[i + type] === objectType && snapshot.strings[snapshot.nodes[i + nameAt]] === name) ids.push(snapshot.nodes[i + idAt]);
  }
  return ids.sort((a, b) => a - b);
}

/** Chrome DevTools' own loader and model on `file` (scripts/devtools-model.js); it needs Node >= 20. */
function devtoolsSummary(file) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'devtools-model.js'), file], { encoding: 'utf8', timeout: 300_000 });
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}
const DEVTOOLS_RUNS = Number.parseInt(process.versions.node, 10) >= 20;

test('capabilities(): the forced portable writer says so, and what it cannot do', () => {
  const { result } = portable('return heapsnap.capabilities();');
  assert.strictEqual(result.writer.mode, 'portable');
  assert.strictEqual(result.writer.forced, true);
  assert.match(result.writer.reason, /HEAPSNAP_FORCE_PORTABLE=writer/);
  assert.strictEqual(result.writer.features.background, false);
  assert.strictEqual(result.writer.features.dumpRequests, false);
  assert.strictEqual(result.writer.features.signalDumps, process.platform === 'win32' ? false : 'idle-loop');
  assert.strictEqual(result.writer.features.writeSnapshot, true);
  // This process: whatever the suite runs, told consistently.
  const own = heapsnap.capabilities();
  assert.strictEqual(own.writer.forced, (process.env.HEAPSNAP_FORCE_PORTABLE || '').includes('writer'));
  assert.strictEqual(own.writer.mode === 'portable', own.writer.reason !== null);
});

for (const route of ['stream', 'inspector']) test(`writeSnapshot(path) and writeSnapshotAsync({ compress: gzip }), ${route}: 0600, complete, read by heapsnap, a JSON parse and DevTools`, (t) => {
  const dir = tmpDir(t);
  const plain = path.join(dir, 'sync.heapsnapshot');
  const sync = route === 'stream' || Number.parseInt(process.versions.v8, 10) < 12;
  const { result, stderr } = portable(`
    class PortablePlanted { constructor(i) { this.i = i; } }
    globalThis.planted = Array.from({ length: 123 }, (_, i) => new PortablePlanted(i));
    let called;
    const ok = ${sync} ? heapsnap.writeSnapshot(${JSON.stringify(plain)}, (err, name) => { called = [err && err.code, name]; })
      : !!(await heapsnap.writeSnapshotAsync({ path: ${JSON.stringify(plain)} })) && ((called = [null, ${JSON.stringify(plain)}]), true);
    const info = await heapsnap.writeSnapshotAsync({ dir: ${JSON.stringify(dir)}, compress: 'gzip' });
    return { ok, called, info };
  `, { env: { HEAPSNAP_PORTABLE_SNAPSHOT: route } });
  assert.strictEqual(stderr, '', 'nothing said on stderr');
  assert.deepStrictEqual([result.ok, result.called], [true, [null, plain]]);
  const { info } = result;
  assert.strictEqual(info.mode, 'portable');
  assert.strictEqual(info.compression, 'gzip');
  assert.match(path.basename(info.path), /^heapsnap-\d{8}-\d{6}-\d+-\d+\.heapsnapshot\.gz$/);
  assert.strictEqual(info.bytes, fs.statSync(info.path).size);
  assert.ok(info.rawBytes > info.bytes && info.pauseMs > 0 && info.durationMs >= info.pauseMs);
  assert.ok(info.memory.heapUsed > 0 && info.memory.estimatedBytes > info.memory.heapUsed);
  assert.ok(info.disk.estimatedBytes > 0);
  assert.deepStrictEqual(info.warnings, []);
  assert.strictEqual(info.memoryFile, `${info.path}.memory.json`);
  assert.deepStrictEqual(listDir(dir), withRecords('sync.heapsnapshot', path.basename(info.path)), 'no temp files');
  for (const name of listDir(dir)) assert.strictEqual(mode(path.join(dir, name)), 0o600, name);
  const record = JSON.parse(fs.readFileSync(info.memoryFile, 'utf8'));
  assert.strictEqual(record.format, 'heapsnap-memory/1');
  assert.strictEqual(record.snapshot, path.basename(info.path));
  assert.ok(record.heapSpaces.length > 3 && record.heapUsed === info.memory.heapUsed);

  for (const file of [plain, info.path]) {
    assert.strictEqual(readSnapshot(file).countObjects('PortablePlanted'), 123, `JSON parse of ${file}`);
    const summary = heapsnap.readSnapshot(file).summary();
    assert.strictEqual(summary.constructors.find((c) => c.name === 'PortablePlanted').count, 123);
    const cli = spawnSync(process.execPath, [path.join(PKG, 'bin', 'heapsnap.js'), 'summary', file, '--json', '--top', '1'], { encoding: 'utf8' });
    assert.strictEqual(JSON.parse(cli.stdout).memory.heapUsed, JSON.parse(fs.readFileSync(`${file}.memory.json`, 'utf8')).heapUsed, 'the CLI reads the memory record');
    if (!DEVTOOLS_RUNS) continue;
    const devtools = devtoolsSummary(file);
    assert.strictEqual(devtools.nodeCount, summary.nodeCount, file);
    assert.strictEqual(devtools.constructors.find((c) => c.name === 'PortablePlanted').count, 123);
  }
  if (!DEVTOOLS_RUNS) t.diagnostic('DevTools model not run: it needs Node >= 20');
});

test('object ids stay stable across portable snapshots, async and sync, stream and inspector: diff by id works', (t) => {
  const dir = tmpDir(t);
  const [a, b, c] = ['a', 'b', 'c'].map((name) => path.join(dir, `${name}.heapsnapshot`));
  portable(`
    const routes = require(${JSON.stringify(path.join(PKG, 'lib', 'writer', 'portable'))});
    class KeptThing {}
    class AddedThing {}
    globalThis.kept = Array.from({ length: 50 }, () => new KeptThing());
    routes.useSnapshotRoute('inspector');
    await heapsnap.writeSnapshotAsync({ path: ${JSON.stringify(a)}, memoryFile: false });
    routes.useSnapshotRoute('stream');
    globalThis.added = Array.from({ length: 30 }, () => new AddedThing());
    if (!heapsnap.writeSnapshot(${JSON.stringify(b)}, { memoryFile: false })) throw new Error('writeSnapshot failed');
    await heapsnap.writeSnapshotAsync({ path: ${JSON.stringify(c)}, memoryFile: false, gc: true });
  `);
  const kept = [a, b, c].map((file) => idsOf(file, 'KeptThing'));
  assert.strictEqual(kept[0].length, 50);
  assert.deepStrictEqual(kept[1], kept[0], 'same ids in the second snapshot (another path on V8 >= 12)');
  assert.deepStrictEqual(kept[2], kept[0]);
  const added = idsOf(b, 'AddedThing');
  assert.strictEqual(added.length, 30);
  assert.deepStrictEqual(idsOf(c, 'AddedThing'), added);
  const [sa, sb, sc] = [a, b, c].map((file) => heapsnap.readSnapshot(file));
  const ab = sa.diff(sb);
  const addedIds = new Set(ab.addedIds);
  assert.ok(added.every((id) => addedIds.has(id)), 'the diff by id names every new object');
  assert.ok(kept[0].every((id) => !addedIds.has(id)), 'and none of the kept ones');
  assert.strictEqual(ab.constructors.find((row) => row.name === 'AddedThing').countDelta, 30);
  const bc = sb.diff(sc);
  assert.ok(added.every((id) => !bc.addedIds.includes(id)));
});

test('leakCheck finds a planted leak (with allocation stacks) and passes its clean twin', () => {
  const { result } = portable(`
    class PortableLeak { constructor() { this.payload = new Array(16).fill(1); } }
    globalThis.leaky = [];
    function plantPortableLeak() { globalThis.leaky.push(new PortableLeak()); }
    function cleanTwin() { const local = []; local.push(new PortableLeak()); return local.length; }
    const leaky = await heapsnap.leakCheck(plantPortableLeak, { iterations: 6, stacks: true });
    const clean = await heapsnap.leakCheck(cleanTwin, { iterations: 6 });
    let asserted;
    try { await heapsnap.assertNoLeaks(cleanTwin, { iterations: 4 }); asserted = 'passed'; } catch (err) { asserted = err.message; }
    const fs = require('fs');
    for (const file of leaky.snapshots) fs.rmSync(require('path').dirname(file), { recursive: true, force: true });
    return { leaky, clean, asserted };
  `);
  const leak = result.leaky.leaks.find((l) => l.name === 'PortableLeak');
  assert.ok(leak, JSON.stringify(result.leaky.leaks.map((l) => l.name)));
  assert.strictEqual(result.leaky.ok, false);
  assert.strictEqual(leak.count, 6);
  assert.ok(leak.retainerPath.includes('leaky (property)'), leak.retainerPath.join(' -> '));
  const frames = leak.allocationStacks[0].frames.map((frame) => frame.functionName);
  assert.strictEqual(frames[0], 'plantPortableLeak', JSON.stringify(leak.allocationStacks[0]));
  assert.deepStrictEqual([result.clean.ok, result.clean.leaks], [true, []]);
  assert.strictEqual(result.asserted, 'passed');
});

test('gc() collects without --expose-gc; gc: true before a dump', () => {
  const { result } = portable(`
    const before = typeof globalThis.gc;
    let ref;
    (() => { ref = new WeakRef({ big: new Array(1000).fill(0) }); })();
    await new Promise((resolve) => setTimeout(resolve, 10));
    heapsnap.gc();
    return { before, after: typeof globalThis.gc, collected: ref.deref() === undefined };
  `);
  assert.deepStrictEqual(result, { before: 'undefined', after: 'undefined', collected: true });
});

test('native-only features refuse with ERR_HEAPSNAP_UNSUPPORTED and say why', () => {
  const { result } = portable(`
    const outcome = async (fn) => { try { await fn(); return 'ok'; } catch (err) { return [err.code, err.message]; } };
    return {
      background: await outcome(() => heapsnap.writeSnapshotAsync({ background: true })),
      signalBackground: await outcome(() => heapsnap.installSignalHandler({ background: true })),
      nearLimitDir: await outcome(() => heapsnap.onNearHeapLimit({ dir: '/tmp', compress: 'gzip' })),
      stackDepth: await outcome(() => heapsnap.startSamplingHeapProfiler({ stackDepth: 16 })),
      worker: await new Promise((resolve) => {
        const { Worker } = require('worker_threads');
        const w = new Worker(\`
          const heapsnap = require(\${JSON.stringify(${JSON.stringify(PKG)})});
          try { heapsnap.installSignalHandler(); require('worker_threads').parentPort.postMessage('ok'); }
          catch (err) { require('worker_threads').parentPort.postMessage([err.code, err.message]); }\`, { eval: true });
        w.once('message', (m) => { resolve(m); w.terminate(); });
      }),
    };
  `);
  for (const [what, outcome] of Object.entries(result)) {
    assert.ok(Array.isArray(outcome), `${what}: ${outcome}`);
    assert.strictEqual(outcome[0], 'ERR_HEAPSNAP_UNSUPPORTED', `${what}: ${outcome}`);
    assert.match(outcome[1], /portable|inspector/, what);
  }
  assert.match(result.background[1], /background: true.*native writer.*HEAPSNAP_FORCE_PORTABLE=writer/);
  assert.match(result.nearLimitDir[1], /'dir', 'compress'.*maxDumps/);
});

test('the headroom check refuses before any file exists, with its numbers', (t) => {
  const dir = tmpDir(t);
  const { result } = portable(`
    try { await heapsnap.writeSnapshotAsync({ dir: ${JSON.stringify(dir)}, memoryLimit: 1024 }); return 'written'; }
    catch (err) { return { code: err.code, message: err.message, estimatedBytes: err.estimatedBytes, availableBytes: err.availableBytes }; }
  `);
  assert.strictEqual(result.code, 'ERR_HEAPSNAP_NO_HEADROOM');
  assert.match(result.message, /not enough memory for a heap snapshot: .*\(memoryLimit\); force: true dumps anyway/);
  assert.ok(result.estimatedBytes > 1024 * 1024 && result.availableBytes === 0, JSON.stringify(result));
  assert.deepStrictEqual(listDir(dir), []);
});

test('sampling heap profile through the inspector: a .heapprofile heapsnap reads', (t) => {
  const dir = tmpDir(t);
  const { result } = portable(`
    heapsnap.startSamplingHeapProfiler({ interval: 4096 });
    globalThis.kept = [];
    function portableProfiledAllocator() { for (let i = 0; i < 20000; i++) globalThis.kept.push({ i, s: 'x' + i }); }
    portableProfiledAllocator();
    const info = await heapsnap.stopSamplingHeapProfiler({ dir: ${JSON.stringify(dir)}, compress: 'gzip' });
    let again;
    try { await heapsnap.stopSamplingHeapProfiler({ dir: ${JSON.stringify(dir)} }); } catch (err) { again = err.code; }
    return { info, again };
  `);
  const { info, again } = result;
  assert.strictEqual(again, 'ERR_HEAPSNAP_NOT_PROFILING');
  assert.match(path.basename(info.path), /^heapsnap-\d{8}-\d{6}-\d+-\d+\.heapprofile\.gz$/);
  assert.strictEqual(mode(info.path), 0o600);
  assert.ok(info.samples > 10 && info.sampledBytes > 0, JSON.stringify(info));
  const top = heapsnap.heapProfileTop(info.path, { top: 5 });
  assert.ok(top.sites.some((site) => site.functionName === 'portableProfiledAllocator'), JSON.stringify(top.sites));
  assert.deepStrictEqual(listDir(dir), [path.basename(info.path)]);
});

test('SIGUSR2 dumps once the event loop is free, rate-limited like native handlers', { skip: process.platform === 'win32' && 'no SIGUSR2 on Windows' }, async (t) => {
  const dir = tmpDir(t);
  // The writer's dump listener (what on('dump') hooks) hears the signal dump.
  const code = `require(${JSON.stringify(PKG)});
    require(${JSON.stringify(path.join(PKG, 'lib', 'loader', 'native'))}).writer().setDumpListener((notice) => console.log('NOTICE ' + JSON.stringify(notice)));
    console.log('ready'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', code], {
    env: { ...process.env, ...PORTABLE, HEAPSNAP_OPTIONS: `dir=${dir},compress=zstd` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  await new Promise((resolve) => child.stdout.once('data', resolve));
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.kill('SIGUSR2');
  const until = Date.now() + 60_000;
  while (!/heapsnap: wrote /.test(stderr) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
  child.kill('SIGUSR2'); // within the 30 s interval: ignored, and said so
  while (!/signal ignored/.test(stderr) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.match(stderr, /heapsnap: wrote .*\.heapsnapshot\.zst \(.* MB\) in \d+ ms \(JS paused \d+ ms; rss .*, heap .*\)/);
  assert.match(stderr, /heapsnap: signal ignored: the last dump ended .* s ago and the interval is 30 s/);
  const snapshots = listDir(dir).filter((name) => name.endsWith('.zst'));
  assert.strictEqual(snapshots.length, 1, listDir(dir).join(' '));
  assert.match(snapshots[0], /^heapdump-\d+\.\d+\.heapsnapshot\.zst$/);
  assert.ok(JSON.parse(snapshotText(path.join(dir, snapshots[0]))).snapshot.node_count > 1000);
  const notice = JSON.parse(stdout.split('\n').find((line) => line.startsWith('NOTICE ')).slice(7));
  assert.deepStrictEqual([notice.trigger, notice.mode, notice.path, notice.compression], ['signal', 'portable', path.join(dir, snapshots[0]), 'zstd']);
});

test("onNearHeapLimit arms Node's own near-heap-limit snapshot", (t) => {
  if (typeof require('v8').setHeapSnapshotNearHeapLimit !== 'function') return t.skip('this Node has no v8.setHeapSnapshotNearHeapLimit');
  const dir = tmpDir(t);
  const child = runNode(
    `const heapsnap = require(${JSON.stringify(PKG)});
     heapsnap.onNearHeapLimit({ maxDumps: 1 });
     heapsnap.onNearHeapLimit({ maxDumps: 1 });
     class LeakyRecord { constructor(i) { this.payload = new Array(64).fill(i); } }
     const keep = [];
     for (let i = 0; ; i++) keep.push(new LeakyRecord(i));`,
    { args: ['--max-old-space-size=64'], cwd: dir, env: PORTABLE, timeout: 180_000 },
  );
  assert.notStrictEqual(child.status, 0, 'the process still dies of OOM');
  assert.match(child.stderr, /heap out of memory/i);
  const files = listDir(dir);
  assert.strictEqual(files.length, 1, files.join(' '));
  assert.match(files[0], /^Heap\.\d{8}\.\d{6}\.\d+\.0\.\d+\.heapsnapshot$/);
  assert.ok(readSnapshot(path.join(dir, files[0])).countObjects('LeakyRecord') > 10_000);
});

test('heapsnap dump <pid> of a portable process says it has no request channel and points at --inspector', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(PKG)}); console.log('ready'); setInterval(() => {}, 1000);`], {
    env: { ...process.env, ...PORTABLE, HEAPSNAP_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((resolve) => child.stdout.once('data', resolve));
  const r = spawnSync(process.execPath, [path.join(PKG, 'bin', 'heapsnap.js'), 'dump', String(child.pid)], { encoding: 'utf8', timeout: 60_000 });
  assert.strictEqual(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /ERR_HEAPSNAP_UNSUPPORTED.*portable writer.*no request channel.*--inspector/);
  assert.strictEqual(child.exitCode, null, 'the target lives on');
});

test('a portable snapshot of a heap summarizes like a native snapshot of it', (t) => {
  if (WRITER_MODE !== 'native') return t.skip('needs the native writer next to the portable one');
  const dir = tmpDir(t);
  const [native, portableFile] = ['native', 'portable'].map((name) => path.join(dir, `${name}.heapsnapshot`));
  const child = runNode(`
    const heapsnap = require(${JSON.stringify(PKG)});
    const portable = require(${JSON.stringify(path.join(PKG, 'lib', 'writer', 'portable'))});
    const { toNative } = require(${JSON.stringify(path.join(PKG, 'lib', 'writer', 'options'))});
    class SameHeapRecord { constructor(i) { this.i = i; this.label = 'r' + i; this.tags = [i]; } }
    globalThis.records = Array.from({ length: 500 }, (_, i) => new SameHeapRecord(i));
    globalThis.byName = new Map(globalThis.records.map((r) => [r.label, r]));
    // A first portable write and gc() load its code, open its session and make the context its
    // gc function comes from: all of them are then in both snapshots.
    portable.writeSnapshotSync(toNative({ path: ${JSON.stringify(path.join(dir, 'warm.heapsnapshot'))}, memoryFile: false, gc: true }));
    if (!heapsnap.writeSnapshot(${JSON.stringify(native)}, { gc: true, memoryFile: false })) process.exit(3);
    portable.writeSnapshotSync(toNative({ path: ${JSON.stringify(portableFile)}, gc: true, memoryFile: false }));
  `, { env: { HEAPSNAP_OPTIONS: 'nosignal' } });
  assert.strictEqual(child.status, 0, child.stderr);
  const [a, b] = [native, portableFile].map((file) => heapsnap.readSnapshot(file).summary());
  assert.ok(Math.abs(a.nodeCount - b.nodeCount) <= a.nodeCount / 100, `node counts ${a.nodeCount} vs ${b.nodeCount}`);
  assert.ok(Math.abs(a.totalSize - b.totalSize) <= a.totalSize / 100, `total sizes ${a.totalSize} vs ${b.totalSize}`);
  const row = (summary, name) => {
    const { count, selfSize, retainedSize } = summary.constructors.find((c) => c.name === name);
    return { count, selfSize, retainedSize };
  };
  assert.deepStrictEqual(row(b, 'SameHeapRecord'), row(a, 'SameHeapRecord'));
  assert.strictEqual(row(a, 'SameHeapRecord').count, 500);
  // Node's own Maps may hold a few bytes more or less by then; their count and sizes may not.
  assert.deepStrictEqual([row(b, 'Map').count, row(b, 'Map').selfSize], [row(a, 'Map').count, row(a, 'Map').selfSize]);
});
