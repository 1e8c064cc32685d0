'use strict';
// The `.heapprofile` readers behind `heapsnap top` and `heapsnap diff A.heapprofile B.heapprofile`
// (the analyzer addon, so they work on any Node >= 18). Writing them is lib/writer/profile.js.

const { analyzer } = require('../loader/native');
const { invalidOption } = require('../errors');

function checkPath(fn, file) {
  if (typeof file !== 'string' || file === '') throw invalidOption(`${fn}: path must be a non-empty string, got ${typeof file}`);
}

function checkTop(fn, top) {
  if (top !== undefined && (!Number.isSafeInteger(top) || top < 0)) throw invalidOption(`${fn}: top must be a non-negative integer`);
}

/** Allocation sites of a `.heapprofile` (plain, .gz, .zst): `{ totalSize, samples, sites }`. */
function readHeapProfileTop(file, { top } = {}) {
  checkPath('heapProfileTop', file);
  checkTop('heapProfileTop', top);
  return analyzer().heapProfileTop(file, top);
}

/** Sites whose live bytes grew from profile `a` to `b`: `{ totalDelta, sites }`. */
function diffHeapProfiles(a, b, { top } = {}) {
  checkPath('heapProfileDiff', a);
  checkPath('heapProfileDiff', b);
  checkTop('heapProfileDiff', top);
  return analyzer().heapProfileDiff(a, b, top);
}

module.exports = { readHeapProfileTop, diffHeapProfiles };
