'use strict';
// Sampling heap profiles: startSamplingHeapProfiler / stopSamplingHeapProfiler (the writer
// addon, src/profile.rs). Reading them back is lib/analyzer/profile.js.
//
// Defaults are those of `node --heap-prof` (and DevTools' "Allocation sampling"): a sample
// about every 512 KiB allocated, stacks up to 128 frames, only objects still alive.

const { threadId } = require('worker_threads');
const { writer } = require('../loader/native');
const { checkOptions } = require('./options');
const { invalidOption } = require('../errors');

const DEFAULT_INTERVAL = 512 * 1024;
const DEFAULT_STACK_DEPTH = 128;
const MAX_STACK_DEPTH = 1024;

const START_OPTIONS = { interval: 'count', stackDepth: 'count', includeCollected: 'boolean' };
const STOP_OPTIONS = { path: 'string', dir: 'string', compress: 'compress', level: 'integer' };

/** Starts this thread's sampling heap profiler (one per thread). */
function startSamplingHeapProfiler(options) {
  const checked = checkOptions('startSamplingHeapProfiler', options, START_OPTIONS);
  const interval = checked.interval ?? DEFAULT_INTERVAL;
  const stackDepth = checked.stackDepth ?? DEFAULT_STACK_DEPTH;
  if (interval < 1) throw invalidOption(`startSamplingHeapProfiler: option 'interval' must be at least 1 byte, got ${interval}`);
  if (stackDepth < 1 || stackDepth > MAX_STACK_DEPTH) {
    throw invalidOption(`startSamplingHeapProfiler: option 'stackDepth' must be 1 to ${MAX_STACK_DEPTH}, got ${stackDepth}`);
  }
  writer().startSamplingHeapProfiler({ interval, stackDepth, includeCollected: checked.includeCollected ?? false });
}

/**
 * Stops this thread's profiler and writes its `.heapprofile`; resolves to
 * `{ path, bytes, rawBytes, compression, samples, sampledBytes, durationMs }`.
 */
async function stopSamplingHeapProfiler(options) {
  const checked = checkOptions('stopSamplingHeapProfiler', options, STOP_OPTIONS);
  return writer().stopSamplingHeapProfiler({ ...checked, threadId });
}

module.exports = {
  DEFAULT_INTERVAL,
  DEFAULT_STACK_DEPTH,
  startSamplingHeapProfiler,
  stopSamplingHeapProfiler,
};
