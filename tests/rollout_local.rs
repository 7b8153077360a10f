//! Rollouts on the local target with real traffic: a client sends requests
//! continuously through the nginx load balancer while `stackc apply` (and
//! `stackc rollout ...`) carry out a new version's rollout, and counts the
//! answers per version and the failed requests (tests/common/traffic.rs).
//!
//! - canary 10 -> 50 -> 100, paused until promoted at each step: the new
//!   version's share of >= 400 requests is within 5 points of the step's,
//!   and no request fails across the whole rollout;
//! - blue_green: the switch loses no request; `rollout undo` while the old
//!   set is kept returns to it without failures;
//! - a new version whose health check fails: rolled back, never answers,
//!   the stable containers never stopped;
//! - `stackc apply` killed (-9) during a step, then applied again: the
//!   weights in the load balancer match the state's record.
//!
//! They need the Docker Engine and the test images (`STACKC_TEST_DOCKER`,
//! scripts/test); without it they print a notice and pass when run by hand,
//! and fail when `CI` is set. The weights of each step (no Docker) are
//! checked from the nginx configuration the expansion writes.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

#[path = "../providers/local/tests/support/mod.rs"]
mod support;
#[path = "common/traffic.rs"]
mod traffic;

use support::{docker, docker_available};
use traffic::{Counts, Traffic};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A stack of one service `web` (`replicas` of the test app, health
/// checked every second) behind a load balancer, with `rollout` as the
/// service's rollout block; the image (and command) come from variables.
fn stack_text(replicas: u32, rollout: &str) -> String {
    format!(
        r#"variable "image" {{
  type = string
}}

variable "command" {{
  type    = list(string)
  default = null
}}

variable "port" {{
  type = number
}}

service "web" {{
  image    = var.image
  command  = var.command
  replicas = {replicas}
  port     = 8080
  health {{
    path     = "/healthz"
    interval = "1s"
  }}
  rollout {{
{rollout}
  }}
}}

load_balancer "public" {{
  port = var.port
  to   = service.web
}}

target "local" {{
  load_balancer_image = "stackc-test-lb:1"
}}
"#
    )
}

/// One stack of one test: its directory (named after the test, the stack
/// name), port and secrets directory; its containers go when it is dropped.
struct Stack {
    _root: tempfile::TempDir,
    dir: PathBuf,
    name: String,
    port: u16,
    secrets: PathBuf,
}

impl Stack {
    fn new(name: &str, text: &str) -> Stack {
        let root = tempfile::tempdir().unwrap();
        let name = format!("{name}{}", std::process::id() % 10000);
        let dir = root.path().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.stack.hcl"), text).unwrap();
        let secrets = root.path().join("secrets");
        Stack { port: free_port(), dir, name, secrets, _root: root }
    }

