#!/usr/bin/env node
'use strict';
// Analyzer benchmark: heapsnap's native parse + summary (retained sizes by constructor)
// against memlab's load + retained sizes, on the same snapshot files, in one run.
//
//   node bench/analyze.js [--heaps 30,100] [--runs 3] [--memlab-runs 1] [--keep DIR] [--write-readme]
//
// For each heap size (MB of V8 used heap), a child process builds a heap of small records,
// closures and a Map (like bench/write.js), and writes it with v8.writeHeapSnapshot. Then each
// analyzer runs in a fresh child process that only loads that file and computes retained
// sizes; it reports wall time of the work and its peak RSS (getrusage maxrss: the whole
// process, node itself included; `node -e 0` is measured too, as a floor).
// heapsnap must be built in release mode first (`node scripts/build.js`).
// memlab: `@memlab/core` (a dev dependency; its `TraceFinder` is what memlab's own leak
// detector runs: shortest paths, then dominators and retained sizes).

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');

const ROOT = path.resolve(__dirname, '..');
const { values: args } = parseArgs({
  args: require.main === module ? process.argv.slice(2) : [], // bench/scale.js only borrows ANALYZERS
  options: {
    heaps: { type: 'string', default: '30,100' },
    runs: { type: 'string', default: '3' },
    'memlab-runs': { type: 'string', default: '1' },
    keep: { type: 'string' },
    'write-readme': { type: 'boolean', default: false },
  },
});

const BIG_HEAP = ['--max-old-space-size=16384'];

