//! The library, table-driven: every function with arguments and the result,
//! and a failing call with the argument it blames; then properties over the
//! whole table (unknown and sensitive arguments), and the registry against
//! `docs/functions.md`.

use super::{all, call, lookup, CallContext, Policy};
use crate::eval::FileSource;
use crate::value::Value;

/// Evaluates an expression with the real parser and evaluator.
fn value(expr: &str) -> Value {
    crate::eval::tests::eval(expr).unwrap_or_else(|d| panic!("{expr}: {}", d.message))
}

#[derive(Debug)]
struct Files;

impl FileSource for Files {
    fn read(&self, path: &str) -> Result<String, String> {
        match path {
            "nginx.conf" => Ok("listen 80;\n".into()),
            _ => Err("no such file".into()),
        }
    }
}

fn run(name: &str, args: Vec<Value>) -> Result<Value, super::FunctionError> {
    let function = lookup(name).unwrap_or_else(|| panic!("no function {name}"));
    assert!(function.accepts(args.len()), "{name}: {} arguments", args.len());
    call(function, args, &CallContext { files: Some(&Files) })
}

/// (function, arguments as an HCL list, result as HCL). Every function of
/// the library but the special forms (`try`, `can`) has at least one row.
const CASES: &[(&str, &str, &str)] = &[
    ("abs", "[-3]", "3"),
    ("alltrue", "[[true, true]]", "true"),
    ("alltrue", "[[]]", "true"),
    ("anytrue", "[[false, true]]", "true"),
    ("anytrue", "[[]]", "false"),
    ("base64decode", "[\"aGVsbG8=\"]", "\"hello\""),
    ("base64encode", "[\"hello\"]", "\"aGVsbG8=\""),
    ("base64sha256", "[\"hello\"]", "\"LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=\""),
    ("ceil", "[1.2]", "2"),
    ("chomp", "[\"a\\n\\n\"]", "\"a\""),
    ("chunklist", "[[1, 2, 3], 2]", "[[1, 2], [3]]"),
    ("coalesce", "[null, \"\", \"b\", \"c\"]", "\"b\""),
    ("coalescelist", "[[], [1], [2]]", "[1]"),
    ("compact", "[[\"a\", \"\", null, \"b\"]]", "[\"a\", \"b\"]"),
    ("concat", "[[1], [], [2, 3]]", "[1, 2, 3]"),
    ("contains", "[[\"a\", \"b\"], \"b\"]", "true"),
    ("contains", "[[1, 2], \"1\"]", "false"),
    ("distinct", "[[1, 2, 1, \"1\"]]", "[1, 2, \"1\"]"),
    ("element", "[[\"a\", \"b\"], 3]", "\"b\""),
    ("endswith", "[\"api.example.com\", \".com\"]", "true"),
    ("file", "[\"nginx.conf\"]", "\"listen 80;\\n\""),
    ("flatten", "[[[1, [2]], [], 3]]", "[1, 2, 3]"),
    ("floor", "[-1.5]", "-2"),
    ("format", "[\"%s-%03d %.2f %q %t %v %%\", \"a\", 7, 3.14159, \"x\", true, [1]]", "\"a-007 3.14 \\\"x\\\" true [1] %\""),
    ("format", "[\"%-4s|%4s|%x\", \"a\", \"b\", 255]", "\"a   |   b|ff\""),
    ("formatlist", "[\"%s=%d\", [\"a\", \"b\"], [1, 2]]", "[\"a=1\", \"b=2\"]"),
    ("formatlist", "[\"%s-%s\", \"x\", [\"a\", \"b\"]]", "[\"x-a\", \"x-b\"]"),
    ("indent", "[2, \"a\\nb\\n\"]", "\"a\\n  b\\n\""),
    ("index", "[[\"a\", \"b\"], \"b\"]", "1"),
    ("join", "[\", \", [\"a\", 1, true]]", "\"a, 1, true\""),
    ("jsondecode", "[\"{\\\"a\\\": [1, null]}\"]", "{ a = [1, null] }"),
    ("jsonencode", "[{ a = [1, \"x\", null, true] }]", "\"{\\\"a\\\":[1,\\\"x\\\",null,true]}\""),
    ("keys", "[{ b = 1, a = 2 }]", "[\"b\", \"a\"]"),
    ("length", "[[1, 2]]", "2"),
    ("length", "[{ a = 1 }]", "1"),
    ("length", "[\"héllo\"]", "5"),
    ("lookup", "[{ a = 1 }, \"a\"]", "1"),
    ("lookup", "[{ a = 1 }, \"b\", 0]", "0"),
    ("lower", "[\"ÀB\"]", "\"àb\""),
    ("max", "[1, 5, 3]", "5"),
    ("merge", "[{ a = 1, b = 1 }, null, { b = 2 }]", "{ a = 1, b = 2 }"),
    ("min", "[4, -1]", "-1"),
    ("nonsensitive", "[\"x\"]", "\"x\""),
    ("one", "[[]]", "null"),
    ("one", "[[7]]", "7"),
    ("parseint", "[\"ff\", 16]", "255"),
    ("pow", "[2, 10]", "1024"),
    ("range", "[3]", "[0, 1, 2]"),
    ("range", "[1, 7, 3]", "[1, 4]"),
    ("range", "[3, 0]", "[3, 2, 1]"),
    ("regex", "[\"[0-9]+\", \"port 8080\"]", "\"8080\""),
    ("regex", "[\"(\\\\w+)@(\\\\w+)\", \"me@host\"]", "[\"me\", \"host\"]"),
    ("regex", "[\"(?P<user>\\\\w+)@\", \"me@host\"]", "{ user = \"me\" }"),
    ("regexall", "[\"[0-9]\", \"a1b2\"]", "[\"1\", \"2\"]"),
    ("replace", "[\"a-b-c\", \"-\", \"_\"]", "\"a_b_c\""),
    ("replace", "[\"30s\", \"/([0-9]+)s/\", \"$1\"]", "\"30\""),
    ("reverse", "[[1, 2, 3]]", "[3, 2, 1]"),
    ("sensitive", "[\"x\"]", "\"x\""),
    ("setunion", "[[\"a\", \"b\"], [\"b\", \"c\"]]", "[\"a\", \"b\", \"c\"]"),
    ("sha256", "[\"hello\"]", "\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\""),
    ("sha512", "[\"\"]", "\"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e\""),
    ("signum", "[-4]", "-1"),
    ("slice", "[[1, 2, 3, 4], 1, 3]", "[2, 3]"),
    ("sort", "[[\"b\", \"a\", \"c\"]]", "[\"a\", \"b\", \"c\"]"),
    ("split", "[\",\", \"a,b,,c\"]", "[\"a\", \"b\", \"\", \"c\"]"),
    ("split", "[\",\", \"\"]", "[]"),
    ("startswith", "[\"http://x\", \"http\"]", "true"),
    ("strcontains", "[\"haystack\", \"st\"]", "true"),
    ("strrev", "[\"abc\"]", "\"cba\""),
    ("substr", "[\"hello\", 1, 3]", "\"ell\""),
    ("substr", "[\"hello\", -3, -1]", "\"llo\""),
    ("substr", "[\"hello\", 9, 2]", "\"\""),
    ("sum", "[[1, 2, 3.5]]", "6.5"),
    ("title", "[\"hello big-world\"]", "\"Hello Big-World\""),
    ("tobool", "[\"true\"]", "true"),
    ("tobool", "[null]", "null"),
    ("tolist", "[[1]]", "[1]"),
    ("tomap", "[{ a = 1 }]", "{ a = 1 }"),
    ("tonumber", "[\"8080\"]", "8080"),
    ("tonumber", "[\" 1.5 \"]", "1.5"),
    ("tonumber", "[null]", "null"),
    ("toset", "[[\"a\", \"a\", \"b\"]]", "[\"a\", \"b\"]"),
    ("tostring", "[80]", "\"80\""),
    ("tostring", "[true]", "\"true\""),
    ("trim", "[\"--a--\", \"-\"]", "\"a\""),
    ("trimprefix", "[\"helloworld\", \"hello\"]", "\"world\""),
    ("trimspace", "[\"  a b \\n\"]", "\"a b\""),
    ("trimsuffix", "[\"helloworld\", \"world\"]", "\"hello\""),
    ("upper", "[\"abc\"]", "\"ABC\""),
    ("upper", "[1]", "\"1\""),
    ("urlencode", "[\"a b&c/é\"]", "\"a+b%26c%2F%C3%A9\""),
    ("values", "[{ b = 1, a = 2 }]", "[1, 2]"),
    ("zipmap", "[[\"a\", \"b\"], [1, 2]]", "{ a = 1, b = 2 }"),
];

