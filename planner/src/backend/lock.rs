//! The state lock: an exclusive file, so exactly one command can write a
//! state at a time. It records who holds it, for what and since when; a
//! stale one (its holder crashed) is released by id.
//!
//! The lock's content is complete before it becomes visible: it is written
//! to a temp file (owner-only, fsynced), then hard-linked to `state.lock`,
//! which fails if the lock exists. A command that loses the race therefore
//! always reads the winner's whole lock, never an empty file.

use super::BackendError;
use crate::files;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The contents of a lock file (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Random; `stackc state unlock ID` must name it.
    pub id: String,
    /// `user@host`.
    pub holder: String,
    pub pid: u32,
    /// The command that took it: `apply`, `destroy`, `state rm`.
    pub operation: String,
    /// When it was taken (RFC 3339, UTC).
    pub time: String,
}

impl LockInfo {
    /// A new lock for this process.
    pub fn new(operation: &str) -> Result<LockInfo, BackendError> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| BackendError::Random(e.to_string()))?;
        Ok(LockInfo {
            id: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            holder: format!("{}@{}", user_name(), host_name()),
            pid: std::process::id(),
            operation: operation.to_string(),
            time: stackc_provider_builtin::rfc3339(std::time::SystemTime::now()),
        })
    }

    /// True when the holder is a process of this host that no longer runs
    /// (checked through /proc; false when that cannot be known).
    pub fn holder_gone(&self) -> bool {
        self.holder_on_this_host() && !Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    /// True when the holder is a process of this host that still runs
    /// (false when that cannot be known).
    pub fn holder_running(&self) -> bool {
        self.holder_on_this_host()
            && self.pid != std::process::id()
            && Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    fn holder_on_this_host(&self) -> bool {
        let ours = format!("@{}", host_name());
        self.holder.ends_with(&ours) && Path::new("/proc/self").exists()
    }
}

/// Proof that this command holds the lock; releases it when dropped.
#[derive(Debug)]
pub struct LockGuard {
    info: LockInfo,
    path: PathBuf,
    home: LockHome,
    released: bool,
}

/// Where a lock is kept, and so how it is released.
#[derive(Clone, Debug)]
pub(super) enum LockHome {
    /// A lock file (its path is the guard's).
    File,
    /// A lock object of a remote backend.
    Remote(super::remote::RemoteBackend),
}

/// What releases a lock without its guard (a command abandoning its work
/// on a signal): `Send`, cheap to clone.
#[derive(Clone, Debug)]
pub struct LockReleaser {
    path: PathBuf,
    id: String,
    home: LockHome,
}

impl LockReleaser {
    /// Releases the lock if it still has this id.
    pub fn release(&self) -> Result<(), BackendError> {
        match &self.home {
            LockHome::File => release(&self.path, &self.id),
            LockHome::Remote(backend) => backend.release_lock(&self.id),
        }
    }
}

impl LockGuard {
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    pub fn id(&self) -> &str {
        &self.info.id
    }

    /// The lock file (for a remote backend, the lock object's URL).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What releases this lock without the guard.
    pub fn releaser(&self) -> LockReleaser {
        LockReleaser { path: self.path.clone(), id: self.info.id.clone(), home: self.home.clone() }
    }

    /// Releases the lock now, reporting a failure (drop ignores it).
    pub fn release(mut self) -> Result<(), BackendError> {
        self.released = true;
        self.releaser().release()
    }

    /// A guard of a lock object a remote backend has just created.
    pub(super) fn remote(info: LockInfo, backend: super::remote::RemoteBackend) -> LockGuard {
        LockGuard { info, path: backend.lock_url(), home: LockHome::Remote(backend), released: false }
    }

    /// True when this guard is of the remote backend's lock object.
    pub(super) fn is_remote_of(&self, url: &Path) -> bool {
        matches!(self.home, LockHome::Remote(_)) && self.path == url
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if !self.released {
            let _ = self.releaser().release();
        }
    }
}

/// Removes the lock file at `path` if it still holds `id` (a lock
/// force-released and taken by another command is theirs). For a command
/// that abandons its work on a signal, without its [`LockGuard`].
pub fn release(path: &Path, id: &str) -> Result<(), BackendError> {
    match read(path) {
        Ok(Some(info)) if info.id == id => {
            fs::remove_file(path).map_err(BackendError::io("remove the lock file", path))?;
            remove_empty_dirs(path);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Removes the state directory (`.stackc/<target>`) and `.stackc` if the
/// lock was all they held: a plan with no state, or one that failed, leaves
/// no empty directories in the stack. `remove_dir` only removes an empty
/// directory; a command taking the lock meanwhile creates it again
/// ([`acquire`]).
fn remove_empty_dirs(lock: &Path) {
    let state_dir = lock.parent();
    if state_dir.is_some_and(|dir| fs::remove_dir(dir).is_ok()) {
        if let Some(root) = state_dir.and_then(Path::parent) {
            let _ = fs::remove_dir(root);
        }
    }
}

/// Takes the lock at `path` or says who holds it. `unlock_command` has
/// `{ID}` where the holder's id goes.
pub(super) fn acquire(path: &Path, operation: &str, unlock_command: &str) -> Result<LockGuard, BackendError> {
    let info = LockInfo::new(operation)?;
    let mut text = serde_json::to_string_pretty(&info).unwrap_or_default();
    text.push('\n');
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = files::temp_path(dir, "state.lock").map_err(BackendError::io("create the lock file", path))?;
    let written = files::create_new(&temp, files::OWNER_ONLY)
        .and_then(|mut file| file.write_all(text.as_bytes()).and_then(|()| file.sync_all()));
    if let Err(source) = written {
        let _ = fs::remove_file(&temp);
        return Err(BackendError::Io { action: "write the lock file", path: temp, source });
    }
    let taken = take(&temp, path, &info, unlock_command);
    let _ = fs::remove_file(&temp);
    taken
}

/// Links the complete lock `temp` to `path`, or says who holds it.
fn take(temp: &Path, path: &Path, info: &LockInfo, unlock_command: &str) -> Result<LockGuard, BackendError> {
    // A lock released between our attempt and our read of it: try again.
    for _ in 0..3 {
        match fs::hard_link(temp, path) {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    super::local::sync_dir(dir)?;
                }
                return Ok(LockGuard {
                    info: info.clone(),
                    path: path.to_path_buf(),
                    home: LockHome::File,
                    released: false,
                });
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                if let Some(held) = read(path)? {
                    return Err(BackendError::Locked {
                        path: path.to_path_buf(),
                        holder_gone: held.holder_gone(),
                        unlock_command: unlock_command.replace("{ID}", &held.id),
                        held: Box::new(held),
                    });
                }
            }
            // Its directory, empty, was removed by a command releasing its lock.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir).map_err(BackendError::io("create the state directory", dir))?;
                }
            }
            Err(source) => {
                return Err(BackendError::Io { action: "create the lock file", path: path.into(), source })
            }
        }
    }
    Err(BackendError::Io {
        action: "create the lock file",
        path: path.into(),
        source: std::io::Error::other("it keeps appearing and disappearing"),
    })
}

