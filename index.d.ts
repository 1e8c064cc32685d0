// Type definitions for heapsnap.

/** Compression of the written file. Inferred from a `.gz` / `.zst` file name when omitted. */
export type Compression = 'gzip' | 'zstd' | false

/** Options accepted by every function that writes a snapshot. */
/**
 * Uploads of finished dumps to S3-compatible object storage (AWS S3, MinIO, Garage, Cloudflare
 * R2, GCS's S3 interface), on every writer and trigger; `HEAPSNAP_OPTIONS=upload=s3://...`,
 * `keeplocal=false`, `uploadpathstyle` for the default signal handler, the watch and
 * `heapsnap dump <pid>` requests. Needs `npm install @aws-sdk/client-s3 @aws-sdk/lib-storage`
 * and Node 20 or later (else `ERR_HEAPSNAP_UPLOAD_UNAVAILABLE`); endpoint, region and
 * credentials come from the standard AWS settings (`AWS_ENDPOINT_URL`, `AWS_REGION`, profiles,
 * roles).
 */
export interface UploadOptions {
  /**
   * `'s3://bucket/prefix/'`: the snapshot and its memory record go to
   * `<prefix><hostname>/<file name>` (a prefix with its own `{hostname}`, `{pid}`, `{date}`,
   * `{time}` or `{iso}` tokens is used as written), streamed in parts on a thread of its own.
   * A failed upload is a warning (`upload.error`), the file stays, and the next process with the
   * same setting sends it.
   */
  upload?: string
  /** `false`: remove the local snapshot and memory record once the store confirmed them (default `true`). */
  keepLocal?: boolean
  /** Path-style requests (`host/bucket/key`); automatic for IP-address and `localhost` endpoints. */
  uploadPathStyle?: boolean
}

/** Where an upload went, or why it failed: `info.upload` and the `dump` event's `upload`. */
export interface UploadInfo {
  /** `s3://bucket/key`. */
  url: string
  bucket?: string
  key?: string
  /** Bytes of the snapshot the store confirmed. */
  bytes?: number
  durationMs?: number
  etag?: string
  /** The CRC32 the store verified (`<base64>-<parts>` for multipart uploads). */
  checksumCRC32?: string | null
  versionId?: string | null
  parts?: number
  /** The memory record's object, when there was one. */
  memoryRecord?: { url: string; bytes: number } | null
  /** Whether the local files are still there (`keepLocal`, or the upload failed). */
  keptLocal: boolean
  /** The upload failed: `ERR_HEAPSNAP_UPLOAD_FAILED`, `ERR_HEAPSNAP_UPLOAD_DENIED`, `ERR_HEAPSNAP_UPLOAD_UNAVAILABLE` or an OS code. */
  error?: { code: string; message: string }
}

export interface WriteOptions extends UploadOptions {
  /**
   * File name or template. Tokens: `{pid}`, `{tid}` (worker threadId), `{seq}` (per-process
   * counter), `{date}` (YYYYMMDD), `{time}` (HHMMSS), `{iso}` (UTC, file-name safe), `{hostname}`.
   * Relative names are resolved against `dir`, else the current directory.
   */
  path?: string
  /** Folder for the file (must exist). */
  dir?: string
  /** Run a full garbage collection first (works without --expose-gc). */
  gc?: boolean
  /** `'gzip'`, `'zstd'` or `false`; `true` means gzip. */
  compress?: Compression | 'none' | true
  /** Compression level: gzip 0-9 (default 3), zstd 1-19 (default 1). Defaults keep up with V8's serializer. */
  level?: number
  /** Include V8 internals that DevTools hides by default. */
  exposeInternals?: boolean
  /** Record the values of numbers (heap numbers and Smis) in the snapshot. */
  numericValues?: boolean
  /**
   * Replace every string value in the snapshot (string contents, regexp sources, recorded
   * numbers) by `<redacted N chars>`, so the file can be shared. Names stay: property, variable,
   * class, function and script names, source locations, ids, sizes and the whole graph, so it
   * analyzes exactly like a plain snapshot. A string used both as a value and as a name (a
   * value `"id"` and a property `id`) stays. See SECURITY.md.
   */
  redact?: boolean
  /**
   * Dump even when the headroom check estimates there is not enough memory for V8's snapshot
   * (which otherwise fails with `ERR_HEAPSNAP_NO_HEADROOM`, writing nothing), or the free-space
   * check that the file will not fit on its filesystem (`ERR_HEAPSNAP_NO_SPACE`).
   */
  force?: boolean
  /**
   * Total bytes the process may use, like a cgroup limit: the headroom check then compares the
   * estimate with `memoryLimit - rss` instead of the detected cgroup / `MemAvailable` room.
   */
  memoryLimit?: number
  /**
   * Write the process's memory at dump time (RSS, V8 heap and its spaces, external memory,
   * cgroup limit) to `<snapshot>.memory.json` beside the snapshot, which `heapsnap summary` and
   * the report read to say how much of the RSS lies outside the JS heap (default `true`;
   * `HEAPSNAP_OPTIONS=nomemoryfile` turns it off for triggered dumps).
   */
  memoryFile?: boolean
}

