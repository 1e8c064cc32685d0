'use strict';
// `heapsnap top FILE.heapprofile` and `heapsnap diff A.heapprofile B.heapprofile`: allocation
// sites of sampling heap profiles (heapsnap's own, `node --heap-prof`'s, DevTools' saves).

const { UsageError, parseOrUsage } = require('./args');
const { formatBytes, table, percent } = require('../format');

const DEFAULT_TOP = 20;
const INLINING_NOTE =
  "Note: V8 counts an inlined function's allocations in its optimized caller: a site is where V8 sampled, not always the innermost function.";

const PROFILE_FILE = /\.heapprofile(\.gz|\.zst)?$/;

function isProfileFile(file) {
  return PROFILE_FILE.test(file);
}

function parseTop(value) {
  if (value === undefined) return DEFAULT_TOP;
  if (!/^\d+$/.test(value)) throw new UsageError(`--top must be a non-negative integer, got '${value}'`);
  return Number(value);
}

/** `url:line:column`, 1-based, without file://. */
function location(site) {
  const url = site.url.replace(/^file:\/\//, '') || '(no script)';
  if (site.line == null) return url;
  return `${url}:${site.line}${site.column == null ? '' : `:${site.column}`}`;
}

const name = (site) => site.functionName || '(anonymous)';
const signed = (n) => (n > 0 ? `+${formatBytes(n)}` : formatBytes(n));

/** `heapsnap top FILE [--top N] [--json]`; returns the exit code. */
function top(argv, out) {
  const { values, positionals } = parseOrUsage(argv, { top: { type: 'string' }, json: { type: 'boolean', default: false } });
  if (positionals.length !== 1) throw new UsageError(`top takes one .heapprofile file, got ${positionals.length}`);
  const [file] = positionals;
  const { readHeapProfileTop } = require('../analyzer/profile');
  const result = readHeapProfileTop(file, { top: parseTop(values.top) });
  if (values.json) {
    out(JSON.stringify(result));
    return 0;
  }
  out(`${file}: ${result.samples.toLocaleString('en-US')} samples, ${formatBytes(result.totalSize)} of sampled allocations\n`);
  const pct = (n) => percent(n, result.totalSize);
  out(table(
    [
      { title: 'Self size', align: 'right' },
      { title: '%', align: 'right' },
      { title: 'Total size', align: 'right' },
      { title: 'Function', align: 'left' },
      { title: 'Location', align: 'left' },
    ],
    result.sites.map((s) => [formatBytes(s.selfSize), pct(s.selfSize), formatBytes(s.totalSize), name(s), location(s)]),
  ));
  out(`\n${INLINING_NOTE}`);
  return 0;
}

/** `heapsnap diff A.heapprofile B.heapprofile [--top N] [--json]`: the sites that grew. */
function diff(files, opts, out) {
  const { diffHeapProfiles } = require('../analyzer/profile');
  const result = diffHeapProfiles(files[0], files[1], { top: opts.top ?? DEFAULT_TOP });
  if (opts.json) {
    out(JSON.stringify(result));
    return 0;
  }
  out(`${files[0]} -> ${files[1]}: sampled allocations ${signed(result.totalDelta)}\n`);
  if (result.sites.length === 0) {
    out('No allocation site grew.');
    return 0;
  }
  out(table(
    [
      { title: 'Self delta', align: 'right' },
      { title: 'Total delta', align: 'right' },
      { title: 'Self size', align: 'right' },
      { title: 'Function', align: 'left' },
      { title: 'Location', align: 'left' },
    ],
    result.sites.map((s) => [signed(s.selfDelta), signed(s.totalDelta), formatBytes(s.selfSize), name(s), location(s)]),
  ));
  out(`\n${INLINING_NOTE}`);
  return 0;
}

module.exports = { top, diff, isProfileFile, INLINING_NOTE };
