//! `stackc build [PATH] --target T [-o DIR] [--format yaml|json]`: compile a
//! stack without touching any real object.
//!
//! - `--format yaml` (kubernetes only): the Kubernetes manifests, as one
//!   multi-document stream on stdout, or with `-o DIR` one file per object,
//!   named `NN-kind-name.yaml` so that `kubectl apply -f DIR` (which reads a
//!   directory in name order) creates namespaces first and workloads after
//!   what they mount.
//! - `--format json` (every target): the resource graph (addresses, types,
//!   values, unknown and sensitive paths, dependencies, provenance), resources
//!   sorted by address; on stdout, or `DIR/graph.json` with `-o DIR`.
//!
//! A value generated at apply (a `random_password`'s `result`) is taken from
//! the local state, `.stackc/<target>/state.json`. When a manifest waits for
//! values that built-in resources make (a generated password needs no
//! cluster), build makes them the way apply does: it takes the state's
//! lock, plans those resources only (`--only`, with what they depend on),
//! applies that plan through the apply engine (journal, atomic state
//! write) and writes the complete set; the next build reuses them, so its
//! files are the same bytes. A manifest that waits for anything else is
//! not written (never a placeholder): build names it and why, writes the
//! others, and exits 1, so a script does not `kubectl apply` an incomplete
//! set. A build that needs nothing generated only reads the state, unlocked.
//!
//! A Service whose selector matches no workload of the build, or an
//! autoscaler whose target is not in it, is a warning on stderr; so is an
//! object the schemas accept but that will not work once applied
//! (`stackc_provider_kubernetes::checks`). Each
//! workload with a rollout gets a line on stderr saying what its manifests
//! do when a new version ships (`stackc_provider_kubernetes::rollout`):
//! stackc carries out no rollout step on Kubernetes.
//!
//! Exit codes: 0 everything written, 1 any error (diagnostics, state,
//! manifests pending, I/O).

use crate::cmd::apply::{carry_out, report_problems};
use crate::cmd::plan::make_plan;
use crate::pipeline::{self, CheckedStack, Expand as _, Failed, StackArgs};
use crate::progress::Stream;
use crate::render::Format;
use crate::session::Session;
use stackc_compiler::expand::PriorLookup;
use stackc_compiler::graph::{ResourceAddress, ResourceGraph};
use stackc_planner::apply::OperationKind;
use stackc_planner::files::NewDir;
use stackc_planner::plan::{Action, PlanOptions};
use stackc_planner::state::State;
use stackc_provider_kubernetes::build::Pending;
use stackc_provider_kubernetes::manifest::Manifest;
use std::collections::{BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Write into this directory (created if needed) instead of stdout: one
    /// file per Kubernetes object, or `graph.json`. Manifests of an earlier
    /// build that this one no longer produces are removed from it.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// What to write.
    #[arg(long, value_enum, default_value_t = BuildFormat::Yaml)]
    pub format: BuildFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BuildFormat {
    /// Kubernetes manifests (target `kubernetes`).
    Yaml,
    /// The resource graph, for any target.
    Json,
}

/// The file `--format json -o DIR` writes.
pub const GRAPH_FILE: &str = "graph.json";

pub fn run(args: Args) -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let exit = match build(&args, &mut out, &mut err) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failed) => failed.exit,
    };
    let _ = out.flush();
    let _ = err.flush();
    exit
}

/// Prints `error: {message}` and fails.
fn fail(err: &mut dyn Write, message: impl std::fmt::Display) -> Failed {
    let _ = writeln!(err, "error: {message}");
    Failed { exit: ExitCode::from(1) }
}

