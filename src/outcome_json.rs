//! An outcome as one line of compact JSON, written straight into a byte buffer: the same
//! bytes as `serde_json::to_writer`, which stays the definition (the tests hold this
//! writer to it for every shape of outcome). Batch mode writes one per record, and
//! `serde_json` escaping every string byte by byte was most of the cost of writing it: here
//! a string that needs no escape (nearly all) is checked many bytes at a time and copied
//! (see [`crate::json_text`]).

use crate::json_text::{date, string};
use crate::types::Verdict;
use crate::verdict::{
    Evidence, ExceptionNote, ExceptionOutcome, Finding, Missing, NotFired, Outcome, Text,
};

/// Appends `o` to `out` as compact JSON, byte for byte as `serde_json::to_writer` would.
pub fn write(out: &mut Vec<u8>, o: &Outcome) {
    // Every type is taken apart field by field, so that a field added to it does not
    // compile until it is written here too.
    let Outcome {
        shipment,
        as_of,
        verdict,
        rules_digest,
        facts_digest,
        findings,
        missing,
        relaxed,
        not_fired,
    } = o;
    // The fixed parts between two values are written in one piece each: every outcome
    // writes them.
    out.extend_from_slice(br#"{"shipment":"#);
    string(out, shipment);
    out.extend_from_slice(br#","as_of":"#);
    date(out, *as_of);
    out.extend_from_slice(match verdict {
        Verdict::Clear => br#","verdict":"clear","rules_digest":"#.as_slice(),
        Verdict::Review => br#","verdict":"review","rules_digest":"#,
        Verdict::LicenseRequired => br#","verdict":"license_required","rules_digest":"#,
        Verdict::Prohibited => br#","verdict":"prohibited","rules_digest":"#,
    });
    text(out, rules_digest);
    out.extend_from_slice(br#","facts_digest":"#);
    if let Some(b) = facts_digest.plain_bytes() {
        out.push(b'"');
        out.extend_from_slice(b);
        out.push(b'"');
    } else {
        string(out, facts_digest);
    }
    if findings.is_empty() && missing.is_empty() {
        out.extend_from_slice(br#","findings":[],"missing":[]"#);
    } else {
        out.extend_from_slice(br#","findings":"#);
        list(out, findings, finding);
        out.extend_from_slice(br#","missing":"#);
        list(out, missing, missing_fact);
    }
    if !relaxed.is_empty() {
        out.extend_from_slice(br#","relaxed":"#);
        list(out, relaxed, finding);
    }
    if let Some(n) = not_fired {
        out.extend_from_slice(br#","not_fired":"#);
        list(out, n, not_fired_rule);
    }
    out.push(b'}');
}

fn finding(out: &mut Vec<u8>, f: &Finding) {
    let Finding {
        rule,
        regime,
        verdict,
        citation,
        message,
        because,
        missing,
        exceptions,
        relaxed_from,
        conflict,
    } = f;
    out.extend_from_slice(br#"{"rule":"#);
    text(out, rule);
    out.extend_from_slice(br#","regime":"#);
    text(out, regime);
    out.extend_from_slice(match verdict {
        Verdict::Clear => br#","verdict":"clear","citation":"#.as_slice(),
        Verdict::Review => br#","verdict":"review","citation":"#,
        Verdict::LicenseRequired => br#","verdict":"license_required","citation":"#,
        Verdict::Prohibited => br#","verdict":"prohibited","citation":"#,
    });
    text(out, citation);
    out.extend_from_slice(br#","message":"#);
    text(out, message);
    out.extend_from_slice(br#","because":"#);
    list(out, because, evidence);
    if !missing.is_empty() {
        out.extend_from_slice(br#","missing":"#);
        list(out, missing, |out, s| string(out, s));
    }
    if !exceptions.is_empty() {
        out.extend_from_slice(br#","exceptions":"#);
        list(out, exceptions, exception);
    }
    if let Some(v) = relaxed_from {
        out.extend_from_slice(br#","relaxed_from":"#);
        verdict_keyword(out, *v);
    }
    if let Some(c) = conflict {
        out.extend_from_slice(br#","conflict":"#);
        string(out, c);
    }
    out.push(b'}');
}

fn evidence(out: &mut Vec<u8>, e: &Evidence) {
    let Evidence {
        fact,
        value,
        test,
        matched,
    } = e;
    out.extend_from_slice(br#"{"fact":"#);
    string(out, fact);
    out.extend_from_slice(br#","value":"#);
    string(out, value);
    out.extend_from_slice(br#","test":"#);
    text(out, test);
    if let Some(m) = matched {
        out.extend_from_slice(br#","matched":"#);
        text(out, m);
    }
    out.push(b'}');
}

fn exception(out: &mut Vec<u8>, x: &ExceptionNote) {
    let ExceptionNote {
        exception,
        citation,
        outcome,
        leaves,
        because,
        missing,
        reason,
    } = x;
    out.extend_from_slice(br#"{"exception":"#);
    string(out, exception);
    out.extend_from_slice(br#","citation":"#);
    string(out, citation);
    out.extend_from_slice(match outcome {
        ExceptionOutcome::Applied => br#","outcome":"applied""#.as_slice(),
        ExceptionOutcome::Unknown => br#","outcome":"unknown""#,
        ExceptionOutcome::NotApplied => br#","outcome":"not_applied""#,
    });
    out.extend_from_slice(br#","leaves":"#);
    string(out, leaves);
    if !because.is_empty() {
        out.extend_from_slice(br#","because":"#);
        list(out, because, evidence);
    }
    if !missing.is_empty() {
        out.extend_from_slice(br#","missing":"#);
        list(out, missing, |out, s| string(out, s));
    }
    if let Some(r) = reason {
        out.extend_from_slice(br#","reason":"#);
        string(out, r);
    }
    out.push(b'}');
}

fn missing_fact(out: &mut Vec<u8>, m: &Missing) {
    let Missing { fact, needed_by } = m;
    out.extend_from_slice(br#"{"fact":"#);
    string(out, fact);
    out.extend_from_slice(br#","needed_by":"#);
    list(out, needed_by, |out, s| string(out, s));
    out.push(b'}');
}

fn not_fired_rule(out: &mut Vec<u8>, n: &NotFired) {
    let NotFired {
        rule,
        regime,
        reason,
    } = n;
    out.extend_from_slice(br#"{"rule":"#);
    string(out, rule);
    out.extend_from_slice(br#","regime":"#);
    string(out, regime);
    out.extend_from_slice(br#","reason":"#);
    string(out, reason);
    out.push(b'}');
}

/// A [`Text`] as a JSON string: copied as it is when it is known to need no escape.
fn text(out: &mut Vec<u8>, t: &Text) {
    if t.known_plain() {
        out.push(b'"');
        out.extend_from_slice(t.as_bytes());
        out.push(b'"');
    } else {
        string(out, t);
    }
}

fn list<T>(out: &mut Vec<u8>, items: &[T], each: impl Fn(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(out, item);
    }
    out.push(b']');
}

fn verdict_keyword(out: &mut Vec<u8>, v: Verdict) {
    // The keywords are plain snake_case words: nothing to escape.
    out.push(b'"');
    out.extend_from_slice(v.as_str().as_bytes());
    out.push(b'"');
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;

    use serde::Serialize;

    use super::*;
    use crate::types::Date;

    fn via_serde<T: Serialize>(v: &T) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    fn direct(o: &Outcome) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out, o);
        out
    }

    /// Strings of every kind: arbitrary Unicode with control characters, and short ones
    /// dense in the characters JSON escapes.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[a-z\"\\\\\n\r\t\u{0}\u{1f}\u{7f}\u{e9}\u{2028}\u{1F600}]{0,40}",
            "[ -~]{0,80}",
        ]
    }

    fn verdict() -> impl Strategy<Value = Verdict> {
        prop_oneof![
            Just(Verdict::Clear),
            Just(Verdict::Review),
            Just(Verdict::LicenseRequired),
            Just(Verdict::Prohibited),
        ]
    }

    fn day() -> impl Strategy<Value = Date> {
        // Years far before 0 and after 9999 too, which chrono writes with a sign.
        prop_oneof![
            (-4_000_000i32..4_000_000),
            (-800i32..800),
            (3_651_000i32..3_653_500),
        ]
        .prop_filter_map("a date chrono can hold", Date::from_num_days_from_ce_opt)
    }

    /// A [`Text`] of either kind: shared (checked for escapes once) or owned.
    fn shared_text() -> impl Strategy<Value = Text> {
        (text(), any::<bool>()).prop_map(|(s, shared)| {
            if shared {
                Text::shared(&s)
            } else {
                Text::from(s)
            }
        })
    }

    fn evidence() -> impl Strategy<Value = Evidence> {
        (text(), text(), shared_text(), option::of(shared_text())).prop_map(
            |(fact, value, test, matched)| Evidence {
                fact,
                value,
                test,
                matched,
            },
        )
    }

    fn exception_note() -> impl Strategy<Value = ExceptionNote> {
        (
            text(),
            text(),
            prop_oneof![
                Just(ExceptionOutcome::Applied),
                Just(ExceptionOutcome::Unknown),
                Just(ExceptionOutcome::NotApplied),
            ],
            text(),
            vec(evidence(), 0..3),
            vec(text(), 0..3),
            option::of(text()),
        )
            .prop_map(
                |(exception, citation, outcome, leaves, because, missing, reason)| ExceptionNote {
                    exception,
                    citation,
                    outcome,
                    leaves,
                    because,
                    missing,
                    reason,
                },
            )
    }

    fn finding() -> impl Strategy<Value = Finding> {
        (
            (
                shared_text(),
                shared_text(),
                verdict(),
                shared_text(),
                shared_text(),
            ),
            vec(evidence(), 0..4),
            vec(text(), 0..3),
            vec(exception_note(), 0..3),
            option::of(verdict()),
            option::of(text()),
        )
            .prop_map(
                |(
                    (rule, regime, verdict, citation, message),
                    because,
                    missing,
                    exceptions,
                    relaxed_from,
                    conflict,
                )| Finding {
                    rule,
                    regime,
                    verdict,
                    citation,
                    message,
                    because,
                    missing,
                    exceptions,
                    relaxed_from,
                    conflict,
                },
            )
    }

    fn outcome() -> impl Strategy<Value = Outcome> {
        (
            (text(), day(), verdict(), shared_text(), text()),
            vec(finding(), 0..3),
            vec(
                (text(), vec(text(), 0..3))
                    .prop_map(|(fact, needed_by)| Missing { fact, needed_by }),
                0..3,
            ),
            vec(finding(), 0..2),
            option::of(vec(
                (text(), text(), text()).prop_map(|(rule, regime, reason)| NotFired {
                    rule,
                    regime,
                    reason,
                }),
                0..3,
            )),
        )
            .prop_map(
                |(
                    (shipment, as_of, verdict, rules_digest, facts_digest),
                    findings,
                    missing,
                    relaxed,
                    not_fired,
                )| Outcome {
                    shipment: shipment.into(),
                    as_of,
                    verdict,
                    rules_digest,
                    facts_digest: facts_digest.into(),
                    findings,
                    missing,
                    relaxed,
                    not_fired,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

        #[test]
        fn every_outcome_is_written_as_serde_json_writes_it(o in outcome()) {
            prop_assert_eq!(
                String::from_utf8(direct(&o)).unwrap(),
                String::from_utf8(via_serde(&o)).unwrap()
            );
        }

        #[test]
        fn every_string_is_written_as_serde_json_writes_it(s in text()) {
            let mut out = Vec::new();
            string(&mut out, &s);
            prop_assert_eq!(out, via_serde(&s));
        }

        #[test]
        fn every_text_is_written_as_serde_json_writes_its_string(s in text()) {
            for t in [Text::shared(&s), Text::from(s.clone())] {
                let mut out = Vec::new();
                super::text(&mut out, &t);
                prop_assert_eq!(out, via_serde(&s));
            }
        }

        #[test]
        fn every_date_is_written_as_chrono_writes_it(d in day()) {
            let mut out = Vec::new();
            date(&mut out, d);
            prop_assert_eq!(out, via_serde(&d));
        }
    }

    #[test]
    fn every_control_character_and_the_edges_of_the_years() {
        for c in (0u8..0x80).map(char::from) {
            let s = format!("a{c}b");
            let mut out = Vec::new();
            string(&mut out, &s);
            assert_eq!(out, via_serde(&s), "{c:?}");
        }
        for (y, m, d) in [(0, 1, 1), (9999, 12, 31), (-1, 12, 31), (10000, 1, 1)] {
            let day = Date::from_ymd_opt(y, m, d).unwrap();
            let mut out = Vec::new();
            date(&mut out, day);
            assert_eq!(out, via_serde(&day), "{day}");
        }
    }

    #[test]
    fn fixed_texts_with_and_without_escapes() {
        for (t, s) in [
            (Text::fixed("is missing"), "is missing"),
            (
                Text::fixed("a \"quoted\" \\ word\n"),
                "a \"quoted\" \\ word\n",
            ),
        ] {
            let mut out = Vec::new();
            super::text(&mut out, &t);
            assert_eq!(out, via_serde(&s), "{s:?}");
        }
    }

    #[test]
    fn a_clear_outcome_and_one_with_every_optional_part() {
        let clear = Outcome {
            shipment: "SHP-1".into(),
            as_of: Date::from_ymd_opt(2024, 8, 16).unwrap(),
            verdict: Verdict::Clear,
            rules_digest: "sha256:00".into(),
            facts_digest: "sha256:ff".into(),
            findings: Vec::new(),
            missing: Vec::new(),
            relaxed: Vec::new(),
            not_fired: None,
        };
        assert_eq!(direct(&clear), via_serde(&clear));
        let ev = Evidence {
            fact: "items[0].hs_code".into(),
            value: "8542.31".into(),
            test: "in chpl".into(),
            matched: Some("entry 8542.31".into()),
        };
        let f = Finding {
            rule: "r1".into(),
            regime: "eu".into(),
            verdict: Verdict::LicenseRequired,
            citation: "Art. 1".into(),
            message: "a \"quoted\" message\n".into(),
            because: vec![ev.clone()],
            missing: vec!["end_user".into()],
            exceptions: vec![ExceptionNote {
                exception: "x1".into(),
                citation: "Art. 2".into(),
                outcome: ExceptionOutcome::NotApplied,
                leaves: "nothing".into(),
                because: vec![ev],
                missing: vec!["end_user.country".into()],
                reason: Some("no".into()),
            }],
            relaxed_from: Some(Verdict::Prohibited),
            conflict: Some("two exceptions".into()),
        };
        let full = Outcome {
            findings: vec![f.clone(), f.clone()],
            missing: vec![Missing {
                fact: "end_user".into(),
                needed_by: vec!["r1".into(), "r2".into()],
            }],
            relaxed: vec![f],
            not_fired: Some(vec![NotFired {
                rule: "r3".into(),
                regime: "us".into(),
                reason: "the date".into(),
            }]),
            ..clear
        };
        assert_eq!(direct(&full), via_serde(&full));
    }
}
