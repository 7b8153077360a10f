//! Resolution on small stacks.

use super::resolve;
use crate::ast::File;
use crate::diagnostic::Diagnostic;
use crate::source::FileId;
use crate::syntax::parse_valid as parse;

/// Resolves `text` (one user file) with the real stdlib; returns the codes found.
fn diagnostics(text: &str) -> Vec<Diagnostic> {
    let stdlib: Vec<File> =
        crate::stdlib::files().iter().enumerate().map(|(i, (_, t))| parse(FileId(i as u32 + 1), t)).collect();
    let user = parse(FileId(0), text);
    let mut diagnostics = Vec::new();
    let stdlib_refs: Vec<&File> = stdlib.iter().collect();
    resolve(&stdlib_refs, &[&user], &mut diagnostics);
    crate::diagnostic::sort(&mut diagnostics);
    diagnostics
}

fn codes(text: &str) -> Vec<&'static str> {
    diagnostics(text).iter().map(|d| d.code.as_str()).collect()
}

#[test]
fn the_stdlib_resolves_cleanly() {
    assert_eq!(codes("service \"api\" {\n  image = \"x\"\n}\n"), Vec::<&str>::new());
}

#[test]
fn unknown_block_kinds_suggest_the_closest() {
    let found = diagnostics("servce \"web\" {\n  image = \"x\"\n}\n");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].code.as_str(), "E0104");
    assert_eq!(found[0].help.as_deref(), Some("did you mean `service`?"));
}

#[test]
fn references_to_unknown_names() {
    let text = "variable \"replicas\" {\n  default = 2\n}\nservice \"api\" {\n  image = \"x\"\n  replicas = var.replica\n}\n";
    let found = diagnostics(text);
    assert_eq!(
        found.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(),
        ["E0201"],
        "the intended variable is not also reported unused"
    );
    assert_eq!(found[0].help.as_deref(), Some("did you mean `replicas`?"));
}

#[test]
fn unknown_outputs_and_params() {
    let text = "database \"main\" {}\nservice \"api\" {\n  image = \"x\"\n  replica = 2\n  env = { URL = database.main.uri }\n}\n";
    assert_eq!(codes(text), ["E0203", "E0206"]);
}

#[test]
fn missing_required_params_and_duplicates() {
    let text = "service \"api\" {}\nservice \"api\" {\n  image = \"x\"\n}\n";
    let found = diagnostics(text);
    assert_eq!(found.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(), ["E0302", "E0202"]);
    assert_eq!(found[1].secondary[0].message, "first declared here");
}

#[test]
fn cycles_are_reported_whole() {
    let text =
        "locals {\n  a = local.b\n  b = local.c\n  c = local.a\n}\noutput \"x\" {\n  value = local.a\n}\n";
    let found = diagnostics(text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].code.as_str(), "E0204");
    assert_eq!(found[0].secondary.len(), 2);
    assert!(
        found[0].message.contains("`local.a` -> `local.b` -> `local.c` -> `local.a`"),
        "{}",
        found[0].message
    );
}

/// Cycle detection follows dependency chains without recursion: a long
/// chain of locals, each naming the next, on a small stack (the recursive
/// search of strongly connected components overflowed it).
#[test]
fn long_dependency_chains_do_not_overflow_the_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let n = 20_000;
            let mut text = String::from("locals {\n");
            for i in 0..n {
                text.push_str(&format!("  l{i} = local.l{} + 1\n", i + 1));
            }
            text.push_str(&format!("  l{n} = local.l0\n}}\noutput \"x\" {{\n  value = local.l0\n}}\n"));
            let found = diagnostics(&text);
            assert_eq!(found.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(), ["E0204"]);
        })
        .expect("thread starts");
    handle.join().expect("no stack overflow");
}

#[test]
fn cycles_through_instances() {
    let text = "locals {\n  port = service.api.port + 0\n}\nservice \"api\" {\n  image = \"x\"\n  port = local.port\n}\n";
    assert_eq!(codes(text), ["E0204"]);
}

