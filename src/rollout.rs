//! Rollouts as planned steps: what `stackc plan` shows and the step loop
//! `stackc apply` (and `stackc rollout promote|abort|undo`) carries out.
//!
//! Planning: the plan is made as usual, [`stackc_planner::rollout::detect`]
//! says which instances roll out (and which get a plain plan, and why); for
//! those the stack is expanded again with the step the rollout stands at
//! (`CheckedStack::rollouts`, which component bodies read as
//! `self.rollout`) and planned with the stable resources held
//! (`PlanOptions::hold`), so the plan shown and saved is the first step's.
//!
//! The loop, per instance (one at a time): for each step the state records
//! where the rollout stands *before* the step's apply (a kill -9 leaves a
//! record that matches the objects or is one step ahead), the step is
//! expanded, planned with the stable version held and applied through the
//! normal apply (journal, intents, progress); then gated on the health of
//! the new replicas (`Provider::health`, continuously healthy for `gate`
//! within `timeout`) and paused. After the last step the stable resources
//! take the new version (promote: all traffic on the canary meanwhile),
//! are gated in turn, and the rollout finishes (traffic back to the stable
//! resources, canary removed, record cleared). A failed gate rolls back:
//! the stable version is held, the canary removed, traffic restored; the
//! record says `rolled_back` with the health output, and the command fails
//! with a diagnostic at the user's `rollout` block.

use crate::cmd::apply::{carry_out_recording, report_problems, Display};
use crate::cmd::plan::make_plan;
use crate::pipeline::Expand as _;
use crate::progress::Stream;
use crate::render::{Format, HumanStyle};
use crate::session::Session;
use indexmap::IndexMap;
use stackc_compiler::expand::RolloutStep;
use stackc_compiler::graph::ResourceAddress;
use stackc_compiler::{Code, Diagnostic, Sources, Span};
use stackc_planner::plan::{Plan, PlanOptions};
use stackc_planner::planning::{operation_context, PlanOutcome};
use stackc_planner::rollout::{self as planned, format_duration, Pause, PlannedRollout, Policy, Strategy};
use stackc_planner::state::{AppliedConfiguration, RolloutRecord, RolloutStatus};
use stackc_providers::{HealthStatus, ObjectState};
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Makes the plan of an open session with its rollouts: the plan as usual,
/// then, when an instance rolls out, the plan of the step it stands at
/// (held stable resources). Problems are written to `err`.
pub fn plan(
    session: &mut Session,
    options: PlanOptions,
    runtime: &tokio::runtime::Runtime,
    err: &mut dyn Write,
) -> Result<PlanOutcome, ExitCode> {
    let mut first = make_plan(session, options.clone(), runtime, err)?;
    if options.destroy {
        return Ok(first);
    }
    let (mut rollouts, problems) = planned::detect(&first.plan, &session.state);
    if !problems.is_empty() {
        for problem in &problems {
            let span = problem.provenance.first().copied();
            emit(
                Code::RolloutPolicyInvalid,
                session.sources(),
                span,
                &problem.error.field,
                &problem.instance,
                &problem.error.to_string(),
                err,
            );
        }
        let _ = writeln!(err, "error: the plan could not be made (a rollout policy cannot be used)");
        return Err(ExitCode::from(1));
    }
    for rollout in &mut rollouts {
        rollout.provenance = rollout
            .provenance
            .map(|span| planned::rollout_block_span(session.sources(), span).unwrap_or(span));
    }
    let policies = policies_of(&first.plan);
    let (steps, hold) = setup(&rollouts, &policies, None);
    if steps == session.checked.rollouts && hold.is_empty() {
        first.plan.rollouts = rollouts;
        return Ok(first);
    }
    session.checked.rollouts = steps;
    regraph(session, err)?;
    let mut outcome = make_plan(session, PlanOptions { hold, ..options }, runtime, err)?;
    outcome.plan.rollouts = rollouts;
    Ok(outcome)
}

