'use strict';
// `heapsnap.on('dump', info => ...)`: listeners that run after every dump this thread
// finished, so an application can ship or announce the file. A listener that throws (or
// rejects) is reported on stderr and never breaks the dump or the process. Dumps JS starts
// (the API, the watch) are announced here directly; those the native writer starts on its own
// (signal, near-heap-limit, `heapsnap dump` requests) through its dump listener
// (src/notify.rs), on the next turn of the event loop. When their trigger has `upload`
// (lib/upload/), the notice starts the upload and listeners hear of the dump once it settled,
// with `upload`.

const { writer } = require('../loader/native');
const { invalidOption } = require('../errors');

const listeners = new Set();
let nativeHooked = false;

/** Asks the native writer, when there is one, to tell us about the dumps it starts. */
function hookNative() {
  if (nativeHooked) return;
  nativeHooked = true;
  try {
    writer().setDumpListener(announceNative);
  } catch {
    // No native writer here: every dump is started from JS, and announced there.
  }
}

/** A dump the native writer started: uploaded first when its trigger asks for it. */
function announceNative(notice) {
  const { armedFor, uploadDump } = require('../upload/after-dump');
  const settings = armedFor(notice.trigger);
  if (!settings) return emitDump(notice, notice.trigger);
  uploadDump(notice, settings, { quiet: settings.quiet }).then((upload) => emitDump({ ...notice, upload }, notice.trigger));
}

/** Hears the native writer's dumps from now on (triggers with `upload` need them). */
function listenToNativeDumps() {
  hookNative();
}

/** Adds a listener for `event` (only 'dump' exists). */
function on(event, listener) {
  check(event, listener, 'on');
  listeners.add(listener);
  hookNative();
}

/**
 * heapsnap's own listener (the registry `heapsnap ps` reads): it hears the native writer's
 * dumps only once something else loaded the writer (a signal handler, a dump), so that a
 * process with `nosignal` and no dumps never loads it.
 */
function onDumpInternal(listener) {
  listeners.add(listener);
  if (writer.isLoaded()) hookNative();
}

/** Removes a listener added with `on`; returns whether it was there. */
function off(event, listener) {
  check(event, listener, 'off');
  return listeners.delete(listener);
}

function check(event, listener, fn) {
  if (event !== 'dump') throw invalidOption(`${fn}: unknown event '${String(event)}' (known: dump)`);
  if (typeof listener !== 'function') throw invalidOption(`${fn}: listener must be a function, got ${typeof listener}`);
}

function report(err) {
  console.error(`heapsnap: a 'dump' listener failed: ${err && err.stack ? err.stack : String(err)}`);
}

/**
 * Tells every listener about a finished dump: `info` plus `trigger` ('api', 'watch', 'signal',
 * 'near-heap-limit', 'remote').
 */
function emitDump(info, trigger) {
  if (listeners.size === 0) return;
  const event = { ...info, trigger };
  for (const listener of [...listeners]) {
    try {
      const result = listener(event);
      if (result && typeof result.then === 'function') result.then(undefined, report);
    } catch (err) {
      report(err);
    }
  }
}

module.exports = { on, off, onDumpInternal, emitDump, listenToNativeDumps };
