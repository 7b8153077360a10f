//! The health of an ECS service, for a rollout's gate (`Provider::health`):
//! what ECS says of its tasks (DescribeServices: running and desired
//! counts, deployments, latest events) and, when it sits behind a load
//! balancer, what the target group says of each registered task
//! (DescribeTargetHealth). Read only.
//!
//! The mapping ([`service_health`]) is a pure function of the two answers,
//! so its rules are unit-tested without an endpoint:
//! - gone, inactive or scaled to 0: Missing;
//! - the primary deployment FAILED, or tasks failed while fewer than the
//!   desired count run: Unhealthy;
//! - fewer running than desired, or an earlier deployment still running
//!   tasks: Starting;
//! - a registered target unhealthy (or unusable: stopped, an IP it cannot
//!   reach): Unhealthy; one still in its first checks: Starting; fewer
//!   healthy targets than desired tasks: Starting;
//! - else Healthy.
//!
//! A service whose target groups have no target registered at all is
//! judged on its counts alone: on AWS a task is registered before it
//! counts as running, so this only happens on endpoints that do not
//! register tasks (moto).

use crate::attrs::{is_not_found, Attrs};
use crate::transport::{AwsClient, Idempotency, ECS, ELBV2};
use crate::xml::Members;
use serde::Deserialize;
use serde_json::json;
use stackc_model::Value;
use stackc_providers::{HealthStatus, ObjectHealth, ProviderResult};

/// How many of the service's latest events the detail quotes.
const EVENTS_QUOTED: usize = 3;

/// What DescribeServices says of one service (the fields the gate reads).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    #[serde(default)]
    pub service_name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub desired_count: f64,
    #[serde(default)]
    pub running_count: f64,
    #[serde(default)]
    pub pending_count: f64,
    #[serde(default)]
    pub deployments: Vec<Deployment>,
    /// Latest first, as ECS lists them.
    #[serde(default)]
    pub events: Vec<ServiceEvent>,
    #[serde(default)]
    pub load_balancers: Vec<ServiceLoadBalancer>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    #[serde(default)]
    pub status: String,
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
    #[serde(default)]
    pub failed_tasks: f64,
    #[serde(default)]
    pub running_count: f64,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct ServiceEvent {
    #[serde(default)]
    pub message: String,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLoadBalancer {
    #[serde(default)]
    pub target_group_arn: String,
}

#[derive(Debug, Default, Deserialize)]
struct DescribeServicesResponse {
    #[serde(default)]
    services: Vec<ServiceStatus>,
}

/// What DescribeTargetHealth says of one registered target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetState {
    /// `10.0.1.5:8080`, `i-0abc:80`.
    pub target: String,
    /// initial, healthy, unhealthy, unhealthy.draining, unused, draining,
    /// unavailable.
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

/// The targets of one of the service's target groups; `None`: the group
/// no longer exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetGroupTargets {
    pub arn: String,
    pub targets: Option<Vec<TargetState>>,
}

