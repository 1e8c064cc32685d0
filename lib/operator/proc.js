'use strict';
// What Linux's /proc says about another process, for `heapsnap dump`: whether we may signal it
// and it still runs, what it runs, its environment, whether it catches a signal, and its
// listening TCP sockets (to find the port its inspector opened).
//
// A process's listening sockets are the `socket:[inode]` links among /proc/<pid>/fd matched with
// the LISTEN rows of /proc/<pid>/net/tcp and tcp6. The tables are read through the target's own
// /proc entry, so they are those of its network namespace, not ours.

const fs = require('fs');

const TCP_LISTEN = '0A';

/** Inodes of the sockets `pid` holds open. Throws ENOENT when it is gone, EACCES when not ours. */
function socketInodes(pid) {
  const dir = `/proc/${pid}/fd`;
  const inodes = new Set();
  for (const fd of fs.readdirSync(dir)) {
    let link;
    try {
      link = fs.readlinkSync(`${dir}/${fd}`);
    } catch {
      continue; // closed between readdir and readlink
    }
    const match = /^socket:\[(\d+)\]$/.exec(link);
    if (match) inodes.add(match[1]);
  }
  return inodes;
}

/**
 * The kernel's hex address (`0100007F:2405`): 32-bit words in host order, i.e. little-endian
 * on every platform Node's prebuilt binaries target.
 */
function decodeAddress(hex) {
  const [ip, port] = hex.split(':');
  const bytes = [];
  for (let word = 0; word < ip.length; word += 8) {
    for (let b = 6; b >= 0; b -= 2) bytes.push(Number.parseInt(ip.slice(word + b, word + b + 2), 16));
  }
  return { family: bytes.length === 4 ? 4 : 6, bytes, port: Number.parseInt(port, 16) };
}

function formatIp({ family, bytes }) {
  if (family === 4) return bytes.join('.');
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  // The URL parser writes IPv6 in its canonical short form (::1, ::ffff:7f00:1).
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/**
 * Where to connect to reach a socket listening on `address`: the address itself, or loopback
 * for a wildcard bind (0.0.0.0, ::).
 */
function connectHost(address) {
  if (address.bytes.every((b) => b === 0)) return address.family === 4 ? '127.0.0.1' : '::1';
  return formatIp(address);
}

function listenRows(pid, table) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/net/${table}`, 'latin1');
  } catch (err) {
    if (err.code === 'ENOENT' && table === 'tcp6') return []; // kernel without IPv6
    throw err;
  }
  const rows = [];
  for (const line of text.split('\n').slice(1)) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    const columns = line.trim().split(/\s+/);
    if (columns[3] === TCP_LISTEN) rows.push({ local: columns[1], inode: columns[9] });
  }
  return rows;
}

/** `[{ inode, host, port }]`: the TCP sockets `pid` listens on, with where to connect to each. */
function listeningSockets(pid) {
  const mine = socketInodes(pid);
  const sockets = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const row of listenRows(pid, table)) {
      if (!mine.has(row.inode)) continue;
      const address = decodeAddress(row.local);
      sockets.push({ inode: row.inode, host: connectHost(address), port: address.port });
    }
  }
  return sockets;
}

/** Whether some socket in `pid`'s network namespace listens on `port` (whoever owns it). */
function portTaken(pid, port) {
  return ['tcp', 'tcp6'].some((table) => listenRows(pid, table).some((row) => decodeAddress(row.local).port === port));
}

/** Whether `pid` catches `signal` (a number): bit signal-1 of SigCgt in /proc/<pid>/status. */
function catchesSignal(pid, signal) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status);
  return mask !== null && ((BigInt(`0x${mask[1]}`) >> BigInt(signal - 1)) & 1n) === 1n;
}

/** Whether `pid` has exited: gone from /proc, or a zombie its parent has not reaped yet. */
function hasExited(pid) {
  try {
    // /proc/<pid>/stat: "pid (comm) S ...", where comm may itself hold ") ".
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

/** `{ argv, env }` that `pid` was started with (its environment as it was at exec). */
function commandLine(pid) {
  const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
  const env = {};
  for (const entry of fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { argv, env };
}

/** The executable `pid` runs, for messages; undefined when /proc will not say. */
function executable(pid) {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/**
 * Throws unless `pid` runs and we may signal it (its user, or root): ESRCH or EPERM, with a
 * one-line message naming the pid.
 */
function checkCanSignal(pid) {
  const { heapsnapError } = require('../errors');
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (err.code === 'ESRCH') throw heapsnapError('ESRCH', `no such process: ${pid}`);
    if (err.code === 'EPERM') {
      throw heapsnapError('EPERM', `permission denied: process ${pid} belongs to another user (run heapsnap dump as that user or as root)`);
    }
    throw err;
  }
  if (hasExited(pid)) throw heapsnapError('ESRCH', `no such process: ${pid} (it has exited)`);
}

module.exports = { checkCanSignal, listeningSockets, portTaken, catchesSignal, hasExited, commandLine, executable };
