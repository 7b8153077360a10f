//! End-to-end tests of where the state lives and how it is kept: encryption
//! at rest (a passphrase, or AWS KMS data keys from moto) and the S3
//! backend (against moto, which enforces `If-None-Match` and `If-Match`).
//!
//! Each test runs the real `stackc` on a stack of built-in resources (a
//! sensitive variable and a generated password: the canaries) in a
//! temporary directory. The moto-backed tests use the moto `scripts/test`
//! starts (`STACKC_TEST_MOTO_ENDPOINT`); without it they print a notice and
//! pass when run by hand, and fail when `CI` is set.

use stackc_planner::backend::{KeySpec, Keyring, LocalBackend};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

mod common;
use common::Run;

/// What a secret looks like here: searched for in every file and output.
const CANARY: &str = "CANARY-5e1d0b";
const PASSPHRASE: &str = "correct horse battery";

const STACK: &str = r#"
variable "token" {
  type      = string
  sensitive = true
}

resource "random_password" "db" {
  length  = 24
  special = false
}

resource "stackc_data" "uses_secrets" {
  input = { password = random_password.db.result, token = var.token, region = "eu-west-3" }
}

output "region" {
  value = stackc_data.uses_secrets.input.region
}
"#;

struct Stack {
    _root: tempfile::TempDir,
    dir: PathBuf,
    env: Vec<(String, String)>,
}

impl Stack {
    fn new(name: &str) -> Stack {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("main.stack.hcl"), STACK).unwrap();
        Stack { _root: root, dir, env: Vec::new() }
    }

    fn with_env(mut self, name: &str, value: &str) -> Stack {
        self.env.push((name.into(), value.into()));
        self
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.join(".stackc/default")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stackc"));
        command
            .current_dir(&self.dir)
            .args(args)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .stdin(Stdio::null());
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            if name.starts_with("STACKC_STATE_") || name.starts_with("AWS_") {
                command.env_remove(&name);
            }
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::of(self.command(args).output().expect("stackc runs"))
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        for (name, value) in env {
            command.env(name, value);
        }
        Run::of(command.output().expect("stackc runs"))
    }
}

fn token_var() -> String {
    format!("token={CANARY}")
}

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn passphrase_keyring(passphrase: &str) -> Option<Arc<Keyring>> {
    Some(Arc::new(Keyring::new(Some(KeySpec::Passphrase(passphrase.into())), Vec::new()).unwrap()))
}

/// The generated password, read through the planner with the key.
fn password_of(dir: &Path, keyring: Option<Arc<Keyring>>) -> String {
    let state = LocalBackend::new(dir, None).with_keyring(keyring).load().unwrap().expect("a state");
    let resource = state.resources.values().find(|r| r.type_name == "random_password").expect("the password");
    let result = resource.attributes.unmarked();
    result.get_path(&["result"]).and_then(|v| v.as_str()).expect("a result").to_string()
}

// ------------------------------------------------------ encryption at rest

