//! Local safety of the binary under faults and hostile input (issue 15):
//! signals, tampered saved plans, secrets at rest and in diagnostics,
//! writes through devices and symlinks, unbounded reads, lock edge cases,
//! the human renderer's limits, and exit codes. Each test runs the real
//! `stackc` on a stack in a temporary directory (built-in provider only).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::Run;

/// What a secret looks like in these stacks: searched for in every file
/// and output.
const CANARY: &str = "CANARY-7f3a9c";

const STACK: &str = r#"
variable "token" {
  type      = string
  sensitive = true
}

resource "stackc_data" "seed" {
  input = { region = "eu-west-3" }
}

resource "random_password" "db" {
  length  = 24
  special = false
}

resource "stackc_data" "uses_secrets" {
  input = { password = random_password.db.result, token = var.token }
}

output "seed_id" {
  value = stackc_data.seed.id
}
"#;

fn stackc() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stackc"));
    command.env("NO_COLOR", "1").env("COLUMNS", "100").stdin(Stdio::null());
    command
}

/// A stack directory named `name` (the stack's name) in a temporary directory.
struct Stack {
    _root: tempfile::TempDir,
    dir: PathBuf,
}

impl Stack {
    fn new(name: &str, text: &str) -> Stack {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("main.stack.hcl"), text).unwrap();
        Stack { _root: root, dir }
    }

    fn path(&self) -> &Path {
        &self.dir
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.join(".stackc/default")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = stackc();
        command.current_dir(&self.dir).args(args);
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::of(self.command(args).output().expect("stackc runs"))
    }

    fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.state_dir().join("state.json")).expect("state written");
        serde_json::from_str(&text).expect("state is JSON")
    }
}

/// Waits for `child` at most `limit`; kills it and fails if it runs longer.
fn wait_bounded(mut child: Child, limit: Duration, what: &str) -> Run {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Run::of(child.wait_with_output().unwrap());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?} (a hang or an endless read)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

fn token_var() -> String {
    format!("token={CANARY}")
}

// ---------------------------------------------------------------- 3. signals

// SIGTERM and SIGHUP during an apply: `tests/plan_apply.rs`,
// `ctrl_c_lets_running_operations_finish_saves_the_state_and_releases_the_lock`.

