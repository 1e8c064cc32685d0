'use strict';
// node-heapdump's own test files, with only their require() changed to heapsnap, must pass.
// They ship in the `heapdump` npm package (a dev dependency; never built or loaded here).

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { PKG, ROOT, tmpDir } = require('./helpers');

const HEAPDUMP_TESTS = path.join(ROOT, 'node_modules', 'heapdump', 'test');
const files = fs.readdirSync(HEAPDUMP_TESTS).filter((name) => name.endsWith('.js')).sort();

test('heapdump ships the test files we run', () => {
  assert.deepStrictEqual(files, ['test-callback-error.js', 'test-callback-without-filename.js', 'test-callback.js', 'test-sigusr2.js']);
});

for (const name of files) {
  test(`heapdump's ${name}`, (t) => {
    const dir = tmpDir(t);
    const source = fs.readFileSync(path.join(HEAPDUMP_TESTS, name), 'utf8');
    const patched = source.replace(/require\((['"])\.\.\/?\1\)/g, `require(${JSON.stringify(PKG)})`);
    assert.notStrictEqual(patched, source, 'the require() was found and changed');
    fs.writeFileSync(path.join(dir, name), patched);
    const child = spawnSync(process.execPath, [name], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules'), HEAPSNAP_OPTIONS: '', NODE_HEAPDUMP_OPTIONS: '' },
    });
    assert.strictEqual(child.status, 0, `${name} failed:\n${child.stdout}\n${child.stderr}`);
    assert.doesNotMatch(child.stdout, /^not ok/m, child.stdout);
    if (name !== 'test-callback-error.js') assert.match(child.stdout, /^ok \d+/m, child.stdout);
    const dumps = fs.readdirSync(dir).filter((f) => /^heapdump-.*\.heapsnapshot$/.test(f));
    for (const dump of dumps) JSON.parse(fs.readFileSync(path.join(dir, dump), 'utf8'));
    if (name !== 'test-callback-error.js') assert.strictEqual(dumps.length, 1, `one snapshot written: ${dumps}`);
  });
}
