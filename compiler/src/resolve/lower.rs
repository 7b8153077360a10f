//! Lowering: the syntax trees of a resolved stack become the [`hir::Stack`]
//! that check annotates and expansion consumes, and every declared type
//! (variables, params, outputs) is read, once.
//!
//! Declarations follow [`Symbols`]: a user's component replaces the
//! stdlib's of the same name, and a component, param, target or `on` block
//! declared twice keeps its first occurrence. Structural problems (unknown
//! block kinds, wrong labels) were reported by the structure pass; here such
//! blocks are skipped, never panicked on.

use super::types::read_type;
use super::{
    block_is_sensitive, marked_sensitive, name_span, typed_sensitive, ComponentSymbols, Place, References,
    Repetition, Symbols, RESERVED_KINDS,
};
use crate::ast::{Attribute, Block, Body, Expr, File};
use crate::diagnostic::Diagnostic;
use crate::hash::FastMap;
use crate::hir::{
    AttributeDecl, BlockDecl, BodyDecl, ComponentDecl, ExprDecl, InstanceDecl, OutputDecl, ParamDecl,
    Reference, ResourceDecl, Stack, TargetDecl, ValidationDecl, VariableDecl,
};
use crate::source::Span;
use crate::types::Type;
use indexmap::IndexMap;
use std::sync::Arc;

/// (component, param) -> the param's declared type (`Any` when none).
pub(super) type ParamTypes<'a> = FastMap<(&'a str, &'a str), Arc<Type>>;

/// Reads the declared type of every param of every component (its first
/// declaration), reporting what is wrong with each. Run once the components
/// are known (a type may name a component kind), before the instances'
/// shapes are checked (a param written as a block must be an object).
pub(super) fn param_types<'a>(
    components: &FastMap<&'a str, ComponentSymbols<'a>>,
    diagnostics: &mut Vec<Diagnostic>,
) -> ParamTypes<'a> {
    let kinds: Vec<&str> = components.keys().copied().collect();
    let mut types = ParamTypes::default();
    for component in components.values() {
        for (param, block) in &component.params {
            let ty = declared_type(block, &kinds, diagnostics).unwrap_or(Type::Any);
            types.insert((component.name, param), Arc::new(ty));
        }
    }
    types
}

/// A block's `type = ...`, read; `None` when it has none.
fn declared_type(block: &Block, kinds: &[&str], diagnostics: &mut Vec<Diagnostic>) -> Option<Type> {
    block.body.attribute("type").map(|a| read_type(&a.value, kinds, diagnostics))
}

