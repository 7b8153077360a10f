//! The stackc compiler: syntax, resolve, check, expand.
//!
//! Invariant: this crate does no I/O. It reads no file, no clock and no
//! network; the binary hands it [`source::Sources`] and gets back IRs and
//! diagnostics. Analysis never fails: every stage returns what it could build
//! plus every problem found.

pub mod ast;
pub mod check;
pub mod codes;
pub mod diagnostic;
pub mod eval;
pub mod functions;
pub mod graph;
pub mod hash;
pub mod infer;
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
pub mod resolve;
pub mod stdlib;
pub mod syntax;

/// Values given from outside the stack: `-var name=value`, `--var-file`.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// (name, value) pairs, later ones win.
    pub variables: Vec<(String, Value)>,
    /// Where `file()` reads from; `None`: it reads nothing.
    pub files: Option<std::sync::Arc<dyn eval::FileSource>>,
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
/// Returns the checked stack (always, even with errors: later stages run
/// only when [`Checked::has_errors`] is false) and every problem found.
pub fn check(sources: &Sources, options: &CheckOptions) -> Checked {
    let mut diagnostics = Vec::new();
    let mut stack = hir::Stack::default();
    for (id, file) in sources.iter() {
        let (parsed, found) = syntax::parse(id, &file.text);
        diagnostics.extend(found);
        stack.files.push(parsed);
        match file.origin {
            Origin::User => stack.user_files.push(id),
            Origin::Stdlib => stack.stdlib_files.push(id),
        }
    }
    let evaluator = match &options.files {
        Some(files) => eval::ExpressionEvaluator::with_files(files.clone()),
        None => eval::ExpressionEvaluator::new(),
    };
    let result = {
        let (stdlib, user) = stack.stdlib_and_user_files();
        check::check_stack(&stdlib, &user, options, &evaluator, &mut diagnostics)
    };
    stack.variables = result.variables;
    stack.targets = result.targets;
    diagnostic::sort(&mut diagnostics);
    Checked { stack: Some(stack), diagnostics }
}
