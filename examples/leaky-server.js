#!/usr/bin/env node
'use strict';
// A small HTTP service with a memory leak, and heapsnap finding it.
//
//   node examples/leaky-server.js            drive itself, write 3 snapshots, compare them, exit
//   node examples/leaky-server.js --serve    keep serving on :3000; `kill -USR2 <pid>` writes a snapshot
//
// The leak is the classic one: a per-request "session" stored in a module-level cache that
// nothing ever evicts, plus a listener added to a long-lived emitter on every request.

const http = require('http');
const path = require('path');
const fs = require('fs');
const { EventEmitter } = require('events');
const heapsnap = require('heapsnap');

const serve = process.argv.includes('--serve');
const outDir = path.resolve(process.argv.find((arg) => arg.startsWith('--dir='))?.slice(6) || 'snapshots');

class Session {
  constructor(id, user) {
    this.id = id;
    this.user = user;
    this.createdAt = new Date();
    this.history = new Array(50).fill(`visited /page/${id}`);
  }
}

const sessionCache = new Map(); // never evicted: the leak
const configChanges = new EventEmitter();
configChanges.setMaxListeners(0);

const server = http.createServer((req, res) => {
  const id = sessionCache.size + 1;
  const session = new Session(id, `user-${id % 100}`);
  sessionCache.set(id, session);
  configChanges.on('change', () => session.history.push('config changed')); // also a leak
  res.end(`hello session ${id}\n`);
});

async function request(port, count) {
  for (let i = 0; i < count; i++) {
    await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: `/page/${i}` }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
  }
}

async function main() {
  if (serve) {
    server.listen(3000, () => console.log(`serving on http://127.0.0.1:3000, pid ${process.pid}; kill -USR2 ${process.pid} to dump`));
    return;
  }
  fs.mkdirSync(outDir, { recursive: true });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  console.log(`leaky server on 127.0.0.1:${port}; writing snapshots to ${outDir}`);

  const snapshots = [];
  await request(port, 200); // warm up
  for (const label of ['a', 'b', 'c']) {
    const info = await heapsnap.writeSnapshotAsync({ dir: outDir, path: `leaky-${label}.heapsnapshot.gz`, gc: true });
    console.log(`snapshot ${label}: ${info.path} (${(info.bytes / 1e6).toFixed(1)} MB on disk, ${(info.rawBytes / 1e6).toFixed(1)} MB of JSON, JS paused ${info.pauseMs.toFixed(0)} ms)`);
    snapshots.push(info.path);
    if (label !== 'c') await request(port, 500);
  }
  server.close();
  console.log('');
  require('./compare-snapshots').compare(snapshots[0], snapshots[1]);
  console.log(`\nNext: npx heapsnap leaks ${snapshots.map((file) => path.relative(process.cwd(), file)).join(' ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
