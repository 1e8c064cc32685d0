'use strict';
// `heapsnap stats FILE|PID [--last N] [--json]`: a watch's memory log (statsfile=) as a table,
// with the trend: how fast RSS, the heap and the post-GC heap grow per minute over the log.
// For a PID, the log its HEAPSNAP_OPTIONS names (relative paths from its working directory).

const fs = require('node:fs');
const path = require('node:path');
const { UsageError, parseOrUsage } = require('./args');
const { formatBytes, table, percent } = require('../format');
const { heapsnapError } = require('../errors');

const DEFAULT_LAST = 20;

/** The memory log of process `pid`, from its environment. */
function statsFileOf(pid) {
  const proc = require('../operator/proc');
  const { parseEnv } = require('../writer/signal');
  proc.checkCanSignal(pid);
  let env;
  try {
    ({ env } = proc.commandLine(pid));
  } catch (err) {
    throw heapsnapError(err.code || 'EACCES', `cannot read the environment of process ${pid}: ${err.message}`);
  }
  const { statsFile } = parseEnv(env, { quiet: true }).watch;
  if (!statsFile) {
    throw heapsnapError('ERR_HEAPSNAP_NO_STATS', `process ${pid} keeps no memory log: start it with HEAPSNAP_OPTIONS=statsfile=PATH (or heapsnap.watch({ statsFile }))`);
  }
  return path.isAbsolute(statsFile) ? statsFile : path.join(fs.readlinkSync(`/proc/${pid}/cwd`), statsFile);
}

/** Bytes per minute by least squares over (time, value); null with fewer than two points. */
function perMinute(points) {
  if (points.length < 2) return null;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const mv = points.reduce((s, p) => s + p.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  return den > 0 ? Math.round((num / den) * 60_000) : null;
}

/** What `--json` prints: the log's span, the first and last samples, and the trend. */
function analyze(samples, skipped) {
  const at = (s) => Date.parse(s.time);
  const series = (value) => samples.filter((s) => typeof value(s) === 'number').map((s) => ({ t: at(s), v: value(s) }));
  const gcTotals = {};
  for (const s of samples) {
    for (const [kind, { count, ms }] of Object.entries(s.gc || {})) {
      const total = (gcTotals[kind] ??= { count: 0, ms: 0 });
      total.count += count;
      total.ms = Math.round((total.ms + ms) * 1000) / 1000;
    }
  }
  // The heap after full GCs: samples whose interval saw a mark-compact, their heapUsed.
  const afterFullGc = series((s) => (s.gc && s.gc.markSweepCompact ? s.heapUsed : undefined));
  return {
    samples: samples.length,
    skipped,
    from: samples[0].time,
    to: samples[samples.length - 1].time,
    first: samples[0],
    last: samples[samples.length - 1],
    trend: {
      rssPerMinute: perMinute(series((s) => s.rss)),
      heapUsedPerMinute: perMinute(series((s) => s.heapUsed)),
      heapAfterFullGcPerMinute: perMinute(afterFullGc),
      externalPerMinute: perMinute(series((s) => s.external)),
    },
    gc: gcTotals,
  };
}

const perMin = (n) => (n == null ? 'n/a' : `${n >= 0 ? '+' : ''}${formatBytes(n)}/min`);

/** `heapsnap stats FILE|PID [--last N] [--json]`; returns the exit code. */
function stats(argv, out) {
  const { values, positionals } = parseOrUsage(argv, { last: { type: 'string' }, json: { type: 'boolean', default: false } });
  if (positionals.length !== 1) throw new UsageError(`stats takes one memory log file or process id, got ${positionals.length}`);
  const last = values.last === undefined ? DEFAULT_LAST : Number(values.last);
  if (!Number.isSafeInteger(last) || last < 0) throw new UsageError(`--last must be a non-negative integer, got '${values.last}'`);
  const [target] = positionals;
  const file = /^\d+$/.test(target) && !fs.existsSync(target) ? statsFileOf(Number(target)) : target;
  const { readStats } = require('../watch/stats-log');
  const { samples, skipped } = readStats(file);
  const result = analyze(samples, skipped);
  if (values.json) {
    out(JSON.stringify({ file, ...result }, null, 2));
    return 0;
  }
  const rows = samples.slice(-last).map((s) => {
    const gc = s.gc || {};
    const full = gc.markSweepCompact ? gc.markSweepCompact.count : 0;
    const minor = Object.entries(gc).reduce((n, [kind, v]) => n + (kind === 'markSweepCompact' ? 0 : v.count), 0);
    const gcMs = Object.values(gc).reduce((n, v) => n + v.ms, 0);
    return [
      s.time.slice(11, 19),
      formatBytes(s.rss),
      formatBytes(s.heapUsed),
      percent(s.heapUsed, s.heapLimit),
      formatBytes(s.external),
      s.cgroupLimit ? percent(s.cgroupUsage, s.cgroupLimit) : '-',
      `${full}/${minor}`,
      gcMs.toFixed(1),
      s.eventLoopDelay ? s.eventLoopDelay.p99Ms.toFixed(1) : '-',
    ];
  });
  out(`${file}: ${samples.length} samples from ${result.from} to ${result.to}${skipped ? ` (${skipped} unreadable lines skipped)` : ''}`);
  out('');
  out(
    table(
      [
        { title: 'time (UTC)', align: 'left' },
        { title: 'rss', align: 'right' },
        { title: 'heap used', align: 'right' },
        { title: 'of limit', align: 'right' },
        { title: 'external', align: 'right' },
        { title: 'cgroup', align: 'right' },
        { title: 'gc full/minor', align: 'right' },
        { title: 'gc ms', align: 'right' },
        { title: 'loop p99 ms', align: 'right' },
      ],
      rows,
    ),
  );
  out('');
  const t = result.trend;
  out(`trend: rss ${perMin(t.rssPerMinute)}, heap used ${perMin(t.heapUsedPerMinute)}, heap after full GCs ${perMin(t.heapAfterFullGcPerMinute)}, external ${perMin(t.externalPerMinute)}`);
  return 0;
}

module.exports = { stats, analyze, perMinute };
