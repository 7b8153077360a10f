//! The stackc compiler: syntax, resolve, check, expand.
//!
//! Invariant: this crate does no I/O. It reads no file, no clock and no
//! network; the binary hands it [`source::Sources`] and gets back IRs and
//! diagnostics. Analysis never fails: every stage returns what it could build
//! plus every problem found.

pub mod ast;
pub mod codes;
pub mod diagnostic;
pub mod graph;
pub mod schema;
pub mod source;
pub mod types;
pub mod value;

pub use codes::Code;
pub use diagnostic::{Diagnostic, Label, Severity};
pub use source::{FileId, Origin, SourceFile, Sources, Span};
pub use value::Value;

pub mod expand;
pub mod hir;
pub mod stdlib;
pub mod syntax;

/// Values given from outside the stack: `-var name=value`, `--var-file`.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// (name, value) pairs, later ones win.
    pub variables: Vec<(String, Value)>,
}

/// What `check` built, plus every problem found.
#[derive(Debug, Default)]
pub struct Checked {
    /// `None` only when nothing could be built at all.
    pub stack: Option<hir::Stack>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses, resolves and type-checks every file in `sources` (the user's
/// stack plus the stdlib files the caller added with `Origin::Stdlib`).
pub fn check(_sources: &Sources, _options: &CheckOptions) -> Checked {
    Checked::default()
}
