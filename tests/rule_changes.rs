//! Regression testing of rule changes over the real binary: `rulecheck test` (failures,
//! `--update`, `JUnit` and JSON, coverage) and `rulecheck diff` (transitions, causes,
//! `--fail-on`, git revisions, JSON Lines corpora).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

fn rulecheck() -> Command {
    Command::cargo_bin("rulecheck").expect("the binary is built by cargo test")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn examples_dir() -> PathBuf {
    std::fs::canonicalize("examples").unwrap()
}

/// A case file on the story example, in a temporary directory.
fn case_dir(verdict: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let story = examples_dir().join("bishkek-microcontrollers.yaml");
    std::fs::write(
        dir.path().join("story.yaml"),
        format!(
            "# the story case\nshipment: {}\ncases:\n  - name: story\n    expect:\n      verdict: {verdict}\n      findings: [eu.833.chpl_russia]\n\n  - name: sibling code\n    set: {{ \"items[0].hs_code\": \"8542.90\" }}\n    expect: {{ verdict: clear }}\n",
            story.display()
        ),
    )
    .unwrap();
    dir
}

/// A small rule set of the tests' own: the bundled library grows and changes.
const FIXTURE: &str = "tests/fixtures/rules";

fn run_test(dir: &Path, extra: &[&str]) -> Output {
    rulecheck()
        .args(["test", "--rules", FIXTURE])
        .args(extra)
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn a_broken_expectation_fails_with_case_expected_actual_and_explanation() {
    let dir = case_dir("clear");
    let out = run_test(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let s = text(&out.stdout);
    assert!(
        s.contains("FAIL ") && s.contains("story.yaml::story"),
        "{s}"
    );
    assert!(s.contains("verdict: expected clear, got prohibited"), "{s}");
    assert!(s.contains("explanation of the actual verdict"), "{s}");
    assert!(s.contains("items[0].hs_code = 8542.31 ∈ chpl"), "{s}");
    assert!(s.trim_end().ends_with("1 passed, 1 failed"), "{s}");

    let restored = case_dir("prohibited");
    let out = run_test(restored.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).trim_end().ends_with("2 passed, 0 failed"));
}

#[test]
fn update_rewrites_only_the_failing_expectation() {
    let dir = case_dir("review");
    let file = dir.path().join("story.yaml");
    let before = std::fs::read_to_string(&file).unwrap();
    let out = run_test(dir.path(), &["--update"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("updated the expectations of 1 case"));
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(
        after.contains("expect: { verdict: prohibited, findings: [eu.833.chpl_russia] }"),
        "{after}"
    );
    // Comments, the other case and the blank line between cases are kept.
    assert!(after.starts_with("# the story case\n"));
    assert!(after.contains("\n\n  - name: sibling code\n"), "{after}");
    assert_eq!(before.lines().count() - 2, after.lines().count(), "{after}");
    assert_eq!(run_test(dir.path(), &[]).status.code(), Some(0));
}

#[test]
fn junit_output_has_the_shape_of_the_junit_schema() {
    let dir = case_dir("clear");
    let out = run_test(dir.path(), &["--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = text(&out.stdout);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(roxmltree::Node::is_element)
        .collect();
    assert_eq!(suites.len(), 1);
    let suite = suites[0];
    assert_eq!(suite.tag_name().name(), "testsuite");
    for attr in ["name", "tests", "failures", "errors", "skipped"] {
        assert!(suite.attribute(attr).is_some(), "testsuite lacks {attr}");
    }
    assert_eq!(suite.attribute("tests"), Some("2"));
    assert_eq!(suite.attribute("failures"), Some("1"));
    let cases: Vec<_> = suite
        .children()
        .filter(roxmltree::Node::is_element)
        .collect();
    assert_eq!(cases.len(), 2);
    for c in &cases {
        assert_eq!(c.tag_name().name(), "testcase");
        assert!(c.attribute("name").is_some() && c.attribute("classname").is_some());
    }
    let failures: Vec<_> = cases
        .iter()
        .flat_map(|c| c.children().filter(|n| n.has_tag_name("failure")))
        .collect();
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0]
            .attribute("message")
            .unwrap()
            .contains("expected clear, got prohibited")
    );
    assert!(
        failures[0]
            .text()
            .unwrap()
            .contains("PROHIBITED eu.833.chpl_russia")
    );
}

#[test]
fn json_output_lists_every_case() {
    let dir = case_dir("prohibited");
    let out = run_test(dir.path(), &["--format", "json", "--coverage"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["passed"], 2);
    assert_eq!(v["failed"], 0);
    assert_eq!(v["cases"].as_array().unwrap().len(), 2);
    assert_eq!(v["cases"][0]["outcome"]["verdict"], "prohibited");
    assert!(
        v["coverage"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "eu.833.chpl_russia" && r["fired"] == 1)
    );
}

#[test]
fn coverage_names_every_rule_no_case_fires_and_min_coverage_fails_below() {
    let dir = case_dir("prohibited");
    let out = run_test(dir.path(), &["--coverage"]);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    assert!(s.contains("never fired by any case:"), "{s}");
    for line in s
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains(".rules:"))
    {
        assert!(!line.contains("eu.833.chpl_russia "), "{line}");
    }
    // The two rules no case fires are named with their file and line.
    assert!(
        s.contains("flags.no_end_user (tests/fixtures/rules/fixture.rules:"),
        "{s}"
    );
    assert!(
        s.contains("flags.route_via_russia (tests/fixtures/rules/fixture.rules:"),
        "{s}"
    );
    assert!(s.contains("coverage: 1 of 3 rules fired"), "{s}");
    let out = run_test(dir.path(), &["--min-coverage", "90"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("below the minimum of 90%"));
    assert_eq!(
        run_test(dir.path(), &["--min-coverage", "1"]).status.code(),
        Some(0)
    );
}

#[test]
fn filter_skips_and_nothing_run_is_a_failure() {
    let dir = case_dir("prohibited");
    let out = run_test(dir.path(), &["--filter", "sibling"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stdout)
            .trim_end()
            .ends_with("1 passed, 0 failed, 1 skipped")
    );
    let out = run_test(dir.path(), &["--filter", "nothing matches this"]);
    assert_eq!(out.status.code(), Some(1), "no case ran: not a pass");
}

#[test]
fn a_malformed_case_file_is_located() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "shipment: x.yaml\nexpect:\n  verdict: prohibitted\n",
    )
    .unwrap();
    let out = run_test(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(10));
    let e = text(&out.stderr);
    assert!(e.contains("bad.yaml") && e.contains("prohibitted"), "{e}");
}

/// The fixture rules with one effective date moved.
fn rules_with_moved_date() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(FIXTURE), &dir.path().join("rules"));
    let f = dir.path().join("rules/fixture.rules");
    let t = std::fs::read_to_string(&f).unwrap();
    let moved = t.replacen(
        "effective from 2022-02-25\n  when any item",
        "effective from 2024-05-01\n  when any item",
        1,
    );
    assert_ne!(
        t, moved,
        "the rule's date line changed shape; update this test"
    );
    std::fs::write(&f, moved).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

#[test]
fn diff_shows_exactly_the_shipments_a_moved_date_moves_with_the_rule() {
    let head = rules_with_moved_date();
    let head_rules = head.path().join("rules");
    let out = rulecheck()
        .args(["diff", "--base", FIXTURE, "--head"])
        .arg(&head_rules)
        .args(["--format", "json", "examples"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let changes = v["changes"].as_array().unwrap();
    // Only the story case is dated between the old and the new start date.
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["shipment"], "SHP-2024-0412-001");
    assert_eq!(changes[0]["direction"], "relaxation");
    assert_eq!(changes[0]["causes"][0]["rule"], "eu.833.chpl_russia");
    assert!(
        changes[0]["causes"][0]["why_not"]
            .as_str()
            .unwrap()
            .contains("in force from 2024-05-01")
    );
    assert!(
        changes[0]["causes"][0]["citation"]
            .as_str()
            .unwrap()
            .contains("833/2014")
    );

    let fail = |kind: &str| {
        rulecheck()
            .args(["diff", "--base", FIXTURE, "--head"])
            .arg(&head_rules)
            .args(["--fail-on", kind, "examples"])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(fail("relaxation"), Some(1));
    assert_eq!(fail("escalation"), Some(0));
    assert_eq!(fail("any"), Some(1));

    let md = rulecheck()
        .args(["diff", "--base", FIXTURE, "--head"])
        .arg(&head_rules)
        .args(["--format", "markdown", "examples"])
        .output()
        .unwrap();
    let md = text(&md.stdout);
    assert!(md.contains("| prohibited | clear | 1 |"), "{md}");
    assert!(md.contains("<summary>Relaxations (1)</summary>"), "{md}");
}

#[test]
fn diff_against_a_git_revision() {
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(repo.path())
            .output()
            .unwrap();
        assert!(ok.status.success(), "git {args:?}: {}", text(&ok.stderr));
    };
    copy_dir(Path::new(FIXTURE), &repo.path().join("rules"));
    git(&["init", "-q"]);
    git(&["add", "rules"]);
    git(&["commit", "-q", "-m", "rules"]);
    let moved = rules_with_moved_date();
    copy_dir(&moved.path().join("rules"), &repo.path().join("rules"));
    let out = rulecheck()
        .current_dir(repo.path())
        .args(["diff", "--base", "HEAD", "--fail-on", "relaxation"])
        .arg(examples_dir())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("eu.833.chpl_russia: prohibited → no finding"));
    let out = rulecheck()
        .current_dir(repo.path())
        .args(["diff", "--base", "no-such-revision"])
        .arg(examples_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(12));
    assert!(text(&out.stderr).contains("neither a directory nor a git revision"));
}

#[test]
fn diff_reads_json_lines_and_points_at_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let story: serde_json::Value = serde_yaml::from_str(
        &std::fs::read_to_string("examples/bishkek-microcontrollers.yaml").unwrap(),
    )
    .unwrap();
    let good = serde_json::to_string(&story).unwrap();
    let path = dir.path().join("corpus.jsonl");
    std::fs::write(&path, format!("{good}\n{good}\n")).unwrap();
    let out = rulecheck()
        .args([
            "diff", "--base", FIXTURE, "--head", FIXTURE, "--format", "json",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["shipments"], 2);

    std::fs::write(
        &path,
        format!("{good}\n{{\"id\": \"x\", \"date\": \"2024-13-40\"}}\n{good}\n"),
    )
    .unwrap();
    let out = rulecheck()
        .args(["diff", "--base", FIXTURE, "--head", FIXTURE])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10));
    assert!(
        text(&out.stderr).contains("corpus.jsonl:2"),
        "{}",
        text(&out.stderr)
    );
}

