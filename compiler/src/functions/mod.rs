//! The function library: one registry of every function the language has.
//!
//! Each [`Function`] says its name, its parameters (with the kind of value
//! each takes, which are optional, and whether the last repeats), its
//! return type as a function of the argument types, a one-line doc, how it
//! treats unknown and sensitive arguments ([`Policy`]) and its
//! implementation. Everything that needs to know about functions reads it:
//! the evaluator calls through it, resolve reports unknown functions (E0207)
//! and wrong argument counts (E0309) from it, type inference takes argument
//! and return types from it, and `docs/functions.md` documents exactly its
//! functions (a test holds the two together).
//!
//! Why policies: most functions compute from the whole of their arguments,
//! so an unknown anywhere makes the result unknown and a mark anywhere makes
//! it sensitive ([`Policy::Strict`]). Functions that only move parts around
//! (`concat`, `merge`, `length`, `keys`, `element`, ...) see the parts with
//! their own marks and unknowns ([`Policy::Shallow`]), so `length` of a list
//! of unknowns is known and `concat` keeps each secret marked where it is
//! rather than marking the whole list.

mod collections;
mod encoding;
mod strings;

#[cfg(test)]
mod tests;

use crate::ast::Ident;
use crate::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::eval::FileSource;
use crate::source::Span;
use crate::types::Type;
use crate::value::Value;
use std::sync::OnceLock;

/// What kind of value a parameter takes. Checked before the implementation
/// runs (at evaluation) and against inferred types (statically).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Anything, null included.
    Any,
    /// A string; numbers and bools are converted to their text.
    String,
    Number,
    Bool,
    List,
    /// An object or map.
    Object,
    /// A list or an object.
    Collection,
    /// A list, an object or a string (`length`).
    Sized,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Any => "any value",
            Kind::String => "a string",
            Kind::Number => "a number",
            Kind::Bool => "a bool",
            Kind::List => "a list",
            Kind::Object => "an object or map",
            Kind::Collection => "a list or an object",
            Kind::Sized => "a list, an object or a string",
        }
    }

    /// The type written in signatures.
    pub fn signature(self) -> &'static str {
        match self {
            Kind::Any => "any",
            Kind::String => "string",
            Kind::Number => "number",
            Kind::Bool => "bool",
            Kind::List => "list",
            Kind::Object => "map",
            Kind::Collection => "list | map",
            Kind::Sized => "list | map | string",
        }
    }

    /// Whether a known value (top-level marks removed) fits. Null fits `Any` only.
    pub fn accepts(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (_, Value::Unknown)
                | (Kind::Any, _)
                | (Kind::String, Value::String(_) | Value::Number(_) | Value::Bool(_))
                | (Kind::Number, Value::Number(_))
                | (Kind::Bool, Value::Bool(_))
                | (Kind::List, Value::List(_))
                | (Kind::Object, Value::Object(_))
                | (Kind::Collection, Value::List(_) | Value::Object(_))
                | (Kind::Sized, Value::List(_) | Value::Object(_) | Value::String(_))
        )
    }

    /// Whether a value of static type `ty` can fit (`Any` always can).
    pub fn accepts_type(self, ty: &Type) -> bool {
        match (self, ty.base()) {
            (Kind::Any, _) | (_, Type::Any) => true,
            (Kind::String, t) => matches!(
                t,
                Type::String | Type::Number | Type::Bool | Type::Quantity | Type::Duration | Type::Port
            ),
            (Kind::Number, t) => matches!(t, Type::Number | Type::Port),
            (Kind::Bool, t) => matches!(t, Type::Bool),
            (Kind::List, t) => matches!(t, Type::List(_)),
            (Kind::Object, t) => matches!(t, Type::Map(_) | Type::Object(_) | Type::Ref(_)),
            (Kind::Collection, t) => {
                matches!(t, Type::List(_) | Type::Map(_) | Type::Object(_) | Type::Ref(_))
            }
            (Kind::Sized, t) => matches!(
                t,
                Type::List(_)
                    | Type::Map(_)
                    | Type::Object(_)
                    | Type::Ref(_)
                    | Type::String
                    | Type::Quantity
                    | Type::Duration
            ),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
}

/// How a function treats unknown and sensitive arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Any unknown part of any argument makes the result unknown; any
    /// sensitive part makes it sensitive. The implementation sees plain,
    /// known values.
    Strict,
    /// Only whole arguments count: an unknown argument makes the result
    /// unknown, a sensitive one makes it sensitive. The implementation sees
    /// the parts as they are (unknown elements, marked elements) and keeps
    /// or derives their marks.
    Shallow,
    /// The implementation sees the arguments exactly as given (marks and all).
    Raw,
    /// Special forms the evaluator runs itself (`try`, `can`): their
    /// arguments are evaluated lazily.
    Lazy,
}

