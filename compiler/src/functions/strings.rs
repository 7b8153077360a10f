//! Functions on strings. Lengths and offsets count characters (Unicode
//! scalar values), not bytes.

use super::{list, text, whole, CallContext, FunctionError};
use crate::eval::{type_name, MAX_STRING_BYTES};
use crate::value::{format_number, Value};

type R = Result<Value, FunctionError>;

/// Widest field `format` pads to.
const MAX_FORMAT_WIDTH: usize = 1_000;

/// Longest regular expression accepted, and the most pattern × text work.
const MAX_PATTERN: usize = 1_000;
const MAX_REGEX_WORK: usize = 1 << 30;

fn checked(text: String) -> R {
    if text.len() > MAX_STRING_BYTES {
        return Err(FunctionError::call(format!(
            "the result would be longer than {} MiB",
            MAX_STRING_BYTES >> 20
        )));
    }
    Ok(Value::String(text))
}

pub fn upper(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::String(text(args, 0)?.to_uppercase()))
}

pub fn lower(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::String(text(args, 0)?.to_lowercase()))
}

pub fn title(args: &[Value], _: &CallContext<'_>) -> R {
    let mut out = String::new();
    let mut at_word_start = true;
    for c in text(args, 0)?.chars() {
        if at_word_start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_word_start = !c.is_alphanumeric();
    }
    Ok(Value::String(out))
}

pub fn trimspace(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::String(text(args, 0)?.trim().to_string()))
}

pub fn chomp(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::String(text(args, 0)?.trim_end_matches(['\n', '\r']).to_string()))
}

pub fn trim(args: &[Value], _: &CallContext<'_>) -> R {
    let cutset: Vec<char> = text(args, 1)?.chars().collect();
    Ok(Value::String(text(args, 0)?.trim_matches(|c| cutset.contains(&c)).to_string()))
}

pub fn trimprefix(args: &[Value], _: &CallContext<'_>) -> R {
    let s = text(args, 0)?;
    let prefix = text(args, 1)?;
    Ok(Value::String(s.strip_prefix(prefix.as_str()).unwrap_or(&s).to_string()))
}

pub fn trimsuffix(args: &[Value], _: &CallContext<'_>) -> R {
    let s = text(args, 0)?;
    let suffix = text(args, 1)?;
    Ok(Value::String(s.strip_suffix(suffix.as_str()).unwrap_or(&s).to_string()))
}

pub fn startswith(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::Bool(text(args, 0)?.starts_with(text(args, 1)?.as_str())))
}

pub fn endswith(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::Bool(text(args, 0)?.ends_with(text(args, 1)?.as_str())))
}

pub fn strcontains(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::Bool(text(args, 0)?.contains(text(args, 1)?.as_str())))
}

pub fn strrev(args: &[Value], _: &CallContext<'_>) -> R {
    Ok(Value::String(text(args, 0)?.chars().rev().collect()))
}

pub fn indent(args: &[Value], _: &CallContext<'_>) -> R {
    let spaces = whole(args, 0, "`spaces`")?;
    if !(0..=MAX_FORMAT_WIDTH as i64).contains(&spaces) {
        return Err(FunctionError::at(0, format!("`spaces` must be from 0 to {MAX_FORMAT_WIDTH}")));
    }
    let pad = " ".repeat(spaces as usize);
    let s = text(args, 1)?;
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&pad);
            }
        }
        out.push_str(line);
        if out.len() > MAX_STRING_BYTES {
            return checked(out);
        }
    }
    Ok(Value::String(out))
}

pub fn join(args: &[Value], _: &CallContext<'_>) -> R {
    let separator = text(args, 0)?;
    let items = list(args, 1)?;
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&separator);
        }
        match item {
            Value::String(s) => out.push_str(s),
            Value::Number(n) => out.push_str(&format_number(*n)),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            other => {
                return Err(FunctionError::at(
                    1,
                    format!("element {i} is {}, not a string", type_name(other)),
                ))
            }
        }
        if out.len() > MAX_STRING_BYTES {
            return checked(out);
        }
    }
    Ok(Value::String(out))
}

