//! Rule source → parse, check and compile, then render every problem.
//!
//! The input is one rule file, `fuzz.rules`. The project's list data files (each cut
//! to its first lines, so that an execution stays fast) are available beside it as
//! `data/...` and `../data/...`, so that `list ... from "..."` declarations copied from
//! the bundled rules load real data and the checker and compiler get past them.
#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use rulecheck::diagnostics::render_plain;
use rulecheck::load::{Origin, load};

/// Lines kept of each data file.
const DATA_LINES: usize = 300;

fn data_files() -> &'static [(String, Arc<str>)] {
    static FILES: OnceLock<Vec<(String, Arc<str>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/data");
        let mut out = Vec::new();
        collect(&root, &root, &mut out);
        out.sort();
        out
    })
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, Arc<str>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut kept: String = text.split_inclusive('\n').take(DATA_LINES).collect();
        if kept.is_empty() {
            kept = text;
        }
        let text: Arc<str> = kept.into();
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        out.push((format!("data/{rel}"), Arc::clone(&text)));
        out.push((format!("../data/{rel}"), text));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut files = vec![("fuzz.rules".to_string(), Arc::<str>::from(text))];
    files.extend(data_files().iter().cloned());
    match load(&Origin::Memory(files)) {
        Ok((_rules, warnings)) => {
            for p in &warnings {
                let _ = render_plain(p);
                let _ = p.one_line();
            }
        }
        Err(problems) => {
            for p in &problems.0 {
                let _ = render_plain(p);
                let _ = p.one_line();
            }
        }
    }
});
