//! `cargo bench --bench check`: how `stackc_compiler::check` scales with the
//! size of a stack, against a bare hcl-edit parse of the same text (issue 2's
//! goal: within 2x of the parse, growing linearly).
//!
//! For each size (100, 1,000, 10,000 component instances: services, databases,
//! volumes and configs referring to each other, spread over files of 250
//! instances) a child process generates the stack, times `check`, the
//! front end's own `syntax::parse` (scan + hcl-edit + lowering, the part of
//! `check` before resolve) and a bare hcl-edit `parse_body` (best of several
//! runs each, interleaved; both parses cover the same texts as `check`: the
//! generated files plus the embedded stdlib; `check` gets its `Sources`
//! ready-made, as reading files is the binary's I/O) and reads its peak
//! resident memory (`VmHWM`); running each size in its own process keeps the
//! peaks apart.
//! No benchmarking crate: a plain `main` that times and prints is enough here
//! and keeps the build lean.
//!
//! `cargo bench --bench check -- --sizes 100,1000` picks other sizes.

use stackc_compiler::{CheckOptions, Origin, SourceFile, Sources};

/// The binary's allocator (src/main.rs), so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
mod common;
use std::time::{Duration, Instant};

const DEFAULT_SIZES: &[usize] = &[100, 1_000, 10_000];
const INSTANCES_PER_FILE: usize = 250;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|a| a == "--child") {
        let size = args.get(position + 1).and_then(|s| s.parse().ok()).expect("--child <size>");
        child(size);
        return;
    }
    let sizes = common::sizes(&args, DEFAULT_SIZES);
    println!(
        "{:>9} {:>6} {:>10} {:>10} {:>10} {:>10} {:>7} {:>12} {:>11} {:>6}",
        "instances",
        "files",
        "bytes",
        "parse ms",
        "syntax ms",
        "check ms",
        "ratio",
        "check us/inst",
        "peak MiB",
        "diags"
    );
    let mut previous: Option<(usize, f64)> = None;
    for size in sizes {
        let fields = match common::child_numbers(&[&size.to_string()]) {
            Ok(fields) => fields,
            Err(why) => {
                println!("{size:>9} failed: {why}");
                continue;
            }
        };
        let [files, bytes, parse_ms, syntax_ms, check_ms, peak_kib, diagnostics] = fields[..] else {
            println!("{size:>9} unexpected child output: {fields:?}");
            continue;
        };
        println!(
            "{size:>9} {files:>6} {bytes:>10} {parse_ms:>10.2} {syntax_ms:>10.2} {check_ms:>10.2} {:>6.2}x {:>12.2} {:>11.1} {diagnostics:>6}",
            check_ms / parse_ms,
            check_ms * 1000.0 / size as f64,
            peak_kib / 1024.0,
        );
        common::print_growth(&mut previous, size, check_ms, "check");
    }
}

/// Generates, measures and prints `files bytes parse_ms syntax_ms check_ms peak_kib diagnostics`.
fn child(size: usize) {
    let files = generate(size);
    let bytes: usize = files.iter().map(|(_, text)| text.len()).sum();
    let runs = if size >= 10_000 { 5 } else { 9 };

    // `check` parses the embedded stdlib as well as the user's files, so the
    // parse baselines cover the same texts.
    let texts: Vec<&str> = files
        .iter()
        .map(|(_, text)| text.as_str())
        .chain(stackc_compiler::stdlib::files().iter().map(|(_, text)| *text))
        .collect();
    let mut sources = Sources::new();
    for (name, text) in &files {
        sources.add(SourceFile::new(name.clone(), text.clone(), Origin::User));
    }
    for (path, text) in stackc_compiler::stdlib::files() {
        sources.add(SourceFile::new(*path, *text, Origin::Stdlib));
    }

    // The three measures are interleaved, best of `runs` each, so a load
    // change on a shared machine hits them alike and the ratios hold.
    let (mut parse, mut syntax, mut check) = (Duration::MAX, Duration::MAX, Duration::MAX);
    let mut diagnostics = 0;
    for _ in 0..runs {
        parse = parse.min(timed(|| {
            for text in &texts {
                let body = hcl_edit::parser::parse_body(text).expect("generated stack parses");
                std::hint::black_box(body);
            }
        }));
        syntax = syntax.min(timed(|| {
            for (i, text) in texts.iter().enumerate() {
                let (file, diagnostics) =
                    stackc_compiler::syntax::parse(stackc_compiler::FileId(i as u32), text);
                assert!(diagnostics.is_empty(), "generated stack has syntax diagnostics");
                std::hint::black_box(file);
            }
        }));
        check = check.min(timed(|| {
            let checked = stackc_compiler::check(&sources, &CheckOptions::default());
            diagnostics = checked.diagnostics.len();
            std::hint::black_box(checked);
        }));
    }

    println!(
        "{} {bytes} {:.3} {:.3} {:.3} {} {diagnostics}",
        files.len(),
        parse.as_secs_f64() * 1000.0,
        syntax.as_secs_f64() * 1000.0,
        check.as_secs_f64() * 1000.0,
        common::peak_kib()
    );
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// A valid stack of `size` component instances: per group of ten, one
/// database, one config, three volumes and five services; services read the
/// database's url, mount a volume and a config, and every fifth one sits behind
/// a load balancer (counted as an instance). Plus a few variables and locals.
fn generate(size: usize) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut text = String::from(
        "variable \"registry\" {\n  type    = string\n  default = \"registry.example.com/shop\"\n}\n\n\
         variable \"replicas\" {\n  type    = number\n  default = 2\n  validation {\n    condition = var.replicas >= 1\n    message   = \"At least one replica.\"\n  }\n}\n\n\
         locals {\n  version = \"1.4.2\"\n  labels  = { team = \"shop\", tier = \"app\" }\n}\n\n",
    );
    let mut in_file = 0;
    for i in 0..size {
        let group = i / 10;
        let instance = match i % 10 {
            0 => format!(
                "database \"db{group}\" {{\n  engine    = \"postgres\"\n  instances = 3\n  storage   = \"20Gi\"\n}}\n\n"
            ),
            1 => format!(
                "config \"cfg{group}\" {{\n  data = {{ \"app.json\" = jsonencode(local.labels), MODE = \"prod\" }}\n}}\n\n"
            ),
            2..=4 => format!("volume \"vol{i}\" {{\n  size = \"{}Gi\"\n}}\n\n", 1 + i % 50),
            9 => format!(
                "load_balancer \"lb{group}\" {{\n  port = 80\n  to   = service.svc{}\n}}\n\n",
                i - 1
            ),
            // Services (i % 10 in 5..=8) refer to their group's database,
            // config and volumes, all declared earlier in the group.
            _ => format!(
                "service \"svc{i}\" {{\n  image       = \"${{var.registry}}/svc{i}:${{local.version}}\"\n  replicas    = var.replicas + {}\n  port        = {}\n  env         = {{ DATABASE_URL = database.db{group}.url, INDEX = tostring({i}) }}\n  volumes     = {{ \"/data\" = volume.vol{} }}\n  config_from = [config.cfg{group}]\n  health {{ path = \"/healthz\" }}\n}}\n\n",
                i % 3,
                8000 + i % 1000,
                group * 10 + 2 + i % 3,
            ),
        };
        text.push_str(&instance);
        in_file += 1;
        if in_file == INSTANCES_PER_FILE {
            files.push((format!("part{:04}.stack.hcl", files.len()), std::mem::take(&mut text)));
            in_file = 0;
        }
    }
    if !text.is_empty() {
        files.push((format!("part{:04}.stack.hcl", files.len()), text));
    }
    files
}
