//! Resource schemas of the aws target: each attribute with whether it is
//! required, computed by AWS, sensitive, or forces replacement.

use stackc_model::schema::{AttributeMode, AttributeSchema, ResourceSchema, TargetSetting};
use stackc_model::types::Type;

/// What the `target "aws"` block (or the environment) must give: the
/// region, which zone names are built from and requests go to; and, when a
/// resource reads `target.ami` (the stdlib's `database` and `stateful`
/// machines), the machine image.
pub fn required_target_settings() -> Vec<TargetSetting> {
    vec![
        TargetSetting::new(
            "region",
            "set `region = \"eu-west-3\"` (say) in the `target \"aws\"` block, or export AWS_REGION",
        ),
        TargetSetting::when_read(
            "ami",
            "set `ami = \"ami-0123456789abcdef0\"` (say: the image the machines boot) in the `target \"aws\"` block",
        ),
    ]
}

fn list(t: Type) -> Type {
    Type::List(Box::new(t))
}

fn map(t: Type) -> Type {
    Type::Map(Box::new(t))
}

fn any_map() -> Type {
    map(Type::Any)
}

fn required(t: Type) -> AttributeSchema {
    AttributeSchema::new(t, AttributeMode::Required)
}

fn optional(t: Type) -> AttributeSchema {
    AttributeSchema::new(t, AttributeMode::Optional)
}

fn optional_computed(t: Type) -> AttributeSchema {
    AttributeSchema::new(t, AttributeMode::OptionalComputed)
}

fn computed(t: Type) -> AttributeSchema {
    AttributeSchema::new(t, AttributeMode::Computed)
}

/// A schema with the attributes every AWS resource has: `id`, `arn`, `tags`.
fn resource(type_name: &str) -> ResourceSchema {
    ResourceSchema::new(type_name, Some(crate::TARGET))
        .attribute("id", computed(Type::String))
        .attribute("tags", optional(map(Type::String)))
}

fn with_arn(schema: ResourceSchema) -> ResourceSchema {
    schema.attribute("arn", computed(Type::String))
}

