//! Autoscaling for targets whose platform does not scale by itself (local):
//! one step of the HorizontalPodAutoscaler's loop, over the state.
//!
//! A component body opts an instance in with a built-in `stackc_data`
//! resource whose `input` is `{ autoscale = { min, max, cpu_target,
//! memory_target, tolerance, scale_down_window, scale_up_window, replicas }
//! }` (`replicas` names the resource block of the replicas,
//! `"docker_container.replica"`): the stdlib's `service` does this on
//! local. The step reads that policy from the state, so it works from the
//! configuration that was last applied, not from a stack half-edited on
//! disk; it measures the replicas through their provider
//! (`Provider::usage`), computes the count ([`decide`], as the HPA's
//! replica calculator and stabilisation do) and records it, with the
//! recommendation history the windows need, in `State::instances`. The
//! caller (`stackc reconcile`) holds the state lock, saves the state, then
//! compiles with the recorded counts (`self.autoscaled_replicas`), plans and
//! applies.
//!
//! What the HPA does that this does not: scaling rate policies (by default
//! the HPA adds at most max(4 pods, 100%) per 15 s; here a step goes
//! straight to the recommendation, within min and max), and readiness
//! (a replica that does not answer the stats call counts as missing).

use crate::providers::ProviderSet;
use crate::state::{AutoscaleRecord, Recommendation, ResourceState, State};
use stackc_model::graph::ResourceAddress;
use stackc_model::Value;
use stackc_providers::{ObjectState, OperationContext, ResourceUsage};
use std::fmt;

/// The type of the resource that carries a policy.
pub const POLICY_TYPE: &str = "stackc_data";

/// An instance's autoscaling policy, as its component body set it.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub min: u64,
    pub max: u64,
    /// Percent of what each replica may use; `None`: not a metric.
    pub cpu_target: Option<f64>,
    pub memory_target: Option<f64>,
    /// No change while |utilisation / target - 1| <= tolerance.
    pub tolerance: f64,
    pub scale_down_window_ms: u64,
    pub scale_up_window_ms: u64,
    /// The resource block of the replicas in the instance (`docker_container.replica`).
    pub replicas: String,
}

impl Policy {
    /// The policy in a `stackc_data` resource's attributes (`input.autoscale`),
    /// `None` when it carries none; `Err` says what is wrong with it.
    pub fn from_attributes(attributes: &Value) -> Option<Result<Policy, String>> {
        let policy = attributes.get_path(&["input", "autoscale"])?;
        if matches!(policy, Value::Null) {
            return None;
        }
        Some(Policy::parse(policy))
    }

    fn parse(policy: &Value) -> Result<Policy, String> {
        let number = |name: &str| -> Result<Option<f64>, String> {
            match policy.get_path(&[name]) {
                None | Some(Value::Null) => Ok(None),
                Some(value) => match value.as_f64() {
                    Some(n) if n.is_finite() => Ok(Some(n)),
                    _ => Err(format!("`{name}` is not a number")),
                },
            }
        };
        let whole = |name: &str, default: Option<u64>| -> Result<u64, String> {
            match number(name)? {
                Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64 => Ok(n as u64),
                Some(n) => Err(format!("`{name}` is {n}, not a whole number")),
                None => default.ok_or_else(|| format!("`{name}` is missing")),
            }
        };
        let min = whole("min", None)?;
        let max = whole("max", None)?;
        if min < 1 || max < min {
            return Err(format!("needs 1 <= min <= max (min is {min}, max is {max})"));
        }
        let target = |name: &str| -> Result<Option<f64>, String> {
            match number(name)? {
                Some(t) if t > 0.0 && t <= 100.0 => Ok(Some(t)),
                Some(t) => Err(format!("`{name}` is {t}, not a percentage above 0 and at most 100")),
                None => Ok(None),
            }
        };
        let cpu_target = target("cpu_target")?;
        let memory_target = target("memory_target")?;
        if cpu_target.is_none() && memory_target.is_none() {
            return Err("neither `cpu_target` nor `memory_target` is set".into());
        }
        let tolerance = number("tolerance")?.unwrap_or(0.1);
        if !(0.0..1.0).contains(&tolerance) {
            return Err(format!("`tolerance` is {tolerance}, not 0 or more and less than 1"));
        }
        let replicas = match policy.get_path(&["replicas"]).map(Value::unmarked) {
            Some(Value::String(block)) if !block.is_empty() => block.to_string(),
            _ => return Err("`replicas` does not name the replicas' resource block".into()),
        };
        Ok(Policy {
            min,
            max,
            cpu_target,
            memory_target,
            tolerance,
            scale_down_window_ms: whole("scale_down_window", Some(300))? * 1000,
            scale_up_window_ms: whole("scale_up_window", Some(0))? * 1000,
            replicas,
        })
    }
}

