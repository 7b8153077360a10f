//! End-to-end tests of what a new user meets in the first hour (issue 16),
//! through the real binary, each in a fresh temporary directory: `init`,
//! `validate`, shell completions and the man page, `explain` without a
//! code, the hint `destroy` gives without a terminal, that a plan leaves no
//! empty state directories behind, what `.gitignore` covers, and that the
//! test moto leaves no log behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::Run;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stackc(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_stackc"))
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("stackc runs");
    Run::of(output)
}

/// A copy of `examples/release-token` (built-in resources only) in `dir`.
fn release_token(dir: &Path) -> PathBuf {
    let stack = dir.join("release-token");
    std::fs::create_dir_all(&stack).expect("stack dir");
    let from = root().join("examples/release-token/main.stack.hcl");
    std::fs::copy(from, stack.join("main.stack.hcl")).expect("copied");
    stack
}

#[test]
fn init_writes_a_starter_stack_that_checks_and_builds_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = stackc(dir.path(), &["init", "my_app"]).ok();
    assert_eq!(
        run.stderr,
        "wrote my_app/main.stack.hcl; next: `stackc check my_app`, then `stackc build my_app -o out/`\n"
    );
    let file = dir.path().join("my_app/main.stack.hcl");
    let text = std::fs::read_to_string(&file).expect("written");
    for wanted in
        ["service \"web\"", "target \"kubernetes\"", "namespace = \"my-app\"", "stackc explain", "examples/"]
    {
        assert!(text.contains(wanted), "{wanted} missing from:\n{text}");
    }
    assert_eq!(text.matches("\ntarget \"").count(), 1, "one target block");
    // As written: no diagnostic, and manifests for kubectl.
    let check = stackc(dir.path(), &["check", "my_app"]).ok();
    assert_eq!(check.stderr, "ok: no problems found\n");
    let build = stackc(dir.path(), &["build", "my_app", "-o", "out"]).ok();
    assert!(build.stderr.starts_with("wrote 3 manifests to out"), "{}", build.stderr);

    // A second init refuses and leaves the file as it was.
    std::fs::write(&file, "# mine\n").expect("edited");
    let run = stackc(dir.path(), &["init", "my_app"]).code(1);
    insta::assert_snapshot!("init_refuses", run.transcript());
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), "# mine\n");
    // A file in the way is an error too.
    std::fs::write(dir.path().join("plain"), "x").expect("file");
    let run = stackc(dir.path(), &["init", "plain"]).code(1);
    assert_eq!(run.stderr, "error: `plain` exists and is not a directory\n");
}

#[test]
fn validate_is_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    stackc(dir.path(), &["init", "app"]).ok();
    let (check, validate) = (stackc(dir.path(), &["check", "app"]), stackc(dir.path(), &["validate", "app"]));
    assert_eq!(validate.transcript(), check.transcript());
    assert_eq!(validate.code, 0);
    std::fs::write(dir.path().join("app/broken.stack.hcl"), "service \"x\" { replicas = \"two\" }\n")
        .expect("broken");
    let (check, validate) = (stackc(dir.path(), &["check", "app"]), stackc(dir.path(), &["validate", "app"]));
    assert_eq!(validate.code, 1);
    assert_eq!(validate.transcript(), check.transcript());
}

#[test]
fn completions_and_the_man_page_come_from_the_command_definitions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bash = stackc(dir.path(), &["completions", "bash"]).ok();
    // Every subcommand is completed, the new ones too.
    for subcommand in
        ["init", "check", "validate", "build", "plan", "apply", "state", "output", "completions", "man"]
    {
        assert!(bash.stdout.contains(subcommand), "bash completion lacks {subcommand}");
    }
    let script = dir.path().join("stackc.bash");
    std::fs::write(&script, &bash.stdout).expect("script");
    let syntax = Command::new("bash").arg("-n").arg(&script).output().expect("bash runs");
    assert!(syntax.status.success(), "{}", String::from_utf8_lossy(&syntax.stderr));
    let zsh = stackc(dir.path(), &["completions", "zsh"]).ok();
    assert!(zsh.stdout.starts_with("#compdef stackc"), "{}", &zsh.stdout[..40.min(zsh.stdout.len())]);
    let fish = stackc(dir.path(), &["completions", "fish"]).ok();
    assert!(fish.stdout.contains("complete -c stackc"), "{}", fish.stdout);
    let run = stackc(dir.path(), &["completions", "tcsh"]).code(64);
    assert!(run.stderr.contains("[possible values: bash, zsh, fish]"), "{}", run.stderr);

    let man = stackc(dir.path(), &["man"]).ok();
    assert!(man.stdout.contains(".TH stackc 1"), "{}", man.stdout);
    for subcommand in ["init", "check", "completions", "explain"] {
        assert!(man.stdout.contains(subcommand), "the man page lacks {subcommand}");
    }
}

