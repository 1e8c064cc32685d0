'use strict';
// index.d.ts describes what index.js exports, and real usage type-checks under --strict.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const heapsnap = require('heapsnap');
const { PKG, ROOT } = require('./helpers');

test('every export of index.js is declared in index.d.ts, and nothing more', () => {
  const dts = fs.readFileSync(path.join(PKG, 'index.d.ts'), 'utf8');
  const declared = [...dts.matchAll(/^export function (\w+)/gm)].map((m) => m[1]);
  assert.deepStrictEqual([...new Set(declared)].sort(), Object.keys(heapsnap).sort());
  for (const name of Object.keys(heapsnap)) assert.strictEqual(typeof heapsnap[name], 'function', name);
});

test('the documented usage type-checks with tsc --strict', () => {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const child = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'node16', '--moduleResolution', 'node16', '--types', 'node', path.join(__dirname, 'types', 'usage.ts')], { cwd: ROOT, encoding: 'utf8' });
  assert.strictEqual(child.status, 0, child.stdout + child.stderr);
});
