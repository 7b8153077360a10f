//! Progressive rollouts: a new version of a service carried out as planned
//! steps (docs/rollouts.md).
//!
//! A component body opts an instance in with a built-in `stackc_data`
//! resource named `rollout` whose `input` is `{ rollout = { strategy,
//! steps, gate, timeout, pause, keep, max_error_rate, max_surge,
//! max_unavailable, port, replicas, stable, canary, health, load_balancer }
//! }` (the stdlib's `service` does it on local and aws). This module reads
//! that [`Policy`], parses its durations, computes the [`Step`]s of each
//! strategy, and decides from a plan made as usual which instances a change
//! rolls out ([`detect`]) and which it cannot (a first deployment, no
//! replicas, a port change: a plain create or replace, with the reason).
//! The step loop itself (apply, gate, pause, promote, rollback) is the
//! CLI's (`src/rollout.rs`): it expands each step with
//! `ExpandOptions::rollouts` and plans it with the stable resources held
//! ([`crate::plan::PlanOptions::hold`]).

use crate::plan::{attribute_changes, Action, PathStep, Plan, Reason};
use crate::state::{RolloutRecord, State};
use sha2::{Digest, Sha256};
use stackc_model::graph::ResourceAddress;
use stackc_model::{Sources, Span, Value};

/// The type and name of the resource that carries a policy.
pub const POLICY_TYPE: &str = "stackc_data";
pub const POLICY_NAME: &str = "rollout";

/// How a new version replaces the old one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Batches of the stable replicas replaced in turn, each gated.
    Rolling,
    /// The new version beside the stable one, receiving each step's share.
    Canary,
    /// The whole new set started and gated, then traffic switched at once.
    BlueGreen,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Rolling => "rolling",
            Strategy::Canary => "canary",
            Strategy::BlueGreen => "blue_green",
        }
    }

    pub fn parse(text: &str) -> Option<Strategy> {
        match text {
            "rolling" => Some(Strategy::Rolling),
            "canary" => Some(Strategy::Canary),
            "blue_green" => Some(Strategy::BlueGreen),
            _ => None,
        }
    }
}

/// What happens after a step (but the last).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pause {
    /// Wait this long (milliseconds; 0: go on at once).
    For(u64),
    /// Stop until `stackc rollout promote`.
    UntilPromoted,
}

impl std::fmt::Display for Pause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pause::For(ms) => f.write_str(&format_duration(*ms)),
            Pause::UntilPromoted => f.write_str("until `stackc rollout promote`"),
        }
    }
}

/// Parses a duration: whole numbers with units `ms`, `s`, `m`, `h`, one or
/// more in decreasing order (`"500ms"`, `"30s"`, `"2m"`, `"1h"`,
/// `"1m30s"`). Milliseconds; `Err` says what is wrong.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let bad = |why: &str| {
        Err(format!("`{text}` is not a duration ({why}; e.g. \"30s\", \"2m\", \"1m30s\", \"500ms\")"))
    };
    if text.is_empty() {
        return bad("it is empty");
    }
    let mut total: u64 = 0;
    let mut rest = text;
    let mut last_rank = usize::MAX;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return bad("each part is a whole number followed by a unit");
        }
        let Ok(number) = rest[..digits].parse::<u64>() else { return bad("the number is too large") };
        rest = &rest[digits..];
        let units: [(&str, u64); 4] = [("h", 3_600_000), ("ms", 1), ("m", 60_000), ("s", 1000)];
        let Some(&(unit, factor)) = units.iter().find(|(unit, _)| rest.starts_with(unit)) else {
            return bad("the unit is missing or not one of ms, s, m, h");
        };
        // Larger units first: h, m, s, ms.
        let order = match unit {
            "h" => 0,
            "m" => 1,
            "s" => 2,
            _ => 3,
        };
        if last_rank != usize::MAX && order <= last_rank {
            return bad("the units must go from larger to smaller, each once");
        }
        last_rank = order;
        rest = &rest[unit.len()..];
        let Some(part) = number.checked_mul(factor) else { return bad("it is too long") };
        let Some(sum) = total.checked_add(part) else { return bad("it is too long") };
        total = sum;
    }
    Ok(total)
}

/// A duration as people write it: `30s`, `2m`, `1m30s`, `500ms`, `0s`.
pub fn format_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s"), (milli, "ms")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    out
}

