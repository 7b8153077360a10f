//! The expansion algorithm: bodies are processed item by item in
//! dependency order; each item adds a root value (`aws_vpc.main`,
//! `service.api`, `local.x`) that later items can reference.

use super::address::{InstanceKey, InstancePath};
use super::schema_check::{self, WrittenAttribute};
use super::scope::{capture, Captured, DeferredExpr, DeferredObject, Named, PlanView, ResourceRef};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::eval::Evaluator;
use crate::graph::{OutputNode, ResourceAddress, ResourceGraph, ResourceNode};
use crate::hash::FastMap;
use crate::hir::{
    BlockDecl, BodyDecl, ComponentDecl, ExprDecl, InstanceDecl, OutputDecl, Reference, ResourceDecl, Stack,
    Step,
};
use crate::resolve::{dns_name, TARGET_ATTRIBUTES};
use crate::schema::SchemaSource;
use crate::source::Span;
use crate::types::Type;
use crate::value::Value;
use indexmap::IndexMap;
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

/// Components may nest this deep (instance in component in component...).
pub const MAX_COMPONENT_DEPTH: usize = 32;

/// How many resources one `count`/`for_each` may produce.
pub const MAX_REPETITIONS: usize = 100_000;

/// How many resources one expansion may produce in all (repetitions of
/// nested components multiply; this keeps any input bounded in time and memory).
pub const MAX_RESOURCES: usize = 1_000_000;

/// The component every stack gets one instance of, `network.main`.
pub const NETWORK_KIND: &str = "network";
pub const NETWORK_NAME: &str = "main";

/// Values of resources already created, from state (e.g. a generated
/// password): used for their computed attributes instead of unknown.
pub type PriorLookup<'a> = &'a dyn Fn(&ResourceAddress) -> Option<Value>;

pub(crate) struct Engine<'s> {
    pub stack: &'s Stack,
    pub schemas: &'s dyn SchemaSource,
    pub evaluator: Arc<dyn Evaluator>,
    pub target: Option<String>,
    pub target_attributes: Captured,
    pub prior: Option<PriorLookup<'s>>,
    pub graph: ResourceGraph,
    pub diagnostics: Vec<Diagnostic>,
    reported: HashSet<(Code, Span, String)>,
    /// Where the user wrote what is being expanded (an instance's header, or
    /// the target block for the implicit network) and the label saying so,
    /// added to problems found inside a component's body.
    instance: Option<(Span, String)>,
    /// How many evaluations failed (and were reported) so far.
    evaluation_errors: usize,
    /// Outputs of the stack's implicit `network.main`, seen by component
    /// bodies as the `network` root.
    network: Captured,
    /// References of each expression of the stack (read by resolve, in
    /// the HIR), with the roots they name, scanned once (a component
    /// body's expressions are evaluated once per instance), by
    /// [`ExprDecl::id`].
    references: Vec<Option<Scanned<'s>>>,
    /// The order of each body's items (the same for every instance of a
    /// component), by [`BodyDecl::id`].
    orders: Vec<Option<Vec<usize>>>,
    /// Each resource node's configuration, shared with the references to
    /// it while expanding; put into its node when expansion ends, moved
    /// when nothing kept a reference (most resources), else copied.
    values: Vec<(petgraph::graph::NodeIndex, Arc<Value>)>,
    /// `ExpandOptions::autoscaled_replicas`.
    pub autoscaled_replicas: IndexMap<String, u64>,
    /// `ExpandOptions::rollouts`.
    pub rollouts: IndexMap<String, super::RolloutStep>,
    /// The target's settings needed only when read ([`TargetSetting::when_read`])
    /// that are not set, each with its E0508, reported when a resource's
    /// attribute reads it.
    unset_when_read: Vec<(String, Diagnostic)>,
}

/// An expression's references and the roots they name, and whether one
/// has a step indexed by a repetition's key (`[each.key]`), which each
/// evaluation rewrites.
#[derive(Clone)]
struct Scanned<'s> {
    references: &'s [Reference],
    named: Arc<Named>,
    repetition: bool,
}

