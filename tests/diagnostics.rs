//! Broken inputs and what rulecheck says about them.
//!
//! `tests/bad_rules/` holds rule files with one mistake each and `tests/bad_shipments/`
//! shipment files that each break the schema in one way. Every one must be refused with
//! a located diagnostic in plain words and a non-zero exit status, never a panic.
//!
//! The rendered diagnostics are snapshots in `tests/snapshots/` (write them with
//! `INSTA_UPDATE=always cargo test --test diagnostics`). Diagnostics that were once
//! wrong are pinned by regression tests at the end of the file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::Command;
use rulecheck::diagnostics::{Code, Problem, render_plain};
use rulecheck::facts::Shipment;
use rulecheck::load::{Origin, load};
use rulecheck::source::SourceMap;

const BAD_RULES: &str = "tests/bad_rules";
const BAD_SHIPMENTS: &str = "tests/bad_shipments";
/// A valid shipment (expected verdict: clear).
const CLEAR_EXAMPLE: &str = "examples/partner-country-clear.yaml";

/// Exit status of `rulecheck eval` when a shipment file is invalid.
const EXIT_BAD_SHIPMENT: i32 = 10;
/// Exit status when rule files have errors.
const EXIT_BAD_RULES: i32 = 11;
/// Exit status of a Rust program that panicked.
const EXIT_PANIC: i32 = 101;

/// Each bad rule file: the code of its one error, the file the error points into
/// (the rule file itself unless it names a data file) and the line it points at.
const RULE_CASES: &[(&str, Code, Option<&str>, usize)] = &[
    ("01-misspelt-field", Code::Syntax, None, 15),
    ("02-unclosed-brace", Code::Syntax, None, 13),
    ("03-undefined-list", Code::UndefinedName, None, 19),
    ("04-undefined-predicate", Code::UndefinedName, None, 23),
    ("05-duplicate-rule-id", Code::Duplicate, None, 23),
    ("06-country-compared-with-number", Code::Type, None, 13),
    ("07-percent-over-100", Code::Type, None, 13),
    ("08-impossible-date", Code::Type, None, 17),
    ("09-unknown-fact-path", Code::UnknownFact, None, 18),
    (
        "10-unknown-item-field-in-quantifier",
        Code::UnknownFact,
        None,
        19,
    ),
    (
        "11-exception-relaxes-unknown-rule",
        Code::UndefinedName,
        None,
        23,
    ),
    ("12-effective-ends-before-start", Code::Effective, None, 26),
    ("13-missing-data-file", Code::DataFile, None, 11),
    (
        "14-malformed-data-file",
        Code::DataFile,
        Some("tests/bad_rules/data/chpl-bad.csv"),
        4,
    ),
    ("15-recursive-predicate", Code::Recursion, None, 17),
    (
        "16-quantifier-variable-out-of-scope",
        Code::UnknownFact,
        None,
        20,
    ),
    ("17-leaves-not-weaker", Code::Type, None, 28),
    ("18-invalid-country-in-inline-list", Code::Type, None, 13),
    ("19-rule-without-when", Code::Field, None, 8),
    ("20-single-equals", Code::Syntax, None, 13),
    ("21-lower-case-country", Code::UnknownFact, None, 13),
    ("22-unknown-verdict", Code::Syntax, None, 15),
    ("23-percent-compared-with-number", Code::Type, None, 13),
    ("24-unterminated-string", Code::Syntax, None, 10),
    ("25-rule-unknown-regime", Code::UndefinedName, None, 9),
    ("26-field-of-a-list", Code::Type, None, 18),
    ("27-missing-alias-file", Code::DataFile, None, 13),
    (
        "28-malformed-alias-file",
        Code::DataFile,
        Some("tests/bad_rules/data/alt-bad.csv"),
        2,
    ),
];

/// Where the diagnostic of a bad shipment must point.
#[derive(Debug, Clone, Copy)]
enum Where {
    /// At this line of the shipment file.
    Line(usize),
    /// Somewhere in the file (the line is wrong today: see the `defect_` tests).
    Located,
    /// Nowhere in particular: the problem is the whole file.
    WholeFile,
}

