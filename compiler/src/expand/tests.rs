//! Expansion tests over small stacks (the stdlib's own expansion is tested
//! end to end in `tests/expand*.rs` of the binary).

use super::test_support::lower;
use super::test_support::parse;
use super::ExpandOptions;
use crate::eval::ExpressionEvaluator;

use crate::graph::{ResourceAddress, ResourceGraph};
use crate::schema::{AttributeMode, AttributeSchema, ResourceSchema, SchemaSet};
use crate::source::FileId;
use crate::types::Type;
use crate::value::Value;
use crate::Diagnostic;
use std::sync::Arc;

fn schemas() -> SchemaSet {
    let attribute = AttributeSchema::new;
    let mut set = SchemaSet::default();
    set.add(
        ResourceSchema::new("aws_vpc", Some("aws"))
            .attribute("cidr_block", attribute(Type::String, AttributeMode::Required))
            .attribute("id", attribute(Type::String, AttributeMode::Computed)),
    );
    set.add(
        ResourceSchema::new("aws_instance", Some("aws"))
            .attribute("ami", attribute(Type::String, AttributeMode::Required))
            .attribute("instance_type", attribute(Type::String, AttributeMode::Required))
            .attribute("subnet_id", attribute(Type::String, AttributeMode::OptionalComputed))
            .attribute("private_ip", attribute(Type::String, AttributeMode::Computed)),
    );
    set.add(
        ResourceSchema::new("stackc_data", None)
            .attribute("input", attribute(Type::Any, AttributeMode::Optional))
            .attribute("output", attribute(Type::Any, AttributeMode::Computed)),
    );
    set
}

fn expand(text: &str, target: Option<&str>) -> (Option<ResourceGraph>, Vec<Diagnostic>) {
    let file = parse(FileId(0), text);
    let stack = lower(&[], &file);
    let options = ExpandOptions {
        target,
        prior: None,
        evaluator: Arc::new(ExpressionEvaluator::new()),
        command_line_span: super::no_span(),
        target_defaults: Default::default(),
        autoscaled_replicas: Default::default(),
        rollouts: Default::default(),
    };
    super::expand(&stack, &schemas(), options)
}

fn address(text: &str) -> ResourceAddress {
    ResourceAddress(text.to_string())
}

fn codes(diagnostics: &[Diagnostic]) -> Vec<&'static str> {
    diagnostics.iter().map(|d| d.code.as_str()).collect()
}

const WEB: &str = r#"
target "aws" { region = "eu-west-3" }

component "web" {
  param "replicas" { default = 2 }
  param "image" {}
  output "url" {}
  on "aws" {
    resource "aws_vpc" "main" { cidr_block = "10.0.0.0/16" }
    resource "aws_instance" "node" {
      count         = param.replicas
      ami           = param.image
      instance_type = target.region == "eu-west-3" ? "t3.micro" : "t2.micro"
      subnet_id     = aws_vpc.main.id
    }
    output "url" { value = "http://${aws_instance.node[0].private_ip}" }
  }
}

web "api" { image = "ami-1" }

resource "stackc_data" "seed" { input = { url = web.api.url, name = web.api.name } }

output "url" { value = web.api.url }
"#;

