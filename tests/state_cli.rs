//! End-to-end tests of `stackc state ...` and `stackc output`: state files
//! are written with the planner's backend API into a temp stack directory,
//! the binary runs there, and its output is snapshotted (lock ids, times
//! and holders replaced by placeholders).

use stackc_compiler::graph::ResourceAddress;
use stackc_compiler::Value;
use stackc_planner::backend::{JournalEntry, LocalBackend};
use stackc_planner::state::{OutputState, ResourceState, State};
use std::path::Path;
use std::process::Command;

mod common;
use common::Run;

fn stackc(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_stackc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run stackc");
    Run::of(output)
}

fn object(pairs: &[(&str, Value)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<stackc_compiler::Fields>())
}

fn address(text: &str) -> ResourceAddress {
    ResourceAddress(text.into())
}

fn resource(type_name: &str, id: &str, attributes: Value, dependencies: &[&str]) -> ResourceState {
    ResourceState {
        type_name: type_name.into(),
        target: None,
        id: id.into(),
        attributes,
        dependencies: dependencies.iter().map(|d| address(d)).collect(),
        tainted: false,
    }
}

/// A stack directory declaring target `aws`, with a state of four resources
/// and three outputs (serial 1).
fn stack_with_state() -> (tempfile::TempDir, LocalBackend, State) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.stack.hcl"), "target \"aws\" {\n  region = \"eu-west-3\"\n}\n")
        .unwrap();
    let backend = LocalBackend::new(dir.path(), Some("aws"));
    let mut state = State::new("shop", Some("aws".into()), "0b6f3a52-3c1e-4a4e-9d67-1f2f8f0e5d11".into());
    state.resources.insert(
        address("random_password.db"),
        resource(
            "random_password",
            "6c1f0d2e9a7b3c45",
            object(&[
                ("length", Value::Number(32.0)),
                ("special", Value::Bool(true)),
                ("override_special", Value::Null),
                ("result", Value::string("hunter2-hunter2").into_sensitive()),
                ("id", Value::string("6c1f0d2e9a7b3c45")),
            ]),
            &[],
        ),
    );
    state.resources.insert(
        address("stackc_data.seed"),
        resource(
            "stackc_data",
            "5b0e1d8c-2f4a-4d3b-8e6f-0a1b2c3d4e5f",
            object(&[
                (
                    "input",
                    object(&[
                        ("region", Value::string("eu-west-3")),
                        ("zones", Value::List(vec![Value::string("a"), Value::string("b")])),
                    ]),
                ),
                ("id", Value::string("5b0e1d8c-2f4a-4d3b-8e6f-0a1b2c3d4e5f")),
                (
                    "output",
                    object(&[
                        ("region", Value::string("eu-west-3")),
                        ("zones", Value::List(vec![Value::string("a"), Value::string("b")])),
                    ]),
                ),
            ]),
            &["random_password.db"],
        ),
    );
    for index in 0..2 {
        let name = format!("stackc_data.node[{index}]");
        state.resources.insert(
            address(&name),
            resource(
                "stackc_data",
                &format!("node-{index}"),
                object(&[("input", Value::Number(index as f64))]),
                &["stackc_data.seed"],
            ),
        );
    }
    state.outputs.insert(
        "url".into(),
        OutputState { value: Value::string("https://shop.example.com"), sensitive: false },
    );
    state.outputs.insert("replicas".into(), OutputState { value: Value::Number(4.0), sensitive: false });
    state.outputs.insert(
        "db_password".into(),
        OutputState { value: Value::string("hunter2-hunter2").into_sensitive(), sensitive: true },
    );
    state.outputs.insert(
        "endpoints".into(),
        OutputState { value: object(&[("api", Value::string("10.0.0.1:8080"))]), sensitive: false },
    );
    let guard = backend.lock("test setup").unwrap();
    backend.write(&guard, &mut state).unwrap();
    (dir, backend, state)
}

