'use strict';
// Uploads of dumps to S3-compatible object storage (lib/upload/), against a real S3 server:
// Garage, one node on loopback, started here (scripts/s3-server.js). Every object is fetched back
// and compared byte for byte. Without the Garage binary these tests skip, naming the install
// command, unless HEAPSNAP_REQUIRE_S3=1 (CI), which makes its absence a failure.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const net = require('net');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { PKG, ROOT, tmpDir, runNode, nativeWriterOnly } = require('./helpers');
const s3server = require('../scripts/s3-server');
const { parseTarget, objectKey, needsPathStyle } = require(path.join(PKG, 'lib', 'upload', 'target'));
const { parseEnv } = require(path.join(PKG, 'lib', 'writer', 'signal'));

const CLI = path.join(PKG, 'bin', 'heapsnap.js');
const REQUIRED = process.env.HEAPSNAP_REQUIRE_S3 === '1';
const NODE_OK = Number.parseInt(process.versions.node, 10) >= 20;

/** Why the S3 tests cannot run here, or null when they can. */
function missing() {
  if (!NODE_OK) return `uploads need Node 20 or later (the AWS SDK's), this is ${process.version}`;
  const garage = s3server.available();
  if (!garage.ok) return garage.reason;
  try {
    require.resolve('@aws-sdk/client-s3', { paths: [ROOT] });
    require.resolve('@aws-sdk/lib-storage', { paths: [ROOT] });
  } catch {
    return 'the AWS SDK is not installed (devDependencies: npm install)';
  }
  return null;
}

const WHY = missing();
// HEAPSNAP_REQUIRE_S3=1 (CI) turns a missing server or SDK into failures; Node < 20 always
// skips: the SDK does not run there (the coded error for it is tested below).
const S3 = WHY && (!REQUIRED || !NODE_OK) ? { skip: WHY } : {};

let server;
async function store() {
  if (WHY) throw new Error(`HEAPSNAP_REQUIRE_S3=1 but ${WHY}`);
  server ??= await s3server.startServer();
  return server;
}
test.after(() => server && server.stop());

function client(s) {
  const { S3Client } = require('@aws-sdk/client-s3');
  const { env } = s;
  return new S3Client({
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  });
}

/** The object's bytes, or null when there is none. */
async function fetchObject(s, key) {
  const { GetObjectCommand } = require('@aws-sdk/client-s3');
  try {
    const got = await client(s).send(new GetObjectCommand({ Bucket: s.bucket, Key: key }));
    return Buffer.from(await got.Body.transformToByteArray());
  } catch (err) {
    if (err.name === 'NoSuchKey' || (err.$metadata && err.$metadata.httpStatusCode === 404)) return null;
    throw err;
  }
}

async function openUploads(s, key) {
  const { ListMultipartUploadsCommand } = require('@aws-sdk/client-s3');
  const listed = await client(s).send(new ListMultipartUploadsCommand({ Bucket: s.bucket, Prefix: key }));
  return (listed.Uploads || []).filter((u) => u.Key === key);
}

/** The child env: the store's AWS_* settings, no SDK notices from the test's own settings. */
function childEnv(s, extra = {}) {
  return { ...process.env, HEAPSNAP_OPTIONS: 'nosignal', ...s.env, ...extra };
}

async function runAsync(code, { env, cwd = ROOT, args = [] } = {}) {
  const child = spawn(process.execPath, [...args, '-e', code], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const status = await new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  return { status, stdout, stderr };
}

/** Waits until `child`'s stderr (collected in `state.stderr`) matches `re`. */
function waitFor(child, state, re) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = re.exec(state.stderr);
      if (m) {
        child.stderr.off('data', onData);
        child.off('exit', onExit);
        resolve(m);
      }
    };
    const onData = () => check();
    const onExit = (code) => reject(new Error(`the process exited (${code}) before printing ${re}:\n${state.stderr}`));
    child.stderr.on('data', onData);
    child.on('exit', onExit);
    check();
  });
}