#[test]
fn components_expand_into_addressed_resources_with_dependencies_and_provenance() {
    let (graph, diagnostics) = expand(WEB, None);
    assert_eq!(codes(&diagnostics), Vec::<&str>::new(), "{diagnostics:#?}");
    let graph = graph.unwrap();
    let addresses: Vec<&str> = graph.nodes().map(|n| n.address.as_str()).collect();
    assert_eq!(
        addresses,
        vec![
            "web.api/aws_vpc.main",
            "web.api/aws_instance.node[0]",
            "web.api/aws_instance.node[1]",
            "stackc_data.seed"
        ]
    );
    let node = graph.get(&address("web.api/aws_instance.node[1]")).unwrap();
    assert_eq!(node.target.as_deref(), Some("aws"));
    assert_eq!(node.dependencies, vec![address("web.api/aws_vpc.main")]);
    assert_eq!(node.values.get_path(&["ami"]), Some(&Value::string("ami-1")));
    assert_eq!(node.values.get_path(&["instance_type"]), Some(&Value::string("t3.micro")));
    assert_eq!(node.values.get_path(&["subnet_id"]), Some(&Value::Unknown));
    // Instance block, component, `on` block, resource block.
    assert_eq!(node.provenance.len(), 4);
    let edges: Vec<(String, String)> = graph
        .nodes()
        .flat_map(|n| n.dependencies.iter().map(|d| (n.address.to_string(), d.to_string())))
        .collect();
    assert_eq!(graph.graph.edge_count(), 3, "{edges:?}");

    // Apply resolves the unknown through the node's Deferred.
    let results = |a: &ResourceAddress| {
        (a.as_str() == "web.api/aws_vpc.main")
            .then(|| Value::Object([("id".to_string(), Value::string("vpc-1"))].into_iter().collect()))
    };
    let resolved = node.deferred.as_ref().unwrap().evaluate(&results).unwrap();
    assert_eq!(resolved.get_path(&["subnet_id"]), Some(&Value::string("vpc-1")));

    // The top-level resource depends, through the component output, on the instance.
    let seed = graph.get(&address("stackc_data.seed")).unwrap();
    assert_eq!(seed.dependencies, vec![address("web.api/aws_instance.node[0]")]);
    assert_eq!(seed.values.get_path(&["input", "name"]), Some(&Value::string("api")));
    assert_eq!(seed.values.get_path(&["input", "url"]), Some(&Value::Unknown));

    let output = &graph.outputs["url"];
    assert_eq!(output.value, Value::Unknown);
    let ip = |a: &ResourceAddress| {
        (a.as_str() == "web.api/aws_instance.node[0]").then(|| {
            Value::Object([("private_ip".to_string(), Value::string("10.0.0.7"))].into_iter().collect())
        })
    };
    assert_eq!(output.deferred.as_ref().unwrap().evaluate(&ip).unwrap(), Value::string("http://10.0.0.7"));
}

#[test]
fn for_each_keys_resources_by_string() {
    let (graph, diagnostics) = expand(
        r#"
        resource "stackc_data" "node" {
          for_each = { "1" = "a", "2" = "b" }
          input    = "${each.key}-${each.value}"
        }
        "#,
        None,
    );
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let graph = graph.unwrap();
    let node = graph.get(&address("stackc_data.node[\"2\"]")).unwrap();
    assert_eq!(node.values.get_path(&["input"]), Some(&Value::string("2-b")));
    assert!(node.deferred.is_none());
}

#[test]
fn a_component_without_a_body_for_the_target_is_unsupported_there() {
    let text = r#"
        target "kubernetes" {}
        component "vm" {
          param "image" {}
          on "aws" {
            resource "aws_instance" "main" {
              ami           = param.image
              instance_type = "t3.micro"
            }
          }
        }
        vm "bastion" { image = "ami-1" }
    "#;
    let (graph, diagnostics) = expand(text, Some("kubernetes"));
    assert_eq!(codes(&diagnostics), vec!["E0501"]);
    assert_eq!(diagnostics[0].message, "`vm` cannot be expressed on target `kubernetes`.");
    assert_eq!(diagnostics[0].help.as_deref(), Some("`vm` is available on `aws`"));
    // Reported at the instance's header, the component's header beside it.
    assert_eq!(&text[diagnostics[0].primary.span.range()], "vm \"bastion\"");
    assert_eq!(&text[diagnostics[0].secondary[0].span.range()], "component \"vm\"");
    assert!(graph.unwrap().is_empty());
}

#[test]
fn components_using_each_other_are_a_cycle() {
    let (_, diagnostics) = expand(
        r#"
        target "aws" {}
        component "a" {
          on "aws" {
            b "inner" {}
          }
        }
        component "b" {
          on "aws" {
            a "inner" {}
          }
        }
        a "top" {}
        "#,
        None,
    );
    assert_eq!(codes(&diagnostics), vec!["E0204"]);
    assert_eq!(diagnostics[0].message, "Component `a` uses itself: a -> b -> a.");
    assert_eq!(diagnostics[0].secondary.len(), 2);
}

#[test]
fn instances_without_a_target_are_one_diagnostic() {
    let text = r#"
        component "box" {
          on "aws" {}
        }
        box "one" {}
        box "two" {}
        resource "stackc_data" "fine" {}
    "#;
    let (graph, diagnostics) = expand(text, None);
    assert_eq!(codes(&diagnostics), vec!["E0506"]);
    assert_eq!(&text[diagnostics[0].primary.span.range()], "box \"one\"");
    let labels: Vec<&str> = diagnostics[0].secondary.iter().map(|l| &text[l.span.range()]).collect();
    assert_eq!(labels, vec!["box \"two\""]);
    assert_eq!(graph.unwrap().len(), 1, "target-independent resources still expand");
}

