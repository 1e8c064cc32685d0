#!/usr/bin/env node
'use strict';
// heapsnap CLI: the native analyzer from a shell.
//
//   heapsnap summary FILE [--top N] [--json]
//   heapsnap diff A B [--top N] [--json]
//   heapsnap leaks A B [C] [--top N] [--json]      growing holders, then (with C) leak groups; exit 1 when leaks are found
//   heapsnap retainers FILE (--id N | --name Ctor) [--top N] [--json]
//   heapsnap report A B [C] [-o FILE] [--top N]       one self-contained HTML page
//   heapsnap view A [B [C]] [--no-open] [--port N]    the interactive viewer (local web page)
//   heapsnap top FILE.heapprofile [--top N] [--json]  allocation sites of a sampling heap profile
//   heapsnap diff A.heapprofile B.heapprofile         the allocation sites that grew
//   heapsnap dump PID [-o FILE] [--compress gzip|zstd] [--gc] [--force] [--redact] [--thread N] [--timeout S] [--inspector]
//   heapsnap profile PID [--seconds N] [-o FILE] [--compress gzip|zstd] [--thread N] [--interval BYTES]
//   heapsnap stats FILE|PID [--last N] [--json]      a watch's memory log, with the trend
//   heapsnap ps [--json]                              Node processes here, with what heapsnap does in them
//   heapsnap upload FILE... s3://bucket/prefix/ [--delete-local] [--path-style] [--json]
//
// Exit codes: 0 ok, 1 leaks found (leaks), 2 bad input or usage (one line on stderr naming the code).
// `report` exits 0 whenever it wrote the page, leaks or not: it is for reading; gate CI on `leaks`.

const { UsageError, parseOrUsage } = require('../lib/cli/args');
const fs = require('node:fs');
const path = require('node:path');
const { formatBytes, table, percent } = require('../lib/format');
const { readMemoryRecord, outsideHeap, describeMemoryRecord } = require('../lib/analyzer/memory-record');

