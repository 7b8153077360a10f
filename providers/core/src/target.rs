//! A target as one value: what the driver and the binary need to know
//! about it, defined in the target's own crate and registered once
//! (`stackc_driver::targets()`), so that adding a target is one crate and
//! one registration.

use crate::Provider;
use stackc_model::schema::{ResourceSchema, TargetSetting};
use stackc_model::Value;
use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

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
    pub environment_defaults: fn() -> stackc_model::Fields,
    /// Its provider for a command (see [`Connect`]). `Err` is a full
    /// sentence. Nothing here may touch the network: a provider contacts its
    /// API at its first call, so a plan that reads nothing works offline.
    pub connect: Connect,
    /// What it reports about the API calls a command made, if anything.
    pub stats: Option<Stats>,
}

/// What a target's provider is connected with.
#[derive(Clone, Copy, Debug)]
pub struct ConnectRequest<'a> {
    /// The stack's name (for ownership tags) and directory.
    pub stack: &'a str,
    pub stack_dir: &'a Path,
    /// The selected target block's attributes (an object; defaults from the
    /// environment included).
    pub attributes: &'a Value,
}

/// How a target connects its provider.
pub type Connect =
    for<'a> fn(ConnectRequest<'a>) -> Pin<Box<dyn Future<Output = Result<Connected, String>> + Send + 'a>>;

/// A target's provider, or why it has none in this build.
pub enum Connected {
    Provider(Connection),
    /// The target's resources can be built but not planned: the sentence
    /// planning them answers.
    Unavailable(&'static str),
}

/// A connected provider.
pub struct Connection {
    pub provider: Arc<dyn Provider>,
    /// The same provider as its own type, for the commands that use a
    /// target's own features (downcast it: `AwsProvider`, `LocalProvider`)
    /// and for [`Stats::calls`].
    pub concrete: Arc<dyn Any + Send + Sync>,
}

impl Connection {
    pub fn new<P: Provider + Any>(provider: Arc<P>) -> Connection {
        Connection { provider: provider.clone(), concrete: provider }
    }
}

/// A target's report of the API calls a command made: with `variable` set
/// (to anything but `0` or empty), one `<prefix>: <operation> <count>` line
/// each on stderr, then `<prefix>: total <count>`.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub variable: &'static str,
    pub prefix: &'static str,
    /// The calls by operation, from [`Connection::concrete`] (`None` when it
    /// is not this target's provider).
    pub calls: fn(&(dyn Any + Send + Sync)) -> Option<BTreeMap<String, u64>>,
}

/// A target with no provider in this build: connecting says `why`.
pub fn unavailable(why: &'static str) -> Pin<Box<dyn Future<Output = Result<Connected, String>> + Send>> {
    Box::pin(std::future::ready(Ok(Connected::Unavailable(why))))
}

/// No environment defaults.
pub fn no_defaults() -> stackc_model::Fields {
    stackc_model::Fields::default()
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
