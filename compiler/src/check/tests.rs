//! The checker on small stacks, with the real parser and evaluator (the UI
//! tests run the binary end to end).

use super::check_stack;
use crate::ast::File;
use crate::diagnostic::Diagnostic;
use crate::eval::ExpressionEvaluator;
use crate::source::FileId;
use crate::syntax::parse_valid as parse;
use crate::value::Value;
use crate::CheckOptions;

fn run(text: &str, variables: &[(&str, Value)]) -> (Vec<Diagnostic>, crate::hir::Stack) {
    let stdlib: Vec<File> =
        crate::stdlib::files().iter().enumerate().map(|(i, (_, t))| parse(FileId(i as u32 + 1), t)).collect();
    let user = parse(FileId(0), text);
    let options = CheckOptions {
        variables: variables.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(),
        files: None,
    };
    let mut diagnostics = Vec::new();
    let stdlib_refs: Vec<&File> = stdlib.iter().collect();
    let result = check_stack(&stdlib_refs, &[&user], &options, &ExpressionEvaluator::new(), &mut diagnostics);
    crate::diagnostic::sort(&mut diagnostics);
    (diagnostics, result)
}

fn codes(text: &str) -> Vec<&'static str> {
    run(text, &[]).0.iter().map(|d| d.code.as_str()).collect()
}

#[test]
fn variables_get_defaults_and_given_values() {
    let text = "variable \"replicas\" {\n  type = number\n  default = 2\n}\nvariable \"tag\" {\n  type = string\n}\nservice \"api\" {\n  image = \"x:${var.tag}\"\n  replicas = var.replicas\n}\n";
    let (diagnostics, result) = run(text, &[("tag", Value::Number(3.0))]);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(result.variables["replicas"], Value::Number(2.0));
    assert_eq!(result.variables["tag"], Value::string("3"));
    let (diagnostics, result) = run(text, &[]);
    assert_eq!(diagnostics.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(), ["E0315"]);
    assert!(!result.variables.contains_key("tag"));
}

#[test]
fn given_values_must_fit_and_exist() {
    let text = "variable \"replicas\" {\n  type = number\n  default = 2\n}\noutput \"r\" {\n  value = var.replicas\n}\n";
    let (diagnostics, _) =
        run(text, &[("replicas", Value::string("three")), ("replica", Value::Number(1.0))]);
    let codes: Vec<_> = diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["E0316", "E0316"]);
    assert!(diagnostics.iter().any(|d| d.help.as_deref() == Some("did you mean `replicas`?")));
}

#[test]
fn defaults_and_type_expressions() {
    assert_eq!(
        codes(
            "variable \"r\" {\n  type = number\n  default = \"two\"\n}\noutput \"o\" {\n  value = var.r\n}\n"
        ),
        ["E0312"]
    );
    assert_eq!(codes("variable \"p\" {\n  type = list(integer)\n  default = []\n}\noutput \"o\" {\n  value = var.p\n}\n"), ["E0307"]);
    assert_eq!(codes("component \"w\" {\n  param \"q\" {\n    type = queu\n  }\n}\n"), ["E0205"]);
}

#[test]
fn instance_params_are_type_checked() {
    assert_eq!(codes("service \"api\" {\n  image = \"x\"\n  replicas = \"four\"\n}\n"), ["E0301"]);
    assert_eq!(codes("service \"api\" {\n  image = \"x\"\n  port = 70000\n}\n"), ["E0305"]);
    assert_eq!(codes("volume \"v\" {\n  size = \"20GB\"\n}\n"), ["E0303"]);
    assert_eq!(
        codes("service \"api\" {\n  image = \"x\"\n  health {\n    interval = \"30\"\n  }\n}\n"),
        ["E0304"]
    );
}

#[test]
fn reference_types() {
    let ok =
        "service \"api\" {\n  image = \"x\"\n  port = 80\n}\nload_balancer \"lb\" {\n  to = service.api\n}\n";
    assert_eq!(codes(ok), Vec::<&str>::new());
    let wrong = "database \"main\" {}\nload_balancer \"lb\" {\n  to = database.main\n}\n";
    assert_eq!(codes(wrong), ["E0306"]);
    let string = "load_balancer \"lb\" {\n  to = \"api\"\n}\n";
    assert_eq!(codes(string), ["E0306"]);
}

#[test]
fn param_validations_run_on_known_values() {
    let text = "service \"api\" {\n  image = \"x\"\n  autoscale {\n    min = 4\n    max = 2\n  }\n}\n";
    let (diagnostics, _) = run(text, &[]);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0].code.as_str(), "E0311");
    assert!(diagnostics[0].message.contains("autoscale needs 1 <= min <= max."));
}

#[test]
fn variable_validations_use_the_given_value() {
    let text = "variable \"n\" {\n  type = number\n  default = 4\n  validation {\n    condition = var.n >= 2\n    message = \"at least two\"\n  }\n}\noutput \"o\" {\n  value = var.n\n}\n";
    assert!(run(text, &[]).0.is_empty());
    let (diagnostics, _) = run(text, &[("n", Value::Number(1.0))]);
    assert_eq!(diagnostics.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(), ["E0311"]);
    assert_eq!(diagnostics[0].message, "Invalid value for `var.n`: at least two");
}

