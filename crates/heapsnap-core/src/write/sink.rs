//! Where the bytes V8 serializes go.
//!
//! V8 calls `WriteAsciiChunk` on the JS thread, so [`SnapshotSink::write`] only copies into
//! a buffer; full buffers go over a bounded channel to a writer thread that compresses and
//! writes them. The channel's bound is the memory bound: at most `queue_depth + 2` buffers
//! exist whatever the heap size, and a slow disk slows V8 down instead of growing memory.
//!
//! The snapshot is written to a file in the target's directory that gets the target's name
//! only once complete and fsynced ([`crate::write::outfile`]: unnamed `O_TMPFILE` on Linux, all of it
//! relative to one directory handle), so the target never holds a partial snapshot, and a
//! crash, kill or error leaves either the old file or the new one and nothing else.
//!
//! With `redact`, the writer thread streams the JSON through [`crate::write::redact`] before
//! compressing it: the JS thread's share of the work is still only the copy into a buffer.

use std::fmt;
#[cfg(test)]
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread;

use crate::format::scanner::{ScanError, Source};
pub use crate::write::error::Error;
use crate::write::outfile::{Destination, Hooks, Temp, TempFile};
pub use crate::write::outfile::remove_unfinished_temp_files;

/// The sink's error type; the same type as [`crate::write::naming`]'s so callers map one type.
pub type SinkError = Error;

/// How the snapshot is encoded on disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The name used in options and in `info.compression`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The suffix a generated name gets, so the name says what is inside.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }

    /// What a file name ending in `.gz` or `.zst` promises; `None` for any other name
    /// (which is not the same as promising `Compression::None`).
    pub fn from_path(path: &Path) -> Option<Compression> {
        let ext = path.extension()?;
        if ext.eq_ignore_ascii_case("gz") {
            Some(Compression::Gzip)
        } else if ext.eq_ignore_ascii_case("zst") {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    /// Levels we accept. zstd stops at 19: the "ultra" levels 20-22 need windows of
    /// 32 MiB and more, which would break the sink's memory bound.
    pub fn level_range(self) -> Option<std::ops::RangeInclusive<i32>> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some(0..=9),
            Compression::Zstd => Some(1..=19),
        }
    }

    /// Levels chosen so the writer thread keeps up with V8's serializer (~150 MB/s) with
    /// room to spare. Measured on real snapshots (100-170 MB, one core of this project's
    /// machine): gzip 3 runs at 240-300 MB/s for a ratio of 6-8, close to gzip 6's, which
    /// runs at 80-110 MB/s and would make the JS thread wait on zlib; zstd 1 runs at
    /// 680-920 MB/s and, on this data, compresses better than zstd 3 (ratio 10-16 vs 9-12).
    pub fn default_level(self) -> Option<i32> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some(3),
            Compression::Zstd => Some(1),
        }
    }

    /// `level` if it is valid for this compression, else the default. A level with no
    /// compression is an error rather than ignored: the caller asked for something we
    /// would silently not do.
    pub fn resolve_level(self, level: Option<i32>) -> Result<Option<i32>, Error> {
        let Some(level) = level else {
            return Ok(self.default_level());
        };
        match self.level_range() {
            None => Err(Error::invalid(format!(
                "level {level} given without compression; set compress to 'gzip' or 'zstd'"
            ))),
            Some(range) if !range.contains(&level) => Err(Error::invalid(format!(
                "level {level} is out of range for {} ({}-{})",
                self.as_str(),
                range.start(),
                range.end()
            ))),
            Some(_) => Ok(Some(level)),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Compression {
    type Err = Error;

    fn from_str(s: &str) -> Result<Compression, Error> {
        match s {
            "none" => Ok(Compression::None),
            "gzip" => Ok(Compression::Gzip),
            "zstd" => Ok(Compression::Zstd),
            _ => Err(Error::invalid(format!(
                "unknown compression '{s}'; expected 'gzip', 'zstd' or 'none'"
            ))),
        }
    }
}

/// How a [`SnapshotSink`] encodes and buffers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkOptions {
    pub compression: Compression,
    /// `None` means [`Compression::default_level`].
    pub level: Option<i32>,
    /// Bytes per buffer handed to the writer thread. Large enough that channel traffic
    /// is negligible (V8 hands over 64 KiB at a time: a send per four of its chunks).
    pub chunk_size: usize,
    /// Full buffers that may wait for the writer before `write` blocks.
    pub queue_depth: usize,
    /// Replace the heap's string values by placeholders ([`crate::write::redact`]); the input must
    /// then be a heap snapshot, or the writer fails (never writing it unredacted).
    pub redact: bool,
}

/// The default buffers: `queue_depth + 2` of them, 2 MiB in all. They are filled while V8's
/// snapshot graph is alive, i.e. at the dump's peak, so their bytes can add to it where
/// `v8.writeHeapSnapshot` writes through stdio's few KiB: the sink is sized to what the writer
/// needs, not to the 32 MiB bound (it was 10 x 1 MiB). Six queued buffers are 1.5 MiB, ~10 ms
/// of V8's serializer: enough for a writer's scheduling hiccup; a writer slower than that for
/// longer (a slow disk) slows V8 down, as it should. bench/write-memory.js measures the whole.
pub const DEFAULT_CHUNK_SIZE: usize = 256 << 10;
/// See [`DEFAULT_CHUNK_SIZE`].
pub const DEFAULT_QUEUE_DEPTH: usize = 6;

impl Default for SinkOptions {
    fn default() -> SinkOptions {
        SinkOptions {
            compression: Compression::None,
            level: None,
            chunk_size: DEFAULT_CHUNK_SIZE,
            queue_depth: DEFAULT_QUEUE_DEPTH,
            redact: false,
        }
    }
}

/// What a finished snapshot amounts to, for `info` in JS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkStats {
    pub path: PathBuf,
    /// Size on disk, after compression.
    pub bytes: u64,
    /// Bytes of JSON before compression: what V8 produced, or what redaction left of it.
    pub raw_bytes: u64,
    pub compression: Compression,
    /// The string values were redacted.
    pub redacted: bool,
    /// What went wrong without failing the write: a directory writable by others (not sticky),
    /// a directory fsync that failed after the rename. One sentence each.
    pub warnings: Vec<String>,
}

