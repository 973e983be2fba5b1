//! Parse-only baseline for the peer benchmark: every line of a JSON Lines file through
//! `Shipment::read_json_line`, the function `rulecheck eval` batch mode calls on each
//! record before evaluating it, reading each record over the last as a batch worker
//! does; no rules, no output records. Single thread.
//!
//! `parse-only FILE.jsonl` prints on stderr: records, errors, seconds, records/s.

use std::io::BufRead;
use std::time::Instant;

use rulecheck::facts::Shipment;

/// The allocator `rulecheck` itself runs with, so that the two are the same work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::io::Result<()> {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: parse-only FILE.jsonl");
        std::process::exit(2);
    };
    let file = std::fs::File::open(&path)?;
    let mut input = std::io::BufReader::with_capacity(1 << 20, file);
    let started = Instant::now();
    let (mut records, mut errors, mut line_no) = (0u64, 0u64, 0usize);
    let mut line = String::new();
    let mut held = None;
    while input.read_line(&mut line)? > 0 {
        line_no += 1;
        let text = line.trim_end_matches(['\n', '\r']);
        if !text.trim().is_empty() {
            records += 1;
            match Shipment::read_json_line(&mut held, text, &path, line_no) {
                Ok(s) => {
                    std::hint::black_box(&s);
                }
                Err(_) => errors += 1,
            }
        }
        line.clear();
    }
    let secs = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rate = records as f64 / secs.max(1e-9);
    eprintln!("parse-only: {records} records, {errors} errors, {secs:.3} s, {rate:.0} records/s");
    Ok(())
}
