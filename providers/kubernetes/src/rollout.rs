//! What a build's manifests do when a new version ships, said plainly per
//! workload with a rollout (`stackc build --target kubernetes` prints one
//! line each). stackc carries out no rollout step on Kubernetes: it writes
//! the objects, `kubectl apply` and the Deployment controller do the rest,
//! so the account is read from the objects themselves, not from the stack:
//!
//! - a Deployment annotated `stackc/rollout` (the strategy; the stdlib's
//!   `service` writes it whenever the stack sets `rollout`), its replica
//!   count or the HorizontalPodAutoscaler that scales it, and its
//!   `RollingUpdate` parameters;
//! - for `canary`, the Deployment of the same instance whose pods carry
//!   `track: canary` (the stable one's carry `track: stable`), the first
//!   step (`stackc/rollout-steps`), and the Services that select both.
//!
//! A user's own component gets the same account by writing the same
//! annotation and labels.

use crate::manifest::Manifest;
use stackc_model::Value;
use std::fmt;

/// The annotation naming a Deployment's rollout strategy.
pub const STRATEGY_ANNOTATION: &str = "stackc/rollout";
/// The annotation listing a canary's steps (percentages, comma-separated).
pub const STEPS_ANNOTATION: &str = "stackc/rollout-steps";
/// The pod label that keeps a canary's two Deployments apart.
pub const TRACK_LABEL: &str = "track";

/// Printed once after the lines when a build has a canary.
pub const SELECTOR_NOTE: &str = "a canary's two Deployments select their pods by the `track` label, and \
     Kubernetes never changes a Deployment's selector: for a service already running, switching to or from \
     canary needs `kubectl delete deployment NAME --cascade=orphan` before `kubectl apply` (the old pods keep \
     serving until the new ones are ready; then delete their ReplicaSet); see `stackc explain rollout`";

/// How many pods a Deployment runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Replicas {
    Fixed(u64),
    /// Scaled by the HorizontalPodAutoscaler named, between min and max.
    Autoscaled {
        autoscaler: String,
        min: u64,
        max: u64,
    },
}

impl Replicas {
    /// The count at the start (the autoscaler's minimum).
    fn least(&self) -> u64 {
        match self {
            Replicas::Fixed(n) => *n,
            Replicas::Autoscaled { min, .. } => *min,
        }
    }
}

impl fmt::Display for Replicas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Replicas::Fixed(n) => write!(f, "{}", pods(*n, "replica")),
            Replicas::Autoscaled { autoscaler, min, max } => {
                write!(f, "{min} to {max} replicas, scaled by HorizontalPodAutoscaler {autoscaler}")
            }
        }
    }
}

/// The canary half of a `canary` rollout.
#[derive(Clone, Debug, PartialEq)]
pub struct Canary {
    pub deployment: String,
    pub replicas: u64,
    /// The strategy's steps, percentages of the traffic (the first is
    /// what the manifests express).
    pub steps: Vec<f64>,
    /// Services selecting the pods of both Deployments.
    pub services: Vec<String>,
}

/// One workload's rollout as its manifests express it.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollout {
    /// The instance it comes from (`service.api`).
    pub instance: String,
    /// `rolling`, `blue_green`, `canary` (or whatever the annotation says).
    pub strategy: String,
    /// The (stable) Deployment.
    pub deployment: String,
    pub replicas: Replicas,
    /// `RollingUpdate` parameters, as written (Kubernetes' defaults when none).
    pub max_surge: String,
    pub max_unavailable: String,
    /// Whether the pods have a readiness probe (what "ready" waits for).
    pub readiness_probe: bool,
    pub canary: Option<Canary>,
}

