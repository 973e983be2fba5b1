//! The canonical form written by hand is what `serde_json` writes for the typed shipment,
//! byte for byte, on generated shipments whose strings need every kind of escape, whose
//! numbers take every form `serde_json` writes, and with extra facts of every kind at
//! every level.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a failed unwrap is a failed test

use proptest::prelude::*;
use rulecheck::facts::Shipment;
use serde_json::{Map, Value, json};

/// Characters that the writer treats apart: everything JSON escapes, the bytes around
/// them, line and paragraph separators (which JSON leaves as they are), multi-byte ones.
fn tricky() -> impl Strategy<Value = char> {
    prop_oneof![
        (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
        prop::sample::select(vec![
            '"', '\\', '/', ' ', '!', '#', '[', ']', 'a', 'Z', '\u{7f}', '\u{80}', '\u{a0}', 'é',
            '\u{2028}', '\u{2029}', '€', '\u{fffd}', '😀',
        ]),
        any::<char>(),
    ]
}

/// Strings of every length up to a few words, plain or not.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9 .,&()-]{0,40}",
        prop::collection::vec(tricky(), 0..40).prop_map(|cs| cs.into_iter().collect()),
        // Long plain runs with one odd character somewhere.
        ("[a-z ]{0,30}", tricky(), "[a-z ]{0,30}").prop_map(|(a, c, b)| format!("{a}{c}{b}")),
    ]
}

/// A number an amount may be: integers, fractions, the ends of the range, minus zero.
#[allow(clippy::cast_precision_loss)] // integers up to 10^15 are exact
fn amount() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0u64..=1_000_000_000_000_000).prop_map(|n| n as f64),
        (0u32..100_000).prop_map(f64::from),
        0.0..=1e15f64,
        0.0..1.0f64,
        (0u32..10_000_000, 0i32..8).prop_map(|(n, e)| f64::from(n) / 10f64.powi(e)),
        prop::sample::select(vec![
            0.0,
            -0.0,
            1e15,
            1e-7,
            5e-324,
            0.1,
            123_456.789,
            1e14 + 0.5
        ]),
    ]
}

fn percent() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0..=100.0f64,
        (0u32..=100).prop_map(f64::from),
        prop::sample::select(vec![0.0, -0.0, 100.0, 33.3, 1e-9]),
    ]
}

/// Any JSON number: integers of either sign and size, floats in every notation.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |x| x.is_finite())
            .prop_map(Value::from),
        amount().prop_map(Value::from),
        prop::sample::select(vec![-0.0, 1e16, 1e21, 1e22, 1.5e-7, -1e300, 1e-5, 1e-4])
            .prop_map(Value::from),
    ]
}

/// An extra fact: any JSON value, nested a few levels.
fn extra_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number(),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Extra facts of an object; their keys are kept apart from the schema's.
fn extras() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(text().prop_map(|k| format!("x{k}")), extra_value(), 0..3)
        .prop_map(|m| m.into_iter().collect())
}

fn opt<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    prop::option::of(s)
}

fn country() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["DE", "RU", "KZ", "US", "AE"])
}

/// Inserts `v` under `k` unless it is `None`, so that absent facts are left out.
fn put(o: &mut Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        o.insert(k.into(), v);
    }
}

fn party(owner_levels: u32) -> BoxedStrategy<Value> {
    let owners = if owner_levels == 0 {
        Just(None).boxed()
    } else {
        opt(prop::collection::vec(
            (party(owner_levels - 1), 0.0..=30.0f64),
            0..3,
        ))
        .boxed()
    };
    (
        (
            text(),
            opt(text()),
            opt(country()),
            opt(text()),
            opt(text()),
        ),
        (
            opt(prop::sample::select(vec!["civil", "military", "unknown"])),
            opt(percent()),
            owners,
            extras(),
        ),
    )
        .prop_map(
            |((name, id, c, city, role), (end_use, percent, owners, extra))| {
                let mut o = extra;
                o.insert("name".into(), name.into());
                put(&mut o, "id", id.map(Value::from));
                put(&mut o, "country", c.map(Value::from));
                put(&mut o, "city", city.map(Value::from));
                put(&mut o, "role", role.map(Value::from));
                put(&mut o, "end_use", end_use.map(Value::from));
                put(&mut o, "percent", percent.map(Value::from));
                put(
                    &mut o,
                    "owners",
                    owners.map(|os| {
                        os.into_iter()
                            .map(|(mut p, share)| {
                                p["percent"] = share.into();
                                p
                            })
                            .collect()
                    }),
                );
                Value::Object(o)
            },
        )
        .boxed()
}

