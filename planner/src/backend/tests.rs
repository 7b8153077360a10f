use super::*;
use crate::state::{OutputState, ResourceState, State};
use stackc_model::graph::ResourceAddress;
use stackc_model::Value;
use std::fs;

fn resource(id: &str, secret: &str) -> ResourceState {
    ResourceState {
        type_name: "random_password".into(),
        target: None,
        id: id.into(),
        attributes: Value::Object(stackc_model::Fields::from_iter([
            ("id".to_string(), Value::string(id)),
            ("result".to_string(), Value::string(secret).into_sensitive()),
        ])),
        dependencies: vec![],
        tainted: false,
    }
}

fn address(name: &str) -> ResourceAddress {
    ResourceAddress(name.into())
}

fn setup() -> (tempfile::TempDir, LocalBackend) {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path(), Some("aws"));
    (dir, backend)
}

/// A state written once (serial 1) with one resource.
fn written(backend: &LocalBackend) -> State {
    let mut state = backend.new_state("shop").unwrap();
    state.resources.insert(address("random_password.db"), resource("p1", "hunter2"));
    let guard = backend.lock("test").unwrap();
    backend.write(&guard, &mut state).unwrap();
    state
}

#[test]
fn layout_on_disk() {
    let (dir, backend) = setup();
    assert_eq!(backend.state_path(), dir.path().join(".stackc/aws/state.json"));
    assert_eq!(LocalBackend::new(dir.path(), None).dir(), dir.path().join(".stackc/default"));
    assert_eq!(LocalBackend::new(dir.path(), Some("../x")).dir(), dir.path().join(".stackc/___x"));
    assert_eq!(backend.unlock_command("ab12").split(" --target").nth(1), Some(" aws"));
}

#[test]
fn missing_state_is_none() {
    let (_dir, backend) = setup();
    assert_eq!(backend.load().unwrap(), None);
    assert!(LocalBackend::targets_present(backend.stack_dir()).unwrap().is_empty());
}

#[test]
fn round_trip_keeps_everything() {
    let (dir, backend) = setup();
    let mut state = written(&backend);
    state
        .outputs
        .insert("pw".into(), OutputState { value: Value::string("x").into_sensitive(), sensitive: true });
    let guard = backend.lock("test").unwrap();
    backend.write(&guard, &mut state).unwrap();
    let loaded = backend.load().unwrap().unwrap();
    assert_eq!(loaded, state);
    assert_eq!(loaded.serial, 2);
    assert_eq!(loaded.lineage.len(), 36);
    assert_eq!(LocalBackend::targets_present(dir.path()).unwrap(), vec![Some("aws".to_string())]);
}

#[test]
fn serial_increases_and_backup_keeps_the_previous_version() {
    let (_dir, backend) = setup();
    let mut state = written(&backend);
    assert_eq!(state.serial, 1);
    assert!(!backend.backup_path().exists(), "nothing to back up on the first write");
    let first = fs::read(backend.state_path()).unwrap();
    state.resources.insert(address("random_password.b"), resource("p2", "x"));
    let guard = backend.lock("test").unwrap();
    backend.write(&guard, &mut state).unwrap();
    assert_eq!(state.serial, 2);
    assert_eq!(fs::read(backend.backup_path()).unwrap(), first);
    backend.write(&guard, &mut state).unwrap();
    assert_eq!(state.serial, 3);
    assert_eq!(backend.load().unwrap().unwrap().serial, 3);
}

