//! `stackc lsp`: a Language Server Protocol server over stdio.
//!
//! The stack of an open file is its directory: every `*.stack.hcl` file in
//! it, the open buffers' text winning over the disk. Its diagnostics are
//! exactly `stackc check`'s: the server calls the driver's
//! [`stackc_driver::check`] (every declared target expanded), never a copy
//! of it. Hover, definition, references, rename and document symbols read
//! the symbol index of the last analysis (`index`); completion reads the
//! text before the cursor and that index, so it works in a file that does
//! not parse.
//!
//! One thread handles every message in order (lsp-server's transport runs
//! the stdio threads). A change marks its stack dirty; the stack is checked
//! once no change came for [`DEBOUNCE`], or at once when a request needs
//! it. Results are therefore never stale: each analysis reads the buffers
//! as they are when it runs and is published before the next message is
//! read, with the document's version; a request always sees the newest
//! text. Every request and analysis runs under `catch_unwind`: a bug
//! answers an error, it does not end the server.

mod analysis;
mod cache;
mod completion;
mod index;
mod position;
mod uri;

pub use analysis::Analysis;
pub use position::LineIndex;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use serde_json::Value as Json;
use stackc_driver::Overlays;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a stack stays unchanged before it is checked again.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// Serves the protocol on stdin/stdout until the client says `exit`.
pub fn run_stdio() -> Result<(), String> {
    let (connection, io_threads) = Connection::stdio();
    serve(connection)?;
    io_threads.join().map_err(|e| e.to_string())
}

/// Serves the protocol on `connection` (stdio, or an in-memory pair in tests).
pub fn serve(connection: Connection) -> Result<(), String> {
    let capabilities = serde_json::json!({
        "positionEncoding": "utf-16",
        "textDocumentSync": { "openClose": true, "change": 1, "save": { "includeText": false } },
        "hoverProvider": true,
        "definitionProvider": true,
        "referencesProvider": true,
        "renameProvider": true,
        "documentSymbolProvider": true,
        "documentFormattingProvider": true,
        "completionProvider": { "triggerCharacters": [".", "\""] },
    });
    connection.initialize(capabilities).map_err(|e| e.to_string())?;
    let mut server = Server { sender: Some(connection.sender.clone()), ..Server::default() };
    server.main_loop(&connection)
}

/// The text `stackc fmt` would make of a buffer, or `None` when it does not
/// parse (the diagnostics already say why; formatting changes nothing).
pub fn format_document(text: &str) -> Option<String> {
    stackc_compiler::format::format_source(text).ok()
}

/// The edits of a formatting request: the whole buffer replaced, or none.
fn formatting_edits(text: &str) -> Vec<lsp_types::TextEdit> {
    match format_document(text) {
        Some(formatted) if formatted != text => {
            let range = LineIndex::new(text).range(text, 0, text.len());
            vec![lsp_types::TextEdit { range, new_text: formatted }]
        }
        _ => Vec::new(),
    }
}

#[derive(Default)]
struct Server {
    sender: Option<crossbeam_channel::Sender<Message>>,
    /// Open documents by path: (version, text).
    documents: HashMap<PathBuf, (i32, String)>,
    stacks: HashMap<PathBuf, Stack>,
    shutting_down: bool,
}

#[derive(Default)]
struct Stack {
    /// Bumped by every change of one of its buffers.
    generation: u64,
    /// The generation `analysis` was made for.
    analyzed: u64,
    analysis: Option<Arc<Analysis>>,
    /// The last analysis in which every file parsed: completion's names
    /// while a file does not parse (its declarations are missing from the
    /// current one).
    parsed: Option<Arc<Analysis>>,
    /// When to check it (a change is waiting).
    due: Option<Instant>,
    /// URIs last published with a non-empty list (to clear them).
    published: BTreeSet<String>,
}

/// The stack directory of a document: its directory, when it is a stack
/// file (and not one of the stdlib's cached copies).
fn stack_dir(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    if !name.ends_with(stackc_driver::STACK_FILE_SUFFIX) || cache::is_cached(path) {
        return None;
    }
    path.parent().map(Path::to_path_buf)
}

impl Server {
    fn send(&self, message: Message) {
        if let Some(sender) = &self.sender {
            let _ = sender.send(message);
        }
    }

