//! Reports of `rulecheck check` for machines: JSON, SARIF (valid against the OASIS
//! schema), GitHub Actions workflow commands, and exit statuses that tell warnings from
//! errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use rulecheck::diagnostics::{Code, Problem};
use rulecheck::report::{self, ReportFormat, escape_data, escape_property};
use rulecheck::source::SourceFile;
use serde_json::{Value, json};

const EXIT_WARNINGS: i32 = 1;
const EXIT_BAD_RULES: i32 = 11;

fn rulecheck() -> Command {
    Command::cargo_bin("rulecheck").expect("the binary is built by cargo test")
}

const REGIME: &str = "regime r { title \"t\" scope everyone }\n";
/// A right-to-left override in a citation: a warning at line 2, column 37.
const WARNING_RULE: &str = "rule a.b { regime r citation \"Art. 2\u{202E}\" effective from 2020-01-01 when destination == RU verdict review }\n";
/// A condition that can never hold: an error of the lints, which run once the rules
/// check, so that the warning above is reported beside it.
const ERROR_RULE: &str = "# a rule with an error\nrule a.c { regime r citation \"c\" effective from 2020-01-01 when destination == RU and destination == CN verdict review }\n";
const CLEAN_RULE: &str = "rule a.d { regime r citation \"Art. 3\" effective from 2020-01-01 when destination == RU verdict review }\n";

/// A temporary directory with `rules/` holding the given files.
fn rules_dir(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join("rules").join(name), text).unwrap();
    }
    dir
}

/// Warnings in `a.rules`, an error in `b.rules`.
fn warning_and_error() -> tempfile::TempDir {
    rules_dir(&[
        ("a.rules", format!("{REGIME}{WARNING_RULE}")),
        ("b.rules", ERROR_RULE.to_string()),
    ])
}

