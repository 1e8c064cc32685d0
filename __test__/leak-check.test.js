'use strict';
// leakCheck / assertNoLeaks: real leaks are found with who holds them; well-behaved code passes.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const { EventEmitter } = require('events');
const heapsnap = require('heapsnap');
const { PKG, tmpDir, runNode } = require('./helpers');

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