/**
 * Background (fork) dumps, for `writeSnapshotAsync` and signal dumps: on Linux a forked,
 * copy-on-write child takes the snapshot while this process keeps running; this process
 * pauses only to fork. Costs: the child's memory (about what an in-process snapshot needs),
 * plus copies of the pages the parent writes meanwhile. One at a time per process (a second
 * request gets `ERR_HEAPSNAP_BUSY`). Elsewhere, and whenever the child fails or times out,
 * the dump is taken in-process (`info.mode === 'in-process'`, `info.fallbackReason` says why).
 */
export interface BackgroundOptions {
  /** Take the snapshot in a forked child (Linux). Also `HEAPSNAP_OPTIONS=background`. */
  background?: boolean
  /**
   * When the background dump fails: `true` (default) dumps in-process instead; `false` rejects
   * with `ERR_HEAPSNAP_BACKGROUND_FAILED` (a signal dump writes nothing). `HEAPSNAP_OPTIONS=fallback=false`.
   */
  fallback?: boolean
  /**
   * Milliseconds before a child that has not finished is killed (then the fallback applies).
   * Default: 120 s plus 1 s per 2 MB of used heap (a stuck child only delays the dump; one
   * killed too early costs an in-process pause). `HEAPSNAP_OPTIONS=bgtimeout=<ms>`.
   */
  backgroundTimeout?: number
}

/** Options of {@link writeSnapshotAsync}. */
export interface AsyncWriteOptions extends WriteOptions, BackgroundOptions {}

/** The process's memory when a dump started (bytes), as `process.memoryUsage()` names it. */
export interface MemoryInfo {
  /** Resident set size; missing where /proc is (not Linux). */
  rss?: number
  heapUsed: number
  heapTotal: number
  external: number
  /** From `process.memoryUsage()` (JS-initiated dumps only). */
  arrayBuffers?: number
  /** The limit of the process's cgroup, when it has one. */
  cgroupLimit?: number
  /** What the headroom check estimated the dump would add to the peak RSS. */
  estimatedBytes: number
  /** What the process could still use, when known. */
  availableBytes?: number
}

/** The free-space check of a dump (bytes). */
export interface DiskInfo {
  /** The file's estimated size, from the used heap and the compression (an over-estimate). */
  estimatedBytes: number
  /** What the target's filesystem had left for unprivileged users (statvfs `f_bavail`), when it says. */
  availableBytes?: number
}

/** What a finished snapshot reports. */
export interface SnapshotInfo {
  /** Where the file was written (as resolved: relative when the name was relative). */
  path: string
  /** Size on disk. */
  bytes: number
  /** Size of the snapshot's JSON before compression. */
  rawBytes: number
  compression: 'none' | 'gzip' | 'zstd'
  /** From the call to the file being complete and renamed into place. */
  durationMs: number
  /** How long the JavaScript thread was blocked (GC + taking + serializing). */
  pauseMs: number
  /** String values were replaced by placeholders (`redact: true`). */
  redacted: boolean
  /** The process's memory when the dump started. */
  memory: MemoryInfo
  /** `<snapshot>.memory.json`, when `memoryFile` was not turned off and it was written. */
  memoryFile?: string
  /** The free-space check's estimate of the file and what its filesystem had left. */
  disk: DiskInfo
  /** With `upload` (writeSnapshotAsync resolves once it settled). */
  upload?: UploadInfo
  /**
   * Problems that did not fail the dump, one sentence each: the target directory is writable
   * by other users without the sticky bit (also printed once per directory on stderr), the
   * directory's fsync failed after the file got its name, or the memory record could not be
   * written. Empty when none.
   */
  warnings: string[]
}

