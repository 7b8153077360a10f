//! The command line's side of the compile pipeline: `PATH`, `--target` and
//! the variables as arguments, and problems rendered. What checking and
//! compiling a stack mean is the driver's (`stackc_driver`): every command
//! that compiles a stack (`check`, `build`, `graph`, `plan`, `apply`,
//! `destroy`) calls [`check_stack`], then [`Expand::expand`]; both render
//! their errors themselves (to the writer they are given, in the format
//! asked for) and return [`Failed`] with the exit code, so a command only
//! decides what to do with a stack that compiled.

use crate::render::{self, Format, HumanStyle};
use crate::stack::VariableArgs;
use stackc_compiler::expand::PriorLookup;
use stackc_compiler::{Diagnostic, Sources};
use stackc_driver::{Failure, LoadError, StackRequest};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

pub use stackc_driver::{prior_from_state, stack_dir_of, stack_name_of, CheckedStack, Compiled};

/// Flattened into every command that compiles a stack.
#[derive(clap::Args, Clone, Debug)]
pub struct StackArgs {
    /// The stack directory (or a single .stack.hcl file).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The target to expand for (`kubernetes`, `aws`, `local`); may be
    /// omitted when the stack declares one target (or none).
    #[arg(long)]
    pub target: Option<String>,
    #[command(flatten)]
    pub variables: VariableArgs,
}

impl StackArgs {
    /// The driver's request for these arguments.
    pub fn request(&self) -> StackRequest {
        StackRequest {
            path: self.path.clone(),
            target: self.target.clone(),
            vars: self.variables.vars.clone(),
            var_files: self.variables.var_files.clone(),
            ..StackRequest::default()
        }
    }
}

/// Errors already rendered to the writer (human miette or JSON per
/// `format`); carries the exit code (1).
#[derive(Debug)]
pub struct Failed {
    pub exit: ExitCode,
}

impl Failed {
    fn new() -> Failed {
        Failed { exit: ExitCode::from(1) }
    }
}

/// Loads and checks the stack of `args`, and selects its target. On any
/// error (I/O, a diagnostic, an undeclared `--target`), renders every
/// diagnostic found (warnings included) to `err` in `format` and fails.
pub fn check_stack(args: &StackArgs, format: Format, err: &mut dyn Write) -> Result<CheckedStack, Failed> {
    rendered(stackc_driver::check_stack(&args.request()), format, err)
}

/// [`check_stack`] with every variable's value given (a saved plan's):
/// `args.variables` is ignored.
pub fn check_stack_with_values(
    args: &StackArgs,
    values: &stackc_compiler::Fields,
    format: Format,
    err: &mut dyn Write,
) -> Result<CheckedStack, Failed> {
    let request = StackRequest { values: Some(values.clone()), ..args.request() };
    rendered(stackc_driver::check_stack(&request), format, err)
}

/// [`check_stack`] of the configuration the last apply recorded in the
/// state (`stackc reconcile`, `stackc status`), its errors rendered.
pub fn check_applied(
    applied: &stackc_planner::state::AppliedConfiguration,
    stack_dir: &std::path::Path,
    format: Format,
    err: &mut dyn Write,
) -> Result<CheckedStack, Failed> {
    rendered(stackc_driver::check_applied(applied, stack_dir), format, err)
}

pub use stackc_driver::applied_configuration;

fn rendered(
    result: Result<CheckedStack, Failure>,
    format: Format,
    err: &mut dyn Write,
) -> Result<CheckedStack, Failed> {
    result.map_err(|failure| {
        let _ = match failure {
            Failure::Load(error) => emit_load_error(format, &error, err),
            Failure::Diagnostics { sources, diagnostics } => {
                emit_to(format, &sources, &diagnostics, err).map(|_| ())
            }
        };
        Failed::new()
    })
}

