'use strict';
// `heapsnap view`'s JSON API: the snapshots, loaded once into the native analyzer and kept
// in this process, and the page's questions about them (./server.js routes `api/<name>`
// here). Each answer is one page of about 100 rows, as DevTools' own worker protocol serves
// its grids, so the page stays small whatever the snapshot.
//
// Routes (query parameters; `s`, `a`, `b` are snapshot indices in command-line order):
//   status                               loading state of each snapshot
//   summary?s                            totals and the Summary's classes (all of them)
//   instances?s&key&sort&desc&offset     a class's instances (sort: id|distance|selfSize|retainedSize)
//   node?s&id                            one object (the @id search)
//   retainers?s&id&offset[&ignore=1,2]   who holds it: preferred path first, then by distance;
//                                        `ignore`: retainers hidden (their distances recomputed)
//   edges?s&id&offset                    what it holds
//   details?s&id                         string value, closure, Map/Set entries, array, listeners
//   string?s&id                          a string's whole value, read back from the file ({ value })
//   dominated?s[&id]&offset              dominator tree children (root without id), largest first
//   diff?a&b                             Comparison by constructor, from a (base) to b
//   objects?a&b&name[&loc]&sort&desc&offset   objects of a class in b that are not in a (new)
//   leaks?a&b&c                          three-snapshot leak groups, as `heapsnap leaks --json` (+ representativeId)
//   growth?a&b[&c]                       growth by holder, as `heapsnap leaks --json`'s holders
// Errors: `{ code, message }` with 400 (bad parameter), 404 (no such object), 409 (still loading).

const { leaks, holders } = require('../analyzer/analyze');
const { SnapshotBrowser, objectsNotIn, readForBrowsing, readProgress } = require('../analyzer/browse');
const { heapsnapError } = require('../errors');

const PAGE = 100;

function bad(message) {
  return heapsnapError('ERR_HEAPSNAP_INVALID_OPTION', message);
}

/** Query parameter `name` as a non-negative integer (`fallback` when absent). */
function integer(params, name, fallback) {
  const text = params.get(name);
  if (text === null || text === '') {
    if (fallback === undefined) throw bad(`missing parameter '${name}'`);
    return fallback;
  }
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw bad(`parameter '${name}' must be a non-negative integer, got '${text}'`);
  return Number(text);
}

/** Query parameter `name` as a comma-separated list of ids (sorted, no duplicates; [] when absent). */
function ids(params, name) {
  const text = params.get(name);
  if (!text) return [];
  if (!/^\d+(,\d+)*$/.test(text)) throw bad(`parameter '${name}' must be comma-separated ids, got '${text}'`);
  return [...new Set(text.split(',').map(Number))].sort((x, y) => x - y);
}

/** The page and sort parameters of a list: `{ sort, descending, offset, limit }`. */
function listing(params) {
  return {
    sort: params.get('sort') || 'retainedSize',
    descending: params.get('desc') !== '0',
    offset: integer(params, 'offset', 0),
    limit: Math.min(integer(params, 'limit', PAGE), 1000),
  };
}

/** `loc=scriptId,line,column` (a class's constructor location), or undefined. */
function location(params) {
  const text = params.get('loc');
  if (!text) return undefined;
  const m = /^(\d+),(\d+),(\d+)$/.exec(text);
  if (!m) throw bad(`parameter 'loc' must be scriptId,line,column, got '${text}'`);
  return { scriptId: Number(m[1]), line: Number(m[2]), column: Number(m[3]) };
}

/** The snapshots of one `heapsnap view`, loaded in the background, and the API over them. */
class ApiSession {
  constructor(files) {
    this.started = Date.now();
    this.entries = files.map((file, index) => ({ index, file, state: 'waiting', ms: null, progress: null, snapshot: null, browser: null, summary: null, error: null }));
    this.diffs = new Map();
    this.leakGroups = new Map();
    this.growthRows = new Map();
  }

  /**
   * Loads the snapshots one after the other (one read's peak memory at a time), each read and
   * analyzed up to its Summary on the libuv pool (`status` tells how far); rejects with the
   * first failure. Then, without holding the Summary back, builds the indexes clicks use
   * (retainers, ids, preferred paths) on the pool too (`this.indexed` resolves when done).
   */
  async load() {
    for (const entry of this.entries) {
      const start = Date.now();
      try {
        entry.state = 'reading';
        entry.progress = readProgress();
        entry.snapshot = await readForBrowsing(entry.file, entry.progress);
        entry.browser = new SnapshotBrowser(entry.snapshot);
        const { nodeCount, edgeCount, totalSize } = entry.snapshot.summary({ top: 0 });
        entry.summary = `{"file":${JSON.stringify(entry.file)},"nodeCount":${nodeCount},"edgeCount":${edgeCount},"totalSize":${totalSize},"classes":${entry.browser.classes()}}`;
        entry.state = 'ready';
        entry.ms = Date.now() - start;
      } catch (err) {
        entry.state = 'failed';
        entry.error = { code: err.code || 'ERR_HEAPSNAP_INTERNAL', message: String(err.message).split('\n')[0] };
        throw err;
      }
    }
    // A failure here (the WebAssembly analyzer out of memory) comes back to the click that
    // needs the index, as that query's own error; nothing to report twice.
    this.indexed = (async () => {
      for (const entry of this.entries) await entry.browser.prepare();
      this.indexedMs = Date.now() - this.started;
    })().catch(() => {});
  }

