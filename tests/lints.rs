//! The lints of `rulecheck check`: for every lint, a small rule source that triggers it
//! (name, line:col and severity asserted) and a near miss that does not; suppression
//! comments; the bundled library is clean; every lint has its documentation page.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::sync::Arc;

use assert_cmd::Command;
use miette::Severity;
use rulecheck::diagnostics::{Code, Problem, render_plain};
use rulecheck::lint::{Level, Lint, lint};
use rulecheck::load::{Origin, load};

const HEAD: &str = "regime r { title \"t\" scope everyone }\n";

/// The lint problems of a rule file (with data files beside it); the file must check.
fn lint_files(files: &[(&str, &str)]) -> Vec<Problem> {
    let origin = Origin::Memory(
        files
            .iter()
            .map(|(n, t)| ((*n).to_string(), Arc::<str>::from(*t)))
            .collect(),
    );
    let (rs, warnings) = match load(&origin) {
        Ok(x) => x,
        Err(ps) => panic!(
            "does not check: {:?}",
            ps.0.iter().map(Problem::one_line).collect::<Vec<_>>()
        ),
    };
    assert!(warnings.is_empty(), "{warnings:?}");
    lint(&rs).0
}

fn lints_of(text: &str) -> Vec<Problem> {
    lint_files(&[("t.rules", text)])
}

fn named(ps: &[Problem], l: Lint) -> Vec<&Problem> {
    ps.iter().filter(|p| p.code == Code::Lint(l)).collect()
}

/// Exactly one problem of lint `l`, at `line:col`, with the lint's severity.
#[track_caller]
fn fires(ps: &[Problem], l: Lint, at: (usize, usize)) -> Problem {
    let found = named(ps, l);
    let all: Vec<String> = ps
        .iter()
        .map(|p| format!("{}: {}", p.code.as_str(), p.one_line()))
        .collect();
    assert_eq!(found.len(), 1, "{} in {all:#?}", l.name());
    let p = found[0];
    assert_eq!(p.line_col, Some(at), "{}: {}", l.name(), p.message);
    let want = match l.default_level() {
        Level::Error => Severity::Error,
        Level::Warning => Severity::Warning,
    };
    assert_eq!(p.severity, want, "{}", l.name());
    assert_eq!(p.code.as_str(), format!("rulecheck::lint::{}", l.name()));
    p.clone()
}

#[track_caller]
fn silent(ps: &[Problem], l: Lint) {
    let found: Vec<String> = named(ps, l).iter().map(|p| p.one_line()).collect();
    assert!(found.is_empty(), "{}: {found:#?}", l.name());
}

/// A rule with everything the lints ask for, and this condition.
fn rule(id: &str, when: &str) -> String {
    format!(
        "rule {id} {{\n  regime r\n  citation \"c\"\n  effective from 2022-01-01\n  when {when}\n  verdict prohibited\n}}\n"
    )
}

#[test]
fn missing_citation() {
    let src = format!(
        "{HEAD}rule a.b {{\n  regime r\n  effective from 2022-01-01\n  when destination == RU\n  verdict review\n}}\n"
    );
    fires(&lints_of(&src), Lint::MissingCitation, (2, 6));
    silent(
        &lints_of(&format!("{HEAD}{}", rule("a.b", "destination == RU"))),
        Lint::MissingCitation,
    );
}

#[test]
fn missing_effective_start() {
    let src = format!(
        "{HEAD}rule a.b {{\n  regime r\n  citation \"c\"\n  when destination == RU\n  verdict review\n}}\n"
    );
    fires(&lints_of(&src), Lint::MissingEffectiveStart, (2, 6));
    // Only an end date: the field is pointed at.
    let src = format!(
        "{HEAD}rule a.b {{\n  regime r\n  citation \"c\"\n  effective until 2024-01-01\n  when destination == RU\n  verdict review\n}}\n"
    );
    fires(&lints_of(&src), Lint::MissingEffectiveStart, (5, 3));
    silent(
        &lints_of(&format!("{HEAD}{}", rule("a.b", "destination == RU"))),
        Lint::MissingEffectiveStart,
    );
}

