'use strict';
// The memory log: one JSON line per watch sample (`statsFile`, `HEAPSNAP_OPTIONS=statsfile=PATH`),
// size-bounded: past `maxBytes` the file moves to `<file>.1` (replacing the previous one) and a
// new one starts, so the log never holds more than twice that. Created 0600 (the log names no
// secrets, but it is the process's own business). Read back by `heapsnap stats`.
//
// Each line, in bytes unless the name says otherwise (names are stable):
//   time (ISO 8601), pid, rss, heapUsed, heapTotal, heapLimit, external, arrayBuffers,
//   cgroupUsage, cgroupLimit (null without a cgroup limit),
//   heapSpaces: { <V8 space name>: { size, used } },
//   gc: { <kind>: { count, ms } } for the GCs since the previous line (scavenge,
//       markSweepCompact, incrementalMarking, processWeakCallbacks, ... as V8 names them),
//   eventLoopDelay: { meanMs, p99Ms, maxMs } since the previous line (null when unmeasured).

const fs = require('fs');
const { heapsnapError } = require('../errors');

const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

/** `MarkSweepCompact` -> `markSweepCompact`. */
function gcKind(type) {
  return type.charAt(0).toLowerCase() + type.slice(1);
}

class StatsLog {
  constructor(file, maxBytes = DEFAULT_MAX_BYTES) {
    this.file = file;
    this.maxBytes = maxBytes;
    // Opened once now, so a path that cannot work fails watch() rather than every sample.
    this.fd = fs.openSync(file, 'a', 0o600);
    this.size = fs.fstatSync(this.fd).size;
    this.failed = false;
  }

  append(entry) {
    const line = `${JSON.stringify(entry)}\n`;
    try {
      if (this.size > 0 && this.size + line.length > this.maxBytes) this.rotate();
      fs.writeSync(this.fd, line);
      this.size += Buffer.byteLength(line);
      this.failed = false;
    } catch (err) {
      // A full disk must not take the process down; say it once per run of failures.
      if (!this.failed) console.error(`heapsnap: watch: the memory log ${this.file} was not written: ${err.code || ''} ${err.message}`);
      this.failed = true;
    }
  }

  rotate() {
    fs.closeSync(this.fd);
    fs.renameSync(this.file, `${this.file}.1`);
    this.fd = fs.openSync(this.file, 'a', 0o600);
    this.size = 0;
  }

  close() {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * The samples of a memory log, oldest first (the rotated `<file>.1` before `file`). A line
 * that is not JSON (a torn last line after a crash) is skipped and counted.
 */
function readStats(file) {
  const texts = [];
  for (const name of [`${file}.1`, file]) {
    try {
      texts.push(fs.readFileSync(name, 'utf8'));
    } catch (err) {
      if (err.code !== 'ENOENT' || name === file) throw err;
    }
  }
  const samples = [];
  let skipped = 0;
  for (const line of texts.join('').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line);
      if (entry && typeof entry.time === 'string' && typeof entry.heapUsed === 'number') samples.push(entry);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  if (samples.length === 0) {
    throw heapsnapError('ERR_HEAPSNAP_INVALID_STATS', `heapsnap: ${file} holds no memory log lines (${skipped} unreadable)`);
  }
  return { samples, skipped };
}

module.exports = { StatsLog, readStats, gcKind, DEFAULT_MAX_BYTES };
