//! The rule book (`rulecheck doc`): golden Markdown and HTML of the fixture rules, links
//! and completeness over the bundled library, escaping, the command line, and the HTML
//! as a real browser renders it (headless Chromium: its DOM and a screenshot).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use rulecheck::ast::Decl;
use rulecheck::book::{self, Format};
use rulecheck::load::{self, Loaded, Origin};

fn rulecheck() -> Command {
    Command::cargo_bin("rulecheck").expect("the binary is built by cargo test")
}

const FIXTURE: &str = "tests/fixtures/rules";

fn book_of(origin: &Origin, format: Format) -> (String, Loaded) {
    let loaded = load::load_with_syntax(origin).unwrap();
    (book::render(&loaded, origin, format), loaded)
}

/// Every `id="..."` of a page.
fn ids(s: &str) -> BTreeSet<String> {
    s.split("id=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .map(str::to_string)
        .collect()
}

/// Every internal link target: `href="#x"` in HTML, `](#x)` in Markdown.
fn targets(s: &str) -> BTreeSet<String> {
    let html = s
        .split("href=\"#")
        .skip(1)
        .filter_map(|r| r.split('"').next());
    let md = s.split("](#").skip(1).filter_map(|r| r.split(')').next());
    html.chain(md).map(str::to_string).collect()
}

fn assert_links_resolve(s: &str, what: &str) {
    let ids = ids(s);
    let targets = targets(s);
    assert!(
        targets.len() > 50,
        "{what}: too few links: {}",
        targets.len()
    );
    let broken: Vec<&String> = targets.iter().filter(|t| !ids.contains(*t)).collect();
    assert!(
        broken.is_empty(),
        "{what}: links without an anchor: {broken:?}"
    );
}

/// The anchor ids of every regime, rule, exception, list and predicate declared.
fn declared_anchors(loaded: &Loaded) -> Vec<String> {
    loaded
        .files
        .iter()
        .flat_map(|f| &f.decls)
        .filter_map(|d| match d {
            Decl::Regime(r) => Some(format!("regime-{}", r.name.name)),
            Decl::Rule(r) => Some(format!("rule-{}", r.id.name)),
            Decl::Exception(x) => Some(format!("exception-{}", x.id.name)),
            Decl::List(l) => Some(format!("list-{}", l.name.name)),
            Decl::Predicate(p) => Some(format!("predicate-{}", p.name.name)),
            Decl::Fact(_) => None,
        })
        .collect()
}

#[test]
fn markdown_of_the_fixture_rules() {
    let (md, _) = book_of(&Origin::Disk(FIXTURE.into()), Format::Md);
    insta::assert_snapshot!("book_fixture_md", md);
}

#[test]
fn html_of_the_fixture_rules() {
    let (html, _) = book_of(&Origin::Disk(FIXTURE.into()), Format::Html);
    insta::assert_snapshot!("book_fixture_html", html);
}

#[test]
fn every_link_in_the_book_of_the_bundled_library_resolves() {
    for format in [Format::Md, Format::Html] {
        let (s, _) = book_of(&Origin::Bundled, format);
        assert_links_resolve(&s, &format!("{format:?}"));
    }
}

#[test]
fn the_book_of_the_bundled_library_has_every_declaration() {
    for format in [Format::Md, Format::Html] {
        let (s, loaded) = book_of(&Origin::Bundled, format);
        let ids = ids(&s);
        let anchors = declared_anchors(&loaded);
        assert!(anchors.len() > 50, "{}", anchors.len());
        for a in &anchors {
            assert!(ids.contains(a), "{format:?}: no anchor `{a}`");
            assert!(
                targets(&s).contains(a),
                "{format:?}: nothing links to `{a}`"
            );
        }
        // Every rule's title and citation, as written.
        for r in &loaded.rules.rules {
            let title = r.title.as_deref().unwrap();
            let shown = if format == Format::Html {
                book::html_escape(title)
            } else {
                title.to_string()
            };
            assert!(s.contains(&shown), "{format:?}: no title of {}", r.id);
        }
        // The library's date and its digest are on the title page.
        assert!(s.contains("2024-06-24"));
        assert!(s.contains(&loaded.rules.digest));
    }
}

#[test]
fn a_condition_reads_in_plain_form() {
    let (md, _) = book_of(&Origin::Bundled, Format::Md);
    let rule = md
        .split("<a id=\"rule-eu.833.art12g\"></a>")
        .nth(1)
        .unwrap()
        .split("\n#")
        .next()
        .unwrap();
    for want in [
        "- **Effective:** in force from 2024-03-20",
        "- **Verdict:** **prohibited**",
        "  - all of:\n    - some `item` in `items` where [`chpl_item`](#predicate-chpl_item)(`item`)",
        "    - `destination` is not one of list [`eu_member_states`](#list-eu_member_states)",
        "    - `contract.no_russia_clause` is not true",
        "[`eu.833.art12g.old_contracts`](#exception-eu.833.art12g.old_contracts)",
        "**leaves nothing**",
        "[`chpl`](#list-chpl) (through `chpl_item`)",
        "- **Declared in:** `rules/eu/833_art12g.rules:3`",
    ] {
        assert!(rule.contains(want), "missing {want:?} in\n{rule}");
    }
    // Dates read as dates, shares with their sign, ownership in words.
    assert!(md.contains("`contract.date` is before `2023-12-19`"));
    assert!(
        md.contains("the share of `consignee` owned by persons on list [`sdn`](#list-sdn) ≥ `50%`")
    );
    assert!(md.contains("`end_user` is missing"));
}

#[test]
fn rule_text_is_escaped() {
    let rules = r#"
regime r { title "R & <D>" scope everyone }
list l { kind country entries [RU] }
rule x.danger {
  regime r
  title "Danger <script>alert('x')</script> & \"quoted\""
  citation "Art. 1 <b>"
  when destination in l
  verdict review
  message "value < 5 & {destination} \"ok\" {{braces}}"
  note "a <note> with * and _stars_"
}
"#;
    let origin = Origin::Memory(vec![("r.rules".into(), Arc::from(rules))]);
    let (html, _) = book_of(&origin, Format::Html);
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(html.contains(
        "Danger &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"
    ));
    assert!(html.contains("value &lt; 5 &amp; <code>{destination}</code> &quot;ok&quot; {braces}"));
    assert!(html.contains("R &amp; &lt;D&gt;"));
    assert_links_resolve_loose(&html);

    let (md, _) = book_of(&origin, Format::Md);
    assert!(
        md.contains(r"Danger \<script>alert('x')\</script> \& "),
        "{md}"
    );
    assert!(md.contains(r"a \<note> with \* and \_stars\_"), "{md}");
    // The only unescaped `<` are the book's own anchors.
    assert!(
        !md.replace("\\<", "")
            .replace("<a id=", "")
            .replace("</a>", "")
            .contains('<'),
        "{md}"
    );
}

/// Every link resolves, for a book too small for the count check.
fn assert_links_resolve_loose(s: &str) {
    let ids = ids(s);
    for t in targets(s) {
        assert!(ids.contains(&t), "no anchor for `{t}`");
    }
}

#[test]
fn the_html_book_is_well_formed() {
    let (html, _) = book_of(&Origin::Bundled, Format::Html);
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    // Text is escaped, so every `<` opens a tag: open and close them in order.
    let mut open: Vec<&str> = Vec::new();
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap())
    {
        if tag.starts_with('!') {
            continue;
        }
        let name = tag
            .trim_start_matches('/')
            .split([' ', '\n'])
            .next()
            .unwrap();
        if tag.starts_with('/') {
            assert_eq!(
                open.pop(),
                Some(name),
                "`</{name}>` closes the wrong element"
            );
        } else if name != "meta" {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "never closed: {open:?}");
    // Ids are unique.
    let all: Vec<&str> = html
        .split("id=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .collect();
    assert_eq!(all.len(), ids(&html).len(), "an id is used twice");
    // The page asks for nothing outside itself and runs no script.
    for banned in ["<script", "<link", "src=", "url(", "@import", "href=\"http"] {
        assert!(!html.contains(banned), "the page has `{banned}`");
    }
}

#[test]
fn the_book_is_deterministic() {
    for format in [Format::Md, Format::Html] {
        assert_eq!(
            book_of(&Origin::Bundled, format).0,
            book_of(&Origin::Bundled, format).0
        );
    }
}

#[test]
fn doc_writes_markdown_to_stdout_and_html_to_a_file() {
    let out = rulecheck().args(["doc", FIXTURE]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("# <a id=\"top\"></a>Rule book"), "{md}");
    assert!(md.contains("`eu.833.chpl_russia`"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("book.html");
    let out = rulecheck()
        .args(["doc", "--format", "html", "--out"])
        .arg(&file)
        .arg(FIXTURE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));

    // The bundled rules by default.
    let out = rulecheck().args(["doc"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("the rules bundled with rulecheck"));
}

#[test]
fn doc_of_broken_rules_exits_11_with_the_diagnostic() {
    let out = rulecheck()
        .args(["doc", "tests/bad_rules/03-undefined-list.rules"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("03-undefined-list.rules:"), "{err}");
    assert!(err.contains("russia_belarussia"), "{err}");
    assert!(err.contains("no rule book"), "{err}");
}

#[test]
fn doc_usage_errors_exit_12() {
    let out = rulecheck()
        .args(["doc", "--format", "pdf"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(12));
    let out = rulecheck()
        .args(["doc", "--out", "/nonexistent-dir/book.md", FIXTURE])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(12));
}

// ---------------------------------------------------------------------------------------
// The HTML in a real browser.

/// `target/`, where CI keeps the book as an artifact.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The browser: `RULECHECK_CHROMIUM` if set, else `/usr/bin/chromium` or `chromium` on
/// the `PATH`. Missing, the test fails and says how to install it: never a silent pass.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("RULECHECK_CHROMIUM") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "RULECHECK_CHROMIUM names `{}`, which does not exist: install Chromium with \
             `.ci/setup` (or `apt-get install chromium`)",
            p.display()
        );
        return p;
    }
    let candidates = [PathBuf::from("/usr/bin/chromium")].into_iter().chain(
        std::env::var_os("PATH")
            .map(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join("chromium"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    for c in candidates {
        if c.is_file() {
            return c;
        }
    }
    panic!(
        "chromium is not installed, and the rule book's browser test needs it: run `.ci/setup` \
         (or `apt-get install chromium`)"
    );
}

/// Runs headless Chromium with `args` on `page`, killed after 60 s; gives its stdout.
fn run_chromium(args: &[String], page: &Path, work: &Path) -> String {
    let profile = tempfile::tempdir_in(work).unwrap();
    let stdout_path = work.join(format!("stdout-{}", std::process::id()));
    let stdout = std::fs::File::create(&stdout_path).unwrap();
    let mut child = Process::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_mins(1);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium failed: {status} for {args:?}");
    let out = std::fs::read_to_string(&stdout_path).unwrap();
    let _ = std::fs::remove_file(&stdout_path);
    out
}

#[test]
fn the_html_book_renders_in_a_headless_browser() {
    let browser = chromium();
    assert!(browser.is_file());
    let dir = target_dir().join("rule-book");
    std::fs::create_dir_all(&dir).unwrap();
    let (html, loaded) = book_of(&Origin::Bundled, Format::Html);
    let (md, _) = book_of(&Origin::Bundled, Format::Md);
    let page = dir.join("rule-book.html");
    std::fs::write(&page, &html).unwrap();
    std::fs::write(dir.join("rule-book.md"), &md).unwrap();
    let page = std::fs::canonicalize(page).unwrap();

    // (1) The DOM as the browser built it: the rule titles are text, every link has its target.
    let dom = run_chromium(&["--dump-dom".to_string()], &page, &dir);
    assert!(dom.contains("<main>"), "no DOM dumped: {dom:.200}");
    for r in &loaded.rules.rules {
        let title = r.title.as_deref().unwrap();
        // The DOM serialiser escapes `&`, `<` and `>` in text, not quotes.
        let shown = title
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(dom.contains(&shown), "the DOM lacks the title of {}", r.id);
    }
    let dom_ids = ids(&dom);
    let dom_targets: BTreeSet<String> = dom
        .split("href=\"#")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .map(str::to_string)
        .collect();
    assert!(dom_targets.len() > 50, "{}", dom_targets.len());
    for t in &dom_targets {
        assert!(
            dom_ids.contains(t),
            "the rendered DOM has no element with id `{t}`"
        );
    }
    // Nothing the parser had to repair: the browser kept every element id of the source.
    assert_eq!(dom_ids, ids(&html));

    // (2) A screenshot: it exists, decodes, and is not blank.
    let png_path = dir.join("rule-book.png");
    let _ = std::fs::remove_file(&png_path);
    run_chromium(
        &[
            format!("--screenshot={}", png_path.display()),
            "--window-size=1280,2000".to_string(),
        ],
        &page,
        &dir,
    );
    let file = std::fs::File::open(&png_path).expect("chromium wrote no screenshot");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1280, 2000));
    let bytes = &buf[..info.buffer_size()];
    let px = info.color_type.samples();
    let colours: BTreeSet<&[u8]> = bytes.chunks_exact(px).collect();
    assert!(
        colours.len() > 16,
        "a blank page: {} colours",
        colours.len()
    );
    let first = &bytes[..px];
    let differing = bytes.chunks_exact(px).filter(|p| *p != first).count();
    assert!(
        differing > bytes.len() / px / 20,
        "the page is nearly uniform: {differing} pixels differ"
    );
}
