//! rulecheck: sanctions and export-control rules as code, with explained verdicts.
//!
//! The pipeline, one module per stage: source text → [`parser`] (pest) → [`ast`] →
//! [`check`] (names, types, facts) → [`compile`] (resolved, indexed rule set) →
//! [`eval`] (three-valued, with evidence) → [`verdict`] → [`render`] (text, JSON).
//! Problems in rule files are reported by [`diagnostics`] (for people) and [`report`]
//! (JSON, SARIF, GitHub Actions annotations).
//! [`book`] writes a rule set as a linked rule book for reviewers (Markdown, HTML).
//! [`lint`] runs after `compile`, for `rulecheck check` only.
#![forbid(unsafe_code)]

pub mod ast;
pub mod batch;
pub mod book;
pub mod canonical;
pub mod check;
pub mod compile;
pub mod corpus;
pub mod diagnostics;
pub mod diff;
pub mod eval;
pub mod facts;
pub mod format;
pub mod json_text;
pub mod lint;
pub mod lists;
pub mod load;
pub mod outcome_json;
pub mod parser;
pub mod render;
pub mod report;
pub mod schema;
pub mod source;
pub mod testing;
pub mod types;
pub mod verdict;
