//! Reading configuration values and building attribute values.
//!
//! Reads normalise what AWS returns towards what was configured (set-like
//! lists keep the configured order, maps keep the configured keys, JSON
//! documents that mean the same keep the configured text) so that a plan
//! right after an apply is empty.

use indexmap::IndexMap;
use stackc_model::Value;
use stackc_providers::{OperationContext, ProviderError, ProviderResult};

/// Tag keys stackc puts on every object it creates.
pub const TAG_STACK: &str = "stackc:stack";
pub const TAG_TARGET: &str = "stackc:target";
pub const TAG_ADDRESS: &str = "stackc:address";

/// Typed access to a configuration (or prior attributes) object.
#[derive(Clone, Copy, Debug)]
pub struct Attrs<'a>(pub &'a Value);

impl<'a> Attrs<'a> {
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        match self.0.as_object()?.get(name)? {
            Value::Null | Value::Unknown => None,
            value => Some(value),
        }
    }

    pub fn str(&self, name: &str) -> Option<String> {
        self.get(name).and_then(|v| v.as_str()).map(str::to_string)
    }

    pub fn required_str(&self, name: &str) -> ProviderResult<String> {
        self.str(name).ok_or_else(|| ProviderError::new(format!("`{name}` must be set to a string")))
    }

    pub fn f64(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|v| v.as_f64())
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(|v| v.as_bool())
    }

    pub fn strings(&self, name: &str) -> Vec<String> {
        self.get(name)
            .and_then(|v| v.as_list())
            .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    pub fn list(&self, name: &str) -> &'a [Value] {
        self.get(name).and_then(|v| v.as_list()).unwrap_or(&[])
    }

    /// User tags (`tags`), never the ownership tags.
    pub fn tags(&self) -> IndexMap<String, String> {
        self.get("tags")
            .and_then(|v| v.as_object())
            .map(|tags| {
                tags.iter()
                    .filter(|(k, _)| !k.starts_with("stackc:"))
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The tags an object gets at creation: the user's plus ownership.
pub fn creation_tags(ctx: &OperationContext, config: &Value) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = Attrs(config).tags().into_iter().collect();
    tags.extend(ownership_tags(ctx));
    tags
}

/// The ownership tags an object created for `ctx` carries, as plans show
/// them in `tags`.
pub fn ownership_tags(ctx: &OperationContext) -> [(String, String); 3] {
    [
        (TAG_STACK.into(), ctx.stack.clone()),
        (TAG_TARGET.into(), ctx.target.clone().unwrap_or_else(|| crate::TARGET.into())),
        (TAG_ADDRESS.into(), ctx.address.as_str().to_string()),
    ]
}

/// True when `tags` carry this operation's whole ownership set: its stack,
/// its target and its address. Recovery adopts nothing less: an object of
/// the same stack but another address (a sibling), or of another target,
/// is never taken for the one a create made.
pub fn owned_by<'t>(op: &OperationContext, tags: impl IntoIterator<Item = (&'t str, &'t str)>) -> bool {
    let target = op.target.as_deref().unwrap_or(crate::TARGET);
    let (mut stack, mut in_target, mut address) = (false, false, false);
    for (key, value) in tags {
        match key {
            TAG_STACK => stack = value == op.stack,
            TAG_TARGET => in_target = value == target,
            TAG_ADDRESS => address = value == op.address.as_str(),
            _ => {}
        }
    }
    stack && in_target && address
}

/// The `tags` attribute as read: every tag, the ownership tags (`stackc:*`)
/// included, so that what a plan shows is what the object carries; null
/// when there are none and none were configured.
pub fn tags_value<'t>(actual: impl IntoIterator<Item = (&'t str, &'t str)>, prior: &Value) -> Value {
    let user: stackc_model::Fields =
        actual.into_iter().map(|(k, v)| (k.to_string(), Value::string(v))).collect();
    if user.is_empty() && Attrs(prior).get("tags").is_none() {
        return Value::Null;
    }
    // Keep the configured key order.
    let mut ordered = stackc_model::Fields::default();
    if let Some(configured) = Attrs(prior).get("tags").and_then(|v| v.as_object()) {
        for key in configured.keys() {
            if let Some(v) = user.get(key) {
                ordered.insert(key.clone(), v.clone());
            }
        }
    }
    for (k, v) in user {
        ordered.entry(k).or_insert(v);
    }
    Value::Object(ordered)
}

