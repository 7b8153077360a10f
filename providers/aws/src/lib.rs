//! The aws target: resource schemas and the provider that manages them
//! through the AWS APIs (SigV4-signed HTTPS, no SDK crates).
//!
//! Attribute names follow the AWS APIs' and Terraform's AWS provider's, so
//! operators recognise them. Every object the provider creates is tagged
//! with `stackc:stack`, `stackc:target` and `stackc:address` where the API
//! takes tags, so ownership is visible and orphans can be found.

mod attrs;
mod http_client;
mod provider;
mod resources;
mod schemas;
mod transport;
mod xml;

pub use provider::{AwsConfig, AwsProvider, OwnedObject, S3Condition, S3Error};
pub use resources::WaitPolicy;
pub use schemas::{required_target_settings, schemas};
pub use transport::RetryPolicy;

/// Ownership tag keys put on every object created.
pub mod tags {
    pub use crate::attrs::{TAG_ADDRESS, TAG_STACK, TAG_TARGET};
}

/// The target name, as written in `target "aws" {}` and `on "aws" {}`.
pub const TARGET: &str = "aws";

/// The aws target: `region` required (from the block or AWS_REGION), `ami`
/// required when a resource reads `target.ami`; its stats are the API
/// requests by `service:Action`, every attempt counted (STACKC_AWS_STATS).
pub const DESCRIPTOR: stackc_providers::Target = stackc_providers::Target {
    name: TARGET,
    schemas,
    required_settings: required_target_settings,
    environment_defaults,
    connect: |request| {
        Box::pin(async move {
            let config = AwsConfig::new(request.stack).with_target_attributes(request.attributes);
            let provider = AwsProvider::new(config).await.map_err(|e| {
                let code = e.code.map(|c| format!(" ({c})")).unwrap_or_default();
                format!("the AWS provider cannot be configured{code}: {}", e.message)
            })?;
            Ok(stackc_providers::target::Connected::Provider(stackc_providers::target::Connection::new(
                std::sync::Arc::new(provider),
            )))
        })
    },
    stats: Some(stackc_providers::target::Stats {
        variable: "STACKC_AWS_STATS",
        prefix: "aws-stats",
        calls: |provider| provider.downcast_ref::<AwsProvider>().map(AwsProvider::api_calls_by_action),
    }),
};

/// What the environment gives the `target "aws"` block: `region` from
/// `AWS_REGION` (or `AWS_DEFAULT_REGION`), the same variables the provider
/// reads, so the stdlib's zone names match the region requests go to.
pub fn environment_defaults() -> stackc_model::Fields {
    let mut defaults = stackc_model::Fields::default();
    if let Some(region) = stackc_providers::target::first_set(&["AWS_REGION", "AWS_DEFAULT_REGION"]) {
        defaults.insert("region".to_string(), stackc_model::Value::string(region));
    }
    defaults
}
