//! rulecheck: sanctions and export-control rules as code, with explained verdicts.
//!
//! The pipeline, one module per stage: source text → [`parser`] (pest) → [`ast`] →
//! [`check`] (names, types, facts) → [`compile`] (resolved, indexed rule set) →
//! [`eval`] (three-valued, with evidence) → [`verdict`] → [`render`] (text, JSON).
//! [`lint`] runs after `compile`, for `rulecheck check` only.
#![forbid(unsafe_code)]

pub mod ast;
pub mod batch;
pub mod check;
pub mod compile;
pub mod corpus;
pub mod diagnostics;
pub mod diff;
pub mod eval;
pub mod facts;
pub mod lint;
pub mod lists;
pub mod load;
pub mod parser;
pub mod render;
pub mod schema;
pub mod source;
pub mod testing;
pub mod types;
pub mod verdict;