#[test]
fn impossible_condition_two_values_of_one_fact() {
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule("a.b", "destination == RU and destination == CN")
    ));
    let p = fires(&ps, Lint::ImpossibleCondition, (6, 8));
    assert!(
        p.message
            .contains("`destination == RU` and `destination == CN` cannot both hold"),
        "{}",
        p.message
    );
    silent(
        &lints_of(&format!(
            "{HEAD}{}",
            rule("a.b", "destination == RU or destination == CN")
        )),
        Lint::ImpossibleCondition,
    );
}

#[test]
fn impossible_condition_points_at_the_contradicting_parts() {
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule(
            "a.b",
            "exporter.country == DE and destination == RU and not destination == RU"
        )
    ));
    let p = fires(&ps, Lint::ImpossibleCondition, (6, 35));
    assert!(!p.message.contains("exporter"), "{}", p.message);
}

#[test]
fn impossible_condition_empty_and_excluding_lists() {
    let lists =
        "list none_yet { kind country entries [] }\nlist eu { kind country entries [DE, FR] }\n";
    let ps = lints_of(&format!(
        "{HEAD}{lists}{}",
        rule("a.b", "destination in none_yet")
    ));
    fires(&ps, Lint::ImpossibleCondition, (8, 8));
    let ps = lints_of(&format!(
        "{HEAD}{lists}{}",
        rule("a.b", "destination == US and destination in eu")
    ));
    fires(&ps, Lint::ImpossibleCondition, (8, 8));
    let ps = lints_of(&format!(
        "{HEAD}{lists}{}",
        rule("a.b", "destination in eu and destination in [RU, BY]")
    ));
    fires(&ps, Lint::ImpossibleCondition, (8, 8));
    let ps = lints_of(&format!(
        "{HEAD}{lists}{}",
        rule("a.b", "destination in eu and destination not in [DE, FR]")
    ));
    fires(&ps, Lint::ImpossibleCondition, (8, 8));
    // Near miss: the lists share FR.
    let ps = lints_of(&format!(
        "{HEAD}{lists}{}",
        rule("a.b", "destination in eu and destination in [FR, RU]")
    ));
    silent(&ps, Lint::ImpossibleCondition);
}

#[test]
fn impossible_condition_ranges_and_dates() {
    let facts = "fact total: number \"t\"\n";
    let ps = lints_of(&format!(
        "{HEAD}{facts}{}",
        rule("a.b", "total > 10 and total < 5")
    ));
    fires(&ps, Lint::ImpossibleCondition, (7, 8));
    let ps = lints_of(&format!(
        "{HEAD}{facts}{}",
        rule("a.b", "total > 10 and total <= 10")
    ));
    fires(&ps, Lint::ImpossibleCondition, (7, 8));
    // Dates are whole days: after the 1st and before the 2nd leaves none.
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule(
            "a.b",
            "contract.date after 2022-01-01 and contract.date before 2022-01-02"
        )
    ));
    fires(&ps, Lint::ImpossibleCondition, (6, 8));
    let ps = lints_of(&format!(
        "{HEAD}{facts}{}",
        rule("a.b", "total > 5 and total < 10")
    ));
    silent(&ps, Lint::ImpossibleCondition);
    let ps = lints_of(&format!(
        "{HEAD}{facts}{}",
        rule("a.b", "total >= 10 and total <= 10")
    ));
    silent(&ps, Lint::ImpossibleCondition);
}

