//! What expansion reads from a stack: targets, variables' values, locals,
//! component definitions (params, outputs, per-target bodies), instances,
//! top-level resources and outputs. Read from the syntax tree of a stack
//! that `check` accepted (the HIR keeps it), so expansion sees exactly the
//! blocks the checker saw and can carry their expressions into `Deferred`s.
//!
//! Structural problems (unknown block kinds, wrong labels) were reported by
//! `check`; here such blocks are skipped, never panicked on.

use crate::ast::{Attribute, Block, Body, Expr, File};
use crate::resolve::types::read_type;
use crate::resolve::RESERVED_KINDS;
use crate::source::Span;
use crate::types::Type;
use indexmap::IndexMap;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct TargetDecl {
    pub name: String,
    pub span: Span,
    /// `target "aws"`: the keyword and label.
    pub header: Span,
    /// The block's attributes (`region`, `namespace`), as expressions.
    pub attributes: Vec<Attribute>,
}

#[derive(Clone, Debug)]
pub struct ParamDecl {
    pub name: String,
    pub span: Span,
    pub default: Option<Arc<Expr>>,
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
    pub value: Option<Arc<Expr>>,
    pub sensitive: bool,
}

/// `name = value` in a resource or instance block, the value shared (not
/// copied) with every repetition's `Deferred`.
#[derive(Clone, Debug)]
pub struct AttributeDecl {
    pub name: crate::ast::Ident,
    pub value: Arc<Expr>,
    pub span: Span,
}

impl AttributeDecl {
    fn new(attribute: &Attribute) -> AttributeDecl {
        AttributeDecl {
            name: attribute.name.clone(),
            value: Arc::new(attribute.value.clone()),
            span: attribute.span,
        }
    }
}

/// `resource "<type>" "<name>" { ... }`.
#[derive(Clone, Debug)]
pub struct ResourceDecl {
    pub type_name: String,
    pub type_span: Span,
    pub name: String,
    pub span: Span,
    pub count: Option<Arc<Expr>>,
    pub for_each: Option<Arc<Expr>>,
    /// Explicit `depends_on = [...]`.
    pub depends_on: Option<Arc<Expr>>,
    /// Configuration attributes (meta-arguments removed).
    pub attributes: Vec<AttributeDecl>,
    /// Nested blocks, written for object- or list-typed attributes.
    pub blocks: Vec<Arc<Block>>,
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
    pub blocks: Vec<Arc<Block>>,
    /// The `on "<target>"` block it is in, if any.
    pub target: Option<String>,
}

/// The items of a stack's top level or of a component's `on` block.
#[derive(Clone, Debug, Default)]
pub struct BodyDecl {
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
    pub locals: Vec<(String, Span, Arc<Expr>)>,
    pub components: IndexMap<String, ComponentDecl>,
    /// Top-level items; those inside `on "<target>"` carry their target.
    pub body: BodyDecl,
    pub outputs: Vec<OutputDecl>,
}

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

fn attribute_expr(body: &Body, name: &str) -> Option<Arc<Expr>> {
    body.attribute(name).map(|a| Arc::new(a.value.clone()))
}

fn is_true(body: &Body, name: &str) -> bool {
    matches!(body.attribute(name).map(|a| &a.value.kind), Some(crate::ast::ExprKind::Bool(true)))
}

fn output(block: &Block) -> Option<OutputDecl> {
    Some(OutputDecl {
        name: label(block, 0)?.to_string(),
        span: block.span,
        value: attribute_expr(&block.body, "value"),
        sensitive: is_true(&block.body, "sensitive"),
    })
}

const RESOURCE_META: &[&str] = &["count", "for_each", "depends_on", "lifecycle"];

fn resource(block: &Block, target: Option<&str>) -> Option<ResourceDecl> {
    let type_label = block.labels.first()?;
    Some(ResourceDecl {
        type_name: type_label.name.clone(),
        type_span: type_label.span,
        name: label(block, 1)?.to_string(),
        span: block.span,
        count: attribute_expr(&block.body, "count"),
        for_each: attribute_expr(&block.body, "for_each"),
        depends_on: attribute_expr(&block.body, "depends_on"),
        attributes: block
            .body
            .attributes
            .iter()
            .filter(|a| !RESOURCE_META.contains(&a.name.name.as_str()))
            .map(AttributeDecl::new)
            .collect(),
        blocks: block
            .body
            .blocks
            .iter()
            .filter(|b| !RESOURCE_META.contains(&b.kind.name.as_str()))
            .map(|b| Arc::new(b.clone()))
            .collect(),
        target: target.map(str::to_string),
    })
}

