//! The HIR: one owned, id-indexed model of a stack, lowered once by
//! [`crate::resolve`] (see `resolve/lower.rs`), annotated by [`crate::check`]
//! and consumed by [`crate::expand`].
//!
//! Resolve lowers the declarations of the stack's syntax trees into it:
//! targets, locals, components (params with their declared types, outputs,
//! per-target bodies), instances, top-level resources and outputs, following
//! the same rules as [`crate::resolve::Symbols`] (a user's component replaces
//! the stdlib's of the same name; a duplicate declaration keeps its first
//! occurrence; malformed blocks are skipped). Every declared type (variables,
//! params, outputs) is read there, once. Every expression later stages
//! evaluate is numbered ([`ExprDecl::id`]) and shared (an `Arc`, not a
//! copy) with every repetition's `Deferred`; every body is numbered
//! ([`BodyDecl::id`]), so what expansion learns about an expression or a
//! body once is kept in a table by number. Every expression's references
//! are read there once, with what each root names ([`Reference`],
//! [`Stack::references`]): expansion walks no expression.
//!
//! Check adds the values of the stack's variables (defaults, `-var`,
//! `--var-file` applied and validated); the crate root adds the parsed
//! files; the caller may set the stack's [`Stack::name`].

use crate::ast::{Expr, File, Ident};
use crate::source::{FileId, Span};
use crate::types::Type;
use indexmap::IndexMap;
use std::sync::Arc;

/// An expression of the stack: numbered in lowering order (from 0 to
/// [`Stack::expressions`]) and shared with every `Deferred` made from it.
#[derive(Clone, Debug)]
pub struct ExprDecl {
    pub id: usize,
    pub expr: Arc<Expr>,
}

impl std::ops::Deref for ExprDecl {
    type Target = Expr;

    fn deref(&self) -> &Expr {
        &self.expr
    }
}

/// One step after the root of a reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Attr(String),
    /// A literal index or key: `[0]`, `["1"]`.
    Key(String),
    /// An index by a repetition's own key: `[each.key]`, `[each.value]`,
    /// `[count.index]` (root, attribute); expansion knows its value.
    Repetition(String, String),
}

impl Step {
    pub fn name(&self) -> &str {
        match self {
            Step::Attr(name) | Step::Key(name) => name,
            Step::Repetition(_, attribute) => attribute,
        }
    }
}

/// What the root of a reference names, as resolve found it where the
/// expression is. An instance's or resource's name is the reference's first
/// step; a param, variable or local's name too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// `var.<name>`: a declared variable.
    Variable,
    /// `local.<name>`: a declared local value.
    Local,
    /// `param.<name>`: a declared param of the enclosing component.
    Param,
    /// `self.*` in a component.
    SelfRef,
    /// `target.*` in a component.
    Target,
    /// `network.*` in a component: the stack's network.
    Network,
    /// `each.*` in a resource with `for_each`.
    Each,
    /// `count.*` in a resource with `count`.
    Count,
    /// `<kind>.<name>`: an instance of a component declared where the
    /// expression can see it.
    Instance,
    /// `<type>.<name>`: a resource declared where the expression can see it.
    Resource,
    /// Nothing the expression can see (resolve reported it), or a root
    /// used in a way resolve reported (`var` in a component, `param`
    /// outside one, `each` without `for_each`).
    Unresolved,
}

/// `root.step.step...` as far as the steps are static: one reference an
/// expression makes, read once, when resolve lowers the expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub root: String,
    pub steps: Vec<Step>,
    /// The whole traversal (`root.a[0].b`).
    pub span: Span,
    pub resolution: Resolution,
}

/// `target "<name>" { ... }`.
#[derive(Clone, Debug)]
pub struct TargetDecl {
    pub name: String,
    pub span: Span,
    /// `target "aws"`: the keyword and label.
    pub header: Span,
    /// The block's attributes (`region`, `namespace`).
    pub attributes: Vec<AttributeDecl>,
}

/// `param "<name>" { ... }` in a component.
#[derive(Clone, Debug)]
pub struct ParamDecl {
    pub name: String,
    pub span: Span,
    pub default: Option<ExprDecl>,
    /// Declared with a `default` (possibly null): the instance may omit it.
    pub has_default: bool,
    /// The declared type; `Any` when not declared. Shared: check reads a
    /// param's type once per instance that sets it.
    pub ty: Arc<Type>,
}

/// `output "<name>" { ... }`.
#[derive(Clone, Debug)]
pub struct OutputDecl {
    pub name: String,
    pub span: Span,
    pub value: Option<ExprDecl>,
    pub sensitive: bool,
}

/// `name = value` in a resource, instance, target or nested block.
#[derive(Clone, Debug)]
pub struct AttributeDecl {
    pub name: Ident,
    pub value: ExprDecl,
    pub span: Span,
}

/// A block nested in a resource or instance (`health { path = "/" }`),
/// written for an object- or list-typed attribute or param.
#[derive(Clone, Debug)]
pub struct BlockDecl {
    /// Its kind: the attribute or param it gives.
    pub name: String,
    pub name_span: Span,
    pub span: Span,
    pub attributes: Vec<AttributeDecl>,
    pub blocks: Vec<BlockDecl>,
}

