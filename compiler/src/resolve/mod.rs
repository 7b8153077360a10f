//! Name resolution: what each block of a stack declares, whether each block
//! has the shape its kind allows, and what each reference names.
//!
//! Resolve works on the syntax trees of every file (the stdlib's and the
//! user's) and produces [`Symbols`] (the declarations by namespace, borrowed
//! from the trees), the stack lowered into the HIR ([`crate::hir::Stack`],
//! owned, with every declared type read: see `lower.rs`) plus the
//! stack-level dependencies between declarations, from which reference
//! cycles are found. It reports structure problems (E01xx), unknown or
//! duplicate names (E02xx), invalid type expressions (E0307) and unused
//! variables and locals (W000x). Types of expressions and values are the
//! check stage's business ([`crate::check`](mod@crate::check)); it reuses the symbols and the
//! HIR built here.
//!
//! What a reference names is decided once, by one set of rules
//! (`References::reference`): the walk over every expression that reports
//! unknown names also records each expression's references
//! ([`crate::hir::Reference`], with a [`crate::hir::Resolution`] that is
//! `Unresolved` exactly when it reported), by the expression's span, and
//! lowering takes them from it for the expressions it lowers.
//!
//! Invariant: every walk is bounded (see [`walk::MAX_DEPTH`]) and nothing
//! here panics on any tree.

mod cycles;
mod lower;
mod refs;
mod structure;
pub mod types;
pub mod walk;

#[cfg(test)]
mod tests;

use crate::ast::{Attribute, Block, Expr, Ident};
use crate::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::hash::{FastHashMap, FastHashSet, FastMap, FastSet};
use crate::hir::{Reference, Resolution};
use crate::source::{Origin, Span};
use walk::{PathStep, RefPath, Visitor};

pub use cycles::Node;

/// The targets providers exist for (`target "<name>"`, `on "<name>"`).
pub const KNOWN_TARGETS: &[&str] = &["kubernetes", "aws", "local"];

/// Attributes of `target` blocks that component bodies may read; each is
/// null when the selected target's block does not set it. `endpoint` and
/// `profile` configure the aws provider (an API endpoint such as moto or
/// LocalStack, a shared-config profile); `host` and `load_balancer_image`
/// the local one (the Docker Engine address, the nginx image).
pub const TARGET_ATTRIBUTES: &[&str] = &[
    "namespace",
    "region",
    "context",
    "network",
    "host",
    "ami",
    "endpoint",
    "profile",
    "load_balancer_image",
];

/// The block kinds of a stack that are not component instances.
pub const RESERVED_KINDS: &[&str] =
    &["variable", "locals", "output", "target", "component", "resource", "on", crate::policy::BLOCK];

/// Attributes `self` has inside a component body.
/// `autoscaled_replicas` is the replica count the autoscaler recorded for
/// the instance in the state (null when none): see
/// `ExpandOptions::autoscaled_replicas`. `rollout` is the step of a rollout
/// under way for the instance (`{ weight, canary }`, null when none): see
/// `ExpandOptions::rollouts`.
pub const SELF_ATTRIBUTES: &[&str] =
    &["name", "dns_name", "target", "stack", "autoscaled_replicas", "rollout"];

/// A name made valid as a DNS label (RFC 1123), as Kubernetes object names
/// and container host names must be: lowercase, characters outside
/// `[a-z0-9-]` become `-`, at most 63 characters.
pub fn dns_name(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .take(63)
        .collect();
    mapped.trim_matches('-').to_string()
}

/// A component's declarations.
#[derive(Debug)]
pub struct ComponentSymbols<'a> {
    pub name: &'a str,
    pub block: &'a Block,
    pub origin: Origin,
    pub params: FastMap<&'a str, &'a Block>,
    /// Component-level outputs, then those only given inside `on` blocks.
    pub outputs: FastMap<&'a str, &'a Block>,
    /// `on "<target>"` blocks by target.
    pub on: FastMap<&'a str, &'a Block>,
}

/// `sensitive = true`, or `type = sensitive(...)`, in a variable, param or output block.
pub fn block_is_sensitive(block: &Block) -> bool {
    marked_sensitive(block) || typed_sensitive(block)
}

/// `sensitive = true` in a variable, param or output block.
pub(crate) fn marked_sensitive(block: &Block) -> bool {
    matches!(block.body.attribute("sensitive").map(|a| &a.value.kind), Some(crate::ast::ExprKind::Bool(true)))
}

/// `type = sensitive(...)` in a variable, param or output block.
pub(crate) fn typed_sensitive(block: &Block) -> bool {
    matches!(
        block.body.attribute("type").map(|a| &a.value.kind),
        Some(crate::ast::ExprKind::Call(name, _, _)) if name.name == "sensitive"
    )
}