impl<'s> Scanned<'s> {
    fn new(references: &'s [Reference]) -> Scanned<'s> {
        let repetition = references.iter().any(|r| r.steps.iter().any(|s| matches!(s, Step::Repetition(..))));
        let named = Arc::new(Named::new(references));
        Scanned { references, named, repetition }
    }
}

/// Where in the component tree a body is being expanded.
#[derive(Clone)]
struct Frame {
    path: InstancePath,
    provenance: Vec<Span>,
    /// Component kinds being expanded, outermost first, with the instance spans.
    kinds: Vec<(String, Span)>,
}

type Visible = FastMap<String, Captured>;

/// One item of a body, in processing order.
#[derive(Clone, Copy)]
enum Item<'b> {
    Local(&'b (String, Span, ExprDecl)),
    Resource(&'b ResourceDecl),
    Instance(&'b InstanceDecl),
}

impl<'b> Item<'b> {
    fn key(&self) -> (&str, &str) {
        match self {
            Item::Local((name, _, _)) => ("local", name),
            Item::Resource(r) => (&r.type_name, &r.name),
            Item::Instance(i) => (&i.kind, &i.name),
        }
    }

    fn span(&self) -> Span {
        match self {
            Item::Local((_, span, _)) => *span,
            Item::Resource(r) => r.span,
            Item::Instance(i) => i.span,
        }
    }

    /// The references of the item's expressions (from the HIR of `stack`).
    fn references(&self, stack: &'b Stack) -> Vec<&'b Reference> {
        let mut out = Vec::new();
        match self {
            Item::Local((_, _, expr)) => out.extend(stack.references(expr)),
            Item::Resource(r) => {
                for expr in [&r.count, &r.for_each, &r.depends_on].into_iter().flatten() {
                    out.extend(stack.references(expr));
                }
                for attribute in &r.attributes {
                    out.extend(stack.references(&attribute.value));
                }
                for block in &r.blocks {
                    block_references(stack, block, &mut out, 0);
                }
            }
            Item::Instance(i) => {
                for attribute in &i.attributes {
                    out.extend(stack.references(&attribute.value));
                }
                for block in &i.blocks {
                    block_references(stack, block, &mut out, 0);
                }
            }
        }
        out
    }
}

fn block_references<'b>(stack: &'b Stack, block: &'b BlockDecl, out: &mut Vec<&'b Reference>, depth: usize) {
    if depth > MAX_COMPONENT_DEPTH {
        return;
    }
    for attribute in &block.attributes {
        out.extend(stack.references(&attribute.value));
    }
    for inner in &block.blocks {
        block_references(stack, inner, out, depth + 1);
    }
}

impl<'s> Engine<'s> {
    pub fn new(
        stack: &'s Stack,
        schemas: &'s dyn SchemaSource,
        evaluator: Arc<dyn Evaluator>,
        target: Option<String>,
        prior: Option<PriorLookup<'s>>,
    ) -> Engine<'s> {
        Engine {
            stack,
            schemas,
            evaluator,
            target,
            target_attributes: Captured::Value(Value::Object(Default::default())),
            prior,
            graph: ResourceGraph::new(),
            diagnostics: Vec::new(),
            reported: HashSet::new(),
            instance: None,
            evaluation_errors: 0,
            network: Captured::Value(Value::Null),
            references: vec![None; stack.expressions],
            orders: vec![None; stack.bodies],
            values: Vec::new(),
            autoscaled_replicas: IndexMap::new(),
            rollouts: IndexMap::new(),
            unset_when_read: Vec::new(),
        }
    }

    /// `self.autoscaled_replicas` of the instance at `path`.
    fn autoscaled_replicas_of(&self, path: &InstancePath) -> Value {
        match self.autoscaled_replicas.get(&path.to_string()) {
            Some(count) => Value::Number(*count as f64),
            None => Value::Null,
        }
    }

    /// `self.rollout` of the instance at `path`.
    fn rollout_of(&self, path: &InstancePath) -> Value {
        match self.rollouts.get(&path.to_string()) {
            Some(step) => Value::Object(stackc_model::Fields::from_iter([
                ("weight".to_string(), Value::Number(f64::from(step.weight))),
                ("canary".to_string(), Value::Number(step.canary as f64)),
            ])),
            None => Value::Null,
        }
    }

    fn report(&mut self, mut diagnostic: Diagnostic) {
        let key = (diagnostic.code, diagnostic.primary.span, diagnostic.message.clone());
        if self.reported.insert(key) {
            // A problem inside a component body also points at the user's
            // instance it was expanded for: that is the line they wrote.
            if let Some((span, label)) = &self.instance {
                let covers = |other: &Span| {
                    other.file == span.file && other.start <= span.start && other.end >= span.end
                };
                let inside = !covers(&diagnostic.primary.span)
                    && !diagnostic.secondary.iter().any(|label| covers(&label.span));
                if inside {
                    diagnostic = diagnostic.with_secondary(*span, label.clone());
                }
            }
            self.diagnostics.push(diagnostic);
        }
    }

    /// Whether `expr` reads a target setting that is needed when read and
    /// not set (`target.ami`); if so, its E0508 at the target block is
    /// reported, once, without the instance's label (the block is what to
    /// change).
    fn reads_unset_setting(&mut self, expr: &ExprDecl) -> bool {
        if self.unset_when_read.is_empty() {
            return false;
        }
        let read: Vec<usize> = self
            .stack
            .references(expr)
            .iter()
            .filter(|r| r.root == "target")
            .filter_map(|r| {
                let first = r.steps.first()?.name();
                self.unset_when_read.iter().position(|(name, _)| name == first)
            })
            .collect();
        for &i in &read {
            let diagnostic = self.unset_when_read[i].1.clone();
            let key = (diagnostic.code, diagnostic.primary.span, diagnostic.message.clone());
            if self.reported.insert(key) {
                self.diagnostics.push(diagnostic);
            }
        }
        !read.is_empty()
    }

    /// The references of `expr`, scanned once.
    fn scanned(&mut self, expr: &ExprDecl) -> Scanned<'s> {
        if self.references.len() <= expr.id {
            self.references.resize(expr.id + 1, None);
        }
        let stack = self.stack;
        self.references[expr.id].get_or_insert_with(|| Scanned::new(stack.references(expr))).clone()
    }

    /// Evaluates one expression against the visible roots. The value is the
    /// captured one's (see [`planned`]): returned once, not also cloned.
    fn eval(&mut self, expr: &ExprDecl, visible: &Visible) -> Captured {
        let scanned = self.scanned(expr);
        // Rewritten for the repetition at hand only when a step needs it
        // (copying every expression's references per evaluation was a
        // tenth of expansion).
        let (refs, named): (std::borrow::Cow<'_, [Reference]>, std::borrow::Cow<'_, Named>) =
            if scanned.repetition {
                let refs = resolve_repetitions(scanned.references.to_vec(), visible);
                let named = Named::new(&refs);
                (std::borrow::Cow::Owned(refs), std::borrow::Cow::Owned(named))
            } else {
                (std::borrow::Cow::Borrowed(scanned.references), std::borrow::Cow::Borrowed(&scanned.named))
            };
        let view = PlanView::new(visible, &refs, &named);
        let value = match self.evaluator.evaluate(expr, &view) {
            Ok(value) => value,
            // Unknown, not null: what depends on a value that could not be
            // computed is not reported again (one mistake, one diagnostic).
            Err(diagnostic) => {
                self.report(diagnostic);
                self.evaluation_errors += 1;
                Value::Unknown
            }
        };
        let deps = view.dependencies();
        if deps.is_empty() {
            Captured::Value(value)
        } else {
            Captured::Expr(Arc::new(DeferredExpr {
                expr: expr.expr.clone(),
                scope: capture(visible, &refs),
                planned: value,
                evaluator: self.evaluator.clone(),
                dependencies: deps,
            }))
        }
    }

    /// A block written for an object-typed param or attribute, as an object.
    fn eval_block(&mut self, block: &BlockDecl, visible: &Visible, depth: usize) -> Captured {
        let mut fields = FastMap::default();
        for attribute in &block.attributes {
            let captured = self.eval(&attribute.value, visible);
            fields.insert(attribute.name.name.clone(), captured);
        }
        if depth < MAX_COMPONENT_DEPTH {
            for (name, captured) in self.eval_blocks(&block.blocks, visible, depth + 1, |_| false) {
                fields.insert(name, captured);
            }
        }
        Captured::object(fields)
    }

    /// Blocks grouped by name: one block is an object, several (or one for
    /// a list-typed attribute, per `is_list`) a list of objects.
    fn eval_blocks<'b>(
        &mut self,
        blocks: impl IntoIterator<Item = &'b BlockDecl>,
        visible: &Visible,
        depth: usize,
        is_list: impl Fn(&str) -> bool,
    ) -> FastMap<String, Captured> {
        let mut grouped: FastMap<String, Vec<Captured>> = FastMap::default();
        for block in blocks {
            let captured = self.eval_block(block, visible, depth);
            grouped.entry(block.name.clone()).or_default().push(captured);
        }
        grouped
            .into_iter()
            .map(|(name, mut items)| {
                let value = if items.len() == 1 && !is_list(&name) {
                    items.remove(0)
                } else {
                    Captured::List(Arc::new(items))
                };
                (name, value)
            })
            .collect()
    }