#[test]
fn impossible_condition_hs_codes_quantifiers_and_presence() {
    // Items under 8542 with none under 8542: no shipment has both.
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule(
            "a.b",
            "any i in items where i.hs_code in [8542.31] and none i in items where i.hs_code in [8542]"
        )
    ));
    fires(&ps, Lint::ImpossibleCondition, (6, 8));
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule(
            "a.b",
            "any i in items where (i.hs_code in [8542] and i.hs_code in [8471])"
        )
    ));
    fires(&ps, Lint::ImpossibleCondition, (6, 8));
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule("a.b", "end_user is missing and end_user.country == RU")
    ));
    fires(&ps, Lint::ImpossibleCondition, (6, 8));
    // Near misses: a code under both headings, another item, another fact.
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule(
            "a.b",
            "any i in items where (i.hs_code in [8542] and i.hs_code in [8542.31])"
        )
    ));
    silent(&ps, Lint::ImpossibleCondition);
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule(
            "a.b",
            "any i in items where i.hs_code in [8542] and any i in items where i.hs_code in [8471]"
        )
    ));
    silent(&ps, Lint::ImpossibleCondition);
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule("a.b", "end_user is missing and consignee.country == RU")
    ));
    silent(&ps, Lint::ImpossibleCondition);
}

#[test]
fn impossible_condition_dead_branch_of_an_or() {
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule(
            "a.b",
            "destination == RU and (consignee.country == RU or destination == CN)"
        )
    ));
    let p = fires(&ps, Lint::ImpossibleCondition, (6, 58));
    assert!(
        p.message.contains("`destination == CN` never holds"),
        "{}",
        p.message
    );
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule(
            "a.b",
            "destination == RU and (consignee.country == RU or destination == RU)"
        )
    ));
    silent(&ps, Lint::ImpossibleCondition);
}

#[test]
fn impossible_condition_of_an_exception() {
    let src = format!(
        "{HEAD}{}exception x.y {{\n  relaxes a.b\n  citation \"c\"\n  when purpose == \"a\" and purpose == \"b\"\n  leaves review\n}}\nfact purpose: string \"p\"\n",
        rule("a.b", "destination == RU")
    );
    fires(&lints_of(&src), Lint::ImpossibleCondition, (12, 8));
}

#[test]
fn always_true() {
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule("a.b", "destination == destination")
    ));
    let p = fires(&ps, Lint::AlwaysTrue, (6, 8));
    assert!(p.message.contains("always holds"));
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule(
            "a.b",
            "destination == RU and (contract.no_russia_clause or not contract.no_russia_clause)"
        )
    ));
    let p = fires(&ps, Lint::AlwaysTrue, (6, 31));
    assert!(
        p.message.starts_with("`contract.no_russia_clause or not"),
        "{}",
        p.message
    );
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule(
            "a.b",
            "destination in [RU, BY] or destination not in [BY, RU]"
        )
    ));
    fires(&ps, Lint::AlwaysTrue, (6, 8));
    // Near miss: BY is neither `== RU` nor outside the list.
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule("a.b", "destination == RU or destination not in [RU, BY]")
    ));
    silent(&ps, Lint::AlwaysTrue);
    // Presence tests are never unknown: `is present or is missing` always holds.
    let ps = lints_of(&format!(
        "{HEAD}{}",
        rule("a.b", "end_user is present or end_user is missing")
    ));
    fires(&ps, Lint::AlwaysTrue, (6, 8));
}

#[test]
fn period_before_list() {
    let list = "list l { kind country entries [RU] source \"s\" as_of 2024-06-24 }\n";
    let r = |until: &str| {
        format!(
            "{HEAD}{list}predicate p {{ when destination in l }}\nrule a.b {{\n  regime r\n  citation \"c\"\n  effective from 2022-01-01 until {until}\n  when p\n  verdict review\n}}\n"
        )
    };
    fires(&lints_of(&r("2024-06-23")), Lint::PeriodBeforeList, (7, 35));
    silent(&lints_of(&r("2024-06-24")), Lint::PeriodBeforeList);
}

