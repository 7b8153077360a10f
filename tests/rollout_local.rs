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
        if args[0] != "rollout" {
            cmd.args(["-var", &format!("image={image}")]).args(["-var", &format!("port={}", self.port)]);
            if let Some(command) = command {
                cmd.args(["-var", &format!("command={command}")]);
            }
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
