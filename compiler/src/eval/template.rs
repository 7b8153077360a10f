//! String templates: literal text, `${...}` interpolations and the
//! `%{if}` / `%{for}` directives.
//!
//! As in HCL, a template that is exactly one interpolation (`"${x}"`) is
//! the value itself, whatever its type; otherwise every interpolated value
//! must be a string, a number or a bool (null, lists and objects are errors,
//! E0308). An unknown part makes the whole string unknown; a sensitive part
//! makes it sensitive.

use super::MAX_STRING_BYTES;
use super::{error, not_bool, path_text, type_name, unmark, Context, DiagnosticExt, EvalResult};
use crate::ast::{Expr, TemplatePart};
use crate::codes::Code;
use crate::source::Span;
use crate::value::{format_number, Value};

/// What building a template found so far.
#[derive(Default)]
struct Built {
    text: String,
    unknown: bool,
    sensitive: bool,
}

impl<'r> Context<'r> {
    pub(super) fn template(&mut self, parts: &'r [TemplatePart], span: Span) -> EvalResult {
        if let [TemplatePart::Interpolation(only)] = parts {
            return self.eval(only);
        }
        let mut built = Built::default();
        self.parts(parts, &mut built, span)?;
        let value = if built.unknown { Value::Unknown } else { Value::String(built.text) };
        Ok(super::mark(value, built.sensitive))
    }

    fn parts(&mut self, parts: &'r [TemplatePart], built: &mut Built, span: Span) -> EvalResult<()> {
        if self.depth >= super::MAX_DEPTH {
            return Err(error(
                Code::NestingTooDeep,
                span,
                "This template nests too deeply to evaluate.",
                "nested too deeply",
            ));
        }
        self.depth += 1;
        let result = self.parts_inner(parts, built, span);
        self.depth -= 1;
        result
    }

    fn parts_inner(&mut self, parts: &'r [TemplatePart], built: &mut Built, span: Span) -> EvalResult<()> {
        for part in parts {
            match part {
                TemplatePart::Literal(text) => self.push(built, text, span)?,
                TemplatePart::Interpolation(expr) => {
                    let (value, sensitive) = unmark(self.eval(expr)?);
                    built.sensitive |= sensitive || value.has_sensitive();
                    match value {
                        Value::Unknown => built.unknown = true,
                        Value::String(s) => self.push(built, &s, expr.span)?,
                        Value::Number(n) => self.push(built, &format_number(n), expr.span)?,
                        Value::Bool(b) => self.push(built, if b { "true" } else { "false" }, expr.span)?,
                        other => return Err(interpolation_error(&other, expr)),
                    }
                }
                TemplatePart::If(condition, then, otherwise) => {
                    let (value, sensitive) = unmark(self.eval(condition)?);
                    built.sensitive |= sensitive;
                    match value {
                        Value::Bool(true) => self.parts(then, built, span)?,
                        Value::Bool(false) => self.parts(otherwise, built, span)?,
                        Value::Unknown => built.unknown = true,
                        other => {
                            return Err(not_bool(
                                "The condition of a template `%{if}`",
                                &super::mark(other, sensitive),
                                condition,
                            ))
                        }
                    }
                }
                TemplatePart::For(key_var, value_var, collection, body) => {
                    let value = self.eval(collection)?;
                    let (pairs, sensitive) = match self.iteration(value, collection, "A template `%{for}`")? {
                        Ok(found) => found,
                        Err(_) => {
                            built.unknown = true;
                            continue;
                        }
                    };
                    built.sensitive |= sensitive;
                    for (key, item) in pairs {
                        self.with_bound(key_var.as_deref(), value_var, key, item, |this| {
                            this.parts(body, built, span)
                        })?;
                        if built.unknown {
                            break;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn push(&mut self, built: &mut Built, text: &str, span: Span) -> EvalResult<()> {
        if built.unknown {
            return Ok(());
        }
        self.spend(text.len() as u64 / 64 + 1, span)?;
        if built.text.len() + text.len() > MAX_STRING_BYTES {
            return Err(error(
                Code::FunctionError,
                span,
                format!("This template builds a string longer than {} MiB.", MAX_STRING_BYTES >> 20),
                "string too long",
            ));
        }
        built.text.push_str(text);
        Ok(())
    }
}

fn interpolation_error(value: &Value, expr: &Expr) -> Box<crate::diagnostic::Diagnostic> {
    let name = path_text(expr).map(|p| format!(" `{p}`")).unwrap_or_default();
    let help = match value {
        Value::Null => "give it a value, or write `${coalesce(x, \"\")}`",
        Value::List(_) => "join the elements first: `${join(\", \", x)}`",
        _ => "interpolate one of its attributes, or `${jsonencode(x)}`",
    };
    error(
        Code::InvalidOperand,
        expr.span,
        format!("A template can only insert strings, numbers and bools, but{name} is {}.", type_name(value)),
        &format!("{} in a template", type_name(value)),
    )
    .map_help(help)
}
