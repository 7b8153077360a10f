//! The syntax tree of a stack, lowered from hcl-edit's lossless tree.
//!
//! Every node carries a [`Span`]. The AST keeps HCL's generic shape (blocks
//! with labels, attributes, expressions); `resolve` gives it meaning.
//! Boundary: nothing after `check` sees this type; the expansion stage and the
//! planner work on the typed HIR and the resource graph.

use crate::source::{FileId, Span};

/// One parsed file.
#[derive(Clone, Debug)]
pub struct File {
    pub id: FileId,
    pub body: Body,
}

#[derive(Clone, Debug, Default)]
pub struct Body {
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<Block>,
}

impl Body {
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name.name == name)
    }

    pub fn blocks_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
        self.blocks.iter().filter(move |b| b.kind.name == kind)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: Ident,
    pub value: Expr,
    /// The whole `name = value` line.
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Block {
    /// `service` in `service "api" { ... }`.
    pub kind: Ident,
    /// `"api"`; spans exclude the quotes.
    pub labels: Vec<Ident>,
    pub body: Body,
    /// From the block's first character to its closing brace.
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Number(f64),
    /// A string literal or a template; a plain string is one literal part.
    Template(Vec<TemplatePart>),
    /// `[a, b]`
    List(Vec<Expr>),
    /// `{ key = value }`; keys are expressions (an identifier key is a string literal).
    Object(Vec<(Expr, Expr)>),
    /// A bare name: `var`, `service`, `each`, a `for` variable.
    Variable(Ident),
    /// `expr.name`
    GetAttr(Box<Expr>, Ident),
    /// `expr[index]`
    Index(Box<Expr>, Box<Expr>),
    /// `expr[*].name`, `expr.*.name`: the traversal after the splat applied to each element.
    Splat(Box<Expr>, Vec<SplatStep>),
    /// The name is boxed: it is the largest field of any variant, and
    /// every expression node is as large as the largest variant.
    Call(Box<Ident>, Vec<Expr>, /* expand final argument with `...` */ bool),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Conditional(Box<Expr>, Box<Expr>, Box<Expr>),
    For(Box<ForExpr>),
    Paren(Box<Expr>),
}

#[derive(Clone, Debug)]
pub enum SplatStep {
    Attr(Ident),
    Index(Expr),
}

/// A part of a template. The directives' fields are boxed so that a part
/// is no larger than an interpolation: every string literal is a template
/// of one part, and directives are rare.
#[derive(Clone, Debug)]
pub enum TemplatePart {
    Literal(String),
    Interpolation(Expr),
    /// `%{ if cond }then%{ else }else%{ endif }`
    If(Box<Expr>, Vec<TemplatePart>, Vec<TemplatePart>),
    /// `%{ for k, v in coll }body%{ endfor }`
    For(Option<Box<Ident>>, Box<Ident>, Box<Expr>, Vec<TemplatePart>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

impl BinaryOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Eq => "==",
            BinaryOp::NotEq => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
        }
    }
}

/// `[for k, v in coll : value if cond]` or `{for k, v in coll : key => value... if cond}`.
#[derive(Clone, Debug)]
pub struct ForExpr {
    pub key_var: Option<Ident>,
    pub value_var: Ident,
    pub collection: Expr,
    /// Set for object `for` expressions.
    pub key: Option<Expr>,
    pub value: Expr,
    /// `...` grouping in object `for` expressions.
    pub grouping: bool,
    pub condition: Option<Expr>,
}

impl Expr {
    /// A reference path when the expression is a plain traversal of
    /// attribute names from a variable (`service.api.url` -> ["service", "api", "url"]).
    pub fn as_path(&self) -> Option<Vec<&Ident>> {
        match &self.kind {
            ExprKind::Variable(root) => Some(vec![root]),
            ExprKind::GetAttr(inner, name) => {
                let mut path = inner.as_path()?;
                path.push(name);
                Some(path)
            }
            _ => None,
        }
    }

    /// The name of an object key written as an identifier or a literal
    /// string (`{ name = ... }`, `{ "name" = ... }`).
    pub fn key_name(&self) -> Option<String> {
        match &self.kind {
            ExprKind::Variable(name) => Some(name.name.clone()),
            ExprKind::Template(parts) => match parts.as_slice() {
                [TemplatePart::Literal(text)] => Some(text.clone()),
                [] => Some(String::new()),
                _ => None,
            },
            _ => None,
        }
    }
}
