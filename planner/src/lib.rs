//! The stackc planner: state, refresh, diff, plan, apply, state backends.
//!
//! Invariant: the planner reaches the outside world only through the
//! [`stackc_providers::Provider`] trait and a state backend.

pub mod apply;
pub mod autoscale;
pub mod backend;
pub mod files;
pub mod plan;
pub mod planning;
pub mod providers;
pub mod render;
pub mod rollout;
pub mod saved;
pub mod select;
pub mod state;

#[cfg(test)]
pub(crate) mod tests;
