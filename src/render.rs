//! Rendering diagnostics at the edge: miette's graphical report for people,
//! a versioned JSON document for tools, GitHub Actions workflow commands for
//! CI annotations.
//!
//! Boundary: the compiler's [`Diagnostic`] knows nothing of miette or JSON;
//! this module adapts it (a wrapper implementing `miette::Diagnostic`, a JSON
//! model with its own version) so the schema documented in
//! `docs/diagnostics-json.md` changes only when we decide it does.

use crate::stack::LoadError;
use serde::Serialize;
use stackc_compiler::{Diagnostic, Severity, Sources, Span};
use std::fmt::{self, Write as _};
use std::io::{IsTerminal, Write};

/// Version of the JSON document; bumped on any incompatible change.
pub const JSON_VERSION: u32 = 1;

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
    let counts = Counts::of(diagnostics);
    match format {
        Format::Human => {
            let mut text = String::new();
            for diagnostic in diagnostics {
                text.push_str(&human(sources, diagnostic, style));
                text.push('\n');
            }
            text.push_str(&counts.closing_line());
            text.push('\n');
            stderr.write_all(text.as_bytes())?;
        }
        Format::Json => {
            let document = json_document(sources, diagnostics);
            serde_json::to_writer_pretty(&mut *stdout, &document)?;
            stdout.write_all(b"\n")?;
        }
        Format::Github => {
            for diagnostic in diagnostics {
                stdout.write_all(github(sources, diagnostic).as_bytes())?;
            }
        }
    }
    Ok(counts)
}

/// Writes a [`LoadError`] in `format` (it has no source to point into).
pub fn emit_load_error(
    format: Format,
    error: &LoadError,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        Format::Human => {
            let code = error.code().map(|c| format!("[{c}]")).unwrap_or_default();
            let mut text = format!("error{code}: {}: {error}\n", error.summary());
            if let Some(help) = error.help() {
                let _ = writeln!(text, "  help: {help}");
            }
            stderr.write_all(text.as_bytes())
        }
        Format::Json => {
            let diagnostic = JsonDiagnostic {
                code: error.code().map(|c| c.as_str()),
                severity: "error",
                summary: error.summary(),
                message: error.to_string(),
                location: JsonLocation {
                    file: error.path().map(str::to_string),
                    range: None,
                    start: None,
                    end: None,
                },
                labels: Vec::new(),
                help: error.help(),
            };
            let document = JsonDocument {
                version: JSON_VERSION,
                diagnostics: vec![diagnostic],
                counts: Counts { errors: 1, warnings: 0 },
            };
            serde_json::to_writer_pretty(&mut *stdout, &document)?;
            stdout.write_all(b"\n")
        }
        Format::Github => {
            let title = match error.code() {
                Some(code) => format!("{code} {}", error.summary()),
                None => error.summary().to_string(),
            };
            let mut properties = Vec::new();
            if let Some(path) = error.path() {
                properties.push(format!("file={}", escape_property(path)));
            }
            properties.push(format!("title={}", escape_property(&title)));
            let line = format!("::error {}::{}\n", properties.join(","), escape_data(&error.to_string()));
            stdout.write_all(line.as_bytes())
        }
    }
}

// ---------------------------------------------------------------- human

/// One diagnostic as miette's graphical report.
pub fn human(sources: &Sources, diagnostic: &Diagnostic, style: HumanStyle) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if style.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
        .with_urls(false)
        .without_syntax_highlighting()
        .with_show_related_as_nested(true);
    let report = MietteReport::new(sources, diagnostic);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        // Rendering into a String cannot fail; keep a plain fallback anyway.
        let _ = writeln!(out, "{}[{}]: {}", diagnostic.severity.as_str(), diagnostic.code, report.text);
    }
    out
}

/// A compiler [`Diagnostic`] seen through `miette::Diagnostic`. Labels in the
/// primary's file are drawn in its snippet; labels in other files become
/// related reports with their own snippet.
struct MietteReport {
    /// `None` for related reports (the code is shown once, on the main one).
    code: Option<&'static str>,
    severity: miette::Severity,
    text: String,
    help: Option<String>,
    /// `None` when a label is on a line too long to draw (its place is then
    /// in `text`).
    source: Option<Snippet>,
    labels: Vec<miette::LabeledSpan>,
    related: Vec<MietteReport>,
}

