#!/usr/bin/env node
'use strict';
// A real S3 server for the upload tests and bench: Garage (crates.io `garage`, an
// S3-compatible object store run in production), one node on loopback.
//
//   node scripts/s3-server.js install   builds it once into /var/cache/heapsnap/garage (CI keeps
//                                       /var/cache between runs; ~15 CPU-minutes, see FEATURES)
//   node scripts/s3-server.js start     a server until Ctrl-C, printing the AWS_* settings
//
// startServer() (tests, bench) starts one on random loopback ports with temp data and metadata
// directories (sqlite), assigns and applies the one-node layout, creates a bucket and a key
// allowed on it, and returns the standard AWS_* variables that reach it; stop() ends it and
// removes its directories.

const fs = require('fs');
const os = require('os');
const net = require('net');
const path = require('path');
const crypto = require('crypto');
const { spawn, spawnSync, execFileSync } = require('child_process');

const VERSION = '2.5.0';
const ROOT = process.env.HEAPSNAP_GARAGE_ROOT || '/var/cache/heapsnap/garage';
const BINARY = path.join(ROOT, 'bin', 'garage');
const TARGET_DIR = process.env.HEAPSNAP_GARAGE_TARGET_DIR || '/var/cache/heapsnap/garage-build';
// What the tests need of it and no more: sqlite metadata (bundled), no LMDB, metrics or K2V,
// optimized lightly: about half the CPU time of a default build (a test server's speed is
// not what is measured; bench/upload.js compares heapsnap with the SDK on the same server).
const FEATURES = ['--no-default-features', '--features', 'bundled-libs,sqlite'];
const PROFILE_ENV = { CARGO_PROFILE_RELEASE_OPT_LEVEL: '1', CARGO_PROFILE_RELEASE_DEBUG: 'false' };
const INSTALL_COMMAND = `CARGO_TARGET_DIR=${TARGET_DIR} ${Object.entries(PROFILE_ENV).map(([k, v]) => `${k}=${v}`).join(' ')} cargo install --locked garage@${VERSION} ${FEATURES.join(' ')} --root ${ROOT}`;
const REGION = 'garage';

/** Whether the binary is there, and if not, the command that puts it there. */
function available() {
  return fs.existsSync(BINARY) ? { ok: true, binary: BINARY } : { ok: false, reason: `Garage ${VERSION} is not installed at ${BINARY}: run 'node scripts/s3-server.js install' (${INSTALL_COMMAND})` };
}

function install() {
  if (fs.existsSync(BINARY)) {
    console.log(`garage: ${BINARY} is there`);
    return 0;
  }
  const started = Date.now();
  const r = spawnSync('cargo', ['install', '--locked', `garage@${VERSION}`, ...FEATURES, '--root', ROOT], {
    stdio: 'inherit',
    env: { ...process.env, ...PROFILE_ENV, CARGO_TARGET_DIR: TARGET_DIR },
  });
  console.log(`garage: cargo install exited ${r.status} after ${Math.round((Date.now() - started) / 1000)} s`);
  return r.status ?? 1;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs a garage CLI command against the server of `config`; its stdout. */
function cli(config, args) {
  return execFileSync(BINARY, ['-c', config, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'error' } });
}

/** Retries `fn` until it stops throwing (the server is still starting), up to `ms`. */
async function until(fn, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

/**
 * Starts a one-node Garage on loopback; resolves to `{ endpoint, bucket, env, stop(), pid,
 * restart() }`, `env` holding AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY. `bucket` is created and the key may read and write it.
 */
async function startServer({ bucket = 'dumps' } = {}) {
  const ok = available();
  if (!ok.ok) throw new Error(ok.reason);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heapsnap-garage-'));
  const [s3Port, rpcPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const config = path.join(dir, 'garage.toml');
  fs.writeFileSync(config, `metadata_dir = "${dir}/meta"
data_dir = "${dir}/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:${rpcPort}"
rpc_public_addr = "127.0.0.1:${rpcPort}"
rpc_secret = "${crypto.randomBytes(32).toString('hex')}"

[s3_api]
s3_region = "${REGION}"
api_bind_addr = "127.0.0.1:${s3Port}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:${adminPort}"
admin_token = "${crypto.randomBytes(16).toString('hex')}"
`, { mode: 0o600 });
  let server;
  const launch = () => {
    server = spawn(BINARY, ['-c', config, 'server'], { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'server.log'), 'a')], env: { ...process.env, RUST_LOG: 'warn' } });
    return server;
  };
  launch();
  const stopNow = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
  };
  try {
    const status = await until(() => cli(config, ['status']), 20_000);
    const nodeId = /^([0-9a-f]{16})\s/m.exec(status);
    if (!nodeId) throw new Error(`garage status shows no node:\n${status}`);
    cli(config, ['layout', 'assign', '-z', 'dc1', '-c', '1G', nodeId[1]]);
    cli(config, ['layout', 'apply', '--version', '1']);
    await until(() => cli(config, ['bucket', 'create', bucket]), 20_000);
    const created = cli(config, ['key', 'create', 'heapsnap-test']);
    const keyId = /Key ID:\s*(\S+)/i.exec(created);
    const secret = /Secret key:\s*(\S+)/i.exec(created);
    if (!keyId || !secret) throw new Error('garage key create printed no key');
    cli(config, ['bucket', 'allow', '--read', '--write', '--owner', bucket, '--key', 'heapsnap-test']);
    const endpoint = `http://127.0.0.1:${s3Port}`;
    return {
      endpoint,
      bucket,
      dir,
      env: { AWS_ENDPOINT_URL: endpoint, AWS_REGION: REGION, AWS_ACCESS_KEY_ID: keyId[1], AWS_SECRET_ACCESS_KEY: secret[1] },
      get pid() {
        return server.pid;
      },
      /** Stops the server but keeps its data: the store is "down" until start(). */
      pause: stopNow,
      /** Starts it again on the same ports and data. */
      async resume() {
        if (server.exitCode === null && server.signalCode === null) return;
        launch();
        await until(() => cli(config, ['bucket', 'info', bucket]), 20_000);
      },
      async stop() {
        await stopNow();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopNow();
    const log = fs.existsSync(path.join(dir, 'server.log')) ? fs.readFileSync(path.join(dir, 'server.log'), 'utf8').slice(-2000) : '';
    fs.rmSync(dir, { recursive: true, force: true });
    err.message += log ? `\ngarage's log:\n${log}` : '';
    throw err;
  }
}

module.exports = { available, startServer, install, INSTALL_COMMAND, BINARY };

if (require.main === module) {
  const command = process.argv[2];
  if (command === 'install') process.exitCode = install();
  else if (command === 'start') {
    startServer().then((server) => {
      console.log(Object.entries(server.env).map(([k, v]) => `export ${k}=${v}`).join('\n'));
      console.log(`# bucket ${server.bucket}; Ctrl-C stops the server and removes its data`);
      process.once('SIGINT', () => server.stop());
    }, (err) => {
      console.error(err.message);
      process.exitCode = 1;
    });
  } else {
    console.error('usage: node scripts/s3-server.js install|start');
    process.exitCode = 2;
  }
}
