'use strict';
// `heapsnap.watch(options)`: the process watches its own memory and dumps when a rule's line
// is crossed (see rules.js for the rules), and with `statsFile` logs every sample
// (stats-log.js). A timer samples every `interval` seconds (5 by
// default; unref'd, so it never keeps the process alive): `process.memoryUsage()`, V8's heap
// limit, the cgroup's usage and limit, and the heap left after each full GC (v8.GCProfiler).
// Sampling costs microseconds; the dump itself goes through writeSnapshotAsync (headroom and
// free-space checks, `background` when asked), and its memory record says which rules fired
// and the samples that led there.
//
// One watch per thread: a second `watch()` replaces the first.

const v8 = require('v8');
const { monitorEventLoopDelay } = require('perf_hooks');
const { writer } = require('../loader/native');
const { ASYNC_WRITE_OPTIONS, checkOptions, checkValue, toNative } = require('../writer/options');
const { writeAsync } = require('../writer/write');
const { emitDump } = require('../writer/events');
const { heapsnapError, invalidOption } = require('../errors');
const { parseRule, RuleState } = require('./rules');
const { StatsLog, gcKind } = require('./stats-log');
const registry = require('../operator/registry');
const { parseEnv } = require('../writer/signal');
const { splitUpload, uploadDump } = require('../upload/after-dump');

const DEFAULT_INTERVAL_S = 5;
const DEFAULT_COOLDOWN_S = 30;
const DEFAULT_MAX_DUMPS = 5;
const DEFAULT_REARM = 0.9;
/** Samples kept for the memory record: the last minute at the default interval. */
const SAMPLES_KEPT = 12;

const WATCH_OPTIONS = {
  ...ASYNC_WRITE_OPTIONS,
  interval: 'seconds',
  cooldown: 'seconds',
  maxDumps: 'count',
  quiet: 'boolean',
  statsFile: 'string',
  statsMaxBytes: 'bytes',
};

let current = null;

/** The cgroup's limit and usage from the native writer; null without one (or without it). */
function cgroupMemory() {
  if (process.platform !== 'linux') return null;
  try {
    return writer().cgroupMemory() ?? null;
  } catch {
    return null;
  }
}

/** One sample of the process's memory, in bytes (`time` in ms since the epoch). */
function sample() {
  const usage = process.memoryUsage();
  const cgroup = cgroupMemory();
  return {
    time: Date.now(),
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    heapLimit: v8.getHeapStatistics().heap_size_limit,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    cgroupUsage: cgroup ? cgroup.usage : null,
    cgroupLimit: cgroup ? cgroup.limit : null,
  };
}

/**
 * The GCs since the last call (v8.GCProfiler): the heap used after each full (mark-compact)
 * GC, the floors growth rules watch, and count and time per kind for the memory log.
 */
class GcTracker {
  constructor() {
    this.profiler = new v8.GCProfiler();
    this.profiler.start();
  }

  take() {
    const { statistics = [] } = this.profiler.stop() || {};
    this.profiler.start();
    const floors = [];
    const byKind = {};
    for (const gc of statistics) {
      if (gc.gcType === 'MarkSweepCompact') floors.push(gc.afterGC.heapStatistics.usedHeapSize);
      const kind = (byKind[gcKind(gc.gcType)] ??= { count: 0, ms: 0 });
      kind.count++;
      kind.ms += gc.cost / 1000;
    }
    for (const kind of Object.values(byKind)) kind.ms = Math.round(kind.ms * 1000) / 1000;
    return { floors, byKind };
  }

  stop() {
    this.profiler.stop();
  }
}

/** Event-loop delay since the last call, in ms (perf_hooks' histogram, reset each time). */
class LoopDelay {
  constructor() {
    this.histogram = monitorEventLoopDelay({ resolution: 20 });
    this.histogram.enable();
  }

  take() {
    const h = this.histogram;
    const ms = (ns) => Math.round(ns / 1e3) / 1e3;
    const taken = h.count > 0 ? { meanMs: ms(h.mean), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) } : null;
    h.reset();
    return taken;
  }

  stop() {
    this.histogram.disable();
  }
}

function heapSpaces() {
  const spaces = {};
  for (const space of v8.getHeapSpaceStatistics()) spaces[space.space_name] = { size: space.space_size, used: space.space_used_size };
  return spaces;
}

