//! Type inference of expressions: the static type of an expression from the
//! declared types of what it names (variables, params, instance outputs),
//! the types of literals, and the function library's return types.
//!
//! Why: before apply many values are unknown (an instance's URL, a
//! resource's id), and the evaluator cannot find a mistake in an operation
//! on a value it does not have. Inference checks such expressions "by type
//! alone": `service.api.url * 2` is an error because `url` is declared a
//! string, whatever its value will be.
//!
//! It reports only what must fail for every value of the types involved:
//! an operand of the wrong type (E0308), a condition that is not a bool
//! (E0314), an attribute a closed object type does not have or an access on
//! a string (E0310), a function argument of the wrong kind (E0313). Where a
//! type is not known it is [`Type::Any`], which fits everything, so
//! inference never rejects what evaluation would accept. Inside `try(...)`
//! and `can(...)` nothing is reported: catching errors is what they are for.
//!
//! The checker runs it before evaluating an expression and evaluates only
//! when it found nothing, so one mistake gives one diagnostic.

use crate::ast::{BinaryOp, Expr, ExprKind, ForExpr, Ident, SplatStep, TemplatePart, UnaryOp};
use crate::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::types::{ObjectField, Type};
use indexmap::IndexMap;

/// Deepest recursion (the parser bounds expression height far below this).
const MAX_DEPTH: usize = 512;

/// The static types of root names.
pub trait TypeRoots {
    /// The type of a root name (`var`, `param`, `service`, ...); `None`: not known (treated as `Any`).
    fn root_type(&self, name: &str) -> Option<&Type>;
    /// The type of `root.name`, for roots that can give it without their
    /// whole type (see `Roots::member`); `None`: follow [`TypeRoots::root_type`].
    fn member_type(&self, _root: &str, _name: &str) -> Option<&Type> {
        None
    }
    /// The declared outputs of a component kind, as an object type (for
    /// reference-typed values: `param.to.url`).
    fn kind_outputs(&self, _kind: &str) -> Option<&Type> {
        None
    }
}

impl TypeRoots for IndexMap<String, Type> {
    fn root_type(&self, name: &str) -> Option<&Type> {
        self.get(name)
    }
}

/// Infers the type of `expr`, pushing what certainly fails into `diagnostics`.
pub fn infer(expr: &Expr, roots: &dyn TypeRoots, diagnostics: &mut Vec<Diagnostic>) -> Type {
    let mut inference = Inference { roots, bound: Vec::new(), diagnostics, depth: 0, quiet: 0 };
    let ty = inference.expr(expr);
    // A chain of locals each wrapping the previous one would nest types
    // without bound (and clone them quadratically): past this depth the
    // type is not tracked (`any`); the evaluator bounds the values.
    if ty.deeper_than(MAX_TYPE_DEPTH) {
        return Type::Any;
    }
    ty
}

/// Deepest nesting of list, map and object types inference keeps.
pub const MAX_TYPE_DEPTH: usize = 32;

struct Inference<'r, 'd> {
    roots: &'r dyn TypeRoots,
    /// `for` variables, innermost last.
    bound: Vec<(String, Type)>,
    diagnostics: &'d mut Vec<Diagnostic>,
    depth: usize,
    /// Inside `try`/`can`: nothing is reported.
    quiet: usize,
}

/// The type of a path so far: borrowed from the roots' types, or computed.
enum PathType<'r> {
    Borrowed(&'r Type),
    Owned(Type),
}

impl PathType<'_> {
    fn into_owned(self) -> Type {
        match self {
            PathType::Borrowed(ty) => ty.clone(),
            PathType::Owned(ty) => ty,
        }
    }
}

/// One step of a path: `.name` or `[index]` (with the index's type), and what it applies to.
enum Step<'e> {
    Attr(&'e Ident, &'e Expr),
    Index(&'e Expr, Type, &'e Expr),
}

