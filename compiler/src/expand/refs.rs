//! The references an expression makes, read from its syntax: `param.port`,
//! `random_password.value[0].result`, `service.api.url`. Expansion uses them
//! to order the items of a body, to record a resource's direct dependencies,
//! and to capture only the parts of a scope an expression can reach.

use crate::ast::{Expr, ExprKind, TemplatePart};
use crate::resolve::walk::{walk, RefPath, Visitor};
use crate::source::Span;

/// One step after the root of a reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Attr(String),
    /// A literal index or key: `[0]`, `["1"]`.
    Key(String),
    /// An index by a repetition's own key: `[each.key]`, `[each.value]`,
    /// `[count.index]` (root, attribute); expansion knows its value.
    Repetition(String, String),
}

impl Step {
    pub fn name(&self) -> &str {
        match self {
            Step::Attr(name) | Step::Key(name) => name,
            Step::Repetition(_, attribute) => attribute,
        }
    }
}

/// `each.key`, `each.value` or `count.index` as an index.
fn repetition_index(expr: &Expr) -> Option<Step> {
    let path = expr.as_path()?;
    match path.as_slice() {
        [root, attribute]
            if (root.name == "each" && matches!(attribute.name.as_str(), "key" | "value"))
                || (root.name == "count" && attribute.name == "index") =>
        {
            Some(Step::Repetition(root.name.clone(), attribute.name.clone()))
        }
        _ => None,
    }
}

/// `root.step.step...` as far as the steps are static.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub root: String,
    pub steps: Vec<Step>,
    pub span: Span,
}

/// Every reference in `expr`, in source order (the one walk,
/// [`crate::resolve::walk`]), with its static steps. Names bound by `for`
/// expressions inside it are not references.
pub fn references(expr: &Expr) -> Vec<Reference> {
    struct Collect(Vec<Reference>);
    impl<'a> Visitor<'a> for Collect {
        fn reference(&mut self, path: RefPath<'a>) {
            self.0.extend(traversal(path.expr));
        }
    }
    let mut collect = Collect(Vec::new());
    walk(expr, &mut collect);
    collect.0
}

/// Longest traversal read (the walk gives none longer).
const MAX_STEPS: usize = crate::resolve::walk::MAX_DEPTH;

fn literal_key(expr: &Expr) -> Option<String> {
    match &expr.kind {
        ExprKind::Number(n) if n.fract() == 0.0 && *n >= 0.0 => Some(format!("{}", *n as u64)),
        ExprKind::Template(parts) => match parts.as_slice() {
            [TemplatePart::Literal(text)] => Some(text.clone()),
            [] => Some(String::new()),
            _ => None,
        },
        _ => None,
    }
}

/// `root.a["k"][0].b` as a reference; static steps stop at the first dynamic index.
fn traversal(expr: &Expr) -> Option<Reference> {
    let mut steps = Vec::new();
    let mut current = expr;
    let mut depth = 0;
    loop {
        depth += 1;
        if depth > MAX_STEPS + 1 {
            return None;
        }
        match &current.kind {
            ExprKind::Variable(root) => {
                steps.reverse();
                return Some(Reference { root: root.name.clone(), steps, span: expr.span });
            }
            ExprKind::GetAttr(inner, name) => {
                steps.push(Step::Attr(name.name.clone()));
                current = inner;
            }
            ExprKind::Index(inner, index) => {
                match (literal_key(index), repetition_index(index)) {
                    (Some(key), _) => steps.push(Step::Key(key)),
                    (None, Some(step)) => steps.push(step),
                    // Everything after a dynamic index is not static: drop it.
                    (None, None) => steps.clear(),
                }
                current = inner;
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{ForExpr, Ident};
    use crate::source::FileId;

    fn span() -> Span {
        Span::new(FileId(0), 0..1)
    }

    fn var(name: &str) -> Expr {
        Expr { kind: ExprKind::Variable(Ident { name: name.into(), span: span() }), span: span() }
    }

    fn attr(inner: Expr, name: &str) -> Expr {
        Expr {
            kind: ExprKind::GetAttr(Box::new(inner), Ident { name: name.into(), span: span() }),
            span: span(),
        }
    }

    fn index(inner: Expr, key: Expr) -> Expr {
        Expr { kind: ExprKind::Index(Box::new(inner), Box::new(key)), span: span() }
    }

    fn number(n: f64) -> Expr {
        Expr { kind: ExprKind::Number(n), span: span() }
    }

    fn paths(expr: &Expr) -> Vec<String> {
        references(expr)
            .into_iter()
            .map(|r| {
                let mut text = r.root;
                for step in r.steps {
                    match step {
                        Step::Attr(a) => text.push_str(&format!(".{a}")),
                        Step::Key(k) => text.push_str(&format!("[{k}]")),
                        Step::Repetition(r, a) => text.push_str(&format!("[{r}.{a}]")),
                    }
                }
                text
            })
            .collect()
    }

    #[test]
    fn static_steps_stop_at_a_dynamic_index() {
        let expr = attr(index(attr(var("random_password"), "value"), number(0.0)), "result");
        assert_eq!(paths(&expr), vec!["random_password.value[0].result"]);
        let repetition = attr(index(attr(var("aws_subnet"), "zone"), attr(var("count"), "index")), "id");
        assert_eq!(paths(&repetition), vec!["aws_subnet.zone[count.index].id", "count.index"]);
        let dynamic = attr(index(attr(var("aws_subnet"), "zone"), attr(var("var"), "i")), "id");
        assert_eq!(paths(&dynamic), vec!["aws_subnet.zone", "var.i"]);
    }

    #[test]
    fn for_variables_are_not_references() {
        let for_expr = ForExpr {
            key_var: Some(Ident { name: "k".into(), span: span() }),
            value_var: Ident { name: "s".into(), span: span() },
            collection: attr(var("param"), "secret_env"),
            key: None,
            value: attr(var("s"), "name"),
            grouping: false,
            condition: Some(attr(var("self"), "name")),
        };
        let expr = Expr { kind: ExprKind::For(Box::new(for_expr)), span: span() };
        assert_eq!(paths(&expr), vec!["param.secret_env", "self.name"]);
    }
}