fn instance(block: &Block, target: Option<&str>) -> Option<InstanceDecl> {
    Some(InstanceDecl {
        kind: block.kind.name.clone(),
        kind_span: block.kind.span,
        name: label(block, 0)?.to_string(),
        span: block.span,
        header: header(block),
        attributes: block.body.attributes.iter().map(AttributeDecl::new).collect(),
        // `reconcile { ... }` is the instance's reconcile policy, not a param.
        blocks: block
            .body
            .blocks
            .iter()
            .filter(|b| b.kind.name != crate::policy::BLOCK)
            .map(|b| Arc::new(b.clone()))
            .collect(),
        target: target.map(str::to_string),
    })
}

/// Reads the items of a body: resources, instances, outputs, and (when
/// `allow_on`) nested `on "<target>"` blocks, whose items carry the target.
fn read_body(body: &Body, target: Option<&str>, into: &mut BodyDecl, component_level: bool) {
    for block in &body.blocks {
        match block.kind.name.as_str() {
            "resource" => into.resources.extend(resource(block, target)),
            "output" if component_level => into.outputs.extend(output(block)),
            "on" if target.is_none() && !component_level => {
                if let Some(name) = label(block, 0) {
                    read_body(&block.body, Some(name), into, component_level);
                }
            }
            kind if RESERVED_KINDS.contains(&kind) || kind == "param" => {}
            _ => into.instances.extend(instance(block, target)),
        }
    }
}

fn component(block: &Block, kinds: &[&str]) -> Option<ComponentDecl> {
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
                    decl.params.insert(
                        name.to_string(),
                        ParamDecl {
                            name: name.to_string(),
                            span: inner.span,
                            default: default.map(|a| Arc::new(a.value.clone())),
                            has_default: default.is_some(),
                            ty: inner
                                .body
                                .attribute("type")
                                .map_or(Type::Any, |a| read_type(&a.value, kinds, &mut Vec::new())),
                        },
                    );
                }
            }
            "output" => decl.outputs.extend(output(inner)),
            "on" => {
                if let Some(target) = label(inner, 0) {
                    let mut body = BodyDecl::default();
                    read_body(&inner.body, Some(target), &mut body, true);
                    decl.on.insert(target.to_string(), (inner.span, body));
                }
            }
            _ => {}
        }
    }
    Some(decl)
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
        // The component kinds, which a param's type may name (`type = service`).
        let kinds: Vec<&str> = stdlib
            .iter()
            .chain(&user)
            .flat_map(|file| file.body.blocks_of("component"))
            .filter_map(|block| label(block, 0))
            .collect();
        let mut stack = StackDecl::default();
        for file in stdlib {
            for block in file.body.blocks_of("component") {
                if let Some(decl) = component(block, &kinds) {
                    stack.components.insert(decl.name.clone(), decl);
                }
            }
        }
        for file in user {
            for block in &file.body.blocks {
                match block.kind.name.as_str() {
                    "component" => {
                        if let Some(decl) = component(block, &kinds) {
                            stack.components.insert(decl.name.clone(), decl);
                        }
                    }
                    "target" => {
                        if let Some(name) = label(block, 0) {
                            stack.targets.push(TargetDecl {
                                name: name.to_string(),
                                span: block.span,
                                header: header(block),
                                attributes: block.body.attributes.clone(),
                            });
                        }
                    }
                    "locals" => {
                        for attribute in &block.body.attributes {
                            stack.locals.push((
                                attribute.name.name.clone(),
                                attribute.span,
                                Arc::new(attribute.value.clone()),
                            ));
                        }
                    }
                    "output" => stack.outputs.extend(output(block)),
                    _ => {}
                }
            }
            let mut top = BodyDecl::default();
            read_body(&file.body, None, &mut top, false);
            stack.body.resources.append(&mut top.resources);
            stack.body.instances.append(&mut top.instances);
        }
        // `backend "s3" {}` says where the state is kept (the binary reads
        // it): not an instance, unless the stack defines a `backend` component.
        if !stack.components.contains_key("backend") {
            stack.body.instances.retain(|instance| instance.kind != "backend" || instance.target.is_some());
        }
        stack
    }
}