/**
 * One watch dump, as `status().dumps` lists it. A named class because the next snapshots show
 * it: `heapsnap leaks` on a watch's own dumps then names it for what it is (one per dump).
 */
class HeapsnapWatchDump {
  constructor(rules) {
    this.rules = rules;
    this.time = new Date().toISOString();
  }
}

function checkRules(rules, statsFile) {
  if (rules === undefined && statsFile !== undefined) return []; // a memory log alone
  if (!Array.isArray(rules) || (rules.length === 0 && statsFile === undefined)) {
    throw invalidOption("watch: option 'rules' must be a non-empty array of rules such as ['heap>80%', 'rss>1.5g'] (or give 'statsFile' for a memory log alone)");
  }
  return rules.map((text) => parseRule(text));
}

class Watch {
  constructor(rules, options) {
    const { interval = DEFAULT_INTERVAL_S, cooldown = DEFAULT_COOLDOWN_S, maxDumps = DEFAULT_MAX_DUMPS, rearm = DEFAULT_REARM, quiet = false, statsFile, statsMaxBytes, ...write } = options;
    if (interval < 0.05) throw invalidOption(`watch: option 'interval' must be at least 0.05 seconds, got ${interval}`);
    this.rules = rules.map((rule) => new RuleState(rule, rearm));
    this.interval = interval;
    this.cooldown = cooldown;
    this.maxDumps = maxDumps;
    this.quiet = quiet;
    ({ upload: this.upload, write: this.write } = splitUpload(write));
    this.samples = [];
    this.dumps = [];
    this.lastDumpEnd = -Infinity;
    this.dumping = false;
    this.stopped = false;
    const growth = this.rules.some((state) => state.rule.metric === 'growth');
    if (growth && typeof v8.GCProfiler !== 'function') {
      throw heapsnapUnsupported(`watch: growth rules need v8.GCProfiler (Node 18.15 or later), not Node ${process.version}`);
    }
    if (statsFile !== undefined) {
      try {
        this.log = new StatsLog(statsFile, statsMaxBytes);
      } catch (err) {
        throw heapsnapError(err.code || 'ERR_HEAPSNAP_IO', `heapsnap: watch: cannot open the memory log ${statsFile}: ${err.message}`);
      }
      this.loop = new LoopDelay();
    }
    if (growth || (this.log && typeof v8.GCProfiler === 'function')) this.gcs = new GcTracker();
    if (this.rules.some((state) => state.rule.metric === 'cgroup') && cgroupMemory() === null && !quiet) {
      console.error('heapsnap: watch: this process has no cgroup memory limit that heapsnap can read; cgroup rules stay quiet');
    }
    this.timer = setInterval(() => this.tick(), interval * 1000);
    this.timer.unref();
  }

  tick() {
    if (this.stopped) return;
    const now = sample();
    const gcs = this.gcs ? this.gcs.take() : { floors: [], byKind: {} };
    const floors = gcs.floors;
    now.floors = floors;
    this.samples.push(now);
    if (this.samples.length > SAMPLES_KEPT) this.samples.shift();
    if (this.log) this.logSample(now, gcs.byKind);
    registry.update({ lastSample: { time: new Date(now.time).toISOString(), rss: now.rss, heapUsed: now.heapUsed, heapLimit: now.heapLimit } });
    const fired = this.rules.filter((state) => state.check(now, floors));
    if (fired.length === 0) return;
    const cooling = now.time - this.lastDumpEnd < this.cooldown * 1000;
    if (this.dumping || cooling || this.dumps.length >= this.maxDumps) return; // still armed: fires once allowed
    const described = fired.map((state) => state.describe(now)); // as it was when it fired
    for (const state of fired) state.fire();
    this.dump(described);
  }

  logSample(now, byKind) {
    const { time, floors, ...memory } = now;
    this.log.append({ time: new Date(time).toISOString(), pid: process.pid, ...memory, heapSpaces: heapSpaces(), gc: byKind, eventLoopDelay: this.loop.take() });
  }

