'use strict';
// Sampling heap profiles: startSamplingHeapProfiler / stopSamplingHeapProfiler write a
// .heapprofile that names the code that allocated, and `heapsnap top` reads it (and Node's own
// `--heap-prof` files). Real child processes; no timing assertions.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { spawnSync } = require('child_process');
const heapsnap = require('heapsnap');
const { ROOT, PKG, tmpDir, listDir, WRITER_MODE } = require('./helpers');

const CLI = path.join(PKG, 'bin', 'heapsnap.js');
const V8_MAJOR = Number.parseInt(process.versions.v8, 10);

// The planted allocation site: a named function on line 4 that allocates ~40 MB and keeps it.
const PLANTED_LINE = 4;
const PLANTED = `'use strict';
const kept = [];
globalThis.__kept = kept;
function plantedProfileAllocator() {
  for (let i = 0; i < 200000; i++) kept.push({ i, text: 'planted-' + i, list: [i, i + 1, i + 2] });
}
`;

/** Writes the planted script plus `tail` to a file and runs it; returns the child's stdout as JSON when it printed some. */
function runPlanted(t, dir, tail, args = []) {
  const file = path.join(dir, 'planted.js');
  fs.writeFileSync(file, `${PLANTED}${tail}\n`);
  const child = spawnSync(process.execPath, [...args, file], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  assert.strictEqual(child.status, 0, child.stderr);
  return child.stdout.trim() ? JSON.parse(child.stdout) : undefined;
}

function cli(...args) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** Every node of a .heapprofile's call tree, read plainly. */
function profileNodes(file) {
  let bytes = fs.readFileSync(file);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = zlib.gunzipSync(bytes);
  const profile = JSON.parse(bytes.toString('utf8'));
  const nodes = [];
  const stack = [profile.head];
  while (stack.length > 0) {
    const node = stack.pop();
    nodes.push(node);
    stack.push(...node.children);
  }
  return { profile, nodes };
}

function assertPlantedInTop(file) {
  const top = cli('top', file, '--json');
  assert.strictEqual(top.status, 0, top.stderr);
  const result = JSON.parse(top.stdout);
  const site = result.sites.find((s) => s.functionName === 'plantedProfileAllocator');
  assert.ok(site, `planted site missing from ${top.stdout}`);
  assert.strictEqual(site.line, PLANTED_LINE);
  assert.match(site.url, /planted\.js$/);
  assert.ok(site.selfSize > 0 && site.totalSize >= site.selfSize);
  assert.strictEqual(result.sites[0].functionName, 'plantedProfileAllocator', 'the planted site allocates most');
  const text = cli('top', file, '--top', '5');
  assert.strictEqual(text.status, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`plantedProfileAllocator\\s+\\S*planted\\.js:${PLANTED_LINE}:\\d+`));
  assert.match(text.stdout, /inlined function/);
}

test('stopSamplingHeapProfiler writes a .heapprofile that names the planted allocation site', (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'p.heapprofile');
  const info = runPlanted(t, dir, `
const heapsnap = require(${JSON.stringify(PKG)});
heapsnap.startSamplingHeapProfiler();
plantedProfileAllocator();
heapsnap.stopSamplingHeapProfiler({ path: ${JSON.stringify(file)} }).then((info) => console.log(JSON.stringify(info)));`);
  assert.strictEqual(info.path, file);
  assert.strictEqual(info.compression, 'none');
  assert.ok(info.samples > 10, `only ${info.samples} samples`);
  assert.strictEqual(info.bytes, fs.statSync(file).size);
  assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepStrictEqual(listDir(dir), ['p.heapprofile', 'planted.js'], 'no temp file is left');

  const { profile, nodes } = profileNodes(file);
  assert.strictEqual(profile.head.callFrame.functionName, '(root)');
  const planted = nodes.filter((n) => n.callFrame.functionName === 'plantedProfileAllocator');
  assert.ok(planted.length > 0, 'a callFrame names the planted function');
  assert.strictEqual(planted[0].callFrame.lineNumber, PLANTED_LINE - 1, 'lineNumber is 0-based in the file');
  assert.strictEqual(typeof planted[0].callFrame.scriptId, 'string');
  assert.ok(planted.reduce((sum, n) => sum + n.selfSize, 0) > 0);
  const ids = new Set(nodes.map((n) => n.id));
  assert.strictEqual(profile.samples.length, info.samples);
  for (const sample of profile.samples) assert.ok(ids.has(sample.nodeId) && sample.size > 0);

  assertPlantedInTop(file);
});

