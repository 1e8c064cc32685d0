'use strict';
// `heapsnap ps`: the Node processes of this machine the user may see, from /proc alone (no
// agent needed): pid, user, Node version, uptime, RSS, command line, and for those that loaded
// heapsnap what they registered (registry.js): heapsnap's version, signal, dump directory,
// watch rules, last dump, last memory sample. Another user's processes are listed without
// those private details (their registry and environment are not readable), and say so.

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { readEntry, removeStale } = require('./registry');
const { hasExited } = require('./proc');

/** Clock ticks per second of /proc/<pid>/stat's start time (USER_HZ: 100 on every Linux ABI). */
const CLOCK_TICKS = 100;

function read(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** `node`, `nodejs`, `node22`...: the names Node's binary goes by. */
function isNodeName(name) {
  return /^node(js)?[0-9.]*$/.test(name);
}

const versions = new Map();

/** The version of the Node binary at `exe` (asked once per binary), or null. */
function nodeVersion(exe) {
  if (!exe) return null;
  if (exe === process.execPath) return process.version;
  if (!versions.has(exe)) {
    let version = null;
    try {
      version = execFileSync(exe, ['--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      // not ours to run, or not a node after all
    }
    versions.set(exe, /^v\d+\.\d+\.\d+/.test(version || '') ? version : null);
  }
  return versions.get(exe);
}

function statusField(status, key) {
  const line = status.split('\n').find((l) => l.startsWith(`${key}:`));
  return line ? line.slice(key.length + 1).trim() : null;
}

/** One process, or null when it is not Node (or is gone). */
function describe(pid, bootUptime) {
  const cmdline = read(`/proc/${pid}/cmdline`);
  const status = read(`/proc/${pid}/status`);
  const stat = read(`/proc/${pid}/stat`);
  if (!cmdline || !status || !stat) return null;
  const argv = cmdline.split('\0').filter((arg, i, all) => i < all.length - 1 || arg !== '');
  let exe = null;
  try {
    exe = fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    // another user's process: its executable is private, its command line is not
  }
  const name = exe ? path.basename(exe.replace(/ \(deleted\)$/, '')) : path.basename(argv[0] || '');
  if (!isNodeName(name)) return null;
  const uid = Number((statusField(status, 'Uid') || '').split(/\s+/)[0]);
  const rssKb = Number((statusField(status, 'VmRSS') || '0').split(/\s+/)[0]);
  // Fields after the command name (which may hold spaces), 1-based as in proc(5): starttime is 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const started = Number(fields[22 - 3]) / CLOCK_TICKS;
  const mine = uid === process.getuid() || process.getuid() === 0;
  const registered = readEntry(uid, pid);
  return {
    pid,
    uid,
    node: nodeVersion(exe) ?? (registered && registered !== 'unreadable' ? registered.node : null),
    uptimeSeconds: Math.max(0, Math.round(bootUptime - started)),
    rss: rssKb * 1024,
    command: argv.join(' '),
    heapsnap: registered === 'unreadable' ? null : registered,
    private: !mine || registered === 'unreadable',
  };
}

/** Every Node process this user may see, by pid; stale registry entries of ours removed. */
function listProcesses() {
  const bootUptime = Number((read('/proc/uptime') || '0').split(' ')[0]);
  removeStale(process.getuid(), (pid) => !hasExited(pid));
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => pid !== process.pid)
    .sort((a, b) => a - b)
    .map((pid) => describe(pid, bootUptime))
    .filter(Boolean);
}

module.exports = { listProcesses };