/**
 * Errors carry a stable `code`: an OS code (`ENOENT`, `EACCES`, `EISDIR`, `ENOSPC`, ...) or `ERR_HEAPSNAP_*`.
 * `ERR_HEAPSNAP_UNSUPPORTED`: a native-only feature asked of the portable writer (`background`,
 * signal handlers in workers, onNearHeapLimit options Node's own snapshot lacks, ...); the
 * message says why. `ERR_HEAPSNAP_NATIVE_MISSING`: an addon needed is missing.
 */
export interface HeapsnapError extends Error {
  code: string
  /**
   * `ERR_HEAPSNAP_NO_HEADROOM`: what the dump was estimated to need, in bytes;
   * `ERR_HEAPSNAP_NO_SPACE`: the estimated size of the file.
   */
  estimatedBytes?: number
  /**
   * `ERR_HEAPSNAP_NO_HEADROOM`: what the process could still use, in bytes;
   * `ERR_HEAPSNAP_NO_SPACE`: what the target's filesystem had left.
   */
  availableBytes?: number
}

/**
 * heapdump-compatible synchronous write. Returns true on success, false on failure. The callback
 * runs before the function returns, with `(err, filename)`; `err.message` starts with
 * `heapdump write error <CODE>`. With no file name, writes `heapdump-<ms>.<seq>.heapsnapshot`
 * in the current directory.
 */
export function writeSnapshot(callback?: (err: HeapsnapError | null, filename?: string) => void): boolean
export function writeSnapshot(
  filename?: string | null,
  callback?: (err: HeapsnapError | null, filename?: string) => void,
): boolean
export function writeSnapshot(
  filename: string | null | undefined,
  options: WriteOptions,
  callback?: (err: HeapsnapError | null, filename?: string) => void,
): boolean
export function writeSnapshot(
  options: WriteOptions,
  callback?: (err: HeapsnapError | null, filename?: string) => void,
): boolean

/**
 * Writes a snapshot; the JS thread pauses only while V8 builds and serializes it, and the
 * promise resolves once the file is complete. Default name:
 * `heapsnap-{date}-{time}-{pid}-{seq}.heapsnapshot[.gz|.zst]`.
 */
export function writeSnapshotAsync(options?: AsyncWriteOptions): Promise<AsyncSnapshotInfo>

/** What {@link writeSnapshotAsync} reports. */
export interface AsyncSnapshotInfo extends SnapshotInfo {
  /**
   * `'background'`: a forked child took the snapshot and `pauseMs` is this process's pause (the
   * fork); `'in-process'`: this thread took it; `'portable'`: this thread took it through Node's
   * inspector (the portable writer: no native writer here, or `HEAPSNAP_FORCE_PORTABLE=writer`).
   */
  mode: 'background' | 'in-process' | 'portable'
  /** Why a `background: true` dump was taken in-process (no Linux, child failed or timed out). */
  fallbackReason?: string
}

/** A full garbage collection, with or without `--expose-gc`. */
export function gc(): void

/** What the writer can do in its mode (see {@link capabilities}). */
export interface WriterFeatures {
  writeSnapshot: boolean
  writeSnapshotAsync: boolean
  compression: Array<'gzip' | 'zstd'>
  gc: boolean
  leakCheck: boolean
  allocationStacks: boolean
  samplingHeapProfiler: boolean
  /** `'always'`: busy loops too (native); `'idle-loop'`: when the event loop is free (portable); `false`: none here. */
  signalDumps: 'always' | 'idle-loop' | false
  /** `'native'`: heapsnap's own, every option; `'node'`: Node's `v8.setHeapSnapshotNearHeapLimit` (`maxDumps` only). */
  nearHeapLimit: 'native' | 'node' | false
  /** `background: true` dumps (Linux, native writer). */
  background: boolean
  /** The request channel of `heapsnap dump <pid>` / `heapsnap profile <pid>` (Linux, native writer). */
  dumpRequests: boolean
  headroomCheck: boolean
  freeSpaceCheck: boolean
}

/** Which implementation each part of heapsnap runs here, and why one is not native. */
export interface Capabilities {
  writer: {
    /** `'portable'`: Node's in-process inspector, where no native writer loads (or forced). */
    mode: 'native' | 'portable' | 'unavailable'
    /** `HEAPSNAP_FORCE_PORTABLE` names this part. */
    forced: boolean
    /** Why the part is not native; `null` when it is. */
    reason: string | null
    features: WriterFeatures | null
  }
  analyzer: { mode: 'native' | 'portable' | 'unavailable'; forced: boolean; reason: string | null }
}