fn item() -> impl Strategy<Value = Value> {
    (
        (
            opt(text()),
            prop::sample::select(vec!["8542.31", "854231", "8471", "8542.31.90.10", "85423"]),
            opt(prop::sample::select(vec!["3A991", "EAR99", "5A002.a.1"])),
            opt(country()),
        ),
        (
            opt(percent()),
            opt(amount()),
            opt(text()),
            opt((amount(), prop::sample::select(vec!["EUR", "USD"]))),
        ),
        extras(),
    )
        .prop_map(
            |((description, hs, eccn, origin), (us, quantity, unit, value), extra)| {
                let mut o = extra;
                o.insert("hs_code".into(), hs.into());
                put(&mut o, "description", description.map(Value::from));
                put(&mut o, "eccn", eccn.map(Value::from));
                put(&mut o, "origin", origin.map(Value::from));
                put(&mut o, "us_content_percent", us.map(Value::from));
                put(&mut o, "quantity", quantity.map(Value::from));
                put(&mut o, "unit", unit.map(Value::from));
                put(
                    &mut o,
                    "value",
                    value.map(|(a, c)| json!({"amount": a, "currency": c})),
                );
                Value::Object(o)
            },
        )
}

fn contract() -> impl Strategy<Value = Value> {
    (
        opt(text()),
        opt(Just("2023-12-01")),
        opt(any::<bool>()),
        extras(),
    )
        .prop_map(|(id, date, clause, extra)| {
            let mut o = extra;
            put(&mut o, "id", id.map(Value::from));
            put(&mut o, "date", date.map(Value::from));
            put(&mut o, "no_russia_clause", clause.map(Value::from));
            Value::Object(o)
        })
}

fn license() -> impl Strategy<Value = Value> {
    (
        opt(text()),
        opt(text()),
        prop::collection::vec(text(), 0..3),
        opt(Just("0999-01-31")),
        extras(),
    )
        .prop_map(|(id, authority, covers, until, extra)| {
            let mut o = extra;
            put(&mut o, "id", id.map(Value::from));
            put(&mut o, "authority", authority.map(Value::from));
            o.insert("covers".into(), covers.into());
            put(&mut o, "valid_until", until.map(Value::from));
            Value::Object(o)
        })
}

/// A shipment as one line of JSON.
fn shipment_line() -> impl Strategy<Value = String> {
    (
        (
            text(),
            party(2),
            party(1),
            opt(party(0)),
            opt(prop::collection::vec(party(0), 0..3)),
        ),
        (
            country(),
            opt(prop::collection::vec(country(), 0..3)),
            prop::collection::vec(item(), 1..4),
        ),
        (
            opt(contract()),
            opt(prop::collection::vec(license(), 0..3)),
            extras(),
        ),
    )
        .prop_map(
            |(
                (id, exporter, consignee, end_user, intermediaries),
                (destination, route, items),
                (contract, licenses, extra),
            )| {
                let mut o = extra;
                o.insert("id".into(), format!("S{id}").into());
                o.insert("date".into(), "2024-05-01".into());
                o.insert("exporter".into(), exporter);
                o.insert("consignee".into(), consignee);
                put(&mut o, "end_user", end_user);
                put(&mut o, "intermediaries", intermediaries.map(Value::from));
                o.insert("destination".into(), destination.into());
                put(&mut o, "route", route.map(Value::from));
                o.insert("items".into(), items.into());
                put(&mut o, "contract", contract);
                put(&mut o, "licenses", licenses.map(Value::from));
                Value::Object(o).to_string()
            },
        )
}

/// `sha256:` and the hexadecimal digits of the hash of `bytes`.
fn digest_of(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    let hash = sha2::Sha256::digest(bytes);
    hash.iter().fold("sha256:".to_string(), |mut text, b| {
        let _ = write!(text, "{b:02x}");
        text
    })
}

