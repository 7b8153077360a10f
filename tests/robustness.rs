//! The front end never panics, hangs or overflows the stack, whatever the
//! input (issue 2: "a crash on any input is a bug").
//!
//! Seeds are every stack in `examples/`, every UI case in `tests/ui/` and the
//! stdlib files. Each variant mutates or truncates the seed's files with a
//! deterministic PRNG (same variants on every run, so a failure reproduces)
//! and runs `stackc_compiler::check` in-process on a worker thread, under
//! `catch_unwind`, with a per-variant time limit. The run is bounded by a
//! variant count and a wall-clock budget. For longer runs use the cargo-fuzz
//! target in `fuzz/`.

use stackc_compiler::{CheckOptions, Origin, SourceFile, Sources};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How many variants at most, and for how long.
const MAX_VARIANTS: usize = 2_000;
const BUDGET: Duration = Duration::from_secs(20);
/// One check taking longer than this is a hang (a debug build checks the
/// deepest inputs in about a second; the margin is for a loaded machine,
/// where 10 s was once exceeded).
const HANG_LIMIT: Duration = Duration::from_secs(30);
/// The binary runs `check` on the main thread (8 MiB on Linux); so do we.
const STACK_SIZE: usize = 8 * 1024 * 1024;

/// One stack: (file name, text) pairs.
type Stack = Vec<(String, String)>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stack_files(dir: &Path) -> Stack {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<(String, String)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".stack.hcl"))
        .filter_map(|e| {
            Some((e.file_name().to_string_lossy().into_owned(), std::fs::read_to_string(e.path()).ok()?))
        })
        .collect();
    files.sort();
    files
}

fn subdirectories(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> =
        entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs
}

/// Every seed stack: examples first, then UI cases, then each stdlib file alone.
fn seeds() -> Vec<(String, Stack)> {
    let mut seeds = Vec::new();
    for dir in
        subdirectories(&root().join("examples")).into_iter().chain(subdirectories(&root().join("tests/ui")))
    {
        let files = stack_files(&dir);
        if !files.is_empty() {
            seeds.push((dir.strip_prefix(root()).unwrap_or(&dir).display().to_string(), files));
        }
    }
    for (path, text) in stackc_compiler::stdlib::files() {
        seeds.push((path.to_string(), vec![("component.stack.hcl".to_string(), text.to_string())]));
    }
    seeds
}

/// xorshift64*: tiny, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Fragments that stress the parser and checker: unbalanced delimiters,
/// template openers, references, operators, odd characters.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "${",
    "%{",
    "}",
    "=",
    "==",
    ".",
    ",",
    ":",
    "?",
    "\n",
    " ",
    "=>",
    "...",
    "*",
    "-",
    "!",
    "&&",
    "||",
    "var.",
    "local.",
    "service.api",
    "param.x",
    "self.",
    "[*]",
    "for x in ",
    " : ",
    " if ",
    "<<EOF\n",
    "\nEOF\n",
    "null",
    "true",
    "1e309",
    "-0",
    "\"20Gi\"",
    "\"30s\"",
    "65536",
    "# comment\n",
    "/*",
    "*/",
    "\\",
    "é",
    "\u{feff}",
    "\u{0}",
    "𝔘",
    "service \"x\" {\n",
    "variable \"v\" {}\n",
    "locals {\n",
    "component \"c\" {\n",
    "param \"p\" { type = string }\n",
    "output \"o\" { value = 1 }\n",
    "type = list(map(object({a = number})))",
    "sensitive(string)",
    "length(",
    "concat([], ",
    "lookup({}, ",
    "tonumber(\"x\")",
    "file(\"/etc/passwd\")",
];

