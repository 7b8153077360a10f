//! Conformance of values to types, with HCL's conversions (a number where a
//! string is expected becomes its text, `"3"` where a number is expected
//! becomes 3) and the domain types' rules. Type expressions are read by
//! [`crate::resolve::types`], once, when resolve lowers the stack (see
//! [`crate::hir`]).

use crate::codes::Code;
use crate::diagnostic::did_you_mean;
use crate::types::Type;
use crate::value::{format_number, Value};

/// Why a value does not conform to a type.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    pub code: Code,
    /// Object keys / list indexes from the top of the value to the part that is wrong.
    pub path: Vec<String>,
    pub message: String,
    pub help: Option<String>,
    /// The last step of `path` names a field the object type does not have.
    pub unknown_field: bool,
}

impl Mismatch {
    fn new(code: Code, message: String) -> Mismatch {
        Mismatch { code, path: Vec::new(), message, help: None, unknown_field: false }
    }

    fn help(mut self, help: impl Into<String>) -> Mismatch {
        self.help = Some(help.into());
        self
    }

    /// `health.interval` / `steps[1]`.
    pub fn path_text(&self) -> String {
        let mut out = String::new();
        for step in &self.path {
            if step.parse::<usize>().is_ok() {
                out.push_str(&format!("[{step}]"));
            } else {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(step);
            }
        }
        out
    }
}

/// A short description of a value's type, for messages.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the bool `{b}`"),
        Value::Number(n) => format!("the number `{}`", format_number(*n)),
        Value::String(s) => format!("the string {s:?}"),
        Value::List(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
        Value::Unknown => "a value known only after apply".into(),
        Value::Sensitive(_) => "a sensitive value".into(),
    }
}

/// Bound on value nesting checked.
const MAX_VALUE_DEPTH: usize = 64;

/// Converts `value` to `ty` (HCL conversions; object fields declared
/// optional and absent become null) or says why it cannot: the first problem.
pub fn conform(value: &Value, ty: &Type) -> Result<Value, Mismatch> {
    let (value, mut problems) = conform_all(value.clone(), ty);
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems.swap_remove(0))
    }
}

/// Like [`conform`], but reports every part that does not fit (each part
/// that does not becomes unknown in the returned value). Unknown parts pass
/// (they are checked by type elsewhere); reference types accept any value
/// here (references are checked from the expression's shape).
///
/// Takes the value: a part that fits is moved into the result as it is
/// (converting a copy cloned every string and object of every param).
pub fn conform_all(value: Value, ty: &Type) -> (Value, Vec<Mismatch>) {
    let mut problems = Vec::new();
    let value = conform_at(value, ty, 0, &mut Vec::new(), &mut problems);
    (value, problems)
}

/// A step of the path from the top of a value to the part being conformed;
/// a key is moved in while its value is conformed and moved back out, and
/// becomes text only in a [`Mismatch`].
enum Step {
    Index(usize),
    Key(String),
}

fn path_text_steps(path: &[Step]) -> Vec<String> {
    path.iter()
        .map(|step| match step {
            Step::Index(i) => i.to_string(),
            Step::Key(key) => key.clone(),
        })
        .collect()
}

/// The key of the step pushed last, taken back.
fn pop_key(path: &mut Vec<Step>) -> String {
    match path.pop() {
        Some(Step::Key(key)) => key,
        _ => String::new(),
    }
}

