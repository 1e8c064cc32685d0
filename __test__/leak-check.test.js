'use strict';
// leakCheck / assertNoLeaks: real leaks are found with who holds them; well-behaved code passes.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { EventEmitter } = require('events');
const heapsnap = require('heapsnap');
const { PKG, tmpDir, runNode, listDir, withRecords } = require('./helpers');

const ITERATIONS = 10;
// Failing checks keep their snapshots: keep them here, removed after the file's tests.
const KEPT = tmpDir();
test.after(() => fs.rmSync(KEPT, { recursive: true, force: true }));

function leakNamed(report, name) {
  return report.leaks.find((leak) => leak.name === name);
}

test('a global array that grows every call is found, with its holder', async () => {
  class GlobalArrayItem {
    constructor() {
      this.payload = new Array(20).fill(1);
    }
  }
  globalThis.__leakyItems = [];
  const report = await heapsnap.leakCheck(() => globalThis.__leakyItems.push(new GlobalArrayItem()), { iterations: ITERATIONS, dir: KEPT });
  assert.strictEqual(report.ok, false);
  const leak = leakNamed(report, 'GlobalArrayItem');
  assert.ok(leak, JSON.stringify(report.leaks.map((l) => l.name)));
  assert.strictEqual(leak.count, ITERATIONS);
  assert.strictEqual(leak.perIteration, 1);
  assert.ok(leak.size > 0 && leak.retainedSize >= leak.size);
  assert.strictEqual(leak.retainerPath[0], '(GC roots)');
  assert.strictEqual(leak.retainerPath.at(-1), 'GlobalArrayItem');
  assert.ok(leak.retainerPath.includes('__leakyItems (property)'), leak.retainerPath.join(' -> '));
  assert.strictEqual(report.snapshots.length, 3, 'a failing check keeps its snapshots');
  for (const file of report.snapshots) assert.ok(fs.existsSync(file));
  delete globalThis.__leakyItems;
});

test('a closure over a large object, kept per call, is found', async () => {
  const holders = [];
  const report = await heapsnap.leakCheck(() => {
    const large = new Array(1000).fill(7);
    holders.push(() => large.length);
  }, { iterations: ITERATIONS, dir: KEPT });
  assert.strictEqual(report.ok, false);
  const closures = leakNamed(report, 'Function');
  assert.ok(closures && closures.count === ITERATIONS, JSON.stringify(report.leaks));
  // The captured arrays are reached only through the closures: reported under them.
  assert.strictEqual(leakNamed(report, 'Array'), undefined);
  const arrays = closures.holds.find((held) => held.name === 'Array');
  assert.ok(arrays && arrays.count === ITERATIONS, JSON.stringify(closures.holds));
  assert.ok(arrays.size >= ITERATIONS * 1000 * 4, 'the large arrays are counted');
});