/// `resource "<type>" "<name>" { ... }`.
#[derive(Clone, Debug)]
pub struct ResourceDecl {
    pub type_name: String,
    pub type_span: Span,
    pub name: String,
    pub span: Span,
    pub count: Option<ExprDecl>,
    pub for_each: Option<ExprDecl>,
    /// Explicit `depends_on = [...]`.
    pub depends_on: Option<ExprDecl>,
    /// Configuration attributes (meta-arguments removed).
    pub attributes: Vec<AttributeDecl>,
    /// Nested blocks, written for object- or list-typed attributes.
    pub blocks: Vec<BlockDecl>,
    /// The `on "<target>"` block it is in, if any.
    pub target: Option<String>,
}

/// `<kind> "<name>" { ... }`: an instance of a component.
#[derive(Clone, Debug)]
pub struct InstanceDecl {
    pub kind: String,
    pub kind_span: Span,
    pub name: String,
    pub span: Span,
    /// `service "api"`: the kind and label, where problems of the whole
    /// instance are reported (the block itself may be long).
    pub header: Span,
    pub attributes: Vec<AttributeDecl>,
    /// Blocks written for object-typed params (`health { ... }`).
    pub blocks: Vec<BlockDecl>,
    /// The `on "<target>"` block it is in, if any.
    pub target: Option<String>,
}

/// The items of a stack's top level or of a component's `on` block.
#[derive(Clone, Debug, Default)]
pub struct BodyDecl {
    /// Numbered in lowering order, from 0 to [`Stack::bodies`].
    pub id: usize,
    pub resources: Vec<ResourceDecl>,
    pub instances: Vec<InstanceDecl>,
    pub outputs: Vec<OutputDecl>,
}

/// `component "<name>" { ... }`.
#[derive(Clone, Debug)]
pub struct ComponentDecl {
    pub name: String,
    pub span: Span,
    /// `component "service"`: the keyword and label.
    pub header: Span,
    pub params: IndexMap<String, ParamDecl>,
    /// The component-level outputs.
    pub outputs: Vec<OutputDecl>,
    /// The declared type of every output (component-level ones, then those
    /// only given inside `on` blocks; `Any` when not declared): the type of
    /// a reference to an instance of the component.
    pub output_types: IndexMap<String, Type>,
    /// Per-target bodies, by target name, with the `on` block's span.
    pub on: IndexMap<String, (Span, BodyDecl)>,
}

/// A stack: what resolve lowered, check annotated.
#[derive(Clone, Debug, Default)]
pub struct Stack {
    /// Every parsed file, stdlib and user, by ascending [`FileId`].
    pub files: Vec<File>,
    /// The user's files (a subset of `files`), in load order.
    pub user_files: Vec<FileId>,
    /// The stdlib files (a subset of `files`), in load order.
    pub stdlib_files: Vec<FileId>,
    /// The stack's name (the binary gives its directory's name; empty:
    /// `stack`). Component bodies see it as `self.stack`, a DNS label, to
    /// keep account-wide names (load balancers, roles, secrets) apart
    /// between stacks.
    pub name: String,
    /// The declared targets, in order.
    pub targets: Vec<TargetDecl>,
    /// The declared types of the stack's variables, in declaration order:
    /// `sensitive(...)` when the variable is sensitive. A variable with
    /// neither a type nor `sensitive = true` is absent.
    pub variable_types: IndexMap<String, Type>,
    /// Every declared variable's value, in declaration order (set by
    /// check). A variable with neither default nor given value is absent
    /// (and `check` reported it).
    pub variables: stackc_model::Fields,
    pub locals: Vec<(String, Span, ExprDecl)>,
    /// The stdlib's components, replaced by the user's of the same name.
    pub components: IndexMap<String, ComponentDecl>,
    /// Top-level items; those inside `on "<target>"` carry their target.
    pub body: BodyDecl,
    pub outputs: Vec<OutputDecl>,
    /// The declared types of the stack's outputs that declare one.
    pub output_types: IndexMap<String, Type>,
    /// How many expressions were numbered ([`ExprDecl::id`]).
    pub expressions: usize,
    /// The references of every expression, by [`ExprDecl::id`], in source
    /// order (names bound by `for` inside it are none), each resolved.
    pub references: Vec<Vec<Reference>>,
    /// How many bodies were numbered ([`BodyDecl::id`]).
    pub bodies: usize,
}

impl Stack {
    pub fn file(&self, id: FileId) -> Option<&File> {
        self.files.iter().find(|f| f.id == id)
    }

    /// The stdlib's files, then the user's.
    pub fn stdlib_and_user_files(&self) -> (Vec<&File>, Vec<&File>) {
        let pick = |ids: &[FileId]| ids.iter().filter_map(|id| self.file(*id)).collect::<Vec<_>>();
        (pick(&self.stdlib_files), pick(&self.user_files))
    }

    /// The references `expr` makes, in source order (none for an
    /// expression this stack did not number).
    pub fn references(&self, expr: &ExprDecl) -> &[Reference] {
        self.references.get(expr.id).map_or(&[], Vec::as_slice)
    }

    /// The names of the declared targets, in order.
    pub fn target_names(&self) -> impl Iterator<Item = &str> {
        self.targets.iter().map(|t| t.name.as_str())
    }
}