#[derive(Debug, Default, Deserialize)]
struct TargetXml {
    #[serde(rename = "Id", default)]
    id: String,
    #[serde(rename = "Port")]
    port: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct TargetHealthXml {
    #[serde(rename = "State", default)]
    state: String,
    #[serde(rename = "Reason")]
    reason: Option<String>,
    #[serde(rename = "Description")]
    description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct TargetHealthDescriptionXml {
    #[serde(rename = "Target", default)]
    target: TargetXml,
    #[serde(rename = "TargetHealth", default)]
    health: TargetHealthXml,
}

#[derive(Debug, Default, Deserialize)]
struct DescribeTargetHealthResult {
    #[serde(rename = "TargetHealthDescriptions", default)]
    descriptions: Members<TargetHealthDescriptionXml>,
}

/// Reads the service (by its ARN `id`; `cluster` from the state) and the
/// targets of each of its target groups, then judges them.
pub async fn ecs_service_health(
    client: &AwsClient,
    id: &str,
    attributes: &Value,
) -> ProviderResult<ObjectHealth> {
    let cluster = super::ecs::cluster_of(id, attributes);
    let request = json!({"cluster": cluster, "services": [id]});
    let service = match client
        .json::<DescribeServicesResponse>(&ECS, "DescribeServices", &request, Idempotency::Safe)
        .await
    {
        Ok(response) => response.services.into_iter().next(),
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(e),
    };
    let mut groups = Vec::new();
    if let Some(service) = service.as_ref().filter(|s| s.status == "ACTIVE") {
        // The groups ECS reports; else those the state records.
        let mut arns: Vec<String> =
            service.load_balancers.iter().map(|lb| lb.target_group_arn.clone()).collect();
        if arns.is_empty() {
            arns = Attrs(attributes)
                .list("load_balancer")
                .iter()
                .filter_map(|lb| Attrs(lb).str("target_group_arn"))
                .collect();
        }
        arns.retain(|arn| !arn.is_empty());
        arns.dedup();
        for arn in arns {
            let targets = target_states(client, &arn).await?;
            groups.push(TargetGroupTargets { arn, targets });
        }
    }
    Ok(service_health(id, service.as_ref(), &groups))
}

/// A task definition has no tasks of its own: registered (ACTIVE) is
/// Healthy, deregistered or unknown is Missing.
pub async fn task_definition_health(client: &AwsClient, id: &str) -> ProviderResult<ObjectHealth> {
    #[derive(Debug, Default, Deserialize)]
    struct Definition {
        #[serde(default)]
        status: String,
    }
    #[derive(Debug, Default, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Described {
        #[serde(default)]
        task_definition: Definition,
    }
    let request = json!({"taskDefinition": id});
    let status =
        match client.json::<Described>(&ECS, "DescribeTaskDefinition", &request, Idempotency::Safe).await {
            Ok(described) => described.task_definition.status,
            Err(e) if is_not_found(&e) || e.code.as_deref() == Some("ClientException") => String::new(),
            Err(e) => return Err(e),
        };
    let (status, detail) = match status.as_str() {
        "ACTIVE" => (HealthStatus::Healthy, format!("{id} is registered")),
        "" => (HealthStatus::Missing, format!("ECS does not know {id}")),
        other => (HealthStatus::Missing, format!("{id} is {other}")),
    };
    Ok(ObjectHealth { status, detail: Some(detail) })
}

/// DescribeTargetHealth of every registered target; `None` when the group
/// is gone.
async fn target_states(client: &AwsClient, arn: &str) -> ProviderResult<Option<Vec<TargetState>>> {
    let params = crate::transport::Params::new().set("TargetGroupArn", arn);
    match client
        .query_result::<DescribeTargetHealthResult>(
            &ELBV2,
            "DescribeTargetHealth",
            &params,
            Idempotency::Safe,
        )
        .await
    {
        Ok(result) => Ok(Some(
            result
                .descriptions
                .members
                .into_iter()
                .map(|d| TargetState {
                    target: match d.target.port.as_deref() {
                        Some(port) if !port.is_empty() => format!("{}:{port}", d.target.id),
                        _ => d.target.id,
                    },
                    state: d.health.state,
                    reason: d.health.reason.filter(|r| !r.is_empty()),
                    description: d.health.description.filter(|r| !r.is_empty()),
                })
                .collect(),
        )),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Judges a service from what DescribeServices (`None`: not found) and
/// DescribeTargetHealth of its groups answered (module comment: the rules).
pub fn service_health(
    id: &str,
    service: Option<&ServiceStatus>,
    groups: &[TargetGroupTargets],
) -> ObjectHealth {
    let health = |status, detail: String| ObjectHealth { status, detail: Some(detail) };
    let Some(service) = service else {
        return health(HealthStatus::Missing, format!("ECS does not know the service {id}"));
    };
    let name = if service.service_name.is_empty() { id } else { service.service_name.as_str() };
    if service.status != "ACTIVE" {
        return health(HealthStatus::Missing, format!("service {name} is {}", service.status));
    }
    let events = latest_events(service);
    let (running, desired) = (service.running_count, service.desired_count);
    if desired <= 0.0 {
        return health(
            HealthStatus::Missing,
            format!("service {name} has a desired count of 0: no task runs"),
        );
    }
    let counts = format!("{running} of {desired} tasks running, {} pending", service.pending_count.max(0.0));
    let primary = service.deployments.iter().find(|d| d.status == "PRIMARY");
    if let Some(deployment) = primary.filter(|d| d.rollout_state.as_deref() == Some("FAILED")) {
        let reason = deployment.rollout_state_reason.as_deref().unwrap_or("no reason given");
        return health(HealthStatus::Unhealthy, format!("deployment failed: {reason}; {counts}{events}"));
    }
    if running < desired {
        let failed = primary.map_or(0.0, |d| d.failed_tasks);
        if failed > 0.0 {
            return health(
                HealthStatus::Unhealthy,
                format!("{failed} tasks failed to start; {counts}{events}"),
            );
        }
        return health(HealthStatus::Starting, format!("{counts}{events}"));
    }
    // An earlier deployment still has tasks: the counts mix both versions.
    let older = service.deployments.iter().filter(|d| d.status != "PRIMARY" && d.running_count > 0.0).count();
    if older > 0 {
        return health(
            HealthStatus::Starting,
            format!("{older} earlier deployments still run tasks; {counts}{events}"),
        );
    }
    let mut healthy = 0usize;
    let mut registered = 0usize;
    let mut starting = Vec::new();
    let mut unhealthy = Vec::new();
    for group in groups {
        let Some(targets) = &group.targets else {
            return health(
                HealthStatus::Unhealthy,
                format!("the target group {} of service {name} no longer exists; {counts}", group.arn),
            );
        };
        for target in targets {
            match target_verdict(target) {
                Some(HealthStatus::Healthy) => healthy += 1,
                Some(HealthStatus::Starting) => starting.push(target),
                Some(_) => unhealthy.push(target),
                None => continue,
            }
            registered += 1;
        }
    }
    if !unhealthy.is_empty() {
        let list = unhealthy.iter().map(|t| describe_target(t)).collect::<Vec<_>>().join("; ");
        return health(HealthStatus::Unhealthy, format!("{list}; {counts}{events}"));
    }
    if !starting.is_empty() {
        let list = starting.iter().map(|t| describe_target(t)).collect::<Vec<_>>().join("; ");
        return health(HealthStatus::Starting, format!("{list}; {counts}"));
    }
    if registered > 0 && (healthy as f64) < desired {
        return health(
            HealthStatus::Starting,
            format!("{healthy} healthy targets for {desired} desired tasks; {counts}"),
        );
    }
    let targets = if groups.is_empty() {
        String::new()
    } else if registered == 0 {
        ", no target registered in its target group".to_string()
    } else {
        format!(", {healthy} healthy targets")
    };
    health(HealthStatus::Healthy, format!("{counts}{targets}"))
}

/// One target's part in the verdict: `None` for one on its way out
/// (draining) or not in use by a listener (weight 0).
fn target_verdict(target: &TargetState) -> Option<HealthStatus> {
    match target.state.as_str() {
        "healthy" => Some(HealthStatus::Healthy),
        "initial" | "unavailable" => Some(HealthStatus::Starting),
        "draining" => None,
        "unused" if matches!(target.reason.as_deref(), Some("Target.NotInUse" | "Target.NotRegistered")) => {
            None
        }
        // unhealthy, unhealthy.draining, and unused for a reason that is
        // the target's own (stopped, an IP the balancer cannot reach).
        _ => Some(HealthStatus::Unhealthy),
    }
}

fn describe_target(target: &TargetState) -> String {
    let mut text = format!("target {} is {}", target.target, target.state);
    match (&target.reason, &target.description) {
        (Some(reason), Some(description)) => text.push_str(&format!(" ({reason}: {description})")),
        (Some(reason), None) => text.push_str(&format!(" ({reason})")),
        (None, Some(description)) => text.push_str(&format!(" ({description})")),
        (None, None) => {}
    }
    text
}

/// `; latest events: a | b | c`, or nothing.
fn latest_events(service: &ServiceStatus) -> String {
    let messages: Vec<&str> = service
        .events
        .iter()
        .map(|e| e.message.as_str())
        .filter(|m| !m.is_empty())
        .take(EVENTS_QUOTED)
        .collect();
    if messages.is_empty() {
        String::new()
    } else {
        format!("; latest events: {}", messages.join(" | "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(running: f64, desired: f64) -> ServiceStatus {
        ServiceStatus {
            service_name: "api-canary".into(),
            status: "ACTIVE".into(),
            desired_count: desired,
            running_count: running,
            pending_count: desired - running,
            deployments: vec![Deployment {
                status: "PRIMARY".into(),
                rollout_state: Some("COMPLETED".into()),
                rollout_state_reason: None,
                failed_tasks: 0.0,
                running_count: running,
            }],
            events: vec![ServiceEvent { message: "(service api-canary) has reached a steady state.".into() }],
            load_balancers: vec![],
        }
    }

    fn target(state: &str, reason: Option<&str>, description: Option<&str>) -> TargetState {
        TargetState {
            target: "10.0.1.5:8080".into(),
            state: state.into(),
            reason: reason.map(str::to_string),
            description: description.map(str::to_string),
        }
    }

    fn group(targets: Vec<TargetState>) -> TargetGroupTargets {
        TargetGroupTargets { arn: "arn:tg/canary".into(), targets: Some(targets) }
    }

    fn status(service: Option<&ServiceStatus>, groups: &[TargetGroupTargets]) -> HealthStatus {
        service_health("arn:svc", service, groups).status
    }

    #[test]
    fn gone_inactive_or_scaled_to_zero_is_missing() {
        assert_eq!(status(None, &[]), HealthStatus::Missing);
        let mut inactive = service(1.0, 1.0);
        inactive.status = "INACTIVE".into();
        let judged = service_health("arn:svc", Some(&inactive), &[]);
        assert_eq!(judged.status, HealthStatus::Missing);
        assert_eq!(judged.detail.as_deref(), Some("service api-canary is INACTIVE"));
        assert_eq!(status(Some(&service(0.0, 0.0)), &[]), HealthStatus::Missing);
    }

    #[test]
    fn all_tasks_running_without_a_load_balancer_is_healthy() {
        let judged = service_health("arn:svc", Some(&service(2.0, 2.0)), &[]);
        assert_eq!(judged.status, HealthStatus::Healthy);
        assert_eq!(judged.detail.as_deref(), Some("2 of 2 tasks running, 0 pending"));
    }

    #[test]
    fn fewer_running_than_desired_is_starting_with_the_events() {
        let judged = service_health("arn:svc", Some(&service(1.0, 3.0)), &[]);
        assert_eq!(judged.status, HealthStatus::Starting);
        let detail = judged.detail.unwrap();
        assert!(detail.starts_with("1 of 3 tasks running, 2 pending"), "{detail}");
        assert!(
            detail.contains("latest events: (service api-canary) has reached a steady state."),
            "{detail}"
        );
    }

    #[test]
    fn failed_tasks_or_a_failed_deployment_is_unhealthy() {
        let mut failing = service(0.0, 1.0);
        failing.deployments[0].failed_tasks = 2.0;
        failing.events.insert(0, ServiceEvent { message: "task stopped: Essential container exited".into() });
        let judged = service_health("arn:svc", Some(&failing), &[]);
        assert_eq!(judged.status, HealthStatus::Unhealthy);
        let detail = judged.detail.unwrap();
        assert!(detail.starts_with("2 tasks failed to start"), "{detail}");
        assert!(detail.contains("task stopped: Essential container exited"), "{detail}");

        let mut failed = service(1.0, 1.0);
        failed.deployments[0].rollout_state = Some("FAILED".into());
        failed.deployments[0].rollout_state_reason = Some("circuit breaker triggered".into());
        let judged = service_health("arn:svc", Some(&failed), &[]);
        assert_eq!(judged.status, HealthStatus::Unhealthy);
        assert!(judged.detail.unwrap().starts_with("deployment failed: circuit breaker triggered"));
    }

    #[test]
    fn an_earlier_deployment_still_running_tasks_is_starting() {
        let mut rolling = service(2.0, 2.0);
        rolling.deployments.push(Deployment {
            status: "ACTIVE".into(),
            rollout_state: None,
            rollout_state_reason: None,
            failed_tasks: 0.0,
            running_count: 1.0,
        });
        let judged = service_health("arn:svc", Some(&rolling), &[]);
        assert_eq!(judged.status, HealthStatus::Starting);
        assert!(judged.detail.unwrap().starts_with("1 earlier deployments still run tasks"));
        // Its tasks gone: the new one stands alone.
        rolling.deployments[1].running_count = 0.0;
        assert_eq!(status(Some(&rolling), &[]), HealthStatus::Healthy);
    }

    #[test]
    fn an_unhealthy_or_stopped_target_is_unhealthy_with_its_reason() {
        let running = service(1.0, 1.0);
        let judged = service_health(
            "arn:svc",
            Some(&running),
            &[group(vec![target(
                "unhealthy",
                Some("Target.ResponseCodeMismatch"),
                Some("Health checks failed with these codes: [500]"),
            )])],
        );
        assert_eq!(judged.status, HealthStatus::Unhealthy);
        assert!(
            judged.detail.as_deref().unwrap().starts_with(
                "target 10.0.1.5:8080 is unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [500])"
            ),
            "{judged:?}"
        );
        let stopped = group(vec![target(
            "unused",
            Some("Target.InvalidState"),
            Some("Target is in the stopped state"),
        )]);
        assert_eq!(status(Some(&running), &[stopped]), HealthStatus::Unhealthy);
        // Not yet in use by a listener, or draining: no verdict of its own.
        let idle =
            group(vec![target("unused", Some("Target.NotInUse"), None), target("healthy", None, None)]);
        assert_eq!(status(Some(&running), &[idle]), HealthStatus::Healthy);
        let leaving = group(vec![target("draining", None, None), target("healthy", None, None)]);
        assert_eq!(status(Some(&running), &[leaving]), HealthStatus::Healthy);
    }

    #[test]
    fn targets_in_their_first_checks_or_too_few_healthy_are_starting() {
        let running = service(2.0, 2.0);
        let first = group(vec![
            target("initial", Some("Elb.InitialHealthChecking"), None),
            target("healthy", None, None),
        ]);
        assert_eq!(status(Some(&running), &[first]), HealthStatus::Starting);
        let one = group(vec![target("healthy", None, None)]);
        assert_eq!(status(Some(&running), &[one]), HealthStatus::Starting);
        let both = group(vec![target("healthy", None, None), target("healthy", None, None)]);
        let judged = service_health("arn:svc", Some(&running), &[both]);
        assert_eq!(judged.status, HealthStatus::Healthy);
        assert_eq!(judged.detail.as_deref(), Some("2 of 2 tasks running, 0 pending, 2 healthy targets"));
    }

    #[test]
    fn no_target_registered_is_judged_on_the_counts_and_a_gone_group_is_unhealthy() {
        let running = service(1.0, 1.0);
        let judged = service_health("arn:svc", Some(&running), &[group(vec![])]);
        assert_eq!(judged.status, HealthStatus::Healthy);
        assert!(judged.detail.unwrap().ends_with("no target registered in its target group"));
        let gone = TargetGroupTargets { arn: "arn:tg/gone".into(), targets: None };
        assert_eq!(status(Some(&running), &[gone]), HealthStatus::Unhealthy);
    }
}
