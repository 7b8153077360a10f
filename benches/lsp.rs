//! `cargo bench --bench lsp`: the language server as an editor sees it.
//!
//! Runs `stackc lsp` (the bench profile's binary) as a child process and
//! speaks the protocol to it over stdio, as an editor does:
//!
//! - `shop`: a copy of `examples/shop`; each edit toggles a typo in one
//!   line; the time from sending the change to receiving the diagnostics
//!   published for that version (debounce included: the server waits
//!   `stackc_lsp::DEBOUNCE`, 100 ms, for more typing before it checks).
//! - `1000`: a generated stack of 1,000 `service` instances (two declared
//!   targets, both expanded, as `stackc check` does), same measure.
//! - memory: the server's resident set (VmRSS) after the first analysis of
//!   the shop, and after 1,000 edits of it, each waited for.
//!
//! `STACKC_LSP_BENCH_EDITS=N` sets the number of edits of the memory run.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
}

impl Client {
    fn start(cache: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stackc"))
            .arg("lsp")
            .env("XDG_CACHE_HOME", cache)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("stackc lsp starts");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (sender, messages) = channel();
        std::thread::spawn(move || loop {
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim();
                if line.is_empty() {
                    break;
                }
                if let Some(n) = line.strip_prefix("Content-Length: ") {
                    length = n.parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            if stdout.read_exact(&mut body).is_err() {
                return;
            }
            if sender.send(serde_json::from_slice(&body).unwrap()).is_err() {
                return;
            }
        });
        let mut client = Client { child, stdin, messages, next_id: 0 };
        client.request("initialize", json!({ "capabilities": {} }));
        client.notify("initialized", json!({}));
        client
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let message = self.messages.recv_timeout(Duration::from_secs(600)).expect("an answer");
            if message["id"] == id {
                return message["result"].clone();
            }
        }
    }

    /// Waits for the diagnostics of `uri` at `version`; how many there were.
    fn published(&mut self, uri: &str, version: i64) -> usize {
        loop {
            let message = self.messages.recv_timeout(Duration::from_secs(600)).expect("diagnostics");
            let params = &message["params"];
            if message["method"] == "textDocument/publishDiagnostics"
                && params["uri"] == uri
                && params["version"] == version
            {
                return params["diagnostics"].as_array().map_or(0, Vec::len);
            }
        }
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0)
    }

    fn stop(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let _ = self.child.wait();
    }
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Opens `file`, then makes `edits` changes (toggling `from` -> `to`), each
/// waited for; returns the latencies.
fn edits(client: &mut Client, file: &Path, from: &str, to: &str, edits: usize) -> Vec<Duration> {
    let text = std::fs::read_to_string(file).unwrap();
    let uri = uri(file);
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": uri, "languageId": "stackc", "version": 0, "text": text } }),
    );
    assert_eq!(client.published(&uri, 0), 0, "the stack checks clean");
    let broken = text.replacen(from, to, 1);
    let mut times = Vec::new();
    for version in 1..=edits as i64 {
        let now = if version % 2 == 1 { &broken } else { &text };
        let started = Instant::now();
        client.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": now }] }),
        );
        let found = client.published(&uri, version);
        times.push(started.elapsed());
        assert_eq!(found > 0, version % 2 == 1, "version {version}: {found} diagnostics");
    }
    times
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<28} change -> diagnostics: median {:.1} ms, p90 {:.1} ms, max {:.1} ms ({} edits)",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 9 / 10]),
        ms(*times.last().unwrap()),
        times.len()
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn main() {
    let root = std::env::temp_dir().join(format!("stackc-bench-lsp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let cache = root.join("cache");
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let typo = ("image       = var.api_image", "image       = var.api_imag");

    // The shop.
    let shop = root.join("shop");
    copy_dir(&repo.join("examples/shop"), &shop);
    let mut client = Client::start(&cache);
    report("shop", edits(&mut client, &shop.join("main.stack.hcl"), typo.0, typo.1, 30));
    client.stop();

    // 1,000 instances.
    let large = root.join("large");
    std::fs::create_dir_all(&large).unwrap();
    let mut text = String::from("variable \"image\" {\n  type    = string\n  default = \"nginx:1\"\n}\n\n");
    for i in 0..1000 {
        text.push_str(&format!(
            "service \"s{i}\" {{\n  image    = var.image\n  replicas = 2\n  port     = 8080\n}}\n\n"
        ));
    }
    text.push_str("target \"kubernetes\" {\n  namespace = \"big\"\n}\n\ntarget \"local\" {}\n");
    std::fs::write(large.join("main.stack.hcl"), &text).unwrap();
    let mut client = Client::start(&cache);
    let file = large.join("main.stack.hcl");
    report("1,000 instances", edits(&mut client, &file, "image    = var.image", "image    = var.imag", 10));
    client.stop();

    // Memory after many edits.
    let count: usize =
        std::env::var("STACKC_LSP_BENCH_EDITS").ok().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let mut client = Client::start(&cache);
    let file = shop.join("main.stack.hcl");
    let first = edits(&mut client, &file, typo.0, typo.1, 1);
    let before = client.rss_kib();
    let more = {
        // The same document, further versions.
        let text = std::fs::read_to_string(&file).unwrap();
        let broken = text.replacen(typo.0, typo.1, 1);
        let uri = uri(&file);
        let mut times = first;
        for version in 2..=count as i64 {
            let now = if version % 2 == 1 { &broken } else { &text };
            let started = Instant::now();
            client.notify(
                "textDocument/didChange",
                json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": now }] }),
            );
            client.published(&uri, version);
            times.push(started.elapsed());
        }
        times
    };
    let after = client.rss_kib();
    report(&format!("shop, {count} edits"), more);
    println!(
        "server RSS: {} MiB after the first analysis, {} MiB after {count} edits",
        before / 1024,
        after / 1024
    );
    client.stop();
    let _ = std::fs::remove_dir_all(&root);
}
