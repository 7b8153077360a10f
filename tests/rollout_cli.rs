//! `stackc plan`, `stackc apply` and `stackc rollout ...` for rollouts on
//! the local target: the plan of a canary rollout next to an
//! infrastructure change (text and JSON snapshots), a port change planned
//! plainly with the reason, `rollout status`, a bad duration named by its
//! field, and a canary paused until promoted carried out end to end
//! (`docker ps` and the state's record at each step).
//!
//! The Docker tests need the Engine and the test images
//! (`STACKC_TEST_DOCKER`, scripts/test); without them they print a notice
//! and pass when run by hand, and fail when `CI` is set. Gates are "1s" so
//! they stay fast.

use std::path::PathBuf;
use std::process::{Command, Output};

#[path = "../providers/local/tests/support/mod.rs"]
mod support;

use support::{docker, docker_available};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One service `api` (2 replicas of the test app) behind a load balancer;
/// `extra` goes inside the service block, `config` at top level.
fn stack_text(rollout: &str, service_extra: &str, top_extra: &str) -> String {
    format!(
        r#"variable "image" {{
  type = string
}}

variable "port" {{
  type = number
}}

variable "service_port" {{
  type    = number
  default = 8080
}}
{top_extra}
service "api" {{
  image    = var.image
  replicas = 2
  port     = var.service_port
{service_extra}
  rollout {{
{rollout}
  }}
}}

load_balancer "public" {{
  port = var.port
  to   = service.api
}}

target "local" {{
  load_balancer_image = "stackc-test-lb:1"
}}
"#
    )
}

const CANARY: &str = r#"    strategy = "canary"
    steps    = [50, 100]
    gate     = "1s"
    timeout  = "60s"
    pause    = "promote""#;

struct Stack {
    root: tempfile::TempDir,
    dir: PathBuf,
    name: String,
    port: u16,
}

impl Stack {
    /// A stack directory named `name` (the stack's name: fixed, so plan
    /// text is the same on every run).
    fn new(name: &str, text: &str) -> Stack {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.stack.hcl"), text).unwrap();
        Stack { port: free_port(), dir, name: name.to_string(), root }
    }

    fn write(&self, text: &str) {
        std::fs::write(self.dir.join("main.stack.hcl"), text).unwrap();
    }

    fn run(&self, args: &[&str], vars: &[String]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stackc"));
        cmd.args(args)
            .arg(&self.dir)
            .args(["--target", "local"])
            .env("STACKC_SECRETS_DIR", self.root.path().join("secrets"))
            .env("NO_COLOR", "1")
            .env("COLUMNS", "1000");
        // `rollout ...` uses the configuration the last apply recorded.
        if args[0] != "rollout" && args[0] != "reconcile" {
            cmd.args(["-var", &format!("port={}", self.port)]);
            for var in vars {
                cmd.args(["-var", var]);
            }
        }
        cmd.output().unwrap()
    }

    fn image(&self, args: &[&str], image: &str) -> Output {
        self.run(args, &[format!("image={image}")])
    }

    fn containers(&self) -> Vec<String> {
        let label = format!("label=stackc.stack={}", self.name);
        let mut names: Vec<String> = docker(&["ps", "--filter", &label, "--format", "{{.Names}} {{.Image}}"])
            .lines()
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    fn record(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.dir.join(".stackc/local/state.json")).unwrap();
        let state: serde_json::Value = serde_json::from_str(&text).unwrap();
        state["instances"]["service.api"]["rollout"].clone()
    }

