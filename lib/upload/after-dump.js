'use strict';
// What happens to a finished dump when `upload` is set, whoever started it: the snapshot and its
// memory record go to `<prefix><hostname>/<file name>` (upload thread, uploader.js), the
// journal (journal.js) says what is still owed, `keepLocal: false` removes the local files once
// the store confirmed them, and the outcome becomes `info.upload` and one stderr line. A failed
// upload never fails the dump: the file stays, the journal keeps it pending, and the next
// process with the same setting (or `heapsnap upload`) sends it.

const fs = require('fs');
const path = require('path');
const { parseTarget, objectKey, objectUrl } = require('./target');
const { resolveSdk } = require('./sdk');
const { uploadFile } = require('./uploader');
const journal = require('./journal');
const { formatBytes } = require('../format');

/**
 * Splits checked options into the upload's settings (`null` without `upload`) and the rest,
 * which the writer takes. `available`: also check that the SDK can be had here (API calls fail
 * up front with ERR_HEAPSNAP_UPLOAD_UNAVAILABLE rather than after a dump's pause).
 */
function splitUpload(checked, { available = true } = {}) {
  const { upload, keepLocal = true, uploadPathStyle = false, ...write } = checked;
  if (upload === undefined) return { upload: null, write };
  if (available) resolveSdk();
  return { upload: { target: parseTarget(upload), keepLocal, pathStyle: uploadPathStyle }, write };
}

/** The directory a trigger's dumps go to: `dir`, an absolute `path`'s folder, or the cwd. */
function dumpDir(write) {
  if (write.dir) return path.resolve(write.dir);
  if (write.path && path.isAbsolute(write.path)) return path.dirname(write.path);
  return process.cwd();
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

function warn(message) {
  process.stderr.write(`heapsnap: ${message}\n`);
}

/** An upload error for the stderr line: its code and message, without the prefixes said already. */
function failure(err) {
  return `${err.code}: ${err.message.replace(/^heapsnap: (upload failed: )?/, '')}`;
}

/** What the stderr line says of a finished upload: where, how much, how long. */
function done(result) {
  return `${result.url} (${formatBytes(result.bytes)} in ${seconds(result.durationMs)})`;
}

/** Uploads one file and, when it exists, its memory record; `{ ...snapshot, memoryRecord }`. */
async function uploadPair(file, memoryFile, settings, { resume = false, onProgress, key = objectKey(settings.target, file) } = {}) {
  const { target, pathStyle } = settings;
  const snapshot = await uploadFile(file, { bucket: target.bucket, key, pathStyle, resume, onProgress });
  let memoryRecord = null;
  if (memoryFile && fs.existsSync(memoryFile)) {
    memoryRecord = await uploadFile(memoryFile, { bucket: target.bucket, key: `${key}.memory.json`, pathStyle, resume });
  }
  return { ...snapshot, memoryRecord: memoryRecord && { url: memoryRecord.url, bytes: memoryRecord.bytes } };
}

function removeLocal(file, memoryFile) {
  for (const each of [file, memoryFile]) if (each) fs.rmSync(each, { force: true });
}

/**
 * Uploads a finished dump (`info`: path, memoryFile); resolves to what `info.upload` holds:
 * `{ url, bucket, key, bytes, durationMs, etag, checksumCRC32, parts, memoryRecord, keptLocal }`
 * or, when it failed, `{ url, error: { code, message }, keptLocal: true }`. Never rejects.
 * `report`: print the stderr line (triggered dumps; writeSnapshotAsync's caller has the result).
 */
async function uploadDump(info, settings, { quiet = false, report = true } = {}) {
  const file = info.path;
  const memoryFile = info.memoryFile || null;
  const own = journal.ownJournal(path.dirname(path.resolve(file)), settings.target.url);
  const name = path.basename(file);
  own.pending(name);
  const key = objectKey(settings.target, file);
  const url = objectUrl(settings.target.bucket, key);
  try {
    const result = await uploadPair(file, memoryFile, settings, { key });
    own.uploaded(name);
    if (!settings.keepLocal) removeLocal(file, memoryFile);
    if (report && !quiet) warn(`uploaded ${file} to ${done(result)}${settings.keepLocal ? '' : '; local file removed'}`);
    return { ...result, keptLocal: settings.keepLocal };
  } catch (err) {
    if (report) warn(`upload of ${file} to ${url} failed, the file stays: ${failure(err)}`);
    return { url, error: { code: err.code, message: err.message }, keptLocal: true };
  }
}

/** Upload settings of the dumps the native writer starts on its own, by trigger. */
const armed = new Map();
const resumed = new Set();

/**
 * Uploads the dumps of `trigger` ('signal', which also covers `heapsnap dump <pid>` requests, or
 * 'near-heap-limit') with `settings` from now on (`null`: no more), and picks up what earlier
 * processes with the same setting left unfinished in `dir`.
 */
function arm(trigger, settings, dir, { quiet = false } = {}) {
  if (!settings) {
    armed.delete(trigger);
    return;
  }
  armed.set(trigger, { ...settings, quiet });
  journal.ownJournal(dir, settings.target.url);
  resumeLeftovers(dir, settings, { quiet });
}

/** The settings for a dump the native writer announced (`remote` requests go with `signal`). */
function armedFor(trigger) {
  return armed.get(trigger === 'remote' ? 'signal' : trigger) || null;
}

/**
 * Uploads, in the background, what dead processes that uploaded from `dir` to the same target
 * left unfinished (once per directory and target per process). Resolves to the outcomes.
 */
function resumeLeftovers(dir, settings, { quiet = false } = {}) {
  const id = `${path.resolve(dir)}\0${settings.target.url}`;
  if (resumed.has(id)) return Promise.resolve([]);
  resumed.add(id);
  const claimed = journal.claimLeftovers(dir, settings.target.url);
  return Promise.all(claimed.map(async ({ journal: theirs, files }) => {
    const outcomes = [];
    for (const name of files) {
      const file = path.join(dir, name);
      try {
        const result = await uploadPair(file, `${file}.memory.json`, settings, { resume: true });
        theirs.uploaded(name);
        if (!settings.keepLocal) removeLocal(file, `${file}.memory.json`);
        if (!quiet) warn(`uploaded ${file} (left by process ${theirs.data.pid}) to ${done(result)}`);
        outcomes.push({ file, ...result });
      } catch (err) {
        warn(`upload of ${file} (left by process ${theirs.data.pid}) failed, the file stays: ${failure(err)}`);
        outcomes.push({ file, error: { code: err.code, message: err.message } });
      }
    }
    if (outcomes.every((o) => !o.error)) theirs.remove();
    return outcomes;
  })).then((all) => all.flat());
}

module.exports = { splitUpload, dumpDir, uploadDump, uploadPair, removeLocal, arm, armedFor, resumeLeftovers };
