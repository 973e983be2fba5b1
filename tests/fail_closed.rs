//! Fail closed, over the shipments of the regime library's cases and the examples: taking
//! optional facts away never turns a verdict that was not `clear` into `clear`, and a rule
//! that fired and is left undecided names a fact that was taken away.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use rulecheck::eval::{Options, evaluate};
use rulecheck::facts::Shipment;
use rulecheck::load::{Origin, load};
use rulecheck::source::SourceFile;
use rulecheck::types::Verdict;
use serde_yaml::Value;

/// Optional facts, as paths into the shipment: top-level keys and party sub-keys.
const OPTIONAL: &[&[&str]] = &[
    &["end_user"],
    &["intermediaries"],
    &["route"],
    &["contract"],
    &["licenses"],
    &["consignee", "owners"],
    &["end_user", "owners"],
    &["consignee", "role"],
    &["consignee", "country"],
    &["end_user", "country"],
    &["purpose"],
];

fn shipments() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("examples")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for case in rulecheck::testing::discover(&[PathBuf::from("tests/cases")]).unwrap() {
        let v: Value = serde_yaml::from_str(&std::fs::read_to_string(&case).unwrap()).unwrap();
        if let Some(rel) = v.get("shipment").and_then(Value::as_str) {
            files.push(case.parent().unwrap_or(Path::new("")).join(rel));
        }
    }
    files.sort();
    files.dedup();
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            (
                p.display().to_string(),
                serde_yaml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap(),
            )
        })
        .collect()
}

fn without(v: &Value, path: &[&str]) -> Option<Value> {
    let mut out = v.clone();
    let (last, parents) = path.split_last()?;
    let mut cur = &mut out;
    for p in parents {
        cur = cur.get_mut(*p)?;
    }
    cur.as_mapping_mut()?.remove(*last)?;
    Some(out)
}

fn load_shipment(name: &str, v: &Value) -> Shipment {
    let text = serde_yaml::to_string(v).unwrap();
    Shipment::from_yaml(&SourceFile {
        name: name.into(),
        text: text.into(),
    })
    .unwrap()
}

#[test]
fn taking_facts_away_never_makes_a_shipment_clear_and_undecided_rules_name_them() {
    let (rules, _) = load(&Origin::Bundled).unwrap();
    let opts = Options::default();
    let all = shipments();
    assert!(all.len() >= 15, "too few shipments: {}", all.len());
    let mut checked = 0;
    for (name, full_facts) in &all {
        let full = evaluate(&rules, &load_shipment(name, full_facts), &opts);
        // Each optional fact alone, and each pair of them.
        for (i, a) in OPTIONAL.iter().enumerate() {
            for b in OPTIONAL.iter().skip(i) {
                let removed: Vec<&[&str]> = if a == b { vec![a] } else { vec![a, b] };
                let mut facts = full_facts.clone();
                let mut took = Vec::new();
                for r in &removed {
                    if let Some(v) = without(&facts, r) {
                        facts = v;
                        took.push(r.join("."));
                    }
                }
                if took.is_empty() {
                    continue;
                }
                checked += 1;
                let less = evaluate(&rules, &load_shipment(name, &facts), &opts);
                if full.verdict != Verdict::Clear {
                    assert_ne!(
                        less.verdict,
                        Verdict::Clear,
                        "{name} without {took:?} became clear"
                    );
                }
                for f in less.findings.iter().filter(|f| !f.missing.is_empty()) {
                    let fired_before = full
                        .findings
                        .iter()
                        .any(|g| g.rule == f.rule && g.missing.is_empty());
                    if fired_before {
                        assert!(
                            f.missing.iter().any(|m| took
                                .iter()
                                .any(|t| m.starts_with(t.as_str()) || t.starts_with(m.as_str()))),
                            "{name} without {took:?}: {} is undecided but names only {:?}",
                            f.rule,
                            f.missing
                        );
                    }
                }
            }
        }
    }
    assert!(checked > 500, "only {checked} reductions checked");
}
