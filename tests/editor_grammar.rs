//! The editor support in `editors/`: the TextMate grammar of the rule language, its copy
//! in the VS Code extension and its plist form in the TextMate bundle (also read by
//! Sublime Text).
//!
//! Without Node: every keyword of `grammar/rulecheck.pest` is in the TextMate grammar,
//! the grammar is well-formed JSON whose includes all resolve, the VS Code copy is
//! identical and the extension's manifest points at it, and the plist is the JSON
//! grammar written as a plist (rewrite it with
//! `RULECHECK_UPDATE_EDITORS=1 cargo test --test editor_grammar`).
//!
//! With Node: `editors/test/tokenize.mjs` tokenizes the bundled rules with the engine of
//! VS Code (`vscode-textmate`, `vscode-oniguruma`) and checks what it gets; it must also
//! fail on text the grammar does not know and with a grammar that lost a rule. The npm
//! packages are installed with `npm ci` when `editors/test/node_modules` lacks them. A
//! machine without `node` and `npm` fails these tests: install Node.js 20 or later.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;

const PEST: &str = "grammar/rulecheck.pest";
const GRAMMAR: &str = "editors/textmate/rulecheck.tmLanguage.json";
const VSCODE_DIR: &str = "editors/vscode";
const VSCODE_GRAMMAR: &str = "editors/vscode/syntaxes/rulecheck.tmLanguage.json";
const PLIST: &str = "editors/textmate/rulecheck.tmbundle/Syntaxes/rulecheck.tmLanguage";
/// The grammar's uuid in the TextMate bundle (TextMate 2 wants one; JSON has none).
const PLIST_UUID: &str = "FF2026E4-2814-4A42-B97E-13FFDBCA47AC";
const NODE_DIR: &str = "editors/test";
const TOKENIZE: &str = "editors/test/tokenize.mjs";
const BROKEN_SAMPLE: &str = "editors/test/samples/broken.rules";
const UNTERMINATED_SAMPLE: &str = "editors/test/samples/unterminated.rules";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
}

// ---- without Node ------------------------------------------------------------------

/// The keyword literals of the pest grammar: every quoted word of letters and
/// underscores outside `//` comments.
fn pest_keywords() -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    for line in read(PEST).lines() {
        let mut in_string = false;
        let mut escaped = false;
        let mut current = String::new();
        let mut prev = ' ';
        for c in line.chars() {
            if in_string {
                match (escaped, c) {
                    (true, _) => {
                        escaped = false;
                        current.push(c);
                    }
                    (false, '\\') => {
                        escaped = true;
                        current.push(c);
                    }
                    (false, '"') => {
                        in_string = false;
                        if current.chars().any(|c| c.is_ascii_alphabetic())
                            && current.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
                        {
                            words.insert(std::mem::take(&mut current));
                        }
                        current.clear();
                    }
                    _ => current.push(c),
                }
            } else if c == '"' {
                in_string = true;
            } else if c == '/' && prev == '/' {
                break;
            }
            prev = c;
        }
    }
    words
}

/// Every regular expression of a grammar (`match`, `begin`, `end`, `while`).
fn regexes(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("match" | "begin" | "end" | "while", Value::String(s)) => out.push(s.clone()),
                    _ => regexes(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| regexes(v, out)),
        _ => {}
    }
}

/// Whether `word` stands as a whole word in one of the regular expressions (`\b` is read
/// as a boundary, and `\w` as a class, not as the letters `b` and `w`).
fn mentions(regexes: &[String], word: &str) -> bool {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    regexes.iter().any(|re| {
        let re = re.replace("\\b", " ");
        re.match_indices(word).any(|(at, _)| {
            let before = re[..at].chars().next_back();
            !is_word(before)
                && before != Some('\\')
                && !is_word(re[at + word.len()..].chars().next())
        })
    })
}

#[test]
fn every_keyword_of_the_pest_grammar_is_in_the_textmate_grammar() {
    let keywords = pest_keywords();
    // the extraction itself must find the language's words, or the check proves nothing
    for sure in [
        "regime",
        "license_required",
        "as_of",
        "ownership",
        "starts",
        "months",
    ] {
        assert!(
            keywords.contains(sure),
            "`{sure}` not found among the pest keywords {keywords:?}"
        );
    }
    assert!(keywords.len() > 60, "only {} pest keywords", keywords.len());

    let mut res = Vec::new();
    regexes(&json(GRAMMAR), &mut res);
    let missing: Vec<&String> = keywords.iter().filter(|w| !mentions(&res, w)).collect();
    assert!(
        missing.is_empty(),
        "keywords of {PEST} that no regular expression of {GRAMMAR} matches: {missing:?}"
    );
}

