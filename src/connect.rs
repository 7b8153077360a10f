//! The providers a command talks to, for the stack's selected target:
//! always the built-in provider; for `aws`, the AWS provider configured
//! from the `target "aws"` block (region, endpoint, profile) and the
//! standard credential chain; for `local`, the Docker Engine provider
//! (`target "local" { host = ... }`, else `DOCKER_HOST`, else the default
//! socket). The `kubernetes` target has no API client in this build: its
//! resources can be built (`stackc build`) but planning them says so
//! plainly.

use stackc_compiler::Value;
use stackc_planner::providers::ProviderSet;
use stackc_provider_aws::{AwsConfig, AwsProvider};
use stackc_provider_builtin::BuiltinProvider;
use stackc_provider_local::{LocalConfig, LocalProvider};
use std::path::Path;
use std::sync::Arc;

/// The providers a command talks to, and the AWS provider among them (for
/// its API call counts).
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
    match target {
        None => {}
        Some(stackc_provider_aws::TARGET) => {
            let config = AwsConfig::new(stack).with_target_attributes(attributes);
            let provider = AwsProvider::new(config).await.map_err(|e| {
                let code = e.code.map(|c| format!(" ({c})")).unwrap_or_default();
                format!("the AWS provider cannot be configured{code}: {}", e.message)
            })?;
            let provider = Arc::new(provider);
            aws = Some(provider.clone());
            set = set.with_target(stackc_provider_aws::TARGET, provider);
        }
        Some(stackc_provider_kubernetes::TARGET) => {
            set = set.with_unavailable(
                stackc_provider_kubernetes::TARGET,
                stackc_provider_kubernetes::schemas(),
                "this build of stackc has no Kubernetes API client yet, so it cannot plan or apply the \
                 kubernetes target; write the manifests with `stackc build --target kubernetes -o DIR` and \
                 apply them with `kubectl apply -f DIR`",
            );
        }
        Some(stackc_provider_local::TARGET) => {
            let config = LocalConfig::new(stack, stack_dir).with_target_attributes(attributes);
            let provider = Arc::new(LocalProvider::new(config));
            local = Some(provider.clone());
            set = set.with_target(stackc_provider_local::TARGET, provider);
        }
        Some(other) => return Err(format!("stackc has no provider for target `{other}`")),
    }
    Ok(Connected { set, aws, local })
}

/// With `STACKC_AWS_STATS` set (to anything but `0` or empty), the AWS API
/// requests a command made, by `service:Action` (every attempt counts),
/// one `aws-stats:` line each on stderr, then the total.
pub fn report_aws_stats(aws: Option<&AwsProvider>, err: &mut dyn std::io::Write) {
    report_calls("STACKC_AWS_STATS", "aws-stats", aws.map(|aws| aws.api_calls_by_action()), err);
}

/// With `STACKC_LOCAL_STATS` set, the same for the Docker Engine API
/// requests, by operation (`local-stats:` lines).
pub fn report_local_stats(local: Option<&LocalProvider>, err: &mut dyn std::io::Write) {
    report_calls("STACKC_LOCAL_STATS", "local-stats", local.map(|local| local.api_calls()), err);
}

fn report_calls(
    variable: &str,
    prefix: &str,
    calls: Option<std::collections::BTreeMap<String, u64>>,
    err: &mut dyn std::io::Write,
) {
    let wanted = std::env::var(variable).is_ok_and(|v| !v.is_empty() && v != "0");
    let Some(calls) = calls.filter(|_| wanted) else { return };
    for (operation, count) in &calls {
        let _ = writeln!(err, "{prefix}: {operation} {count}");
    }
    let _ = writeln!(err, "{prefix}: total {}", calls.values().sum::<u64>());
}
