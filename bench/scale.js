'use strict';
// The analyzer on a multi-GB snapshot: every CLI command heapsnap has for one or two
// snapshots (summary, diff A A, report A A) and memlab's load + retained sizes, each in a
// fresh process under /usr/bin/time (wall time and peak RSS, also of runs that fail), on a
// synthetic snapshot whose Summary is known exactly (crates/heapsnap-core/src/synth.rs) or on
// any snapshot file.
//
//   cargo build --release -p heapsnap-core --example synth
//   node bench/scale.js --generate /tmp/big.heapsnapshot [--holders 17000 --items 1000 --string-len 250]
//   node bench/scale.js --file some.heapsnapshot [--expected synth-output.json] [--only summary,memlab] [--timeout 900]
//
// With --generate, the summary is compared with the generator's expected one (exact match
// required) and the file is left in place (delete it yourself: it is GBs).

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const { ANALYZERS, BIG_HEAP } = require('./analyze');

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'heapsnap.js');

const { values: args } = parseArgs({
  options: {
    generate: { type: 'string' },
    file: { type: 'string' },
    expected: { type: 'string' },
    holders: { type: 'string', default: '17000' },
    items: { type: 'string', default: '1000' },
    'string-len': { type: 'string', default: '250' },
    only: { type: 'string', default: 'summary,diff,report,memlab' },
    timeout: { type: 'string', default: '1800' },
  },
});

/** Runs argv under /usr/bin/time: { ok, seconds, peakMB, status, tail } (tail: last stderr line). */
function timed(argv, timeoutS) {
  const stats = path.join(os.tmpdir(), `heapsnap-scale-time-${process.pid}`);
  // timeout(1) inside time(1), so a run that is stopped still gets its time and peak RSS.
  const r = spawnSync('/usr/bin/time', ['-o', stats, '-f', '%e %M', 'timeout', '--signal=KILL', String(timeoutS), ...argv], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal' },
  });
  const [seconds, kb] = (fs.existsSync(stats) ? fs.readFileSync(stats, 'utf8') : '').trim().split('\n').pop().split(' ').map(Number);
  fs.rmSync(stats, { force: true });
  const tail = (r.stderr || '').trim().split('\n').filter((l) => !/Command (exited|terminated)/.test(l)).pop() || '';
  const killed = seconds >= timeoutS - 1 ? `stopped at the ${timeoutS} s timeout` : 'SIGKILL (out of memory?)';
  const status = r.status === 137 ? killed : r.status ?? r.signal;
  return { ok: r.status === 0, status, seconds, peakMB: kb / 1024, stdout: r.stdout, tail: r.error ? String(r.error.message) : tail };
}

function generate(file) {
  const bin = path.join(ROOT, 'target', 'release', 'examples', 'synth');
  if (!fs.existsSync(bin)) throw new Error(`build the generator first: cargo build --release -p heapsnap-core --example synth`);
  const r = spawnSync(bin, [file, '--holders', args.holders, '--items', args.items, '--string-len', args['string-len']], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('generator failed');
  return JSON.parse(r.stdout);
}

const strip = (s) => JSON.stringify({
  nodeCount: s.nodeCount,
  edgeCount: s.edgeCount,
  totalSize: s.totalSize,
  constructors: s.constructors.map(({ name, count, selfSize, retainedSize }) => ({ name, count, selfSize, retainedSize })),
});

function main() {
  const file = args.generate ?? args.file;
  if (!file) throw new Error('--generate FILE or --file FILE');
  const expected = args.generate ? generate(file) : args.expected ? JSON.parse(fs.readFileSync(args.expected, 'utf8')) : null;
  const size = fs.statSync(file).size;
  const timeout = Number(args.timeout);
  const report = path.join(os.tmpdir(), `heapsnap-scale-report-${process.pid}.html`);
  const runs = {
    summary: () => [process.execPath, CLI, 'summary', file, '--json'],
    diff: () => [process.execPath, CLI, 'diff', file, file, '--json'],
    report: () => [process.execPath, CLI, 'report', file, file, '-o', report],
    memlab: () => [process.execPath, ...BIG_HEAP, '-e', `function report(r) { console.log(JSON.stringify(r)); }\n${ANALYZERS.memlab(file)}`],
  };
  const rows = [];
  for (const name of args.only.split(',')) {
    process.stderr.write(`${name}...\n`);
    const r = timed(runs[name](), timeout);
    let note = r.ok ? '' : `failed (${r.status}): ${r.tail.slice(0, 160)}`;
    if (r.ok && name === 'summary' && expected) note = strip(JSON.parse(r.stdout)) === strip(expected) ? 'exact (matches the generator)' : 'DIFFERENT from the generator';
    if (r.ok && name === 'report') {
      note = `page of ${(fs.statSync(report).size / 1e3).toFixed(0)} kB`;
      fs.rmSync(report, { force: true });
    }
    rows.push(`| ${name === 'memlab' ? 'memlab load + retained sizes' : `heapsnap ${name}`} | ${r.seconds.toFixed(1)} s | ${(size / 1e6 / r.seconds).toFixed(0)} MB/s | ${(r.peakMB / 1024).toFixed(2)} GiB | ${((r.peakMB * 1024 * 1024) / size).toFixed(2)} | ${note} |`);
    process.stderr.write(`${rows[rows.length - 1]}\n`);
  }
  console.log(`${path.basename(file)}: ${(size / 1e9).toFixed(2)} GB${expected ? `, ${(expected.nodeCount / 1e6).toFixed(1)} M nodes, ${(expected.edgeCount / 1e6).toFixed(1)} M edges, ${(expected.stringChars / 1e9).toFixed(2)} G string characters` : ''}; Node ${process.version}, ${os.cpus().length} cores\n`);
  console.log('| command | time | file MB/s | peak RSS | peak RSS / file size | result |');
  console.log('|:--|--:|--:|--:|--:|:--|');
  for (const r of rows) console.log(r);
}

main();
