//! Operators, with HCL's meaning and stricter operand types.
//!
//! - Arithmetic (`+ - * / %`, unary `-`) and comparison (`< <= > >=`) take
//!   numbers only: a string operand is an error (E0308) even when it would
//!   parse as a number (HCL would convert `"2"`; write `tonumber("2")`). That
//!   keeps the rule one that type inference can apply to values not yet
//!   known: `service.api.url * 2` is an error before apply. Division or
//!   modulo by zero and results too large for a number are errors too.
//! - `==` / `!=` compare any two values structurally; values of different
//!   types are unequal (`1 == "1"` is false, as in HCL). A comparison is
//!   unknown only when its result depends on an unknown part: `{a = x} ==
//!   null` is false whatever `x` is.
//! - `&&`, `||` and `!` take bools. `&&` and `||` short-circuit in both
//!   directions, as HCL does since v2.23: when one side is a known `false`
//!   (for `&&`) or `true` (for `||`) the result is that, and the other side's
//!   run-time error, or unknown value, does not matter. So a validation may
//!   write `param.x == null || param.x.port > 0`. The left side is evaluated
//!   first and the right one only when needed; a side's type is still
//!   checked statically by [`crate::infer`] in either case.

use super::{error, mark, path_text, short, type_name, unmark, Context, DiagnosticExt, EvalResult};
use crate::ast::{BinaryOp, Expr, UnaryOp};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::source::Span;
use crate::value::Value;

/// Bound on the nesting compared by `==`.
const MAX_COMPARE_DEPTH: usize = 256;

pub(super) fn unary(op: UnaryOp, value: Value, operand: &Expr, _span: Span) -> EvalResult {
    let (value, sensitive) = unmark(value);
    let result = match (op, value) {
        (_, Value::Unknown) => Value::Unknown,
        (UnaryOp::Neg, Value::Number(n)) => Value::Number(-n),
        (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
        (UnaryOp::Neg, other) => {
            return Err(operand_error("-", "numbers", "the operand", &mark(other, sensitive), operand))
        }
        (UnaryOp::Not, other) => {
            return Err(operand_error("!", "bools", "the operand", &mark(other, sensitive), operand))
        }
    };
    Ok(mark(result, sensitive))
}

/// The error for an operand of the wrong type (`value` keeps its mark, so
/// a sensitive one is not shown).
fn operand_error(op: &str, takes: &str, which: &str, value: &Value, expr: &Expr) -> Box<Diagnostic> {
    let shown = match value {
        Value::Null => String::new(),
        other => format!(" ({})", short(other)),
    };
    let name = path_text(expr).map(|p| format!(" `{p}`")).unwrap_or_default();
    let kind = type_name(value);
    let diagnostic = error(
        Code::InvalidOperand,
        expr.span,
        format!("`{op}` works on {takes}, but {which}{name} is {kind}{shown}."),
        &format!("{kind}, not {}", if takes == "numbers" { "a number" } else { "a bool" }),
    );
    match (takes, value) {
        ("numbers", Value::String(_)) => diagnostic.map_help("convert it with `tonumber(...)`"),
        ("numbers", Value::Null) => diagnostic.map_help("give it a value, or guard with a conditional"),
        ("bools", _) => diagnostic.map_help("write a comparison, e.g. `x > 0` or `x != \"\"`"),
        _ => diagnostic,
    }
}

pub(super) fn binary(op: BinaryOp, left: Value, right: Value, l: &Expr, r: &Expr, span: Span) -> EvalResult {
    let sensitive = left.has_sensitive() || right.has_sensitive();
    match op {
        BinaryOp::Eq | BinaryOp::NotEq => {
            let result = match equal(&left, &right, 0) {
                Some(equal) => Value::Bool(equal == (op == BinaryOp::Eq)),
                None => Value::Unknown,
            };
            return Ok(mark(result, sensitive));
        }
        BinaryOp::And | BinaryOp::Or => unreachable!("logical operators are evaluated lazily"),
        _ => {}
    }
    let symbol = op.as_str();
    let a = number_operand(symbol, &left, l, "the left operand")?;
    let b = number_operand(symbol, &right, r, "the right operand")?;
    let (Some(a), Some(b)) = (a, b) else { return Ok(mark(Value::Unknown, sensitive)) };
    let result = match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div | BinaryOp::Mod if b == 0.0 => {
            let what = if op == BinaryOp::Div { "Division" } else { "Modulo" };
            return Err(error(
                Code::InvalidOperand,
                r.span,
                format!("{what} by zero: the right operand of `{symbol}` is 0."),
                "this is zero",
            )
            .map_help("guard the division with a conditional, e.g. `d == 0 ? 0 : n / d`"));
        }
        BinaryOp::Div => a / b,
        BinaryOp::Mod => a % b,
        BinaryOp::Lt => return Ok(mark(Value::Bool(a < b), sensitive)),
        BinaryOp::LtEq => return Ok(mark(Value::Bool(a <= b), sensitive)),
        BinaryOp::Gt => return Ok(mark(Value::Bool(a > b), sensitive)),
        BinaryOp::GtEq => return Ok(mark(Value::Bool(a >= b), sensitive)),
        BinaryOp::Eq | BinaryOp::NotEq | BinaryOp::And | BinaryOp::Or => unreachable!(),
    };
    if !result.is_finite() {
        return Err(error(
            Code::InvalidOperand,
            span,
            format!("The result of `{symbol}` is too large to represent as a number."),
            "overflows",
        ));
    }
    Ok(mark(Value::Number(result), sensitive))
}