/// An instance's rollout policy, as its component body set it.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub strategy: Strategy,
    /// canary: the traffic percentages, increasing, the last 100.
    pub steps: Vec<u32>,
    pub gate_ms: u64,
    pub timeout_ms: u64,
    pub pause: Pause,
    /// blue_green: how long the old set is kept; `None`: until the next apply.
    pub keep_ms: Option<u64>,
    pub max_error_rate: Option<f64>,
    /// rolling: as written (`"25%"`, `"1"`); `None`: 25%.
    pub max_surge: Option<String>,
    /// rolling: as written; `None`: 25%.
    pub max_unavailable: Option<String>,
    pub port: Option<f64>,
    /// The stable replica count.
    pub replicas: u64,
    /// Resource blocks (relative to the instance) of the stable version.
    pub stable: Vec<String>,
    /// Resource blocks of the new version run during the steps.
    pub canary: Vec<String>,
    /// Resource blocks whose health gates a step.
    pub health: Vec<String>,
    pub load_balancer: Option<String>,
}

/// A policy that cannot be used: the field and why.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyError {
    /// The `rollout` field at fault (`gate`), when one is.
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "rollout.{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn field_error(field: &str, message: impl Into<String>) -> PolicyError {
    PolicyError { field: Some(field.to_string()), message: message.into() }
}

impl Policy {
    /// The policy in a `stackc_data` resource's attributes (`input.rollout`),
    /// `None` when it carries none.
    pub fn from_attributes(attributes: &Value) -> Option<Result<Policy, PolicyError>> {
        let policy = attributes.get_path(&["input", "rollout"])?;
        if matches!(policy, Value::Null) {
            return None;
        }
        Some(Policy::parse(policy))
    }