  status() {
    return {
      elapsedMs: Date.now() - this.started,
      ready: this.entries.every((e) => e.state === 'ready'),
      // When the indexes clicks use were done (ms from the start), null before.
      indexedMs: this.indexedMs ?? null,
      snapshots: this.entries.map(({ index, file, state, ms, error, progress }) => ({
        index,
        file,
        // Reading ends where the file does; analysis follows (dominators, classes, indexes).
        state: state === 'reading' && progress && progress.fileBytes > 0 && progress.bytesRead >= progress.fileBytes ? 'analyzing' : state,
        ms,
        error,
        bytesRead: progress ? progress.bytesRead : 0,
        fileBytes: progress ? progress.fileBytes : 0,
      })),
    };
  }

  /** The ready snapshot named by parameter `name` (`s`, `a`, `b`...). */
  entry(params, name) {
    const index = integer(params, name);
    const entry = this.entries[index];
    if (!entry) throw bad(`no snapshot ${index}: there are ${this.entries.length}`);
    if (entry.state !== 'ready') throw heapsnapError('ERR_HEAPSNAP_VIEW_LOADING', `snapshot ${index} is ${entry.state}`);
    return entry;
  }

  diff(params) {
    const a = this.entry(params, 'a');
    const b = this.entry(params, 'b');
    const key = `${a.index},${b.index}`;
    if (!this.diffs.has(key)) {
      const { constructors, addedCount, removedCount } = a.snapshot.diff(b.snapshot, { ids: false });
      this.diffs.set(key, JSON.stringify({ addedCount, removedCount, constructors }));
    }
    return this.diffs.get(key);
  }

  /** The three-snapshot technique's groups (objects allocated between a and b, alive in c). */
  leaks(params) {
    const [a, b, c] = ['a', 'b', 'c'].map((name) => this.entry(params, name));
    const key = `${a.index},${b.index},${c.index}`;
    if (!this.leakGroups.has(key)) this.leakGroups.set(key, JSON.stringify({ leaks: leaks(a.snapshot, b.snapshot, c.snapshot) }));
    return this.leakGroups.get(key);
  }

  /**
   * Growth by holder: the collections whose entries grew in every interval from a to b (to c),
   * largest growth first, each with its path (read/holders.rs; `heapsnap leaks` prints the same).
   */
  growth(params) {
    const series = ['a', 'b', ...(params.get('c') === null ? [] : ['c'])].map((name) => this.entry(params, name));
    const key = series.map((entry) => entry.index).join(',');
    if (!this.growthRows.has(key)) this.growthRows.set(key, JSON.stringify({ rows: holders(...series.map((entry) => entry.snapshot)) }));
    return this.growthRows.get(key);
  }

  /** Answers `api/<route>`: resolves to `{ status, body }` with a JSON body. */
  async handle(route, params) {
    try {
      return { status: 200, body: await this.answer(route, params) };
    } catch (err) {
      const code = err.code || 'ERR_HEAPSNAP_INTERNAL';
      const status = { ERR_HEAPSNAP_INVALID_OPTION: 400, ERR_HEAPSNAP_NODE_NOT_FOUND: 404, ERR_HEAPSNAP_UNKNOWN_ROUTE: 404, ERR_HEAPSNAP_VIEW_LOADING: 409 }[code] ?? 500;
      return { status, body: JSON.stringify({ code, message: String(err.message).split('\n')[0] }) };
    }
  }

  answer(route, params) {
    switch (route) {
      case 'status':
        return JSON.stringify(this.status());
      case 'summary':
        return this.entry(params, 's').summary;
      case 'instances':
        return this.entry(params, 's').browser.instances(integer(params, 'key'), listing(params));
      case 'node':
        return this.entry(params, 's').browser.node(integer(params, 'id'));
      case 'retainers': {
        const entry = this.entry(params, 's');
        const ignore = ids(params, 'ignore');
        if (ignore.length === 0) return entry.browser.retainers(integer(params, 'id'), listing(params));
        // One hidden set per snapshot at a time: the page changes it by a click, then expands.
        const key = ignore.join(',');
        if (entry.ignoring?.key !== key) entry.ignoring = { key, view: entry.browser.ignoring(ignore) };
        return entry.ignoring.view.retainers(integer(params, 'id'), listing(params));
      }
      case 'edges':
        return this.entry(params, 's').browser.edges(integer(params, 'id'), listing(params));
      case 'details':
        return this.entry(params, 's').browser.details(integer(params, 'id'));
      case 'string':
        return this.entry(params, 's').browser.fullString(integer(params, 'id')).then((value) => JSON.stringify({ value }));
      case 'dominated': {
        const id = params.get('id') ? integer(params, 'id') : null;
        return this.entry(params, 's').browser.dominated(id, listing(params));
      }
      case 'diff':
        return this.diff(params);
      case 'objects': {
        const name = params.get('name');
        if (name === null) throw bad("missing parameter 'name'");
        const base = this.entry(params, 'a');
        const other = this.entry(params, 'b');
        return objectsNotIn(base.snapshot, other.snapshot, { name, location: location(params) }, listing(params));
      }
      case 'leaks':
        return this.leaks(params);
      case 'growth':
        return this.growth(params);
      default:
        throw heapsnapError('ERR_HEAPSNAP_UNKNOWN_ROUTE', `no API route '${route}'`);
    }
  }
}

module.exports = { ApiSession };