fn canonical(s: &Shipment) -> Vec<u8> {
    let mut out = Vec::new();
    rulecheck::canonical::write(&mut out, s).unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn the_canonical_form_is_the_serialized_form(line in shipment_line()) {
        let s = Shipment::from_json_line(&line, "gen.jsonl", 1)
            .unwrap_or_else(|e| panic!("generated shipment is invalid: {e:?}\n{line}"));
        let hand = canonical(&s);
        let serde = serde_json::to_vec(&s).unwrap();
        // The digest is taken of the same bytes, whether the reader found the strings
        // plain and copied them, or decoded an escape and had them checked.
        prop_assert_eq!(s.digest(), digest_of(&serde));
        prop_assert_eq!(String::from_utf8(hand).unwrap(), String::from_utf8(serde).unwrap());
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them(s in text()) {
        let mut out = Vec::new();
        rulecheck::json_text::escape_into(&mut out, &s);
        let serde = serde_json::to_string(&s).unwrap();
        prop_assert_eq!(format!("\"{}\"", String::from_utf8(out).unwrap()), serde);
    }

    #[test]
    fn whole_amounts_as_the_float_writer_writes_them(n in 0u64..=1_000_000_000_000_000) {
        #[allow(clippy::cast_precision_loss)] // below 2^53
        let x = n as f64;
        prop_assert_eq!(rulecheck::json_text::small_whole(x), Some(n));
        let mut buffer = zmij::Buffer::new();
        prop_assert_eq!(format!("{n}.0"), buffer.format_finite(x));
    }

    #[test]
    fn amounts_in_hundredths_as_the_float_writer_writes_them(n in 1u64..100_000_000_000_000) {
        #[allow(clippy::cast_precision_loss)] // below 2^53
        let x = n as f64 / 100.0;
        prop_assert_eq!(rulecheck::json_text::hundredths(x), Some(n));
        prop_assert_eq!(cents(n), zmij::Buffer::new().format_finite(x).to_string());
    }

    #[test]
    fn any_number_read_in_hundredths_is_written_as_the_float_writer_writes_it(
        x in prop_oneof![
            any::<f64>(),
            0.0..1e13f64,
            0.0..1.0f64,
            1e11..1e12f64,
            // Hundredths and the doubles a few steps either side of them.
            (1u64..100_000_000_000_000, -3i64..=3).prop_map(|(n, k)| {
                #[allow(clippy::cast_precision_loss)] // below 2^53
                let x = n as f64 / 100.0;
                f64::from_bits(x.to_bits().wrapping_add_signed(k))
            }),
        ],
    ) {
        if let Some(n) = rulecheck::json_text::hundredths(x) {
            prop_assert_eq!(cents(n), zmij::Buffer::new().format_finite(x).to_string());
        }
    }

    #[test]
    fn hundredths_of_any_size_are_written_with_their_digits(n in any::<u64>()) {
        // Mostly numbers too long for the writer's fixed-size copy, which the tests above
        // do not reach.
        let (whole, frac) = (n / 100, n % 100);
        let written = if frac % 10 == 0 {
            format!("{whole}.{}", frac / 10)
        } else {
            format!("{whole}.{frac:02}")
        };
        prop_assert_eq!(cents(n), written);
    }

    #[test]
    fn the_word_at_a_time_scan_finds_what_a_byte_scan_finds(s in text()) {
        let slow = s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
        prop_assert_eq!(rulecheck::json_text::needs_escape(s.as_bytes()), slow);
    }
}

/// Dates are written as `serde_json` writes them: every day of the years at the ends of
/// the four-digit range and around now, and years past it either way.
#[test]
fn dates_are_written_as_serde_json_writes_them() {
    let years = (0..=120).chain(1900..=2100).chain(9880..=9999);
    let mut days: Vec<chrono::NaiveDate> = years
        .flat_map(|y| {
            chrono::NaiveDate::from_yo_opt(y, 1)
                .unwrap()
                .iter_days()
                .take(366)
        })
        .collect();
    days.extend(
        [-1, -999, 10_000, 99_999].map(|y| chrono::NaiveDate::from_ymd_opt(y, 12, 31).unwrap()),
    );
    for d in days {
        let mut out = Vec::new();
        rulecheck::json_text::date(&mut out, d);
        assert_eq!(out, serde_json::to_vec(&d).unwrap(), "{d}");
    }
}

/// `n` hundredths as the hand writer writes them.
fn cents(n: u64) -> String {
    let mut out = Vec::new();
    rulecheck::json_text::cents(&mut out, n);
    String::from_utf8(out).unwrap()
}

/// Every number of hundredths up to 10^6, and runs of them at each power of ten up to the
/// limit, where the digits roll over: read back as the same hundredths and written as the
/// float writer writes them; nothing else is taken for hundredths.
#[test]
fn hundredths_at_every_magnitude() {
    let zmij = |x: f64| zmij::Buffer::new().format_finite(x).to_string();
    let mut ns: Vec<u64> = (1..1_000_000).collect();
    let mut p = 1_000_000u64;
    while p <= 100_000_000_000_000 {
        ns.extend(p - 1000..p + 1000);
        ns.extend((1..10).map(|k| k * p / 10 + 7));
        p *= 10;
    }
    for n in ns {
        #[allow(clippy::cast_precision_loss)] // below 2^53
        let x = n as f64 / 100.0;
        if x >= 1e12 {
            assert_eq!(rulecheck::json_text::hundredths(x), None, "{x}");
            continue;
        }
        assert_eq!(rulecheck::json_text::hundredths(x), Some(n), "{x}");
        assert_eq!(cents(n), zmij(x), "{n}");
    }
    for x in [
        0.0,
        -0.0,
        -0.01,
        -12.5,
        0.001,
        0.005,
        0.015,
        1e-7,
        5e-324,
        1e12,
        1e12 + 0.5,
        f64::NAN,
        f64::INFINITY,
        0.1 + 0.2,
        1.0 / 3.0,
    ] {
        assert_eq!(rulecheck::json_text::hundredths(x), None, "{x}");
    }
}

/// Whole numbers written as integers are written as the float writer writes them.
#[test]
fn whole_numbers_as_the_float_writer_writes_them() {
    let zmij = |x: f64| zmij::Buffer::new().format_finite(x).to_string();
    let fast = |x: f64| rulecheck::json_text::small_whole(x).map(|n| format!("{n}.0"));
    let mut edges = vec![0.0, 1.0, 9_007_199_254_740_992.0];
    let mut p = 1u64;
    while p <= 1_000_000_000_000_000 {
        for n in [p - 1, p, p + 1, 2 * p, 5 * p, 9 * p, 10 * p - 1] {
            #[allow(clippy::cast_precision_loss)] // below 2^53
            edges.push(n as f64);
        }
        p *= 10;
    }
    for k in 0..53 {
        edges.push(f64::from(2u32).powi(k));
    }
    for x in edges {
        match fast(x) {
            Some(s) => assert_eq!(s, zmij(x), "{x}"),
            None => assert!(x > 1e15, "{x} is whole and in range"),
        }
    }
    for x in [
        -0.0,
        -1.0,
        0.5,
        1e15 + 0.5,
        1e15 + 1.0,
        1e16,
        f64::NAN,
        f64::INFINITY,
        5e-324,
    ] {
        assert_eq!(fast(x), None, "{x}");
    }
}

/// Every byte value at every position of strings up to two blocks and a half long: the scan and
/// the escape agree with a byte-by-byte reading and with `serde_json`.
#[test]
fn every_byte_at_every_position() {
    for len in 1..=40 {
        for at in 0..len {
            for b in 0u8..0x80 {
                let mut bytes = vec![b'a'; len];
                bytes[at] = b;
                let s = String::from_utf8(bytes).unwrap();
                let slow = b < 0x20 || b == b'"' || b == b'\\';
                assert_eq!(
                    rulecheck::json_text::needs_escape(s.as_bytes()),
                    slow,
                    "{s:?}"
                );
                let mut out = Vec::new();
                rulecheck::json_text::escape_into(&mut out, &s);
                assert_eq!(
                    format!("\"{}\"", String::from_utf8(out).unwrap()),
                    serde_json::to_string(&s).unwrap()
                );
            }
        }
    }
    // Bytes of multi-byte characters never need escaping.
    for c in ['é', '\u{2028}', '€', '😀', '\u{ffff}'] {
        for len in 0..10 {
            let s = format!("{}{c}", "a".repeat(len));
            assert!(!rulecheck::json_text::needs_escape(s.as_bytes()), "{s:?}");
        }
    }
}

/// Fixed cases that pin each form: every escape, and numbers as `serde_json` writes them.
#[test]
fn known_forms() {
    let line = r#"{"id":"q\"\\\u0000\u001f\b\f\n\r\t\u2028é","date":"2024-05-01","exporter":{"name":"A","percent":-0.0},"consignee":{"name":"B"},"destination":"DE","contract":{},"licenses":[{"covers":[]},{"authority":"BAFA","covers":["r"]}],"items":[{"hs_code":"8542.31","quantity":1e15,"value":{"amount":0.1,"currency":"EUR"},"value_eur":33380.67},{"hs_code":"8471","quantity":-0.0,"us_content_percent":33.3,"value_eur":0.5},{"hs_code":"84713","value_eur":7.0}],"x":[1,-2,1.5e-7,1e21,18446744073709551615,-9223372036854775808,null,true,{"k\n":"v"}]}"#;
    let s = Shipment::from_json_line(line, "t.jsonl", 1).unwrap();
    let text = String::from_utf8(canonical(&s)).unwrap();
    assert_eq!(text, serde_json::to_string(&s).unwrap());
    assert!(
        text.starts_with("{\"id\":\"q\\\"\\\\\\u0000\\u001f\\b\\f\\n\\r\\t\u{2028}é\","),
        "{text}"
    );
    for part in [
        "\"exporter\":{\"name\":\"A\",\"percent\":-0.0},\"consignee\":{\"name\":\"B\"},\"destination\":\"DE\",\"items\":",
        "\"quantity\":1000000000000000.0,",
        "\"quantity\":-0.0,",
        "\"amount\":0.1,",
        "\"value_eur\":33380.67",
        "\"value_eur\":0.5",
        // Absent facts are left out, whichever member comes first.
        "{\"hs_code\":\"8471.3\",\"value_eur\":7.0}",
        "\"contract\":{},\"licenses\":[{\"covers\":[]},{\"authority\":\"BAFA\",\"covers\":[\"r\"]}]",
        "\"us_content_percent\":33.3,",
        "\"x\":[1,-2,1.5e-7,1e+21,18446744073709551615,-9223372036854775808,null,true,{\"k\\n\":\"v\"}]}",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
}

/// The canonical form and the digest of one example, pinned: a change to either changes
/// every `facts_digest` ever recorded, so it must be deliberate (and noted in the README).
/// The text was also written and hashed by hand, apart from this code, to the same digest.
#[test]
fn an_examples_canonical_form_and_digest_are_pinned() {
    let mut map = rulecheck::source::SourceMap::default();
    let path = "examples/partner-country-clear.yaml";
    let id = map.add(path, std::fs::read_to_string(path).unwrap());
    let s = Shipment::from_yaml(map.file(id)).unwrap();
    assert_eq!(
        String::from_utf8(canonical(&s)).unwrap(),
        concat!(
            r#"{"id":"SHP-2024-1003-021","date":"2024-10-03","#,
            r#""exporter":{"name":"Elektronik Handel GmbH","country":"DE"},"#,
            r#""consignee":{"name":"Kansai Denshi K.K.","country":"JP","city":"Osaka","#,
            r#""owners":[{"name":"Kansai Holdings K.K.","country":"JP","percent":100.0}]},"#,
            r#""end_user":{"name":"Kansai Denshi K.K.","country":"JP","end_use":"civil","#,
            r#""owners":[{"name":"Kansai Holdings K.K.","country":"JP","percent":100.0}]},"#,
            r#""intermediaries":[{"name":"Commerzbank AG","country":"DE","role":"bank"},"#,
            r#"{"name":"Nippon Cargo K.K.","country":"JP","role":"freight_forwarder"}],"#,
            r#""destination":"JP","route":["DE","JP"],"#,
            r#""items":[{"description":"multilayer ceramic capacitors","hs_code":"8532.24","#,
            r#""quantity":1000000.0,"unit":"pcs","value":{"amount":12000.0,"currency":"EUR"}}],"#,
            r#""contract":{"id":"EH-JP-2024-77","date":"2024-08-19","no_russia_clause":false}}"#,
        )
    );
    assert_eq!(
        s.digest(),
        "sha256:d5373e9c4df5169aa3bd61b85bf648724ce82b8315a62ef6f33b4b5b319072c9"
    );
}