/// Ctrl-C at the confirmation prompt (stdin a terminal): nothing changed,
/// the lock released, exit 130.
#[cfg(unix)]
#[test]
fn ctrl_c_at_the_confirmation_prompt_releases_the_lock() {
    use std::os::fd::{FromRawFd, OwnedFd};
    let stack = Stack::new("prompted", STACK);
    let (mut master, mut slave) = (0, 0);
    let opened = unsafe {
        libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null())
    };
    assert_eq!(opened, 0, "openpty");
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut child = stack
        .command(&["apply", "-var", &token_var()])
        .stdin(Stdio::from(slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (sender, prompt) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buffer = [0u8; 4096];
        let mut told = false;
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buffer[..n]);
            if !told && String::from_utf8_lossy(&seen).contains("Only 'yes' is accepted") {
                let _ = sender.send(());
                told = true;
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    prompt.recv_timeout(Duration::from_secs(60)).expect("the prompt is shown");
    assert!(stack.state_dir().join("state.lock").exists(), "the lock is held at the prompt");
    signal(&child, "INT");
    let run = wait_bounded(child, Duration::from_secs(30), "apply at the prompt");
    let stdout = reader.join().unwrap();
    drop(master);
    assert_eq!(run.code, 130, "{stdout}\n{}", run.stderr);
    assert!(run.stderr.contains("Interrupt: stopped; nothing was changed"), "{}", run.stderr);
    assert!(!stack.state_dir().join("state.lock").exists(), "lock released");
    assert!(!stack.state_dir().join("state.json").exists(), "nothing applied");
}

/// Ctrl-C during refresh (an endpoint that accepts and never answers):
/// the plan stops at once, the lock is released, exit 130.
#[cfg(unix)]
#[test]
fn ctrl_c_during_refresh_releases_the_lock() {
    use stackc_compiler::graph::ResourceAddress;
    use stackc_compiler::Value;
    use stackc_planner::backend::LocalBackend;
    use stackc_planner::state::ResourceState;
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let stack = Stack::new(
        "refreshing",
        &format!(
            "target \"aws\" {{\n  region   = \"us-east-1\"\n  endpoint = \"{endpoint}\"\n}}\non \"aws\" {{\n  \
             resource \"aws_ssm_parameter\" \"p\" {{\n    name  = \"/p\"\n    type  = \"String\"\n    \
             value = \"v\"\n  }}\n}}\n"
        ),
    );
    let backend = LocalBackend::new(stack.path(), Some("aws"));
    let guard = backend.lock("test").unwrap();
    let mut state = backend.new_state("refreshing").unwrap();
    let attributes = Value::Object(
        [("name", "/p"), ("type", "String"), ("value", "v")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::string(v)))
            .collect(),
    );
    state.resources.insert(
        ResourceAddress("aws_ssm_parameter.p".into()),
        ResourceState {
            type_name: "aws_ssm_parameter".into(),
            target: Some("aws".into()),
            id: "/p".into(),
            attributes,
            dependencies: vec![],
            tainted: false,
        },
    );
    backend.write(&guard, &mut state).unwrap();
    guard.release().unwrap();
    let home = tempfile::tempdir().unwrap();
    let child = stack
        .command(&["plan"])
        .env("HOME", home.path())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The request is sent and waits: accept it, say nothing.
    let (_connection, _) = silent.accept().unwrap();
    assert!(backend.lock_path().exists(), "the plan holds the lock while it refreshes");
    signal(&child, "INT");
    let run = wait_bounded(child, Duration::from_secs(20), "plan during refresh");
    assert_eq!(run.code, 130, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("Interrupt: stopped; nothing was changed"), "{}", run.stderr);
    assert!(!backend.lock_path().exists(), "lock released");
    assert_eq!(stack.state_dir_of("aws")["serial"], 1, "the state is untouched");
}

// ---------------------------------------------------------------- 4. saved plans

/// With the sources unchanged, an edited config value, an action changed
/// to delete and an injected delete of a configured resource are refused.
#[test]
fn an_edited_saved_plan_is_refused_and_nothing_is_applied() {
    let stack = Stack::new("shop", STACK);
    stack.run(&["apply", "--auto-approve", "-var", &token_var()]).ok();
    let serial = stack.state()["serial"].clone();
    stack.write_changed();
    stack.run(&["plan", "-var", &token_var(), "--out", "good.plan"]).ok();
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stack.path().join("good.plan")).unwrap()).unwrap();
    let changes = plan["changes"].as_array().unwrap();
    let updated = changes.iter().position(|c| c["action"] == "update").expect("an update");
    let kept = changes.iter().position(|c| c["action"] == "no-op").expect("a no-op");

    let mut edited_value = plan.clone();
    edited_value["changes"][updated]["config"]["value"]["input"]["region"] = "us-east-1".into();
    let mut to_delete = plan.clone();
    to_delete["changes"][updated]["action"] = "delete".into();
    let mut injected = plan.clone();
    injected["changes"][kept]["action"] = "delete".into();
    injected["changes"][kept]["reason"] = serde_json::json!({ "code": "not_in_configuration" });
    for (name, edited) in [("value", edited_value), ("action", to_delete), ("injected", injected)] {
        let file = stack.path().join(format!("{name}.plan"));
        std::fs::write(&file, serde_json::to_string_pretty(&edited).unwrap() + "\n").unwrap();
        let run = stack.run(&["apply", file.to_str().unwrap()]);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert!(run.stderr.contains("does not match its authentication code"), "{name}: {}", run.stderr);
        assert_eq!(stack.state()["serial"], serial, "{name}: nothing was applied");
    }
    stack.run(&["apply", "good.plan"]).ok();
}

