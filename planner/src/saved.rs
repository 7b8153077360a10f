//! Saved plans: `stackc plan --out FILE`, then `stackc apply FILE`.
//!
//! A versioned JSON document holding the plan (every change with the
//! refreshed object it acts on, the configuration and the attributes as
//! planned, unknown and sensitive parts marked by path), the state it was
//! made against (lineage and serial), a hash of the sources and variable
//! values it was made from, and those variable values (apply compiles the
//! stack again to evaluate configurations as results arrive; the hash
//! proves it is the same stack).
//!
//! `apply FILE` refuses the plan when the state's lineage or serial
//! differ, when an interrupted apply left progress in the journal since,
//! or when the sources changed ([`Staleness`]).
//!
//! Authenticated: the file carries an HMAC-SHA256 over all of its bytes
//! (the `mac` field, second in the file, is zeros while it is computed),
//! keyed with the plan key of the stack's state directory
//! (`LocalBackend::plan_key`). An edited value, action or address, or a
//! plan pointed at another stack (`stack_path` is absolute and names the
//! directory whose key must verify it) is refused before anything in it is
//! used. Why a stored random key and not one derived from the lineage: the
//! lineage is written in the plan itself, so anything derived from it needs
//! a secret anyway; a random key kept owner-only beside the state is that
//! secret, and whoever can read it can already rewrite the state.
//!
//! Encrypted at rest, as the state is, when a state key is configured
//! (`backend::seal`): the whole file is one envelope, opened before its
//! header is read.
//!
//! The file holds sensitive values (as the state does): it is written
//! with owner-only permissions, atomically, and never over anything but a
//! regular file (`files::write_replacing`).

use crate::backend::seal::{self, Keyring, SealError};
use crate::plan::{Action, Drift, OutputChange, Plan, PlanOptions, Reason, ResourceChange};
use crate::state::{DocumentResource, ResourceState};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use stackc_model::graph::ResourceAddress;
use stackc_model::{FileId, Span, Value};
use std::path::Path;

/// The format version written by this build (2: authenticated).
pub const SAVED_PLAN_VERSION: u32 = 2;

/// What a sealed plan is bound to (the envelope's additional data).
const PLAN_PURPOSE: &str = "plan";

/// Largest plan file read.
const MAX_PLAN_BYTES: u64 = 1 << 30;

/// How every plan file begins: the MAC's hex digits follow.
const MAC_PREFIX: &str = "{\n  \"stackc_plan\": 2,\n  \"mac\": \"";
/// Hex digits of an HMAC-SHA256.
const MAC_HEX_LEN: usize = 64;

type PlanMac = hmac::Hmac<sha2_mac::Sha256>;

/// Where a plan file says it belongs, read before it is authenticated (to
/// find the key that must authenticate it).
#[derive(Clone, Debug, Deserialize)]
pub struct PlanHeader {
    pub stack_path: String,
    #[serde(default)]
    pub target: Option<String>,
}

/// A plan with what is needed to apply it later.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedPlan {
    pub plan: Plan,
    /// Hex sha256 of the sources, variable values and target.
    pub source_hash: String,
    /// The stack the plan was made for (the directory or single file given
    /// to `plan`), absolute.
    pub stack_path: String,
    /// Every variable's value as the plan used it.
    pub variables: stackc_model::Fields,
    /// The stackc version that wrote it.
    pub stackc_version: String,
}

/// Why a saved plan cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Staleness {
    OtherLineage {
        planned: String,
        found: String,
    },
    OtherSerial {
        planned: u64,
        found: u64,
    },
    /// An apply was interrupted after the plan was made; its progress was recovered.
    Recovered {
        entries: usize,
    },
    SourcesChanged,
    OtherTarget {
        planned: Option<String>,
        found: Option<String>,
    },
}