    /// Output with this run's paths and port replaced.
    fn redact(&self, text: &str) -> String {
        text.replace(&self.dir.display().to_string(), "[DIR]").replace(&self.port.to_string(), "[PORT]")
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let label = format!("label=stackc.stack={}", self.name);
        for id in docker(&["ps", "-aq", "--filter", &label]).lines() {
            docker(&["rm", "-f", id]);
        }
        for id in docker(&["network", "ls", "-q", "--filter", &label]).lines() {
            docker(&["network", "rm", id]);
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

/// Timestamps and version hashes of `rollout status` replaced.
fn redact_status(text: &str) -> String {
    text.lines()
        .map(|line| {
            for key in ["version:", "started:", "updated:"] {
                if let Some(at) = line.find(key) {
                    return format!("{}{key} [{}]", &line[..at], key.trim_end_matches(':'));
                }
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The new image and a new config the service reads: the plan is the
/// rollout's first step (a canary beside the stable replicas, the load
/// balancer's weights) next to the config's creation; text and JSON. A
/// port change cannot roll out: a plain replace, and the plan says why.
#[test]
fn a_canary_rollout_is_planned_as_steps_next_to_an_infrastructure_change() {
    if !docker_available() {
        return;
    }
    let stack = Stack::new("rolloutplan", &stack_text(CANARY, "", ""));
    ok(&stack.image(&["apply", "--auto-approve"], "stackc-test-app:1"));
    let config = "\nconfig \"flags\" {\n  data = { FEATURE = \"on\" }\n}\n";
    stack.write(&stack_text(CANARY, "  config_from = [config.flags]", config));
    let plan = stack.image(&["plan"], "stackc-test-app:2");
    let plan_text = stack.redact(&ok(&plan));
    assert!(plan_text.contains("canary rollout: `image`, `env` changed"), "{plan_text}");
    assert!(plan_text.contains(", 1 to roll out."), "{plan_text}");
    insta::assert_snapshot!("canary_plan_text", plan_text);

    let json = stack.image(&["plan", "--json"], "stackc-test-app:2");
    let document: serde_json::Value = serde_json::from_str(&ok(&json)).unwrap();
    let changes: Vec<String> = document["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {}", c["action"].as_str().unwrap(), c["address"].as_str().unwrap()))
        .collect();
    let shown = serde_json::json!({
        "summary": document["summary"],
        "resource_changes": changes,
        "rollouts": document["rollouts"],
    });
    let mut shown = serde_json::to_string_pretty(&shown).unwrap();
    let version = document["rollouts"][0]["version"].as_str().unwrap().to_string();
    shown = stack.redact(&shown.replace(&version, "[version]"));
    insta::assert_snapshot!("canary_plan_json", shown);

    // The port changes as well: not a rollout.
    let moved = stack.run(&["plan"], &["image=stackc-test-app:2".into(), "service_port=8081".into()]);
    let moved = ok(&moved);
    assert!(
        moved.contains(
            "service.api  not a rollout: the port changes (8080 -> 8081): both versions must answer on one port \
             during a rollout; its changes above are applied as planned"
        ),
        "{moved}"
    );
    assert!(moved.contains("service.api/docker_container.replica[0]  update in place"), "{moved}");
    assert!(!moved.contains("to roll out"), "{moved}");
}

/// A canary paused until promoted, carried out end to end: the record and
/// the containers at each step, `rollout status`, then `rollout promote`
/// finishes (stable replicas on the new image, canary gone, record cleared).
#[test]
fn a_canary_paused_until_promoted_goes_on_with_rollout_promote() {
    if !docker_available() {
        return;
    }
    let stack = Stack::new("rolloutpromote", &stack_text(CANARY, "", ""));
    let first = ok(&stack.image(&["apply", "--auto-approve"], "stackc-test-app:1"));
    assert!(first.contains("not a rollout: a first deployment"), "{first}");
    assert_eq!(
        stack.containers(),
        [
            "rolloutpromote-api-0 stackc-test-app:1",
            "rolloutpromote-api-1 stackc-test-app:1",
            "rolloutpromote-public-lb stackc-test-lb:1"
        ]
    );

    // Step 1 (50%) from a saved plan, then paused.
    let saved = stack.root.path().join("v2.plan");
    let planned = ok(&stack.image(&["plan", "--out", saved.to_str().unwrap()], "stackc-test-app:2"));
    assert!(planned.contains("1 to roll out"), "{planned}");
    let out = Command::new(env!("CARGO_BIN_EXE_stackc"))
        .args(["apply", saved.to_str().unwrap()])
        .env("STACKC_SECRETS_DIR", stack.root.path().join("secrets"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let paused = ok(&out);
    assert!(
        paused.contains("service.api: step 1/2: 50% to the new version (1 replica) ... healthy for 1s"),
        "{paused}"
    );
    assert!(paused.contains("paused after step 1/2; run `stackc rollout promote`"), "{paused}");
    let record = stack.record();
    assert_eq!(record["status"], "paused", "{record}");
    assert_eq!(
        (record["step"].as_u64(), record["weight"].as_u64(), record["canary"].as_u64()),
        (Some(0), Some(50), Some(1))
    );
    assert_eq!(
        stack.containers(),
        [
            "rolloutpromote-api-0 stackc-test-app:1",
            "rolloutpromote-api-1 stackc-test-app:1",
            "rolloutpromote-api-canary-0 stackc-test-app:2",
            "rolloutpromote-public-lb stackc-test-lb:1"
        ]
    );
    let status = ok(&stack.run(&["rollout", "status"], &[]));
    insta::assert_snapshot!("status_paused", redact_status(&status));

    // A plan while paused keeps the step (not "remove the canary").
    let plan = ok(&stack.image(&["plan"], "stackc-test-app:2"));
    assert!(plan.contains("Plan: 0 to add, 0 to change, 0 to destroy, 1 to roll out."), "{plan}");
    assert!(plan.contains("<- paused here"), "{plan}");
    // Apply again: stays paused, nothing changes.
    let again = ok(&stack.image(&["apply", "--auto-approve"], "stackc-test-app:2"));
    assert!(again.contains("paused after step 1/2"), "{again}");
    assert_eq!(stack.record()["status"], "paused");

    // Promote: step 2 (100%), the stable replicas take the new version,
    // the canary is removed.
    let promoted = ok(&stack.image(&["rollout", "promote"], "stackc-test-app:2"));
    assert!(
        promoted.contains("service.api: step 2/2: 100% to the new version (2 replicas) ... healthy for 1s"),
        "{promoted}"
    );
    assert!(promoted.contains("rollout finished"), "{promoted}");
    assert_eq!(stack.record(), serde_json::Value::Null);
    assert_eq!(
        stack.containers(),
        [
            "rolloutpromote-api-0 stackc-test-app:2",
            "rolloutpromote-api-1 stackc-test-app:2",
            "rolloutpromote-public-lb stackc-test-lb:1"
        ]
    );
    assert_eq!(ok(&stack.run(&["rollout", "status"], &[])), "No rollout is under way.\n");
    // Nothing left to do, nothing to promote.
    let plan = ok(&stack.image(&["plan"], "stackc-test-app:2"));
    assert!(plan.contains("No changes."), "{plan}");
    let nothing = stack.image(&["rollout", "promote"], "stackc-test-app:2");
    assert!(!nothing.status.success());
    assert!(text(&nothing.stderr).contains("nothing to promote"), "{}", text(&nothing.stderr));
}

/// `rollout abort` while paused: traffic back, the canary removed, the
/// stable replicas untouched; the record says rolled_back and a plan
/// without `apply` keeps them (reconcile does not retry it).
#[test]
fn rollout_abort_rolls_a_paused_canary_back() {
    if !docker_available() {
        return;
    }
    let stack = Stack::new("rolloutabort", &stack_text(CANARY, "", ""));
    ok(&stack.image(&["apply", "--auto-approve"], "stackc-test-app:1"));
    let ids = |s: &Stack| {
        (0..2)
            .map(|i| docker(&["inspect", "-f", "{{.Id}}", &format!("{}-api-{i}", s.name)]))
            .collect::<Vec<_>>()
    };
    let before = ids(&stack);
    ok(&stack.image(&["apply", "--auto-approve"], "stackc-test-app:2"));
    assert_eq!(stack.record()["status"], "paused");
    let aborted = ok(&stack.image(&["rollout", "abort"], "stackc-test-app:2"));
    assert!(aborted.contains("rolled back (aborted by `stackc rollout abort`)"), "{aborted}");
    assert_eq!(stack.record()["status"], "rolled_back");
    assert_eq!(ids(&stack), before);
    assert_eq!(
        stack.containers(),
        [
            "rolloutabort-api-0 stackc-test-app:1",
            "rolloutabort-api-1 stackc-test-app:1",
            "rolloutabort-public-lb stackc-test-lb:1"
        ]
    );
    let reconciled = stack.run(&["reconcile"], &[]);
    assert!(reconciled.status.success(), "{}", text(&reconciled.stderr));
    assert!(
        text(&reconciled.stderr).contains("reconcile keeps the stable version"),
        "{}",
        text(&reconciled.stderr)
    );
    assert_eq!(ids(&stack), before);
}

/// A duration the engine cannot read is an error at the field, before
/// anything is applied (no Docker needed: planning reads no object).
#[test]
fn a_bad_duration_is_an_error_naming_the_field() {
    let rollout = "    strategy = \"canary\"\n    pause    = \"soon\"";
    let stack = Stack::new("rolloutbad", &stack_text(rollout, "", ""));
    let out = stack.image(&["plan"], "stackc-test-app:1");
    assert_eq!(out.status.code(), Some(1));
    let stderr = stack.redact(&text(&out.stderr));
    assert!(stderr.contains("rollout.pause: `soon` is not a duration"), "{stderr}");
    insta::assert_snapshot!("bad_duration", stderr);
}

/// `stackc apply` killed (-9) while it gates a step: the record says the
/// step is being applied; the lock it leaves is released with `stackc state
/// unlock` (the error says so, and what the record says); the next apply
/// re-applies the step, gates it and goes on (here: pauses after it).
#[test]
fn an_apply_killed_during_a_gate_is_resumed_by_the_next_apply() {
    if !docker_available() {
        return;
    }
    let slow = CANARY.replace("gate     = \"1s\"", "gate     = \"8s\"");
    let stack = Stack::new("rolloutkill", &stack_text(&slow, "", ""));
    ok(&stack.image(&["apply", "--auto-approve"], "stackc-test-app:1"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackc"))
        .args(["apply", "--auto-approve"])
        .arg(&stack.dir)
        .args([
            "--target",
            "local",
            "-var",
            "image=stackc-test-app:2",
            "-var",
            &format!("port={}", stack.port),
        ])
        .env("STACKC_SECRETS_DIR", stack.root.path().join("secrets"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the canary runs (the gate is then under way).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !stack.containers().iter().any(|c| c.starts_with("rolloutkill-api-canary-0 ")) {
        assert!(child.try_wait().unwrap().is_none(), "the apply ended before it was killed");
        assert!(std::time::Instant::now() < deadline, "no canary step under way");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    child.kill().unwrap();
    child.wait().unwrap();
    let record = stack.record();
    assert_eq!((record["status"].as_str(), record["step"].as_u64()), (Some("applying"), Some(0)), "{record}");

    let locked = stack.image(&["apply", "--auto-approve"], "stackc-test-app:2");
    assert!(!locked.status.success());
    let stderr = text(&locked.stderr);
    assert!(stderr.contains("stackc state unlock"), "{stderr}");
    assert!(
        stderr.contains("the state records the rollout of `service.api` at step 1/2 (applying)"),
        "{stderr}"
    );
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stack.dir.join(".stackc/local/state.lock")).unwrap())
            .unwrap();
    let unlock = Command::new(env!("CARGO_BIN_EXE_stackc"))
        .args(["state", "unlock"])
        .arg(&stack.dir)
        .arg(lock["id"].as_str().unwrap())
        .args(["--target", "local"])
        .output()
        .unwrap();
    ok(&unlock);

    let resumed = ok(&stack.image(&["apply", "--auto-approve"], "stackc-test-app:2"));
    assert!(resumed.contains("the rollout stands at step 1/2 (applying)"), "{resumed}");
    assert!(resumed.contains("step 1/2: 50% to the new version (1 replica) ... healthy for 8s"), "{resumed}");
    let record = stack.record();
    assert_eq!(
        (record["status"].as_str(), record["weight"].as_u64()),
        (Some("paused"), Some(50)),
        "{record}"
    );
    assert_eq!(
        stack.containers(),
        [
            "rolloutkill-api-0 stackc-test-app:1",
            "rolloutkill-api-1 stackc-test-app:1",
            "rolloutkill-api-canary-0 stackc-test-app:2",
            "rolloutkill-public-lb stackc-test-lb:1"
        ]
    );
}

/// A new version whose health check fails once it runs: the gate fails,
/// the step is rolled back (canary removed, stable replicas untouched),
/// the record says rolled_back, and apply exits 1 with E0604 at the
/// `rollout` block and the failing replica's health output.
#[test]
fn a_failing_gate_rolls_back_with_the_health_output_at_the_rollout_block() {
    if !docker_available() {
        return;
    }
    let rollout =
        "    strategy = \"canary\"\n    steps    = [50, 100]\n    gate     = \"8s\"\n    timeout  = \"20s\"";
    let health = "  health {\n    path     = \"/healthz\"\n    interval = \"1s\"\n  }";
    let stack = Stack::new("rolloutfail", &stack_text(rollout, health, ""));
    ok(&stack.image(&["apply", "--auto-approve"], "stackc-test-app:1"));
    let ids = |s: &Stack| {
        (0..2)
            .map(|i| docker(&["inspect", "-f", "{{.Id}}", &format!("{}-api-{i}", s.name)]))
            .collect::<Vec<_>>()
    };
    let before = ids(&stack);
    // Its /healthz goes away 3 s after it starts. The files are written
    // before httpd starts (`;`, not `&&`: `a && b & c` would put the whole
    // list in the background and race httpd's chdir into /www).
    let failing = format!(
        "{health}\n  command = [\"sh\", \"-c\", \"mkdir -p /www; echo app v$${{APP_VERSION}} > /www/index.html; echo ok > \
         /www/healthz; (sleep 3; rm /www/healthz) & exec httpd -f -p 8080 -h /www\"]"
    );
    stack.write(&stack_text(rollout, &failing, ""));
    let out = stack.image(&["apply", "--auto-approve"], "stackc-test-app:2");
    assert_eq!(out.status.code(), Some(1), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("E0604"), "{stderr}");
    assert!(
        stderr.contains("the rollout of the new version was rolled back: step 1/2's gate failed"),
        "{stderr}"
    );
    assert!(stderr.contains("rollout {"), "{stderr}");
    assert!(stderr.contains("health output of the failing replica"), "{stderr}");
    let record = stack.record();
    assert_eq!(record["status"], "rolled_back", "{record}");
    assert!(record["reason"].as_str().unwrap().contains("gate failed"), "{record}");
    assert_eq!(ids(&stack), before, "the stable replicas were touched");
    assert!(stack.containers().iter().all(|c| !c.contains("-canary-")), "{:?}", stack.containers());
    let plan = ok(&stack.image(&["plan"], "stackc-test-app:2"));
    assert!(plan.contains("1 to roll out"), "apply tries it again: {plan}");
}

/// Ctrl-C (SIGINT) while a step is gated: apply stops, keeps the record
/// at that step, releases the lock and says how to go on; the next apply
/// resumes the step.
#[test]
fn ctrl_c_during_a_gate_stops_with_the_record_kept_and_the_next_apply_resumes() {
    if !docker_available() {
        return;
    }
    let slow = CANARY.replace("gate     = \"1s\"", "gate     = \"8s\"");
    let stack = Stack::new("rolloutint", &stack_text(&slow, "", ""));
    ok(&stack.image(&["apply", "--auto-approve"], "stackc-test-app:1"));
    let child = Command::new(env!("CARGO_BIN_EXE_stackc"))
        .args(["apply", "--auto-approve"])
        .arg(&stack.dir)
        .args([
            "--target",
            "local",
            "-var",
            "image=stackc-test-app:2",
            "-var",
            &format!("port={}", stack.port),
        ])
        .env("STACKC_SECRETS_DIR", stack.root.path().join("secrets"))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !stack.containers().iter().any(|c| c.starts_with("rolloutint-api-canary-0 ")) {
        assert!(std::time::Instant::now() < deadline, "no canary step under way");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{}\n{stderr}", text(&out.stdout));
    assert!(stderr.contains("service.api: stopped at step 1/2; the state records it"), "{stderr}");
    let record = stack.record();
    assert_eq!((record["status"].as_str(), record["step"].as_u64()), (Some("applying"), Some(0)), "{record}");
    assert!(!stack.dir.join(".stackc/local/state.lock").exists(), "the lock was not released");
    let resumed = ok(&stack.image(&["apply", "--auto-approve"], "stackc-test-app:2"));
    assert!(resumed.contains("the rollout stands at step 1/2 (applying)"), "{resumed}");
    assert_eq!(stack.record()["status"], "paused");
}
