//! `stackc fmt` through the real binary: rewriting in place (only what
//! changes, keeping the mode), `--check` (exit 3) and `--diff` (writing
//! nothing), standard input, a file that does not parse among others, usage
//! errors; and that the stdlib and every example are formatted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::Run;

fn stackc(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackc"))
        .current_dir(dir)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .spawn()
        .expect("stackc runs");
    if let Some(text) = stdin {
        child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("stdin written");
    }
    Run::of(child.wait_with_output().expect("stackc ends"))
}

const UNFORMATTED: &str =
    "service \"api\" {\n    image = \"api:1\"\n  replicas=2\n}\n\n\n\ntarget \"local\" {}\n";
const FORMATTED: &str =
    "service \"api\" {\n  image    = \"api:1\"\n  replicas = 2\n}\n\ntarget \"local\" {}\n";

/// A stack directory `app` with one file to format, one formatted, and
/// files `fmt` must not touch.
fn stack(dir: &Path) -> PathBuf {
    let app = dir.join("app");
    std::fs::create_dir_all(&app).expect("dir");
    std::fs::write(app.join("a.stack.hcl"), UNFORMATTED).expect("written");
    std::fs::write(app.join("b.stack.hcl"), FORMATTED).expect("written");
    std::fs::write(app.join("notes.txt"), "not   hcl  ").expect("written");
    std::fs::write(app.join(".hidden.stack.hcl"), "a=1").expect("written");
    app
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("readable")
}

#[test]
fn fmt_rewrites_only_files_that_change_and_keeps_their_mode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = stack(dir.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(app.join("a.stack.hcl"), std::fs::Permissions::from_mode(0o640))
            .expect("chmod");
    }
    let before_b = std::fs::metadata(app.join("b.stack.hcl")).expect("b").modified().expect("mtime");
    let run = stackc(dir.path(), &["fmt", "app"], None).ok();
    assert_eq!(run.stdout, "app/a.stack.hcl\n");
    assert_eq!(run.stderr, "");
    assert_eq!(read(&app.join("a.stack.hcl")), FORMATTED);
    let after_b = std::fs::metadata(app.join("b.stack.hcl")).expect("b").modified().expect("mtime");
    assert_eq!(before_b, after_b, "an unchanged file is not rewritten");
    assert_eq!(read(&app.join("notes.txt")), "not   hcl  ");
    assert_eq!(read(&app.join(".hidden.stack.hcl")), "a=1");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(app.join("a.stack.hcl")).expect("a").permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }
    // Formatted: nothing to do, nothing printed; the default PATH is `.`.
    let again = stackc(&app, &["fmt"], None).ok();
    assert_eq!(again.stdout, "");
    stackc(&app, &["fmt", "--check"], None).ok();
    // A file given by name is formatted whatever its name.
    std::fs::write(app.join("notes.txt"), "a=1\n").expect("written");
    let named = stackc(&app, &["fmt", "notes.txt"], None).ok();
    assert_eq!(named.stdout, "notes.txt\n");
    assert_eq!(read(&app.join("notes.txt")), "a = 1\n");
}

#[test]
fn check_and_diff_write_nothing_and_check_exits_3() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = stack(dir.path());
    let check = stackc(dir.path(), &["fmt", "--check", "app"], None).code(3);
    assert_eq!(check.stdout, "app/a.stack.hcl\n");
    assert_eq!(read(&app.join("a.stack.hcl")), UNFORMATTED);
    let diff = stackc(dir.path(), &["fmt", "--diff", "app"], None).ok();
    insta::assert_snapshot!("diff", diff.stdout);
    assert_eq!(read(&app.join("a.stack.hcl")), UNFORMATTED);
    let both = stackc(dir.path(), &["fmt", "--check", "--diff", "app"], None).code(3);
    assert_eq!(both.stdout, diff.stdout);
    // The diff applies: `patch -p1` turns the file into the formatted one.
    let patch =
        Command::new("patch").current_dir(dir.path()).args(["-p1", "--quiet"]).stdin(Stdio::piped()).spawn();
    if let Ok(mut patch) = patch {
        patch.stdin.take().expect("stdin").write_all(diff.stdout.as_bytes()).expect("diff written");
        assert!(patch.wait().expect("patch ends").success());
        assert_eq!(read(&app.join("a.stack.hcl")), FORMATTED);
    }
}

