use super::*;

fn policy() -> Policy {
    Policy {
        min: 2,
        max: 10,
        cpu_target: Some(50.0),
        memory_target: None,
        tolerance: 0.1,
        scale_down_window_ms: 0,
        scale_up_window_ms: 0,
        replicas: "docker_container.replica".into(),
    }
}

fn cpu(values: &[f64]) -> Vec<Option<ResourceUsage>> {
    values.iter().map(|c| Some(ResourceUsage { cpu_percent: Some(*c), memory_percent: None })).collect()
}

fn both(values: &[(f64, f64)]) -> Vec<Option<ResourceUsage>> {
    values
        .iter()
        .map(|(c, m)| Some(ResourceUsage { cpu_percent: Some(*c), memory_percent: Some(*m) }))
        .collect()
}

/// A time (ms since the epoch) for the windows' tests.
const T: u64 = 1_764_000_000_000;

/// One step with an empty history at t = 1000 s.
fn once(policy: &Policy, current: u64, usage: &[Option<ResourceUsage>]) -> Decision {
    decide(policy, current, usage, &mut Vec::new(), 1_000_000)
}

#[test]
fn scales_up_by_the_ratio_of_utilisation_to_target() {
    // 2 replicas at 100% of a 50% target: ceil(2 * 2) = 4.
    let decision = once(&policy(), 2, &cpu(&[100.0, 100.0]));
    assert_eq!((decision.replicas, decision.recommendation), (4, Some(4)));
    assert_eq!(decision.reason, "cpu above target");
    assert_eq!(decision.metrics[0].mean, Some(100.0));
    // 3 at a mean of 70%: ceil(3 * 1.4) = 5 (4.2 rounds up).
    assert_eq!(once(&policy(), 3, &cpu(&[60.0, 70.0, 80.0])).replicas, 5);
}

#[test]
fn scales_down_by_the_same_ratio() {
    // 6 at 20% of 50%: ceil(6 * 0.4) = 3.
    let decision = once(&policy(), 6, &cpu(&[20.0; 6]));
    assert_eq!(decision.replicas, 3);
    assert_eq!(decision.reason, "cpu below target");
}

#[test]
fn no_change_within_the_tolerance_band() {
    // 54% of 50% is a ratio of 1.08: within 10%.
    let decision = once(&policy(), 4, &cpu(&[54.0; 4]));
    assert_eq!(decision.replicas, 4);
    assert_eq!(decision.reason, "within tolerance of the target");
    // 46% (0.92) too.
    assert_eq!(once(&policy(), 4, &cpu(&[46.0; 4])).replicas, 4);
    // 60% (1.2) is outside 10% but inside 25%.
    assert_eq!(once(&policy(), 4, &cpu(&[60.0; 4])).replicas, 5);
    let wide = Policy { tolerance: 0.25, ..policy() };
    assert_eq!(once(&wide, 4, &cpu(&[60.0; 4])).replicas, 4);
    // Outside the band, but the ratio rounds up to the same count.
    let one = Policy { min: 1, ..policy() };
    let decision = once(&one, 1, &cpu(&[1.0]));
    assert_eq!((decision.replicas, decision.reason.as_str()), (1, "cpu recommends the current count"));
}

#[test]
fn clamped_to_min_and_max() {
    // 2 at 400%: ceil(2 * 8) = 16, but at most 10.
    let decision = once(&policy(), 2, &cpu(&[400.0, 400.0]));
    assert_eq!((decision.replicas, decision.recommendation), (10, Some(16)));
    // 4 idle: 0, but at least 2.
    let decision = once(&policy(), 4, &cpu(&[0.0; 4]));
    assert_eq!((decision.replicas, decision.recommendation), (2, Some(0)));
    // Already at max and still hot: held, with the reason.
    let decision = once(&policy(), 10, &cpu(&[90.0; 10]));
    assert_eq!(decision.replicas, 10);
    assert_eq!(decision.reason, "recommends 18, kept within min 2 and max 10");
}

#[test]
fn a_count_outside_the_range_is_brought_inside_first() {
    // min raised to 2 while 1 runs: 2, whatever the metrics.
    let decision = once(&policy(), 1, &cpu(&[0.0]));
    assert_eq!((decision.replicas, decision.recommendation), (2, None));
    assert_eq!(decision.reason, "1 is outside min 2 and max 10");
    assert_eq!(once(&policy(), 12, &cpu(&[100.0; 12])).replicas, 10);
}

