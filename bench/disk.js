'use strict';
// Calibrates the free-space check's estimate of a snapshot file's size
// (crates/heapsnap-core/src/write/space.rs): for heaps of several shapes and sizes, the file each
// compression really makes against V8's used heap, and against the estimate heapsnap recorded
// (`info.disk.estimatedBytes`). Every dump is forced, so the check itself never gets in the way.
//
//   node bench/disk.js [--heaps 30,80] [--shapes fresh,records,objects,strings,unicode,arrays,ast,typescript]

const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { parseArgs } = require('util');

const ROOT = path.resolve(__dirname, '..');
const { values: args } = parseArgs({
  options: {
    heaps: { type: 'string', default: '30,80' },
    shapes: { type: 'string', default: 'fresh,records,objects,strings,unicode,arrays,ast,typescript' },
  },
});

// One allocation per shape, repeated until the used heap reaches the size. `ast` parses
// generated TypeScript with TypeScript's own parser (nodes, arrays, identifiers: a compiler's
// heap); `typescript` only loads the compiler (code, closures, scripts) and ignores the size.
const TS = JSON.stringify(require.resolve('typescript'));
const SHAPES = {
  fresh: null,
  records: "keep.push({ id: i, name: 'user-' + i, tags: ['a' + (i % 97), 'b' + (i % 89)], at: new Date(i), score: i * 1.5 })",
  objects: 'keep.push({ a: { b: { c: i } }, d: [i, i + 1] })',
  strings: "keep.push('x'.repeat(2000) + i)",
  unicode: "keep.push('\\u00e9\\u20ac\\n\\u0022'.repeat(500) + i)",
  arrays: 'keep.push(new Array(200).fill(i))',
  ast: `keep.push(require(${TS}).createSourceFile('f' + i + '.ts', 'export function f' + i + '(a: number, b: string) { const x = { a, b: b + ' + i + ' }; return [x, a * 2, "s' + i + '"]; }', 99, true))`,
  typescript: null,
};

const COMPRESSIONS = [
  { name: 'none', options: {} },
  { name: 'gzip 1', options: { compress: 'gzip', level: 1 } },
  { name: 'gzip 3 (default)', options: { compress: 'gzip' } },
  { name: 'zstd 1 (default)', options: { compress: 'zstd' } },
];

function measure(shape, mb) {
  const grow = SHAPES[shape]
    ? `for (let i = 0; v8.getHeapStatistics().used_heap_size < ${mb} * 1e6; ) for (let j = 0; j < 1000; j++, i++) ${SHAPES[shape]};`
    : shape === 'typescript' ? `keep.push(require(${TS}));` : '';
  const code = `
    const heapsnap = require(${JSON.stringify(ROOT)});
    const fs = require('fs');
    const v8 = require('v8');
    const keep = (globalThis.keep = []);
    ${grow}
    heapsnap.gc();
    (async () => {
      const out = [];
      for (const c of ${JSON.stringify(COMPRESSIONS)}) {
        const info = await heapsnap.writeSnapshotAsync({ ...c.options, force: true, path: ${JSON.stringify(os.tmpdir())} + '/heapsnap-disk-bench-' + process.pid + '.heapsnapshot' + (c.options.compress === 'gzip' ? '.gz' : c.options.compress === 'zstd' ? '.zst' : '') });
        fs.rmSync(info.path);
        out.push({ name: c.name, heapUsed: info.memory.heapUsed, bytes: info.bytes, rawBytes: info.rawBytes, estimated: info.disk ? info.disk.estimatedBytes : NaN });
      }
      console.log(JSON.stringify(out));
    })();`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, HEAPSNAP_OPTIONS: 'nosignal' }, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${shape} ${mb} MB: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
console.log(`Node ${process.version}\n`);
console.log('| heap shape | used heap | compression | file | file / used heap | estimate | estimate / file |');
console.log('|---|--:|---|--:|--:|--:|--:|');
for (const shape of args.shapes.split(',')) {
  const sizes = SHAPES[shape] ? args.heaps.split(',').map(Number) : [0];
  for (const mb of sizes) {
    for (const m of measure(shape, mb)) {
      console.log(`| ${shape} | ${mib(m.heapUsed)} | ${m.name} | ${mib(m.bytes)} | ${(m.bytes / m.heapUsed).toFixed(3)} | ${mib(m.estimated)} | ${(m.estimated / m.bytes).toFixed(2)} |`);
    }
  }
}