#[test]
fn param_only_inside_components() {
    assert_eq!(codes("service \"api\" {\n  image = param.image\n}\n"), ["E0208"]);
    let text = "component \"worker\" {\n  param \"image\" {\n    type = string\n  }\n  on \"kubernetes\" {\n    service \"main\" {\n      image = param.imag\n    }\n  }\n}\n";
    let found = diagnostics(text);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].code.as_str(), "E0201");
    assert_eq!(found[0].help.as_deref(), Some("did you mean `image`?"));
}

#[test]
fn labels_and_names() {
    assert_eq!(codes("service {\n  image = \"x\"\n}\nlocals \"v\" {\n}\n"), ["E0105", "E0105"]);
    assert_eq!(codes("service \"my api\" {\n  image = \"x\"\n}\n"), ["E0109"]);
}

#[test]
fn incomplete_references() {
    assert_eq!(
        codes(
            "service \"api\" {\n  image = \"x\"\n  port = 80\n}\nload_balancer \"lb\" {\n  to = service\n}\n"
        ),
        ["E0209"]
    );
}

#[test]
fn unused_locals_and_for_bound_names() {
    let text = "locals {\n  zones = [\"a\"]\n  upper = [for z in local.zones : upper(z)]\n}\n";
    assert_eq!(codes(text), ["W0002"]);
}

#[test]
fn blocks_in_the_wrong_place() {
    let text = "on \"aws\" {\n  on \"local\" {}\n  variable \"x\" {}\n}\n";
    assert_eq!(codes(text), ["E0107", "E0107"]);
    let text = "service \"api\" {\n  image = \"x\"\n  port { number = 80 }\n}\n";
    assert_eq!(codes(text), ["E0107"]);
    let text =
        "service \"api\" {\n  image = \"x\"\n  health = { path = \"/\" }\n  health { path = \"/h\" }\n}\n";
    assert_eq!(codes(text), ["E0108"]);
}

#[test]
fn component_bodies_see_their_own_names_only() {
    let text = "component \"worker\" {\n  param \"image\" {\n    type = string\n  }\n  on \"kubernetes\" {\n    servic \"main\" {\n      image = param.image\n    }\n    resource \"kubernetes_manifest\" \"m\" {\n      manifest = { name = self.nam, ns = target.namespace, v = var.x, n = kubernetes_manifest.m.id }\n    }\n  }\n}\n";
    let found = diagnostics(text);
    let codes: Vec<_> = found.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["E0205", "E0201", "E0201"], "{found:#?}");
    assert_eq!(found[0].help.as_deref(), Some("did you mean `service`?"));
    assert_eq!(found[1].help.as_deref(), Some("did you mean `name`?"));
}

#[test]
fn a_variable_validation_may_name_its_own_variable_but_not_loop_through_locals() {
    let ok = "variable \"n\" {\n  default = 2\n  validation {\n    condition = var.n > 1\n    message = \"m\"\n  }\n}\n";
    assert_eq!(codes(ok), Vec::<&str>::new());
    let looped = "variable \"n\" {\n  default = 2\n  validation {\n    condition = local.m > 1\n    message = \"m\"\n  }\n}\nlocals {\n  m = var.n\n}\n";
    assert_eq!(codes(looped), ["E0204"]);
}

/// Every function the stdlib bodies call is in the function registry, with
/// arguments it takes (types' `list(...)` etc. aside): resolve reports E0207
/// and E0309 from the registry.
#[test]
fn the_stdlib_calls_only_registered_functions() {
    for (path, text) in crate::stdlib::files() {
        let file = parse(FileId(0), text);
        let mut diagnostics = Vec::new();
        let resolved = resolve(&[&file], &[], &mut diagnostics);
        drop(resolved);
        let unknown: Vec<_> =
            diagnostics.iter().filter(|d| d.code.as_str() == "E0207" || d.code.as_str() == "E0309").collect();
        assert!(unknown.is_empty(), "{path}: {unknown:?}");
    }
}

