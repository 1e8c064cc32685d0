//! The target's side of `heapsnap dump <pid>`: dump requests left by the CLI in a private
//! directory, and the answers that tell it when the file is complete.
//!
//! The channel (see SECURITY.md): the CLI writes `<dir>/<pid>.request` (JSON), then sends the
//! process its dump signal. Every thread with a signal handler then looks here before dumping:
//! the thread the request names claims it (renames it to `<pid>.request.taken`) and dumps where
//! the request says, writing `<pid>-<id>.response` when it starts and when the file is complete
//! or failed; the other threads skip that signal. No request: an ordinary signal dump.
//!
//! `<dir>` is `/tmp/heapsnap-<uid>`. Nothing listens anywhere, and only the process's own user
//! (or root) can leave a request: the directory must belong to this user with no access for
//! anyone else, and the request file to this user or root, writable by no one else. Anything
//! else is ignored, as if there were no request.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Request files are tiny; anything bigger is not one of ours.
const MAX_REQUEST_BYTES: u64 = 64 * 1024;

/// What a request asks the target to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Write a heap snapshot to `path` (`heapsnap dump`).
    #[default]
    Snapshot,
    /// Start the sampling heap profiler (`heapsnap profile`, before its `--seconds`).
    ProfileStart,
    /// Stop it and write the `.heapprofile` to `path` (`heapsnap profile`, after them).
    ProfileStop,
}

/// What `heapsnap dump` and `heapsnap profile` ask for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DumpRequest {
    /// Random, names the response file.
    pub id: String,
    #[serde(default)]
    pub action: Action,
    /// `worker_threads.threadId` of the thread that should dump: 0 is the main thread.
    pub thread: u32,
    /// Absolute path of the snapshot (compression inferred from `.gz` / `.zst` as usual).
    pub path: PathBuf,
    #[serde(default)]
    pub compress: Option<String>,
    #[serde(default)]
    pub gc: bool,
    /// Dump even when the target's headroom check refuses (`heapsnap dump --force`).
    #[serde(default)]
    pub force: bool,
    /// Redact string values (`heapsnap dump --redact`); a target set to redact always does.
    #[serde(default)]
    pub redact: bool,
    /// Milliseconds since the epoch after which the request is void.
    pub deadline: u64,
    /// `profile-start`: average bytes between samples, and frames kept per sample.
    #[serde(default)]
    pub interval: Option<u64>,
    #[serde(default)]
    pub stack_depth: Option<u32>,
}

/// What a thread should do with the signal it got.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// No request: an ordinary signal dump.
    Ordinary,
    /// A request for another thread of this process is open: this signal was not for us.
    NotForThisThread,
    /// Ours: dump as it says, then answer.
    Request(DumpRequest),
}

/// How a requested dump ended, for the response file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum Response {
    #[serde(rename = "started")]
    Started { id: String, thread: u32 },
    #[serde(rename = "done", rename_all = "camelCase")]
    Done { id: String, path: PathBuf, bytes: u64, raw_bytes: u64, compression: String, duration_ms: u64, pause_ms: u64 },
    #[serde(rename = "failed")]
    Failed { id: String, code: String, message: String },
    /// `profile-start` done: the profiler runs.
    #[serde(rename = "profiling")]
    Profiling { id: String },
}

/// The channel directory of processes running as `uid`.
pub fn channel_dir(uid: u32) -> PathBuf {
    PathBuf::from(format!("/tmp/heapsnap-{uid}"))
}

/// The channel of this process, as seen by its thread `thread`.
pub struct Channel {
    dir: PathBuf,
    pid: u32,
    uid: u32,
}

impl Channel {
    /// The channel of the calling process (its effective uid and pid).
    pub fn for_this_process() -> Channel {
        let uid = nix::unistd::geteuid().as_raw();
        Channel { dir: channel_dir(uid), pid: std::process::id(), uid }
    }

    #[cfg(test)]
    fn at(dir: PathBuf, pid: u32, uid: u32) -> Channel {
        Channel { dir, pid, uid }
    }

    fn request_path(&self) -> PathBuf {
        self.dir.join(format!("{}.request", self.pid))
    }

    fn taken_path(&self) -> PathBuf {
        self.dir.join(format!("{}.request.taken", self.pid))
    }

