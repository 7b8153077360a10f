//! `stackc apply [DIR | PLANFILE]` and `stackc destroy [DIR]`.
//!
//! Without a plan file: plan (refresh included), show the plan, ask for
//! confirmation (`--auto-approve` skips it; without a terminal it is
//! required), then apply. With a plan file (from `stackc plan --out`): the
//! stack is compiled again with the plan's variable values, and the plan
//! is refused if the state or the sources changed since; otherwise it is
//! applied as it is, without asking.
//!
//! Every finished operation is saved as it finishes (the state's journal);
//! the state file is rewritten once at the end. First Ctrl-C (or SIGTERM,
//! SIGHUP): nothing new starts, running operations finish, the state is
//! saved, the lock is released. Second: running operations are dropped, the
//! state is saved with what finished. Before the apply starts (refresh, the
//! confirmation prompt) a signal releases the lock and exits (`signals.rs`).

use crate::cmd::plan::{kept_volumes_note, options_of, text_style, PlanFlags};
use crate::pipeline::StackArgs;
use crate::progress::{Progress, Stream, TICK};
use crate::session::{self, runtime, Session};
use stackc_compiler::Value;
use stackc_planner::apply::{self, ApplyInput, ApplyReport, Canceller, OperationKind};
use stackc_planner::backend::LocalBackend;
use stackc_planner::plan::Plan;
use stackc_planner::render::plan_text;
use stackc_planner::saved::SavedPlan;
use stackc_planner::state::AppliedConfiguration;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Operations running at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub parallelism: u32,
    /// Local target: deleting a volume (destroy, fewer database instances)
    /// deletes its data too; without it the volume is kept.
    #[arg(long)]
    pub delete_data: bool,
}

/// `stackc destroy`: the same flags; plans the deletion of everything.
pub type DestroyArgs = Args;

fn is_plan_file(path: &Path) -> bool {
    path.is_file() && !path.to_string_lossy().ends_with(crate::stack::STACK_FILE_SUFFIX)
}

pub fn run(args: Args) -> ExitCode {
    execute(args, false)
}

pub fn run_destroy(args: DestroyArgs) -> ExitCode {
    execute(args, true)
}

