//! The type checker: types of variables and params, the values of
//! variables (defaults, `-var`, `--var-file`) and locals, component
//! instances against their component's params, validations, domain types,
//! reference types and the flow of sensitive values.
//!
//! It runs after [`crate::resolve`] on the same trees and evaluates what can
//! be known before apply with the expression evaluator ([`crate::eval`]);
//! values known only after apply (instance outputs, resource attributes)
//! are unknown, and are checked by their static type instead: each
//! expression's type is inferred ([`crate::infer`]) from the declared types
//! of what it names before it is evaluated, and user component bodies,
//! which only expansion evaluates, are type-checked here. Expressions in
//! which resolve already found an error are not evaluated again, and when
//! inference and evaluation both find a problem only one is reported, so one
//! mistake gives one diagnostic.

pub mod domain;
mod flow;
mod roots;
pub mod types;

/// The text of a failed validation's `message`: `(sensitive)` when it was
/// made from a sensitive value (a diagnostic is shown and printed as JSON).
fn validation_message(message: Option<Value>) -> String {
    match message {
        Some(text) if text.has_sensitive() => {
            "(sensitive): the validation's message is not shown because it includes a sensitive value".into()
        }
        Some(text) => {
            text.as_str().map(str::to_string).unwrap_or_else(|| "the validation's condition is false".into())
        }
        None => "the validation's condition is false".into(),
    }
}

/// `text` with every literal part of `value` (as `types::describe` shows
/// strings, numbers and bools) replaced by `(sensitive)`.
fn redact_value(text: &str, value: &Value) -> String {
    fn leaves(value: &Value, out: &mut Vec<String>, depth: usize) {
        if depth > 64 {
            return;
        }
        match value {
            Value::String(s) => {
                out.push(format!("{s:?}"));
                out.push(format!("`{s}`"));
            }
            Value::Number(n) => out.push(format!("`{}`", crate::value::format_number(*n))),
            Value::Bool(b) => out.push(format!("`{b}`")),
            Value::List(items) => items.iter().for_each(|item| leaves(item, out, depth + 1)),
            Value::Object(fields) => fields.values().for_each(|field| leaves(field, out, depth + 1)),
            Value::Sensitive(inner) => leaves(inner, out, depth + 1),
            Value::Null | Value::Unknown => {}
        }
    }
    let mut shown = Vec::new();
    leaves(value, &mut shown, 0);
    // Longest first, so a value inside another is not half-replaced.
    shown.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut text = text.to_string();
    for literal in shown {
        text = text.replace(&literal, "(sensitive)");
    }
    text
}

#[cfg(test)]
mod tests;

use crate::ast::{Block, Expr, ExprKind, File};
use crate::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::eval::Evaluator;
use crate::hash::{FastMap, FastSet};
use crate::hir;
use crate::resolve::{self, name_span, walk, ComponentSymbols, InstanceSymbol, Node, Resolved};
use crate::source::{FileId, Span};
use crate::types::{ObjectField, Type};
use crate::value::Value;
use crate::CheckOptions;
use indexmap::IndexMap;
use roots::{check_roots, Kind, Root, RootTypes, RootValues, ScopedTypes};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;

/// Checks the stack whose files are `stdlib` and `user`. Returns the HIR
/// resolve lowered, annotated with the values of the stack's variables
/// (every declared variable with a value, in declaration order, sensitive
/// ones marked); the caller adds the files.
pub fn check_stack(
    stdlib: &[&File],
    user: &[&File],
    options: &CheckOptions,
    evaluator: &dyn Evaluator,
    diagnostics: &mut Vec<Diagnostic>,
) -> hir::Stack {
    let mut resolved = resolve::resolve(stdlib, user, diagnostics);
    let error_spans: BTreeSet<(FileId, u32, u32)> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| (d.primary.span.file, d.primary.span.start, d.primary.span.end))
        .collect();
    let mut checker = Checker {
        resolved: &resolved,
        evaluator,
        diagnostics,
        error_spans,
        roots: FastMap::default(),
        param_types: FastMap::default(),
        param_defaults: FastMap::default(),
        known_variables: FastSet::default(),
        types: FastMap::default(),
        kind_outputs: FastMap::default(),
        last_type: Type::Any,
        validation_reads: FastMap::default(),
    };
    checker.types();
    let variables = checker.variables(options);
    checker.build_roots(&variables);
    checker.locals();
    checker.variable_validations(&variables);
    checker.instances();
    checker.components();
    checker.outputs();
    checker.resources();
    let mut stack = std::mem::take(&mut resolved.stack);
    stack.variables = variables.into_iter().filter_map(|(name, value)| Some((name, value?))).collect();
    stack
}

struct Checker<'r, 'a> {
    resolved: &'r Resolved<'a>,
    evaluator: &'r dyn Evaluator,
    diagnostics: &'r mut Vec<Diagnostic>,
    /// Where errors were already reported: expressions containing one are not evaluated.
    error_spans: BTreeSet<(FileId, u32, u32)>,
    /// Full values of the stack-level roots (`var`, `local`, kinds, resource types).
    roots: RootValues<'r, 'a>,
    /// (component, param) -> declared type.
    /// (Shared with the HIR: the checker reads a param's type once per instance that sets it.)
    param_types: FastMap<(&'a str, &'a str), Arc<Type>>,
    /// (component, param) -> the default's value, when it has one.
    param_defaults: FastMap<(&'a str, &'a str), Value>,
    /// Variables with a value (given or default).
    known_variables: FastSet<&'a str>,
    /// Static types of the stack-level roots, for type inference.
    types: RootTypes<'r, 'a>,
    /// Each component kind's outputs as an object type (the type of a reference to an instance).
    kind_outputs: FastMap<String, Type>,
    /// The inferred type of the expression evaluated last.
    last_type: Type,
    /// What each param validation's expressions read, by expression.
    validation_reads: FastMap<Span, Rc<ValidationReads<'a>>>,
}

impl<'r, 'a> Checker<'r, 'a> {
    fn report(&mut self, diagnostic: Diagnostic) {
        if diagnostic.is_error() {
            let span = diagnostic.primary.span;
            self.error_spans.insert((span.file, span.start, span.end));
        }
        self.diagnostics.push(diagnostic);
    }

    fn has_error_in(&self, span: Span) -> bool {
        self.error_spans
            .range((span.file, span.start, 0)..=(span.file, span.end, u32::MAX))
            .any(|(_, _, end)| *end <= span.end)
    }

