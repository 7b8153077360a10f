//! Real traffic for rollout tests: clients (threads) sending HTTP requests
//! continuously through a load balancer on localhost, counting the answers
//! by the version that gave them (the test app answers `app v<N> from
//! <host>`, tests/images/app) and the failures (no connection, no answer,
//! a 5xx or anything not 200). Counts are cumulative; a test takes a
//! [`Counts`] before and after a step and reads the step's share from the
//! difference ([`Counts::since`]).
// A test crate includes this file with `#[path]` and uses its own part.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Answers by version and failures, from the start of the traffic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// `v1`, `v2`, ...: how many requests each version answered.
    pub by_version: BTreeMap<String, u64>,
    /// Requests that got no good answer.
    pub failed: u64,
    /// What went wrong, for the first failures (at most 20), with when.
    pub failures: Vec<String>,
}

impl Counts {
    /// Requests answered (by any version).
    pub fn answered(&self) -> u64 {
        self.by_version.values().sum()
    }

    /// Requests answered by `version` (`"v2"`).
    pub fn of(&self, version: &str) -> u64 {
        self.by_version.get(version).copied().unwrap_or(0)
    }

    /// The percentage of the answered requests that `version` answered.
    pub fn share(&self, version: &str) -> f64 {
        match self.answered() {
            0 => 0.0,
            n => self.of(version) as f64 * 100.0 / n as f64,
        }
    }

    /// What happened after `earlier` (a snapshot of the same traffic).
    pub fn since(&self, earlier: &Counts) -> Counts {
        let by_version = self
            .by_version
            .iter()
            .map(|(v, n)| (v.clone(), n - earlier.of(v)))
            .filter(|(_, n)| *n > 0)
            .collect();
        Counts {
            by_version,
            failed: self.failed - earlier.failed,
            failures: self.failures.iter().skip(earlier.failures.len()).cloned().collect(),
        }
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let versions: Vec<String> = self.by_version.iter().map(|(v, n)| format!("{v}: {n}")).collect();
        write!(f, "{} answered ({}), {} failed", self.answered(), versions.join(", "), self.failed)?;
        for failure in &self.failures {
            write!(f, "\n  {failure}")?;
        }
        Ok(())
    }
}

/// Clients sending requests until stopped (or dropped).
pub struct Traffic {
    stop: Arc<AtomicBool>,
    counts: Arc<Mutex<Counts>>,
    clients: Vec<JoinHandle<()>>,
    started: Instant,
}

impl Traffic {
    /// `clients` threads, each sending one request after another to
    /// `127.0.0.1:port` (a new connection each, HTTP/1.0), with `pause`
    /// between two of its requests.
    pub fn start(port: u16, clients: usize, pause: Duration) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Mutex::new(Counts::default()));
        let started = Instant::now();
        let clients = (0..clients)
            .map(|_| {
                let (stop, counts) = (stop.clone(), counts.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let answer = request(port);
                        let mut counts = counts.lock().unwrap_or_else(|p| p.into_inner());
                        match answer {
                            Ok(version) => *counts.by_version.entry(version).or_default() += 1,
                            Err(why) => {
                                counts.failed += 1;
                                if counts.failures.len() < 20 {
                                    let at = started.elapsed().as_secs_f64();
                                    counts.failures.push(format!("at {at:.1}s: {why}"));
                                }
                            }
                        }
                        drop(counts);
                        std::thread::sleep(pause);
                    }
                })
            })
            .collect();
        Traffic { stop, counts, clients, started }
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until at least `n` requests were answered after `from` (at
    /// most `within`), and returns what happened after `from`.
    pub fn answered_after(&self, from: &Counts, n: u64, within: Duration) -> Counts {
        let deadline = Instant::now() + within;
        loop {
            let window = self.counts().since(from);
            if window.answered() >= n {
                return window;
            }
            assert!(Instant::now() < deadline, "only {window} within {within:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the clients (each finishes its request) and returns the counts.
    pub fn stop(mut self) -> Counts {
        self.halt();
        self.counts()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for client in self.clients.drain(..) {
            let _ = client.join();
        }
    }

    /// How long the traffic has been running.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.halt();
    }
}

/// One GET /: the version that answered (`v2` of `app v2 from web-0`), or
/// why there is no good answer.
pub fn request(port: u16) -> Result<String, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n").map_err(|e| format!("send: {e}"))?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| format!("read: {e}"))?;
    let status = response.lines().next().unwrap_or_default().to_string();
    if !status.starts_with("HTTP/1.1 200") && !status.starts_with("HTTP/1.0 200") {
        return Err(if status.is_empty() { "no answer".to_string() } else { status });
    }
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default().trim();
    body.strip_prefix("app ")
        .and_then(|rest| rest.split(' ').next())
        .map(str::to_string)
        .ok_or_else(|| format!("an answer not from the test app: {body:?}"))
}
