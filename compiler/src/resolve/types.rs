//! The one reader of type expressions (`list(string)`, `object({ path =
//! optional(string) })`, `service`). Lowering (`lower.rs`) calls it once
//! per declared type (variables, params, outputs) and keeps the result in
//! the HIR, where the structure pass, check and expansion read it; its
//! diagnostics are reported then, once.

use crate::ast::{Expr, ExprKind, TemplatePart};
use crate::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::types::{ObjectField, Type};
use indexmap::IndexMap;

/// Names of the primitive and domain types.
pub const TYPE_NAMES: &[&str] = &["string", "number", "bool", "any", "quantity", "duration", "port"];

/// Type constructors taking one argument.
pub const TYPE_CONSTRUCTORS: &[&str] = &["list", "set", "map", "object", "optional", "sensitive"];

/// Names from other languages that users write for a type.
const FOREIGN_TYPE_NAMES: &[(&str, &str)] = &[
    ("int", "number"),
    ("integer", "number"),
    ("float", "number"),
    ("double", "number"),
    ("i64", "number"),
    ("u16", "port"),
    ("str", "string"),
    ("text", "string"),
    ("boolean", "bool"),
    ("array", "list(T)"),
    ("dict", "map(T)"),
    ("hash", "map(T)"),
    ("size", "quantity"),
    ("time", "duration"),
];

/// Deepest type expression read.
const MAX_TYPE_DEPTH: usize = 32;

/// Reads a type expression; reports what is wrong with it (E0307, or E0205
/// for a name that can only be a misspelt component kind). Returns `Any`
/// for the parts it cannot read, so checking goes on.
pub(super) fn read_type(expr: &Expr, components: &[&str], diagnostics: &mut Vec<Diagnostic>) -> Type {
    read(expr, components, diagnostics, 0, false)
}

fn invalid(expr: &Expr, message: String, help: String) -> Diagnostic {
    Diagnostic::new(Code::InvalidTypeExpression, expr.span, message).with_label("not a type").with_help(help)
}

fn read(
    expr: &Expr,
    components: &[&str],
    diagnostics: &mut Vec<Diagnostic>,
    depth: usize,
    in_object: bool,
) -> Type {
    if depth > MAX_TYPE_DEPTH {
        diagnostics.push(invalid(expr, "This type nests too deeply.".into(), "simplify the type".into()));
        return Type::Any;
    }
    match &expr.kind {
        ExprKind::Variable(name) => match name.name.as_str() {
            "string" => Type::String,
            "number" => Type::Number,
            "bool" => Type::Bool,
            "any" => Type::Any,
            "quantity" => Type::Quantity,
            "duration" => Type::Duration,
            "port" => Type::Port,
            kind if components.contains(&kind) => Type::Ref(kind.to_string()),
            other => {
                let foreign = FOREIGN_TYPE_NAMES.iter().find(|(n, _)| *n == other.to_ascii_lowercase());
                let close_type = did_you_mean(other, TYPE_NAMES.iter().copied());
                let close_component = did_you_mean(other, components.iter().copied());
                if let Some((_, ours)) = foreign {
                    diagnostics.push(invalid(
                        expr,
                        format!("`{other}` is not a type of the language."),
                        format!("use `{ours}`"),
                    ));
                } else if let (Some(help), None) = (&close_type, &close_component) {
                    diagnostics.push(invalid(
                        expr,
                        format!("`{other}` is not a type of the language."),
                        help.clone(),
                    ));
                } else {
                    let help = close_component.or(close_type).unwrap_or_else(|| {
                        format!(
                            "use a type (`string`, `number`, `bool`, ...) or a component kind; define `{other}` with `component \"{other}\" {{ ... }}`"
                        )
                    });
                    diagnostics.push(
                        Diagnostic::new(
                            Code::UnknownComponent,
                            expr.span,
                            format!("`{other}` is neither a type nor a component kind, so it cannot be used as a reference type."),
                        )
                        .with_label("unknown component kind")
                        .with_help(help),
                    );
                }
                Type::Any
            }
        },
        ExprKind::Call(name, args, _) => {
            let constructor = name.name.as_str();
            if !TYPE_CONSTRUCTORS.contains(&constructor) {
                let help = did_you_mean(constructor, TYPE_CONSTRUCTORS.iter().copied()).unwrap_or_else(|| {
                    "type constructors are `list(T)`, `map(T)`, `object({...})`, `optional(T)`, `sensitive(T)`"
                        .to_string()
                });
                diagnostics.push(invalid(
                    expr,
                    format!("`{constructor}(...)` is not a type constructor."),
                    help,
                ));
                return Type::Any;
            }
            let [argument] = args.as_slice() else {
                diagnostics.push(invalid(
                    expr,
                    format!("`{constructor}(...)` takes exactly one type, but was given {}.", args.len()),
                    format!("write `{constructor}(T)`"),
                ));
                return Type::Any;
            };
            match constructor {
                "list" | "set" => {
                    Type::List(Box::new(read(argument, components, diagnostics, depth + 1, false)))
                }
                "map" => Type::Map(Box::new(read(argument, components, diagnostics, depth + 1, false))),
                "sensitive" => {
                    Type::Sensitive(Box::new(read(argument, components, diagnostics, depth + 1, false)))
                }
                "optional" => {
                    // Optional marks an object field; elsewhere every value may be null anyway.
                    let _ = in_object;
                    read(argument, components, diagnostics, depth + 1, false)
                }
                _ => match &argument.kind {
                    ExprKind::Object(fields) => {
                        let mut out = IndexMap::new();
                        for (key, value) in fields {
                            let Some(name) = key.key_name() else {
                                diagnostics.push(invalid(
                                    key,
                                    "An object type's field names are plain names.".into(),
                                    "write `object({ name = string })`".into(),
                                ));
                                continue;
                            };
                            let optional =
                                matches!(&value.kind, ExprKind::Call(f, _, _) if f.name == "optional");
                            let ty = read(value, components, diagnostics, depth + 1, true);
                            out.insert(name, ObjectField { ty, optional });
                        }
                        Type::Object(out)
                    }
                    _ => {
                        diagnostics.push(invalid(
                            argument,
                            "`object(...)` takes the fields in braces.".into(),
                            "write `object({ name = string, port = optional(port) })`".into(),
                        ));
                        Type::Any
                    }
                },
            }
        }
        ExprKind::Template(_) => {
            let text = match &expr.kind {
                ExprKind::Template(parts) => match parts.as_slice() {
                    [TemplatePart::Literal(text)] => text.clone(),
                    _ => String::new(),
                },
                _ => String::new(),
            };
            diagnostics.push(invalid(
                expr,
                format!("A type is written without quotes, but this is the string {text:?}."),
                if text.is_empty() {
                    "write the type bare, e.g. `string`".into()
                } else {
                    format!("write `{text}` without quotes")
                },
            ));
            Type::Any
        }
        _ => {
            diagnostics.push(invalid(
                expr,
                "This expression is not a type.".into(),
                "types are `string`, `number`, `bool`, `any`, `quantity`, `duration`, `port`, a component kind, `list(T)`, `map(T)`, `optional(T)`, `sensitive(T)`, `object({...})`".into(),
            ));
            Type::Any
        }
    }
}