fn policies_of(plan: &Plan) -> IndexMap<String, Policy> {
    planned::policies(plan)
        .into_iter()
        .filter_map(|(instance, policy, _)| Some((instance, policy.ok()?)))
        .collect()
}

/// Where the rollouts stand for the next plan: the expansion steps and the
/// held resources. The first rollout that is not plain is the current one
/// (at its `from_step`, or `at` when given); the others wait with their
/// stable resources held.
fn setup(
    rollouts: &[PlannedRollout],
    policies: &IndexMap<String, Policy>,
    at: Option<(&str, Phase)>,
) -> (IndexMap<String, RolloutStep>, Vec<String>) {
    let mut steps = IndexMap::new();
    let mut hold = Vec::new();
    let mut current = true;
    for rollout in rollouts.iter().filter(|r| !r.plain) {
        let Some(policy) = policies.get(&rollout.instance) else { continue };
        let phase = match at {
            Some((instance, phase)) if instance == rollout.instance => phase,
            Some(_) => Phase::Waiting,
            None if current => Phase::Step(rollout.from_step),
            None => Phase::Waiting,
        };
        if phase != Phase::Waiting {
            current = false;
        }
        let stable = policy.stable_patterns(&rollout.instance);
        match phase {
            Phase::Waiting | Phase::Rollback => hold.extend(stable),
            Phase::Finish => {}
            Phase::Step(k) if rollout.strategy == Strategy::Rolling => {
                let done: Vec<u64> = rollout.steps.iter().take(k + 1).flat_map(|s| s.batch.clone()).collect();
                for block in &policy.stable {
                    for i in (0..rollout.replicas).filter(|i| !done.contains(i)) {
                        hold.push(format!("{}/{block}[{i}]", rollout.instance));
                    }
                }
            }
            Phase::Step(k) => match rollout.steps.get(k) {
                Some(step) => {
                    steps.insert(
                        rollout.instance.clone(),
                        RolloutStep { weight: step.weight, canary: step.canary },
                    );
                    hold.extend(stable);
                }
                None => {
                    let canary = rollout.steps.last().map_or(rollout.replicas, |s| s.canary);
                    steps.insert(rollout.instance.clone(), RolloutStep { weight: 100, canary });
                }
            },
        }
    }
    (steps, hold)
}

/// Where one instance's rollout is, for [`setup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Another instance rolls out first: stable held, no step.
    Waiting,
    /// Step k (0-based); `steps.len()`: promote.
    Step(usize),
    /// No step, nothing held: the stable resources carry the new version.
    Finish,
    /// No step, stable held: back to the old version.
    Rollback,
}

/// Expands the session's stack again with `session.checked.rollouts`.
fn regraph(session: &mut Session, err: &mut dyn Write) -> Result<(), ExitCode> {
    session.graph = session.checked.expand(None, Format::Human, err).map_err(|failed| failed.exit)?.graph;
    Ok(())
}

/// The time now, RFC 3339 (UTC).
fn now() -> String {
    stackc_provider_builtin::rfc3339(std::time::SystemTime::now())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// What the loop is asked to do with a rollout that stands paused or kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    /// `stackc apply`: go on; a rollout paused until promoted stays so.
    Apply,
    /// `stackc rollout promote`: go past the pause (or the kept set).
    Promote,
}

