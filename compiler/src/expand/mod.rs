//! Expansion: a checked stack, for one target, becomes a resource graph.
//!
//! Component instances are instantiated with their parameters; the body of
//! the component's `on "<target>"` block gives provider resources (with
//! `count`/`for_each`), nested instances and outputs. Each resource body is
//! checked against its type's schema (see [`schema_check`]); each resource
//! gets an address ([`address`]), its evaluated values (unknown where they
//! depend on other resources' computed attributes), the direct dependencies
//! its expressions reference, and its provenance (instance block ->
//! component -> resource block).

pub mod address;
pub mod refs;
pub mod schema_check;
