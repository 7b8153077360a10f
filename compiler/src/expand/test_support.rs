//! Test doubles for the expansion tests: a lowering of hcl-edit's tree to
//! the AST and an evaluator, both covering only the subset of the language
//! the tests and the stdlib bodies use (literals, templates, lists, objects,
//! traversals, conditionals, `for`, operators, and a few functions). The
//! real ones are the front end's `syntax` and the expressions engineer's
//! `eval`; this lets expansion and the stdlib be tested on their own.

use super::scope::{Evaluator, Roots};
use crate::ast::{self, BinaryOp, Expr, ExprKind, Ident, TemplatePart};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use crate::value::Value;
use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::structure::{BlockLabel, Structure};
use hcl_edit::template::Element;
use hcl_edit::Span as _;

fn span(file: FileId, range: Option<std::ops::Range<usize>>) -> Span {
    Span::new(file, range.unwrap_or(0..0))
}

pub fn parse(file: FileId, text: &str) -> ast::File {
    let body: hcl_edit::structure::Body = text.parse().expect("test input parses");
    ast::File { id: file, body: lower_body(file, &body) }
}

fn lower_body(file: FileId, body: &hcl_edit::structure::Body) -> ast::Body {
    let mut out = ast::Body::default();
    for structure in body.iter() {
        match structure {
            Structure::Attribute(a) => out.attributes.push(ast::Attribute {
                name: Ident { name: a.key.to_string(), span: span(file, a.key.span()) },
                value: lower(file, &a.value),
                span: span(file, a.span()),
            }),
            Structure::Block(b) => out.blocks.push(ast::Block {
                kind: Ident { name: b.ident.to_string(), span: span(file, b.ident.span()) },
                labels: b
                    .labels
                    .iter()
                    .map(|l| match l {
                        BlockLabel::Ident(i) => Ident { name: i.to_string(), span: span(file, i.span()) },
                        // As the real lowering: the span leaves out the quotes.
                        BlockLabel::String(s) => Ident {
                            name: s.to_string(),
                            span: span(
                                file,
                                s.span().map(|r| (r.start + 1)..r.end.saturating_sub(1).max(r.start + 1)),
                            ),
                        },
                    })
                    .collect(),
                body: lower_body(file, &b.body),
                span: span(file, b.span()),
            }),
        }
    }
    out
}

fn lower(file: FileId, expr: &Expression) -> Expr {
    let at = span(file, expr.span());
    let kind = match expr {
        Expression::Null(_) => ExprKind::Null,
        Expression::Bool(b) => ExprKind::Bool(*b.value()),
        Expression::Number(n) => ExprKind::Number(n.value().as_f64().unwrap_or(0.0)),
        Expression::String(s) => ExprKind::Template(vec![TemplatePart::Literal(s.value().clone())]),
        Expression::StringTemplate(t) => ExprKind::Template(
            t.iter()
                .map(|e| match e {
                    Element::Literal(l) => TemplatePart::Literal(l.value().clone()),
                    Element::Interpolation(i) => TemplatePart::Interpolation(lower(file, &i.expr)),
                    Element::Directive(_) => panic!("directives are not used in these tests"),
                })
                .collect(),
        ),
        Expression::Array(items) => ExprKind::List(items.iter().map(|e| lower(file, e)).collect()),
        Expression::Object(object) => ExprKind::Object(
            object
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        ObjectKey::Ident(i) => Expr {
                            kind: ExprKind::Template(vec![TemplatePart::Literal(i.to_string())]),
                            span: span(file, i.span()),
                        },
                        ObjectKey::Expression(e) => lower(file, e),
                    };
                    (key, lower(file, v.expr()))
                })
                .collect(),
        ),
        Expression::Parenthesis(p) => ExprKind::Paren(Box::new(lower(file, p.inner()))),
        Expression::Variable(v) => ExprKind::Variable(Ident { name: v.to_string(), span: at }),
        Expression::Conditional(c) => ExprKind::Conditional(
            Box::new(lower(file, &c.cond_expr)),
            Box::new(lower(file, &c.true_expr)),
            Box::new(lower(file, &c.false_expr)),
        ),
        Expression::FuncCall(f) => ExprKind::Call(
            Ident { name: f.name.name.to_string(), span: at },
            f.args.iter().map(|a| lower(file, a)).collect(),
            false,
        ),
        Expression::Traversal(t) => {
            let mut current = lower(file, &t.expr);
            for operator in &t.operators {
                let kind = match operator.value() {
                    TraversalOperator::GetAttr(name) => ExprKind::GetAttr(
                        Box::new(current),
                        Ident { name: name.to_string(), span: span(file, name.span()) },
                    ),
                    TraversalOperator::Index(index) => {
                        ExprKind::Index(Box::new(current), Box::new(lower(file, index)))
                    }
                    TraversalOperator::LegacyIndex(i) => ExprKind::Index(
                        Box::new(current),
                        Box::new(Expr { kind: ExprKind::Number(*i.value() as f64), span: at }),
                    ),
                    _ => panic!("splats are not used in these tests"),
                };
                current = Expr { kind, span: at };
            }
            return Expr { kind: current.kind, span: at };
        }
        Expression::UnaryOp(op) => {
            let operator = match op.operator.value() {
                hcl_edit::expr::UnaryOperator::Neg => ast::UnaryOp::Neg,
                hcl_edit::expr::UnaryOperator::Not => ast::UnaryOp::Not,
            };
            ExprKind::Unary(operator, Box::new(lower(file, &op.expr)))
        }
        Expression::ForExpr(f) => ExprKind::For(Box::new(ast::ForExpr {
            key_var: f.intro.key_var.as_ref().map(|k| Ident { name: k.to_string(), span: at }),
            value_var: Ident { name: f.intro.value_var.to_string(), span: at },
            collection: lower(file, &f.intro.collection_expr),
            key: f.key_expr.as_ref().map(|k| lower(file, k)),
            value: lower(file, &f.value_expr),
            grouping: f.grouping,
            condition: f.cond.as_ref().map(|c| lower(file, &c.expr)),
        })),
        Expression::BinaryOp(op) => {
            use hcl_edit::expr::BinaryOperator as B;
            let operator = match op.operator.value() {
                B::Eq => BinaryOp::Eq,
                B::NotEq => BinaryOp::NotEq,
                B::Plus => BinaryOp::Add,
                B::Minus => BinaryOp::Sub,
                B::Mul => BinaryOp::Mul,
                B::Div => BinaryOp::Div,
                B::Mod => BinaryOp::Mod,
                B::Less => BinaryOp::Lt,
                B::LessEq => BinaryOp::LtEq,
                B::Greater => BinaryOp::Gt,
                B::GreaterEq => BinaryOp::GtEq,
                B::And => BinaryOp::And,
                B::Or => BinaryOp::Or,
            };
            ExprKind::Binary(
                operator,
                Box::new(lower(file, &op.lhs_expr)),
                Box::new(lower(file, &op.rhs_expr)),
            )
        }
        other => panic!("not used in these tests: {other:?}"),
    };
    Expr { kind, span: at }
}