/// Carries out `plan` (made by [`plan`]; its changes are the current
/// rollout's step) and every step after it. `Ok` when everything finished,
/// or a rollout is paused or kept (the state says so).
pub fn carry_out(
    session: &mut Session,
    first: &Plan,
    parallelism: u32,
    applied: Option<AppliedConfiguration>,
    intent: Intent,
    runtime: &tokio::runtime::Runtime,
    err: &mut dyn Write,
) -> Result<(), ExitCode> {
    let active: Vec<PlannedRollout> = first.rollouts.iter().filter(|r| !r.plain).cloned().collect();
    if active.is_empty() {
        let report = apply_step(session, first, parallelism, applied.clone(), runtime, err)?;
        if !report {
            return Err(ExitCode::from(1));
        }
        clear_stale(session, &[], err)?;
        return Ok(());
    }
    session.signals.watch();
    let mut pending = Some(first.clone());
    let policies = policies_of(first);
    for rollout in &active {
        let Some(policy) = policies.get(&rollout.instance).cloned() else { continue };
        let outcome = roll(
            session,
            rollout,
            &policy,
            &active,
            &policies,
            pending.take(),
            parallelism,
            &applied,
            intent,
            runtime,
            err,
        )?;
        if outcome == Rolled::Stopped {
            return Ok(());
        }
    }
    let instances: Vec<&str> = active.iter().map(|r| r.instance.as_str()).collect();
    clear_stale(session, &instances, err)
}

/// How one instance's rollout ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rolled {
    Finished,
    /// Paused or kept: the loop stops here, successfully.
    Stopped,
}

/// Records of instances that no longer roll out (their version reverted,
/// or their rollout block gone) are dropped after a successful apply.
fn clear_stale(session: &mut Session, active: &[&str], err: &mut dyn Write) -> Result<(), ExitCode> {
    let stale: Vec<String> =
        session.state.rollouts().map(|(i, _)| i.clone()).filter(|i| !active.contains(&i.as_str())).collect();
    if stale.is_empty() {
        return Ok(());
    }
    for instance in &stale {
        session.state.set_rollout(instance, None);
    }
    save(session, err)
}

/// Writes the state (the rollout records) through the backend.
fn save(session: &mut Session, err: &mut dyn Write) -> Result<(), ExitCode> {
    let Some(guard) = session.guard.as_ref() else {
        let _ = writeln!(err, "error: a rollout needs the state lock; run it without --lock=false");
        return Err(ExitCode::from(1));
    };
    session.backend.write(guard, &mut session.state).map_err(|e| {
        let _ = writeln!(err, "error: {e}");
        ExitCode::from(1)
    })
}

fn record(
    session: &mut Session,
    instance: &str,
    record: RolloutRecord,
    err: &mut dyn Write,
) -> Result<(), ExitCode> {
    session.state.set_rollout(instance, Some(record));
    save(session, err)
}

/// Applies one plan with the normal apply; `Ok(false)` when an operation
/// failed (reported); `Err(130)` when a signal stopped it (the record stays).
fn apply_step(
    session: &mut Session,
    plan: &Plan,
    parallelism: u32,
    applied: Option<AppliedConfiguration>,
    runtime: &tokio::runtime::Runtime,
    err: &mut dyn Write,
) -> Result<bool, ExitCode> {
    if !plan.has_changes() && plan.refreshed.is_empty() && session.recovered == 0 {
        return Ok(true);
    }
    let report = carry_out_recording(
        session,
        plan,
        parallelism,
        Display::Progress(Stream::Stdout),
        applied,
        runtime,
        err,
    )?;
    if !report.succeeded() && (report.cancelled || session.signals.stop_requested()) {
        // Ctrl-C: the running operations finished and are saved; the record
        // stays at this step.
        report_problems(session, &report, err);
        let _ = writeln!(
            err,
            "stopped during a rollout step; the state records where it stands (`stackc rollout status`). Run \
             `stackc apply` to go on, or `stackc rollout abort` to roll back."
        );
        return Err(ExitCode::from(130));
    }
    if !report.succeeded() {
        report_problems(session, &report, err);
    } else {
        session.recovered = 0;
    }
    Ok(report.succeeded())
}

