//! The resource graph as data for people and tools: JSON for
//! `stackc build --format json` and DOT for `stackc graph`. Pure functions
//! returning values; the binary prints them.
//!
//! Sensitive values never leave here: they are written as null and their
//! paths listed under `sensitive`. Unknown values (known only after apply)
//! are written as null and their paths listed under `unknown`.

use crate::graph::ResourceGraph;
use crate::source::Sources;
use crate::value::Value;
use serde_json::{json, Map, Value as Json};

/// Paths (`spec.ports[0].port`) of the parts of `value` that are unknown
/// (`sensitive == false`) or sensitive (`sensitive == true`).
pub fn paths_where(value: &Value, sensitive: bool) -> Vec<String> {
    let mut out = Vec::new();
    collect(value, sensitive, &mut String::new(), &mut out, 0);
    out
}

const MAX_DEPTH: usize = 256;

fn collect(value: &Value, sensitive: bool, path: &mut String, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Unknown if !sensitive => out.push(path.clone()),
        Value::Sensitive(_) if sensitive => out.push(path.clone()),
        Value::Sensitive(inner) => collect(inner, sensitive, path, out, depth + 1),
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                let saved = path.len();
                path.push_str(&format!("[{i}]"));
                collect(item, sensitive, path, out, depth + 1);
                path.truncate(saved);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                let saved = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                collect(item, sensitive, path, out, depth + 1);
                path.truncate(saved);
            }
        }
        _ => {}
    }
}

/// JSON with sensitive parts replaced by null.
pub fn redacted_json(value: &Value) -> Json {
    match value {
        Value::Sensitive(_) | Value::Unknown => Json::Null,
        Value::List(items) => Json::Array(items.iter().map(redacted_json).collect()),
        Value::Object(fields) => {
            Json::Object(fields.iter().map(|(k, v)| (k.clone(), redacted_json(v))).collect())
        }
        other => other.to_json(),
    }
}

/// The graph as JSON: `{ target, resources: [...], outputs: [...] }`, each
/// resource with address, type, target, values, unknown and sensitive
/// paths, dependencies and provenance (file, line, column of each span).
pub fn graph_json(graph: &ResourceGraph, sources: &Sources, target: Option<&str>) -> Json {
    let location = |span: &crate::source::Span| -> Json {
        if (span.file.0 as usize) >= sources.len() {
            return json!({ "start": span.start, "end": span.end });
        }
        let file = sources.get(span.file);
        let (line, column) = file.line_col(span.start as usize);
        json!({ "file": file.path, "line": line, "column": column, "start": span.start, "end": span.end })
    };
    let resources: Vec<Json> = graph
        .nodes()
        .map(|node| {
            json!({
                "address": node.address.as_str(),
                "type": node.type_name,
                "target": node.target,
                "values": redacted_json(&node.values),
                "unknown": paths_where(&node.values, false),
                "sensitive": paths_where(&node.values, true),
                "dependencies": node.dependencies.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
                "provenance": node.provenance.iter().map(location).collect::<Vec<_>>(),
            })
        })
        .collect();
    let outputs: Vec<Json> = graph
        .outputs
        .values()
        .map(|output| {
            let value = if output.sensitive { Json::Null } else { redacted_json(&output.value) };
            json!({
                "name": output.name,
                "value": value,
                "sensitive": output.sensitive,
                "unknown": paths_where(&output.value, false),
                "dependencies": output.dependencies.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut root = Map::new();
    root.insert("format_version".into(), json!(1));
    root.insert("target".into(), json!(target));
    root.insert("resources".into(), Json::Array(resources));
    root.insert("outputs".into(), Json::Array(outputs));
    Json::Object(root)
}

/// The graph in Graphviz DOT: one node per resource (labelled with its
/// address and type), clustered by component instance, one edge per
/// dependency, pointing from a resource to what it depends on.
pub fn graph_dot(graph: &ResourceGraph) -> String {
    let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let mut out = String::from("digraph stack {\n  rankdir = \"LR\";\n  node [shape = box];\n");
    let mut clusters: indexmap::IndexMap<&str, Vec<&crate::graph::ResourceNode>> = indexmap::IndexMap::new();
    for node in graph.nodes() {
        let instance = node.address.as_str().rsplit_once('/').map_or("", |(prefix, _)| prefix);
        clusters.entry(instance).or_default().push(node);
    }
    let mut numbered = 0;
    for (instance, nodes) in &clusters {
        let indent = if instance.is_empty() { "  " } else { "    " };
        if !instance.is_empty() {
            out.push_str(&format!("  subgraph cluster_{numbered} {{\n    label = {};\n", quote(instance)));
            numbered += 1;
        }
        for node in nodes {
            let short = node.address.as_str().rsplit_once('/').map_or(node.address.as_str(), |(_, r)| r);
            out.push_str(&format!("{indent}{} [label = {}];\n", quote(node.address.as_str()), quote(short)));
        }
        if !instance.is_empty() {
            out.push_str("  }\n");
        }
    }
    for node in graph.nodes() {
        for dependency in &node.dependencies {
            out.push_str(&format!("  {} -> {};\n", quote(node.address.as_str()), quote(dependency.as_str())));
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{ResourceAddress, ResourceNode};

    fn node(address: &str, values: Value, dependencies: &[&str]) -> ResourceNode {
        ResourceNode {
            address: ResourceAddress(address.into()),
            type_name: "stackc_data".into(),
            target: None,
            values,
            deferred: None,
            dependencies: dependencies.iter().map(|d| ResourceAddress(d.to_string())).collect(),
            provenance: vec![],
        }
    }

    fn sample() -> ResourceGraph {
        let values = Value::Object(
            [
                ("password".to_string(), Value::string("hunter2").into_sensitive()),
                ("ids".to_string(), Value::List(vec![Value::string("a"), Value::Unknown])),
            ]
            .into_iter()
            .collect(),
        );
        let mut graph = ResourceGraph::new();
        graph.add(node("secret.db/stackc_data.value", values, &[])).unwrap();
        graph.add(node("stackc_data.seed", Value::Null, &["secret.db/stackc_data.value"])).unwrap();
        graph.link();
        graph
    }

    #[test]
    fn json_redacts_sensitive_values_and_lists_unknown_paths() {
        let json = graph_json(&sample(), &Sources::new(), Some("kubernetes"));
        let first = &json["resources"][0];
        assert_eq!(first["values"], json!({ "password": null, "ids": ["a", null] }));
        assert_eq!(first["unknown"], json!(["ids[1]"]));
        assert_eq!(first["sensitive"], json!(["password"]));
        assert!(!json.to_string().contains("hunter2"));
        assert_eq!(json["resources"][1]["dependencies"], json!(["secret.db/stackc_data.value"]));
    }

    #[test]
    fn dot_clusters_by_instance_and_draws_dependencies() {
        assert_eq!(
            graph_dot(&sample()),
            "digraph stack {\n  rankdir = \"LR\";\n  node [shape = box];\n  subgraph cluster_0 {\n    label = \"secret.db\";\n    \"secret.db/stackc_data.value\" [label = \"stackc_data.value\"];\n  }\n  \"stackc_data.seed\" [label = \"stackc_data.seed\"];\n  \"stackc_data.seed\" -> \"secret.db/stackc_data.value\";\n}\n"
        );
    }
}
