'use strict';
// The analyzer addon's file sink as an object: `analyzer().NativeFileSink.create(options)`
// (heapsnap-core's sink: a 0600 file named only once complete, gzip/zstd, redaction), for the
// portable writer (lib/writer/portable.js) and `heapsnap dump --inspector`.
//
// The addon hands out a number per sink (`fileSinkCreate`...), not an object napi wraps: the
// WebAssembly build keeps a wrapped object alive to the end of the JS task (emnapi holds it
// through a WeakRef) and its reference entry until a later task finalizes it, so a leak
// analysis of a process that dumped counted those as allocated by each dump. This object is
// plain: garbage once the dump is done, collected by the next GC.

const { heapsnapError } = require('../errors');

/** Sinks dropped unfinished are aborted (their temp file removed), as the addon's objects were. */
const abandoned = new FinalizationRegistry(({ abort, handle }) => abort(handle));

/** `NativeFileSink` over `addon`'s fileSink* functions; undefined for an addon without them (a stale build). */
function fileSinkClass(addon) {
  if (typeof addon.fileSinkCreate !== 'function') return undefined;
  const abort = addon.fileSinkAbort;

  return class NativeFileSink {
    #handle;

    /** Decides the name, creates the temp file (a bad path fails here). */
    static create(options) {
      const { handle, path } = addon.fileSinkCreate(options);
      return new NativeFileSink(handle, path);
    }

    constructor(handle, path) {
      this.#handle = handle;
      /** The path the file gets once finished. */
      this.path = path;
      abandoned.register(this, { abort, handle }, this);
    }

    /** The handle of a sink still open; a coded error once finished or aborted. */
    #open() {
      if (this.#handle === undefined) {
        throw heapsnapError('ERR_HEAPSNAP_SINK_CLOSED', `the snapshot file '${this.path}' is already finished or aborted`);
      }
      return this.#handle;
    }

    /** The handle, given up: the sink is finished or aborted from here on. */
    #close() {
      const handle = this.#open();
      this.#handle = undefined;
      abandoned.unregister(this);
      return handle;
    }

    /** The free-space check for a heap with `usedHeapBytes` in use: `{ estimated, available }`, or ERR_HEAPSNAP_NO_SPACE. */
    checkSpace(usedHeapBytes, force) {
      return addon.fileSinkCheckSpace(this.#open(), usedHeapBytes, force);
    }

    write(chunk) {
      addon.fileSinkWrite(this.#open(), chunk);
    }

    /** Completes and names the file off the JS thread: a promise of its stats. */
    finish() {
      return addon.fileSinkFinish(this.#close());
    }

    /** `finish()` on this thread, for the synchronous writeSnapshot. */
    finishSync() {
      return addon.fileSinkFinishSync(this.#close());
    }

    /** Removes the temp file; nothing once finished or aborted. */
    abort() {
      if (this.#handle !== undefined) abort(this.#close());
    }
  };
}

module.exports = { fileSinkClass };