    /// The command for `stackc <args...> <dir> --target local` with the
    /// variables (`image`, and `command` when given).
    fn command(&self, args: &[&str], image: &str, command: Option<&str>) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stackc"));
        cmd.args(args)
            .arg(&self.dir)
            .args(["--target", "local"])
            .env("STACKC_SECRETS_DIR", &self.secrets)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "1000");
        cmd.args(["-var", &format!("image={image}")]).args(["-var", &format!("port={}", self.port)]);
        if let Some(command) = command {
            cmd.args(["-var", &format!("command={command}")]);
        }
        cmd
    }

    fn run(&self, args: &[&str], image: &str, command: Option<&str>) -> Output {
        self.command(args, image, command).output().unwrap()
    }

    fn apply(&self, image: &str) -> Output {
        let out = self.run(&["apply", "--auto-approve"], image, None);
        assert!(out.status.success(), "apply failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
        out
    }

    /// The container ids of the service's stable replicas, by name.
    fn stable_ids(&self, replicas: u32) -> Vec<String> {
        (0..replicas)
            .map(|i| docker(&["inspect", "-f", "{{.Id}}", &format!("{}-web-{i}", self.name)]))
            .collect()
    }

    /// The names of the stack's containers.
    fn containers(&self) -> Vec<String> {
        let label = format!("label=stackc.stack={}", self.name);
        let mut names: Vec<String> = docker(&["ps", "-a", "--filter", &label, "--format", "{{.Names}}"])
            .lines()
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    /// The nginx configuration the load balancer container has (its
    /// directory is bind-mounted; the test image has no shell to `cat` it).
    fn lb_config(&self) -> String {
        let mounted = docker(&[
            "inspect",
            "-f",
            "{{range .Mounts}}{{if eq .Destination \"/etc/nginx/stackc\"}}{{.Source}}{{end}}{{end}}",
            &format!("{}-public-lb", self.name),
        ]);
        std::fs::read_to_string(PathBuf::from(mounted).join("nginx.conf")).unwrap_or_default()
    }

    fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.dir.join(".stackc/local/state.json")).unwrap();
        serde_json::from_str(&text).unwrap()
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

/// The upstream servers of an nginx configuration: host and weight (1
/// when it has none).
fn upstream(config: &str) -> Vec<(String, u64)> {
    config
        .lines()
        .filter_map(|line| line.trim().strip_prefix("server ").filter(|l| !l.starts_with('{')))
        .map(|line| {
            let host = line.split(':').next().unwrap_or_default().to_string();
            let weight = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("weight="))
                .map_or(1, |w| w.trim_end_matches(';').parse().unwrap());
            (host, weight)
        })
        .collect()
}

/// The share (percent) of the weight the canary servers have.
fn canary_share(servers: &[(String, u64)]) -> f64 {
    let total: u64 = servers.iter().map(|(_, w)| w).sum();
    let canary: u64 = servers.iter().filter(|(h, _)| h.contains("-canary-")).map(|(_, w)| w).sum();
    canary as f64 * 100.0 / total as f64
}

/// The load balancer's configuration as expanded with `web` at `step`.
fn expanded_config(stack: &Stack, step: Option<(u32, u64)>) -> String {
    let request = stackc_driver::StackRequest {
        path: stack.dir.clone(),
        target: Some("local".into()),
        vars: vec!["image=stackc-test-app:2".into(), format!("port={}", stack.port)],
        var_files: vec![],
        values: None,
        overlays: Default::default(),
    };
    let Ok(mut checked) = stackc_driver::check_stack(&request) else { panic!("the stack does not check") };
    if let Some((weight, canary)) = step {
        checked
            .rollouts
            .insert("service.web".into(), stackc_compiler::expand::RolloutStep { weight, canary });
    }
    let Ok(compiled) = checked.compile(None) else { panic!("the stack does not expand") };
    let address = stackc_compiler::graph::ResourceAddress("load_balancer.public/local_file.config".into());
    let node = compiled.graph.get(&address).unwrap();
    node.values.get_path(&["content"]).unwrap().as_str().unwrap().to_string()
}

