'use strict';
// Each process that loaded heapsnap says what it does in `<channel>/<pid>.process.json` (the
// private per-user directory of channel.js), for `heapsnap ps`: heapsnap's version, the signal
// and dump directory, the watch's rules, the last dump and the last memory sample. Written
// whole and renamed into place (a reader never sees half a file), 0600; removed at exit, and
// by `heapsnap ps` once the process is gone. Linux only (ps reads /proc); registering never
// fails a require: an unsafe or unwritable directory only means the process is not listed.

const fs = require('fs');
const path = require('path');
const { utf8 } = require('../bytes');
const { channelDir, openChannel } = require('./channel');

const SUFFIX = '.process.json';

let entry = null;
let file = null;

function registryFile(dir, pid) {
  return path.join(dir, `${pid}${SUFFIX}`);
}

function save() {
  if (!file) return;
  const temp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, utf8(JSON.stringify(entry)), { mode: 0o600 });
    fs.renameSync(temp, file);
  } catch {
    try {
      fs.unlinkSync(temp);
    } catch {
      // nothing to clean up
    }
  }
}

/** Registers this process (main thread, at require): `{ signal, dir }` as configured. */
function register({ signal, dir }) {
  if (process.platform !== 'linux' || entry) return;
  try {
    file = registryFile(openChannel(process.getuid()), process.pid);
  } catch {
    return;
  }
  entry = {
    pid: process.pid,
    heapsnap: require('../../package.json').version,
    node: process.version,
    startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    signal: signal ?? null,
    dir: path.resolve(dir ?? '.'),
    watch: null,
    lastDump: null,
    lastSample: null,
  };
  save();
  process.on('exit', () => {
    try {
      fs.unlinkSync(file);
    } catch {
      // already gone
    }
  });
}

/** Merges `fields` into this process's entry and rewrites it (no-op when unregistered). */
function update(fields) {
  if (!entry) return;
  Object.assign(entry, fields);
  save();
}

/** The entry of process `pid` running as `uid`: the object, null when it has none, or 'unreadable'. */
function readEntry(uid, pid) {
  try {
    // Only a directory that is that user's alone: anyone else's files there could lie.
    const stat = fs.lstatSync(channelDir(uid));
    if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o077) !== 0) return null;
    return JSON.parse(fs.readFileSync(registryFile(channelDir(uid), pid), 'utf8'));
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    if (err.code === 'EACCES' || err.code === 'EPERM') return 'unreadable';
    return null;
  }
}

/** Removes the entries of processes of `uid` that no longer run (ours to remove only). */
function removeStale(uid, isRunning) {
  let names;
  try {
    names = fs.readdirSync(channelDir(uid));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.endsWith(SUFFIX)) continue;
    const pid = Number(name.slice(0, -SUFFIX.length));
    if (Number.isSafeInteger(pid) && !isRunning(pid)) {
      try {
        fs.unlinkSync(path.join(channelDir(uid), name));
      } catch {
        // another ps removed it first
      }
    }
  }
}

module.exports = { register, update, readEntry, removeStale };
