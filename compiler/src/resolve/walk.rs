//! The names an expression uses, read from its syntax with a span for every
//! step, so a diagnostic can point at the exact part of `service.api.uri`
//! that is wrong. Names bound by `for` expressions (and template `for`
//! directives) are not references. The one walk over references: resolve's
//! reference check visits with it and reads each reference's static steps
//! from the traversal it gives ([`RefPath::expr`]) into the HIR
//! (`refs.rs`), where check and expansion read them.

use crate::ast::{Expr, ExprKind, Ident, SplatStep, TemplatePart};

/// Depth beyond which expressions are not walked (the parser bounds nesting
/// well below this; the guard keeps the walk safe on any tree).
pub const MAX_DEPTH: usize = 256;

/// One step after the root of a reference.
#[derive(Clone, Copy, Debug)]
pub enum PathStep<'a> {
    /// `.name`
    Attr(&'a Ident),
    /// `[index]`
    Index(&'a Expr),
}

/// A reference: `root.step...`, as far as it is a traversal. It keeps the
/// first two steps, which is all a reference's meaning depends on
/// (`kind.name.output`, `var.name`), so finding one allocates nothing.
#[derive(Clone, Debug)]
pub struct RefPath<'a> {
    pub root: &'a Ident,
    /// The steps after the root, up to two.
    first: Option<PathStep<'a>>,
    second: Option<PathStep<'a>>,
    /// How many steps the traversal has in all.
    pub len: usize,
    /// The whole traversal.
    pub span: crate::source::Span,
    /// The traversal's expression (`root.a[0].b`), for a reader that
    /// needs every step.
    pub expr: &'a Expr,
}

impl<'a> RefPath<'a> {
    /// Step `i` (`0`: the one after the root), for the first two.
    pub fn step(&self, i: usize) -> Option<PathStep<'a>> {
        match i {
            0 => self.first,
            1 => self.second,
            _ => None,
        }
    }

    /// The name of step `i` (one of the first two) when it is an attribute.
    pub fn name_at(&self, i: usize) -> Option<&'a Ident> {
        match self.step(i)? {
            PathStep::Attr(ident) => Some(ident),
            PathStep::Index(_) => None,
        }
    }

    /// The span from the root to the end of step `i` (one of the first two;
    /// the whole traversal for a step it does not have).
    pub fn span_through(&self, i: usize) -> crate::source::Span {
        let end = match self.step(i) {
            Some(PathStep::Attr(ident)) => ident.span,
            Some(PathStep::Index(expr)) => expr.span,
            None => return self.span,
        };
        self.root.span.to(end)
    }
}

/// What a walk finds.
pub trait Visitor<'a> {
    fn reference(&mut self, path: RefPath<'a>);
    /// A function call: its name, arguments, whether the last one is
    /// expanded with `...`, and the whole call's span.
    fn call(&mut self, _name: &'a Ident, _args: &'a [Expr], _expand: bool, _span: crate::source::Span) {}
}

/// Visits every reference and call in `expr`, in source order.
pub fn walk<'a>(expr: &'a Expr, visitor: &mut dyn Visitor<'a>) {
    let mut bound = Vec::new();
    walk_expr(expr, &mut bound, visitor, 0);
}

/// Every reference in `expr`, in source order.
#[cfg(test)]
pub fn references(expr: &Expr) -> Vec<RefPath<'_>> {
    struct Collect<'a>(Vec<RefPath<'a>>);
    impl<'a> Visitor<'a> for Collect<'a> {
        fn reference(&mut self, path: RefPath<'a>) {
            self.0.push(path);
        }
    }
    let mut collect = Collect(Vec::new());
    walk(expr, &mut collect);
    collect.0
}

/// `root.a[0].b` as a reference; `None` when the chain does not start at a
/// bare name.
fn traversal(expr: &Expr) -> Option<RefPath<'_>> {
    // Down from the outermost step; the last two seen are the first two.
    let (mut first, mut second) = (None, None);
    let mut current = expr;
    for len in 0..MAX_DEPTH {
        let step = match &current.kind {
            ExprKind::Variable(root) => {
                return Some(RefPath { root, first, second, len, span: expr.span, expr });
            }
            ExprKind::GetAttr(inner, name) => {
                current = inner;
                PathStep::Attr(name)
            }
            ExprKind::Index(inner, index) => {
                current = inner;
                PathStep::Index(index)
            }
            _ => return None,
        };
        second = first;
        first = Some(step);
    }
    None
}

