'use strict';
// A thread of the WebAssembly analyzer (lib/loader/wasm.js): a Node worker that instantiates
// the same module on the shared memory and runs what the main instance hands it (a Rust
// std::thread, an async task of the pool). napi-rs's wasi-worker.mjs, with heapsnap's imports
// and without the WASI ExperimentalWarning.

const fs = require('fs');
const { parentPort, Worker } = require('worker_threads');
const { createWasi, heapsnapImports, requireRuntime, withoutFastWasiCalls } = require('./wasm');
const { instantiateNapiModuleSync, MessageHandler } = requireRuntime('@emnapi/core');
const { getDefaultContext } = requireRuntime('@emnapi/runtime');

if (parentPort) parentPort.on('message', (data) => globalThis.onmessage({ data }));

Object.assign(globalThis, {
  self: globalThis,
  require,
  Worker,
  importScripts(file) {
    (0, eval)(`${fs.readFileSync(file, 'utf8')}//# sourceURL=${file}`);
  },
  postMessage(message) {
    if (parentPort) parentPort.postMessage(message);
  },
});

const context = getDefaultContext();
const handler = new MessageHandler({
  onLoad({ wasmModule, wasmMemory }) {
    return instantiateNapiModuleSync(wasmModule, {
      childThread: true,
      wasi: createWasi(),
      context,
      overwriteImports(importObject) {
        importObject.env = { ...importObject.env, ...importObject.napi, ...importObject.emnapi, memory: wasmMemory };
        importObject.heapsnap = heapsnapImports(() => wasmMemory);
        withoutFastWasiCalls(importObject);
        return importObject;
      },
    });
  },
  // A trap ends this thread for good: tell the module, so the threads that wait on this one
  // (the file sink on its writer) give up instead of waiting forever. A trapped thread is not
  // rethrown: emnapi's main side would turn it into an uncaught exception in the host process;
  // the call that waited on it fails with a coded error instead.
  onError(err, type) {
    try {
      const trapped = handler.instance && handler.instance.exports.heapsnap_wasm_thread_trapped;
      if (typeof trapped === 'function') trapped();
    } catch {}
    if (!(type === 'start' && err instanceof WebAssembly.RuntimeError)) throw err;
  },
});

globalThis.onmessage = (event) => handler.handle(event);
