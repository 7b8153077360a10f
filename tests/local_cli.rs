//! `stackc apply examples/shop --target local` against the real Docker
//! Engine: containers, volumes, traffic through the nginx load balancer,
//! data kept across re-creation and scaling, secrets out of `docker
//! inspect`, crash restart, drift, a rolling update under load, destroy.
//!
//! `scripts/test` starts the Engine and builds the test images
//! (`stackc-test-app:1`, `:2`, `stackc-test-lb:1`; scripts/docker.sh) and
//! sets `STACKC_TEST_DOCKER`. Without it these tests print a notice and
//! pass when run by hand, and fail when `CI` is set. Each test copies the
//! shop into a directory of its own name (the stack name) and uses its own
//! port, so they run in parallel.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../providers/local/tests/support/mod.rs"]
mod support;

use support::{docker, docker_available};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One copy of the shop, with its own name, port and secrets directory.
struct Shop {
    _root: tempfile::TempDir,
    dir: PathBuf,
    name: String,
    port: u16,
    secrets: PathBuf,
    outputs: String,
}

impl Shop {
    fn new(name: &str) -> Shop {
        let root = tempfile::tempdir().unwrap();
        let name = format!("{name}{}", std::process::id() % 10000);
        let dir = root.path().join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
        for entry in std::fs::read_dir(&example).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "hcl") {
                std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
            }
        }
        let targets = dir.join("targets.stack.hcl");
        let text = std::fs::read_to_string(&targets).unwrap();
        let text = text.replace(
            "target \"local\" {}",
            "target \"local\" {\n  load_balancer_image = \"stackc-test-lb:1\"\n}",
        );
        std::fs::write(&targets, text).unwrap();
        // Without the api's `rollout` block: these tests are about the
        // provider's own one-at-a-time replacement of replicas (a rollout's
        // steps have tests/rollout_local.rs and tests/rollout_cli.rs).
        let main = dir.join("main.stack.hcl");
        let text = std::fs::read_to_string(&main).unwrap();
        let block = "\n  rollout {\n    strategy = \"canary\"\n    steps    = [10, 50, 100]\n  }\n";
        assert!(text.contains(block), "the shop's rollout block moved");
        std::fs::write(&main, text.replace(block, "\n")).unwrap();
        let secrets = root.path().join("secrets");
        Shop { port: free_port(), dir, name, secrets, _root: root, outputs: String::new() }
    }

    fn set_instances(&self, n: u32) {
        let main = self.dir.join("main.stack.hcl");
        let text = std::fs::read_to_string(&main).unwrap();
        let start = text.find("instances = ").unwrap();
        let end = start + text[start..].find('\n').unwrap();
        let text = format!("{}instances = {n}{}", &text[..start], &text[end..]);
        std::fs::write(&main, text).unwrap();
    }

    fn stackc(&mut self, command: &str, extra: &[&str], api_image: &str) -> Output {
        let port = self.port.to_string();
        let out = Command::new(env!("CARGO_BIN_EXE_stackc"))
            .arg(command)
            .arg(&self.dir)
            .args(["--target", "local"])
            .args(["-var", &format!("api_image={api_image}")])
            .args(["-var", "database_image=stackc-test-app:1"])
            .args(["-var", &format!("http_port={port}")])
            .args(extra)
            .env("STACKC_SECRETS_DIR", &self.secrets)
            .env("STACKC_LOCAL_STATS", "1")
            .env("NO_COLOR", "1")
            .env("COLUMNS", "1000")
            .output()
            .unwrap();
        self.outputs.push_str(&String::from_utf8_lossy(&out.stdout));
        self.outputs.push_str(&String::from_utf8_lossy(&out.stderr));
        out
    }

    fn apply(&mut self, api_image: &str, extra: &[&str]) -> Output {
        let mut args = vec!["--auto-approve"];
        args.extend_from_slice(extra);
        let out = self.stackc("apply", &args, api_image);
        assert!(out.status.success(), "apply failed:\n{}", String::from_utf8_lossy(&out.stderr));
        out
    }

    fn owned(&self, kind: &str) -> Vec<String> {
        let label = format!("label=stackc.stack={}", self.name);
        let text = match kind {
            "container" => docker(&["ps", "-a", "--filter", &label, "--format", "{{.Names}}"]),
            "volume" => docker(&["volume", "ls", "--filter", &label, "--format", "{{.Name}}"]),
            _ => docker(&["network", "ls", "--filter", &label, "--format", "{{.Name}}"]),
        };
        let mut names: Vec<String> = text.lines().map(str::to_string).collect();
        names.sort();
        names
    }
}