/// The byte index at or before `index` that is a char boundary of `text`.
fn floor_boundary(text: &str, mut index: usize) -> usize {
    index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut text = text.to_string();
    for _ in 0..=rng.below(4) {
        let a = floor_boundary(&text, rng.below(text.len() + 1));
        let b = floor_boundary(&text, a + rng.below(64));
        match rng.below(7) {
            0 => text.truncate(a),
            1 => text.replace_range(a..b, ""),
            2 => {
                let copy = text[a..b].to_string();
                text.insert_str(b, &copy);
            }
            3 | 4 => text.insert_str(a, FRAGMENTS[rng.below(FRAGMENTS.len())]),
            5 => {
                let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())];
                text.replace_range(a..b, fragment);
            }
            _ => {
                // Swap two lines.
                let mut lines: Vec<&str> = text.lines().collect();
                if lines.len() > 1 {
                    let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
                    lines.swap(i, j);
                }
                text = lines.join("\n");
            }
        }
    }
    text
}

fn sources_of(stack: &Stack) -> Sources {
    let mut sources = Sources::new();
    for (name, text) in stack {
        sources.add(SourceFile::new(name.clone(), text.clone(), Origin::User));
    }
    for (path, text) in stackc_compiler::stdlib::files() {
        sources.add(SourceFile::new(*path, *text, Origin::Stdlib));
    }
    sources
}

/// What one check did.
enum Outcome {
    /// The codes of the errors reported.
    Done {
        errors: Vec<&'static str>,
    },
    Panicked(String),
}

/// Runs `check` on every stack on one worker thread; fails the test on a
/// panic, or when one check runs past [`HANG_LIMIT`]. Returns the error
/// codes reported for each stack.
fn check_all(stacks: Vec<(String, Stack)>) -> Vec<(String, Vec<&'static str>)> {
    let (to_main, from_worker) = mpsc::channel::<(String, Outcome)>();
    let total = stacks.len();
    let copies: Vec<Stack> = stacks.iter().map(|(_, stack)| stack.clone()).collect();
    let worker = std::thread::Builder::new()
        .name("robustness".into())
        .stack_size(STACK_SIZE)
        .spawn(move || {
            // Quiet the default hook: panics are reported as test failures below.
            std::panic::set_hook(Box::new(|_| {}));
            for (name, stack) in stacks {
                let sources = sources_of(&stack);
                let result = std::panic::catch_unwind(|| {
                    let checked = stackc_compiler::check(&sources, &CheckOptions::default());
                    // Every label must point inside its file, or rendering
                    // would be wrong (a panic here is reported like any other).
                    for diagnostic in &checked.diagnostics {
                        for label in std::iter::once(&diagnostic.primary).chain(&diagnostic.secondary) {
                            let text = &sources.get(label.span.file).text;
                            assert!(
                                text.get(label.span.range()).is_some(),
                                "label span {:?} is not a valid range of its file: {diagnostic:?}",
                                label.span
                            );
                        }
                    }
                    checked
                        .diagnostics
                        .iter()
                        .filter(|d| d.is_error())
                        .map(|d| d.code.as_str())
                        .collect::<Vec<_>>()
                });
                let outcome = match result {
                    Ok(errors) => Outcome::Done { errors },
                    Err(payload) => Outcome::Panicked(
                        payload
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default(),
                    ),
                };
                if to_main.send((name, outcome)).is_err() {
                    return;
                }
            }
        })
        .expect("spawn worker");
    let mut results = Vec::with_capacity(total);
    for _ in 0..total {
        match from_worker.recv_timeout(HANG_LIMIT) {
            Ok((name, Outcome::Done { errors })) => results.push((name, errors)),
            Ok((name, Outcome::Panicked(message))) => {
                let _ = std::panic::take_hook();
                let saved = save_failure(&copies[results.len()]);
                panic!("check panicked on {name}: {message} (input saved in {})", saved.display());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let saved = save_failure(&copies[results.len()]);
                panic!(
                    "check did not finish within {HANG_LIMIT:?}; hang? (input saved in {})",
                    saved.display()
                );
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!("worker died (stack overflow aborts the process)")
            }
        }
    }
    worker.join().expect("worker");
    let _ = std::panic::take_hook();
    results
}

