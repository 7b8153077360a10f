//! The apply journal: progress saved as each resource finishes, without
//! rewriting the whole state per resource.
//!
//! A file of JSON lines next to `state.json`: a header naming the state it
//! extends (lineage, serial), then one line per finished operation, each
//! appended with a single `write` and fsynced per [`JournalSync`] (by
//! default at most every 50 ms). A kill -9 therefore loses at most the line
//! being written, which the replay on load ignores. The
//! journal is compacted into `state.json` by [`Journal::commit`] (or by any
//! later write of the state) and then removed.

use super::local::{sync_dir, LocalBackend};
use super::remote::RemoteBackend;
use super::seal::{Keyring, SealError};
use super::BackendError;
use crate::state::{CreateIntent, DocumentOutput, DocumentResource, OutputState, ResourceState, State};
use serde::{Deserialize, Serialize};
use stackc_model::graph::ResourceAddress;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The journal format version written by this build.
pub const JOURNAL_VERSION: u32 = 1;

/// One finished operation, or a create about to be sent.
#[derive(Clone, Debug, PartialEq)]
pub enum JournalEntry {
    /// A create about to be sent (recorded before the request): its
    /// address, token and configuration. Closed by a `Put` of the address
    /// or by [`JournalEntry::Resolved`].
    Intent(ResourceAddress, CreateIntent),
    /// An intent of an earlier apply resolved: the next plan looked for its
    /// object (and adopted it with a `Put` if it existed).
    Resolved(ResourceAddress),
    /// Created, updated, imported or refreshed: the resource as it now is.
    Put(ResourceAddress, ResourceState),
    /// Deleted (or forgotten).
    Remove(ResourceAddress),
    /// An output's new value.
    Output(String, OutputState),
    RemoveOutput(String),
}

impl JournalEntry {
    /// Applies the entry to an in-memory state (what replay does).
    pub fn apply_to(&self, state: &mut State) {
        match self {
            JournalEntry::Intent(address, intent) => {
                state.intents.insert(address.clone(), intent.clone());
            }
            JournalEntry::Resolved(address) => {
                state.intents.shift_remove(address);
            }
            JournalEntry::Put(address, resource) => {
                state.intents.shift_remove(address);
                state.resources.insert(address.clone(), resource.clone());
            }
            JournalEntry::Remove(address) => {
                state.resources.shift_remove(address);
            }
            JournalEntry::Output(name, output) => {
                state.outputs.insert(name.clone(), output.clone());
            }
            JournalEntry::RemoveOutput(name) => {
                state.outputs.shift_remove(name);
            }
        }
    }

    fn to_line(&self) -> JournalLine {
        match self {
            JournalEntry::Intent(address, intent) => JournalLine::Intent(intent.to_document(address)),
            JournalEntry::Resolved(address) => JournalLine::Resolved(address.0.clone()),
            JournalEntry::Put(address, resource) => JournalLine::Put(resource.to_document(address)),
            JournalEntry::Remove(address) => JournalLine::Remove(address.0.clone()),
            JournalEntry::Output(name, output) => {
                JournalLine::Output { name: name.clone(), output: output.to_document() }
            }
            JournalEntry::RemoveOutput(name) => JournalLine::RemoveOutput(name.clone()),
        }
    }

    fn from_line(line: JournalLine) -> JournalEntry {
        match line {
            JournalLine::Intent(document) => {
                let (address, intent) = CreateIntent::from_document(document);
                JournalEntry::Intent(address, intent)
            }
            JournalLine::Resolved(address) => JournalEntry::Resolved(ResourceAddress(address)),
            JournalLine::Put(document) => {
                let (address, resource) = ResourceState::from_document(document);
                JournalEntry::Put(address, resource)
            }
            JournalLine::Remove(address) => JournalEntry::Remove(ResourceAddress(address)),
            JournalLine::Output { name, output } => {
                JournalEntry::Output(name, OutputState::from_document(output))
            }
            JournalLine::RemoveOutput(name) => JournalEntry::RemoveOutput(name),
        }
    }
}