impl std::fmt::Display for Staleness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Staleness::OtherLineage { planned, found } => write!(
                f,
                "the plan was made against another state (lineage {planned}; the state now has lineage {found})"
            ),
            Staleness::OtherSerial { planned, found } => write!(
                f,
                "the state changed since the plan was made (the plan is for serial {planned}; the state is at \
                 serial {found})"
            ),
            Staleness::Recovered { entries } => write!(
                f,
                "an interrupted apply changed the state since the plan was made ({entries} recorded operations \
                 were recovered from its journal)"
            ),
            Staleness::SourcesChanged => {
                write!(f, "the stack's files or variable values changed since the plan was made")
            }
            Staleness::OtherTarget { planned, found } => write!(
                f,
                "the plan is for target {}, not {}",
                planned.as_deref().unwrap_or("(none)"),
                found.as_deref().unwrap_or("(none)")
            ),
        }
    }
}

impl SavedPlan {
    /// Checks the plan against the state as loaded (`recovered`: journal
    /// entries replayed by the load) and the sources as compiled now.
    pub fn staleness(
        &self,
        lineage: &str,
        serial: u64,
        recovered: usize,
        source_hash: &str,
        target: Option<&str>,
    ) -> Option<Staleness> {
        if self.plan.target.as_deref() != target {
            return Some(Staleness::OtherTarget {
                planned: self.plan.target.clone(),
                found: target.map(str::to_string),
            });
        }
        // A plan made before the state existed: the state made since is "newer".
        if self.plan.serial == 0 && serial > 0 {
            return Some(Staleness::OtherSerial { planned: 0, found: serial });
        }
        if self.plan.lineage != lineage {
            return Some(Staleness::OtherLineage {
                planned: self.plan.lineage.clone(),
                found: lineage.to_string(),
            });
        }
        if self.plan.serial != serial {
            return Some(Staleness::OtherSerial { planned: self.plan.serial, found: serial });
        }
        if recovered > 0 {
            return Some(Staleness::Recovered { entries: recovered });
        }
        if self.source_hash != source_hash {
            return Some(Staleness::SourcesChanged);
        }
        None
    }

    /// The file's bytes, authenticated with `key`.
    pub fn to_json(&self, key: &[u8]) -> Result<Vec<u8>, String> {
        let document = Document::from_saved(self);
        let mut bytes = serde_json::to_vec_pretty(&document).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        if !bytes.starts_with(MAC_PREFIX.as_bytes()) {
            return Err("the plan's layout is not the one its authentication expects".to_string());
        }
        let mac = mac_of(key, &bytes)?;
        bytes[MAC_PREFIX.len()..MAC_PREFIX.len() + MAC_HEX_LEN].copy_from_slice(mac.as_bytes());
        Ok(bytes)
    }

