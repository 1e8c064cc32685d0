'use strict';
// Uploads that outlive their process. A near-heap-limit dump is followed by the process's
// death, usually before JS runs again, and any process can be killed mid-upload; the next
// process started with the same `upload` setting finishes the job from the dump directory.
//
// Each process that uploads from a directory keeps a journal there,
// `.heapsnap-upload.<pid>.<token>.<n>.json` (0600): the dumping process's pid, when it started,
// the target, and which of its dumps are pending and which are uploaded. It is written before
// any dump can happen (when the trigger is armed), so even a dump that JS never heard of is
// covered: at pickup, every snapshot in the directory written by that pid since it started
// (told by its memory record's pid, else by the time alone) and not uploaded is uploaded. A
// journal whose owner is gone is claimed by renaming it to the claimer's name (atomic: one
// claimer wins), then worked off and removed. A clean exit removes a journal with nothing
// pending. Why one journal per process rather than a marker per file: the dumps that need it
// most (near-heap-limit) are the ones JS never gets to mark.

const fs = require('fs');
const path = require('path');
const { threadId } = require('worker_threads');
const { utf8 } = require('../bytes');

const PREFIX = '.heapsnap-upload.';
const DUMP = /\.heapsnapshot(\.gz|\.zst)?$/;
// Process start, in ms since the epoch: dumps older than this are not this process's.
const STARTED = Math.floor(Date.now() - process.uptime() * 1000);
// Which process of a pid: containers reuse pid 1 on every restart. The kernel's start time of
// the process (the same for all its threads); elsewhere the start time to 10 s.
const TOKEN = processToken();

function processToken() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]).toString(16);
  } catch {
    return Math.floor(STARTED / 10_000).toString(16);
  }
}
// File mtimes and the start time come from different clocks' roundings.
const SLACK_MS = 2000;

/** The journals this process owns, by directory and target. */
const owned = new Map();

// `n` tells apart the journals of one process: its threads' own (`t<threadId>`) and those it
// claimed (`t<threadId>-<k>`).
function journalName(pid, token, n) {
  return `${PREFIX}${pid}.${token}.t${threadId}${n === 0 ? '' : `-${n}`}.json`;
}

function parseName(name) {
  const match = /^\.heapsnap-upload\.(\d+)\.([0-9a-f]+)\.t[0-9-]+\.json$/.exec(name);
  return match ? { pid: Number(match[1]), token: match[2] } : null;
}

function writeAtomic(file, data) {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, utf8(JSON.stringify(data)), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function read(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** A journal of ours: its file and its contents, kept in memory and written on each change. */
class Journal {
  constructor(dir, file, data) {
    this.dir = dir;
    this.file = file;
    this.data = data;
  }

  save() {
    try {
      writeAtomic(this.file, this.data);
    } catch {
      // A read-only dump directory: uploads still run, only the pickup after a crash is lost.
    }
  }

  pending(name) {
    if (!this.data.pending.includes(name)) this.data.pending.push(name);
    this.save();
  }

  uploaded(name) {
    this.data.pending = this.data.pending.filter((n) => n !== name);
    if (!this.data.uploaded.includes(name)) this.data.uploaded.push(name);
    this.save();
  }

  /** Gone from the disk: everything it covered is uploaded (or given up on). */
  remove() {
    fs.rmSync(this.file, { force: true });
  }
}

/** This process's journal for `dir` and `url`, created (written) on first use. */
function ownJournal(dir, url) {
  const id = `${path.resolve(dir)}\0${url}`;
  let journal = owned.get(id);
  if (!journal) {
    if (owned.size === 0) process.once('exit', settleAtExit);
    journal = new Journal(dir, path.join(dir, journalName(process.pid, TOKEN, 0)), { pid: process.pid, since: STARTED, url, pending: [], uploaded: [] });
    owned.set(id, journal);
    journal.save();
  }
  return journal;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** The dumping pid a memory record names, or null when there is none to read. */
function recordPid(file) {
  const record = read(`${file}.memory.json`);
  return record && Number.isInteger(record.pid) ? record.pid : null;
}

/** The snapshots a dead journal still owes: pending ones plus unlisted ones of that process. */
function owed(dir, data) {
  const names = new Set(data.pending);
  let entries = [];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  for (const name of entries) {
    if (!DUMP.test(name) || data.uploaded.includes(name)) continue;
    const file = path.join(dir, name);
    let stat;
    try {
      stat = fs.statSync(file);
    } catch {
      continue;
    }
    const pid = recordPid(file);
    if (stat.mtimeMs + SLACK_MS >= data.since && (pid === null || pid === data.pid)) names.add(name);
  }
  return [...names].filter((name) => fs.existsSync(path.join(dir, name)));
}

/**
 * Claims the journals in `dir` for `url` whose owner is gone, and returns them with what each
 * owes: `[{ journal, files }]`. A journal of a live process (or of another target) is left
 * alone; so is one another claimer renamed first.
 */
function claimLeftovers(dir, url) {
  let entries = [];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const claimed = [];
  let n = 1 + owned.size;
  for (const name of entries) {
    const owner = parseName(name);
    if (!owner) continue;
    if (owner.token === TOKEN && owner.pid === process.pid) continue;
    // The same pid with another token is an earlier process (containers reuse pid 1).
    if (owner.pid !== process.pid && alive(owner.pid)) continue;
    const file = path.join(dir, name);
    const data = read(file);
    if (!data || data.url !== url) continue;
    const mine = path.join(dir, journalName(process.pid, TOKEN, n++));
    try {
      fs.renameSync(file, mine);
    } catch {
      continue; // someone else claimed it
    }
    claimed.push({ journal: new Journal(dir, mine, data), files: owed(dir, data) });
  }
  return claimed;
}

/** At a clean exit: journals with nothing pending go; the others stay for the next process. */
function settleAtExit() {
  for (const journal of owned.values()) {
    if (journal.data.pending.length === 0) journal.remove();
  }
}

module.exports = { ownJournal, claimLeftovers, settleAtExit };
