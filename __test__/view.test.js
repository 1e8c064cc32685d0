'use strict';
// `heapsnap view`: the real CLI serving real snapshots of a child process with known
// classes (a class that grows, a Map, an EventEmitter, a closure, hostile names), checked
// - over plain HTTP: the token, Host, Origin and method rules (snapshots hold secrets);
// - in headless Chromium (Debian's, driven by playwright-core, no browser download): the
//   Summary rows' numbers against `heapsnap summary --json`, a class's instances, the
//   retainers of one against `heapsnap retainers --id --json`, object details, the
//   Comparison against `heapsnap diff --json` and its new objects, the dominator tree
//   against snap.dominators(), the growth screen (first with two or three snapshots) against
//   `heapsnap leaks --json`'s holders, on these and on express-session's MemoryStore leak;
//   heap names render as text. Screenshots go to a temp folder named in the test's diagnostics.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const { spawn, spawnSync } = require('child_process');
const heapsnap = require('heapsnap');
const { PKG, tmpDir, runNode } = require('./helpers');
const { memoryStoreApp } = require('./apps');

const CLI = path.join(PKG, 'bin', 'heapsnap.js');
const EVIL = '<img src=x onerror=globalThis.__pwned=1>';

function cli(args) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
}

// A: 50 ViewWidgets in a global Map, an EventEmitter subclass with listeners, a closure
// holding an object, plain objects whose (class) name is markup. B: 30 ViewWidgets more; C: 30 more.
const fixtures = tmpDir(null, 'heapsnap-view-');
process.on('exit', () => fs.rmSync(fixtures, { recursive: true, force: true }));
{
  const r = runNode(`const heapsnap = require(${JSON.stringify(PKG)});
const { EventEmitter } = require('events');
const path = require('path'); const file = (n) => path.join(${JSON.stringify(fixtures)}, n);
class ViewWidget { constructor(i) { this.label = 'widget-' + i; this.payload = new Array(16).fill(i); } }
class ViewHolder extends EventEmitter {}
globalThis.viewRegistry = new Map();
globalThis.viewHolder = new ViewHolder();
viewHolder.on('data', function onData() {});
viewHolder.on('data', function onMoreData() {});
viewHolder.on('end', function onEnd() {});
class Captured {}
globalThis.viewClosure = (() => { const capturedThing = new Captured(); return function useIt() { return capturedThing; }; })();
globalThis.viewLong = Buffer.from('L'.repeat(590) + 'END').toString('latin1');
globalThis.hostile = Array.from({ length: 20 }, () => ({ [${JSON.stringify(EVIL)}]: [] }));
class ViewSwap {}
globalThis.viewSwap = [new ViewSwap(), new ViewSwap(), new ViewSwap()];
const grow = (from, n) => { for (let i = from; i < from + n; i++) viewRegistry.set('w' + i, new ViewWidget(i)); };
grow(0, 50);
if (!heapsnap.writeSnapshot(file('a.heapsnapshot'), { gc: true })) process.exit(1);
grow(50, 30);
viewSwap.shift();
viewSwap.push(new ViewSwap(), new ViewSwap());
if (!heapsnap.writeSnapshot(file('b.heapsnapshot'), { gc: true })) process.exit(1);
grow(80, 30);
if (!heapsnap.writeSnapshot(file('c.heapsnapshot'), { gc: true })) process.exit(1);`, { env: { HEAPSNAP_OPTIONS: 'nosignal' } });
  assert.strictEqual(r.status, 0, `child failed: ${r.stderr}`);
}
const [A, B, C] = ['a', 'b', 'c'].map((n) => path.join(fixtures, `${n}.heapsnapshot`));

/** `heapsnap view --no-open FILES` as a child; resolves to `{ url, port, token, child }` once it prints its URL. */
async function startView(t, files) {
  const child = spawn(process.execPath, [CLI, 'view', '--no-open', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  t.after(() => child.kill('SIGINT'));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`heapsnap view exited ${code}: ${stderr}`)));
  });
  const m = /^http:\/\/127\.0\.0\.1:(\d+)\/([0-9a-f]{32})\/$/.exec(url);
  assert.ok(m, `the URL names 127.0.0.1, a port and a 128-bit token: ${url}`);
  return { url, port: Number(m[1]), token: m[2], child };
}

