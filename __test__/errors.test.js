'use strict';
// Failures: a clear Error with a stable code, never a crash, never a file at the target.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const heapsnap = require('heapsnap');
const { PKG, tmpDir, mountTmpfs, readSnapshot, listDir, withRecords, nativeWriterOnly } = require('./helpers');

function writeError(target, options) {
  let error;
  const ok = heapsnap.writeSnapshot(target, options || {}, (err) => { error = err; });
  assert.strictEqual(ok, false);
  assert.ok(error instanceof Error);
  return error;
}

test('missing directory: ENOENT with heapdump\'s message prefix and the path', (t) => {
  const target = path.join(tmpDir(t), 'no', 'such', 'dir', 'x.heapsnapshot');
  const err = writeError(target);
  assert.strictEqual(err.code, 'ENOENT');
  assert.match(err.message, /^heapdump write error ENOENT/);
  assert.ok(err.message.includes(path.dirname(target)), err.message);
  assert.strictEqual(fs.existsSync(path.dirname(target)), false);
});

test('a path that is a directory: EISDIR, and the directory is untouched', (t) => {
  const dir = tmpDir(t);
  fs.mkdirSync(path.join(dir, 'taken'));
  const err = writeError(path.join(dir, 'taken'));
  assert.strictEqual(err.code, 'EISDIR');
  assert.deepStrictEqual(listDir(dir), ['taken']);
  assert.deepStrictEqual(listDir(path.join(dir, 'taken')), []);
});

test('writeSnapshotAsync rejects with the OS code', async (t) => {
  const target = path.join(tmpDir(t), 'missing', 'x.heapsnapshot');
  await assert.rejects(heapsnap.writeSnapshotAsync({ path: target }), (err) => err.code === 'ENOENT' && err.message.includes(target));
  await assert.rejects(heapsnap.writeSnapshotAsync({ dir: path.join(tmpDir(t), 'nope') }), { code: 'ENOENT' });
});

