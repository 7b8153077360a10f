//! End-to-end tests of `stackc build` and `stackc graph` through the real
//! binary, each in a fresh temporary directory (run from inside it, so the
//! paths in messages are short and stable): files written and their order,
//! exit codes, the message for manifests that wait for a generated secret,
//! the secret read from a state file written here as `stackc apply` would,
//! a corrupt state, the formats and targets that do not go together, and a
//! DOT snapshot. The messages are insta snapshots.

use stackc_compiler::graph::ResourceAddress;
use stackc_compiler::Value;
use stackc_planner::state::{ResourceState, State};
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::Run;

fn stackc(dir: &Path, args: &[&str]) -> Run {
    stackc_with(dir, args, &[])
}

/// [`stackc`] with `env` set; the region variables are set only from `env`
/// (the developer's own `AWS_REGION` would change what aws builds).
fn stackc_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_stackc"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .envs(env.iter().copied())
        .output()
        .expect("stackc runs");
    Run::of(output)
}

/// A directory with one stack, `app/main.stack.hcl`.
fn stack(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("app")).expect("stack dir");
    std::fs::write(dir.path().join("app/main.stack.hcl"), text).expect("stack file");
    dir
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("listable")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const KUBERNETES: &str = r#"
secret "api_key" {
  generate { length = 24 }
}

config "web" {
  data = { GREETING = "hello" }
}

service "web" {
  image       = "registry.example.com/web:1.0"
  replicas    = 2
  port        = 8080
  config_from = [config.web]
  secret_env  = { API_KEY = secret.api_key }
}

load_balancer "public" {
  port = 80
  to   = service.web
}

target "kubernetes" {
  namespace = "demo"
}
"#;

const PASSWORD_ADDRESS: &str = "secret.api_key/random_password.value[0]";

/// What `stackc apply` leaves in `app/.stackc/kubernetes/state.json` for the
/// generated secret.
fn write_state(dir: &Path, password: &str) -> PathBuf {
    let mut state =
        State::new("app", Some("kubernetes".into()), "0b6a3c1e-1111-4222-8333-444455556666".into());
    state.serial = 3;
    let attributes = Value::Object(
        [
            ("length".to_string(), Value::Number(24.0)),
            ("result".to_string(), Value::string(password).into_sensitive()),
        ]
        .into_iter()
        .collect(),
    );
    state.resources.insert(
        ResourceAddress(PASSWORD_ADDRESS.into()),
        ResourceState {
            type_name: "random_password".into(),
            target: None,
            id: "none".into(),
            attributes,
            dependencies: Vec::new(),
            tainted: false,
        },
    );
    let state_dir = dir.join("app/.stackc/kubernetes");
    std::fs::create_dir_all(&state_dir).expect("state dir");
    let path = state_dir.join("state.json");
    std::fs::write(&path, serde_json::to_string_pretty(&state.to_document()).expect("JSON")).expect("state");
    path
}

