//! Sensitive values: where a marked value sits inside a larger one, and what
//! to tell the user when it flows somewhere plain.

use crate::value::Value;

/// Bound on the nesting searched.
const MAX_DEPTH: usize = 64;

/// The keys/indexes leading to the first sensitive part of `value`.
pub fn sensitive_path(value: &Value) -> Option<Vec<String>> {
    fn find(value: &Value, path: &mut Vec<String>, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match value {
            Value::Sensitive(_) => true,
            Value::List(items) => items.iter().enumerate().any(|(i, item)| {
                path.push(i.to_string());
                let found = find(item, path, depth + 1);
                if !found {
                    path.pop();
                }
                found
            }),
            Value::Object(fields) => fields.iter().any(|(key, item)| {
                path.push(key.clone());
                let found = find(item, path, depth + 1);
                if !found {
                    path.pop();
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = Vec::new();
    find(value, &mut path, 0).then_some(path)
}

/// How to fix a sensitive value flowing into the plain param `param` of a `kind`.
pub fn plain_help(kind: &str, param: &str) -> String {
    match (kind, param) {
        ("service" | "job" | "stateful", "env") => {
            "pass secrets with `secret_env = { NAME = secret.<name> }`, or wrap the value in `nonsensitive(...)` if it may be shown".to_string()
        }
        ("config", _) => {
            "configs hold plain data: put the value in a `secret` instead, or wrap it in `nonsensitive(...)` if it may be shown".to_string()
        }
        _ => format!(
            "declare `{param}` with a `sensitive(...)` type in the component, pass a `secret` reference, or wrap the value in `nonsensitive(...)` if it may be shown"
        ),
    }
}
