//! Local autoscaling against the real Docker Engine: a `service` whose
//! replicas burn CPU (a busybox loop, `cpus = 0.25`) scales from min up to
//! max within a bounded number of steps (`stackc_planner::autoscale::step`,
//! then expansion with the recorded count, plan and apply, as `stackc
//! reconcile` does), and back to min once the load stops and the
//! scale-down window has passed; after each apply, a plan changes nothing
//! and shows the autoscaled count.
//!
//! The step's clock is the test's (one second per step), so the window is
//! exercised exactly, whatever the machine's speed. Measured numbers (the
//! stats calls' cost per step, steps to max and to min) are printed.

use indexmap::IndexMap;
use stackc_compiler::expand::test_support::expand_with_stdlib_scaled;
use stackc_model::graph::ResourceGraph;
use stackc_model::schema::SchemaSet;
use stackc_planner::apply::{apply, ApplyInput, Canceller, Silent};
use stackc_planner::autoscale::{autoscaled, step, AutoscaleEvent};
use stackc_planner::backend::LocalBackend;
use stackc_planner::plan::{Plan, PlanOptions};
use stackc_planner::planning::{plan, PlanInput};
use stackc_planner::providers::ProviderSet;
use stackc_planner::state::{AutoscaleRecord, State};
use stackc_provider_local::{LocalConfig, LocalProvider};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

mod support;

use support::{docker, docker_available};

/// Burns CPU until `/tmp/stop` exists (the test makes it in every replica
/// once it is at max; no replica is added after), then idles; exits on
/// SIGTERM.
fn stack_text() -> String {
    r#"
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
"#
    .to_string()
}

struct Cluster {
    text: String,
    stack: String,
    dir: tempfile::TempDir,
    providers: ProviderSet,
    backend: LocalBackend,
    schemas: SchemaSet,
}

impl Cluster {
    fn new(prefix: &str, text: String) -> Cluster {
        let stack = format!("{prefix}-{}", std::process::id() % 100_000);
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("STACKC_SECRETS_DIR", std::env::temp_dir().join("stackc-autoscale-secrets"));
        let local = LocalProvider::new(LocalConfig::new(&stack, dir.path()));
        let providers = ProviderSet::new()
            .with_builtin(Arc::new(stackc_provider_builtin::BuiltinProvider::new()))
            .with_target("local", Arc::new(local));
        let backend = LocalBackend::new(dir.path(), Some("local"));
        let mut schemas = SchemaSet::default();
        for schema in stackc_provider_local::schemas().into_iter().chain(stackc_provider_builtin::schemas()) {
            schemas.add(schema);
        }
        Cluster { text, stack, dir, providers, backend, schemas }
    }

    fn state(&self) -> State {
        match self.backend.load().unwrap() {
            Some(state) => state,
            None => self.backend.new_state(&self.stack).unwrap(),
        }
    }

    /// Expands with the counts the state records, as a session does.
    fn graph(&self) -> ResourceGraph {
        let counts: IndexMap<String, u64> = self.state().autoscaled_replicas();
        let (graph, diagnostics) =
            expand_with_stdlib_scaled(&self.stack, &self.text, &self.schemas, None, counts);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        graph.unwrap()
    }

    async fn plan(&self, graph: &ResourceGraph) -> Plan {
        let state = self.state();
        let outcome = plan(PlanInput {
            graph,
            state: &state,
            providers: &self.providers,
            options: &PlanOptions::new(),
        })
        .await;
        assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
        outcome.plan
    }

