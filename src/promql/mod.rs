//! PromQL: the query language, as Prometheus 3.x defines it.
//!
//! The phases are kept apart: [`lex`] (text → tokens), [`parse`] (tokens → [`ast::Expr`], then
//! the type check against [`functions`]' signature table), [`eval`] (the engine over a
//! [`eval::Storage`]: selectors, subqueries, the step loop) with [`binop`], [`aggregate`] and
//! [`call`] (function implementations), and [`value`] (results and annotations).
//! [`script`] runs the upstream `load`/`eval` test scripts against the engine.

pub mod aggregate;
pub mod ast;
pub mod binop;
pub mod call;
pub mod eval;
pub mod functions;
pub mod lex;
pub mod parse;
pub mod script;
pub mod value;

pub use ast::Expr;

/// Runs one step of a recursive walk over a query's tree on a stack that has room for it:
/// when less than 256 KiB is left, `f` runs on a new 4 MiB segment on the heap. The parser's
/// [`parse::MAX_DEPTH`] bounds how many segments a walk can need.
pub(crate) fn deep<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(256 * 1024, 4 * 1024 * 1024, f)
}
pub use eval::{evaluate, EvalError, MemStorage, Options, Range, Storage};
pub use parse::{parse, ParseError};
pub use value::{Annotations, Value};
