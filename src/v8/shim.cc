// The only code in heapsnap that touches V8's C++ API.
//
// N-API has no heap profiler, so these few flat `extern "C"` functions wrap the V8 calls
// heapsnap needs; src/v8/mod.rs is their safe Rust face. Rules (see DESIGN.md):
// - every function except heapsnap_request_interrupt runs on the isolate's own thread;
// - nothing here throws (built with -fno-exceptions) and no Rust panic reaches here:
//   the Rust callbacks catch their own panics;
// - version differences are handled with V8_MAJOR_VERSION guards, one build per Node major.

#include <node_version.h>
#include <v8-profiler.h>
#include <v8-version.h>
#include <v8.h>

#include <cstddef>

namespace {

// Returns 0 to continue, anything else to stop the serializer.
using ChunkCallback = int (*)(void* ctx, const char* data, int size);

// Forwards V8's serializer output to Rust without buffering here: the Rust side copies
// the chunk into its bounded writer queue.
class ChunkForwarder final : public v8::OutputStream {
 public:
  ChunkForwarder(ChunkCallback callback, void* ctx) : callback_(callback), ctx_(ctx) {}

  // V8 buffers this much before calling WriteAsciiChunk: larger chunks mean fewer calls.
  int GetChunkSize() override { return 64 * 1024; }
  void EndOfStream() override {}

  WriteResult WriteAsciiChunk(char* data, int size) override {
    if (callback_(ctx_, data, size) != 0) {
      aborted_ = true;
      return kAbort;
    }
    return kContinue;
  }

  bool aborted() const { return aborted_; }

 private:
  ChunkCallback callback_;
  void* ctx_;
  bool aborted_ = false;
};

v8::Isolate* AsIsolate(void* isolate) { return static_cast<v8::Isolate*>(isolate); }

}  // namespace

extern "C" {

// The NODE_MODULE_VERSION these headers belong to, so the loader can refuse a shim
// built for another Node major instead of crashing inside V8.
int heapsnap_node_module_version(void) { return NODE_MODULE_VERSION; }

int heapsnap_v8_major_version(void) { return V8_MAJOR_VERSION; }

// The isolate running on the calling thread (the main thread or a worker), or null.
void* heapsnap_current_isolate(void) { return v8::Isolate::GetCurrent(); }

// Takes a snapshot; null when V8 could not. Pair with heapsnap_delete_snapshot.
const void* heapsnap_take_snapshot(void* isolate, int expose_internals, int numeric_values) {
  v8::Isolate* iso = AsIsolate(isolate);
  v8::HandleScope scope(iso);
  v8::HeapProfiler* profiler = iso->GetHeapProfiler();
#if V8_MAJOR_VERSION >= 11
  v8::HeapProfiler::HeapSnapshotOptions options;
  options.snapshot_mode = expose_internals ? v8::HeapProfiler::HeapSnapshotMode::kExposeInternals
                                           : v8::HeapProfiler::HeapSnapshotMode::kRegular;
  options.numerics_mode = numeric_values ? v8::HeapProfiler::NumericsMode::kExposeNumericValues
                                         : v8::HeapProfiler::NumericsMode::kHideNumericValues;
  return profiler->TakeHeapSnapshot(options);
#else
  // V8 10 has no "expose internals" mode; its third argument keeps globals as roots.
  (void)expose_internals;
  return profiler->TakeHeapSnapshot(nullptr, nullptr, true, numeric_values != 0);
#endif
}

// Streams the snapshot as JSON through `callback`. Returns 1 when the callback stopped it.
int heapsnap_serialize_snapshot(const void* snapshot, ChunkCallback callback, void* ctx) {
  ChunkForwarder stream(callback, ctx);
  static_cast<const v8::HeapSnapshot*>(snapshot)->Serialize(&stream, v8::HeapSnapshot::kJSON);
  return stream.aborted() ? 1 : 0;
}

// Frees the snapshot's memory (it can be hundreds of MB). Must run on the isolate's thread.
void heapsnap_delete_snapshot(const void* snapshot) {
  const_cast<v8::HeapSnapshot*>(static_cast<const v8::HeapSnapshot*>(snapshot))->Delete();
}

// A full, aggressive GC: what `global.gc()` does, without needing --expose-gc.
void heapsnap_low_memory_notification(void* isolate) { AsIsolate(isolate)->LowMemoryNotification(); }

// The one call allowed from any thread: runs `callback` on the isolate's thread as soon as
// JS is running there (even in a busy loop).
void heapsnap_request_interrupt(void* isolate, void (*callback)(void* isolate, void* data), void* data) {
  AsIsolate(isolate)->RequestInterrupt(reinterpret_cast<v8::InterruptCallback>(callback), data);
}

// Near-heap-limit hook: `callback` returns the new heap limit (V8 aborts if it is not raised).
void heapsnap_add_near_heap_limit_callback(void* isolate,
                                           size_t (*callback)(void* data, size_t current, size_t initial),
                                           void* data) {
  AsIsolate(isolate)->AddNearHeapLimitCallback(callback, data);
}

void heapsnap_remove_near_heap_limit_callback(void* isolate,
                                              size_t (*callback)(void* data, size_t current, size_t initial),
                                              size_t heap_limit) {
  AsIsolate(isolate)->RemoveNearHeapLimitCallback(callback, heap_limit);
}

}  // extern "C"