/// The rollouts of a build, in the order of their Deployments.
pub fn describe(manifests: &[Manifest]) -> Vec<Rollout> {
    let deployments: Vec<&Manifest> = manifests.iter().filter(|m| m.kind == "Deployment").collect();
    let mut rollouts = Vec::new();
    for stable in &deployments {
        let Some(strategy) = annotation(stable, STRATEGY_ANNOTATION) else { continue };
        if track(stable) == Some("canary") {
            continue;
        }
        let instance = instance_of(stable);
        let replicas = replicas(stable, manifests);
        let canary = (strategy == "canary")
            .then(|| {
                deployments.iter().find(|other| {
                    track(other) == Some("canary")
                        && instance_of(other) == instance
                        && other.namespace == stable.namespace
                })
            })
            .flatten()
            .map(|canary| Canary {
                deployment: canary.name.clone(),
                replicas: replicas_of(canary).unwrap_or(1),
                steps: annotation(stable, STEPS_ANNOTATION)
                    .map(|steps| steps.split(',').filter_map(|s| s.trim().parse().ok()).collect())
                    .unwrap_or_default(),
                services: selecting_both(manifests, stable, canary),
            });
        let rolling = |field: &str, default: &str| match stable.object.get_path(&[
            "spec",
            "strategy",
            "rollingUpdate",
            field,
        ]) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Number(n)) => number(*n),
            _ => default.to_string(),
        };
        let readiness_probe = stable
            .object
            .get_path(&["spec", "template", "spec", "containers"])
            .and_then(Value::as_list)
            .is_some_and(|containers| containers.iter().all(|c| c.get_path(&["readinessProbe"]).is_some()));
        rollouts.push(Rollout {
            instance: instance.to_string(),
            strategy: strategy.to_string(),
            deployment: stable.name.clone(),
            replicas,
            max_surge: rolling("maxSurge", "25%"),
            max_unavailable: rolling("maxUnavailable", "25%"),
            readiness_probe,
            canary,
        });
    }
    rollouts
}

impl fmt::Display for Rollout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Rollout { instance, strategy, deployment, replicas, .. } = self;
        let ready = if self.readiness_probe {
            "counted once its readiness probe passes"
        } else {
            "counted as soon as it starts (no readiness probe: `health`)"
        };
        match (&self.canary, strategy.as_str()) {
            (Some(canary), _) => self.fmt_canary(canary, f),
            (None, "canary") => write!(
                f,
                "{instance}: canary: Deployment {deployment} ({replicas}) has no canary Deployment beside it, so \
                 nothing of the canary is carried out on kubernetes"
            ),
            (None, "blue_green") if self.max_surge == "100%" && is_zero(&self.max_unavailable) => write!(
                f,
                "{instance}: blue_green: Deployment {deployment} ({replicas}), a RollingUpdate with maxSurge 100% \
                 and maxUnavailable {}: Kubernetes starts the whole new set before it stops an old pod, each \
                 new pod {ready}; the Service moves to each new pod as it is ready, not all at once, and the \
                 old set is not kept (undo: `kubectl rollout undo deployment/{deployment}`)",
                self.max_unavailable
            ),
            _ => write!(
                f,
                "{instance}: {strategy}: Deployment {deployment} ({replicas}), a RollingUpdate: Kubernetes \
                 replaces its pods a few at a time, with at most {} extra and {} unavailable, each new pod \
                 {ready}",
                self.max_surge, self.max_unavailable
            ),
        }
    }
}

impl Rollout {
    fn fmt_canary(&self, canary: &Canary, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Rollout { instance, deployment, replicas, .. } = self;
        let stable = replicas.least();
        let total = stable + canary.replicas;
        write!(
            f,
            "{instance}: canary: Deployment {deployment} ({replicas}, stable) and {} ({}, canary) ",
            canary.deployment,
            pods(canary.replicas, "replica")
        )?;
        match canary.services.as_slice() {
            [] => write!(f, "with no Service in front of them")?,
            [one] => write!(f, "behind Service {one}")?,
            many => write!(f, "behind Services {}", many.join(", "))?,
        }
        let share = if total == 0 { 0.0 } else { canary.replicas as f64 * 100.0 / total as f64 };
        write!(f, ": the canary is {} of {total} pods ({}%", canary.replicas, number(share.round()))?;
        if matches!(replicas, Replicas::Autoscaled { .. }) {
            write!(f, " at the minimum, less as the autoscaler adds stable pods")?;
        }
        match canary.steps.first() {
            Some(first) if (share - first).abs() < 0.5 => write!(f, ", the first step)")?,
            Some(first) => write!(
                f,
                "; the first step is {}%, but pods come whole and each side keeps at least one)",
                number(*first)
            )?,
            None => write!(f, ")")?,
        }
        let later: Vec<String> = canary.steps.iter().skip(1).map(|s| format!("{}%", number(*s))).collect();
        match later.as_slice() {
            [] => write!(f, "; there are no later steps")?,
            [one] => write!(
                f,
                "; the later step ({one}) is not carried out on kubernetes, the canary keeps its share"
            )?,
            many => write!(
                f,
                "; the later steps ({}) are not carried out on kubernetes, the canary keeps its share",
                many.join(", ")
            )?,
        }
        write!(
            f,
            "; both run the stack's image: to try a new version on the canary first, apply {}'s manifest \
             before the others",
            canary.deployment
        )
    }
}

