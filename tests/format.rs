//! `rulecheck fmt`: the bundled rules are formatted, formatting is idempotent and keeps
//! the meaning and the comments of every rule source the project has, of hand-written
//! tricky inputs and of random ones; golden layouts; the command line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use proptest::prelude::*;

use rulecheck::ast::without_spans;
use rulecheck::format::{comment_texts, format_source};
use rulecheck::source::SourceMap;

fn rulecheck() -> Command {
    Command::cargo_bin("rulecheck").expect("the binary is built by cargo test")
}

/// Every `*.rules` file under `dir`, sorted.
fn rule_files(dir: &str) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(p).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "rules") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new(dir), &mut out);
    out.sort();
    assert!(!out.is_empty(), "no rule files under {dir}");
    out
}

fn parse(text: &str) -> Option<rulecheck::ast::File> {
    let mut map = SourceMap::default();
    let id = map.add("t.rules", text);
    rulecheck::parser::parse_file(id, map.file(id)).ok()
}

/// The comments of a rule source, found without the formatter's lexer: text from `#`
/// outside a string to the end of the line.
fn comments_of(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut in_string, mut escaped, mut comment): (bool, bool, Option<String>) =
        (false, false, None);
    for c in text.chars() {
        if let Some(buf) = comment.as_mut() {
            if c == '\n' {
                out.push(comment.take().unwrap().trim_end().to_string());
            } else {
                buf.push(c);
            }
        } else if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '#' {
            comment = Some("#".to_string());
        }
    }
    out.extend(comment.map(|c| c.trim_end().to_string()));
    out
}

/// Formatting `text` keeps its meaning (the tree, spans aside) and its comments, and
/// formatting the result again changes nothing.
fn assert_round_trip(name: &str, text: &str) {
    let before = parse(text).unwrap_or_else(|| panic!("{name}: the input does not parse"));
    let once = format_source(name, text)
        .unwrap_or_else(|p| panic!("{name}: not formatted: {}", p[0].message));
    let after =
        parse(&once).unwrap_or_else(|| panic!("{name}: the output does not parse:\n{once}"));
    assert_eq!(
        without_spans(&before),
        without_spans(&after),
        "{name}: the meaning changed:\n{once}"
    );
    assert_eq!(
        comment_texts(text),
        comment_texts(&once),
        "{name}: the comments changed:\n{once}"
    );
    assert_eq!(
        comments_of(text),
        comments_of(&once),
        "{name}: the comments changed"
    );
    let twice = format_source(name, &once).unwrap();
    assert_eq!(once, twice, "{name}: formatting twice changes the layout");
}

#[test]
fn bundled_and_fixture_rules_are_formatted() {
    let mut files = rule_files("rules");
    files.extend(rule_files("tests/fixtures/rules"));
    let unformatted: Vec<String> = files
        .iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            format_source(&p.display().to_string(), &text).unwrap() != text
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        unformatted.is_empty(),
        "run `rulecheck fmt` on: {unformatted:?}"
    );
}

#[test]
fn fmt_check_passes_on_the_bundled_rules() {
    rulecheck()
        .args(["fmt", "--check", "rules", "tests/fixtures/rules"])
        .assert()
        .success()
        .stderr("");
}

#[test]
fn round_trip_of_bundled_and_fixture_rules() {
    let mut files = rule_files("rules");
    files.extend(rule_files("tests/fixtures/rules"));
    for p in files {
        assert_round_trip(
            &p.display().to_string(),
            &std::fs::read_to_string(&p).unwrap(),
        );
    }
}

#[test]
fn round_trip_of_bad_rules_that_parse() {
    let mut parsed = 0;
    for p in rule_files("tests/bad_rules") {
        let text = std::fs::read_to_string(&p).unwrap();
        if parse(&text).is_some() {
            parsed += 1;
            assert_round_trip(&p.display().to_string(), &text);
        } else {
            // A file that does not parse is refused, never rewritten.
            assert!(format_source(&p.display().to_string(), &text).is_err());
        }
    }
    assert!(parsed >= 15, "only {parsed} bad rule files parse");
}

