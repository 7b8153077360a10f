//! The stdlib's kubernetes bodies expanded for a shop-like stack (with the
//! test evaluator), checked for shape and, when a venv with
//! `kubernetes-validate` is available (`STACKC_TEST_VENV`), against the
//! official schemas. The binary's `tests/k8s*.rs` repeat this end to end
//! through the real front end and YAML writer.

use super::test_support::{expand_with_stdlib, shop_for};
use crate::graph::{ResourceAddress, ResourceGraph};
use crate::schema::{AttributeMode, AttributeSchema, ResourceSchema, SchemaSet};
use crate::types::Type;
use crate::value::Value;

pub(super) fn schemas() -> SchemaSet {
    let attribute = AttributeSchema::new;
    let mut set = SchemaSet::default();
    set.add(
        ResourceSchema::new("kubernetes_manifest", Some("kubernetes"))
            .attribute("manifest", attribute(Type::Map(Box::new(Type::Any)), AttributeMode::Required))
            .attribute("uid", attribute(Type::String, AttributeMode::Computed))
            .attribute("object", attribute(Type::Map(Box::new(Type::Any)), AttributeMode::Computed)),
    );
    set.add(
        ResourceSchema::new("random_password", None)
            .attribute("length", attribute(Type::Number, AttributeMode::Required))
            .attribute("special", attribute(Type::Bool, AttributeMode::Optional))
            .attribute("result", attribute(Type::String, AttributeMode::Computed).sensitive()),
    );
    set
}

fn expand_shop(prior: Option<super::PriorLookup<'_>>) -> ResourceGraph {
    let (graph, diagnostics) = expand_with_stdlib(&shop_for("kubernetes"), &schemas(), prior);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    graph.unwrap()
}

fn manifest<'g>(graph: &'g ResourceGraph, address: &str) -> &'g Value {
    graph
        .get(&ResourceAddress(address.to_string()))
        .unwrap_or_else(|| panic!("no {address}"))
        .values
        .get_path(&["manifest"])
        .unwrap()
}

#[test]
fn shop_expands_to_the_documented_kubernetes_objects() {
    let graph = expand_shop(None);
    let addresses: Vec<&str> = graph.nodes().map(|n| n.address.as_str()).collect();
    assert_eq!(
        addresses,
        vec![
            "network.main/kubernetes_manifest.namespace[0]",
            "secret.db_password/random_password.value[0]",
            "secret.db_password/kubernetes_manifest.secret",
            "config.api/kubernetes_manifest.config_map",
            "database.main/kubernetes_manifest.service",
            "database.main/kubernetes_manifest.statefulset",
            "volume.uploads/kubernetes_manifest.claim",
            "service.api/kubernetes_manifest.deployment",
            "service.api/kubernetes_manifest.canary[0]",
            "service.api/kubernetes_manifest.service[0]",
            "service.api/kubernetes_manifest.autoscaler[0]",
            "job.migrate/kubernetes_manifest.job[0]",
            "load_balancer.public/kubernetes_manifest.service",
        ]
    );
    let deployment = manifest(&graph, "service.api/kubernetes_manifest.deployment");
    // Autoscaled: no fixed replica count fighting the HPA.
    assert_eq!(deployment.get_path(&["spec", "replicas"]), Some(&Value::Null));
    assert_eq!(deployment.get_path(&["metadata", "namespace"]), Some(&Value::string("shop")));
    let container =
        &deployment.get_path(&["spec", "template", "spec", "containers"]).unwrap().as_list().unwrap()[0];
    assert_eq!(
        container.get_path(&["env"]).unwrap().as_list().unwrap()[0],
        Value::Object(
            [
                ("name".to_string(), Value::string("DATABASE_URL")),
                ("value".to_string(), Value::string("postgres://main-0.main:5432/main")),
            ]
            .into_iter()
            .collect()
        )
    );
    // A canary: the stable Deployment's own update keeps every pod serving;
    // the first step (10%) is the canary Deployment beside it.
    assert_eq!(
        deployment.get_path(&["spec", "strategy", "rollingUpdate", "maxSurge"]),
        Some(&Value::string("25%"))
    );
    assert_eq!(
        manifest(&graph, "service.api/kubernetes_manifest.canary[0]").get_path(&["spec", "replicas"]),
        Some(&Value::Number(1.0))
    );
    assert_eq!(container.get_path(&["readinessProbe", "httpGet", "port"]), Some(&Value::Number(8080.0)));
    let statefulset = manifest(&graph, "database.main/kubernetes_manifest.statefulset");
    assert_eq!(statefulset.get_path(&["spec", "replicas"]), Some(&Value::Number(3.0)));
    // The generated password is unknown until apply, and the Secret depends on it.
    let secret = graph.get(&ResourceAddress("secret.db_password/kubernetes_manifest.secret".into())).unwrap();
    assert_eq!(secret.values.get_path(&["manifest", "stringData", "value"]), Some(&Value::Unknown));
    assert_eq!(
        secret.dependencies,
        vec![ResourceAddress("secret.db_password/random_password.value[0]".into())]
    );
    assert!(secret.deferred.is_some());
    assert_eq!(graph.outputs["url"].value, Value::Unknown);
}

