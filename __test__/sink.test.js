'use strict';
// The file side of every dump, in real processes: files are created unnamed and named only when
// complete (a SIGKILL at any point leaves the directory as it was), a rename that fails leaves
// what was there, planted temp names change nothing, world-writable directories are flagged,
// and the free-space check refuses what cannot fit (ERR_HEAPSNAP_NO_SPACE) unless forced.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const heapsnap = require('heapsnap');
const { PKG, tmpDir, mountTmpfs, readSnapshot, runNode, listDir, withRecords, nativeWriterOnly } = require('./helpers');
const { analyzer } = require(path.join(PKG, 'lib', 'loader', 'native'));

const CLI = path.join(PKG, 'bin', 'heapsnap.js');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const linux = process.platform === 'linux';

/** The file `pid` has open in `dir` (unnamed: `/dir/#123 (deleted)`), with its size so far. */
function openFileIn(pid, dir) {
  let fds;
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return null;
  }
  for (const fd of fds) {
    try {
      if (!fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(`${dir}/`)) continue;
      return { size: fs.statSync(`/proc/${pid}/fd/${fd}`).size };
    } catch {
      // Closed meanwhile.
    }
  }
  return null;
}

/** Directory listing with hidden files, sizes and contents' length: "exactly as it was". */
function snapshotOfDir(dir) {
  return listDir(dir).map((name) => {
    const stat = fs.lstatSync(path.join(dir, name));
    return `${name} ${stat.isDirectory() ? 'dir' : stat.size} ${(stat.mode & 0o7777).toString(8)}`;
  });
}

// A child with ~15 MB of records that writes one plain snapshot (~25 MB) when told to, over
// stdin; the test kills it when the file under construction reaches a given size.
const DUMPER = `
  const heapsnap = require(${JSON.stringify(PKG)});
  const keep = (globalThis.keep = []);
  for (let i = 0; i < 160000; i++) keep.push({ id: i, name: 'user-' + i, tags: ['a' + (i % 97)], score: i * 1.5 });
  process.stdin.once('data', (line) => {
    heapsnap.writeSnapshot(String(line).trim(), (err) => console.log(err ? 'failed ' + err.code : 'done'));
    process.exit(0);
  });
  console.log('ready');`;

/** Whether dumps here go through the WebAssembly analyzer's sink (named temps: WASI has no O_TMPFILE). */
function namedTemps() {
  const loader = require(path.join(PKG, 'lib', 'loader', 'native'));
  return loader.writerMode() === 'portable' && loader.analyzer.mode() === 'portable';
}