    fn main_loop(&mut self, connection: &Connection) -> Result<(), String> {
        loop {
            let due = self.stacks.values().filter_map(|s| s.due).min();
            let message = match due {
                Some(due) => {
                    match connection.receiver.recv_timeout(due.saturating_duration_since(Instant::now())) {
                        Ok(message) => Some(message),
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => None,
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Ok(()),
                    }
                }
                None => match connection.receiver.recv() {
                    Ok(message) => Some(message),
                    Err(_) => return Ok(()),
                },
            };
            match message {
                None => self.check_due(),
                Some(Message::Request(request)) => self.request(request),
                Some(Message::Notification(notification)) => {
                    if notification.method == lsp_types::notification::Exit::METHOD {
                        return if self.shutting_down { Ok(()) } else { Err("exit before shutdown".into()) };
                    }
                    self.notification(notification);
                }
                Some(Message::Response(_)) => {}
            }
        }
    }

    // ------------------------------------------------------------ documents

    fn notification(&mut self, notification: Notification) {
        use lsp_types::notification::*;
        let params = notification.params;
        let path = |params: &Json| {
            let uri = params.pointer("/textDocument/uri")?.as_str()?;
            uri::to_path(uri)
        };
        let Some(path) = path(&params) else { return };
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let text = params.pointer("/textDocument/text").and_then(Json::as_str).unwrap_or("");
                let version = params.pointer("/textDocument/version").and_then(Json::as_i64).unwrap_or(0);
                self.documents.insert(path.clone(), (version as i32, text.to_string()));
            }
            DidChangeTextDocument::METHOD => {
                let version = params.pointer("/textDocument/version").and_then(Json::as_i64).unwrap_or(0);
                // Full sync: the last change holds the whole text.
                let changes = params.get("contentChanges").and_then(Json::as_array);
                let Some(text) = changes.and_then(|c| c.last()?.get("text")?.as_str()) else { return };
                self.documents.insert(path.clone(), (version as i32, text.to_string()));
            }
            DidCloseTextDocument::METHOD => {
                self.documents.remove(&path);
            }
            DidSaveTextDocument::METHOD => {}
            _ => return,
        }
        let Some(dir) = stack_dir(&path) else { return };
        let open = self.documents.keys().any(|p| p.parent() == Some(dir.as_path()));
        if !open {
            // No buffer of it is open: clear what was shown, forget it.
            if let Some(stack) = self.stacks.remove(&dir) {
                for uri in stack.published {
                    self.publish(&uri, Vec::new(), None);
                }
            }
            return;
        }
        let stack = self.stacks.entry(dir).or_default();
        stack.generation += 1;
        stack.due = Some(Instant::now() + DEBOUNCE);
    }

    fn overlays(&self, dir: &Path) -> Overlays {
        self.documents
            .iter()
            .filter(|(path, _)| path.parent() == Some(dir))
            .map(|(path, (_, text))| (path.clone(), text.clone()))
            .collect()
    }

    fn check_due(&mut self) {
        let now = Instant::now();
        let due: Vec<PathBuf> = self
            .stacks
            .iter()
            .filter(|(_, s)| s.due.is_some_and(|d| d <= now))
            .map(|(d, _)| d.clone())
            .collect();
        for dir in due {
            self.analyze(&dir);
        }
    }

    /// Checks the stack in `dir` now, and publishes its diagnostics.
    fn analyze(&mut self, dir: &Path) -> Option<Arc<Analysis>> {
        let overlays = self.overlays(dir);
        let generation = self.stacks.get(dir)?.generation;
        let analysis = match std::panic::catch_unwind(|| Analysis::run(dir, &overlays)) {
            Ok(analysis) => Arc::new(analysis),
            Err(_) => {
                // A bug: keep what was shown, try again at the next change.
                let stack = self.stacks.get_mut(dir)?;
                stack.due = None;
                stack.analyzed = generation;
                return stack.analysis.clone();
            }
        };
        let diagnostics = self.diagnostics(&analysis, dir);
        let stack = self.stacks.get_mut(dir)?;
        stack.analysis = Some(analysis.clone());
        if analysis.parses() {
            stack.parsed = Some(analysis.clone());
        }
        stack.analyzed = generation;
        stack.due = None;
        let previous = std::mem::take(&mut stack.published);
        stack.published = diagnostics.keys().filter(|uri| !diagnostics[*uri].is_empty()).cloned().collect();
        for uri in previous {
            if !diagnostics.contains_key(&uri) {
                self.publish(&uri, Vec::new(), self.version_of(&uri));
            }
        }
        for (uri, list) in diagnostics {
            let version = self.version_of(&uri);
            self.publish(&uri, list, version);
        }
        Some(analysis)
    }

    fn version_of(&self, uri: &str) -> Option<i32> {
        self.documents.get(&uri::to_path(uri)?).map(|(version, _)| *version)
    }

    /// Every file of the stack (and every open buffer of it) with its list.
    fn diagnostics(&self, analysis: &Analysis, dir: &Path) -> std::collections::BTreeMap<String, Vec<Json>> {
        let mut out: std::collections::BTreeMap<String, Vec<Json>> = std::collections::BTreeMap::new();
        for path in self.documents.keys().filter(|p| p.parent() == Some(dir)) {
            out.insert(uri::from_path(path), Vec::new());
        }
        if let Some(report) = &analysis.report {
            for id in &report.info.user_files {
                if let Some(uri) = analysis.uri(*id) {
                    out.entry(uri).or_default();
                }
            }
            for diagnostic in &report.diagnostics {
                let Some(uri) = analysis.uri(diagnostic.primary.span.file) else { continue };
                if let Some(json) = convert::diagnostic(analysis, diagnostic) {
                    out.entry(uri).or_default().push(json);
                }
            }
        }
        if let Some(error) = &analysis.load_error {
            for list in out.values_mut() {
                list.push(serde_json::json!({
                    "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } },
                    "severity": 1,
                    "source": "stackc",
                    "message": error,
                }));
            }
        }
        out
    }

    fn publish(&self, uri: &str, diagnostics: Vec<Json>, version: Option<i32>) {
        let mut params = serde_json::json!({ "uri": uri, "diagnostics": diagnostics });
        if let Some(version) = version {
            params["version"] = version.into();
        }
        let method = lsp_types::notification::PublishDiagnostics::METHOD.to_string();
        self.send(Message::Notification(Notification { method, params }));
    }

    // ------------------------------------------------------------ requests

    fn request(&mut self, request: Request) {
        let id = request.id.clone();
        if request.method == lsp_types::request::Shutdown::METHOD {
            self.shutting_down = true;
            self.send(Message::Response(Response::new_ok(id, ())));
            return;
        }
        if self.shutting_down {
            self.error(id, ErrorCode::InvalidRequest, "the server is shutting down");
            return;
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.answer(&request)));
        match result {
            Ok(Ok(result)) => self.send(Message::Response(Response::new_ok(id, result))),
            Ok(Err((code, message))) => self.error(id, code, &message),
            Err(_) => self.error(id, ErrorCode::InternalError, "stackc lsp failed on this request (a bug)"),
        }
    }

    fn error(&self, id: RequestId, code: ErrorCode, message: &str) {
        self.send(Message::Response(Response::new_err(id, code as i32, message.to_string())));
    }

    /// The analysis that holds `path` (fresh), and the file's id in it.
    fn analysis_of(&mut self, path: &Path) -> Option<(Arc<Analysis>, stackc_compiler::FileId)> {
        if let Some(dir) = stack_dir(path) {
            let stale = match self.stacks.get(&dir) {
                Some(stack) => stack.analyzed != stack.generation || stack.analysis.is_none(),
                None => {
                    self.stacks.insert(dir.clone(), Stack { generation: 1, ..Stack::default() });
                    true
                }
            };
            let analysis =
                if stale { self.analyze(&dir)? } else { self.stacks.get(&dir)?.analysis.clone()? };
            let file = analysis.file_of(path)?;
            return Some((analysis, file));
        }
        // A stdlib file's cached copy: any stack's analysis has it.
        self.stacks
            .values()
            .filter_map(|s| s.analysis.clone())
            .find_map(|a| Some((a.clone(), a.file_of(path)?)))
    }

    fn answer(&mut self, request: &Request) -> Result<Json, (ErrorCode, String)> {
        use lsp_types::request::*;
        let params = &request.params;
        let Some(path) = params.pointer("/textDocument/uri").and_then(Json::as_str).and_then(uri::to_path)
        else {
            return Ok(Json::Null);
        };
        let position: Option<lsp_types::Position> =
            params.get("position").and_then(|p| serde_json::from_value(p.clone()).ok());
        let method = request.method.as_str();
        if method == Formatting::METHOD {
            // The buffer as the editor has it, else the file on disk; a
            // stdlib copy or a file outside any stack formats like any other.
            let text = match self.documents.get(&path) {
                Some((_, text)) => Some(text.clone()),
                None => stackc_driver::load::read_source(&path).ok(),
            };
            return Ok(serde_json::to_value(text.map_or_else(Vec::new, |t| formatting_edits(&t)))
                .unwrap_or(Json::Null));
        }
        let Some((analysis, file)) = self.analysis_of(&path) else {
            // Outside any stack: nothing to say.
            return Ok(match method {
                Completion::METHOD | References::METHOD | DocumentSymbolRequest::METHOD => {
                    Json::Array(Vec::new())
                }
                _ => Json::Null,
            });
        };
        let offset = position.and_then(|p| analysis.offset(file, p));
        let to_json = |value: &dyn erased::Serialize| value.to_json();
        Ok(match (method, offset) {
            (HoverRequest::METHOD, Some(offset)) => match analysis.hover(file, offset) {
                Some((text, span)) => to_json(&lsp_types::Hover {
                    contents: lsp_types::HoverContents::Markup(lsp_types::MarkupContent {
                        kind: lsp_types::MarkupKind::Markdown,
                        value: text,
                    }),
                    range: analysis.range(span),
                }),
                None => Json::Null,
            },
            (GotoDefinition::METHOD, Some(offset)) => {
                let symbol = analysis.index.symbol_at(file, offset);
                match symbol.and_then(|s| analysis.location(analysis.index.symbols[s].name_span)) {
                    Some(location) => to_json(&location),
                    None => Json::Null,
                }
            }
            (References::METHOD, Some(offset)) => {
                let include =
                    params.pointer("/context/includeDeclaration").and_then(Json::as_bool).unwrap_or(true);
                let mut locations = Vec::new();
                if let Some(symbol) = analysis.index.symbol_at(file, offset) {
                    if include {
                        locations.extend(analysis.location(analysis.index.symbols[symbol].name_span));
                    }
                    locations.extend(
                        analysis.index.references_to(symbol).filter_map(|r| analysis.location(r.name_span)),
                    );
                }
                to_json(&locations)
            }
            (Rename::METHOD, Some(offset)) => {
                let new_name = params.get("newName").and_then(Json::as_str).unwrap_or("");
                rename(&analysis, file, offset, new_name)?
            }
            (DocumentSymbolRequest::METHOD, _) => to_json(&symbols::document(&analysis, file)),
            (Completion::METHOD, Some(_)) => {
                // The buffer's text as it is now (the analysis may hold it too).
                let text = self
                    .documents
                    .get(&path)
                    .map(|(_, t)| t.as_str())
                    .unwrap_or_else(|| analysis.sources().map_or("", |s| s.get(file).text.as_str()));
                let offset = position.map_or(0, |p| LineIndex::new(text).offset(text, p));
                let names = match stack_dir(&path).and_then(|dir| self.stacks.get(&dir)) {
                    Some(stack) if !analysis.parses() => stack.parsed.clone().unwrap_or(analysis.clone()),
                    _ => analysis.clone(),
                };
                to_json(&completion::complete(&names, text, offset))
            }
            _ => Json::Null,
        })
    }
}

