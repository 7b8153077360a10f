//! The stdlib's kubernetes bodies for a shop-like stack, through this
//! crate's schema, manifest collection and YAML writer:
//! - every Service selector and HPA target matches a workload of the build;
//! - each rollout strategy's manifests (a snapshot each): a canary is a
//!   stable and a canary Deployment with disjoint selectors behind the
//!   same Service, the replicas split in the first step's proportion;
//!   and what `stackc build` says of each;
//! - every manifest passes `kubernetes-validate --strict` (Kubernetes 1.33)
//!   when `STACKC_TEST_VENV` names a venv with it (`scripts/requirements-test.txt`);
//!   with `CI` set, a missing venv fails the test.

use stackc_compiler::expand::test_support::{expand_with_stdlib, shop_for};
use stackc_model::graph::{ResourceAddress, ResourceGraph};
use stackc_model::schema::{AttributeMode, AttributeSchema, ResourceSchema, SchemaSet};
use stackc_model::types::Type;
use stackc_model::Value;
use stackc_provider_kubernetes::checks::unworkable;
use stackc_provider_kubernetes::manifest::{collect, dangling_references, to_yaml_stream, Manifest};
use stackc_provider_kubernetes::rollout::describe;

const KUBERNETES_VERSION: &str = "1.33.0";

fn schemas() -> SchemaSet {
    let mut set = SchemaSet::default();
    for schema in stackc_provider_kubernetes::schemas() {
        set.add(schema);
    }
    set.add(
        ResourceSchema::new("random_password", None)
            .attribute("length", AttributeSchema::new(Type::Number, AttributeMode::Required))
            .attribute("special", AttributeSchema::new(Type::Bool, AttributeMode::Optional))
            .attribute("result", AttributeSchema::new(Type::String, AttributeMode::Computed).sensitive()),
    );
    set
}

/// The shop, with the generated password taken from (pretend) state, as
/// `stackc build` does once it has been applied.
fn build() -> ResourceGraph {
    let prior = |address: &ResourceAddress| {
        (address.as_str() == "secret.db_password/random_password.value[0]").then(|| {
            Value::Object([("result".to_string(), Value::string("s3cr3t-from-state"))].into_iter().collect())
        })
    };
    let (graph, diagnostics) = expand_with_stdlib(&shop_for("kubernetes"), &schemas(), Some(&prior));
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    graph.unwrap()
}

/// Manifests fully known at build time (the LoadBalancer's own status is
/// not part of its manifest, so all are).
fn manifests() -> Vec<Manifest> {
    collect(&build()).expect("every manifest has its identity")
}

#[test]
fn selectors_and_autoscaler_targets_match_workloads_of_the_build() {
    let manifests = manifests();
    let kinds: Vec<(&str, &str)> = manifests.iter().map(|m| (m.kind.as_str(), m.name.as_str())).collect();
    assert_eq!(
        kinds,
        vec![
            ("Namespace", "shop"),
            ("Secret", "db-password"),
            ("ConfigMap", "api"),
            ("PersistentVolumeClaim", "uploads"),
            ("Service", "main"),
            ("Service", "api"),
            ("Service", "public-lb"),
            ("StatefulSet", "main"),
            ("Deployment", "api"),
            ("Deployment", "api-canary"),
            ("Job", "migrate"),
            ("HorizontalPodAutoscaler", "api"),
        ]
    );
    assert_eq!(dangling_references(&manifests), Vec::<String>::new());
    assert_eq!(unworkable(&manifests), Vec::<String>::new());
}

#[test]
fn manifests_pass_the_official_schemas() {
    let manifests = manifests();
    let stream = to_yaml_stream(&manifests).expect("all values known");
    assert!(stream.contains("password") || stream.contains("s3cr3t-from-state"));
    validate(&manifests, &stream);
}