/// A corpus past one chunk of the streaming comparison: every record counted once,
/// blank lines and CRLF ends passed over, and every bad line (not UTF-8, past the length
/// limit, not a shipment) named by its line, in input order, the rest read on.
#[test]
fn diff_streams_a_large_corpus_and_names_every_bad_line_in_order() {
    let head = rules_with_moved_date();
    let head_rules = head.path().join("rules");
    let dir = tempfile::tempdir().unwrap();
    let story: serde_json::Value = serde_yaml::from_str(
        &std::fs::read_to_string("examples/bishkek-microcontrollers.yaml").unwrap(),
    )
    .unwrap();
    let good = serde_json::to_string(&story).unwrap();
    // More records than the comparison holds at once (8,192).
    let n = 8_300;
    let bad_at = [3, 8_192, 8_193, 8_290];
    let mut corpus = Vec::new();
    let mut good_lines = 0;
    for line in 1..=n {
        match bad_at.iter().position(|&b| b == line) {
            Some(0) => corpus.extend_from_slice(b"{\"id\": \"\xff\"}\n"),
            Some(1) => {
                corpus.extend(std::iter::repeat_n(b'x', 8 * 1024 * 1024 + 10));
                corpus.push(b'\n');
            }
            Some(_) => corpus.extend_from_slice(b"{\"id\": \"x\", \"date\": \"2024-13-40\"}\n"),
            None if line % 1000 == 0 => corpus.extend_from_slice(b"  \r\n"),
            None => {
                corpus.extend_from_slice(good.as_bytes());
                corpus.extend_from_slice(if line % 2 == 0 { b"\r\n" } else { b"\n" });
                good_lines += 1;
            }
        }
    }
    let path = dir.path().join("year.jsonl");
    std::fs::write(&path, &corpus).unwrap();
    let out = rulecheck()
        .args(["diff", "--base", FIXTURE, "--head"])
        .arg(&head_rules)
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let found: Vec<usize> = bad_at
        .iter()
        .map(|l| {
            err.find(&format!("year.jsonl:{l}"))
                .unwrap_or_else(|| panic!("line {l} is not named: {err}"))
        })
        .collect();
    assert!(found.is_sorted(), "bad lines out of input order: {err}");
    assert!(err.contains("not UTF-8") && err.contains("limit"), "{err}");
    assert!(err.contains("4 shipments could not be read"), "{err}");

    // The same corpus without the bad lines: each story record relaxes, none is lost.
    let clean: Vec<&[u8]> = corpus
        .split_inclusive(|b| *b == b'\n')
        .enumerate()
        .filter(|(i, _)| !bad_at.contains(&(i + 1)))
        .map(|(_, l)| l)
        .collect();
    std::fs::write(&path, clean.concat()).unwrap();
    let out = rulecheck()
        .args(["diff", "--base", FIXTURE, "--head"])
        .arg(&head_rules)
        .args(["--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["shipments"], good_lines);
    let counted: u64 = v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[2].as_u64().unwrap())
        .sum();
    assert_eq!(counted, good_lines);
    assert_eq!(v["changes"].as_array().unwrap().len() as u64, good_lines);
}
