//! The stacks of `examples/` as tests, discovered automatically (every
//! directory with a `*.stack.hcl` file). For each example, through the real
//! `stackc` binary, run from the workspace root (graphs and builds from a
//! copy of the examples, so no state left in them counts):
//!
//! - `stackc check` finds nothing at all (no error, no warning);
//! - `stackc build --format json` for every target it declares (or once,
//!   without a target, when it declares none) is an insta snapshot
//!   (`tests/snapshots/examples__<example>-<target>.snap`);
//! - for Kubernetes, `stackc build -o DIR` on a clean copy (no state) exits
//!   0 with every manifest, the generated secrets made and recorded in the
//!   copy's state, each Secret file readable by its owner only; a second
//!   build writes the same bytes; the manifests all pass
//!   `kubernetes-validate --strict` against Kubernetes 1.33, in one
//!   invocation over every file of every example; and every Service selector
//!   and HorizontalPodAutoscaler target matches a workload of the same build.
//!
//! - the target-independent example (built-in resources only) is planned,
//!   applied, planned again (empty) and destroyed, in a copy.
//!
//! The schema validation needs the Python venv `scripts/test` sets up
//! (`STACKC_TEST_VENV`); without it the test fails, saying so, unless
//! `STACKC_SKIP_PYTHON` is set (for a quick local run; CI always has it).

use stackc_compiler::graph::{ResourceAddress, ResourceGraph, ResourceNode};
use stackc_compiler::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::Run;

const KUBERNETES_VERSION: &str = "1.33.0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every example directory, by name.
fn examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("examples"))
        .expect("examples/ exists")
        .map(|entry| entry.expect("readable").path())
        .filter(|path| path.is_dir() && !stack_files(path).is_empty())
        .map(|path| path.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn stack_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.to_string_lossy().ends_with(".stack.hcl"));
    files.sort();
    files
}

/// The targets an example declares (`target "<name>"` blocks), in order.
fn declared_targets(example: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for file in stack_files(&root().join("examples").join(example)) {
        let text = std::fs::read_to_string(&file).expect("readable");
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("target \"") {
                if let Some((name, _)) = rest.split_once('"') {
                    targets.push(name.to_string());
                }
            }
        }
    }
    targets
}

fn stackc(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_stackc"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("stackc runs");
    Run::of(output)
}

#[test]
fn there_are_examples_of_every_kind() {
    let examples = examples();
    assert!(examples.len() >= 4, "{examples:?}");
    assert!(examples.contains(&"shop".to_string()));
    assert_eq!(declared_targets("shop"), ["local", "aws", "kubernetes"]);
    // At least one runs anywhere: no target, built-in resources only.
    assert!(examples.iter().any(|e| declared_targets(e).is_empty()), "{examples:?}");
}

#[test]
fn every_example_checks_without_any_diagnostic() {
    for example in examples() {
        let path = format!("examples/{example}");
        let run = stackc(&root(), &["check", &path, "--format", "json"]);
        let document: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
        assert_eq!(
            (run.code, &document["diagnostics"]),
            (0, &serde_json::json!([])),
            "{example}: {}",
            run.stdout
        );
        let human = stackc(&root(), &["check", &path]);
        assert_eq!(human.stderr, "ok: no problems found\n", "{example}");
    }
}

/// `None` for an example without targets.
fn targets_to_build(example: &str) -> Vec<Option<String>> {
    let declared = declared_targets(example);
    if declared.is_empty() {
        vec![None]
    } else {
        declared.into_iter().map(Some).collect()
    }
}

fn graph_json(dir: &Path, example_path: &str, target: Option<&str>) -> String {
    let mut args = vec!["build", example_path, "--format", "json"];
    if let Some(target) = target {
        args.extend(["--target", target]);
    }
    let run = stackc(dir, &args);
    assert_eq!(run.code, 0, "{example_path} {target:?}: {}", run.stderr);
    assert_eq!(run.stderr, "", "{example_path} {target:?}: no warning, no message");
    run.stdout
}

