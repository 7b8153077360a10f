use super::fake::{FakeCloud, TARGET, TYPE};
use super::*;
use crate::apply::OperationKind;
use crate::plan::{Action, Reason};
use stackc_provider_builtin::BuiltinProvider;
use std::time::Duration;

fn builtin() -> ProviderSet {
    ProviderSet::new().with_builtin(Arc::new(BuiltinProvider::new()))
}

fn with_cloud() -> (Arc<FakeCloud>, ProviderSet) {
    let cloud = Arc::new(FakeCloud::default());
    let providers = builtin().with_target(TARGET, cloud.clone());
    (cloud, providers)
}

fn data(input: Value) -> Value {
    object(&[("input", input)])
}

fn disk(name: &str, size: f64) -> Value {
    object(&[("name", Value::string(name)), ("size", Value::Number(size))])
}

fn actions(plan: &Plan) -> Vec<(String, Action)> {
    plan.changes.iter().filter(|c| c.action.is_change()).map(|c| (c.address.0.clone(), c.action)).collect()
}

/// Three built-in resources in a chain: seed <- app (input = seed.output) <- top.
fn chain(seed_input: &str) -> ResourceGraph {
    GraphBuilder::default()
        .node("stackc_data.seed", "stackc_data", None, data(Value::string(seed_input)))
        .referencing(
            "stackc_data.app",
            "stackc_data",
            None,
            object(&[]),
            ("input", "stackc_data.seed", "output"),
        )
        .referencing("stackc_data.top", "stackc_data", None, object(&[]), ("input", "stackc_data.app", "id"))
        .build()
}

#[tokio::test]
async fn create_then_empty_plan_then_update_in_place() {
    let ws = Workspace::new();
    let providers = builtin();
    let graph = chain("a");
    let (plan, report) = ws.converge(&graph, &providers).await;
    assert_eq!(plan.summary().add, 3);
    assert!(plan.changes.iter().all(|c| c.reason == Some(Reason::NotInState)));
    // The provider predicts the seed's output (its input): app's input is
    // known at plan time; top's (app's id) only at apply.
    assert_eq!(
        plan.change(&address("stackc_data.app")).unwrap().config.get_path(&["input"]),
        Some(&Value::string("a"))
    );
    assert!(plan.change(&address("stackc_data.top")).unwrap().config.has_unknown());
    assert!(report.succeeded(), "{report:?}");
    let state = ws.state();
    assert_eq!(state.resources.len(), 3);
    assert_eq!(state.serial, 1);
    let app = &state.resources[&address("stackc_data.app")];
    assert_eq!(app.attributes.get_path(&["input"]), Some(&Value::string("a")));
    assert_eq!(app.dependencies, vec![address("stackc_data.seed")]);

    // Same configuration: nothing to do.
    let again = ws.plan(&graph, &providers, PlanOptions::new()).await;
    assert!(again.problems.is_empty());
    assert!(!again.plan.has_changes(), "{:?}", actions(&again.plan));

    // The seed's input changes: seed updated in place; app's input (the
    // seed's output) changes too, in place; top (app's id) is untouched.
    let changed = chain("b");
    let outcome = ws.plan(&changed, &providers, PlanOptions::new()).await;
    assert_eq!(
        actions(&outcome.plan),
        vec![
            ("stackc_data.seed".to_string(), Action::Update),
            ("stackc_data.app".to_string(), Action::Update)
        ]
    );
    let report = ws.apply(&outcome.plan, &changed, &providers).await;
    assert!(report.succeeded(), "{report:?}");
    assert!(!ws.plan(&changed, &providers, PlanOptions::new()).await.plan.has_changes());
    assert_eq!(ws.state().serial, 2);
}

