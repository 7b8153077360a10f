//! Completion from the text before the cursor (so it works in a file that
//! does not parse) and the names the last analysis of the stack knows.

use crate::analysis::Analysis;
use crate::index::Kind;
use lsp_types::{CompletionItem, CompletionItemKind, InsertTextFormat};

/// The completions at byte `offset` of `text`.
pub fn complete(analysis: &Analysis, text: &str, offset: usize) -> Vec<CompletionItem> {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.rsplit('\n').next().unwrap_or("");
    let word_start = line.trim_end_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '-').len();
    let prefix_line = &line[..word_start];

    // `on "aw|`: target names.
    if let Some(head) = prefix_line.strip_suffix('"') {
        if head.trim() == "on" {
            let mut names: Vec<String> = analysis.index.names(Kind::Target).map(str::to_string).collect();
            names.extend(stackc_driver::target_names().into_iter().map(str::to_string));
            names.sort();
            names.dedup();
            return names.into_iter().map(|n| item(n, CompletionItemKind::ENUM_MEMBER, "target")).collect();
        }
        return Vec::new();
    }
    // `root.` : names after it.
    if let Some(head) = prefix_line.strip_suffix('.') {
        let path: Vec<&str> = head
            .rsplit(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .next()
            .unwrap_or("")
            .split('.')
            .collect();
        return after_dot(analysis, &path, before);
    }
    let blocks = open_blocks(before);
    let in_expression =
        prefix_line.contains('=') || prefix_line.trim_end().ends_with(['(', ',', '[', '?', ':']);
    if in_expression {
        return expression_items(analysis);
    }
    match blocks.last().map(|header| header.split_whitespace().collect::<Vec<_>>()) {
        None => top_level(analysis),
        Some(words) => {
            let kind = words.first().copied().unwrap_or("");
            let label = |i: usize| words.get(i).map(|w| w.trim_matches('"'));
            match kind {
                "resource" => label(1).map(resource_attributes).unwrap_or_default(),
                "on" => top_level(analysis),
                "component" => ["param", "output", "on", "description"]
                    .iter()
                    .map(|k| item(k.to_string(), CompletionItemKind::KEYWORD, "block"))
                    .collect(),
                _ if analysis.index.lookup(Kind::Component, kind).is_some() && words.len() >= 2 => {
                    params(analysis, kind)
                }
                _ => Vec::new(),
            }
        }
    }
}

fn item(label: String, kind: CompletionItemKind, detail: &str) -> CompletionItem {
    CompletionItem { label, kind: Some(kind), detail: Some(detail.to_string()), ..CompletionItem::default() }
}

fn after_dot(analysis: &Analysis, path: &[&str], before: &str) -> Vec<CompletionItem> {
    let strip = |kind: Kind, prefix: &str| -> Vec<String> {
        analysis.index.names(kind).filter_map(|n| n.strip_prefix(prefix).map(str::to_string)).collect()
    };
    match path {
        ["var"] => analysis
            .index
            .symbols
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == Kind::Variable)
            .map(|(i, s)| {
                with_doc(item(s.name.clone(), CompletionItemKind::VARIABLE, "variable"), analysis, i)
            })
            .collect(),
        ["local"] => analysis
            .index
            .names(Kind::Local)
            .map(|n| item(n.to_string(), CompletionItemKind::VARIABLE, "local"))
            .collect(),
        ["param"] => {
            let component = open_blocks(before).iter().find_map(|h| {
                let mut words = h.split_whitespace();
                (words.next() == Some("component"))
                    .then(|| words.next().map(|w| w.trim_matches('"').to_string()))?
            });
            component
                .map(|c| {
                    analysis
                        .params(&c)
                        .into_iter()
                        .map(|p| with_doc(item(p.name, CompletionItemKind::FIELD, &p.ty), analysis, p.symbol))
                        .collect()
                })
                .unwrap_or_default()
        }
        [kind] if analysis.index.lookup(Kind::Component, kind).is_some() => {
            strip(Kind::Instance, &format!("{kind}."))
                .into_iter()
                .map(|n| item(n, CompletionItemKind::REFERENCE, kind))
                .collect()
        }
        [kind, _name] if analysis.index.lookup(Kind::Component, kind).is_some() => {
            strip(Kind::Output, &format!("{kind}."))
                .into_iter()
                .map(|n| item(n, CompletionItemKind::PROPERTY, "output"))
                .collect()
        }
        _ => Vec::new(),
    }
}

fn with_doc(mut item: CompletionItem, analysis: &Analysis, symbol: usize) -> CompletionItem {
    item.documentation = Some(lsp_types::Documentation::MarkupContent(lsp_types::MarkupContent {
        kind: lsp_types::MarkupKind::Markdown,
        value: analysis.describe(symbol),
    }));
    item
}