/// Where a step leads from a value of type `ty`, when it simply follows;
/// `None` when the general rules must decide (and report).
fn follow<'t>(roots: &'t dyn TypeRoots, ty: &'t Type, step: &Step<'_>) -> Option<&'t Type> {
    static ANY: Type = Type::Any;
    match (ty.base(), step) {
        (Type::Any, _) => Some(&ANY),
        (Type::Object(fields), Step::Attr(name, _)) => fields.get(&name.name).map(|f| &f.ty),
        (Type::Map(element), _) => Some(element.as_ref()),
        (Type::List(element), Step::Index(_, index_type, _))
            if is_number(index_type) || matches!(index_type.base(), Type::String) =>
        {
            Some(element.as_ref())
        }
        (Type::Ref(kind), Step::Attr(name, _)) => match roots.kind_outputs(kind)? {
            Type::Object(fields) => fields.get(&name.name).map(|f| &f.ty),
            _ => None,
        },
        _ => None,
    }
}

/// A short name of a type for messages: `a string`, `list(string)`.
fn describe(ty: &Type) -> String {
    match ty.base() {
        Type::String => "a string".into(),
        Type::Number => "a number".into(),
        Type::Bool => "a bool".into(),
        Type::Quantity => "a quantity (a string such as \"20Gi\")".into(),
        Type::Duration => "a duration (a string such as \"30s\")".into(),
        Type::Port => "a port (a number)".into(),
        Type::Ref(kind) => format!("a reference to a `{kind}`"),
        Type::Object(_) => "an object".into(),
        other => format!("of type `{other}`"),
    }
}

fn is_number(ty: &Type) -> bool {
    matches!(ty.base(), Type::Any | Type::Number | Type::Port)
}

fn is_bool(ty: &Type) -> bool {
    matches!(ty.base(), Type::Any | Type::Bool)
}

/// Whether a template can insert a value of this type.
fn is_scalar(ty: &Type) -> bool {
    !matches!(ty.base(), Type::List(_) | Type::Map(_) | Type::Object(_) | Type::Ref(_))
}

fn name_of(expr: &Expr) -> String {
    crate::eval::path_text(expr).map(|p| format!(" `{p}`")).unwrap_or_default()
}

/// The common type of two, or `Any`.
fn unify(a: Type, b: Type) -> Type {
    if a == b {
        a
    } else if matches!(a, Type::Any) || matches!(b, Type::Any) {
        Type::Any
    } else {
        match (a.base(), b.base()) {
            (Type::List(x), Type::List(y)) => {
                Type::List(Box::new(unify(x.as_ref().clone(), y.as_ref().clone())))
            }
            (Type::Map(x), Type::Map(y)) => {
                Type::Map(Box::new(unify(x.as_ref().clone(), y.as_ref().clone())))
            }
            (x, y) if x == y => x.clone(),
            _ => Type::Any,
        }
    }
}

