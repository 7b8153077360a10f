//! Types of the language.

use indexmap::IndexMap;

#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// Accepts anything; used where the type is not yet known.
    Any,
    String,
    Number,
    Bool,
    List(Box<Type>),
    Map(Box<Type>),
    /// Object with named attributes; optional ones may be omitted.
    Object(IndexMap<String, ObjectField>),
    /// A Kubernetes-style quantity: "20Gi", "500m", "1.5".
    Quantity,
    /// A duration: "30s", "5m", "1h30m".
    Duration,
    /// A TCP/UDP port, 1 to 65535.
    Port,
    /// A reference to an instance of the named component kind
    /// (`service`, `volume`, ...): `to = service.api`.
    Ref(String),
    /// The type of a value that must never be shown; `sensitive(string)`.
    Sensitive(Box<Type>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObjectField {
    pub ty: Type,
    pub optional: bool,
}

impl Type {
    /// Strips the sensitive qualifier.
    pub fn base(&self) -> &Type {
        match self {
            Type::Sensitive(inner) => inner.base(),
            other => other,
        }
    }

    pub fn is_sensitive(&self) -> bool {
        matches!(self, Type::Sensitive(_))
    }

    /// True if list, map and object types nest deeper than `limit` (the
    /// recursion is bounded by `limit`).
    pub fn deeper_than(&self, limit: usize) -> bool {
        match self {
            Type::List(inner) | Type::Map(inner) => limit == 0 || inner.deeper_than(limit - 1),
            Type::Object(fields) => limit == 0 || fields.values().any(|f| f.ty.deeper_than(limit - 1)),
            Type::Sensitive(inner) => inner.deeper_than(limit),
            _ => false,
        }
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Type::Any => f.write_str("any"),
            Type::String => f.write_str("string"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::List(t) => write!(f, "list({t})"),
            Type::Map(t) => write!(f, "map({t})"),
            Type::Object(fields) => {
                f.write_str("object({")?;
                for (i, (name, field)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if field.optional {
                        write!(f, "{name} = optional({})", field.ty)?;
                    } else {
                        write!(f, "{name} = {}", field.ty)?;
                    }
                }
                f.write_str("})")
            }
            Type::Quantity => f.write_str("quantity"),
            Type::Duration => f.write_str("duration"),
            Type::Port => f.write_str("port"),
            Type::Ref(kind) => f.write_str(kind),
            Type::Sensitive(t) => write!(f, "sensitive({t})"),
        }
    }
}
