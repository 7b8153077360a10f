//! The stackc planner: state, refresh, diff, plan, apply, state backends.
//!
//! Invariant: the planner reaches the outside world only through the
//! [`stackc_providers::Provider`] trait and a state backend.

pub mod backend;
pub mod state;
