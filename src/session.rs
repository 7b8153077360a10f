//! What `plan`, `apply`, `destroy` and `import` share: compile the stack,
//! take the state lock, load the state (replaying an interrupted apply's
//! journal), connect the providers, and turn planning and apply problems
//! into diagnostics that point at the user's source.

use crate::pipeline::{self, CheckedStack, Expand as _, StackArgs};
use crate::render::{self, Format, HumanStyle};
use crate::signals::Signals;
use indexmap::IndexMap;
use stackc_compiler::graph::ResourceGraph;
use stackc_compiler::{Code, Diagnostic, Origin, Sources, Span};
use stackc_planner::apply::ApplyFailure;
use stackc_planner::backend::{Backend, LockGuard};
use stackc_planner::planning::{PlanProblem, ProblemKind};
use stackc_planner::providers::ProviderSet;
use stackc_planner::state::State;
use std::io::Write;
use std::process::ExitCode;

/// A compiled stack with its state and providers.
pub struct Session {
    pub checked: CheckedStack,
    pub graph: ResourceGraph,
    pub backend: Backend,
    /// Held while the command runs (`None` with `--lock=false`).
    pub guard: Option<LockGuard>,
    pub state: State,
    /// Journal entries of an interrupted apply replayed by the load.
    pub recovered: usize,
    /// False when no state was ever written (`state` is new, with a fresh lineage).
    pub state_exists: bool,
    pub providers: ProviderSet,
    /// The AWS provider among `providers` (for `STACKC_AWS_STATS`).
    pub aws: Option<std::sync::Arc<stackc_provider_aws::AwsProvider>>,
    /// What SIGINT, SIGTERM and SIGHUP do now (`signals.rs`).
    pub signals: Signals,
    pub local: Option<std::sync::Arc<stackc_provider_local::LocalProvider>>,
}

/// A state locked (or not) and loaded, before the stack is compiled.
pub struct LoadedState {
    pub backend: Backend,
    pub guard: Option<LockGuard>,
    pub state: State,
    pub recovered: usize,
    pub state_exists: bool,
}

/// A multi-threaded runtime for the providers' I/O; a failure is written
/// to `err` and gives the exit code.
pub fn runtime(err: &mut dyn Write) -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| {
        let _ = writeln!(err, "error: cannot start the async runtime: {e}");
        ExitCode::from(1)
    })
}

impl Session {
    /// Compiles the stack of `args` (with `variables` given values, for a
    /// saved plan), locks its state for `operation` (unless `lock` is
    /// false), loads it and connects the providers. Errors are written to
    /// `err`; the `Err` is the exit code.
    pub fn open(
        args: &StackArgs,
        variables: Option<&stackc_compiler::Fields>,
        operation: &str,
        lock: bool,
        runtime: &tokio::runtime::Runtime,
        err: &mut dyn Write,
    ) -> Result<Session, ExitCode> {
        let checked = match variables {
            Some(values) => pipeline::check_stack_with_values(args, values, Format::Human, err),
            None => pipeline::check_stack(args, Format::Human, err),
        }
        .map_err(|failed| failed.exit)?;
        let compiled = checked.expand(None, Format::Human, err).map_err(|failed| failed.exit)?;
        let warnings: Vec<Diagnostic> = checked.warnings.iter().chain(&compiled.warnings).cloned().collect();
        if !warnings.is_empty() {
            let _ = render::emit(
                Format::Human,
                HumanStyle::from_env(),
                &checked.sources,
                &warnings,
                &mut std::io::sink(),
                err,
            );
        }
        Session::attach(checked, compiled.graph, operation, lock, runtime, err)
    }

