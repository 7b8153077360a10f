//! Lowering of hcl-edit's lossless tree to the [`ast`](crate::ast).
//!
//! hcl-edit keeps every byte (decor, comments, raw number text); the AST
//! keeps meaning plus a byte span per node. Template strip markers (`~`) are
//! applied here, so later passes see the literal text HCL defines.
//!
//! Recursion here follows hcl-edit's tree, whose nesting hcl-edit and the
//! pre-scan bound; traversal chains are folded in a loop. Every lowered
//! expression reports its height, and a tree taller than
//! [`MAX_EXPR_DEPTH`](super::MAX_EXPR_DEPTH) is replaced by `null` with an
//! E0102 diagnostic, so no later pass can recurse deeper than that.

use super::MAX_EXPR_DEPTH;
use crate::ast::{self, BinaryOp, Expr, ExprKind, Ident, SplatStep, TemplatePart, UnaryOp};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};
use hcl_edit::structure::{BlockLabel, Structure};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::Span as _;
use std::ops::Range;

pub(super) struct Lowerer<'a> {
    file: FileId,
    /// Start offsets of attribute names that repeat an earlier one in their
    /// body: hcl-edit refuses them, `parse` renames them to get a tree, and
    /// they are dropped here with E0108.
    duplicates: &'a [u32],
    /// The text as written (the parsed one may have renamed duplicates).
    original: &'a str,
    pub(super) diagnostics: Vec<Diagnostic>,
    /// Set once an expression was too deep, so one deep tree gives one error.
    reported_depth: bool,
    /// Where the parsed text starts in `original`: a piece of a large file
    /// parsed on its own (see `parse_piece`) has its spans shifted by it.
    offset: usize,
}

/// An expression and the number of nodes on its longest root-to-leaf path.
type Lowered = (Expr, usize);

