//! `stackc init [PATH]`: write a starter stack (one service, one target
//! block) into PATH (created if needed), with comments that point at
//! `stackc explain` and the examples. It checks and builds as written.
//!
//! It never overwrites: a directory that already holds a `*.stack.hcl`
//! file is refused (exit 1) and left as it was.

use crate::stack::STACK_FILE_SUFFIX;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The directory to write the stack into (created if needed).
    #[arg(default_value = ".")]
    pub path: PathBuf,
}

/// The file `init` writes.
pub const STARTER_FILE: &str = "main.stack.hcl";

/// The starter stack; `{namespace}` is the stack directory's name as a DNS
/// label.
const STARTER: &str = r#"# A starter stack: one service on Kubernetes. Every `*.stack.hcl` file in
# this directory is part of the stack.
#
#   stackc check {path}                       # every problem at once
#   stackc build {path} -o out/               # manifests for `kubectl apply -f out/`
#   stackc explain E0203                      # what a diagnostic code means
#   stackc explain --list                     # every code
#
# More to copy from, in the stackc repository's `examples/`: `shop` (load
# balancer, database with a volume per instance, config, generated secret,
# canary rollout, autoscaling on local, aws and kubernetes), `blog`,
# `internal-tool` (a platform team's own components), `release-token`.

service "web" {
  image    = "nginx:1.27"
  replicas = 2
  port     = 80
  health { path = "/" }
}

# Where it runs. Add `target "aws" { region = "eu-west-3" }` or
# `target "local" {}` and choose with `--target`.
target "kubernetes" {
  namespace = "{namespace}"
}
"#;

pub fn run(args: Args) -> ExitCode {
    let mut err = std::io::stderr();
    match init(&args.path) {
        Ok(file) => {
            let shown = crate::stack::display_path(&args.path);
            let _ = writeln!(
                err,
                "wrote {}; next: `stackc check {shown}`, then `stackc build {shown} -o out/`",
                crate::stack::display_path(&file)
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            ExitCode::from(1)
        }
    }
}

fn init(dir: &Path) -> Result<PathBuf, String> {
    let shown = crate::stack::display_path(dir);
    if dir.exists() && !dir.is_dir() {
        return Err(format!("`{shown}` exists and is not a directory"));
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut existing: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(STACK_FILE_SUFFIX))
            .collect();
        if !existing.is_empty() {
            existing.sort();
            return Err(format!(
                "`{shown}` already holds a stack ({}); nothing was written. `stackc init` only writes into a \
                 directory without `*{STACK_FILE_SUFFIX}` files",
                existing.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the directory `{shown}`: {e}"))?;
    let name = match stackc_compiler::resolve::dns_name(&crate::pipeline::stack_name_of(dir)) {
        name if name.is_empty() => "stack".to_string(),
        name => name,
    };
    let text = STARTER.replace("{path}", &shown).replace("{namespace}", &name);
    let file = dir.join(STARTER_FILE);
    // `create_new`: a file that appeared meanwhile is not overwritten either.
    let mut handle = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&file)
        .map_err(|e| format!("cannot create `{}`: {e}", crate::stack::display_path(&file)))?;
    handle
        .write_all(text.as_bytes())
        .and_then(|()| handle.sync_all())
        .map_err(|e| format!("cannot write `{}`: {e}", crate::stack::display_path(&file)))?;
    Ok(file)
}