impl MietteReport {
    fn new(sources: &Sources, diagnostic: &Diagnostic) -> MietteReport {
        let primary_file = diagnostic.primary.span.file;
        let mut labels = vec![labeled(sources, &diagnostic.primary.message, diagnostic.primary.span, true)];
        let mut spans = vec![diagnostic.primary.span];
        let mut related = Vec::new();
        for label in &diagnostic.secondary {
            if label.span.file == primary_file {
                labels.push(labeled(sources, &label.message, label.span, false));
                spans.push(label.span);
            } else {
                related.push(
                    MietteReport {
                        code: None,
                        severity: miette::Severity::Advice,
                        text: if label.message.is_empty() {
                            "see also".to_string()
                        } else {
                            label.message.clone()
                        },
                        help: None,
                        source: None,
                        labels: vec![labeled(sources, "", label.span, true)],
                        related: Vec::new(),
                    }
                    .with_snippet(sources, &[label.span]),
                );
            }
        }
        let text = if diagnostic.message.is_empty() {
            diagnostic.summary().to_string()
        } else {
            format!("{}: {}", diagnostic.summary(), diagnostic.message)
        };
        let report = MietteReport {
            code: Some(diagnostic.code.as_str()),
            severity: match diagnostic.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            },
            text,
            help: diagnostic.help.clone(),
            source: None,
            labels,
            related,
        };
        report.with_snippet(sources, &spans)
    }

    /// Shows `spans` (all in one file) in a snippet of the lines around
    /// them; when one is on a line too long to draw, names its place in the
    /// text instead (miette cannot draw past column 65535, and a line that
    /// long is no help to read).
    fn with_snippet(mut self, sources: &Sources, spans: &[Span]) -> MietteReport {
        let Some(first) = spans.first() else { return self };
        let file = sources.get(first.file);
        match Snippet::around(file, spans) {
            Some(snippet) => self.source = Some(snippet),
            None => {
                let (line, column) = file.line_col((first.start as usize).min(file.text.len()));
                let _ = write!(
                    self.text,
                    "\n  at {}:{line}:{column} (the line is too long to show: more than {MAX_SHOWN_LINE} columns)",
                    file.path
                );
                for label in &self.labels {
                    if let Some(message) = label.label() {
                        let (line, column) = file.line_col(label.offset());
                        let _ = write!(self.text, "\n  {}:{line}:{column}: {message}", file.path);
                    }
                }
                self.labels.clear();
            }
        }
        self
    }
}

/// Widest line drawn in a snippet, in columns (an upper bound: bytes, a tab
/// counted as miette's 4 columns). miette panics on a column past 65535.
const MAX_SHOWN_LINE: usize = 60_000;
/// Lines of context kept around the labels (miette shows one).
const SNIPPET_CONTEXT: usize = 2;

/// The lines of a file around some spans, as miette's source: what it
/// renders is read from this window only, with line numbers and offsets of
/// the whole file, so rendering a diagnostic costs the size of its snippet,
/// not of its file (16k diagnostics in one file were quadratic).
struct Snippet {
    name: String,
    /// The lines shown.
    text: String,
    /// Byte offset of `text` in the file.
    offset: usize,
    /// 0-based line of the file where `text` starts.
    line: usize,
}

impl Snippet {
    /// `None` when a span is on a line wider than [`MAX_SHOWN_LINE`].
    fn around(file: &stackc_compiler::SourceFile, spans: &[Span]) -> Option<Snippet> {
        let text = file.text.as_str();
        let clamp = |offset: u32| {
            let mut offset = (offset as usize).min(text.len());
            while !text.is_char_boundary(offset) {
                offset -= 1;
            }
            offset
        };
        let start = spans.iter().map(|s| clamp(s.start)).min()?;
        let end = spans.iter().map(|s| clamp(s.end.max(s.start))).max()?;
        // Every labelled line must be drawable.
        for span in spans {
            let at = clamp(span.start);
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
            let line = &text[line_start..line_end];
            let tabs = line.bytes().filter(|b| *b == b'\t').count();
            if line.len() + 3 * tabs > MAX_SHOWN_LINE {
                return None;
            }
        }
        let mut from = text[..start].rfind('\n').map_or(0, |i| i + 1);
        for _ in 0..SNIPPET_CONTEXT {
            if from == 0 {
                break;
            }
            from = text[..from - 1].rfind('\n').map_or(0, |i| i + 1);
        }
        let mut to = end;
        for _ in 0..=SNIPPET_CONTEXT {
            match text[to..].find('\n') {
                Some(i) => to = to + i + 1,
                None => {
                    to = text.len();
                    break;
                }
            }
        }
        let line = file.line_col(from).0 - 1;
        Some(Snippet { name: file.path.clone(), text: text[from..to].to_string(), offset: from, line })
    }
}