#[test]
fn shadowed_rule() {
    let strong = "rule a.strong {\n  regime r\n  citation \"c\"\n  effective from 2022-01-01\n  when destination in [RU, BY]\n  verdict prohibited\n}\n";
    let weak = "rule a.weak {\n  regime r\n  citation \"c\"\n  effective from 2023-01-01\n  when destination == RU and consignee.city == \"Moscow\"\n  verdict review\n}\n";
    let ps = lints_of(&format!("{HEAD}{strong}{weak}"));
    let p = fires(&ps, Lint::ShadowedRule, (9, 6));
    assert!(
        p.message
            .contains("rule `a.strong` applies whenever it does"),
        "{}",
        p.message
    );
    // Near miss: an exception relaxes the stronger rule only, so the weaker one can remain.
    let exc = "exception x.lic {\n  relaxes a.strong\n  citation \"c\"\n  when exporter.country == DE\n  leaves nothing\n}\n";
    silent(
        &lints_of(&format!("{HEAD}{strong}{weak}{exc}")),
        Lint::ShadowedRule,
    );
    // Near miss: the stronger rule starts later.
    let later = strong.replace("2022-01-01", "2023-06-01");
    silent(
        &lints_of(&format!("{HEAD}{later}{weak}")),
        Lint::ShadowedRule,
    );
    // Near miss: another regime.
    let other = format!(
        "regime s {{ scope everyone }}\n{}",
        strong.replace("regime r\n", "regime s\n")
    );
    silent(
        &lints_of(&format!("{HEAD}{other}{weak}")),
        Lint::ShadowedRule,
    );
    // Two equal rules: the later one is reported.
    let twin = strong.replace("a.strong", "a.twin");
    let ps = lints_of(&format!("{HEAD}{strong}{twin}"));
    let p = fires(&ps, Lint::ShadowedRule, (9, 6));
    assert!(p.message.starts_with("rule `a.twin`"), "{}", p.message);
}

#[test]
fn exception_never_in_force() {
    let r = "rule a.b {\n  regime r\n  citation \"c\"\n  effective from 2022-02-25\n  when destination == RU\n  verdict prohibited\n}\n";
    let x = |eff: &str| {
        format!(
            "{HEAD}{r}exception x.y {{\n  relaxes a.b\n  citation \"c\"\n  {eff}\n  when exporter.country == DE\n  leaves review\n}}\n"
        )
    };
    fires(
        &lints_of(&x("effective from 2021-01-01 until 2022-02-24")),
        Lint::ExceptionNeverInForce,
        (12, 3),
    );
    silent(
        &lints_of(&x("effective from 2021-01-01 until 2022-02-25")),
        Lint::ExceptionNeverInForce,
    );
}

#[test]
fn overlapping_exceptions() {
    let x = |id: &str, when: &str, leaves: &str| {
        format!(
            "exception {id} {{\n  relaxes a.b\n  citation \"c\"\n  when {when}\n  leaves {leaves}\n}}\n"
        )
    };
    let base = format!(
        "{HEAD}fact purpose: string \"p\"\n{}",
        rule("a.b", "destination == RU")
    );
    let src = format!(
        "{base}{}{}",
        x("x.humanitarian", "purpose == \"humanitarian\"", "review"),
        x(
            "x.licensed",
            "any l in licenses where rule.id in l.covers",
            "nothing"
        )
    );
    let p = fires(&lints_of(&src), Lint::OverlappingExceptions, (16, 11));
    assert!(
        p.message.contains("`x.humanitarian` and `x.licensed`"),
        "{}",
        p.message
    );
    // Near misses: provably disjoint; the same outcome.
    let src = format!(
        "{base}{}{}",
        x("x.humanitarian", "purpose == \"humanitarian\"", "review"),
        x("x.media", "purpose == \"news_media\"", "nothing")
    );
    silent(&lints_of(&src), Lint::OverlappingExceptions);
    let src = format!(
        "{base}{}{}",
        x("x.humanitarian", "purpose == \"humanitarian\"", "review"),
        x(
            "x.licensed",
            "any l in licenses where rule.id in l.covers",
            "review"
        )
    );
    silent(&lints_of(&src), Lint::OverlappingExceptions);
}