/// The on-disk form of an entry: `{"intent": {...}}` (a resource document
/// whose `id` is the create's token and `attributes` its configuration),
/// `{"resolved": "addr"}`, `{"put": {...}}`, `{"remove": "addr"}`,
/// `{"output": {"name": ..., "output": {...}}}`, `{"remove_output": "name"}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum JournalLine {
    Intent(DocumentResource),
    Resolved(String),
    Put(DocumentResource),
    Remove(String),
    Output { name: String, output: DocumentOutput },
    RemoveOutput(String),
}

/// The first line: which state the entries extend.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct JournalHeader {
    pub journal: u32,
    pub lineage: String,
    pub serial: u64,
    pub stack: String,
    #[serde(default)]
    pub target: Option<String>,
}

/// When to fsync the journal. Every record is one `write` call either way,
/// so a killed process (kill -9, a panic, Ctrl-C) never loses a recorded
/// operation: the data is in the OS's page cache. The fsync only guards
/// against an OS crash or a power cut, and costs 0.2 to 3 ms on an ordinary
/// disk, so per record it would dominate a large apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalSync {
    /// After every record: nothing recorded is lost even to a power cut.
    EveryRecord,
    /// At most once per interval, on the first record after it has passed,
    /// and at commit. An OS crash may lose the records of the last interval.
    Interval(Duration),
}

impl Default for JournalSync {
    /// `Interval(50 ms)`: at most 20 fsyncs a second, whatever the apply's size.
    fn default() -> Self {
        JournalSync::Interval(Duration::from_millis(50))
    }
}

/// An open journal for one apply. Owns its file and a copy of the backend
/// (it can move into a task); records need `&mut`.
#[derive(Debug)]
pub struct Journal {
    sink: Sink,
    lock_id: String,
    path: PathBuf,
    recorded: usize,
    sync: JournalSync,
    last_sync: Instant,
    unsynced: bool,
}

