//! `stackc reconcile --target aws` on `examples/shop` against moto
//! (`scripts/test` starts it and sets `STACKC_TEST_MOTO_ENDPOINT`), with
//! objects lost and changed out of band by boto3 (`scripts/aws-check.py`):
//! a terminated database instance comes back attached to its same EBS
//! volume, a detached volume is attached again, a deleted listener comes back, a changed tag is reported where
//! the drift policy says `report` and put back where it says `revert`.
//! Prints the API calls of an idle pass.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

mod common;
use common::Run;

fn moto_endpoint() -> Option<String> {
    match std::env::var("STACKC_TEST_MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(endpoint),
        _ if std::env::var_os("CI").is_some() => {
            panic!("STACKC_TEST_MOTO_ENDPOINT is not set (scripts/test sets it)")
        }
        _ => {
            eprintln!("notice: STACKC_TEST_MOTO_ENDPOINT is not set; skipping this moto-backed test (run scripts/test)");
            None
        }
    }
}

/// A copy of the shop whose directory name (the stack's name) is unique.
struct Shop {
    dir: tempfile::TempDir,
    endpoint: String,
    region: String,
}

impl Shop {
    fn new(endpoint: &str) -> Shop {
        let suffix = format!("{}{}", std::process::id(), Instant::now().elapsed().subsec_nanos() % 1000);
        let dir = tempfile::Builder::new().prefix("rcshop-").rand_bytes(0).suffix(&suffix).tempdir().unwrap();
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shop");
        let mut region = String::from("eu-west-3");
        for entry in std::fs::read_dir(&example).unwrap().flatten() {
            if entry.path().is_file() {
                let text = std::fs::read_to_string(entry.path()).unwrap();
                if let Some(at) = text.find("region = \"") {
                    let rest = &text[at + 10..];
                    region = rest[..rest.find('"').unwrap()].to_string();
                }
                std::fs::write(dir.path().join(entry.file_name()), text).unwrap();
            }
        }
        std::fs::create_dir_all(dir.path().join(".home")).unwrap();
        Shop { dir, endpoint: endpoint.to_string(), region }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

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
            .env("HOME", &home)
            .env("AWS_CONFIG_FILE", home.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
        command
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::of(self.command(args).output().unwrap())
    }

    fn state(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.path().join(".stackc/aws/state.json")).unwrap())
            .unwrap()
    }

    /// The state's resource at `address`.
    fn resource(&self, address: &str) -> serde_json::Value {
        let state = self.state();
        let found = state["resources"].as_array().unwrap().iter().find(|r| r["address"] == address).cloned();
        found.unwrap_or_else(|| panic!("{address} is not in the state"))
    }

    fn check(&self, args: &[&str]) -> String {
        let venv = std::env::var("STACKC_TEST_VENV").expect("STACKC_TEST_VENV (scripts/test sets it)");
        let output = Command::new(format!("{venv}/bin/python"))
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/aws-check.py"))
            .args(["--endpoint", &self.endpoint, "--region", &self.region])
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "aws-check {args:?}: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        text
    }

    fn name(&self) -> String {
        self.path().file_name().unwrap().to_string_lossy().into_owned()
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = self.command(&["destroy", "--target", "aws", "--auto-approve"]).output();
    }
}

fn events(run: &Run) -> Vec<serde_json::Value> {
    run.stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}"))).collect()
}

fn api_calls(stderr: &str) -> BTreeMap<String, u64> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("aws-stats: "))
        .filter_map(|l| {
            let (action, n) = l.rsplit_once(' ')?;
            Some((action.to_string(), n.parse().ok()?))
        })
        .collect()
}

