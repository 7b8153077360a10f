//! The kubernetes target: its resource schemas, and turning the
//! `kubernetes_manifest` resources of a resource graph into YAML documents
//! that `kubectl apply -f` accepts (`stackc build --target kubernetes`).
//!
//! Every Kubernetes object is one `kubernetes_manifest` resource whose
//! `manifest` attribute holds the object (apiVersion, kind, metadata, spec).
//! One generic type instead of one per kind keeps the schema small and lets
//! the stdlib emit any kind; the manifests are checked against the official
//! OpenAPI schemas by the tests (`kubernetes-validate --strict`). The API
//! client (server-side apply) comes with the provider issue.

pub mod build;
pub mod checks;
pub mod manifest;
pub mod rollout;
pub mod yaml;

use stackc_model::schema::{AttributeMode, AttributeSchema, ResourceSchema};
use stackc_model::types::Type;

/// The target name, as written in `target "kubernetes" {}` and `on "kubernetes" {}`.
pub const TARGET: &str = "kubernetes";

/// The kubernetes target: no required settings, nothing from the
/// environment.
pub const DESCRIPTOR: stackc_providers::Target = stackc_providers::Target {
    name: TARGET,
    schemas,
    required_settings: stackc_providers::target::no_settings,
    environment_defaults: stackc_providers::target::no_defaults,
    connect: |_| stackc_providers::target::unavailable(UNAVAILABLE),
    stats: None,
};

/// Why the kubernetes target cannot be planned in this build.
pub const UNAVAILABLE: &str = "this build of stackc has no Kubernetes API client yet, so it cannot plan or apply the \
     kubernetes target; write the manifests with `stackc build --target kubernetes -o DIR` and apply them with \
     `kubectl apply -f DIR`";

/// The resource type holding one Kubernetes object.
pub const MANIFEST_TYPE: &str = "kubernetes_manifest";

/// Schemas of every resource type of the kubernetes target.
pub fn schemas() -> Vec<ResourceSchema> {
    vec![ResourceSchema::new(MANIFEST_TYPE, Some(TARGET))
        .attribute(
            "manifest",
            // apiVersion, kind and metadata.name are checked by `manifest::identity`.
            AttributeSchema::new(Type::Map(Box::new(Type::Any)), AttributeMode::Required),
        )
        .attribute("wait_for_rollout", AttributeSchema::new(Type::Bool, AttributeMode::Optional))
        .attribute("uid", AttributeSchema::new(Type::String, AttributeMode::Computed))
        .attribute(
            "object",
            // The object as the API server holds it after apply (status included).
            AttributeSchema::new(Type::Map(Box::new(Type::Any)), AttributeMode::Computed),
        )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_schema_requires_manifest_and_computes_uid() {
        let schemas = schemas();
        let manifest = &schemas[0];
        assert_eq!(manifest.type_name, "kubernetes_manifest");
        assert_eq!(manifest.target.as_deref(), Some("kubernetes"));
        assert_eq!(manifest.attributes["manifest"].mode, AttributeMode::Required);
        assert!(manifest.attributes["uid"].is_computed());
        assert_eq!(manifest.settable().collect::<Vec<_>>(), vec!["manifest", "wait_for_rollout"]);
    }
}