impl miette::SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let local = miette::SourceSpan::new(span.offset().saturating_sub(self.offset).into(), span.len());
        let contents = self.text.read_span(&local, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            miette::SourceSpan::new((contents.span().offset() + self.offset).into(), contents.span().len()),
            contents.line() + self.line,
            contents.column(),
            // miette counts these from the start of its source (and merges
            // the snippets of two labels by them): from the file's start.
            contents.line_count() + self.line,
        )))
    }
}

/// A miette label, with the span clamped to the file (a span from a buggy
/// stage must not make rendering panic).
fn labeled(sources: &Sources, message: &str, span: Span, primary: bool) -> miette::LabeledSpan {
    let len = sources.get(span.file).text.len();
    let start = (span.start as usize).min(len);
    let end = (span.end as usize).clamp(start, len);
    let label = if message.is_empty() { None } else { Some(message.to_string()) };
    if primary {
        miette::LabeledSpan::new_primary_with_span(label, start..end)
    } else {
        miette::LabeledSpan::new_with_span(label, start..end)
    }
}

impl fmt::Debug for MietteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.unwrap_or("-"), self.text)
    }
}

impl fmt::Display for MietteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for MietteReport {}

impl miette::Diagnostic for MietteReport {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code.map(|code| Box::new(code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)))
        }
    }
}

// ---------------------------------------------------------------- JSON

/// The JSON document (see docs/diagnostics-json.md).
#[derive(Serialize)]
struct JsonDocument {
    version: u32,
    diagnostics: Vec<JsonDiagnostic>,
    counts: Counts,
}

#[derive(Serialize)]
struct JsonDiagnostic {
    code: Option<&'static str>,
    severity: &'static str,
    summary: &'static str,
    message: String,
    #[serde(flatten)]
    location: JsonLocation,
    labels: Vec<JsonLabel>,
    help: Option<String>,
}

#[derive(Serialize)]
struct JsonLocation {
    file: Option<String>,
    range: Option<JsonRange>,
    start: Option<JsonPosition>,
    end: Option<JsonPosition>,
}

#[derive(Serialize)]
struct JsonRange {
    start: usize,
    end: usize,
}

