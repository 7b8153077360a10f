//! Functions on lists and maps.

use super::{list, number, object, whole, CallContext, FunctionError};
use crate::eval::{mark, type_name, unmark};
use crate::value::{format_number, Value};

type R = Result<Value, FunctionError>;

/// Most elements `range` builds.
pub const MAX_RANGE: usize = 100_000;

/// Nesting `flatten` follows.
const MAX_FLATTEN_DEPTH: usize = 64;

fn bools(args: &[Value]) -> Result<Vec<bool>, FunctionError> {
    list(args, 0)?
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Bool(b) => Ok(*b),
            other => Err(FunctionError::at(0, format!("element {i} is {}, not a bool", type_name(other)))),
        })
        .collect()
}

pub fn alltrue(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::Bool(bools(args)?.into_iter().all(|b| b)))
}

pub fn anytrue(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::Bool(bools(args)?.into_iter().any(|b| b)))
}

pub fn chunklist(args: &[Value], _: &CallContext<'_>) -> R {
    let items = list(args, 0)?;
    let size = whole(args, 1, "`size`")?;
    if size < 0 {
        return Err(FunctionError::at(1, "`size` must not be negative"));
    }
    if size == 0 || items.is_empty() {
        return Ok(Value::List(if items.is_empty() {
            Vec::new()
        } else {
            vec![Value::List(items.to_vec())]
        }));
    }
    Ok(Value::List(items.chunks(size as usize).map(|c| Value::List(c.to_vec())).collect()))
}

/// Arguments seen raw: an unknown before the first usable one makes the
/// result unknown. Any sensitive argument marks the result (conservatively:
/// which argument is taken depends on the others).
pub fn coalesce(args: &[Value], _: &CallContext<'_>) -> R {
    let mut sensitive = args.iter().any(|a| matches!(a, Value::Sensitive(_)));
    for arg in args {
        let (value, marked) = unmark(arg.clone());
        sensitive |= marked;
        match value {
            Value::Unknown => return Ok(mark(Value::Unknown, sensitive)),
            Value::Null => continue,
            Value::String(ref s) if s.is_empty() => continue,
            other => return Ok(mark(other, sensitive)),
        }
    }
    Err(FunctionError::call("every argument is null or an empty string, so there is no value to take"))
}

pub fn coalescelist(args: &[Value], _: &CallContext<'_>) -> R {
    let mut sensitive = args.iter().any(|a| matches!(a, Value::Sensitive(_)));
    for (i, arg) in args.iter().enumerate() {
        let (value, marked) = unmark(arg.clone());
        sensitive |= marked;
        match value {
            Value::Unknown => return Ok(mark(Value::Unknown, sensitive)),
            Value::Null => continue,
            Value::List(items) if items.is_empty() => continue,
            Value::List(items) => return Ok(mark(Value::List(items), sensitive)),
            other => {
                return Err(FunctionError::at(i, format!("expected a list, found {}", type_name(&other))))
            }
        }
    }
    Err(FunctionError::call("every argument is null or an empty list"))
}

pub fn compact(args: &[Value], _: &CallContext<'_>) -> R {
    let mut out = Vec::new();
    for (i, item) in list(args, 0)?.iter().enumerate() {
        match item {
            Value::Null => {}
            Value::String(s) if s.is_empty() => {}
            Value::String(_) => out.push(item.clone()),
            Value::Number(n) => out.push(Value::String(format_number(*n))),
            Value::Bool(b) => out.push(Value::String(b.to_string())),
            other => {
                return Err(FunctionError::at(
                    0,
                    format!("element {i} is {}, not a string", type_name(other)),
                ))
            }
        }
    }
    Ok(Value::List(out))
}

pub fn concat(args: &[Value], _: &CallContext<'_>) -> R {
    let mut out = Vec::new();
    for i in 0..args.len() {
        out.extend(list(args, i)?.iter().cloned());
        if out.len() > crate::eval::MAX_ELEMENTS {
            return Err(FunctionError::call("the result would be too long"));
        }
    }
    Ok(Value::List(out))
}

fn equal(a: &Value, b: &Value) -> bool {
    crate::eval::equal(a, b) == Some(true)
}

pub fn contains(args: &[Value], _: &CallContext<'_>) -> R {
    let items = list(args, 0)?;
    let needle = &args[1];
    Ok(Value::Bool(items.iter().any(|item| equal(item, needle))))
}

