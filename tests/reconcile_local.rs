//! `stackc reconcile --target local` against the real Docker Engine
//! (`scripts/test` starts it, builds the test images and sets
//! `STACKC_TEST_DOCKER`): one pass restores a removed API replica and a
//! stopped database container of `examples/shop` (the database on its same
//! volume, with its data) while the load balancer keeps answering; an idle
//! pass reads each type once; `--watch` stopped by SIGTERM in the middle of
//! a pass finishes it, saves the state, releases the lock and exits 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../providers/local/tests/support/mod.rs"]
mod support;

use support::{docker, docker_available};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A stack in a directory of its own name, removed with what it made.
struct Stack {
    root: tempfile::TempDir,
    dir: PathBuf,
    name: String,
    port: u16,
    vars: Vec<String>,
}

impl Stack {
    fn new(prefix: &str) -> Stack {
        let root = tempfile::tempdir().unwrap();
        let name = format!("{prefix}{}", std::process::id() % 10000);
        let dir = root.path().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        Stack { root, dir, name, port: free_port(), vars: Vec::new() }
    }

    /// `examples/shop` with the test images and its own port.
    fn shop(prefix: &str) -> Stack {
        let mut stack = Stack::new(prefix);
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
        for entry in std::fs::read_dir(&example).unwrap().flatten().filter(|e| e.path().is_file()) {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let text = text.replace(
                "target \"local\" {}",
                "target \"local\" {\n  load_balancer_image = \"stackc-test-lb:1\"\n}",
            );
            std::fs::write(stack.dir.join(entry.file_name()), text).unwrap();
        }
        stack.vars = vec![
            "api_image=stackc-test-app:1".into(),
            "database_image=stackc-test-app:1".into(),
            format!("http_port={}", stack.port),
        ];
        stack
    }

