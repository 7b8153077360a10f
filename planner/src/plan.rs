//! The plan: what `apply` will do, resource by resource, and why.
//!
//! A [`Plan`] is made by [`crate::planning::plan`] from the desired resource
//! graph, the state and what refresh read, and carried out by
//! [`crate::apply::apply`]. It is data: the text and JSON renderings live in
//! [`crate::render`], the saved-plan file format in [`crate::saved`].
//!
//! Invariant: every change holds what apply needs to carry it out and to
//! check the result: the object it acts on as refresh read it (`prior`), the
//! configuration as planned (unknown where a dependency's result is needed),
//! and the attributes the provider promised (`planned`).

use crate::state::{ResourceState, State};
use stackc_model::graph::ResourceAddress;
use stackc_model::{Span, Value};

/// What happens to one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Nothing: the object matches its configuration.
    NoOp,
    Create,
    /// Updated in place.
    Update,
    /// Deleted, then created again (an attribute cannot change in place).
    Replace,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }

    pub fn is_change(self) -> bool {
        self != Action::NoOp
    }
}

/// Why a resource is created, replaced or deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Created: not in the state.
    NotInState,
    /// Created again: in the state, but refresh found it gone.
    DeletedOutside,
    /// Replaced: these attributes (dotted paths) changed and cannot change in place.
    ForcedBy(Vec<String>),
    /// Replaced: an earlier apply left it tainted (created but not as planned).
    Tainted,
    /// Deleted: no longer in the configuration.
    NotInConfiguration,
    /// Deleted: `stackc destroy` / `plan --destroy`.
    DestroyRequested,
}

impl Reason {
    /// One sentence for plan output.
    pub fn describe(&self) -> String {
        match self {
            Reason::NotInState => "not in the state yet".into(),
            Reason::DeletedOutside => "it was deleted outside stackc".into(),
            Reason::ForcedBy(paths) => {
                let listed = paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ");
                format!("{listed} cannot change in place")
            }
            Reason::Tainted => "an earlier apply left it tainted (not as planned)".into(),
            Reason::NotInConfiguration => "it is no longer in the configuration".into(),
            Reason::DestroyRequested => "destroy was requested".into(),
        }
    }

    /// A stable word for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::NotInState => "not_in_state",
            Reason::DeletedOutside => "deleted_outside",
            Reason::ForcedBy(_) => "forced_by",
            Reason::Tainted => "tainted",
            Reason::NotInConfiguration => "not_in_configuration",
            Reason::DestroyRequested => "destroy_requested",
        }
    }
}

/// The planned change of one resource.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceChange {
    pub address: ResourceAddress,
    pub type_name: String,
    /// The target whose provider manages it; `None` for the built-in provider.
    pub target: Option<String>,
    pub action: Action,
    pub reason: Option<Reason>,
    /// The object as refresh read it (as in the state with `--refresh=false`);
    /// `None` for a create.
    pub prior: Option<ResourceState>,
    /// The configuration as planned: unknown where it needs a dependency's
    /// result. Null for a delete.
    pub config: Value,
    /// Every attribute as the provider planned it, unknown where only apply
    /// will tell. Null for a delete.
    pub planned: Value,
    /// Direct dependencies: in the configuration for a create, update or
    /// replace; as recorded in the state for a delete.
    pub dependencies: Vec<ResourceAddress>,
    /// Source spans that produced the resource (outermost first); empty for
    /// a resource only the state knows.
    pub provenance: Vec<Span>,
    /// Attributes the schema marks sensitive (hidden in every rendering).
    pub sensitive_attributes: Vec<String>,
}

impl ResourceChange {
    /// The span shown with the change: the innermost user-visible one is
    /// chosen by the renderer; this is the outermost (the user's block).
    pub fn source_span(&self) -> Option<Span> {
        self.provenance.first().copied()
    }
}

/// What refresh found changed outside stackc since the last apply.
#[derive(Clone, Debug, PartialEq)]
pub struct Drift {
    pub address: ResourceAddress,
    pub type_name: String,
    /// The attributes as recorded in the state.
    pub recorded: Value,
    /// The object as it is now; `None` when it no longer exists.
    pub actual: Option<Value>,
    pub sensitive_attributes: Vec<String>,
}

/// A stack output's change.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputChange {
    pub name: String,
    pub before: Option<Value>,
    /// Unknown where it depends on results of this apply; `None` when the
    /// output is removed.
    pub after: Option<Value>,
    pub sensitive: bool,
}

impl OutputChange {
    pub fn is_change(&self) -> bool {
        match (&self.before, &self.after) {
            (Some(before), Some(after)) => !same_value(before, after),
            (None, None) => false,
            _ => true,
        }
    }
}

