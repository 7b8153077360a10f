//! UI tests as data: every directory `tests/ui/<case>/` is a stack (its
//! `*.stack.hcl` files) that the real `stackc` binary checks, with no colour
//! and a fixed width, from inside `tests/ui/` (so paths read `<case>/...`).
//!
//! Optional files of a case:
//! - `args`: extra arguments, one per line (`-var` then `replicas=3`);
//!   blank lines and `#` comments are skipped.
//! - `expect`: the diagnostic codes the case is about, one per line (nothing
//!   for a clean case).
//!
//! Per case two snapshots are compared with insta, next to the case:
//! `human.snap` (exit code, stdout, stderr of `--format human`) and
//! `json.snap` (exit code and stdout of `--format json`). The human snapshot
//! starts with the expected and actual codes and says MISMATCH when they
//! differ, so a checker that misses a diagnostic is visible in review and in
//! the diff when it is fixed (STYLE: assert what it does, mark what is wrong).
//!
//! Run `INSTA_UPDATE=always cargo nextest run -p stackc --test ui` after a
//! change to the checker's output, and review every changed `.snap`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::Run;

const WIDTH: &str = "100";

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui")
}

/// Every case directory, sorted by name.
fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(ui_dir())
        .expect("tests/ui exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    cases
}

/// Lines of an optional data file, without blanks and `#` comments.
fn data_lines(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect()
}

fn run_check(case: &Path, format: &str) -> Run {
    let name = case.file_name().expect("case name").to_string_lossy().into_owned();
    let mut command = Command::new(env!("CARGO_BIN_EXE_stackc"));
    command
        .current_dir(ui_dir())
        .arg("check")
        .arg(&name)
        .args(["--format", format])
        .args(data_lines(&case.join("args")))
        .env("NO_COLOR", "1")
        .env("COLUMNS", WIDTH)
        .env_remove("CLICOLOR_FORCE")
        // The aws target's region may come from here: cases set it in their blocks.
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION");
    let output = command.output().expect("stackc runs");
    Run::of(output)
}

/// The codes of a `--format json` run, in order.
fn codes_of(json: &str) -> Vec<String> {
    let document: serde_json::Value =
        serde_json::from_str(json).expect("--format json prints one JSON document");
    assert_eq!(document["version"], 1, "JSON schema version");
    document["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("-").to_string())
        .collect()
}

#[test]
fn ui_cases() {
    let cases = cases();
    assert!(cases.len() >= 40, "at least 40 UI cases, found {}", cases.len());
    for case in &cases {
        let name = case.file_name().expect("case name").to_string_lossy().into_owned();
        let expected: BTreeSet<String> = data_lines(&case.join("expect")).into_iter().collect();

        let json = run_check(case, "json");
        let actual_codes = codes_of(&json.stdout);
        let actual: BTreeSet<String> = actual_codes.iter().cloned().collect();
        let expected_exit = if expected.iter().any(|c| c.starts_with('E')) { 1 } else { 0 };
        let verdict =
            if expected == actual { "ok" } else { "MISMATCH (FIXME issue 2: checker output differs)" };

        let human = run_check(case, "human");
        assert_eq!(human.code, json.code, "{name}: exit code differs between formats");
        assert!(
            human.code == 0 || human.code == 1,
            "{name}: stackc crashed (exit {}):\n{}",
            human.code,
            human.stderr
        );
        if verdict == "ok" {
            assert_eq!(human.code, expected_exit, "{name}: exit code for codes {expected:?}");
        }

        let human_text = format!(
            "expected: {}\nactual:   {}\nverdict:  {verdict}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
            expected.iter().cloned().collect::<Vec<_>>().join(" "),
            actual_codes.join(" "),
            human.code,
            human.stdout,
            human.stderr,
        );
        let json_text = format!("exit: {}\n{}", json.code, json.stdout);
        insta::with_settings!({
            snapshot_path => case.clone(),
            prepend_module_to_snapshot => false,
            input_file => case.clone(),
            description => format!("stackc check {name}"),
            omit_expression => true,
        }, {
            insta::assert_snapshot!("human", human_text);
            insta::assert_snapshot!("json", json_text);
        });
    }
}

/// Every diagnostic code `check` reports is the subject of at least one
/// case (the plan-time ones, E06xx, are covered by tests/plan_apply.rs).
#[test]
fn every_code_has_a_case() {
    let expected: BTreeSet<String> =
        cases().iter().flat_map(|case| data_lines(&case.join("expect"))).collect();
    let missing: Vec<&str> = stackc_compiler::Code::ALL
        .iter()
        .filter(|c| !c.is_plan_time())
        .map(|c| c.as_str())
        .filter(|c| !expected.contains(*c))
        .collect();
    assert!(missing.is_empty(), "codes without a UI case (add tests/ui/<case>/expect): {missing:?}");
    let clean = cases().iter().filter(|case| data_lines(&case.join("expect")).is_empty()).count();
    assert!(clean >= 3, "at least three clean cases, found {clean}");
}

/// Every code has a page with the required sections, titled with its summary,
/// and `stackc explain` prints it.
#[test]
fn every_code_has_a_complete_page() {
    for code in stackc_compiler::Code::ALL {
        let page = code.page();
        let title = format!("# {}: {}\n", code.as_str(), code.summary());
        assert!(page.starts_with(&title), "{code}: page must start with `{}`", title.trim_end());
        let mut position = 0;
        for section in ["## What it means", "## Why", "## Example", "## How to fix"] {
            let found =
                page[position..].find(section).unwrap_or_else(|| panic!("{code}: no `{section}` (in order)"));
            position += found + section.len();
        }
        let example = &page[page.find("## Example").unwrap_or(0)..page.find("## How to fix").unwrap_or(0)];
        assert!(example.contains("```hcl\n"), "{code}: the example is an ```hcl block");
        assert!(page[position..].contains("```hcl\n"), "{code}: the fix shows the fixed version");
        assert!(!page.contains("TODO"), "{code}: placeholder text left");
    }
    let output =
        Command::new(env!("CARGO_BIN_EXE_stackc")).args(["explain", "e0203"]).output().expect("runs");
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("# E0203: Unknown parameter\n"));
}

