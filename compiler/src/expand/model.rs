//! What expansion reads from a stack: targets, variables' values, locals,
//! component definitions (params, outputs, per-target bodies), instances,
//! top-level resources and outputs. Read from the syntax tree of a stack
//! that `check` accepted (the HIR keeps it), so expansion sees exactly the
//! blocks the checker saw and can carry their expressions into `Deferred`s.
//!
//! Structural problems (unknown block kinds, wrong labels) were reported by
//! `check`; here such blocks are skipped, never panicked on.
//!
//! Reading lowers once: every expression expansion evaluates is numbered
//! ([`ExprDecl::id`]) and shared (not copied) with every repetition's
//! `Deferred`, nested blocks are read into [`BlockDecl`]s, and every body
//! is numbered ([`BodyDecl::id`]), so what expansion learns about an
//! expression or a body once (its references, its items' order) is kept in
//! a table by number: nothing is keyed by an address.

use crate::ast::{Attribute, Block, Body, Expr, File, Ident};
use crate::resolve::types::read_type;
use crate::resolve::RESERVED_KINDS;
use crate::source::Span;
use crate::types::Type;
use indexmap::IndexMap;
use std::sync::Arc;

/// An expression of the stack as expansion keeps it: numbered in reading
/// order (from 0 to [`StackDecl::expressions`]) and shared with every
/// `Deferred` made from it.
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

#[derive(Clone, Debug)]
pub struct TargetDecl {
    pub name: String,
    pub span: Span,
    /// `target "aws"`: the keyword and label.
    pub header: Span,
    /// The block's attributes (`region`, `namespace`).
    pub attributes: Vec<AttributeDecl>,
}

#[derive(Clone, Debug)]
pub struct ParamDecl {
    pub name: String,
    pub span: Span,
    pub default: Option<ExprDecl>,
    /// Declared with a `default` (possibly null): the instance may omit it.
    pub has_default: bool,
    /// The declared type, as far as expansion needs it (object fields, to
    /// give omitted optional ones their null); `Any` when not declared.
    pub ty: crate::types::Type,
}

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
    /// Numbered in reading order, from 0 to [`StackDecl::bodies`].
    pub id: usize,
    pub resources: Vec<ResourceDecl>,
    pub instances: Vec<InstanceDecl>,
    pub outputs: Vec<OutputDecl>,
}

#[derive(Clone, Debug)]
pub struct ComponentDecl {
    pub name: String,
    pub span: Span,
    /// `component "service"`: the keyword and label.
    pub header: Span,
    pub params: IndexMap<String, ParamDecl>,
    pub outputs: Vec<OutputDecl>,
    /// Per-target bodies, by target name, with the `on` block's span.
    pub on: IndexMap<String, (Span, BodyDecl)>,
}

#[derive(Clone, Debug, Default)]
pub struct StackDecl {
    /// The stack's name (the binary gives its directory's name; empty:
    /// `stack`). Component bodies see it as `self.stack`, a DNS label, to
    /// keep account-wide names (load balancers, roles, secrets) apart
    /// between stacks.
    pub name: String,
    pub targets: Vec<TargetDecl>,
    pub locals: Vec<(String, Span, ExprDecl)>,
    pub components: IndexMap<String, ComponentDecl>,
    /// Top-level items; those inside `on "<target>"` carry their target.
    pub body: BodyDecl,
    pub outputs: Vec<OutputDecl>,
    /// How many expressions were numbered ([`ExprDecl::id`]).
    pub expressions: usize,
    /// How many bodies were numbered ([`BodyDecl::id`]).
    pub bodies: usize,
}

/// Deepest nested block read (expansion evaluates fewer levels still:
/// `MAX_COMPONENT_DEPTH`).
const MAX_BLOCK_DEPTH: usize = 64;

fn label(block: &Block, index: usize) -> Option<&str> {
    block.labels.get(index).map(|l| l.name.as_str())
}

/// The block's kind and labels (`service "api"`), or its kind alone. A
/// label's span leaves out its quotes: the closing one is added back (a
/// block's labels are always followed by at least ` {`).
fn header(block: &Block) -> Span {
    block.labels.last().map_or(block.kind.span, |l| {
        let mut span = block.kind.span.to(l.span);
        span.end = (span.end + 1).min(block.span.end);
        span
    })
}