/** A plain request to 127.0.0.1:port: `{ status, body }`. */
function request(port, pathname, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathname, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the server answers only requests with its token, its own Host and Origin, and GET', async (t) => {
  const { port, token } = await startView(t, [A]);
  const ok = await request(port, `/${token}/api/status`);
  assert.strictEqual(ok.status, 200);
  assert.ok(Array.isArray(JSON.parse(ok.body).snapshots));
  assert.match(ok.headers['content-security-policy'], /default-src 'none'/);
  assert.strictEqual(ok.headers['referrer-policy'], 'no-referrer');
  const bare = await request(port, `/${token}`);
  assert.deepStrictEqual([bare.status, bare.headers.location], [301, `/${token}/`], 'the token without its slash: to the page');
  const page = await request(port, `/${token}/`);
  assert.strictEqual(page.status, 200);
  assert.match(page.body, /<script src="viewer.js" defer><\/script>/);
  assert.strictEqual((await request(port, `/${token}/`, { headers: { Origin: `http://localhost:${port}` } })).status, 200, 'its own origin by name');
  // The load's progress, in bytes of the file, up to all of it.
  let status;
  do status = JSON.parse((await request(port, `/${token}/api/status`)).body);
  while (!status.ready && (await new Promise((r) => setTimeout(r, 50)), true));
  const [entry] = status.snapshots;
  assert.deepStrictEqual([entry.state, entry.bytesRead, entry.fileBytes], ['ready', fs.statSync(A).size, fs.statSync(A).size]);

  const refused = [
    ['no token', '/api/status', {}],
    ['the root', '/', {}],
    ['a wrong token', `/${'0'.repeat(32)}/api/status`, {}],
    ['a token prefix', `/${token.slice(0, 31)}/api/status`, {}],
    ['the token in the query', `/api/status?token=${token}`, {}],
    ['a foreign Origin', `/${token}/api/status`, { headers: { Origin: 'http://evil.example' } }],
    ['an Origin on another port', `/${token}/api/status`, { headers: { Origin: `http://127.0.0.1:${port + 1}` } }],
    ['a null Origin', `/${token}/api/status`, { headers: { Origin: 'null' } }],
    ['a rebinding Host', `/${token}/api/status`, { headers: { Host: `evil.example:${port}` } }],
    ['a Host without the port', `/${token}/api/status`, { headers: { Host: '127.0.0.1' } }],
    ['a cross-site fetch', `/${token}/api/status`, { headers: { 'Sec-Fetch-Site': 'cross-site' } }],
    ['POST', `/${token}/api/status`, { method: 'POST' }],
  ];
  for (const [what, pathname, options] of refused) {
    const r = await request(port, pathname, options);
    assert.strictEqual(r.status, 403, `${what}: refused`);
    assert.doesNotMatch(r.body, /snapshots|nodeCount/, `${what}: no data in the refusal`);
  }

  // Loopback only: another address of this machine does not answer.
  const external = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
  if (external) {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const req = http.get({ host: external.address, port, path: `/${token}/api/status`, timeout: 10_000 }, resolve);
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('timeout')));
      }),
      `not listening on ${external.address}`,
    );
  }
});

