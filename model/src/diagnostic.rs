//! Diagnostics are data: a stable code, a severity, a short fixed summary,
//! a detailed message, labelled spans and help. Rendering them (miette,
//! JSON, GitHub annotations, LSP) happens at the edge, in the binary.

use crate::codes::Code;
use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A span with a short message shown next to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

impl Label {
    pub fn new(span: Span, message: impl Into<String>) -> Label {
        Label { span, message: message.into() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// Full sentence(s): what is wrong, in this instance ("`service.api` has no
    /// parameter `replica`."). The fixed summary comes from the code.
    pub message: String,
    /// Where the problem is.
    pub primary: Label,
    /// Other places that explain it (the declaration, the other end of a cycle).
    pub secondary: Vec<Label>,
    /// How to fix it ("did you mean `replicas`?").
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with the code's default severity.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            primary: Label::new(span, ""),
            secondary: Vec::new(),
            help: None,
        }
    }

    /// Sets the text of the primary label.
    pub fn with_label(mut self, message: impl Into<String>) -> Diagnostic {
        self.primary.message = message.into();
        self
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label::new(span, message));
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn summary(&self) -> &'static str {
        self.code.summary()
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics into a stable order: by file, position, then code.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.primary.span.file, a.primary.span.start, a.code.as_str(), &a.message).cmp(&(
            b.primary.span.file,
            b.primary.span.start,
            b.code.as_str(),
            &b.message,
        ))
    });
}

/// "did you mean `x`?" for the closest of `candidates` to `name`, when one is
/// close enough to be a plausible typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(name, candidate);
        if score >= 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}
