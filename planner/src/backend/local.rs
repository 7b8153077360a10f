//! The local backend: the state of a stack and target in a directory under
//! the stack, `.stackc/<target or "default">/` (see the module docs of
//! `backend` for the files). Written atomically, backed up, locked, and
//! journaled during an apply.

use super::journal::{self, Journal};
use super::lock::{self, LockGuard, LockInfo};
use super::seal::{self, Keyring};
use super::BackendError;
use crate::files;
use crate::state::{Document, State};
use serde::Deserialize;
use std::borrow::Cow;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The directory under the stack that holds every state.
pub const STATE_DIR: &str = ".stackc";
/// The state directory's name for a stack without a target.
pub const DEFAULT_TARGET_DIR: &str = "default";
pub const STATE_FILE: &str = "state.json";
pub const BACKUP_FILE: &str = "state.json.backup";
pub const LOCK_FILE: &str = "state.lock";
pub const JOURNAL_FILE: &str = "state.journal";
/// The key that authenticates the plans saved for this state (`saved.rs`).
pub const PLAN_KEY_FILE: &str = "plan.key";
const TEMP_PREFIX: &str = ".state.json.";
/// Largest state file or journal read (a hostile file must not exhaust memory).
const MAX_STATE_BYTES: u64 = 1 << 30;
const TEMP_SUFFIX: &str = ".tmp";

/// The state of one stack and target on the local disk.
#[derive(Clone, Debug)]
pub struct LocalBackend {
    stack_dir: PathBuf,
    target: Option<String>,
    dir: PathBuf,
    /// Encryption at rest (`None`: plain text, and an encrypted state
    /// cannot be read or written).
    keyring: Option<Arc<Keyring>>,
}

/// A loaded state and how much of it came from an interrupted apply.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub state: State,
    /// Journal entries replayed (operations finished by an apply that was
    /// killed before it saved); 0 normally.
    pub recovered: usize,
}

impl LocalBackend {
    /// The backend of `stack_dir` and `target` (`None`: a stack without
    /// targets, kept under `default`). Characters of the target outside
    /// `[A-Za-z0-9_-]` become `_` in the directory name. Touches nothing.
    pub fn new(stack_dir: impl Into<PathBuf>, target: Option<&str>) -> LocalBackend {
        let stack_dir = stack_dir.into();
        let dir = stack_dir.join(STATE_DIR).join(target_dir_name(target));
        LocalBackend { stack_dir, target: target.map(str::to_string), dir, keyring: None }
    }

    /// The same backend with encryption at rest: the state, its backup
    /// and the journal are sealed when `keyring` has a current key, and
    /// opened with any of its keys.
    pub fn with_keyring(mut self, keyring: Option<Arc<Keyring>>) -> LocalBackend {
        self.keyring = keyring;
        self
    }

    pub fn keyring(&self) -> Option<&Arc<Keyring>> {
        self.keyring.as_ref()
    }

    /// True when what this backend writes is encrypted.
    pub fn seals(&self) -> bool {
        self.keyring.as_ref().is_some_and(|k| k.seals())
    }

