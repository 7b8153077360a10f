//! Kubernetes objects out of a resource graph, in the order `kubectl apply`
//! needs them (namespaces first, workloads after what they mount), and their
//! file names for `stackc build -o DIR`.

use crate::yaml::{to_yaml, YamlError};
use crate::MANIFEST_TYPE;
use stackc_compiler::graph::{ResourceAddress, ResourceGraph};
use stackc_compiler::Value;

/// One object, ready to write.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// The graph resource it comes from.
    pub address: ResourceAddress,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    /// The object itself (sensitive parts still marked).
    pub object: Value,
}

/// Why a resource cannot be written as a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestError {
    pub address: ResourceAddress,
    pub message: String,
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.address, self.message)
    }
}

impl std::error::Error for ManifestError {}

impl Manifest {
    /// `NN-kind-name.yaml`, where NN orders files so a directory applies cleanly.
    pub fn file_name(&self) -> String {
        let kind = self.kind.to_ascii_lowercase();
        let name: String = self
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
            .collect();
        format!("{:02}-{kind}-{name}.yaml", kind_rank(&self.kind))
    }

    /// The object as one YAML document.
    pub fn to_yaml(&self) -> Result<String, ManifestError> {
        to_yaml(&self.object).map_err(|e| self.error(e))
    }

    fn error(&self, e: YamlError) -> ManifestError {
        ManifestError { address: self.address.clone(), message: format!("manifest {e}") }
    }
}

/// Rank of a kind in apply order: what others refer to comes first.
fn kind_rank(kind: &str) -> u8 {
    match kind {
        "Namespace" => 0,
        "ServiceAccount" => 1,
        "ConfigMap" | "Secret" => 2,
        "PersistentVolumeClaim" => 3,
        "Service" => 4,
        "StatefulSet" => 5,
        "Deployment" => 6,
        "Job" | "CronJob" => 7,
        "HorizontalPodAutoscaler" | "PodDisruptionBudget" => 8,
        _ => 9,
    }
}

/// Every `kubernetes_manifest` resource of the graph, in apply order
/// (rank, then graph order). Fails on the first object missing its identity.
pub fn collect(graph: &ResourceGraph) -> Result<Vec<Manifest>, ManifestError> {
    let mut manifests = Vec::new();
    for node in graph.nodes().filter(|n| n.type_name == MANIFEST_TYPE) {
        let error = |message: String| ManifestError { address: node.address.clone(), message };
        let object = node
            .values
            .get_path(&["manifest"])
            .ok_or_else(|| error("has no `manifest` attribute".into()))?
            .clone();
        let (api_version, kind, name, namespace) = identity(&object).map_err(error)?;
        manifests.push(Manifest {
            address: node.address.clone(),
            api_version,
            kind,
            name,
            namespace,
            object,
        });
    }
    manifests.sort_by_key(|m| kind_rank(&m.kind));
    Ok(manifests)
}

/// apiVersion, kind, metadata.name (all known strings) and metadata.namespace.
pub fn identity(object: &Value) -> Result<(String, String, String, Option<String>), String> {
    let text = |path: &[&str]| -> Result<String, String> {
        match object.get_path(path) {
            Some(v) if v.as_str().is_some() => Ok(v.as_str().unwrap_or_default().to_string()),
            Some(Value::Unknown) => Err(format!("`{}` is known only after apply", path.join("."))),
            _ => Err(format!("manifest needs a string `{}`", path.join("."))),
        }
    };
    let namespace = match object.get_path(&["metadata", "namespace"]) {
        None | Some(Value::Null) => None,
        Some(_) => Some(text(&["metadata", "namespace"])?),
    };
    Ok((text(&["apiVersion"])?, text(&["kind"])?, text(&["metadata", "name"])?, namespace))
}

/// All manifests as one multi-document YAML stream.
pub fn to_yaml_stream(manifests: &[Manifest]) -> Result<String, ManifestError> {
    let mut out = String::new();
    for manifest in manifests {
        out.push_str("---\n");
        out.push_str(&manifest.to_yaml()?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackc_compiler::graph::ResourceNode;

    fn node(address: &str, manifest: Value) -> ResourceNode {
        let mut values = indexmap::IndexMap::new();
        values.insert("manifest".to_string(), manifest);
        ResourceNode {
            address: ResourceAddress(address.into()),
            type_name: MANIFEST_TYPE.into(),
            target: Some("kubernetes".into()),
            values: Value::Object(values),
            deferred: None,
            dependencies: vec![],
            provenance: vec![],
        }
    }

    fn object(kind: &str, name: &str) -> Value {
        let fields = |pairs: Vec<(&str, Value)>| {
            Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
        };
        fields(vec![
            ("apiVersion", Value::string("v1")),
            ("kind", Value::string(kind)),
            ("metadata", fields(vec![("name", Value::string(name))])),
        ])
    }

    #[test]
    fn collects_in_apply_order_with_file_names() {
        let mut graph = ResourceGraph::new();
        graph.add(node("service.api/kubernetes_manifest.deployment", object("Deployment", "api"))).unwrap();
        graph.add(node("config.app/kubernetes_manifest.config_map", object("ConfigMap", "app"))).unwrap();
        let manifests = collect(&graph).unwrap();
        let names: Vec<String> = manifests.iter().map(Manifest::file_name).collect();
        assert_eq!(names, vec!["02-configmap-app.yaml", "06-deployment-api.yaml"]);
        assert_eq!(
            to_yaml_stream(&manifests).unwrap(),
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n---\napiVersion: v1\nkind: Deployment\nmetadata:\n  name: api\n"
        );
    }

    #[test]
    fn an_unknown_name_is_an_error_naming_the_resource() {
        let mut graph = ResourceGraph::new();
        let mut broken = object("Service", "x");
        if let Value::Object(fields) = &mut broken {
            fields.insert(
                "metadata".into(),
                Value::Object([("name".to_string(), Value::Unknown)].into_iter().collect()),
            );
        }
        graph.add(node("load_balancer.public/kubernetes_manifest.service", broken)).unwrap();
        let error = collect(&graph).unwrap_err();
        assert_eq!(error.address.as_str(), "load_balancer.public/kubernetes_manifest.service");
        assert_eq!(error.message, "`metadata.name` is known only after apply");
    }
}
