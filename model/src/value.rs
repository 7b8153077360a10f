//! Runtime values of the language, shared by the evaluator, the resource
//! graph, the providers and the planner.
//!
//! `Unknown` is a value known only after apply (a provider-computed id, an
//! address of a load balancer). `Sensitive` marks a value that must never be
//! shown in plan output, logs or errors; the mark survives every operation
//! that derives a value from it.

/// The fields of an object value, in declaration order.
///
/// Hashed with foldhash under a fixed seed rather than `IndexMap`'s default
/// SipHash: objects are built and looked up field by field throughout
/// evaluation, planning and rendering, where SipHash was a tenth of a large
/// build's work. The seed is fixed so that a value's hashing does not vary
/// between runs; nothing visible depends on it (iteration follows insertion
/// order). Field names come from the stack and from providers, not from an
/// untrusted peer, so the fixed seed exposes no collision attack worth the
/// random seed's cost.
pub type Fields = indexmap::IndexMap<String, Value, foldhash::fast::FixedState>;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    List(Vec<Value>),
    /// Objects and maps: keys in declaration order.
    Object(Fields),
    /// Known after apply.
    Unknown,
    /// A value that must not be displayed.
    Sensitive(Box<Value>),
}

/// Deepest nesting of lists and objects a value may have. Values are
/// cloned, compared, dropped and written recursively; expressions are
/// bounded by the parser, but a chain of locals (`b = [local.a]`, `c =
/// [local.b]`, ...) could otherwise build a value deep enough to overflow
/// the stack. The evaluator refuses results deeper than this (E0102).
pub const MAX_VALUE_DEPTH: usize = 256;

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// True if lists and objects nest deeper than `limit` in this value.
    /// Recursion is bounded by `limit` itself.
    pub fn deeper_than(&self, limit: usize) -> bool {
        match self {
            Value::List(items) => limit == 0 || items.iter().any(|v| v.deeper_than(limit - 1)),
            Value::Object(fields) => limit == 0 || fields.values().any(|v| v.deeper_than(limit - 1)),
            Value::Sensitive(inner) => inner.deeper_than(limit),
            _ => false,
        }
    }

    /// True if this value, or any part of it, is unknown.
    pub fn has_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::List(items) => items.iter().any(Value::has_unknown),
            Value::Object(fields) => fields.values().any(Value::has_unknown),
            Value::Sensitive(inner) => inner.has_unknown(),
            _ => false,
        }
    }

    /// True if this value, or any part of it, is sensitive.
    pub fn has_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(items) => items.iter().any(Value::has_sensitive),
            Value::Object(fields) => fields.values().any(Value::has_sensitive),
            _ => false,
        }
    }

    /// The value without sensitive marks (for providers, which need the real
    /// value, and for `nonsensitive()`).
    pub fn unmarked(&self) -> Value {
        match self {
            Value::Sensitive(inner) => inner.unmarked(),
            Value::List(items) => Value::List(items.iter().map(Value::unmarked).collect()),
            Value::Object(fields) => {
                Value::Object(fields.iter().map(|(k, v)| (k.clone(), v.unmarked())).collect())
            }
            other => other.clone(),
        }
    }

    /// Wraps in `Sensitive` unless already marked.
    pub fn into_sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            other => Value::Sensitive(Box::new(other)),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Sensitive(inner) => inner.as_str(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Sensitive(inner) => inner.as_f64(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Sensitive(inner) => inner.as_bool(),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Fields> {
        match self {
            Value::Object(o) => Some(o),
            Value::Sensitive(inner) => inner.as_object(),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            Value::Sensitive(inner) => inner.as_list(),
            _ => None,
        }
    }

    /// Value at a path of object keys, if present.
    pub fn get_path(&self, path: &[&str]) -> Option<&Value> {
        let mut current = self;
        for key in path {
            current = current.as_object()?.get(*key)?;
        }
        Some(current)
    }

    /// Converts to JSON. Unknown becomes null; sensitive values are written
    /// unmarked: callers that persist or display must decide about marks first.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null | Value::Unknown => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => number_to_json(*n),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => serde_json::Value::Array(items.iter().map(Value::to_json).collect()),
            Value::Object(fields) => {
                serde_json::Value::Object(fields.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Sensitive(inner) => inner.to_json(),
        }
    }

    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(fields) => {
                Value::Object(fields.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }
}

fn number_to_json(n: f64) -> serde_json::Value {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        serde_json::Value::Number((n as i64).into())
    } else {
        serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

/// Formats a number the way the language writes it: integers without a
/// fractional part.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

impl std::fmt::Display for Value {
    /// A compact HCL-like rendering. Sensitive values print as `(sensitive)`
    /// and unknowns as `(known after apply)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => f.write_str(&format_number(*n)),
            Value::String(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Object(fields) => {
                f.write_str("{")?;
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, " {k} = {v}")?;
                }
                f.write_str(if fields.is_empty() { "}" } else { " }" })
            }
            Value::Unknown => f.write_str("(known after apply)"),
            Value::Sensitive(_) => f.write_str("(sensitive)"),
        }
    }
}
