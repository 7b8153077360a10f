//! Lowering (every span checked as a slice of the source), syntax errors,
//! duplicate attributes and nesting bounds.

use super::*;
use crate::ast::{Expr, ExprKind, SplatStep, TemplatePart};

const FILE: FileId = FileId(0);

fn parse_ok(text: &str) -> ast::File {
    let (file, diagnostics) = parse(FILE, text);
    assert!(diagnostics.is_empty(), "unexpected diagnostics for {text:?}: {diagnostics:#?}");
    file
}

fn slice(text: &str, span: Span) -> &str {
    &text[span.range()]
}

/// The value of attribute `x` in `x = <expr>`.
fn expr_of(text: &str) -> Expr {
    parse_ok(text).body.attributes.into_iter().next().expect("one attribute").value
}

fn single_error(text: &str) -> Diagnostic {
    let (file, diagnostics) = parse(FILE, text);
    assert_eq!(diagnostics.len(), 1, "expected one diagnostic for {text:?}: {diagnostics:#?}");
    assert!(
        file.body.attributes.is_empty() && file.body.blocks.is_empty()
            || diagnostics[0].code != Code::SyntaxError
    );
    diagnostics.into_iter().next().expect("one diagnostic")
}

#[test]
fn blocks_attributes_and_labels_have_exact_spans() {
    let text = "# header\nservice \"api\" other {\n  replicas = 4 # four\n  health { path = \"/h\" }\n}\n";
    let file = parse_ok(text);
    let block = &file.body.blocks[0];
    assert_eq!(slice(text, block.kind.span), "service");
    assert_eq!(
        block.labels.iter().map(|l| (l.name.as_str(), slice(text, l.span))).collect::<Vec<_>>(),
        [("api", "api"), ("other", "other")]
    );
    assert_eq!(
        slice(text, block.span),
        "service \"api\" other {\n  replicas = 4 # four\n  health { path = \"/h\" }\n}"
    );
    let replicas = block.body.attribute("replicas").expect("replicas");
    assert_eq!(slice(text, replicas.span), "replicas = 4");
    assert_eq!(slice(text, replicas.name.span), "replicas");
    assert_eq!(slice(text, replicas.value.span), "4");
    let health = block.body.blocks_of("health").next().expect("health");
    assert_eq!(slice(text, health.span), "health { path = \"/h\" }");
    let path = health.body.attribute("path").expect("path");
    assert_eq!(slice(text, path.value.span), "\"/h\"");
    assert!(
        matches!(&path.value.kind, ExprKind::Template(parts) if matches!(parts.as_slice(), [TemplatePart::Literal(l)] if l == "/h"))
    );
}