#[test]
fn without_state_build_generates_the_secret_records_it_and_reuses_it() {
    let dir = stack(KUBERNETES);
    let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes", "-o", "out"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The apply engine's progress lines, then what build did.
    assert!(run.stderr.contains(&format!("{PASSWORD_ADDRESS}: creating...\n")), "{}", run.stderr);
    assert!(
        run.stderr.ends_with(
            "generated 1 value and recorded it in app/.stackc/kubernetes/state.json (serial 1); later builds \
             reuse it\nwrote 6 manifests to out; apply with `kubectl apply -f out`\n"
        ),
        "{}",
        run.stderr
    );
    let out = dir.path().join("out");
    assert_eq!(
        listing(&out),
        [
            "00-namespace-demo.yaml",
            "02-configmap-web.yaml",
            "02-secret-api-key.yaml",
            "04-service-public-lb.yaml",
            "04-service-web.yaml",
            "06-deployment-web.yaml",
        ]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("02-secret-api-key.yaml")).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a secret is readable by its owner only");
    }
    // Recorded as apply records it: a state (no lock or journal left), the
    // value the manifest holds.
    let state_dir = dir.path().join("app/.stackc/kubernetes");
    assert_eq!(listing(&state_dir), ["state.json"]);
    let state_text = std::fs::read_to_string(state_dir.join("state.json")).expect("state");
    let state = State::from_document(serde_json::from_str(&state_text).expect("JSON")).expect("a state");
    assert_eq!(state.serial, 1);
    let password =
        state.resources[&ResourceAddress(PASSWORD_ADDRESS.into())].attributes.get_path(&["result"]);
    let password = password.and_then(|v| v.unmarked().as_str().map(str::to_string)).expect("generated");
    assert_eq!(password.len(), 24);
    let secret = std::fs::read_to_string(out.join("02-secret-api-key.yaml")).expect("secret");
    assert!(secret.contains(&password), "{secret}");

    // The second build reuses it: the same bytes, the state untouched.
    let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes", "-o", "again"]);
    assert_eq!(run.stderr, "wrote 6 manifests to again; apply with `kubectl apply -f again`\n");
    for name in listing(&out) {
        let (first, second) =
            (std::fs::read(out.join(&name)), std::fs::read(dir.path().join("again").join(&name)));
        assert!(first.expect("first") == second.expect("second"), "{name} differs");
    }
    assert_eq!(std::fs::read_to_string(state_dir.join("state.json")).expect("state"), state_text);
}

/// A ConfigMap that needs another object's `uid`, which only the cluster
/// assigns; and a password kept by that `uid`.
const WAITS_FOR_THE_CLUSTER: &str = r#"
on "kubernetes" {
  resource "kubernetes_manifest" "first" {
    manifest = {
      apiVersion = "v1"
      kind       = "ConfigMap"
      metadata   = { name = "first", namespace = "demo" }
      data       = { a = "1" }
    }
  }
  resource "kubernetes_manifest" "second" {
    manifest = {
      apiVersion = "v1"
      kind       = "ConfigMap"
      metadata   = { name = "second", namespace = "demo" }
      data       = { first = kubernetes_manifest.first.uid }
    }
  }
}

target "kubernetes" {
  namespace = "demo"
}
"#;

#[test]
fn manifests_waiting_for_the_cluster_are_named_not_written() {
    let dir = stack(WAITS_FOR_THE_CLUSTER);
    let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes", "-o", "out"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("pending_cluster_value", run.transcript());
    // The other one is written; never a placeholder.
    assert_eq!(listing(&dir.path().join("out")), ["00-namespace-demo.yaml", "02-configmap-first.yaml"]);
    // Nothing to generate, so nothing was written into the stack (no state, no lock).
    assert_eq!(listing(&dir.path().join("app")), ["main.stack.hcl"]);
}

#[test]
fn the_generated_secret_comes_from_the_state() {
    let dir = stack(KUBERNETES);
    let state = write_state(dir.path(), "s3cr3t-from-the-last-apply");
    let before = std::fs::read(&state).expect("state");
    let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes", "-o", "out"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("from_state", run.transcript());
    let out = dir.path().join("out");
    assert_eq!(listing(&out).len(), 6);
    let secret = std::fs::read_to_string(out.join("02-secret-api-key.yaml")).expect("secret written");
    insta::assert_snapshot!("secret_manifest", secret);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |name: &str| std::fs::metadata(out.join(name)).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode("02-secret-api-key.yaml"), 0o600, "a secret is readable by its owner only");
        assert_eq!(mode("06-deployment-web.yaml"), 0o644);
    }
    // The state was read, not written or locked.
    assert_eq!(std::fs::read(&state).expect("state"), before);
    assert_eq!(listing(&dir.path().join("app/.stackc/kubernetes")), ["state.json"]);

    // The graph JSON never shows the secret.
    let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("s3cr3t"), "{}", run.stdout);
    let graph: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let secret = graph["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["address"] == "secret.api_key/kubernetes_manifest.secret")
        .expect("the Secret");
    assert_eq!(secret["sensitive"], serde_json::json!(["manifest.stringData.value"]));
    assert_eq!(secret["unknown"], serde_json::json!([]));
}