fn variant_name(seed: &str, index: usize) -> String {
    format!("{seed} (variant {index})")
}

/// Saves a failing variant's files under the test's temp dir so the failure
/// can be reproduced with `stackc check <dir>`; returns that dir.
fn save_failure(stack: &Stack) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("robustness-failure");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    for (name, text) in stack {
        let _ = std::fs::write(dir.join(name), text);
    }
    dir
}

#[test]
fn mutated_and_truncated_stacks_never_crash_or_hang() {
    let seeds = seeds();
    assert!(!seeds.is_empty(), "no seed stacks found");
    let started = Instant::now();
    let mut rng = Rng(0x5EED_0F57_AC0C_0DE5);
    let mut checked = 0;
    // Batches keep the wall-clock budget without one thread per variant.
    while checked < MAX_VARIANTS && started.elapsed() < BUDGET {
        let mut batch = Vec::new();
        for _ in 0..50 {
            let (seed_name, seed) = &seeds[rng.below(seeds.len())];
            let mut stack = seed.clone();
            let file = rng.below(stack.len());
            stack[file].1 = mutate(&stack[file].1, &mut rng);
            batch.push((variant_name(seed_name, checked + batch.len()), stack));
        }
        checked += batch.len();
        check_all(batch);
    }
    assert!(checked >= 200, "only {checked} variants in {BUDGET:?}: the checker is too slow to fuzz");
    eprintln!("robustness: {checked} variants in {:?}", started.elapsed());
}

/// Every truncation point of the first example (or UI case): the shortest
/// prefixes are where parsers most often index out of bounds.
#[test]
fn every_prefix_of_a_small_stack_is_handled() {
    let text = "variable \"r\" {\n  type = number\n  default = 2\n}\nservice \"api\" {\n  image = \"x:${var.r}\"\n  replicas = var.r\n  env = { A = [for x in [1] : x * 2][0] }\n}\n";
    let stacks: Vec<(String, Stack)> = (0..=text.len())
        .filter(|i| text.is_char_boundary(*i))
        .map(|i| (format!("prefix {i}"), vec![("main.stack.hcl".to_string(), text[..i].to_string())]))
        .collect();
    check_all(stacks);
}

/// 10,000 levels of nesting (brackets, objects, parentheses, templates,
/// blocks, unary operators), a 100,000-term operator chain and 10,000
/// unclosed brackets are each refused with E0102 (nesting too deep), without
/// a stack overflow (the process would abort), a panic or a hang.
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    const DEPTH: usize = 10_000;
    let shapes = [
        ("brackets", format!("locals {{\n  x = {}1{}\n}}\n", "[".repeat(DEPTH), "]".repeat(DEPTH))),
        ("objects", format!("locals {{\n  x = {}1{}\n}}\n", "{a = ".repeat(DEPTH), "}".repeat(DEPTH))),
        ("parentheses", format!("locals {{\n  x = {}1{}\n}}\n", "(".repeat(DEPTH), ")".repeat(DEPTH))),
        ("calls", format!("locals {{\n  x = {}1{}\n}}\n", "max(".repeat(DEPTH), ")".repeat(DEPTH))),
        ("templates", format!("locals {{\n  x = {}{}\n}}\n", "\"${".repeat(DEPTH), "}\"".repeat(DEPTH))),
        ("blocks", format!("{}{}", "a {\n".repeat(DEPTH), "}\n".repeat(DEPTH))),
        ("unary", format!("locals {{\n  x = {}true\n}}\n", "!".repeat(DEPTH))),
        ("operators", format!("locals {{\n  x = 1{}\n}}\n", " + 1".repeat(100_000))),
        ("traversal", format!("locals {{\n  x = local.y{}\n}}\n", ".a".repeat(DEPTH))),
        ("unclosed", format!("locals {{\n  x = {}\n", "[".repeat(DEPTH))),
        // Each local shallow, the value deep: a chain of locals wrapping the previous one.
        ("list chain", chain(DEPTH, |i| format!("[local.l{i}]"))),
        ("object chain", chain(DEPTH, |i| format!("{{ a = local.l{i} }}"))),
    ];
    let stacks: Vec<(String, Stack)> = shapes
        .iter()
        .map(|(name, text)| (name.to_string(), vec![("main.stack.hcl".to_string(), text.clone())]))
        .collect();
    for (name, errors) in check_all(stacks) {
        assert!(errors.contains(&"E0102"), "{name}: expected E0102 (nesting too deep), got {errors:?}");
    }
}

