// The only code in heapsnap that touches V8's C++ API.
//
// N-API has no heap profiler, so these few flat `extern "C"` functions wrap the V8 calls
// heapsnap needs; src/v8/mod.rs is their safe Rust face. Rules (see DESIGN.md):
// - every function except heapsnap_request_interrupt runs on the isolate's own thread;
// - nothing here throws (built with -fno-exceptions) and no Rust panic reaches here:
//   the Rust callbacks catch their own panics;
// - version differences are handled with V8_MAJOR_VERSION guards, one build per Node major;
// - V8 functions no shipped header declares (only for the line-end warm-up on V8 < 12, see
//   "Script line ends") are found with dlsym at run time, never linked.

#include <node_version.h>
#include <v8-profiler.h>
#include <v8-version.h>
#include <v8.h>

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

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

// ---------------------------------------------------------------------------------------------
// Script line ends, warmed right before a snapshot (V8 < 12: Node 18 and 20).
//
// Why: while V8 < 12 builds a heap snapshot it looks up the line of every function, and for a
// script whose line ends are not cached yet it scans the source again each time: with
// TypeScript's 9 MB compiler loaded that is ~20 s of the pause (V8 12 caches them first).
// The debugger caches them (what lib/writer/write.js's Debugger.enable does), but no public V8 API
// does, and signal and near-heap-limit dumps run inside V8 interrupts where no JS can run.
// So we do it natively with two functions of V8's debug interface (src/debug/debug-interface.h,
// which Node does not ship) that the node binary exports:
//   v8::debug::GetLoadedScripts(isolate, list)   every script that has source
//   int v8::debug::Script::EndLine() const        goes through Script::GetPositionInfo, which
//                                                 computes and caches the script's line ends
// Both are looked up with dlsym by mangled name when first needed, never linked: a node that
// lacks them (another build, or a changed signature, which changes the mangled name) still
// loads heapsnap, and its snapshots are only slower. Declaring V8's private types is fragile,
// so the declarations below are the fewest that work, guarded by V8 major, and tested on
// Node 18 and 20 (__test__/signal-warm.test.js). Linux with libstdc++ only: the V8 11 symbol's
// name spells libstdc++'s std::vector, and the V8 10 layout mirror assumes node and this shim
// share a standard library; elsewhere the warm-up reports itself unavailable.

#if V8_MAJOR_VERSION < 12 && defined(__linux__) && defined(__GLIBCXX__)
#define HEAPSNAP_WARMS_LINE_ENDS 1
#endif

#if HEAPSNAP_WARMS_LINE_ENDS
#include <dlfcn.h>

#include <vector>

namespace v8 {
namespace debug {
// V8's debugger view of a script: only handles to it are held and passed back to V8.
class Script;
}  // namespace debug
}  // namespace v8

namespace {

// `int v8::debug::Script::EndLine() const`: a non-virtual member function is, in the
// Itanium C++ ABI, a plain function taking `this` (a handle's location) first.
using EndLineFn = int (*)(const v8::debug::Script* self);
constexpr char kEndLineSymbol[] = "_ZNK2v85debug6Script7EndLineEv";

#if V8_MAJOR_VERSION >= 11
// V8 11 (Node 20): GetLoadedScripts(Isolate*, std::vector<v8::Global<debug::Script>>&).
constexpr char kGetLoadedScriptsSymbol[] =
    "_ZN2v85debug16GetLoadedScriptsEPNS_7IsolateERSt6vectorINS_6GlobalINS0_6ScriptEEESaIS6_EE";

class LoadedScripts {
 public:
  using List = std::vector<v8::Global<v8::debug::Script>>;
  using GetLoadedScriptsFn = void (*)(v8::Isolate* isolate, List& scripts);

  explicit LoadedScripts(v8::Isolate* isolate) : isolate_(isolate) {}
  void Load(GetLoadedScriptsFn get_loaded_scripts) { get_loaded_scripts(isolate_, globals_); }
  size_t size() const { return globals_.size(); }
  // A local handle to script `i`, in the caller's HandleScope.
  const v8::debug::Script* at(size_t i) const { return *globals_[i].Get(isolate_); }

