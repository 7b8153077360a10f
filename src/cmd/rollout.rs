//! `stackc rollout status|promote|abort|undo [PATH] --target T`: the
//! rollouts `stackc apply` records in the state (docs/rollouts.md).
//!
//! `status` reads the state without the lock and prints each instance's
//! record. `promote` goes on with a rollout paused until promoted (or a
//! blue-green one whose old set is kept: it finishes it). `abort` rolls
//! back a paused or running rollout; `undo` rolls back a blue-green
//! rollout whose old set is still kept. Each of those takes the lock and
//! works with the stack on disk, like `stackc apply`.

use crate::cmd::state::{load, locate, Location};
use crate::pipeline::StackArgs;
use crate::session::{runtime, Session};
use stackc_planner::plan::PlanOptions;
use stackc_planner::state::{RolloutRecord, RolloutStatus, State};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print each instance's rollout: strategy, step, traffic share, status (no lock taken).
    Status {
        /// The stack directory.
        #[arg(default_value = ".")]
        path: PathBuf,
        #[command(flatten)]
        location: Location,
        /// Print the records as JSON (as the state keeps them).
        #[arg(long)]
        json: bool,
    },
    /// Go on with a rollout paused until promoted, or finish a blue-green one whose old set is kept.
    Promote(ActArgs),
    /// Roll back a paused or interrupted rollout: traffic to the stable version, the new replicas removed.
    Abort(ActArgs),
    /// Switch a blue-green rollout back to the old set while it is kept.
    Undo(ActArgs),
}

#[derive(clap::Args)]
pub struct ActArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Operations running at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub parallelism: u32,
}

pub fn run(args: Args) -> ExitCode {
    match args.command {
        Command::Status { path, location, json } => status(&path, &location, json),
        Command::Promote(args) => act(args, Act::Promote),
        Command::Abort(args) => act(args, Act::Abort),
        Command::Undo(args) => act(args, Act::Undo),
    }
}

fn status(path: &std::path::Path, location: &Location, json: bool) -> ExitCode {
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let state = match locate(path, location).and_then(|backend| load(&backend, &mut err)) {
        Ok(state) => state,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            return ExitCode::from(1);
        }
    };
    let Some(state) = state else {
        let _ = writeln!(out, "No rollout: nothing has been applied yet.");
        return ExitCode::SUCCESS;
    };
    if json {
        let records: serde_json::Map<String, serde_json::Value> = state
            .rollouts()
            .map(|(instance, record)| (instance.clone(), serde_json::to_value(record).unwrap_or_default()))
            .collect();
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&records).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let _ = out.write_all(status_text(&state).as_bytes());
    ExitCode::SUCCESS
}

