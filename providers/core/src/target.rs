//! A target as one value: what the driver and the binary need to know
//! about it, defined in the target's own crate and registered once
//! (`stackc_driver::targets()`), so that adding a target is one crate and
//! one registration.

use indexmap::IndexMap;
use stackc_compiler::schema::{ResourceSchema, TargetSetting};
use stackc_compiler::Value;

/// One target: `kubernetes`, `aws`, `local`.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The name `target "<name>"` blocks, `on "<name>"` blocks and
    /// `--target` use.
    pub name: &'static str,
    /// The resource schemas of its provider.
    pub schemas: fn() -> Vec<ResourceSchema>,
    /// The settings its block (or the environment) must give: a missing one
    /// is one E0508 at the target block (see [`TargetSetting::when_read`]
    /// for those needed only when a resource reads them).
    pub required_settings: fn() -> Vec<TargetSetting>,
    /// What the environment gives its block when the block leaves a
    /// setting out (the aws `region` from AWS_REGION), read when called.
    pub environment_defaults: fn() -> IndexMap<String, Value>,
}

/// No environment defaults.
pub fn no_defaults() -> IndexMap<String, Value> {
    IndexMap::new()
}

/// No required settings.
pub fn no_settings() -> Vec<TargetSetting> {
    Vec::new()
}

/// The first of `variables` set to something other than blanks, trimmed.
pub fn first_set(variables: &[&str]) -> Option<String> {
    variables
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .map(|v| v.trim().to_string())
}