/// Largest lock file read (one is a few hundred bytes).
const MAX_LOCK_BYTES: u64 = 64 * 1024;

/// The lock held at `path`, `None` when there is none.
pub(super) fn read(path: &Path) -> Result<Option<LockInfo>, BackendError> {
    let text = match files::read_regular(path, MAX_LOCK_BYTES) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(BackendError::Io { action: "read the lock file", path: path.into(), source })
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| BackendError::UnreadableLock { path: path.to_path_buf(), problem: e.to_string() })
}

/// Releases the lock held at `path` if its id is `id` and (unless
/// `force`) its holder does not run on this host.
pub(super) fn force_release(path: &Path, id: &str, force: bool) -> Result<LockInfo, BackendError> {
    let held = read(path)?.ok_or_else(|| BackendError::NotLocked { path: path.to_path_buf() })?;
    if held.id != id {
        return Err(BackendError::WrongLockId {
            given: id.to_string(),
            held: held.id,
            holder: held.holder,
            operation: held.operation,
        });
    }
    if !force && held.holder_running() {
        return Err(BackendError::HolderRunning { path: path.to_path_buf(), held: Box::new(held) });
    }
    fs::remove_file(path).map_err(BackendError::io("remove the lock file", path))?;
    Ok(held)
}

pub(super) fn user_name() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

pub(super) fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| {
            fs::read_to_string(path).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
        })
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "localhost".to_string())
}