/// One metric as a step saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricReading {
    /// `cpu` or `memory`.
    pub name: &'static str,
    pub target: f64,
    /// The mean over the replicas that reported it (percent).
    pub mean: Option<f64>,
    /// How many replicas reported it, of how many.
    pub reported: usize,
    pub replicas: usize,
    /// The count this metric recommends; `None` when no replica reported it.
    pub recommends: Option<u64>,
}

/// What [`decide`] chose, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub replicas: u64,
    /// The recommendation before stabilisation and clamping (recorded in the
    /// history), `None` when the metrics did not allow one.
    pub recommendation: Option<u64>,
    pub metrics: Vec<MetricReading>,
    pub reason: String,
}

/// The count one metric recommends, as the HPA's replica calculator does
/// (`calcPlainMetricReplicas`): `values` has one entry per replica (`None`:
/// it did not report). `None` when no replica reported.
fn metric_replicas(current: u64, values: &[Option<f64>], target: f64, tolerance: f64) -> Option<u64> {
    let reported: Vec<f64> = values.iter().flatten().copied().collect();
    if reported.is_empty() {
        return None;
    }
    let within = |ratio: f64| (ratio - 1.0).abs() <= tolerance;
    let ratio = reported.iter().sum::<f64>() / reported.len() as f64 / target;
    let missing = values.len() - reported.len();
    if missing == 0 {
        if within(ratio) {
            return Some(current);
        }
        return Some((ratio * reported.len() as f64).ceil() as u64);
    }
    // Replicas without a figure count against the move: as using
    // max(100%, target) on a scale-down, nothing on a scale-up.
    let fill = if ratio < 1.0 {
        target.max(100.0)
    } else if ratio > 1.0 {
        0.0
    } else {
        return Some(current);
    };
    let all = reported.len() + missing;
    let new_ratio = (reported.iter().sum::<f64>() + fill * missing as f64) / all as f64 / target;
    if within(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0) {
        return Some(current);
    }
    let replicas = (new_ratio * all as f64).ceil() as u64;
    if (new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current) {
        return Some(current);
    }
    Some(replicas)
}