/// How a plan was asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanOptions {
    /// Read every object first (`--refresh=false` skips it).
    pub refresh: bool,
    /// Plan to delete everything in the state.
    pub destroy: bool,
    /// `--only ADDR`: these resources and what they depend on.
    pub only: Vec<String>,
    /// `--exclude ADDR`: not these resources, nor what depends on them.
    pub exclude: Vec<String>,
    /// The drift policy `report` (`stackc reconcile`): a resource these
    /// name (an address, or an instance's for all of its resources) whose
    /// configured attributes were changed outside stackc is kept as it is
    /// and listed in [`Plan::held`] instead of being put back. Objects that
    /// are gone are still created again, stopped containers started.
    pub report_drift: Vec<String>,
    /// Rollouts: resources these name (an address, or a resource block of
    /// an instance for all of its indices, as `report_drift` matches them)
    /// keep what the state has: a planned update or replace of one becomes
    /// no change (its dependents are planned with its real values). The
    /// stable version during a rollout's steps.
    pub hold: Vec<String>,
}

fn matches_pattern(address: &ResourceAddress, pattern: &str) -> bool {
    address.0 == *pattern
        || address.0.strip_prefix(pattern).is_some_and(|rest| rest.starts_with('/') || rest.starts_with('['))
}

impl PlanOptions {
    /// Whether the drift policy of `address` is `report`.
    pub fn reports_drift_of(&self, address: &ResourceAddress) -> bool {
        self.report_drift.iter().any(|pattern| matches_pattern(address, pattern))
    }

    /// Whether `address` is held ([`PlanOptions::hold`]).
    pub fn holds(&self, address: &ResourceAddress) -> bool {
        self.hold.iter().any(|pattern| matches_pattern(address, pattern))
    }
}

/// A change the drift policy `report` held back: the object differs from
/// its configuration in these attributes and is kept as it is.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldDrift {
    pub address: ResourceAddress,
    /// The differing configured attributes (dotted paths).
    pub attributes: Vec<String>,
}

impl PlanOptions {
    pub fn new() -> PlanOptions {
        PlanOptions { refresh: true, ..PlanOptions::default() }
    }
}

/// The whole plan of one stack and target.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub stack: String,
    pub target: Option<String>,
    /// The state it was made against: apply refuses another.
    pub lineage: String,
    pub serial: u64,
    /// Every resource of the configuration and the state, in an order apply
    /// can follow (dependencies before dependents; deletes are ordered by
    /// apply itself). No-ops included: apply needs their attributes.
    pub changes: Vec<ResourceChange>,
    pub drift: Vec<Drift>,
    pub outputs: Vec<OutputChange>,
    /// Objects whose refreshed attributes differ from the state although
    /// nothing is planned for them, and objects adopted from the open
    /// intents of a killed apply (whatever is planned for them); apply
    /// records them first.
    pub refreshed: Vec<(ResourceAddress, ResourceState)>,
    /// Objects of the state that refresh found gone and that are no longer
    /// configured (or are being destroyed): apply removes them from the state.
    pub forgotten: Vec<ResourceAddress>,
    /// Changes held back by the drift policy `report` (planned as no-ops).
    pub held: Vec<HeldDrift>,
    /// The rollouts this plan starts or goes on with (its changes are the
    /// first step's), and the instances a rollout cannot carry (plain, with
    /// the reason). Filled by the CLI after planning
    /// (`crate::rollout::detect`).
    pub rollouts: Vec<crate::rollout::PlannedRollout>,
    pub options: PlanOptions,
}

/// Counts for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    /// An empty plan for `state`.
    pub fn empty_for(state: &State, options: PlanOptions) -> Plan {
        Plan {
            stack: state.stack.clone(),
            target: state.target.clone(),
            lineage: state.lineage.clone(),
            serial: state.serial,
            changes: Vec::new(),
            drift: Vec::new(),
            outputs: Vec::new(),
            refreshed: Vec::new(),
            forgotten: Vec::new(),
            held: Vec::new(),
            rollouts: Vec::new(),
            options,
        }
    }

    /// `Plan: X to add, Y to change, Z to destroy.` (a replace adds and destroys).
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for change in &self.changes {
            match change.action {
                Action::Create => summary.add += 1,
                Action::Update => summary.change += 1,
                Action::Replace => {
                    summary.add += 1;
                    summary.destroy += 1;
                }
                Action::Delete => summary.destroy += 1,
                Action::NoOp => {}
            }
        }
        summary
    }

    /// True when apply would change a resource or an output.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_change())
            || self.outputs.iter().any(OutputChange::is_change)
            || !self.forgotten.is_empty()
    }

    /// True when apply would call a provider to change a resource.
    pub fn has_resource_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_change())
    }

    pub fn change(&self, address: &ResourceAddress) -> Option<&ResourceChange> {
        self.changes.iter().find(|c| &c.address == address)
    }
}

