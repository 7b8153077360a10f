//! The evaluator, table-driven: each case is an expression (parsed with the
//! real parser), what it evaluates to or the code and span of its error.

use super::ExpressionEvaluator;
use super::{Evaluator, Roots};
use crate::diagnostic::Diagnostic;
use crate::source::FileId;
use crate::value::Value;

/// Roots for the tests: `var` with a few values, `u` unknown, `s` sensitive.
struct TestRoots(stackc_model::Fields);

impl Roots for TestRoots {
    fn root(&self, name: &str) -> Option<std::borrow::Cow<'_, Value>> {
        self.0.get(name).map(std::borrow::Cow::Borrowed)
    }
}

fn roots() -> TestRoots {
    let var = Value::Object(
        [
            ("n", Value::Number(3.0)),
            ("zero", Value::Number(0.0)),
            ("name", Value::string("api")),
            ("zones", Value::List(vec![Value::string("a"), Value::string("b")])),
            ("nothing", Value::Null),
            ("cfg", Value::Object([("port".to_string(), Value::Number(80.0))].into_iter().collect())),
            (
                "users",
                Value::List(vec![
                    Value::Object([("name".to_string(), Value::string("ann"))].into_iter().collect()),
                    Value::Object([("name".to_string(), Value::string("bob"))].into_iter().collect()),
                ]),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    );
    let mut map = stackc_model::Fields::default();
    map.insert("var".to_string(), var);
    map.insert("u".to_string(), Value::Unknown);
    map.insert("s".to_string(), Value::string("hunter2").into_sensitive());
    map.insert("sn".to_string(), Value::Number(2.0).into_sensitive());
    map.insert("ul".to_string(), Value::List(vec![Value::Unknown, Value::Unknown]));
    TestRoots(map)
}

/// Evaluates `expr`; the text starts at offset 4 of the file (`x = `).
pub(crate) fn eval(expr: &str) -> Result<Value, Diagnostic> {
    let text = format!("x = {expr}\n");
    let (file, diagnostics) = crate::syntax::parse(FileId(0), &text);
    assert!(diagnostics.is_empty(), "{expr}: {diagnostics:?}");
    let value = &file.body.attributes[0].value;
    ExpressionEvaluator::new().evaluate(value, &roots())
}

fn ok(expr: &str) -> Value {
    eval(expr).unwrap_or_else(|d| panic!("{expr}: {}", d.message))
}

/// The error's code and the text its span covers.
fn err(expr: &str) -> (&'static str, String) {
    let text = format!("x = {expr}\n");
    match eval(expr) {
        Ok(v) => panic!("{expr}: expected an error, got {v}"),
        Err(d) => (d.code.as_str(), text[d.primary.span.range()].to_string()),
    }
}

fn s(text: &str) -> Value {
    Value::string(text)
}

fn n(x: f64) -> Value {
    Value::Number(x)
}

fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

#[test]
fn literals_and_collections() {
    let cases: Vec<(&str, Value)> = vec![
        ("null", Value::Null),
        ("true", Value::Bool(true)),
        ("1.5", n(1.5)),
        ("\"a\"", s("a")),
        ("[1, \"a\"]", list(vec![n(1.0), s("a")])),
        (
            "{ a = 1, \"b c\" = 2 }",
            Value::Object([("a".into(), n(1.0)), ("b c".into(), n(2.0))].into_iter().collect()),
        ),
        ("{ (var.name) = 1 }", Value::Object([("api".into(), n(1.0))].into_iter().collect())),
        ("(((1)))", n(1.0)),
    ];
    for (expr, expected) in cases {
        assert_eq!(ok(expr), expected, "{expr}");
    }
}

#[test]
fn operators() {
    let cases: Vec<(&str, Value)> = vec![
        ("1 + 2 * 3", n(7.0)),
        ("(1 + 2) * 3", n(9.0)),
        ("7 - 10", n(-3.0)),
        ("7 / 2", n(3.5)),
        ("7 % 3", n(1.0)),
        ("-7 % 3", n(-1.0)),
        ("-var.n", n(-3.0)),
        ("!true", Value::Bool(false)),
        ("1 < 2", Value::Bool(true)),
        ("2 <= 2", Value::Bool(true)),
        ("3 > 4", Value::Bool(false)),
        ("4 >= 5", Value::Bool(false)),
        ("1 == 1", Value::Bool(true)),
        ("1 == \"1\"", Value::Bool(false)),
        ("\"a\" != \"b\"", Value::Bool(true)),
        ("[1, 2] == [1, 2]", Value::Bool(true)),
        ("{ a = 1 } == { a = 2 }", Value::Bool(false)),
        ("null == null", Value::Bool(true)),
        ("var.nothing == null", Value::Bool(true)),
        ("true && false", Value::Bool(false)),
        ("false || true", Value::Bool(true)),
        ("true || false && false", Value::Bool(true)),
    ];
    for (expr, expected) in cases {
        assert_eq!(ok(expr), expected, "{expr}");
    }
}

#[test]
fn operator_errors_name_the_operand() {
    let cases: Vec<(&str, &str, &str)> = vec![
        ("\"x\" * 2", "E0308", "\"x\""),
        ("2 * var.name", "E0308", "var.name"),
        ("1 + null", "E0308", "null"),
        ("[1] + 1", "E0308", "[1]"),
        ("-\"a\"", "E0308", "\"a\""),
        ("!1", "E0308", "1"),
        ("1 && true", "E0308", "1"),
        ("true && \"yes\"", "E0308", "\"yes\""),
        ("1 < \"2\"", "E0308", "\"2\""),
        ("var.n / var.zero", "E0308", "var.zero"),
        ("var.n % 0", "E0308", "0"),
        ("1e308 * 10", "E0308", "1e308 * 10"),
    ];
    for (expr, code, at) in cases {
        assert_eq!(err(expr), (code, at.to_string()), "{expr}");
    }
    let message = eval("2 * var.name").unwrap_err().message;
    assert!(message.contains("`var.name` is a string"), "{message}");
}

#[test]
fn logical_operators_short_circuit_both_ways() {
    // The side not needed may fail at run time, or be unknown.
    assert_eq!(ok("var.nothing == null || var.nothing.port > 0"), Value::Bool(true));
    assert_eq!(ok("var.nothing != null && var.nothing.port > 0"), Value::Bool(false));
    assert_eq!(ok("var.nothing.port > 0 || true"), Value::Bool(true));
    assert_eq!(ok("u || true"), Value::Bool(true));
    assert_eq!(ok("false && u"), Value::Bool(false));
    assert_eq!(ok("u && false"), Value::Bool(false));
    assert_eq!(ok("u && true"), Value::Unknown);
    assert_eq!(ok("true && u"), Value::Unknown);
    // No side decides: the error stands.
    assert_eq!(err("var.nothing.port > 0 || false").0, "E0310");
    assert_eq!(err("false || var.nothing.port > 0").0, "E0310");
}

#[test]
fn conditionals() {
    assert_eq!(ok("var.n > 2 ? \"big\" : \"small\""), s("big"));
    // The branch not taken is not evaluated.
    assert_eq!(ok("var.nothing == null ? 0 : var.nothing.port"), n(0.0));
    assert_eq!(ok("u ? 1 : 2"), Value::Unknown);
    assert_eq!(ok("sn > 1 ? 1 : 2"), n(1.0).into_sensitive());
    assert_eq!(err("var.n ? 1 : 2"), ("E0314", "var.n".to_string()));
    assert_eq!(err("null ? 1 : 2"), ("E0314", "null".to_string()));
}

#[test]
fn templates_and_directives() {
    let cases: Vec<(&str, Value)> = vec![
        ("\"${var.name}-${var.n}-${true}\"", s("api-3-true")),
        ("\"${var.zones}\"", list(vec![s("a"), s("b")])),
        ("\"%{ if var.n > 2 }many%{ else }few%{ endif }\"", s("many")),
        ("\"%{ for z in var.zones }${z};%{ endfor }\"", s("a;b;")),
        ("\"%{ for i, z in var.zones }${i}=${z} %{ endfor }\"", s("0=a 1=b ")),
        ("\"%{ for k, v in var.cfg }${k}:${v}%{ endfor }\"", s("port:80")),
        ("\"<%{ if false }x%{ endif }>\"", s("<>")),
        ("\"a ${u} b\"", Value::Unknown),
        ("\"%{ if u }x%{ endif }\"", Value::Unknown),
        ("\"pw=${s}\"", s("pw=hunter2").into_sensitive()),
    ];
    for (expr, expected) in cases {
        assert_eq!(ok(expr), expected, "{expr}");
    }
    assert_eq!(err("\"a ${var.zones} b\""), ("E0308", "var.zones".to_string()));
    assert_eq!(err("\"a ${null}\""), ("E0308", "null".to_string()));
    assert_eq!(err("\"%{ if var.name }x%{ endif }\""), ("E0314", "var.name".to_string()));
    assert_eq!(err("\"%{ for c in var.name }x%{ endfor }\""), ("E0308", "var.name".to_string()));
}

#[test]
fn traversals_and_their_errors() {
    assert_eq!(ok("var.cfg.port"), n(80.0));
    assert_eq!(ok("var.cfg[\"port\"]"), n(80.0));
    assert_eq!(ok("var.zones[1]"), s("b"));
    assert_eq!(ok("var.zones.0"), s("a"));
    assert_eq!(ok("u.anything[3]"), Value::Unknown);
    assert_eq!(ok("var.zones[u]"), Value::Unknown);
    assert_eq!(ok("ul[1]"), Value::Unknown);
    let cases: Vec<(&str, &str)> = vec![
        ("var.cfg.prot", "prot"),
        ("var.zones[2]", "2"),
        ("var.zones[-1]", "-1"),
        ("var.zones[0.5]", "0.5"),
        ("var.zones[\"a\"]", "\"a\""),
        ("var.cfg[\"nope\"]", "\"nope\""),
        ("var.nothing.port", "port"),
        ("var.name.length", "length"),
        ("var.zones.first", "first"),
        ("var.name[0]", "0"),
    ];
    for (expr, at) in cases {
        assert_eq!(err(expr), ("E0310", at.to_string()), "{expr}");
    }
    let d = eval("var.cfg.prot").unwrap_err();
    assert_eq!(d.help.as_deref(), Some("did you mean `port`?"));
    assert!(eval("var.zones[2]").unwrap_err().message.contains("it has 2 elements"));
}

#[test]
fn splats() {
    assert_eq!(ok("var.users[*].name"), list(vec![s("ann"), s("bob")]));
    assert_eq!(ok("var.users.*.name"), list(vec![s("ann"), s("bob")]));
    assert_eq!(ok("var.nothing[*]"), list(vec![]));
    assert_eq!(ok("var.cfg[*].port"), list(vec![n(80.0)]));
    assert_eq!(ok("var.name[*]"), list(vec![s("api")]));
    assert_eq!(ok("u[*].id"), Value::Unknown);
    assert_eq!(err("var.zones[*].id"), ("E0310", "id".to_string()));
    assert!(eval("var.zones[*].id").unwrap_err().message.contains("Element 0 of `var.zones`"));
}

#[test]
fn for_expressions() {
    let cases: Vec<(&str, Value)> = vec![
        ("[for z in var.zones : upper(z)]", list(vec![s("A"), s("B")])),
        ("[for i, z in var.zones : i]", list(vec![n(0.0), n(1.0)])),
        ("[for z in var.zones : z if z != \"a\"]", list(vec![s("b")])),
        (
            "{ for z in var.zones : z => length(z) }",
            Value::Object([("a".into(), n(1.0)), ("b".into(), n(1.0))].into_iter().collect()),
        ),
        (
            "{ for z in [\"a\", \"b\", \"a\"] : z => z... }",
            Value::Object(
                [("a".into(), list(vec![s("a"), s("a")])), ("b".into(), list(vec![s("b")]))]
                    .into_iter()
                    .collect(),
            ),
        ),
        ("{ for k, v in var.cfg : v => k }", Value::Object([("80".into(), s("port"))].into_iter().collect())),
        ("[for x in u : x]", Value::Unknown),
        ("[for x in ul : x]", list(vec![Value::Unknown, Value::Unknown])),
        ("[for x in var.zones : x if u]", Value::Unknown),
        ("[for x in [] : x]", list(vec![])),
    ];
    for (expr, expected) in cases {
        assert_eq!(ok(expr), expected, "{expr}");
    }
    assert_eq!(err("{ for z in [\"a\", \"a\"] : z => 1 }"), ("E0317", "z".to_string()));
    assert_eq!(err("[for z in var.zones : z if 1]"), ("E0314", "1".to_string()));
    assert_eq!(err("[for z in var.name : z]"), ("E0308", "var.name".to_string()));
    assert_eq!(err("[for z in null : z]"), ("E0308", "null".to_string()));
    assert_eq!(err("{ for z in var.users : z => 1 }"), ("E0308", "z".to_string()));
    assert_eq!(err("{ a = 1, (\"a\") = 2 }"), ("E0317", "(\"a\")".to_string()));
}

#[test]
fn calls_and_expansion() {
    assert_eq!(ok("max(1, 5, 2)"), n(5.0));
    assert_eq!(ok("max(var.n, [7, 1]...)"), n(7.0));
    assert_eq!(ok("concat(var.zones, [\"c\"])"), list(vec![s("a"), s("b"), s("c")]));
    assert_eq!(ok("max(u...)"), Value::Unknown);
    assert_eq!(err("nosuch(1)"), ("E0207", "nosuch".to_string()));
    assert_eq!(err("upper(\"a\", \"b\")"), ("E0309", "\"b\"".to_string()));
    assert_eq!(err("max([]...)"), ("E0309", "max([]...)".to_string()));
    assert_eq!(err("max(\"a\"...)"), ("E0313", "\"a\"".to_string()));
    assert_eq!(err("upper(var.zones)"), ("E0313", "var.zones".to_string()));
    assert_eq!(err("tonumber(\"eighty\")"), ("E0313", "\"eighty\"".to_string()));
    let d = eval("tonumber(\"eighty\")").unwrap_err();
    assert!(d.message.starts_with("Argument 1 of `tonumber` (`value`)"), "{}", d.message);
}

#[test]
fn try_and_can() {
    assert_eq!(ok("try(var.cfg.prot, 8080)"), n(8080.0));
    assert_eq!(ok("try(var.cfg.port, 8080)"), n(80.0));
    assert_eq!(ok("can(var.cfg.prot)"), Value::Bool(false));
    assert_eq!(ok("can(tonumber(\"3\"))"), Value::Bool(true));
    assert_eq!(ok("can(u.x)"), Value::Unknown);
    assert_eq!(ok("try(u, 1)"), Value::Unknown);
    assert_eq!(err("try(var.cfg.prot, var.cfg.x)").0, "E0313");
}

#[test]
fn unknowns_propagate_unless_the_result_does_not_depend_on_them() {
    let unknown: &[&str] = &[
        "u + 1",
        "1 - u",
        "u * 2",
        "-u",
        "!u",
        "u == 1",
        "u < 1",
        "\"${u}\"",
        "upper(u)",
        "[for x in u : x]",
        "u.x",
        "u[0]",
        "length(u)",
        "concat(u, [1])",
        "[1, 2] == ul",
    ];
    for expr in unknown {
        assert_eq!(ok(expr), Value::Unknown, "{expr}");
    }
    let known: &[(&str, Value)] = &[
        ("length(ul)", n(2.0)),
        ("length([u, u, u])", n(3.0)),
        ("{ a = u } == null", Value::Bool(false)),
        ("[u] == [1, 2]", Value::Bool(false)),
        ("keys({ a = u })", list(vec![s("a")])),
        ("coalesce(\"x\", u)", s("x")),
        ("concat([u], [1])", list(vec![Value::Unknown, n(1.0)])),
        ("false && u", Value::Bool(false)),
    ];
    for (expr, expected) in known {
        assert_eq!(&ok(expr), expected, "{expr}");
    }
}

#[test]
fn sensitive_marks_survive_derivation() {
    let derived: &[&str] = &[
        "s",
        "upper(s)",
        "\"${s}!\"",
        "s == \"x\"",
        "sn + 1",
        "-sn",
        "sn > 1",
        "[for c in split(\"\", s) : c]",
        "length(s)",
        "jsonencode({ a = s })",
        "join(\",\", [s, \"b\"])",
        "sha256(s)",
        "substr(s, 0, 2)",
        "{ for k in [\"a\"] : k => s }",
        "[s][0]",
        "{ a = s }.a",
        "sn > 1 ? 1 : 2",
        "lookup({ a = s }, \"a\")",
    ];
    for expr in derived {
        assert!(ok(expr).has_sensitive(), "{expr} should be sensitive");
    }
    let plain: &[&str] = &["nonsensitive(s)", "nonsensitive(upper(s))", "length([s, s])", "keys({ a = s })"];
    for expr in plain {
        assert!(!ok(expr).has_sensitive(), "{expr} should not be sensitive");
    }
    // Moving a secret keeps the mark where it is, not on the whole list.
    let moved = ok("concat([s], [\"b\"])");
    assert_eq!(moved, list(vec![s("hunter2").into_sensitive(), s("b")]));
    // Error messages never show a sensitive value.
    let d = eval("s * 2").unwrap_err();
    assert!(!d.message.contains("hunter2"), "{}", d.message);
    let d = eval("var.zones[sn + 5]").unwrap_err();
    assert!(d.message.contains("(sensitive)"), "{}", d.message);
}

#[test]
fn work_and_size_are_bounded() {
    assert_eq!(err("range(1000000)").0, "E0313");
    // Nested loops over large ranges run out of budget instead of hanging.
    let d = eval("[for i in range(100000) : [for j in range(100000) : j]]").unwrap_err();
    assert_eq!(d.code.as_str(), "E0313");
    assert!(d.message.contains("too much work"), "{}", d.message);
    assert_eq!(err("format(\"%99999d\", 1)").0, "E0313");
}

/// A small deterministic PRNG (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// A random expression over the whole language, `depth` levels deep at most.
fn random_expr(rng: &mut Rng, depth: usize) -> String {
    const LEAVES: &[&str] = &[
        "null",
        "true",
        "0",
        "-1",
        "1e308",
        "0.5",
        "\"\"",
        "\"a\"",
        "\"%d\"",
        "var.n",
        "var.zero",
        "var.name",
        "var.zones",
        "var.nothing",
        "var.cfg",
        "var.users",
        "u",
        "s",
        "sn",
        "ul",
        "[]",
        "{}",
        "\"/(a+)+$/\"",
        "range(100000)",
    ];
    const FUNCTIONS: &[&str] = &[
        "length",
        "upper",
        "concat",
        "merge",
        "keys",
        "values",
        "join",
        "split",
        "format",
        "replace",
        "range",
        "tonumber",
        "tostring",
        "flatten",
        "distinct",
        "sort",
        "jsonencode",
        "jsondecode",
        "element",
        "slice",
        "zipmap",
        "coalesce",
        "lookup",
        "regex",
        "regexall",
        "substr",
        "try",
        "can",
        "sensitive",
        "nonsensitive",
        "max",
        "min",
        "formatlist",
        "indent",
        "chunklist",
        "setunion",
        "nosuch",
    ];
    if depth == 0 {
        return rng.pick(LEAVES).to_string();
    }
    let a = |rng: &mut Rng| random_expr(rng, depth - 1);
    match rng.next() % 14 {
        0 => format!(
            "({} {} {})",
            a(rng),
            rng.pick(&["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||"]),
            a(rng)
        ),
        1 => format!("{}{}", rng.pick(&["-", "!"]), a(rng)),
        2 => format!("({} ? {} : {})", a(rng), a(rng), a(rng)),
        3 => format!("[{}, {}]", a(rng), a(rng)),
        4 => format!("{{ k = {}, (\"{}\") = {} }}", a(rng), rng.pick(&["k", "j"]), a(rng)),
        5 => format!("[for x in {} : {} if {}]", a(rng), a(rng), a(rng)),
        6 => format!("{{ for k, x in {} : tostring(k) => {}... }}", a(rng), a(rng)),
        7 => format!(
            "\"${{{}}}-%{{ if {} }}y%{{ endif }}-%{{ for c in {} }}${{c}}%{{ endfor }}\"",
            a(rng),
            a(rng),
            a(rng)
        ),
        8 => format!("{}.{}", a(rng), rng.pick(&["port", "name", "0"])),
        9 => format!("{}[{}]", a(rng), a(rng)),
        10 => format!("{}[*].{}", a(rng), rng.pick(&["name", "port"])),
        11 => format!("{}({}, {})", rng.pick(FUNCTIONS), a(rng), a(rng)),
        12 => format!("{}({})", rng.pick(FUNCTIONS), a(rng)),
        _ => format!("{}({}...)", rng.pick(FUNCTIONS), a(rng)),
    }
}

/// Thousands of random expressions: each evaluates to a value or an error,
/// never a panic, quickly, on a small stack; errors point inside the text.
#[test]
fn random_expressions_never_panic_or_hang() {
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let mut rng = Rng(0x5eed_1234_abcd_9876);
            let started = std::time::Instant::now();
            for i in 0..1_500 {
                let expr = random_expr(&mut rng, 1 + (i % 5));
                let text = format!("x = {expr}\n");
                let (file, diagnostics) = crate::syntax::parse(FileId(0), &text);
                if !diagnostics.is_empty() {
                    continue;
                }
                let one = std::time::Instant::now();
                let result = ExpressionEvaluator::new().evaluate(&file.body.attributes[0].value, &roots());
                // Generous: this is a debug build.
                assert!(one.elapsed().as_secs() < 10, "too slow: {expr}");
                if let Err(d) = result {
                    assert!(d.primary.span.end as usize <= text.len(), "{expr}: span out of bounds");
                    assert!(!d.message.contains("hunter2"), "{expr}: a secret in {}", d.message);
                }
            }
            assert!(started.elapsed().as_secs() < 300);
        })
        .expect("thread starts");
    handle.join().expect("no panic");
}