 private:
  v8::Isolate* isolate_;
  List globals_;  // its destructor disposes the global handles
};
#else
// V8 10 (Node 18): GetLoadedScripts(Isolate*, v8::PersistentValueVector<debug::Script>&).
constexpr char kGetLoadedScriptsSymbol[] =
    "_ZN2v85debug16GetLoadedScriptsEPNS_7IsolateERNS_21PersistentValueVectorINS0_6ScriptENS_"
    "34DefaultPersistentValueVectorTraitsEEE";

class LoadedScripts {
 public:
  // PersistentValueVector is defined in v8-util.h, which Node 18 does not ship. Its layout
  // (`Isolate* isolate_; std::vector<PersistentContainerValue> impl_;`, each value the
  // location of a global handle) is mirrored here; V8 fills it through v8-util.h's inline
  // Append, compiled into node, which reads isolate_ and push_backs into impl_.
  struct PersistentValueVector {
    v8::Isolate* isolate;
    std::vector<uintptr_t> global_handles;
  };
  using GetLoadedScriptsFn = void (*)(v8::Isolate* isolate, PersistentValueVector& scripts);

  explicit LoadedScripts(v8::Isolate* isolate) : scripts_{isolate, {}} {}
  // What PersistentValueVector's destructor does.
  ~LoadedScripts() {
    for (uintptr_t handle : scripts_.global_handles) {
      v8::api_internal::DisposeGlobal(reinterpret_cast<v8::internal::Address*>(handle));
    }
  }
  LoadedScripts(const LoadedScripts&) = delete;
  LoadedScripts& operator=(const LoadedScripts&) = delete;

  void Load(GetLoadedScriptsFn get_loaded_scripts) { get_loaded_scripts(scripts_.isolate, scripts_); }
  size_t size() const { return scripts_.global_handles.size(); }
  // The global handle's location serves as the handle, as V8 itself does (Utils::OpenPersistent).
  const v8::debug::Script* at(size_t i) const {
    return reinterpret_cast<const v8::debug::Script*>(scripts_.global_handles[i]);
  }

 private:
  PersistentValueVector scripts_;
};
#endif

struct DebugInterface {
  LoadedScripts::GetLoadedScriptsFn get_loaded_scripts;
  EndLineFn end_line;
};

// Looked up once per process (thread-safe static init); members are null when node lacks them.
const DebugInterface& ResolveDebugInterface() {
  static const DebugInterface resolved = {
      reinterpret_cast<LoadedScripts::GetLoadedScriptsFn>(dlsym(RTLD_DEFAULT, kGetLoadedScriptsSymbol)),
      reinterpret_cast<EndLineFn>(dlsym(RTLD_DEFAULT, kEndLineSymbol)),
  };
  return resolved;
}

}  // namespace
#endif  // HEAPSNAP_WARMS_LINE_ENDS

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

// What heapsnap_warm_script_line_ends did; the values are mirrored in src/v8/mod.rs.
enum heapsnap_line_end_warmup_status {
  HEAPSNAP_LINE_ENDS_WARMED = 0,
  HEAPSNAP_LINE_ENDS_NOT_NEEDED = 1,  // V8 >= 12 caches them itself
  HEAPSNAP_LINE_ENDS_UNAVAILABLE = 2, // this node or platform lacks the debug interface
};

