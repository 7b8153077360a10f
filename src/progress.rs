//! The progress display of `apply` and `destroy`: one line per started and
//! finished operation (what a CI log needs), and every 10 seconds a line
//! for each operation still running. On a terminal, a status line under
//! them counts what is done, running and left, redrawn in place.

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
    done: usize,
    failed: usize,
    /// A status line is on screen (terminal only).
    status_shown: bool,
}

/// Where progress lines go: stdout for `apply` and `destroy`; stderr for
/// `build`, whose stdout may be the manifests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stream {
    #[default]
    Stdout,
    Stderr,
}

impl Stream {
    fn writer(self) -> Box<dyn Write> {
        match self {
            Stream::Stdout => Box::new(std::io::stdout().lock()),
            Stream::Stderr => Box::new(std::io::stderr().lock()),
        }
    }
}

/// Prints progress lines to its stream.
#[derive(Clone, Default)]
pub struct Progress {
    inner: Arc<Mutex<Inner>>,
    /// Operations in the plan.
    total: usize,
    /// The stream is a terminal: draw the status line.
    terminal: bool,
    stream: Stream,
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

/// A duration as the progress and event lines show it: `4.2s`, `37s`.
pub fn seconds(elapsed: Duration) -> String {
    let s = elapsed.as_secs_f64();
    if s < 10.0 {
        format!("{s:.1}s")
    } else {
        format!("{}s", s.round() as u64)
    }
}

/// One reported line: the address, then the provider's text on one line.
fn note_text(address: &str, text: &str) -> String {
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    format!("{address}: {}", text.trim())
}

impl Progress {
    pub fn new(total: usize, stream: Stream) -> Progress {
        use std::io::IsTerminal;
        let terminal = match stream {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        };
        Progress { inner: Arc::default(), total, terminal, stream }
    }

    /// Prints one line (above the status line, which is redrawn).
    fn line(&self, inner: &mut Inner, text: String) {
        let mut out = self.stream.writer();
        if inner.status_shown {
            let _ = write!(out, "\r\x1b[K");
        }
        let _ = writeln!(out, "{text}");
        if self.terminal {
            let left = self.total.saturating_sub(inner.done + inner.failed + inner.running.len());
            let failed = if inner.failed > 0 { format!(", {} failed", inner.failed) } else { String::new() };
            let _ = write!(
                out,
                "  [{}/{} done, {} running{failed}, {left} waiting]",
                inner.done,
                self.total,
                inner.running.len()
            );
            inner.status_shown = true;
        }
        let _ = out.flush();
    }

    /// A line a provider reports while an operation runs (an image pull's
    /// layers), under the operation's address.
    pub fn note(&self, address: &str, text: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        self.line(&mut inner, note_text(address, text));
    }

    /// Removes the status line (before the summary).
    pub fn finish(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.status_shown {
            let mut out = self.stream.writer();
            let _ = write!(out, "\r\x1b[K");
            let _ = out.flush();
            inner.status_shown = false;
        }
    }

    /// Prints a line for each operation running longer than `TICK`; call
    /// every `TICK` (a task of the command does).
    pub fn tick(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let long: Vec<String> = inner
            .running
            .iter()
            .filter(|(_, (_, since))| since.elapsed() >= TICK)
            .map(|(address, (kind, since))| {
                format!("{address}: still {}... [{} elapsed]", doing(*kind), seconds(since.elapsed()))
            })
            .collect();
        for text in long {
            self.line(&mut inner, text);
        }
    }
}

impl ApplyObserver for Progress {
    fn event(&self, event: &ApplyEvent) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            ApplyEvent::Started { address, kind } => {
                inner.running.insert(address.0.clone(), (*kind, Instant::now()));
                self.line(&mut inner, format!("{address}: {}...", doing(*kind)));
            }
            ApplyEvent::Finished { address, kind, id, elapsed } => {
                inner.running.remove(address.as_str());
                inner.done += 1;
                let id = id.as_ref().map(|id| format!(" [id={id}]")).unwrap_or_default();
                self.line(&mut inner, format!("{address}: {} after {}{id}", done(*kind), seconds(*elapsed)));
            }
            ApplyEvent::Failed { address, kind, message } => {
                inner.running.remove(address.as_str());
                inner.failed += 1;
                self.line(&mut inner, format!("{address}: {} failed: {message}", kind.as_str()));
            }
            ApplyEvent::Skipped { address, kind, because } => {
                inner.failed += 1;
                self.line(&mut inner, format!("{address}: {} not started: {because}", kind.as_str()));
            }
            ApplyEvent::Stopping { running } => {
                let text = format!(
                    "Stopping: nothing new starts; waiting for {running} running operation{} to finish.",
                    if *running == 1 { "" } else { "s" }
                );
                self.line(&mut inner, text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reported_line_is_one_line_under_its_address() {
        assert_eq!(
            note_text(
                "service.api/docker_container.replica[0]",
                "pulling nginx:1.27: layer 1a2b: Downloading\r\n"
            ),
            "service.api/docker_container.replica[0]: pulling nginx:1.27: layer 1a2b: Downloading"
        );
        assert_eq!(note_text("a", "\x1b[2Kdone"), "a: [2Kdone");
    }
}