/// Renames a variable, local or instance across the stack's files.
fn rename(
    analysis: &Analysis,
    file: stackc_compiler::FileId,
    offset: u32,
    new_name: &str,
) -> Result<Json, (ErrorCode, String)> {
    use index::Kind;
    let refuse = |message: String| Err((ErrorCode::InvalidParams, message));
    let Some(symbol) = analysis.index.symbol_at(file, offset) else {
        return refuse("there is no variable, local or instance here to rename".into());
    };
    let declared = &analysis.index.symbols[symbol];
    if !matches!(declared.kind, Kind::Variable | Kind::Local | Kind::Instance) {
        return refuse(format!(
            "a {} cannot be renamed (only variables, locals and instances)",
            declared.kind.word()
        ));
    }
    let mut chars = new_name.chars();
    let identifier = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if !identifier {
        return refuse(format!("`{new_name}` is not a name (letters, digits, `_`, `-`; not a digit first)"));
    }
    let mut changes: HashMap<String, Vec<Json>> = HashMap::new();
    let spans =
        std::iter::once(declared.name_span).chain(analysis.index.references_to(symbol).map(|r| r.name_span));
    for span in spans {
        let (Some(uri), Some(range)) = (analysis.uri(span.file), analysis.range(span)) else { continue };
        let is_user = analysis.report.as_ref().is_some_and(|r| r.info.user_files.contains(&span.file));
        if !is_user {
            return refuse("it is used in the stdlib, which cannot be edited".into());
        }
        changes.entry(uri).or_default().push(serde_json::json!({ "range": range, "newText": new_name }));
    }
    Ok(serde_json::json!({ "changes": changes }))
}