/// Each bad shipment file and where its diagnostic points.
const SHIPMENT_CASES: &[(&str, Where)] = &[
    ("01-bad-indentation", Where::Line(9)),
    ("02-missing-id", Where::Line(2)),
    ("03-lower-case-country", Where::Line(15)),
    ("04-unassigned-country", Where::Line(9)),
    ("05-hs-code-with-letters", Where::Line(19)),
    ("06-hs-code-unquoted-number", Where::Line(20)),
    ("07-percent-over-100", Where::Line(20)),
    ("08-quantity-is-text", Where::Line(20)),
    ("09-empty-items", Where::Line(17)),
    ("10-invalid-date", Where::Line(3)),
    ("11-empty-file", Where::WholeFile),
    ("12-owner-without-percent", Where::Line(12)),
    ("13-currency-not-iso", Where::Line(22)),
    ("14-billion-laughs", Where::WholeFile),
    ("15-tab-indentation", Where::Line(5)),
    ("16-unknown-end-use", Where::Line(14)),
    ("17-route-not-a-list", Where::Line(16)),
    ("18-invalid-eccn", Where::Line(20)),
    ("19-negative-quantity", Where::Line(20)),
    ("20-hs-code-too-short", Where::Line(19)),
    ("21-date-with-slashes", Where::Line(3)),
    // Wanted: line 16, the second `destination`; see `defect_duplicate_key_points_at_the_second_key`.
    ("22-duplicate-key", Where::Located),
    ("23-party-without-name", Where::Line(5)),
    ("24-json-bool-as-text", Where::Line(6)),
    ("25-only-comments", Where::WholeFile),
    ("26-nan-quantity", Where::Line(20)),
    ("27-infinite-quantity", Where::Line(20)),
    ("28-huge-integer", Where::Line(20)),
    ("29-date-out-of-range", Where::Line(3)),
];

/// Words of the implementation that a policy officer should never read.
const JARGON: &[&str] = &[
    "Rule::", "_decl", "_field", "_lit", "EOI", "SOI", "f64", "u64", "i64", "Some(", "None",
    "Err(", "Ok(", "panicked", "unwrap", "serde", "pest", "Error {",
];

// ---- helpers ------------------------------------------------------------------------

/// The files of a corpus directory with one of `extensions`, sorted, as relative paths.
fn corpus(dir: &str, extensions: &[&str]) -> Vec<PathBuf> {
    assert!(
        Path::new(dir).is_dir(),
        "{dir} not found: tests run from the package root"
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the corpus directory is readable")
        .map(|e| e.expect("a readable directory entry").path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| extensions.contains(&e))
        })
        .collect();
    files.sort();
    files
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .expect("a file name")
        .to_string_lossy()
        .into_owned()
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// The leading `#` comment of a file, without the `#`s.
fn leading_comment(text: &str) -> String {
    text.lines()
        .map_while(|l| l.strip_prefix('#'))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

fn errors(problems: &[Problem]) -> Vec<&Problem> {
    problems.iter().filter(|p| p.is_error()).collect()
}

/// The problems of a bad rule file (panics if it loads).
fn rule_problems(path: &Path) -> Vec<Problem> {
    match load(&Origin::Disk(path.to_path_buf())) {
        Ok(_) => panic!("{} loaded without errors", path.display()),
        Err(ps) => ps.0,
    }
}

/// The single error of a bad rule file, by stem.
fn only_rule_error(stem: &str) -> Problem {
    let ps = rule_problems(&Path::new(BAD_RULES).join(format!("{stem}.rules")));
    let es = errors(&ps);
    assert_eq!(es.len(), 1, "{stem}: expected one error");
    es[0].clone()
}

fn load_shipment(name: &str, text: &str) -> Result<Shipment, Problem> {
    let mut map = SourceMap::default();
    let id = map.add(name, text);
    Shipment::from_yaml(map.file(id))
}

/// The problem of a bad shipment file (panics if it loads).
fn shipment_problem(path: &Path) -> Problem {
    let text = std::fs::read_to_string(path).expect("the shipment file is UTF-8 text");
    match load_shipment(&display(path), &text) {
        Ok(s) => panic!("{} loaded as shipment {}", path.display(), s.id),
        Err(p) => p,
    }
}

/// The problem of a bad shipment file, by stem.
fn shipment_problem_of(stem: &str) -> Problem {
    let path = corpus(BAD_SHIPMENTS, &["yaml", "json"])
        .into_iter()
        .find(|p| self::stem(p) == stem)
        .unwrap_or_else(|| panic!("no bad shipment {stem}"));
    shipment_problem(&path)
}

/// Message and help together, for tests on the wording.
fn words(p: &Problem) -> String {
    format!("{}\n{}", p.message, p.help.as_deref().unwrap_or(""))
}

/// The text a problem's span covers.
fn labelled_text(p: &Problem) -> Option<&str> {
    let (_, text) = p.source.as_ref()?;
    let (s, e) = p.at?;
    text.get(s..e)
}

/// Checks what every diagnostic owes its reader: it names its file, shows its location
/// where it has one, and speaks in plain words.
fn assert_readable(p: &Problem, rendered: &str, file: &str) {
    assert!(!p.message.trim().is_empty(), "{file}: empty message");
    assert!(
        rendered.contains(file),
        "{file}: the diagnostic does not name the file:\n{rendered}"
    );
    if let (Some(name), Some((line, col))) = (p.file_name(), p.line_col) {
        let at = format!("{name}:{line}:{col}");
        assert!(
            rendered.contains(&at),
            "{file}: the diagnostic does not show {at}:\n{rendered}"
        );
        assert!(p.at.is_some(), "{file}: a line and column but no span");
    }
    for word in JARGON {
        assert!(
            !rendered.contains(word),
            "{file}: the diagnostic says `{word}`:\n{rendered}"
        );
    }
}

/// Snapshots a rendering under a stable name, described by the file's leading comment.
fn snapshot(name: &str, description: &str, rendered: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    if !description.is_empty() {
        settings.set_description(description);
    }
    settings.bind(|| insta::assert_snapshot!(name.to_string(), rendered));
}

fn rulecheck() -> Command {
    let mut cmd = Command::cargo_bin("rulecheck").expect("the rulecheck binary is built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .timeout(Duration::from_mins(2));
    cmd
}

/// Runs `rulecheck` once per argument list, several at a time.
fn run_all(jobs: &[Vec<String>]) -> Vec<Output> {
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|args| s.spawn(move || rulecheck().args(args).output().expect("rulecheck runs")))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("the runner thread ends"))
            .collect()
    })
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A run that ended by a panic, a crash or a signal rather than a chosen exit status.
fn assert_no_crash(what: &str, o: &Output) {
    let err = stderr(o);
    let code = o.status.code();
    assert!(
        code.is_some(),
        "{what}: killed by a signal ({:?}):\n{err}",
        o.status
    );
    assert_ne!(code, Some(EXIT_PANIC), "{what}: exit 101, a panic:\n{err}");
    assert!(!err.contains("panicked"), "{what}: panicked:\n{err}");
    assert!(
        !err.contains("overflowed its stack"),
        "{what}: stack overflow:\n{err}"
    );
}

