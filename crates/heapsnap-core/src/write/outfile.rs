//! Where a snapshot file is created and how it gets its name: every operation relative to one
//! open handle on the target's directory.
//!
//! Why a handle: by path name, each step (create, rename, fsync) looks the directory up again,
//! so a parent swapped for a symlink between two steps moves the dump elsewhere. With the
//! handle, the directory is resolved once, when the sink is created (symlinked parents are
//! followed then, and only then), and everything after is relative to it.
//!
//! Why unnamed: on Linux the file is created with `O_TMPFILE` (0600, close-on-exec), which
//! has no name until [`Destination::publish`] links it in once it is complete and fsynced. A
//! process killed at any point (SIGKILL, OOM killer, `process.exit`) therefore leaves the
//! directory exactly as it was: the kernel frees an unnamed file with its last descriptor, and
//! there is no name an attacker could plant or race. Publishing links the file straight to the
//! target when that name is free (atomic, no intermediate name at all); when the target exists,
//! it is linked to a random hidden name and renamed over the target (a window of two syscalls).
//!
//! Where `O_TMPFILE` is unsupported (another OS, or a filesystem answering `EOPNOTSUPP` or
//! `EISDIR`), the file is created under a random hidden name (64 random bits from the OS, not
//! pid + counter) with `O_EXCL`, retried on `EEXIST`; such a file stays visible until renamed,
//! and a process killed meanwhile leaves it behind (the exit hooks remove it on orderly exits).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, CWD};
use rustix::io::Errno;

use crate::write::error::Error;
pub use crate::write::target::parent_dir;
use crate::write::target::target_name;

/// Attempts at a free random temp name before giving up: with 64 random bits a collision
/// means someone planted names on purpose, and a few retries outlast any such luck.
const NAME_ATTEMPTS: usize = 16;

/// The file the sink writes (outfile_wasi.rs has its own, opened by the thread that writes).
pub(crate) type TempFile = File;

/// How the file under construction is held until it is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Temp {
    /// `O_TMPFILE`: no name anywhere; nothing to clean up.
    Unnamed,
    /// The fallback: a random hidden name in the directory.
    Named(OsString),
}

/// Test hooks: the fallback path on a filesystem that supports `O_TMPFILE`, the random
/// numbers temp names are made from, a failing directory fsync.
#[derive(Default)]
pub(crate) struct Hooks {
    pub force_named: bool,
    pub random: Option<Box<dyn FnMut() -> u64 + Send>>,
    /// The directory fsync fails with this errno (a filesystem that cannot sync it).
    pub fail_dir_fsync: Option<Errno>,
}

/// The target's directory, opened once, and the target's name in it.
pub(crate) struct Destination {
    /// The path the user asked for: errors and stats name it, never a temp name.
    target: PathBuf,
    /// Shared with the registry of unfinished named temps, so an exiting process can remove
    /// them relative to the same directory.
    dir: Arc<OwnedFd>,
    name: OsString,
    warnings: Vec<String>,
    hooks: Hooks,
}

/// Named temp files not yet renamed or removed, process-wide, for
/// [`remove_unfinished_temp_files`]. Unnamed files need no entry: they vanish on their own.
static UNFINISHED: Mutex<Vec<(Arc<OwnedFd>, OsString)>> = Mutex::new(Vec::new());

fn unfinished() -> std::sync::MutexGuard<'static, Vec<(Arc<OwnedFd>, OsString)>> {
    UNFINISHED.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Removes the named temp files of every dump still being written (the fallback path; unnamed
/// ones need nothing). For a process about to exit. A dump racing this either completes
/// (renamed first) or fails (its temp already gone).
pub fn remove_unfinished_temp_files() -> usize {
    let temps = std::mem::take(&mut *unfinished());
    temps.iter().filter(|(dir, name)| rustix::fs::unlinkat(dir.as_fd(), name, AtFlags::empty()).is_ok()).count()
}

fn forget(dir: &Arc<OwnedFd>, name: &OsStr) {
    unfinished().retain(|(d, n)| !(Arc::ptr_eq(d, dir) && n == name));
}

/// Directories already warned about on stderr (device, inode): once per process each.
static WARNED_DIRS: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());

/// One `heapsnap: warning:` line. Not `eprintln!`, which panics when stderr is a closed pipe:
/// this runs inside a host process, where a warning must never become a crash.
fn warn_on_stderr(text: &str) {
    use std::io::Write;
    let _ = writeln!(io::stderr(), "heapsnap: warning: {text}");
}

fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

