//! Hostile rule source: invisible and confusable characters are warned about (by the
//! `suspicious_unicode` lint of `rulecheck check`), durations
//! that would leave the calendar are refused, and the bundled rules are clean of both.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test

use rulecheck::diagnostics::{Code, Problem};
use rulecheck::lint::{Lint, lint};
use rulecheck::load::{Origin, load};

/// The warnings of `rulecheck check`: the checker's and the lints'.
fn check(text: &str) -> Result<Vec<Problem>, Vec<Problem>> {
    load(&Origin::Memory(vec![("t.rules".into(), text.into())]))
        .map(|(rs, mut warnings)| {
            warnings.extend(lint(&rs).0);
            warnings
        })
        .map_err(|p| p.0)
}

const UNICODE: Code = Code::Lint(Lint::SuspiciousUnicode);

const HEAD: &str = "regime r { title \"t\" scope everyone }\n";

#[test]
fn bidirectional_controls_are_warned_about_where_they_are() {
    let text = format!(
        "{HEAD}rule a.b {{ regime r citation \"Art. 2\u{202E}\" effective from 2020-01-01 when destination == RU verdict review }}\n"
    );
    let w = check(&text).unwrap();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].code, UNICODE);
    assert!(!w[0].is_error());
    assert!(
        w[0].message.contains("U+202E") && w[0].message.contains("bidirectional"),
        "{}",
        w[0].message
    );
    assert_eq!(w[0].line_col, Some((2, 37)));
}

#[test]
fn zero_width_and_mixed_script_names_are_warned_about() {
    // `АО` with a Cyrillic `А`, and a zero-width space inside `ACME LTD`.
    let text = format!(
        "{HEAD}list l {{ kind entity entries [\"Vostok \u{410}O\", \"ACME\u{200B} LTD\"] }}\nrule a.b {{ regime r citation \"c\" effective from 2020-01-01 when consignee.name in l verdict review }}\n"
    );
    let w = check(&text).unwrap();
    let messages: Vec<&str> = w.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(w.len(), 2, "{messages:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("mixes Latin with Cyrillic"))
    );
    assert!(messages.iter().any(|m| m.contains("U+200B")));
    // Names wholly in one script are fine.
    let text = format!(
        "{HEAD}list l {{ kind entity entries [\"\u{41E}\u{41E}\u{41E} \u{420}\u{430}\u{434}\u{438}\u{43E}\"] }}\nrule a.b {{ regime r citation \"c\" effective from 2020-01-01 when consignee.name in l verdict review }}\n"
    );
    assert!(check(&text).unwrap().is_empty());
}

#[test]
fn the_bundled_rules_have_no_such_characters() {
    let (rs, mut warnings) = load(&Origin::Bundled).unwrap();
    warnings.extend(lint(&rs).0);
    assert!(warnings.iter().all(|w| w.code != UNICODE), "{warnings:?}");
}

#[test]
fn durations_stay_within_the_calendar() {
    let rule = |d: &str| {
        format!(
            "{HEAD}rule a.b {{ regime r citation \"c\" effective from 2020-01-01 when contract.date + {d} after date verdict review }}\n"
        )
    };
    assert!(check(&rule("1000 years")).is_ok());
    assert!(check(&rule("366000 days")).is_ok());
    for too_long in [
        "1001 years",
        "12001 months",
        "366001 days",
        "99999999999999999999 days",
    ] {
        let e = check(&rule(too_long)).unwrap_err();
        assert_eq!(e[0].code, Code::Limit, "{too_long}: {}", e[0].message);
        assert!(e[0].line_col.is_some());
    }
}

#[test]
fn huge_and_odd_numbers_in_rules_are_refused() {
    let rule = |c: &str| {
        format!(
            "{HEAD}rule a.b {{ regime r citation \"c\" effective from 2020-01-01 when {c} verdict review }}\n"
        )
    };
    for bad in [
        "any i in items where i.value.amount > 1".to_string() + &"0".repeat(400),
        "any i in items where i.us_content_percent > 101%".to_string(),
        "date after 2024-02-30".to_string(),
    ] {
        let e = check(&rule(&bad)).unwrap_err();
        assert!(e[0].line_col.is_some(), "{bad}: {}", e[0].message);
    }
}
