'use strict';
// Leak checks for test harnesses: run a scenario many times and report what keeps growing,
// with the chain of references that holds it (the three-snapshot technique, automated).

const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { checkOptions, toNative } = require('../writer/options');
const { invalidOption } = require('../errors');
const { formatBytes } = require('../format');
const { readSnapshotAsync, leakCandidates, rankLeaks, isRuntimeClass } = require('../analyzer/analyze');
const { writeAsync } = require('../writer/write');
const { writer } = require('../loader/native');
const { SUFFIX: MEMORY_RECORD_SUFFIX } = require('../analyzer/memory-record');

const SCHEMA = { iterations: 'count', warmup: 'count', dir: 'string', keepSnapshots: 'boolean', stacks: 'boolean' };
const DEFAULTS = { iterations: 10, warmup: 3, keepSnapshots: false, stacks: false };

let checkSeq = 0;

/**
 * Runs the scenario `count` times. `notInlined` calls it from native code, where V8 can't
 * inline it into this loop: allocation stacks name an optimized frame's outermost function
 * only, so an inlined scenario's allocations would be attributed to heapsnap.
 */
async function runIterations(fn, count, phase, notInlined) {
  for (let i = 0; i < count; i++) {
    try {
      if (notInlined) {
        const { threw, value } = writer().callNotInlined(fn, i);
        if (threw) throw value;
        await value;
      } else {
        await fn(i);
      }
    } catch (err) {
      const reason = `leakCheck: the scenario threw during ${phase} iteration ${i + 1}`;
      if (err === null || typeof err !== 'object') throw new Error(`${reason}: ${String(err)}`, { cause: err });
      err.message = `${reason}: ${err.message}`;
      throw err;
    }
  }
}

/** A snapshot after a full GC (`gc: true`), once pending microtasks and immediates settled. */
async function snapshot(dir, label) {
  await new Promise((resolve) => setImmediate(resolve));
  const info = await writeAsync(toNative({ dir, path: `${label}.heapsnapshot`, gc: true }));
  return info.path;
}

let portableWarmedUp = false;

/**
 * The portable writer's first dump in a process creates objects for itself after its
 * snapshot (Node's snapshot stream; with the WebAssembly analyzer, its threads' workers and
 * the glue its calls run for the first time): were that dump A, they would be allocated
 * between A and B (a closure leaked per iteration read 21 Functions for 10). The first check
 * in such a process takes a dump before A and throws it away.
 */
async function warmUpPortableWriter(dir) {
  if (portableWarmedUp || !writer().portable) return;
  const file = await snapshot(dir, 'warm-up');
  fs.rmSync(file, { force: true });
  fs.rmSync(file + MEMORY_RECORD_SUFFIX, { force: true });
  portableWarmedUp = true;
}

/**
 * The scenario's part of allocation stacks: frames up to where leakCheck called it (heapsnap's
 * own frames and V8's anonymous placeholders below are the harness), stacks that are then the
 * same merged, most objects first.
 */
function scenarioStacks(stacks) {
  const merged = new Map();
  for (const { count, size, frames } of stacks) {
    const end = frames.findIndex((frame) => frame.url === __filename);
    const own = (end < 0 ? frames : frames.slice(0, end)).filter((frame) => frame.functionName || frame.url);
    const key = JSON.stringify(own);
    const entry = merged.get(key) || { count: 0, size: 0, frames: own };
    entry.count += count;
    entry.size += size;
    merged.set(key, entry);
  }
  return [...merged.values()].filter((stack) => stack.frames.length > 0).sort((x, y) => y.count - x.count || y.size - x.size);
}

/**
 * Groups that are leaks and not noise: user classes whose objects, allocated between A and
 * B, are still alive in C, at least one per iteration, and that kept growing from B to C;
 * then ranked (rankLeaks): a group reached only through another leaking class is folded into
 * it as `holds`.
 */
function realLeaks(groups, growthBC, iterations, stacksWanted) {
  const isLeak = (group) =>
    !isRuntimeClass(group.name) && group.count >= iterations && (growthBC.get(group.name) || 0) >= iterations / 2;
  return rankLeaks(groups, isLeak).map(({ name, count, size, retainedSize, retainerPath, holds, allocationStacks }) => ({
    name,
    count,
    size,
    retainedSize,
    perIteration: count / iterations,
    retainerPath,
    holds,
    ...(stacksWanted && { allocationStacks: scenarioStacks(allocationStacks) }),
  }));
}

