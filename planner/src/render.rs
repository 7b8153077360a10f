//! A plan for people (text) and for tools (JSON, schema in
//! `docs/plan-json.md`). Pure functions; the binary prints what they return.
//!
//! Invariant: sensitive values never appear: a sensitive leaf prints as
//! `(sensitive)` in text and as null in JSON, with its path listed.
//! Unknown values print as `(known after apply)` / null with their paths.

use crate::plan::{
    attribute_changes, path_string, Action, AttributeChange, Drift, OutputChange, PathStep, Plan, Reason,
    ResourceChange,
};
use crate::rollout::{format_duration, Pause, PlannedRollout, Strategy};
use serde_json::{json, Value as Json};
use stackc_model::render::{paths_where, redacted_json};
use stackc_model::{Origin, Sources, Span, Value};
use std::fmt::Write;

/// How to draw the text.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// ANSI colours for +, ~, -.
    pub color: bool,
}

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

impl Style {
    fn paint(&self, color: &str, text: &str) -> String {
        let mut out = String::new();
        self.paint_into(&mut out, color, text);
        out
    }

    /// [`Style::paint`] appended to `out` (no string of its own: a plan
    /// paints a few marks per change).
    fn paint_into(&self, out: &mut String, color: &str, text: &str) {
        if self.color {
            out.push_str(color);
            out.push_str(text);
            out.push_str(RESET);
        } else {
            out.push_str(text);
        }
    }
}

/// `file:line` of a span, relative as the sources name it.
pub fn location(sources: &Sources, span: Span) -> Option<String> {
    if span.file.0 as usize >= sources.len() {
        return None;
    }
    let file = sources.get(span.file);
    let (line, _) = file.line_col(span.start as usize);
    Some(format!("{}:{line}", file.path))
}

/// The span a change is shown with: the user's outermost block (a
/// resource the stdlib adds on its own, like the stack's network, shows
/// the stdlib's).
fn change_location(sources: &Sources, provenance: &[Span]) -> Option<String> {
    let span = provenance
        .iter()
        .find(|s| (s.file.0 as usize) < sources.len() && sources.get(s.file).origin == Origin::User)
        .or(provenance.first())?;
    location(sources, *span)
}

/// The whole plan as text: drift, then the changes, then outputs, then the
/// summary line.
pub fn plan_text(plan: &Plan, sources: &Sources, style: Style) -> String {
    let mut out = String::new();
    if !plan.drift.is_empty() {
        out.push_str(&style.paint(BOLD, "Changes outside stackc since the last apply:"));
        out.push_str("\n\n");
        for drift in &plan.drift {
            drift_text(&mut out, drift, style);
        }
        out.push_str("stackc plans below what puts the configured attributes back.\n\n");
    }
    let changes: Vec<&ResourceChange> = plan.changes.iter().filter(|c| c.action.is_change()).collect();
    if !changes.is_empty() || !plan.forgotten.is_empty() {
        out.push_str(&style.paint(BOLD, "stackc will:"));
        out.push_str("\n\n");
        // Deletes first, as apply mostly does them first; then the rest in dependency order.
        for change in changes.iter().filter(|c| c.action == Action::Delete) {
            change_text(&mut out, change, sources, style);
        }
        for change in changes.iter().filter(|c| c.action != Action::Delete) {
            change_text(&mut out, change, sources, style);
        }
        for address in &plan.forgotten {
            let _ = writeln!(
                out,
                "  {} {address}  forget: it no longer exists and is no longer configured\n",
                style.paint(RED, "-")
            );
        }
    }
    if !plan.rollouts.is_empty() && !plan.options.destroy {
        out.push_str(&style.paint(BOLD, "Rollouts:"));
        out.push_str("\n\n");
        for rollout in &plan.rollouts {
            rollout_text(&mut out, rollout, sources, style);
        }
    }
    let outputs: Vec<&OutputChange> = plan.outputs.iter().filter(|o| o.is_change()).collect();
    if !outputs.is_empty() {
        out.push_str(&style.paint(BOLD, "Changes to outputs:"));
        out.push('\n');
        let width = outputs.iter().map(|o| o.name.len()).max().unwrap_or(0);
        for output in outputs {
            let (mark, color, value) = match (&output.before, &output.after) {
                (None, Some(after)) => ("+", GREEN, shown(after, output.sensitive)),
                (Some(before), None) => ("-", RED, shown(before, output.sensitive)),
                (Some(before), Some(after)) => (
                    "~",
                    YELLOW,
                    format!("{} -> {}", shown(before, output.sensitive), shown(after, output.sensitive)),
                ),
                (None, None) => continue,
            };
            let _ = writeln!(out, "  {} {:width$} = {value}", style.paint(color, mark), output.name);
        }
        out.push('\n');
    }
    let autoscaled = crate::autoscale::autoscaled(plan);
    if !autoscaled.is_empty() && !plan.options.destroy {
        out.push_str(&style.paint(BOLD, "Autoscaled:"));
        out.push('\n');
        for instance in &autoscaled {
            let _ = writeln!(out, "  {}: {instance}", instance.instance);
        }
        out.push('\n');
    }
    let summary = plan.summary();
    let rolling = plan.rollouts.iter().filter(|r| !r.plain).count();
    if plan.has_changes() || rolling > 0 {
        let roll = if rolling > 0 { format!(", {rolling} to roll out") } else { String::new() };
        let _ = writeln!(
            out,
            "{}",
            style.paint(
                BOLD,
                &format!(
                    "Plan: {} to add, {} to change, {} to destroy{roll}.",
                    summary.add, summary.change, summary.destroy
                )
            )
        );
    } else {
        out.push_str(&style.paint(BOLD, "No changes."));
        out.push_str(if plan.options.destroy {
            " Nothing in the state to destroy.\n"
        } else {
            " The infrastructure matches the configuration.\n"
        });
    }
    out
}

