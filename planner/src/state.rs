//! The state document: what stackc believes exists, per stack and target.
//!
//! A versioned JSON document. `lineage` is fixed when the state is first
//! created and identifies it for life (a saved plan made against another
//! lineage is refused); `serial` strictly increases with every write.
//! Resources are kept by address with the provider's id, every attribute
//! (configured and computed) and their direct dependencies only.
//!
//! Sensitive values: in memory an attribute value keeps its
//! [`Value::Sensitive`] marks; on disk the attributes are plain JSON and the
//! marked paths are listed in `sensitive_paths` (`["result"]`,
//! `["env", "0", "value"]`), so loading restores the marks exactly. State is
//! a local file the user owns, like Terraform's; sensitive values are stored
//! in it (the planner needs them) but never displayed.
//!
//! This module is pure data: reading and writing files, locks and the
//! apply journal belong to the backends.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use stackc_model::graph::ResourceAddress;
use stackc_model::Value;

/// The state format version written by this build. Loading a newer one is
/// refused (a newer stackc wrote it); older ones are upgraded on load.
/// Version 2 added [`AppliedConfiguration`] (`applied`); a version 1 state
/// loads with none.
pub const FORMAT_VERSION: u32 = 2;

/// The whole state of one stack and target.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub lineage: String,
    pub serial: u64,
    /// The stack's name (its directory name) and target, for ownership tags
    /// and for messages.
    pub stack: String,
    pub target: Option<String>,
    /// By address, in a stable (sorted) order.
    pub resources: IndexMap<ResourceAddress, ResourceState>,
    /// The stack's outputs after the last apply.
    pub outputs: IndexMap<String, OutputState>,
    /// Creates an apply sent (or was about to send) whose result it never
    /// recorded, by address: see [`CreateIntent`]. Empty but after a crash.
    pub intents: IndexMap<ResourceAddress, CreateIntent>,
    /// The inputs of the last successful apply, which `stackc reconcile`
    /// compiles again; `None` before the first one and after a destroy.
    pub applied: Option<AppliedConfiguration>,
    /// What stackc keeps about a component instance itself rather than one
    /// of its resources, by instance address (`service.api`): the
    /// autoscaler's count and history. Absent from older states (they load
    /// with none); a state that has some is refused by an older stackc
    /// (its document rejects unknown fields), which would drop them.
    pub instances: IndexMap<String, InstanceState>,
}

/// What the last successful apply compiled: the stack's files as text,
/// the text of every file `file()` read, the variables' values (sensitive
/// ones marked) and the target. `stackc reconcile` compiles exactly these
/// again (the stdlib is the binary's own), so a stack half-edited on disk
/// is never what the loop deploys.
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedConfiguration {
    /// The stackc version that applied it (`CARGO_PKG_VERSION`).
    pub stackc_version: String,
    pub target: Option<String>,
    /// The stack's files: name (relative to the stack directory) and text.
    pub files: Vec<(String, String)>,
    /// What `file()` read, by path: `ok:<text>` or `error:<reason>` (as the
    /// source hash records it).
    pub file_reads: Vec<(String, String)>,
    /// Every variable's value (an object), sensitive parts marked.
    pub variables: Value,
    /// The source hash of that apply (`pipeline.rs`).
    pub source_hash: String,
    /// When it was applied (RFC 3339, UTC).
    pub time: String,
}

impl AppliedConfiguration {
    pub fn to_document(&self) -> DocumentApplied {
        DocumentApplied {
            stackc_version: self.stackc_version.clone(),
            target: self.target.clone(),
            files: self
                .files
                .iter()
                .map(|(name, text)| DocumentFile { name: name.clone(), text: text.clone() })
                .collect(),
            file_reads: self
                .file_reads
                .iter()
                .map(|(name, text)| DocumentFile { name: name.clone(), text: text.clone() })
                .collect(),
            variables: self.variables.to_json(),
            sensitive_paths: sensitive_paths(&self.variables),
            source_hash: self.source_hash.clone(),
            time: self.time.clone(),
        }
    }

