//! The expression evaluator: HCL expressions to [`Value`]s, with unknowns
//! propagated and sensitive marks kept, over the function library
//! ([`crate::functions`]).
//!
//! Why it is shaped this way:
//!
//! - One evaluator serves `check` (values known before apply: variables,
//!   locals, params, validations) and expansion (component bodies, and again
//!   during apply through `graph::Deferred`). Names come from a
//!   [`Roots`] (the caller decides what `param`, `var`, `aws_vpc` mean), so
//!   the evaluator knows nothing about stages.
//! - `Value::Unknown` is "known only after apply". An operation on an
//!   unknown gives an unknown, unless the result does not depend on it
//!   (`length([unknown])` is 1, `false && unknown` is false, `{a =
//!   unknown} == null` is false). Type errors that unknown values hide are
//!   the type inference's job ([`crate::infer`]), which the checker runs
//!   first.
//! - `Value::Sensitive` marks survive every derivation: a value computed
//!   from a sensitive one is sensitive (`upper(secret)`, `"${secret}x"`,
//!   `secret == "a"`). Only `nonsensitive(...)` removes a mark.
//! - Evaluation is lazy where HCL's is: the branch of a conditional not
//!   taken, the side of `&&`/`||` not needed (see `ops`), and the
//!   fallbacks of `try` are not evaluated, so their run-time errors (an
//!   attribute of a null optional param) do not happen. Their types are
//!   still checked statically.
//! - Bounded: recursion follows the AST, whose height the parser bounds,
//!   plus a guard; each evaluation has a work budget ([`MAX_WORK`]) that
//!   every produced element and string byte draws on, and collections and
//!   strings have caps, so no expression can hang or exhaust memory.
//!
//! Errors are diagnostics at the exact span of the part that is wrong (the
//! attribute name, the index, the operand, the argument); the first error
//! ends the evaluation of an expression (one mistake, one diagnostic).

mod ops;
mod template;
mod traverse;

#[cfg(test)]
pub(crate) mod tests;

use crate::ast::{Expr, ExprKind, ForExpr};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::functions::{self, FunctionError};
use crate::source::Span;
use crate::value::{format_number, Value};
use indexmap::IndexMap;
use std::borrow::Cow;
use std::sync::Arc;

/// Evaluates expressions (implemented over the expression evaluator; a
/// trait so that expansion depends on what it needs, not on its internals).
pub trait Evaluator: Send + Sync + std::fmt::Debug {
    /// Evaluates `expr`, looking names at its root (`param`, `self`,
    /// `aws_vpc`, `each`, ...) up in `roots`.
    fn evaluate(&self, expr: &Expr, roots: &dyn Roots) -> Result<Value, Diagnostic>;
}

/// The values of root names.
pub trait Roots {
    /// The value of root `name` (`None`: not defined here). Lent when the
    /// roots hold it whole: the evaluator follows a path (`var.a.b`) into a
    /// lent root by reference and clones only what the path reaches, so a
    /// large root (every instance of a kind) costs nothing to name.
    fn root(&self, name: &str) -> Option<Cow<'_, Value>>;

    /// `root.name`, for roots that can give a member without their whole
    /// value (the checker's instance kinds: every instance of a kind, each
    /// the kind's outputs). `None`: ask [`Roots::root`]. When `Some`, `root`
    /// gives an object (with no sensitive mark) and this is its member `name`.
    fn member(&self, _root: &str, _name: &str) -> Option<Cow<'_, Value>> {
        None
    }
}

/// Where `file("path")` reads from: implemented by the binary over the
/// stack's directory (paths are relative to it), by a map in tests. The
/// compiler itself does no I/O.
pub trait FileSource: Send + Sync + std::fmt::Debug {
    /// The file's text, or why it cannot be read (a full sentence).
    fn read(&self, path: &str) -> Result<String, String>;
}

/// The language's evaluator, used by `check` and by expansion.
#[derive(Clone, Debug, Default)]
pub struct ExpressionEvaluator {
    files: Option<Arc<dyn FileSource>>,
}