#[tokio::test]
async fn a_force_new_change_replaces_and_names_the_attribute_and_dependents_follow() {
    let ws = Workspace::new();
    let providers = builtin();
    let graph = |trigger: f64| {
        GraphBuilder::default()
            .node(
                "stackc_data.seed",
                "stackc_data",
                None,
                object(&[("input", Value::string("x")), ("triggers_replace", Value::Number(trigger))]),
            )
            .referencing(
                "stackc_data.app",
                "stackc_data",
                None,
                object(&[]),
                ("input", "stackc_data.seed", "id"),
            )
            .build()
    };
    ws.converge(&graph(1.0), &providers).await;
    let old_id = ws.state().resources[&address("stackc_data.seed")].id.clone();
    let outcome = ws.plan(&graph(2.0), &providers, PlanOptions::new()).await;
    let seed = outcome.plan.change(&address("stackc_data.seed")).unwrap();
    assert_eq!(seed.action, Action::Replace);
    assert_eq!(seed.reason, Some(Reason::ForcedBy(vec!["triggers_replace".to_string()])));
    // The dependent's input is the seed's id: unknown now, an update in place.
    let app = outcome.plan.change(&address("stackc_data.app")).unwrap();
    assert_eq!(app.action, Action::Update);
    assert_eq!(app.planned.get_path(&["input"]), Some(&Value::Unknown));
    assert_eq!(outcome.plan.summary(), crate::plan::Summary { add: 1, change: 1, destroy: 1 });
    let report = ws.apply(&outcome.plan, &graph(2.0), &providers).await;
    assert!(report.succeeded(), "{report:?}");
    let state = ws.state();
    let new_id = &state.resources[&address("stackc_data.seed")].id;
    assert_ne!(new_id, &old_id);
    assert_eq!(
        state.resources[&address("stackc_data.app")].attributes.get_path(&["input"]),
        Some(&Value::string(new_id))
    );
    assert!(!ws.plan(&graph(2.0), &providers, PlanOptions::new()).await.plan.has_changes());
}

#[tokio::test]
async fn removed_resources_are_deleted_dependents_first_and_destroy_leaves_nothing() {
    let ws = Workspace::new();
    let (cloud, providers) = with_cloud();
    let graph = GraphBuilder::default()
        .node("fake_disk.base", TYPE, Some(TARGET), disk("base", 1.0))
        .referencing(
            "fake_disk.mid",
            TYPE,
            Some(TARGET),
            disk("mid", 1.0),
            ("size", "fake_disk.base", "size"),
        )
        .referencing(
            "fake_disk.leaf",
            TYPE,
            Some(TARGET),
            disk("leaf", 1.0),
            ("size", "fake_disk.mid", "size"),
        )
        .build();
    ws.converge(&graph, &providers).await;
    assert_eq!(cloud.count(), 3);
    let creates: Vec<String> = cloud.calls().into_iter().filter(|c| c.starts_with("create")).collect();
    assert_eq!(creates, ["create fake_disk.base", "create fake_disk.mid", "create fake_disk.leaf"]);

    // Only the base left in the configuration: leaf then mid are deleted.
    let smaller =
        GraphBuilder::default().node("fake_disk.base", TYPE, Some(TARGET), disk("base", 1.0)).build();
    cloud.calls.lock().unwrap().clear();
    let outcome = ws.plan(&smaller, &providers, PlanOptions::new()).await;
    assert!(outcome
        .plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .all(|c| c.reason == Some(Reason::NotInConfiguration)));
    let report = ws.apply(&outcome.plan, &smaller, &providers).await;
    assert!(report.succeeded());
    let deletes: Vec<String> = cloud.calls().into_iter().filter(|c| c.starts_with("delete")).collect();
    assert_eq!(deletes, ["delete fake_disk.leaf", "delete fake_disk.mid"]);

    // Destroy: everything, and the cloud is empty.
    let destroy = PlanOptions { destroy: true, ..PlanOptions::new() };
    let outcome = ws.plan(&smaller, &providers, destroy.clone()).await;
    assert_eq!(outcome.plan.summary().destroy, 1);
    assert!(ws.apply(&outcome.plan, &smaller, &providers).await.succeeded());
    assert_eq!(cloud.count(), 0);
    assert!(ws.state().resources.is_empty());
    assert!(!ws.plan(&smaller, &providers, destroy).await.plan.has_changes());
}