impl Drop for Shop {
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

/// One GET through the load balancer: the body, or `None` on any failure.
fn get(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    if !response.starts_with("HTTP/1.1 200") {
        return None;
    }
    response.split("\r\n\r\n").nth(1).map(|b| b.trim().to_string())
}

fn replicas_answering(port: u16, requests: usize) -> std::collections::BTreeSet<String> {
    (0..requests).map(|_| get(port).expect("the load balancer answers")).collect()
}

#[test]
fn the_shop_runs_on_docker_and_keeps_its_promises() {
    if !docker_available() {
        return;
    }
    let mut shop = Shop::new("lshop");
    let started = Instant::now();
    shop.apply("stackc-test-app:1", &[]);
    eprintln!("apply of the shop: {:.1}s", started.elapsed().as_secs_f64());
    let n = &shop.name.clone();
    let containers = shop.owned("container");
    let expected: Vec<String> = {
        let mut names: Vec<String> = (0..4)
            .map(|i| format!("{n}-api-{i}"))
            .chain((0..3).map(|i| format!("{n}-main-{i}")))
            .chain([format!("{n}-public-lb")])
            .collect();
        names.sort();
        names
    };
    assert_eq!(containers, expected);
    // Each database instance has its own named volume.
    assert_eq!(
        shop.owned("volume"),
        vec![format!("{n}-main-0"), format!("{n}-main-1"), format!("{n}-main-2")]
    );
    for i in 0..3 {
        let mounts =
            docker(&["inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}", &format!("{n}-main-{i}")]);
        assert!(mounts.contains(&format!("{n}-main-{i}")), "{mounts}");
    }
    // 40 requests are answered by at least 3 distinct replicas.
    let answered = replicas_answering(shop.port, 40);
    assert!(answered.len() >= 3, "{answered:?}");

    // The next plan is empty.
    let plan = shop.stackc("plan", &["--detailed-exitcode"], "stackc-test-app:1");
    assert_eq!(plan.status.code(), Some(0), "{}", String::from_utf8_lossy(&plan.stdout));

    // The secret is a file outside the stack directory, never in inspect.
    let secret_file = walk(&shop.secrets).into_iter().find(|p| p.ends_with("db-password/value")).unwrap();
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&secret_file).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(!secret_file.starts_with(&shop.dir));
    let mut all = vec!["inspect".to_string()];
    all.extend(shop.owned("container"));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let inspected = docker(&all);
    assert!(inspected.contains("DATABASE_PASSWORD_FILE=/run/secrets/DATABASE_PASSWORD"));
    assert!(inspected.contains("LOG_LEVEL=info"), "config_from becomes env vars");
    assert!(!inspected.contains(&secret), "the secret is in docker inspect");
    let through_file = docker(&["exec", &format!("{n}-api-0"), "cat", "/run/secrets/DATABASE_PASSWORD"]);
    assert_eq!(through_file, secret);

