//! The standard library: component definitions written in the language,
//! embedded in the binary. A user's `component` block of the same name
//! overrides the stdlib one.

/// (path shown to users, text) of every stdlib file.
pub fn files() -> &'static [(&'static str, &'static str)] {
    &[]
}