#[test]
fn unused_list_and_predicate() {
    let src = format!(
        "{HEAD}list used {{ kind country entries [RU] }}\nlist spare {{ kind country entries [BY] }}\npredicate p {{ when destination in used }}\npredicate q {{ when destination == RU }}\n{}",
        rule("a.b", "p")
    );
    let ps = lints_of(&src);
    fires(&ps, Lint::UnusedList, (3, 6));
    fires(&ps, Lint::UnusedPredicate, (5, 11));
    // Used through `ownership ... by` and `starts with`.
    let src = format!(
        "{HEAD}list owners {{ kind entity entries [\"ACME\"] }}\n{}",
        rule(
            "a.b",
            "ownership of consignee by owners >= 50% or any i in items where i.eccn starts with [\"3A\"]"
        )
    );
    silent(&lints_of(&src), Lint::UnusedList);
}

#[test]
fn duplicate_list_entry_inline_and_in_a_data_file() {
    let src = format!(
        "{HEAD}list l {{ kind hs_code entries [8542.31, 8471, 854231] }}\n{}",
        rule("a.b", "any i in items where i.hs_code in l")
    );
    let p = fires(&lints_of(&src), Lint::DuplicateListEntry, (2, 47));
    assert!(p.help.unwrap().contains("t.rules:2:32"));
    let rules = format!(
        "{HEAD}list l {{\n  kind country\n  from \"c.csv\"\n  source \"s\"\n  as_of 2024-01-01\n}}\n{}",
        rule("a.b", "destination in l")
    );
    let ps = lint_files(&[
        ("t.rules", &rules),
        (
            "c.csv",
            "code,name\nRU,Russia\nBY,Belarus\nRU,Russia again\n",
        ),
    ]);
    let p = fires(&ps, Lint::DuplicateListEntry, (4, 1));
    assert_eq!(p.file_name(), Some("c.csv"));
    let ps = lint_files(&[
        ("t.rules", &rules),
        ("c.csv", "code,name\nRU,Russia\nBY,Belarus\n"),
    ]);
    silent(&ps, Lint::DuplicateListEntry);
    // Entities: one name under two ids is two entities (lists name distinct persons
    // alike); the same id again is a repeated entry.
    let rules = format!(
        "{HEAD}list sdn {{\n  kind entity\n  from \"e.json\"\n  format json\n  column \"name\"\n  source \"s\"\n  as_of 2024-01-01\n}}\n{}",
        rule("a.b", "exporter.id in sdn")
    );
    let ps = lint_files(&[
        ("t.rules", &rules),
        (
            "e.json",
            r#"[{"id": "P1", "name": "Ion LLC"}, {"id": "P2", "name": "Ion LLC"}]"#,
        ),
    ]);
    silent(&ps, Lint::DuplicateListEntry);
    let ps = lint_files(&[
        ("t.rules", &rules),
        (
            "e.json",
            r#"[{"id": "P1", "name": "Ion LLC"}, {"id": "P2", "name": "Zen"}, {"id": "P1", "name": "Ion LLC"}]"#,
        ),
    ]);
    let p = ps
        .iter()
        .find(|p| p.code == Code::Lint(Lint::DuplicateListEntry))
        .expect("the same entity twice is a duplicate");
    assert!(
        p.message.contains("`Ion LLC` is listed twice"),
        "{}",
        p.message
    );
}

#[test]
fn malformed_list_entry() {
    let src = format!(
        "{HEAD}list l {{ kind hs_code entries [8542.31, 85423] }}\n{}",
        rule("a.b", "any i in items where i.hs_code in l")
    );
    let p = fires(&lints_of(&src), Lint::MalformedListEntry, (2, 41));
    assert!(p.message.contains("5 digits"), "{}", p.message);
    let src = format!(
        "{HEAD}list l {{ kind hs_code entries [8542.31, 8542, 8542.31.10] }}\n{}",
        rule("a.b", "any i in items where i.hs_code in l")
    );
    silent(&lints_of(&src), Lint::MalformedListEntry);
    let src = format!(
        "{HEAD}list l {{ kind country entries [RS, XK] }}\n{}",
        rule("a.b", "destination in l")
    );
    let p = fires(&lints_of(&src), Lint::MalformedListEntry, (2, 36));
    assert!(p.message.contains("user-assigned"), "{}", p.message);
    // The help speaks of countries, not of HS codes.
    let help = p.help.as_deref().unwrap_or_default();
    assert!(help.contains("country") && !help.contains("HS"), "{help}");
}