test('unwritable directory: EACCES', (t) => {
  const dir = tmpDir(t);
  const isRoot = process.getuid && process.getuid() === 0;
  if (isRoot) {
    // root ignores permission bits: write as an unprivileged user instead.
    fs.chmodSync(dir, 0o755);
    const child = spawnSync(process.execPath, ['-e', `
      const heapsnap = require(${JSON.stringify(PKG)});
      heapsnap.writeSnapshot(${JSON.stringify(path.join(dir, 'x.heapsnapshot'))}, (err) => {
        console.log(JSON.stringify({ code: err && err.code, message: err && err.message }));
      });`], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
    if (child.status !== 0 && /EACCES|permission denied/i.test(child.stderr) && /require|Cannot find module/.test(child.stderr)) {
      t.skip(`an unprivileged user cannot read the checkout here: ${child.stderr.split('\n')[0]}`);
      return;
    }
    assert.strictEqual(child.status, 0, child.stderr);
    const result = JSON.parse(child.stdout.trim());
    assert.strictEqual(result.code, 'EACCES');
    assert.match(result.message, /^heapdump write error EACCES/);
  } else {
    fs.chmodSync(dir, 0o500);
    t.after(() => fs.chmodSync(dir, 0o700));
    assert.strictEqual(writeError(path.join(dir, 'x.heapsnapshot')).code, 'EACCES');
  }
  assert.deepStrictEqual(listDir(dir), []);
});

test('disk full: refused up front (ERR_HEAPSNAP_NO_SPACE); forced, ENOSPC; no partial file or temp file either way', (t) => {
  const { dir, unmount, skip } = mountTmpfs('256k');
  if (skip) {
    t.skip(skip);
    return;
  }
  t.after(unmount);
  const refused = writeError(path.join(dir, 'full.heapsnapshot'));
  assert.strictEqual(refused.code, 'ERR_HEAPSNAP_NO_SPACE');
  assert.ok(refused.estimatedBytes > refused.availableBytes && refused.availableBytes <= 256 << 10, refused.message);
  assert.deepStrictEqual(listDir(dir), []);
  // Forced past the check, the write itself runs out of space.
  const err = writeError(path.join(dir, 'full.heapsnapshot'), { force: true });
  assert.strictEqual(err.code, 'ENOSPC');
  assert.match(err.message, /^heapdump write error ENOSPC/);
  assert.deepStrictEqual(listDir(dir), []);
});

test('invalid options throw ERR_HEAPSNAP_INVALID_OPTION before anything is written', async (t) => {
  const dir = tmpDir(t);
  const cases = [
    [{ compress: 'brotli' }, /compress/],
    [{ compress: 1 }, /compress/],
    [{ gc: 'yes' }, /gc/],
    [{ level: 1.5 }, /level/],
    [{ path: 42 }, /path/],
    [{ path: '' }, /path/],
    [{ dir: {} }, /dir/],
    [{ exposeInternals: 1 }, /exposeInternals/],
    [{ compres: 'gzip' }, /unknown option 'compres'/],
    ['not an object', /options must be an object/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(heapsnap.writeSnapshotAsync(options), (err) => err.code === 'ERR_HEAPSNAP_INVALID_OPTION' && message.test(err.message));
  }
  assert.throws(() => heapsnap.writeSnapshot(path.join(dir, 'x.heapsnapshot'), { level: 'max' }), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
  assert.throws(() => heapsnap.writeSnapshot(123), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
  assert.throws(() => heapsnap.writeSnapshot('x', {}, 'not a function'), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
  assert.deepStrictEqual(listDir(dir), []);
});

test('option values that only make sense natively are checked there, with the same code', async (t) => {
  const dir = tmpDir(t);
  const cases = [
    { dir, compress: 'gzip', level: 42 },
    { dir, compress: 'zstd', path: 'a.heapsnapshot.gz' },
    { dir, path: 'bad-{nosuchtoken}.heapsnapshot' },
    { dir, path: 'unbalanced-{pid.heapsnapshot' },
  ];
  for (const options of cases) {
    await assert.rejects(heapsnap.writeSnapshotAsync(options), { code: 'ERR_HEAPSNAP_INVALID_OPTION' }, JSON.stringify(options));
  }
  assert.deepStrictEqual(listDir(dir), []);
});

test('a failed write leaves an existing good snapshot at the target untouched', (t) => {
  const dir = tmpDir(t);
  const target = path.join(dir, 'keep.heapsnapshot.gz');
  assert.strictEqual(heapsnap.writeSnapshot(target), true);
  const before = fs.readFileSync(target);
  const err = writeError(target, { compress: 'zstd' });
  assert.strictEqual(err.code, 'ERR_HEAPSNAP_INVALID_OPTION');
  assert.deepStrictEqual(fs.readFileSync(target), before);
  readSnapshot(target);
});

test('a process that exits while an async dump is being finished waits for it: the snapshot is complete', nativeWriterOnly('waiting at exit for a dump being finished'), (t) => {
  const dir = tmpDir(t);
  const child = spawnSync(process.execPath, ['-e', `
    const heapsnap = require(${JSON.stringify(PKG)});
    class ExitMarker {}
    globalThis.big = Array.from({ length: 200000 }, (_, i) => ({ i, s: 'x' + i, m: new ExitMarker() }));
    // The snapshot is taken now; level 9 keeps the writer thread busy compressing after that.
    heapsnap.writeSnapshotAsync({ dir: ${JSON.stringify(dir)}, path: 'exit.heapsnapshot.gz', level: 9 });
    process.exit(7);
  `], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal' } });
  assert.strictEqual(child.status, 7, child.stderr);
  assert.deepStrictEqual(listDir(dir), withRecords('exit.heapsnapshot.gz'), 'the finished snapshot and its record, nothing else');
  assert.strictEqual(readSnapshot(path.join(dir, 'exit.heapsnapshot.gz')).countObjects('ExitMarker'), 200000);
});
