//! Helpers for the expansion tests (and the provider crates' tests, through
//! the `test-support` feature): the shop stack and expansion of a stack with
//! the stdlib, both on the real parser ([`crate::syntax::parse`]) and
//! evaluator ([`crate::eval::ExpressionEvaluator`]).

use crate::diagnostic::Diagnostic;
use crate::source::FileId;
use crate::value::Value;
use indexmap::IndexMap;

pub use crate::syntax::parse_valid as parse;

/// A shop-like stack using every stdlib construct that all three targets
/// support (the `target` block is added by [`shop_for`]).
pub const SHOP: &str = r#"
variable "api_replicas" { default = 4 }

secret "db_password" {
  generate { length = 32 }
}

config "api" {
  data = { LOG_LEVEL = "info" }
}

database "main" {
  engine    = "postgres"
  instances = 3
  storage   = "20Gi"
  password  = secret.db_password
}

volume "uploads" { size = "5Gi" }

service "api" {
  image       = "registry.example.com/shop/api:1.4.2"
  replicas    = 4
  port        = 8080
  env         = { DATABASE_URL = database.main.url }
  secret_env  = { DATABASE_PASSWORD = secret.db_password }
  config_from = [config.api]
  volumes     = { "/uploads" = volume.uploads }
  resources {
    cpu    = "250m"
    memory = "256Mi"
  }
  health { path = "/healthz" }
  autoscale {
    min        = 4
    max        = 12
    cpu_target = 70
  }
  rollout {
    strategy = "canary"
    steps    = [10, 50, 100]
  }
}

job "migrate" {
  image   = "registry.example.com/shop/api:1.4.2"
  command = ["/app/migrate"]
}

load_balancer "public" {
  port = 80
  to   = service.api
}

output "url" { value = load_balancer.public.url }

"#;

/// [`SHOP`] with one target block.
pub fn shop_for(target: &str) -> String {
    let block = match target {
        "kubernetes" => "target \"kubernetes\" { namespace = \"shop\" }".to_string(),
        "aws" => {
            "target \"aws\" {\n  region = \"eu-west-3\"\n  ami = \"ami-0123456789abcdef0\"\n}".to_string()
        }
        other => format!("target \"{other}\" {{}}"),
    };
    format!("{SHOP}\n{block}\n")
}

/// Expands `text` with the stdlib, for its only target, with the real
/// evaluator; `prior` gives values from state.
pub fn expand_with_stdlib(
    text: &str,
    schemas: &dyn crate::schema::SchemaSource,
    prior: Option<super::PriorLookup<'_>>,
) -> (Option<crate::graph::ResourceGraph>, Vec<Diagnostic>) {
    expand_with_stdlib_as("shop", text, schemas, prior)
}

/// [`expand_with_stdlib`] for a stack named `stack` (`self.stack`).
pub fn expand_with_stdlib_as(
    stack: &str,
    text: &str,
    schemas: &dyn crate::schema::SchemaSource,
    prior: Option<super::PriorLookup<'_>>,
) -> (Option<crate::graph::ResourceGraph>, Vec<Diagnostic>) {
    expand_with_stdlib_scaled(stack, text, schemas, prior, IndexMap::new())
}

/// [`expand_with_stdlib_as`] with the replica counts an autoscaler
/// recorded (`ExpandOptions::autoscaled_replicas`).
pub fn expand_with_stdlib_scaled(
    stack: &str,
    text: &str,
    schemas: &dyn crate::schema::SchemaSource,
    prior: Option<super::PriorLookup<'_>>,
    autoscaled_replicas: IndexMap<String, u64>,
) -> (Option<crate::graph::ResourceGraph>, Vec<Diagnostic>) {
    let stdlib: Vec<_> = crate::stdlib::files()
        .iter()
        .enumerate()
        .map(|(i, (_, text))| parse(FileId(i as u32 + 1), text))
        .collect();
    let user = parse(FileId(0), text);
    let mut hir = lower(&stdlib, &user);
    hir.name = stack.to_string();
    hir.variables = [("api_replicas".to_string(), Value::Number(4.0))].into_iter().collect();
    let options = super::ExpandOptions {
        target: None,
        prior,
        evaluator: std::sync::Arc::new(crate::eval::ExpressionEvaluator::new()),
        command_line_span: super::no_span(),
        target_defaults: Default::default(),
        autoscaled_replicas,
        rollouts: IndexMap::new(),
    };
    super::expand(&hir, schemas, options)
}

/// The HIR of a stack of these files, as resolve lowers it (what resolve
/// reports is dropped: a test may expand what check would reject).
pub fn lower(stdlib: &[crate::ast::File], user: &crate::ast::File) -> crate::hir::Stack {
    let stdlib: Vec<&crate::ast::File> = stdlib.iter().collect();
    crate::resolve::resolve(&stdlib, &[user], &mut Vec::new()).stack
}
