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
//! the local state, `.stackc/<target>/state.json`, read without a lock and
//! never written. Without it, the manifests that need it are not written
//! (never a placeholder): build names them and why, writes the others, and
//! exits 1, so a script does not `kubectl apply` an incomplete set.
//!
//! A Service whose selector matches no workload of the build, or an
//! autoscaler whose target is not in it, is a warning on stderr.
//!
//! Exit codes: 0 everything written, 1 any error (diagnostics, state,
//! manifests pending, I/O).

use crate::pipeline::{self, Failed, StackArgs};
use crate::render::Format;
use stackc_compiler::expand::PriorLookup;
use stackc_planner::backend::LocalBackend;
use stackc_provider_kubernetes::manifest::Manifest;
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
        if let Some(problem) = yaml_target_problem(checked.target.as_deref(), &checked.hir.targets) {
            return Err(fail(err, problem));
        }
    }
    // Generated values from the last apply; the state is only read.
    let backend = LocalBackend::new(&checked.stack_dir, checked.target.as_deref());
    let state = backend.load().map_err(|error| fail(err, error))?;
    let prior = state.as_ref().map(pipeline::prior_from_state);
    let prior: Option<PriorLookup<'_>> = prior.as_ref().map(|p| p as PriorLookup<'_>);
    let compiled = checked.expand(prior, Format::Human, err)?;

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
                    write_file(&path, text.as_bytes(), false)
                        .map_err(|e| fail(err, format!("cannot write `{}`: {e}", path.display())))?;
                    let _ = writeln!(err, "wrote the resource graph to {}", path.display());
                    Ok(())
                }
            }
        }
        BuildFormat::Yaml => {
            let build =
                stackc_provider_kubernetes::build::build(&compiled.graph).map_err(|e| fail(err, e))?;
            // A Service selecting nothing, an autoscaler scaling nothing: a
            // mistake of a component body (a platform team's own, say) that
            // the API server would accept silently.
            if let Ok(all) = stackc_provider_kubernetes::manifest::collect(&compiled.graph) {
                for problem in stackc_provider_kubernetes::manifest::dangling_references(&all) {
                    let _ = writeln!(err, "warning: {problem}");
                }
            }
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
                "error: {} {} on values generated at apply, so {} not written:",
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

/// Why `--format yaml` cannot be built for this target, if it cannot.
fn yaml_target_problem(target: Option<&str>, declared: &[String]) -> Option<String> {
    let kubernetes = stackc_provider_kubernetes::TARGET;
    match target {
        Some(t) if t == kubernetes => None,
        // Several targets and none chosen: expansion says so (E0506).
        None if declared.len() > 1 => None,
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
/// Files with a Secret are readable by their owner only.
fn write_manifests(dir: &Path, manifests: &[Manifest], err: &mut dyn Write) -> Result<usize, Failed> {
    create_dir(dir).map_err(|e| fail(err, e))?;
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
    for (name, manifest) in &names {
        let text = manifest.to_yaml().map_err(|e| fail(err, e))?;
        let path = dir.join(name);
        write_file(&path, text.as_bytes(), manifest.kind == "Secret")
            .map_err(|e| fail(err, format!("cannot write `{}`: {e}", path.display())))?;
    }
    Ok(names.len())
}

/// Replaces `path` atomically, never through a symlink or over anything
/// but a regular file (a symlink planted in DIR must not make a build
/// write outside it).
fn write_file(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    let mode = if private { stackc_planner::files::OWNER_ONLY } else { 0o644 };
    stackc_planner::files::write_replacing(path, bytes, mode)
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
        assert_eq!(yaml_target_problem(Some("kubernetes"), &[]), None);
        assert_eq!(yaml_target_problem(None, &["aws".into(), "kubernetes".into()]), None);
        assert!(yaml_target_problem(Some("aws"), &["aws".into()]).unwrap().contains("`--format json`"));
        assert!(yaml_target_problem(None, &[]).unwrap().contains("no target"));
    }
}