#[tokio::test]
async fn drift_is_reported_and_put_back_and_a_lost_object_is_created_again() {
    let ws = Workspace::new();
    let (cloud, providers) = with_cloud();
    let graph = GraphBuilder::default()
        .node("fake_disk.a", TYPE, Some(TARGET), disk("a", 10.0))
        .node("fake_disk.b", TYPE, Some(TARGET), disk("b", 20.0))
        .build();
    ws.converge(&graph, &providers).await;
    let state = ws.state();
    let (a_id, b_id) = (
        state.resources[&address("fake_disk.a")].id.clone(),
        state.resources[&address("fake_disk.b")].id.clone(),
    );
    {
        let mut objects = cloud.objects.lock().unwrap();
        let mut changed = objects[&a_id].clone();
        if let Value::Object(fields) = &mut changed {
            fields.insert("size".into(), Value::Number(11.0));
        }
        objects.insert(a_id.clone(), changed);
        objects.remove(&b_id);
    }
    let outcome = ws.plan(&graph, &providers, PlanOptions::new()).await;
    assert_eq!(outcome.plan.drift.len(), 2);
    let drift_a = outcome.plan.drift.iter().find(|d| d.address == address("fake_disk.a")).unwrap();
    assert_eq!(drift_a.actual.as_ref().unwrap().get_path(&["size"]), Some(&Value::Number(11.0)));
    assert!(outcome.plan.drift.iter().any(|d| d.address == address("fake_disk.b") && d.actual.is_none()));
    let a = outcome.plan.change(&address("fake_disk.a")).unwrap();
    assert_eq!(
        (a.action, a.prior.as_ref().unwrap().attributes.get_path(&["size"])),
        (Action::Update, Some(&Value::Number(11.0)))
    );
    let b = outcome.plan.change(&address("fake_disk.b")).unwrap();
    assert_eq!((b.action, b.reason.clone()), (Action::Create, Some(Reason::DeletedOutside)));

    // Without refresh, nothing is seen.
    let blind = ws.plan(&graph, &providers, PlanOptions { refresh: false, ..PlanOptions::new() }).await;
    assert!(!blind.plan.has_changes() && blind.plan.drift.is_empty());

    assert!(ws.apply(&outcome.plan, &graph, &providers).await.succeeded());
    assert_eq!(cloud.count(), 2);
    assert!(!ws.plan(&graph, &providers, PlanOptions::new()).await.plan.has_changes());
}

#[tokio::test]
async fn the_drift_policy_report_keeps_a_changed_object_but_a_lost_one_comes_back() {
    let ws = Workspace::new();
    let (cloud, providers) = with_cloud();
    let graph = GraphBuilder::default()
        .node("fake_disk.a", TYPE, Some(TARGET), disk("a", 10.0))
        .node("fake_disk.b", TYPE, Some(TARGET), disk("b", 20.0))
        .node("fake_disk.c", TYPE, Some(TARGET), disk("c", 30.0))
        .build();
    ws.converge(&graph, &providers).await;
    let state = ws.state();
    let id = |name: &str| state.resources[&address(name)].id.clone();
    {
        let mut objects = cloud.objects.lock().unwrap();
        for name in ["fake_disk.a", "fake_disk.c"] {
            let mut changed = objects[&id(name)].clone();
            if let Value::Object(fields) = &mut changed {
                fields.insert("size".into(), Value::Number(99.0));
            }
            objects.insert(id(name), changed);
        }
        objects.remove(&id("fake_disk.b"));
    }
    // `a` and `b` report drift; `c` (not named) is put back.
    let options =
        PlanOptions { report_drift: vec!["fake_disk.a".into(), "fake_disk.b".into()], ..PlanOptions::new() };
    let outcome = ws.plan(&graph, &providers, options.clone()).await;
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    let plan = &outcome.plan;
    assert_eq!(
        actions(plan),
        vec![("fake_disk.b".to_string(), Action::Create), ("fake_disk.c".to_string(), Action::Update)]
    );
    assert_eq!(
        plan.held,
        vec![crate::plan::HeldDrift { address: address("fake_disk.a"), attributes: vec!["size".into()] }]
    );
    // The kept object's real attributes are recorded by the apply.
    assert!(plan.refreshed.iter().any(|(a, r)| a == &address("fake_disk.a")
        && r.attributes.get_path(&["size"]) == Some(&Value::Number(99.0))));
    assert!(ws.apply(plan, &graph, &providers).await.succeeded());
    let objects = cloud.objects.lock().unwrap().clone();
    let size = |name: &str| {
        let state = ws.state();
        objects[&state.resources[&address(name)].id].get_path(&["size"]).cloned()
    };
    assert_eq!(
        (size("fake_disk.a"), size("fake_disk.b"), size("fake_disk.c")),
        (Some(Value::Number(99.0)), Some(Value::Number(20.0)), Some(Value::Number(30.0)))
    );
    // Still held on the next plan (the object still differs), nothing else to do.
    let again = ws.plan(&graph, &providers, options).await;
    assert!(actions(&again.plan).is_empty() && again.plan.held.len() == 1);
    // An instance's address names all of its resources.
    let by_instance = PlanOptions { report_drift: vec!["service.api".into()], ..PlanOptions::new() };
    assert!(by_instance.reports_drift_of(&address("service.api/docker_container.replica[0]")));
    assert!(!by_instance.reports_drift_of(&address("service.apix/docker_container.replica[0]")));
}

