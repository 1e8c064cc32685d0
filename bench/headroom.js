'use strict';
// Calibrates the headroom check's estimate (crates/heapsnap-core/src/write/headroom.rs): for heaps of
// several shapes and sizes, the estimate heapsnap records in `info.memory.estimatedBytes`
// against the measured extra peak RSS of the same dump (VmHWM after, reset through
// /proc/self/clear_refs right before, minus VmRSS before; as bench/write.js measures).
//
//   node bench/headroom.js [--heaps 30,80] [--shapes records,objects,strings,arrays]

const path = require('path');
const { spawnSync } = require('child_process');
const { parseArgs } = require('util');

const ROOT = path.resolve(__dirname, '..');
const { values: args } = parseArgs({
  options: {
    heaps: { type: 'string', default: '30,80' },
    shapes: { type: 'string', default: 'records,objects,strings,arrays' },
  },
});

// One allocation per shape, repeated until the used heap reaches the size.
const SHAPES = {
  records: "keep.push({ id: i, name: 'user-' + i, tags: ['a' + (i % 97), 'b' + (i % 89)], at: new Date(i), score: i * 1.5 })",
  objects: 'keep.push({ a: { b: { c: i } }, d: [i, i + 1] })',
  strings: "keep.push('x'.repeat(2000) + i)",
  arrays: 'keep.push(new Array(200).fill(i))',
};

function measure(shape, mb) {
  const code = `
    const heapsnap = require(${JSON.stringify(ROOT)});
    const fs = require('fs');
    const v8 = require('v8');
    const keep = (globalThis.keep = []);
    for (let i = 0; v8.getHeapStatistics().used_heap_size < ${mb} * 1e6; ) for (let j = 0; j < 1000; j++, i++) ${SHAPES[shape]};
    heapsnap.gc();
    const status = () => Object.fromEntries(fs.readFileSync('/proc/self/status', 'utf8').split('\\n')
      .filter((l) => /^Vm(RSS|HWM):/.test(l)).map((l) => [l.split(':')[0], parseInt(l.split(':')[1]) * 1024]));
    fs.writeFileSync('/proc/self/clear_refs', '5');
    const before = status();
    heapsnap.writeSnapshotAsync({ path: require('os').tmpdir() + '/heapsnap-headroom-bench-' + process.pid + '.heapsnapshot' }).then((info) => {
      const after = status();
      fs.rmSync(info.path);
      fs.rmSync(info.memoryFile, { force: true });
      console.log(JSON.stringify({ heapUsed: info.memory.heapUsed, estimated: info.memory.estimatedBytes, extra: after.VmHWM - before.VmRSS }));
    });`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal' } });
  if (r.status !== 0) throw new Error(`${shape} ${mb} MB: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const mib = (bytes) => `${Math.round(bytes / 2 ** 20)} MiB`;
console.log(`Node ${process.version}\n`);
console.log('| heap shape | used heap | estimate | measured extra peak RSS | estimate / measured |');
console.log('|---|--:|--:|--:|--:|');
for (const shape of args.shapes.split(',')) {
  for (const mb of args.heaps.split(',').map(Number)) {
    const m = measure(shape, mb);
    console.log(`| ${shape} | ${mib(m.heapUsed)} | ${mib(m.estimated)} | ${mib(m.extra)} | ${(m.estimated / m.extra).toFixed(2)} |`);
  }
}
