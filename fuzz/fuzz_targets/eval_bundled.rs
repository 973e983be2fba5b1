//! Structured shipments → YAML (and JSON) → `Shipment` → evaluation against the bundled
//! rules, with the output contract's invariants checked on every outcome:
//!
//! - evaluating twice gives byte-identical JSON;
//! - the same facts read from YAML and from a JSON line give the same `facts_digest`
//!   and the same outcome;
//! - no finding and nothing missing is `clear`; something missing is never `clear`;
//! - a finding with missing facts is `review`;
//! - the shipment's verdict is the most severe of its findings (or `review` when only
//!   facts are missing).
//!
//! Values are drawn from pools of realistic ones (countries of the Russia diversion
//! routes, CHPL and other HS codes, listed and unlisted names, the bundled rule ids),
//! so that the rules fire, do not fire, and are left undecided.
#![no_main]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rulecheck::compile::RuleSet;
use rulecheck::diagnostics::render_plain;
use rulecheck::eval::{Options, evaluate};
use rulecheck::facts::Shipment;
use rulecheck::load::{Origin, load};
use rulecheck::source::SourceFile;
use rulecheck::types::Verdict;
use serde_yaml::{Mapping, Value};

fn bundled() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| match load(&Origin::Bundled) {
        Ok((rules, _warnings)) => rules,
        Err(problems) => {
            for p in &problems.0 {
                eprintln!("{}", render_plain(p));
            }
            panic!("the bundled rules do not load: {problems}");
        }
    })
}

const COUNTRIES: &[&str] = &[
    "RU", "BY", "KG", "KZ", "AM", "GE", "AE", "TR", "CN", "HK", "IR", "KP", "DE", "IT", "FR", "PL",
    "NL", "FI", "EE", "US", "GB", "CH", "JP", "IN", "RS",
];
const HS: &[&str] = &[
    "8542.31",
    "8542.31.90",
    "854231",
    "8542",
    "8542.32",
    "8542.39",
    "8542.90",
    "8517.62",
    "8526.91",
    "8532.21",
    "8548.00",
    "8471.50",
    "8504.40",
    "8541.10",
    "8806",
    "8806.21",
    "8457.10",
    "8458.11",
    "9030.20",
    "8482.10",
    "8471.30",
    "3002.15",
    "0901.11",
    "8703.23",
];
const ECCNS: &[&str] = &[
    "EAR99", "3A991", "3A001", "5A992", "5A002", "4A994", "0A979", "9A610", "3E991", "1C010",
];
const NAMES: &[&str] = &[
    "Elektronik Handel GmbH",
    "Asia Trade Group LLC",
    "OOO Radiotekhnika",
    "Silk Road Logistics",
    "Kyrgyz Commerce Bank",
    "Ivan Petrov",
    "Klaus Weber",
    "Omar Al Hashimi",
    "Vostok Holding AO",
    "LIFSHITS, Artem Mikhaylovich",
    "KHOROSHEV, Dmitry Yuryevich",
    "AKTSIONERNOE OBSHCHESTVO POZITIV TEKNOLODZHIZ",
    "POZITIV TEKNOLODZHIZ, AO",
    "Vladimir Vladimirovich PUTIN",
    "Alisher Burhanovich USMANOV",
    "Tupolev",
    "United Aircraft Corporation",
    "BANCO NACIONAL DE CUBA",
    "Dmitry Yuryevich Khoroshev",
    "",
];
const IDS: &[&str] = &[
    "DE-HRB-123456",
    "31455",
    "48603",
    "29702",
    "EU269-SAMPLE-1",
    "LEI-5493001KJTIIGC8Y1R12",
];
const ROLES: &[&str] = &[
    "freight_forwarder",
    "bank",
    "notify_party",
    "agent",
    "broker",
];
const PURPOSES: &[&str] = &[
    "humanitarian",
    "health_emergency",
    "medical",
    "pharmaceutical",
    "news_media",
    "commercial",
    "",
];
const CURRENCIES: &[&str] = &["EUR", "USD", "RUB", "CNY"];
const UNITS: &[&str] = &["pcs", "kg", "set"];
const PERCENTS: &[f64] = &[
    0.0, 1.0, 10.0, 24.9, 25.0, 30.0, 33.3, 33.4, 49.0, 49.9, 50.0, 50.1, 51.0, 60.0, 75.0, 100.0,
];
/// Days on which rules come into force or lapse, and ordinary days.
const DATES: &[&str] = &[
    "2014-07-31",
    "2022-02-23",
    "2022-02-24",
    "2022-02-25",
    "2022-04-08",
    "2023-06-23",
    "2023-12-18",
    "2023-12-19",
    "2023-12-20",
    "2024-03-20",
    "2024-06-24",
    "2024-12-26",
    "2025-01-01",
    "2026-01-01",
];

