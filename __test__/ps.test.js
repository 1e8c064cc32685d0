'use strict';
// heapsnap ps: real processes (plain node, heapsnap loaded, heapsnap with a watch) listed from
// /proc with what each registered; another user sees them without the private details.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { PKG, runNode, tmpDir } = require('./helpers');

const CLI = path.join(PKG, 'bin', 'heapsnap.js');
const VERSION = require(path.join(PKG, 'package.json')).version;
const registryFile = (pid) => `/tmp/heapsnap-${process.getuid()}/${pid}.process.json`;

/** A node that stays until its stdin closes (then exits normally, running exit handlers). */
function startChild(t, code, env = {}) {
  const child = spawn(process.execPath, ['-e', `${code}; process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`, 'ps-test-marker'], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  return child;
}

async function until(what, check, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function ps(asUser) {
  const args = [CLI, 'ps', '--json'];
  const result = asUser
    ? spawnSync('setpriv', [`--reuid=${asUser.uid}`, `--regid=${asUser.gid}`, '--clear-groups', process.execPath, ...args], { encoding: 'utf8', cwd: '/tmp' })
    : spawnSync(process.execPath, args, { encoding: 'utf8' });
  assert.strictEqual(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

function nobody() {
  if (process.platform !== 'linux' || process.getuid() !== 0) return { skip: 'needs root to run ps as another user' };
  const id = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' });
  if (id.status !== 0 || spawnSync('setpriv', ['--version']).status !== 0) return { skip: "no 'nobody' user or no setpriv here" };
  // The CLI must be readable by that user.
  const probe = spawnSync('setpriv', [`--reuid=${id.stdout.trim()}`, `--regid=${gid.stdout.trim()}`, '--clear-groups', 'test', '-r', CLI]);
  if (probe.status !== 0) return { skip: `${CLI} is not readable by 'nobody'` };
  return { uid: Number(id.stdout), gid: Number(gid.stdout) };
}

test('heapsnap ps lists plain node, heapsnap-loaded and watching processes, each with what it registered', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const dir = tmpDir(t);
  const plain = startChild(t, 'const keep = 1');
  const loaded = startChild(t, `require(${JSON.stringify(PKG)})`, { HEAPSNAP_OPTIONS: `signal=SIGUSR1,dir=${dir}` });
  const watching = startChild(t, `require(${JSON.stringify(PKG)})`, { HEAPSNAP_OPTIONS: 'nosignal,watch=heap>90%,watch=rss>100g,watchinterval=0.1' });
  await until('the registrations', () => fs.existsSync(registryFile(loaded.pid)) && fs.existsSync(registryFile(watching.pid)));
  await until('a watch sample', () => JSON.parse(fs.readFileSync(registryFile(watching.pid), 'utf8')).lastSample !== null);
  assert.strictEqual(fs.statSync(registryFile(loaded.pid)).mode & 0o777, 0o600);

  const list = ps();
  const find = (pid) => list.find((p) => p.pid === pid);
  for (const child of [plain, loaded, watching]) {
    const p = find(child.pid);
    assert.ok(p, `process ${child.pid} is listed`);
    assert.strictEqual(p.node, process.version);
    assert.strictEqual(p.uid, process.getuid());
    assert.match(p.command, /ps-test-marker/);
    assert.ok(p.rss > 1_000_000 && p.uptimeSeconds >= 0 && p.uptimeSeconds < 600);
    assert.strictEqual(p.private, false);
  }
  assert.strictEqual(find(plain.pid).heapsnap, null, 'no heapsnap in a plain node');
  const l = find(loaded.pid).heapsnap;
  assert.deepStrictEqual([l.heapsnap, l.pid, l.signal, l.dir, l.watch], [VERSION, loaded.pid, 'SIGUSR1', dir, null]);
  const w = find(watching.pid).heapsnap;
  assert.strictEqual(w.signal, null, 'nosignal');
  assert.deepStrictEqual(w.watch.rules, ['heap>90%', 'rss>100g']);
  assert.ok(w.lastSample.heapUsed > 0 && w.lastSample.heapLimit > w.lastSample.heapUsed);
  assert.ok(!list.some((p) => p.pid === process.pid + 1_000_000), 'sanity');

  // A normal exit removes the registration; a killed process's is removed by the next ps.
  loaded.stdin.end();
  await until('the exit', () => loaded.exitCode !== null);
  assert.ok(!fs.existsSync(registryFile(loaded.pid)), 'removed at exit');
  watching.kill('SIGKILL');
  await until('the kill', () => watching.signalCode !== null);
  assert.ok(fs.existsSync(registryFile(watching.pid)), 'a killed process cannot clean up');
  const after = ps();
  assert.ok(!after.some((p) => p.pid === watching.pid || p.pid === loaded.pid));
  assert.ok(!fs.existsSync(registryFile(watching.pid)), 'heapsnap ps removed the stale registration');
  plain.stdin.end();
});

test('run as another user, heapsnap ps lists the processes without their private details, and says so', async (t) => {
  const user = nobody();
  if (user.skip) return t.skip(user.skip);
  const loaded = startChild(t, `require(${JSON.stringify(PKG)})`, { HEAPSNAP_OPTIONS: 'watch=heap>90%' });
  await until('the registration', () => fs.existsSync(registryFile(loaded.pid)));
  const p = ps(user).find((entry) => entry.pid === loaded.pid);
  assert.ok(p, 'listed for another user too');
  assert.deepStrictEqual([p.private, p.heapsnap, p.node, p.uid], [true, null, null, process.getuid()]);
  assert.match(p.command, /ps-test-marker/, 'the command line is public in /proc');
  const text = spawnSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', process.execPath, CLI, 'ps'], { encoding: 'utf8', cwd: '/tmp' });
  assert.strictEqual(text.status, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`\\n\\s*${loaded.pid}\\s+${process.getuid()}\\s+\\?.*\\(private\\)`));
  assert.match(text.stdout, /process(es)? of other users: heapsnap's details of them are private/);
  loaded.stdin.end();
});

test("registering each dump takes nothing from Buffer's shared pool (a new pool between two snapshots reads as a leak)", { skip: process.platform !== 'linux' && 'the registry is Linux only' }, (t) => {
  // A long dump path makes each registry entry ~1 kB.
  const dir = path.join(tmpDir(t), ...Array.from({ length: 4 }, (_, i) => `${i}`.repeat(200)));
  fs.mkdirSync(dir, { recursive: true });
  const r = runNode(`
    const heapsnap = require(${JSON.stringify(PKG)});
    const fs = require('fs');
    // A fresh pool, half used: then a Buffer.from() right before and right after the dumps
    // sit 8 bytes apart in it unless something else took from the pool in between.
    const start = Buffer.allocUnsafe(4095).buffer;
    while (Buffer.allocUnsafe(4095).buffer === start);
    const before = Buffer.from('x');
    for (let i = 0; i < 12; i++) {
      const file = require('path').join(${JSON.stringify(dir)}, 's' + i + '.heapsnapshot');
      if (!heapsnap.writeSnapshot(file)) process.exit(1);
      fs.unlinkSync(file);
      fs.unlinkSync(file + '.memory.json');
    }
    const after = Buffer.from('y');
    const registered = fs.statSync('/tmp/heapsnap-' + process.getuid() + '/' + process.pid + '.process.json').size;
    console.log(JSON.stringify({ samePool: after.buffer === before.buffer, taken: after.byteOffset - before.byteOffset - 8, registered }));`);
  assert.strictEqual(r.status, 0, r.stderr);
  const { samePool, taken, registered } = JSON.parse(r.stdout);
  assert.ok(registered > 800, `the registry entry holds the last dump's long path: ${registered} bytes`);
  assert.deepStrictEqual({ samePool, taken }, { samePool: true, taken: 0 }, "the dumps took bytes from Buffer's pool");
});