fn examples_text() -> String {
    std::fs::read_to_string(CLEAR_EXAMPLE).expect("the example is readable")
}

/// The valid example with an extra fact nested `depth` lists deep, as one line of flow
/// YAML after the last line of the example.
fn deep_list(depth: usize) -> String {
    format!(
        "{}remarks: {}{}\n",
        examples_text(),
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

/// The valid example with two invalid UTF-8 bytes in the consignee's name (line 10).
fn invalid_utf8_bytes() -> Vec<u8> {
    let text = examples_text();
    let at = text
        .find("Kansai Denshi")
        .expect("the example names Kansai Denshi")
        + "Kansai".len();
    let mut bytes = text.into_bytes();
    bytes.splice(at..at, [0xff, 0xfe]);
    bytes
}

fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("the temp file is written");
    display(&path)
}

// ---- bad rule files -----------------------------------------------------------------

#[test]
fn every_bad_rule_file_has_an_expectation() {
    let on_disk: BTreeSet<String> = corpus(BAD_RULES, &["rules"])
        .iter()
        .map(|p| stem(p))
        .collect();
    let expected: BTreeSet<String> = RULE_CASES.iter().map(|c| c.0.to_string()).collect();
    assert_eq!(on_disk, expected);
    assert!(on_disk.len() >= 14);
}

#[test]
fn bad_rule_files_get_one_located_diagnostic_each() {
    for path in corpus(BAD_RULES, &["rules"]) {
        let stem = stem(&path);
        let name = display(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# "),
            "{name} starts with a comment saying what is wrong"
        );
        let &(_, code, in_file, line) = RULE_CASES
            .iter()
            .find(|c| c.0 == stem)
            .unwrap_or_else(|| panic!("no expectation for {name}"));

        let problems = rule_problems(&path);
        let errs = errors(&problems);
        // One mistake, one error: no cascade of follow-on errors.
        assert_eq!(
            errs.len(),
            1,
            "{name}: {:#?}",
            errs.iter().map(|p| p.one_line()).collect::<Vec<_>>()
        );
        let err = errs[0];
        assert_eq!(err.code, code, "{name}: {}", err.one_line());
        assert_eq!(err.file_name(), Some(in_file.unwrap_or(&name)), "{name}");
        assert_eq!(
            err.line_col.map(|(l, _)| l),
            Some(line),
            "{name}: {}",
            err.one_line()
        );
        assert!(
            labelled_text(err).is_some_and(|t| !t.trim().is_empty()),
            "{name}: the label covers no text"
        );

        let mut rendered = format!("{name}\n");
        for p in &problems {
            // Rule files have no whole-file problems here: each is about a place.
            assert!(
                p.line_col.is_some(),
                "{name}: not located: {}",
                p.one_line()
            );
            let r = render_plain(p);
            assert_readable(p, &r, p.file_name().unwrap_or(&name));
            rendered.push('\n');
            rendered.push_str(&p.one_line());
            rendered.push_str("\n\n");
            rendered.push_str(&r);
        }
        snapshot(
            &format!("bad_rules__{stem}"),
            &leading_comment(&text),
            &rendered,
        );
    }
}

#[test]
fn did_you_mean_fires_for_near_names() {
    for (stem, meant) in [
        ("01-misspelt-field", "title"),
        ("03-undefined-list", "russia_belarus"),
        ("04-undefined-predicate", "chpl_item"),
        ("09-unknown-fact-path", "consignee"),
        ("10-unknown-item-field-in-quantifier", "hs_code"),
        (
            "11-exception-relaxes-unknown-rule",
            "eu.833.russia_destination",
        ),
        ("22-unknown-verdict", "prohibited"),
        ("25-rule-unknown-regime", "eu_russia"),
    ] {
        let p = only_rule_error(stem);
        assert_eq!(
            p.help.as_deref(),
            Some(format!("did you mean `{meant}`?").as_str()),
            "{stem}"
        );
    }
}

#[test]
fn rule_diagnostics_name_what_is_wrong() {
    for (stem, needle) in [
        ("05-duplicate-rule-id", "05-duplicate-rule-id.rules:14:"),
        ("06-country-compared-with-number", "country code"),
        ("07-percent-over-100", "150%"),
        ("08-impossible-date", "2024-02-30"),
        ("12-effective-ends-before-start", "before it starts"),
        ("13-missing-data-file", "data/nope.csv"),
        ("14-malformed-data-file", "8542.3l"),
        ("15-recursive-predicate", "russia_connected"),
        ("16-quantifier-variable-out-of-scope", "where ("),
        ("17-leaves-not-weaker", "nothing"),
        ("18-invalid-country-in-inline-list", "`XX`"),
        ("19-rule-without-when", "`when"),
        ("23-percent-compared-with-number", "`25%`"),
        ("26-field-of-a-list", "any x in items"),
    ] {
        let p = only_rule_error(stem);
        assert!(
            words(&p).contains(needle),
            "{stem}: no `{needle}` in\n{}",
            render_plain(&p)
        );
    }
}

// ---- bad shipments ------------------------------------------------------------------

#[test]
fn every_bad_shipment_has_an_expectation() {
    let on_disk: BTreeSet<String> = corpus(BAD_SHIPMENTS, &["yaml", "json"])
        .iter()
        .map(|p| stem(p))
        .collect();
    let expected: BTreeSet<String> = SHIPMENT_CASES.iter().map(|c| c.0.to_string()).collect();
    assert_eq!(on_disk, expected);
    assert!(on_disk.len() >= 14);
}

#[test]
fn bad_shipments_get_a_located_diagnostic() {
    for path in corpus(BAD_SHIPMENTS, &["yaml", "json"]) {
        let stem = stem(&path);
        let name = display(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        let &(_, place) = SHIPMENT_CASES
            .iter()
            .find(|c| c.0 == stem)
            .unwrap_or_else(|| panic!("no expectation for {name}"));

        let p = shipment_problem(&path);
        assert!(p.is_error(), "{name}");
        assert_eq!(p.code, Code::Shipment, "{name}: {}", p.one_line());
        assert_eq!(p.file_name(), Some(name.as_str()));
        match place {
            Where::Line(line) => {
                assert_eq!(
                    p.line_col.map(|(l, _)| l),
                    Some(line),
                    "{name}: {}",
                    p.one_line()
                );
            }
            Where::Located => assert!(p.line_col.is_some(), "{name}: not located"),
            Where::WholeFile => {
                assert!(
                    p.at.is_none() && p.line_col.is_none(),
                    "{name}: {}",
                    p.one_line()
                );
            }
        }
        let rendered = render_plain(&p);
        assert_readable(&p, &rendered, &name);
        snapshot(
            &format!("bad_shipments__{stem}"),
            &leading_comment(&text),
            &format!("{name}\n\n{}\n\n{rendered}", p.one_line()),
        );
    }
}

#[test]
fn shipment_diagnostics_name_the_field_and_value() {
    for (stem, needles) in [
        ("02-missing-id", &["`id`"][..]),
        ("03-lower-case-country", &["destination", "`jp`", "`JP`"]),
        ("04-unassigned-country", &["consignee.country", "`XX`"]),
        ("05-hs-code-with-letters", &["items[0].hs_code", "8532.2A"]),
        ("06-hs-code-unquoted-number", &["items[0].hs_code", "quote"]),
        ("07-percent-over-100", &["us_content_percent", "140"]),
        ("08-quantity-is-text", &["items[0].quantity", "5000 pcs"]),
        ("09-empty-items", &["at least one item"]),
        ("10-invalid-date", &["date"]),
        ("11-empty-file", &["empty"]),
        (
            "12-owner-without-percent",
            &["Kansai Holdings K.K.", "`percent`"],
        ),
        ("13-currency-not-iso", &["currency", "`euro`", "`EUR`"]),
        ("14-billion-laughs", &["aliases"]),
        ("16-unknown-end-use", &["civilian", "`civil`"]),
        ("18-invalid-eccn", &["eccn", "3a991"]),
        ("19-negative-quantity", &["quantity", "-1000"]),
        ("20-hs-code-too-short", &["`854`", "4 to 10"]),
        ("21-date-with-slashes", &["YYYY-MM-DD"]),
        ("22-duplicate-key", &["destination"]),
        ("23-party-without-name", &["exporter", "`name`"]),
        ("24-json-bool-as-text", &["no_russia_clause", "\"no\""]),
    ] {
        let p = shipment_problem_of(stem);
        let w = words(&p);
        for needle in needles {
            assert!(
                w.contains(needle),
                "{stem}: no `{needle}` in\n{}",
                render_plain(&p)
            );
        }
    }
}

#[test]
fn deeply_nested_yaml_is_refused_with_a_located_error() {
    // 5,000 levels keep the line short enough to show as a snippet; 100,000 levels
    // are refused just as fast (`a_100_000_deep_yaml_list_is_refused_quickly`).
    let text = deep_list(5_000);
    let p = load_shipment("deep.yaml", &text).unwrap_err();
    let remarks_line = examples_text().lines().count() + 1;
    assert_eq!(
        p.line_col.map(|(l, _)| l),
        Some(remarks_line),
        "{}",
        p.one_line()
    );
    assert_eq!(
        p.help.as_deref(),
        Some("the file nests too deep to be a shipment")
    );
    let rendered = render_plain(&p);
    assert_readable(&p, &rendered, "deep.yaml");
}

#[test]
fn deeply_nested_json_line_is_refused_at_the_bracket_that_crosses_the_limit() {
    let valid = r#"{"id":"S1","date":"2024-05-01","exporter":{"name":"A"},"consignee":{"name":"B"},"destination":"KG","items":[{"hs_code":"8542.31"}]"#;
    for depth in [200, 100_000] {
        let line = format!(
            "{valid},\"note\":{}1{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let started = std::time::Instant::now();
        let p = Shipment::from_json_line(&line, "batch.jsonl", 7).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2), "{depth}: slow");
        assert_eq!(p.code, Code::Limit, "{depth}: {}", p.one_line());
        assert!(
            p.message.contains("nests more than 128 levels deep"),
            "{}",
            p.message
        );
        // The record's line, and the column of the first bracket past the limit: the
        // record is one level, so the 128th bracket of `note` opens the 129th.
        let col = valid.len() + ",\"note\":".len() + 127 + 1;
        assert_eq!(p.line_col, Some((7, col)), "{depth}: {}", p.one_line());
        assert!(
            p.one_line().starts_with(&format!("batch.jsonl:7:{col}: ")),
            "file, line and column, each once: {}",
            p.one_line()
        );
    }
}

#[test]
fn bom_and_crlf_are_not_errors() {
    let plain = examples_text();
    let windows = format!("\u{feff}{}", plain.replace('\n', "\r\n"));
    let a = load_shipment("plain.yaml", &plain).unwrap();
    let b = load_shipment("windows.yaml", &windows)
        .unwrap_or_else(|p| panic!("BOM + CRLF refused:\n{}", render_plain(&p)));
    assert_eq!(
        a.digest(),
        b.digest(),
        "the same facts, however the file is saved"
    );
    assert_eq!(b.items[0].hs_code.digits(), "853224");
    assert_eq!(
        b.contract.as_ref().and_then(|c| c.id.as_deref()),
        Some("EH-JP-2024-77")
    );

    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "windows.yaml", windows);
    let out = rulecheck().args(["eval", &path]).output().unwrap();
    assert_no_crash("eval BOM + CRLF", &out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "expected clear:\n{}",
        stderr(&out)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("SHP-2024-1003-021: CLEAR"));
}