    /// The items of a body in dependency order; cycles are reported (E0204)
    /// and broken so that every item is still processed once. Found once per
    /// body (`body` is its [`BodyDecl::id`]): a component's body is expanded once per
    /// instance, with the same items (this target's), so the same order;
    /// its cycles, reported the first time, would not be reported again.
    fn order<'b>(&mut self, body: usize, items: Vec<Item<'b>>) -> Vec<Item<'b>> {
        if let Some(Some(order)) = self.orders.get(body) {
            return order.iter().map(|&i| items[i]).collect();
        }
        let order = self.find_order(&items);
        let ordered = order.iter().map(|&i| items[i]).collect();
        if self.orders.len() <= body {
            self.orders.resize(body + 1, None);
        }
        self.orders[body] = Some(order);
        ordered
    }

    /// [`Engine::order`]'s search: the items' indexes in dependency order.
    fn find_order(&mut self, items: &[Item<'_>]) -> Vec<usize> {
        let index: IndexMap<(String, String), usize> = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let (a, b) = item.key();
                ((a.to_string(), b.to_string()), i)
            })
            .collect();
        let edges: Vec<Vec<(usize, Span)>> = items
            .iter()
            .map(|item| {
                let mut out = Vec::new();
                for reference in item.references(self.stack) {
                    let Some(first) = reference.steps.first() else { continue };
                    if let Some(&target) = index.get(&(reference.root.clone(), first.name().to_string())) {
                        out.push((target, reference.span));
                    }
                }
                out
            })
            .collect();
        // Iterative depth-first search: 0 = new, 1 = on the stack, 2 = done.
        let mut state = vec![0u8; items.len()];
        let mut order = Vec::with_capacity(items.len());
        for start in 0..items.len() {
            if state[start] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            state[start] = 1;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                if *next < edges[node].len() {
                    let (target, span) = edges[node][*next];
                    *next += 1;
                    match state[target] {
                        0 => {
                            state[target] = 1;
                            stack.push((target, 0));
                        }
                        1 => {
                            let from = stack.iter().position(|(n, _)| *n == target).unwrap_or(0);
                            let cycle: Vec<usize> = stack[from..].iter().map(|(n, _)| *n).collect();
                            self.report_cycle(items, &cycle, span);
                        }
                        _ => {}
                    }
                } else {
                    state[node] = 2;
                    order.push(node);
                    stack.pop();
                }
            }
        }
        order
    }

    fn report_cycle(&mut self, items: &[Item<'_>], cycle: &[usize], closing: Span) {
        let names: Vec<String> = cycle
            .iter()
            .chain(cycle.first())
            .map(|&i| {
                let (a, b) = items[i].key();
                format!("{a}.{b}")
            })
            .collect();
        let mut diagnostic = Diagnostic::new(
            Code::ReferenceCycle,
            closing,
            format!("These items reference each other in a cycle: {}.", names.join(" -> ")),
        )
        .with_label("this reference closes the cycle")
        .with_help("break the cycle: one of them must not depend on the other");
        for &i in cycle {
            let (a, b) = items[i].key();
            diagnostic =
                diagnostic.with_secondary(items[i].span(), format!("`{a}.{b}` is part of the cycle"));
        }
        self.report(diagnostic);
    }

    /// Expands the items of a body; returns the roots visible at its end.
    fn expand_body<'b>(
        &mut self,
        body: &'b BodyDecl,
        locals: &'b [(String, Span, ExprDecl)],
        mut visible: Visible,
        frame: &Frame,
    ) -> Visible {
        let target = self.target.clone();
        let for_target = |t: &Option<String>| t.is_none() || *t == target;
        let mut items: Vec<Item<'b>> = locals.iter().map(Item::Local).collect();
        items.extend(body.resources.iter().filter(|r| for_target(&r.target)).map(Item::Resource));
        items.extend(body.instances.iter().filter(|i| for_target(&i.target)).map(Item::Instance));
        // Placeholders: an item whose reference was cut to break a cycle
        // sees the other end as unknown (the cycle is already reported).
        for item in &items {
            let (root, name) = item.key();
            let entry =
                visible.entry(root.to_string()).or_insert_with(|| Captured::object(FastMap::default()));
            if let Captured::Object(fields) = entry {
                Arc::make_mut(fields).insert(name.to_string(), Captured::Value(Value::Unknown));
            }
        }
        for item in self.order(body.id, items) {
            let (root, name, captured) = match item {
                Item::Local((name, _, expr)) => {
                    let captured = self.eval(expr, &visible);
                    ("local".to_string(), name.clone(), captured)
                }
                Item::Resource(decl) => {
                    let captured = self.expand_resource(decl, &visible, frame);
                    (decl.type_name.clone(), decl.name.clone(), captured)
                }
                Item::Instance(decl) => {
                    let captured = self.expand_instance(decl, &visible, frame);
                    (decl.kind.clone(), decl.name.clone(), captured)
                }
            };
            let entry = visible.entry(root).or_insert_with(|| Captured::object(FastMap::default()));
            if let Captured::Object(fields) = entry {
                Arc::make_mut(fields).insert(name, captured);
            }
        }
        visible
    }

    /// The keys of a resource's repetitions, with `count`/`each` roots.
    fn repetitions(
        &mut self,
        decl: &ResourceDecl,
        visible: &Visible,
    ) -> Option<Vec<(Option<InstanceKey>, Visible)>> {
        let single = || vec![(None, FastMap::default())];
        let (expr, is_count) = match (&decl.count, &decl.for_each) {
            (Some(count), _) => (count, true),
            (None, Some(for_each)) => (for_each, false),
            (None, None) => return Some(single()),
        };
        let failed_before = self.evaluation_errors;
        let captured = self.eval(expr, visible);
        if self.evaluation_errors > failed_before {
            return None; // reported
        }
        let value = planned(&captured).unmarked();
        if value.has_unknown() {
            self.report(
                Diagnostic::new(
                    Code::RepetitionUnknown,
                    expr.span,
                    format!(
                        "The {} of `{}.{}` is known only after apply; how many resources to create must be known when planning.",
                        if is_count { "count" } else { "for_each" },
                        decl.type_name,
                        decl.name
                    ),
                )
                .with_label("known only after apply")
                .with_help("derive it from variables and params, not from attributes a provider computes"),
            );
            return None;
        }
        let too_many = |engine: &mut Engine<'_>, n: usize| {
            engine.report(Diagnostic::new(
                Code::TypeMismatch,
                expr.span,
                format!("{n} repetitions is more than the {MAX_REPETITIONS} a resource block may produce."),
            ));
        };
        let mut out = Vec::new();
        if is_count {
            let Some(n) = value.as_f64().filter(|n| *n >= 0.0 && n.fract() == 0.0) else {
                self.report(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        expr.span,
                        format!("`count` must be a whole number, 0 or more; it is {value}."),
                    )
                    .with_label("expected a whole number"),
                );
                return None;
            };
            if n > MAX_REPETITIONS as f64 {
                too_many(self, n as usize);
                return None;
            }
            for i in 0..n as usize {
                let mut roots = FastMap::default();
                let index: stackc_model::Fields =
                    [("index".to_string(), Value::Number(i as f64))].into_iter().collect();
                roots.insert("count".to_string(), Captured::Value(Value::Object(index)));
                out.push((Some(InstanceKey::Index(i)), roots));
            }
            return Some(out);
        }
        let pairs: Vec<(String, Value)> = match &value {
            Value::Object(fields) => fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Value::List(items) if items.iter().all(|i| i.as_str().is_some()) => {
                items.iter().map(|i| (i.as_str().unwrap_or_default().to_string(), i.clone())).collect()
            }
            other => {
                self.report(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        expr.span,
                        format!("`for_each` needs a map or a list of strings; it is {other}."),
                    )
                    .with_label("expected a map or a list of strings"),
                );
                return None;
            }
        };
        if pairs.len() > MAX_REPETITIONS {
            too_many(self, pairs.len());
            return None;
        }
        for (key, item) in pairs {
            let each: stackc_model::Fields =
                [("key".to_string(), Value::String(key.clone())), ("value".to_string(), item)]
                    .into_iter()
                    .collect();
            let mut roots = FastMap::default();
            roots.insert("each".to_string(), Captured::Value(Value::Object(each)));
            out.push((Some(InstanceKey::Key(key)), roots));
        }
        Some(out)
    }

    fn expand_resource(&mut self, decl: &ResourceDecl, visible: &Visible, frame: &Frame) -> Captured {
        let mut found = Vec::new();
        let schema = schema_check::lookup(
            self.schemas,
            &decl.type_name,
            decl.type_span,
            decl.target.as_deref(),
            &mut found,
        );
        for diagnostic in found {
            self.report(diagnostic);
        }
        let Some(schema) = schema else {
            return Captured::Value(Value::Unknown);
        };
        let Some(repetitions) = self.repetitions(decl, visible) else {
            return Captured::Value(Value::Unknown);
        };
        if self.graph.len() + repetitions.len() > MAX_RESOURCES {
            self.report(Diagnostic::new(
                Code::NestingTooDeep,
                decl.span,
                format!("This stack expands to more than {MAX_RESOURCES} resources; expansion stops here."),
            ));
            return Captured::Value(Value::Unknown);
        }
        let repeated_by_count = decl.count.is_some();
        let mut list = Vec::new();
        let mut map = FastMap::default();
        let mut single = None;
        for (key, extra) in repetitions {
            // A single resource sees the body's roots as they are (no copy).
            let scope: std::borrow::Cow<'_, Visible> = if extra.is_empty() {
                std::borrow::Cow::Borrowed(visible)
            } else {
                let mut scope = visible.clone();
                scope.extend(extra);
                std::borrow::Cow::Owned(scope)
            };
            let mut written: IndexMap<String, Written> = IndexMap::new();
            let mut spans: Vec<(&str, Span, Span)> = Vec::new();
            for attribute in &decl.attributes {
                let captured = match self.reads_unset_setting(&attribute.value) {
                    // The error is at the target block; the attribute is
                    // unknown, so the schema check adds none of its own.
                    true => Captured::Value(Value::Unknown),
                    false => self.eval(&attribute.value, &scope),
                };
                spans.push((&attribute.name.name, attribute.name.span, attribute.value.span));
                written.insert(attribute.name.name.clone(), Written::Attribute(captured));
            }
            let block_values = self.eval_blocks(&decl.blocks, &scope, 0, |name| {
                schema.attributes.get(name).is_some_and(|a| matches!(a.ty.base(), Type::List(_)))
            });
            for block in &decl.blocks {
                if !spans.iter().any(|(n, _, _)| *n == block.name) {
                    spans.push((&block.name, block.name_span, block.span));
                }
            }
            for (name, captured) in block_values {
                let value = captured.planned();
                written.insert(name, Written::Block(captured, value));
            }
            let written_attributes: Vec<WrittenAttribute<'_>> = spans
                .iter()
                .filter_map(|(name, name_span, value_span)| {
                    Some(WrittenAttribute {
                        name,
                        name_span: *name_span,
                        value: written.get(*name)?.value(),
                        value_span: *value_span,
                    })
                })
                .collect();
            let mut check = Vec::new();
            schema_check::check_attributes(schema, &written_attributes, decl.span, &mut check);
            for diagnostic in check {
                self.report(diagnostic);
            }

            let address = frame.path.resource(&decl.type_name, &decl.name, key.as_ref());
            let mut dependencies = BTreeSet::new();
            for entry in written.values() {
                entry.captured().dependencies(&mut dependencies);
            }
            if let Some(depends_on) = &decl.depends_on {
                let refs = self.stack.references(depends_on);
                dependencies.extend(PlanView::new(&scope, refs, &Named::new(refs)).dependencies());
            }
            dependencies.remove(&address);
            // The configuration; what was captured is kept (for apply to
            // evaluate again) only when some of it is unknown, else the
            // values move into the configuration instead of being copied.
            let (config, deferred) = if written.values().any(|entry| entry.value().has_unknown()) {
                let config =
                    written.iter().map(|(name, entry)| (name.clone(), entry.value().clone())).collect();
                let attributes =
                    written.into_iter().map(|(name, entry)| (name, entry.into_captured())).collect();
                (Value::Object(config), Some(Arc::new(DeferredObject { attributes })))
            } else {
                (
                    Value::Object(
                        written.into_iter().map(|(name, entry)| (name, entry.into_value())).collect(),
                    ),
                    None,
                )
            };
            let computed: Vec<String> = schema
                .attributes
                .iter()
                .filter(|(name, a)| {
                    a.is_computed() && config.as_object().is_some_and(|c| !c.contains_key(*name))
                })
                .map(|(name, _)| name.clone())
                .collect();
            let prior = self.prior.and_then(|lookup| lookup(&address));
            let computed_values = computed
                .iter()
                .map(|name| {
                    let known = prior.as_ref().and_then(|p| p.get_path(&[name])).cloned();
                    let sensitive = schema.attributes.get(name).is_some_and(|a| a.sensitive);
                    let value = match known {
                        Some(v) if sensitive => v.into_sensitive(),
                        Some(v) => v,
                        None => Value::Unknown,
                    };
                    (name.clone(), value)
                })
                .collect();
            // The configuration is shared by the node and the references to
            // it until expansion ends (see `values`): a copy for each was
            // most of expanding a resource.
            let config = Arc::new(config);
            let mut provenance = frame.provenance.clone();
            provenance.push(decl.span);
            let node = ResourceNode {
                address: address.clone(),
                type_name: decl.type_name.clone(),
                target: schema.target.clone(),
                values: Value::Null,
                deferred: deferred.clone().map(|d| d as Arc<dyn crate::graph::Deferred>),
                dependencies: dependencies.into_iter().collect(),
                provenance,
            };
            match self.graph.add(node) {
                Ok(index) => self.values.push((index, config.clone())),
                Err(_) => self.report(
                    Diagnostic::new(
                        Code::DuplicateDeclaration,
                        decl.span,
                        format!("Resource `{address}` is declared twice."),
                    )
                    .with_label("second declaration"),
                ),
            }
            let reference = Captured::Resource(Arc::new(ResourceRef {
                address,
                config_values: config,
                computed_values,
                // Prior results already fill the computed attributes.
                config: if prior.is_some() { None } else { deferred },
                computed: Arc::new(if prior.is_some() { Vec::new() } else { computed }),
            }));
            match key {
                None => single = Some(reference),
                Some(InstanceKey::Index(_)) => list.push(reference),
                Some(InstanceKey::Key(k)) => {
                    map.insert(k, reference);
                }
            }
        }
        match single {
            Some(reference) => reference,
            None if repeated_by_count => Captured::List(Arc::new(list)),
            None => Captured::object(map),
        }
    }

    fn expand_instance(&mut self, decl: &InstanceDecl, visible: &Visible, frame: &Frame) -> Captured {
        // Unknown kinds were reported by `check`.
        let Some(component) = self.stack.components.get(&decl.kind) else {
            return Captured::Value(Value::Unknown);
        };
        if let Some(start) = frame.kinds.iter().position(|(k, _)| *k == decl.kind) {
            let chain: Vec<&str> =
                frame.kinds[start..].iter().map(|(k, _)| k.as_str()).chain([decl.kind.as_str()]).collect();
            let mut diagnostic = Diagnostic::new(
                Code::ReferenceCycle,
                decl.kind_span,
                format!("Component `{}` uses itself: {}.", decl.kind, chain.join(" -> ")),
            )
            .with_label(format!("`{}` again", decl.kind))
            .with_help(
                "a component cannot contain an instance of itself, directly or through other components",
            );
            for (kind, span) in &frame.kinds[start..] {
                diagnostic = diagnostic.with_secondary(*span, format!("inside `{kind}`"));
            }
            self.report(diagnostic);
            return Captured::Value(Value::Unknown);
        }
        if frame.kinds.len() >= MAX_COMPONENT_DEPTH {
            self.report(Diagnostic::new(
                Code::NestingTooDeep,
                decl.span,
                format!("Components nest more than {MAX_COMPONENT_DEPTH} deep here."),
            ));
            return Captured::Value(Value::Unknown);
        }
        let Some(target) = self.target.clone() else {
            // One diagnostic for the stack, not one per instance: the others
            // are labels of the first.
            let first = self.diagnostics.iter_mut().find(|d| d.code == Code::TargetRequired);
            if let Some(first) = first.filter(|d| d.primary.span != decl.header) {
                first.secondary.push(crate::diagnostic::Label::new(decl.header, "needs a target too"));
                return Captured::Value(Value::Unknown);
            }
            self.report(
                Diagnostic::new(
                    Code::TargetRequired,
                    decl.header,
                    format!(
                        "`{} \"{}\"` expands differently per target, and no target is selected.",
                        decl.kind, decl.name
                    ),
                )
                .with_label("needs a target")
                .with_help("declare a `target` block, or pass `--target <name>`"),
            );
            return Captured::Value(Value::Unknown);
        };
        let Some((on_span, body)) = component.on.get(&target) else {
            let supported: Vec<String> = component.on.keys().map(|t| format!("`{t}`")).collect();
            let help = if supported.is_empty() {
                format!("component `{}` has no `on \"<target>\"` block at all", decl.kind)
            } else {
                format!("`{}` is available on {}", decl.kind, supported.join(", "))
            };
            self.report(
                Diagnostic::new(
                    Code::UnsupportedOnTarget,
                    decl.header,
                    format!("`{}` cannot be expressed on target `{target}`.", decl.kind),
                )
                .with_label(format!("not available on `{target}`"))
                .with_secondary(component.header, format!("`{}` has no `on \"{target}\"` block", decl.kind))
                .with_help(help),
            );
            return Captured::Value(Value::Unknown);
        };
        let params = self.instance_params(decl, component, visible);
        let mut roots: Visible = FastMap::default();
        roots.insert("param".to_string(), Captured::object(params));
        let this: stackc_model::Fields = [
            ("name".to_string(), Value::string(&decl.name)),
            ("dns_name".to_string(), Value::string(dns_name(&decl.name))),
            ("target".to_string(), Value::string(&target)),
            ("stack".to_string(), Value::string(self.stack_dns_name())),
            (
                "autoscaled_replicas".to_string(),
                self.autoscaled_replicas_of(&frame.path.child(&decl.kind, &decl.name, None)),
            ),
            ("rollout".to_string(), self.rollout_of(&frame.path.child(&decl.kind, &decl.name, None))),
        ]
        .into_iter()
        .collect();
        roots.insert("self".to_string(), Captured::Value(Value::Object(this)));
        roots.insert("target".to_string(), self.target_attributes.clone());
        roots.insert("network".to_string(), self.network.clone());
        let mut inner = Frame {
            path: frame.path.child(&decl.kind, &decl.name, None),
            provenance: frame.provenance.clone(),
            kinds: frame.kinds.clone(),
        };
        inner.provenance.extend([decl.span, component.span, *on_span]);
        inner.kinds.push((decl.kind.clone(), decl.span));
        let outermost = self.instance.is_none();
        if outermost {
            self.instance = Some((decl.header, format!("expanded from `{} \"{}\"`", decl.kind, decl.name)));
        }
        let end = self.expand_body(body, &[], roots, &inner);
        let mut outputs: FastMap<String, Captured> = FastMap::default();
        let declared: Vec<&OutputDecl> = component.outputs.iter().chain(body.outputs.iter()).collect();
        for output in declared {
            let captured = match &output.value {
                Some(expr) => {
                    let captured = self.eval(expr, &end);
                    if output.sensitive && !planned(&captured).has_sensitive() {
                        match captured {
                            Captured::Value(v) => Captured::Value(v.into_sensitive()),
                            other => other,
                        }
                    } else {
                        captured
                    }
                }
                // Declared at component level, to be given by an `on` block.
                None if outputs.contains_key(&output.name) => continue,
                None => Captured::Value(Value::Null),
            };
            outputs.insert(output.name.clone(), captured);
        }
        outputs.entry("name".to_string()).or_insert_with(|| Captured::Value(Value::string(&decl.name)));
        if outermost {
            self.instance = None;
        }
        Captured::object(outputs)
    }

    /// The instance's params: written ones evaluated in the enclosing
    /// scope, the others from their defaults (missing ones were reported by `check`).
    fn instance_params(
        &mut self,
        decl: &InstanceDecl,
        component: &ComponentDecl,
        visible: &Visible,
    ) -> FastMap<String, Captured> {
        let mut written: FastMap<String, Captured> = FastMap::default();
        for attribute in &decl.attributes {
            let captured = self.eval(&attribute.value, visible);
            written.insert(attribute.name.name.clone(), captured);
        }
        for (name, captured) in self.eval_blocks(&decl.blocks, visible, 0, |_| false) {
            written.entry(name).or_insert(captured);
        }
        let mut params = FastMap::default();
        for (name, param) in &component.params {
            let value = match (written.swap_remove(name), &param.default) {
                (Some(value), _) => with_optional_fields(value, &param.ty, 0),
                (None, Some(default)) => self.eval(default, &FastMap::default()),
                (None, None) => Captured::Value(Value::Null),
            };
            params.insert(name.clone(), value);
        }
        params
    }

    /// The implicit `network.main` instance, when the `network` component
    /// has a body for the target (`IMPLICIT_NETWORK`).
    fn expand_network(&mut self, frame: &Frame) {
        let Some(target) = &self.target else { return };
        let Some(component) = self.stack.components.get(NETWORK_KIND) else { return };
        if !component.on.contains_key(target) {
            return;
        }
        let decl = InstanceDecl {
            kind: NETWORK_KIND.to_string(),
            kind_span: component.span,
            name: NETWORK_NAME.to_string(),
            span: component.span,
            name_span: component.header,
            header: component.header,
            attributes: Vec::new(),
            blocks: Vec::new(),
            policy_blocks: Vec::new(),
            target: None,
            declared: true,
        };
        // The network exists because of the target block: point there.
        if let Some(block) = self.stack.targets.iter().find(|t| t.name == *target) {
            let label = "the stack's network (`network.main`) for this target".to_string();
            self.instance = Some((block.header, label));
        }
        self.network = self.expand_instance(&decl, &FastMap::default(), frame);
        self.instance = None;
    }

    /// Expands the stack's top level and its outputs.
    /// `defaults` are target attributes from the environment; problems of
    /// the command line (a setting missing for a `--target` the stack has
    /// no block for) point at `command_line`.
    pub fn expand_stack(
        &mut self,
        variables: &stackc_model::Fields,
        defaults: &stackc_model::Fields,
        command_line: Span,
    ) {
        let mut visible: Visible = FastMap::default();
        visible.insert("var".to_string(), Captured::Value(Value::Object(variables.clone())));
        // The selected target's attributes, evaluated with variables only.
        if let Some(target) = self.target.clone() {
            // Attributes the stdlib reads are the environment's default,
            // else null, when the block leaves them out (or there is no
            // block: `--target` may name a known target the stack does not
            // declare).
            let mut fields: FastMap<String, Captured> = TARGET_ATTRIBUTES
                .iter()
                .map(|name| {
                    let default = defaults.get(*name).cloned().unwrap_or(Value::Null);
                    (name.to_string(), Captured::Value(default))
                })
                .collect();
            let decl = self.stack.targets.iter().find(|t| t.name == target);
            for attribute in decl.iter().flat_map(|decl| &decl.attributes) {
                let captured = self.eval(&attribute.value, &visible);
                fields.insert(attribute.name.name.clone(), captured);
            }
            // A setting the target's provider cannot do without, left out:
            // one error at the block (or the command line); it then reads
            // as unknown, so the bodies that use it add no error of their own.
            let at = decl.map_or(command_line, |decl| decl.header);
            let schemas = self.schemas;
            for setting in schemas.required_target_settings(&target) {
                let missing =
                    fields.get(&setting.name).is_none_or(|f| matches!(f, Captured::Value(Value::Null)));
                if missing {
                    let diagnostic = Diagnostic::new(
                        Code::TargetSettingRequired,
                        at,
                        format!("The `{target}` target needs `{}`, and it is not set.", setting.name),
                    )
                    .with_label(match decl {
                        Some(_) => format!("no `{}` here", setting.name),
                        None => {
                            format!("`--target {target}`, and the stack has no `target \"{target}\"` block")
                        }
                    })
                    .with_help(setting.help.clone());
                    if setting.when_read {
                        // Stays null; reported (once) when a resource reads it.
                        self.unset_when_read.push((setting.name.clone(), diagnostic));
                    } else {
                        self.report(diagnostic);
                        fields.insert(setting.name.clone(), Captured::Value(Value::Unknown));
                    }
                }
            }
            self.target_attributes = Captured::object(fields);
        }
        let frame = Frame { path: InstancePath::root(), provenance: Vec::new(), kinds: Vec::new() };
        self.expand_network(&frame);
        let end = self.expand_body(&self.stack.body, &self.stack.locals, visible, &frame);
        for output in &self.stack.outputs {
            let Some(expr) = &output.value else { continue };
            let captured = self.eval(expr, &end);
            let value = planned(&captured).clone();
            let mut dependencies = BTreeSet::new();
            captured.dependencies(&mut dependencies);
            let deferred = match &captured {
                Captured::Expr(deferred) if value.has_unknown() => {
                    Some(deferred.clone() as Arc<dyn crate::graph::Deferred>)
                }
                _ => None,
            };
            self.graph.outputs.insert(
                output.name.clone(),
                OutputNode {
                    name: output.name.clone(),
                    sensitive: output.sensitive || value.has_sensitive(),
                    value,
                    deferred,
                    dependencies: dependencies.into_iter().collect(),
                    span: output.span,
                },
            );
        }
        for (index, values) in std::mem::take(&mut self.values) {
            self.graph.graph[index].values =
                Arc::try_unwrap(values).unwrap_or_else(|shared| (*shared).clone());
        }
        self.graph.link();
    }
}