/// `locals { l0 = 1  l1 = <wrap(0)>  l2 = <wrap(1)> ... }`.
fn chain(length: usize, wrap: impl Fn(usize) -> String) -> String {
    let mut text = String::from("locals {\n  l0 = 1\n");
    for i in 1..length {
        text.push_str(&format!("  l{i} = {}\n", wrap(i - 1)));
    }
    text.push_str("}\n");
    text
}

/// The deepest input the syntax accepts, in each shape, goes through the
/// whole front end on a 2 MiB thread (the default for spawned threads and
/// tests; the binary's main thread has 8 MiB) without overflowing: every pass
/// after the parser recurses over the AST, whose depth the parser bounds
/// (`syntax::MAX_DEPTH`, `syntax::MAX_EXPR_DEPTH`).
#[test]
fn the_deepest_accepted_input_is_checked_on_a_small_stack() {
    use stackc_compiler::syntax::{MAX_DEPTH, MAX_EXPR_DEPTH};
    // Levels left for the attribute inside `locals { }`.
    let levels = MAX_DEPTH - 2;
    let shapes = [
        ("brackets", format!("x = {}1{}", "[".repeat(levels), "]".repeat(levels))),
        ("objects", format!("x = {}1{}", "{a = ".repeat(levels), "}".repeat(levels))),
        ("parentheses", format!("x = {}1{}", "(".repeat(levels), ")".repeat(levels))),
        ("calls", format!("x = {}1{}", "max(".repeat(levels), ")".repeat(levels))),
        ("templates", format!("x = {}1{}", "\"${".repeat(levels / 2), "}\"".repeat(levels / 2))),
        ("unary", format!("x = {}true", "!".repeat(levels))),
        ("conditionals", format!("x = {}1", "true ? 1 : ".repeat(levels))),
        ("operators", format!("x = 1{}", " + 1".repeat(MAX_EXPR_DEPTH - 40))),
        ("traversal", format!("x = local.y{}", ".a".repeat(MAX_EXPR_DEPTH - 40))),
        ("for", format!("x = {}1{}", "[for v in [1] : ".repeat(levels / 2), "]".repeat(levels / 2))),
    ];
    let (done, result) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            for (name, attribute) in shapes {
                let text = format!("locals {{\n  {attribute}\n  y = {{}}\n}}\n");
                let syntax = stackc_compiler::syntax::parse(stackc_compiler::FileId(0), &text).1;
                assert!(syntax.is_empty(), "{name}: the syntax should accept this depth: {syntax:?}");
                let stack = vec![("main.stack.hcl".to_string(), text)];
                let checked = stackc_compiler::check(&sources_of(&stack), &CheckOptions::default());
                std::hint::black_box(checked);
                let _ = done.send(name);
            }
        })
        .expect("spawn worker");
    let mut checked = Vec::new();
    while let Ok(name) = result.recv_timeout(HANG_LIMIT) {
        checked.push(name);
    }
    assert!(worker.join().is_ok(), "a check panicked after {checked:?}");
    assert_eq!(checked.len(), 10, "hang? only {checked:?} finished");
}