#[test]
fn a_crash_before_the_rename_leaves_the_old_state() {
    let (_dir, backend) = setup();
    let mut state = written(&backend);
    let before = fs::read(backend.state_path()).unwrap();
    // A killed write: its temp file, half written, never renamed.
    let temp = backend.dir().join(".state.json.4242-deadbeef.tmp");
    fs::write(&temp, &before[..before.len() / 2]).unwrap();
    assert_eq!(backend.load().unwrap().unwrap(), state);
    assert_eq!(fs::read(backend.state_path()).unwrap(), before);
    // The next write succeeds and clears the leftover.
    let guard = backend.lock("test").unwrap();
    backend.write(&guard, &mut state).unwrap();
    assert!(!temp.exists());
    let names: Vec<String> = fs::read_dir(backend.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn corrupt_state_is_reported_and_never_overwritten() {
    let (_dir, backend) = setup();
    let mut state = written(&backend);
    let path = backend.state_path();
    let garbage = b"{\n  \"version\": 1,\n  \"lineage\": oops\n}\n".to_vec();
    fs::write(&path, &garbage).unwrap();
    let error = backend.load().unwrap_err();
    let BackendError::Corrupt { line, column, .. } = &error else { panic!("{error:?}") };
    assert_eq!((*line, *column), (3, 14));
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("line 3, column 14"), "{message}");
    assert!(message.contains("will not write over it"), "{message}");
    // A write (by a command that did not load, say) refuses too.
    let guard = backend.lock("test").unwrap();
    assert!(matches!(backend.write(&guard, &mut state), Err(BackendError::Corrupt { .. })));
    assert_eq!(fs::read(&path).unwrap(), garbage);
    assert_eq!(state.serial, 1, "a failed write leaves the serial alone");
}

#[test]
fn truncated_state_is_reported() {
    let (_dir, backend) = setup();
    let mut state = written(&backend);
    let guard = backend.lock("test").unwrap();
    backend.write(&guard, &mut state).unwrap();
    let path = backend.state_path();
    let full = fs::read(&path).unwrap();
    fs::write(&path, &full[..full.len() / 2]).unwrap();
    let message = backend.load().unwrap_err().to_string();
    assert!(message.contains("truncated"), "{message}");
    assert!(message.contains("state.json.backup"), "the backup is offered: {message}");
    assert!(backend.write(&guard, &mut state).is_err());
    assert_eq!(fs::read(&path).unwrap(), &full[..full.len() / 2]);
    // An empty file too.
    fs::write(&path, b"").unwrap();
    assert!(backend.load().unwrap_err().to_string().contains("truncated"));
}

#[test]
fn newer_format_is_refused_untouched() {
    let (_dir, backend) = setup();
    let mut state = written(&backend);
    let path = backend.state_path();
    let version = format!("\"version\": {}", crate::state::FORMAT_VERSION);
    let text = fs::read_to_string(&path).unwrap().replace(&version, "\"version\": 99");
    fs::write(&path, &text).unwrap();
    let message = backend.load().unwrap_err().to_string();
    assert!(message.contains("newer"), "{message}");
    let guard = backend.lock("test").unwrap();
    assert!(backend.write(&guard, &mut state).is_err());
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn held_lock_names_its_holder_and_the_unlock_command() {
    let (_dir, backend) = setup();
    let guard = backend.lock("apply").unwrap();
    let error = backend.lock("state rm").unwrap_err();
    let BackendError::Locked { held, .. } = &error else { panic!("{error:?}") };
    let LockInfo { holder, operation, id, pid, time } = &**held;
    assert_eq!(operation, "apply");
    assert_eq!(id, guard.id());
    assert_eq!(*pid, std::process::id());
    assert!(holder.contains('@') && time.ends_with('Z'), "{holder} {time}");
    let message = error.to_string();
    let dir = backend.stack_dir().display();
    assert!(message.contains(&format!("`stackc state unlock {dir} {id} --target aws`")), "{message}");
    assert!(message.contains("--target aws`"), "{message}");
    assert!(message.contains("for `apply`"), "{message}");
    drop(guard);
    assert!(!backend.lock_path().exists(), "the guard releases on drop");
    backend.lock("again").unwrap().release().unwrap();
}

#[test]
fn force_unlock_needs_the_right_id() {
    let (_dir, backend) = setup();
    assert!(matches!(backend.force_unlock("nope", false), Err(BackendError::NotLocked { .. })));
    let guard = backend.lock("apply").unwrap();
    let error = backend.force_unlock("0000", false).unwrap_err();
    assert!(matches!(error, BackendError::WrongLockId { .. }), "{error:?}");
    assert!(backend.lock_path().exists());
    let released = backend.force_unlock(guard.id(), false).unwrap();
    assert_eq!(released.operation, "apply");
    // The old holder cannot write any more, and its drop leaves the new lock.
    let mut state = backend.new_state("shop").unwrap();
    assert!(matches!(backend.write(&guard, &mut state), Err(BackendError::LockLost { .. })));
    let newer = backend.lock("plan").unwrap();
    drop(guard);
    assert_eq!(backend.lock_info().unwrap().unwrap().id, newer.id());
}

#[test]
fn lock_of_a_dead_process_on_this_host_says_so() {
    let (_dir, backend) = setup();
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    dead.wait().unwrap();
    let mut info = backend.lock("apply").unwrap().info().clone();
    info.pid = dead.id();
    // Releasing that lock removed the then empty state directory.
    fs::create_dir_all(backend.dir()).unwrap();
    fs::write(backend.lock_path(), serde_json::to_string(&info).unwrap()).unwrap();
    let message = backend.lock("apply").unwrap_err().to_string();
    assert!(message.contains("no longer running"), "{message}");
    backend.force_unlock(&info.id, false).unwrap();
}

#[test]
fn releasing_the_only_lock_leaves_no_empty_directories() {
    let (dir, backend) = setup();
    backend.lock("plan").unwrap().release().unwrap();
    assert!(!backend.dir().exists() && !dir.path().join(".stackc").exists());
    // With a state, the directory stays; and a released lock's directory
    // is made again by the next lock.
    let _state = written(&backend);
    backend.lock("plan").unwrap().release().unwrap();
    assert!(backend.state_path().exists());
}

#[test]
fn unreadable_lock_file_is_explained() {
    let (_dir, backend) = setup();
    fs::create_dir_all(backend.dir()).unwrap();
    fs::write(backend.lock_path(), b"").unwrap();
    let message = backend.lock("apply").unwrap_err().to_string();
    assert!(message.contains("delete that file"), "{message}");
}

#[test]
fn write_refuses_another_lineage_and_an_older_state() {
    let (_dir, backend) = setup();
    let state = written(&backend);
    let guard = backend.lock("test").unwrap();
    let mut other = backend.new_state("shop").unwrap();
    other.serial = 5;
    assert!(matches!(backend.write(&guard, &mut other), Err(BackendError::LineageMismatch { .. })));
    let (mut first, mut second) = (state.clone(), state);
    backend.write(&guard, &mut first).unwrap();
    let error = backend.write(&guard, &mut second).unwrap_err();
    assert!(matches!(error, BackendError::StaleState { loaded: 1, found: 2, .. }), "{error:?}");
}

fn journal_with_entries(backend: &LocalBackend) -> (State, Vec<JournalEntry>) {
    let mut state = written(backend);
    let guard = backend.lock("apply").unwrap();
    let mut journal = backend.begin_journal(&guard, &mut state).unwrap();
    journal.set_sync(JournalSync::EveryRecord);
    let entries = vec![
        JournalEntry::Put(address("random_password.b"), resource("p2", "s2")),
        JournalEntry::Put(address("random_password.a"), resource("p3", "s3")),
        JournalEntry::Remove(address("random_password.db")),
        JournalEntry::Output(
            "pw".into(),
            OutputState { value: Value::string("s2").into_sensitive(), sensitive: true },
        ),
    ];
    for entry in &entries {
        entry.apply_to(&mut state);
        journal.record(entry).unwrap();
    }
    assert_eq!(journal.len(), 4);
    // Killed: neither commit nor unlock.
    std::mem::forget(guard);
    drop(journal);
    state.sort();
    (state, entries)
}

#[test]
fn journal_is_replayed_on_load() {
    let (_dir, backend) = setup();
    let (expected, _) = journal_with_entries(&backend);
    let loaded = backend.load_detailed().unwrap().unwrap();
    assert_eq!(loaded.recovered, 4);
    assert_eq!(loaded.state, expected);
    assert_eq!(loaded.state.serial, 1, "the replayed state is not written yet");
    // The stale lock is released by id; the next write compacts.
    let id = backend.lock_info().unwrap().unwrap().id;
    backend.force_unlock(&id, false).unwrap();
    let guard = backend.lock("state rm").unwrap();
    let mut state = loaded.state;
    backend.write(&guard, &mut state).unwrap();
    assert!(!backend.journal_path().exists());
    let again = backend.load_detailed().unwrap().unwrap();
    assert_eq!((again.recovered, again.state.serial), (0, 2));
    assert_eq!(again.state.resources, expected.resources);
}

#[test]
fn torn_last_journal_line_is_ignored() {
    let (_dir, backend) = setup();
    let (expected, _) = journal_with_entries(&backend);
    let text = fs::read(backend.journal_path()).unwrap();
    for torn in
        [&b"{\"put\":{\"address\":\"random_pass"[..], b"{\"remove\":\"random_password.b\"", b"\0\0\0\0"]
    {
        let mut bytes = text.clone();
        bytes.extend_from_slice(torn);
        fs::write(backend.journal_path(), &bytes).unwrap();
        let loaded = backend.load_detailed().unwrap().unwrap();
        assert_eq!(loaded.recovered, 4);
        assert_eq!(loaded.state, expected);
    }
    // Every prefix of the journal (a kill at any byte) loads.
    for cut in 0..=text.len() {
        fs::write(backend.journal_path(), &text[..cut]).unwrap();
        let loaded = backend.load_detailed().unwrap().unwrap_or_else(|| panic!("cut at {cut}"));
        assert!(loaded.recovered <= 4);
    }
}

#[test]
fn corrupt_middle_journal_line_is_an_error() {
    let (_dir, backend) = setup();
    journal_with_entries(&backend);
    let text = fs::read_to_string(backend.journal_path()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "{\"put\": 42}";
    fs::write(backend.journal_path(), lines.join("\n")).unwrap();
    let message = backend.load().unwrap_err().to_string();
    assert!(message.contains("state.journal") && message.contains("line 3"), "{message}");
}

#[test]
fn journal_commit_writes_the_state_and_removes_the_journal() {
    let (_dir, backend) = setup();
    let mut state = written(&backend);
    let guard = backend.lock("apply").unwrap();
    let mut journal = backend.begin_journal(&guard, &mut state).unwrap();
    journal.set_sync(JournalSync::Interval(std::time::Duration::from_secs(60)));
    let entries: Vec<JournalEntry> = (0..3)
        .map(|i| {
            JournalEntry::Put(address(&format!("random_password.n{i}")), resource(&format!("n{i}"), "x"))
        })
        .collect();
    for entry in &entries {
        entry.apply_to(&mut state);
    }
    journal.record_all(&entries).unwrap();
    journal.commit(&mut state).unwrap();
    assert_eq!(state.serial, 2);
    assert!(!backend.journal_path().exists());
    assert_eq!(backend.load_detailed().unwrap().unwrap().state, state);
}

#[test]
fn stale_journal_after_a_crash_in_commit_is_ignored() {
    let (_dir, backend) = setup();
    let (expected, _) = journal_with_entries(&backend);
    let journal = fs::read(backend.journal_path()).unwrap();
    let id = backend.lock_info().unwrap().unwrap().id;
    backend.force_unlock(&id, false).unwrap();
    let mut state = backend.load().unwrap().unwrap();
    let guard = backend.lock("apply").unwrap();
    backend.write(&guard, &mut state).unwrap();
    // Killed after the rename, before the journal was removed.
    fs::write(backend.journal_path(), &journal).unwrap();
    let loaded = backend.load_detailed().unwrap().unwrap();
    assert_eq!(loaded.recovered, 0);
    assert_eq!(loaded.state.serial, 2);
    assert_eq!(loaded.state.resources, expected.resources);
}

#[test]
fn journal_of_a_never_written_state_loads() {
    let (_dir, backend) = setup();
    let mut state = backend.new_state("shop").unwrap();
    let guard = backend.lock("apply").unwrap();
    let mut journal = backend.begin_journal(&guard, &mut state).unwrap();
    journal.record(&JournalEntry::Put(address("random_password.a"), resource("a", "s"))).unwrap();
    drop(journal);
    let loaded = backend.load_detailed().unwrap().unwrap();
    assert_eq!(loaded.recovered, 1);
    assert_eq!(loaded.state.lineage, state.lineage);
    assert_eq!(loaded.state.target.as_deref(), Some("aws"));
    assert!(loaded.state.resources.contains_key(&address("random_password.a")));
}

#[test]
fn begin_journal_compacts_a_leftover_journal_first() {
    let (_dir, backend) = setup();
    let (expected, _) = journal_with_entries(&backend);
    let id = backend.lock_info().unwrap().unwrap().id;
    backend.force_unlock(&id, false).unwrap();
    let mut state = backend.load().unwrap().unwrap();
    let guard = backend.lock("apply").unwrap();
    let mut journal = backend.begin_journal(&guard, &mut state).unwrap();
    assert_eq!(state.serial, 2, "the recovered operations were written first");
    journal.record(&JournalEntry::Remove(address("random_password.a"))).unwrap();
    drop(journal);
    let loaded = backend.load_detailed().unwrap().unwrap();
    assert_eq!(loaded.recovered, 1);
    let mut resources = expected.resources;
    resources.shift_remove(&address("random_password.a"));
    assert_eq!(loaded.state.resources, resources);
}

const CRASH_DIR_VARIABLE: &str = "STACKC_BACKEND_CRASH_DIR";

/// The child of `kill_9_at_random_instants_always_leaves_a_loadable_state`:
/// applies forever (journal records, commits, plain writes). Does nothing
/// unless that test runs it.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CRASH_DIR_VARIABLE) else { return };
    let backend = LocalBackend::new(dir, Some("aws"));
    for round in 0u64.. {
        let guard = match backend.lock("apply") {
            Ok(guard) => guard,
            Err(BackendError::Locked { held, .. }) => {
                backend.force_unlock(&held.id, false).unwrap();
                backend.lock("apply").unwrap()
            }
            Err(other) => panic!("{other}"),
        };
        let mut state = match backend.load().unwrap() {
            Some(state) => state,
            None => backend.new_state("shop").unwrap(),
        };
        let mut journal = backend.begin_journal(&guard, &mut state).unwrap();
        for i in 0..10 {
            let entry = JournalEntry::Put(
                address(&format!("random_password.p{}_r{round}_{i}", std::process::id())),
                resource("x", "s"),
            );
            entry.apply_to(&mut state);
            journal.record(&entry).unwrap();
        }
        if round % 3 == 0 {
            journal.commit(&mut state).unwrap();
        } else {
            drop(journal);
            backend.write(&guard, &mut state).unwrap();
        }
    }
}

#[test]
fn kill_9_at_random_instants_always_leaves_a_loadable_state() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::new(dir.path(), Some("aws"));
    let exe = std::env::current_exe().unwrap();
    let (mut last_serial, mut last_count) = (0, 0);
    for trial in 0..20u64 {
        let mut child = std::process::Command::new(&exe)
            .args(["--exact", "backend::tests::crash_child", "--nocapture"])
            .env(CRASH_DIR_VARIABLE, dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Delays spread over the child's start-up and its first rounds.
        let mut byte = [0u8; 1];
        getrandom::fill(&mut byte).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5 + u64::from(byte[0]) % 60 + trial));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let loaded = backend.load_detailed().unwrap_or_else(|e| panic!("trial {trial}: {e}"));
        let Some(loaded) = loaded else { continue };
        let count = loaded.state.resources.len();
        assert!(loaded.state.serial >= last_serial, "trial {trial}: serial went back");
        assert!(
            count >= last_count,
            "trial {trial}: {count} resources after {last_count}: finished work was lost"
        );
        (last_serial, last_count) = (loaded.state.serial, count);
    }
    assert!(last_count > 0, "the child never got to record anything; the test proved nothing");
}