    fn parse(policy: &Value) -> Result<Policy, PolicyError> {
        let get = |name: &str| policy.get_path(&[name]).filter(|v| !matches!(v, Value::Null));
        let string = |name: &str| -> Result<Option<String>, PolicyError> {
            match get(name) {
                None => Ok(None),
                Some(v) => v
                    .as_str()
                    .map(|s| Some(s.to_string()))
                    .ok_or_else(|| field_error(name, "is not a string")),
            }
        };
        let duration = |name: &str, default: &str| -> Result<u64, PolicyError> {
            let text = string(name)?.unwrap_or_else(|| default.to_string());
            parse_duration(&text).map_err(|why| field_error(name, why))
        };
        let blocks = |name: &str| -> Result<Vec<String>, PolicyError> {
            match get(name) {
                None => Ok(Vec::new()),
                Some(v) => v
                    .as_list()
                    .ok_or_else(|| field_error(name, "is not a list of resource blocks"))?
                    .iter()
                    .map(|b| {
                        b.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| field_error(name, "is not a list of resource blocks"))
                    })
                    .collect(),
            }
        };
        let strategy_text = string("strategy")?.unwrap_or_else(|| "rolling".into());
        let strategy = Strategy::parse(&strategy_text).ok_or_else(|| {
            field_error(
                "strategy",
                format!("`{strategy_text}` is not one of \"rolling\", \"canary\", \"blue_green\""),
            )
        })?;
        let mut steps = Vec::new();
        if let Some(list) = get("steps") {
            let items = list.as_list().ok_or_else(|| field_error("steps", "is not a list of percentages"))?;
            for item in items {
                match item.as_f64() {
                    Some(n) if n.fract() == 0.0 && (1.0..=100.0).contains(&n) => steps.push(n as u32),
                    _ => return Err(field_error("steps", "are whole percentages from 1 to 100")),
                }
            }
        }
        if strategy == Strategy::Canary {
            if steps.is_empty() {
                steps = vec![10, 50, 100];
            }
            if steps.windows(2).any(|w| w[1] <= w[0]) || steps.last() != Some(&100) {
                return Err(field_error("steps", "must increase and end with 100 (e.g. [10, 50, 100])"));
            }
        }
        let pause = match string("pause")?.as_deref() {
            None => Pause::For(0),
            Some("promote") => Pause::UntilPromoted,
            Some(text) => Pause::For(
                parse_duration(text).map_err(|why| field_error("pause", format!("{why}, or \"promote\"")))?,
            ),
        };
        let keep_ms = match string("keep")? {
            None => None,
            Some(text) => Some(parse_duration(&text).map_err(|why| field_error("keep", why))?),
        };
        let max_error_rate = match get("max_error_rate") {
            None => None,
            Some(v) => match v.as_f64() {
                Some(n) if (0.0..=100.0).contains(&n) => Some(n),
                _ => return Err(field_error("max_error_rate", "is a percentage from 0 to 100")),
            },
        };
        let replicas = match get("replicas").and_then(Value::as_f64) {
            Some(n) if n >= 0.0 && n.fract() == 0.0 => n as u64,
            _ => return Err(field_error("replicas", "is not a whole number of replicas")),
        };
        let policy = Policy {
            strategy,
            steps,
            gate_ms: duration("gate", "30s")?,
            timeout_ms: duration("timeout", "300s")?,
            pause,
            keep_ms,
            max_error_rate,
            max_surge: string("max_surge")?,
            max_unavailable: string("max_unavailable")?,
            port: get("port").and_then(Value::as_f64),
            replicas,
            stable: blocks("stable")?,
            canary: blocks("canary")?,
            health: blocks("health")?,
            load_balancer: string("load_balancer")?,
        };
        if policy.stable.is_empty() {
            return Err(field_error("stable", "names no resource block of the stable version"));
        }
        // Checks the rolling batches (a bad max_surge is reported here).
        policy.steps()?;
        Ok(policy)
    }

    /// The steps of the strategy, in order (promote and finish not included).
    pub fn steps(&self) -> Result<Vec<Step>, PolicyError> {
        let step = |number: usize, weight: u32, canary: u64, batch: Vec<u64>| Step {
            number,
            weight,
            canary,
            batch,
            gate_ms: self.gate_ms,
            timeout_ms: self.timeout_ms,
            pause: self.pause,
        };
        let n = self.replicas;
        Ok(match self.strategy {
            Strategy::Canary => self
                .steps
                .iter()
                .enumerate()
                .map(|(i, &w)| step(i + 1, w, canary_count(n, w), Vec::new()))
                .collect(),
            Strategy::BlueGreen => vec![step(1, 0, n, Vec::new()), step(2, 100, n, Vec::new())],
            Strategy::Rolling => {
                let size = rolling_batch(n, self.max_surge.as_deref(), self.max_unavailable.as_deref())?;
                let indices: Vec<u64> = (0..n).collect();
                indices
                    .chunks(size.max(1) as usize)
                    .enumerate()
                    .map(|(i, batch)| step(i + 1, 0, 0, batch.to_vec()))
                    .collect()
            }
        })
    }

    /// The addresses (patterns as `PlanOptions::hold` matches them) of
    /// the stable resources of `instance`.
    pub fn stable_patterns(&self, instance: &str) -> Vec<String> {
        self.stable.iter().map(|block| format!("{instance}/{block}")).collect()
    }

    /// Whether `address` is one of `blocks` of `instance` (any index).
    pub fn is_of(instance: &str, blocks: &[String], address: &ResourceAddress) -> bool {
        blocks.iter().any(|block| {
            let pattern = format!("{instance}/{block}");
            address.as_str() == pattern
                || address.as_str().strip_prefix(pattern.as_str()).is_some_and(|rest| rest.starts_with('['))
        })
    }
}

/// canary: how many replicas of the new version a step of weight `w` runs
/// beside `replicas` stable ones: max(1, ceil(replicas * w / 100)).
pub fn canary_count(replicas: u64, weight: u32) -> u64 {
    (replicas * weight as u64).div_ceil(100).max(1)
}

/// A `max_surge` / `max_unavailable` value of `replicas`: `"25%"` or `"1"`;
/// percentages round up for surge, down for unavailable (as Kubernetes).
fn scaled(field: &str, text: &str, replicas: u64, round_up: bool) -> Result<u64, PolicyError> {
    let bad = || field_error(field, format!("`{text}` is not a count or a percentage (\"1\", \"25%\")"));
    match text.strip_suffix('%') {
        Some(percent) => {
            let p: u64 = percent.trim().parse().map_err(|_| bad())?;
            if p > 100 {
                return Err(field_error(field, format!("`{text}` is more than 100%")));
            }
            Ok(if round_up { (replicas * p).div_ceil(100) } else { replicas * p / 100 })
        }
        None => text.trim().parse().map_err(|_| bad()),
    }
}