/// A copy of every example at `examples/<name>` in a temporary directory:
/// the same paths as in the repository, without the state a `stackc build`
/// or `apply` run by hand leaves in an example (values it generated would
/// show in the graph).
fn clean_examples() -> tempfile::TempDir {
    let temp = tempfile::tempdir().expect("temp dir");
    for example in examples() {
        copy_stack(&root().join("examples").join(&example), &temp.path().join("examples").join(&example));
    }
    temp
}

#[test]
fn every_expansion_is_a_snapshot() {
    let clean = clean_examples();
    for example in examples() {
        for target in targets_to_build(&example) {
            let json = graph_json(clean.path(), &format!("examples/{example}"), target.as_deref());
            let name = format!("{example}-{}", target.as_deref().unwrap_or("no-target"));
            insta::with_settings!({
                description => format!("stackc build examples/{example} --format json{}",
                    target.as_deref().map(|t| format!(" --target {t}")).unwrap_or_default()),
                omit_expression => true,
            }, {
                insta::assert_snapshot!(name, json);
            });
        }
    }
}

/// The addresses of the `random_password` resources of a graph JSON.
fn generated_passwords(json: &str) -> Vec<String> {
    let document: serde_json::Value = serde_json::from_str(json).expect("graph JSON");
    document["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["type"] == "random_password")
        .map(|r| r["address"].as_str().expect("address").to_string())
        .collect()
}

/// Copies the files of a stack directory (not `.stackc/`: no state).
fn copy_stack(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("copy dir");
    for entry in std::fs::read_dir(from).expect("readable").flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copied");
        }
    }
}

/// Rebuilds the graph's `kubernetes_manifest` nodes from its JSON (values
/// known at build time; unknown and sensitive ones are null there).
fn manifests_of(json: &str) -> Vec<stackc_provider_kubernetes::manifest::Manifest> {
    let document: serde_json::Value = serde_json::from_str(json).expect("graph JSON");
    let mut graph = ResourceGraph::new();
    for resource in document["resources"].as_array().expect("resources") {
        graph
            .add(ResourceNode {
                address: ResourceAddress(resource["address"].as_str().expect("address").to_string()),
                type_name: resource["type"].as_str().expect("type").to_string(),
                target: resource["target"].as_str().map(str::to_string),
                values: Value::from_json(&resource["values"]),
                deferred: None,
                dependencies: Vec::new(),
                provenance: Vec::new(),
            })
            .expect("unique addresses");
    }
    stackc_provider_kubernetes::manifest::collect(&graph).expect("every manifest has its identity")
}

#[test]
fn kubernetes_manifests_reference_their_own_workloads() {
    let clean = clean_examples();
    for example in examples().into_iter().filter(|e| declared_targets(e).contains(&"kubernetes".into())) {
        let json = graph_json(clean.path(), &format!("examples/{example}"), Some("kubernetes"));
        let manifests = manifests_of(&json);
        assert!(!manifests.is_empty(), "{example}");
        let problems = stackc_provider_kubernetes::manifest::dangling_references(&manifests);
        assert_eq!(problems, Vec::<String>::new(), "{example}");
    }
}