/// What `stackc check` reports, rendered in `format` to `out`: how many
/// errors and warnings there were, or `Failed` when the stack did not load.
pub fn check(args: &StackArgs, format: Format, out: &mut dyn Write) -> Result<render::Counts, Failed> {
    match stackc_driver::check(&args.request()) {
        Ok(report) => {
            let counts = emit_to(format, &report.sources, &report.diagnostics, out)
                .unwrap_or_else(|_| render::Counts::of(&report.diagnostics));
            // `stackc check` ends right after: freeing a large stack's
            // tree would only delay it.
            std::mem::forget(report);
            Ok(counts)
        }
        Err(error) => {
            let _ = emit_load_error(format, &error, out);
            Err(Failed::new())
        }
    }
}

/// Expanding a checked stack with its problems rendered.
pub trait Expand {
    /// Expands for the selected target; `prior` gives attributes from state
    /// by address (a generated password's `result`). On errors, renders them
    /// (with the check's warnings, so JSON stays one document) and fails.
    fn expand(
        &self,
        prior: Option<PriorLookup<'_>>,
        format: Format,
        err: &mut dyn Write,
    ) -> Result<Compiled, Failed>;

    /// Renders `diagnostics` (with their closing line) in `format` to `out`;
    /// returns how many errors and warnings there were.
    fn emit(&self, format: Format, diagnostics: &[Diagnostic], out: &mut dyn Write) -> render::Counts;
}

impl Expand for CheckedStack {
    fn expand(
        &self,
        prior: Option<PriorLookup<'_>>,
        format: Format,
        err: &mut dyn Write,
    ) -> Result<Compiled, Failed> {
        self.compile(prior).map_err(|diagnostics| {
            let _ = emit_to(format, &self.sources, &diagnostics, err);
            Failed::new()
        })
    }

    fn emit(&self, format: Format, diagnostics: &[Diagnostic], out: &mut dyn Write) -> render::Counts {
        emit_to(format, &self.sources, diagnostics, out).unwrap_or_else(|_| render::Counts::of(diagnostics))
    }
}

/// Renders diagnostics in `format` to one writer (the caller picks stdout or stderr).
fn emit_to(
    format: Format,
    sources: &Sources,
    diagnostics: &[Diagnostic],
    out: &mut dyn Write,
) -> std::io::Result<render::Counts> {
    let style = HumanStyle::from_env();
    let mut sink = std::io::sink();
    match format {
        Format::Human => render::emit(format, style, sources, diagnostics, &mut sink, out),
        Format::Json | Format::Github => render::emit(format, style, sources, diagnostics, out, &mut sink),
    }
}

fn emit_load_error(format: Format, error: &LoadError, out: &mut dyn Write) -> std::io::Result<()> {
    let mut sink = std::io::sink();
    match format {
        Format::Human => render::emit_load_error(format, error, &mut sink, out),
        Format::Json | Format::Github => render::emit_load_error(format, error, out, &mut sink),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str = "resource \"stackc_data\" \"seed\" {\n  input = 1\n}\n\ntarget \"aws\" {\n  region = \"eu-west-1\"\n}\n";

    fn args(path: &std::path::Path, target: Option<&str>) -> StackArgs {
        StackArgs {
            path: path.to_path_buf(),
            target: target.map(str::to_string),
            variables: VariableArgs::default(),
        }
    }

    #[test]
    fn failures_are_rendered_once_in_the_format_asked() {
        let root = std::env::temp_dir().join(format!("stackc-pipeline-failures-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("main.stack.hcl"), STACK).unwrap();
        // An undeclared --target: one JSON document with the E0502.
        let mut out = Vec::new();
        assert!(check_stack(&args(&root, Some("gcp")), Format::Json, &mut out).is_err());
        let document: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(document["diagnostics"][0]["code"], "E0502");
        assert_eq!(document["counts"]["errors"], 1);
        // A load error, in human form.
        let mut err = Vec::new();
        assert!(check_stack(&args(&root.join("missing"), None), Format::Human, &mut err).is_err());
        assert!(String::from_utf8_lossy(&err).starts_with("error: Path not found"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
