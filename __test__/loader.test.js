'use strict';
// The loader's platform name comes from the running process, not the machine's files: a musl
// node on a glibc machine (whose /usr/bin/ldd is glibc's, which detect-libc would read) is
// linux-<arch>-musl, and the glibc node here is not, even with musl's ldd on /usr/bin/ldd.
// The musl cases run the musl wheels' node (scripts/node-dist.js, scripts/emulation.js) when
// it is cached and runnable here, and say why they are skipped otherwise.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { PKG } = require('./helpers');

const ADDONS = path.join(PKG, 'lib', 'loader', 'addons.js');
const ROOT = path.join(__dirname, '..');
const probe = `const a = require(${JSON.stringify(ADDONS)}); console.log(JSON.stringify({ platform: a.currentPlatform(), maps: a.muslFromMaps() ?? null, report: !a.processReport().header.glibcVersionRuntime }))`;

function platformIn(execPath, { env = {}, wrap } = {}) {
  const [command, args] = wrap ? wrap(execPath, ['-e', probe]) : [execPath, ['-e', probe]];
  const r = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  assert.strictEqual(r.status, 0, `${command} exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The cached musl node of `platform`, or why there is none. */
function muslNode(platform) {
  let emulation;
  try {
    emulation = require(path.join(ROOT, 'scripts', 'emulation.js'));
  } catch {
    return { skip: 'scripts/emulation.js is not here (installed package)' };
  }
  const execPath = path.join(ROOT, '.cache', 'node', platform, '24', 'package', 'bin', 'node');
  if (!fs.existsSync(execPath)) return { skip: `no ${platform} node in .cache (npm run prebuilds fetches it)` };
  const lacks = emulation.missing(platform);
  if (lacks.length) return { skip: `cannot run ${platform} here: ${lacks.join(', ')}` };
  return { execPath, emulation };
}

test('this process: the mapped libc and process.report agree, and name the platform', () => {
  const got = platformIn(process.execPath);
  if (process.platform === 'linux') {
    assert.strictEqual(got.maps, got.report);
    assert.strictEqual(got.platform, `linux-${process.arch}${got.report ? '-musl' : ''}`);
  } else {
    assert.strictEqual(got.platform, `${process.platform}-${process.arch}`);
  }
});

const x64musl = muslNode('linux-x64-musl');
test('a musl node on this glibc machine (glibc ldd on /usr/bin/ldd) is linux-x64-musl', { skip: x64musl.skip }, () => {
  const ldd = fs.readFileSync('/usr/bin/ldd', 'latin1');
  assert.ok(!ldd.includes('musl'), '/usr/bin/ldd here is musl\'s: this case needs a glibc machine');
  const got = platformIn(x64musl.execPath);
  assert.deepStrictEqual(got, { platform: 'linux-x64-musl', maps: true, report: true });
});

test('with musl\'s ldd bound over /usr/bin/ldd (Alpine-like), the glibc node is still linux-x64 and the musl one musl', { skip: x64musl.skip || (process.getuid && process.getuid() !== 0 && 'needs root for unshare -m') }, () => {
  const wrap = (command, args) => x64musl.emulation.wrap('linux-x64-musl', command, args);
  const seen = spawnSync(...wrap('sh', ['-c', 'grep -c musl /usr/bin/ldd']), { encoding: 'utf8' });
  assert.ok(Number(seen.stdout) > 0, `musl's ldd not in place: ${seen.stdout}${seen.stderr}`);
  assert.deepStrictEqual(platformIn(process.execPath, { wrap }), { platform: `linux-${process.arch}`, maps: false, report: false });
  assert.deepStrictEqual(platformIn(x64musl.execPath, { wrap }), { platform: 'linux-x64-musl', maps: true, report: true });
});