#[test]
fn without_out_the_manifests_are_one_stream_on_stdout() {
    let dir = stack(KUBERNETES);
    write_state(dir.path(), "s3cr3t-from-the-last-apply");
    let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    assert_eq!(run.stdout.matches("---\n").count(), 6);
    assert!(run.stdout.starts_with("---\napiVersion: v1\nkind: Namespace\n"), "{}", run.stdout);
    // Without the state: generated, the apply engine's progress on stderr,
    // stdout only the manifests.
    std::fs::remove_dir_all(dir.path().join("app/.stackc")).expect("state removed");
    let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.matches("---\n").count(), 6);
    assert!(run.stdout.contains("kind: Secret"), "{}", run.stdout);
    assert!(!run.stdout.contains("creat"), "{}", run.stdout);
    assert!(run.stderr.contains("generated 1 value"), "{}", run.stderr);
}

#[test]
fn a_corrupt_state_is_a_clear_error() {
    let dir = stack(KUBERNETES);
    let state = write_state(dir.path(), "x");
    std::fs::write(&state, "{\"version\": 1, \"lineage\": ").expect("truncated");
    let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes", "-o", "out"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("corrupt_state", run.transcript());
    assert!(!dir.path().join("out").exists(), "nothing written");
}

#[test]
fn manifests_of_an_earlier_build_are_replaced() {
    let dir = stack(KUBERNETES);
    write_state(dir.path(), "s3cr3t");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    std::fs::write(out.join("06-deployment-old.yaml"), "kind: Deployment\n").expect("stale");
    std::fs::write(out.join("02-secret-api-key.yaml"), "stale\n").expect("stale");
    std::fs::write(out.join("kustomization.yaml"), "resources: []\n").expect("other");
    let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes", "-o", "out"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "removed out/06-deployment-old.yaml (not part of this build)\n\
         wrote 6 manifests to out; apply with `kubectl apply -f out`\n"
    );
    let names = listing(&out);
    assert!(!names.contains(&"06-deployment-old.yaml".to_string()), "{names:?}");
    assert!(names.contains(&"kustomization.yaml".to_string()), "other files are left alone: {names:?}");
    let secret = std::fs::read_to_string(out.join("02-secret-api-key.yaml")).expect("secret");
    assert!(secret.contains("value: s3cr3t"), "{secret}");
}

/// Into a new directory, an empty one, and one holding other files (the
/// file-by-file path): the same files, bytes and modes; no temp directory
/// left beside them; a manifest already as it should be is left alone.
#[test]
fn a_new_or_empty_directory_gets_the_same_files_as_an_existing_one() {
    let dir = stack(KUBERNETES);
    write_state(dir.path(), "s3cr3t");
    let (fresh, empty, kept) =
        (dir.path().join("new/out"), dir.path().join("empty"), dir.path().join("kept"));
    std::fs::create_dir(&empty).expect("empty");
    std::fs::create_dir(&kept).expect("kept");
    std::fs::write(kept.join("kustomization.yaml"), "resources: []\n").expect("other");
    for out in ["new/out", "empty", "kept"] {
        let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes", "-o", out]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stderr, format!("wrote 6 manifests to {out}; apply with `kubectl apply -f {out}`\n"));
    }
    let names = listing(&fresh);
    assert_eq!(names.len(), 6, "{names:?}");
    assert_eq!(listing(&empty), names);
    assert_eq!(listing(&kept), [names.clone(), vec!["kustomization.yaml".to_string()]].concat());
    assert_eq!(listing(dir.path()), ["app", "empty", "kept", "new"], "no temp directory left");
    assert_eq!(listing(&dir.path().join("new")), ["out"], "no temp directory left");
    for name in &names {
        let read = |d: &Path| std::fs::read(d.join(name)).expect("written");
        assert!(read(&fresh) == read(&empty) && read(&fresh) == read(&kept), "{name} differs");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |d: &Path| std::fs::metadata(d.join(name)).expect("file").permissions().mode() & 0o777;
            assert_eq!(mode(&fresh), mode(&kept), "{name}");
            assert_eq!(mode(&empty), mode(&kept), "{name}");
        }
    }
    // Built again into the (now existing) directory: unchanged files are
    // the same files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let inodes = |d: &Path| {
            names.iter().map(|n| std::fs::metadata(d.join(n)).expect("file").ino()).collect::<Vec<_>>()
        };
        let before = inodes(&fresh);
        let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes", "-o", "new/out"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(inodes(&fresh), before, "untouched manifests are left alone");
    }
}

