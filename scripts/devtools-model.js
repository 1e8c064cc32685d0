#!/usr/bin/env node
'use strict';
// Runs Chrome DevTools' own heap snapshot model (chrome-devtools-frontend's HeapSnapshot.ts,
// the code behind the Memory panel's Summary view) on a snapshot file, in Node, and prints
// its Summary as JSON: `{ source, nodeCount, totalSize, constructors: [{ name, location?,
// count, selfSize, retainedSize, distance }] }`, largest retained size first.
//
// It is the reference the analyzer's parity test compares with
// (crates/heapsnap-core/tests/fixtures/node20-pruned.devtools.json) and DevTools' loader in
// the benchmarks. The first run fetches chrome-devtools-frontend from the npm registry and
// bundles HeapSnapshot.ts for Node with esbuild, both into .cache/devtools/.
//
// With --heapprofile it reads a sampling heap profile (.heapprofile) with DevTools' own
// SamplingHeapProfileModel (panels/profiler/HeapProfileView.ts, the Memory panel's allocation
// sampling view) and prints `{ source, total, sites: [{ functionName, url, line, column,
// self, total }] }`: sites keyed by DevTools' callUID, largest self size first, line and
// column 1-based; `total` is the model root's.
//
//   node scripts/devtools-model.js FILE[.gz] [--out FILE.json] [--source TEXT]
//   node scripts/devtools-model.js --heapprofile FILE[.gz] [--top N] [--out FILE.json]

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { execFileSync } = require('node:child_process');
const { parseArgs } = require('node:util');

const FRONTEND = 'chrome-devtools-frontend@1.0.1705227';
const ESBUILD = 'esbuild@0.28.2';
const CACHE = path.join(__dirname, '..', '.cache', 'devtools');
const bundleFile = (name) => path.join(CACHE, `${FRONTEND.replace(/[@/]/g, '-')}-${name}.mjs`);
const PROFILER = 'package/front_end/panels/profiler';

// What each bundle exports, written into the unpacked package (`work`) as an entry file.
const ENTRIES = {
  loader(work) {
    const worker = './package/front_end/entrypoints/heap_snapshot_worker';
    return `export { SecondaryInitManager } from '${worker}/HeapSnapshot.ts';\nexport { HeapSnapshotLoader } from '${worker}/HeapSnapshotLoader.ts';\n`;
  },
  // HeapProfileView.ts drags in the whole panel UI (lit, CSS, custom elements): not loadable
  // in Node. Its two model classes are cut out of the file verbatim, between the markers
  // below, and bundled with the ProfileTreeModel they extend; a moved marker fails the build.
  heapprofile(work) {
    const view = fs.readFileSync(path.join(work, PROFILER, 'HeapProfileView.ts'), 'utf8');
    const start = view.indexOf('export class SamplingHeapProfileNode ');
    const end = view.indexOf('export class NodeFormatter ');
    if (start < 0 || end < start) throw new Error(`SamplingHeapProfileModel not found in ${FRONTEND}'s HeapProfileView.ts`);
    fs.writeFileSync(path.join(work, PROFILER, 'SamplingHeapProfileModel.ts'),
      "import * as CPUProfile from '../../models/cpu_profile/cpu_profile.js';\n" +
      "import type * as Protocol from '../../generated/protocol.js';\n\n" + view.slice(start, end));
    return `export { SamplingHeapProfileModel } from './${PROFILER}/SamplingHeapProfileModel.ts';\n`;
  },
};

