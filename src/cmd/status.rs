//! `stackc status [PATH] --target T [--json]`: what runs now, per
//! instance, as `kubectl get` shows a namespace: replicas desired and
//! ready, health, restarts and the last start, the autoscaled count, and
//! what differs from the state (drift).
//!
//! Read-only and without the lock (as `plan --lock=false`): the state is
//! loaded, every object read once through its provider (the same batched
//! refresh a plan makes), and the local target's containers listed with
//! their health and restart counts. Nothing is written.
//!
//! A *replica* is a workload object: a container (`docker_container`) or a
//! virtual machine (`aws_instance`); an instance without one (a network, a
//! bucket) shows `-`. *Desired* is what the state records (what the last
//! apply or reconcile pass made), *ready* what runs now (a container
//! running and, with a health check, healthy).

use crate::pipeline::{self, StackArgs};
use crate::render::Format;
use crate::session::runtime;
use serde_json::json;
use stackc_compiler::graph::ResourceAddress;
use stackc_compiler::Value;
use stackc_planner::backend::LocalBackend;
use stackc_planner::plan::{attribute_changes, PathStep};
use stackc_planner::planning;
use stackc_planner::state::State;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Print the status as one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Resource types whose objects are replicas.
const WORKLOADS: &[&str] = &["docker_container", "aws_instance"];

/// One instance's line.
#[derive(Debug, Default)]
struct InstanceStatus {
    instance: String,
    resources: usize,
    desired: usize,
    ready: usize,
    /// Containers by health (`healthy`, `unhealthy`, `starting`).
    health: BTreeMap<String, usize>,
    restarts: i64,
    last_start: Option<String>,
    /// The autoscaled replica count recorded in the state, when the
    /// instance autoscales.
    autoscaled: Option<u64>,
    gone: Vec<String>,
    stopped: Vec<String>,
    changed: Vec<(String, Vec<String>)>,
}

impl InstanceStatus {
    fn health_text(&self) -> String {
        if self.health.is_empty() {
            return "-".into();
        }
        if self.health.len() == 1 {
            return self.health.keys().next().cloned().unwrap_or_default();
        }
        self.health.iter().map(|(h, n)| format!("{n} {h}")).collect::<Vec<_>>().join(", ")
    }

    fn drift_text(&self) -> String {
        let mut parts = Vec::new();
        if !self.gone.is_empty() {
            parts.push(format!("{} gone", self.gone.len()));
        }
        if !self.stopped.is_empty() {
            parts.push(format!("{} stopped", self.stopped.len()));
        }
        if !self.changed.is_empty() {
            parts.push(format!("{} changed", self.changed.len()));
        }
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }

    fn json(&self) -> serde_json::Value {
        let workload = self.desired > 0;
        json!({
            "instance": self.instance,
            "resources": self.resources,
            "replicas": if workload { json!({"desired": self.desired, "ready": self.ready}) } else { json!(null) },
            "health": self.health,
            "restarts": self.restarts,
            "last_start": self.last_start,
            "autoscaled": self.autoscaled,
            "drift": {
                "gone": self.gone,
                "stopped": self.stopped,
                "changed": self.changed.iter().map(|(a, attrs)| json!({"address": a, "attributes": attrs})).collect::<Vec<_>>(),
            },
        })
    }
}

/// The instance a resource belongs to: `service.api` for
/// `service.api/docker_container.replica[0]`; a top-level resource is its
/// own (`random_password.db`, its index dropped).
pub fn instance_of(address: &ResourceAddress) -> String {
    let first = address.0.split('/').next().unwrap_or(&address.0);
    match first.find('[') {
        Some(at) if !address.0.contains('/') => first[..at].to_string(),
        _ => first.to_string(),
    }
}

/// The autoscaled replica count of `instance` recorded in the state by the
/// autoscaler (`stackc reconcile`); `None` when it does not autoscale or was
/// never measured.
fn autoscaled_count(state: &State, instance: &str) -> Option<u64> {
    state.instances.get(instance)?.autoscale.as_ref().map(|record| record.replicas)
}