#[test]
fn kubernetes_manifests_pass_the_official_schemas() {
    let temp = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for example in examples().into_iter().filter(|e| declared_targets(e).contains(&"kubernetes".into())) {
        let stack = temp.path().join(&example);
        copy_stack(&root().join("examples").join(&example), &stack);
        let json = graph_json(temp.path(), &example, Some("kubernetes"));
        let mut secrets = 0;
        let build = |out: &Path| {
            let out_arg = out.to_string_lossy().into_owned();
            stackc(temp.path(), &["build", &example, "--target", "kubernetes", "-o", &out_arg])
        };
        let out = temp.path().join(format!("{example}-manifests"));
        let run = build(&out);
        assert_eq!(run.code, 0, "{example}: {}", run.stderr);
        let written: Vec<PathBuf> = {
            let mut written: Vec<PathBuf> =
                std::fs::read_dir(&out).expect("out dir").flatten().map(|e| e.path()).collect();
            written.sort();
            written
        };
        // Every manifest of the graph was written (the secrets too).
        assert_eq!(written.len(), manifests_of(&json).len(), "{example}: {written:?}");
        // The generated passwords are in the copy's state, as apply records them.
        let state = std::fs::read_to_string(stack.join(".stackc/kubernetes/state.json")).expect("state");
        for address in generated_passwords(&json) {
            assert!(state.contains(&format!("\"address\": \"{address}\"")), "{example}: {address}");
        }
        assert!(!stack.join(".stackc/kubernetes/state.lock").exists(), "{example}: lock released");
        for file in &written {
            let text = std::fs::read_to_string(file).expect("manifest");
            #[cfg(unix)]
            if text.contains("\nkind: Secret\n") {
                use std::os::unix::fs::PermissionsExt;
                secrets += 1;
                let mode = std::fs::metadata(file).expect("file").permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}: a Secret is readable by its owner only", file.display());
            }
        }
        #[cfg(unix)]
        assert_eq!(secrets, generated_passwords(&json).len(), "{example}: one Secret per generated password");
        // A second build reuses the generated values: the same bytes.
        let again = temp.path().join(format!("{example}-again"));
        let run = build(&again);
        assert_eq!(run.code, 0, "{example}: {}", run.stderr);
        assert!(!run.stderr.contains("generated"), "{example}: nothing generated twice: {}", run.stderr);
        for file in &written {
            let name = file.file_name().expect("name");
            let second = std::fs::read(again.join(name)).expect("written again");
            assert!(std::fs::read(file).expect("first") == second, "{}", name.to_string_lossy());
        }
        files.extend(written);
    }
    assert!(files.len() > 20, "{files:?}");

    let Some(venv) = std::env::var_os("STACKC_TEST_VENV") else {
        if std::env::var_os("STACKC_SKIP_PYTHON").is_some() {
            eprintln!("skipped kubernetes-validate: STACKC_SKIP_PYTHON is set");
            return;
        }
        panic!(
            "STACKC_TEST_VENV is not set: run the tests with `bash scripts/test` (it sets up the venv with \
             kubernetes-validate), or set STACKC_SKIP_PYTHON=1 to skip the schema validation locally"
        );
    };
    let output = Command::new(Path::new(&venv).join("bin/kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .args(&files)
        .output()
        .expect("kubernetes-validate runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let passed =
        stdout.lines().filter(|l| l.starts_with("INFO") && l.contains(" passed for resource ")).count();
    assert_eq!(passed, files.len(), "one passing document per file:\n{stdout}\n{stderr}");
    assert!(!stdout.contains("ERROR") && !stdout.contains("WARN"), "{stdout}");
}

/// The example that runs anywhere does: plan, apply, an empty plan after
/// it, destroy (with the pause shortened, to keep the suite fast).
#[test]
fn the_target_independent_example_applies_and_destroys() {
    let temp = tempfile::tempdir().expect("temp dir");
    let stack = temp.path().join("release-token");
    copy_stack(&root().join("examples/release-token"), &stack);
    let run_in = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["release-token", "-var", "settle=0s"]);
        stackc(temp.path(), &all)
    };
    let plan = run_in(&["plan"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("Plan: 4 to add, 0 to change, 0 to destroy."), "{}", plan.stdout);
    let apply = run_in(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert!(apply.stdout.contains("announcement = \"Release staging-1.4.2 is out.\""), "{}", apply.stdout);
    assert!(apply.stdout.contains("api_token    = (sensitive)"), "{}", apply.stdout);
    assert!(stack.join(".stackc/default/state.json").is_file());
    let again = run_in(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "after apply the plan is empty: {}{}", again.stdout, again.stderr);
    let destroy = run_in(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}{}", destroy.stdout, destroy.stderr);
    let list = stackc(temp.path(), &["state", "list", "release-token"]);
    assert_eq!((list.code, list.stdout.as_str()), (0, ""), "{}", list.stderr);
}
