'use strict';
// The analyzer on a multi-GB snapshot: every CLI command heapsnap has for snapshots
// (summary, diff A A, report A A, leaks A A A, retainers --name), DevTools' loader and
// memlab's load + retained sizes, each in a fresh process (wall time and peak RSS, also of
// runs that fail or time out), on a
// synthetic snapshot whose Summary is known exactly (crates/heapsnap-core/src/read/synth.rs) or on
// any snapshot file.
//
//   cargo build --release -p heapsnap-core --example synth
//   node bench/scale.js --generate /tmp/big.heapsnapshot [--holders 17000 --items 1000 --string-len 250]
//   node bench/scale.js --file some.heapsnapshot [--expected synth-output.json] [--only summary,leaks,retainers,memlab] [--retainers-name Ctor] [--timeout 900]
//   node bench/scale.js --generate-ast /tmp/ast.heapsnapshot [--parser typescript|acorn] [--parses 3] [--generator-node node22] [--only summary,devtools]
//   node bench/scale.js --generate-strings big/real-strings.heapsnapshot [--strings 3000000] [--string-len 1000]
//
// With --generate, the summary is compared with the generator's expected one (exact match
// required) and the file is left in place (delete it yourself: it is GBs).
// With --generate-ast, the snapshot is a real heap instead: a child process keeps the ASTs of
// `--parses` parses of typescript.js by TypeScript's own parser (~75 MB of used heap each, deep
// trees of small objects: 6-7 edges a node) or, with `--parser acorn`, by acorn with locations
// (~220 MB each: 4.4 M nodes, 3.4 edges a node; the heap issue 13 measures against) and writes
// it with v8.writeHeapSnapshot; pass a Node 22+ as --generator-node, Node 20's generator takes
// more than 13 minutes on the TypeScript heap.
// With --generate-strings, a real heap too, string-heavy so that a multi-GB file costs V8
// little memory per node: a child process (--generator-node, default this node) keeps
// `--strings` distinct flat one-byte strings of `--string-len` characters (each made by
// Buffer#toString('latin1'), a sequential string, not a cons string or a slice), 1,000 to a
// `Shelf` object, shelves in a few `Aisle` maps, and writes the snapshot with heapsnap's own
// writer (writeSnapshot, uncompressed); its time and peak RSS are printed, and the summary's
// (string) row is checked against the strings made (count and self size at least theirs).
// `devtools` runs DevTools' own loader and Summary (scripts/devtools-model.js).

const { spawn, spawnSync } = require('child_process');
const { once } = require('events');
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
    'generate-ast': { type: 'string' },
    'generate-strings': { type: 'string' },
    strings: { type: 'string', default: '3000000' },
    parses: { type: 'string', default: '3' },
    parser: { type: 'string', default: 'typescript' },
    'generator-node': { type: 'string', default: process.execPath },
    file: { type: 'string' },
    expected: { type: 'string' },
    holders: { type: 'string', default: '17000' },
    items: { type: 'string', default: '1000' },
    'string-len': { type: 'string' }, // 250 for --generate, 1000 for --generate-strings
    only: { type: 'string', default: 'summary,diff,report,memlab' },
    'retainers-name': { type: 'string', default: 'Object' },
    timeout: { type: 'string', default: '1800' },
  },
});

/**
 * Runs argv: { ok, status, seconds, peakMB, stdout, tail } (tail: stderr's error line, else its last). Peak RSS
 * is the process's own VmHWM (a high-water mark, so sampling every 100 ms misses at most the
 * growth of the last 100 ms), read until it exits or is killed at the timeout, so runs that
 * fail or are stopped keep their numbers too.
 */
