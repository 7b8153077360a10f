//! The type checker: types of variables and params, the values of
//! variables (defaults, `-var`, `--var-file`) and locals, component
//! instances against their component's params, validations, domain types,
//! reference types and the flow of sensitive values.
//!
//! It runs after [`crate::resolve`], over the HIR resolve lowered
//! ([`hir::Stack`]): its declarations, and each expression's references as
//! lowering recorded them ([`hir::Stack::references`]), so it walks no
//! expression to find what the expression names. It evaluates what can
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

use crate::ast::{Expr, ExprKind, File};
use crate::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::eval::Evaluator;
use crate::hash::{FastMap, FastSet};
use crate::hir::{self, BlockDecl, ComponentDecl, ExprDecl, InstanceDecl, OutputDecl};
use crate::resolve::{self, walk, Node, Resolved};
use crate::source::{FileId, Span};
use crate::types::{ObjectField, Type};
use crate::value::Value;
use crate::CheckOptions;
use indexmap::IndexMap;
use roots::{check_roots, name_at, Kind, Root, RootTypes, RootValues, ScopedTypes};
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
    let instance_names = declared_instances(&resolved.stack);
    let error_spans: BTreeSet<(FileId, u32, u32)> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| (d.primary.span.file, d.primary.span.start, d.primary.span.end))
        .collect();
    let mut checker = Checker {
        resolved: &resolved,
        stack: &resolved.stack,
        instance_names: &instance_names,
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

/// The names of the stack's instances resolve declares, by kind (in
/// declaration order).
fn declared_instances(stack: &hir::Stack) -> FastMap<&str, FastSet<&str>> {
    let mut names: FastMap<&str, FastSet<&str>> = FastMap::default();
    for instance in stack.body.instances.iter().filter(|i| i.declared) {
        names.entry(instance.kind.as_str()).or_default().insert(instance.name.as_str());
    }
    names
}

struct Checker<'r, 'a> {
    /// What resolve found besides the HIR: the locals' dependencies, the
    /// malformed blocks.
    resolved: &'r Resolved<'a>,
    /// The HIR the checker walks.
    stack: &'r hir::Stack,
    /// See [`declared_instances`].
    instance_names: &'r FastMap<&'r str, FastSet<&'r str>>,
    evaluator: &'r dyn Evaluator,
    diagnostics: &'r mut Vec<Diagnostic>,
    /// Where errors were already reported: expressions containing one are not evaluated.
    error_spans: BTreeSet<(FileId, u32, u32)>,
    /// Full values of the stack-level roots (`var`, `local`, kinds, resource types).
    roots: RootValues<'r>,
    /// (component, param) -> declared type.
    /// (Shared with the HIR: the checker reads a param's type once per instance that sets it.)
    param_types: FastMap<(&'r str, &'r str), Arc<Type>>,
    /// (component, param) -> the default's value, when it has one.
    param_defaults: FastMap<(&'r str, &'r str), Value>,
    /// Variables with a value (given or default).
    known_variables: FastSet<&'r str>,
    /// Static types of the stack-level roots, for type inference.
    types: RootTypes<'r>,
    /// Each component kind's outputs as an object type (the type of a reference to an instance).
    kind_outputs: FastMap<String, Type>,
    /// The inferred type of the expression evaluated last.
    last_type: Type,
    /// What each param validation's expressions read, by expression ([`ExprDecl::id`]).
    validation_reads: FastMap<usize, Rc<ValidationReads<'r>>>,
}

impl<'r, 'a> Checker<'r, 'a> {
    fn report(&mut self, diagnostic: Diagnostic) {
        if diagnostic.is_error() {
            let span = diagnostic.primary.span;
            self.error_spans.insert((span.file, span.start, span.end));
        }
        self.diagnostics.push(diagnostic);
    }

    /// `diagnostic` pointing also at where `kind`'s param `name` declares its type.
    fn with_param_type(&self, diagnostic: Diagnostic, kind: &str, name: &str) -> Diagnostic {
        let type_span =
            self.stack.components.get(kind).and_then(|c| c.params.get(name)).and_then(|p| p.type_span);
        match type_span {
            Some(span) => diagnostic.with_secondary(span, "parameter type declared here"),
            None => diagnostic,
        }
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
    fn evaluate_in(&mut self, expr: &ExprDecl, roots: &RootValues<'r>, types: &RootTypes<'r>) -> Value {
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
        expr: &ExprDecl,
        roots: &RootValues<'r>,
        types: &RootTypes<'r>,
    ) -> (Option<Outcome>, Type) {
        if self.has_error_in(expr.span) {
            return (None, Type::Any);
        }
        let mut found = Vec::new();
        let scoped = ScopedTypes { roots: types, kinds: &self.kind_outputs };
        let ty = crate::infer::infer(expr, &scoped, &mut found);
        let evaluated = self.evaluator.evaluate(expr, &check_roots(self.stack.references(expr), roots));
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
    fn evaluate_quietly(&self, expr: &ExprDecl, roots: &RootValues<'r>) -> Option<Value> {
        self.evaluator.evaluate(expr, &check_roots(self.stack.references(expr), roots)).ok()
    }

    /// [`Checker::evaluate_in`] against the checker's own roots (lent, not
    /// moved out and back: that built two empty maps per expression).
    fn evaluate(&mut self, expr: &ExprDecl) -> Value {
        let (outcome, ty) = self.infer_and_evaluate(expr, &self.roots, &self.types);
        self.last_type = ty;
        self.settle(outcome)
    }

    // ----- types -----

    /// Takes the declared types lowering read (see `resolve/lower.rs`; what
    /// is wrong with them it reported) and checks the params' defaults. The
    /// variables' and outputs' types are read from the HIR where needed.
    fn types(&mut self) {
        let stack = self.stack;
        let mut defaults = Vec::new();
        for decl in stack.components.values() {
            for (param, param_decl) in &decl.params {
                let ty = param_decl.ty.clone();
                if let Some(default) = &param_decl.default {
                    defaults.push((decl.name.as_str(), param.as_str(), default, Type::clone(&ty)));
                }
                self.param_types.insert((decl.name.as_str(), param.as_str()), ty);
            }
            let outputs = decl
                .output_types
                .iter()
                .map(|(name, ty)| (name.clone(), ObjectField { ty: ty.clone(), optional: false }))
                .collect();
            self.kind_outputs.insert(decl.name.clone(), Type::Object(outputs));
        }
        let empty = RootValues::default();
        for (component, param, default, ty) in defaults {
            let value = self.evaluate_in(default, &empty, &RootTypes::default());
            match types::conform(&value, &ty) {
                Ok(value) => {
                    self.param_defaults.insert((component, param), value);
                }
                Err(mismatch) => {
                    let span = locate(default, &mismatch.path);
                    self.report(invalid_default(&format!("parameter `{param}`"), &ty, &mismatch, span));
                }
            }
        }
    }

    // ----- variables -----

    /// Every declared variable's value (`None` when it has none), in declaration order.
    fn variables(&mut self, options: &CheckOptions) -> IndexMap<String, Option<Value>> {
        let stack = self.stack;
        let mut given: IndexMap<&str, &Value> = IndexMap::new();
        for (name, value) in &options.variables {
            given.insert(name, value);
        }
        for name in given.keys() {
            if !stack.variable_decls.contains_key(*name) {
                let help = did_you_mean(name, stack.variable_decls.keys().map(String::as_str))
                    .unwrap_or_else(|| {
                        format!("declare it with `variable \"{name}\" {{}}`, or drop the value")
                    });
                let span = stack
                    .variable_decls
                    .values()
                    .next()
                    .map(|v| v.name_span)
                    .or_else(|| stack.body.instances.iter().find(|i| i.declared).map(|i| i.name_span))
                    .unwrap_or(Span { file: crate::source::FileId(0), start: 0, end: 0 });
                let declared = !stack.variable_decls.is_empty();
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
        let empty = RootValues::default();
        for (name, variable) in &stack.variable_decls {
            let name = name.as_str();
            let ty = stack.variable_types.get(name).cloned().unwrap_or(Type::Any);
            let sensitive = ty.is_sensitive();
            let default = variable.default.as_ref();
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
                            variable.name_span,
                            format!(
                                "{shown} given for `{name}` does not fit its type `{ty}`{at}: {problem}."
                            ),
                        )
                        .with_label(format!("declared with type `{ty}`"));
                        if let Some(type_span) = variable.type_span {
                            diagnostic = diagnostic.with_secondary(type_span, "the type");
                        }
                        self.report(
                            diagnostic
                                .with_help(help.unwrap_or_else(|| format!("pass a value of type `{ty}`"))),
                        );
                    }
                }
            }
            if let Some(default) = default {
                let default_value = self.evaluate_in(default, &empty, &RootTypes::default());
                match types::conform(&default_value, &ty) {
                    Ok(v) => {
                        if value.is_none() && !given.contains_key(name) {
                            value = Some(v);
                        }
                    }
                    Err(mismatch) => {
                        let span = locate(default, &mismatch.path);
                        self.report(invalid_default(&format!("variable `{name}`"), &ty, &mismatch, span));
                    }
                }
            } else if !given.contains_key(name) && !self.resolved.malformed.contains(&variable.span) {
                self.report(
                    Diagnostic::new(
                        Code::VariableNotSet,
                        variable.name_span,
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
        let stack = self.stack;
        for (name, variable) in &stack.variable_decls {
            let Some(Some(value)) = variables.get(name) else { continue };
            if value.has_unknown() {
                continue;
            }
            for validation in &variable.validations {
                let (Some(condition), Some(message)) = (&validation.condition, &validation.message) else {
                    continue;
                };
                if self.has_error_in(validation.span) {
                    continue;
                }
                let roots = std::mem::take(&mut self.roots);
                let types = std::mem::take(&mut self.types);
                let result = self.evaluate_in(condition, &roots, &types);
                let text = self.evaluate_quietly(message, &roots);
                self.roots = roots;
                self.types = types;
                match result.as_bool() {
                    Some(true) => {}
                    Some(false) => {
                        let text = validation_message(text);
                        let given = variable.default.as_ref().is_none_or(|d| {
                            // A default that does not give this value means the value was given.
                            Some(&self.evaluate_quietly(d, &RootValues::default()).unwrap_or(Value::Unknown))
                                != Some(&value.unmarked())
                        });
                        let (span, label) = match &variable.default {
                            Some(default) if !given => {
                                (default.span, "the default fails the validation".to_string())
                            }
                            _ if value.has_sensitive() => {
                                (variable.name_span, "the value given fails the validation".to_string())
                            }
                            _ => (
                                variable.name_span,
                                format!("the value given, {value}, fails the validation"),
                            ),
                        };
                        self.report(
                            Diagnostic::new(
                                Code::ValidationFailed,
                                span,
                                format!("Invalid value for `var.{name}`: {text}"),
                            )
                            .with_label(label)
                            .with_secondary(condition.span, "this condition is false")
                            .with_help(format!("give `{name}` a value for which the condition holds")),
                        );
                    }
                    None if matches!(result, Value::Unknown | Value::Null) || result.has_unknown() => {}
                    None => {
                        self.report(
                            Diagnostic::new(
                                Code::ConditionNotBool,
                                condition.span,
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
        let stack = self.stack;
        let var: stackc_model::Fields = variables
            .iter()
            .map(|(name, value)| {
                let value = value.clone().unwrap_or_else(|| {
                    let sensitive = stack.variable_types.get(name.as_str()).is_some_and(Type::is_sensitive);
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
        for (kind, by_name) in self.instance_names {
            let Some(component) = stack.components.get(*kind) else { continue };
            let mut root = Kind::new(instance_outputs(component));
            root.instances = Some(by_name);
            self.roots.insert(kind.to_string(), Root::Kind(root));
        }
        if let Some(network) = stack.components.get("network") {
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
        // Each resource type is an object of its resources, in declaration
        // order. Stacks declare runs of one type: a resource's type is looked
        // up only when it is not the one before's; each object is sized once.
        let declared: Vec<&hir::ResourceDecl> = stack.body.resources.iter().filter(|r| r.declared).collect();
        let mut types: Vec<(&str, usize)> = Vec::new();
        let mut by_type: FastMap<&str, usize> = FastMap::default();
        let mut at = Vec::with_capacity(declared.len());
        let mut previous: Option<(&str, usize)> = None;
        for resource in &declared {
            let type_name = resource.type_name.as_str();
            let index = match previous {
                Some((last, index)) if last == type_name => index,
                _ => *by_type.entry(type_name).or_insert_with(|| {
                    types.push((type_name, 0));
                    types.len() - 1
                }),
            };
            previous = Some((type_name, index));
            types[index].1 += 1;
            at.push(index);
        }
        let mut objects: Vec<stackc_model::Fields> = types
            .iter()
            .map(|(_, count)| stackc_model::Fields::with_capacity_and_hasher(*count, Default::default()))
            .collect();
        for (resource, index) in declared.iter().zip(at) {
            objects[index].insert(resource.name.clone(), Value::Unknown);
        }
        for ((type_name, _), object) in types.into_iter().zip(objects) {
            self.roots.insert(type_name.to_string(), Root::Whole(Value::Object(object)));
        }
        self.roots.insert("local".into(), Root::Whole(Value::Object(Default::default())));

        // The same roots' static types: declared types where there are some.
        let var_types: IndexMap<String, ObjectField> = variables
            .keys()
            .map(|name| {
                let ty = stack.variable_types.get(name.as_str()).cloned().unwrap_or(Type::Any);
                (name.clone(), ObjectField { ty, optional: false })
            })
            .collect();
        self.types.insert("var".into(), Root::Whole(Type::Object(var_types)));
        for (kind, by_name) in self.instance_names {
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
        let locals: IndexMap<String, ObjectField> = stack
            .declared_locals
            .keys()
            .map(|name| (name.clone(), ObjectField { ty: Type::Any, optional: false }))
            .collect();
        self.types.insert("local".into(), Root::Whole(Type::Object(locals)));
    }

    /// The static types of a component body's roots: `param`, `self`.
    fn component_types(&self, component: &ComponentDecl) -> RootTypes<'r> {
        let params: IndexMap<String, ObjectField> = component
            .params
            .keys()
            .map(|name| {
                let ty = self
                    .param_types
                    .get(&(component.name.as_str(), name.as_str()))
                    .map_or(Type::Any, |ty| Type::clone(ty));
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
        let hir = self.stack;
        let mut depends: FastMap<&str, Vec<&str>> = FastMap::default();
        for (from, to, _) in &self.resolved.dependencies {
            if let (Node::Local(a), Node::Local(b)) = (from, to) {
                depends.entry(a).or_default().push(b);
            }
        }
        let mut order: Vec<&'r str> = Vec::new();
        let mut state: FastMap<&str, u8> = FastMap::default(); // 1 visiting, 2 done
        let mut in_cycle: FastSet<&str> = FastSet::default();
        for name in hir.declared_locals.keys() {
            let name = name.as_str();
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
                    if let Some((key, _)) = hir.declared_locals.get_key_value(current) {
                        order.push(key);
                    }
                }
            }
        }
        for name in order {
            let Some((_, _, expr)) = hir.declared_locals.get(name).and_then(|i| hir.locals.get(*i)) else {
                continue;
            };
            let value = if in_cycle.contains(name) { Value::Unknown } else { self.evaluate(expr) };
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
        let stack = self.stack;
        for instance in stack.body.instances.iter().filter(|i| i.declared) {
            self.instance(instance);
        }
    }

    fn instance(&mut self, instance: &'r InstanceDecl) {
        let Some(component) = self.stack.components.get(&instance.kind) else { return };
        let kind = component.name.as_str();
        // Sized for every param the block could set: one allocation each.
        let settable = instance.attributes.len() + instance.blocks.len();
        let mut params: FastMap<&'r str, Value> =
            FastMap::with_capacity_and_hasher(settable, Default::default());
        let mut set: FastMap<&'r str, Span> = FastMap::with_capacity_and_hasher(settable, Default::default());
        for attribute in &instance.attributes {
            let name = attribute.name.name.as_str();
            let Some(ty) = self.param_types.get(&(kind, name)).cloned() else { continue };
            let value = self.param_value(instance, name, &ty, Source::Expr(&attribute.value));
            params.insert(name, value);
            set.insert(name, attribute.value.span);
        }
        // `reconcile` blocks too: a param may have that name.
        for inner in instance.blocks.iter().chain(&instance.policy_blocks) {
            let name = inner.name.as_str();
            let Some(ty) = self.param_types.get(&(kind, name)).cloned() else { continue };
            if params.contains_key(name) || !matches!(ty.base(), Type::Object(_) | Type::Any) {
                continue;
            }
            let value = self.param_value(instance, name, &ty, Source::Block(inner));
            params.insert(name, value);
            set.insert(name, inner.name_span);
        }
        if self.resolved.malformed.contains(&instance.span) {
            return;
        }
        self.param_validations(component, instance, &params, &set);
    }

    /// Evaluates and checks one param's value; returns it (unknown when it cannot be known).
    fn param_value(&mut self, instance: &InstanceDecl, name: &str, ty: &Type, source: Source<'r>) -> Value {
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
                diagnostic = self.with_param_type(diagnostic, &instance.kind, name);
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
            diagnostic = self.with_param_type(diagnostic, &instance.kind, name);
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
                .with_help(flow::plain_help(&instance.kind, name)),
            );
        }
        converted
    }

    /// The value of an object param written as a block.
    fn block_value(&mut self, block: &'r BlockDecl, depth: usize) -> Value {
        let mut fields = stackc_model::Fields::default();
        for attribute in &block.attributes {
            let value = self.evaluate(&attribute.value);
            fields.insert(attribute.name.name.clone(), value);
        }
        if depth < walk::MAX_DEPTH {
            for inner in &block.blocks {
                let value = self.block_value(inner, depth + 1);
                fields.insert(inner.name.clone(), value);
            }
        }
        Value::Object(fields)
    }

    fn param_validations(
        &mut self,
        component: &'r ComponentDecl,
        instance: &InstanceDecl,
        given: &FastMap<&'r str, Value>,
        set: &FastMap<&'r str, Span>,
    ) {
        for (name, span) in set {
            let Some(param) = component.params.get(*name) else { continue };
            for validation in &param.validations {
                let (Some(condition), Some(message)) = (&validation.condition, &validation.message) else {
                    continue;
                };
                if self.has_error_in(*span) {
                    continue;
                }
                let reads = self.validation_reads(component, condition);
                let roots = self.validation_roots(component, instance, given, &reads);
                if let Some(Value::Bool(false)) =
                    self.evaluate_quietly(condition, &roots).map(|v| v.unmarked())
                {
                    let reads = self.validation_reads(component, message);
                    let roots = self.validation_roots(component, instance, given, &reads);
                    let text = validation_message(self.evaluate_quietly(message, &roots));
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
                        .with_secondary(condition.span, "this condition is false")
                        .with_help(format!("change `{name}` so that the condition holds")),
                    );
                }
            }
        }
    }

    /// What a param validation's `expr` reads (see [`ValidationReads`]),
    /// found once per expression rather than once per instance.
    fn validation_reads(&mut self, component: &ComponentDecl, expr: &ExprDecl) -> Rc<ValidationReads<'r>> {
        if let Some(reads) = self.validation_reads.get(&expr.id) {
            return reads.clone();
        }
        let mut reads = ValidationReads::default();
        for reference in self.stack.references(expr) {
            match (reference.root.as_str(), name_at(reference, 0)) {
                ("param", Some(member))
                    if component.params.contains_key(member) && !reads.params.contains(&member) =>
                {
                    reads.params.push(member);
                }
                ("param", None) => reads.whole = true,
                ("self", _) => reads.reads_self = true,
                _ => {}
            }
        }
        let reads = Rc::new(reads);
        self.validation_reads.insert(expr.id, reads.clone());
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
        component: &ComponentDecl,
        instance: &InstanceDecl,
        given: &FastMap<&'r str, Value>,
        reads: &ValidationReads<'r>,
    ) -> RootValues<'r> {
        let value_of = |name: &str| match given.get(name) {
            Some(value) => value.clone(),
            None => self.param_defaults.get(&(component.name.as_str(), name)).cloned().unwrap_or(Value::Null),
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
                    ("name".to_string(), Value::string(&instance.name)),
                    ("dns_name".to_string(), Value::string(crate::resolve::dns_name(&instance.name))),
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
    fn reference_kinds(&mut self, expr: &Expr, ty: &Type, param: &str, component: Option<&ComponentDecl>) {
        self.reference_kinds_at(expr, ty, param, component, 0);
    }

    fn reference_kinds_at(
        &mut self,
        expr: &Expr,
        ty: &Type,
        param: &str,
        component: Option<&ComponentDecl>,
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
        match self.instance_names.get(kind).and_then(|n| n.first()) {
            Some(name) => format!("write a `{kind}` reference such as `{kind}.{name}`"),
            None => format!("declare a `{kind} \"<name>\" {{ ... }}` and write `{kind}.<name>`"),
        }
    }

    /// The component kind an expression refers to: `Some(Kind)` for a
    /// reference to an instance (or a reference-typed `param`), `Some(Unknown)`
    /// when it cannot be told statically, `None` when it is certainly no reference.
    fn reference_kind(&self, expr: &Expr, component: Option<&ComponentDecl>) -> Option<Found> {
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
                            .get(&(component.name.as_str(), path[1].name.as_str()))
                            .map(|ty| ty.base())
                        {
                            Some(Type::Ref(kind)) => Some(Found::Kind(kind.clone())),
                            Some(Type::Any) | None => Some(Found::Unknown),
                            Some(_) => None,
                        }
                    }
                    (kind, 2) if self.stack.components.contains_key(kind) => {
                        Some(Found::Kind(kind.to_string()))
                    }
                    (kind, n) if n > 2 && self.stack.components.contains_key(kind) => {
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
        let stack = self.stack;
        for component in stack.components.values().filter(|c| c.origin == crate::source::Origin::User) {
            let mut params = stackc_model::Fields::default();
            for name in component.params.keys() {
                let sensitive = self
                    .param_types
                    .get(&(component.name.as_str(), name.as_str()))
                    .is_some_and(|ty| ty.is_sensitive());
                params.insert(
                    name.clone(),
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
            for output in component_outputs(component).chain(&component.unnamed_outputs) {
                let Some(value) = &output.value else { continue };
                let value = self.evaluate_in(value, &roots, &types);
                let declared = output_is_sensitive(component, &output.name);
                if value.has_sensitive() && !output.is_sensitive() && !declared {
                    self.sensitive_output(output);
                }
            }
            for (_, body) in component.on.values() {
                // Resource bodies and nested instances are evaluated only by
                // expansion; their types are checked here, before.
                for resource in &body.resources {
                    let meta = [&resource.count, &resource.for_each, &resource.depends_on];
                    let attributes =
                        resource.attributes.iter().chain(&resource.meta_attributes).map(|a| &a.value);
                    self.infer_body(meta.into_iter().flatten().chain(attributes), &resource.blocks, &types);
                    self.infer_blocks(&resource.meta_blocks, &types, 1);
                }
                for block in &body.other_blocks {
                    self.infer_body(block.attributes.iter().map(|a| &a.value), &block.blocks, &types);
                }
                for instance in &body.instances {
                    let attributes = instance.attributes.iter().map(|a| &a.value);
                    self.infer_body(attributes, &instance.blocks, &types);
                    self.infer_blocks(&instance.policy_blocks, &types, 1);
                    let Some(nested) = stack.components.get(&instance.kind) else { continue };
                    for attribute in &instance.attributes {
                        let Some(ty) = self
                            .param_types
                            .get(&(nested.name.as_str(), attribute.name.name.as_str()))
                            .cloned()
                        else {
                            continue;
                        };
                        self.reference_kinds(&attribute.value, &ty, &attribute.name.name, Some(component));
                    }
                }
            }
        }
    }

    /// Type inference over expressions of a body and its nested blocks,
    /// reporting what certainly fails.
    fn infer_body<'e>(
        &mut self,
        attributes: impl Iterator<Item = &'e ExprDecl>,
        blocks: &[BlockDecl],
        types: &RootTypes<'r>,
    ) {
        self.infer_exprs(attributes, types);
        self.infer_blocks(blocks, types, 1);
    }

    fn infer_blocks(&mut self, blocks: &[BlockDecl], types: &RootTypes<'r>, depth: usize) {
        if depth > walk::MAX_DEPTH {
            return;
        }
        for block in blocks {
            self.infer_exprs(block.attributes.iter().map(|a| &a.value), types);
            self.infer_blocks(&block.blocks, types, depth + 1);
        }
    }

    fn infer_exprs<'e>(&mut self, exprs: impl Iterator<Item = &'e ExprDecl>, types: &RootTypes<'r>) {
        for value in exprs {
            if self.has_error_in(value.span) {
                continue;
            }
            let mut found = Vec::new();
            let scoped = ScopedTypes { roots: types, kinds: &self.kind_outputs };
            crate::infer::infer(value, &scoped, &mut found);
            for diagnostic in found {
                self.report(diagnostic);
            }
        }
    }

    // ----- outputs -----

    fn outputs(&mut self) {
        let stack = self.stack;
        for output in stack.declared_outputs.iter().filter_map(|i| stack.outputs.get(*i)) {
            let Some(value) = &output.value else { continue };
            let evaluated = self.evaluate(value);
            let name = output.name.as_str();
            if let Some(ty) = stack.output_types.get(name).cloned() {
                if let Err(mismatch) = types::conform(&evaluated, &ty) {
                    let at = if mismatch.path.is_empty() {
                        String::new()
                    } else {
                        format!(" (at `{}`)", mismatch.path_text())
                    };
                    let mut diagnostic = Diagnostic::new(
                        mismatch.code,
                        locate(value, &mismatch.path),
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
            if evaluated.has_sensitive() && !output.is_sensitive() {
                self.sensitive_output(output);
            }
        }
    }

    fn sensitive_output(&mut self, output: &OutputDecl) {
        let Some(value) = &output.value else { return };
        let name = output.name.as_str();
        self.report(
            Diagnostic::new(
                Code::SensitiveToOutput,
                value.span,
                format!("The output `{name}` shows a sensitive value but is not declared sensitive."),
            )
            .with_label("sensitive value")
            .with_secondary(output.name_span, "output declared here")
            .with_help("add `sensitive = true` to the output, or wrap the value in `nonsensitive(...)` if it may be shown"),
        );
    }

    // ----- resources -----

    /// Top-level resources: their expressions are evaluated for the
    /// evaluator's errors (the schema is checked by expansion).
    fn resources(&mut self) {
        let stack = self.stack;
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
        for resource in stack.body.resources.iter().filter(|r| r.declared) {
            let meta = [&resource.count, &resource.for_each, &resource.depends_on];
            let attributes = resource.attributes.iter().chain(&resource.meta_attributes).map(|a| &a.value);
            for value in meta.into_iter().flatten().chain(attributes) {
                self.evaluate_in(value, &roots, &types);
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
    Expr(&'a ExprDecl),
    Block(&'a BlockDecl),
}

impl Source<'_> {
    /// The key naming the last step of `path` (an attribute's name, an
    /// object key), else what [`Source::locate`] gives.
    fn locate_key(&self, path: &[String]) -> Span {
        let Some((last, parent)) = path.split_last() else { return self.locate(path) };
        match self {
            Source::Block(block) if parent.is_empty() => {
                if let Some(attribute) = block.attribute(last) {
                    return attribute.name.span;
                }
                if let Some(inner) = block.block(last) {
                    return inner.name_span;
                }
            }
            Source::Block(block) => {
                if let Some(inner) = block.block(&parent[0]) {
                    return Source::Block(inner).locate_key(&path[1..]);
                }
                if let Some(attribute) = block.attribute(&parent[0]) {
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
                let Some((first, rest)) = path.split_first() else { return block.name_span };
                if let Some(attribute) = block.attribute(first) {
                    return locate(&attribute.value, rest);
                }
                if let Some(inner) = block.block(first) {
                    return Source::Block(inner).locate(rest);
                }
                block.name_span
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

/// A component's outputs: component-level ones, then those of its `on`
/// blocks (the first of a name is the one declared).
fn component_outputs(component: &ComponentDecl) -> impl Iterator<Item = &OutputDecl> {
    component.outputs.iter().chain(component.on.values().flat_map(|(_, body)| body.outputs.iter()))
}

/// Whether `component`'s output `name` (its first declaration) is declared sensitive.
fn output_is_sensitive(component: &ComponentDecl, name: &str) -> bool {
    component_outputs(component).find(|o| o.name == name).is_some_and(OutputDecl::is_sensitive)
}

/// The value of an instance as other expressions see it before apply: its
/// outputs, unknown (sensitive ones marked).
fn instance_outputs(component: &ComponentDecl) -> Value {
    Value::Object(
        component
            .output_types
            .keys()
            .map(|name| {
                let value = if output_is_sensitive(component, name) {
                    Value::Unknown.into_sensitive()
                } else {
                    Value::Unknown
                };
                (name.clone(), value)
            })
            .collect(),
    )
}

/// Attributes of the built-in provider's resources that hold generated
/// secrets (the provider marks them sensitive in its schema; the checker
/// needs to know before any provider is loaded).
pub const SENSITIVE_RESOURCE_ATTRIBUTES: &[(&str, &str)] = &[("random_password", "result")];