/// Walks the index expressions of the chain `expr` (at `depth`), in source
/// order. Recursion follows the chain, which [`traversal`] found no longer
/// than [`MAX_DEPTH`] steps.
fn walk_chain_indexes<'a>(
    expr: &'a Expr,
    bound: &mut Vec<&'a str>,
    visitor: &mut dyn Visitor<'a>,
    depth: usize,
) {
    match &expr.kind {
        ExprKind::GetAttr(inner, _) => walk_chain_indexes(inner, bound, visitor, depth),
        ExprKind::Index(inner, index) => {
            walk_chain_indexes(inner, bound, visitor, depth);
            walk_expr(index, bound, visitor, depth + 1);
        }
        _ => {}
    }
}

fn walk_expr<'a>(expr: &'a Expr, bound: &mut Vec<&'a str>, visitor: &mut dyn Visitor<'a>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    if let Some(path) = traversal(expr) {
        // The traversal, then the references in its indexes: source order.
        if !bound.contains(&path.root.name.as_str()) {
            visitor.reference(path);
        }
        walk_chain_indexes(expr, bound, visitor, depth);
        return;
    }
    match &expr.kind {
        ExprKind::Null | ExprKind::Bool(_) | ExprKind::Number(_) | ExprKind::Variable(_) => {}
        ExprKind::Template(parts) => walk_template(parts, bound, visitor, depth + 1),
        ExprKind::List(items) => items.iter().for_each(|e| walk_expr(e, bound, visitor, depth + 1)),
        ExprKind::Object(fields) => {
            for (key, value) in fields {
                // An identifier key is lowered to a string literal; a
                // parenthesised key is an expression.
                walk_expr(key, bound, visitor, depth + 1);
                walk_expr(value, bound, visitor, depth + 1);
            }
        }
        ExprKind::GetAttr(inner, _) => walk_expr(inner, bound, visitor, depth + 1),
        ExprKind::Index(inner, index) => {
            walk_expr(inner, bound, visitor, depth + 1);
            walk_expr(index, bound, visitor, depth + 1);
        }
        ExprKind::Splat(inner, steps) => {
            walk_expr(inner, bound, visitor, depth + 1);
            for step in steps {
                if let SplatStep::Index(index) = step {
                    walk_expr(index, bound, visitor, depth + 1);
                }
            }
        }
        ExprKind::Call(name, args, expand) => {
            visitor.call(name, args, *expand, expr.span);
            args.iter().for_each(|e| walk_expr(e, bound, visitor, depth + 1));
        }
        ExprKind::Unary(_, inner) | ExprKind::Paren(inner) => walk_expr(inner, bound, visitor, depth + 1),
        ExprKind::Binary(_, left, right) => {
            walk_expr(left, bound, visitor, depth + 1);
            walk_expr(right, bound, visitor, depth + 1);
        }
        ExprKind::Conditional(condition, then, otherwise) => {
            walk_expr(condition, bound, visitor, depth + 1);
            walk_expr(then, bound, visitor, depth + 1);
            walk_expr(otherwise, bound, visitor, depth + 1);
        }
        ExprKind::For(for_expr) => {
            walk_expr(&for_expr.collection, bound, visitor, depth + 1);
            let before = bound.len();
            if let Some(key) = &for_expr.key_var {
                bound.push(&key.name);
            }
            bound.push(&for_expr.value_var.name);
            if let Some(key) = &for_expr.key {
                walk_expr(key, bound, visitor, depth + 1);
            }
            walk_expr(&for_expr.value, bound, visitor, depth + 1);
            if let Some(condition) = &for_expr.condition {
                walk_expr(condition, bound, visitor, depth + 1);
            }
            bound.truncate(before);
        }
    }
}

fn walk_template<'a>(
    parts: &'a [TemplatePart],
    bound: &mut Vec<&'a str>,
    visitor: &mut dyn Visitor<'a>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    for part in parts {
        match part {
            TemplatePart::Literal(_) => {}
            TemplatePart::Interpolation(expr) => walk_expr(expr, bound, visitor, depth + 1),
            TemplatePart::If(condition, then, otherwise) => {
                walk_expr(condition, bound, visitor, depth + 1);
                walk_template(then, bound, visitor, depth + 1);
                walk_template(otherwise, bound, visitor, depth + 1);
            }
            TemplatePart::For(key, value, collection, body) => {
                walk_expr(collection, bound, visitor, depth + 1);
                let before = bound.len();
                if let Some(key) = key {
                    bound.push(&key.name);
                }
                bound.push(&value.name);
                walk_template(body, bound, visitor, depth + 1);
                bound.truncate(before);
            }
        }
    }
}
