//! Laws that hold for all shipments, checked on generated ones against the bundled rules:
//! evaluation is deterministic, removing facts never makes a shipment clear, adding an
//! exception never makes a verdict more severe and adding a rule never less severe, and
//! the facts digest depends on the facts only; the conditions prepared for deciding rules
//! decide as the traced evaluation does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test

use std::fmt::Write as _;
use std::sync::OnceLock;

use proptest::prelude::*;
use rulecheck::compile::RuleSet;
use rulecheck::eval::{Options, evaluate, evaluate_verdicts};
use rulecheck::facts::Shipment;
use rulecheck::load::{Origin, load};
use rulecheck::source::SourceMap;
use rulecheck::types::Verdict;

fn bundled() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        load(&Origin::Bundled)
            .expect("the bundled rules check clean")
            .0
    })
}

const COUNTRIES: &[&str] = &[
    "DE", "IT", "US", "KG", "KZ", "RU", "BY", "JP", "TR", "AE", "CN",
];
const HS: &[&str] = &[
    "8542.31",
    "8542.31.90",
    "8517.62",
    "8471.30",
    "8532.21",
    "9030.20",
    "8482.10",
    "0901.11",
];
const OWNERS: &[&str] = &[
    "LIFSHITS, Artem Mikhaylovich",
    "Ivan Petrov",
    "KHOROSHEV, Dmitry Yuryevich",
    "Omar Al Hashimi",
];

/// The optional facts a shipment may lose; each bit of a mask removes one.
const OPTIONAL: &[&str] = &[
    "end_user",
    "route",
    "contract",
    "owners",
    "intermediaries",
    "licenses",
    "purpose",
];

#[derive(Debug, Clone)]
struct Gen {
    date: (i32, u32, u32),
    exporter: usize,
    consignee: usize,
    destination: usize,
    end_user: usize,
    route: Vec<usize>,
    items: Vec<usize>,
    contract_date: (i32, u32),
    clause: bool,
    owners: Vec<(usize, u8)>,
    forwarder: usize,
    license_covers_chpl: bool,
    purpose_medical: bool,
}

fn shipments() -> impl Strategy<Value = Gen> {
    let c = 0..COUNTRIES.len();
    (
        (2021..2026i32, 1..13u32, 1..29u32),
        (c.clone(), c.clone(), c.clone(), c.clone()),
        prop::collection::vec(c.clone(), 0..4),
        prop::collection::vec(0..HS.len(), 1..4),
        ((2021..2025i32, 1..13u32), any::<bool>()),
        prop::collection::vec((0..OWNERS.len(), 1..50u8), 0..3),
        (c, any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                date,
                (e, co, d, eu),
                route,
                items,
                (contract_date, clause),
                owners,
                (fw, lic, med),
            )| Gen {
                date,
                exporter: e,
                consignee: co,
                destination: d,
                end_user: eu,
                route,
                items,
                contract_date,
                clause,
                owners,
                forwarder: fw,
                license_covers_chpl: lic,
                purpose_medical: med,
            },
        )
}

