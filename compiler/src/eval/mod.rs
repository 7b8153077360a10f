//! The expression evaluator: HCL expressions to [`Value`]s, with unknowns
//! propagated and sensitive marks kept, and the function library.
//!
//! INTERIM: until the evaluator lands this delegates to the expansion
//! tests' evaluator, which covers what the stdlib bodies use. The public
//! API below (`ExpressionEvaluator`, `FileSource`) is the contract the
//! binary and the expansion stage build against.

use crate::ast::Expr;
use crate::diagnostic::Diagnostic;
use crate::expand::{Evaluator, Roots};
use crate::value::Value;
use std::sync::Arc;

/// Where `file("path")` reads from: implemented by the binary over the
/// stack's directory (paths are relative to it), by a map in tests. The
/// compiler itself does no I/O.
pub trait FileSource: Send + Sync + std::fmt::Debug {
    /// The file's text, or why it cannot be read (a full sentence).
    fn read(&self, path: &str) -> Result<String, String>;
}

/// The language's evaluator, used by `check` and by expansion.
#[derive(Clone, Debug, Default)]
pub struct ExpressionEvaluator {
    files: Option<Arc<dyn FileSource>>,
}

impl ExpressionEvaluator {
    /// An evaluator whose `file()` reads nothing (an error says why).
    pub fn new() -> ExpressionEvaluator {
        ExpressionEvaluator { files: None }
    }

    /// An evaluator whose `file()` reads through `files`.
    pub fn with_files(files: Arc<dyn FileSource>) -> ExpressionEvaluator {
        ExpressionEvaluator { files: Some(files) }
    }

    pub fn files(&self) -> Option<&Arc<dyn FileSource>> {
        self.files.as_ref()
    }
}

impl Evaluator for ExpressionEvaluator {
    fn evaluate(&self, expr: &Expr, roots: &dyn Roots) -> Result<Value, Diagnostic> {
        crate::expand::test_support::TestEvaluator.evaluate(expr, roots)
    }
}