// Caches every script's line ends (see "Script line ends" above). On success, *scripts is how
// many scripts were visited and *lines the sum of their last line numbers.
int heapsnap_warm_script_line_ends(void* isolate, uint32_t* scripts, uint64_t* lines) {
  *scripts = 0;
  *lines = 0;
#if HEAPSNAP_WARMS_LINE_ENDS
  const DebugInterface& debug = ResolveDebugInterface();
  if (debug.get_loaded_scripts == nullptr || debug.end_line == nullptr) return HEAPSNAP_LINE_ENDS_UNAVAILABLE;
  v8::Isolate* iso = AsIsolate(isolate);
  v8::HandleScope scope(iso);
  LoadedScripts loaded(iso);
  loaded.Load(debug.get_loaded_scripts);
  for (size_t i = 0; i < loaded.size(); i++) {
    int end_line = debug.end_line(loaded.at(i));
    if (end_line > 0) *lines += static_cast<uint64_t>(end_line);
  }
  *scripts = static_cast<uint32_t>(loaded.size());
  return HEAPSNAP_LINE_ENDS_WARMED;
#elif V8_MAJOR_VERSION >= 12
  (void)isolate;
  return HEAPSNAP_LINE_ENDS_NOT_NEEDED;
#else
  (void)isolate;
  return HEAPSNAP_LINE_ENDS_UNAVAILABLE;
#endif
}

// A full, aggressive GC: what `global.gc()` does, without needing --expose-gc.
void heapsnap_low_memory_notification(void* isolate) { AsIsolate(isolate)->LowMemoryNotification(); }

// The heap figures the headroom check and a dump's memory context need (N-API has none):
// what process.memoryUsage() reports as heapTotal, heapUsed and external, plus the limit.
struct heapsnap_heap_statistics {
  uint64_t total_heap_size;
  uint64_t used_heap_size;
  uint64_t heap_size_limit;
  uint64_t external_memory;
  uint64_t malloced_memory;
};

void heapsnap_get_heap_statistics(void* isolate, heapsnap_heap_statistics* out) {
  v8::HeapStatistics stats;
  AsIsolate(isolate)->GetHeapStatistics(&stats);
  out->total_heap_size = stats.total_heap_size();
  out->used_heap_size = stats.used_heap_size();
  out->heap_size_limit = stats.heap_size_limit();
  out->external_memory = stats.external_memory();
  out->malloced_memory = stats.malloced_memory();
}

// Allocation tracking (leakCheck({ stacks: true })): while it runs, V8 records the JS stack of
// every allocation, and snapshots taken meanwhile carry trace_function_infos, trace_tree and a
// trace_node_id per object. Stopping discards the recorded stacks.
void heapsnap_start_tracking_allocations(void* isolate) {
  AsIsolate(isolate)->GetHeapProfiler()->StartTrackingHeapObjects(true);
}

void heapsnap_stop_tracking_allocations(void* isolate) { AsIsolate(isolate)->GetHeapProfiler()->StopTrackingHeapObjects(); }

// One heap space's figures (what v8.getHeapSpaceStatistics() shows), for the memory record a
// dump leaves beside its snapshot. `name` points at V8's static space name.
struct heapsnap_heap_space {
  const char* name;
  uint64_t size;
  uint64_t used;
  uint64_t available;
  uint64_t physical;
};

size_t heapsnap_heap_space_count(void* isolate) { return AsIsolate(isolate)->NumberOfHeapSpaces(); }

// Returns 0 when `index` is past the last space.
int heapsnap_get_heap_space(void* isolate, size_t index, heapsnap_heap_space* out) {
  v8::HeapSpaceStatistics stats;
  if (!AsIsolate(isolate)->GetHeapSpaceStatistics(&stats, index)) return 0;
  out->name = stats.space_name();
  out->size = stats.space_size();
  out->used = stats.space_used_size();
  out->available = stats.space_available_size();
  out->physical = stats.physical_space_size();
  return 1;
}

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

// ---------------------------------------------------------------------------------------------
// Sampling heap profiler (src/profile.rs): V8 samples an allocation every ~interval bytes and
// keeps the JS stack of each sample that is still alive. One profiler per isolate.