    /// Where the plan in `bytes` says it belongs, before it is
    /// authenticated; `Err` is a full sentence.
    pub fn header(bytes: &[u8]) -> Result<PlanHeader, String> {
        let probe: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_eof() {
                "the file ends too early (it was truncated?)".to_string()
            } else {
                format!("it is not a saved plan: {e}")
            }
        })?;
        match probe.get("stackc_plan").and_then(serde_json::Value::as_u64) {
            None => return Err("it is not a saved plan (no `stackc_plan` version field)".to_string()),
            Some(v) if v > SAVED_PLAN_VERSION as u64 => {
                return Err(format!(
                    "it was written by a newer stackc (plan format {v}; this one reads {SAVED_PLAN_VERSION})"
                ))
            }
            Some(v) if v < SAVED_PLAN_VERSION as u64 => {
                return Err(format!(
                    "it was written by an older stackc (plan format {v}), whose plans are not authenticated; \
                     make a new plan"
                ))
            }
            Some(_) => {}
        }
        serde_json::from_value(probe).map_err(|e| format!("it is not a valid saved plan: {e}"))
    }

    /// Reads a saved plan, authenticated with `key`; `Err` is a full
    /// sentence. Nothing of the content is trusted before the MAC matches.
    pub fn from_json(bytes: &[u8], key: &[u8]) -> Result<SavedPlan, String> {
        SavedPlan::header(bytes)?;
        let tampered = || {
            "it does not match its authentication code: it was changed after `stackc plan` wrote it, or it \
             was made for another stack or state directory"
                .to_string()
        };
        let Some(given) = bytes.get(MAC_PREFIX.len()..MAC_PREFIX.len() + MAC_HEX_LEN) else {
            return Err(tampered());
        };
        let given = decode_hex(given).ok_or_else(tampered)?;
        if !bytes.starts_with(MAC_PREFIX.as_bytes()) {
            return Err(tampered());
        }
        hmac::Mac::verify_slice(keyed(key, bytes)?, &given).map_err(|_| tampered())?;
        let document: Document =
            serde_json::from_slice(bytes).map_err(|e| format!("it is not a valid saved plan: {e}"))?;
        document.into_saved()
    }

    /// Writes the file atomically with owner-only permissions, refusing to
    /// replace anything but a regular file; encrypted (the whole file, one
    /// envelope for purpose `plan`) when `keyring` has a current key.
    pub fn write(&self, path: &Path, key: &[u8], keyring: Option<&Keyring>) -> Result<(), String> {
        let mut bytes = self.to_json(key)?;
        if let Some(keyring) = keyring.filter(|k| k.seals()) {
            bytes =
                keyring.seal(PLAN_PURPOSE, &bytes).map_err(|e| format!("cannot encrypt the plan: {e}"))?;
            bytes.push(b'\n');
        }
        crate::files::write_replacing(path, &bytes, crate::files::OWNER_ONLY)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
    }

    /// Reads the plan file at `path`: `key_for` gives the key of the
    /// state directory its header names.
    /// An encrypted plan is opened with `keyring` first.
    pub fn read(
        path: &Path,
        keyring: Option<&Keyring>,
        key_for: impl FnOnce(&PlanHeader) -> Result<Vec<u8>, String>,
    ) -> Result<SavedPlan, String> {
        let mut bytes = crate::files::read_regular(path, MAX_PLAN_BYTES)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let unusable = |e: String| format!("`{}` cannot be used: {e}", path.display());
        if seal::is_sealed(&bytes) {
            let keyring = keyring.ok_or_else(|| unusable(SealError::NoKey.to_string()))?;
            bytes = keyring.open(PLAN_PURPOSE, &bytes).map_err(|e| unusable(e.to_string()))?;
        }
        let header = SavedPlan::header(&bytes).map_err(unusable)?;
        let key = key_for(&header).map_err(unusable)?;
        SavedPlan::from_json(&bytes, &key).map_err(unusable)
    }
}

/// The HMAC-SHA256 of `bytes` with their MAC slot zeroed, ready to
/// finalize or verify (`bytes` starts with [`MAC_PREFIX`]).
fn keyed(key: &[u8], bytes: &[u8]) -> Result<PlanMac, String> {
    let slot = MAC_PREFIX.len()..MAC_PREFIX.len() + MAC_HEX_LEN;
    let mut mac = <PlanMac as hmac::KeyInit>::new_from_slice(key).map_err(|e| e.to_string())?;
    hmac::Mac::update(&mut mac, &bytes[..slot.start]);
    hmac::Mac::update(&mut mac, &[b'0'; MAC_HEX_LEN]);
    hmac::Mac::update(&mut mac, &bytes[slot.end..]);
    Ok(mac)
}

/// HMAC-SHA256 of `bytes` (their MAC slot zeroed) as lowercase hex.
fn mac_of(key: &[u8], bytes: &[u8]) -> Result<String, String> {
    let code = hmac::Mac::finalize(keyed(key, bytes)?).into_bytes();
    Ok(code.iter().map(|b| format!("{b:02x}")).collect())
}

fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    text.chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(*pair.get(1)?)?)).collect()
}

// ---------------------------------------------------------------------------
// The on-disk model.

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    stackc_plan: u32,
    /// Second, at a fixed place: see [`MAC_PREFIX`].
    mac: String,
    stackc_version: String,
    stack: String,
    stack_path: String,
    #[serde(default)]
    target: Option<String>,
    lineage: String,
    serial: u64,
    source_hash: String,
    variables: IndexMap<String, Encoded>,
    options: DocumentOptions,
    changes: Vec<DocumentChange>,
    #[serde(default)]
    drift: Vec<DocumentDrift>,
    #[serde(default)]
    outputs: Vec<DocumentOutput>,
    #[serde(default)]
    refreshed: Vec<DocumentResource>,
    #[serde(default)]
    forgotten: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    rollouts: Vec<DocumentRollout>,
}