impl<'a> Lowerer<'a> {
    pub(super) fn new(file: FileId, original: &'a str, duplicates: &'a [u32]) -> Lowerer<'a> {
        Lowerer { file, duplicates, original, diagnostics: Vec::new(), reported_depth: false, offset: 0 }
    }

    /// A lowerer of the piece of `original` that starts at `offset`.
    pub(super) fn at_offset(self, offset: usize) -> Lowerer<'a> {
        Lowerer { offset, ..self }
    }

    fn span(&self, range: Option<Range<usize>>) -> Span {
        // A node without a span gets `0..0`, in a piece as in a whole file.
        let range = range.map_or(0..0, |r| (r.start + self.offset)..(r.end + self.offset));
        Span::new(self.file, range)
    }

    fn ident(&self, name: &str, range: Option<Range<usize>>) -> Ident {
        Ident { name: name.to_string(), span: self.span(range) }
    }

    pub(super) fn body(&mut self, body: &hcl_edit::structure::Body) -> ast::Body {
        let attributes = body.iter().filter(|s| s.is_attribute()).count();
        let mut out = ast::Body {
            attributes: Vec::with_capacity(attributes),
            blocks: Vec::with_capacity(body.len() - attributes),
        };
        for structure in body.iter() {
            match structure {
                Structure::Attribute(attribute) => {
                    let mut name = self.ident(attribute.key.as_str(), attribute.key.span());
                    if self.duplicates.contains(&name.span.start) {
                        // The tree holds the placeholder; report the user's name.
                        name.name = self.original.get(name.span.range()).unwrap_or_default().to_string();
                        let first =
                            out.attributes.iter().find(|a| a.name.name == name.name).map(|a| a.name.span);
                        self.diagnostics.push(duplicate_attribute(&name, first));
                        continue;
                    }
                    out.attributes.push(ast::Attribute {
                        name,
                        value: self.root_expr(&attribute.value),
                        span: self.span(attribute.span()),
                    });
                }
                Structure::Block(block) => {
                    let labels = block
                        .labels
                        .iter()
                        .map(|label| match label {
                            BlockLabel::Ident(ident) => self.ident(ident.as_str(), ident.span()),
                            BlockLabel::String(string) => {
                                // The label's span covers the quotes; the name does not.
                                let inner = string
                                    .span()
                                    .map(|r| (r.start + 1)..r.end.saturating_sub(1).max(r.start + 1));
                                self.ident(string.value(), inner)
                            }
                        })
                        .collect();
                    out.blocks.push(ast::Block {
                        kind: self.ident(block.ident.as_str(), block.ident.span()),
                        labels,
                        body: self.body(&block.body),
                        span: self.span(block.span()),
                    });
                }
            }
        }
        out
    }

    /// Lowers an attribute's value, enforcing the height limit.
    fn root_expr(&mut self, expr: &Expression) -> Expr {
        self.expr(expr).0
    }

    fn node(&mut self, kind: ExprKind, span: Span, child_height: usize) -> Lowered {
        let height = child_height + 1;
        if height > MAX_EXPR_DEPTH {
            if !self.reported_depth {
                self.reported_depth = true;
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::NestingTooDeep,
                        span,
                        format!("This expression nests more than {MAX_EXPR_DEPTH} levels deep (operators, traversal steps and brackets all count)."),
                    )
                    .with_label("nested too deeply")
                    .with_help("split it into `locals` values that refer to each other"),
                );
            }
            return (Expr { kind: ExprKind::Null, span }, 1);
        }
        (Expr { kind, span }, height)
    }

    fn exprs<'e>(&mut self, items: impl Iterator<Item = &'e Expression>) -> (Vec<Expr>, usize) {
        let mut height = 0;
        let items = items
            .map(|item| {
                let (expr, h) = self.expr(item);
                height = height.max(h);
                expr
            })
            .collect();
        (items, height)
    }

    fn expr(&mut self, expr: &Expression) -> Lowered {
        let at = self.span(expr.span());
        match expr {
            Expression::Null(_) => self.node(ExprKind::Null, at, 0),
            Expression::Bool(b) => self.node(ExprKind::Bool(*b.value()), at, 0),
            Expression::Number(n) => {
                // hcl-edit only produces finite numbers except for overflowing
                // literals such as `1e309`, which become infinity here.
                let value = n.value().as_f64().unwrap_or(f64::INFINITY);
                self.node(ExprKind::Number(value), at, 0)
            }
            Expression::String(s) => {
                self.node(ExprKind::Template(vec![TemplatePart::Literal(s.value().clone())]), at, 0)
            }
            Expression::StringTemplate(template) => {
                let (parts, height) = self.template(template, false, false);
                self.node(ExprKind::Template(parts), at, height)
            }
            Expression::HeredocTemplate(heredoc) => {
                let (parts, height) = self.template(&heredoc.template, false, false);
                self.node(ExprKind::Template(parts), at, height)
            }
            Expression::Array(array) => {
                let (items, height) = self.exprs(array.iter());
                self.node(ExprKind::List(items), at, height)
            }
            Expression::Object(object) => {
                let mut height = 0;
                let mut fields = Vec::with_capacity(object.len());
                for (key, value) in object.iter() {
                    let (key, key_height) = match key {
                        ObjectKey::Ident(ident) => (
                            Expr {
                                kind: ExprKind::Template(vec![TemplatePart::Literal(
                                    ident.as_str().to_string(),
                                )]),
                                span: self.span(ident.span()),
                            },
                            1,
                        ),
                        ObjectKey::Expression(e) => self.expr(e),
                    };
                    let (value, value_height) = self.expr(value.expr());
                    height = height.max(key_height).max(value_height);
                    fields.push((key, value));
                }
                self.node(ExprKind::Object(fields), at, height)
            }
            Expression::Parenthesis(p) => {
                let (inner, height) = self.expr(p.inner());
                self.node(ExprKind::Paren(Box::new(inner)), at, height)
            }
            Expression::Variable(v) => self.node(ExprKind::Variable(self.ident(v.as_str(), v.span())), at, 0),
            Expression::Conditional(c) => {
                let (condition, h1) = self.expr(&c.cond_expr);
                let (then, h2) = self.expr(&c.true_expr);
                let (otherwise, h3) = self.expr(&c.false_expr);
                self.node(
                    ExprKind::Conditional(Box::new(condition), Box::new(then), Box::new(otherwise)),
                    at,
                    h1.max(h2).max(h3),
                )
            }
            Expression::FuncCall(call) => {
                let name_range = call.name.name.span();
                let name = if call.name.is_namespaced() {
                    // `provider::ns::fn`: one name, spanning the whole path.
                    let start = call.name.namespace.first().and_then(|n| n.span()).map(|r| r.start);
                    let range = match (start, name_range.clone()) {
                        (Some(start), Some(end)) => Some(start..end.end),
                        (_, range) => range,
                    };
                    let mut path: Vec<&str> = call.name.namespace.iter().map(|n| n.as_str()).collect();
                    path.push(call.name.name.as_str());
                    self.ident(&path.join("::"), range)
                } else {
                    self.ident(call.name.name.as_str(), name_range)
                };
                let (args, height) = self.exprs(call.args.iter());
                self.node(ExprKind::Call(Box::new(name), args, call.args.expand_final()), at, height)
            }
            Expression::Traversal(traversal) => self.traversal(traversal, at),
            Expression::UnaryOp(op) => {
                let operator = match op.operator.value() {
                    UnaryOperator::Neg => UnaryOp::Neg,
                    UnaryOperator::Not => UnaryOp::Not,
                };
                let (operand, height) = self.expr(&op.expr);
                self.node(ExprKind::Unary(operator, Box::new(operand)), at, height)
            }
            Expression::BinaryOp(op) => {
                let operator = binary_operator(*op.operator.value());
                let (left, h1) = self.expr(&op.lhs_expr);
                let (right, h2) = self.expr(&op.rhs_expr);
                self.node(ExprKind::Binary(operator, Box::new(left), Box::new(right)), at, h1.max(h2))
            }
            Expression::ForExpr(f) => {
                let key_var = f.intro.key_var.as_ref().map(|k| self.ident(k.as_str(), k.span()));
                let value_var = self.ident(f.intro.value_var.as_str(), f.intro.value_var.span());
                let (collection, h1) = self.expr(&f.intro.collection_expr);
                let (key, h2) = match &f.key_expr {
                    Some(k) => {
                        let (k, h) = self.expr(k);
                        (Some(k), h)
                    }
                    None => (None, 0),
                };
                let (value, h3) = self.expr(&f.value_expr);
                let (condition, h4) = match &f.cond {
                    Some(c) => {
                        let (c, h) = self.expr(&c.expr);
                        (Some(c), h)
                    }
                    None => (None, 0),
                };
                let for_expr = ast::ForExpr {
                    key_var,
                    value_var,
                    collection,
                    key,
                    value,
                    grouping: f.grouping,
                    condition,
                };
                self.node(ExprKind::For(Box::new(for_expr)), at, h1.max(h2).max(h3).max(h4))
            }
        }
    }

    /// `base.a[0].*.b`: one AST node per step, each spanning from the
    /// traversal's start to the end of its step. A splat (`[*]`, `.*`) takes
    /// the steps after it (any for `[*]`; for `.*` attributes and legacy `.0`
    /// indexes only, as in HCL) into its [`SplatStep`]s; a later step that it
    /// cannot take applies to the splat's result. Known gap: HCL nests a
    /// second full splat inside the first (`a[*].b[*].c` is `c` of every `b`
    /// of every `a`); [`SplatStep`] has no splat step, so here it applies to
    /// the first splat's result instead, as `(a[*].b)[*].c`.
    fn traversal(&mut self, traversal: &hcl_edit::expr::Traversal, whole: Span) -> Lowered {
        let (base, mut height) = self.expr(&traversal.expr);
        let start = base.span.start;
        let mut chain = Chain::Plain(base);
        for operator in &traversal.operators {
            let end = operator.span().map_or(whole.end, |r| (r.end + self.offset) as u32);
            let step = match operator.value() {
                TraversalOperator::GetAttr(name) => Step::Attr(self.ident(name.as_str(), name.span())),
                TraversalOperator::Index(index) => {
                    let (index, h) = self.expr(index);
                    height = height.max(h);
                    Step::Index(index)
                }
                TraversalOperator::LegacyIndex(index) => {
                    let span = self.span(index.span());
                    Step::LegacyIndex(Expr { kind: ExprKind::Number(*index.value() as f64), span })
                }
                TraversalOperator::FullSplat(_) => Step::Splat { full: true },
                TraversalOperator::AttrSplat(_) => Step::Splat { full: false },
            };
            let step = match &mut chain {
                Chain::Splat { steps, full, end: splat_end, .. } => match step {
                    Step::Attr(name) => {
                        steps.push(SplatStep::Attr(name));
                        *splat_end = end;
                        // Each splat step is a level for later passes.
                        height += 1;
                        continue;
                    }
                    // `.0` is attribute-like: even `.*` takes it, as in HCL.
                    Step::LegacyIndex(index) => {
                        steps.push(SplatStep::Index(index));
                        *splat_end = end;
                        height += 1;
                        continue;
                    }
                    Step::Index(index) if *full => {
                        steps.push(SplatStep::Index(index));
                        *splat_end = end;
                        height += 1;
                        continue;
                    }
                    other => other,
                },
                Chain::Plain(_) => step,
            };
            let current;
            (current, height) = self.close(chain, start, height);
            let span = Span { file: self.file, start, end };
            chain = match step {
                Step::Attr(name) => {
                    let lowered;
                    (lowered, height) = self.node(ExprKind::GetAttr(Box::new(current), name), span, height);
                    Chain::Plain(lowered)
                }
                Step::Index(index) | Step::LegacyIndex(index) => {
                    let lowered;
                    (lowered, height) =
                        self.node(ExprKind::Index(Box::new(current), Box::new(index)), span, height);
                    Chain::Plain(lowered)
                }
                Step::Splat { full } => Chain::Splat { base: current, steps: Vec::new(), full, end },
            };
        }
        self.close(chain, start, height)
    }

    /// The expression a chain stands for: a pending splat becomes its node.
    fn close(&mut self, chain: Chain, start: u32, height: usize) -> Lowered {
        match chain {
            Chain::Plain(expr) => (expr, height),
            Chain::Splat { base, steps, end, .. } => {
                let span = Span { file: self.file, start, end };
                self.node(ExprKind::Splat(Box::new(base), steps), span, height)
            }
        }
    }

    /// Lowers template elements, applying strip markers: `strip_leading` /
    /// `strip_trailing` trim the whitespace at the template's start / end
    /// (set by the markers of the directive that encloses it).
    fn template(
        &mut self,
        elements: &Template,
        strip_leading: bool,
        strip_trailing: bool,
    ) -> (Vec<TemplatePart>, usize) {
        let mut parts = Vec::with_capacity(elements.len());
        let mut height = 0;
        for (i, element) in elements.iter().enumerate() {
            match element {
                Element::Literal(literal) => {
                    let mut text: &str = literal.value();
                    let trim_start = match i.checked_sub(1).and_then(|previous| elements.get(previous)) {
                        Some(previous) => strips_after(previous),
                        None => strip_leading,
                    };
                    let trim_end = match elements.get(i + 1) {
                        Some(next) => strips_before(next),
                        None => strip_trailing,
                    };
                    if trim_start {
                        text = text.trim_start();
                    }
                    if trim_end {
                        text = text.trim_end();
                    }
                    if !text.is_empty() {
                        parts.push(TemplatePart::Literal(text.to_string()));
                    }
                }
                Element::Interpolation(interpolation) => {
                    let (expr, h) = self.expr(&interpolation.expr);
                    height = height.max(h);
                    parts.push(TemplatePart::Interpolation(expr));
                }
                Element::Directive(directive) => match directive.as_ref() {
                    Directive::If(directive) => {
                        let (condition, h1) = self.expr(&directive.if_expr.cond_expr);
                        let then_end = match &directive.else_expr {
                            Some(else_expr) => else_expr.strip.strip_start(),
                            None => directive.endif_expr.strip.strip_start(),
                        };
                        let (then, h2) = self.template(
                            &directive.if_expr.template,
                            directive.if_expr.strip.strip_end(),
                            then_end,
                        );
                        let (otherwise, h3) = match &directive.else_expr {
                            Some(else_expr) => self.template(
                                &else_expr.template,
                                else_expr.strip.strip_end(),
                                directive.endif_expr.strip.strip_start(),
                            ),
                            None => (Vec::new(), 0),
                        };
                        height = height.max(h1).max(h2).max(h3);
                        parts.push(TemplatePart::If(Box::new(condition), then, otherwise));
                    }
                    Directive::For(directive) => {
                        let intro = &directive.for_expr;
                        let key_var =
                            intro.key_var.as_ref().map(|k| Box::new(self.ident(k.as_str(), k.span())));
                        let value_var =
                            Box::new(self.ident(intro.value_var.as_str(), intro.value_var.span()));
                        let (collection, h1) = self.expr(&intro.collection_expr);
                        let (body, h2) = self.template(
                            &intro.template,
                            intro.strip.strip_end(),
                            directive.endfor_expr.strip.strip_start(),
                        );
                        height = height.max(h1).max(h2);
                        parts.push(TemplatePart::For(key_var, value_var, Box::new(collection), body));
                    }
                },
            }
        }
        // A template part is one more level for later passes.
        (parts, height + 1)
    }
}

