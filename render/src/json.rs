//! The JSON format: one versioned document of every diagnostic with the
//! file, byte range and line/column of each label (schema:
//! `docs/diagnostics-json.md`).

use crate::Counts;
use serde::Serialize;
use stackc_model::load::LoadError;
use stackc_model::{Diagnostic, Sources, Span};

/// Version of the JSON document; bumped on any incompatible change.
pub const JSON_VERSION: u32 = 1;

/// The document of `diagnostics`, pretty-printed, with a final newline.
pub fn document(sources: &Sources, diagnostics: &[Diagnostic]) -> String {
    to_text(&json_document(sources, diagnostics))
}

/// The document of a [`LoadError`]: one error with a file at most.
pub fn load_error(error: &LoadError) -> String {
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
    to_text(&JsonDocument {
        version: JSON_VERSION,
        diagnostics: vec![diagnostic],
        counts: Counts { errors: 1, warnings: 0 },
    })
}

fn to_text(document: &JsonDocument) -> String {
    // Serializing plain structs of strings and numbers cannot fail.
    let mut text = serde_json::to_string_pretty(document).unwrap_or_default();
    text.push('\n');
    text
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_output_has_locations_for_every_label() {
        let (sources, diagnostics) = crate::fixture::diagnostics();
        insta::assert_snapshot!(document(&sources, &diagnostics[..2]));
    }

    #[test]
    fn json_document_of_the_fixed_set() {
        let (sources, diagnostics) = crate::fixture::diagnostics();
        insta::assert_snapshot!(document(&sources, &diagnostics));
    }
}
