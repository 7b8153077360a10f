//! Traversal steps: `.name` and `[index]`, also as steps of a splat.
//!
//! A missing attribute or key of a known object, and an index out of range
//! of a known list, are errors (E0310) at the step's span, with "did you
//! mean" among the object's attributes. An unknown collection or index gives
//! an unknown; marks of the collection and of the index carry over.

use super::{error, mark, path_text, type_name, unmark, DiagnosticExt, EvalResult};
use crate::ast::{Expr, Ident};
use crate::codes::Code;
use crate::diagnostic::did_you_mean;
use crate::value::{format_number, Value};

/// `inner.name`.
pub(super) fn get_attr(value: Value, name: &Ident, inner: &Expr) -> EvalResult {
    get_attr_at(value, name, Some(inner))
}

/// What a step applies to, for messages: `` `local.zones` ``, or "this value".
pub(super) fn subject(inner: Option<&Expr>) -> String {
    inner.and_then(path_text).map(|p| format!("`{p}`")).unwrap_or_else(|| "this value".into())
}

/// `.name` applied to `value` (`inner` names what it came from, for messages).
pub(super) fn get_attr_at(value: Value, name: &Ident, inner: Option<&Expr>) -> EvalResult {
    get_attr_of(value, name, || subject(inner))
}

/// `.name` applied to `value`, which messages call `of()` (worded only
/// for an error: most steps succeed).
pub(super) fn get_attr_of(value: Value, name: &Ident, of: impl FnOnce() -> String) -> EvalResult {
    let (value, sensitive) = unmark(value);
    match value {
        Value::Unknown => Ok(mark(Value::Unknown, sensitive)),
        Value::Object(mut fields) => match fields.swap_remove(&name.name) {
            Some(found) => Ok(mark(found, sensitive)),
            None => {
                let help = did_you_mean(&name.name, fields.keys().map(String::as_str)).unwrap_or_else(|| {
                    if fields.is_empty() {
                        "the object has no attributes".to_string()
                    } else {
                        let mut names: Vec<String> =
                            fields.keys().take(8).map(|k| format!("`{k}`")).collect();
                        if fields.len() > 8 {
                            names.push("...".into());
                        }
                        format!("its attributes are {}", names.join(", "))
                    }
                });
                Err(error(
                    Code::InvalidIndex,
                    name.span,
                    format!("{} has no attribute `{}`.", capitalize(&of()), name.name),
                    "no such attribute",
                )
                .map_help(help))
            }
        },
        Value::Null => Err(error(
            Code::InvalidIndex,
            name.span,
            format!("Cannot read `{}` of {}: it is null.", name.name, of()),
            "the value is null",
        )
        .map_help("guard with a conditional: `x == null ? ... : x.name`")),
        Value::List(_) => Err(error(
            Code::InvalidIndex,
            name.span,
            format!("{} is a list, which has no attribute `{}`.", capitalize(&of()), name.name),
            "not an object",
        )
        .map_help(format!(
            "index one element (`[0].{0}`), or take it from every element with `[*].{0}`",
            name.name
        ))),
        other => Err(error(
            Code::InvalidIndex,
            name.span,
            format!("{} is {}, which has no attributes.", capitalize(&of()), type_name(&other)),
            "not an object",
        )),
    }
}

/// `inner[index]`.
pub(super) fn index(value: Value, key: Value, index: &Expr, inner: &Expr) -> EvalResult {
    index_at(value, key, index, Some(inner))
}

pub(super) fn index_at(value: Value, key: Value, index: &Expr, inner: Option<&Expr>) -> EvalResult {
    index_of(value, key, index, || subject(inner))
}

/// `[index]` applied to `value`, which messages call `of()` (worded only
/// for an error).
pub(super) fn index_of(value: Value, key: Value, index: &Expr, of: impl FnOnce() -> String) -> EvalResult {
    let (value, sensitive) = unmark(value);
    let (key, key_sensitive) = unmark(key);
    let sensitive = sensitive || key_sensitive;
    if matches!(value, Value::Unknown) || matches!(key, Value::Unknown) {
        return Ok(mark(Value::Unknown, sensitive));
    }
    match value {
        Value::List(mut items) => {
            let number = match key {
                Value::Number(n) => n,
                Value::String(ref s) => match s.parse::<f64>() {
                    Ok(n) => n,
                    Err(_) => {
                        return Err(error(
                            Code::InvalidIndex,
                            index.span,
                            if key_sensitive {
                                "A list is indexed by a number, but this index is a (sensitive) string."
                                    .to_string()
                            } else {
                                format!("A list is indexed by a number, but this index is the string {s:?}.")
                            },
                            "not a number",
                        ))
                    }
                },
                other => {
                    return Err(error(
                        Code::InvalidIndex,
                        index.span,
                        format!("A list is indexed by a number, but this index is {}.", type_name(&other)),
                        "not a number",
                    ))
                }
            };
            let len = items.len();
            if number.fract() != 0.0 || number < 0.0 || number >= len as f64 {
                let range = match len {
                    0 => "it is empty, so no index is valid".to_string(),
                    1 => "it has 1 element, so the only index is 0".to_string(),
                    n => format!("it has {n} elements, so indexes go from 0 to {}", n - 1),
                };
                let shown = if key_sensitive { "(sensitive)".to_string() } else { format_number(number) };
                return Err(error(
                    Code::InvalidIndex,
                    index.span,
                    format!("Index {shown} is out of range for {}: {range}.", of()),
                    "out of range",
                )
                .map_help("check the index, or guard it with `length(...)`"));
            }
            Ok(mark(items.swap_remove(number as usize), sensitive))
        }
        Value::Object(mut fields) => {
            let name = match key {
                Value::String(s) => s,
                Value::Number(n) => format_number(n),
                Value::Bool(b) => b.to_string(),
                other => {
                    return Err(error(
                        Code::InvalidIndex,
                        index.span,
                        format!(
                            "An object or map is indexed by a string key, but this index is {}.",
                            type_name(&other)
                        ),
                        "not a string",
                    ))
                }
            };
            match fields.swap_remove(&name) {
                Some(found) => Ok(mark(found, sensitive)),
                None => {
                    let shown = if key_sensitive { "(sensitive)".to_string() } else { format!("{name:?}") };
                    let help = if key_sensitive {
                        None
                    } else {
                        did_you_mean(&name, fields.keys().map(String::as_str))
                    };
                    let diagnostic = error(
                        Code::InvalidIndex,
                        index.span,
                        format!("{} has no key {shown}.", capitalize(&of())),
                        "no such key",
                    );
                    Err(match help {
                        Some(help) => diagnostic.map_help(help),
                        None => diagnostic
                            .map_help("use `lookup(map, key, default)` for a key that may be missing"),
                    })
                }
            }
        }
        Value::Null => Err(error(
            Code::InvalidIndex,
            index.span,
            format!("Cannot index {}: it is null.", of()),
            "the value is null",
        )),
        other => Err(error(
            Code::InvalidIndex,
            index.span,
            format!("{} is {}, which cannot be indexed.", capitalize(&of()), type_name(&other)),
            "cannot index",
        )),
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