/// A planned rollout ([`crate::rollout::PlannedRollout`]).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentRollout {
    instance: String,
    strategy: String,
    reason: String,
    plain: bool,
    steps: Vec<DocumentStep>,
    from_step: usize,
    replicas: u64,
    version: String,
    #[serde(default)]
    provenance: Option<(u32, u32, u32)>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentStep {
    number: usize,
    weight: u32,
    canary: u64,
    #[serde(default)]
    batch: Vec<u64>,
    gate_ms: u64,
    timeout_ms: u64,
    /// Milliseconds, or null: until promoted.
    pause_ms: Option<u64>,
}

impl DocumentRollout {
    fn from(rollout: &crate::rollout::PlannedRollout) -> DocumentRollout {
        use crate::rollout::Pause;
        DocumentRollout {
            instance: rollout.instance.clone(),
            strategy: rollout.strategy.as_str().to_string(),
            reason: rollout.reason.clone(),
            plain: rollout.plain,
            steps: rollout
                .steps
                .iter()
                .map(|s| DocumentStep {
                    number: s.number,
                    weight: s.weight,
                    canary: s.canary,
                    batch: s.batch.clone(),
                    gate_ms: s.gate_ms,
                    timeout_ms: s.timeout_ms,
                    pause_ms: match s.pause {
                        Pause::For(ms) => Some(ms),
                        Pause::UntilPromoted => None,
                    },
                })
                .collect(),
            from_step: rollout.from_step,
            replicas: rollout.replicas,
            version: rollout.version.clone(),
            provenance: rollout.provenance.map(|s| (s.file.0, s.start, s.end)),
            status: rollout.status.clone(),
        }
    }