#[cfg(unix)]
fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
#[cfg(unix)]
fn every_file_that_can_hold_a_secret_is_owner_only() {
    let (_dir, backend) = setup();
    let mut state = written(&backend);
    let guard = backend.lock("apply").unwrap();
    assert_eq!(mode_of(&backend.lock_path()), 0o600, "lock");
    backend.write(&guard, &mut state).unwrap();
    assert_eq!(mode_of(&backend.state_path()), 0o600, "state");
    assert_eq!(mode_of(&backend.backup_path()), 0o600, "backup");
    assert_eq!(mode_of(backend.dir()), 0o700, "state directory");
    let journal = backend.begin_journal(&guard, &mut state).unwrap();
    assert_eq!(mode_of(&backend.journal_path()), 0o600, "journal");
    drop(journal);
    // A backup of a state left readable by an older stackc is made owner-only.
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(backend.state_path(), fs::Permissions::from_mode(0o644)).unwrap();
    backend.write(&guard, &mut state).unwrap();
    assert_eq!(mode_of(&backend.backup_path()), 0o600, "backup of an old state");
    backend.remove_backup().unwrap();
    assert!(!backend.backup_path().exists());
}

#[test]
fn racing_lockers_always_read_a_complete_lock() {
    let (_dir, backend) = setup();
    fs::create_dir_all(backend.dir()).unwrap();
    for _ in 0..60 {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let outcomes: Vec<Result<LockGuard, BackendError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let (backend, barrier) = (backend.clone(), barrier.clone());
                    scope.spawn(move || {
                        barrier.wait();
                        backend.lock("apply")
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(winners, 1);
        for outcome in &outcomes {
            if let Err(error) = outcome {
                assert!(matches!(error, BackendError::Locked { .. }), "a loser was told: {error}");
            }
        }
        drop(outcomes);
        assert!(!backend.lock_path().exists());
    }
    // No temp file of a lock is left behind.
    // (Releasing the last lock removes the then empty state directory.)
    let left: Vec<_> = match fs::read_dir(backend.dir()) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name()).collect(),
        Err(error) => {
            assert_eq!(error.kind(), std::io::ErrorKind::NotFound, "{error}");
            Vec::new()
        }
    };
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn unlock_refuses_a_lock_whose_holder_runs_on_this_host() {
    let (_dir, backend) = setup();
    let mut running = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    // The guard stays alive: releasing it would remove the state directory.
    let guard = backend.lock("apply").unwrap();
    let mut info = guard.info().clone();
    info.pid = running.id();
    fs::write(backend.lock_path(), serde_json::to_string(&info).unwrap()).unwrap();
    let error = backend.force_unlock(&info.id, false).unwrap_err();
    assert!(matches!(error, BackendError::HolderRunning { .. }), "{error:?}");
    assert!(error.to_string().contains("--force"), "{error}");
    assert!(backend.lock_path().exists());
    backend.force_unlock(&info.id, true).unwrap();
    assert!(!backend.lock_path().exists());
    drop(guard);
    running.kill().unwrap();
    running.wait().unwrap();
}

#[test]
fn a_serial_at_its_maximum_is_refused_before_an_apply_starts() {
    let (_dir, backend) = setup();
    let mut state = written(&backend);
    state.serial = u64::MAX - 1;
    let guard = backend.lock("destroy").unwrap();
    let error = backend.begin_journal(&guard, &mut state).unwrap_err();
    assert!(error.to_string().contains("cannot grow any more"), "{error}");
    assert!(!backend.journal_path().exists());
}

#[test]
fn a_state_of_another_target_or_stack_is_refused() {
    let (dir, backend) = setup();
    let state = written(&backend);
    // The aws state copied into the kubernetes state directory.
    let other = LocalBackend::new(dir.path(), Some("kubernetes"));
    fs::create_dir_all(other.dir()).unwrap();
    fs::copy(backend.state_path(), other.state_path()).unwrap();
    let error = other.load().unwrap_err().to_string();
    assert!(error.contains("state of target `aws`"), "{error}");
    assert!(backend.check_stack(&state, "shop").is_ok());
    let error = backend.check_stack(&state, "blog").unwrap_err().to_string();
    assert!(error.contains("state of stack `shop`, but this stack is `blog`"), "{error}");
}

#[test]
fn a_state_file_that_is_not_a_regular_file_is_refused() {
    let (_dir, backend) = setup();
    fs::create_dir_all(backend.dir()).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/dev/zero", backend.state_path()).unwrap();
        let error = backend.load().unwrap_err().to_string();
        assert!(error.contains("not a regular file"), "{error}");
    }
}