    pub fn from_document(document: DocumentApplied) -> AppliedConfiguration {
        let mut variables = Value::from_json(&document.variables);
        for path in &document.sensitive_paths {
            mark_sensitive(&mut variables, path);
        }
        AppliedConfiguration {
            stackc_version: document.stackc_version,
            target: document.target,
            files: document.files.into_iter().map(|f| (f.name, f.text)).collect(),
            file_reads: document.file_reads.into_iter().map(|f| (f.name, f.text)).collect(),
            variables,
            source_hash: document.source_hash,
            time: document.time,
        }
    }
}

/// What the state records about one component instance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceState {
    /// Set once the autoscaler (`stackc_planner::autoscale`) measured the
    /// instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<AutoscaleRecord>,
    /// Set while a rollout of a new version is under way, paused, kept
    /// (blue-green) or rolled back (`stackc_planner::rollout`); cleared when
    /// it finishes. Absent from older states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutRecord>,
}

impl InstanceState {
    /// True when nothing is recorded (the entry can go).
    pub fn is_empty(&self) -> bool {
        self.autoscale.is_none() && self.rollout.is_none()
    }
}

/// Where a rollout stands: what `stackc apply` writes before each step's
/// apply, so an interrupted apply leaves a record that matches the objects
/// (or is one step ahead of them) and the next apply resumes or rolls back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutRecord {
    /// `rolling`, `canary` or `blue_green`.
    pub strategy: String,
    /// A hash of the new version's configuration (the stable resources'
    /// planned configuration): a record for another version is recognised.
    pub version: String,
    /// The step being applied (0-based); `steps` when the stable resources
    /// take the new version (promote).
    pub step: usize,
    /// How many steps the strategy has.
    pub steps: usize,
    /// The share of requests the new version receives at this step.
    pub weight: u32,
    /// How many replicas of the new version run beside the stable ones.
    pub canary: u64,
    pub status: RolloutStatus,
    /// When the rollout started and when the record was last written (RFC 3339, UTC).
    pub started: String,
    pub updated: String,
    /// Why it is paused, kept or rolled back (a failed gate's health output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// blue_green: until when (milliseconds since the Unix epoch) the old set
    /// is kept; `None` with status `kept`: until the next apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_until_ms: Option<u64>,
}

/// The status of a [`RolloutRecord`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutStatus {
    /// A step is being applied or gated.
    Applying,
    /// Stopped after a step until `stackc rollout promote`.
    Paused,
    /// blue_green: traffic switched, the old set kept for `rollout undo`.
    Kept,
    /// Traffic is being returned to the stable version.
    RollingBack,
    /// Rolled back: the stable version serves; this version is not retried
    /// but by `stackc apply`.
    RolledBack,
}

impl RolloutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutStatus::Applying => "applying",
            RolloutStatus::Paused => "paused",
            RolloutStatus::Kept => "kept",
            RolloutStatus::RollingBack => "rolling_back",
            RolloutStatus::RolledBack => "rolled_back",
        }
    }

    /// True while the new version runs beside the stable one (the recorded
    /// step is what every command expands with).
    pub fn in_progress(self) -> bool {
        matches!(self, RolloutStatus::Applying | RolloutStatus::Paused | RolloutStatus::Kept)
    }
}

/// The autoscaler's record of one instance: the count it chose (what
/// expansion gives the body as `self.autoscaled_replicas`) and the
/// recommendations it made, for the stabilisation windows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscaleRecord {
    pub replicas: u64,
    /// Recommendations (before stabilisation and clamping), oldest first;
    /// those older than both windows are dropped when a new one is made.
    #[serde(default)]
    pub recommendations: Vec<Recommendation>,
}

/// One recommendation and when it was made (milliseconds since the Unix epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recommendation {
    pub at_ms: u64,
    pub replicas: u64,
}

/// A create recorded in the apply journal *before* its request was sent.
/// Its result (a `put` of the address) closes it; if the apply was killed
/// first, the object may exist without the state knowing it. The next plan
/// asks the provider for it by its ownership (stack, target, address; see
/// `Provider::find_created`), adopts what it finds at `address`, and the
/// next apply closes the intent, so the object is neither orphaned nor
/// created twice.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateIntent {
    pub type_name: String,
    pub target: Option<String>,
    /// The create's token (`OperationContext::create_token`).
    pub token: String,
    /// The configuration the create was sent with (sensitive parts marked).
    pub config: Value,
    pub dependencies: Vec<ResourceAddress>,
}

