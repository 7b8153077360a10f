//! The shape of blocks: which kinds exist, how many labels each takes, which
//! attributes and nested blocks each allows, duplicate declarations, and the
//! attributes of component instances against their component's params.
//! Fills [`Symbols`] on the way.

use super::lower::ParamTypes;
use super::{name_span, ComponentSymbols, InstanceSymbol, Resolved, KNOWN_TARGETS, RESERVED_KINDS};
use crate::ast::{Block, Body, File};
use crate::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::hash::FastMap;
use crate::source::{Origin, Span};
use crate::types::Type;
use std::rc::Rc;
use std::sync::Arc;

const VARIABLE_ATTRIBUTES: &[&str] = &["type", "default", "description", "sensitive", "nullable"];
const VALIDATION_ATTRIBUTES: &[&str] = &["condition", "message"];
const OUTPUT_ATTRIBUTES: &[&str] = &["value", "description", "sensitive", "type"];
const PARAM_ATTRIBUTES: &[&str] = &["type", "default", "description", "sensitive"];
const COMPONENT_ATTRIBUTES: &[&str] = &["description"];
/// `backend "s3" { ... }`: where the state is kept (read by the binary).
pub const BACKEND_S3_ATTRIBUTES: &[&str] = &["bucket", "key", "region", "endpoint"];
const BACKEND_S3_REQUIRED: &[&str] = &["bucket", "key"];

pub(super) struct Structure<'r, 'a> {
    pub resolved: &'r mut Resolved<'a>,
    pub diagnostics: &'r mut Vec<Diagnostic>,
    /// Per component, its params without a default (every instance is
    /// checked against them).
    required: FastMap<&'a str, Rc<Vec<(&'a str, &'a Block)>>>,
    /// (component, param) -> the param's declared type, read once the
    /// components are known (lowering gives them to the HIR).
    pub param_types: ParamTypes<'a>,
    /// The first `backend` block seen (there may be one).
    backend: Option<&'a Block>,
}

impl<'r, 'a> Structure<'r, 'a> {
    pub fn new(resolved: &'r mut Resolved<'a>, diagnostics: &'r mut Vec<Diagnostic>) -> Self {
        Structure {
            resolved,
            diagnostics,
            required: FastMap::default(),
            param_types: ParamTypes::default(),
            backend: None,
        }
    }
}

/// HCL identifier rules for names: a letter or `_`, then letters, digits, `_`, `-`.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn count_words(n: usize) -> &'static str {
    match n {
        0 => "no labels",
        1 => "one label",
        _ => "two labels",
    }
}