#[tokio::test]
async fn a_failure_stops_its_dependents_and_nothing_else() {
    let ws = Workspace::new();
    let (cloud, providers) = with_cloud();
    let graph = GraphBuilder::default()
        .node("fake_disk.bad", TYPE, Some(TARGET), disk("bad", 1.0))
        .referencing(
            "fake_disk.child",
            TYPE,
            Some(TARGET),
            disk("child", 1.0),
            ("size", "fake_disk.bad", "size"),
        )
        .referencing(
            "fake_disk.grandchild",
            TYPE,
            Some(TARGET),
            disk("gc", 1.0),
            ("size", "fake_disk.child", "size"),
        )
        .node("fake_disk.other", TYPE, Some(TARGET), disk("other", 1.0))
        .build();
    cloud.failing.lock().unwrap().insert("fake_disk.bad".into());
    let (_, report) = ws.converge(&graph, &providers).await;
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].code.as_deref(), Some("QuotaExceeded"));
    let skipped: Vec<&str> = report.skipped.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(skipped, ["fake_disk.child", "fake_disk.grandchild"]);
    assert!(report.skipped.iter().all(|(_, _, why)| why == "create of `fake_disk.bad` failed"));
    assert_eq!(report.done, vec![(address("fake_disk.other"), OperationKind::Create)]);
    let state = ws.state();
    assert_eq!(state.resources.keys().map(|a| a.as_str()).collect::<Vec<_>>(), ["fake_disk.other"]);

    // Fixed: the next apply does the rest.
    cloud.failing.lock().unwrap().clear();
    let (plan, report) = ws.converge(&graph, &providers).await;
    assert_eq!(plan.summary().add, 3);
    assert!(report.succeeded());
}

#[tokio::test]
async fn an_inconsistent_result_is_an_error_and_the_object_is_tainted_then_replaced() {
    let ws = Workspace::new();
    let (cloud, providers) = with_cloud();
    let graph = GraphBuilder::default().node("fake_disk.odd", TYPE, Some(TARGET), disk("odd", 5.0)).build();
    cloud.inconsistent.lock().unwrap().insert("fake_disk.odd".into());
    let (_, report) = ws.converge(&graph, &providers).await;
    assert_eq!(report.failed.len(), 1);
    let message = &report.failed[0].message;
    assert!(
        message.contains("inconsistent result: `size` differs from the plan: planned 5, got 999"),
        "{message}"
    );
    let state = ws.state();
    assert!(state.resources[&address("fake_disk.odd")].tainted);
    cloud.inconsistent.lock().unwrap().clear();
    let outcome = ws.plan(&graph, &providers, PlanOptions::new()).await;
    let change = outcome.plan.change(&address("fake_disk.odd")).unwrap();
    assert_eq!((change.action, change.reason.clone()), (Action::Replace, Some(Reason::Tainted)));
    assert!(ws.apply(&outcome.plan, &graph, &providers).await.succeeded());
    assert_eq!(cloud.count(), 1, "the tainted object was deleted");
}