impl CreateIntent {
    /// The on-disk form: a resource document whose `id` is the token and
    /// whose `attributes` are the configuration.
    pub fn to_document(&self, address: &ResourceAddress) -> DocumentResource {
        DocumentResource {
            address: address.0.clone(),
            type_name: self.type_name.clone(),
            target: self.target.clone(),
            id: self.token.clone(),
            attributes: self.config.to_json(),
            sensitive_paths: sensitive_paths(&self.config),
            dependencies: self.dependencies.iter().map(|d| d.0.clone()).collect(),
            tainted: false,
        }
    }

    pub fn from_document(document: DocumentResource) -> (ResourceAddress, CreateIntent) {
        let (address, resource) = ResourceState::from_document(document);
        let intent = CreateIntent {
            type_name: resource.type_name,
            target: resource.target,
            token: resource.id,
            config: resource.attributes,
            dependencies: resource.dependencies,
        };
        (address, intent)
    }
}

/// One resource as last applied or refreshed.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceState {
    pub type_name: String,
    /// The target whose provider manages it, `None` for the built-in provider.
    pub target: Option<String>,
    /// The provider's id of the object.
    pub id: String,
    /// Every attribute, an object value with sensitive parts marked.
    pub attributes: Value,
    /// Direct dependencies (addresses), for destroy order and for `state show`.
    pub dependencies: Vec<ResourceAddress>,
    /// Set when a create or update failed part-way: the object exists but
    /// may not match its configuration, so the next plan replaces it.
    pub tainted: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutputState {
    pub value: Value,
    pub sensitive: bool,
}

impl State {
    /// A new, empty state with a fresh lineage (serial 0: nothing written yet).
    pub fn new(stack: impl Into<String>, target: Option<String>, lineage: String) -> State {
        State {
            lineage,
            serial: 0,
            stack: stack.into(),
            target,
            resources: IndexMap::new(),
            outputs: IndexMap::new(),
            intents: IndexMap::new(),
            applied: None,
            instances: IndexMap::new(),
        }
    }

    /// The replica counts the autoscaler recorded, by instance address: the
    /// expansion option `autoscaled_replicas`.
    pub fn autoscaled_replicas(&self) -> IndexMap<String, u64> {
        self.instances
            .iter()
            .filter_map(|(instance, state)| Some((instance.clone(), state.autoscale.as_ref()?.replicas)))
            .collect()
    }

    /// The steps the rollouts recorded stand at, by instance address: the
    /// expansion option `rollouts` (instances whose rollout is in progress;
    /// a rolled-back one runs its stable version alone).
    pub fn rollout_steps(&self) -> IndexMap<String, stackc_model::RolloutStep> {
        self.instances
            .iter()
            .filter_map(|(instance, state)| {
                // rolling runs no canary: its batches are held stable resources.
                let record =
                    state.rollout.as_ref().filter(|r| r.status.in_progress() && r.strategy != "rolling")?;
                Some((
                    instance.clone(),
                    stackc_model::RolloutStep { weight: record.weight, canary: record.canary },
                ))
            })
            .collect()
    }

    /// The rollout records, by instance address.
    pub fn rollouts(&self) -> impl Iterator<Item = (&String, &RolloutRecord)> {
        self.instances.iter().filter_map(|(instance, state)| Some((instance, state.rollout.as_ref()?)))
    }

    /// Records (or with `None` clears) the rollout of `instance`.
    pub fn set_rollout(&mut self, instance: &str, record: Option<RolloutRecord>) {
        match record {
            Some(record) => self.instances.entry(instance.to_string()).or_default().rollout = Some(record),
            None => {
                if let Some(entry) = self.instances.get_mut(instance) {
                    entry.rollout = None;
                    if entry.is_empty() {
                        self.instances.shift_remove(instance);
                    }
                }
            }
        }
    }

    /// Keeps resources sorted by address so the document diffs well.
    pub fn sort(&mut self) {
        self.resources.sort_unstable_keys();
    }

    pub fn to_document(&self) -> Document {
        Document {
            version: FORMAT_VERSION,
            lineage: self.lineage.clone(),
            serial: self.serial,
            stack: self.stack.clone(),
            target: self.target.clone(),
            resources: self.resources.iter().map(|(address, r)| r.to_document(address)).collect(),
            outputs: self.outputs.iter().map(|(name, o)| (name.clone(), o.to_document())).collect(),
            intents: self.intents.iter().map(|(address, i)| i.to_document(address)).collect(),
            applied: self.applied.as_ref().map(AppliedConfiguration::to_document),
            instances: self.instances.clone(),
        }
    }