#[test]
fn literals() {
    assert!(matches!(expr_of("x = null").kind, ExprKind::Null));
    assert!(matches!(expr_of("x = true").kind, ExprKind::Bool(true)));
    assert!(matches!(expr_of("x = 1.5e3").kind, ExprKind::Number(n) if n == 1500.0));
    let text = "x = \"a\\nb\\\"c $${d}\"";
    let expr = expr_of(text);
    match &expr.kind {
        ExprKind::Template(parts) => {
            assert!(
                matches!(parts.as_slice(), [TemplatePart::Literal(l)] if l == "a\nb\"c ${d}"),
                "{parts:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(slice(text, expr.span), "\"a\\nb\\\"c $${d}\"");
}

#[test]
fn traversals_have_one_node_per_step_spanning_from_the_start() {
    let text = "x = service.api.ports[0].number.1";
    let expr = expr_of(text);
    assert_eq!(slice(text, expr.span), "service.api.ports[0].number.1");
    let ExprKind::Index(inner, index) = &expr.kind else { panic!("{expr:?}") };
    assert!(matches!(index.kind, ExprKind::Number(n) if n == 1.0));
    assert_eq!(slice(text, index.span), "1");
    assert_eq!(slice(text, inner.span), "service.api.ports[0].number");
    let ExprKind::GetAttr(inner, number) = &inner.kind else { panic!() };
    assert_eq!(slice(text, number.span), "number");
    assert_eq!(slice(text, inner.span), "service.api.ports[0]");
    let ExprKind::Index(ports, zero) = &inner.kind else { panic!() };
    assert_eq!(slice(text, zero.span), "0");
    assert_eq!(slice(text, ports.span), "service.api.ports");
    let path = ports.as_path().expect("a path");
    assert_eq!(path.iter().map(|i| slice(text, i.span)).collect::<Vec<_>>(), ["service", "api", "ports"]);
}

#[test]
fn full_splat_takes_every_following_step() {
    let text = "x = var.list[*].a[0].b";
    let expr = expr_of(text);
    assert_eq!(slice(text, expr.span), "var.list[*].a[0].b");
    let ExprKind::Splat(base, steps) = &expr.kind else { panic!("{expr:?}") };
    assert_eq!(slice(text, base.span), "var.list");
    match steps.as_slice() {
        [SplatStep::Attr(a), SplatStep::Index(i), SplatStep::Attr(b)] => {
            assert_eq!((slice(text, a.span), slice(text, i.span), slice(text, b.span)), ("a", "0", "b"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn attribute_splat_takes_only_attributes_and_an_index_applies_to_its_result() {
    let text = "x = var.list.*.a.b[1]";
    let expr = expr_of(text);
    let ExprKind::Index(splat, one) = &expr.kind else { panic!("{expr:?}") };
    assert_eq!(slice(text, one.span), "1");
    assert_eq!(slice(text, splat.span), "var.list.*.a.b");
    let ExprKind::Splat(base, steps) = &splat.kind else { panic!() };
    assert_eq!(slice(text, base.span), "var.list");
    assert!(
        matches!(steps.as_slice(), [SplatStep::Attr(a), SplatStep::Attr(b)] if a.name == "a" && b.name == "b")
    );
    // A legacy `.0` index is attribute-like: the attribute splat takes it.
    let text = "x = var.list.*.a.0";
    let ExprKind::Splat(_, steps) = expr_of(text).kind else { panic!() };
    assert!(
        matches!(steps.as_slice(), [SplatStep::Attr(_), SplatStep::Index(i)] if slice(text, i.span) == "0")
    );
    // A splat with no steps after it.
    let expr = expr_of("x = var.list[*]");
    assert!(matches!(&expr.kind, ExprKind::Splat(_, steps) if steps.is_empty()));
}

#[test]
fn calls_with_expansion() {
    let text = "x = concat(a, [1], b...)";
    let expr = expr_of(text);
    let ExprKind::Call(name, args, expand) = &expr.kind else { panic!() };
    assert_eq!(slice(text, name.span), "concat");
    assert!(*expand);
    assert_eq!(args.iter().map(|a| slice(text, a.span)).collect::<Vec<_>>(), ["a", "[1]", "b"]);
    let ExprKind::Call(_, args, expand) = expr_of("x = f()").kind else { panic!() };
    assert!(args.is_empty() && !expand);
}

#[test]
fn operators_follow_precedence_and_parentheses() {
    let text = "x = !a || -b * (c + d) >= 3 ? \"y\" : \"n\"";
    let expr = expr_of(text);
    let ExprKind::Conditional(condition, then, otherwise) = &expr.kind else { panic!("{expr:?}") };
    assert_eq!((slice(text, then.span), slice(text, otherwise.span)), ("\"y\"", "\"n\""));
    let ExprKind::Binary(ast::BinaryOp::Or, not_a, comparison) = &condition.kind else {
        panic!("{condition:?}")
    };
    assert!(matches!(&not_a.kind, ExprKind::Unary(ast::UnaryOp::Not, _)));
    assert_eq!(slice(text, not_a.span), "!a");
    assert_eq!(slice(text, comparison.span), "-b * (c + d) >= 3");
    let ExprKind::Binary(ast::BinaryOp::GtEq, product, _) = &comparison.kind else { panic!() };
    let ExprKind::Binary(ast::BinaryOp::Mul, neg_b, paren) = &product.kind else { panic!("{product:?}") };
    assert!(matches!(&neg_b.kind, ExprKind::Unary(ast::UnaryOp::Neg, _)));
    assert_eq!(slice(text, paren.span), "(c + d)");
    assert!(
        matches!(&paren.kind, ExprKind::Paren(inner) if matches!(inner.kind, ExprKind::Binary(ast::BinaryOp::Add, _, _)))
    );
}

#[test]
fn lists_and_objects() {
    let text = "x = { name = \"a\", \"quoted\" = 1, (var.k) = 2, nested = [1, 2] }";
    let expr = expr_of(text);
    let ExprKind::Object(fields) = &expr.kind else { panic!() };
    let keys: Vec<&str> = fields.iter().map(|(k, _)| slice(text, k.span)).collect();
    assert_eq!(keys, ["name", "\"quoted\"", "(var.k)", "nested"]);
    assert!(
        matches!(&fields[0].0.kind, ExprKind::Template(p) if matches!(p.as_slice(), [TemplatePart::Literal(l)] if l == "name"))
    );
    assert!(matches!(&fields[2].0.kind, ExprKind::Paren(_)));
    assert!(matches!(&fields[3].1.kind, ExprKind::List(items) if items.len() == 2));
    assert_eq!(slice(text, fields[3].1.span), "[1, 2]");
}

#[test]
fn for_expressions() {
    let text = "x = {for k, v in var.m : upper(k) => v... if v != null}";
    let expr = expr_of(text);
    let ExprKind::For(f) = &expr.kind else { panic!() };
    assert_eq!(slice(text, f.key_var.as_ref().expect("key var").span), "k");
    assert_eq!(slice(text, f.value_var.span), "v");
    assert_eq!(slice(text, f.collection.span), "var.m");
    assert_eq!(slice(text, f.key.as_ref().expect("key").span), "upper(k)");
    assert_eq!(slice(text, f.value.span), "v");
    assert!(f.grouping);
    assert_eq!(slice(text, f.condition.as_ref().expect("condition").span), "v != null");
    let text = "x = [for s in var.l : s]";
    let ExprKind::For(f) = expr_of(text).kind else { panic!() };
    assert!(f.key_var.is_none() && f.key.is_none() && f.condition.is_none() && !f.grouping);
}

fn parts_of(text: &str) -> Vec<TemplatePart> {
    match expr_of(text).kind {
        ExprKind::Template(parts) => parts,
        other => panic!("{other:?}"),
    }
}

#[test]
fn templates_with_interpolations_and_directives() {
    let text = "x = \"a ${var.b} %{if c}yes%{else}no%{endif} %{for k, v in m}${k}=${v},%{endfor}\"";
    let parts = parts_of(text);
    match parts.as_slice() {
        [TemplatePart::Literal(a), TemplatePart::Interpolation(b), TemplatePart::Literal(space), TemplatePart::If(c, then, otherwise), TemplatePart::Literal(_), TemplatePart::For(Some(k), v, m, body)] =>
        {
            assert_eq!(a, "a ");
            assert_eq!(slice(text, b.span), "var.b");
            assert_eq!(space, " ");
            assert_eq!(slice(text, c.span), "c");
            assert!(matches!(then.as_slice(), [TemplatePart::Literal(l)] if l == "yes"));
            assert!(matches!(otherwise.as_slice(), [TemplatePart::Literal(l)] if l == "no"));
            assert_eq!((slice(text, k.span), slice(text, v.span), slice(text, m.span)), ("k", "v", "m"));
            assert_eq!(body.len(), 4);
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn template_literals_are_unescaped() {
    let parts = parts_of("x = \"a\\n\\t\\\"${b}$${c}%%{d}\\u00e9\"");
    match parts.as_slice() {
        [TemplatePart::Literal(a), TemplatePart::Interpolation(_), TemplatePart::Literal(rest)] => {
            assert_eq!(a, "a\n\t\"");
            assert_eq!(rest, "${c}%{d}é");
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn strip_markers_trim_the_adjacent_whitespace() {
    let parts = parts_of("x = \"a  ${~ b ~}  c\"");
    assert!(
        matches!(parts.as_slice(), [TemplatePart::Literal(a), TemplatePart::Interpolation(_), TemplatePart::Literal(c)] if a == "a" && c == "c"),
        "{parts:?}"
    );
    let text = "x = <<EOT\nitems:\n%{~ for i in l ~}\n  - ${i}\n%{~ endfor ~}\n\ndone\nEOT\n";
    let parts = parts_of(text);
    match parts.as_slice() {
        [TemplatePart::Literal(head), TemplatePart::For(None, i, _, body), TemplatePart::Literal(tail)] => {
            assert_eq!(head, "items:");
            assert_eq!(i.name, "i");
            assert!(
                matches!(body.as_slice(), [TemplatePart::Literal(dash), TemplatePart::Interpolation(_)] if dash == "- "),
                "{body:?}"
            );
            assert_eq!(tail, "done\n");
        }
        other => panic!("{other:#?}"),
    }
    let parts = parts_of("x = \"%{ if a ~} yes %{~ else ~} no %{~ endif }\"");
    assert!(
        matches!(parts.as_slice(), [TemplatePart::If(_, t, e)] if matches!((t.as_slice(), e.as_slice()), ([TemplatePart::Literal(y)], [TemplatePart::Literal(n)]) if y == "yes" && n == "no")),
        "{parts:?}"
    );
}

#[test]
fn indented_heredocs_are_dedented() {
    let text = "x = <<-EOT\n    hello\n      ${name}\n    EOT\n";
    let expr = expr_of(text);
    assert_eq!(slice(text, expr.span), "<<-EOT\n    hello\n      ${name}\n    EOT");
    let ExprKind::Template(parts) = expr.kind else { panic!() };
    assert!(
        matches!(parts.as_slice(), [TemplatePart::Literal(a), TemplatePart::Interpolation(_), TemplatePart::Literal(b)] if a == "hello\n  " && b == "\n"),
        "{parts:?}"
    );
}

// ---- Syntax errors ----

fn assert_error(text: &str, code: Code, at: &str, message_contains: &str) -> Diagnostic {
    let diagnostic = single_error(text);
    assert_eq!(diagnostic.code, code, "{diagnostic:#?}");
    assert_eq!(slice(text, diagnostic.primary.span), at, "{diagnostic:#?}");
    assert!(
        diagnostic.message.contains(message_contains),
        "{:?} lacks {message_contains:?}",
        diagnostic.message
    );
    diagnostic
}

#[test]
fn missing_equals_names_the_attribute() {
    let text = "service \"api\" {\n  replicas 4\n}\n";
    assert_error(text, Code::SyntaxError, "4", "Expected `=` or a block body after `replicas`, found `4`.");
}

#[test]
fn missing_value_points_at_the_end_of_the_line() {
    let text = "service \"api\" {\n  replicas =\n}\n";
    let d = assert_error(text, Code::SyntaxError, "\n", "Expected an expression, found end of line.");
    assert_eq!(d.primary.span.start as usize, text.find("=\n").expect("=") + 1);
}

#[test]
fn unclosed_brace_points_back_at_the_opening_brace() {
    let text = "service \"api\" {\n  replicas = 4\n";
    let d = assert_error(text, Code::SyntaxError, "", "Unexpected end of file: a `{` is never closed.");
    assert_eq!(d.primary.span.start as usize, text.len());
    assert_eq!(d.secondary.len(), 1);
    assert_eq!(slice(text, d.secondary[0].span), "{");
    assert_eq!(d.secondary[0].span.start as usize, text.find('{').expect("{"));
    assert_eq!(d.help.as_deref(), Some("add the missing `}`"));
}

#[test]
fn unclosed_list_before_the_next_attribute() {
    let text = "a = [1, 2\nb = 3\n";
    let d = assert_error(text, Code::SyntaxError, "b", "Expected `]`, found `b`.");
    assert_eq!(slice(text, d.secondary[0].span), "[");
}

#[test]
fn unclosed_call_and_interpolation() {
    let text = "a = f(1,\n";
    let d = assert_error(text, Code::SyntaxError, "", "end of file");
    assert_eq!(slice(text, d.secondary[0].span), "(");
    let text = "a = \"${x\"\n";
    let d = assert_error(text, Code::SyntaxError, "\"", "Expected `}`");
    assert_eq!(slice(text, d.secondary[0].span), "${");
}

#[test]
fn unterminated_string_points_at_the_string_not_the_file_start() {
    let text = "a = 1\nb = \"abc\nc = 2\n";
    let d = assert_error(text, Code::SyntaxError, "\"abc", "not closed before the end of its line");
    assert!(d.help.is_some());
}

#[test]
fn unterminated_heredoc() {
    let text = "a = <<EOT\nhello\n";
    let d = single_error(text);
    assert_eq!(d.code, Code::SyntaxError);
    assert_eq!(slice(text, d.primary.span), "<<EOT", "{d:#?}");
    assert_eq!(d.help.as_deref(), Some("end the heredoc with a line holding only `EOT`"));
}

#[test]
fn stray_tokens() {
    assert_error("= 3\n", Code::SyntaxError, "=", "Unexpected `=`");
    assert_error("a = {x = 1,, y = 2}\n", Code::SyntaxError, ",", "found `,`");
    assert_error("a = 1 +\n", Code::SyntaxError, "\n", "Expected an expression");
    assert_error("a = 1\n}\n", Code::SyntaxError, "}", "`}`");
    assert_error("a = [1 2]\n", Code::SyntaxError, "2", "found `2`");
    assert_error("block \"x\" {\n  a = 1 b = 2\n}\n", Code::SyntaxError, "b", "found `b`");
}

#[test]
fn a_multibyte_character_before_the_offending_token_is_handled() {
    // Found by the fuzzer: the word before the error (here the end of a
    // comment) follows a multibyte character.
    for text in ["x = 1 # —b\ny", "x = 1 // ¬b\n}", "x = 1 /* é */\n+"] {
        let d = single_error(text);
        assert!(text.get(d.primary.span.range()).is_some(), "{d:#?}");
    }
}

#[test]
fn errors_in_multibyte_text_have_valid_spans() {
    let text = "a = \"é\" é\n";
    let d = single_error(text);
    assert!(text.get(d.primary.span.range()).is_some(), "{d:#?}");
}

#[test]
fn duplicate_attributes_point_at_both() {
    let text = "service \"api\" {\n  replicas = 1\n  image = \"x\"\n  replicas = 2\n}\nreplicas = 3\n";
    // hcl-edit refuses the file; the repeat is renamed in a copy to recover.
    let (file, diagnostics) = parse(FILE, text);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(d.code, Code::DuplicateAttribute);
    assert_eq!(d.primary.span.start as usize, text.find("replicas = 2").expect("second"));
    assert_eq!(slice(text, d.primary.span), "replicas");
    assert_eq!(d.secondary[0].span.start as usize, text.find("replicas = 1").expect("first"));
    // The first one is kept; the top-level `replicas` is another body.
    let body = &file.body.blocks[0].body;
    assert_eq!(body.attributes.len(), 2);
    assert!(
        matches!(body.attribute("replicas").map(|a| &a.value.kind), Some(ExprKind::Number(n)) if *n == 1.0)
    );
    assert_eq!(file.body.attributes.len(), 1);
}

#[test]
fn repeated_duplicates_and_short_names_are_all_reported() {
    let text = "a = 1\na = 2\nlong_name = 1\nlong_name = 2\nlong_name = 3\nb { x = 1 }\n";
    let (file, diagnostics) = parse(FILE, text);
    let found: Vec<(&str, Option<usize>)> = diagnostics
        .iter()
        .map(|d| {
            assert_eq!(d.code, Code::DuplicateAttribute);
            (slice(text, d.primary.span), d.secondary.first().map(|l| l.span.start as usize))
        })
        .collect();
    let first_long = text.find("long_name").expect("long_name");
    assert_eq!(found, [("a", Some(0)), ("long_name", Some(first_long)), ("long_name", Some(first_long))]);
    assert_eq!(file.body.attributes.len(), 2);
    assert_eq!(file.body.blocks.len(), 1, "the rest of the file is still lowered");
}

#[test]
fn a_duplicate_and_a_syntax_error_are_both_reported() {
    let text = "name = 1\nname = 2\nbroken = \n";
    let (file, diagnostics) = parse(FILE, text);
    let codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, [Code::DuplicateAttribute, Code::SyntaxError], "{diagnostics:#?}");
    assert_eq!(slice(text, diagnostics[0].primary.span), "name");
    assert_eq!(diagnostics[0].primary.span.start, 9);
    assert!(file.body.attributes.is_empty());
}

// ---- Bounds ----

const DEEP: usize = 10_000;

/// Every deep shape gives one E0102 (or E0101) diagnostic and no overflow:
/// these run on the default 2 MiB test thread.
fn deep_shapes(depth: usize) -> Vec<(&'static str, String)> {
    vec![
        ("lists", format!("x = {}1{}\n", "[".repeat(depth), "]".repeat(depth))),
        ("objects", format!("x = {}1{}\n", "{a = ".repeat(depth), "}".repeat(depth))),
        ("parens", format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth))),
        ("calls", format!("x = {}1{}\n", "f(".repeat(depth), ")".repeat(depth))),
        ("templates", format!("x = {}{}\n", "\"${".repeat(depth), "}\"".repeat(depth))),
        ("heredoc templates", format!("x = <<EOT\n{}1{}\nEOT\n", "${[".repeat(depth), "]}".repeat(depth))),
        ("directives", format!("x = \"{}{}\"\n", "%{if a}".repeat(depth), "%{endif}".repeat(depth))),
        ("not chains", format!("x = {}true\n", "!".repeat(depth))),
        ("negation chains", format!("x = {}1\n", "-".repeat(depth))),
        ("spaced unary chains", format!("x = {}1\n", "- ! ".repeat(depth))),
        ("binary chains", format!("x = 1{}\n", " + 1".repeat(depth))),
        ("conditional chains", format!("x = {}1\n", "a ? b : ".repeat(depth))),
        ("traversal chains", format!("x = a{}\n", ".b".repeat(depth))),
        ("index chains", format!("x = a{}\n", "[0]".repeat(depth))),
        ("splat chains", format!("x = a{}\n", "[*].b".repeat(depth))),
        ("blocks", format!("{}{}", "a {\n".repeat(depth), "}\n".repeat(depth))),
        ("unclosed", format!("x = {}\n", "[".repeat(depth))),
        ("unclosed in a block", format!("a {{\n  x = {}\n", "{a = ".repeat(depth))),
    ]
}

#[test]
fn deep_nesting_of_every_shape_is_refused_without_overflow() {
    for (name, text) in deep_shapes(DEEP) {
        let started = std::time::Instant::now();
        let (file, diagnostics) = parse(FILE, &text);
        assert!(
            diagnostics.iter().any(|d| d.code == Code::NestingTooDeep),
            "{name}: expected E0102, got {diagnostics:#?}"
        );
        assert!(file.body.blocks.is_empty() || name == "blocks");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{name} took {:?}", started.elapsed());
    }
}

#[test]
fn nesting_errors_point_at_the_opener_that_crosses_the_limit() {
    let text = format!("x = {}1{}\n", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    let d = single_error(&text);
    assert_eq!(d.code, Code::NestingTooDeep);
    assert_eq!(d.primary.span.start as usize, 4 + MAX_DEPTH);
    assert_eq!(slice(&text, d.primary.span), "[");
    // Exactly at the limit is fine... for the scanner; hcl-edit counts its
    // levels in the same way and agrees.
    let text = format!("x = {}1{}\n", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
    parse_ok(&text);
}

#[test]
fn brackets_inside_strings_heredocs_and_comments_do_not_count() {
    let many = "[".repeat(1000);
    let text = format!(
        "# {many}\n// {many}\n/* {many} */\nx = \"{many}\"\ny = <<EOT\n{many}\nEOT\nz = \"$${{{many}\"\n"
    );
    parse_ok(&text);
}

#[test]
fn long_flat_input_is_fine() {
    // Siblings do not add up: 10,000 list items and 10,000 attributes.
    let text = format!(
        "x = [{}]\n{}",
        "[1], ".repeat(DEEP),
        (0..DEEP).map(|i| format!("a{i} = {i}\n")).collect::<String>()
    );
    let file = parse_ok(&text);
    assert_eq!(file.body.attributes.len(), DEEP + 1);
}

#[test]
fn expression_height_is_bounded_even_below_the_nesting_limit() {
    // 100 binary operators nested in 60 levels of lists: fine for the
    // nesting limit, too tall for later passes.
    let inner = format!("1{}", " + 1".repeat(100));
    let text = format!("x = {}{inner}{}\n", "[".repeat(60), "]".repeat(60));
    let d = single_error(&text);
    assert_eq!(d.code, Code::NestingTooDeep);
    // A long traversal alone.
    let text = format!("x = a{}\n", ".b".repeat(MAX_EXPR_DEPTH + 1));
    assert_eq!(single_error(&text).code, Code::NestingTooDeep);
    let text = format!("x = a{}\n", ".b".repeat(MAX_EXPR_DEPTH - 2));
    parse_ok(&text);
}

/// No input panics: every prefix of a stack using most of the syntax.
#[test]
fn every_prefix_parses_or_errors_without_panicking() {
    let text = "variable \"r\" {\n  default = 2\n}\nservice \"api\" {\n  image = \"x:${var.r}é\"\n  env = { A = [for x in [1] : x * 2 if x > 0][0], B = <<-EOT\n    %{ for k, v in m ~}\n    ${k}\n    %{ endfor }\n    EOT\n  }\n  # c\n  n = a[*].b.*.c\n}\n";
    for end in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
        let (_, diagnostics) = parse(FILE, &text[..end]);
        for d in diagnostics {
            assert!(text[..end].get(d.primary.span.range()).is_some(), "bad span at prefix {end}: {d:#?}");
        }
    }
}

#[test]
fn every_stdlib_file_parses_cleanly() {
    for (i, (path, text)) in crate::stdlib::files().iter().enumerate() {
        let (file, diagnostics) = parse(FileId(i as u32), text);
        assert!(diagnostics.is_empty(), "{path}: {diagnostics:#?}");
        assert!(!file.body.blocks.is_empty(), "{path}: no blocks");
    }
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let text = "\u{feff}a = 1\n";
    let file = parse_ok(text);
    assert_eq!(slice(text, file.body.attributes[0].span), "a = 1");
}

/// Unclosed nesting just under the limit, in every shape, with tails that
/// invite backtracking: each must be refused fast (no exponential search).
#[test]
fn unclosed_nesting_near_the_limit_fails_fast() {
    let shapes = [
        "(",
        "[",
        "{a = ",
        "\"${",
        "f(",
        "[for x in ",
        "{for k, v in ",
        "a ? ",
        "!",
        "-",
        "[1, (",
        "a[",
        "{(",
        "<<EOT\n${",
        "\"%{if ",
        "\"%{for x in ",
    ];
    for shape in shapes {
        for tail in ["", "1", "1 +", "1 :", "1 ?"] {
            let text = format!("x = {}{tail}", shape.repeat(MAX_DEPTH - 1));
            let started = std::time::Instant::now();
            let (_, diagnostics) = parse(FILE, &text);
            // Unary chains with an operand are complete expressions.
            let complete = matches!(shape, "!" | "-") && tail == "1";
            assert_eq!(diagnostics.is_empty(), complete, "{text:?}: {diagnostics:#?}");
            assert!(
                started.elapsed() < std::time::Duration::from_secs(1),
                "{shape:?} {tail:?}: {:?}",
                started.elapsed()
            );
        }
    }
}

#[test]
fn more_error_shapes_point_at_the_cause() {
    let cases: &[(&str, &str, &str)] = &[
        // (source, primary span text, message)
        ("x = \"a\\qb\"\n", "\\q", "`\\q` is not a valid escape sequence."),
        ("x = a.\n", "\n", "Expected an attribute name or `*` after `.`, found end of line."),
        ("x = [for v in l v]\n", "v", "Expected `:`, found `v`."),
        ("x = \"%{if a}b\"\n", "%", "This template directive is incomplete or has no matching end."),
        ("x = \"%{for a in b}c%{endif}\"\n", "endif", "Expected `endfor`, found `endif`."),
        ("x = a ? b\n", "\n", "Expected `:`, found end of line."),
        ("x = f(a...,b)\n", ",", "Expected `)` or expression, found `,`."),
        ("x = {a = 1 b = 2}\n", "b", "Expected `}`, `,` or newline in this object item, found `b`."),
        ("x = <<EOT\nabc\n", "<<EOT", "This heredoc is never closed: no line holds only `EOT`."),
        ("x y = 1\n", "=", "Expected `{`, found `=`."),
        ("x = 1\ny\n", "\n", "Expected `=` or a block body after `y`, found end of line."),
        ("service {\n  x = 1\n}}\n", "}", "Unexpected `}`: nothing is open here for it to close."),
        ("x = (1\n", "", "Unexpected end of file: a `(` is never closed."),
        ("block {\n  inner = [\n    1,\n    f(\n  ]\n}\n", "]", "Expected an expression, found `]`."),
    ];
    for (text, at, message) in cases {
        let d = single_error(text);
        assert_eq!(d.code, Code::SyntaxError, "{text:?}");
        assert_eq!((slice(text, d.primary.span), d.message.as_str()), (*at, *message), "{text:?}: {d:#?}");
    }
    // A closer of the wrong kind points back at what is still open.
    let text = "block {\n  inner = [\n    1,\n    f(\n  ]\n}\n";
    let d = single_error(text);
    assert_eq!(d.secondary.len(), 1, "{d:#?}");
    assert_eq!(d.secondary[0].span.start as usize, text.find("f(").expect("f(") + 1);
    assert_eq!(d.help.as_deref(), Some("add the missing `)`"));
}