fn build(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Failed> {
    let checked = pipeline::check_stack(&args.stack, Format::Human, err)?;
    if args.format == BuildFormat::Yaml {
        if let Some(problem) = yaml_target_problem(checked.target.as_deref(), checked.hir.targets.len()) {
            return Err(fail(err, problem));
        }
    }
    // Generated values from the last apply or build; the state is only read.
    let backend = crate::cmd::state::open_backend(&checked.stack_dir, checked.target.as_deref())
        .map_err(|message| fail(err, message))?;
    let state = backend.load().map_err(|error| fail(err, error))?;
    let mut compiled = expand_with(&checked, state.as_ref(), err)?;
    let mut checked = checked;
    if args.format == BuildFormat::Yaml {
        let waiting = stackc_provider_kubernetes::build::pending(&compiled.graph).unwrap_or_default();
        let needed = generated_inputs(&compiled.graph, &waiting);
        if !needed.is_empty() {
            let (again, state) = generate(checked, &needed, err)?;
            checked = again;
            compiled = expand_with(&checked, Some(&state), err)?;
        }
    }

    let result = write_build(args, &checked, &compiled, out, err);
    // The process ends right after: freeing the compiled stack (a large
    // one's is hundreds of thousands of allocations) would only delay it.
    std::mem::forget((checked, compiled));
    result
}

/// The warnings, then the build's output (to `out` or into `--out`).
fn write_build(
    args: &Args,
    checked: &CheckedStack,
    compiled: &pipeline::Compiled,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Failed> {
    let mut warnings = checked.warnings.clone();
    warnings.extend(compiled.warnings.iter().cloned());
    if !warnings.is_empty() {
        checked.emit(Format::Human, &warnings, err);
    }

    match args.format {
        BuildFormat::Json => {
            let mut json = stackc_compiler::expand::render::graph_json(
                &compiled.graph,
                &checked.sources,
                checked.target.as_deref(),
            );
            if let Some(resources) = json.get_mut("resources").and_then(|r| r.as_array_mut()) {
                resources.sort_by(|a, b| a["address"].as_str().cmp(&b["address"].as_str()));
            }
            let text = serde_json::to_string_pretty(&json).map_err(|e| fail(err, e))? + "\n";
            match &args.out {
                None => out.write_all(text.as_bytes()).map_err(|e| fail(err, format!("cannot write: {e}"))),
                Some(dir) => {
                    create_dir(dir).map_err(|e| fail(err, e))?;
                    let path = dir.join(GRAPH_FILE);
                    stackc_planner::files::write_output(&path, text.as_bytes(), 0o644)
                        .map_err(|e| fail(err, format!("cannot write `{}`: {e}", path.display())))?;
                    let _ = writeln!(err, "wrote the resource graph to {}", path.display());
                    Ok(())
                }
            }
        }
        BuildFormat::Yaml => {
            let all =
                stackc_provider_kubernetes::manifest::collect(&compiled.graph).map_err(|e| fail(err, e))?;
            // A Service selecting nothing, an autoscaler scaling nothing: a
            // mistake of a component body (a platform team's own, say) that
            // the API server would accept silently.
            for problem in stackc_provider_kubernetes::manifest::dangling_references(&all) {
                let _ = writeln!(err, "warning: {problem}");
            }
            // Valid by the schemas, refused or useless once applied.
            for problem in stackc_provider_kubernetes::checks::unworkable(&all) {
                let _ = writeln!(err, "warning: {problem}");
            }
            // What the files do when a new version ships: stackc carries
            // out no rollout step on Kubernetes, so say what they do.
            let rollouts = stackc_provider_kubernetes::rollout::describe(&all);
            for rollout in &rollouts {
                let _ = writeln!(err, "{rollout}");
            }
            if rollouts.iter().any(|r| r.canary.is_some()) {
                let _ = writeln!(err, "note: {}", stackc_provider_kubernetes::rollout::SELECTOR_NOTE);
            }
            let build = stackc_provider_kubernetes::build::split(&compiled.graph, all);
            let written = match &args.out {
                None => {
                    let stream = stackc_provider_kubernetes::manifest::to_yaml_stream(&build.ready)
                        .map_err(|e| fail(err, e))?;
                    out.write_all(stream.as_bytes()).map_err(|e| fail(err, format!("cannot write: {e}")))?;
                    None
                }
                Some(dir) => Some(write_manifests(dir, &build.ready, err)?),
            };
            if build.pending.is_empty() {
                if let (Some(dir), Some(count)) = (&args.out, written) {
                    let _ = writeln!(
                        err,
                        "wrote {} to {}; apply with `kubectl apply -f {}`",
                        plural(count, "manifest"),
                        dir.display(),
                        dir.display()
                    );
                }
                return Ok(());
            }
            let n = build.pending.len();
            let _ = writeln!(
                err,
                "error: {} {} on values build cannot know, so {} not written:",
                plural(n, "manifest"),
                if n == 1 { "depends" } else { "depend" },
                if n == 1 { "it was" } else { "they were" },
            );
            for pending in &build.pending {
                let _ = writeln!(err, "  {pending}");
            }
            let place = match &args.out {
                Some(dir) => format!("to {}", dir.display()),
                None => "to stdout".to_string(),
            };
            let _ = writeln!(
                err,
                "wrote the other {} {place}; without the {} above they are not a complete set",
                plural(build.ready.len(), "manifest"),
                if n == 1 { "one" } else { "ones" },
            );
            Err(Failed { exit: ExitCode::from(1) })
        }
    }
}

/// The stack expanded with the values recorded in `state`.
fn expand_with(
    checked: &CheckedStack,
    state: Option<&State>,
    err: &mut dyn Write,
) -> Result<pipeline::Compiled, Failed> {
    let prior = state.map(pipeline::prior_from_state);
    let prior: Option<PriorLookup<'_>> = prior.as_ref().map(|p| p as PriorLookup<'_>);
    checked.expand(prior, Format::Human, err)
}

/// The built-in resources (a `random_password`) that the `pending`
/// manifests wait for, directly or through other resources, and that
/// depend on built-in resources only: build can make them without any
/// target's API. Sorted.
fn generated_inputs(graph: &ResourceGraph, pending: &[Pending]) -> Vec<ResourceAddress> {
    let builtin = |address: &ResourceAddress| graph.get(address).is_some_and(|n| n.target.is_none());
    // Everything the pending manifests depend on, transitively.
    let mut reached: BTreeSet<ResourceAddress> = BTreeSet::new();
    let mut stack: Vec<&ResourceAddress> = pending.iter().map(|p| &p.address).collect();
    while let Some(address) = stack.pop() {
        for dependency in graph.get(address).map(|n| n.dependencies.as_slice()).unwrap_or_default() {
            if reached.insert(dependency.clone()) {
                stack.push(dependency);
            }
        }
    }
    // Keep those whose own dependencies are all built-in, transitively.
    let only_builtin_below = |start: &ResourceAddress| {
        let mut seen: HashSet<&ResourceAddress> = HashSet::new();
        let mut stack = vec![start];
        while let Some(address) = stack.pop() {
            if !builtin(address) {
                return false;
            }
            for dependency in graph.get(address).map(|n| n.dependencies.as_slice()).unwrap_or_default() {
                if seen.insert(dependency) {
                    stack.push(dependency);
                }
            }
        }
        true
    };
    reached.into_iter().filter(|a| only_builtin_below(a)).collect()
}

/// Makes the built-in resources `needed` as `stackc apply --only` would:
/// under the state's lock, planned (refresh included) and applied through
/// the apply engine, each result journalled, the state written atomically.
/// Returns the stack and the new state.
fn generate(
    checked: CheckedStack,
    needed: &[ResourceAddress],
    err: &mut dyn Write,
) -> Result<(CheckedStack, State), Failed> {
    let failed = |exit| Failed { exit };
    let runtime = crate::session::runtime(err).map_err(failed)?;
    // Planning expands without state, as `plan` does.
    let graph = checked.expand(None, Format::Human, err)?.graph;
    let mut session = Session::attach(checked, graph, "build", true, &runtime, err).map_err(failed)?;
    let made = (|| {
        let only = needed.iter().map(|a| a.as_str().to_string()).collect();
        let options = PlanOptions {
            refresh: true,
            destroy: false,
            only,
            exclude: Vec::new(),
            report_drift: Vec::new(),
            hold: Vec::new(),
        };
        let plan = make_plan(&session, options, &runtime, err)?.plan;
        // `generated_inputs` chose resources that need no target's API;
        // never call one from build, whatever the plan holds.
        if let Some(change) = plan.changes.iter().find(|c| c.action != Action::NoOp && c.target.is_some()) {
            let _ = writeln!(
                err,
                "error: generating values would also {} `{}`, which build does not do; nothing was changed",
                change.action.as_str(),
                change.address
            );
            return Err(ExitCode::from(1));
        }
        if !plan.has_changes() {
            return Ok(0);
        }
        let report = carry_out(&mut session, &plan, 10, Stream::Stderr, &runtime, err)?;
        report_problems(&session, &report, err);
        if !report.succeeded() {
            return Err(ExitCode::from(1));
        }
        Ok(report.count(OperationKind::Create))
    })();
    session.release(err);
    let made = made.map_err(failed)?;
    if made > 0 {
        let _ = writeln!(
            err,
            "generated {} and recorded {} in {} (serial {}); later builds reuse {}",
            plural(made, "value"),
            if made == 1 { "it" } else { "them" },
            crate::cmd::state::state_shown(&session.backend),
            session.state.serial,
            if made == 1 { "it" } else { "them" },
        );
    }
    Ok((session.checked, session.state))
}

/// Why `--format yaml` cannot be built for this target, if it cannot.
fn yaml_target_problem(target: Option<&str>, declared: usize) -> Option<String> {
    let kubernetes = stackc_provider_kubernetes::TARGET;
    match target {
        Some(t) if t == kubernetes => None,
        // Several targets and none chosen: expansion says so (E0506).
        None if declared > 1 => None,
        Some(other) => Some(format!(
            "target `{other}` has no manifests to write: `--format yaml` writes Kubernetes manifests \
             (`--target {kubernetes}`); `--format json` prints the resource graph of any target"
        )),
        None => Some(format!(
            "this stack has no target, so no manifests to write: `--format yaml` writes Kubernetes \
             manifests (`--target {kubernetes}`); `--format json` prints the resource graph"
        )),
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn create_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the directory `{}`: {e}", dir.display()))
}

/// Whether `name` is one of the files a build writes (`NN-kind-name.yaml`).
fn is_manifest_file(name: &str) -> bool {
    let bytes = name.as_bytes();
    name.ends_with(".yaml")
        && bytes.len() > 3
        && bytes[0].is_ascii_digit()
        && bytes[1].is_ascii_digit()
        && bytes[2] == b'-'
}

/// Writes one file per manifest into `dir`, removes manifests of an earlier
/// build that this one does not write, and returns how many were written.
/// Files with a Secret are readable by their owner only. A `dir` that does
/// not exist yet, or is empty, is written whole beside it and renamed into
/// place ([`NewDir`]): an error part way leaves no `dir`. Into anything
/// else, file by file, each replaced atomically and only if it changed.
fn write_manifests(dir: &Path, manifests: &[Manifest], err: &mut dyn Write) -> Result<usize, Failed> {
    let mut names: std::collections::BTreeMap<String, &Manifest> = std::collections::BTreeMap::new();
    for manifest in manifests {
        let name = manifest.file_name();
        if let Some(other) = names.insert(name.clone(), manifest) {
            return Err(fail(
                err,
                format!(
                    "`{}` and `{}` would both be written to `{name}`: two {} objects are named `{}`",
                    other.address, manifest.address, manifest.kind, manifest.name
                ),
            ));
        }
    }
    let new = NewDir::begin(dir)
        .map_err(|e| fail(err, format!("cannot create the directory `{}`: {e}", dir.display())))?;
    if new.is_none() {
        create_dir(dir).map_err(|e| fail(err, e))?;
        let entries =
            std::fs::read_dir(dir).map_err(|e| fail(err, format!("cannot list `{}`: {e}", dir.display())))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_manifest_file(&name) && !names.contains_key(&name) && entry.path().is_file() {
                std::fs::remove_file(entry.path())
                    .map_err(|e| fail(err, format!("cannot remove `{}`: {e}", entry.path().display())))?;
                let _ = writeln!(err, "removed {} (not part of this build)", entry.path().display());
            }
        }
    }
    for (name, manifest) in &names {
        let text = manifest.to_yaml().map_err(|e| fail(err, e))?;
        let mode = file_mode(manifest);
        let written = match &new {
            // Nobody sees the new directory yet: plain writes.
            Some(new) => new.write(name, text.as_bytes(), mode),
            // Replaced atomically, never through a symlink or over anything
            // but a regular file (a symlink planted in DIR must not make a
            // build write outside it), and only if it changed.
            None => stackc_planner::files::write_output(&dir.join(name), text.as_bytes(), mode),
        };
        written.map_err(|e| fail(err, format!("cannot write `{}`: {e}", dir.join(name).display())))?;
    }
    if let Some(new) = new {
        new.finish()
            .map_err(|e| fail(err, format!("cannot create the directory `{}`: {e}", dir.display())))?;
    }
    Ok(names.len())
}

/// A Secret's file is readable by its owner only.
fn file_mode(manifest: &Manifest) -> u32 {
    if manifest.kind == "Secret" {
        stackc_planner::files::OWNER_ONLY
    } else {
        0o644
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_file_names_are_recognised() {
        assert!(is_manifest_file("00-namespace-shop.yaml"));
        assert!(is_manifest_file("06-deployment-api.yaml"));
        assert!(!is_manifest_file("kustomization.yaml"));
        assert!(!is_manifest_file("06-deployment-api.yml"));
        assert!(!is_manifest_file("README.md"));
    }

    #[test]
    fn yaml_needs_the_kubernetes_target() {
        assert_eq!(yaml_target_problem(Some("kubernetes"), 0), None);
        assert_eq!(yaml_target_problem(None, 2), None);
        assert!(yaml_target_problem(Some("aws"), 1).unwrap().contains("`--format json`"));
        assert!(yaml_target_problem(None, 0).unwrap().contains("no target"));
    }
}