/// (function, arguments, the argument blamed (None: the call), words of the message).
const ERRORS: &[(&str, &str, Option<usize>, &str)] = &[
    ("abs", "[\"x\"]", Some(0), "must be a number"),
    ("alltrue", "[[1]]", Some(0), "element 0 is a number"),
    ("base64decode", "[\"***\"]", Some(0), "not valid Base64"),
    ("chunklist", "[[1], -1]", Some(1), "negative"),
    ("coalesce", "[null, \"\"]", None, "every argument"),
    ("coalescelist", "[[], 1]", Some(1), "expected a list"),
    ("compact", "[[[1]]]", Some(0), "element 0 is a list"),
    ("concat", "[[1], \"a\"]", Some(1), "must be a list"),
    ("element", "[[], 0]", Some(0), "empty"),
    ("element", "[[1], 0.5]", Some(1), "whole number"),
    ("file", "[\"missing.txt\"]", Some(0), "cannot be read: no such file"),
    ("format", "[\"%d\", \"x\"]", Some(1), "`%d` needs a number"),
    ("format", "[\"%d %d\", 1]", Some(0), "more verbs than there are values"),
    ("format", "[\"%d\", 1, 2]", Some(2), "1 verbs but 2 values"),
    ("format", "[\"%y\", 1]", Some(0), "not a format verb"),
    ("formatlist", "[\"%s\", [1], [1, 2]]", Some(2), "differ in length"),
    ("index", "[[1], 2]", Some(1), "not an element"),
    ("join", "[\",\", [[1]]]", Some(1), "element 0 is a list"),
    ("jsondecode", "[\"{\"]", Some(0), "not valid JSON"),
    ("keys", "[[1]]", Some(0), "must be an object or map"),
    ("length", "[1]", Some(0), "must be a list, an object or a string"),
    ("lookup", "[{ a = 1 }, \"b\"]", Some(1), "no key \"b\""),
    ("max", "[1, \"2\"]", Some(1), "must be a number"),
    ("merge", "[{ a = 1 }, [1]]", Some(1), "expected an object"),
    ("one", "[[1, 2]]", Some(0), "2 elements"),
    ("parseint", "[\"zz\", 10]", Some(0), "not a whole number in base 10"),
    ("parseint", "[\"1\", 99]", Some(1), "from 2 to 36"),
    ("pow", "[10, 400]", None, "too large"),
    ("range", "[0, 5, 0]", Some(2), "must not be 0"),
    ("range", "[1000000]", None, "at most 100000"),
    ("regex", "[\"(\", \"a\"]", Some(0), "not a valid regular expression"),
    ("regex", "[\"x\", \"a\"]", Some(1), "does not match"),
    ("replace", "[\"a\", \"\", \"b\"]", Some(1), "empty"),
    ("slice", "[[1, 2], 1, 5]", Some(2), "length (2)"),
    ("sort", "[[[1]]]", Some(0), "element 0 is a list"),
    ("substr", "[\"a\", 0, -2]", Some(2), "-1"),
    ("sum", "[[\"a\"]]", Some(0), "element 0 is a string"),
    ("tobool", "[\"yes\"]", Some(0), "not \"true\" or \"false\""),
    ("tonumber", "[\"eighty\"]", Some(0), "is not a number"),
    ("tonumber", "[\"0x10\"]", Some(0), "is not a number"),
    ("tonumber", "[[1]]", Some(0), "cannot be converted"),
    ("tostring", "[[1]]", Some(0), "cannot be converted to a string"),
    ("upper", "[[\"a\"]]", Some(0), "must be a string"),
    ("zipmap", "[[\"a\"], [1, 2]]", Some(1), "1 keys but 2 values"),
    ("zipmap", "[[[1]], [1]]", Some(0), "key 0 is a list"),
];

