//! Fuzzes the syntax front alone (`stackc_compiler::syntax::parse`), faster
//! than the `check` target, and checks its documented invariants: no panic,
//! every diagnostic span inside the text, blocks nested at most `MAX_DEPTH`
//! deep and no expression taller than `MAX_EXPR_DEPTH` nodes (later passes
//! recurse over the AST relying on that bound).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stackc_compiler::ast::{Body, Expr, ExprKind, SplatStep, TemplatePart};
use stackc_compiler::syntax::{parse, MAX_DEPTH, MAX_EXPR_DEPTH};
use stackc_compiler::FileId;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (file, diagnostics) = parse(FileId(0), text);
    for diagnostic in &diagnostics {
        for label in std::iter::once(&diagnostic.primary).chain(&diagnostic.secondary) {
            assert!(text.get(label.span.range()).is_some(), "span outside the text: {diagnostic:?}");
        }
    }
    check_body(&file.body, 1);
});

fn check_body(body: &Body, depth: usize) {
    assert!(depth <= MAX_DEPTH + 1, "blocks nested {depth} deep");
    for attribute in &body.attributes {
        assert!(height(&attribute.value) <= MAX_EXPR_DEPTH, "expression too tall");
    }
    for block in &body.blocks {
        check_body(&block.body, depth + 1);
    }
}

/// Nodes on the longest root-to-leaf path; template parts and splat steps
/// count one level each, as the lowering counts them (the lowering's count
/// is never below this one, so asserting this one is sound).
fn height(expr: &Expr) -> usize {
    let children = match &expr.kind {
        ExprKind::Null | ExprKind::Bool(_) | ExprKind::Number(_) | ExprKind::Variable(_) => 0,
        // A plain string is one node; a template adds a level for its parts.
        ExprKind::Template(parts) if parts.iter().all(|p| matches!(p, TemplatePart::Literal(_))) => 0,
        ExprKind::Template(parts) => 1 + parts_height(parts),
        ExprKind::List(items) => items.iter().map(height).max().unwrap_or(0),
        ExprKind::Object(fields) => fields.iter().map(|(k, v)| height(k).max(height(v))).max().unwrap_or(0),
        ExprKind::GetAttr(inner, _) | ExprKind::Paren(inner) | ExprKind::Unary(_, inner) => height(inner),
        ExprKind::Index(inner, index) => height(inner).max(height(index)),
        ExprKind::Splat(inner, steps) => {
            let index = steps
                .iter()
                .map(|s| match s {
                    SplatStep::Index(index) => height(index),
                    SplatStep::Attr(_) => 0,
                })
                .max()
                .unwrap_or(0);
            (height(inner) + steps.len()).max(index)
        }
        ExprKind::Call(_, args, _) => args.iter().map(height).max().unwrap_or(0),
        ExprKind::Binary(_, left, right) => height(left).max(height(right)),
        ExprKind::Conditional(a, b, c) => height(a).max(height(b)).max(height(c)),
        ExprKind::For(f) => [Some(&f.collection), f.key.as_ref(), Some(&f.value), f.condition.as_ref()]
            .into_iter()
            .flatten()
            .map(height)
            .max()
            .unwrap_or(0),
    };
    children + 1
}

fn parts_height(parts: &[TemplatePart]) -> usize {
    parts
        .iter()
        .map(|part| match part {
            TemplatePart::Literal(_) => 0,
            TemplatePart::Interpolation(e) => height(e),
            TemplatePart::If(c, a, b) => height(c).max(1 + parts_height(a)).max(1 + parts_height(b)),
            TemplatePart::For(_, _, c, body) => height(c).max(1 + parts_height(body)),
        })
        .max()
        .unwrap_or(0)
}
