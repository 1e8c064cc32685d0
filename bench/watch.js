'use strict';
// What a memory watch costs a service (issue 21's targets: <= 1% throughput on an allocation-
// bound workload at a 5 s interval, <= 1 ms of event-loop delay per sample):
//
// 1. Throughput: the same allocation-bound workload (objects built, kept a while, stringified)
//    for --seconds in fresh processes, alternating without and with a watch that exercises
//    everything a sample does (a heap line, a cgroup line, a growth rule on post-GC floors, the
//    memory log), at --interval seconds; medians of --runs each, and their ratio.
// 2. Per sample: the watch's own tick (sampling, rules, the log line), timed in-process
//    --samples times on a heap of --heap MB: median, p99 and max in ms. That is the event loop's
//    delay a sample adds, since the tick runs on it. The process's CPU time during the tick
//    (getrusage: user + system, V8's helper threads included, so an upper bound of the tick's
//    own work) is measured beside it: on a shared machine the wall time's tail is the scheduler
//    giving the core to someone else, which CPU time does not count.
//
//   node bench/watch.js [--seconds 15] [--runs 3] [--interval 5] [--samples 200] [--heap 100]

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { parseArgs } = require('util');

const ROOT = path.resolve(__dirname, '..');
const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    runs: { type: 'string', default: '3' },
    interval: { type: 'string', default: '5' },
    samples: { type: 'string', default: '200' },
    heap: { type: 'string', default: '100' },
  },
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function workload(seconds, watchOptions) {
  return `
    const heapsnap = require(${JSON.stringify(ROOT)});
    ${watchOptions ? `heapsnap.watch(${JSON.stringify(watchOptions)});` : ''}
    const kept = [];
    let ops = 0;
    const end = Date.now() + ${seconds * 1000};
    (function batch() {
      for (let i = 0; i < 2000; i++) {
        const o = { id: ops, name: 'user-' + ops, tags: ['a' + (ops % 97), 'b' + (ops % 89)], at: new Date(ops) };
        kept.push(JSON.stringify(o).length > 0 ? o : null);
        if (kept.length > 200000) kept.splice(0, 100000);
        ops++;
      }
      if (Date.now() < end) setImmediate(batch);
      else { console.log(ops / ${seconds}); heapsnap.stopWatch(); }
    })();
  `;
}

function throughput() {
  const seconds = Number(args.seconds);
  const log = path.join(os.tmpdir(), `heapsnap-bench-watch-${process.pid}.jsonl`);
  const watchOptions = { rules: ['heap>99%', 'cgroup>99%', 'growth>500%'], interval: Number(args.interval), statsFile: log, quiet: true };
  const results = { without: [], with: [] };
  for (let run = 0; run < Number(args.runs); run++) {
    for (const kind of ['without', 'with']) {
      const child = spawnSync(process.execPath, ['-e', workload(seconds, kind === 'with' ? watchOptions : null)], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`workload failed: ${child.stderr}`);
      results[kind].push(Number(child.stdout.trim()));
    }
  }
  const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').length : 0;
  fs.rmSync(log, { force: true });
  fs.rmSync(`${log}.1`, { force: true });
  const [a, b] = [median(results.without), median(results.with)];
  console.log(`throughput (ops/s, median of ${args.runs} alternating ${seconds} s runs, watch every ${args.interval} s):`);
  console.log(`  without watch  ${Math.round(a)}   [${results.without.map(Math.round).join(', ')}]`);
  console.log(`  with watch     ${Math.round(b)}   [${results.with.map(Math.round).join(', ')}]   (${lines} log lines)`);
  console.log(`  ratio with/without: ${(b / a).toFixed(3)} (cost ${((1 - b / a) * 100).toFixed(2)}%)`);
}

function perSample() {
  const code = `
    const { Watch } = require(${JSON.stringify(path.join(ROOT, 'lib', 'watch', 'watch.js'))});
    const { parseRule } = require(${JSON.stringify(path.join(ROOT, 'lib', 'watch', 'rules.js'))});
    const keep = [];
    while (process.memoryUsage().heapUsed < ${Number(args.heap)} * 1e6) keep.push({ a: keep.length, b: 'x' + keep.length });
    const log = require('path').join(require('os').tmpdir(), 'heapsnap-bench-tick-' + process.pid + '.jsonl');
    const w = new Watch(['heap>99%', 'cgroup>99%', 'growth>500%'].map((r) => parseRule(r)), { interval: 3600, statsFile: log, quiet: true });
    const wall = [];
    const cpu = [];
    for (let i = 0; i < ${Number(args.samples)}; i++) {
      if (i % 20 === 0) global.gc();
      const c = process.cpuUsage();
      const t = process.hrtime.bigint();
      w.tick();
      wall.push(Number(process.hrtime.bigint() - t) / 1e6);
      const used = process.cpuUsage(c);
      cpu.push((used.user + used.system) / 1e3);
    }
    w.stop();
    require('fs').rmSync(log, { force: true });
    const stats = (xs) => { xs.sort((a, b) => a - b); return { median: xs[xs.length >> 1], p99: xs[Math.floor(xs.length * 0.99)], max: xs[xs.length - 1] }; };
    console.log(JSON.stringify({ wall: stats(wall), cpu: stats(cpu) }));
  `;
  const child = spawnSync(process.execPath, ['--expose-gc', '-e', code], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`per-sample run failed: ${child.stderr}`);
  const t = JSON.parse(child.stdout);
  const show = (s) => `median ${s.median.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms, max ${s.max.toFixed(3)} ms`;
  console.log(`per sample (${args.samples} ticks, ${args.heap} MB heap, log and growth rule on):`);
  console.log(`  wall time (the event loop's delay)  ${show(t.wall)}`);
  console.log(`  process CPU time during the tick    ${show(t.cpu)}`);
}

console.log(`node ${process.version}, ${os.cpus().length} cores`);
perSample();
throughput();
