'use strict';
// The memory record beside a snapshot (`<snapshot>.memory.json`, written natively by every
// dump: crates/heapsnap-core/src/write/memory_record.rs; by lib/writer/portable.js in portable mode), read back for `heapsnap summary` and the
// report, so they can say what the snapshot cannot show: the part of the process's RSS that
// lies outside the JS heap.

const fs = require('fs');
const { formatBytes, percent } = require('../format');

const FORMAT = 'heapsnap-memory/1';
const SUFFIX = '.memory.json';

function companionPath(snapshotPath) {
  return `${snapshotPath}${SUFFIX}`;
}

/**
 * The record of `snapshotPath`: `{ path, record }`, `null` when there is none (older dumps,
 * `memoryFile: false`, snapshots from other tools), or `{ path, error }` when it is unreadable,
 * so the caller can say so instead of failing the whole command over a side file.
 */
function readMemoryRecord(snapshotPath) {
  const path = companionPath(snapshotPath);
  let text;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    return { path, error: `${err.code}: ${err.message}` };
  }
  try {
    const record = JSON.parse(text);
    if (record.format !== FORMAT) return { path, error: `not a ${FORMAT} record (format ${JSON.stringify(record.format)})` };
    return { path, record };
  } catch (err) {
    return { path, error: `invalid JSON: ${err.message}` };
  }
}

/**
 * The split of the RSS that the snapshot cannot show, in bytes: `null` without an RSS.
 * `external` is memory owned by JS objects outside V8's heap (Buffers, ArrayBuffers, what
 * addons report); `other` is the rest (code, V8's malloc, native addons, stacks, allocator).
 */
function outsideHeap(record) {
  if (typeof record.rss !== 'number') return null;
  const outside = Math.max(0, record.rss - record.heapTotal);
  const external = Math.min(outside, record.external);
  return { outside, external, other: outside - external };
}

/** Plain lines for the CLI: the process's memory when the dump started. */
function describeMemoryRecord({ path, record, error }) {
  if (error) return [`Memory record ${path}: unreadable (${error})`];
  const lines = [`Process memory when the dump started (${record.time}, pid ${record.pid}):`];
  const heap = `JS heap ${formatBytes(record.heapTotal)} (${formatBytes(record.heapUsed)} used)`;
  const split = outsideHeap(record);
  if (!split) {
    lines.push(`  ${heap}; RSS unknown on this platform`);
  } else {
    lines.push(`  RSS ${formatBytes(record.rss)}: ${heap} = ${percent(record.heapTotal, record.rss)} of it`);
    lines.push(`  Outside the JS heap, not in this snapshot: ${formatBytes(split.outside)} (${percent(split.outside, record.rss)} of RSS)`);
    const buffers = typeof record.arrayBuffers === 'number' ? `, of which ArrayBuffers ${formatBytes(record.arrayBuffers)}` : '';
    lines.push(`    external memory of JS objects (Buffers, ArrayBuffers, addons): ${formatBytes(split.external)}${buffers}`);
    lines.push(`    the rest (compiled code, V8 and Node internals, native addons, stacks, allocator): ${formatBytes(split.other)}`);
  }
  if (typeof record.cgroupLimit === 'number') lines.push(`  cgroup memory limit: ${formatBytes(record.cgroupLimit)}`);
  return lines;
}

module.exports = { companionPath, readMemoryRecord, outsideHeap, describeMemoryRecord, FORMAT, SUFFIX };