impl<'r> Inference<'r, '_> {
    fn report(&mut self, diagnostic: Diagnostic) {
        if self.quiet == 0 {
            self.diagnostics.push(diagnostic);
        }
    }

    fn expr(&mut self, expr: &Expr) -> Type {
        if self.depth >= MAX_DEPTH {
            return Type::Any;
        }
        self.depth += 1;
        let ty = self.kind(expr);
        self.depth -= 1;
        ty
    }

    fn kind(&mut self, expr: &Expr) -> Type {
        match &expr.kind {
            ExprKind::Null => Type::Any,
            ExprKind::Bool(_) => Type::Bool,
            ExprKind::Number(_) => Type::Number,
            ExprKind::Template(parts) => self.template(parts),
            ExprKind::List(items) => {
                let mut element: Option<Type> = None;
                for item in items {
                    let ty = self.expr(item);
                    element = Some(match element {
                        None => ty,
                        Some(previous) => unify(previous, ty),
                    });
                }
                Type::List(Box::new(element.unwrap_or(Type::Any)))
            }
            ExprKind::Object(fields) => {
                let mut out = IndexMap::with_capacity(fields.len());
                let mut closed = true;
                for (key, value) in fields {
                    let key_name = key.key_name();
                    if key_name.is_none() {
                        self.expr(key);
                        closed = false;
                    }
                    let ty = self.expr(value);
                    if let Some(name) = key_name {
                        out.insert(name, ObjectField { ty, optional: false });
                    }
                }
                if closed {
                    Type::Object(out)
                } else {
                    Type::Any
                }
            }
            ExprKind::Paren(inner) => self.expr(inner),
            ExprKind::Variable(_) | ExprKind::GetAttr(..) | ExprKind::Index(..) => self.traversal(expr),
            ExprKind::Splat(inner, steps) => {
                let base = self.expr(inner);
                let element = match base.base() {
                    Type::List(element) => element.as_ref().clone(),
                    Type::Any => Type::Any,
                    other => other.clone(),
                };
                let mut current = element;
                for (n, step) in steps.iter().enumerate() {
                    // The first step applies to each element of the list.
                    // Worded only for an error.
                    let of = || match crate::eval::path_text(inner) {
                        Some(p) if n == 0 => format!("each element of `{p}`"),
                        _ => "this value".to_string(),
                    };
                    current = match step {
                        SplatStep::Attr(name) => self.attribute_of(&current, name, &of),
                        SplatStep::Index(index) => {
                            let index_type = self.expr(index);
                            self.index_of(&current, index, &index_type, &of)
                        }
                    };
                }
                Type::List(Box::new(current))
            }
            ExprKind::Call(name, args, expand) => self.call(name, args, *expand),
            ExprKind::Unary(op, operand) => {
                let ty = self.expr(operand);
                match op {
                    UnaryOp::Neg => {
                        if !is_number(&ty) {
                            self.operand_error("-", "numbers", "the operand", &ty, operand);
                        }
                        Type::Number
                    }
                    UnaryOp::Not => {
                        if !is_bool(&ty) {
                            self.operand_error("!", "bools", "the operand", &ty, operand);
                        }
                        Type::Bool
                    }
                }
            }
            ExprKind::Binary(op, left, right) => {
                let l = self.expr(left);
                let r = self.expr(right);
                match op {
                    BinaryOp::Eq | BinaryOp::NotEq => Type::Bool,
                    BinaryOp::And | BinaryOp::Or => {
                        if !is_bool(&l) {
                            self.operand_error(op.as_str(), "bools", "the left operand", &l, left);
                        } else if !is_bool(&r) {
                            self.operand_error(op.as_str(), "bools", "the right operand", &r, right);
                        }
                        Type::Bool
                    }
                    _ => {
                        if !is_number(&l) {
                            self.operand_error(op.as_str(), "numbers", "the left operand", &l, left);
                        } else if !is_number(&r) {
                            self.operand_error(op.as_str(), "numbers", "the right operand", &r, right);
                        }
                        match op {
                            BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq => Type::Bool,
                            _ => Type::Number,
                        }
                    }
                }
            }
            ExprKind::Conditional(condition, then, otherwise) => {
                let ty = self.expr(condition);
                if !is_bool(&ty) {
                    self.not_bool("The condition of a conditional expression", &ty, condition);
                }
                let a = self.expr(then);
                let b = self.expr(otherwise);
                match (&then.kind, &otherwise.kind) {
                    (ExprKind::Null, _) => b,
                    (_, ExprKind::Null) => a,
                    _ => unify(a, b),
                }
            }
            ExprKind::For(for_expr) => self.for_expr(for_expr),
        }
    }

    /// `root.a[i].b`: followed by reference through the roots' types (which
    /// may be large: an object of every instance of a kind), cloning only
    /// what the path reaches. Where a step does not simply follow (a missing
    /// attribute, a scalar), the general rules take over and report.
    fn traversal(&mut self, expr: &Expr) -> Type {
        let mut current = expr;
        let mut steps = 0;
        while let ExprKind::GetAttr(inner, _) | ExprKind::Index(inner, _) = &current.kind {
            current = inner;
            steps += 1;
            if steps > MAX_DEPTH {
                return Type::Any;
            }
        }
        self.chain(expr).into_owned()
    }

    /// The type of the chain `expr`, from its root outwards (so index
    /// expressions are inferred in source order): borrowed from the roots'
    /// types while each step simply follows. Recursion follows the chain,
    /// which `traversal` bounds.
    fn chain(&mut self, expr: &Expr) -> PathType<'r> {
        match &expr.kind {
            ExprKind::Variable(root) => {
                if let Some((_, ty)) = self.bound.iter().rev().find(|(n, _)| *n == root.name) {
                    return PathType::Owned(ty.clone());
                }
                let roots = self.roots;
                match roots.root_type(&root.name) {
                    Some(ty) => PathType::Borrowed(ty),
                    None => PathType::Owned(Type::Any),
                }
            }
            ExprKind::GetAttr(inner, name) => {
                // `kind.name`: the roots may answer without the kind's whole type.
                if let ExprKind::Variable(root) = &inner.kind {
                    let roots = self.roots;
                    if !self.bound.iter().any(|(n, _)| *n == root.name) {
                        if let Some(ty) = roots.member_type(&root.name, &name.name) {
                            return PathType::Borrowed(ty);
                        }
                    }
                }
                let base = self.chain(inner);
                self.step(base, Step::Attr(name, inner))
            }
            ExprKind::Index(inner, index) => {
                let base = self.chain(inner);
                let index_type = self.expr(index);
                self.step(base, Step::Index(index, index_type, inner))
            }
            // Not a plain path (`f(x).a`): the general rules, step by step.
            _ => PathType::Owned(self.expr(expr)),
        }
    }

    /// One step of a chain after a value of type `base`.
    fn step(&mut self, base: PathType<'r>, step: Step<'_>) -> PathType<'r> {
        let roots = self.roots;
        let base = match base {
            PathType::Borrowed(ty) => match follow(roots, ty, &step) {
                Some(next) => return PathType::Borrowed(next),
                None => ty.clone(),
            },
            PathType::Owned(ty) => match follow(roots, &ty, &step) {
                Some(next) => return PathType::Owned(next.clone()),
                None => ty,
            },
        };
        PathType::Owned(match step {
            Step::Attr(name, inner) => self.attribute(&base, name, inner),
            Step::Index(index, index_type, inner) => self.index(&base, index, &index_type, inner),
        })
    }

    fn operand_error(&mut self, op: &str, takes: &str, which: &str, ty: &Type, expr: &Expr) {
        let kind = describe(ty);
        let help = match (takes, ty.base()) {
            ("numbers", Type::String | Type::Quantity | Type::Duration) => "convert it with `tonumber(...)`",
            ("bools", _) => "write a comparison, e.g. `x > 0` or `x != \"\"`",
            _ => "use a value of the right type",
        };
        self.report(
            Diagnostic::new(
                Code::InvalidOperand,
                expr.span,
                format!("`{op}` works on {takes}, but {which}{} is {kind}.", name_of(expr)),
            )
            .with_label(format!("{kind}, not {}", if takes == "numbers" { "a number" } else { "a bool" }))
            .with_help(help),
        );
    }

    fn not_bool(&mut self, what: &str, ty: &Type, expr: &Expr) {
        self.report(
            Diagnostic::new(
                Code::ConditionNotBool,
                expr.span,
                format!("{what} must be a bool (true or false), but{} is {}.", name_of(expr), describe(ty)),
            )
            .with_label("not a bool")
            .with_help("write a comparison or a bool expression, e.g. `x > 0` or `x != \"\"`"),
        );
    }

    fn attribute(&mut self, base: &Type, name: &Ident, inner: &Expr) -> Type {
        self.attribute_of(base, name, &|| subject(inner))
    }

    /// `.name` on a value of type `base`, which messages call `of()`
    /// (worded only for an error).
    fn attribute_of(&mut self, base: &Type, name: &Ident, of: &dyn Fn() -> String) -> Type {
        match base.base() {
            Type::Any => Type::Any,
            Type::Map(element) => element.as_ref().clone(),
            Type::Object(fields) => match fields.get(&name.name) {
                Some(field) => field.ty.clone(),
                None => {
                    let help =
                        did_you_mean(&name.name, fields.keys().map(String::as_str)).unwrap_or_else(|| {
                            let names: Vec<String> =
                                fields.keys().take(8).map(|k| format!("`{k}`")).collect();
                            if names.is_empty() {
                                "the object has no attributes".to_string()
                            } else {
                                format!("its attributes are {}", names.join(", "))
                            }
                        });
                    self.report(
                        Diagnostic::new(
                            Code::InvalidIndex,
                            name.span,
                            format!(
                                "{} has no attribute `{}`: its type is `{base}`.",
                                capitalize(&of()),
                                name.name
                            ),
                        )
                        .with_label("no such attribute")
                        .with_help(help),
                    );
                    Type::Any
                }
            },
            Type::Ref(kind) => {
                let kind = kind.clone();
                match self.roots.kind_outputs(&kind).cloned() {
                    Some(outputs) => self.attribute_of(&outputs, name, of),
                    None => Type::Any,
                }
            }
            Type::List(_) => {
                self.report(
                    Diagnostic::new(
                        Code::InvalidIndex,
                        name.span,
                        format!(
                            "{} is a list (`{base}`), which has no attribute `{}`.",
                            capitalize(&of()),
                            name.name
                        ),
                    )
                    .with_label("not an object")
                    .with_help(format!(
                        "index one element (`[0].{0}`), or take it from every element with `[*].{0}`",
                        name.name
                    )),
                );
                Type::Any
            }
            scalar => {
                self.report(
                    Diagnostic::new(
                        Code::InvalidIndex,
                        name.span,
                        format!("{} is {}, which has no attributes.", capitalize(&of()), describe(scalar)),
                    )
                    .with_label("not an object"),
                );
                Type::Any
            }
        }
    }

    fn index(&mut self, base: &Type, index: &Expr, index_type: &Type, inner: &Expr) -> Type {
        self.index_of(base, index, index_type, &|| subject(inner))
    }

    /// `[index]` on a value of type `base`, which messages call `of()`
    /// (worded only for an error).
    fn index_of(&mut self, base: &Type, index: &Expr, index_type: &Type, of: &dyn Fn() -> String) -> Type {
        match base.base() {
            Type::Any => Type::Any,
            Type::List(element) => {
                if matches!(index_type.base(), Type::Bool | Type::List(_) | Type::Map(_) | Type::Object(_)) {
                    self.report(
                        Diagnostic::new(
                            Code::InvalidIndex,
                            index.span,
                            format!(
                                "A list is indexed by a number, but this index is {}.",
                                describe(index_type)
                            ),
                        )
                        .with_label("not a number"),
                    );
                }
                element.as_ref().clone()
            }
            Type::Map(element) => element.as_ref().clone(),
            Type::Object(fields) => match index.key_name() {
                Some(key) => match fields.get(&key) {
                    Some(field) => field.ty.clone(),
                    None => {
                        let ident = Ident { name: key, span: index.span };
                        self.attribute_of(base, &ident, of)
                    }
                },
                None => Type::Any,
            },
            Type::Ref(_) => Type::Any,
            scalar => {
                self.report(
                    Diagnostic::new(
                        Code::InvalidIndex,
                        index.span,
                        format!("{} is {}, which cannot be indexed.", capitalize(&of()), describe(scalar)),
                    )
                    .with_label("cannot index"),
                );
                Type::Any
            }
        }
    }

    /// Key and value types of iterating a collection of type `ty`; `None` when it cannot be iterated.
    fn iteration(&mut self, ty: &Type, expr: &Expr, what: &str) -> (Type, Type) {
        match ty.base() {
            Type::List(element) => (Type::Number, element.as_ref().clone()),
            Type::Map(element) => (Type::String, element.as_ref().clone()),
            Type::Object(_) | Type::Any | Type::Ref(_) => (Type::Any, Type::Any),
            scalar => {
                self.report(
                    Diagnostic::new(
                        Code::InvalidOperand,
                        expr.span,
                        format!(
                            "{what} iterates over a list or an object, but{} is {}.",
                            name_of(expr),
                            describe(scalar)
                        ),
                    )
                    .with_label("not a list or object")
                    .with_help("iterate over a list or an object, e.g. `[for x in [a, b] : ...]`"),
                );
                (Type::Any, Type::Any)
            }
        }
    }

    fn bind<T>(
        &mut self,
        key_var: Option<&Ident>,
        value_var: &Ident,
        key: Type,
        value: Type,
        body: impl FnOnce(&mut Self) -> T,
    ) -> T {
        let saved = self.bound.len();
        if let Some(k) = key_var {
            self.bound.push((k.name.clone(), key));
        }
        self.bound.push((value_var.name.clone(), value));
        let result = body(self);
        self.bound.truncate(saved);
        result
    }

    fn for_expr(&mut self, for_expr: &ForExpr) -> Type {
        let collection = self.expr(&for_expr.collection);
        let (key, value) = self.iteration(&collection, &for_expr.collection, "A `for` expression");
        self.bind(for_expr.key_var.as_ref(), &for_expr.value_var, key, value, |this| {
            if let Some(condition) = &for_expr.condition {
                let ty = this.expr(condition);
                if !is_bool(&ty) {
                    this.not_bool("The `if` condition of a `for` expression", &ty, condition);
                }
            }
            if let Some(key) = &for_expr.key {
                let ty = this.expr(key);
                if !is_scalar(&ty) {
                    this.report(
                        Diagnostic::new(
                            Code::InvalidOperand,
                            key.span,
                            format!(
                                "The key of a `for` expression must be a string, but{} is {}.",
                                name_of(key),
                                describe(&ty)
                            ),
                        )
                        .with_label("not a string"),
                    );
                }
            }
            let value = this.expr(&for_expr.value);
            match (&for_expr.key, for_expr.grouping) {
                (None, _) => Type::List(Box::new(value)),
                (Some(_), false) => Type::Map(Box::new(value)),
                (Some(_), true) => Type::Map(Box::new(Type::List(Box::new(value)))),
            }
        })
    }

    fn template(&mut self, parts: &[TemplatePart]) -> Type {
        if let [TemplatePart::Interpolation(only)] = parts {
            return self.expr(only);
        }
        self.template_parts(parts);
        Type::String
    }

    fn template_parts(&mut self, parts: &[TemplatePart]) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        for part in parts {
            match part {
                TemplatePart::Literal(_) => {}
                TemplatePart::Interpolation(expr) => {
                    let ty = self.expr(expr);
                    if !is_scalar(&ty) {
                        self.report(
                            Diagnostic::new(
                                Code::InvalidOperand,
                                expr.span,
                                format!(
                                    "A template can only insert strings, numbers and bools, but{} is {}.",
                                    name_of(expr),
                                    describe(&ty)
                                ),
                            )
                            .with_label(format!("{} in a template", describe(&ty)))
                            .with_help(match ty.base() {
                                Type::List(_) => "join the elements first: `${join(\", \", x)}`",
                                _ => "interpolate one of its attributes, or `${jsonencode(x)}`",
                            }),
                        );
                    }
                }
                TemplatePart::If(condition, then, otherwise) => {
                    let ty = self.expr(condition);
                    if !is_bool(&ty) {
                        self.not_bool("The condition of a template `%{if}`", &ty, condition);
                    }
                    self.template_parts(then);
                    self.template_parts(otherwise);
                }
                TemplatePart::For(key_var, value_var, collection, body) => {
                    let ty = self.expr(collection);
                    let (key, value) = self.iteration(&ty, collection, "A template `%{for}`");
                    self.bind(key_var.as_deref(), value_var, key, value, |this| this.template_parts(body));
                }
            }
        }
        self.depth -= 1;
    }

    fn call(&mut self, name: &Ident, args: &[Expr], expand: bool) -> Type {
        let Some(function) = crate::functions::lookup(&name.name) else {
            for arg in args {
                self.expr(arg);
            }
            return Type::Any;
        };
        let lazy = function.policy == crate::functions::Policy::Lazy;
        if lazy {
            self.quiet += 1;
        }
        let types: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
        if lazy {
            self.quiet -= 1;
        }
        if !lazy {
            let checked = if expand { args.len().saturating_sub(1) } else { args.len() };
            for (i, (arg, ty)) in args.iter().zip(&types).enumerate().take(checked) {
                let Some(param) = function.param(i) else { continue };
                if !param.kind.accepts_type(ty) {
                    self.report(
                        Diagnostic::new(
                            Code::FunctionError,
                            arg.span,
                            format!(
                                "Argument {} of `{}` (`{}`) must be {}, but{} is {}.",
                                i + 1,
                                function.name,
                                param.name,
                                param.kind.describe(),
                                name_of(arg),
                                describe(ty)
                            ),
                        )
                        .with_label(format!("invalid `{}`", param.name))
                        .with_help(format!(
                            "`{}`: {}",
                            function.signature(),
                            function.doc
                        )),
                    );
                    return Type::Any;
                }
            }
        }
        if expand {
            return Type::Any;
        }
        let ty = (function.returns)(&types);
        if function.name == "sensitive" || function.name == "nonsensitive" {
            return ty;
        }
        ty.base().clone()
    }
}

/// What a step applies to, for messages: `` `local.zones` ``, or "this value".
fn subject(inner: &Expr) -> String {
    crate::eval::path_text(inner).map(|p| format!("`{p}`")).unwrap_or_else(|| "this value".into())
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
