'use strict';
// Official Node.js releases from the npm registry (`node-<os>-<arch>@<major>`: bin/node and
// include/node), for building prebuilds against each major's own headers and for the test
// matrix. Cached in .cache/node/<major>/; delete the folder to pick up a newer release.

const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { ROOT } = require('../lib/loader/addons');

const CACHE = path.join(ROOT, '.cache', 'node');

/** `{ major, version, execPath, include, abi }` of the newest release of `major`, fetched once. */
function fetchNode(major) {
  const dir = path.join(CACHE, String(major));
  const execPath = path.join(dir, 'package', 'bin', 'node');
  if (!fs.existsSync(execPath)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const spec = `node-${process.platform}-${process.arch}@${major}`;
    console.error(`heapsnap: fetching ${spec}`);
    const tarball = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', dir], { encoding: 'utf8' }).trim().split('\n').pop();
    execFileSync('tar', ['xzf', path.join(dir, tarball), '-C', dir]);
    fs.rmSync(path.join(dir, tarball));
  }
  const [version, abi] = execFileSync(execPath, ['-p', 'process.version + " " + process.versions.modules'], { encoding: 'utf8' }).trim().split(' ');
  return { major: Number(major), version, execPath, include: path.join(dir, 'package', 'include', 'node'), abi };
}

module.exports = { fetchNode };