/// Each version gets the step's share whatever the replica counts: with
/// 3 stable replicas and 1, 2 or 3 canary ones, the canary servers' part
/// of the weight is the step's percentage; at 0 or 100 one side is left
/// out; without a rollout nothing is weighted.
#[test]
fn each_step_weights_the_upstream_to_its_share() {
    let stack = Stack::new("rweights", &stack_text(3, "    strategy = \"canary\""));
    let plain = expanded_config(&stack, None);
    assert!(!plain.contains("weight="), "{plain}");
    assert_eq!(upstream(&plain).len(), 3, "{plain}");
    for (weight, canary) in [(10, 1), (25, 1), (50, 2), (90, 3)] {
        let config = expanded_config(&stack, Some((weight, canary)));
        let servers = upstream(&config);
        assert_eq!(servers.len(), 3 + canary as usize, "{config}");
        assert_eq!(canary_share(&servers), f64::from(weight), "{config}");
    }
    let config = expanded_config(&stack, Some((10, 1)));
    assert!(config.contains("server web-0:8080 weight=90 max_fails=0;"), "{config}");
    assert!(config.contains("server web-canary-0:8080 weight=30 max_fails=0;"), "{config}");
    // The switch of a blue-green rollout, and its first step.
    let all = upstream(&expanded_config(&stack, Some((100, 3))));
    assert!(all.iter().all(|(h, _)| h.contains("-canary-")) && all.len() == 3, "{all:?}");
    let none = upstream(&expanded_config(&stack, Some((0, 3))));
    assert!(none.iter().all(|(h, _)| !h.contains("-canary-")) && none.len() == 3, "{none:?}");
    // No stable replica (a step recorded before the replicas went to 0):
    // the canary servers weigh 1, never 0 (which nginx refuses).
    std::fs::write(stack.dir.join("main.stack.hcl"), stack_text(0, "    strategy = \"canary\"")).unwrap();
    let config = expanded_config(&stack, Some((10, 1)));
    assert_eq!(upstream(&config), vec![("web-canary-0".to_string(), 1)], "{config}");
}

/// nginx reloads its configuration gracefully: with a client sending
/// requests continuously, reloads (SIGHUP, as the provider sends on each
/// change) and a scale-up that rewrites the upstream lose no request.
#[test]
fn load_balancer_reloads_lose_no_request() {
    if !docker_available() {
        return;
    }
    let started = Instant::now();
    let stack = Stack::new("rreload", &stack_text(2, "    strategy = \"canary\""));
    stack.apply("stackc-test-app:1");
    let traffic = Traffic::start(stack.port, 2, Duration::from_millis(5));
    let before = traffic.answered_after(&Counts::default(), 50, Duration::from_secs(30));
    for _ in 0..10 {
        docker(&["kill", "-s", "HUP", &format!("{}-public-lb", stack.name)]);
        std::thread::sleep(Duration::from_millis(300));
    }
    std::fs::write(stack.dir.join("main.stack.hcl"), stack_text(3, "    strategy = \"canary\"")).unwrap();
    stack.apply("stackc-test-app:1");
    let end = traffic.answered_after(&before, 100, Duration::from_secs(30));
    let counts = traffic.stop();
    eprintln!("reloads: {counts} in {:.1}s", started.elapsed().as_secs_f64());
    assert_eq!(counts.failed, 0, "{counts}");
    assert_eq!(upstream(&stack.lb_config()).len(), 3);
    assert!(end.answered() >= 100 && counts.of("v1") == counts.answered(), "{counts}");
}

/// The rollout record of `web` in the state (null when none).
fn recorded(stack: &Stack) -> serde_json::Value {
    stack.state()["instances"]["service.web"]["rollout"].clone()
}

/// Asserts the weights the load balancer has give the canary the share
/// the state's record says (none without a record in progress).
#[track_caller]
fn assert_weights_match_the_record(stack: &Stack) {
    let record = recorded(stack);
    let servers = upstream(&stack.lb_config());
    let in_progress =
        matches!(record["status"].as_str(), Some("applying" | "paused" | "kept" | "rolling_back"));
    let expected = if in_progress { record["weight"].as_f64().unwrap() } else { 0.0 };
    assert_eq!(canary_share(&servers), expected, "record {record}, upstream {servers:?}");
    if in_progress && expected > 0.0 {
        let canaries = servers.iter().filter(|(h, _)| h.contains("-canary-")).count() as u64;
        assert_eq!(Some(canaries), record["canary"].as_u64(), "record {record}, upstream {servers:?}");
    }
}

const CANARY: &str = r#"    strategy = "canary"
    steps    = [10, 50, 100]
    gate     = "2s"
    timeout  = "60s"
    pause    = "promote""#;

