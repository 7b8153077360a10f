//! The stdlib's kubernetes bodies for a shop-like stack, through this
//! crate's schema, manifest collection and YAML writer:
//! - every Service selector and HPA target matches a workload of the build;
//! - every manifest passes `kubernetes-validate --strict` (Kubernetes 1.33)
//!   when `STACKC_TEST_VENV` names a venv with it (`scripts/requirements-test.txt`);
//!   with `CI` set, a missing venv fails the test.

use stackc_compiler::expand::test_support::{expand_with_stdlib, shop_for};
use stackc_compiler::graph::{ResourceAddress, ResourceGraph};
use stackc_compiler::schema::{AttributeMode, AttributeSchema, ResourceSchema, SchemaSet};
use stackc_compiler::types::Type;
use stackc_compiler::Value;
use stackc_provider_kubernetes::manifest::{collect, dangling_references, to_yaml_stream, Manifest};

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
            ("Job", "migrate"),
            ("HorizontalPodAutoscaler", "api"),
        ]
    );
    assert_eq!(dangling_references(&manifests), Vec::<String>::new());
}

#[test]
fn manifests_pass_the_official_schemas() {
    let manifests = manifests();
    let stream = to_yaml_stream(&manifests).expect("all values known");
    assert!(stream.contains("password") || stream.contains("s3cr3t-from-state"));
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
    let dir = std::env::temp_dir().join(format!("stackc-k8s-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for manifest in &manifests {
        let path = dir.join(manifest.file_name());
        std::fs::write(&path, manifest.to_yaml().unwrap()).unwrap();
        files.push(path);
    }
    let all = dir.join("all.yaml");
    std::fs::write(&all, &stream).unwrap();
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

/// The whole expansion as the JSON of `stackc build --format json`.
#[test]
fn shop_graph_snapshot_kubernetes() {
    let (graph, _) = expand_with_stdlib(&shop_for("kubernetes"), &schemas(), None);
    let json = stackc_compiler::expand::render::graph_json(
        &graph.unwrap(),
        &stackc_compiler::Sources::new(),
        Some("kubernetes"),
    );
    insta::assert_json_snapshot!(json);
}