#[test]
fn suspicious_unicode() {
    // A Cyrillic `А` in a Latin name, and a right-to-left override in a citation.
    let src = format!(
        "{HEAD}list l {{ kind entity entries [\"Vostok \u{410}O\"] }}\nrule a.b {{ regime r citation \"Art. 2\u{202E}\" effective from 2020-01-01 when consignee.name in l verdict review }}\n"
    );
    let ps = lints_of(&src);
    assert_eq!(named(&ps, Lint::SuspiciousUnicode).len(), 2, "{ps:?}");
    assert!(
        ps.iter()
            .any(|p| p.line_col == Some((2, 39)) && p.message.contains("mixes Latin"))
    );
    assert!(
        ps.iter()
            .any(|p| p.line_col == Some((3, 37)) && p.message.contains("U+202E"))
    );
    let src = format!(
        "{HEAD}list l {{ kind entity entries [\"\u{41E}\u{41E}\u{41E} \u{420}\u{430}\u{434}\u{438}\u{43E}\"] }}\n{}",
        rule("a.b", "consignee.name in l")
    );
    silent(&lints_of(&src), Lint::SuspiciousUnicode);
}

// ---- suppressions ----------------------------------------------------------

const UNCITED: &str = "rule a.b {\n  regime r\n  effective from 2022-01-01\n  when destination == RU\n  verdict review\n}\n";

#[test]
fn a_suppression_with_a_reason_silences_the_lint() {
    let ps = lints_of(&format!(
        "{HEAD}# rulecheck: allow(missing_citation) -- the article is not numbered yet\n{UNCITED}"
    ));
    assert!(ps.is_empty(), "{ps:?}");
    // On the declaration's first line, and among other comment lines.
    let first_line = UNCITED.replacen(
        "{\n",
        "{ # rulecheck: allow(missing_citation) -- not numbered yet\n",
        1,
    );
    assert!(lints_of(&format!("{HEAD}{first_line}")).is_empty());
    let stacked = format!(
        "{HEAD}# rulecheck: allow(missing_citation) -- not numbered yet\n# a note for reviewers\n{UNCITED}"
    );
    assert!(lints_of(&stacked).is_empty());
}

#[test]
fn a_suppression_without_a_reason_is_an_error() {
    for comment in [
        "# rulecheck: allow(missing_citation)",
        "# rulecheck: allow(missing_citation) --",
        "# rulecheck: allow(missing_citation) --   ",
    ] {
        let ps = lints_of(&format!("{HEAD}{comment}\n{UNCITED}"));
        let p = fires(&ps, Lint::InvalidSuppression, (2, 1));
        assert_eq!(p.message, "suppression without a reason");
        // Not silenced either.
        fires(&ps, Lint::MissingCitation, (3, 6));
    }
    let ps = lints_of(&format!(
        "{HEAD}# rulecheck: deny(missing_citation) -- x\n{UNCITED}"
    ));
    fires(&ps, Lint::InvalidSuppression, (2, 1));
}

#[test]
fn a_suppression_of_an_unknown_lint_is_an_error_with_the_closest_name() {
    let ps = lints_of(&format!(
        "{HEAD}# rulecheck: allow(missing_citaton) -- not numbered yet\n{UNCITED}"
    ));
    let p = fires(&ps, Lint::UnknownLint, (2, 20));
    assert_eq!(p.help.as_deref(), Some("did you mean `missing_citation`?"));
    // CRLF line ends and trailing blanks do not move the location.
    let ps = lints_of(&format!(
        "{HEAD}# rulecheck: allow(missing-citation) -- not numbered yet  \r\n{UNCITED}"
    ));
    let p = fires(&ps, Lint::UnknownLint, (2, 20));
    assert_eq!(p.help.as_deref(), Some("did you mean `missing_citation`?"));
}