/// canary 10 -> 50 -> 100, paused until promoted after each step: the new
/// version's share of >= 400 requests at each step is within 5 points of
/// the step's; no request fails across the whole rollout (promotion and
/// finish included); then only v2 answers, and no canary is left.
#[test]
fn canary_steps_give_the_new_version_its_share_and_lose_no_request() {
    if !docker_available() {
        return;
    }
    let started = Instant::now();
    let stack = Stack::new("rcanary", &stack_text(2, CANARY));
    stack.apply("stackc-test-app:1");
    let traffic = Traffic::start(stack.port, 2, Duration::from_millis(2));
    let mut measured = Vec::new();
    let paused = stack.apply("stackc-test-app:2");
    for (i, step) in [10.0, 50.0].into_iter().enumerate() {
        let record = recorded(&stack);
        assert_eq!(record["status"], "paused", "{record}\n{}", text(&paused.stdout));
        assert_eq!(record["weight"].as_f64(), Some(step), "{record}");
        assert_weights_match_the_record(&stack);
        // Requests sent once the step is applied (a moment for nginx's
        // old worker to finish the ones it had).
        std::thread::sleep(Duration::from_millis(300));
        let window = traffic.answered_after(&traffic.counts(), 400, Duration::from_secs(60));
        eprintln!("canary step {} ({step}%): {window}: v2 share {:.1}%", i + 1, window.share("v2"));
        assert!((window.share("v2") - step).abs() <= 5.0, "step {step}%: {window}");
        measured.push((step, window));
        let promoted = stack.run(&["rollout", "promote"], "stackc-test-app:2", None);
        assert!(
            promoted.status.success(),
            "promote:\n{}\n{}",
            text(&promoted.stdout),
            text(&promoted.stderr)
        );
    }
    // The last step (100), the promotion and the finish are done: the
    // record is cleared, only v2 answers, the canary containers are gone.
    assert!(recorded(&stack).is_null(), "{}", recorded(&stack));
    let after = traffic.answered_after(&traffic.counts(), 400, Duration::from_secs(60));
    let counts = traffic.stop();
    eprintln!("canary after finish: {after}");
    eprintln!("canary rollout: {counts} in {:.1}s", started.elapsed().as_secs_f64());
    assert_eq!(after.of("v2"), after.answered(), "{after}");
    assert_eq!(counts.failed, 0, "requests failed during the rollout: {counts}");
    assert_eq!(
        stack.containers(),
        vec![
            format!("{}-public-lb", stack.name),
            format!("{}-web-0", stack.name),
            format!("{}-web-1", stack.name)
        ]
    );
    assert_weights_match_the_record(&stack);
    let plan = stack.run(&["plan", "--detailed-exitcode"], "stackc-test-app:2", None);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
}