fn conform_at(
    value: Value,
    ty: &Type,
    depth: usize,
    path: &mut Vec<Step>,
    problems: &mut Vec<Mismatch>,
) -> Value {
    if depth > MAX_VALUE_DEPTH {
        return value;
    }
    let value = match value {
        Value::Sensitive(inner) => return conform_at(*inner, ty, depth + 1, path, problems).into_sensitive(),
        Value::Null | Value::Unknown => return value,
        other => other,
    };
    let fail = |problems: &mut Vec<Mismatch>, path: &[Step], mismatch: Mismatch| {
        let mut mismatch = mismatch;
        let mut full = path_text_steps(path);
        full.append(&mut mismatch.path);
        mismatch.path = full;
        problems.push(mismatch);
        Value::Unknown
    };
    let mismatch = |expected: &str, value: &Value| {
        Mismatch::new(Code::TypeMismatch, format!("expected {expected}, found {}", describe(value)))
    };
    match ty {
        Type::Any | Type::Ref(_) => value,
        Type::Sensitive(inner) => conform_at(value, inner, depth + 1, path, problems),
        Type::String => match value {
            Value::String(_) => value,
            Value::Number(n) => Value::String(format_number(n)),
            Value::Bool(b) => Value::String(b.to_string()),
            other => fail(problems, path, mismatch("a string", &other)),
        },
        Type::Number => match value {
            Value::Number(_) => value,
            Value::String(ref s) => match s.parse::<f64>() {
                Ok(n) if n.is_finite() => Value::Number(n),
                _ => fail(problems, path, mismatch("a number", &value)),
            },
            other => fail(problems, path, mismatch("a number", &other)),
        },
        Type::Bool => match value {
            Value::Bool(_) => value,
            Value::String(ref s) if s == "true" || s == "false" => Value::Bool(s == "true"),
            other => fail(problems, path, mismatch("a bool", &other)),
        },
        Type::Port => {
            let number = match &value {
                Value::Number(n) => Some(*n),
                Value::String(s) => s.parse::<f64>().ok(),
                _ => None,
            };
            match number {
                Some(n) => match crate::check::domain::check_port(n) {
                    Ok(()) => Value::Number(n),
                    Err(reason) => fail(
                        problems,
                        path,
                        Mismatch::new(Code::InvalidPort, reason)
                            .help("a port is a whole number from 1 to 65535"),
                    ),
                },
                None => fail(problems, path, mismatch("a port (a whole number from 1 to 65535)", &value)),
            }
        }
        Type::Quantity => match value {
            Value::String(ref s) => match crate::check::domain::parse_quantity(s) {
                Ok(()) => value,
                Err(reason) => fail(
                    problems,
                    path,
                    Mismatch::new(Code::InvalidQuantity, reason)
                        .help("write a number with an optional suffix: `500m`, `2`, `20Gi`, `1.5G`"),
                ),
            },
            Value::Number(n) if n >= 0.0 => Value::String(format_number(n)),
            other => fail(problems, path, mismatch("a quantity such as \"20Gi\" or \"500m\"", &other)),
        },
        Type::Duration => match value {
            Value::String(ref s) => match crate::check::domain::parse_duration(s) {
                Ok(()) => value,
                Err(reason) => fail(
                    problems,
                    path,
                    Mismatch::new(Code::InvalidDuration, reason)
                        .help("write numbers with units: `30s`, `5m`, `1h30m`, `250ms`"),
                ),
            },
            other => fail(problems, path, mismatch("a duration such as \"30s\"", &other)),
        },
        Type::List(element) => match value {
            Value::List(items) => Value::List(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| {
                        path.push(Step::Index(i));
                        let converted = conform_at(item, element, depth + 1, path, problems);
                        path.pop();
                        converted
                    })
                    .collect(),
            ),
            other => fail(problems, path, mismatch(&format!("a list ({ty})"), &other)),
        },
        Type::Map(element) => match value {
            Value::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| {
                        path.push(Step::Key(k));
                        let converted = conform_at(v, element, depth + 1, path, problems);
                        (pop_key(path), converted)
                    })
                    .collect(),
            ),
            other => fail(problems, path, mismatch(&format!("a map ({ty})"), &other)),
        },
        Type::Object(declared) => match value {
            Value::Object(fields) => {
                let mut out = stackc_model::Fields::with_capacity_and_hasher(
                    declared.len().max(fields.len()),
                    Default::default(),
                );
                let mut missing = Vec::new();
                for (name, field) in declared {
                    if !fields.contains_key(name) {
                        if field.optional {
                            out.insert(name.clone(), Value::Null);
                        } else {
                            missing.push(name.clone());
                        }
                    }
                }
                for name in missing {
                    fail(
                        problems,
                        path,
                        Mismatch::new(Code::TypeMismatch, format!("the required field `{name}` is missing"))
                            .help(format!("add `{name} = ...`")),
                    );
                }
                for (name, field) in fields {
                    let Some(expected) = declared.get(&name) else {
                        let help =
                            did_you_mean(&name, declared.keys().map(String::as_str)).unwrap_or_else(|| {
                                format!(
                                    "its fields are {}",
                                    declared.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                                )
                            });
                        let message = format!("the object has no field `{name}`");
                        path.push(Step::Key(name));
                        let mut problem = Mismatch::new(Code::TypeMismatch, message).help(help);
                        problem.path = path_text_steps(path);
                        problem.unknown_field = true;
                        problems.push(problem);
                        path.pop();
                        continue;
                    };
                    path.push(Step::Key(name));
                    let converted = conform_at(field, &expected.ty, depth + 1, path, problems);
                    out.insert(pop_key(path), converted);
                }
                Value::Object(out)
            }
            other => fail(problems, path, mismatch(&format!("an object ({ty})"), &other)),
        },
    }
}

/// Whether a type is, or contains, a reference type.
pub fn has_reference(ty: &Type) -> bool {
    match ty {
        Type::Ref(_) => true,
        Type::List(inner) | Type::Map(inner) | Type::Sensitive(inner) => has_reference(inner),
        Type::Object(fields) => fields.values().any(|f| has_reference(&f.ty)),
        _ => false,
    }
}

/// Whether two static types can meet (unknown values are checked this way).
pub fn compatible(found: &Type, expected: &Type) -> bool {
    match (found.base(), expected.base()) {
        (Type::Any, _) | (_, Type::Any) => true,
        (
            Type::String,
            Type::String | Type::Number | Type::Bool | Type::Quantity | Type::Duration | Type::Port,
        ) => true,
        (Type::Number, Type::Number | Type::String | Type::Port | Type::Quantity) => true,
        (Type::Bool, Type::Bool | Type::String) => true,
        (Type::Quantity | Type::Duration, Type::String | Type::Quantity | Type::Duration) => true,
        (Type::Port, Type::Port | Type::Number | Type::String) => true,
        (Type::List(a), Type::List(b)) => compatible(a, b),
        (Type::Map(a), Type::Map(b)) => compatible(a, b),
        (Type::Object(_), Type::Object(_) | Type::Map(_)) => true,
        (Type::Map(_), Type::Object(_)) => true,
        (Type::Ref(a), Type::Ref(b)) => a == b,
        (Type::Object(_), Type::Ref(_)) | (Type::Ref(_), Type::Object(_)) => true,
        _ => false,
    }
}