/// Resolves `text` (one user file) with the real stdlib; returns the HIR
/// it lowered and what it reported.
fn lowered(text: &str) -> (crate::hir::Stack, Vec<Diagnostic>) {
    let stdlib: Vec<File> =
        crate::stdlib::files().iter().enumerate().map(|(i, (_, t))| parse(FileId(i as u32 + 1), t)).collect();
    let user = parse(FileId(0), text);
    let mut diagnostics = Vec::new();
    let stdlib_refs: Vec<&File> = stdlib.iter().collect();
    let stack = resolve(&stdlib_refs, &[&user], &mut diagnostics).stack;
    (stack, diagnostics)
}

/// Lowering chooses declarations as the symbols do (a user's component
/// replaces the stdlib's of the same name; a param or target declared twice
/// keeps its first declaration) and reads every declared type into the HIR.
#[test]
fn lowering_follows_the_symbols_and_reads_each_declared_type() {
    use crate::types::Type;
    let text = r#"
target "aws" {}
target "aws" {}
variable "tag" {
  type      = string
  sensitive = true
}
component "service" {
  param "size" {
    type = number
  }
  param "size" {
    type = string
  }
  output "url" {
    type  = string
    value = "x"
  }
}
output "answer" {
  type  = number
  value = var.tag
}
service "api" {
  size = 1
}
"#;
    let (stack, diagnostics) = lowered(text);
    let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert!(codes.contains(&"E0202"), "the duplicates are reported: {codes:?}");
    assert_eq!(stack.target_names().collect::<Vec<_>>(), ["aws"]);
    let service = &stack.components["service"];
    assert_eq!(service.span.file, FileId(0), "the user's component replaces the stdlib's");
    assert_eq!(service.params.len(), 1);
    assert_eq!(*service.params["size"].ty, Type::Number, "the first declaration");
    assert_eq!(service.output_types["url"], Type::String);
    assert_eq!(stack.variable_types["tag"], Type::Sensitive(Box::new(Type::String)));
    assert_eq!(stack.output_types["answer"], Type::Number);
    assert_eq!(stack.body.instances.len(), 1);
    assert!(stack.components.contains_key("database"), "the stdlib's other components are kept");
}

/// A type is read once: a param written as a block whose type is invalid
/// is reported once (by the reader), not again by the shape check that
/// asks whether the param is an object.
#[test]
fn an_invalid_param_type_is_reported_once() {
    let text = r#"
component "app" {
  param "health" {
    type = objct({ path = string })
  }
  on "aws" {}
}
app "a" {
  health {
    path = "/"
  }
}
"#;
    let (stack, diagnostics) = lowered(text);
    let invalid = diagnostics.iter().filter(|d| d.code.as_str() == "E0307").count();
    assert_eq!(invalid, 1, "{diagnostics:#?}");
    assert_eq!(*stack.components["app"].params["health"].ty, crate::types::Type::Any);
}

