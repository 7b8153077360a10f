//! `stackc lsp` end to end: a real LSP client (pytest-lsp, in the venv
//! `scripts/test` sets up) drives the binary over stdio on copies of
//! `examples/shop`: a typo's diagnostic at its range with its code, cleared
//! when fixed; a syntax error in one file; hover; definition into the
//! stdlib; completion of a service's params; rename across files; document
//! symbols; a file outside any stack (`tests/lsp/test_lsp.py`).
//!
//! Needs `STACKC_TEST_VENV`; without it the test fails, saying so, unless
//! `STACKC_SKIP_PYTHON` is set (as the Kubernetes schema validation does).

use std::path::Path;
use std::process::Command;

#[test]
fn the_language_server_passes_its_client_tests() {
    let Some(venv) = std::env::var_os("STACKC_TEST_VENV") else {
        if std::env::var_os("STACKC_SKIP_PYTHON").is_some() {
            eprintln!("skipped the language server's client tests: STACKC_SKIP_PYTHON is set");
            return;
        }
        panic!(
            "STACKC_TEST_VENV is not set: run the tests with `bash scripts/test` (it sets up the venv with \
             pytest-lsp), or set STACKC_SKIP_PYTHON=1 to skip them locally"
        );
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cache = std::env::temp_dir().join(format!("stackc-lsp-cli-{}", std::process::id()));
    let output = Command::new(Path::new(&venv).join("bin/python"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root.join("tests/lsp"))
        .env("STACKC_BIN", env!("CARGO_BIN_EXE_stackc"))
        .env("STACKC_LSP_TEST_CACHE", &cache)
        .output()
        .expect("the venv's python runs");
    let _ = std::fs::remove_dir_all(&cache);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(" passed"), "{stdout}");
    assert!(!stdout.contains("skipped"), "{stdout}");
}
