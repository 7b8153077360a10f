//! What `stackc build --target kubernetes` writes: the manifests that are
//! fully known now, and a plain account of those that are not (a value a
//! provider computes at apply, like a generated password that is not in
//! state yet). Nothing is ever filled with a placeholder.

use crate::manifest::{collect, Manifest, ManifestError};
use stackc_compiler::expand::render::paths_where;
use stackc_compiler::graph::{ResourceAddress, ResourceGraph};

/// A manifest that cannot be written before apply, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub address: ResourceAddress,
    /// `Secret/db-password`
    pub object: String,
    /// Paths in the manifest known only after apply.
    pub unknown_paths: Vec<String>,
    /// The resources whose apply results they come from.
    pub produced_by: Vec<ResourceAddress>,
}

impl std::fmt::Display for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let paths = self.unknown_paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ");
        let generated = self.produced_by.iter().any(|a| a.as_str().contains("/random_password."));
        let producers = self.produced_by.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
        write!(f, "{} ({}): {paths} ", self.object, self.address)?;
        if generated {
            write!(f, "will be generated at apply by {producers} and kept in state; run `stackc apply` (or build again after it) to get this manifest")
        } else {
            write!(f, "is known only after apply of {producers}; run `stackc apply` to create it")
        }
    }
}

/// The result of a kubernetes build.
#[derive(Debug)]
pub struct Build {
    /// Fully known manifests, in apply order.
    pub ready: Vec<Manifest>,
    pub pending: Vec<Pending>,
}

/// Splits the graph's manifests into those that can be written now and
/// those that wait for apply.
pub fn build(graph: &ResourceGraph) -> Result<Build, ManifestError> {
    let mut ready = Vec::new();
    let mut pending = Vec::new();
    for manifest in collect(graph)? {
        if !manifest.object.has_unknown() {
            ready.push(manifest);
            continue;
        }
        let produced_by = graph.get(&manifest.address).map(|n| n.dependencies.clone()).unwrap_or_default();
        pending.push(Pending {
            object: format!("{}/{}", manifest.kind, manifest.name),
            address: manifest.address.clone(),
            unknown_paths: paths_where(&manifest.object, false),
            produced_by,
        });
    }
    Ok(Build { ready, pending })
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackc_compiler::graph::ResourceNode;
    use stackc_compiler::Value;

    fn secret(value: Value) -> Value {
        let object = |pairs: Vec<(&str, Value)>| {
            Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
        };
        object(vec![(
            "manifest",
            object(vec![
                ("apiVersion", Value::string("v1")),
                ("kind", Value::string("Secret")),
                ("metadata", object(vec![("name", Value::string("db-password"))])),
                ("stringData", object(vec![("value", value)])),
            ]),
        )])
    }

    #[test]
    fn a_generated_secret_without_state_is_pending_and_says_so() {
        let mut graph = ResourceGraph::new();
        graph
            .add(ResourceNode {
                address: ResourceAddress("secret.db_password/kubernetes_manifest.secret".into()),
                type_name: "kubernetes_manifest".into(),
                target: Some("kubernetes".into()),
                values: secret(Value::Unknown),
                deferred: None,
                dependencies: vec![ResourceAddress("secret.db_password/random_password.value[0]".into())],
                provenance: vec![],
            })
            .unwrap();
        let build = build(&graph).unwrap();
        assert!(build.ready.is_empty());
        assert_eq!(
            build.pending[0].to_string(),
            "Secret/db-password (secret.db_password/kubernetes_manifest.secret): `stringData.value` will be generated at apply by `secret.db_password/random_password.value[0]` and kept in state; run `stackc apply` (or build again after it) to get this manifest"
        );
    }

    #[test]
    fn known_manifests_are_ready() {
        let mut graph = ResourceGraph::new();
        graph
            .add(ResourceNode {
                address: ResourceAddress("secret.x/kubernetes_manifest.secret".into()),
                type_name: "kubernetes_manifest".into(),
                target: Some("kubernetes".into()),
                values: secret(Value::string("given").into_sensitive()),
                deferred: None,
                dependencies: vec![],
                provenance: vec![],
            })
            .unwrap();
        let build = build(&graph).unwrap();
        assert_eq!((build.ready.len(), build.pending.len()), (1, 0));
    }
}