// ---- the command line ---------------------------------------------------------------

#[test]
fn cli_check_exits_11_and_shows_file_and_line() {
    let files = corpus(BAD_RULES, &["rules"]);
    let jobs: Vec<Vec<String>> = files
        .iter()
        .map(|p| vec!["check".into(), display(p)])
        .collect();
    for (path, out) in files.iter().zip(run_all(&jobs)) {
        let name = display(path);
        assert_no_crash(&format!("check {name}"), &out);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(EXIT_BAD_RULES),
            "check {name}:\n{err}"
        );
        let &(_, _, in_file, line) = RULE_CASES.iter().find(|c| c.0 == stem(path)).unwrap();
        let at = format!("{}:{line}:", in_file.unwrap_or(&name));
        assert!(
            err.contains(&at),
            "check {name}: stderr does not show {at}:\n{err}"
        );
        assert!(err.contains("1 error"), "check {name}:\n{err}");
    }
}

#[test]
fn cli_eval_exits_10_and_shows_file_and_line() {
    let files = corpus(BAD_SHIPMENTS, &["yaml", "json"]);
    let jobs: Vec<Vec<String>> = files
        .iter()
        .map(|p| vec!["eval".into(), display(p)])
        .collect();
    for (path, out) in files.iter().zip(run_all(&jobs)) {
        let name = display(path);
        assert_no_crash(&format!("eval {name}"), &out);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(EXIT_BAD_SHIPMENT),
            "eval {name}:\n{err}"
        );
        assert!(
            out.stdout.is_empty(),
            "eval {name}: a verdict for a bad file"
        );
        let &(_, place) = SHIPMENT_CASES.iter().find(|c| c.0 == stem(path)).unwrap();
        let shown = match place {
            Where::Line(line) => format!("{name}:{line}:"),
            Where::Located => format!("{name}:"),
            Where::WholeFile => name.clone(),
        };
        assert!(
            err.contains(&shown),
            "eval {name}: stderr does not show {shown}:\n{err}"
        );
    }
}

