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