/// Every lowered expression's references are in the HIR, by expression
/// number, with their static steps and what each root names where the
/// expression is.
#[test]
fn lowering_keeps_every_expression_s_resolved_references() {
    use crate::hir::{Resolution, Step};
    let text = r#"
variable "n" {
  default = 2
}
locals {
  size = var.n
}
resource "stackc_data" "a" {
  count = local.size
  input = "${stackc_data.b.id}-${count.index}-${nowhere.x}"
}
resource "stackc_data" "b" {
  input = stackc_data.a[count.index].id
}
component "pair" {
  param "name" {}
  output "id" {
    value = stackc_data.one.id
  }
  on "aws" {
    resource "stackc_data" "one" {
      for_each = toset([param.name])
      input = "${self.name}-${each.key}-${target.region}-${var.n}"
    }
  }
}
pair "p" {
  name = service.api.url
}
service "api" {
  image = "x"
}
"#;
    let stdlib: Vec<File> =
        crate::stdlib::files().iter().enumerate().map(|(i, (_, t))| parse(FileId(i as u32 + 1), t)).collect();
    let user = parse(FileId(0), text);
    let stdlib_refs: Vec<&File> = stdlib.iter().collect();
    let resolved = resolve(&stdlib_refs, &[&user], &mut Vec::new());
    let stack = &resolved.stack;
    assert_eq!(stack.references.len(), stack.expressions);
    let of = |expr: &crate::hir::ExprDecl| {
        stack.references(expr).iter().map(|r| (r.root.clone(), r.resolution)).collect::<Vec<_>>()
    };
    let pair = |root: &str, resolution| (root.to_string(), resolution);
    assert_eq!(of(&stack.locals[0].2), [pair("var", Resolution::Variable)]);
    let [a, b] = &stack.body.resources[..] else { panic!("two resources") };
    assert_eq!(of(a.count.as_ref().unwrap()), [pair("local", Resolution::Local)]);
    assert_eq!(
        of(&a.attributes[0].value),
        [
            pair("stackc_data", Resolution::Resource),
            pair("count", Resolution::Count),
            pair("nowhere", Resolution::Unresolved)
        ]
    );
    // Outside a repeated resource, `count` names nothing.
    let refs = stack.references(&b.attributes[0].value);
    assert_eq!(
        refs[0].steps,
        [Step::Attr("a".into()), Step::Repetition("count".into(), "index".into()), Step::Attr("id".into())]
    );
    assert_eq!((refs[0].resolution, refs[1].resolution), (Resolution::Resource, Resolution::Unresolved));
    assert_eq!(of(&stack.body.instances[0].attributes[0].value), [pair("service", Resolution::Instance)]);
    let component = &stack.components["pair"];
    assert_eq!(of(component.outputs[0].value.as_ref().unwrap()), [pair("stackc_data", Resolution::Resource)]);
    let one = &component.on["aws"].1.resources[0];
    assert_eq!(of(one.for_each.as_ref().unwrap()), [pair("param", Resolution::Param)]);
    assert_eq!(
        of(&one.attributes[0].value),
        [
            pair("self", Resolution::SelfRef),
            pair("each", Resolution::Each),
            pair("target", Resolution::Target),
            pair("var", Resolution::Unresolved)
        ]
    );
}