#[test]
fn list_and_show() {
    let (dir, _backend, _state) = stack_with_state();
    insta::assert_snapshot!("list", stackc(dir.path(), &["state", "list"]).transcript());
    insta::assert_snapshot!(
        "show_sensitive_hidden",
        stackc(dir.path(), &["state", "show", "random_password.db"]).transcript()
    );
    insta::assert_snapshot!(
        "show_nested",
        stackc(dir.path(), &["state", "show", "stackc_data.seed"]).transcript()
    );
    insta::assert_snapshot!(
        "show_missing",
        stackc(dir.path(), &["state", "show", "stackc_data.node"]).transcript()
    );
}

#[test]
fn commands_work_on_a_stack_that_does_not_check() {
    let (dir, _backend, _state) = stack_with_state();
    std::fs::write(dir.path().join("broken.stack.hcl"), "service \"api\" {\n  image = \n").unwrap();
    let run = stackc(dir.path(), &["state", "list"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout.lines().count(), 4);
    let run = stackc(dir.path(), &["output", "url", "--raw"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "https://shop.example.com"));
}

#[test]
fn rm_forgets_resources_and_keeps_a_backup() {
    let (dir, backend, _state) = stack_with_state();
    let run = stackc(dir.path(), &["state", "rm", "stackc_data.node", "random_password.db"]);
    insta::assert_snapshot!("rm", run.transcript());
    let state = backend.load().unwrap().unwrap();
    assert_eq!(state.serial, 2);
    assert_eq!(state.resources.keys().map(|a| a.as_str()).collect::<Vec<_>>(), ["stackc_data.seed"]);
    assert!(backend.backup_path().exists());
    assert!(!backend.lock_path().exists(), "the lock is released");
    // An unknown address removes nothing.
    let run = stackc(dir.path(), &["state", "rm", "stackc_data.seed", "nope.x"]);
    insta::assert_snapshot!("rm_missing", run.transcript());
    assert_eq!(backend.load().unwrap().unwrap().serial, 2);
}

#[test]
fn mv_renames_and_updates_dependencies() {
    let (dir, backend, _state) = stack_with_state();
    let run = stackc(dir.path(), &["state", "mv", "stackc_data.seed", "stackc_data.origin"]);
    insta::assert_snapshot!("mv", run.transcript());
    let state = backend.load().unwrap().unwrap();
    assert!(state.resources.contains_key(&address("stackc_data.origin")));
    assert_eq!(
        state.resources[&address("stackc_data.node[0]")].dependencies,
        [address("stackc_data.origin")]
    );
    // A group moves together.
    let run = stackc(dir.path(), &["state", "mv", "stackc_data.node", "stackc_data.worker"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(backend.load().unwrap().unwrap().resources.contains_key(&address("stackc_data.worker[1]")));
    // Taken destination, other type: refused, nothing changes.
    let serial = backend.load().unwrap().unwrap().serial;
    insta::assert_snapshot!(
        "mv_taken",
        stackc(dir.path(), &["state", "mv", "stackc_data.origin", "stackc_data.worker[0]"]).transcript()
    );
    insta::assert_snapshot!(
        "mv_other_type",
        stackc(dir.path(), &["state", "mv", "random_password.db", "stackc_data.db"]).transcript()
    );
    assert_eq!(backend.load().unwrap().unwrap().serial, serial);
}

#[test]
fn held_lock_is_reported_and_unlock_releases_it() {
    let (dir, backend, _state) = stack_with_state();
    let guard = backend.lock("apply").unwrap();
    let info = guard.info().clone();
    let redact = |text: String| {
        text.replace(&info.id, "<ID>")
            .replace(&info.time, "<TIME>")
            .replace(&info.holder, "<USER@HOST>")
            .replace(&format!("pid {}", info.pid), "pid <PID>")
    };
    let run = stackc(dir.path(), &["state", "rm", "stackc_data.seed"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("locked", redact(run.transcript()));
    let run = stackc(dir.path(), &["state", "unlock", "0123456789abcdef"]);
    insta::assert_snapshot!("unlock_wrong_id", redact(run.transcript()));
    // The holder (this test) still runs: refused without --force.
    let run = stackc(dir.path(), &["state", "unlock", &info.id]);
    insta::assert_snapshot!("unlock_holder_running", redact(run.transcript()));
    assert!(backend.lock_path().exists());
    let run = stackc(dir.path(), &["state", "unlock", &info.id, "--force"]);
    insta::assert_snapshot!("unlock", redact(run.transcript()));
    assert!(!backend.lock_path().exists());
    let run = stackc(dir.path(), &["state", "rm", "stackc_data.seed"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    drop(guard);
}

#[test]
fn outputs() {
    let (dir, _backend, _state) = stack_with_state();
    insta::assert_snapshot!("output_all", stackc(dir.path(), &["output"]).transcript());
    insta::assert_snapshot!("output_json", stackc(dir.path(), &["output", "--json"]).transcript());
    insta::assert_snapshot!("output_sensitive", stackc(dir.path(), &["output", "db_password"]).transcript());
    let run = stackc(dir.path(), &["output", "db_password", "--raw"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "hunter2-hunter2"));
    let run = stackc(dir.path(), &["output", "db_password", "--json"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "\"hunter2-hunter2\"\n"));
    insta::assert_snapshot!(
        "output_raw_object",
        stackc(dir.path(), &["output", "endpoints", "--raw"]).transcript()
    );
    insta::assert_snapshot!("output_missing", stackc(dir.path(), &["output", "nope"]).transcript());
}

#[test]
fn target_is_inferred_or_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    // No state and no declared target: the default state, which is absent.
    insta::assert_snapshot!("no_state", stackc(dir.path(), &["state", "list"]).transcript());
    assert_eq!(stackc(dir.path(), &["state", "show", "x.y"]).code, 1);
    for target in ["aws", "kubernetes"] {
        let backend = LocalBackend::new(dir.path(), Some(target));
        let mut state = backend.new_state("shop").unwrap();
        state.resources.insert(
            address(&format!("stackc_data.{target}")),
            resource("stackc_data", target, object(&[]), &[]),
        );
        let guard = backend.lock("setup").unwrap();
        backend.write(&guard, &mut state).unwrap();
    }
    insta::assert_snapshot!("ambiguous", stackc(dir.path(), &["state", "list"]).transcript());
    let run = stackc(dir.path(), &["state", "list", "--target", "kubernetes"]);
    assert_eq!(run.stdout, "stackc_data.kubernetes\n");
    // The stack's only declared target settles it.
    std::fs::write(dir.path().join("main.stack.hcl"), "target \"aws\" {}\n").unwrap();
    assert_eq!(stackc(dir.path(), &["state", "list"]).stdout, "stackc_data.aws\n");
    // A path to the stack dir from elsewhere works the same.
    let parent = dir.path().parent().unwrap();
    let name = dir.path().file_name().unwrap().to_str().unwrap();
    assert_eq!(stackc(parent, &["state", "list", name]).stdout, "stackc_data.aws\n");
}

#[test]
fn corrupt_state_is_an_error_and_untouched() {
    let (dir, backend, _state) = stack_with_state();
    let text = std::fs::read_to_string(backend.state_path()).unwrap();
    let truncated = &text[..text.len() / 3];
    std::fs::write(backend.state_path(), truncated).unwrap();
    let run = stackc(dir.path(), &["state", "list"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("state.json") && run.stderr.contains("truncated"), "{}", run.stderr);
    let run = stackc(dir.path(), &["state", "rm", "stackc_data.seed"]);
    assert_eq!(run.code, 1);
    assert_eq!(std::fs::read_to_string(backend.state_path()).unwrap(), truncated);
    std::fs::write(
        backend.state_path(),
        "{\"version\": 1,\n \"lineage\": \"x\", \"serial\": 1, \"stack\": \"s\", \"oops\": 1}",
    )
    .unwrap();
    insta::assert_snapshot!("corrupt", stackc(dir.path(), &["state", "list"]).transcript());
}

#[test]
fn interrupted_apply_is_recovered() {
    let (dir, backend, mut state) = stack_with_state();
    let guard = backend.lock("apply").unwrap();
    let mut journal = backend.begin_journal(&guard, &mut state).unwrap();
    journal.record(&JournalEntry::Remove(address("stackc_data.node[1]"))).unwrap();
    journal
        .record(&JournalEntry::Put(
            address("stackc_data.extra"),
            resource("stackc_data", "e", object(&[]), &[]),
        ))
        .unwrap();
    drop(journal);
    drop(guard);
    insta::assert_snapshot!("recovered", stackc(dir.path(), &["state", "list"]).transcript());
}

/// Every command that works on a stack takes `[PATH]` first, run here from
/// the stack directory's parent: `output [PATH] [NAME]`, `state list
/// [PATH]`, `state show [PATH] ADDRESS`, `state mv [PATH] FROM TO`, `state
/// rm [PATH] ADDRESS...`, `state unlock [PATH] ID`; `-C DIR` still works.
#[test]
fn the_stack_path_comes_first_everywhere() {
    let (dir, backend, _state) = stack_with_state();
    let parent = dir.path().parent().unwrap();
    let name = dir.path().file_name().unwrap().to_str().unwrap();
    let inside = |args: &[&str]| stackc(dir.path(), args);
    let outside = |args: &[&str]| stackc(parent, args);

    // output: one operand is the PATH when it names a directory, else the NAME.
    assert_eq!(outside(&["output", name]).stdout, inside(&["output"]).stdout);
    assert_eq!(outside(&["output", name, "url", "--raw"]).stdout, "https://shop.example.com");
    assert_eq!(inside(&["output", "url", "--raw"]).stdout, "https://shop.example.com");
    assert_eq!(outside(&["output", "-C", name, "url", "--raw"]).stdout, "https://shop.example.com");
    let run = outside(&["output", name, "url", "-C", name]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("the stack directory is given twice"), "{}", run.stderr);
    let run = outside(&["output", "no/such-stack"]);
    assert_eq!(run.stderr, "error: `no/such-stack` is not a directory\n");
    let run = outside(&["output", name, "--raw"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("`--raw` prints one output: name it"), "{}", run.stderr);

    // state list and show.
    assert_eq!(outside(&["state", "list", name]).stdout, inside(&["state", "list"]).stdout);
    let show = outside(&["state", "show", name, "random_password.db"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert_eq!(show.stdout, inside(&["state", "show", "random_password.db"]).stdout);
    // The order of earlier versions is refused with the order to use.
    let run = outside(&["state", "show", "random_password.db", name]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!(
            "error: `random_password.db` is not a directory and `{name}` is: the stack directory comes first \
             (`stackc state show {name} random_password.db`)\n"
        )
    );

    // state mv and rm (and rm's -C).
    outside(&["state", "mv", name, "stackc_data.seed", "stackc_data.origin"]).ok();
    outside(&["state", "rm", name, "stackc_data.origin", "random_password.db"]).ok();
    outside(&["state", "rm", "-C", name, "stackc_data.node"]).ok();
    assert!(backend.load().unwrap().unwrap().resources.is_empty());

    // state unlock, and the command the lock error names works as shown.
    let guard = backend.lock("apply").unwrap();
    let locked = outside(&["state", "rm", name, "x.y"]);
    let command = format!("stackc state unlock {name} {} --target aws", guard.id());
    assert!(locked.stderr.contains(&command), "{}", locked.stderr);
    // Its holder (this test) still runs: unlock refuses, --force releases.
    let refused = outside(&["state", "unlock", name, guard.id()]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("pass --force"), "{}", refused.stderr);
    assert!(backend.lock_path().exists());
    outside(&["state", "unlock", name, guard.id(), "--force"]).ok();
    assert!(!backend.lock_path().exists());
    drop(guard);
}