    /// Infers `expr`'s type against `types` (see [`crate::infer`]) and
    /// reports what certainly fails; then, if nothing did, evaluates it with
    /// the given full roots narrowed to what it names and reports the
    /// evaluator's diagnostic. Unknown on error. The inferred type is left
    /// in `last_type`.
    fn evaluate_in(&mut self, expr: &Expr, roots: &RootValues<'r, 'a>, types: &RootTypes<'r, 'a>) -> Value {
        let (outcome, ty) = self.infer_and_evaluate(expr, roots, types);
        self.last_type = ty;
        self.settle(outcome)
    }

    /// What [`Checker::evaluate_in`] computes before it reports: the
    /// evaluation's result, inference's diagnostics and the inferred type
    /// (`None`, `Any`: not evaluated, the expression has an error). Needs
    /// only `&self`, so the checker's own roots can be lent to it.
    fn infer_and_evaluate(
        &self,
        expr: &Expr,
        roots: &RootValues<'r, 'a>,
        types: &RootTypes<'r, 'a>,
    ) -> (Option<Outcome>, Type) {
        if self.has_error_in(expr.span) {
            return (None, Type::Any);
        }
        let mut found = Vec::new();
        let scoped = ScopedTypes { roots: types, kinds: &self.kind_outputs };
        let ty = crate::infer::infer(expr, &scoped, &mut found);
        let evaluated = self.evaluator.evaluate(expr, &check_roots(expr, roots));
        (Some((evaluated, found)), ty)
    }

    /// Reports what [`Checker::infer_and_evaluate`] found; the value, or
    /// unknown on error.
    fn settle(&mut self, outcome: Option<Outcome>) -> Value {
        match outcome {
            None => Value::Unknown,
            // Evaluation's error names the values; inference's says the
            // same about types (or about a branch evaluation did not take),
            // so report one of them.
            Some((Err(diagnostic), _)) => {
                self.report(diagnostic);
                Value::Unknown
            }
            Some((Ok(_), found)) if !found.is_empty() => {
                for diagnostic in found {
                    self.report(diagnostic);
                }
                Value::Unknown
            }
            Some((Ok(value), _)) => value,
        }
    }

    /// Evaluates without reporting (for conditions of validations written by others).
    fn evaluate_quietly(&self, expr: &Expr, roots: &RootValues<'r, 'a>) -> Option<Value> {
        self.evaluator.evaluate(expr, &check_roots(expr, roots)).ok()
    }

    /// [`Checker::evaluate_in`] against the checker's own roots (lent, not
    /// moved out and back: that built two empty maps per expression).
    fn evaluate(&mut self, expr: &Expr) -> Value {
        let (outcome, ty) = self.infer_and_evaluate(expr, &self.roots, &self.types);
        self.last_type = ty;
        self.settle(outcome)
    }

    // ----- types -----

    /// Takes the declared types lowering read (see `resolve/lower.rs`; what
    /// is wrong with them it reported) and checks the params' defaults. The
    /// variables' and outputs' types are read from the HIR where needed.
    fn types(&mut self) {
        let symbols = &self.resolved.symbols;
        let stack = &self.resolved.stack;
        let mut defaults = Vec::new();
        for component in symbols.components.values() {
            let Some(decl) = stack.components.get(component.name) else { continue };
            for (param, block) in &component.params {
                let ty = decl.params.get(*param).map_or_else(|| Arc::new(Type::Any), |p| p.ty.clone());
                if let Some(default) = block.body.attribute("default") {
                    defaults.push((component.name, *param, default, Type::clone(&ty)));
                }
                self.param_types.insert((component.name, param), ty);
            }
            let outputs = decl
                .output_types
                .iter()
                .map(|(name, ty)| (name.clone(), ObjectField { ty: ty.clone(), optional: false }))
                .collect();
            self.kind_outputs.insert(component.name.to_string(), Type::Object(outputs));
        }
        let empty = RootValues::default();
        for (component, param, default, ty) in defaults {
            let value = self.evaluate_in(&default.value, &empty, &RootTypes::default());
            match types::conform(&value, &ty) {
                Ok(value) => {
                    self.param_defaults.insert((component, param), value);
                }
                Err(mismatch) => {
                    let span = locate(&default.value, &mismatch.path);
                    self.report(invalid_default(&format!("parameter `{param}`"), &ty, &mismatch, span));
                }
            }
        }
    }

    // ----- variables -----

    /// Every declared variable's value (`None` when it has none), in declaration order.
    fn variables(&mut self, options: &CheckOptions) -> IndexMap<String, Option<Value>> {
        let symbols = &self.resolved.symbols;
        let mut given: IndexMap<&str, &Value> = IndexMap::new();
        for (name, value) in &options.variables {
            given.insert(name, value);
        }
        for name in given.keys() {
            if !symbols.variables.contains_key(name) {
                let help = did_you_mean(name, symbols.variables.keys().copied()).unwrap_or_else(|| {
                    format!("declare it with `variable \"{name}\" {{}}`, or drop the value")
                });
                let span = symbols
                    .variables
                    .values()
                    .next()
                    .map(|b| name_span(b))
                    .or_else(|| self.resolved.symbols.all_instances().next().map(|i| name_span(i.block)))
                    .unwrap_or(Span { file: crate::source::FileId(0), start: 0, end: 0 });
                let declared = !symbols.variables.is_empty();
                let diagnostic = Diagnostic::new(
                    Code::InvalidVariableValue,
                    span,
                    format!("A value was given for `{name}` (with -var or --var-file), but the stack declares no variable `{name}`."),
                )
                .with_label(if declared { "the stack's variables start here" } else { "this stack" })
                .with_help(help);
                self.report(diagnostic);
            }
        }
        let mut out = IndexMap::new();
        let variables: Vec<(&'a str, &'a Block)> = symbols.variables.iter().map(|(k, v)| (*k, *v)).collect();
        let empty = RootValues::default();
        for (name, block) in variables {
            let ty = self.resolved.stack.variable_types.get(name).cloned().unwrap_or(Type::Any);
            let sensitive = ty.is_sensitive();
            let default = block.body.attribute("default");
            let mut value = None;
            if let Some(given) = given.get(name) {
                match types::conform(given, &ty) {
                    Ok(v) => value = Some(v),
                    Err(mismatch) => {
                        let shown = if sensitive {
                            "The value".to_string()
                        } else {
                            format!("The value {}", types::describe(given))
                        };
                        let at = if mismatch.path.is_empty() {
                            String::new()
                        } else {
                            format!(" (at `{}`)", mismatch.path_text())
                        };
                        let (problem, help) = if sensitive {
                            (
                                redact_value(&mismatch.message, given),
                                mismatch.help.as_deref().map(|help| redact_value(help, given)),
                            )
                        } else {
                            (mismatch.message.clone(), mismatch.help.clone())
                        };
                        let mut diagnostic = Diagnostic::new(
                            Code::InvalidVariableValue,
                            name_span(block),
                            format!(
                                "{shown} given for `{name}` does not fit its type `{ty}`{at}: {problem}."
                            ),
                        )
                        .with_label(format!("declared with type `{ty}`"));
                        if let Some(attribute) = block.body.attribute("type") {
                            diagnostic = diagnostic.with_secondary(attribute.value.span, "the type");
                        }
                        self.report(
                            diagnostic
                                .with_help(help.unwrap_or_else(|| format!("pass a value of type `{ty}`"))),
                        );
                    }
                }
            }
            if let Some(default) = default {
                let default_value = self.evaluate_in(&default.value, &empty, &RootTypes::default());
                match types::conform(&default_value, &ty) {
                    Ok(v) => {
                        if value.is_none() && !given.contains_key(name) {
                            value = Some(v);
                        }
                    }
                    Err(mismatch) => {
                        let span = locate(&default.value, &mismatch.path);
                        self.report(invalid_default(&format!("variable `{name}`"), &ty, &mismatch, span));
                    }
                }
            } else if !given.contains_key(name) && !self.resolved.malformed.contains(&block.span) {
                self.report(
                    Diagnostic::new(
                        Code::VariableNotSet,
                        name_span(block),
                        format!("The variable `{name}` has no default and no value was given."),
                    )
                    .with_label("no value")
                    .with_help(format!(
                        "pass `-var {name}=...` or a `--var-file`, or add `default = ...` to the variable"
                    )),
                );
            }
            if value.is_some() {
                self.known_variables.insert(name);
            }
            let value = value.map(|v| if sensitive { v.into_sensitive() } else { v });
            out.insert(name.to_string(), value);
        }
        out
    }