    // Data survives the container's re-creation (out-of-band removal:
    // drift in plan, restored by apply) and scaling 3 -> 2 -> 3.
    let write = |i: u32, text: &str| {
        docker(&[
            "exec",
            &format!("{n}-main-{i}"),
            "sh",
            "-c",
            &format!("echo {text} > /var/lib/postgresql/data/marker"),
        ])
    };
    let read = |i: u32| docker(&["exec", &format!("{n}-main-{i}"), "cat", "/var/lib/postgresql/data/marker"]);
    write(0, "zero");
    write(2, "two");
    docker(&["rm", "-f", &format!("{n}-main-0")]);
    let plan = shop.stackc("plan", &["--detailed-exitcode"], "stackc-test-app:1");
    assert_eq!(plan.status.code(), Some(2));
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains("database.main/docker_container.node[0]") && text.contains("deleted outside"),
        "{text}"
    );
    shop.apply("stackc-test-app:1", &[]);
    assert_eq!(read(0), "zero");
    shop.set_instances(2);
    let down = shop.apply("stackc-test-app:1", &[]);
    assert!(String::from_utf8_lossy(&down.stdout).contains("Data volumes are kept"));
    assert_eq!(shop.owned("volume").len(), 3, "the removed instance's volume is kept");
    shop.set_instances(3);
    shop.apply("stackc-test-app:1", &[]);
    assert_eq!(read(2), "two");

    // A replica whose process dies is restarted by the Engine; the load
    // balancer answers throughout.
    let replica = format!("{n}-api-1");
    let pid = docker(&["inspect", "-f", "{{.State.Pid}}", &replica]);
    assert!(Command::new("kill").args(["-9", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(get(shop.port).is_some(), "the load balancer failed a request during the crash");
        let restarts = docker(&["inspect", "-f", "{{.RestartCount}} {{.State.Running}}", &replica]);
        if restarts != "0 true" && restarts.ends_with("true") {
            break;
        }
        assert!(Instant::now() < deadline, "not restarted: {restarts}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // An image change rolls the replicas one at a time while a client
    // sends requests continuously: none fails.
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let client = {
        let (stop, failed, sent, port) = (stop.clone(), failed.clone(), sent.clone(), shop.port);
        std::thread::spawn(move || {
            let mut versions = std::collections::BTreeSet::new();
            while !stop.load(Ordering::SeqCst) {
                sent.fetch_add(1, Ordering::SeqCst);
                match get(port) {
                    Some(body) => {
                        versions.insert(body.split(" from ").next().unwrap_or_default().to_string());
                    }
                    None => {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            versions
        })
    };
    let started = Instant::now();
    let rolled = shop.apply("stackc-test-app:2", &[]);
    let rolling = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let versions = client.join().unwrap();
    eprintln!(
        "rolling update: {:.1}s, {} requests, {} failed",
        rolling.as_secs_f64(),
        sent.load(Ordering::SeqCst),
        failed.load(Ordering::SeqCst)
    );
    let progress =
        format!("{}{}", String::from_utf8_lossy(&rolled.stdout), String::from_utf8_lossy(&rolled.stderr));
    assert!(progress.contains("4 changed"), "{progress}");
    assert_eq!(failed.load(Ordering::SeqCst), 0, "requests failed during the rolling update");
    assert!(versions.contains("app v2"), "{versions:?}");
    assert!(replicas_answering(shop.port, 20).iter().all(|b| b.starts_with("app v2")));

    // A new image whose replicas never become ready (nginx without its
    // configuration exits at once): the apply stops with the container's
    // last log lines, the rest of the rollout is not tried, and the old
    // replicas keep serving.
    let before: Vec<String> =
        (0..4).map(|i| docker(&["inspect", "-f", "{{.Id}}", &format!("{n}-api-{i}")])).collect();
    let broken = shop.stackc("apply", &["--auto-approve"], "stackc-test-lb:1");
    assert!(!broken.status.success());
    let text = String::from_utf8_lossy(&broken.stderr);
    assert!(text.contains("did not become ready: it stopped"), "{text}");
    assert!(text.contains("nginx.conf"), "the container's log lines: {text}");
    assert!(text.contains("the rollout stopped when"), "{text}");
    let after: Vec<String> =
        (0..4).map(|i| docker(&["inspect", "-f", "{{.Id}}", &format!("{n}-api-{i}")])).collect();
    assert_eq!(before, after);
    assert!(replicas_answering(shop.port, 20).iter().all(|b| b.starts_with("app v2")));

    // Destroy leaves no container, network or file of the stack, and
    // keeps the data volumes (it says so).
    let started = Instant::now();
    let destroyed = shop.stackc("destroy", &["--auto-approve"], "stackc-test-app:2");
    assert!(destroyed.status.success(), "{}", String::from_utf8_lossy(&destroyed.stderr));
    eprintln!("destroy of the shop: {:.1}s", started.elapsed().as_secs_f64());
    assert!(String::from_utf8_lossy(&destroyed.stdout).contains("Data volumes are kept"));
    assert!(shop.owned("container").is_empty());
    assert!(shop.owned("network").is_empty());
    assert_eq!(shop.owned("volume").len(), 3);
    let left: Vec<PathBuf> = walk(&shop.dir.join(".stackc/local"))
        .into_iter()
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("state.json"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(walk(&shop.secrets).is_empty(), "{:?}", walk(&shop.secrets));
    assert!(!shop.outputs.contains(&secret), "the secret is in stackc's output");
    for line in shop.outputs.lines().filter(|l| l.starts_with("local-stats: total")) {
        eprintln!("{line}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return files };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_missing_image_and_a_port_in_use_are_clear_errors() {
    if !docker_available() {
        return;
    }
    let mut shop = Shop::new("lerr");
    let out = shop.stackc("apply", &["--auto-approve"], "stackc-test-missing:1");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("the image `stackc-test-missing:1` is not on the Docker Engine"), "{text}");
    assert!(text.contains("service.api/docker_container.replica[0]"), "{text}");
    // At the service's `image`.
    assert!(text.contains("main.stack.hcl:59:3"), "{text}");
    assert!(text.contains("create failed because of this `image`"), "{text}");
    // The pull was tried, and said so under the replica's address.
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(
            "service.api/docker_container.replica[0]: pulling stackc-test-missing:1 (not on the Docker Engine)..."
        ),
        "{shown}"
    );

    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    shop.port = listener.local_addr().unwrap().port();
    let out = shop.stackc("apply", &["--auto-approve"], "stackc-test-app:1");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(&format!("host port {} is already in use", shop.port)), "{text}");
    assert!(text.contains("port = var.http_port"), "{text}");
    assert!(text.contains("create failed because of this `port`"), "{text}");
    drop(listener);
    // The destroy plan says which data volumes are kept (text and JSON),
    // unless --delete-data.
    let volumes = shop.owned("volume").len();
    assert!(volumes > 0, "the failed apply created the database volumes");
    let out = shop.stackc("plan", &["--destroy"], "stackc-test-app:1");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Data volumes are kept on the Docker Engine"), "{text}");
    assert!(text.contains("database.main/docker_volume.data[0]"), "{text}");
    let out = shop.stackc("plan", &["--destroy", "--json"], "stackc-test-app:1");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kept = json["kept_volumes"].as_array().unwrap();
    assert_eq!(kept.len(), volumes, "{json}");
    assert!(kept.iter().all(|a| a.as_str().unwrap().contains("/docker_volume.")), "{json}");
    let out = shop.stackc("plan", &["--destroy", "--json", "--delete-data"], "stackc-test-app:1");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["kept_volumes"], serde_json::json!([]), "{json}");
    let out = shop.stackc("plan", &["--destroy", "--delete-data"], "stackc-test-app:1");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--delete-data: these volumes and their data are deleted"), "{text}");
    let out = shop.stackc("destroy", &["--auto-approve", "--delete-data"], "stackc-test-app:1");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(shop.owned("container").is_empty() && shop.owned("volume").is_empty());
}

#[test]
fn with_no_daemon_plan_works_and_apply_names_the_address() {
    let mut shop = Shop::new("lnod");
    let socket = shop.dir.join("no-docker.sock");
    let run = |shop: &mut Shop, command: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_stackc"))
            .arg(command)
            .arg(&shop.dir)
            .args(["--target", "local"])
            .args(if command == "apply" { &["--auto-approve"][..] } else { &[] })
            .env("DOCKER_HOST", format!("unix://{}", socket.display()))
            .env("STACKC_SECRETS_DIR", &shop.secrets)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "1000")
            .output()
            .unwrap();
        shop.outputs.clear();
        out
    };
    let plan = run(&mut shop, "plan");
    assert!(plan.status.success(), "{}", String::from_utf8_lossy(&plan.stderr));
    assert!(String::from_utf8_lossy(&plan.stdout).contains("19 to add"));
    let apply = run(&mut shop, "apply");
    assert!(!apply.status.success());
    let text = String::from_utf8_lossy(&apply.stderr);
    let reach = format!("cannot reach the Docker Engine at unix://{}", socket.display());
    assert_eq!(text.matches(&reach).count(), 1, "{text}");
    assert!(text.contains("start Docker"), "{text}");
}

#[test]
fn the_hello_example_builds_its_image_and_serves_from_every_replica() {
    if !docker_available() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let name = format!("lhello{}", std::process::id() % 10000);
    let dir = root.path().join(&name);
    std::fs::create_dir_all(dir.join("web")).unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello");
    for file in ["main.stack.hcl", "web/Dockerfile", "web/start.sh"] {
        std::fs::copy(example.join(file), dir.join(file)).unwrap();
    }
    // No registry here: the test images stand in for busybox and nginx.
    let dockerfile = std::fs::read_to_string(dir.join("web/Dockerfile")).unwrap();
    std::fs::write(
        dir.join("web/Dockerfile"),
        dockerfile.replace("FROM busybox:1.36", "FROM stackc-test-app:1"),
    )
    .unwrap();
    let main = std::fs::read_to_string(dir.join("main.stack.hcl")).unwrap();
    let main = main.replace(
        "target \"local\" {}",
        "target \"local\" {\n  load_balancer_image = \"stackc-test-lb:1\"\n}",
    );
    std::fs::write(dir.join("main.stack.hcl"), main).unwrap();
    let guard = Shop {
        _root: root,
        dir: dir.clone(),
        name,
        port: free_port(),
        secrets: PathBuf::new(),
        outputs: String::new(),
    };
    let run = |command: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_stackc"))
            .arg(command)
            .arg(&dir)
            .args(["-var", &format!("port={}", guard.port)])
            .args(extra)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "1000")
            .output()
            .unwrap()
    };
    let applied = run("apply", &["--auto-approve"]);
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    let answered = replicas_answering(guard.port, 30);
    assert_eq!(answered.len(), 3, "{answered:?}");
    assert!(answered.iter().all(|b| b.starts_with("hello from ")), "{answered:?}");
    let image = docker(&["inspect", "-f", "{{.Config.Image}}", &format!("{}-web-0", guard.name)]);
    assert!(image.starts_with(&format!("stackc-{}-web:", guard.name)), "{image}");
    let plan = run("plan", &["--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", String::from_utf8_lossy(&plan.stdout));
    // One more replica: the load balancer's configuration is rewritten in
    // place and nginx reloads it; all four answer.
    let main = std::fs::read_to_string(dir.join("main.stack.hcl")).unwrap();
    std::fs::write(dir.join("main.stack.hcl"), main.replace("replicas = 3", "replicas = 4")).unwrap();
    let applied = run("apply", &["--auto-approve"]);
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    let answered = replicas_answering(guard.port, 40);
    assert_eq!(answered.len(), 4, "{answered:?}");
    // A changed context is a new image, rolled out to the replicas.
    std::fs::write(
        dir.join("web/start.sh"),
        std::fs::read_to_string(dir.join("web/start.sh")).unwrap().replace("hello", "hi"),
    )
    .unwrap();
    let applied = run("apply", &["--auto-approve"]);
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    assert!(replicas_answering(guard.port, 10).iter().all(|b| b.starts_with("hi from ")));
    let destroyed = run("destroy", &["--auto-approve"]);
    assert!(destroyed.status.success(), "{}", String::from_utf8_lossy(&destroyed.stderr));
    assert!(guard.owned("container").is_empty() && guard.owned("network").is_empty());
    assert!(
        docker(&["images", "-q", &format!("stackc-{}-web", guard.name)]).is_empty(),
        "the built image is removed"
    );
}
