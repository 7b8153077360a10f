//! State backends: where the state of a stack and target lives, and how it
//! is kept safe from crashes and from two commands at once.
//!
//! One backend today, [`LocalBackend`]: a directory per stack and target,
//!
//! ```text
//! <stack dir>/.stackc/<target, or "default" without one>/
//!     state.json          the state document (planner::state::Document), pretty JSON
//!     state.json.backup   the previous version, kept by every write
//!     state.lock          present while a command that writes holds the lock (JSON LockInfo)
//!     state.journal       present during an apply: one JSON line per finished operation
//!     plan.key            the key that authenticates saved plans of this state (owner-only)
//!     .state.json.*.tmp   a write in progress (left behind only by a crash; ignored, then removed)
//! ```
//!
//! Invariants:
//! - Every file here is owner-only (0600, the directory 0700): they hold
//!   generated passwords and sensitive variables in plain text.
//! - A write is atomic: the new document goes to a temp file in the same
//!   directory, is fsynced, renamed over `state.json`, and the directory is
//!   fsynced. A crash at any instant leaves the old or the new state, whole.
//! - The serial on disk strictly increases; a write refuses a state whose
//!   lineage differs from the file's, or that is older than the file.
//! - A file that does not load (corrupt, truncated, newer version) is
//!   reported with its path, line and column and is never overwritten.
//! - An apply records each finished resource operation as one appended
//!   journal line (one `write`; fsynced at most every 50 ms by default, see
//!   [`JournalSync`]; no whole-state rewrite per resource); the next
//!   load replays the complete lines (a torn last line is ignored), so a
//!   kill -9 mid-apply loses nothing that finished.
//!
//! Typical use by a command that writes (apply):
//!
//! ```text
//! let backend = LocalBackend::new(stack_dir, target);
//! let guard = backend.lock("apply")?;                 // Locked {..} if held
//! let mut state = match backend.load()? { Some(s) => s, None => backend.new_state(stack)? };
//! let mut journal = backend.begin_journal(&guard, &mut state)?;
//! for each finished operation: entry.apply_to(&mut state); journal.record(&entry)?;
//! journal.commit(&mut state)?;                        // compacted state.json, journal removed
//! drop(guard);                                        // lock released
//! ```

mod journal;
mod local;
mod lock;
mod remote;
pub mod seal;

pub use journal::{Journal, JournalEntry, JournalSync};
pub use local::{
    Loaded, LocalBackend, BACKUP_FILE, DEFAULT_TARGET_DIR, JOURNAL_FILE, LOCK_FILE, PLAN_KEY_FILE, STATE_DIR,
    STATE_FILE,
};
pub use lock::{release as release_lock, LockGuard, LockInfo, LockReleaser};
pub use remote::{Condition, ObjectStore, RemoteBackend, StoreError, StoredObject};
pub use seal::{DataKeys, KeySpec, Keyring, SealError};

use std::path::PathBuf;