namespace {

using ProfileNodeCallback = void (*)(void* ctx, uint32_t id, uint32_t parent_id, const char* name, size_t name_len,
                                     const char* url, size_t url_len, int script_id, int line, int column,
                                     uint64_t self_size);
using ProfileSampleCallback = void (*)(void* ctx, uint32_t node_id, uint64_t size, uint64_t ordinal);

void WalkAllocationNode(v8::Isolate* iso, v8::AllocationProfile::Node* node, uint32_t parent_id,
                        ProfileNodeCallback on_node, void* ctx) {
  v8::String::Utf8Value name(iso, node->name);
  v8::String::Utf8Value url(iso, node->script_name);
  uint64_t self_size = 0;
  for (const auto& allocation : node->allocations) {
    self_size += static_cast<uint64_t>(allocation.size) * allocation.count;
  }
  on_node(ctx, node->node_id, parent_id, *name, *name == nullptr ? 0 : static_cast<size_t>(name.length()), *url,
          *url == nullptr ? 0 : static_cast<size_t>(url.length()), node->script_id, node->line_number,
          node->column_number, self_size);
  for (v8::AllocationProfile::Node* child : node->children) WalkAllocationNode(iso, child, node->node_id, on_node, ctx);
}

}  // namespace

extern "C" {

// Starts sampling; returns 0 on success, 1 when V8 refused (a profiler already runs on this
// isolate, e.g. the inspector's), 2 when include_collected is not supported by this V8.
int heapsnap_start_sampling_heap_profiler(void* isolate, uint64_t interval, int stack_depth, int include_collected) {
  int flags = v8::HeapProfiler::kSamplingNoFlags;
  if (include_collected) {
#if V8_MAJOR_VERSION >= 11
    flags |= v8::HeapProfiler::kSamplingIncludeObjectsCollectedByMajorGC |
             v8::HeapProfiler::kSamplingIncludeObjectsCollectedByMinorGC;
#else
    return 2;
#endif
  }
  v8::HeapProfiler* profiler = AsIsolate(isolate)->GetHeapProfiler();
  bool started = profiler->StartSamplingHeapProfiler(interval, stack_depth,
                                                     static_cast<v8::HeapProfiler::SamplingFlags>(flags));
  return started ? 0 : 1;
}

// Walks the current allocation profile depth first (parents before children; the root's
// parent id is 0), then hands over every sample. Returns 1 when V8 has no profile.
int heapsnap_read_allocation_profile(void* isolate, ProfileNodeCallback on_node, ProfileSampleCallback on_sample,
                                     void* ctx) {
  v8::Isolate* iso = AsIsolate(isolate);
  v8::HandleScope scope(iso);
  v8::AllocationProfile* profile = iso->GetHeapProfiler()->GetAllocationProfile();
  if (profile == nullptr) return 1;
  WalkAllocationNode(iso, profile->GetRootNode(), 0, on_node, ctx);
  for (const auto& sample : profile->GetSamples()) {
    on_sample(ctx, sample.node_id, static_cast<uint64_t>(sample.size) * sample.count, sample.sample_id);
  }
  delete profile;
  return 0;
}

void heapsnap_stop_sampling_heap_profiler(void* isolate) {
  AsIsolate(isolate)->GetHeapProfiler()->StopSamplingHeapProfiler();
}

}  // extern "C"

// ---------------------------------------------------------------------------------------------
// Background (fork) dumps (src/background.rs, src/v8/fork.rs): what V8 and libuv contribute.