/// Evaluates the subset above. Unknown operands give unknown results.
#[derive(Debug)]
pub struct TestEvaluator;

impl Evaluator for TestEvaluator {
    fn evaluate(&self, expr: &Expr, roots: &dyn Roots) -> Result<Value, Diagnostic> {
        let error = |message: String| Diagnostic::new(Code::InvalidIndex, expr.span, message);
        Ok(match &expr.kind {
            ExprKind::Null => Value::Null,
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Number(n) => Value::Number(*n),
            ExprKind::Template(parts) => {
                let mut text = String::new();
                for part in parts {
                    match part {
                        TemplatePart::Literal(l) => text.push_str(l),
                        TemplatePart::Interpolation(e) => match self.evaluate(e, roots)? {
                            Value::Unknown => return Ok(Value::Unknown),
                            Value::String(s) => text.push_str(&s),
                            Value::Number(n) => text.push_str(&crate::value::format_number(n)),
                            other => text.push_str(&other.to_string()),
                        },
                        _ => unreachable!(),
                    }
                }
                Value::String(text)
            }
            ExprKind::List(items) => {
                Value::List(items.iter().map(|e| self.evaluate(e, roots)).collect::<Result<_, _>>()?)
            }
            ExprKind::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| {
                        let key = self.evaluate(k, roots)?.as_str().unwrap_or_default().to_string();
                        Ok((key, self.evaluate(v, roots)?))
                    })
                    .collect::<Result<_, Diagnostic>>()?,
            ),
            ExprKind::Paren(inner) => self.evaluate(inner, roots)?,
            ExprKind::Variable(name) => {
                roots.root(&name.name).ok_or_else(|| error(format!("unknown name `{}`", name.name)))?
            }
            ExprKind::GetAttr(inner, name) => match self.evaluate(inner, roots)? {
                Value::Unknown => Value::Unknown,
                value => value
                    .get_path(&[&name.name])
                    .cloned()
                    .ok_or_else(|| error(format!("no `{}`", name.name)))?,
            },
            ExprKind::Index(inner, index) => {
                let (value, index) = (self.evaluate(inner, roots)?, self.evaluate(index, roots)?);
                match (&value, &index) {
                    (Value::Unknown, _) | (_, Value::Unknown) => Value::Unknown,
                    (Value::List(items), Value::Number(n)) => {
                        items.get(*n as usize).cloned().ok_or_else(|| error("index out of range".into()))?
                    }
                    (Value::Object(fields), Value::String(key)) => {
                        fields.get(key).cloned().ok_or_else(|| error(format!("no key `{key}`")))?
                    }
                    _ => return Err(error("cannot index".into())),
                }
            }
            ExprKind::Conditional(condition, then, otherwise) => match self.evaluate(condition, roots)? {
                Value::Bool(true) => self.evaluate(then, roots)?,
                Value::Bool(false) => self.evaluate(otherwise, roots)?,
                _ => Value::Unknown,
            },
            ExprKind::Binary(op, left, right) => {
                let (l, r) = (self.evaluate(left, roots)?, self.evaluate(right, roots)?);
                if matches!(l, Value::Unknown) || matches!(r, Value::Unknown) {
                    return Ok(Value::Unknown);
                }
                let (a, b) = (l.as_f64().unwrap_or(0.0), r.as_f64().unwrap_or(0.0));
                match op {
                    BinaryOp::Eq => Value::Bool(l.unmarked() == r.unmarked()),
                    BinaryOp::NotEq => Value::Bool(l.unmarked() != r.unmarked()),
                    BinaryOp::Add => Value::Number(a + b),
                    BinaryOp::Sub => Value::Number(a - b),
                    BinaryOp::Mul => Value::Number(a * b),
                    BinaryOp::Div => Value::Number(a / b),
                    BinaryOp::Mod => Value::Number(a % b),
                    BinaryOp::Lt => Value::Bool(a < b),
                    BinaryOp::LtEq => Value::Bool(a <= b),
                    BinaryOp::Gt => Value::Bool(a > b),
                    BinaryOp::GtEq => Value::Bool(a >= b),
                    BinaryOp::And => Value::Bool(l.as_bool() == Some(true) && r.as_bool() == Some(true)),
                    BinaryOp::Or => Value::Bool(l.as_bool() == Some(true) || r.as_bool() == Some(true)),
                }
            }
            ExprKind::Unary(op, inner) => match (op, self.evaluate(inner, roots)?) {
                (_, Value::Unknown) => Value::Unknown,
                (ast::UnaryOp::Neg, v) => Value::Number(-v.as_f64().unwrap_or(0.0)),
                (ast::UnaryOp::Not, v) => Value::Bool(v.as_bool() != Some(true)),
            },
            ExprKind::For(for_expr) => {
                let collection = self.evaluate(&for_expr.collection, roots)?;
                let pairs: Vec<(Value, Value)> = match collection.unmarked() {
                    Value::Unknown => return Ok(Value::Unknown),
                    Value::List(items) => {
                        items.into_iter().enumerate().map(|(i, v)| (Value::Number(i as f64), v)).collect()
                    }
                    Value::Object(fields) => fields.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
                    Value::Null => return Err(error("for over null".into())),
                    other => return Err(error(format!("cannot iterate {other}"))),
                };
                let mut list = Vec::new();
                let mut object = indexmap::IndexMap::new();
                for (key, value) in pairs {
                    let mut bindings = vec![(for_expr.value_var.name.clone(), value)];
                    if let Some(key_var) = &for_expr.key_var {
                        bindings.push((key_var.name.clone(), key));
                    }
                    let local = Bound { bindings, outer: roots };
                    if let Some(condition) = &for_expr.condition {
                        if self.evaluate(condition, &local)?.as_bool() != Some(true) {
                            continue;
                        }
                    }
                    let value = self.evaluate(&for_expr.value, &local)?;
                    match &for_expr.key {
                        Some(key) => {
                            let key = self.evaluate(key, &local)?;
                            object.insert(key.as_str().unwrap_or_default().to_string(), value);
                        }
                        None => list.push(value),
                    }
                }
                if for_expr.key.is_some() {
                    Value::Object(object)
                } else {
                    Value::List(list)
                }
            }
            ExprKind::Call(name, args, _) => {
                let args: Vec<Value> =
                    args.iter().map(|a| self.evaluate(a, roots)).collect::<Result<_, _>>()?;
                if args.iter().any(|a| matches!(a, Value::Unknown)) {
                    return Ok(Value::Unknown);
                }
                let number = |v: &Value| v.as_f64().unwrap_or(0.0);
                match (name.name.as_str(), args.as_slice()) {
                    ("length", [Value::List(items)]) => Value::Number(items.len() as f64),
                    ("length", [Value::Object(fields)]) => Value::Number(fields.len() as f64),
                    ("concat", lists) => Value::List(
                        lists
                            .iter()
                            .flat_map(|l| l.as_list().map(<[Value]>::to_vec).unwrap_or_default())
                            .collect(),
                    ),
                    ("replace", [text, from, to]) => Value::string(
                        text.as_str()
                            .unwrap_or_default()
                            .replace(from.as_str().unwrap_or_default(), to.as_str().unwrap_or_default()),
                    ),
                    ("tonumber", [text]) => Value::Number(
                        text.as_str()
                            .and_then(|t| t.parse().ok())
                            .ok_or_else(|| error(format!("not a number: {text}")))?,
                    ),
                    ("range", [n]) => {
                        Value::List((0..number(n) as usize).map(|i| Value::Number(i as f64)).collect())
                    }
                    ("max", values) => Value::Number(values.iter().map(number).fold(f64::MIN, f64::max)),
                    ("min", values) => Value::Number(values.iter().map(number).fold(f64::MAX, f64::min)),
                    ("contains", [Value::List(items), item]) => Value::Bool(items.contains(item)),
                    ("tostring", [Value::Number(n)]) => Value::string(crate::value::format_number(*n)),
                    ("tostring", [text]) => text.clone(),
                    ("join", [separator, Value::List(items)]) => Value::string(
                        items
                            .iter()
                            .map(|i| i.as_str().unwrap_or_default().to_string())
                            .collect::<Vec<_>>()
                            .join(separator.as_str().unwrap_or_default()),
                    ),
                    ("jsonencode", [value]) => Value::string(value.to_json().to_string()),
                    ("merge", objects) => Value::Object(
                        objects.iter().filter_map(|o| o.as_object()).flat_map(|o| o.clone()).collect(),
                    ),
                    _ => return Err(error(format!("function {} is not in the test evaluator", name.name))),
                }
            }
            other => return Err(error(format!("not supported by the test evaluator: {other:?}"))),
        })
    }
}

