'use strict';
// Signal-triggered dumps: option shapes, the HEAPSNAP_OPTIONS / NODE_HEAPDUMP_OPTIONS
// environment variables, and the default handler installed at require().

const os = require('os');
const { isMainThread } = require('worker_threads');
const { writer } = require('../loader/native');
const { WRITE_OPTIONS, BACKGROUND_OPTIONS, checkOptions, toNative } = require('./options');
const { invalidOption } = require('../errors');
const { listenToNativeDumps } = require('./events');
const { splitUpload, arm, dumpDir } = require('../upload/after-dump');

const SIGNAL_SCHEMA = {
  path: WRITE_OPTIONS.path,
  dir: WRITE_OPTIONS.dir,
  compress: WRITE_OPTIONS.compress,
  level: WRITE_OPTIONS.level,
  gc: WRITE_OPTIONS.gc,
  redact: WRITE_OPTIONS.redact,
  force: WRITE_OPTIONS.force,
  memoryLimit: WRITE_OPTIONS.memoryLimit,
  memoryFile: WRITE_OPTIONS.memoryFile,
  upload: WRITE_OPTIONS.upload,
  keepLocal: WRITE_OPTIONS.keepLocal,
  uploadPathStyle: WRITE_OPTIONS.uploadPathStyle,
  ...BACKGROUND_OPTIONS,
  signal: 'string',
  quiet: 'boolean',
  interval: 'seconds',
  maxDumps: 'count',
};

// Signals a dump must never hijack: uncatchable, or the process's own fatal errors.
const FORBIDDEN = new Set(['SIGKILL', 'SIGSTOP', 'SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGABRT', 'SIGTRAP', 'SIGSYS']);

function signalNumber(name) {
  const signum = os.constants.signals[name];
  if (signum === undefined || FORBIDDEN.has(name)) {
    const windows = process.platform === 'win32' ? " (Windows has no SIGUSR1 or SIGUSR2; 'SIGBREAK', Ctrl+Break in a console, is one it has)" : '';
    throw invalidOption(`installSignalHandler: option 'signal' must be a catchable signal name such as 'SIGUSR2', got '${name}'${windows}`);
  }
  return signum;
}

/**
 * Dumps this thread's heap whenever `signal` (default SIGUSR2) arrives, even while JS is
 * stuck in a loop, at most once per `interval` seconds (default 30, from the end of the last
 * dump) and `maxDumps` times (default: no cap). Replaces this thread's previous heapsnap
 * handler; JS listeners for the same signal keep working.
 */
function installSignalHandler(options) {
  const { signal = 'SIGUSR2', quiet = false, interval, maxDumps, ...checked } = checkOptions('installSignalHandler', options, SIGNAL_SCHEMA);
  const { upload, write } = splitUpload(checked);
  writer().installSignalHandler(signalNumber(signal), toNative(write, { heapdumpDefault: write.path === undefined }), quiet, interval, maxDumps);
  // The native writer dumps on its own and tells JS afterwards; with `upload` that notice
  // starts the upload (signal dumps and `heapsnap dump <pid>` requests alike).
  arm('signal', upload, dumpDir(write), { quiet });
  if (upload) listenToNativeDumps();
}

/**
 * What this thread's signal handler has done: `{ signal, interval, maxDumps, received, dumps,
 * skipped, pending }`, or `null` when none is installed.
 */
function signalHandlerStatus() {
  const status = writer.isLoaded() ? writer().signalHandlerStatus() : null;
  if (!status) return null;
  const { signal: signum, intervalSeconds, maxDumps = null, ...counts } = status;
  const name = Object.keys(os.constants.signals).find((key) => os.constants.signals[key] === signum) ?? String(signum);
  return { signal: name, interval: intervalSeconds, maxDumps, ...counts };
}

/** Stops signal dumps on this thread; returns whether a handler was installed. */
function removeSignalHandler() {
  return writer.isLoaded() && writer().removeSignalHandler();
}

const BYTE_UNITS = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `1048576`, `512k`, `300m`, `2g` (binary units) as bytes; `undefined` when it is not one. */
function parseBytes(text) {
  const match = /^(\d+(?:\.\d+)?)([kmg]?)b?$/i.exec(text);
  if (!match) return undefined;
  const bytes = Math.round(Number(match[1]) * BYTE_UNITS[match[2].toLowerCase()]);
  return bytes > 0 ? bytes : undefined;
}