/// One step of the HPA for an instance with `current` replicas, whose
/// measured usage is `usage` (one entry per replica; `None`: it reported
/// nothing), at `now_ms`. `history` is the instance's recommendations; the
/// new one is added and those older than both windows dropped.
///
/// - per metric, desired = ceil(replicas * mean utilisation / target),
///   unchanged within the tolerance band; the largest over the metrics;
/// - a metric no replica reported: no scale-down (a scale-up the others
///   ask for still happens); no metric at all: no change;
/// - stabilisation: a scale-up goes to the lowest recommendation within
///   the up window, a scale-down to the highest within the down window
///   (both windows include this step's);
/// - then clamped to [min, max]; a count outside them is brought inside
///   first, whatever the metrics say.
pub fn decide(
    policy: &Policy,
    current: u64,
    usage: &[Option<ResourceUsage>],
    history: &mut Vec<Recommendation>,
    now_ms: u64,
) -> Decision {
    let mut metrics = Vec::new();
    let mut reading = |name, target: Option<f64>, pick: fn(&ResourceUsage) -> Option<f64>| {
        let Some(target) = target else { return };
        let values: Vec<Option<f64>> = usage.iter().map(|u| u.as_ref().and_then(pick)).collect();
        let reported: Vec<f64> = values.iter().flatten().copied().collect();
        let mean = (!reported.is_empty()).then(|| reported.iter().sum::<f64>() / reported.len() as f64);
        metrics.push(MetricReading {
            name,
            target,
            mean,
            reported: reported.len(),
            replicas: values.len(),
            recommends: metric_replicas(current, &values, target, policy.tolerance),
        });
    };
    reading("cpu", policy.cpu_target, |u| u.cpu_percent);
    reading("memory", policy.memory_target, |u| u.memory_percent);

    if current < policy.min || current > policy.max {
        let replicas = current.clamp(policy.min, policy.max);
        let reason = format!("{current} is outside min {} and max {}", policy.min, policy.max);
        return Decision { replicas, recommendation: None, metrics, reason };
    }
    let missing = metrics.iter().filter(|m| m.recommends.is_none()).count();
    let proposal = metrics.iter().filter_map(|m| m.recommends).max();
    let Some(proposal) = proposal.filter(|p| missing == 0 || *p >= current) else {
        let reason = if missing == metrics.len() {
            "no replica reported a metric".to_string()
        } else {
            let names: Vec<&str> =
                metrics.iter().filter(|m| m.recommends.is_none()).map(|m| m.name).collect();
            format!("no replica reported {}: no scale-down without it", names.join(" or "))
        };
        return Decision { replicas: current, recommendation: None, metrics, reason };
    };

    let up_cutoff = now_ms.saturating_sub(policy.scale_up_window_ms);
    let down_cutoff = now_ms.saturating_sub(policy.scale_down_window_ms);
    let mut up = proposal;
    let mut down = proposal;
    for old in history.iter() {
        if old.at_ms > up_cutoff {
            up = up.min(old.replicas);
        }
        if old.at_ms > down_cutoff {
            down = down.max(old.replicas);
        }
    }
    history.retain(|old| old.at_ms > up_cutoff || old.at_ms > down_cutoff);
    history.push(Recommendation { at_ms: now_ms, replicas: proposal });
    let stabilised = current.max(up).min(down);
    let replicas = stabilised.clamp(policy.min, policy.max);

    let driver =
        metrics.iter().filter(|m| m.recommends == Some(proposal)).map(|m| m.name).next().unwrap_or("cpu");
    let reason = if replicas > current {
        format!("{driver} above target")
    } else if replicas < current {
        format!("{driver} below target")
    } else if proposal < current && stabilised == current {
        format!(
            "{driver} below target, held by the {} s scale-down window",
            policy.scale_down_window_ms / 1000
        )
    } else if proposal > current && stabilised == current {
        format!("{driver} above target, held by the {} s scale-up window", policy.scale_up_window_ms / 1000)
    } else if proposal != current {
        format!("recommends {proposal}, kept within min {} and max {}", policy.min, policy.max)
    } else if metrics
        .iter()
        .all(|m| m.mean.is_none_or(|mean| (mean / m.target - 1.0).abs() <= policy.tolerance))
    {
        "within tolerance of the target".to_string()
    } else {
        format!("{driver} recommends the current count")
    };
    Decision { replicas, recommendation: Some(proposal), metrics, reason }
}

/// What a step did for one instance, for the reconcile pass to print.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoscaleEvent {
    /// `service.api`.
    pub instance: String,
    pub from: u64,
    pub to: u64,
    pub metrics: Vec<MetricReading>,
    pub reason: String,
}

impl AutoscaleEvent {
    pub fn changed(&self) -> bool {
        self.from != self.to
    }

