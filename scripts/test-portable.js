#!/usr/bin/env node
'use strict';
// `npm run test:portable`: the whole Node test suite with the portable parts forced
// (HEAPSNAP_FORCE_PORTABLE, default `writer,analyzer`: the portable writer and the WebAssembly
// analyzer): what macOS, Windows and FreeBSD users without Rust get, tested on this machine.
// Tests of native-only features skip with the reason (__test__/helpers.js, nativeWriterOnly).
//
//   node scripts/test-portable.js [--parts writer[,analyzer]] [-- node --test options...]

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');

const ROOT = path.resolve(__dirname, '..');
const { values, positionals } = parseArgs({ options: { parts: { type: 'string', default: 'writer,analyzer' } }, allowPositionals: true });
const tests = fs.readdirSync(path.join(ROOT, '__test__')).filter((name) => name.endsWith('.test.js')).sort().map((name) => path.join('__test__', name));
const started = Date.now();
const r = spawnSync(process.execPath, ['--test', ...positionals, ...tests], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, HEAPSNAP_FORCE_PORTABLE: values.parts },
});
console.error(`test:portable (HEAPSNAP_FORCE_PORTABLE=${values.parts}, Node ${process.version}): ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(r.status ?? 1);