/// Plans the rollout of `rollout` at `phase` (expanded with its step, the
/// right resources held).
fn plan_phase(
    session: &mut Session,
    all: &[PlannedRollout],
    rollout: &PlannedRollout,
    policies: &IndexMap<String, Policy>,
    phase: Phase,
    runtime: &tokio::runtime::Runtime,
    err: &mut dyn Write,
) -> Result<Plan, ExitCode> {
    let (steps, hold) = setup(all, policies, Some((&rollout.instance, phase)));
    session.checked.rollouts = steps;
    regraph(session, err)?;
    let outcome = make_plan(session, PlanOptions { hold, ..PlanOptions::new() }, runtime, err)?;
    Ok(outcome.plan)
}

#[allow(clippy::too_many_arguments)]
fn roll(
    session: &mut Session,
    rollout: &PlannedRollout,
    policy: &Policy,
    all: &[PlannedRollout],
    all_policies: &IndexMap<String, Policy>,
    mut pending: Option<Plan>,
    parallelism: u32,
    applied: &Option<AppliedConfiguration>,
    intent: Intent,
    runtime: &tokio::runtime::Runtime,
    err: &mut dyn Write,
) -> Result<Rolled, ExitCode> {
    let instance = rollout.instance.clone();
    // Every rollout's policy: those waiting keep their stable objects held.
    let policies = all_policies;
    // A failed step, promote or gate rolls back (reported as a failure).
    let fail = |session: &mut Session, err: &mut dyn Write, reason: &str, detail: Option<String>| {
        rollback(session, rollout, policy, all, policies, reason, detail, parallelism, runtime, err, true)
            .map(|_| Rolled::Finished)
    };
    let mut out = std::io::stdout();
    let existing = session
        .state
        .instances
        .get(&instance)
        .and_then(|i| i.rollout.clone())
        .filter(|r| r.version == rollout.version && r.status.in_progress());
    let started = existing.as_ref().map_or_else(now, |r| r.started.clone());
    let resumed = existing.as_ref().map(|r| r.status);
    let total = rollout.steps.len();
    let mut k = rollout.from_step;
    if existing.is_none() {
        let _ = writeln!(
            out,
            "\n{instance}: {} rollout of the new version ({}), {total} step{}",
            rollout.strategy.as_str(),
            rollout.reason,
            if total == 1 { "" } else { "s" }
        );
    } else if let Some(record) = &existing {
        let _ = writeln!(
            out,
            "\n{instance}: the rollout stands at step {}/{total} ({})",
            (record.step + 1).min(total),
            record.status.as_str()
        );
    }
    while k < total {
        let step = rollout.steps[k].clone();
        let resuming = k == rollout.from_step && resumed.is_some();
        let stays_paused = resuming && resumed == Some(RolloutStatus::Paused) && intent == Intent::Apply;
        let mut entry = planned::record_for(rollout, k, RolloutStatus::Applying, &started, &now());
        if stays_paused {
            entry.status = RolloutStatus::Paused;
        }
        record(session, &instance, entry.clone(), err)?;
        let plan = match pending.take() {
            Some(plan) => plan,
            None => plan_phase(session, all, rollout, policies, Phase::Step(k), runtime, err)?,
        };
        let _ = writeln!(
            out,
            "{instance}: step {}/{total}: {}",
            k + 1,
            step.describe(rollout.strategy, rollout.replicas)
        );
        let _ = out.flush();
        if !apply_step(session, &plan, parallelism, applied.clone(), runtime, err)? {
            let reason = format!("step {}/{total}'s apply failed", k + 1);
            return fail(session, err, &reason, None);
        }
        if interrupted(session, &instance, k, total, err) {
            return Err(ExitCode::from(130));
        }
        if stays_paused {
            let _ = writeln!(
                out,
                "{instance}: paused after step {}/{total}; run `stackc rollout promote` to go on, `stackc rollout abort` to roll back.",
                k + 1
            );
            return Ok(Rolled::Stopped);
        }
        let gated = matches!(resumed, Some(RolloutStatus::Paused) | Some(RolloutStatus::Kept)) && resuming;
        if !gated {
            let blocks = gate_blocks(rollout, policy);
            let only = (rollout.strategy == Strategy::Rolling).then_some(step.batch.as_slice());
            match gate(session, &instance, &blocks, only, step.gate_ms, step.timeout_ms, runtime) {
                Ok(()) => {
                    let _ = writeln!(
                        out,
                        "{instance}: step {}/{total}: {} ... healthy for {}",
                        k + 1,
                        short(&step, rollout),
                        format_duration(step.gate_ms)
                    );
                }
                Err(GateFailure::Interrupted) => {
                    let _ = interrupted(session, &instance, k, total, err);
                    return Err(ExitCode::from(130));
                }
                Err(GateFailure::Failed { message, detail }) => {
                    let reason = format!("step {}/{total}'s gate failed: {message}", k + 1);
                    return fail(session, err, &reason, detail);
                }
            }
        }
        let last = k + 1 == total;
        if rollout.strategy == Strategy::BlueGreen && last {
            let promoted = resuming && (resumed == Some(RolloutStatus::Kept) || intent == Intent::Promote);
            if !promoted {
                let mut entry = planned::record_for(rollout, k, RolloutStatus::Kept, &started, &now());
                entry.kept_until_ms = policy.keep_ms.map(|ms| now_ms() + ms);
                record(session, &instance, entry, err)?;
                let kept = match policy.keep_ms {
                    None => "until the next apply (or `stackc rollout promote`)".to_string(),
                    Some(ms) => format!(
                        "for {} (the next apply or `stackc rollout promote` then finishes the rollout)",
                        format_duration(ms)
                    ),
                };
                let _ = writeln!(
                    out,
                    "{instance}: traffic switched to the new set; the old set is kept {kept}; `stackc rollout undo` \
                     switches back."
                );
                return Ok(Rolled::Stopped);
            }
        } else if !last {
            match step.pause {
                Pause::UntilPromoted
                    if !(resuming && intent == Intent::Promote && resumed == Some(RolloutStatus::Paused)) =>
                {
                    let entry = planned::record_for(rollout, k, RolloutStatus::Paused, &started, &now());
                    record(session, &instance, entry, err)?;
                    let _ = writeln!(
                        out,
                        "{instance}: paused after step {}/{total}; run `stackc rollout promote` to go on, `stackc rollout abort` to roll back.",
                        k + 1
                    );
                    return Ok(Rolled::Stopped);
                }
                Pause::For(ms) if ms > 0 => {
                    let _ = writeln!(out, "{instance}: pausing {}", format_duration(ms));
                    if session.signals.sleep(Duration::from_millis(ms)) {
                        let _ = interrupted(session, &instance, k, total, err);
                        return Err(ExitCode::from(130));
                    }
                }
                _ => {}
            }
        }
        k += 1;
    }
    // Promote: the stable resources take the new version.
    if rollout.strategy != Strategy::Rolling {
        let entry = planned::record_for(rollout, total, RolloutStatus::Applying, &started, &now());
        record(session, &instance, entry, err)?;
        let plan = match pending.take() {
            Some(plan) => plan,
            None => plan_phase(session, all, rollout, policies, Phase::Step(total), runtime, err)?,
        };
        let _ = writeln!(out, "{instance}: promote: the stable replicas take the new version");
        if !apply_step(session, &plan, parallelism, applied.clone(), runtime, err)? {
            return fail(session, err, "the promote's apply failed", None);
        }
        let gate_ms = rollout.steps.last().map_or(policy.gate_ms, |s| s.gate_ms);
        match gate(session, &instance, &policy.stable, None, gate_ms, policy.timeout_ms, runtime) {
            Ok(()) => {
                let _ = writeln!(
                    out,
                    "{instance}: promote: stable replicas healthy for {}",
                    format_duration(gate_ms)
                );
            }
            Err(GateFailure::Interrupted) => {
                let _ = interrupted(session, &instance, total, total, err);
                return Err(ExitCode::from(130));
            }
            Err(GateFailure::Failed { message, detail }) => {
                let reason = format!("the promote's gate failed: {message}");
                return fail(session, err, &reason, detail);
            }
        }
    }
    // Finish: traffic back to the stable resources, the canary removed.
    let plan = plan_phase(session, all, rollout, policies, Phase::Finish, runtime, err)?;
    if !apply_step(session, &plan, parallelism, applied.clone(), runtime, err)? {
        let _ = writeln!(err, "error: {instance}: finishing the rollout failed; `stackc apply` tries again.");
        return Err(ExitCode::from(1));
    }
    session.state.set_rollout(&instance, None);
    save(session, err)?;
    let _ = writeln!(out, "{instance}: rollout finished: the new version serves all traffic");
    Ok(Rolled::Finished)
}