    fn command(&self, command: &str, extra: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stackc"));
        cmd.arg(command)
            .arg(&self.dir)
            .args(["--target", "local"])
            .args(extra)
            .env("STACKC_SECRETS_DIR", self.root.path().join("secrets"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        cmd
    }

    fn stackc(&self, command: &str, extra: &[&str]) -> Output {
        self.command(command, extra).output().unwrap()
    }

    fn apply(&self) {
        let mut args: Vec<&str> = vec!["--auto-approve"];
        for var in &self.vars {
            args.extend(["-var", var.as_str()]);
        }
        let out = self.stackc("apply", &args);
        assert!(out.status.success(), "apply failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join(".stackc/local/state.lock")
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let label = format!("label=stackc.stack={}", self.name);
        for id in docker(&["ps", "-aq", "--filter", &label]).lines() {
            docker(&["rm", "-f", id]);
        }
        for name in docker(&["volume", "ls", "-q", "--filter", &label]).lines() {
            docker(&["volume", "rm", "-f", name]);
        }
        for id in docker(&["network", "ls", "-q", "--filter", &label]).lines() {
            docker(&["network", "rm", id]);
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One GET through the load balancer: whether it answered 200.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    if stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n").is_err() {
        return false;
    }
    let mut response = String::new();
    stream.read_to_string(&mut response).is_ok() && response.starts_with("HTTP/1.1 200")
}

/// Engine calls of a run with `STACKC_LOCAL_STATS=1`, by call.
fn engine_calls(stderr: &str) -> std::collections::BTreeMap<String, u64> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("local-stats: "))
        .filter_map(|l| {
            let (call, n) = l.rsplit_once(' ')?;
            Some((call.to_string(), n.parse().ok()?))
        })
        .collect()
}

/// Event lines with durations as `<t>` and the `done` lines sorted (they
/// come in the order the operations finish).
fn stable(stdout: &str) -> String {
    let timeless = |line: &str| -> String {
        line.split(' ')
            .map(|word| {
                let core = word.trim_start_matches('(').trim_end_matches(')');
                let timing =
                    core.strip_suffix('s').is_some_and(|n| !n.is_empty() && n.parse::<f64>().is_ok());
                if timing {
                    word.replace(core, "<t>")
                } else {
                    word.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut lines: Vec<String> = stdout.lines().map(timeless).collect();
    let done: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].starts_with("done ")).collect();
    if let (Some(&first), Some(&last)) = (done.first(), done.last()) {
        lines[first..=last].sort();
    }
    lines.join("\n") + "\n"
}

#[test]
fn one_pass_restores_a_removed_replica_and_a_stopped_database_on_its_volume_while_the_lb_answers() {
    if !docker_available() {
        return;
    }
    let shop = Stack::shop("rcshop");
    shop.apply();
    let n = shop.name.clone();
    docker(&["exec", &format!("{n}-main-0"), "sh", "-c", "echo kept > /var/lib/postgresql/data/marker"]);

    // An idle pass: one list per type of object.
    let started = Instant::now();
    let idle = shop.command("reconcile", &[]).env("STACKC_LOCAL_STATS", "1").output().unwrap();
    let idle_time = started.elapsed();
    assert!(idle.status.success(), "{}", text(&idle.stderr));
    assert!(text(&idle.stdout).starts_with("pass 1: converged, nothing to do"), "{}", text(&idle.stdout));
    let calls = engine_calls(&text(&idle.stderr));
    for list in ["ContainerList", "VolumeList", "NetworkList"] {
        assert_eq!(calls.get(list), Some(&1), "{calls:?}");
    }
    eprintln!("idle reconcile pass on local: {:.2}s, Engine calls {calls:?}", idle_time.as_secs_f64());

    // Lost behind stackc's back: a replica removed, a database stopped.
    docker(&["rm", "-f", &format!("{n}-api-1")]);
    docker(&["stop", &format!("{n}-main-0")]);
    let status = shop.stackc("status", &["--json"]);
    let document: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let instance = |name: &str| {
        document["instances"].as_array().unwrap().iter().find(|i| i["instance"] == name).cloned().unwrap()
    };
    assert_eq!(instance("service.api")["replicas"], serde_json::json!({"desired": 4, "ready": 3}));
    assert_eq!(
        instance("service.api")["drift"]["gone"],
        serde_json::json!(["service.api/docker_container.replica[1]"])
    );
    assert_eq!(
        instance("database.main")["drift"]["stopped"],
        serde_json::json!(["database.main/docker_container.node[0]"])
    );

    // The load balancer is polled from a thread throughout the pass.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let poller = {
        let (stop, ok, failed, port) = (stop.clone(), ok.clone(), failed.clone(), shop.port);
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if answers(port) { &ok } else { &failed }.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let started = Instant::now();
    let pass = shop.stackc("reconcile", &[]);
    let pass_time = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    poller.join().unwrap();
    assert!(pass.status.success(), "{}\n{}", text(&pass.stdout), text(&pass.stderr));
    insta::assert_snapshot!("restored", stable(&text(&pass.stdout)));
    let (ok, failed) = (ok.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
    assert!(
        ok > 0 && failed == 0,
        "the load balancer answered {ok} requests and failed {failed} during the pass"
    );
    eprintln!("restoring pass on local: {:.2}s ({ok} requests answered meanwhile)", pass_time.as_secs_f64());

    // The database runs again on its same volume, with its data.
    let db = format!("{n}-main-0");
    assert_eq!(docker(&["inspect", "-f", "{{.State.Running}}", &db]), "true");
    assert!(docker(&["inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}", &db]).contains(&db));
    assert_eq!(docker(&["exec", &db, "cat", "/var/lib/postgresql/data/marker"]), "kept");
    let api = format!("{n}-api-1");
    assert_eq!(docker(&["inspect", "-f", "{{.State.Health.Status}}", &api]), "healthy");
    // Nothing left to do.
    let again = shop.stackc("reconcile", &[]);
    assert!(text(&again.stdout).starts_with("pass 1: converged"), "{}", text(&again.stdout));
    let mut args = vec!["--detailed-exitcode"];
    for var in &shop.vars {
        args.extend(["-var", var.as_str()]);
    }
    let plan = shop.stackc("plan", &args);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stdout));
}

const SMALL: &str = r#"
service "web" {
  image    = "stackc-test-app:1"
  replicas = 2
  port     = 8080
  health { path = "/healthz" }
}

target "local" {}
"#;

#[test]
fn watch_stopped_by_sigterm_mid_pass_finishes_saves_releases_and_exits_0() {
    if !docker_available() {
        return;
    }
    let stack = Stack::new("rcwatch");
    std::fs::write(stack.dir.join("main.stack.hcl"), SMALL).unwrap();
    stack.apply();
    docker(&["rm", "-f", &format!("{}-web-0", stack.name)]);

    let mut child =
        stack.command("reconcile", &["--watch", "--interval", "1h"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    // SIGTERM once the pass found the loss: it is planning or applying.
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.starts_with("found") {
            break;
        }
    }
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    seen.extend(lines.map(|l| l.unwrap()));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen:?}");
    assert_eq!(
        seen.first().map(String::as_str),
        Some("found   service.web/docker_container.replica[0]: gone (deleted outside stackc)")
    );
    assert!(
        seen.last().is_some_and(|l| l == "stopped after pass 1: the state is saved and the lock released"),
        "{seen:?}"
    );
    assert!(!stack.lock_path().exists(), "the lock was released");
    // The state loads, and the pass finished what it started.
    let listed = Command::new(env!("CARGO_BIN_EXE_stackc"))
        .args(["state", "list"])
        .arg(&stack.dir)
        .args(["--target", "local"])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert!(!stack.dir.join(".stackc/local/state.journal").exists(), "the journal was committed");
    let plan = stack.stackc("plan", &["--detailed-exitcode"]);
    let stdout = text(&plan.stdout);
    assert!(plan.status.code() == Some(0) || stdout.contains("replica[0]"), "{stdout}");
}

#[test]
fn watch_retries_a_failing_pass_with_a_growing_wait_and_never_exits_on_it() {
    if !docker_available() {
        return;
    }
    let stack = Stack::new("rcdown");
    std::fs::write(stack.dir.join("main.stack.hcl"), SMALL).unwrap();
    stack.apply();
    // The Engine is unreachable for the loop: every pass fails.
    let mut child = stack
        .command("reconcile", &["--watch", "--interval", "1s", "--json"])
        .env("DOCKER_HOST", format!("unix://{}/no-engine.sock", stack.root.path().display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut retries = Vec::new();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let event: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        seen.push(event.clone());
        if event["event"] == "retry" {
            retries.push((event["failures"].as_u64().unwrap(), event["wait_ms"].as_u64().unwrap()));
            if retries.len() == 3 {
                break;
            }
        }
    }
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    seen.extend(lines.map(|l| serde_json::from_str::<serde_json::Value>(&l.unwrap()).unwrap()));
    assert_eq!(child.wait().unwrap().code(), Some(0), "{seen:?}");
    assert_eq!(retries, vec![(1, 1000), (2, 2000), (3, 4000)], "{seen:?}");
    let errors: Vec<&serde_json::Value> = seen.iter().filter(|e| e["event"] == "error").collect();
    assert!(errors[0]["message"].as_str().unwrap().contains("no-engine.sock"), "{seen:?}");
    assert!(seen.iter().any(|e| e["event"] == "pass" && e["outcome"] == "failed"));
    assert_eq!(seen.last().unwrap()["event"], "stopped", "{seen:?}");
    assert!(!stack.lock_path().exists(), "the lock was released");
}

/// A service whose replicas burn CPU until `/tmp/stop` exists.
const BURNING: &str = r#"
service "burn" {
  image   = "stackc-test-app:1"
  command = ["sh", "-c", "trap 'exit 0' TERM; while [ ! -f /tmp/stop ]; do :; done; while :; do sleep 1; done"]
  resources {
    cpu    = "0.25"
    memory = "32Mi"
  }
  autoscale {
    min               = 1
    max               = 3
    cpu_target        = 30
    scale_down_window = "5s"
  }
}

target "local" {}
"#;

/// The `burn` replicas running now.
fn burning(stack: &Stack) -> Vec<String> {
    let label = format!("label=stackc.stack={}", stack.name);
    docker(&["ps", "-q", "--filter", &label, "--filter", "label=stackc.instance=burn"])
        .lines()
        .map(str::to_string)
        .collect()
}

/// One reconcile pass (JSON events): the autoscale event's `to`.
fn autoscale_pass(stack: &Stack) -> u64 {
    let out = stack.stackc("reconcile", &["--json"]);
    assert!(out.status.success(), "reconcile failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    let events: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let scale = events.iter().find(|e| e["event"] == "autoscale").unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(scale["instance"], "service.burn", "{scale}");
    eprintln!("pass: {scale}");
    scale["to"].as_u64().unwrap()
}

/// `plan` keeps the autoscaled count: no change, and it says so.
fn plan_keeps(stack: &Stack, replicas: u64) {
    let out = stack.stackc("plan", &["--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "plan wants changes:\n{}{}", text(&out.stdout), text(&out.stderr));
    let shown =
        format!("{replicas} replica{} (autoscaled between 1 and 3)", if replicas == 1 { "" } else { "s" });
    assert!(text(&out.stdout).contains(&shown), "plan does not show `{shown}`:\n{}", text(&out.stdout));
}

#[test]
fn reconcile_passes_autoscale_a_burning_service_up_to_max_and_back_to_min_and_plan_keeps_the_count() {
    if !docker_available() {
        return;
    }
    let stack = Stack::new("rcburn");
    std::fs::write(stack.dir.join("main.stack.hcl"), BURNING).unwrap();
    stack.apply();
    assert_eq!(burning(&stack).len(), 1, "autoscale.min before anything is measured");

    let mut replicas = 1;
    let mut passes = 0;
    while replicas < 3 {
        passes += 1;
        assert!(passes <= 4, "not at max after 4 passes ({replicas} replicas)");
        let to = autoscale_pass(&stack);
        assert!(to >= replicas, "scaled down under load");
        replicas = to;
        assert_eq!(burning(&stack).len() as u64, replicas, "the pass did not carry out its count");
        plan_keeps(&stack, replicas);
    }
    eprintln!("measured: {passes} reconcile pass(es) from min to max");

    for replica in burning(&stack) {
        docker(&["exec", &replica, "touch", "/tmp/stop"]);
    }
    let mut passes = 0;
    while replicas > 1 {
        passes += 1;
        assert!(passes <= 30, "not back at min after 30 passes ({replicas} replicas)");
        std::thread::sleep(Duration::from_secs(1));
        replicas = autoscale_pass(&stack);
        assert_eq!(burning(&stack).len() as u64, replicas, "the pass did not carry out its count");
        plan_keeps(&stack, replicas);
    }
    eprintln!("measured: {passes} reconcile pass(es) from max back to min after the load stopped");
    let status = stack.stackc("status", &["--json"]);
    let document: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let burn =
        document["instances"].as_array().unwrap().iter().find(|i| i["instance"] == "service.burn").cloned();
    assert_eq!(burn.unwrap()["autoscaled"], 1, "status shows the recorded count");
}
