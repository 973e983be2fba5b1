//! What a change of the rules does to the verdicts of past shipments: every shipment
//! evaluated under the base and the head rule set, transitions counted, and each changed
//! shipment shown with the rules and exceptions that moved it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::compile::RuleSet;
use crate::corpus::Raw;
use crate::diagnostics::Problem;
use crate::eval::{Options, evaluate, evaluate_verdicts};
use crate::types::Verdict;
use crate::verdict::{Finding, Outcome};

/// How a shipment's verdict moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// More severe under the head rules.
    Escalation,
    /// Less severe under the head rules.
    Relaxation,
    /// Same verdict, different findings.
    Reasoned,
}

/// One rule's part in a change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Cause {
    /// Rule id.
    pub rule: String,
    /// Its verdict under the base rules (`None`: no finding).
    pub base: Option<Verdict>,
    /// Its verdict under the head rules.
    pub head: Option<Verdict>,
    /// The rule's citation (head if it exists there, else base).
    pub citation: String,
    /// Exceptions that applied on each side, if they differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<String>,
    /// Why the rule gave no finding on the side that has none (not in force, out of
    /// scope, or the test that failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
}

/// A shipment whose outcome changed.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Shipment id.
    pub shipment: String,
    /// Where it came from (`file` or `file:line`).
    pub origin: String,
    /// Verdict under the base rules.
    pub base: Verdict,
    /// Verdict under the head rules.
    pub head: Verdict,
    /// Escalation, relaxation, or same verdict for other reasons.
    pub direction: Direction,
    /// The rules that differ.
    pub causes: Vec<Cause>,
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Shipments compared.
    pub shipments: usize,
    /// Digest of the base rules.
    pub base_rules: String,
    /// Digest of the head rules.
    pub head_rules: String,
    /// `(base, head) → count`, unchanged verdicts included.
    pub transitions: Vec<(Verdict, Verdict, usize)>,
    /// Changed shipments, escalations first, then relaxations, then the rest.
    pub changes: Vec<Change>,
}

impl Report {
    /// Number of changes in a direction.
    #[must_use]
    pub fn count(&self, d: Direction) -> usize {
        self.changes.iter().filter(|c| c.direction == d).count()
    }
}

fn verdict_of(findings: &[Finding], rule: &str) -> Option<Verdict> {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.verdict)
        .max()
}

fn applied(o: &Outcome, rule: &str) -> Vec<String> {
    use crate::verdict::ExceptionOutcome;
    o.findings
        .iter()
        .chain(&o.relaxed)
        .filter(|f| f.rule == rule)
        .flat_map(|f| f.exceptions.iter())
        .filter(|x| x.outcome == ExceptionOutcome::Applied)
        .map(|x| x.exception.clone())
        .collect()
}

/// Compares the outcomes of one shipment; `None` when nothing differs.
#[must_use]
pub fn compare(origin: &str, base: &Outcome, head: &Outcome) -> Option<Change> {
    let mut rules: Vec<&str> = base
        .findings
        .iter()
        .chain(&head.findings)
        .chain(&base.relaxed)
        .chain(&head.relaxed)
        .map(|f| f.rule.as_str())
        .collect();
    rules.sort_unstable();
    rules.dedup();
    let mut causes = Vec::new();
    for r in rules {
        let (b, h) = (verdict_of(&base.findings, r), verdict_of(&head.findings, r));
        let (xb, xh) = (applied(base, r), applied(head, r));
        if b != h || xb != xh {
            let citation = head
                .findings
                .iter()
                .chain(&head.relaxed)
                .chain(&base.findings)
                .chain(&base.relaxed)
                .find(|f| f.rule == r)
                .map(|f| f.citation.to_string())
                .unwrap_or_default();
            let exceptions = if xb == xh {
                Vec::new()
            } else {
                let mut v: Vec<String> = xb
                    .iter()
                    .filter(|x| !xh.contains(x))
                    .map(|x| format!("{x} (base only)"))
                    .collect();
                v.extend(
                    xh.iter()
                        .filter(|x| !xb.contains(x))
                        .map(|x| format!("{x} (head only)")),
                );
                v
            };
            let reason = |o: &Outcome| {
                o.not_fired
                    .iter()
                    .flatten()
                    .find(|n| n.rule == r)
                    .map(|n| n.reason.clone())
            };
            let why_not = match (b, h) {
                (Some(_), None) => reason(head).map(|w| format!("head: {w}")),
                (None, Some(_)) => reason(base).map(|w| format!("base: {w}")),
                _ => None,
            };
            causes.push(Cause {
                rule: r.to_string(),
                base: b,
                head: h,
                citation,
                exceptions,
                why_not,
            });
        }
    }
    if causes.is_empty() && base.verdict == head.verdict {
        return None;
    }
    let direction = match head.verdict.cmp(&base.verdict) {
        std::cmp::Ordering::Greater => Direction::Escalation,
        std::cmp::Ordering::Less => Direction::Relaxation,
        std::cmp::Ordering::Equal => Direction::Reasoned,
    };
    Some(Change {
        shipment: head.shipment.to_string(),
        origin: origin.to_string(),
        base: base.verdict,
        head: head.verdict,
        direction,
        causes,
    })
}

