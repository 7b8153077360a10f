//! Checking a resource block against its type's schema: unknown types and
//! attributes (with did-you-mean), computed-only attributes set, required
//! ones missing, and values of the wrong type.
//!
//! Values are checked once evaluated: a known value must conform to the
//! attribute's type; an unknown one (known only after apply) passes here and
//! is the provider's to validate. This catches every literal mistake, which
//! is what users actually write wrong in a resource body.

use crate::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::schema::{AttributeMode, ResourceSchema, SchemaSource};
use crate::source::Span;
use crate::types::Type;
use crate::value::Value;

/// One attribute as written in a resource block, with its evaluated value.
#[derive(Clone, Debug)]
pub struct WrittenAttribute<'a> {
    pub name: &'a str,
    pub name_span: Span,
    pub value: &'a Value,
    pub value_span: Span,
}

/// Finds the schema of `type_name`, or reports E0503 at `type_span` (with the
/// closest known type), or E0501 when the type belongs to a different target
/// than the `on "<target>"` block (or the top level) it is written in.
pub fn lookup<'s>(
    schemas: &'s dyn SchemaSource,
    type_name: &str,
    type_span: Span,
    enclosing_target: Option<&str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'s ResourceSchema> {
    let Some(schema) = schemas.schema(type_name) else {
        let mut diagnostic = Diagnostic::new(
            Code::UnknownResourceType,
            type_span,
            format!("No provider has a resource type `{type_name}`."),
        )
        .with_label("unknown resource type");
        let names = schemas.type_names();
        if let Some(help) = did_you_mean(type_name, names.iter().copied()) {
            diagnostic = diagnostic.with_help(help);
        }
        diagnostics.push(diagnostic);
        return None;
    };
    match (&schema.target, enclosing_target) {
        (Some(owner), Some(enclosing)) if owner != enclosing => {
            diagnostics.push(
                Diagnostic::new(
                    Code::UnsupportedOnTarget,
                    type_span,
                    format!(
                        "`{type_name}` is a resource type of the `{owner}` target; it cannot be used in an `on \"{enclosing}\"` block."
                    ),
                )
                .with_label(format!("belongs to `{owner}`"))
                .with_help(format!("move it into an `on \"{owner}\" {{ ... }}` block")),
            );
            None
        }
        (Some(owner), None) => {
            diagnostics.push(
                Diagnostic::new(
                    Code::UnsupportedOnTarget,
                    type_span,
                    format!(
                        "`{type_name}` is a resource type of the `{owner}` target; outside an `on \"{owner}\"` block it would be created for every target."
                    ),
                )
                .with_label(format!("belongs to `{owner}`"))
                .with_help(format!("wrap it in `on \"{owner}\" {{ ... }}`")),
            );
            None
        }
        _ => Some(schema),
    }
}

/// Checks the attributes written in one resource block against `schema`.
/// `block_span` is where a missing required attribute is reported.
pub fn check_attributes(
    schema: &ResourceSchema,
    attributes: &[WrittenAttribute<'_>],
    block_span: Span,
    diagnostics: &mut Vec<Diagnostic>,
) {
    // Required attributes a misspelt one was probably meant to be: one
    // mistake, one diagnostic (the unknown attribute's "did you mean").
    let mut meant: Vec<&str> = Vec::new();
    for written in attributes {
        let Some(attribute) = schema.attributes.get(written.name) else {
            let mut diagnostic = Diagnostic::new(
                Code::UnknownResourceAttribute,
                written.name_span,
                format!("Resource type `{}` has no attribute `{}`.", schema.type_name, written.name),
            )
            .with_label("unknown attribute");
            if let Some(closest) = closest(written.name, schema.settable()) {
                meant.push(closest);
                diagnostic = diagnostic.with_help(format!("did you mean `{closest}`?"));
            }
            diagnostics.push(diagnostic);
            continue;
        };
        if attribute.mode == AttributeMode::Computed {
            diagnostics.push(
                Diagnostic::new(
                    Code::ComputedAttributeSet,
                    written.name_span,
                    format!(
                        "`{}` of `{}` is computed by the provider; it cannot be set in configuration.",
                        written.name, schema.type_name
                    ),
                )
                .with_label("set by the provider")
                .with_help(format!("remove it; read it as `{}.<name>.{}`", schema.type_name, written.name)),
            );
            continue;
        }
        if attribute.mode == AttributeMode::Required && matches!(written.value, Value::Null) {
            diagnostics.push(
                Diagnostic::new(
                    Code::MissingRequired,
                    written.value_span,
                    format!("`{}` of `{}` is required and cannot be null.", written.name, schema.type_name),
                )
                .with_label("null here"),
            );
            continue;
        }
        if let Err(mismatch) = conforms(written.value, &attribute.ty) {
            let place =
                if mismatch.path.is_empty() { String::new() } else { format!(" at `{}`", mismatch.path) };
            diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    written.value_span,
                    format!(
                        "`{}` of `{}` expects {}; the value{place} is {}.",
                        written.name, schema.type_name, mismatch.expected, mismatch.found
                    ),
                )
                .with_label(format!("expected {}", mismatch.expected)),
            );
        }
    }
    let missing: Vec<&str> = schema
        .attributes
        .iter()
        .filter(|(name, a)| {
            a.mode == AttributeMode::Required
                && !attributes.iter().any(|w| w.name == *name)
                && !meant.contains(&name.as_str())
        })
        .map(|(name, _)| name.as_str())
        .collect();
    if !missing.is_empty() {
        let list = missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
        diagnostics.push(
            Diagnostic::new(
                Code::MissingRequired,
                block_span,
                format!("Resource type `{}` requires {list}.", schema.type_name),
            )
            .with_label(format!("missing {list}"))
            .with_help(format!(
                "add {}",
                missing.iter().map(|m| format!("`{m} = ...`")).collect::<Vec<_>>().join(", ")
            )),
        );
    }
}

