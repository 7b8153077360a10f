//! The providers a command talks to, for the stack's selected target:
//! always the built-in provider, and the target's own, connected by its
//! descriptor in the registry (`stackc_driver::targets()`): for `aws`, the
//! AWS provider configured from the `target "aws"` block (region, endpoint,
//! profile) and the standard credential chain; for `local`, the Docker
//! Engine provider (`target "local" { host = ... }`, else `DOCKER_HOST`,
//! else the default socket). The `kubernetes` target has no API client in
//! this build: its resources can be built (`stackc build`) but planning
//! them says so plainly.

use stackc_compiler::Value;
use stackc_planner::providers::ProviderSet;
use stackc_provider_aws::AwsProvider;
use stackc_provider_builtin::BuiltinProvider;
use stackc_provider_local::LocalProvider;
use stackc_providers::target::{ConnectRequest, Connected as TargetConnected, Stats};
use std::any::Any;
use std::path::Path;
use std::sync::Arc;

/// The providers a command talks to, and the AWS and Docker Engine
/// providers among them (for their own features and API call counts).
pub struct Connected {
    pub set: ProviderSet,
    pub aws: Option<Arc<AwsProvider>>,
    pub local: Option<Arc<LocalProvider>>,
}

/// The providers for `target` (a stack named `stack` in `stack_dir`, whose
/// target block has `attributes`). `Err` is a full sentence.
///
/// Nothing here touches the network or resolves credentials: the AWS
/// provider asks for credentials at its first API call, and the local
/// provider contacts the Engine at its first, so a plan that reads nothing
/// (no state yet) works offline and with no Docker daemon.
pub async fn providers(
    stack: &str,
    stack_dir: &Path,
    target: Option<&str>,
    attributes: &Value,
) -> Result<Connected, String> {
    let mut set = ProviderSet::new().with_builtin(Arc::new(BuiltinProvider::new()));
    let mut aws = None;
    let mut local = None;
    if let Some(name) = target {
        let Some(descriptor) = stackc_driver::target(name) else {
            return Err(format!("stackc has no provider for target `{name}`"));
        };
        match (descriptor.connect)(ConnectRequest { stack, stack_dir, attributes }).await? {
            TargetConnected::Unavailable(why) => {
                set = set.with_unavailable(name, (descriptor.schemas)(), why);
            }
            TargetConnected::Provider(connection) => {
                aws = connection.concrete.clone().downcast::<AwsProvider>().ok();
                local = connection.concrete.clone().downcast::<LocalProvider>().ok();
                set = set.with_target(name, connection.provider);
            }
        }
    }
    Ok(Connected { set, aws, local })
}

/// The aws target's stats (its descriptor's: `STACKC_AWS_STATS`, the AWS
/// API requests a command made by `service:Action`, every attempt counted,
/// as `aws-stats:` lines on stderr, then the total).
pub fn report_aws_stats(aws: Option<&AwsProvider>, err: &mut dyn std::io::Write) {
    report_stats(stackc_provider_aws::DESCRIPTOR.stats, aws.map(|aws| aws as &(dyn Any + Send + Sync)), err);
}

/// The local target's stats (`STACKC_LOCAL_STATS`: the Docker Engine API
/// requests by operation, `local-stats:` lines).
pub fn report_local_stats(local: Option<&LocalProvider>, err: &mut dyn std::io::Write) {
    report_stats(
        stackc_provider_local::DESCRIPTOR.stats,
        local.map(|local| local as &(dyn Any + Send + Sync)),
        err,
    );
}

/// A target's stats report of its connected `provider`, when its variable
/// asks for it.
fn report_stats(
    stats: Option<Stats>,
    provider: Option<&(dyn Any + Send + Sync)>,
    err: &mut dyn std::io::Write,
) {
    let Some(stats) = stats else { return };
    let wanted = std::env::var(stats.variable).is_ok_and(|v| !v.is_empty() && v != "0");
    let Some(calls) = provider.filter(|_| wanted).and_then(stats.calls) else { return };
    for (operation, count) in &calls {
        let _ = writeln!(err, "{}: {operation} {count}", stats.prefix);
    }
    let _ = writeln!(err, "{}: total {}", stats.prefix, calls.values().sum::<u64>());
}