fn is_true(body: &Body, name: &str) -> bool {
    matches!(body.attribute(name).map(|a| &a.value.kind), Some(crate::ast::ExprKind::Bool(true)))
}

const RESOURCE_META: &[&str] = &["count", "for_each", "depends_on", "lifecycle"];

/// Reads a stack, numbering expressions and bodies as it goes.
#[derive(Default)]
struct Reader<'k> {
    /// The component kinds, which a param's type may name (`type = service`).
    kinds: Vec<&'k str>,
    expressions: usize,
    bodies: usize,
}

impl Reader<'_> {
    fn expr(&mut self, expr: &Expr) -> ExprDecl {
        self.expressions += 1;
        ExprDecl { id: self.expressions - 1, expr: Arc::new(expr.clone()) }
    }

    fn attribute_expr(&mut self, body: &Body, name: &str) -> Option<ExprDecl> {
        body.attribute(name).map(|a| self.expr(&a.value))
    }

    fn attribute(&mut self, attribute: &Attribute) -> AttributeDecl {
        AttributeDecl {
            name: attribute.name.clone(),
            value: self.expr(&attribute.value),
            span: attribute.span,
        }
    }

    fn body_id(&mut self) -> usize {
        self.bodies += 1;
        self.bodies - 1
    }

    fn block(&mut self, block: &Block, depth: usize) -> BlockDecl {
        BlockDecl {
            name: block.kind.name.clone(),
            name_span: block.kind.span,
            span: block.span,
            attributes: block.body.attributes.iter().map(|a| self.attribute(a)).collect(),
            blocks: match depth < MAX_BLOCK_DEPTH {
                true => block.body.blocks.iter().map(|b| self.block(b, depth + 1)).collect(),
                false => Vec::new(),
            },
        }
    }

    fn output(&mut self, block: &Block) -> Option<OutputDecl> {
        Some(OutputDecl {
            name: label(block, 0)?.to_string(),
            span: block.span,
            value: self.attribute_expr(&block.body, "value"),
            sensitive: is_true(&block.body, "sensitive"),
        })
    }

    fn resource(&mut self, block: &Block, target: Option<&str>) -> Option<ResourceDecl> {
        let type_label = block.labels.first()?;
        let name = label(block, 1)?.to_string();
        Some(ResourceDecl {
            type_name: type_label.name.clone(),
            type_span: type_label.span,
            name,
            span: block.span,
            count: self.attribute_expr(&block.body, "count"),
            for_each: self.attribute_expr(&block.body, "for_each"),
            depends_on: self.attribute_expr(&block.body, "depends_on"),
            attributes: block
                .body
                .attributes
                .iter()
                .filter(|a| !RESOURCE_META.contains(&a.name.name.as_str()))
                .map(|a| self.attribute(a))
                .collect(),
            blocks: block
                .body
                .blocks
                .iter()
                .filter(|b| !RESOURCE_META.contains(&b.kind.name.as_str()))
                .map(|b| self.block(b, 0))
                .collect(),
            target: target.map(str::to_string),
        })
    }

    fn instance(&mut self, block: &Block, target: Option<&str>) -> Option<InstanceDecl> {
        let name = label(block, 0)?.to_string();
        Some(InstanceDecl {
            kind: block.kind.name.clone(),
            kind_span: block.kind.span,
            name,
            span: block.span,
            header: header(block),
            attributes: block.body.attributes.iter().map(|a| self.attribute(a)).collect(),
            // `reconcile { ... }` is the instance's reconcile policy, not a param.
            blocks: block
                .body
                .blocks
                .iter()
                .filter(|b| b.kind.name != crate::policy::BLOCK)
                .map(|b| self.block(b, 0))
                .collect(),
            target: target.map(str::to_string),
        })
    }

    /// Reads the items of a body: resources, instances, outputs, and (at
    /// the stack's top level) nested `on "<target>"` blocks, whose items
    /// carry the target.
    fn read_body(&mut self, body: &Body, target: Option<&str>, into: &mut BodyDecl, component_level: bool) {
        for block in &body.blocks {
            match block.kind.name.as_str() {
                "resource" => into.resources.extend(self.resource(block, target)),
                "output" if component_level => into.outputs.extend(self.output(block)),
                "on" if target.is_none() && !component_level => {
                    if let Some(name) = label(block, 0) {
                        self.read_body(&block.body, Some(name), into, component_level);
                    }
                }
                kind if RESERVED_KINDS.contains(&kind) || kind == "param" => {}
                _ => into.instances.extend(self.instance(block, target)),
            }
        }
    }

    fn component(&mut self, block: &Block) -> Option<ComponentDecl> {
        let mut decl = ComponentDecl {
            name: label(block, 0)?.to_string(),
            span: block.span,
            header: header(block),
            params: IndexMap::new(),
            outputs: Vec::new(),
            on: IndexMap::new(),
        };
        for inner in &block.body.blocks {
            match inner.kind.name.as_str() {
                "param" => {
                    if let Some(name) = label(inner, 0) {
                        let default = inner.body.attribute("default");
                        let ty = inner
                            .body
                            .attribute("type")
                            .map_or(Type::Any, |a| read_type(&a.value, &self.kinds, &mut Vec::new()));
                        decl.params.insert(
                            name.to_string(),
                            ParamDecl {
                                name: name.to_string(),
                                span: inner.span,
                                default: default.map(|a| self.expr(&a.value)),
                                has_default: default.is_some(),
                                ty,
                            },
                        );
                    }
                }
                "output" => decl.outputs.extend(self.output(inner)),
                "on" => {
                    if let Some(target) = label(inner, 0) {
                        let mut body = BodyDecl { id: self.body_id(), ..BodyDecl::default() };
                        self.read_body(&inner.body, Some(target), &mut body, true);
                        decl.on.insert(target.to_string(), (inner.span, body));
                    }
                }
                _ => {}
            }
        }
        Some(decl)
    }
}

