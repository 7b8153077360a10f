//! The providers a command talks to, for the stack's selected target:
//! always the built-in provider; for `aws`, the AWS provider configured
//! from the `target "aws"` block (region, endpoint, profile) and the
//! standard credential chain. The `kubernetes` and `local` targets have no
//! API client in this build: their resources can be built (`stackc build`)
//! but planning them says so plainly.

use stackc_compiler::Value;
use stackc_planner::providers::ProviderSet;
use stackc_provider_aws::{AwsConfig, AwsProvider};
use stackc_provider_builtin::BuiltinProvider;
use std::sync::Arc;

/// The providers for `target` (a stack named `stack`, whose target block
/// has `attributes`). `Err` is a full sentence.
pub async fn providers(stack: &str, target: Option<&str>, attributes: &Value) -> Result<ProviderSet, String> {
    let mut set = ProviderSet::new().with_builtin(Arc::new(BuiltinProvider::new()));
    match target {
        None => {}
        Some(stackc_provider_aws::TARGET) => {
            let config = AwsConfig::new(stack).with_target_attributes(attributes);
            let provider = AwsProvider::new(config).await.map_err(|e| {
                let code = e.code.map(|c| format!(" ({c})")).unwrap_or_default();
                format!("the AWS provider cannot be configured{code}: {}", e.message)
            })?;
            set = set.with_target(stackc_provider_aws::TARGET, Arc::new(provider));
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
            set = set.with_unavailable(
                stackc_provider_local::TARGET,
                stackc_provider_local::schemas(),
                "this build of stackc has no Docker Engine client yet, so it cannot plan or apply the local \
                 target; `stackc build --target local --format json` shows what it would create",
            );
        }
        Some(other) => return Err(format!("stackc has no provider for target `{other}`")),
    }
    Ok(set)
}