/**
 * Reads `HEAPSNAP_OPTIONS` (`nosignal`, `signal=SIGUSR1`, `dir=/path`, `compress=gzip`, `gc`,
 * `redact`, `quiet`, `memlimit=512m`, `force`, `nomemoryfile`, `interval=SECONDS`, `maxdumps=N`,
 * `background`, `fallback=false`, `bgtimeout=60000` (ms), and the watch words `watch=RULE`
 * (repeatable), `watchinterval=SECONDS`, `watchrearm=SHARE`, `statsfile=PATH`), the upload words
 * `upload=s3://bucket/prefix/`, `keeplocal=false`, `uploadpathstyle`, and heapdump's
 * `NODE_HEAPDUMP_OPTIONS` (`nosignal`, `signal`). Returns `{ enabled, options, watch }`:
 * whether signal dumps are on, the dump options every trigger shares, and the watch's rules
 * and settings (`nosignal` turns off only the signal handler, never the watch).
 */
function parseEnv(env = process.env, { quiet = false } = {}) {
  const options = {};
  const watch = { rules: [] };
  let enabled = true;
  const words = [env.NODE_HEAPDUMP_OPTIONS, env.HEAPSNAP_OPTIONS]
    .flatMap((value) => (value || '').split(','))
    .map((word) => word.trim())
    .filter(Boolean);
  for (const word of words) {
    const [key, ...rest] = word.split('=');
    const value = rest.join('=');
    if (key === 'nosignal') enabled = false;
    else if (key === 'signal' && value === '') enabled = true;
    else if (key === 'signal') options.signal = value;
    else if (key === 'dir' || key === 'path') options[key] = value;
    else if (key === 'compress') options.compress = value === 'none' ? false : value;
    else if (key === 'gc' || key === 'quiet' || key === 'redact' || key === 'force' || key === 'background' || key === 'fallback') options[key] = value === '' || value === 'true' || value === '1';
    else if (key === 'bgtimeout' && Number(value) > 0) options.backgroundTimeout = Number(value);
    else if (key === 'memlimit' && parseBytes(value) !== undefined) options.memoryLimit = parseBytes(value);
    else if (key === 'interval' && /^\d+(\.\d+)?$/.test(value)) options.interval = Number(value);
    else if (key === 'maxdumps' && /^\d+$/.test(value)) options.maxDumps = Number(value);
    else if (key === 'memoryfile') options.memoryFile = value === '' || value === 'true' || value === '1';
    else if (key === 'nomemoryfile' && value === '') options.memoryFile = false;
    else if (key === 'watch' && value !== '') watch.rules.push(value);
    else if (key === 'watchinterval' && /^\d+(\.\d+)?$/.test(value)) watch.interval = Number(value);
    else if (key === 'watchrearm' && /^\d+(\.\d+)?$/.test(value)) watch.rearm = Number(value);
    else if (key === 'statsfile' && value !== '') watch.statsFile = value;
    else if (key === 'upload' && value !== '') options.upload = value;
    else if (key === 'keeplocal') options.keepLocal = value === '' || value === 'true' || value === '1';
    else if (key === 'uploadpathstyle' && value === '') options.uploadPathStyle = true;
    else if (!quiet) console.error(`heapsnap: unrecognized option in HEAPSNAP_OPTIONS: ${word}`);
  }
  return { enabled, options, watch };
}

/**
 * The signal handler's options from the environment (see `parseEnv`), or `null` when signal
 * dumps are disabled. `heapsnap dump` reads another process's environment with it (`quiet`:
 * no complaints about unknown words).
 */
function optionsFromEnv(env = process.env, { quiet = false } = {}) {
  const { enabled, options } = parseEnv(env, { quiet });
  return enabled ? options : null;
}

/**
 * Whether the portable writer cannot serve the default handler here, which is then left out
 * without a word (an installSignalHandler() call says why): worker threads (Node delivers
 * signals to the main thread only) and platforms without the signal (SIGUSR2 on Windows).
 */
function portableCannotServe(options) {
  return writer().portable && (!isMainThread || os.constants.signals[options.signal || 'SIGUSR2'] === undefined);
}

/** The handler `require('heapsnap')` installs; a bad environment never breaks the require. */
function installDefaultHandler(env = parseEnv()) {
  if (!env.enabled) return;
  const { options } = env;
  try {
    if (portableCannotServe(options)) return;
    installSignalHandler(options);
  } catch (err) {
    if (err.code !== 'ERR_HEAPSNAP_UPLOAD_UNAVAILABLE') {
      console.error(`heapsnap: signal dumps disabled: ${err.message.replace(/^heapsnap: /, '')}`);
      return;
    }
    // No SDK (or an old Node): dumps stay local, with one line saying why.
    console.error(`heapsnap: uploads disabled: ${err.code}: ${err.message.replace(/^heapsnap: /, '')}`);
    const { upload, keepLocal, uploadPathStyle, ...local } = options;
    installDefaultHandler({ ...env, options: local });
  }
}

module.exports = { installSignalHandler, removeSignalHandler, signalHandlerStatus, parseEnv, optionsFromEnv, installDefaultHandler, parseBytes };