#[test]
fn cli_never_panics_on_any_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let generated_shipments = [
        write(dir.path(), "deep-list.yaml", deep_list(100_000)),
        write(dir.path(), "invalid-utf8.yaml", invalid_utf8_bytes()),
        write(dir.path(), "nul.yaml", "id: \0\n"),
        write(dir.path(), "not-a-mapping.yaml", "- just\n- a list\n"),
        write(dir.path(), "scalar.yaml", "42\n"),
    ];
    let mut bad_utf8_rules = b"# r\xe8gle mal enregistr\xe9e\n".to_vec();
    bad_utf8_rules.extend_from_slice(b"regime r { title \"t\" scope everyone }\n");
    let generated_rules = [
        write(dir.path(), "invalid-utf8.rules", bad_utf8_rules),
        write(
            dir.path(),
            "deep-parens.rules",
            format!(
                "regime r {{ title \"t\" scope everyone }}\nrule a.b {{ regime r citation \"c\" verdict review\n  when {}destination == RU{}\n}}\n",
                "(\n".repeat(100),
                ")".repeat(100)
            ),
        ),
        write(dir.path(), "only-brace.rules", "}"),
    ];

    let mut jobs: Vec<Vec<String>> = Vec::new();
    for p in corpus(BAD_RULES, &["rules"])
        .iter()
        .map(|p| display(p))
        .chain(generated_rules)
    {
        jobs.push(vec!["check".into(), p.clone()]);
        jobs.push(vec![
            "eval".into(),
            "--rules".into(),
            p,
            CLEAR_EXAMPLE.into(),
        ]);
    }
    for p in corpus(BAD_SHIPMENTS, &["yaml", "json"])
        .iter()
        .map(|p| display(p))
        .chain(generated_shipments)
    {
        jobs.push(vec!["eval".into(), "--format".into(), "json".into(), p]);
    }
    for (args, out) in jobs.iter().zip(run_all(&jobs)) {
        let what = args.join(" ");
        assert_no_crash(&what, &out);
        let want = if args[0] == "check" || args[1] == "--rules" {
            EXIT_BAD_RULES
        } else {
            EXIT_BAD_SHIPMENT
        };
        assert_eq!(out.status.code(), Some(want), "{what}:\n{}", stderr(&out));
        let last = args.last().unwrap();
        let named = if args[1] == "--rules" { &args[2] } else { last };
        let file = Path::new(named).file_name().unwrap().to_string_lossy();
        assert!(
            stderr(&out).contains(&*file),
            "{what}: stderr does not name {file}"
        );
    }
}