function startChild(code, { env, cwd = ROOT }) {
  const child = spawn(process.execPath, ['-e', code], { cwd, env, stdio: ['pipe', 'pipe', 'pipe', 'ipc'] });
  const state = { stderr: '', stdout: '' };
  child.stderr.on('data', (d) => (state.stderr += d));
  child.stdout.on('data', (d) => (state.stdout += d));
  const exited = new Promise((resolve) => child.on('close', (status, signal) => resolve(status ?? signal)));
  return { child, state, exited };
}

/**
 * A TCP relay between the uploader and Garage that can hold the uploader's bytes (the server is
 * real; the relay only lets a test decide when an upload may go on). `holdAfter(n)`: the next
 * n bytes the uploader sends pass, then everything waits until `release()`; `holding` resolves
 * once something waits.
 */
function relay(target) {
  const { port: targetPort, hostname } = new URL(target);
  let allowance = Infinity;
  const waiting = [];
  const sockets = new Set();
  let startHolding;
  const holding = new Promise((resolve) => (startHolding = resolve));
  const srv = net.createServer((socket) => {
    const upstream = net.connect(Number(targetPort), hostname);
    sockets.add(socket);
    sockets.add(upstream);
    upstream.pipe(socket);
    socket.on('data', (chunk) => {
      if (chunk.length <= allowance) {
        allowance -= chunk.length;
        upstream.write(chunk);
        return;
      }
      socket.pause();
      waiting.push(() => {
        upstream.write(chunk);
        socket.resume();
      });
      startHolding();
    });
    socket.on('end', () => upstream.end());
    for (const s of [socket, upstream]) s.on('error', () => {}).on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    endpoint: `http://127.0.0.1:${srv.address().port}`,
    holdAfter: (bytes) => (allowance = bytes),
    release: () => {
      allowance = Infinity;
      for (const go of waiting.splice(0)) go();
    },
    holding,
    close: () => {
      for (const s of sockets) s.destroy();
      srv.close();
    },
  })));
}

/** A heap whose snapshot is several multipart parts (5 MiB each) uncompressed. */
const BIG_HEAP = `globalThis.keep = Array.from({ length: 120000 }, (_, i) => ({ id: i, name: 'item-' + i, tags: [i, i + 1] }));`;

// ---- no server needed ----

test('s3:// targets, object names and path-style addressing', () => {
  assert.deepStrictEqual(parseTarget('s3://dumps/svc/'), { url: 's3://dumps/svc/', bucket: 'dumps', prefix: 'svc/' });
  assert.deepStrictEqual(parseTarget('s3://dumps'), { url: 's3://dumps', bucket: 'dumps', prefix: '' });
  for (const bad of ['dumps/svc/', 'http://x/y', 's3://', 's3://UPPER/x', 's3://ok//x', 5]) {
    assert.throws(() => parseTarget(bad), { code: 'ERR_HEAPSNAP_INVALID_OPTION' }, String(bad));
  }
  const now = new Date(2026, 11, 7, 21, 5, 9);
  assert.strictEqual(objectKey(parseTarget('s3://bkt/svc/'), '/var/dumps/a.heapsnapshot.gz', { hostname: 'pod-1' }), 'svc/pod-1/a.heapsnapshot.gz');
  assert.strictEqual(objectKey(parseTarget('s3://bkt/'), 'a.heapsnapshot', { hostname: 'h' }), 'h/a.heapsnapshot');
  assert.strictEqual(objectKey(parseTarget('s3://bkt/{date}/{hostname}-{pid}/'), 'a.heapsnapshot', { hostname: 'h', pid: 7, now }), '20261207/h-7/a.heapsnapshot');
  assert.strictEqual(needsPathStyle('http://127.0.0.1:3900'), true);
  assert.strictEqual(needsPathStyle('http://localhost:9000'), true);
  assert.strictEqual(needsPathStyle('http://[::1]:9000'), true);
  assert.strictEqual(needsPathStyle('https://s3.eu-west-1.amazonaws.com'), false);
  assert.strictEqual(needsPathStyle(undefined), false);
  assert.strictEqual(needsPathStyle('https://minio.internal', true), true);
});