/// The blocks whose health gates a step: the policy's `health` (the canary),
/// or for rolling the stable ones (the batch).
fn gate_blocks(rollout: &PlannedRollout, policy: &Policy) -> Vec<String> {
    if rollout.strategy == Strategy::Rolling || policy.health.is_empty() {
        policy.stable.clone()
    } else {
        policy.health.clone()
    }
}

fn short(step: &planned::Step, rollout: &PlannedRollout) -> String {
    match rollout.strategy {
        Strategy::Rolling => format!("batch {}", step.number),
        _ => format!(
            "{}% to the new version ({} replica{})",
            step.weight,
            step.canary,
            if step.canary == 1 { "" } else { "s" }
        ),
    }
}

/// After a signal: says where the rollout stands (recorded) and how to go on.
fn interrupted(session: &Session, instance: &str, k: usize, total: usize, err: &mut dyn Write) -> bool {
    if !session.signals.stop_requested() {
        return false;
    }
    let _ = writeln!(
        err,
        "{instance}: stopped at step {}/{total}; the state records it. Run `stackc apply` to go on, or `stackc rollout \
         abort` to roll back.",
        (k + 1).min(total)
    );
    true
}

/// Why a gate did not pass.
enum GateFailure {
    Interrupted,
    Failed { message: String, detail: Option<String> },
}