/// One function of the library.
pub struct Function {
    pub name: &'static str,
    pub params: &'static [Param],
    /// How many of `params` must be given (the rest are optional).
    pub required: usize,
    /// Whether the last parameter repeats (any number of further arguments, none included).
    pub variadic: bool,
    /// The result's type from the arguments' types.
    pub returns: fn(&[Type]) -> Type,
    pub doc: &'static str,
    pub policy: Policy,
    implementation: Implementation,
}

type Implementation = fn(&[Value], &CallContext<'_>) -> Result<Value, FunctionError>;

/// What an implementation may use besides its arguments.
pub struct CallContext<'a> {
    pub files: Option<&'a dyn FileSource>,
}

/// Why a call failed: which argument (0-based, `None` for the call as a
/// whole) and why, as a clause ("the string \"eighty\" is not a number").
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionError {
    pub argument: Option<usize>,
    pub message: String,
}

impl FunctionError {
    pub fn at(argument: usize, message: impl Into<String>) -> FunctionError {
        FunctionError { argument: Some(argument), message: message.into() }
    }

    pub fn call(message: impl Into<String>) -> FunctionError {
        FunctionError { argument: None, message: message.into() }
    }
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.signature())
    }
}

impl Function {
    /// Whether `count` arguments fit.
    pub fn accepts(&self, count: usize) -> bool {
        count >= self.required && (self.variadic || count <= self.params.len())
    }

    /// The parameter argument `i` goes to.
    pub fn param(&self, i: usize) -> Option<&Param> {
        match self.params.get(i) {
            Some(p) => Some(p),
            None if self.variadic => self.params.last(),
            None => None,
        }
    }

    pub fn parameter_name(&self, i: usize) -> &'static str {
        self.param(i).map_or("?", |p| p.name)
    }

    /// `substr(str: string, offset: number, length: number)`, optional ones in brackets, `...` repeating.
    pub fn signature(&self) -> String {
        let mut parts = Vec::new();
        for (i, p) in self.params.iter().enumerate() {
            let mut text = format!("{}: {}", p.name, p.kind.signature());
            if self.variadic && i + 1 == self.params.len() {
                text.push_str("...");
            }
            if i >= self.required && !(self.variadic && i + 1 == self.params.len()) {
                text = format!("[{text}]");
            }
            parts.push(text);
        }
        format!("{}({})", self.name, parts.join(", "))
    }

    /// "1 argument", "2 or 3 arguments", "at least 1 argument".
    pub fn arity_text(&self) -> String {
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        if self.variadic {
            let least = self.required.min(self.params.len().saturating_sub(1)).max(self.required);
            if least == 0 {
                "any number of arguments".to_string()
            } else {
                format!("at least {least} {}", plural(least))
            }
        } else if self.required == self.params.len() {
            format!("{} {}", self.required, plural(self.required))
        } else {
            format!("{} to {} arguments", self.required, self.params.len())
        }
    }
}

/// Every function, sorted by name.
pub fn all() -> &'static [Function] {
    LIBRARY
}

/// The function called `name`.
pub fn lookup(name: &str) -> Option<&'static Function> {
    // Looked up at every call, by resolve, inference and evaluation.
    static INDEX: OnceLock<crate::hash::FastMap<&'static str, &'static Function>> = OnceLock::new();
    INDEX.get_or_init(|| LIBRARY.iter().map(|f| (f.name, f)).collect()).get(name).copied()
}

/// E0207 for a call of a function that does not exist, with "did you mean".
pub fn unknown_function(name: &Ident) -> Diagnostic {
    let help = did_you_mean(&name.name, LIBRARY.iter().map(|f| f.name))
        .or_else(|| foreign_name(&name.name).map(|ours| format!("did you mean `{ours}`?")))
        .unwrap_or_else(|| "the functions are listed in docs/functions.md".to_string());
    Diagnostic::new(Code::UnknownFunction, name.span, format!("There is no function named `{}`.", name.name))
        .with_label("unknown function")
        .with_help(help)
}