/// With a passphrase, the state, its backup, the journal and a saved plan
/// hold no canary (the sensitive variable, the generated password) and
/// are owner-only; the commands that read the state decrypt it; without
/// the key they refuse with a sentence that says what to set, and nothing
/// is written.
#[cfg(unix)]
#[test]
fn an_encrypted_state_and_plan_hold_no_secret_and_need_the_key() {
    let stack = Stack::new("shop").with_env("STACKC_STATE_PASSPHRASE", PASSPHRASE);
    let mut shown = vec![stack.run(&["apply", "--auto-approve", "-var", &token_var()]).ok()];
    std::fs::write(stack.dir.join("main.stack.hcl"), STACK.replace("eu-west-3", "eu-west-1")).unwrap();
    shown.push(stack.run(&["plan", "-var", &token_var(), "--out", "p.plan"]).ok());
    let dir = stack.state_dir();
    let password = password_of(&stack.dir, passphrase_keyring(PASSPHRASE));
    assert_eq!(password.len(), 24);

    // What is on disk.
    let plan = std::fs::read(stack.dir.join("p.plan")).unwrap();
    assert!(plan.starts_with(b"{\"stackc_sealed\":1,"), "the plan is sealed");
    let mut files = vec![(stack.dir.join("p.plan"), plan)];
    shown.push(stack.run(&["apply", "p.plan"]).ok());
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        files.push((path.clone(), std::fs::read(&path).unwrap()));
    }
    let names: Vec<String> =
        files.iter().map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert!(names.contains(&"state.json".into()) && names.contains(&"state.json.backup".into()), "{names:?}");
    for (path, bytes) in &files {
        assert!(!contains(bytes, CANARY) && !contains(bytes, &password), "a secret in {}", path.display());
        assert!(!contains(bytes, "random_password"), "an address in {}", path.display());
        assert_eq!(mode_of(path), 0o600, "{}", path.display());
    }
    assert_eq!(mode_of(&dir), 0o700);

    // Read back with the key: state show decrypts (sensitive values still hidden).
    let show = stack.run(&["state", "show", "stackc_data.uses_secrets"]).ok();
    assert!(show.stdout.contains("eu-west-1") && show.stdout.contains("(sensitive)"), "{}", show.stdout);
    shown.push(show);
    shown.push(stack.run(&["state", "list"]).ok());
    shown.push(stack.run(&["output", "region"]).ok());
    for run in &shown {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains(CANARY) && !all.contains(&password), "a secret is shown:\n{all}");
    }

    // Without the key, or with a wrong one: refused, nothing written.
    let before = std::fs::read(dir.join("state.json")).unwrap();
    let without = Stack { _root: tempfile::tempdir().unwrap(), dir: stack.dir.clone(), env: Vec::new() };
    let run = without.run(&["state", "list"]).code(1);
    assert!(
        run.stderr.contains("is encrypted and no key is configured: set STACKC_STATE_PASSPHRASE"),
        "{}",
        run.stderr
    );
    let run = without.run(&["apply", "--auto-approve", "-var", &token_var()]).code(1);
    assert!(run.stderr.contains("is encrypted and no key is configured"), "{}", run.stderr);
    let run =
        without.run_with(&["plan", "-var", &token_var()], &[("STACKC_STATE_PASSPHRASE", "wrong passphrase")]);
    let run = run.code(1);
    assert!(run.stderr.contains("does not decrypt with the configured key"), "{}", run.stderr);
    assert_eq!(std::fs::read(dir.join("state.json")).unwrap(), before, "untouched");
    assert!(!dir.join("state.journal").exists() && !dir.join("state.lock").exists());

    // Rotation: the old passphrase as the previous one; the next write
    // (here a change) uses the new.
    std::fs::write(stack.dir.join("main.stack.hcl"), STACK).unwrap();
    let rotated = [
        ("STACKC_STATE_PASSPHRASE", "a brand new passphrase"),
        ("STACKC_STATE_PASSPHRASE_PREVIOUS", PASSPHRASE),
    ];
    without.run_with(&["apply", "--auto-approve", "-var", &token_var()], &rotated).ok();
    assert_eq!(password_of(&stack.dir, passphrase_keyring("a brand new passphrase")), password);
    let run = stack.run(&["state", "list"]).code(1);
    assert!(run.stderr.contains("does not decrypt"), "{}", run.stderr);

    // Only the old key to read: reading works, writing plain text is refused.
    let reader = [("STACKC_STATE_PASSPHRASE_PREVIOUS", "a brand new passphrase")];
    without.run_with(&["state", "list"], &reader).ok();
    std::fs::write(stack.dir.join("main.stack.hcl"), STACK.replace("eu-west-3", "eu-west-1")).unwrap();
    let before = std::fs::read(dir.join("state.json")).unwrap();
    let run = without.run_with(&["apply", "--auto-approve", "-var", &token_var()], &reader).code(1);
    assert!(
        run.stderr.contains("stackc will not write it, or anything of it, in plain text"),
        "{}",
        run.stderr
    );
    let run = without.run_with(&["state", "rm", "stackc_data.uses_secrets"], &reader).code(1);
    assert!(run.stderr.contains("in plain text"), "{}", run.stderr);
    assert!(without.run_with(&["state", "list"], &reader).ok().stdout.contains("stackc_data.uses_secrets"));
    assert_eq!(std::fs::read(dir.join("state.json")).unwrap(), before, "untouched");
    assert!(!dir.join("state.journal").exists());
}