#[test]
fn problems_inside_a_component_point_at_the_instance_too() {
    let text = r#"
        target "aws" {}
        component "box" {
          on "aws" {
            resource "aws_instance" "main" {
              ami           = "ami-1"
              instance_type = "t3.micro"
              colour        = "blue"
            }
          }
        }
        box "one" {}
    "#;
    let (_, diagnostics) = expand(text, None);
    assert_eq!(codes(&diagnostics), vec!["E0504"]);
    let labels: Vec<(&str, &str)> =
        diagnostics[0].secondary.iter().map(|l| (&text[l.span.range()], l.message.as_str())).collect();
    assert_eq!(labels, vec![("box \"one\"", "expanded from `box \"one\"`")]);
}

#[test]
fn resources_referencing_each_other_are_a_cycle() {
    let (_, diagnostics) = expand(
        r#"
        resource "stackc_data" "a" { input = stackc_data.b.output }
        resource "stackc_data" "b" { input = stackc_data.a.output }
        "#,
        None,
    );
    assert_eq!(codes(&diagnostics), vec!["E0204"]);
    assert!(
        diagnostics[0].message.contains("stackc_data.a -> stackc_data.b -> stackc_data.a"),
        "{}",
        diagnostics[0].message
    );
}

#[test]
fn resource_bodies_are_checked_against_their_schema() {
    let (_, diagnostics) = expand(
        r#"
        target "aws" {}
        on "aws" {
          resource "aws_instance" "x" {
            ami           = "ami-1"
            instance_tipe = "t3.micro"
            private_ip    = "10.0.0.1"
          }
          resource "aws_instanse" "y" {}
        }
        resource "aws_vpc" "outside" { cidr_block = "10.0.0.0/16" }
        "#,
        None,
    );
    // `instance_type` is missing, but the misspelling says so already (no E0302).
    assert_eq!(codes(&diagnostics), vec!["E0504", "E0505", "E0503", "E0501"]);
    assert_eq!(diagnostics[0].help.as_deref(), Some("did you mean `instance_type`?"));
    assert_eq!(diagnostics[2].help.as_deref(), Some("did you mean `aws_instance`?"));
}

#[test]
fn target_selection() {
    let two = r#"
        target "aws" {}
        target "kubernetes" {}
    "#;
    let (graph, diagnostics) = expand(two, None);
    assert!(graph.is_none());
    assert_eq!(codes(&diagnostics), vec!["E0506"]);
    let (_, diagnostics) = expand(two, Some("kubernetis"));
    assert_eq!(codes(&diagnostics), vec!["E0502"]);
    assert_eq!(diagnostics[0].help.as_deref(), Some("did you mean `kubernetes`?"));
    let (graph, diagnostics) = expand(two, Some("kubernetes"));
    assert!(graph.is_some() && diagnostics.is_empty());
    // No target at all: only target-independent resources, no error.
    let (graph, diagnostics) = expand(r#"resource "stackc_data" "x" {}"#, None);
    assert_eq!((graph.unwrap().len(), diagnostics.len()), (1, 0));
}

#[test]
fn a_count_known_only_after_apply_is_an_error() {
    let (_, diagnostics) = expand(
        r#"
        resource "stackc_data" "a" {}
        resource "stackc_data" "b" {
          count = length(stackc_data.a.output)
        }
        "#,
        None,
    );
    assert_eq!(codes(&diagnostics), vec!["E0507"]);
}

#[test]
fn unset_target_attributes_read_as_null() {
    let (graph, diagnostics) = expand(
        r#"
        target "kubernetes" {}
        component "c" {
          on "kubernetes" {
            resource "stackc_data" "x" { input = { namespace = target.namespace, target = self.target } }
          }
        }
        c "one" {}
        "#,
        None,
    );
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let graph = graph.unwrap();
    let node = graph.get(&address("c.one/stackc_data.x")).unwrap();
    assert_eq!(node.values.get_path(&["input", "namespace"]), Some(&Value::Null));
    assert_eq!(node.values.get_path(&["input", "target"]), Some(&Value::string("kubernetes")));
}

/// The real evaluator, counting its evaluations.
#[derive(Debug, Default)]
struct Counting {
    inner: ExpressionEvaluator,
    calls: std::sync::atomic::AtomicUsize,
}

impl crate::eval::Evaluator for Counting {
    fn evaluate(&self, expr: &crate::ast::Expr, roots: &dyn crate::eval::Roots) -> Result<Value, Diagnostic> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.evaluate(expr, roots)
    }
}

