//! The `stackc` binary: argument parsing, file and network I/O, rendering.
//! Each subcommand lives in `cmd/<name>.rs` with its own `Args` and `run`.

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc instead of the system allocator: planning and applying large
/// stacks allocate many small values, and glibc's malloc made them twice as
/// slow (benches/plan.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cmd;
mod connect;
mod pipeline;
mod progress;
mod render;
mod rollout;
mod session;
mod signals;
mod stack;

#[derive(Parser)]
#[command(name = "stackc", version, about = "Compile, plan and apply infrastructure stacks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a starter stack (one service, one target) into a directory.
    Init(cmd::init::Args),
    /// Parse and type-check a stack; report every problem found.
    #[command(visible_alias = "validate")]
    Check(cmd::check::Args),
    /// Compile a stack for a target: Kubernetes manifests, or the resource graph as JSON.
    Build(cmd::build::Args),
    /// Print the resource graph of a stack for a target, in Graphviz DOT.
    Graph(cmd::graph::Args),
    /// Show what apply would change (refreshing first), and why.
    Plan(cmd::plan::Args),
    /// Make the changes: plan and confirm, or apply a saved plan file.
    Apply(cmd::apply::Args),
    /// Delete every resource of the stack's state, dependents first.
    Destroy(cmd::apply::DestroyArgs),
    /// Adopt an existing object into the state as a configured resource.
    Import(cmd::import::Args),
    /// Rewrite stack files in the canonical layout (`--check`: exit 3 if any would change).
    Fmt(cmd::fmt::Args),
    /// Explain a diagnostic code or a topic (`stackc explain E0203`, `stackc explain rollout`).
    Explain(cmd::explain::Args),
    /// Keep what was applied as it was applied: restore lost objects, start
    /// stopped containers, put back (or report) drift; once or `--watch`.
    Reconcile(cmd::reconcile::Args),
    /// What runs now, per instance: replicas, health, restarts, drift.
    Status(cmd::status::Args),
    /// Rollouts of a new version: status, promote, abort, undo.
    Rollout(cmd::rollout::Args),
    /// Inspect and edit the state: list, show, rm, mv, unlock.
    State(cmd::state::Args),
    /// Print the stack's outputs from the last apply.
    Output(cmd::output::Args),
    /// Print a shell completion script for bash, zsh or fish.
    Completions(cmd::completions::Args),
    /// Print the man page (`stackc man > stackc.1`).
    Man(cmd::completions::ManArgs),
    /// Run the language server on stdin/stdout (for editors).
    Lsp(cmd::lsp::Args),
}

/// The exit code of a usage error (an unknown flag, a missing argument,
/// flags that cannot go together): 64, as BSD's `sysexits.h` says, so it
/// is never taken for `--detailed-exitcode`'s 2 ("changes"). Documented in
/// the README.
pub const EXIT_USAGE: u8 = 64;

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(stack::terraform_style_args(std::env::args_os())) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { ExitCode::from(EXIT_USAGE) } else { ExitCode::SUCCESS };
        }
    };
    match cli.command {
        Command::Init(args) => cmd::init::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Build(args) => cmd::build::run(args),
        Command::Graph(args) => cmd::graph::run(args),
        Command::Plan(args) => cmd::plan::run(args),
        Command::Apply(args) => cmd::apply::run(args),
        Command::Destroy(args) => cmd::apply::run_destroy(args),
        Command::Import(args) => cmd::import::run(args),
        Command::Fmt(args) => cmd::fmt::run(args),
        Command::Explain(args) => cmd::explain::run(args),
        Command::Reconcile(args) => cmd::reconcile::run(args),
        Command::Status(args) => cmd::status::run(args),
        Command::Rollout(args) => cmd::rollout::run(args),
        Command::State(args) => cmd::state::run(args),
        Command::Output(args) => cmd::output::run(args),
        Command::Completions(args) => cmd::completions::run(args, Cli::command()),
        Command::Man(args) => cmd::completions::run_man(args, Cli::command()),
        Command::Lsp(args) => cmd::lsp::run(args),
    }
}