/** Which writer and analyzer run here (native or portable) and what they can do. Loads them. */
export function capabilities(): Capabilities

/**
 * Options of signal-triggered dumps. With `background: true` the stderr line says
 * `(in the background)`, or why the background dump failed and that it was written in-process.
 * Requests from `heapsnap dump <pid>` are always served in-process.
 */
export interface SignalHandlerOptions extends BackgroundOptions, UploadOptions {
  /** Signal name (default `'SIGUSR2'`). */
  signal?: string
  path?: string
  dir?: string
  compress?: Compression | 'none' | true
  level?: number
  gc?: boolean
  /** See {@link WriteOptions.redact}; also `HEAPSNAP_OPTIONS=redact` for the default handler. */
  redact?: boolean
  /** See {@link WriteOptions.force}; also `HEAPSNAP_OPTIONS=force`. */
  force?: boolean
  /** See {@link WriteOptions.memoryLimit}; also `HEAPSNAP_OPTIONS=memlimit=512m`. */
  memoryLimit?: number
  /** See {@link WriteOptions.memoryFile}; also `HEAPSNAP_OPTIONS=nomemoryfile`. */
  memoryFile?: boolean
  /** Don't print the one-line report (nor the line saying a signal was ignored) to stderr. */
  quiet?: boolean
  /**
   * Seconds from the end of one signal dump before another signal may dump (default 30; `0`
   * turns the limit off); signals in between are ignored with a stderr line saying why. Also
   * `HEAPSNAP_OPTIONS=interval=SECONDS`. `heapsnap dump <pid>` requests are not limited.
   */
  interval?: number
  /** How many signal dumps this handler writes in all (default: no cap); `HEAPSNAP_OPTIONS=maxdumps=N`. */
  maxDumps?: number
}

/** What this thread's signal handler has done. */
export interface SignalHandlerStatus {
  signal: string
  interval: number
  maxDumps: number | null
  /** Signals seen, including those coalesced into a dump already pending. */
  received: number
  /** Snapshots written. */
  dumps: number
  /** Signals ignored because of `interval` or `maxDumps`. */
  skipped: number
  /** A dump is pending or running now. */
  pending: boolean
}

/** This thread's signal handler's status, or `null` when none is installed. */
export function signalHandlerStatus(): SignalHandlerStatus | null

/**
 * Dumps this thread's heap when `signal` arrives, even while JavaScript is stuck in a busy
 * loop: at the next JS instruction or when the event loop is idle, whichever comes first,
 * once per burst of signals. Installed at require() with SIGUSR2 unless
 * `HEAPSNAP_OPTIONS=nosignal` (or heapdump's `NODE_HEAPDUMP_OPTIONS=nosignal`). Replaces this
 * thread's previous heapsnap handler; `process.on(signal)` listeners keep working.
 * Default name: `heapdump-<ms>.<seq>.heapsnapshot` in `dir` or the cwd. In a worker, a fixed
 * `path` without `{tid}` or `{seq}` gets `-{tid}` before its extension, so threads answering
 * the same signal never replace each other's dumps.
 */
export function installSignalHandler(options?: SignalHandlerOptions): void

/** Stops signal dumps on this thread; returns whether a handler was installed. */
export function removeSignalHandler(): boolean

/** Options of near-out-of-memory dumps. */
export interface NearHeapLimitOptions extends UploadOptions {
  path?: string
  dir?: string
  compress?: Compression | 'none' | true
  level?: number
  /** See {@link WriteOptions.redact}. */
  redact?: boolean
  /** See {@link WriteOptions.force}. */
  force?: boolean
  /** See {@link WriteOptions.memoryLimit}. */
  memoryLimit?: number
  /** See {@link WriteOptions.memoryFile}. */
  memoryFile?: boolean
  /** How many snapshots at most (default 1); 0 disarms. */
  maxDumps?: number
  quiet?: boolean
}

/**
 * When V8 is about to run out of heap, raises the limit just enough to write a snapshot,
 * writes it, then restores the limit so the process fails as it would have.
 */
export function onNearHeapLimit(options?: NearHeapLimitOptions): void

// ---- Analysis (native): readSnapshot / readSnapshotAsync / leaks / holders, and the `heapsnap` CLI ----