  async dump(fired) {
    this.dumping = true;
    const trigger = { kind: 'watch', rules: fired, samples: this.samples.slice() };
    const record = new HeapsnapWatchDump(fired.map((rule) => rule.rule));
    this.dumps.push(record);
    try {
      const info = await writeAsync(toNative(this.write, { trigger: JSON.stringify(trigger) }));
      record.path = info.path;
      if (!this.quiet) console.error(`heapsnap: watch: ${record.rules.join(', ')} crossed: heap snapshot written to ${info.path}`);
      // The upload runs on its own: the next rule may dump meanwhile (its upload queues).
      if (this.upload) uploadDump(info, this.upload, { quiet: this.quiet }).then((upload) => emitDump({ ...info, rules: record.rules, upload }, 'watch'));
      else emitDump({ ...info, rules: record.rules }, 'watch');
    } catch (err) {
      record.error = { code: err.code, message: err.message };
      console.error(`heapsnap: watch: ${record.rules.join(', ')} crossed, but the dump failed: ${err.code}: ${err.message}`);
    } finally {
      this.dumping = false;
      this.lastDumpEnd = Date.now();
    }
  }

  status() {
    const last = this.samples[this.samples.length - 1];
    return {
      rules: this.rules.map((state) => state.describe(last)),
      interval: this.interval,
      cooldown: this.cooldown,
      maxDumps: this.maxDumps,
      statsFile: this.log ? this.log.file : null,
      dumps: this.dumps.map((dump) => ({ ...dump })),
      lastSample: last ? { ...last } : null,
    };
  }

  stop() {
    if (this.stopped) return false;
    this.stopped = true;
    clearInterval(this.timer);
    if (this.gcs) this.gcs.stop();
    if (this.loop) this.loop.stop();
    if (this.log) this.log.close();
    return true;
  }
}

function heapsnapUnsupported(message) {
  return heapsnapError('ERR_HEAPSNAP_UNSUPPORTED', `heapsnap: ${message}`);
}

/**
 * Starts watching this thread's memory: `{ rules, interval, cooldown, maxDumps, rearm, quiet,
 * ...writeSnapshotAsync options }`. Returns `{ stop(), status() }`.
 */
function watch(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidOption(`watch: options must be an object with 'rules', got ${options === null ? 'null' : typeof options}`);
  }
  const { rules, rearm, ...rest } = options;
  const parsed = checkRules(rules, rest.statsFile);
  const checked = checkOptions('watch', rest, WATCH_OPTIONS);
  if (rearm !== undefined) {
    checkValue('watch', 'rearm', 'seconds', rearm);
    if (!(rearm > 0 && rearm <= 1)) throw invalidOption(`watch: option 'rearm' must be a share of the line above 0 and at most 1, got ${rearm}`);
    checked.rearm = rearm;
  }
  const next = new Watch(parsed, checked);
  if (current) current.stop();
  current = next;
  registry.update({ watch: { rules: parsed.map((rule) => rule.text), interval: next.interval, statsFile: next.log ? next.log.file : null } });
  return { stop: () => stopWatch(next), status: () => next.status() };
}

/** Stops this thread's watch; returns whether one was running. */
function stopWatch(which = current) {
  if (!which) return false;
  const stopped = which.stop();
  if (current === which) {
    current = null;
    registry.update({ watch: null });
  }
  return stopped;
}

/** What this thread's watch has seen and done, or null when none runs. */
function watchStatus() {
  return current ? current.status() : null;
}

/**
 * The watch `HEAPSNAP_OPTIONS` asks for (`watch=heap>80%,watch=rss>1.5g,watchinterval=5`), on
 * the main thread, started at require(). It shares the other triggers' dump options (`dir`,
 * `compress`, `background`...), with `interval` as its cooldown and `maxdumps` as its cap. A
 * bad rule is one line on stderr, never a failed require.
 */
function installDefaultWatch({ options, watch: words } = parseEnv(process.env, { quiet: true })) {
  if (words.rules.length === 0 && words.statsFile === undefined) return;
  const { signal, interval: cooldown, maxDumps, ...write } = options;
  const start = (dumpOptions) => watch({ ...dumpOptions, rules: words.rules, interval: words.interval, rearm: words.rearm, statsFile: words.statsFile, cooldown, maxDumps });
  try {
    try {
      start(write);
    } catch (err) {
      if (err.code !== 'ERR_HEAPSNAP_UPLOAD_UNAVAILABLE') throw err;
      // No SDK: the watch dumps locally (the signal handler's line, or the resume's, said why).
      const { upload, keepLocal, uploadPathStyle, ...local } = write;
      start(local);
    }
  } catch (err) {
    console.error(`heapsnap: watch disabled: ${err.message.replace(/^heapsnap: /, '')}`);
  }
}

module.exports = { watch, stopWatch, watchStatus, installDefaultWatch, sample, Watch, WATCH_OPTIONS };