    fn variable_validations(&mut self, variables: &IndexMap<String, Option<Value>>) {
        let symbols = &self.resolved.symbols;
        let entries: Vec<(&'a str, &'a Block)> = symbols.variables.iter().map(|(k, v)| (*k, *v)).collect();
        for (name, block) in entries {
            let Some(Some(value)) = variables.get(name) else { continue };
            if value.has_unknown() {
                continue;
            }
            for validation in block.body.blocks_of("validation") {
                let (Some(condition), Some(message)) =
                    (validation.body.attribute("condition"), validation.body.attribute("message"))
                else {
                    continue;
                };
                if self.has_error_in(validation.span) {
                    continue;
                }
                let roots = std::mem::take(&mut self.roots);
                let types = std::mem::take(&mut self.types);
                let result = self.evaluate_in(&condition.value, &roots, &types);
                let text = self.evaluate_quietly(&message.value, &roots);
                self.roots = roots;
                self.types = types;
                match result.as_bool() {
                    Some(true) => {}
                    Some(false) => {
                        let text = validation_message(text);
                        let given = block.body.attribute("default").is_none_or(|d| {
                            // A default that does not give this value means the value was given.
                            Some(
                                &self
                                    .evaluate_quietly(&d.value, &RootValues::default())
                                    .unwrap_or(Value::Unknown),
                            ) != Some(&value.unmarked())
                        });
                        let (span, label) = match block.body.attribute("default") {
                            Some(default) if !given => {
                                (default.value.span, "the default fails the validation".to_string())
                            }
                            _ if value.has_sensitive() => {
                                (name_span(block), "the value given fails the validation".to_string())
                            }
                            _ => {
                                (name_span(block), format!("the value given, {value}, fails the validation"))
                            }
                        };
                        self.report(
                            Diagnostic::new(
                                Code::ValidationFailed,
                                span,
                                format!("Invalid value for `var.{name}`: {text}"),
                            )
                            .with_label(label)
                            .with_secondary(condition.value.span, "this condition is false")
                            .with_help(format!("give `{name}` a value for which the condition holds")),
                        );
                    }
                    None if matches!(result, Value::Unknown | Value::Null) || result.has_unknown() => {}
                    None => {
                        self.report(
                            Diagnostic::new(
                                Code::ConditionNotBool,
                                condition.value.span,
                                format!(
                                    "A validation condition must be a bool, but this one is {}.",
                                    types::describe(&result)
                                ),
                            )
                            .with_label("not a bool")
                            .with_help("write a comparison or a bool expression, e.g. `var.x >= 2`"),
                        );
                    }
                }
            }
        }
    }

    // ----- roots -----

    fn build_roots(&mut self, variables: &IndexMap<String, Option<Value>>) {
        let symbols = &self.resolved.symbols;
        let var: stackc_model::Fields = variables
            .iter()
            .map(|(name, value)| {
                let value = value.clone().unwrap_or_else(|| {
                    let sensitive =
                        self.resolved.stack.variable_types.get(name.as_str()).is_some_and(Type::is_sensitive);
                    if sensitive {
                        Value::Unknown.into_sensitive()
                    } else {
                        Value::Unknown
                    }
                });
                (name.clone(), value)
            })
            .collect();
        self.roots.insert("var".into(), Root::Whole(Value::Object(var)));
        // Each instance of a kind is its outputs (see `roots`).
        for (kind, by_name) in &symbols.instances {
            let Some(component) = symbols.components.get(kind) else { continue };
            let mut root = Kind::new(instance_outputs(component));
            root.instances = Some(by_name);
            self.roots.insert(kind.to_string(), Root::Kind(root));
        }
        if let Some(network) = symbols.components.get("network") {
            let outputs = instance_outputs(network);
            let entry =
                self.roots.entry("network".into()).or_insert_with(|| Root::Kind(Kind::new(outputs.clone())));
            match entry {
                Root::Kind(kind) => kind.main = true,
                Root::Whole(Value::Object(fields)) => {
                    fields.entry("main".into()).or_insert(outputs);
                }
                Root::Whole(_) => {}
            }
        }
        for (type_name, by_name) in &symbols.resources {
            let object: stackc_model::Fields =
                by_name.keys().map(|n| (n.to_string(), Value::Unknown)).collect();
            self.roots.insert(type_name.to_string(), Root::Whole(Value::Object(object)));
        }
        self.roots.insert("local".into(), Root::Whole(Value::Object(Default::default())));

        // The same roots' static types: declared types where there are some.
        let var_types: IndexMap<String, ObjectField> = variables
            .keys()
            .map(|name| {
                let ty = self.resolved.stack.variable_types.get(name.as_str()).cloned().unwrap_or(Type::Any);
                (name.clone(), ObjectField { ty, optional: false })
            })
            .collect();
        self.types.insert("var".into(), Root::Whole(Type::Object(var_types)));
        for (kind, by_name) in &symbols.instances {
            let Some(outputs) = self.kind_outputs.get(*kind) else { continue };
            let mut root = Kind::new(outputs.clone());
            root.instances = Some(by_name);
            self.types.insert(kind.to_string(), Root::Kind(root));
        }
        if let Some(outputs) = self.kind_outputs.get("network").cloned() {
            let entry =
                self.types.entry("network".into()).or_insert_with(|| Root::Kind(Kind::new(outputs.clone())));
            match entry {
                Root::Kind(kind) => kind.main = true,
                Root::Whole(Type::Object(fields)) => {
                    fields.entry("main".into()).or_insert(ObjectField { ty: outputs, optional: false });
                }
                Root::Whole(_) => {}
            }
        }
        // Every local is there from the start (as `any` until inferred), so
        // one in a cycle or with an error is no missing attribute.
        let locals: IndexMap<String, ObjectField> = symbols
            .locals
            .keys()
            .map(|name| (name.to_string(), ObjectField { ty: Type::Any, optional: false }))
            .collect();
        self.types.insert("local".into(), Root::Whole(Type::Object(locals)));
    }

