'use strict';
// Apps that write their own series of snapshots (full GC first) between batches of work, for
// the tests of growth by holder (holders.test.js) and of the viewer's growth screen (view.test.js).

const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { PKG, runNode, warmUpDump } = require('./helpers');

const BATCH = 300;

/**
 * Runs an app in a fresh node (its files under `fixtures`/`name`): `body` defines `batch(n)` (n units of work, maybe async); the
 * harness runs a warm-up batch and a warm-up dump (helpers.js warmUpDump), then writes A, runs BATCH units, writes B,
 * again, writes C.
 * Returns the three files.
 */
function app(fixtures, name, body, { warmUp = 50 } = {}) {
  const dir = path.join(fixtures, name);
  fs.mkdirSync(dir);
  const code = `const heapsnap = require(${JSON.stringify(PKG)});
${body}
(async () => {
  await batch(${warmUp});
  ${warmUpDump(dir)}
  // Its aftermath settles before A: with the WebAssembly analyzer, Node closes the message
  // ports it started the analyzer's first worker with in a later turn of the event loop (the
  // process's first 'close' event, which reshapes that event class's prototype).
  await new Promise((resolve) => setImmediate(resolve));
  for (const name of ['a', 'b', 'c']) {
    if (name !== 'a') await batch(${BATCH});
    await new Promise((resolve) => setImmediate(resolve));
    if (!heapsnap.writeSnapshot(require('path').join(${JSON.stringify(dir)}, name + '.heapsnapshot'), { gc: true })) process.exit(1);
  }
  if (typeof done === 'function') done();
})().catch((err) => { console.error(err); process.exit(1); });`;
  const r = runNode(code, { env: { HEAPSNAP_OPTIONS: 'nosignal' }, timeout: 120_000 });
  assert.strictEqual(r.status, 0, `${name} failed: ${r.stderr}`);
  return ['a', 'b', 'c'].map((s) => path.join(dir, `${s}.heapsnapshot`));
}


// express with express-session's default store; no cookie is sent back, so every request
// starts a session the store keeps (the documented MemoryStore leak).
const MEMORY_STORE = `
const http = require('http');
const express = require('express');
const session = require('express-session');
const server = express()
  .use(session({ secret: 'not-a-secret', resave: false, saveUninitialized: true }))
  .get('/', (req, res) => { req.session.visits = (req.session.visits || 0) + 1; res.send('ok'); })
  .listen(0, '127.0.0.1');
const get = () => new Promise((resolve, reject) => {
  http.get({ host: '127.0.0.1', port: server.address().port, path: '/', agent: false }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
});
const listening = new Promise((resolve) => server.on('listening', resolve));
async function batch(n) { await listening; for (let i = 0; i < n; i++) await get(); }
const done = () => server.close();`;

/** Three snapshots of express-session's MemoryStore leaking, 100 + 300 + 300 sessions. */
function memoryStoreApp(fixtures) {
  return app(fixtures, 'memory-store', MEMORY_STORE, { warmUp: 100 });
}

module.exports = { app, memoryStoreApp, BATCH };
