//! Behaviour tests of the evaluator: every construct of the rule language, the
//! three-valued (Kleene, fail-closed) logic, exceptions, effective dates, regime
//! scope, the OFAC 50 percent rule, determinism, and the concrete evidence paths.
//!
//! Each test writes a small rule set into a temporary directory, loads it through the
//! public loader, builds a shipment from YAML and checks the verdict together with the
//! evidence and the missing facts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test

use rulecheck::compile::RuleSet;
use rulecheck::eval::{Options, evaluate};
use rulecheck::facts::Shipment;
use rulecheck::load::{Origin, load};
use rulecheck::source::SourceMap;
use rulecheck::types::{Date, Verdict};
use rulecheck::verdict::{Evidence, ExceptionOutcome, Finding, Missing, Outcome};

// ---- helpers ----------------------------------------------------------------

/// The regime every test rule belongs to unless it declares its own.
const REGIME: &str = "regime r {\n  authority \"test authority\"\n  scope everyone\n}\n";

/// A shipment with only the required facts; tests override top-level keys.
const BASE: &str = r#"
id: S-1
date: 2024-06-01
exporter: { name: Exporter GmbH, country: DE }
consignee: { name: Consignee LLC, country: KG }
destination: KG
items:
  - { description: widgets, hs_code: "8471.30" }
"#;

/// Loads rule files (name, text) written into a fresh temporary directory.
fn load_files(files: &[(&str, &str)]) -> RuleSet {
    let dir = tempfile::tempdir().expect("temporary directory");
    write_files(dir.path(), files);
    load_dir(dir.path())
}

fn write_files(dir: &std::path::Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create directory");
        }
        std::fs::write(&path, text).expect("write rule file");
    }
}

fn load_dir(dir: &std::path::Path) -> RuleSet {
    match load(&Origin::Disk(dir.to_path_buf())) {
        Ok((rules, _warnings)) => rules,
        Err(problems) => panic!("the test rules do not load:\n{problems}"),
    }
}

/// Loads one rule file made of the default regime and `text`.
fn rules(text: &str) -> RuleSet {
    load_files(&[("t.rules", &format!("{REGIME}{text}"))])
}

/// A rule `t.rule` in regime `r` with the given condition and verdict.
fn rule_text(when: &str, verdict: &str) -> String {
    format!(
        "rule t.rule {{\n  regime r\n  citation \"test citation\"\n  when {when}\n  verdict {verdict}\n}}\n"
    )
}

/// A rule set of one prohibiting rule `t.rule` (plus any declarations in `extra`).
fn prohibit(when: &str, extra: &str) -> RuleSet {
    rules(&format!("{extra}\n{}", rule_text(when, "prohibited")))
}

/// Parses YAML into a shipment.
fn parse_shipment(text: &str) -> Shipment {
    let mut map = SourceMap::default();
    let id = map.add("s.yaml", text);
    match Shipment::from_yaml(map.file(id)) {
        Ok(s) => s,
        Err(p) => panic!("the test shipment does not load: {p}\n{text}"),
    }
}

/// `BASE` with the top-level keys of `overrides` replaced; a key set to `~` is removed.
fn ship(overrides: &str) -> Shipment {
    parse_shipment(&ship_text(overrides))
}

fn ship_text(overrides: &str) -> String {
    let mut base: serde_yaml::Mapping = serde_yaml::from_str(BASE).expect("base shipment");
    if !overrides.trim().is_empty() {
        let over: serde_yaml::Mapping = serde_yaml::from_str(overrides).expect("override YAML");
        for (k, v) in over {
            if v.is_null() {
                base.remove(&k);
            } else {
                base.insert(k, v);
            }
        }
    }
    serde_yaml::to_string(&base).expect("serialise shipment")
}

fn eval(rules: &RuleSet, s: &Shipment) -> Outcome {
    evaluate(
        rules,
        s,
        &Options {
            as_of: None,
            explain: false,
        },
    )
}

fn explain(rules: &RuleSet, s: &Shipment) -> Outcome {
    evaluate(
        rules,
        s,
        &Options {
            as_of: None,
            explain: true,
        },
    )
}

fn date(s: &str) -> Date {
    Date::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn ev(fact: &str, value: &str, test: &str, matched: Option<&str>) -> Evidence {
    Evidence {
        fact: fact.into(),
        value: value.into(),
        test: test.into(),
        matched: matched.map(Into::into),
    }
}

fn missing(fact: &str, needed_by: &[&str]) -> Missing {
    Missing {
        fact: fact.into(),
        needed_by: needed_by.iter().map(|s| (*s).to_string()).collect(),
    }
}

/// The only finding of an outcome.
fn only(o: &Outcome) -> &Finding {
    assert_eq!(o.findings.len(), 1, "expected exactly one finding: {o:#?}");
    &o.findings[0]
}

fn finding<'a>(o: &'a Outcome, rule: &str) -> &'a Finding {
    o.findings
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no finding for {rule}: {o:#?}"))
}

/// Asserts a clear outcome: no finding, nothing missing, nothing relaxed.
fn assert_clear(o: &Outcome) {
    assert_eq!(o.verdict, Verdict::Clear, "{o:#?}");
    assert!(o.findings.is_empty(), "{o:#?}");
    assert!(o.missing.is_empty(), "{o:#?}");
}

/// Asserts one `review` finding of `t.rule` left undecided by exactly `facts`.
fn assert_undecided(o: &Outcome, facts: &[&str]) {
    assert_eq!(o.verdict, Verdict::Review, "{o:#?}");
    let f = only(o);
    assert_eq!(f.rule, "t.rule");
    assert_eq!(f.verdict, Verdict::Review);
    assert_eq!(
        f.missing,
        facts.iter().map(|s| (*s).to_string()).collect::<Vec<_>>()
    );
    let expected: Vec<Missing> = facts.iter().map(|m| missing(m, &["t.rule"])).collect();
    assert_eq!(o.missing, expected);
}

/// Asserts one `prohibited` finding of `t.rule` with exactly this evidence.
fn assert_prohibited(o: &Outcome, because: &[Evidence]) {
    assert_eq!(o.verdict, Verdict::Prohibited, "{o:#?}");
    let f = only(o);
    assert_eq!(f.rule, "t.rule");
    assert_eq!(f.verdict, Verdict::Prohibited);
    assert_eq!(f.because, because, "{f:#?}");
    assert!(f.missing.is_empty(), "{f:#?}");
    assert!(o.missing.is_empty(), "{o:#?}");
}

// ---- and, or, not ---------------------------------------------------------------

mod connectives {
    use super::*;

    #[test]
    fn and_binds_tighter_than_or() {
        // Read as `dest == RU or (dest == BY and exporter == FR)`.
        let r = prohibit(
            "destination == RU or destination == BY and exporter.country == FR",
            "",
        );
        let o = eval(&r, &ship("destination: RU"));
        assert_prohibited(&o, &[ev("destination", "RU", "== RU", None)]);
        // `(dest == RU or dest == BY) and exporter == FR` would not hold for a DE exporter;
        // the other reading holds only through the `and`.
        assert_clear(&eval(&r, &ship("destination: BY")));
        let o = eval(
            &r,
            &ship("{destination: BY, exporter: {name: E, country: FR}}"),
        );
        assert_prohibited(
            &o,
            &[
                ev("destination", "BY", "== BY", None),
                ev("exporter.country", "FR", "== FR", None),
            ],
        );
    }

    #[test]
    fn not_binds_tighter_than_and() {
        // Read as `(not dest == RU) and exporter == FR`, not `not (dest == RU and exporter == FR)`.
        let r = prohibit("not destination == RU and exporter.country == FR", "");
        // dest KG, exporter DE: (true and false) = false; the other reading would be true.
        assert_clear(&eval(&r, &ship("")));
        let o = eval(&r, &ship("exporter: {name: E, country: FR}"));
        assert_prohibited(
            &o,
            &[
                ev("destination", "KG", "!= RU", None),
                ev("exporter.country", "FR", "== FR", None),
            ],
        );
    }

    #[test]
    fn parentheses_override_precedence() {
        let r = prohibit(
            "(destination == RU or destination == BY) and exporter.country == FR",
            "",
        );
        assert_clear(&eval(&r, &ship("destination: RU")));
        let o = eval(
            &r,
            &ship("{destination: RU, exporter: {name: E, country: FR}}"),
        );
        assert_prohibited(
            &o,
            &[
                ev("destination", "RU", "== RU", None),
                ev("exporter.country", "FR", "== FR", None),
            ],
        );

        let r = prohibit("not (destination == RU and exporter.country == FR)", "");
        let o = eval(&r, &ship(""));
        // De Morgan: the evidence is the part that made the conjunction fail.
        assert_prohibited(&o, &[ev("destination", "KG", "!= RU", None)]);
    }

    #[test]
    fn or_keeps_only_the_evidence_of_the_branch_that_held() {
        let r = prohibit(
            "destination == RU or consignee.country == KG or exporter.country == DE",
            "",
        );
        let o = eval(&r, &ship(""));
        assert_prohibited(&o, &[ev("consignee.country", "KG", "== KG", None)]);
    }

    #[test]
    fn double_negation_cancels() {
        let r = prohibit("not not destination == KG", "");
        assert_prohibited(
            &eval(&r, &ship("")),
            &[ev("destination", "KG", "== KG", None)],
        );
    }

    #[test]
    fn boolean_facts_and_literals() {
        let r = prohibit("not contract.no_russia_clause", "");
        let o = eval(&r, &ship("contract: {id: K1, no_russia_clause: false}"));
        assert_prohibited(
            &o,
            &[ev("contract.no_russia_clause", "false", "is false", None)],
        );
        assert_clear(&eval(
            &r,
            &ship("contract: {id: K1, no_russia_clause: true}"),
        ));

        let r = prohibit("true and destination == KG", "");
        assert_prohibited(
            &eval(&r, &ship("")),
            &[ev("destination", "KG", "== KG", None)],
        );
        assert_clear(&eval(
            &prohibit("false or destination == RU", ""),
            &ship(""),
        ));
    }
}

// ---- comparisons --------------------------------------------------------------

mod comparisons {
    use super::*;

    #[test]
    fn numbers() {
        let items = "items: [{description: a, hs_code: '8471.30', quantity: 10}, {description: b, hs_code: '8471.30', quantity: 5000}]";
        for (test, holds) in [
            ("> 1000", true),
            (">= 5000", true),
            ("> 5000", false),
            ("== 5000", true),
            ("!= 10", true),
            ("< 10", false),
            ("<= 10", true),
        ] {
            let r = prohibit(&format!("any i in items where i.quantity {test}"), "");
            let o = eval(&r, &ship(items));
            if holds {
                let f = only(&o);
                assert_eq!(f.verdict, Verdict::Prohibited, "{test}");
                assert_eq!(f.because.len(), 1, "{test}: {f:#?}");
                assert_eq!(f.because[0].test, test);
                assert!(f.because[0].fact.starts_with("items["), "{test}: {f:#?}");
            } else {
                assert_clear(&o);
            }
        }
        let r = prohibit("any i in items where i.quantity > 1000", "");
        assert_prohibited(
            &eval(&r, &ship(items)),
            &[ev("items[1].quantity", "5000", "> 1000", None)],
        );
    }

