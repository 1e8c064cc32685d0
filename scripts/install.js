#!/usr/bin/env node
'use strict';
// `npm install` hook. Loading heapsnap never depends on it: package managers increasingly skip
// dependencies' install scripts (pnpm 10 and Bun by default), so the loader finds the prebuilt
// addon by itself. This script only builds from source where there is nothing to load:
//
// - in a git clone: build for this node when the sources changed (as `npm run build`);
// - in the installed package: nothing to do if the addons for this node load; otherwise build
//   from source if cargo is here, else say in one line what is missing. The install succeeds
//   either way: without a native writer, the portable one (Node's inspector) writes.

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { ROOT } = require('../lib/loader/addons');

const BUILD = path.join(__dirname, 'build.js');

function buildFromSource(extraArgs) {
  return spawnSync(process.execPath, [BUILD, ...extraArgs], { cwd: ROOT, stdio: 'inherit' }).status === 0;
}

/** The load errors of this node's addons, each tried in a fresh process as the user's will be. */
function missingAddons() {
  // The portable writer stands in for a missing native one at run time; here it counts as missing.
  const probe = `const native = require(${JSON.stringify(path.join(ROOT, 'lib', 'loader', 'native'))});
    const missing = (err) => console.log(JSON.stringify({ code: err.code, message: err.message }));
    try {
      if (native.writerMode() === 'portable') missing({ code: 'ERR_HEAPSNAP_NATIVE_MISSING', message: 'heapsnap: ' + native.writerPortableReason() });
    } catch (err) { missing(err); }
    try { native.analyzer(); } catch (err) { missing(err); }`;
  const env = { ...process.env, HEAPSNAP_OPTIONS: 'nosignal' };
  delete env.HEAPSNAP_FORCE_PORTABLE;
  const child = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env });
  if (child.status !== 0) return [{ code: 'ERR_HEAPSNAP_NATIVE_MISSING', message: `heapsnap: loading the addons failed: ${child.stderr.trim()}` }];
  return child.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

function hasCargo() {
  const probe = spawnSync('cargo', ['--version'], { stdio: 'ignore' });
  return !probe.error && probe.status === 0;
}

function main() {
  if (fs.existsSync(path.join(ROOT, '.git'))) {
    process.exit(buildFromSource(['--if-needed']) ? 0 : 1);
  }
  const missing = missingAddons();
  if (missing.length === 0) return;
  if (hasCargo()) {
    console.error(`heapsnap: no prebuilt addon for Node ${process.version} here: building from source`);
    if (buildFromSource([]) && missingAddons().length === 0) return;
    console.error('heapsnap: the build from source failed (see above)');
  }
  for (const err of missing) console.error(`${err.message} [${err.code}]`);
}

main();