/// Waits until every object of `blocks` of `instance` (only indices `only`
/// when given) is healthy, continuously for `gate_ms`, within `timeout_ms`.
fn gate(
    session: &Session,
    instance: &str,
    blocks: &[String],
    only: Option<&[u64]>,
    gate_ms: u64,
    timeout_ms: u64,
    runtime: &tokio::runtime::Runtime,
) -> Result<(), GateFailure> {
    let objects: Vec<(ResourceAddress, stackc_planner::state::ResourceState)> = session
        .state
        .resources
        .iter()
        .filter(|(address, _)| Policy::is_of(instance, blocks, address))
        .filter(|(address, _)| only.is_none_or(|only| index_of(address).is_some_and(|i| only.contains(&i))))
        .map(|(a, r)| (a.clone(), r.clone()))
        .collect();
    if objects.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    let gate = Duration::from_millis(gate_ms);
    let timeout = Duration::from_millis(timeout_ms.max(gate_ms));
    let poll = Duration::from_millis((gate_ms / 5).clamp(200, 1000));
    let mut healthy_since: Option<Instant> = None;
    loop {
        let mut worst: Option<(ResourceAddress, HealthStatus, Option<String>)> = None;
        for (address, resource) in &objects {
            let provider = match session.providers.provider(resource.target.as_deref()) {
                Ok(provider) => provider.clone(),
                Err(why) => return Err(GateFailure::Failed { message: why, detail: None }),
            };
            let ctx =
                operation_context(&session.state, address, &resource.type_name, resource.target.as_deref());
            let object = ObjectState { id: resource.id.clone(), attributes: resource.attributes.clone() };
            match runtime.block_on(provider.health(&ctx, &object)) {
                Ok(health) if health.status == HealthStatus::Healthy => {}
                Ok(health) => {
                    worst = Some((address.clone(), health.status, health.detail));
                    break;
                }
                Err(e) if e.code.as_deref() == Some("HealthNotSupported") => {
                    return Err(GateFailure::Failed {
                        message: format!(
                            "{}: the gate cannot tell whether the new version is healthy",
                            e.message
                        ),
                        detail: None,
                    });
                }
                Err(e) => {
                    worst = Some((address.clone(), HealthStatus::Missing, Some(e.message)));
                    break;
                }
            }
        }
        let now = Instant::now();
        match &worst {
            None => {
                let since = *healthy_since.get_or_insert(now);
                if now.duration_since(since) >= gate {
                    return Ok(());
                }
            }
            Some(_) => healthy_since = None,
        }
        if now.duration_since(started) >= timeout {
            let (message, detail) = match worst {
                Some((address, status, detail)) => (
                    format!(
                        "`{address}` was not healthy for {} within {} (it is {})",
                        format_duration(gate_ms),
                        format_duration(timeout_ms),
                        status_word(status)
                    ),
                    detail,
                ),
                None => (
                    format!(
                        "the new replicas were not healthy for {} within {}",
                        format_duration(gate_ms),
                        format_duration(timeout_ms)
                    ),
                    None,
                ),
            };
            return Err(GateFailure::Failed { message, detail });
        }
        if session.signals.sleep(poll) {
            return Err(GateFailure::Interrupted);
        }
    }
}