#[test]
fn an_unused_suppression_is_a_warning() {
    let cited = rule("a.b", "destination == RU");
    let ps = lints_of(&format!(
        "{HEAD}# rulecheck: allow(missing_citation) -- not numbered yet\n{cited}"
    ));
    let p = fires(&ps, Lint::UnusedSuppression, (2, 20));
    assert!(p.message.contains("`missing_citation`"));
    // A blank line between comment and declaration: attached to nothing.
    let ps = lints_of(&format!(
        "{HEAD}# rulecheck: allow(missing_citation) -- not numbered yet\n\n{UNCITED}"
    ));
    fires(&ps, Lint::UnusedSuppression, (2, 1));
    fires(&ps, Lint::MissingCitation, (4, 6));
}

#[test]
fn a_hash_inside_a_string_is_not_a_comment() {
    let src = format!(
        "{HEAD}rule a.b {{\n  regime r\n  title \"# rulecheck: allow(missing_citation)\"\n  effective from 2022-01-01\n  when destination == RU\n  verdict review\n}}\n"
    );
    let ps = lints_of(&src);
    silent(&ps, Lint::InvalidSuppression);
    fires(&ps, Lint::MissingCitation, (2, 6));
}

#[test]
fn a_suppression_on_a_list_covers_its_data_files() {
    let rules = format!(
        "{HEAD}# rulecheck: allow(duplicate_list_entry) -- the published file repeats RU\nlist l {{\n  kind country\n  from \"c.csv\"\n  source \"s\"\n  as_of 2024-01-01\n}}\n{}",
        rule("a.b", "destination in l")
    );
    let ps = lint_files(&[("t.rules", &rules), ("c.csv", "code\nRU\nRU\n")]);
    assert!(ps.is_empty(), "{ps:?}");
}

// ---- the bundled library, the command, the documentation -------------------

#[test]
fn the_bundled_rules_give_no_lint_problems() {
    let (rs, _) = load(&Origin::Bundled).unwrap();
    let ps = lint(&rs).0;
    let lines: Vec<String> = ps.iter().map(Problem::one_line).collect();
    assert!(ps.is_empty(), "{lines:#?}");
}

#[test]
fn lint_is_check_under_another_name() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.rules");
    std::fs::write(
        &f,
        format!(
            "{HEAD}{}",
            rule("a.b", "destination == RU and destination == CN")
        ),
    )
    .unwrap();
    for cmd in ["check", "lint"] {
        let out = Command::cargo_bin("rulecheck")
            .unwrap()
            .arg(cmd)
            .arg(&f)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(11), "{cmd}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains("rulecheck::lint::impossible_condition"),
            "{err}"
        );
    }
    // Warnings only: no errors, and the exit status says there were warnings.
    std::fs::write(&f, format!("{HEAD}{UNCITED}")).unwrap();
    let out = Command::cargo_bin("rulecheck")
        .unwrap()
        .arg("lint")
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("no errors, 1 warning")
    );
}

#[test]
fn eval_does_not_lint() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.rules");
    std::fs::write(
        &f,
        format!(
            "{HEAD}{}",
            rule("a.b", "destination == RU and destination == CN")
        ),
    )
    .unwrap();
    let out = Command::cargo_bin("rulecheck")
        .unwrap()
        .args(["eval", "--rules"])
        .arg(&f)
        .arg("examples/partner-country-clear.yaml")
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("rulecheck::lint"), "{err}");
}

const SECTIONS: &[&str] = &[
    "## What it finds",
    "## Why it matters",
    "## Example",
    "## How to fix",
    "## Analysis",
];

#[test]
fn every_lint_has_its_page_and_every_page_a_lint() {
    let index = std::fs::read_to_string("docs/lints/README.md").unwrap();
    let mut names = BTreeSet::new();
    for l in Lint::ALL {
        assert_eq!(l.doc_path(), format!("docs/lints/{}.md", l.name()));
        assert!(
            l.name().chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{} is not snake_case",
            l.name()
        );
        let page = std::fs::read_to_string(l.doc_path())
            .unwrap_or_else(|e| panic!("{}: {e}", l.doc_path()));
        for s in SECTIONS {
            assert!(page.contains(s), "{} lacks `{s}`", l.doc_path());
        }
        let level = match l.default_level() {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        assert!(
            page.contains(&format!("Level: **{level}**")),
            "{}",
            l.doc_path()
        );
        assert!(
            index.contains(&format!(
                "[`{}`]({}.md) | {level} | {} |",
                l.name(),
                l.name(),
                l.summary()
            )),
            "docs/lints/README.md: row of {}",
            l.name()
        );
        assert!(!l.summary().is_empty());
        names.insert(format!("{}.md", l.name()));
    }
    for entry in std::fs::read_dir("docs/lints").unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name != "README.md" {
            assert!(names.contains(&name), "docs/lints/{name} documents no lint");
        }
    }
}

