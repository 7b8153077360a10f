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
pub use value::{Fields, Value};

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

/// A file at least this large is cut into pieces parsed on several threads
/// (see [`syntax::split`]); no piece is smaller than half of it.
const PIECE_BYTES: usize = 64 * 1024;

/// One unit of parsing work: a whole file, or a piece of a large one.
enum Parsed {
    Whole((ast::File, Vec<Diagnostic>)),
    /// `None`: the piece had a problem, so its file is parsed whole.
    Piece(Option<ast::Body>),
}

/// Every file's syntax tree and diagnostics, in the order of `sources`.
/// Files are independent until resolve, so a large stack's are parsed on
/// up to one thread per core, each taking the next piece of work not yet
/// taken. A large file (a generated stack is often one file) is cut at
/// top-level structures into pieces parsed like files; its tree is the
/// pieces' structures in order, which is what parsing it whole gives (a
/// test checks it). Any problem in a piece, or an attribute name set in two
/// pieces, and the file is parsed whole instead, so its diagnostics are
/// always the whole file's.
fn parse_all(sources: &Sources) -> Vec<(ast::File, Vec<Diagnostic>)> {
    parse_on(sources, std::thread::available_parallelism().map_or(1, |n| n.get()).min(8))
}

/// [`parse_all`] on at most `cores` threads.
fn parse_on(sources: &Sources, cores: usize) -> Vec<(ast::File, Vec<Diagnostic>)> {
    let files: Vec<(FileId, &SourceFile)> = sources.iter().collect();
    let bytes: usize = files.iter().map(|(_, f)| f.text.len()).sum();
    if cores < 2 || bytes < PARALLEL_PARSE_BYTES {
        return files.iter().map(|(id, file)| syntax::parse(*id, &file.text)).collect();
    }
    // (file index, the piece; `None`: the whole file)
    let mut work: Vec<(usize, Option<std::ops::Range<usize>>)> = Vec::new();
    for (i, (_, file)) in files.iter().enumerate() {
        let pieces = (file.text.len() / PIECE_BYTES).min(2 * cores);
        match syntax::split(&file.text, pieces) {
            ranges if ranges.len() > 1 => work.extend(ranges.into_iter().map(|range| (i, Some(range)))),
            _ => work.push((i, None)),
        }
    }
    let threads = cores.min(work.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let run = || {
        let mut done = Vec::new();
        loop {
            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some((i, piece)) = work.get(n) else { break };
            let (id, file) = files[*i];
            done.push((
                n,
                match piece {
                    None => Parsed::Whole(syntax::parse(id, &file.text)),
                    Some(range) => Parsed::Piece(syntax::parse_piece(id, &file.text, range.clone())),
                },
            ));
        }
        done
    };
    let mut parsed: Vec<(usize, Parsed)> = std::thread::scope(|scope| {
        // This thread works too; a helper that cannot start leaves its
        // share to the others. Helpers get a main thread's stack, so any
        // input this thread could parse, they can.
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().stack_size(PARSE_STACK).spawn_scoped(scope, run).ok())
            .collect();
        let mut all = run();
        for helper in helpers {
            // A parser panic is a bug; it stays one, on this thread.
            all.extend(helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        all
    });
    parsed.sort_unstable_by_key(|(n, _)| *n);
    // Work is in file order, a file's pieces in text order.
    let mut out: Vec<(ast::File, Vec<Diagnostic>)> = Vec::with_capacity(files.len());
    let mut parsed = parsed.into_iter().map(|(n, result)| (work[n].0, result)).peekable();
    while let Some((i, first)) = parsed.next() {
        let (id, file) = files[i];
        let mut pieces = match first {
            Parsed::Whole(whole) => {
                out.push(whole);
                continue;
            }
            Parsed::Piece(piece) => vec![piece],
        };
        while let Some((_, Parsed::Piece(piece))) = parsed.next_if(|(next, _)| *next == i) {
            pieces.push(piece);
        }
        out.push(match joined(pieces) {
            Some(body) => (ast::File { id, body }, Vec::new()),
            None => syntax::parse(id, &file.text),
        });
    }
    out
}

/// The body of a file from its pieces' bodies, in order; `None` when a
/// piece had a problem, or when two pieces set the same attribute (parsing
/// whole reports it).
fn joined(pieces: Vec<Option<ast::Body>>) -> Option<ast::Body> {
    let mut body = ast::Body::default();
    let mut names = std::collections::HashSet::new();
    for piece in pieces {
        let piece = piece?;
        for attribute in &piece.attributes {
            if !names.insert(attribute.name.name.clone()) {
                return None;
            }
        }
        body.attributes.extend(piece.attributes);
        body.blocks.extend(piece.blocks);
    }
    Some(body)
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
    // The parsed files, then the HIR that resolve and check build from them.
    let parsed = hir::Stack { files, user_files, stdlib_files, ..hir::Stack::default() };
    let mut stack = {
        let (stdlib, user) = parsed.stdlib_and_user_files();
        check::check_stack(&stdlib, &user, options, &evaluator, &mut diagnostics)
    };
    stack.files = parsed.files;
    stack.user_files = parsed.user_files;
    stack.stdlib_files = parsed.stdlib_files;
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

    /// One large file of every kind of structure, to be cut into pieces.
    fn large_file(with: impl Fn(usize) -> String) -> String {
        let mut text = String::from("# generated\nversion = \"1\"\n\n");
        for i in 0..400 {
            text.push_str(&format!(
                r#"resource "stackc_data" "n{i}" {{
  input = stackc_data.n{parent}.id # the parent
  tags  = {{ name = "n${{var.prefix}}-{i}", list = [for x in local.xs : x * 2 if x > 1] }}
  deep  = a.b[0].c[*].d.*.e
  call  = provider::aws::arn("x", -{i} + 2 * 3 ? 1 : 2)
  text  = <<-EOT
    line {i} %{{ if true }}yes%{{ endif }} }}
  EOT
  nested {{
    object = {{
      "k" = null
    }}
  }}
}}
{extra}
object_{i} = {{
  a = 1
}}

/* a comment with }} and {{ */
locals {{ v{i} = "{{}}" }}
"#,
                parent = i / 10,
                extra = with(i),
            ));
        }
        text
    }

    fn whole_and_parsed_all(text: String) -> (String, String, usize) {
        let mut sources = Sources::new();
        sources.add(SourceFile::new("small.stack.hcl", "locals {\n  a = 1\n}\n", Origin::User));
        sources.add(SourceFile::new("main.stack.hcl", text, Origin::User));
        let text = &sources.get(FileId(1)).text;
        let pieces = syntax::split(text, 4);
        let valid =
            pieces.iter().filter(|r| syntax::parse_piece(FileId(1), text, (*r).clone()).is_some()).count();
        let whole: Vec<String> =
            sources.iter().map(|(id, file)| format!("{:?}", syntax::parse(id, &file.text))).collect();
        let all: Vec<String> = parse_on(&sources, 4).iter().map(|parsed| format!("{parsed:?}")).collect();
        (whole.join("\n"), all.join("\n"), if valid == pieces.len() { pieces.len() } else { 0 })
    }

    /// A large file parsed in pieces on threads gives the tree (spans
    /// included) that parsing it whole gives.
    #[test]
    fn a_large_file_parsed_in_pieces_is_the_file_parsed_whole() {
        let text = large_file(|_| String::new());
        assert!(text.len() >= 2 * PIECE_BYTES && text.len() >= PARALLEL_PARSE_BYTES);
        let (whole, all, pieces) = whole_and_parsed_all(text);
        assert_eq!(pieces, 4, "the file is cut into pieces, each parsed on its own");
        assert!(!whole.contains("Diagnostic"), "the input is valid: {}", &whole[..whole.len().min(2000)]);
        assert_eq!(all, whole);
    }

    /// A problem anywhere, even one no piece sees alone (an attribute set
    /// in two pieces), gives the whole file's diagnostics.
    #[test]
    fn a_large_file_with_a_problem_is_parsed_whole() {
        for problem in ["  broken = [1,\n", "version = \"2\"\n", "x = a ? b\n", "}\n", "q = <<EOT\n"] {
            let text = large_file(|i| if i == 300 { problem.to_string() } else { String::new() });
            let (whole, all, _) = whole_and_parsed_all(text);
            assert!(whole.contains("Diagnostic"), "{problem:?} is a problem");
            assert_eq!(all, whole, "{problem:?}");
        }
    }
}
