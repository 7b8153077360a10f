//! Objects that pass the official schemas (`kubernetes-validate --strict`)
//! yet will not work once applied: the API server refuses them, or accepts
//! them and they never do their job. `stackc build` prints each as a
//! warning, naming the object and the stack setting that fixes it; the
//! files are still written (a component body of the user's own may mean
//! it).
//!
//! - a RollingUpdate with maxSurge and maxUnavailable both zero (the API
//!   server refuses it: the update could never make progress);
//! - an HTTP probe without a port (required; a `service` with `health` but
//!   neither `port` nor `health.port`);
//! - a HorizontalPodAutoscaler on the utilisation of a resource that the
//!   target's containers do not request (it reports "missing request" and
//!   never scales).

use crate::manifest::Manifest;
use stackc_model::Value;

/// One message per object that will not work, in manifest order.
pub fn unworkable(manifests: &[Manifest]) -> Vec<String> {
    let mut problems = Vec::new();
    for manifest in manifests {
        match manifest.kind.as_str() {
            "Deployment" | "StatefulSet" => {
                workload(manifest, &mut problems);
            }
            "HorizontalPodAutoscaler" => autoscaler(manifest, manifests, &mut problems),
            _ => {}
        }
    }
    problems
}

fn containers(workload: &Manifest) -> &[Value] {
    workload
        .object
        .get_path(&["spec", "template", "spec", "containers"])
        .and_then(Value::as_list)
        .unwrap_or(&[])
}

fn workload(manifest: &Manifest, problems: &mut Vec<String>) {
    let Manifest { kind, name, .. } = manifest;
    let zero = |field: &str| {
        matches!(
            manifest.object.get_path(&["spec", "strategy", "rollingUpdate", field]),
            Some(Value::Number(n)) if *n == 0.0
        ) || matches!(
            manifest.object.get_path(&["spec", "strategy", "rollingUpdate", field]).and_then(Value::as_str),
            Some("0" | "0%")
        )
    };
    if zero("maxSurge") && zero("maxUnavailable") {
        problems.push(format!(
            "{kind} `{name}` has maxSurge and maxUnavailable both 0, which Kubernetes refuses (an update \
             could never start a pod nor stop one): raise `rollout.max_surge` or `rollout.max_unavailable`"
        ));
    }
    for container in containers(manifest) {
        let container_name = container.get_path(&["name"]).and_then(Value::as_str).unwrap_or_default();
        let portless: Vec<&str> = ["readinessProbe", "livenessProbe", "startupProbe"]
            .into_iter()
            .filter(|probe| {
                container.get_path(&[probe, "httpGet"]).is_some()
                    && container.get_path(&[probe, "httpGet", "port"]).is_none()
            })
            .collect();
        let (probes, have) = match portless.as_slice() {
            [] => continue,
            [one] => (one.to_string(), "has"),
            [first @ .., last] => (format!("{} and {last}", first.join(", ")), "have"),
        };
        problems.push(format!(
            "{kind} `{name}`: the {probes} of container `{container_name}` {have} no port, which Kubernetes \
             requires: set `port` or `health.port`"
        ));
    }
}

fn autoscaler(hpa: &Manifest, manifests: &[Manifest], problems: &mut Vec<String>) {
    let reference =
        |field: &str| hpa.object.get_path(&["spec", "scaleTargetRef", field]).and_then(Value::as_str);
    let (Some(kind), Some(name)) = (reference("kind"), reference("name")) else { return };
    let Some(target) =
        manifests.iter().find(|m| m.kind == kind && m.name == name && m.namespace == hpa.namespace)
    else {
        return; // `manifest::dangling_references` names it.
    };
    let metrics = hpa.object.get_path(&["spec", "metrics"]).and_then(Value::as_list).unwrap_or(&[]);
    for metric in metrics {
        let utilisation =
            metric.get_path(&["resource", "target", "type"]).and_then(Value::as_str) == Some("Utilization");
        let Some(resource) = metric.get_path(&["resource", "name"]).and_then(Value::as_str) else { continue };
        if !utilisation {
            continue;
        }
        let unrequested: Vec<&str> = containers(target)
            .iter()
            .filter(|c| c.get_path(&["resources", "requests", resource]).is_none())
            .filter_map(|c| c.get_path(&["name"]).and_then(Value::as_str))
            .collect();
        if !unrequested.is_empty() {
            problems.push(format!(
                "HorizontalPodAutoscaler `{}` scales {kind} `{name}` on {resource} utilisation, a share of \
                 what its containers request, but {} no {resource}, so it cannot measure and never scales: \
                 set `resources.{resource}`",
                hpa.name,
                match unrequested.as_slice() {
                    [one] => format!("container `{one}` requests"),
                    many => format!("containers {} request", many.join(", ")),
                }
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackc_model::graph::ResourceAddress;

    fn manifest(kind: &str, name: &str, object: serde_json::Value) -> Manifest {
        Manifest {
            address: ResourceAddress(format!("x.{name}/{kind}")),
            api_version: "v1".into(),
            kind: kind.into(),
            name: name.into(),
            namespace: None,
            object: Value::from_json(&object),
        }
    }

    fn deployment(name: &str, strategy: serde_json::Value, container: serde_json::Value) -> Manifest {
        manifest(
            "Deployment",
            name,
            serde_json::json!({ "spec": { "strategy": strategy, "template": { "spec": { "containers": [container] } } } }),
        )
    }

    #[test]
    fn a_working_set_has_no_problem() {
        let api = deployment(
            "api",
            serde_json::json!({ "rollingUpdate": { "maxSurge": 1, "maxUnavailable": "0%" } }),
            serde_json::json!({ "name": "api", "resources": { "requests": { "cpu": "250m" } },
                                "readinessProbe": { "httpGet": { "path": "/", "port": 8080 } } }),
        );
        let hpa = manifest(
            "HorizontalPodAutoscaler",
            "api",
            serde_json::json!({ "spec": { "scaleTargetRef": { "kind": "Deployment", "name": "api" },
                "metrics": [{ "type": "Resource", "resource": { "name": "cpu", "target": { "type": "Utilization" } } }] } }),
        );
        assert_eq!(unworkable(&[api, hpa]), Vec::<String>::new());
    }

    #[test]
    fn each_unworkable_object_is_named_with_its_fix() {
        let api = deployment(
            "api",
            serde_json::json!({ "rollingUpdate": { "maxSurge": "0%", "maxUnavailable": 0 } }),
            serde_json::json!({ "name": "api", "livenessProbe": { "httpGet": { "path": "/" } } }),
        );
        let hpa = manifest(
            "HorizontalPodAutoscaler",
            "api",
            serde_json::json!({ "spec": { "scaleTargetRef": { "kind": "Deployment", "name": "api" },
                "metrics": [{ "type": "Resource", "resource": { "name": "memory", "target": { "type": "Utilization" } } }] } }),
        );
        assert_eq!(
            unworkable(&[api, hpa]),
            vec![
                "Deployment `api` has maxSurge and maxUnavailable both 0, which Kubernetes refuses (an update \
                 could never start a pod nor stop one): raise `rollout.max_surge` or `rollout.max_unavailable`"
                    .to_string(),
                "Deployment `api`: the livenessProbe of container `api` has no port, which Kubernetes \
                 requires: set `port` or `health.port`"
                    .to_string(),
                "HorizontalPodAutoscaler `api` scales Deployment `api` on memory utilisation, a share of what \
                 its containers request, but container `api` requests no memory, so it cannot measure and \
                 never scales: set `resources.memory`"
                    .to_string(),
            ]
        );
    }
}