/// A snapshot being written. See the module docs for the design.
///
/// Dropping it without [`finish`](SnapshotSink::finish) abandons the snapshot: the temp
/// file is removed and the target is left untouched.
pub struct SnapshotSink {
    target: PathBuf,
    dest: Destination,
    temp: Temp,
    compression: Compression,
    /// The level in use (resolved: `None` only without compression).
    level: Option<i32>,
    chunk_size: usize,
    /// The buffer `write` fills; empty with no capacity until first needed.
    buf: Vec<u8>,
    raw_bytes: u64,
    /// `None` once the writer is told to stop (finish, failure or abandon).
    tx: Option<SyncSender<Vec<u8>>>,
    /// Buffers the writer is done with, so steady state allocates nothing.
    free: Receiver<Vec<u8>>,
    /// Buffers allocated so far; the memory bound says at most `queue_depth + 2`: one
    /// being filled, `queue_depth` queued, one being written. A new one is made only
    /// when none has come back, i.e. when all the others are queued or being written.
    allocated: usize,
    max_buffers: usize,
    writer: Option<WriterThread>,
    redact: bool,
    /// Tells the writer to drop queued work on abandon instead of compressing it.
    cancel: Arc<AtomicBool>,
    /// The writer's first error, repeated by every later call.
    failed: Option<Error>,
    /// Set once the file is published or discarded, so Drop has nothing left to do.
    done: bool,
}

impl SnapshotSink {
    /// Opens the target's directory and creates the file now, so a bad path fails before V8
    /// spends seconds building a snapshot, and starts the writer thread.
    pub fn create(target: &Path, opts: SinkOptions) -> Result<SnapshotSink, Error> {
        SnapshotSink::create_inner(target, opts, None, Hooks::default())
    }

    /// `fail_at` makes the file refuse writes past that many bytes with ENOSPC, which a
    /// temp-then-rename design cannot get from `/dev/full`; only tests pass it, and `hooks`.
    fn create_inner(
        target: &Path,
        opts: SinkOptions,
        fail_at: Option<u64>,
        hooks: Hooks,
    ) -> Result<SnapshotSink, Error> {
        let level = opts.compression.resolve_level(opts.level)?;
        if opts.chunk_size == 0 {
            return Err(Error::invalid("chunk_size must be at least 1 byte"));
        }
        let mut dest = Destination::open(target, hooks)?;
        let (file, temp) = dest.create()?;
        let disk = Disk {
            file,
            written: 0,
            fail_at,
        };
        let encoder = match Encoder::new(disk, opts.compression, level) {
            Ok(encoder) => encoder,
            Err(e) => {
                dest.discard(&temp);
                return Err(Error::io("open", target, e));
            }
        };

        let (tx, rx) = mpsc::sync_channel(opts.queue_depth);
        let (free_tx, free) = mpsc::channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let writer = {
            let cancel = Arc::clone(&cancel);
            spawn_writer(move || match opts.redact {
                false => run_writer(encoder, rx, free_tx, &cancel),
                true => run_redacting_writer(encoder, rx, free_tx, &cancel),
            })
        };
        let writer = match writer {
            Ok(handle) => handle,
            Err(e) => {
                dest.discard(&temp);
                return Err(Error::io("open", target, e));
            }
        };
        Ok(SnapshotSink {
            target: target.to_path_buf(),
            dest,
            temp,
            compression: opts.compression,
            level,
            chunk_size: opts.chunk_size,
            buf: Vec::new(),
            raw_bytes: 0,
            tx: Some(tx),
            free,
            allocated: 0,
            max_buffers: opts.queue_depth + 2,
            writer: Some(writer),
            redact: opts.redact,
            cancel,
            failed: None,
            done: false,
        })
    }

    /// The compression and level this file is written with.
    pub fn compression(&self) -> (Compression, Option<i32>) {
        (self.compression, self.level)
    }

    /// Bytes the target's filesystem can still take (`f_bavail`, through the directory
    /// handle), for the free-space check before a dump; `None` when it does not say.
    pub fn available_bytes(&self) -> Option<u64> {
        self.dest.available_bytes()
    }

    /// Warnings known at creation (a directory writable by others); `finish` returns them too.
    pub fn warnings(&self) -> &[String] {
        self.dest.warnings()
    }

