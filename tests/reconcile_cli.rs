//! `stackc reconcile` and `stackc status` on a stack of built-in resources
//! only (no Engine, no AWS): what a pass compiles (the configuration the
//! last apply recorded, or `--from-source`), the lock held by another
//! command, a state without a recorded configuration, the JSON lines.
//! The Engine and moto cases are in `reconcile_local.rs` and
//! `reconcile_aws.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::Run;

const STACK: &str = r#"
variable "size" {
  type    = number
  default = 2
}

resource "stackc_data" "seed" {
  input = { size = var.size }
}

output "size" {
  value = stackc_data.seed.output.size
}
"#;

struct Demo {
    _root: tempfile::TempDir,
    dir: PathBuf,
}

impl Demo {
    fn new() -> Demo {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("demo");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.stack.hcl"), STACK).unwrap();
        Demo { _root: root, dir }
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::of(
            Command::new(env!("CARGO_BIN_EXE_stackc"))
                .args(args)
                .current_dir(&self.dir)
                .env("NO_COLOR", "1")
                .env("COLUMNS", "100")
                .output()
                .unwrap(),
        )
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join(".stackc/default/state.json")
    }

    fn state(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.state_path()).unwrap()).unwrap()
    }

    fn seed_size(&self) -> serde_json::Value {
        let state = self.state();
        let seed = state["resources"].as_array().unwrap().iter().find(|r| r["address"] == "stackc_data.seed");
        seed.unwrap()["attributes"]["input"]["size"].clone()
    }
}

/// Event lines with their durations as `<t>`, so they can be compared.
fn stable(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut words: Vec<String> = Vec::new();
        for word in line.split(' ') {
            let core = word.trim_start_matches('(').trim_end_matches(')');
            let timing = core.strip_suffix('s').is_some_and(|n| !n.is_empty() && n.parse::<f64>().is_ok());
            words.push(if timing { word.replace(core, "<t>") } else { word.to_string() });
        }
        out.push_str(&words.join(" "));
        out.push('\n');
    }
    out
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_pass_compiles_what_was_applied_and_from_source_follows_the_disk() {
    let demo = Demo::new();
    let none = demo.run(&["reconcile"]).code(1);
    assert!(none.stdout.contains("nothing was applied yet"), "{}", none.stdout);

    demo.run(&["apply", "-var", "size=3", "--auto-approve"]).ok();
    let applied = &demo.state()["applied"];
    assert_eq!(applied["variables"]["size"], 3, "{applied}");
    assert_eq!(applied["files"][0]["name"], "main.stack.hcl");
    assert_eq!(demo.state()["version"], 2);

    // Half-edited on disk: a new default and a file that does not parse.
    write(&demo.dir.join("main.stack.hcl"), &STACK.replace("default = 2", "default = 5"));
    write(&demo.dir.join("wip.stack.hcl"), "service \"half\" {\n");
    let pass = demo.run(&["reconcile"]).ok();
    insta::assert_snapshot!("converged", stable(&pass.stdout));
    assert_eq!(demo.seed_size(), 3, "the pass kept the applied configuration");
    // -var belongs to --from-source.
    let usage = demo.run(&["reconcile", "-var", "size=4"]).code(64);
    assert!(usage.stderr.contains("go with --from-source"), "{}", usage.stderr);

    // --from-source compiles the disk: it does not parse, so the pass fails.
    let broken = demo.run(&["reconcile", "--from-source"]).code(1);
    assert!(broken.stderr.contains("E0101"), "{}", broken.stderr);
    assert!(broken.stdout.contains("does not compile"), "{}", broken.stdout);
    assert_eq!(demo.seed_size(), 3);

    // Fixed: --from-source applies it and records it as the applied one.
    std::fs::remove_file(demo.dir.join("wip.stack.hcl")).unwrap();
    let followed = demo.run(&["reconcile", "--from-source"]).ok();
    insta::assert_snapshot!("from_source", stable(&followed.stdout));
    assert_eq!(demo.seed_size(), 5);
    assert_eq!(demo.state()["applied"]["variables"]["size"], 5);
    demo.run(&["reconcile"]).ok();
    assert_eq!(demo.seed_size(), 5, "the next pass keeps what --from-source applied");

    // A destroy clears the record: nothing is left to keep.
    demo.run(&["destroy", "--auto-approve"]).ok();
    assert!(demo.state().get("applied").is_none(), "{}", demo.state());
}