fn execute(args: Args, destroy: bool) -> ExitCode {
    let stdout = std::io::stdout();
    let mut err = std::io::stderr();
    let runtime = match runtime(&mut err) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    if !destroy && is_plan_file(&args.stack.path) {
        return apply_saved(&args, &runtime, &mut err);
    }
    let operation = if destroy { "destroy" } else { "apply" };
    let mut session = match Session::open(&args.stack, None, operation, args.flags.lock, &runtime, &mut err) {
        Ok(session) => session,
        Err(exit) => return exit,
    };
    if let Some(local) = &session.local {
        local.set_delete_data(args.delete_data);
    }
    let exit = (|| {
        let outcome =
            crate::rollout::plan(&mut session, options_of(&args.flags, destroy), &runtime, &mut err)?;
        let plan = outcome.plan;
        {
            let mut out = stdout.lock();
            let _ = out.write_all(plan_text(&plan, session.sources(), text_style()).as_bytes());
            let _ = out.write_all(kept_volumes_note(&plan, args.delete_data).as_bytes());
            let _ = out.flush();
        }
        let applied = recorded_configuration(&session, &plan);
        if !destroy && rolls_out(&session, &plan) {
            // Rollouts: the plan is the first step's; the loop goes on.
            if plan.has_changes() {
                if !args.auto_approve {
                    confirm(destroy, &mut err)?;
                }
                check_credentials(&session, &plan, &runtime, &mut err)?;
            }
            crate::rollout::carry_out(
                &mut session,
                &plan,
                args.parallelism,
                applied,
                crate::rollout::Intent::Apply,
                &runtime,
                &mut err,
            )?;
            print_outputs(&session);
            return Ok(());
        }
        if !plan.has_changes() {
            let record = applied.as_ref().is_some_and(|applied| {
                session.state_exists
                    && session.state.applied.as_ref().map(|a| &a.source_hash) != Some(&applied.source_hash)
            });
            if !plan.refreshed.is_empty() || session.recovered > 0 || record {
                // Nothing to do but record what refresh read, merge the
                // journal of an interrupted apply into the state, or
                // record this configuration as the applied one.
                carry_out_recording(
                    &mut session,
                    &plan,
                    args.parallelism,
                    Display::Progress(Stream::Stdout),
                    applied,
                    &runtime,
                    &mut err,
                )?;
            }
            return Ok(());
        }
        if !args.auto_approve {
            confirm(destroy, &mut err)?;
        }
        check_credentials(&session, &plan, &runtime, &mut err)?;
        let report = carry_out_recording(
            &mut session,
            &plan,
            args.parallelism,
            Display::Progress(Stream::Stdout),
            applied,
            &runtime,
            &mut err,
        )?;
        finish_report(&session, &report, destroy, &mut err)
    })();
    session.release(&mut err);
    match exit {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn apply_saved(args: &Args, runtime: &tokio::runtime::Runtime, err: &mut dyn Write) -> ExitCode {
    let stack = &args.stack;
    let mut ignored: Vec<&str> = Vec::new();
    if !stack.variables.vars.is_empty() {
        ignored.push("-var");
    }
    if !stack.variables.var_files.is_empty() {
        ignored.push("--var-file");
    }
    if !args.flags.only.is_empty() {
        ignored.push("--only");
    }
    if !args.flags.exclude.is_empty() {
        ignored.push("--exclude");
    }
    if !ignored.is_empty() {
        let _ = writeln!(
            err,
            "error: {} cannot be used with a saved plan: `{}` is applied exactly as it was made, with the values \
             and selection it was made with. Give them to `stackc plan --out FILE` instead. Nothing was changed.",
            ignored.join(" and "),
            stack.path.display()
        );
        return ExitCode::from(crate::EXIT_USAGE);
    }
    let key_for = |header: &stackc_planner::saved::PlanHeader| {
        let dir = crate::pipeline::stack_dir_of(Path::new(&header.stack_path));
        LocalBackend::new(dir, header.target.as_deref()).plan_key(false).map_err(|e| e.to_string())
    };
    let keyring = match crate::cmd::state::keyring() {
        Ok(keyring) => keyring,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            return ExitCode::from(1);
        }
    };
    let saved = match SavedPlan::read(&args.stack.path, keyring.as_deref(), key_for) {
        Ok(saved) => saved,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            return ExitCode::from(1);
        }
    };
    let stack_args = StackArgs {
        path: PathBuf::from(&saved.stack_path),
        target: saved.plan.target.clone(),
        variables: Default::default(),
    };
    let mut session =
        match Session::open(&stack_args, Some(&saved.variables), "apply", args.flags.lock, runtime, err) {
            Ok(session) => session,
            Err(exit) => return exit,
        };
    if let Some(local) = &session.local {
        local.set_delete_data(args.delete_data);
    }
    if !session.state_exists && saved.plan.serial == 0 {
        // The plan was made before any state existed and none exists yet:
        // the state this apply creates takes the plan's lineage.
        session.state.lineage = saved.plan.lineage.clone();
    }
    let exit = (|| {
        let stale = saved.staleness(
            &session.state.lineage,
            session.state.serial,
            session.recovered,
            &session.checked.source_hash,
            session.checked.target.as_deref(),
        );
        if let Some(stale) = stale {
            let _ = writeln!(
                err,
                "error: the saved plan `{}` is stale: {stale}. Nothing was changed. Make a new plan with `stackc \
                 plan --out FILE`.",
                args.stack.path.display()
            );
            return Err(ExitCode::from(1));
        }
        let plan = &saved.plan;
        let summary = plan.summary();
        let _ = writeln!(
            std::io::stdout(),
            "Applying the saved plan `{}`: {} to add, {} to change, {} to destroy.",
            args.stack.path.display(),
            summary.add,
            summary.change,
            summary.destroy
        );
        check_credentials(&session, plan, runtime, err)?;
        let applied = recorded_configuration(&session, plan);
        if !plan.options.destroy && rolls_out(&session, plan) {
            // Step 1 of a rollout is the saved plan; the loop goes on.
            crate::rollout::carry_out(
                &mut session,
                plan,
                args.parallelism,
                applied,
                crate::rollout::Intent::Apply,
                runtime,
                err,
            )?;
            print_outputs(&session);
            return Ok(());
        }
        let report = carry_out_recording(
            &mut session,
            plan,
            args.parallelism,
            Display::Progress(Stream::Stdout),
            applied,
            runtime,
            err,
        )?;
        finish_report(&session, &report, plan.options.destroy, err)
    })();
    session.release(err);
    match exit {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// Whether an apply of `plan` goes through the rollout loop: the plan
/// starts or goes on with a rollout, or the state records one (which a
/// successful apply finishes or clears).
fn rolls_out(session: &Session, plan: &Plan) -> bool {
    plan.rollouts.iter().any(|r| !r.plain) || session.state.rollouts().next().is_some()
}

/// After a rollout: the stack's outputs.
fn print_outputs(session: &Session) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "\nApply complete.");
    if !session.state.outputs.is_empty() {
        let _ = writeln!(out, "\nOutputs:\n");
        let width = session.state.outputs.keys().map(String::len).max().unwrap_or(0);
        for (name, output) in &session.state.outputs {
            let value = if output.sensitive || output.value.has_sensitive() {
                "(sensitive)".to_string()
            } else {
                display(&output.value)
            };
            let _ = writeln!(out, "{name:width$} = {value}");
        }
    }
}

