//! The regression cases of the bundled rules (`tests/cases/`) run in `cargo test` too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test

use std::path::PathBuf;

use rulecheck::load::{Origin, load};
use rulecheck::testing::{discover, load_cases, run_all};

#[test]
fn every_case_of_the_bundled_rules_passes() {
    let (rules, warnings) = load(&Origin::Bundled).expect("the bundled rules check clean");
    assert!(warnings.is_empty(), "{warnings:?}");
    let files = discover(&[PathBuf::from("tests/cases")]).unwrap();
    assert!(!files.is_empty(), "no case files");
    let mut cases = Vec::new();
    for f in &files {
        cases.extend(load_cases(f).unwrap_or_else(|p| panic!("{}", p.one_line())));
    }
    let results = run_all(&rules, &cases, 2);
    let failures: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| {
            format!(
                "{} (line {}):\n  {}",
                r.case.id,
                r.case.line,
                r.failures.join("\n  ")
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}
