//! The references of an expression as the HIR keeps them: owned, with their
//! static steps (`random_password.value[0].result`), and what each root
//! names where the expression is ([`Resolution`]). Lowering reads them once
//! per expression with the one walk ([`super::walk`]); expansion and check
//! read them from [`crate::hir::Stack::references`].

use super::walk::{walk, RefPath, Visitor, MAX_DEPTH};
use super::{BodyNames, ComponentSymbols, Symbols};
use crate::ast::{Expr, ExprKind, TemplatePart};
use crate::hir::{Reference, Resolution, Step};

/// Where an expression is, for what its references' roots may name (the
/// same places as resolve's reference check).
#[derive(Clone, Copy)]
pub(super) struct Place<'p, 'a> {
    /// The enclosing component, with the names declared in its body (the
    /// `on` block's, or every `on` block's); `None` at the stack level.
    pub component: Option<(&'p ComponentSymbols<'a>, &'p BodyNames<'a>)>,
    /// `count.*` is visible (a resource with `count`, past `count` itself).
    pub count: bool,
    /// `each.*` is visible (a resource with `for_each`, past `for_each`).
    pub each: bool,
}

#[cfg(test)]
impl Place<'_, '_> {
    pub(super) const STACK: Place<'static, 'static> = Place { component: None, count: false, each: false };
}

/// Every reference in `expr`, in source order, with its static steps and
/// what its root names in `place`. Names bound by `for` expressions inside
/// it are not references.
pub(super) fn read(expr: &Expr, symbols: &Symbols<'_>, place: Place<'_, '_>) -> Vec<Reference> {
    struct Collect<'c, 's, 'a> {
        out: Vec<Reference>,
        symbols: &'s Symbols<'a>,
        place: Place<'c, 'a>,
    }
    impl<'e> Visitor<'e> for Collect<'_, '_, '_> {
        fn reference(&mut self, path: RefPath<'e>) {
            let resolution = resolution(&path, self.symbols, self.place);
            if let Some((root, steps)) = traversal(path.expr) {
                self.out.push(Reference { root, steps, span: path.expr.span, resolution });
            }
        }
    }
    let mut collect = Collect { out: Vec::new(), symbols, place };
    walk(expr, &mut collect);
    collect.out
}

/// What the root of `path` names in `place`, as resolve's reference check
/// decides it (which reports every [`Resolution::Unresolved`] one).
fn resolution(path: &RefPath<'_>, symbols: &Symbols<'_>, place: Place<'_, '_>) -> Resolution {
    let root = path.root.name.as_str();
    let name = path.name_at(0).map(|n| n.name.as_str());
    let found = |yes: bool, resolution: Resolution| if yes { resolution } else { Resolution::Unresolved };
    match (root, place.component) {
        ("var" | "local", Some(_)) => Resolution::Unresolved,
        ("var", None) => found(name.is_some_and(|n| symbols.variables.contains_key(n)), Resolution::Variable),
        ("local", None) => found(name.is_some_and(|n| symbols.locals.contains_key(n)), Resolution::Local),
        ("param", Some((component, _))) => {
            found(name.is_some_and(|n| component.params.contains_key(n)), Resolution::Param)
        }
        ("param", None) => Resolution::Unresolved,
        ("count", _) if place.count => Resolution::Count,
        ("each", _) if place.each => Resolution::Each,
        ("self", Some(_)) => Resolution::SelfRef,
        ("target", Some(_)) => Resolution::Target,
        ("network", Some(_)) => Resolution::Network,
        (_, component) => {
            let Some(name) = name else { return Resolution::Unresolved };
            if symbols.components.contains_key(root) {
                let declared = match component {
                    None => {
                        symbols.instances.get(root).is_some_and(|n| n.contains_key(name))
                            || (root == "network" && name == "main")
                    }
                    Some((_, names)) => names.instances.get(root).is_some_and(|n| n.contains(name)),
                };
                return found(declared, Resolution::Instance);
            }
            let declared = match component {
                None => symbols.resources.get(root).is_some_and(|n| n.contains_key(name)),
                Some((_, names)) => names.resources.get(root).is_some_and(|n| n.contains(name)),
            };
            found(declared, Resolution::Resource)
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
fn traversal(expr: &Expr) -> Option<(String, Vec<Step>)> {
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

    fn references(expr: &Expr) -> Vec<Reference> {
        read(expr, &Symbols::default(), Place::STACK)
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
