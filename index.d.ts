// Type definitions for heapsnap.

/** Compression of the written file. Inferred from a `.gz` / `.zst` file name when omitted. */
export type Compression = 'gzip' | 'zstd' | false

/** Options accepted by every function that writes a snapshot. */
export interface WriteOptions {
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
}

/** Errors carry a stable `code`: an OS code (`ENOENT`, `EACCES`, `EISDIR`, `ENOSPC`, ...) or `ERR_HEAPSNAP_*`. */
export interface HeapsnapError extends Error {
  code: string
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
export function writeSnapshotAsync(options?: WriteOptions): Promise<SnapshotInfo>

/** A full garbage collection, with or without `--expose-gc`. */
export function gc(): void

/** Options of signal-triggered dumps. */
export interface SignalHandlerOptions {
  /** Signal name (default `'SIGUSR2'`). */
  signal?: string
  path?: string
  dir?: string
  compress?: Compression | 'none' | true
  level?: number
  gc?: boolean
  /** Don't print the one-line report to stderr. */
  quiet?: boolean
}

/**
 * Dumps this thread's heap when `signal` arrives, even while JavaScript is stuck in a busy
 * loop: at the next JS instruction or when the event loop is idle, whichever comes first,
 * once per burst of signals. Installed at require() with SIGUSR2 unless
 * `HEAPSNAP_OPTIONS=nosignal` (or heapdump's `NODE_HEAPDUMP_OPTIONS=nosignal`). Replaces this
 * thread's previous heapsnap handler; `process.on(signal)` listeners keep working.
 * Default name: `heapdump-<ms>.<seq>.heapsnapshot` in `dir` or the cwd.
 */
export function installSignalHandler(options?: SignalHandlerOptions): void

/** Stops signal dumps on this thread; returns whether a handler was installed. */
export function removeSignalHandler(): boolean

/** Options of near-out-of-memory dumps. */
export interface NearHeapLimitOptions {
  path?: string
  dir?: string
  compress?: Compression | 'none' | true
  level?: number
  /** How many snapshots at most (default 1); 0 disarms. */
  maxDumps?: number
  quiet?: boolean
}

/**
 * When V8 is about to run out of heap, raises the limit just enough to write a snapshot,
 * writes it, then restores the limit so the process fails as it would have.
 */
export function onNearHeapLimit(options?: NearHeapLimitOptions): void