test("Chrome DevTools' own SamplingHeapProfileModel finds the planted site in the written .heapprofile", (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'p.heapprofile');
  runPlanted(t, dir, `
const heapsnap = require(${JSON.stringify(PKG)});
heapsnap.startSamplingHeapProfiler();
plantedProfileAllocator();
heapsnap.stopSamplingHeapProfiler({ path: ${JSON.stringify(file)} });`);
  // DevTools' model class, cut verbatim from its HeapProfileView.ts (scripts/devtools-model.js).
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'devtools-model.js'), '--heapprofile', file, '--top', '5'], { encoding: 'utf8', timeout: 300_000 });
  assert.strictEqual(r.status, 0, r.stderr);
  const devtools = JSON.parse(r.stdout);
  const [first] = devtools.sites;
  assert.strictEqual(first.functionName, 'plantedProfileAllocator', `DevTools' top sites: ${r.stdout}`);
  assert.strictEqual(first.url, path.join(dir, 'planted.js'));
  assert.strictEqual(first.line, PLANTED_LINE);

  // The same bytes as heapsnap's own reading.
  const top = cli('top', file, '--json');
  assert.strictEqual(top.status, 0, top.stderr);
  const ours = JSON.parse(top.stdout);
  assert.strictEqual(devtools.total, ours.totalSize);
  const site = ours.sites.find((s) => s.functionName === first.functionName && s.line === first.line);
  assert.strictEqual(first.self, site.selfSize);
});

test('compress: gzip writes the default heapsnap-*.heapprofile.gz name, which top reads', (t) => {
  const dir = tmpDir(t);
  const info = runPlanted(t, dir, `
const heapsnap = require(${JSON.stringify(PKG)});
heapsnap.startSamplingHeapProfiler({ interval: 64 * 1024, stackDepth: ${WRITER_MODE === 'native' ? 32 : 128} });
plantedProfileAllocator();
heapsnap.stopSamplingHeapProfiler({ dir: ${JSON.stringify(dir)}, compress: 'gzip' }).then((info) => console.log(JSON.stringify(info)));`);
  assert.strictEqual(info.compression, 'gzip');
  assert.match(path.basename(info.path), /^heapsnap-\d{8}-\d{6}-\d+-\d+\.heapprofile\.gz$/);
  assert.ok(info.rawBytes > info.bytes);
  const { nodes } = profileNodes(info.path);
  assert.ok(nodes.some((n) => n.callFrame.functionName === 'plantedProfileAllocator'));
  assertPlantedInTop(info.path);
});

test("Node's own --heap-prof output is read by heapsnap top", (t) => {
  const dir = tmpDir(t);
  // Node writes the profile at exit: a script nothing refers to any more may be collected by
  // then, and its frames lose their url and line. Keep the function, so its script stays.
  runPlanted(t, dir, 'plantedProfileAllocator();\nglobalThis.__planted = plantedProfileAllocator;', ['--heap-prof', `--heap-prof-dir=${dir}`]);
  const file = listDir(dir).find((f) => f.endsWith('.heapprofile'));
  assert.ok(file, `no .heapprofile in ${listDir(dir)}`);
  assertPlantedInTop(path.join(dir, file));
});

test('heapsnap diff A.heapprofile B.heapprofile lists the sites that grew', (t) => {
  const dir = tmpDir(t);
  const [a, b] = ['a.heapprofile', 'b.heapprofile'].map((f) => path.join(dir, f));
  runPlanted(t, dir, `
const heapsnap = require(${JSON.stringify(PKG)});
(async () => {
  heapsnap.startSamplingHeapProfiler();
  await heapsnap.stopSamplingHeapProfiler({ path: ${JSON.stringify(a)} });
  heapsnap.startSamplingHeapProfiler();
  plantedProfileAllocator();
  await heapsnap.stopSamplingHeapProfiler({ path: ${JSON.stringify(b)} });
})();`);
  const child = cli('diff', a, b, '--json');
  assert.strictEqual(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout);
  assert.ok(result.totalDelta > 0);
  assert.strictEqual(result.sites[0].functionName, 'plantedProfileAllocator');
  assert.ok(result.sites[0].selfDelta > 0);
});

test('heapsnap diff of two profiles of a clean workload: its site did not grow', (t) => {
  const dir = tmpDir(t);
  const [a, b, collected] = ['a.heapprofile', 'b.heapprofile', 'collected.heapprofile'].map((f) => path.join(dir, f));
  runPlanted(t, dir, `
const heapsnap = require(${JSON.stringify(PKG)});
function cleanWorkload() {
  let sum = 0;
  for (let i = 0; i < 200000; i++) sum += { i, text: 'clean-' + i, list: [i, i + 1, i + 2] }.list.length;
  return sum;
}
(async () => {
  for (const file of [${JSON.stringify(a)}, ${JSON.stringify(b)}]) {
    heapsnap.startSamplingHeapProfiler({ interval: 4096 });
    cleanWorkload();
    globalThis.gc();
    await heapsnap.stopSamplingHeapProfiler({ path: file });
  }
  if (${V8_MAJOR >= 11}) {
    heapsnap.startSamplingHeapProfiler({ interval: 4096, includeCollected: true });
    cleanWorkload();
    await heapsnap.stopSamplingHeapProfiler({ path: ${JSON.stringify(collected)} });
  }
})();`, ['--expose-gc']);
  const child = cli('diff', a, b, '--json');
  assert.strictEqual(child.status, 0, child.stderr);
  const grown = JSON.parse(child.stdout).sites.filter((s) => s.functionName === 'cleanWorkload');
  assert.deepStrictEqual(grown, [], 'a workload that frees what it allocates shows no growth');
  if (V8_MAJOR >= 11) {
    // It was sampled all right: counting collected objects too, it is the top site.
    const top = cli('top', collected, '--json');
    assert.strictEqual(top.status, 0, top.stderr);
    assert.strictEqual(JSON.parse(top.stdout).sites[0].functionName, 'cleanWorkload', top.stdout);
  }
});