/// The configuration an apply of `plan` records for `stackc reconcile`:
/// that of a whole apply (not a destroy, no `--only` / `--exclude`, which
/// apply part of it).
pub fn recorded_configuration(session: &Session, plan: &Plan) -> Option<AppliedConfiguration> {
    let options = &plan.options;
    let whole = !options.destroy && options.only.is_empty() && options.exclude.is_empty();
    whole.then(|| crate::pipeline::applied_configuration(&session.checked))
}

/// Before the first write to AWS, one call that needs valid credentials
/// (the account id, which the first create asks for anyway): without them
/// apply stops here, cleanly, instead of failing every create it started.
fn check_credentials(
    session: &Session,
    plan: &Plan,
    runtime: &tokio::runtime::Runtime,
    err: &mut dyn Write,
) -> Result<(), ExitCode> {
    let Some(aws) = &session.aws else { return Ok(()) };
    let writes_to_aws = plan.changes.iter().any(|c| {
        c.action != stackc_planner::plan::Action::NoOp
            && c.target.as_deref() == Some(stackc_provider_aws::TARGET)
    });
    if !writes_to_aws {
        return Ok(());
    }
    runtime.block_on(aws.account_id()).map(|_| ()).map_err(|e| {
        let code = e.code.map(|c| format!(" ({c})")).unwrap_or_default();
        let _ = writeln!(
            err,
            "error: the AWS credentials could not be checked before the first change{code}: {}. Nothing was changed.",
            e.message
        );
        ExitCode::from(1)
    })
}

/// Asks "yes?" on the terminal.
fn confirm(destroy: bool, err: &mut dyn Write) -> Result<(), ExitCode> {
    if !std::io::stdin().is_terminal() {
        let _ = writeln!(
            err,
            "error: {} needs a confirmation and stdin is not a terminal. Review the plan above and pass \
             --auto-approve, or save it with `stackc plan {}--out FILE` and run `stackc apply FILE`. Nothing \
             was changed.",
            if destroy { "destroy" } else { "apply" },
            if destroy { "--destroy " } else { "" }
        );
        return Err(ExitCode::from(1));
    }
    let question = if destroy {
        "Destroy every resource above? This cannot be undone. Only 'yes' is accepted: "
    } else {
        "Apply the plan above? Only 'yes' is accepted: "
    };
    let mut out = std::io::stdout();
    let _ = write!(out, "\n{question}");
    let _ = out.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim() != "yes" {
        let _ = writeln!(err, "Cancelled: nothing was changed.");
        return Err(ExitCode::from(1));
    }
    Ok(())
}