/// What can go wrong with a backend. Every message names the file and says
/// what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file is not valid JSON of the expected shape (or is truncated).
    #[error(
        "the state file `{}` cannot be read: line {line}, column {column}: {problem}. stackc left it untouched \
         and will not write over it. {}",
        path.display(),
        recovery_hint(path, backup)
    )]
    Corrupt { path: PathBuf, line: usize, column: usize, problem: String, backup: Option<PathBuf> },

    /// The file parses but cannot be used (a newer format, a duplicate address).
    #[error("the state file `{}` cannot be used: {problem}. stackc left it untouched.", path.display())]
    Invalid { path: PathBuf, problem: String },

    #[error(
        "the state is locked by {} (pid {}{}) for `{}` since {} (lock id {}, lock file `{}`). Wait for that \
         command to finish; if it no longer runs (it crashed or was killed), release the lock with \
         `{unlock_command}`.",
        held.holder,
        held.pid,
        if *holder_gone { ", no longer running" } else { "" },
        held.operation,
        held.time,
        held.id,
        path.display()
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// Who holds it (holder, pid, operation, time, id).
        held: Box<LockInfo>,
        /// True when the holder is a process of this host that no longer runs.
        holder_gone: bool,
        /// The command that releases it (`stackc state unlock ID`, with the
        /// stack directory and `--target` when needed).
        unlock_command: String,
    },

    /// A lock file exists but holds no readable lock (a process was killed
    /// while taking it).
    #[error(
        "the lock file `{}` exists but cannot be read ({problem}); a stackc command was probably killed while \
         taking it. If no stackc command runs on this stack, delete that file.",
        path.display()
    )]
    UnreadableLock { path: PathBuf, problem: String },

    /// `state unlock` of a lock whose holder still runs on this host.
    #[error(
        "the lock `{}` is held by {} (pid {}, for `{}` since {}), which is still running on this host; \
         releasing it would let another command write the state at the same time. Wait for it to finish, or \
         stop it; if you are sure, pass --force.",
        path.display(),
        held.holder,
        held.pid,
        held.operation,
        held.time
    )]
    HolderRunning { path: PathBuf, held: Box<LockInfo> },

    #[error("the state in `{}` is not locked; there is nothing to unlock", path.display())]
    NotLocked { path: PathBuf },

    #[error("lock id `{given}` does not match the lock held: `{held}` ({holder} for `{operation}`); nothing was released")]
    WrongLockId { given: String, held: String, holder: String, operation: String },

    /// This command's lock was released (`stackc state unlock`) or taken by
    /// another command while it ran: writing now could overwrite their work.
    #[error(
        "this command no longer holds the lock `{}` (lock id {id}): it was released or taken by another \
         command; the state was not written",
        path.display()
    )]
    LockLost { path: PathBuf, id: String },

    #[error(
        "the state file `{}` belongs to another state (lineage {found}, expected {expected}); it was not \
         overwritten",
        path.display()
    )]
    LineageMismatch { path: PathBuf, expected: String, found: String },

    #[error(
        "the state file `{}` was written by another command meanwhile (serial {found}, this command loaded \
         serial {loaded}); it was not overwritten: run the command again",
        path.display()
    )]
    StaleState { path: PathBuf, loaded: u64, found: u64 },

    #[error(
        "the apply journal `{}` cannot be replayed: {problem}. The state file was left untouched; to discard the \
         journal (and the operations it records), delete it.",
        path.display()
    )]
    Journal { path: PathBuf, problem: String },

    /// An apply journal appeared between the compaction of a leftover one
    /// and the start of this apply's: another command is applying.
    #[error(
        "another command started an apply journal `{}` on this state meanwhile (was its lock force-released \
         while it ran?); it was left untouched and nothing was applied",
        path.display()
    )]
    JournalInUse { path: PathBuf },

    #[error("the system random generator failed: {0}")]
    Random(String),

    /// An encrypted file that cannot be opened (no key, a wrong key, an
    /// altered file), or a seal that failed.
    #[error("`{}` cannot be used: {problem}", path.display())]
    Sealed { path: PathBuf, problem: seal::SealError },

    /// Plain text would be written where the state is encrypted.
    #[error(
        "the state `{}` is encrypted and no key to encrypt it is configured: stackc will not write it, or \
         anything of it, in plain text. Set {} (or {}); to stop encrypting it on purpose, set {}=1.",
        path.display(),
        seal::ENV_PASSPHRASE,
        seal::ENV_KMS_KEY,
        seal::ENV_ALLOW_PLAINTEXT
    )]
    WouldWritePlaintext { path: PathBuf },

    /// A request to a remote backend failed.
    #[error("cannot {action} `{url}`: {problem}")]
    Remote { action: &'static str, url: String, problem: String },

    /// The remote state was written by someone else since this command
    /// read it (its ETag changed).
    #[error(
        "the state `{url}` was changed by another writer since this command read it (its ETag no longer \
         matches), so it was not overwritten{}. Look at what changed (`stackc state list`), then run the command \
         again.",
        match kept {
            Some(kept) => format!("; nothing is lost: the state this command would have written is kept in `{kept}`"),
            None => String::new(),
        }
    )]
    ChangedBehind { url: String, kept: Option<String> },

    /// `state migrate` to a backend that already holds a state.
    #[error(
        "`{location}` already holds a state; it was left as it is. To replace it with this one, pass \
         --force-replace"
    )]
    DestinationNotEmpty { location: String },
}

/// Where the state of a stack and target lives: the local directory, or a
/// remote object store (S3). One type for the commands, which do not care
/// which; an enum rather than a trait object because there are two, both
/// known here, and the journal and the lock guard must dispatch on them
/// too.
#[derive(Clone, Debug)]
pub enum Backend {
    Local(LocalBackend),
    Remote(RemoteBackend),
}

macro_rules! each {
    ($self:ident, $backend:ident => $body:expr) => {
        match $self {
            Backend::Local($backend) => $body,
            Backend::Remote($backend) => $body,
        }
    };
}

impl Backend {
    pub fn stack_dir(&self) -> &std::path::Path {
        each!(self, b => b.stack_dir())
    }

    pub fn target(&self) -> Option<&str> {
        each!(self, b => b.target())
    }

