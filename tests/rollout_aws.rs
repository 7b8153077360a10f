//! Rollouts on the aws target (issue 13).
//!
//! Offline: the stdlib's aws bodies expanded for the shop with a rollout
//! step set (`self.rollout`, as the rollout engine sets it): the canary
//! task definition, target group and service, the listener's weighted
//! forward, the descriptor the engine reads.
//!
//! Against moto (a server of each test's own, whose ECS services run their
//! tasks): the real `stackc` carries canary rollouts out, and an
//! independent boto3 client (`scripts/aws-check.py`) reads the listener's
//! weights after each step, the services and what is left.

use stackc_compiler::expand::RolloutStep;
use stackc_compiler::graph::{ResourceAddress, ResourceGraph};
use stackc_compiler::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- expansion

/// The shop example expanded for aws, with `step` for `service.api`.
fn shop_expanded(step: Option<RolloutStep>) -> ResourceGraph {
    let request = stackc_driver::StackRequest {
        path: Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop"),
        target: Some("aws".into()),
        ..Default::default()
    };
    let mut checked = match stackc_driver::check_stack(&request) {
        Ok(checked) => checked,
        Err(_) => panic!("examples/shop checks"),
    };
    if let Some(step) = step {
        checked.rollouts.insert("service.api".into(), step);
    }
    match checked.compile(None) {
        Ok(compiled) => compiled.graph,
        Err(diagnostics) => {
            panic!("shop expands: {:?}", diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>())
        }
    }
}

fn values<'g>(graph: &'g ResourceGraph, address: &str) -> &'g Value {
    &graph.get(&ResourceAddress(address.to_string())).unwrap_or_else(|| panic!("{address} is planned")).values
}

fn has(graph: &ResourceGraph, address: &str) -> bool {
    graph.get(&ResourceAddress(address.to_string())).is_some()
}

/// The listener's one default action.
fn listener_action(graph: &ResourceGraph) -> Value {
    let actions = values(graph, "load_balancer.public/aws_lb_listener.main").get_path(&["default_action"]);
    let actions = actions.and_then(Value::as_list).expect("a list of actions");
    assert_eq!(actions.len(), 1, "{actions:?}");
    actions[0].clone()
}

const CANARY: [&str; 3] = [
    "service.api/aws_ecs_task_definition.canary[0]",
    "service.api/aws_lb_target_group.canary[0]",
    "service.api/aws_ecs_service.canary[0]",
];

/// Without a rollout step the shop has no canary object, its listener
/// forwards plainly to the service's group, and the descriptor tells the
/// engine which blocks are stable, canary and gated.
#[test]
fn without_a_step_nothing_changes_but_the_descriptor() {
    let graph = shop_expanded(None);
    for address in CANARY {
        assert!(!has(&graph, address), "{address} without a rollout step");
    }
    let action = listener_action(&graph);
    assert_eq!(action.get_path(&["type"]), Some(&Value::string("forward")));
    assert!(action.get_path(&["target_group_arn"]).is_some(), "{action:?}");
    assert!(action.get_path(&["forward"]).is_none(), "{action:?}");

    let descriptor = values(&graph, "service.api/stackc_data.rollout[0]");
    let rollout = descriptor.get_path(&["input", "rollout"]).expect("input.rollout");
    let text = |path: &[&str]| rollout.get_path(path).cloned();
    let list = |items: &[&str]| Some(Value::List(items.iter().map(|s| Value::string(*s)).collect()));
    assert_eq!(text(&["strategy"]), Some(Value::string("canary")));
    assert_eq!(
        text(&["steps"]),
        Some(Value::List(vec![Value::Number(10.0), Value::Number(50.0), Value::Number(100.0)]))
    );
    assert_eq!(text(&["gate"]), Some(Value::string("30s")));
    assert_eq!(text(&["timeout"]), Some(Value::string("300s")));
    assert_eq!(text(&["pause"]), Some(Value::string("0s")));
    assert_eq!(text(&["port"]), Some(Value::Number(8080.0)));
    // autoscale.min: the stable service's desired count.
    assert_eq!(text(&["replicas"]), Some(Value::Number(4.0)));
    assert_eq!(text(&["stable"]), list(&["aws_ecs_service.main", "aws_ecs_task_definition.main"]));
    assert_eq!(
        text(&["canary"]),
        list(&["aws_ecs_service.canary", "aws_ecs_task_definition.canary", "aws_lb_target_group.canary"])
    );
    assert_eq!(text(&["health"]), list(&["aws_ecs_service.canary"]));
}