/// What `stackc rollout status` prints.
pub fn status_text(state: &State) -> String {
    let mut text = String::new();
    let records: Vec<(&String, &RolloutRecord)> = state.rollouts().collect();
    if records.is_empty() {
        return "No rollout is under way.\n".to_string();
    }
    for (instance, record) in records {
        let step = if record.step >= record.steps {
            "promote (the stable replicas take the new version)".to_string()
        } else {
            format!("step {}/{}", record.step + 1, record.steps)
        };
        text.push_str(&format!(
            "{instance}: {} rollout, {step}, {}\n",
            record.strategy,
            record.status.as_str()
        ));
        if record.status.in_progress() && record.strategy != "rolling" {
            text.push_str(&format!(
                "  traffic: {}% to the new version ({} new replica{})\n",
                record.weight,
                record.canary,
                if record.canary == 1 { "" } else { "s" }
            ));
        }
        text.push_str(&format!(
            "  version: {}\n  started: {}\n  updated: {}\n",
            record.version, record.started, record.updated
        ));
        if let Some(until) = record.kept_until_ms {
            let until = std::time::UNIX_EPOCH + std::time::Duration::from_millis(until);
            text.push_str(&format!("  old set kept until: {}\n", stackc_provider_builtin::rfc3339(until)));
        }
        if let Some(reason) = &record.reason {
            text.push_str(&format!("  reason: {reason}\n"));
        }
        let next = match record.status {
            RolloutStatus::Paused => "`stackc rollout promote` goes on; `stackc rollout abort` rolls back",
            RolloutStatus::Kept => {
                "`stackc rollout undo` switches back to the old set; `stackc rollout promote` or the next apply finishes"
            }
            RolloutStatus::Applying => {
                "an apply is carrying it out (or was interrupted: `stackc apply` resumes, `stackc rollout abort` rolls back)"
            }
            RolloutStatus::RollingBack => "`stackc rollout abort` finishes the rollback",
            RolloutStatus::RolledBack => {
                "the stable version serves; reconcile keeps it; `stackc apply` tries the new version again"
            }
        };
        text.push_str(&format!("  next: {next}\n"));
    }
    text
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Act {
    Promote,
    Abort,
    Undo,
}

/// A session compiled from the configuration the last apply recorded in
/// the state (its files and variable values, as `stackc reconcile` does),
/// so `rollout promote|abort|undo` need no `-var`: the rollout goes on with
/// the version it started with.
fn open_applied(
    args: &StackArgs,
    operation: &str,
    runtime: &tokio::runtime::Runtime,
    err: &mut dyn Write,
) -> Result<Session, ExitCode> {
    use crate::pipeline::{self, Expand as _};
    let fail = |err: &mut dyn Write, message: String| {
        let _ = writeln!(err, "error: {message}");
        ExitCode::from(1)
    };
    let stack_dir = pipeline::stack_dir_of(&args.path);
    if !stack_dir.is_dir() {
        return Err(fail(err, format!("`{}` is not a stack directory", args.path.display())));
    }
    let target = match &args.target {
        Some(target) => Some(target.clone()),
        None => match stackc_planner::backend::LocalBackend::targets_present(&stack_dir) {
            Ok(targets) if targets.len() == 1 => targets[0].clone(),
            Ok(targets) if targets.is_empty() => None,
            Ok(_) => {
                return Err(fail(
                    err,
                    "this stack has states for several targets; choose one with --target".into(),
                ))
            }
            Err(error) => return Err(fail(err, error.to_string())),
        },
    };
    let signals = crate::signals::Signals::install(runtime);
    let backend = crate::cmd::state::open_backend(&stack_dir, target.as_deref()).map_err(|m| fail(err, m))?;
    let guard = signals.taking_lock(|| backend.lock(operation)).map_err(|e| fail(err, e.to_string()))?;
    let give_up = |guard: stackc_planner::backend::LockGuard, err: &mut dyn Write, message: String| {
        let _ = guard.release();
        fail(err, message)
    };
    let loaded = match backend.load_detailed() {
        Ok(Some(loaded)) => loaded,
        Ok(None) => {
            return Err(give_up(
                guard,
                err,
                "there is no state for this stack: nothing was applied yet".into(),
            ))
        }
        Err(error) => return Err(give_up(guard, err, error.to_string())),
    };
    let Some(applied) = loaded.state.applied.clone() else {
        return Err(give_up(
            guard,
            err,
            "the state records no applied configuration: run `stackc apply`, or give the stack's -var values to \
             use the stack on disk"
                .into(),
        ));
    };
    let mut checked = match pipeline::check_applied(&applied, &stack_dir, crate::render::Format::Human, err) {
        Ok(checked) => checked,
        Err(_) => {
            return Err(give_up(guard, err, "the recorded configuration does not compile (see above)".into()))
        }
    };
    checked.autoscaled_replicas = loaded.state.autoscaled_replicas();
    checked.rollouts = loaded.state.rollout_steps();
    let graph = match checked.expand(None, crate::render::Format::Human, err) {
        Ok(compiled) => compiled.graph,
        Err(_) => {
            return Err(give_up(guard, err, "the recorded configuration does not expand (see above)".into()))
        }
    };
    let state_loaded = crate::session::LoadedState {
        backend,
        guard: Some(guard),
        state: loaded.state,
        recovered: loaded.recovered,
        state_exists: true,
    };
    Session::assemble(checked, graph, state_loaded, signals, runtime, err)
}

fn act(args: ActArgs, what: Act) -> ExitCode {
    let mut err = std::io::stderr();
    let runtime = match runtime(&mut err) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let operation = match what {
        Act::Promote => "rollout promote",
        Act::Abort => "rollout abort",
        Act::Undo => "rollout undo",
    };
    let from_source = !(args.stack.variables.vars.is_empty() && args.stack.variables.var_files.is_empty());
    let opened = if from_source {
        Session::open(&args.stack, None, operation, true, &runtime, &mut err)
    } else {
        open_applied(&args.stack, operation, &runtime, &mut err)
    };
    let mut session = match opened {
        Ok(session) => session,
        Err(exit) => return exit,
    };
    let exit = (|| {
        let wanted: &[RolloutStatus] = match what {
            Act::Promote => &[RolloutStatus::Paused, RolloutStatus::Kept],
            Act::Abort => &[
                RolloutStatus::Paused,
                RolloutStatus::Applying,
                RolloutStatus::RollingBack,
                RolloutStatus::Kept,
            ],
            Act::Undo => &[RolloutStatus::Kept],
        };
        let instances: Vec<String> = session
            .state
            .rollouts()
            .filter(|(_, r)| wanted.contains(&r.status))
            .map(|(instance, _)| instance.clone())
            .collect();
        if what == Act::Undo {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            let expired: Vec<&String> = instances
                .iter()
                .filter(|i| {
                    session
                        .state
                        .instances
                        .get(*i)
                        .and_then(|s| s.rollout.as_ref())
                        .and_then(|r| r.kept_until_ms)
                        .is_some_and(|until| until < now_ms)
                })
                .collect();
            if !expired.is_empty() {
                let _ = writeln!(
                    err,
                    "error: the old set of {} is no longer kept for an undo (its `keep` expired); apply the old \
                     version again instead, as a new rollout.",
                    expired.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
                );
                return Err(ExitCode::from(1));
            }
        }
        if instances.is_empty() {
            let what = match what {
                Act::Promote => "no rollout is paused or kept: nothing to promote",
                Act::Abort => "no rollout is under way: nothing to abort",
                Act::Undo => "no blue-green rollout keeps its old set: nothing to undo",
            };
            let _ = writeln!(err, "error: {what} (`stackc rollout status` shows the records).");
            return Err(ExitCode::from(1));
        }
        match what {
            Act::Promote => {
                let outcome = crate::rollout::plan(&mut session, PlanOptions::new(), &runtime, &mut err)?;
                let plan = outcome.plan;
                let resumes = plan.rollouts.iter().any(|r| {
                    !r.plain
                        && instances.contains(&r.instance)
                        && session
                            .state
                            .instances
                            .get(&r.instance)
                            .and_then(|i| i.rollout.as_ref())
                            .is_some_and(|rec| rec.version == r.version)
                });
                if !resumes {
                    let _ = writeln!(
                        err,
                        "error: the stack on disk is not the version the rollout of {} started with (its \
                         configuration changed since): run `stackc apply` to roll the new configuration out, or \
                         `stackc rollout abort`.",
                        instances.join(", ")
                    );
                    return Err(ExitCode::from(1));
                }
                let applied = crate::cmd::apply::recorded_configuration(&session, &plan);
                crate::rollout::carry_out(
                    &mut session,
                    &plan,
                    args.parallelism,
                    applied,
                    crate::rollout::Intent::Promote,
                    &runtime,
                    &mut err,
                )
            }
            Act::Abort | Act::Undo => {
                let reason = if what == Act::Abort {
                    "aborted by `stackc rollout abort`"
                } else {
                    "undone by `stackc rollout undo`"
                };
                for instance in &instances {
                    crate::rollout::abort(
                        &mut session,
                        instance,
                        reason,
                        args.parallelism,
                        &runtime,
                        &mut err,
                    )?;
                }
                Ok(())
            }
        }
    })();
    session.release(&mut err);
    match exit {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