impl StackDecl {
    /// Reads the stdlib's files first, then the user's: a user's component
    /// of the same name replaces the stdlib one.
    pub fn read<'a>(
        stdlib: impl IntoIterator<Item = &'a File>,
        user: impl IntoIterator<Item = &'a File>,
    ) -> StackDecl {
        let stdlib: Vec<&File> = stdlib.into_iter().collect();
        let user: Vec<&File> = user.into_iter().collect();
        let mut reader = Reader {
            kinds: stdlib
                .iter()
                .chain(&user)
                .flat_map(|file| file.body.blocks_of("component"))
                .filter_map(|block| label(block, 0))
                .collect(),
            ..Reader::default()
        };
        let mut stack = StackDecl::default();
        for file in stdlib {
            for block in file.body.blocks_of("component") {
                if let Some(decl) = reader.component(block) {
                    stack.components.insert(decl.name.clone(), decl);
                }
            }
        }
        stack.body.id = reader.body_id();
        for file in user {
            for block in &file.body.blocks {
                match block.kind.name.as_str() {
                    "component" => {
                        if let Some(decl) = reader.component(block) {
                            stack.components.insert(decl.name.clone(), decl);
                        }
                    }
                    "target" => {
                        if let Some(name) = label(block, 0) {
                            stack.targets.push(TargetDecl {
                                name: name.to_string(),
                                span: block.span,
                                header: header(block),
                                attributes: block
                                    .body
                                    .attributes
                                    .iter()
                                    .map(|a| reader.attribute(a))
                                    .collect(),
                            });
                        }
                    }
                    "locals" => {
                        for attribute in &block.body.attributes {
                            let value = reader.expr(&attribute.value);
                            stack.locals.push((attribute.name.name.clone(), attribute.span, value));
                        }
                    }
                    "output" => stack.outputs.extend(reader.output(block)),
                    _ => {}
                }
            }
            reader.read_body(&file.body, None, &mut stack.body, false);
        }
        // `backend "s3" {}` says where the state is kept (the binary reads
        // it): not an instance, unless the stack defines a `backend` component.
        if !stack.components.contains_key("backend") {
            stack.body.instances.retain(|instance| instance.kind != "backend" || instance.target.is_some());
        }
        stack.expressions = reader.expressions;
        stack.bodies = reader.bodies;
        stack
    }
}