// ------------------------------------------------------- encryption at rest

fn keyring(current: Option<&str>, previous: &[&str]) -> Option<std::sync::Arc<Keyring>> {
    Some(std::sync::Arc::new(
        Keyring::new(
            current.map(|p| KeySpec::Passphrase(p.into())),
            previous.iter().map(|p| KeySpec::Passphrase(p.to_string())).collect(),
        )
        .unwrap(),
    ))
}

/// Every file of the state directory, as bytes.
fn every_file(backend: &LocalBackend) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in fs::read_dir(backend.dir()).unwrap() {
        let entry = entry.unwrap();
        found.push((entry.file_name().to_string_lossy().into_owned(), fs::read(entry.path()).unwrap()));
    }
    found
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn an_encrypted_state_backup_and_journal_hold_no_plaintext_and_load_back() {
    let (_dir, plain) = setup();
    let backend = plain.clone().with_keyring(keyring(Some("correct horse"), &[]));
    let mut state = backend.new_state("shop").unwrap();
    state.resources.insert(address("random_password.db"), resource("p1", "CANARY-state"));
    let guard = backend.lock("test").unwrap();
    backend.write(&guard, &mut state).unwrap();
    backend.write(&guard, &mut state).unwrap();
    let mut journal = backend.begin_journal(&guard, &mut state).unwrap();
    let entry = JournalEntry::Put(address("random_password.j"), resource("p2", "CANARY-journal"));
    entry.apply_to(&mut state);
    journal.record(&entry).unwrap();
    journal.sync().unwrap();
    // Killed here: the journal is on disk.
    let files = every_file(&backend);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for name in ["state.json", "state.json.backup", "state.journal"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    for (name, bytes) in &files {
        assert!(!contains(bytes, "CANARY") && !contains(bytes, "random_password"), "plaintext in {name}");
        if name != "state.lock" {
            for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                assert!(seal::is_sealed(line), "{name} has a line that is not sealed");
            }
        }
    }
    let loaded = backend.load_detailed().unwrap().unwrap();
    assert_eq!(loaded.recovered, 1);
    assert_eq!(loaded.state, state);
    // Without the key: a clear refusal, nothing guessed.
    let error = plain.load().unwrap_err().to_string();
    assert!(error.contains("is encrypted and no key is configured"), "{error}");
    let error =
        plain.clone().with_keyring(keyring(Some("battery staple"), &[])).load().unwrap_err().to_string();
    assert!(error.contains("does not decrypt"), "{error}");
    journal.commit(&mut state).unwrap();
    assert_eq!(backend.load().unwrap().unwrap(), state);
}

