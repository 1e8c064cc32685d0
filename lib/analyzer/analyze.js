'use strict';
// The analyzer's JS API: argument checks and error shaping over the native NativeSnapshot.
// Results are plain objects whose shapes match the CLI's `--json` output (DESIGN.md).

const { analyzer } = require('../loader/native');
const { invalidOption } = require('../errors');

/** Adds `offset` (decompressed byte position) to corrupt-snapshot errors, from the message. */
function shapeError(err) {
  if (err && err.code === 'ERR_HEAPSNAP_CORRUPT_SNAPSHOT' && err.offset === undefined) {
    const m = /\(at byte (\d+)\)/.exec(err.message);
    if (m) err.offset = Number(m[1]);
  }
  return err;
}

function checkPath(fn, path) {
  if (typeof path !== 'string' || path === '') {
    throw invalidOption(`${fn}: path must be a non-empty string, got ${path === '' ? 'an empty string' : typeof path}`);
  }
}

function checkId(fn, id) {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw invalidOption(`${fn}: nodeId must be a non-negative integer, got ${typeof id === 'number' ? id : typeof id}`);
  }
}

const NATIVE = Symbol('heapsnap.native');

function unwrap(fn, snap, what = 'argument') {
  if (!(snap instanceof Snapshot)) {
    throw invalidOption(`${fn}: ${what} must be a snapshot from readSnapshot()/readSnapshotAsync()`);
  }
  return snap[NATIVE];
}

/** A parsed heap snapshot. */
class Snapshot {
  constructor(handle, path) {
    this[NATIVE] = handle;
    this.path = path;
  }

  get nodeCount() {
    return this[NATIVE].nodeCount;
  }

  get edgeCount() {
    return this[NATIVE].edgeCount;
  }

  /**
   * DevTools' Summary view: `{ nodeCount, edgeCount, totalSize, constructors: [{ name, count,
   * selfSize, retainedSize }] }`, constructors by retained size, all of them or the first `top`.
   */
  summary(options) {
    let top;
    if (options !== undefined && options !== null) {
      if (typeof options !== 'object') throw invalidOption(`summary: options must be an object, got ${typeof options}`);
      top = options.top;
      if (top !== undefined && (!Number.isSafeInteger(top) || top < 0 || top > 0xffffffff)) {
        throw invalidOption(`summary: top must be a non-negative integer, got ${top}`);
      }
    }
    return this[NATIVE].summary(top);
  }

  /**
   * Changes from this snapshot to `other` (taken later in the same process):
   * `{ constructors: [{ name, countDelta, sizeDelta, added, removed, addedSize, removedSize }],
   * addedCount, removedCount, addedIds, removedIds }`; with `{ ids: false }` the two id lists
   * are empty (between multi-GB snapshots they can hold tens of millions of numbers).
   */
  diff(other, options = {}) {
    if (options === null || typeof options !== 'object') throw invalidOption(`diff: options must be an object, got ${options === null ? 'null' : typeof options}`);
    const { ids = true } = options;
    if (typeof ids !== 'boolean') throw invalidOption(`diff: ids must be a boolean, got ${typeof ids}`);
    return this[NATIVE].diff(unwrap('diff', other, 'other'), ids);
  }

  /** The edges holding node `nodeId`: `[{ id, name, className, nodeType, edgeType, edgeName, selfSize, retainedSize }]`. */
  retainers(nodeId) {
    checkId('retainers', nodeId);
    return this[NATIVE].retainers(nodeId);
  }

  /**
   * Where the object `nodeId` was allocated: frames `[{ functionName, url, line, column }]`,
   * innermost first (1-based lines), or `null` when the snapshot has no allocation traces
   * (see `hasAllocationTraces`) or the object was allocated before tracking started.
   */
  allocationStack(nodeId) {
    checkId('allocationStack', nodeId);
    return this[NATIVE].allocationStack(nodeId);
  }

  /** Whether V8 recorded allocation stacks when it took this snapshot. */
  get hasAllocationTraces() {
    return this[NATIVE].hasAllocationTraces;
  }

  /** Who holds the objects of class `name`: `[{ className, edgeType, edgeName, count }]`, most common first. */
  retainersByClass(name) {
    if (typeof name !== 'string') throw invalidOption(`retainersByClass: name must be a string, got ${typeof name}`);
    return this[NATIVE].retainersByClass(name);
  }

