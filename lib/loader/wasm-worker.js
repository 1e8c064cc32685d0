'use strict';
// A thread of the WebAssembly analyzer (lib/loader/wasm.js): a Node worker that instantiates
// the same module on the shared memory and runs what the main instance hands it (a Rust
// std::thread, an async task of the pool). napi-rs's wasi-worker.mjs, with heapsnap's imports
// and without the WASI ExperimentalWarning.

const fs = require('fs');
const { parentPort, Worker } = require('worker_threads');
const { createWasi, heapsnapImports } = require('./wasm');
const { instantiateNapiModuleSync, MessageHandler, getDefaultContext, emnapiAsyncWorkPlugin, emnapiTSFNPlugin } = require('@napi-rs/wasm-runtime');

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
      plugins: [emnapiAsyncWorkPlugin, emnapiTSFNPlugin],
      overwriteImports(importObject) {
        importObject.env = { ...importObject.env, ...importObject.napi, ...importObject.emnapi, memory: wasmMemory };
        importObject.heapsnap = heapsnapImports(() => wasmMemory);
        return importObject;
      },
    });
  },
});

globalThis.onmessage = (event) => handler.handle(event);