/// During a step the new version runs as `api-canary` with the step's task
/// count, the stable task definition's containers and a target group of its
/// own; the listener weighs the stable group against it by the step's share.
#[test]
fn a_step_adds_the_canary_and_weighs_the_listener() {
    let graph = shop_expanded(Some(RolloutStep { weight: 10, canary: 1 }));
    for address in CANARY {
        assert!(has(&graph, address), "{address} during a step");
    }
    let service = values(&graph, "service.api/aws_ecs_service.canary[0]");
    assert_eq!(service.get_path(&["name"]), Some(&Value::string("api-canary")));
    assert_eq!(service.get_path(&["desired_count"]), Some(&Value::Number(1.0)));
    let stable = values(&graph, "service.api/aws_ecs_service.main");
    assert_eq!(stable.get_path(&["desired_count"]), Some(&Value::Number(4.0)), "the stable count stays");
    assert_eq!(service.get_path(&["network_configuration"]), stable.get_path(&["network_configuration"]));

    let canary_task = values(&graph, "service.api/aws_ecs_task_definition.canary[0]");
    let stable_task = values(&graph, "service.api/aws_ecs_task_definition.main");
    assert_eq!(
        canary_task.get_path(&["container_definitions"]),
        stable_task.get_path(&["container_definitions"])
    );
    assert_ne!(canary_task.get_path(&["family"]), stable_task.get_path(&["family"]));

    let group = values(&graph, "service.api/aws_lb_target_group.canary[0]");
    let stable_group = values(&graph, "service.api/aws_lb_target_group.main[0]");
    let name = group.get_path(&["name"]).and_then(Value::as_str).expect("a name").to_string();
    assert_eq!(name, "shop-api-c");
    assert_ne!(group.get_path(&["name"]), stable_group.get_path(&["name"]));
    assert_eq!(group.get_path(&["health_check"]), stable_group.get_path(&["health_check"]));

    let action = listener_action(&graph);
    let groups = action.get_path(&["forward", "target_groups"]).and_then(Value::as_list).expect("weighted");
    let weights: Vec<Option<f64>> =
        groups.iter().map(|g| g.get_path(&["weight"]).and_then(Value::as_f64)).collect();
    assert_eq!(weights, vec![Some(90.0), Some(10.0)]);
    assert!(action.get_path(&["target_group_arn"]).is_none(), "{action:?}");

    // The last step: the canary takes every request.
    let graph = shop_expanded(Some(RolloutStep { weight: 100, canary: 4 }));
    let action = listener_action(&graph);
    let groups = action.get_path(&["forward", "target_groups"]).and_then(Value::as_list).expect("weighted");
    let weights: Vec<Option<f64>> =
        groups.iter().map(|g| g.get_path(&["weight"]).and_then(Value::as_f64)).collect();
    assert_eq!(weights, vec![Some(0.0), Some(100.0)]);
    let service = values(&graph, "service.api/aws_ecs_service.canary[0]");
    assert_eq!(service.get_path(&["desired_count"]), Some(&Value::Number(4.0)));
}

/// A long stack name: the canary group's name stays within AWS's 32
/// characters and differs from the main group's.
#[test]
fn the_canary_group_name_of_a_long_stack_fits_and_differs() {
    let dir =
        tempfile::Builder::new().prefix("a-stack-with-a-rather-long-name-").tempdir().expect("temp dir");
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
    for entry in std::fs::read_dir(&shop).expect("examples/shop") {
        let entry = entry.expect("entry");
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
        }
    }
    let request = stackc_driver::StackRequest {
        path: dir.path().to_path_buf(),
        target: Some("aws".into()),
        ..Default::default()
    };
    let Ok(mut checked) = stackc_driver::check_stack(&request) else { panic!("the copy checks") };
    checked.rollouts.insert("service.api".into(), RolloutStep { weight: 50, canary: 2 });
    let Ok(compiled) = checked.compile(None) else { panic!("the copy expands") };
    let name = |address: &str| {
        values(&compiled.graph, address)
            .get_path(&["name"])
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (main, canary) =
        (name("service.api/aws_lb_target_group.main[0]"), name("service.api/aws_lb_target_group.canary[0]"));
    assert!(main.len() <= 32 && canary.len() <= 32, "{main} / {canary}");
    assert_ne!(main, canary);
}

