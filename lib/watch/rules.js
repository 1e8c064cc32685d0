'use strict';
// Watch rules: one text syntax for `heapsnap.watch({ rules })` and `HEAPSNAP_OPTIONS=watch=...`.
//
//   heap>80%        V8 heap used above 80% of the heap limit (--max-old-space-size)
//   heap>300m       V8 heap used above 300 MiB
//   rss>1.5g        resident set size above 1.5 GiB
//   cgroup>85%      the process's cgroup above 85% of its memory limit (what the OOM killer
//                   acts on; v2 or v1, the tightest limit from the process's cgroup up)
//   cgroup>900m     the cgroup's usage above 900 MiB
//   external>512m   memory outside the JS heap that JS objects own (Buffers, ArrayBuffers)
//   growth>10%      the heap left after full GCs grew 10% (see below)
//
// Sizes take binary units (k, m, g: 1024-based), as `memlimit=` does. A line rule fires once
// when its value crosses the line, then re-arms only when the value falls back below
// `rearm` (default 0.9) times the line: a heap sawing around 80% gives one dump, not one per
// sample.
//
// growth: after every full (mark-compact) GC the heap used is recorded: the floor under the
// allocation sawtooth, which only a leak raises. The rule fires when the lowest of the last
// three floors is the given share (and at least 1 MiB) above the lowest floor since the
// watch started, once at least five floors were seen. A sawtooth keeps its floor and never
// fires; a leak, however slow, raises it until it does. After firing the rule measures from
// the current floor again, so a leak that goes on gives the next dump after the same growth
// again (the three snapshots the leak workflow compares).

const { invalidOption } = require('../errors');
const { parseBytes } = require('../writer/signal');

const METRICS = {
  heap: { percent: true, bytes: true, what: 'V8 heap used' },
  rss: { percent: false, bytes: true, what: 'resident set size' },
  cgroup: { percent: true, bytes: true, what: "the cgroup's memory usage" },
  external: { percent: false, bytes: true, what: 'external memory' },
  growth: { percent: true, bytes: false, what: 'heap after full GCs' },
};

/** Floors (heap used after full GCs) a growth rule needs before it may fire. */
const GROWTH_MIN_FLOORS = 5;
/** Floors whose lowest is compared with the baseline (one low floor holds the rule back). */
const GROWTH_RECENT = 3;
/** Growth below this never fires, whatever the share (tiny heaps are noisy). */
const GROWTH_MIN_BYTES = 1024 * 1024;

const SYNTAX = 'a rule like heap>80%, rss>1.5g, cgroup>85%, external>512m or growth>10%';

/**
 * Parses one rule: `{ text, metric, percent }` or `{ text, metric, bytes }`. Throws
 * ERR_HEAPSNAP_INVALID_OPTION with the accepted forms.
 */
function parseRule(text, where = 'watch') {
  if (typeof text !== 'string') throw invalidOption(`${where}: each rule must be a string (${SYNTAX}), got ${typeof text}`);
  const match = /^\s*([a-z]+)\s*>\s*([0-9.]+[a-z%]*)\s*$/i.exec(text);
  const metric = match && METRICS[match[1].toLowerCase()];
  if (!metric) throw invalidOption(`${where}: '${text}' is not ${SYNTAX}`);
  const name = match[1].toLowerCase();
  const value = match[2];
  if (value.endsWith('%')) {
    const percent = Number(value.slice(0, -1));
    if (!metric.percent) throw invalidOption(`${where}: '${text}': ${name} takes a size such as ${name}>512m, not a percentage`);
    if (!(percent > 0) || (name !== 'growth' && percent >= 100)) {
      throw invalidOption(`${where}: '${text}': the percentage must be above 0${name === 'growth' ? '' : ' and below 100'}`);
    }
    return { text: text.trim(), metric: name, percent };
  }
  const bytes = parseBytes(value);
  if (!metric.bytes) throw invalidOption(`${where}: '${text}': ${name} takes a percentage such as ${name}>10%`);
  if (bytes === undefined) throw invalidOption(`${where}: '${text}': '${value}' is not a size such as 512m or 1.5g`);
  return { text: text.trim(), metric: name, bytes };
}

/** The rule's line in bytes for `sample`, or undefined when the sample lacks what it needs. */
function lineOf(rule, sample) {
  if (rule.bytes !== undefined) return rule.bytes;
  if (rule.metric === 'heap') return (sample.heapLimit * rule.percent) / 100;
  if (rule.metric === 'cgroup') return sample.cgroupLimit == null ? undefined : (sample.cgroupLimit * rule.percent) / 100;
  return undefined;
}

/** The value a line rule compares, or undefined when the platform does not tell it. */
function valueOf(rule, sample) {
  switch (rule.metric) {
    case 'heap':
      return sample.heapUsed;
    case 'rss':
      return sample.rss;
    case 'cgroup':
      return sample.cgroupUsage ?? undefined;
    case 'external':
      return sample.external;
    default:
      return undefined;
  }
}

/**
 * One rule's state across samples. `check(sample, floors)` says whether it fires now (and
 * disarms it); `rearmAt` is the share of the line below which a line rule arms again.
 */
class RuleState {
  constructor(rule, rearm) {
    this.rule = rule;
    this.rearm = rearm;
    this.armed = true;
    this.fired = 0;
    // growth: the lowest floor since the start or the last firing, and floors seen since.
    this.baseline = Infinity;
    this.floorsSeen = 0;
  }

  /** Whether the rule fires on this sample; `floors` are the new floors since the last one. */
  check(sample, floors) {
    if (this.rule.metric === 'growth') return this.checkGrowth(floors);
    const value = valueOf(this.rule, sample);
    const line = lineOf(this.rule, sample);
    if (value === undefined || line === undefined) return false;
    if (!this.armed) {
      if (value < line * this.rearm) this.armed = true;
      return false;
    }
    return value > line;
  }

  checkGrowth(floors) {
    this.recent = [...(this.recent || []), ...floors].slice(-GROWTH_RECENT);
    for (const floor of floors) {
      this.floorsSeen++;
      this.baseline = Math.min(this.baseline, floor);
    }
    if (this.floorsSeen < GROWTH_MIN_FLOORS || this.recent.length < GROWTH_RECENT) return false;
    const low = Math.min(...this.recent);
    const grown = low - this.baseline;
    return grown >= GROWTH_MIN_BYTES && grown >= (this.baseline * this.rule.percent) / 100;
  }

  /** Called when the rule's dump was started (or refused): disarm, or measure growth anew. */
  fire() {
    this.fired++;
    if (this.rule.metric === 'growth') {
      this.baseline = Math.min(...this.recent);
      this.floorsSeen = this.recent.length;
    } else {
      this.armed = false;
    }
  }

  /** What `status()` and the memory record say about the rule. */
  describe(sample) {
    const state = { rule: this.rule.text, fired: this.fired };
    if (this.rule.metric === 'growth') {
      return { ...state, baseline: Number.isFinite(this.baseline) ? this.baseline : null, floors: this.floorsSeen, recent: this.recent || [] };
    }
    return { ...state, armed: this.armed, value: sample ? valueOf(this.rule, sample) ?? null : null, line: sample ? lineOf(this.rule, sample) ?? null : null };
  }
}

module.exports = { parseRule, RuleState, METRICS, GROWTH_MIN_FLOORS, GROWTH_RECENT, GROWTH_MIN_BYTES };