    #[test]
    fn money_amounts_and_decimals() {
        let r = prohibit("any i in items where i.value.amount >= 10000.5", "");
        let o = eval(
            &r,
            &ship("items: [{hs_code: '8471.30', value: {amount: 10000.75, currency: EUR}}]"),
        );
        assert_prohibited(
            &o,
            &[ev("items[0].value.amount", "10000.75", ">= 10000.5", None)],
        );
        assert_clear(&eval(
            &r,
            &ship("items: [{hs_code: '8471.30', value: {amount: 10000, currency: EUR}}]"),
        ));
    }

    #[test]
    fn dates_with_every_operator_at_the_boundary() {
        // The contract date equals the constant: only the inclusive operators hold.
        for (op, on_the_day, day_before, day_after) in [
            ("before", false, true, false),
            ("after", false, false, true),
            ("on or before", true, true, false),
            ("on or after", true, false, true),
            ("<", false, true, false),
            ("<=", true, true, false),
            (">", false, false, true),
            (">=", true, false, true),
            ("==", true, false, false),
            ("!=", false, true, true),
        ] {
            let r = prohibit(&format!("contract.date {op} 2023-12-19"), "");
            for (d, expected) in [
                ("2023-12-19", on_the_day),
                ("2023-12-18", day_before),
                ("2023-12-20", day_after),
            ] {
                let o = eval(&r, &ship(&format!("contract: {{date: {d}}}")));
                if expected {
                    assert_eq!(o.verdict, Verdict::Prohibited, "{d} {op} 2023-12-19");
                    let f = only(&o);
                    assert_eq!(f.because.len(), 1);
                    assert_eq!(f.because[0].fact, "contract.date");
                    assert_eq!(f.because[0].value, d);
                    assert!(
                        f.because[0].test.ends_with(" 2023-12-19"),
                        "{:?}",
                        f.because[0]
                    );
                } else {
                    assert_clear(&o);
                }
            }
        }
    }

    #[test]
    fn a_constant_on_the_left_still_names_the_fact() {
        let r = prohibit("RU == destination", "");
        let o = eval(&r, &ship("destination: RU"));
        let e = &only(&o).because[0];
        assert!(!e.fact.is_empty(), "{e:#?}");
        assert!(
            e.fact == "destination" || e.matched.as_deref() == Some("destination = RU"),
            "{e:#?}"
        );

        let r = prohibit("2023-12-19 after contract.date", "");
        let o = eval(&r, &ship("contract: {date: 2023-11-02}"));
        assert!(!only(&o).because[0].fact.is_empty(), "{o:#?}");

        let extra = r#"list sdn { kind entity entries ["Person X"] }"#;
        let r = prohibit("50% <= ownership of consignee by sdn", extra);
        let o = eval(
            &r,
            &ship("consignee: {name: T, owners: [{name: Person X, percent: 60}]}"),
        );
        let e = &only(&o).because[0];
        assert!(!e.fact.is_empty(), "{e:#?}");
        assert!(
            e.matched.as_deref().unwrap_or("").contains("Person X 60%"),
            "{e:#?}"
        );
    }

    #[test]
    fn date_words_read_as_symbols_in_evidence() {
        let r = prohibit("contract.date before 2023-12-19", "");
        let o = eval(&r, &ship("contract: {date: 2023-11-02}"));
        assert_prohibited(
            &o,
            &[ev("contract.date", "2023-11-02", "< 2023-12-19", None)],
        );
    }

    #[test]
    fn comparing_two_facts_names_the_other_side() {
        let r = prohibit("contract.date after date", "");
        let o = eval(&r, &ship("contract: {date: 2024-07-01}"));
        assert_prohibited(
            &o,
            &[ev(
                "contract.date",
                "2024-07-01",
                "> date",
                Some("date = 2024-06-01"),
            )],
        );
        assert_clear(&eval(&r, &ship("contract: {date: 2024-06-01}")));
    }

    #[test]
    fn percentages() {
        let r = prohibit("any i in items where i.us_content_percent > 25%", "");
        let item = |p: &str| format!("items: [{{hs_code: '8471.30', us_content_percent: {p}}}]");
        assert_clear(&eval(&r, &ship(&item("25"))));
        assert_prohibited(
            &eval(&r, &ship(&item("25.5"))),
            &[ev("items[0].us_content_percent", "25.5%", "> 25%", None)],
        );
        assert_prohibited(
            &eval(&r, &ship(&item("30"))),
            &[ev("items[0].us_content_percent", "30%", "> 25%", None)],
        );
        let r = prohibit("any i in items where i.us_content_percent >= 25%", "");
        assert_prohibited(
            &eval(&r, &ship(&item("25"))),
            &[ev("items[0].us_content_percent", "25%", ">= 25%", None)],
        );
    }