mod erased {
    /// Any serializable answer as JSON.
    pub trait Serialize {
        fn to_json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Serialize for T {
        fn to_json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

mod convert {
    //! Compiler diagnostics as LSP diagnostics.
    use crate::analysis::Analysis;
    use serde_json::{json, Value as Json};
    use stackc_compiler::{Diagnostic, Severity};

    /// The message is the diagnostic's, then its primary label and its help
    /// (`help: ...`); secondary labels are related information; the code
    /// links to its page.
    pub fn diagnostic(analysis: &Analysis, diagnostic: &Diagnostic) -> Option<Json> {
        let range = analysis.range(diagnostic.primary.span)?;
        let mut message = diagnostic.message.clone();
        if !diagnostic.primary.message.is_empty() && !message.contains(&diagnostic.primary.message) {
            message.push_str(&format!("\n{}", diagnostic.primary.message));
        }
        if let Some(help) = &diagnostic.help {
            message.push_str(&format!("\nhelp: {help}"));
        }
        let related: Vec<Json> = diagnostic
            .secondary
            .iter()
            .filter_map(|label| {
                let location = analysis.location(label.span)?;
                let text =
                    if label.message.is_empty() { "related".to_string() } else { label.message.clone() };
                Some(json!({ "location": location, "message": text }))
            })
            .collect();
        let mut out = json!({
            "range": range,
            "severity": match diagnostic.severity { Severity::Error => 1, Severity::Warning => 2 },
            "code": diagnostic.code.as_str(),
            "source": "stackc",
            "message": message,
        });
        if !related.is_empty() {
            out["relatedInformation"] = Json::Array(related);
        }
        if let Some(page) = crate::cache::code_page(diagnostic.code) {
            out["codeDescription"] = json!({ "href": crate::uri::from_path(&page) });
        }
        Some(out)
    }
}

mod symbols {
    //! The outline of one file.
    use crate::analysis::Analysis;
    use lsp_types::{DocumentSymbol, SymbolKind};
    use stackc_compiler::ast::Block;
    use stackc_compiler::FileId;

    #[allow(deprecated)] // `deprecated` is a required field of the struct
    fn symbol(analysis: &Analysis, block: &Block, depth: usize) -> Option<DocumentSymbol> {
        let kind = block.kind.name.as_str();
        let labels: Vec<&str> = block.labels.iter().map(|l| l.name.as_str()).collect();
        let name = if labels.is_empty() { kind.to_string() } else { labels.join(".") };
        let symbol_kind = match kind {
            "variable" => SymbolKind::VARIABLE,
            "locals" => SymbolKind::NAMESPACE,
            "output" => SymbolKind::PROPERTY,
            "target" => SymbolKind::ENUM_MEMBER,
            "component" => SymbolKind::CLASS,
            "param" => SymbolKind::FIELD,
            "resource" => SymbolKind::STRUCT,
            "on" => SymbolKind::NAMESPACE,
            _ if !labels.is_empty() => SymbolKind::OBJECT,
            _ => return None,
        };
        let selection = block.labels.first().map_or(block.kind.span, |l| l.span);
        let mut children: Vec<DocumentSymbol> = Vec::new();
        if depth < 4 {
            children.extend(block.body.blocks.iter().filter_map(|b| symbol(analysis, b, depth + 1)));
        }
        if kind == "locals" {
            for attribute in &block.body.attributes {
                children.push(DocumentSymbol {
                    name: attribute.name.name.clone(),
                    detail: Some("local".into()),
                    kind: SymbolKind::VARIABLE,
                    tags: None,
                    deprecated: None,
                    range: analysis.range(attribute.span)?,
                    selection_range: analysis.range(attribute.name.span)?,
                    children: None,
                });
            }
        }
        Some(DocumentSymbol {
            name,
            detail: Some(kind.to_string()),
            kind: symbol_kind,
            tags: None,
            deprecated: None,
            range: analysis.range(block.span)?,
            selection_range: analysis.range(selection)?,
            children: (!children.is_empty()).then_some(children),
        })
    }

    pub fn document(analysis: &Analysis, file: FileId) -> Vec<DocumentSymbol> {
        let files = analysis.report.as_ref().and_then(|r| r.stack.as_ref()).map_or(&[][..], |s| &s.files[..]);
        let Some(parsed) = files.iter().find(|f| f.id == file) else { return Vec::new() };
        parsed.body.blocks.iter().filter_map(|b| symbol(analysis, b, 0)).collect()
    }
}