/** One row of the Summary view (DevTools' "Summary", by constructor). */
export interface ClassSummary {
  name: string
  /** Constructor location when the snapshot records it (two rows may share a name). */
  location?: { scriptId: number; line: number; column: number }
  count: number
  /** Sum of the objects' shallow sizes, bytes. */
  selfSize: number
  /** Bytes freed if all these objects were collected (dominator tree, DevTools' semantics). */
  retainedSize: number
}

/** `summary --json`. */
export interface HeapSummary {
  nodeCount: number
  edgeCount: number
  /** DevTools' total: retained size of the root plus extra native bytes. */
  totalSize: number
  /** Sorted by retained size, descending. */
  constructors: ClassSummary[]
}

export interface ClassDiff {
  name: string
  location?: { scriptId: number; line: number; column: number }
  countDelta: number
  sizeDelta: number
  added: number
  removed: number
  addedSize: number
  removedSize: number
}

/** `diff --json` (plus the node ids that appeared and disappeared). */
export interface HeapDiff {
  /** Classes with any added or removed object, by size delta descending. */
  constructors: ClassDiff[]
  /** How many counted objects appeared / disappeared. */
  addedCount: number
  removedCount: number
  /** Their ids, ascending (empty with `{ ids: false }`). */
  addedIds: number[]
  removedIds: number[]
}

export interface Retainer {
  /** Id of the retaining node. */
  id: number
  name: string
  className: string
  nodeType: string
  edgeType: string
  /** Property name, or the index for element/hidden edges. */
  edgeName: string
  selfSize: number
  retainedSize: number
}

export interface RetainerGroup {
  className: string
  edgeType: string
  /** Property name; element indices are collapsed to `[]`. */
  edgeName: string
  count: number
}

export interface DominatorEntry {
  id: number
  name: string
  className: string
  selfSize: number
  retainedSize: number
}

/** One entry of `leaks --json`. */
export interface LeakGroup {
  name: string
  count: number
  /** Sum of the objects' self sizes in the third snapshot, bytes. */
  size: number
  retainedSize: number
  /** Id (in the third snapshot) of the member the path leads to. */
  representativeId: number
  /** `["(GC roots)", ..., "cache (property)", ..., "Name"]`. */
  retainerPath: string[]
  /** Strings, compiled code, V8 internals: listed after the user classes. */
  runtime: boolean
  /** Leaked objects of other classes reached through this group's members (a Session's arrays). */
  holds: { name: string; count: number; size: number }[]
  /** When the third snapshot has allocation traces: the stacks that allocated most of the group (else empty). */
  allocationStacks: AllocationStack[]
}

/** One frame of an allocation stack: the function and where it starts (1-based line and column). */
export interface StackFrame {
  functionName: string
  /** The script's file name or URL; empty for V8's own code. */
  url: string
  line: number
  column: number
}

/** Objects allocated by one stack, innermost frame first. */
export interface AllocationStack {
  count: number
  /** Sum of their self sizes, bytes. */
  size: number
  frames: StackFrame[]
}

/** A parsed heap snapshot (held natively, a few bytes per node and edge). */
export interface HeapSnapshot {
  readonly path: string
  readonly nodeCount: number
  readonly edgeCount: number
  /** Summary by constructor, sorted by retained size; all rows, or the first `top`. */
  summary(options?: { top?: number }): HeapSummary
  /** Changes from this snapshot to `other`, a later snapshot of the same process. */
  diff(other: HeapSnapshot, options?: { ids?: boolean }): HeapDiff
  /** What holds the node `nodeId` (error `ERR_HEAPSNAP_NODE_NOT_FOUND` if no such node). */
  retainers(nodeId: number): Retainer[]
  /** What holds the objects of a class, grouped by holder class and edge. */
  retainersByClass(name: string): RetainerGroup[]
  /** With an id: the dominator chain, the node first and the root last. Without: the largest objects under the root. */
  dominators(nodeId?: number, options?: { limit?: number }): DominatorEntry[]
  /** Whether V8 recorded allocation stacks when it took this snapshot (`leakCheck({ stacks: true })`). */
  readonly hasAllocationTraces: boolean
  /** Where the object was allocated, innermost first; `null` without traces or when it predates tracking. */
  allocationStack(nodeId: number): StackFrame[] | null
}

/**
 * Reads `.heapsnapshot`, `.heapsnapshot.gz` or `.heapsnapshot.zst` synchronously. Errors:
 * `ENOENT` & co., `ERR_HEAPSNAP_CORRUPT_SNAPSHOT` (with `offset`, the byte in the decompressed
 * JSON where the problem was found).
 */