/// A written attribute of a resource being expanded: what was captured,
/// and for a block its value now.
enum Written {
    Attribute(Captured),
    Block(Captured, Value),
}

impl Written {
    fn value(&self) -> &Value {
        match self {
            Written::Attribute(captured) => planned(captured),
            Written::Block(_, value) => value,
        }
    }

    fn captured(&self) -> &Captured {
        match self {
            Written::Attribute(captured) | Written::Block(captured, _) => captured,
        }
    }

    fn into_captured(self) -> Captured {
        match self {
            Written::Attribute(captured) | Written::Block(captured, _) => captured,
        }
    }

    fn into_value(self) -> Value {
        match self {
            Written::Attribute(Captured::Value(value)) | Written::Block(_, value) => value,
            Written::Attribute(Captured::Expr(deferred)) => match Arc::try_unwrap(deferred) {
                Ok(deferred) => deferred.planned,
                Err(deferred) => deferred.planned.clone(),
            },
            Written::Attribute(other) => planned(&other).clone(),
        }
    }
}

/// The value an evaluation gave (see [`Engine::eval`]).
fn planned(captured: &Captured) -> &Value {
    match captured {
        Captured::Value(value) => value,
        Captured::Expr(deferred) => &deferred.planned,
        // Not made by an evaluation.
        Captured::Object(_) | Captured::List(_) | Captured::Resource(_) => &Value::Unknown,
    }
}

