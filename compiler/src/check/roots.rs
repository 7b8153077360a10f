//! What the checker evaluates and infers expressions against: the values
//! and static types of the root names (`var`, `local`, component kinds,
//! resource types; `param` and `self` inside components), and how they are
//! handed to the evaluator for one expression.
//!
//! An instance kind's root is an object of every instance of the kind, each
//! holding the kind's outputs (unknown values before apply; their declared
//! types). A reference names one instance (`service.api.url`), which needs
//! only the outputs, so a kind's root ([`Kind`]) answers for a member
//! without the object, and builds the object only if something reads the
//! kind whole (nothing valid does: resolve reports `service` alone).
//! Checking thus does not copy a kind's outputs once per instance.
//!
//! What an expression names is read from its references in the HIR
//! ([`crate::hir::Stack::references`]): a reference's member is its first
//! static step, the attribute read of a member its second (when they are
//! names, not indexes).

use super::SENSITIVE_RESOURCE_ATTRIBUTES;
use crate::eval::Roots;
use crate::hash::{FastMap, FastSet};
use crate::hir::{Reference, Step};
use crate::types::{ObjectField, Type};
use crate::value::Value;
use std::borrow::Cow;
use std::cell::OnceCell;

/// The checker's roots by name, as values.
pub(super) type RootValues<'r> = FastMap<String, Root<'r, Value>>;

/// The checker's roots by name, as static types.
pub(super) type RootTypes<'r> = FastMap<String, Root<'r, Type>>;

/// A root: a value (or type) held whole, or an instance kind.
pub(super) enum Root<'r, T> {
    Whole(T),
    Kind(Kind<'r, T>),
}

/// An instance kind as a root: `member` is each instance's value (or type).
pub(super) struct Kind<'r, T> {
    /// The names of the kind's instances, when it has any.
    pub instances: Option<&'r FastSet<&'r str>>,
    /// `network.main` is there even when not declared.
    pub main: bool,
    pub member: T,
    /// The object of every instance, built when first asked for.
    pub whole: OnceCell<T>,
}

/// What a kind's object is made of: its members' values or types.
pub(super) trait Member: Clone {
    fn object(fields: Vec<(String, Self)>) -> Self;
}

impl Member for Value {
    fn object(fields: Vec<(String, Value)>) -> Value {
        Value::Object(fields.into_iter().collect())
    }
}

impl Member for Type {
    fn object(fields: Vec<(String, Type)>) -> Type {
        Type::Object(
            fields.into_iter().map(|(name, ty)| (name, ObjectField { ty, optional: false })).collect(),
        )
    }
}

impl<T: Member> Kind<'_, T> {
    pub fn new(member: T) -> Self {
        Kind { instances: None, main: false, member, whole: OnceCell::new() }
    }

    fn has(&self, name: &str) -> bool {
        self.instances.is_some_and(|instances| instances.contains(name)) || (self.main && name == "main")
    }

    /// The object of every instance (in declaration order, `main` last when
    /// it is not declared), as the checker built it before kinds answered
    /// for a member.
    fn whole(&self) -> &T {
        self.whole.get_or_init(|| {
            let mut fields: Vec<(String, T)> = self
                .instances
                .into_iter()
                .flat_map(|instances| instances.iter())
                .map(|name| (name.to_string(), self.member.clone()))
                .collect();
            if self.main && !self.instances.is_some_and(|instances| instances.contains("main")) {
                fields.push(("main".to_string(), self.member.clone()));
            }
            T::object(fields)
        })
    }
}

impl<T: Member> Root<'_, T> {
    pub fn whole(&self) -> &T {
        match self {
            Root::Whole(value) => value,
            Root::Kind(kind) => kind.whole(),
        }
    }

    /// `root.name`, when this root answers for it without being built whole.
    pub fn member(&self, name: &str) -> Option<&T> {
        match self {
            Root::Whole(_) => None,
            Root::Kind(kind) => kind.has(name).then_some(&kind.member),
        }
    }
}

/// Roots given to the evaluator for one expression.
pub(super) enum CheckRoots<'v, 'r> {
    /// The checker's roots, lent whole: each member the expression names is
    /// in its root, so the evaluator sees through the paths it follows
    /// exactly what the narrowed roots would hold, and clones only what a
    /// path reaches (not, per expression, every member it names).
    Lent(&'v RootValues<'r>),
    /// Only the parts of each root the expression names (see [`narrow`]),
    /// for an expression naming a member its root lacks (a local in a
    /// cycle: unknown here) or reading a generated secret.
    Narrow(FastMap<String, Value>),
}