    /// The final path, as given to `create`.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Copies `bytes` for the writer; blocks only when the writer is `queue_depth`
    /// buffers behind. Once the writer has failed (e.g. ENOSPC) every call returns that
    /// error, so the caller can stop V8's serializer early.
    pub fn write(&mut self, mut bytes: &[u8]) -> Result<(), Error> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        self.raw_bytes += bytes.len() as u64;
        while !bytes.is_empty() {
            if self.buf.capacity() == 0 {
                self.buf = match self.free.try_recv() {
                    Ok(buf) => buf,
                    Err(_) => {
                        self.allocated += 1;
                        debug_assert!(self.allocated <= self.max_buffers, "sink buffers unbounded");
                        Vec::with_capacity(self.chunk_size)
                    }
                };
            }
            let room = self.chunk_size - self.buf.len();
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.buf.extend_from_slice(now);
            bytes = rest;
            if self.buf.len() == self.chunk_size {
                self.send()?;
            }
        }
        Ok(())
    }

    /// Hands the current buffer to the writer. A closed channel means the writer has
    /// stopped, which it only does on error before `finish`.
    fn send(&mut self) -> Result<(), Error> {
        let buf = std::mem::take(&mut self.buf);
        let sent = match &self.tx {
            Some(tx) => send_to_writer(tx, buf),
            None => false,
        };
        if sent {
            return Ok(());
        }
        self.tx = None;
        let err = match self.join_writer() {
            Err(err) => err,
            // Cannot happen: the writer only returns Ok after the channel closed, and
            // only we close it. Reported rather than trusted.
            Ok(_) => Error::io(
                "write",
                &self.target,
                io::Error::other("heapsnap writer stopped early"),
            ),
        };
        self.failed = Some(err.clone());
        Err(err)
    }

    fn join_writer(&mut self) -> Result<Written, Error> {
        let Some(handle) = self.writer.take() else {
            return Err(self.failed.clone().unwrap_or_else(|| {
                Error::io(
                    "write",
                    &self.target,
                    io::Error::other("heapsnap writer already joined"),
                )
            }));
        };
        match join(handle) {
            Ok(Ok(written)) => Ok(written),
            Ok(Err((op, e))) => Err(Error::io(op, &self.target, e)),
            Err(_) => Err(Error::io(
                "write",
                &self.target,
                io::Error::other("heapsnap writer thread panicked"),
            )),
        }
    }

    /// Completes the file (encoder trailer, fsync), renames it over the target and
    /// fsyncs the directory so the rename survives a crash. On error the temp file is
    /// removed and the target is left as it was.
    pub fn finish(mut self) -> Result<SinkStats, Error> {
        let result = self.finish_inner();
        if result.is_err() {
            self.dest.discard(&self.temp);
        }
        self.done = true;
        result
    }

    fn finish_inner(&mut self) -> Result<SinkStats, Error> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if !self.buf.is_empty() {
            self.send()?;
        }
        self.tx = None;
        let Written { disk, json_bytes } = self.join_writer()?;
        let bytes = disk.written;
        let warnings = self.dest.publish(&disk.file, &self.temp)?;
        Ok(SinkStats {
            path: self.target.clone(),
            bytes,
            raw_bytes: json_bytes.unwrap_or(self.raw_bytes),
            compression: self.compression,
            redacted: self.redact,
            warnings,
        })
    }

    /// Abandons the snapshot: stops the writer and removes the temp file. Same as drop;
    /// spelled out for call sites where abandoning is the point.
    pub fn abort(self) {}
}

impl Drop for SnapshotSink {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.cancel.store(true, Ordering::Relaxed);
        self.tx = None;
        // Joined so the file is closed before we return: nothing of ours outlives the sink.
        if let Some(handle) = self.writer.take() {
            let _ = join(handle);
        }
        self.dest.discard(&self.temp);
    }
}

/// The writer's thread: a thread of its own.
#[cfg(not(target_os = "wasi"))]
type WriterThread = thread::JoinHandle<WriterResult>;

/// WebAssembly: a thread kept for the next sink once this one's is done (see
/// [`crate::write::threads`]: each thread is a Node worker in the dumping process's heap).
#[cfg(target_os = "wasi")]
type WriterThread = crate::write::threads::Handle<WriterResult>;

#[cfg(not(target_os = "wasi"))]
fn spawn_writer(work: impl FnOnce() -> WriterResult + Send + 'static) -> io::Result<WriterThread> {
    thread::Builder::new().name("heapsnap-writer".into()).spawn(work)
}

#[cfg(target_os = "wasi")]
fn spawn_writer(work: impl FnOnce() -> WriterResult + Send + 'static) -> io::Result<WriterThread> {
    crate::write::threads::spawn("heapsnap-writer", work)
}

/// Hands `buf` to the writer; false when the writer has stopped.
#[cfg(not(target_os = "wasi"))]
fn send_to_writer(tx: &SyncSender<Vec<u8>>, buf: Vec<u8>) -> bool {
    tx.send(buf).is_ok()
}

/// The writer thread's result, once it ends.
#[cfg(not(target_os = "wasi"))]
fn join(handle: WriterThread) -> thread::Result<WriterResult> {
    handle.join()
}

