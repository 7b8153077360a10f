//! The HIR: one owned, id-indexed model of a stack, lowered once by
//! [`crate::resolve`] (see `resolve/lower.rs`), annotated by [`crate::check`](mod@crate::check)
//! and consumed by [`crate::expand`].
//!
//! Resolve lowers the declarations of the stack's syntax trees into it:
//! variables (defaults, validations), targets, locals, components (params
//! with their declared types and validations, outputs, per-target bodies),
//! instances, top-level resources and outputs, following the same rules as
//! [`crate::resolve::Symbols`] (a user's component replaces the stdlib's of
//! the same name; a duplicate declaration keeps its first occurrence;
//! malformed blocks are skipped). Where expansion takes every block written
//! (stack-level instances, resources, locals and outputs; the odd blocks of
//! a component's body), the HIR says which ones resolve declares
//! ([`InstanceDecl::declared`], [`Stack::declared_locals`], ...): check,
//! which runs over the HIR and reads no syntax tree, checks only those. Every declared type (variables,
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
use crate::source::{FileId, Origin, Span};
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
/// expression makes, read once, by the resolve walk that reports what
/// references name, and kept when resolve lowers the expression.
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

/// `validation { condition = ..., message = ... }` in a variable or param.
#[derive(Clone, Debug)]
pub struct ValidationDecl {
    pub span: Span,
    pub condition: Option<ExprDecl>,
    pub message: Option<ExprDecl>,
}

/// `variable "<name>" { ... }`: the stack's declaration of the name (its
/// first, well-formed one).
#[derive(Clone, Debug)]
pub struct VariableDecl {
    pub name: String,
    pub span: Span,
    /// The label, where problems of its value are reported.
    pub name_span: Span,
    /// The `type` attribute's expression, when it declares one (its type
    /// is in [`Stack::variable_types`]).
    pub type_span: Option<Span>,
    pub default: Option<ExprDecl>,
    pub validations: Vec<ValidationDecl>,
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
    /// The `type` attribute's expression, when it declares one.
    pub type_span: Option<Span>,
    pub validations: Vec<ValidationDecl>,
}

/// `output "<name>" { ... }`.
#[derive(Clone, Debug)]
pub struct OutputDecl {
    pub name: String,
    pub span: Span,
    /// The label.
    pub name_span: Span,
    pub value: Option<ExprDecl>,
    /// `sensitive = true`.
    pub sensitive: bool,
    /// `type = sensitive(...)`.
    pub sensitive_type: bool,
}

impl OutputDecl {
    /// Declared sensitive: `sensitive = true` or a `sensitive(...)` type.
    pub fn is_sensitive(&self) -> bool {
        self.sensitive || self.sensitive_type
    }
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

impl BlockDecl {
    /// The first attribute named `name`.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDecl> {
        self.attributes.iter().find(|a| a.name.name == name)
    }

    /// The first block of kind `name`.
    pub fn block(&self, name: &str) -> Option<&BlockDecl> {
        self.blocks.iter().find(|b| b.name == name)
    }
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
    /// What else is written with a meta-argument's name: `lifecycle`
    /// (attribute or block) and a repeated `count`, `for_each` or
    /// `depends_on`. Expansion reads none of it; check infers its types.
    pub meta_attributes: Vec<AttributeDecl>,
    pub meta_blocks: Vec<BlockDecl>,
    /// The `on "<target>"` block it is in, if any.
    pub target: Option<String>,
    /// At the stack's level, whether this is the declaration resolve keeps
    /// for `<type>.<name>` (false for a duplicate or a block with labels
    /// resolve reported: check skips those). Always true in a component.
    pub declared: bool,
}

/// `<kind> "<name>" { ... }`: an instance of a component.
#[derive(Clone, Debug)]
pub struct InstanceDecl {
    pub kind: String,
    pub kind_span: Span,
    pub name: String,
    pub span: Span,
    /// The label.
    pub name_span: Span,
    /// `service "api"`: the kind and label, where problems of the whole
    /// instance are reported (the block itself may be long).
    pub header: Span,
    pub attributes: Vec<AttributeDecl>,
    /// Blocks written for object-typed params (`health { ... }`).
    pub blocks: Vec<BlockDecl>,
    /// `reconcile { ... }`, the instance's reconcile policy (expansion
    /// reads it from the syntax tree; check infers its types).
    pub policy_blocks: Vec<BlockDecl>,
    /// The `on "<target>"` block it is in, if any.
    pub target: Option<String>,
    /// At the stack's level, whether this is the declaration resolve keeps
    /// for `<kind>.<name>` (false for a duplicate, a block with labels
    /// resolve reported, or one of no known kind: check skips those).
    /// Always true in a component.
    pub declared: bool,
}

/// The items of a stack's top level or of a component's `on` block.
#[derive(Clone, Debug, Default)]
pub struct BodyDecl {
    /// Numbered in lowering order, from 0 to [`Stack::bodies`].
    pub id: usize,
    pub resources: Vec<ResourceDecl>,
    pub instances: Vec<InstanceDecl>,
    pub outputs: Vec<OutputDecl>,
    /// In a component's `on` block, the blocks that are none of those (a
    /// resource or instance with the wrong labels, a block of a kind that
    /// does not belong there: resolve reported them); check infers their
    /// expressions' types.
    pub other_blocks: Vec<BlockDecl>,
}

/// `component "<name>" { ... }`.
#[derive(Clone, Debug)]
pub struct ComponentDecl {
    pub name: String,
    pub span: Span,
    /// `component "service"`: the keyword and label.
    pub header: Span,
    /// The stdlib's or the user's.
    pub origin: Origin,
    pub params: IndexMap<String, ParamDecl>,
    /// The component-level outputs.
    pub outputs: Vec<OutputDecl>,
    /// Outputs without a label (resolve reported them), the component's
    /// then its `on` blocks': named ``, their label span the keyword's.
    /// Check evaluates their values; expansion ignores them.
    pub unnamed_outputs: Vec<OutputDecl>,
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
    /// The declared variables, in declaration order (a duplicate keeps
    /// its first declaration).
    pub variable_decls: IndexMap<String, VariableDecl>,
    /// Every local value written in a top-level `locals` block.
    pub locals: Vec<(String, Span, ExprDecl)>,
    /// The locals resolve declares (the first of a name, in a well-formed
    /// `locals` block): their index in `locals`, by name, in order.
    pub declared_locals: IndexMap<String, usize>,
    /// The stdlib's components, replaced by the user's of the same name.
    pub components: IndexMap<String, ComponentDecl>,
    /// Top-level items; those inside `on "<target>"` carry their target.
    pub body: BodyDecl,
    /// The stack's outputs, every one written.
    pub outputs: Vec<OutputDecl>,
    /// The outputs resolve declares (the first of a name, well-formed):
    /// their index in `outputs`, in order.
    pub declared_outputs: Vec<usize>,
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