/// Object-typed values get their omitted optional fields as null, so
/// bodies can test `param.health.port == null` (as with HCL's `optional`).
fn with_optional_fields(value: Captured, ty: &Type, depth: usize) -> Captured {
    if depth > MAX_COMPONENT_DEPTH {
        return value;
    }
    match (value, ty.base()) {
        (Captured::Object(fields), Type::Object(declared)) => {
            let mut fields = Arc::unwrap_or_clone(fields);
            for (name, field) in declared {
                let current = fields.swap_remove(name).unwrap_or(Captured::Value(Value::Null));
                fields.insert(name.clone(), with_optional_fields(current, &field.ty, depth + 1));
            }
            Captured::object(fields)
        }
        (Captured::Value(value), ty) => Captured::Value(fill_value(value, ty, depth)),
        (Captured::List(items), Type::List(item)) => Captured::List(Arc::new(
            Arc::unwrap_or_clone(items)
                .into_iter()
                .map(|i| with_optional_fields(i, item, depth + 1))
                .collect(),
        )),
        (other, _) => other,
    }
}

fn fill_value(value: Value, ty: &Type, depth: usize) -> Value {
    if depth > MAX_COMPONENT_DEPTH {
        return value;
    }
    match (value, ty.base()) {
        (Value::Object(mut fields), Type::Object(declared)) => {
            for (name, field) in declared {
                let current = fields.swap_remove(name).unwrap_or(Value::Null);
                fields.insert(name.clone(), fill_value(current, &field.ty, depth + 1));
            }
            Value::Object(fields)
        }
        (Value::Object(fields), Type::Map(item)) => {
            Value::Object(fields.into_iter().map(|(k, v)| (k, fill_value(v, item, depth + 1))).collect())
        }
        (Value::List(items), Type::List(item)) => {
            Value::List(items.into_iter().map(|v| fill_value(v, item, depth + 1)).collect())
        }
        (Value::Sensitive(inner), ty) => fill_value(*inner, ty, depth).into_sensitive(),
        (other, _) => other,
    }
}