#[test]
fn round_trip_of_the_tricky_inputs() {
    for p in rule_files("tests/format") {
        assert_round_trip(
            &p.display().to_string(),
            &std::fs::read_to_string(&p).unwrap(),
        );
    }
}

/// The string literals of a Rust source (plain and raw), unescaped.
fn string_literals(src: &str) -> Vec<String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'r' && (b.get(i + 1) == Some(&b'#') || b.get(i + 1) == Some(&b'"')) {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            let open = i + 1 + hashes;
            if b.get(open) != Some(&b'"') {
                i += 1;
                continue;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let end = src[open + 1..]
                .find(&close)
                .map_or(b.len(), |n| open + 1 + n);
            out.push(src[open + 1..end].to_string());
            i = end + close.len();
        } else if b[i] == b'\'' {
            // a char literal such as '"' or a lifetime
            if b.get(i + 2) == Some(&b'\'') {
                i += 3;
            } else if b.get(i + 1) == Some(&b'\\') && b.get(i + 3) == Some(&b'\'') {
                i += 4;
            } else {
                i += 1;
            }
        } else if b[i] == b'"' {
            let mut s = String::new();
            let mut chars = src[i + 1..].char_indices();
            let mut end = b.len();
            while let Some((n, c)) = chars.next() {
                match c {
                    '"' => {
                        end = i + 1 + n;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, 'n')) => s.push('\n'),
                        Some((_, 't')) => s.push('\t'),
                        Some((_, '\n')) => {
                            while chars.clone().next().is_some_and(|(_, c)| c.is_whitespace()) {
                                chars.next();
                            }
                        }
                        Some((_, c)) => s.push(c),
                        None => {}
                    },
                    c => s.push(c),
                }
            }
            out.push(s);
            i = end + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// The rule sources `tests/eval.rs` writes inline: whole declarations, and conditions
/// (put in a rule as its helpers do).
#[test]
fn round_trip_of_the_inline_sources_of_the_eval_tests() {
    let src = std::fs::read_to_string("tests/eval.rs").unwrap();
    let mut tried = 0;
    for lit in string_literals(&src) {
        let candidates = [
            lit.clone(),
            format!("rule t.rule {{\n  regime r\n  when {lit}\n  verdict prohibited\n}}\n"),
        ];
        for text in candidates {
            if parse(&text).is_some() && !text.trim().is_empty() {
                tried += 1;
                assert_round_trip("tests/eval.rs (inline)", &text);
                break;
            }
        }
    }
    assert!(
        tried >= 100,
        "only {tried} inline rule sources found in tests/eval.rs"
    );
}

#[test]
fn golden_layouts() {
    for p in rule_files("tests/format") {
        let text = std::fs::read_to_string(&p).unwrap();
        let formatted = format_source(&p.display().to_string(), &text).unwrap();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_snapshot!(
            name,
            format!("{text}\n---------------- formatted ----------------\n{formatted}")
        );
    }
}

#[test]
fn a_long_string_is_never_broken() {
    let long = "x".repeat(150);
    let text = format!(
        "rule a.b {{ regime r title \"{long}\" when a == \"{long}\" or b verdict review }}"
    );
    let out = format_source("t.rules", &text).unwrap();
    assert!(out.contains(&format!("  title \"{long}\"\n")), "{out}");
    assert!(out.contains(&format!("  when a == \"{long}\"\n")), "{out}");
}

#[test]
fn fields_keep_the_order_written() {
    let out = format_source(
        "t.rules",
        "rule a.b { verdict review when x regime r note \"n\" title \"t\" }",
    )
    .unwrap();
    assert_eq!(
        out,
        "rule a.b {\n  verdict review\n  when x\n  regime r\n  note \"n\"\n  title \"t\"\n}\n"
    );
}

#[test]
fn a_top_level_chain_of_tests_is_broken_and_of_names_is_not() {
    let out = format_source(
        "t.rules",
        "predicate p { when a or b } predicate q { when a == RU and b }",
    )
    .unwrap();
    assert_eq!(
        out,
        "predicate p {\n  when a or b\n}\n\npredicate q {\n  when a == RU\n   and b\n}\n"
    );
}

// ---- random sources ------------------------------------------------------------------

