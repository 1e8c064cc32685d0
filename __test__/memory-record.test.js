'use strict';
// The memory record every dump leaves beside its snapshot (<snapshot>.memory.json): its numbers
// against process.memoryUsage(), the option that turns it off, triggered dumps, and what
// `heapsnap summary` and the report make of it.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { PKG, tmpDir, runNode, listDir } = require('./helpers');

const CLI = path.join(PKG, 'bin', 'heapsnap.js');

/** Runs `code` in a child that required heapsnap; returns its last stdout line as JSON. */
function runJson(code, env = {}) {
  const r = runNode(`const heapsnap = require(${JSON.stringify(PKG)}); const fs = require('fs');\n(async () => {\n${code}\n})().catch((err) => { console.error(err); process.exit(1); });`, {
    env: { HEAPSNAP_OPTIONS: 'nosignal', NODE_HEAPDUMP_OPTIONS: '', ...env },
  });
  assert.strictEqual(r.status, 0, r.stderr);
  return { ...JSON.parse(r.stdout.trim().split('\n').pop()), stderr: r.stderr };
}

function cli(...args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  return r.stdout;
}

const within = (actual, expected, tolerance, what) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected} (tolerance ${tolerance})`);

test("the record's numbers are process.memoryUsage()'s at the start of the dump; 0600; named after the snapshot", (t) => {
  const dir = tmpDir(t);
  const out = runJson(`
    // Something outside the JS heap, so 'external' and 'arrayBuffers' are not just noise.
    globalThis.keep = Buffer.alloc(24 * 1024 * 1024, 1);
    const before = process.memoryUsage();
    const info = await heapsnap.writeSnapshotAsync({ path: ${JSON.stringify(path.join(dir, 'a.heapsnapshot.gz'))}, compress: 'gzip' });
    const after = process.memoryUsage();
    console.log(JSON.stringify({ before, after, info }));
  `);
  const file = path.join(dir, 'a.heapsnapshot.gz.memory.json');
  assert.strictEqual(out.info.memoryFile, file);
  assert.deepStrictEqual(out.info.warnings, []);
  assert.deepStrictEqual(listDir(dir), ['a.heapsnapshot.gz', 'a.heapsnapshot.gz.memory.json']);
  assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
  const record = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.strictEqual(record.format, 'heapsnap-memory/1');
  assert.strictEqual(record.snapshot, 'a.heapsnapshot.gz');
  assert.ok(!Number.isNaN(Date.parse(record.time)), record.time);
  const { before, after } = out;
  // What the dump itself allocates before measuring is small next to these tolerances.
  within(record.heapTotal, before.heapTotal, 8 << 20, 'heapTotal');
  within(record.heapUsed, before.heapUsed, 4 << 20, 'heapUsed');
  within(record.external, before.external, 1 << 20, 'external');
  assert.ok(record.external >= 24 * 1024 * 1024, `external ${record.external} holds the 24 MiB Buffer`);
  within(record.arrayBuffers, before.arrayBuffers, 64 << 10, 'arrayBuffers');
  assert.ok(record.arrayBuffers >= 24 * 1024 * 1024, 'arrayBuffers holds the Buffer');
  assert.ok(record.rss >= Math.min(before.rss, after.rss) * 0.9 && record.rss <= Math.max(before.rss, after.rss) * 1.1, `rss ${record.rss} vs ${before.rss}..${after.rss}`);
  // The same figures as info.memory, and the heap spaces add up to the heap.
  assert.strictEqual(record.heapUsed, out.info.memory.heapUsed);
  assert.strictEqual(record.rss, out.info.memory.rss);
  const names = record.heapSpaces.map((s) => s.name);
  for (const name of ['new_space', 'old_space', 'code_space', 'large_object_space']) assert.ok(names.includes(name), `${name} in ${names}`);
  const spaceSum = record.heapSpaces.reduce((sum, s) => sum + s.size, 0);
  within(spaceSum, record.heapTotal, 1 << 20, 'sum of heap spaces');
});

test('memoryFile: false writes the snapshot alone; HEAPSNAP_OPTIONS=nomemoryfile does so for signal dumps', (t) => {
  const dir = tmpDir(t);
  const out = runJson(`
    const info = heapsnap.writeSnapshot(${JSON.stringify(path.join(dir, 'plain.heapsnapshot'))}, { memoryFile: false });
    const asyncInfo = await heapsnap.writeSnapshotAsync({ path: ${JSON.stringify(path.join(dir, 'async.heapsnapshot'))}, memoryFile: false });
    console.log(JSON.stringify({ info, asyncInfo }));
  `);
  assert.strictEqual(out.info, true);
  assert.strictEqual(out.asyncInfo.memoryFile, undefined);
  assert.deepStrictEqual(listDir(dir), ['async.heapsnapshot', 'plain.heapsnapshot']);

  const signalDir = tmpDir(t);
  for (const [words, expected] of [
    [`dir=${signalDir}/on`, 2],
    [`dir=${signalDir}/off,nomemoryfile`, 1],
  ]) {
    const target = words.split(',')[0].slice(4);
    fs.mkdirSync(target);
    const r = runNode(`
      require(${JSON.stringify(PKG)});
      process.kill(process.pid, 'SIGUSR2');
      const wait = () => (require('fs').readdirSync(${JSON.stringify(target)}).some((f) => f.endsWith('.heapsnapshot')) ? console.log('dumped') : setTimeout(wait, 20));
      wait();
    `, { env: { HEAPSNAP_OPTIONS: words, NODE_HEAPDUMP_OPTIONS: '' } });
    assert.strictEqual(r.status, 0, r.stderr);
    const files = listDir(target);
    assert.strictEqual(files.length, expected, `${words}: ${files}`);
    if (expected === 2) {
      const record = JSON.parse(fs.readFileSync(path.join(target, `${files[0]}.memory.json`), 'utf8'));
      assert.strictEqual(record.snapshot, files[0]);
      // A triggered dump has no JS to ask: no arrayBuffers, everything else is there.
      assert.strictEqual(record.arrayBuffers, null);
      assert.ok(record.heapUsed > 0 && record.rss > record.heapTotal, JSON.stringify(record));
    }
  }
});

test('heapsnap summary and the report say how much of the RSS lies outside the JS heap', (t) => {
  const dir = tmpDir(t);
  const a = path.join(dir, 'a.heapsnapshot');
  const b = path.join(dir, 'b.heapsnapshot');
  runJson(`
    globalThis.keep = Buffer.alloc(32 * 1024 * 1024, 1);
    await heapsnap.writeSnapshotAsync({ path: ${JSON.stringify(a)} });
    await heapsnap.writeSnapshotAsync({ path: ${JSON.stringify(b)}, memoryFile: false });
    console.log('{}');
  `);
  const record = JSON.parse(fs.readFileSync(`${a}.memory.json`, 'utf8'));

  const json = JSON.parse(cli('summary', a, '--json', '--top', '1'));
  assert.strictEqual(json.memory.rss, record.rss);
  assert.strictEqual(json.memory.outsideHeap.outside, record.rss - record.heapTotal);
  assert.ok(json.memory.outsideHeap.external >= 32 * 1024 * 1024, JSON.stringify(json.memory.outsideHeap));
  assert.strictEqual(json.memory.outsideHeap.external + json.memory.outsideHeap.other, json.memory.outsideHeap.outside);

  const text = cli('summary', a, '--top', '1');
  assert.match(text, /Process memory when the dump started/);
  const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
  assert.ok(text.includes(`Outside the JS heap, not in this snapshot: ${mb(record.rss - record.heapTotal)}`), text);
  // No record (turned off): no section, no complaint.
  assert.doesNotMatch(cli('summary', b, '--top', '1'), /Process memory|Memory record/);
  assert.strictEqual(JSON.parse(cli('summary', b, '--json', '--top', '1')).memory, undefined);

  const html = path.join(dir, 'r.html');
  cli('report', a, b, '-o', html);
  const page = fs.readFileSync(html, 'utf8');
  assert.match(page, /<th class="n">Outside JS heap<\/th>/);
  assert.ok(page.includes(mb(record.rss - record.heapTotal)), 'outside-heap size in the report');

  // A damaged record is reported as such; the summary still works.
  fs.writeFileSync(`${a}.memory.json`, '{"format": "heapsnap-memory/1", ');
  assert.match(cli('summary', a, '--top', '1'), /Memory record .*a\.heapsnapshot\.memory\.json: unreadable \(invalid JSON/);
});
