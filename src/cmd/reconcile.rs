//! `stackc reconcile [PATH] --target T [--watch]`: keep what stackc
//! applied as it was applied.
//!
//! One pass: take the state lock, load the state, compile the configuration
//! the last apply recorded in it (`--from-source`: the stack on disk, as
//! GitOps tools do), refresh, plan, act, save, release. What the pass acts
//! on is what a plan says: an object that is gone is created again (its
//! dependents follow through the plan), a stopped container is started
//! (the local provider's `running`), an attribute changed outside stackc is
//! put back, or only reported where the stack's drift policy says
//! `report` (`reconcile { drift = "report" }`, at the top level or in an
//! instance). A lock held by someone else skips the pass with one line
//! naming the holder (exit 0: yielding to a person's apply is what the
//! pass should do).
//!
//! `--watch`: passes forever, `--interval` apart (default 30s). A failed
//! pass (an API down, a stack that no longer compiles) is retried with a
//! growing wait (the interval, doubled after each failure in a row, at
//! most 10 minutes or the interval if longer); the loop never exits on
//! one. SIGINT/SIGTERM: the current pass finishes (an apply under way is
//! asked to stop gracefully), the state is saved, the lock released, exit 0.
//!
//! Output: one line per event on stdout (found, done, failed, the pass's
//! end with how long it took), or JSON lines with `--json`
//! (docs/reconcile.md). Diagnostics and progress go to stderr.

use crate::cmd::apply::{carry_out_recording, Display};
use crate::pipeline::{self, Expand as _, StackArgs};
use crate::progress::seconds;
use crate::render::Format;
use crate::session::{runtime, LoadedState, Session};
use crate::signals::Signals;
use stackc_compiler::Value;
use stackc_planner::apply::{ApplyEvent, ApplyObserver, OperationKind};
use stackc_planner::backend::{BackendError, LocalBackend};
use stackc_planner::plan::{attribute_changes, Action, PathStep, Plan, PlanOptions, Reason};
use stackc_planner::planning::{self, PlanInput};
use stackc_planner::state::State;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Follow the stack on disk (and -var / --var-file) instead of the
    /// configuration the last apply recorded in the state; what a pass
    /// applies becomes the recorded one.
    #[arg(long)]
    pub from_source: bool,
    /// Run passes forever, `--interval` apart; SIGINT/SIGTERM end the loop
    /// after the current pass (exit 0).
    #[arg(long)]
    pub watch: bool,
    /// Time between passes with --watch: `30s`, `5m`, `1h`, or seconds.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub interval: Duration,
    /// Print events as JSON lines (one object per line).
    #[arg(long)]
    pub json: bool,
    /// Operations running at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub parallelism: u32,
}

/// `30s`, `5m`, `1h`, `250ms`, or a number of seconds; at least 1s.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 =
        number.parse().map_err(|_| format!("`{text}` is not a duration such as 30s, 5m or 1h"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(format!("`{text}`: the unit must be ms, s, m or h")),
    };
    if !(1.0..=7.0 * 86400.0).contains(&seconds) {
        return Err(format!("`{text}`: the interval must be between 1s and 7 days"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// The wait before the next pass after `failures` failed passes in a row.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return interval;
    }
    let cap = interval.max(Duration::from_secs(600));
    interval.saturating_mul(1u32 << (failures - 1).min(10)).min(cap)
}

// ---------------------------------------------------------------- events

/// What a pass found wrong with an object.
#[derive(Clone, Debug, PartialEq)]
enum Finding {
    Gone,
    Stopped,
    Changed(Vec<String>),
    Tainted,
}

/// One line of output.
#[derive(Clone, Debug)]
enum Event {
    Found {
        address: String,
        finding: Finding,
    },
    /// The drift policy `report` kept it as it is.
    Reported {
        address: String,
        attributes: Vec<String>,
    },
    Done {
        address: String,
        what: String,
        elapsed: Duration,
    },
    Failed {
        address: String,
        message: String,
    },
    NotDone {
        address: String,
        because: String,
    },
    /// The pass was skipped: the lock is held.
    Skipped {
        holder: String,
        pid: u32,
        operation: String,
        since: String,
    },
    /// A problem that fails the pass before it acts.
    Error {
        message: String,
    },
    PassEnd {
        outcome: Outcome,
        acted: usize,
        failed: usize,
        elapsed: Duration,
    },
    /// The autoscaler measured an instance (and maybe changed its count).
    Autoscale(stackc_planner::autoscale::AutoscaleEvent),
    /// With --watch, after a failed pass: when the next one runs.
    Retry {
        failures: u32,
        wait: Duration,
    },
    Stopped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Nothing to do.
    Converged,
    /// Acted, and every operation succeeded.
    Restored,
    Skipped,
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Converged => "converged",
            Outcome::Restored => "restored",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
        }
    }
}

