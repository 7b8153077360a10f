//! `stackc plan`: refresh, then show what apply would change and why.
//!
//! Exit codes: 0 success (with `--detailed-exitcode`: 0 no changes, 2
//! changes), 1 error, 64 a usage error (`main.rs`), 128+n stopped by
//! signal n (`signals.rs`). `--out FILE` saves the plan for `stackc apply FILE`;
//! `--json` prints it as JSON (schema: docs/plan-json.md).

use crate::pipeline::StackArgs;
use crate::session::{self, runtime, Session};
use stackc_planner::plan::{Plan, PlanOptions};
use stackc_planner::planning::{self, PlanInput, PlanOutcome};
use stackc_planner::render::{plan_json, plan_text, Style};
use stackc_planner::saved::SavedPlan;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// What `plan`, `apply` and `destroy` share.
#[derive(clap::Args, Clone, Debug)]
pub struct PlanFlags {
    /// Read every object first to find changes made outside stackc
    /// (`--refresh=false` plans from the state alone).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub refresh: bool,
    /// Only these resources (and what they depend on). An instance
    /// (`service.api`) names every resource it expanded to. Repeatable.
    #[arg(long = "only", value_name = "ADDR")]
    pub only: Vec<String>,
    /// Not these resources, nor what depends on them. Repeatable.
    #[arg(long = "exclude", value_name = "ADDR")]
    pub exclude: Vec<String>,
    /// Take the state lock (`--lock=false` to skip, at your own risk).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub lock: bool,
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Plan to destroy every resource in the state.
    #[arg(long)]
    pub destroy: bool,
    /// Save the plan to FILE, for `stackc apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the plan as JSON (docs/plan-json.md).
    #[arg(long)]
    pub json: bool,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Local target: plan as `apply --delete-data` / `destroy --delete-data`
    /// would (a deleted volume's data goes too); without it the plan says
    /// which volumes are kept.
    #[arg(long)]
    pub delete_data: bool,
}

/// The data volumes (local target) that the plan deletes from the state
/// but keeps on the Engine with their data, as apply does without
/// `--delete-data` (a replaced volume's old one is kept too).
pub fn kept_volumes(plan: &Plan, delete_data: bool) -> Vec<String> {
    use stackc_planner::plan::Action;
    if delete_data {
        return Vec::new();
    }
    plan.changes
        .iter()
        .filter(|c| c.type_name == "docker_volume" && matches!(c.action, Action::Delete | Action::Replace))
        .map(|c| c.address.to_string())
        .collect()
}

/// What the plan text says of data volumes it deletes.
pub fn kept_volumes_note(plan: &Plan, delete_data: bool) -> String {
    let kept = kept_volumes(plan, delete_data);
    if !kept.is_empty() {
        return format!(
            "Data volumes are kept on the Docker Engine (only their state entry goes): {}. Run with \
             --delete-data to delete them and their data.\n",
            kept.join(", ")
        );
    }
    let deleted = kept_volumes(plan, false);
    if deleted.is_empty() {
        String::new()
    } else {
        format!("--delete-data: these volumes and their data are deleted: {}.\n", deleted.join(", "))
    }
}

/// Colour for plan text: stdout a terminal and `NO_COLOR` unset.
pub fn text_style() -> Style {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Style { color: !no_color && std::io::stdout().is_terminal() }
}

/// Makes the plan of an open session; problems are written to `err` and
/// give `Err(exit code)`.
pub fn make_plan(
    session: &Session,
    options: PlanOptions,
    runtime: &tokio::runtime::Runtime,
    err: &mut dyn Write,
) -> Result<PlanOutcome, ExitCode> {
    let outcome = runtime.block_on(planning::plan(PlanInput {
        graph: &session.graph,
        state: &session.state,
        providers: &session.providers,
        options: &options,
    }));
    for pattern in &outcome.unmatched_patterns {
        let _ = writeln!(err, "warning: `{pattern}` names no resource of this stack or its state");
    }
    if !outcome.problems.is_empty() {
        let problems: Vec<_> =
            outcome.problems.iter().map(|p| session::plan_problem(session.sources(), p)).collect();
        session::emit_problems(session.sources(), &problems, err);
        let n = problems.len();
        let _ =
            writeln!(err, "error: the plan could not be made ({n} problem{})", if n == 1 { "" } else { "s" });
        return Err(ExitCode::from(1));
    }
    Ok(outcome)
}