// ---- regressions: each pins a diagnostic that was once wrong -------------------------

#[test]
fn unclosed_brace_names_the_missing_brace() {
    let p = only_rule_error("02-unclosed-brace");
    assert!(words(&p).contains("`}`"), "{}", render_plain(&p));
}

#[test]
fn labels_cover_only_the_text_at_fault() {
    for path in corpus(BAD_RULES, &["rules"]) {
        for p in rule_problems(&path) {
            if let Some(t) = labelled_text(&p) {
                assert!(
                    !t.contains('\n') && t.trim_end() == t,
                    "{}: the label covers {t:?}:\n{}",
                    path.display(),
                    render_plain(&p)
                );
            }
        }
    }
}

#[test]
fn an_item_not_a_item() {
    let p = only_rule_error("10-unknown-item-field-in-quantifier");
    assert!(!p.message.contains("a item"), "{}", p.message);
}

#[test]
fn single_equals_suggests_double() {
    let p = only_rule_error("20-single-equals");
    assert!(
        words(&p).contains("`==`") && p.help.is_some(),
        "{}",
        render_plain(&p)
    );
}

#[test]
fn lower_case_country_suggests_upper_case() {
    let p = only_rule_error("21-lower-case-country");
    assert!(
        p.help.as_deref().is_some_and(|h| h.contains("`RU`")),
        "{}",
        render_plain(&p)
    );
}

