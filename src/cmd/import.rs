//! `stackc import [PATH] ADDR ID`: adopt an existing object into the state
//! as the resource the configuration declares at ADDR. PATH (the stack
//! directory, default: the current one) comes first, as in every command
//! that works on a stack.
//!
//! The address must be one the stack expands to (so its type and provider
//! are known) and not already in the state. The provider reads the object
//! by its id; the state records it with the configuration's dependencies.
//! The next `stackc plan` shows how the object differs from the
//! configuration.

use crate::pipeline::StackArgs;
use crate::session::{runtime, Session};
use crate::stack::VariableArgs;
use stackc_compiler::diagnostic::did_you_mean;
use stackc_compiler::graph::ResourceAddress;
use stackc_planner::planning::operation_context;
use stackc_planner::state::ResourceState;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
#[command(override_usage = "stackc import [OPTIONS] [PATH] <ADDRESS> <ID>")]
pub struct Args {
    /// PATH (optional), ADDRESS and ID: the stack directory (default: the
    /// current one); the resource's address in the configuration
    /// (`stackc_data.seed`, `database.main/aws_instance.node["0"]`); the
    /// provider's id of the object (`i-0abc...`; for `random_password`, the
    /// password).
    #[arg(num_args = 2..=3, required = true, value_name = "OPERAND")]
    pub operands: Vec<String>,
    /// The target to expand for (`kubernetes`, `aws`, `local`); may be
    /// omitted when the stack declares one target (or none).
    #[arg(long)]
    pub target: Option<String>,
    #[command(flatten)]
    pub variables: VariableArgs,
}

/// What to import, from `[PATH] ADDRESS ID`.
struct Wanted {
    stack: StackArgs,
    address: String,
    id: String,
}

fn wanted(args: Args) -> Result<Wanted, String> {
    let mut operands = args.operands;
    let path = if operands.len() == 3 { PathBuf::from(operands.remove(0)) } else { PathBuf::from(".") };
    let (address, id) = (operands.remove(0), operands.remove(0));
    // `import ADDR ID DIR`, the order of earlier versions.
    if !path.exists() && crate::cmd::state::names_a_stack(&id) {
        return Err(format!(
            "`{}` is not a directory and `{id}` is: the stack directory comes first (`stackc import {id} {} \
             {address}`)",
            path.display(),
            path.display()
        ));
    }
    Ok(Wanted { stack: StackArgs { path, target: args.target, variables: args.variables }, address, id })
}

pub fn run(args: Args) -> ExitCode {
    let mut err = std::io::stderr();
    let args = match wanted(args) {
        Ok(wanted) => wanted,
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            return ExitCode::from(1);
        }
    };
    let runtime = match runtime(&mut err) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let mut session = match Session::open(&args.stack, None, "import", true, &runtime, &mut err) {
        Ok(session) => session,
        Err(exit) => return exit,
    };
    let result = import(&args, &mut session, &runtime);
    session.release(&mut err);
    match result {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            ExitCode::from(1)
        }
    }
}

fn import(args: &Wanted, session: &mut Session, runtime: &tokio::runtime::Runtime) -> Result<String, String> {
    let address = ResourceAddress(args.address.trim().to_string());
    let Some(node) = session.graph.get(&address) else {
        let help = did_you_mean(&address.0, session.graph.nodes().map(|n| n.address.as_str()))
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        return Err(format!(
            "the configuration has no resource `{address}`{help}; import adopts an object as a resource the \
             stack declares (`stackc build --format json` lists the addresses)"
        ));
    };
    if session.state.resources.contains_key(&address) {
        return Err(format!(
            "`{address}` is already in the state; to adopt another object, first `stackc state rm {address}`"
        ));
    }
    let provider = session.providers.provider(node.target.as_deref())?.clone();
    let ctx = operation_context(&session.state, &address, &node.type_name, node.target.as_deref());
    let object = runtime
        .block_on(provider.import(&ctx, &args.id))
        .map_err(|e| {
            let code = e.code.map(|c| format!(" ({c})")).unwrap_or_default();
            format!("importing `{address}`{code}: {}", e.message)
        })?
        .ok_or_else(|| {
            format!("no object with id `{}` exists for `{address}` ({})", args.id, node.type_name)
        })?;
    let attributes = session.providers.mark_sensitive(&node.type_name, object.attributes);
    session.state.resources.insert(
        address.clone(),
        ResourceState {
            type_name: node.type_name.clone(),
            target: node.target.clone(),
            id: object.id.clone(),
            attributes,
            dependencies: node.dependencies.clone(),
            tainted: false,
        },
    );
    let guard = session.guard.as_ref().ok_or("import needs the state lock")?;
    session.backend.write(guard, &mut session.state).map_err(|e| e.to_string())?;
    Ok(format!(
        "Imported `{address}` (id {}). Run `stackc plan` to see how it differs from the configuration.",
        object.id
    ))
}
