//! A small YAML emitter for Kubernetes manifests.
//!
//! Why hand-written: serde_yaml is deprecated and its forks are young; what
//! we emit is a tree of maps, lists, strings, numbers, bools and nulls, for
//! which a correct emitter is short. Block style for non-empty maps and
//! lists, flow `{}`/`[]` for empty ones. A string is written plain only when
//! it cannot be read back as anything else under YAML 1.1 *or* 1.2 (kubectl's
//! parser follows 1.1, where `yes`, `on` and `n` are booleans); every other
//! string is double-quoted with JSON escapes, which YAML's double-quoted
//! style accepts. The output is valid YAML 1.2 and reads back as the same
//! JSON value.

use stackc_model::value::{format_number, Value};

/// Why a value cannot be written as a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum YamlError {
    /// A part of the value is known only after apply; the path says where.
    Unknown(String),
    /// A number YAML-for-Kubernetes cannot carry (NaN, infinity).
    NonFiniteNumber(String),
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            YamlError::Unknown(path) => write!(f, "`{path}` is known only after apply"),
            YamlError::NonFiniteNumber(path) => write!(f, "`{path}` is not a finite number"),
        }
    }
}

impl std::error::Error for YamlError {}

/// Writes one YAML document (without the `---` separator), ending in a newline.
/// Sensitive values are written unmarked: the caller decides to emit them.
pub fn to_yaml(value: &Value) -> Result<String, YamlError> {
    let mut out = String::new();
    let mut path = String::new();
    match value.unmarked_ref() {
        Value::Object(fields) if !fields.is_empty() => write_map(&mut out, fields, 0, &mut path)?,
        Value::List(items) if !items.is_empty() => write_list(&mut out, items, 0, &mut path)?,
        other => {
            out.push_str(&scalar(other, &path)?);
            out.push('\n');
        }
    }
    Ok(out)
}

/// Several documents as one multi-document stream (`---` before each).
pub fn to_yaml_stream<'a>(values: impl IntoIterator<Item = &'a Value>) -> Result<String, YamlError> {
    let mut out = String::new();
    for value in values {
        out.push_str("---\n");
        out.push_str(&to_yaml(value)?);
    }
    Ok(out)
}

trait Unmarked {
    fn unmarked_ref(&self) -> &Value;
}

impl Unmarked for Value {
    fn unmarked_ref(&self) -> &Value {
        match self {
            Value::Sensitive(inner) => inner.unmarked_ref(),
            other => other,
        }
    }
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn is_nested(value: &Value) -> bool {
    match value.unmarked_ref() {
        Value::Object(fields) => !fields.is_empty(),
        Value::List(items) => !items.is_empty(),
        _ => false,
    }
}

fn write_map(
    out: &mut String,
    fields: &stackc_model::Fields,
    level: usize,
    path: &mut String,
) -> Result<(), YamlError> {
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        let saved = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        out.push_str(&string_scalar(key));
        out.push(':');
        write_nested_or_scalar(out, value, level, path, true)?;
        path.truncate(saved);
    }
    Ok(())
}

fn write_list(out: &mut String, items: &[Value], level: usize, path: &mut String) -> Result<(), YamlError> {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        let saved = path.len();
        path.push_str(&format!("[{i}]"));
        out.push('-');
        write_nested_or_scalar(out, item, level, path, false)?;
        path.truncate(saved);
    }
    Ok(())
}

/// After `key:` or `-`: a scalar on the same line, a list item's map inline
/// (`- name: x`), anything else nested one level deeper on the next lines.
fn write_nested_or_scalar(
    out: &mut String,
    value: &Value,
    level: usize,
    path: &mut String,
    after_key: bool,
) -> Result<(), YamlError> {
    let value = value.unmarked_ref();
    if !is_nested(value) {
        out.push(' ');
        out.push_str(&scalar(value, path)?);
        out.push('\n');
        return Ok(());
    }
    match value {
        Value::Object(fields) if !after_key => {
            // `- key: value` with the following keys aligned under the first.
            out.push(' ');
            write_map(out, fields, level + 1, path)
        }
        Value::Object(fields) => {
            out.push('\n');
            indent(out, level + 1);
            write_map(out, fields, level + 1, path)
        }
        Value::List(items) if !after_key => {
            out.push(' ');
            write_list(out, items, level + 1, path)
        }
        Value::List(items) => {
            // Lists under a key are indented too (accepted by every parser, and kubectl's own style).
            out.push('\n');
            indent(out, level + 1);
            write_list(out, items, level + 1, path)
        }
        _ => unreachable!("is_nested is true only for non-empty objects and lists"),
    }
}