#[test]
fn unterminated_string_says_it_is_not_closed() {
    let p = only_rule_error("24-unterminated-string");
    assert!(
        !p.message.contains("expected a quoted string") && words(&p).contains("close"),
        "{}",
        render_plain(&p)
    );
}

#[test]
fn rule_file_with_bom_and_crlf_is_accepted() {
    let src = "# EU rules\nregime eu_russia {\n  title \"EU\"\n  scope everyone\n}\n\nrule eu.a {\n  regime eu_russia\n  citation \"Art. 2\"\n  effective from 2022-02-25\n  when destination == RU\n  verdict prohibited\n}\n";
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "windows.rules",
        format!("\u{feff}{}", src.replace('\n', "\r\n")),
    );
    let out = rulecheck().args(["check", &path]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn long_condition_chains_do_not_crash() {
    let dir = tempfile::tempdir().unwrap();
    let head = "regime r { title \"t\" scope everyone }\nrule a.b { regime r citation \"c\" effective from 2024-01-01 verdict review\n  when ";
    let or_chain = vec!["destination == RU"; 1_000].join("\n    or ");
    let not_chain = format!("{}destination == RU", "not ".repeat(1_000));
    for (name, cond) in [("or-chain.rules", or_chain), ("not-chain.rules", not_chain)] {
        let path = write(dir.path(), name, format!("{head}{cond}\n}}\n"));
        let out = rulecheck().args(["check", &path]).output().unwrap();
        assert_no_crash(name, &out);
        // Accepted, or refused with a limit; never a crash.
        let err = stderr(&out);
        assert!(
            out.status.code() == Some(0) || err.contains("rulecheck::limit"),
            "{name}:\n{err}"
        );
    }
}

#[test]
fn deep_quantifiers_are_a_limit_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut nest = String::new();
    for i in 0..3_000 {
        writeln!(nest, "any v{i} in route where").expect("writing to a String");
    }
    let text = format!(
        "regime r {{ title \"t\" scope everyone }}\nrule a.b {{ regime r citation \"c\" verdict review\n  when {nest} destination == RU\n}}\n"
    );
    let path = write(dir.path(), "deep-any.rules", text);
    let out = rulecheck().args(["check", &path]).output().unwrap();
    assert_no_crash("deep any", &out);
    let err = stderr(&out);
    assert!(
        err.contains("rulecheck::limit") && !err.contains("stack limit reached"),
        "{err}"
    );
}