#[test]
fn a_generated_secret_uses_the_value_from_state_when_there_is_one() {
    let prior = |address: &ResourceAddress| {
        (address.as_str() == "secret.db_password/random_password.value[0]").then(|| {
            Value::Object(
                [("result".to_string(), Value::string("from-state-0123456789"))].into_iter().collect(),
            )
        })
    };
    let graph = expand_shop(Some(&prior));
    let secret = manifest(&graph, "secret.db_password/kubernetes_manifest.secret");
    let value = secret.get_path(&["stringData", "value"]).unwrap();
    assert!(matches!(value, Value::Sensitive(_)), "{value:?}");
    assert_eq!(value.unmarked(), Value::string("from-state-0123456789"));
}

/// Writes every manifest (nulls left out) as a JSON document, which is YAML,
/// and validates them with `kubernetes-validate --strict`.
#[test]
fn shop_manifests_pass_the_official_schemas() {
    let Some(venv) = std::env::var_os("STACKC_TEST_VENV") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but STACKC_TEST_VENV is not: kubernetes-validate is missing"
        );
        eprintln!("skipped: STACKC_TEST_VENV is not set (python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements-test.txt)");
        return;
    };
    let prior = |address: &ResourceAddress| {
        (address.as_str() == "secret.db_password/random_password.value[0]").then(|| {
            Value::Object(
                [("result".to_string(), Value::string("from-state-0123456789"))].into_iter().collect(),
            )
        })
    };
    let graph = expand_shop(Some(&prior));
    let dir = std::env::temp_dir().join(format!("stackc-expand-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for (i, node) in graph.nodes().filter(|n| n.type_name == "kubernetes_manifest").enumerate() {
        let manifest = node.values.get_path(&["manifest"]).unwrap();
        let mut json = without_nulls(&manifest.to_json());
        // The LoadBalancer's status is computed; everything written must be known.
        assert!(
            !manifest.has_unknown() || node.address.as_str().starts_with("load_balancer"),
            "{}",
            node.address
        );
        if let serde_json::Value::Object(fields) = &mut json {
            fields.remove("status");
        }
        let path = dir.join(format!("{i:02}.yaml"));
        std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
        files.push(path);
    }
    let output = std::process::Command::new(std::path::Path::new(&venv).join("bin/kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", "1.33.0"])
        .args(&files)
        .output()
        .expect("kubernetes-validate runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success() && !stdout.contains("ERROR"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn without_nulls(json: &serde_json::Value) -> serde_json::Value {
    match json {
        serde_json::Value::Object(fields) => serde_json::Value::Object(
            fields.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(without_nulls).collect())
        }
        other => other.clone(),
    }
}