/// A random condition as tokens (a multi-word operator such as `on or before` is one
/// token: no comment may stand inside it).
fn condition() -> impl Strategy<Value = Vec<String>> {
    let leaf = prop_oneof![
        Just("destination == RU"),
        Just("consignee.country in russia_belarus"),
        Just("end_user.country not in [ RU , BY , ]"),
        Just("end_user is missing"),
        Just("contract.no_russia_clause"),
        Just("chpl_item ( item )"),
        Just("contract.date on or before 2024-01-01 + 6 months"),
        Just("item.eccn starts with [ \"3A\" , \"4A\" ]"),
        Just("ownership of consignee by sdn >= 50%"),
        Just("true"),
        Just("a_rather_long_fact_name.with_a_long_field_name > -1000.5"),
        Just("consignee.name == \"ООО «Ромашка» — \\\"q\\\"\""),
        Just("count i in items > 3"),
        Just("x in [ AT , BE , BG , HR , CY , CZ , DK , EE , FI , FR , DE , GR , HU , IE , IT , LV , LT , LU , MT ]"),
    ]
    .prop_map(tokens);
    leaf.prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 2..5), prop::bool::ANY).prop_map(|(ops, or)| {
                let mut out = Vec::new();
                for (i, op) in ops.into_iter().enumerate() {
                    if i > 0 {
                        out.push(if or { "or" } else { "and" }.to_string());
                    }
                    out.extend(op);
                }
                out
            }),
            inner.clone().prop_map(|e| wrap(&["not", "("], e, &[")"])),
            inner
                .clone()
                .prop_map(|e| wrap(&["(", "("], e, &[")", ")"])),
            inner
                .clone()
                .prop_map(|e| wrap(&["not", "not", "("], e, &[")"])),
            inner
                .clone()
                .prop_map(|e| wrap(&["any", "x", "in", "items", "where", "("], e, &[")"])),
            inner.clone().prop_map(|e| wrap(
                &[
                    "sum",
                    "i.value.amount",
                    "for",
                    "i",
                    "in",
                    "items",
                    "where",
                    "("
                ],
                e,
                &[")", ">=", "1000"]
            )),
            inner.prop_map(|e| wrap(&["none", "p", "in", "parties", "where", "("], e, &[")"])),
        ]
    })
}

fn tokens(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in s.split(' ') {
        match (out.last().map(String::as_str), w) {
            (Some("on"), "or") | (Some("on or"), "before") | (Some("starts"), "with") => {
                let last = out.pop().unwrap();
                out.push(format!("{last} {w}"));
            }
            _ => out.push(w.to_string()),
        }
    }
    // strings with spaces were split: join them back
    let mut joined: Vec<String> = Vec::new();
    let mut open = false;
    for t in out {
        if open {
            let last = joined.last_mut().unwrap();
            last.push(' ');
            last.push_str(&t);
        } else {
            joined.push(t.clone());
        }
        let quotes = t.matches('"').count() - t.matches("\\\"").count();
        if quotes % 2 == 1 {
            open = !open;
        }
    }
    joined
}

fn wrap(before: &[&str], e: Vec<String>, after: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = before.iter().map(|s| (*s).to_string()).collect();
    out.extend(e);
    out.extend(after.iter().map(|s| (*s).to_string()));
    out
}

/// A random rule file as tokens.
fn rule_file() -> impl Strategy<Value = Vec<String>> {
    let decl = prop_oneof![
        condition().prop_map(|e| {
            let mut t = tokens("rule t.a {");
            t.extend(tokens("regime r title \"a rule\""));
            t.push("when".into());
            t.extend(e);
            t.extend(tokens("verdict review }"));
            t
        }),
        condition().prop_map(|e| {
            let mut t = tokens("predicate p ( i : item , j : party ) { when");
            t.extend(e);
            t.push("}".into());
            t
        }),
        condition().prop_map(|e| {
            let mut t = tokens("regime r { authority \"x\" scope");
            t.extend(e);
            t.push("}".into());
            t
        }),
        Just(tokens("fact a.b : date \"a date\"")),
        Just(tokens(
            "list l { kind country entries [ RU , BY ] as_of 2024-01-01 }"
        )),
    ];
    prop::collection::vec(decl, 1..4).prop_map(|ds| ds.concat())
}