/// A reference resolve reports is recorded as naming nothing, and one it
/// records as naming nothing it reported: the walk that reports is the one
/// that records. Every reference of every lowered expression (good and bad
/// ones, in each kind of place: the stack's locals, outputs, resources
/// with and without a repetition, instances; a component's params,
/// outputs and `on` blocks) is Unresolved exactly when a reference problem
/// (E0201, E0206, E0208, E0209) points inside it.
#[test]
fn a_reference_is_unresolved_exactly_when_resolve_reports_it() {
    use crate::hir::{ExprDecl, Resolution};
    let text = r#"
variable "n" {
  default = 2
}
locals {
  ok      = var.n
  typo    = var.m
  alone   = var
  scope   = param.x
  outside = count.index
  other   = local.ok
  nothing = nowhere.x
}
resource "stackc_data" "a" {
  count = local.ok
  input = "${count.index}-${count.key}-${each.key}-${stackc_data.b.id}-${stackc_data.c.id}"
}
resource "stackc_data" "b" {
  for_each = toset(["x"])
  input    = "${each.key}-${each.nope}-${each}-${stackc_data}"
}
database "main" {}
service "api" {
  image = "x"
  env = {
    A = database.main.uri
    B = database.main.nope
    C = database.other.uri
    D = service
    E = local.typo
  }
}
component "pair" {
  param "name" {
    default = self.name
  }
  param "other" {
    default = param.nope
  }
  output "id" {
    value = stackc_data.one.id
  }
  output "bad" {
    value = "${var.n}-${stackc_data.two.id}-${self.nam}-${self}-${target.region}-${target.nope}-${target}"
  }
  on "aws" {
    resource "stackc_data" "one" {
      for_each = toset([param.name, network.nope, network.vpc_id, each.key])
      input    = "${each.value}-${count.index}-${local.ok}-${service.x.uri}-${stackc_data.one.id}"
    }
    service "inner" {
      image = stackc_data.one.id
      port  = service.inner.nope
    }
  }
}
pair "p" {
  name = service.api.url
}
output "o" {
  value = "${pair.p.id}-${pair.q.id}-${pair.p.nope}-${self.name}-${network.main.vpc_id}"
}
"#;
    let (stack, diagnostics) = lowered(text);
    let problems: Vec<_> = diagnostics
        .iter()
        .filter(|d| matches!(d.code.as_str(), "E0201" | "E0206" | "E0208" | "E0209"))
        .map(|d| d.primary.span)
        .collect();
    let mut expressions: Vec<&ExprDecl> = Vec::new();
    expressions.extend(stack.locals.iter().map(|(_, _, value)| value));
    expressions.extend(stack.outputs.iter().filter_map(|o| o.value.as_ref()));
    let mut bodies = vec![&stack.body];
    let pair = &stack.components["pair"];
    expressions.extend(pair.params.values().filter_map(|p| p.default.as_ref()));
    expressions.extend(pair.outputs.iter().filter_map(|o| o.value.as_ref()));
    bodies.push(&pair.on["aws"].1);
    for body in bodies {
        for resource in &body.resources {
            expressions.extend([&resource.count, &resource.for_each].into_iter().flatten());
            expressions.extend(resource.attributes.iter().map(|a| &a.value));
        }
        for instance in &body.instances {
            expressions.extend(instance.attributes.iter().map(|a| &a.value));
        }
    }
    let references: Vec<_> = expressions.iter().flat_map(|e| stack.references(e)).collect();
    let within = |span: crate::source::Span, inside: crate::source::Span| {
        span.file == inside.file && inside.start <= span.start && span.end <= inside.end
    };
    // Each problem is about the innermost reference around it.
    let mut reported = vec![false; references.len()];
    for problem in &problems {
        let innermost = (0..references.len())
            .filter(|&i| within(*problem, references[i].span))
            .min_by_key(|&i| references[i].span.end - references[i].span.start);
        let Some(i) = innermost else { panic!("{problem:?} is about no lowered reference") };
        reported[i] = true;
    }
    let (mut unresolved, mut resolved) = (0, 0);
    for (reference, reported) in references.iter().zip(reported) {
        let is_unresolved = reference.resolution == Resolution::Unresolved;
        assert_eq!(is_unresolved, reported, "{reference:?}, problems: {diagnostics:#?}");
        if is_unresolved {
            unresolved += 1;
        } else {
            resolved += 1;
        }
    }
    // The stack has plenty of both.
    assert!(unresolved >= 20 && resolved >= 15, "{unresolved} unresolved, {resolved} resolved");
}

/// An expression the reporting walk skips (an instance of an unknown kind,
/// reported as such) is lowered with its references resolved by the same
/// rules, silently: nothing more is reported, and what it names is not
/// counted as used.
#[test]
fn references_the_reporting_walk_skips_are_resolved_silently() {
    use crate::hir::Resolution;
    let text = "variable \"x\" {\n  default = 1\n}\nservce \"web\" {\n  image = \"${var.x}-${var.y}\"\n}\n";
    let (stack, diagnostics) = lowered(text);
    let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["E0104", "W0001"], "{diagnostics:#?}");
    let web = &stack.body.instances[0];
    let resolutions: Vec<_> =
        stack.references(&web.attributes[0].value).iter().map(|r| r.resolution).collect();
    assert_eq!(resolutions, [Resolution::Variable, Resolution::Unresolved]);
}
