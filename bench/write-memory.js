#!/usr/bin/env node
'use strict';
// The writer's memory bound (DESIGN.md, Targets: a dump may need at most 32 MiB more peak RSS
// than `v8.writeHeapSnapshot` on the same heap, whatever the heap), measured so that a real
// difference stands out of the run-to-run noise, and enforced: exits 1 with a FAIL line when
// a heapsnap method's median is more than --limit-mib above Node's.
//
//   node bench/write-memory.js [--heap records|ast] [--heap-mb 100] [--runs 7]
//                              [--methods v8,sync,gzip] [--limit-mib 32] [--out FILE]
//
// Method. One write per fresh child process, every child building the same heap (`records`:
// bench/write.js's records, closures and Map, --heap-mb of used heap; `ast`: acorn's AST of
// TypeScript's 9 MB typescript.js with locations, ~220 MB of small objects, the heap
// bench/scale.js --generate-ast --parser acorn writes). Rounds run every method once, in an
// order that rotates from round to round, so slow drifts of the machine (other processes'
// memory, page cache) spread over all methods alike. Each child loads heapsnap whatever its
// method (so RSS before is comparable), runs a full GC, resets the kernel's peak counter
// (`/proc/self/clear_refs` 5: VmHWM := VmRSS) and reads VmRSS as the very last things before
// the call; extra peak = VmHWM after the write - VmRSS before. Per method: median, quartiles,
// min-max; per heapsnap method: the difference of medians with Node's and a 95% bootstrap
// interval of it (resampling each method's runs).
//
// Why one write per process and not Node's and heapsnap's in the same process (which would
// share one heap exactly): V8 keeps its object-id map after a snapshot, and glibc keeps the
// freed snapshot graph in its arenas, so RSS stays ~1.1 GB up after a first write of the AST
// heap and a second write's extra peak is ~230 MB instead of ~1350 MB (measured on Node 20):
// the second write would be measured against a different baseline, not the same one.