    /// The event as one JSON object (for `--json` event lines):
    /// `{ instance, from, to, reason, metrics: [{ name, target, mean,
    /// reported, replicas, recommends }] }`.
    pub fn to_json(&self) -> serde_json::Value {
        let metrics: Vec<serde_json::Value> = self
            .metrics
            .iter()
            .map(|m| {
                serde_json::json!({
                    "name": m.name,
                    "target": m.target,
                    "mean": m.mean,
                    "reported": m.reported,
                    "replicas": m.replicas,
                    "recommends": m.recommends,
                })
            })
            .collect();
        serde_json::json!({
            "instance": self.instance,
            "from": self.from,
            "to": self.to,
            "reason": self.reason,
            "metrics": metrics,
        })
    }
}

impl fmt::Display for AutoscaleEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.to == 1 { "replica" } else { "replicas" };
        if self.changed() {
            write!(f, "{}: {} -> {} {noun}", self.instance, self.from, self.to)?;
        } else {
            write!(f, "{}: {} {noun}", self.instance, self.to)?;
        }
        for metric in &self.metrics {
            match metric.mean {
                Some(mean) => write!(f, ", {} {mean:.0}% (target {}%", metric.name, metric.target)?,
                None => write!(f, ", {} unknown (target {}%", metric.name, metric.target)?,
            }
            if metric.reported < metric.replicas {
                write!(f, ", {} of {} reported", metric.reported, metric.replicas)?;
            }
            f.write_str(")")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// The instances the state holds a policy for: (instance address, the
/// policy or what is wrong with it).
pub fn policies(state: &State) -> Vec<(String, Result<Policy, String>)> {
    state
        .resources
        .iter()
        .filter(|(_, resource)| resource.type_name == POLICY_TYPE)
        .filter_map(|(address, resource)| {
            let policy = Policy::from_attributes(&resource.attributes)?;
            let (instance, _) = address.as_str().rsplit_once('/')?;
            Some((instance.to_string(), policy))
        })
        .collect()
}

/// An autoscaled instance as a plan leaves it, for plan output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoscaledInstance {
    pub instance: String,
    /// The replicas after the plan, and before it (in the state).
    pub replicas: usize,
    pub before: usize,
    pub min: u64,
    pub max: u64,
}

/// The autoscaled instances of a plan (those whose policy it keeps or
/// makes), by instance address, with their replica counts after and before.
pub fn autoscaled(plan: &crate::plan::Plan) -> Vec<AutoscaledInstance> {
    use crate::plan::Action;
    let mut found = Vec::new();
    for change in plan.changes.iter().filter(|c| c.type_name == POLICY_TYPE && c.action != Action::Delete) {
        let Some(Ok(policy)) = Policy::from_attributes(&change.planned) else { continue };
        let Some((instance, _)) = change.address.as_str().rsplit_once('/') else { continue };
        let prefix = format!("{instance}/{}[", policy.replicas);
        let of_instance = || plan.changes.iter().filter(|c| c.address.as_str().starts_with(&prefix));
        found.push(AutoscaledInstance {
            instance: instance.to_string(),
            replicas: of_instance().filter(|c| c.action != Action::Delete).count(),
            before: of_instance().filter(|c| c.prior.is_some()).count(),
            min: policy.min,
            max: policy.max,
        });
    }
    found
}

impl fmt::Display for AutoscaledInstance {
    /// `4 replicas (autoscaled between 2 and 12)`, `2 -> 4 replicas (...)`
    /// when the plan changes the count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.before != self.replicas && self.before > 0 {
            write!(f, "{} -> ", self.before)?;
        }
        let noun = if self.replicas == 1 { "replica" } else { "replicas" };
        write!(f, "{} {noun} (autoscaled between {} and {})", self.replicas, self.min, self.max)
    }
}

