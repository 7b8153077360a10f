//! The stdlib's aws bodies, expanded for a shop-like stack and checked
//! against this crate's real schemas.

use stackc_compiler::expand::test_support::{expand_with_stdlib, shop_for};
use stackc_model::graph::ResourceAddress;
use stackc_model::schema::SchemaSet;
use stackc_model::Value;

fn schemas() -> SchemaSet {
    let mut set = SchemaSet::default();
    for schema in stackc_provider_aws::schemas() {
        set.add(schema);
    }
    // The built-in provider's types (random_password, stackc_data, ...).
    for schema in stackc_provider_builtin::schemas() {
        set.add(schema);
    }
    set
}

#[test]
fn shop_on_aws() {
    let (graph, diagnostics) = expand_with_stdlib(&shop_for("aws"), &schemas(), None);
    let messages: Vec<String> = diagnostics.iter().map(|d| format!("{}: {}", d.code, d.message)).collect();
    // `job` has no aws body: a clear error at its instance, nothing else.
    assert_eq!(messages, vec!["E0501: `job` cannot be expressed on target `aws`.".to_string()]);
    let graph = graph.unwrap();
    let types = |prefix: &str| -> Vec<String> {
        graph
            .nodes()
            .filter(|n| n.address.as_str().starts_with(prefix))
            .map(|n| n.address.as_str()[prefix.len()..].to_string())
            .collect()
    };
    assert_eq!(
        types("network.main/"),
        vec![
            "aws_vpc.main",
            "aws_internet_gateway.main",
            "aws_route_table.public",
            "aws_subnet.zone[0]",
            "aws_subnet.zone[1]",
            "aws_route_table_association.zone[0]",
            "aws_route_table_association.zone[1]",
            "aws_security_group.internal",
            "aws_security_group.public",
            "aws_ecs_cluster.main",
            "aws_iam_role.execution",
        ]
    );
    assert_eq!(
        types("service.api/"),
        vec![
            "aws_ecs_task_definition.main",
            "aws_lb_target_group.main[0]",
            "aws_ecs_service.main",
            "stackc_data.rollout[0]",
            "aws_appautoscaling_target.main[0]",
            "aws_appautoscaling_policy.cpu[0]",
        ]
    );
    let database = types("database.main/");
    assert_eq!(database.len(), 9, "{database:?}");
    assert!(database.contains(&"aws_instance.node[\"1\"]".to_string()));
    assert!(database.contains(&"aws_volume_attachment.data[\"2\"]".to_string()));
    assert_eq!(types("load_balancer.public/"), vec!["aws_lb.main", "aws_lb_listener.main"]);
    assert_eq!(types("config.api/"), vec!["aws_ssm_parameter.value[\"LOG_LEVEL\"]"]);

    let node = |a: &str| graph.get(&ResourceAddress(a.to_string())).unwrap();
    let ecs = node("service.api/aws_ecs_service.main");
    assert_eq!(ecs.values.get_path(&["desired_count"]), Some(&Value::Number(4.0)));
    assert!(ecs.dependencies.contains(&ResourceAddress("service.api/aws_lb_target_group.main[0]".into())));
    assert!(ecs.dependencies.contains(&ResourceAddress("network.main/aws_subnet.zone[1]".into())));
    let listener = node("load_balancer.public/aws_lb_listener.main");
    assert!(listener
        .dependencies
        .contains(&ResourceAddress("service.api/aws_lb_target_group.main[0]".into())));
    let attachment = node("database.main/aws_volume_attachment.data[\"1\"]");
    assert_eq!(
        attachment.dependencies,
        vec![
            ResourceAddress("database.main/aws_ebs_volume.data[\"1\"]".into()),
            ResourceAddress("database.main/aws_instance.node[\"1\"]".into()),
        ]
    );
    let zone = node("database.main/aws_ebs_volume.data[\"1\"]");
    assert_eq!(zone.values.get_path(&["availability_zone"]), Some(&Value::string("eu-west-3b")));
    assert_eq!(zone.values.get_path(&["size"]), Some(&Value::Number(20.0)));
    let secret = node("secret.db_password/aws_secretsmanager_secret_version.main");
    assert_eq!(secret.values.get_path(&["secret_string"]), Some(&Value::Unknown));
}

#[test]
fn vm_on_aws_attaches_its_volume() {
    let text = r#"
        target "aws" {
          region = "eu-west-3"
          ami    = "ami-1"
        }
        volume "data" { size = "8Gi" }
        vm "bastion" {
          image  = "ami-0123"
          volume = volume.data
        }
    "#;
    let (graph, diagnostics) = expand_with_stdlib(text, &schemas(), None);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let graph = graph.unwrap();
    let attachment = graph.get(&ResourceAddress("vm.bastion/aws_volume_attachment.main[0]".into())).unwrap();
    assert_eq!(
        attachment.dependencies,
        vec![
            ResourceAddress("vm.bastion/aws_instance.main".into()),
            ResourceAddress("volume.data/aws_ebs_volume.main".into()),
        ]
    );
}

/// The whole expansion as the JSON of `stackc build --format json`.
#[test]
fn shop_graph_snapshot_aws() {
    let (graph, _) = expand_with_stdlib(&shop_for("aws"), &schemas(), None);
    let json = stackc_model::render::graph_json(&graph.unwrap(), &stackc_model::Sources::new(), Some("aws"));
    insta::assert_json_snapshot!(json);
}