/// Replaces `[each.key]`-style steps by the repetition's actual key, so a
/// reference like `aws_instance.node[each.key].id` depends on one node only.
fn resolve_repetitions(mut refs: Vec<Reference>, visible: &Visible) -> Vec<Reference> {
    for reference in &mut refs {
        for step in &mut reference.steps {
            let Step::Repetition(root, attribute) = step else { continue };
            let key = match visible.get(root.as_str()) {
                Some(Captured::Value(value)) => match value.get_path(&[attribute.as_str()]) {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Number(n)) => Some(crate::value::format_number(*n)),
                    _ => None,
                },
                _ => None,
            };
            match key {
                Some(key) => *step = Step::Key(key),
                None => {
                    // Not inside a repetition: depend on the whole collection.
                    let at = reference.steps.iter().position(|s| matches!(s, Step::Repetition(..)));
                    if let Some(at) = at {
                        reference.steps.truncate(at);
                    }
                    break;
                }
            }
        }
    }
    refs
}

impl Engine<'_> {
    /// `self.stack`: the stack's name as a DNS label (`stack` when unnamed).
    fn stack_dns_name(&self) -> String {
        let name = dns_name(&self.stack.name);
        if name.is_empty() {
            "stack".to_string()
        } else {
            name
        }
    }
}