/// A plan made with a relative stack path applies to that stack, from any
/// directory, never to the stack in the current directory.
#[test]
fn a_saved_plan_applies_to_its_own_stack_wherever_it_is_run() {
    let planned = Stack::new("planned", STACK);
    let other = Stack::new("other", STACK);
    let file = planned.path().parent().unwrap().join("made.plan");
    planned.run(&["plan", ".", "-var", &token_var(), "--out", file.to_str().unwrap()]).ok();
    other.run(&["apply", file.to_str().unwrap()]).ok();
    assert_eq!(planned.state()["resources"].as_array().unwrap().len(), 3);
    assert!(!other.state_dir().exists(), "the stack of the current directory is untouched");
}

/// `-var` with a plan file is a usage error, not silently ignored.
#[test]
fn var_with_a_saved_plan_is_a_usage_error() {
    let stack = Stack::new("shop", STACK);
    stack.run(&["plan", "-var", &token_var(), "--out", "p.plan"]).ok();
    let run = stack.run(&["apply", "p.plan", "-var", "token=other"]).code(64);
    assert!(run.stderr.contains("-var cannot be used with a saved plan"), "{}", run.stderr);
    assert!(!stack.state_dir().join("state.json").exists());
}

// ---------------------------------------------------------------- 5. secrets

/// Every file that holds a secret is owner-only; destroy leaves no secret
/// behind (the backup is removed).
#[cfg(unix)]
#[test]
fn secrets_at_rest_are_owner_only_and_gone_after_destroy() {
    let stack = Stack::new("shop", STACK);
    let mut shown = Vec::new();
    shown.push(stack.run(&["apply", "--auto-approve", "-var", &token_var()]).ok());
    stack.write_changed();
    shown.push(stack.run(&["apply", "--auto-approve", "-var", &token_var()]).ok());
    shown.push(stack.run(&["plan", "-var", &token_var(), "--out", "p.plan"]).ok());
    shown.push(stack.run(&["plan", "-var", &token_var(), "--json"]).ok());
    shown.push(stack.run(&["state", "show", "stackc_data.uses_secrets"]).ok());
    shown.push(stack.run(&["state", "show", "random_password.db"]).ok());
    shown.push(stack.run(&["output"]).ok());
    let password = stack.state()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "random_password")
        .unwrap()["attributes"]["result"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = stack.state_dir();
    for file in ["state.json", "state.json.backup", "plan.key"] {
        assert_eq!(mode_of(&dir.join(file)), 0o600, "{file}");
    }
    assert_eq!(mode_of(&dir), 0o700);
    assert_eq!(mode_of(&stack.path().join("p.plan")), 0o600);
    let backup = std::fs::read_to_string(dir.join("state.json.backup")).unwrap();
    assert!(backup.contains(CANARY) && backup.contains(&password), "the canaries are where expected");

    shown.push(stack.run(&["destroy", "--auto-approve", "-var", &token_var()]).ok());
    for run in &shown {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains(CANARY) && !all.contains(&password), "a secret is shown:\n{all}");
    }
    assert!(!dir.join("state.json.backup").exists(), "destroy removes the backup");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert!(
            !text.contains(CANARY) && !text.contains(&password),
            "a secret is left in {}",
            path.display()
        );
    }
}

/// A validation message interpolating a sensitive value, and a sensitive
/// value of the wrong type, show `(sensitive)`, in human and JSON output.
#[test]
fn diagnostics_never_show_a_sensitive_value() {
    let stack = Stack::new("shop", include_str!("ui/sensitive_values_in_diagnostics/main.stack.hcl"));
    let pin = format!("pin={CANARY}");
    for format in ["human", "json"] {
        let run = stack.run(&["check", "--format", format, "-var", &token_var(), "-var", &pin]).code(1);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(all.contains("E0311") && all.contains("E0316"), "{all}");
        assert!(!all.contains(CANARY), "{format}: {all}");
        assert!(all.contains("(sensitive)"), "{format}: {all}");
    }
}

// ---------------------------------------------------------------- 6. devices, symlinks