/// The stdlib's component bodies, checked as if a user had written them:
/// type inference finds nothing wrong in any expression.
#[test]
fn stdlib_bodies_are_well_typed() {
    let stdlib: Vec<File> =
        crate::stdlib::files().iter().enumerate().map(|(i, (_, t))| parse(FileId(i as u32 + 1), t)).collect();
    let as_user: Vec<&File> = stdlib.iter().collect();
    let mut diagnostics = Vec::new();
    let options = CheckOptions::default();
    check_stack(&[], &as_user, &options, &ExpressionEvaluator::new(), &mut diagnostics);
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).map(|d| (d.code, &d.message)).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn user_component_bodies_are_checked_by_type() {
    let text = r#"
component "worker" {
  param "size" { type = string }
  param "count" { type = number }
  on "kubernetes" {
    resource "kubernetes_manifest" "main" {
      manifest = {
        replicas = param.size * 2
        name     = param.count ? "a" : "b"
        labels   = { for k, v in param.size : k => v }
      }
    }
  }
}
worker "w" {
  size  = "big"
  count = 2
}
target "kubernetes" {}
"#;
    assert_eq!(codes(text), ["E0308", "E0314", "E0308"]);
}

#[test]
fn unknown_param_values_are_checked_by_type() {
    let text = r#"
service "db" {
  image = "x"
  port  = 5432
}
service "api" {
  image    = service.db.url
  replicas = 2
  command  = service.db.url
}
"#;
    let (diagnostics, _) = run(text, &[]);
    let codes: Vec<_> = diagnostics.iter().map(|d| d.code.as_str()).collect();
    // `image` takes a string: fine. `command` takes a list: a string is not one.
    assert_eq!(codes, ["E0301"], "{diagnostics:#?}");
    assert!(
        diagnostics[0].message.contains("`service.db.url` is of type `string`"),
        "{}",
        diagnostics[0].message
    );
}

/// `||` short-circuits: a validation guarding an optional param with it
/// does not fail on the null param, and still checks a given one.
#[test]
fn validations_may_guard_with_or() {
    let component = r#"
component "worker" {
  param "scale" {
    type = object({ min = number })
    default = null
    validation {
      condition = param.scale == null || param.scale.min >= 1
      message   = "scale.min must be at least 1."
    }
  }
  on "kubernetes" {}
}
target "kubernetes" {}
"#;
    assert_eq!(codes(&format!("{component}worker \"a\" {{}}\n")), Vec::<&str>::new());
    assert_eq!(codes(&format!("{component}worker \"b\" {{\n  scale = {{ min = 0 }}\n}}\n")), ["E0311"]);
    assert_eq!(
        codes(&format!("{component}worker \"c\" {{\n  scale = {{ min = 2 }}\n}}\n")),
        Vec::<&str>::new()
    );
}

/// Blocks resolve reports and does not declare (an unnamed output, a
/// `lifecycle` or `reconcile` block, a `locals` block in a component's
/// body) are still type-checked: one `E0308` each.
#[test]
fn odd_blocks_of_component_bodies_are_type_checked() {
    let text = "component \"worker\" {\n  param \"image\" {\n    type = string\n  }\n  output {\n    value = 1 + \"a\"\n  }\n  on \"kubernetes\" {\n    resource \"random_password\" \"p\" {\n      length = 8\n      lifecycle {\n        prevent_destroy = 1 + \"b\"\n      }\n    }\n    locals {\n      z = 1 + \"c\"\n    }\n    service \"main\" {\n      image = param.image\n      reconcile {\n        mode = 1 + \"d\"\n      }\n    }\n  }\n}\ntarget \"kubernetes\" {\n  namespace = \"shop\"\n}\nworker \"w\" {\n  image = \"abc\"\n}\n";
    assert_eq!(codes(text), ["E0105", "E0308", "E0308", "E0107", "E0308", "E0106", "E0308"]);
}

/// A duplicate declaration is checked once, as its first occurrence: the
/// second's expressions are not evaluated.
#[test]
fn duplicates_are_checked_as_their_first_declaration() {
    let text = "variable \"n\" {\n  type    = number\n  default = 1\n}\nvariable \"n\" {\n  default = 1 + \"a\"\n}\nlocals {\n  a = 1\n}\nlocals {\n  a = 1 + \"b\"\n}\nresource \"random_password\" \"p\" {\n  length = 8\n}\nresource \"random_password\" \"p\" {\n  length = 1 + \"c\"\n}\noutput \"o\" {\n  value = local.a\n}\noutput \"o\" {\n  value = 1 + \"d\"\n}\n";
    assert_eq!(codes(text), ["W0001", "E0202", "E0202", "E0202", "E0202"]);
}