/// Names other languages use for our functions.
fn foreign_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "len" | "size" | "count" => "length",
        "str" | "to_string" | "string" => "tostring",
        "int" | "float" | "parseint" | "number" => "tonumber",
        "uppercase" | "toupper" => "upper",
        "lowercase" | "tolower" => "lower",
        "strip" | "trim_space" => "trimspace",
        "sprintf" | "printf" => "format",
        "env" | "getenv" => return None,
        "readfile" | "read_file" => "file",
        "to_json" | "json" => "jsonencode",
        _ => return None,
    })
}

/// E0309 for a call of `function` with arguments at `args` (the whole
/// call at `span`): too many points at the extra ones, too few at the call.
pub fn wrong_count(function: &Function, args: &[Span], name: &Ident, span: Span) -> Diagnostic {
    let given = args.len();
    let was = if given == 1 { "1 was given".to_string() } else { format!("{given} were given") };
    let message = format!("`{}` takes {}, but {was}.", function.name, function.arity_text());
    let diagnostic = if given > function.params.len() && !function.variadic {
        let extra = &args[function.params.len()..];
        let at = extra[0].to(extra[extra.len() - 1]);
        let label = if extra.len() == 1 {
            "one argument too many".to_string()
        } else {
            format!("{} arguments too many", extra.len())
        };
        Diagnostic::new(Code::WrongArgumentCount, at, message).with_label(label)
    } else {
        let missing = function.required - given;
        let label = if missing == 1 {
            "one argument missing".to_string()
        } else {
            format!("{missing} arguments missing")
        };
        Diagnostic::new(Code::WrongArgumentCount, span, message).with_label(label)
    };
    let _ = name;
    diagnostic.with_help(format!("call it as `{}`", function.signature()))
}

/// Runs `function` on evaluated arguments (their count already checked),
/// applying its policy on unknown and sensitive arguments.
pub fn call(
    function: &Function,
    args: Vec<Value>,
    context: &CallContext<'_>,
) -> Result<Value, FunctionError> {
    if function.policy == Policy::Raw {
        check_kinds(function, &args)?;
        return (function.implementation)(&args, context);
    }
    if function.policy == Policy::Lazy {
        return Err(FunctionError::call("this function is evaluated by the evaluator itself"));
    }
    let mut sensitive = false;
    let mut unknown = false;
    let mut plain = Vec::with_capacity(args.len());
    for arg in args {
        let (arg, marked) = crate::eval::unmark(arg);
        sensitive |= marked;
        unknown |= matches!(arg, Value::Unknown);
        plain.push(arg);
    }
    check_kinds(function, &plain)?;
    if function.policy == Policy::Strict {
        sensitive |= plain.iter().any(Value::has_sensitive);
        unknown |= plain.iter().any(Value::has_unknown);
        if unknown {
            return Ok(crate::eval::mark(Value::Unknown, sensitive));
        }
        let plain: Vec<Value> = plain.iter().map(Value::unmarked).collect();
        let result = (function.implementation)(&plain, context).map_err(|e| redact(e, sensitive))?;
        return Ok(crate::eval::mark(result, sensitive));
    }
    if unknown {
        return Ok(crate::eval::mark(Value::Unknown, sensitive));
    }
    let sensitive_parts = sensitive || plain.iter().any(Value::has_sensitive);
    let result = (function.implementation)(&plain, context).map_err(|e| redact(e, sensitive_parts))?;
    Ok(crate::eval::mark(result, sensitive))
}

/// An error computed from sensitive arguments may quote them: say only that.
fn redact(error: FunctionError, sensitive: bool) -> FunctionError {
    if !sensitive {
        return error;
    }
    FunctionError {
        argument: error.argument,
        message: "it fails on a sensitive value (why is not shown, so as not to show the value)".to_string(),
    }
}

/// Each known argument against its parameter's kind.
fn check_kinds(function: &Function, args: &[Value]) -> Result<(), FunctionError> {
    for (i, arg) in args.iter().enumerate() {
        let Some(param) = function.param(i) else { continue };
        let arg = strip(arg);
        if !param.kind.accepts(arg) {
            return Err(FunctionError::at(
                i,
                format!(
                    "`{}` must be {}, but this is {}",
                    param.name,
                    param.kind.describe(),
                    crate::eval::type_name(arg)
                ),
            ));
        }
    }
    Ok(())
}

