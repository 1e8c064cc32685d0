#!/bin/sh
# C compiler for wasm32-wasip1-threads (zstd's C sources in the WebAssembly analyzer), from
# PyPI's ziglang (`pip install ziglang`, as the prebuilds use): zig's clang for wasm32-wasi
# with threads' features. cc-rs passes --target=wasm32-wasip1-threads, a triple zig does not
# parse: it is dropped and zig's own given instead. zstd-sys brings its own libc shim.
for arg; do
  shift
  case "$arg" in
    --target=*) ;;
    *) set -- "$@" "$arg" ;;
  esac
done
exec "${HEAPSNAP_PYTHON:-python3}" -m ziglang cc -target wasm32-wasi-musl -mcpu=generic+atomics+bulk_memory "$@"