    /// The static types of a component body's roots: `param`, `self`.
    fn component_types(&self, component: &ComponentSymbols<'a>) -> RootTypes<'r, 'a> {
        let params: IndexMap<String, ObjectField> = component
            .params
            .keys()
            .map(|name| {
                let ty =
                    self.param_types.get(&(component.name, *name)).map_or(Type::Any, |ty| Type::clone(ty));
                (name.to_string(), ObjectField { ty, optional: false })
            })
            .collect();
        let mut types = RootTypes::default();
        types.insert("param".to_string(), Root::Whole(Type::Object(params)));
        types.insert(
            "self".to_string(),
            Root::Whole(Type::Object(
                resolve::SELF_ATTRIBUTES
                    .iter()
                    .map(|a| match *a {
                        "autoscaled_replicas" => {
                            (a.to_string(), ObjectField { ty: Type::Number, optional: true })
                        }
                        "rollout" => (
                            a.to_string(),
                            ObjectField {
                                ty: Type::Object(
                                    ["weight", "canary"]
                                        .into_iter()
                                        .map(|f| {
                                            (f.to_string(), ObjectField { ty: Type::Number, optional: false })
                                        })
                                        .collect(),
                                ),
                                optional: true,
                            },
                        ),
                        _ => (a.to_string(), ObjectField { ty: Type::String, optional: false }),
                    })
                    .collect(),
            )),
        );
        types.insert("count".into(), Root::Whole(repetition_type("index", Type::Number)));
        types.insert("each".into(), Root::Whole(each_type()));
        if let Some(outputs) = self.kind_outputs.get("network") {
            types.insert("network".into(), Root::Whole(outputs.clone()));
        }
        types
    }

    // ----- locals -----

    /// Evaluates locals in dependency order (those in cycles stay unknown).
    fn locals(&mut self) {
        let symbols = &self.resolved.symbols;
        let mut depends: FastMap<&str, Vec<&str>> = FastMap::default();
        for (from, to, _) in &self.resolved.dependencies {
            if let (Node::Local(a), Node::Local(b)) = (from, to) {
                depends.entry(a).or_default().push(b);
            }
        }
        let mut order: Vec<&'a str> = Vec::new();
        let mut state: FastMap<&str, u8> = FastMap::default(); // 1 visiting, 2 done
        let mut in_cycle: FastSet<&str> = FastSet::default();
        for name in symbols.locals.keys() {
            // Iterative depth-first post-order.
            let mut stack: Vec<(&str, usize)> = vec![(name, 0)];
            while let Some((current, next)) = stack.pop() {
                if next == 0 {
                    match state.get(current) {
                        Some(2) => continue,
                        Some(1) => {
                            in_cycle.insert(current);
                            continue;
                        }
                        _ => {
                            state.insert(current, 1);
                        }
                    }
                }
                let children = depends.get(current).map(Vec::as_slice).unwrap_or(&[]);
                if next < children.len() {
                    stack.push((current, next + 1));
                    let child = children[next];
                    match state.get(child) {
                        Some(1) => {
                            in_cycle.insert(child);
                        }
                        Some(2) => {}
                        _ => stack.push((child, 0)),
                    }
                } else {
                    state.insert(current, 2);
                    if let Some((key, _)) = symbols.locals.get_key_value(current) {
                        order.push(key);
                    }
                }
            }
        }
        for name in order {
            let Some(attribute) = symbols.locals.get(name) else { continue };
            let value =
                if in_cycle.contains(name) { Value::Unknown } else { self.evaluate(&attribute.value) };
            if let Some(Root::Whole(Value::Object(locals))) = self.roots.get_mut("local") {
                locals.insert(name.to_string(), value);
            }
            let ty = std::mem::replace(&mut self.last_type, Type::Any);
            if let Some(Root::Whole(Type::Object(locals))) = self.types.get_mut("local") {
                locals.insert(name.to_string(), ObjectField { ty, optional: false });
            }
        }
    }

    // ----- instances -----

    fn instances(&mut self) {
        let instances: Vec<InstanceSymbol<'a>> = self.resolved.symbols.all_instances().copied().collect();
        for instance in instances {
            self.instance(&instance);
        }
    }

    fn instance(&mut self, instance: &InstanceSymbol<'a>) {
        let Some(component) = self.resolved.symbols.components.get(instance.kind) else { return };
        let block = instance.block;
        // Sized for every param the block could set: one allocation each.
        let settable = block.body.attributes.len() + block.body.blocks.len();
        let mut params: FastMap<&'a str, Value> =
            FastMap::with_capacity_and_hasher(settable, Default::default());
        let mut set: FastMap<&'a str, Span> = FastMap::with_capacity_and_hasher(settable, Default::default());
        for attribute in &block.body.attributes {
            let name = attribute.name.name.as_str();
            let Some(ty) = self.param_types.get(&(component.name, name)).cloned() else { continue };
            let value = self.param_value(instance, name, &ty, Source::Expr(&attribute.value));
            params.insert(name, value);
            set.insert(name, attribute.value.span);
        }
        for inner in &block.body.blocks {
            let name = inner.kind.name.as_str();
            let Some(ty) = self.param_types.get(&(component.name, name)).cloned() else { continue };
            if params.contains_key(name) || !matches!(ty.base(), Type::Object(_) | Type::Any) {
                continue;
            }
            let value = self.param_value(instance, name, &ty, Source::Block(inner));
            params.insert(name, value);
            set.insert(name, inner.kind.span);
        }
        if self.resolved.malformed.contains(&block.span) {
            return;
        }
        self.param_validations(component, instance, &params, &set);
    }

