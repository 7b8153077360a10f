//! `stackc fmt`'s canonical layout, as a pure function of the text.
//!
//! The layout is `terraform fmt`'s: two-space indentation by nesting, `=`
//! aligned in runs of consecutive single-line attributes, one space between
//! tokens (none inside `()`/`[]`, around `.`, before `,`, after a unary
//! operator), at most one blank line in a row and none at the start or end
//! of a body, one blank line after a block, a final newline and no trailing
//! blank space. Comments stay where they were; strings and heredocs are
//! never touched.
//!
//! It works on tokens, not on hcl-edit's tree (the way hclwrite, under
//! `terraform fmt`, does): comments and blank lines live in hcl-edit's
//! `Decor` strings attached to whichever node they follow or precede (an
//! attribute's prefix, an array's `trailing`, an operand's suffix...), so
//! laying them out from the tree would mean re-lexing every decor string
//! and knowing each node's line anyway. A token stream has every comment
//! and line break in order, and indentation is a function of bracket
//! nesting. The tree is still the judge: the input must parse (else the
//! parser's diagnostics are the error), and the output must parse to the
//! same hcl-edit tree, decor and spans aside (`same_tree`), or nothing is
//! returned ([`FormatError::ChangedMeaning`], a bug in the formatter): as
//! black does, a formatting mistake is never written over a user's file.

mod layout;
#[cfg(test)]
mod tests;
mod tokens;

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use hcl_edit::visit_mut::{self, VisitMut};

/// Why a text was not formatted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// The text does not parse: the parser's error diagnostics (as `check`
    /// reports them, in the file given to [`format_file`]).
    Syntax(Vec<Diagnostic>),
    /// The formatted text would not parse to the same tree as the input (a
    /// bug in the formatter; the input is left as it is).
    ChangedMeaning,
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Syntax(diagnostics) => match diagnostics.first() {
                Some(first) => write!(f, "the text does not parse: {}", first.message),
                None => write!(f, "the text does not parse"),
            },
            FormatError::ChangedMeaning => write!(
                f,
                "formatting would change what the text means, so it was left as it is (a bug in stackc fmt: please report it with the file)"
            ),
        }
    }
}

impl std::error::Error for FormatError {}

/// Formats one stack file's text (diagnostics in [`FileId`] 0): the entry
/// point for editors, which map the diagnostics themselves.
pub fn format_source(text: &str) -> Result<String, FormatError> {
    format_file(FileId(0), text)
}

/// Formats the text of `file`; a syntax error's diagnostics point into it.
pub fn format_file(file: FileId, text: &str) -> Result<String, FormatError> {
    // A byte order mark is not HCL (`parse` blanks it); the output has none.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Ok(before) = hcl_edit::parser::parse_body(text) else {
        let (_, diagnostics) = crate::syntax::parse(file, text);
        let mut errors: Vec<Diagnostic> = diagnostics.into_iter().filter(Diagnostic::is_error).collect();
        if errors.is_empty() {
            errors.push(Diagnostic::new(
                Code::SyntaxError,
                Span::file_start(file),
                "The file does not parse.",
            ));
        }
        return Err(FormatError::Syntax(errors));
    };
    let formatted = layout::layout(&tokens::tokens(text));
    match hcl_edit::parser::parse_body(&formatted) {
        Ok(after) => {
            if same_tree(before, after) {
                Ok(formatted)
            } else {
                Err(FormatError::ChangedMeaning)
            }
        }
        Err(_) => Err(FormatError::ChangedMeaning),
    }
}

/// Whether two parsed bodies are the same program: hcl-edit's equality
/// ignores decor (blank space, comments) and spans, except for the blank
/// space and comments before a closing `]`, `}` or `)` (`trailing`), which
/// are cleared first.
pub(crate) fn same_tree(mut a: hcl_edit::structure::Body, mut b: hcl_edit::structure::Body) -> bool {
    ClearTrailing.visit_body_mut(&mut a);
    ClearTrailing.visit_body_mut(&mut b);
    a == b
}

struct ClearTrailing;

impl VisitMut for ClearTrailing {
    fn visit_array_mut(&mut self, node: &mut hcl_edit::expr::Array) {
        node.set_trailing("");
        visit_mut::visit_array_mut(self, node);
    }

    fn visit_object_mut(&mut self, node: &mut hcl_edit::expr::Object) {
        node.set_trailing("");
        visit_mut::visit_object_mut(self, node);
    }

    fn visit_func_args_mut(&mut self, node: &mut hcl_edit::expr::FuncArgs) {
        node.set_trailing("");
        visit_mut::visit_func_args_mut(self, node);
    }
}