#[test]
fn an_encrypted_state_is_never_written_in_plain_text_by_mistake() {
    let (_dir, plain) = setup();
    let sealing = plain.clone().with_keyring(keyring(Some("correct horse"), &[]));
    let mut state = written(&sealing);
    let before = fs::read(sealing.state_path()).unwrap();
    // A reader that has only the old key opens it, but cannot write plain text.
    let reader = plain.clone().with_keyring(keyring(None, &["correct horse"]));
    assert_eq!(reader.load().unwrap().unwrap(), state);
    let guard = reader.lock("test").unwrap();
    let error = reader.write(&guard, &mut state).unwrap_err();
    assert!(matches!(error, BackendError::WouldWritePlaintext { .. }), "{error}");
    assert!(error.to_string().contains("STACKC_STATE_ALLOW_PLAINTEXT=1"), "{error}");
    let error = reader.begin_journal(&guard, &mut state).unwrap_err();
    assert!(matches!(error, BackendError::WouldWritePlaintext { .. }), "{error}");
    assert!(!reader.journal_path().exists());
    assert_eq!(plain.check_plaintext_allowed().unwrap_err().to_string(), error.to_string());
    assert_eq!(fs::read(sealing.state_path()).unwrap(), before, "untouched");
    assert_eq!(state.serial, 1);
    // On purpose: allowed, and the state is plain text from then on.
    let decrypting = Keyring::from_env(
        |name| match name {
            seal::ENV_PASSPHRASE_PREVIOUS => Some("correct horse".into()),
            seal::ENV_ALLOW_PLAINTEXT => Some("1".into()),
            _ => None,
        },
        None,
    )
    .unwrap();
    let decrypting = plain.clone().with_keyring(decrypting.map(std::sync::Arc::new));
    decrypting.write(&guard, &mut state).unwrap();
    let text = fs::read(plain.state_path()).unwrap();
    assert!(!seal::is_sealed(&text) && contains(&text, "hunter2"));
    assert_eq!(plain.load().unwrap().unwrap(), state);
}