/// Writes the shipment as YAML, leaving out the optional facts whose bit is set in `drop`.
fn yaml(g: &Gen, drop: u32) -> String {
    let dropped = |name: &str| {
        OPTIONAL
            .iter()
            .position(|o| *o == name)
            .is_some_and(|i| drop & (1 << i) != 0)
    };
    let mut y = String::new();
    let (yy, mm, dd) = g.date;
    let _ = writeln!(y, "id: GEN-1\ndate: {yy:04}-{mm:02}-{dd:02}");
    let _ = writeln!(
        y,
        "exporter: {{ name: Exporter GmbH, country: {} }}",
        COUNTRIES[g.exporter]
    );
    let _ = writeln!(
        y,
        "consignee:\n  name: Consignee LLC\n  country: {}",
        COUNTRIES[g.consignee]
    );
    if !dropped("owners") {
        let _ = writeln!(y, "  owners:");
        for (o, pct) in &g.owners {
            let _ = writeln!(y, "    - {{ name: \"{}\", percent: {pct} }}", OWNERS[*o]);
        }
        if g.owners.is_empty() {
            y.pop();
            let _ = writeln!(y, " []");
        }
    }
    if !dropped("end_user") {
        let _ = writeln!(
            y,
            "end_user: {{ name: End User OOO, country: {}, owners: [] }}",
            COUNTRIES[g.end_user]
        );
    }
    if !dropped("intermediaries") {
        let _ = writeln!(
            y,
            "intermediaries:\n  - {{ role: freight_forwarder, name: Forwarder, country: {} }}",
            COUNTRIES[g.forwarder]
        );
    }
    let _ = writeln!(y, "destination: {}", COUNTRIES[g.destination]);
    if !dropped("route") {
        let r: Vec<&str> = g.route.iter().map(|i| COUNTRIES[*i]).collect();
        let _ = writeln!(y, "route: [{}]", r.join(", "));
    }
    let _ = writeln!(y, "items:");
    for (n, h) in g.items.iter().enumerate() {
        let _ = writeln!(
            y,
            "  - {{ description: item {n}, hs_code: \"{}\", value: {{ amount: 1000, currency: EUR }} }}",
            HS[*h]
        );
    }
    if !dropped("contract") {
        let (cy, cm) = g.contract_date;
        let _ = writeln!(
            y,
            "contract: {{ id: K-1, date: {cy:04}-{cm:02}-01, no_russia_clause: {} }}",
            g.clause
        );
    }
    if !dropped("licenses") {
        let covers = if g.license_covers_chpl {
            "[eu.833.chpl_russia]"
        } else {
            "[other.rule]"
        };
        let _ = writeln!(
            y,
            "licenses:\n  - {{ id: L-1, covers: {covers}, valid_until: 2030-01-01 }}"
        );
    }
    if !dropped("purpose") {
        let _ = writeln!(
            y,
            "purpose: {}",
            if g.purpose_medical {
                "medical"
            } else {
                "commercial"
            }
        );
    }
    y
}

fn shipment(text: &str) -> Shipment {
    let mut map = SourceMap::default();
    let id = map.add("gen.yaml", text);
    Shipment::from_yaml(map.file(id))
        .unwrap_or_else(|e| panic!("generated shipment is invalid: {e:?}\n{text}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn evaluation_is_deterministic(g in shipments()) {
        let s = shipment(&yaml(&g, 0));
        let opts = Options { as_of: None, explain: true };
        let a = serde_json::to_string(&evaluate(bundled(), &s, &opts)).unwrap();
        let b = serde_json::to_string(&evaluate(bundled(), &shipment(&yaml(&g, 0)), &opts)).unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn removing_facts_never_makes_a_shipment_clear(g in shipments(), drop in 1u32..(1 << OPTIONAL.len())) {
        let opts = Options::default();
        let full = evaluate(bundled(), &shipment(&yaml(&g, 0)), &opts);
        let less = evaluate(bundled(), &shipment(&yaml(&g, drop)), &opts);
        if full.verdict != Verdict::Clear {
            prop_assert_ne!(less.verdict, Verdict::Clear, "full: {:?}\nless: {:?}", full, less);
        }
        // Whatever became undecided names what it missed.
        for f in less.findings.iter().filter(|f| !f.missing.is_empty()) {
            prop_assert_eq!(f.verdict, Verdict::Review);
        }
        if less.verdict == Verdict::Clear {
            prop_assert!(less.missing.is_empty());
        }
    }
}

/// The rules directory as the variants below see it.
fn on_disk() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        load(&Origin::Disk("rules".into()))
            .expect("the rules check clean")
            .0
    })
}

