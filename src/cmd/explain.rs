//! `stackc explain CODE`: print a diagnostic code's page (what it means, why,
//! an example, how to fix); `--list` lists every code with its summary.
//! Without either, it says both ways (exit 2, a usage error).

use stackc_compiler::Code;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A diagnostic code, e.g. E0203.
    pub code: Option<String>,
    /// List every code with its summary.
    #[arg(long, conflicts_with = "code")]
    pub list: bool,
}

pub fn run(args: Args) -> ExitCode {
    // Write errors (a closed pipe, as in `stackc explain --list | head`) end
    // the output quietly instead of panicking like `println!` would.
    let mut out = std::io::stdout().lock();
    if args.list {
        for code in Code::ALL {
            if writeln!(out, "{code}  {:<7}  {}", code.severity().as_str(), code.summary()).is_err() {
                break;
            }
        }
        return ExitCode::SUCCESS;
    }
    let Some(asked) = args.code else {
        // A usage error, with the way out: the exit code of every usage error.
        eprintln!(
            "error: which diagnostic code? `stackc explain E0203` prints a code's page; `stackc explain --list` \
             lists every code with its summary"
        );
        return ExitCode::from(crate::EXIT_USAGE);
    };
    match Code::parse(&asked) {
        Some(code) => {
            let page = code.page();
            let newline = if page.ends_with('\n') { "" } else { "\n" };
            let _ = write!(out, "{page}{newline}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("error: unknown diagnostic code `{asked}`");
            let upper = asked.trim().to_ascii_uppercase();
            let suggestion =
                stackc_compiler::diagnostic::did_you_mean(&upper, Code::ALL.iter().map(|c| c.as_str()));
            match suggestion {
                Some(help) => eprintln!("  help: {help}"),
                None => eprintln!("  help: `stackc explain --list` lists every code"),
            }
            ExitCode::from(1)
        }
    }
}