#[test]
fn explain_without_a_code_names_both_ways() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = stackc(dir.path(), &["explain"]).code(64);
    insta::assert_snapshot!("explain_without_code", run.transcript());
    assert!(stackc(dir.path(), &["explain", "--list"]).ok().stdout.contains("E0203"));
}

#[test]
fn without_a_terminal_destroy_suggests_a_destroy_plan() {
    let dir = tempfile::tempdir().expect("temp dir");
    release_token(dir.path());
    stackc(dir.path(), &["apply", "release-token", "-var", "settle=0s", "--auto-approve"]).ok();
    let run = stackc(dir.path(), &["destroy", "release-token", "-var", "settle=0s"]).code(1);
    assert!(
        run.stderr.contains(
            "save it with `stackc plan --destroy --out FILE` and run `stackc apply FILE`. Nothing was changed."
        ),
        "{}",
        run.stderr
    );
    // The suggestion works: the saved plan destroys.
    let plan =
        stackc(dir.path(), &["plan", "release-token", "-var", "settle=0s", "--destroy", "--out", "d.plan"]);
    assert!(plan.ok().stdout.contains("0 to add, 0 to change, 4 to destroy"));
    stackc(dir.path(), &["apply", "d.plan"]).ok();
    // apply's own hint has no `--destroy`.
    let run = stackc(dir.path(), &["apply", "release-token", "-var", "settle=0s"]).code(1);
    assert!(run.stderr.contains("save it with `stackc plan --out FILE`"), "{}", run.stderr);
}

#[test]
fn a_plan_leaves_no_empty_state_directories() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stack = release_token(dir.path());
    stackc(dir.path(), &["plan", "release-token"]).ok();
    assert!(!stack.join(".stackc").exists(), "a plan with no state left .stackc/");
    // A plan that fails after taking the lock: kubernetes has no API client.
    std::fs::write(
        stack.join("kube.stack.hcl"),
        "on \"kubernetes\" {\n  resource \"kubernetes_manifest\" \"cm\" {\n    manifest = { apiVersion = \"v1\", \
         kind = \"ConfigMap\", metadata = { name = \"cm\", namespace = \"x\" } }\n  }\n}\n\ntarget \
         \"kubernetes\" {\n  namespace = \"x\"\n}\n",
    )
    .expect("file");
    let run = stackc(dir.path(), &["plan", "release-token", "--target", "kubernetes"]).code(1);
    assert!(run.stderr.contains("no Kubernetes API client"), "{}", run.stderr);
    assert!(!stack.join(".stackc").exists(), "a failed plan left .stackc/");
    // With a state, the directory stays, of course.
    std::fs::remove_file(stack.join("kube.stack.hcl")).expect("removed");
    stackc(dir.path(), &["apply", "release-token", "-var", "settle=0s", "--auto-approve"]).ok();
    assert!(stack.join(".stackc/default/state.json").exists());
}

#[test]
fn what_the_readme_makes_is_ignored_by_git() {
    let ignore = std::fs::read_to_string(root().join(".gitignore")).expect(".gitignore");
    let lines: Vec<&str> = ignore.lines().collect();
    for wanted in ["/out/", "*.plan", ".stackc/"] {
        assert!(lines.contains(&wanted), "{wanted} not in .gitignore:\n{ignore}");
    }
}

