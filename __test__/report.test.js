'use strict';
// The HTML report: written by `heapsnap report` and writeReport() from real snapshots of a
// child process with a real leak (and hostile class and property names), checked as text
// (the leak, its chain, escaping, nothing loaded from the network), then rendered in
// headless Chromium: the DOM after the page's script ran, and a screenshot.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { pathToFileURL } = require('url');
const { spawnSync } = require('child_process');
const heapsnap = require('heapsnap');
const { PKG, tmpDir, runNode } = require('./helpers');
const { renderReport } = require(path.join(PKG, 'lib', 'analyzer', 'report'));

const CLI = path.join(PKG, 'bin', 'heapsnap.js');
const EVIL_PROP = '<img src=x onerror=alert(1)>';
const EVIL_CLASS = '</script><script>alert(1)</script>';

function cli(args, options = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, ...options });
}

// A, then 200 LeakySessions into a global Map, B, 200 more, C. Alongside, objects whose
// class name (V8 names plain objects after their properties) and holding property name are
// markup. The snapshots live in a folder whose name is markup too (it shows in the header).
const fixtures = tmpDir(null, 'heapsnap-report-');
process.on('exit', () => fs.rmSync(fixtures, { recursive: true, force: true }));
const snapDir = path.join(fixtures, 'snaps <b>&"it\'s"');
fs.mkdirSync(snapDir);
{
  const r = runNode(`const heapsnap = require(${JSON.stringify(PKG)});
const path = require('path'); const file = (n) => path.join(${JSON.stringify(snapDir)}, n);
class LeakySession { constructor(i) { this.id = 'session-' + i; this.user = { name: 'user' + i }; this.buf = new Array(32).fill(i); } }
globalThis.sessionCache = new Map();
globalThis.hostile = { [${JSON.stringify(EVIL_PROP)}]: [] };
const grow = (from) => {
  for (let i = from; i < from + 200; i++) {
    sessionCache.set('k' + i, new LeakySession(i));
    hostile[${JSON.stringify(EVIL_PROP)}].push({ [${JSON.stringify(EVIL_CLASS)}]: new Array(8).fill(i) });
  }
};
for (const [name, n] of [['a', 0], ['b', 200], ['c', 400]]) {
  if (n) grow(n - 200);
  if (!heapsnap.writeSnapshot(file(name + '.heapsnapshot'), { gc: true })) process.exit(1);
}`, { env: { HEAPSNAP_OPTIONS: 'nosignal' } });
  assert.strictEqual(r.status, 0, `child failed: ${r.stderr}`);
}
const [A, B, C] = ['a', 'b', 'c'].map((n) => path.join(snapDir, `${n}.heapsnapshot`));

const ALLOWED_TAGS = new Set(
  'html head meta title style body header main section footer nav div p h1 h2 h3 span small b i a input table thead tbody tr th td ol li article script svg g rect line text'.split(' '),
);

/**
 * Structural checks that hold for any report: every tag is one the renderer writes (heap
 * text cannot open tags), one script, no attribute or stylesheet that loads anything.
 */
