'use strict';
// Memory watch: real processes whose heap, external memory or post-GC floor moves through
// phases get exactly the dumps their rules promise, each with a memory record that says which
// rule fired and the samples that led there.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { PKG, tmpDir, runNode, listDir, nativeWriterOnly } = require('./helpers');

const heapsnap = require(PKG);

/**
 * A child that moves its retained heap through `phases` ([share of the heap limit, ms to stay])
 * with a full GC after each step, so heapUsed is what it holds; it waits for the watch's dumps
 * to finish and prints the watch's status.
 */
const HEAP_PHASES = (phases) => `
  const v8 = require('v8');
  const heapsnap = require(${JSON.stringify(PKG)});
  const limit = v8.getHeapStatistics().heap_size_limit;
  const held = [];
  const used = () => { global.gc(); return process.memoryUsage().heapUsed; };
  const fillTo = (share) => { while (used() < share * limit) { const chunk = []; for (let i = 0; i < 20000; i++) chunk.push({ i, s: 'x' + i }); held.push(chunk); } };
  const dropTo = (share) => { while (held.length && used() > share * limit) held.pop(); };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const settled = () => (heapsnap.watchStatus()?.dumps || []).every((d) => d.path || d.error);
  (async () => {
    for (const [share, ms] of ${JSON.stringify(phases)}) {
      fillTo(share);
      dropTo(share);
      await sleep(ms);
    }
    while (!settled()) await sleep(50);
    await sleep(300);
    console.log(JSON.stringify(heapsnap.watchStatus()));
  })();
`;

function snapshots(dir) {
  return listDir(dir).filter((name) => name.endsWith('.heapsnapshot'));
}

function record(dir, name) {
  return JSON.parse(fs.readFileSync(path.join(dir, `${name}.memory.json`), 'utf8'));
}

function byTime(dir) {
  return snapshots(dir)
    .map((name) => ({ name, record: record(dir, name) }))
    .sort((a, b) => a.record.time.localeCompare(b.record.time));
}

test('three rising heap lines from HEAPSNAP_OPTIONS alone: one dump at each, in order, with the rule and its samples', (t) => {
  const dir = tmpDir(t);
  // Lines far below the old generation's room: V8's heap limit also counts the young
  // generation's reservation, which differs between majors (Node 24's is larger).
  const child = runNode(HEAP_PHASES([[0.05, 1500], [0.07, 1500], [0.09, 1500]]), {
    args: ['--expose-gc', '--max-old-space-size=512'],
    env: { HEAPSNAP_OPTIONS: `nosignal,watch=heap>4%,watch=heap>6%,watch=heap>8%,watchinterval=0.1,interval=0,dir=${dir}` },
    timeout: 180_000,
  });
  assert.strictEqual(child.status, 0, child.stderr);
  const dumps = byTime(dir);
  assert.deepStrictEqual(
    dumps.map((d) => d.record.trigger.rules.map((r) => r.rule)),
    [['heap>4%'], ['heap>6%'], ['heap>8%']],
    `one dump per line, in order: ${child.stderr}`,
  );
  for (const { name, record: rec } of dumps) {
    const [rule] = rec.trigger.rules;
    assert.strictEqual(rec.trigger.kind, 'watch');
    assert.ok(rule.value > rule.line, `${name}: the sample that fired is above the line (${rule.value} > ${rule.line})`);
    assert.ok(rec.trigger.samples.length > 0 && rec.trigger.samples.length <= 12);
    const last = rec.trigger.samples[rec.trigger.samples.length - 1];
    assert.ok(last.heapUsed > rule.line && last.heapLimit > 0, 'the samples that led there end above the line');
  }
  const summary = heapsnap.readSnapshot(path.join(dir, dumps[2].name)).summary();
  assert.ok(summary.nodeCount > 100_000, `the last snapshot holds the grown heap: ${summary.nodeCount} nodes`);
  const status = JSON.parse(child.stdout);
  assert.deepStrictEqual(status.rules.map((r) => [r.rule, r.fired]), [['heap>4%', 1], ['heap>6%', 1], ['heap>8%', 1]]);
  assert.match(child.stderr, /heapsnap: watch: heap>4% crossed: heap snapshot written to /);
});