fn scalar(value: &Value, path: &str) -> Result<String, YamlError> {
    match value.unmarked_ref() {
        Value::Null => Ok("null".to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) if n.is_finite() => Ok(format_number(*n)),
        Value::Number(_) => Err(YamlError::NonFiniteNumber(path.to_string())),
        Value::String(s) => Ok(string_scalar(s)),
        Value::Object(_) => Ok("{}".to_string()),
        Value::List(_) => Ok("[]".to_string()),
        Value::Unknown => Err(YamlError::Unknown(path.to_string())),
        Value::Sensitive(_) => unreachable!("unmarked_ref strips marks"),
    }
}

/// Words that YAML 1.1 or 1.2 reads as something other than a string.
const RESERVED: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];

/// A string written plain when that is unambiguous, else double-quoted.
fn string_scalar(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

fn is_plain_safe(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else { return false };
    if !(first.is_ascii_alphabetic() || first == '_' || first == '/') {
        return false;
    }
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')) {
        return false;
    }
    !RESERVED.iter().any(|w| w.eq_ignore_ascii_case(s))
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20
                || c == '\u{7f}'
                || c == '\u{85}'
                || c == '\u{2028}'
                || c == '\u{2029}' =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(fields: &[(&str, Value)]) -> Value {
        Value::Object(
            fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<stackc_model::Fields>(),
        )
    }

    fn s(text: &str) -> Value {
        Value::string(text)
    }

    #[test]
    fn writes_a_deployment_in_block_style() {
        let container = obj(&[
            ("name", s("api")),
            ("image", s("registry.example.com/shop/api:1.4.2")),
            ("ports", Value::List(vec![obj(&[("containerPort", Value::Number(8080.0))])])),
            ("args", Value::List(vec![s("--verbose"), s("serve")])),
        ]);
        let doc = obj(&[
            ("apiVersion", s("apps/v1")),
            ("kind", s("Deployment")),
            (
                "metadata",
                obj(&[("name", s("api")), ("labels", obj(&[("app.kubernetes.io/name", s("api"))]))]),
            ),
            (
                "spec",
                obj(&[("template", obj(&[("spec", obj(&[("containers", Value::List(vec![container]))]))]))]),
            ),
            ("status", obj(&[])),
        ]);
        let expected = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels:
    app.kubernetes.io/name: api
spec:
  template:
    spec:
      containers:
        - name: api
          image: \"registry.example.com/shop/api:1.4.2\"
          ports:
            - containerPort: 8080
          args:
            - \"--verbose\"
            - serve
status: {}
";
        assert_eq!(to_yaml(&doc).unwrap(), expected);
    }

    #[test]
    fn quotes_strings_that_would_read_back_as_something_else() {
        for (text, written) in [
            ("8080", "\"8080\""),
            ("1.5", "\"1.5\""),
            ("yes", "\"yes\""),
            ("On", "\"On\""),
            ("n", "\"n\""),
            ("null", "\"null\""),
            ("", "\"\""),
            ("a: b", "\"a: b\""),
            ("#x", "\"#x\""),
            ("-x", "\"-x\""),
            ("line\nbreak \"q\" \\", "\"line\\nbreak \\\"q\\\" \\\\\""),
            ("\u{1}", "\"\\u0001\""),
            ("500m", "\"500m\""),
            ("Recreate", "Recreate"),
            ("/healthz", "/healthz"),
            ("é", "\"é\""),
        ] {
            assert_eq!(string_scalar(text), written, "{text:?}");
        }
    }

    #[test]
    fn nested_lists_and_empty_collections() {
        let doc = obj(&[
            (
                "matrix",
                Value::List(vec![
                    Value::List(vec![Value::Number(1.0), Value::Number(2.5)]),
                    Value::List(vec![]),
                ]),
            ),
            ("empty", Value::List(vec![])),
            ("flag", Value::Bool(false)),
            ("nothing", Value::Null),
        ]);
        assert_eq!(
            to_yaml(&doc).unwrap(),
            "matrix:\n  - - 1\n    - 2.5\n  - []\nempty: []\nflag: false\nnothing: null\n"
        );
    }

    #[test]
    fn sensitive_values_are_written_unmarked_and_unknowns_are_refused() {
        let secret = obj(&[("stringData", obj(&[("password", s("hunter2hunter2").into_sensitive())]))]);
        assert_eq!(to_yaml(&secret).unwrap(), "stringData:\n  password: hunter2hunter2\n");
        let unknown = obj(&[("spec", obj(&[("clusterIP", Value::Unknown)]))]);
        assert_eq!(to_yaml(&unknown), Err(YamlError::Unknown("spec.clusterIP".into())));
        let nan = obj(&[("x", Value::List(vec![Value::Number(f64::NAN)]))]);
        assert_eq!(to_yaml(&nan), Err(YamlError::NonFiniteNumber("x[0]".into())));
    }

    #[test]
    fn stream_separates_documents() {
        let a = obj(&[("kind", s("ConfigMap"))]);
        let b = obj(&[("kind", s("Secret"))]);
        assert_eq!(to_yaml_stream([&a, &b]).unwrap(), "---\nkind: ConfigMap\n---\nkind: Secret\n");
    }
}