#[test]
fn a_plain_state_is_encrypted_by_the_next_write_and_rotation_reseals_with_the_new_key() {
    let (_dir, plain) = setup();
    let mut state = written(&plain);
    let old = plain.clone().with_keyring(keyring(Some("old passphrase"), &[]));
    let guard = old.lock("test").unwrap();
    assert_eq!(old.load().unwrap().unwrap(), state, "a plain state loads with a key configured");
    old.write(&guard, &mut state).unwrap();
    assert!(seal::is_sealed(&fs::read(old.state_path()).unwrap()));
    let rotated = plain.clone().with_keyring(keyring(Some("new passphrase"), &["old passphrase"]));
    assert_eq!(rotated.load().unwrap().unwrap(), state);
    rotated.write(&guard, &mut state).unwrap();
    let new_only = plain.clone().with_keyring(keyring(Some("new passphrase"), &[]));
    assert_eq!(new_only.load().unwrap().unwrap(), state, "written with the new key");
    assert!(old.load().is_err(), "no longer with the old one");
    // The backup is the previous version, sealed with the old key.
    let backup = fs::read(plain.backup_path()).unwrap();
    let keys = Keyring::new(Some(KeySpec::Passphrase("old passphrase".into())), Vec::new()).unwrap();
    assert!(keys.open("state", &backup).is_ok());
}

#[test]
fn a_tampered_or_reordered_sealed_journal_line_is_refused() {
    let (_dir, plain) = setup();
    let backend = plain.with_keyring(keyring(Some("correct horse"), &[]));
    let mut state = written(&backend);
    let guard = backend.lock("test").unwrap();
    let mut journal = backend.begin_journal(&guard, &mut state).unwrap();
    for name in ["a", "b"] {
        let entry = JournalEntry::Put(address(&format!("random_password.{name}")), resource(name, "x"));
        journal.record(&entry).unwrap();
    }
    journal.sync().unwrap();
    let text = fs::read(backend.journal_path()).unwrap();
    let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3);
    let swapped = [lines[0], lines[2], lines[1]].join(&b'\n');
    fs::write(backend.journal_path(), [swapped.as_slice(), b"\n"].concat()).unwrap();
    let error = backend.load().unwrap_err().to_string();
    assert!(error.contains("does not decrypt"), "{error}");
    // A torn last line (killed mid-write) is ignored, as in a plain journal.
    let torn = [lines[0], lines[1], &lines[2][..lines[2].len() / 2]].join(&b'\n');
    fs::write(backend.journal_path(), torn).unwrap();
    assert_eq!(backend.load_detailed().unwrap().unwrap().recovered, 1);
    drop(journal);
}

// ------------------------------------------------------------ remote backend

/// An object store in memory with S3's conditional writes, for the remote
/// backend's logic (the S3 one is tested against moto in tests/backend_cli.rs).
#[derive(Debug, Default)]
struct MemoryStore {
    objects: std::sync::Mutex<std::collections::BTreeMap<String, (Vec<u8>, String)>>,
    next: std::sync::atomic::AtomicU64,
}