test('SIGKILL at any point of a dump leaves the target directory exactly as it was', { skip: !linux && 'needs /proc' }, async (t) => {
  const dir = tmpDir(t);
  const target = path.join(dir, 'app.heapsnapshot');
  fs.writeFileSync(target, 'the previous snapshot', { mode: 0o600 });
  fs.writeFileSync(path.join(dir, '.hidden-neighbour'), 'x');
  const before = snapshotOfDir(dir);
  // Kill points: bytes of the file under construction, from "just opened" to "almost done".
  const points = [0, 64 << 10, 4 << 20, 16 << 20];
  const reached = [];
  for (const bytes of points) {
    const child = spawn(process.execPath, ['-e', DUMPER], { env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal' }, stdio: ['pipe', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    while (!stdout.includes('ready')) await sleep(5);
    child.stdin.write(`${target}\n`);
    // V8 first builds its graph (seconds, nothing written), then serializes into the file.
    let seen = null;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline && child.exitCode === null; await sleep(1)) {
      seen = openFileIn(child.pid, dir);
      if (seen && seen.size >= bytes) break;
    }
    assert.ok(seen, `the dump's file never showed up in ${dir} (killing at ${bytes} bytes)`);
    child.kill('SIGKILL');
    await exited;
    assert.ok(!stdout.includes('done'), `the dump finished before the kill at ${bytes} bytes: make the heap larger`);
    reached.push(seen.size);
    let after = snapshotOfDir(dir);
    if (namedTemps()) {
      // The WebAssembly sink (WASI has no O_TMPFILE) leaves its hidden 0600 temp behind on a
      // SIGKILL, like the native fallback does: that, and nothing else.
      const temp = /^(\.app\.heapsnapshot\.[0-9a-f]{16}\.heapsnap-tmp) \d+ 600$/;
      for (const entry of after.filter((e) => temp.test(e))) fs.rmSync(path.join(dir, temp.exec(entry)[1]));
      after = after.filter((e) => !temp.test(e));
    }
    assert.deepStrictEqual(after, before, `killed with ${seen.size} bytes written`);
    assert.strictEqual(fs.readFileSync(target, 'utf8'), 'the previous snapshot');
  }
  assert.ok(reached[reached.length - 1] >= 16 << 20, `the last kill came late in the dump (${reached})`);
});

test('a dump that completes replaces the target and adds nothing else, not even a second link', async (t) => {
  const dir = tmpDir(t);
  const target = path.join(dir, 'app.heapsnapshot');
  fs.writeFileSync(target, 'old');
  const info = await heapsnap.writeSnapshotAsync({ path: target });
  assert.deepStrictEqual(listDir(dir), withRecords('app.heapsnapshot'));
  const stat = fs.statSync(target);
  assert.strictEqual(stat.nlink, 1);
  assert.strictEqual(stat.mode & 0o777, 0o600);
  assert.strictEqual(stat.size, info.bytes);
  assert.deepStrictEqual(info.warnings, []);
  assert.ok(readSnapshot(target).nodes.length > 1000);
});

test('a rename that fails (a directory planted at the target mid-write) leaves it intact and no stray file', async (t) => {
  const dir = tmpDir(t);
  const target = path.join(dir, 'planted.heapsnapshot');
  const { NativeFileSink } = analyzer();
  const sink = NativeFileSink.create({ path: target });
  sink.write(Buffer.from('{"snapshot":{}}'));
  // Nothing in the directory while the file is written (the WebAssembly sink: its hidden temp).
  if (analyzer.mode() === 'native') assert.deepStrictEqual(listDir(dir), []);
  else assert.match(listDir(dir).join(','), /^\.planted\.heapsnapshot\.[0-9a-f]{16}\.heapsnap-tmp$/);
  fs.mkdirSync(target);
  fs.writeFileSync(path.join(target, 'keep'), 'kept');
  await assert.rejects(sink.finish(), (err) => {
    assert.ok(['EISDIR', 'ENOTEMPTY'].includes(err.code), err.message);
    assert.ok(err.message.endsWith(`, rename '${target}'`), err.message);
    return true;
  });
  assert.deepStrictEqual(listDir(dir), ['planted.heapsnapshot']);
  assert.deepStrictEqual(listDir(target), ['keep']);
  assert.strictEqual(fs.readFileSync(path.join(target, 'keep'), 'utf8'), 'kept');

  // A directory there from the start fails before any snapshot is taken.
  const started = process.hrtime.bigint();
  await assert.rejects(heapsnap.writeSnapshotAsync({ path: target }), { code: 'EISDIR' });
  assert.ok(process.hrtime.bigint() - started < 2_000_000_000n, 'refused before the snapshot');
  assert.deepStrictEqual(listDir(dir), ['planted.heapsnapshot']);
});

test('files planted at the old predictable temp names no longer break a dump', async (t) => {
  const dir = tmpDir(t);
  const planted = [0, 1, 2, 3].map((n) => `.app.heapsnapshot.${process.pid}.${n}.heapsnap-tmp`);
  for (const name of planted) fs.writeFileSync(path.join(dir, name), 'planted');
  fs.writeFileSync(path.join(dir, 'app.heapsnapshot'), 'old');
  const info = await heapsnap.writeSnapshotAsync({ path: path.join(dir, 'app.heapsnapshot') });
  assert.ok(readSnapshot(info.path).nodes.length > 1000);
  let ok = heapsnap.writeSnapshot(path.join(dir, 'app.heapsnapshot'));
  assert.strictEqual(ok, true);
  assert.deepStrictEqual(listDir(dir), [...planted, ...withRecords('app.heapsnapshot')].sort());
  for (const name of planted) assert.strictEqual(fs.readFileSync(path.join(dir, name), 'utf8'), 'planted');
  // A symlink planted at a would-be name is never followed: nothing is written through it.
  const outside = path.join(tmpDir(t), 'outside');
  fs.symlinkSync(outside, path.join(dir, 'link.heapsnapshot'));
  ok = heapsnap.writeSnapshot(path.join(dir, 'link.heapsnapshot'));
  assert.strictEqual(ok, true);
  assert.strictEqual(fs.existsSync(outside), false);
  assert.ok(fs.lstatSync(path.join(dir, 'link.heapsnapshot')).isFile(), 'the symlink was replaced by the file');
});

test('a directory writable by others without the sticky bit: a warning in info.warnings, once per directory on stderr', (t) => {
  const base = tmpDir(t);
  const open = path.join(base, 'open');
  const other = path.join(base, 'other');
  const sticky = path.join(base, 'sticky');
  for (const [dir, mode] of [[open, 0o777], [other, 0o777], [sticky, 0o1777]]) {
    fs.mkdirSync(dir);
    fs.chmodSync(dir, mode);
  }
  const r = runNode(`
    const heapsnap = require(${JSON.stringify(PKG)});
    (async () => {
      const warnings = [];
      for (const dir of ${JSON.stringify([open, open, other, sticky])}) {
        const info = await heapsnap.writeSnapshotAsync({ dir, compress: 'gzip' });
        warnings.push(info.warnings);
      }
      console.log(JSON.stringify(warnings));
    })();`, { env: { HEAPSNAP_OPTIONS: 'nosignal' } });
  assert.strictEqual(r.status, 0, r.stderr);
  const warnings = JSON.parse(r.stdout.trim().split('\n').pop());
  const expected = (dir) => [`directory '${dir}' is writable by other users and not sticky: they can replace or remove the snapshot`];
  assert.deepStrictEqual(warnings, [expected(open), expected(open), expected(other), []]);
  const lines = r.stderr.trim().split('\n');
  assert.deepStrictEqual(lines, [`heapsnap: warning: ${expected(open)[0]}`, `heapsnap: warning: ${expected(other)[0]}`]);
});

// The free-space check on a real, small filesystem: a tmpfs mounted in a private mount
// namespace (gone with the child), sized from the child's own heap so that a plain dump's
// estimate does not fit although the file itself would, and a gzip dump's estimate fits.
test('free space: refuses with ERR_HEAPSNAP_NO_SPACE (no file), force bypasses, gzip fits', { skip: !linux && 'needs Linux mounts' }, (t) => {
  const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /mnt && umount /mnt'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip(`cannot mount a tmpfs in a private mount namespace here (${(probe.stderr || String(probe.error)).trim()}); heapsnap-core's space tests cover the decision`);
    return;
  }
  const dir = tmpDir(t);
  const code = `
    const heapsnap = require(${JSON.stringify(PKG)});
    const fs = require('fs');
    const v8 = require('v8');
    const { execFileSync } = require('child_process');
    const keep = (globalThis.keep = []);
    for (let i = 0; i < 120000; i++) keep.push({ id: i, name: 'user-' + i, tags: ['a' + (i % 97)], score: i * 1.5 });
    heapsnap.gc();
    const heap = v8.getHeapStatistics().used_heap_size;
    // A plain file is ~1.2-1.6x the used heap here; the estimate is 2.25x + 2 MiB.
    const size = Math.ceil((1.95 * heap + (2 << 20)) / 4096) * 4096;
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=' + size + ',mode=0700', 'tmpfs', ${JSON.stringify(dir)}]);
    const dir = ${JSON.stringify(dir)};
    const pick = (e) => e && { code: e.code, message: e.message, estimatedBytes: e.estimatedBytes, availableBytes: e.availableBytes };
    (async () => {
      const out = { heap, size };
      try { await heapsnap.writeSnapshotAsync({ dir, path: 'plain.heapsnapshot' }); } catch (err) { out.refused = pick(err); }
      out.afterRefusal = fs.readdirSync(dir);
      let syncErr;
      out.syncOk = heapsnap.writeSnapshot(dir + '/sync.heapsnapshot', (err) => { syncErr = err; });
      out.syncErr = pick(syncErr);
      const gzip = await heapsnap.writeSnapshotAsync({ dir, path: 'small.heapsnapshot.gz' });
      out.gzip = { bytes: gzip.bytes, disk: gzip.disk };
      fs.rmSync(gzip.path);
      fs.rmSync(gzip.memoryFile);
      const forced = await heapsnap.writeSnapshotAsync({ dir, path: 'forced.heapsnapshot', force: true });
      out.forced = { bytes: forced.bytes, disk: forced.disk, nodes: JSON.parse(fs.readFileSync(forced.path, 'utf8')).snapshot.node_count };
      out.final = fs.readdirSync(dir);
      console.log(JSON.stringify(out));
    })().catch((err) => { console.error(err); process.exit(1); });`;
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', process.execPath, '-e', code], {
    encoding: 'utf8',
    env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal', NODE_HEAPDUMP_OPTIONS: '' },
    timeout: 120_000,
  });
  assert.strictEqual(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  const { refused } = out;
  assert.ok(refused, `refused (${JSON.stringify(out)})`);
  assert.strictEqual(refused.code, 'ERR_HEAPSNAP_NO_SPACE');
  assert.ok(refused.estimatedBytes > refused.availableBytes, JSON.stringify(refused));
  assert.ok(refused.availableBytes <= out.size && refused.availableBytes > out.size / 2, JSON.stringify(out));
  const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  assert.strictEqual(refused.message, `not enough disk space for the heap snapshot in '${dir}': the file needs about ${mib(refused.estimatedBytes)}, ${mib(refused.availableBytes)} available; force: true dumps anyway`);
  assert.deepStrictEqual(out.afterRefusal, [], 'no file, no temp file');
  assert.strictEqual(out.syncOk, false);
  assert.strictEqual(out.syncErr.code, 'ERR_HEAPSNAP_NO_SPACE');
  assert.match(out.syncErr.message, /^heapdump write error ERR_HEAPSNAP_NO_SPACE: not enough disk space/);
  assert.ok(out.gzip.disk.estimatedBytes < out.gzip.disk.availableBytes, 'the gzip estimate fits');
  assert.ok(out.gzip.disk.estimatedBytes >= out.gzip.bytes, `the gzip estimate covers the file (${JSON.stringify(out.gzip)})`);
  assert.ok(out.forced.disk.estimatedBytes > out.forced.disk.availableBytes, 'forced past a refusal');
  assert.ok(out.forced.disk.estimatedBytes >= out.forced.bytes, 'the estimate covers the plain file');
  assert.ok(out.forced.nodes > 100000, 'the forced file is a complete snapshot');
  assert.deepStrictEqual(out.final.sort(), withRecords('forced.heapsnapshot'));
});

test('a refusal for lack of disk space is printed by signal dumps and by heapsnap dump; --force dumps', { skip: !linux && 'needs Linux mounts', ...nativeWriterOnly('the request channel of heapsnap dump <pid>') }, async (t) => {
  const { dir: full, unmount, skip } = mountTmpfs('256k');
  if (skip) {
    t.skip(skip);
    return;
  }
  const code = `require(${JSON.stringify(PKG)}); console.log('ready'); setInterval(() => {}, 1000);`;
  const target = spawn(process.execPath, ['-e', code], {
    env: { ...process.env, HEAPSNAP_OPTIONS: `dir=${full}`, NODE_HEAPDUMP_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // In this order: nothing may hold the mount when it goes.
  t.after(() => {
    target.kill('SIGKILL');
    unmount();
  });
  let stdout = '';
  let stderr = '';
  target.stdout.on('data', (chunk) => (stdout += chunk));
  target.stderr.on('data', (chunk) => (stderr += chunk));
  while (!stdout.includes('ready')) await sleep(10);
  process.kill(target.pid, 'SIGUSR2');
  while (!stderr.includes('\n')) await sleep(10);
  assert.match(stderr.trim(), /^heapsnap: signal dump failed: ERR_HEAPSNAP_NO_SPACE: not enough disk space for the heap snapshot in '[^']+': the file needs about [\d.]+ MiB, [\d.]+ (KiB|MiB) available; force: true dumps anyway$/);
  assert.deepStrictEqual(listDir(full), []);

  const dump = (args) => new Promise((resolve) => {
    const cli = spawn(process.execPath, [CLI, 'dump', String(target.pid), ...args], { encoding: 'utf8' });
    let out = '';
    let err = '';
    cli.stdout.on('data', (chunk) => (out += chunk));
    cli.stderr.on('data', (chunk) => (err += chunk));
    cli.on('exit', (status) => resolve({ status, stdout: out, stderr: err }));
  });
  const file = path.join(full, 'remote.heapsnapshot');
  const refused = await dump(['-o', file]);
  assert.strictEqual(refused.status, 2, refused.stderr);
  assert.strictEqual(refused.stdout, '');
  assert.match(refused.stderr.trim(), /^heapsnap: ERR_HEAPSNAP_NO_SPACE: process \d+ could not write [^:]+: not enough disk space for the heap snapshot in '[^']+': the file needs about [\d.]+ MiB, 256 KiB available; force: true dumps anyway$/);
  assert.deepStrictEqual(listDir(full), []);
  // Forced, the dump runs into the full filesystem: ENOSPC, and still nothing left behind.
  const forced = await dump(['-o', file, '--force']);
  assert.strictEqual(forced.status, 2, forced.stderr);
  assert.match(forced.stderr.trim(), /^heapsnap: ENOSPC: process \d+ could not write [^:]+: ENOSPC: no space left on device, write '[^']+remote.heapsnapshot'$/);
  assert.deepStrictEqual(listDir(full), []);
  // Through the inspector, the same check on the heap size the target reports.
  const viaInspector = await dump(['-o', file, '--inspector']);
  assert.strictEqual(viaInspector.status, 2, viaInspector.stderr);
  assert.match(viaInspector.stderr.trim(), /^heapsnap: ERR_HEAPSNAP_NO_SPACE: cannot write the snapshot of process \d+: not enough disk space for the heap snapshot in '[^']+': the file needs about [\d.]+ MiB, 256 KiB available; force: true dumps anyway$/);
  assert.deepStrictEqual(listDir(full), []);
  assert.strictEqual(target.exitCode, null, 'the target lives');
});
