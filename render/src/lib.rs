//! Rendering diagnostics at the edge, one module per format: [`human`]
//! (miette's graphical report for people), [`json`] (a versioned document
//! for tools), [`github`] (GitHub Actions workflow commands for CI
//! annotations). The CLI chooses the format and the writer; the language
//! server's conversion stays in `stackc-lsp` (it is the only crate that
//! knows lsp-types).
//!
//! Boundary: the compiler's [`Diagnostic`] knows nothing of miette or JSON;
//! these modules adapt it, each to a model of its own, so the JSON schema
//! documented in `docs/diagnostics-json.md` changes only when we decide it
//! does. Every function returns text; nothing here writes or exits.

pub mod github;
pub mod human;
pub mod json;

use serde::Serialize;
use stackc_model::Diagnostic;
use std::io::IsTerminal;

/// Colour and width for human output: decided once from the environment.
#[derive(Clone, Copy, Debug)]
pub struct HumanStyle {
    pub color: bool,
    pub width: usize,
}

impl HumanStyle {
    /// Colour only when stderr is a terminal and `NO_COLOR` is unset or empty;
    /// width from `COLUMNS`, else the terminal, else 100.
    pub fn from_env() -> HumanStyle {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = !no_color && std::io::stderr().is_terminal();
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|w| *w >= 20)
            .or_else(|| terminal_size::terminal_size_of(std::io::stderr()).map(|(w, _)| w.0 as usize))
            .unwrap_or(100);
        HumanStyle { color, width }
    }
}

/// Error and warning counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
}

impl Counts {
    pub fn of(diagnostics: &[Diagnostic]) -> Counts {
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        Counts { errors, warnings: diagnostics.len() - errors }
    }

    /// The closing line: `error: 3 errors, 1 warning`, `warning: 1 warning`,
    /// or `ok: no problems found`.
    pub fn closing_line(self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        match (self.errors, self.warnings) {
            (0, 0) => "ok: no problems found".to_string(),
            (0, w) => format!("warning: {}", plural(w, "warning")),
            (e, 0) => format!("error: {}", plural(e, "error")),
            (e, w) => format!("error: {}, {}", plural(e, "error"), plural(w, "warning")),
        }
    }
}

/// The fixed diagnostics every renderer's snapshots show: primary and
/// secondary labels, help, a warning, a sensitive value in a message,
/// labels in two files and a label on a line too long to draw.
#[cfg(test)]
pub(crate) mod fixture {
    use stackc_model::{Code, Diagnostic, Origin, SourceFile, Sources, Span, Value};

    pub fn diagnostics() -> (Sources, Vec<Diagnostic>) {
        let mut sources = Sources::new();
        let main_text = "service \"api\" {\n  image   = \"x\"\n  replica = 4\n}\n\noutput \"password\" {\n  value = db.main.password\n}\n";
        let main = sources.add(SourceFile::new("app/main.stack.hcl", main_text, Origin::User));
        let other =
            sources.add(SourceFile::new("app/vars.stack.hcl", "variable \"mode\" {}\n", Origin::User));
        let long_line = format!("locals {{\n  blob = \"{}\"\n}}\n", "x".repeat(70_000));
        let long = sources.add(SourceFile::new("app/long.stack.hcl", &long_line, Origin::User));
        let error = Diagnostic::new(
            Code::UnknownParameter,
            Span::new(main, 34..41),
            "`service.api` has no parameter `replica`.",
        )
        .with_label("unknown parameter")
        .with_secondary(Span::new(main, 0..13), "instance of `service`")
        .with_secondary(Span::new(other, 9..15), "declared here, with a 100% \"odd\": name, too")
        .with_help("did you mean `replicas`?");
        let warning =
            Diagnostic::new(Code::UnusedVariable, Span::new(other, 9..15), "`var.mode` is never used.");
        let secret = Value::string("hunter2").into_sensitive();
        let output_at = main_text.find("db.main.password").unwrap();
        let sensitive = Diagnostic::new(
            Code::SensitiveToOutput,
            Span::new(main, output_at..output_at + 16),
            format!("`output.password` would show {secret}, a sensitive value, in plain text."),
        )
        .with_label("sensitive")
        .with_help("mark the output `sensitive = true`.");
        let blob_at = "locals {\n  blob = ".len();
        let too_long = Diagnostic::new(
            Code::SyntaxError,
            Span::new(long, blob_at..blob_at + 70_002),
            "This string is not closed where expected.",
        )
        .with_label("this string");
        (sources, vec![error, warning, sensitive, too_long])
    }
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn closing_line_counts() {
        assert_eq!(Counts { errors: 0, warnings: 0 }.closing_line(), "ok: no problems found");
        assert_eq!(Counts { errors: 3, warnings: 1 }.closing_line(), "error: 3 errors, 1 warning");
        assert_eq!(Counts { errors: 1, warnings: 0 }.closing_line(), "error: 1 error");
        assert_eq!(Counts { errors: 0, warnings: 2 }.closing_line(), "warning: 2 warnings");
    }
}