/// rolling: how many stable replicas are replaced at once: surge plus
/// unavailable (Kubernetes: at most replicas + surge run, at least
/// replicas - unavailable are available). Both 0 is refused.
pub fn rolling_batch(
    replicas: u64,
    max_surge: Option<&str>,
    max_unavailable: Option<&str>,
) -> Result<u64, PolicyError> {
    let surge = scaled("max_surge", max_surge.unwrap_or("25%"), replicas, true)?;
    let unavailable = scaled("max_unavailable", max_unavailable.unwrap_or("25%"), replicas, false)?;
    if surge == 0 && unavailable == 0 {
        if max_surge.is_none() && max_unavailable.is_none() {
            // Default 25%/25% of very few replicas: one at a time.
            return Ok(1);
        }
        return Err(field_error(
            "max_surge",
            format!(
                "max_surge ({}) and max_unavailable ({}) are both 0 for {replicas} replicas: no replica could ever be replaced",
                max_surge.unwrap_or("25%"),
                max_unavailable.unwrap_or("25%")
            ),
        ));
    }
    Ok((surge + unavailable).max(1))
}

/// One step of a rollout.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// From 1.
    pub number: usize,
    /// canary, blue_green: the share of requests the new version receives.
    pub weight: u32,
    /// canary, blue_green: replicas of the new version beside the stable ones.
    pub canary: u64,
    /// rolling: the stable replicas (indices) this step replaces.
    pub batch: Vec<u64>,
    pub gate_ms: u64,
    pub timeout_ms: u64,
    pub pause: Pause,
}

impl Step {
    /// What the step does, for people.
    pub fn describe(&self, strategy: Strategy, replicas: u64) -> String {
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        match strategy {
            Strategy::Rolling => {
                let list = self.batch.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
                format!(
                    "replace replica{} {list} of {replicas} with the new version",
                    plural(self.batch.len() as u64)
                )
            }
            Strategy::BlueGreen if self.weight == 0 => {
                format!("start the new set ({} replica{}), no traffic yet", self.canary, plural(self.canary))
            }
            Strategy::BlueGreen => "switch all traffic to the new set".to_string(),
            Strategy::Canary => format!(
                "{}% of requests to the new version ({} replica{} beside {replicas})",
                self.weight,
                self.canary,
                plural(self.canary)
            ),
        }
    }
}

/// What the plan does with one instance that has a rollout policy and whose
/// stable resources change.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedRollout {
    /// The instance address (`service.api`).
    pub instance: String,
    pub strategy: Strategy,
    /// Why it rolls out (`image` changed), or why not (plain).
    pub reason: String,
    /// False: rolled out in `steps`; true: not a rollout but a plain
    /// create or replace, `reason` says why.
    pub plain: bool,
    pub steps: Vec<Step>,
    /// The step the plan applies (0-based): 0 for a new rollout, the
    /// recorded one for a resumed rollout.
    pub from_step: usize,
    /// The stable replica count.
    pub replicas: u64,
    /// The hash of the new version's configuration ([`RolloutRecord::version`]).
    pub version: String,
    /// The user's `rollout` block (or the instance block).
    pub provenance: Option<Span>,
    /// The recorded status of a rollout this plan goes on with (`paused`,
    /// `kept`, `applying`), `None` for a new one.
    pub status: Option<String>,
}

/// Rollout policies of a plan's instances, from their descriptors as
/// planned (`Err`: a policy that cannot be used, with the descriptor's
/// provenance).
pub fn policies(plan: &Plan) -> Vec<(String, Result<Policy, PolicyError>, Vec<Span>)> {
    let mut found = Vec::new();
    for change in
        plan.changes.iter().filter(|c| is_descriptor(&c.address, &c.type_name) && c.action != Action::Delete)
    {
        let config = if matches!(change.config, Value::Null) { &change.planned } else { &change.config };
        let Some(policy) = Policy::from_attributes(config) else { continue };
        let Some(instance) = instance_of(&change.address) else { continue };
        found.push((instance.to_string(), policy, change.provenance.clone()));
    }
    found
}