/// Block kinds and component instances at the top of a file (or an `on` block).
fn top_level(analysis: &Analysis) -> Vec<CompletionItem> {
    let mut items: Vec<CompletionItem> = [
        ("variable", "variable \"${1:name}\" {\n  type = ${2:string}\n}"),
        ("locals", "locals {\n  ${1:name} = ${2:value}\n}"),
        ("output", "output \"${1:name}\" {\n  value = ${2}\n}"),
        ("target", "target \"${1|local,aws,kubernetes|}\" {\n}"),
        ("component", "component \"${1:name}\" {\n}"),
        ("resource", "resource \"${1:type}\" \"${2:name}\" {\n}"),
        ("on", "on \"${1|local,aws,kubernetes|}\" {\n}"),
        ("backend", "backend \"s3\" {\n  bucket = \"${1}\"\n  key    = \"${2}\"\n}"),
        ("reconcile", "reconcile {\n  drift = \"${1|revert,report|}\"\n}"),
    ]
    .iter()
    .map(|(kind, snippet)| CompletionItem {
        insert_text: Some(snippet.to_string()),
        insert_text_format: Some(InsertTextFormat::SNIPPET),
        ..item(kind.to_string(), CompletionItemKind::KEYWORD, "block")
    })
    .collect();
    for (i, symbol) in analysis.index.symbols.iter().enumerate() {
        if symbol.kind == Kind::Component {
            let name = &symbol.name;
            let item = CompletionItem {
                insert_text: Some(format!("{name} \"${{1:name}}\" {{\n  $0\n}}")),
                insert_text_format: Some(InsertTextFormat::SNIPPET),
                ..item(name.clone(), CompletionItemKind::CLASS, "component")
            };
            items.push(with_doc(item, analysis, i));
        }
    }
    items
}

/// A component's params inside an instance: required first, with types.
fn params(analysis: &Analysis, component: &str) -> Vec<CompletionItem> {
    analysis
        .params(component)
        .into_iter()
        .enumerate()
        .map(|(rank, p)| {
            let detail = if p.required { format!("{} (required)", p.ty) } else { p.ty.clone() };
            CompletionItem {
                sort_text: Some(format!("{rank:04}")),
                insert_text: Some(format!("{} = ", p.name)),
                ..with_doc(item(p.name.clone(), CompletionItemKind::FIELD, &detail), analysis, p.symbol)
            }
        })
        .collect()
}

/// The settable attributes of a resource type, required first.
fn resource_attributes(resource_type: &str) -> Vec<CompletionItem> {
    use stackc_compiler::schema::AttributeMode;
    let schemas = stackc_driver::schemas();
    let Some(schema) = schemas.schemas.get(resource_type) else { return Vec::new() };
    let mut attributes: Vec<_> =
        schema.attributes.iter().filter(|(_, a)| a.mode != AttributeMode::Computed).collect();
    attributes.sort_by_key(|(_, a)| a.mode != AttributeMode::Required);
    attributes
        .into_iter()
        .enumerate()
        .map(|(rank, (name, a))| {
            let required = if a.mode == AttributeMode::Required { " (required)" } else { "" };
            CompletionItem {
                sort_text: Some(format!("{rank:04}")),
                insert_text: Some(format!("{name} = ")),
                ..item(name.clone(), CompletionItemKind::FIELD, &format!("{}{required}", a.ty))
            }
        })
        .collect()
}

/// In an expression: functions with signatures, and the roots of references.
fn expression_items(analysis: &Analysis) -> Vec<CompletionItem> {
    let mut items: Vec<CompletionItem> = stackc_compiler::functions::all()
        .iter()
        .map(|f| CompletionItem {
            documentation: Some(lsp_types::Documentation::String(f.doc.to_string())),
            insert_text: Some(format!("{}($0)", f.name)),
            insert_text_format: Some(InsertTextFormat::SNIPPET),
            ..item(f.name.to_string(), CompletionItemKind::FUNCTION, &f.signature())
        })
        .collect();
    for root in ["var", "local", "param", "self", "target", "each", "count"] {
        items.push(item(root.to_string(), CompletionItemKind::MODULE, "reference"));
    }
    for component in analysis.index.names(Kind::Component) {
        items.push(item(component.to_string(), CompletionItemKind::CLASS, "instances"));
    }
    items
}

/// The headers (`service "api"`) of the blocks open at the end of `text`,
/// outermost first; objects (`x = {`) are left out. Strings, `${...}` and
/// comments are skipped.
pub fn open_blocks(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    // (header, is_block) per open brace.
    let mut open: Vec<(String, bool)> = Vec::new();
    let mut segment_start = 0;
    let mut i = 0;
    // Depth of `${` inside strings: a `}` there closes the interpolation.
    let mut string_depth: Vec<usize> = Vec::new();
    let mut in_string = false;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            match c {
                b'\\' => i += 1,
                b'"' => in_string = false,
                b'$' | b'%' if bytes.get(i + 1) == Some(&b'{') => {
                    string_depth.push(open.len());
                    open.push((String::new(), false));
                    in_string = false;
                    i += 1;
                }
                b'\n' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                segment_start = i.min(bytes.len());
                continue;
            }
            b'{' => {
                let header = text.get(segment_start..i).unwrap_or("").trim().to_string();
                let is_block = !header.is_empty() && !header.contains(['=', '(', '[', ',', ':', '?']);
                open.push((header, is_block));
                segment_start = i + 1;
            }
            b'}' => {
                open.pop();
                if string_depth.last() == Some(&open.len()) {
                    string_depth.pop();
                    in_string = true;
                }
                segment_start = i + 1;
            }
            b'\n' => segment_start = i + 1,
            _ => {}
        }
        i += 1;
    }
    open.into_iter().filter(|(_, block)| *block).map(|(header, _)| header).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_blocks_skip_objects_strings_and_comments() {
        let text = "service \"api\" {\n  env = { A = \"}${x}{\" }\n  # {\n  health {\n    path = ";
        assert_eq!(open_blocks(text), ["service \"api\"", "health"]);
        assert_eq!(open_blocks("a \"b\" {\n}\n"), Vec::<String>::new());
        assert_eq!(
            open_blocks("component \"x\" {\n on \"aws\" {\n resource \"t\" \"n\" {\n"),
            ["component \"x\"", "on \"aws\"", "resource \"t\" \"n\""]
        );
    }
}