/// Schemas of every resource type of the aws target.
pub fn schemas() -> Vec<ResourceSchema> {
    use Type::{Bool, Number, String};
    vec![
        with_arn(resource("aws_vpc"))
            .attribute("cidr_block", required(String).force_new())
            .attribute("enable_dns_support", optional_computed(Bool))
            .attribute("enable_dns_hostnames", optional_computed(Bool)),
        with_arn(resource("aws_subnet"))
            .attribute("vpc_id", required(String).force_new())
            .attribute("cidr_block", required(String).force_new())
            .attribute("availability_zone", optional_computed(String).force_new())
            .attribute("map_public_ip_on_launch", optional_computed(Bool)),
        with_arn(resource("aws_internet_gateway")).attribute("vpc_id", optional(String)),
        with_arn(resource("aws_route_table"))
            .attribute("vpc_id", required(String).force_new())
            .attribute("route", optional_computed(list(any_map()))),
        resource("aws_route_table_association")
            .attribute("subnet_id", required(String).force_new())
            .attribute("route_table_id", required(String)),
        with_arn(resource("aws_security_group"))
            .attribute("name", optional_computed(String).force_new())
            .attribute("description", optional_computed(String).force_new())
            .attribute("vpc_id", optional_computed(String).force_new())
            .attribute("ingress", optional_computed(list(any_map())))
            .attribute("egress", optional_computed(list(any_map()))),
        with_arn(resource("aws_ecs_cluster")).attribute("name", required(String).force_new()),
        with_arn(resource("aws_iam_role"))
            .attribute("name", optional_computed(String).force_new())
            .attribute("assume_role_policy", required(String))
            .attribute("managed_policy_arns", optional_computed(list(String))),
        with_arn(resource("aws_ecs_task_definition"))
            .attribute("family", required(String).force_new())
            .attribute("container_definitions", required(String).force_new())
            .attribute("cpu", optional_computed(String).force_new())
            .attribute("memory", optional_computed(String).force_new())
            .attribute("network_mode", optional_computed(String).force_new())
            .attribute("requires_compatibilities", optional_computed(list(String)).force_new())
            .attribute("execution_role_arn", optional(String).force_new())
            .attribute("revision", computed(Number)),
        resource("aws_ecs_service")
            .attribute("name", required(String).force_new())
            .attribute("cluster", optional_computed(String).force_new())
            .attribute("task_definition", optional(String))
            .attribute("desired_count", optional_computed(Number))
            .attribute("launch_type", optional_computed(String).force_new())
            .attribute("network_configuration", optional(any_map()))
            .attribute("load_balancer", optional_computed(list(any_map())))
            .attribute("deployment_minimum_healthy_percent", optional_computed(Number))
            .attribute("deployment_maximum_percent", optional_computed(Number))
            .attribute("deployment_controller", optional_computed(any_map()).force_new()),
        with_arn(resource("aws_lb_target_group"))
            .attribute("name", optional_computed(String).force_new())
            .attribute("port", optional_computed(Number).force_new())
            .attribute("protocol", optional_computed(String).force_new())
            .attribute("vpc_id", optional(String).force_new())
            .attribute("target_type", optional_computed(String).force_new())
            .attribute("health_check", optional_computed(any_map())),
        with_arn(resource("aws_lb"))
            .attribute("name", optional_computed(String).force_new())
            .attribute("internal", optional_computed(Bool).force_new())
            .attribute("load_balancer_type", optional_computed(String).force_new())
            .attribute("subnets", optional_computed(list(String)))
            .attribute("security_groups", optional_computed(list(String)))
            .attribute("dns_name", computed(String))
            .attribute("zone_id", computed(String)),
        with_arn(resource("aws_lb_listener"))
            .attribute("load_balancer_arn", required(String).force_new())
            .attribute("port", optional_computed(Number))
            .attribute("protocol", optional_computed(String))
            .attribute("default_action", required(list(any_map()))),
        with_arn(resource("aws_lb_listener_rule"))
            .attribute("listener_arn", required(String).force_new())
            .attribute("priority", optional_computed(Number))
            .attribute("action", required(list(any_map())))
            .attribute("condition", required(list(any_map()))),
        with_arn(resource("aws_instance"))
            .attribute("ami", required(String).force_new())
            .attribute("instance_type", required(String))
            .attribute("subnet_id", optional_computed(String).force_new())
            .attribute("vpc_security_group_ids", optional_computed(list(String)))
            .attribute("availability_zone", optional_computed(String).force_new())
            .attribute("user_data", optional(String).force_new())
            .attribute("private_ip", computed(String))
            .attribute("public_ip", computed(String))
            .attribute("private_dns", computed(String)),
        with_arn(resource("aws_ebs_volume"))
            .attribute("availability_zone", required(String).force_new())
            .attribute("size", optional_computed(Number))
            .attribute("type", optional_computed(String))
            .attribute("encrypted", optional_computed(Bool).force_new()),
        resource("aws_volume_attachment")
            .attribute("device_name", required(String).force_new())
            .attribute("instance_id", required(String).force_new())
            .attribute("volume_id", required(String).force_new()),
        with_arn(resource("aws_ssm_parameter"))
            .attribute("name", required(String).force_new())
            .attribute("type", required(String))
            .attribute("value", required(String))
            .attribute("version", computed(Number)),
        with_arn(resource("aws_secretsmanager_secret"))
            .attribute("name", optional_computed(String).force_new())
            .attribute("description", optional(String))
            .attribute("recovery_window_in_days", optional(Number)),
        resource("aws_secretsmanager_secret_version")
            .attribute("secret_id", required(String).force_new())
            .attribute("secret_string", required(String).sensitive())
            .attribute("version_id", computed(String)),
        resource("aws_appautoscaling_target")
            .attribute("service_namespace", required(String).force_new())
            .attribute("resource_id", required(String).force_new())
            .attribute("scalable_dimension", required(String).force_new())
            .attribute("min_capacity", required(Number))
            .attribute("max_capacity", required(Number)),
        with_arn(resource("aws_appautoscaling_policy"))
            .attribute("name", required(String).force_new())
            .attribute("policy_type", optional_computed(String))
            .attribute("service_namespace", required(String).force_new())
            .attribute("resource_id", required(String).force_new())
            .attribute("scalable_dimension", required(String).force_new())
            .attribute("target_tracking_scaling_policy_configuration", optional(any_map())),
        with_arn(resource("aws_s3_bucket"))
            .attribute("bucket", optional_computed(String).force_new())
            .attribute("force_destroy", optional(Bool))
            .attribute("bucket_domain_name", computed(String)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_type_is_unique_belongs_to_aws_and_has_a_computed_id() {
        let schemas = schemas();
        let mut seen = HashSet::new();
        for schema in &schemas {
            assert!(seen.insert(schema.type_name.clone()), "{} twice", schema.type_name);
            assert!(schema.type_name.starts_with("aws_"));
            assert_eq!(schema.target.as_deref(), Some("aws"));
            assert_eq!(schema.attributes["id"].mode, AttributeMode::Computed, "{}", schema.type_name);
        }
        // The constructs of the target table each have their types.
        for needed in [
            "aws_vpc",
            "aws_subnet",
            "aws_security_group",
            "aws_ecs_cluster",
            "aws_ecs_task_definition",
            "aws_ecs_service",
            "aws_lb_target_group",
            "aws_lb",
            "aws_lb_listener",
            "aws_instance",
            "aws_ebs_volume",
            "aws_volume_attachment",
            "aws_ssm_parameter",
            "aws_secretsmanager_secret",
            "aws_appautoscaling_target",
            "aws_appautoscaling_policy",
        ] {
            assert!(seen.contains(needed), "{needed} missing");
        }
    }

    /// Optional attributes AWS fills in when left out must be computed too,
    /// or a configuration that leaves them out would plan a change (a
    /// replacement, for force-new ones) after every apply.
    #[test]
    fn attributes_aws_defaults_are_optional_computed() {
        let schemas = schemas();
        let mode = |type_name: &str, attribute: &str| {
            schemas.iter().find(|s| s.type_name == type_name).unwrap().attributes[attribute].mode
        };
        for (type_name, attribute) in [
            ("aws_security_group", "description"),
            ("aws_security_group", "name"),
            ("aws_ecs_service", "desired_count"),
            ("aws_lb", "internal"),
            ("aws_vpc", "enable_dns_support"),
            ("aws_subnet", "map_public_ip_on_launch"),
            ("aws_ebs_volume", "type"),
        ] {
            assert_eq!(
                mode(type_name, attribute),
                AttributeMode::OptionalComputed,
                "{type_name}.{attribute}"
            );
        }
    }

    #[test]
    fn secret_strings_are_sensitive() {
        let schemas = schemas();
        let version = schemas.iter().find(|s| s.type_name == "aws_secretsmanager_secret_version").unwrap();
        assert!(version.attributes["secret_string"].sensitive);
    }
}