test('a heap sawing below the line gets no dump; one crossing is one dump, the next only after re-arming below the mark', (t) => {
  const dir = tmpDir(t);
  const phases = [[0.04, 600], [0.02, 600], [0.04, 600], [0.02, 600], [0.07, 1500], [0.064, 600], [0.072, 1500], [0.016, 800], [0.07, 1500]];
  const child = runNode(HEAP_PHASES(phases), {
    args: ['--expose-gc', '--max-old-space-size=512'],
    env: { HEAPSNAP_OPTIONS: `watch=heap>6%,watchrearm=0.5,watchinterval=0.1,interval=0,dir=${dir}` },
    timeout: 180_000,
  });
  assert.strictEqual(child.status, 0, child.stderr);
  const dumps = byTime(dir);
  assert.strictEqual(dumps.length, 2, `two crossings, two dumps (sawing below and above the line adds none): ${child.stderr}`);
  const status = JSON.parse(child.stdout);
  assert.strictEqual(status.rules[0].fired, 2);
  // The re-arming fall (to 1.6%, below 0.5 x 6%) lies between the two dumps' samples.
  const secondSamples = dumps[1].record.trigger.samples;
  assert.ok(secondSamples.some((s) => s.heapUsed < status.lastSample.heapLimit * 0.03) || secondSamples.length === 12, 'the second dump follows a fall below the re-arm mark');
});

test('external memory (Buffers) crosses an external> line: one dump, and the snapshot shows the Buffers', (t) => {
  const dir = tmpDir(t);
  const code = `
    const heapsnap = require(${JSON.stringify(PKG)});
    heapsnap.watch({ rules: ['external>48m'], interval: 0.1, cooldown: 0, dir: ${JSON.stringify(dir)}, quiet: true });
    const kept = [];
    setTimeout(() => { for (let i = 0; i < 8; i++) kept.push(Buffer.alloc(8 << 20, i)); }, 300);
    const wait = setInterval(() => {
      const dumps = heapsnap.watchStatus().dumps;
      if (dumps.length > 0 && dumps.every((d) => d.path || d.error)) { clearInterval(wait); setTimeout(() => console.log(JSON.stringify(heapsnap.watchStatus())), 500); }
    }, 50);
  `;
  const child = runNode(code, { timeout: 120_000 });
  assert.strictEqual(child.status, 0, child.stderr);
  const dumps = byTime(dir);
  assert.strictEqual(dumps.length, 1, child.stderr);
  const [rule] = dumps[0].record.trigger.rules;
  assert.strictEqual(rule.rule, 'external>48m');
  assert.ok(rule.value >= 64 << 20, `external memory at the dump: ${rule.value}`);
  assert.ok(dumps[0].record.external >= 64 << 20, 'the memory record shows it too');
  assert.doesNotMatch(child.stderr, /heapsnap: watch: .* crossed/, 'quiet: no success line');
});

const GROWTH = (leak) => `
  const heapsnap = require(${JSON.stringify(PKG)});
  heapsnap.watch({ rules: ['growth>20%'], interval: 0.1, cooldown: 0, maxDumps: 1, quiet: true });
  const kept = [];
  let steps = 0;
  const step = setInterval(() => {
    const batch = [];
    for (let i = 0; i < 3000; i++) batch.push({ i, text: 'leak ' + i });
    if (${leak}) kept.push(batch);
    global.gc();
    if (++steps === 120) {
      clearInterval(step);
      const wait = setInterval(() => {
        if (heapsnap.watchStatus().dumps.every((d) => d.path || d.error)) { clearInterval(wait); console.log(JSON.stringify(heapsnap.watchStatus())); }
      }, 50);
    }
  }, 25);
`;

