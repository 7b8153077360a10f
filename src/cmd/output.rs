//! `stackc output [PATH] [NAME]`: the stack's outputs as of the last apply,
//! read from the state (no compiler, no provider). PATH comes first, as in
//! every command that works on a stack; a single operand is the PATH when
//! it names a directory or a stack file, else the NAME (`stackc output url`
//! in the stack directory; one with a `/` is always a PATH).
//!
//! Human form hides sensitive values as `(sensitive)`. As in Terraform,
//! asking for values in a machine form prints them: `--json` (all outputs,
//! or one) and `--raw NAME` show sensitive values in plain text, since
//! scripts need them.

use crate::cmd::state::{
    describe, load, locate, names_a_stack, render_value, stack_path, CommandResult, Location,
};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The stack directory (default: the current one).
    #[arg(value_name = "PATH")]
    pub first: Option<String>,
    /// The output to print; every output when omitted.
    #[arg(value_name = "NAME")]
    pub second: Option<String>,
    /// Print JSON: `{"NAME": {"sensitive": bool, "value": ...}}` for every
    /// output, or the value of NAME. Sensitive values are included.
    #[arg(long)]
    pub json: bool,
    /// Print the value of NAME as it is, without quotes or newline (strings,
    /// numbers and bools only). Sensitive values are included.
    #[arg(long, conflicts_with = "json")]
    pub raw: bool,
    /// The stack directory (the same as PATH).
    #[arg(long = "dir", short = 'C', value_name = "PATH", hide = true)]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub location: Location,
}

pub fn run(args: Args) -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let result = print(&args, &mut out, &mut err);
    let _ = out.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            ExitCode::from(1)
        }
    }
}

/// The stack directory and the output's name, from `[PATH] [NAME]`.
fn operands(args: &Args) -> Result<(PathBuf, Option<String>), String> {
    let (path, name) = match (&args.first, &args.second) {
        (Some(path), Some(name)) => (Some(PathBuf::from(path)), Some(name.clone())),
        // An output's name is an identifier: with a `/` it is a path (one
        // that does not exist is said so).
        (Some(one), None) if names_a_stack(one) || one.contains('/') => (Some(PathBuf::from(one)), None),
        (Some(name), None) => (None, Some(name.clone())),
        (None, _) => (None, None),
    };
    if args.raw && name.is_none() {
        return Err("`--raw` prints one output: name it (`stackc output [PATH] NAME --raw`)".to_string());
    }
    Ok((stack_path(path, args.dir.clone())?, name))
}

fn print(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> CommandResult {
    let (dir, name) = operands(args)?;
    let backend = locate(&dir, &args.location)?;
    let state = load(&backend, err)?;
    let mut outputs: Vec<_> = state.iter().flat_map(|s| s.outputs.iter()).collect();
    outputs.sort_by(|a, b| a.0.cmp(b.0));
    let io = |e: std::io::Error| e.to_string();

    let Some(name) = &name else {
        if args.json {
            let object: serde_json::Map<String, serde_json::Value> = outputs
                .iter()
                .map(|(name, o)| {
                    let entry = serde_json::json!({ "sensitive": o.sensitive, "value": o.value.to_json() });
                    ((*name).clone(), entry)
                })
                .collect();
            let text = serde_json::to_string_pretty(&object).map_err(|e| e.to_string())?;
            return writeln!(out, "{text}").map_err(io);
        }
        if outputs.is_empty() {
            let _ = writeln!(
                err,
                "No outputs found for {}: apply the stack first, or declare `output` blocks.",
                describe(&backend)
            );
            return Ok(());
        }
        for (name, output) in outputs {
            let value =
                if output.sensitive { "(sensitive)".to_string() } else { render_value(&output.value, 0) };
            writeln!(out, "{name} = {value}").map_err(io)?;
        }
        return Ok(());
    };

    let Some((_, output)) = outputs.iter().find(|(n, _)| *n == name) else {
        let names: Vec<String> = outputs.iter().map(|(n, _)| format!("`{n}`")).collect();
        let known = if names.is_empty() {
            "there are none".to_string()
        } else {
            format!("outputs: {}", names.join(", "))
        };
        return Err(format!("no output `{name}` in the state of {} ({known})", describe(&backend)));
    };
    if args.json {
        let text = serde_json::to_string_pretty(&output.value.to_json()).map_err(|e| e.to_string())?;
        return writeln!(out, "{text}").map_err(io);
    }
    if args.raw {
        let text = match output.value.unmarked() {
            stackc_compiler::Value::String(s) => s,
            stackc_compiler::Value::Number(n) => stackc_compiler::value::format_number(n),
            stackc_compiler::Value::Bool(b) => b.to_string(),
            _ => {
                return Err(format!(
                "`--raw` prints only strings, numbers and bools, and output `{name}` is not one; use --json"
            ))
            }
        };
        return write!(out, "{text}").map_err(io);
    }
    if output.sensitive {
        writeln!(out, "(sensitive)").map_err(io)?;
        let _ = writeln!(err, "note: output `{name}` is sensitive; `--raw` or `--json` print its value");
        return Ok(());
    }
    writeln!(out, "{}", render_value(&output.value, 0)).map_err(io)
}
