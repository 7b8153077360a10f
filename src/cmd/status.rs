//! `stackc status [PATH] --target T [--json]`.
pub fn run(_args: Args) -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
#[derive(clap::Args)]
pub struct Args {}