/// A component instance: `service "api" { ... }`.
#[derive(Clone, Copy, Debug)]
pub struct InstanceSymbol<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub block: &'a Block,
    /// The `on "<target>"` block it is in, if any.
    pub target: Option<&'a str>,
}

/// Everything a stack declares, by namespace. Declarations that are
/// duplicates (reported as E0202) keep their first occurrence.
#[derive(Debug, Default)]
pub struct Symbols<'a> {
    pub variables: FastMap<&'a str, &'a Block>,
    pub locals: FastMap<&'a str, &'a Attribute>,
    pub outputs: FastMap<&'a str, &'a Block>,
    pub targets: FastMap<&'a str, &'a Block>,
    /// Stdlib components, replaced by the user's of the same name.
    pub components: FastMap<&'a str, ComponentSymbols<'a>>,
    /// The stack's instances (top level and inside top-level `on` blocks), by kind then name.
    pub instances: FastMap<&'a str, FastMap<&'a str, InstanceSymbol<'a>>>,
    /// The stack's raw resources, by type then name.
    pub resources: FastMap<&'a str, FastMap<&'a str, &'a Block>>,
}

impl<'a> Symbols<'a> {
    pub fn instance(&self, kind: &str, name: &str) -> Option<&InstanceSymbol<'a>> {
        self.instances.get(kind)?.get(name)
    }

    /// Every stack-level instance, in declaration order per kind.
    pub fn all_instances(&self) -> impl Iterator<Item = &InstanceSymbol<'a>> {
        self.instances.values().flat_map(|by_name| by_name.values())
    }
}

/// What resolution found.
#[derive(Debug, Default)]
pub struct Resolved<'a> {
    pub symbols: Symbols<'a>,
    /// Stack-level dependencies: (from, to, the reference's span).
    pub dependencies: Vec<(Node<'a>, Node<'a>, Span)>,
    /// Blocks with structure errors (by span), whose values later stages
    /// should not second-guess (e.g. a variable with a misspelt `default`).
    pub malformed: FastSet<Span>,
    /// The stack lowered into the HIR, with every declared type read (check
    /// annotates it, expansion consumes it).
    pub stack: crate::hir::Stack,
}

/// Resolves a stack: `stdlib` and `user` are the parsed files of each origin.
pub fn resolve<'a>(
    stdlib: &[&'a crate::ast::File],
    user: &[&'a crate::ast::File],
    diagnostics: &mut Vec<Diagnostic>,
) -> Resolved<'a> {
    let mut resolved = Resolved::default();
    let mut structure = structure::Structure::new(&mut resolved, diagnostics);
    structure.collect(stdlib, user);
    let param_types = std::mem::take(&mut structure.param_types);
    // The one walk over every expression's references: it reports what
    // they name (or do not), and records it for lowering to take.
    let mut references = References {
        symbols: &resolved.symbols,
        diagnostics: Vec::new(),
        used_variables: FastSet::default(),
        used_locals: FastSet::default(),
        dependencies: Vec::new(),
        body_names: FastMap::default(),
        paths: Vec::new(),
        report: true,
        recorded: FastHashMap::default(),
        shared: FastHashSet::default(),
        silent: Vec::new(),
    };
    references.resolve_stack(user);
    references.resolve_components();
    let stack = lower::lower(user, &resolved.symbols, &param_types, &mut references, diagnostics);
    let References { used_variables, used_locals, dependencies, diagnostics: found, .. } = references;
    // After lowering's (the order they were found in before lowering took
    // the references from this walk).
    diagnostics.extend(found);
    resolved.stack = stack;
    resolved.dependencies = dependencies;
    cycles::report(&resolved.dependencies, diagnostics);
    report_unused(&resolved.symbols, &used_variables, &used_locals, diagnostics);
    resolved
}

fn report_unused(
    symbols: &Symbols<'_>,
    used_variables: &FastSet<&str>,
    used_locals: &FastSet<&str>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for (name, block) in &symbols.variables {
        if !used_variables.contains(name) {
            let span = block.labels.first().map_or(block.kind.span, |l| l.span);
            diagnostics.push(
                Diagnostic::new(
                    Code::UnusedVariable,
                    span,
                    format!("The variable `{name}` is declared but nothing refers to `var.{name}`."),
                )
                .with_label("never used")
                .with_help(format!("use `var.{name}` somewhere, or remove the variable")),
            );
        }
    }
    for (name, attribute) in &symbols.locals {
        if !used_locals.contains(name) {
            diagnostics.push(
                Diagnostic::new(
                    Code::UnusedLocal,
                    attribute.name.span,
                    format!("The local value `{name}` is never referred to as `local.{name}`."),
                )
                .with_label("never used")
                .with_help(format!("use `local.{name}` somewhere, or remove it")),
            );
        }
    }
}