function buildSnapshot(mb, file) {
  const code = `
    const v8 = require('v8');
    const keep = (globalThis.__benchHeap = []);
    const cache = new Map();
    let i = 0;
    while (v8.getHeapStatistics().used_heap_size < ${mb} * 1e6) {
      for (let j = 0; j < 1000; j++, i++) {
        const record = { id: i, name: 'user-' + i, tags: ['a' + (i % 97), 'b' + (i % 89)], at: new Date(i), score: i * 1.5 };
        keep.push(record);
        if (i % 3 === 0) cache.set('k' + i, () => record.id);
      }
    }
    keep.push(cache);
    v8.writeHeapSnapshot(${JSON.stringify(file)});
    console.log(JSON.stringify({ records: i, usedHeap: v8.getHeapStatistics().used_heap_size }));`;
  const r = spawnSync(process.execPath, [...BIG_HEAP, '-e', code], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`building the ${mb} MB heap failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const ANALYZERS = {
  heapsnap: (file) => `
    const { readSnapshot } = require(${JSON.stringify(path.join(ROOT, 'lib', 'analyzer', 'analyze.js'))});
    const t0 = performance.now();
    const s = readSnapshot(${JSON.stringify(file)}).summary();
    const ms = performance.now() - t0;
    report({ ms, nodes: s.nodeCount, totalSize: s.totalSize });`,
  memlab: (file) => `
    const { config, utils, TraceFinder } = require(${JSON.stringify(require.resolve('@memlab/core', { paths: [ROOT, __dirname] }))});
    config.muteConsole = true;
    (async () => {
      const t0 = performance.now();
      const snap = await utils.getSnapshotFromFile(${JSON.stringify(file)}, { buildNodeIdIndex: true, verbose: false });
      const finder = new TraceFinder();
      finder.annotateShortestPaths(snap);
      finder.calculateAllNodesRetainedSizes(snap);
      const ms = performance.now() - t0;
      report({ ms, nodes: snap.nodes.length, totalSize: snap.nodes.get(0).retainedSize });
    })();`,
  'node -e 0': () => `report({ ms: 0 });`,
};

function measure(name, file) {
  const code = `
    process.env.HEAPSNAP_OPTIONS = 'nosignal';
    function report(r) {
      r.maxRssMB = process.resourceUsage().maxRSS / 1024;
      process.stdout.write('@@' + JSON.stringify(r) + '\\n');
    }
    ${ANALYZERS[name](file)}`;
  const r = spawnSync(process.execPath, [...BIG_HEAP, '-e', code], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal' },
  });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('@@'));
  if (r.status !== 0 || !line) throw new Error(`${name} failed (status ${r.status}): ${r.stderr}`);
  return JSON.parse(line.slice(2));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmtS = (ms) => (ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`);
const fmtMB = (mb) => `${Math.round(mb)} MB`;

function main() {
  const dir = args.keep ? path.resolve(args.keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'heapsnap-bench-analyze-'));
  fs.mkdirSync(dir, { recursive: true });
  const runs = Number(args.runs);
  const memlabRuns = Number(args['memlab-runs']);
  const floor = measure('node -e 0', '');
  const rows = [];
  try {
    for (const mb of args.heaps.split(',').map(Number)) {
      const file = path.join(dir, `heap-${mb}mb.heapsnapshot`);
      if (!fs.existsSync(file)) {
        process.stderr.write(`building a ${mb} MB heap and writing ${file}...\n`);
        buildSnapshot(mb, file);
      }
      const fileMB = fs.statSync(file).size / 1e6;
      const results = {};
      for (const [name, n] of [['heapsnap', runs], ['memlab', memlabRuns]]) {
        const samples = [];
        for (let i = 0; i < n; i++) {
          process.stderr.write(`  ${name} on ${fileMB.toFixed(0)} MB, run ${i + 1}/${n}...`);
          samples.push(measure(name, file));
          process.stderr.write(` ${fmtS(samples[samples.length - 1].ms)}, ${fmtMB(samples[samples.length - 1].maxRssMB)}\n`);
        }
        results[name] = { ms: median(samples.map((s) => s.ms)), rss: median(samples.map((s) => s.maxRssMB)), nodes: samples[0].nodes, totalSize: samples[0].totalSize };
      }
      const h = results.heapsnap;
      const m = results.memlab;
      rows.push({
        heap: `${mb} MB`,
        file: `${fileMB.toFixed(0)} MB`,
        nodes: `${(h.nodes / 1e6).toFixed(2)} M`,
        hTime: fmtS(h.ms),
        mTime: fmtS(m.ms),
        speedup: `${(m.ms / h.ms).toFixed(1)}x`,
        hRss: fmtMB(h.rss),
        mRss: fmtMB(m.rss),
        memRatio: `${(h.rss / m.rss).toFixed(2)} (1/${(m.rss / h.rss).toFixed(1)})`,
        agree: `${((100 * Math.abs(h.totalSize - m.totalSize)) / m.totalSize).toFixed(3)}%`,
      });
    }
  } finally {
    if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
  }

  const header = '| V8 heap | snapshot | nodes | heapsnap parse+summary | memlab load+retained | speedup | heapsnap peak RSS | memlab peak RSS | RSS ratio | total size diff |';
  const table = [
    header,
    '|' + header.split('|').slice(1, -1).map((c) => (c.trim() === 'V8 heap' ? ':--' : '--:')).join('|') + '|',
    ...rows.map((r) => `| ${r.heap} | ${r.file} | ${r.nodes} | ${r.hTime} | ${r.mTime} | ${r.speedup} | ${r.hRss} | ${r.mRss} | ${r.memRatio} | ${r.agree} |`),
  ].join('\n');
  const cpu = os.cpus()[0] ? os.cpus()[0].model.trim() : 'unknown CPU';
  const env = `Node ${process.version}, ${os.cpus().length} x ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.platform()} ${os.release()}; ` +
    `medians of ${runs} heapsnap run(s) and ${memlabRuns} memlab run(s); a bare \`node -e 0\` peaks at ${fmtMB(floor.maxRssMB)} RSS.`;
  process.stdout.write(`${table}\n\n${env}\n`);
  if (args['write-readme']) writeReadme(table, env);
}

function writeReadme(table, env) {
  const readme = path.join(__dirname, 'README.md');
  const begin = '<!-- analyze-bench:begin -->';
  const end = '<!-- analyze-bench:end -->';
  const block = `${begin}\n${table}\n\n${env}\n${end}`;
  let text = fs.existsSync(readme) ? fs.readFileSync(readme, 'utf8') : '';
  if (text.includes(begin) && text.includes(end)) {
    text = text.slice(0, text.indexOf(begin)) + block + text.slice(text.indexOf(end) + end.length);
  } else {
    text += `${text && !text.endsWith('\n') ? '\n' : ''}\n${block}\n`;
  }
  fs.writeFileSync(readme, text);
  process.stderr.write(`wrote the table into ${readme}\n`);
}

module.exports = { ANALYZERS, BIG_HEAP, buildSnapshot };

if (require.main === module) main();
