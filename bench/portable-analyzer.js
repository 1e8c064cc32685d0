#!/usr/bin/env node
'use strict';
// The WebAssembly analyzer (portable mode, HEAPSNAP_FORCE_PORTABLE=analyzer) against the native
// one, on the same snapshot file, in one run: time and peak RSS of `readSnapshot(file).summary()`
// in fresh processes (alternating, so both see the same machine load), plus the CLI's
// `heapsnap summary --json` end to end (start-up and the .wasm's compilation included), and
// whether the two print the same bytes.
//
//   node bench/portable-analyzer.js [--heap 100] [--runs 3] [--file F] [--keep DIR] [--write-readme]
//
// --heap 100 builds bench/analyze.js's heap of 100 MB used (a ~154 MB .heapsnapshot, "the 150 MB
// snapshot"); --file measures an existing snapshot instead. Needs both analyzers built
// (`npm run build`: the native addon and the .wasm).

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const { BIG_HEAP, buildSnapshot } = require('./analyze');

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'heapsnap.js');
const { values: args } = parseArgs({
  options: {
    heap: { type: 'string', default: '100' },
    runs: { type: 'string', default: '3' },
    file: { type: 'string' },
    keep: { type: 'string' },
    'write-readme': { type: 'boolean', default: false },
  },
});

const MODES = { native: '', portable: 'analyzer' };

function measureApi(mode, file) {
  const code = `
    const { readSnapshot } = require(${JSON.stringify(path.join(ROOT, 'lib', 'analyzer', 'analyze.js'))});
    const { analyzer } = require(${JSON.stringify(path.join(ROOT, 'lib', 'loader', 'native.js'))});
    const t0 = performance.now();
    analyzer();
    const t1 = performance.now();
    const s = readSnapshot(${JSON.stringify(file)}).summary();
    const ms = performance.now() - t1;
    process.stdout.write('@@' + JSON.stringify({ mode: analyzer.mode(), loadMs: t1 - t0, ms, nodes: s.nodeCount, maxRssMB: process.resourceUsage().maxRSS / 1024 }) + '\\n');`;
  const r = spawnSync(process.execPath, [...BIG_HEAP, '-e', code], {
    encoding: 'utf8',
    env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal', HEAPSNAP_FORCE_PORTABLE: MODES[mode] },
  });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('@@'));
  if (r.status !== 0 || !line) throw new Error(`${mode} failed (status ${r.status}): ${r.stderr}`);
  const result = JSON.parse(line.slice(2));
  if (result.mode !== mode) throw new Error(`asked for the ${mode} analyzer, got the ${result.mode} one`);
  return result;
}

function measureCli(mode, file) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI, 'summary', '--json', file], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal', HEAPSNAP_FORCE_PORTABLE: MODES[mode] },
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`heapsnap summary (${mode}) failed: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmtS = (ms) => `${(ms / 1000).toFixed(2)} s`;

function main() {
  const runs = Number(args.runs);
  let file = args.file && path.resolve(args.file);
  let dir;
  if (!file) {
    dir = args.keep ? path.resolve(args.keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'heapsnap-bench-portable-'));
    fs.mkdirSync(dir, { recursive: true });
    file = path.join(dir, `heap-${args.heap}mb.heapsnapshot`);
    if (!fs.existsSync(file)) {
      process.stderr.write(`building a ${args.heap} MB heap and writing ${file}...\n`);
      buildSnapshot(Number(args.heap), file);
    }
  }
  try {
    const fileMB = fs.statSync(file).size / 1e6;
    const api = { native: [], portable: [] };
    const cli = { native: [], portable: [] };
    for (let i = 0; i < runs; i++) {
      for (const mode of Object.keys(MODES)) {
        process.stderr.write(`  ${mode}, run ${i + 1}/${runs}: `);
        const a = measureApi(mode, file);
        api[mode].push(a);
        const c = measureCli(mode, file);
        cli[mode].push(c);
        process.stderr.write(`summary ${fmtS(a.ms)} (load ${Math.round(a.loadMs)} ms), ${Math.round(a.maxRssMB)} MB peak; CLI ${fmtS(c.ms)}\n`);
      }
    }
    const same = cli.native.every((n) => cli.portable.every((p) => p.stdout === n.stdout));
    const row = (mode) => ({
      ms: median(api[mode].map((r) => r.ms)),
      loadMs: median(api[mode].map((r) => r.loadMs)),
      rss: median(api[mode].map((r) => r.maxRssMB)),
      cliMs: median(cli[mode].map((r) => r.ms)),
    });
    const n = row('native');
    const p = row('portable');
    const table = [
      '| analyzer | load | readSnapshot + summary | peak RSS | `heapsnap summary --json` (CLI, end to end) |',
      '|:--|--:|--:|--:|--:|',
      `| native (linux-x64) | ${Math.round(n.loadMs)} ms | ${fmtS(n.ms)} | ${Math.round(n.rss)} MB | ${fmtS(n.cliMs)} |`,
      `| WebAssembly (wasm32-wasip1-threads) | ${Math.round(p.loadMs)} ms | ${fmtS(p.ms)} | ${Math.round(p.rss)} MB | ${fmtS(p.cliMs)} |`,
      `| WebAssembly / native | | **${(p.ms / n.ms).toFixed(2)}x** | ${(p.rss / n.rss).toFixed(2)}x | ${(p.cliMs / n.cliMs).toFixed(2)}x |`,
    ].join('\n');
    const cpu = os.cpus()[0] ? os.cpus()[0].model.trim() : 'unknown CPU';
    const env =
      `${fileMB.toFixed(0)} MB .heapsnapshot (${(api.native[0].nodes / 1e6).toFixed(2)} M nodes); Node ${process.version}, ` +
      `${os.cpus().length} x ${cpu}, ${os.platform()} ${os.release()}; medians of ${runs} alternating runs; ` +
      `summary --json output ${same ? 'byte-identical' : 'DIFFERENT'} between the two.`;
    process.stdout.write(`${table}\n\n${env}\n`);
    if (!same) process.exitCode = 1;
    if (args['write-readme']) writeReadme(`${table}\n\n${env}`);
  } finally {
    if (dir && !args.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function writeReadme(block) {
  const readme = path.join(__dirname, 'README.md');
  const begin = '<!-- portable-analyzer-bench:begin -->';
  const end = '<!-- portable-analyzer-bench:end -->';
  const text = fs.readFileSync(readme, 'utf8');
  if (!text.includes(begin) || !text.includes(end)) throw new Error(`no ${begin} ... ${end} block in ${readme}`);
  fs.writeFileSync(readme, text.slice(0, text.indexOf(begin)) + `${begin}\n${block}\n${end}` + text.slice(text.indexOf(end) + end.length));
  process.stderr.write(`wrote the table into ${readme}\n`);
}

main();