test('view: usage and input errors exit 2 with one coded line', () => {
  const missing = cli(['view', '--no-open', path.join(fixtures, 'nope.heapsnapshot')]);
  assert.strictEqual(missing.status, 2);
  assert.match(missing.stderr, /^heapsnap: ENOENT: .*nope\.heapsnapshot\n$/);
  const corrupt = path.join(fixtures, 'corrupt.heapsnapshot');
  fs.writeFileSync(corrupt, fs.readFileSync(A).subarray(0, 5000));
  const bad = cli(['view', '--no-open', corrupt]);
  assert.strictEqual(bad.status, 2, bad.stderr);
  assert.match(bad.stdout, /^http:\/\/127\.0\.0\.1:\d+\//, 'the URL came first');
  assert.match(bad.stderr, /^heapsnap: ERR_HEAPSNAP_CORRUPT_SNAPSHOT: .*corrupt\.heapsnapshot.*\n$/);
  const many = cli(['view', A, A, A, A]);
  assert.strictEqual(many.status, 2);
  assert.match(many.stderr, /view takes 1 to 3 snapshot files, got 4/);
});

// DevTools' bundled model uses ES2023 (Array#toSorted): Node >= 20.
const DEVTOOLS_NODE = Number(process.versions.node.split('.')[0]) >= 20 ? {} : { skip: "DevTools' model needs Node >= 20" };

test("the viewer's Summary is DevTools' own, distances included (scripts/devtools-model.js)", DEVTOOLS_NODE, () => {
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'devtools-model.js'), B], { encoding: 'utf8', timeout: 300_000 });
  assert.strictEqual(r.status, 0, r.stderr);
  const devtools = JSON.parse(r.stdout);
  const { SnapshotBrowser } = require(path.join(PKG, 'lib', 'analyzer', 'browse'));
  const classes = JSON.parse(new SnapshotBrowser(heapsnap.readSnapshot(B)).classes());
  const key = (c) => `${c.name}@${c.location ? Object.values(c.location).join(',') : ''}`;
  const ours = new Map(classes.map((c) => [key(c), c]));
  assert.strictEqual(classes.length, devtools.constructors.length);
  for (const d of devtools.constructors) {
    const c = ours.get(key(d));
    assert.ok(c, `${key(d)} is a row`);
    assert.deepStrictEqual([c.count, c.selfSize, c.retainedSize, c.distance], [d.count, d.selfSize, d.retainedSize, d.distance], key(d));
  }
});

/** playwright-core's Chromium, pointed at Debian's; null (and why) when there is none. */
function browserOrSkip(t) {
  if (Number(process.versions.node.split('.')[0]) < 20) return t.skip('playwright-core needs Node >= 20'), null;
  if (!fs.existsSync('/usr/bin/chromium')) {
    const why = 'chromium not found at /usr/bin/chromium (Debian: apt-get install -y chromium)';
    if (process.env.CI) assert.fail(why);
    return t.skip(why), null;
  }
  try {
    return require('playwright-core').chromium;
  } catch (err) {
    return t.skip(`playwright-core not installed: ${err.message}`), null;
  }
}

const num = (text) => Number(text.replace(/[^\d-]/g, ''));

/**
 * `heapsnap view FILES` in a headless Chromium page, loaded: `{ page, problems }` (script
 * errors and refused loads the page logged); null when the test was skipped.
 */
async function openView(t, files) {
  const chromium = browserOrSkip(t);
  if (!chromium) return null;
  const { url } = await startView(t, files);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(Number(process.env.HEAPSNAP_VIEW_TIMEOUT) || 120_000);
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, problems };
}