/// Where an expression is, for what its references may name.
#[derive(Clone, Copy)]
pub(super) enum Place<'s, 'a> {
    /// A user file outside components; references become dependencies of `owner`.
    Stack { owner: Option<Node<'a>> },
    /// Inside a component; `body` is the `on` block when inside one.
    Component { component: &'s ComponentSymbols<'a>, body: Option<&'a Block> },
}

/// What a resource's or instance's expressions may see besides the place's roots.
#[derive(Clone, Copy, Default)]
pub(super) struct Repetition {
    pub(super) count: bool,
    pub(super) each: bool,
}

pub(super) struct References<'s, 'a> {
    symbols: &'s Symbols<'a>,
    /// What the walk reports (appended to the stack's after lowering).
    diagnostics: Vec<Diagnostic>,
    used_variables: FastSet<&'a str>,
    used_locals: FastSet<&'a str>,
    dependencies: Vec<(Node<'a>, Node<'a>, Span)>,
    /// The names declared in a component's `on` block (or all of them), by
    /// (component, on block) span: computed once per body, not per reference.
    body_names: FastMap<(Span, Option<Span>), std::rc::Rc<BodyNames<'a>>>,
    /// The references of the expression at hand (kept, emptied, between expressions).
    paths: Vec<RefPath<'a>>,
    /// Whether problems are reported, and references counted as uses and
    /// dependencies (not when lowering asks about an expression this walk
    /// skips: see [`References::take`]).
    report: bool,
    /// The references of every expression walked, each with what its root
    /// names, by the expression's span, for lowering to take: a top-level
    /// expression (an attribute's value) has a span no other has, as
    /// attributes do not overlap and every file has its own id. Spans walked
    /// twice anyway (in `shared`) are not kept: lowering reads those again.
    recorded: FastHashMap<Span, Vec<Reference>>,
    shared: FastHashSet<Span>,
    /// The references found by the last silent walk.
    silent: Vec<Reference>,
}

/// The resources and instances declared in a body (an `on` block's, or
/// every `on` block's of a component for its component-level outputs).
#[derive(Default)]
struct BodyNames<'a> {
    resources: FastMap<&'a str, FastSet<&'a str>>,
    instances: FastMap<&'a str, FastSet<&'a str>>,
}

impl<'a> BodyNames<'a> {
    /// The names declared in `on` (a component's `on` block), or in every
    /// `on` block of `component` when `None`.
    fn of(component: &ComponentSymbols<'a>, on: Option<&'a Block>, symbols: &Symbols<'a>) -> Self {
        let mut names = BodyNames::default();
        match on {
            Some(on) => names.add_body(&on.body, symbols),
            None => {
                for on in component.on.values() {
                    names.add_body(&on.body, symbols);
                }
            }
        }
        names
    }

    fn add_body(&mut self, body: &'a crate::ast::Body, symbols: &Symbols<'a>) {
        for block in &body.blocks {
            let kind = block.kind.name.as_str();
            match kind {
                "resource" => {
                    if let (Some(t), Some(n)) = (block.labels.first(), block.labels.get(1)) {
                        self.resources.entry(t.name.as_str()).or_default().insert(n.name.as_str());
                    }
                }
                _ if symbols.components.contains_key(kind) => {
                    if let Some(n) = block.labels.first() {
                        self.instances.entry(kind).or_default().insert(n.name.as_str());
                    }
                }
                _ => {}
            }
        }
    }
}

impl<'s, 'a> References<'s, 'a> {
    /// The names declared in a component body (`None` at the stack level,
    /// where the symbols have them).
    fn body_names(&mut self, place: Place<'s, 'a>) -> Option<std::rc::Rc<BodyNames<'a>>> {
        let (component, on) = match place {
            Place::Stack { .. } => return None,
            Place::Component { component, body } => (component, body),
        };
        let key = (component.block.span, on.map(|b| b.span));
        if let Some(names) = self.body_names.get(&key) {
            return Some(names.clone());
        }
        let names = std::rc::Rc::new(BodyNames::of(component, on, self.symbols));
        self.body_names.insert(key, names.clone());
        Some(names)
    }

