//! The checked stack: what `check` produces and `expand` consumes.
//!
//! The HIR keeps the syntax trees of every file `check` accepted (expansion
//! reads component bodies and instance blocks from them, see
//! [`crate::expand::model::StackDecl::read`]) plus what `check` computed that
//! later stages need: the values of the stack's variables (defaults,
//! `-var`, `--var-file` applied and validated) and the declared targets.
//! (Owned by the front end; the check stage may add fields.)

use crate::ast::File;
use crate::source::FileId;
use crate::value::Value;
use indexmap::IndexMap;

/// A checked stack.
#[derive(Clone, Debug, Default)]
pub struct Stack {
    /// Every parsed file, stdlib and user, by ascending [`FileId`].
    pub files: Vec<File>,
    /// The user's files (a subset of `files`), in load order.
    pub user_files: Vec<FileId>,
    /// The stdlib files (a subset of `files`), in load order.
    pub stdlib_files: Vec<FileId>,
    /// Every declared variable's value, in declaration order. A variable
    /// with neither default nor given value is absent (and `check` reported it).
    pub variables: IndexMap<String, Value>,
    /// The targets declared by `target "<name>" {}` blocks, in order.
    pub targets: Vec<String>,
}

impl Stack {
    pub fn file(&self, id: FileId) -> Option<&File> {
        self.files.iter().find(|f| f.id == id)
    }

    /// The stdlib's files, then the user's: the order
    /// [`crate::expand::model::StackDecl::read`] expects.
    pub fn stdlib_and_user_files(&self) -> (Vec<&File>, Vec<&File>) {
        let pick = |ids: &[FileId]| ids.iter().filter_map(|id| self.file(*id)).collect::<Vec<_>>();
        (pick(&self.stdlib_files), pick(&self.user_files))
    }
}
