//! The local target (Docker Engine): resource schemas and the provider.
//!
//! One bridge network per stack, containers, named volumes, images built
//! from a context directory, and files on the host for configs, secrets and
//! the load balancer's configuration (bind-mounted read-only into
//! containers). The provider talks to the Engine through bollard
//! (`engine.rs`: connecting as the Docker CLI does, call counts), serves the
//! `Provider` trait (`provider.rs`), one module per kind of object.

mod container;
mod engine;
mod files;
mod image;
mod provider;

pub use container::{ContainerStatus, Listed};
pub use engine::EngineConfig;
pub use image::{ProgressSink, PullProgress};
pub use provider::{LocalConfig, LocalProvider};

use stackc_model::schema::{AttributeMode, AttributeSchema, ResourceSchema};
use stackc_model::types::{ObjectField, Type};

/// The target name, as written in `target "local" {}` and `on "local" {}`.
pub const TARGET: &str = "local";

/// The local target: no required settings (the Engine's address falls
/// back on DOCKER_HOST and the default socket when connecting); its stats
/// are the Docker Engine API requests by operation (STACKC_LOCAL_STATS).
pub const DESCRIPTOR: stackc_providers::Target = stackc_providers::Target {
    name: TARGET,
    schemas,
    required_settings: stackc_providers::target::no_settings,
    environment_defaults: stackc_providers::target::no_defaults,
    connect: |request| {
        let config =
            LocalConfig::new(request.stack, request.stack_dir).with_target_attributes(request.attributes);
        let provider = std::sync::Arc::new(LocalProvider::new(config));
        Box::pin(std::future::ready(Ok(stackc_providers::target::Connected::Provider(
            stackc_providers::target::Connection::new(provider),
        ))))
    },
    stats: Some(stackc_providers::target::Stats {
        variable: "STACKC_LOCAL_STATS",
        prefix: "local-stats",
        calls: |provider| provider.downcast_ref::<LocalProvider>().map(LocalProvider::api_calls),
    }),
};

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
        // A change of anything but `name` and `network` is an update: the
        // provider re-creates the container itself (a new one started and
        // healthy before the old one goes; see container.rs), so replicas
        // of a service are replaced one at a time. `restart`, `memory` and
        // `cpus` change in place. `running` is observed: false when the
        // container exists but is stopped (exited, created, dead); the plan
        // always wants it true, so a stopped container is an update that
        // starts it (`stackc reconcile`, or any apply).
        ResourceSchema::new("docker_container", Some(TARGET))
            .attribute("id", computed(String))
            .attribute("name", required(String).force_new())
            .attribute("image", required(String))
            .attribute("command", optional(list(String)))
            .attribute("env", optional(map(String)))
            .attribute("secret_env", optional(map(String)).sensitive())
            .attribute("network", optional(String).force_new())
            .attribute("network_aliases", optional(list(String)))
            .attribute("ports", optional(list(port_mapping)))
            .attribute("mounts", optional(list(mount)))
            .attribute("healthcheck", optional(health))
            .attribute("memory", optional(Type::Quantity))
            .attribute("cpus", optional(Type::Quantity))
            .attribute("restart", optional(String))
            .attribute("labels", optional(map(String)))
            .attribute("ip_address", computed(String))
            .attribute("published_ports", computed(list(Number)))
            .attribute("running", computed(Bool)),
        // An image built from `context` (tagged `name:<hash of the
        // context>`, so an unchanged context does not rebuild), or pulled
        // by `name` when there is no context.
        ResourceSchema::new("docker_image", Some(TARGET))
            .attribute("id", computed(String))
            .attribute("name", required(String).force_new())
            .attribute("context", optional(String).force_new())
            .attribute("dockerfile", optional(String).force_new())
            .attribute("context_hash", computed(String))
            .attribute("ref", computed(String)),
        // Replaced whole (renamed over), so a reader never sees it half
        // written; containers mount its directory. Files with
        // `sensitive_content` live outside the stack directory (files.rs).
        ResourceSchema::new("local_file", Some(TARGET))
            .attribute("id", computed(String))
            .attribute("path", required(String).force_new())
            .attribute("content", optional(String))
            .attribute("sensitive_content", optional(String).sensitive())
            .attribute("file_permission", optional(String)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_belong_to_local_and_container_secrets_are_sensitive() {
        let schemas = schemas();
        let names: Vec<&str> = schemas.iter().map(|s| s.type_name.as_str()).collect();
        assert_eq!(
            names,
            vec!["docker_network", "docker_volume", "docker_container", "docker_image", "local_file"]
        );
        assert!(schemas.iter().all(|s| s.target.as_deref() == Some("local")));
        let container = &schemas[2];
        assert!(container.attributes["secret_env"].sensitive);
        assert_eq!(container.attributes["image"].mode, AttributeMode::Required);
        assert!(container.attributes["ip_address"].is_computed());
    }
}
