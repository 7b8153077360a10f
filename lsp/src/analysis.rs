//! One stack as the server sees it: the driver's [`Report`] (exactly what
//! `stackc check` reports, open buffers winning over the disk), the symbol
//! [`Index`] over its syntax trees, and where each of its files is (a
//! user's file on disk, or a stdlib file's read-only copy in the cache).

use crate::index::{Hit, Index, Kind};
use crate::position::LineIndex;
use crate::uri;
use stackc_compiler::ast::{Block, File};
use stackc_compiler::{FileId, Origin, Sources, Span, Value};
use stackc_driver::{Overlays, Report, StackRequest};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub struct Analysis {
    pub report: Option<Report>,
    /// Why the stack did not load, when it did not.
    pub load_error: Option<String>,
    pub index: Index,
    /// Each file's path (user files as loaded; stdlib files as cached).
    pub paths: Vec<Option<PathBuf>>,
    lines: Vec<LineIndex>,
    by_path: HashMap<PathBuf, FileId>,
}

impl Analysis {
    /// Checks the stack in `dir` (every declared target expanded, as `stackc
    /// check` does) with `overlays` winning over the disk.
    pub fn run(dir: &Path, overlays: &Overlays) -> Analysis {
        let request =
            StackRequest { path: dir.to_path_buf(), overlays: overlays.clone(), ..StackRequest::default() };
        match stackc_driver::check(&request) {
            Ok(report) => Analysis::of(report),
            Err(error) => Analysis {
                report: None,
                load_error: Some(error.to_string()),
                index: Index::default(),
                paths: Vec::new(),
                lines: Vec::new(),
                by_path: HashMap::new(),
            },
        }
    }

    fn of(report: Report) -> Analysis {
        let sources = &report.sources;
        let mut paths: Vec<Option<PathBuf>> = vec![None; sources.len()];
        for (id, path) in report.info.user_files.iter().zip(&report.info.user_paths) {
            paths[id.0 as usize] = Some(path.clone());
        }
        for (id, file) in sources.iter() {
            if file.origin == Origin::Stdlib {
                paths[id.0 as usize] = crate::cache::stdlib_file(&file.path, &file.text);
            }
        }
        let lines = sources.iter().map(|(_, f)| LineIndex::new(&f.text)).collect();
        let by_path =
            paths.iter().enumerate().filter_map(|(i, p)| Some((p.clone()?, FileId(i as u32)))).collect();
        let index = report.stack.as_ref().map(|stack| Index::build(&stack.files)).unwrap_or_default();
        Analysis { report: Some(report), load_error: None, index, paths, lines, by_path }
    }

    /// Whether every file parsed (no syntax error: each file's tree is whole).
    pub fn parses(&self) -> bool {
        self.report
            .as_ref()
            .is_some_and(|r| !r.diagnostics.iter().any(|d| matches!(d.code.as_str(), "E0101" | "E0102")))
    }

    pub fn sources(&self) -> Option<&Sources> {
        self.report.as_ref().map(|r| &r.sources)
    }

    pub fn file_of(&self, path: &Path) -> Option<FileId> {
        self.by_path.get(path).copied()
    }

    pub fn uri(&self, file: FileId) -> Option<String> {
        self.paths.get(file.0 as usize)?.as_deref().map(uri::from_path)
    }

    pub fn range(&self, span: Span) -> Option<lsp_types::Range> {
        let text = &self.sources()?.get(span.file).text;
        Some(self.lines.get(span.file.0 as usize)?.range(text, span.start as usize, span.end as usize))
    }

    pub fn location(&self, span: Span) -> Option<lsp_types::Location> {
        Some(lsp_types::Location { uri: self.uri(span.file)?.parse().ok()?, range: self.range(span)? })
    }

    pub fn offset(&self, file: FileId, position: lsp_types::Position) -> Option<u32> {
        let text = &self.sources()?.get(file).text;
        Some(self.lines.get(file.0 as usize)?.offset(text, position) as u32)
    }

    pub fn snippet(&self, span: Span) -> &str {
        self.sources().map_or("", |s| s.snippet(span))
    }