/// One step of an attribute path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// Renders `manifest.spec.containers[0].image`.
pub fn path_string(path: &[PathStep]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            PathStep::Key(key) => {
                let plain = !key.is_empty()
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    && !key.starts_with(|c: char| c.is_ascii_digit());
                if plain {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                } else {
                    out.push_str(&format!("[{key:?}]"));
                }
            }
            PathStep::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// One leaf that differs between two values.
#[derive(Clone, Debug, PartialEq)]
pub struct AttributeChange {
    pub path: Vec<PathStep>,
    /// `None`: absent (or null) before.
    pub before: Option<Value>,
    /// `None`: absent (or null) after.
    pub after: Option<Value>,
}

/// Equality of values as the planner sees it: sensitive marks ignored, an
/// absent object key equal to a null one, numbers compared exactly.
/// `Unknown` equals nothing, not even `Unknown` (it is not known yet).
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Sensitive(a), b) => same_value(a, b),
        (a, Value::Sensitive(b)) => same_value(a, b),
        (Value::Unknown, _) | (_, Value::Unknown) => false,
        (Value::Null, Value::Null) => true,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Number(a), Value::Number(b)) => a == b,
        (Value::String(a), Value::String(b)) => a == b,
        (Value::List(a), Value::List(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.iter().all(|(k, v)| b.get(k).map_or(matches!(v, Value::Null), |w| same_value(v, w)))
                && b.iter().all(|(k, w)| a.contains_key(k) || matches!(w, Value::Null))
        }
        _ => false,
    }
}

fn strip(value: &Value) -> &Value {
    match value {
        Value::Sensitive(inner) => strip(inner),
        other => other,
    }
}

/// The leaves that differ between `before` and `after`, in `after`'s order
/// (then keys only `before` has). Objects are compared key by key, lists
/// element by element when their lengths match (else as one leaf).
pub fn attribute_changes(before: &Value, after: &Value) -> Vec<AttributeChange> {
    let mut out = Vec::new();
    diff_into(before, after, &mut Vec::new(), &mut out, 0);
    out
}

/// Bound on the depth the diff descends (deeper differences are one leaf).
const MAX_DIFF_DEPTH: usize = 64;

fn diff_into(
    before: &Value,
    after: &Value,
    path: &mut Vec<PathStep>,
    out: &mut Vec<AttributeChange>,
    depth: usize,
) {
    if same_value(before, after) {
        return;
    }
    let leaf = |out: &mut Vec<AttributeChange>, path: &Vec<PathStep>| {
        let present = |v: &Value| (!matches!(strip(v), Value::Null)).then(|| v.clone());
        out.push(AttributeChange { path: path.clone(), before: present(before), after: present(after) });
    };
    if depth >= MAX_DIFF_DEPTH {
        return leaf(out, path);
    }
    // A sensitive value is one leaf: its insides are never compared for display.
    if matches!(before, Value::Sensitive(_)) || matches!(after, Value::Sensitive(_)) {
        return leaf(out, path);
    }
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (key, after_field) in a {
                path.push(PathStep::Key(key.clone()));
                diff_into(b.get(key).unwrap_or(&Value::Null), after_field, path, out, depth + 1);
                path.pop();
            }
            for (key, before_field) in b {
                if !a.contains_key(key) {
                    path.push(PathStep::Key(key.clone()));
                    diff_into(before_field, &Value::Null, path, out, depth + 1);
                    path.pop();
                }
            }
        }
        (Value::List(b), Value::List(a)) if a.len() == b.len() => {
            for (i, (b, a)) in b.iter().zip(a).enumerate() {
                path.push(PathStep::Index(i));
                diff_into(b, a, path, out, depth + 1);
                path.pop();
            }
        }
        _ => leaf(out, path),
    }
}