fn check_in(dir: &Path, args: &[&str]) -> Output {
    rulecheck()
        .current_dir(dir)
        .arg("check")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn schema() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sarif/sarif-schema-2.1.0.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Validates a SARIF log against the official schema, under the draft the schema
/// declares (draft-04) and under draft-07; returns the errors of each.
fn sarif_errors(log: &Value) -> Vec<String> {
    let schema = schema();
    let draft4 = jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let draft7 = jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    draft4
        .iter_errors(log)
        .map(|e| format!("draft-04: {e} at {}", e.instance_path()))
        .chain(
            draft7
                .iter_errors(log)
                .map(|e| format!("draft-07: {e} at {}", e.instance_path())),
        )
        .collect()
}

fn assert_valid_sarif(log: &Value) {
    let errors = sarif_errors(log);
    assert!(errors.is_empty(), "{errors:#?}\n{log:#}");
}

// ---- exit statuses and the human format ------------------------------------------------

#[test]
fn exit_status_tells_clean_from_warnings_from_errors() {
    let clean = rules_dir(&[("a.rules", format!("{REGIME}{CLEAN_RULE}"))]);
    let warned = rules_dir(&[("a.rules", format!("{REGIME}{WARNING_RULE}"))]);
    let broken = warning_and_error();
    for format in ["human", "json", "sarif", "github"] {
        for (dir, want) in [
            (&clean, 0),
            (&warned, EXIT_WARNINGS),
            (&broken, EXIT_BAD_RULES),
        ] {
            let out = check_in(dir.path(), &["--format", format, "rules"]);
            assert_eq!(out.status.code(), Some(want), "{format}:\n{}", stderr(&out));
        }
    }
    let out = check_in(clean.path(), &["--format", "xml", "rules"]);
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
}

#[test]
fn human_is_the_default_and_goes_to_stderr() {
    let dir = warning_and_error();
    let default = check_in(dir.path(), &["rules"]);
    let human = check_in(dir.path(), &["--format", "human", "rules"]);
    assert!(default.stdout.is_empty() && human.stdout.is_empty());
    assert_eq!(stderr(&default), stderr(&human));
    let err = stderr(&default);
    for shown in [
        "rulecheck::lint::suspicious_unicode",
        "rulecheck::lint::impossible_condition",
        "rules/b.rules:2:65",
        "1 error",
    ] {
        assert!(err.contains(shown), "{shown} not in:\n{err}");
    }
}

#[test]
fn machine_formats_leave_only_the_summary_on_stderr() {
    let dir = warning_and_error();
    let warned = rules_dir(&[("a.rules", format!("{REGIME}{WARNING_RULE}"))]);
    for format in ["json", "sarif", "github"] {
        let out = check_in(dir.path(), &["--format", format, "rules"]);
        assert_eq!(stderr(&out), "1 error\n", "{format}");
        let out = check_in(warned.path(), &["--format", format, "rules"]);
        assert_eq!(
            stderr(&out),
            "checked 1 rule, 0 exceptions, 0 lists: no errors, 1 warning\n",
            "{format}"
        );
    }
}

// ---- JSON -------------------------------------------------------------------------------

#[test]
fn json_has_every_problem_with_its_place_and_the_counts() {
    let dir = warning_and_error();
    let out = check_in(dir.path(), &["--format", "json", "rules"]);
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let diagnostics = doc["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 2, "{doc:#}");
    assert_eq!(doc["errors"], 1);
    assert_eq!(doc["warnings"], 1);

    let warning = &diagnostics[0];
    assert_eq!(warning["code"], "rulecheck::lint::suspicious_unicode");
    assert_eq!(warning["severity"], "warning");
    assert_eq!(warning["file"], "rules/a.rules");
    assert_eq!(
        (
            &warning["line"],
            &warning["column"],
            &warning["end_line"],
            &warning["end_column"]
        ),
        (&json!(2), &json!(37), &json!(2), &json!(38))
    );
    assert!(warning["message"].as_str().unwrap().contains("U+202E"));
    assert_eq!(warning["label"], "invisible character");
    assert!(warning["help"].is_string());

    let error = &diagnostics[1];
    assert_eq!(error["code"], "rulecheck::lint::impossible_condition");
    assert_eq!(error["severity"], "error");
    assert_eq!(error["file"], "rules/b.rules");
    assert_eq!(
        (
            &error["line"],
            &error["column"],
            &error["end_line"],
            &error["end_column"]
        ),
        (&json!(2), &json!(65), &json!(2), &json!(82))
    );
}

#[test]
fn json_keys_come_in_a_fixed_order() {
    let dir = warning_and_error();
    let out = check_in(dir.path(), &["--format", "json", "rules"]);
    let text = stdout(&out);
    let keys = [
        "\"code\"",
        "\"severity\"",
        "\"message\"",
        "\"file\"",
        "\"line\"",
        "\"column\"",
        "\"end_line\"",
        "\"end_column\"",
        "\"label\"",
        "\"help\"",
    ];
    let first = text.split("},").next().unwrap();
    let at: Vec<usize> = keys.iter().map(|k| first.find(k).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{first}");
    let top: Vec<usize> = ["\"diagnostics\"", "\"errors\"", "\"warnings\""]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
    assert!(top.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn json_of_clean_rules_is_an_empty_list() {
    let dir = rules_dir(&[("a.rules", format!("{REGIME}{CLEAN_RULE}"))]);
    let out = check_in(dir.path(), &["--format", "json", "rules"]);
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc, json!({"diagnostics": [], "errors": 0, "warnings": 0}));
}

// ---- SARIF ------------------------------------------------------------------------------

#[test]
fn sarif_is_valid_and_locates_each_problem() {
    let dir = warning_and_error();
    let out = check_in(dir.path(), &["--format", "sarif", "rules"]);
    let log: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_valid_sarif(&log);

    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "rulecheck");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "rulecheck::lint::suspicious_unicode",
            "rulecheck::lint::impossible_condition"
        ]
    );
    assert_eq!(
        rules[0]["shortDescription"]["text"],
        Code::Lint(rulecheck::lint::Lint::SuspiciousUnicode).summary()
    );
    assert!(rules.iter().all(|r| r.get("helpUri").is_none()));

    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let warning = &results[0];
    assert_eq!(warning["ruleId"], "rulecheck::lint::suspicious_unicode");
    assert_eq!(warning["ruleIndex"], 0);
    assert_eq!(warning["level"], "warning");
    let text = warning["message"]["text"].as_str().unwrap();
    assert!(
        text.contains("U+202E") && text.contains("\nhelp: delete it"),
        "{text}"
    );
    let location = &warning["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "rules/a.rules");
    assert_eq!(
        location["region"],
        json!({"startLine": 2, "startColumn": 37, "endLine": 2, "endColumn": 38,
               "message": {"text": "invisible character"}})
    );

    let error = &results[1];
    assert_eq!(error["ruleId"], "rulecheck::lint::impossible_condition");
    assert_eq!(error["ruleIndex"], 1);
    assert_eq!(error["level"], "error");
    let location = &error["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "rules/b.rules");
    assert_eq!(location["region"]["startLine"], 2);
    assert_eq!(location["region"]["startColumn"], 65);
    assert_eq!(location["region"]["endColumn"], 82);
}

#[test]
fn sarif_uris_are_relative_to_the_current_directory_and_encoded() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("my rules");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("a#1.rules"), format!("{REGIME}{WARNING_RULE}")).unwrap();
    // Named by its absolute path, from the directory above it.
    let cwd = std::fs::canonicalize(dir.path()).unwrap();
    let absolute = cwd.join("my rules");
    let out = check_in(&cwd, &["--format", "sarif", absolute.to_str().unwrap()]);
    let log: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_valid_sarif(&log);
    assert_eq!(
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "my%20rules/a%231.rules"
    );
    // From elsewhere, the file is outside the current directory: an absolute URI.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = check_in(
        elsewhere.path(),
        &["--format", "sarif", absolute.to_str().unwrap()],
    );
    let log: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_valid_sarif(&log);
    let uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        uri.starts_with("file:///") && uri.ends_with("/my%20rules/a%231.rules"),
        "{uri}"
    );
}