    fn resolve_stack(&mut self, user: &[&'a crate::ast::File]) {
        for file in user {
            self.stack_body(&file.body, true);
        }
    }

    fn stack_body(&mut self, body: &'a crate::ast::Body, top: bool) {
        for block in &body.blocks {
            let label = |i: usize| block.labels.get(i).map(|l| l.name.as_str());
            match block.kind.name.as_str() {
                "variable" => {
                    let owner = label(0).map(Node::Variable);
                    for validation in block.body.blocks_of("validation") {
                        for attribute in &validation.body.attributes {
                            self.expression(&attribute.value, Place::Stack { owner }, Repetition::default());
                        }
                    }
                }
                "locals" => {
                    for attribute in &block.body.attributes {
                        let owner = Some(Node::Local(attribute.name.name.as_str()));
                        self.expression(&attribute.value, Place::Stack { owner }, Repetition::default());
                    }
                }
                "output" => {
                    let owner = label(0).map(Node::Output);
                    for attribute in block.body.attributes.iter().filter(|a| a.name.name != "type") {
                        self.expression(&attribute.value, Place::Stack { owner }, Repetition::default());
                    }
                }
                "target" => {
                    for attribute in &block.body.attributes {
                        self.expression(
                            &attribute.value,
                            Place::Stack { owner: None },
                            Repetition::default(),
                        );
                    }
                }
                "resource" => {
                    let owner = match (label(0), label(1)) {
                        (Some(t), Some(n)) => Some(Node::Resource(t, n)),
                        _ => None,
                    };
                    self.resource_body(block, Place::Stack { owner });
                }
                "on" if top => self.stack_body(&block.body, false),
                "component" | "on" => {}
                kind if self.symbols.components.contains_key(kind) => {
                    let owner = label(0).map(|n| Node::Instance(kind, n));
                    self.instance_body(&block.body, Place::Stack { owner }, 0);
                }
                _ => {}
            }
        }
    }

    /// A resource block: `count`/`for_each` see the place's roots; the rest
    /// also sees `count.index` or `each.key`/`each.value`.
    fn resource_body(&mut self, block: &'a Block, place: Place<'s, 'a>) {
        let repetition = Repetition {
            count: block.body.attribute("count").is_some(),
            each: block.body.attribute("for_each").is_some(),
        };
        for attribute in &block.body.attributes {
            let repetition = match attribute.name.name.as_str() {
                "count" | "for_each" => Repetition::default(),
                _ => repetition,
            };
            self.expression(&attribute.value, place, repetition);
        }
        self.nested_blocks(&block.body, place, repetition, 0);
    }

    fn nested_blocks(
        &mut self,
        body: &'a crate::ast::Body,
        place: Place<'s, 'a>,
        repetition: Repetition,
        depth: usize,
    ) {
        if depth > walk::MAX_DEPTH {
            return;
        }
        for inner in &body.blocks {
            for attribute in &inner.body.attributes {
                self.expression(&attribute.value, place, repetition);
            }
            self.nested_blocks(&inner.body, place, repetition, depth + 1);
        }
    }

    fn instance_body(&mut self, body: &'a crate::ast::Body, place: Place<'s, 'a>, depth: usize) {
        for attribute in &body.attributes {
            self.expression(&attribute.value, place, Repetition::default());
        }
        self.nested_blocks(body, place, Repetition::default(), depth);
    }

    fn resolve_components(&mut self) {
        let symbols = self.symbols;
        for component in symbols.components.values() {
            let place = Place::Component { component, body: None };
            for param in component.params.values() {
                for attribute in &param.body.attributes {
                    if attribute.name.name != "type" {
                        self.expression(&attribute.value, place, Repetition::default());
                    }
                }
                for validation in param.body.blocks_of("validation") {
                    for attribute in &validation.body.attributes {
                        self.expression(&attribute.value, place, Repetition::default());
                    }
                }
            }
            for block in component.block.body.blocks_of("output") {
                for attribute in &block.body.attributes {
                    if attribute.name.name != "type" {
                        self.expression(&attribute.value, place, Repetition::default());
                    }
                }
            }
            for on in component.on.values() {
                let place = Place::Component { component, body: Some(on) };
                for block in &on.body.blocks {
                    match block.kind.name.as_str() {
                        "resource" => self.resource_body(block, place),
                        "output" => {
                            for attribute in &block.body.attributes {
                                if attribute.name.name != "type" {
                                    self.expression(&attribute.value, place, Repetition::default());
                                }
                            }
                        }
                        kind if symbols.components.contains_key(kind) => {
                            self.instance_body(&block.body, place, 0)
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    fn expression(&mut self, expr: &'a Expr, place: Place<'s, 'a>, repetition: Repetition) {
        struct Collector<'c, 'a> {
            paths: &'c mut Vec<RefPath<'a>>,
            problems: Vec<Diagnostic>,
        }
        impl<'a> Visitor<'a> for Collector<'_, 'a> {
            fn reference(&mut self, path: RefPath<'a>) {
                self.paths.push(path);
            }
            fn call(&mut self, name: &'a Ident, args: &'a [Expr], expand: bool, span: Span) {
                // Unknown functions (E0207) and, without `...`, argument
                // counts (E0309) are known from the registry alone.
                match crate::functions::lookup(&name.name) {
                    None => self.problems.push(crate::functions::unknown_function(name)),
                    Some(function) if !expand && !function.accepts(args.len()) => {
                        let spans: Vec<Span> = args.iter().map(|a| a.span).collect();
                        self.problems.push(crate::functions::wrong_count(function, &spans, name, span));
                    }
                    Some(_) => {}
                }
            }
        }
        // One list serves every expression (not a Vec per expression).
        let mut paths = std::mem::take(&mut self.paths);
        let mut collector = Collector { paths: &mut paths, problems: Vec::new() };
        walk::walk(expr, &mut collector);
        let problems = collector.problems;
        let mut references = Vec::new();
        for path in paths.drain(..) {
            let resolution = self.reference(&path, place, repetition);
            if let Some((root, steps)) = refs::traversal(path.expr) {
                references.push(Reference { root, steps, span: path.expr.span, resolution });
            }
        }
        self.paths = paths;
        for problem in problems {
            self.error(problem);
        }
        if self.report {
            // Recorded for lowering, by the expression's span (see `recorded`).
            if self.shared.contains(&expr.span) {
                return;
            }
            if self.recorded.insert(expr.span, references).is_some() {
                self.recorded.remove(&expr.span);
                self.shared.insert(expr.span);
            }
        } else {
            self.silent = references;
        }
    }

    /// The references of `expr` (an expression lowering lowers, in `place`
    /// with `repetition`), each with what its root names: those the
    /// reporting walk recorded for it, or, for an expression that walk does
    /// not visit (an instance of an unknown kind, whose block was reported
    /// already), found by the same rules without reporting anything.
    pub(super) fn take(
        &mut self,
        expr: &'a Expr,
        place: Place<'s, 'a>,
        repetition: Repetition,
    ) -> Vec<Reference> {
        let recorded = self.recorded.remove(&expr.span);
        #[cfg(test)]
        if let Some(recorded) = &recorded {
            // Lowering sees the expression where the reporting walk did.
            assert_eq!(recorded, &self.silently(expr, place, repetition), "{expr:?}");
        }
        recorded.unwrap_or_else(|| self.silently(expr, place, repetition))
    }

    fn silently(&mut self, expr: &'a Expr, place: Place<'s, 'a>, repetition: Repetition) -> Vec<Reference> {
        self.report = false;
        self.expression(expr, place, repetition);
        self.report = true;
        std::mem::take(&mut self.silent)
    }

    /// Reports `diagnostic` (unless walking silently); the reference it is
    /// about names nothing.
    fn error(&mut self, diagnostic: Diagnostic) -> Resolution {
        if self.report {
            self.diagnostics.push(diagnostic);
        }
        Resolution::Unresolved
    }

    fn depend(&mut self, place: Place<'s, 'a>, to: Node<'a>, span: Span) {
        if !self.report {
            return;
        }
        if let Place::Stack { owner: Some(from) } = place {
            // A variable's validation naming the variable itself is no cycle.
            if !(matches!(from, Node::Variable(_)) && from == to) {
                self.dependencies.push((from, to, span));
            }
        }
    }

    /// What `path`'s root names in `place`: reports it when nothing (or
    /// when the root is used in a way it cannot be), and then the
    /// resolution is [`Resolution::Unresolved`], and only then.
    fn reference(&mut self, path: &RefPath<'a>, place: Place<'s, 'a>, repetition: Repetition) -> Resolution {
        let root = path.root.name.as_str();
        let in_component = matches!(place, Place::Component { .. });
        match root {
            "var" | "local" if in_component => {
                let Place::Component { component, .. } = place else { return Resolution::Unresolved };
                self.error(
                    Diagnostic::new(
                        Code::UnknownReference,
                        path.root.span,
                        format!(
                            "Component bodies do not see `{root}.*`; component `{}` cannot read it.",
                            component.name
                        ),
                    )
                    .with_label(format!("`{root}` is not visible here"))
                    .with_help("pass the value in as a `param` of the component"),
                )
            }
            "var" => {
                let symbols = self.symbols;
                self.named(path, place, "var", "variable", &symbols.variables, Node::Variable)
            }
            "local" => {
                let symbols = self.symbols;
                self.named(path, place, "local", "local value", &symbols.locals, Node::Local)
            }
            "param" => match place {
                Place::Component { component, .. } => self.param(path, component),
                Place::Stack { .. } => self.error(
                    Diagnostic::new(
                        Code::ParamOutsideComponent,
                        path.root.span,
                        "`param` is only visible inside a `component` block; here there are no parameters."
                            .to_string(),
                    )
                    .with_label("outside any component")
                    .with_help(match path.name_at(0) {
                        Some(name) => format!(
                            "use a variable (`var.{}`) or a local value here, or move this into a component",
                            name.name
                        ),
                        None => "use a variable or a local value here".to_string(),
                    }),
                ),
            },
            "count" if repetition.count => {
                self.repetition_attribute(path, "count", &["index"], Resolution::Count)
            }
            "each" if repetition.each => {
                self.repetition_attribute(path, "each", &["key", "value"], Resolution::Each)
            }
            "self" if in_component => {
                self.fixed_attributes(path, "self", SELF_ATTRIBUTES, Resolution::SelfRef)
            }
            "target" if in_component => {
                self.fixed_attributes(path, "target", TARGET_ATTRIBUTES, Resolution::Target)
            }
            "network" if in_component => match (self.symbols.components.get("network"), path.name_at(0)) {
                (Some(network), Some(output)) => {
                    self.check_output(network, format_args!("network"), output, Resolution::Network)
                }
                _ => Resolution::Network,
            },
            _ => self.kind_or_type(path, place, repetition),
        }
    }

    /// `var.x` / `local.x`, among the `declared` ones.
    fn named<V>(
        &mut self,
        path: &RefPath<'a>,
        place: Place<'s, 'a>,
        root: &str,
        what: &str,
        declared: &FastMap<&'a str, V>,
        node: impl Fn(&'a str) -> Node<'a>,
    ) -> Resolution {
        let Some(name) = path.name_at(0) else {
            return self.error(incomplete(path, root, &format!("`{root}.<name>`")));
        };
        if let Some((found, _)) = declared.get_key_value(name.name.as_str()) {
            let found: &'a str = found;
            self.used(root, found);
            self.depend(place, node(found), path.span_through(0));
            return if root == "var" { Resolution::Variable } else { Resolution::Local };
        }
        // Not found: only now list the candidates (per reference, that
        // would be quadratic in the number of declarations).
        let candidates: Vec<&'a str> = declared.keys().copied().collect();
        let declare = if root == "var" {
            format!("declare it with `variable \"{}\" {{}}`", name.name)
        } else {
            format!("add `{} = ...` to a `locals` block", name.name)
        };
        // The likely intended declaration is not reported unused on top.
        let closest = closest(&name.name, &candidates);
        if let Some(intended) = closest {
            self.used(root, intended);
        }
        let help = did_you_mean(&name.name, candidates.iter().copied()).unwrap_or(declare);
        self.error(
            Diagnostic::new(
                Code::UnknownReference,
                path.span_through(0),
                format!("There is no {what} named `{}` in this stack.", name.name),
            )
            .with_label(format!("no {what} `{}`", name.name))
            .with_help(help),
        )
    }

    /// `var.<name>` (`root` "var") or `local.<name>` is used: not reported unused.
    fn used(&mut self, root: &str, name: &'a str) {
        if !self.report {
            return;
        }
        if root == "var" {
            self.used_variables.insert(name);
        } else {
            self.used_locals.insert(name);
        }
    }

    fn param(&mut self, path: &RefPath<'a>, component: &ComponentSymbols<'a>) -> Resolution {
        let Some(name) = path.name_at(0) else {
            return self.error(incomplete(path, "param", "`param.<name>`"));
        };
        if component.params.contains_key(name.name.as_str()) {
            Resolution::Param
        } else {
            let help = did_you_mean(&name.name, component.params.keys().copied()).unwrap_or_else(|| {
                format!("declare it with `param \"{}\" {{ type = ... }}` in the component", name.name)
            });
            self.error(
                Diagnostic::new(
                    Code::UnknownReference,
                    path.span_through(0),
                    format!("Component `{}` has no parameter `{}`.", component.name, name.name),
                )
                .with_label(format!("no parameter `{}`", name.name))
                .with_secondary(
                    component.block.labels.first().map_or(component.block.kind.span, |l| l.span),
                    "component declared here",
                )
                .with_help(help),
            )
        }
    }

    fn repetition_attribute(
        &mut self,
        path: &RefPath<'a>,
        root: &str,
        allowed: &[&str],
        resolution: Resolution,
    ) -> Resolution {
        match path.name_at(0) {
            Some(name) if allowed.contains(&name.name.as_str()) => resolution,
            Some(name) => {
                let listed =
                    allowed.iter().map(|a| format!("`{root}.{a}`")).collect::<Vec<_>>().join(" and ");
                self.error(
                    Diagnostic::new(
                        Code::UnknownReference,
                        path.span_through(0),
                        format!("`{root}` has no attribute `{}`; a repetition offers {listed}.", name.name),
                    )
                    .with_label(format!("no `{root}.{}`", name.name))
                    .with_help(
                        did_you_mean(&name.name, allowed.iter().copied())
                            .unwrap_or_else(|| format!("use {listed}")),
                    ),
                )
            }
            None => self.error(incomplete(path, root, &format!("`{root}.{}`", allowed[0]))),
        }
    }

    fn fixed_attributes(
        &mut self,
        path: &RefPath<'a>,
        root: &str,
        allowed: &[&str],
        resolution: Resolution,
    ) -> Resolution {
        match path.name_at(0) {
            Some(name) if allowed.contains(&name.name.as_str()) => resolution,
            Some(name) => {
                let listed = allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
                self.error(
                    Diagnostic::new(
                        Code::UnknownReference,
                        path.span_through(0),
                        format!("`{root}` has no attribute `{}`; it has {listed}.", name.name),
                    )
                    .with_label(format!("no `{root}.{}`", name.name))
                    .with_help(
                        did_you_mean(&name.name, allowed.iter().copied())
                            .unwrap_or_else(|| format!("use one of {listed}")),
                    ),
                )
            }
            None if root == "self" => self.error(incomplete(path, root, "`self.name`")),
            None => resolution,
        }
    }

    /// `instance` (`service.api`) is formatted only for an error;
    /// `resolution` when `component` has `output`.
    fn check_output(
        &mut self,
        component: &ComponentSymbols<'a>,
        instance: std::fmt::Arguments<'_>,
        output: &Ident,
        resolution: Resolution,
    ) -> Resolution {
        if component.outputs.contains_key(output.name.as_str()) {
            return resolution;
        }
        let listed = component.outputs.keys().map(|o| format!("`{o}`")).collect::<Vec<_>>().join(", ");
        let help = did_you_mean(&output.name, component.outputs.keys().copied()).unwrap_or_else(|| {
            if listed.is_empty() {
                format!("component `{}` declares no outputs", component.name)
            } else {
                format!("its outputs are {listed}")
            }
        });
        let declared = component.block.labels.first().map_or(component.block.kind.span, |l| l.span);
        self.error(
            Diagnostic::new(
                Code::UnknownOutput,
                output.span,
                format!("`{instance}` is a `{}`, which has no output `{}`.", component.name, output.name),
            )
            .with_label(format!("no output `{}`", output.name))
            .with_secondary(declared, format!("component `{}` declared here", component.name))
            .with_help(help),
        )
    }

    /// `<kind>.<name>...` (an instance) or `<type>.<name>...` (a resource).
    fn kind_or_type(
        &mut self,
        path: &RefPath<'a>,
        place: Place<'s, 'a>,
        repetition: Repetition,
    ) -> Resolution {
        let root = path.root.name.as_str();
        let symbols = self.symbols;
        // At the stack level there are no body names (and nothing to allocate).
        let component_names = self.body_names(place);
        let no_names = BodyNames::default();
        let body_names: &BodyNames<'a> = component_names.as_deref().unwrap_or(&no_names);
        let stack_level = matches!(place, Place::Stack { .. });

        // An instance of a component kind.
        if let Some(component) = symbols.components.get(root) {
            let Some(name) = path.name_at(0) else {
                return self.error(incomplete(path, root, &format!("`{root}.<name>`")));
            };
            // Candidates for did-you-mean are listed only when the name is
            // not found: listing them for every reference is quadratic.
            let found: Option<&'a str> = if stack_level {
                let names = symbols.instances.get(root);
                let implicit_network = root == "network" && name.name == "main";
                let found = names.and_then(|n| n.get_key_value(name.name.as_str()).map(|(k, _)| *k));
                found.or(if implicit_network { Some("main") } else { None })
            } else {
                body_names.instances.get(root).and_then(|n| n.get(name.name.as_str()).copied())
            };
            let candidates = || -> Vec<&str> {
                if stack_level {
                    symbols.instances.get(root).map(|n| n.keys().copied().collect()).unwrap_or_default()
                } else {
                    body_names.instances.get(root).map(|n| n.iter().copied().collect()).unwrap_or_default()
                }
            };
            return match found {
                Some(found) => {
                    self.depend(place, Node::Instance(component.name, found), path.span_through(0));
                    match path.name_at(1) {
                        Some(output) => self.check_output(
                            component,
                            format_args!("{root}.{}", name.name),
                            output,
                            Resolution::Instance,
                        ),
                        None => Resolution::Instance,
                    }
                }
                None => {
                    let help = did_you_mean(&name.name, candidates().iter().copied())
                        .unwrap_or_else(|| format!("declare it with `{root} \"{}\" {{ ... }}`", name.name));
                    self.error(
                        Diagnostic::new(
                            Code::UnknownReference,
                            path.span_through(0),
                            format!("There is no `{root}` named `{}` here.", name.name),
                        )
                        .with_label(format!("no `{root}.{}`", name.name))
                        .with_help(help),
                    )
                }
            };
        }

        // A raw resource.
        let is_type = if stack_level {
            symbols.resources.contains_key(root)
        } else {
            body_names.resources.contains_key(root)
        };
        if is_type {
            let names = || -> Vec<&'a str> {
                if stack_level {
                    symbols.resources.get(root).map(|n| n.keys().copied().collect()).unwrap_or_default()
                } else {
                    body_names.resources.get(root).map(|n| n.iter().copied().collect()).unwrap_or_default()
                }
            };
            let Some(name) = path.name_at(0) else {
                return self.error(incomplete(path, root, &format!("`{root}.<name>.<attribute>`")));
            };
            let found: Option<&'a str> = if stack_level {
                symbols.resources.get(root).and_then(|n| n.get_key_value(name.name.as_str()).map(|(k, _)| *k))
            } else {
                body_names.resources.get(root).and_then(|n| n.get(name.name.as_str()).copied())
            };
            return match found {
                Some(found) => {
                    let type_name = symbols
                        .resources
                        .get_key_value(root)
                        .map(|(k, _)| *k)
                        .or_else(|| body_names.resources.get_key_value(root).map(|(k, _)| *k));
                    if let Some(type_name) = type_name {
                        self.depend(place, Node::Resource(type_name, found), path.span_through(0));
                    }
                    Resolution::Resource
                }
                None => {
                    let help = did_you_mean(&name.name, names().iter().copied()).unwrap_or_else(|| {
                        format!("declare it with `resource \"{root}\" \"{}\" {{ ... }}`", name.name)
                    });
                    self.error(
                        Diagnostic::new(
                            Code::UnknownReference,
                            path.span_through(0),
                            format!("There is no resource `{root}.{}` here.", name.name),
                        )
                        .with_label(format!("no `{root}.{}`", name.name))
                        .with_help(help),
                    )
                }
            };
        }

        // Nothing by that name.
        let mut roots: Vec<&str> = Vec::new();
        match place {
            Place::Stack { .. } => {
                roots.extend(["var", "local"]);
                roots.extend(symbols.instances.keys().copied());
                roots.extend(symbols.resources.keys().copied());
            }
            Place::Component { .. } => {
                roots.extend(["param", "self", "target", "network"]);
                roots.extend(body_names.instances.keys().copied());
                roots.extend(body_names.resources.keys().copied());
            }
        }
        if repetition.count {
            roots.push("count");
        }
        if repetition.each {
            roots.push("each");
        }
        let help = match root {
            "count" => {
                Some("`count.index` is only available inside a resource that sets `count`".to_string())
            }
            "each" => Some(
                "`each.key` and `each.value` are only available inside a resource that sets `for_each`"
                    .to_string(),
            ),
            "self" | "target" | "network" => {
                Some(format!("`{root}` is only available inside a `component` block"))
            }
            _ => did_you_mean(root, roots.iter().copied()),
        };
        let mut diagnostic = Diagnostic::new(
            Code::UnknownReference,
            path.root.span,
            format!("`{root}` is not a name this expression can see."),
        )
        .with_label(format!("unknown name `{root}`"));
        diagnostic = match help {
            Some(help) => diagnostic.with_help(help),
            None => diagnostic.with_help(
                "references start with `var.`, `local.`, a component kind (`service.api`) or a resource type",
            ),
        };
        self.error(diagnostic)
    }
}

/// The candidate `did_you_mean` would suggest.
fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates.iter().copied().find(|c| {
        did_you_mean(name, [*c]).is_some()
            && did_you_mean(name, candidates.iter().copied()) == did_you_mean(name, [*c])
    })
}

/// E0209: `var` alone, `service` alone, an index where a name is needed.
fn incomplete(path: &RefPath<'_>, root: &str, shape: &str) -> Diagnostic {
    let (span, what) = match path.step(0) {
        Some(PathStep::Index(index)) => (index.span, "an index where a name is needed"),
        _ => (path.root.span, "a name missing"),
    };
    let span = if matches!(path.step(0), Some(PathStep::Index(_))) { path.root.span.to(span) } else { span };
    Diagnostic::new(
        Code::InvalidReference,
        span,
        format!("`{root}` cannot be used on its own: a reference to it has the shape {shape}."),
    )
    .with_label(format!("incomplete reference: {what}"))
    .with_help(format!("write {shape}"))
}

/// The span of a block's first label, or of its kind when it has none.
pub fn name_span(block: &Block) -> Span {
    block.labels.first().map_or(block.kind.span, |l| l.span)
}