/// The deepest expression the parser accepts evaluates on a small stack.
#[test]
fn the_deepest_accepted_expressions_evaluate() {
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let depth = crate::syntax::MAX_DEPTH - 2;
            let shapes = [
                format!("{}1{}", "(".repeat(depth), ")".repeat(depth)),
                format!("{}1{}", "[".repeat(depth), "]".repeat(depth)),
                format!("{}var.n", "-".repeat(depth)),
                format!("1{}", " + 1".repeat(120)),
                format!("\"{}x{}\"", "${\"".repeat(depth / 2), "\"}".repeat(depth / 2)),
                format!("{}1{}", "[for x in [1] : ".repeat(depth / 2), "]".repeat(depth / 2)),
                format!("var.cfg{}", ".port".repeat(150)),
            ];
            for expr in shapes {
                let text = format!("x = {expr}\n");
                let (file, _) = crate::syntax::parse(FileId(0), &text);
                if let Some(attribute) = file.body.attributes.first() {
                    let _ = ExpressionEvaluator::new().evaluate(&attribute.value, &roots());
                    let mut found = Vec::new();
                    crate::infer::infer(&attribute.value, &indexmap::IndexMap::new(), &mut found);
                }
            }
        })
        .expect("thread starts");
    handle.join().expect("no stack overflow or panic");
}

#[test]
fn special_forms_check_their_argument_count() {
    assert_eq!(err("can(1, 2)").0, "E0309");
    assert_eq!(err("try()").0, "E0309");
    assert_eq!(err("can([1]...)").0, "E0309");
}