fn args(list: &str) -> Vec<Value> {
    match value(list) {
        Value::List(items) => items,
        other => panic!("{list} is {other}"),
    }
}

#[test]
fn every_function_computes_its_examples() {
    for (name, arguments, expected) in CASES {
        let result = run(name, args(arguments)).unwrap_or_else(|e| panic!("{name}{arguments}: {e:?}"));
        assert_eq!(result.unmarked(), value(expected), "{name}{arguments}");
    }
}

#[test]
fn every_function_has_an_example() {
    for function in all() {
        if function.policy == Policy::Lazy {
            continue;
        }
        assert!(
            CASES.iter().any(|(name, _, _)| *name == function.name),
            "{} has no row in CASES",
            function.name
        );
    }
}

#[test]
fn failing_calls_blame_the_right_argument() {
    for (name, arguments, blamed, words) in ERRORS {
        let error = run(name, args(arguments)).expect_err(&format!("{name}{arguments} should fail"));
        assert_eq!(error.argument, *blamed, "{name}{arguments}: {}", error.message);
        assert!(error.message.contains(words), "{name}{arguments}: {:?} lacks {words:?}", error.message);
    }
}

#[test]
fn file_without_a_source_says_why() {
    let function = lookup("file").unwrap();
    let error = call(function, vec![Value::string("a.txt")], &CallContext { files: None }).unwrap_err();
    assert!(error.message.contains("no files can be read here"), "{}", error.message);
}