    /// Plans and applies with the recorded counts; then a plan is empty.
    async fn converge(&self) -> Plan {
        let graph = self.graph();
        let planned = self.plan(&graph).await;
        let guard = self.backend.lock("apply").unwrap();
        let mut state = self.state();
        let mut journal = self.backend.begin_journal(&guard, &mut state).unwrap();
        let (_canceller, cancel) = Canceller::new();
        let report = apply(ApplyInput {
            plan: &planned,
            graph: &graph,
            providers: &self.providers,
            state: &mut state,
            journal: &mut journal,
            parallelism: 4,
            observer: &Silent,
            cancel,
        })
        .await
        .unwrap();
        journal.commit(&mut state).unwrap();
        drop(guard);
        assert!(report.succeeded(), "{report:?}");
        let again = self.plan(&self.graph()).await;
        assert!(!again.has_changes(), "a plan after the apply changes something: {:?}", again.summary());
        again
    }

    /// One autoscaling step under the lock, saved; (event, seconds it took).
    async fn step(&self, now_ms: u64) -> (AutoscaleEvent, f64) {
        let guard = self.backend.lock("reconcile").unwrap();
        let mut state = self.state();
        let started = Instant::now();
        let mut events = step(&mut state, &self.providers, now_ms).await;
        let took = started.elapsed().as_secs_f64();
        self.backend.write(&guard, &mut state).unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        (events.remove(0), took)
    }

    /// Records `replicas` for `instance` as a step that chose it would.
    fn record(&self, instance: &str, replicas: u64) {
        let guard = self.backend.lock("reconcile").unwrap();
        let mut state = self.state();
        let record = state.instances.entry(instance.to_string()).or_default();
        record.autoscale = Some(AutoscaleRecord { replicas, recommendations: Vec::new() });
        self.backend.write(&guard, &mut state).unwrap();
    }

    fn running(&self) -> Vec<String> {
        let label = format!("label=stackc.stack={}", self.stack);
        docker(&["ps", "-q", "--filter", &label]).lines().map(str::to_string).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let label = format!("label=stackc.stack={}", self.stack);
        for id in docker(&["ps", "-aq", "--filter", &label]).lines() {
            docker(&["rm", "-f", id]);
        }
        for id in docker(&["network", "ls", "-q", "--filter", &label]).lines() {
            docker(&["network", "rm", id]);
        }
        let _ = &self.dir;
    }
}

/// The plan's autoscaled line for the service: (replicas, before).
fn shown(plan: &Plan) -> (usize, usize) {
    let found = autoscaled(plan);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].instance.as_str(), found[0].min, found[0].max), ("service.burn", 1, 3));
    (found[0].replicas, found[0].before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_follow_the_load_up_to_max_and_back_to_min() {
    if !docker_available() {
        return;
    }
    let cluster = Cluster::new("as", stack_text());
    let first = cluster.converge().await;
    assert_eq!(shown(&first), (1, 1), "autoscale.min before anything is recorded");

    // Up: 1 -> 3 (1 at ~100% of 30% asks for 4; at most 3).
    let mut now_ms: u64 = 1_764_000_000_000;
    let mut costs = Vec::new();
    let mut steps_up = 0;
    let mut replicas = 1;
    while replicas < 3 {
        steps_up += 1;
        assert!(steps_up <= 4, "not at max after 4 steps ({replicas} replicas)");
        now_ms += 1000;
        let (event, took) = cluster.step(now_ms).await;
        costs.push((event.from, took));
        eprintln!("step {steps_up}: {event}");
        assert!(event.to >= replicas, "scaled down under load: {event}");
        replicas = event.to;
        let settled = cluster.converge().await;
        assert_eq!(shown(&settled), (replicas as usize, replicas as usize), "{event}");
        assert_eq!(cluster.running().len(), replicas as usize);
    }

    // The load stops; held by the 5 s window, then down to 1.
    for replica in cluster.running() {
        docker(&["exec", &replica, "touch", "/tmp/stop"]);
    }
    let stopped_at = now_ms;
    let mut steps_down = 0;
    while replicas > 1 {
        steps_down += 1;
        assert!(steps_down <= 10, "not at min after 10 steps ({replicas} replicas)");
        now_ms += 1000;
        let (event, took) = cluster.step(now_ms).await;
        costs.push((event.from, took));
        eprintln!("step {steps_down} after the load: {event}");
        if now_ms - stopped_at < 5000 {
            // Within the window of the last hot recommendation.
            assert_eq!(event.to, replicas, "scaled down inside the window: {event}");
        }
        replicas = event.to;
        let settled = cluster.converge().await;
        assert_eq!(shown(&settled).0, replicas as usize);
        assert_eq!(cluster.running().len(), replicas as usize);
    }
    assert!(now_ms - stopped_at >= 5000, "scaled down before the window passed");
    for (replicas, took) in &costs {
        eprintln!("measured: a step over {replicas} replica(s) took {took:.2} s (one stats call per replica, concurrent)");
    }
    eprintln!("measured: {steps_up} step(s) from min to max, {steps_down} step(s) from max back to min");
}

/// One GET through the load balancer: the body, or `None` on any failure.
fn get(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).ok()?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    if !response.starts_with("HTTP/1.1 200") {
        return None;
    }
    response.split("\r\n\r\n").nth(1).map(|b| b.trim().to_string())
}

