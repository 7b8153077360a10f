//! The stackc compiler: syntax, resolve, check, expand.
//!
//! Invariant: this crate does no I/O. It reads no file, no clock and no
//! network; the binary hands it [`source::Sources`] and gets back IRs and
//! diagnostics. Analysis never fails: every stage returns what it could build
//! plus every problem found.

pub mod ast;
pub mod check;
pub mod eval;
pub mod functions;
pub mod infer;
pub mod policy;

// The shared vocabulary lives in the model crate; its modules keep their
// paths here (`crate::value::Value`, `stackc_compiler::graph::...`).
pub use stackc_model::{codes, diagnostic, graph, hash, schema, source, types, value};

pub use codes::Code;
pub use diagnostic::{Diagnostic, Label, Severity};
pub use source::{FileId, Origin, SourceFile, Sources, Span};
pub use value::Value;

pub mod expand;
pub mod format;
pub mod hir;
pub mod resolve;
pub mod stdlib;
pub mod syntax;

/// Values given from outside the stack: `-var name=value`, `--var-file`.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// (name, value) pairs, later ones win.
    pub variables: Vec<(String, Value)>,
    /// Where `file()` reads from; `None`: it reads nothing.
    pub files: Option<std::sync::Arc<dyn eval::FileSource>>,
}

/// What `check` built, plus every problem found.
#[derive(Debug, Default)]
pub struct Checked {
    /// `None` only when nothing could be built at all.
    pub stack: Option<hir::Stack>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Below this many bytes in all, files are parsed on the calling thread
/// (starting threads would cost more than they save).
const PARALLEL_PARSE_BYTES: usize = 128 * 1024;

/// Stack of each parsing helper thread: a main thread's.
const PARSE_STACK: usize = 8 * 1024 * 1024;

/// Every file's syntax tree and diagnostics, in the order of `sources`.
/// Files are independent until resolve, so a large stack's are parsed on
/// up to one thread per core, each taking the next file not yet taken.
fn parse_all(sources: &Sources) -> Vec<(ast::File, Vec<Diagnostic>)> {
    let files: Vec<(FileId, &SourceFile)> = sources.iter().collect();
    let bytes: usize = files.iter().map(|(_, f)| f.text.len()).sum();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(files.len()).min(8);
    if threads < 2 || bytes < PARALLEL_PARSE_BYTES {
        return files.iter().map(|(id, file)| syntax::parse(*id, &file.text)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some((id, file)) = files.get(i) else { break };
            done.push((i, syntax::parse(*id, &file.text)));
        }
        done
    };
    let mut parsed: Vec<(usize, (ast::File, Vec<Diagnostic>))> = std::thread::scope(|scope| {
        // This thread works too; a helper that cannot start leaves its
        // share to the others. Helpers get a main thread's stack, so any
        // input this thread could parse, they can.
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| {
                std::thread::Builder::new().stack_size(PARSE_STACK).spawn_scoped(scope, work).ok()
            })
            .collect();
        let mut all = work();
        for helper in helpers {
            // A parser panic is a bug; it stays one, on this thread.
            all.extend(helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        all
    });
    parsed.sort_unstable_by_key(|(i, _)| *i);
    parsed.into_iter().map(|(_, result)| result).collect()
}

/// Parses, resolves and type-checks every file in `sources` (the user's
/// stack plus the stdlib files the caller added with `Origin::Stdlib`).
/// Returns the checked stack (always, even with errors: later stages run
/// only when [`Checked::has_errors`] is false) and every problem found.
pub fn check(sources: &Sources, options: &CheckOptions) -> Checked {
    let mut diagnostics = Vec::new();
    let mut files = Vec::new();
    let (mut user_files, mut stdlib_files) = (Vec::new(), Vec::new());
    for ((id, file), (parsed, found)) in sources.iter().zip(parse_all(sources)) {
        diagnostics.extend(found);
        files.push(parsed);
        match file.origin {
            Origin::User => user_files.push(id),
            Origin::Stdlib => stdlib_files.push(id),
        }
    }
    let evaluator = match &options.files {
        Some(files) => eval::ExpressionEvaluator::with_files(files.clone()),
        None => eval::ExpressionEvaluator::new(),
    };
    let mut stack = {
        let pick = |ids: &[FileId]| {
            ids.iter().filter_map(|id| files.iter().find(|f| f.id == *id)).collect::<Vec<_>>()
        };
        let (stdlib, user) = (pick(&stdlib_files), pick(&user_files));
        check::check_stack(&stdlib, &user, options, &evaluator, &mut diagnostics)
    };
    stack.files = files;
    stack.user_files = user_files;
    stack.stdlib_files = stdlib_files;
    diagnostic::sort(&mut diagnostics);
    Checked { stack: Some(stack), diagnostics }
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    /// A stack large enough to be parsed on several threads gives the same
    /// trees and diagnostics, in the same order, as parsing file by file.
    #[test]
    fn files_parsed_on_threads_are_the_files_parsed_in_order() {
        let mut sources = Sources::new();
        for f in 0..12 {
            let mut text = String::from("locals {\n");
            for i in 0..600 {
                text.push_str(&format!("  v{f}_{i} = \"{f}-{i}\"\n"));
            }
            text.push_str(if f == 5 { "  broken = [1,\n" } else { "}\n" });
            sources.add(SourceFile::new(format!("f{f}.stack.hcl"), text, Origin::User));
        }
        let bytes: usize = sources.iter().map(|(_, f)| f.text.len()).sum();
        assert!(bytes >= PARALLEL_PARSE_BYTES, "the stack is large enough to be parsed in parallel");
        let serial: Vec<String> =
            sources.iter().map(|(id, file)| format!("{:?}", syntax::parse(id, &file.text))).collect();
        let parallel: Vec<String> = parse_all(&sources).iter().map(|parsed| format!("{parsed:?}")).collect();
        assert_eq!(parallel, serial);
        let diagnostics =
            |i: usize| syntax::parse(FileId(i as u32), &sources.get(FileId(i as u32)).text).1.len();
        assert!(diagnostics(5) > 0 && diagnostics(4) == 0, "file 5, and only it, has a syntax error");
    }
}
