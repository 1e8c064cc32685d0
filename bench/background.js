#!/usr/bin/env node
'use strict';
// Background (fork) dumps against in-process ones on the same heap, in one process: the
// parent's pause, the longest event-loop gap and the p99 latency of an HTTP server on
// loopback (answering a bounded load generator) during each dump, total time, the parent's
// extra peak RSS (its kernel peak is reset before each dump), the child's peak RSS (pages it
// shares with the parent included), and the success rate without fallback under allocation
// churn. A "no dump" row shows what the same load costs the loop with nothing dumping.
//
//   node bench/background.js [--heap-mb 150] [--dumps 20] [--no-churn] [--out result.json]
//
// Ratios are against v8.writeHeapSnapshot (synchronous: its pause is the whole write) and
// heapsnap's in-process writeSnapshotAsync, measured in the same process first.

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const v8 = require('v8');
const { parseArgs } = require('util');

const ROOT = path.resolve(__dirname, '..');
const heapsnap = require(ROOT);

const { values: args } = parseArgs({
  options: {
    'heap-mb': { type: 'string', default: '150' },
    dumps: { type: 'string', default: '20' },
    'no-churn': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

// A heap of records with strings, arrays, dates and closures, about `mb` MB used.
function buildHeap(mb) {
  const records = new Map();
  let i = 0;
  while (process.memoryUsage().heapUsed < mb * 1e6) {
    for (let k = 0; k < 10000; k++, i++) {
      const id = `record-${i}`;
      records.set(id, { id, tags: [`t${i % 97}`, `u${i % 13}`], at: new Date(i), score: i * 0.5, get: () => id });
    }
  }
  return records;
}

function status(pid, field) {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function childPids() {
  const pids = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) pids.push(Number(pid));
    } catch {}
  }
  return pids;
}

// The service: an HTTP server on loopback and 4 clients, one request at a time each.
async function startService() {
  const server = http.createServer((req, res) => res.end('ok'));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let latencies = [];
  let running = true;
  const client = async () => {
    while (running) {
      const t0 = performance.now();
      await new Promise((resolve) =>
        http.get({ host: '127.0.0.1', port: server.address().port, agent }, (res) => res.resume().on('end', resolve)).on('error', resolve),
      );
      latencies.push(performance.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const clients = Array.from({ length: 4 }, client);
  return {
    take() {
      const taken = latencies;
      latencies = [];
      return taken;
    },
    async stop() {
      running = false;
      await Promise.all(clients);
      agent.destroy();
      server.close();
    },
  };
}

const percentile = (values, p) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

// Runs `dump` while measuring the loop's longest gap, the service's latencies and the peak
// RSS of this process (reset first) and of any child.
async function measure(service, dump) {
  // Let requests held up by the previous measurement finish first: they are not this one's.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const rssBefore = status('self', 'VmRSS');
  service.take();
  let last = performance.now();
  let maxGap = 0;
  let childPeak = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  const sampler = setInterval(() => {
    for (const pid of childPids()) childPeak = Math.max(childPeak, status(pid, 'VmHWM') || 0);
  }, 50);
  const t0 = performance.now();
  const result = await dump();
  const totalMs = performance.now() - t0;
  maxGap = Math.max(maxGap, performance.now() - last);
  clearInterval(ticker);
  clearInterval(sampler);
  const latencies = service.take();
  return {
    ...result,
    totalMs,
    maxGapMs: maxGap,
    p99Ms: percentile(latencies, 99),
    requests: latencies.length,
    // The kernel's peak was reset to the RSS at the start: this is what the dump added.
    parentExtraRss: status('self', 'VmHWM') - rssBefore,
    childPeakRss: childPeak || undefined,
  };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heapsnap-bg-bench-'));
  const heap = buildHeap(Number(args['heap-mb']));
  globalThis.heap = heap;
  const used = process.memoryUsage().heapUsed;
  console.log(`node ${process.version}, ${os.cpus().length} cores, ${(used / 1e6).toFixed(0)} MB used heap, churn ${args['no-churn'] ? 'off' : 'on'}`);
  let churn = [];
  const churner = args['no-churn']
    ? undefined
    : setInterval(() => {
        churn.push(Array.from({ length: 2000 }, (_, i) => ({ i, s: `churn-${i}` })));
        if (churn.length > 50) churn = churn.slice(-25);
      }, 2);
  const service = await startService();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rows = [];
  const file = (name) => path.join(dir, name);

  // What the service sees with no dump at all: the GC pauses of the churn itself.
  const baseline = await measure(service, async () => {
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    return { pauseMs: 0, mode: 'none' };
  });
  rows.push({
    method: 'v8.writeHeapSnapshot',
    ...(await measure(service, async () => {
      const t0 = performance.now();
      v8.writeHeapSnapshot(file('v8.heapsnapshot'));
      return { pauseMs: performance.now() - t0, mode: 'in-process' };
    })),
  });
  fs.rmSync(file('v8.heapsnapshot'), { force: true });
  rows.push({
    method: 'heapsnap.writeSnapshotAsync',
    ...(await measure(service, async () => {
      const info = await heapsnap.writeSnapshotAsync({ path: file('ip.heapsnapshot') });
      fs.rmSync(info.path, { force: true });
      return { pauseMs: info.pauseMs, mode: info.mode };
    })),
  });
  const dumps = Number(args.dumps);
  const background = [];
  for (let i = 0; i < dumps; i++) {
    const row = await measure(service, async () => {
      const info = await heapsnap.writeSnapshotAsync({ background: true, path: file(`bg-${i}.heapsnapshot`) });
      const nodes = i === 0 ? heapsnap.readSnapshot(info.path).summary().nodeCount : undefined;
      fs.rmSync(info.path, { force: true });
      return { pauseMs: info.pauseMs, mode: info.mode, fallbackReason: info.fallbackReason, nodes };
    });
    background.push(row);
    console.log(`  background ${i + 1}/${dumps}: ${row.mode}, pause ${row.pauseMs.toFixed(1)} ms, loop gap ${row.maxGapMs.toFixed(0)} ms, total ${(row.totalMs / 1e3).toFixed(2)} s${row.fallbackReason ? ` (${row.fallbackReason})` : ''}`);
  }
  if (churner) clearInterval(churner);
  await service.stop();
  fs.rmSync(dir, { recursive: true, force: true });

  const ok = background.filter((row) => row.mode === 'background');
  const median = (key, list = ok) => percentile(list.map((row) => row[key]), 50);
  const max = (key, list = ok) => Math.max(...list.map((row) => row[key]));
  rows.push({
    method: `heapsnap background (median of ${ok.length})`,
    pauseMs: median('pauseMs'),
    maxGapMs: median('maxGapMs'),
    p99Ms: median('p99Ms'),
    totalMs: median('totalMs'),
    parentExtraRss: median('parentExtraRss'),
    childPeakRss: median('childPeakRss'),
    requests: median('requests'),
  });
  rows.push({ method: `heapsnap background (worst of ${ok.length})`, pauseMs: max('pauseMs'), maxGapMs: max('maxGapMs'), p99Ms: max('p99Ms'), totalMs: max('totalMs') });
  rows.push({ method: 'no dump (10 s of the same load)', ...baseline });
  const reference = rows[0];
  const mb = (bytes) => (bytes === undefined ? '-' : `${(bytes / 2 ** 20).toFixed(0)} MiB`);
  console.log('\n| method | JS pause | x v8 | longest loop gap | x v8 | HTTP p99 | total | parent extra peak RSS | child peak RSS |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    console.log(
      `| ${row.method} | ${row.pauseMs.toFixed(1)} ms | ${(row.pauseMs / reference.pauseMs).toFixed(4)} | ${row.maxGapMs.toFixed(0)} ms | ${(row.maxGapMs / reference.maxGapMs).toFixed(4)} | ${Number.isNaN(row.p99Ms) ? '-' : `${row.p99Ms.toFixed(0)} ms`} | ${(row.totalMs / 1e3).toFixed(2)} s | ${mb(row.parentExtraRss)} | ${mb(row.childPeakRss)} |`,
    );
  }
  const fallbacks = background.filter((row) => row.mode !== 'background');
  console.log(`\nsuccess without fallback: ${ok.length}/${dumps} (${((100 * ok.length) / dumps).toFixed(0)}%)${fallbacks.length ? `; fallbacks: ${fallbacks.map((row) => row.fallbackReason).join('; ')}` : ''}`);
  if (background[0] && background[0].nodes) console.log(`first background snapshot: ${background[0].nodes} nodes`);
  if (args.out) fs.writeFileSync(args.out, JSON.stringify({ node: process.version, heapUsed: used, rows, background }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