impl ObjectStore for MemoryStore {
    fn url(&self, key: &str) -> String {
        format!("mem://bucket/{key}")
    }

    fn get(&self, key: &str) -> Result<Option<StoredObject>, StoreError> {
        let objects = self.objects.lock().unwrap();
        Ok(objects.get(key).map(|(bytes, etag)| StoredObject { bytes: bytes.clone(), etag: etag.clone() }))
    }

    fn put(&self, key: &str, bytes: &[u8], condition: Condition) -> Result<String, StoreError> {
        let mut objects = self.objects.lock().unwrap();
        let holds = match (&condition, objects.get(key)) {
            (Condition::None, _) | (Condition::IfAbsent, None) => true,
            (Condition::IfMatch(etag), Some((_, current))) => etag == current,
            _ => false,
        };
        if !holds {
            return Err(StoreError::PreconditionFailed);
        }
        let etag = format!("\"{}\"", self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
        objects.insert(key.to_string(), (bytes.to_vec(), etag.clone()));
        Ok(etag)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.objects.lock().unwrap().remove(key);
        Ok(())
    }
}

impl MemoryStore {
    fn keys(&self) -> Vec<String> {
        self.objects.lock().unwrap().keys().cloned().collect()
    }
}

fn remote(store: &std::sync::Arc<MemoryStore>) -> RemoteBackend {
    RemoteBackend::new(store.clone(), "stacks/shop", "/nonexistent/shop", Some("aws"))
}

#[test]
fn remote_round_trip_lock_and_layout() {
    let store = std::sync::Arc::new(MemoryStore::default());
    let backend = remote(&store);
    assert_eq!(backend.load().unwrap(), None);
    let guard = backend.lock("apply").unwrap();
    let error = remote(&store).lock("plan").unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, BackendError::Locked { .. }), "{text}");
    assert!(text.contains(&guard.info().holder) && text.contains("for `apply`"), "{text}");
    assert!(text.contains("mem://bucket/stacks/shop/aws/state.json.lock"), "{text}");
    let mut state = backend.new_state("shop").unwrap();
    state.resources.insert(address("random_password.db"), resource("p1", "hunter2"));
    backend.write(&guard, &mut state).unwrap();
    backend.write(&guard, &mut state).unwrap();
    assert_eq!(state.serial, 2);
    assert_eq!(
        store.keys(),
        [
            "stacks/shop/aws/state.json",
            "stacks/shop/aws/state.json.backup",
            "stacks/shop/aws/state.json.lock"
        ]
    );
    guard.release().unwrap();
    assert_eq!(store.keys().len(), 2, "the lock object is deleted");
    assert_eq!(remote(&store).load().unwrap().unwrap(), state);
    // A local guard is not this state's lock.
    let (_dir, local) = setup();
    let local_guard = local.lock("apply").unwrap();
    assert!(matches!(remote(&store).write(&local_guard, &mut state), Err(BackendError::LockLost { .. })));
}

#[test]
fn a_remote_state_changed_behind_the_writers_back_is_detected_and_nothing_is_lost() {
    let store = std::sync::Arc::new(MemoryStore::default());
    let first = remote(&store);
    let guard = first.lock("apply").unwrap();
    let mut state = first.new_state("shop").unwrap();
    first.write(&guard, &mut state).unwrap();
    // This command reads the state...
    let reader = remote(&store);
    let mut read = reader.load().unwrap().unwrap();
    // ...and someone else replaces it meanwhile (the same serial: only the ETag tells).
    let behind = store.get("stacks/shop/aws/state.json").unwrap().unwrap();
    store.put("stacks/shop/aws/state.json", &behind.bytes, Condition::None).unwrap();
    read.resources.insert(address("random_password.new"), resource("p9", "x"));
    let error = reader.write(&guard, &mut read).unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, BackendError::ChangedBehind { .. }), "{text}");
    assert!(text.contains("changed by another writer"), "{text}");
    let kept = format!("stacks/shop/aws/state.json.rejected-{}", guard.id());
    assert!(text.contains(&kept), "{text}");
    assert_eq!(read.serial, 1, "unchanged on error");
    let rejected = store.get(&kept).unwrap().unwrap();
    assert!(contains(&rejected.bytes, "random_password.new"), "the refused state is kept");
    assert_eq!(
        store.get("stacks/shop/aws/state.json").unwrap().unwrap().bytes,
        behind.bytes,
        "not overwritten"
    );
}

#[test]
fn a_remote_journal_survives_a_kill_and_is_compacted() {
    let store = std::sync::Arc::new(MemoryStore::default());
    let backend = remote(&store);
    let guard = backend.lock("apply").unwrap();
    let mut state = backend.new_state("shop").unwrap();
    backend.write(&guard, &mut state).unwrap();
    let mut journal = backend.begin_journal(&guard, &mut state).unwrap();
    let entries = [
        JournalEntry::Put(address("random_password.a"), resource("a", "x")),
        JournalEntry::Put(address("random_password.b"), resource("b", "y")),
    ];
    journal.record(&entries[0]).unwrap();
    journal.record(&entries[1]).unwrap();
    for entry in &entries {
        entry.apply_to(&mut state);
    }
    assert!(store.keys().contains(&"stacks/shop/aws/state.journal/1/2".to_string()), "{:?}", store.keys());
    // Killed: the journal is not committed. A second journal is refused.
    drop(journal);
    assert!(matches!(
        Journal::create_remote_for_test(&backend, guard.id(), &state),
        Err(BackendError::JournalInUse { .. })
    ));
    let fresh = remote(&store);
    let loaded = fresh.load_detailed().unwrap().unwrap();
    assert_eq!(loaded.recovered, 2);
    assert_eq!(loaded.state.resources, state.resources);
    // The next apply compacts it first, and its own journal starts at the new serial.
    let mut recovered = loaded.state;
    let journal = fresh.begin_journal(&guard, &mut recovered).unwrap();
    assert_eq!(recovered.serial, 2);
    journal.commit(&mut recovered).unwrap();
    assert_eq!(recovered.serial, 3);
    assert!(!store.keys().iter().any(|k| k.contains("state.journal")), "{:?}", store.keys());
    assert_eq!(remote(&store).load_detailed().unwrap().unwrap().recovered, 0);
}