pub fn options_of(flags: &PlanFlags, destroy: bool) -> PlanOptions {
    PlanOptions {
        refresh: flags.refresh,
        destroy,
        only: flags.only.clone(),
        exclude: flags.exclude.clone(),
        report_drift: Vec::new(),
        hold: Vec::new(),
    }
}

pub fn run(args: Args) -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    if let Some(path) = &args.out {
        // Before the refresh: a device or a symlink there is never replaced.
        if let Err(error) = stackc_planner::files::check_replaceable(path) {
            let _ = writeln!(err, "error: cannot write the plan to `{}`: {error}", path.display());
            return ExitCode::from(1);
        }
    }
    let runtime = match runtime(&mut err) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let mut session = match Session::open(&args.stack, None, "plan", args.flags.lock, &runtime, &mut err) {
        Ok(session) => session,
        Err(exit) => return exit,
    };
    let result = plan_and_show(&args, &mut session, &runtime, &mut out, &mut err);
    session.release(&mut err);
    let _ = out.flush();
    let exit = match &result {
        Ok(plan) if args.detailed_exitcode && plan.has_changes() => ExitCode::from(2),
        Ok(_) => ExitCode::SUCCESS,
        Err(exit) => *exit,
    };
    // The process ends right after (the lock is released, the output
    // flushed): freeing the stack, its graph, the state and the plan
    // would only delay it. The rest (providers, connections) is dropped.
    let Session { checked, graph, state, .. } = session;
    std::mem::forget((checked, graph, state, result));
    exit
}

fn plan_and_show(
    args: &Args,
    session: &mut Session,
    runtime: &tokio::runtime::Runtime,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Plan, ExitCode> {
    let outcome = crate::rollout::plan(session, options_of(&args.flags, args.destroy), runtime, err)?;
    let plan = outcome.plan;
    let written = if args.json {
        let mut json = plan_json(&plan, session.sources());
        json["kept_volumes"] = serde_json::json!(kept_volumes(&plan, args.delete_data));
        serde_json::to_writer_pretty(&mut *out, &json)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
    } else {
        out.write_all(plan_text(&plan, session.sources(), text_style()).as_bytes())
            .and_then(|()| out.write_all(kept_volumes_note(&plan, args.delete_data).as_bytes()))
    };
    if let Err(error) = written {
        let _ = writeln!(err, "error: cannot write the plan: {error}");
        return Err(ExitCode::from(1));
    }
    if let Some(path) = &args.out {
        let fail = |err: &mut dyn Write, message: String| {
            let _ = writeln!(err, "error: {message}");
            ExitCode::from(1)
        };
        // Absolute: `apply FILE` from any directory applies to this stack.
        let stack_path = std::fs::canonicalize(&args.stack.path)
            .map_err(|e| fail(err, format!("cannot resolve `{}`: {e}", args.stack.path.display())))?;
        let key = session.backend.plan_key(true).map_err(|e| fail(err, e.to_string()))?;
        let saved = SavedPlan {
            plan: plan.clone(),
            source_hash: session.checked.source_hash.clone(),
            stack_path: stack_path.to_string_lossy().into_owned(),
            variables: session.checked.hir.variables.clone(),
            stackc_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        // A plan holds what the state holds: never in plain text beside an encrypted state.
        session.backend.check_plaintext_allowed().map_err(|e| fail(err, e.to_string()))?;
        if let Err(message) = saved.write(path, &key, session.backend.keyring().map(|k| &**k)) {
            let _ = writeln!(err, "error: {message}");
            return Err(ExitCode::from(1));
        }
        if !args.json {
            let _ = writeln!(
                out,
                "\nSaved the plan to `{}`. Apply exactly this plan with `stackc apply {}`.",
                path.display(),
                path.display()
            );
        }
    }
    Ok(plan)
}
