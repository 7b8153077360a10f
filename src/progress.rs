//! The progress display of `apply` and `destroy`: one line per started and
//! finished operation (what a CI log needs), and every 10 seconds a line
//! for each operation still running.

use stackc_planner::apply::{ApplyEvent, ApplyObserver, OperationKind};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often "still creating..." lines appear.
pub const TICK: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Inner {
    running: BTreeMap<String, (OperationKind, Instant)>,
}

/// Prints progress lines to stdout.
#[derive(Clone, Default)]
pub struct Progress {
    inner: Arc<Mutex<Inner>>,
}

fn doing(kind: OperationKind) -> &'static str {
    match kind {
        OperationKind::Create => "creating",
        OperationKind::Update => "updating",
        OperationKind::Delete => "deleting",
    }
}

fn done(kind: OperationKind) -> &'static str {
    match kind {
        OperationKind::Create => "created",
        OperationKind::Update => "updated",
        OperationKind::Delete => "deleted",
    }
}

fn seconds(elapsed: Duration) -> String {
    let s = elapsed.as_secs_f64();
    if s < 10.0 {
        format!("{s:.1}s")
    } else {
        format!("{}s", s.round() as u64)
    }
}

fn line(text: String) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

impl Progress {
    /// Prints a line for each operation running longer than `TICK`; call
    /// every `TICK` (a task of the command does).
    pub fn tick(&self) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for (address, (kind, since)) in &inner.running {
            if since.elapsed() >= TICK {
                line(format!("{address}: still {}... [{} elapsed]", doing(*kind), seconds(since.elapsed())));
            }
        }
    }
}

impl ApplyObserver for Progress {
    fn event(&self, event: &ApplyEvent) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            ApplyEvent::Started { address, kind } => {
                inner.running.insert(address.0.clone(), (*kind, Instant::now()));
                line(format!("{address}: {}...", doing(*kind)));
            }
            ApplyEvent::Finished { address, kind, id, elapsed } => {
                inner.running.remove(address.as_str());
                let id = id.as_ref().map(|id| format!(" [id={id}]")).unwrap_or_default();
                line(format!("{address}: {} after {}{id}", done(*kind), seconds(*elapsed)));
            }
            ApplyEvent::Failed { address, kind, message } => {
                inner.running.remove(address.as_str());
                line(format!("{address}: {} failed: {message}", kind.as_str()));
            }
            ApplyEvent::Skipped { address, kind, because } => {
                line(format!("{address}: {} not started: {because}", kind.as_str()));
            }
            ApplyEvent::Stopping { running } => {
                line(format!(
                    "Stopping: nothing new starts; waiting for {running} running operation{} to finish.",
                    if *running == 1 { "" } else { "s" }
                ));
            }
        }
    }
}