/// WebAssembly: a writer thread that traps never ends nor closes its channel, so the waits
/// poll, and give up once a wasm thread has trapped (`outfile::thread_trapped`).
#[cfg(target_os = "wasi")]
fn send_to_writer(tx: &SyncSender<Vec<u8>>, mut buf: Vec<u8>) -> bool {
    loop {
        match tx.try_send(buf) {
            Ok(()) => return true,
            Err(mpsc::TrySendError::Disconnected(_)) => return false,
            Err(mpsc::TrySendError::Full(back)) if !crate::write::outfile::thread_trapped() => {
                buf = back;
                thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(mpsc::TrySendError::Full(_)) => return false,
        }
    }
}

#[cfg(target_os = "wasi")]
fn join(handle: WriterThread) -> thread::Result<WriterResult> {
    while !handle.is_finished() {
        if crate::write::outfile::thread_trapped() {
            let stopped = io::Error::other("the writer thread stopped (a WebAssembly trap: out of memory?)");
            return Ok(Err(("write", stopped)));
        }
        thread::sleep(std::time::Duration::from_millis(1));
    }
    handle.join()
}

/// What the writer thread leaves: the finished file and, when it rewrote the JSON
/// (redaction), how many bytes of JSON it wrote.
struct Written {
    disk: Disk,
    json_bytes: Option<u64>,
}

/// The writer thread's result; failures carry the syscall name.
type WriterResult = Result<Written, (&'static str, io::Error)>;

fn cancelled() -> io::Error {
    io::Error::other("cancelled")
}

/// The writer thread: everything that can fail comes back as a value with the syscall
/// name, and on failure it returns at once, which closes the channel and so unblocks
/// (and informs) a producer waiting in `send`.
fn run_writer(
    mut encoder: Encoder,
    rx: Receiver<Vec<u8>>,
    free: Sender<Vec<u8>>,
    cancel: &AtomicBool,
) -> WriterResult {
    for mut buf in rx {
        if cancel.load(Ordering::Relaxed) {
            return Err(("write", cancelled()));
        }
        encoder.write_all(&buf).map_err(|e| ("write", e))?;
        buf.clear();
        // The producer may be gone (finished or dropped); then the buffer just drops.
        let _ = free.send(buf);
    }
    Ok(Written { disk: finish_file(encoder)?, json_bytes: None })
}

/// The writer thread with redaction: the redactor pulls the buffers from the channel and
/// writes what it passes through (most of it, unchanged) and its placeholders to the encoder.
/// It holds one buffer at a time, the one a plain writer would be writing, so the memory
/// bound is the same.
fn run_redacting_writer(
    encoder: Encoder,
    rx: Receiver<Vec<u8>>,
    free: Sender<Vec<u8>>,
    cancel: &AtomicBool,
) -> WriterResult {
    // Placeholders and the text between them are small writes: buffered, for the plain file.
    let out = io::BufWriter::with_capacity(64 << 10, encoder);
    let mut src = ChannelSource { rx, free, cancel, out, json_bytes: 0 };
    crate::write::redact::redact(&mut src).map_err(|e| match e {
        ScanError::Io(e, _) => ("write", e),
        ScanError::Corrupt(m, at) => {
            let text = format!("cannot redact the snapshot: {m} at byte {at}");
            ("write", io::Error::new(io::ErrorKind::InvalidData, text))
        }
    })?;
    let encoder = src.out.into_inner().map_err(|e| ("write", e.into_error()))?;
    Ok(Written { disk: finish_file(encoder)?, json_bytes: Some(src.json_bytes) })
}

fn finish_file(encoder: Encoder) -> Result<Disk, (&'static str, io::Error)> {
    let disk = encoder.finish().map_err(|e| ("write", e))?;
    disk.file.sync_all().map_err(|e| ("fsync", e))?;
    Ok(disk)
}

/// The sink's buffers as the redactor's input, its output going to the encoder.
struct ChannelSource<'a> {
    rx: Receiver<Vec<u8>>,
    free: Sender<Vec<u8>>,
    cancel: &'a AtomicBool,
    out: io::BufWriter<Encoder>,
    json_bytes: u64,
}

impl Source for ChannelSource<'_> {
    fn next_chunk(&mut self, mut old: Vec<u8>) -> io::Result<Vec<u8>> {
        if old.capacity() > 0 {
            old.clear();
            let _ = self.free.send(old);
        }
        if self.cancel.load(Ordering::Relaxed) {
            return Err(cancelled());
        }
        // A closed channel is the end of the snapshot.
        Ok(self.rx.recv().unwrap_or_default())
    }

    fn echo(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.json_bytes += bytes.len() as u64;
        self.out.write_all(bytes)
    }
}

enum Encoder {
    None(Disk),
    Gzip(flate2::write::GzEncoder<Disk>),
    Zstd(zstd::stream::write::Encoder<'static, Disk>),
}

impl Encoder {
    /// `level` is already checked by [`Compression::resolve_level`].
    fn new(disk: Disk, compression: Compression, level: Option<i32>) -> io::Result<Encoder> {
        let level = level.or(compression.default_level()).unwrap_or(0);
        Ok(match compression {
            Compression::None => Encoder::None(disk),
            Compression::Gzip => {
                let level = flate2::Compression::new(level as u32);
                Encoder::Gzip(flate2::write::GzEncoder::new(disk, level))
            }
            Compression::Zstd => {
                let mut enc = zstd::stream::write::Encoder::new(disk, level)?;
                // Truncation or bit rot then fails loudly at decompression time.
                enc.include_checksum(true)?;
                Encoder::Zstd(enc)
            }
        })
    }

    fn finish(self) -> io::Result<Disk> {
        match self {
            Encoder::None(w) => Ok(w),
            Encoder::Gzip(w) => w.finish(),
            Encoder::Zstd(w) => w.finish(),
        }
    }
}

impl Write for Encoder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::None(w) => w.write(buf),
            Encoder::Gzip(w) => w.write(buf),
            Encoder::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::None(w) => w.flush(),
            Encoder::Gzip(w) => w.flush(),
            Encoder::Zstd(w) => w.flush(),
        }
    }
}

/// The temp file, counting what reaches it (the on-disk size without a stat).
struct Disk {
    file: TempFile,
    written: u64,
    fail_at: Option<u64>,
}

