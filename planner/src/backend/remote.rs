//! A remote backend: the state of a stack and target in an object store
//! with conditional writes (S3; the AWS provider crate implements
//! [`ObjectStore`] for it, so the planner has no AWS code).
//!
//! Under the configured key, per target (as the local backend's
//! `.stackc/<target>/`):
//!
//! ```text
//! <key>/<target or "default">/state.json           the state document (sealed when encrypted)
//! <key>/<target or "default">/state.json.backup    the previous version
//! <key>/<target or "default">/state.json.lock      the lock (JSON LockInfo), as Terraform 1.11 names it
//! <key>/<target or "default">/state.journal/<serial>/<n>   the apply journal of the state at <serial>
//! <key>/<target or "default">/state.json.rejected-<lock id>   a state refused because another wrote meanwhile
//! ```
//!
//! - Lock: the lock object is created with `If-None-Match: *`; a 412 means
//!   it is held, and the error names the holder it records.
//! - Write: with `If-Match` on the ETag this command read (or
//!   `If-None-Match: *` when there was none), so a state changed behind
//!   the writer's back (another writer, a hand edit, a force-unlocked
//!   command) is detected; the refused state is kept beside it
//!   (`.rejected-<lock id>`), so nothing is lost.
//! - Journal: S3 cannot append, so each record is an object of its own,
//!   numbered from 0 (the header) and created with `If-None-Match: *` (two
//!   writers cannot both write line n). Load reads 0, 1, 2... until one is
//!   missing; records are written one after the other, so there is no
//!   gap. The serial in the key ties a journal to the state it extends:
//!   once the state is written at a higher serial, the old journal is
//!   never read again (and is deleted). One PUT per record rather than a
//!   rewrite of one object per record: the cost of a record stays
//!   constant instead of growing with the apply.
//! - The plan key stays in the local state directory (`plan.key`): a
//!   saved plan is a local file too.

use super::journal::{self, Journal};
use super::lock::{LockGuard, LockInfo};
use super::seal::{self, Keyring};
use super::BackendError;
use crate::state::{Document, State};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// An object read from the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    pub bytes: Vec<u8>,
    pub etag: String,
}

/// The condition of a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Unconditional.
    None,
    /// Only if no object has the key (`If-None-Match: *`).
    IfAbsent,
    /// Only if the object's ETag is this one (`If-Match`).
    IfMatch(String),
}

/// Why a store request failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The write's condition did not hold (HTTP 412, or 409 for a
    /// conditional write that raced another).
    #[error("the condition of the write did not hold")]
    PreconditionFailed,
    #[error("{0}")]
    Other(String),
}

/// Objects with conditional writes: what a remote backend needs.
pub trait ObjectStore: Send + Sync + fmt::Debug {
    /// The object's URL for messages (`s3://bucket/key`).
    fn url(&self, key: &str) -> String;
    /// The object, `None` when there is none.
    fn get(&self, key: &str) -> Result<Option<StoredObject>, StoreError>;
    /// Writes the object if `condition` holds; its new ETag.
    fn put(&self, key: &str, bytes: &[u8], condition: Condition) -> Result<String, StoreError>;
    /// Deletes the object (nothing when there is none).
    fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// What this command knows of the state object.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    /// Not read yet.
    Unread,
    /// Read, and there was none.
    Absent,
    /// Read or written, with this ETag.
    Etag(String),
}

#[derive(Debug)]
struct Shared {
    seen: Seen,
    /// The journal found by the load or being written: (serial, objects).
    journal: Option<(u64, usize)>,
}

/// The state of one stack and target in an object store.
#[derive(Clone)]
pub struct RemoteBackend {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    stack_dir: PathBuf,
    target: Option<String>,
    keyring: Option<Arc<Keyring>>,
    shared: Arc<Mutex<Shared>>,
}

