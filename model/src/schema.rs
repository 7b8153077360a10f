//! Resource schemas: what a provider's resource type accepts and computes.
//!
//! The compiler type-checks resource bodies against them; the planner uses
//! them to decide update-in-place against replace and what to hide. They
//! are data defined by the provider crates and handed to the compiler through
//! [`SchemaSource`], so the compiler stays free of provider code.

use crate::types::Type;
use indexmap::IndexMap;

#[derive(Clone, Debug)]
pub struct ResourceSchema {
    /// `aws_instance`, `kubernetes_manifest`, `stackc_data`.
    pub type_name: String,
    /// Which target the type belongs to (`aws`, `kubernetes`, `local`), or
    /// `None` for target-independent types of the built-in provider.
    pub target: Option<String>,
    pub attributes: IndexMap<String, AttributeSchema>,
}

impl ResourceSchema {
    /// An empty schema; add attributes with [`ResourceSchema::attribute`].
    pub fn new(type_name: impl Into<String>, target: Option<&str>) -> ResourceSchema {
        ResourceSchema {
            type_name: type_name.into(),
            target: target.map(str::to_string),
            attributes: IndexMap::new(),
        }
    }

    /// Builder: adds (or replaces) one attribute.
    pub fn attribute(mut self, name: &str, attribute: AttributeSchema) -> ResourceSchema {
        self.attributes.insert(name.to_string(), attribute);
        self
    }

    /// Names a configuration may set (everything but computed-only attributes).
    pub fn settable(&self) -> impl Iterator<Item = &str> {
        self.attributes.iter().filter(|(_, a)| a.mode != AttributeMode::Computed).map(|(n, _)| n.as_str())
    }
}

#[derive(Clone, Debug)]
pub struct AttributeSchema {
    pub ty: Type,
    pub mode: AttributeMode,
    /// Changing it cannot be done in place: the resource is replaced.
    pub force_new: bool,
    /// Never shown in plans, logs or errors.
    pub sensitive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeMode {
    /// Must be set in configuration.
    Required,
    /// May be set; absent means null (or a provider default).
    Optional,
    /// May be set; when absent the provider computes it (known after apply).
    OptionalComputed,
    /// Set only by the provider.
    Computed,
}

impl AttributeSchema {
    pub fn new(ty: Type, mode: AttributeMode) -> AttributeSchema {
        AttributeSchema { ty, mode, force_new: false, sensitive: false }
    }

    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }

    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    pub fn is_computed(&self) -> bool {
        matches!(self.mode, AttributeMode::Computed | AttributeMode::OptionalComputed)
    }
}

/// Where the compiler finds resource schemas (implemented by the binary over
/// the provider crates; by a table in tests).
pub trait SchemaSource {
    fn schema(&self, type_name: &str) -> Option<&ResourceSchema>;
    /// Every known type name, for did-you-mean.
    fn type_names(&self) -> Vec<&str>;
    /// The settings `target` cannot do without (given in its block or by
    /// the environment), from its provider.
    fn required_target_settings(&self, _target: &str) -> &[TargetSetting] {
        &[]
    }
}

/// A setting a target's provider needs, and how to give it. Left out (in
/// the block and the environment), it is one E0508 at the target block
/// (or the command line when the stack has no block).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSetting {
    pub name: String,
    /// How to set it, as help text: "set `region` in the block, or AWS_REGION".
    pub help: String,
    /// Required only when a resource of the expansion reads it (an
    /// attribute written as `target.<name>`, or an expression using it):
    /// the aws `ami`, which only the stacks that make machines from the
    /// target's image need. Otherwise required by every expansion for the
    /// target (the aws `region`).
    pub when_read: bool,
}

impl TargetSetting {
    /// A setting every expansion for the target needs.
    pub fn new(name: impl Into<String>, help: impl Into<String>) -> Self {
        TargetSetting { name: name.into(), help: help.into(), when_read: false }
    }

    /// A setting needed only when a resource's attribute reads it.
    pub fn when_read(name: impl Into<String>, help: impl Into<String>) -> Self {
        TargetSetting { name: name.into(), help: help.into(), when_read: true }
    }
}

/// A fixed set of schemas.
#[derive(Clone, Debug, Default)]
pub struct SchemaSet {
    pub schemas: IndexMap<String, ResourceSchema>,
    /// Required settings by target.
    pub target_settings: IndexMap<String, Vec<TargetSetting>>,
}

impl SchemaSet {
    pub fn add(&mut self, schema: ResourceSchema) {
        self.schemas.insert(schema.type_name.clone(), schema);
    }

    /// Declares that `target` needs `setting`.
    pub fn require_target_setting(&mut self, target: &str, setting: TargetSetting) {
        self.target_settings.entry(target.to_string()).or_default().push(setting);
    }
}

impl SchemaSource for SchemaSet {
    fn schema(&self, type_name: &str) -> Option<&ResourceSchema> {
        self.schemas.get(type_name)
    }

    fn type_names(&self) -> Vec<&str> {
        self.schemas.keys().map(String::as_str).collect()
    }

    fn required_target_settings(&self, target: &str) -> &[TargetSetting] {
        self.target_settings.get(target).map_or(&[], Vec::as_slice)
    }
}