// ---------------------------------------------------------------- against moto

/// A moto server of the test's own: ECS services run their tasks at once
/// (`MOTO_ECS_SERVICE_RUNNING`, more than any desired count here), which
/// the shared moto must not do (other tests expect moto's default).
/// Stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Option<Moto> {
        // The same switch as the other moto-backed tests: without the
        // suite's moto (scripts/test), skip by hand, fail on CI.
        match std::env::var("STACKC_TEST_MOTO_ENDPOINT") {
            Ok(endpoint) if !endpoint.is_empty() => {}
            _ if std::env::var_os("CI").is_some() => {
                panic!("STACKC_TEST_MOTO_ENDPOINT is not set: CI must run the aws tests against moto (scripts/test)")
            }
            _ => {
                eprintln!("notice: STACKC_TEST_MOTO_ENDPOINT is not set; skipping this moto-backed test (run scripts/test)");
                return None;
            }
        }
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
        let child = Command::new(format!("{}/bin/moto_server", venv()))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env("MOTO_ECS_SERVICE_RUNNING", "20")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let request = format!("GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
                let mut answer = [0u8; 12];
                if stream.write_all(request.as_bytes()).is_ok() && stream.read_exact(&mut answer).is_ok() {
                    return Some(moto);
                }
            }
            assert!(Instant::now() < deadline, "moto did not start in 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn venv() -> String {
    std::env::var("STACKC_TEST_VENV")
        .expect("STACKC_TEST_VENV (scripts/test sets it) for moto and the boto3 checker")
}

/// One service `api` (2 tasks, port 8080) of `image` behind a load
/// balancer, rolled out as `rollout` says.
fn stack_text(image: &str, rollout: &str) -> String {
    format!(
        r#"service "api" {{
  image    = "{image}"
  replicas = 2
  port     = 8080
  health {{ path = "/healthz" }}
  rollout {{
{rollout}
  }}
}}

load_balancer "public" {{
  port = 80
  to   = service.api
}}

target "aws" {{
  region = "eu-west-3"
}}
"#
    )
}

const V1: &str = "registry.example.com/shop/api:1";
const V2: &str = "registry.example.com/shop/api:2";

/// A stack directory (its name is the stack's) applied against one moto.
struct AwsStack {
    dir: tempfile::TempDir,
    endpoint: String,
}