#[test]
fn a_resource_configuration_is_evaluated_once_however_many_references_reach_it() {
    // A chain: each resource's input is the previous one's computed output,
    // so every configuration but the first is deferred. Referring to a
    // resource takes its planned configuration; evaluating that again, with
    // its whole ancestry, made expansion quadratic in the chain's length.
    const N: usize = 40;
    let mut text = String::from("resource \"stackc_data\" \"n0\" { input = \"root\" }\n");
    for i in 1..N {
        text.push_str(&format!(
            "resource \"stackc_data\" \"n{i}\" {{ input = {{ parent = stackc_data.n{}.output, again = stackc_data.n{}.input }} }}\n",
            i - 1,
            i - 1
        ));
    }
    let file = parse(FileId(0), &text);
    let stack = lower(&[], &file);
    let counting = Arc::new(Counting::default());
    let options = ExpandOptions {
        target: None,
        prior: None,
        evaluator: counting.clone(),
        command_line_span: super::no_span(),
        target_defaults: Default::default(),
        autoscaled_replicas: Default::default(),
        rollouts: Default::default(),
    };
    let (graph, diagnostics) = super::expand(&stack, &schemas(), options);
    assert_eq!(codes(&diagnostics), Vec::<&str>::new(), "{diagnostics:#?}");
    let graph = graph.unwrap();
    assert_eq!(counting.calls.load(std::sync::atomic::Ordering::Relaxed), N);
    // The references still see what they refer to: the known part of the
    // parent's configuration, and its computed output as unknown.
    let last = graph.get(&address(&format!("stackc_data.n{}", N - 1))).unwrap();
    assert_eq!(last.values.get_path(&["input", "parent"]), Some(&Value::Unknown));
    let first = graph.get(&address("stackc_data.n1")).unwrap();
    assert_eq!(first.values.get_path(&["input", "again"]), Some(&Value::string("root")));
}

/// Every deferred configuration and output of `graph`, evaluated again with
/// no results, is the value expansion planned.
fn assert_planned_values_are_the_deferred_ones(graph: &ResourceGraph) {
    let nothing = |_: &ResourceAddress| None;
    let mut deferred = 0;
    for node in graph.nodes() {
        if let Some(config) = &node.deferred {
            deferred += 1;
            assert_eq!(config.evaluate(&nothing).unwrap(), node.values, "{}", node.address);
        }
    }
    for (name, output) in &graph.outputs {
        if let Some(config) = &output.deferred {
            assert_eq!(config.evaluate(&nothing).unwrap(), output.value, "output {name}");
        }
    }
    assert!(deferred > 0, "the graph has deferred configurations");
}

#[test]
fn planned_values_are_the_deferred_configurations_evaluated_without_results() {
    // Expansion takes a referred resource's planned configuration rather
    // than evaluating it again: the two must agree, through params,
    // component outputs, counts and the stdlib's bodies.
    let (graph, diagnostics) = expand(WEB, None);
    assert_eq!(codes(&diagnostics), Vec::<&str>::new(), "{diagnostics:#?}");
    assert_planned_values_are_the_deferred_ones(&graph.unwrap());

    let stdlib_schemas = super::stdlib_tests::schemas();
    let (graph, diagnostics) = super::test_support::expand_with_stdlib(
        &super::test_support::shop_for("kubernetes"),
        &stdlib_schemas,
        None,
    );
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_planned_values_are_the_deferred_ones(&graph.unwrap());
}