/// Roots with `for` variables bound on top of the outer ones.
struct Bound<'a> {
    bindings: Vec<(String, Value)>,
    outer: &'a dyn Roots,
}

impl Roots for Bound<'_> {
    fn root(&self, name: &str) -> Option<Value> {
        match self.bindings.iter().find(|(n, _)| n == name) {
            Some((_, value)) => Some(value.clone()),
            None => self.outer.root(name),
        }
    }
}

/// A shop-like stack using every stdlib construct that all three targets
/// support (the `target` block is added by [`shop_for`]).
pub const SHOP: &str = r#"
variable "api_replicas" { default = 4 }

secret "db_password" {
  generate { length = 32 }
}

config "api" {
  data = { LOG_LEVEL = "info" }
}

database "main" {
  engine    = "postgres"
  instances = 3
  storage   = "20Gi"
  password  = secret.db_password
}

volume "uploads" { size = "5Gi" }

service "api" {
  image       = "registry.example.com/shop/api:1.4.2"
  replicas    = 4
  port        = 8080
  env         = { DATABASE_URL = database.main.url }
  secret_env  = { DATABASE_PASSWORD = secret.db_password }
  config_from = [config.api]
  volumes     = { "/uploads" = volume.uploads }
  resources {
    cpu    = "250m"
    memory = "256Mi"
  }
  health { path = "/healthz" }
  autoscale {
    min        = 4
    max        = 12
    cpu_target = 70
  }
  rollout {
    strategy = "canary"
    steps    = [10, 50, 100]
  }
}