impl Roots for CheckRoots<'_, '_> {
    /// A name the checker has no value for (a component body's resources,
    /// `network` inside a component) is unknown: resolve has reported the
    /// names that do not exist, and expressions with errors are not evaluated.
    fn root(&self, name: &str) -> Option<Cow<'_, Value>> {
        let found = match self {
            CheckRoots::Lent(roots) => roots.get(name).map(Root::whole),
            CheckRoots::Narrow(roots) => roots.get(name),
        };
        Some(found.map_or(Cow::Owned(Value::Unknown), Cow::Borrowed))
    }

    fn member(&self, root: &str, name: &str) -> Option<Cow<'_, Value>> {
        match self {
            CheckRoots::Lent(roots) => roots.get(root)?.member(name).map(Cow::Borrowed),
            CheckRoots::Narrow(_) => None,
        }
    }
}

/// Step `i` of a reference (one of its static steps) when it is an
/// attribute name (`var.x`: `x`; `var[0]`, `var["x"]`: none).
pub(super) fn name_at(reference: &Reference, i: usize) -> Option<&str> {
    match reference.steps.get(i)? {
        Step::Attr(name) => Some(name),
        Step::Key(_) | Step::Repetition(..) => None,
    }
}

/// The roots to evaluate an expression making `references` with: `roots`
/// lent whole when that is the same as narrowing them, else narrowed.
pub(super) fn check_roots<'v, 'r>(references: &[Reference], roots: &'v RootValues<'r>) -> CheckRoots<'v, 'r> {
    let lendable = references.iter().all(|reference| {
        let root = reference.root.as_str();
        if SENSITIVE_RESOURCE_ATTRIBUTES.iter().any(|(type_name, _)| *type_name == root) {
            !roots.contains_key(root)
        } else {
            match (name_at(reference, 0), roots.get(root)) {
                (Some(member), Some(Root::Whole(Value::Object(fields)))) => fields.contains_key(member),
                (Some(member), Some(Root::Kind(kind))) => kind.has(member),
                _ => true,
            }
        }
    });
    if lendable {
        CheckRoots::Lent(roots)
    } else {
        CheckRoots::Narrow(narrow(references, roots))
    }
}

/// The roots an expression names (its references are `paths`), each
/// narrowed to the members it reads.
fn narrow(paths: &[Reference], roots: &RootValues<'_>) -> FastMap<String, Value> {
    let mut out: FastMap<String, Value> = FastMap::default();
    let mut whole: FastSet<&str> = FastSet::default();
    for path in paths {
        let root = path.root.as_str();
        let Some(value) = roots.get(root).map(Root::whole) else { continue };
        match (name_at(path, 0), value) {
            (Some(member), Value::Object(fields)) if !whole.contains(root) => {
                let entry = out.entry(root.to_string()).or_insert_with(|| Value::Object(Default::default()));
                if let Value::Object(narrowed) = entry {
                    // Names resolve reported are not evaluated; anything else
                    // missing (a value in a cycle) is unknown.
                    let member_value = fields.get(member).cloned().unwrap_or(Value::Unknown);
                    narrowed.insert(member.to_string(), member_value);
                }
            }
            _ => {
                whole.insert(root);
                out.insert(root.to_string(), value.clone());
            }
        }
    }
    // A generated secret read from a resource stays sensitive.
    for (type_name, attribute) in SENSITIVE_RESOURCE_ATTRIBUTES {
        let Some(Value::Object(members)) = out.get_mut(*type_name) else { continue };
        for (member, value) in members.iter_mut() {
            if !matches!(value, Value::Unknown) {
                continue;
            }
            let reads: Vec<&Reference> = paths
                .iter()
                .filter(|p| p.root == *type_name && name_at(p, 0) == Some(member.as_str()))
                .collect();
            if !reads.iter().any(|p| name_at(p, 1).is_none_or(|a| a == *attribute)) {
                continue;
            }
            if reads.iter().all(|p| name_at(p, 1).is_some()) {
                let fields: stackc_model::Fields = reads
                    .iter()
                    .filter_map(|p| name_at(p, 1))
                    .map(|a| {
                        let v =
                            if a == *attribute { Value::Unknown.into_sensitive() } else { Value::Unknown };
                        (a.to_string(), v)
                    })
                    .collect();
                *value = Value::Object(fields);
            } else {
                *value = Value::Unknown.into_sensitive();
            }
        }
    }
    out
}

/// The static types of the roots, for inference: kinds answer for an
/// instance without building the object of every instance.
pub(super) struct ScopedTypes<'v, 'r> {
    pub roots: &'v RootTypes<'r>,
    pub kinds: &'v FastMap<String, Type>,
}

impl crate::infer::TypeRoots for ScopedTypes<'_, '_> {
    fn root_type(&self, name: &str) -> Option<&Type> {
        self.roots.get(name).map(Root::whole)
    }

    fn member_type(&self, root: &str, name: &str) -> Option<&Type> {
        self.roots.get(root)?.member(name)
    }

    fn kind_outputs(&self, kind: &str) -> Option<&Type> {
        self.kinds.get(kind)
    }
}
