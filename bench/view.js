#!/usr/bin/env node
'use strict';
// `heapsnap view` benchmark: how long until the Summary shows, how long each click takes to
// answer, and the server's memory, on one snapshot.
//
//   node bench/view.js [--heap-mb 100 | --file FILE] [--clicks 20] [--keep DIR] [--no-browser]
//
// The snapshot is bench/analyze.js's heap of small records, closures and a Map (100 MB of V8
// heap: a ~155 MB file), or any FILE. The real CLI (`heapsnap view --no-open FILE`) runs as a
// child; then:
// - time to Summary: from starting the CLI until the page (headless Debian chromium through
//   playwright-core, when both are here) shows the Summary's rows; without a browser, until
//   the API's Summary answered; then until the indexes behind the retainers are built (the
//   server builds them after the Summary shows: a click that needs them sooner waits);
// - clicks (once the indexes are done): the API requests the page makes for a click, each timed from request to last byte
//   over loopback: expand a class (instances, first page of 100), select an object
//   (retainers + details + edges), open a dominator tree level; median and max;
// - memory: the server's peak RSS (VmHWM) after loading and after the clicks, and its RSS.

const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const { spawn } = require('child_process');
const { parseArgs } = require('util');
const { buildSnapshot } = require('./analyze');

const ROOT = path.resolve(__dirname, '..');
const { values: args } = parseArgs({
  options: {
    'heap-mb': { type: 'string', default: '100' },
    file: { type: 'string' },
    clicks: { type: 'string', default: '20' },
    keep: { type: 'string' },
    'no-browser': { type: 'boolean', default: false },
  },
});

function get(url) {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (res.statusCode !== 200) return reject(new Error(`${url}: ${res.statusCode} ${body}`));
        resolve({ ms, body: JSON.parse(body), bytes: Buffer.byteLength(body) });
      });
    }).on('error', reject);
  });
}

function memory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)[1]) * 1024;
  return { rss: kb('VmRSS'), peakRss: kb('VmHWM') };
}

const mib = (n) => `${(n / 2 ** 20).toFixed(0)} MiB`;
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};

function browser() {
  if (args['no-browser'] || !fs.existsSync('/usr/bin/chromium')) return null;
  try {
    return require('playwright-core').chromium;
  } catch {
    return null;
  }
}

async function main() {
  let file = args.file;
  const dir = args.keep || fs.mkdtempSync(path.join(os.tmpdir(), 'heapsnap-bench-view-'));
  if (!file) {
    file = path.join(dir, `heap-${args['heap-mb']}mb.heapsnapshot`);
    if (!fs.existsSync(file)) {
      process.stderr.write(`building a ${args['heap-mb']} MB heap and its snapshot...\n`);
      buildSnapshot(Number(args['heap-mb']), file);
    }
  }
  const fileBytes = fs.statSync(file).size;
  const chromium = browser();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'heapsnap.js'), 'view', '--no-open', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const since = () => Number(process.hrtime.bigint() - started) / 1e6;
  try {
    const url = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => ((out += d), out.includes('\n') && resolve(out.split('\n')[0])));
      child.once('exit', (code) => reject(new Error(`heapsnap view exited ${code}`)));
    });
    let summaryMs;
    let page;
    let closeBrowser = async () => {};
    if (chromium) {
      const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
      closeBrowser = () => b.close();
      page = await b.newPage({ viewport: { width: 1400, height: 900 } });
      page.setDefaultTimeout(600_000);
      await page.goto(url);
      await page.waitForSelector('#summary-table tbody tr.class');
      summaryMs = since();
    } else {
      for (;;) {
        const { body } = await get(`${url}api/status`);
        if (body.ready) break;
        if (body.snapshots.some((s) => s.state === 'failed')) throw new Error(JSON.stringify(body.snapshots));
        await new Promise((r) => setTimeout(r, 50));
      }
      await get(`${url}api/summary?s=0`);
      summaryMs = since();
    }
    // The indexes behind retainers are built after the Summary shows; the first click that
    // needs them waits. Clicks are measured once they are done (when that was is reported).
    while ((await get(`${url}api/status`)).body.indexedMs === null) await new Promise((r) => setTimeout(r, 50));
    const indexedMs = since();
    const loaded = memory(child.pid);
    const summary = (await get(`${url}api/summary?s=0`)).body;
    const clicks = Number(args.clicks);
    const expand = [];
    const select = [];
    const dominators = [];
    const classes = summary.classes.slice(0, clicks);
    for (const c of classes) {
      const inst = await get(`${url}api/instances?s=0&key=${c.key}&offset=0`);
      expand.push(inst.ms);
      const id = inst.body.rows[0].id;
      // A selection asks these three at once.
      const t0 = process.hrtime.bigint();
      await Promise.all(['retainers', 'details', 'edges'].map((r) => get(`${url}api/${r}?s=0&id=${id}`)));
      select.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const root = await get(`${url}api/dominated?s=0`);
    dominators.push(root.ms);
    for (const row of root.body.rows.slice(0, clicks)) dominators.push((await get(`${url}api/dominated?s=0&id=${row.id}`)).ms);
    const after = memory(child.pid);
    await closeBrowser();
    const result = {
      file: path.basename(file),
      fileBytes,
      nodeCount: summary.nodeCount,
      edgeCount: summary.edgeCount,
      classes: summary.classes.length,
      timeToSummaryMs: Math.round(summaryMs),
      timeToIndexesMs: Math.round(indexedMs),
      measuredIn: chromium ? 'chromium (rows visible)' : 'API (Summary answered)',
      clicksMs: { expandClass: stats(expand), selectObject: stats(select), dominatorLevel: stats(dominators) },
      server: { peakRssAfterLoad: loaded.peakRss, peakRssAfterClicks: after.peakRss, rssAfterClicks: after.rss },
      node: process.version,
      cpus: os.cpus().length,
    };
    console.log(JSON.stringify(result, null, 2));
    process.stderr.write(
      `${result.file} (${mib(fileBytes)}, ${result.nodeCount.toLocaleString('en-US')} nodes): Summary in ${(summaryMs / 1000).toFixed(1)} s (${result.measuredIn}), indexes in ${(indexedMs / 1000).toFixed(1)} s; ` +
        `expand ${result.clicksMs.expandClass.median.toFixed(0)}/${result.clicksMs.expandClass.max.toFixed(0)} ms, select ${result.clicksMs.selectObject.median.toFixed(0)}/${result.clicksMs.selectObject.max.toFixed(0)} ms, ` +
        `dominators ${result.clicksMs.dominatorLevel.median.toFixed(0)}/${result.clicksMs.dominatorLevel.max.toFixed(0)} ms (median/max); server peak RSS ${mib(after.peakRss)}\n`,
    );
  } finally {
    child.kill('SIGINT');
    if (!args.keep && !args.file) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