/// What may stand between two tokens: blanks, line breaks and comments.
fn separator() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        8 => Just(" "),
        1 => Just("   "),
        1 => Just("\n"),
        1 => Just("\n\t  "),
        1 => Just(" # trailing\n"),
        1 => Just("\n# own line\n"),
        1 => Just("\n\n# apart\n\n"),
    ]
}

fn source() -> impl Strategy<Value = String> {
    rule_file()
        .prop_flat_map(|toks| {
            let n = toks.len();
            (Just(toks), prop::collection::vec(separator(), n))
        })
        .prop_map(|(toks, seps)| {
            let mut s = String::new();
            for (t, sep) in toks.iter().zip(seps) {
                s.push_str(t);
                s.push_str(sep);
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_sources_round_trip(text in source()) {
        // The generator writes only valid sources: each one is a real test.
        prop_assert!(parse(&text).is_some(), "the generated source does not parse:\n{}", text);
        assert_round_trip("random", &text);
    }
}

// ---- the command line ----------------------------------------------------------------

const MESSY: &str = "rule a.b {regime r   when x == RU and y verdict review}\n";
const TIDY: &str = "rule a.b {\n  regime r\n  when x == RU\n   and y\n  verdict review\n}\n";

#[test]
fn check_lists_a_file_that_would_change_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.rules"), MESSY).unwrap();
    std::fs::write(dir.path().join("b.rules"), TIDY).unwrap();
    let out = rulecheck()
        .args(["fmt", "--check"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout("")
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("a.rules"), "{stderr}");
    assert!(!stderr.contains("b.rules"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.rules")).unwrap(),
        MESSY
    );
}

#[test]
fn check_exits_0_when_everything_is_formatted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.rules"), TIDY).unwrap();
    rulecheck()
        .args(["fmt", "--check"])
        .arg(dir.path())
        .assert()
        .success();
}

#[test]
fn diff_shows_the_change_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.rules");
    std::fs::write(&file, MESSY).unwrap();
    let out = rulecheck()
        .args(["fmt", "--diff"])
        .arg(&file)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("@@"), "{stdout}");
    assert!(
        stdout.contains("-rule a.b {regime r   when x == RU and y verdict review}"),
        "{stdout}"
    );
    assert!(stdout.contains("+   and y"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), MESSY);
}

#[test]
fn rewrites_files_in_place() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let file = dir.path().join("sub/a.rules");
    std::fs::write(&file, MESSY).unwrap();
    std::fs::write(dir.path().join("notes.txt"), MESSY).unwrap();
    rulecheck()
        .arg("fmt")
        .arg(dir.path())
        .assert()
        .success()
        .stdout("");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), TIDY);
    // only `*.rules` files in a directory
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        MESSY
    );
}

#[test]
fn formats_standard_input_to_standard_output() {
    rulecheck()
        .arg("fmt")
        .write_stdin(MESSY)
        .assert()
        .success()
        .stdout(TIDY);
    rulecheck()
        .args(["fmt", "-"])
        .write_stdin(TIDY)
        .assert()
        .success()
        .stdout(TIDY);
    rulecheck()
        .args(["fmt", "--check", "-"])
        .write_stdin(MESSY)
        .assert()
        .code(1)
        .stdout("");
}

#[test]
fn a_syntax_error_is_reported_with_its_place_and_the_file_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.rules");
    let bad = "rule a.b {\n  regime r\n  when destination = RU\n  verdict review\n}\n";
    std::fs::write(&file, bad).unwrap();
    std::fs::write(dir.path().join("good.rules"), MESSY).unwrap();
    let out = rulecheck()
        .arg("fmt")
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .assert()
        .code(11)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("bad.rules:3:20"), "{stderr}");
    assert!(stderr.contains("`=` is not a comparison"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), bad);
    // the other files are still formatted
    assert_eq!(
        std::fs::read_to_string(dir.path().join("good.rules")).unwrap(),
        TIDY
    );
}

#[test]
fn usage_errors_exit_12() {
    rulecheck().args(["fmt", "no/such/dir"]).assert().code(12);
    rulecheck().args(["fmt", "--bogus"]).assert().code(12);
}