    fn into_rollout(self) -> Result<crate::rollout::PlannedRollout, String> {
        use crate::rollout::{Pause, Step, Strategy};
        let strategy = Strategy::parse(&self.strategy)
            .ok_or_else(|| format!("rollout of `{}`: unknown strategy `{}`", self.instance, self.strategy))?;
        Ok(crate::rollout::PlannedRollout {
            instance: self.instance,
            strategy,
            reason: self.reason,
            plain: self.plain,
            steps: self
                .steps
                .into_iter()
                .map(|s| Step {
                    number: s.number,
                    weight: s.weight,
                    canary: s.canary,
                    batch: s.batch,
                    gate_ms: s.gate_ms,
                    timeout_ms: s.timeout_ms,
                    pause: s.pause_ms.map_or(Pause::UntilPromoted, Pause::For),
                })
                .collect(),
            from_step: self.from_step,
            replicas: self.replicas,
            version: self.version,
            provenance: self.provenance.map(|(file, start, end)| Span { file: FileId(file), start, end }),
            status: self.status,
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentOptions {
    refresh: bool,
    destroy: bool,
    #[serde(default)]
    only: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    hold: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentChange {
    address: String,
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default)]
    target: Option<String>,
    action: String,
    #[serde(default)]
    reason: Option<DocumentReason>,
    #[serde(default)]
    prior: Option<DocumentResource>,
    config: Encoded,
    planned: Encoded,
    #[serde(default)]
    dependencies: Vec<String>,
    /// (file index, start byte, end byte) of each span.
    #[serde(default)]
    provenance: Vec<(u32, u32, u32)>,
    #[serde(default)]
    sensitive_attributes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentReason {
    code: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    attributes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentDrift {
    address: String,
    #[serde(rename = "type")]
    type_name: String,
    recorded: Encoded,
    actual: Option<Encoded>,
    #[serde(default)]
    sensitive_attributes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentOutput {
    name: String,
    before: Option<Encoded>,
    after: Option<Encoded>,
    sensitive: bool,
}

/// A value with its unknown and sensitive parts listed by path (JSON has
/// no room for either). Paths are lists of object keys and list indices
/// (as strings).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Encoded {
    value: serde_json::Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unknown: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sensitive: Vec<Vec<String>>,
}

/// Bound on the depth of encoded values (plans are written by stackc, but
/// a hand-edited file must not overflow the stack).
const MAX_DEPTH: usize = 256;

impl Encoded {
    pub fn encode(value: &Value) -> Encoded {
        fn walk(
            value: &Value,
            path: &mut Vec<String>,
            unknown: &mut Vec<Vec<String>>,
            sensitive: &mut Vec<Vec<String>>,
            depth: usize,
        ) {
            if depth > MAX_DEPTH {
                return;
            }
            match value {
                Value::Unknown => unknown.push(path.clone()),
                Value::Sensitive(inner) => {
                    sensitive.push(path.clone());
                    walk(inner, path, unknown, sensitive, depth + 1);
                }
                Value::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        path.push(i.to_string());
                        walk(item, path, unknown, sensitive, depth + 1);
                        path.pop();
                    }
                }
                Value::Object(fields) => {
                    for (key, field) in fields {
                        path.push(key.clone());
                        walk(field, path, unknown, sensitive, depth + 1);
                        path.pop();
                    }
                }
                _ => {}
            }
        }
        let (mut unknown, mut sensitive) = (Vec::new(), Vec::new());
        walk(value, &mut Vec::new(), &mut unknown, &mut sensitive, 0);
        Encoded { value: value.to_json(), unknown, sensitive }
    }

    pub fn decode(&self) -> Result<Value, String> {
        if json_depth(&self.value) > MAX_DEPTH {
            return Err("a value nests too deeply".to_string());
        }
        let mut value = Value::from_json(&self.value);
        for path in &self.unknown {
            let slot =
                slot(&mut value, path).ok_or_else(|| format!("unknown path {path:?} names nothing"))?;
            *slot = Value::Unknown;
        }
        // Deepest first, so an outer mark wraps inner ones.
        let mut sensitive = self.sensitive.clone();
        sensitive.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for path in &sensitive {
            let slot =
                slot(&mut value, path).ok_or_else(|| format!("sensitive path {path:?} names nothing"))?;
            let plain = std::mem::replace(slot, Value::Null);
            *slot = plain.into_sensitive();
        }
        Ok(value)
    }
}

fn json_depth(value: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((value, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match value {
            serde_json::Value::Array(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
            serde_json::Value::Object(fields) => stack.extend(fields.values().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    deepest
}

fn slot<'v>(value: &'v mut Value, path: &[String]) -> Option<&'v mut Value> {
    let mut current = value;
    for step in path {
        current = match current {
            Value::Object(fields) => fields.get_mut(step)?,
            Value::List(items) => items.get_mut(step.parse::<usize>().ok()?)?,
            Value::Sensitive(inner) => match inner.as_mut() {
                Value::Object(fields) => fields.get_mut(step)?,
                Value::List(items) => items.get_mut(step.parse::<usize>().ok()?)?,
                _ => return None,
            },
            _ => return None,
        };
    }
    Some(current)
}

fn action_from(text: &str) -> Result<Action, String> {
    Ok(match text {
        "no-op" => Action::NoOp,
        "create" => Action::Create,
        "update" => Action::Update,
        "replace" => Action::Replace,
        "delete" => Action::Delete,
        other => return Err(format!("unknown action `{other}`")),
    })
}

fn reason_to(reason: &Reason) -> DocumentReason {
    let attributes = match reason {
        Reason::ForcedBy(paths) => paths.clone(),
        _ => Vec::new(),
    };
    DocumentReason { code: reason.code().to_string(), attributes }
}

fn reason_from(document: DocumentReason) -> Result<Reason, String> {
    Ok(match document.code.as_str() {
        "not_in_state" => Reason::NotInState,
        "deleted_outside" => Reason::DeletedOutside,
        "forced_by" => Reason::ForcedBy(document.attributes),
        "tainted" => Reason::Tainted,
        "not_in_configuration" => Reason::NotInConfiguration,
        "destroy_requested" => Reason::DestroyRequested,
        other => return Err(format!("unknown reason `{other}`")),
    })
}

impl Document {
    fn from_saved(saved: &SavedPlan) -> Document {
        let plan = &saved.plan;
        Document {
            stackc_plan: SAVED_PLAN_VERSION,
            mac: "0".repeat(MAC_HEX_LEN),
            stackc_version: saved.stackc_version.clone(),
            stack: plan.stack.clone(),
            stack_path: saved.stack_path.clone(),
            target: plan.target.clone(),
            lineage: plan.lineage.clone(),
            serial: plan.serial,
            source_hash: saved.source_hash.clone(),
            variables: saved.variables.iter().map(|(k, v)| (k.clone(), Encoded::encode(v))).collect(),
            options: DocumentOptions {
                refresh: plan.options.refresh,
                destroy: plan.options.destroy,
                only: plan.options.only.clone(),
                exclude: plan.options.exclude.clone(),
                hold: plan.options.hold.clone(),
            },
            changes: plan
                .changes
                .iter()
                .map(|c| DocumentChange {
                    address: c.address.0.clone(),
                    type_name: c.type_name.clone(),
                    target: c.target.clone(),
                    action: c.action.as_str().to_string(),
                    reason: c.reason.as_ref().map(reason_to),
                    prior: c.prior.as_ref().map(|p| p.to_document(&c.address)),
                    config: Encoded::encode(&c.config),
                    planned: Encoded::encode(&c.planned),
                    dependencies: c.dependencies.iter().map(|d| d.0.clone()).collect(),
                    provenance: c.provenance.iter().map(|s| (s.file.0, s.start, s.end)).collect(),
                    sensitive_attributes: c.sensitive_attributes.clone(),
                })
                .collect(),
            drift: plan
                .drift
                .iter()
                .map(|d| DocumentDrift {
                    address: d.address.0.clone(),
                    type_name: d.type_name.clone(),
                    recorded: Encoded::encode(&d.recorded),
                    actual: d.actual.as_ref().map(Encoded::encode),
                    sensitive_attributes: d.sensitive_attributes.clone(),
                })
                .collect(),
            outputs: plan
                .outputs
                .iter()
                .map(|o| DocumentOutput {
                    name: o.name.clone(),
                    before: o.before.as_ref().map(Encoded::encode),
                    after: o.after.as_ref().map(Encoded::encode),
                    sensitive: o.sensitive,
                })
                .collect(),
            refreshed: plan.refreshed.iter().map(|(a, r)| r.to_document(a)).collect(),
            forgotten: plan.forgotten.iter().map(|a| a.0.clone()).collect(),
            rollouts: plan.rollouts.iter().map(DocumentRollout::from).collect(),
        }
    }

    fn into_saved(self) -> Result<SavedPlan, String> {
        let prior = |document: Option<DocumentResource>| -> Option<ResourceState> {
            document.map(|d| ResourceState::from_document(d).1)
        };
        let mut changes = Vec::with_capacity(self.changes.len());
        for c in self.changes {
            let at = |e: String| format!("change of `{}`: {e}", c.address);
            changes.push(ResourceChange {
                action: action_from(&c.action).map_err(at)?,
                reason: c.reason.map(reason_from).transpose().map_err(at)?,
                prior: prior(c.prior),
                config: c.config.decode().map_err(at)?,
                planned: c.planned.decode().map_err(at)?,
                dependencies: c.dependencies.into_iter().map(ResourceAddress).collect(),
                provenance: c
                    .provenance
                    .into_iter()
                    .map(|(file, start, end)| Span { file: FileId(file), start, end })
                    .collect(),
                sensitive_attributes: c.sensitive_attributes,
                address: ResourceAddress(c.address),
                type_name: c.type_name,
                target: c.target,
            });
        }
        let mut drift = Vec::with_capacity(self.drift.len());
        for d in self.drift {
            drift.push(Drift {
                recorded: d.recorded.decode()?,
                actual: d.actual.map(|a| a.decode()).transpose()?,
                address: ResourceAddress(d.address),
                type_name: d.type_name,
                sensitive_attributes: d.sensitive_attributes,
            });
        }
        let mut outputs = Vec::with_capacity(self.outputs.len());
        for o in self.outputs {
            outputs.push(OutputChange {
                before: o.before.map(|v| v.decode()).transpose()?,
                after: o.after.map(|v| v.decode()).transpose()?,
                name: o.name,
                sensitive: o.sensitive,
            });
        }
        let mut variables = stackc_model::Fields::default();
        for (name, value) in self.variables {
            variables.insert(name, value.decode()?);
        }
        let plan = Plan {
            stack: self.stack,
            target: self.target,
            lineage: self.lineage,
            serial: self.serial,
            changes,
            drift,
            outputs,
            refreshed: self.refreshed.into_iter().map(ResourceState::from_document).collect(),
            forgotten: self.forgotten.into_iter().map(ResourceAddress).collect(),
            // A saved plan is made by `plan`, never with a drift policy.
            held: Vec::new(),
            rollouts: self
                .rollouts
                .into_iter()
                .map(DocumentRollout::into_rollout)
                .collect::<Result<_, _>>()?,
            options: PlanOptions {
                refresh: self.options.refresh,
                destroy: self.options.destroy,
                only: self.options.only,
                exclude: self.options.exclude,
                report_drift: Vec::new(),
                hold: self.options.hold,
            },
        };
        Ok(SavedPlan {
            plan,
            source_hash: self.source_hash,
            stack_path: self.stack_path,
            variables,
            stackc_version: self.stackc_version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlanOptions;

    fn object(pairs: &[(&str, Value)]) -> Value {
        Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<stackc_model::Fields>())
    }

    fn sample() -> SavedPlan {
        let planned = object(&[
            ("id", Value::Unknown),
            ("result", Value::Unknown.into_sensitive()),
            ("nested", object(&[("list", Value::List(vec![Value::Number(1.0), Value::Unknown]))])),
            ("secret", object(&[("a", Value::string("x").into_sensitive())]).into_sensitive()),
        ]);
        let mut plan = Plan {
            stack: "shop".into(),
            target: Some("aws".into()),
            lineage: "l-1".into(),
            serial: 4,
            changes: Vec::new(),
            drift: Vec::new(),
            outputs: vec![OutputChange {
                name: "url".into(),
                before: None,
                after: Some(Value::Unknown),
                sensitive: false,
            }],
            refreshed: Vec::new(),
            forgotten: vec![ResourceAddress("stackc_data.gone".into())],
            held: Vec::new(),
            rollouts: Vec::new(),
            options: PlanOptions { only: vec!["service.api".into()], ..PlanOptions::new() },
        };
        plan.changes.push(ResourceChange {
            address: ResourceAddress("random_password.db".into()),
            type_name: "random_password".into(),
            target: None,
            action: Action::Replace,
            reason: Some(Reason::ForcedBy(vec!["length".into()])),
            prior: Some(ResourceState {
                type_name: "random_password".into(),
                target: None,
                id: "p1".into(),
                attributes: object(&[("result", Value::string("old").into_sensitive())]),
                dependencies: vec![],
                tainted: false,
            }),
            config: object(&[("length", Value::Number(32.0))]),
            planned,
            dependencies: vec![ResourceAddress("stackc_data.seed".into())],
            provenance: vec![Span { file: FileId(0), start: 10, end: 40 }],
            sensitive_attributes: vec!["result".into()],
        });
        SavedPlan {
            plan,
            source_hash: "abc".into(),
            stack_path: "examples/shop".into(),
            variables: [
                ("replicas".to_string(), Value::Number(4.0)),
                ("token".to_string(), Value::string("t").into_sensitive()),
            ]
            .into_iter()
            .collect(),
            stackc_version: "0.1.0".into(),
        }
    }

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip_keeps_unknown_and_sensitive_marks() {
        let saved = sample();
        let bytes = saved.to_json(KEY).unwrap();
        let back = SavedPlan::from_json(&bytes, KEY).unwrap();
        assert_eq!(back, saved);
    }

    /// A rollout's steps, its hold and its provenance survive the file:
    /// `apply FILE` applies the first step and goes on with the others.
    #[test]
    fn rollouts_and_holds_round_trip() {
        use crate::rollout::{Pause, PlannedRollout, Step, Strategy};
        let mut saved = sample();
        saved.plan.options.hold = vec!["service.api/docker_container.replica".into()];
        let step = |number: usize, weight: u32, canary: u64, pause: Pause| Step {
            number,
            weight,
            canary,
            batch: Vec::new(),
            gate_ms: 1000,
            timeout_ms: 60_000,
            pause,
        };
        saved.plan.rollouts = vec![PlannedRollout {
            instance: "service.api".into(),
            strategy: Strategy::Canary,
            reason: "`image` changed".into(),
            plain: false,
            steps: vec![step(1, 50, 1, Pause::UntilPromoted), step(2, 100, 2, Pause::For(500))],
            from_step: 1,
            replicas: 2,
            version: "abc".into(),
            provenance: Some(Span { file: FileId(0), start: 10, end: 40 }),
            status: Some("paused".into()),
        }];
        let back = SavedPlan::from_json(&saved.to_json(KEY).unwrap(), KEY).unwrap();
        assert_eq!(back, saved);
    }

    /// Every edit of the file is refused, whatever it changes, and so is
    /// the right file under another stack's key.
    #[test]
    fn a_changed_plan_is_refused() {
        let text = String::from_utf8(sample().to_json(KEY).unwrap()).unwrap();
        let edits = [
            text.replace("\"replace\"", "\"delete\""),
            text.replace("32.0", "8.0").replace(": 32", ": 8"),
            text.replace("examples/shop", "/elsewhere"),
            text.replace("\"lineage\": \"l-1\"", "\"lineage\": \"l-2\""),
            text.replace("\n}", ",\n  \"forgotten\": []\n}"),
            format!("{text} "),
        ];
        for edited in edits {
            assert_ne!(edited, text);
            let error = SavedPlan::from_json(edited.as_bytes(), KEY).unwrap_err();
            assert!(
                error.contains("does not match its authentication code") || error.contains("valid"),
                "{error}"
            );
        }
        // A forged MAC with the wrong key.
        let forged = sample().to_json(b"another key").unwrap();
        assert!(SavedPlan::from_json(&forged, KEY).unwrap_err().contains("authentication code"));
        // Version 1 (unauthenticated) plans are refused.
        let old = text.replacen("\"stackc_plan\": 2", "\"stackc_plan\": 1", 1);
        assert!(SavedPlan::from_json(old.as_bytes(), KEY).unwrap_err().contains("older stackc"));
    }

    #[test]
    fn staleness_is_detected() {
        let saved = sample();
        assert_eq!(saved.staleness("l-1", 4, 0, "abc", Some("aws")), None);
        assert!(matches!(
            saved.staleness("l-2", 4, 0, "abc", Some("aws")),
            Some(Staleness::OtherLineage { .. })
        ));
        assert!(matches!(
            saved.staleness("l-1", 5, 0, "abc", Some("aws")),
            Some(Staleness::OtherSerial { planned: 4, found: 5 })
        ));
        assert!(matches!(
            saved.staleness("l-1", 4, 3, "abc", Some("aws")),
            Some(Staleness::Recovered { entries: 3 })
        ));
        assert_eq!(saved.staleness("l-1", 4, 0, "abd", Some("aws")), Some(Staleness::SourcesChanged));
        assert!(matches!(saved.staleness("l-1", 4, 0, "abc", None), Some(Staleness::OtherTarget { .. })));
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        assert!(SavedPlan::from_json(b"{", KEY).unwrap_err().contains("truncated"));
        assert!(SavedPlan::from_json(b"{}", KEY).unwrap_err().contains("not a saved plan"));
        assert!(SavedPlan::from_json(br#"{"stackc_plan": 99}"#, KEY).unwrap_err().contains("newer stackc"));
        // An authenticated plan with a value this stackc does not know.
        let mut saved = sample();
        saved.plan.changes[0].action = Action::Create;
        let text =
            String::from_utf8(saved.to_json(KEY).unwrap()).unwrap().replace("\"create\"", "\"explode\"");
        let code = mac_of(KEY, text.as_bytes()).unwrap();
        let text =
            text.replacen(&text[MAC_PREFIX.len()..MAC_PREFIX.len() + MAC_HEX_LEN].to_string(), &code, 1);
        assert!(SavedPlan::from_json(text.as_bytes(), KEY).unwrap_err().contains("unknown action `explode`"));
    }
}
