//! The symbol index of a checked stack: every declaration (variables,
//! locals, instances, components, params, resources, targets, outputs)
//! and every reference to one, with spans, built from the syntax trees the
//! check kept (`Report::stack`). Hover, definition, references, rename and
//! document symbols all read it.
//!
//! A file with a syntax error has an empty tree: its names are missing
//! until it parses again (the other files' stay).

use stackc_compiler::ast::{Block, Body, Expr, ExprKind, File, SplatStep, TemplatePart};
use stackc_compiler::{FileId, Span};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Variable,
    Local,
    /// `service "api" {}`: named `service.api`.
    Instance,
    Component,
    /// Named `component.param`.
    Param,
    /// A top-level resource `type.name`, or one in a component `component/type.name`.
    Resource,
    Target,
    /// A stack output `name`, or a component's `component.name`.
    Output,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Variable => "variable",
            Kind::Local => "local",
            Kind::Instance => "instance",
            Kind::Component => "component",
            Kind::Param => "param",
            Kind::Resource => "resource",
            Kind::Target => "target",
            Kind::Output => "output",
        }
    }
}

/// One declaration.
#[derive(Clone, Debug)]
pub struct Symbol {
    pub kind: Kind,
    /// Qualified as [`Kind`] says.
    pub name: String,
    /// The declared name (a label, or a `locals` attribute's name).
    pub name_span: Span,
    /// The whole declaration (block or attribute).
    pub span: Span,
}

/// A use of a declaration.
#[derive(Clone, Debug)]
pub struct Reference {
    pub symbol: usize,
    /// The referring name only (`api` of `service.api.url`): what a rename replaces.
    pub name_span: Span,
    /// The whole reference (`service.api`): where hover and definition answer.
    pub span: Span,
}

/// An attribute written in a resource block, for the schema's hover.
#[derive(Clone, Debug)]
pub struct ResourceAttribute {
    pub span: Span,
    pub resource_type: String,
    pub attribute: String,
}

/// A function call's name.
#[derive(Clone, Debug)]
pub struct Call {
    pub span: Span,
    pub function: String,
}

#[derive(Debug, Default)]
pub struct Index {
    pub symbols: Vec<Symbol>,
    pub references: Vec<Reference>,
    pub resource_attributes: Vec<ResourceAttribute>,
    pub calls: Vec<Call>,
    by_name: HashMap<(Kind, String), usize>,
}

/// What an offset of a file is on.
#[derive(Clone, Debug)]
pub enum Hit<'a> {
    Symbol(usize),
    Reference(&'a Reference),
    ResourceAttribute(&'a ResourceAttribute),
    Call(&'a Call),
}

impl Index {
    /// Indexes `files` (the stdlib's and the user's).
    pub fn build(files: &[File]) -> Index {
        let mut index = Index::default();
        let mut builder = Builder { index: &mut index, pending: Vec::new() };
        // Declarations first (any file may refer to any other's), then uses.
        for file in files {
            builder.declarations(&file.body);
        }
        for file in files {
            builder.uses_in_stack(&file.body);
        }
        let pending = std::mem::take(&mut builder.pending);
        for (kind, name, name_span, span) in pending {
            if let Some(&symbol) = index.by_name.get(&(kind, name)) {
                index.references.push(Reference { symbol, name_span, span });
            }
        }
        index
    }

    pub fn lookup(&self, kind: Kind, name: &str) -> Option<usize> {
        self.by_name.get(&(kind, name.to_string())).copied()
    }

    /// The innermost thing at `offset` of `file`.
    pub fn at(&self, file: FileId, offset: u32) -> Option<Hit<'_>> {
        let inside = |span: &Span| span.file == file && span.start <= offset && offset <= span.end;
        if let Some(r) =
            self.references.iter().filter(|r| inside(&r.span)).min_by_key(|r| r.span.end - r.span.start)
        {
            return Some(Hit::Reference(r));
        }
        if let Some(i) = self.symbols.iter().position(|s| inside(&s.name_span)) {
            return Some(Hit::Symbol(i));
        }
        if let Some(a) = self.resource_attributes.iter().find(|a| inside(&a.span)) {
            return Some(Hit::ResourceAttribute(a));
        }
        self.calls.iter().find(|c| inside(&c.span)).map(Hit::Call)
    }

    /// The symbol at `offset`: declared there, or referred to.
    pub fn symbol_at(&self, file: FileId, offset: u32) -> Option<usize> {
        match self.at(file, offset)? {
            Hit::Symbol(i) => Some(i),
            Hit::Reference(r) => Some(r.symbol),
            _ => None,
        }
    }

    pub fn references_to(&self, symbol: usize) -> impl Iterator<Item = &Reference> {
        self.references.iter().filter(move |r| r.symbol == symbol)
    }

    /// Names of the symbols of `kind` (qualified).
    pub fn names(&self, kind: Kind) -> impl Iterator<Item = &str> {
        self.symbols.iter().filter(move |s| s.kind == kind).map(|s| s.name.as_str())
    }
}

struct Builder<'i> {
    index: &'i mut Index,
    /// References found before every declaration was known: (kind, name, name span, span).
    pending: Vec<(Kind, String, Span, Span)>,
}