pub fn split(args: &[Value], _: &CallContext<'_>) -> R {
    let separator = text(args, 0)?;
    let s = text(args, 1)?;
    let parts: Vec<Value> = if s.is_empty() {
        Vec::new()
    } else if separator.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(separator.as_str()).map(|p| Value::String(p.to_string())).collect()
    };
    Ok(Value::List(parts))
}

pub fn substr(args: &[Value], _: &CallContext<'_>) -> R {
    let s = text(args, 0)?;
    let offset = whole(args, 1, "`offset`")?;
    let length = whole(args, 2, "`length`")?;
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len() as i64;
    let start = if offset < 0 { (len + offset).max(0) } else { offset.min(len) };
    if length < -1 {
        return Err(FunctionError::at(2, "`length` must be -1 (to the end) or more"));
    }
    let end = if length == -1 { len } else { (start + length).min(len) };
    Ok(Value::String(chars[start as usize..end as usize].iter().collect()))
}

fn compile(pattern: &str, argument: usize) -> Result<regex_lite::Regex, FunctionError> {
    if pattern.len() > MAX_PATTERN {
        return Err(FunctionError::at(
            argument,
            format!("the pattern is longer than {MAX_PATTERN} characters"),
        ));
    }
    regex_lite::RegexBuilder::new(pattern).size_limit(1 << 20).nest_limit(64).build().map_err(|e| {
        FunctionError::at(argument, format!("the pattern is not a valid regular expression: {e}"))
    })
}

fn regex_work(pattern: &str, haystack: &str, argument: usize) -> Result<(), FunctionError> {
    if pattern.len().saturating_mul(haystack.len()) > MAX_REGEX_WORK {
        return Err(FunctionError::at(argument, "the text is too long to search with this pattern"));
    }
    Ok(())
}

/// One match: the text without groups, a list of groups with unnamed
/// groups, an object with named ones.
fn match_value(regex: &regex_lite::Regex, captures: &regex_lite::Captures<'_>) -> Value {
    let named: Vec<&str> = regex.capture_names().flatten().collect();
    if regex.captures_len() == 1 {
        return Value::String(captures.get(0).map_or("", |m| m.as_str()).to_string());
    }
    if !named.is_empty() {
        return Value::Object(
            named
                .iter()
                .map(|n| {
                    let v = captures.name(n).map_or(Value::Null, |m| Value::String(m.as_str().to_string()));
                    (n.to_string(), v)
                })
                .collect(),
        );
    }
    Value::List(
        (1..regex.captures_len())
            .map(|i| captures.get(i).map_or(Value::Null, |m| Value::String(m.as_str().to_string())))
            .collect(),
    )
}

pub fn regex(args: &[Value], _: &CallContext<'_>) -> R {
    let pattern = text(args, 0)?;
    let s = text(args, 1)?;
    regex_work(&pattern, &s, 1)?;
    let regex = compile(&pattern, 0)?;
    match regex.captures(&s) {
        Some(captures) => Ok(match_value(&regex, &captures)),
        None => Err(FunctionError::at(1, "the pattern does not match the text")),
    }
}

pub fn regexall(args: &[Value], _: &CallContext<'_>) -> R {
    let pattern = text(args, 0)?;
    let s = text(args, 1)?;
    regex_work(&pattern, &s, 1)?;
    let regex = compile(&pattern, 0)?;
    Ok(Value::List(regex.captures_iter(&s).map(|c| match_value(&regex, &c)).collect()))
}

