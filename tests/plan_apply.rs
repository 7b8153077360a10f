//! End-to-end tests of `stackc plan`, `apply`, `destroy` and `import` on the
//! built-in provider (no network): the real binary on stacks written to
//! temporary directories, with the state backend on disk.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::Run;

struct Stack {
    dir: tempfile::TempDir,
}

impl Stack {
    fn new(text: &str) -> Stack {
        let dir = tempfile::Builder::new().prefix("shopstack").tempdir().unwrap();
        std::fs::write(dir.path().join("main.stack.hcl"), text).unwrap();
        Stack { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, text: &str) {
        std::fs::write(self.path().join("main.stack.hcl"), text).unwrap();
    }

    fn state_dir(&self) -> PathBuf {
        self.path().join(".stackc/default")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stackc"));
        command
            .current_dir(self.path())
            .args(args)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("stackc runs");
        Run::of(output)
    }

    fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.state_dir().join("state.json")).expect("state written");
        serde_json::from_str(&text).expect("state is JSON")
    }
}

/// Replaces UUIDs (random ids) with `<uuid>` so texts can be snapshotted.
fn redact_ids(text: &str) -> String {
    let bytes = text.as_bytes();
    let shape = [8, 4, 4, 4, 12];
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'outer: while i < bytes.len() {
        let mut j = i;
        for (n, len) in shape.iter().enumerate() {
            for _ in 0..*len {
                if j >= bytes.len() || !bytes[j].is_ascii_hexdigit() {
                    out.push(bytes[i] as char);
                    i += 1;
                    continue 'outer;
                }
                j += 1;
            }
            if n < 4 {
                if j >= bytes.len() || bytes[j] != b'-' {
                    out.push(bytes[i] as char);
                    i += 1;
                    continue 'outer;
                }
                j += 1;
            }
        }
        out.push_str("<uuid>");
        i = j;
    }
    out
}

const CHAIN: &str = r#"
variable "region" {
  default = "eu-west-3"
}

resource "stackc_data" "seed" {
  input = { region = var.region }
}

resource "stackc_data" "app" {
  input            = "app in ${stackc_data.seed.output.region}"
  triggers_replace = 1
}

resource "stackc_data" "child" {
  input = stackc_data.app.id
}

resource "random_password" "db" {
  length  = 24
  special = false
}

resource "stackc_data" "uses_password" {
  input = random_password.db.result
}

output "seed_id" {
  value = stackc_data.seed.id
}

output "password" {
  value     = random_password.db.result
  sensitive = true
}
"#;

#[test]
fn apply_then_the_plan_is_empty_and_changes_are_updates_or_replacements_with_reasons() {
    let stack = Stack::new(CHAIN);
    let plan = stack.run(&["plan"]).ok();
    insta::assert_snapshot!("plan_from_empty", redact_ids(&plan.stdout));
    assert!(stack.run(&["plan", "--detailed-exitcode"]).code == 2);

    let applied = stack.run(&["apply", "--auto-approve"]).ok();
    assert!(
        applied.stdout.contains("Apply complete: 5 added, 0 changed, 0 destroyed."),
        "{}",
        applied.stdout
    );
    assert!(applied.stdout.contains("password = (sensitive)"), "{}", applied.stdout);
    let state = stack.state();
    assert_eq!(state["serial"], 1);
    let password =
        state["resources"].as_array().unwrap().iter().find(|r| r["address"] == "random_password.db").unwrap()
            ["attributes"]["result"]
            .as_str()
            .unwrap()
            .to_string();
    assert_eq!(password.len(), 24);
    // The password is in the state (the planner needs it), nowhere in output.
    assert!(!applied.stdout.contains(&password) && !applied.stderr.contains(&password));

    let again = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);

    // An input change is an update in place; the dependent's input follows.
    let changed = stack.run(&["plan", "-var", "region=us-east-1"]).ok();
    insta::assert_snapshot!("plan_update", redact_ids(&changed.stdout));
    // A force-new change is a replacement naming the attribute; the child follows.
    stack.write(&CHAIN.replace("triggers_replace = 1", "triggers_replace = 2"));
    let replaced = stack.run(&["plan"]).ok();
    insta::assert_snapshot!("plan_replace", redact_ids(&replaced.stdout));
    assert!(!replaced.stdout.contains(&password));
    stack.run(&["apply", "--auto-approve"]).ok();
    assert_eq!(stack.run(&["plan", "--detailed-exitcode"]).code, 0);
    assert_eq!(stack.state()["serial"], 2);
}

