//! Captured scopes: what an expression of a component body can see, kept
//! alive in the resource graph so apply can evaluate it again once the
//! resources it depends on exist (the graph's [`Deferred`]).
//!
//! A captured value is either known now, an expression to evaluate again,
//! or a reference to a resource (whose attributes come from apply's results
//! when there are some, else from its planned configuration with computed
//! attributes unknown). Each part also records the resources it depends on,
//! transitively, which is how a resource's direct dependencies are found
//! through params and component outputs.

use crate::ast::Expr;
use crate::eval::{Evaluator, Roots};
use crate::graph::{Deferred, ResourceAddress, ResultLookup};
use crate::hash::FastMap;
use crate::hir::{Reference, Step};
use crate::value::Value;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A value as captured for later re-evaluation.
#[derive(Clone, Debug)]
pub enum Captured {
    /// Known now (or unknown for a reason no dependency can resolve).
    Value(Value),
    Object(Arc<FastMap<String, Captured>>),
    List(Arc<Vec<Captured>>),
    /// An expression, with the value it had at plan time.
    Expr(Arc<DeferredExpr>),
    /// A resource's attributes.
    Resource(Arc<ResourceRef>),
}

#[derive(Debug)]
pub struct DeferredExpr {
    pub expr: Arc<Expr>,
    pub scope: CapturedScope,
    pub planned: Value,
    pub evaluator: Arc<dyn Evaluator>,
    /// The resources the expression's references reach (computed once).
    pub dependencies: BTreeSet<ResourceAddress>,
}

#[derive(Debug)]
pub struct ResourceRef {
    pub address: ResourceAddress,
    /// The configuration as planned (shared with the resource's node).
    pub config_values: Arc<Value>,
    /// The computed attributes not set in the configuration, as planned:
    /// unknown, or their values from a prior state.
    pub computed_values: Vec<(String, Value)>,
    /// How to recompute the configuration (None when fully known).
    pub config: Option<Arc<DeferredObject>>,
    /// Computed attributes not set in configuration (unknown until apply).
    pub computed: Arc<Vec<String>>,
}

/// A resource's configuration: one captured expression per attribute.
impl ResourceRef {
    /// The configuration with the computed attributes, as planned (built
    /// when asked: most resources are never read by another expression).
    pub fn planned(&self) -> Value {
        let mut planned = Value::clone(&self.config_values);
        if let Value::Object(fields) = &mut planned {
            for (name, value) in &self.computed_values {
                fields.insert(name.clone(), value.clone());
            }
        }
        planned
    }
}

#[derive(Debug)]
pub struct DeferredObject {
    pub attributes: FastMap<String, Captured>,
}

/// Root names to captured values.
#[derive(Clone, Debug, Default)]
pub struct CapturedScope {
    pub roots: FastMap<String, Captured>,
}

/// Bound on re-evaluation nesting (captured values nest as deep as
/// components do, which expansion bounds far below this).
const MAX_DEPTH: usize = 128;

impl Captured {
    pub fn object(fields: FastMap<String, Captured>) -> Captured {
        Captured::Object(Arc::new(fields))
    }

    /// The value now, with results of applied resources where `lookup` has them.
    pub fn resolve(&self, lookup: ResultLookup<'_>) -> Result<Value, String> {
        self.resolve_at(lookup, 0)
    }

    fn resolve_at(&self, lookup: ResultLookup<'_>, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("values nest too deeply to evaluate".into());
        }
        match self {
            Captured::Value(value) => Ok(value.clone()),
            Captured::Object(fields) => Ok(Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), v.resolve_at(lookup, depth + 1)?)))
                    .collect::<Result<_, String>>()?,
            )),
            Captured::List(items) => Ok(Value::List(
                items.iter().map(|v| v.resolve_at(lookup, depth + 1)).collect::<Result<_, String>>()?,
            )),
            Captured::Expr(deferred) => {
                if !deferred.planned.has_unknown() {
                    return Ok(deferred.planned.clone());
                }
                deferred.evaluate_at(lookup, depth + 1)
            }
            Captured::Resource(resource) => {
                if let Some(result) = lookup(&resource.address) {
                    return Ok(result);
                }
                let Some(config) = &resource.config else { return Ok(resource.planned()) };
                let mut value = config.evaluate_at(lookup, depth + 1)?;
                if let Value::Object(fields) = &mut value {
                    for name in resource.computed.iter() {
                        fields.entry(name.clone()).or_insert(Value::Unknown);
                    }
                }
                Ok(value)
            }
        }
    }

    /// The value at plan time, before any resource has a result: what each
    /// part was when it was captured (an expression's planned value, a
    /// resource's planned configuration with its computed attributes),
    /// never evaluated again. The same value as [`Captured::resolve`] with
    /// no results, which evaluates every deferred part again and, through
    /// each resource referred to, that resource's configuration and its own
    /// references in turn: once per reference, with the whole ancestry.
    /// This is linear in the value's size.
    pub fn planned(&self) -> Value {
        self.planned_at(0)
    }

    fn planned_at(&self, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Unknown;
        }
        match self {
            Captured::Value(value) => value.clone(),
            Captured::Object(fields) => {
                Value::Object(fields.iter().map(|(k, v)| (k.clone(), v.planned_at(depth + 1))).collect())
            }
            Captured::List(items) => Value::List(items.iter().map(|v| v.planned_at(depth + 1)).collect()),
            Captured::Expr(deferred) => deferred.planned.clone(),
            Captured::Resource(resource) => resource.planned(),
        }
    }

    /// The resources this value depends on, transitively.
    pub fn dependencies(&self, into: &mut BTreeSet<ResourceAddress>) {
        self.dependencies_at(into, 0)
    }

    fn dependencies_at(&self, into: &mut BTreeSet<ResourceAddress>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match self {
            Captured::Value(_) => {}
            Captured::Object(fields) => fields.values().for_each(|v| v.dependencies_at(into, depth + 1)),
            Captured::List(items) => items.iter().for_each(|v| v.dependencies_at(into, depth + 1)),
            Captured::Expr(deferred) => into.extend(deferred.dependencies.iter().cloned()),
            Captured::Resource(resource) => {
                into.insert(resource.address.clone());
            }
        }
    }

    /// The part of this value a static path reaches, as far as it can be
    /// followed through captured structure (not into plain values).
    pub fn follow(&self, steps: &[Step]) -> &Captured {
        let mut current = self;
        for step in steps {
            let next = match current {
                Captured::Object(fields) => fields.get(step.name()),
                Captured::List(items) => step.name().parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(next) => current = next,
                None => break,
            }
        }
        current
    }
}