/// The bundled rules copied to a directory with one more file.
fn bundled_plus(extra: &str) -> RuleSet {
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let p = e.unwrap().path();
            let t = to.join(p.file_name().unwrap());
            if p.is_dir() {
                copy(&p, &t);
            } else {
                std::fs::copy(&p, &t).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    copy(std::path::Path::new("rules"), &rules);
    std::fs::write(rules.join("zz_extra.rules"), extra).unwrap();
    load(&Origin::Disk(rules))
        .unwrap_or_else(|p| {
            panic!(
                "{extra}: {:?}",
                p.0.iter()
                    .map(rulecheck::diagnostics::Problem::one_line)
                    .collect::<Vec<_>>()
            )
        })
        .0
}

/// Exceptions added to the bundled rules, each relaxing whole groups of rules.
const EXTRA_EXCEPTIONS: &[&str] = &[
    "exception zz.a { relaxes eu.833.* citation \"t\" when destination in [TR, KG, KZ] leaves nothing }",
    "exception zz.b { relaxes us.* citation \"t\" when exporter.country == DE leaves nothing }",
    "exception zz.c { relaxes eu.833.* citation \"t\" when any i in items where i.hs_code in [8542] leaves nothing }",
    "exception zz.d { relaxes us.* citation \"t\" when end_user is missing leaves nothing }",
];

/// Rules added to the bundled rules, in a regime of their own.
const EXTRA_RULES: &[&str] = &[
    "regime zz_r { scope everyone } rule zz.r1 { regime zz_r citation \"t\" when destination in [KG, KZ] verdict review }",
    "regime zz_r { scope everyone } rule zz.r2 { regime zz_r citation \"t\" when any i in items where i.hs_code in [8542, 8517] verdict prohibited }",
    "regime zz_r { scope everyone } rule zz.r3 { regime zz_r citation \"t\" when end_user.country == RU verdict license_required }",
];

fn with_extra_exceptions() -> &'static [RuleSet] {
    static SETS: OnceLock<Vec<RuleSet>> = OnceLock::new();
    SETS.get_or_init(|| EXTRA_EXCEPTIONS.iter().map(|x| bundled_plus(x)).collect())
}

fn with_extra_rules() -> &'static [RuleSet] {
    static SETS: OnceLock<Vec<RuleSet>> = OnceLock::new();
    SETS.get_or_init(|| EXTRA_RULES.iter().map(|x| bundled_plus(x)).collect())
}