#[test]
fn plan_json_follows_the_documented_schema() {
    let stack = Stack::new(CHAIN);
    let run = stack.run(&["plan", "--json"]).ok();
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(plan["format_version"], 1);
    assert_eq!(plan["summary"], serde_json::json!({ "add": 5, "change": 0, "destroy": 0 }));
    let changes = plan["resource_changes"].as_array().unwrap();
    let password = changes.iter().find(|c| c["address"] == "random_password.db").unwrap();
    assert_eq!(password["action"], "create");
    assert_eq!(password["after"]["result"], serde_json::Value::Null);
    assert!(password["after_unknown"].as_array().unwrap().iter().any(|p| p == "result"));
    assert!(password["after_sensitive"].as_array().unwrap().iter().any(|p| p == "result"));
    let seed = changes.iter().find(|c| c["address"] == "stackc_data.seed").unwrap();
    assert_eq!(seed["source"]["file"], "main.stack.hcl");
    assert_eq!(seed["source"]["line"], 6);
    assert_eq!(seed["after"]["input"]["region"], "eu-west-3");
}

#[test]
fn a_saved_plan_applies_once_and_a_stale_one_is_refused() {
    let stack = Stack::new(CHAIN);
    stack.run(&["plan", "--out", "first.plan"]).ok();
    stack.run(&["plan", "--out", "second.plan"]).ok();
    let applied = stack.run(&["apply", "first.plan"]).ok();
    assert!(applied.stdout.contains("Apply complete: 5 added"), "{}", applied.stdout);
    // The state moved on: the other plan (same serial 0) is stale.
    let stale = stack.run(&["apply", "second.plan"]);
    assert_eq!(stale.code, 1);
    assert!(stale.stderr.contains("is stale: the state changed since the plan was made"), "{}", stale.stderr);
    // Applying the same plan again: stale too.
    assert!(stack.run(&["apply", "first.plan"]).stderr.contains("is stale"));

    // Changed sources: refused.
    stack.run(&["plan", "-var", "region=x", "--out", "third.plan"]).ok();
    stack.write(&CHAIN.replace("length  = 24", "length  = 25"));
    let changed = stack.run(&["apply", "third.plan"]);
    assert_eq!(changed.code, 1);
    assert!(changed.stderr.contains("the stack's files or variable values changed"), "{}", changed.stderr);

    // Another lineage (the state was deleted and made again): refused.
    stack.write(CHAIN);
    stack.run(&["plan", "--out", "fourth.plan"]).ok();
    std::fs::remove_file(stack.state_dir().join("state.json")).unwrap();
    let _ = std::fs::remove_file(stack.state_dir().join("state.json.backup"));
    stack.run(&["apply", "--auto-approve"]).ok();
    let other = stack.run(&["apply", "fourth.plan"]);
    assert!(other.stderr.contains("another state (lineage"), "{}", other.stderr);

    // The variable values of a saved plan are the ones it was made with.
    stack.run(&["plan", "-var", "region=ap-south-1", "--out", "fifth.plan"]).ok();
    stack.run(&["apply", "fifth.plan"]).ok();
    assert!(stack.run(&["plan", "-var", "region=ap-south-1", "--detailed-exitcode"]).code == 0);
}

#[test]
fn a_held_lock_is_reported_with_its_holder_and_nothing_runs() {
    let stack = Stack::new(CHAIN);
    let backend = stackc_planner::backend::LocalBackend::new(stack.path(), None);
    let guard = backend.lock("apply").unwrap();
    let run = stack.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("the state is locked by"), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("stackc state unlock {}", guard.id())), "{}", run.stderr);
    assert!(!stack.state_dir().join("state.json").exists());
    guard.release().unwrap();
    stack.run(&["apply", "--auto-approve"]).ok();
}