impl<'a> Structure<'_, 'a> {
    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn malformed(&mut self, block: &Block) {
        self.resolved.malformed.insert(block.span);
    }

    pub fn collect(&mut self, stdlib: &[&'a File], user: &[&'a File]) {
        // Components first, so instances anywhere can be recognized.
        for file in stdlib {
            for block in &file.body.blocks {
                if block.kind.name == "component" {
                    self.component_symbol(block, Origin::Stdlib);
                }
            }
        }
        let mut user_components: FastMap<&'a str, &'a Block> = FastMap::default();
        for file in user {
            for block in file.body.blocks_of("component") {
                if let Some(label) = block.labels.first() {
                    if block.labels.len() == 1 && is_valid_name(&label.name) {
                        if let Some(first) = user_components.get(label.name.as_str()) {
                            let first = name_span(first);
                            self.duplicate("component", &label.name, label.span, first);
                            continue;
                        }
                        user_components.insert(&label.name, block);
                        self.component_symbol(block, Origin::User);
                    }
                }
            }
        }
        self.param_types = super::lower::param_types(&self.resolved.symbols.components, self.diagnostics);
        for file in user {
            self.top_level(&file.body);
        }
        let components: Vec<&'a str> = self.resolved.symbols.components.keys().copied().collect();
        for name in components {
            if let Some(block) = self.resolved.symbols.components.get(name).map(|c| c.block) {
                self.component_body(block);
            }
        }
    }

    fn duplicate(&mut self, what: &str, name: &str, span: Span, first: Span) {
        self.error(
            Diagnostic::new(
                Code::DuplicateDeclaration,
                span,
                format!("The {what} `{name}` is declared more than once."),
            )
            .with_label("declared again here")
            .with_secondary(first, "first declared here")
            .with_help(format!("rename one of them, or remove the second {what}")),
        );
    }

    /// Checks a block's label count and the validity of its name labels;
    /// `names` says which labels are names (checked with [`is_valid_name`]).
    fn labels(&mut self, block: &Block, expected: usize, what: &str, names: &[usize]) -> bool {
        let kind = &block.kind.name;
        if block.labels.len() != expected {
            let span = if block.labels.len() > expected {
                block.labels[expected].span.to(block.labels[block.labels.len() - 1].span)
            } else {
                block.kind.span
            };
            let example = match expected {
                0 => format!("`{kind} {{ ... }}`"),
                1 => format!("`{kind} \"<name>\" {{ ... }}`"),
                _ => format!("`{kind} \"<type>\" \"<name>\" {{ ... }}`"),
            };
            self.error(
                Diagnostic::new(
                    Code::WrongLabels,
                    span,
                    format!(
                        "A `{kind}` block takes {} ({what}), but this one has {}.",
                        count_words(expected),
                        match block.labels.len() {
                            0 => "none".to_string(),
                            n => n.to_string(),
                        }
                    ),
                )
                .with_label(if block.labels.len() > expected { "unexpected label" } else { "label missing" })
                .with_help(format!("write {example}")),
            );
            self.malformed(block);
            return false;
        }
        let mut valid = true;
        for &index in names {
            if let Some(label) = block.labels.get(index) {
                if !is_valid_name(&label.name) {
                    let suggestion: String = label
                        .name
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
                        .collect();
                    let suggestion = if suggestion.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    {
                        suggestion
                    } else {
                        format!("_{suggestion}")
                    };
                    self.error(
                        Diagnostic::new(
                            Code::InvalidName,
                            label.span,
                            format!(
                                "`{}` is not a valid name: names start with a letter or `_` and contain only letters, digits, `_` and `-`.",
                                label.name
                            ),
                        )
                        .with_label("invalid name")
                        .with_help(format!("e.g. `{suggestion}`")),
                    );
                    valid = false;
                }
            }
        }
        valid
    }

    fn unexpected_attributes(&mut self, block: &Block, allowed: &[&str], context: &str) {
        for attribute in &block.body.attributes {
            if allowed.contains(&attribute.name.name.as_str()) {
                continue;
            }
            let listed = allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
            let help = did_you_mean(&attribute.name.name, allowed.iter().copied()).unwrap_or_else(|| {
                if allowed.is_empty() {
                    format!("{context} takes no attributes")
                } else {
                    format!("{context} accepts {listed}")
                }
            });
            self.error(
                Diagnostic::new(
                    Code::UnexpectedAttribute,
                    attribute.name.span,
                    format!("{context} has no attribute `{}`.", attribute.name.name),
                )
                .with_label("not allowed here")
                .with_help(help),
            );
            self.malformed(block);
        }
    }

    fn unexpected_block(&mut self, inner: &Block, context: &str, allowed: &[&str]) {
        let help = match (did_you_mean(&inner.kind.name, allowed.iter().copied()), allowed.is_empty()) {
            (Some(help), _) => help,
            (None, true) => format!("{context} takes no nested blocks"),
            (None, false) => format!(
                "{context} accepts {}",
                allowed.iter().map(|b| format!("`{b}` blocks")).collect::<Vec<_>>().join(", ")
            ),
        };
        self.error(
            Diagnostic::new(
                Code::UnexpectedBlock,
                inner.kind.span,
                format!("A `{}` block is not allowed in {context}.", inner.kind.name),
            )
            .with_label("not allowed here")
            .with_help(help),
        );
    }

    fn validation_blocks(&mut self, block: &Block, context: &str) {
        for inner in &block.body.blocks {
            if inner.kind.name != "validation" {
                self.unexpected_block(inner, context, &["validation"]);
                continue;
            }
            self.labels(inner, 0, "none", &[]);
            self.unexpected_attributes(inner, VALIDATION_ATTRIBUTES, "A `validation` block");
            for required in VALIDATION_ATTRIBUTES {
                if inner.body.attribute(required).is_none() {
                    self.error(
                        Diagnostic::new(
                            Code::MissingRequired,
                            inner.kind.span,
                            format!("This `validation` block has no `{required}`."),
                        )
                        .with_label(format!("`{required}` missing"))
                        .with_help(
                            "a validation has a `condition` (a bool) and a `message` shown when it is false",
                        ),
                    );
                }
            }
            for nested in &inner.body.blocks {
                self.unexpected_block(nested, "a `validation` block", &[]);
            }
        }
    }

    fn top_level(&mut self, body: &'a Body) {
        for attribute in &body.attributes {
            self.error(
                Diagnostic::new(
                    Code::UnexpectedAttribute,
                    attribute.name.span,
                    format!("`{}` is set at the top level of a file, where only blocks are allowed.", attribute.name.name),
                )
                .with_label("attribute outside any block")
                .with_help(format!(
                    "put it in a block: a `locals {{ {} = ... }}` block, a `target` block, or a component instance",
                    attribute.name.name
                )),
            );
        }
        for block in &body.blocks {
            self.top_level_block(block, None);
        }
    }

    fn top_level_block(&mut self, block: &'a Block, target: Option<&'a str>) {
        let kind = block.kind.name.as_str();
        let in_on = target.is_some();
        match kind {
            "variable" | "locals" | "output" | "target" | "component" if in_on => {
                self.unexpected_block(block, "an `on` block", &["resource"]);
            }
            "variable" => {
                if !self.labels(block, 1, "the variable's name", &[0]) {
                    return;
                }
                self.unexpected_attributes(block, VARIABLE_ATTRIBUTES, "A `variable` block");
                self.validation_blocks(block, "a `variable` block");
                let label = &block.labels[0];
                match self.resolved.symbols.variables.get(label.name.as_str()) {
                    Some(first) => {
                        let first = name_span(first);
                        self.duplicate("variable", &label.name, label.span, first);
                    }
                    None => {
                        self.resolved.symbols.variables.insert(&label.name, block);
                    }
                }
            }
            "locals" => {
                if !self.labels(block, 0, "none", &[]) {
                    return;
                }
                for inner in &block.body.blocks {
                    self.unexpected_block(inner, "a `locals` block", &[]);
                }
                for attribute in &block.body.attributes {
                    match self.resolved.symbols.locals.get(attribute.name.name.as_str()) {
                        Some(first) => {
                            let first = first.name.span;
                            self.duplicate("local value", &attribute.name.name, attribute.name.span, first);
                        }
                        None => {
                            self.resolved.symbols.locals.insert(&attribute.name.name, attribute);
                        }
                    }
                }
            }
            "output" => {
                if !self.labels(block, 1, "the output's name", &[0]) {
                    return;
                }
                self.unexpected_attributes(block, OUTPUT_ATTRIBUTES, "An `output` block");
                for inner in &block.body.blocks {
                    self.unexpected_block(inner, "an `output` block", &[]);
                }
                if block.body.attribute("value").is_none() {
                    self.error(
                        Diagnostic::new(
                            Code::MissingRequired,
                            name_span(block),
                            format!("The output `{}` has no `value`.", block.labels[0].name),
                        )
                        .with_label("`value` missing")
                        .with_help("an output shows a value: `value = <expression>`"),
                    );
                }
                let label = &block.labels[0];
                match self.resolved.symbols.outputs.get(label.name.as_str()) {
                    Some(first) => {
                        let first = name_span(first);
                        self.duplicate("output", &label.name, label.span, first);
                    }
                    None => {
                        self.resolved.symbols.outputs.insert(&label.name, block);
                    }
                }
            }
            "target" => {
                if !self.labels(block, 1, "the target's name", &[]) {
                    return;
                }
                let label = &block.labels[0];
                if !KNOWN_TARGETS.contains(&label.name.as_str()) {
                    self.unknown_target(&label.name, label.span);
                }
                self.unexpected_attributes(block, super::TARGET_ATTRIBUTES, "A `target` block");
                for inner in &block.body.blocks {
                    self.unexpected_block(inner, "a `target` block", &[]);
                }
                match self.resolved.symbols.targets.get(label.name.as_str()) {
                    Some(first) => {
                        let first = name_span(first);
                        self.duplicate("target", &label.name, label.span, first);
                    }
                    None => {
                        self.resolved.symbols.targets.insert(&label.name, block);
                    }
                }
            }
            // A stack may define a component named `backend`: its instances stay instances.
            "backend" if !in_on && !self.resolved.symbols.components.contains_key("backend") => {
                self.backend_block(block)
            }
            "component" => {
                // Collected (and checked) with the other components.
                self.labels(block, 1, "the component kind it defines", &[0]);
            }
            "resource" => {
                if !self.labels(block, 2, "the resource type and a name", &[1]) {
                    return;
                }
                let (type_label, name) = (&block.labels[0], &block.labels[1]);
                let by_name = self.resolved.symbols.resources.entry(&type_label.name).or_default();
                match by_name.get(name.name.as_str()) {
                    Some(first) => {
                        let first = first.labels[1].span;
                        self.duplicate(
                            "resource",
                            &format!("{}.{}", type_label.name, name.name),
                            name.span,
                            first,
                        );
                    }
                    None => {
                        by_name.insert(&name.name, block);
                    }
                }
            }
            "on" => {
                if in_on {
                    self.unexpected_block(block, "an `on` block", &["resource"]);
                    return;
                }
                if !self.labels(block, 1, "the target's name", &[]) {
                    return;
                }
                let label = &block.labels[0];
                if !KNOWN_TARGETS.contains(&label.name.as_str()) {
                    self.unknown_target(&label.name, label.span);
                }
                self.unexpected_attributes(block, &[], "An `on` block");
                for inner in &block.body.blocks {
                    self.top_level_block(inner, Some(&label.name));
                }
            }
            crate::policy::BLOCK if in_on => {
                self.unexpected_block(block, "an `on` block", &["resource"]);
            }
            crate::policy::BLOCK => {
                for problem in crate::policy::check_block(block) {
                    self.error(problem);
                }
            }
            "param" => {
                self.error(
                    Diagnostic::new(
                        Code::ParamOutsideComponent,
                        block.kind.span,
                        "A `param` block declares a parameter of a component, but this one is outside any `component` block.",
                    )
                    .with_label("outside any component")
                    .with_help("move it into a `component \"<kind>\" { ... }` block, or declare a `variable` instead"),
                );
            }
            kind if self.resolved.symbols.components.contains_key(kind) => {
                if !self.labels(block, 1, "the instance's name", &[0]) {
                    return;
                }
                let kind: &'a str = &block.kind.name;
                let label = &block.labels[0];
                self.instance_params(block);
                let by_name = self.resolved.symbols.instances.entry(kind).or_default();
                match by_name.get(label.name.as_str()) {
                    Some(first) => {
                        let first = name_span(first.block);
                        self.duplicate("instance", &format!("{kind}.{}", label.name), label.span, first);
                    }
                    None => {
                        by_name
                            .insert(&label.name, InstanceSymbol { kind, name: &label.name, block, target });
                    }
                }
            }
            _ => {
                let mut candidates: Vec<&str> = RESERVED_KINDS.to_vec();
                candidates.extend(self.resolved.symbols.components.keys().copied());
                let help = did_you_mean(kind, candidates.iter().copied()).unwrap_or_else(|| {
                    "use a language block (`variable`, `locals`, `output`, `target`, `component`, `resource`, `on`) or a component kind such as `service`, or define it with `component \"<kind>\" { ... }`".to_string()
                });
                self.error(
                    Diagnostic::new(
                        Code::UnknownBlock,
                        block.kind.span,
                        format!("`{kind}` is neither a language block nor a known component kind."),
                    )
                    .with_label("unknown block type")
                    .with_help(help),
                );
            }
        }
    }

    /// `backend "s3" { bucket = "...", key = "...", region = "...", endpoint = "..." }`:
    /// at most one, of a known type, with literal strings (the binary reads
    /// them without evaluating the stack, as `stackc state` must work on a
    /// stack that does not check).
    fn backend_block(&mut self, block: &'a Block) {
        if !self.labels(block, 1, "the backend's type", &[]) {
            return;
        }
        let label = &block.labels[0];
        if let Some(first) = self.backend {
            self.duplicate("backend", &label.name, label.span, name_span(first));
            return;
        }
        self.backend = Some(block);
        if label.name != "s3" {
            self.error(
                Diagnostic::new(Code::UnknownBlock, label.span, format!("stackc has no `{}` backend.", label.name))
                    .with_label("unknown backend")
                    .with_help(
                        "the state is kept in the stack's `.stackc` directory without a `backend` block, or in S3 \
                         with `backend \"s3\" { bucket = \"...\", key = \"...\" }`",
                    ),
            );
            return;
        }
        self.unexpected_attributes(block, BACKEND_S3_ATTRIBUTES, "A `backend \"s3\"` block");
        for inner in &block.body.blocks {
            self.unexpected_block(inner, "a `backend` block", &[]);
        }
        for name in BACKEND_S3_REQUIRED {
            if block.body.attribute(name).is_none() {
                self.error(
                    Diagnostic::new(
                        Code::MissingRequired,
                        name_span(block),
                        format!("The `backend \"s3\"` block has no `{name}`."),
                    )
                    .with_label(format!("`{name}` missing"))
                    .with_help(match *name {
                        "bucket" => "name the S3 bucket that keeps the state: `bucket = \"my-states\"`",
                        _ => "name the state's key in the bucket (each target's state goes under it): `key = \"shop\"`",
                    }),
                );
            }
        }
        for attribute in &block.body.attributes {
            let literal = match &attribute.value.kind {
                crate::ast::ExprKind::Template(parts) => {
                    parts.iter().all(|part| matches!(part, crate::ast::TemplatePart::Literal(_)))
                }
                _ => false,
            };
            if !literal && BACKEND_S3_ATTRIBUTES.contains(&attribute.name.name.as_str()) {
                self.error(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        attribute.value.span,
                        format!("`{}` of a `backend` block must be a literal string.", attribute.name.name),
                    )
                    .with_label("not a literal string")
                    .with_help(
                        "the backend is read before anything is evaluated (and by `stackc state`, which does not \
                         compile the stack): write the value itself, or leave `region` and `endpoint` out to take \
                         them from AWS_REGION and AWS_ENDPOINT_URL",
                    ),
                );
            }
        }
    }

    fn unknown_target(&mut self, name: &str, span: Span) {
        let listed = KNOWN_TARGETS.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ");
        let help = match did_you_mean(name, KNOWN_TARGETS.iter().copied()) {
            Some(help) => help,
            None if name == "k8s" => "did you mean `kubernetes`?".to_string(),
            None => format!("the targets are {listed}"),
        };
        self.error(
            Diagnostic::new(
                Code::UnknownTarget,
                span,
                format!("`{name}` is not a target stackc supports; the targets are {listed}."),
            )
            .with_label("unknown target")
            .with_help(help),
        );
    }

    fn component_symbol(&mut self, block: &'a Block, origin: Origin) {
        let Some(label) = block.labels.first() else { return };
        let mut symbols = ComponentSymbols {
            name: &label.name,
            block,
            origin,
            params: FastMap::default(),
            outputs: FastMap::default(),
            on: FastMap::default(),
        };
        for inner in &block.body.blocks {
            let Some(name) = inner.labels.first() else { continue };
            match inner.kind.name.as_str() {
                "param" => {
                    symbols.params.entry(&name.name).or_insert(inner);
                }
                "output" => {
                    symbols.outputs.entry(&name.name).or_insert(inner);
                }
                "on" => {
                    symbols.on.entry(&name.name).or_insert(inner);
                }
                _ => {}
            }
        }
        for on in symbols.on.values() {
            for inner in on.body.blocks_of("output") {
                if let Some(name) = inner.labels.first() {
                    symbols.outputs.entry(&name.name).or_insert(inner);
                }
            }
        }
        self.resolved.symbols.components.insert(&label.name, symbols);
    }

    fn component_body(&mut self, block: &'a Block) {
        let context = "a `component` block";
        self.unexpected_attributes(block, COMPONENT_ATTRIBUTES, "A `component` block");
        let mut params: FastMap<&str, Span> = FastMap::default();
        let mut outputs: FastMap<&str, Span> = FastMap::default();
        let mut targets: FastMap<&str, Span> = FastMap::default();
        for inner in &block.body.blocks {
            match inner.kind.name.as_str() {
                "param" => {
                    if !self.labels(inner, 1, "the parameter's name", &[0]) {
                        continue;
                    }
                    self.unexpected_attributes(inner, PARAM_ATTRIBUTES, "A `param` block");
                    self.validation_blocks(inner, "a `param` block");
                    let label = &inner.labels[0];
                    match params.get(label.name.as_str()) {
                        Some(first) => self.duplicate("parameter", &label.name, label.span, *first),
                        None => {
                            params.insert(&label.name, label.span);
                        }
                    }
                }
                "output" => {
                    if !self.labels(inner, 1, "the output's name", &[0]) {
                        continue;
                    }
                    self.unexpected_attributes(inner, OUTPUT_ATTRIBUTES, "An `output` block");
                    for nested in &inner.body.blocks {
                        self.unexpected_block(nested, "an `output` block", &[]);
                    }
                    let label = &inner.labels[0];
                    match outputs.get(label.name.as_str()) {
                        Some(first) => self.duplicate("output", &label.name, label.span, *first),
                        None => {
                            outputs.insert(&label.name, label.span);
                        }
                    }
                }
                "on" => {
                    if !self.labels(inner, 1, "the target's name", &[]) {
                        continue;
                    }
                    let label = &inner.labels[0];
                    if !KNOWN_TARGETS.contains(&label.name.as_str()) {
                        self.unknown_target(&label.name, label.span);
                    }
                    match targets.get(label.name.as_str()) {
                        Some(first) => {
                            self.duplicate("`on` block for the target", &label.name, label.span, *first)
                        }
                        None => {
                            targets.insert(&label.name, label.span);
                        }
                    }
                    self.component_on_body(inner);
                }
                _ => self.unexpected_block(inner, context, &["param", "output", "on"]),
            }
        }
    }

    fn component_on_body(&mut self, on: &'a Block) {
        self.unexpected_attributes(on, &[], "An `on` block");
        let mut resources: FastMap<(&str, &str), Span> = FastMap::default();
        let mut instances: FastMap<(&str, &str), Span> = FastMap::default();
        let mut outputs: FastMap<&str, Span> = FastMap::default();
        for block in &on.body.blocks {
            let kind = block.kind.name.as_str();
            match kind {
                "resource" => {
                    if !self.labels(block, 2, "the resource type and a name", &[1]) {
                        continue;
                    }
                    let key = (block.labels[0].name.as_str(), block.labels[1].name.as_str());
                    match resources.get(&key) {
                        Some(first) => self.duplicate(
                            "resource",
                            &format!("{}.{}", key.0, key.1),
                            block.labels[1].span,
                            *first,
                        ),
                        None => {
                            resources.insert(key, block.labels[1].span);
                        }
                    }
                }
                "output" => {
                    if !self.labels(block, 1, "the output's name", &[0]) {
                        continue;
                    }
                    self.unexpected_attributes(block, OUTPUT_ATTRIBUTES, "An `output` block");
                    let label = &block.labels[0];
                    match outputs.get(label.name.as_str()) {
                        Some(first) => self.duplicate("output", &label.name, label.span, *first),
                        None => {
                            outputs.insert(&label.name, label.span);
                        }
                    }
                }
                _ if self.resolved.symbols.components.contains_key(kind) => {
                    if !self.labels(block, 1, "the instance's name", &[0]) {
                        continue;
                    }
                    self.instance_params(block);
                    let key = (kind, block.labels[0].name.as_str());
                    match instances.get(&key) {
                        Some(first) => self.duplicate(
                            "instance",
                            &format!("{kind}.{}", key.1),
                            block.labels[0].span,
                            *first,
                        ),
                        None => {
                            instances.insert(key, block.labels[0].span);
                        }
                    }
                }
                "variable" | "locals" | "target" | "component" | "on" | "param" => {
                    self.unexpected_block(block, "an `on` block of a component", &["resource", "output"]);
                }
                _ => {
                    let help = did_you_mean(kind, self.resolved.symbols.components.keys().copied())
                        .unwrap_or_else(|| format!("define it with `component \"{kind}\" {{ ... }}`"));
                    self.error(
                        Diagnostic::new(
                            Code::UnknownComponent,
                            block.kind.span,
                            format!("`{kind}` is not a component kind: no `component \"{kind}\"` exists in the stack or the stdlib."),
                        )
                        .with_label("unknown component")
                        .with_help(help),
                    );
                }
            }
        }
    }

    /// The attributes and blocks of an instance against its component's params.
    fn instance_params(&mut self, block: &'a Block) {
        let kind = block.kind.name.as_str();
        let Some(component) = self.resolved.symbols.components.get(kind) else { return };
        let required = self
            .required
            .entry(component.name)
            .or_insert_with(|| {
                let required =
                    component.params.iter().filter(|(_, param)| param.body.attribute("default").is_none());
                Rc::new(required.map(|(name, param)| (*name, *param)).collect())
            })
            .clone();
        let declared = name_span(component.block);
        let params = &component.params;
        let origin = component.origin;
        let component_name = component.name;
        let names = || params.keys().copied();
        let mut problems = Vec::new();
        // Sized for every param the block could set: one allocation.
        let settable = block.body.attributes.len() + block.body.blocks.len();
        let mut set: FastMap<&str, Span> = FastMap::with_capacity_and_hasher(settable, Default::default());
        for attribute in &block.body.attributes {
            let name = attribute.name.name.as_str();
            if params.contains_key(name) {
                set.entry(name).or_insert(attribute.name.span);
                continue;
            }
            problems.push(self.unknown_param(
                component_name,
                name,
                attribute.name.span,
                declared,
                names(),
                origin,
            ));
        }
        for inner in &block.body.blocks {
            let name = inner.kind.name.as_str();
            if name == crate::policy::BLOCK {
                // The instance's reconcile policy, not a param.
                problems.extend(crate::policy::check_block(inner));
                continue;
            }
            let Some(param) = params.get(name) else {
                problems.push(self.unknown_param(
                    component_name,
                    name,
                    inner.kind.span,
                    declared,
                    names(),
                    origin,
                ));
                continue;
            };
            if let Some(first) = set.get(name) {
                problems.push(
                    Diagnostic::new(
                        Code::DuplicateAttribute,
                        inner.kind.span,
                        format!("The parameter `{name}` is set twice: once more here as a block."),
                    )
                    .with_label("set again here")
                    .with_secondary(*first, "first set here")
                    .with_help("write it once, either as `name = { ... }` or as a block"),
                );
                continue;
            }
            set.insert(name, inner.kind.span);
            let ty =
                self.param_types.get(&(component_name, name)).cloned().unwrap_or_else(|| Arc::new(Type::Any));
            if !matches!(ty.base(), Type::Object(_) | Type::Any) {
                problems.push(
                    Diagnostic::new(
                        Code::UnexpectedBlock,
                        inner.kind.span,
                        format!(
                            "The parameter `{name}` has type `{ty}`, so it cannot be written as a block."
                        ),
                    )
                    .with_label("not an object parameter")
                    .with_secondary(name_span(param), "parameter declared here")
                    .with_help(format!("set it as an attribute: `{name} = ...`")),
                );
            }
            if !inner.labels.is_empty() {
                problems.push(
                    Diagnostic::new(
                        Code::WrongLabels,
                        inner.labels[0].span.to(inner.labels[inner.labels.len() - 1].span),
                        format!("A `{name}` block sets a parameter and takes no labels."),
                    )
                    .with_label("unexpected label")
                    .with_help(format!("write `{name} {{ ... }}`")),
                );
            }
        }
        for &(name, param) in required.iter() {
            if !set.contains_key(name) {
                problems.push(
                    Diagnostic::new(
                        Code::MissingRequired,
                        name_span(block),
                        format!(
                            "`{kind}.{}` does not set `{name}`, a parameter without a default.",
                            block.labels.first().map_or("", |l| l.name.as_str())
                        ),
                    )
                    .with_label(format!("`{name}` missing"))
                    .with_secondary(name_span(param), "required parameter declared here")
                    .with_help(format!("add `{name} = ...` to the block")),
                );
            }
        }
        if !problems.is_empty() {
            self.malformed(block);
        }
        self.diagnostics.extend(problems);
    }

    fn unknown_param<'n>(
        &self,
        component: &str,
        name: &str,
        span: Span,
        declared: Span,
        names: impl Iterator<Item = &'n str> + Clone,
        origin: Origin,
    ) -> Diagnostic {
        let listed = names.clone().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        let help = did_you_mean(name, names).unwrap_or_else(|| {
            if listed.is_empty() {
                format!("`{component}` takes no parameters")
            } else {
                format!("the parameters of `{component}` are {listed}")
            }
        });
        let where_ = match origin {
            Origin::Stdlib => "the stdlib's",
            Origin::User => "the stack's",
        };
        Diagnostic::new(
            Code::UnknownParameter,
            span,
            format!("Component `{component}` has no parameter `{name}`."),
        )
        .with_label("unknown parameter")
        .with_secondary(declared, format!("{where_} `{component}` declared here"))
        .with_help(help)
    }
}
