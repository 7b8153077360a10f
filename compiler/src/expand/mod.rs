//! Expansion: a checked stack, for one target, becomes a resource graph.
//!
//! Component instances are instantiated with their parameters; the body of
//! the component's `on "<target>"` block gives provider resources (with
//! `count`/`for_each`), nested instances and outputs. Each resource body is
//! checked against its type's schema (see [`schema_check`]); each resource
//! gets an address ([`address`]), its evaluated values (unknown where they
//! depend on other resources' computed attributes), the direct dependencies
//! its expressions reference, and its provenance (instance block ->
//! component -> resource block).

mod engine;
pub mod schema_check;
pub mod scope;
#[cfg(test)]
mod stdlib_tests;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
#[cfg(test)]
mod tests;

pub use engine::{PriorLookup, MAX_COMPONENT_DEPTH, MAX_REPETITIONS, MAX_RESOURCES};
// Addresses, the graph's renderings and a rollout's step are vocabulary
// (the model crate); they keep their paths here.
pub use stackc_model::{address, render, RolloutStep};

use crate::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::eval::Evaluator;
use crate::graph::ResourceGraph;
use crate::hir;
use crate::resolve::KNOWN_TARGETS;
use crate::schema::SchemaSource;
use crate::source::{FileId, Span};
use indexmap::IndexMap;
use std::sync::Arc;

/// Everything expansion needs besides the stack (whose variables' values
/// `check` set) and the schemas.
pub struct ExpandOptions<'a> {
    /// `--target`; `None` to pick the stack's only target.
    pub target: Option<&'a str>,
    /// Results already in state, by address: a generated password's `result`
    /// is used from here instead of being unknown.
    pub prior: Option<PriorLookup<'a>>,
    /// Evaluates expressions.
    pub evaluator: Arc<dyn Evaluator>,
    /// Where to report problems that belong to the command line (`--target`).
    pub command_line_span: Span,
    /// Values for attributes the selected target's block leaves out, from
    /// the environment (the aws target's `region` from `AWS_REGION`, as
    /// its provider reads it); an attribute in neither reads as null.
    pub target_defaults: stackc_model::Fields,
    /// The replica count the autoscaler recorded in the state, by instance
    /// address (`service.api`): a component body reads it as
    /// `self.autoscaled_replicas` (null for an instance not listed), so
    /// expanding with the state's counts keeps what the autoscaler chose.
    pub autoscaled_replicas: IndexMap<String, u64>,
    /// Rollouts under way, by instance address (`service.api`): a component
    /// body reads the step as `self.rollout` (`{ weight, canary }`; null for
    /// an instance not listed). The rollout engine sets it for each step it
    /// applies, and from the state's records for every other command, so a
    /// plan keeps the step a rollout stands at.
    pub rollouts: IndexMap<String, RolloutStep>,
}

/// The target to expand for: `--target` if given (it must be declared, or
/// be a known target when the stack declares none), else the stack's only
/// target, else none (only target-independent resources).
pub fn select_target(
    stack: &hir::Stack,
    requested: Option<&str>,
    known_targets: &[&str],
    span: Span,
) -> Result<Option<String>, Diagnostic> {
    let declared: Vec<&str> = stack.targets.iter().map(|t| t.name.as_str()).collect();
    match requested {
        Some(name) if declared.contains(&name) => Ok(Some(name.to_string())),
        Some(name) if declared.is_empty() && known_targets.contains(&name) => Ok(Some(name.to_string())),
        Some(name) => {
            let candidates = if declared.is_empty() { known_targets.to_vec() } else { declared.clone() };
            let listed = candidates.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ");
            let mut diagnostic = Diagnostic::new(
                Code::UnknownTarget,
                stack.targets.first().map_or(span, |t| t.header),
                format!("Target `{name}` is not declared by this stack; it declares {listed}."),
            )
            .with_label("declared targets start here");
            diagnostic = match did_you_mean(name, candidates.iter().copied()) {
                Some(help) => diagnostic.with_help(help),
                None => {
                    diagnostic.with_help(format!("pass one of {listed}, or add `target \"{name}\" {{}}`"))
                }
            };
            Err(diagnostic)
        }
        None => match declared.as_slice() {
            [] => Ok(None),
            [only] => Ok(Some(only.to_string())),
            several => {
                let listed = several.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ");
                let mut diagnostic = Diagnostic::new(
                    Code::TargetRequired,
                    stack.targets[1].header,
                    format!(
                        "This stack declares {} targets ({listed}); choose one with `--target`.",
                        several.len()
                    ),
                )
                .with_label("second target")
                .with_help(format!("e.g. `--target {}`", several[0]));
                diagnostic = diagnostic.with_secondary(stack.targets[0].header, "first target");
                Err(diagnostic)
            }
        },
    }
}

/// Expands `stack` (lowered by resolve, annotated by check) for a target
/// into a resource graph. Returns the graph (`None` when the target cannot
/// be selected) and every problem found.
pub fn expand(
    stack: &hir::Stack,
    schemas: &dyn SchemaSource,
    options: ExpandOptions<'_>,
) -> (Option<ResourceGraph>, Vec<Diagnostic>) {
    let target = match select_target(stack, options.target, KNOWN_TARGETS, options.command_line_span) {
        Ok(target) => target,
        Err(diagnostic) => return (None, vec![diagnostic]),
    };
    let mut engine = engine::Engine::new(stack, schemas, options.evaluator, target, options.prior);
    engine.autoscaled_replicas = options.autoscaled_replicas;
    engine.rollouts = options.rollouts;
    engine.expand_stack(&stack.variables, &options.target_defaults, options.command_line_span);
    let mut diagnostics = engine.diagnostics;
    crate::diagnostic::sort(&mut diagnostics);
    (Some(engine.graph), diagnostics)
}

/// A span for problems of the command line, when a stack has no file to point at.
pub fn no_span() -> Span {
    Span::file_start(FileId(0))
}
