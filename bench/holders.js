#!/usr/bin/env node
'use strict';
// Growth by holder on big snapshots: what the holder pass (`heapsnap.holders`, the "Growing
// holders" of `heapsnap leaks`) adds to `leaks` in time and peak memory.
//
//   node bench/holders.js [--heap 100] [--runs 3] [--keep DIR] [--churn]
//
// One child process builds bench/analyze.js's heap of small records, closures and a Map
// (`--heap` MB of V8 used heap) and writes A; then adds 2% more records (and Map entries) and
// writes B, again, C: three snapshots of one process with a real growing holder.
// `--churn`: the holder pass's worst case instead: a million records written before A, each
// given a new string before every snapshot, so every record is an old object holding something
// new (a candidate the pass must look up in every snapshot), and nothing grows. Each variant
// then runs in a fresh child that loads A, B and C and times only its pass (the loads are
// reported apart), with its peak RSS (getrusage maxrss, the whole process):
//   leaks            today's `leaks A B C` pass
//   holders          the holder pass alone
//   holders + leaks  what `leaks A B C` now does (holders first, then the leak groups)
// heapsnap must be built in release mode first (`node scripts/build.js`).

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const { BIG_HEAP } = require('./analyze');

const ROOT = path.resolve(__dirname, '..');
const { values: args } = parseArgs({
  options: {
    heap: { type: 'string', default: '100' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'string' },
    churn: { type: 'boolean', default: false },
  },
});

const CHURN = `
    const v8 = require('v8');
    const path = require('path');
    const recs = (globalThis.recs = []);
    for (let i = 0; i < 1e6; i++) recs.push({ id: i, name: 'n' + i, tag: null });
    for (const [k, name] of ['a', 'b', 'c'].entries()) {
      for (let i = 0; i < recs.length; i++) recs[i].tag = 'tag-' + k + '-' + i;
      v8.writeHeapSnapshot(path.join(DIR, name + '.heapsnapshot'));
    }
    console.log(JSON.stringify({ records: recs.length }));`;

function buildSnapshots(mb, dir) {
  const code = args.churn ? CHURN.replace('DIR', JSON.stringify(dir)) : `
    const v8 = require('v8');
    const path = require('path');
    const keep = (globalThis.__benchHeap = []);
    const cache = new Map();
    keep.push(cache);
    let i = 0;
    const add = () => {
      for (let j = 0; j < 1000; j++, i++) {
        const record = { id: i, name: 'user-' + i, tags: ['a' + (i % 97), 'b' + (i % 89)], at: new Date(i), score: i * 1.5 };
        keep.push(record);
        if (i % 3 === 0) cache.set('k' + i, () => record.id);
      }
    };
    while (v8.getHeapStatistics().used_heap_size < ${mb} * 1e6) add();
    const grow = Math.ceil(i / 50000);
    for (const name of ['a', 'b', 'c']) {
      if (name !== 'a') for (let k = 0; k < grow; k++) add();
      v8.writeHeapSnapshot(path.join(${JSON.stringify(dir)}, name + '.heapsnapshot'));
    }
    console.log(JSON.stringify({ records: i }));`;
  const r = spawnSync(process.execPath, [...BIG_HEAP, '-e', code], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`building the ${mb} MB heap failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// Each returns the first growing holder (or null), so the table can say what was found.
const PASSES = {
  leaks: '(heapsnap.leaks(a, b, c), null)',
  holders: 'heapsnap.holders(a, b, c)[0]',
  'holders + leaks': '((h) => (heapsnap.leaks(a, b, c), h[0]))(heapsnap.holders(a, b, c))',
};

function measure(pass, files) {
  const code = `
    const heapsnap = require(${JSON.stringify(path.join(ROOT, 'lib', 'analyzer', 'analyze.js'))});
    require(${JSON.stringify(path.join(ROOT, 'lib', 'loader', 'native.js'))}).analyzer().usePrivateMappingsForLargeBlocks();
    const t0 = performance.now();
    const [a, b, c] = ${JSON.stringify(files)}.map((f) => heapsnap.readSnapshot(f));
    const t1 = performance.now();
    const first = ${PASSES[pass]};
    const t2 = performance.now();
    process.stdout.write('@@' + JSON.stringify({ loadMs: t1 - t0, passMs: t2 - t1, first, maxRssMB: process.resourceUsage().maxRSS / 1024, nodes: c.nodeCount }) + '\\n');`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal' } });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('@@'));
  if (r.status !== 0 || !line) throw new Error(`${pass} failed (status ${r.status}): ${r.stderr}`);
  return JSON.parse(line.slice(2));
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function main() {
  const dir = args.keep ? path.resolve(args.keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'heapsnap-bench-holders-'));
  fs.mkdirSync(dir, { recursive: true });
  const files = ['a', 'b', 'c'].map((s) => path.join(dir, `${s}.heapsnapshot`));
  try {
    if (!files.every((f) => fs.existsSync(f))) {
      process.stderr.write(`building ${args.churn ? 'the churn case' : `a ${args.heap} MB heap`} and writing A, B, C into ${dir}...\n`);
      buildSnapshots(Number(args.heap), dir);
    }
    const fileMB = fs.statSync(files[2]).size / 1e6;
    const rows = [];
    let first = null;
    for (const pass of Object.keys(PASSES)) {
      const samples = [];
      for (let i = 0; i < Number(args.runs); i++) {
        process.stderr.write(`  ${pass}, run ${i + 1}/${args.runs}...`);
        samples.push(measure(pass, files));
        const s = samples[samples.length - 1];
        process.stderr.write(` load ${(s.loadMs / 1000).toFixed(2)} s, pass ${(s.passMs / 1000).toFixed(2)} s, ${Math.round(s.maxRssMB)} MB\n`);
      }
      first = first ?? samples[0].first;
      rows.push({ pass, load: median(samples.map((s) => s.loadMs)), ms: median(samples.map((s) => s.passMs)), rss: median(samples.map((s) => s.maxRssMB)), nodes: samples[0].nodes });
    }
    const out = [
      '| pass | load A, B, C | pass time | peak RSS |',
      '|:--|--:|--:|--:|',
      ...rows.map((r) => `| ${r.pass} | ${(r.load / 1000).toFixed(2)} s | ${(r.ms / 1000).toFixed(2)} s | ${Math.round(r.rss)} MB |`),
    ];
    process.stdout.write(`${out.join('\n')}\n\n${fileMB.toFixed(0)} MB snapshots, ${(rows[0].nodes / 1e6).toFixed(2)} M nodes; first holder: ${first ? `${first.name} (${first.className}, entries ${first.entries.join(' -> ')})` : 'none'}; ` +
      `Node ${process.version}, ${os.cpus().length} x ${os.cpus()[0] ? os.cpus()[0].model.trim() : 'unknown CPU'}; medians of ${args.runs} run(s).\n`);
  } finally {
    if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