    /// [`Session::open`] for a stack already checked and expanded without
    /// state (`graph`): locks, loads and connects. `build` uses it to
    /// generate values the way apply does.
    pub fn attach(
        checked: CheckedStack,
        graph: ResourceGraph,
        operation: &str,
        lock: bool,
        runtime: &tokio::runtime::Runtime,
        err: &mut dyn Write,
    ) -> Result<Session, ExitCode> {
        let fail = |err: &mut dyn Write, message: String| {
            let _ = writeln!(err, "error: {message}");
            ExitCode::from(1)
        };
        let signals = Signals::install(runtime);
        let backend = crate::cmd::state::open_backend(&checked.stack_dir, checked.target.as_deref())
            .map_err(|message| fail(err, message))?;
        let guard = if lock {
            Some(signals.taking_lock(|| backend.lock(operation)).map_err(|e| {
                let exit = fail(err, e.to_string());
                rollout_note(&backend, err);
                exit
            })?)
        } else {
            None
        };
        let loaded = backend.load_detailed().map_err(|e| fail(err, e.to_string()))?;
        let state_exists = loaded.is_some();
        let (state, recovered) = match loaded {
            Some(loaded) => (loaded.state, loaded.recovered),
            None => (backend.new_state(&checked.stack_name).map_err(|e| fail(err, e.to_string()))?, 0),
        };
        backend.check_stack(&state, &checked.stack_name).map_err(|e| fail(err, e.to_string()))?;
        // Autoscaling and rollouts: expand again with the replica counts
        // and the rollout steps the state records, so the plan keeps what
        // the autoscaler chose and the step a rollout stands at (a paused
        // canary is not planned away).
        let mut checked = checked;
        let recorded = state.autoscaled_replicas();
        let steps = state.rollout_steps();
        let graph = if recorded.is_empty() && steps.is_empty() {
            graph
        } else {
            checked.autoscaled_replicas = recorded;
            checked.rollouts = steps;
            checked.expand(None, Format::Human, err).map_err(|failed| failed.exit)?.graph
        };
        if let Some(note) = backend.journal_note(recovered, &crate::cmd::state::journal_shown(&backend)) {
            let _ = writeln!(err, "note: {note}");
        }
        let loaded = LoadedState { backend, guard, state, recovered, state_exists };
        Session::assemble(checked, graph, loaded, signals, runtime, err)
    }

    /// A session of a state already locked and loaded (`reconcile` takes
    /// the lock and loads the state before it compiles): connects the
    /// providers.
    pub fn assemble(
        checked: CheckedStack,
        graph: ResourceGraph,
        loaded: LoadedState,
        signals: Signals,
        runtime: &tokio::runtime::Runtime,
        err: &mut dyn Write,
    ) -> Result<Session, ExitCode> {
        let LoadedState { backend, guard, state, recovered, state_exists } = loaded;
        let fail = |err: &mut dyn Write, message: String| {
            let _ = writeln!(err, "error: {message}");
            ExitCode::from(1)
        };
        let attributes = checked.target_attributes.clone();
        let connected = runtime
            .block_on(crate::connect::providers(
                &checked.stack_name,
                &checked.stack_dir,
                checked.target.as_deref(),
                &attributes,
            ))
            .map_err(|message| fail(err, message))?;
        Ok(Session {
            checked,
            graph,
            backend,
            guard,
            state,
            recovered,
            state_exists,
            providers: connected.set,
            aws: connected.aws,
            signals,
            local: connected.local,
        })
    }

    pub fn sources(&self) -> &Sources {
        &self.checked.sources
    }

    /// Releases the lock, saying so if that fails; reports the AWS API
    /// calls made when `STACKC_AWS_STATS` asks for them.
    pub fn release(&mut self, err: &mut dyn Write) {
        crate::connect::report_aws_stats(self.aws.as_deref(), err);
        crate::connect::report_local_stats(self.local.as_deref(), err);
        if let Some(guard) = self.guard.take() {
            if let Err(error) = guard.release() {
                let _ = writeln!(err, "warning: {error}");
            }
            self.signals.released();
        }
    }
}