/// A traversal folded so far: a plain expression, or a splat still taking steps.
enum Chain {
    Plain(Expr),
    Splat { base: Expr, steps: Vec<SplatStep>, full: bool, end: u32 },
}

enum Step {
    Attr(Ident),
    Index(Expr),
    /// `.0`
    LegacyIndex(Expr),
    Splat {
        full: bool,
    },
}

/// Whether `element` ends with a `~}` marker, stripping the whitespace after it.
fn strips_after(element: &Element) -> bool {
    match element {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_end(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => d.endif_expr.strip.strip_end(),
            Directive::For(d) => d.endfor_expr.strip.strip_end(),
        },
    }
}

/// Whether `element` starts with a `${~` / `%{~` marker, stripping the whitespace before it.
fn strips_before(element: &Element) -> bool {
    match element {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_start(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => d.if_expr.strip.strip_start(),
            Directive::For(d) => d.for_expr.strip.strip_start(),
        },
    }
}

fn binary_operator(operator: BinaryOperator) -> BinaryOp {
    match operator {
        BinaryOperator::Eq => BinaryOp::Eq,
        BinaryOperator::NotEq => BinaryOp::NotEq,
        BinaryOperator::Plus => BinaryOp::Add,
        BinaryOperator::Minus => BinaryOp::Sub,
        BinaryOperator::Mul => BinaryOp::Mul,
        BinaryOperator::Div => BinaryOp::Div,
        BinaryOperator::Mod => BinaryOp::Mod,
        BinaryOperator::Less => BinaryOp::Lt,
        BinaryOperator::LessEq => BinaryOp::LtEq,
        BinaryOperator::Greater => BinaryOp::Gt,
        BinaryOperator::GreaterEq => BinaryOp::GtEq,
        BinaryOperator::And => BinaryOp::And,
        BinaryOperator::Or => BinaryOp::Or,
    }
}

/// E0108 for `name`, pointing back at the first definition when known.
pub(super) fn duplicate_attribute(name: &Ident, first: Option<Span>) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::DuplicateAttribute,
        name.span,
        format!("`{}` is set more than once in the same body.", name.name),
    )
    .with_label("set again here")
    .with_help("remove one of them: an attribute can be set only once per block");
    match first {
        Some(first) => diagnostic.with_secondary(first, "first set here"),
        None => diagnostic,
    }
}
