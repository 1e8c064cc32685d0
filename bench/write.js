#!/usr/bin/env node
'use strict';
// Write benchmark: heapsnap (native; portable: HEAPSNAP_FORCE_PORTABLE=writer; and "wasm-sink":
// writer,analyzer, the portable writer into the WebAssembly analyzer's sink, as on macOS) against
// v8.writeHeapSnapshot, heapdump and v8.getHeapSnapshot()+zlib, and signal dumps against
// Node's own --heapsnapshot-signal, on the same heap, in one run. Each method runs in a fresh child process that builds the same
// heap, so peaks don't leak from one method into the next.
//
//   node bench/write.js [--heap-mb 100] [--runs 1] [--only name,name] [--typescript]
//   node bench/write.js --warmup-cost     what the native line-end warm-up costs (V8 < 12)
//
// Reports, per method: total time, JS-thread pause, extra peak RSS while writing (VmHWM
// after the write minus VmRSS before it; the kernel's peak is reset just before writing),
// and the file size. Ratios are against v8.writeHeapSnapshot in the same run. Signal dumps
// are timed from the kill (the child signals itself) until the file is complete.

const { spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');

const ROOT = path.resolve(__dirname, '..');
const { values: args } = parseArgs({
  args: require.main === module ? process.argv.slice(2) : [], // bench/write-memory.js only borrows BUILD_HEAP
  options: {
    'heap-mb': { type: 'string', default: '100' },
    runs: { type: 'string', default: '1' },
    only: { type: 'string' },
    // Load TypeScript's compiler (a 9 MB bundle) first: on V8 < 12 this is what makes
    // snapshot generation slow (line ends), and what heapsnap's warm-up avoids.
    typescript: { type: 'boolean', default: false },
    'warmup-cost': { type: 'boolean', default: false },
    child: { type: 'string' },
    out: { type: 'string' },
  },
});

// A synchronous writer: the whole call is the pause.
const syncWrite = (setup, call) => `
    ${setup}
    const t0 = performance.now();
    ${call};
    const t1 = performance.now();
    return { totalMs: t1 - t0, pauseMs: t1 - t0, file: out };`;

// heapsnap's async writer: the pause is what it reports, the total runs to the promise.
const heapsnapAsync = (suffix, options = {}) => `
    const heapsnap = require(ROOT);
    const t0 = performance.now();
    const info = await heapsnap.writeSnapshotAsync({ ...${JSON.stringify(options)}, path: out + ${JSON.stringify(suffix)} });
    return { totalMs: performance.now() - t0, pauseMs: info.pauseMs, file: info.path };`;

// heapsnap's signal dump, served by the V8 interrupt: the child spins until the file is in
// place (heapsnap renames it there once complete), so the event loop cannot serve it.
const HEAPSNAP_SIGNAL = `
    const heapsnap = require(ROOT);
    heapsnap.installSignalHandler({ path: out, quiet: true });
    const t0 = performance.now();
    process.kill(process.pid, 'SIGUSR2');
    while (!fs.existsSync(out)) {}
    const t1 = performance.now();
    return { totalMs: t1 - t0, pauseMs: t1 - t0, file: out };`;

const PORTABLE = { HEAPSNAP_FORCE_PORTABLE: 'writer' };
// Both portable parts: the file sink is the WebAssembly analyzer's (what macOS and Windows get).
const ALL_PORTABLE = { HEAPSNAP_FORCE_PORTABLE: 'writer,analyzer' };

const METHODS = {
  'v8.writeHeapSnapshot': syncWrite('', "require('v8').writeHeapSnapshot(out)"),
  // Node's listener, installed before any user code, writes synchronously; ours runs next.
  // Signal listeners don't keep the loop alive: the interval does.
  'node --heapsnapshot-signal': {
    nodeArgs: ['--heapsnapshot-signal=SIGUSR2'],
    body: `
    process.chdir(require('path').dirname(out));
    const keepAlive = setInterval(() => {}, 1000);
    const t0 = performance.now();
    await new Promise((resolve) => { process.on('SIGUSR2', resolve); process.kill(process.pid, 'SIGUSR2'); });
    const t1 = performance.now();
    clearInterval(keepAlive);
    const file = fs.readdirSync('.').find((name) => /^Heap\..*\.heapsnapshot$/.test(name));
    return { totalMs: t1 - t0, pauseMs: t1 - t0, file };`,
  },
  'heapsnap SIGUSR2 (warm-up off)': { env: { HEAPSNAP_LINE_END_WARMUP: 'off' }, body: HEAPSNAP_SIGNAL },
  'heapsnap SIGUSR2': HEAPSNAP_SIGNAL,
  'heapdump.writeSnapshot': syncWrite('const heapdump = require(HEAPDUMP);', "if (!heapdump.writeSnapshot(out)) throw new Error('heapdump failed')"),
  'v8.getHeapSnapshot + zlib gzip': `
    const { pipeline } = require('stream/promises');
    const t0 = performance.now();
    const stream = require('v8').getHeapSnapshot();
    const t1 = performance.now();
    await pipeline(stream, require('zlib').createGzip(), require('fs').createWriteStream(out + '.gz'));
    return { totalMs: performance.now() - t0, pauseMs: t1 - t0, file: out + '.gz' };`,
  'heapsnap.writeSnapshot': syncWrite('const heapsnap = require(ROOT);', "if (!heapsnap.writeSnapshot(out)) throw new Error('heapsnap failed')"),
  'heapsnap.writeSnapshotAsync': heapsnapAsync(''),
  'heapsnap.writeSnapshotAsync gzip': heapsnapAsync('.gz'),
  'heapsnap.writeSnapshotAsync zstd': heapsnapAsync('.zst'),
  // String values replaced on the writer thread (redact: true).
  'heapsnap.writeSnapshotAsync redact': heapsnapAsync('', { redact: true }),
  'heapsnap.writeSnapshotAsync zstd redact': heapsnapAsync('.zst', { redact: true }),
  // The portable writer (Node's in-process inspector into heapsnap's sink), forced.
  'heapsnap portable writeSnapshot': {
    env: PORTABLE,
    body: syncWrite('const heapsnap = require(ROOT);', "if (!heapsnap.writeSnapshot(out)) throw new Error('heapsnap failed')"),
  },
  'heapsnap portable writeSnapshotAsync': { env: PORTABLE, body: heapsnapAsync('') },
  'heapsnap portable writeSnapshotAsync gzip': { env: PORTABLE, body: heapsnapAsync('.gz') },
  'heapsnap portable writeSnapshotAsync zstd': { env: PORTABLE, body: heapsnapAsync('.zst') },
  'heapsnap wasm-sink writeSnapshot': {
    env: ALL_PORTABLE,
    body: syncWrite('const heapsnap = require(ROOT);', "if (!heapsnap.writeSnapshot(out)) throw new Error('heapsnap failed')"),
  },
  'heapsnap wasm-sink writeSnapshotAsync': { env: ALL_PORTABLE, body: heapsnapAsync('') },
  'heapsnap wasm-sink writeSnapshotAsync gzip': { env: ALL_PORTABLE, body: heapsnapAsync('.gz') },
  // Its inspector route (HeapProfiler.takeHeapSnapshot), the stream's fallback.
  'heapsnap portable writeSnapshotAsync inspector': { env: { ...PORTABLE, HEAPSNAP_PORTABLE_SNAPSHOT: 'inspector' }, body: heapsnapAsync('') },
};

// Builds a heap of roughly `mb` MB of live objects of several shapes (objects, strings,
// arrays, maps, closures), the kind a service accumulates.
const BUILD_HEAP = `
  function buildHeap(mb) {
    const v8 = require('v8');
    const keep = (globalThis.__benchHeap = []);
    const cache = new Map();
    let i = 0;
    while (v8.getHeapStatistics().used_heap_size < mb * 1e6) {
      for (let j = 0; j < 1000; j++, i++) {
        const record = { id: i, name: 'user-' + i, tags: ['a' + (i % 97), 'b' + (i % 89)], at: new Date(i), score: i * 1.5 };
        keep.push(record);
        if (i % 3 === 0) cache.set('k' + i, () => record.id);
      }
    }
    keep.push(cache);
  }`;

/** A method's child code, node flags and environment. */
function methodOf(name) {
  const method = METHODS[name];
  return typeof method === 'string' ? { body: method } : method;
}

// How long the native line-end warm-up of heapsnap's dump took (unset when turned off).
const WARMUP_OF_THE_DUMP = `
      const warmup = require(ROOT + '/lib/loader/native').writer().lastLineEndWarmup();
      if (warmup && warmup.status !== 'off') result.warmupMs = warmup.durationMs;`;

function childMain(name, out) {
  const { body, nodeArgs = [], env = {} } = methodOf(name);
  const code = `
    const ROOT = ${JSON.stringify(ROOT)};
    const HEAPDUMP = ${JSON.stringify(heapdumpPath())};
    ${BUILD_HEAP}
    const fs = require('fs');
    const status = () => Object.fromEntries(fs.readFileSync('/proc/self/status', 'utf8').split('\\n')
      .filter((l) => /^Vm(RSS|HWM):/.test(l)).map((l) => [l.split(':')[0], parseInt(l.split(':')[1]) * 1024]));
    (async () => {
      ${args.typescript ? `require(${JSON.stringify(require.resolve('typescript'))});` : ''}
      buildHeap(${Number(args['heap-mb'])});
      const heapUsed = require('v8').getHeapStatistics().used_heap_size;
      ${name.startsWith('heapsnap') ? 'require(ROOT);' : ''}
      ${name.startsWith('heapdump') ? 'require(HEAPDUMP);' : ''}
      global.gc && global.gc();
      fs.writeFileSync('/proc/self/clear_refs', '5');
      const before = status();
      const out = ${JSON.stringify(out)};
      const result = await (async () => { ${body} })();
      const after = status();
      const bytes = fs.statSync(result.file).size;
      fs.rmSync(result.file);
      ${name.startsWith('heapsnap') ? WARMUP_OF_THE_DUMP : ''}
      console.log(JSON.stringify({ ...result, heapUsed, bytes, rssBefore: before.VmRSS, extraPeak: after.VmHWM - before.VmRSS }));
    })().catch((err) => { console.error(err); process.exit(1); });`;
  return spawnSync(process.execPath, ['--expose-gc', ...nodeArgs, '-e', code], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal', ...env },
  });
}