    /// Rebuilds a state from its document; `Err` says what is wrong with it.
    pub fn from_document(document: Document) -> Result<State, String> {
        if document.version > FORMAT_VERSION {
            return Err(format!(
                "state format version {} is newer than this stackc understands ({FORMAT_VERSION}); \
                 upgrade stackc",
                document.version
            ));
        }
        if document.version == 0 {
            return Err("state format version 0 does not exist (the first is 1); the file was not written \
                        by stackc"
                .into());
        }
        if document.lineage.is_empty() {
            return Err("state has an empty lineage".into());
        }
        let mut resources = IndexMap::with_capacity(document.resources.len());
        for r in document.resources {
            if !is_valid_address(&r.address) {
                return Err(format!("`{}` is not a resource address", r.address.escape_debug()));
            }
            let (address, state) = ResourceState::from_document(r);
            if resources.insert(address.clone(), state).is_some() {
                return Err(format!("resource `{address}` appears twice"));
            }
        }
        let outputs =
            document.outputs.into_iter().map(|(name, o)| (name, OutputState::from_document(o))).collect();
        let intents = document.intents.into_iter().map(CreateIntent::from_document).collect();
        if let Some(bad) = document.instances.keys().find(|instance| !is_valid_address(instance)) {
            return Err(format!("`{}` is not an instance address", bad.escape_debug()));
        }
        let mut state = State {
            lineage: document.lineage,
            serial: document.serial,
            stack: document.stack,
            target: document.target,
            resources,
            outputs,
            intents,
            applied: document.applied.map(AppliedConfiguration::from_document),
            instances: document.instances,
        };
        state.sort();
        Ok(state)
    }
}

impl ResourceState {
    /// The on-disk form of one resource (also a line of the apply journal).
    pub fn to_document(&self, address: &ResourceAddress) -> DocumentResource {
        DocumentResource {
            address: address.0.clone(),
            type_name: self.type_name.clone(),
            target: self.target.clone(),
            id: self.id.clone(),
            attributes: self.attributes.to_json(),
            sensitive_paths: sensitive_paths(&self.attributes),
            dependencies: self.dependencies.iter().map(|d| d.0.clone()).collect(),
            tainted: self.tainted,
        }
    }

    /// Rebuilds one resource, restoring its sensitive marks.
    pub fn from_document(document: DocumentResource) -> (ResourceAddress, ResourceState) {
        let mut attributes = Value::from_json(&document.attributes);
        for path in &document.sensitive_paths {
            mark_sensitive(&mut attributes, path);
        }
        let state = ResourceState {
            type_name: document.type_name,
            target: document.target,
            id: document.id,
            attributes,
            dependencies: document.dependencies.into_iter().map(ResourceAddress).collect(),
            tainted: document.tainted,
        };
        (ResourceAddress(document.address), state)
    }
}

impl OutputState {
    pub fn to_document(&self) -> DocumentOutput {
        DocumentOutput { value: self.value.to_json(), sensitive: self.sensitive }
    }

    /// A sensitive output's value comes back marked.
    pub fn from_document(document: DocumentOutput) -> OutputState {
        let value = Value::from_json(&document.value);
        let value = if document.sensitive { value.into_sensitive() } else { value };
        OutputState { value, sensitive: document.sensitive }
    }
}

/// Whether `text` has the shape of a resource address: `/`-separated
/// segments `<name>.<name>`, each optionally followed by `[<index>]` or
/// `["<JSON string key>"]` (see `stackc_model::address`).
pub fn is_valid_address(text: &str) -> bool {
    fn name(rest: &str) -> Option<&str> {
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len());
        let first = rest.chars().next()?;
        (end > 0 && (first.is_alphabetic() || first == '_')).then(|| &rest[end..])
    }
    fn key(rest: &str) -> Option<&str> {
        let Some(inner) = rest.strip_prefix('[') else { return Some(rest) };
        if inner.starts_with('"') {
            // A JSON string: find its end by parsing one value.
            let mut stream = serde_json::Deserializer::from_str(inner).into_iter::<String>();
            stream.next()?.ok()?;
            inner[stream.byte_offset()..].strip_prefix(']')
        } else {
            let end = inner.find(|c: char| !c.is_ascii_digit()).unwrap_or(inner.len());
            (end > 0).then_some(())?;
            inner[end..].strip_prefix(']')
        }
    }
    let mut rest = text;
    loop {
        rest = match name(rest).and_then(|r| r.strip_prefix('.')).and_then(name).and_then(key) {
            Some(rest) => rest,
            None => return false,
        };
        match rest.strip_prefix('/') {
            Some(next) => rest = next,
            None => return rest.is_empty(),
        }
    }
}