/// Tag changes between prior and config: (set, removed keys).
pub fn tag_changes(prior: &Value, config: &Value) -> (Vec<(String, String)>, Vec<String>) {
    let before = Attrs(prior).tags();
    let after = Attrs(config).tags();
    let set = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let removed = before.keys().filter(|k| !after.contains_key(*k)).cloned().collect();
    (set, removed)
}

/// An object value from pairs.
pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

pub fn string_list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::List(items.into_iter().map(|s| Value::string(s.as_ref())).collect())
}

pub fn opt_string(value: Option<&str>) -> Value {
    value.filter(|s| !s.is_empty()).map_or(Value::Null, Value::string)
}

/// A list whose order AWS does not keep: when it holds the same elements
/// as the prior value, the prior order is kept.
pub fn as_set(actual: Vec<Value>, prior: Option<&Value>) -> Value {
    if let Some(prior) = prior.and_then(|p| p.as_list()) {
        let unmarked: Vec<Value> = prior.iter().map(Value::unmarked).collect();
        if unmarked.len() == actual.len() && unmarked.iter().all(|p| actual.contains(p)) {
            return Value::List(unmarked);
        }
    }
    Value::List(actual)
}

/// Keeps only the keys the prior object had (AWS returns defaults for keys
/// the configuration left out); the whole object when there is no prior.
pub fn project(actual: Value, prior: Option<&Value>) -> Value {
    match (actual, prior.map(Value::unmarked)) {
        (Value::Object(actual), Some(Value::Object(prior))) => Value::Object(
            prior
                .iter()
                .map(|(k, p)| (k.clone(), project(actual.get(k).cloned().unwrap_or(Value::Null), Some(p))))
                .collect(),
        ),
        (Value::List(actual), Some(Value::List(prior))) if actual.len() == prior.len() => {
            Value::List(actual.into_iter().zip(prior.iter()).map(|(a, p)| project(a, Some(p))).collect())
        }
        (actual, _) => actual,
    }
}

/// The prior value of `name` where one exists.
pub fn prior_of<'a>(prior: &'a Value, name: &str) -> Option<&'a Value> {
    Attrs(prior).get(name)
}

/// `snake_case` keys to `PascalCase`, recursively (config maps to JSON APIs).
pub fn to_pascal_json(value: &Value) -> serde_json::Value {
    match value.unmarked() {
        Value::Object(fields) => serde_json::Value::Object(
            fields
                .iter()
                .filter(|(_, v)| !matches!(v, Value::Null))
                .map(|(k, v)| (pascal(k), to_pascal_json(v)))
                .collect(),
        ),
        Value::List(items) => serde_json::Value::Array(items.iter().map(to_pascal_json).collect()),
        other => other.to_json(),
    }
}

/// `PascalCase` keys to `snake_case`, recursively (JSON APIs to attributes).
pub fn from_pascal_json(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Object(fields) => {
            Value::Object(fields.iter().map(|(k, v)| (snake(k), from_pascal_json(v))).collect())
        }
        serde_json::Value::Array(items) => Value::List(items.iter().map(from_pascal_json).collect()),
        other => Value::from_json(other),
    }
}

fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