/// Reverses the order of keys in every mapping.
fn reverse(v: &mut serde_yaml::Value) {
    match v {
        serde_yaml::Value::Mapping(m) => {
            let mut entries: Vec<_> = std::mem::take(m).into_iter().collect();
            entries.reverse();
            for (k, mut x) in entries {
                reverse(&mut x);
                m.insert(k, x);
            }
        }
        serde_yaml::Value::Sequence(xs) => xs.iter_mut().for_each(reverse),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    #[test]
    fn adding_an_exception_never_makes_a_verdict_more_severe(g in shipments(), drop in 0u32..(1 << OPTIONAL.len())) {
        let s = shipment(&yaml(&g, drop));
        let opts = Options::default();
        let base = evaluate(on_disk(), &s, &opts).verdict;
        for rules in with_extra_exceptions() {
            let with = evaluate(rules, &s, &opts).verdict;
            prop_assert!(with <= base, "{with} > {base}");
        }
    }

    #[test]
    fn adding_a_rule_never_makes_a_verdict_less_severe(g in shipments(), drop in 0u32..(1 << OPTIONAL.len())) {
        let s = shipment(&yaml(&g, drop));
        let opts = Options::default();
        let base = evaluate(on_disk(), &s, &opts).verdict;
        for rules in with_extra_rules() {
            let with = evaluate(rules, &s, &opts).verdict;
            prop_assert!(with >= base, "{with} < {base}");
        }
    }

    /// Each rule is decided by its prepared condition and traced only when it fires or
    /// must say why not; debug assertions in the evaluator hold the two equal wherever
    /// both run, and `--explain` runs both for every rule in force and in scope.
    #[test]
    fn prepared_conditions_decide_as_the_traced_evaluation(g in shipments(), drop in 0u32..(1 << OPTIONAL.len())) {
        let s = shipment(&yaml(&g, drop));
        let findings = |o: &rulecheck::verdict::Outcome| -> Vec<(String, Verdict)> {
            o.findings.iter().map(|f| (f.rule.to_string(), f.verdict)).collect()
        };
        for rules in std::iter::once(on_disk()).chain(with_extra_rules()).chain(with_extra_exceptions()) {
            let explained = evaluate(rules, &s, &Options { as_of: None, explain: true });
            let plain = evaluate(rules, &s, &Options::default());
            let verdicts = evaluate_verdicts(rules, &s, &Options::default());
            prop_assert_eq!(explained.verdict, plain.verdict);
            prop_assert_eq!(verdicts.verdict, plain.verdict);
            prop_assert_eq!(findings(&explained), findings(&plain));
            prop_assert_eq!(findings(&verdicts), findings(&plain));
        }
    }

    #[test]
    fn the_facts_digest_depends_on_the_facts_only(g in shipments(), drop in 0u32..(1 << OPTIONAL.len())) {
        let text = yaml(&g, drop);
        let a = shipment(&text);
        // The same facts, keys in reverse order, as JSON on one line.
        let mut v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        reverse(&mut v);
        let json = serde_json::to_string(&v).unwrap();
        let b = Shipment::from_json_line(&json, "gen.jsonl", 1).unwrap();
        prop_assert_eq!(a.digest(), b.digest());
        // The canonical form written by hand is the serialized form, byte for byte.
        prop_assert_eq!(canonical(&a), serde_json::to_vec(&a).unwrap());
        // Any change of a fact changes it.
        let changed = shipment(&text.replace("name: Exporter GmbH", "name: Exporter AG"));
        prop_assert_ne!(a.digest(), changed.digest());
        let changed = shipment(&text.replace("amount: 1000", "amount: 1001"));
        prop_assert_ne!(a.digest(), changed.digest());
    }
}

/// The canonical form of a shipment, as its digest is taken of.
fn canonical(s: &Shipment) -> Vec<u8> {
    let mut out = Vec::new();
    rulecheck::canonical::write(&mut out, s).unwrap();
    out
}

#[test]
fn the_canonical_form_is_the_serialized_form_for_every_example_and_a_rich_shipment() {
    let mut texts: Vec<(String, String)> = std::fs::read_dir("examples")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    assert!(texts.len() >= 10, "{} examples", texts.len());
    // Every part of the schema, extra facts at each level, and strings that need escaping.
    texts.push((
        "rich".into(),
        r#"
id: 12345
date: 2024-05-01
exporter: {id: "DE-1", name: "Ex \"Quoted\" GmbH", country: DE, city: "Köln", role: seller, incorporated: 2001-01-01}
consignee:
  name: "Tab\tand\nnewline"
  country: AE
  owners:
    - {name: A, percent: 25, country: RU, owners: [{name: Deep, percent: 33.3, note: [1, 2.5, {x: true}]}]}
    - {name: "B \\ back", percent: 25.5}
end_user: {name: E, country: KZ, end_use: civil}
intermediaries: [{name: F, role: freight_forwarder, country: TR}]
destination: KZ
route: [TR, KZ]
items:
  - {description: "chips \u0001", hs_code: "8542.31", eccn: 3A991, origin: US, us_content_percent: 12.5, quantity: 1000000000000000, unit: pcs, value: {amount: 0.1, currency: EUR}, tier: 1}
  - {hs_code: "8517.62.00", value_eur: 33380.67}
  - {hs_code: "8486"}
  - {hs_code: "85423100.00", eccn: EAR99}
  - {hs_code: "85423"}
contract: {id: C-1, date: 2023-12-01, no_russia_clause: false, signed_in: Astana}
licenses: [{id: L-1, authority: BAFA, covers: [eu.833.chpl_russia], valid_until: 2025-01-01, scope: ["a", "b"]}, {}]
purpose: research
"#
        .into(),
    ));
    for (name, text) in &texts {
        let s = shipment(text);
        assert_eq!(
            String::from_utf8(canonical(&s)).unwrap(),
            serde_json::to_string(&s).unwrap(),
            "{name}"
        );
    }
}