/// A saved plan made with a key cannot be applied without it.
#[test]
fn an_encrypted_plan_needs_the_key() {
    let stack = Stack::new("shop").with_env("STACKC_STATE_PASSPHRASE", PASSPHRASE);
    stack.run(&["plan", "-var", &token_var(), "--out", "p.plan"]).ok();
    let without = Stack { _root: tempfile::tempdir().unwrap(), dir: stack.dir.clone(), env: Vec::new() };
    let run = without.run(&["apply", "p.plan"]).code(1);
    assert!(
        run.stderr.contains("p.plan` cannot be used: it is encrypted and no key is configured"),
        "{}",
        run.stderr
    );
    assert!(!stack.state_dir().join("state.json").exists());
    stack.run(&["apply", "p.plan"]).ok();
    assert!(stack.state_dir().join("state.json").exists());
}

// ------------------------------------------------------------ moto (AWS)

fn moto_endpoint() -> Option<String> {
    match std::env::var("STACKC_TEST_MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(endpoint),
        _ if std::env::var_os("CI").is_some() => {
            panic!("STACKC_TEST_MOTO_ENDPOINT is not set: CI must run these tests against moto (scripts/test starts it)")
        }
        _ => {
            eprintln!("notice: STACKC_TEST_MOTO_ENDPOINT is not set; skipping this moto-backed test (run scripts/test)");
            None
        }
    }
}