impl ExpressionEvaluator {
    /// An evaluator whose `file()` reads nothing (an error says why).
    pub fn new() -> ExpressionEvaluator {
        ExpressionEvaluator { files: None }
    }

    /// An evaluator whose `file()` reads through `files`.
    pub fn with_files(files: Arc<dyn FileSource>) -> ExpressionEvaluator {
        ExpressionEvaluator { files: Some(files) }
    }

    pub fn files(&self) -> Option<&Arc<dyn FileSource>> {
        self.files.as_ref()
    }
}

impl Evaluator for ExpressionEvaluator {
    fn evaluate(&self, expr: &Expr, roots: &dyn Roots) -> Result<Value, Diagnostic> {
        let mut context = Context::new(roots, self.files.as_deref());
        let value = context.eval(expr).map_err(|d| *d)?;
        if value.deeper_than(crate::value::MAX_VALUE_DEPTH) {
            return Err(Diagnostic::new(
                crate::codes::Code::NestingTooDeep,
                expr.span,
                format!(
                    "This value nests lists and objects more than {} levels deep (a chain of values each \
                     wrapping the previous one?).",
                    crate::value::MAX_VALUE_DEPTH
                ),
            )
            .with_label("too deep")
            .with_help("build the value flatter: nest fewer lists and objects inside each other"));
        }
        Ok(value)
    }
}

/// Deepest recursion of the evaluator (the parser bounds expression height
/// far below this; the guard keeps any tree safe).
pub const MAX_DEPTH: usize = 512;

/// Work one evaluation may do: elements produced, iterations, string bytes
/// / 64. Far above any real configuration; an expression past it is an error.
pub const MAX_WORK: u64 = 1_000_000;

/// Longest string an expression may build (bytes).
pub const MAX_STRING_BYTES: usize = 16 << 20;

/// Most elements of a list or object an expression may build.
pub const MAX_ELEMENTS: usize = 1_000_000;

pub(crate) type EvalResult<T = Value> = Result<T, Box<Diagnostic>>;

/// What a `for` iterates: the (key, value) pairs and whether the collection
/// was sensitive, or (`Err`) the result when it is known without iterating.
pub(crate) type Iteration = Result<(Vec<(Value, Value)>, bool), Value>;

/// One evaluation: the roots, `for` variables bound on top, and the budget.
pub(crate) struct Context<'r> {
    roots: &'r dyn Roots,
    files: Option<&'r dyn FileSource>,
    /// `for` variables, innermost last (names borrowed from the
    /// expression, which outlives the evaluation).
    bound: Vec<(&'r str, Value)>,
    /// Roots asked for so far (`None`: not defined), lent by the roots
    /// where they can; an expression names few, so a list beats a hash map.
    fetched: Vec<(&'r str, Option<Cow<'r, Value>>)>,
    depth: usize,
    work: u64,
}

pub(crate) fn error(code: Code, span: Span, message: impl Into<String>, label: &str) -> Box<Diagnostic> {
    Box::new(Diagnostic::new(code, span, message).with_label(label))
}

/// Removes a top-level sensitive mark: the value and whether it was marked.
pub(crate) fn unmark(value: Value) -> (Value, bool) {
    match value {
        Value::Sensitive(inner) => (unmark(*inner).0, true),
        other => (other, false),
    }
}

/// `value` without its top-level sensitive marks, borrowed.
pub(crate) fn unmarked_top(value: &Value) -> &Value {
    match value {
        Value::Sensitive(inner) => unmarked_top(inner),
        other => other,
    }
}

/// Structural equality of two values: `None` when it depends on an unknown part.
pub(crate) fn equal(a: &Value, b: &Value) -> Option<bool> {
    ops::equal(a, b, 0)
}

/// Marks `value` sensitive when `sensitive`.
pub(crate) fn mark(value: Value, sensitive: bool) -> Value {
    if sensitive {
        value.into_sensitive()
    } else {
        value
    }
}

/// The name of a value's type, for messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Object(_) => "an object",
        Value::Unknown => "a value known only after apply",
        Value::Sensitive(inner) => type_name(inner),
    }
}