impl DeferredExpr {
    fn evaluate_at(&self, lookup: ResultLookup<'_>, depth: usize) -> Result<Value, String> {
        let roots = ResolvingRoots { scope: &self.scope, lookup, depth };
        self.evaluator.evaluate(&self.expr, &roots).map_err(|d| d.message)
    }
}

impl DeferredObject {
    fn evaluate_at(&self, lookup: ResultLookup<'_>, depth: usize) -> Result<Value, String> {
        Ok(Value::Object(
            self.attributes
                .iter()
                .map(|(k, v)| Ok((k.clone(), v.resolve_at(lookup, depth + 1)?)))
                .collect::<Result<_, String>>()?,
        ))
    }
}

impl Deferred for DeferredObject {
    fn evaluate(&self, results: ResultLookup<'_>) -> Result<Value, String> {
        self.evaluate_at(results, 0)
    }
}

impl Deferred for DeferredExpr {
    fn evaluate(&self, results: ResultLookup<'_>) -> Result<Value, String> {
        self.evaluate_at(results, 0)
    }
}

/// Roots of a captured scope, resolved against apply's results.
struct ResolvingRoots<'a, 'l> {
    scope: &'a CapturedScope,
    lookup: ResultLookup<'l>,
    depth: usize,
}

impl Roots for ResolvingRoots<'_, '_> {
    fn root(&self, name: &str) -> Option<Cow<'_, Value>> {
        // An error deep inside becomes unknown here; the evaluator reports
        // what it can about the expression at hand.
        self.scope
            .roots
            .get(name)
            .map(|c| Cow::Owned(c.resolve_at(self.lookup, self.depth + 1).unwrap_or(Value::Unknown)))
    }
}

/// Captures, from the roots visible to an expression, the parts its
/// references reach: a root referenced only as `root.name...` is narrowed
/// to those names, so capturing stays proportional to the expression and
/// not to the size of the stack.
pub fn capture(visible: &FastMap<String, Captured>, references: &[Reference]) -> CapturedScope {
    let mut roots: FastMap<String, Captured> = FastMap::default();
    let mut whole: BTreeSet<&str> = BTreeSet::new();
    for reference in references {
        if reference.steps.is_empty() {
            whole.insert(&reference.root);
        }
    }
    // An expression names the same root or member many times (`param.x`
    // in every line of a manifest): each is copied in once.
    for reference in references {
        let Some(value) = visible.get(&reference.root) else { continue };
        let captured = roots.get_mut(reference.root.as_str());
        if whole.contains(reference.root.as_str()) {
            if captured.is_none() {
                roots.insert(reference.root.clone(), value.clone());
            }
            continue;
        }
        let first = reference.steps[0].name();
        match value {
            Captured::Object(fields) => {
                let Some(member) = fields.get(first) else { continue };
                let entry = match captured {
                    Some(entry) => entry,
                    None => roots
                        .entry(reference.root.clone())
                        .or_insert_with(|| Captured::Object(Arc::new(FastMap::default()))),
                };
                if let Captured::Object(narrowed) = entry {
                    if !narrowed.contains_key(first) {
                        Arc::make_mut(narrowed).insert(first.to_string(), member.clone());
                    }
                }
            }
            other => {
                if captured.is_none() {
                    roots.insert(reference.root.clone(), other.clone());
                }
            }
        }
    }
    CapturedScope { roots }
}