#[tokio::test]
async fn a_graceful_cancel_lets_running_operations_finish_and_starts_nothing_new() {
    let ws = Workspace::new();
    let (cloud, providers) = with_cloud();
    *cloud.delay.lock().unwrap() = Duration::from_millis(200);
    let mut builder = GraphBuilder::default();
    for i in 0..6 {
        builder = builder.node(&format!("fake_disk.d{i}"), TYPE, Some(TARGET), disk(&format!("d{i}"), 1.0));
    }
    let graph = builder.build();
    let outcome = ws.plan(&graph, &providers, PlanOptions::new()).await;
    let (canceller, receiver) = Canceller::new();
    let cancel = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        canceller.escalate();
    });
    let report = ws.apply_with(&outcome.plan, &graph, &providers, receiver, 2).await;
    cancel.await.unwrap();
    assert!(report.cancelled);
    assert_eq!(report.done.len(), 2, "the two running creates finished: {report:?}");
    assert_eq!(report.skipped.len(), 4);
    assert!(report.interrupted.is_empty());
    assert_eq!(ws.state().resources.len(), 2);
    assert_eq!(cloud.count(), 2);
}

#[tokio::test]
async fn an_immediate_cancel_drops_running_operations_and_keeps_the_state_consistent() {
    let ws = Workspace::new();
    let (cloud, providers) = with_cloud();
    *cloud.delay.lock().unwrap() = Duration::from_secs(30);
    let graph = GraphBuilder::default().node("fake_disk.slow", TYPE, Some(TARGET), disk("slow", 1.0)).build();
    let outcome = ws.plan(&graph, &providers, PlanOptions::new()).await;
    let (canceller, receiver) = Canceller::new();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(canceller.escalate(), CancelLevel::Graceful);
        assert_eq!(canceller.escalate(), CancelLevel::Immediate);
    });
    let started = std::time::Instant::now();
    let report = ws.apply_with(&outcome.plan, &graph, &providers, receiver, 2).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(report.interrupted, vec![(address("fake_disk.slow"), OperationKind::Create)]);
    assert!(ws.state().resources.is_empty());
    assert_eq!(cloud.count(), 0);
}

#[tokio::test]
async fn only_and_exclude_select_resources_with_their_dependencies_or_dependents() {
    let ws = Workspace::new();
    let providers = builtin();
    let graph = chain("a");
    let only = PlanOptions { only: vec!["stackc_data.app".into()], ..PlanOptions::new() };
    let outcome = ws.plan(&graph, &providers, only).await;
    assert_eq!(
        actions(&outcome.plan),
        vec![
            ("stackc_data.seed".to_string(), Action::Create),
            ("stackc_data.app".to_string(), Action::Create)
        ]
    );
    let exclude =
        PlanOptions { exclude: vec!["stackc_data.app".into(), "nothing.here".into()], ..PlanOptions::new() };
    let outcome = ws.plan(&graph, &providers, exclude).await;
    assert_eq!(actions(&outcome.plan), vec![("stackc_data.seed".to_string(), Action::Create)]);
    assert_eq!(outcome.unmatched_patterns, vec!["nothing.here".to_string()]);
}

#[tokio::test]
async fn generated_passwords_are_sensitive_in_plan_and_state_and_kept() {
    let ws = Workspace::new();
    let providers = builtin();
    let graph = GraphBuilder::default()
        .node("random_password.db", "random_password", None, object(&[("length", Value::Number(24.0))]))
        .referencing(
            "stackc_data.user",
            "stackc_data",
            None,
            object(&[]),
            ("input", "random_password.db", "result"),
        )
        .build();
    let (plan, report) = ws.converge(&graph, &providers).await;
    assert!(report.succeeded());
    let planned = plan.change(&address("random_password.db")).unwrap();
    assert!(matches!(planned.planned.get_path(&["result"]), Some(Value::Sensitive(_))));
    let state = ws.state();
    let password =
        state.resources[&address("random_password.db")].attributes.get_path(&["result"]).unwrap().clone();
    assert!(matches!(password, Value::Sensitive(_)));
    // The value flows, marked, into the dependent.
    assert!(state.resources[&address("stackc_data.user")]
        .attributes
        .get_path(&["output"])
        .unwrap()
        .has_sensitive());
    assert!(!ws.plan(&graph, &providers, PlanOptions::new()).await.plan.has_changes());
    assert_eq!(
        ws.state().resources[&address("random_password.db")].attributes.get_path(&["result"]),
        Some(&password)
    );
}

