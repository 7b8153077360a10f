//! The local target (Docker Engine): resource schemas. The Docker API client
//! (bollard) comes with the provider issue. One bridge network per stack,
//! containers, named volumes, and files on the host for configs and secrets
//! (bind-mounted read-only into containers).

use stackc_compiler::schema::{AttributeMode, AttributeSchema, ResourceSchema};
use stackc_compiler::types::{ObjectField, Type};

/// The target name, as written in `target "local" {}` and `on "local" {}`.
pub const TARGET: &str = "local";

fn required(t: Type) -> AttributeSchema {
    AttributeSchema::new(t, AttributeMode::Required)
}

fn optional(t: Type) -> AttributeSchema {
    AttributeSchema::new(t, AttributeMode::Optional)
}

fn computed(t: Type) -> AttributeSchema {
    AttributeSchema::new(t, AttributeMode::Computed)
}

fn list(t: Type) -> Type {
    Type::List(Box::new(t))
}

fn map(t: Type) -> Type {
    Type::Map(Box::new(t))
}

fn object(fields: &[(&str, Type, bool)]) -> Type {
    Type::Object(
        fields
            .iter()
            .map(|(name, ty, optional)| {
                (name.to_string(), ObjectField { ty: ty.clone(), optional: *optional })
            })
            .collect(),
    )
}

/// Schemas of every resource type of the local target.
pub fn schemas() -> Vec<ResourceSchema> {
    use Type::{Bool, Number, String};
    let port_mapping = object(&[
        ("internal", Type::Port, false),
        ("external", Type::Port, true),
        ("protocol", String, true),
    ]);
    let mount = object(&[
        ("target", String, false),
        ("source", String, false),
        ("type", String, false), // "volume" or "bind"
        ("read_only", Bool, true),
    ]);
    let health = object(&[
        ("test", list(String), false),
        ("interval", Type::Duration, true),
        ("retries", Number, true),
    ]);
    vec![
        ResourceSchema::new("docker_network", Some(TARGET))
            .attribute("id", computed(String))
            .attribute("name", required(String).force_new())
            .attribute("driver", optional(String).force_new())
            .attribute("labels", optional(map(String)).force_new()),
        ResourceSchema::new("docker_volume", Some(TARGET))
            .attribute("id", computed(String))
            .attribute("name", required(String).force_new())
            .attribute("driver", optional(String).force_new())
            .attribute("labels", optional(map(String)).force_new())
            .attribute("mountpoint", computed(String)),
        ResourceSchema::new("docker_container", Some(TARGET))
            .attribute("id", computed(String))
            .attribute("name", required(String).force_new())
            .attribute("image", required(String).force_new())
            .attribute("command", optional(list(String)).force_new())
            .attribute("env", optional(map(String)).force_new())
            .attribute("secret_env", optional(map(String)).force_new().sensitive())
            .attribute("network", optional(String).force_new())
            .attribute("network_aliases", optional(list(String)).force_new())
            .attribute("ports", optional(list(port_mapping)).force_new())
            .attribute("mounts", optional(list(mount)).force_new())
            .attribute("healthcheck", optional(health).force_new())
            .attribute("memory", optional(Type::Quantity).force_new())
            .attribute("cpus", optional(Type::Quantity).force_new())
            .attribute("restart", optional(String))
            .attribute("labels", optional(map(String)).force_new())
            .attribute("ip_address", computed(String))
            .attribute("published_ports", computed(list(Number))),
        ResourceSchema::new("local_file", Some(TARGET))
            .attribute("id", computed(String))
            .attribute("path", required(String).force_new())
            .attribute("content", optional(String).force_new())
            .attribute("sensitive_content", optional(String).force_new().sensitive())
            .attribute("file_permission", optional(String).force_new()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_belong_to_local_and_container_secrets_are_sensitive() {
        let schemas = schemas();
        let names: Vec<&str> = schemas.iter().map(|s| s.type_name.as_str()).collect();
        assert_eq!(names, vec!["docker_network", "docker_volume", "docker_container", "local_file"]);
        assert!(schemas.iter().all(|s| s.target.as_deref() == Some("local")));
        let container = &schemas[2];
        assert!(container.attributes["secret_env"].sensitive);
        assert_eq!(container.attributes["image"].mode, AttributeMode::Required);
        assert!(container.attributes["ip_address"].is_computed());
    }
}