#[test]
fn rendered_lint_diagnostics() {
    let src = format!(
        "{HEAD}# rulecheck: allow(unused-list) -- kept for the next package\nlist spare {{ kind country entries [BY] }}\n{}# rulecheck: allow(missing_citation)\nrule a.c {{\n  regime r\n  citation \"c\"\n  effective from 2022-01-01\n  when destination == RU\n  verdict prohibited\n}}\n",
        rule("a.b", "destination == RU and destination == CN")
    );
    let ps = lints_of(&src);
    let mut out = String::new();
    for p in &ps {
        out.push_str(&render_plain(p));
        out.push('\n');
    }
    insta::assert_snapshot!(format!("{src}\n---\n{out}"));
}

#[test]
fn rendered_lint_diagnostics_in_data_files_and_across_rules() {
    let rules = format!(
        "{HEAD}list l {{\n  kind hs_code\n  from \"codes.csv\"\n  source \"s\"\n  as_of 2024-01-01\n}}\n\
         rule a.wide {{\n  regime r\n  citation \"c\"\n  effective from 2022-01-01\n  when any i in items where i.hs_code in l\n  verdict prohibited\n}}\n\
         rule a.narrow {{\n  regime r\n  citation \"c\"\n  effective from 2023-01-01\n  when any i in items where i.hs_code in [8542.31]\n  verdict license_required\n}}\n"
    );
    let ps = lint_files(&[
        ("t.rules", &rules),
        ("codes.csv", "code,tier\n8542,1\n85423,2\n8542,1\n"),
    ]);
    let mut out = String::new();
    for p in &ps {
        out.push_str(&render_plain(p));
        out.push('\n');
    }
    insta::assert_snapshot!(out);
}

/// A data file with CRLF line ends (as OFAC's are) is located line for line as with LF:
/// the CSV reader counts the `\n` of a CRLF as the start of the next row.
#[test]
fn data_file_problems_are_located_alike_with_crlf_line_ends() {
    let rules = format!(
        "{HEAD}list l {{\n  kind hs_code\n  from \"codes.csv\"\n  source \"s\"\n  as_of 2024-01-01\n}}\n{}",
        rule("a.b", "any i in items where i.hs_code in l")
    );
    let located = |csv: &str| {
        lint_files(&[("t.rules", &rules), ("codes.csv", csv)])
            .iter()
            .map(|p| (p.code, p.line_col, render_plain(p)))
            .collect::<Vec<_>>()
    };
    let lf = "code,tier\n8542,1\n8541,1\n8542,1\n";
    let crlf = lf.replace('\n', "\r\n");
    let (lf, crlf) = (located(lf), located(&crlf));
    assert_eq!(lf.len(), 1, "{lf:?}");
    assert_eq!(lf[0].0, Code::Lint(Lint::DuplicateListEntry));
    // The second `8542`, on line 4; the first is on line 2.
    assert_eq!(lf[0].1.map(|(line, _)| line), Some(4), "{lf:?}");
    assert!(
        lf[0].2.contains("the first is at codes.csv:2"),
        "{}",
        lf[0].2
    );
    assert_eq!(
        crlf.iter().map(|(c, at, _)| (*c, *at)).collect::<Vec<_>>(),
        lf.iter().map(|(c, at, _)| (*c, *at)).collect::<Vec<_>>()
    );
    assert!(
        crlf[0].2.contains("the first is at codes.csv:2"),
        "{}",
        crlf[0].2
    );
}