const { spawnSync, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const { BUILD_HEAP } = require('./write');

const ROOT = path.resolve(__dirname, '..');
const { values: args } = parseArgs({
  options: {
    heap: { type: 'string', default: 'records' },
    'heap-mb': { type: 'string', default: '100' },
    runs: { type: 'string', default: '7' },
    methods: { type: 'string', default: 'v8,sync,gzip' },
    'limit-mib': { type: 'string', default: '32' },
    out: { type: 'string' },
  },
});

/** The write each method makes (`out` is the file without suffix); `env` toggles heapsnap's parts. */
const METHODS = {
  v8: { label: 'v8.writeHeapSnapshot', call: "require('v8').writeHeapSnapshot(out); return out;" },
  sync: { label: 'heapsnap.writeSnapshot', call: "if (!heapsnap.writeSnapshot(out)) throw new Error('heapsnap failed'); return out;" },
  async: { label: 'heapsnap.writeSnapshotAsync', call: 'return (await heapsnap.writeSnapshotAsync({ path: out })).path;' },
  gzip: { label: 'heapsnap.writeSnapshotAsync gzip', call: "return (await heapsnap.writeSnapshotAsync({ path: out + '.gz' })).path;" },
  zstd: { label: 'heapsnap.writeSnapshotAsync zstd', call: "return (await heapsnap.writeSnapshotAsync({ path: out + '.zst' })).path;" },
  redact: { label: 'heapsnap.writeSnapshotAsync gzip redact', call: "return (await heapsnap.writeSnapshotAsync({ path: out + '.gz', redact: true })).path;" },
  'gzip-no-warmup': {
    label: 'heapsnap.writeSnapshotAsync gzip, line-end warm-up off',
    env: { HEAPSNAP_LINE_END_WARMUP: 'off' },
    call: "return (await heapsnap.writeSnapshotAsync({ path: out + '.gz' })).path;",
  },
};

const HEAPS = {
  records: () => `${BUILD_HEAP}\n buildHeap(${Number(args['heap-mb'])});`,
  // Only the AST stays alive: the parser's module and the source text are dropped before the GC.
  ast: () => `globalThis.__benchAst = require(${JSON.stringify(require.resolve('acorn', { paths: [ROOT] }))})
      .parse(fs.readFileSync(${JSON.stringify(require.resolve('typescript', { paths: [ROOT] }))}, 'utf8'), { ecmaVersion: 'latest', locations: true });`,
};

function child(name, out) {
  const method = METHODS[name];
  const code = `
    const fs = require('fs');
    const heapsnap = require(${JSON.stringify(ROOT)});
    const status = () => Object.fromEntries(fs.readFileSync('/proc/self/status', 'utf8').split('\\n')
      .filter((l) => /^(VmRSS|VmHWM|RssAnon|RssFile):/.test(l)).map((l) => [l.split(':')[0], parseInt(l.split(':')[1]) * 1024]));
    (async () => {
      ${HEAPS[args.heap]()}
      const heapUsed = require('v8').getHeapStatistics().used_heap_size;
      global.gc();
      const out = ${JSON.stringify(out)};
      // Last things before the write: the peak reset, then the baseline.
      fs.writeFileSync('/proc/self/clear_refs', '5');
      const before = status();
      const t0 = performance.now();
      const file = await (async () => { ${method.call} })();
      const ms = performance.now() - t0;
      const after = status();
      fs.rmSync(file);
      fs.rmSync(file + '.memory.json', { force: true });
      console.log(JSON.stringify({ heapUsed, ms, before, after, extra: after.VmHWM - before.VmRSS }));
    })().catch((err) => { console.error(err); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', code], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal', ...method.env },
  });
  if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** The q-quantile of sorted values, interpolated (q = 0.5: the median). */
function quantile(sorted, q) {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (i - lo);
}
const sortNum = (values) => values.slice().sort((a, b) => a - b);
const median = (values) => quantile(sortNum(values), 0.5);

/**
 * A 95% interval for median(a) - median(b), by resampling each group with replacement
 * (a seeded generator, so a rerun on the same numbers prints the same interval).
 */
function bootstrapDiff(a, b, rounds = 4000) {
  let seed = 0x2024;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const resample = (xs) => xs.map(() => xs[Math.floor(random() * xs.length)]);
  const diffs = sortNum(Array.from({ length: rounds }, () => median(resample(a)) - median(resample(b))));
  return [quantile(diffs, 0.025), quantile(diffs, 0.975)];
}

const MiB = 2 ** 20;
const mib = (bytes) => (bytes / MiB).toFixed(0);
const signed = (bytes) => `${bytes >= 0 ? '+' : ''}${(bytes / MiB).toFixed(1)}`;

function main() {
  if (!HEAPS[args.heap]) throw new Error(`--heap records or ast, not ${args.heap}`);
  const names = args.methods.split(',');
  for (const name of names) if (!METHODS[name]) throw new Error(`unknown method ${name}; known: ${Object.keys(METHODS).join(', ')}`);
  if (!names.includes('v8')) throw new Error('--methods must include v8 (the baseline)');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.js'), '--if-needed', '--no-wasm'], { stdio: 'inherit' });
  const runs = Number(args.runs);
  const limit = Number(args['limit-mib']) * MiB;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'heapsnap-write-memory-'));
  const results = Object.fromEntries(names.map((name) => [name, []]));
  const loads = [];
  try {
    for (let round = 0; round < runs; round++) {
      const order = names.map((_, i) => names[(i + round) % names.length]);
      for (const name of order) {
        loads.push(os.loadavg()[0]);
        const r = child(name, path.join(tmp, `${name}.heapsnapshot`));
        results[name].push(r);
        console.error(`round ${round + 1}/${runs} ${name}: +${mib(r.extra)} MiB (RSS before ${mib(r.before.VmRSS)} MiB, peak ${mib(r.after.VmHWM)} MiB, ${(r.ms / 1000).toFixed(1)} s)`);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const extras = Object.fromEntries(names.map((name) => [name, results[name].map((r) => r.extra)]));
  const base = extras.v8;
  const heapMB = median(results.v8.map((r) => r.heapUsed)) / 1e6;
  const lines = [
    `Node ${process.version}, ${os.cpus().length} cores, heap ${args.heap} (~${heapMB.toFixed(0)} MB used), ${runs} rounds, ` +
      `load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}; extra peak RSS = VmHWM after - VmRSS before (MiB)`,
    '',
    '| method | median | quartiles | min-max | median - v8 | 95% interval | per run | write time (median) |',
    '|---|--:|--:|--:|--:|--:|---|--:|',
  ];
  const failures = [];
  for (const name of names) {
    const sorted = sortNum(extras[name]);
    const q = (p) => mib(quantile(sorted, p));
    let diff = '-';
    let interval = '-';
    if (name !== 'v8') {
      const d = median(extras[name]) - median(base);
      const [lo, hi] = bootstrapDiff(extras[name], base);
      diff = signed(d);
      interval = `${signed(lo)} to ${signed(hi)}`;
      if (d > limit) failures.push(`FAIL: ${METHODS[name].label} needs ${signed(d)} MiB more peak RSS than v8.writeHeapSnapshot (median of ${runs}; bound +${args['limit-mib']} MiB)`);
    }
    lines.push(`| ${METHODS[name].label} | ${q(0.5)} | ${q(0.25)}-${q(0.75)} | ${mib(sorted[0])}-${mib(sorted[sorted.length - 1])} | ${diff} | ${interval} | ${extras[name].map(mib).join(' ')} | ${(median(results[name].map((r) => r.ms)) / 1000).toFixed(1)} s |`);
  }
  const table = lines.join('\n');
  console.log(table);
  if (args.out) fs.writeFileSync(args.out, table + '\n');
  if (failures.length) {
    for (const line of failures) console.log(line);
    process.exitCode = 1;
  } else {
    console.log(`OK: every heapsnap method within +${args['limit-mib']} MiB of v8.writeHeapSnapshot (medians)`);
  }
}

main();