/// Property: for random graphs and random configuration changes, applying
/// a plan and planning again gives no changes.
#[tokio::test]
async fn apply_then_plan_is_empty_for_random_graphs() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _trial in 0..12 {
        let ws = Workspace::new();
        let (cloud, providers) = with_cloud();
        for _round in 0..3 {
            let count = 1 + next(12) as usize;
            let mut builder = GraphBuilder::default();
            for i in 0..count {
                let name = format!("n{}", next(3) + i as u64 * 10);
                let size = next(4) as f64;
                let addr = format!("fake_disk.r{i}");
                builder = if i > 0 && next(2) == 0 {
                    let parent = format!("fake_disk.r{}", next(i as u64));
                    let field = if next(2) == 0 { "size" } else { "arn" };
                    let attribute = if field == "size" { "size" } else { "secret" };
                    builder.referencing(
                        &addr,
                        TYPE,
                        Some(TARGET),
                        disk(&name, size),
                        (attribute, &parent, field),
                    )
                } else {
                    builder.node(&addr, TYPE, Some(TARGET), disk(&name, size))
                };
            }
            let graph = builder.build();
            let (_, report) = ws.converge(&graph, &providers).await;
            assert!(report.succeeded(), "{report:?}");
            let again = ws.plan(&graph, &providers, PlanOptions::new()).await;
            assert!(!again.plan.has_changes(), "{:?}", actions(&again.plan));
            assert_eq!(cloud.count(), count, "one object per resource, no leftovers");
        }
    }
}

/// Kills an apply (drops it without committing, as kill -9 does) while the
/// create of `fake_disk.a` has made its object but not answered: the
/// journal holds the create's intent, not its result.
async fn killed_during_create(
    ws: &Workspace,
    cloud: &FakeCloud,
    graph: &ResourceGraph,
    providers: &ProviderSet,
) {
    *cloud.answer_delay.lock().unwrap() = Duration::from_secs(30);
    let outcome = ws.plan(graph, providers, PlanOptions::new()).await;
    let guard = ws.backend.lock("apply").unwrap();
    let mut state = ws.state();
    let mut journal = ws.backend.begin_journal(&guard, &mut state).unwrap();
    let (_canceller, receiver) = Canceller::new();
    let apply = apply(ApplyInput {
        plan: &outcome.plan,
        graph,
        providers,
        state: &mut state,
        journal: &mut journal,
        parallelism: 4,
        observer: &Silent,
        cancel: receiver,
    });
    let _ = tokio::time::timeout(Duration::from_millis(300), apply).await;
    drop(journal);
    drop(guard);
    *cloud.answer_delay.lock().unwrap() = Duration::ZERO;
    assert_eq!(cloud.count(), 1, "the create reached the cloud");
}

#[tokio::test]
async fn a_create_of_a_killed_apply_is_adopted_at_its_address_not_made_twice() {
    let ws = Workspace::new();
    let (cloud, providers) = with_cloud();
    let graph = GraphBuilder::default().node("fake_disk.a", TYPE, Some(TARGET), disk("a", 1.0)).build();
    killed_during_create(&ws, &cloud, &graph, &providers).await;

    // The journal replays the intent; the state does not know the object.
    let state = ws.state();
    assert!(state.resources.is_empty());
    assert_eq!(state.intents.keys().collect::<Vec<_>>(), vec![&address("fake_disk.a")]);
    assert_eq!(state.intents[&address("fake_disk.a")].config.get_path(&["name"]), Some(&Value::string("a")));

    // The next plan finds it and keeps it; the apply records it, closes the intent.
    let (plan, report) = ws.converge(&graph, &providers).await;
    assert!(actions(&plan).is_empty(), "{:?}", actions(&plan));
    assert_eq!(plan.refreshed.len(), 1);
    assert!(report.succeeded(), "{report:?}");
    let state = ws.state();
    assert!(state.intents.is_empty());
    let id = cloud.objects.lock().unwrap().keys().next().cloned().unwrap();
    assert_eq!(state.resources[&address("fake_disk.a")].id, id);
    assert_eq!(cloud.count(), 1, "not created twice");
    assert_eq!(cloud.calls().iter().filter(|c| c.starts_with("create")).count(), 1);
    let again = ws.plan(&graph, &providers, PlanOptions::new()).await;
    assert!(!again.plan.has_changes());
    let finds = cloud.calls().iter().filter(|c| c.starts_with("find")).count();
    assert_eq!(finds, 1, "looked for once; a closed intent is not looked for again");
}