/// The roots a list of references names, each once: whether it is named
/// whole (with no step), and the first steps it is named with, each once
/// (`param.port`, `param.image`: `param`, [`port`, `image`]). What
/// [`capture`] keeps of each root follows from it.
#[derive(Clone, Debug, Default)]
pub struct Named {
    roots: Vec<NamedRoot>,
}

#[derive(Clone, Debug)]
struct NamedRoot {
    name: String,
    whole: bool,
    members: Vec<String>,
}

impl Named {
    pub fn new(references: &[Reference]) -> Named {
        let mut roots: Vec<NamedRoot> = Vec::new();
        for reference in references {
            let at = match roots.iter().position(|r| r.name == reference.root) {
                Some(at) => at,
                None => {
                    roots.push(NamedRoot { name: reference.root.clone(), whole: false, members: Vec::new() });
                    roots.len() - 1
                }
            };
            let root = &mut roots[at];
            match reference.steps.first() {
                None => root.whole = true,
                Some(first) => {
                    if !root.members.iter().any(|m| m == first.name()) {
                        root.members.push(first.name().to_string());
                    }
                }
            }
        }
        Named { roots }
    }

    fn get(&self, root: &str) -> Option<&NamedRoot> {
        self.roots.iter().find(|r| r.name == root)
    }
}

/// The roots an expression sees at plan time (no resource has results
/// yet), answered from the visible roots as if from
/// [`capture`]`(visible, references)`, without building that scope: most expressions depend on no resource,
/// and then nothing keeps their scope (a `Deferred` keeps a captured one),
/// so building it was copying, for each evaluation, what it read.
/// `named` is what `references` name.
pub struct PlanView<'v> {
    visible: &'v FastMap<String, Captured>,
    references: &'v [Reference],
    named: &'v Named,
}

impl<'v> PlanView<'v> {
    pub fn new(
        visible: &'v FastMap<String, Captured>,
        references: &'v [Reference],
        named: &'v Named,
    ) -> Self {
        PlanView { visible, references, named }
    }

    /// The members `capture` narrows the object `root` (named as `named`)
    /// to: each named one the object has.
    fn narrowed<'s>(
        named: &'s NamedRoot,
        fields: &'v FastMap<String, Captured>,
    ) -> impl Iterator<Item = (&'v String, &'v Captured)> + 's
    where
        'v: 's,
    {
        named.members.iter().filter_map(move |member| fields.get_key_value(member.as_str()))
    }

    /// What `capture` holds for `root`: `None` when it leaves it out.
    fn captured(&self, root: &str) -> Option<Cow<'v, Captured>> {
        let value = self.visible.get(root)?;
        let named = self.named.get(root)?;
        if named.whole {
            return Some(Cow::Borrowed(value));
        }
        match value {
            Captured::Object(fields) => {
                let narrowed: FastMap<String, Captured> = Self::narrowed(named, fields)
                    .map(|(name, member)| (name.clone(), member.clone()))
                    .collect();
                (!narrowed.is_empty()).then(|| Cow::Owned(Captured::Object(Arc::new(narrowed))))
            }
            other => Some(Cow::Borrowed(other)),
        }
    }

    /// The resources the referenced parts of the captured scope depend on.
    pub fn dependencies(&self) -> BTreeSet<ResourceAddress> {
        let mut out = BTreeSet::new();
        for reference in self.references {
            let root = reference.root.as_str();
            let (Some(value), Some(named)) = (self.visible.get(root), self.named.get(root)) else { continue };
            match value {
                Captured::Object(fields) if !named.whole => match fields.get(reference.steps[0].name()) {
                    Some(member) => member.follow(&reference.steps[1..]).dependencies(&mut out),
                    // The narrowed object itself: its every member (one
                    // level down, as in the object).
                    None => {
                        for (_, member) in Self::narrowed(named, fields) {
                            member.dependencies_at(&mut out, 1);
                        }
                    }
                },
                other => other.follow(&reference.steps).dependencies(&mut out),
            }
        }
        out
    }
}

impl Roots for PlanView<'_> {
    fn root(&self, name: &str) -> Option<Cow<'_, Value>> {
        Some(match self.captured(name)? {
            Cow::Borrowed(Captured::Value(value)) => Cow::Borrowed(value),
            Cow::Borrowed(Captured::Expr(deferred)) => Cow::Borrowed(&deferred.planned),
            captured => Cow::Owned(captured.planned()),
        })
    }

    /// `param.x` lent from a captured object (`param`, a kind's instances):
    /// planning the whole object would copy each of its members for the
    /// one the path reads.
    fn member(&self, root: &str, name: &str) -> Option<Cow<'_, Value>> {
        let Captured::Object(fields) = self.visible.get(root)? else { return None };
        let named = self.named.get(root)?;
        // A narrowed root has the members it is named with, and only those.
        if !named.whole && !named.members.iter().any(|m| m == name) {
            return None;
        }
        Some(match fields.get(name)? {
            Captured::Value(value) => Cow::Borrowed(value),
            Captured::Expr(deferred) => Cow::Borrowed(&deferred.planned),
            other => Cow::Owned(other.planned()),
        })
    }
}