/// Verdict moves, changes and unreadable records of one slice of the corpus.
type ChunkResult = (Vec<(Verdict, Verdict)>, Vec<Change>, Vec<Problem>);

/// Evaluates every shipment under both rule sets, on `jobs` threads.
///
/// Records are taken from `records` a chunk at a time, so that memory is bounded
/// whatever the corpus size, and parsed on the worker threads too; records that cannot
/// be read are returned instead of a report, in input order.
pub fn diff(
    base: &RuleSet,
    head: &RuleSet,
    records: impl Iterator<Item = Result<Raw, Problem>>,
    jobs: usize,
) -> Result<Report, Vec<Problem>> {
    let mut acc = Tally::default();
    let mut chunk = Vec::with_capacity(CHUNK);
    for r in records {
        chunk.push(r);
        if chunk.len() == CHUNK {
            acc.add(compare_chunk(base, head, &mut chunk, jobs));
        }
    }
    acc.add(compare_chunk(base, head, &mut chunk, jobs));
    let Tally {
        shipments,
        counts,
        mut changes,
        problems,
    } = acc;
    if !problems.is_empty() {
        return Err(problems);
    }
    // Input order within each direction: stable and easy to follow.
    changes.sort_by_key(|c| c.direction);
    let mut transitions: Vec<(Verdict, Verdict, usize)> =
        counts.into_iter().map(|((b, h), n)| (b, h, n)).collect();
    transitions.sort_by_key(|(b, h, n)| {
        (
            b == h,
            std::cmp::Reverse(*n),
            std::cmp::Reverse(*b),
            std::cmp::Reverse(*h),
        )
    });
    Ok(Report {
        shipments,
        base_rules: base.digest.clone(),
        head_rules: head.digest.clone(),
        transitions,
        changes,
    })
}

/// Records compared at a time: what is held in memory besides the changes found.
const CHUNK: usize = 8192;

/// What the chunks compared so far add up to.
#[derive(Default)]
struct Tally {
    shipments: usize,
    counts: BTreeMap<(Verdict, Verdict), usize>,
    changes: Vec<Change>,
    problems: Vec<Problem>,
}

impl Tally {
    fn add(&mut self, parts: Vec<ChunkResult>) {
        for (moves, cs, bad) in parts {
            self.problems.extend(bad);
            self.shipments += moves.len();
            for m in moves {
                *self.counts.entry(m).or_default() += 1;
            }
            self.changes.extend(cs);
        }
    }
}