/// When the state cannot be locked and records a rollout under way (an
/// apply killed mid-rollout leaves its lock): says how it goes on once the
/// lock is released.
fn rollout_note(backend: &Backend, err: &mut dyn Write) {
    let Ok(Some(state)) = backend.load() else { return };
    for (instance, record) in state.rollouts() {
        if record.status == stackc_planner::state::RolloutStatus::Applying
            || record.status == stackc_planner::state::RolloutStatus::RollingBack
        {
            let _ = writeln!(
                err,
                "note: the state records the rollout of `{instance}` at step {}/{} ({}); once the lock is \
                 released, `stackc apply` resumes it (re-applying that step) and `stackc rollout abort` rolls it back.",
                (record.step + 1).min(record.steps.max(1)),
                record.steps,
                record.status.as_str()
            );
        }
    }
}

/// Where a problem about a resource is shown, from its provenance (the
/// spans from the user's instance block down to the resource block,
/// outermost first).
struct Placed {
    /// The failing resource's own block: the resource block when it is in
    /// the user's files, else the innermost user block it was expanded from
    /// (an instance of a stdlib component), else the resource block (a
    /// resource of the implicit `network.main` has no user block at all).
    primary: Span,
    /// The resource block, when it is not the primary (in the stdlib).
    declared: Option<Span>,
    /// The other blocks the resource was expanded through (instance blocks
    /// outside the primary), outermost first. A span that encloses another
    /// of the provenance (a component, an `on` block) says nothing its
    /// inner spans do not, and drawing it put a 180-line label over
    /// `component "network"`: it is left out.
    through: Vec<Span>,
}

fn place(sources: &Sources, provenance: &[Span]) -> Option<Placed> {
    let spans: Vec<Span> =
        provenance.iter().filter(|s| (s.file.0 as usize) < sources.len()).copied().collect();
    let resource = *spans.last()?;
    let in_user = |s: &Span| sources.get(s.file).origin == Origin::User;
    let primary = if in_user(&resource) {
        resource
    } else {
        spans.iter().rev().find(|s| in_user(s)).copied().unwrap_or(resource)
    };
    let encloses = |outer: &Span, inner: &Span| {
        outer != inner && outer.file == inner.file && outer.start <= inner.start && inner.end <= outer.end
    };
    let mut through: Vec<Span> = Vec::new();
    for span in &spans {
        let leaf = !spans.iter().any(|other| encloses(span, other));
        if leaf && *span != primary && *span != resource && !through.contains(span) {
            through.push(*span);
        }
    }
    Some(Placed { primary, declared: (resource != primary).then_some(resource), through })
}

impl Placed {
    /// The secondary labels: where the resource is declared, then the
    /// instances it was expanded through.
    fn label(&self, mut diagnostic: Diagnostic) -> Diagnostic {
        if let Some(declared) = self.declared {
            diagnostic = diagnostic.with_secondary(declared, "the resource is declared here");
        }
        for span in &self.through {
            diagnostic = diagnostic.with_secondary(*span, "expanded from this instance");
        }
        diagnostic
    }
}

fn with_code(message: &str, code: &Option<String>) -> String {
    let message = message.trim_end_matches('.');
    match code {
        Some(code) => format!("{message} (error code {code})."),
        None => format!("{message}."),
    }
}

/// A problem as shown to the user: a diagnostic at the user's source when
/// there is one, else one line.
pub struct Shown {
    /// The resource it is about, if any.
    pub address: Option<String>,
    pub code: Code,
    pub message: String,
    pub diagnostic: Option<Diagnostic>,
}

/// A planning problem as a diagnostic, when it can point at a source.
pub fn plan_problem(sources: &Sources, problem: &PlanProblem) -> Shown {
    let code = match problem.kind {
        ProblemKind::Refresh => Code::RefreshFailed,
        ProblemKind::Plan => Code::ProviderRejected,
    };
    let message = match &problem.address {
        Some(address) if !problem.message.contains(address.as_str()) => {
            with_code(&format!("`{address}`: {}", problem.message), &problem.code)
        }
        _ => with_code(&problem.message, &problem.code),
    };
    let diagnostic = place(sources, &problem.provenance).map(|placed| {
        placed.label(Diagnostic::new(code, placed.primary, message.clone()).with_label(match problem.kind {
            ProblemKind::Refresh => "this resource could not be read",
            ProblemKind::Plan => "the provider refused this",
        }))
    });
    Shown { address: problem.address.as_ref().map(|a| a.0.clone()), code, message, diagnostic }
}

