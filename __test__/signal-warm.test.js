'use strict';
// The native line-end warm-up inside triggered dumps. V8 < 12 (Node 18, 20) recomputes script
// line ends while it builds a snapshot (~20 s with TypeScript's compiler loaded) unless they
// are cached; signal and near-heap-limit dumps run inside V8 interrupts, where only native
// code can cache them. Children load TypeScript and dump from an interrupt; the tests check
// that the warm-up ran in that very dump and visited TypeScript, and that the snapshot parses
// with function locations that point at the right source lines. No timing is asserted.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { PKG, tmpDir, readSnapshot, runNode, nativeWriterOnly } = require('./helpers');

const TYPESCRIPT = require.resolve('typescript');
const TYPESCRIPT_LINES = fs.readFileSync(TYPESCRIPT, 'utf8').split('\n');
const NEEDS_WARMUP = Number.parseInt(process.versions.v8, 10) < 12;

/** Child code: heapsnap and TypeScript loaded, `body` run, then the last warm-up printed. */
function childWith(body) {
  return `
    const fs = require('fs');
    const heapsnap = require(${JSON.stringify(PKG)});
    const { writer } = require(${JSON.stringify(path.join(PKG, 'lib', 'loader', 'native.js'))});
    require(${JSON.stringify(TYPESCRIPT)});
    const before = writer().lastLineEndWarmup();
    ${body}
    console.log('warmup ' + JSON.stringify({ before, after: writer().lastLineEndWarmup() }));
  `;
}

/** The `warmup` line a child printed: the last warm-up before and after its dump. */
function warmupReport(child) {
  const line = child.stdout.split('\n').find((l) => l.startsWith('warmup '));
  assert.ok(line, `the child reports its warm-up: status ${child.status} ${child.signal || ''}\n${child.stdout}\n${child.stderr}`);
  return JSON.parse(line.slice('warmup '.length));
}

function assertWarmedInTheDump({ before, after }) {
  assert.strictEqual(before, null, 'no warm-up before the dump');
  if (!NEEDS_WARMUP) {
    assert.strictEqual(after.status, 'not-needed');
    return;
  }
  assert.strictEqual(after.status, 'warmed', JSON.stringify(after));
  assert.ok(after.scripts >= 2, `node's scripts and TypeScript: ${after.scripts}`);
  assert.ok(after.lines >= TYPESCRIPT_LINES.length - 1, `TypeScript's ${TYPESCRIPT_LINES.length} lines were scanned: ${after.lines}`);
}

/** Function locations of closures named `name`: { line, column }, 0-based as V8 writes them. */
function closureLocations(snapshot, name) {
  const meta = snapshot.snapshot.meta;
  const nameOffset = meta.node_fields.indexOf('name');
  const typeOffset = meta.node_fields.indexOf('type');
  const closureType = meta.node_types[typeOffset].indexOf('closure');
  const [objectField, lineField, columnField] = ['object_index', 'line', 'column'].map((f) => meta.location_fields.indexOf(f));
  const found = [];
  for (let i = 0; i < snapshot.locations.length; i += meta.location_fields.length) {
    const node = snapshot.locations[i + objectField];
    if (snapshot.nodes[node + typeOffset] !== closureType || snapshot.strings[snapshot.nodes[node + nameOffset]] !== name) continue;
    found.push({ line: snapshot.locations[i + lineField], column: snapshot.locations[i + columnField] });
  }
  return found;
}

/** The snapshot is complete, and TypeScript's `createSourceFile` functions sit where its source says. */
function assertLocationsRight(file) {
  const { snapshot } = readSnapshot(file);
  const locations = closureLocations(snapshot, 'createSourceFile');
  const declaration = TYPESCRIPT_LINES.findIndex((line) => line.startsWith('function createSourceFile('));
  assert.ok(declaration > 0, 'TypeScript still declares createSourceFile at top level');
  assert.ok(locations.some(({ line }) => line === declaration), `createSourceFile at line ${declaration}: ${JSON.stringify(locations)}`);
  for (const { line, column } of locations) {
    assert.match(TYPESCRIPT_LINES[line].slice(0, column), /createSourceFile\W*$/, `line ${line}, column ${column}`);
  }
}

test('SIGUSR2 during a busy loop warms line ends inside the interrupt, with TypeScript loaded', nativeWriterOnly('line ends warmed inside the V8 interrupt'), (t) => {
  const dir = tmpDir(t);
  const target = path.join(dir, 'signal.heapsnapshot');
  const child = runNode(childWith(`
    heapsnap.installSignalHandler({ path: ${JSON.stringify(target)}, quiet: true });
    process.kill(process.pid, 'SIGUSR2');
    // Spin until the file is in place: only the V8 interrupt can dump while JS runs.
    const deadline = Date.now() + 60_000;
    while (!fs.existsSync(${JSON.stringify(target)}) && Date.now() < deadline) {}
  `), { env: { HEAPSNAP_OPTIONS: 'nosignal', HEAPSNAP_LINE_END_WARMUP: '' }, timeout: 90_000 });
  assert.strictEqual(child.status, 0, child.stderr);
  assertWarmedInTheDump(warmupReport(child));
  assertLocationsRight(target);
});

test('a near-heap-limit dump warms line ends too, with TypeScript loaded', nativeWriterOnly('heapsnap\'s own near-heap-limit dump'), (t) => {
  const dir = tmpDir(t);
  const target = path.join(dir, 'near-limit.heapsnapshot');
  // Two dumps allowed, so the limit stays raised after the first: the child then lets go of
  // its garbage and reports, instead of dying of OOM.
  const child = runNode(childWith(`
    heapsnap.onNearHeapLimit({ path: ${JSON.stringify(target)}, quiet: true, maxDumps: 2 });
    let keep = [];
    while (!fs.existsSync(${JSON.stringify(target)})) keep.push(new Array(10_000).fill(1.5));
    keep = null;
  `), { args: ['--max-old-space-size=96'], env: { HEAPSNAP_OPTIONS: 'nosignal', HEAPSNAP_LINE_END_WARMUP: '' }, timeout: 90_000 });
  assert.strictEqual(child.status, 0, child.stderr);
  assertWarmedInTheDump(warmupReport(child));
  assertLocationsRight(target);
});

test('HEAPSNAP_LINE_END_WARMUP=off skips the warm-up', nativeWriterOnly('the native line-end warm-up'), () => {
  const child = runNode(`
    const { writer } = require(${JSON.stringify(path.join(PKG, 'lib', 'loader', 'native.js'))});
    console.log(JSON.stringify(writer().warmLineEnds()));
  `, { env: { HEAPSNAP_OPTIONS: 'nosignal', HEAPSNAP_LINE_END_WARMUP: 'off' } });
  assert.strictEqual(child.status, 0, child.stderr);
  const { status, scripts } = JSON.parse(child.stdout);
  assert.deepStrictEqual({ status, scripts }, { status: 'off', scripts: 0 });
});
