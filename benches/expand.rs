//! Expansion benchmark: stacks of 100, 1,000 and 10,000 `service`
//! instances (each with a port and autoscaling: Deployment + Service + HPA
//! on kubernetes, so ~3 resources per instance plus the namespace) expand
//! in time and memory linear in the number of instances.
//!
//! Run: `cargo bench --bench expand` (release). Parses with the front end's
//! parser and evaluates with the real expression evaluator; the numbers
//! measure expansion itself (scope capture, evaluation, ordering, schema
//! checks, graph building), reported next to the time to parse the same
//! stack and to `check` it (what `stackc check` does before expanding).
//! 3,334 instances make the ~10,000 resources issue 3 asks about.

use stackc_compiler::eval::ExpressionEvaluator;
use stackc_compiler::expand::test_support::parse;
use stackc_compiler::expand::{expand, no_span, ExpandOptions};
use stackc_compiler::schema::{AttributeMode, AttributeSchema, ResourceSchema, SchemaSet};
use stackc_compiler::source::FileId;
use stackc_compiler::types::Type;
use stackc_compiler::{CheckOptions, Origin, SourceFile, Sources};
use std::alloc::{GlobalAlloc, Layout};

mod common;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Counts live and peak heap bytes, over the binary's allocator (mimalloc,
/// src/main.rs), so the times are the binary's.
struct Counting;

static ALLOCATOR_BELOW: mimalloc::MiMalloc = mimalloc::MiMalloc;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { ALLOCATOR_BELOW.alloc(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { ALLOCATOR_BELOW.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { ALLOCATOR_BELOW.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn stack(instances: usize) -> String {
    let mut text = String::from("target \"kubernetes\" { namespace = \"bench\" }\n");
    for i in 0..instances {
        text.push_str(&format!(
            "service \"svc{i}\" {{\n  image = \"registry.example.com/svc{i}:1.0\"\n  port = 8080\n  env = {{ INDEX = \"{i}\" }}\n  health {{ path = \"/healthz\" }}\n  autoscale {{\n    min = 2\n    max = 6\n  }}\n}}\n"
        ));
    }
    text
}

fn schemas() -> SchemaSet {
    let mut set = SchemaSet::default();
    set.add(
        ResourceSchema::new("kubernetes_manifest", Some("kubernetes"))
            .attribute(
                "manifest",
                AttributeSchema::new(Type::Map(Box::new(Type::Any)), AttributeMode::Required),
            )
            .attribute("uid", AttributeSchema::new(Type::String, AttributeMode::Computed))
            .attribute(
                "object",
                AttributeSchema::new(Type::Map(Box::new(Type::Any)), AttributeMode::Computed),
            ),
    );
    set
}

fn main() {
    let schemas = schemas();
    println!(
        "{:>9} {:>9} {:>10} {:>10} {:>11} {:>12} {:>12} {:>14}",
        "instances",
        "resources",
        "parse ms",
        "check ms",
        "expand ms",
        "us/instance",
        "peak MiB",
        "expand/check"
    );
    let mut previous: Option<(usize, f64)> = None;
    for instances in [100usize, 1_000, 3_334, 10_000] {
        let text = stack(instances);
        let started = Instant::now();
        let user = parse(FileId(0), &text);
        let parse_ms = started.elapsed().as_secs_f64() * 1e3;
        drop(user);
        let mut sources = Sources::new();
        sources.add(SourceFile::new("bench.stack.hcl", text.clone(), Origin::User));
        for (path, text) in stackc_compiler::stdlib::files() {
            sources.add(SourceFile::new(*path, *text, Origin::Stdlib));
        }
        let started = Instant::now();
        let mut checked = stackc_compiler::check(&sources, &CheckOptions::default());
        let check_ms = started.elapsed().as_secs_f64() * 1e3;
        assert!(!checked.diagnostics.iter().any(|d| d.is_error()), "{:?}", checked.diagnostics.first());
        let stack = checked.stack.take().expect("checked stack");
        drop(checked);
        let baseline = LIVE.load(Ordering::Relaxed);
        PEAK.store(baseline, Ordering::Relaxed);
        let started = Instant::now();
        let options = ExpandOptions {
            target: None,
            prior: None,
            evaluator: Arc::new(ExpressionEvaluator::new()),
            command_line_span: no_span(),
            target_defaults: Default::default(),
            autoscaled_replicas: Default::default(),
            rollouts: Default::default(),
        };
        let (graph, diagnostics) = expand(&stack, &schemas, options);
        let expand_ms = started.elapsed().as_secs_f64() * 1e3;
        let peak = PEAK.load(Ordering::Relaxed).saturating_sub(baseline);
        assert!(diagnostics.is_empty(), "{:?}", diagnostics.first());
        let resources = graph.map_or(0, |g| g.len());
        println!(
            "{instances:>9} {resources:>9} {parse_ms:>10.1} {check_ms:>10.1} {expand_ms:>11.1} {:>12.1} {:>12.1} {:>13.2}x",
            expand_ms * 1e3 / instances as f64,
            peak as f64 / (1024.0 * 1024.0),
            expand_ms / check_ms,
        );
        common::print_growth(&mut previous, instances, expand_ms, "expand");
    }
}