#[test]
fn yaml_is_for_kubernetes_and_json_for_every_target() {
    let dir = stack(
        r#"
resource "stackc_data" "seed" {
  input = { region = "eu-west-3" }
}

on "aws" {
  resource "aws_ecs_cluster" "tools" {
    name = "tools"
  }
}

target "aws" {
  region = "eu-west-3"
}
"#,
    );
    let run = stackc(dir.path(), &["build", "app"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("yaml_for_aws", run.transcript());

    let run = stackc(dir.path(), &["build", "app", "--format", "json", "-o", "out"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "wrote the resource graph to out/graph.json\n");
    let graph: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/graph.json")).expect("written"))
            .expect("JSON");
    let addresses: Vec<&str> =
        graph["resources"].as_array().expect("list").iter().map(|r| r["address"].as_str().unwrap()).collect();
    // Sorted by address; the stack's implicit network comes with the target.
    assert!(addresses.is_sorted(), "{addresses:?}");
    assert_eq!(addresses.first(), Some(&"aws_ecs_cluster.tools"));
    assert_eq!(addresses.last(), Some(&"stackc_data.seed"));
    assert!(addresses.contains(&"network.main/aws_vpc.main"), "{addresses:?}");
    assert_eq!(graph["target"], "aws");
    let resources = graph["resources"].as_array().expect("list");
    let provenance = &resources[resources.len() - 1]["provenance"][0];
    assert_eq!(
        (provenance["file"].as_str(), provenance["line"].as_u64()),
        (Some("app/main.stack.hcl"), Some(2))
    );
    let cluster = &resources[0];
    assert_eq!(cluster["unknown"], serde_json::json!([]));
    assert_eq!(cluster["values"], serde_json::json!({ "name": "tools" }));
}

#[test]
fn compile_errors_and_missing_targets_exit_1() {
    let dir = stack(
        r#"
service "web" {
  image    = "registry.example.com/web:1.0"
  replica  = 2
}

target "kubernetes" {}
target "local" {}
"#,
    );
    let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("E0203") && run.stdout.is_empty(), "{}", run.stderr);

    std::fs::write(
        dir.path().join("app/main.stack.hcl"),
        "service \"web\" {\n  image = \"registry.example.com/web:1.0\"\n}\n\ntarget \"kubernetes\" {}\ntarget \"local\" {}\n",
    )
    .expect("fixed");
    let run = stackc(dir.path(), &["build", "app"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("target_required", run.transcript());
    let run = stackc(dir.path(), &["build", "app", "--target", "aws"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("E0502") && run.stderr.contains("Target `aws` is not declared"),
        "{}",
        run.stderr
    );
    let run = stackc(dir.path(), &["graph", "app", "--target", "aws"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("E0502"), "{}", run.stderr);
    let run = stackc(dir.path(), &["build", "missing", "--target", "kubernetes"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "error: Path not found: `missing` does not exist.\n");
}

#[test]
fn graph_is_dot_grouped_by_instance() {
    let dir = stack(
        r#"
config "web" {
  data = { GREETING = "hello" }
}

service "web" {
  image       = "registry.example.com/web:1.0"
  port        = 8080
  config_from = [config.web]
}

resource "stackc_data" "release" {
  input = { version = "1.0" }
}

resource "stackc_data" "notes" {
  input = "release ${stackc_data.release.output.version}"
}

target "kubernetes" {
  namespace = "demo"
}
"#,
    );
    let run = stackc(dir.path(), &["graph", "app"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    insta::assert_snapshot!("graph_dot", run.stdout);
    assert!(run.stdout.starts_with("digraph stack {\n") && run.stdout.ends_with("}\n"));
}

/// A component body whose Service selects none of its pods: written (the
/// API server would accept it), with a warning naming it.
#[test]
fn a_service_selecting_no_workload_is_a_warning() {
    let dir = stack(
        r#"
component "web" {
  on "kubernetes" {
    resource "kubernetes_manifest" "deployment" {
      manifest = {
        apiVersion = "apps/v1"
        kind       = "Deployment"
        metadata   = { name = self.dns_name }
        spec = {
          selector = { matchLabels = { app = self.dns_name } }
          template = {
            metadata = { labels = { app = self.dns_name } }
            spec     = { containers = [{ name = "web", image = "registry.example.com/web:1.0" }] }
          }
        }
      }
    }
    resource "kubernetes_manifest" "service" {
      manifest = {
        apiVersion = "v1"
        kind       = "Service"
        metadata   = { name = self.dns_name }
        spec       = { selector = { app = "${self.dns_name}-typo" }, ports = [{ port = 80 }] }
      }
    }
  }
}

web "site" {}

target "kubernetes" {}
"#,
    );
    let run = stackc(dir.path(), &["build", "app", "-o", "out"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "warning: Service `site` selects no workload of this build\n\
         wrote 2 manifests to out; apply with `kubectl apply -f out`\n"
    );
}

/// A `target "aws"` block without `region` takes the region from
/// `AWS_REGION`, as the provider does: the subnets' zones are that
/// region's. Without it, the missing region is one error (E0508), not one
/// per use of it in the stdlib.
#[test]
fn the_aws_region_may_come_from_the_environment() {
    let dir = stack("target \"aws\" {}\n\nservice \"api\" {\n  image = \"nginx:1.27\"\n  port  = 80\n}\n");
    let built =
        stackc_with(dir.path(), &["build", "app", "--format", "json"], &[("AWS_REGION", "eu-central-1")]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    let graph: serde_json::Value = serde_json::from_str(&built.stdout).expect("json");
    let zones: Vec<&str> = graph["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["type"] == "aws_subnet")
        .map(|r| r["values"]["availability_zone"].as_str().expect("known zone"))
        .collect();
    assert_eq!(zones, ["eu-central-1a", "eu-central-1b"]);

    let without = stackc(dir.path(), &["build", "app", "--format", "json"]);
    assert_eq!(without.code, 1);
    assert!(without.stderr.contains("E0508") && !without.stderr.contains("E0308"), "{}", without.stderr);
}

/// Load balancer and target group names are at most 32 characters (an AWS
/// limit): a longer one keeps its start and ends in a hash of the whole, so
/// two long names sharing their first 32 characters stay apart.
#[test]
fn long_aws_load_balancer_names_are_cut_without_colliding() {
    let service = |name: &str| format!("service \"{name}\" {{\n  image = \"nginx:1.27\"\n  port  = 80\n}}\n");
    let text = format!(
        "target \"aws\" {{\n  region = \"eu-west-3\"\n}}\n\n{}{}{}\nload_balancer \"public\" {{\n  port = 80\n  to   = service.api\n}}\n",
        service("api"),
        service("payments_settlement_reconciliation_a"),
        service("payments_settlement_reconciliation_b"),
    );
    let dir = stack(&text);
    let built = stackc(dir.path(), &["build", "app", "--format", "json"]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    let graph: serde_json::Value = serde_json::from_str(&built.stdout).expect("json");
    let mut names: Vec<String> = graph["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["type"] == "aws_lb_target_group" || r["type"] == "aws_lb")
        .map(|r| r["values"]["name"].as_str().expect("known name").to_string())
        .collect();
    names.sort();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names.contains(&"app-api".to_string()), "{names:?}");
    assert!(names.iter().all(|n| n.len() <= 32 && !n.ends_with('-')), "{names:?}");
    names.dedup();
    assert_eq!(names.len(), 4, "a collision: {names:?}");
}

/// One service per strategy: the manifests of each, and a line per service
/// on stderr saying what they do when a new version ships (stackc carries
/// out no rollout step on Kubernetes), with the note on selectors once.
#[test]
fn build_says_what_each_rollout_does() {
    let dir = stack(
        r#"
service "api" {
  image    = "registry.example.com/api:2.0"
  replicas = 10
  port     = 8080
  health { path = "/healthz" }
  rollout {
    strategy = "canary"
    steps    = [10, 50, 100]
  }
}

service "web" {
  image    = "registry.example.com/web:2.0"
  replicas = 4
  port     = 80
  rollout {
    strategy        = "rolling"
    max_surge       = "1"
    max_unavailable = "25%"
  }
}

service "admin" {
  image    = "registry.example.com/admin:2.0"
  replicas = 2
  port     = 80
  health { path = "/healthz" }
  rollout { strategy = "blue_green" }
}

service "worker" {
  image    = "registry.example.com/worker:2.0"
  replicas = 2
}

load_balancer "public" {
  port = 80
  to   = service.api
}

target "kubernetes" {
  namespace = "demo"
}
"#,
    );
    let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes", "-o", "out"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("rollout_lines", run.transcript());
    let out = dir.path().join("out");
    assert_eq!(
        listing(&out).iter().filter(|n| n.starts_with("06-")).collect::<Vec<_>>(),
        [
            "06-deployment-admin.yaml",
            "06-deployment-api-canary.yaml",
            "06-deployment-api.yaml",
            "06-deployment-web.yaml",
            "06-deployment-worker.yaml"
        ]
    );
    let read = |name: &str| std::fs::read_to_string(out.join(name)).expect("written");
    assert!(read("06-deployment-api.yaml").contains("  replicas: 9\n"));
    assert!(read("06-deployment-api-canary.yaml").contains("  replicas: 1\n"));
    // A count is an integer to Kubernetes, a percentage a string.
    assert!(read("06-deployment-web.yaml").contains("      maxSurge: 1\n      maxUnavailable: \"25%\"\n"));
    // The lines are on stderr: stdout is the manifests alone.
    let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("---\n") && !run.stdout.contains("service.api:"), "{}", run.stdout);
    assert_eq!(run.stderr.lines().filter(|l| l.starts_with("service.")).count(), 3, "{}", run.stderr);
}

/// `stackc explain rollout` prints the page the build's note points at,
/// `docs/rollouts-kubernetes.md` itself; a topic misspelt gets a suggestion.
#[test]
fn explain_rollout_prints_the_kubernetes_rollout_page() {
    let dir = tempfile::tempdir().expect("temp dir");
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rollouts-kubernetes.md"))
            .expect("the page");
    for asked in ["rollout", "rollout-kubernetes", "Rollout"] {
        let run = stackc(dir.path(), &["explain", asked]);
        assert_eq!((run.code, run.stdout.as_str(), run.stderr.as_str()), (0, page.as_str(), ""), "{asked}");
    }
    let run = stackc(dir.path(), &["explain", "--topics"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("rollout-kubernetes  "), "{}", run.stdout);
    let run = stackc(dir.path(), &["explain", "rolout"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("explain_unknown_topic", run.transcript());
    // Codes work as before.
    let run = stackc(dir.path(), &["explain", "E0203"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("# E0203: "), "{}", run.stdout);
}

/// Objects the official schemas accept but that will not work once
/// applied are written, each with a warning naming the setting to fix.
#[test]
fn manifests_that_would_not_work_are_warnings() {
    let dir = stack(
        r#"
service "worker" {
  image = "registry.example.com/worker:1.0"
  health { path = "/healthz" }
}

service "api" {
  image = "registry.example.com/api:1.0"
  port  = 8080
  autoscale {
    min = 2
    max = 6
  }
  rollout {
    max_surge       = "0"
    max_unavailable = "0%"
  }
}

target "kubernetes" {
  namespace = "demo"
}
"#,
    );
    let run = stackc(dir.path(), &["build", "app", "--target", "kubernetes", "-o", "out"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("unworkable_warnings", run.transcript());
    assert_eq!(listing(&dir.path().join("out")).len(), 5);
}
