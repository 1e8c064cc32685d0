'use strict';
// onNearHeapLimit: a snapshot just before an out-of-memory crash.

const { writer } = require('../loader/native');
const { WRITE_OPTIONS, checkOptions, toNative } = require('./options');

const SCHEMA = {
  path: WRITE_OPTIONS.path,
  dir: WRITE_OPTIONS.dir,
  compress: WRITE_OPTIONS.compress,
  level: WRITE_OPTIONS.level,
  redact: WRITE_OPTIONS.redact,
  force: WRITE_OPTIONS.force,
  memoryLimit: WRITE_OPTIONS.memoryLimit,
  memoryFile: WRITE_OPTIONS.memoryFile,
  maxDumps: 'count',
  quiet: 'boolean',
};

/**
 * When V8 is about to run out of heap, writes a snapshot (raising the limit just enough to
 * take it), up to `maxDumps` times (default 1); then the process dies as it would have.
 * `maxDumps: 0` disarms it. Default name: heapdump-<ms>.<seq>.heapsnapshot in `dir` or the cwd.
 */
function onNearHeapLimit(options) {
  const { maxDumps = 1, quiet = false, ...write } = checkOptions('onNearHeapLimit', options, SCHEMA);
  writer().onNearHeapLimit(toNative(write, { heapdumpDefault: write.path === undefined }), quiet, maxDumps);
}

module.exports = { onNearHeapLimit };