function run(command, args, cwd) {
  execFileSync(command, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** A bundled model (`loader` or `heapprofile`), built once: npm pack the frontend, esbuild it. */
function bundle(name = 'loader') {
  const bundled = bundleFile(name);
  if (fs.existsSync(bundled)) return bundled;
  fs.mkdirSync(CACHE, { recursive: true });
  const work = fs.mkdtempSync(path.join(CACHE, 'build-'));
  try {
    process.stderr.write(`devtools-model: fetching ${FRONTEND} and bundling its ${name} model (once)\n`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    run(npm, ['pack', FRONTEND, '--pack-destination', work, '--silent'], work);
    const tarball = fs.readdirSync(work).find((name) => name.endsWith('.tgz'));
    run('tar', ['xzf', tarball, 'package/front_end'], work);
    // A file DevTools' build generates; the model only needs i18n to load, in English.
    fs.writeFileSync(path.join(work, 'package/front_end/core/i18n/locales.js'),
      "export const LOCALES = ['en-US']; export const BUNDLED_LOCALES = ['en-US']; export const DEFAULT_LOCALE = 'en-US';\n" +
      "export const LOCAL_FETCH_PATTERN = ''; export const REMOTE_FETCH_PATTERN = '';\n");
    const entry = path.join(work, 'entry.ts');
    fs.writeFileSync(entry, ENTRIES[name](work));
    const out = `${bundled}.tmp`;
    run(npm, ['exec', '--yes', `--package=${ESBUILD}`, '--', 'esbuild', entry, '--bundle', '--platform=node', '--format=esm', '--log-level=error', `--outfile=${out}`], work);
    fs.renameSync(out, bundled);
    return bundled;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** `file` as a text stream, gunzipped when its magic bytes say gzip. */
function openText(file) {
  const magic = Buffer.alloc(2);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, magic, 0, 2, 0);
  fs.closeSync(fd);
  let stream = fs.createReadStream(file);
  if (magic[0] === 0x1f && magic[1] === 0x8b) stream = stream.pipe(zlib.createGunzip());
  stream.setEncoding('utf8');
  return stream;
}

/** Feeds `file` (plain or gzip) to DevTools' streaming loader in text chunks, as the panel does. */
async function feed(loader, file) {
  for await (const chunk of openText(file)) loader.write(chunk);
  loader.close();
}

// DevTools targets current Chrome; Node 20 lacks this one (Node >= 22 has it).
Promise.withResolvers ??= function withResolvers() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => [resolve, reject] = [res, rej]);
  return { promise, resolve, reject };
};

/** DevTools' Summary of `file`: every class with its count, self and retained size. */
async function devtoolsSummary(file) {
  const { pathToFileURL } = require('node:url');
  const { HeapSnapshotLoader, SecondaryInitManager } = await import(pathToFileURL(bundle()).href);
  // DevTools reports unreachable nodes on the console: not ours to print.
  const warn = console.warn;
  console.warn = () => {};
  // The Memory panel's path: the loader parses the stream, a second "thread" (here a
  // MessageChannel, as DevTools' own tests do) computes dominators and retained sizes.
  const loader = new HeapSnapshotLoader({ sendEvent() {} });
  await feed(loader, file);
  const channel = new MessageChannel();
  new SecondaryInitManager(channel.port2);
  let snapshot;
  try {
    // Rejects with the loader's own error (its parse swallows it until here, e.g. V8's
    // "Invalid string length" when the strings section is longer than a string may be).
    snapshot = await loader.buildSnapshot(channel.port1);
  } finally {
    // Open ports keep the process alive: without this a failed load hangs instead of exiting.
    channel.port1.close();
    channel.port2.close();
    console.warn = warn;
  }
  // DevTools splits objects of one constructor name by the constructor's location: such
  // classes are keyed `scriptId,line,column,name` (HeapSnapshotNode.classKeyInternal).
  const constructors = Object.entries(snapshot.aggregatesWithFilter({}))
    .map(([key, aggregate]) => {
      const located = /^(\d+),(\d+),(\d+),/.exec(key);
      return {
        name: aggregate.name,
        ...(located && { location: { scriptId: Number(located[1]), line: Number(located[2]), column: Number(located[3]) } }),
        count: aggregate.count,
        selfSize: aggregate.self,
        retainedSize: aggregate.maxRet,
        distance: aggregate.distance,
      };
    })
    .sort((a, b) => b.retainedSize - a.retainedSize || a.name.localeCompare(b.name));
  return { nodeCount: snapshot.nodeCount, totalSize: snapshot.totalSize, constructors };
}

/** DevTools' model of a `.heapprofile`: the root's total and the `top` sites by self size. */
async function devtoolsHeapProfile(file, { top = 20 } = {}) {
  const { pathToFileURL } = require('node:url');
  const { SamplingHeapProfileModel } = await import(pathToFileURL(bundle('heapprofile')).href);
  let text = '';
  for await (const chunk of openText(file)) text += chunk;
  // As the panel loads a saved profile: the JSON as is, no sample range.
  const model = new SamplingHeapProfileModel(JSON.parse(text));
  // One site a callUID (function, script, line, column), the key DevTools' Bottom-Up view
  // merges a function's nodes by; totals are summed once per site, not per recursive frame.
  const sites = new Map();
  const visit = (node, onStack) => {
    let site = sites.get(node.callUID);
    if (!site) {
      const { functionName, url, lineNumber, columnNumber } = node.callFrame;
      site = { functionName, url, line: lineNumber + 1, column: columnNumber + 1, self: 0, total: 0 };
      sites.set(node.callUID, site);
    }
    site.self += node.self;
    const outer = onStack.has(node.callUID);
    if (!outer) site.total += node.total;
    onStack.add(node.callUID);
    for (const child of node.children) visit(child, onStack);
    if (!outer) onStack.delete(node.callUID);
  };
  for (const child of model.root.children) visit(child, new Set());
  const ranked = [...sites.values()].sort((a, b) => b.self - a.self || b.total - a.total);
  return { total: model.total, sites: ranked.slice(0, top) };
}

async function main() {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: {
    out: { type: 'string' }, source: { type: 'string' }, heapprofile: { type: 'boolean' }, top: { type: 'string' },
  } });
  if (positionals.length !== 1) {
    process.stderr.write('usage: node scripts/devtools-model.js FILE[.gz] [--out FILE.json] [--source TEXT]\n' +
      '       node scripts/devtools-model.js --heapprofile FILE[.gz] [--top N] [--out FILE.json] [--source TEXT]\n');
    return 2;
  }
  if (values.heapprofile) {
    const model = await devtoolsHeapProfile(positionals[0], { top: values.top === undefined ? 20 : Number(values.top) });
    const source = values.source ?? `${FRONTEND} SamplingHeapProfileModel (HeapProfileView.ts) on ${path.basename(positionals[0])}`;
    const { sites, ...totals } = model;
    const text = `${JSON.stringify({ source, ...totals }).slice(0, -1)},"sites":[\n${sites.map((s) => JSON.stringify(s)).join(',\n')}\n]}\n`;
    if (values.out) fs.writeFileSync(values.out, text);
    else process.stdout.write(text);
    return 0;
  }
  const summary = await devtoolsSummary(positionals[0]);
  const source = values.source ?? `${FRONTEND} HeapSnapshotLoader + HeapSnapshot.ts (aggregatesWithFilter({})) on ${path.basename(positionals[0])}`;
  // One constructor per line, as the committed fixture is: reviewable diffs.
  const { constructors, ...totals } = summary;
  const head = JSON.stringify({ source, ...totals });
  const text = `${head.slice(0, -1)},"constructors":[\n${constructors.map((c) => JSON.stringify(c)).join(',\n')}\n]}\n`;
  if (values.out) fs.writeFileSync(values.out, text);
  else process.stdout.write(text);
  return 0;
}

if (require.main === module) {
  main().then((code) => { process.exitCode = code; }, (err) => { console.error(`devtools-model: ${err.stack || err}`); process.exitCode = 1; });
}

module.exports = { devtoolsSummary, devtoolsHeapProfile, bundle };