async function timed(argv, timeoutS) {
  const t0 = performance.now();
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4096); });
  let peakKB = 0;
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakKB = Math.max(peakKB, Number(m[1]));
    } catch {}
  };
  const poll = setInterval(sample, 100);
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; sample(); child.kill('SIGKILL'); }, timeoutS * 1000);
  const [code, signal] = await once(child, 'exit');
  clearInterval(poll);
  clearTimeout(timer);
  const seconds = (performance.now() - t0) / 1000;
  const status = timedOut ? `stopped at the ${timeoutS} s timeout` : signal === 'SIGKILL' ? 'SIGKILL (out of memory?)' : code ?? signal;
  // The error's own line when there is one (a stack's last line says nothing), else the last.
  const lines = stderr.trim().split('\n');
  const tail = lines.find((l) => /\b(\w*Error|FATAL ERROR)\b/.test(l)) ?? lines.pop() ?? '';
  return { ok: code === 0, status, seconds, peakMB: peakKB / 1024, stdout, stderr, tail };
}

function generate(file) {
  const bin = path.join(ROOT, 'target', 'release', 'examples', 'synth');
  if (!fs.existsSync(bin)) throw new Error(`build the generator first: cargo build --release -p heapsnap-core --example synth`);
  const r = spawnSync(bin, [file, '--holders', args.holders, '--items', args.items, '--string-len', args['string-len'] ?? '250'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('generator failed');
  return JSON.parse(r.stdout);
}

/** Writes the AST heap snapshot to file (see the header); returns the used heap it had. */
function generateAst(file) {
  const ts = require.resolve('typescript', { paths: [ROOT] });
  const parse = {
    typescript: `ts.createSourceFile('typescript' + i + '.js', text, ts.ScriptTarget.Latest, true)`,
    acorn: `require(${JSON.stringify(require.resolve('acorn', { paths: [ROOT] }))}).parse(text, { ecmaVersion: 'latest', locations: true })`,
  }[args.parser];
  if (!parse) throw new Error(`--parser typescript or acorn, not ${args.parser}`);
  // Only TypeScript's own parse loads the compiler; acorn's heap holds just its AST.
  const code = `
    const v8 = require('v8');
    ${args.parser === 'typescript' ? `const ts = require(${JSON.stringify(ts)});` : ''}
    const text = require('fs').readFileSync(${JSON.stringify(ts)}, 'utf8');
    const keep = (globalThis.__benchAst = []);
    for (let i = 0; i < ${Number(args.parses)}; i++) keep.push(${parse});
    global.gc?.();
    const usedHeap = v8.getHeapStatistics().used_heap_size;
    v8.writeHeapSnapshot(${JSON.stringify(file)});
    console.log(JSON.stringify({ usedHeap }));`;
  const r = spawnSync(args['generator-node'], ['--expose-gc', ...BIG_HEAP, '-e', code], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('AST snapshot generation failed');
  return JSON.parse(r.stdout);
}

/**
 * Writes the string-heavy snapshot to file (see the header) with heapsnap's writer in a child
 * process; returns what the child reports ({ strings, stringLen, stringSelfSize, usedHeap,
 * snapshot: heapsnap's SnapshotInfo }) with its wall time and peak RSS.
 */
async function generateStrings(file) {
  const n = Number(args.strings);
  const len = Number(args['string-len'] ?? '1000');
  if (!(n > 0 && len >= 16)) throw new Error('--strings N (> 0) and --string-len L (>= 16)');
  const code = `
    const v8 = require('v8');
    const heapsnap = require(${JSON.stringify(ROOT)});
    const n = ${n}, len = ${len};
    class Shelf { constructor(i) { this.index = i; this.items = []; } }
    class Aisle { constructor(i) { this.name = 'aisle-' + i; this.shelves = new Map(); } }
    const aisles = (globalThis.__benchStrings = Array.from({ length: 16 }, (_, i) => new Aisle(i)));
    // One buffer rewritten per string: the index (base 36) at both ends and letters from it in
    // between, so every string is distinct and needs no escaping in JSON; latin1 decoding
    // makes a flat sequential one-byte string of exactly len characters.
    const buf = Buffer.alloc(len);
    let shelf;
    for (let i = 0; i < n; i++) {
      if (i % 1000 === 0) {
        shelf = new Shelf(i / 1000);
        aisles[shelf.index % aisles.length].shelves.set(shelf.index, shelf);
      }
      const id = i.toString(36).padStart(8, '0');
      for (let j = 0; j < len; j++) buf[j] = 97 + ((i * 7 + j * 13 + (j >> 4) * i) % 26);
      buf.write(id, 0, 'latin1');
      buf.write(id, len - 8, 'latin1');
      shelf.items.push(buf.toString('latin1'));
    }
    const sample = aisles[0].shelves.get(0).items[0];
    if (sample.length !== len || sample === aisles[0].shelves.get(0).items[1]) throw new Error('bad strings');
    const usedHeap = v8.getHeapStatistics().used_heap_size;
    const t0 = performance.now();
    // force: the headroom check's 10 bytes per used heap byte is calibrated on small objects
    // and knowingly high for large strings (it refuses 4 GB of strings as needing 38 GiB more).
    heapsnap.writeSnapshot(${JSON.stringify(file)}, { compress: false, force: true }, (err) => {
      if (err) throw err;
    });
    const writeMs = performance.now() - t0;
    console.log(JSON.stringify({ strings: n, stringLen: len, usedHeap, writeMs, maxRSS: process.resourceUsage().maxRSS * 1024 }));`;
  const r = await timed([args['generator-node'], '--max-old-space-size=' + Math.max(4096, Math.ceil((n * (len + 64)) / 2 ** 20) + 2048), '-e', code], 3600);
  if (!r.ok) throw new Error(`string snapshot generation failed (${r.status}, peak RSS ${(r.peakMB / 1024).toFixed(2)} GiB after ${r.seconds.toFixed(1)} s):\n${r.stderr}`);
  return { ...JSON.parse(r.stdout), seconds: r.seconds, peakMB: r.peakMB };
}

const strip = (s) => JSON.stringify({
  nodeCount: s.nodeCount,
  edgeCount: s.edgeCount,
  totalSize: s.totalSize,
  constructors: s.constructors.map(({ name, count, selfSize, retainedSize }) => ({ name, count, selfSize, retainedSize })),
});

async function main() {
  const file = args.generate ?? args['generate-ast'] ?? args['generate-strings'] ?? args.file;
  if (!file) throw new Error('--generate FILE, --generate-ast FILE, --generate-strings FILE or --file FILE');
  if (args['generate-ast']) process.stderr.write(`AST heap: ${(generateAst(file).usedHeap / 1e6).toFixed(0)} MB used\n`);
  const strings = args['generate-strings'] ? await generateStrings(file) : null;
  if (strings) {
    process.stderr.write(`strings: ${strings.strings} x ${strings.stringLen} chars, ${(strings.usedHeap / 1e9).toFixed(2)} GB used heap; ` +
      `generated and written in ${strings.seconds.toFixed(1)} s (writeSnapshot ${(strings.writeMs / 1000).toFixed(1)} s), peak RSS ${(strings.peakMB / 1024).toFixed(2)} GiB\n`);
  }
  const expected = args.generate ? generate(file) : args.expected ? JSON.parse(fs.readFileSync(args.expected, 'utf8')) : null;
  const size = fs.statSync(file).size;
  const timeout = Number(args.timeout);
  const report = path.join(os.tmpdir(), `heapsnap-scale-report-${process.pid}.html`);
  const runs = {
    summary: () => [process.execPath, CLI, 'summary', file, '--json'],
    diff: () => [process.execPath, CLI, 'diff', file, file, '--json'],
    report: () => [process.execPath, CLI, 'report', file, file, '-o', report],
    leaks: () => [process.execPath, CLI, 'leaks', file, file, file, '--json'],
    retainers: () => [process.execPath, CLI, 'retainers', file, '--name', args['retainers-name'], '--json'],
    devtools: () => [process.execPath, ...BIG_HEAP, path.join(ROOT, 'scripts', 'devtools-model.js'), file],
    memlab: () => [process.execPath, ...BIG_HEAP, '-e', `function report(r) { console.log(JSON.stringify(r)); }\n${ANALYZERS.memlab(file)}`],
  };
  const rows = [];
  const results = {};
  for (const name of args.only.split(',')) {
    process.stderr.write(`${name}...\n`);
    const r = await timed(runs[name](), timeout);
    results[name] = r;
    let note = r.ok ? '' : `failed (${r.status}): ${r.tail.slice(0, 160)}`;
    if (r.ok && name === 'summary' && expected) note = strip(JSON.parse(r.stdout)) === strip(expected) ? 'exact (matches the generator)' : 'DIFFERENT from the generator';
    if (r.ok && name === 'summary') {
      const s = JSON.parse(r.stdout);
      const top = s.constructors.reduce((a, c) => (c.selfSize > a.selfSize ? c : a));
      const str = s.constructors.find((c) => c.name === '(string)');
      process.stderr.write(`summary: ${s.nodeCount} nodes, ${s.edgeCount} edges, total ${s.totalSize} bytes; largest self size: ${top.name} ${top.count} nodes ${top.selfSize} bytes` +
        `${str && str !== top ? `; (string) ${str.count} nodes ${str.selfSize} bytes` : ''}\n`);
      if (strings) {
        // A sequential one-byte string: a 16-byte header (12 with pointer compression) and
        // the characters, to a multiple of 8.
        const each = Math.ceil((16 + strings.stringLen) / 8) * 8;
        const fits = str && str.count >= strings.strings && str.selfSize >= strings.strings * each && str.count < strings.strings + 100000; // node itself has ~13 k strings
        note = `${fits ? '' : 'UNEXPECTED: '}(string): ${(str?.count / 1e6).toFixed(2)} M nodes, ${(str?.selfSize / 1e9).toFixed(2)} GB (the generator made ${(strings.strings / 1e6).toFixed(2)} M of ${each} bytes)`;
      }
    }
    if (r.ok && name === 'report') {
      note = `page of ${(fs.statSync(report).size / 1e3).toFixed(0)} kB`;
      fs.rmSync(report, { force: true });
    }
    rows.push(`| ${name === 'memlab' ? 'memlab load + retained sizes' : name === 'devtools' ? "DevTools' loader + Summary" : `heapsnap ${name}`} | ${r.seconds.toFixed(1)} s | ${(size / 1e6 / r.seconds).toFixed(0)} MB/s | ${(r.peakMB / 1024).toFixed(2)} GiB | ${((r.peakMB * 1024 * 1024) / size).toFixed(2)} | ${note} |`);
    process.stderr.write(`${rows[rows.length - 1]}\n`);
  }
  console.log(`${path.basename(file)}: ${(size / 1e9).toFixed(2)} GB${expected ? `, ${(expected.nodeCount / 1e6).toFixed(1)} M nodes, ${(expected.edgeCount / 1e6).toFixed(1)} M edges, ${(expected.stringChars / 1e9).toFixed(2)} G string characters` : ''}; Node ${process.version}, ${os.cpus().length} cores\n`);
  console.log('| command | time | file MB/s | peak RSS | peak RSS / file size | result |');
  console.log('|:--|--:|--:|--:|--:|:--|');
  for (const r of rows) console.log(r);
  const [hs, dt] = [results.summary, results.devtools];
  if (hs?.ok && dt?.ok) {
    // DevTools' rows carry a location heapsnap's --json summary leaves out; both are keyed alike.
    const rowsOf = (s) => s.constructors.map((c) => [c.name, c.count, c.selfSize, c.retainedSize].join('|')).sort();
    const [a, b] = [JSON.parse(hs.stdout), JSON.parse(dt.stdout)];
    const same = a.nodeCount === b.nodeCount && a.totalSize === b.totalSize && JSON.stringify(rowsOf(a)) === JSON.stringify(rowsOf(b));
    console.log(`\nheapsnap summary vs DevTools: ${(hs.peakMB / dt.peakMB).toFixed(3)}x the peak RSS (${hs.peakMB.toFixed(0)} vs ${dt.peakMB.toFixed(0)} MiB), ` +
      `${(hs.seconds / dt.seconds).toFixed(2)}x the time; Summary ${same ? `identical (${a.constructors.length} constructors: counts, self and retained sizes)` : 'DIFFERENT'}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
