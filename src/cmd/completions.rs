//! `stackc completions bash|zsh|fish` and `stackc man`: shell completion
//! scripts and the man page, generated from the same clap definitions that
//! parse the command line, so they never disagree with it.

use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(clap::Args)]
pub struct ManArgs {}

/// Writes the completion script for `args.shell` to stdout.
pub fn run(args: Args, mut command: clap::Command) -> ExitCode {
    let name = command.get_name().to_string();
    let mut script = Vec::new();
    match args.shell {
        Shell::Bash => clap_complete::generate(clap_complete::Shell::Bash, &mut command, name, &mut script),
        Shell::Zsh => clap_complete::generate(clap_complete::Shell::Zsh, &mut command, name, &mut script),
        Shell::Fish => clap_complete::generate(clap_complete::Shell::Fish, &mut command, name, &mut script),
    }
    write_out(&script)
}

/// Writes the man page (roff, section 1) to stdout: `stackc man > stackc.1`.
pub fn run_man(_args: ManArgs, command: clap::Command) -> ExitCode {
    let mut page = Vec::new();
    match clap_mangen::Man::new(command).render(&mut page) {
        Ok(()) => write_out(&page),
        Err(error) => {
            eprintln!("error: cannot render the man page: {error}");
            ExitCode::from(1)
        }
    }
}

fn write_out(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: cannot write: {error}");
            ExitCode::from(1)
        }
    }
}