test('the page: Summary, instances, retainers, details, Comparison and dominators match the analyzer', async (t) => {
  const view = await openView(t, [A, B]);
  if (!view) return;
  const { page, problems } = view;
  const shots = tmpDir(null, 'heapsnap-view-shots-');
  t.diagnostic(`screenshots: ${shots}`);
  // Two snapshots: the first screen is the growth by holder, as `heapsnap leaks A B --json` has it.
  await page.waitForSelector('#view-growth:not([hidden]) #growth-table tbody tr');
  await assertGrowthScreen(page, JSON.parse(cli(['leaks', A, B, '--json']).stdout).holders);
  await page.click('[data-tab="summary"]');
  await page.waitForSelector('#summary-table tbody tr.class');

  // Summary of the last snapshot (the default), row for row, against the CLI's JSON.
  const summary = JSON.parse(cli(['summary', B, '--json']).stdout);
  const rendered = await page.$$eval('#summary-table tbody tr.class', (rows) => rows.slice(0, 40).map((tr) => ({
    name: tr.dataset.name,
    count: tr.querySelector('.count .num').textContent,
    selfSize: tr.querySelector('.self .num').textContent,
    retainedSize: tr.querySelector('.retained .num').textContent,
  })));
  assert.ok(rendered.length >= 40);
  assert.deepStrictEqual(
    rendered.map((r) => ({ name: r.name, count: num(r.count), selfSize: num(r.selfSize), retainedSize: num(r.retainedSize) })),
    summary.constructors.slice(0, 40),
  );
  const totals = await page.textContent('#summary-totals');
  assert.ok(totals.includes(summary.totalSize.toLocaleString('en-US')), totals);
  await page.screenshot({ path: path.join(shots, 'summary.png') });

  // Hostile names are text: the class named after the markup property is listed, nothing ran.
  await page.fill('#class-filter', '<img');
  await page.waitForFunction(() => [...document.querySelectorAll('#summary-table tbody tr.class')].every((tr) => tr.dataset.name.startsWith('{<img')));
  assert.deepStrictEqual(await page.$$eval('#summary-table tbody tr.class', (rows) => rows.map((tr) => tr.querySelector('.name').textContent)), [`▸{${EVIL}}`]);
  assert.strictEqual(await page.evaluate(() => globalThis.__pwned), undefined);
  assert.strictEqual(await page.$$eval('#summary-table img', (imgs) => imgs.length), 0);

  // Filter, expand a class: its instances, whose sizes add up to the class row's.
  await page.fill('#class-filter', 'ViewWidget');
  await page.waitForFunction(() => [...document.querySelectorAll('#summary-table tbody tr.class')].every((tr) => tr.dataset.name === 'ViewWidget'));
  assert.deepStrictEqual(await page.$$eval('#summary-table tbody tr.class', (rows) => rows.map((r) => r.dataset.name)), ['ViewWidget']);
  const widget = summary.constructors.find((c) => c.name === 'ViewWidget');
  assert.strictEqual(widget.count, 80);
  await page.click('#summary-table tr.class[data-name="ViewWidget"] .toggle');
  await page.waitForSelector('#summary-table tbody tr.object');
  const instances = await page.$$eval('#summary-table tbody tr.object', (rows) => rows.map((tr) => ({
    id: Number(tr.dataset.id),
    self: tr.querySelector('.self .num').textContent,
    retained: tr.querySelector('.retained .num').textContent,
  })));
  assert.strictEqual(instances.length, 80);
  assert.strictEqual(instances.reduce((s, r) => s + num(r.self), 0), widget.selfSize);
  const retainedSorted = instances.map((r) => num(r.retained));
  assert.deepStrictEqual(retainedSorted, [...retainedSorted].sort((x, y) => y - x), 'instances by retained size, largest first');

  // Retainers of the first instance: the rendered first level is `heapsnap retainers --json`'s
  // list (plus weak edges, marked), the preferred path opens by itself up to viewRegistry.
  const first = instances[0].id;
  await page.click(`#summary-table tr.object[data-id="${first}"]`);
  await page.waitForSelector('#retainers-table tr.retainer');
  await page.waitForSelector('#retainers-table tr.retainer[data-edge="viewRegistry"]');
  const cliRetainers = JSON.parse(cli(['retainers', B, '--id', String(first), '--json']).stdout);
  const level0 = await page.$$eval('#retainers-table tr.retainer[data-depth="0"]', (rows) => rows.map((tr) => ({
    id: Number(tr.dataset.id), edge: tr.dataset.edge, weak: tr.classList.contains('weak'), path: !!tr.querySelector('.tag.preferred'),
  })));
  const strong = level0.filter((r) => !r.weak);
  assert.deepStrictEqual(
    strong.map((r) => `${r.edge}@${r.id}`).sort(),
    cliRetainers.retainers.map((r) => `${r.edgeName}@${r.id}`).sort(),
  );
  assert.ok(level0[0].path, 'the preferred retainer comes first');
  const pathRow = await page.$eval('#retainers-table tr.retainer[data-edge="viewRegistry"]', (tr) => ({ path: !!tr.querySelector('.tag.preferred'), text: tr.textContent }));
  assert.ok(pathRow.path && /viewRegistry in global/.test(pathRow.text), pathRow.text);
  await page.waitForSelector('#details dd.title');
  assert.match(await page.textContent('#details dd.title'), new RegExp(`ViewWidget @${first}`));
  await page.screenshot({ path: path.join(shots, 'retainers.png') });

  // Hide the preferred holder (DevTools' "ignore this retainer"): it loses its lead and its
  // distance (nothing connects it to the roots now); "show all" brings the path back.
  const holder = level0[0].id;
  await page.hover(`#retainers-table tr.retainer[data-depth="0"][data-id="${holder}"]`);
  await page.click(`#retainers-table tr.retainer[data-depth="0"][data-id="${holder}"] button.hide`);
  await page.waitForSelector(`#retainers-hidden button[data-id="${holder}"]`);
  await page.waitForFunction((id) => {
    const tr = document.querySelector(`#retainers-table tr.retainer[data-depth="0"][data-id="${id}"]`);
    return tr && !tr.querySelector('.tag.preferred') && tr.querySelector('.distance').textContent === '–';
  }, holder);
  await page.screenshot({ path: path.join(shots, 'retainers-hidden.png') });
  await page.click('#retainers-hidden button.unhide-all');
  await page.waitForSelector(`#retainers-table tr.retainer[data-depth="0"][data-id="${holder}"] .tag.preferred`);
  assert.strictEqual(await page.textContent('#retainers-hidden'), '');

  // Details by @id: the EventEmitter's listeners, the Map's entries, the closure's variable.
  const snap = heapsnap.readSnapshot(B);
  const { SnapshotBrowser } = require(path.join(PKG, 'lib', 'analyzer', 'browse'));
  const browse = new SnapshotBrowser(snap);
  const classes = JSON.parse(browse.classes());
  const idOf = (name) => JSON.parse(browse.instances(classes.find((c) => c.name === name).key, { limit: 1 })).rows[0].id;
  const find = async (id) => {
    await page.fill('#search-id', `@${id}`);
    await page.click('#search button');
    await page.waitForFunction((want) => document.querySelector('#details dd.title')?.textContent.includes(`@${want}`), id);
  };
  await find(idOf('ViewHolder'));
  const listeners = await page.$$eval('#details .section', (sections) => sections.find((s) => s.querySelector('h3').textContent === 'Listeners by event')?.innerText);
  assert.match(listeners, /data\s+onData\(\) @\d+, onMoreData\(\) @\d+/);
  assert.match(listeners, /end\s+onEnd\(\) @\d+/);
  await page.screenshot({ path: path.join(shots, 'details-emitter.png') });
  const mapId = JSON.parse(browse.retainers(first)).rows.map((e) => e.node).find((n) => n.className === '(array)');
  assert.ok(mapId, 'a widget is held by the Map\'s table');
  const registry = JSON.parse(browse.retainers(mapId.id)).rows.find((e) => e.edgeName === 'table').node;
  await find(registry.id);
  const entries = await page.$$eval('#details .section', (sections) => sections.find((s) => s.querySelector('h3').textContent.startsWith('Map entries'))?.innerText);
  assert.match(entries, /^Map entries: 80/i);
  assert.match(entries, /"w0" @\d+\s+→ ViewWidget @\d+/);
  const captured = idOf('Captured');
  const context = JSON.parse(browse.retainers(captured)).rows.find((e) => e.edgeName === 'capturedThing').node;
  const closure = JSON.parse(browse.retainers(context.id)).rows.find((e) => e.edgeName === 'context' && e.node.nodeType === 'closure').node;
  assert.strictEqual(closure.name, 'useIt');
  await find(closure.id);
  const sectionText = (title) => page.$$eval('#details .section', (sections, t) => sections.find((s) => s.querySelector('h3').textContent === t)?.textContent, title);
  assert.match(await sectionText('Closure variables'), new RegExp(`capturedThingCaptured @${captured}`));
  assert.match(await sectionText('Source'), /:\d+:\d+$/);
  await page.screenshot({ path: path.join(shots, 'details-closure.png') });

  // A long string: the analyzer keeps its first bytes; the whole value comes back from the file.
  // The global object's class: 'global' (Node 18-24), 'global (global)' / 'global (global*)' (Node 26).
  const globals = classes.filter((c) => /^global( \(global\*?\))?$/.test(c.name)).flatMap((c) => JSON.parse(browse.instances(c.key, { limit: 10 })).rows);
  const long = globals.map((g) => JSON.parse(browse.edges(g.id, { limit: 1000 })).rows.find((e) => e.edgeName === 'viewLong')).find(Boolean).node;
  await find(long.id);
  assert.match(await sectionText('String value'), /^String valueL{100}…length/);
  assert.match(await sectionText('String value'), /length 593; the analyzer keeps the first bytes/);
  await page.click('#details button.full-string');
  await page.waitForFunction(() => document.querySelector('#details pre.value').textContent.endsWith('END'));
  assert.strictEqual(await page.textContent('#details pre.value'), `${'L'.repeat(590)}END`);

  // Comparison: B against A, row for row against `heapsnap diff --json`, and the new widgets.
  await page.click('[data-tab="comparison"]');
  await page.waitForSelector('#comparison-table tbody tr.class');
  const diff = JSON.parse(cli(['diff', A, B, '--json']).stdout);
  const cmpRows = await page.$$eval('#comparison-table tbody tr.class', (rows) => rows.slice(0, 30).map((tr) => ({
    name: tr.dataset.name,
    added: tr.querySelector('.added .num').textContent,
    removed: tr.querySelector('.removed .num').textContent,
    countDelta: tr.querySelector('.count-delta .num').textContent,
    sizeDelta: tr.querySelector('.size-delta .num').textContent,
  })));
  assert.deepStrictEqual(
    cmpRows.map((r) => ({ name: r.name, countDelta: num(r.countDelta), sizeDelta: num(r.sizeDelta), added: num(r.added), removed: num(r.removed) })),
    diff.constructors.slice(0, cmpRows.length),
  );
  const widgetDiff = diff.constructors.find((c) => c.name === 'ViewWidget');
  assert.deepStrictEqual([widgetDiff.added, widgetDiff.removed], [30, 0]);
  await page.click('#comparison-table tr.class[data-name="ViewWidget"] .toggle');
  await page.waitForSelector('#comparison-table tbody tr.object');
  const newIds = await page.$$eval('#comparison-table tbody tr.object', (rows) => rows.map((tr) => Number(tr.dataset.id)));
  assert.strictEqual(newIds.length, 30);
  const snapA = heapsnap.readSnapshot(A);
  const browseA = new SnapshotBrowser(snapA);
  for (const id of newIds) {
    assert.strictEqual(JSON.parse(browse.node(id)).className, 'ViewWidget');
    assert.throws(() => browseA.node(id), { code: 'ERR_HEAPSNAP_NODE_NOT_FOUND' }, `@${id} is new in B`);
  }
  // A class with both: a group row for each; the deleted object is one of A's, gone in B.
  const swap = diff.constructors.find((c) => c.name === 'ViewSwap');
  assert.deepStrictEqual([swap.added, swap.removed], [2, 1]);
  await page.click('#comparison-table tr.class[data-name="ViewSwap"] .toggle');
  await page.waitForSelector('#comparison-table tr.change-group.deleted');
  assert.deepStrictEqual(await page.$$eval('#comparison-table tr.change-group', (rows) => rows.map((tr) => tr.textContent)), ['▸New objects: 2', '▸Deleted objects: 1']);
  await page.click('#comparison-table tr.change-group.deleted');
  await page.waitForSelector('#comparison-table tr.object.deleted');
  const gone = await page.$$eval('#comparison-table tr.object.deleted', (rows) => rows.map((tr) => Number(tr.dataset.id)));
  assert.strictEqual(gone.length, 1);
  assert.strictEqual(JSON.parse(browseA.node(gone[0])).className, 'ViewSwap');
  assert.throws(() => browse.node(gone[0]), { code: 'ERR_HEAPSNAP_NODE_NOT_FOUND' }, `@${gone[0]} is gone in B`);
  await page.screenshot({ path: path.join(shots, 'comparison.png') });


  // Dominators: the root's children, largest first, as snap.dominators() lists them.
  await page.click('[data-tab="dominators"]');
  await page.waitForSelector('#dominators-table tbody tr.object');
  const domRows = await page.$$eval('#dominators-table tbody tr.object[data-depth="0"]', (rows) => rows.map((tr) => ({ id: Number(tr.dataset.id), retained: tr.querySelector('.retained .num').textContent })));
  const expected = snap.dominators(null, { limit: 100 });
  assert.deepStrictEqual(domRows.map((r) => ({ id: r.id, retained: num(r.retained) })), expected.map((d) => ({ id: d.id, retained: d.retainedSize })));
  // The largest that dominates others (the largest of all can be a leaf: a big buffer or string).
  const domHolder = await page.$$eval('#dominators-table tbody tr.object[data-depth="0"]', (rows) => Number(rows.find((tr) => tr.querySelector('.toggle').textContent !== '')?.dataset.id));
  assert.ok(Number.isSafeInteger(domHolder), 'some object under the root dominates others');
  await page.click(`#dominators-table tbody tr.object[data-depth="0"][data-id="${domHolder}"] .toggle`);
  await page.waitForSelector('#dominators-table tbody tr.object[data-depth="1"]');
  const kids = await page.$$eval('#dominators-table tbody tr.object[data-depth="1"]', (rows) => rows.map((tr) => Number(tr.dataset.id)));
  assert.deepStrictEqual(kids, JSON.parse(browse.dominated(domHolder, { limit: 100 })).rows.map((r) => r.id));
  await page.screenshot({ path: path.join(shots, 'dominators.png') });

  assert.deepStrictEqual(problems, [], 'no script errors and no refused loads in the page');
});