/// The policies recorded in the state (as last applied), by instance.
pub fn recorded_policies(state: &State) -> Vec<(String, Policy)> {
    state
        .resources
        .iter()
        .filter(|(address, r)| is_descriptor(address, &r.type_name))
        .filter_map(|(address, r)| {
            let policy = Policy::from_attributes(&r.attributes)?.ok()?;
            Some((instance_of(address)?.to_string(), policy))
        })
        .collect()
}

/// What every command but `stackc apply` holds: the stable resources of
/// each instance with a rollout record (as the state's descriptor names
/// them), so a paused or kept rollout keeps its step and a rolled-back
/// version is not deployed behind the user's back.
pub fn recorded_holds(state: &State) -> Vec<String> {
    let policies = recorded_policies(state);
    state
        .rollouts()
        .flat_map(|(instance, _)| {
            policies
                .iter()
                .filter(|(i, _)| i == instance)
                .flat_map(|(i, p)| p.stable_patterns(i))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn is_descriptor(address: &ResourceAddress, type_name: &str) -> bool {
    type_name == POLICY_TYPE
        && address.as_str().rsplit_once('/').is_some_and(|(_, block)| {
            block == format!("{POLICY_TYPE}.{POLICY_NAME}")
                || block.starts_with(&format!("{POLICY_TYPE}.{POLICY_NAME}["))
        })
}

/// The instance an address belongs to (`service.api` of
/// `service.api/docker_container.replica[0]`).
pub fn instance_of(address: &ResourceAddress) -> Option<&str> {
    address.as_str().rsplit_once('/').map(|(instance, _)| instance)
}

/// The version hash of `instance`'s stable resources as `plan` configures them.
pub fn version_of(plan: &Plan, instance: &str, policy: &Policy) -> String {
    let mut hasher = Sha256::new();
    for change in plan.changes.iter().filter(|c| Policy::is_of(instance, &policy.stable, &c.address)) {
        if change.action == Action::Delete {
            continue;
        }
        hasher.update(change.address.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(change.config.unmarked().to_json().to_string().as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A problem with a rollout policy, for the CLI to show at the source.
#[derive(Clone, Debug, PartialEq)]
pub struct RolloutProblem {
    pub instance: String,
    pub error: PolicyError,
    /// The descriptor's provenance (the user's instance block first).
    pub provenance: Vec<Span>,
}

/// Which instances of `plan` (made as usual, nothing held) a change rolls
/// out, and which get a plain plan and why. `state` gives the recorded
/// rollouts (a record of the same version resumes at its step) and the
/// descriptor as last applied (its port).
pub fn detect(plan: &Plan, state: &State) -> (Vec<PlannedRollout>, Vec<RolloutProblem>) {
    let mut rollouts = Vec::new();
    let mut problems = Vec::new();
    if plan.options.destroy {
        return (rollouts, problems);
    }
    let recorded = recorded_policies(state);
    for (instance, policy, provenance) in policies(plan) {
        let policy = match policy {
            Ok(policy) => policy,
            Err(error) => {
                problems.push(RolloutProblem { instance, error, provenance });
                continue;
            }
        };
        let steps = match policy.steps() {
            Ok(steps) => steps,
            Err(error) => {
                problems.push(RolloutProblem { instance, error, provenance });
                continue;
            }
        };
        let stable: Vec<_> =
            plan.changes.iter().filter(|c| Policy::is_of(&instance, &policy.stable, &c.address)).collect();
        let in_state = stable.iter().any(|c| c.prior.is_some());
        let rolled = |c: &&&crate::plan::ResourceChange| {
            matches!(c.action, Action::Update | Action::Replace)
                && !matches!(c.reason, Some(Reason::Tainted) | Some(Reason::DeletedOutside))
                && c.prior.is_some()
        };
        let updated: Vec<_> = stable.iter().filter(rolled).collect();
        let version = version_of(plan, &instance, &policy);
        let planned = |plain: bool, reason: String| PlannedRollout {
            instance: instance.clone(),
            strategy: policy.strategy,
            reason,
            plain,
            steps: if plain { Vec::new() } else { steps.clone() },
            from_step: 0,
            replicas: policy.replicas,
            version: version.clone(),
            provenance: provenance.first().copied(),
            status: None,
        };
        if !in_state {
            if stable.iter().any(|c| c.action == Action::Create) {
                rollouts.push(planned(true, "a first deployment: no replica of the service runs yet".into()));
            }
            continue;
        }
        if updated.is_empty() {
            continue;
        }
        if policy.replicas == 0 {
            rollouts.push(planned(true, "it runs 0 replicas: there is no traffic to move".into()));
            continue;
        }
        let recorded_port = recorded.iter().find(|(i, _)| *i == instance).map(|(_, p)| p.port);
        if let Some(before) = recorded_port {
            if before != policy.port {
                let show = |p: Option<f64>| p.map_or("none".to_string(), |p| p.to_string());
                rollouts.push(planned(
                    true,
                    format!(
                        "the port changes ({} -> {}): both versions must answer on one port during a rollout",
                        show(before),
                        show(policy.port)
                    ),
                ));
                continue;
            }
        }
        let mut changed: Vec<String> = Vec::new();
        for change in &updated {
            let Some(prior) = &change.prior else { continue };
            let after = if change.action == Action::Update { &change.planned } else { &change.config };
            for difference in attribute_changes(&prior.attributes, after) {
                let Some(PathStep::Key(top)) = difference.path.first() else { continue };
                if !changed.contains(top) && change.config.get_path(&[top]).is_some() {
                    changed.push(top.clone());
                }
            }
        }
        let what = if changed.is_empty() {
            "the new version's configuration changed".to_string()
        } else {
            format!("{} changed", changed.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))
        };
        let mut rollout = planned(false, what);
        if let Some(record) = state.instances.get(&instance).and_then(|i| i.rollout.as_ref()) {
            if record.version == version && record.status.in_progress() {
                rollout.from_step = record.step.min(rollout.steps.len());
                rollout.status = Some(record.status.as_str().to_string());
            }
        }
        rollouts.push(rollout);
    }
    (rollouts, problems)
}

/// The record a step writes before it is applied.
pub fn record_for(
    rollout: &PlannedRollout,
    step: usize,
    status: crate::state::RolloutStatus,
    started: &str,
    now: &str,
) -> RolloutRecord {
    let (weight, canary) = match rollout.steps.get(step) {
        Some(s) => (s.weight, s.canary),
        // promote: all traffic to the canary while the stable set is replaced.
        None => (100, rollout.steps.last().map_or(rollout.replicas, |s| s.canary)),
    };
    RolloutRecord {
        strategy: rollout.strategy.as_str().to_string(),
        version: rollout.version.clone(),
        step,
        steps: rollout.steps.len(),
        weight,
        canary,
        status,
        started: started.to_string(),
        updated: now.to_string(),
        reason: None,
        kept_until_ms: None,
    }
}

/// The span of the `rollout` block (or `rollout = ...` attribute) written
/// directly inside the instance block at `instance`; `None` when the
/// instance does not write one there.
pub fn rollout_block_span(sources: &Sources, instance: Span) -> Option<Span> {
    if instance.file.0 as usize >= sources.len() {
        return None;
    }
    let text = sources.get(instance.file).text.get(instance.start as usize..instance.end as usize)?;
    let mut offset = 0;
    let mut depth: i32 = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let rest = trimmed.strip_prefix("rollout").map(str::trim_start);
        if depth == 1
            && rest.is_some_and(|r| r.starts_with('{') || (r.starts_with('=') && !r.starts_with("==")))
        {
            let start = offset + (line.len() - trimmed.len());
            // Through the matching closing brace (strings skipped).
            let mut level = 0i32;
            let mut in_string = false;
            let mut escaped = false;
            for (i, c) in text[start..].char_indices() {
                if in_string {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => in_string = false,
                        _ => {}
                    }
                    continue;
                }
                match c {
                    '"' => in_string = true,
                    '{' => level += 1,
                    '}' => {
                        level -= 1;
                        if level == 0 {
                            let end = start + i + 1;
                            return Some(Span::new(
                                instance.file,
                                instance.start as usize + start..instance.start as usize + end,
                            ));
                        }
                    }
                    '\n' if level == 0 => {
                        let end = start + i;
                        return Some(Span::new(
                            instance.file,
                            instance.start as usize + start..instance.start as usize + end,
                        ));
                    }
                    _ => {}
                }
            }
            return None;
        }
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests;