test('misuse gets stable codes, and a failed stop keeps the profiler running', async (t) => {
  await assert.rejects(heapsnap.stopSamplingHeapProfiler(), { code: 'ERR_HEAPSNAP_NOT_PROFILING' });
  for (const bad of [{ interval: -1 }, { interval: 0 }, { stackDepth: 0 }, { stackDepth: 5000 }, { includeCollected: 'yes' }, { intervall: 1 }, 'x']) {
    assert.throws(() => heapsnap.startSamplingHeapProfiler(bad), { code: 'ERR_HEAPSNAP_INVALID_OPTION' }, JSON.stringify(bad));
  }
  heapsnap.startSamplingHeapProfiler();
  t.after(() => heapsnap.stopSamplingHeapProfiler({ path: path.join(tmpDir(), 'cleanup.heapprofile') }).catch(() => {}));
  assert.throws(() => heapsnap.startSamplingHeapProfiler(), { code: 'ERR_HEAPSNAP_BUSY' });
  await assert.rejects(heapsnap.stopSamplingHeapProfiler({ compress: 'bz2' }), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
  await assert.rejects(heapsnap.stopSamplingHeapProfiler({ path: '/does/not/exist/p.heapprofile' }), { code: 'ENOENT' });
  const dir = tmpDir(t);
  const info = await heapsnap.stopSamplingHeapProfiler({ path: path.join(dir, 'x.heapprofile.zst') });
  assert.strictEqual(info.compression, 'zstd');
  await assert.rejects(heapsnap.stopSamplingHeapProfiler(), { code: 'ERR_HEAPSNAP_NOT_PROFILING' });
});

test('includeCollected works on V8 >= 11 and is refused with a clear code before', async (t) => {
  if (V8_MAJOR < 11) {
    assert.throws(() => heapsnap.startSamplingHeapProfiler({ includeCollected: true }), { code: 'ERR_HEAPSNAP_INVALID_OPTION', message: /V8 11/ });
    return;
  }
  heapsnap.startSamplingHeapProfiler({ includeCollected: true, interval: 4096 });
  for (let i = 0; i < 1000; i++) new Array(100).fill(i); // garbage, sampled anyway
  const info = await heapsnap.stopSamplingHeapProfiler({ path: path.join(tmpDir(t), 'c.heapprofile') });
  assert.ok(info.samples > 0);
});

test('heapsnap top: bad input is exit code 2 with a coded line', (t) => {
  const dir = tmpDir(t);
  const bad = path.join(dir, 'bad.heapprofile');
  fs.writeFileSync(bad, '{"head": 1}');
  let child = cli('top', bad);
  assert.strictEqual(child.status, 2);
  assert.match(child.stderr, /ERR_HEAPSNAP_CORRUPT_SNAPSHOT/);
  child = cli('top', path.join(dir, 'missing.heapprofile'));
  assert.strictEqual(child.status, 2);
  assert.match(child.stderr, /ENOENT/);
  child = cli('top');
  assert.strictEqual(child.status, 2);
  assert.match(child.stderr, /ERR_HEAPSNAP_INVALID_OPTION/);
});

test('each worker thread runs its own profiler, next to the main thread', async (t) => {
  const dir = tmpDir(t);
  const { Worker } = require('worker_threads');
  heapsnap.startSamplingHeapProfiler({ interval: 8192 });
  const worker = new Worker(`
const { parentPort } = require('worker_threads');
const heapsnap = require(${JSON.stringify(PKG)});
heapsnap.startSamplingHeapProfiler({ interval: 8192 });
const kept = [];
function workerAllocator() { for (let i = 0; i < 50000; i++) kept.push({ i }); }
workerAllocator();
heapsnap.stopSamplingHeapProfiler({ path: ${JSON.stringify(path.join(dir, 'w-{tid}.heapprofile'))} }).then((info) => parentPort.postMessage(info.path));`, { eval: true });
  const [workerPath] = await require('events').once(worker, 'message');
  const main = await heapsnap.stopSamplingHeapProfiler({ path: path.join(dir, 'main.heapprofile') });
  assert.match(path.basename(workerPath), /^w-[1-9]\d*\.heapprofile$/);
  const names = (file) => new Set(profileNodes(file).nodes.map((n) => n.callFrame.functionName));
  assert.ok(names(workerPath).has('workerAllocator'));
  assert.ok(!names(main.path).has('workerAllocator'), "the main thread's profile has only its own allocations");
});
