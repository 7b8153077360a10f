//! One module per subcommand.

pub mod apply;
pub mod build;
pub mod check;
pub mod completions;
pub mod explain;
pub mod fmt;
pub mod graph;
pub mod import;
pub mod init;
pub mod lsp;
pub mod output;
pub mod plan;
pub mod reconcile;
pub mod rollout;
pub mod state;
pub mod status;