#[derive(Serialize)]
struct JsonPosition {
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct JsonLabel {
    primary: bool,
    message: String,
    #[serde(flatten)]
    location: JsonLocation,
}

fn json_location(sources: &Sources, span: Span) -> JsonLocation {
    let file = sources.get(span.file);
    let (line, column) = file.line_col(span.start as usize);
    let (end_line, end_column) = file.line_col(span.end as usize);
    JsonLocation {
        file: Some(file.path.clone()),
        range: Some(JsonRange { start: span.start as usize, end: span.end as usize }),
        start: Some(JsonPosition { line, column }),
        end: Some(JsonPosition { line: end_line, column: end_column }),
    }
}

fn json_document(sources: &Sources, diagnostics: &[Diagnostic]) -> JsonDocument {
    let counts = Counts::of(diagnostics);
    let diagnostics = diagnostics
        .iter()
        .map(|d| {
            let mut labels = vec![JsonLabel {
                primary: true,
                message: d.primary.message.clone(),
                location: json_location(sources, d.primary.span),
            }];
            labels.extend(d.secondary.iter().map(|l| JsonLabel {
                primary: false,
                message: l.message.clone(),
                location: json_location(sources, l.span),
            }));
            JsonDiagnostic {
                code: Some(d.code.as_str()),
                severity: d.severity.as_str(),
                summary: d.summary(),
                message: d.message.clone(),
                location: json_location(sources, d.primary.span),
                labels,
                help: d.help.clone(),
            }
        })
        .collect();
    JsonDocument { version: JSON_VERSION, diagnostics, counts }
}

// ---------------------------------------------------------------- GitHub

/// One GitHub Actions workflow command (`::error ...::message`), with the
/// help appended to the message.
pub fn github(sources: &Sources, diagnostic: &Diagnostic) -> String {
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
    use stackc_compiler::{Code, Origin, SourceFile};

    fn sample() -> (Sources, Vec<Diagnostic>) {
        let mut sources = Sources::new();
        let main = sources.add(SourceFile::new(
            "app/main.stack.hcl",
            "service \"api\" {\n  image   = \"x\"\n  replica = 4\n}\n",
            Origin::User,
        ));
        let other =
            sources.add(SourceFile::new("app/vars.stack.hcl", "variable \"mode\" {}\n", Origin::User));
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
        (sources, vec![error, warning])
    }

    #[test]
    fn human_output_draws_labels_across_files() {
        let (sources, diagnostics) = sample();
        let style = HumanStyle { color: false, width: 80 };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let counts = emit(Format::Human, style, &sources, &diagnostics, &mut out, &mut err).unwrap();
        assert_eq!(counts, Counts { errors: 1, warnings: 1 });
        assert!(out.is_empty());
        insta::assert_snapshot!(String::from_utf8(err).unwrap());
    }

    #[test]
    fn json_output_has_locations_for_every_label() {
        let (sources, diagnostics) = sample();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        emit(
            Format::Json,
            HumanStyle { color: false, width: 80 },
            &sources,
            &diagnostics,
            &mut out,
            &mut err,
        )
        .unwrap();
        assert!(err.is_empty());
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    #[test]
    fn github_output_escapes_properties_and_data() {
        let (sources, diagnostics) = sample();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        emit(
            Format::Github,
            HumanStyle { color: false, width: 80 },
            &sources,
            &diagnostics,
            &mut out,
            &mut err,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "::error file=app/main.stack.hcl,line=3,col=3,endLine=3,endColumn=10,title=E0203 Unknown parameter::`service.api` has no parameter `replica`.%0Ahelp: did you mean `replicas`?\n\
             ::warning file=app/vars.stack.hcl,line=1,col=10,endLine=1,endColumn=16,title=W0001 Unused variable::`var.mode` is never used.\n"
        );
        assert_eq!(escape_property("a:b,c%d\r\n"), "a%3Ab%2Cc%25d%0D%0A");
        assert_eq!(escape_data("a:b,c%d\n"), "a:b,c%25d%0A");
    }

    #[test]
    fn spans_out_of_bounds_do_not_panic() {
        let mut sources = Sources::new();
        let file = sources.add(SourceFile::new("a.stack.hcl", "x", Origin::User));
        let diagnostic = Diagnostic::new(Code::SyntaxError, Span { file, start: 5, end: 2 }, "broken span");
        let text = human(&sources, &diagnostic, HumanStyle { color: false, width: 80 });
        assert!(text.contains("E0101"));
    }

    #[test]
    fn a_snippet_is_the_lines_around_its_labels_whatever_the_file_size() {
        let text: String = (0..50_000).map(|i| format!("local {i}\n")).collect();
        let file = SourceFile::new("big.stack.hcl", &text, Origin::User);
        let at = text.find("local 25000\n").unwrap();
        let snippet =
            Snippet::around(&file, &[Span::new(stackc_compiler::FileId(0), at..at + 5)]).expect("drawable");
        // Two lines of context before, the labelled line and two after.
        assert_eq!(snippet.text, "local 24998\nlocal 24999\nlocal 25000\nlocal 25001\nlocal 25002\n");
        assert_eq!(snippet.line, 24_998);
        assert_eq!(&text[snippet.offset..snippet.offset + 11], "local 24998");
    }

    #[test]
    fn closing_line_counts() {
        assert_eq!(Counts { errors: 0, warnings: 0 }.closing_line(), "ok: no problems found");
        assert_eq!(Counts { errors: 3, warnings: 1 }.closing_line(), "error: 3 errors, 1 warning");
        assert_eq!(Counts { errors: 1, warnings: 0 }.closing_line(), "error: 1 error");
        assert_eq!(Counts { errors: 0, warnings: 2 }.closing_line(), "warning: 2 warnings");
    }
}
