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

#include <uv.h>

#include <cstddef>
#include <cstdlib>

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

// ---------------------------------------------------------------------------------------------
// libuv: signals and wake-ups. Node exports libuv too; these use it so that heapsnap shares
// Node's one process-wide signal handler instead of replacing it (JS `process.on(signal)`
// listeners keep working, and removing them does not reset the signal to its default).

// Listens for `signum` on a private loop and thread, so a JS thread stuck in a busy loop
// cannot keep the signal from being seen.
struct heapsnap_signal_watcher {
  uv_loop_t loop;
  uv_signal_t signal;
  uv_async_t stop;
  uv_thread_t thread;
  void (*callback)(void* data, int signum);
  void* data;
};

static void WatcherOnSignal(uv_signal_t* handle, int signum) {
  auto* watcher = static_cast<heapsnap_signal_watcher*>(handle->data);
  watcher->callback(watcher->data, signum);
}

static void WatcherOnStop(uv_async_t* handle) {
  auto* watcher = static_cast<heapsnap_signal_watcher*>(handle->data);
  uv_close(reinterpret_cast<uv_handle_t*>(&watcher->signal), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&watcher->stop), nullptr);
}

static void WatcherRun(void* arg) {
  auto* watcher = static_cast<heapsnap_signal_watcher*>(arg);
  uv_run(&watcher->loop, UV_RUN_DEFAULT);
}

// Returns null and sets *error (a negative libuv code) on failure.
heapsnap_signal_watcher* heapsnap_signal_watcher_start(int signum, void (*callback)(void* data, int signum),
                                                       void* data, int* error) {
  auto* watcher = static_cast<heapsnap_signal_watcher*>(calloc(1, sizeof(heapsnap_signal_watcher)));
  if (watcher == nullptr) {
    *error = UV_ENOMEM;
    return nullptr;
  }
  watcher->callback = callback;
  watcher->data = data;
  int rc = uv_loop_init(&watcher->loop);
  if (rc != 0) {
    free(watcher);
    *error = rc;
    return nullptr;
  }
  uv_signal_init(&watcher->loop, &watcher->signal);
  watcher->signal.data = watcher;
  uv_async_init(&watcher->loop, &watcher->stop, WatcherOnStop);
  watcher->stop.data = watcher;
  rc = uv_signal_start(&watcher->signal, WatcherOnSignal, signum);
  if (rc == 0) rc = uv_thread_create(&watcher->thread, WatcherRun, watcher);
  if (rc != 0) {
    WatcherOnStop(&watcher->stop);
    uv_run(&watcher->loop, UV_RUN_DEFAULT);
    uv_loop_close(&watcher->loop);
    free(watcher);
    *error = rc;
    return nullptr;
  }
  return watcher;
}

// Stops listening and joins the thread. Call from any thread but the watcher's own.
void heapsnap_signal_watcher_stop(heapsnap_signal_watcher* watcher) {
  uv_async_send(&watcher->stop);
  uv_thread_join(&watcher->thread);
  uv_loop_close(&watcher->loop);
  free(watcher);
}

// A wake-up for a JS thread's own event loop, fired from any thread. Unreferenced, so it
// never keeps a process alive.
struct heapsnap_wakeup {
  uv_async_t async;
  void (*callback)(void* data);
  void* data;
};

static void WakeupOnAsync(uv_async_t* handle) {
  auto* wakeup = reinterpret_cast<heapsnap_wakeup*>(handle);
  wakeup->callback(wakeup->data);
}

static void WakeupOnClose(uv_handle_t* handle) { free(handle); }

heapsnap_wakeup* heapsnap_wakeup_new(void* loop, void (*callback)(void* data), void* data, int* error) {
  auto* wakeup = static_cast<heapsnap_wakeup*>(calloc(1, sizeof(heapsnap_wakeup)));
  if (wakeup == nullptr) {
    *error = UV_ENOMEM;
    return nullptr;
  }
  wakeup->callback = callback;
  wakeup->data = data;
  int rc = uv_async_init(static_cast<uv_loop_t*>(loop), &wakeup->async, WakeupOnAsync);
  if (rc != 0) {
    free(wakeup);
    *error = rc;
    return nullptr;
  }
  uv_unref(reinterpret_cast<uv_handle_t*>(&wakeup->async));
  return wakeup;
}

// Thread-safe, until heapsnap_wakeup_close has been called.
void heapsnap_wakeup_send(heapsnap_wakeup* wakeup) { uv_async_send(&wakeup->async); }

// On the loop's thread; the memory is freed once libuv is done with the handle.
void heapsnap_wakeup_close(heapsnap_wakeup* wakeup) {
  uv_close(reinterpret_cast<uv_handle_t*>(&wakeup->async), WakeupOnClose);
}

// A libuv error code as text ("EINVAL").
const char* heapsnap_uv_err_name(int error) { return uv_err_name(error); }

}  // extern "C"
