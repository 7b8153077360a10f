//! `stackc fmt`: rewrite stack files in the canonical layout
//! (`stackc_compiler::format`).
//!
//! Each PATH is a stack directory (its `*.stack.hcl` files), a file, or `-`
//! (standard input, formatted to standard output). A file is rewritten only
//! when its text changes, atomically and keeping its mode (`write_replacing`,
//! which refuses anything but a regular file), and its name is printed.
//! `--check` and `--diff` write nothing: `--check` lists the files that
//! would change and exits 3 if any would, `--diff` prints the changes as a
//! unified diff. A file that does not parse gets its diagnostics, rendered
//! as `check` renders them; the other files are still formatted, and the
//! command exits 1.
//!
//! Exit codes: 0 done (nothing to change, or changed), 1 any file could not
//! be read, parsed or written (it wins over 3), 3 `--check` found a file
//! that would change. 2 is plan's "has changes", 64 a usage error.

use crate::render::{self, Counts, HumanStyle};
use crate::stack::{display_path, MAX_SOURCE_BYTES, STACK_FILE_SUFFIX};
use stackc_compiler::format::{self, FormatError};
use stackc_compiler::{Diagnostic, Origin, SourceFile, Sources};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `--check`'s exit code when a file would change.
pub const EXIT_WOULD_CHANGE: u8 = 3;

#[derive(clap::Args)]
pub struct Args {
    /// Stack directories (their `*.stack.hcl` files), files, or `-` for
    /// standard input to standard output [default: the current directory].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write nothing; list the files that would change and exit 3 if any would.
    #[arg(long)]
    pub check: bool,
    /// Write nothing; print the changes as a unified diff.
    #[arg(long)]
    pub diff: bool,
}

/// One text to format: a file, or standard input.
enum Input {
    File(PathBuf),
    Stdin,
}

/// What happened to the inputs, for the exit code.
#[derive(Default)]
struct Outcome {
    failed: bool,
    changed: bool,
    diagnostics: Counts,
}

pub fn run(args: Args) -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let paths = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    let mut outcome = Outcome::default();
    for path in &paths {
        let inputs = match inputs_of(path) {
            Ok(inputs) => inputs,
            Err(message) => {
                let _ = writeln!(err, "error: {message}");
                outcome.failed = true;
                continue;
            }
        };
        for input in inputs {
            format_one(&args, &input, &mut outcome, &mut out, &mut err);
        }
    }
    if outcome.diagnostics.errors > 0 {
        let _ = writeln!(err, "{}", outcome.diagnostics.closing_line());
    }
    let _ = out.flush();
    if outcome.failed {
        ExitCode::from(1)
    } else if args.check && outcome.changed {
        ExitCode::from(EXIT_WOULD_CHANGE)
    } else {
        ExitCode::SUCCESS
    }
}

/// The files a PATH names: a directory's `*.stack.hcl` files (not hidden
/// ones, not subdirectories) in name order, a file, or standard input.
fn inputs_of(path: &Path) -> Result<Vec<Input>, String> {
    if path.as_os_str() == "-" {
        return Ok(vec![Input::Stdin]);
    }
    let shown = display_path(path);
    let metadata = std::fs::metadata(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => format!("`{shown}` does not exist."),
        _ => format!("Cannot read `{shown}`: {error}."),
    })?;
    if !metadata.is_dir() {
        return Ok(vec![Input::File(path.to_path_buf())]);
    }
    let entries = std::fs::read_dir(path).map_err(|error| format!("Cannot read `{shown}`: {error}."))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| format!("Cannot read `{shown}`: {error}."))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(STACK_FILE_SUFFIX) && !name.starts_with('.') && !entry.path().is_dir() {
            files.push(entry.path());
        }
    }
    if files.is_empty() {
        return Err(format!("The directory `{shown}` contains no `*{STACK_FILE_SUFFIX}` file."));
    }
    files.sort();
    Ok(files.into_iter().map(Input::File).collect())
}

fn format_one(args: &Args, input: &Input, outcome: &mut Outcome, out: &mut dyn Write, err: &mut dyn Write) {
    let (shown, read) = match input {
        Input::Stdin => ("<stdin>".to_string(), read_stdin()),
        Input::File(path) => (display_path(path), read_file(path)),
    };
    let text = match read {
        Ok(text) => text,
        Err(reason) => {
            let _ = writeln!(err, "error: Cannot read `{shown}`: {reason}.");
            outcome.failed = true;
            return;
        }
    };
    let mut sources = Sources::new();
    let file = sources.add(SourceFile::new(shown.clone(), text.clone(), Origin::User));
    let formatted = match format::format_file(file, &text) {
        Ok(formatted) => formatted,
        Err(FormatError::Syntax(diagnostics)) => {
            report(&sources, &diagnostics, outcome, err);
            return;
        }
        Err(error @ FormatError::ChangedMeaning) => {
            let _ = writeln!(err, "error: `{shown}`: {error}.");
            outcome.failed = true;
            return;
        }
    };
    let changed = formatted != text;
    outcome.changed |= changed;
    if args.diff {
        if changed {
            let diff = similar::TextDiff::from_lines(&text, &formatted);
            let _ =
                write!(out, "{}", diff.unified_diff().header(&format!("a/{shown}"), &format!("b/{shown}")));
        }
        return;
    }
    match input {
        Input::Stdin if !args.check => {
            let _ = out.write_all(formatted.as_bytes());
        }
        Input::Stdin => {}
        Input::File(path) if changed => {
            if !args.check {
                if let Err(error) = write_file(path, &formatted) {
                    let _ = writeln!(err, "error: Cannot write `{shown}`: {error}.");
                    outcome.failed = true;
                    return;
                }
            }
            let _ = writeln!(out, "{shown}");
        }
        Input::File(_) => {}
    }
}

fn report(sources: &Sources, diagnostics: &[Diagnostic], outcome: &mut Outcome, err: &mut dyn Write) {
    let style = HumanStyle::from_env();
    for diagnostic in diagnostics {
        let _ = writeln!(err, "{}", render::human(sources, diagnostic, style));
    }
    let counts = Counts::of(diagnostics);
    outcome.diagnostics.errors += counts.errors;
    outcome.diagnostics.warnings += counts.warnings;
    outcome.failed = true;
}

fn read_file(path: &Path) -> Result<String, String> {
    let bytes =
        stackc_planner::files::read_regular(path, MAX_SOURCE_BYTES).map_err(|error| error.to_string())?;
    String::from_utf8(bytes).map_err(|_| "it is not valid UTF-8 text".to_string())
}

fn read_stdin() -> Result<String, String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| error.to_string())?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(format!(
            "it is larger than {} MiB, the most stackc reads from one file",
            MAX_SOURCE_BYTES >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|_| "it is not valid UTF-8 text".to_string())
}

/// Replaces the file atomically, keeping its permissions.
fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)?.permissions().mode() & 0o7777
    };
    #[cfg(not(unix))]
    let mode = 0o644;
    stackc_planner::files::write_replacing(path, text.as_bytes(), mode)
}