fn pick<'a>(pool: &[&'a str], i: u8) -> &'a str {
    pool[usize::from(i) % pool.len()]
}

/// A date from the pool of boundary days, or any day from 2020 to 2027.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum DateG {
    Known(u8),
    Day { year: u8, month: u8, day: u8 },
}

impl DateG {
    fn text(self) -> String {
        match self {
            DateG::Known(i) => pick(DATES, i).to_string(),
            DateG::Day { year, month, day } => format!(
                "{:04}-{:02}-{:02}",
                2020 + u32::from(year % 8),
                1 + month % 12,
                1 + day % 28
            ),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct OwnerG {
    name: u8,
    country: Option<u8>,
    id: Option<u8>,
    percent: u8,
    owners: Option<Vec<OwnerG>>,
}

#[derive(Arbitrary, Debug)]
struct PartyG {
    name: u8,
    id: Option<u8>,
    country: Option<u8>,
    city: bool,
    owners: Option<Vec<OwnerG>>,
    controlled_by: Option<u8>,
    signatory: Option<u8>,
}

#[derive(Arbitrary, Debug)]
struct EndUserG {
    party: PartyG,
    end_use: Option<u8>,
}

#[derive(Arbitrary, Debug)]
struct IntermediaryG {
    role: u8,
    name: u8,
    country: Option<u8>,
}

#[derive(Arbitrary, Debug)]
struct ItemG {
    description: bool,
    hs: u8,
    eccn: Option<u8>,
    origin: Option<u8>,
    us_content: Option<u8>,
    quantity: Option<u32>,
    value: Option<(u32, u8)>,
    us_direct_product: Option<bool>,
}

#[derive(Arbitrary, Debug)]
struct ContractG {
    id: bool,
    date: Option<DateG>,
    no_russia_clause: Option<bool>,
    authorisation_requested: Option<DateG>,
}

#[derive(Arbitrary, Debug)]
struct LicenseG {
    id: bool,
    authority: bool,
    /// Indices into the bundled rule ids and regime names.
    covers: Vec<u8>,
    valid_until: Option<DateG>,
}

#[derive(Arbitrary, Debug)]
struct ShipmentG {
    date: DateG,
    exporter: PartyG,
    consignee: PartyG,
    end_user: Option<EndUserG>,
    intermediaries: Option<Vec<IntermediaryG>>,
    destination: u8,
    route: Option<Vec<u8>>,
    first_item: ItemG,
    more_items: Vec<ItemG>,
    contract: Option<ContractG>,
    licenses: Option<Vec<LicenseG>>,
    purpose: Option<u8>,
    temporary_export: Option<bool>,
    /// Write absent optional facts as `null` instead of leaving the key out.
    nulls: bool,
    as_of: Option<DateG>,
}

/// Ownership deeper than this is cut off (the rules aggregate it to any depth, but the
/// interesting cases are shallow and YAML nesting is limited).
const MAX_OWNER_DEPTH: usize = 5;

struct Writer<'a> {
    nulls: bool,
    rules: &'a RuleSet,
}

impl Writer<'_> {
    fn opt(&self, m: &mut Mapping, key: &str, v: Option<Value>) {
        match v {
            Some(v) => {
                m.insert(key.into(), v);
            }
            None if self.nulls => {
                m.insert(key.into(), Value::Null);
            }
            None => {}
        }
    }

    fn country(i: u8) -> Value {
        pick(COUNTRIES, i).into()
    }

    fn owners(owners: &[OwnerG], depth: usize) -> Value {
        let mut left = 100.0_f64;
        let mut out = Vec::new();
        for o in owners.iter().take(6) {
            let mut pct = PERCENTS[usize::from(o.percent) % PERCENTS.len()];
            if pct > left {
                pct = (left * 10.0).floor() / 10.0;
            }
            left -= pct;
            let mut m = Mapping::new();
            m.insert("name".into(), pick(NAMES, o.name).into());
            m.insert("percent".into(), pct.into());
            if let Some(c) = o.country {
                m.insert("country".into(), Self::country(c));
            }
            if let Some(id) = o.id {
                m.insert("id".into(), pick(IDS, id).into());
            }
            if let Some(sub) = &o.owners
                && depth < MAX_OWNER_DEPTH
            {
                m.insert("owners".into(), Self::owners(sub, depth + 1));
            }
            out.push(Value::Mapping(m));
        }
        Value::Sequence(out)
    }

    fn party(&self, p: &PartyG) -> Mapping {
        let mut m = Mapping::new();
        m.insert("name".into(), pick(NAMES, p.name).into());
        self.opt(&mut m, "id", p.id.map(|i| pick(IDS, i).into()));
        self.opt(&mut m, "country", p.country.map(Self::country));
        if p.city {
            m.insert("city".into(), "Bishkek".into());
        }
        self.opt(
            &mut m,
            "owners",
            p.owners.as_deref().map(|o| Self::owners(o, 1)),
        );
        self.opt(
            &mut m,
            "controlled_by",
            p.controlled_by.map(|i| pick(NAMES, i).into()),
        );
        self.opt(
            &mut m,
            "signatory",
            p.signatory.map(|i| pick(NAMES, i).into()),
        );
        m
    }

    fn item(&self, it: &ItemG, n: usize) -> Value {
        let mut m = Mapping::new();
        if it.description {
            m.insert("description".into(), format!("item {n}").into());
        }
        m.insert("hs_code".into(), pick(HS, it.hs).into());
        self.opt(&mut m, "eccn", it.eccn.map(|i| pick(ECCNS, i).into()));
        self.opt(&mut m, "origin", it.origin.map(Self::country));
        self.opt(
            &mut m,
            "us_content_percent",
            it.us_content
                .map(|i| PERCENTS[usize::from(i) % PERCENTS.len()].into()),
        );
        self.opt(
            &mut m,
            "quantity",
            it.quantity.map(|q| (q % 100_000).into()),
        );
        if it.quantity.is_some() {
            m.insert("unit".into(), pick(UNITS, it.hs).into());
        }
        self.opt(
            &mut m,
            "value",
            it.value.map(|(amount, cur)| {
                let mut v = Mapping::new();
                v.insert("amount".into(), amount.into());
                v.insert("currency".into(), pick(CURRENCIES, cur).into());
                Value::Mapping(v)
            }),
        );
        self.opt(
            &mut m,
            "us_direct_product",
            it.us_direct_product.map(Value::from),
        );
        Value::Mapping(m)
    }

    fn cover(&self, i: u8) -> Value {
        let rules = &self.rules.rules;
        let regimes = &self.rules.regimes;
        let n = rules.len() + regimes.len() + 1;
        let i = usize::from(i) % n;
        if i < rules.len() {
            rules[i].id.clone().into()
        } else if i - rules.len() < regimes.len() {
            regimes[i - rules.len()].name.clone().into()
        } else {
            "no.such.rule".into()
        }
    }

    #[allow(clippy::too_many_lines)] // one statement per fact of the schema
    fn shipment(&self, g: &ShipmentG) -> Value {
        let mut m = Mapping::new();
        m.insert("id".into(), "FUZZ-1".into());
        m.insert("date".into(), g.date.text().into());
        m.insert("exporter".into(), Value::Mapping(self.party(&g.exporter)));
        m.insert("consignee".into(), Value::Mapping(self.party(&g.consignee)));
        self.opt(
            &mut m,
            "end_user",
            g.end_user.as_ref().map(|e| {
                let mut p = self.party(&e.party);
                self.opt(
                    &mut p,
                    "end_use",
                    e.end_use
                        .map(|u| pick(&["civil", "military", "unknown"], u).into()),
                );
                Value::Mapping(p)
            }),
        );
        self.opt(
            &mut m,
            "intermediaries",
            g.intermediaries.as_ref().map(|xs| {
                Value::Sequence(
                    xs.iter()
                        .take(4)
                        .map(|x| {
                            let mut p = Mapping::new();
                            p.insert("role".into(), pick(ROLES, x.role).into());
                            p.insert("name".into(), pick(NAMES, x.name).into());
                            self.opt(&mut p, "country", x.country.map(Self::country));
                            Value::Mapping(p)
                        })
                        .collect(),
                )
            }),
        );
        m.insert("destination".into(), Self::country(g.destination));
        self.opt(
            &mut m,
            "route",
            g.route
                .as_ref()
                .map(|r| Value::Sequence(r.iter().take(6).map(|c| Self::country(*c)).collect())),
        );
        let items = std::iter::once(&g.first_item)
            .chain(g.more_items.iter().take(4))
            .enumerate()
            .map(|(n, it)| self.item(it, n))
            .collect();
        m.insert("items".into(), Value::Sequence(items));
        self.opt(
            &mut m,
            "contract",
            g.contract.as_ref().map(|c| {
                let mut k = Mapping::new();
                if c.id {
                    k.insert("id".into(), "K-1".into());
                }
                self.opt(&mut k, "date", c.date.map(|d| d.text().into()));
                self.opt(
                    &mut k,
                    "no_russia_clause",
                    c.no_russia_clause.map(Value::from),
                );
                self.opt(
                    &mut k,
                    "authorisation_requested",
                    c.authorisation_requested.map(|d| d.text().into()),
                );
                Value::Mapping(k)
            }),
        );
        self.opt(
            &mut m,
            "licenses",
            g.licenses.as_ref().map(|ls| {
                Value::Sequence(
                    ls.iter()
                        .take(3)
                        .map(|l| {
                            let mut k = Mapping::new();
                            if l.id {
                                k.insert("id".into(), "L-1".into());
                            }
                            if l.authority {
                                k.insert("authority".into(), "BAFA".into());
                            }
                            k.insert(
                                "covers".into(),
                                Value::Sequence(
                                    l.covers.iter().take(4).map(|c| self.cover(*c)).collect(),
                                ),
                            );
                            self.opt(
                                &mut k,
                                "valid_until",
                                l.valid_until.map(|d| d.text().into()),
                            );
                            Value::Mapping(k)
                        })
                        .collect(),
                )
            }),
        );
        self.opt(
            &mut m,
            "purpose",
            g.purpose.map(|p| pick(PURPOSES, p).into()),
        );
        self.opt(
            &mut m,
            "temporary_export",
            g.temporary_export.map(Value::from),
        );
        Value::Mapping(m)
    }
}

/// Counts of what the generated shipments became, printed every 1,000 executions when
/// `RULECHECK_FUZZ_STATS` is set, to see that the generator reaches the evaluator:
/// runs, refused by the schema, then by verdict `clear`, `review`, `license_required`,
/// `prohibited`.
static STATS: [AtomicUsize; 6] = [const { AtomicUsize::new(0) }; 6];

fn count(i: usize) {
    STATS[i].fetch_add(1, Ordering::Relaxed);
    if i == 0 && std::env::var_os("RULECHECK_FUZZ_STATS").is_some() {
        let runs = STATS[0].load(Ordering::Relaxed);
        if runs.is_multiple_of(1000) {
            let s: Vec<usize> = STATS.iter().map(|c| c.load(Ordering::Relaxed)).collect();
            eprintln!(
                "eval_bundled: {} runs, {} refused, clear {}, review {}, license_required {}, prohibited {}",
                s[0], s[1], s[2], s[3], s[4], s[5]
            );
        }
    }
}

/// Evaluates and checks the invariants; returns the outcome's JSON.
fn check(rules: &RuleSet, shipment: &Shipment, opts: Options, yaml: &str) -> (String, Verdict) {
    let first = evaluate(rules, shipment, &opts);
    let second = evaluate(rules, shipment, &opts);
    let json = serde_json::to_string(&first).expect("an outcome serialises");
    let again = serde_json::to_string(&second).expect("an outcome serialises");
    assert_eq!(json, again, "evaluation is not deterministic for\n{yaml}");

    if first.findings.is_empty() && first.missing.is_empty() {
        assert_eq!(
            first.verdict,
            Verdict::Clear,
            "no finding and nothing missing, but not clear:\n{json}\nfor\n{yaml}"
        );
    }
    if !first.missing.is_empty() {
        assert_ne!(
            first.verdict,
            Verdict::Clear,
            "facts are missing, but the shipment is clear:\n{json}\nfor\n{yaml}"
        );
    }
    for f in &first.findings {
        if !f.missing.is_empty() {
            assert_eq!(
                f.verdict,
                Verdict::Review,
                "finding {} has missing facts but is not review:\n{json}\nfor\n{yaml}",
                f.rule
            );
        }
    }
    let most_severe = first
        .findings
        .iter()
        .map(|f| f.verdict)
        .chain((!first.missing.is_empty()).then_some(Verdict::Review))
        .max()
        .unwrap_or(Verdict::Clear);
    assert_eq!(
        first.verdict, most_severe,
        "the verdict is not the most severe of the findings:\n{json}\nfor\n{yaml}"
    );
    (json, first.verdict)
}

fuzz_target!(|g: ShipmentG| {
    count(0);
    let rules = bundled();
    let writer = Writer {
        nulls: g.nulls,
        rules,
    };
    let value = writer.shipment(&g);
    let yaml = serde_yaml::to_string(&value).expect("a YAML value serialises");
    let json_line = serde_json::to_string(&value).expect("a YAML value of strings serialises");

    let file = SourceFile {
        name: "fuzz.yaml".into(),
        text: yaml.as_str().into(),
    };
    let from_yaml = Shipment::from_yaml(&file);
    let from_json = Shipment::from_json_line(&json_line, "fuzz.jsonl", 1);
    let (shipment, from_json) = match (from_yaml, from_json) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(a), Err(_)) => {
            // The generator can make shipments the schema refuses (e.g. a licence
            // covering nothing): fine, as long as both readers agree and it renders.
            let _ = render_plain(&a);
            if std::env::var_os("RULECHECK_FUZZ_STATS").is_some_and(|v| v == "verbose") {
                eprintln!("refused: {}", a.one_line());
            }
            count(1);
            return;
        }
        (a, b) => panic!(
            "YAML and JSON readers disagree on the same facts:\nYAML: {:?}\nJSON: {:?}\n{yaml}",
            a.err().map(|p| p.one_line()),
            b.err().map(|p| p.one_line())
        ),
    };
    assert_eq!(
        shipment.digest(),
        from_json.digest(),
        "the same facts read from YAML and JSON have different digests:\n{yaml}"
    );

    let opts = Options {
        as_of: None,
        explain: true,
    };
    let (a, verdict) = check(rules, &shipment, opts, &yaml);
    count(match verdict {
        Verdict::Clear => 2,
        Verdict::Review => 3,
        Verdict::LicenseRequired => 4,
        Verdict::Prohibited => 5,
    });
    let (b, _) = check(rules, &from_json, opts, &yaml);
    assert_eq!(
        a, b,
        "the same facts from YAML and JSON evaluate differently:\n{yaml}"
    );

    if let Some(d) = g.as_of
        && let Ok(date) = d.text().parse()
    {
        let opts = Options {
            as_of: Some(date),
            explain: true,
        };
        check(rules, &shipment, opts, &yaml);
    }
});