test("a process's first check counts the scenario's objects only, and keeps no warm-up file", (t) => {
  // The portable writer's first dump in a process creates objects for itself after its
  // snapshot: the check takes one before A (in this file's process earlier checks have run).
  const dir = tmpDir(t);
  const r = runNode(`const heapsnap = require(${JSON.stringify(PKG)});
const holders = [];
heapsnap.leakCheck(() => { const large = new Array(1000).fill(7); holders.push(() => large.length); }, { iterations: ${ITERATIONS}, dir: ${JSON.stringify(dir)} })
  .then((report) => console.log(JSON.stringify(report)), (err) => { console.error(err); process.exit(1); });`, { env: { HEAPSNAP_OPTIONS: 'nosignal' } });
  assert.strictEqual(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepStrictEqual(report.leaks.map((leak) => [leak.name, leak.count]), [['Function', ITERATIONS]], JSON.stringify(report.leaks));
  assert.strictEqual(report.snapshots.length, 3);
  assert.deepStrictEqual(listDir(path.dirname(report.snapshots[0])), withRecords('a.heapsnapshot', 'b.heapsnapshot', 'c.heapsnapshot'));
});

test('an event listener added per call is found, held by the emitter', async () => {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  globalThis.__leakyEmitter = emitter;
  const report = await heapsnap.leakCheck(() => emitter.on('change', () => {}), { iterations: ITERATIONS, dir: KEPT });
  const listeners = leakNamed(report, 'Function');
  assert.ok(listeners, JSON.stringify(report.leaks));
  assert.strictEqual(listeners.count, ITERATIONS);
  assert.ok(listeners.retainerPath.includes('change (property)'), listeners.retainerPath.join(' -> '));
  assert.ok(listeners.retainerPath.includes('EventEmitter'), listeners.retainerPath.join(' -> '));
  delete globalThis.__leakyEmitter;
});

test('an unbounded Map cache is found, with the Map in the chain', async () => {
  class CacheEntry {
    constructor(key) {
      this.key = key;
      this.value = 'v'.repeat(200) + key;
    }
  }
  const cache = new Map();
  let n = 0;
  const report = await heapsnap.leakCheck(async () => {
    await new Promise((resolve) => setImmediate(resolve));
    const key = `k${n++}`;
    cache.set(key, new CacheEntry(key));
  }, { iterations: ITERATIONS, dir: KEPT });
  const leak = leakNamed(report, 'CacheEntry');
  assert.ok(leak, JSON.stringify(report.leaks));
  assert.strictEqual(leak.count, ITERATIONS);
  assert.ok(leak.retainerPath.includes('Map'), leak.retainerPath.join(' -> '));
});

test('Buffers kept per call are found', async () => {
  globalThis.__leakyBuffers = [];
  const report = await heapsnap.leakCheck(() => globalThis.__leakyBuffers.push(Buffer.alloc(64 * 1024)), { iterations: ITERATIONS, dir: KEPT });
  const leak = leakNamed(report, 'Buffer');
  assert.ok(leak, JSON.stringify(report.leaks));
  assert.ok(leak.holds.some((held) => held.name === 'ArrayBuffer'), JSON.stringify(leak.holds));
  assert.strictEqual(leak.count, ITERATIONS);
  assert.ok(leak.retainerPath.includes('__leakyBuffers (property)'), leak.retainerPath.join(' -> '));
  delete globalThis.__leakyBuffers;
});

test('well-behaved code passes: temporaries, a lazy cache filled in warmup, interned strings, JIT', async (t) => {
  const dir = tmpDir(t);
  let lazy;
  function hot(x) {
    return x * 2 + 1;
  }
  const scenarios = {
    temporaries: () => new Array(100).fill({ a: 1 }).length,
    lazyCache: () => {
      lazy ||= Array.from({ length: 200 }, (_, i) => ({ i }));
      return lazy.length;
    },
    internedStrings: () => ['interned-key', 'other-key'].join(':'),
    jit: () => {
      let total = 0;
      for (let i = 0; i < 20000; i++) total += hot(i);
      return total;
    },
    asyncTimers: () => new Promise((resolve) => setTimeout(resolve, 1)),
  };
  for (const [name, fn] of Object.entries(scenarios)) {
    const report = await heapsnap.leakCheck(fn, { iterations: ITERATIONS, dir });
    assert.deepStrictEqual(report.leaks, [], `${name}: ${JSON.stringify(report.leaks)}`);
    assert.strictEqual(report.ok, true);
    assert.deepStrictEqual(report.snapshots, [], 'snapshots of a passing check are deleted');
  }
  assert.deepStrictEqual(fs.readdirSync(dir), []);
});

test('keepSnapshots keeps the three snapshots of a passing check', async (t) => {
  const dir = tmpDir(t);
  const report = await heapsnap.leakCheck(() => {}, { iterations: 3, warmup: 1, dir, keepSnapshots: true });
  assert.strictEqual(report.ok, true);
  assert.strictEqual(report.snapshots.length, 3);
  for (const file of report.snapshots) assert.ok(file.startsWith(dir) && fs.statSync(file).size > 1000);
});

test('assertNoLeaks throws a readable AssertionError, and passes clean code', async () => {
  await heapsnap.assertNoLeaks(() => ({ temporary: true }), { iterations: 5 });
  const kept = [];
  class Session {}
  await assert.rejects(heapsnap.assertNoLeaks(() => kept.push(new Session()), { iterations: 5, dir: KEPT }), (err) => {
    assert.ok(err instanceof assert.AssertionError);
    assert.match(err.message, /^heapsnap: 1 leaking constructor\(s\) after 5 iterations:/);
    assert.match(err.message, /\n {2}Session: 5 objects \(.*\), 1 per iteration, held by:\n {4}\(GC roots\) -> .* -> Session\n/);
    assert.match(err.message, /snapshots kept: \S+a\.heapsnapshot/);
    return true;
  });
});

test('bad arguments and a throwing scenario give clear errors', async () => {
  await assert.rejects(heapsnap.leakCheck('nope'), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
  await assert.rejects(heapsnap.leakCheck(() => {}, { iterations: 1 }), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
  await assert.rejects(heapsnap.leakCheck(() => {}, { iterations: -3 }), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
  await assert.rejects(heapsnap.leakCheck(() => {}, { warmup: 'a lot' }), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
  await assert.rejects(heapsnap.leakCheck(() => {}, { iteration: 5 }), /unknown option 'iteration'/);
  await assert.rejects(
    heapsnap.leakCheck(() => {
      throw new Error('boom');
    }),
    /leakCheck: the scenario threw during warmup iteration 1: boom/,
  );
});

test('works with --expose-gc too', () => {
  const child = runNode(`
    const heapsnap = require(${JSON.stringify(PKG)});
    const kept = [];
    class Exposed {}
    heapsnap.leakCheck(() => kept.push(new Exposed()), { iterations: 5, dir: ${JSON.stringify(KEPT)} }).then((report) => {
      console.log(JSON.stringify({ gc: typeof gc, names: report.leaks.map((l) => l.name) }));
    });
  `, { args: ['--expose-gc'] });
  assert.strictEqual(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout);
  assert.strictEqual(result.gc, 'function');
  assert.ok(result.names.includes('Exposed'), child.stdout);
});

// ---- allocation stacks (stacks: true) ----

class TracedSession {
  constructor(i) {
    this.i = i;
    this.buffer = new Array(16).fill(i);
  }
}
const tracedSessions = new Map();
function plantedLeakAllocator(i) {
  tracedSessions.set(i, new TracedSession(i));
}
/** The 1-based line where `name` is declared in this file (where V8 says the function starts). */
function declarationLine(name) {
  return fs.readFileSync(__filename, 'utf8').split('\n').findIndex((line) => line.includes(`function ${name}(`)) + 1;
}

test('leakCheck({ stacks: true }) names the function and line that allocated the leak; the CLI and the report show it', async (t) => {
  let n = 0;
  const scenario = () => plantedLeakAllocator(n++);
  const report = await heapsnap.leakCheck(scenario, { iterations: ITERATIONS, stacks: true, dir: KEPT });
  const leak = leakNamed(report, 'TracedSession');
  assert.ok(leak, JSON.stringify(report.leaks.map((l) => l.name)));
  assert.ok(leak.allocationStacks.length >= 1, JSON.stringify(leak));
  const [top] = leak.allocationStacks;
  assert.strictEqual(top.count, leak.count, 'one stack allocated every leaked session');
  const [inner, caller] = top.frames;
  assert.strictEqual(inner.functionName, 'plantedLeakAllocator');
  assert.strictEqual(inner.url, __filename);
  assert.strictEqual(inner.line, declarationLine('plantedLeakAllocator'));
  assert.ok(inner.column > 0);
  assert.strictEqual(caller.functionName, 'scenario');
  assert.ok(top.frames.every((frame) => !frame.url.endsWith('leak-check.js')), 'heapsnap\'s own frames are cut');

  // Without stacks: no key, and no allocation traces in the snapshots.
  const plain = await heapsnap.leakCheck(() => plantedLeakAllocator(n++), { iterations: ITERATIONS, dir: KEPT });
  assert.strictEqual(leakNamed(plain, 'TracedSession').allocationStacks, undefined);
  assert.strictEqual(heapsnap.readSnapshot(plain.snapshots[2]).hasAllocationTraces, false);

  // B and C carry the traces: retainers --id and leaks print the stack. (B, the first snapshot
  // that saw the leaked objects, is asked for one object's stack: Node 18's V8 drops the trace
  // of an object that moves after it got a snapshot id, so C may have lost it; leaks() then
  // takes it from B.)
  const [a, b, c] = report.snapshots.map((file) => heapsnap.readSnapshot(file));
  assert.strictEqual(c.hasAllocationTraces, true);
  const summaryRow = (await heapsnap.leaks(a, b, c)).find((g) => g.name === 'TracedSession');
  assert.strictEqual(summaryRow.allocationStacks.reduce((sum, stack) => sum + stack.count, 0), leak.count, 'every leaked session has its stack');
  const frames = b.allocationStack(summaryRow.representativeId);
  assert.strictEqual(frames[0].functionName, 'plantedLeakAllocator');
  const { spawnSync } = require('child_process');
  const cliPath = require('path').join(PKG, 'bin', 'heapsnap.js');
  const retainers = spawnSync(process.execPath, [cliPath, 'retainers', report.snapshots[1], '--id', String(summaryRow.representativeId)], { encoding: 'utf8' });
  assert.strictEqual(retainers.status, 0, retainers.stderr);
  assert.match(retainers.stdout, new RegExp(`Allocated at .*\\n\\s+plantedLeakAllocator \\(${__filename.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${declarationLine('plantedLeakAllocator')}:\\d+\\)`));
  const leaks = spawnSync(process.execPath, [cliPath, 'leaks', ...report.snapshots], { encoding: 'utf8' });
  assert.strictEqual(leaks.status, 1, leaks.stderr);
  assert.match(leaks.stdout, /TracedSession \(\d+\), retained via:[\s\S]*allocated \(\d+ of them\) at:\n\s+plantedLeakAllocator \(/);
  const html = require('path').join(tmpDir(t), 'r.html');
  const r = spawnSync(process.execPath, [cliPath, 'report', ...report.snapshots, '-o', html], { encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(fs.readFileSync(html, 'utf8'), /Allocation stacks[\s\S]*<b>plantedLeakAllocator<\/b>/);
  tracedSessions.clear();
});

test('assertNoLeaks({ stacks: true }) prints the top allocation stack', async () => {
  let n = 0;
  await assert.rejects(heapsnap.assertNoLeaks(() => plantedLeakAllocator(n++), { iterations: ITERATIONS, stacks: true, dir: KEPT }), (err) => {
    assert.match(err.message, /TracedSession: \d+ objects/);
    assert.match(err.message, new RegExp(`allocated \\(\\d+ of them\\) at:\\n\\s+plantedLeakAllocator \\(.*leak-check\\.test\\.js:${declarationLine('plantedLeakAllocator')}:\\d+\\)`));
    return true;
  });
  tracedSessions.clear();
  await assert.rejects(heapsnap.leakCheck(() => {}, { stacks: 'yes' }), { code: 'ERR_HEAPSNAP_INVALID_OPTION' });
});

test('a scenario that throws or rejects stops leakCheck with what it threw, with and without stacks', async () => {
  for (const stacks of [false, true]) {
    const thrown = new RangeError('scenario broke');
    let calls = 0;
    await assert.rejects(heapsnap.leakCheck(() => { if (++calls === 4) throw thrown; }, { iterations: 3, warmup: 1, stacks }), (err) => {
      assert.strictEqual(err, thrown, 'the very error the scenario threw');
      assert.match(err.message, /^leakCheck: the scenario threw during first iteration 3: scenario broke$/);
      return true;
    });
    await assert.rejects(heapsnap.leakCheck(async () => { throw 'a string'; }, { iterations: 3, stacks }), (err) => {
      assert.ok(err instanceof Error);
      assert.strictEqual(err.message, 'leakCheck: the scenario threw during warmup iteration 1: a string');
      assert.strictEqual(err.cause, 'a string');
      return true;
    });
    calls = 0;
    await assert.rejects(heapsnap.leakCheck(() => { if (++calls > 2) throw 42; }, { iterations: 3, warmup: 2, stacks }), (err) => {
      assert.strictEqual(err.message, 'leakCheck: the scenario threw during first iteration 1: 42');
      assert.strictEqual(err.cause, 42);
      return true;
    });
    // Async scenarios still see their iteration number, and their results are awaited.
    const seen = [];
    const ok = await heapsnap.leakCheck(async (i) => { await new Promise((resolve) => setImmediate(resolve)); seen.push(i); }, { iterations: 2, warmup: 1, stacks });
    assert.strictEqual(ok.ok, true);
    assert.deepStrictEqual(seen, [0, 0, 1, 0, 1]);
  }
});