/// Runs `kubernetes-validate --strict` on each manifest's file and on the
/// whole stream, when `STACKC_TEST_VENV` names a venv with it (see the
/// module's comment).
fn validate(manifests: &[Manifest], stream: &str) {
    let Some(venv) = std::env::var_os("STACKC_TEST_VENV") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but STACKC_TEST_VENV is not: kubernetes-validate must run in CI"
        );
        eprintln!(
            "skipped schema validation: STACKC_TEST_VENV is not set \
             (python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements-test.txt)"
        );
        return;
    };
    let dir = tempfile_dir();
    let mut files = Vec::new();
    for manifest in manifests {
        let path = dir.join(manifest.file_name());
        std::fs::write(&path, manifest.to_yaml().unwrap()).unwrap();
        files.push(path);
    }
    let all = dir.join("all.yaml");
    std::fs::write(&all, stream).unwrap();
    files.push(all);
    let output = std::process::Command::new(std::path::Path::new(&venv).join("bin/kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .args(&files)
        .output()
        .expect("kubernetes-validate runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success() && !stdout.contains("ERROR"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // One line per document validated.
    assert_eq!(stdout.matches("INFO").count(), manifests.len() * 2, "{stdout}");
}

/// A fresh directory for one validation (tests run in parallel).
fn tempfile_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("stackc-k8s-validate-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The whole expansion as the JSON of `stackc build --format json`.
#[test]
fn shop_graph_snapshot_kubernetes() {
    let (graph, _) = expand_with_stdlib(&shop_for("kubernetes"), &schemas(), None);
    let json =
        stackc_model::render::graph_json(&graph.unwrap(), &stackc_model::Sources::new(), Some("kubernetes"));
    insta::assert_json_snapshot!(json);
}

/// One service with `body` (its attributes and blocks), behind a load
/// balancer when it has a port, in namespace `demo`.
fn one_service(body: &str) -> Vec<Manifest> {
    let lb = if body.contains("port") {
        "load_balancer \"public\" {\n  port = 80\n  to   = service.api\n}\n"
    } else {
        ""
    };
    let text = format!(
        "service \"api\" {{\n  image = \"registry.example.com/api:2.0\"\n{body}\n}}\n{lb}\ntarget \"kubernetes\" {{ namespace = \"demo\" }}\n"
    );
    let (graph, diagnostics) = expand_with_stdlib(&text, &schemas(), None);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    collect(&graph.unwrap()).expect("every manifest has its identity")
}

fn deployments(manifests: &[Manifest]) -> Vec<&Manifest> {
    manifests.iter().filter(|m| m.kind == "Deployment").collect()
}

fn replicas(manifest: &Manifest) -> Option<f64> {
    manifest.object.get_path(&["spec", "replicas"]).and_then(Value::as_f64)
}

/// Whether `selector` (a map of labels) selects pods labelled `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    let (Some(selector), Some(labels)) = (selector.as_object(), labels.as_object()) else { return false };
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn pod_labels(deployment: &Manifest) -> &Value {
    deployment.object.get_path(&["spec", "template", "metadata", "labels"]).expect("pod labels")
}

fn match_labels(deployment: &Manifest) -> &Value {
    deployment.object.get_path(&["spec", "selector", "matchLabels"]).expect("selector")
}

const STRATEGIES: [(&str, &str); 5] = [
    ("rolling", "  replicas = 4\n  port = 8080\n  rollout {\n    strategy = \"rolling\"\n    max_surge = \"1\"\n    max_unavailable = \"0\"\n  }"),
    ("blue_green", "  replicas = 4\n  port = 8080\n  health { path = \"/healthz\" }\n  rollout { strategy = \"blue_green\" }"),
    ("canary", "  replicas = 10\n  port = 8080\n  health { path = \"/healthz\" }\n  rollout {\n    strategy = \"canary\"\n    steps = [10, 50, 100]\n  }"),
    ("canary_autoscaled", "  port = 8080\n  resources {\n    cpu = \"250m\"\n    memory = \"256Mi\"\n  }\n  autoscale {\n    min = 4\n    max = 12\n  }\n  rollout { strategy = \"canary\" }"),
    ("canary_without_port", "  replicas = 5\n  rollout {\n    strategy = \"canary\"\n    steps = [20, 100]\n  }"),
];

/// Each strategy's manifests are a snapshot and pass the official schemas;
/// every Service and autoscaler points at a workload of the build.
#[test]
fn each_rollout_strategy_is_a_snapshot_of_valid_manifests() {
    for (name, body) in STRATEGIES {
        let manifests = one_service(body);
        assert_eq!(dangling_references(&manifests), Vec::<String>::new(), "{name}");
        assert_eq!(unworkable(&manifests), Vec::<String>::new(), "{name}");
        let stream = to_yaml_stream(&manifests).expect("all values known");
        insta::assert_snapshot!(format!("rollout_{name}"), stream);
        validate(&manifests, &stream);
    }
}

/// The canary pattern of the Kubernetes documentation: two Deployments
/// whose selectors differ by `track` and select none of the other's pods,
/// both behind the same Service (and load balancer), the replicas split in
/// the first step's proportion with at least one canary and one stable pod.
#[test]
fn a_canary_is_two_deployments_with_disjoint_selectors_behind_one_service() {
    for (count, steps, stable, canary) in [
        (10, "[10, 50, 100]", 9.0, 1.0),
        (20, "[25, 100]", 15.0, 5.0),
        (4, "[10, 50, 100]", 3.0, 1.0),
        (2, "[10]", 1.0, 1.0),
        (1, "[10, 50, 100]", 1.0, 1.0),
        (3, "[100]", 1.0, 3.0),
        (0, "[10, 50, 100]", 0.0, 0.0),
    ] {
        let manifests = one_service(&format!(
            "  replicas = {count}\n  port = 8080\n  rollout {{\n    strategy = \"canary\"\n    steps = {steps}\n  }}"
        ));
        let case = format!("{count} replicas, steps {steps}");
        let pair = deployments(&manifests);
        let names: Vec<&str> = pair.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["api", "api-canary"], "{case}");
        let (s, c) = (pair[0], pair[1]);
        assert_eq!((replicas(s), replicas(c)), (Some(stable), Some(canary)), "{case}");
        assert_eq!(pod_labels(s).get_path(&["track"]).and_then(Value::as_str), Some("stable"));
        assert_eq!(pod_labels(c).get_path(&["track"]).and_then(Value::as_str), Some("canary"));
        // Each selects its own pods and not the other's.
        assert!(selects(match_labels(s), pod_labels(s)) && selects(match_labels(c), pod_labels(c)), "{case}");
        assert!(
            !selects(match_labels(s), pod_labels(c)) && !selects(match_labels(c), pod_labels(s)),
            "{case}"
        );
        // The Service and the load balancer reach both.
        for service in manifests.iter().filter(|m| m.kind == "Service") {
            let selector = service.object.get_path(&["spec", "selector"]).expect("selector");
            assert!(
                selects(selector, pod_labels(s)) && selects(selector, pod_labels(c)),
                "{case}: {}",
                service.name
            );
        }
        // The same pods otherwise: the canary runs the stack's image.
        let containers = |m: &Manifest| m.object.get_path(&["spec", "template", "spec"]).cloned();
        assert_eq!(containers(s), containers(c), "{case}");
    }
}

/// With autoscale, the HorizontalPodAutoscaler scales the stable
/// Deployment within its bounds less the canary's fixed pods.
#[test]
fn an_autoscaled_canary_leaves_the_stable_deployment_to_the_autoscaler() {
    let manifests = one_service(STRATEGIES[3].1);
    let pair = deployments(&manifests);
    assert_eq!((replicas(pair[0]), replicas(pair[1])), (None, Some(1.0)));
    let hpa = manifests.iter().find(|m| m.kind == "HorizontalPodAutoscaler").expect("an autoscaler");
    let field = |path: &[&str]| hpa.object.get_path(path).cloned();
    assert_eq!(field(&["spec", "scaleTargetRef", "name"]), Some(Value::string("api")));
    assert_eq!(field(&["spec", "minReplicas"]), Some(Value::Number(3.0)));
    assert_eq!(field(&["spec", "maxReplicas"]), Some(Value::Number(11.0)));
    // Without a canary, the autoscaler's bounds are the stack's.
    let plain = one_service(
        "  port = 8080\n  autoscale {\n    min = 4\n    max = 12\n  }\n  rollout { strategy = \"rolling\" }",
    );
    let hpa = plain.iter().find(|m| m.kind == "HorizontalPodAutoscaler").expect("an autoscaler");
    assert_eq!(hpa.object.get_path(&["spec", "minReplicas"]), Some(&Value::Number(4.0)));
    assert_eq!(hpa.object.get_path(&["spec", "maxReplicas"]), Some(&Value::Number(12.0)));
    assert_eq!(deployments(&plain).len(), 1);
}

/// Without a `rollout` block the Deployment is as before: no strategy of
/// its own (Kubernetes' defaults), no `track`, no annotation, no account.
#[test]
fn without_a_rollout_nothing_changes() {
    let manifests = one_service("  replicas = 3\n  port = 8080");
    let deployment = deployments(&manifests)[0];
    assert_eq!(deployments(&manifests).len(), 1);
    for path in [
        &["spec", "strategy"][..],
        &["metadata", "annotations"],
        &["spec", "selector", "matchLabels", "track"],
    ] {
        assert_eq!(deployment.object.get_path(path), None, "{path:?}");
    }
    assert_eq!(describe(&manifests), vec![]);
}

/// What `stackc build` prints for each strategy.
#[test]
fn each_rollout_is_described_plainly() {
    let lines: Vec<String> =
        STRATEGIES.iter().map(|(name, body)| format!("{name}:\n{}", lines(&one_service(body)))).collect();
    insta::assert_snapshot!("rollout_descriptions", lines.join("\n"));
}

fn lines(manifests: &[Manifest]) -> String {
    describe(manifests).iter().map(|r| format!("  {r}\n")).collect()
}

/// A config (or secret, or volume) mounted at two paths is one volume of
/// the pod, mounted twice: the API server refuses two volumes of one name,
/// which the schemas do not check.
#[test]
fn an_object_mounted_at_two_paths_is_one_volume() {
    let text = r#"
config "app" {
  data = { A = "1" }
}

secret "key" {
  value = "k"
}

service "api" {
  image         = "registry.example.com/api:2.0"
  config_mounts = { "/etc/a" = config.app, "/etc/b" = config.app }
  secret_mounts = { "/run/a" = secret.key, "/run/b" = secret.key }
}

target "kubernetes" { namespace = "demo" }
"#;
    let (graph, diagnostics) = expand_with_stdlib(text, &schemas(), None);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let manifests = collect(&graph.unwrap()).expect("identities");
    let deployment = deployments(&manifests)[0];
    let names = |path: &[&str]| -> Vec<String> {
        deployment
            .object
            .get_path(path)
            .and_then(Value::as_list)
            .expect("a list")
            .iter()
            .map(|v| v.get_path(&["name"]).and_then(Value::as_str).expect("a name").to_string())
            .collect()
    };
    assert_eq!(names(&["spec", "template", "spec", "volumes"]), ["config-app", "secret-key"]);
    let mounts = ["spec", "template", "spec", "containers"];
    let container = &deployment.object.get_path(&mounts).and_then(Value::as_list).expect("containers")[0];
    let mounted: Vec<(&str, &str)> = container
        .get_path(&["volumeMounts"])
        .and_then(Value::as_list)
        .expect("mounts")
        .iter()
        .map(|m| {
            (
                m.get_path(&["name"]).and_then(Value::as_str).unwrap_or_default(),
                m.get_path(&["mountPath"]).and_then(Value::as_str).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        mounted,
        [
            ("config-app", "/etc/a"),
            ("config-app", "/etc/b"),
            ("secret-key", "/run/a"),
            ("secret-key", "/run/b")
        ]
    );
    validate(&manifests, &to_yaml_stream(&manifests).expect("known"));
}