/// Runs `code` with boto3 against moto; its stdout, trimmed.
fn boto3(endpoint: &str, code: &str) -> String {
    let venv = std::env::var("STACKC_TEST_VENV").expect("STACKC_TEST_VENV (scripts/test sets it)");
    let script = format!(
        "import boto3\nkms = boto3.client('kms', endpoint_url='{endpoint}', region_name='eu-west-3', \
         aws_access_key_id='testing', aws_secret_access_key='testing')\n\
         s3 = boto3.client('s3', endpoint_url='{endpoint}', region_name='eu-west-3', \
         aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}\n"
    );
    let output =
        Command::new(format!("{venv}/bin/python")).arg("-c").arg(script).output().expect("python runs");
    assert!(output.status.success(), "boto3: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn aws_env(stack: Stack, endpoint: &str) -> Stack {
    stack
        .with_env("AWS_ENDPOINT_URL", endpoint)
        .with_env("AWS_REGION", "eu-west-3")
        .with_env("AWS_ACCESS_KEY_ID", "testing")
        .with_env("AWS_SECRET_ACCESS_KEY", "testing")
        .with_env("AWS_EC2_METADATA_DISABLED", "true")
        .with_env("AWS_CONFIG_FILE", "/nonexistent")
        .with_env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
}

/// KMS data keys (moto's KMS): the state is sealed under a data key whose
/// encrypted form names the KMS key, and only KMS can open it.
#[test]
fn kms_data_keys_seal_the_state() {
    let Some(endpoint) = moto_endpoint() else { return };
    let key_id = boto3(&endpoint, "print(kms.create_key(Description='stackc test')['KeyMetadata']['KeyId'])");
    let stack = aws_env(Stack::new("shop"), &endpoint).with_env("STACKC_STATE_KMS_KEY_ID", &key_id);
    stack.run(&["apply", "--auto-approve", "-var", &token_var()]).ok();
    let state = std::fs::read(stack.state_dir().join("state.json")).unwrap();
    assert!(
        state.starts_with(b"{\"stackc_sealed\":1,\"key\":{\"kms\":{\"key_id\":"),
        "{}",
        String::from_utf8_lossy(&state)
    );
    assert!(contains(&state, &key_id) && !contains(&state, CANARY));
    // Read back through KMS, without naming the key (the envelope does).
    let reader = aws_env(
        Stack { _root: tempfile::tempdir().unwrap(), dir: stack.dir.clone(), env: Vec::new() },
        &endpoint,
    );
    assert!(reader.run(&["state", "list"]).ok().stdout.contains("random_password.db"));
    stack.run(&["plan", "-var", &token_var(), "--detailed-exitcode"]).ok();
    // No AWS access: refused with the reason.
    let offline = Stack { _root: tempfile::tempdir().unwrap(), dir: stack.dir.clone(), env: Vec::new() }
        .with_env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .with_env("AWS_REGION", "eu-west-3")
        .with_env("AWS_ACCESS_KEY_ID", "testing")
        .with_env("AWS_SECRET_ACCESS_KEY", "testing")
        .with_env("AWS_MAX_ATTEMPTS", "1");
    let run = offline.run(&["state", "list"]).code(1);
    assert!(run.stderr.contains("AWS KMS:"), "{}", run.stderr);
}

// ------------------------------------------------------------- S3 backend

/// The stack's text with a `backend "s3"` block (region and endpoint from
/// the environment).
fn with_backend(bucket: &str, text: &str) -> String {
    format!("backend \"s3\" {{\n  bucket = \"{bucket}\"\n  key    = \"stacks/shop\"\n}}\n{text}")
}

/// A new bucket in moto, its name unique to the test.
fn new_bucket(endpoint: &str, name: &str) -> String {
    let bucket = format!("stackc-{name}-{}", std::process::id());
    boto3(endpoint, &format!("s3.create_bucket(Bucket='{bucket}', CreateBucketConfiguration={{'LocationConstraint': 'eu-west-3'}})"));
    bucket
}

/// Every object of `bucket`: key and bytes (as latin-1 text).
fn objects(endpoint: &str, bucket: &str) -> Vec<(String, String)> {
    let listing = boto3(
        endpoint,
        &format!(
            "import json\nout = []\nfor o in s3.list_objects_v2(Bucket='{bucket}').get('Contents', []):\n    \
             out.append([o['Key'], s3.get_object(Bucket='{bucket}', Key=o['Key'])['Body'].read().decode('latin-1')])\n\
             print(json.dumps(out))"
        ),
    );
    serde_json::from_str(&listing).unwrap()
}

fn s3_stack(endpoint: &str, bucket: &str) -> Stack {
    let stack = aws_env(Stack::new("shop"), endpoint);
    std::fs::write(stack.dir.join("main.stack.hcl"), with_backend(bucket, STACK)).unwrap();
    stack
}

/// apply, plan and destroy with the state in S3 (encrypted): the plan is
/// empty after the apply, nothing is kept locally but the plan key, the
/// lock and journal objects are gone at the end, and no object holds a
/// canary.
#[test]
fn apply_plan_and_destroy_with_the_state_in_s3() {
    let Some(endpoint) = moto_endpoint() else { return };
    let bucket = new_bucket(&endpoint, "apply");
    let stack = s3_stack(&endpoint, &bucket).with_env("STACKC_STATE_PASSPHRASE", PASSPHRASE);
    stack.run(&["check", "-var", &token_var()]).ok();
    let run = stack.run(&["apply", "--auto-approve", "-var", &token_var()]).ok();
    assert!(run.stdout.contains("2 created") || run.stdout.contains("Apply complete"), "{}", run.stdout);
    let run = stack.run(&["plan", "-var", &token_var(), "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "the plan is empty after the apply:\n{}{}", run.stdout, run.stderr);
    assert!(!stack.state_dir().join("state.json").exists(), "nothing local");
    let stored = objects(&endpoint, &bucket);
    let keys: Vec<&str> = stored.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["stacks/shop/default/state.json"], "no lock, journal or backup left");
    for (key, text) in &stored {
        assert!(text.starts_with("{\"stackc_sealed\":1,") && !text.contains(CANARY), "{key}: {text}");
    }
    assert!(stack.run(&["state", "list"]).ok().stdout.contains("random_password.db"));
    let show = stack.run(&["state", "show", "stackc_data.uses_secrets"]).ok();
    assert!(show.stdout.contains("(sensitive)") && !show.stdout.contains(CANARY), "{}", show.stdout);
    // A change, through a saved plan (sealed too): the backup is the previous version.
    std::fs::write(
        stack.dir.join("main.stack.hcl"),
        with_backend(&bucket, &STACK.replace("eu-west-3", "eu-west-1")),
    )
    .unwrap();
    stack.run(&["plan", "-var", &token_var(), "--out", "p.plan"]).ok();
    let plan = std::fs::read(stack.dir.join("p.plan")).unwrap();
    assert!(plan.starts_with(b"{\"stackc_sealed\":1,") && !contains(&plan, CANARY));
    stack.run(&["apply", "p.plan"]).ok();
    let keys: Vec<String> = objects(&endpoint, &bucket).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["stacks/shop/default/state.json", "stacks/shop/default/state.json.backup"]);
    stack.run(&["destroy", "--auto-approve", "-var", &token_var()]).ok();
    assert_eq!(stack.run(&["state", "list"]).ok().stdout, "");
    let keys: Vec<String> = objects(&endpoint, &bucket).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["stacks/shop/default/state.json"], "destroy removes the backup");
}

