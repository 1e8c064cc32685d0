//! `outfile` for WASI (the WebAssembly analyzer's file sink): what the native module does
//! through a directory handle and `O_TMPFILE`, done with the calls WASI preview 1 has.
//!
//! - The file is created under a random hidden name in the target's directory
//!   (`.{name}.{16 hex}.heapsnap-tmp`, as the native fallback) and renamed over the target once
//!   complete and fsynced: the target is complete or absent. A killed process can leave the
//!   temp behind (the exit hooks remove it on orderly exits), as on the native fallback path.
//! - Mode 0600 from birth: WASI creates files with the host's default mode (0666 less the
//!   umask), so the temp is created by the host (`heapsnap.create_private_file`, imported
//!   from the loader, lib/loader/wasm.js: `fs.openSync(path, 'wx', 0o600)`), then opened here
//!   for writing. Nothing is ever written into a file that others could open.
//! - The free-space figure comes from the host too (`heapsnap.available_bytes`: WASI has no
//!   statvfs); no ownership checks (WASI has no uids).

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::write::error::Error;
pub use crate::write::target::parent_dir;
use crate::write::target::target_name;

const NAME_ATTEMPTS: usize = 16;

/// Set when a wasm thread of this module trapped (its worker calls the export below, see
/// lib/loader/wasm-worker.js). A trapped thread never runs again, so nothing it would have
/// sent or dropped ever comes: the sink waits on its writer thread only while this is unset.
static THREAD_TRAPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// For the loader's thread workers: a wasm thread trapped (out of memory, a Rust abort).
#[no_mangle]
pub extern "C" fn heapsnap_wasm_thread_trapped() {
    THREAD_TRAPPED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether a wasm thread trapped (see `heapsnap_wasm_thread_trapped`).
pub(crate) fn thread_trapped() -> bool {
    THREAD_TRAPPED.load(std::sync::atomic::Ordering::SeqCst)
}

#[link(wasm_import_module = "heapsnap")]
extern "C" {
    /// Creates the file at the absolute path `path[..len]` (UTF-8) exclusively with mode 0600
    /// through the host's `fs`, and closes it: 0 done, 1 the name exists, 2 another failure
    /// (the caller then repeats the create through WASI to get its errno).
    fn create_private_file(path: *const u8, len: usize) -> i32;
    /// Bytes an unprivileged user may still write on the filesystem of the directory at the
    /// absolute path `path[..len]` (the host's `fs.statfsSync`: `bavail * bsize`); negative when
    /// the host cannot say.
    fn available_bytes(path: *const u8, len: usize) -> f64;
    /// The permission bits (`mode & 0o7777`) of the directory at the absolute path
    /// `path[..len]`, as the host's `fs.statSync` sees them; negative when it cannot say.
    fn directory_mode(path: *const u8, len: usize) -> i32;
}

/// Directories already warned about on stderr: once per process each, as natively.
static WARNED_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The native module's warning for a directory writable by others without the sticky bit,
/// from the mode the host reports (WASI has no permission bits).
fn open_directory_warning(dir: &Path) -> Option<String> {
    let abs = std::env::current_dir().ok()?.join(dir);
    let bytes = abs.as_os_str().as_encoded_bytes();
    // SAFETY: the host reads `len` bytes at `ptr` from this module's memory, during the call.
    let mode = unsafe { directory_mode(bytes.as_ptr(), bytes.len()) };
    if mode < 0 || mode & 0o002 == 0 || mode & 0o1000 != 0 {
        return None;
    }
    let text = format!("directory '{}' is writable by other users and not sticky: they can replace or remove the snapshot", dir.display());
    let mut warned = WARNED_DIRS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !warned.contains(&abs) {
        warned.push(abs);
        use std::io::Write as _;
        let _ = writeln!(io::stderr(), "heapsnap: warning: {text}");
    }
    Some(text)
}

/// The temp file as the sink's writer thread uses it. Every wasm thread is a Node worker with a
/// WASI instance (and file table) of its own, so a descriptor opened on one thread means
/// nothing on another: the file is opened by the first thread that writes (the writer thread)
/// and closed by it in `sync_all`, the last thing that thread does with it.
pub(crate) struct TempFile {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

impl TempFile {
    fn with<T>(&mut self, op: impl FnOnce(&mut File) -> io::Result<T>) -> io::Result<T> {
        let slot = self.file.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_none() {
            *slot = Some(OpenOptions::new().write(true).open(&self.path)?);
        }
        op(slot.as_mut().expect("opened above"))
    }

    /// fsyncs and closes the file (on the thread that wrote it).
    pub fn sync_all(&self) -> io::Result<()> {
        let mut slot = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match slot.take() {
            Some(file) => file.sync_all(),
            None => Ok(()),
        }
    }
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.with(|f| f.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.with(|f| f.flush())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Temp {
    Named(OsString),
}

/// Test hooks of the native module; only `random` means something here.
#[derive(Default)]
pub(crate) struct Hooks {
    pub random: Option<Box<dyn FnMut() -> u64 + Send>>,
}

pub(crate) struct Destination {
    target: PathBuf,
    dir: PathBuf,
    name: OsString,
    hooks: Hooks,
    warnings: Vec<String>,
}

static UNFINISHED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn unfinished() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    UNFINISHED.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Removes the temp files of every sink still being written; for a process about to exit.
pub fn remove_unfinished_temp_files() -> usize {
    let temps = std::mem::take(&mut *unfinished());
    temps.iter().filter(|temp| fs::remove_file(temp).is_ok()).count()
}

fn errno(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

impl Destination {
    /// Checks the target's directory and that the target is not a directory (`EISDIR`).
    pub fn open(target: &Path, hooks: Hooks) -> Result<Destination, Error> {
        let open_err = |e: io::Error| Error::io("open", target, e);
        let name = target_name(target).ok_or_else(|| open_err(errno(libc::EISDIR)))?;
        let dir = parent_dir(target).to_path_buf();
        let dir_meta = fs::metadata(&dir).map_err(open_err)?;
        if !dir_meta.is_dir() {
            return Err(open_err(errno(libc::ENOTDIR)));
        }
        if fs::symlink_metadata(dir.join(&name)).is_ok_and(|m| m.is_dir()) {
            return Err(open_err(errno(libc::EISDIR)));
        }
        let warnings = open_directory_warning(&dir).into_iter().collect();
        Ok(Destination { target: target.to_path_buf(), dir, name, hooks, warnings })
    }

    /// Warnings found so far (the directory check at open).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Bytes the target's filesystem lets an unprivileged user still write, asked of the host
    /// (WASI has no statvfs); `None` when it does not say.
    pub fn available_bytes(&self) -> Option<u64> {
        let dir = std::env::current_dir().ok()?.join(&self.dir);
        let bytes = dir.as_os_str().as_encoded_bytes();
        // SAFETY: the host reads `len` bytes at `ptr` from this module's memory, during the call.
        let available = unsafe { available_bytes(bytes.as_ptr(), bytes.len()) };
        (available >= 0.0 && available.is_finite()).then_some(available as u64)
    }

    /// Creates the temp file, mode 0600; the thread that writes opens it (see [`TempFile`]).
    pub fn create(&mut self) -> Result<(TempFile, Temp), Error> {
        let target = self.target.clone();
        let open_err = |e: io::Error| Error::io("open", &target, e);
        let base = std::env::current_dir().map_err(open_err)?;
        for _ in 0..NAME_ATTEMPTS {
            let temp = self.temp_name();
            let path = base.join(&self.dir).join(&temp);
            let bytes = path.as_os_str().as_encoded_bytes();
            // SAFETY: the host reads `len` bytes at `ptr` from this module's memory, during the call.
            match unsafe { create_private_file(bytes.as_ptr(), bytes.len()) } {
                0 => {
                    unfinished().push(path.clone());
                    let file = TempFile { path, file: Mutex::new(None) };
                    return Ok((file, Temp::Named(temp)));
                }
                1 => continue,
                _ => {
                    // The host failed: the same create through WASI says why (EACCES, ENOENT...).
                    match OpenOptions::new().write(true).create_new(true).open(&path) {
                        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                        Err(e) => return Err(open_err(e)),
                        Ok(_) => {
                            let _ = fs::remove_file(&path);
                            return Err(open_err(errno(libc::EACCES)));
                        }
                    }
                }
            }
        }
        Err(open_err(errno(libc::EEXIST)))
    }

    /// Renames the complete, fsynced temp over the target. On error the temp is removed.
    pub fn publish(&mut self, _file: &TempFile, temp: &Temp) -> Result<Vec<String>, Error> {
        let Temp::Named(name) = temp;
        let from = self.dir.join(name);
        let renamed = fs::rename(&from, &self.target);
        if renamed.is_err() {
            let _ = fs::remove_file(&from);
        }
        forget_relative(&from);
        renamed.map_err(|e| Error::io("rename", &self.target, e))?;
        Ok(std::mem::take(&mut self.warnings))
    }

    pub fn discard(&self, temp: &Temp) {
        let Temp::Named(name) = temp;
        let path = self.dir.join(name);
        let _ = fs::remove_file(&path);
        forget_relative(&path);
    }

    fn temp_name(&mut self) -> OsString {
        let random = match &mut self.hooks.random {
            Some(next) => next(),
            None => getrandom::u64().unwrap_or_else(|_| fallback_random()),
        };
        // WASI names are UTF-8: cut the name at a character boundary within 200 bytes.
        let name = self.name.to_string_lossy();
        let mut cut = name.len().min(200);
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        OsString::from(format!(".{}.{random:016x}.heapsnap-tmp", &name[..cut]))
    }
}

fn forget(path: &Path) {
    unfinished().retain(|p| p != path);
}

fn forget_relative(path: &Path) {
    match std::env::current_dir() {
        Ok(base) => forget(&base.join(path)),
        Err(_) => forget(path),
    }
}

fn fallback_random() -> u64 {
    let marker = 0u8;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (&marker as *const u8 as u64).rotate_left(32)
}