/**
 * Runs `fn` (sync or async) `warmup` times, takes snapshot A, runs it `iterations` times,
 * takes B, runs it `iterations` times more, takes C (a full GC before each), and reports
 * objects allocated between A and B that are still alive in C and grew with the iterations.
 * Resolves to `{ ok, leaks: [{ name, count, size, retainedSize, perIteration, retainerPath, holds }],
 * snapshots }`; snapshots are deleted unless `keepSnapshots` or leaks were found.
 *
 * `stacks: true` records the stack of every allocation from snapshot A to C (V8's allocation
 * tracking: slower, for tests), and each leak gets `allocationStacks`: the few stacks that
 * allocated most of its objects, `[{ count, size, frames: [{ functionName, url, line, column }] }]`,
 * innermost frame first.
 */
async function leakCheck(fn, options) {
  if (typeof fn !== 'function') throw invalidOption(`leakCheck: fn must be a function, got ${typeof fn}`);
  const { iterations, warmup, dir: parent, keepSnapshots, stacks } = { ...DEFAULTS, ...checkOptions('leakCheck', options, SCHEMA) };
  if (iterations < 2) throw invalidOption(`leakCheck: option 'iterations' must be at least 2, got ${iterations}`);
  const dir = fs.mkdtempSync(path.join(parent || os.tmpdir(), `heapsnap-leakcheck-${process.pid}-${++checkSeq}-`));
  const snapshots = [];
  let result;
  let tracking = false;
  try {
    await runIterations(fn, warmup, 'warmup');
    await warmUpPortableWriter(dir);
    if (stacks) {
      writer().trackAllocations(true);
      tracking = true;
    }
    snapshots.push(await snapshot(dir, 'a'));
    await runIterations(fn, iterations, 'first', stacks);
    snapshots.push(await snapshot(dir, 'b'));
    await runIterations(fn, iterations, 'second', stacks);
    snapshots.push(await snapshot(dir, 'c'));
    // C holds the traces; stopping frees what V8 recorded.
    if (tracking) {
      tracking = false;
      await writer().trackAllocations(false);
    }

    const [a, b, c] = await Promise.all(snapshots.map((file) => readSnapshotAsync(file)));
    const growthBC = new Map(b.diff(c).constructors.map((row) => [row.name, row.countDelta]));
    const leaks = realLeaks(leakCandidates(a, b, c), growthBC, iterations, stacks);
    result = { ok: leaks.length === 0, leaks, iterations, snapshots };
    return result;
  } finally {
    if (tracking) await writer().trackAllocations(false);
    if (!keepSnapshots && (!result || result.ok)) {
      fs.rmSync(dir, { recursive: true, force: true });
      if (result) result.snapshots = [];
    }
  }
}

/** `fn (file:line:column)`, as stack traces print a frame. */
function describeFrame({ functionName, url, line, column }) {
  const where = url ? `${url}:${line}:${column}` : 'native';
  return `${functionName || '(anonymous)'} (${where})`;
}

/** The message a test runner shows: what leaks, how fast, who holds it, who allocated it. */
function describeLeaks(report) {
  const lines = [`heapsnap: ${report.leaks.length} leaking constructor(s) after ${report.iterations} iterations:`];
  for (const leak of report.leaks) {
    lines.push(
      `  ${leak.name}: ${leak.count} objects (${formatBytes(leak.size)}, retaining ${formatBytes(leak.retainedSize)}), ` +
        `${+leak.perIteration.toFixed(2)} per iteration, held by:`,
      `    ${leak.retainerPath.join(' -> ')}`,
    );
    if (leak.holds.length) {
      lines.push(`    and holding: ${leak.holds.map((held) => `${held.count} ${held.name} (${formatBytes(held.size)})`).join(', ')}`);
    }
    const [top] = leak.allocationStacks || [];
    if (top) {
      lines.push(`    allocated (${top.count} of them) at:`);
      for (const frame of top.frames.slice(0, 8)) lines.push(`      ${describeFrame(frame)}`);
    }
  }
  if (report.snapshots.length) lines.push(`  snapshots kept: ${report.snapshots.join(' ')}`);
  return lines.join('\n');
}

/** Like `leakCheck`, but throws an AssertionError naming the leaks and their retainers. */
async function assertNoLeaks(fn, options) {
  const report = await leakCheck(fn, options);
  if (!report.ok) {
    throw new assert.AssertionError({ message: describeLeaks(report), actual: report.leaks, expected: [], operator: 'assertNoLeaks' });
  }
  return report;
}

module.exports = { leakCheck, assertNoLeaks, describeLeaks, describeFrame };