fn strip(value: &Value) -> &Value {
    match value {
        Value::Sensitive(inner) => strip(inner),
        other => other,
    }
}

/// The work a result stands for (elements, string bytes / 64), for the evaluator's budget.
pub fn size_hint(value: &Value) -> u64 {
    match value {
        Value::String(s) => s.len() as u64 / 64,
        Value::List(items) => items.len() as u64,
        Value::Object(fields) => fields.len() as u64,
        Value::Sensitive(inner) => size_hint(inner),
        _ => 0,
    }
}

// ----- argument access for implementations (kinds already checked) -----

pub(crate) fn text(args: &[Value], i: usize) -> Result<String, FunctionError> {
    match args.get(i).map(strip) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(crate::value::format_number(*n)),
        Some(Value::Bool(b)) => Ok(b.to_string()),
        Some(other) => {
            Err(FunctionError::at(i, format!("expected a string, found {}", crate::eval::type_name(other))))
        }
        None => Err(FunctionError::call("an argument is missing")),
    }
}

pub(crate) fn number(args: &[Value], i: usize) -> Result<f64, FunctionError> {
    match args.get(i).map(strip) {
        Some(Value::Number(n)) => Ok(*n),
        Some(other) => {
            Err(FunctionError::at(i, format!("expected a number, found {}", crate::eval::type_name(other))))
        }
        None => Err(FunctionError::call("an argument is missing")),
    }
}

/// A whole number argument within `range`.
pub(crate) fn whole(args: &[Value], i: usize, what: &str) -> Result<i64, FunctionError> {
    let n = number(args, i)?;
    if n.fract() != 0.0 || n.abs() > 9.007_199_254_740_992e15 {
        return Err(FunctionError::at(
            i,
            format!("{what} must be a whole number, but it is {}", crate::value::format_number(n)),
        ));
    }
    Ok(n as i64)
}

pub(crate) fn list(args: &[Value], i: usize) -> Result<&[Value], FunctionError> {
    match args.get(i).map(strip) {
        Some(Value::List(items)) => Ok(items),
        Some(other) => {
            Err(FunctionError::at(i, format!("expected a list, found {}", crate::eval::type_name(other))))
        }
        None => Err(FunctionError::call("an argument is missing")),
    }
}

pub(crate) fn object(args: &[Value], i: usize) -> Result<&stackc_model::Fields, FunctionError> {
    match args.get(i).map(strip) {
        Some(Value::Object(fields)) => Ok(fields),
        Some(other) => Err(FunctionError::at(
            i,
            format!("expected an object or map, found {}", crate::eval::type_name(other)),
        )),
        None => Err(FunctionError::call("an argument is missing")),
    }
}

// ----- return types -----