/// `service.api.url` for a plain traversal, for messages.
pub(crate) fn path_text(expr: &Expr) -> Option<String> {
    let path = expr.as_path()?;
    Some(path.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join("."))
}

impl<'r> Context<'r> {
    pub(crate) fn new(roots: &'r dyn Roots, files: Option<&'r dyn FileSource>) -> Context<'r> {
        Context { roots, files, bound: Vec::new(), fetched: Default::default(), depth: 0, work: 0 }
    }

    /// Draws `amount` from the work budget.
    pub(crate) fn spend(&mut self, amount: u64, span: Span) -> EvalResult<()> {
        self.work = self.work.saturating_add(amount);
        if self.work > MAX_WORK {
            return Err(error(
                Code::FunctionError,
                span,
                format!("This expression does too much work to evaluate (more than {MAX_WORK} steps: elements built, iterations, string bytes)."),
                "too much work",
            ));
        }
        Ok(())
    }

    pub(crate) fn eval(&mut self, expr: &'r Expr) -> EvalResult {
        if self.depth >= MAX_DEPTH {
            return Err(error(
                Code::NestingTooDeep,
                expr.span,
                format!("This expression nests more than {MAX_DEPTH} levels deep to evaluate."),
                "nested too deeply",
            ));
        }
        self.depth += 1;
        let result = self.eval_kind(expr);
        self.depth -= 1;
        result
    }

    fn eval_kind(&mut self, expr: &'r Expr) -> EvalResult {
        match &expr.kind {
            ExprKind::Null => Ok(Value::Null),
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Number(n) => {
                if n.is_finite() {
                    Ok(Value::Number(*n))
                } else {
                    Err(error(
                        Code::InvalidOperand,
                        expr.span,
                        "This number is too large to represent.",
                        "out of range",
                    ))
                }
            }
            ExprKind::Template(parts) => self.template(parts, expr.span),
            ExprKind::List(items) => {
                self.spend(items.len() as u64, expr.span)?;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.eval(item)?);
                }
                Ok(Value::List(out))
            }
            ExprKind::Object(fields) => self.object(fields, expr.span),
            ExprKind::Paren(inner) => self.eval(inner),
            ExprKind::Variable(name) => self.variable(&name.name, name.span),
            ExprKind::GetAttr(inner, name) => {
                if let Some(found) = self.traversal(expr)? {
                    return Ok(found);
                }
                let value = self.eval(inner)?;
                traverse::get_attr(value, name, inner)
            }
            ExprKind::Index(inner, index) => {
                if let Some(found) = self.traversal(expr)? {
                    return Ok(found);
                }
                let value = self.eval(inner)?;
                let key = self.eval(index)?;
                traverse::index(value, key, index, inner)
            }
            ExprKind::Splat(inner, steps) => {
                let value = self.eval(inner)?;
                self.splat(inner, value, steps, expr.span)
            }
            ExprKind::Call(name, args, expand) => self.call(name, args, *expand, expr.span),
            ExprKind::Unary(op, operand) => {
                let value = self.eval(operand)?;
                ops::unary(*op, value, operand, expr.span)
            }
            ExprKind::Binary(op, left, right) => self.binary(*op, left, right, expr.span),
            ExprKind::Conditional(condition, then, otherwise) => {
                let (value, sensitive) = unmark(self.eval(condition)?);
                match value {
                    Value::Bool(true) => Ok(mark(self.eval(then)?, sensitive)),
                    Value::Bool(false) => Ok(mark(self.eval(otherwise)?, sensitive)),
                    Value::Unknown => Ok(mark(Value::Unknown, sensitive)),
                    other => Err(not_bool(
                        "The condition of a conditional expression",
                        &mark(other, sensitive),
                        condition,
                    )),
                }
            }
            ExprKind::For(for_expr) => self.for_expr(for_expr),
        }
    }

    fn variable(&mut self, name: &'r str, span: Span) -> EvalResult {
        if let Some((_, value)) = self.bound.iter().rev().find(|(n, _)| *n == name) {
            return Ok(value.clone());
        }
        match self.fetch_root(name) {
            Some(value) => Ok(value.clone()),
            None => Err(error(
                Code::UnknownReference,
                span,
                format!("`{name}` is not defined here."),
                "not defined",
            )),
        }
    }

    /// The value of root `name`, asked of the roots once per evaluation.
    fn fetch_root(&mut self, name: &'r str) -> Option<&Value> {
        let at = match self.fetched.iter().position(|(n, _)| *n == name) {
            Some(at) => at,
            None => match self.roots.root(name) {
                // Lent: asking again costs nothing, so it is not kept.
                Some(Cow::Borrowed(value)) => return Some(value),
                value => {
                    self.fetched.push((name, value));
                    self.fetched.len() - 1
                }
            },
        };
        self.fetched[at].1.as_deref()
    }

    /// The fast path of `root.a[i].b`: follows the steps by reference and
    /// clones only what they reach (a root may be a large object: `param`,
    /// `var`). `None` when the path leaves what it can follow without a
    /// question (a missing key, an unknown, a wrong type): the general
    /// path then gives the value or the precise error.
    fn traversal(&mut self, expr: &'r Expr) -> EvalResult<Option<Value>> {
        // Down the chain from its outermost step: the index values (only
        // those: a chain of names needs no list) and the root.
        let mut keys: Vec<Value> = Vec::new();
        let mut steps = 0;
        let mut current = expr;
        let root = loop {
            match &current.kind {
                ExprKind::GetAttr(inner, _) => current = inner,
                ExprKind::Index(inner, index) => {
                    keys.push(self.eval(index)?);
                    current = inner;
                }
                ExprKind::Variable(root) => break root,
                _ => return Ok(None),
            }
            steps += 1;
            if steps > MAX_DEPTH {
                return Ok(None);
            }
        };
        let bound = self.bound.iter().rposition(|(n, _)| *n == root.name);
        let mut sensitive = false;
        // `kind.name`: the roots may give the member without the whole root.
        if let (None, Some(first)) = (bound, first_name(expr)) {
            if let Some(member) = self.roots.member(&root.name, first) {
                let found = follow(expr, Start::Member(&member), &keys, &mut sensitive);
                return Ok(found.map(|found| mark(found.clone(), sensitive)));
            }
        }
        let found = match bound {
            Some(at) => Some(&self.bound[at].1),
            None => self.fetch_root(&root.name),
        };
        let Some(value) = found else {
            return Ok(None);
        };
        Ok(follow(expr, Start::Root(value), &keys, &mut sensitive)
            .map(|found| mark(found.clone(), sensitive)))
    }

    fn object(&mut self, fields: &'r [(Expr, Expr)], span: Span) -> EvalResult {
        self.spend(fields.len() as u64, span)?;
        let mut out = stackc_model::Fields::with_capacity_and_hasher(fields.len(), Default::default());
        let mut sensitive_key = false;
        let mut unknown_key = false;
        for (key, value) in fields {
            let key_value = self.eval(key)?;
            let value = self.eval(value)?;
            let (key_value, marked) = unmark(key_value);
            sensitive_key |= marked;
            let name = match key_value {
                Value::Unknown => {
                    unknown_key = true;
                    continue;
                }
                other => object_key(other, key, "An object key")?,
            };
            match out.entry(name) {
                indexmap::map::Entry::Occupied(repeated) => {
                    return Err(error(
                        Code::DuplicateKey,
                        key.span,
                        format!("The key `{}` appears more than once in this object.", repeated.key()),
                        "repeated key",
                    )
                    .map_help("give each key once"));
                }
                indexmap::map::Entry::Vacant(entry) => {
                    entry.insert(value);
                }
            }
        }
        if unknown_key {
            return Ok(mark(Value::Unknown, sensitive_key));
        }
        Ok(mark(Value::Object(out), sensitive_key))
    }

    fn binary(
        &mut self,
        op: crate::ast::BinaryOp,
        left: &'r Expr,
        right: &'r Expr,
        span: Span,
    ) -> EvalResult {
        use crate::ast::BinaryOp;
        if matches!(op, BinaryOp::And | BinaryOp::Or) {
            return ops::logical(self, op, left, right);
        }
        let l = self.eval(left)?;
        let r = self.eval(right)?;
        ops::binary(op, l, r, left, right, span)
    }

    fn splat(
        &mut self,
        inner: &Expr,
        value: Value,
        steps: &'r [crate::ast::SplatStep],
        span: Span,
    ) -> EvalResult {
        let (value, sensitive) = unmark(value);
        let items = match value {
            Value::Unknown => return Ok(mark(Value::Unknown, sensitive)),
            // As in HCL: a splat on null is an empty list, on a non-list value
            // the list of that one value.
            Value::Null => Vec::new(),
            Value::List(items) => items,
            other => vec![other],
        };
        self.spend(items.len() as u64, span)?;
        let mut indexes = Vec::with_capacity(steps.len());
        for step in steps {
            if let crate::ast::SplatStep::Index(index) = step {
                indexes.push(self.eval(index)?);
            }
        }
        let mut out = Vec::with_capacity(items.len());
        // What each step applies to, for messages only (worded on an error).
        let base = || traverse::subject(Some(inner));
        for (i, item) in items.into_iter().enumerate() {
            let mut current = item;
            let mut next_index = indexes.iter();
            for (n, step) in steps.iter().enumerate() {
                // The first step applies to an element of the splat's list.
                let of =
                    || if n == 0 { format!("element {i} of {}", base()) } else { "this value".to_string() };
                current = match step {
                    crate::ast::SplatStep::Attr(name) => traverse::get_attr_of(current, name, of)?,
                    crate::ast::SplatStep::Index(index) => {
                        let key = next_index.next().cloned().unwrap_or(Value::Unknown);
                        traverse::index_of(current, key, index, of)?
                    }
                };
            }
            out.push(current);
        }
        Ok(mark(Value::List(out), sensitive))
    }

    fn call(&mut self, name: &crate::ast::Ident, args: &'r [Expr], expand: bool, span: Span) -> EvalResult {
        let Some(function) = functions::lookup(&name.name) else {
            return Err(Box::new(functions::unknown_function(name)));
        };
        if function.policy == functions::Policy::Lazy {
            if expand || !function.accepts(args.len()) {
                let spans: Vec<Span> = args.iter().map(|a| a.span).collect();
                return Err(Box::new(functions::wrong_count(function, &spans, name, span)));
            }
            return match function.name {
                "try" => self.try_call(args, span),
                _ => self.can_call(args),
            };
        }
        let mut values = Vec::with_capacity(args.len());
        let mut spans = Vec::with_capacity(args.len());
        for arg in args {
            values.push(self.eval(arg)?);
            spans.push(arg.span);
        }
        let mut spread_sensitive = false;
        if expand {
            let Some(last) = values.pop() else {
                return Err(Box::new(functions::wrong_count(function, &[], name, span)));
            };
            let last_span = spans.pop().unwrap_or(span);
            let (last, sensitive) = unmark(last);
            spread_sensitive = sensitive;
            match last {
                Value::Unknown => return Ok(mark(Value::Unknown, sensitive)),
                Value::List(items) => {
                    self.spend(items.len() as u64, last_span)?;
                    for item in items {
                        values.push(item);
                        spans.push(last_span);
                    }
                }
                other => {
                    return Err(error(
                        Code::FunctionError,
                        last_span,
                        format!(
                            "The argument after which `...` expands must be a list, but this is {}.",
                            type_name(&other)
                        ),
                        "not a list",
                    ))
                }
            }
        }
        if !function.accepts(values.len()) {
            return Err(Box::new(functions::wrong_count(function, &spans, name, span)));
        }
        let call = functions::CallContext { files: self.files };
        let result = functions::call(function, values, &call);
        match result {
            Ok(value) => {
                let cost = functions::size_hint(&value);
                self.spend(cost, span)?;
                Ok(mark(value, spread_sensitive))
            }
            Err(FunctionError { argument, message }) => {
                let at = argument.and_then(|i| spans.get(i).copied()).unwrap_or(span);
                let (which, label) = match argument {
                    Some(i) => (
                        format!(
                            "Argument {} of `{}` (`{}`) is invalid: {message}.",
                            i + 1,
                            function.name,
                            function.parameter_name(i)
                        ),
                        format!("invalid `{}`", function.parameter_name(i)),
                    ),
                    None => {
                        (format!("`{}` failed: {message}.", function.name), "this call failed".to_string())
                    }
                };
                Err(error(Code::FunctionError, at, which, &label).map_help(format!(
                    "`{}`: {}",
                    function.signature(),
                    function.doc
                )))
            }
        }
    }

    /// `try(a, b, ...)`: the first argument that evaluates without an error.
    /// An unknown argument makes the result unknown (whether it would fail
    /// is known only after apply).
    fn try_call(&mut self, args: &'r [Expr], span: Span) -> EvalResult {
        let mut last_error = None;
        for arg in args {
            let saved = self.bound.len();
            match self.eval(arg) {
                Ok(value) => return Ok(value),
                Err(diagnostic) => {
                    self.bound.truncate(saved);
                    // Exhausting the work budget is no failure `try` may hide.
                    if self.work > MAX_WORK || diagnostic.code == Code::NestingTooDeep {
                        return Err(diagnostic);
                    }
                    last_error = Some(diagnostic);
                }
            }
        }
        let message = match last_error {
            Some(d) => format!("Every argument of `try` failed; the last one: {}", d.message),
            None => "`try` needs at least one argument.".to_string(),
        };
        Err(error(Code::FunctionError, span, message, "no argument succeeded"))
    }

    /// `can(x)`: whether `x` evaluates without an error (unknown when `x` is).
    fn can_call(&mut self, args: &'r [Expr]) -> EvalResult {
        let [arg] = args else { return Ok(Value::Unknown) };
        let saved = self.bound.len();
        match self.eval(arg) {
            Ok(value) => {
                let (value, sensitive) = unmark(value);
                let known = if matches!(value, Value::Unknown) { Value::Unknown } else { Value::Bool(true) };
                Ok(mark(known, sensitive))
            }
            Err(diagnostic) => {
                self.bound.truncate(saved);
                if self.work > MAX_WORK || diagnostic.code == Code::NestingTooDeep {
                    return Err(diagnostic);
                }
                Ok(Value::Bool(false))
            }
        }
    }

    /// The (key, value) pairs a `for` iterates, or the result when it is
    /// known without iterating (unknown collection).
    pub(crate) fn iteration(&mut self, collection: Value, expr: &Expr, what: &str) -> EvalResult<Iteration> {
        let (collection, sensitive) = unmark(collection);
        let pairs = match collection {
            Value::Unknown => return Ok(Err(mark(Value::Unknown, sensitive))),
            Value::List(items) => {
                items.into_iter().enumerate().map(|(i, v)| (Value::Number(i as f64), v)).collect::<Vec<_>>()
            }
            Value::Object(fields) => fields.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
            other => {
                let shown = path_text(expr).map(|p| format!(" (`{p}`)")).unwrap_or_default();
                return Err(error(
                    Code::InvalidOperand,
                    expr.span,
                    format!(
                        "{what} iterates over a list or an object, but this{shown} is {}.",
                        type_name(&other)
                    ),
                    "not a list or object",
                )
                .map_help(if matches!(other, Value::Null) {
                    "iterate over `coalesce(x, [])`, or guard with a conditional".to_string()
                } else {
                    "iterate over a list or an object, e.g. `[for x in [a, b] : ...]`".to_string()
                }));
            }
        };
        self.spend(pairs.len() as u64, expr.span)?;
        Ok(Ok((pairs, sensitive)))
    }

    /// Binds `for` variables, runs `body`, unbinds.
    pub(crate) fn with_bound<T>(
        &mut self,
        key_var: Option<&'r crate::ast::Ident>,
        value_var: &'r crate::ast::Ident,
        key: Value,
        value: Value,
        body: impl FnOnce(&mut Self) -> EvalResult<T>,
    ) -> EvalResult<T> {
        let saved = self.bound.len();
        if let Some(k) = key_var {
            self.bound.push((&k.name, key));
        }
        self.bound.push((&value_var.name, value));
        let result = body(self);
        self.bound.truncate(saved);
        result
    }

    fn for_expr(&mut self, for_expr: &'r ForExpr) -> EvalResult {
        let collection = self.eval(&for_expr.collection)?;
        let (pairs, mut sensitive) =
            match self.iteration(collection, &for_expr.collection, "A `for` expression")? {
                Ok(found) => found,
                Err(known) => return Ok(known),
            };
        let mut list = Vec::new();
        let mut object: stackc_model::Fields = Default::default();
        let mut groups: IndexMap<String, Vec<Value>> = IndexMap::new();
        let mut unknown = false;
        for (key, value) in pairs {
            let step =
                self.with_bound(for_expr.key_var.as_ref(), &for_expr.value_var, key, value, |this| {
                    if let Some(condition) = &for_expr.condition {
                        let (keep, marked) = unmark(this.eval(condition)?);
                        match keep {
                            Value::Bool(true) => {}
                            Value::Bool(false) => return Ok(ForStep::Skip(marked)),
                            Value::Unknown => return Ok(ForStep::Unknown(marked)),
                            other => {
                                return Err(not_bool(
                                    "The `if` condition of a `for` expression",
                                    &mark(other, marked),
                                    condition,
                                ))
                            }
                        }
                        let mut step = this.for_item(for_expr)?;
                        if marked {
                            step = step.marked();
                        }
                        return Ok(step);
                    }
                    this.for_item(for_expr)
                })?;
            match step {
                ForStep::Skip(marked) => sensitive |= marked,
                ForStep::Unknown(marked) => {
                    sensitive |= marked;
                    unknown = true;
                }
                ForStep::Item(value) => list.push(value),
                ForStep::Entry(key_value, value, key_expr) => {
                    let (key_value, marked) = unmark(key_value);
                    sensitive |= marked;
                    let name = match key_value {
                        Value::Unknown => {
                            unknown = true;
                            continue;
                        }
                        other => object_key(other, key_expr, "The key of a `for` expression")?,
                    };
                    if for_expr.grouping {
                        groups.entry(name).or_default().push(value);
                    } else if object.contains_key(&name) {
                        return Err(error(
                            Code::DuplicateKey,
                            key_expr.span,
                            format!("Two elements of this `for` expression have the key `{name}`; an object's keys are unique."),
                            "this key repeats",
                        )
                        .map_help("make the key unique, or group the values with `...` after the value (`k => v...`)"));
                    } else {
                        object.insert(name, value);
                    }
                }
            }
        }
        if unknown {
            return Ok(mark(Value::Unknown, sensitive));
        }
        let result = match &for_expr.key {
            None => Value::List(list),
            Some(_) if for_expr.grouping => {
                Value::Object(groups.into_iter().map(|(k, v)| (k, Value::List(v))).collect())
            }
            Some(_) => Value::Object(object),
        };
        Ok(mark(result, sensitive))
    }

    fn for_item(&mut self, for_expr: &'r ForExpr) -> EvalResult<ForStep<'r>> {
        match &for_expr.key {
            None => Ok(ForStep::Item(self.eval(&for_expr.value)?)),
            Some(key) => {
                let key_value = self.eval(key)?;
                let value = self.eval(&for_expr.value)?;
                Ok(ForStep::Entry(key_value, value, key))
            }
        }
    }
}