    /// Decides what thread `thread`'s signal means; claims the request if it is this thread's.
    /// Never fails: a channel that can't be trusted or read is as good as no request.
    pub fn claim(&self, thread: u32) -> Claim {
        if !self.dir_is_private() {
            return Claim::Ordinary;
        }
        let now = now_ms();
        if let Some(request) = self.read_trusted(&self.request_path()) {
            if request.deadline < now {
                let _ = fs::remove_file(self.request_path());
            } else if request.thread != thread {
                return Claim::NotForThisThread;
            } else if fs::rename(self.request_path(), self.taken_path()).is_ok() {
                self.respond(&Response::Started { id: request.id.clone(), thread });
                return Claim::Request(request);
            }
        }
        // A request another thread already claimed still owns this signal until it expires.
        match self.read_trusted(&self.taken_path()) {
            Some(taken) if taken.deadline >= now && taken.thread != thread => Claim::NotForThisThread,
            _ => Claim::Ordinary,
        }
    }

    /// Writes `<pid>-<id>.response` atomically (temp file, then rename), 0600. Best effort: the
    /// CLI reports a missing answer as a timeout.
    pub fn respond(&self, response: &Response) {
        let id = match response {
            Response::Started { id, .. } | Response::Done { id, .. } | Response::Failed { id, .. } | Response::Profiling { id } => id,
        };
        if !is_safe_name(id) {
            return;
        }
        let target = self.dir.join(format!("{}-{id}.response", self.pid));
        let temp = self.dir.join(format!(".{}-{id}.response.tmp", self.pid));
        let written = serde_json::to_vec(response).map_err(io::Error::other).and_then(|json| {
            let _ = fs::remove_file(&temp);
            let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
            file.write_all(&json)?;
            fs::rename(&temp, &target)
        });
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
    }

    /// Whether the CLI still waits for request `id`: it removes the claimed file when it gives
    /// up (timeout, Ctrl-C), and then an answer would only be litter.
    pub fn is_awaited(&self, id: &str) -> bool {
        self.read_trusted(&self.taken_path()).is_some_and(|taken| taken.id == id)
    }

    /// Forgets a claimed request once it is answered.
    pub fn release(&self) {
        let _ = fs::remove_file(self.taken_path());
    }

    /// The directory is ours alone: a real directory (not a link), owned by our uid, no group
    /// or other permissions. Otherwise someone else could leave requests in it.
    fn dir_is_private(&self) -> bool {
        match fs::symlink_metadata(&self.dir) {
            Ok(meta) => meta.is_dir() && meta.uid() == self.uid && meta.permissions().mode() & 0o077 == 0,
            Err(_) => false,
        }
    }

    /// A request file we may act on: a regular file (not a link) owned by our uid or root,
    /// writable by nobody else, small, and well-formed.
    fn read_trusted(&self, path: &Path) -> Option<DumpRequest> {
        let meta = fs::symlink_metadata(path).ok()?;
        let owner_ok = meta.uid() == self.uid || meta.uid() == 0;
        if !meta.is_file() || !owner_ok || meta.permissions().mode() & 0o022 != 0 || meta.len() > MAX_REQUEST_BYTES {
            return None;
        }
        let mut text = String::new();
        fs::File::open(path).ok()?.take(MAX_REQUEST_BYTES).read_to_string(&mut text).ok()?;
        let request: DumpRequest = serde_json::from_str(&text).ok()?;
        (is_safe_name(&request.id) && request.path.is_absolute()).then_some(request)
    }
}