fn ret_string(_: &[Type]) -> Type {
    Type::String
}
fn ret_number(_: &[Type]) -> Type {
    Type::Number
}
fn ret_bool(_: &[Type]) -> Type {
    Type::Bool
}
fn ret_any(_: &[Type]) -> Type {
    Type::Any
}
fn ret_list_string(_: &[Type]) -> Type {
    Type::List(Box::new(Type::String))
}
fn ret_list_number(_: &[Type]) -> Type {
    Type::List(Box::new(Type::Number))
}
fn ret_list_any(_: &[Type]) -> Type {
    Type::List(Box::new(Type::Any))
}
fn ret_map_any(_: &[Type]) -> Type {
    Type::Map(Box::new(Type::Any))
}
/// The first argument's type (a list stays that list).
fn ret_first(args: &[Type]) -> Type {
    match args.first().map(Type::base) {
        Some(Type::List(_)) | Some(Type::Map(_)) | Some(Type::Object(_)) => args[0].base().clone(),
        Some(Type::Any) | None => Type::Any,
        Some(_) => Type::Any,
    }
}
/// A list like the first argument (`Any` list when it is not one).
fn ret_first_list(args: &[Type]) -> Type {
    match args.first().map(Type::base) {
        Some(Type::List(inner)) => Type::List(inner.clone()),
        _ => ret_list_any(args),
    }
}
/// A list of the elements of every argument (`concat`, `setunion`).
fn ret_concat(args: &[Type]) -> Type {
    let mut element: Option<Type> = None;
    for arg in args {
        let ty = match arg.base() {
            Type::List(inner) => inner.base().clone(),
            _ => Type::Any,
        };
        element = Some(match element {
            None => ty,
            Some(previous) if previous == ty => previous,
            Some(_) => Type::Any,
        });
    }
    Type::List(Box::new(element.unwrap_or(Type::Any)))
}
/// An element of the first argument (a list or a map).
fn ret_element(args: &[Type]) -> Type {
    match args.first().map(Type::base) {
        Some(Type::List(inner)) | Some(Type::Map(inner)) => inner.base().clone(),
        _ => Type::Any,
    }
}
/// The values of the first argument, as a list.
fn ret_values(args: &[Type]) -> Type {
    match args.first().map(Type::base) {
        Some(Type::Map(inner)) => Type::List(inner.clone()),
        _ => ret_list_any(args),
    }
}
/// `sensitive(x)`: x's type, marked.
fn ret_sensitive(args: &[Type]) -> Type {
    match args.first() {
        Some(t) if t.is_sensitive() => t.clone(),
        Some(t) => Type::Sensitive(Box::new(t.clone())),
        None => Type::Any,
    }
}
/// `nonsensitive(x)`: x's type, unmarked.
fn ret_plain(args: &[Type]) -> Type {
    args.first().map_or(Type::Any, |t| t.base().clone())
}
/// The common type of all arguments (`coalesce`, `try`).
fn ret_common(args: &[Type]) -> Type {
    let mut common: Option<&Type> = None;
    for arg in args {
        if matches!(arg.base(), Type::Any) {
            return Type::Any;
        }
        match common {
            None => common = Some(arg.base()),
            Some(c) if c == arg.base() => {}
            Some(_) => return Type::Any,
        }
    }
    common.cloned().unwrap_or(Type::Any)
}
/// `merge`: a map when every argument is a map of one element type, else `Any`.
fn ret_merge(args: &[Type]) -> Type {
    let common = ret_common(args);
    match common {
        Type::Map(_) => common,
        _ => ret_map_any(args),
    }
}

macro_rules! params {
    ($( $name:literal : $kind:ident ),* $(,)?) => {
        &[ $( Param { name: $name, kind: Kind::$kind } ),* ]
    };
}

macro_rules! function {
    ($name:literal, $params:expr, $required:expr, $variadic:expr, $returns:expr, $policy:ident, $imp:expr, $doc:literal) => {
        Function {
            name: $name,
            params: $params,
            required: $required,
            variadic: $variadic,
            returns: $returns,
            doc: $doc,
            policy: Policy::$policy,
            implementation: $imp,
        }
    };
}

fn lazy(_: &[Value], _: &CallContext<'_>) -> Result<Value, FunctionError> {
    Err(FunctionError::call("this function is evaluated by the evaluator itself"))
}

use collections as c;
use encoding as e;
use strings as s;

