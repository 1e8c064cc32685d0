#!/bin/sh
# Archiver for scripts/zig-wasm-cc.sh's objects: zig's llvm-ar (PyPI's ziglang).
exec "${HEAPSNAP_PYTHON:-python3}" -m ziglang ar "$@"