    /// Evaluates and checks one param's value; returns it (unknown when it cannot be known).
    fn param_value(
        &mut self,
        instance: &InstanceSymbol<'a>,
        name: &str,
        ty: &Type,
        source: Source<'a>,
    ) -> Value {
        let value = match source {
            Source::Expr(expr) => {
                self.reference_kinds(expr, ty, name, None);
                self.evaluate(expr)
            }
            Source::Block(block) => self.block_value(block, 0),
        };
        if source_has_error(self, source) {
            return Value::Unknown;
        }
        // A value known only after apply is checked by its type.
        if let (Source::Expr(expr), Value::Unknown) = (source, crate::eval::unmarked_top(&value)) {
            let found = std::mem::replace(&mut self.last_type, Type::Any);
            if !types::compatible(&found, ty) {
                let shown = crate::eval::path_text(expr)
                    .map(|p| format!("`{p}`"))
                    .unwrap_or_else(|| "the value".into());
                let mut diagnostic = Diagnostic::new(
                    Code::TypeMismatch,
                    expr.span,
                    format!(
                        "Invalid value for `{name}` of `{}.{}`: expected `{ty}`, but {shown} is of type `{found}` (its value is known only after apply).",
                        instance.kind, instance.name
                    ),
                )
                .with_label(format!("`{found}`, not `{}`", ty.base()));
                if let Some(type_attribute) = self
                    .resolved
                    .symbols
                    .components
                    .get(instance.kind)
                    .and_then(|c| c.params.get(name))
                    .and_then(|p| p.body.attribute("type"))
                {
                    diagnostic =
                        diagnostic.with_secondary(type_attribute.value.span, "parameter type declared here");
                }
                self.report(diagnostic);
                return Value::Unknown;
            }
        }
        let (converted, mismatches) = types::conform_all(value, ty);
        let failed = !mismatches.is_empty();
        for mismatch in mismatches {
            let span = if mismatch.unknown_field {
                source.locate_key(&mismatch.path)
            } else {
                source.locate(&mismatch.path)
            };
            let owner_path = if mismatch.unknown_field {
                &mismatch.path[..mismatch.path.len() - 1]
            } else {
                &mismatch.path[..]
            };
            let field = if owner_path.is_empty() {
                format!("`{name}`")
            } else {
                let mut owner = mismatch.clone();
                owner.path = owner_path.to_vec();
                format!("`{name}.{}`", owner.path_text())
            };
            let message = format!(
                "Invalid value for {field} of `{}.{}`: {}.",
                instance.kind, instance.name, mismatch.message
            );
            let label = match mismatch.code {
                Code::InvalidPort => "not a valid port".to_string(),
                Code::InvalidQuantity => "not a valid quantity".to_string(),
                Code::InvalidDuration => "not a valid duration".to_string(),
                _ if mismatch.unknown_field => "no such field".to_string(),
                _ if mismatch.message.starts_with("the required field") => {
                    "a required field is missing".to_string()
                }
                _ => format!("expected `{}`", field_type(ty, &mismatch.path)),
            };
            let mut diagnostic = Diagnostic::new(mismatch.code, span, message).with_label(label);
            if let Some(help) = &mismatch.help {
                diagnostic = diagnostic.with_help(help.clone());
            }
            if let Some(param) =
                self.resolved.symbols.components.get(instance.kind).and_then(|c| c.params.get(name))
            {
                if let Some(type_attribute) = param.body.attribute("type") {
                    diagnostic =
                        diagnostic.with_secondary(type_attribute.value.span, "parameter type declared here");
                }
            }
            self.report(diagnostic);
        }
        if failed {
            return Value::Unknown;
        }
        if !ty.is_sensitive() && !types::has_reference(ty) && converted.has_sensitive() {
            let path = flow::sensitive_path(&converted).unwrap_or_default();
            let span = source.locate(&path);
            self.report(
                Diagnostic::new(
                    Code::SensitiveToPlain,
                    span,
                    format!(
                        "A sensitive value flows into `{name}` of `{}.{}`, whose type `{ty}` is not sensitive.",
                        instance.kind, instance.name
                    ),
                )
                .with_label("sensitive value")
                .with_help(flow::plain_help(instance.kind, name)),
            );
        }
        converted
    }

    /// The value of an object param written as a block.
    fn block_value(&mut self, block: &'a Block, depth: usize) -> Value {
        let mut fields = stackc_model::Fields::default();
        for attribute in &block.body.attributes {
            let value = self.evaluate(&attribute.value);
            fields.insert(attribute.name.name.clone(), value);
        }
        if depth < walk::MAX_DEPTH {
            for inner in &block.body.blocks {
                let value = self.block_value(inner, depth + 1);
                fields.insert(inner.kind.name.clone(), value);
            }
        }
        Value::Object(fields)
    }

    fn param_validations(
        &mut self,
        component: &ComponentSymbols<'a>,
        instance: &InstanceSymbol<'a>,
        given: &FastMap<&'a str, Value>,
        set: &FastMap<&'a str, Span>,
    ) {
        for (name, span) in set {
            let Some(param) = component.params.get(name) else { continue };
            for validation in param.body.blocks_of("validation") {
                let (Some(condition), Some(message)) =
                    (validation.body.attribute("condition"), validation.body.attribute("message"))
                else {
                    continue;
                };
                if self.has_error_in(*span) {
                    continue;
                }
                let reads = self.validation_reads(component, &condition.value);
                let roots = self.validation_roots(component, instance, given, &reads);
                if let Some(Value::Bool(false)) =
                    self.evaluate_quietly(&condition.value, &roots).map(|v| v.unmarked())
                {
                    let reads = self.validation_reads(component, &message.value);
                    let roots = self.validation_roots(component, instance, given, &reads);
                    let text = validation_message(self.evaluate_quietly(&message.value, &roots));
                    self.report(
                        Diagnostic::new(
                            Code::ValidationFailed,
                            *span,
                            format!(
                                "Invalid value for `{name}` of `{}.{}`: {text}",
                                instance.kind, instance.name
                            ),
                        )
                        .with_label("fails the parameter's validation")
                        .with_secondary(condition.value.span, "this condition is false")
                        .with_help(format!("change `{name}` so that the condition holds")),
                    );
                }
            }
        }
    }