export function readSnapshot(
  path: string,
  options?: { onProgress?: (bytesRead: number, fileBytes: number) => void },
): HeapSnapshot

/** Like `readSnapshot`, but parses and computes retained sizes off the JS thread. */
export function readSnapshotAsync(path: string): Promise<HeapSnapshot>

/**
 * Three-snapshot technique: objects allocated between `a` and `b` still alive in `c`, by
 * constructor; user classes by retained size first, runtime objects last.
 */
export function leaks(a: HeapSnapshot, b: HeapSnapshot, c: HeapSnapshot): LeakGroup[]

/**
 * One entry of `holders()` and of `leaks --json`'s `holders`: a collection (an object used as
 * a dictionary, an array, a Map or Set, with V8's backing stores counted in it) that grew in
 * every interval between the snapshots and shrank in none.
 */
export interface GrowingHolder {
  /** Its holder on the retainer path and the edge from it, as code spells the access:
   *  `MemoryStore.sessions`, `Cache.byId`, `handler().items` (a closure variable),
   *  `Cache.byId[entry]` (a Map's entry). */
  name: string
  /** Its own class in the newest snapshot: `Object`, `Array`, `Map`, `Set`... */
  className: string
  /** Node id, the same in every snapshot. */
  id: number
  /** Entries in each snapshot, oldest first: own properties (not `__proto__`) and elements;
   *  for a Map or Set the entries holding an object (a key and its value count once). */
  entries: number[]
  /** Its own size plus its backing stores' in each snapshot, oldest first, bytes. */
  size: number[]
  /** Newest minus oldest. */
  entriesGrowth: number
  sizeGrowth: number
  /** Its retained size in the newest snapshot. */
  retainedSize: number
  /** What its entries added since the oldest snapshot retain in the newest, bytes (the
   *  ranking sorts by this plus `sizeGrowth`). */
  addedRetainedSize: number
  /** `["(GC roots)", ..., "sessions (property)", "Object"]`, as in `LeakGroup`. */
  retainerPath: string[]
}

/**
 * Growth by holder across two or three snapshots of one process, oldest first: the
 * collections that grew in every interval, the largest growth first (see `GrowingHolder`).
 */
export function holders(a: HeapSnapshot, b: HeapSnapshot, c?: HeapSnapshot): GrowingHolder[]

// ---- Test harnesses: leakCheck / assertNoLeaks ----

export interface LeakCheckOptions {
  /** Calls of `fn` between snapshots A and B, and again between B and C (default 10, at least 2). */
  iterations?: number
  /** Calls before snapshot A, so lazy caches and JIT settle (default 3). */
  warmup?: number
  /** Where the snapshots go (a fresh folder inside it; default the OS temp dir). */
  dir?: string
  /** Keep the snapshots even when no leak was found (they are always kept when one is). */
  keepSnapshots?: boolean
  /**
   * Record the stack of every allocation from snapshot A to C (V8's allocation tracking; slows
   * the scenario, see the README) so each leak gets `allocationStacks`.
   */
  stacks?: boolean
}

/** A constructor whose objects kept growing with the iterations. */
export interface LeakCheckLeak {
  name: string
  /** Objects allocated between A and B still alive in C. */
  count: number
  /** Their self sizes, bytes. */
  size: number
  retainedSize: number
  /** `count / iterations`. */
  perIteration: number
  /**
   * Chain from a GC root, the one a person would follow (user properties and closures preferred
   * over V8/Node internals): `["(GC roots)", ..., "cache (property)", "Map", ..., name]`.
   */
  retainerPath: string[]
  /** Leaking objects reachable only through this group (e.g. a leaked session's arrays). */
  holds: { name: string; count: number; size: number }[]
  /**
   * With `stacks: true`: the few stacks that allocated most of these objects, the scenario's
   * frames only (innermost first, heapsnap's own frames cut), most objects first.
   */
  allocationStacks?: AllocationStack[]
}

export interface LeakCheckReport {
  ok: boolean
  leaks: LeakCheckLeak[]
  iterations: number
  /** Paths of snapshots A, B and C when kept, else empty. */
  snapshots: string[]
}

/**
 * Runs `fn` (sync or async) `warmup` times, snapshot A, `iterations` times, snapshot B,
 * `iterations` times, snapshot C (full GC before each; works without --expose-gc), and reports
 * user objects allocated between A and B, still alive in C, that grew with the iterations.
 */
export function leakCheck(fn: (iteration: number) => unknown, options?: LeakCheckOptions): Promise<LeakCheckReport>