test('growth>20%: a heap whose post-GC floor rises gets a dump; the same churn without the leak gets none', (t) => {
  const leakDir = tmpDir(t);
  const leak = runNode(GROWTH(true), { args: ['--expose-gc'], timeout: 120_000, cwd: leakDir });
  assert.strictEqual(leak.status, 0, leak.stderr);
  const status = JSON.parse(leak.stdout);
  assert.strictEqual(status.rules[0].fired, 1, `the leak fires the rule: ${leak.stdout}`);
  assert.strictEqual(status.dumps.length, 1);
  const rec = JSON.parse(fs.readFileSync(path.resolve(leakDir, `${status.dumps[0].path}.memory.json`), 'utf8'));
  const [rule] = rec.trigger.rules;
  assert.strictEqual(rule.rule, 'growth>20%');
  assert.ok(Math.min(...rule.recent) >= rule.baseline * 1.2, `the recent floors are 20% above the baseline: ${JSON.stringify(rule)}`);
  assert.ok(rec.trigger.samples.some((s) => s.floors.length > 0), 'the samples carry the floors');

  const cleanDir = tmpDir(t);
  const clean = runNode(GROWTH(false), { args: ['--expose-gc'], timeout: 120_000, cwd: cleanDir });
  assert.strictEqual(clean.status, 0, clean.stderr);
  const cleanStatus = JSON.parse(clean.stdout);
  assert.ok(cleanStatus.rules[0].floors >= 50, `full GCs were seen: ${cleanStatus.rules[0].floors}`);
  assert.strictEqual(cleanStatus.rules[0].fired, 0, `no leak, no dump: ${clean.stdout}`);
  assert.deepStrictEqual(snapshots(cleanDir), []);
});

test("on('dump'): listeners see every API dump with its trigger; a throwing listener is reported, never fatal", (t) => {
  const dir = tmpDir(t);
  const code = `
    const heapsnap = require(${JSON.stringify(PKG)});
    const seen = [];
    heapsnap.on('dump', () => { throw new Error('listener bug'); });
    heapsnap.on('dump', (info) => seen.push({ path: info.path, trigger: info.trigger, bytes: info.bytes }));
    heapsnap.on('dump', async () => { throw new Error('async listener bug'); });
    heapsnap.writeSnapshot(${JSON.stringify(path.join(dir, 'sync.heapsnapshot'))});
    heapsnap.writeSnapshotAsync({ path: ${JSON.stringify(path.join(dir, 'async.heapsnapshot'))} }).then(() => {
      setTimeout(() => console.log(JSON.stringify(seen)), 100);
    });
  `;
  const child = runNode(code, { timeout: 120_000 });
  assert.strictEqual(child.status, 0, child.stderr);
  const seen = JSON.parse(child.stdout);
  assert.deepStrictEqual(seen.map((e) => [path.basename(e.path), e.trigger]), [['sync.heapsnapshot', 'api'], ['async.heapsnapshot', 'api']]);
  for (const e of seen) assert.strictEqual(e.bytes, fs.statSync(e.path).size);
  assert.match(child.stderr, /heapsnap: a 'dump' listener failed: Error: listener bug/);
  assert.match(child.stderr, /heapsnap: a 'dump' listener failed: Error: async listener bug/);
});

test('watch() refuses bad rules and options with ERR_HEAPSNAP_INVALID_OPTION and a message naming the rule', () => {
  const bad = [
    [{ rules: [] }, /non-empty array/],
    [{ rules: 'heap>80%' }, /non-empty array/],
    [{ rules: ['heap>120%'] }, /below 100/],
    [{ rules: ['rss>50%'] }, /rss takes a size/],
    [{ rules: ['growth>5m'] }, /growth takes a percentage/],
    [{ rules: ['disk>5g'] }, /'disk>5g' is not a rule like/],
    [{ rules: ['heap>lots'] }, /is not a rule like/],
    [{ rules: ['heap>80%'], interval: -1 }, /interval/],
    [{ rules: ['heap>80%'], rearm: 2 }, /rearm/],
    [{ rules: ['heap>80%'], compres: 'gzip' }, /unknown option 'compres'/],
    [null, /options must be an object/],
  ];
  for (const [options, message] of bad) {
    assert.throws(() => heapsnap.watch(options), (err) => err.code === 'ERR_HEAPSNAP_INVALID_OPTION' && message.test(err.message), JSON.stringify(options));
  }
  assert.strictEqual(heapsnap.watchStatus(), null);
});