/// `stackc apply` at its confirmation prompt (stdin a terminal), holding
/// the lock; answered or dropped by the test.
#[cfg(unix)]
struct Prompted {
    child: std::process::Child,
    master: Option<std::fs::File>,
    reader: Option<std::thread::JoinHandle<String>>,
}

#[cfg(unix)]
impl Prompted {
    /// Starts `args`; returns once the prompt is shown (`Ok`) or the
    /// process ended without one (`Err` with its output).
    fn start(stack: &Stack, args: &[&str]) -> Result<Prompted, Run> {
        use std::io::Read;
        use std::os::fd::{FromRawFd, OwnedFd};
        let (mut master, mut slave) = (0, 0);
        let opened = unsafe {
            libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null())
        };
        assert_eq!(opened, 0, "openpty");
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut child = stack
            .command(args)
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
                    let _ = sender.send(true);
                    told = true;
                }
            }
            let _ = sender.send(false);
            String::from_utf8_lossy(&seen).into_owned()
        });
        let prompted = prompt.recv().unwrap_or(false);
        let mut this = Prompted { child, master: Some(std::fs::File::from(master)), reader: Some(reader) };
        if prompted {
            Ok(this)
        } else {
            Err(this.finish())
        }
    }

    fn answer(mut self, text: &str) -> Run {
        use std::io::Write;
        self.master.as_mut().unwrap().write_all(text.as_bytes()).unwrap();
        self.finish()
    }

    fn finish(&mut self) -> Run {
        use std::io::Read;
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        let stdout = self.reader.take().unwrap().join().unwrap();
        self.master.take();
        Run { code: status.code().unwrap_or(-1), stdout, stderr }
    }
}

/// Two applies started at once on one S3 state: one takes the lock (and
/// waits at its prompt), the other is refused with a message naming the
/// holder (its pid and the operation); then the winner applies.
#[cfg(unix)]
#[test]
fn two_processes_race_for_the_s3_lock_and_the_loser_names_the_holder() {
    let Some(endpoint) = moto_endpoint() else { return };
    let bucket = new_bucket(&endpoint, "race");
    let stack = s3_stack(&endpoint, &bucket);
    let args = ["apply", "-var", &token_var()];
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| Prompted::start(&stack, &args));
        let b = scope.spawn(|| Prompted::start(&stack, &args));
        (a.join().unwrap(), b.join().unwrap())
    });
    let (winner, loser) = match (a, b) {
        (Ok(winner), Err(loser)) | (Err(loser), Ok(winner)) => (winner, loser),
        (Ok(_), Ok(_)) => panic!("both took the lock"),
        (Err(a), Err(b)) => panic!("neither took the lock:\n{}\n{}", a.stderr, b.stderr),
    };
    assert_eq!(loser.code, 1, "{}", loser.stderr);
    let holder = format!("(pid {}", winner.child.id());
    assert!(
        loser.stderr.contains("the state is locked by ") && loser.stderr.contains(&holder),
        "{}",
        loser.stderr
    );
    assert!(loser.stderr.contains("for `apply`"), "{}", loser.stderr);
    assert!(
        loser.stderr.contains(&format!("s3://{bucket}/stacks/shop/default/state.json.lock")),
        "{}",
        loser.stderr
    );
    // The holder still runs on this host: `state unlock` of its lock refuses.
    let id =
        loser.stderr.split("(lock id ").nth(1).and_then(|rest| rest.split(',').next()).expect("the lock id");
    let run = stack.run(&["state", "unlock", id]).code(1);
    assert!(run.stderr.contains("which is still running on this host"), "{}", run.stderr);
    let run = winner.answer("yes\n");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let keys: Vec<String> = objects(&endpoint, &bucket).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["stacks/shop/default/state.json"], "the lock is released");
}