/** Like `leakCheck`, but rejects with an AssertionError that names each leak and its retainers. */
export function assertNoLeaks(fn: (iteration: number) => unknown, options?: LeakCheckOptions): Promise<LeakCheckReport>

// ---- HTML report: writeReport, and `heapsnap report A B [C]` ----

export interface ReportOptions {
  /** Where to write the page; default `heapsnap-report.html` in the current directory. */
  output?: string
  /** Rows in the summary and diff tables, and leak groups shown; default 25. */
  top?: number
}

export interface ReportResult {
  /** Absolute path of the written page. */
  path: string
  /** The leak groups (three snapshots), or null (two snapshots). */
  leaks: LeakGroup[] | null
}

/**
 * Writes one self-contained HTML page (inline CSS, JS and SVG; no network; opens from file://)
 * for 2 or 3 snapshots of one process, oldest first: the snapshots' totals, the last one's
 * summary and largest constructors (chart), the diff from the first to the last and, with
 * three, the leak groups with their retainer chains. Snapshots are parsed off the JS thread.
 */
export function writeReport(files: string[], options?: ReportOptions): Promise<ReportResult>

// ---- Sampling heap profiles: startSamplingHeapProfiler / stopSamplingHeapProfiler, `heapsnap top` ----

export interface SamplingHeapProfilerOptions {
  /** Average bytes allocated between two samples; default 512 KiB (`node --heap-prof`'s). */
  interval?: number
  /** Frames kept per sample, 1 to 1024; default 128 (DevTools' and `--heap-prof`'s). */
  stackDepth?: number
  /**
   * Keep samples of objects the GC has freed since (what was allocated, not what is alive);
   * default false. Needs V8 11 (Node 20) or later: ERR_HEAPSNAP_INVALID_OPTION on Node 18.
   */
  includeCollected?: boolean
}

export interface HeapProfileWriteOptions {
  /** File name or template (tokens as for snapshots); default `heapsnap-{date}-{time}-{pid}-{seq}.heapprofile` (+ `.gz`/`.zst`). */
  path?: string
  /** Folder for relative names (must exist). */
  dir?: string
  /** `'gzip'`, `'zstd'` or `false`; inferred from a `.gz` / `.zst` name. */
  compress?: Compression
  level?: number
}

export interface HeapProfileInfo {
  path: string
  /** Bytes on disk. */
  bytes: number
  /** Bytes of JSON before compression. */
  rawBytes: number
  compression: 'none' | 'gzip' | 'zstd'
  /** Samples in the profile (allocations still alive, unless `includeCollected`). */
  samples: number
  /** Bytes those samples stand for. */
  sampledBytes: number
  /** How long the profiler ran. */
  durationMs: number
}

/**
 * Starts V8's sampling heap profiler on this thread (one per thread): throws
 * ERR_HEAPSNAP_BUSY when one already runs (heapsnap's, the inspector's or `--heap-prof`'s).
 */
export function startSamplingHeapProfiler(options?: SamplingHeapProfilerOptions): void

/**
 * Stops this thread's profiler and writes a `.heapprofile` (loads in DevTools' Memory tab and
 * in `heapsnap top`); rejects with ERR_HEAPSNAP_NOT_PROFILING when none runs. When the file
 * cannot be created the profiler keeps running.
 */
export function stopSamplingHeapProfiler(options?: HeapProfileWriteOptions): Promise<HeapProfileInfo>

/** One allocation site of a profile: a function at a place in a script. */
export interface HeapProfileSite {
  functionName: string
  url: string
  /** 1-based; undefined when V8 did not know. */
  line?: number
  /** 1-based; undefined when V8 did not know. */
  column?: number
  /** Sampled bytes allocated by the function itself (still alive). */
  selfSize: number
  /** Sampled bytes allocated by it and everything it called. */
  totalSize: number
  samples: number
}

export interface HeapProfileTop {
  totalSize: number
  samples: number
  /** By self size, then total size. */
  sites: HeapProfileSite[]
}

/** Allocation sites of a `.heapprofile` (plain, .gz, .zst; any Node's or DevTools'), as `heapsnap top --json`. */
export function heapProfileTop(path: string, options?: { top?: number }): HeapProfileTop

export interface HeapProfileSiteDiff {
  functionName: string
  url: string
  line?: number
  column?: number
  selfDelta: number
  totalDelta: number
  selfSize: number
  totalSize: number
}

