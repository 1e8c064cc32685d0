'use strict';
// The writer: every test writes a real snapshot and reads it back.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const heapsnap = require('heapsnap');
const { PKG, tmpDir, snapshotText, readSnapshot, loadWithMemlab, listDir, withRecords, runNode, nativeWriterOnly } = require('./helpers');

class HeapsnapWriteMarker {
  constructor(n) {
    this.n = n;
  }
}
globalThis.__heapsnapMarkers = Array.from({ length: 7 }, (_, i) => new HeapsnapWriteMarker(i));

test('writeSnapshot(path) writes a complete 0600 snapshot that holds our objects', (t) => {
  const file = path.join(tmpDir(t), 'a.heapsnapshot');
  assert.strictEqual(heapsnap.writeSnapshot(file), true);
  assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
  const { snapshot, countObjects } = readSnapshot(file);
  assert.ok(snapshot.snapshot.node_count > 1000);
  assert.strictEqual(countObjects('HeapsnapWriteMarker'), 7);
  assert.deepStrictEqual(listDir(path.dirname(file)), withRecords('a.heapsnapshot'), 'no temp file is left');
});

test('writeSnapshot(path, cb) calls back synchronously with the file name', (t) => {
  const file = path.join(tmpDir(t), 'cb.heapsnapshot');
  const calls = [];
  const ok = heapsnap.writeSnapshot(file, (err, name) => calls.push([err, name]));
  assert.strictEqual(ok, true);
  assert.deepStrictEqual(calls, [[null, file]]);
  assert.strictEqual(readSnapshot(file).countObjects('HeapsnapWriteMarker'), 7);
});

test('writeSnapshot() with no name writes heapdump-<ms>.<seq>.heapsnapshot in the cwd and reports the relative name', (t) => {
  const dir = tmpDir(t);
  const cwd = process.cwd();
  process.chdir(dir);
  t.after(() => process.chdir(cwd));
  let reported;
  assert.strictEqual(heapsnap.writeSnapshot((err, name) => { assert.ifError(err); reported = name; }), true);
  const files = listDir(dir);
  assert.strictEqual(files.length, 2);
  assert.match(files[0], /^heapdump-\d{13}\.\d+\.heapsnapshot$/);
  assert.deepStrictEqual(files, withRecords(files[0]));
  assert.strictEqual(reported, files[0]);
  readSnapshot(path.join(dir, files[0]));
});

test('options may come second, and compression is inferred from the name', (t) => {
  const dir = tmpDir(t);
  const gz = path.join(dir, 'x.heapsnapshot.gz');
  const zst = path.join(dir, 'x.heapsnapshot.zst');
  assert.strictEqual(heapsnap.writeSnapshot(gz, { gc: true }, (err) => assert.ifError(err)), true);
  assert.strictEqual(heapsnap.writeSnapshot(zst), true);
  assert.deepStrictEqual([...fs.readFileSync(gz).subarray(0, 2)], [0x1f, 0x8b]);
  assert.strictEqual(fs.readFileSync(zst).readUInt32LE(0), 0xfd2fb528);
  assert.strictEqual(readSnapshot(gz).countObjects('HeapsnapWriteMarker'), 7);
  assert.strictEqual(readSnapshot(zst).countObjects('HeapsnapWriteMarker'), 7);
});

test('writeSnapshotAsync resolves with sizes and timings that match the file', async (t) => {
  const dir = tmpDir(t);
  for (const compress of ['gzip', 'zstd', false]) {
    const info = await heapsnap.writeSnapshotAsync({ dir, compress, path: `snap-{pid}-{seq}.heapsnapshot${compress === 'gzip' ? '.gz' : compress === 'zstd' ? '.zst' : ''}` });
    assert.strictEqual(info.compression, compress || 'none');
    assert.strictEqual(path.dirname(info.path), dir);
    assert.match(path.basename(info.path), new RegExp(`^snap-${process.pid}-\\d+\\.heapsnapshot`));
    assert.strictEqual(info.bytes, fs.statSync(info.path).size);
    assert.strictEqual(info.rawBytes, Buffer.byteLength(snapshotText(info.path)));
    if (compress) assert.ok(info.bytes * 2 < info.rawBytes, `${compress} compresses (${info.bytes} of ${info.rawBytes})`);
    assert.ok(info.pauseMs > 0 && info.durationMs >= info.pauseMs);
    assert.strictEqual(fs.statSync(info.path).mode & 0o777, 0o600);
    assert.strictEqual(readSnapshot(info.path).countObjects('HeapsnapWriteMarker'), 7);
  }
});

test('writeSnapshotAsync default names carry the compression extension', async (t) => {
  const dir = tmpDir(t);
  const info = await heapsnap.writeSnapshotAsync({ dir, compress: 'gzip', level: 1 });
  assert.match(path.basename(info.path), new RegExp(`^heapsnap-\\d{8}-\\d{6}-${process.pid}-\\d+\\.heapsnapshot\\.gz$`));
  assert.deepStrictEqual(listDir(dir), withRecords(path.basename(info.path)));
});

