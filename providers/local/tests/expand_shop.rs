//! The stdlib's local (Docker) bodies, expanded for a shop-like stack and
//! checked against this crate's real schemas.

use stackc_compiler::expand::test_support::{expand_with_stdlib, expand_with_stdlib_scaled, shop_for};
use stackc_model::graph::ResourceAddress;
use stackc_model::schema::SchemaSet;
use stackc_model::Value;

fn schemas() -> SchemaSet {
    let mut set = SchemaSet::default();
    for schema in stackc_provider_local::schemas().into_iter().chain(stackc_provider_builtin::schemas()) {
        set.add(schema);
    }
    set
}

#[test]
fn shop_on_local() {
    let (graph, diagnostics) = expand_with_stdlib(&shop_for("local"), &schemas(), None);
    let messages: Vec<String> = diagnostics.iter().map(|d| format!("{}: {}", d.code, d.message)).collect();
    assert_eq!(messages, vec!["E0501: `job` cannot be expressed on target `local`.".to_string()]);
    let graph = graph.unwrap();
    let count = |prefix: &str| graph.nodes().filter(|n| n.address.as_str().starts_with(prefix)).count();
    assert_eq!(count("service.api/docker_container.replica["), 4);
    // The autoscale policy, for `stackc reconcile`, with the HPA's defaults.
    let policy = graph.get(&ResourceAddress("service.api/stackc_data.autoscale[0]".into())).unwrap();
    let policy = policy.values.get_path(&["input", "autoscale"]).unwrap();
    assert_eq!(policy.get_path(&["min"]), Some(&Value::Number(4.0)));
    assert_eq!(policy.get_path(&["tolerance"]), Some(&Value::Number(0.1)));
    assert_eq!(policy.get_path(&["scale_down_window"]), Some(&Value::Number(300.0)));
    assert_eq!(policy.get_path(&["replicas"]), Some(&Value::string("docker_container.replica")));
    assert_eq!(count("database.main/docker_container.node["), 3);
    assert_eq!(count("database.main/docker_volume.data["), 3);
    let node = |a: &str| graph.get(&ResourceAddress(a.to_string())).unwrap();
    let proxy = node("load_balancer.public/docker_container.proxy");
    assert_eq!(
        proxy.values.get_path(&["ports"]).unwrap().as_list().unwrap()[0].get_path(&["external"]),
        Some(&Value::Number(80.0))
    );
    let config = node("load_balancer.public/local_file.config");
    let text = config.values.get_path(&["content"]).unwrap().as_str().unwrap();
    assert!(text.contains("server api-3:8080 max_fails=0;"), "{text}");
    assert!(config.dependencies.contains(&ResourceAddress("service.api/docker_container.replica[3]".into())));
    let replica = node("service.api/docker_container.replica[2]");
    assert_eq!(replica.values.get_path(&["network"]), Some(&Value::string("stackc-shop")));
    assert!(replica.dependencies.contains(&ResourceAddress("network.main/docker_network.main".into())));
    assert_eq!(
        replica.values.get_path(&["env", "DATABASE_URL"]),
        Some(&Value::string("postgres://main-0:5432/main"))
    );
    let instance = node("database.main/docker_container.node[1]");
    assert!(instance.dependencies.contains(&ResourceAddress("database.main/docker_volume.data[1]".into())));
    // vm is not available on local: a clear error.
    let (_, diagnostics) =
        expand_with_stdlib("target \"local\" {}\nvm \"x\" { image = \"ami-1\" }\n", &schemas(), None);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].message, "`vm` cannot be expressed on target `local`.");
}

/// The whole expansion as the JSON of `stackc build --format json`.
#[test]
fn shop_graph_snapshot_local() {
    let (graph, _) = expand_with_stdlib(&shop_for("local"), &schemas(), None);
    let json =
        stackc_model::render::graph_json(&graph.unwrap(), &stackc_model::Sources::new(), Some("local"));
    insta::assert_json_snapshot!(json);
}

/// The count recorded by the autoscaler is the replica count, within the
/// policy's min and max; min when none is recorded.
#[test]
fn the_recorded_count_is_the_replica_count_within_min_and_max() {
    let replicas = |recorded: Option<u64>| {
        let counts = recorded.map(|n| ("service.api".to_string(), n)).into_iter().collect();
        let (graph, _) = expand_with_stdlib_scaled("shop", &shop_for("local"), &schemas(), None, counts);
        let graph = graph.unwrap();
        graph
            .nodes()
            .filter(|n| n.address.as_str().starts_with("service.api/docker_container.replica["))
            .count()
    };
    assert_eq!(replicas(None), 4);
    assert_eq!(replicas(Some(7)), 7);
    assert_eq!(replicas(Some(100)), 12);
    assert_eq!(replicas(Some(1)), 4);
}