#[tokio::test]
async fn a_create_of_a_killed_apply_is_destroyed_and_an_intent_that_made_nothing_is_closed() {
    let ws = Workspace::new();
    let (cloud, providers) = with_cloud();
    let graph = GraphBuilder::default().node("fake_disk.a", TYPE, Some(TARGET), disk("a", 1.0)).build();
    killed_during_create(&ws, &cloud, &graph, &providers).await;
    let outcome = ws.plan(&graph, &providers, PlanOptions { destroy: true, ..PlanOptions::new() }).await;
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    assert_eq!(actions(&outcome.plan), vec![("fake_disk.a".to_string(), Action::Delete)]);
    let report = ws.apply(&outcome.plan, &graph, &providers).await;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(cloud.count(), 0, "the object of the killed create is deleted");
    assert!(ws.state().resources.is_empty() && ws.state().intents.is_empty());

    // An intent whose create never reached the cloud: closed, created once.
    killed_during_create(&ws, &cloud, &graph, &providers).await;
    cloud.objects.lock().unwrap().clear();
    let (plan, report) = ws.converge(&graph, &providers).await;
    assert_eq!(actions(&plan), vec![("fake_disk.a".to_string(), Action::Create)]);
    assert!(report.succeeded(), "{report:?}");
    assert!(ws.state().intents.is_empty());
    assert_eq!(cloud.count(), 1);
}

#[tokio::test]
async fn a_dependent_stops_using_an_object_before_it_is_deleted() {
    // A load balancer's configuration names two replicas; one goes (a
    // scale-down): the configuration is updated before the replica stops.
    let ws = Workspace::new();
    let (_cloud, providers) = with_cloud();
    let two = GraphBuilder::default()
        .node("fake_disk.r0", TYPE, Some(TARGET), disk("r0", 1.0))
        .node("fake_disk.r1", TYPE, Some(TARGET), disk("r1", 1.0))
        .referencing("fake_disk.lb", TYPE, Some(TARGET), disk("lb", 1.0), ("size", "fake_disk.r1", "size"))
        .build();
    ws.converge(&two, &providers).await;
    let one = GraphBuilder::default()
        .node("fake_disk.r0", TYPE, Some(TARGET), disk("r0", 2.0))
        .referencing("fake_disk.lb", TYPE, Some(TARGET), disk("lb", 1.0), ("size", "fake_disk.r0", "size"))
        .build();
    let outcome = ws.plan(&one, &providers, PlanOptions::new()).await;
    let order = crate::apply::order_of(&outcome.plan);
    assert!(order.contains(&("update fake_disk.lb".into(), "delete fake_disk.r1".into())), "{order:?}");
    assert!(ws.apply(&outcome.plan, &one, &providers).await.succeeded());
    // A replace of what it still uses is not reordered (no cycle).
    let replaced = GraphBuilder::default()
        .node("fake_disk.r0", TYPE, Some(TARGET), disk("r0-new", 2.0))
        .referencing("fake_disk.lb", TYPE, Some(TARGET), disk("lb", 1.0), ("size", "fake_disk.r0", "size"))
        .build();
    let outcome = ws.plan(&replaced, &providers, PlanOptions::new()).await;
    let order = crate::apply::order_of(&outcome.plan);
    assert!(!order.contains(&("update fake_disk.lb".into(), "delete fake_disk.r0".into())), "{order:?}");
    assert!(ws.apply(&outcome.plan, &replaced, &providers).await.succeeded());
}

