'use strict';
// The interactive viewer's queries on a snapshot (lib/viewer/api.js asks them, one page of
// rows at a time). The native analyzer answers each as JSON text, which the viewer sends to
// the page as it is: no JS object per row (see crates/heapsnap-analyzer/src/view.rs).
//
// Shapes (camelCase, sizes in bytes, ids as DevTools shows them, @N):
//   row:   { id, name, className, nodeType, selfSize, retainedSize, distance, dominated }
//   edge:  { edgeType, edgeName, weak, preferred, node: row }
//   page:  { total, offset, rows }
//   class: { key, name, location?, count, selfSize, retainedSize, distance }
// `distance` is DevTools' (hops from the GC roots; >= 100000000 for objects only V8's own
// roots reach, -5 for none).

const nodePath = require('node:path');
const { analyzer } = require('../loader/native');
const { nativeOf, shapeError, Snapshot } = require('./analyze');
const { invalidOption } = require('../errors');

const SORTS = new Set(['id', 'distance', 'selfSize', 'retainedSize']);
const MAX_LIMIT = 1000;

function count(fn, name, value, max = 0xffffffff) {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw invalidOption(`${fn}: ${name} must be an integer from 0 to ${max}, got ${value}`);
  }
  return value;
}

function id(fn, value) {
  if (!Number.isSafeInteger(value) || value < 0) throw invalidOption(`${fn}: id must be a non-negative integer, got ${value}`);
  return value;
}

/** `{ offset = 0, limit = 100 }`, checked. */
function range(fn, { offset = 0, limit = 100 } = {}) {
  return [count(fn, 'offset', offset), count(fn, 'limit', limit, MAX_LIMIT)];
}

/** `{ sort = 'retainedSize', descending = true, offset, limit }`, checked. */
function listing(fn, options = {}) {
  const { sort = 'retainedSize', descending = true } = options;
  if (!SORTS.has(sort)) throw invalidOption(`${fn}: sort must be one of ${[...SORTS].join(', ')}, got ${sort}`);
  if (typeof descending !== 'boolean') throw invalidOption(`${fn}: descending must be a boolean, got ${typeof descending}`);
  return [sort, descending, ...range(fn, options)];
}

/** The viewer's questions to one snapshot; every method returns JSON text. */
class SnapshotBrowser {
  constructor(snapshot) {
    this.native = nativeOf('SnapshotBrowser', snapshot, 'snapshot');
    this.path = snapshot.path;
  }

  /** Computes what the queries need, on the libuv pool (resolves when done). */
  prepare() {
    return this.native.viewPrepare();
  }

  /** The Summary's classes (same order as `summary()`), with keys and distances: JSON array. */
  classes() {
    return this.native.viewClasses();
  }

  /** A page of the instances of class `key`: JSON page of rows. */
  instances(key, options) {
    return this.native.viewInstances(count('instances', 'key', key), ...listing('instances', options));
  }

  /** One object as a row (`ERR_HEAPSNAP_NODE_NOT_FOUND` when the id is not in the snapshot). */
  node(nodeId) {
    return this.native.viewNode(id('node', nodeId));
  }

  /** A page of the edges holding the object: preferred path first, then by distance; weak ones last. */
  retainers(nodeId, options) {
    return this.native.viewRetainers(id('retainers', nodeId), ...range('retainers', options));
  }

  /**
   * The Retainers view with the objects `nodeIds` hidden (DevTools' "ignore this retainer"):
   * `{ retainers(nodeId, { offset, limit }) }`, ranked by distances recomputed without them
   * (a pass over the whole graph, so keep the result while the set stays the same).
   */
  ignoring(nodeIds) {
    if (!Array.isArray(nodeIds)) throw invalidOption(`ignoring: nodeIds must be an array, got ${typeof nodeIds}`);
    const view = this.native.viewIgnoring(nodeIds.map((n) => id('ignoring', n)));
    return { retainers: (nodeId, options) => view.retainers(id('retainers', nodeId), ...range('retainers', options)) };
  }

  /** A page of the edges the object holds, in the snapshot's order. */
  edges(nodeId, options) {
    return this.native.viewEdges(id('edges', nodeId), ...range('edges', options));
  }

  /** A page of the objects `nodeId` (the root when null) dominates, largest retained first. */
  dominated(nodeId, options) {
    return this.native.viewDominated(nodeId === null ? undefined : id('dominated', nodeId), ...range('dominated', options));
  }

  /**
   * The whole value of string object `nodeId` when the snapshot keeps only its first bytes,
   * read back from the file (one pass over it: seconds on a big compressed file): resolves
   * to the string, or null when `details()` already has all of it.
   */
  fullString(nodeId) {
    // Absolute: the WebAssembly analyzer's WASI has a working directory of its own.
    return this.native.viewFullString(nodePath.resolve(this.path), id('fullString', nodeId));
  }

  /** String value, closure variables and source, Map/Set entries, array elements, listeners. */
  details(nodeId) {
    return this.native.viewDetails(id('details', nodeId));
  }
}

/**
 * Reads a snapshot for browsing, all on the libuv pool: parse, summary, and what the queries
 * use. `progress` (from `readProgress()`) tells how far the read is meanwhile. Resolves to a
 * Snapshot (the analyzer's usual JS object).
 */
async function readForBrowsing(path, progress) {
  if (typeof path !== 'string' || path === '') throw invalidOption('readForBrowsing: path must be a non-empty string');
  try {
    return new Snapshot(await analyzer().viewReadAsync(path, progress), path);
  } catch (err) {
    throw shapeError(err);
  }
}

/** A progress handle for `readForBrowsing`: `{ bytesRead, fileBytes }`, live. */
function readProgress() {
  return new (analyzer().NativeReadProgress)();
}

/**
 * A page of the objects of class `{ name, location }` in snapshot `other` that are not
 * objects of that class in `base` (new objects; with the two swapped, deleted ones).
 */
function objectsNotIn(base, other, { name, location }, options) {
  if (typeof name !== 'string') throw invalidOption(`objectsNotIn: name must be a string, got ${typeof name}`);
  return analyzer().viewObjectsNotIn(
    nativeOf('objectsNotIn', base, 'base'),
    nativeOf('objectsNotIn', other, 'other'),
    name,
    location ?? undefined,
    ...listing('objectsNotIn', options),
  );
}

module.exports = { SnapshotBrowser, objectsNotIn, readForBrowsing, readProgress };