fn snake(pascal: &str) -> String {
    let mut out = String::new();
    for (i, c) in pascal.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// True if every non-null, non-empty part of `desired` is in `actual` with
/// the same value (AWS fills in defaults the user did not write).
pub fn json_covers(desired: &serde_json::Value, actual: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (desired, actual) {
        (J::Null, _) => true,
        (J::Array(d), J::Null) | (J::Array(d), J::Array(_)) if d.is_empty() => {
            actual.as_array().is_none_or(|a| a.is_empty())
        }
        (J::Object(d), J::Null) if d.is_empty() => true,
        (J::Object(d), J::Object(a)) => d.iter().all(|(k, v)| json_covers(v, a.get(k).unwrap_or(&J::Null))),
        (J::Array(d), J::Array(a)) => d.len() == a.len() && d.iter().zip(a).all(|(d, a)| json_covers(d, a)),
        (J::Number(d), J::Number(a)) => d.as_f64() == a.as_f64(),
        (d, a) => d == a,
    }
}

/// A deterministic token for an idempotent create: the same address in the
/// same stack always gets the same token (`len` hex characters, up to 64).
pub fn idempotency_token(ctx: &OperationContext, salt: &str, len: usize) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(ctx.stack.as_bytes());
    hasher.update([0]);
    hasher.update(ctx.address.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(salt.as_bytes());
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..len.min(hex.len())].to_string()
}

/// The client token of a create request: the same for every attempt of one
/// create (so AWS serves a resent request once), and new for each create
/// the journal records (so a replace's create, or a create after a state
/// was lost, is never answered with the object an earlier create made).
pub fn client_token(ctx: &OperationContext, salt: &str, len: usize) -> String {
    match &ctx.create_token {
        Some(token) => idempotency_token(ctx, &format!("{salt}\0{token}"), len),
        None => idempotency_token(ctx, salt, len),
    }
}

/// True for the codes AWS uses for "no such object".
pub fn is_not_found(error: &ProviderError) -> bool {
    error.code.as_deref().is_some_and(|code| {
        code.ends_with("NotFound")
            || code.ends_with(".NotFound")
            || code.ends_with("NotFoundException")
            || matches!(
                code,
                "NoSuchEntity"
                    | "ParameterNotFound"
                    | "ClusterNotFoundException"
                    | "ServiceNotFoundException"
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_keep_the_prior_order_and_projection_keeps_prior_keys() {
        let prior = string_list(["b", "a"]);
        assert_eq!(as_set(vec![Value::string("a"), Value::string("b")], Some(&prior)), prior);
        let other = as_set(vec![Value::string("a"), Value::string("c")], Some(&prior));
        assert_eq!(other, string_list(["a", "c"]));
        let actual = object([
            ("path", Value::string("/")),
            ("interval", Value::Number(30.0)),
            ("port", Value::string("x")),
        ]);
        let prior = object([("path", Value::string("/h")), ("interval", Value::Number(10.0))]);
        assert_eq!(
            project(actual, Some(&prior)),
            object([("path", Value::string("/")), ("interval", Value::Number(30.0))])
        );
    }

    #[test]
    fn case_conversion_round_trips() {
        let config = object([
            ("target_value", Value::Number(70.0)),
            ("predefined_metric_specification", object([("predefined_metric_type", Value::string("X"))])),
        ]);
        let json = to_pascal_json(&config);
        assert_eq!(json["PredefinedMetricSpecification"]["PredefinedMetricType"], "X");
        assert_eq!(from_pascal_json(&json), config);
    }

    #[test]
    fn json_covers_ignores_defaults_and_nulls() {
        let desired = serde_json::json!([{"name": "a", "command": null, "portMappings": [], "environment": [{"name": "X", "value": "1"}]}]);
        let actual = serde_json::json!([{"name": "a", "cpu": 0, "environment": [{"name": "X", "value": "1"}], "mountPoints": []}]);
        assert!(json_covers(&desired, &actual));
        let changed = serde_json::json!([{"name": "b"}]);
        assert!(!json_covers(&changed, &actual));
    }
}