function checkPage(html) {
  assert.match(html, /^<!DOCTYPE html>/);
  for (const [, name] of html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9-]*)/g)) {
    assert.ok(ALLOWED_TAGS.has(name.toLowerCase()), `unexpected tag <${name}>`);
  }
  assert.strictEqual(html.match(/<script/gi).length, 1, 'exactly one (inline) script');
  assert.match(html, /<script>\n\(function/, 'the script is inline');
  // Attributes: no event handlers, nothing that fetches, in-page links only. (Attribute
  // values are quoted and escaped, so a value never ends a tag early.)
  for (const [tag, attrs] of html.matchAll(/<[a-zA-Z][a-zA-Z0-9-]*((?:\s+[^\s"'>/=]+(?:="[^"]*")?)*)\s*\/?>/g)) {
    for (const [, name, value = ''] of attrs.matchAll(/\s+([^\s"'>/=]+)(?:="([^"]*)")?/g)) {
      assert.ok(!/^(on|src|srcset|action|formaction|background|poster|data$|xlink:href|ping)/i.test(name), `attribute ${name} in ${tag}`);
      if (name === 'href') assert.match(value, /^#/, `in-page link only: ${tag}`);
      if (name === 'style') assert.doesNotMatch(value, /url\(/i, tag);
    }
  }
  for (const [, css] of html.matchAll(/<style>([\s\S]*?)<\/style>/g)) assert.doesNotMatch(css, /url\(|@import|@font-face|https?:/i, 'the stylesheet loads nothing');
  assert.doesNotMatch(html, /<link/i);
  // Every tag parsed as one (an unquoted or unterminated value would not).
  assert.strictEqual([...html.matchAll(/<[a-zA-Z]/g)].length, [...html.matchAll(/<[a-zA-Z][a-zA-Z0-9-]*((?:\s+[^\s"'>/=]+(?:="[^"]*")?)*)\s*\/?>/g)].length, 'all tags well-formed');
  assert.match(html, /http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;/, 'CSP forbids the network');
}

test('renderReport escapes class names, property names and paths', () => {
  const html = renderReport({
    files: [
      { path: `/tmp/${EVIL_CLASS}/a.heapsnapshot`, nodeCount: 10, edgeCount: 20, totalSize: 1000 },
      { path: '/tmp/"quoted" & \'single\'.heapsnapshot', nodeCount: 12, edgeCount: 24, totalSize: 1500 },
      { path: '/tmp/c.heapsnapshot', nodeCount: 14, edgeCount: 28, totalSize: 2000 },
    ],
    summary: {
      nodeCount: 14,
      edgeCount: 28,
      totalSize: 2000,
      constructors: [
        { name: EVIL_CLASS, count: 3, selfSize: 300, retainedSize: 900 },
        { name: EVIL_PROP, count: 1, selfSize: 100, retainedSize: 100 },
      ],
    },
    diff: {
      constructors: [{ name: EVIL_CLASS, countDelta: 2, sizeDelta: 200, added: 2, removed: 0, addedSize: 200, removedSize: 0 }],
      addedIds: [1, 2],
      removedIds: [],
    },
    leaks: [{
      name: EVIL_CLASS,
      count: 2,
      size: 200,
      retainedSize: 600,
      representativeId: 7,
      retainerPath: ['(GC roots)', 'global', 'holder (property)', 'Object', `${EVIL_PROP} (property)`, 'Array', '[0] (element)', EVIL_CLASS],
    }],
  });
  checkPage(html);
  assert.ok(!html.includes(EVIL_CLASS), 'class name not raw');
  assert.ok(!html.includes(EVIL_PROP), 'property name not raw');
  assert.ok(!html.includes('"quoted"'), 'quotes in paths escaped');
  assert.ok(html.includes('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;'), 'class name shown, escaped');
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), 'property name shown, escaped');
  assert.ok(html.includes('&quot;quoted&quot; &amp; &#39;single&#39;'), 'path shown, escaped');
  // The chain: one hop per line, edge names highlighted, the leaking class emphasized.
  const chain = /<ol class="chain">([\s\S]*?)<\/ol>/.exec(html)[1];
  assert.strictEqual(chain.match(/<li/g).length, 5, 'root + 4 hops');
  assert.match(chain, /<span class="edge"[^>]*>holder<\/span><span class="etype">property<\/span>/);
  assert.match(chain, /<span class="edge"[^>]*>&lt;img src=x onerror=alert\(1\)&gt;<\/span>/);
  assert.match(chain, /<li class="last">.*<span class="node target"[^>]*>&lt;\/script&gt;/);
  // Growth is red, and a two-snapshot page explains the missing leak section.
  assert.match(html, /<td class="n up" data-v="200">\+200 B<\/td>/);
  const two = renderReport({ files: ['a', 'b'], summary: { totalSize: 0, constructors: [] }, diff: { constructors: [] }, leaks: null });
  checkPage(two);
  assert.match(two, /Leak detection needs three snapshots/);
});

test('renderReport keeps a million-hop retainer chain to its first and last hops', () => {
  const path = ['(GC roots)', 'List'];
  for (let i = 1; i <= 1_000_000; i++) path.push('next (property)', i === 1_000_000 ? 'Leaky' : `Node${i}`);
  const html = renderReport({
    files: [{ path: 'a', nodeCount: 1, edgeCount: 1, totalSize: 1 }, { path: 'b', nodeCount: 1, edgeCount: 1, totalSize: 1 }, { path: 'c', nodeCount: 1, edgeCount: 1, totalSize: 1 }],
    summary: { totalSize: 1, constructors: [] },
    diff: { constructors: [] },
    leaks: [{ name: 'Leaky', count: 1, size: 8, retainedSize: 8, retainerPath: path }],
  });
  checkPage(html);
  assert.ok(html.length < 100_000, `page of ${html.length} bytes`);
  const chain = /<ol class="chain">([\s\S]*?)<\/ol>/.exec(html)[1];
  assert.strictEqual(chain.match(/<li/g).length, 1 + 1 + 30 + 1, 'root, the node under it, 30 hops, one elision line');
  assert.match(chain, /Node9</, 'first hops shown');
  assert.doesNotMatch(chain, /Node11</, 'the middle is elided');
  assert.match(chain, /\u2026 999,970 more hops \u2026/);
  assert.match(chain, /Node999999</, 'last hops shown');
  assert.match(chain, /<li class="last">.*<span class="node target"[^>]*>Leaky</);
});

let reportFile;

test('heapsnap report A B C: leak groups with retainer chains, summary, diff, chart', () => {
  const out = path.join(fixtures, 'report.html');
  const r = cli(['report', A, B, C, '-o', out]);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.stdout, `${out}\n`, 'prints the path');
  const html = fs.readFileSync(out, 'utf8');
  checkPage(html);

  // The leak group, and its chain through the global Map.
  const leaksSection = /<section id="leaks">([\s\S]*?)<\/section>/.exec(html)[1];
  const card = new RegExp('<article class="leak" data-name="LeakySession">([\\s\\S]*?)</article>').exec(leaksSection);
  assert.ok(card, 'a LeakySession leak group');
  assert.match(card[1], /<b>200<\/b> objects/);
  assert.match(card[1], /<span class="edge"[^>]*>sessionCache<\/span><span class="etype">property<\/span>/);
  assert.match(card[1], /<span class="node target"[^>]*>LeakySession<\/span>/);

  // The hostile names were really in the heap (so escaping was exercised) and stayed text.
  const evilGroup = `{${EVIL_CLASS}}`;
  const groups = [...leaksSection.matchAll(/<article class="leak[^"]*" data-name="([^"]*)"/g)].map((m) => m[1]);
  assert.ok(groups.includes(evilGroup.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])), `hostile class among the leak groups: ${groups}`);
  assert.ok(leaksSection.includes('&lt;img src=x onerror=alert(1)&gt;</span><span class="etype">property'), 'hostile edge name in a chain');
  assert.ok(!html.includes(EVIL_CLASS) && !html.includes(EVIL_PROP), 'no raw markup from the heap');
  assert.ok(html.includes('snaps &lt;b&gt;&amp;&quot;it&#39;s&quot;'), 'the folder name, escaped');

  // The other sections.
  assert.match(html, /<section id="summary">[\s\S]*<td class="name" data-v="LeakySession"/);
  assert.match(html, /<section id="diff"><h2>Diff A → C[\s\S]*data-name="LeakySession"><td[^>]*>LeakySession<\/td><td class="n" data-v="400">400<\/td>/);
  assert.match(html, /<svg class="chart"[\s\S]*<\/svg>/);
  assert.strictEqual(html.match(/<span class="tag">[ABC]<\/span>/g).length, 3, 'three snapshots in the header');
  reportFile = out;
});

test('writeReport from JS, two snapshots, default output path, --top, bad input', async (t) => {
  const dir = tmpDir(t);
  const res = await heapsnap.writeReport([A, B], { output: path.join(dir, 'two.html'), top: 5 });
  assert.strictEqual(res.path, path.join(dir, 'two.html'));
  assert.strictEqual(res.leaks, null);
  const html = fs.readFileSync(res.path, 'utf8');
  checkPage(html);
  assert.match(html, /Diff A → B/);
  assert.match(html, /Leak detection needs three snapshots/);
  const summaryRows = /<section id="summary">([\s\S]*?)<\/section>/.exec(html)[1].match(/<tr data-name=/g);
  assert.strictEqual(summaryRows.length, 5, '--top 5');

  const three = await heapsnap.writeReport([A, B, C], { output: path.join(dir, 'three.html') });
  assert.ok(three.leaks.some((g) => g.name === 'LeakySession' && g.count === 200));

  // The CLI's default output is heapsnap-report.html in the working directory.
  const r = cli(['report', A, B, C], { cwd: dir });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.stdout.trim(), path.join(fs.realpathSync(dir), 'heapsnap-report.html'));
  assert.ok(fs.statSync(path.join(dir, 'heapsnap-report.html')).size > 10_000);

  for (const args of [['report', A], ['report', A, B, C, A], ['report', A, B, '--json'], ['report', A, B, '--top', '0'],
    ['summary', A, '-o', path.join(dir, 'x.html')], ['report', A, path.join(dir, 'missing.heapsnapshot')]]) {
    const bad = cli(args);
    assert.strictEqual(bad.status, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, /^heapsnap: (ERR_HEAPSNAP_INVALID_OPTION|ENOENT)/);
  }
  await assert.rejects(heapsnap.writeReport([A]), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
  await assert.rejects(heapsnap.writeReport([A, B], { top: 0 }), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
});

/** Debian's chromium (or another Chromium on PATH), or null. */
function findChromium() {
  for (const bin of ['/usr/bin/chromium', 'chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0) return bin;
  }
  return null;
}

function chromium(bin, args) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'heapsnap-chromium-'));
  try {
    return spawnSync(bin, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${profile}`, ...args,
    ], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

test('the report renders in headless Chromium from file://', (t) => {
  assert.ok(reportFile, 'the report test wrote the page');
  const bin = findChromium();
  if (!bin) {
    const why = 'chromium not found (Debian: apt-get install -y chromium; .ci/run installs it)';
    if (process.env.CI) assert.fail(`${why}: the report cannot be checked in a browser`);
    t.skip(why);
    return;
  }
  const url = pathToFileURL(reportFile).href;

  // The DOM after the page's script ran.
  const dom = chromium(bin, ['--dump-dom', url]);
  assert.strictEqual(dom.status, 0, `chromium --dump-dom failed: ${dom.stderr}`);
  const html = dom.stdout;
  assert.match(html, /<html lang="en" data-js="ready">/, 'the inline script ran to the end (CSP hash matches)');
  assert.match(html, /<article class="leak" data-name="LeakySession">[\s\S]*?>sessionCache<\/span>/);
  assert.match(html, /<svg class="chart"[\s\S]*<rect[\s\S]*<\/svg>/);
  assert.strictEqual(html.match(/<script/g).length, 1, 'no script element came from the heap');
  assert.doesNotMatch(html, /<img/, 'no element came from the heap');
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the hostile name is shown as text');

  // And what it looks like.
  const png = path.join(fixtures, 'report.png');
  const shot = chromium(bin, [`--screenshot=${png}`, '--window-size=1280,2000', '--hide-scrollbars', url]);
  assert.strictEqual(shot.status, 0, `chromium --screenshot failed: ${shot.stderr}`);
  const bytes = fs.readFileSync(png);
  assert.ok(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'a PNG');
  assert.deepStrictEqual([bytes.readUInt32BE(16), bytes.readUInt32BE(20)], [1280, 2000], 'the window size');
  assert.ok(bytes.length > 50_000, `a real page, not a blank one (${bytes.length} bytes)`);
  if (process.env.HEAPSNAP_KEEP_SCREENSHOT) fs.copyFileSync(png, process.env.HEAPSNAP_KEEP_SCREENSHOT);
});