#[test]
fn a_corrupt_or_truncated_state_is_a_clear_error_and_is_never_overwritten() {
    let stack = Stack::new(CHAIN);
    stack.run(&["apply", "--auto-approve"]).ok();
    let path = stack.state_dir().join("state.json");
    let good = std::fs::read(&path).unwrap();
    for broken in [&good[..good.len() / 2], b"{ not json" as &[u8]] {
        std::fs::write(&path, broken).unwrap();
        for args in [&["plan"][..], &["apply", "--auto-approve"], &["destroy", "--auto-approve"]] {
            let run = stack.run(args);
            assert_eq!(run.code, 1, "{args:?}");
            assert!(run.stderr.contains("cannot be read"), "{}", run.stderr);
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
            assert_eq!(std::fs::read(&path).unwrap(), broken, "the state file was not touched");
        }
    }
}

#[test]
fn apply_without_a_terminal_needs_auto_approve_and_changes_nothing() {
    let stack = Stack::new(CHAIN);
    let run = stack.run(&["apply"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("pass --auto-approve"), "{}", run.stderr);
    assert!(!stack.state_dir().join("state.json").exists());
    let run = stack.run(&["destroy"]);
    assert_eq!(run.code, 0, "nothing to destroy: no question asked: {}", run.stderr);
}

#[test]
fn destroy_removes_everything_in_reverse_order() {
    let stack = Stack::new(CHAIN);
    stack.run(&["apply", "--auto-approve"]).ok();
    let plan = stack.run(&["plan", "--destroy"]).ok();
    assert!(plan.stdout.contains("Plan: 0 to add, 0 to change, 5 to destroy."), "{}", plan.stdout);
    let run = stack.run(&["destroy", "--auto-approve"]).ok();
    assert!(run.stdout.contains("Destroy complete: 0 added, 0 changed, 5 destroyed."), "{}", run.stdout);
    let lines: Vec<&str> = run.stdout.lines().filter(|l| l.ends_with(": deleting...")).collect();
    let position = |address: &str| lines.iter().position(|l| l.starts_with(address)).unwrap();
    assert!(position("stackc_data.child") < position("stackc_data.app"));
    assert!(position("stackc_data.app") < position("stackc_data.seed"));
    assert!(position("stackc_data.uses_password") < position("random_password.db"));
    let state = stack.state();
    assert_eq!(state["resources"], serde_json::json!([]));
    assert_eq!(state["outputs"], serde_json::json!({}));
    assert_eq!(stack.run(&["plan", "--destroy", "--detailed-exitcode"]).code, 0);
}

#[test]
fn a_provider_refusal_points_at_the_source_and_nothing_is_applied() {
    let stack = Stack::new(
        "resource \"random_password\" \"bad\" {\n  length = 0\n}\n\nresource \"stackc_data\" \"ok\" {\n  input = 1\n}\n",
    );
    let run = stack.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("provider_refusal", run.stderr);
    assert!(!stack.state_dir().join("state.json").exists());
}

#[test]
fn import_adopts_an_object_and_the_plan_compares_it_with_the_configuration() {
    let stack = Stack::new("resource \"random_password\" \"db\" {\n  length = 13\n}\n");
    let run = stack.run(&["import", "random_password.db", "correct horse"]).ok();
    assert!(run.stdout.contains("Imported `random_password.db`"), "{}", run.stdout);
    assert!(!run.stdout.contains("correct horse"));
    assert_eq!(stack.run(&["plan", "--detailed-exitcode"]).code, 0);
    let again = stack.run(&["import", "random_password.db", "x"]);
    assert!(again.stderr.contains("already in the state"), "{}", again.stderr);
    let missing = stack.run(&["import", "random_password.dv", "x"]);
    assert!(missing.stderr.contains("did you mean `random_password.db`?"), "{}", missing.stderr);
    // A different length: the imported password is replaced.
    stack.write("resource \"random_password\" \"db\" {\n  length = 20\n}\n");
    let plan = stack.run(&["plan"]).ok();
    assert!(plan.stdout.contains("replace: `length` cannot change in place"), "{}", plan.stdout);
}

#[test]
fn only_and_exclude_limit_what_is_applied() {
    let stack = Stack::new(CHAIN);
    let run = stack.run(&["apply", "--auto-approve", "--only", "stackc_data.child"]).ok();
    assert!(run.stdout.contains("Apply complete: 3 added"), "{}", run.stdout);
    let run = stack.run(&["plan", "--exclude", "random_password.db"]).ok();
    assert!(run.stdout.contains("No changes."), "{}", run.stdout);
    let run = stack.run(&["plan"]).ok();
    assert!(run.stdout.contains("Plan: 2 to add, 0 to change, 0 to destroy."), "{}", run.stdout);
}

/// Many sleeps, applied with some parallelism.
fn sleeps(count: usize) -> String {
    let mut text = String::new();
    for i in 0..count {
        let ms = 20 + (i * 37) % 80;
        text.push_str(&format!("resource \"time_sleep\" \"s{i}\" {{\n  create_duration = \"{ms}ms\"\n}}\n"));
        if i > 0 && i % 3 == 0 {
            text.push_str(&format!(
                "resource \"stackc_data\" \"d{i}\" {{\n  input = time_sleep.s{i}.id\n  triggers_replace = time_sleep.s{}.id\n}}\n",
                i - 1
            ));
        }
    }
    text
}

/// kill -9 at random moments of an apply: the state always loads, and
/// applying again converges to an empty plan.
#[test]
fn kill_9_during_apply_leaves_a_state_that_loads_and_a_reapply_converges() {
    let started = Instant::now();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut killed_mid_way = 0;
    for trial in 0..20 {
        let stack = Stack::new(&sleeps(24));
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(30 + seed % 500);
        let mut child = stack
            .command(&["apply", "--auto-approve", "--parallelism", "4"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        if !finished {
            killed_mid_way += 1;
        }
        // The lock of the killed process is released by hand, as a user would.
        let lock = stack.state_dir().join("state.lock");
        if lock.exists() {
            let info: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&lock).unwrap()).unwrap();
            stack.run(&["state", "unlock", info["id"].as_str().unwrap()]).ok();
        }
        let listed = stack.run(&["state", "list"]);
        assert_eq!(listed.code, 0, "trial {trial}: the state loads: {}", listed.stderr);
        stack.run(&["apply", "--auto-approve", "--parallelism", "8"]).ok();
        let plan = stack.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(plan.code, 0, "trial {trial}: converged: {}", plan.stdout);
        assert!(started.elapsed() < Duration::from_secs(240), "bounded in time");
    }
    assert!(killed_mid_way >= 10, "most trials killed the apply mid-way ({killed_mid_way})");
}

/// Ctrl-C, SIGTERM (CI's `timeout`) and SIGHUP (a closed terminal) alike:
/// running operations finish, the state is saved, the journal committed
/// and the lock released.
#[cfg(unix)]
#[test]
fn ctrl_c_lets_running_operations_finish_saves_the_state_and_releases_the_lock() {
    let mut text = String::new();
    for i in 0..12 {
        text.push_str(&format!("resource \"time_sleep\" \"s{i}\" {{\n  create_duration = \"400ms\"\n}}\n"));
    }
    for (signal, said) in [("INT", "Interrupt"), ("TERM", "SIGTERM"), ("HUP", "SIGHUP")] {
        let stack = Stack::new(&text);
        let child = stack
            .command(&["apply", "--auto-approve", "--parallelism", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(600));
        let status =
            Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let run = Run::of(child.wait_with_output().unwrap());
        assert_eq!(run.code, 1, "{signal}: {}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(&format!("{said}: nothing new starts")), "{}", run.stderr);
        assert!(run.stdout.contains("Apply interrupted:"), "{}", run.stdout);
        let created = run.stdout.lines().filter(|l| l.contains(": created after")).count();
        assert!((2..12).contains(&created), "{signal}: {created} created\n{}", run.stdout);
        assert!(!stack.state_dir().join("state.lock").exists(), "{signal}: lock released");
        assert!(!stack.state_dir().join("state.journal").exists(), "{signal}: journal committed");
        assert_eq!(stack.state()["resources"].as_array().unwrap().len(), created);
        let rest = stack.run(&["apply", "--auto-approve", "--parallelism", "12"]).ok();
        assert!(rest.stdout.contains(&format!("Apply complete: {} added", 12 - created)), "{}", rest.stdout);
    }
}

/// An apply killed after it recorded every operation but before it
/// compacted its journal leaves nothing to do; the next apply still merges
/// the recovered journal into `state.json` (it stayed beside it before).
#[test]
fn an_apply_with_nothing_to_do_commits_a_recovered_journal() {
    use stackc_planner::backend::{JournalEntry, LocalBackend};
    let stack = Stack::new(CHAIN);
    stack.run(&["apply", "--auto-approve"]).ok();
    let backend = LocalBackend::new(stack.path(), None);
    {
        // What the killed apply left: a journal whose lines repeat the state.
        let guard = backend.lock("apply").unwrap();
        let mut state = backend.load().unwrap().unwrap();
        let entries: Vec<JournalEntry> =
            state.resources.iter().map(|(a, r)| JournalEntry::Put(a.clone(), r.clone())).collect();
        let mut journal = backend.begin_journal(&guard, &mut state).unwrap();
        journal.record_all(&entries).unwrap();
        journal.sync().unwrap();
        std::mem::forget(journal);
        drop(guard);
    }
    let journal = stack.state_dir().join("state.journal");
    assert!(journal.exists());
    let serial = stack.state()["serial"].as_u64().unwrap();
    let run = stack.run(&["apply", "--auto-approve"]).ok();
    assert!(run.stdout.contains("No changes."), "{}", run.stdout);
    assert!(!journal.exists(), "the recovered journal is committed");
    assert!(stack.state()["serial"].as_u64().unwrap() > serial, "state.json rewritten");
    assert_eq!(stack.run(&["plan", "--detailed-exitcode"]).code, 0);
}

/// The replica count the autoscaler recorded in the state is what `plan`
/// keeps and shows (the session expands with it); no Engine is needed for
/// a state without resources.
#[test]
fn plan_keeps_and_shows_the_autoscaled_count_recorded_in_the_state() {
    let stack = Stack::new(
        r#"
service "api" {
  image = "stackc-test-app:1"
  autoscale {
    min = 1
    max = 5
  }
}
target "local" {}
"#,
    );
    let name = stack.path().file_name().unwrap().to_string_lossy().into_owned();
    let dir = stack.path().join(".stackc/local");
    std::fs::create_dir_all(&dir).unwrap();
    let state = serde_json::json!({
        "version": 1, "lineage": "7c1d2f3e-0000-4000-8000-000000000001", "serial": 1,
        "stack": name, "target": "local", "resources": [], "outputs": {},
        "instances": {"service.api": {"autoscale": {"replicas": 3, "recommendations": []}}},
    });
    std::fs::write(dir.join("state.json"), serde_json::to_string(&state).unwrap()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(dir.join("state.json"), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let plan = stack.run(&["plan", "--target", "local"]).ok();
    assert_eq!(plan.stdout.matches("/docker_container.replica[").count(), 3, "{}", plan.stdout);
    assert!(
        plan.stdout.contains("Autoscaled:\n  service.api: 3 replicas (autoscaled between 1 and 5)\n"),
        "{}",
        plan.stdout
    );
    let json = stack.run(&["plan", "--target", "local", "--json"]).ok();
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        json["autoscaled"],
        serde_json::json!([{"instance": "service.api", "replicas": 3, "replicas_before": 0, "min": 1, "max": 5}])
    );
}