/// A state replaced in S3 while an apply waits at its prompt (with the
/// state read and the lock held): the apply's write is refused (the ETag
/// changed), its state is kept beside it, and the replaced one is untouched.
#[cfg(unix)]
#[test]
fn a_state_changed_behind_the_writers_back_is_detected() {
    let Some(endpoint) = moto_endpoint() else { return };
    let bucket = new_bucket(&endpoint, "behind");
    let stack = s3_stack(&endpoint, &bucket);
    stack.run(&["apply", "--auto-approve", "-var", &token_var()]).ok();
    std::fs::write(
        stack.dir.join("main.stack.hcl"),
        with_backend(&bucket, &STACK.replace("eu-west-3", "eu-west-1")),
    )
    .unwrap();
    let waiting = Prompted::start(&stack, &["apply", "-var", &token_var()])
        .unwrap_or_else(|run| panic!("{}", run.stderr));
    // Someone rewrites the state meanwhile: the same serial, one byte more
    // (S3's ETag of a whole-object PUT is its MD5: rewriting the same bytes
    // changes nothing, and is rightly not a change).
    let key = "stacks/shop/default/state.json";
    boto3(
        &endpoint,
        &format!(
            "body = s3.get_object(Bucket='{bucket}', Key='{key}')['Body'].read()\n\
             s3.put_object(Bucket='{bucket}', Key='{key}', Body=body + b'\\n')"
        ),
    );
    let replaced = objects(&endpoint, &bucket).into_iter().find(|(k, _)| k == key).unwrap().1;
    let run = waiting.answer("yes\n");
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("was changed by another writer since this command read it"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing is lost"), "{}", run.stderr);
    let stored = objects(&endpoint, &bucket);
    assert_eq!(stored.iter().find(|(k, _)| k == key).unwrap().1, replaced, "not overwritten");
    let rejected =
        stored.iter().find(|(k, _)| k.contains("state.json.rejected-")).expect("the refused state is kept");
    assert!(rejected.1.contains("eu-west-1"), "{}", rejected.1);
    assert!(!stored.iter().any(|(k, _)| k.ends_with(".lock")), "the lock is released");
}

/// `state migrate`: a local state to S3 and back, refusing to overwrite a
/// destination that holds a state without --force-replace; the plan is
/// empty wherever the state is.
#[test]
fn migrate_local_to_s3_and_back() {
    let Some(endpoint) = moto_endpoint() else { return };
    let bucket = new_bucket(&endpoint, "migrate");
    let stack = aws_env(Stack::new("shop"), &endpoint);
    stack.run(&["apply", "--auto-approve", "-var", &token_var()]).ok();
    let local = std::fs::read(stack.state_dir().join("state.json")).unwrap();
    std::fs::write(stack.dir.join("main.stack.hcl"), with_backend(&bucket, STACK)).unwrap();
    let run = stack.run(&["state", "list"]).ok();
    assert!(run.stderr.contains("there is no state"), "S3 is empty before the migration: {}", run.stderr);
    let run = stack.run(&["state", "migrate", "--to", "s3"]).ok();
    assert!(
        run.stdout.contains(&format!("to `s3://{bucket}/stacks/shop/default/state.json`")),
        "{}",
        run.stdout
    );
    assert!(stack.run(&["state", "list"]).ok().stdout.contains("random_password.db"));
    stack.run(&["plan", "-var", &token_var(), "--detailed-exitcode"]).ok();
    let run = stack.run(&["state", "migrate", "--to", "s3"]).code(1);
    assert!(
        run.stderr.contains("already holds a state") && run.stderr.contains("--force-replace"),
        "{}",
        run.stderr
    );
    stack.run(&["state", "migrate", "--to", "s3", "--force-replace"]).ok();
    // A change while in S3, then back.
    std::fs::write(
        stack.dir.join("main.stack.hcl"),
        with_backend(&bucket, &STACK.replace("eu-west-3", "eu-west-1")),
    )
    .unwrap();
    stack.run(&["apply", "--auto-approve", "-var", &token_var()]).ok();
    assert_eq!(
        std::fs::read(stack.state_dir().join("state.json")).unwrap(),
        local,
        "the local copy was left"
    );
    let run = stack.run(&["state", "migrate", "--to", "local"]).code(1);
    assert!(run.stderr.contains("already holds a state"), "{}", run.stderr);
    stack.run(&["state", "migrate", "--to", "local", "--force-replace"]).ok();
    std::fs::write(stack.dir.join("main.stack.hcl"), STACK.replace("eu-west-3", "eu-west-1")).unwrap();
    let run = stack.run(&["plan", "-var", &token_var(), "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "the local state has the change made in S3:\n{}{}", run.stdout, run.stderr);
    assert!(!stack.state_dir().join("state.lock").exists());
}

/// kill -9 during an apply with the state in S3: what finished is in the
/// journal's objects, the next command recovers it, the dead holder's lock
/// is released with `state unlock`, and the next apply converges.
#[cfg(unix)]
#[test]
fn a_killed_apply_in_s3_is_recovered_from_the_journal_objects() {
    let Some(endpoint) = moto_endpoint() else { return };
    let bucket = new_bucket(&endpoint, "killed");
    let stack = aws_env(Stack::new("shop"), &endpoint);
    let text = |wait: &str| {
        with_backend(
            &bucket,
            &format!(
                "resource \"stackc_data\" \"n\" {{\n  count = 5\n  input = {{ i = count.index }}\n}}\n\
                 resource \"time_sleep\" \"wait\" {{\n  create_duration = \"{wait}\"\n}}\n"
            ),
        )
    };
    std::fs::write(stack.dir.join("main.stack.hcl"), text("120s")).unwrap();
    let mut child = stack
        .command(&["apply", "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the five quick creates are recorded (the sleep runs on).
    let journal = |endpoint: &str| {
        objects(endpoint, &bucket)
            .into_iter()
            .filter(|(k, _)| k.contains("/state.journal/"))
            .map(|(_, text)| text.matches("\"put\":{\"address\":\"stackc_data.n[").count())
            .sum::<usize>()
    };
    let started = std::time::Instant::now();
    while journal(&endpoint) < 5 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the creates were never recorded");
        assert!(child.try_wait().unwrap().is_none(), "apply ended early");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let run = stack.run(&["state", "list"]).ok();
    assert_eq!(run.stdout.matches("stackc_data.n[").count(), 5, "{}", run.stdout);
    assert!(run.stderr.contains("of an interrupted apply were recovered from `s3://"), "{}", run.stderr);
    std::fs::write(stack.dir.join("main.stack.hcl"), text("0s")).unwrap();
    let run = stack.run(&["apply", "--auto-approve"]).code(1);
    assert!(run.stderr.contains(&format!("pid {}, no longer running", child.id())), "{}", run.stderr);
    let id =
        run.stderr.split("(lock id ").nth(1).and_then(|rest| rest.split(',').next()).expect("the lock id");
    stack.run(&["state", "unlock", id]).ok();
    let run = stack.run(&["apply", "--auto-approve"]).ok();
    assert!(
        !run.stdout.contains("stackc_data.n[0]: creating"),
        "what finished is not created again:\n{}",
        run.stdout
    );
    let run = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let keys: Vec<String> = objects(&endpoint, &bucket).into_iter().map(|(k, _)| k).collect();
    assert!(keys.iter().all(|k| !k.contains("state.journal") && !k.ends_with(".lock")), "{keys:?}");
}

/// A stack that defines a `backend` component has instances of it, not a
/// backend block: its state stays local, and `state` commands work.
#[test]
fn a_component_named_backend_is_not_a_backend_block() {
    let stack = Stack::new("shop");
    std::fs::write(
        stack.dir.join("main.stack.hcl"),
        "component \"backend\" {\n  param \"size\" {\n    type = number\n  }\n}\n\nbackend \"api\" {\n  size = 2\n}\n",
    )
    .unwrap();
    // `check` reads it as an instance (which needs a target, having none here).
    let run = stack.run(&["check"]);
    assert!(run.stderr.contains("`backend \"api\"` expands differently per target"), "{}", run.stderr);
    let run = stack.run(&["state", "list"]).ok();
    assert!(run.stderr.contains("there is no state for the stack in"), "{}", run.stderr);
    assert!(!run.stderr.contains("s3"), "{}", run.stderr);
}