const USAGE = `Usage: heapsnap <command> [options]

Commands:
  summary FILE                    objects by constructor: count, self and retained size
  diff A B                        what changed from snapshot A to B (same process), by constructor
  leaks A B [C]                   first the growing holders: the objects, arrays, Maps and Sets
                                  that grew in every interval, named by what holds them
                                  (MemoryStore.sessions); then, with C, the three-snapshot
                                  technique: allocated between A and B, alive in C, by class
                                  (exit code 1 when leak groups are found; with two snapshots,
                                  when a holder grew)
  retainers FILE --id N           what holds node N, and its dominator chain
  retainers FILE --name Ctor      what holds the objects of constructor Ctor
  report A B [C]                  one self-contained HTML page (no network, opens from file://):
                                  totals, summary of the last snapshot, diff A to last, a chart,
                                  and with C the leak groups and their retainer chains; prints
                                  the page's path (exit code 0 whenever the page was written)

  view A [B [C]]                  the interactive viewer: a local web page (127.0.0.1, a
                                  secret token in its URL, printed on stdout) with Summary,
                                  instances, retainers, object details, Comparison and the
                                  dominator tree; opens the browser when there is a desktop;
                                  serves until Ctrl-C
    --no-open                     only print the URL
    --port N                      listen on this port (default: any free one)

Files may be .heapsnapshot, .heapsnapshot.gz or .heapsnapshot.zst.

  top FILE.heapprofile            allocation sites of a sampling heap profile (heapsnap's
                                  stopSamplingHeapProfiler, node --heap-prof, DevTools), by
                                  self and total bytes, with file:line:column (1-based);
                                  --top N rows (default 20), --json
  diff A.heapprofile B.heapprofile  the allocation sites that grew from profile A to B

  dump PID                        a snapshot of a running Node process, written by it; prints
                                  the file's path once it is complete. The process must have
                                  loaded heapsnap (it is asked through its signal handler), or
                                  pass --inspector (Node's own inspector: a debugging port is
                                  open on 127.0.0.1 while the dump runs)
    -o, --output FILE             where (default heapsnap-PID-DATE-TIME.heapsnapshot in the cwd)
    --compress gzip|zstd          compressed file (also inferred from a .gz / .zst name)
    --gc                          full garbage collection first
    --force                       dump even if it refuses for lack of memory or disk space (NO_HEADROOM, NO_SPACE)
    --redact                      string values replaced by placeholders (see README: Redaction)
    --thread N                    the worker with this threadId (default: the main thread)
    --signal SIG                  the signal its heapsnap handler listens to (default: from
                                  its HEAPSNAP_OPTIONS, else SIGUSR2)
    --timeout S                   give up after S seconds (default 300)
    --inspector                   for processes without heapsnap

  profile PID                     a sampling heap profile of a running Node process that loaded
                                  heapsnap (asked like dump); prints the .heapprofile's path
    --seconds N                   how long to sample (default 30; Ctrl-C stops early)
    -o, --output FILE             where (default heapsnap-PID-DATE-TIME.heapprofile in the cwd)
    --compress gzip|zstd, --thread N, --signal SIG: as for dump; --timeout S (default 60) for
                                  each answer; --interval BYTES (default 524288), --stack-depth N

  ps                              the Node processes of this machine you may see (pid, user, Node
                                  version, uptime, RSS, command), and for those that loaded
                                  heapsnap its version, signal, dump directory, watch rules,
                                  last dump and heap; --json
  upload FILE... s3://BUCKET/PREFIX/
                                  sends snapshots written earlier (with their .memory.json) to
                                  S3-compatible storage as <prefix><hostname>/<file name>, like
                                  the upload option does; prints each object's s3:// URL. Needs
                                  npm install @aws-sdk/client-s3 @aws-sdk/lib-storage; endpoint
                                  and credentials from the standard AWS_* settings
    --delete-local                remove each local file once the store confirmed it
    --path-style                  path-style requests (automatic for IP and localhost endpoints)
    --json                        [{ file, url, bucket, key, bytes, ... } or { file, error }]
  stats FILE|PID                  a watch's memory log (HEAPSNAP_OPTIONS=statsfile=PATH) as a
                                  table with the trend per minute; for a PID, the log its
                                  environment names; --last N rows (default 20), --json

Options:
  --json             machine-readable output (shapes documented in the README)
  --top N            show only the first N rows
  --id N             (retainers) node id, as shown by DevTools (@N)
  --name Ctor        (retainers) constructor name
  -o, --output FILE  (report) where to write the page (default heapsnap-report.html)
  -h, --help         show this help

Exit codes: 0 ok, 1 leaks found (leaks), 2 bad input, usage, a failed dump or upload.
(report exits 0 whenever it wrote the page; use leaks to fail a CI job.)`;

const ARITY = { summary: 1, diff: 2, leaks: [2, 3], retainers: 1, report: [2, 3] };

