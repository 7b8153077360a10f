//! The reconcile policy a stack writes: `reconcile { drift = "report" }` at
//! the top level (the stack's default) or inside an instance (that
//! instance's), `"revert"` (the default: a managed attribute changed outside
//! stackc is put back) or `"report"` (it is only reported).
//!
//! Checked here, at resolve time (a literal string, one of the two), and
//! read by `stackc reconcile` from the checked stack; expansion ignores the
//! blocks (`reconcile` is reserved: neither an instance kind nor a param).

use crate::ast::{Block, ExprKind, TemplatePart};
use crate::hir::Stack;
use crate::{Code, Diagnostic};

/// The block's kind, at the top level and in an instance.
pub const BLOCK: &str = "reconcile";

/// The values of `drift`.
pub const DRIFT_POLICIES: &[&str] = &["revert", "report"];

/// The literal string of `drift` in a `reconcile` block, if it is one.
fn drift_of(block: &Block) -> Option<&str> {
    let attribute = block.body.attribute("drift")?;
    match &attribute.value.kind {
        ExprKind::Template(parts) => match parts.as_slice() {
            [TemplatePart::Literal(text)] => Some(text.as_str()),
            [] => Some(""),
            _ => None,
        },
        _ => None,
    }
}

/// The problems of one `reconcile` block (`where`: "the stack" or "an
/// instance", for messages): only `drift`, a literal `"revert"` or
/// `"report"`, no labels, no nested blocks.
pub fn check_block(block: &Block) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if let Some(label) = block.labels.first() {
        problems.push(
            Diagnostic::new(Code::WrongLabels, label.span, "A `reconcile` block takes no label.")
                .with_label("no label here")
                .with_help("write `reconcile { drift = \"report\" }`"),
        );
    }
    for attribute in &block.body.attributes {
        if attribute.name.name != "drift" {
            problems.push(
                Diagnostic::new(
                    Code::UnexpectedAttribute,
                    attribute.name.span,
                    format!("A `reconcile` block has no attribute `{}`.", attribute.name.name),
                )
                .with_label("unknown here")
                .with_help("a `reconcile` block accepts `drift`"),
            );
        }
    }
    for inner in &block.body.blocks {
        problems.push(
            Diagnostic::new(
                Code::UnexpectedBlock,
                inner.kind.span,
                "A `reconcile` block has no nested blocks.",
            )
            .with_label("not allowed here")
            .with_help("a `reconcile` block accepts `drift`"),
        );
    }
    if let Some(attribute) = block.body.attribute("drift") {
        if !drift_of(block).is_some_and(|d| DRIFT_POLICIES.contains(&d)) {
            problems.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    attribute.value.span,
                    "`drift` must be \"revert\" (a change made outside stackc is put back) or \"report\" (it is only reported).",
                )
                .with_label("expected \"revert\" or \"report\"")
                .with_help("write the policy as a literal string: `drift = \"report\"`"),
            );
        }
    }
    problems
}

/// Whether `block` (an instance's or the stack's) says `drift = "report"`;
/// `None` when it sets no policy.
fn reports(blocks: &[Block]) -> Option<bool> {
    blocks.iter().filter(|b| b.kind.name == BLOCK).filter_map(drift_of).next_back().map(|d| d == "report")
}

/// What `stackc reconcile` only reports: the addresses (instances, and
/// top-level resources) whose drift policy is `report`, given the stack's
/// default and each instance's own.
pub fn drift_reported(stack: &Stack) -> Vec<String> {
    let (_, user) = stack.stdlib_and_user_files();
    let top: Vec<Block> =
        user.iter().flat_map(|f| f.body.blocks.iter()).filter(|b| b.kind.name == BLOCK).cloned().collect();
    let default = reports(&top).unwrap_or(false);
    let mut out = Vec::new();
    let visit = |blocks: &[Block], out: &mut Vec<String>| {
        for block in blocks {
            let [label] = block.labels.as_slice() else { continue };
            let kind = block.kind.name.as_str();
            if ["variable", "output", "target", "component", "locals", "on", BLOCK].contains(&kind) {
                continue;
            }
            if default && kind == "resource" {
                continue;
            }
            if kind != "resource" && reports(&block.body.blocks).unwrap_or(default) {
                out.push(format!("{kind}.{}", label.name));
            }
        }
    };
    for file in &user {
        visit(&file.body.blocks, &mut out);
        for on in file.body.blocks_of("on") {
            visit(&on.body.blocks, &mut out);
        }
    }
    if default {
        // Top-level resources follow the stack's default.
        for file in &user {
            let resources = file
                .body
                .blocks_of("resource")
                .chain(file.body.blocks_of("on").flat_map(|on| on.body.blocks_of("resource")));
            for block in resources {
                if let [kind, name] = block.labels.as_slice() {
                    out.push(format!("{}.{}", kind.name, name.name));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