/// Block kinds that are not component instances.
const RESERVED: &[&str] =
    &["variable", "locals", "output", "target", "component", "resource", "on", "reconcile"];

impl Builder<'_> {
    fn declare(&mut self, kind: Kind, name: String, name_span: Span, span: Span) {
        let id = self.index.symbols.len();
        self.index.by_name.entry((kind, name.clone())).or_insert(id);
        self.index.symbols.push(Symbol { kind, name, name_span, span });
    }

    fn refer(&mut self, kind: Kind, name: String, name_span: Span, span: Span) {
        self.pending.push((kind, name, name_span, span));
    }

    fn declarations(&mut self, body: &Body) {
        for block in &body.blocks {
            let label = |i: usize| block.labels.get(i);
            match block.kind.name.as_str() {
                "variable" | "target" | "output" => {
                    let kind = match block.kind.name.as_str() {
                        "variable" => Kind::Variable,
                        "target" => Kind::Target,
                        _ => Kind::Output,
                    };
                    if let Some(name) = label(0) {
                        self.declare(kind, name.name.clone(), name.span, block.span);
                    }
                }
                "locals" => {
                    for attribute in &block.body.attributes {
                        self.declare(
                            Kind::Local,
                            attribute.name.name.clone(),
                            attribute.name.span,
                            attribute.span,
                        );
                    }
                }
                "resource" => {
                    if let (Some(ty), Some(name)) = (label(0), label(1)) {
                        self.declare(
                            Kind::Resource,
                            format!("{}.{}", ty.name, name.name),
                            name.span,
                            block.span,
                        );
                    }
                }
                "on" => self.declarations(&block.body),
                "component" => {
                    if let Some(name) = label(0) {
                        self.declare(Kind::Component, name.name.clone(), name.span, block.span);
                        self.component_declarations(&name.name, &block.body);
                    }
                }
                kind => {
                    if let Some(name) = label(0) {
                        self.declare(Kind::Instance, format!("{kind}.{}", name.name), name.span, block.span);
                    }
                }
            }
        }
    }

    fn component_declarations(&mut self, component: &str, body: &Body) {
        for block in &body.blocks {
            let label = |i: usize| block.labels.get(i);
            match block.kind.name.as_str() {
                "param" | "output" => {
                    if let Some(name) = label(0) {
                        let kind = if block.kind.name == "param" { Kind::Param } else { Kind::Output };
                        // An output repeated per target: the first declares it.
                        if self.index.by_name.contains_key(&(kind, format!("{component}.{}", name.name))) {
                            continue;
                        }
                        self.declare(kind, format!("{component}.{}", name.name), name.span, block.span);
                    }
                }
                "on" => self.component_declarations(component, &block.body),
                "resource" => {
                    if let (Some(ty), Some(name)) = (label(0), label(1)) {
                        let qualified = format!("{component}/{}.{}", ty.name, name.name);
                        self.declare(Kind::Resource, qualified, name.span, block.span);
                    }
                }
                _ => {}
            }
        }
    }

    /// Uses in a stack-level body (or an `on` block of one).
    fn uses_in_stack(&mut self, body: &Body) {
        for attribute in &body.attributes {
            self.expr(&attribute.value, None);
        }
        for block in &body.blocks {
            match block.kind.name.as_str() {
                "component" => {
                    if let Some(name) = block.labels.first() {
                        self.component_uses(&name.name.clone(), &block.body);
                    }
                }
                "on" => {
                    self.target_label(block);
                    self.uses_in_stack(&block.body);
                }
                "resource" => self.resource_uses(block, None),
                kind if !RESERVED.contains(&kind) => self.instance_uses(block, None),
                _ => self.body_exprs(&block.body, None),
            }
        }
    }

    fn target_label(&mut self, block: &Block) {
        if let Some(target) = block.labels.first() {
            self.refer(Kind::Target, target.name.clone(), target.span, target.span);
        }
    }

    fn component_uses(&mut self, component: &str, body: &Body) {
        for attribute in &body.attributes {
            self.expr(&attribute.value, Some(component));
        }
        for block in &body.blocks {
            match block.kind.name.as_str() {
                "on" => {
                    self.target_label(block);
                    self.component_uses(component, &block.body);
                }
                "resource" => self.resource_uses(block, Some(component)),
                "param" | "output" | "validation" => self.body_exprs(&block.body, Some(component)),
                kind if !RESERVED.contains(&kind) => self.instance_uses(block, Some(component)),
                _ => self.body_exprs(&block.body, Some(component)),
            }
        }
    }

    fn resource_uses(&mut self, block: &Block, component: Option<&str>) {
        if let Some(ty) = block.labels.first() {
            for attribute in &block.body.attributes {
                self.index.resource_attributes.push(ResourceAttribute {
                    span: attribute.name.span,
                    resource_type: ty.name.clone(),
                    attribute: attribute.name.name.clone(),
                });
            }
        }
        self.body_exprs(&block.body, component);
    }

    /// `service "api" { image = ... }`: the component's name and params.
    fn instance_uses(&mut self, block: &Block, component: Option<&str>) {
        let kind = block.kind.name.clone();
        self.refer(Kind::Component, kind.clone(), block.kind.span, block.kind.span);
        for attribute in &block.body.attributes {
            let name = format!("{kind}.{}", attribute.name.name);
            self.refer(Kind::Param, name, attribute.name.span, attribute.name.span);
            self.expr(&attribute.value, component);
        }
        for nested in &block.body.blocks {
            let name = format!("{kind}.{}", nested.kind.name);
            self.refer(Kind::Param, name, nested.kind.span, nested.kind.span);
            self.body_exprs(&nested.body, component);
        }
    }

    fn body_exprs(&mut self, body: &Body, component: Option<&str>) {
        for attribute in &body.attributes {
            self.expr(&attribute.value, component);
        }
        for block in &body.blocks {
            self.body_exprs(&block.body, component);
        }
    }

    /// References in an expression; `component` is the component whose body
    /// it is in (its `param.x` and its resources), if any.
    fn expr(&mut self, expr: &Expr, component: Option<&str>) {
        if let Some(path) = expr.as_path() {
            self.path(&path, component);
        }
        match &expr.kind {
            ExprKind::GetAttr(inner, _) if inner.as_path().is_none() => self.expr(inner, component),
            ExprKind::Template(parts) => self.template(parts, component),
            ExprKind::List(items) => items.iter().for_each(|item| self.expr(item, component)),
            ExprKind::Object(fields) => {
                for (key, value) in fields {
                    self.expr(key, component);
                    self.expr(value, component);
                }
            }
            ExprKind::Index(a, b) => {
                self.expr(a, component);
                self.expr(b, component);
            }
            ExprKind::Splat(inner, steps) => {
                self.expr(inner, component);
                for step in steps {
                    if let SplatStep::Index(index) = step {
                        self.expr(index, component);
                    }
                }
            }
            ExprKind::Call(name, args, _) => {
                self.index.calls.push(Call { span: name.span, function: name.name.clone() });
                args.iter().for_each(|arg| self.expr(arg, component));
            }
            ExprKind::Unary(_, inner) | ExprKind::Paren(inner) => self.expr(inner, component),
            ExprKind::Binary(_, a, b) => {
                self.expr(a, component);
                self.expr(b, component);
            }
            ExprKind::Conditional(a, b, c) => {
                self.expr(a, component);
                self.expr(b, component);
                self.expr(c, component);
            }
            ExprKind::For(for_expr) => {
                self.expr(&for_expr.collection, component);
                if let Some(key) = &for_expr.key {
                    self.expr(key, component);
                }
                self.expr(&for_expr.value, component);
                if let Some(condition) = &for_expr.condition {
                    self.expr(condition, component);
                }
            }
            _ => {}
        }
    }

    fn template(&mut self, parts: &[TemplatePart], component: Option<&str>) {
        for part in parts {
            match part {
                TemplatePart::Literal(_) => {}
                TemplatePart::Interpolation(expr) => self.expr(expr, component),
                TemplatePart::If(condition, then, other) => {
                    self.expr(condition, component);
                    self.template(then, component);
                    self.template(other, component);
                }
                TemplatePart::For(_, _, collection, body) => {
                    self.expr(collection, component);
                    self.template(body, component);
                }
            }
        }
    }

    /// `var.x`, `local.x`, `param.x`, `service.api`, `aws_instance.web`.
    fn path(&mut self, path: &[&stackc_compiler::ast::Ident], component: Option<&str>) {
        let [root, name, ..] = path else { return };
        let span = root.span.to(name.span);
        let (kind, qualified) = match (root.name.as_str(), component) {
            ("var", None) => (Kind::Variable, name.name.clone()),
            ("local", None) => (Kind::Local, name.name.clone()),
            ("param", Some(component)) => (Kind::Param, format!("{component}.{}", name.name)),
            ("self" | "each" | "count" | "target" | "var" | "local" | "param", _) => return,
            (ty, Some(component)) if ty.contains('_') => {
                (Kind::Resource, format!("{component}/{ty}.{}", name.name))
            }
            (kind, _) => {
                // An instance (`service.api`), else a top-level resource.
                let instance = format!("{kind}.{}", name.name);
                let kind = if self.index.by_name.contains_key(&(Kind::Instance, instance.clone())) {
                    Kind::Instance
                } else {
                    Kind::Resource
                };
                (kind, instance)
            }
        };
        self.refer(kind, qualified, name.span, span);
        // `service.api.url`: the component's output.
        if let (Kind::Instance, Some(output)) = (kind, path.get(2)) {
            let component = root.name.clone();
            self.refer(Kind::Output, format!("{component}.{}", output.name), output.span, output.span);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(texts: &[&str]) -> (Index, Vec<String>) {
        let files: Vec<File> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| stackc_compiler::syntax::parse(FileId(i as u32), t).0)
            .collect();
        (Index::build(&files), texts.iter().map(|t| t.to_string()).collect())
    }

    const COMPONENT: &str = "component \"svc\" {\n  param \"image\" {\n    type = string\n  }\n  on \"aws\" {\n    resource \"aws_thing\" \"main\" {\n      name = param.image\n    }\n    output \"url\" {\n      value = aws_thing.main.url\n    }\n  }\n}\n";
    const STACK: &str = "variable \"img\" {\n  type = string\n}\nlocals {\n  tag = \"${var.img}:1\"\n}\nsvc \"api\" {\n  image = local.tag\n}\noutput \"u\" {\n  value = svc.api.url\n}\ntarget \"aws\" {}\n";

    #[test]
    fn declarations_and_references_across_files() {
        let (index, texts) = index(&[COMPONENT, STACK]);
        let names = |kind| index.names(kind).map(str::to_string).collect::<Vec<_>>();
        assert_eq!(names(Kind::Component), ["svc"]);
        assert_eq!(names(Kind::Param), ["svc.image"]);
        assert_eq!(names(Kind::Instance), ["svc.api"]);
        assert_eq!(names(Kind::Variable), ["img"]);
        assert_eq!(names(Kind::Local), ["tag"]);
        assert_eq!(names(Kind::Resource), ["svc/aws_thing.main"]);
        assert_eq!(names(Kind::Output), ["svc.url", "u"]);

        let refs = |kind, name: &str| {
            let symbol = index.lookup(kind, name).unwrap();
            index
                .references_to(symbol)
                .map(|r| (r.name_span.file.0, &texts[r.name_span.file.0 as usize][r.name_span.range()]))
                .collect::<Vec<_>>()
        };
        assert_eq!(refs(Kind::Variable, "img"), [(1, "img")]);
        assert_eq!(refs(Kind::Local, "tag"), [(1, "tag")]);
        assert_eq!(refs(Kind::Instance, "svc.api"), [(1, "api")]);
        assert_eq!(refs(Kind::Component, "svc"), [(1, "svc")]);
        // `param.image` in the body and `image =` in the instance.
        let mut params = refs(Kind::Param, "svc.image");
        params.sort();
        assert_eq!(params, [(0, "image"), (1, "image")]);
        assert_eq!(refs(Kind::Resource, "svc/aws_thing.main"), [(0, "main")]);
        assert_eq!(refs(Kind::Output, "svc.url"), [(1, "url")]);
        assert_eq!(refs(Kind::Target, "aws"), [(0, "aws")]);
    }

    #[test]
    fn lookups_by_offset() {
        let (index, texts) = index(&[COMPONENT, STACK]);
        let at = |needle: &str, delta: usize| texts[1].find(needle).unwrap() as u32 + delta as u32;
        // On `var` of `var.img`: the whole reference answers.
        let symbol = index.symbol_at(FileId(1), at("var.img", 0)).unwrap();
        assert_eq!(
            (index.symbols[symbol].kind, index.symbols[symbol].name.as_str()),
            (Kind::Variable, "img")
        );
        // On the declaration's label.
        let symbol = index.symbol_at(FileId(1), at("\"api\"", 2)).unwrap();
        assert_eq!(index.symbols[symbol].name, "svc.api");
        // `url` of `svc.api.url`: the component's output, not the instance.
        let symbol = index.symbol_at(FileId(1), at("api.url", 5)).unwrap();
        assert_eq!(index.symbols[symbol].name, "svc.url");
        // A resource attribute and nothing.
        let name = COMPONENT.find("name =").unwrap() as u32;
        assert!(
            matches!(index.at(FileId(0), name), Some(Hit::ResourceAttribute(a)) if a.attribute == "name")
        );
        assert!(index.at(FileId(1), 0).is_none());
    }

    #[test]
    fn a_file_that_does_not_parse_indexes_nothing_and_breaks_nothing() {
        let (index, _) = index(&[COMPONENT, "svc \"api\" {\n  image = \n"]);
        assert_eq!(index.names(Kind::Instance).count(), 0);
        assert_eq!(index.names(Kind::Component).collect::<Vec<_>>(), ["svc"]);
    }
}