#[test]
fn errors_on_very_long_lines_render_without_panic() {
    let dir = tempfile::tempdir().unwrap();
    // A one-line JSON shipment (as exported by many systems) with a bad value at column ~70,000.
    let json = format!(
        "{{\"id\": \"S1\", \"date\": \"2024-10-03\", \"exporter\": {{\"name\": \"A\", \"country\": \"DE\"}}, \"consignee\": {{\"name\": \"{}\", \"country\": \"JP\"}}, \"destination\": \"jp\", \"items\": [{{\"hs_code\": \"8532.24\"}}]}}",
        "B".repeat(70_000)
    );
    let shipment = write(dir.path(), "one-line.json", json);
    let rules = write(
        dir.path(),
        "one-line.rules",
        format!(
            "regime r {{ title \"t\" scope everyone }}{}rule a.b {{ regime r citation \"c\" verdict review when destination == 5 }}\n",
            " ".repeat(70_000)
        ),
    );
    for (args, want) in [
        (vec!["eval", shipment.as_str()], EXIT_BAD_SHIPMENT),
        (vec!["check", rules.as_str()], EXIT_BAD_RULES),
    ] {
        let out = rulecheck().args(&args).output().unwrap();
        assert_no_crash(&args.join(" "), &out);
        assert_eq!(out.status.code(), Some(want));
    }
}

#[test]
fn unquoted_hs_code_suggests_the_digits_as_written() {
    let p = shipment_problem_of("06-hs-code-unquoted-number");
    assert!(words(&p).contains("\"8542.10\""), "{}", render_plain(&p));
}

#[test]
fn quantity_as_text_has_help() {
    let p = shipment_problem_of("08-quantity-is-text");
    assert!(p.help.is_some(), "{}", render_plain(&p));
}

#[test]
fn invalid_date_names_the_date_and_the_format() {
    let p = shipment_problem_of("10-invalid-date");
    let w = words(&p);
    assert!(
        w.contains("2024-13-01") && w.contains("YYYY-MM-DD"),
        "{}",
        render_plain(&p)
    );
}

#[test]
fn tab_indentation_says_tab() {
    let p = shipment_problem_of("15-tab-indentation");
    assert!(
        words(&p).to_lowercase().contains("tab"),
        "{}",
        render_plain(&p)
    );
}

#[test]
fn duplicate_key_points_at_the_second_key() {
    let p = shipment_problem_of("22-duplicate-key");
    assert_eq!(p.line_col.map(|(l, _)| l), Some(16), "{}", render_plain(&p));
}

#[test]
fn shipment_messages_do_not_repeat_the_location() {
    for path in corpus(BAD_SHIPMENTS, &["yaml", "json"]) {
        let p = shipment_problem(&path);
        assert!(
            !p.message.contains(" at line "),
            "{}: {}",
            path.display(),
            p.message
        );
    }
}

#[test]
fn direct_owners_over_100_percent_are_refused() {
    let text = examples_text().replace(
        "  city: Osaka\n",
        "  city: Osaka\n  owners:\n    - { name: Kansai Holdings K.K., percent: 60 }\n    - { name: Osaka Capital K.K., percent: 50 }\n",
    );
    let p = load_shipment("owners.yaml", &text)
        .map(|s| s.id)
        .expect_err("owners holding 110% in total are accepted");
    // Located at the list of owners (its first entry), not at the top of the file.
    let owners_line = text.lines().position(|l| l.trim() == "owners:").unwrap() + 1;
    assert_eq!(
        p.line_col.map(|(l, _)| l),
        Some(owners_line + 1),
        "{}",
        render_plain(&p)
    );
}

#[test]
fn a_100_000_deep_yaml_list_is_refused_quickly() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = load_shipment("deep.yaml", &deep_list(100_000)).map(|s| s.id);
        let _ = tx.send(r);
    });
    let r = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a 200 KB file still not refused after 10 seconds");
    let p = r.expect_err("a 100,000-deep list is accepted");
    assert!(p.line_col.is_some(), "{}", p.one_line());
}