/// Provider error codes that are about one attribute of the user's block:
/// the diagnostic points at that attribute when the block sets it.
const ATTRIBUTE_OF_CODE: &[(&str, &str)] = &[("ImageMissing", "image"), ("PortInUse", "port")];

/// A failed apply operation as a diagnostic, when it can point at a source.
pub fn apply_failure(sources: &Sources, failure: &ApplyFailure) -> Shown {
    let code = Code::OperationFailed;
    let message = with_code(
        &format!("{} of `{}` failed: {}", failure.kind.as_str(), failure.address, failure.message),
        &failure.code,
    );
    let attribute =
        ATTRIBUTE_OF_CODE.iter().find(|(c, _)| failure.code.as_deref() == Some(*c)).map(|(_, a)| *a);
    let diagnostic = place(sources, &failure.provenance).map(|placed| {
        let at = attribute.and_then(|name| sources.attribute_span(placed.primary, name));
        let primary = at.unwrap_or(placed.primary);
        let label = match (at, attribute) {
            (Some(_), Some(name)) => format!("{} failed because of this `{name}`", failure.kind.as_str()),
            _ => format!("{} failed", failure.kind.as_str()),
        };
        placed.label(Diagnostic::new(code, primary, message.clone()).with_label(label))
    });
    Shown { address: Some(failure.address.0.clone()), code, message, diagnostic }
}

/// How many addresses a note lists before "and N more".
const LISTED: usize = 10;