#[test]
fn sarif_of_the_bundled_library_is_valid_and_empty() {
    let out = rulecheck()
        .args(["check", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_valid_sarif(&log);
    assert_eq!(log["runs"][0]["results"], json!([]));
    assert_eq!(log["runs"][0]["tool"]["driver"]["rules"], json!([]));
}

#[test]
fn the_schema_refuses_a_broken_log() {
    let dir = warning_and_error();
    let out = check_in(dir.path(), &["--format", "sarif", "rules"]);
    let mut log: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_valid_sarif(&log);
    log["runs"][0]["results"][0]["level"] = json!("fatal");
    let errors = sarif_errors(&log);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("draft-04") && e.contains("fatal")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with("draft-07")),
        "{errors:#?}"
    );
    // And a region that starts at line 0.
    let mut log: Value = serde_json::from_str(&stdout(&out)).unwrap();
    log["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        json!(0);
    assert!(!sarif_errors(&log).is_empty());
}

#[test]
fn whole_file_and_fileless_problems_in_sarif() {
    let problems = [
        Problem::whole(
            Code::Io,
            Some("rules/gone.rules"),
            "cannot read the rule file",
        ),
        Problem::whole(Code::Io, None, "no rule files found").help("name a directory"),
    ];
    let log: Value = serde_json::from_str(&report::sarif(&problems, None)).unwrap();
    assert_valid_sarif(&log);
    let results = &log["runs"][0]["results"];
    assert_eq!(
        results[0]["locations"],
        json!([{"physicalLocation": {"artifactLocation": {"uri": "rules/gone.rules"}}}])
    );
    assert!(results[1].get("locations").is_none(), "{results:#}");
    assert_eq!(
        results[1]["message"]["text"],
        "no rule files found\nhelp: name a directory"
    );
    // Both results share one rule.
    assert_eq!(
        log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(results[1]["ruleIndex"], 0);
}

// ---- GitHub Actions ---------------------------------------------------------------------

#[test]
fn github_commands_are_exactly_as_expected() {
    let dir = warning_and_error();
    let out = check_in(dir.path(), &["--format", "github", "rules"]);
    assert_eq!(
        stdout(&out),
        "::warning file=rules/a.rules,line=2,col=37,endLine=2,endColumn=38,title=rulecheck%3A%3Alint%3A%3Asuspicious_unicode::U+202E is a bidirectional control character, which can make the text read differently from how it is evaluated%0Ahelp: delete it; rule files are reviewed as they read\n\
         ::error file=rules/b.rules,line=2,col=65,endLine=2,endColumn=82,title=rulecheck%3A%3Alint%3A%3Aimpossible_condition::rule `a.c` can never apply: `destination == RU` and `destination == CN` cannot both hold%0Ahelp: the tests exclude each other for every shipment: correct the values, or the `and` that should be `or`\n"
    );
}

#[test]
fn github_escapes_data_and_properties() {
    assert_eq!(
        escape_data("50% done\r\nnext: a, b"),
        "50%25 done%0D%0Anext: a, b"
    );
    assert_eq!(
        escape_property("C:\\rules,v2%\nx"),
        "C%3A\\rules%2Cv2%25%0Ax"
    );
    // A file name and a message with every character that needs it.
    let file = SourceFile {
        name: "odd:name, 100%.rules".into(),
        text: "line one\nbad: x, 5%\n".into(),
    };
    let p =
        Problem::in_file(Code::Syntax, &file, 9, 19, "100% wrong:\nhere, really").help("fix it");
    assert_eq!(
        report::github(&[p], None),
        "::error file=odd%3Aname%2C 100%25.rules,line=2,col=1,endLine=2,endColumn=11,title=rulecheck%3A%3Asyntax::100%25 wrong:%0Ahere, really%0Ahelp: fix it\n"
    );
}

#[test]
fn a_span_over_several_lines_has_an_end_line_and_no_columns_on_github() {
    let file = SourceFile {
        name: "r.rules".into(),
        text: "abc\ndéf\nghi\n".into(),
    };
    // From `b` on line 1 to the end of `déf`: the end is counted in characters.
    let p = Problem::in_file(Code::Syntax, &file, 1, 8, "spans two lines");
    assert_eq!(p.line_col, Some((1, 2)));
    assert_eq!(p.end_line_col(), Some((2, 4)));
    assert_eq!(
        report::github(std::slice::from_ref(&p), None),
        "::error file=r.rules,line=1,endLine=2,title=rulecheck%3A%3Asyntax::spans two lines\n"
    );
    let doc: Value = serde_json::from_str(&report::json(&[p])).unwrap();
    assert_eq!(doc["diagnostics"][0]["end_line"], 2);
    assert_eq!(doc["diagnostics"][0]["end_column"], 4);
}

#[test]
fn render_picks_the_format() {
    let p = Problem::whole(Code::Io, Some("x.rules"), "cannot read the rule file");
    let problems = [p];
    assert!(report::render(ReportFormat::Human, &problems, None).contains("rulecheck::io"));
    assert!(
        report::render(ReportFormat::Json, &problems, None).starts_with("{\n  \"diagnostics\"")
    );
    assert!(
        report::render(ReportFormat::Sarif, &problems, None).contains("\"version\": \"2.1.0\"")
    );
    assert!(
        report::render(ReportFormat::Github, &problems, None)
            .starts_with("::error file=x.rules,title=")
    );
}

#[test]
fn a_line_too_long_to_show_still_has_its_end() {
    // Past 16,000 characters a line gets no snippet; the report still locates the span.
    let text = format!("{}bad\n", "x".repeat(20_000));
    let file = SourceFile {
        name: "long.rules".into(),
        text: text.into(),
    };
    let p = Problem::in_file(Code::Syntax, &file, 20_000, 20_003, "bad");
    assert_eq!(p.at, None);
    assert_eq!(p.line_col, Some((1, 20_001)));
    assert_eq!(p.end_line_col(), Some((1, 20_004)));
    let log: Value = serde_json::from_str(&report::sarif(&[p], None)).unwrap();
    assert_valid_sarif(&log);
    assert_eq!(
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["endColumn"],
        20_004
    );
}