// What the native line-end warm-up costs the JS thread: the first one (every script cold),
// then the median of 1000 when nothing is new, with node's own scripts only and with
// TypeScript's compiler loaded.
const WARMUP_COST = `
  const { writer } = require(${JSON.stringify(path.join(ROOT, 'lib', 'loader', 'native'))});
  const measure = () => {
    const first = writer().warmLineEnds();
    const again = Array.from({ length: 1000 }, () => writer().warmLineEnds().durationMs).sort((a, b) => a - b);
    return { status: first.status, scripts: first.scripts, lines: first.lines, firstMs: first.durationMs, againMs: again[500] };
  };
  const nodeOnly = measure();
  require(${JSON.stringify(require.resolve('typescript'))});
  console.log(JSON.stringify({ 'node only': nodeOnly, 'TypeScript loaded': measure() }));`;

function warmupCostMain() {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js'), '--if-needed'], { stdio: 'inherit' });
  const child = spawnSync(process.execPath, ['-e', WARMUP_COST], { encoding: 'utf8', env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal' } });
  if (child.status !== 0) throw new Error(`warm-up cost failed: ${child.stderr}`);
  const lines = [
    `Node ${process.version} (V8 ${process.versions.v8}), ${os.cpus().length} cores; median of 1000 when nothing is new`,
    '',
    '| loaded | status | scripts | lines | first warm-up | when nothing is new |',
    '|---|---|---|---|---|---|',
  ];
  for (const [loaded, r] of Object.entries(JSON.parse(child.stdout))) {
    lines.push(`| ${loaded} | ${r.status} | ${r.scripts} | ${r.lines} | ${r.firstMs.toFixed(2)} ms | ${r.againMs.toFixed(3)} ms |`);
  }
  console.log(lines.join('\n'));
}

let heapdumpCache;
/** heapdump, built from the npm package with node-gyp against this node's headers, in a cache dir. */
function heapdumpPath() {
  if (heapdumpCache !== undefined) return heapdumpCache;
  const dir = path.join(os.tmpdir(), `heapsnap-bench-heapdump-${process.versions.modules}`);
  const pkg = path.join(dir, 'node_modules', 'heapdump');
  try {
    if (!fs.existsSync(path.join(pkg, 'build', 'Release', 'addon.node'))) {
      fs.mkdirSync(dir, { recursive: true });
      execFileSync('npm', ['install', '--prefix', dir, '--ignore-scripts', '--no-save', 'heapdump@0.3.15'], { stdio: 'ignore' });
      const gyp = path.join(path.dirname(path.dirname(fs.realpathSync(execFileSync('which', ['npm'], { encoding: 'utf8' }).trim()))), 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
      const nodedir = path.resolve(path.dirname(process.execPath), '..');
      execFileSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: pkg, stdio: 'ignore' });
    }
    heapdumpCache = pkg;
  } catch (err) {
    console.error(`bench: heapdump unavailable (${err.message.split('\n')[0]}); skipping it`);
    heapdumpCache = null;
  }
  return heapdumpCache;
}

function fmtMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

function main() {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js'), '--if-needed'], { stdio: 'inherit' });
  const names = (args.only ? args.only.split(',') : Object.keys(METHODS)).filter((name) => name !== 'heapdump.writeSnapshot' || heapdumpPath());
  const runs = Number(args.runs);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heapsnap-bench-'));
  const results = {};
  for (let run = 0; run < runs; run++) {
    for (const name of names) {
      const child = childMain(name, path.join(tmp, `${name.replace(/\W+/g, '_')}.heapsnapshot`));
      if (child.status !== 0) throw new Error(`${name} failed: ${child.stderr}`);
      const result = JSON.parse(child.stdout.trim().split('\n').pop());
      (results[name] ||= []).push(result);
      console.error(`${name}: ${fmtMs(result.totalMs)} total, ${fmtMs(result.pauseMs)} pause, +${(result.extraPeak / 2 ** 20).toFixed(0)} MiB peak`);
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const summary = Object.fromEntries(Object.entries(results).map(([name, rs]) => [name, {
    totalMs: median(rs.map((r) => r.totalMs)),
    pauseMs: median(rs.map((r) => r.pauseMs)),
    extraPeakMiB: median(rs.map((r) => r.extraPeak)) / 2 ** 20,
    bytes: median(rs.map((r) => r.bytes)),
    warmupMs: rs.some((r) => r.warmupMs === undefined) ? undefined : median(rs.map((r) => r.warmupMs)),
    heapUsedMB: median(rs.map((r) => r.heapUsed)) / 1e6,
  }]));
  const base = summary['v8.writeHeapSnapshot'];
  const lines = [
    `Node ${process.version}, ${os.cpus().length} cores, heap ~${summary[names[0]].heapUsedMB.toFixed(0)} MB used${args.typescript ? ', TypeScript loaded' : ''}, median of ${runs} run(s)`,
    '',
    '| method | total | x v8 | JS pause | x v8 | extra peak RSS | file | native line-end warm-up |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, s] of Object.entries(summary)) {
    const warmup = s.warmupMs === undefined ? '-' : `${s.warmupMs.toFixed(2)} ms`;
    lines.push(`| ${name} | ${fmtMs(s.totalMs)} | ${(s.totalMs / base.totalMs).toFixed(2)} | ${fmtMs(s.pauseMs)} | ${(s.pauseMs / base.pauseMs).toFixed(2)} | ${s.extraPeakMiB.toFixed(0)} MiB | ${(s.bytes / 1e6).toFixed(1)} MB | ${warmup} |`);
  }
  const table = lines.join('\n');
  console.log(table);
  if (args.out) fs.writeFileSync(args.out, table + '\n');
}

module.exports = { BUILD_HEAP };

if (require.main !== module) {
  // Borrowed by bench/write-memory.js: nothing to run.
} else if (args['warmup-cost']) warmupCostMain();
else main();