/// `replace(str, substr, replacement)`; a `substr` written `/.../` is a
/// regular expression, and `$1`, `${name}` in the replacement insert groups.
pub fn replace(args: &[Value], _: &CallContext<'_>) -> R {
    let s = text(args, 0)?;
    let from = text(args, 1)?;
    let to = text(args, 2)?;
    if from.len() >= 2 && from.starts_with('/') && from.ends_with('/') {
        let pattern = &from[1..from.len() - 1];
        regex_work(pattern, &s, 0)?;
        let regex = compile(pattern, 1)?;
        return checked(regex.replace_all(&s, to.as_str()).into_owned());
    }
    if from.is_empty() {
        return Err(FunctionError::at(1, "the substring to replace is empty"));
    }
    let occurrences = s.matches(from.as_str()).count();
    if to.len() > from.len() && s.len() + occurrences * (to.len() - from.len()) > MAX_STRING_BYTES {
        return checked("x".repeat(MAX_STRING_BYTES + 1));
    }
    Ok(Value::String(s.replace(from.as_str(), &to)))
}

// ----- format -----

struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
    verb: char,
}

/// `format`'s verbs on one value.
fn format_one(spec: &Spec, value: &Value, argument: usize) -> Result<String, FunctionError> {
    let wrong = |what: &str| {
        FunctionError::at(
            argument,
            format!("`%{}` needs {what}, but this is {}", spec.verb, type_name(value)),
        )
    };
    let as_number = || match value {
        Value::Number(n) => Some(*n),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    let body = match spec.verb {
        'd' => {
            let n = as_number().ok_or_else(|| wrong("a number"))?;
            if n.fract() != 0.0 {
                return Err(FunctionError::at(
                    argument,
                    format!("`%d` needs a whole number, but this is {}", format_number(n)),
                ));
            }
            let text = format_number(n);
            if spec.plus && n >= 0.0 {
                format!("+{text}")
            } else {
                text
            }
        }
        'f' => {
            let n = as_number().ok_or_else(|| wrong("a number"))?;
            let text = format!("{n:.*}", spec.precision.unwrap_or(6));
            if spec.plus && n >= 0.0 {
                format!("+{text}")
            } else {
                text
            }
        }
        'e' => {
            let n = as_number().ok_or_else(|| wrong("a number"))?;
            format!("{n:.*e}", spec.precision.unwrap_or(6))
        }
        'g' => format_number(as_number().ok_or_else(|| wrong("a number"))?),
        'x' | 'X' | 'o' | 'b' => {
            let n = as_number().ok_or_else(|| wrong("a whole number"))?;
            if n.fract() != 0.0 || n.abs() > 9.007_199_254_740_992e15 {
                return Err(wrong("a whole number"));
            }
            let i = n as i64;
            let (sign, magnitude) = if i < 0 { ("-", i.unsigned_abs()) } else { ("", i as u64) };
            let digits = match spec.verb {
                'x' => format!("{magnitude:x}"),
                'X' => format!("{magnitude:X}"),
                'o' => format!("{magnitude:o}"),
                _ => format!("{magnitude:b}"),
            };
            format!("{sign}{digits}")
        }
        's' => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => format_number(*n),
                Value::Bool(b) => b.to_string(),
                _ => return Err(wrong("a string, a number or a bool")),
            };
            match spec.precision {
                Some(p) => text.chars().take(p).collect(),
                None => text,
            }
        }
        'q' => match value {
            Value::String(s) => serde_json::Value::String(s.clone()).to_string(),
            Value::Number(n) => serde_json::Value::String(format_number(*n)).to_string(),
            _ => return Err(wrong("a string")),
        },
        't' => match value {
            Value::Bool(b) => b.to_string(),
            _ => return Err(wrong("a bool")),
        },
        'v' => match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => format_number(*n),
            Value::Bool(b) => b.to_string(),
            Value::Null => "null".to_string(),
            other => other.to_json().to_string(),
        },
        other => {
            return Err(FunctionError::at(
                0,
                format!("`%{other}` is not a format verb (use %s, %d, %f, %q, %v, %t, %%)"),
            ))
        }
    };
    let width = spec.width.unwrap_or(0);
    let len = body.chars().count();
    if len >= width {
        return Ok(body);
    }
    let pad = width - len;
    Ok(if spec.minus {
        format!("{body}{}", " ".repeat(pad))
    } else if spec.zero && matches!(spec.verb, 'd' | 'f' | 'e' | 'x' | 'X' | 'o' | 'b') {
        match body.strip_prefix(['-', '+']) {
            Some(rest) => format!("{}{}{rest}", &body[..1], "0".repeat(pad)),
            None => format!("{}{body}", "0".repeat(pad)),
        }
    } else {
        format!("{}{body}", " ".repeat(pad))
    })
}