/// Writes problems: with a source snippet where there is one, else one
/// line. Problems that differ only by the resource they name (an
/// unreachable endpoint fails every read the same way) are shown once,
/// followed by the other addresses, so the cause is not buried.
pub fn emit_problems(sources: &Sources, problems: &[Shown], err: &mut dyn Write) {
    let style = HumanStyle::from_env();
    let key = |p: &Shown| {
        let message = match &p.address {
            Some(address) => p.message.replace(address.as_str(), "\u{0}"),
            None => p.message.clone(),
        };
        (p.code, message)
    };
    let mut groups: IndexMap<(Code, String), Vec<&Shown>> = IndexMap::new();
    for problem in problems {
        groups.entry(key(problem)).or_default().push(problem);
    }
    for members in groups.values() {
        let first = members[0];
        match &first.diagnostic {
            Some(diagnostic) => {
                let _ = writeln!(err, "{}", render::human(sources, diagnostic, style));
            }
            None => {
                let _ = writeln!(err, "error[{}]: {}: {}\n", first.code, first.code.summary(), first.message);
            }
        }
        let others: Vec<&str> = members[1..].iter().filter_map(|p| p.address.as_deref()).collect();
        if !others.is_empty() {
            let mut list: Vec<String> = others.iter().take(LISTED).map(|a| format!("`{a}`")).collect();
            if others.len() > LISTED {
                list.push(format!("and {} more", others.len() - LISTED));
            }
            let _ = writeln!(
                err,
                "error[{}]: the same for {} other resource{}: {}\n",
                first.code,
                others.len(),
                if others.len() == 1 { "" } else { "s" },
                list.join(", ")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackc_compiler::graph::ResourceAddress;
    use stackc_compiler::{FileId, SourceFile};

    const STYLE: HumanStyle = HumanStyle { color: false, width: 80 };

    const NETWORK: &str = "component \"network\" {\n  param \"cidr\" {\n    default = \"10.0.0.0/16\"\n  }\n\n  on \"aws\" {\n    resource \"aws_vpc\" \"main\" {\n      cidr_block = param.cidr\n    }\n\n    resource \"aws_subnet\" \"a\" {\n      vpc_id = aws_vpc.main.id\n    }\n  }\n}\n";

    const WEB: &str = "component \"web\" {\n  on \"local\" {\n    resource \"docker_container\" \"app\" {\n      name  = \"web\"\n      image = \"nginx:missing\"\n    }\n  }\n}\n\nweb \"front\" {}\n";

    /// The span of the block whose text starts with `header` (through its
    /// closing brace at the same indentation).
    fn block(sources: &Sources, file: FileId, header: &str) -> Span {
        let text = &sources.get(file).text;
        let start = text.find(header).unwrap();
        let indent = start - text[..start].rfind('\n').map_or(0, |i| i + 1);
        let close = format!("\n{}}}", " ".repeat(indent));
        let end = start + text[start..].find(&close).unwrap() + close.len();
        Span::new(file, start..end)
    }

    fn refusal(provenance: Vec<Span>) -> PlanProblem {
        PlanProblem {
            kind: ProblemKind::Plan,
            address: Some(ResourceAddress("network.main/aws_vpc.main".to_string())),
            code: Some("InvalidParameterValue".to_string()),
            message: "the CIDR block is too small".to_string(),
            provenance,
        }
    }

    /// The implicit `network.main` has no user block: its provenance is the
    /// component (as the instance), the component, the `on` block and the
    /// resource block, all in the stdlib. The label is the resource block,
    /// not the whole component.
    #[test]
    fn a_provider_refusal_labels_the_resource_block_not_its_component() {
        let mut sources = Sources::new();
        let file = sources.add(SourceFile::new("stdlib/network.stack.hcl", NETWORK, Origin::Stdlib));
        let component = block(&sources, file, "component \"network\"");
        let on = block(&sources, file, "on \"aws\"");
        let resource = block(&sources, file, "resource \"aws_vpc\"");
        let shown = plan_problem(&sources, &refusal(vec![component, component, on, resource]));
        let diagnostic = shown.diagnostic.unwrap();
        assert_eq!(diagnostic.primary.span, resource);
        assert!(diagnostic.secondary.is_empty(), "{:?}", diagnostic.secondary);
        insta::assert_snapshot!(render::human(&sources, &diagnostic, STYLE));
    }

    /// A resource of a component in the user's file: its own block is the
    /// primary label (the attribute the provider's code names, when the
    /// block sets it), the instance it was expanded from a secondary one;
    /// the component and `on` blocks around it are not drawn.
    #[test]
    fn an_apply_failure_labels_the_user_resource_block_and_its_instance() {
        let mut sources = Sources::new();
        let file = sources.add(SourceFile::new("main.stack.hcl", WEB, Origin::User));
        let instance_at = WEB.find("web \"front\"").unwrap();
        let instance = Span::new(file, instance_at..WEB.len() - 1);
        let component = block(&sources, file, "component \"web\"");
        let on = block(&sources, file, "on \"local\"");
        let resource = block(&sources, file, "resource \"docker_container\"");
        let failure = ApplyFailure {
            address: ResourceAddress("web.front/docker_container.app".to_string()),
            kind: stackc_planner::apply::OperationKind::Create,
            code: Some("ImageMissing".to_string()),
            message: "the image `nginx:missing` is not on the Docker Engine".to_string(),
            provenance: vec![instance, component, on, resource],
        };
        let diagnostic = apply_failure(&sources, &failure).diagnostic.unwrap();
        let text = &WEB[diagnostic.primary.span.start as usize..diagnostic.primary.span.end as usize];
        assert_eq!(text, "image = \"nginx:missing\"");
        let secondary: Vec<Span> = diagnostic.secondary.iter().map(|l| l.span).collect();
        assert_eq!(secondary, vec![instance]);
        insta::assert_snapshot!(render::human(&sources, &diagnostic, STYLE));
    }
}
