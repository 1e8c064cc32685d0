'use strict';
// onNearHeapLimit: a snapshot just before an out-of-memory crash.

const { writer } = require('../loader/native');
const { WRITE_OPTIONS, checkOptions, toNative } = require('./options');
const { listenToNativeDumps } = require('./events');
const { splitUpload, arm, dumpDir } = require('../upload/after-dump');

const SCHEMA = {
  path: WRITE_OPTIONS.path,
  dir: WRITE_OPTIONS.dir,
  compress: WRITE_OPTIONS.compress,
  level: WRITE_OPTIONS.level,
  redact: WRITE_OPTIONS.redact,
  force: WRITE_OPTIONS.force,
  memoryLimit: WRITE_OPTIONS.memoryLimit,
  memoryFile: WRITE_OPTIONS.memoryFile,
  upload: WRITE_OPTIONS.upload,
  keepLocal: WRITE_OPTIONS.keepLocal,
  uploadPathStyle: WRITE_OPTIONS.uploadPathStyle,
  maxDumps: 'count',
  quiet: 'boolean',
};

/**
 * When V8 is about to run out of heap, writes a snapshot (raising the limit just enough to
 * take it), up to `maxDumps` times (default 1); then the process dies as it would have.
 * `maxDumps: 0` disarms it. Default name: heapdump-<ms>.<seq>.heapsnapshot in `dir` or the cwd.
 * With `upload`, the file goes to object storage, by this process if it lives long enough,
 * else by the next one started with the same setting.
 */
function onNearHeapLimit(options) {
  const { maxDumps = 1, quiet = false, ...checked } = checkOptions('onNearHeapLimit', options, SCHEMA);
  const { upload, write } = splitUpload(checked);
  writer().onNearHeapLimit(toNative(write, { heapdumpDefault: write.path === undefined }), quiet, maxDumps);
  // The process usually dies right after this dump, before JS hears of it: the journal written
  // now (lib/upload/journal.js) lets the next process with the same `upload` send the file;
  // arming also sends what an earlier process left in this directory.
  arm('near-heap-limit', upload, dumpDir(write), { quiet });
  if (upload) listenToNativeDumps();
}

module.exports = { onNearHeapLimit };