/// blue_green: the whole new set is started and gated, then traffic
/// switches at once without losing a request; only v2 answers then, and
/// `rollout undo` while the old set is kept returns to v1 (the same
/// containers); applied again and promoted, only v2 answers and the new
/// set is gone; no request fails throughout.
#[test]
fn blue_green_switches_and_undoes_without_losing_a_request() {
    if !docker_available() {
        return;
    }
    let started = Instant::now();
    // No `keep`: the old set is kept until the next apply (or an undo).
    let rollout = "    strategy = \"blue_green\"\n    gate     = \"2s\"\n    timeout  = \"60s\"";
    let stack = Stack::new("rbluegreen", &stack_text(2, rollout));
    stack.apply("stackc-test-app:1");
    let stable = stack.stable_ids(2);
    let traffic = Traffic::start(stack.port, 2, Duration::from_millis(2));
    let switched = stack.apply("stackc-test-app:2");
    let record = recorded(&stack);
    assert_eq!(record["status"], "kept", "{record}\n{}", text(&switched.stdout));
    assert_weights_match_the_record(&stack);
    std::thread::sleep(Duration::from_millis(300));
    let after_switch = traffic.answered_after(&traffic.counts(), 200, Duration::from_secs(60));
    eprintln!("blue-green after the switch: {after_switch}");
    assert_eq!(after_switch.of("v2"), after_switch.answered(), "{after_switch}");
    // The old set is kept, untouched, for an undo.
    assert_eq!(stack.stable_ids(2), stable);
    let undone = stack.run(&["rollout", "undo"], "stackc-test-app:2", None);
    assert!(undone.status.success(), "undo:\n{}\n{}", text(&undone.stdout), text(&undone.stderr));
    std::thread::sleep(Duration::from_millis(300));
    let after_undo = traffic.answered_after(&traffic.counts(), 200, Duration::from_secs(60));
    eprintln!("blue-green after the undo: {after_undo}");
    assert_eq!(after_undo.of("v1"), after_undo.answered(), "{after_undo}");
    assert_eq!(stack.stable_ids(2), stable, "the stable containers were re-created");
    assert!(stack.containers().iter().all(|c| !c.contains("-canary-")), "{:?}", stack.containers());
    assert_weights_match_the_record(&stack);
    // Again, then promoted: the stable set takes the new version while the
    // new set serves, and the new set goes; only v2 answers.
    stack.apply("stackc-test-app:2");
    assert_eq!(recorded(&stack)["status"], "kept");
    let promoted = stack.run(&["rollout", "promote"], "stackc-test-app:2", None);
    assert!(promoted.status.success(), "promote:\n{}\n{}", text(&promoted.stdout), text(&promoted.stderr));
    assert!(recorded(&stack).is_null(), "{}", recorded(&stack));
    std::thread::sleep(Duration::from_millis(300));
    let after_promote = traffic.answered_after(&traffic.counts(), 200, Duration::from_secs(60));
    let counts = traffic.stop();
    eprintln!("blue-green after the promote: {after_promote}");
    eprintln!("blue-green: {counts} in {:.1}s", started.elapsed().as_secs_f64());
    assert_eq!(after_promote.of("v2"), after_promote.answered(), "{after_promote}");
    assert_eq!(counts.failed, 0, "requests failed during the switches, the undo or the promote: {counts}");
    assert!(stack.containers().iter().all(|c| !c.contains("-canary-")), "{:?}", stack.containers());
    assert_weights_match_the_record(&stack);
}

/// A new version whose health check starts failing once it runs (its
/// /healthz goes away after 3 s): the gate fails, traffic returns to the
/// stable version, apply exits non-zero showing the health check's output
/// and the `rollout` block; afterwards no request is answered by it, and
/// the stable containers never stopped.
#[test]
fn a_new_version_failing_its_health_check_is_rolled_back() {
    if !docker_available() {
        return;
    }
    let started = Instant::now();
    let rollout =
        "    strategy = \"canary\"\n    steps    = [50, 100]\n    gate     = \"10s\"\n    timeout  = \"15s\"";
    let stack = Stack::new("rfailing", &stack_text(2, rollout));
    stack.apply("stackc-test-app:1");
    let stable = stack.stable_ids(2);
    let traffic = Traffic::start(stack.port, 2, Duration::from_millis(2));
    let failing = r#"["sh", "-c", "mkdir -p /www; echo app v2 from $(hostname) > /www/index.html; echo ok > /www/healthz; (sleep 3; rm /www/healthz) & exec httpd -f -p 8080 -h /www"]"#;
    let out = stack.run(&["apply", "--auto-approve"], "stackc-test-app:2", Some(failing));
    let stderr = text(&out.stderr);
    eprintln!("failing version: the apply said:\n{}{stderr}", text(&out.stdout));
    assert!(!out.status.success(), "the apply succeeded");
    assert!(stderr.contains("404"), "the health check's output: {stderr}");
    assert!(stderr.contains("rollout {"), "the rollout block: {stderr}");
    let record = recorded(&stack);
    assert_eq!(record["status"], "rolled_back", "{record}");
    assert_weights_match_the_record(&stack);
    let rolled_back = traffic.counts();
    std::thread::sleep(Duration::from_millis(300));
    let after = traffic.answered_after(&traffic.counts(), 400, Duration::from_secs(60));
    let counts = traffic.stop();
    eprintln!("failing version: before the rollback {rolled_back}");
    eprintln!("failing version: after the rollback {after}");
    eprintln!("failing version: {counts} in {:.1}s", started.elapsed().as_secs_f64());
    assert_eq!(after.of("v2"), 0, "{after}");
    assert_eq!(counts.failed, 0, "{counts}");
    assert_eq!(stack.stable_ids(2), stable, "the stable containers were stopped or re-created");
    let restarts = docker(&[
        "inspect",
        "-f",
        "{{.RestartCount}} {{.State.StartedAt}}",
        &format!("{}-web-0", stack.name),
    ]);
    assert!(restarts.starts_with("0 "), "{restarts}");
    assert!(stack.containers().iter().all(|c| !c.contains("-canary-")), "{:?}", stack.containers());
}