pub fn run(args: Args) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr();
    let runtime = match runtime(&mut err) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let fail = |err: &mut dyn Write, message: String| {
        let _ = writeln!(err, "error: {message}");
        ExitCode::from(1)
    };
    let stack_dir = pipeline::stack_dir_of(&args.stack.path);
    let target = match &args.stack.target {
        Some(target) => Some(target.clone()),
        None => match LocalBackend::targets_present(&stack_dir) {
            Ok(targets) if targets.len() == 1 => targets[0].clone(),
            Ok(targets) if targets.len() > 1 => {
                return fail(
                    &mut err,
                    "this stack has states for several targets; choose one with --target".into(),
                )
            }
            Ok(_) => None,
            Err(error) => return fail(&mut err, error.to_string()),
        },
    };
    let backend = match crate::cmd::state::open_backend(&stack_dir, target.as_deref()) {
        Ok(backend) => backend,
        Err(message) => return fail(&mut err, message),
    };
    let state = match backend.load() {
        Ok(Some(state)) => state,
        Ok(None) => {
            return fail(
                &mut err,
                format!(
                    "there is no state for this stack{}: nothing was applied yet",
                    target.as_deref().map(|t| format!(" and target `{t}`")).unwrap_or_default()
                ),
            )
        }
        Err(error) => return fail(&mut err, error.to_string()),
    };
    // The target block's attributes (the providers' settings): from the
    // configuration last applied, else from the stack on disk.
    let checked = match &state.applied {
        Some(applied) => pipeline::check_applied(applied, &stack_dir, Format::Human, &mut err),
        None => {
            let mut stack = args.stack.clone();
            stack.target = target.clone();
            pipeline::check_stack(&stack, Format::Human, &mut err)
        }
    };
    let Ok(checked) = checked else { return ExitCode::from(1) };
    let stack_name = pipeline::stack_name_of(&stack_dir);
    let connected = match runtime.block_on(crate::connect::providers(
        &stack_name,
        &stack_dir,
        target.as_deref(),
        &checked.target_attributes,
    )) {
        Ok(connected) => connected,
        Err(message) => return fail(&mut err, message),
    };
    let addresses: Vec<&ResourceAddress> = state.resources.keys().collect();
    let (read, problems) = runtime.block_on(planning::refresh(&state, &connected.set, &addresses));
    let containers = match &connected.local {
        Some(local) if state.resources.values().any(|r| r.type_name == "docker_container") => {
            match runtime.block_on(local.container_statuses(&state.stack)) {
                Ok(found) => found,
                Err(e) => {
                    return fail(&mut err, format!("cannot read the stack's containers: {}", e.message))
                }
            }
        }
        _ => Vec::new(),
    };
    let mut failed = false;
    for problem in &problems {
        let _ = writeln!(err, "error: {}", problem.message);
        failed = true;
    }
    let mut instances: BTreeMap<String, InstanceStatus> = BTreeMap::new();
    for (address, recorded) in &state.resources {
        let name = instance_of(address);
        let entry = instances.entry(name.clone()).or_insert_with(|| InstanceStatus {
            instance: name.clone(),
            autoscaled: autoscaled_count(&state, &name),
            ..Default::default()
        });
        entry.resources += 1;
        let workload = WORKLOADS.contains(&recorded.type_name.as_str());
        if workload {
            entry.desired += 1;
        }
        let now = read.iter().find(|(a, _)| a == address).map(|(_, outcome)| outcome);
        let attributes = match now {
            Some(Ok(Some(object))) => {
                connected.set.mark_sensitive(&recorded.type_name, object.attributes.clone())
            }
            Some(Ok(None)) => {
                entry.gone.push(address.0.clone());
                continue;
            }
            Some(Err(problem)) => {
                let _ = writeln!(err, "error: {}", problem.message);
                failed = true;
                continue;
            }
            None => continue,
        };
        let running = attributes.get_path(&["running"]) != Some(&Value::Bool(false));
        if !running {
            entry.stopped.push(address.0.clone());
        }
        let container = containers.iter().find(|c| c.id == recorded.id);
        if let Some(container) = container {
            if let Some(health) = &container.health {
                *entry.health.entry(health.clone()).or_default() += 1;
            } else if running {
                *entry.health.entry("running".into()).or_default() += 1;
            }
            entry.restarts += container.restart_count;
            if running && container.started_at > entry.last_start {
                entry.last_start = container.started_at.clone();
            }
        }
        let healthy = container.and_then(|c| c.health.as_deref()).is_none_or(|h| h == "healthy");
        if workload && running && healthy {
            entry.ready += 1;
        }
        let schema = connected.set.schema(&recorded.type_name);
        let configured =
            |name: &str| schema.and_then(|s| s.attributes.get(name)).is_some_and(|a| !a.is_computed());
        let mut changed: Vec<String> = Vec::new();
        for change in attribute_changes(&recorded.attributes, &attributes) {
            if let Some(PathStep::Key(top)) = change.path.first() {
                if configured(top) && !changed.contains(top) {
                    changed.push(top.clone());
                }
            }
        }
        if !changed.is_empty() {
            entry.changed.push((address.0.clone(), changed));
        }
    }
    let written = if args.json {
        let document = json!({
            "stack": state.stack,
            "target": state.target,
            "serial": state.serial,
            "applied": state.applied.as_ref().map(|a| a.time.clone()),
            "instances": instances.values().map(InstanceStatus::json).collect::<Vec<_>>(),
        });
        serde_json::to_writer_pretty(&mut out, &document)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
    } else {
        out.write_all(table(&instances).as_bytes())
    };
    if let Err(error) = written {
        return fail(&mut err, format!("cannot write the status: {error}"));
    }
    crate::connect::report_aws_stats(connected.aws.as_deref(), &mut err);
    crate::connect::report_local_stats(connected.local.as_deref(), &mut err);
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The human table, columns padded to their widest cell.
fn table(instances: &BTreeMap<String, InstanceStatus>) -> String {
    let header =
        ["INSTANCE", "RESOURCES", "REPLICAS", "HEALTH", "RESTARTS", "LAST START", "AUTOSCALED", "DRIFT"];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for status in instances.values() {
        let workload = status.desired > 0;
        rows.push(vec![
            status.instance.clone(),
            status.resources.to_string(),
            if workload { format!("{}/{} ready", status.ready, status.desired) } else { "-".into() },
            status.health_text(),
            if workload { status.restarts.to_string() } else { "-".into() },
            status
                .last_start
                .clone()
                .map(|t| t.split('.').next().unwrap_or(&t).to_string())
                .unwrap_or("-".into()),
            status.autoscaled.map(|n| n.to_string()).unwrap_or("-".into()),
            status.drift_text(),
        ]);
    }
    let widths: Vec<usize> =
        (0..header.len()).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> =
            row.iter().zip(&widths).map(|(cell, width)| format!("{cell:width$}")).collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_group_by_instance() {
        let of = |a: &str| instance_of(&ResourceAddress(a.into()));
        assert_eq!(of("service.api/docker_container.replica[0]"), "service.api");
        assert_eq!(of("database.main[\"a\"]/aws_instance.node"), "database.main[\"a\"]");
        assert_eq!(of("random_password.db"), "random_password.db");
        assert_eq!(of("stackc_data.seed[2]"), "stackc_data.seed");
    }
}
