//! `cargo bench --bench plan`: how plan and apply scale with the number of
//! resources (issue 4's measures).
//!
//! A generated stack of N `stackc_data` resources, resource i referencing
//! the id of resource i/10 (so every configuration but the root's is known
//! only after apply, and the dependency tree is ten wide). Three scenarios,
//! each in its own child process (so peak memory is its own), each timed
//! end to end as `stackc` runs it, with the parts shown:
//!
//! - `plan`: compile (parse, check, expand) + plan from an empty state;
//! - `apply`: compile + plan + apply from empty through the real state
//!   backend (journal, then one atomic state write);
//! - `noop`: compile + refresh + plan against the full state (nothing to do).
//!
//! Reference (issue 4): Terraform 1.11.4 with terraform_data on this kind of
//! machine: plan 1k 6.3 s, 10k 69 s / 693 MB, 50k 460 s / 2.9 GB; apply 2k
//! 311 s. Goals: plan 10k < 0.7 s, apply 2k < 1 s, apply 10k < 5 s, linear.
//!
//! `cargo bench --bench plan -- --sizes 1000,2000` picks other sizes.

/// The binary's allocator (src/main.rs), so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use stackc_compiler::eval::ExpressionEvaluator;
use stackc_compiler::expand::{expand, no_span, ExpandOptions};
use stackc_compiler::graph::ResourceGraph;
use stackc_compiler::schema::SchemaSet;
use stackc_compiler::{CheckOptions, Origin, SourceFile, Sources};
use stackc_planner::apply::{apply, ApplyInput, Canceller, Silent};
use stackc_planner::backend::LocalBackend;
use stackc_planner::plan::PlanOptions;
use stackc_planner::planning::{plan, PlanInput};
use stackc_planner::providers::ProviderSet;
use stackc_provider_builtin::BuiltinProvider;
mod common;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEFAULT_SIZES: &[usize] = &[1_000, 2_000, 10_000, 50_000];
const SCENARIOS: &[&str] = &["plan", "apply", "noop"];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|a| a == "--child") {
        let scenario = args[position + 1].clone();
        let size = args.get(position + 2).and_then(|s| s.parse().ok()).expect("--child <scenario> <size>");
        child(&scenario, size);
        return;
    }
    let sizes = common::sizes(&args, DEFAULT_SIZES);
    println!(
        "{:>8} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "scenario", "N", "total ms", "compile", "refresh+plan", "apply", "commit", "us/res", "peak MiB"
    );
    for scenario in SCENARIOS {
        let mut points: Vec<(usize, f64)> = Vec::new();
        for &size in &sizes {
            let fields = match common::child_numbers(&[scenario, &size.to_string()]) {
                Ok(fields) => fields,
                Err(why) => {
                    println!("{scenario:>8} {size:>7} failed: {why}");
                    continue;
                }
            };
            let [compile, planning, applying, commit, total, peak_kib] = fields[..] else {
                println!("{scenario:>8} {size:>7} unexpected child output: {fields:?}");
                continue;
            };
            println!(
                "{scenario:>8} {size:>7} {total:>10.1} {compile:>10.1} {planning:>10.1} {applying:>10.1} {commit:>10.1} {:>10.1} {:>9.1}",
                total * 1000.0 / size as f64,
                peak_kib / 1024.0
            );
            points.push((size, total));
        }
        if let (Some(first), Some(last)) = (points.first(), points.last()) {
            if last.0 > first.0 {
                let exponent = (last.1 / first.1).ln() / (last.0 as f64 / first.0 as f64).ln();
                println!(
                    "{scenario:>8} scaling exponent {} -> {}: {exponent:.2} (1.0 is linear)",
                    first.0, last.0
                );
            }
        }
    }
}

/// `stackc_data.n{i}`, each but the first with input = the id of n{i/10}.
fn generate(size: usize) -> String {
    let mut text = String::with_capacity(size * 80);
    text.push_str("resource \"stackc_data\" \"n0\" {\n  input = \"root\"\n}\n");
    for i in 1..size {
        text.push_str(&format!(
            "resource \"stackc_data\" \"n{i}\" {{\n  input = stackc_data.n{}.id\n}}\n",
            i / 10
        ));
    }
    text
}