#[test]
fn the_keyword_check_notices_a_missing_word() {
    let res = vec![
        r"(?<![\w.])(?:and|or)(?![\w])".to_string(),
        r"\bdays\b".to_string(),
    ];
    assert!(mentions(&res, "and"));
    assert!(mentions(&res, "days"));
    assert!(!mentions(&res, "not"));
    assert!(!mentions(&res, "day"), "`day` is only part of `days`");
    assert!(
        !mentions(&res, "w"),
        "`w` of `\\w` is not a word of the language"
    );
}

/// Every `#name` include of a grammar.
fn includes(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("include", Value::String(s)) => out.push(s.clone()),
                    _ => includes(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| includes(v, out)),
        _ => {}
    }
}

#[test]
fn the_textmate_grammar_is_json_with_its_scope_file_type_and_resolvable_includes() {
    let g = json(GRAMMAR);
    assert_eq!(g["scopeName"], "source.rulecheck");
    assert!(
        g["fileTypes"]
            .as_array()
            .unwrap()
            .contains(&Value::from("rules"))
    );
    assert!(!g["patterns"].as_array().unwrap().is_empty());
    // vscode-textmate ignores an include it cannot resolve: a typo would go unnoticed
    let repository = g["repository"].as_object().unwrap();
    let mut inc = Vec::new();
    includes(&g, &mut inc);
    let unresolved: Vec<&String> = inc
        .iter()
        .filter(|i| {
            i.strip_prefix('#')
                .is_none_or(|name| !repository.contains_key(name))
        })
        .collect();
    assert!(
        unresolved.is_empty(),
        "includes with no rule: {unresolved:?}"
    );
    let unused: Vec<&String> = repository
        .keys()
        .filter(|k| !inc.contains(&format!("#{k}")))
        .collect();
    assert!(unused.is_empty(), "rules no pattern includes: {unused:?}");
}

#[test]
fn the_vscode_extension_carries_an_identical_grammar_and_points_at_it() {
    assert!(
        read(GRAMMAR) == read(VSCODE_GRAMMAR),
        "{VSCODE_GRAMMAR} differs from {GRAMMAR}: copy it (cp {GRAMMAR} {VSCODE_GRAMMAR})"
    );
    let manifest = json(&format!("{VSCODE_DIR}/package.json"));
    let language = &manifest["contributes"]["languages"][0];
    let grammar = &manifest["contributes"]["grammars"][0];
    assert_eq!(language["id"], "rulecheck");
    assert!(
        language["extensions"]
            .as_array()
            .unwrap()
            .contains(&Value::from(".rules"))
    );
    assert_eq!(grammar["language"], "rulecheck");
    assert_eq!(grammar["scopeName"], "source.rulecheck");
    let in_folder = |key: &Value| {
        let rel = key.as_str().unwrap().trim_start_matches("./");
        assert!(!rel.contains(".."), "{rel} is outside the extension folder");
        format!("{VSCODE_DIR}/{rel}")
    };
    assert_eq!(in_folder(&grammar["path"]), VSCODE_GRAMMAR);
    let config = json(&in_folder(&language["configuration"]));
    assert_eq!(config["comments"]["lineComment"], "#");
    for file in manifest["files"].as_array().unwrap() {
        let rel = format!("{VSCODE_DIR}/{}", file.as_str().unwrap());
        assert!(root().join(&rel).is_file(), "{rel} is listed but missing");
    }
}

/// Writes a JSON value as the body of an XML property list, one element a line.
fn plist_value(v: &Value, depth: usize, out: &mut String) {
    let indent = "\t".repeat(depth);
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    match v {
        Value::Object(map) => {
            out.push_str(&format!("{indent}<dict>\n"));
            let mut keys: Vec<&String> = map.keys().filter(|k| *k != "$schema").collect();
            keys.sort();
            for k in keys {
                out.push_str(&format!("{indent}\t<key>{}</key>\n", escape(k)));
                plist_value(&map[k], depth + 1, out);
            }
            out.push_str(&format!("{indent}</dict>\n"));
        }
        Value::Array(items) => {
            out.push_str(&format!("{indent}<array>\n"));
            for v in items {
                plist_value(v, depth + 1, out);
            }
            out.push_str(&format!("{indent}</array>\n"));
        }
        Value::String(s) => out.push_str(&format!("{indent}<string>{}</string>\n", escape(s))),
        Value::Bool(b) => out.push_str(&format!("{indent}<{b}/>\n")),
        Value::Number(n) => out.push_str(&format!("{indent}<integer>{n}</integer>\n")),
        Value::Null => panic!("a property list has no null"),
    }
}