#[test]
fn an_encrypted_remote_state_holds_no_plaintext() {
    let store = std::sync::Arc::new(MemoryStore::default());
    let backend = remote(&store).with_keyring(keyring(Some("correct horse"), &[]));
    let guard = backend.lock("apply").unwrap();
    let mut state = backend.new_state("shop").unwrap();
    state.resources.insert(address("random_password.db"), resource("p1", "CANARY-remote"));
    backend.write(&guard, &mut state).unwrap();
    let mut journal = backend.begin_journal(&guard, &mut state).unwrap();
    journal
        .record(&JournalEntry::Put(address("random_password.j"), resource("j", "CANARY-journal")))
        .unwrap();
    for key in store.keys().iter().filter(|k| !k.ends_with(".lock")) {
        let object = store.get(key).unwrap().unwrap();
        assert!(seal::is_sealed(&object.bytes) && !contains(&object.bytes, "CANARY"), "{key}");
    }
    assert_eq!(backend.load_detailed().unwrap().unwrap().recovered, 1);
    let error = remote(&store).load().unwrap_err().to_string();
    assert!(error.contains("is encrypted and no key is configured"), "{error}");
    drop(journal);
}

#[test]
fn migrate_refuses_a_non_empty_destination() {
    let store = std::sync::Arc::new(MemoryStore::default());
    let (_dir, local) = setup();
    let state = written(&local);
    let destination = Backend::Remote(remote(&store));
    let guard = destination.lock("state migrate").unwrap();
    destination.import_state(&guard, &state, false).unwrap();
    assert_eq!(destination.load().unwrap().unwrap(), state, "the serial is kept");
    let error = destination.import_state(&guard, &state, false).unwrap_err();
    assert!(matches!(error, BackendError::DestinationNotEmpty { .. }), "{error}");
    destination.import_state(&guard, &state, true).unwrap();
    // And back: a local destination that holds a state is refused too.
    let local = Backend::Local(local);
    let local_guard = local.lock("state migrate").unwrap();
    assert!(matches!(
        local.import_state(&local_guard, &state, false),
        Err(BackendError::DestinationNotEmpty { .. })
    ));
}

/// A store whose conditional PUTs are served and then answered 412, as
/// when an answer is lost and the request is sent again.
#[derive(Debug, Default)]
struct RetriedStore(MemoryStore);

impl ObjectStore for RetriedStore {
    fn url(&self, key: &str) -> String {
        self.0.url(key)
    }
    fn get(&self, key: &str) -> Result<Option<StoredObject>, StoreError> {
        self.0.get(key)
    }
    fn put(&self, key: &str, bytes: &[u8], condition: Condition) -> Result<String, StoreError> {
        let served = self.0.put(key, bytes, condition.clone())?;
        match condition {
            Condition::None => Ok(served),
            _ => Err(StoreError::PreconditionFailed),
        }
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key)
    }
}

#[test]
fn a_conditional_write_answered_412_after_it_was_served_is_ours() {
    let store = std::sync::Arc::new(RetriedStore::default());
    let backend = RemoteBackend::new(store.clone(), "k", "/nonexistent", None);
    let guard = backend.lock("apply").unwrap();
    let mut state = backend.new_state("shop").unwrap();
    backend.write(&guard, &mut state).unwrap();
    backend.write(&guard, &mut state).unwrap();
    assert_eq!(state.serial, 2);
    // The journal's header decides who owns it: a 412 there is never taken as ours.
    assert!(matches!(backend.begin_journal(&guard, &mut state), Err(BackendError::JournalInUse { .. })));
}

#[test]
fn a_corrupt_remote_state_or_lock_is_reported_and_left_alone() {
    let store = std::sync::Arc::new(MemoryStore::default());
    store.put("stacks/shop/aws/state.json", b"{\"version\": 1, \"lineage\": ", Condition::None).unwrap();
    let error = remote(&store).load().unwrap_err().to_string();
    assert!(
        error.starts_with("the state file `mem://bucket/stacks/shop/aws/state.json` cannot be read: line 1"),
        "{error}"
    );
    assert!(!error.contains(" at line "), "{error}");
    store.put("stacks/shop/aws/state.json.lock", b"not json", Condition::None).unwrap();
    let error = remote(&store).lock("apply").unwrap_err();
    assert!(matches!(error, BackendError::UnreadableLock { .. }), "{error}");
    assert_eq!(store.get("stacks/shop/aws/state.json.lock").unwrap().unwrap().bytes, b"not json");
}
