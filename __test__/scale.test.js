'use strict';
// The analyzer past 2^24 nodes, with ids and sizes past 2^32, through the CLI a user runs: on
// a synthetic snapshot (crates/heapsnap-core/src/read/synth.rs) whose Summary is known by
// construction, written by the analyzer addon's test helper. ~1.2 GB on disk for a few
// seconds; the multi-GB cases are `cargo test --release -p heapsnap-core scale -- --ignored`
// and bench/scale.js.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { PKG, tmpDir } = require('./helpers');
const { analyzer } = require(path.join(PKG, 'lib', 'loader', 'native.js'));

const CLI = path.join(PKG, 'bin', 'heapsnap.js');
const TWO_32 = 2 ** 32;

test('summary of a 16.8 M-node snapshot with ids and sizes past 2^32 is exact', () => {
  const dir = tmpDir(null, 'heapsnap-scale-');
  const file = path.join(dir, 'big.heapsnapshot');
  try {
    const want = analyzer().writeSyntheticSnapshot(file, {
      holders: 16_800,
      itemsPerHolder: 1000,
      itemClasses: 40,
      stringLen: 0,
      idBase: 3 * TWO_32,
      bigNative: 5 * 2 ** 30,
    });
    assert.ok(want.nodeCount > 2 ** 24, `${want.nodeCount} nodes`);
    assert.ok(want.totalSize > TWO_32);
    const r = spawnSync(process.execPath, [CLI, 'summary', file, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.strictEqual(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout);
    assert.deepStrictEqual(
      { ...got, constructors: got.constructors.map(({ name, count, selfSize, retainedSize }) => ({ name, count, selfSize, retainedSize })) },
      { ...want, constructors: want.constructors.map(({ name, count, selfSize, retainedSize }) => ({ name, count, selfSize, retainedSize })) },
    );
    assert.strictEqual(got.constructors[0].name, 'BigBuffer');
    assert.strictEqual(got.constructors[0].retainedSize, 5 * 2 ** 30);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