test('HEAPSNAP_OPTIONS upload words', () => {
  const { options } = parseEnv({ HEAPSNAP_OPTIONS: 'upload=s3://dumps/svc/,keeplocal=false,uploadpathstyle,dir=/d' }, { quiet: true });
  assert.deepStrictEqual(options, { upload: 's3://dumps/svc/', keepLocal: false, uploadPathStyle: true, dir: '/d' });
});

test('upload options are checked like the others', () => {
  const heapsnap = require('heapsnap');
  for (const bad of [{ upload: 'dumps/' }, { upload: 5 }, { upload: 's3://b/', keepLocal: 'no' }, { keepLocal: 1 }]) {
    assert.throws(() => heapsnap.writeSnapshot(bad), { code: 'ERR_HEAPSNAP_INVALID_OPTION' }, JSON.stringify(bad));
    assert.rejects(heapsnap.writeSnapshotAsync(bad), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
  }
});

test('without the AWS SDK: a coded error naming the npm install line; the dump stays local', nativeWriterOnly('signal dumps'), (t) => {
  // A copy of the package with no node_modules, run from a folder without one either: what a
  // user who never installed the SDK has.
  const dir = tmpDir(t);
  const copy = path.join(dir, 'heapsnap');
  fs.mkdirSync(copy);
  for (const entry of ['package.json', 'index.js', 'lib', 'bin', 'native', 'prebuilds']) {
    if (fs.existsSync(path.join(PKG, entry))) fs.cpSync(path.join(PKG, entry), path.join(copy, entry), { recursive: true });
  }
  // Installed from the tarballs (the matrix), the addons are in the platform package beside it.
  const platformDir = require(path.join(PKG, 'lib', 'loader', 'addons')).platformPackageDir();
  if (platformDir) fs.cpSync(platformDir, path.join(copy, 'prebuilds'), { recursive: true });
  const api = runNode(`const heapsnap = require(${JSON.stringify(copy)});
heapsnap.writeSnapshotAsync({ dir: ${JSON.stringify(dir)}, upload: 's3://dumps/x/' }).then(() => console.log('dumped'), (e) => console.log(e.code + ' | ' + e.message));`, { cwd: dir });
  assert.strictEqual(api.status, 0, api.stderr);
  // Before Node 20 the SDK cannot run at all, and the error says that first.
  const why = Number(process.versions.node.split('.')[0]) >= 20 ? /npm install @aws-sdk\/client-s3 @aws-sdk\/lib-storage/ : /uploads need Node\.js 20 or later/;
  assert.match(api.stdout, /^ERR_HEAPSNAP_UPLOAD_UNAVAILABLE \| /);
  assert.match(api.stdout, why);
  // From HEAPSNAP_OPTIONS: one line, and the signal still dumps locally.
  const env = runNode(`require(${JSON.stringify(copy)}); process.kill(process.pid, 'SIGUSR2'); setTimeout(() => {}, 1500);`, {
    cwd: dir,
    env: { HEAPSNAP_OPTIONS: `upload=s3://dumps/x/,dir=${dir}` },
  });
  assert.strictEqual(env.status, 0, env.stderr);
  const lines = env.stderr.trim().split('\n');
  assert.match(lines[0], /^heapsnap: uploads disabled: ERR_HEAPSNAP_UPLOAD_UNAVAILABLE: /);
  assert.match(lines[0], why);
  assert.match(lines[1], /^heapsnap: wrote .*heapdump-.*\.heapsnapshot/);
  assert.strictEqual(lines.length, 2, env.stderr);
  const cli = spawnSync(process.execPath, [path.join(copy, 'bin', 'heapsnap.js'), 'upload', path.join(dir, 'x.heapsnapshot'), 's3://dumps/x/'], { cwd: dir, encoding: 'utf8' });
  assert.strictEqual(cli.status, 2);
  assert.match(cli.stderr, /^heapsnap: ERR_HEAPSNAP_UPLOAD_UNAVAILABLE: .*\n$/);
  assert.match(cli.stderr, why);
});

test('on Node older than 20: the same coded error, before any dump', (t) => {
  const node18 = path.join(ROOT, '.cache', 'node', '18', 'package', 'bin', 'node');
  if (!fs.existsSync(node18)) return t.skip(`no Node 18 at ${node18} (scripts/node-dist.js fetches it)`);
  const r = spawnSync(node18, ['-e', `const heapsnap = require(${JSON.stringify(PKG)});
heapsnap.writeSnapshotAsync({ upload: 's3://dumps/x/' }).then(() => console.log('dumped'), (e) => console.log(e.code + ' | ' + e.message));`], { encoding: 'utf8', env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal' } });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ERR_HEAPSNAP_UPLOAD_UNAVAILABLE \| heapsnap: uploads need Node\.js 20 or later .*not 18\./);
});

// ---- against Garage ----

test('an upload larger than the part size arrives byte-identical, with its memory record, and loads in heapsnap summary', S3, async (t) => {
  const s = await store();
  const dir = tmpDir(t);
  const r = await runAsync(`${BIG_HEAP}
const heapsnap = require(${JSON.stringify(PKG)});
heapsnap.writeSnapshotAsync({ dir: ${JSON.stringify(dir)}, upload: 's3://${s.bucket}/big/' }).then((info) => console.log(JSON.stringify(info)));`, { env: childEnv(s) });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.stderr, '', 'no SDK notices, no heapsnap line for an API call');
  const info = JSON.parse(r.stdout);
  const up = info.upload;
  assert.ok(!up.error, JSON.stringify(up));
  assert.strictEqual(up.key, `big/${os.hostname()}/${path.basename(info.path)}`);
  assert.strictEqual(up.url, `s3://${s.bucket}/${up.key}`);
  assert.ok(up.parts >= 2, `more than one part: ${info.bytes} bytes in ${up.parts}`);
  assert.match(up.checksumCRC32, /^[A-Za-z0-9+/=]+-\d+$|^[A-Za-z0-9+/=]+$/, 'the store kept the CRC32 it verified');
  assert.strictEqual(up.keptLocal, true);
  const local = fs.readFileSync(info.path);
  assert.ok(local.length > 5 * 1024 * 1024);
  assert.ok(local.equals(await fetchObject(s, up.key)), 'byte-identical');
  assert.ok(fs.readFileSync(info.memoryFile).equals(await fetchObject(s, `${up.key}.memory.json`)));
  assert.strictEqual(up.memoryRecord.url, `${up.url}.memory.json`);
  const fetched = path.join(dir, 'fetched.heapsnapshot');
  fs.writeFileSync(fetched, await fetchObject(s, up.key));
  const summary = spawnSync(process.execPath, [CLI, 'summary', '--json', fetched], { encoding: 'utf8' });
  assert.strictEqual(summary.status, 0, summary.stderr);
  assert.ok(JSON.parse(summary.stdout).nodeCount > 100_000);
});

test('HEAPSNAP_OPTIONS=upload=... and SIGUSR2: the dump, its upload line and the dump event', { ...S3, ...nativeWriterOnly('signal dumps') }, async (t) => {
  const s = await store();
  const dir = tmpDir(t);
  const { child, state, exited } = startChild(`const heapsnap = require(${JSON.stringify(PKG)});
heapsnap.on('dump', (info) => { console.log(JSON.stringify(info)); process.exit(0); });
process.send('ready'); setInterval(() => {}, 1000);`, { env: childEnv(s, { HEAPSNAP_OPTIONS: `upload=s3://${s.bucket}/svc/,dir=${dir}` }) });
  await new Promise((resolve) => child.once('message', resolve));
  child.kill('SIGUSR2');
  assert.strictEqual(await exited, 0, state.stderr);
  const event = JSON.parse(state.stdout);
  assert.strictEqual(event.trigger, 'signal');
  const lines = state.stderr.trim().split('\n');
  assert.strictEqual(lines.length, 2, state.stderr);
  assert.match(lines[0], /^heapsnap: wrote /);
  assert.strictEqual(lines[1], `heapsnap: uploaded ${event.path} to ${event.upload.url} (${lines[1].match(/\((.*) in /)[1]} in ${lines[1].match(/ in ([\d.]+ s)\)$/)[1]})`);
  const object = await fetchObject(s, event.upload.key);
  assert.ok(fs.readFileSync(event.path).equals(object));
  assert.ok(fs.readFileSync(event.memoryFile).equals(await fetchObject(s, `${event.upload.key}.memory.json`)));
  assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.startsWith('.heapsnap-upload')), [], 'nothing pending: the journal is gone at exit');
  // The object, with its memory record beside it, loads in heapsnap summary.
  const fetched = tmpDir(t);
  fs.writeFileSync(path.join(fetched, 'svc.heapsnapshot'), object);
  fs.writeFileSync(path.join(fetched, 'svc.heapsnapshot.memory.json'), await fetchObject(s, `${event.upload.key}.memory.json`));
  const summary = spawnSync(process.execPath, [CLI, 'summary', path.join(fetched, 'svc.heapsnapshot')], { encoding: 'utf8' });
  assert.strictEqual(summary.status, 0, summary.stderr);
  assert.match(summary.stdout, /Process memory when the dump started/);
});