/// Where `actual` (a configuration or a result, fully known) disagrees with
/// what was planned: every known leaf of `planned` must be equal in
/// `actual`; unknown leaves may be anything. Returns the first path that
/// disagrees.
pub fn incompatibility(planned: &Value, actual: &Value) -> Option<Vec<PathStep>> {
    fn walk(
        planned: &Value,
        actual: &Value,
        path: &mut Vec<PathStep>,
        depth: usize,
    ) -> Option<Vec<PathStep>> {
        match (strip(planned), strip(actual)) {
            (Value::Unknown, _) => None,
            _ if depth >= MAX_DIFF_DEPTH => (!same_value(planned, actual)).then(|| path.clone()),
            (Value::Object(p), Value::Object(a)) => {
                for (key, planned_field) in p {
                    path.push(PathStep::Key(key.clone()));
                    let found = walk(planned_field, a.get(key).unwrap_or(&Value::Null), path, depth + 1);
                    path.pop();
                    if found.is_some() {
                        return found;
                    }
                }
                for (key, actual_field) in a {
                    if !p.contains_key(key) && !matches!(strip(actual_field), Value::Null) {
                        path.push(PathStep::Key(key.clone()));
                        let at = path.clone();
                        path.pop();
                        return Some(at);
                    }
                }
                None
            }
            (Value::List(p), Value::List(a)) if p.len() == a.len() => {
                for (i, (p, a)) in p.iter().zip(a).enumerate() {
                    path.push(PathStep::Index(i));
                    let found = walk(p, a, path, depth + 1);
                    path.pop();
                    if found.is_some() {
                        return found;
                    }
                }
                None
            }
            (p, a) => (!same_value(p, a)).then(|| path.clone()),
        }
    }
    walk(planned, actual, &mut Vec::new(), 0)
}

/// The part of `value` at `path` (through sensitive marks), if present.
pub fn value_at<'v>(value: &'v Value, path: &[PathStep]) -> Option<&'v Value> {
    let mut current = value;
    for step in path {
        current = match (strip(current), step) {
            (Value::Object(fields), PathStep::Key(key)) => fields.get(key)?,
            (Value::List(items), PathStep::Index(i)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(pairs: &[(&str, Value)]) -> Value {
        Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<stackc_model::Fields>())
    }

    #[test]
    fn sameness_ignores_marks_and_absent_nulls_but_not_unknowns() {
        let a = object(&[("x", Value::string("s")), ("y", Value::Null)]);
        let b = object(&[("x", Value::string("s").into_sensitive())]);
        assert!(same_value(&a, &b));
        assert!(!same_value(&Value::Unknown, &Value::Unknown));
        assert!(!same_value(&object(&[("x", Value::Number(1.0))]), &object(&[("x", Value::Number(2.0))])));
        assert!(!same_value(&Value::List(vec![]), &Value::List(vec![Value::Null])));
    }

    #[test]
    fn changes_are_leaves_with_paths() {
        let before = object(&[
            ("input", object(&[("a", Value::Number(1.0)), ("gone", Value::Bool(true))])),
            ("list", Value::List(vec![Value::string("x"), Value::string("y")])),
            ("id", Value::string("i-1")),
        ]);
        let after = object(&[
            ("input", object(&[("a", Value::Number(2.0)), ("new", Value::string("n"))])),
            ("list", Value::List(vec![Value::string("x"), Value::string("z")])),
            ("id", Value::Unknown),
        ]);
        let paths: Vec<String> =
            attribute_changes(&before, &after).iter().map(|c| path_string(&c.path)).collect();
        assert_eq!(paths, ["input.a", "input.new", "input.gone", "list[1]", "id"]);
        let grown = attribute_changes(&Value::List(vec![]), &Value::List(vec![Value::Null]));
        assert_eq!(grown.len(), 1);
        assert!(grown[0].path.is_empty());
    }

    #[test]
    fn sensitive_leaves_are_not_opened() {
        let before = object(&[("s", object(&[("a", Value::string("1"))]).into_sensitive())]);
        let after = object(&[("s", object(&[("a", Value::string("2"))]).into_sensitive())]);
        let changes = attribute_changes(&before, &after);
        assert_eq!(changes.len(), 1);
        assert_eq!(path_string(&changes[0].path), "s");
    }

    #[test]
    fn incompatibility_allows_unknowns_to_become_anything() {
        let planned = object(&[("id", Value::Unknown), ("name", Value::string("a"))]);
        let at = |actual: Value| incompatibility(&planned, &actual).map(|p| path_string(&p));
        assert_eq!(at(object(&[("id", Value::string("x")), ("name", Value::string("a"))])), None);
        assert_eq!(
            at(object(&[("id", Value::string("x")), ("name", Value::string("b"))])),
            Some("name".into())
        );
        assert_eq!(
            at(object(&[("name", Value::string("a")), ("extra", Value::Bool(true))])),
            Some("extra".into())
        );
        let nested = object(&[("a", Value::List(vec![object(&[("b", Value::Number(1.0))])]))]);
        let path = incompatibility(&nested, &object(&[("a", Value::List(vec![object(&[])]))])).unwrap();
        assert_eq!(path_string(&path), "a[0].b");
        assert_eq!(value_at(&nested, &path), Some(&Value::Number(1.0)));
    }

    #[test]
    fn paths_quote_keys_that_are_not_names() {
        let path = vec![
            PathStep::Key("manifest".into()),
            PathStep::Key("app.kubernetes.io/name".into()),
            PathStep::Index(0),
        ];
        assert_eq!(path_string(&path), "manifest[\"app.kubernetes.io/name\"][0]");
    }
}