impl Write for Disk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self
            .fail_at
            .is_some_and(|limit| self.written + buf.len() as u64 > limit)
        {
            return Err(io::Error::from_raw_os_error(ENOSPC));
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// ENOSPC, for the tests' `fail_at`.
#[cfg(not(target_os = "wasi"))]
const ENOSPC: i32 = nix::errno::Errno::ENOSPC as i32;
#[cfg(target_os = "wasi")]
const ENOSPC: i32 = libc::ENOSPC;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::fs;
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::sync::Mutex;

    fn opts(compression: Compression) -> SinkOptions {
        SinkOptions {
            compression,
            ..SinkOptions::default()
        }
    }

    /// Snapshot-like bytes: compressible but not trivially so.
    fn payload(len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 16);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.extend_from_slice(format!("{},{},", x % 7, x % 100_000).as_bytes());
        }
        out.truncate(len);
        out
    }

    pub(crate) fn decode(path: &Path, compression: Compression) -> Vec<u8> {
        let file = File::open(path).unwrap();
        let mut reader: Box<dyn Read> = match compression {
            Compression::None => Box::new(file),
            Compression::Gzip => Box::new(flate2::read::GzDecoder::new(file)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(file).unwrap()),
        };
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        out
    }

    /// Everything in `dir` except `keep`: leftovers would be leaked temp files.
    fn others(dir: &Path, keep: &[&str]) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| !keep.contains(&n.as_str()))
            .collect()
    }

    fn round_trip(compression: Compression) {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.heapsnapshot");
        let data = payload(5 << 20);
        let small = SinkOptions {
            chunk_size: 64 << 10,
            queue_depth: 2,
            ..opts(compression)
        };
        let mut sink = SnapshotSink::create(&target, small).unwrap();
        // Many small writes that straddle buffer boundaries, then one larger than a buffer.
        let (head, tail) = data.split_at(1 << 20);
        for piece in head.chunks(4093) {
            sink.write(piece).unwrap();
        }
        sink.write(tail).unwrap();
        let stats = sink.finish().unwrap();

        assert_eq!(stats.path, target);
        assert_eq!(stats.raw_bytes, data.len() as u64);
        assert_eq!(stats.compression, compression);
        let meta = fs::metadata(&target).unwrap();
        assert_eq!(stats.bytes, meta.len());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        if compression != Compression::None {
            assert!(stats.bytes < stats.raw_bytes, "{stats:?}");
        }
        assert!(
            decode(&target, compression) == data,
            "{compression} round trip differs"
        );
        assert_eq!(
            others(dir.path(), &["a.heapsnapshot"]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn round_trip_none() {
        round_trip(Compression::None);
    }

    #[test]
    fn round_trip_gzip() {
        round_trip(Compression::Gzip);
    }

    #[test]
    fn round_trip_zstd() {
        round_trip(Compression::Zstd);
    }

    #[test]
    fn buffers_are_recycled() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.heapsnapshot.gz");
        let o = SinkOptions {
            chunk_size: 4096,
            queue_depth: 3,
            ..opts(Compression::Gzip)
        };
        let mut sink = SnapshotSink::create(&target, o).unwrap();
        let data = payload(4 << 20);
        for piece in data.chunks(1000) {
            sink.write(piece).unwrap();
        }
        // 1024 buffers' worth went through; at most queue_depth + 2 were ever allocated.
        assert!(sink.allocated <= 5, "{} buffers allocated", sink.allocated);
        sink.finish().unwrap();
        assert!(decode(&target, Compression::Gzip) == data);
    }

    #[test]
    fn explicit_levels_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        for (c, level) in [
            (Compression::Gzip, 0),
            (Compression::Gzip, 9),
            (Compression::Zstd, 1),
            (Compression::Zstd, 19),
        ] {
            let target = dir.path().join(format!("l{level}{}", c.extension()));
            let mut sink = SnapshotSink::create(
                &target,
                SinkOptions {
                    level: Some(level),
                    ..opts(c)
                },
            )
            .unwrap();
            sink.write(b"{\"snapshot\":{}}").unwrap();
            sink.finish().unwrap();
            assert_eq!(decode(&target, c), b"{\"snapshot\":{}}");
        }
    }

    #[test]
    fn empty_snapshot_is_still_a_valid_file() {
        let dir = tempfile::tempdir().unwrap();
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let target = dir.path().join(format!("empty{}", c.extension()));
            let stats = SnapshotSink::create(&target, opts(c))
                .unwrap()
                .finish()
                .unwrap();
            assert_eq!(stats.raw_bytes, 0);
            assert!(decode(&target, c).is_empty());
        }
    }

    #[test]
    fn replaces_existing_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.heapsnapshot");
        fs::write(&target, b"old contents, longer than the new").unwrap();
        let mut sink = SnapshotSink::create(&target, opts(Compression::None)).unwrap();
        sink.write(b"new").unwrap();
        // Until finish, the old file is untouched.
        assert_eq!(
            fs::read(&target).unwrap(),
            b"old contents, longer than the new"
        );
        sink.finish().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn relative_target_is_fine() {
        // No parent component: the temp goes in "." and the directory fsync uses ".".
        let name = format!("heapsnap-sink-test-{}.heapsnapshot", std::process::id());
        let mut sink = SnapshotSink::create(Path::new(&name), opts(Compression::None)).unwrap();
        sink.write(b"x").unwrap();
        let result = sink.finish();
        let contents = fs::read(&name);
        let _ = fs::remove_file(&name);
        result.unwrap();
        assert_eq!(contents.unwrap(), b"x");
    }

    #[test]
    fn nothing_is_visible_while_writing() {
        // O_TMPFILE: the file has no name until finish, so a kill now leaves nothing.
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.heapsnapshot");
        let mut sink = SnapshotSink::create(&target, opts(Compression::None)).unwrap();
        sink.write(&payload(3 << 20)).unwrap();
        assert_eq!(others(dir.path(), &[]), Vec::<String>::new());
        assert!(matches!(sink.temp, Temp::Unnamed), "this filesystem supports O_TMPFILE");
        sink.finish().unwrap();
        assert_eq!(others(dir.path(), &[]), vec!["a.heapsnapshot".to_string()]);
        let meta = fs::metadata(&target).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.nlink(), 1, "linked once, no second name left behind");
    }

    /// The fallback where O_TMPFILE is missing: a random hidden 0600 name, gone after finish,
    /// abort, or the exit-time cleanup.
    #[test]
    fn named_fallback_is_private_and_cleaned_up() {
        let _named = named_temps();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.heapsnapshot");
        let named = || Hooks { force_named: true, ..Hooks::default() };
        let mut sink = SnapshotSink::create_inner(&target, opts(Compression::None), None, named()).unwrap();
        sink.write(b"x").unwrap();
        let temps = others(dir.path(), &[]);
        assert_eq!(temps.len(), 1, "{temps:?}");
        let temp = &temps[0];
        assert!(temp.starts_with(".a.heapsnapshot.") && temp.ends_with(".heapsnap-tmp"), "{temps:?}");
        let random = &temp[".a.heapsnapshot.".len()..temp.len() - ".heapsnap-tmp".len()];
        assert!(random.len() == 16 && random.bytes().all(|b| b.is_ascii_hexdigit()), "{temp}");
        let mode = fs::metadata(dir.path().join(temp)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        sink.finish().unwrap();
        assert_eq!(others(dir.path(), &[]), vec!["a.heapsnapshot".to_string()]);

        let sink = SnapshotSink::create_inner(&target, opts(Compression::None), None, named()).unwrap();
        assert_eq!(others(dir.path(), &["a.heapsnapshot"]).len(), 1);
        sink.abort();
        assert_eq!(others(dir.path(), &["a.heapsnapshot"]), Vec::<String>::new());

        let sink = SnapshotSink::create_inner(&target, opts(Compression::None), None, named()).unwrap();
        assert!(remove_unfinished_temp_files() >= 1);
        assert_eq!(others(dir.path(), &["a.heapsnapshot"]), Vec::<String>::new());
        // Its temp already gone, the dump fails rather than renaming nothing.
        assert_eq!(sink.finish().unwrap_err().code(), "ENOENT");
        assert_eq!(fs::read(&target).unwrap(), b"x");
    }

    /// Held by every test that makes named temps: one of them calls the process-wide
    /// [`remove_unfinished_temp_files`], which would remove the others' temps.
    static NAMED_TEMPS: Mutex<()> = Mutex::new(());

    fn named_temps() -> std::sync::MutexGuard<'static, ()> {
        NAMED_TEMPS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Random numbers for temp names, in order; the first ones collide with planted files.
    fn scripted(numbers: &[u64]) -> Hooks {
        let numbers = Mutex::new(numbers.to_vec());
        Hooks { random: Some(Box::new(move || numbers.lock().unwrap().remove(0))), ..Hooks::default() }
    }

    #[test]
    fn planted_temp_names_do_not_break_a_dump() {
        let _named = named_temps();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.heapsnapshot");
        let planted = [".a.heapsnapshot.0000000000000001.heapsnap-tmp", ".a.heapsnapshot.0000000000000002.heapsnap-tmp"];
        // The old scheme's predictable names, too.
        let old = format!(".a.heapsnapshot.{}.0.heapsnap-tmp", std::process::id());
        for name in planted.iter().copied().chain([old.as_str()]) {
            fs::write(dir.path().join(name), b"planted").unwrap();
        }
        fs::write(&target, b"old").unwrap();
        for force_named in [false, true] {
            let hooks = Hooks { force_named, ..scripted(&[1, 2, 3]) };
            let mut sink = SnapshotSink::create_inner(&target, opts(Compression::None), None, hooks).unwrap();
            sink.write(b"new").unwrap();
            sink.finish().unwrap();
            assert_eq!(fs::read(&target).unwrap(), b"new", "force_named {force_named}");
            for name in planted.iter().copied().chain([old.as_str()]) {
                assert_eq!(fs::read(dir.path().join(name)).unwrap(), b"planted");
            }
            assert_eq!(others(dir.path(), &[&planted[0], &planted[1], &old, "a.heapsnapshot"]), Vec::<String>::new());
            fs::write(&target, b"old").unwrap();
        }
    }

    #[test]
    fn world_writable_directory_is_a_warning_unless_sticky() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        let sticky = dir.path().join("sticky");
        for (sub, mode) in [(&open, 0o777), (&sticky, 0o1777)] {
            fs::create_dir(sub).unwrap();
            fs::set_permissions(sub, fs::Permissions::from_mode(mode)).unwrap();
        }
        let stats = SnapshotSink::create(&open.join("a"), opts(Compression::None)).unwrap().finish().unwrap();
        assert_eq!(stats.warnings.len(), 1, "{:?}", stats.warnings);
        assert!(stats.warnings[0].contains("writable by other users and not sticky"), "{:?}", stats.warnings);
        assert!(stats.warnings[0].contains(&open.display().to_string()));
        let stats = SnapshotSink::create(&sticky.join("a"), opts(Compression::None)).unwrap().finish().unwrap();
        assert_eq!(stats.warnings, Vec::<String>::new());
        let stats = SnapshotSink::create(&dir.path().join("a"), opts(Compression::None)).unwrap().finish().unwrap();
        assert_eq!(stats.warnings, Vec::<String>::new());
    }

    #[test]
    fn available_bytes_comes_from_the_target_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let sink = SnapshotSink::create(&dir.path().join("a"), opts(Compression::None)).unwrap();
        let available = sink.available_bytes().expect("statvfs answers here");
        assert!(available > 0);
        sink.abort();
    }

    #[test]
    fn abort_and_drop_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.heapsnapshot.gz");
        let data = payload(3 << 20);

        let mut sink = SnapshotSink::create(&target, opts(Compression::Gzip)).unwrap();
        sink.write(&data).unwrap();
        sink.abort();
        assert_eq!(others(dir.path(), &[]), Vec::<String>::new());

        let mut sink = SnapshotSink::create(&target, opts(Compression::Gzip)).unwrap();
        sink.write(&data).unwrap();
        drop(sink);
        assert_eq!(others(dir.path(), &[]), Vec::<String>::new());
    }

    #[test]
    fn missing_directory_is_enoent_before_any_write() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("nope/a.heapsnapshot");
        let err = SnapshotSink::create(&target, opts(Compression::None))
            .err()
            .unwrap();
        assert_eq!(err.code(), "ENOENT");
        assert_eq!(err.path(), Some(target.as_path()));
        assert_eq!(
            err.to_string(),
            format!(
                "ENOENT: no such file or directory, open '{}'",
                target.display()
            )
        );
        assert_eq!(others(dir.path(), &[]), Vec::<String>::new());
    }

    #[test]
    fn directory_target_is_eisdir() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        for target in [sub.clone(), dir.path().join("file/"), PathBuf::from("/")] {
            let err = SnapshotSink::create(&target, opts(Compression::None))
                .err()
                .unwrap();
            assert_eq!(err.code(), "EISDIR", "{target:?}");
        }
        assert_eq!(others(dir.path(), &["sub"]), Vec::<String>::new());
        assert_eq!(others(&sub, &[]), Vec::<String>::new());
    }

    #[test]
    fn file_as_directory_is_enotdir() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        fs::write(&file, b"").unwrap();
        let err = SnapshotSink::create(&file.join("a.heapsnapshot"), opts(Compression::None))
            .err()
            .unwrap();
        assert_eq!(err.code(), "ENOTDIR");
    }

    /// What only an unprivileged user meets: a directory it cannot write (EACCES) and a
    /// sticky directory holding someone else's target (EPERM), both before any file exists.
    /// As root (CAP_DAC_OVERRIDE and CAP_FOWNER write anyway), the checks run in this test
    /// binary re-run as `nobody` through setpriv.
    #[test]
    fn unprivileged_refusals_come_before_any_write() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let ro = dir.path().join("ro");
        fs::create_dir(&ro).unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
        let sticky = dir.path().join("sticky");
        fs::create_dir(&sticky).unwrap();
        fs::set_permissions(&sticky, fs::Permissions::from_mode(0o1777)).unwrap();
        fs::write(sticky.join("a.heapsnapshot"), b"theirs").unwrap();
        if !rustix::process::geteuid().is_root() {
            // Someone else's files: only when the suite itself runs unprivileged.
            eprintln!("(unprivileged run: checking the read-only case only)");
            fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
            check_unprivileged_refusals(&ro, None);
            return;
        }
        let Some(nobody) = nix::unistd::User::from_name("nobody").ok().flatten() else {
            eprintln!("SKIPPED: running as root and there is no 'nobody' user to run the EACCES check as");
            return;
        };
        let status = std::process::Command::new("setpriv")
            .arg(format!("--reuid={}", nobody.uid))
            .arg(format!("--regid={}", nobody.gid))
            .arg("--clear-groups")
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", "write::sink::tests::unprivileged_refusals_as_nobody", "--ignored", "--nocapture"])
            .env("HEAPSNAP_TEST_UNPRIVILEGED_DIR", dir.path())
            .output()
            .expect("setpriv runs");
        let out = String::from_utf8_lossy(&status.stdout);
        assert!(status.status.success() && out.contains("1 passed"), "{out}{}", String::from_utf8_lossy(&status.stderr));
        assert_eq!(others(&ro, &[]), Vec::<String>::new());
        assert_eq!(fs::read(sticky.join("a.heapsnapshot")).unwrap(), b"theirs");
    }

    /// Run by [`unprivileged_refusals_come_before_any_write`] as `nobody`.
    #[test]
    #[ignore = "run as nobody by unprivileged_refusals_come_before_any_write"]
    fn unprivileged_refusals_as_nobody() {
        let _named = named_temps();
        let dir = PathBuf::from(std::env::var_os("HEAPSNAP_TEST_UNPRIVILEGED_DIR").expect("set by the calling test"));
        assert!(!rustix::process::geteuid().is_root());
        check_unprivileged_refusals(&dir.join("ro"), Some(&dir.join("sticky")));
    }

    fn check_unprivileged_refusals(ro: &Path, sticky: Option<&Path>) {
        let target = ro.join("a.heapsnapshot");
        for hooks in [Hooks::default(), Hooks { force_named: true, ..Hooks::default() }] {
            let err = SnapshotSink::create_inner(&target, opts(Compression::None), None, hooks).err().unwrap();
            assert_eq!(err.code(), "EACCES");
            assert_eq!(err.to_string(), format!("EACCES: permission denied, open '{}'", target.display()));
        }
        assert_eq!(others(ro, &[]), Vec::<String>::new());
        if let Some(sticky) = sticky {
            let target = sticky.join("a.heapsnapshot");
            let err = SnapshotSink::create(&target, opts(Compression::None)).err().unwrap();
            assert_eq!(err.code(), "EPERM", "{err}");
            assert_eq!(err.path(), Some(target.as_path()));
            assert_eq!(others(sticky, &[]), vec!["a.heapsnapshot".to_string()]);
            // A name of its own in the same directory is fine.
            let mine = sticky.join("b.heapsnapshot");
            SnapshotSink::create(&mine, opts(Compression::None)).unwrap().finish().unwrap();
            fs::remove_file(mine).unwrap();
        }
    }

    #[test]
    fn proc_refuses_with_its_own_os_code() {
        // /proc refuses new files even to root; whatever errno it gives is passed through.
        let err = SnapshotSink::create(
            Path::new("/proc/heapsnap.heapsnapshot"),
            opts(Compression::None),
        )
        .err()
        .unwrap();
        assert!(
            err.code().starts_with('E') && !err.code().starts_with("ERR_"),
            "{err}"
        );
        assert!(!Path::new("/proc/heapsnap.heapsnapshot").exists());
    }

    #[test]
    fn invalid_options_fail_before_touching_disk() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a");
        for bad in [
            SinkOptions {
                level: Some(10),
                ..opts(Compression::Gzip)
            },
            SinkOptions {
                level: Some(0),
                ..opts(Compression::Zstd)
            },
            SinkOptions {
                level: Some(22),
                ..opts(Compression::Zstd)
            },
            SinkOptions {
                level: Some(1),
                ..opts(Compression::None)
            },
            SinkOptions {
                chunk_size: 0,
                ..opts(Compression::None)
            },
        ] {
            let err = SnapshotSink::create(&target, bad.clone()).err().unwrap();
            assert_eq!(err.code(), crate::write::error::INVALID_OPTION, "{bad:?}");
        }
        assert_eq!(others(dir.path(), &[]), Vec::<String>::new());
    }

    /// A disk that fills up mid-snapshot: write() must start failing (so V8 can stop),
    /// finish() must report ENOSPC, and neither target nor temp may remain.
    #[test]
    fn writer_failure_surfaces_and_cleans_up() {
        let cases = [
            (Compression::None, 0),
            (Compression::None, 1),
            (Compression::Gzip, 1),
            (Compression::Zstd, 1),
        ];
        for (compression, queue_depth) in cases {
            let dir = tempfile::tempdir().unwrap();
            let target = dir.path().join("a.heapsnapshot");
            // Tiny queues (0 is a rendezvous): a producer blocked on a dead writer would
            // hang this test.
            let o = SinkOptions {
                chunk_size: 4096,
                queue_depth,
                ..opts(compression)
            };
            let mut sink = SnapshotSink::create_inner(&target, o, Some(10_000), Hooks::default()).unwrap();
            let data = payload(64 << 10);
            let mut first_err = None;
            for _ in 0..1000 {
                if let Err(e) = sink.write(&data) {
                    first_err = Some(e);
                    break;
                }
            }
            let err = first_err.expect("write never reported the writer's failure");
            assert_eq!(err.code(), "ENOSPC", "{compression}");
            assert_eq!(
                err.to_string(),
                format!(
                    "ENOSPC: no space left on device, write '{}'",
                    target.display()
                )
            );
            // Every later call repeats it.
            assert_eq!(sink.write(b"more").unwrap_err().code(), "ENOSPC");
            assert_eq!(sink.finish().unwrap_err().code(), "ENOSPC");
            assert_eq!(
                others(dir.path(), &[]),
                Vec::<String>::new(),
                "{compression}"
            );
        }
    }

    #[test]
    fn failure_found_only_at_finish_cleans_up() {
        // Everything fits in the one buffer, so the writer fails only while finishing.
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.heapsnapshot.zst");
        let mut sink =
            SnapshotSink::create_inner(&target, opts(Compression::Zstd), Some(0), Hooks::default()).unwrap();
        sink.write(b"small").unwrap();
        assert_eq!(sink.finish().unwrap_err().code(), "ENOSPC");
        assert_eq!(others(dir.path(), &[]), Vec::<String>::new());
    }

    #[test]
    fn rename_failure_cleans_up() {
        let _named = named_temps();
        // The target turns into a directory while the snapshot is written: the planted
        // directory stays as it was, no temp name is left, the error names the target.
        for force_named in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let target = dir.path().join("a.heapsnapshot");
            let hooks = Hooks { force_named, ..Hooks::default() };
            let mut sink = SnapshotSink::create_inner(&target, opts(Compression::None), None, hooks).unwrap();
            sink.write(b"x").unwrap();
            fs::create_dir(&target).unwrap();
            fs::write(target.join("keep"), b"kept").unwrap();
            let err = sink.finish().unwrap_err();
            assert!(err.code() == "EISDIR" || err.code() == "ENOTEMPTY", "{err}");
            assert!(err.to_string().ends_with(&format!(", rename '{}'", target.display())), "{err}");
            assert_eq!(others(dir.path(), &["a.heapsnapshot"]), Vec::<String>::new());
            assert_eq!(others(&target, &[]), vec!["keep".to_string()]);
            assert_eq!(fs::read(target.join("keep")).unwrap(), b"kept");
        }
    }

    #[test]
    fn failed_directory_fsync_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.heapsnapshot");
        let hooks = Hooks { fail_dir_fsync: Some(rustix::io::Errno::IO), ..Hooks::default() };
        let mut sink = SnapshotSink::create_inner(&target, opts(Compression::None), None, hooks).unwrap();
        sink.write(b"x").unwrap();
        let stats = sink.finish().expect("the rename happened: not an error");
        assert_eq!(fs::read(&target).unwrap(), b"x");
        assert_eq!(stats.warnings.len(), 1, "{:?}", stats.warnings);
        assert!(stats.warnings[0].contains(&format!("EIO: i/O error, fsync '{}'", dir.path().display())), "{:?}", stats.warnings);
    }

    #[test]
    fn sink_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<SnapshotSink>();
        assert_send::<SinkError>();
    }

    #[test]
    fn finish_on_another_thread() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.heapsnapshot");
        let mut sink = SnapshotSink::create(&target, opts(Compression::Zstd)).unwrap();
        sink.write(b"hello").unwrap();
        let stats = thread::spawn(move || sink.finish())
            .join()
            .unwrap()
            .unwrap();
        assert_eq!(stats.raw_bytes, 5);
        assert_eq!(decode(&target, Compression::Zstd), b"hello");
    }

    #[test]
    fn compression_names_and_extensions() {
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            assert_eq!(c.as_str().parse::<Compression>().unwrap(), c);
            assert_eq!(c.to_string(), c.as_str());
        }
        assert_eq!(
            "brotli".parse::<Compression>().unwrap_err().code(),
            crate::write::error::INVALID_OPTION
        );
        assert_eq!(
            Compression::from_path(Path::new("a.heapsnapshot.gz")),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::from_path(Path::new("a.heapsnapshot.zst")),
            Some(Compression::Zstd)
        );
        assert_eq!(Compression::from_path(Path::new("a.heapsnapshot")), None);
        assert_eq!(Compression::Gzip.extension(), ".gz");
        assert_eq!(Compression::Zstd.extension(), ".zst");
        assert_eq!(Compression::None.extension(), "");
    }
}