/// Ids become file names: letters, digits, `-` and `_` only.
fn is_safe_name(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(dir: &Path) -> Channel {
        let uid = nix::unistd::geteuid().as_raw();
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).unwrap();
        Channel::at(dir.to_path_buf(), 4242, uid)
    }

    fn leave_request(dir: &Path, thread: u32, deadline: u64) -> DumpRequest {
        let request = DumpRequest {
            id: "abc123".into(),
            action: Action::Snapshot,
            thread,
            path: "/tmp/x.heapsnapshot".into(),
            compress: None,
            gc: false,
            force: false,
            redact: false,
            deadline,
            interval: None,
            stack_depth: None,
        };
        let path = dir.join("4242.request");
        fs::write(&path, serde_json::to_vec(&request).unwrap()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        request
    }

    fn in_a_minute() -> u64 {
        now_ms() + 60_000
    }

    #[test]
    fn requests_name_their_action_and_older_ones_mean_a_snapshot() {
        let old = r#"{"id":"a1","thread":0,"path":"/tmp/x.heapsnapshot","deadline":1}"#;
        assert_eq!(serde_json::from_str::<DumpRequest>(old).unwrap().action, Action::Snapshot);
        let start = r#"{"id":"a1","action":"profile-start","thread":2,"path":"/tmp/p.heapprofile","deadline":1,"interval":1024,"stackDepth":8}"#;
        let start: DumpRequest = serde_json::from_str(start).unwrap();
        assert_eq!((start.action, start.interval, start.stack_depth), (Action::ProfileStart, Some(1024), Some(8)));
        let stop = r#"{"id":"a1","action":"profile-stop","thread":0,"path":"/tmp/p.heapprofile","deadline":1}"#;
        assert_eq!(serde_json::from_str::<DumpRequest>(stop).unwrap().action, Action::ProfileStop);
        assert!(serde_json::from_str::<DumpRequest>(r#"{"id":"a1","action":"format-disk","thread":0,"path":"/x","deadline":1}"#).is_err());
        let answer = serde_json::to_string(&Response::Profiling { id: "a1".into() }).unwrap();
        assert_eq!(answer, r#"{"state":"profiling","id":"a1"}"#);
    }

    #[test]
    fn no_request_means_an_ordinary_dump() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(channel(dir.path()).claim(0), Claim::Ordinary);
    }

    #[test]
    fn the_named_thread_claims_the_request_and_others_skip_the_signal() {
        let dir = tempfile::tempdir().unwrap();
        let ch = channel(dir.path());
        let request = leave_request(dir.path(), 0, in_a_minute());
        assert_eq!(ch.claim(3), Claim::NotForThisThread);
        assert_eq!(ch.claim(0), Claim::Request(request));
        // Claimed: the file is renamed, and a worker that looks only now still skips.
        assert!(!dir.path().join("4242.request").exists());
        assert_eq!(ch.claim(3), Claim::NotForThisThread);
        let started = fs::read_to_string(dir.path().join("4242-abc123.response")).unwrap();
        assert_eq!(started, r#"{"state":"started","id":"abc123","thread":0}"#);
        assert!(ch.is_awaited("abc123"));
        ch.release();
        assert!(!ch.is_awaited("abc123"));
        assert_eq!(ch.claim(3), Claim::Ordinary);
    }

    #[test]
    fn answers_are_whole_json_files() {
        let dir = tempfile::tempdir().unwrap();
        let ch = channel(dir.path());
        ch.respond(&Response::Failed { id: "abc123".into(), code: "EACCES".into(), message: "no".into() });
        let text = fs::read_to_string(dir.path().join("4242-abc123.response")).unwrap();
        assert_eq!(text, r#"{"state":"failed","id":"abc123","code":"EACCES","message":"no"}"#);
        let mode = fs::metadata(dir.path().join("4242-abc123.response")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left");
    }

    #[test]
    fn expired_requests_are_removed_and_ignored() {
        let dir = tempfile::tempdir().unwrap();
        leave_request(dir.path(), 0, now_ms() - 1);
        assert_eq!(channel(dir.path()).claim(0), Claim::Ordinary);
        assert!(!dir.path().join("4242.request").exists());
    }

    #[test]
    fn a_directory_others_can_enter_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let ch = channel(dir.path());
        leave_request(dir.path(), 0, in_a_minute());
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o733)).unwrap();
        assert_eq!(ch.claim(0), Claim::Ordinary);
        assert!(dir.path().join("4242.request").exists(), "not touched");
    }

    #[test]
    fn requests_others_can_write_or_links_are_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let ch = channel(dir.path());
        leave_request(dir.path(), 0, in_a_minute());
        fs::set_permissions(dir.path().join("4242.request"), fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(ch.claim(0), Claim::Ordinary);

        let elsewhere = tempfile::tempdir().unwrap();
        leave_request(elsewhere.path(), 0, in_a_minute());
        fs::remove_file(dir.path().join("4242.request")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("4242.request"), dir.path().join("4242.request")).unwrap();
        assert_eq!(ch.claim(0), Claim::Ordinary);
    }

    #[test]
    fn malformed_requests_and_unsafe_ids_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let ch = channel(dir.path());
        let path = dir.path().join("4242.request");
        for text in [
            "not json".to_string(),
            format!(r#"{{"id":"../../etc/x","thread":0,"path":"/tmp/x","deadline":{}}}"#, in_a_minute()),
            format!(r#"{{"id":"ok","thread":0,"path":"relative/x","deadline":{}}}"#, in_a_minute()),
        ] {
            fs::write(&path, text).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            assert_eq!(ch.claim(0), Claim::Ordinary);
        }
    }
}
