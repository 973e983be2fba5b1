//! Rendering outcomes: readable text (verdict first, findings as trees) and JSON.

use std::fmt::Write as _;

use owo_colors::OwoColorize as _;

use crate::types::Verdict;
use crate::verdict::{Evidence, ExceptionOutcome, Finding, Outcome};

/// Output formats of `rulecheck eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: verdict first, then each finding with its evidence.
    Text,
    /// One JSON object per shipment, as in the schema document.
    Json,
    /// One JSON object per line, in input order (the default for JSON Lines input).
    Jsonl,
}

fn verdict_word(v: Verdict, color: bool) -> String {
    let w = v.as_str().to_uppercase();
    if !color {
        return w;
    }
    match v {
        Verdict::Prohibited => w.red().bold().to_string(),
        Verdict::LicenseRequired => w.magenta().bold().to_string(),
        Verdict::Review => w.yellow().bold().to_string(),
        Verdict::Clear => w.green().bold().to_string(),
    }
}

fn evidence_line(e: &Evidence) -> String {
    let test = if let Some(list) = e.test.strip_prefix("not in ") {
        format!("∉ {list}")
    } else if let Some(list) = e.test.strip_prefix("in ") {
        format!("∈ {list}")
    } else {
        e.test.to_string()
    };
    let mut s = if e.test.starts_with("is ") {
        // Presence and true/false tests read as a sentence.
        format!("{} {}", e.fact, e.test)
    } else if e.test.strip_prefix("== ") == Some(e.value.as_str()) {
        format!("{} = {}", e.fact, e.value)
    } else {
        format!("{} = {} {test}", e.fact, e.value)
    };
    if let Some(m) = &e.matched {
        let _ = write!(s, " ({m})");
    }
    s
}

fn tree(out: &mut String, indent: &str, lines: &[String]) {
    for (i, l) in lines.iter().enumerate() {
        let branch = if i + 1 == lines.len() {
            "└─"
        } else {
            "├─"
        };
        let _ = writeln!(out, "{indent}{branch} {l}");
    }
}

fn finding(out: &mut String, f: &Finding, color: bool) {
    let head = format!("{} {}", verdict_word(f.verdict, color), f.rule);
    let _ = writeln!(out, "\n{head}  [{}]", f.regime);
    let _ = writeln!(out, "  {}", f.message);
    if !f.citation.is_empty() {
        let _ = writeln!(out, "  citation: {}", f.citation);
    }
    if let Some(from) = f.relaxed_from {
        let _ = writeln!(out, "  relaxed from {from} by an exception (below)");
    }
    if !f.because.is_empty() {
        let _ = writeln!(out, "  because:");
        tree(
            out,
            "    ",
            &f.because.iter().map(evidence_line).collect::<Vec<_>>(),
        );
    }
    if !f.missing.is_empty() {
        let _ = writeln!(out, "  undecided, these facts are missing:");
        tree(out, "    ", &f.missing.clone());
    }
    for x in &f.exceptions {
        match x.outcome {
            ExceptionOutcome::Applied => {
                let _ = writeln!(
                    out,
                    "  exception {} applies, leaves {}",
                    x.exception, x.leaves
                );
                if !x.citation.is_empty() {
                    let _ = writeln!(out, "    citation: {}", x.citation);
                }
                tree(
                    out,
                    "    ",
                    &x.because.iter().map(evidence_line).collect::<Vec<_>>(),
                );
            }
            ExceptionOutcome::Unknown => {
                let _ = writeln!(
                    out,
                    "  exception {} does not apply: missing {}",
                    x.exception,
                    x.missing.join(", ")
                );
            }
            ExceptionOutcome::NotApplied => {
                let _ = writeln!(
                    out,
                    "  exception {} does not apply: {}",
                    x.exception,
                    x.reason.as_deref().unwrap_or("its condition does not hold")
                );
            }
        }
    }
    if let Some(c) = &f.conflict {
        let _ = writeln!(out, "  conflict: {c}");
    }
}

/// The text report of one outcome.
#[must_use]
pub fn text(o: &Outcome, color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} (as of {})",
        o.shipment,
        verdict_word(o.verdict, color),
        o.as_of
    );
    if o.findings.is_empty() && o.missing.is_empty() {
        let _ = writeln!(out, "  no rule applies");
    }
    for f in &o.findings {
        finding(&mut out, f, color);
    }
    for f in &o.relaxed {
        let _ = writeln!(
            out,
            "\nRELAXED {}  [{}]: would be {}, lifted by an exception",
            f.rule, f.regime, f.verdict
        );
        let _ = writeln!(out, "  {}", f.message);
        if !f.citation.is_empty() {
            let _ = writeln!(out, "  citation: {}", f.citation);
        }
        tree(
            &mut out,
            "    ",
            &f.because.iter().map(evidence_line).collect::<Vec<_>>(),
        );
        for x in f
            .exceptions
            .iter()
            .filter(|x| x.outcome == ExceptionOutcome::Applied)
        {
            let _ = writeln!(out, "  exception {} leaves {}", x.exception, x.leaves);
            if !x.citation.is_empty() {
                let _ = writeln!(out, "    citation: {}", x.citation);
            }
            tree(
                &mut out,
                "    ",
                &x.because.iter().map(evidence_line).collect::<Vec<_>>(),
            );
        }
        if let Some(c) = &f.conflict {
            let _ = writeln!(out, "  conflict: {c}");
        }
    }
    if !o.missing.is_empty() {
        let _ = writeln!(
            out,
            "\nmissing facts (a missing fact never makes a shipment clear):"
        );
        let lines: Vec<String> = o
            .missing
            .iter()
            .map(|m| format!("{}, needed by {}", m.fact, m.needed_by.join(", ")))
            .collect();
        tree(&mut out, "  ", &lines);
    }
    if let Some(nf) = &o.not_fired {
        let _ = writeln!(out, "\nrules that did not fire:");
        let lines: Vec<String> = nf
            .iter()
            .map(|n| format!("{}: {}", n.rule, n.reason))
            .collect();
        tree(&mut out, "  ", &lines);
    }
    let _ = writeln!(out, "\nrules {}\nfacts {}", o.rules_digest, o.facts_digest);
    out
}

/// The JSON object of one outcome.
#[must_use]
#[allow(clippy::expect_used)] // outcomes hold only strings, numbers and lists: serialising cannot fail
pub fn json(o: &Outcome) -> String {
    serde_json::to_string_pretty(o).expect("outcomes contain only strings, numbers and lists")
}