impl fmt::Debug for RemoteBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteBackend").field("state", &self.state_url()).finish_non_exhaustive()
    }
}

/// Largest object read as a state or journal record.
const MAX_OBJECT_BYTES: usize = 1 << 30;

impl RemoteBackend {
    /// The state of `stack_dir` and `target` under `key` in `store`.
    /// Touches nothing.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        key: &str,
        stack_dir: impl Into<PathBuf>,
        target: Option<&str>,
    ) -> RemoteBackend {
        let prefix = format!("{}/{}", key.trim_matches('/'), super::local::target_dir_name(target));
        RemoteBackend {
            store,
            prefix,
            stack_dir: stack_dir.into(),
            target: target.map(str::to_string),
            keyring: None,
            shared: Arc::new(Mutex::new(Shared { seen: Seen::Unread, journal: None })),
        }
    }

    pub fn with_keyring(mut self, keyring: Option<Arc<Keyring>>) -> RemoteBackend {
        self.keyring = keyring;
        self
    }

    pub fn keyring(&self) -> Option<&Arc<Keyring>> {
        self.keyring.as_ref()
    }

    pub fn stack_dir(&self) -> &Path {
        &self.stack_dir
    }

    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    fn state_key(&self) -> String {
        format!("{}/state.json", self.prefix)
    }

    fn backup_key(&self) -> String {
        format!("{}/state.json.backup", self.prefix)
    }

    fn lock_key(&self) -> String {
        format!("{}/state.json.lock", self.prefix)
    }

    fn journal_key(&self, serial: u64, index: usize) -> String {
        format!("{}/state.journal/{serial}/{index}", self.prefix)
    }

    /// `s3://bucket/<key>/<target>/state.json`.
    pub fn state_url(&self) -> String {
        self.store.url(&self.state_key())
    }

    /// The lock object's URL, as a path (where errors name a lock file).
    pub fn lock_url(&self) -> PathBuf {
        PathBuf::from(self.store.url(&self.lock_key()))
    }

    /// The journal's URL (its objects are numbered under it).
    pub fn journal_url(&self) -> String {
        self.store.url(&format!("{}/state.journal/", self.prefix))
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remote_error(&self, action: &'static str, key: &str, error: StoreError) -> BackendError {
        BackendError::Remote { action, url: self.store.url(key), problem: error.to_string() }
    }

    fn get(&self, action: &'static str, key: &str) -> Result<Option<StoredObject>, BackendError> {
        let object = self.store.get(key).map_err(|e| self.remote_error(action, key, e))?;
        if let Some(object) = &object {
            if object.bytes.len() > MAX_OBJECT_BYTES {
                return Err(BackendError::Invalid {
                    path: PathBuf::from(self.store.url(key)),
                    problem: format!("it is larger than {MAX_OBJECT_BYTES} bytes"),
                });
            }
        }
        Ok(object)
    }

    /// A new, empty state with a fresh lineage (nothing is written).
    pub fn new_state(&self, stack: &str) -> Result<State, BackendError> {
        let lineage = crate::state::new_lineage().map_err(|e| BackendError::Random(e.to_string()))?;
        Ok(State::new(stack, self.target.clone(), lineage))
    }

    /// The state, `None` when none was ever written (a leftover journal replayed).
    pub fn load(&self) -> Result<Option<State>, BackendError> {
        Ok(self.load_detailed()?.map(|loaded| loaded.state))
    }

    /// The state and the journal entries replayed onto it; `None` when
    /// none was ever written. Remembers the ETag read, for the write.
    pub fn load_detailed(&self) -> Result<Option<super::Loaded>, BackendError> {
        let url = PathBuf::from(self.state_url());
        let object = self.get("read the state", &self.state_key())?;
        let state = match &object {
            Some(object) => Some(self.parse(&url, &object.bytes)?),
            None => None,
        };
        let serial = state.as_ref().map_or(0, |s| s.serial);
        let mut text = Vec::new();
        let mut objects = 0;
        while let Some(record) = self.get("read the apply journal", &self.journal_key(serial, objects))? {
            text.extend_from_slice(&record.bytes);
            if !record.bytes.ends_with(b"\n") {
                text.push(b'\n');
            }
            objects += 1;
        }
        {
            let mut shared = self.shared();
            shared.seen = object.map_or(Seen::Absent, |o| Seen::Etag(o.etag));
            shared.journal = (objects > 0).then_some((serial, objects));
        }
        if objects == 0 {
            return Ok(state.map(|state| super::Loaded { state, recovered: 0 }));
        }
        let journal_url = PathBuf::from(self.journal_url());
        let (state, recovered) = journal::replay(self.keyring.as_deref(), &journal_url, &text, state)?;
        Ok(state.map(|state| super::Loaded { state, recovered }))
    }

    fn parse(&self, url: &Path, bytes: &[u8]) -> Result<State, BackendError> {
        let bytes = seal::unseal(self.keyring.as_deref(), url, "state", bytes)?;
        let document: Document = serde_json::from_slice(&bytes).map_err(|e| corrupt(url, &e))?;
        let state = State::from_document(document)
            .map_err(|problem| BackendError::Invalid { path: url.to_path_buf(), problem })?;
        if state.target != self.target {
            return Err(BackendError::Invalid {
                path: url.to_path_buf(),
                problem: format!(
                    "it is the state of target {}, but this is the state of target {}",
                    super::local::shown_target(state.target.as_deref()),
                    super::local::shown_target(self.target.as_deref())
                ),
            });
        }
        Ok(state)
    }

    /// Takes the lock for `operation`: creates the lock object with
    /// `If-None-Match: *`. A held lock is [`BackendError::Locked`], naming
    /// its holder and the unlock command.
    pub fn lock(&self, operation: &str) -> Result<LockGuard, BackendError> {
        let info = LockInfo::new(operation)?;
        let mut text = serde_json::to_vec_pretty(&info).unwrap_or_default();
        text.push(b'\n');
        let key = self.lock_key();
        for _ in 0..3 {
            match self.store.put(&key, &text, Condition::IfAbsent) {
                Ok(_) => return Ok(LockGuard::remote(info, self.clone())),
                Err(StoreError::PreconditionFailed) => match self.lock_info()? {
                    // Our own PUT, answered 412 when it was sent again.
                    Some(held) if held.id == info.id => return Ok(LockGuard::remote(info, self.clone())),
                    Some(held) => {
                        return Err(BackendError::Locked {
                            path: self.lock_url(),
                            holder_gone: held.holder_gone(),
                            unlock_command: super::local::unlock_command(
                                &self.stack_dir,
                                self.target.as_deref(),
                                &held.id,
                            ),
                            held: Box::new(held),
                        })
                    }
                    // Released between our attempt and our read: try again.
                    None => continue,
                },
                Err(error) => return Err(self.remote_error("create the lock", &key, error)),
            }
        }
        Err(BackendError::Remote {
            action: "create the lock",
            url: self.store.url(&key),
            problem: "it keeps appearing and disappearing".into(),
        })
    }

    /// The lock currently held, if any.
    pub fn lock_info(&self) -> Result<Option<LockInfo>, BackendError> {
        let Some(object) = self.get("read the lock", &self.lock_key())? else { return Ok(None) };
        serde_json::from_slice(&object.bytes)
            .map(Some)
            .map_err(|e| BackendError::UnreadableLock { path: self.lock_url(), problem: e.to_string() })
    }

    /// Deletes the lock object if it still holds `id`.
    pub(super) fn release_lock(&self, id: &str) -> Result<(), BackendError> {
        match self.lock_info() {
            Ok(Some(held)) if held.id == id => {
                let key = self.lock_key();
                self.store.delete(&key).map_err(|e| self.remote_error("delete the lock", &key, e))
            }
            _ => Ok(()),
        }
    }

    /// Releases a lock left by a command that no longer runs, as the
    /// local backend's `force_unlock`.
    pub fn force_unlock(&self, id: &str, force: bool) -> Result<LockInfo, BackendError> {
        let path = self.lock_url();
        let held = self.lock_info()?.ok_or_else(|| BackendError::NotLocked { path: path.clone() })?;
        if held.id != id {
            return Err(BackendError::WrongLockId {
                given: id.to_string(),
                held: held.id,
                holder: held.holder,
                operation: held.operation,
            });
        }
        if !force && held.holder_running() {
            return Err(BackendError::HolderRunning { path, held: Box::new(held) });
        }
        let key = self.lock_key();
        self.store.delete(&key).map_err(|e| self.remote_error("delete the lock", &key, e))?;
        Ok(held)
    }

    fn check_lock(&self, lock_id: &str) -> Result<(), BackendError> {
        let lost = || BackendError::LockLost { path: self.lock_url(), id: lock_id.to_string() };
        match self.lock_info() {
            Ok(Some(held)) if held.id == lock_id => Ok(()),
            Ok(_) | Err(BackendError::UnreadableLock { .. }) => Err(lost()),
            Err(other) => Err(other),
        }
    }

    /// Refuses plain text when the stored state is encrypted (as the
    /// local backend's).
    pub fn check_plaintext_allowed(&self) -> Result<(), BackendError> {
        if self.keyring.as_ref().is_some_and(|k| k.seals() || k.allows_plaintext()) {
            return Ok(());
        }
        match self.get("read the state", &self.state_key())? {
            Some(object) if seal::is_sealed(&object.bytes) => {
                Err(BackendError::WouldWritePlaintext { path: PathBuf::from(self.state_url()) })
            }
            _ => Ok(()),
        }
    }

    /// Saves `state` (serial + 1) with `If-Match` on the ETag this command
    /// read, keeping the previous version as the backup and deleting the
    /// journal it includes. On error `state.serial` is unchanged.
    pub fn write(&self, guard: &LockGuard, state: &mut State) -> Result<(), BackendError> {
        if !guard.is_remote_of(&self.lock_url()) {
            return Err(BackendError::LockLost { path: self.lock_url(), id: guard.id().to_string() });
        }
        self.write_with_lock_id(guard.id(), state)
    }

    pub(super) fn write_with_lock_id(&self, lock_id: &str, state: &mut State) -> Result<(), BackendError> {
        self.check_lock(lock_id)?;
        let url = PathBuf::from(self.state_url());
        let key = self.state_key();
        let current = self.get("read the state", &key)?;
        let seen = self.shared().seen.clone();
        let condition = match (&seen, &current) {
            (Seen::Etag(etag), _) => Condition::IfMatch(etag.clone()),
            (Seen::Absent, _) => Condition::IfAbsent,
            (Seen::Unread, Some(object)) => Condition::IfMatch(object.etag.clone()),
            (Seen::Unread, None) => Condition::IfAbsent,
        };
        let changed = match (&condition, &current) {
            (Condition::IfMatch(etag), Some(object)) => object.etag != *etag,
            (Condition::IfMatch(_), None) | (Condition::IfAbsent, Some(_)) => true,
            _ => false,
        };
        if let Some(object) = &current {
            self.check_current(&url, &object.bytes, state)?;
        }
        let serial = state.serial.checked_add(1).ok_or_else(|| BackendError::Invalid {
            path: url.clone(),
            problem: "the serial cannot grow any more".into(),
        })?;
        state.sort();
        let mut document = state.to_document();
        document.serial = serial;
        let mut bytes = serde_json::to_vec_pretty(&document).map_err(|e| BackendError::Invalid {
            path: url.clone(),
            problem: format!("the state cannot be serialized: {e}"),
        })?;
        bytes.push(b'\n');
        let bytes = seal::seal(self.keyring.as_deref(), &url, "state", bytes)?;
        if changed {
            return Err(self.rejected(lock_id, &bytes));
        }
        if let Some(object) = &current {
            let backup = self.backup_key();
            self.store
                .put(&backup, &object.bytes, Condition::None)
                .map_err(|e| self.remote_error("keep the previous state as", &backup, e))?;
        }
        let etag = match self.put_conditional(&key, &bytes, condition) {
            Ok(etag) => etag,
            Err(StoreError::PreconditionFailed) => return Err(self.rejected(lock_id, &bytes)),
            Err(error) => return Err(self.remote_error("write the state", &key, error)),
        };
        state.serial = serial;
        let journal = {
            let mut shared = self.shared();
            shared.seen = Seen::Etag(etag);
            shared.journal.take()
        };
        // The journal is part of the state now; a leftover object is never
        // read again (the state's serial moved on), so a failure here is harmless.
        // Eight at a time: an apply of N operations leaves up to N + 1 objects.
        if let Some((serial, objects)) = journal {
            let keys: Vec<String> = (0..objects).map(|index| self.journal_key(serial, index)).collect();
            std::thread::scope(|scope| {
                for chunk in keys.chunks(keys.len().div_ceil(8).max(1)) {
                    scope.spawn(move || {
                        for key in chunk {
                            let _ = self.store.delete(key);
                        }
                    });
                }
            });
        }
        Ok(())
    }

    /// A conditional PUT. A 412 may answer our own request sent again after
    /// its answer was lost: when the object now holds exactly our bytes (a
    /// sealed object has a random nonce; a plain one is the same state),
    /// the write was ours and succeeded.
    fn put_conditional(&self, key: &str, bytes: &[u8], condition: Condition) -> Result<String, StoreError> {
        match self.store.put(key, bytes, condition) {
            Err(StoreError::PreconditionFailed) => match self.store.get(key)? {
                Some(object) if object.bytes == bytes => Ok(object.etag),
                _ => Err(StoreError::PreconditionFailed),
            },
            other => other,
        }
    }

    /// The state was changed behind this command's back: its state is kept
    /// beside it (so nothing is lost), and the error says where.
    fn rejected(&self, lock_id: &str, bytes: &[u8]) -> BackendError {
        let key = format!("{}/state.json.rejected-{lock_id}", self.prefix);
        let kept = self.store.put(&key, bytes, Condition::None).is_ok().then(|| self.store.url(&key));
        BackendError::ChangedBehind { url: self.state_url(), kept }
    }

    /// The stored state must load, be of the same lineage and not newer.
    fn check_current(&self, url: &Path, bytes: &[u8], state: &State) -> Result<(), BackendError> {
        #[derive(Deserialize)]
        struct Header {
            version: u32,
            lineage: String,
            serial: u64,
        }
        if seal::is_sealed(bytes) && !self.keyring.as_ref().is_some_and(|k| k.seals() || k.allows_plaintext())
        {
            return Err(BackendError::WouldWritePlaintext { path: url.to_path_buf() });
        }
        let bytes = seal::unseal(self.keyring.as_deref(), url, "state", bytes)?;
        let header: Header = serde_json::from_slice(&bytes).map_err(|e| corrupt(url, &e))?;
        if header.version > crate::state::FORMAT_VERSION {
            return Err(BackendError::Invalid {
                path: url.to_path_buf(),
                problem: format!(
                    "it has format version {}, newer than this stackc understands",
                    header.version
                ),
            });
        }
        if header.lineage != state.lineage {
            return Err(BackendError::LineageMismatch {
                path: url.to_path_buf(),
                expected: state.lineage.clone(),
                found: header.lineage,
            });
        }
        if header.serial > state.serial {
            return Err(BackendError::StaleState {
                path: url.to_path_buf(),
                loaded: state.serial,
                found: header.serial,
            });
        }
        Ok(())
    }

    /// Starts the journal of an apply on `state`; a leftover journal is
    /// first compacted into the state (a write).
    pub fn begin_journal(&self, guard: &LockGuard, state: &mut State) -> Result<Journal, BackendError> {
        if state.serial > u64::MAX - 2 {
            return Err(BackendError::Invalid {
                path: PathBuf::from(self.state_url()),
                problem: format!("its serial {} cannot grow any more", state.serial),
            });
        }
        self.check_plaintext_allowed()?;
        if self.shared().journal.is_some() {
            self.write(guard, state)?;
        } else {
            self.check_lock(guard.id())?;
        }
        Journal::create_remote(self, guard.id(), state)
    }

    /// Writes journal record `index` of the state at `serial` (created
    /// only if absent: a second writer is refused).
    pub(super) fn put_journal_record(
        &self,
        serial: u64,
        index: usize,
        bytes: &[u8],
    ) -> Result<(), BackendError> {
        let key = self.journal_key(serial, index);
        // The header decides who owns the journal: never taken as ours on a
        // 412. A record after it is ours if it holds our bytes (a PUT sent
        // again after a lost answer): only the header's writer gets here.
        let put = if index == 0 {
            self.store.put(&key, bytes, Condition::IfAbsent)
        } else {
            self.put_conditional(&key, bytes, Condition::IfAbsent)
        };
        match put {
            Ok(_) => {
                self.shared().journal = Some((serial, index + 1));
                Ok(())
            }
            Err(StoreError::PreconditionFailed) => {
                Err(BackendError::JournalInUse { path: PathBuf::from(self.store.url(&key)) })
            }
            Err(error) => Err(self.remote_error("append to the apply journal", &key, error)),
        }
    }

    /// Deletes the backup (after a destroy).
    pub fn remove_backup(&self) -> Result<(), BackendError> {
        let key = self.backup_key();
        self.store.delete(&key).map_err(|e| self.remote_error("remove the state backup", &key, e))
    }

    /// Writes `state` as it is (serial kept) into an empty remote state,
    /// for `state migrate`: refuses when a state exists there unless
    /// `replace`. The lock must be held.
    pub fn import_state(&self, guard: &LockGuard, state: &State, replace: bool) -> Result<(), BackendError> {
        self.check_lock(guard.id())?;
        let key = self.state_key();
        let current = self.get("read the state", &key)?;
        if current.is_some() && !replace {
            return Err(BackendError::DestinationNotEmpty { location: self.state_url() });
        }
        let mut copy = state.clone();
        copy.sort();
        let mut bytes =
            serde_json::to_vec_pretty(&copy.to_document()).map_err(|e| BackendError::Invalid {
                path: PathBuf::from(self.state_url()),
                problem: format!("the state cannot be serialized: {e}"),
            })?;
        bytes.push(b'\n');
        let bytes = seal::seal(self.keyring.as_deref(), Path::new(&self.state_url()), "state", bytes)?;
        let condition = match &current {
            Some(object) => Condition::IfMatch(object.etag.clone()),
            None => Condition::IfAbsent,
        };
        let etag = self.store.put(&key, &bytes, condition).map_err(|e| match e {
            StoreError::PreconditionFailed => {
                BackendError::ChangedBehind { url: self.state_url(), kept: None }
            }
            other => self.remote_error("write the state", &key, other),
        })?;
        self.shared().seen = Seen::Etag(etag);
        Ok(())
    }
}

/// A stored state that is not a valid document (serde's " at line L
/// column C" given apart, as the local backend does).
fn corrupt(url: &Path, error: &serde_json::Error) -> BackendError {
    let text = error.to_string();
    let problem = match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    };
    BackendError::Corrupt {
        path: url.to_path_buf(),
        line: error.line(),
        column: error.column(),
        problem,
        backup: None,
    }
}
