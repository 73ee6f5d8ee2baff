//! Rules: rule files ([`file`]), and the offline checks and tests built on them.
//!
//! A parsed [`file::RuleFile`] is the value the evaluator runs: expressions and templates
//! are parsed once, when the file is read.

pub mod alert;
pub mod eval;
pub mod file;
pub mod lint;
pub mod round;
pub mod schedule;
pub mod state;
pub mod unittest;

pub use file::{FileError, Group, ParseOptions, Rule, RuleFile, RuleKind};