impl Destination {
    /// Opens the target's directory (following symlinks in the path, once) and checks what can
    /// be checked before a snapshot is spent on it: a directory at the target's name
    /// (`EISDIR`), a target in a sticky directory that this user may not replace (`EPERM`).
    /// Adds a warning when the directory is writable by others without the sticky bit.
    pub fn open(target: &Path, hooks: Hooks) -> Result<Destination, Error> {
        let open_err = |e: Errno| Error::io("open", target, io_err(e));
        let name = target_name(target).ok_or_else(|| open_err(Errno::ISDIR))?;
        let dir_path = parent_dir(target);
        let dir = rustix::fs::open(dir_path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(open_err)?;
        let dir_stat = rustix::fs::fstat(&dir).map_err(open_err)?;
        let euid = rustix::process::geteuid().as_raw();
        match rustix::fs::statat(&dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(existing) if FileType::from_raw_mode(existing.st_mode) == FileType::Directory => {
                return Err(open_err(Errno::ISDIR));
            }
            // rename(2) in a sticky directory: only the file's owner, the directory's owner or
            // a privileged process (CAP_FOWNER, here: root) may replace a file.
            Ok(existing)
                if dir_stat.st_mode & 0o1000 != 0
                    && euid != 0
                    && existing.st_uid != euid
                    && dir_stat.st_uid != euid =>
            {
                return Err(open_err(Errno::PERM));
            }
            _ => {}
        }
        let mut warnings = Vec::new();
        if dir_stat.st_mode & 0o002 != 0 && dir_stat.st_mode & 0o1000 == 0 {
            let text = format!(
                "directory '{}' is writable by other users and not sticky: they can replace or remove the snapshot",
                dir_path.display()
            );
            let key = (dir_stat.st_dev, dir_stat.st_ino);
            let mut warned = WARNED_DIRS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if !warned.contains(&key) {
                warned.push(key);
                warn_on_stderr(&text);
            }
            warnings.push(text);
        }
        Ok(Destination { target: target.to_path_buf(), dir: Arc::new(dir), name, warnings, hooks })
    }

    /// Warnings found so far (the directory check at open).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Bytes the target's filesystem lets an unprivileged user still write (`f_bavail`),
    /// asked through the directory handle. `None` when the filesystem does not say.
    pub fn available_bytes(&self) -> Option<u64> {
        let vfs = rustix::fs::fstatvfs(self.dir.as_fd()).ok()?;
        Some(vfs.f_bavail.saturating_mul(vfs.f_frsize))
    }

    /// Creates the file: unnamed where the OS and filesystem can, else under a fresh random
    /// hidden name. Mode 0600, close-on-exec, write-only.
    pub fn create(&mut self) -> Result<(File, Temp), Error> {
        let mode = Mode::from_raw_mode(0o600);
        // An unnamed file can be named only through /proc/self/fd (or with a capability most
        // processes lack): without /proc, take the named path from the start rather than
        // fail after the whole snapshot was written.
        if !self.hooks.force_named && Path::new("/proc/self/fd").is_dir() {
            match rustix::fs::openat(&*self.dir, ".", OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC, mode) {
                Ok(fd) => return Ok((File::from(fd), Temp::Unnamed)),
                // No O_TMPFILE here: the filesystem says so (EOPNOTSUPP), or the kernel
                // predates it and saw a plain O_DIRECTORY open for writing (EISDIR).
                Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL) => {}
                Err(e) => return Err(Error::io("open", &self.target, io_err(e))),
            }
        }
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut last = Errno::EXIST;
        for _ in 0..NAME_ATTEMPTS {
            let temp = self.temp_name();
            match rustix::fs::openat(&*self.dir, &temp, flags, mode) {
                Ok(fd) => {
                    unfinished().push((Arc::clone(&self.dir), temp.clone()));
                    return Ok((File::from(fd), Temp::Named(temp)));
                }
                Err(Errno::EXIST) => last = Errno::EXIST,
                Err(e) => return Err(Error::io("open", &self.target, io_err(e))),
            }
        }
        Err(Error::io("open", &self.target, io_err(last)))
    }

    /// Gives the complete, fsynced `file` the target's name, replacing whatever had it, then
    /// fsyncs the directory. Returns the warnings of the whole write (a failed directory fsync
    /// is one: the rename has happened, only its durability across a power loss is in doubt).
    /// On error the temp name (if any) is removed and the target is as it was.
    pub fn publish(&mut self, file: &File, temp: &Temp) -> Result<Vec<String>, Error> {
        match temp {
            Temp::Unnamed => self.publish_unnamed(file)?,
            Temp::Named(name) => self.rename_into_place(name)?,
        }
        let mut warnings = std::mem::take(&mut self.warnings);
        let synced = match self.hooks.fail_dir_fsync {
            Some(errno) => Err(errno),
            None => rustix::fs::fsync(&*self.dir),
        };
        match synced {
            // Some filesystems cannot fsync a directory at all.
            Ok(()) | Err(Errno::INVAL) => {}
            Err(e) => {
                let text = format!(
                    "{} was written, but fsync of its directory failed ({}): the new name may not survive a power loss",
                    self.target.display(),
                    Error::io("fsync", parent_dir(&self.target), io_err(e))
                );
                // Rare and worth knowing for triggered dumps too, which have no info object.
                warn_on_stderr(&text);
                warnings.push(text);
            }
        }
        Ok(warnings)
    }

