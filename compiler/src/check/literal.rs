//! An evaluator for what needs no expression library: literals, lists,
//! objects, plain templates and traversals of known roots. Everything else
//! (operators, calls, conditionals, `for`) is unknown, which the checker
//! treats as "checked by type alone". Used until the full evaluator
//! (`crate::eval`) is wired in.

use crate::ast::{Expr, ExprKind, TemplatePart};
use crate::diagnostic::Diagnostic;
use crate::expand::{Evaluator, Roots};
use crate::value::{format_number, Value};

/// Bound on nesting evaluated.
const MAX_DEPTH: usize = 128;

#[derive(Debug, Default)]
pub struct LiteralEvaluator;

impl Evaluator for LiteralEvaluator {
    fn evaluate(&self, expr: &Expr, roots: &dyn Roots) -> Result<Value, Diagnostic> {
        Ok(literal(expr, roots, 0))
    }
}

fn literal(expr: &Expr, roots: &dyn Roots, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Unknown;
    }
    match &expr.kind {
        ExprKind::Null => Value::Null,
        ExprKind::Bool(b) => Value::Bool(*b),
        ExprKind::Number(n) => Value::Number(*n),
        ExprKind::Template(parts) => {
            let mut text = String::new();
            for part in parts {
                match part {
                    TemplatePart::Literal(literal) => text.push_str(literal),
                    TemplatePart::Interpolation(inner) => match literal(inner, roots, depth + 1) {
                        Value::String(s) => text.push_str(&s),
                        Value::Number(n) => text.push_str(&format_number(n)),
                        Value::Bool(b) => text.push_str(&b.to_string()),
                        Value::Sensitive(_) => return Value::Unknown.into_sensitive(),
                        _ => return Value::Unknown,
                    },
                    _ => return Value::Unknown,
                }
            }
            Value::String(text)
        }
        ExprKind::List(items) => Value::List(items.iter().map(|e| literal(e, roots, depth + 1)).collect()),
        ExprKind::Object(fields) => {
            let mut out = indexmap::IndexMap::new();
            for (key, value) in fields {
                let key = match literal(key, roots, depth + 1) {
                    Value::String(s) => s,
                    Value::Number(n) => format_number(n),
                    _ => return Value::Unknown,
                };
                out.insert(key, literal(value, roots, depth + 1));
            }
            Value::Object(out)
        }
        ExprKind::Paren(inner) => literal(inner, roots, depth + 1),
        ExprKind::Variable(name) => roots.root(&name.name).unwrap_or(Value::Unknown),
        ExprKind::GetAttr(inner, name) => step(literal(inner, roots, depth + 1), &name.name),
        ExprKind::Index(inner, index) => match literal(index, roots, depth + 1) {
            Value::String(key) => step(literal(inner, roots, depth + 1), &key),
            Value::Number(n) => step(literal(inner, roots, depth + 1), &format_number(n)),
            _ => Value::Unknown,
        },
        _ => Value::Unknown,
    }
}

/// One traversal step; sensitive marks survive.
fn step(value: Value, key: &str) -> Value {
    match value {
        Value::Sensitive(inner) => step(*inner, key).into_sensitive(),
        Value::Object(mut fields) => fields.swap_remove(key).unwrap_or(Value::Unknown),
        Value::List(mut items) => match key.parse::<usize>() {
            Ok(i) if i < items.len() => items.swap_remove(i),
            _ => Value::Unknown,
        },
        _ => Value::Unknown,
    }
}