/// A fresh lineage: a random version-4 UUID from the OS generator.
pub fn new_lineage() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]))
}

/// The on-disk form of [`State`] (and of a state inside a saved plan).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub version: u32,
    pub lineage: String,
    pub serial: u64,
    pub stack: String,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub resources: Vec<DocumentResource>,
    #[serde(default)]
    pub outputs: IndexMap<String, DocumentOutput>,
    /// Open [`CreateIntent`]s (present only after an apply was killed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<DocumentResource>,
    /// By instance address; absent when empty (see [`State::instances`]).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub instances: IndexMap<String, InstanceState>,
    /// The last applied configuration (version 2 on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<DocumentApplied>,
}

/// The on-disk form of [`AppliedConfiguration`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentApplied {
    pub stackc_version: String,
    #[serde(default)]
    pub target: Option<String>,
    pub files: Vec<DocumentFile>,
    #[serde(default)]
    pub file_reads: Vec<DocumentFile>,
    pub variables: serde_json::Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_paths: Vec<Vec<String>>,
    pub source_hash: String,
    pub time: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentFile {
    pub name: String,
    pub text: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentResource {
    pub address: String,
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub id: String,
    pub attributes: serde_json::Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_paths: Vec<Vec<String>>,
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tainted: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentOutput {
    pub value: serde_json::Value,
    #[serde(default)]
    pub sensitive: bool,
}

/// Every path (object keys and list indices as strings) whose value is
/// marked sensitive; a marked value's insides are not listed again.
pub fn sensitive_paths(value: &Value) -> Vec<Vec<String>> {
    fn walk(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match value {
            Value::Sensitive(_) => out.push(path.clone()),
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(item, path, out);
                    path.pop();
                }
            }
            Value::Object(fields) => {
                for (key, field) in fields {
                    path.push(key.clone());
                    walk(field, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

/// Marks the value at `path` sensitive; a path that names nothing is ignored
/// (the attribute was removed by an upgrade of the provider's schema).
pub fn mark_sensitive(value: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        let plain = std::mem::replace(value, Value::Null);
        *value = plain.into_sensitive();
        return;
    };
    match value {
        Value::Object(fields) => {
            if let Some(field) = fields.get_mut(first) {
                mark_sensitive(field, rest);
            }
        }
        Value::List(items) => {
            if let Some(item) = first.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                mark_sensitive(item, rest);
            }
        }
        Value::Sensitive(inner) => mark_sensitive(inner, path),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> State {
        let mut state = State::new("shop", Some("aws".into()), "b3f1c2d4".into());
        state.serial = 7;
        let attributes = Value::Object(stackc_model::Fields::from_iter([
            ("id".to_string(), Value::string("abc")),
            ("result".to_string(), Value::string("hunter2").into_sensitive()),
            (
                "env".to_string(),
                Value::List(vec![Value::string("plain"), Value::string("secret").into_sensitive()]),
            ),
        ]));
        state.resources.insert(
            ResourceAddress("random_password.db".into()),
            ResourceState {
                type_name: "random_password".into(),
                target: None,
                id: "abc".into(),
                attributes,
                dependencies: vec![ResourceAddress("stackc_data.seed".into())],
                tainted: false,
            },
        );
        state.outputs.insert(
            "password".into(),
            OutputState { value: Value::string("hunter2").into_sensitive(), sensitive: true },
        );
        state
    }

    #[test]
    fn document_round_trip_keeps_sensitive_marks() {
        let state = sample();
        let json = serde_json::to_string(&state.to_document()).unwrap();
        let back = State::from_document(serde_json::from_str(&json).unwrap()).unwrap();
        assert_eq!(back, state);
        assert!(json.contains(r#""sensitive_paths":[["result"],["env","1"]]"#), "{json}");
    }

    #[test]
    fn the_applied_configuration_round_trips_and_old_states_load() {
        let mut state = sample();
        state.applied = Some(AppliedConfiguration {
            stackc_version: "0.1.0".into(),
            target: Some("aws".into()),
            files: vec![("main.stack.hcl".into(), "variable \"x\" {}\n".into())],
            file_reads: vec![("a.conf".into(), "ok:a = 1\n".into())],
            variables: Value::Object(stackc_model::Fields::from_iter([
                ("x".to_string(), Value::Number(2.0)),
                ("token".to_string(), Value::string("s3cret").into_sensitive()),
            ])),
            source_hash: "ab".repeat(32),
            time: "2026-12-02T14:00:00Z".into(),
        });
        let json = serde_json::to_string(&state.to_document()).unwrap();
        assert!(json.contains(r#""sensitive_paths":[["token"]]"#), "{json}");
        let back = State::from_document(serde_json::from_str(&json).unwrap()).unwrap();
        assert_eq!(back, state);
        // A version 1 state (no `applied`) loads, with none recorded.
        let mut old = sample().to_document();
        old.version = 1;
        let json = serde_json::to_string(&old).unwrap();
        assert!(!json.contains("applied"));
        let loaded = State::from_document(serde_json::from_str(&json).unwrap()).unwrap();
        assert_eq!(loaded.applied, None);
        assert_eq!(loaded.resources, sample().resources);
    }

    #[test]
    fn instances_round_trip_and_older_states_load_without_them() {
        let mut state = sample();
        let old_json = serde_json::to_string(&state.to_document()).unwrap();
        assert!(!old_json.contains("instances"), "{old_json}");
        assert!(State::from_document(serde_json::from_str(&old_json).unwrap()).unwrap().instances.is_empty());
        state.instances.insert(
            "service.api".into(),
            InstanceState {
                autoscale: Some(AutoscaleRecord {
                    replicas: 4,
                    recommendations: vec![Recommendation { at_ms: 1_000, replicas: 5 }],
                }),
                rollout: None,
            },
        );
        let json = serde_json::to_string(&state.to_document()).unwrap();
        assert!(
            json.contains(r#""instances":{"service.api":{"autoscale":{"replicas":4,"recommendations":[{"at_ms":1000,"replicas":5}]}}}"#),
            "{json}"
        );
        let back = State::from_document(serde_json::from_str(&json).unwrap()).unwrap();
        assert_eq!(back, state);
        assert_eq!(back.autoscaled_replicas(), IndexMap::from([("service.api".to_string(), 4)]));
        let mut document = state.to_document();
        let record = document.instances.shift_remove("service.api").unwrap();
        document.instances.insert("../x".into(), record);
        assert!(State::from_document(document).unwrap_err().contains("not an instance address"));
    }

    #[test]
    fn newer_format_is_refused() {
        let mut document = sample().to_document();
        document.version = FORMAT_VERSION + 1;
        let error = State::from_document(document).unwrap_err();
        assert!(error.contains("newer"), "{error}");
    }

    #[test]
    fn duplicate_address_is_refused() {
        let mut document = sample().to_document();
        let again = document.resources[0].clone();
        document.resources.push(again);
        assert!(State::from_document(document).unwrap_err().contains("twice"));
    }

    #[test]
    fn version_zero_is_refused() {
        let mut document = sample().to_document();
        document.version = 0;
        assert!(State::from_document(document).unwrap_err().contains("version 0"));
    }

    #[test]
    fn invalid_addresses_are_refused() {
        for good in [
            "stackc_data.seed",
            "service.api/kubernetes_manifest.deployment",
            "database.main/aws_instance.node[\"1\"]",
            "service.api/aws_subnet.zone[0]",
            "service.a[\"x/]\\\"y\"]/random_id.r",
        ] {
            assert!(is_valid_address(good), "{good}");
        }
        for bad in
            ["", "x", "a.", ".b", "a.b/", "a.b[", "a.b[]", "a.b[\"k]", "a b.c", "a.b.c", "1a.b", "a.b\n"]
        {
            assert!(!is_valid_address(bad), "{bad:?}");
        }
        let mut document = sample().to_document();
        document.resources[0].address = "../../etc".into();
        assert!(State::from_document(document).unwrap_err().contains("not a resource address"));
    }
}