/// Applies `plan` with the journal, the progress display (on `stream`) and
/// Ctrl-C handling; commits the state. (`build` generates values with it.)
pub fn carry_out(
    session: &mut Session,
    plan: &Plan,
    parallelism: u32,
    stream: Stream,
    runtime: &tokio::runtime::Runtime,
    err: &mut dyn Write,
) -> Result<ApplyReport, ExitCode> {
    carry_out_recording(session, plan, parallelism, Display::Progress(stream), None, runtime, err)
}

/// How an apply shows what it does.
pub enum Display<'a> {
    /// The progress lines of `apply` (progress.rs) on this stream.
    Progress(Stream),
    /// Events go to this observer alone (`reconcile`'s event lines).
    Observer(&'a dyn stackc_planner::apply::ApplyObserver),
}

/// [`carry_out`], recording `applied` in the state as the last applied
/// configuration when every operation succeeded (`stackc reconcile`
/// compiles it again). A destroy that leaves nothing clears the record.
pub fn carry_out_recording(
    session: &mut Session,
    plan: &Plan,
    parallelism: u32,
    display: Display<'_>,
    applied: Option<AppliedConfiguration>,
    runtime: &tokio::runtime::Runtime,
    err: &mut dyn Write,
) -> Result<ApplyReport, ExitCode> {
    let fail = |err: &mut dyn Write, message: String| {
        let _ = writeln!(err, "error: {message}");
        ExitCode::from(1)
    };
    let Some(guard) = session.guard.as_ref() else {
        return Err(fail(err, "apply needs the state lock; run it without --lock=false".to_string()));
    };
    session.signals.saving();
    let mut journal =
        session.backend.begin_journal(guard, &mut session.state).map_err(|e| fail(err, e.to_string()))?;
    let (canceller, cancel) = Canceller::new();
    session.signals.applying(canceller);
    let operations = plan
        .changes
        .iter()
        .map(|c| match c.action {
            stackc_planner::plan::Action::NoOp => 0,
            stackc_planner::plan::Action::Replace => 2,
            _ => 1,
        })
        .sum();
    let progress = match display {
        Display::Progress(stream) => Some(Progress::new(operations, stream)),
        Display::Observer(_) => None,
    };
    if let (Some(local), Some(progress)) = (&session.local, &progress) {
        // Image pulls report their layers as they go.
        let shown = progress.clone();
        local.set_progress(Some(std::sync::Arc::new(move |address: &str, text: &str| {
            shown.note(address, text)
        })));
    }
    let observer: &dyn stackc_planner::apply::ApplyObserver = match (&display, &progress) {
        (_, Some(progress)) => progress,
        (Display::Observer(observer), None) => *observer,
        (Display::Progress(_), None) => &stackc_planner::apply::Silent,
    };
    let result = runtime.block_on(async {
        let ticker = progress.clone().map(|progress| {
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(TICK);
                interval.tick().await;
                loop {
                    interval.tick().await;
                    progress.tick();
                }
            })
        });
        let result = apply::apply(ApplyInput {
            plan,
            graph: &session.graph,
            providers: &session.providers,
            state: &mut session.state,
            journal: &mut journal,
            parallelism: parallelism as usize,
            observer,
            cancel,
        })
        .await;
        if let Some(ticker) = ticker {
            ticker.abort();
        }
        if let Some(progress) = &progress {
            progress.finish();
        }
        result
    });
    if let Some(local) = &session.local {
        local.set_progress(None);
    }
    // From here the journal is committed into the state: signals wait.
    session.signals.saving();
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            // What was recorded is in the journal; the next load replays it.
            return Err(fail(
                err,
                format!(
                    "{error}. Every operation recorded before this is kept in `{}` and is part of the state the \
                     next command loads.",
                    journal.path().display()
                ),
            ));
        }
    };
    if report.succeeded() {
        if let Some(applied) = applied {
            session.state.applied = Some(applied);
        }
    }
    if plan.options.destroy && session.state.resources.is_empty() {
        session.state.applied = None;
    }
    if plan.options.destroy {
        // A destroyed instance's rollout record goes with it.
        let gone: Vec<String> = session
            .state
            .rollouts()
            .map(|(instance, _)| instance.clone())
            .filter(|instance| {
                let prefix = format!("{instance}/");
                !session.state.resources.keys().any(|a| a.as_str().starts_with(&prefix))
            })
            .collect();
        for instance in gone {
            session.state.set_rollout(&instance, None);
        }
    }
    journal.commit(&mut session.state).map_err(|e| {
        fail(err, format!("{e}. The operations are recorded in the journal; the next command loads them."))
    })?;
    if plan.options.destroy && session.state.resources.is_empty() {
        // The backup would keep the secrets of everything just destroyed.
        session.backend.remove_backup().map_err(|e| fail(err, e.to_string()))?;
    }
    Ok(report)
}