impl Journal {
    pub(super) fn create(
        backend: &LocalBackend,
        lock_id: &str,
        state: &State,
    ) -> Result<Journal, BackendError> {
        let path = backend.journal_path();
        let header = JournalHeader {
            journal: JOURNAL_VERSION,
            lineage: state.lineage.clone(),
            serial: state.serial,
            stack: state.stack.clone(),
            target: state.target.clone(),
        };
        let mut line = serde_json::to_vec(&header).map_err(|e| journal_error(&path, e.to_string()))?;
        line.push(b'\n');
        let line = backend.seal(&path, &line_purpose(0), line)?;
        // Never over an existing journal: `begin_journal` compacts a
        // leftover one first, so one here belongs to a command that still
        // runs (its lock was force-released); truncating it would lose what
        // that command recorded. Owner-only: it can hold secrets.
        let mut options = OpenOptions::new();
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, crate::files::OWNER_ONLY);
        let mut file = match options.write(true).create_new(true).open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(BackendError::JournalInUse { path })
            }
            Err(source) => return Err(BackendError::Io { action: "create the apply journal", path, source }),
        };
        file.write_all(&line)
            .and_then(|()| file.sync_all())
            .map_err(BackendError::io("write the apply journal", &path))?;
        sync_dir(backend.dir())?;
        Ok(Journal {
            sink: Sink::File { backend: backend.clone(), file },
            lock_id: lock_id.to_string(),
            path,
            recorded: 0,
            sync: JournalSync::default(),
            last_sync: Instant::now(),
            unsynced: false,
        })
    }

    /// Appends one finished operation (one `write`, then fsync per policy).
    pub fn record(&mut self, entry: &JournalEntry) -> Result<(), BackendError> {
        self.record_all(std::slice::from_ref(entry))
    }

    /// Appends several operations with one `write` and at most one fsync
    /// (for results that arrived together).
    pub fn record_all(&mut self, entries: &[JournalEntry]) -> Result<(), BackendError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(256 * entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let mut line =
                serde_json::to_vec(&entry.to_line()).map_err(|e| journal_error(&self.path, e.to_string()))?;
            line.push(b'\n');
            // Line 0 is the header.
            let purpose = line_purpose(self.recorded + index + 1);
            bytes.extend(super::seal::seal(self.sink.keyring(), &self.path, &purpose, line)?);
        }
        match &mut self.sink {
            Sink::File { file, .. } => {
                file.write_all(&bytes).map_err(BackendError::io("append to the apply journal", &self.path))?
            }
            // One object per call: it is durable once the PUT is answered.
            Sink::Remote { backend, serial, objects } => {
                backend.put_journal_record(*serial, *objects, &bytes)?;
                *objects += 1;
                self.recorded += entries.len();
                return Ok(());
            }
        }
        self.recorded += entries.len();
        self.unsynced = true;
        let due = match self.sync {
            JournalSync::EveryRecord => true,
            JournalSync::Interval(interval) => self.last_sync.elapsed() >= interval,
        };
        if due {
            self.sync()?;
        }
        Ok(())
    }

    /// Fsyncs what was recorded.
    pub fn sync(&mut self) -> Result<(), BackendError> {
        if let (true, Sink::File { file, .. }) = (self.unsynced, &self.sink) {
            file.sync_data().map_err(BackendError::io("sync the apply journal", &self.path))?;
            self.unsynced = false;
            self.last_sync = Instant::now();
        }
        Ok(())
    }

    pub fn set_sync(&mut self, sync: JournalSync) {
        self.sync = sync;
    }

    /// Entries recorded so far.
    pub fn len(&self) -> usize {
        self.recorded
    }

    pub fn is_empty(&self) -> bool {
        self.recorded == 0
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `state` (which must include every recorded entry) as the new
    /// `state.json` (serial + 1, atomic, backup) and removes the journal.
    pub fn commit(mut self, state: &mut State) -> Result<(), BackendError> {
        self.sync()?;
        match &self.sink {
            Sink::File { backend, .. } => backend.write_with_lock_id(&self.lock_id, state),
            Sink::Remote { backend, .. } => backend.write_with_lock_id(&self.lock_id, state),
        }
    }

    /// The journal of an apply on a remote state: object 0 is the header,
    /// created only if absent (a journal is never written over another).
    pub(super) fn create_remote(
        backend: &RemoteBackend,
        lock_id: &str,
        state: &State,
    ) -> Result<Journal, BackendError> {
        let path = PathBuf::from(backend.journal_url());
        let mut line = serde_json::to_vec(&JournalHeader {
            journal: JOURNAL_VERSION,
            lineage: state.lineage.clone(),
            serial: state.serial,
            stack: state.stack.clone(),
            target: state.target.clone(),
        })
        .map_err(|e| journal_error(&path, e.to_string()))?;
        line.push(b'\n');
        let line = super::seal::seal(backend.keyring().map(|k| &**k), &path, &line_purpose(0), line)?;
        backend.put_journal_record(state.serial, 0, &line)?;
        Ok(Journal {
            sink: Sink::Remote { backend: backend.clone(), serial: state.serial, objects: 1 },
            lock_id: lock_id.to_string(),
            path,
            recorded: 0,
            sync: JournalSync::default(),
            last_sync: Instant::now(),
            unsynced: false,
        })
    }
}

#[cfg(test)]
impl Journal {
    pub(super) fn create_remote_for_test(
        backend: &RemoteBackend,
        lock_id: &str,
        state: &State,
    ) -> Result<Journal, BackendError> {
        Journal::create_remote(backend, lock_id, state)
    }
}

/// Where the records go.
#[derive(Debug)]
enum Sink {
    /// Appended to `state.journal`.
    File { backend: LocalBackend, file: File },
    /// One object per record call, numbered after the header (object 0).
    Remote { backend: RemoteBackend, serial: u64, objects: usize },
}