/// An instance with an autoscale policy (`stackc_data`) and `replicas`
/// replicas (fake disks).
fn autoscaled(replicas: usize) -> ResourceGraph {
    let policy = Value::from_json(&serde_json::json!({
        "autoscale": {"min": 2, "max": 12, "cpu_target": 70, "replicas": "fake_disk.replica"},
    }));
    let mut graph = GraphBuilder::default().node(
        "service.api/stackc_data.autoscale[0]",
        "stackc_data",
        None,
        data(policy),
    );
    for i in 0..replicas {
        graph = graph.node(
            &format!("service.api/fake_disk.replica[{i}]"),
            TYPE,
            Some(TARGET),
            disk(&format!("api-{i}"), 1.0),
        );
    }
    graph.build()
}

#[tokio::test]
async fn plan_shows_the_autoscaled_count_without_changing_it() {
    let ws = Workspace::new();
    let (_cloud, providers) = with_cloud();
    ws.converge(&autoscaled(4), &providers).await;
    // The recorded count is what expansion gives: no change, and said.
    let outcome = ws.plan(&autoscaled(4), &providers, PlanOptions::new()).await;
    assert!(!outcome.plan.has_changes());
    let sources = stackc_model::Sources::new();
    let text = crate::render::plan_text(&outcome.plan, &sources, crate::render::Style::default());
    insta::assert_snapshot!("autoscaled_unchanged", text);
    let json = crate::render::plan_json(&outcome.plan, &sources);
    insta::assert_json_snapshot!("autoscaled_unchanged_json", json["autoscaled"]);
    // A step recorded 6: the plan adds two and says so.
    let outcome = ws.plan(&autoscaled(6), &providers, PlanOptions::new()).await;
    let text = crate::render::plan_text(&outcome.plan, &sources, crate::render::Style::default());
    let autoscaled_part = text.split("Autoscaled:").nth(1).unwrap_or_default();
    insta::assert_snapshot!("autoscaled_up", autoscaled_part);
    // Destroying: no autoscaling section.
    let destroy = PlanOptions { destroy: true, ..PlanOptions::new() };
    let outcome = ws.plan(&autoscaled(4), &providers, destroy).await;
    let text = crate::render::plan_text(&outcome.plan, &sources, crate::render::Style::default());
    assert!(!text.contains("Autoscaled"), "{text}");
    assert!(crate::render::plan_json(&outcome.plan, &sources).get("autoscaled").is_none());
}

#[tokio::test]
async fn a_step_records_the_count_and_says_why_when_nothing_can_be_measured() {
    let ws = Workspace::new();
    let (_cloud, providers) = with_cloud();
    ws.converge(&autoscaled(3), &providers).await;
    let mut state = ws.state();
    // The fake cloud measures nothing (the trait's default): no change,
    // the count recorded as it is, and the provider's sentence in the reason.
    let events = crate::autoscale::step(&mut state, &providers, 1_764_000_000_000).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!((event.instance.as_str(), event.from, event.to), ("service.api", 3, 3));
    assert_eq!(
        event.to_string(),
        "service.api: 3 replicas, cpu unknown (target 70%, 0 of 3 reported): no replica reported a metric \
         (a replica could not be measured: the fake provider cannot measure `service.api/fake_disk.replica[0]` \
         (fake_disk))"
    );
    assert_eq!(state.autoscaled_replicas(), IndexMap::from([("service.api".to_string(), 3)]));
    // An invalid policy is reported, not acted on.
    let address = address("service.api/stackc_data.autoscale[0]");
    let resource = state.resources.get_mut(&address).unwrap();
    resource.attributes =
        Value::from_json(&serde_json::json!({"input": {"autoscale": {"min": 3, "max": 2}}}));
    let events = crate::autoscale::step(&mut state, &providers, 1_764_000_001_000).await;
    assert!(
        events[0].reason.starts_with("not scaled: its autoscale policy is invalid: needs 1 <= min <= max"),
        "{events:?}"
    );
}