/// One rollout: its steps (the one this plan applies marked), gates and
/// pauses, and the `rollout` block; or why an instance is planned plainly.
fn rollout_text(out: &mut String, rollout: &PlannedRollout, sources: &Sources, style: Style) {
    let at =
        rollout.provenance.and_then(|s| location(sources, s)).map(|l| format!("  ({l})")).unwrap_or_default();
    if rollout.plain {
        let _ = writeln!(
            out,
            "  {}  not a rollout: {}; its changes above are applied as planned{at}\n",
            rollout.instance, rollout.reason
        );
        return;
    }
    let _ = writeln!(
        out,
        "  {} {}  {} rollout: {}{at}",
        style.paint(YELLOW, "~"),
        rollout.instance,
        rollout.strategy.as_str(),
        rollout.reason
    );
    let total = rollout.steps.len();
    for (i, step) in rollout.steps.iter().enumerate() {
        let pause = if i + 1 == total {
            String::new()
        } else {
            match step.pause {
                Pause::For(0) => String::new(),
                pause => format!(", then pause {pause}"),
            }
        };
        let now = match (i == rollout.from_step, rollout.status.as_deref()) {
            (false, _) => String::new(),
            (true, Some("paused")) => "  <- paused here: `stackc rollout promote` goes on".to_string(),
            (true, Some("kept")) => {
                "  <- traffic switched, old set kept: `stackc rollout undo` switches back".to_string()
            }
            (true, Some(status)) => format!("  <- this plan (resumes: {status})"),
            (true, None) => "  <- this plan".to_string(),
        };
        let _ = writeln!(
            out,
            "      step {}/{total}: {}; gate: healthy for {} within {}{pause}{now}",
            i + 1,
            step.describe(rollout.strategy, rollout.replicas),
            format_duration(step.gate_ms),
            format_duration(step.timeout_ms),
        );
    }
    let last = match rollout.strategy {
        Strategy::Rolling => "then: the rollout is recorded as finished",
        Strategy::Canary => "then: the stable replicas take the new version (gated), and the canary is removed",
        Strategy::BlueGreen => {
            "then: the old set is kept (for `keep`, or until the next apply; `stackc rollout undo` switches back), \
             then replaced"
        }
    };
    let now = if rollout.from_step >= total { "  <- this plan" } else { "" };
    let _ = writeln!(out, "      {last}{now}");
    let _ = writeln!(
        out,
        "      {}\n",
        if rollout.strategy == Strategy::Rolling {
            "a failed gate stops the rollout: the replicas not yet replaced keep the old version"
        } else {
            "a failed gate rolls back: traffic to the stable version, the new replicas removed"
        }
    );
}

fn drift_text(out: &mut String, drift: &Drift, style: Style) {
    match &drift.actual {
        None => {
            let _ = writeln!(out, "  {} {}  deleted outside stackc\n", style.paint(RED, "-"), drift.address);
        }
        Some(actual) => {
            let _ = writeln!(out, "  {} {}  changed outside stackc", style.paint(YELLOW, "~"), drift.address);
            let changes = attribute_changes(&drift.recorded, actual);
            leaves_text(out, &changes, &drift.sensitive_attributes, &[], style);
            out.push('\n');
        }
    }
}

