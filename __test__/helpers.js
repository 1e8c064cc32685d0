'use strict';
// Shared test helpers: temp folders, reading back written snapshots, child processes.

const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { spawnSync } = require('child_process');

// ROOT holds the tests, the examples and the dev dependencies; PKG is the heapsnap under test,
// found by name: this checkout itself (package self-reference), or the package installed from
// a tarball when scripts/test-matrix.js runs the suite in a fresh project.
const ROOT = path.resolve(__dirname, '..');
const PKG = path.dirname(require.resolve('heapsnap/package.json'));

function tmpDir(t, prefix = 'heapsnap-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (t) t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Raw JSON text of a snapshot file, whatever its compression (told by magic bytes). */
function snapshotText(file) {
  const bytes = fs.readFileSync(file);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return zlib.gunzipSync(bytes).toString('utf8');
  if (bytes.readUInt32LE(0) === 0xfd2fb528) {
    const { decompress } = require('fzstd');
    return Buffer.from(decompress(bytes)).toString('utf8');
  }
  return bytes.toString('utf8');
}

/** Parses a snapshot and indexes what tests ask about: node names and types. */
function readSnapshot(file) {
  const snapshot = JSON.parse(snapshotText(file));
  const meta = snapshot.snapshot.meta;
  const fieldCount = meta.node_fields.length;
  const nameOffset = meta.node_fields.indexOf('name');
  const typeOffset = meta.node_fields.indexOf('type');
  const types = meta.node_types[typeOffset];
  const nodes = [];
  for (let i = 0; i < snapshot.nodes.length; i += fieldCount) {
    nodes.push({ type: types[snapshot.nodes[i + typeOffset]], name: snapshot.strings[snapshot.nodes[i + nameOffset]] });
  }
  return { snapshot, nodes, countObjects: (name) => nodes.filter((n) => n.type === 'object' && n.name === name).length };
}

/** Loads a snapshot with memlab's independent parser (the one its leak detector uses). */
async function loadWithMemlab(file) {
  const { config, utils } = require('@memlab/core');
  config.muteConsole = true;
  return utils.getSnapshotFromFile(file, { buildNodeIdIndex: true, verbose: false });
}

/** Runs `code` in a fresh node with heapsnap on its require path. */
function runNode(code, { args = [], env = {}, cwd = ROOT, timeout = 60_000, ...rest } = {}) {
  return spawnSync(process.execPath, [...args, '-e', code], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout,
    ...rest,
  });
}

/**
 * A tmpfs of `size` (e.g. '256k') mounted on a fresh folder: `{ dir, unmount }`, or `{ skip }`
 * with the reason when this machine cannot mount one. Release everything inside before unmount.
 */
function mountTmpfs(size) {
  const dir = tmpDir();
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mount.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { skip: `cannot mount a tiny tmpfs here (${(mount.stderr || String(mount.error)).trim()})` };
  }
  const unmount = () => {
    spawnSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { dir, unmount };
}

function listDir(dir) {
  return fs.readdirSync(dir).sort();
}

/** What a dump of each snapshot name leaves: the snapshot and its memory record, sorted. */
function withRecords(...names) {
  return names.flatMap((name) => [name, `${name}.memory.json`]).sort();
}

/**
 * The writer under test: 'native', or 'portable' (HEAPSNAP_FORCE_PORTABLE=writer, or no native
 * writer for this Node and platform). Children started by runNode inherit the choice.
 */
const WRITER_MODE = require(PKG).capabilities().writer.mode;

/**
 * node:test options for a test of a native-only writer feature: skipped, with `why` printed,
 * when the portable writer is under test (it refuses these with ERR_HEAPSNAP_UNSUPPORTED,
 * which __test__/portable.test.js checks).
 */
function nativeWriterOnly(why) {
  return WRITER_MODE === 'native' ? {} : { skip: `native writer only: ${why}` };
}

/**
 * Code for a child process (heapsnap in scope as `heapsnap`): the leak workflow's warm-up, a
 * first dump into `dir`, thrown away. What a process's first portable dump creates for itself
 * (Node's snapshot stream; the WebAssembly analyzer's grown memory and its glue's first run)
 * is then in A, not new in B (README, Portable mode).
 */
function warmUpDump(dir) {
  return `{
  const warm = require('path').join(${JSON.stringify(dir)}, 'warm-up.heapsnapshot');
  if (!heapsnap.writeSnapshot(warm)) process.exit(1);
  require('fs').rmSync(warm);
  require('fs').rmSync(warm + '.memory.json', { force: true });
}`;
}

module.exports = { WRITER_MODE, nativeWriterOnly, warmUpDump, ROOT, PKG, tmpDir, mountTmpfs, snapshotText, readSnapshot, loadWithMemlab, runNode, listDir, withRecords };
