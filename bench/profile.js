#!/usr/bin/env node
'use strict';
// Sampling heap profiler overhead: the same allocation-heavy workload with and without
// heapsnap's startSamplingHeapProfiler running, each run in a fresh process, the two variants
// alternating so that machine noise hits both alike. Reports the median time of each variant
// and the overhead of the profiled one.
//
//   node bench/profile.js [--rounds 7] [--interval 524288] [--stack-depth 128] [--include-collected]
//   node bench/profile.js --tracking [--rounds 3]
//
// --tracking measures allocation tracking instead (what leakCheck({ stacks: true }) turns on:
// V8 records the stack of every allocation).
//
// The workload allocates ~2.4 GB in small objects, strings, arrays and JSON round trips and
// keeps a sliding window of 200k of them alive (so the GC works as in a busy service).

const { spawnSync } = require('child_process');
const path = require('path');
const { parseArgs } = require('util');

const ROOT = path.resolve(__dirname, '..');
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    interval: { type: 'string', default: String(512 * 1024) },
    'stack-depth': { type: 'string', default: '128' },
    'include-collected': { type: 'boolean', default: false },
    tracking: { type: 'boolean', default: false },
    child: { type: 'string' },
  },
});

function workload() {
  const WINDOW = 200_000;
  const window = new Array(WINDOW);
  let checksum = 0;
  for (let i = 0; i < 6_000_000; i++) {
    const item = { id: i, name: `item-${i}`, tags: [i & 7, i & 15, i & 31], nested: { at: i * 2 } };
    if ((i & 63) === 0) {
      const doc = JSON.parse(JSON.stringify({ item, list: [1, 2, 3, 'four'] }));
      checksum += doc.list.length;
    }
    window[i % WINDOW] = item;
    checksum += item.tags.length;
  }
  return checksum;
}

function child(mode) {
  const heapsnap = require(ROOT);
  workload(); // warm-up: compile and optimize before timing
  if (mode === 'on' && args.tracking) {
    const tracker = require(path.join(ROOT, 'lib', 'loader', 'native')).writer();
    tracker.trackAllocations(true);
    const t0 = performance.now();
    workload();
    const ms = performance.now() - t0;
    tracker.trackAllocations(false);
    process.stdout.write(JSON.stringify({ ms, samples: 0 }));
    return;
  }
  if (mode === 'on') {
    heapsnap.startSamplingHeapProfiler({
      interval: Number(args.interval),
      stackDepth: Number(args['stack-depth']),
      includeCollected: args['include-collected'],
    });
  }
  const t0 = performance.now();
  workload();
  const ms = performance.now() - t0;
  const finish = mode === 'on' ? heapsnap.stopSamplingHeapProfiler({ path: path.join(require('os').tmpdir(), `bench-${process.pid}.heapprofile`) }) : Promise.resolve(null);
  finish.then((info) => {
    if (info) require('fs').unlinkSync(info.path);
    process.stdout.write(JSON.stringify({ ms, samples: info ? info.samples : 0 }));
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main() {
  const rounds = Number(args.rounds);
  const times = { off: [], on: [] };
  let samples = 0;
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 === 0 ? ['off', 'on'] : ['on', 'off']) {
      const extra = ['--interval', args.interval, '--stack-depth', args['stack-depth'], ...(args['include-collected'] ? ['--include-collected'] : []), ...(args.tracking ? ['--tracking'] : [])];
      const res = spawnSync(process.execPath, [__filename, '--child', mode, ...extra], { encoding: 'utf8' });
      if (res.status !== 0) throw new Error(res.stderr);
      const { ms, samples: n } = JSON.parse(res.stdout);
      times[mode].push(ms);
      if (mode === 'on') samples = n;
    }
  }
  const off = median(times.off);
  const on = median(times.on);
  const what = args.tracking ? 'allocation tracking' : `interval ${args.interval} B, stack depth ${args['stack-depth']}${args['include-collected'] ? ', includeCollected' : ''}`;
  console.log(`node ${process.version}, ${what}, ${rounds} rounds`);
  console.log(`without: median ${off.toFixed(0)} ms  (${times.off.map((t) => t.toFixed(0)).join(' ')})`);
  console.log(`with:    median ${on.toFixed(0)} ms  (${times.on.map((t) => t.toFixed(0)).join(' ')})${args.tracking ? '' : `, ${samples} live samples at the end`}`);
  console.log(`overhead: ${(((on - off) / off) * 100).toFixed(1)}%`);
}

if (args.child) child(args.child);
else main();