/// Prints failures, the summary and the outputs; `Err(1)` unless everything succeeded.
fn finish_report(
    session: &Session,
    report: &ApplyReport,
    destroy: bool,
    err: &mut dyn Write,
) -> Result<(), ExitCode> {
    report_problems(session, report, err);
    let mut out = std::io::stdout();
    let word = if report.succeeded() {
        "complete"
    } else if report.cancelled {
        "interrupted"
    } else {
        "failed"
    };
    let _ = writeln!(
        out,
        "\n{} {word}: {} added, {} changed, {} destroyed.",
        if destroy { "Destroy" } else { "Apply" },
        report.count(OperationKind::Create),
        report.count(OperationKind::Update),
        report.count(OperationKind::Delete),
    );
    if !report.failed.is_empty() {
        let n = report.failed.len();
        let _ = writeln!(out, "{n} operation{} failed (see above).", if n == 1 { "" } else { "s" });
    }
    if !destroy && !session.state.outputs.is_empty() {
        let _ = writeln!(out, "\nOutputs:\n");
        let width = session.state.outputs.keys().map(String::len).max().unwrap_or(0);
        for (name, output) in &session.state.outputs {
            let value = if output.sensitive || output.value.has_sensitive() {
                "(sensitive)".to_string()
            } else {
                display(&output.value)
            };
            let _ = writeln!(out, "{name:width$} = {value}");
        }
    }
    if report.succeeded() {
        Ok(())
    } else {
        Err(ExitCode::from(1))
    }
}

/// Writes what went wrong in an apply: each failure at its source, what
/// was not done and why, interrupted operations, outputs not updated.
pub fn report_problems(session: &Session, report: &ApplyReport, err: &mut dyn Write) {
    if !report.failed.is_empty() {
        // By address, not by when each failed: the same failures read the
        // same on every run.
        let mut problems: Vec<_> =
            report.failed.iter().map(|f| session::apply_failure(session.sources(), f)).collect();
        problems.sort_by(|a, b| a.address.cmp(&b.address));
        session::emit_problems(session.sources(), &problems, err);
    }
    // Grouped by cause: a failure near the root can stop many operations.
    // Causes and operations in order, not as they were found: the same
    // failures read the same on every run.
    let mut skipped: std::collections::BTreeMap<&str, Vec<String>> = std::collections::BTreeMap::new();
    for (address, kind, because) in &report.skipped {
        skipped.entry(because.as_str()).or_default().push(format!("{} of `{address}`", kind.as_str()));
    }
    for (because, mut operations) in skipped {
        operations.sort();
        let shown = operations.len().min(10);
        let more = if operations.len() > shown {
            format!(" and {} more", operations.len() - shown)
        } else {
            String::new()
        };
        let _ = writeln!(err, "not done because {because}: {}{more}", operations[..shown].join(", "));
    }
    for (address, kind) in &report.interrupted {
        let _ = writeln!(
            err,
            "interrupted: {} of `{address}`: its outcome is unknown; the next plan reads the object to find out",
            kind.as_str()
        );
    }
    for (name, why) in &report.output_problems {
        let _ = writeln!(err, "warning: output `{name}` was not updated: {why}");
    }
}

fn display(value: &Value) -> String {
    value.to_string()
}