#[test]
fn a_lock_held_by_another_command_skips_the_pass_and_names_its_holder() {
    let demo = Demo::new();
    demo.run(&["apply", "--auto-approve"]).ok();
    let serial = demo.state()["serial"].clone();
    // The lock as a running `apply` holds it: this test's process is alive.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_string();
    let lock = serde_json::json!({
        "id": "0123456789abcdef",
        "holder": format!("alice@{host}"),
        "pid": std::process::id(),
        "operation": "apply",
        "time": "2026-12-02T14:00:00Z",
    });
    let lock_path = demo.dir.join(".stackc/default/state.lock");
    write(&lock_path, &lock.to_string());

    let skipped = demo.run(&["reconcile"]).ok();
    assert_eq!(
        skipped.stdout,
        format!(
            "pass 1: skipped: the state is locked by alice@{host} (pid {}) for `apply` since 2026-12-02T14:00:00Z\n",
            std::process::id()
        )
    );
    let json = demo.run(&["reconcile", "--json"]).ok();
    let events: Vec<serde_json::Value> =
        json.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events[0]["event"], "skipped");
    assert_eq!(events[0]["holder"], format!("alice@{host}"));
    assert_eq!(events[0]["operation"], "apply");
    assert_eq!((events[1]["event"].as_str(), events[1]["outcome"].as_str()), (Some("pass"), Some("skipped")));
    assert!(lock_path.exists(), "another command's lock is left alone");
    assert_eq!(demo.state()["serial"], serial, "nothing was written");
    std::fs::remove_file(&lock_path).unwrap();
    demo.run(&["reconcile"]).ok();
    assert!(!lock_path.exists(), "the pass released its own lock");
}

#[test]
fn a_state_without_a_recorded_configuration_says_how_to_get_one() {
    let demo = Demo::new();
    demo.run(&["apply", "--auto-approve"]).ok();
    // As an older stackc wrote it: format version 1, no `applied`.
    let mut old = demo.state();
    old["version"] = serde_json::json!(1);
    old.as_object_mut().unwrap().remove("applied");
    write(&demo.state_path(), &serde_json::to_string_pretty(&old).unwrap());
    let pass = demo.run(&["reconcile", "--json"]).code(1);
    let first: serde_json::Value = serde_json::from_str(pass.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["event"], "error");
    assert!(first["message"].as_str().unwrap().contains("run `stackc apply` once"), "{first}");
    // The state loads for every other command, and an apply records it.
    demo.run(&["plan", "--detailed-exitcode"]).ok();
    demo.run(&["apply", "--auto-approve"]).ok();
    assert_eq!(demo.state()["version"], 2);
    assert!(demo.state()["applied"].is_object());
    demo.run(&["reconcile"]).ok();
}

#[test]
fn status_lists_each_instance_without_taking_the_lock() {
    let demo = Demo::new();
    demo.run(&["apply", "--auto-approve"]).ok();
    write(
        &demo.dir.join(".stackc/default/state.lock"),
        &serde_json::json!({"id": "1", "holder": "a@b", "pid": 1, "operation": "apply", "time": "t"})
            .to_string(),
    );
    let status = demo.run(&["status"]).ok();
    insta::assert_snapshot!("status", status.stdout);
    let json = demo.run(&["status", "--json"]).ok();
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["instances"][0]["instance"], "stackc_data.seed");
    assert_eq!(document["instances"][0]["replicas"], serde_json::Value::Null);
    assert_eq!(document["instances"][0]["autoscaled"], serde_json::Value::Null);
}
