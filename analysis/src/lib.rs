//! Analysis of run outputs (see issue 8): placeholder crate root.