    pub fn keyring(&self) -> Option<&std::sync::Arc<Keyring>> {
        each!(self, b => b.keyring())
    }

    pub fn new_state(&self, stack: &str) -> Result<crate::state::State, BackendError> {
        each!(self, b => b.new_state(stack))
    }

    pub fn load(&self) -> Result<Option<crate::state::State>, BackendError> {
        Ok(self.load_detailed()?.map(|loaded| loaded.state))
    }

    pub fn load_detailed(&self) -> Result<Option<Loaded>, BackendError> {
        each!(self, b => b.load_detailed())
    }

    pub fn lock(&self, operation: &str) -> Result<LockGuard, BackendError> {
        each!(self, b => b.lock(operation))
    }

    pub fn lock_info(&self) -> Result<Option<LockInfo>, BackendError> {
        each!(self, b => b.lock_info())
    }

    pub fn force_unlock(&self, id: &str, force: bool) -> Result<LockInfo, BackendError> {
        each!(self, b => b.force_unlock(id, force))
    }

    pub fn write(&self, guard: &LockGuard, state: &mut crate::state::State) -> Result<(), BackendError> {
        each!(self, b => b.write(guard, state))
    }

    pub fn begin_journal(
        &self,
        guard: &LockGuard,
        state: &mut crate::state::State,
    ) -> Result<Journal, BackendError> {
        each!(self, b => b.begin_journal(guard, state))
    }

    pub fn remove_backup(&self) -> Result<(), BackendError> {
        each!(self, b => b.remove_backup())
    }

    pub fn check_plaintext_allowed(&self) -> Result<(), BackendError> {
        each!(self, b => b.check_plaintext_allowed())
    }

    /// Writes `state` as it is into this (empty, unless `replace`) backend.
    pub fn import_state(
        &self,
        guard: &LockGuard,
        state: &crate::state::State,
        replace: bool,
    ) -> Result<(), BackendError> {
        each!(self, b => b.import_state(guard, state, replace))
    }

    /// The key of saved plans: in the local state directory for both
    /// (a saved plan is a local file).
    pub fn plan_key(&self, create: bool) -> Result<Vec<u8>, BackendError> {
        match self {
            Backend::Local(local) => local.plan_key(create),
            Backend::Remote(remote) => {
                LocalBackend::new(remote.stack_dir(), remote.target()).plan_key(create)
            }
        }
    }

    /// Refuses a state naming another stack.
    pub fn check_stack(&self, state: &crate::state::State, stack: &str) -> Result<(), BackendError> {
        match self {
            Backend::Local(local) => local.check_stack(state, stack),
            Backend::Remote(remote) => LocalBackend::new(remote.stack_dir(), remote.target())
                .check_stack(state, stack)
                .map_err(|error| match error {
                    BackendError::Invalid { problem, .. } => {
                        BackendError::Invalid { path: PathBuf::from(remote.state_url()), problem }
                    }
                    other => other,
                }),
        }
    }

    /// What to say about `recovered` journal entries (see
    /// [`LocalBackend::journal_note`]); `journal` is how to name the journal.
    pub fn journal_note(&self, recovered: usize, journal: &str) -> Option<String> {
        match self {
            Backend::Local(local) => local.journal_note(recovered, journal),
            Backend::Remote(remote) => journal_note(recovered, journal, remote.lock_info().ok().flatten()),
        }
    }
}

/// The note for `recovered` journal entries, given the lock held now.
pub(crate) fn journal_note(recovered: usize, journal: &str, held: Option<LockInfo>) -> Option<String> {
    if recovered == 0 {
        return None;
    }
    let running = held.filter(|held| held.pid != std::process::id() && !held.holder_gone());
    Some(match running {
        Some(held) => format!(
            "`{}` is running (lock held by {}, pid {}, since {}): this includes the {recovered} operations it has \
             finished so far (from `{journal}`)",
            held.operation, held.holder, held.pid, held.time,
        ),
        None => format!(
            "{recovered} operations of an interrupted apply were recovered from `{journal}`; they are part of the \
             state from now on"
        ),
    })
}

fn recovery_hint(path: &std::path::Path, backup: &Option<PathBuf>) -> String {
    match backup {
        Some(backup) => format!(
            "Fix it by hand, or restore the previous version: copy `{}` over `{}`.",
            backup.display(),
            path.display()
        ),
        None => "Fix it by hand, or move it away to start from an empty state (stackc then forgets every resource \
                 it created)."
            .to_string(),
    }
}

impl BackendError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> BackendError {
        let path = path.into();
        move |source| BackendError::Io { action, path, source }
    }
}

#[cfg(test)]
mod tests;