/** The growth table's rows equal `holders` (from `heapsnap leaks --json`): name, class, entries, growth. */
async function assertGrowthScreen(page, holders) {
  assert.ok(holders.length > 0, 'the fixture has a growing holder');
  const rows = await page.$$eval('#growth-table tbody tr.holder', (trs) => trs.map((tr) => ({
    name: tr.dataset.name,
    id: Number(tr.dataset.id),
    entries: tr.querySelector('.entries .num').textContent,
    added: tr.querySelector('.added-retained .num').textContent,
  })));
  assert.deepStrictEqual(
    rows.map((r) => ({ name: r.name, id: r.id, entries: r.entries.split(' → ').map(num), addedRetainedSize: num(r.added) })),
    holders.map((h) => ({ name: h.name, id: h.id, entries: h.entries, addedRetainedSize: h.addedRetainedSize })),
  );
  return rows;
}

test("the growth screen of express-session's MemoryStore leak: first row MemoryStore.sessions, its path on a click", async (t) => {
  const files = memoryStoreApp(fixtures);
  const view = await openView(t, files);
  if (!view) return;
  const { page, problems } = view;
  await page.waitForSelector('#view-growth:not([hidden]) #growth-table tbody tr.holder');
  const holders = JSON.parse(cli(['leaks', ...files, '--json']).stdout).holders;
  const rows = await assertGrowthScreen(page, holders);
  assert.strictEqual(rows[0].name, 'MemoryStore.sessions');
  await page.click('#growth-table tr.holder:first-child');
  await page.waitForSelector('#growth-table tr.leak-detail pre');
  const pathText = await page.textContent('#growth-table tr.leak-detail pre');
  assert.strictEqual(pathText, holders[0].retainerPath.join('\n  → '));
  assert.match(pathText, /MemoryStore/);
  const shots = tmpDir(null, 'heapsnap-view-shots-');
  t.diagnostic(`screenshot: ${path.join(shots, 'growth.png')}`);
  await page.screenshot({ path: path.join(shots, 'growth.png') });
  assert.deepStrictEqual(problems, []);
});