test('watch() status says each rule, its line and value; stop() ends it; a bad HEAPSNAP_OPTIONS rule never breaks require', (t) => {
  const handle = heapsnap.watch({ rules: ['heap>95%', 'rss>1000g'], interval: 0.05 });
  t.after(() => handle.stop());
  return new Promise((resolve) => setTimeout(resolve, 300)).then(() => {
    const status = heapsnap.watchStatus();
    assert.deepStrictEqual(status.rules.map((r) => [r.rule, r.armed, r.fired]), [['heap>95%', true, 0], ['rss>1000g', true, 0]]);
    assert.ok(status.rules[0].value > 0 && status.rules[0].line > status.rules[0].value);
    assert.strictEqual(status.rules[1].line, 1000 * 1024 ** 3);
    assert.ok(status.lastSample.rss > 0);
    assert.strictEqual(handle.stop(), true);
    assert.strictEqual(heapsnap.watchStatus(), null);
    const child = runNode(`require(${JSON.stringify(PKG)}); console.log('alive')`, { env: { HEAPSNAP_OPTIONS: 'watch=heap>lots' } });
    assert.strictEqual(child.status, 0);
    assert.strictEqual(child.stdout.trim(), 'alive');
    assert.match(child.stderr, /heapsnap: watch disabled: watch: 'heap>lots' is not a rule like/);
  });
});

test('the memory log: one JSON line per sample with the documented fields, 0600, rotated; heapsnap stats reads it with the trend', (t) => {
  const dir = tmpDir(t);
  const log = path.join(dir, 'mem.jsonl');
  const code = `
    const heapsnap = require(${JSON.stringify(PKG)});
    heapsnap.watch({ statsFile: ${JSON.stringify(log)}, statsMaxBytes: 8000, interval: 0.05 });
    const kept = [];
    const grow = setInterval(() => { for (let i = 0; i < 5000; i++) kept.push({ i }); }, 5);
    setTimeout(() => { clearInterval(grow); heapsnap.stopWatch(); }, 2000);
  `;
  const child = runNode(code, { timeout: 60_000 });
  assert.strictEqual(child.status, 0, child.stderr);
  assert.strictEqual(fs.statSync(log).mode & 0o777, 0o600);
  const lines = [`${log}.1`, log].flatMap((file) => {
    assert.ok(fs.statSync(file).size <= 8000, `${file} stays within statsMaxBytes`);
    return fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  });
  assert.ok(lines.length >= 10, `a line per sample: ${lines.length}`);
  for (const line of lines) {
    for (const key of ['rss', 'heapUsed', 'heapTotal', 'heapLimit', 'external', 'arrayBuffers', 'pid']) assert.strictEqual(typeof line[key], 'number', key);
    assert.ok(!Number.isNaN(Date.parse(line.time)));
    assert.ok(line.heapSpaces.old_space.used > 0, 'heap spaces by V8 name');
    assert.ok('cgroupUsage' in line && 'cgroupLimit' in line);
    for (const { count, ms } of Object.values(line.gc)) assert.ok(count > 0 && ms >= 0);
  }
  // GCs by kind, named as V8 names them: the lines kept after rotation (the last second or so)
  // may hold only the old generation's kinds while `kept` grows, so any kind will do.
  const KINDS = ['scavenge', 'minorMarkSweep', 'minorMarkCompact', 'markSweepCompact', 'incrementalMarking', 'processWeakCallbacks'];
  assert.ok(lines.some((line) => Object.entries(line.gc).some(([kind, { count }]) => KINDS.includes(kind) && count > 0)), `GCs by kind are counted: ${JSON.stringify(lines.map((line) => line.gc))}`);
  assert.ok(lines.some((line) => line.eventLoopDelay && line.eventLoopDelay.p99Ms > 0), 'event-loop delay is measured');
  const cli = path.join(PKG, 'bin', 'heapsnap.js');
  const json = runNode(`process.argv = [process.argv[0], ${JSON.stringify(cli)}, 'stats', ${JSON.stringify(log)}, '--json']; require(${JSON.stringify(cli)})`);
  assert.strictEqual(json.status, 0, json.stderr);
  const stats = JSON.parse(json.stdout);
  assert.strictEqual(stats.samples, lines.length, 'both files, oldest first');
  assert.strictEqual(stats.first.time, lines[0].time);
  assert.ok(stats.trend.heapUsedPerMinute > 0, `the heap grew: ${JSON.stringify(stats.trend)}`);
  const text = runNode(`process.argv = [process.argv[0], ${JSON.stringify(cli)}, 'stats', ${JSON.stringify(log)}, '--last', '3']; require(${JSON.stringify(cli)})`);
  assert.match(text.stdout, /time \(UTC\) +rss +heap used +of limit/);
  assert.strictEqual(text.stdout.split('\n').filter((l) => /^\d\d:\d\d:\d\d /.test(l)).length, 3);
  assert.match(text.stdout, /trend: rss [+-].*\/min, heap used \+/);
  const none = runNode(`process.argv = [process.argv[0], ${JSON.stringify(cli)}, 'stats', ${JSON.stringify(String(process.pid))}]; require(${JSON.stringify(cli)})`);
  assert.strictEqual(none.status, 2);
  assert.match(none.stderr, /ERR_HEAPSNAP_NO_STATS: process \d+ keeps no memory log/);
});

