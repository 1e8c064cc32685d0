'use strict';
// onNearHeapLimit: a process that leaks to death leaves a complete snapshot behind.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { PKG, tmpDir, readSnapshot, runNode, listDir, withRecords, nativeWriterOnly } = require('./helpers');

const LEAK_TO_DEATH = (options) => `
  const heapsnap = require(${JSON.stringify(PKG)});
  heapsnap.onNearHeapLimit(${JSON.stringify(options)});
  class LeakyRecord { constructor(i) { this.payload = new Array(64).fill(i); } }
  const keep = [];
  for (let i = 0; ; i++) keep.push(new LeakyRecord(i));
`;

test('a process with --max-old-space-size=64 that leaks to death leaves a complete snapshot', nativeWriterOnly('heapsnap\'s own near-heap-limit dump with dir (Node\'s writes Heap.*.heapsnapshot; see portable.test.js)'), (t) => {
  const dir = tmpDir(t);
  const child = runNode(LEAK_TO_DEATH({ dir }), { args: ['--max-old-space-size=64'], cwd: dir, timeout: 120_000 });
  assert.notStrictEqual(child.status, 0, 'the process still dies of OOM');
  assert.match(child.stderr, /heap out of memory/i);
  assert.match(child.stderr, /heapsnap: near the heap limit: wrote /);
  const files = listDir(dir);
  assert.strictEqual(files.length, 2, `one snapshot and its memory record, no temp files: ${files}`);
  assert.match(files[0], /^heapdump-\d+\.\d+\.heapsnapshot$/);
  assert.deepStrictEqual(files, withRecords(files[0]));
  const leaked = readSnapshot(path.join(dir, files[0])).countObjects('LeakyRecord');
  assert.ok(leaked > 10_000, `the snapshot shows the leak: ${leaked} LeakyRecord`);
});

test('maxDumps bounds the number of snapshots, and compression applies', nativeWriterOnly('heapsnap\'s own near-heap-limit dump with compress'), (t) => {
  const dir = tmpDir(t);
  const child = runNode(LEAK_TO_DEATH({ dir, compress: 'gzip', maxDumps: 2, quiet: true }), {
    args: ['--max-old-space-size=64'],
    timeout: 120_000,
  });
  assert.notStrictEqual(child.status, 0);
  assert.doesNotMatch(child.stderr, /heapsnap: near the heap limit/);
  const files = listDir(dir).filter((name) => !name.endsWith('.memory.json'));
  assert.ok(files.length >= 1 && files.length <= 2, `at most two dumps: ${files}`);
  assert.deepStrictEqual(listDir(dir), withRecords(...files), 'each with its memory record, nothing else');
  for (const file of files) {
    assert.match(file, /\.heapsnapshot\.gz$/);
    assert.ok(readSnapshot(path.join(dir, file)).countObjects('LeakyRecord') > 1000);
  }
});

test('onNearHeapLimit checks its options', () => {
  const heapsnap = require('heapsnap');
  for (const bad of [{ maxDumps: -1 }, { maxDumps: 1.5 }, { dir: 1 }, { gc: true }, 'x']) {
    assert.throws(() => heapsnap.onNearHeapLimit(bad), { code: 'ERR_HEAPSNAP_INVALID_OPTION' }, JSON.stringify(bad));
  }
  heapsnap.onNearHeapLimit({ maxDumps: 0 });
});
