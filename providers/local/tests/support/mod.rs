//! What the Docker-backed tests share (the provider's acceptance tests and
//! `tests/local_cli.rs`, which includes this file): whether the Engine is
//! there, and the `docker` CLI.
//!
//! `scripts/test` starts the Engine, builds the test images and sets
//! `STACKC_TEST_DOCKER`. Without it the tests print a notice and pass when
//! run by hand, and fail when `CI` is set: CI must run them.

pub fn docker_available() -> bool {
    match std::env::var("STACKC_TEST_DOCKER") {
        Ok(v) if !v.is_empty() => true,
        _ if std::env::var_os("CI").is_some() => {
            panic!("STACKC_TEST_DOCKER is not set: CI must run the local provider's tests (scripts/test starts the Engine)")
        }
        _ => {
            eprintln!(
                "notice: STACKC_TEST_DOCKER is not set; skipping this Docker-backed test (run scripts/test)"
            );
            false
        }
    }
}

pub fn docker(args: &[&str]) -> String {
    let Ok(out) = std::process::Command::new("docker").args(args).output() else { return String::new() };
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