#[test]
fn a_pass_restores_a_terminated_database_instance_on_its_volume_a_lost_attachment_and_a_deleted_listener() {
    let Some(endpoint) = moto_endpoint() else { return };
    let shop = Shop::new(&endpoint);
    // The database only reports drift; the rest of the stack reverts it.
    let main = shop.path().join("main.stack.hcl");
    let text = std::fs::read_to_string(&main).unwrap();
    let text = text.replacen(
        "database \"main\" {\n",
        "database \"main\" {\n  reconcile {\n    drift = \"report\"\n  }\n",
        1,
    );
    std::fs::write(&main, text).unwrap();
    shop.run(&["apply", "--target", "aws", "--auto-approve"]).ok();

    // An idle pass: nothing to do, one batched read per type.
    let started = Instant::now();
    let idle =
        Run::of(shop.command(&["reconcile", "--json"]).env("STACKC_AWS_STATS", "1").output().unwrap()).ok();
    let idle_time = started.elapsed();
    let last = events(&idle).pop().unwrap();
    assert_eq!(last["outcome"], "converged", "{}", idle.stdout);
    let idle_calls = api_calls(&idle.stderr);
    eprintln!("idle reconcile pass on aws (moto): {:.2}s, API calls {idle_calls:?}", idle_time.as_secs_f64());

    // 1. A database instance terminated out of band.
    let instance = shop.resource("database.main/aws_instance.node[\"1\"]");
    let old_id = instance["id"].as_str().unwrap().to_string();
    let volume =
        shop.resource("database.main/aws_ebs_volume.data[\"1\"]")["id"].as_str().unwrap().to_string();
    assert_eq!(shop.check(&["attachment", &old_id]).trim(), format!("[\"{volume}\"]"));
    shop.check(&["terminate", &old_id]);
    let started = Instant::now();
    let pass = shop.run(&["reconcile", "--json"]).ok();
    let heal_time = started.elapsed();
    let events = events(&pass);
    let found: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["event"] == "found")
        .map(|e| (e["address"].as_str().unwrap().to_string(), e["found"].as_str().unwrap().to_string()))
        .collect();
    assert!(
        found.contains(&("database.main/aws_instance.node[\"1\"]".to_string(), "gone".to_string())),
        "{}",
        pass.stdout
    );
    let done: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "done")
        .map(|e| e["address"].as_str().unwrap().to_string())
        .collect();
    assert!(done.contains(&"database.main/aws_instance.node[\"1\"]".to_string()), "{}", pass.stdout);
    assert!(done.contains(&"database.main/aws_volume_attachment.data[\"1\"]".to_string()), "{}", pass.stdout);
    assert_eq!(events.last().unwrap()["outcome"], "restored", "{}", pass.stdout);
    let new_id = shop.resource("database.main/aws_instance.node[\"1\"]")["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, old_id);
    assert_eq!(
        shop.resource("database.main/aws_ebs_volume.data[\"1\"]")["id"].as_str().unwrap(),
        volume,
        "the volume is kept"
    );
    assert_eq!(
        shop.check(&["attachment", &new_id]).trim(),
        format!("[\"{volume}\"]"),
        "the same volume, re-attached"
    );
    eprintln!("a terminated database instance restored by one pass in {:.2}s", heal_time.as_secs_f64());

    // 2. A volume attachment lost: the volume is attached again.
    let volume0 =
        shop.resource("database.main/aws_ebs_volume.data[\"0\"]")["id"].as_str().unwrap().to_string();
    let instance0 =
        shop.resource("database.main/aws_instance.node[\"0\"]")["id"].as_str().unwrap().to_string();
    shop.check(&["detach", &volume0]);
    assert_eq!(shop.check(&["attachment", &instance0]).trim(), "[]");
    let pass = shop.run(&["reconcile"]).ok();
    let attachment = "database.main/aws_volume_attachment.data[\"0\"]";
    assert!(pass.stdout.contains(&format!("found   {attachment}: gone")), "{}", pass.stdout);
    assert!(pass.stdout.contains(&format!("done    {attachment}: created again")), "{}", pass.stdout);
    assert_eq!(shop.check(&["attachment", &instance0]).trim(), format!("[\"{volume0}\"]"));

    // 3. The load balancer's listener deleted out of band.
    let listener = shop.resource("load_balancer.public/aws_lb_listener.main");
    shop.check(&["delete-listener", listener["id"].as_str().unwrap()]);
    let pass = shop.run(&["reconcile"]).ok();
    assert!(
        pass.stdout.contains("found   load_balancer.public/aws_lb_listener.main: gone"),
        "{}",
        pass.stdout
    );
    assert!(
        pass.stdout.contains("done    load_balancer.public/aws_lb_listener.main: created again"),
        "{}",
        pass.stdout
    );
    let report = shop.check(&["shop", &shop.name()]);
    assert!(report.contains("\"problems\": []"), "{report}");

    // 4. Drift: reported for the database, put back elsewhere.
    let vpc = shop.state()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "aws_vpc")
        .cloned()
        .unwrap();
    let vpc_address = vpc["address"].as_str().unwrap().to_string();
    shop.check(&["tag", vpc["id"].as_str().unwrap(), "managed-by=hand"]);
    shop.check(&["tag", &volume, "managed-by=hand"]);
    let pass = shop.run(&["reconcile"]).ok();
    let volume_address = "database.main/aws_ebs_volume.data[\"1\"]";
    assert!(
        pass.stdout.contains(&format!("found   {volume_address}: changed outside stackc: tags")),
        "{}",
        pass.stdout
    );
    assert!(
        pass.stdout.contains(&format!(
            "report  {volume_address}: differs from its configuration in tags.managed-by; kept as it is"
        )),
        "{}",
        pass.stdout
    );
    assert!(
        pass.stdout.contains(&format!("done    {vpc_address}: put back as configured")),
        "{}",
        pass.stdout
    );
    assert_eq!(shop.resource(volume_address)["attributes"]["tags"]["managed-by"], "hand");
    assert_eq!(shop.resource(&vpc_address)["attributes"]["tags"]["managed-by"], "stackc");
    // The next pass still reports it, and acts on nothing.
    let again = shop.run(&["reconcile"]).ok();
    assert!(again.stdout.contains(&format!("report  {volume_address}")), "{}", again.stdout);
    assert!(!again.stdout.contains("done "), "{}", again.stdout);
}