/// Where [`follow`] starts: the value of the chain's root, or of its first
/// step (`root.name`, given by the roots).
#[derive(Clone, Copy)]
enum Start<'v> {
    Root(&'v Value),
    Member(&'v Value),
}

/// The name of the chain's first step (`x` in `root.x[0].y`), when it is one.
fn first_name(expr: &Expr) -> Option<&str> {
    let mut current = expr;
    loop {
        match &current.kind {
            ExprKind::GetAttr(inner, name) if matches!(inner.kind, ExprKind::Variable(_)) => {
                return Some(&name.name)
            }
            ExprKind::GetAttr(inner, _) | ExprKind::Index(inner, _) => current = inner,
            _ => return None,
        }
    }
}

/// Follows the chain `expr` (`root.a[i].b`) by reference from `start`;
/// `keys` are its index values, outermost first. Marks passed on the way
/// set `sensitive`. `None` where a step does not simply follow. Recursion
/// follows the chain, which `traversal` bounds.
fn follow<'v>(expr: &Expr, start: Start<'v>, keys: &'v [Value], sensitive: &mut bool) -> Option<&'v Value> {
    let (value, key) = match (&expr.kind, start) {
        (ExprKind::Variable(_), Start::Root(root)) => return Some(root),
        (ExprKind::GetAttr(inner, _), Start::Member(member))
            if matches!(inner.kind, ExprKind::Variable(_)) =>
        {
            return Some(member)
        }
        (ExprKind::GetAttr(inner, name), _) => {
            (follow(inner, start, keys, sensitive)?, FollowKey::Name(&name.name))
        }
        (ExprKind::Index(inner, _), _) => {
            let (key, inner_keys) = keys.split_first()?;
            (follow(inner, start, inner_keys, sensitive)?, FollowKey::Value(key))
        }
        _ => return None,
    };
    let mut value = value;
    while let Value::Sensitive(inner) = value {
        *sensitive = true;
        value = inner;
    }
    match (value, key) {
        (Value::Object(fields), FollowKey::Name(name)) => fields.get(name),
        (Value::Object(fields), FollowKey::Value(Value::String(name))) => fields.get(name),
        (Value::List(items), FollowKey::Value(Value::Number(n))) if n.fract() == 0.0 && *n >= 0.0 => {
            items.get(*n as usize)
        }
        _ => None,
    }
}

enum FollowKey<'k> {
    Name(&'k str),
    Value(&'k Value),
}

enum ForStep<'e> {
    /// Filtered out (whether the condition was sensitive).
    Skip(bool),
    /// The condition is unknown: so is the result.
    Unknown(bool),
    Item(Value),
    Entry(Value, Value, &'e Expr),
}

impl ForStep<'_> {
    fn marked(self) -> Self {
        match self {
            ForStep::Item(v) => ForStep::Item(v.into_sensitive()),
            ForStep::Entry(k, v, e) => ForStep::Entry(k.into_sensitive(), v, e),
            other => other,
        }
    }
}

/// The string an object key evaluates to: strings, numbers and bools.
fn object_key(value: Value, expr: &Expr, what: &str) -> EvalResult<String> {
    match value {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(format_number(n)),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(error(
            Code::InvalidOperand,
            expr.span,
            format!("{what} must be a string, but this is {}.", type_name(&other)),
            "not a string",
        )),
    }
}

/// E0314 for a condition that is not a bool.
pub(crate) fn not_bool(what: &str, value: &Value, expr: &Expr) -> Box<Diagnostic> {
    let shown = match value {
        Value::Null => "null".to_string(),
        other => format!("{} ({})", type_name(other), short(other)),
    };
    let name = path_text(expr).map(|p| format!(" `{p}`")).unwrap_or_default();
    error(
        Code::ConditionNotBool,
        expr.span,
        format!("{what} must be a bool (true or false), but{name} is {shown}."),
        "not a bool",
    )
    .map_help("write a comparison or a bool expression, e.g. `x > 0` or `x != \"\"`")
}

/// A value for a message: short, and never a sensitive one.
pub(crate) fn short(value: &Value) -> String {
    if value.has_sensitive() {
        return "(sensitive)".into();
    }
    let text = value.to_string();
    if text.chars().count() > 40 {
        let cut: String = text.chars().take(37).collect();
        format!("{cut}...")
    } else {
        text
    }
}

pub(crate) trait DiagnosticExt {
    fn map_help(self, help: impl Into<String>) -> Self;
}

impl DiagnosticExt for Box<Diagnostic> {
    fn map_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}