test('template tokens expand', async (t) => {
  const dir = tmpDir(t);
  const info = await heapsnap.writeSnapshotAsync({ dir, path: '{hostname}-{pid}-{tid}-{date}-{time}-{iso}-{seq}.heapsnapshot' });
  const name = path.basename(info.path);
  assert.ok(name.startsWith(`${os.hostname()}-${process.pid}-0-`), name);
  assert.match(name, /-\d{8}-\d{6}-\d{8}T\d{6}(\.\d+)?Z-\d+\.heapsnapshot$/);
});

test('a snapshot written by heapsnap loads in memlab, an independent DevTools-format parser', async (t) => {
  const file = path.join(tmpDir(t), 'memlab.heapsnapshot');
  assert.strictEqual(heapsnap.writeSnapshot(file), true);
  const heap = await loadWithMemlab(file);
  let markers = 0;
  heap.nodes.forEach((node) => {
    if (node.type === 'object' && node.name === 'HeapsnapWriteMarker') markers++;
  });
  assert.strictEqual(markers, 7);
  assert.strictEqual(heap.nodes.length, readSnapshot(file).snapshot.snapshot.node_count);
});

test('numericValues and exposeInternals reach V8', async (t) => {
  const dir = tmpDir(t);
  const plain = await heapsnap.writeSnapshotAsync({ dir, path: 'plain.heapsnapshot' });
  const numeric = await heapsnap.writeSnapshotAsync({ dir, path: 'numeric.heapsnapshot', numericValues: true });
  // V8 records small integers as 'smi number' nodes only when asked for numeric values.
  const smis = (file) => readSnapshot(file).nodes.filter((n) => n.type === 'number' && n.name === 'smi number').length;
  assert.strictEqual(smis(plain.path), 0);
  assert.ok(smis(numeric.path) > 10, `smi nodes: ${smis(numeric.path)}`);
  const internals = await heapsnap.writeSnapshotAsync({ dir, path: 'internals.heapsnapshot', exposeInternals: true });
  // The internals mode only changes how V8 names C++ (cppgc) internals, which a plain Node
  // process barely has: check that the option is accepted and the snapshot is whole.
  assert.strictEqual(readSnapshot(internals.path).countObjects('HeapsnapWriteMarker'), 7);
});

test('gc() collects garbage without --expose-gc', async () => {
  assert.strictEqual(typeof globalThis.gc, 'undefined', 'this test runs without --expose-gc');
  let ref = new WeakRef({ big: new Array(1000).fill(1) });
  await new Promise((resolve) => setImmediate(resolve));
  heapsnap.gc();
  assert.strictEqual(ref.deref(), undefined);
  ref = null;
});

test('on V8 < 12, JS-initiated dumps warm line ends natively, with a debugger session only where that is off', nativeWriterOnly('the native line-end warm-up'), async (t) => {
  const warms = Number.parseInt(process.versions.v8, 10) < 12;
  const dir = tmpDir(t);
  // A child per setting: the native switch is read once per process.
  const calls = (env) => {
    const r = runNode(
      `const inspector = require('inspector');
      const calls = [];
      const post = inspector.Session.prototype.post;
      inspector.Session.prototype.post = function (method, ...rest) { calls.push(method); return post.call(this, method, ...rest); };
      const heapsnap = require(${JSON.stringify(PKG)});
      class HeapsnapWriteMarker {}; globalThis.markers = Array.from({ length: 7 }, () => new HeapsnapWriteMarker());
      heapsnap.writeSnapshot(${JSON.stringify(path.join(dir, 'sync.heapsnapshot'))});
      heapsnap.writeSnapshotAsync({ path: ${JSON.stringify(path.join(dir, 'async.heapsnapshot'))} }).then(() => console.log(JSON.stringify(calls)));`,
      { env: { HEAPSNAP_OPTIONS: 'nosignal', ...env } },
    );
    assert.strictEqual(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const once = ['Debugger.enable', 'Debugger.disable'];
  assert.deepStrictEqual(calls({}), [], `V8 ${process.versions.v8}: the native warm-up serves`);
  assert.deepStrictEqual(calls({ HEAPSNAP_LINE_END_WARMUP: 'off' }), warms ? [...once, ...once] : [], `V8 ${process.versions.v8}`);
  assert.strictEqual(readSnapshot(path.join(dir, 'async.heapsnapshot')).countObjects('HeapsnapWriteMarker'), 7);
});

test('node ids stay stable across snapshots of one process, so they can be compared', async (t) => {
  const dir = tmpDir(t);
  const markerIds = (file) => {
    const { snapshot } = readSnapshot(file);
    const fields = snapshot.snapshot.meta.node_fields;
    const [typeAt, nameAt, idAt] = ['type', 'name', 'id'].map((f) => fields.indexOf(f));
    const objectType = snapshot.snapshot.meta.node_types[typeAt].indexOf('object');
    const ids = [];
    for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
      if (snapshot.nodes[i + typeAt] === objectType && snapshot.strings[snapshot.nodes[i + nameAt]] === 'HeapsnapWriteMarker') {
        ids.push(snapshot.nodes[i + idAt]);
      }
    }
    return ids.sort((a, b) => a - b);
  };
  const first = path.join(dir, 'first.heapsnapshot');
  assert.strictEqual(heapsnap.writeSnapshot(first), true);
  const second = await heapsnap.writeSnapshotAsync({ dir, path: 'second.heapsnapshot.gz' });
  const ids = markerIds(first);
  assert.strictEqual(ids.length, 7);
  assert.deepStrictEqual(markerIds(second.path), ids);
});
