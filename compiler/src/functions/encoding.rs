//! Numbers, conversions, encodings and hashes, `file`, and the sensitive marks.

use super::{list, number, text, whole, CallContext, FunctionError};
use crate::eval::{type_name, MAX_STRING_BYTES};
use crate::value::{format_number, Value};
use base64::Engine as _;
use sha2::Digest as _;

type R = Result<Value, FunctionError>;

fn finite(n: f64) -> R {
    if n.is_finite() {
        Ok(Value::Number(n))
    } else {
        Err(FunctionError::call("the result is too large to represent as a number"))
    }
}

pub fn abs(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::Number(number(args, 0)?.abs()))
}

pub fn ceil(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::Number(number(args, 0)?.ceil()))
}

pub fn floor(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::Number(number(args, 0)?.floor()))
}

pub fn signum(args: &[Value], _: &CallContext<'_>) -> R {
    let n = number(args, 0)?;
    Ok(Value::Number(if n > 0.0 {
        1.0
    } else if n < 0.0 {
        -1.0
    } else {
        0.0
    }))
}

pub fn pow(args: &[Value], _: &CallContext<'_>) -> R {
    finite(number(args, 0)?.powf(number(args, 1)?))
}

pub fn max(args: &[Value], _: &CallContext<'_>) -> R {
    let mut best = number(args, 0)?;
    for i in 1..args.len() {
        best = best.max(number(args, i)?);
    }
    Ok(Value::Number(best))
}

pub fn min(args: &[Value], _: &CallContext<'_>) -> R {
    let mut best = number(args, 0)?;
    for i in 1..args.len() {
        best = best.min(number(args, i)?);
    }
    Ok(Value::Number(best))
}

pub fn sum(args: &[Value], _: &CallContext<'_>) -> R {
    let mut total = 0.0;
    for (i, item) in list(args, 0)?.iter().enumerate() {
        match item {
            Value::Number(n) => total += n,
            other => {
                return Err(FunctionError::at(
                    0,
                    format!("element {i} is {}, not a number", type_name(other)),
                ))
            }
        }
    }
    finite(total)
}

pub fn parseint(args: &[Value], _: &CallContext<'_>) -> R {
    let s = text(args, 0)?;
    let base = whole(args, 1, "`base`")?;
    if !(2..=36).contains(&base) {
        return Err(FunctionError::at(1, format!("`base` must be from 2 to 36, but it is {base}")));
    }
    match i64::from_str_radix(&s, base as u32) {
        Ok(n) if (n as f64).abs() <= 9.007_199_254_740_992e15 => Ok(Value::Number(n as f64)),
        _ => Err(FunctionError::at(0, format!("{s:?} is not a whole number in base {base}"))),
    }
}

pub fn tonumber(args: &[Value], _: &CallContext<'_>) -> R {
    match &args[0] {
        Value::Null => Ok(Value::Null),
        Value::Number(n) => Ok(Value::Number(*n)),
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(n) if n.is_finite() && !s.trim().is_empty() && !s.contains(['x', 'X', 'i', 'I', 'n', 'N']) => {
                Ok(Value::Number(n))
            }
            _ => Err(FunctionError::at(0, format!("the string {s:?} is not a number"))),
        },
        other => Err(FunctionError::at(0, format!("{} cannot be converted to a number", type_name(other)))),
    }
}

pub fn tostring(args: &[Value], _: &CallContext<'_>) -> R {
    match &args[0] {
        Value::Null => Ok(Value::Null),
        Value::String(s) => Ok(Value::String(s.clone())),
        Value::Number(n) => Ok(Value::String(format_number(*n))),
        Value::Bool(b) => Ok(Value::String(b.to_string())),
        other => Err(FunctionError::at(
            0,
            format!(
                "{} cannot be converted to a string (use `jsonencode` for a text form)",
                type_name(other)
            ),
        )),
    }
}

pub fn tobool(args: &[Value], _: &CallContext<'_>) -> R {
    match &args[0] {
        Value::Null => Ok(Value::Null),
        Value::Bool(b) => Ok(Value::Bool(*b)),
        Value::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
        Value::String(s) => {
            Err(FunctionError::at(0, format!("the string {s:?} is not \"true\" or \"false\"")))
        }
        other => Err(FunctionError::at(0, format!("{} cannot be converted to a bool", type_name(other)))),
    }
}

pub fn jsonencode(args: &[Value], _: &CallContext<'_>) -> R {
    let text = args[0].to_json().to_string();
    if text.len() > MAX_STRING_BYTES {
        return Err(FunctionError::at(0, "the JSON text would be too long"));
    }
    Ok(Value::String(text))
}

/// Deepest JSON `jsondecode` accepts (serde_json's own limit is 128).
pub fn jsondecode(args: &[Value], _: &CallContext<'_>) -> R {
    let s = text(args, 0)?;
    match serde_json::from_str::<serde_json::Value>(&s) {
        Ok(json) => Ok(Value::from_json(&json)),
        Err(e) => Err(FunctionError::at(0, format!("the text is not valid JSON: {e}"))),
    }
}

pub fn base64encode(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(text(args, 0)?)))
}

pub fn base64decode(args: &[Value], _: &CallContext<'_>) -> R {
    let s = text(args, 0)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| FunctionError::at(0, format!("the text is not valid Base64: {e}")))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| FunctionError::at(0, "the decoded bytes are not UTF-8 text"))
}

pub fn base64sha256(args: &[Value], _: &CallContext<'_>) -> R {
    let digest = sha2::Sha256::digest(text(args, 0)?.as_bytes());
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(digest)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::String(hex(&sha2::Sha256::digest(text(args, 0)?.as_bytes()))))
}

pub fn sha512(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::String(hex(&sha2::Sha512::digest(text(args, 0)?.as_bytes()))))
}

pub fn urlencode(args: &[Value], _: &CallContext<'_>) -> R {
    let mut out = String::new();
    for byte in text(args, 0)?.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    Ok(Value::String(out))
}

pub fn file(args: &[Value], context: &CallContext<'_>) -> R {
    let path = text(args, 0)?;
    let Some(files) = context.files else {
        return Err(FunctionError::at(
            0,
            "no files can be read here: `file` reads relative to the stack's directory, and this check was given none to read from",
        ));
    };
    match files.read(&path) {
        Ok(contents) if contents.len() > MAX_STRING_BYTES => {
            Err(FunctionError::at(0, format!("{path:?} is larger than {} MiB", MAX_STRING_BYTES >> 20)))
        }
        Ok(contents) => Ok(Value::String(contents)),
        Err(why) => {
            Err(FunctionError::at(0, format!("{path:?} cannot be read: {}", why.trim_end_matches('.'))))
        }
    }
}

/// Raw: marks the whole value.
pub fn sensitive(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(args[0].clone().into_sensitive())
}

/// Raw: every mark removed (an unknown stays unknown).
pub fn nonsensitive(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(args[0].unmarked())
}