/// Formats `values` (argument numbers start at `first_argument`) with `spec`.
fn format_with(spec: &str, values: &[Value], first_argument: usize) -> Result<String, FunctionError> {
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    let mut next = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut parsed =
            Spec { minus: false, plus: false, zero: false, width: None, precision: None, verb: ' ' };
        while let Some(&flag) = chars.peek() {
            match flag {
                '-' => parsed.minus = true,
                '+' => parsed.plus = true,
                '0' => parsed.zero = true,
                ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        let number =
            |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Result<Option<usize>, FunctionError> {
                let mut digits = String::new();
                while let Some(&d) = chars.peek() {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    digits.push(d);
                    chars.next();
                }
                if digits.is_empty() {
                    return Ok(None);
                }
                match digits.parse::<usize>() {
                    Ok(n) if n <= MAX_FORMAT_WIDTH => Ok(Some(n)),
                    _ => Err(FunctionError::at(
                        0,
                        format!("a width or precision is larger than {MAX_FORMAT_WIDTH}"),
                    )),
                }
            };
        parsed.width = number(&mut chars)?;
        if chars.peek() == Some(&'.') {
            chars.next();
            parsed.precision = Some(number(&mut chars)?.unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            return Err(FunctionError::at(0, "the spec ends with an unfinished `%` verb"));
        };
        parsed.verb = verb;
        let Some(value) = values.get(next) else {
            return Err(FunctionError::at(
                0,
                format!("the spec has more verbs than there are values ({})", values.len()),
            ));
        };
        out.push_str(&format_one(&parsed, value, first_argument + next)?);
        next += 1;
        if out.len() > MAX_STRING_BYTES {
            return Err(FunctionError::call("the result would be too long"));
        }
    }
    if next < values.len() {
        return Err(FunctionError::at(
            first_argument + next,
            format!("the spec has {next} verbs but {} values were given", values.len()),
        ));
    }
    Ok(out)
}

pub fn format(args: &[Value], _: &CallContext<'_>) -> R {
    let spec = text(args, 0)?;
    Ok(Value::String(format_with(&spec, &args[1..], 1)?))
}

pub fn formatlist(args: &[Value], _: &CallContext<'_>) -> R {
    let spec = text(args, 0)?;
    let mut length: Option<usize> = None;
    for (i, arg) in args.iter().enumerate().skip(1) {
        if let Value::List(items) = arg {
            match length {
                None => length = Some(items.len()),
                Some(n) if n == items.len() => {}
                Some(n) => {
                    return Err(FunctionError::at(
                        i,
                        format!("the lists differ in length ({n} and {})", items.len()),
                    ))
                }
            }
        }
    }
    let Some(length) = length else {
        return Ok(Value::List(vec![Value::String(format_with(&spec, &args[1..], 1)?)]));
    };
    let mut out = Vec::with_capacity(length);
    let mut total = 0usize;
    for row in 0..length {
        let values: Vec<Value> = args[1..]
            .iter()
            .map(|a| match a {
                Value::List(items) => items[row].clone(),
                other => other.clone(),
            })
            .collect();
        let text = format_with(&spec, &values, 1)?;
        total += text.len();
        if total > MAX_STRING_BYTES {
            return Err(FunctionError::call("the result would be too long"));
        }
        out.push(Value::String(text));
    }
    Ok(Value::List(out))
}