/// `stackc apply` killed (-9) while it gates a canary step: the load
/// balancer's weights match the state's record; the next apply resumes the
/// rollout (or rolls it back), after which they match again; no request
/// failed.
#[test]
fn an_apply_killed_mid_step_resumes_with_weights_matching_the_state() {
    if !docker_available() {
        return;
    }
    let started = Instant::now();
    let rollout = "    strategy = \"canary\"\n    steps    = [10, 50, 100]\n    gate     = \"8s\"\n    timeout  = \"60s\"\n    pause    = \"promote\"";
    let stack = Stack::new("rkill", &stack_text(2, rollout));
    stack.apply("stackc-test-app:1");
    let traffic = Traffic::start(stack.port, 2, Duration::from_millis(2));
    let mut child = stack
        .command(&["apply", "--auto-approve"], "stackc-test-app:2", None)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the step's canary serves (the gate is then under way).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let canary = format!("{}-web-canary-0", stack.name);
        let healthy = docker(&["inspect", "-f", "{{.State.Health.Status}}", &canary]) == "healthy";
        if healthy && canary_share(&upstream(&stack.lb_config())) > 0.0 {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the apply ended before it was killed");
        assert!(Instant::now() < deadline, "no canary step under way");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = recorded(&stack);
    eprintln!("killed mid-step: record {killed}");
    assert_eq!(killed["status"], "applying", "{killed}");
    assert_weights_match_the_record(&stack);
    // The killed apply's lock stays (as after any killed command): the
    // next apply names it, and it is released as it says.
    let locked = stack.run(&["apply", "--auto-approve"], "stackc-test-app:2", None);
    let error = text(&locked.stderr);
    assert!(!locked.status.success() && error.contains("no longer running"), "{error}");
    let id = error.split("lock id ").nth(1).and_then(|rest| rest.split(',').next()).unwrap();
    let unlocked = Command::new(env!("CARGO_BIN_EXE_stackc"))
        .args(["state", "unlock"])
        .arg(&stack.dir)
        .args([id, "--target", "local"])
        .output()
        .unwrap();
    assert!(unlocked.status.success(), "{}", text(&unlocked.stderr));
    assert_weights_match_the_record(&stack);
    // Applied again: it resumes (pausing after the step) or rolls back.
    let resumed = stack.apply("stackc-test-app:2");
    let record = recorded(&stack);
    eprintln!("applied again: record {record}");
    assert!(
        record["status"] == "paused" || record["status"] == "rolled_back",
        "{record}\n{}",
        text(&resumed.stdout)
    );
    assert_weights_match_the_record(&stack);
    std::thread::sleep(Duration::from_millis(300));
    let window = traffic.answered_after(&traffic.counts(), 400, Duration::from_secs(60));
    let counts = traffic.stop();
    eprintln!("after the resumed apply: {window}");
    eprintln!("killed apply: {counts} in {:.1}s", started.elapsed().as_secs_f64());
    let expected = if record["status"] == "paused" { record["weight"].as_f64().unwrap() } else { 0.0 };
    assert!((window.share("v2") - expected).abs() <= 5.0, "{window}");
    assert_eq!(counts.failed, 0, "{counts}");
}
