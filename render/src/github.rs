//! The GitHub format: one workflow command per diagnostic
//! (`::error file=...,line=...::message`), which GitHub Actions shows as an
//! annotation on the pull request's diff.

use stackc_model::load::LoadError;
use stackc_model::{Diagnostic, Severity, Sources};

/// The commands of every diagnostic, one a line.
pub fn commands(sources: &Sources, diagnostics: &[Diagnostic]) -> String {
    diagnostics.iter().map(|d| command(sources, d)).collect()
}

/// The command of a [`LoadError`] (a file at most, no position).
pub fn load_error(error: &LoadError) -> String {
    let title = match error.code() {
        Some(code) => format!("{code} {}", error.summary()),
        None => error.summary().to_string(),
    };
    let mut properties = Vec::new();
    if let Some(path) = error.path() {
        properties.push(format!("file={}", escape_property(path)));
    }
    properties.push(format!("title={}", escape_property(&title)));
    format!("::error {}::{}\n", properties.join(","), escape_data(&error.to_string()))
}

/// One GitHub Actions workflow command (`::error ...::message`), with the
/// help appended to the message.
pub fn command(sources: &Sources, diagnostic: &Diagnostic) -> String {
    let file = sources.get(diagnostic.primary.span.file);
    let (line, col) = file.line_col(diagnostic.primary.span.start as usize);
    let (end_line, end_col) = file.line_col(diagnostic.primary.span.end as usize);
    let command = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let title = format!("{} {}", diagnostic.code, diagnostic.summary());
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    format!(
        "::{command} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
        escape_property(&file.path),
        escape_property(&title),
        escape_data(&message),
    )
}

/// Escapes a workflow command's message (`%`, `\r`, `\n`).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_output_escapes_properties_and_data() {
        let (sources, diagnostics) = crate::fixture::diagnostics();
        assert_eq!(
            commands(&sources, &diagnostics[..2]),
            "::error file=app/main.stack.hcl,line=3,col=3,endLine=3,endColumn=10,title=E0203 Unknown parameter::`service.api` has no parameter `replica`.%0Ahelp: did you mean `replicas`?\n\
             ::warning file=app/vars.stack.hcl,line=1,col=10,endLine=1,endColumn=16,title=W0001 Unused variable::`var.mode` is never used.\n"
        );
        assert_eq!(escape_property("a:b,c%d\r\n"), "a%3Ab%2Cc%25d%0D%0A");
        assert_eq!(escape_data("a:b,c%d\n"), "a:b,c%25d%0A");
    }

    #[test]
    fn github_commands_of_the_fixed_set() {
        let (sources, diagnostics) = crate::fixture::diagnostics();
        insta::assert_snapshot!(commands(&sources, &diagnostics));
    }
}