/** Sites whose sampled bytes grew from profile `a` to `b` beyond sampling noise, as `heapsnap diff A.heapprofile B.heapprofile --json`. */
export function heapProfileDiff(a: string, b: string, options?: { top?: number }): { totalDelta: number; sites: HeapProfileSiteDiff[] }

/**
 * A watch rule: `heap>80%` (V8 heap used, share of the heap limit), `heap>300m`, `rss>1.5g`,
 * `cgroup>85%` (the cgroup's usage, share of its memory limit), `cgroup>900m`,
 * `external>512m` (Buffers and ArrayBuffers), `growth>10%` (the heap left after full GCs grew
 * 10% since the start or the rule's last dump). Sizes in binary units (k, m, g).
 */
export type WatchRule = string

/** Options of {@link watch}: its rules and settings, plus the dump options of writeSnapshotAsync. */
export interface WatchOptions extends AsyncWriteOptions {
  /** One or more rules; one dump per crossing of a rule's line (optional with `statsFile`). */
  rules?: WatchRule[]
  /** The memory log: one JSON line per sample (see README: Memory log), created 0600. */
  statsFile?: string
  /** The log moves to `<statsFile>.1` past this size (default 10 MiB). */
  statsMaxBytes?: number
  /** Seconds between samples (default 5). */
  interval?: number
  /** Seconds after a watch dump ends before the next may start (default 30). */
  cooldown?: number
  /** Watch dumps at most (default 5). */
  maxDumps?: number
  /** A line rule re-arms when its value falls below `rearm` times the line (default 0.9). */
  rearm?: number
  /** No stderr line on a successful watch dump. */
  quiet?: boolean
}

/** One rule in {@link WatchStatus} and in a watch dump's memory record (`trigger.rules`). */
export interface WatchRuleStatus {
  rule: WatchRule
  /** Dumps this rule started. */
  fired: number
  /** Line rules: whether the next crossing dumps. */
  armed?: boolean
  /** Line rules: the value and the line in bytes at the last sample (null where unknown). */
  value?: number | null
  line?: number | null
  /** growth: the lowest post-GC heap since the start or the last dump, floors seen, the last three. */
  baseline?: number | null
  floors?: number
  recent?: number[]
}

/** One memory sample of a watch, in bytes (`time` in ms since the epoch). */
export interface WatchSample {
  time: number
  rss: number
  heapUsed: number
  heapTotal: number
  heapLimit: number
  external: number
  arrayBuffers: number
  cgroupUsage: number | null
  cgroupLimit: number | null
  /** Heap used after each full GC since the previous sample (growth rules only). */
  floors: number[]
}

export interface WatchStatus {
  rules: WatchRuleStatus[]
  interval: number
  cooldown: number
  maxDumps: number
  /** The memory log's path, or null. */
  statsFile: string | null
  dumps: Array<{ rules: WatchRule[]; time: string; path?: string; error?: { code: string; message: string } }>
  lastSample: WatchSample | null
}

/**
 * Watches this thread's memory and writes a snapshot when a rule's line is crossed (also
 * `HEAPSNAP_OPTIONS=watch=heap>80%,watchinterval=5` at require()). One watch per thread: a
 * second call replaces the first.
 */
export function watch(options: WatchOptions): { stop(): boolean; status(): WatchStatus }

/** Stops this thread's watch; whether one was running. */
export function stopWatch(): boolean

/** What this thread's watch has seen and done, or null when none runs. */
export function watchStatus(): WatchStatus | null

/** What a `dump` listener receives: the dump's info and what triggered it. */
export interface DumpEvent extends Partial<Omit<SnapshotInfo, 'compression'>> {
  path: string
  bytes: number
  rawBytes: number
  compression: SnapshotInfo['compression'] | 'none'
  /** Native triggers: the memory record's path, when one was written. */
  memoryFile?: string
  trigger: 'api' | 'watch' | 'signal' | 'near-heap-limit' | 'remote'
  /** Watch dumps: the rules that fired. */
  rules?: WatchRule[]
  mode?: 'in-process' | 'background'
  /** With `upload`: the event comes once the upload settled, with its outcome. */
  upload?: UploadInfo
}

/** Runs `listener` after every dump of this thread (a throwing listener is reported on stderr, never fatal). */
export function on(event: 'dump', listener: (info: DumpEvent) => unknown): void

/** Removes a `dump` listener; whether it was registered. */
export function off(event: 'dump', listener: (info: DumpEvent) => unknown): boolean