/// Lowers a resolved stack: `user` are the user's files `symbols` were
/// built from (the stdlib's components are reached through `symbols`),
/// `param_types` what [`param_types`] read, `walked` the walk over the
/// references that reported them (each expression's are taken from it).
pub(super) fn lower<'s, 'a>(
    user: &[&'a File],
    symbols: &'s Symbols<'a>,
    param_types: &ParamTypes<'_>,
    walked: &mut References<'s, 'a>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Stack {
    let kinds: Vec<&str> = symbols.components.keys().copied().collect();
    let mut lowering = Lowering {
        expressions: 0,
        bodies: 0,
        walked,
        references: Vec::new(),
        component: None,
        count: false,
        each: false,
        resource_type: None,
    };
    let mut stack = Stack::default();
    for (name, block) in &symbols.variables {
        let sensitive = block_is_sensitive(block);
        let ty = match declared_type(block, &kinds, diagnostics) {
            Some(ty) if sensitive && !ty.is_sensitive() => Type::Sensitive(Box::new(ty)),
            Some(ty) => ty,
            None if sensitive => Type::Sensitive(Box::new(Type::Any)),
            None => continue,
        };
        stack.variable_types.insert(name.to_string(), ty);
    }
    for component in symbols.components.values() {
        let decl = lowering.component(component, param_types, &kinds, diagnostics);
        stack.components.insert(decl.name.clone(), decl);
    }
    for (name, block) in &symbols.outputs {
        if let Some(ty) = declared_type(block, &kinds, diagnostics) {
            stack.output_types.insert(name.to_string(), ty);
        }
    }
    stack.body.id = lowering.body_id();
    for file in user {
        for block in &file.body.blocks {
            match block.kind.name.as_str() {
                "target" => {
                    if let Some(name) = label(block, 0) {
                        if stack.targets.iter().any(|t| t.name == name) {
                            continue;
                        }
                        stack.targets.push(TargetDecl {
                            name: name.to_string(),
                            span: block.span,
                            header: header(block),
                            attributes: block.body.attributes.iter().map(|a| lowering.attribute(a)).collect(),
                        });
                    }
                }
                "locals" => {
                    for attribute in &block.body.attributes {
                        let value = lowering.expr(&attribute.value);
                        let name = attribute.name.name.as_str();
                        if symbols.locals.get(name).is_some_and(|a| std::ptr::eq(*a, attribute)) {
                            stack.declared_locals.insert(name.to_string(), stack.locals.len());
                        }
                        stack.locals.push((name.to_string(), attribute.span, value));
                    }
                }
                "output" => {
                    let Some(output) = lowering.output(block) else { continue };
                    if symbols.outputs.get(output.name.as_str()).is_some_and(|b| std::ptr::eq(*b, block)) {
                        stack.declared_outputs.push(stack.outputs.len());
                    }
                    stack.outputs.push(output);
                }
                _ => {}
            }
        }
        let mut body = std::mem::take(&mut stack.body);
        lowering.body(&file.body, None, &mut body, false);
        stack.body = body;
    }
    for (name, block) in &symbols.variables {
        let decl = lowering.variable(name, block);
        stack.variable_decls.insert(name.to_string(), decl);
    }
    // `backend "s3" {}` says where the state is kept (the binary reads
    // it): not an instance, unless the stack defines a `backend` component.
    if !stack.components.contains_key("backend") {
        stack.body.instances.retain(|instance| instance.kind != "backend" || instance.target.is_some());
    }
    stack.expressions = lowering.expressions;
    stack.references = lowering.references;
    stack.bodies = lowering.bodies;
    stack
}

/// Deepest nested block lowered (expansion evaluates fewer levels still:
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

const RESOURCE_META: &[&str] = &["count", "for_each", "depends_on", "lifecycle"];

/// Numbers expressions and bodies as it lowers them, and keeps each
/// expression's references, resolved where the expression is.
struct Lowering<'r, 's, 'a> {
    expressions: usize,
    bodies: usize,
    /// The walk that reported the references, which recorded them.
    walked: &'r mut References<'s, 'a>,
    /// By expression number.
    references: Vec<Vec<Reference>>,
    /// The component being lowered, with the `on` block at hand (`None`
    /// for params' defaults and component-level outputs).
    component: Option<(&'s ComponentSymbols<'a>, Option<&'a Block>)>,
    /// `count.*` / `each.*` are visible (inside a repeated resource).
    count: bool,
    each: bool,
    /// The resource type looked up last, with its declared resources.
    resource_type: Option<(&'a str, &'s FastMap<&'a str, &'a Block>)>,
}

impl<'r, 's, 'a> Lowering<'r, 's, 'a> {
    fn expr(&mut self, expr: &'a Expr) -> ExprDecl {
        let place = match self.component {
            Some((component, body)) => Place::Component { component, body },
            None => Place::Stack { owner: None },
        };
        let repetition = Repetition { count: self.count, each: self.each };
        let references = self.walked.take(expr, place, repetition);
        self.references.push(references);
        self.expressions += 1;
        ExprDecl { id: self.expressions - 1, expr: Arc::new(expr.clone()) }
    }

    fn attribute_expr(&mut self, body: &'a Body, name: &str) -> Option<ExprDecl> {
        body.attribute(name).map(|a| self.expr(&a.value))
    }

    fn attribute(&mut self, attribute: &'a Attribute) -> AttributeDecl {
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

    fn block(&mut self, block: &'a Block, depth: usize) -> BlockDecl {
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

    fn output(&mut self, block: &'a Block) -> Option<OutputDecl> {
        label(block, 0)?;
        Some(self.any_output(block))
    }

    /// An output, named `` when it has no label.
    fn any_output(&mut self, block: &'a Block) -> OutputDecl {
        OutputDecl {
            name: label(block, 0).unwrap_or_default().to_string(),
            span: block.span,
            name_span: name_span(block),
            value: self.attribute_expr(&block.body, "value"),
            sensitive: marked_sensitive(block),
            sensitive_type: typed_sensitive(block),
        }
    }

    /// The `validation` blocks of a variable or param.
    fn validations(&mut self, block: &'a Block) -> Vec<ValidationDecl> {
        block
            .body
            .blocks_of("validation")
            .map(|validation| ValidationDecl {
                span: validation.span,
                condition: self.attribute_expr(&validation.body, "condition"),
                message: self.attribute_expr(&validation.body, "message"),
            })
            .collect()
    }

    fn variable(&mut self, name: &str, block: &'a Block) -> VariableDecl {
        VariableDecl {
            name: name.to_string(),
            span: block.span,
            name_span: name_span(block),
            type_span: block.body.attribute("type").map(|a| a.value.span),
            default: self.attribute_expr(&block.body, "default"),
            validations: self.validations(block),
        }
    }

    fn resource(&mut self, block: &'a Block, target: Option<&str>) -> Option<ResourceDecl> {
        let type_label = block.labels.first()?;
        let name = label(block, 1)?.to_string();
        let count = self.attribute_expr(&block.body, "count");
        let for_each = self.attribute_expr(&block.body, "for_each");
        // The rest of the resource sees its repetition's `count.*`/`each.*`.
        (self.count, self.each) = (count.is_some(), for_each.is_some());
        let depends_on = self.attribute_expr(&block.body, "depends_on");
        // One pass each over the attributes and the blocks: configuration,
        // then what else is written with a meta-argument's name.
        let mut attributes = Vec::with_capacity(block.body.attributes.len());
        let mut meta_attributes = Vec::new();
        for attribute in &block.body.attributes {
            let name = attribute.name.name.as_str();
            if !RESOURCE_META.contains(&name) {
                attributes.push(self.attribute(attribute));
            } else if name == "lifecycle"
                || !block.body.attribute(name).is_some_and(|first| std::ptr::eq(first, attribute))
            {
                meta_attributes.push(self.attribute(attribute));
            }
        }
        let mut blocks = Vec::with_capacity(block.body.blocks.len());
        let mut meta_blocks = Vec::new();
        for inner in &block.body.blocks {
            match RESOURCE_META.contains(&inner.kind.name.as_str()) {
                false => blocks.push(self.block(inner, 0)),
                true => meta_blocks.push(self.block(inner, 0)),
            }
        }
        (self.count, self.each) = (false, false);
        let declared = self.component.is_some() || {
            // Stacks declare runs of one type: its resources are looked up once per run.
            let type_name = type_label.name.as_str();
            let by_name = match self.resource_type {
                Some((last, by_name)) if last == type_name => Some(by_name),
                _ => {
                    self.resource_type = self
                        .walked
                        .symbols
                        .resources
                        .get_key_value(type_name)
                        .map(|(type_name, by_name)| (*type_name, by_name));
                    self.resource_type.map(|(_, by_name)| by_name)
                }
            };
            by_name.and_then(|by_name| by_name.get(name.as_str())).is_some_and(|b| std::ptr::eq(*b, block))
        };
        Some(ResourceDecl {
            type_name: type_label.name.clone(),
            type_span: type_label.span,
            name,
            span: block.span,
            count,
            for_each,
            depends_on,
            attributes,
            blocks,
            meta_attributes,
            meta_blocks,
            target: target.map(str::to_string),
            declared,
        })
    }

    fn instance(&mut self, block: &'a Block, target: Option<&str>) -> Option<InstanceDecl> {
        let name = label(block, 0)?.to_string();
        let declared = self.component.is_some()
            || self
                .walked
                .symbols
                .instance(&block.kind.name, &name)
                .is_some_and(|i| std::ptr::eq(i.block, block));
        Some(InstanceDecl {
            kind: block.kind.name.clone(),
            kind_span: block.kind.span,
            name,
            span: block.span,
            name_span: name_span(block),
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
            policy_blocks: block.body.blocks_of(crate::policy::BLOCK).map(|b| self.block(b, 0)).collect(),
            target: target.map(str::to_string),
            declared,
        })
    }

    /// Lowers the items of a body: resources, instances, outputs, and (at
    /// the stack's top level) nested `on "<target>"` blocks, whose items
    /// carry the target.
    fn body(&mut self, body: &'a Body, target: Option<&str>, into: &mut BodyDecl, component_level: bool) {
        for block in &body.blocks {
            let lowered = match block.kind.name.as_str() {
                "resource" => self.resource(block, target).map(|r| into.resources.push(r)),
                // Unnamed outputs are kept by the component.
                "output" => {
                    if component_level {
                        into.outputs.extend(self.output(block));
                    }
                    Some(())
                }
                "on" if target.is_none() && !component_level => {
                    if let Some(name) = label(block, 0) {
                        self.body(&block.body, Some(name), into, component_level);
                    }
                    Some(())
                }
                kind if RESERVED_KINDS.contains(&kind) || kind == "param" => None,
                _ => self.instance(block, target).map(|i| into.instances.push(i)),
            };
            if lowered.is_none() && component_level {
                into.other_blocks.push(self.block(block, 0));
            }
        }
    }

    /// Lowers the block a component's symbols chose, with the types of its
    /// params (read before) and of its outputs (read here).
    fn component(
        &mut self,
        symbols: &'s ComponentSymbols<'a>,
        param_types: &ParamTypes<'_>,
        kinds: &[&str],
        diagnostics: &mut Vec<Diagnostic>,
    ) -> ComponentDecl {
        let block = symbols.block;
        let mut decl = ComponentDecl {
            name: symbols.name.to_string(),
            span: block.span,
            header: header(block),
            origin: symbols.origin,
            params: IndexMap::new(),
            outputs: Vec::new(),
            unnamed_outputs: Vec::new(),
            output_types: IndexMap::new(),
            on: IndexMap::new(),
        };
        // Params' defaults and component-level outputs see the names of
        // every `on` block; an `on` block's items those of their own.
        self.component = Some((symbols, None));
        for inner in &block.body.blocks {
            match inner.kind.name.as_str() {
                "param" => {
                    let Some(name) = label(inner, 0) else { continue };
                    // A param declared twice keeps its first declaration.
                    if decl.params.contains_key(name) {
                        continue;
                    }
                    let default = inner.body.attribute("default");
                    let ty = param_types
                        .get(&(symbols.name, name))
                        .cloned()
                        .unwrap_or_else(|| Arc::new(Type::Any));
                    decl.params.insert(
                        name.to_string(),
                        ParamDecl {
                            name: name.to_string(),
                            span: inner.span,
                            default: default.map(|a| self.expr(&a.value)),
                            has_default: default.is_some(),
                            ty,
                            type_span: inner.body.attribute("type").map(|a| a.value.span),
                            validations: self.validations(inner),
                        },
                    );
                }
                "output" if label(inner, 0).is_some() => decl.outputs.extend(self.output(inner)),
                "output" => {
                    let output = self.any_output(inner);
                    decl.unnamed_outputs.push(output);
                }
                "on" => {
                    let Some(target) = label(inner, 0) else { continue };
                    if decl.on.contains_key(target) {
                        continue;
                    }
                    let mut body = BodyDecl { id: self.body_id(), ..BodyDecl::default() };
                    self.component = Some((symbols, Some(inner)));
                    self.body(&inner.body, Some(target), &mut body, true);
                    for output in inner.body.blocks_of("output").filter(|o| label(o, 0).is_none()) {
                        let output = self.any_output(output);
                        decl.unnamed_outputs.push(output);
                    }
                    self.component = Some((symbols, None));
                    decl.on.insert(target.to_string(), (inner.span, body));
                }
                _ => {}
            }
        }
        self.component = None;
        for (name, output) in &symbols.outputs {
            let ty = declared_type(output, kinds, diagnostics).unwrap_or(Type::Any);
            decl.output_types.insert(name.to_string(), ty);
        }
        decl
    }
}