/// A key telling known, unmarked values apart (strings and numbers differ).
fn identity(value: &Value) -> String {
    let tag = match value {
        Value::String(_) => 's',
        Value::Number(_) => 'n',
        Value::Bool(_) => 'b',
        Value::Null => 'z',
        Value::List(_) => 'l',
        _ => 'o',
    };
    format!("{tag}{}", value.to_json())
}

pub fn distinct(args: &[Value], _: &CallContext<'_>) -> R {
    let mut seen = std::collections::HashSet::new();
    let out = list(args, 0)?.iter().filter(|item| seen.insert(identity(item))).cloned().collect();
    Ok(Value::List(out))
}

pub fn setunion(args: &[Value], _: &CallContext<'_>) -> R {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for i in 0..args.len() {
        for item in list(args, i)? {
            if seen.insert(identity(item)) {
                out.push(item.clone());
            }
        }
    }
    Ok(Value::List(out))
}

pub fn element(args: &[Value], _: &CallContext<'_>) -> R {
    let items = list(args, 0)?;
    let index = whole(args, 1, "`index`")?;
    if items.is_empty() {
        return Err(FunctionError::at(0, "the list is empty, so it has no element to take"));
    }
    if index < 0 {
        return Err(FunctionError::at(1, "`index` must not be negative"));
    }
    Ok(items[(index as usize) % items.len()].clone())
}

fn flatten_into(
    items: &[Value],
    out: &mut Vec<Value>,
    sensitive: bool,
    depth: usize,
) -> Result<bool, FunctionError> {
    if depth > MAX_FLATTEN_DEPTH {
        return Err(FunctionError::at(0, "the lists nest too deeply to flatten"));
    }
    for item in items {
        let (value, marked) = unmark(item.clone());
        match value {
            Value::Unknown => return Ok(false),
            Value::List(inner) => {
                if !flatten_into(&inner, out, sensitive || marked, depth + 1)? {
                    return Ok(false);
                }
            }
            other => out.push(mark(mark(other, marked), sensitive)),
        }
        if out.len() > crate::eval::MAX_ELEMENTS {
            return Err(FunctionError::call("the result would be too long"));
        }
    }
    Ok(true)
}

/// An unknown nested list makes the result unknown (its length is not known).
pub fn flatten(args: &[Value], _: &CallContext<'_>) -> R {
    let mut out = Vec::new();
    if !flatten_into(list(args, 0)?, &mut out, false, 0)? {
        return Ok(Value::Unknown);
    }
    Ok(Value::List(out))
}

pub fn index(args: &[Value], _: &CallContext<'_>) -> R {
    let items = list(args, 0)?;
    match items.iter().position(|item| equal(item, &args[1])) {
        Some(i) => Ok(Value::Number(i as f64)),
        None => Err(FunctionError::at(1, "the value is not an element of the list")),
    }
}

pub fn keys(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::List(object(args, 0)?.keys().map(|k| Value::String(k.clone())).collect()))
}

pub fn values(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::List(object(args, 0)?.values().cloned().collect()))
}

pub fn length(args: &[Value], _: &CallContext<'_>) -> R {
    let n = match &args[0] {
        Value::String(s) => s.chars().count(),
        Value::List(items) => items.len(),
        Value::Object(fields) => fields.len(),
        other => {
            return Err(FunctionError::at(
                0,
                format!("expected a list, an object or a string, found {}", type_name(other)),
            ))
        }
    };
    Ok(Value::Number(n as f64))
}

pub fn lookup(args: &[Value], _: &CallContext<'_>) -> R {
    let fields = object(args, 0)?;
    let key = super::text(args, 1)?;
    match fields.get(&key) {
        Some(value) => Ok(value.clone()),
        None => match args.get(2) {
            Some(default) => Ok(default.clone()),
            None => Err(FunctionError::at(1, format!("the map has no key {key:?} and no default was given"))),
        },
    }
}

pub fn merge(args: &[Value], _: &CallContext<'_>) -> R {
    let mut out = stackc_model::Fields::default();
    for (i, arg) in args.iter().enumerate() {
        match arg {
            Value::Null => {}
            Value::Object(fields) => {
                for (k, v) in fields {
                    out.insert(k.clone(), v.clone());
                }
            }
            other => {
                return Err(FunctionError::at(
                    i,
                    format!("expected an object or map, found {}", type_name(other)),
                ))
            }
        }
    }
    Ok(Value::Object(out))
}