test('the Leaks tab (three snapshots) shows the groups of `heapsnap leaks --json`, with their paths', async (t) => {
  const view = await openView(t, [A, B, C]);
  if (!view) return;
  const { page, problems } = view;
  await page.click('[data-tab="leaks"]');
  await page.waitForSelector('#leaks-table tbody tr.leak');
  const cliLeaks = JSON.parse(cli(['leaks', A, B, C, '--json']).stdout).leaks;
  const rows = await page.$$eval('#leaks-table tbody tr.leak', (trs) => trs.map((tr) => ({
    name: tr.dataset.name, count: tr.querySelector('.count .num').textContent, size: tr.querySelector('.self .num').textContent, retainedSize: tr.querySelector('.retained .num').textContent,
  })));
  assert.deepStrictEqual(rows.map((r) => ({ name: r.name, count: num(r.count), size: num(r.size), retainedSize: num(r.retainedSize) })), cliLeaks.map(({ name, count, size, retainedSize }) => ({ name, count, size, retainedSize })));
  const widget = cliLeaks.find((g) => g.name === 'ViewWidget');
  assert.strictEqual(widget.count, 30, 'the widgets added between A and B, alive in C');
  await page.click('#leaks-table tr.leak[data-name="ViewWidget"]');
  await page.waitForSelector('#leaks-table tr.leak-detail pre');
  const pathText = await page.textContent('#leaks-table tr.leak-detail pre');
  assert.strictEqual(pathText, widget.retainerPath.join('\n  → '));
  assert.match(pathText, /viewRegistry/);
  await page.waitForSelector('#details dd.title');
  assert.match(await page.textContent('#details dd.title'), /^ViewWidget @\d+$/);
  const shots = tmpDir(null, 'heapsnap-view-shots-');
  t.diagnostic(`screenshot: ${path.join(shots, 'leaks.png')}`);
  await page.screenshot({ path: path.join(shots, 'leaks.png') });
  assert.deepStrictEqual(problems, []);
});
