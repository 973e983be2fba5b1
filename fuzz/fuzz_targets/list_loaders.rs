//! Data file text → every list format's reader (`read_entries`, with and without a key
//! column) and OFAC's alias reader; every entry key is then checked against every list
//! kind, and every problem rendered.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rulecheck::compile::{ListKind, normalize_name};
use rulecheck::diagnostics::{Problem, render_plain};
use rulecheck::lists::{Format, canonical_key, read_entries, read_ofac_aliases};
use rulecheck::source::SourceFile;

const FORMATS: [(Format, &str); 4] = [
    (Format::Csv, "list.csv"),
    (Format::Yaml, "list.yaml"),
    (Format::Json, "list.json"),
    (Format::OfacSdn, "sdn.csv"),
];

const KINDS: [ListKind; 5] = [
    ListKind::Country,
    ListKind::Hs,
    ListKind::Eccn,
    ListKind::Str,
    ListKind::Entity,
];

fn render_all(problems: &[Problem]) {
    for p in problems {
        let _ = render_plain(p);
        let _ = p.one_line();
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    for (format, name) in FORMATS {
        let file = SourceFile {
            name: name.into(),
            text: s.into(),
        };
        for column in [None, Some("code")] {
            match read_entries(&file, format, column) {
                Ok(entries) => {
                    for e in &entries {
                        let _ = normalize_name(&e.key);
                        for kind in KINDS {
                            let _ = canonical_key(kind, &e.key);
                        }
                    }
                }
                Err(problems) => render_all(&problems),
            }
        }
    }
    let file = SourceFile {
        name: "alt.csv".into(),
        text: s.into(),
    };
    match read_ofac_aliases(&file) {
        Ok(rows) => {
            for (_, alias, _) in &rows {
                let _ = normalize_name(alias);
            }
        }
        Err(problems) => render_all(&problems),
    }
});