/// `stackc explain` of an unknown code fails with a suggestion; `--list`
/// lists every code.
#[test]
fn explain_unknown_code_and_list() {
    let output =
        Command::new(env!("CARGO_BIN_EXE_stackc")).args(["explain", "E0230"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown diagnostic code `E0230`") && stderr.contains("did you mean `E0203`?"),
        "{stderr}"
    );

    let output =
        Command::new(env!("CARGO_BIN_EXE_stackc")).args(["explain", "--list"]).output().expect("runs");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), stackc_compiler::Code::ALL.len());
    assert!(stdout.contains("E0203  error    Unknown parameter"), "{stdout}");
}

/// Load errors (no stack files, missing path, bad -var) exit 1 with a clear
/// message in every format, never a crash.
#[test]
fn load_errors_are_reported_in_every_format() {
    let empty = std::env::temp_dir().join(format!("stackc-ui-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("temp dir");
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_stackc"))
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .expect("runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let dir = empty.to_string_lossy().into_owned();

    let (code, _, stderr) = run(&["check", &dir]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("error[E0103]: No stack files"), "{stderr}");

    let (code, stdout, _) = run(&["check", &dir, "--format", "json"]);
    assert_eq!(code, Some(1));
    assert_eq!(codes_of(&stdout), ["E0103"]);

    let (code, stdout, _) = run(&["check", &dir, "--format", "github"]);
    assert_eq!(code, Some(1));
    assert!(
        stdout.starts_with("::error file=") && stdout.contains("title=E0103 No stack files::"),
        "{stdout}"
    );

    let (code, _, stderr) = run(&["check", "/nonexistent/stack"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("does not exist"), "{stderr}");

    let ui_case = ui_dir().join("clean_minimal");
    let (code, _, stderr) = run(&["check", &ui_case.to_string_lossy(), "-var", "novalue"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("expected `name=value`"), "{stderr}");

    let var_file = empty.join("bad.hcl");
    std::fs::write(&var_file, "replicas = var.x\n").expect("write");
    let (code, _, stderr) =
        run(&["check", &ui_case.to_string_lossy(), "--var-file", &var_file.to_string_lossy()]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("only literal values"), "{stderr}");
    std::fs::remove_dir_all(&empty).expect("cleanup");
}

/// GitHub output: one workflow command per diagnostic, properties escaped.
#[test]
fn github_format_is_one_command_per_diagnostic() {
    for case in cases() {
        let output = Command::new(env!("CARGO_BIN_EXE_stackc"))
            .current_dir(ui_dir())
            .arg("check")
            .arg(case.file_name().expect("name"))
            .args(["--format", "github"])
            .args(data_lines(&case.join("args")))
            .output()
            .expect("runs");
        let json = run_check(&case, "json");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(stdout.lines().count(), codes_of(&json.stdout).len(), "{}", case.display());
        for line in stdout.lines() {
            assert!(line.starts_with("::error file=") || line.starts_with("::warning file="), "{line}");
            let (properties, _message) = line[2..].split_once("::").expect("properties::message");
            for property in properties.split_once(' ').expect("command properties").1.split(',') {
                let (key, value) = property.split_once('=').expect("key=value");
                assert!(["file", "line", "col", "endLine", "endColumn", "title"].contains(&key), "{line}");
                assert!(!value.contains(':'), "unescaped `:` in {line}");
            }
        }
    }
}