#[test]
fn a_replaced_dependency_is_unknown_through_a_chain_of_references() {
    // stackc_data.seed reads web.api.url, a component output made from
    // aws_instance.node[0]'s computed private_ip. Planned with that
    // instance replaced (its private_ip unknown), the seed's url is
    // unknown; planned with it kept, the seed sees its real address.
    let (graph, diagnostics) = expand(WEB, None);
    assert_eq!(codes(&diagnostics), Vec::<&str>::new(), "{diagnostics:#?}");
    let graph = graph.unwrap();
    let seed = graph.get(&address("stackc_data.seed")).unwrap().deferred.clone().unwrap();
    let planned = |ip: Value| {
        move |a: &ResourceAddress| {
            (a.as_str() == "web.api/aws_instance.node[0]")
                .then(|| Value::Object([("private_ip".to_string(), ip.clone())].into_iter().collect()))
        }
    };
    let replaced = seed.evaluate(&planned(Value::Unknown)).unwrap();
    assert_eq!(replaced.get_path(&["input", "url"]), Some(&Value::Unknown));
    assert_eq!(replaced.get_path(&["input", "name"]), Some(&Value::string("api")));
    let kept = seed.evaluate(&planned(Value::string("10.0.0.7"))).unwrap();
    assert_eq!(kept.get_path(&["input", "url"]), Some(&Value::string("http://10.0.0.7")));
}

/// Lowering numbers every expression and every body once, from 0 up to the
/// stack's counts: expansion's per-expression and per-body tables (scanned
/// references, item orders) are indexed by these numbers, so two that
/// shared one would mix up their facts.
#[test]
fn lowering_numbers_each_expression_and_body_once() {
    use crate::hir::{AttributeDecl, BlockDecl, BodyDecl, ExprDecl, OutputDecl, ValidationDecl};
    fn validations<'a>(validations: &'a [ValidationDecl], out: &mut Vec<&'a ExprDecl>) {
        out.extend(validations.iter().flat_map(|v| [&v.condition, &v.message]).flatten());
    }
    fn attributes<'a>(attributes: &'a [AttributeDecl], out: &mut Vec<&'a ExprDecl>) {
        out.extend(attributes.iter().map(|a| &a.value));
    }
    fn blocks<'a>(written: &'a [BlockDecl], out: &mut Vec<&'a ExprDecl>) {
        for block in written {
            attributes(&block.attributes, out);
            blocks(&block.blocks, out);
        }
    }
    fn outputs<'a>(outputs: &'a [OutputDecl], out: &mut Vec<&'a ExprDecl>) {
        out.extend(outputs.iter().filter_map(|o| o.value.as_ref()));
    }
    fn body<'a>(body: &'a BodyDecl, out: &mut Vec<&'a ExprDecl>) {
        for r in &body.resources {
            out.extend([&r.count, &r.for_each, &r.depends_on].into_iter().flatten());
            attributes(&r.attributes, out);
            blocks(&r.blocks, out);
            attributes(&r.meta_attributes, out);
            blocks(&r.meta_blocks, out);
        }
        for i in &body.instances {
            attributes(&i.attributes, out);
            blocks(&i.blocks, out);
            blocks(&i.policy_blocks, out);
        }
        outputs(&body.outputs, out);
        blocks(&body.other_blocks, out);
    }
    let stdlib: Vec<crate::ast::File> = crate::stdlib::files()
        .iter()
        .enumerate()
        .map(|(i, (_, text))| parse(FileId(i as u32 + 1), text))
        .collect();
    let user = parse(FileId(0), &super::test_support::shop_for("aws"));
    let stack = lower(&stdlib, &user);
    let mut exprs = Vec::new();
    let mut bodies = vec![stack.body.id];
    body(&stack.body, &mut exprs);
    outputs(&stack.outputs, &mut exprs);
    exprs.extend(stack.locals.iter().map(|(_, _, e)| e));
    for variable in stack.variable_decls.values() {
        exprs.extend(&variable.default);
        validations(&variable.validations, &mut exprs);
    }
    for target in &stack.targets {
        attributes(&target.attributes, &mut exprs);
    }
    for component in stack.components.values() {
        exprs.extend(component.params.values().filter_map(|p| p.default.as_ref()));
        for param in component.params.values() {
            validations(&param.validations, &mut exprs);
        }
        outputs(&component.outputs, &mut exprs);
        outputs(&component.unnamed_outputs, &mut exprs);
        for (_, on) in component.on.values() {
            bodies.push(on.id);
            body(on, &mut exprs);
        }
    }
    let mut ids: Vec<usize> = exprs.iter().map(|e| e.id).collect();
    ids.sort_unstable();
    assert!(ids.len() > 100, "the shop with the stdlib has many expressions");
    assert_eq!(ids, (0..stack.expressions).collect::<Vec<_>>(), "each expression numbered once");
    bodies.sort_unstable();
    assert_eq!(bodies, (0..stack.bodies).collect::<Vec<_>>(), "each body numbered once");
}
