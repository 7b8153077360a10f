//! The references of an expression as the HIR keeps them: owned, with their
//! static steps (`random_password.value[0].result`). Resolve's one walk
//! over references (`References::expression` in `mod.rs`) reads each
//! reference's steps here, with what its root names where the expression
//! is ([`crate::hir::Resolution`]), as it reports; lowering keeps them by
//! expression; expansion and check read them from
//! [`crate::hir::Stack::references`].

use super::walk::MAX_DEPTH;
use crate::ast::{Expr, ExprKind, TemplatePart};
use crate::hir::Step;

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

/// `root.a["k"][0].b` as a root and its static steps, which stop at the
/// first dynamic index.
pub(super) fn traversal(expr: &Expr) -> Option<(String, Vec<Step>)> {
    let mut steps = Vec::new();
    let mut current = expr;
    let mut depth = 0;
    loop {
        depth += 1;
        // Longest traversal read (the walk gives none longer).
        if depth > MAX_DEPTH + 1 {
            return None;
        }
        match &current.kind {
            ExprKind::Variable(root) => {
                steps.reverse();
                return Some((root.name.clone(), steps));
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
    use crate::source::{FileId, Span};

    /// Every reference's root and static steps, in source order.
    fn references(expr: &Expr) -> Vec<(String, Vec<Step>)> {
        crate::resolve::walk::references(expr).iter().filter_map(|path| traversal(path.expr)).collect()
    }

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
            .map(|(root, steps)| {
                let mut text = root;
                for step in steps {
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
