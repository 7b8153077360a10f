//! Signals (Ctrl-C, SIGTERM, SIGHUP) while a command holds the state lock.
//!
//! Handled from the moment a session opens to the end of the command, by
//! a task on the runtime (so a signal is seen even while the main thread
//! waits at the confirmation prompt). What a signal does depends on where
//! the command is ([`Signals`]' phase):
//!
//! - before anything changed (compiling, refreshing, planning, asking for
//!   confirmation): abandon. The lock is released and the process exits
//!   with 128 + the signal's number; there is no journal yet and the state
//!   was only read.
//! - applying: the apply is asked to stop (nothing new starts, running
//!   operations finish); a second signal drops running operations. Either
//!   way the apply returns, its journal is committed into the state and the
//!   lock released, as at the end of any apply.
//! - saving the state: the signal waits until the command ends by itself.
//!
//! `reconcile --watch` ([`Signals::watch`]) changes the first two: a
//! signal asks the loop to stop after the current pass. Before the apply
//! (or between passes) the pass goes on to its end; during its apply, the
//! apply is asked to stop as above; either way the state is saved, the lock
//! released, and the loop exits 0 (a service manager's stop is not an error).
//!
//! Without this, the default action of these signals killed the process at
//! once and left `state.lock` behind, blocking every later command.

use stackc_planner::apply::{CancelLevel, Canceller};
use stackc_planner::backend::{LockGuard, LockReleaser};
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Where the command is, for the signal handler.
enum Phase {
    Abandon,
    Apply(Canceller),
    Saving,
}

struct Shared {
    phase: Phase,
    /// The lock this command holds (file, id), released on abandon.
    lock: Option<LockReleaser>,
    /// Set by [`Signals::watch`]: signals ask the loop to stop instead.
    watch: Option<Arc<StopRequest>>,
}

/// A stop asked for by a signal, which the loop waits on between passes.
#[derive(Default)]
struct StopRequest {
    requested: Mutex<bool>,
    wake: Condvar,
}

/// The command's side of the handler: tells it where the command is.
#[derive(Clone)]
pub struct Signals {
    shared: Arc<Mutex<Shared>>,
}