fn wait_text(wait: Duration) -> String {
    let s = wait.as_secs();
    match (s / 60, s % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

impl Event {
    /// The line for people; `None` for an event only JSON shows.
    fn human(&self, pass: u64) -> Option<String> {
        Some(match self {
            Event::Found { address, finding } => match finding {
                Finding::Gone => format!("found   {address}: gone (deleted outside stackc)"),
                Finding::Stopped => format!("found   {address}: stopped"),
                Finding::Changed(attributes) => {
                    format!("found   {address}: changed outside stackc: {}", attributes.join(", "))
                }
                Finding::Tainted => format!("found   {address}: tainted (an earlier apply left it not as planned)"),
            },
            Event::Reported { address, attributes } => format!(
                "report  {address}: differs from its configuration in {}; kept as it is (drift policy \"report\")",
                attributes.join(", ")
            ),
            Event::Done { address, what, elapsed } => format!("done    {address}: {what} in {}", seconds(*elapsed)),
            Event::Failed { address, message } => format!("failed  {address}: {message}"),
            Event::NotDone { address, because } => format!("skipped {address}: not done because {because}"),
            Event::Skipped { holder, pid, operation, since } => format!(
                "pass {pass}: skipped: the state is locked by {holder} (pid {pid}) for `{operation}` since {since}"
            ),
            Event::Error { message } => format!("error   {message}"),
            // A count that changed is an event; a steady measurement is
            // one only in JSON (for whoever charts it).
            Event::Autoscale(event) if event.changed() => format!("scale   {event}"),
            Event::Autoscale(_) => return None,
            // The skipped line said it all.
            Event::PassEnd { outcome: Outcome::Skipped, .. } => return None,
            Event::PassEnd { outcome, acted, failed, elapsed } => match outcome {
                Outcome::Converged => format!("pass {pass}: converged, nothing to do ({})", seconds(*elapsed)),
                Outcome::Restored => format!("pass {pass}: {acted} done in {}", seconds(*elapsed)),
                Outcome::Failed if *acted > 0 || *failed > 0 => {
                    format!("pass {pass}: {acted} done, {failed} failed in {}", seconds(*elapsed))
                }
                _ => format!("pass {pass}: failed ({})", seconds(*elapsed)),
            },
            Event::Retry { failures, wait } => format!(
                "pass {pass}: {failures} failed pass{} in a row; next pass in {}",
                if *failures == 1 { "" } else { "es" },
                wait_text(*wait)
            ),
            Event::Stopped => format!("stopped after pass {pass}: the state is saved and the lock released"),
        })
    }

    fn json(&self, pass: u64) -> serde_json::Value {
        use serde_json::json;
        let mut value = match self {
            Event::Found { address, finding } => {
                let (what, attributes) = match finding {
                    Finding::Gone => ("gone", Vec::new()),
                    Finding::Stopped => ("stopped", Vec::new()),
                    Finding::Changed(attributes) => ("changed", attributes.clone()),
                    Finding::Tainted => ("tainted", Vec::new()),
                };
                json!({"event": "found", "address": address, "found": what, "attributes": attributes})
            }
            Event::Reported { address, attributes } => {
                json!({"event": "reported", "address": address, "attributes": attributes})
            }
            Event::Done { address, what, elapsed } => json!({
                "event": "done", "address": address, "done": what, "duration_ms": elapsed.as_millis() as u64
            }),
            Event::Failed { address, message } => {
                json!({"event": "failed", "address": address, "message": message})
            }
            Event::NotDone { address, because } => {
                json!({"event": "not_done", "address": address, "because": because})
            }
            Event::Skipped { holder, pid, operation, since } => json!({
                "event": "skipped", "holder": holder, "pid": pid, "operation": operation, "since": since
            }),
            Event::Error { message } => json!({"event": "error", "message": message}),
            Event::Autoscale(event) => {
                let mut value = event.to_json();
                value["event"] = json!("autoscale");
                value
            }
            Event::PassEnd { outcome, acted, failed, elapsed } => json!({
                "event": "pass", "outcome": outcome.as_str(), "done": acted, "failed": failed,
                "duration_ms": elapsed.as_millis() as u64
            }),
            Event::Retry { failures, wait } => {
                json!({"event": "retry", "failures": failures, "wait_ms": wait.as_millis() as u64})
            }
            Event::Stopped => json!({"event": "stopped"}),
        };
        value["pass"] = json!(pass);
        value["time"] = json!(stackc_provider_builtin::rfc3339(std::time::SystemTime::now()));
        value
    }
}

/// Writes events to stdout as they happen (human lines or JSON lines).
struct Events {
    json: bool,
    pass: Mutex<u64>,
}

impl Events {
    fn emit(&self, event: &Event) {
        let pass = *self.pass.lock().unwrap_or_else(|e| e.into_inner());
        let line = if self.json {
            event.json(pass).to_string()
        } else {
            match event.human(pass) {
                Some(line) => line,
                None => return,
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// The apply's events as reconcile lines: what was done to each object,
/// in the words of what was found.
struct PassObserver<'a> {
    events: &'a Events,
    /// What the pass found, by address (to say "created again", "started").
    found: BTreeMap<String, Finding>,
    /// The planned action, by address.
    actions: BTreeMap<String, Action>,
    acted: Mutex<(usize, usize)>,
}

impl PassObserver<'_> {
    fn what(&self, address: &str, kind: OperationKind) -> Option<String> {
        let action = self.actions.get(address).copied();
        let text = match (self.found.get(address), action, kind) {
            // The delete half of a replace is not a line of its own.
            (_, Some(Action::Replace), OperationKind::Delete) => return None,
            (Some(Finding::Gone), _, OperationKind::Create) => "created again",
            (Some(Finding::Stopped), _, OperationKind::Update) => "started",
            (Some(Finding::Changed(_)), Some(Action::Replace), _) => "replaced, as configured",
            (Some(Finding::Changed(_)), _, OperationKind::Update) => "put back as configured",
            (Some(Finding::Tainted), _, _) => "replaced",
            (_, Some(Action::Replace), _) => "replaced",
            (_, _, OperationKind::Create) => "created",
            (_, _, OperationKind::Update) => "updated",
            (_, _, OperationKind::Delete) => "deleted",
        };
        Some(text.to_string())
    }
}

impl ApplyObserver for PassObserver<'_> {
    fn event(&self, event: &ApplyEvent) {
        match event {
            ApplyEvent::Finished { address, kind, elapsed, .. } => {
                if let Some(what) = self.what(&address.0, *kind) {
                    self.acted.lock().unwrap_or_else(|e| e.into_inner()).0 += 1;
                    self.events.emit(&Event::Done { address: address.0.clone(), what, elapsed: *elapsed });
                }
            }
            ApplyEvent::Failed { address, kind, message } => {
                self.acted.lock().unwrap_or_else(|e| e.into_inner()).1 += 1;
                let message = format!("{} failed: {message}", kind.as_str());
                self.events.emit(&Event::Failed { address: address.0.clone(), message });
            }
            ApplyEvent::Skipped { address, because, .. } => {
                self.events.emit(&Event::NotDone { address: address.0.clone(), because: because.clone() });
            }
            ApplyEvent::Started { .. } | ApplyEvent::Stopping { .. } => {}
        }
    }
}

// ---------------------------------------------------------------- the pass

/// What the command was asked, for every pass.
struct Context<'a> {
    args: &'a Args,
    stack_dir: std::path::PathBuf,
    stack_name: String,
    target: Option<String>,
    events: Events,
    signals: Signals,
    runtime: tokio::runtime::Runtime,
}

pub fn run(args: Args) -> ExitCode {
    let mut err = std::io::stderr();
    let given_values = !(args.stack.variables.vars.is_empty() && args.stack.variables.var_files.is_empty());
    if given_values && !args.from_source {
        let _ = writeln!(
            err,
            "error: -var and --var-file go with --from-source: without it, a pass uses the variable values the \
             last apply recorded in the state."
        );
        return ExitCode::from(crate::EXIT_USAGE);
    }
    let runtime = match runtime(&mut err) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let stack_dir = pipeline::stack_dir_of(&args.stack.path);
    if !stack_dir.is_dir() {
        let _ = writeln!(err, "error: `{}` is not a stack directory", args.stack.path.display());
        return ExitCode::from(1);
    }
    let target = match &args.stack.target {
        Some(target) => Some(target.clone()),
        None if args.from_source => None,
        // The state says which target was applied, when there is one.
        None => match LocalBackend::targets_present(&stack_dir) {
            Ok(targets) if targets.len() == 1 => targets[0].clone(),
            Ok(targets) if targets.is_empty() => None,
            Ok(targets) => {
                let names: Vec<String> =
                    targets.iter().map(|t| format!("`{}`", t.as_deref().unwrap_or("(none)"))).collect();
                let _ = writeln!(
                    err,
                    "error: this stack has states for several targets ({}); choose one with --target.",
                    names.join(", ")
                );
                return ExitCode::from(crate::EXIT_USAGE);
            }
            Err(error) => {
                let _ = writeln!(err, "error: {error}");
                return ExitCode::from(1);
            }
        },
    };
    let signals = Signals::install(&runtime);
    if args.watch {
        signals.watch();
    }
    let context = Context {
        args: &args,
        stack_name: pipeline::stack_name_of(&stack_dir),
        stack_dir,
        target,
        events: Events { json: args.json, pass: Mutex::new(0) },
        signals,
        runtime,
    };
    if !args.watch {
        *context.events.pass.lock().unwrap_or_else(|e| e.into_inner()) = 1;
        return match one_pass(&context, &mut err) {
            Outcome::Failed => ExitCode::from(1),
            _ => ExitCode::SUCCESS,
        };
    }
    let mut failures = 0u32;
    for pass in 1u64.. {
        *context.events.pass.lock().unwrap_or_else(|e| e.into_inner()) = pass;
        context.signals.next_pass();
        let outcome = one_pass(&context, &mut err);
        if context.signals.stop_requested() {
            context.events.emit(&Event::Stopped);
            break;
        }
        failures = if outcome == Outcome::Failed { failures.saturating_add(1) } else { 0 };
        let wait = backoff(args.interval, failures);
        if failures > 0 {
            context.events.emit(&Event::Retry { failures, wait });
        }
        if context.signals.sleep(wait) {
            context.events.emit(&Event::Stopped);
            break;
        }
    }
    ExitCode::SUCCESS
}

/// One pass: its events on stdout, problems on `err`.
fn one_pass(context: &Context<'_>, err: &mut dyn Write) -> Outcome {
    let started = Instant::now();
    let events = &context.events;
    let end = |outcome: Outcome, acted: usize, failed: usize| {
        events.emit(&Event::PassEnd { outcome, acted, failed, elapsed: started.elapsed() });
        outcome
    };
    let fail = |message: String| {
        events.emit(&Event::Error { message });
        end(Outcome::Failed, 0, 0)
    };

    // 1. The lock: held by someone else, the pass is skipped.
    let backend = match crate::cmd::state::open_backend(&context.stack_dir, context.target.as_deref()) {
        Ok(backend) => backend,
        Err(message) => return fail(message),
    };
    let guard = match context.signals.taking_lock(|| backend.lock("reconcile")) {
        Ok(guard) => guard,
        Err(BackendError::Locked { held, .. }) => {
            events.emit(&Event::Skipped {
                holder: held.holder.clone(),
                pid: held.pid,
                operation: held.operation.clone(),
                since: held.time.clone(),
            });
            return end(Outcome::Skipped, 0, 0);
        }
        Err(error) => return fail(error.to_string()),
    };
    let release = |guard: stackc_planner::backend::LockGuard| {
        let _ = guard.release();
        context.signals.released();
    };

    // 2. The state.
    let loaded = match backend.load_detailed() {
        Ok(Some(loaded)) => loaded,
        Ok(None) => {
            release(guard);
            return fail(format!(
                "there is no state for this stack{}: nothing was applied yet, so there is nothing to keep. Run \
                 `stackc apply` first.",
                context.target.as_deref().map(|t| format!(" and target `{t}`")).unwrap_or_default()
            ));
        }
        Err(error) => {
            release(guard);
            return fail(error.to_string());
        }
    };
    if let Err(error) = backend.check_stack(&loaded.state, &context.stack_name) {
        release(guard);
        return fail(error.to_string());
    }
    if let Some(note) = backend.journal_note(loaded.recovered, &crate::cmd::state::journal_shown(&backend)) {
        let _ = writeln!(err, "note: {note}");
    }
    let state = loaded.state;

    // 3. Compile what was last applied (or the sources), with the replica
    // counts the autoscaler recorded.
    let mut checked = match compile(context, &state, err) {
        Ok(checked) => checked,
        Err(message) => {
            release(guard);
            return fail(message);
        }
    };
    checked.autoscaled_replicas = state.autoscaled_replicas();
    // Rollouts: the step each recorded rollout stands at (reconcile never
    // starts or advances one; `stackc apply` does).
    checked.rollouts = state.rollout_steps();
    let compiled = match checked.expand(None, Format::Human, err) {
        Ok(compiled) => compiled,
        Err(_) => {
            release(guard);
            return fail("the stack does not expand (see the diagnostics above)".to_string());
        }
    };
    if context.args.from_source {
        // The sources' warnings (the recorded configuration's were shown
        // when it was applied).
        let warnings: Vec<_> = checked.warnings.iter().chain(&compiled.warnings).cloned().collect();
        if !warnings.is_empty() {
            let style = crate::render::HumanStyle::from_env();
            let _ = crate::render::emit(
                Format::Human,
                style,
                &checked.sources,
                &warnings,
                &mut std::io::sink(),
                err,
            );
        }
    }
    let report_drift = drift_reported(&checked);
    let loaded =
        LoadedState { backend, guard: Some(guard), state, recovered: loaded.recovered, state_exists: true };
    let mut session = match Session::assemble(
        checked,
        compiled.graph,
        loaded,
        context.signals.clone(),
        &context.runtime,
        err,
    ) {
        Ok(session) => session,
        Err(_) => return fail("the providers could not be connected (see above)".to_string()),
    };
    // 4. Autoscaling: measure the replicas, decide as the HPA does, record
    // the counts (and the history the windows need) in the state, and
    // expand again when a count changed; the plan below carries it out.
    let measured = match autoscale(context, &mut session, err) {
        Ok(measured) => measured,
        Err(message) => {
            session.release(err);
            return fail(message);
        }
    };
    let outcome = act(context, &mut session, report_drift, measured, started, err);
    session.release(err);
    outcome
}

/// The autoscaling step of a pass (`stackc_planner::autoscale::step`) on
/// the session's state: prints one event per autoscaled instance and, when
/// a recorded count changed, expands the stack again with the new counts.
/// `Ok(true)` when it recorded anything (the state must then be saved even
/// if nothing else changes, for the stabilisation windows).
fn autoscale(context: &Context<'_>, session: &mut Session, err: &mut dyn Write) -> Result<bool, String> {
    if stackc_planner::autoscale::policies(&session.state).is_empty() {
        return Ok(false);
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let before = session.state.instances.clone();
    let events = context.runtime.block_on(stackc_planner::autoscale::step(
        &mut session.state,
        &session.providers,
        now_ms,
    ));
    for event in events {
        context.events.emit(&Event::Autoscale(event));
    }
    let recorded = session.state.autoscaled_replicas();
    if recorded != session.checked.autoscaled_replicas {
        session.checked.autoscaled_replicas = recorded;
        session.graph = session
            .checked
            .expand(None, Format::Human, err)
            .map_err(|_| "the stack does not expand with the autoscaled counts (see above)".to_string())?
            .graph;
    }
    Ok(session.state.instances != before)
}

/// The configuration of this pass: as last applied, or the sources.
fn compile(
    context: &Context<'_>,
    state: &State,
    err: &mut dyn Write,
) -> Result<pipeline::CheckedStack, String> {
    if context.args.from_source {
        let mut args = context.args.stack.clone();
        args.target = args.target.or_else(|| state.target.clone());
        return pipeline::check_stack(&args, Format::Human, err)
            .map_err(|_| "the stack on disk does not compile (see the diagnostics above)".to_string());
    }
    let Some(applied) = &state.applied else {
        return Err(
            "the state records no applied configuration (it was last written by an older stackc, or \
                    only by a partial apply with --only or --exclude): run `stackc apply` once, or reconcile \
                    with --from-source."
                .to_string(),
        );
    };
    if applied.target != state.target {
        return Err(format!(
            "the recorded configuration was applied for target `{}`, not `{}`",
            applied.target.as_deref().unwrap_or("(none)"),
            state.target.as_deref().unwrap_or("(none)")
        ));
    }
    pipeline::check_applied(applied, &context.stack_dir, Format::Human, err)
        .map_err(|_| "the recorded configuration does not compile with this stackc (see above)".to_string())
}

/// The instances and resources whose drift policy is `report`.
pub fn drift_reported(checked: &pipeline::CheckedStack) -> Vec<String> {
    stackc_compiler::policy::drift_reported(&checked.hir)
}

/// Refresh, plan, act, save.
fn act(
    context: &Context<'_>,
    session: &mut Session,
    report_drift: Vec<String>,
    measured: bool,
    started: Instant,
    err: &mut dyn Write,
) -> Outcome {
    let events = &context.events;
    let end = |outcome: Outcome, acted: usize, failed: usize| {
        events.emit(&Event::PassEnd { outcome, acted, failed, elapsed: started.elapsed() });
        outcome
    };
    // The stable version of an instance with a rollout record stays as it
    // is: a paused or kept rollout keeps its step, a rolled-back version is
    // not retried (`stackc apply` retries it).
    let hold = stackc_planner::rollout::recorded_holds(&session.state);
    for (instance, record) in session.state.rollouts() {
        if record.status == stackc_planner::state::RolloutStatus::RolledBack {
            let _ = writeln!(
                err,
                "note: {instance}: its new version was rolled back ({}); reconcile keeps the stable version,                  `stackc apply` retries the rollout",
                record.reason.as_deref().unwrap_or("no reason recorded")
            );
        }
    }
    let options = PlanOptions { report_drift, hold, ..PlanOptions::new() };
    let outcome = context.runtime.block_on(planning::plan(PlanInput {
        graph: &session.graph,
        state: &session.state,
        providers: &session.providers,
        options: &options,
    }));
    if !outcome.problems.is_empty() {
        for problem in &outcome.problems {
            let message = match &problem.address {
                Some(address) if !problem.message.contains(address.0.as_str()) => {
                    format!("{address}: {}", problem.message)
                }
                _ => problem.message.clone(),
            };
            events.emit(&Event::Error { message });
        }
        return end(Outcome::Failed, 0, 0);
    }
    let plan = outcome.plan;
    let found = findings(&plan, session);
    for (address, finding) in &found {
        events.emit(&Event::Found { address: address.clone(), finding: finding.clone() });
    }
    for held in &plan.held {
        events
            .emit(&Event::Reported { address: held.address.0.clone(), attributes: held.attributes.clone() });
    }
    let applied = context.args.from_source.then(|| pipeline::applied_configuration(&session.checked));
    let record = applied.as_ref().is_some_and(|applied| {
        session.state.applied.as_ref().map(|a| &a.source_hash) != Some(&applied.source_hash)
    });
    if !plan.has_changes() && plan.refreshed.is_empty() && session.recovered == 0 && !record {
        if measured {
            // Only the autoscaler's record changed (its history): saved,
            // so the next pass's windows see this pass's recommendation.
            let saved = match &session.guard {
                Some(guard) => session.backend.write(guard, &mut session.state).map_err(|e| e.to_string()),
                None => Err("the lock is no longer held".to_string()),
            };
            if let Err(message) = saved {
                events.emit(&Event::Error { message });
                return end(Outcome::Failed, 0, 0);
            }
        }
        return end(Outcome::Converged, 0, 0);
    }
    let observer = PassObserver {
        events,
        found: found.into_iter().collect(),
        actions: plan.changes.iter().map(|c| (c.address.0.clone(), c.action)).collect(),
        acted: Mutex::new((0, 0)),
    };
    let result = carry_out_recording(
        session,
        &plan,
        context.args.parallelism,
        Display::Observer(&observer),
        applied,
        &context.runtime,
        err,
    );
    let (acted, failed) = *observer.acted.lock().unwrap_or_else(|e| e.into_inner());
    match result {
        Ok(report) if report.succeeded() => {
            let outcome = if plan.has_resource_changes() { Outcome::Restored } else { Outcome::Converged };
            end(outcome, acted, failed)
        }
        Ok(report) => {
            for (address, kind) in &report.interrupted {
                events.emit(&Event::Failed {
                    address: address.0.clone(),
                    message: format!("{} interrupted: the next pass reads what it did", kind.as_str()),
                });
            }
            end(Outcome::Failed, acted, failed.max(report.failed.len()))
        }
        Err(_) => end(Outcome::Failed, acted, failed),
    }
}

/// What refresh found wrong, by address: gone, stopped, changed (its
/// configured attributes), tainted.
fn findings(plan: &Plan, session: &Session) -> Vec<(String, Finding)> {
    let mut found: Vec<(String, Finding)> = Vec::new();
    for drift in &plan.drift {
        let address = drift.address.0.clone();
        let Some(actual) = &drift.actual else {
            found.push((address, Finding::Gone));
            continue;
        };
        if is_stopped(&drift.recorded, actual) {
            found.push((address, Finding::Stopped));
            continue;
        }
        let schema = session.providers.schema(&drift.type_name);
        let configured =
            |name: &str| schema.and_then(|s| s.attributes.get(name)).is_some_and(|a| !a.is_computed());
        let mut attributes: Vec<String> = Vec::new();
        for change in attribute_changes(&drift.recorded, actual) {
            if let Some(PathStep::Key(top)) = change.path.first() {
                if configured(top) && !attributes.contains(top) {
                    attributes.push(top.clone());
                }
            }
        }
        if !attributes.is_empty() {
            found.push((address, Finding::Changed(attributes)));
        }
    }
    for change in &plan.changes {
        if change.reason == Some(Reason::Tainted) {
            found.push((change.address.0.clone(), Finding::Tainted));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn is_stopped(recorded: &Value, actual: &Value) -> bool {
    actual.get_path(&["running"]) == Some(&Value::Bool(false))
        && recorded.get_path(&["running"]) != Some(&Value::Bool(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_backoff() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("500ms").unwrap_err().contains("between 1s"));
        assert!(parse_duration("3 days").is_err());
        assert!(parse_duration("fast").is_err());
        let interval = Duration::from_secs(30);
        let waits: Vec<u64> = (0..8).map(|n| backoff(interval, n).as_secs()).collect();
        assert_eq!(waits, vec![30, 30, 60, 120, 240, 480, 600, 600]);
        // An interval longer than the cap is never shortened.
        assert_eq!(backoff(Duration::from_secs(3600), 5), Duration::from_secs(3600));
    }
}