function parse(argv) {
  const { values, positionals } = parseOrUsage(argv, {
    json: { type: 'boolean', default: false },
    top: { type: 'string' },
    id: { type: 'string' },
    name: { type: 'string' },
    output: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) return { help: true };
  const [command, ...files] = positionals;
  if (command === undefined) throw new UsageError('missing command (summary, diff, leaks, retainers, report, view, dump, profile or top); see --help');
  if (!Object.hasOwn(ARITY, command)) throw new UsageError(`unknown command '${command}'; see --help`);
  if (Array.isArray(ARITY[command])) {
    if (!ARITY[command].includes(files.length)) {
      throw new UsageError(`${command} takes ${ARITY[command].join(' or ')} snapshot files, got ${files.length}`);
    }
  } else if (files.length !== ARITY[command]) {
    throw new UsageError(`${command} takes ${ARITY[command]} snapshot file${ARITY[command] > 1 ? 's' : ''}, got ${files.length}`);
  }
  const opts = { command, files, json: values.json };
  if (values.top !== undefined) {
    if (!/^\d+$/.test(values.top)) throw new UsageError(`--top must be a non-negative integer, got '${values.top}'`);
    opts.top = Number(values.top);
  }
  if (command === 'retainers') {
    if ((values.id === undefined) === (values.name === undefined)) throw new UsageError('retainers needs exactly one of --id N or --name Ctor');
    if (values.id !== undefined) {
      if (!/^\d+$/.test(values.id) || !Number.isSafeInteger(Number(values.id))) {
        throw new UsageError(`--id must be a node id (a non-negative integer), got '${values.id}'`);
      }
      opts.id = Number(values.id);
    } else {
      opts.name = values.name;
    }
  } else if (values.id !== undefined || values.name !== undefined) {
    throw new UsageError(`--id and --name are options of 'retainers', not '${command}'`);
  }
  if (command === 'report') {
    if (values.json) throw new UsageError("--json is not an option of 'report' (it writes HTML; use summary, diff or leaks --json)");
    if (opts.top === 0) throw new UsageError('--top must be at least 1 for report');
    if (values.output === '') throw new UsageError('--output must not be empty');
    opts.output = values.output;
  } else if (values.output !== undefined) {
    throw new UsageError(`--output is an option of 'report', not '${command}'`);
  }
  return opts;
}

// ---- output helpers ----


const signed = (n, fmt = String) => (n > 0 ? `+${fmt(n)}` : fmt(n));
const int = (n) => n.toLocaleString('en-US');


function out(text) {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function truncate(s, max = 60) {
  const one = s.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

// ---- loading, with a progress bar on a terminal ----

function load(analyze, file, index, total) {
  const tty = process.stderr.isTTY;
  let lastDraw = 0;
  const label = `${total > 1 ? `[${index + 1}/${total}] ` : ''}${path.basename(file)}`;
  const start = Date.now();
  const onProgress = tty
    ? (read, size) => {
        const now = Date.now();
        if (now - lastDraw < 100 && read < size) return;
        lastDraw = now;
        const width = 30;
        const frac = size > 0 ? Math.min(1, read / size) : 0;
        const filled = Math.round(frac * width);
        const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
        const rate = now > start ? ` at ${formatBytes(Math.round((read * 1000) / (now - start)))}/s` : '';
        process.stderr.write(`\r\x1b[Kreading ${label} [${bar}] ${Math.round(frac * 100)}% of ${formatBytes(size)}${rate}`);
      }
    : undefined;
  try {
    const snap = analyze.readSnapshot(file, { onProgress });
    if (tty) process.stderr.write(`\r\x1b[Kanalyzing ${label}...`);
    return snap;
  } finally {
    if (tty) process.stderr.write('\r\x1b[K');
  }
}

function clearLine() {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

// ---- commands ----

function summary(snap, opts) {
  const s = snap.summary({ top: opts.top });
  const memory = readMemoryRecord(opts.files[0]);
  clearLine();
  if (opts.json) {
    return out(JSON.stringify({
      nodeCount: s.nodeCount,
      edgeCount: s.edgeCount,
      totalSize: s.totalSize,
      constructors: s.constructors.map(({ name, count, selfSize, retainedSize }) => ({ name, count, selfSize, retainedSize })),
      ...(memory && { memory: memory.record ? { ...memory.record, outsideHeap: outsideHeap(memory.record) } : { error: memory.error } }),
    }));
  }
  out(`${opts.files[0]}: ${int(s.nodeCount)} nodes, ${int(s.edgeCount)} edges, total ${formatBytes(s.totalSize)}\n`);
  if (memory) out(`${describeMemoryRecord(memory).join('\n')}\n\n`);
  const pct = (n) => percent(n, s.totalSize);
  out(table(
    [
      { title: 'Constructor', align: 'left' },
      { title: 'Count', align: 'right' },
      { title: 'Self size', align: 'right' },
      { title: 'Retained size', align: 'right' },
      { title: '%', align: 'right' },
    ],
    s.constructors.map((c) => [truncate(c.name), int(c.count), formatBytes(c.selfSize), formatBytes(c.retainedSize), pct(c.retainedSize)]),
  ));
}

function diff(a, b, opts) {
  const d = a.diff(b, { ids: false });
  const rows = opts.top === undefined ? d.constructors : d.constructors.slice(0, opts.top);
  if (opts.json) {
    return out(JSON.stringify({
      constructors: rows.map(({ name, countDelta, sizeDelta, added, removed }) => ({ name, countDelta, sizeDelta, added, removed })),
    }));
  }
  out(`${opts.files[0]} -> ${opts.files[1]}: ${int(d.addedCount)} objects added, ${int(d.removedCount)} removed\n`);
  out(table(
    [
      { title: 'Constructor', align: 'left' },
      { title: '# New', align: 'right' },
      { title: '# Deleted', align: 'right' },
      { title: '# Delta', align: 'right' },
      { title: 'Size delta', align: 'right' },
    ],
    rows.map((c) => [truncate(c.name), int(c.added), int(c.removed), signed(c.countDelta, int), signed(c.sizeDelta, formatBytes)]),
  ));
}

function leaks(analyze, snaps, opts) {
  // Holders first: their pass needs only the newest snapshot's retained sizes, which the leak
  // groups reuse, so the two passes' temporaries never coexist.
  const growing = analyze.holders(...snaps);
  const all = snaps.length === 3 ? analyze.leaks(...snaps) : null;
  const top = (list) => (opts.top === undefined ? list : list.slice(0, opts.top));
  const groups = all && top(all);
  const rows = top(growing);
  if (opts.json) {
    out(JSON.stringify({
      holders: rows.map(({ name, className, id, entries, size, entriesGrowth, sizeGrowth, retainedSize, addedRetainedSize, retainerPath }) => ({ name, className, id, entries, size, entriesGrowth, sizeGrowth, retainedSize, addedRetainedSize, retainerPath })),
      ...(groups && {
        leaks: groups.map(({ name, count, size, retainedSize, runtime, holds, retainerPath, allocationStacks }) => ({ name, count, size, retainedSize, runtime, holds, retainerPath, allocationStacks })),
      }),
    }));
  } else {
    printHolders(growing, rows, snaps.length);
    if (all) printLeakGroups(all, groups);
  }
  // Three snapshots: the leak groups decide, as before holders existed; two: the holders.
  return (all ?? growing).length > 0 ? 1 : 0;
}

function printHolders(growing, rows, count) {
  const steps = count === 3 ? 'A -> B -> C' : 'A -> B';
  if (growing.length === 0) {
    out(`No growing holders: no object, array, Map or Set grew in every interval (${steps}).\n`);
    return;
  }
  out(`Growing holders: collections that grew in every interval (${steps}), largest growth first\n`);
  out(table(
    [
      { title: 'Holder', align: 'left' },
      { title: 'Class', align: 'left' },
      { title: `Entries (${steps})`, align: 'right' },
      { title: 'Growth', align: 'right' },
      { title: 'Retained', align: 'right' },
    ],
    rows.map((h) => [truncate(h.name), truncate(h.className, 30), h.entries.map(int).join(' -> '), `+${formatBytes(h.addedRetainedSize + h.sizeGrowth)}`, formatBytes(h.retainedSize)]),
  ));
  for (const h of rows.slice(0, 3)) {
    out(`\n${truncate(h.name)} (+${int(h.entriesGrowth)} entries), held via:\n  ${h.retainerPath.map((p) => truncate(p, 80)).join('\n  -> ')}`);
  }
  out('');
}

function printLeakGroups(all, groups) {
  if (all.length === 0) {
    out('No leak candidates: nothing allocated between A and B is still alive in C.');
    return;
  }
  out(`${all.length} leak candidate group${all.length > 1 ? 's' : ''}: allocated between A and B, still alive in C; largest retained first, runtime objects last\n`);
  out(table(
    [
      { title: 'Constructor', align: 'left' },
      { title: 'Count', align: 'right' },
      { title: 'Size', align: 'right' },
      { title: 'Retained', align: 'right' },
      { title: 'Also holding', align: 'left' },
    ],
    groups.map((g) => [truncate(g.name), int(g.count), formatBytes(g.size), formatBytes(g.retainedSize), truncate(g.holds.map((h) => `${int(h.count)} ${h.name}`).join(', '), 50)]),
  ));
  for (const g of groups) {
    out(`\n${truncate(g.name)} (${int(g.count)}), retained via:\n  ${g.retainerPath.map((p) => truncate(p, 80)).join('\n  -> ')}`);
    const [top] = g.allocationStacks;
    if (top) out(`  allocated (${int(top.count)} of them) at:\n${stackLines(top.frames)}`);
  }
}

/** An allocation stack, one indented `fn (file:line:column)` per line. */
function stackLines(frames) {
  const { describeFrame } = require('../lib/harness/leak-check');
  return frames.map((frame) => `    ${truncate(describeFrame(frame), 120)}`).join('\n');
}

function retainers(snap, opts) {
  if (opts.id !== undefined) {
    const list = snap.retainers(opts.id);
    const rows = opts.top === undefined ? list : list.slice(0, opts.top);
    const chain = snap.dominators(opts.id);
    if (opts.json) return out(JSON.stringify({ id: opts.id, retainers: rows, dominators: chain, allocationStack: snap.hasAllocationTraces ? snap.allocationStack(opts.id) : null }));
    const self = chain[0];
    out(`@${opts.id} ${truncate(self.className)} '${truncate(self.name, 40)}': self ${formatBytes(self.selfSize)}, retained ${formatBytes(self.retainedSize)}\n`);
    out(table(
      [
        { title: 'Edge', align: 'left' },
        { title: 'Type', align: 'left' },
        { title: 'Held by', align: 'left' },
        { title: 'Id', align: 'right' },
        { title: 'Self size', align: 'right' },
        { title: 'Retained size', align: 'right' },
      ],
      rows.map((r) => [truncate(r.edgeName, 40), r.edgeType, truncate(r.className, 40), `@${r.id}`, formatBytes(r.selfSize), formatBytes(r.retainedSize)]),
    ));
    out(`\nDominator chain (the object first, the root last):\n  ${chain.map((d) => `${truncate(d.className, 40)} @${d.id} (${formatBytes(d.retainedSize)})`).join('\n  <- ')}`);
    if (snap.hasAllocationTraces) {
      const stack = snap.allocationStack(opts.id);
      out(stack ? `\nAllocated at (innermost first; line:column where each function starts):\n${stackLines(stack)}` : '\nAllocated before allocation tracking started: no stack recorded.');
    }
    return;
  }
  const groups = snap.retainersByClass(opts.name);
  const rows = opts.top === undefined ? groups : groups.slice(0, opts.top);
  if (opts.json) return out(JSON.stringify({ name: opts.name, retainers: rows }));
  if (groups.length === 0) return out(`No retainers of '${opts.name}' (no such constructor, or nothing holds its objects).`);
  out(`Retainers of ${opts.name} objects:\n`);
  out(table(
    [
      { title: 'Held by', align: 'left' },
      { title: 'Edge', align: 'left' },
      { title: 'Type', align: 'left' },
      { title: 'Count', align: 'right' },
    ],
    rows.map((g) => [truncate(g.className, 50), truncate(g.edgeName, 40), g.edgeType, int(g.count)]),
  ));
}

function report(snaps, opts) {
  const { analyzeForReport, renderReport, DEFAULT_OUTPUT } = require('../lib/analyzer/report');
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[Kcomparing...');
  const data = analyzeForReport(snaps, { top: opts.top });
  clearLine();
  const file = path.resolve(opts.output ?? DEFAULT_OUTPUT);
  fs.writeFileSync(file, renderReport(data));
  out(file);
  if (data.leaks && data.leaks.length > 0 && process.stderr.isTTY) {
    process.stderr.write(`${data.leaks.length} leak candidate group${data.leaks.length > 1 ? 's' : ''}, largest: ${truncate(data.leaks[0].name)}\n`);
  }
}

function main(argv) {
  const opts = parse(argv);
  if (opts.help) {
    out(USAGE);
    return 0;
  }
  for (const file of opts.files) {
    // Cheap up-front check, so a typo in the third file fails before two slow loads.
    if (!fs.existsSync(file)) {
      const err = new Error(`ENOENT: no such file: ${file}`);
      err.code = 'ENOENT';
      throw err;
    }
  }
  const profiles = require('../lib/cli/profile');
  if (opts.command === 'diff' && opts.files.every(profiles.isProfileFile)) return profiles.diff(opts.files, opts, out);
  const analyze = require('../lib/analyzer/analyze');
  // This process only analyzes: big columns go back to the OS as soon as they are freed.
  require('../lib/loader/native').analyzer().usePrivateMappingsForLargeBlocks();
  const snaps = opts.files.map((f, i) => load(analyze, f, i, opts.files.length));
  switch (opts.command) {
    case 'summary':
      summary(snaps[0], opts);
      return 0;
    case 'diff':
      diff(snaps[0], snaps[1], opts);
      return 0;
    case 'leaks':
      return leaks(analyze, snaps, opts);
    case 'retainers':
      retainers(snaps[0], opts);
      return 0;
    case 'report':
      report(snaps, opts);
      return 0;
  }
  return 2;
}

// ---- dump: another process's heap ----

// The options `dump` and `profile` share: which process (and thread), how to reach it, where to write.
const TARGET_OPTIONS = {
  output: { type: 'string', short: 'o' },
  compress: { type: 'string' },
  thread: { type: 'string', default: '0' },
  signal: { type: 'string' },
};

/** Checks the shared options; `{ pid, path, compress, thread, signal, timeoutMs }`. */
function parseTarget(command, values, positionals, extension, defaultTimeout) {
  if (positionals.length !== 1) throw new UsageError(`${command} takes one process id, got ${positionals.length}`);
  const [pid] = positionals;
  if (!/^[1-9]\d*$/.test(pid) || !Number.isSafeInteger(Number(pid))) throw new UsageError(`the process id must be a positive integer, got '${pid}'`);
  if (values.compress !== undefined && !['gzip', 'zstd'].includes(values.compress)) {
    throw new UsageError(`--compress must be gzip or zstd, got '${values.compress}'`);
  }
  if (!/^\d+$/.test(values.thread)) throw new UsageError(`--thread must be a worker's threadId (a non-negative integer), got '${values.thread}'`);
  const timeout = seconds('--timeout', values.timeout ?? defaultTimeout);
  if (values.signal !== undefined && !require('node:os').constants.signals[values.signal]) {
    throw new UsageError(`--signal must be a signal name such as SIGUSR2, got '${values.signal}'`);
  }
  if (values.output === '') throw new UsageError('--output must not be empty');
  return {
    pid: Number(pid),
    path: values.output ?? defaultTargetName(Number(pid), extension, values.compress),
    compress: values.compress,
    thread: Number(values.thread),
    signal: values.signal,
    timeoutMs: timeout * 1000,
  };
}

function seconds(option, text) {
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value)) throw new UsageError(`${option} must be a positive number of seconds, got '${text}'`);
  return value;
}

function parseDump(argv) {
  const { values, positionals } = parseOrUsage(argv, {
    ...TARGET_OPTIONS,
    gc: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    redact: { type: 'boolean', default: false },
    timeout: { type: 'string' },
    inspector: { type: 'boolean', default: false },
  });
  if (values.inspector && (values.thread !== '0' || values.signal !== undefined)) {
    throw new UsageError('--thread and --signal are for processes with heapsnap loaded, not --inspector');
  }
  const { gc, force, redact, inspector } = values;
  return { ...parseTarget('dump', values, positionals, '.heapsnapshot', '300'), gc, force, redact, inspector };
}

function parseProfile(argv) {
  const { values, positionals } = parseOrUsage(argv, {
    ...TARGET_OPTIONS,
    seconds: { type: 'string', default: '30' },
    interval: { type: 'string' },
    'stack-depth': { type: 'string' },
    timeout: { type: 'string' },
  });
  const count = (option, text) => {
    if (text === undefined) return undefined;
    if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`${option} must be a positive integer, got '${text}'`);
    return Number(text);
  };
  return {
    ...parseTarget('profile', values, positionals, '.heapprofile', '60'),
    seconds: seconds('--seconds', values.seconds),
    interval: count('--interval', values.interval),
    stackDepth: count('--stack-depth', values['stack-depth']),
  };
}

function defaultTargetName(pid, extension, compress) {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `heapsnap-${pid}-${stamp}${extension}${{ gzip: '.gz', zstd: '.zst' }[compress] ?? ''}`;
}

async function dump(argv) {
  const options = parseDump(argv);
  if (process.stderr.isTTY) {
    options.onProgress = ({ phase, bytes, done, total, ms }) => {
      const what = {
        waiting: 'waiting for it to answer',
        writing: `writing ${formatBytes(bytes)}`,
        snapshot: `taking the snapshot${total > 0 ? ` ${Math.floor((100 * done) / total)}%` : ''}`,
      }[phase];
      process.stderr.write(`\r\x1b[Kdumping process ${options.pid}: ${what} (${(ms / 1000).toFixed(1)} s)`);
    };
  }
  // Ctrl-C: stop waiting, remove our request, and close the target's inspector if we opened it.
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  options.abort = controller.signal;
  const { dumpProcess } = require('../lib/operator/remote-dump');
  const info = await dumpProcess(options);
  clearLine();
  out(info.path);
  return 0;
}

async function profile(argv) {
  const options = parseProfile(argv);
  if (process.stderr.isTTY) {
    process.stderr.write(`profiling process ${options.pid} for ${options.seconds} s (Ctrl-C stops early and still writes the profile)\n`);
  }
  // Ctrl-C: stop sampling now and write what was sampled.
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  options.abort = controller.signal;
  const { profileProcess } = require('../lib/operator/remote-dump');
  const info = await profileProcess(options);
  out(info.path);
  return 0;
}

/** One line on stderr naming the code; exit code 2. */
function fail(err) {
  clearLine();
  const code = err.code || 'ERR_HEAPSNAP_INTERNAL';
  const message = String(err.message || err).split('\n')[0];
  process.stderr.write(`heapsnap: ${message.startsWith(code) ? message : `${code}: ${message}`}\n`);
  if (err instanceof UsageError) process.stderr.write("Run 'heapsnap --help' for usage.\n");
  process.exitCode = 2;
}

process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const argv = process.argv.slice(2);
if (argv[0] === 'dump') {
  dump(argv.slice(1)).then((code) => (process.exitCode = code), fail);
} else if (argv[0] === 'view') {
  require('../lib/cli/view').view(argv.slice(1), out).then((code) => (process.exitCode = code), fail);
} else if (argv[0] === 'profile') {
  profile(argv.slice(1)).then((code) => (process.exitCode = code), fail);
} else if (argv[0] === 'upload') {
  require('../lib/cli/upload').upload(argv.slice(1), out).then((code) => (process.exitCode = code), fail);
} else if (argv[0] === 'top' || argv[0] === 'stats' || argv[0] === 'ps') {
  try {
    const command = { top: () => require('../lib/cli/profile').top, stats: () => require('../lib/cli/stats').stats, ps: () => require('../lib/cli/ps').ps }[argv[0]]();
    process.exitCode = command(argv.slice(1), out);
  } catch (err) {
    fail(err);
  }
} else {
  try {
    process.exitCode = main(argv);
  } catch (err) {
    fail(err);
  }
}