#[test]
fn a_dash_formats_standard_input_to_standard_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = stackc(dir.path(), &["fmt", "-"], Some(UNFORMATTED)).ok();
    assert_eq!(run.stdout, FORMATTED);
    let formatted = stackc(dir.path(), &["fmt", "-"], Some(FORMATTED)).ok();
    assert_eq!(formatted.stdout, FORMATTED);
    let check = stackc(dir.path(), &["fmt", "--check", "-"], Some(UNFORMATTED)).code(3);
    assert_eq!(check.stdout, "");
    stackc(dir.path(), &["fmt", "--check", "-"], Some(FORMATTED)).ok();
    let diff = stackc(dir.path(), &["fmt", "--diff", "-"], Some(UNFORMATTED)).ok();
    assert!(diff.stdout.starts_with("--- a/<stdin>\n+++ b/<stdin>\n"), "{}", diff.stdout);
    let broken = stackc(dir.path(), &["fmt", "-"], Some("service \"api\" {\n  image = \n}\n")).code(1);
    assert_eq!(broken.stdout, "", "nothing half-formatted is printed");
    insta::assert_snapshot!("stdin_syntax_error", broken.stderr);
}

#[test]
fn a_file_that_does_not_parse_gets_its_diagnostics_and_the_others_are_formatted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = stack(dir.path());
    let broken = "service \"api\" {\n  image = \"api:1\"\n  replicas = [1,\n}\n";
    std::fs::write(app.join("0-broken.stack.hcl"), broken).expect("written");
    let run = stackc(dir.path(), &["fmt", "app"], None).code(1);
    assert_eq!(run.stdout, "app/a.stack.hcl\n");
    insta::assert_snapshot!("syntax_error_among_others", run.stderr);
    assert_eq!(read(&app.join("0-broken.stack.hcl")), broken, "left as it was");
    assert_eq!(read(&app.join("a.stack.hcl")), FORMATTED);
    // An error wins over --check's 3.
    std::fs::write(app.join("a.stack.hcl"), UNFORMATTED).expect("written");
    stackc(dir.path(), &["fmt", "--check", "app"], None).code(1);
}

#[test]
fn paths_that_cannot_be_formatted_are_clear_errors_and_usage_errors_exit_64() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = stack(dir.path());
    std::fs::create_dir(dir.path().join("empty")).expect("dir");
    let run = stackc(dir.path(), &["fmt", "missing", "empty", "app"], None).code(1);
    assert_eq!(
        run.stderr,
        "error: `missing` does not exist.\nerror: The directory `empty` contains no `*.stack.hcl` file.\n"
    );
    assert_eq!(run.stdout, "app/a.stack.hcl\n", "the other paths are still formatted");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(app.join("b.stack.hcl"), dir.path().join("link.stack.hcl"))
            .expect("symlink");
        std::fs::write(app.join("b.stack.hcl"), UNFORMATTED).expect("written");
        let link = stackc(dir.path(), &["fmt", "link.stack.hcl"], None).code(1);
        assert!(
            link.stderr.starts_with("error: Cannot write `link.stack.hcl`: it is a symbolic link"),
            "{}",
            link.stderr
        );
        assert_eq!(read(&app.join("b.stack.hcl")), UNFORMATTED, "not written through the link");
    }
    stackc(dir.path(), &["fmt", "--bogus"], None).code(64);
}

#[test]
fn the_starter_stack_init_writes_is_formatted() {
    let dir = tempfile::tempdir().expect("temp dir");
    stackc(dir.path(), &["init", "app"], None).ok();
    let run = stackc(dir.path(), &["fmt", "--check", "--diff", "app"], None);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

/// `stackc fmt --check stdlib examples/*`: the files shipped are formatted.
#[test]
fn the_stdlib_and_every_example_are_formatted() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = vec!["fmt".to_string(), "--check".to_string(), "stdlib".to_string()];
    for entry in std::fs::read_dir(root.join("examples")).expect("examples").flatten() {
        let has_stack_files = std::fs::read_dir(entry.path())
            .into_iter()
            .flatten()
            .flatten()
            .any(|file| file.file_name().to_string_lossy().ends_with(".stack.hcl"));
        if has_stack_files {
            args.push(format!("examples/{}", entry.file_name().to_string_lossy()));
        }
    }
    assert!(args.len() > 4, "{args:?}");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = stackc(&root, &args, None);
    assert_eq!(run.code, 0, "not formatted (run `stackc fmt` on them):\n{}{}", run.stdout, run.stderr);
}
