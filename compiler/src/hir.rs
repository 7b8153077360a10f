//! The typed, resolved stack (HIR): what `check` produces and `expand` consumes.
//! (Owned by the front end; filled in by the check stage.)

/// A checked stack.
#[derive(Clone, Debug, Default)]
pub struct Stack {}
