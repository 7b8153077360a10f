//! Hash maps and sets for the compiler's own lookup tables: declarations
//! by name, graph nodes, spans, roots by name.
//!
//! They hash with foldhash rather than the standard library's SipHash:
//! their keys are short (names, pairs of names, spans) and looked up once
//! or more per reference, where SipHash was a tenth of the check's work.
//! Each map still gets its own random seed, so a stack cannot be written
//! to make its names collide. Insertion order is kept (`IndexMap`), as
//! diagnostics and results follow declaration order.
//!
//! Values (`Value::Object`) hash with foldhash too, under a fixed seed
//! (`value::Fields`); types (`Type::Object`) keep `IndexMap`'s default
//! hasher.

/// An insertion-ordered map hashed with foldhash.
pub type FastMap<K, V> = indexmap::IndexMap<K, V, foldhash::fast::RandomState>;

/// An insertion-ordered set hashed with foldhash.
pub type FastSet<K> = indexmap::IndexSet<K, foldhash::fast::RandomState>;

/// A hash map without order, hashed with foldhash: for tables only looked
/// up by key (the planner's planned values and states by address, which
/// SipHash made a few percent of a 10,000-resource plan).
pub type FastHashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A hash set without order, hashed with foldhash.
pub type FastHashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