/// `scripts/moto.sh` removes moto's log when it stops moto.
#[test]
fn the_test_moto_leaves_no_log_behind() {
    let Some(venv) = std::env::var_os("STACKC_TEST_VENV") else {
        if std::env::var_os("STACKC_SKIP_PYTHON").is_some() {
            eprintln!("skipped: STACKC_SKIP_PYTHON is set");
            return;
        }
        panic!("STACKC_TEST_VENV is not set: run the tests with `bash scripts/test` (it sets up moto)");
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let output = Command::new("bash")
        .arg("-c")
        .arg(". scripts/moto.sh && moto_start \"$VENV\" && echo \"$MOTO_LOG\" && test -f \"$MOTO_LOG\"")
        .current_dir(root())
        .env("VENV", &venv)
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let log = PathBuf::from(stdout.trim());
    assert!(log.starts_with(tmp.path()), "{}", log.display());
    assert!(!log.exists(), "moto's log is left at {}", log.display());
    assert_eq!(std::fs::read_dir(tmp.path()).expect("tmp").count(), 0);
}

/// The README's set-up and moto lines say what a new user needs, and its
/// count of what the shop creates on AWS is the plan's.
#[test]
fn the_readme_says_what_a_new_user_needs() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    for wanted in [
        "apt install python3-venv",
        "cargo install --path .",
        "target/release/stackc",
        "MOTO_IAM_LOAD_MANAGED_POLICIES=true .venv/bin/moto_server -p 5000 &",
        ".venv/bin/python scripts/aws-check.py --endpoint http://127.0.0.1:5000 owned shop",
        "Drawing it needs Graphviz",
    ] {
        assert!(flat.contains(wanted), "README.md does not say `{wanted}`");
    }
    // A copy: a state left in examples/shop would make the plan read AWS.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("shop")).expect("dir");
    for file in ["main.stack.hcl", "targets.stack.hcl"] {
        std::fs::copy(root().join("examples/shop").join(file), dir.path().join("shop").join(file))
            .expect("copy");
    }
    let plan = stackc(dir.path(), &["plan", "shop", "--target", "aws"]);
    let summary = plan.ok().stdout.lines().find(|l| l.starts_with("Plan: ")).expect("summary").to_string();
    let count: usize =
        summary["Plan: ".len()..].split(' ').next().and_then(|n| n.parse().ok()).expect("count");
    assert!(
        flat.contains(&format!("the plan's {count}:")),
        "README.md's count of the shop's objects is not {count}"
    );
}

/// The binary users install carries no debug information; the profiling
/// profile keeps line tables for profilers.
#[test]
fn the_release_profile_is_lean_and_profiling_keeps_line_tables() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let section = |name: &str| {
        let start =
            manifest.find(&format!("[profile.{name}]\n")).unwrap_or_else(|| panic!("no [profile.{name}]"));
        let body = &manifest[start..];
        let body = &body[body.find('\n').expect("line") + 1..];
        body[..body.find("\n[").unwrap_or(body.len())].to_string()
    };
    assert!(section("release").contains("debug = false"), "{}", section("release"));
    let profiling = section("profiling");
    assert!(
        profiling.contains("inherits = \"release\"") && profiling.contains("debug = \"line-tables-only\"")
    );
}

/// `import` takes the stack directory first too; the order of earlier
/// versions is refused with the order to use.
#[test]
fn import_takes_the_stack_path_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    release_token(dir.path());
    stackc(dir.path(), &["apply", "release-token", "-var", "settle=0s", "--auto-approve"]).ok();
    stackc(dir.path(), &["state", "rm", "release-token", "random_password.api_token"]).ok();
    let run = stackc(dir.path(), &["import", "random_password.api_token", "correct-horse", "release-token"]);
    assert_eq!(
        run.code(1).stderr,
        "error: `random_password.api_token` is not a directory and `release-token` is: the stack directory comes \
         first (`stackc import release-token random_password.api_token correct-horse`)\n"
    );
    let run =
        stackc(dir.path(), &["import", "release-token", "random_password.api_token", "correct-horse"]).ok();
    assert!(run.stdout.starts_with("Imported `random_password.api_token`"), "{}", run.stdout);
    let listed = stackc(dir.path(), &["state", "list", "release-token"]).ok();
    assert!(listed.stdout.contains("random_password.api_token\n"), "{}", listed.stdout);
}