test("on('dump') also hears the dumps the native writer starts: signal (in-process and background) and heapsnap dump requests", nativeWriterOnly('background dumps and the request channel of heapsnap dump'), async (t) => {
  const { spawn, spawnSync } = require('child_process');
  const dir = tmpDir(t);
  const events = [];
  const start = (env) => {
    const child = spawn(process.execPath, ['-e', `
      const heapsnap = require(${JSON.stringify(PKG)});
      heapsnap.on('dump', (e) => console.log(JSON.stringify({ trigger: e.trigger, mode: e.mode, path: e.path, bytes: e.bytes })));
      process.stdin.resume(); process.stdin.on('end', () => process.exit(0));
      console.log('ready');
    `], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
    t.after(() => child.kill('SIGKILL'));
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) events.push({ pid: child.pid, line });
    });
    return child;
  };
  const waitFor = async (pid, predicate) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const found = events.find((e) => e.pid === pid && predicate(e.line));
      if (found) return found.line === 'ready' ? 'ready' : JSON.parse(found.line);
      if (Date.now() > deadline) throw new Error(`no such event from ${pid}: ${JSON.stringify(events)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const inProcess = start({ HEAPSNAP_OPTIONS: `dir=${dir},interval=0` });
  const background = start({ HEAPSNAP_OPTIONS: `dir=${dir},interval=0,background` });
  await waitFor(inProcess.pid, (line) => line === 'ready');
  await waitFor(background.pid, (line) => line === 'ready');
  process.kill(inProcess.pid, 'SIGUSR2');
  const signal = await waitFor(inProcess.pid, (line) => line.includes('"signal"'));
  assert.deepStrictEqual([signal.trigger, signal.mode], ['signal', 'in-process']);
  assert.strictEqual(fs.statSync(signal.path).size, signal.bytes);
  process.kill(background.pid, 'SIGUSR2');
  const forked = await waitFor(background.pid, (line) => line.includes('"signal"'));
  assert.deepStrictEqual([forked.trigger, forked.mode], ['signal', 'background']);
  assert.strictEqual(fs.statSync(forked.path).size, forked.bytes);
  const out = path.join(dir, 'requested.heapsnapshot');
  const cli = spawnSync(process.execPath, [path.join(PKG, 'bin', 'heapsnap.js'), 'dump', String(inProcess.pid), '-o', out], { encoding: 'utf8', timeout: 120_000 });
  assert.strictEqual(cli.status, 0, cli.stderr);
  const remote = await waitFor(inProcess.pid, (line) => line.includes('"remote"'));
  assert.deepStrictEqual([remote.trigger, remote.path], ['remote', out]);
  inProcess.stdin.end();
  background.stdin.end();
});

/**
 * A memory cgroup made for the test with `limit` bytes: `{ dir, join(pid), remove() }` (v2 when
 * the process's own cgroup is v2 and delegates memory, else v1), or `{ skip }` with the reason.
 */
function memoryCgroup(limit) {
  if (process.platform !== 'linux' || process.getuid() !== 0) return { skip: 'needs root on Linux to make a memory cgroup' };
  const name = `heapsnap-test-${process.pid}`;
  const candidates = [
    { dir: `/sys/fs/cgroup/${name}`, limitFile: 'memory.max', needs: '/sys/fs/cgroup/cgroup.subtree_control' },
    { dir: `/sys/fs/cgroup/memory/${name}`, limitFile: 'memory.limit_in_bytes', needs: '/sys/fs/cgroup/memory/cgroup.procs' },
  ];
  const reasons = [];
  for (const c of candidates) {
    if (!fs.existsSync(c.needs)) continue;
    if (c.limitFile === 'memory.max' && !fs.readFileSync(c.needs, 'utf8').includes('memory')) {
      reasons.push('cgroup v2 does not delegate the memory controller here');
      continue;
    }
    try {
      fs.mkdirSync(c.dir);
      fs.writeFileSync(path.join(c.dir, c.limitFile), String(limit));
    } catch (err) {
      reasons.push(`${c.dir}: ${err.code}`);
      try {
        fs.rmdirSync(c.dir);
      } catch {
        // never made
      }
      continue;
    }
    return {
      dir: c.dir,
      join: (pid) => fs.writeFileSync(path.join(c.dir, 'cgroup.procs'), String(pid)),
      remove: () => fs.rmdirSync(c.dir), // a cgroup directory goes with rmdir once empty
    };
  }
  return { skip: `no memory cgroup can be made here (${reasons.join('; ') || 'no cgroup v1 or v2 memory hierarchy'})` };
}

test('cgroup>50%: a process in a 256 MiB memory cgroup gets one dump when its usage crosses half the limit', nativeWriterOnly("the cgroup's usage is read by the native writer"), async (t) => {
  const cgroup = memoryCgroup(256 * 1024 * 1024);
  if (cgroup.skip) return t.skip(cgroup.skip);
  t.after(() => cgroup.remove()); // the child has exited by then: an empty cgroup can go
  const { spawn } = require('child_process');
  const dir = tmpDir(t);
  const child = spawn(process.execPath, ['-e', `
    const fs = require('fs');
    const heapsnap = require(${JSON.stringify(PKG)});
    process.stdin.once('data', () => {
      heapsnap.watch({ rules: ['cgroup>50%'], interval: 0.1, cooldown: 0, dir: ${JSON.stringify(dir)}, quiet: true });
      const kept = [];
      const grow = setInterval(() => {
        kept.push(Buffer.alloc(8 << 20, 1));
        if (kept.length === 20) {
          clearInterval(grow);
          const wait = setInterval(() => {
            const s = heapsnap.watchStatus();
            if (s.dumps.length > 0 && s.dumps.every((d) => d.path || d.error)) { clearInterval(wait); console.log(JSON.stringify(s)); process.exit(0); }
          }, 50);
        }
      }, 50);
    });
  `], { stdio: ['pipe', 'pipe', 'inherit'] });
  cgroup.join(child.pid);
  child.stdin.write('go\n');
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.strictEqual(code, 0);
  const status = JSON.parse(out);
  assert.strictEqual(status.dumps.length, 1, out);
  const [rule] = JSON.parse(fs.readFileSync(`${status.dumps[0].path}.memory.json`, 'utf8')).trigger.rules;
  assert.strictEqual(rule.rule, 'cgroup>50%');
  assert.strictEqual(rule.line, 128 * 1024 * 1024, "half of the cgroup's limit");
  assert.ok(rule.value > rule.line, `the cgroup's usage crossed it: ${rule.value}`);
  assert.strictEqual(status.lastSample.cgroupLimit, 256 * 1024 * 1024);
});