/// A number operand: `Some(n)`, `None` when unknown, or the error.
fn number_operand(symbol: &str, value: &Value, expr: &Expr, which: &str) -> EvalResult<Option<f64>> {
    match strip(value) {
        Value::Number(n) => Ok(Some(*n)),
        Value::Unknown => Ok(None),
        _ => Err(operand_error(symbol, "numbers", which, value, expr)),
    }
}

/// Structural equality: `None` when it depends on an unknown part.
pub(crate) fn equal(a: &Value, b: &Value, depth: usize) -> Option<bool> {
    if depth > MAX_COMPARE_DEPTH {
        return None;
    }
    let a = strip(a);
    let b = strip(b);
    match (a, b) {
        (Value::Unknown, _) | (_, Value::Unknown) => None,
        (Value::Null, Value::Null) => Some(true),
        (Value::Null, _) | (_, Value::Null) => Some(false),
        (Value::Bool(x), Value::Bool(y)) => Some(x == y),
        (Value::Number(x), Value::Number(y)) => Some(x == y),
        (Value::String(x), Value::String(y)) => Some(x == y),
        (Value::List(x), Value::List(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            all_equal(x.iter().zip(y), depth)
        }
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() || x.keys().any(|k| !y.contains_key(k)) {
                return Some(false);
            }
            all_equal(x.iter().map(|(k, p)| (p, &y[k])), depth)
        }
        _ => Some(false),
    }
}

/// Whether every pair is equal: `Some(false)` at the first that is not,
/// else `None` when some pair depends on an unknown part.
fn all_equal<'v>(pairs: impl Iterator<Item = (&'v Value, &'v Value)>, depth: usize) -> Option<bool> {
    let mut unknown = false;
    for (p, q) in pairs {
        match equal(p, q, depth + 1) {
            Some(false) => return Some(false),
            None => unknown = true,
            Some(true) => {}
        }
    }
    if unknown {
        None
    } else {
        Some(true)
    }
}

fn strip(value: &Value) -> &Value {
    match value {
        Value::Sensitive(inner) => strip(inner),
        other => other,
    }
}

/// `&&` and `||`, short-circuiting in both directions (see the module doc).
pub(super) fn logical<'r>(
    context: &mut Context<'r>,
    op: BinaryOp,
    left: &'r Expr,
    right: &'r Expr,
) -> EvalResult {
    let absorbing = op == BinaryOp::Or; // `true || x`, `false && x`
    let symbol = op.as_str();
    let left_value = context.eval(left);
    let left_value = match left_value {
        Ok(value) => {
            let (value, sensitive) = unmark(value);
            match value {
                Value::Bool(b) if b == absorbing => return Ok(mark(Value::Bool(b), sensitive)),
                Value::Bool(_) | Value::Unknown => Ok((value, sensitive)),
                other => {
                    return Err(operand_error(
                        symbol,
                        "bools",
                        "the left operand",
                        &mark(other, sensitive),
                        left,
                    ))
                }
            }
        }
        Err(diagnostic) => Err(diagnostic),
    };
    let right_value = context.eval(right);
    let (right_value, right_sensitive) = match right_value {
        Ok(value) => unmark(value),
        // The left side decides nothing: the right side's error stands.
        Err(diagnostic) => {
            return match left_value {
                Err(left_error) => Err(left_error),
                Ok(_) => Err(diagnostic),
            }
        }
    };
    match right_value {
        Value::Bool(b) if b == absorbing => return Ok(mark(Value::Bool(b), right_sensitive)),
        Value::Bool(_) | Value::Unknown => {}
        other => {
            return Err(operand_error(
                symbol,
                "bools",
                "the right operand",
                &mark(other, right_sensitive),
                right,
            ))
        }
    }
    let (left_value, left_sensitive) = left_value?;
    let sensitive = left_sensitive || right_sensitive;
    // Neither side absorbs: the result is the non-absorbing value, unless one is unknown.
    match (left_value, right_value) {
        (Value::Bool(_), Value::Bool(b)) => Ok(mark(Value::Bool(b), sensitive)),
        _ => Ok(mark(Value::Unknown, sensitive)),
    }
}
