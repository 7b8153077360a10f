//! End-to-end tests of the binary against the AWS wire protocol: the real
//! `stackc` on the shop example with `AWS_ENDPOINT_URL` naming a moto
//! server on loopback and test credentials in the environment, checked by
//! an independent boto3 client (`scripts/aws-check.py`).
//!
//! `STACKC_TEST_MOTO_ENDPOINT` and `STACKC_TEST_VENV` come from
//! `scripts/test`, which starts one moto for the whole suite: every test
//! here works in a stack directory of its own (a unique name, so unique
//! ownership tags and object names) and looks only at what carries its
//! tags. Without the variables the moto-backed tests print a notice and
//! pass when run by hand, and fail when `CI` is set.
//!
//! No test here lets the AWS SDK's credential chain reach the instance
//! metadata service: `AWS_EC2_METADATA_SERVICE_ENDPOINT` always names a
//! loopback listener (the offline plan test counts the connections it gets).

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::Run;

// ---------------------------------------------------------------- setup

fn moto_endpoint() -> Option<String> {
    match std::env::var("STACKC_TEST_MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(endpoint),
        _ if std::env::var_os("CI").is_some() => {
            panic!("STACKC_TEST_MOTO_ENDPOINT is not set: CI must run the aws tests against moto (scripts/test starts it)")
        }
        _ => {
            eprintln!("notice: STACKC_TEST_MOTO_ENDPOINT is not set; skipping this moto-backed test (run scripts/test)");
            None
        }
    }
}

fn venv() -> String {
    std::env::var("STACKC_TEST_VENV").expect("STACKC_TEST_VENV (scripts/test sets it) for the boto3 checker")
}

/// The files of `examples/shop` (every file, so `file()` reads work).
fn shop_files() -> Vec<(PathBuf, Vec<u8>)> {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
    let mut files = Vec::new();
    copy_tree(&example, Path::new(""), &mut files);
    files
}

fn copy_tree(dir: &Path, relative: &Path, files: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).expect("examples/shop is readable") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == ".stackc" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &relative.join(&name), files);
        } else {
            files.push((relative.join(&name), std::fs::read(&path).expect("file")));
        }
    }
}

/// A stack in a temporary directory whose name (`<prefix><random>`) is the
/// stack's name: its ownership tags and the stdlib's account-wide names.
struct Stack {
    dir: tempfile::TempDir,
    /// Where AWS requests go (`AWS_ENDPOINT_URL`); `None`: left unset.
    endpoint: Option<String>,
    /// A loopback listener standing in for the instance metadata service.
    imds: Trap,
}