/// For every example and every argument: an unknown argument gives an
/// unknown result, or the same known result (it did not depend on it).
#[test]
fn unknown_arguments_give_unknown_or_independent_results() {
    for (name, arguments, _) in CASES {
        let given = args(arguments);
        let expected = run(name, given.clone()).unwrap();
        for i in 0..given.len() {
            let mut with_unknown = given.clone();
            with_unknown[i] = Value::Unknown;
            match run(name, with_unknown) {
                Ok(result) => assert!(
                    result.has_unknown() || result == expected,
                    "{name}{arguments} with argument {i} unknown gave {result}"
                ),
                // An unknown argument may only make a call fail that would
                // fail for some value in its place (e.g. `coalesce`'s others).
                Err(e) => panic!("{name}{arguments} with argument {i} unknown failed: {e:?}"),
            }
            // Unknown elements of a list argument: a strict function's
            // result is unknown; another's has an unknown part or does not
            // depend on them (`length`).
            if let Value::List(items) = &given[i] {
                if !items.is_empty() {
                    let mut partly = given.clone();
                    partly[i] = Value::List(std::iter::repeat_n(Value::Unknown, items.len()).collect());
                    let strict = lookup(name).unwrap().policy == Policy::Strict;
                    if let Ok(result) = run(name, partly) {
                        if strict {
                            assert_eq!(
                                result,
                                Value::Unknown,
                                "{name}{arguments}: strict, elements of {i} unknown"
                            );
                        } else {
                            assert!(
                                result.has_unknown() || result == expected,
                                "{name}{arguments} with the elements of argument {i} unknown gave {result}"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// For every example and every argument: a sensitive argument gives a
/// sensitive result, except through `nonsensitive`.
#[test]
fn sensitive_arguments_give_sensitive_results() {
    for (name, arguments, _) in CASES {
        let given = args(arguments);
        for i in 0..given.len() {
            let mut marked = given.clone();
            marked[i] = marked[i].clone().into_sensitive();
            let result = run(name, marked).unwrap_or_else(|e| panic!("{name}{arguments} marked: {e:?}"));
            if *name == "nonsensitive" {
                assert!(!result.has_sensitive(), "nonsensitive keeps no mark");
            } else {
                assert!(
                    result.has_sensitive(),
                    "{name}{arguments} with argument {i} sensitive gave {result}"
                );
            }
            // A mark on an element of a list argument: a strict function's
            // result is sensitive; another keeps the mark on what it moves.
            if let Value::List(items) = &given[i] {
                if let Some(first) = items.first() {
                    let mut inner = given.clone();
                    let mut marked_items = items.clone();
                    marked_items[0] = first.clone().into_sensitive();
                    inner[i] = Value::List(marked_items);
                    let result = run(name, inner).unwrap();
                    if lookup(name).unwrap().policy == Policy::Strict {
                        assert!(
                            result.has_sensitive(),
                            "{name}{arguments}: strict, element 0 of {i} sensitive gave {result}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn the_registry_is_sorted_and_complete() {
    let names: Vec<&str> = all().iter().map(|f| f.name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names, sorted, "the library is sorted by name, without duplicates");
    for function in all() {
        assert!(function.required <= function.params.len(), "{}", function.name);
        assert!(!function.doc.is_empty() && function.doc.ends_with('.'), "{}: one-line doc", function.name);
        assert!(lookup(function.name).is_some());
    }
}

/// `docs/functions.md` has a `## `name`` section for each function and no other.
#[test]
fn every_function_has_a_section_in_the_docs_and_vice_versa() {
    let doc = include_str!("../../../docs/functions.md");
    let documented: Vec<&str> =
        doc.lines().filter_map(|l| l.strip_prefix("## `")).filter_map(|l| l.strip_suffix('`')).collect();
    let registered: Vec<&str> = all().iter().map(|f| f.name).collect();
    let missing: Vec<&&str> = registered.iter().filter(|n| !documented.contains(n)).collect();
    let extra: Vec<&&str> = documented.iter().filter(|n| !registered.contains(n)).collect();
    assert!(missing.is_empty(), "functions without a section in docs/functions.md: {missing:?}");
    assert!(extra.is_empty(), "sections of docs/functions.md without a function: {extra:?}");
    // Each section gives the signature the registry has.
    for function in all() {
        let signature = format!("`{}`", function.signature());
        assert!(doc.contains(&signature), "docs/functions.md lacks the signature {signature}");
    }
}