/// `plan --out` never replaces a FIFO, a device or a symlink (the atomic
/// rename would replace the node itself).
#[cfg(unix)]
#[test]
fn plan_out_replaces_only_a_regular_file() {
    let stack = Stack::new("shop", STACK);
    let fifo = stack.path().join("fifo.plan");
    mkfifo(&fifo);
    let outside = stack.path().parent().unwrap().join("outside.txt");
    std::fs::write(&outside, "keep").unwrap();
    let link = stack.path().join("link.plan");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    for (path, kind) in [(&fifo, "FIFO"), (&link, "symbolic link")] {
        let run = stack.run(&["plan", "-var", &token_var(), "--out", path.to_str().unwrap()]).code(1);
        assert!(
            run.stderr.contains(kind) && run.stderr.contains("replaces only regular files"),
            "{}",
            run.stderr
        );
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
}

/// `build -o DIR` never writes through a symlink in DIR.
#[cfg(unix)]
#[test]
fn build_never_writes_through_a_symlink_in_its_output_directory() {
    let stack = Stack::new(
        "shop",
        "service \"api\" {\n  image = \"nginx:1.27\"\n}\ntarget \"kubernetes\" {\n  namespace = \"shop\"\n}\n",
    );
    stack.run(&["build", "-o", "first"]).ok();
    let mut names: Vec<String> = std::fs::read_dir(stack.path().join("first"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let out = stack.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let outside = stack.path().parent().unwrap().join("outside.yaml");
    std::fs::write(&outside, "keep").unwrap();
    std::os::unix::fs::symlink(&outside, out.join(&names[0])).unwrap();
    let run = stack.run(&["build", "-o", "out"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep", "nothing written outside DIR");
}

// ---------------------------------------------------------------- 7. bounded reads

/// A stack file, a variable file or a `file()` that is a FIFO or
/// `/dev/zero` is a clear error, never a hang or an endless read.
#[cfg(unix)]
#[test]
fn reads_of_fifos_and_devices_are_refused_at_once() {
    let stack = Stack::new("shop", "output \"x\" {\n  value = file(\"conf\")\n}\n");
    // `check` with `args` must fail within seconds, saying all of `said`.
    let refused = |args: &[&str], what: &str, said: &[&str]| {
        let child = stack.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let run = wait_bounded(child, Duration::from_secs(20), what).code(1);
        assert!(said.iter().all(|s| run.stderr.contains(s)), "{what}: {}", run.stderr);
    };
    mkfifo(&stack.path().join("conf"));
    refused(&["check"], "file() of a FIFO", &["FIFO"]);

    std::fs::write(stack.path().join("main.stack.hcl"), "variable \"x\" {}\n").unwrap();
    refused(&["check", "--var-file", "/dev/zero"], "--var-file /dev/zero", &["not a regular file"]);

    std::os::unix::fs::symlink("/dev/zero", stack.path().join("zero.stack.hcl")).unwrap();
    refused(&["check"], "a stack file linked to /dev/zero", &["zero.stack.hcl", "a device"]);
    std::fs::remove_file(stack.path().join("zero.stack.hcl")).unwrap();

    mkfifo(&stack.path().join("pipe.stack.hcl"));
    refused(&["check"], "a FIFO stack file", &["pipe.stack.hcl", "FIFO"]);
}

// ---------------------------------------------------------------- 10. rendering

/// A diagnostic past column 65535 is shown (miette panicked: exit 101).
#[test]
fn a_diagnostic_past_column_65535_is_shown() {
    let text = format!(
        "locals {{\n  a = [\"{}\", nope.x]\n}}\noutput \"o\" {{ value = local.a }}\n",
        "y".repeat(70_000)
    );
    let stack = Stack::new("wide", &text);
    let run = stack.run(&["check"]).code(1);
    assert!(run.stderr.contains("main.stack.hcl:2:70012"), "{}", &run.stderr[..run.stderr.len().min(2000)]);
    assert!(run.stderr.contains("E0201"));
}

/// 16000 errors in one file are all rendered (it took 48 s in a debug
/// build when each rendering copied and scanned the whole file; that the
/// snippet handed to miette stays small is `stackc_render::human::tests::
/// a_snippet_is_the_lines_around_its_labels_whatever_the_file_size`, and the
/// time is measured, not asserted).
#[test]
fn sixteen_thousand_errors_are_all_rendered() {
    let text: String = (0..16_000).map(|i| format!("output \"o{i}\" {{ value = nope{i}.x }}\n")).collect();
    let stack = Stack::new("many", &text);
    let run = stack.run(&["check"]).code(1);
    assert!(run.stderr.ends_with("error: 16000 errors\n"), "{}", &run.stderr[run.stderr.len() - 200..]);
    // Each one drawn with its own label, the last one too.
    assert_eq!(run.stderr.matches("╰── unknown name `nope").count(), 16_000);
    assert!(
        run.stderr.contains("16000 │ output \"o15999\" { value = nope15999.x }"),
        "line numbers of the file"
    );
}

// ---------------------------------------------------------------- 11. smaller

/// Usage errors exit 64 (2 means "changes" with --detailed-exitcode).
#[test]
fn usage_errors_exit_64() {
    let run = Run::of(stackc().args(["plan", "--no-such-flag"]).output().unwrap()).code(64);
    assert!(run.stderr.contains("--no-such-flag"), "{}", run.stderr);
    Run::of(stackc().args(["apply", "--parallelism", "0"]).output().unwrap()).code(64);
    Run::of(stackc().args(["--help"]).output().unwrap()).ok();
    Run::of(stackc().args(["--version"]).output().unwrap()).ok();
}

/// A state copied from another stack is refused; so is a state whose
/// serial cannot grow, before destroy deletes anything.
#[test]
fn a_state_of_another_stack_or_at_its_last_serial_is_refused() {
    let shop = Stack::new("shop", STACK);
    shop.run(&["apply", "--auto-approve", "-var", &token_var()]).ok();
    let blog = Stack::new("blog", STACK);
    std::fs::create_dir_all(blog.state_dir()).unwrap();
    std::fs::copy(shop.state_dir().join("state.json"), blog.state_dir().join("state.json")).unwrap();
    let run = blog.run(&["plan", "-var", &token_var()]).code(1);
    assert!(run.stderr.contains("state of stack `shop`, but this stack is `blog`"), "{}", run.stderr);

    let mut state = shop.state();
    state["serial"] = (u64::MAX - 1).into();
    std::fs::write(shop.state_dir().join("state.json"), serde_json::to_string_pretty(&state).unwrap())
        .unwrap();
    let run = shop.run(&["destroy", "--auto-approve", "-var", &token_var()]).code(1);
    assert!(run.stderr.contains("cannot grow any more"), "{}", run.stderr);
    assert!(!run.stdout.contains("destroyed after"), "nothing was deleted: {}", run.stdout);
    assert_eq!(shop.state()["resources"].as_array().unwrap().len(), 3);
}

/// While an apply runs (it holds the lock and has journaled progress),
/// `plan --lock=false` and `state list` do not call it interrupted.
#[test]
fn a_running_apply_is_not_called_interrupted() {
    use stackc_planner::backend::{JournalEntry, LocalBackend};
    let stack = Stack::new("shop", STACK);
    stack.run(&["apply", "--auto-approve", "-var", &token_var()]).ok();
    let backend = LocalBackend::new(stack.path(), None);
    let guard = backend.lock("apply").unwrap();
    let mut state = backend.load().unwrap().unwrap();
    let mut journal = backend.begin_journal(&guard, &mut state).unwrap();
    let address = stackc_compiler::graph::ResourceAddress("stackc_data.seed".into());
    journal.record(&JournalEntry::Remove(address)).unwrap();
    for args in [&["plan", "--lock=false", "-var", &token_var()][..], &["state", "list"][..]] {
        let run = stack.run(args);
        assert!(run.stderr.contains("`apply` is running"), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("interrupted"), "{args:?}: {}", run.stderr);
    }
    drop(journal);
    drop(guard);
}

impl Stack {
    /// The state of `target`, as JSON.
    fn state_dir_of(&self, target: &str) -> serde_json::Value {
        let path = self.dir.join(".stackc").join(target).join("state.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// The stack with a changed configuration value (an update).
    fn write_changed(&self) {
        std::fs::write(self.dir.join("main.stack.hcl"), STACK.replace("eu-west-3", "eu-west-1")).unwrap();
    }
}