#[test]
fn scale_down_follows_the_highest_recommendation_within_the_window() {
    let windowed = Policy { scale_down_window_ms: 300_000, ..policy() };
    let mut history = Vec::new();
    // t=0: hot, 2 -> 6.
    assert_eq!(decide(&windowed, 2, &cpu(&[150.0; 2]), &mut history, T).replicas, 6);
    // t=60 s: idle, the metric says 2, but 6 was recommended 60 s ago.
    let held = decide(&windowed, 6, &cpu(&[10.0; 6]), &mut history, T + 60_000);
    assert_eq!((held.replicas, held.recommendation), (6, Some(2)));
    assert_eq!(held.reason, "cpu below target, held by the 300 s scale-down window");
    // t=301 s: the 6 has left the window; the 2 of t=60 s has not.
    let down = decide(&windowed, 6, &cpu(&[10.0; 6]), &mut history, T + 301_000);
    assert_eq!(down.replicas, 2);
    assert_eq!(history.iter().map(|r| r.replicas).collect::<Vec<_>>(), vec![2, 2], "the old 6 is dropped");
    // A scale-up is not held by the down window.
    assert_eq!(decide(&windowed, 2, &cpu(&[100.0; 2]), &mut history, T + 302_000).replicas, 4);
}

#[test]
fn scale_up_follows_the_lowest_recommendation_within_its_window() {
    let windowed = Policy { scale_up_window_ms: 60_000, ..policy() };
    let mut history = Vec::new();
    // Steady at 2: recorded.
    assert_eq!(decide(&windowed, 2, &cpu(&[50.0; 2]), &mut history, T).replicas, 2);
    // A burst 30 s later: the 2 of t=0 is within the up window.
    let held = decide(&windowed, 2, &cpu(&[200.0; 2]), &mut history, T + 30_000);
    assert_eq!(
        (held.replicas, held.reason.as_str()),
        (2, "cpu above target, held by the 60 s scale-up window")
    );
    // Still hot at 61 s: the lowest within the window is now the burst's 8.
    assert_eq!(decide(&windowed, 2, &cpu(&[200.0; 2]), &mut history, T + 61_000).replicas, 8);
}

#[test]
fn the_largest_recommendation_over_the_metrics_wins() {
    let both_targets = Policy { memory_target: Some(50.0), ..policy() };
    // CPU says 2 (25% of 50%), memory says 8 (100% of 50%).
    let decision = once(&both_targets, 4, &both(&[(25.0, 100.0); 4]));
    assert_eq!(decision.replicas, 8);
    assert_eq!(decision.reason, "memory above target");
    assert_eq!(
        decision.metrics.iter().map(|m| (m.name, m.recommends)).collect::<Vec<_>>(),
        vec![("cpu", Some(2)), ("memory", Some(8))]
    );
    // And the other way round.
    assert_eq!(once(&both_targets, 4, &both(&[(100.0, 25.0); 4])).replicas, 8);
    // Memory only.
    let memory_only = Policy { cpu_target: None, memory_target: Some(80.0), ..policy() };
    let decision = once(&memory_only, 2, &both(&[(500.0, 40.0); 2]));
    assert_eq!(decision.replicas, 2, "1 recommended, min 2; CPU is not a metric");
    assert_eq!(decision.metrics.len(), 1);
}

#[test]
fn missing_replicas_count_against_the_move() {
    // 4 replicas, one not reporting; the three idle ones say scale down,
    // but the missing one counts as 100%: (0 + 0 + 0 + 100) / 4 = 25% of 50%:
    // ratio 0.5, ceil(4 * 0.5) = 2.
    let mut usage = cpu(&[0.0; 3]);
    usage.push(None);
    let decision = once(&policy(), 4, &usage);
    assert_eq!(decision.replicas, 2);
    assert_eq!((decision.metrics[0].reported, decision.metrics[0].replicas), (3, 4));
    // Three at 40% (0.8) would go to 3 replicas; with the missing one at
    // 100% the mean is 55% (1.1): a change of direction, so no change.
    let mut usage = cpu(&[40.0; 3]);
    usage.push(None);
    assert_eq!(once(&policy(), 4, &usage).replicas, 4);
    // Scaling up, a missing replica counts as idle: three at 100% and one
    // at 0: 75% of 50%, ceil(4 * 1.5) = 6 (not 8).
    let mut usage = cpu(&[100.0; 3]);
    usage.push(None);
    assert_eq!(once(&policy(), 4, &usage).replicas, 6);
}