pub fn one(args: &[Value], _: &CallContext<'_>) -> R {
    match list(args, 0)? {
        [] => Ok(Value::Null),
        [only] => Ok(only.clone()),
        more => Err(FunctionError::at(
            0,
            format!("the list has {} elements; `one` takes a list of zero or one", more.len()),
        )),
    }
}

pub fn range(args: &[Value], _: &CallContext<'_>) -> R {
    let (start, limit, step) = match args.len() {
        1 => (0.0, number(args, 0)?, 1.0),
        2 => {
            let (a, b) = (number(args, 0)?, number(args, 1)?);
            (a, b, if a <= b { 1.0 } else { -1.0 })
        }
        _ => (number(args, 0)?, number(args, 1)?, number(args, 2)?),
    };
    if step == 0.0 {
        return Err(FunctionError::at(2, "`step` must not be 0"));
    }
    let count = ((limit - start) / step).ceil();
    let count = if count.is_finite() && count > 0.0 { count } else { 0.0 };
    if count > MAX_RANGE as f64 {
        return Err(FunctionError::call(format!(
            "it would build {} numbers; at most {MAX_RANGE} are allowed",
            format_number(count)
        )));
    }
    Ok(Value::List((0..count as usize).map(|i| Value::Number(start + step * i as f64)).collect()))
}

pub fn reverse(args: &[Value], _: &CallContext<'_>) -> R {
    let mut items = list(args, 0)?.to_vec();
    items.reverse();
    Ok(Value::List(items))
}

pub fn slice(args: &[Value], _: &CallContext<'_>) -> R {
    let items = list(args, 0)?;
    let start = whole(args, 1, "`start`")?;
    let end = whole(args, 2, "`end`")?;
    let len = items.len() as i64;
    if start < 0 || start > len {
        return Err(FunctionError::at(
            1,
            format!("`start` must be from 0 to the list's length ({len}), but it is {start}"),
        ));
    }
    if end < start || end > len {
        return Err(FunctionError::at(
            2,
            format!("`end` must be from `start` ({start}) to the list's length ({len}), but it is {end}"),
        ));
    }
    Ok(Value::List(items[start as usize..end as usize].to_vec()))
}

pub fn sort(args: &[Value], _: &CallContext<'_>) -> R {
    let mut texts = Vec::new();
    for (i, item) in list(args, 0)?.iter().enumerate() {
        match item {
            Value::String(s) => texts.push(s.clone()),
            Value::Number(n) => texts.push(format_number(*n)),
            Value::Bool(b) => texts.push(b.to_string()),
            other => {
                return Err(FunctionError::at(
                    0,
                    format!("element {i} is {}, not a string", type_name(other)),
                ))
            }
        }
    }
    texts.sort();
    Ok(Value::List(texts.into_iter().map(Value::String).collect()))
}

pub fn tolist(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::List(list(args, 0)?.to_vec()))
}

pub fn tomap(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::Object(object(args, 0)?.clone()))
}

/// Keys must be known strings; a sensitive key marks the whole map (its
/// keys cannot be marked one by one).
pub fn zipmap(args: &[Value], _: &CallContext<'_>) -> R {
    let keys = list(args, 0)?;
    let values = list(args, 1)?;
    if keys.len() != values.len() {
        return Err(FunctionError::at(
            1,
            format!(
                "there are {} keys but {} values; the lists must have the same length",
                keys.len(),
                values.len()
            ),
        ));
    }
    let mut sensitive = false;
    let mut out = stackc_model::Fields::default();
    for (i, (key, value)) in keys.iter().zip(values).enumerate() {
        let (key, marked) = unmark(key.clone());
        sensitive |= marked;
        let key = match key {
            Value::Unknown => return Ok(mark(Value::Unknown, sensitive)),
            Value::String(s) => s,
            Value::Number(n) => format_number(n),
            Value::Bool(b) => b.to_string(),
            other => {
                return Err(FunctionError::at(0, format!("key {i} is {}, not a string", type_name(&other))))
            }
        };
        out.insert(key, value.clone());
    }
    Ok(mark(Value::Object(out), sensitive))
}