job "migrate" {
  image   = "registry.example.com/shop/api:1.4.2"
  command = ["/app/migrate"]
}

load_balancer "public" {
  port = 80
  to   = service.api
}

output "url" { value = load_balancer.public.url }

"#;

/// [`SHOP`] with one target block.
pub fn shop_for(target: &str) -> String {
    let block = match target {
        "kubernetes" => "target \"kubernetes\" { namespace = \"shop\" }".to_string(),
        "aws" => {
            "target \"aws\" {\n  region = \"eu-west-3\"\n  ami = \"ami-0123456789abcdef0\"\n}".to_string()
        }
        other => format!("target \"{other}\" {{}}"),
    };
    format!("{SHOP}\n{block}\n")
}

/// Expands `text` with the stdlib, for its only target, with the test
/// evaluator; `prior` gives values from state.
pub fn expand_with_stdlib(
    text: &str,
    schemas: &dyn crate::schema::SchemaSource,
    prior: Option<super::PriorLookup<'_>>,
) -> (Option<crate::graph::ResourceGraph>, Vec<Diagnostic>) {
    let stdlib: Vec<_> = crate::stdlib::files()
        .iter()
        .enumerate()
        .map(|(i, (_, text))| parse(FileId(i as u32 + 1), text))
        .collect();
    let user = parse(FileId(0), text);
    let stack = super::model::StackDecl::read(&stdlib, [&user]);
    let options = super::ExpandOptions {
        target: None,
        variables: [("api_replicas".to_string(), Value::Number(4.0))].into_iter().collect(),
        prior,
        evaluator: std::sync::Arc::new(TestEvaluator),
        command_line_span: super::no_span(),
    };
    super::expand_decl(&stack, schemas, options)
}