/// The library, sorted by name (a test checks the order).
static LIBRARY: &[Function] = &[
    function!(
        "abs",
        params!("num": Number),
        1,
        false,
        ret_number,
        Strict,
        e::abs,
        "The absolute value of a number."
    ),
    function!(
        "alltrue",
        params!("list": List),
        1,
        false,
        ret_bool,
        Strict,
        c::alltrue,
        "Whether every element of a list of bools is true (true for an empty list)."
    ),
    function!(
        "anytrue",
        params!("list": List),
        1,
        false,
        ret_bool,
        Strict,
        c::anytrue,
        "Whether any element of a list of bools is true (false for an empty list)."
    ),
    function!(
        "base64decode",
        params!("str": String),
        1,
        false,
        ret_string,
        Strict,
        e::base64decode,
        "Decodes Base64 text whose bytes are UTF-8."
    ),
    function!(
        "base64encode",
        params!("str": String),
        1,
        false,
        ret_string,
        Strict,
        e::base64encode,
        "Encodes a string's UTF-8 bytes as Base64."
    ),
    function!(
        "base64sha256",
        params!("str": String),
        1,
        false,
        ret_string,
        Strict,
        e::base64sha256,
        "The SHA-256 hash of a string, Base64-encoded."
    ),
    function!(
        "can",
        params!("expr": Any),
        1,
        false,
        ret_bool,
        Lazy,
        lazy,
        "Whether an expression evaluates without an error."
    ),
    function!(
        "ceil",
        params!("num": Number),
        1,
        false,
        ret_number,
        Strict,
        e::ceil,
        "The smallest whole number greater than or equal to a number."
    ),
    function!(
        "chomp",
        params!("str": String),
        1,
        false,
        ret_string,
        Strict,
        s::chomp,
        "A string without its trailing newlines."
    ),
    function!(
        "chunklist",
        params!("list": List, "size": Number),
        2,
        false,
        ret_list_any,
        Shallow,
        c::chunklist,
        "A list split into lists of at most `size` elements."
    ),
    function!(
        "coalesce",
        params!("vals": Any),
        0,
        true,
        ret_common,
        Raw,
        c::coalesce,
        "The first argument that is not null or an empty string."
    ),
    function!(
        "coalescelist",
        params!("lists": Any),
        0,
        true,
        ret_first_list,
        Raw,
        c::coalescelist,
        "The first argument that is a non-empty list."
    ),
    function!(
        "compact",
        params!("list": List),
        1,
        false,
        ret_list_string,
        Strict,
        c::compact,
        "A list without its null and empty-string elements."
    ),
    function!(
        "concat",
        params!("lists": List),
        0,
        true,
        ret_concat,
        Shallow,
        c::concat,
        "The lists joined end to end, in order."
    ),
    function!(
        "contains",
        params!("list": List, "value": Any),
        2,
        false,
        ret_bool,
        Strict,
        c::contains,
        "Whether a list has an element equal to a value."
    ),
    function!(
        "distinct",
        params!("list": List),
        1,
        false,
        ret_first_list,
        Strict,
        c::distinct,
        "A list without its repeated elements (first occurrences kept, in order)."
    ),
    function!(
        "element",
        params!("list": List, "index": Number),
        2,
        false,
        ret_element,
        Shallow,
        c::element,
        "The element at an index, wrapping around past the end."
    ),
    function!(
        "endswith",
        params!("str": String, "suffix": String),
        2,
        false,
        ret_bool,
        Strict,
        s::endswith,
        "Whether a string ends with a suffix."
    ),
    function!(
        "file",
        params!("path": String),
        1,
        false,
        ret_string,
        Strict,
        e::file,
        "The text of a file, by path relative to the stack's directory."
    ),
    function!(
        "flatten",
        params!("list": List),
        1,
        false,
        ret_list_any,
        Shallow,
        c::flatten,
        "Nested lists replaced by their elements, recursively."
    ),
    function!(
        "floor",
        params!("num": Number),
        1,
        false,
        ret_number,
        Strict,
        e::floor,
        "The largest whole number less than or equal to a number."
    ),
    function!(
        "format",
        params!("spec": String, "args": Any),
        1,
        true,
        ret_string,
        Strict,
        s::format,
        "A string built from a format spec (`%s`, `%d`, `%f`, `%q`, `%v`, `%t`, `%%`) and values."
    ),
    function!(
        "formatlist",
        params!("spec": String, "args": Any),
        1,
        true,
        ret_list_string,
        Strict,
        s::formatlist,
        "`format` applied element by element over lists (other arguments repeat)."
    ),
    function!(
        "indent",
        params!("spaces": Number, "str": String),
        2,
        false,
        ret_string,
        Strict,
        s::indent,
        "A string with every line but the first indented by a number of spaces."
    ),
    function!(
        "index",
        params!("list": List, "value": Any),
        2,
        false,
        ret_number,
        Strict,
        c::index,
        "The index of the first element equal to a value."
    ),
    function!(
        "join",
        params!("separator": String, "list": List),
        2,
        false,
        ret_string,
        Strict,
        s::join,
        "The elements of a list of strings, joined with a separator."
    ),
    function!(
        "jsondecode",
        params!("str": String),
        1,
        false,
        ret_any,
        Strict,
        e::jsondecode,
        "The value a JSON text stands for."
    ),
    function!(
        "jsonencode",
        params!("val": Any),
        1,
        false,
        ret_string,
        Strict,
        e::jsonencode,
        "A value as compact JSON text."
    ),
    function!(
        "keys",
        params!("map": Object),
        1,
        false,
        ret_list_string,
        Shallow,
        c::keys,
        "The keys of an object or map, in order."
    ),
    function!(
        "length",
        params!("value": Sized),
        1,
        false,
        ret_number,
        Shallow,
        c::length,
        "The number of elements of a list or object, or of characters of a string."
    ),
    function!(
        "lookup",
        params!("map": Object, "key": String, "default": Any),
        2,
        false,
        ret_element,
        Shallow,
        c::lookup,
        "The value of a key of a map, or a default when the key is missing."
    ),
    function!(
        "lower",
        params!("str": String),
        1,
        false,
        ret_string,
        Strict,
        s::lower,
        "A string in lower case."
    ),
    function!(
        "max",
        params!("numbers": Number),
        1,
        true,
        ret_number,
        Strict,
        e::max,
        "The largest of one or more numbers."
    ),
    function!(
        "merge",
        params!("maps": Any),
        0,
        true,
        ret_merge,
        Shallow,
        c::merge,
        "Objects or maps merged; a later key wins. Null arguments are skipped."
    ),
    function!(
        "min",
        params!("numbers": Number),
        1,
        true,
        ret_number,
        Strict,
        e::min,
        "The smallest of one or more numbers."
    ),
    function!(
        "nonsensitive",
        params!("value": Any),
        1,
        false,
        ret_plain,
        Raw,
        e::nonsensitive,
        "The value with its sensitive marks removed, so it may be shown."
    ),
    function!(
        "one",
        params!("list": List),
        1,
        false,
        ret_element,
        Shallow,
        c::one,
        "The only element of a list of zero or one elements (null when empty)."
    ),
    function!(
        "parseint",
        params!("str": String, "base": Number),
        2,
        false,
        ret_number,
        Strict,
        e::parseint,
        "A whole number parsed from text in a base from 2 to 36."
    ),
    function!(
        "pow",
        params!("base": Number, "exponent": Number),
        2,
        false,
        ret_number,
        Strict,
        e::pow,
        "A number raised to a power."
    ),
    function!(
        "range",
        params!("start": Number, "limit": Number, "step": Number),
        1,
        false,
        ret_list_number,
        Strict,
        c::range,
        "A list of numbers: `range(n)` is 0 to n-1; `range(a, b, step)` counts from a towards b."
    ),
    function!(
        "regex",
        params!("pattern": String, "str": String),
        2,
        false,
        ret_any,
        Strict,
        s::regex,
        "The first match of a regular expression: the text, or its capture groups."
    ),
    function!(
        "regexall",
        params!("pattern": String, "str": String),
        2,
        false,
        ret_list_any,
        Strict,
        s::regexall,
        "Every match of a regular expression, as `regex` gives each."
    ),
    function!(
        "replace",
        params!("str": String, "substr": String, "replacement": String),
        3,
        false,
        ret_string,
        Strict,
        s::replace,
        "A string with every occurrence of a substring (or of a `/regex/`) replaced."
    ),
    function!(
        "reverse",
        params!("list": List),
        1,
        false,
        ret_first_list,
        Shallow,
        c::reverse,
        "A list in reverse order."
    ),
    function!(
        "sensitive",
        params!("value": Any),
        1,
        false,
        ret_sensitive,
        Raw,
        e::sensitive,
        "The value marked sensitive: never shown in plans, outputs or logs."
    ),
    function!(
        "setunion",
        params!("lists": List),
        1,
        true,
        ret_concat,
        Strict,
        c::setunion,
        "The distinct elements of all the lists, in order of first occurrence."
    ),
    function!(
        "sha256",
        params!("str": String),
        1,
        false,
        ret_string,
        Strict,
        e::sha256,
        "The SHA-256 hash of a string, as lowercase hex."
    ),
    function!(
        "sha512",
        params!("str": String),
        1,
        false,
        ret_string,
        Strict,
        e::sha512,
        "The SHA-512 hash of a string, as lowercase hex."
    ),
    function!(
        "signum",
        params!("num": Number),
        1,
        false,
        ret_number,
        Strict,
        e::signum,
        "-1, 0 or 1: the sign of a number."
    ),
    function!(
        "slice",
        params!("list": List, "start": Number, "end": Number),
        3,
        false,
        ret_first_list,
        Shallow,
        c::slice,
        "The elements of a list from index `start` up to, not including, `end`."
    ),
    function!(
        "sort",
        params!("list": List),
        1,
        false,
        ret_list_string,
        Strict,
        c::sort,
        "A list of strings in lexicographic order."
    ),
    function!(
        "split",
        params!("separator": String, "str": String),
        2,
        false,
        ret_list_string,
        Strict,
        s::split,
        "A string cut at every occurrence of a separator."
    ),
    function!(
        "startswith",
        params!("str": String, "prefix": String),
        2,
        false,
        ret_bool,
        Strict,
        s::startswith,
        "Whether a string starts with a prefix."
    ),
    function!(
        "strcontains",
        params!("str": String, "substr": String),
        2,
        false,
        ret_bool,
        Strict,
        s::strcontains,
        "Whether a string contains a substring."
    ),
    function!(
        "strrev",
        params!("str": String),
        1,
        false,
        ret_string,
        Strict,
        s::strrev,
        "A string with its characters in reverse order."
    ),
    function!(
        "substr",
        params!("str": String, "offset": Number, "length": Number),
        3,
        false,
        ret_string,
        Strict,
        s::substr,
        "Part of a string, by character offset and length (-1: to the end)."
    ),
    function!(
        "sum",
        params!("list": List),
        1,
        false,
        ret_number,
        Strict,
        e::sum,
        "The sum of a list of numbers."
    ),
    function!(
        "title",
        params!("str": String),
        1,
        false,
        ret_string,
        Strict,
        s::title,
        "A string with the first letter of every word in upper case."
    ),
    function!(
        "tobool",
        params!("value": Any),
        1,
        false,
        ret_bool,
        Strict,
        e::tobool,
        "A bool, or the string \"true\" or \"false\", as a bool (null stays null)."
    ),
    function!(
        "tolist",
        params!("value": List),
        1,
        false,
        ret_first_list,
        Shallow,
        c::tolist,
        "A list as a list (for symmetry with `toset`)."
    ),
    function!(
        "tomap",
        params!("value": Object),
        1,
        false,
        ret_first,
        Shallow,
        c::tomap,
        "An object as a map."
    ),
    function!(
        "tonumber",
        params!("value": Any),
        1,
        false,
        ret_number,
        Strict,
        e::tonumber,
        "A number, or a string holding one, as a number (null stays null)."
    ),
    function!(
        "toset",
        params!("value": List),
        1,
        false,
        ret_first_list,
        Strict,
        c::distinct,
        "A list without repeated elements (sets are lists of distinct elements here)."
    ),
    function!(
        "tostring",
        params!("value": Any),
        1,
        false,
        ret_string,
        Strict,
        e::tostring,
        "A string, number or bool as a string (null stays null)."
    ),
    function!(
        "trim",
        params!("str": String, "cutset": String),
        2,
        false,
        ret_string,
        Strict,
        s::trim,
        "A string without the given characters at its start and end."
    ),
    function!(
        "trimprefix",
        params!("str": String, "prefix": String),
        2,
        false,
        ret_string,
        Strict,
        s::trimprefix,
        "A string without a prefix, if it starts with it."
    ),
    function!(
        "trimspace",
        params!("str": String),
        1,
        false,
        ret_string,
        Strict,
        s::trimspace,
        "A string without whitespace at its start and end."
    ),
    function!(
        "trimsuffix",
        params!("str": String, "suffix": String),
        2,
        false,
        ret_string,
        Strict,
        s::trimsuffix,
        "A string without a suffix, if it ends with it."
    ),
    function!(
        "try",
        params!("exprs": Any),
        1,
        true,
        ret_common,
        Lazy,
        lazy,
        "The first argument that evaluates without an error."
    ),
    function!(
        "upper",
        params!("str": String),
        1,
        false,
        ret_string,
        Strict,
        s::upper,
        "A string in upper case."
    ),
    function!(
        "urlencode",
        params!("str": String),
        1,
        false,
        ret_string,
        Strict,
        e::urlencode,
        "A string percent-encoded for a URL's query."
    ),
    function!(
        "values",
        params!("map": Object),
        1,
        false,
        ret_values,
        Shallow,
        c::values,
        "The values of an object or map, in key order."
    ),
    function!(
        "zipmap",
        params!("keys": List, "values": List),
        2,
        false,
        ret_map_any,
        Shallow,
        c::zipmap,
        "A map from a list of keys and a list of values of the same length."
    ),
];