/// Compares the records of `chunk` on up to `jobs` threads and empties it; the results
/// of its parts in input order.
#[allow(clippy::expect_used)] // a panicking worker is a bug, and its panic is passed on
fn compare_chunk(
    base: &RuleSet,
    head: &RuleSet,
    chunk: &mut Vec<Result<Raw, Problem>>,
    jobs: usize,
) -> Vec<ChunkResult> {
    if chunk.is_empty() {
        return Vec::new();
    }
    let opts = Options::default();
    let jobs = jobs.max(1).min(chunk.len());
    let size = chunk.len().div_ceil(jobs).max(1);
    let parts = std::thread::scope(|s| {
        let handles: Vec<_> = chunk
            .chunks_mut(size)
            .map(|part| {
                s.spawn(move || {
                    let mut moves = Vec::with_capacity(part.len());
                    let mut changes = Vec::new();
                    let mut bad = Vec::new();
                    for record in part {
                        let raw = match record {
                            Ok(raw) => &*raw,
                            Err(p) => {
                                bad.push(p.clone());
                                continue;
                            }
                        };
                        let sh = match raw.parse() {
                            Ok(s) => s,
                            Err(p) => {
                                bad.push(p);
                                continue;
                            }
                        };
                        let (origin, sh) = (&raw.origin(), &sh);
                        let (b, h) = (
                            evaluate_verdicts(base, sh, &opts),
                            evaluate_verdicts(head, sh, &opts),
                        );
                        moves.push((b.verdict, h.verdict));
                        if compare(origin, &b, &h).is_some() {
                            // Changes are few: evaluate those again to say why a rule fell away.
                            let explain = Options {
                                explain: true,
                                ..opts
                            };
                            let (b, h) =
                                (evaluate(base, sh, &explain), evaluate(head, sh, &explain));
                            changes.extend(compare(origin, &b, &h));
                        }
                    }
                    (moves, changes, bad)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("evaluation panicked: a bug in rulecheck"))
            .collect()
    });
    chunk.clear();
    parts
}

fn side(v: Option<Verdict>) -> String {
    v.map_or_else(|| "no finding".to_string(), |v| v.to_string())
}

fn cause_line(c: &Cause) -> String {
    let mut s = format!("{}: {} → {}", c.rule, side(c.base), side(c.head));
    if let Some(w) = &c.why_not {
        let _ = write!(s, " [{w}]");
    }
    if !c.exceptions.is_empty() {
        let _ = write!(s, "; exceptions {}", c.exceptions.join(", "));
    }
    if !c.citation.is_empty() {
        let _ = write!(s, " ({})", c.citation);
    }
    s
}

impl Report {
    /// A report for people.
    #[must_use]
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} shipments compared\nbase rules {}\nhead rules {}\n",
            self.shipments, self.base_rules, self.head_rules
        );
        let _ = writeln!(s, "transitions:");
        for (b, h, n) in &self.transitions {
            let what = if b == h {
                format!("{b} (unchanged)")
            } else {
                format!("{b} → {h}")
            };
            let _ = writeln!(s, "  {what:<40} {n:>8}");
        }
        for (d, title) in [
            (Direction::Escalation, "escalations"),
            (Direction::Relaxation, "relaxations"),
            (Direction::Reasoned, "same verdict, other reasons"),
        ] {
            let cs: Vec<&Change> = self.changes.iter().filter(|c| c.direction == d).collect();
            if cs.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n{title} ({}):", cs.len());
            for c in cs {
                let _ = writeln!(
                    s,
                    "  {} ({}): {} → {}",
                    c.shipment, c.origin, c.base, c.head
                );
                for cause in &c.causes {
                    let _ = writeln!(s, "    {}", cause_line(cause));
                }
            }
        }
        let _ = writeln!(
            s,
            "\n{} escalations, {} relaxations, {} other changes",
            self.count(Direction::Escalation),
            self.count(Direction::Relaxation),
            self.count(Direction::Reasoned)
        );
        s
    }

    /// A summary fit for a pull-request comment.
    #[must_use]
    pub fn markdown(&self, limit: usize) -> String {
        let mut s = String::from("### rulecheck: what this rule change does to past verdicts\n\n");
        let _ = writeln!(
            s,
            "{} shipments compared: **{} escalations**, **{} relaxations**, {} other changes.\n",
            self.shipments,
            self.count(Direction::Escalation),
            self.count(Direction::Relaxation),
            self.count(Direction::Reasoned)
        );
        s.push_str("| base | head | shipments |\n|---|---|---:|\n");
        for (b, h, n) in &self.transitions {
            let _ = writeln!(
                s,
                "| {b} | {} | {n} |",
                if b == h {
                    "(unchanged)".to_string()
                } else {
                    h.to_string()
                }
            );
        }
        for (d, title) in [
            (Direction::Escalation, "Escalations"),
            (Direction::Relaxation, "Relaxations"),
            (Direction::Reasoned, "Same verdict, other reasons"),
        ] {
            let cs: Vec<&Change> = self.changes.iter().filter(|c| c.direction == d).collect();
            if cs.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n<details><summary>{title} ({})</summary>\n", cs.len());
            for c in cs.iter().take(limit) {
                let _ = writeln!(
                    s,
                    "- `{}` ({}): {} → {}",
                    c.shipment, c.origin, c.base, c.head
                );
                for cause in &c.causes {
                    let _ = writeln!(s, "  - {}", cause_line(cause).replace('|', "\\|"));
                }
            }
            if cs.len() > limit {
                let _ = writeln!(s, "- … and {} more", cs.len() - limit);
            }
            s.push_str("\n</details>\n");
        }
        s
    }
}