/// The JSON grammar as a TextMate plist, with the bundle's uuid.
fn plist(grammar: &Value) -> String {
    let mut g = grammar.clone();
    g.as_object_mut()
        .unwrap()
        .insert("uuid".into(), Value::from(PLIST_UUID));
    let mut out = String::from(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" ",
        "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n",
        "<!-- Generated from editors/textmate/rulecheck.tmLanguage.json by tests/editor_grammar.rs:\n",
        "     run that test with RULECHECK_UPDATE_EDITORS=1 to rewrite it. -->\n",
        "<plist version=\"1.0\">\n",
    ));
    plist_value(&g, 0, &mut out);
    out.push_str("</plist>\n");
    out
}

#[test]
fn the_textmate_bundle_holds_the_json_grammar_as_a_plist() {
    let expected = plist(&json(GRAMMAR));
    if std::env::var_os("RULECHECK_UPDATE_EDITORS").is_some() {
        std::fs::write(root().join(PLIST), &expected).unwrap();
    }
    assert!(
        read(PLIST) == expected,
        "{PLIST} is not {GRAMMAR} as a plist: rewrite it with \
         RULECHECK_UPDATE_EDITORS=1 cargo test --test editor_grammar"
    );
    // well-formed, and a plist of a grammar
    for rel in [
        PLIST,
        "editors/textmate/rulecheck.tmbundle/info.plist",
        "editors/textmate/rulecheck.tmbundle/Preferences/Comments.tmPreferences",
    ] {
        let text = read(rel);
        let options = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..roxmltree::ParsingOptions::default()
        };
        let doc = roxmltree::Document::parse_with_options(&text, options)
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "plist", "{rel}");
    }
}

// ---- with Node -------------------------------------------------------------------------

/// Whether `program --version` runs.
fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Makes sure `node` can run the tokenizer: fails (never skips) when Node or npm is not
/// installed, and installs the pinned npm packages once when they are missing.
fn node_ready() {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut installed = INSTALLED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if *installed {
        return;
    }
    for program in ["node", "npm"] {
        assert!(
            runs(program),
            "`{program}` is not installed or does not run: the editor grammar tests need \
             Node.js 20 or later with npm (https://nodejs.org, or e.g. `apt-get install nodejs npm`)"
        );
    }
    let modules = root().join(NODE_DIR).join("node_modules");
    let have = ["vscode-textmate", "vscode-oniguruma"]
        .iter()
        .all(|m| modules.join(m).join("package.json").is_file());
    if !have {
        let out = Command::new("npm")
            .args([
                "ci",
                "--prefix",
                NODE_DIR,
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .current_dir(root())
            .output()
            .expect("npm runs");
        assert!(
            out.status.success(),
            "`npm ci --prefix {NODE_DIR}` failed (the npm registry must be reachable once):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    *installed = true;
}

fn tokenize<I: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = I>) -> Output {
    node_ready();
    Command::new("node")
        .arg(TOKENIZE)
        .args(args)
        .current_dir(root())
        .output()
        .expect("node runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_bundled_rules_tokenize_cleanly_with_the_vscode_engine() {
    let out = tokenize(Vec::<&str>::new());
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(": ok"), "{stdout}");
    // rules/ has a dozen files: a run over none of them must not pass
    let files: usize = stdout
        .split_whitespace()
        .skip_while(|w| *w != "tokenized")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(files >= 10, "only {files} files tokenized: {stdout}");
}

#[test]
fn the_textmate_bundle_plist_tokenizes_the_same() {
    let out = tokenize(["--grammar", PLIST]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn the_tokenizer_check_fails_on_text_the_grammar_does_not_know() {
    let out = tokenize([BROKEN_SAMPLE]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("broken.rules:4:26: not recognised"), "{said}");
    assert!(said.contains("broken.rules:8:1: not recognised"), "{said}");

    let out = tokenize([UNTERMINATED_SAMPLE]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("unterminated.rules:6:9: invalid.illegal"),
        "{said}"
    );
}

#[test]
fn the_tokenizer_check_fails_with_a_grammar_that_lost_a_rule() {
    // without the rule for comments, comments are text nobody knows; without the rule
    // for constants, a verdict is read as a fact
    let mut g = json(GRAMMAR);
    let repository = g["repository"].as_object_mut().unwrap();
    assert!(repository.remove("comment").is_some());
    assert!(repository.remove("constants").is_some());
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("lost-rules.tmLanguage.json");
    std::fs::write(&broken, serde_json::to_string(&g).unwrap()).unwrap();
    let broken: PathBuf = broken;
    let out = tokenize([std::ffi::OsStr::new("--grammar"), broken.as_os_str()]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("common.rules:1:1: not recognised"), "{said}");
    assert!(said.contains("expected constant.language"), "{said}");
}