impl Sink {
    fn keyring(&self) -> Option<&Keyring> {
        match self {
            Sink::File { backend, .. } => backend.keyring().map(|k| &**k),
            Sink::Remote { backend, .. } => backend.keyring().map(|k| &**k),
        }
    }
}

/// What a sealed journal line is bound to: its place in the journal, so
/// lines cannot be reordered or moved into the state.
fn line_purpose(index: usize) -> String {
    format!("journal/{index}")
}

fn journal_error(path: &Path, problem: String) -> BackendError {
    BackendError::Journal { path: path.to_path_buf(), problem }
}

/// Replays the journal's text onto `state` (or onto a new state from its
/// header when there is no state file). Returns the state and the number of
/// entries replayed; `None` when the journal does not apply (it is stale:
/// the state file already includes it, or its header is torn).
pub(super) fn replay(
    keyring: Option<&Keyring>,
    path: &Path,
    text: &[u8],
    state: Option<State>,
) -> Result<(Option<State>, usize), BackendError> {
    // A crash may leave zero bytes after the last write on some filesystems.
    let end = text.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let raw: Vec<&[u8]> = text[..end].split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    // A sealed journal: each line is an envelope bound to its place. A
    // torn last line (killed mid-write) does not open and is ignored, as
    // a torn plain line is; any other line that does not open is an error.
    let mut opened: Vec<Vec<u8>> = Vec::with_capacity(raw.len());
    for (index, line) in raw.iter().enumerate() {
        match super::seal::unseal(keyring, path, &line_purpose(index), line) {
            Ok(plain) => opened.push(plain.into_owned()),
            Err(BackendError::Sealed { problem: SealError::Malformed(_), .. }) if index + 1 == raw.len() => {
                break
            }
            Err(error) => return Err(error),
        }
    }
    let lines: Vec<&[u8]> = opened.iter().map(Vec::as_slice).collect();
    let Some((first, entries)) = lines.split_first() else {
        return Ok((state, 0));
    };
    let header: JournalHeader = match serde_json::from_slice(first) {
        Ok(header) => header,
        // Only the header could be torn: killed while the journal was begun.
        Err(_) if entries.is_empty() => return Ok((state, 0)),
        Err(e) => return Err(journal_error(path, format!("its first line is not a journal header ({e})"))),
    };
    if header.journal > JOURNAL_VERSION {
        return Err(journal_error(
            path,
            format!("journal version {} is newer than this stackc", header.journal),
        ));
    }
    let mut state = match state {
        None => State::new(header.stack.clone(), header.target.clone(), header.lineage.clone()),
        Some(state) if state.lineage != header.lineage => {
            return Err(journal_error(
                path,
                format!(
                    "it extends state lineage {}, but the state file has lineage {}",
                    header.lineage, state.lineage
                ),
            ))
        }
        // The state was written after the journal began: it includes it.
        Some(state) if state.serial > header.serial => return Ok((Some(state), 0)),
        Some(state) if state.serial < header.serial => {
            return Err(journal_error(
                path,
                format!(
                    "it extends serial {}, but the state file has the older serial {} (was an older state \
                     restored?)",
                    header.serial, state.serial
                ),
            ))
        }
        Some(state) => state,
    };
    state.serial = header.serial;
    let mut replayed = 0;
    for (index, line) in entries.iter().enumerate() {
        match serde_json::from_slice::<JournalLine>(line) {
            Ok(line) => {
                JournalEntry::from_line(line).apply_to(&mut state);
                replayed += 1;
            }
            // The last line may be torn by a kill mid-write.
            Err(_) if index + 1 == entries.len() => break,
            Err(e) => {
                return Err(journal_error(path, format!("line {} is not a journal entry ({e})", index + 2)))
            }
        }
    }
    state.sort();
    Ok((Some(state), replayed))
}