// In a forked child only. The child has just one thread: V8's platform workers and libuv's
// pool stayed in the parent, but their condition variables still record them as waiters.
// glibc's pthread_cond_signal then blocks forever once it must wait for a waiter that was
// signalled but never woke (measured: about half of plain runs hang in the child's first GC,
// when V8 posts marking and sweeping work). Nothing in the child can be woken anyway, so the
// node binary's calls to pthread_cond_signal and pthread_cond_broadcast (through its GOT, in
// the child's private copy of it) are pointed at a no-op. Work V8 posts to workers then stays
// queued: V8 joins its GC jobs from the main thread (the joiner does the work itself) and
// cancels queued tasks it waits for. Returns how many GOT slots were redirected (0: the binary
// does not call them through its GOT, e.g. a static build; the caller then gives up).
#if defined(__linux__)
namespace {

int NoWakeup(pthread_cond_t*) { return 0; }

bool IsCondWakeup(const char* name) {
  return strcmp(name, "pthread_cond_signal") == 0 || strcmp(name, "pthread_cond_broadcast") == 0;
}

#if defined(__x86_64__)
constexpr uint32_t kJumpSlot = R_X86_64_JUMP_SLOT;
constexpr uint32_t kGlobDat = R_X86_64_GLOB_DAT;
#elif defined(__aarch64__)
constexpr uint32_t kJumpSlot = R_AARCH64_JUMP_SLOT;
constexpr uint32_t kGlobDat = R_AARCH64_GLOB_DAT;
#else
constexpr uint32_t kJumpSlot = 0xffffffff;
constexpr uint32_t kGlobDat = 0xffffffff;
#endif

struct GotScan {
  int patched = 0;
};

// The dynamic section's addresses: relocated in place by ld.so on most targets, file-relative
// elsewhere (and for non-PIE executables both are the same).
uintptr_t DynAddress(uintptr_t base, uintptr_t value) { return value < base ? base + value : value; }

void PatchRelocations(uintptr_t base, const ElfW(Rela)* relocations, size_t bytes, const ElfW(Sym)* symbols,
                      const char* strings, GotScan* scan) {
  if (relocations == nullptr || symbols == nullptr || strings == nullptr) return;
  long page = sysconf(_SC_PAGESIZE);
  for (size_t i = 0; i < bytes / sizeof(ElfW(Rela)); i++) {
    const ElfW(Rela)& rel = relocations[i];
    uint32_t type = ELF64_R_TYPE(rel.r_info);
    if (type != kJumpSlot && type != kGlobDat) continue;
    const ElfW(Sym)& symbol = symbols[ELF64_R_SYM(rel.r_info)];
    if (!IsCondWakeup(strings + symbol.st_name)) continue;
    auto* slot = reinterpret_cast<void**>(base + rel.r_offset);
    uintptr_t start = reinterpret_cast<uintptr_t>(slot) & ~static_cast<uintptr_t>(page - 1);
    // Full RELRO made the GOT read-only; this is the child's private copy of the page.
    if (mprotect(reinterpret_cast<void*>(start), static_cast<size_t>(page), PROT_READ | PROT_WRITE) != 0) continue;
    *slot = reinterpret_cast<void*>(&NoWakeup);
    scan->patched++;
  }
}

int PatchMainProgram(struct dl_phdr_info* info, size_t, void* data) {
  auto* scan = static_cast<GotScan*>(data);
  uintptr_t base = info->dlpi_addr;
  const ElfW(Dyn)* dyn = nullptr;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) dyn = reinterpret_cast<const ElfW(Dyn)*>(base + info->dlpi_phdr[i].p_vaddr);
  }
  if (dyn == nullptr) return 1;
  const ElfW(Sym)* symbols = nullptr;
  const char* strings = nullptr;
  const ElfW(Rela)* plt = nullptr;
  size_t plt_bytes = 0;
  const ElfW(Rela)* rela = nullptr;
  size_t rela_bytes = 0;
  bool plt_is_rela = true;
  for (; dyn->d_tag != DT_NULL; dyn++) {
    switch (dyn->d_tag) {
      case DT_SYMTAB: symbols = reinterpret_cast<const ElfW(Sym)*>(DynAddress(base, dyn->d_un.d_ptr)); break;
      case DT_STRTAB: strings = reinterpret_cast<const char*>(DynAddress(base, dyn->d_un.d_ptr)); break;
      case DT_JMPREL: plt = reinterpret_cast<const ElfW(Rela)*>(DynAddress(base, dyn->d_un.d_ptr)); break;
      case DT_PLTRELSZ: plt_bytes = dyn->d_un.d_val; break;
      case DT_PLTREL: plt_is_rela = dyn->d_un.d_val == DT_RELA; break;
      case DT_RELA: rela = reinterpret_cast<const ElfW(Rela)*>(DynAddress(base, dyn->d_un.d_ptr)); break;
      case DT_RELASZ: rela_bytes = dyn->d_un.d_val; break;
      default: break;
    }
  }
  if (plt_is_rela) PatchRelocations(base, plt, plt_bytes, symbols, strings, scan);
  PatchRelocations(base, rela, rela_bytes, symbols, strings, scan);
  return 1;  // the main program comes first: stop there
}

}  // namespace

