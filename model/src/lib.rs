//! The vocabulary every stage of stackc and every provider shares: files
//! and spans, diagnostics and their codes, values, types, resource schemas,
//! the resource graph with its addresses and renderings, a rollout's step.
//!
//! Invariant: this crate depends on no other stackc crate. The compiler
//! re-exports its modules under their old paths (`stackc_compiler::value`,
//! `stackc_compiler::expand::address`, ...); the planner and the providers
//! depend on this crate alone, not on the compiler. Like the compiler, it
//! does no I/O.

pub mod address;
pub mod codes;
pub mod diagnostic;
pub mod graph;
pub mod hash;
pub mod load;
pub mod render;
pub mod rollout;
pub mod schema;
pub mod source;
pub mod types;
pub mod value;

pub use codes::Code;
pub use diagnostic::{Diagnostic, Label, Severity};
pub use rollout::RolloutStep;
pub use source::{FileId, Origin, SourceFile, Sources, Span};
pub use value::{Fields, Value};