test('heapsnap dump <pid> of a process with upload= in its HEAPSNAP_OPTIONS: the process uploads the file it wrote', { ...S3, ...nativeWriterOnly('dump requests') }, async (t) => {
  const s = await store();
  const dir = tmpDir(t);
  const { child, state, exited } = startChild(`require(${JSON.stringify(PKG)});
process.send('ready'); setInterval(() => {}, 1000);`, { env: childEnv(s, { HEAPSNAP_OPTIONS: `upload=s3://${s.bucket}/remote/,dir=${dir}` }) });
  await new Promise((resolve) => child.once('message', resolve));
  const file = path.join(dir, 'asked.heapsnapshot.gz');
  const cli = spawnSync(process.execPath, [CLI, 'dump', String(child.pid), '-o', file], { encoding: 'utf8' });
  assert.strictEqual(cli.status, 0, cli.stderr);
  assert.strictEqual(cli.stdout.trim(), file);
  await waitFor(child, state, /heapsnap: uploaded .*asked\.heapsnapshot\.gz to s3:\/\/dumps\/remote\//);
  child.kill('SIGTERM');
  await exited;
  assert.ok(fs.readFileSync(file).equals(await fetchObject(s, `remote/${os.hostname()}/asked.heapsnapshot.gz`)));
});

test('the store down at dump time: one warning line, the file stays, the process goes on', { ...S3, ...nativeWriterOnly('signal dumps') }, async (t) => {
  const s = await store();
  const dir = tmpDir(t);
  await s.pause();
  t.after(() => s.resume());
  const { child, state, exited } = startChild(`const heapsnap = require(${JSON.stringify(PKG)});
heapsnap.on('dump', (info) => { console.log(JSON.stringify(info.upload)); setTimeout(() => process.exit(0), 50); });
process.send('ready'); setInterval(() => {}, 1000);`, { env: childEnv(s, { HEAPSNAP_OPTIONS: `upload=s3://${s.bucket}/down/,dir=${dir}` }) });
  await new Promise((resolve) => child.once('message', resolve));
  child.kill('SIGUSR2');
  assert.strictEqual(await exited, 0, state.stderr);
  const lines = state.stderr.trim().split('\n');
  assert.strictEqual(lines.length, 2, state.stderr);
  assert.match(lines[1], /^heapsnap: upload of .*heapdump-.*\.heapsnapshot to s3:\/\/dumps\/down\/.* failed, the file stays: ERR_HEAPSNAP_UPLOAD_FAILED: cannot reach the store at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  assert.strictEqual(JSON.parse(state.stdout).error.code, 'ERR_HEAPSNAP_UPLOAD_FAILED');
  const dumps = fs.readdirSync(dir).filter((n) => n.endsWith('.heapsnapshot'));
  assert.strictEqual(dumps.length, 1, 'the local file stays');
  assert.strictEqual(fs.readdirSync(dir).filter((n) => n.startsWith('.heapsnap-upload')).length, 1, 'and is owed: the journal stays');
  // The next process with the same setting, once the store is back, sends it.
  await s.resume();
  const next = await runAsync(`require(${JSON.stringify(PKG)}); setTimeout(() => {}, 100);`, { env: childEnv(s, { HEAPSNAP_OPTIONS: `nosignal,upload=s3://${s.bucket}/down/,dir=${dir}` }) });
  assert.strictEqual(next.status, 0, next.stderr);
  assert.match(next.stderr, /^heapsnap: uploaded .*heapdump-.* \(left by process \d+\) to s3:\/\/dumps\/down\//);
  const key = `down/${os.hostname()}/${dumps[0]}`;
  assert.ok(fs.readFileSync(path.join(dir, dumps[0])).equals(await fetchObject(s, key)));
  assert.deepStrictEqual(fs.readdirSync(dir).filter((n) => n.startsWith('.heapsnap-upload')), []);
});

test('wrong credentials: one coded line, for the API, triggered dumps and the CLI', { ...S3, ...nativeWriterOnly('signal dumps') }, async (t) => {
  const s = await store();
  const dir = tmpDir(t);
  const env = childEnv(s, { AWS_SECRET_ACCESS_KEY: 'x'.repeat(64) });
  const api = await runAsync(`const heapsnap = require(${JSON.stringify(PKG)});
heapsnap.writeSnapshotAsync({ dir: ${JSON.stringify(dir)}, upload: 's3://${s.bucket}/creds/' }).then((info) => console.log(JSON.stringify(info.upload)));`, { env });
  assert.strictEqual(api.status, 0, api.stderr);
  const upload = JSON.parse(api.stdout);
  assert.strictEqual(upload.error.code, 'ERR_HEAPSNAP_UPLOAD_DENIED');
  assert.doesNotMatch(api.stdout, new RegExp(`${'x'.repeat(64)}|${s.env.AWS_ACCESS_KEY_ID}`), 'no credentials in messages');
  // (Another directory: in this one the API's failed upload is owed, and would be retried.)
  const other = tmpDir(t);
  const signal = await runAsync(`require(${JSON.stringify(PKG)}); process.kill(process.pid, 'SIGUSR2'); setTimeout(() => {}, 3000);`, { env: { ...env, HEAPSNAP_OPTIONS: `upload=s3://${s.bucket}/creds/,dir=${other},quiet` } });
  assert.strictEqual(signal.status, 0, signal.stderr);
  assert.match(signal.stderr, /^heapsnap: upload of .*heapdump-.* failed, the file stays: ERR_HEAPSNAP_UPLOAD_DENIED: the store refused the credentials .*\n$/);
  const file = path.join(other, fs.readdirSync(other).find((n) => n.endsWith('.heapsnapshot')));
  const cli = spawnSync(process.execPath, [CLI, 'upload', file, `s3://${s.bucket}/creds/`], { env, encoding: 'utf8' });
  assert.strictEqual(cli.status, 2);
  assert.match(cli.stderr, /^heapsnap: ERR_HEAPSNAP_UPLOAD_DENIED: .*\n$/);
});

test('keepLocal: false removes the local files once the store confirmed them', S3, async (t) => {
  const s = await store();
  const dir = tmpDir(t);
  const r = await runAsync(`const heapsnap = require(${JSON.stringify(PKG)});
const fs = require('fs');
heapsnap.writeSnapshotAsync({ dir: ${JSON.stringify(dir)}, upload: 's3://${s.bucket}/gone/', keepLocal: false }).then((info) => console.log(JSON.stringify({ info, left: fs.readdirSync(${JSON.stringify(dir)}) })));`, { env: childEnv(s) });
  assert.strictEqual(r.status, 0, r.stderr);
  const { info, left } = JSON.parse(r.stdout);
  assert.strictEqual(info.upload.keptLocal, false);
  assert.deepStrictEqual(left.filter((n) => !n.startsWith('.heapsnap-upload')), [], 'snapshot and memory record removed');
  const object = await fetchObject(s, info.upload.key);
  assert.strictEqual(object.length, info.bytes);
  assert.ok(JSON.parse(object.toString('utf8')).snapshot, 'a whole snapshot');
  assert.ok(await fetchObject(s, `${info.upload.key}.memory.json`));
});

test('a watch dump while the previous dump is still uploading: both arrive whole', S3, async (t) => {
  const s = await store();
  const dir = tmpDir(t);
  const gate = await relay(s.env.AWS_ENDPOINT_URL);
  t.after(() => gate.close());
  gate.holdAfter(0);
  const { child, state, exited } = startChild(`${BIG_HEAP}
const heapsnap = require(${JSON.stringify(PKG)});
const events = [];
heapsnap.on('dump', (info) => { events.push(info); if (events.length === 2) { console.log(JSON.stringify(events)); process.exit(0); } });
heapsnap.watch({ rules: ['heap>1m', 'external>64m'], interval: 0.05, cooldown: 0, dir: ${JSON.stringify(dir)}, upload: 's3://${s.bucket}/watch/' });
process.on('message', () => { globalThis.extra = Buffer.alloc(80 * 1024 * 1024, 1); });
setInterval(() => {}, 1000);`, { env: childEnv(s, { AWS_ENDPOINT_URL: gate.endpoint }) });
  await waitFor(child, state, /heap>1m crossed: heap snapshot written/);
  await gate.holding; // the first upload has started, and is held
  child.send('grow');
  await waitFor(child, state, /external>64m crossed: heap snapshot written/);
  gate.release();
  assert.strictEqual(await exited, 0, state.stderr);
  const events = JSON.parse(state.stdout);
  assert.deepStrictEqual(events.map((e) => e.rules), [['heap>1m'], ['external>64m']]);
  for (const event of events) {
    assert.ok(!event.upload.error, JSON.stringify(event.upload));
    assert.ok(fs.readFileSync(event.path).equals(await fetchObject(s, event.upload.key)), event.path);
  }
});

test('process exit during an upload: no object, then the next process sends it whole and aborts the cut-off multipart', S3, async (t) => {
  const s = await store();
  const dir = tmpDir(t);
  const gate = await relay(s.env.AWS_ENDPOINT_URL);
  t.after(() => gate.close());
  const target = `s3://${s.bucket}/exit/`;
  // The multipart upload starts (its creation and about a part go through), then the rest waits.
  gate.holdAfter(6 * 1024 * 1024);
  const { child, state, exited } = startChild(`${BIG_HEAP}
const heapsnap = require(${JSON.stringify(PKG)});
heapsnap.writeSnapshotAsync({ dir: ${JSON.stringify(dir)}, upload: '${target}' });
process.on('message', () => process.exit(0));`, { env: childEnv(s, { AWS_ENDPOINT_URL: gate.endpoint }) });
  await gate.holding;
  child.send('exit');
  assert.strictEqual(await exited, 0, state.stderr);
  gate.release();
  const name = fs.readdirSync(dir).find((n) => n.endsWith('.heapsnapshot'));
  const key = `exit/${os.hostname()}/${name}`;
  const local = fs.readFileSync(path.join(dir, name));
  const early = await fetchObject(s, key);
  // Documented outcome: the object is absent (S3 shows an object only once its multipart upload
  // completes) or, if the last request had already gone through, whole.
  assert.ok(early === null || early.equals(local), 'never a partial object');
  const next = await runAsync(`require(${JSON.stringify(PKG)}); setTimeout(() => {}, 100);`, { env: childEnv(s, { HEAPSNAP_OPTIONS: `nosignal,upload=${target},dir=${dir}` }) });
  assert.strictEqual(next.status, 0, next.stderr);
  assert.match(next.stderr, /uploaded .* \(left by process \d+\)/);
  assert.ok(local.equals(await fetchObject(s, key)), 'byte-identical after the pickup');
  assert.deepStrictEqual(await openUploads(s, key), [], 'no multipart upload left open');
});

test('a near-heap-limit dump (the process dies) is uploaded by the next process with the same setting', { ...S3, ...nativeWriterOnly('heapsnap\'s own near-heap-limit dump') }, async (t) => {
  const s = await store();
  const dir = tmpDir(t);
  const target = `s3://${s.bucket}/oom/`;
  const dying = await runAsync(`const heapsnap = require(${JSON.stringify(PKG)});
heapsnap.onNearHeapLimit({ dir: ${JSON.stringify(dir)}, upload: '${target}', force: true });
const keep = []; for (let i = 0; ; i++) keep.push({ i, pad: new Array(32).fill(i) });`, { env: childEnv(s), args: ['--max-old-space-size=64'] });
  assert.notStrictEqual(dying.status, 0);
  assert.match(dying.stderr, /heapsnap: near the heap limit: wrote /);
  const name = fs.readdirSync(dir).find((n) => n.endsWith('.heapsnapshot'));
  assert.ok(name, fs.readdirSync(dir).join());
  const next = await runAsync(`require(${JSON.stringify(PKG)}); setTimeout(() => {}, 100);`, { env: childEnv(s, { HEAPSNAP_OPTIONS: `nosignal,upload=${target},dir=${dir}` }) });
  assert.strictEqual(next.status, 0, next.stderr);
  assert.match(next.stderr, new RegExp(`^heapsnap: uploaded ${dir}/${name} \\(left by process \\d+\\) to ${target}${os.hostname()}/${name} `));
  const key = `oom/${os.hostname()}/${name}`;
  assert.ok(fs.readFileSync(path.join(dir, name)).equals(await fetchObject(s, key)));
  assert.ok(await fetchObject(s, `${key}.memory.json`));
  // Once: a third process finds nothing owed.
  const third = await runAsync(`require(${JSON.stringify(PKG)}); setTimeout(() => {}, 100);`, { env: childEnv(s, { HEAPSNAP_OPTIONS: `nosignal,upload=${target},dir=${dir}` }) });
  assert.strictEqual(third.stderr, '');
});

test('heapsnap upload FILE... s3://bucket/prefix/', S3, async (t) => {
  const s = await store();
  const dir = tmpDir(t);
  const made = runNode(`require(${JSON.stringify(PKG)}).writeSnapshot(${JSON.stringify(path.join(dir, 'a.heapsnapshot'))}); require(${JSON.stringify(PKG)}).writeSnapshot(${JSON.stringify(path.join(dir, 'b.heapsnapshot.gz'))});`, { env: { HEAPSNAP_OPTIONS: 'nosignal' } });
  assert.strictEqual(made.status, 0, made.stderr);
  const a = path.join(dir, 'a.heapsnapshot');
  const b = path.join(dir, 'b.heapsnapshot.gz');
  const bytes = [fs.readFileSync(a), fs.readFileSync(b)];
  const r = spawnSync(process.execPath, [CLI, 'upload', a, b, `s3://${s.bucket}/cli/`, '--delete-local'], { env: childEnv(s), encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.stderr, '');
  const urls = r.stdout.trim().split('\n');
  assert.deepStrictEqual(urls, ['a.heapsnapshot', 'b.heapsnapshot.gz'].map((n) => `s3://${s.bucket}/cli/${os.hostname()}/${n}`));
  assert.ok(bytes[0].equals(await fetchObject(s, `cli/${os.hostname()}/a.heapsnapshot`)));
  assert.ok(bytes[1].equals(await fetchObject(s, `cli/${os.hostname()}/b.heapsnapshot.gz`)));
  assert.ok(await fetchObject(s, `cli/${os.hostname()}/a.heapsnapshot.memory.json`));
  assert.deepStrictEqual(fs.readdirSync(dir), [], '--delete-local');
  const bad = spawnSync(process.execPath, [CLI, 'upload', path.join(dir, 'nope.heapsnapshot'), `s3://${s.bucket}/cli/`], { env: childEnv(s), encoding: 'utf8' });
  assert.strictEqual(bad.status, 2);
  assert.match(bad.stderr, /^heapsnap: ENOENT: .*nope\.heapsnapshot/);
  const usage = spawnSync(process.execPath, [CLI, 'upload', a], { encoding: 'utf8' });
  assert.strictEqual(usage.status, 2);
  assert.match(usage.stderr, /ERR_HEAPSNAP_INVALID_OPTION: upload takes one or more files/);
});