#[test]
fn a_metric_nobody_reported_blocks_scale_down_but_not_scale_up() {
    let both_targets = Policy { memory_target: Some(50.0), ..policy() };
    let no_memory = |c: f64| vec![Some(ResourceUsage { cpu_percent: Some(c), memory_percent: None }); 4];
    let held = once(&both_targets, 4, &no_memory(10.0));
    assert_eq!((held.replicas, held.recommendation), (4, None));
    assert_eq!(held.reason, "no replica reported memory: no scale-down without it");
    assert_eq!(once(&both_targets, 4, &no_memory(100.0)).replicas, 8);
    // Nothing at all: no change, nothing recorded.
    let mut history = Vec::new();
    let none = decide(&policy(), 4, &[None, None, None, None], &mut history, 0);
    assert_eq!((none.replicas, none.reason.as_str()), (4, "no replica reported a metric"));
    assert!(history.is_empty());
}

#[test]
fn policies_are_read_from_the_input_with_the_hpa_defaults() {
    let attributes = Value::from_json(&serde_json::json!({
        "input": {"autoscale": {"min": 2, "max": 5, "cpu_target": 70, "replicas": "docker_container.replica"}},
    }));
    let parsed = Policy::from_attributes(&attributes).unwrap().unwrap();
    assert_eq!(
        parsed,
        Policy {
            min: 2,
            max: 5,
            cpu_target: Some(70.0),
            memory_target: None,
            tolerance: 0.1,
            scale_down_window_ms: 300_000,
            scale_up_window_ms: 0,
            replicas: "docker_container.replica".into(),
        }
    );
    assert!(Policy::from_attributes(&Value::from_json(&serde_json::json!({"input": {"x": 1}}))).is_none());
    for (bad, says) in [
        (serde_json::json!({"min": 0, "max": 5, "cpu_target": 70, "replicas": "r"}), "1 <= min <= max"),
        (serde_json::json!({"min": 2, "max": 1, "cpu_target": 70, "replicas": "r"}), "1 <= min <= max"),
        (serde_json::json!({"min": 1.5, "max": 3, "cpu_target": 70, "replicas": "r"}), "`min` is 1.5"),
        (serde_json::json!({"min": 1, "max": 3, "replicas": "r"}), "neither"),
        (serde_json::json!({"min": 1, "max": 3, "cpu_target": 170, "replicas": "r"}), "`cpu_target` is 170"),
        (
            serde_json::json!({"min": 1, "max": 3, "cpu_target": 70, "tolerance": 1, "replicas": "r"}),
            "tolerance",
        ),
        (serde_json::json!({"min": 1, "max": 3, "cpu_target": "x", "replicas": "r"}), "not a number"),
        (serde_json::json!({"min": 1, "max": 3, "cpu_target": 70}), "`replicas`"),
    ] {
        let attributes = Value::from_json(&serde_json::json!({"input": {"autoscale": bad}}));
        let error = Policy::from_attributes(&attributes).unwrap().unwrap_err();
        assert!(error.contains(says), "{error} should say {says}");
    }
}

#[test]
fn events_read_as_one_line() {
    let event = AutoscaleEvent {
        instance: "service.api".into(),
        from: 2,
        to: 4,
        metrics: vec![
            MetricReading {
                name: "cpu",
                target: 50.0,
                mean: Some(99.6),
                reported: 2,
                replicas: 2,
                recommends: Some(4),
            },
            MetricReading {
                name: "memory",
                target: 80.0,
                mean: None,
                reported: 0,
                replicas: 2,
                recommends: None,
            },
        ],
        reason: "cpu above target".into(),
    };
    assert_eq!(
        event.to_string(),
        "service.api: 2 -> 4 replicas, cpu 100% (target 50%), memory unknown (target 80%, 0 of 2 reported): cpu above target"
    );
    assert_eq!(
        event.to_json(),
        serde_json::json!({
            "instance": "service.api", "from": 2, "to": 4, "reason": "cpu above target",
            "metrics": [
                {"name": "cpu", "target": 50.0, "mean": 99.6, "reported": 2, "replicas": 2, "recommends": 4},
                {"name": "memory", "target": 80.0, "mean": null, "reported": 0, "replicas": 2, "recommends": null},
            ],
        })
    );
}