    /// The plaintext of `bytes` read from `path`: opened for `purpose`
    /// when sealed, as is otherwise.
    pub(super) fn unseal<'b>(
        &self,
        path: &Path,
        purpose: &str,
        bytes: &'b [u8],
    ) -> Result<Cow<'b, [u8]>, BackendError> {
        seal::unseal(self.keyring.as_deref(), path, purpose, bytes)
    }

    /// `bytes` as written to `path`: sealed for `purpose` (one line) when
    /// this backend encrypts, as is otherwise.
    pub(super) fn seal(&self, path: &Path, purpose: &str, bytes: Vec<u8>) -> Result<Vec<u8>, BackendError> {
        seal::seal(self.keyring.as_deref(), path, purpose, bytes)
    }

    /// Refuses to write plain text (a state, a journal line, a saved plan)
    /// when the state file is encrypted and no key to encrypt is
    /// configured, unless the keyring allows it on purpose.
    pub fn check_plaintext_allowed(&self) -> Result<(), BackendError> {
        if self.seals() || self.keyring.as_ref().is_some_and(|k| k.allows_plaintext()) {
            return Ok(());
        }
        let path = self.state_path();
        match files::read_regular(&path, MAX_STATE_BYTES) {
            Ok(bytes) if seal::is_sealed(&bytes) => Err(BackendError::WouldWritePlaintext { path }),
            Ok(_) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(BackendError::Io { action: "read the state file", path, source }),
        }
    }

    /// Targets that have a state directory under `stack_dir` (a directory
    /// with a state file or journal), sorted; `None` is `default`.
    pub fn targets_present(stack_dir: &Path) -> Result<Vec<Option<String>>, BackendError> {
        let root = stack_dir.join(STATE_DIR);
        let entries = match fs::read_dir(&root) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(BackendError::Io { action: "list", path: root, source }),
        };
        let mut targets = Vec::new();
        for entry in entries {
            let entry = entry.map_err(BackendError::io("list", &root))?;
            let path = entry.path();
            if !(path.join(STATE_FILE).exists() || path.join(JOURNAL_FILE).exists()) {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            targets.push((name != DEFAULT_TARGET_DIR).then_some(name));
        }
        targets.sort();
        Ok(targets)
    }

    pub fn stack_dir(&self) -> &Path {
        &self.stack_dir
    }

    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// `<stack dir>/.stackc/<target>`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    pub fn backup_path(&self) -> PathBuf {
        self.dir.join(BACKUP_FILE)
    }

    pub fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    pub fn journal_path(&self) -> PathBuf {
        self.dir.join(JOURNAL_FILE)
    }

    /// The command that force-releases lock `id` of this state:
    /// `stackc state unlock [DIR] ID [--target T]` (the stack directory
    /// first, as in every command that works on a stack).
    pub fn unlock_command(&self, id: &str) -> String {
        unlock_command(&self.stack_dir, self.target.as_deref(), id)
    }

    /// A new, empty state for this stack and target with a fresh random
    /// lineage (nothing is written).
    pub fn new_state(&self, stack: &str) -> Result<State, BackendError> {
        let lineage = crate::state::new_lineage().map_err(|e| BackendError::Random(e.to_string()))?;
        Ok(State::new(stack, self.target.clone(), lineage))
    }

    /// The state, `None` when none was ever written. A leftover journal (an
    /// apply killed mid-way) is replayed onto it.
    pub fn load(&self) -> Result<Option<State>, BackendError> {
        Ok(self.load_detailed()?.map(|loaded| loaded.state))
    }

    /// [`LocalBackend::load`], also saying how many journal entries were
    /// replayed. The replayed state is written by the next write.
    pub fn load_detailed(&self) -> Result<Option<Loaded>, BackendError> {
        let path = self.state_path();
        let state = match files::read_regular(&path, MAX_STATE_BYTES) {
            Ok(bytes) => Some(self.parse(&path, &bytes)?),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(BackendError::Io { action: "read the state file", path, source }),
        };
        let journal_path = self.journal_path();
        let journal = match files::read_regular(&journal_path, MAX_STATE_BYTES) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(state.map(|state| Loaded { state, recovered: 0 }));
            }
            Err(source) => {
                return Err(BackendError::Io { action: "read the apply journal", path: journal_path, source })
            }
        };
        let (state, recovered) = journal::replay(self.keyring.as_deref(), &journal_path, &journal, state)?;
        Ok(state.map(|state| Loaded { state, recovered }))
    }

    fn parse(&self, path: &Path, bytes: &[u8]) -> Result<State, BackendError> {
        let bytes = self.unseal(path, "state", bytes)?;
        let document: Document = serde_json::from_slice(&bytes).map_err(|e| self.corrupt(path, &e))?;
        let state = State::from_document(document)
            .map_err(|problem| BackendError::Invalid { path: path.to_path_buf(), problem })?;
        if state.target != self.target {
            return Err(BackendError::Invalid {
                path: path.to_path_buf(),
                problem: format!(
                    "it is the state of target {}, but this is the state directory of target {}",
                    shown_target(state.target.as_deref()),
                    shown_target(self.target.as_deref())
                ),
            });
        }
        Ok(state)
    }

    /// Refuses a state that names another stack than `stack` (the stack
    /// directory's name): a state file copied from another stack would
    /// make this one act on that stack's objects.
    pub fn check_stack(&self, state: &State, stack: &str) -> Result<(), BackendError> {
        if state.stack == stack {
            return Ok(());
        }
        Err(BackendError::Invalid {
            path: self.state_path(),
            problem: format!(
                "it is the state of stack `{}`, but this stack is `{stack}` (was the file copied from another \
                 stack?)",
                state.stack
            ),
        })
    }

    fn corrupt(&self, path: &Path, error: &serde_json::Error) -> BackendError {
        let problem = match error.classify() {
            serde_json::error::Category::Eof => "the file ends too early (it was truncated?)".to_string(),
            _ => {
                // serde_json appends " at line L column C"; we give them apart.
                let text = error.to_string();
                match text.rfind(" at line ") {
                    Some(at) => text[..at].to_string(),
                    None => text,
                }
            }
        };
        let backup = self.backup_path();
        BackendError::Corrupt {
            path: path.to_path_buf(),
            line: error.line(),
            column: error.column(),
            problem,
            backup: backup.exists().then_some(backup),
        }
    }

    /// Takes the exclusive lock for `operation` (`apply`, `state rm`, ...),
    /// creating the state directory if needed. A held lock is
    /// [`BackendError::Locked`], naming its holder and the unlock command.
    pub fn lock(&self, operation: &str) -> Result<LockGuard, BackendError> {
        self.create_dir()?;
        lock::acquire(&self.lock_path(), operation, &self.unlock_command("{ID}"))
    }

    /// The key that authenticates saved plans of this state: 32 random
    /// bytes (hex) in `plan.key`, owner-only, made by the first call with
    /// `create` (written whole, then linked into place, so two plans made
    /// at once agree on one key). Without `create`, a missing key is an
    /// error: no plan was ever saved here.
    pub fn plan_key(&self, create: bool) -> Result<Vec<u8>, BackendError> {
        let path = self.dir.join(PLAN_KEY_FILE);
        let read = |path: &Path| -> Result<Option<Vec<u8>>, BackendError> {
            match files::read_regular(path, 1024) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => {
                    Err(BackendError::Io { action: "read the plan key", path: path.into(), source })
                }
            }
        };
        if let Some(key) = read(&path)? {
            return Ok(key);
        }
        if !create {
            return Err(BackendError::Io {
                action: "read the plan key",
                path,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "it does not exist: no plan was saved for this stack and target",
                ),
            });
        }
        self.create_dir()?;
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| BackendError::Random(e.to_string()))?;
        let key: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let temp = files::temp_path(&self.dir, PLAN_KEY_FILE).map_err(BackendError::io("create", &path))?;
        let created = files::create_new(&temp, files::OWNER_ONLY)
            .and_then(|mut file| file.write_all(key.as_bytes()).and_then(|()| file.sync_all()))
            .and_then(|()| match fs::hard_link(&temp, &path) {
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                other => other,
            });
        let _ = fs::remove_file(&temp);
        created.map_err(BackendError::io("create the plan key", &path))?;
        sync_dir(&self.dir)?;
        read(&path)?.ok_or_else(|| BackendError::Io {
            action: "read the plan key",
            path,
            source: std::io::ErrorKind::NotFound.into(),
        })
    }

    /// What to say about `recovered` journal entries found by a load: an
    /// interrupted apply's progress, or, when another command still holds
    /// the lock (an apply running now), the progress of that apply, which
    /// is not an interruption. `None` when nothing was replayed. `journal`
    /// is the journal's path as the user should see it.
    pub fn journal_note(&self, recovered: usize, journal: &str) -> Option<String> {
        if recovered == 0 {
            return None;
        }
        super::journal_note(recovered, journal, self.lock_info().ok().flatten())
    }

    /// The lock currently held, if any.
    pub fn lock_info(&self) -> Result<Option<LockInfo>, BackendError> {
        lock::read(&self.lock_path())
    }

    /// Releases a lock left by a command that no longer runs; refuses when
    /// `id` is not the held lock's id, and (unless `force`) when its holder
    /// is a process of this host that still runs. Returns what was released.
    pub fn force_unlock(&self, id: &str, force: bool) -> Result<LockInfo, BackendError> {
        lock::force_release(&self.lock_path(), id, force)
    }

    /// The state directory (and `.stackc` above it), owner-only when this
    /// creates them: they hold secrets.
    fn create_dir(&self) -> Result<(), BackendError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&self.dir).map_err(BackendError::io("create the state directory", &self.dir))
    }

    /// Removes `state.json.backup` (after a destroy: it would keep the
    /// secrets of objects that no longer exist).
    pub fn remove_backup(&self) -> Result<(), BackendError> {
        match fs::remove_file(self.backup_path()) {
            Ok(()) => sync_dir(&self.dir),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => {
                Err(BackendError::Io { action: "remove the state backup", path: self.backup_path(), source })
            }
        }
    }

    /// Saves `state`: serial + 1, atomically (temp file, fsync, rename,
    /// fsync of the directory), keeping the previous file as
    /// `state.json.backup`, and removing any journal (the state written
    /// includes it). Refuses when `guard` is not this state's lock or the
    /// lock was lost, when the file on disk does not load, belongs to
    /// another lineage, or is newer than `state`. On error `state.serial`
    /// is unchanged.
    pub fn write(&self, guard: &LockGuard, state: &mut State) -> Result<(), BackendError> {
        if guard.path() != self.lock_path() || guard.is_remote_of(guard.path()) {
            return Err(BackendError::LockLost { path: self.lock_path(), id: guard.id().to_string() });
        }
        self.write_with_lock_id(guard.id(), state)
    }

    /// Starts the journal of an apply on `state` (the state as loaded, its
    /// leftovers replayed). A leftover journal is first compacted into the
    /// state file (a write, so `state.serial` may grow by one).
    pub fn begin_journal(&self, guard: &LockGuard, state: &mut State) -> Result<Journal, BackendError> {
        // The journal is compacted by a write at the end (and maybe one now):
        // refuse before anything is done rather than after, when it cannot be saved.
        if state.serial > u64::MAX - 2 {
            return Err(BackendError::Invalid {
                path: self.state_path(),
                problem: format!("its serial {} cannot grow any more", state.serial),
            });
        }
        self.check_plaintext_allowed()?;
        if self.journal_path().exists() {
            self.write(guard, state)?;
        } else {
            self.check_lock(guard.id())?;
        }
        Journal::create(self, guard.id(), state)
    }

    fn check_lock(&self, lock_id: &str) -> Result<(), BackendError> {
        let lost = || BackendError::LockLost { path: self.lock_path(), id: lock_id.to_string() };
        match lock::read(&self.lock_path()) {
            Ok(Some(held)) if held.id == lock_id => Ok(()),
            Ok(_) | Err(BackendError::UnreadableLock { .. }) => Err(lost()),
            Err(other) => Err(other),
        }
    }

    pub(super) fn write_with_lock_id(&self, lock_id: &str, state: &mut State) -> Result<(), BackendError> {
        self.store(lock_id, state, false)
    }

    /// Writes `state` as it is (serial kept) for `state migrate`: refuses
    /// when a state exists here unless `replace`.
    pub fn import_state(&self, guard: &LockGuard, state: &State, replace: bool) -> Result<(), BackendError> {
        if guard.path() != self.lock_path() {
            return Err(BackendError::LockLost { path: self.lock_path(), id: guard.id().to_string() });
        }
        if self.state_path().exists() && !replace {
            return Err(BackendError::DestinationNotEmpty {
                location: self.state_path().display().to_string(),
            });
        }
        let mut copy = state.clone();
        self.store(guard.id(), &mut copy, true)
    }

    /// Writes `state`: the next serial, after the checks of the file on
    /// disk; or (`import`) as it is, over whatever is there.
    fn store(&self, lock_id: &str, state: &mut State, import: bool) -> Result<(), BackendError> {
        self.check_lock(lock_id)?;
        let path = self.state_path();
        if import {
            self.check_plaintext_allowed()?;
        } else {
            self.check_on_disk(&path, state)?;
        }
        let serial = if import {
            state.serial
        } else {
            state.serial.checked_add(1).ok_or_else(|| BackendError::Invalid {
                path: path.clone(),
                problem: "the serial cannot grow any more".into(),
            })?
        };
        state.sort();
        let mut document = state.to_document();
        document.serial = serial;
        let mut bytes = serde_json::to_vec_pretty(&document).map_err(|e| BackendError::Invalid {
            path: path.clone(),
            problem: format!("the state cannot be serialized: {e}"),
        })?;
        bytes.push(b'\n');
        let bytes = self.seal(&path, "state", bytes)?;

        self.remove_stale_temp_files();
        let temp = self.temp_path()?;
        let written = write_synced(&temp, &bytes);
        if let Err(error) = written {
            let _ = fs::remove_file(&temp);
            return Err(error);
        }
        if path.exists() {
            if let Err(error) = self.keep_backup(&path) {
                let _ = fs::remove_file(&temp);
                return Err(error);
            }
        }
        if let Err(source) = fs::rename(&temp, &path) {
            let _ = fs::remove_file(&temp);
            return Err(BackendError::Io { action: "replace the state file", path, source });
        }
        sync_dir(&self.dir)?;
        state.serial = serial;
        match fs::remove_file(self.journal_path()) {
            Ok(()) => sync_dir(&self.dir),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(BackendError::Io {
                action: "remove the apply journal",
                path: self.journal_path(),
                source,
            }),
        }
    }

    /// The file on disk must load, be of the same lineage and not be newer.
    fn check_on_disk(&self, path: &Path, state: &State) -> Result<(), BackendError> {
        #[derive(Deserialize)]
        struct Header {
            version: u32,
            lineage: String,
            serial: u64,
        }
        let bytes = match files::read_regular(path, MAX_STATE_BYTES) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(BackendError::Io { action: "read the state file", path: path.into(), source })
            }
        };
        if seal::is_sealed(&bytes)
            && !self.seals()
            && !self.keyring.as_ref().is_some_and(|k| k.allows_plaintext())
        {
            return Err(BackendError::WouldWritePlaintext { path: path.to_path_buf() });
        }
        let bytes = self.unseal(path, "state", &bytes)?;
        let header: Header = serde_json::from_slice(&bytes).map_err(|e| self.corrupt(path, &e))?;
        if header.version > crate::state::FORMAT_VERSION {
            return Err(BackendError::Invalid {
                path: path.to_path_buf(),
                problem: format!(
                    "it has format version {}, newer than this stackc understands",
                    header.version
                ),
            });
        }
        if header.lineage != state.lineage {
            return Err(BackendError::LineageMismatch {
                path: path.to_path_buf(),
                expected: state.lineage.clone(),
                found: header.lineage,
            });
        }
        if header.serial > state.serial {
            return Err(BackendError::StaleState {
                path: path.to_path_buf(),
                loaded: state.serial,
                found: header.serial,
            });
        }
        Ok(())
    }

    /// The current file becomes the backup, atomically: a hard link (or a
    /// copy where links are not supported) renamed over the old backup.
    fn keep_backup(&self, path: &Path) -> Result<(), BackendError> {
        let backup = self.backup_path();
        let staging = self.dir.join(format!("{TEMP_PREFIX}backup{TEMP_SUFFIX}"));
        let _ = fs::remove_file(&staging);
        if fs::hard_link(path, &staging).is_err() {
            let bytes = fs::read(path).map_err(BackendError::io("read the state file", path))?;
            write_synced(&staging, &bytes)?;
        }
        // A state written by an older stackc may be readable by others.
        set_owner_only(&staging)?;
        fs::rename(&staging, &backup).map_err(BackendError::io("keep the previous state as", &backup))
    }

    fn temp_path(&self) -> Result<PathBuf, BackendError> {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).map_err(|e| BackendError::Random(e.to_string()))?;
        let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(self.dir.join(format!("{TEMP_PREFIX}{}-{suffix}{TEMP_SUFFIX}", std::process::id())))
    }

    /// Temp files left by a crash; safe to remove while holding the lock.
    fn remove_stale_temp_files(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// `stackc state unlock [DIR] ID [--target T]`.
pub(super) fn unlock_command(stack_dir: &Path, target: Option<&str>, id: &str) -> String {
    let mut command = "stackc state unlock".to_string();
    if stack_dir != Path::new(".") && stack_dir != Path::new("") {
        command.push_str(&format!(" {}", stack_dir.display()));
    }
    command.push_str(&format!(" {id}"));
    if let Some(target) = target {
        command.push_str(&format!(" --target {target}"));
    }
    command
}

pub(super) fn target_dir_name(target: Option<&str>) -> String {
    match target {
        None => DEFAULT_TARGET_DIR.to_string(),
        Some(target) => {
            let name: String = target
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
                .collect();
            if name.is_empty() {
                "_".to_string()
            } else {
                name
            }
        }
    }
}

pub(super) fn shown_target(target: Option<&str>) -> String {
    target.map_or_else(|| "(none)".to_string(), |t| format!("`{t}`"))
}

fn set_owner_only(path: &Path) -> Result<(), BackendError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(files::OWNER_ONLY))
            .map_err(BackendError::io("make owner-only", path))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BackendError> {
    let mut file = files::create_new(path, files::OWNER_ONLY)
        .map_err(BackendError::io("create the temporary state file", path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(BackendError::io("write the temporary state file", path))
}

/// Fsyncs a directory so a rename or a new file in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), BackendError> {
    files::sync_dir(dir).map_err(BackendError::io("sync the directory", dir))
}