fn change_text(out: &mut String, change: &ResourceChange, sources: &Sources, style: Style) {
    let (mark, color, verb) = match change.action {
        Action::Create => ("  +", GREEN, "create"),
        Action::Update => ("  ~", YELLOW, "update in place"),
        Action::Replace => ("-/+", RED, "replace"),
        Action::Delete => ("  -", RED, "delete"),
        Action::NoOp => return,
    };
    // `MARK ADDRESS  VERB[: REASON][  (FILE:LINE)]`, pushed piece by piece
    // (one line per change of a large plan: `format!` was most of it).
    style.paint_into(out, color, mark);
    out.push(' ');
    out.push_str(change.address.as_str());
    out.push_str("  ");
    out.push_str(verb);
    match (&change.action, &change.reason) {
        (Action::Create, Some(Reason::NotInState)) | (_, None) => {}
        (_, Some(reason)) => {
            out.push_str(": ");
            out.push_str(&reason.describe());
        }
    }
    if let Some(location) = change_location(sources, &change.provenance) {
        out.push_str("  (");
        out.push_str(&location);
        out.push(')');
    }
    out.push('\n');
    match change.action {
        Action::Create => created_text(out, &change.planned, &change.sensitive_attributes, style),
        Action::Update | Action::Replace => {
            let prior = change.prior.as_ref().map(|p| &p.attributes).unwrap_or(&Value::Null);
            let forced = match &change.reason {
                Some(Reason::ForcedBy(paths)) => paths.clone(),
                _ => Vec::new(),
            };
            leaves_text(
                out,
                &attribute_changes(prior, &change.planned),
                &change.sensitive_attributes,
                &forced,
                style,
            );
        }
        _ => {}
    }
    out.push('\n');
}

/// The attributes of an object to create, `null` ones left out.
fn created_text(out: &mut String, planned: &Value, sensitive: &[String], style: Style) {
    let Some(fields) = planned.as_object() else { return };
    let shown_fields: Vec<(&String, &Value)> =
        fields.iter().filter(|(_, v)| !matches!(v, Value::Null)).collect();
    let width = shown_fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (name, value) in shown_fields {
        let hidden = sensitive.contains(name);
        let text = if hidden { shown(value, true) } else { pretty(value, 6) };
        // `      + NAME = TEXT`, NAME padded to `width` characters.
        out.push_str("      ");
        style.paint_into(out, GREEN, "+");
        out.push(' ');
        out.push_str(name);
        out.extend(std::iter::repeat_n(' ', width.saturating_sub(name.chars().count())));
        out.push_str(" = ");
        out.push_str(&text);
        out.push('\n');
    }
}

/// Changed leaves, one per line: `~ path = before -> after`.
fn leaves_text(
    out: &mut String,
    changes: &[AttributeChange],
    sensitive: &[String],
    forced: &[String],
    style: Style,
) {
    let rows: Vec<(String, &AttributeChange)> = changes.iter().map(|c| (path_string(&c.path), c)).collect();
    let width = rows.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
    for (path, change) in rows {
        let hidden = match change.path.first() {
            Some(PathStep::Key(top)) => sensitive.contains(top),
            _ => false,
        };
        let (mark, color, text) = match (&change.before, &change.after) {
            (None, Some(after)) => ("+", GREEN, shown(after, hidden)),
            (Some(before), None) => ("-", RED, shown(before, hidden)),
            (Some(before), Some(after)) => {
                ("~", YELLOW, format!("{} -> {}", shown(before, hidden), shown(after, hidden)))
            }
            (None, None) => continue,
        };
        let forces = if forced.contains(&path) { "  # forces replacement" } else { "" };
        let label = if path.is_empty() { "(whole value)".to_string() } else { path };
        let _ = writeln!(out, "      {} {label:width$} = {text}{forces}", style.paint(color, mark));
    }
}

/// One value on one line; sensitive (or `hidden`) ones as `(sensitive)`.
fn shown(value: &Value, hidden: bool) -> String {
    match value {
        Value::Unknown if !hidden => "(known after apply)".to_string(),
        Value::Sensitive(inner) if matches!(**inner, Value::Unknown) => {
            "(sensitive, known after apply)".to_string()
        }
        _ if hidden || value.has_sensitive() && !matches!(value, Value::List(_) | Value::Object(_)) => {
            "(sensitive)".to_string()
        }
        other => compact(other),
    }
}