/// Scaling behind the load balancer drops no request: up (each new
/// replica healthy before nginx's configuration names it) and down (the
/// configuration, reloaded, no longer names a replica before it stops).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_behind_the_load_balancer_drops_no_request() {
    if !docker_available() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let text = format!(
        r#"
service "web" {{
  image = "stackc-test-app:1"
  port  = 8080
  health {{
    path     = "/"
    interval = "1s"
  }}
  autoscale {{
    min        = 1
    max        = 4
    cpu_target = 50
  }}
}}

load_balancer "front" {{
  port = {port}
  to   = service.web
}}

target "local" {{
  load_balancer_image = "stackc-test-lb:1"
}}
"#
    );
    let cluster = Cluster::new("aslb", text);
    cluster.converge().await;
    assert!(get(port).is_some(), "the load balancer answers");

    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let client = {
        let (stop, sent, failed) = (stop.clone(), sent.clone(), failed.clone());
        std::thread::spawn(move || {
            let mut answered = std::collections::BTreeSet::new();
            while !stop.load(Ordering::SeqCst) {
                sent.fetch_add(1, Ordering::SeqCst);
                match get(port) {
                    Some(body) => {
                        answered.insert(body);
                    }
                    None => {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            answered
        })
    };
    let started = Instant::now();
    cluster.record("service.web", 4);
    let up = cluster.converge().await;
    assert_eq!(shown_for(&up, "service.web"), (4, 4));
    let scaled_up = started.elapsed().as_secs_f64();
    // Let every replica take requests before going down again.
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    while (0..40).filter_map(|_| get(port)).collect::<std::collections::BTreeSet<_>>().len() < 4 {
        assert!(Instant::now() < deadline, "the 4 replicas never all answered");
    }
    let started = Instant::now();
    cluster.record("service.web", 1);
    let down = cluster.converge().await;
    assert_eq!(shown_for(&down, "service.web"), (1, 1));
    let scaled_down = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    let answered = client.join().unwrap();
    eprintln!(
        "measured: 1 -> 4 behind nginx in {scaled_up:.1} s, 4 -> 1 in {scaled_down:.1} s; {} requests, {} failed, answered by {} replicas",
        sent.load(Ordering::SeqCst),
        failed.load(Ordering::SeqCst),
        answered.len()
    );
    assert_eq!(failed.load(Ordering::SeqCst), 0, "requests failed while scaling");
    assert!(answered.len() >= 4, "{answered:?}");
    assert_eq!(cluster.running().len(), 2, "one replica and the load balancer");
}

/// The plan's autoscaled line for `instance`: (replicas, before).
fn shown_for(plan: &Plan, instance: &str) -> (usize, usize) {
    let found = autoscaled(plan);
    let one = found.iter().find(|a| a.instance == instance).unwrap_or_else(|| panic!("{found:?}"));
    (one.replicas, one.before)
}