fn status_word(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::Healthy => "healthy",
        HealthStatus::Starting => "still starting",
        HealthStatus::Unhealthy => "unhealthy",
        HealthStatus::Missing => "not running",
    }
}

/// The index of `service.api/docker_container.replica[2]`.
fn index_of(address: &ResourceAddress) -> Option<u64> {
    let text = address.as_str();
    let open = text.rfind('[')?;
    text[open + 1..].strip_suffix(']')?.parse().ok()
}

/// Rolls `rollout` back: the stable version held, the canary removed and
/// traffic restored; the record says `rolled_back`. Always `Err(1)` after
/// the diagnostic (apply failed), unless the rollback itself cannot be made.
#[allow(clippy::too_many_arguments)]
pub fn rollback(
    session: &mut Session,
    rollout: &PlannedRollout,
    policy: &Policy,
    all: &[PlannedRollout],
    all_policies: &IndexMap<String, Policy>,
    reason: &str,
    detail: Option<String>,
    parallelism: u32,
    runtime: &tokio::runtime::Runtime,
    err: &mut dyn Write,
    failure: bool,
) -> Result<(), ExitCode> {
    let instance = rollout.instance.clone();
    let mut policies = all_policies.clone();
    policies.insert(instance.clone(), policy.clone());
    let started = session
        .state
        .instances
        .get(&instance)
        .and_then(|i| i.rollout.as_ref())
        .map_or_else(now, |r| r.started.clone());
    let full_reason = match &detail {
        Some(detail) => format!("{reason}; health output: {}", detail.trim()),
        None => reason.to_string(),
    };
    let mut entry = planned::record_for(rollout, 0, RolloutStatus::RollingBack, &started, &now());
    entry.step =
        session.state.instances.get(&instance).and_then(|i| i.rollout.as_ref()).map_or(0, |r| r.step);
    entry.weight = 0;
    entry.canary = 0;
    entry.reason = Some(full_reason.clone());
    record(session, &instance, entry.clone(), err)?;
    let _ = writeln!(std::io::stdout(), "{instance}: rolling back: {reason}");
    let plan = plan_phase(session, all, rollout, &policies, Phase::Rollback, runtime, err)?;
    let ok = apply_step(session, &plan, parallelism, None, runtime, err)?;
    entry.status = if ok { RolloutStatus::RolledBack } else { RolloutStatus::RollingBack };
    entry.updated = now();
    record(session, &instance, entry, err)?;
    if !failure {
        if !ok {
            let _ =
                writeln!(err, "error: {instance}: the rollback's apply failed (see above); run it again.");
            return Err(ExitCode::from(1));
        }
        let _ = writeln!(
            std::io::stdout(),
            "{instance}: rolled back ({reason}): traffic is on the stable version, the new replicas are removed."
        );
        return Ok(());
    }
    let message = format!(
        "`{instance}`: the rollout of the new version was rolled back: {reason}. Traffic is back on the stable version \
         and the new replicas are removed{}",
        if ok { "" } else { " (not all: the rollback's apply failed, see above; `stackc rollout abort` tries again)" }
    );
    emit(Code::RolledBack, session.sources(), rollout.provenance, &None, &instance, &message, err);
    if let Some(detail) = detail {
        let _ = writeln!(err, "health output of the failing replica:\n{}\n", indent(detail.trim()));
    }
    Err(ExitCode::from(1))
}

