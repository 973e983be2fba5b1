//! The command line over the real binary: verdicts and exit codes of every example,
//! golden explanations, JSON keys, and the fail-closed story case.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn rulecheck() -> Command {
    Command::cargo_bin("rulecheck").expect("the binary is built by cargo test")
}

fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("examples")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

/// The verdict an example states in its `# expected verdict: ...` comment.
fn expected_verdict(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("# expected verdict: "))
        .unwrap_or_else(|| panic!("{} states no expected verdict", path.display()));
    line.split_whitespace().next().unwrap().to_string()
}

/// Digests change with every rule edit; golden files pin the explanation, not them.
fn mask_digests(s: &str) -> String {
    s.lines()
        .map(|l| match l.find("sha256:") {
            Some(i) => format!("{}sha256:…", &l[..i]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn exit_code(verdict: &str) -> i32 {
    match verdict {
        "clear" => 0,
        "review" => 1,
        "license_required" => 2,
        "prohibited" => 3,
        other => panic!("unknown verdict {other}"),
    }
}

#[test]
fn every_example_gets_the_verdict_it_states() {
    let all = examples();
    assert!(all.len() >= 5, "the examples are missing");
    for path in all {
        let want = expected_verdict(&path);
        let out = rulecheck()
            .args(["eval", "--format", "json"])
            .arg(&path)
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        assert_eq!(json["verdict"], want.as_str(), "{}", path.display());
        assert_eq!(
            out.status.code(),
            Some(exit_code(&want)),
            "{}",
            path.display()
        );
        if want != "clear" {
            // A verdict other than clear names the rule, and evidence names fact and entry.
            let findings = json["findings"].as_array().unwrap();
            assert!(!findings.is_empty(), "{}", path.display());
            let ev = findings[0]["because"].as_array().unwrap();
            assert!(
                ev.iter()
                    .any(|e| e["fact"].as_str().is_some_and(|f| !f.is_empty()))
            );
        }
    }
}

#[test]
fn golden_text_explanations() {
    for path in examples() {
        let out = rulecheck().arg("eval").arg(&path).output().unwrap();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let text = mask_digests(&String::from_utf8(out.stdout).unwrap());
        insta::assert_snapshot!(format!("example__{stem}"), text);
    }
}

#[test]
fn golden_explain_of_the_story_case() {
    let out = rulecheck()
        .args([
            "eval",
            "--explain",
            "examples/bishkek-microcontrollers.yaml",
        ])
        .output()
        .unwrap();
    insta::assert_snapshot!(mask_digests(&String::from_utf8(out.stdout).unwrap()));
}

#[test]
fn json_has_the_keys_of_the_schema_doc() {
    let out = rulecheck()
        .args([
            "eval",
            "--format",
            "json",
            "examples/bishkek-microcontrollers.yaml",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "shipment",
        "as_of",
        "verdict",
        "rules_digest",
        "facts_digest",
        "findings",
        "missing",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(v["shipment"], "SHP-2024-0412-001");
    assert_eq!(v["as_of"], "2024-04-12");
    for key in ["rules_digest", "facts_digest"] {
        let d = v[key].as_str().unwrap();
        assert!(d.starts_with("sha256:") && d.len() == 7 + 64, "{key} = {d}");
    }
    let f = &v["findings"][0];
    for key in [
        "rule", "regime", "verdict", "citation", "message", "because",
    ] {
        assert!(f.get(key).is_some(), "finding lacks {key}");
    }
    assert_eq!(f["rule"], "eu.833.chpl_russia");
    let e = &f["because"][1];
    for key in ["fact", "value", "test", "matched"] {
        assert!(e.get(key).is_some(), "evidence lacks {key}: {e}");
    }
    assert_eq!(e["fact"], "items[0].hs_code");
    assert_eq!(e["value"], "8542.31");
    assert_eq!(e["test"], "in chpl");
    assert!(
        e["matched"]
            .as_str()
            .unwrap()
            .contains("list as of 2024-02-23")
    );
}

#[test]
fn bishkek_without_end_user_is_review_never_clear() {
    let text = std::fs::read_to_string("examples/bishkek-microcontrollers.yaml").unwrap();
    let start = text.find("end_user:").unwrap();
    let end = text[start..].find("intermediaries:").unwrap() + start;
    let stripped = format!("{}{}", &text[..start], &text[end..]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-end-user.yaml");
    std::fs::write(&path, stripped).unwrap();
    let out = rulecheck()
        .args(["eval", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "review");
    assert_eq!(out.status.code(), Some(1));
    let missing: Vec<&str> = v["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["fact"].as_str().unwrap())
        .collect();
    assert!(missing.contains(&"end_user"), "{missing:?}");
    let by = &v["missing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["fact"] == "end_user")
        .unwrap()["needed_by"];
    assert!(
        by.as_array()
            .unwrap()
            .iter()
            .any(|r| r == "eu.833.chpl_russia")
    );
}

#[test]
fn as_of_before_the_ban_changes_the_verdict() {
    let out = rulecheck()
        .args([
            "eval",
            "--format",
            "json",
            "--as-of",
            "2021-06-01",
            "examples/bishkek-microcontrollers.yaml",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["as_of"], "2021-06-01");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule"] != "eu.833.chpl_russia")
    );
}

#[test]
fn exit_status_is_the_most_severe_over_several_shipments() {
    rulecheck()
        .args([
            "eval",
            "examples/partner-country-clear.yaml",
            "examples/transit-no-end-user.yaml",
        ])
        .assert()
        .code(1);
    rulecheck()
        .args([
            "eval",
            "examples/transit-no-end-user.yaml",
            "examples/hidden-owner.yaml",
        ])
        .assert()
        .code(3);
}

#[test]
fn output_is_byte_identical_across_runs() {
    let run = || {
        rulecheck()
            .args(["eval", "--format", "json", "--explain"])
            .args(examples())
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(run(), run());
}

#[test]
fn check_of_the_bundled_rules_is_clean() {
    let out = rulecheck().args(["check", "rules"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no errors"), "{err}");
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn usage_errors_have_their_own_exit_code() {
    rulecheck().args(["eval"]).assert().code(12);
    rulecheck()
        .args(["eval", "--as-of", "yesterday", "x.yaml"])
        .assert()
        .code(12);
    rulecheck().args(["frobnicate"]).assert().code(12);
    rulecheck().args(["--help"]).assert().code(0);
}

#[test]
fn a_missing_shipment_file_is_an_error_not_a_verdict() {
    let out = rulecheck()
        .args(["eval", "no/such/file.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("no/such/file.yaml")
    );
}

#[test]
fn eval_works_from_any_directory_with_the_bundled_rules() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::canonicalize("examples/hidden-owner.yaml").unwrap();
    rulecheck()
        .current_dir(dir.path())
        .arg("eval")
        .arg(example)
        .assert()
        .code(3);
}
