//! Choosing how diagnostics are shown and where they go: the renderers
//! themselves are `stackc-render`'s (one module per format).

use crate::stack::LoadError;
use stackc_compiler::{Diagnostic, Sources};
use std::io::Write;

pub use stackc_render::human::diagnostic as human;
pub use stackc_render::{Counts, HumanStyle};

/// How diagnostics are shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// miette's graphical report (colour and width follow the terminal).
    #[default]
    Human,
    /// One JSON document on stdout (schema: docs/diagnostics-json.md).
    Json,
    /// GitHub Actions workflow commands (`::error file=...::message`).
    Github,
}

/// Writes `diagnostics` in `format`: human output on `stderr`, JSON and
/// GitHub commands on `stdout`. Returns the counts (exit 1 when errors > 0).
pub fn emit(
    format: Format,
    style: HumanStyle,
    sources: &Sources,
    diagnostics: &[Diagnostic],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> std::io::Result<Counts> {
    match format {
        Format::Human => {
            stderr.write_all(stackc_render::human::report(sources, diagnostics, style).as_bytes())?
        }
        Format::Json => stdout.write_all(stackc_render::json::document(sources, diagnostics).as_bytes())?,
        Format::Github => {
            stdout.write_all(stackc_render::github::commands(sources, diagnostics).as_bytes())?
        }
    }
    Ok(Counts::of(diagnostics))
}

/// Writes a [`LoadError`] in `format` (it has no source to point into).
pub fn emit_load_error(
    format: Format,
    error: &LoadError,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        Format::Human => stderr.write_all(stackc_render::human::load_error(error).as_bytes()),
        Format::Json => stdout.write_all(stackc_render::json::load_error(error).as_bytes()),
        Format::Github => stdout.write_all(stackc_render::github::load_error(error).as_bytes()),
    }
}