/// The replicas of `instance` in the state, in index order.
fn replicas<'s>(
    state: &'s State,
    instance: &str,
    block: &str,
) -> Vec<(&'s ResourceAddress, &'s ResourceState)> {
    let prefix = format!("{instance}/{block}");
    let mut found: Vec<(u64, &ResourceAddress, &ResourceState)> = state
        .resources
        .iter()
        .filter_map(|(address, resource)| {
            let rest = address.as_str().strip_prefix(&prefix)?;
            let index = rest.strip_prefix('[')?.strip_suffix(']')?.parse::<u64>().ok()?;
            Some((index, address, resource))
        })
        .collect();
    found.sort_by_key(|(index, _, _)| *index);
    found.into_iter().map(|(_, address, resource)| (address, resource)).collect()
}

/// One autoscaling step over every instance with a policy in `state`:
/// measures their replicas through `providers` (all at once), decides, and
/// records each count and its history in `state.instances` (the caller
/// holds the lock and saves the state). Returns one event per instance,
/// changed or not. `now_ms`: milliseconds since the Unix epoch (the clock
/// stays with the caller).
pub async fn step(state: &mut State, providers: &ProviderSet, now_ms: u64) -> Vec<AutoscaleEvent> {
    struct Measure {
        instance: String,
        policy: Result<Policy, String>,
        current: u64,
        usage: Vec<Option<ResourceUsage>>,
        /// Why a replica could not be measured, by slot.
        problems: Vec<Option<String>>,
    }
    let mut measures = Vec::new();
    let mut reads = tokio::task::JoinSet::new();
    for (instance, policy) in policies(state) {
        let block = policy.as_ref().map(|p| p.replicas.clone()).unwrap_or_default();
        let found = replicas(state, &instance, &block);
        for (slot, (address, resource)) in found.iter().enumerate() {
            let ctx = OperationContext {
                address: (*address).clone(),
                type_name: resource.type_name.clone(),
                stack: state.stack.clone(),
                target: resource.target.clone(),
                create_token: None,
            };
            let object = ObjectState { id: resource.id.clone(), attributes: resource.attributes.clone() };
            let provider = policy.is_ok().then(|| providers.provider(resource.target.as_deref()).cloned());
            let measure = measures.len();
            reads.spawn(async move {
                let result = match provider {
                    None => Ok(None),
                    Some(Err(why)) => Err(why),
                    Some(Ok(provider)) => provider.usage(&ctx, &object).await.map_err(|e| e.message),
                };
                (measure, slot, result)
            });
        }
        measures.push(Measure {
            instance,
            policy,
            current: found.len() as u64,
            // A replica whose read fails (or panics) stays unmeasured.
            usage: vec![None; found.len()],
            problems: vec![None; found.len()],
        });
    }
    while let Some(joined) = reads.join_next().await {
        let Ok((measure, slot, result)) = joined else { continue };
        let measure = &mut measures[measure];
        match result {
            Ok(usage) => measure.usage[slot] = usage,
            Err(why) => measure.problems[slot] = Some(why),
        }
    }
    let mut events = Vec::new();
    for measure in measures {
        let policy = match measure.policy {
            Ok(policy) => policy,
            Err(why) => {
                events.push(AutoscaleEvent {
                    instance: measure.instance,
                    from: measure.current,
                    to: measure.current,
                    metrics: Vec::new(),
                    reason: format!("not scaled: its autoscale policy is invalid: {why}"),
                });
                continue;
            }
        };
        let record = state.instances.entry(measure.instance.clone()).or_default();
        let mut history = record.autoscale.as_ref().map(|a| a.recommendations.clone()).unwrap_or_default();
        let decision = decide(&policy, measure.current, &measure.usage, &mut history, now_ms);
        record.autoscale = Some(AutoscaleRecord { replicas: decision.replicas, recommendations: history });
        let reason = match measure.problems.into_iter().flatten().next() {
            Some(problem) if decision.metrics.iter().any(|m| m.reported < m.replicas) => {
                format!("{} (a replica could not be measured: {problem})", decision.reason)
            }
            _ => decision.reason,
        };
        events.push(AutoscaleEvent {
            instance: measure.instance,
            from: measure.current,
            to: decision.replicas,
            metrics: decision.metrics,
            reason,
        });
    }
    events
}

#[cfg(test)]
mod tests;