impl Stack {
    fn new(prefix: &str, files: &[(PathBuf, Vec<u8>)], endpoint: Option<&str>) -> Stack {
        // Lowercase letters and digits: the name is also a DNS label.
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .rand_bytes(0)
            .suffix(&unique_suffix())
            .tempdir()
            .expect("temp dir");
        for (path, bytes) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
            std::fs::write(path, bytes).expect("write");
        }
        std::fs::create_dir_all(dir.path().join(".home")).expect("home");
        Stack { dir, endpoint: endpoint.map(str::to_string), imds: Trap::start() }
    }

    fn shop(endpoint: Option<&str>) -> Stack {
        Stack::new("shop-", &shop_files(), endpoint)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The stack's name: its directory's.
    fn name(&self) -> String {
        self.path().file_name().expect("name").to_string_lossy().into_owned()
    }

    /// The `target "aws"` block's region, from whichever file declares it.
    fn region(&self) -> String {
        let mut text = String::new();
        for entry in std::fs::read_dir(self.path()).expect("stack dir").flatten() {
            if entry.file_name().to_string_lossy().ends_with(".stack.hcl") {
                text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        shop_region(&text)
    }

    /// The binary with no AWS settings of the machine's: test credentials,
    /// the endpoint, no shared config files, no instance metadata.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stackc"));
        command.current_dir(self.path()).args(args).stdin(Stdio::null());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") || name == "STACKC_AWS_STATS" {
                command.env_remove(name);
            }
        }
        let home = self.path().join(".home");
        command
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .env("HOME", &home)
            .env("AWS_CONFIG_FILE", home.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", self.imds.url());
        if let Some(endpoint) = &self.endpoint {
            command
                .env("AWS_ENDPOINT_URL", endpoint)
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing");
        }
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::of(self.command(args).output().expect("stackc runs"))
    }

    /// `run` with `STACKC_AWS_STATS=1`, timed.
    fn measured(&self, args: &[&str]) -> (Run, Duration) {
        let started = Instant::now();
        let output = self.command(args).env("STACKC_AWS_STATS", "1").output().expect("stackc runs");
        (Run::of(output), started.elapsed())
    }

    fn state_path(&self) -> PathBuf {
        self.path().join(".stackc/aws/state.json")
    }

    fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.state_path()).expect("state written");
        serde_json::from_str(&text).expect("state is JSON")
    }

    /// (address, type, id) of every resource in the state, by address.
    fn resources(&self) -> Vec<(String, String, String)> {
        let state = self.state();
        let mut out: Vec<_> = state["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .map(|r| {
                (
                    r["address"].as_str().unwrap_or_default().to_string(),
                    r["type"].as_str().unwrap_or_default().to_string(),
                    r["id"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// The state as the next command loads it: `state.json` with the apply
    /// journal left beside it (a killed apply's, when the apply after it
    /// had nothing left to do) replayed: (address -> id of every resource,
    /// open intents).
    fn loaded(&self) -> (BTreeMap<String, String>, BTreeMap<String, ()>) {
        let mut resources = BTreeMap::new();
        let mut intents = BTreeMap::new();
        let mut serial = 0;
        if self.state_path().exists() {
            let state = self.state();
            serial = state["serial"].as_u64().unwrap_or(0);
            for r in state["resources"].as_array().into_iter().flatten() {
                resources.insert(
                    r["address"].as_str().unwrap().to_string(),
                    r["id"].as_str().unwrap().to_string(),
                );
            }
            for i in state["intents"].as_array().into_iter().flatten() {
                intents.insert(i["address"].as_str().unwrap().to_string(), ());
            }
        }
        let journal =
            std::fs::read_to_string(self.path().join(".stackc/aws/state.journal")).unwrap_or_default();
        let mut lines = journal.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok());
        let Some(header) = lines.next() else { return (resources, intents) };
        if header["serial"].as_u64().unwrap_or(0) < serial {
            return (resources, intents);
        }
        for line in lines {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            if let Some(put) = line.get("put") {
                intents.remove(&text(&put["address"]));
                resources.insert(text(&put["address"]), text(&put["id"]));
            } else if let Some(address) = line.get("remove") {
                resources.remove(&text(address));
            } else if let Some(intent) = line.get("intent") {
                intents.insert(text(&intent["address"]), ());
            } else if let Some(address) = line.get("resolved") {
                intents.remove(&text(address));
            }
        }
        (resources, intents)
    }

    fn check(&self, args: &[&str]) -> (bool, String) {
        let endpoint = self.endpoint.clone().expect("an endpoint");
        let output = Command::new(format!("{}/bin/python", venv()))
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/aws-check.py"))
            .args(["--endpoint", &endpoint, "--region", &self.region()])
            .args(args)
            .output()
            .expect("python runs");
        (
            output.status.success(),
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
        )
    }
}

/// `target "aws" { region = "..." }` of a stack's text.
fn shop_region(text: &str) -> String {
    text.find("target \"aws\"")
        .and_then(|at| {
            let block = &text[at..];
            let block = &block[..block.find('}').unwrap_or(block.len())];
            let line = block.lines().find(|l| l.trim_start().starts_with("region"))?;
            Some(line.split('"').nth(1)?.to_string())
        })
        .unwrap_or_else(|| "eu-west-3".to_string())
}

fn unique_suffix() -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{:x}", (nanos as u64 ^ (u64::from(std::process::id()) << 40)) & 0xff_ffff_ffff)
}

impl Run {
    /// `aws-stats:` lines (STACKC_AWS_STATS=1) by `service:Action`.
    fn api_calls(&self) -> BTreeMap<String, u64> {
        self.stderr
            .lines()
            .filter_map(|l| l.strip_prefix("aws-stats: "))
            .filter(|l| !l.starts_with("total "))
            .filter_map(|l| {
                let (action, n) = l.rsplit_once(' ')?;
                Some((action.to_string(), n.parse().ok()?))
            })
            .collect()
    }
}

/// A loopback listener that accepts and counts connections (and answers
/// nothing): where a request that must not be made would go.
struct Trap {
    address: std::net::SocketAddr,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Trap {
    fn start() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let address = listener.local_addr().expect("address");
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (connections.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        seen.fetch_add(1, Ordering::Relaxed);
                        drop(stream);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Trap { address, connections, stop }
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for Trap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A moto server of one test's own, for settings the shared one must not
/// have (AMI validation); stopped when dropped.
struct PrivateMoto {
    child: Child,
    endpoint: String,
}

impl PrivateMoto {
    fn start(settings: &[(&str, &str)]) -> PrivateMoto {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
        let mut command = Command::new(format!("{}/bin/moto_server", venv()));
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (name, value) in settings {
            command.env(name, value);
        }
        let child = command.spawn().expect("moto_server starts");
        let moto = PrivateMoto { child, endpoint: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
                use std::io::Write;
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let request = format!("GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
                let mut answer = [0u8; 12];
                if stream.write_all(request.as_bytes()).is_ok() && stream.read_exact(&mut answer).is_ok() {
                    return moto;
                }
            }
            assert!(Instant::now() < deadline, "the private moto did not start in 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for PrivateMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `resource_changes` of `plan --json` as (address, action).
fn changes(run: &Run) -> Vec<(String, String)> {
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    let mut out: Vec<(String, String)> = plan["resource_changes"]
        .as_array()
        .expect("resource_changes")
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap_or_default().to_string(),
                c["action"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Rendered diagnostics as one line: words only, without the frame's
/// `│` (messages are wrapped at the terminal width).
fn flat(text: &str) -> String {
    text.split_whitespace().filter(|w| *w != "│").collect::<Vec<_>>().join(" ")
}

fn total(calls: &BTreeMap<String, u64>) -> u64 {
    calls.values().sum()
}

// ---------------------------------------------------------------- the shop

/// The acceptance run of the README's main job on aws: apply creates the
/// seed's architecture (checked by boto3), the next plan is empty, an
/// instance terminated behind stackc's back is planned for re-creation with
/// its volume attachment and restored (directly, then once more through a
/// saved plan), objects dropped from the state are imported back by id with
/// an empty plan after, and destroy leaves nothing tagged with the stack.
/// Prints the apply and destroy times and the API calls by action.
#[test]
fn shop_applies_converges_heals_imports_and_destroys_through_the_binary() {
    let Some(endpoint) = moto_endpoint() else { return };
    let stack = Stack::shop(Some(&endpoint));
    let name = stack.name();

    let planned = stack.run(&["plan", "--target", "aws", "--detailed-exitcode"]).code(2);
    assert!(planned.stdout.contains("to add, 0 to change, 0 to destroy."), "{}", planned.stdout);

    let (applied, apply_time) = stack.measured(&["apply", "--target", "aws", "--auto-approve"]);
    let applied = applied.ok();
    assert!(applied.stdout.contains("Apply complete:"), "{}", applied.stdout);
    let apply_calls = applied.api_calls();
    assert!(total(&apply_calls) > 0, "no aws-stats lines: {}", applied.stderr);
    let created = stack.resources();

    let (ok, report) = stack.check(&["shop", &name]);
    assert!(ok, "boto3 check after apply failed: {report}");

    let (again, refresh_time) = stack.measured(&["plan", "--target", "aws", "--detailed-exitcode"]);
    let again = again.code(0);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    let refresh_calls = again.api_calls();

    // An instance terminated out of band: re-created, with its attachment.
    let instances: Vec<_> = created.iter().filter(|(_, t, _)| t == "aws_instance").cloned().collect();
    assert_eq!(instances.len(), 3, "{created:?}");
    let heal = |victim: &(String, String, String), saved: bool| {
        let (address, _, old_id) = victim;
        let attachments: Vec<String> = stack.state()["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["type"] == "aws_volume_attachment" && r["attributes"]["instance_id"] == *old_id)
            .map(|r| r["address"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(attachments.len(), 1, "one attachment per instance");
        let (ok, report) = stack.check(&["terminate", old_id]);
        assert!(ok, "{report}");
        let plan = stack.run(&["plan", "--target", "aws", "--json", "--detailed-exitcode"]).code(2);
        let planned = changes(&plan);
        let mut expected = vec![(address.clone(), "create".to_string())];
        let attachment_action = planned.iter().find(|(a, _)| *a == attachments[0]).map(|(_, x)| x.clone());
        assert!(
            matches!(attachment_action.as_deref(), Some("create" | "replace")),
            "the attachment follows its instance: {planned:?}"
        );
        expected.push((attachments[0].clone(), attachment_action.unwrap()));
        expected.sort();
        assert_eq!(planned, expected, "only the instance and its attachment change");
        if saved {
            let plan_file = stack.path().join("heal.plan");
            let plan_file = plan_file.to_str().unwrap();
            stack.run(&["plan", "--target", "aws", "--out", plan_file]).ok();
            let applied = stack.run(&["apply", plan_file]).ok();
            assert!(applied.stdout.contains("Applying the saved plan"), "{}", applied.stdout);
            assert!(applied.stdout.contains("Apply complete: 2 added"), "{}", applied.stdout);
        } else {
            let applied = stack.run(&["apply", "--target", "aws", "--auto-approve"]).ok();
            assert!(applied.stdout.contains("Apply complete: 2 added"), "{}", applied.stdout);
        }
        let empty = stack.run(&["plan", "--target", "aws", "--detailed-exitcode"]);
        assert_eq!(empty.code, 0, "plan after healing is not empty:\n{}\n{}", empty.stdout, empty.stderr);
        let new_id = stack.resources().into_iter().find(|(a, _, _)| a == address).expect("healed").2;
        assert_ne!(&new_id, old_id);
        let (ok, report) = stack.check(&["shop", &name]);
        assert!(ok, "boto3 check after healing {address} failed: {report}");
    };
    heal(&instances[1], false);
    heal(&instances[2], true);

    // Forget objects and import them back by id: the plan is empty after.
    let resources = stack.resources();
    let mut imported = Vec::new();
    for type_name in
        ["aws_instance", "aws_vpc", "aws_subnet", "aws_lb", "aws_ebs_volume", "aws_ssm_parameter"]
    {
        let (address, _, id) = resources.iter().find(|(_, t, _)| t == type_name).expect(type_name).clone();
        stack.run(&["state", "rm", "--target", "aws", &address]).ok();
        let done = stack.run(&["import", "--target", "aws", &address, &id]).ok();
        assert!(done.stdout.contains(&format!("Imported `{address}` (id {id})")), "{}", done.stdout);
        imported.push(address);
    }
    let after_import = stack.run(&["plan", "--target", "aws", "--detailed-exitcode"]);
    assert_eq!(
        after_import.code, 0,
        "plan after importing {imported:?} is not empty:\n{}\n{}",
        after_import.stdout, after_import.stderr
    );
    assert_eq!(stack.resources(), resources, "import reproduces the same state");

    let (destroyed, destroy_time) = stack.measured(&["destroy", "--target", "aws", "--auto-approve"]);
    let destroyed = destroyed.ok();
    assert!(destroyed.stdout.contains("Destroy complete:"), "{}", destroyed.stdout);
    let destroy_calls = destroyed.api_calls();
    assert!(stack.resources().is_empty(), "the state still has {:?}", stack.resources());
    let (ok, left) = stack.check(&["owned", &name]);
    assert!(ok && left.trim().is_empty(), "objects tagged with {name} left after destroy: {left}");
    assert_eq!(stack.imds.connections(), 0, "the instance metadata service was asked");

    eprintln!(
        "aws cli shop on moto: {} resources; apply {:.2}s, {} API calls {apply_calls:?}; no-op plan {:.2}s, {} \
         calls {refresh_calls:?}; destroy {:.2}s, {} API calls {destroy_calls:?}",
        created.len(),
        apply_time.as_secs_f64(),
        total(&apply_calls),
        refresh_time.as_secs_f64(),
        total(&refresh_calls),
        destroy_time.as_secs_f64(),
        total(&destroy_calls),
    );
}

// ---------------------------------------------------------------- kill -9

/// A tiny xorshift generator: the kill moments, reproducible from the seed
/// the test prints.
struct Moments(u64);

impl Moments {
    fn next_fraction(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The local ports of the TCP connections `pid` holds (its socket file
/// descriptors, looked up in `/proc/net/tcp`); empty where `/proc` says
/// nothing.
fn tcp_ports_of(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(target.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    tcp_table()
        .into_iter()
        .filter(|entry| inodes.contains(&entry.inode))
        .map(|entry| entry.local_port)
        .collect()
}

/// One line of `/proc/net/tcp`.
struct TcpEntry {
    local_port: u16,
    remote_port: u16,
    /// The kernel's state number: 1 established, 8 close-wait.
    state: u8,
    inode: String,
}

fn tcp_table() -> Vec<TcpEntry> {
    let text = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let port = |address: &str| u16::from_str_radix(address.rsplit(':').next().unwrap_or(""), 16).ok();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            Some(TcpEntry {
                local_port: port(fields.get(1)?)?,
                remote_port: port(fields.get(2)?)?,
                state: u8::from_str_radix(fields.get(3)?, 16).ok()?,
                inode: fields.get(9)?.to_string(),
            })
        })
        .collect()
}

/// kill -9 of `child`, then waits until moto (listening on `moto_port`)
/// has served every request the dead process had sent.
///
/// The process is stopped first (SIGSTOP: from then on it does nothing,
/// as after SIGKILL) so that its connections can be listed, then killed.
/// A request it had sent is still served after its death: moto serves
/// each connection on a thread of its own whenever that thread gets to
/// run (seconds later when moto is busy: its tag filters scan every tag it
/// holds), applies a new volume's tags one at a time, and its CreateVolume
/// ignores the ClientToken. Without this wait the next apply can look for
/// the killed create's volume before moto has made (or tagged) it, create
/// it again, and the late one is an orphan of the emulator's making. AWS
/// has acted on a request once it is accepted, and a create sent again
/// with the same ClientToken returns the first object instead of a second.
/// Moto is done with a connection when its side is neither established nor
/// in close-wait: it closes the socket after answering the last request.
fn kill_and_drain(child: &mut Child, moto_port: u16) {
    let pid = child.id();
    // SAFETY: a signal to the child this test spawned and has not waited for.
    let stopped = unsafe { libc::kill(pid as libc::pid_t, libc::SIGSTOP) } == 0;
    let mut ports = if stopped { tcp_ports_of(pid) } else { Vec::new() };
    let _ = child.kill();
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        // A port once closed is not watched again (another process may
        // connect from it later).
        let open: Vec<u16> = tcp_table()
            .into_iter()
            .filter(|entry| entry.local_port == moto_port && matches!(entry.state, 1 | 8))
            .map(|entry| entry.remote_port)
            .collect();
        ports.retain(|port| open.contains(port));
        if ports.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "moto still serves a process killed two minutes ago");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One trial's outcome, checked against boto3 at the end.
struct Trial {
    name: String,
    killed_after: Duration,
    /// False when the apply had finished before the kill.
    interrupted: bool,
    /// (address, id) of every resource of the converged state.
    state: Vec<(String, String)>,
    open_intents: usize,
}

/// kill -9 of `apply examples/shop --target aws` at random moments, 50
/// times (two stacks at a time, on a moto of the test's own, each trial a
/// fresh stack): after each kill (and once moto has served what the killed
/// process had sent, [`kill_and_drain`]) the state loads, the next apply
/// (after `state unlock` of the killed command's lock) converges and the plan
/// after it is empty; then, straight against moto with boto3, every object
/// carrying a trial's ownership tags is the one its state records at that
/// address: no orphan, no duplicate, no object adopted at another address.
#[test]
fn kill_9_during_an_aws_apply_leaves_no_orphan_and_the_next_apply_converges() {
    if moto_endpoint().is_none() {
        return;
    }
    const WORKERS: usize = 2;
    // STACKC_KILL_TRIALS and STACKC_KILL_SEED widen or repeat a run (the
    // seed is printed); by default 50 trials, seeded from the clock.
    let trial_count: usize =
        std::env::var("STACKC_KILL_TRIALS").ok().and_then(|n| n.parse().ok()).unwrap_or(50).max(2);
    let started = Instant::now();
    let moto = PrivateMoto::start(&[]);
    let moto_port =
        moto.endpoint.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()).expect("moto's port");
    let files = shop_files();
    let seed =
        std::env::var("STACKC_KILL_SEED").ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        }) | 1;

    // Uninterrupted applies: how long a whole one takes here (the first
    // warms moto up).
    let mut whole = Duration::ZERO;
    for _ in 0..2 {
        let stack = Stack::new("killcal", &files, Some(&moto.endpoint));
        let begun = Instant::now();
        stack.run(&["apply", "--target", "aws", "--auto-approve"]).ok();
        whole = begun.elapsed();
    }

    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let (next, files, endpoint) = (next.clone(), files.clone(), moto.endpoint.clone());
            std::thread::spawn(move || {
                let mut moments = Moments(seed.wrapping_add(worker as u64 * 0x9e37_79b9_7f4a_7c15) | 1);
                let mut trials = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < trial_count {
                    let stack = Stack::new("kill", &files, Some(&endpoint));
                    // Anywhere from the start to the end of a whole apply.
                    let killed_after = whole.mul_f64(moments.next_fraction());
                    let mut child = stack
                        .command(&["apply", "--target", "aws", "--auto-approve"])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .expect("stackc starts");
                    std::thread::sleep(killed_after);
                    let interrupted = matches!(child.try_wait(), Ok(None));
                    kill_and_drain(&mut child, moto_port);

                    // The state (with the killed apply's journal) loads.
                    let listed = stack.run(&["state", "list", "--target", "aws"]);
                    assert!(
                        listed.code == 0,
                        "{}: the state does not load after kill -9 at {killed_after:?}:\n{}",
                        stack.name(),
                        listed.stderr
                    );
                    let lock = stack.path().join(".stackc/aws/state.lock");
                    if let Ok(text) = std::fs::read_to_string(&lock) {
                        let held: serde_json::Value = serde_json::from_str(&text).expect("lock JSON");
                        let id = held["id"].as_str().expect("lock id");
                        stack.run(&["state", "unlock", id, "--target", "aws"]).ok();
                    }
                    let applied = stack.run(&["apply", "--target", "aws", "--auto-approve"]);
                    assert_eq!(
                        applied.code,
                        0,
                        "{}: the apply after kill -9 at {killed_after:?} did not converge:\n{}\n{}",
                        stack.name(),
                        applied.stdout,
                        applied.stderr
                    );
                    let again = stack.run(&["plan", "--target", "aws", "--detailed-exitcode"]);
                    assert_eq!(
                        again.code,
                        0,
                        "{}: the plan after converging is not empty:\n{}\n{}",
                        stack.name(),
                        again.stdout,
                        again.stderr
                    );
                    let (resources, intents) = stack.loaded();
                    let open_intents = intents.len();
                    let recorded: Vec<(String, String)> = resources.into_iter().collect();
                    trials.push(Trial {
                        name: stack.name(),
                        killed_after,
                        interrupted,
                        state: recorded,
                        open_intents,
                    });
                    // The directory goes; its objects stay in the private moto.
                }
                trials
            })
        })
        .collect();
    let trials: Vec<Trial> = workers.into_iter().flat_map(|w| w.join().expect("a worker panicked")).collect();
    assert_eq!(trials.len(), trial_count);

    // Straight against moto: every object tagged by a trial's stack.
    let output = Command::new(format!("{}/bin/python", venv()))
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/aws-check.py"))
        .args(["--endpoint", &moto.endpoint, "owned", "kill", "--prefix"])
        .output()
        .expect("python runs");
    assert!(output.status.success(), "aws-check.py: {}", String::from_utf8_lossy(&output.stderr));
    let mut owned: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let object: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let field = |name: &str| object[name].as_str().unwrap_or_default().to_string();
        owned.entry(field("stack")).or_default().push((field("address"), field("id")));
    }
    let mut orphans = Vec::new();
    let mut misplaced = Vec::new();
    for trial in &trials {
        let ids: BTreeMap<&str, &str> = trial.state.iter().map(|(a, i)| (i.as_str(), a.as_str())).collect();
        for (address, id) in owned.get(&trial.name).into_iter().flatten() {
            match ids.get(id.as_str()) {
                None => orphans
                    .push(format!("{}: {address} {id} (killed at {:?})", trial.name, trial.killed_after)),
                Some(recorded) if recorded != address => {
                    misplaced.push(format!("{}: {id} tagged {address} is recorded at {recorded}", trial.name))
                }
                Some(_) => {}
            }
        }
    }
    let open: usize = trials.iter().map(|t| t.open_intents).sum();
    let interrupted = trials.iter().filter(|t| t.interrupted).count();
    let objects: usize =
        owned.iter().filter(|(stack, _)| stack.as_str() != "killcal").map(|(_, o)| o.len()).sum();
    eprintln!(
        "kill -9 during aws apply: {trial_count} trials, {interrupted} killed mid-apply (seed {seed}, a whole apply \
         {:.2}s), {objects} objects checked, {} orphans, {} adopted at another address, {open} open intents; \
         {:.1}s in all",
        whole.as_secs_f64(),
        orphans.len(),
        misplaced.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        interrupted * 2 >= trial_count,
        "only {interrupted} of {trial_count} kills came before the apply ended"
    );
    assert!(orphans.is_empty(), "objects no state records (orphans): {orphans:#?}");
    assert!(misplaced.is_empty(), "objects adopted at another address: {misplaced:#?}");
    assert_eq!(open, 0, "intents left open after a converged apply");
}

// ---------------------------------------------------------------- offline plan

/// The shop's files with `endpoint` in its `target "aws"` block.
fn shop_files_with_endpoint(endpoint: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let files: Vec<_> = shop_files()
        .into_iter()
        .map(|(path, bytes)| match String::from_utf8(bytes) {
            Ok(text) if text.contains("target \"aws\" {") => {
                let text = text.replacen(
                    "target \"aws\" {",
                    &format!("target \"aws\" {{\n  endpoint = \"{endpoint}\""),
                    1,
                );
                (path, text.into_bytes())
            }
            Ok(text) => (path, text.into_bytes()),
            Err(e) => (path, e.into_bytes()),
        })
        .collect();
    assert!(
        files
            .iter()
            .any(|(_, bytes)| String::from_utf8_lossy(bytes).contains("endpoint = \"http://127.0.0.1:")),
        "no target \"aws\" block to point at the listener"
    );
    files
}

/// The README's main job, `stackc plan` on a stack with no state, reads
/// nothing: it works with no AWS variable set, no credentials, no shared
/// config, and an endpoint that answers nothing; neither the endpoint nor
/// the instance metadata service is even connected to.
#[test]
fn a_plan_from_no_state_needs_no_network_and_no_credentials() {
    let endpoint = Trap::start();
    let stack = Stack::new("offline-", &shop_files_with_endpoint(&endpoint.url()), None);
    let started = Instant::now();
    let plan = stack.run(&["plan", "--target", "aws", "--detailed-exitcode"]).code(2);
    assert!(plan.stdout.contains("to add, 0 to change, 0 to destroy."), "{}", plan.stdout);
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    // And as JSON, and saved.
    stack.run(&["plan", "--target", "aws", "--json"]).ok();
    stack.run(&["plan", "--target", "aws", "--out", "offline.plan"]).ok();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(endpoint.connections(), 0, "the plan connected to the endpoint");
    assert_eq!(stack.imds.connections(), 0, "the plan asked the instance metadata service");
    assert!(!stack.state_path().exists(), "a plan wrote a state");
}

/// The plan shows the ownership tags create gives each taggable object
/// (the next plan after an apply being empty, in the moto tests, shows that
/// reads report them too); untaggable types show none.
#[test]
fn the_plan_shows_the_ownership_tags() {
    let endpoint = Trap::start();
    let stack = Stack::new("tags-", &shop_files_with_endpoint(&endpoint.url()), None);
    let plan = stack.run(&["plan", "--target", "aws"]).ok();
    let name = stack.name();
    let vpc = plan.stdout.split("\n\n").find(|b| b.contains("+ network.main/aws_vpc.main ")).expect("vpc");
    for line in [
        format!("Name             = \"{name}\""),
        format!("\"stackc:stack\"   = \"{name}\""),
        "\"stackc:target\"  = \"aws\"".to_string(),
        "\"stackc:address\" = \"network.main/aws_vpc.main\"".to_string(),
    ] {
        assert!(vpc.contains(&line), "{line} not in:\n{vpc}");
    }
    assert_eq!(plan.stdout.matches("\"stackc:address\" = ").count(), 24, "{}", plan.stdout);
    let association = plan.stdout.split("\n\n").find(|b| b.contains("aws_route_table_association.zone[0] "));
    assert!(!association.expect("association").contains("stackc:"), "{}", plan.stdout);
}

/// An apply without credentials stops at one check before its first write
/// (the account id, which creates need anyway): no create is started,
/// nothing is sent to the endpoint, no state and no empty state directory
/// is left.
#[test]
fn an_apply_without_credentials_stops_before_its_first_write() {
    let endpoint = Trap::start();
    let stack = Stack::new("nocreds-", &shop_files_with_endpoint(&endpoint.url()), None);
    let run = stack.run(&["apply", "--target", "aws", "--auto-approve"]).code(1);
    assert!(run.stdout.contains("Plan: 35 to add"), "{}", run.stdout);
    assert!(!run.stdout.contains("creating..."), "a create was started:\n{}", run.stdout);
    assert_eq!(run.stderr.matches("no AWS credentials").count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("could not be checked before the first change"), "{}", run.stderr);
    assert!(run.stderr.trim_end().ends_with("Nothing was changed."), "{}", run.stderr);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(endpoint.connections(), 0, "the apply sent a request");
    assert!(!stack.path().join(".stackc").exists(), "the apply left a state directory");
}

// ---------------------------------------------------------------- errors

/// A small stack for the error tests: the stdlib network and one volume.
fn small_stack(prefix: &str, endpoint: Option<&str>, target_extra: &str) -> Stack {
    let text = format!(
        "volume \"scratch\" {{ size = \"1Gi\" }}\n\ntarget \"aws\" {{\n  region = \"eu-west-3\"\n  ami    = \
         \"ami-0123456789abcdef0\"{target_extra}\n}}\n"
    );
    Stack::new(prefix, &[(PathBuf::from("main.stack.hcl"), text.into_bytes())], endpoint)
}

/// With the endpoint gone, refresh fails with E0602 naming the endpoint,
/// within the retry budget, and the state is left as it was; with the
/// `target "aws"` block's endpoint a closed port, apply fails with E0603
/// and records no aws object.
#[test]
fn a_dead_endpoint_is_a_clear_error_on_refresh_and_on_apply() {
    let Some(endpoint) = moto_endpoint() else { return };
    let mut stack = small_stack("dead-", Some(&endpoint), "");
    stack.run(&["apply", "--target", "aws", "--auto-approve"]).ok();
    let before = std::fs::read(stack.state_path()).expect("state");

    stack.endpoint = Some("http://127.0.0.1:1".to_string());
    let started = Instant::now();
    let plan = stack.run(&["plan", "--target", "aws"]).code(1);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}");
    assert!(plan.stderr.contains("E0602"), "{}", plan.stderr);
    assert!(
        flat(&plan.stderr).contains("cannot connect to the AWS endpoint http://127.0.0.1:1/"),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains("EndpointUnreachable"), "{}", plan.stderr);
    assert!(
        plan.stderr.contains("the same for"),
        "one diagnostic, then the other addresses: {}",
        plan.stderr
    );
    assert!(!plan.stderr.contains("panicked"), "{}", plan.stderr);
    let applied = stack.run(&["apply", "--target", "aws", "--auto-approve"]).code(1);
    assert!(applied.stderr.contains("E0602"), "{}", applied.stderr);
    assert_eq!(std::fs::read(stack.state_path()).expect("state"), before, "the state changed");

    stack.endpoint = Some(endpoint.clone());
    stack.run(&["destroy", "--target", "aws", "--auto-approve"]).ok();

    // The target block's endpoint wins over AWS_ENDPOINT_URL.
    let stack = small_stack("deadapply-", Some(&endpoint), "\n  endpoint = \"http://127.0.0.1:1\"");
    let started = Instant::now();
    let applied = stack.run(&["apply", "--target", "aws", "--auto-approve"]).code(1);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}");
    // Stopped by the credentials check before the first write: nothing started.
    assert!(
        flat(&applied.stderr).contains("cannot connect to the AWS endpoint http://127.0.0.1:1/"),
        "{}",
        applied.stderr
    );
    assert!(applied.stderr.contains("could not be checked before the first change"), "{}", applied.stderr);
    assert!(!applied.stdout.contains("creating..."), "{}", applied.stdout);
    assert!(!applied.stderr.contains("panicked"), "{}", applied.stderr);
    let recorded: Vec<_> = if stack.state_path().exists() {
        stack.resources().into_iter().filter(|(_, t, _)| t.starts_with("aws_")).collect()
    } else {
        Vec::new()
    };
    assert!(recorded.is_empty(), "aws objects recorded from a dead endpoint: {recorded:?}");
    let (ok, left) = stack.check(&["owned", &stack.name()]);
    assert!(ok && left.trim().is_empty(), "{left}");
}

/// An endpoint that accepts connections and never answers (a loopback
/// listener that holds them open): `plan` fails with E0602 naming the
/// endpoint and the timeout, within one read timeout per attempt
/// (`AWS_MAX_ATTEMPTS=1` here: 15 s), where it used to run past 600 s; the
/// state is left as it was.
#[test]
fn a_silent_endpoint_is_a_clear_error_within_a_bounded_time() {
    let Some(endpoint) = moto_endpoint() else { return };
    let mut stack = small_stack("silent-", Some(&endpoint), "");
    stack.run(&["apply", "--target", "aws", "--auto-approve"]).ok();
    let before = std::fs::read(stack.state_path()).expect("state");

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent = format!("http://{}", listener.local_addr().expect("address"));
    let held = Arc::new(std::sync::Mutex::new(Vec::new()));
    let holder = held.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            holder.lock().unwrap().push(stream);
        }
    });
    stack.endpoint = Some(silent.clone());
    let started = Instant::now();
    let output =
        stack.command(&["plan", "--target", "aws"]).env("AWS_MAX_ATTEMPTS", "1").output().expect("runs");
    let elapsed = started.elapsed();
    let plan = Run::of(output).code(1);
    assert!(elapsed < Duration::from_secs(45), "took {elapsed:?}");
    assert!(plan.stderr.contains("E0602"), "{}", plan.stderr);
    assert!(plan.stderr.contains("EndpointTimeout"), "{}", plan.stderr);
    assert!(
        flat(&plan.stderr).contains(&format!(
            "the AWS endpoint {silent}/ accepted the connection but did not answer within 15 s"
        )),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("the same for"),
        "one diagnostic, then the other addresses: {}",
        plan.stderr
    );
    assert!(!held.lock().unwrap().is_empty(), "the endpoint was connected to");
    assert_eq!(std::fs::read(stack.state_path()).expect("state"), before, "the state changed");

    stack.endpoint = Some(endpoint);
    stack.run(&["destroy", "--target", "aws", "--auto-approve"]).ok();
}

/// An API error during apply (an AMI that does not exist, on a moto that
/// checks AMIs) is shown with AWS's error code and message, at the user's
/// block that produced the instances.
#[test]
fn an_api_error_during_apply_shows_the_aws_code_and_message_at_the_users_source() {
    if moto_endpoint().is_none() {
        return;
    }
    let moto = PrivateMoto::start(&[("MOTO_ENABLE_AMI_VALIDATION", "true")]);
    let text = "database \"main\" {\n  engine    = \"postgres\"\n  instances = 2\n  storage   = \"1Gi\"\n}\n\ntarget \
                \"aws\" {\n  region = \"eu-west-3\"\n  ami    = \"ami-00000000deadbeef0\"\n}\n";
    let stack = Stack::new(
        "badami-",
        &[(PathBuf::from("main.stack.hcl"), text.as_bytes().to_vec())],
        Some(&moto.endpoint),
    );
    let applied = stack.run(&["apply", "--target", "aws", "--auto-approve"]).code(1);
    assert!(applied.stderr.contains("InvalidAMIID.NotFound"), "{}", applied.stderr);
    // The failed creates are recorded nowhere; what succeeded is.
    let recorded = stack.resources();
    assert!(recorded.iter().all(|(_, t, _)| t != "aws_instance"), "{recorded:?}");
    assert!(recorded.iter().any(|(_, t, _)| t == "aws_vpc"), "{recorded:?}");
    insta::assert_snapshot!("invalid_ami_stderr", stable_stderr(&applied.stderr));
}

/// Stderr without what varies between runs: "not done" lines sorted.
fn stable_stderr(stderr: &str) -> String {
    let mut kept = Vec::new();
    let mut not_done = Vec::new();
    for line in stderr.lines() {
        if line.starts_with("not done: ") {
            not_done.push(line);
        } else {
            kept.push(line);
        }
    }
    not_done.sort();
    kept.extend(not_done);
    kept.join("\n")
}