  /**
   * With a node id: its dominator chain, the node first and the root last. Without: the
   * largest objects directly under the root of the dominator tree (at most `limit`, 100).
   * Entries: `{ id, name, className, selfSize, retainedSize }`.
   */
  dominators(nodeId, { limit = 100 } = {}) {
    if (nodeId === undefined || nodeId === null) {
      if (!Number.isSafeInteger(limit) || limit < 0) throw invalidOption(`dominators: limit must be a non-negative integer, got ${limit}`);
      return this[NATIVE].dominated(undefined, Math.min(limit, 0xffffffff));
    }
    checkId('dominators', nodeId);
    return this[NATIVE].dominators(nodeId);
  }
}

/** Reads a snapshot (`.heapsnapshot`, `.gz`, `.zst`) on this thread. */
function readSnapshot(path, { onProgress } = {}) {
  checkPath('readSnapshot', path);
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw invalidOption(`readSnapshot: onProgress must be a function, got ${typeof onProgress}`);
  }
  try {
    return new Snapshot(analyzer().NativeSnapshot.read(path, onProgress), path);
  } catch (err) {
    throw shapeError(err);
  }
}

/** Reads a snapshot and computes its retained sizes on the libuv pool. */
async function readSnapshotAsync(path) {
  checkPath('readSnapshotAsync', path);
  try {
    return new Snapshot(await analyzer().readSnapshotAsync(path), path);
  } catch (err) {
    throw shapeError(err);
  }
}

/**
 * The three-snapshot technique, unranked: objects allocated between `a` and `b` and still
 * alive in `c`, by constructor, largest self size first:
 * `[{ name, count, size, retainedSize, representativeId, retainerPath, holds: [{ name, count, size }],
 * allocationStacks: [{ count, size, frames }] }]` (`allocationStacks` empty unless C has allocation traces).
 */
function leakCandidates(a, b, c) {
  return analyzer().leaks(unwrap('leaks', a, 'a'), unwrap('leaks', b, 'b'), unwrap('leaks', c, 'c'));
}

// Classes V8 and the runtime grow by themselves while code runs (compiled code, feedback,
// shapes, internal arrays, strings V8 interns): rarely the thing to fix on their own. A real
// leak of user objects shows up in the user classes that hold them.
const RUNTIME_CLASSES = new Set([
  '(compiled code)',
  '(system)',
  '(object shape)',
  '(array)',
  '(string)',
  '(concatenated string)',
  '(sliced string)',
  '(number)',
  '(symbol)',
  '(bigint)',
  '(hidden)',
  '(synthetic)',
  '(native)',
]);

function isRuntimeClass(name) {
  return RUNTIME_CLASSES.has(name) || name.startsWith('system / ');
}

/**
 * Leak groups in the order a person should read them: user classes by what they retain,
 * runtime noise (`runtime: true`: strings, compiled code, V8 internals) after them. The
 * analyzer has already put objects held by another group's members under that group
 * (`holds`). `keep` drops groups (leakCheck keeps only real, growing user classes).
 */
function rankLeaks(groups, keep = () => true) {
  return groups
    .map((group) => ({ ...group, runtime: isRuntimeClass(group.name) }))
    .filter(keep)
    .sort((x, y) => x.runtime - y.runtime || y.retainedSize - x.retainedSize || y.size - x.size || (x.name < y.name ? -1 : 1));
}

/** Leak groups, ranked for reading (see `rankLeaks`). */
function leaks(a, b, c) {
  return rankLeaks(leakCandidates(a, b, c));
}

/**
 * Growth by holder: across two or three snapshots of one process (oldest first), the
 * collections (objects used as dictionaries, arrays, Maps, Sets; their V8 backing stores
 * counted in them) that grew in every interval and shrank in none, largest growth first
 * (bytes the growth keeps alive: what the entries added since `a` retain in the newest
 * snapshot, plus the collection's own growth):
 * `[{ name, className, id, entries, size, entriesGrowth, sizeGrowth, retainedSize,
 * addedRetainedSize, retainerPath }]`, `name` as code spells the access (`MemoryStore.sessions`),
 * `entries` and `size` one number per snapshot.
 */
function holders(a, b, c) {
  const native = analyzer();
  return native.holders(unwrap('holders', a, 'a'), unwrap('holders', b, 'b'), c === undefined ? undefined : unwrap('holders', c, 'c'));
}

// nativeOf: the native handle of a snapshot (for lib/analyzer/browse.js), with the usual argument check.
module.exports = { readSnapshot, readSnapshotAsync, leaks, leakCandidates, rankLeaks, isRuntimeClass, holders, Snapshot, nativeOf: unwrap, shapeError };