fn compile(text: &str) -> ResourceGraph {
    let mut sources = Sources::new();
    sources.add(SourceFile::new("bench.stack.hcl", text.to_string(), Origin::User));
    for (path, text) in stackc_compiler::stdlib::files() {
        sources.add(SourceFile::new(*path, *text, Origin::Stdlib));
    }
    let mut checked = stackc_compiler::check(&sources, &CheckOptions::default());
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics.first());
    let hir = checked.stack.take().expect("checked stack");
    let mut schemas = SchemaSet::default();
    for schema in stackc_provider_builtin::schemas() {
        schemas.add(schema);
    }
    let options = ExpandOptions {
        target: None,
        prior: None,
        evaluator: Arc::new(ExpressionEvaluator::new()),
        command_line_span: no_span(),
        target_defaults: Default::default(),
        autoscaled_replicas: Default::default(),
        rollouts: Default::default(),
    };
    let (graph, diagnostics) = expand(&hir, &schemas, options);
    assert!(diagnostics.iter().all(|d| !d.is_error()), "{:?}", diagnostics.first());
    graph.expect("graph")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Prints `compile plan apply commit total peak_kib` (ms, KiB).
fn child(scenario: &str, size: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let text = generate(size);
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = LocalBackend::new(dir.path(), None);
    let providers = ProviderSet::new().with_builtin(Arc::new(BuiltinProvider::new()));

    if scenario == "noop" {
        // Set up a full state first (not measured).
        let graph = compile(&text);
        apply_all(&runtime, &backend, &graph, &providers);
    }

    let start = Instant::now();
    let graph = compile(&text);
    let compiled = start.elapsed();
    let state = match backend.load().expect("state loads") {
        Some(state) => state,
        None => backend.new_state("bench").expect("new state"),
    };
    let options = PlanOptions::new();
    let outcome = runtime.block_on(plan(PlanInput {
        graph: &graph,
        state: &state,
        providers: &providers,
        options: &options,
    }));
    assert!(outcome.problems.is_empty());
    let planned = start.elapsed();
    match scenario {
        "plan" => assert_eq!(outcome.plan.summary().add, size),
        "noop" => assert!(!outcome.plan.has_changes()),
        _ => {}
    }
    let (mut applied, mut committed) = (planned, planned);
    if scenario == "apply" {
        let (_journaled, state) =
            apply_plan(&runtime, &backend, state, &outcome.plan, &graph, &providers, || {
                applied = start.elapsed();
            });
        committed = start.elapsed();
        assert_eq!(state.resources.len(), size);
    }
    println!(
        "{:.3} {:.3} {:.3} {:.3} {:.3} {}",
        ms(compiled),
        ms(planned - compiled),
        ms(applied - planned),
        ms(committed - applied),
        ms(committed),
        common::peak_kib()
    );
}

fn apply_all(
    runtime: &tokio::runtime::Runtime,
    backend: &LocalBackend,
    graph: &ResourceGraph,
    providers: &ProviderSet,
) {
    let state = backend.new_state("bench").expect("state");
    let options = PlanOptions::new();
    let outcome = runtime.block_on(plan(PlanInput { graph, state: &state, providers, options: &options }));
    apply_plan(runtime, backend, state, &outcome.plan, graph, providers, || {});
}

/// Applies `plan` under the lock through the journal; `applied` is called
/// between the apply and the commit (which rewrites the state once).
fn apply_plan(
    runtime: &tokio::runtime::Runtime,
    backend: &LocalBackend,
    mut state: stackc_planner::state::State,
    plan: &stackc_planner::plan::Plan,
    graph: &ResourceGraph,
    providers: &ProviderSet,
    applied: impl FnOnce(),
) -> (usize, stackc_planner::state::State) {
    let guard = backend.lock("apply").expect("lock");
    let mut journal = backend.begin_journal(&guard, &mut state).expect("journal");
    let (_canceller, cancel) = Canceller::new();
    let report = runtime
        .block_on(apply(ApplyInput {
            plan,
            graph,
            providers,
            state: &mut state,
            journal: &mut journal,
            parallelism: 10,
            observer: &Silent,
            cancel,
        }))
        .expect("apply");
    assert!(report.succeeded());
    let recorded = journal.len();
    applied();
    journal.commit(&mut state).expect("commit");
    (recorded, state)
}
