//! The human format: miette's graphical report of each diagnostic, drawn
//! from a window of lines around its labels, then a closing line of counts.
//!
//! Boundary: the compiler's [`Diagnostic`] knows nothing of miette; this
//! module adapts it (a wrapper implementing `miette::Diagnostic`).

use crate::{Counts, HumanStyle};
use stackc_model::load::LoadError;
use stackc_model::{Diagnostic, Severity, Sources, Span};
use std::fmt::{self, Write as _};

/// Every diagnostic, each followed by a blank line, then the closing line
/// (`error: 1 error, 1 warning`).
pub fn report(sources: &Sources, diagnostics: &[Diagnostic], style: HumanStyle) -> String {
    let mut text = String::new();
    for one in diagnostics {
        text.push_str(&diagnostic(sources, one, style));
        text.push('\n');
    }
    text.push_str(&Counts::of(diagnostics).closing_line());
    text.push('\n');
    text
}

/// A [`LoadError`] (it has no source to point into): one line, and the help.
pub fn load_error(error: &LoadError) -> String {
    let code = error.code().map(|c| format!("[{c}]")).unwrap_or_default();
    let mut text = format!("error{code}: {}: {error}\n", error.summary());
    if let Some(help) = error.help() {
        let _ = writeln!(text, "  help: {help}");
    }
    text
}

/// One diagnostic as miette's graphical report.
pub fn diagnostic(sources: &Sources, diagnostic: &Diagnostic, style: HumanStyle) -> String {
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
    fn around(file: &stackc_model::SourceFile, spans: &[Span]) -> Option<Snippet> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use stackc_model::{Code, Origin, SourceFile};

    const STYLE: HumanStyle = HumanStyle { color: false, width: 80 };

    #[test]
    fn human_output_draws_labels_across_files() {
        let (sources, diagnostics) = crate::fixture::diagnostics();
        insta::assert_snapshot!(report(&sources, &diagnostics[..2], STYLE));
    }

    #[test]
    fn human_report_of_the_fixed_set() {
        let (sources, diagnostics) = crate::fixture::diagnostics();
        insta::assert_snapshot!(report(&sources, &diagnostics, STYLE));
    }

    #[test]
    fn spans_out_of_bounds_do_not_panic() {
        let mut sources = Sources::new();
        let file = sources.add(SourceFile::new("a.stack.hcl", "x", Origin::User));
        let one = Diagnostic::new(Code::SyntaxError, Span { file, start: 5, end: 2 }, "broken span");
        let text = diagnostic(&sources, &one, STYLE);
        assert!(text.contains("E0101"));
    }

    #[test]
    fn a_snippet_is_the_lines_around_its_labels_whatever_the_file_size() {
        let text: String = (0..50_000).map(|i| format!("local {i}\n")).collect();
        let file = SourceFile::new("big.stack.hcl", &text, Origin::User);
        let at = text.find("local 25000\n").unwrap();
        let snippet =
            Snippet::around(&file, &[Span::new(stackc_model::FileId(0), at..at + 5)]).expect("drawable");
        // Two lines of context before, the labelled line and two after.
        assert_eq!(snippet.text, "local 24998\nlocal 24999\nlocal 25000\nlocal 25001\nlocal 25002\n");
        assert_eq!(snippet.line, 24_998);
        assert_eq!(&text[snippet.offset..snippet.offset + 11], "local 24998");
    }

    #[test]
    fn load_errors_are_one_line_and_help() {
        let error = LoadError::NoStackFiles { path: "app".into() };
        insta::assert_snapshot!(load_error(&error));
    }
}