impl Signals {
    /// Starts handling SIGINT, SIGTERM and SIGHUP on `runtime` (in the
    /// abandon phase). Where they cannot be handled, they keep their
    /// default action.
    pub fn install(runtime: &tokio::runtime::Runtime) -> Signals {
        let shared = Arc::new(Mutex::new(Shared { phase: Phase::Abandon, lock: None, watch: None }));
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let _entered = runtime.enter();
            let streams = [
                (SignalKind::interrupt(), "Interrupt", libc_number::SIGINT),
                (SignalKind::terminate(), "SIGTERM", libc_number::SIGTERM),
                (SignalKind::hangup(), "SIGHUP", libc_number::SIGHUP),
            ];
            for (kind, name, number) in streams {
                // Registered now, not when the task first runs: no window
                // where the default action still applies.
                let Ok(mut stream) = signal(kind) else { continue };
                let shared = shared.clone();
                runtime.spawn(async move {
                    while stream.recv().await.is_some() {
                        on_signal(&shared, name, number);
                    }
                });
            }
        }
        #[cfg(not(unix))]
        let _ = runtime;
        Signals { shared }
    }

    fn set(&self, change: impl FnOnce(&mut Shared)) {
        change(&mut self.shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    }

    /// Takes the state lock with `take`, and remembers it for an abandon.
    /// A signal that arrives meanwhile waits until the lock is known (so a
    /// lock just taken is never left behind).
    pub fn taking_lock<E>(&self, take: impl FnOnce() -> Result<LockGuard, E>) -> Result<LockGuard, E> {
        let mut shared = self.shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let taken = take();
        if let Ok(guard) = &taken {
            shared.lock = Some(guard.releaser());
        }
        taken
    }

    /// `reconcile --watch`: from now on a signal asks the loop to stop
    /// after its current pass instead of abandoning the command.
    pub fn watch(&self) {
        self.set(|shared| shared.watch = Some(Arc::new(StopRequest::default())));
    }

    fn stop_request(&self) -> Option<Arc<StopRequest>> {
        self.shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).watch.clone()
    }

    /// True once a signal asked the watch loop to stop.
    pub fn stop_requested(&self) -> bool {
        self.stop_request()
            .is_some_and(|stop| *stop.requested.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Waits `duration`, or less if a signal asks the loop to stop; true
    /// when one did.
    pub fn sleep(&self, duration: Duration) -> bool {
        let Some(stop) = self.stop_request() else {
            std::thread::sleep(duration);
            return false;
        };
        let requested = stop.requested.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (requested, _) = stop
            .wake
            .wait_timeout_while(requested, duration, |requested| !*requested)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *requested
    }

    /// A new pass begins: nothing is being applied.
    pub fn next_pass(&self) {
        self.set(|shared| shared.phase = Phase::Abandon);
    }

    /// The lock was released.
    pub fn released(&self) {
        self.set(|shared| shared.lock = None);
    }

    /// An apply runs: signals go to `canceller`.
    pub fn applying(&self, canceller: Canceller) {
        self.set(|shared| shared.phase = Phase::Apply(canceller));
    }

    /// The state is being written: signals wait for the command to end.
    pub fn saving(&self) {
        self.set(|shared| shared.phase = Phase::Saving);
    }
}

/// Signal numbers for the exit code (128 + number), as shells report them.
mod libc_number {
    pub const SIGHUP: i32 = 1;
    pub const SIGINT: i32 = 2;
    pub const SIGTERM: i32 = 15;
}

/// Writes to file descriptor 2 directly: the command may hold the lock of
/// `std::io::stderr()` for as long as it runs (and waits on this very
/// signal), and stderr may be gone (SIGHUP: the terminal closed), so never
/// lock it and never panic on it.
fn say(text: &str) {
    #[cfg(unix)]
    {
        use std::os::fd::FromRawFd;
        let mut stderr = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(2) });
        let _ = stderr.write_all(text.as_bytes());
    }
    #[cfg(not(unix))]
    let _ = text;
}

fn on_signal(shared: &Mutex<Shared>, name: &str, number: i32) {
    let shared = shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(stop) = &shared.watch {
        *stop.requested.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
        stop.wake.notify_all();
        let message = match &shared.phase {
            Phase::Apply(canceller) => match canceller.escalate() {
                CancelLevel::Graceful => {
                    "stopping after this pass: nothing new starts, running operations finish, the state is saved \
                     and the lock released. Press Ctrl-C again to stop at once."
                }
                _ => "stopping now; operations still running are abandoned (the next pass reads what they did).",
            },
            _ if shared.lock.is_some() => {
                "stopping after this pass: the state is saved and the lock released first."
            }
            _ => "stopping.",
        };
        say(&format!("\n{name}: {message}\n"));
        return;
    }
    match &shared.phase {
        Phase::Abandon => {
            if let Some(releaser) = &shared.lock {
                if let Err(error) = releaser.release() {
                    say(&format!("\nwarning: {error}\n"));
                }
            }
            say(&format!("\n{name}: stopped; nothing was changed and the state lock is released.\n"));
            std::process::exit(128 + number);
        }
        Phase::Apply(canceller) => {
            let message = match canceller.escalate() {
                CancelLevel::Graceful => {
                    "nothing new starts; running operations finish and the state is saved. Press Ctrl-C again \
                     to stop at once."
                }
                _ => "stopping now; operations still running are abandoned (the next plan reads what they did).",
            };
            say(&format!("\n{name}: {message}\n"));
        }
        Phase::Saving => {
            say(&format!("\n{name}: the state is being saved; stackc stops once it is.\n"));
        }
    }
}