/// HCL-like, on one line, with sensitive parts hidden.
fn compact(value: &Value) -> String {
    match value {
        Value::Sensitive(_) => "(sensitive)".to_string(),
        Value::Unknown => "(known after apply)".to_string(),
        Value::List(items) => format!("[{}]", items.iter().map(compact).collect::<Vec<_>>().join(", ")),
        Value::Object(fields) if fields.is_empty() => "{}".to_string(),
        Value::Object(fields) => format!(
            "{{ {} }}",
            fields.iter().map(|(k, v)| format!("{} = {}", key(k), compact(v))).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

fn key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !k.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

/// Multi-line when a value does not fit on a line: nested objects and
/// lists indented under `indent`.
fn pretty(value: &Value, indent: usize) -> String {
    let one_line = compact(value);
    if one_line.len() <= 72 {
        return one_line;
    }
    let pad = " ".repeat(indent + 2);
    let close = " ".repeat(indent);
    match value {
        Value::Object(fields) => {
            let mut out = String::from("{\n");
            let width = fields.keys().map(|k| key(k).len()).max().unwrap_or(0);
            for (k, v) in fields.iter().filter(|(_, v)| !matches!(v, Value::Null)) {
                let _ = writeln!(out, "{pad}{:width$} = {}", key(k), pretty(v, indent + 2));
            }
            out.push_str(&close);
            out.push('}');
            out
        }
        Value::List(items) => {
            let mut out = String::from("[\n");
            for item in items {
                let _ = writeln!(out, "{pad}{},", pretty(item, indent + 2));
            }
            out.push_str(&close);
            out.push(']');
            out
        }
        _ => one_line,
    }
}

/// The plan as JSON (see `docs/plan-json.md`).
pub fn plan_json(plan: &Plan, sources: &Sources) -> Json {
    let summary = plan.summary();
    let source = |provenance: &[Span]| -> Json {
        let span = provenance
            .iter()
            .find(|s| (s.file.0 as usize) < sources.len() && sources.get(s.file).origin == Origin::User)
            .or(provenance.first());
        match span {
            Some(span) if (span.file.0 as usize) < sources.len() => {
                let file = sources.get(span.file);
                let (line, column) = file.line_col(span.start as usize);
                json!({ "file": file.path, "line": line, "column": column })
            }
            _ => Json::Null,
        }
    };
    let changes: Vec<Json> = plan
        .changes
        .iter()
        .filter(|c| c.action.is_change())
        .map(|c| {
            let before = c.prior.as_ref().map(|p| &p.attributes);
            let after = (c.action != Action::Delete).then_some(&c.planned);
            let replace_paths = match &c.reason {
                Some(Reason::ForcedBy(paths)) => paths.clone(),
                _ => Vec::new(),
            };
            let changed: Vec<Json> = match (before, after) {
                (Some(before), Some(after)) => attribute_changes(before, after)
                    .iter()
                    .map(|change| leaf_json(change, &c.sensitive_attributes))
                    .collect(),
                _ => Vec::new(),
            };
            json!({
                "address": c.address.as_str(),
                "type": c.type_name,
                "target": c.target,
                "action": c.action.as_str(),
                "reason": c.reason.as_ref().map(|r| json!({ "code": r.code(), "message": r.describe() })),
                "replace_paths": replace_paths,
                "before": before.map(|v| hide(v, &c.sensitive_attributes)).map(|v| redacted_json(&v)),
                "before_sensitive": before.map(|v| paths_where(&hide(v, &c.sensitive_attributes), true)),
                "after": after.map(|v| hide(v, &c.sensitive_attributes)).map(|v| redacted_json(&v)),
                "after_unknown": after.map(|v| paths_where(v, false)),
                "after_sensitive": after.map(|v| paths_where(&hide(v, &c.sensitive_attributes), true)),
                "changed_attributes": changed,
                "dependencies": c.dependencies.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
                "source": source(&c.provenance),
            })
        })
        .collect();
    let drift: Vec<Json> = plan
        .drift
        .iter()
        .map(|d| {
            let changed: Vec<Json> = match &d.actual {
                Some(actual) => attribute_changes(&d.recorded, actual)
                    .iter()
                    .map(|change| leaf_json(change, &d.sensitive_attributes))
                    .collect(),
                None => Vec::new(),
            };
            json!({
                "address": d.address.as_str(),
                "type": d.type_name,
                "deleted": d.actual.is_none(),
                "changed_attributes": changed,
            })
        })
        .collect();
    let outputs: Vec<Json> = plan
        .outputs
        .iter()
        .filter(|o| o.is_change())
        .map(|o| {
            let action = match (&o.before, &o.after) {
                (None, _) => "create",
                (_, None) => "delete",
                _ => "update",
            };
            let value = |v: &Option<Value>| match v {
                Some(v) if !o.sensitive => redacted_json(v),
                _ => Json::Null,
            };
            json!({
                "name": o.name,
                "action": action,
                "sensitive": o.sensitive,
                "before": value(&o.before),
                "after": value(&o.after),
                "after_unknown": o.after.as_ref().is_some_and(|v| v.has_unknown()),
            })
        })
        .collect();
    let mut document = json!({
        "format_version": 1,
        "stack": plan.stack,
        "target": plan.target,
        "state": { "lineage": plan.lineage, "serial": plan.serial },
        "destroy": plan.options.destroy,
        "has_changes": plan.has_changes(),
        "summary": { "add": summary.add, "change": summary.change, "destroy": summary.destroy },
        "drift": drift,
        "resource_changes": changes,
        "forgotten": plan.forgotten.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "output_changes": outputs,
    });
    // Only when there are some: a plan without rollouts keeps its shape.
    if !plan.rollouts.is_empty() && !plan.options.destroy {
        document["summary"]["roll_out"] = json!(plan.rollouts.iter().filter(|r| !r.plain).count());
        document["rollouts"] = plan
            .rollouts
            .iter()
            .map(|r| {
                let source = match r.provenance {
                    Some(span) if (span.file.0 as usize) < sources.len() => {
                        let file = sources.get(span.file);
                        let (line, column) = file.line_col(span.start as usize);
                        json!({ "file": file.path, "line": line, "column": column })
                    }
                    _ => Json::Null,
                };
                json!({
                    "instance": r.instance,
                    "strategy": r.strategy.as_str(),
                    "rollout": !r.plain,
                    "reason": r.reason,
                    "replicas": r.replicas,
                    "version": r.version,
                    "from_step": r.from_step,
                    "status": r.status,
                    "steps": r.steps.iter().map(|s| json!({
                        "number": s.number,
                        "weight": (r.strategy != Strategy::Rolling).then_some(s.weight),
                        "new_replicas": if r.strategy == Strategy::Rolling { s.batch.len() as u64 } else { s.canary },
                        "batch": (r.strategy == Strategy::Rolling).then(|| s.batch.clone()),
                        "description": s.describe(r.strategy, r.replicas),
                        "gate_ms": s.gate_ms,
                        "timeout_ms": s.timeout_ms,
                        "pause": match s.pause {
                            Pause::For(ms) => json!({ "ms": ms }),
                            Pause::UntilPromoted => json!("promote"),
                        },
                    })).collect::<Vec<_>>(),
                    "source": source,
                })
            })
            .collect();
    }
    // Only when there are some: a plan without autoscaling keeps its shape.
    let autoscaled = crate::autoscale::autoscaled(plan);
    if !autoscaled.is_empty() && !plan.options.destroy {
        document["autoscaled"] = autoscaled
            .iter()
            .map(|a| {
                json!({
                    "instance": a.instance,
                    "replicas": a.replicas,
                    "replicas_before": a.before,
                    "min": a.min,
                    "max": a.max,
                })
            })
            .collect();
    }
    document
}

/// One changed leaf: `{ path, before, after, sensitive, after_unknown }`.
fn leaf_json(change: &AttributeChange, sensitive: &[String]) -> Json {
    let hidden = match change.path.first() {
        Some(PathStep::Key(top)) => sensitive.contains(top),
        _ => false,
    };
    let side = |v: &Option<Value>| match v {
        _ if hidden => Json::Null,
        Some(v) => redacted_json(v),
        None => Json::Null,
    };
    let is_sensitive = hidden
        || change.before.as_ref().is_some_and(Value::has_sensitive)
        || change.after.as_ref().is_some_and(Value::has_sensitive);
    json!({
        "path": path_string(&change.path),
        "before": side(&change.before),
        "after": side(&change.after),
        "sensitive": is_sensitive,
        "after_unknown": change.after.as_ref().is_some_and(|v| matches!(v, Value::Unknown)),
    })
}

/// `value` with the schema-sensitive top-level attributes marked.
fn hide(value: &Value, sensitive: &[String]) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| {
                    let v = if sensitive.contains(k) && !matches!(v, Value::Null) {
                        v.clone().into_sensitive()
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}