    #[test]
    fn strings_compare_exactly() {
        let r = prohibit(r#"consignee.city == "Bishkek""#, "");
        let o = eval(
            &r,
            &ship("consignee: {name: C, country: KG, city: Bishkek}"),
        );
        assert_prohibited(
            &o,
            &[ev("consignee.city", "Bishkek", r#"== "Bishkek""#, None)],
        );
        assert_clear(&eval(
            &r,
            &ship("consignee: {name: C, country: KG, city: bishkek}"),
        ));

        let r = prohibit(r#"any x in intermediaries where x.role != "bank""#, "");
        let o = eval(
            &r,
            &ship(
                "intermediaries: [{name: Bank, role: bank}, {name: Fwd, role: freight_forwarder}]",
            ),
        );
        assert_prohibited(
            &o,
            &[ev(
                "intermediaries[1].role",
                "freight_forwarder",
                r#"!= "bank""#,
                None,
            )],
        );
    }

    #[test]
    fn eccn_and_hs_code_equality() {
        let r = prohibit("any i in items where i.eccn == 3A991", "");
        let o = eval(
            &r,
            &ship("items: [{hs_code: '8542.31', eccn: EAR99}, {hs_code: '8542.31', eccn: 3A991}]"),
        );
        assert_prohibited(&o, &[ev("items[1].eccn", "3A991", "== 3A991", None)]);

        // Dots are not significant in an HS code.
        let r = prohibit(r#"any i in items where i.hs_code == "8542.31""#, "");
        let o = eval(&r, &ship("items: [{hs_code: '854231'}]"));
        assert_eq!(o.verdict, Verdict::Prohibited, "{o:#?}");
        assert_eq!(only(&o).because[0].fact, "items[0].hs_code");
        assert_eq!(only(&o).because[0].value, "8542.31");
    }
}

// ---- membership, HS hierarchy, starts with ----------------------------------------

mod membership {
    use super::*;

    const GROUPS: &str = r#"
list rb {
  kind country
  title "Russia and Belarus"
  entries [RU, BY]
  source "Test source"
  as_of 2024-01-01
}
"#;

    #[test]
    fn named_list_cites_entry_and_provenance() {
        let r = prohibit("destination in rb", GROUPS);
        let o = eval(&r, &ship("destination: BY"));
        assert_prohibited(
            &o,
            &[ev(
                "destination",
                "BY",
                "in rb",
                Some("entry BY; Test source; list as of 2024-01-01"),
            )],
        );
        assert_clear(&eval(&r, &ship("destination: KZ")));
    }

    #[test]
    fn named_list_not_in() {
        let r = prohibit("destination not in rb", GROUPS);
        let o = eval(&r, &ship("destination: KZ"));
        assert_prohibited(&o, &[ev("destination", "KZ", "not in rb", None)]);
        assert_clear(&eval(&r, &ship("destination: RU")));
    }

    #[test]
    fn inline_lists() {
        let r = prohibit("destination in [RU, BY]", "");
        assert_prohibited(
            &eval(&r, &ship("destination: RU")),
            &[ev("destination", "RU", "in [RU, BY]", Some("entry RU"))],
        );
        assert_clear(&eval(&r, &ship("")));

        let r = prohibit("destination not in [RU, BY]", "");
        assert_prohibited(
            &eval(&r, &ship("")),
            &[ev("destination", "KG", "not in [RU, BY]", None)],
        );
        assert_clear(&eval(&r, &ship("destination: BY")));

        let r = prohibit(r#"consignee.city in ["Bishkek", "Osh"]"#, "");
        let o = eval(&r, &ship("consignee: {name: C, country: KG, city: Osh}"));
        assert_prohibited(
            &o,
            &[ev(
                "consignee.city",
                "Osh",
                r#"in ["Bishkek", "Osh"]"#,
                Some("entry Osh"),
            )],
        );
    }

    #[test]
    fn negating_membership_reads_as_not_in() {
        let r = prohibit("not destination in rb", GROUPS);
        assert_prohibited(
            &eval(&r, &ship("")),
            &[ev("destination", "KG", "not in rb", None)],
        );
        let r = prohibit("not destination not in rb", GROUPS);
        assert_prohibited(
            &eval(&r, &ship("destination: RU")),
            &[ev(
                "destination",
                "RU",
                "in rb",
                Some("entry RU; Test source; list as of 2024-01-01"),
            )],
        );
    }

    const CHIPS: &str = r#"
list ics { kind hs_code entries ["8542"] }
list cpus { kind hs_code entries ["8542.31"] }
"#;

    #[test]
    fn hs_heading_covers_longer_codes() {
        let r = prohibit("any i in items where i.hs_code in ics", CHIPS);
        let o = eval(
            &r,
            &ship("items: [{hs_code: '8471.30'}, {hs_code: '8542.31.90'}]"),
        );
        assert_prohibited(
            &o,
            &[ev(
                "items[1].hs_code",
                "8542.31.90",
                "in ics",
                Some("entry 8542"),
            )],
        );
    }

    #[test]
    fn hs_subheading_does_not_cover_its_sibling() {
        let r = prohibit("any i in items where i.hs_code in cpus", CHIPS);
        assert_clear(&eval(&r, &ship("items: [{hs_code: '8542.39'}]")));
        assert_clear(&eval(&r, &ship("items: [{hs_code: '8542.39.00'}]")));
        let o = eval(&r, &ship("items: [{hs_code: '8542.31.90'}]"));
        assert_prohibited(
            &o,
            &[ev(
                "items[0].hs_code",
                "8542.31.90",
                "in cpus",
                Some("entry 8542.31"),
            )],
        );
    }

    #[test]
    fn a_shorter_item_code_does_not_match_a_longer_entry() {
        let r = prohibit("any i in items where i.hs_code in cpus", CHIPS);
        assert_clear(&eval(&r, &ship("items: [{hs_code: '8542'}]")));
    }

    #[test]
    fn hs_codes_match_with_or_without_dots() {
        let r = prohibit("any i in items where i.hs_code in cpus", CHIPS);
        let o = eval(&r, &ship("items: [{hs_code: '85423190'}]"));
        assert_prohibited(
            &o,
            &[ev(
                "items[0].hs_code",
                "8542.31.90",
                "in cpus",
                Some("entry 8542.31"),
            )],
        );
        let r = prohibit(r#"any i in items where i.hs_code in ["854231"]"#, "");
        let o = eval(&r, &ship("items: [{hs_code: '8542.31.10'}]"));
        assert_prohibited(
            &o,
            &[ev(
                "items[0].hs_code",
                "8542.31.10",
                r#"in ["854231"]"#,
                Some("entry 8542.31"),
            )],
        );
    }

    #[test]
    fn the_most_specific_entry_is_cited() {
        let r = prohibit(
            "any i in items where i.hs_code in both",
            r#"list both { kind hs_code entries ["8542", "8542.31"] }"#,
        );
        let o = eval(&r, &ship("items: [{hs_code: '8542.31.90'}]"));
        assert_prohibited(
            &o,
            &[ev(
                "items[0].hs_code",
                "8542.31.90",
                "in both",
                Some("entry 8542.31"),
            )],
        );
    }

    #[test]
    fn hs_list_from_a_data_file_cites_its_row() {
        let files = [
            (
                "t.rules",
                format!(
                    "{REGIME}list chpl {{\n  kind hs_code\n  from \"data/chpl.csv\"\n  source \"CHPL\"\n  as_of 2024-02-23\n}}\n{}",
                    rule_text("any i in items where i.hs_code in chpl", "prohibited")
                ),
            ),
            (
                "data/chpl.csv",
                "code,tier,description\n8542.31,1,processors\n8532.21,2,tantalum capacitors\n"
                    .to_string(),
            ),
        ];
        let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let r = load_files(&files);
        let o = eval(&r, &ship("items: [{hs_code: '8532.21.00'}]"));
        assert_prohibited(
            &o,
            &[ev(
                "items[0].hs_code",
                "8532.21.00",
                "in chpl",
                Some("entry 8532.21, tier 2; CHPL; list as of 2024-02-23"),
            )],
        );
    }

    #[test]
    fn starts_with_on_eccns_and_hs_codes() {
        let r = prohibit(
            r#"any i in items where i.eccn starts with ["3A", "5A"]"#,
            "",
        );
        let o = eval(
            &r,
            &ship("items: [{hs_code: '8542.31', eccn: EAR99}, {hs_code: '8542.31', eccn: 5A992}]"),
        );
        assert_prohibited(
            &o,
            &[ev(
                "items[1].eccn",
                "5A992",
                r#"starts with ["3A", "5A"]"#,
                Some("entry 5A"),
            )],
        );
        assert_clear(&eval(
            &r,
            &ship("items: [{hs_code: '8542.31', eccn: EAR99}]"),
        ));

        // HS codes are tested on their digits, and shown dotted as everywhere else.
        let r = prohibit(r#"any i in items where i.hs_code starts with ["8542"]"#, "");
        let o = eval(&r, &ship("items: [{hs_code: '8542.31'}]"));
        assert_prohibited(
            &o,
            &[ev(
                "items[0].hs_code",
                "8542.31",
                r#"starts with ["8542"]"#,
                Some("entry 8542"),
            )],
        );

        let r = prohibit(r#"any i in items where not i.eccn starts with ["3A"]"#, "");
        let o = eval(&r, &ship("items: [{hs_code: '8542.31', eccn: 5A992}]"));
        assert_prohibited(
            &o,
            &[ev(
                "items[0].eccn",
                "5A992",
                r#"not starts with ["3A"]"#,
                None,
            )],
        );
    }

    #[test]
    fn membership_of_an_unknown_value_is_unknown() {
        let r = prohibit("end_user.country in rb", GROUPS);
        assert_undecided(&eval(&r, &ship("")), &["end_user"]);
        let r = prohibit("end_user.country not in rb", GROUPS);
        assert_undecided(&eval(&r, &ship("")), &["end_user"]);
        let r = prohibit("end_user.country not in rb", GROUPS);
        assert_undecided(
            &eval(&r, &ship("end_user: {name: U}")),
            &["end_user.country"],
        );
    }
}

// ---- quantifiers --------------------------------------------------------------

mod quantifiers {
    use super::*;

    const ITEMS: &str = "items: [{description: a, hs_code: '8471.30', origin: DE}, {description: b, hs_code: '8542.31', origin: US}, {description: c, hs_code: '8542.32', origin: US}]";

    #[test]
    fn any_names_the_first_element_that_holds() {
        let r = prohibit("any i in items where i.origin == US", "");
        assert_prohibited(
            &eval(&r, &ship(ITEMS)),
            &[ev("items[1].origin", "US", "== US", None)],
        );
        let r = prohibit("any i in items where i.origin == CN", "");
        assert_clear(&eval(&r, &ship(ITEMS)));
    }

    #[test]
    fn all_holds_when_every_element_does() {
        let r = prohibit("all i in items where i.origin in [DE, US]", "");
        let o = eval(&r, &ship(ITEMS));
        assert_eq!(o.verdict, Verdict::Prohibited);
        let f = only(&o);
        assert_eq!(
            f.because,
            vec![
                ev("items[0].origin", "DE", "in [DE, US]", Some("entry DE")),
                ev("items[1].origin", "US", "in [DE, US]", Some("entry US")),
                ev("items[2].origin", "US", "in [DE, US]", Some("entry US")),
            ]
        );
        let r = prohibit("all i in items where i.origin == US", "");
        assert_clear(&eval(&r, &ship(ITEMS)));
    }

    #[test]
    fn none_holds_when_no_element_does() {
        let r = prohibit("none i in items where i.origin == CN", "");
        let o = eval(&r, &ship(ITEMS));
        assert_eq!(o.verdict, Verdict::Prohibited);
        assert_eq!(
            only(&o).because,
            vec![
                ev("items[0].origin", "DE", "!= CN", None),
                ev("items[1].origin", "US", "!= CN", None),
                ev("items[2].origin", "US", "!= CN", None),
            ]
        );
        let r = prohibit("none i in items where i.origin == US", "");
        assert_clear(&eval(&r, &ship(ITEMS)));
    }

    #[test]
    fn negated_quantifiers() {
        // `not any` is `none`, `not all` is `any not`.
        let r = prohibit("not any i in items where i.origin == CN", "");
        assert_eq!(eval(&r, &ship(ITEMS)).verdict, Verdict::Prohibited);
        let r = prohibit("not all i in items where i.origin == US", "");
        assert_prohibited(
            &eval(&r, &ship(ITEMS)),
            &[ev("items[0].origin", "DE", "!= US", None)],
        );
        let r = prohibit("not none i in items where i.origin == US", "");
        assert_prohibited(
            &eval(&r, &ship(ITEMS)),
            &[ev("items[1].origin", "US", "== US", None)],
        );
    }

    #[test]
    fn route_positions_are_concrete() {
        let r = prohibit("any c in route where c in [RU, BY]", "");
        let o = eval(&r, &ship("route: [DE, PL, BY, KG]"));
        assert_prohibited(&o, &[ev("route[2]", "BY", "in [RU, BY]", Some("entry BY"))]);
        assert_clear(&eval(&r, &ship("route: [DE, PL, KZ, KG]")));
    }

    #[test]
    fn an_empty_route_is_known() {
        let s = ship("route: []");
        assert_clear(&eval(&prohibit("any c in route where c == RU", ""), &s));
        // Over no elements, `all` and `none` hold (vacuously), and say so.
        let o = eval(&prohibit("none c in route where c == RU", ""), &s);
        assert_prohibited(&o, &[ev("route", "[]", "is empty", None)]);
        let o = eval(&prohibit("all c in route where c == RU", ""), &s);
        assert_prohibited(&o, &[ev("route", "[]", "is empty", None)]);
        let o = eval(&prohibit("count c in route == 0", ""), &s);
        assert_prohibited(&o, &[ev("count of route", "0", "== 0", None)]);
    }

    #[test]
    fn an_absent_route_is_unknown() {
        let s = ship("");
        for when in [
            "any c in route where c == RU",
            "none c in route where c == RU",
            "all c in route where c == RU",
            "not any c in route where c == RU",
            "count c in route == 0",
        ] {
            let o = eval(&prohibit(when, ""), &s);
            assert_undecided(&o, &["route"]);
        }
    }

    #[test]
    fn explain_says_when_a_quantifier_found_an_empty_list() {
        let o = explain(
            &prohibit("any c in route where c == RU", ""),
            &ship("route: []"),
        );
        assert_clear(&o);
        let nf = o.not_fired.expect("explain asked");
        assert_eq!(nf.len(), 1);
        assert_eq!(nf[0].rule, "t.rule");
        assert_eq!(nf[0].reason, "route is empty");
    }

    #[test]
    fn parties_are_labelled_by_role() {
        let r = prohibit("any p in parties where p.country == IR", "");
        let o = eval(&r, &ship("end_user: {name: U, country: IR}"));
        assert_prohibited(&o, &[ev("end_user.country", "IR", "== IR", None)]);
        let o = eval(
            &r,
            &ship(
                "{end_user: {name: U, country: KG}, intermediaries: [{name: F, country: KZ}, {name: B, country: IR}]}",
            ),
        );
        assert_prohibited(&o, &[ev("intermediaries[1].country", "IR", "== IR", None)]);
        let o = eval(&r, &ship("consignee: {name: C, country: IR}"));
        assert_prohibited(&o, &[ev("consignee.country", "IR", "== IR", None)]);
        let o = eval(&r, &ship("exporter: {name: E, country: IR}"));
        assert_prohibited(&o, &[ev("exporter.country", "IR", "== IR", None)]);
    }

    #[test]
    fn parties_range_over_the_parties_present() {
        // No end user and no intermediaries: the parties are exporter and consignee.
        let r = prohibit("count p in parties == 2", "");
        assert_prohibited(
            &eval(&r, &ship("")),
            &[ev("count of parties", "2", "== 2", None)],
        );
        let r = prohibit("count p in parties == 4", "");
        assert_eq!(
            eval(
                &r,
                &ship("{end_user: {name: U}, intermediaries: [{name: F}]}")
            )
            .verdict,
            Verdict::Prohibited
        );
        // A party without a country makes `any` over parties unknown unless another holds.
        let r = prohibit("any p in parties where p.country == IR", "");
        let o = eval(&r, &ship("intermediaries: [{name: F}]"));
        assert_undecided(&o, &["intermediaries[0].country"]);
    }

    #[test]
    fn intermediaries_absent_or_empty() {
        let r = prohibit(
            r#"any x in intermediaries where x.role == "freight_forwarder""#,
            "",
        );
        assert_undecided(&eval(&r, &ship("")), &["intermediaries"]);
        assert_clear(&eval(&r, &ship("intermediaries: []")));
        let o = eval(
            &r,
            &ship(
                "intermediaries: [{name: Bank, role: bank}, {name: Fwd, role: freight_forwarder}]",
            ),
        );
        assert_prohibited(
            &o,
            &[ev(
                "intermediaries[1].role",
                "freight_forwarder",
                r#"== "freight_forwarder""#,
                None,
            )],
        );
    }

    #[test]
    fn whole_parties_in_an_entity_list() {
        let extra = r#"list blocked { kind entity entries ["Silk Road Logistics"] }"#;
        let r = prohibit("any x in intermediaries where x in blocked", extra);
        let o = eval(
            &r,
            &ship("intermediaries: [{name: SILK ROAD LOGISTICS, country: KZ}]"),
        );
        assert_prohibited(
            &o,
            &[ev(
                "intermediaries[0]",
                "SILK ROAD LOGISTICS",
                "in blocked",
                Some("entry Silk Road Logistics"),
            )],
        );
    }

    #[test]
    fn owners_and_nested_quantifiers_have_concrete_paths() {
        let r = prohibit("any o in consignee.owners where o.country == RU", "");
        let o = eval(
            &r,
            &ship(
                "consignee: {name: C, country: KG, owners: [{name: A, country: KG, percent: 50}, {name: B, country: RU, percent: 50}]}",
            ),
        );
        assert_prohibited(
            &o,
            &[ev("consignee.owners[1].country", "RU", "== RU", None)],
        );

        let r = prohibit(
            "any o in consignee.owners where any q in o.owners where q.country == RU",
            "",
        );
        let s = ship(
            "consignee:\n  name: C\n  country: KG\n  owners:\n    - {name: A, percent: 10}\n    - name: H\n      percent: 90\n      owners:\n        - {name: P, country: KZ, percent: 40}\n        - {name: Q, country: RU, percent: 60}\n",
        );
        let o = eval(&r, &s);
        assert_prohibited(
            &o,
            &[ev(
                "consignee.owners[1].owners[1].country",
                "RU",
                "== RU",
                None,
            )],
        );
        // Owner A has no `owners`: unknown, but H decides it.
        let r = prohibit(
            "all o in consignee.owners where any q in o.owners where q.country == RU",
            "",
        );
        assert_undecided(&eval(&r, &s), &["consignee.owners[0].owners"]);
        let r = prohibit("any o in consignee.owners where o.owners is missing", "");
        assert_prohibited(
            &eval(&r, &s),
            &[ev(
                "consignee.owners[0].owners",
                "missing",
                "is missing",
                None,
            )],
        );
    }

    #[test]
    fn unknown_elements_make_any_unknown_unless_another_holds() {
        let r = prohibit("any i in items where i.origin == RU", "");
        let o = eval(
            &r,
            &ship("items: [{hs_code: '8471.30', origin: DE}, {hs_code: '8471.30'}]"),
        );
        assert_undecided(&o, &["items[1].origin"]);
        let o = eval(
            &r,
            &ship("items: [{hs_code: '8471.30'}, {hs_code: '8471.30', origin: RU}]"),
        );
        assert_prohibited(&o, &[ev("items[1].origin", "RU", "== RU", None)]);
        // `none` is decided by one element that holds, and otherwise unknown.
        let r = prohibit("none i in items where i.origin == RU", "");
        let o = eval(
            &r,
            &ship("items: [{hs_code: '8471.30', origin: DE}, {hs_code: '8471.30'}]"),
        );
        assert_undecided(&o, &["items[1].origin"]);
        assert_eq!(
            only(&o).because,
            vec![ev("items[0].origin", "DE", "!= RU", None)]
        );
        assert_clear(&eval(
            &r,
            &ship("items: [{hs_code: '8471.30'}, {hs_code: '8471.30', origin: RU}]"),
        ));
        // `all` is decided by one element that fails, whatever the unknowns.
        let r = prohibit("all i in items where i.origin == RU", "");
        assert_clear(&eval(
            &r,
            &ship("items: [{hs_code: '8471.30'}, {hs_code: '8471.30', origin: DE}]"),
        ));
        let o = eval(
            &r,
            &ship("items: [{hs_code: '8471.30'}, {hs_code: '8471.30', origin: RU}]"),
        );
        assert_undecided(&o, &["items[0].origin"]);
        assert_eq!(
            only(&o).because,
            vec![ev("items[1].origin", "RU", "== RU", None)]
        );
    }
}

// ---- count and sum ------------------------------------------------------------

mod aggregates {
    use super::*;

    const ITEMS: &str = "items: [{hs_code: '8542.31', origin: US, value: {amount: 6000, currency: USD}}, {hs_code: '8471.30', origin: DE, value: {amount: 1000, currency: USD}}, {hs_code: '8542.32', origin: US, value: {amount: 5000, currency: USD}}]";

    #[test]
    fn count_with_and_without_filter() {
        let r = prohibit("count i in items where (i.origin == US) >= 2", "");
        let o = eval(&r, &ship(ITEMS));
        assert_eq!(o.verdict, Verdict::Prohibited);
        // The elements counted are part of the evidence, then the count.
        assert_prohibited(
            &o,
            &[
                ev("items[0].origin", "US", "== US", None),
                ev("items[2].origin", "US", "== US", None),
                ev("count of items", "2", ">= 2", None),
            ],
        );
        let r = prohibit("count i in items where (i.origin == US) >= 3", "");
        assert_clear(&eval(&r, &ship(ITEMS)));
        let r = prohibit("count i in items == 3", "");
        assert_prohibited(
            &eval(&r, &ship(ITEMS)),
            &[ev("count of items", "3", "== 3", None)],
        );
    }

    #[test]
    fn sum_for_in_where() {
        let r = prohibit(
            "sum i.value.amount for i in items where (i.origin == US) > 10000",
            "",
        );
        let o = eval(&r, &ship(ITEMS));
        assert_eq!(o.verdict, Verdict::Prohibited);
        assert_prohibited(
            &o,
            &[
                ev("items[0].origin", "US", "== US", None),
                ev("items[2].origin", "US", "== US", None),
                ev("sum of amount over items", "11000", "> 10000", None),
            ],
        );
        let r = prohibit(
            "sum i.value.amount for i in items where (i.origin == US) > 11000",
            "",
        );
        assert_clear(&eval(&r, &ship(ITEMS)));
        let r = prohibit("sum i.value.amount for i in items == 12000", "");
        assert_prohibited(
            &eval(&r, &ship(ITEMS)),
            &[ev("sum of amount over items", "12000", "== 12000", None)],
        );
    }

    #[test]
    fn sum_over_an_unknown_value_is_unknown() {
        let r = prohibit("sum i.value.amount for i in items > 100", "");
        let o = eval(
            &r,
            &ship(
                "items: [{hs_code: '8542.31', value: {amount: 50, currency: USD}}, {hs_code: '8542.31'}]",
            ),
        );
        assert_undecided(&o, &["items[1].value"]);
    }

    #[test]
    fn count_over_an_unknown_filter_is_unknown() {
        let r = prohibit("count i in items where (i.origin == US) >= 2", "");
        let o = eval(
            &r,
            &ship("items: [{hs_code: '8542.31', origin: US}, {hs_code: '8542.31'}]"),
        );
        assert_undecided(&o, &["items[1].origin"]);
    }

    #[test]
    fn count_decided_by_the_known_elements_is_not_unknown() {
        let r = prohibit("count i in items where (i.origin == US) >= 2", "");
        let o = eval(
            &r,
            &ship(
                "items: [{hs_code: '8542.31', origin: US}, {hs_code: '8542.31', origin: US}, {hs_code: '8542.31'}]",
            ),
        );
        assert_eq!(o.verdict, Verdict::Prohibited, "{o:#?}");
    }
}

// ---- presence -------------------------------------------------------------------

mod presence {
    use super::*;

    #[test]
    fn is_missing_and_is_present() {
        let r = prohibit("end_user is missing", "");
        assert_prohibited(
            &eval(&r, &ship("")),
            &[ev("end_user", "missing", "is missing", None)],
        );
        assert_clear(&eval(&r, &ship("end_user: {name: U, country: KG}")));
        // Null is the same as absent.
        assert!(
            parse_shipment(&format!("{BASE}end_user: null\n"))
                .end_user
                .is_none()
        );
        assert_prohibited(
            &eval(&r, &parse_shipment(&format!("{BASE}end_user: null\n"))),
            &[ev("end_user", "missing", "is missing", None)],
        );

        let r = prohibit("contract.date is present", "");
        assert_prohibited(
            &eval(&r, &ship("contract: {date: 2024-01-01}")),
            &[ev("contract.date", "present", "is present", None)],
        );
        assert_clear(&eval(&r, &ship("contract: {id: K}")));
        assert_clear(&eval(&r, &ship("")));
    }

    #[test]
    fn a_presence_test_is_never_unknown() {
        // The end user is absent, so its country is missing too: a decided answer.
        let r = prohibit("end_user.country is missing", "");
        assert_prohibited(
            &eval(&r, &ship("")),
            &[ev("end_user.country", "missing", "is missing", None)],
        );
        let r = prohibit("not end_user.country is present", "");
        assert_prohibited(
            &eval(&r, &ship("")),
            &[ev("end_user.country", "missing", "is missing", None)],
        );
        let r = prohibit("any i in items where i.eccn is missing", "");
        let o = eval(
            &r,
            &ship("items: [{hs_code: '8542.31', eccn: 3A991}, {hs_code: '8542.31'}]"),
        );
        assert_prohibited(&o, &[ev("items[1].eccn", "missing", "is missing", None)]);
    }
}

// ---- predicates -----------------------------------------------------------------

mod predicates {
    use super::*;

    const DECLS: &str = r#"
list chips { kind hs_code entries ["8542.31"] }
list rb { kind country entries [RU, BY] }

predicate chip(i: item) {
  when i.hs_code in chips
}

predicate russia_connected {
  when destination in rb
    or end_user.country in rb
    or any c in route where c in rb
}
"#;

    #[test]
    fn with_a_parameter_and_without() {
        let r = prohibit(
            "any item in items where chip(item) and russia_connected",
            DECLS,
        );
        let s = ship(
            "{items: [{description: a, hs_code: '8471.30'}, {description: b, hs_code: '8542.31.90'}], end_user: {name: U, country: KG}, route: [DE, RU, KG]}",
        );
        let o = eval(&r, &s);
        assert_prohibited(
            &o,
            &[
                ev(
                    "items[1].hs_code",
                    "8542.31.90",
                    "in chips",
                    Some("entry 8542.31"),
                ),
                ev("route[1]", "RU", "in rb", Some("entry RU")),
            ],
        );
        // Without a route or end user the predicate is unknown: review.
        let s = ship("items: [{description: b, hs_code: '8542.31.90'}]");
        assert_undecided(&eval(&r, &s), &["end_user", "route"]);
        // No chip among the items: false, whatever is unknown.
        assert_clear(&eval(&r, &ship("")));
    }

    #[test]
    fn a_predicate_can_be_negated_and_called_with_a_bound_variable() {
        let r = prohibit("any item in items where not chip(item)", DECLS);
        let o = eval(
            &r,
            &ship("items: [{hs_code: '8542.31'}, {hs_code: '8471.30'}]"),
        );
        assert_prohibited(
            &o,
            &[ev("items[1].hs_code", "8471.30", "not in chips", None)],
        );
    }
}

// ---- date arithmetic ----------------------------------------------------------------

mod date_arithmetic {
    use super::*;

    #[test]
    fn days() {
        let r = prohibit("contract.date + 30 days before date", "");
        // 2024-04-20 + 30 days = 2024-05-20, before 2024-06-01.
        assert_eq!(
            eval(&r, &ship("contract: {date: 2024-04-20}")).verdict,
            Verdict::Prohibited
        );
        // 2024-05-02 + 30 days = 2024-06-01: not before.
        assert_clear(&eval(&r, &ship("contract: {date: 2024-05-02}")));
        assert_eq!(
            eval(&r, &ship("contract: {date: 2024-05-01}")).verdict,
            Verdict::Prohibited
        );
        // Unknown contract date: unknown.
        assert_undecided(&eval(&r, &ship("contract: {id: K}")), &["contract.date"]);
    }

    #[test]
    fn months_and_years_clamp_to_the_end_of_the_month() {
        // 2023-08-31 + 6 months = 2024-02-29 (leap year, clamped).
        let r = prohibit("contract.date + 6 months == 2024-02-29", "");
        assert_eq!(
            eval(&r, &ship("contract: {date: 2023-08-31}")).verdict,
            Verdict::Prohibited
        );
        let r = prohibit("contract.date + 1 month == 2024-02-29", "");
        assert_eq!(
            eval(&r, &ship("contract: {date: 2024-01-31}")).verdict,
            Verdict::Prohibited
        );
        let r = prohibit("contract.date + 1 year == 2025-02-28", "");
        assert_eq!(
            eval(&r, &ship("contract: {date: 2024-02-29}")).verdict,
            Verdict::Prohibited
        );
        let r = prohibit("date - 2 years after contract.date", "");
        assert_eq!(
            eval(&r, &ship("contract: {date: 2022-05-31}")).verdict,
            Verdict::Prohibited
        );
        assert_clear(&eval(&r, &ship("contract: {date: 2022-06-01}")));
        let r = prohibit("as_of - 1 day == 2024-05-31", "");
        assert_eq!(eval(&r, &ship("")).verdict, Verdict::Prohibited);
    }

    #[test]
    fn evidence_of_a_shifted_date_is_faithful() {
        let r = prohibit("contract.date + 30 days before date", "");
        let o = eval(&r, &ship("contract: {date: 2024-04-20}"));
        let e = &only(&o).because[0];
        // Either the fact's own value, or a fact/test text that shows the shift.
        assert!(
            e.value == "2024-04-20" || e.fact.contains("30 days") || e.test.contains("30 days"),
            "{e:#?}"
        );
    }
}

// ---- declared extra facts -------------------------------------------------------

mod extra_facts {
    use super::*;

    const FACTS: &str =
        "fact purpose: string \"the declared purpose\"\nfact consignee.incorporated: date\n";

    #[test]
    fn a_declared_shipment_fact_is_read() {
        let r = prohibit(r#"purpose in ["humanitarian", "medical"]"#, FACTS);
        let o = eval(&r, &ship("purpose: medical"));
        assert_prohibited(
            &o,
            &[ev(
                "purpose",
                "medical",
                r#"in ["humanitarian", "medical"]"#,
                Some("entry medical"),
            )],
        );
        assert_clear(&eval(&r, &ship("purpose: media")));
        assert_undecided(&eval(&r, &ship("")), &["purpose"]);
    }

    #[test]
    fn a_declared_party_fact_is_read() {
        let r = prohibit("consignee.incorporated after 2022-02-24", FACTS);
        let o = eval(
            &r,
            &ship("consignee: {name: C, country: KG, incorporated: 2022-06-01}"),
        );
        assert_prohibited(
            &o,
            &[ev(
                "consignee.incorporated",
                "2022-06-01",
                "> 2022-02-24",
                None,
            )],
        );
        assert_clear(&eval(
            &r,
            &ship("consignee: {name: C, country: KG, incorporated: 2020-01-01}"),
        ));
        assert_undecided(&eval(&r, &ship("")), &["consignee.incorporated"]);
    }

    #[test]
    fn a_declared_fact_of_the_wrong_type_is_missing() {
        let r = prohibit("consignee.incorporated after 2022-02-24", FACTS);
        let o = eval(
            &r,
            &ship("consignee: {name: C, country: KG, incorporated: last spring}"),
        );
        assert_undecided(&o, &["consignee.incorporated (not a date)"]);
        let r = prohibit(r#"purpose == "medical""#, FACTS);
        let o = eval(&r, &ship("purpose: 42"));
        assert_undecided(&o, &["purpose (not a string)"]);
        let o = eval(&r, &ship("purpose: [medical]"));
        assert_undecided(&o, &["purpose (not a string)"]);
    }

    #[test]
    fn declared_item_facts_are_read_per_item() {
        let r = prohibit(
            "any i in items where i.dual_use",
            "fact items.dual_use: bool\n",
        );
        let o = eval(
            &r,
            &ship(
                "items: [{hs_code: '8471.30', dual_use: false}, {hs_code: '8542.31', dual_use: true}]",
            ),
        );
        assert_prohibited(&o, &[ev("items[1].dual_use", "true", "is true", None)]);
    }
}

// ---- three-valued logic --------------------------------------------------------

mod kleene {
    use super::*;

    #[test]
    fn false_and_unknown_is_false() {
        let r = prohibit("destination == RU and end_user.country == RU", "");
        assert_clear(&eval(&r, &ship("")));
        let r = prohibit("end_user.country == RU and destination == RU", "");
        assert_clear(&eval(&r, &ship("")));
    }

    #[test]
    fn true_or_unknown_is_true() {
        let r = prohibit("end_user.country == RU or destination == RU", "");
        assert_prohibited(
            &eval(&r, &ship("destination: RU")),
            &[ev("destination", "RU", "== RU", None)],
        );
        let r = prohibit("destination == RU or end_user.country == RU", "");
        assert_prohibited(
            &eval(&r, &ship("destination: RU")),
            &[ev("destination", "RU", "== RU", None)],
        );
    }

    #[test]
    fn unknown_alone_is_review_naming_the_missing_fact() {
        let r = prohibit("end_user.country == RU", "");
        let o = eval(&r, &ship(""));
        assert_undecided(&o, &["end_user"]);
        assert!(only(&o).because.is_empty());
        let o = eval(&r, &ship("end_user: {name: U}"));
        assert_undecided(&o, &["end_user.country"]);
    }

    #[test]
    fn false_or_unknown_is_unknown() {
        let r = prohibit("destination == RU or end_user.country == RU", "");
        assert_undecided(&eval(&r, &ship("")), &["end_user"]);
    }

    #[test]
    fn true_and_unknown_is_unknown_and_keeps_what_is_known() {
        let r = prohibit("destination == KG and end_user.country == RU", "");
        let o = eval(&r, &ship(""));
        assert_undecided(&o, &["end_user"]);
        assert_eq!(
            only(&o).because,
            vec![ev("destination", "KG", "== KG", None)]
        );
    }

    #[test]
    fn not_unknown_is_unknown() {
        for when in [
            "not end_user.country == RU",
            "not (end_user.country == RU)",
            "end_user.country != RU",
            "not contract.no_russia_clause",
        ] {
            let o = eval(&prohibit(when, ""), &ship(""));
            assert_eq!(o.verdict, Verdict::Review, "{when}: {o:#?}");
            assert_eq!(only(&o).missing.len(), 1, "{when}");
        }
    }

    #[test]
    fn a_missing_fact_never_yields_clear() {
        // Whatever the verdict of the rule, an undecided rule makes the shipment `review`.
        for verdict in ["prohibited", "license_required", "review"] {
            let r = rules(&rule_text("end_user.country == RU", verdict));
            let o = eval(&r, &ship(""));
            assert_eq!(o.verdict, Verdict::Review, "{verdict}");
            assert_eq!(o.missing, vec![missing("end_user", &["t.rule"])]);
        }
    }

    #[test]
    fn several_rules_share_a_missing_fact() {
        let text = format!(
            "{}{}",
            rule_text("end_user.country == RU", "prohibited"),
            rule_text("end_user.country == BY", "license_required").replace("t.rule", "t.other")
        );
        let o = eval(&rules(&text), &ship(""));
        assert_eq!(o.verdict, Verdict::Review);
        assert_eq!(o.findings.len(), 2);
        assert_eq!(o.missing, vec![missing("end_user", &["t.rule", "t.other"])]);
    }

    #[test]
    fn the_most_severe_finding_decides() {
        let text = format!(
            "{}{}",
            rule_text("end_user.country == RU", "prohibited"),
            rule_text("destination == KG", "license_required").replace("t.rule", "t.other")
        );
        let o = eval(&rules(&text), &ship(""));
        assert_eq!(o.verdict, Verdict::LicenseRequired);
        assert_eq!(
            o.findings
                .iter()
                .map(|f| (f.rule.as_str(), f.verdict))
                .collect::<Vec<_>>(),
            vec![
                ("t.other", Verdict::LicenseRequired),
                ("t.rule", Verdict::Review)
            ]
        );
        // The missing fact is still told, though it does not change the verdict.
        assert_eq!(o.missing, vec![missing("end_user", &["t.rule"])]);
    }
}

// ---- exceptions -----------------------------------------------------------------

mod exceptions {
    use super::*;

    fn with_exceptions(when: &str, exceptions: &str) -> RuleSet {
        rules(&format!("{}{exceptions}", rule_text(when, "prohibited")))
    }

    fn exception(id: &str, when: &str, leaves: &str, effective: &str) -> String {
        format!(
            "exception {id} {{\n  relaxes t.rule\n  citation \"exc citation\"\n  {effective}\n  when {when}\n  leaves {leaves}\n}}\n"
        )
    }

    #[test]
    fn leaves_nothing_moves_the_finding_to_relaxed() {
        let r = with_exceptions(
            "destination == TR",
            &exception("t.rule.partner", "exporter.country == DE", "nothing", ""),
        );
        let o = eval(&r, &ship("destination: TR"));
        assert_eq!(o.verdict, Verdict::Clear, "{o:#?}");
        assert!(o.findings.is_empty());
        assert!(o.missing.is_empty());
        assert_eq!(o.relaxed.len(), 1);
        let f = &o.relaxed[0];
        assert_eq!(f.rule, "t.rule");
        assert_eq!(f.relaxed_from, Some(Verdict::Prohibited));
        assert_eq!(f.because, vec![ev("destination", "TR", "== TR", None)]);
        assert_eq!(f.exceptions.len(), 1);
        let x = &f.exceptions[0];
        assert_eq!(x.exception, "t.rule.partner");
        assert_eq!(x.citation, "exc citation");
        assert_eq!(x.outcome, ExceptionOutcome::Applied);
        assert_eq!(x.leaves, "nothing");
        assert_eq!(x.because, vec![ev("exporter.country", "DE", "== DE", None)]);
    }

    #[test]
    fn an_exception_that_does_not_hold_is_not_listed() {
        let r = with_exceptions(
            "destination == TR",
            &exception("t.rule.partner", "exporter.country == FR", "nothing", ""),
        );
        let o = eval(&r, &ship("destination: TR"));
        assert_prohibited(&o, &[ev("destination", "TR", "== TR", None)]);
        assert!(only(&o).exceptions.is_empty());
        assert!(o.relaxed.is_empty());
    }

    #[test]
    fn leaves_review_weakens_the_verdict() {
        let r = with_exceptions(
            "destination == TR",
            &exception(
                "t.rule.humanitarian",
                "exporter.country == DE",
                "review",
                "",
            ),
        );
        let o = eval(&r, &ship("destination: TR"));
        assert_eq!(o.verdict, Verdict::Review);
        let f = only(&o);
        assert_eq!(f.verdict, Verdict::Review);
        assert_eq!(f.relaxed_from, Some(Verdict::Prohibited));
        assert_eq!(f.conflict, None);
        assert_eq!(f.exceptions[0].outcome, ExceptionOutcome::Applied);
        assert_eq!(f.exceptions[0].leaves, "review");
        assert!(o.relaxed.is_empty());
    }

    #[test]
    fn an_unknown_exception_does_not_apply() {
        let r = with_exceptions(
            "destination == TR",
            &exception(
                "t.rule.old",
                "contract.date before 2023-12-19",
                "nothing",
                "",
            ),
        );
        let o = eval(&r, &ship("destination: TR"));
        assert_prohibited(&o, &[ev("destination", "TR", "== TR", None)]);
        let f = only(&o);
        assert_eq!(f.relaxed_from, None);
        assert_eq!(f.exceptions.len(), 1);
        let x = &f.exceptions[0];
        assert_eq!(x.exception, "t.rule.old");
        assert_eq!(x.outcome, ExceptionOutcome::Unknown);
        assert_eq!(x.missing, vec!["contract".to_string()]);
        assert!(x.because.is_empty());
        // The exception's missing fact does not make the shipment undecided.
        assert!(o.missing.is_empty());
    }

    #[test]
    fn conflicting_exceptions_apply_the_least_severe_outcome_and_say_so() {
        // Each exception is an exemption of its own: the most generous prevails, so that
        // adding an exception never makes a verdict more severe; the conflict is reported.
        let xs = format!(
            "{}{}",
            exception("t.rule.a", "exporter.country == DE", "nothing", ""),
            exception("t.rule.b", "destination == TR", "review", "")
        );
        let r = with_exceptions("destination == TR", &xs);
        let o = eval(&r, &ship("destination: TR"));
        assert_eq!(o.verdict, Verdict::Clear);
        assert!(o.findings.is_empty());
        let f = &o.relaxed[0];
        assert_eq!(f.relaxed_from, Some(Verdict::Prohibited));
        let c = f.conflict.as_deref().expect("a conflict");
        assert!(
            c.contains("t.rule.a (leaves nothing)") && c.contains("t.rule.b (leaves review)"),
            "{c}"
        );
        assert_eq!(
            f.exceptions.iter().map(|x| x.outcome).collect::<Vec<_>>(),
            vec![ExceptionOutcome::Applied; 2]
        );

        let xs = format!(
            "{}{}",
            exception("t.rule.a", "exporter.country == DE", "license_required", ""),
            exception("t.rule.b", "destination == TR", "review", "")
        );
        let o = eval(
            &with_exceptions("destination == TR", &xs),
            &ship("destination: TR"),
        );
        assert_eq!(o.verdict, Verdict::Review);
        assert!(only(&o).conflict.is_some());
    }

    #[test]
    fn agreeing_exceptions_are_no_conflict() {
        let xs = format!(
            "{}{}",
            exception("t.rule.a", "exporter.country == DE", "nothing", ""),
            exception("t.rule.b", "destination == TR", "nothing", "")
        );
        let o = eval(
            &with_exceptions("destination == TR", &xs),
            &ship("destination: TR"),
        );
        assert_eq!(o.verdict, Verdict::Clear);
        assert_eq!(o.relaxed.len(), 1);
        assert_eq!(o.relaxed[0].conflict, None);
        assert_eq!(o.relaxed[0].exceptions.len(), 2);
    }

    #[test]
    fn an_exception_outside_its_period_does_not_apply() {
        let r = with_exceptions(
            "destination == TR",
            &exception(
                "t.rule.old",
                "exporter.country == DE",
                "nothing",
                "effective from 2024-03-20 until 2024-12-19",
            ),
        );
        assert_eq!(
            eval(&r, &ship("{destination: TR, date: 2024-12-19}")).verdict,
            Verdict::Clear
        );
        assert_eq!(
            eval(&r, &ship("{destination: TR, date: 2024-03-20}")).verdict,
            Verdict::Clear
        );
        let o = eval(&r, &ship("{destination: TR, date: 2024-12-20}"));
        assert_prohibited(&o, &[ev("destination", "TR", "== TR", None)]);
        assert!(only(&o).exceptions.is_empty());
        let o = eval(&r, &ship("{destination: TR, date: 2024-03-19}"));
        assert_eq!(o.verdict, Verdict::Prohibited);
    }

    #[test]
    fn an_exception_relaxes_an_undecided_rule() {
        let r = with_exceptions(
            "end_user.country == RU",
            &exception("t.rule.partner", "destination in [JP, US]", "nothing", ""),
        );
        let o = eval(&r, &ship("destination: JP"));
        assert_eq!(o.verdict, Verdict::Clear, "{o:#?}");
        assert!(o.missing.is_empty());
        assert_eq!(o.relaxed.len(), 1);
        assert_eq!(o.relaxed[0].missing, vec!["end_user".to_string()]);
        assert_eq!(o.relaxed[0].relaxed_from, Some(Verdict::Review));
    }

    const LICENSED: &str = r#"
exception t.licensed {
  relaxes t.rule
  citation "licence"
  when any l in licenses where ((rule.id in l.covers or rule.regime in l.covers)
                                and l.valid_until on or after as_of)
  leaves nothing
}
"#;

    #[test]
    fn a_licence_naming_the_rule_id_relaxes_it() {
        let r = with_exceptions("destination == TR", LICENSED);
        let o = eval(
            &r,
            &ship(
                "{destination: TR, licenses: [{id: L0, covers: [other.rule], valid_until: 2030-01-01}, {id: L1, covers: [x.y, t.rule], valid_until: 2024-06-01}]}",
            ),
        );
        assert_eq!(o.verdict, Verdict::Clear, "{o:#?}");
        let x = &o.relaxed[0].exceptions[0];
        assert_eq!(x.exception, "t.licensed");
        assert_eq!(x.outcome, ExceptionOutcome::Applied);
        assert_eq!(
            x.because,
            vec![
                ev(
                    "rule.id",
                    "t.rule",
                    "in licenses[1].covers",
                    Some("licenses[1].covers[1]")
                ),
                ev(
                    "licenses[1].valid_until",
                    "2024-06-01",
                    ">= as_of",
                    Some("as_of = 2024-06-01")
                ),
            ]
        );
    }

    #[test]
    fn a_licence_naming_the_regime_relaxes_it() {
        let r = with_exceptions("destination == TR", LICENSED);
        let o = eval(
            &r,
            &ship("{destination: TR, licenses: [{id: L1, covers: [r], valid_until: 2030-01-01}]}"),
        );
        assert_eq!(o.verdict, Verdict::Clear, "{o:#?}");
        assert_eq!(
            o.relaxed[0].exceptions[0].because[0],
            ev(
                "rule.regime",
                "r",
                "in licenses[0].covers",
                Some("licenses[0].covers[0]")
            )
        );
    }

    #[test]
    fn an_expired_licence_or_one_for_another_rule_does_not_relax() {
        let r = with_exceptions("destination == TR", LICENSED);
        let o = eval(
            &r,
            &ship(
                "{destination: TR, licenses: [{id: L1, covers: [t.rule], valid_until: 2024-05-31}]}",
            ),
        );
        assert_prohibited(&o, &[ev("destination", "TR", "== TR", None)]);
        let o = eval(
            &r,
            &ship(
                "{destination: TR, licenses: [{id: L1, covers: [t.other], valid_until: 2030-01-01}]}",
            ),
        );
        assert_eq!(o.verdict, Verdict::Prohibited);
        // Evaluated as of an earlier date, the licence is still valid.
        let s = ship(
            "{destination: TR, licenses: [{id: L1, covers: [t.rule], valid_until: 2024-05-31}]}",
        );
        let o = evaluate(
            &r,
            &s,
            &Options {
                as_of: Some(date("2024-05-31")),
                explain: false,
            },
        );
        assert_eq!(o.verdict, Verdict::Clear, "{o:#?}");
    }

    #[test]
    fn no_licences_declared_leaves_the_licence_exception_unknown() {
        let r = with_exceptions("destination == TR", LICENSED);
        let o = eval(&r, &ship("destination: TR"));
        assert_eq!(o.verdict, Verdict::Prohibited);
        let x = &only(&o).exceptions[0];
        assert_eq!(x.outcome, ExceptionOutcome::Unknown);
        assert_eq!(x.missing, vec!["licenses".to_string()]);
        // A licence without an expiry date: unknown as well.
        let o = eval(
            &r,
            &ship("{destination: TR, licenses: [{id: L1, covers: [t.rule]}]}"),
        );
        let x = &only(&o).exceptions[0];
        assert_eq!(x.outcome, ExceptionOutcome::Unknown);
        assert_eq!(x.missing, vec!["licenses[0].valid_until".to_string()]);
    }

    #[test]
    fn relaxes_by_pattern_and_by_regime() {
        let text = format!(
            "{}{}exception t.all {{\n  relaxes t.*\n  citation \"c\"\n  when exporter.country == DE\n  leaves review\n}}\n",
            rule_text("destination == TR", "prohibited"),
            rule_text("destination == TR", "license_required").replace("t.rule", "t.other"),
        );
        let o = eval(&rules(&text), &ship("destination: TR"));
        assert_eq!(o.verdict, Verdict::Review, "{o:#?}");
        assert_eq!(o.findings.len(), 2);
        assert!(
            o.findings
                .iter()
                .all(|f| f.verdict == Verdict::Review && f.exceptions[0].exception == "t.all")
        );
        assert_eq!(
            finding(&o, "t.other").relaxed_from,
            Some(Verdict::LicenseRequired)
        );

        let text = format!(
            "{}exception t.whole_regime {{\n  relaxes r\n  citation \"c\"\n  when exporter.country == DE\n  leaves nothing\n}}\n",
            rule_text("destination == TR", "prohibited"),
        );
        let o = eval(&rules(&text), &ship("destination: TR"));
        assert_eq!(o.verdict, Verdict::Clear);
        assert_eq!(o.relaxed[0].exceptions[0].exception, "t.whole_regime");
    }
}

// ---- effective dates ------------------------------------------------------------

mod effective {
    use super::*;

    fn in_force(period: &str, when: &str) -> RuleSet {
        rules(&format!(
            "rule t.rule {{\n  regime r\n  citation \"c\"\n  effective {period}\n  when {when}\n  verdict prohibited\n}}\n"
        ))
    }

    #[test]
    fn a_shipment_before_the_rule_is_untouched() {
        let r = in_force("from 2024-03-20", "destination == TR");
        assert_clear(&eval(&r, &ship("{destination: TR, date: 2024-03-19}")));
        assert_eq!(
            eval(&r, &ship("{destination: TR, date: 2024-03-20}")).verdict,
            Verdict::Prohibited
        );
        // Not in force: not even a missing fact makes it `review`.
        let r = in_force("from 2024-03-20", "end_user.country == RU");
        assert_clear(&eval(&r, &ship("date: 2024-03-19")));
    }

    #[test]
    fn until_is_inclusive() {
        let r = in_force("from 2024-03-20 until 2024-12-19", "destination == TR");
        assert_eq!(
            eval(&r, &ship("{destination: TR, date: 2024-12-19}")).verdict,
            Verdict::Prohibited
        );
        assert_clear(&eval(&r, &ship("{destination: TR, date: 2024-12-20}")));
        let r = in_force("until 2024-12-19", "destination == TR");
        assert_eq!(
            eval(&r, &ship("{destination: TR, date: 2000-01-01}")).verdict,
            Verdict::Prohibited
        );
        assert_clear(&eval(&r, &ship("{destination: TR, date: 2024-12-20}")));
    }

    #[test]
    fn as_of_overrides_the_shipment_date() {
        let r = in_force("from 2024-03-20", "destination == TR");
        let s = ship("{destination: TR, date: 2024-03-19}");
        let o = evaluate(
            &r,
            &s,
            &Options {
                as_of: Some(date("2024-03-20")),
                explain: false,
            },
        );
        assert_eq!(o.verdict, Verdict::Prohibited);
        assert_eq!(o.as_of, date("2024-03-20"));
        let s = ship("{destination: TR, date: 2024-06-01}");
        let o = evaluate(
            &r,
            &s,
            &Options {
                as_of: Some(date("2024-01-01")),
                explain: false,
            },
        );
        assert_clear(&o);
        assert_eq!(o.as_of, date("2024-01-01"));
        assert_eq!(eval(&r, &s).as_of, date("2024-06-01"));
        // `date` in a condition is still the shipment's own date.
        let r = prohibit("date == 2024-06-01 and as_of == 2024-01-01", "");
        let o = evaluate(
            &r,
            &s,
            &Options {
                as_of: Some(date("2024-01-01")),
                explain: false,
            },
        );
        assert_eq!(o.verdict, Verdict::Prohibited);
    }

    #[test]
    fn explain_says_why_each_rule_did_not_fire() {
        let text = format!(
            "{REGIME}regime eu {{\n  authority \"EU\"\n  scope exporter.country in [DE, FR]\n}}\n\
             rule t.later {{\n  regime r\n  citation \"c\"\n  effective from 2025-01-01\n  when destination == KG\n  verdict prohibited\n}}\n\
             rule t.eu {{\n  regime eu\n  citation \"c\"\n  when destination == KG\n  verdict prohibited\n}}\n\
             rule t.false {{\n  regime r\n  citation \"c\"\n  when destination == RU and exporter.country == DE\n  verdict prohibited\n}}\n\
             rule t.fires {{\n  regime r\n  citation \"c\"\n  when destination == KG\n  verdict review\n}}\n"
        );
        let r = load_files(&[("t.rules", &text)]);
        let o = explain(&r, &ship("exporter: {name: E, country: US}"));
        assert_eq!(o.verdict, Verdict::Review);
        assert_eq!(only(&o).rule, "t.fires");
        let nf = o.not_fired.as_ref().expect("explain asked");
        let reason = |id: &str| {
            nf.iter()
                .find(|n| n.rule == id)
                .map(|n| n.reason.clone())
                .unwrap_or_else(|| panic!("{id} not in {nf:#?}"))
        };
        assert_eq!(nf.len(), 3, "{nf:#?}");
        let later = reason("t.later");
        assert!(
            later.starts_with("not in force on 2024-06-01") && later.contains("from 2025-01-01"),
            "{later}"
        );
        let scope = reason("t.eu");
        assert!(
            scope.starts_with("outside the scope of regime eu"),
            "{scope}"
        );
        assert!(scope.contains("exporter.country = US"), "{scope}");
        // The failing test names the fact, its value and the test it failed.
        let failed = reason("t.false");
        assert!(
            failed.contains("destination = KG") && failed.contains("== RU"),
            "{failed}"
        );
        assert!(!failed.contains("exporter"), "{failed}");
        assert_eq!(
            nf.iter()
                .find(|n| n.rule == "t.eu")
                .map(|n| n.regime.as_str()),
            Some("eu")
        );
        // Without `explain`, no reasons.
        assert_eq!(eval(&r, &ship("")).not_fired, None);
    }
}

// ---- regime scope ---------------------------------------------------------------

mod scope {
    use super::*;

    const EU: &str = "regime eu {\n  authority \"Reg. 833/2014\"\n  scope exporter.country in [DE, FR]\n     or any c in route where c in [DE, FR]\n}\n";

    fn eu_rule(when: &str) -> RuleSet {
        load_files(&[(
            "t.rules",
            &format!(
                "{EU}rule t.rule {{\n  regime eu\n  citation \"c\"\n  when {when}\n  verdict prohibited\n}}\n"
            ),
        )])
    }

    #[test]
    fn a_rule_outside_its_regime_does_not_fire() {
        let r = eu_rule("destination == KG");
        assert_clear(&eval(
            &r,
            &ship("{exporter: {name: E, country: US}, route: [US, KG]}"),
        ));
    }

    #[test]
    fn outside_the_scope_a_missing_fact_does_not_matter() {
        let r = eu_rule("end_user.country == RU");
        assert_clear(&eval(
            &r,
            &ship("{exporter: {name: E, country: US}, route: [US, KG]}"),
        ));
    }

    #[test]
    fn the_scope_is_part_of_the_evidence() {
        let r = eu_rule("destination == KG");
        let o = eval(
            &r,
            &ship("{exporter: {name: E, country: US}, route: [US, FR, KG]}"),
        );
        assert_prohibited(
            &o,
            &[
                ev("route[1]", "FR", "in [DE, FR]", Some("entry FR")),
                ev("destination", "KG", "== KG", None),
            ],
        );
    }

    #[test]
    fn an_unknown_scope_and_a_rule_that_holds_is_review() {
        let r = eu_rule("destination == KG");
        let o = eval(&r, &ship("exporter: {name: E, country: US}"));
        assert_undecided(&o, &["route"]);
        assert_eq!(
            only(&o).because,
            vec![ev("destination", "KG", "== KG", None)]
        );
    }

    #[test]
    fn an_unknown_scope_and_a_false_rule_is_nothing() {
        let r = eu_rule("destination == RU");
        assert_clear(&eval(&r, &ship("exporter: {name: E, country: US}")));
    }

    #[test]
    fn an_unknown_scope_and_an_unknown_rule_names_both_facts() {
        let r = eu_rule("end_user.country == RU");
        assert_undecided(
            &eval(&r, &ship("exporter: {name: E, country: US}")),
            &["end_user", "route"],
        );
    }
}

// ---- OFAC 50 percent rule --------------------------------------------------------

mod fifty_percent {
    use super::*;

    const SDN: &str = r#"
list sdn {
  kind entity
  entries ["Person X", "Person Y", "LIFSHITS, Artem"]
}
"#;

    fn fifty() -> RuleSet {
        prohibit("ownership of consignee by sdn >= 50%", SDN)
    }

    fn consignee(owners: &str) -> Shipment {
        ship(&format!(
            "consignee:\n  name: Target\n  country: AE\n  owners:\n{owners}"
        ))
    }

    fn evidence(value: &str, chain: &str) -> Evidence {
        ev(
            "ownership of consignee by sdn",
            value,
            ">= 50%",
            Some(chain),
        )
    }

    #[test]
    fn faq_399_two_blocked_owners_of_25_percent() {
        let s = consignee(
            "    - {name: Person X, percent: 25}\n    - {name: Person Y, percent: 25}\n    - {name: Someone Else, percent: 50}\n",
        );
        assert_prohibited(
            &eval(&fifty(), &s),
            &[evidence(
                "50%",
                "Person X 25% (entry Person X); Person Y 25% (entry Person Y)",
            )],
        );
    }

    #[test]
    fn faq_401_example_1_through_a_blocked_subsidiary() {
        // X owns 50% of A; A owns 50% of B (the consignee).
        let s = consignee(
            "    - name: A\n      percent: 50\n      owners:\n        - {name: Person X, percent: 50}\n        - {name: Other, percent: 50}\n    - {name: Other Two, percent: 50}\n",
        );
        assert_prohibited(
            &eval(&fifty(), &s),
            &[evidence(
                "50%",
                "A 50%, blocked: owned 50% ← Person X 50% (entry Person X)",
            )],
        );
    }

    #[test]
    fn faq_401_example_2_aggregated_through_two_blocked_entities() {
        // X owns 50% of A and 50% of B; A and B each own 25% of C (the consignee).
        let s = consignee(
            "    - name: A\n      percent: 25\n      owners:\n        - {name: Person X, percent: 50}\n    - name: B\n      percent: 25\n      owners:\n        - {name: Person X, percent: 50}\n    - {name: Free, percent: 50}\n",
        );
        assert_prohibited(
            &eval(&fifty(), &s),
            &[evidence(
                "50%",
                "A 25%, blocked: owned 50% ← Person X 50% (entry Person X); B 25%, blocked: owned 50% ← Person X 50% (entry Person X)",
            )],
        );
    }

    #[test]
    fn forty_percent_does_not_pass_through_an_unblocked_entity() {
        // X owns 40% of A (A not blocked); A owns 100% of B: B is not blocked.
        let s = consignee(
            "    - name: A\n      percent: 100\n      owners:\n        - {name: Person X, percent: 40}\n        - {name: Other, percent: 60}\n",
        );
        let o = explain(&fifty(), &s);
        assert_clear(&o);
        let nf = o.not_fired.expect("explain asked");
        let why = &nf[0].reason;
        assert!(
            why.contains("ownership of consignee by sdn = 0%") && why.contains(">= 50%"),
            "{why}"
        );
    }

    #[test]
    fn just_under_fifty_is_not_blocked() {
        let s = consignee(
            "    - {name: Person X, percent: 25}\n    - {name: Person Y, percent: 24.9}\n",
        );
        assert_clear(&eval(&fifty(), &s));
    }

    #[test]
    fn shares_that_add_up_to_exactly_fifty_percent_are_blocked() {
        let extra = r#"list sdn3 { kind entity entries ["Person X", "Person Y", "Person Z"] }"#;
        let r = prohibit("ownership of consignee by sdn3 >= 50%", extra);
        let s = consignee(
            "    - {name: Person X, percent: 9.2}\n    - {name: Person Y, percent: 25.4}\n    - {name: Person Z, percent: 15.4}\n    - {name: Free, percent: 50}\n",
        );
        assert_eq!(eval(&r, &s).verdict, Verdict::Prohibited);
    }

    #[test]
    fn a_three_level_chain_of_blocked_entities() {
        // X owns 60% of A, A owns 50% of B, B owns 50% of the consignee.
        let s = consignee(
            "    - name: B\n      percent: 50\n      owners:\n        - name: A\n          percent: 50\n          owners:\n            - {name: Person X, percent: 60}\n",
        );
        let o = eval(&fifty(), &s);
        assert_eq!(o.verdict, Verdict::Prohibited, "{o:#?}");
        let m = only(&o).because[0].matched.clone().unwrap_or_default();
        assert!(
            m.starts_with("B 50%, blocked: owned 50% ← A 50%, blocked: owned 60% ← Person X 60%"),
            "{m}"
        );
    }

    #[test]
    fn names_match_whatever_the_word_order_and_case() {
        let s = consignee("    - {name: Artem Lifshits, percent: 60}\n");
        assert_prohibited(
            &eval(&fifty(), &s),
            &[evidence(
                "60%",
                "Artem Lifshits 60% (entry LIFSHITS, Artem)",
            )],
        );
        let s = consignee("    - {name: 'artem LIFSHITS', percent: 50}\n");
        assert_eq!(eval(&fifty(), &s).verdict, Verdict::Prohibited);
        let s = consignee("    - {name: 'X Person', percent: 50}\n");
        assert_eq!(eval(&fifty(), &s).verdict, Verdict::Prohibited);
    }

    #[test]
    fn owners_absent_is_unknown_but_owners_empty_is_known() {
        let o = eval(&fifty(), &ship("consignee: {name: Target, country: AE}"));
        assert_undecided(&o, &["consignee.owners"]);
        assert_clear(&eval(
            &fifty(),
            &ship("consignee: {name: Target, country: AE, owners: []}"),
        ));
    }

    #[test]
    fn the_end_user_when_absent_is_unknown() {
        let r = prohibit(
            "ownership of consignee by sdn >= 50% or ownership of end_user by sdn >= 50%",
            SDN,
        );
        let o = eval(
            &r,
            &ship("consignee: {name: Target, country: AE, owners: []}"),
        );
        assert_undecided(&o, &["end_user"]);
        let o = eval(
            &r,
            &ship(
                "{consignee: {name: Target, country: AE, owners: []}, end_user: {name: U, owners: [{name: Person Y, percent: 75}]}}",
            ),
        );
        assert_prohibited(
            &o,
            &[ev(
                "ownership of end_user by sdn",
                "75%",
                ">= 50%",
                Some("Person Y 75% (entry Person Y)"),
            )],
        );
    }
}

// ---- determinism and digests -----------------------------------------------------

mod determinism {
    use super::*;

    const DECLS: &str = r#"
list rb { kind country entries [RU, BY] }
list sdn { kind entity entries ["Person X"] }
"#;

    const SHIPMENT: &str = r#"
id: S-9
date: 2024-06-01
exporter: { name: Exporter GmbH, country: DE }
consignee:
  name: Consignee LLC
  country: KG
  owners:
    - { name: Person X, percent: 30 }
    - { name: Other, percent: 70 }
destination: KG
route: [DE, RU, KG]
items:
  - { description: chips, hs_code: "8542.31", quantity: 10 }
"#;

    // The same facts, keys in another order and other formatting.
    const SHIPMENT_REORDERED: &str = r#"
items:
  - quantity: 10
    hs_code: "854231"
    description: chips
route:
  - DE
  - RU
  - KG
destination: KG
consignee:
  owners:
    - { percent: 30, name: Person X }
    - { percent: 70, name: Other }
  country: KG
  name: Consignee LLC
exporter: { country: DE, name: Exporter GmbH }
date: 2024-06-01
id: S-9
"#;

    fn rule_set() -> RuleSet {
        prohibit(
            "any c in route where c in rb or ownership of consignee by sdn >= 25% or end_user.country in rb",
            DECLS,
        )
    }

    #[test]
    fn evaluating_twice_gives_identical_output() {
        let r = rule_set();
        let s = parse_shipment(SHIPMENT);
        let opts = Options {
            as_of: None,
            explain: true,
        };
        let a = serde_json::to_string(&evaluate(&r, &s, &opts)).expect("json");
        let b = serde_json::to_string(&evaluate(&r, &s, &opts)).expect("json");
        assert_eq!(a, b);
        let again = serde_json::to_string(&evaluate(&rule_set(), &parse_shipment(SHIPMENT), &opts))
            .expect("json");
        let strip = |s: &str| {
            let mut v: serde_json::Value = serde_json::from_str(s).expect("json");
            v.as_object_mut().expect("object").remove("rules_digest");
            v
        };
        assert_eq!(strip(&a), strip(&again));
    }

    #[test]
    fn facts_digest_ignores_key_order_and_formatting() {
        let a = parse_shipment(SHIPMENT);
        let b = parse_shipment(SHIPMENT_REORDERED);
        assert_eq!(a.digest(), b.digest());
        let r = rule_set();
        let (oa, ob) = (eval(&r, &a), eval(&r, &b));
        assert_eq!(oa.facts_digest, ob.facts_digest);
        assert!(oa.facts_digest.starts_with("sha256:"));
        assert_eq!(
            serde_json::to_string(&oa).expect("json"),
            serde_json::to_string(&ob).expect("json")
        );
    }

    #[test]
    fn facts_digest_changes_with_a_fact() {
        let a = parse_shipment(SHIPMENT);
        for changed in [
            SHIPMENT
                .replace("percent: 30", "percent: 31")
                .replace("percent: 70", "percent: 69"),
            SHIPMENT.replace("quantity: 10", "quantity: 11"),
            SHIPMENT.replace("[DE, RU, KG]", "[DE, KG]"),
            SHIPMENT.replace("[DE, RU, KG]", "[]"),
            SHIPMENT.replace("route: [DE, RU, KG]\n", ""),
            format!("{SHIPMENT}end_user: {{name: U}}\n"),
        ] {
            let b = parse_shipment(&changed);
            assert_ne!(a.digest(), b.digest(), "{changed}");
        }
    }

    #[test]
    fn facts_digest_covers_extra_facts() {
        let a = parse_shipment(&format!("{SHIPMENT}purpose: medical\n"));
        let b = parse_shipment(&format!("{SHIPMENT}purpose: media\n"));
        let c = parse_shipment(SHIPMENT);
        assert_ne!(a.digest(), b.digest());
        assert_ne!(a.digest(), c.digest());
    }

    #[test]
    fn facts_without_a_canonical_form_are_refused_not_digested_alike() {
        let odd = "weird:\n  ? [1, 2]\n  : x\n";
        let mut map = SourceMap::default();
        let text = format!("{SHIPMENT}{odd}");
        let id = map.add("s.yaml", text.as_str());
        let e =
            Shipment::from_yaml(map.file(id)).expect_err("non-string keys have no canonical form");
        assert!(e.message.contains("weird"), "{}", e.message);
        let text = format!("{SHIPMENT}score: .nan\n");
        let id = map.add("t.yaml", text.as_str());
        let e = Shipment::from_yaml(map.file(id)).expect_err("NaN has no canonical form");
        assert!(e.message.contains("finite"), "{}", e.message);
    }

    #[test]
    fn rules_digest_is_stable_and_tracks_the_rules() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let text = format!(
            "{REGIME}{DECLS}{}",
            rule_text("destination in rb", "prohibited")
        );
        write_files(dir.path(), &[("t.rules", &text)]);
        let a = load_dir(dir.path()).digest;
        let b = load_dir(dir.path()).digest;
        assert_eq!(a, b);
        assert!(a.starts_with("sha256:"));
        let o = eval(&load_dir(dir.path()), &ship(""));
        assert_eq!(o.rules_digest, a);
        // Another list entry: another digest.
        write_files(
            dir.path(),
            &[("t.rules", &text.replace("[RU, BY]", "[RU, BY, IR]"))],
        );
        assert_ne!(load_dir(dir.path()).digest, a);
    }

    #[test]
    fn rules_digest_covers_list_data_files() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let text = format!(
            "{REGIME}list rb {{\n  kind country\n  from \"data/rb.csv\"\n  source \"s\"\n  as_of 2024-01-01\n}}\n{}",
            rule_text("destination in rb", "prohibited")
        );
        write_files(
            dir.path(),
            &[("t.rules", &text), ("data/rb.csv", "country\nRU\nBY\n")],
        );
        let a = load_dir(dir.path()).digest;
        write_files(dir.path(), &[("data/rb.csv", "country\nRU\nBY\nIR\n")]);
        assert_ne!(load_dir(dir.path()).digest, a);
    }

    #[test]
    fn rules_digest_does_not_depend_on_a_rules_directory_location_named_rules() {
        // Two checkouts whose rule directory is called `rules`: the same digest.
        let text = format!("{REGIME}{}", rule_text("destination in [RU]", "prohibited"));
        let (d1, d2) = (
            tempfile::tempdir().expect("tmp"),
            tempfile::tempdir().expect("tmp"),
        );
        write_files(d1.path(), &[("rules/t.rules", &text)]);
        write_files(d2.path(), &[("rules/t.rules", &text)]);
        assert_eq!(
            load_dir(&d1.path().join("rules")).digest,
            load_dir(&d2.path().join("rules")).digest
        );
    }

    #[test]
    fn rules_digest_does_not_depend_on_where_the_rules_are() {
        let text = format!("{REGIME}{}", rule_text("destination in [RU]", "prohibited"));
        let (d1, d2) = (
            tempfile::tempdir().expect("tmp"),
            tempfile::tempdir().expect("tmp"),
        );
        write_files(d1.path(), &[("t.rules", &text)]);
        write_files(d2.path(), &[("t.rules", &text)]);
        assert_eq!(load_dir(d1.path()).digest, load_dir(d2.path()).digest);
    }
}

// ---- concrete evidence paths and messages ------------------------------------------

mod messages {
    use super::*;

    #[test]
    fn messages_interpolate_the_witness_element() {
        let text = r#"
list chips { kind hs_code entries ["8542"] }
rule t.rule {
  regime r
  citation "c"
  when any item in items where item.hs_code in chips
   and any c in route where c in [RU, BY]
  verdict prohibited
  message "{item.description} ({item.hs_code}) to {consignee.name} via {c}"
}
"#;
        let r = rules(text);
        let s = ship(
            "{items: [{description: cables, hs_code: '8544.42'}, {description: microcontrollers, hs_code: '8542.31'}], route: [DE, PL, BY, KG]}",
        );
        let o = eval(&r, &s);
        let f = only(&o);
        assert_eq!(f.verdict, Verdict::Prohibited);
        assert_eq!(
            f.message,
            "microcontrollers (8542.31) to Consignee LLC via BY"
        );
        assert_eq!(
            f.because,
            vec![
                ev(
                    "items[1].hs_code",
                    "8542.31",
                    "in chips",
                    Some("entry 8542")
                ),
                ev("route[2]", "BY", "in [RU, BY]", Some("entry BY"))
            ]
        );
        assert_eq!(f.citation, "c");
        assert_eq!(f.regime, "r");
    }

    #[test]
    fn a_missing_interpolated_fact_reads_not_given() {
        let text = "rule t.rule {\n  regime r\n  citation \"c\"\n  when destination == KG\n  verdict review\n  message \"to {end_user.name} in {destination}\"\n}\n";
        let o = eval(&rules(text), &ship(""));
        assert_eq!(only(&o).message, "to (not given) in KG");
    }

    #[test]
    fn without_a_message_the_title_is_used() {
        let text = "rule t.rule {\n  regime r\n  title \"Goods to Kyrgyzstan\"\n  citation \"c\"\n  when destination == KG\n  verdict review\n}\n";
        let o = eval(&rules(text), &ship(""));
        assert_eq!(only(&o).message, "Goods to Kyrgyzstan");
    }

    #[test]
    fn party_witness_in_a_message() {
        let text = r#"
list sdn { kind entity entries ["Silk Road Logistics"] }
rule t.rule {
  regime r
  citation "c"
  when any p in parties where p in sdn
  verdict prohibited
  message "{p.name} ({p.country}) is listed"
}
"#;
        let o = eval(
            &rules(text),
            &ship(
                "intermediaries: [{name: Other, country: KZ}, {name: Silk Road Logistics, country: KZ}]",
            ),
        );
        let f = only(&o);
        assert_eq!(f.message, "Silk Road Logistics (KZ) is listed");
        assert_eq!(
            f.because,
            vec![ev(
                "intermediaries[1]",
                "Silk Road Logistics",
                "in sdn",
                Some("entry Silk Road Logistics")
            )]
        );
    }

    #[test]
    fn json_output_carries_the_contract_keys() {
        let r = prohibit("any c in route where c == RU or end_user.country == RU", "");
        let o = eval(&r, &ship("route: [DE, RU]"));
        let v: serde_json::Value = serde_json::to_value(&o).expect("json");
        for key in [
            "shipment",
            "as_of",
            "verdict",
            "rules_digest",
            "facts_digest",
            "findings",
            "missing",
        ] {
            assert!(v.get(key).is_some(), "{key} in {v}");
        }
        assert_eq!(v["shipment"], "S-1");
        assert_eq!(v["as_of"], "2024-06-01");
        assert_eq!(v["verdict"], "prohibited");
        assert_eq!(
            v["findings"][0]["because"][0],
            serde_json::json!({"fact": "route[1]", "value": "RU", "test": "== RU"})
        );
    }

    #[test]
    fn a_witness_from_a_discarded_branch_is_not_interpolated() {
        let text = r#"
rule t.rule {
  regime r
  citation "c"
  when (any i in items where i.origin == RU) and destination == RU
    or any j in items where j.origin == DE
  verdict prohibited
  message "{i.description} / {j.description}"
}
"#;
        let s = ship(
            "items: [{description: russian, hs_code: '8471.30', origin: RU}, {description: german, hs_code: '8471.30', origin: DE}]",
        );
        let o = eval(&rules(text), &s);
        let f = only(&o);
        assert_eq!(f.because, vec![ev("items[1].origin", "DE", "== DE", None)]);
        assert_eq!(f.message, "(not given) / german");
    }
}