/// The candidate `did_you_mean` would suggest for `name`.
fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let help = did_you_mean(name, candidates.iter().copied())?;
    candidates.into_iter().find(|c| help == format!("did you mean `{c}`?"))
}

/// Where and how a value fails to conform to a type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// `spec.ports[0].port`; empty at the top.
    pub path: String,
    pub expected: String,
    pub found: String,
}

/// Depth beyond which values are not inspected further (values come from
/// bounded-depth syntax, so this only guards against pathological inputs).
const MAX_DEPTH: usize = 64;

/// Whether a value conforms to a type. Unknown and null conform to every
/// type (null is "not set"; required-ness is checked separately).
pub fn conforms(value: &Value, ty: &Type) -> Result<(), Mismatch> {
    let mut path = String::new();
    conforms_at(value, ty, &mut path, 0)
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a bool".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::List(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
        Value::Unknown => "unknown".into(),
        Value::Sensitive(inner) => describe(inner),
    }
}

fn conforms_at(value: &Value, ty: &Type, path: &mut String, depth: usize) -> Result<(), Mismatch> {
    let value = match value {
        Value::Sensitive(inner) => inner.as_ref(),
        other => other,
    };
    if matches!(value, Value::Unknown | Value::Null) || depth > MAX_DEPTH {
        return Ok(());
    }
    let fail = |path: &String, expected: String| {
        Err(Mismatch { path: path.clone(), expected, found: describe(value) })
    };
    match (ty.base(), value) {
        (Type::Any | Type::Ref(_), _) => Ok(()),
        (Type::String, Value::String(_))
        | (Type::Bool, Value::Bool(_))
        | (Type::Number, Value::Number(_)) => Ok(()),
        // HCL converts numbers and bools to strings where a string is expected.
        (Type::String, Value::Number(_) | Value::Bool(_)) => Ok(()),
        (Type::Quantity, Value::String(_) | Value::Number(_)) | (Type::Duration, Value::String(_)) => Ok(()),
        (Type::Port, Value::Number(n)) if n.fract() == 0.0 && (1.0..=65535.0).contains(n) => Ok(()),
        (Type::Port, Value::Number(n)) => Err(Mismatch {
            path: path.clone(),
            expected: "a port (1 to 65535)".into(),
            found: crate::value::format_number(*n),
        }),
        (Type::List(item), Value::List(items)) => {
            for (i, element) in items.iter().enumerate() {
                let saved = path.len();
                path.push_str(&format!("[{i}]"));
                conforms_at(element, item, path, depth + 1)?;
                path.truncate(saved);
            }
            Ok(())
        }
        (Type::Map(item), Value::Object(fields)) => {
            for (key, element) in fields {
                let saved = path.len();
                push_key(path, key);
                conforms_at(element, item, path, depth + 1)?;
                path.truncate(saved);
            }
            Ok(())
        }
        (Type::Object(declared), Value::Object(fields)) => {
            for (key, element) in fields {
                let saved = path.len();
                push_key(path, key);
                match declared.get(key) {
                    Some(field) => conforms_at(element, &field.ty, path, depth + 1)?,
                    None => {
                        return Err(Mismatch {
                            path: path.clone(),
                            expected: format!("one of the attributes of {}", ty.base()),
                            found: format!("an unexpected attribute `{key}`"),
                        })
                    }
                }
                path.truncate(saved);
            }
            for (key, field) in declared {
                if !field.optional && fields.get(key).is_none_or(|v| matches!(v, Value::Null)) {
                    return Err(Mismatch {
                        path: path.clone(),
                        expected: format!("an object with `{key}`"),
                        found: format!("an object without `{key}`"),
                    });
                }
            }
            Ok(())
        }
        (expected, _) => fail(path, article(expected)),
    }
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

fn article(ty: &Type) -> String {
    match ty {
        Type::List(_) | Type::Map(_) | Type::Object(_) => format!("a value of type {ty}"),
        Type::Any => "any value".into(),
        other => format!("a {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AttributeSchema, SchemaSet};
    use crate::source::FileId;

    fn span(start: usize) -> Span {
        Span::new(FileId(0), start..start + 1)
    }

    fn schemas() -> SchemaSet {
        let mut set = SchemaSet::default();
        set.add(
            ResourceSchema::new("aws_instance", Some("aws"))
                .attribute("ami", AttributeSchema::new(Type::String, AttributeMode::Required))
                .attribute("instance_type", AttributeSchema::new(Type::String, AttributeMode::Required))
                .attribute(
                    "tags",
                    AttributeSchema::new(Type::Map(Box::new(Type::String)), AttributeMode::Optional),
                )
                .attribute("private_ip", AttributeSchema::new(Type::String, AttributeMode::Computed)),
        );
        set.add(
            ResourceSchema::new("stackc_data", None)
                .attribute("input", AttributeSchema::new(Type::Any, AttributeMode::Optional)),
        );
        set
    }

    fn written<'a>(name: &'a str, value: &'a Value, at: usize) -> WrittenAttribute<'a> {
        WrittenAttribute { name, name_span: span(at), value, value_span: span(at + 10) }
    }

    #[test]
    fn unknown_type_suggests_the_closest() {
        let mut diagnostics = Vec::new();
        assert!(lookup(&schemas(), "aws_instnace", span(0), Some("aws"), &mut diagnostics).is_none());
        assert_eq!(diagnostics[0].code, Code::UnknownResourceType);
        assert_eq!(diagnostics[0].help.as_deref(), Some("did you mean `aws_instance`?"));
    }

    #[test]
    fn a_type_of_another_target_is_unsupported_there() {
        let mut diagnostics = Vec::new();
        assert!(lookup(&schemas(), "aws_instance", span(0), Some("kubernetes"), &mut diagnostics).is_none());
        assert!(lookup(&schemas(), "aws_instance", span(0), None, &mut diagnostics).is_none());
        assert!(lookup(&schemas(), "stackc_data", span(0), Some("kubernetes"), &mut diagnostics).is_some());
        assert!(lookup(&schemas(), "aws_instance", span(0), Some("aws"), &mut diagnostics).is_some());
        let codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec![Code::UnsupportedOnTarget, Code::UnsupportedOnTarget]);
    }

    #[test]
    fn reports_unknown_computed_missing_and_mistyped_attributes() {
        let set = schemas();
        let schema = set.schema("aws_instance").unwrap();
        let ami = Value::Number(3.0);
        let instance_tipe = Value::string("t3.micro");
        let private_ip = Value::string("10.0.0.1");
        let tags = Value::Object([("team".to_string(), Value::List(vec![]))].into_iter().collect());
        let mut diagnostics = Vec::new();
        check_attributes(
            schema,
            &[
                written("ami", &ami, 0),
                written("instance_tipe", &instance_tipe, 100),
                written("private_ip", &private_ip, 200),
                written("tags", &tags, 300),
            ],
            span(999),
            &mut diagnostics,
        );
        let summary: Vec<(Code, u32, Option<&str>)> =
            diagnostics.iter().map(|d| (d.code, d.primary.span.start, d.help.as_deref())).collect();
        assert_eq!(
            summary,
            vec![
                (Code::UnknownResourceAttribute, 100, Some("did you mean `instance_type`?")),
                (
                    Code::ComputedAttributeSet,
                    200,
                    Some("remove it; read it as `aws_instance.<name>.private_ip`")
                ),
                (Code::TypeMismatch, 310, None),
            ]
        );
        // `instance_type` is missing, but the misspelt `instance_tipe` already
        // says so: one mistake, one diagnostic.
        assert!(!diagnostics.iter().any(|d| d.code == Code::MissingRequired));
        // A number where a string is expected converts, as in HCL.
        assert!(!diagnostics.iter().any(|d| d.primary.span.start == 10));
        assert_eq!(
            diagnostics[2].message,
            "`tags` of `aws_instance` expects a string; the value at `team` is a list."
        );
    }

    #[test]
    fn a_missing_required_attribute_is_reported_when_no_misspelling_explains_it() {
        let set = schemas();
        let schema = set.schema("aws_instance").unwrap();
        let ami = Value::string("ami-1");
        let mut diagnostics = Vec::new();
        check_attributes(
            schema,
            &[written("ami", &ami, 0), written("colour", &ami, 50)],
            span(999),
            &mut diagnostics,
        );
        let codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec![Code::UnknownResourceAttribute, Code::MissingRequired]);
        assert_eq!(diagnostics[1].help.as_deref(), Some("add `instance_type = ...`"));
    }

    #[test]
    fn unknown_and_sensitive_values_conform_by_what_is_known() {
        let port = Type::Port;
        assert!(conforms(&Value::Unknown, &Type::Number).is_ok());
        assert!(conforms(&Value::Number(8080.0), &port).is_ok());
        assert_eq!(conforms(&Value::Number(70000.0), &port).unwrap_err().found, "70000");
        assert!(conforms(&Value::string("x").into_sensitive(), &Type::String).is_ok());
        assert_eq!(conforms(&Value::Bool(true).into_sensitive(), &Type::Number).unwrap_err().found, "a bool");
        let list = Type::List(Box::new(Type::Number));
        assert_eq!(
            conforms(&Value::List(vec![Value::Number(1.0), Value::string("a")]), &list).unwrap_err().path,
            "[1]"
        );
    }
}