/// `service.api` out of `service.api/kubernetes_manifest.deployment`; the
/// whole address for a resource outside any instance.
fn instance_of(manifest: &Manifest) -> &str {
    let address = manifest.address.as_str();
    address.split_once('/').map_or(address, |(instance, _)| instance)
}

fn annotation<'a>(manifest: &'a Manifest, key: &str) -> Option<&'a str> {
    manifest.object.get_path(&["metadata", "annotations", key]).and_then(Value::as_str)
}

fn pod_labels(manifest: &Manifest) -> Option<&stackc_model::Fields> {
    manifest.object.get_path(&["spec", "template", "metadata", "labels"]).and_then(Value::as_object)
}

fn track(manifest: &Manifest) -> Option<&str> {
    pod_labels(manifest).and_then(|labels| labels.get(TRACK_LABEL)).and_then(Value::as_str)
}

fn replicas_of(manifest: &Manifest) -> Option<u64> {
    match manifest.object.get_path(&["spec", "replicas"]) {
        Some(Value::Number(n)) if *n >= 0.0 => Some(*n as u64),
        _ => None,
    }
}

/// The Deployment's count, or its autoscaler's bounds; Kubernetes' default
/// of one replica when it has neither.
fn replicas(deployment: &Manifest, manifests: &[Manifest]) -> Replicas {
    let autoscaler = manifests.iter().find(|m| {
        m.kind == "HorizontalPodAutoscaler"
            && m.namespace == deployment.namespace
            && m.object.get_path(&["spec", "scaleTargetRef", "kind"]).and_then(Value::as_str)
                == Some("Deployment")
            && m.object.get_path(&["spec", "scaleTargetRef", "name"]).and_then(Value::as_str)
                == Some(deployment.name.as_str())
    });
    let bound = |hpa: &Manifest, field: &str| match hpa.object.get_path(&["spec", field]) {
        Some(Value::Number(n)) if *n >= 0.0 => Some(*n as u64),
        _ => None,
    };
    match autoscaler {
        Some(hpa) => Replicas::Autoscaled {
            autoscaler: hpa.name.clone(),
            // minReplicas defaults to 1.
            min: bound(hpa, "minReplicas").unwrap_or(1),
            max: bound(hpa, "maxReplicas").unwrap_or(0),
        },
        None => Replicas::Fixed(replicas_of(deployment).unwrap_or(1)),
    }
}

/// The Services (in the same namespace) whose non-empty selector selects the
/// pods of both Deployments.
fn selecting_both(manifests: &[Manifest], stable: &Manifest, canary: &Manifest) -> Vec<String> {
    let selects = |selector: &stackc_model::Fields, deployment: &Manifest| {
        pod_labels(deployment).is_some_and(|labels| selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
    };
    manifests
        .iter()
        .filter(|m| m.kind == "Service" && m.namespace == stable.namespace)
        .filter(|m| {
            m.object.get_path(&["spec", "selector"]).and_then(Value::as_object).is_some_and(|selector| {
                !selector.is_empty() && selects(selector, stable) && selects(selector, canary)
            })
        })
        .map(|m| m.name.clone())
        .collect()
}

fn is_zero(text: &str) -> bool {
    matches!(text, "0" | "0%")
}

/// A number as a person writes it: `10`, `12.5`.
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn pods(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}