    /// Removes what [`create`](Destination::create) made: a named temp (an unnamed file goes
    /// with its descriptor).
    pub fn discard(&self, temp: &Temp) {
        if let Temp::Named(name) = temp {
            let _ = rustix::fs::unlinkat(&*self.dir, name, AtFlags::empty());
            forget(&self.dir, name);
        }
    }

    fn publish_unnamed(&mut self, file: &File) -> Result<(), Error> {
        // The target's name is free: one atomic link, no intermediate name at all.
        match link_unnamed(file, &self.dir, &self.name) {
            Ok(()) => return Ok(()),
            Err(Errno::EXIST) => {}
            Err(e) => return Err(Error::io("link", &self.target, io_err(e))),
        }
        // It is taken: link under a random name, then rename over it.
        for _ in 0..NAME_ATTEMPTS {
            let temp = self.temp_name();
            match link_unnamed(file, &self.dir, &temp) {
                Ok(()) => {
                    unfinished().push((Arc::clone(&self.dir), temp.clone()));
                    return self.rename_into_place(&temp);
                }
                Err(Errno::EXIST) => {}
                Err(e) => return Err(Error::io("link", &self.target, io_err(e))),
            }
        }
        Err(Error::io("link", &self.target, io_err(Errno::EXIST)))
    }

    fn rename_into_place(&self, temp: &OsStr) -> Result<(), Error> {
        let renamed = rustix::fs::renameat(&*self.dir, temp, &*self.dir, &self.name);
        if renamed.is_err() {
            let _ = rustix::fs::unlinkat(&*self.dir, temp, AtFlags::empty());
        }
        forget(&self.dir, temp);
        renamed.map_err(|e| Error::io("rename", &self.target, io_err(e)))
    }

    /// `.{name}.{16 hex digits}.heapsnap-tmp`: hidden, recognizable, unpredictable, and
    /// within NAME_MAX (255) however long the target's name.
    fn temp_name(&mut self) -> OsString {
        let random = match &mut self.hooks.random {
            Some(next) => next(),
            // getrandom fails only where the OS has no entropy source at all; the address
            // of a stack variable and the time still make a name nobody planted in advance.
            None => getrandom::u64().unwrap_or_else(|_| fallback_random()),
        };
        temp_name(&self.name, random)
    }
}

fn temp_name(name: &OsStr, random: u64) -> OsString {
    let name = name.as_bytes();
    let mut temp = b".".to_vec();
    temp.extend_from_slice(&name[..name.len().min(200)]);
    temp.extend_from_slice(format!(".{random:016x}.heapsnap-tmp").as_bytes());
    OsString::from_vec(temp)
}

fn fallback_random() -> u64 {
    let marker = 0u8;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (&marker as *const u8 as u64).rotate_left(32) ^ u64::from(std::process::id())
}

/// Links an `O_TMPFILE` file into `dir` as `name`: through `/proc/self/fd/N` (works for any
/// user), else with `AT_EMPTY_PATH` (needs CAP_DAC_READ_SEARCH; for systems without /proc).
fn link_unnamed(file: &File, dir: &OwnedFd, name: &OsStr) -> Result<(), Errno> {
    use std::os::fd::AsRawFd;
    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    match rustix::fs::linkat(CWD, proc_path.as_str(), dir, name, AtFlags::SYMLINK_FOLLOW) {
        Err(first @ (Errno::NOENT | Errno::PERM | Errno::ACCESS)) => {
            rustix::fs::linkat(file, "", dir, name, AtFlags::EMPTY_PATH).map_err(|_| first)
        }
        other => other,
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_hidden_random_and_bounded() {
        let a = temp_name(OsStr::new("x.heapsnapshot"), 0xdead_beef);
        assert_eq!(a, OsStr::new(".x.heapsnapshot.00000000deadbeef.heapsnap-tmp"));
        let long = "n".repeat(255);
        assert!(temp_name(OsStr::new(&long), u64::MAX).len() <= 255);
    }

    #[test]
    fn names_and_parents() {
        assert_eq!(target_name(Path::new("d/x")), Some(OsString::from("x")));
        assert_eq!(target_name(Path::new("d/x/")), None);
        assert_eq!(target_name(Path::new("/")), None);
        assert_eq!(target_name(Path::new("..")), None);
        assert_eq!(parent_dir(Path::new("x")), Path::new("."));
        assert_eq!(parent_dir(Path::new("d/x")), Path::new("d"));
    }
}