/// `stackc rollout abort|undo`: rolls back the rollout `instance` records,
/// with the stack on disk (its stable resources held, whatever version it
/// now configures).
pub fn abort(
    session: &mut Session,
    instance: &str,
    reason: &str,
    parallelism: u32,
    runtime: &tokio::runtime::Runtime,
    err: &mut dyn Write,
) -> Result<(), ExitCode> {
    let Some(record) = session.state.instances.get(instance).and_then(|i| i.rollout.clone()) else {
        return Ok(());
    };
    let Some(policy) =
        planned::recorded_policies(&session.state).into_iter().find(|(i, _)| i == instance).map(|(_, p)| p)
    else {
        let _ = writeln!(
            err,
            "error: {instance}: the state has no rollout descriptor for it; nothing to roll back."
        );
        return Err(ExitCode::from(1));
    };
    let provenance = session
        .graph
        .nodes()
        .find(|n| {
            n.address.as_str().starts_with(&format!(
                "{instance}/{}.{}",
                planned::POLICY_TYPE,
                planned::POLICY_NAME
            ))
        })
        .and_then(|n| n.provenance.first().copied())
        .map(|span| planned::rollout_block_span(session.sources(), span).unwrap_or(span));
    let rollout = PlannedRollout {
        instance: instance.to_string(),
        strategy: Strategy::parse(&record.strategy).unwrap_or(policy.strategy),
        reason: reason.to_string(),
        plain: false,
        steps: policy.steps().unwrap_or_default(),
        from_step: record.step,
        replicas: policy.replicas,
        version: record.version.clone(),
        provenance,
        status: Some(record.status.as_str().to_string()),
    };
    let all = [rollout.clone()];
    let policies: IndexMap<String, Policy> = [(instance.to_string(), policy.clone())].into_iter().collect();
    rollback(session, &rollout, &policy, &all, &policies, reason, None, parallelism, runtime, err, false)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

/// A rollout problem as a diagnostic at the `rollout` block (the field's
/// line when one is at fault), else one line.
fn emit(
    code: Code,
    sources: &Sources,
    span: Option<Span>,
    field: &Option<String>,
    instance: &str,
    message: &str,
    err: &mut dyn Write,
) {
    let message =
        if message.contains(instance) { message.to_string() } else { format!("`{instance}`: {message}") };
    let block = span.map(|span| planned::rollout_block_span(sources, span).unwrap_or(span));
    let at = match (block, field) {
        (Some(block), Some(field)) => sources.attribute_span(block, field).or(Some(block)),
        (block, _) => block,
    };
    match at {
        Some(at) if (at.file.0 as usize) < sources.len() => {
            let label = match field {
                Some(field) => format!("`{field}` of this rollout"),
                None => "this rollout".to_string(),
            };
            let diagnostic = Diagnostic::new(code, at, message).with_label(label);
            let _ = writeln!(err, "{}", crate::render::human(sources, &diagnostic, HumanStyle::from_env()));
        }
        _ => {
            let _ = writeln!(err, "error[{code}]: {message}");
        }
    }
}