extern "C" {

int heapsnap_child_silence_worker_wakeups(void) {
  GotScan scan;
  dl_iterate_phdr(PatchMainProgram, &scan);
  return scan.patched;
}

}  // extern "C"
#endif  // __linux__

extern "C" {

// Watches a forked child from the parent's event loop: `callback(data, 0)` once the child has
// exited (its pidfd turns readable), `callback(data, 1)` if it is still running after
// `timeout_ms`. Referenced, so a dump in progress keeps the loop alive like any pending I/O.
struct heapsnap_child_watch {
  uv_poll_t poll;
  uv_timer_t timer;
  int open_handles;
  void (*callback)(void* data, int event);
  void* data;
};

static void ChildWatchOnPoll(uv_poll_t* handle, int status, int events) {
  (void)status;
  (void)events;
  auto* watch = static_cast<heapsnap_child_watch*>(handle->data);
  // An error status (the fd went bad) is reported as an exit too: the Rust side then finds
  // out from waitpid what happened.
  uv_poll_stop(&watch->poll);
  watch->callback(watch->data, 0);
}

static void ChildWatchOnTimer(uv_timer_t* handle) {
  auto* watch = static_cast<heapsnap_child_watch*>(handle->data);
  watch->callback(watch->data, 1);
}

static void ChildWatchOnClose(uv_handle_t* handle) {
  auto* watch = static_cast<heapsnap_child_watch*>(handle->data);
  if (--watch->open_handles == 0) free(watch);
}

// Returns null and sets *error (a negative libuv code) on failure. `pidfd` stays the caller's.
heapsnap_child_watch* heapsnap_child_watch_start(void* loop, int pidfd, uint64_t timeout_ms,
                                                 void (*callback)(void* data, int event), void* data,
                                                 int* error) {
  auto* watch = static_cast<heapsnap_child_watch*>(calloc(1, sizeof(heapsnap_child_watch)));
  if (watch == nullptr) {
    *error = UV_ENOMEM;
    return nullptr;
  }
  watch->callback = callback;
  watch->data = data;
  uv_loop_t* uv_loop = static_cast<uv_loop_t*>(loop);
  int rc = uv_poll_init(uv_loop, &watch->poll, pidfd);
  if (rc != 0) {
    free(watch);
    *error = rc;
    return nullptr;
  }
  watch->poll.data = watch;
  watch->open_handles = 1;
  rc = uv_timer_init(uv_loop, &watch->timer);
  if (rc == 0) {
    watch->timer.data = watch;
    watch->open_handles = 2;
    rc = uv_poll_start(&watch->poll, UV_READABLE, ChildWatchOnPoll);
  }
  if (rc == 0) rc = uv_timer_start(&watch->timer, ChildWatchOnTimer, timeout_ms, 0);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll), ChildWatchOnClose);
    if (watch->open_handles == 2) uv_close(reinterpret_cast<uv_handle_t*>(&watch->timer), ChildWatchOnClose);
    *error = rc;
    return nullptr;
  }
  return watch;
}

// On the loop's thread, once: stops both handles; the memory is freed when libuv is done.
// The pidfd may be closed right after: libuv no longer polls it.
void heapsnap_child_watch_close(heapsnap_child_watch* watch) {
  uv_poll_stop(&watch->poll);
  uv_timer_stop(&watch->timer);
  uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll), ChildWatchOnClose);
  uv_close(reinterpret_cast<uv_handle_t*>(&watch->timer), ChildWatchOnClose);
}

}  // extern "C"