    /// What a param validation's `expr` reads (see [`ValidationReads`]),
    /// found once per expression rather than once per instance.
    fn validation_reads(
        &mut self,
        component: &ComponentSymbols<'a>,
        expr: &'a Expr,
    ) -> Rc<ValidationReads<'a>> {
        if let Some(reads) = self.validation_reads.get(&expr.span) {
            return reads.clone();
        }
        let mut reads = ValidationReads::default();
        for path in walk::references(expr) {
            match (path.root.name.as_str(), path.name_at(0)) {
                ("param", Some(member))
                    if component.params.contains_key(member.name.as_str())
                        && !reads.params.contains(&member.name.as_str()) =>
                {
                    reads.params.push(&member.name);
                }
                ("param", None) => reads.whole = true,
                ("self", _) => reads.reads_self = true,
                _ => {}
            }
        }
        let reads = Rc::new(reads);
        self.validation_reads.insert(expr.span, reads.clone());
        reads
    }

    /// The roots a param validation's expression (which `reads` what is
    /// said there) sees: `param` (each param's value: given, else its
    /// default, else null) and `self`. Built with only the params it names
    /// (all of them when it names `param` whole): a validation reads one or
    /// two of an instance's params, and building the others for every
    /// instance was most of the check's work. A name that is no param is
    /// left out, so it is unknown, as narrowing the whole `param` object
    /// would make it.
    fn validation_roots(
        &self,
        component: &ComponentSymbols<'a>,
        instance: &InstanceSymbol<'a>,
        given: &FastMap<&'a str, Value>,
        reads: &ValidationReads<'a>,
    ) -> RootValues<'r, 'a> {
        let value_of = |name: &str| match given.get(name) {
            Some(value) => value.clone(),
            None => self.param_defaults.get(&(component.name, name)).cloned().unwrap_or(Value::Null),
        };
        let params: stackc_model::Fields = if reads.whole {
            component.params.keys().map(|name| (name.to_string(), value_of(name))).collect()
        } else {
            reads.params.iter().map(|name| (name.to_string(), value_of(name))).collect()
        };
        let mut roots = RootValues::default();
        roots.insert("param".to_string(), Root::Whole(Value::Object(params)));
        if reads.reads_self {
            roots.insert(
                "self".to_string(),
                Root::Whole(Value::Object(stackc_model::Fields::from_iter([
                    ("name".to_string(), Value::string(instance.name)),
                    ("dns_name".to_string(), Value::string(crate::resolve::dns_name(instance.name))),
                    ("target".to_string(), Value::Unknown),
                    ("stack".to_string(), Value::Unknown),
                    ("autoscaled_replicas".to_string(), Value::Unknown),
                    ("rollout".to_string(), Value::Unknown),
                ]))),
            );
        }
        roots
    }

    /// Reference types: a param of type `service` takes `service.<name>`
    /// (or, inside a component, a `param` of that type); a string, a number
    /// or another kind's instance is E0306. Lists and maps of references are
    /// checked element by element when written literally.
    /// `param` names the parameter, for messages.
    fn reference_kinds(
        &mut self,
        expr: &Expr,
        ty: &Type,
        param: &str,
        component: Option<&ComponentSymbols<'a>>,
    ) {
        self.reference_kinds_at(expr, ty, param, component, 0);
    }

    fn reference_kinds_at(
        &mut self,
        expr: &Expr,
        ty: &Type,
        param: &str,
        component: Option<&ComponentSymbols<'a>>,
        depth: usize,
    ) {
        if depth > walk::MAX_DEPTH || self.has_error_in(expr.span) {
            return;
        }
        let expr = strip_parens(expr);
        match ty.base() {
            Type::Ref(kind) => {
                if matches!(expr.kind, ExprKind::Null) {
                    return;
                }
                let found = self.reference_kind(expr, component);
                match found {
                    Some(Found::Kind(found)) if found == *kind => {}
                    Some(Found::Kind(found)) => self.report(
                        Diagnostic::new(
                            Code::WrongReferenceKind,
                            expr.span,
                            format!("`{param}` takes a reference to a `{kind}`, but this is a `{found}`."),
                        )
                        .with_label(format!("a `{found}`, not a `{kind}`"))
                        .with_help(self.kind_help(kind)),
                    ),
                    Some(Found::Unknown) => {}
                    None => self.report(
                        Diagnostic::new(
                            Code::WrongReferenceKind,
                            expr.span,
                            format!("`{param}` takes a reference to a `{kind}` instance, written `{kind}.<name>`; this is not one."),
                        )
                        .with_label(format!("not a reference to a `{kind}`"))
                        .with_help(self.kind_help(kind)),
                    ),
                }
            }
            Type::List(element) => {
                if let ExprKind::List(items) = &expr.kind {
                    for item in items {
                        self.reference_kinds_at(item, element, param, component, depth + 1);
                    }
                }
            }
            Type::Map(element) => {
                if let ExprKind::Object(fields) = &expr.kind {
                    for (_, value) in fields {
                        self.reference_kinds_at(value, element, param, component, depth + 1);
                    }
                }
            }
            Type::Object(declared) => {
                if let ExprKind::Object(fields) = &expr.kind {
                    for (key, value) in fields {
                        if let Some(field) = key.key_name().and_then(|k| declared.get(&k)) {
                            self.reference_kinds_at(value, &field.ty, param, component, depth + 1);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn kind_help(&self, kind: &str) -> String {
        match self.resolved.symbols.instances.get(kind).and_then(|n| n.keys().next()) {
            Some(name) => format!("write a `{kind}` reference such as `{kind}.{name}`"),
            None => format!("declare a `{kind} \"<name>\" {{ ... }}` and write `{kind}.<name>`"),
        }
    }

    /// The component kind an expression refers to: `Some(Kind)` for a
    /// reference to an instance (or a reference-typed `param`), `Some(Unknown)`
    /// when it cannot be told statically, `None` when it is certainly no reference.
    fn reference_kind(&self, expr: &Expr, component: Option<&ComponentSymbols<'a>>) -> Option<Found> {
        match &expr.kind {
            ExprKind::Null | ExprKind::Bool(_) | ExprKind::Number(_) | ExprKind::Template(_) => {
                if let ExprKind::Template(parts) = &expr.kind {
                    if parts.len() == 1 && matches!(parts[0], crate::ast::TemplatePart::Interpolation(_)) {
                        return Some(Found::Unknown);
                    }
                }
                None
            }
            ExprKind::List(_) | ExprKind::Object(_) | ExprKind::Binary(..) | ExprKind::Unary(..) => None,
            _ => {
                let Some(path) = expr.as_path() else { return Some(Found::Unknown) };
                let root = path[0].name.as_str();
                match (root, path.len()) {
                    ("param", 2) => {
                        let component = component?;
                        match self
                            .param_types
                            .get(&(component.name, path[1].name.as_str()))
                            .map(|ty| ty.base())
                        {
                            Some(Type::Ref(kind)) => Some(Found::Kind(kind.clone())),
                            Some(Type::Any) | None => Some(Found::Unknown),
                            Some(_) => None,
                        }
                    }
                    (kind, 2) if self.resolved.symbols.components.contains_key(kind) => {
                        Some(Found::Kind(kind.to_string()))
                    }
                    (kind, n) if n > 2 && self.resolved.symbols.components.contains_key(kind) => {
                        // An output of an instance: a plain value, unless typed as a
                        // reference (its type as `types` read it).
                        let output = match self.kind_outputs.get(kind) {
                            Some(Type::Object(outputs)) => outputs.get(path[2].name.as_str()).map(|o| &o.ty),
                            _ => None,
                        };
                        match output {
                            Some(Type::Ref(kind)) if n == 3 => Some(Found::Kind(kind.clone())),
                            Some(Type::Any) | None => Some(Found::Unknown),
                            _ => None,
                        }
                    }
                    _ => Some(Found::Unknown),
                }
            }
        }
    }

    // ----- component bodies -----

    /// User components: nested instances' reference kinds, sensitive
    /// outputs; evaluated with unknown params so static errors (unknown
    /// functions, wrong argument counts, operators on literals) surface.
    fn components(&mut self) {
        let components: Vec<&ComponentSymbols<'a>> = self
            .resolved
            .symbols
            .components
            .values()
            .filter(|c| c.origin == crate::source::Origin::User)
            .collect();
        for component in components {
            let mut params = stackc_model::Fields::default();
            for name in component.params.keys() {
                let sensitive =
                    self.param_types.get(&(component.name, *name)).is_some_and(|ty| ty.is_sensitive());
                params.insert(
                    name.to_string(),
                    if sensitive { Value::Unknown.into_sensitive() } else { Value::Unknown },
                );
            }
            let mut roots = RootValues::default();
            roots.insert("param".to_string(), Root::Whole(Value::Object(params)));
            roots.insert(
                "self".to_string(),
                Root::Whole(Value::Object(
                    resolve::SELF_ATTRIBUTES.iter().map(|a| (a.to_string(), Value::Unknown)).collect(),
                )),
            );
            roots.insert(
                "target".to_string(),
                Root::Whole(Value::Object(
                    crate::resolve::TARGET_ATTRIBUTES
                        .iter()
                        .map(|a| (a.to_string(), Value::Unknown))
                        .collect(),
                )),
            );
            let types = self.component_types(component);
            let outputs: Vec<&'a Block> = component.outputs.values().copied().collect();
            for output in component
                .block
                .body
                .blocks_of("output")
                .chain(component.on.values().flat_map(|on| on.body.blocks_of("output")))
            {
                let Some(value) = output.body.attribute("value") else { continue };
                let value = self.evaluate_in(&value.value, &roots, &types);
                let declared = outputs
                    .iter()
                    .filter(|o| o.labels.first().map(|l| &l.name) == output.labels.first().map(|l| &l.name))
                    .any(|o| resolve::block_is_sensitive(o));
                if value.has_sensitive() && !resolve::block_is_sensitive(output) && !declared {
                    self.sensitive_output(output);
                }
            }
            for on in component.on.values() {
                for block in &on.body.blocks {
                    // Resource bodies and nested instances are evaluated only by
                    // expansion; their types are checked here, before.
                    if block.kind.name != "output" {
                        self.infer_body(&block.body, &types, 0);
                    }
                    let Some(nested) = self.resolved.symbols.components.get(block.kind.name.as_str()) else {
                        continue;
                    };
                    for attribute in &block.body.attributes {
                        let Some(ty) =
                            self.param_types.get(&(nested.name, attribute.name.name.as_str())).cloned()
                        else {
                            continue;
                        };
                        self.reference_kinds(&attribute.value, &ty, &attribute.name.name, Some(component));
                    }
                }
            }
        }
    }

    /// Type inference over every attribute of a body (and its nested
    /// blocks), reporting what certainly fails.
    fn infer_body(&mut self, body: &'a crate::ast::Body, types: &RootTypes<'r, 'a>, depth: usize) {
        if depth > walk::MAX_DEPTH {
            return;
        }
        for attribute in &body.attributes {
            if self.has_error_in(attribute.value.span) {
                continue;
            }
            let mut found = Vec::new();
            let scoped = ScopedTypes { roots: types, kinds: &self.kind_outputs };
            crate::infer::infer(&attribute.value, &scoped, &mut found);
            for diagnostic in found {
                self.report(diagnostic);
            }
        }
        for block in &body.blocks {
            self.infer_body(&block.body, types, depth + 1);
        }
    }

    // ----- outputs -----

    fn outputs(&mut self) {
        let outputs: Vec<&'a Block> = self.resolved.symbols.outputs.values().copied().collect();
        for output in outputs {
            let Some(value) = output.body.attribute("value") else { continue };
            let evaluated = self.evaluate(&value.value);
            let name = output.labels.first().map_or("", |l| l.name.as_str());
            if let Some(ty) = self.resolved.stack.output_types.get(name).cloned() {
                if let Err(mismatch) = types::conform(&evaluated, &ty) {
                    let at = if mismatch.path.is_empty() {
                        String::new()
                    } else {
                        format!(" (at `{}`)", mismatch.path_text())
                    };
                    let mut diagnostic = Diagnostic::new(
                        mismatch.code,
                        locate(&value.value, &mismatch.path),
                        format!(
                            "The value of output `{name}` does not fit its type `{ty}`{at}: {}.",
                            mismatch.message
                        ),
                    )
                    .with_label(format!("expected `{}`", field_type(&ty, &mismatch.path)));
                    if let Some(help) = mismatch.help.clone() {
                        diagnostic = diagnostic.with_help(help);
                    }
                    self.report(diagnostic);
                }
            }
            if evaluated.has_sensitive() && !resolve::block_is_sensitive(output) {
                self.sensitive_output(output);
            }
        }
    }

    fn sensitive_output(&mut self, output: &Block) {
        let Some(value) = output.body.attribute("value") else { return };
        let name = output.labels.first().map_or("", |l| l.name.as_str());
        self.report(
            Diagnostic::new(
                Code::SensitiveToOutput,
                value.value.span,
                format!("The output `{name}` shows a sensitive value but is not declared sensitive."),
            )
            .with_label("sensitive value")
            .with_secondary(name_span(output), "output declared here")
            .with_help("add `sensitive = true` to the output, or wrap the value in `nonsensitive(...)` if it may be shown"),
        );
    }

    // ----- resources -----

    /// Top-level resources: their expressions are evaluated for the
    /// evaluator's errors (the schema is checked by expansion).
    fn resources(&mut self) {
        let resources: Vec<&'a Block> =
            self.resolved.symbols.resources.values().flat_map(|by_name| by_name.values().copied()).collect();
        // `count` and `each` are the same for every resource: set once,
        // not once per resource (10k resources made 40k maps).
        let mut roots = std::mem::take(&mut self.roots);
        roots.insert(
            "count".into(),
            Root::Whole(Value::Object(stackc_model::Fields::from_iter([(
                "index".to_string(),
                Value::Unknown,
            )]))),
        );
        roots.insert(
            "each".into(),
            Root::Whole(Value::Object(stackc_model::Fields::from_iter([
                ("key".to_string(), Value::Unknown),
                ("value".to_string(), Value::Unknown),
            ]))),
        );
        let mut types = std::mem::take(&mut self.types);
        types.insert("count".into(), Root::Whole(repetition_type("index", Type::Number)));
        types.insert("each".into(), Root::Whole(each_type()));
        for block in resources {
            for attribute in &block.body.attributes {
                self.evaluate_in(&attribute.value, &roots, &types);
            }
        }
        roots.shift_remove("count");
        roots.shift_remove("each");
        types.shift_remove("count");
        types.shift_remove("each");
        self.roots = roots;
        self.types = types;
    }
}

/// `count` (`{ index = number }`) and the like.
fn repetition_type(name: &str, ty: Type) -> Type {
    Type::Object(IndexMap::from([(name.to_string(), ObjectField { ty, optional: false })]))
}

/// `each`: `{ key = string, value = any }`.
fn each_type() -> Type {
    Type::Object(IndexMap::from([
        ("key".to_string(), ObjectField { ty: Type::String, optional: false }),
        ("value".to_string(), ObjectField { ty: Type::Any, optional: false }),
    ]))
}

enum Found {
    Kind(String),
    Unknown,
}

/// What a param validation's expression reads of its roots.
#[derive(Default)]
struct ValidationReads<'a> {
    /// The params it names (`param.<name>`), in order of first reference.
    params: Vec<&'a str>,
    /// Whether it names `param` whole.
    whole: bool,
    /// Whether it names `self`.
    reads_self: bool,
}

/// An evaluation's result and the diagnostics inference found.
type Outcome = (Result<Value, Diagnostic>, Vec<Diagnostic>);

/// Where a param's value is written: an attribute's expression or a block.
#[derive(Clone, Copy)]
enum Source<'a> {
    Expr(&'a Expr),
    Block(&'a Block),
}

impl Source<'_> {
    /// The key naming the last step of `path` (an attribute's name, an
    /// object key), else what [`Source::locate`] gives.
    fn locate_key(&self, path: &[String]) -> Span {
        let Some((last, parent)) = path.split_last() else { return self.locate(path) };
        match self {
            Source::Block(block) if parent.is_empty() => {
                if let Some(attribute) = block.body.attribute(last) {
                    return attribute.name.span;
                }
                if let Some(inner) = block.body.blocks_of(last).next() {
                    return inner.kind.span;
                }
            }
            Source::Block(block) => {
                if let Some(inner) = block.body.blocks_of(&parent[0]).next() {
                    return Source::Block(inner).locate_key(&path[1..]);
                }
                if let Some(attribute) = block.body.attribute(&parent[0]) {
                    return Source::Expr(&attribute.value).locate_key(&path[1..]);
                }
            }
            Source::Expr(expr) => {
                let mut current = strip_parens(expr);
                for step in parent {
                    let next = match &current.kind {
                        ExprKind::Object(fields) => fields
                            .iter()
                            .find(|(k, _)| k.key_name().as_deref() == Some(step.as_str()))
                            .map(|(_, v)| v),
                        ExprKind::List(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
                        _ => None,
                    };
                    match next {
                        Some(next) => current = strip_parens(next),
                        None => return self.locate(path),
                    }
                }
                if let ExprKind::Object(fields) = &current.kind {
                    if let Some((key, _)) =
                        fields.iter().find(|(k, _)| k.key_name().as_deref() == Some(last.as_str()))
                    {
                        return key.span;
                    }
                }
            }
        }
        self.locate(path)
    }

    fn locate(&self, path: &[String]) -> Span {
        match self {
            Source::Expr(expr) => locate(expr, path),
            Source::Block(block) => {
                let Some((first, rest)) = path.split_first() else { return block.kind.span };
                if let Some(attribute) = block.body.attribute(first) {
                    return locate(&attribute.value, rest);
                }
                if let Some(inner) = block.body.blocks_of(first).next() {
                    return Source::Block(inner).locate(rest);
                }
                block.kind.span
            }
        }
    }
}

fn source_has_error(checker: &Checker<'_, '_>, source: Source<'_>) -> bool {
    match source {
        Source::Expr(expr) => checker.has_error_in(expr.span),
        Source::Block(block) => checker.has_error_in(block.span),
    }
}

fn strip_parens(expr: &Expr) -> &Expr {
    let mut current = expr;
    for _ in 0..walk::MAX_DEPTH {
        match &current.kind {
            ExprKind::Paren(inner) => current = inner,
            _ => break,
        }
    }
    current
}

/// The sub-expression a path of keys/indexes reaches in literal objects and
/// lists; the whole expression when the path leaves the literal.
pub fn locate(expr: &Expr, path: &[String]) -> Span {
    let mut current = strip_parens(expr);
    for step in path {
        let next = match &current.kind {
            ExprKind::Object(fields) => {
                fields.iter().find(|(k, _)| k.key_name().as_deref() == Some(step.as_str())).map(|(_, v)| v)
            }
            ExprKind::List(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(next) => current = strip_parens(next),
            None => break,
        }
    }
    current.span
}

/// The type at a path inside `ty`, for labels.
fn field_type(ty: &Type, path: &[String]) -> Type {
    let mut current = ty.base().clone();
    for step in path {
        current = match &current {
            Type::List(inner) | Type::Map(inner) => inner.base().clone(),
            Type::Object(fields) => match fields.get(step) {
                Some(field) => field.ty.base().clone(),
                None => return current,
            },
            _ => return current,
        };
    }
    current
}

fn invalid_default(what: &str, ty: &Type, mismatch: &types::Mismatch, span: Span) -> Diagnostic {
    let at =
        if mismatch.path.is_empty() { String::new() } else { format!(" (at `{}`)", mismatch.path_text()) };
    Diagnostic::new(
        Code::InvalidDefault,
        span,
        format!("The default of {what} does not fit its type `{ty}`{at}: {}.", mismatch.message),
    )
    .with_label(format!("expected `{}`", field_type(ty, &mismatch.path)))
    .with_help(
        mismatch.help.clone().unwrap_or_else(|| format!("give a default of type `{ty}`, or change the type")),
    )
}

/// The value of an instance as other expressions see it before apply: its
/// outputs, unknown (sensitive ones marked).
fn instance_outputs(component: &ComponentSymbols<'_>) -> Value {
    Value::Object(
        component
            .outputs
            .keys()
            .map(|name| {
                let value = if component.output_is_sensitive(name) {
                    Value::Unknown.into_sensitive()
                } else {
                    Value::Unknown
                };
                (name.to_string(), value)
            })
            .collect(),
    )
}

/// Attributes of the built-in provider's resources that hold generated
/// secrets (the provider marks them sensitive in its schema; the checker
/// needs to know before any provider is loaded).
pub const SENSITIVE_RESOURCE_ATTRIBUTES: &[(&str, &str)] = &[("random_password", "result")];