impl AwsStack {
    fn new(prefix: &str, text: &str, moto: &Moto) -> AwsStack {
        let dir = tempfile::Builder::new().prefix(prefix).rand_bytes(6).tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join(".home")).expect("home");
        let stack = AwsStack { dir, endpoint: moto.endpoint.clone() };
        stack.write(text);
        stack
    }

    fn write(&self, text: &str) {
        std::fs::write(self.dir.path().join("main.stack.hcl"), text).expect("write");
    }

    /// The binary with test credentials and the endpoint, none of the
    /// machine's AWS settings, no instance metadata.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stackc"));
        command.current_dir(self.dir.path()).args(args).args(["--target", "aws"]).stdin(Stdio::null());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        let home = self.dir.path().join(".home");
        command
            .env("NO_COLOR", "1")
            .env("COLUMNS", "200")
            .env("HOME", &home)
            .env("AWS_CONFIG_FILE", home.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("stackc runs")
    }

    fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.dir.path().join(".stackc/aws/state.json")).expect("state");
        serde_json::from_str(&text).expect("state is JSON")
    }

    /// The id of the resource at `address` in the state.
    fn id(&self, address: &str) -> Option<String> {
        self.state()["resources"]
            .as_array()?
            .iter()
            .find(|r| r["address"] == address)
            .and_then(|r| r["id"].as_str().map(str::to_string))
    }

    fn record(&self) -> serde_json::Value {
        self.state()["instances"]["service.api"]["rollout"].clone()
    }

    /// `scripts/aws-check.py` with the venv's boto3: its output.
    fn check_text(&self, args: &[&str]) -> String {
        let output = Command::new(format!("{}/bin/python", venv()))
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/aws-check.py"))
            .args(["--endpoint", &self.endpoint, "--region", "eu-west-3"])
            .args(args)
            .output()
            .expect("python runs");
        assert!(
            output.status.success(),
            "aws-check.py {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `scripts/aws-check.py` with the venv's boto3: its JSON answer.
    fn check(&self, args: &[&str]) -> serde_json::Value {
        let output = Command::new(format!("{}/bin/python", venv()))
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/aws-check.py"))
            .args(["--endpoint", &self.endpoint, "--region", "eu-west-3"])
            .args(args)
            .output()
            .expect("python runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "aws-check.py {args:?}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("aws-check.py {args:?}: {e}: {stdout}"))
    }

    /// The listener's forward weights read with boto3: (stable, canary),
    /// `None` for a group the action does not name; a plain forward to the
    /// stable group is (Some(100), None).
    fn weights(&self) -> (Option<u64>, Option<u64>) {
        let listener = self.id("load_balancer.public/aws_lb_listener.main").expect("the listener");
        let stable = self.id("service.api/aws_lb_target_group.main[0]").expect("the stable group");
        let answer = self.check(&["listener", &listener]);
        let weights = answer["weights"].as_object().expect("weights").clone();
        if answer["target_group_arn"].as_str() == Some(&stable) && weights.len() == 1 {
            return (Some(100), None);
        }
        let canary = weights.keys().find(|arn| **arn != stable).cloned();
        (weights.get(&stable).and_then(|w| w.as_u64()), canary.and_then(|arn| weights[&arn].as_u64()))
    }

    /// Every live object tagged with this stack (boto3), by address.
    fn owned(&self) -> Vec<String> {
        let name = self.dir.path().file_name().expect("name").to_string_lossy().into_owned();
        let output = Command::new(format!("{}/bin/python", venv()))
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/aws-check.py"))
            .args(["--endpoint", &self.endpoint, "--region", "eu-west-3", "owned", &name])
            .output()
            .expect("python runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let mut addresses: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|o| o["address"].as_str().map(str::to_string))
            .collect();
        addresses.sort();
        addresses
    }

    /// The images of the stable service's task definition (boto3).
    fn stable_images(&self) -> Vec<String> {
        let service = self.id("service.api/aws_ecs_service.main").expect("the stable service");
        let answer = self.check(&["service", &service]);
        answer["images"]
            .as_array()
            .expect("images")
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The run's stdout; fails the test with both streams unless it succeeded.
fn ok(out: &Output) -> String {
    assert!(out.status.success(), "stackc failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

const PROMOTE: &str = r#"    strategy = "canary"
    steps    = [10, 50, 100]
    gate     = "1s"
    timeout  = "30s"
    pause    = "promote""#;

/// canary 10 -> 50 -> 100, paused until promoted after each step: the
/// listener's weights read with boto3 follow the steps (90/10, then 50/50);
/// after the last the stable service runs the new image, the listener
/// forwards plainly to the stable group again, the canary service, task
/// definition and group are gone, and the next plan is empty.
#[test]
fn canary_steps_move_the_listener_weights_until_promoted_to_the_end() {
    let Some(moto) = Moto::start() else { return };
    let started = Instant::now();
    let stack = AwsStack::new("canary", &stack_text(V1, PROMOTE), &moto);
    let first = ok(&stack.run(&["apply", "--auto-approve"]));
    assert!(first.contains("not a rollout: a first deployment"), "{first}");
    assert_eq!(stack.weights(), (Some(100), None));

    stack.write(&stack_text(V2, PROMOTE));
    let planned = ok(&stack.run(&["plan"]));
    assert!(planned.contains("1 to roll out"), "{planned}");
    let step1 = ok(&stack.run(&["apply", "--auto-approve"]));
    assert!(
        step1.contains("service.api: step 1/3: 10% to the new version (1 replica) ... healthy for 1s"),
        "{step1}"
    );
    assert!(step1.contains("paused after step 1/3"), "{step1}");
    assert_eq!(stack.weights(), (Some(90), Some(10)), "after step 1");
    let record = stack.record();
    assert_eq!(
        (record["status"].as_str(), record["weight"].as_u64()),
        (Some("paused"), Some(10)),
        "{record}"
    );
    assert_eq!(stack.stable_images(), [V1], "the stable service keeps the old version during the steps");
    let canary = stack.id("service.api/aws_ecs_service.canary[0]").expect("the canary service");
    let described = stack.check(&["service", &canary]);
    assert_eq!((described["status"].as_str(), described["desired"].as_u64()), (Some("ACTIVE"), Some(1)));
    assert_eq!(described["images"], serde_json::json!([V2]));

    let step2 = ok(&stack.run(&["rollout", "promote"]));
    assert!(step2.contains("step 2/3: 50% to the new version (1 replica) ... healthy for 1s"), "{step2}");
    assert!(step2.contains("paused after step 2/3"), "{step2}");
    assert_eq!(stack.weights(), (Some(50), Some(50)), "after step 2");
    assert_eq!(stack.record()["weight"].as_u64(), Some(50));

    let finished = ok(&stack.run(&["rollout", "promote"]));
    assert!(
        finished.contains("step 3/3: 100% to the new version (2 replicas) ... healthy for 1s"),
        "{finished}"
    );
    assert!(finished.contains("rollout finished"), "{finished}");
    assert_eq!(stack.weights(), (Some(100), None), "after the rollout: a plain forward to the stable group");
    assert_eq!(stack.record(), serde_json::Value::Null);
    assert_eq!(stack.stable_images(), [V2]);
    assert_eq!(stack.check(&["service", &canary])["status"], "INACTIVE", "the canary service is removed");
    let owned = stack.owned();
    assert!(!owned.iter().any(|a| a.contains("canary")), "canary objects left: {owned:?}");
    assert!(stack.id("service.api/aws_lb_target_group.canary[0]").is_none());

    let plan = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "the plan after the rollout is not empty:\n{}",
        text(&plan.stdout)
    );
    eprintln!("rollout_aws canary 10/50/100 with promote: {:.1}s", started.elapsed().as_secs_f64());
}

const FAILING: &str = r#"    strategy = "canary"
    steps    = [10, 50, 100]
    gate     = "1s"
    timeout  = "5s"
    pause    = "promote""#;

/// A canary target that turns unhealthy (stopped behind stackc's back)
/// fails the next step's gate: the apply exits non-zero showing the
/// target's health at the user's `rollout` block, the listener forwards
/// plainly to the stable group again, the canary service is removed, the
/// stable one never changed, and the state records `rolled_back`.
#[test]
fn a_failing_gate_restores_the_listener_and_removes_the_canary() {
    let Some(moto) = Moto::start() else { return };
    let started = Instant::now();
    let stack = AwsStack::new("gate", &stack_text(V1, FAILING), &moto);
    ok(&stack.run(&["apply", "--auto-approve"]));
    let stable_service = stack.id("service.api/aws_ecs_service.main").expect("stable service");
    stack.write(&stack_text(V2, FAILING));
    ok(&stack.run(&["apply", "--auto-approve"]));
    assert_eq!(stack.weights(), (Some(90), Some(10)));
    let canary_group = stack.id("service.api/aws_lb_target_group.canary[0]").expect("the canary group");
    let canary = stack.id("service.api/aws_ecs_service.canary[0]").expect("the canary service");
    let stopped = stack.check(&["stop-target", &canary_group]);

    let failed = stack.run(&["rollout", "promote"]);
    let stderr = text(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{}\n{stderr}", text(&failed.stdout));
    assert!(stderr.contains("rolled back"), "{stderr}");
    assert!(stderr.contains("rollout {"), "the diagnostic shows the user's rollout block: {stderr}");
    assert!(stderr.contains("Target.InvalidState"), "the target's health is shown: {stderr}");
    assert!(stderr.contains(stopped["instance"].as_str().expect("instance")), "{stderr}");
    eprintln!("rollout_aws failing gate, stackc's diagnostic:\n{stderr}");

    assert_eq!(stack.weights(), (Some(100), None), "traffic back on the stable group");
    assert_eq!(stack.check(&["service", &canary])["status"], "INACTIVE", "the canary service is removed");
    assert!(stack.id("service.api/aws_ecs_service.canary[0]").is_none());
    assert!(stack.id("service.api/aws_lb_target_group.canary[0]").is_none());
    assert_eq!(stack.id("service.api/aws_ecs_service.main").as_deref(), Some(stable_service.as_str()));
    assert_eq!(stack.stable_images(), [V1], "the stable version was never touched");
    let record = stack.record();
    assert_eq!(record["status"], "rolled_back", "{record}");
    assert!(record["reason"].as_str().unwrap_or_default().contains("Target.InvalidState"), "{record}");
    stack.check_text(&["terminate", stopped["instance"].as_str().expect("instance")]);
    eprintln!("rollout_aws failing gate: {:.1}s", started.elapsed().as_secs_f64());
}

const UNPAUSED: &str = r#"    strategy = "canary"
    steps    = [10, 50, 100]
    gate     = "3s"
    timeout  = "30s""#;

/// kill -9 of an apply in the middle of a canary rollout: the state's
/// record and the listener's weights agree (the record may be one step
/// ahead: it is written before each step's apply); the next apply resumes
/// and finishes, the listener forwards plainly to the stable group, the
/// record is cleared and the plan is empty.
#[test]
fn kill_9_during_a_step_leaves_weights_the_state_accounts_for_and_apply_finishes() {
    let Some(moto) = Moto::start() else { return };
    let started = Instant::now();
    let stack = AwsStack::new("kill", &stack_text(V1, UNPAUSED), &moto);
    ok(&stack.run(&["apply", "--auto-approve"]));
    stack.write(&stack_text(V2, UNPAUSED));
    let mut child = stack
        .command(&["apply", "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("apply");
    // Kill once the record says the second step (50%) is being applied.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let record = std::fs::read_to_string(stack.dir.path().join(".stackc/aws/state.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .map(|s| s["instances"]["service.api"]["rollout"].clone())
            .unwrap_or_default();
        if record["step"].as_u64() == Some(1) {
            break;
        }
        assert!(child.try_wait().expect("wait").is_none(), "the apply ended before its second step");
        assert!(Instant::now() < deadline, "the rollout never reached its second step");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill -9");
    child.wait().expect("reaped");

    let record = stack.record();
    let recorded = record["weight"].as_u64().expect("a recorded weight");
    let (stable, canary) = stack.weights();
    // Written before the step's apply: the listener is at the recorded
    // step, or still at the one before (10%).
    assert!(
        (canary == Some(recorded) && stable == Some(100 - recorded))
            || (recorded == 50 && canary == Some(10) && stable == Some(90)),
        "record {record} but the listener weighs stable {stable:?} / canary {canary:?}"
    );
    eprintln!("rollout_aws kill -9: record at {recorded}%, listener at {stable:?}/{canary:?}");

    // The killed apply's lock stays until released (its holder is gone).
    let lock =
        std::fs::read_to_string(stack.dir.path().join(".stackc/aws/state.lock")).expect("the lock stays");
    let held: serde_json::Value = serde_json::from_str(&lock).expect("lock JSON");
    let refused = stack.run(&["apply", "--auto-approve"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("the state records the rollout of `service.api`"),
        "{}",
        text(&refused.stderr)
    );
    ok(&stack.run(&["state", "unlock", held["id"].as_str().expect("lock id")]));
    let resumed = ok(&stack.run(&["apply", "--auto-approve"]));
    assert!(resumed.contains("rollout finished"), "{resumed}");
    assert_eq!(stack.weights(), (Some(100), None));
    assert_eq!(stack.record(), serde_json::Value::Null);
    assert_eq!(stack.stable_images(), [V2]);
    assert!(stack.id("service.api/aws_ecs_service.canary[0]").is_none());
    let plan = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "the plan after the resumed rollout is not empty:\n{}",
        text(&plan.stdout)
    );
    eprintln!("rollout_aws kill -9 and resume: {:.1}s", started.elapsed().as_secs_f64());
}