    fn files(&self) -> &[File] {
        self.report.as_ref().and_then(|r| r.stack.as_ref()).map_or(&[], |s| s.files.as_slice())
    }

    /// The block a symbol declares (`None` for a `locals` attribute).
    pub fn block(&self, span: Span) -> Option<&Block> {
        fn find(blocks: &[Block], span: Span) -> Option<&Block> {
            for block in blocks {
                if block.span == span {
                    return Some(block);
                }
                if block.span.start <= span.start && span.end <= block.span.end {
                    return find(&block.body.blocks, span);
                }
            }
            None
        }
        let file = self.files().iter().find(|f| f.id == span.file)?;
        find(&file.body.blocks, span)
    }

    /// An attribute's source text in the block declared at `span`.
    fn attribute_text(&self, span: Span, name: &str) -> Option<&str> {
        Some(self.snippet(self.block(span)?.body.attribute(name)?.value.span))
    }

    /// A string attribute's value (without quotes) in the block at `span`.
    fn attribute_string(&self, span: Span, name: &str) -> Option<String> {
        let value = &self.block(span)?.body.attribute(name)?.value;
        match &value.kind {
            stackc_compiler::ast::ExprKind::Template(parts) => parts
                .iter()
                .map(|p| match p {
                    stackc_compiler::ast::TemplatePart::Literal(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect::<Option<String>>(),
            _ => None,
        }
    }

    // ------------------------------------------------------------ hover

    /// Markdown for what is at `offset` of `file`.
    pub fn hover(&self, file: FileId, offset: u32) -> Option<(String, Span)> {
        let hit = self.index.at(file, offset)?;
        let (symbol, span) = match hit {
            Hit::Symbol(i) => (i, self.index.symbols[i].name_span),
            Hit::Reference(r) => (r.symbol, r.span),
            Hit::ResourceAttribute(a) => {
                let schemas = stackc_driver::schemas();
                let attribute = schemas.schemas.get(&a.resource_type)?.attributes.get(&a.attribute)?;
                let mut text = format!(
                    "```\n{}.{}: {}\n```\n{}",
                    a.resource_type,
                    a.attribute,
                    attribute.ty,
                    mode_text(attribute.mode)
                );
                if attribute.force_new {
                    text.push_str(", changing it replaces the resource");
                }
                if attribute.sensitive {
                    text.push_str(", sensitive");
                }
                return Some((text, a.span));
            }
            Hit::Call(call) => {
                let function = stackc_compiler::functions::lookup(&call.function)?;
                let text = format!("```\n{}\n```\n{}", function.signature(), function.doc);
                return Some((text, call.span));
            }
        };
        Some((self.describe(symbol), span))
    }

    /// A symbol's hover text.
    pub fn describe(&self, symbol: usize) -> String {
        let s = &self.index.symbols[symbol];
        let mut text = String::new();
        match s.kind {
            Kind::Variable => {
                let ty = self.attribute_text(s.span, "type").unwrap_or("any");
                text.push_str(&format!("```\nvariable {}: {ty}\n```", s.name));
                if let Some(description) = self.attribute_string(s.span, "description") {
                    text.push_str(&format!("\n{description}"));
                }
                let value = self.report.as_ref().and_then(|r| r.stack.as_ref()?.variables.get(&s.name));
                let sensitive = self.attribute_text(s.span, "sensitive") == Some("true");
                if let Some(value) = value {
                    let shown = if sensitive { "(sensitive)".to_string() } else { show(value) };
                    text.push_str(&format!("\n\nValue: `{shown}`"));
                }
            }
            Kind::Local => {
                let value = self.snippet(s.span);
                text.push_str(&format!("```\nlocal.{}\n```\n`{}`", s.name, shorten(value)));
            }
            Kind::Instance => {
                let (kind, name) = s.name.split_once('.').unwrap_or((&s.name, ""));
                text.push_str(&format!(
                    "```\n{kind} \"{name}\"\n```\nAn instance of the component `{kind}`."
                ));
                if let Some(description) = self.component_description(kind) {
                    text.push_str(&format!("\n\n{description}"));
                }
            }
            Kind::Component => {
                text.push_str(&format!("```\ncomponent \"{}\"\n```", s.name));
                if let Some(description) = self.component_description(&s.name) {
                    text.push_str(&format!("\n{description}"));
                }
                let params: Vec<String> = self.params(&s.name).into_iter().map(|p| p.signature).collect();
                if !params.is_empty() {
                    text.push_str(&format!("\n\nParams: {}", params.join(", ")));
                }
            }
            Kind::Param => {
                let (component, name) = s.name.split_once('.').unwrap_or(("", &s.name));
                let ty = self.attribute_text(s.span, "type").unwrap_or("any");
                text.push_str(&format!("```\n{component}.{name}: {ty}\n```"));
                match self.attribute_text(s.span, "default") {
                    Some(default) => text.push_str(&format!("\nOptional; default: `{}`", shorten(default))),
                    None => text.push_str("\nRequired."),
                }
                if let Some(description) = self.attribute_string(s.span, "description") {
                    text.push_str(&format!("\n\n{description}"));
                }
            }
            Kind::Resource => {
                let (_, name) = s.name.split_once('/').unwrap_or(("", &s.name));
                text.push_str(&format!("```\nresource {name}\n```"));
            }
            Kind::Target => {
                text.push_str(&format!("```\ntarget \"{}\"\n```", s.name));
                if let Some(block) = self.block(s.span) {
                    for attribute in &block.body.attributes {
                        text.push_str(&format!(
                            "\n- `{} = {}`",
                            attribute.name.name,
                            shorten(self.snippet(attribute.value.span))
                        ));
                    }
                }
            }
            Kind::Output => {
                let ty = self.attribute_text(s.span, "type").map(|t| format!(": {t}")).unwrap_or_default();
                text.push_str(&format!("```\noutput {}{ty}\n```", s.name));
                if let Some(description) = self.attribute_string(s.span, "description") {
                    text.push_str(&format!("\n{description}"));
                }
            }
        }
        text
    }

    /// A component's `description`, else the first comment line of its
    /// file (the stdlib's say what the component is).
    fn component_description(&self, component: &str) -> Option<String> {
        let symbol = &self.index.symbols[self.index.lookup(Kind::Component, component)?];
        if let Some(description) = self.attribute_string(symbol.span, "description") {
            return Some(description);
        }
        let text = &self.sources()?.get(symbol.span.file).text;
        let first = text.lines().next()?.strip_prefix('#')?.trim();
        (!first.is_empty()).then(|| first.to_string())
    }

    /// A component's params, required ones first, each with its type.
    pub fn params(&self, component: &str) -> Vec<ParamInfo> {
        let prefix = format!("{component}.");
        let mut params: Vec<ParamInfo> = self
            .index
            .symbols
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == Kind::Param && s.name.starts_with(&prefix))
            .map(|(i, s)| {
                let name = s.name[prefix.len()..].to_string();
                let ty = self.attribute_text(s.span, "type").unwrap_or("any").to_string();
                let required = self.attribute_text(s.span, "default").is_none();
                let signature = format!("{name}: {ty}{}", if required { "" } else { "?" });
                ParamInfo { name, ty, required, signature, symbol: i }
            })
            .collect();
        params.sort_by_key(|p| !p.required);
        params
    }
}

pub struct ParamInfo {
    pub name: String,
    pub ty: String,
    pub required: bool,
    pub signature: String,
    pub symbol: usize,
}

fn mode_text(mode: stackc_compiler::schema::AttributeMode) -> &'static str {
    use stackc_compiler::schema::AttributeMode;
    match mode {
        AttributeMode::Required => "Required",
        AttributeMode::Optional => "Optional",
        AttributeMode::OptionalComputed => "Optional; computed by the provider when not set",
        AttributeMode::Computed => "Computed by the provider (read-only)",
    }
}

/// A value as hover shows it: never a sensitive one.
pub fn show(value: &Value) -> String {
    if value.has_sensitive() {
        return "(sensitive)".to_string();
    }
    if value.has_unknown() {
        return "(known after apply)".to_string();
    }
    shorten(&value.to_json().to_string())
}

/// At most 200 characters of `text`, on one line.
pub fn shorten(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}
