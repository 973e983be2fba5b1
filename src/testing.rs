//! Regression tests of rules: case files (a shipment, variations of it, and the verdict
//! each should get) run against a rule set, with coverage of which rules they exercise.
//!
//! A case file is YAML:
//!
//! ```yaml
//! shipment: ../../examples/bishkek-microcontrollers.yaml   # a path, or the shipment inline
//! as_of: 2024-04-12                                        # optional, for every case
//! cases:
//!   - name: the story case is prohibited
//!     expect: { verdict: prohibited, findings: [eu.833.chpl_russia] }
//!   - name: a sibling HS code is not on the list
//!     set: { "items[0].hs_code": "8542.90" }                # edits to the shipment
//!     remove: [end_user]                                   # facts taken out
//!     expect: { verdict: review, missing: [end_user] }
//! ```
//!
//! A file with a single case may put `name`, `set`, `remove` and `expect` at the top.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_yaml::Value as Yaml;

use crate::compile::RuleSet;
use crate::diagnostics::{Code, Problem};
use crate::eval::{Options, evaluate};
use crate::facts::Shipment;
use crate::source::{SourceFile, SourceMap};
use crate::types::{Date, Verdict};
use crate::verdict::Outcome;

/// Largest case file accepted, in bytes.
pub const MAX_CASE_BYTES: usize = 8 * 1024 * 1024;

/// What a case expects.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The shipment's verdict.
    pub verdict: Verdict,
    /// Rules that must be among the findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
    /// When true, `findings` must be exactly the findings (no others).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exactly: bool,
    /// Rules that must not be among the findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_findings: Vec<String>,
    /// Rules that must have been relaxed entirely by an exception.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relaxed: Vec<String>,
    /// Facts that must be among the missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// Fragments that must appear in some finding's message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: Option<String>,
    as_of: Option<Date>,
    #[serde(default)]
    set: BTreeMap<String, Yaml>,
    #[serde(default)]
    remove: Vec<String>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    shipment: Yaml,
    as_of: Option<Date>,
    #[serde(default)]
    cases: Vec<RawCase>,
    name: Option<String>,
    #[serde(default)]
    set: BTreeMap<String, Yaml>,
    #[serde(default)]
    remove: Vec<String>,
    expect: Option<Expect>,
}

/// One case, ready to run.
#[derive(Debug, Clone)]
pub struct Case {
    /// `file::name`, unique and stable.
    pub id: String,
    /// The case file.
    pub file: PathBuf,
    /// 1-based line of the case in its file.
    pub line: usize,
    /// The shipment with the case's edits applied.
    pub shipment: Shipment,
    /// Evaluate as of this date.
    pub as_of: Option<Date>,
    /// What it should give.
    pub expect: Expect,
}

/// Finds case files (`*.yaml`, `*.yml`) under the given paths, sorted.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Problem> {
    let mut out = crate::source::find_files(paths, &["yaml", "yml"], "case file")?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// Reads one case file into its cases.
pub fn load_cases(path: &Path) -> Result<Vec<Case>, Problem> {
    let name = path.display().to_string();
    let text = crate::source::read_text(path, MAX_CASE_BYTES).map_err(|e| {
        Problem::whole(
            Code::Io,
            Some(&name),
            format!("cannot read the case file: {e}"),
        )
    })?;
    let mut map = SourceMap::default();
    let fid = map.add(name.clone(), text);
    let file = map.file(fid);
    let raw: RawFile = serde_yaml::from_str(&file.text).map_err(|e| case_problem(file, &e))?;
    let base = match &raw.shipment {
        Yaml::String(rel) => {
            let p = path.parent().unwrap_or(Path::new("")).join(rel);
            let t =
                crate::source::read_text(&p, crate::facts::MAX_SHIPMENT_BYTES).map_err(|e| {
                    Problem::in_file(
                        Code::Io,
                        file,
                        0,
                        0,
                        format!("cannot read shipment `{}`: {e}", p.display()),
                    )
                    .help("the shipment path is relative to the case file")
                })?;
            serde_yaml::from_str::<Yaml>(&t).map_err(|e| {
                Problem::whole(
                    Code::Shipment,
                    Some(&p.display().to_string()),
                    e.to_string(),
                )
            })?
        }
        m @ Yaml::Mapping(_) => m.clone(),
        _ => {
            return Err(Problem::whole(
                Code::Shipment,
                Some(&name),
                "`shipment` is a path to a shipment file or the shipment itself",
            ));
        }
    };
    let mut raws = raw.cases;
    if let Some(expect) = raw.expect {
        raws.insert(
            0,
            RawCase {
                name: raw.name,
                as_of: None,
                set: raw.set,
                remove: raw.remove,
                expect,
            },
        );
    }
    if raws.is_empty() {
        return Err(Problem::whole(
            Code::Shipment,
            Some(&name),
            "the case file has no `expect` and no `cases`",
        ));
    }
    let lines = case_lines(&file.text);
    let mut out = Vec::new();
    for (i, rc) in raws.into_iter().enumerate() {
        let line = lines.get(i).copied().unwrap_or(1);
        let label = rc.name.clone().unwrap_or_else(|| format!("case {}", i + 1));
        let mut facts = base.clone();
        for (p, v) in &rc.set {
            edit(&mut facts, p, Some(v.clone())).map_err(|e| {
                Problem::whole(
                    Code::Shipment,
                    Some(&name),
                    format!("case `{label}`: set `{p}`: {e}"),
                )
            })?;
        }
        for p in &rc.remove {
            edit(&mut facts, p, None).map_err(|e| {
                Problem::whole(
                    Code::Shipment,
                    Some(&name),
                    format!("case `{label}`: remove `{p}`: {e}"),
                )
            })?;
        }
        let text = serde_yaml::to_string(&facts).unwrap_or_default();
        let sf = SourceFile {
            name: format!("{name} (case `{label}`)"),
            text: text.into(),
        };
        let shipment = Shipment::from_yaml(&sf)?;
        out.push(Case {
            id: format!("{name}::{label}"),
            file: path.to_path_buf(),
            line,
            shipment,
            as_of: rc.as_of.or(raw.as_of),
            expect: rc.expect,
        });
    }
    Ok(out)
}

/// Line numbers of the `- ` entries under `cases:` (and 1 for a top-level case).
fn case_lines(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut in_cases = false;
    let mut indent = None;
    for (n, l) in text.lines().enumerate() {
        if l.starts_with("expect:") {
            out.insert(0, n + 1);
        }
        if l.starts_with("cases:") {
            in_cases = true;
            continue;
        }
        if in_cases {
            let trimmed = l.trim_start();
            if !l.is_empty()
                && !l.starts_with(' ')
                && !l.starts_with('-')
                && !trimmed.starts_with('#')
            {
                in_cases = false;
                continue;
            }
            if let Some(rest) = trimmed.strip_prefix("- ") {
                let ind = l.len() - trimmed.len();
                if indent.is_none_or(|i| i == ind) {
                    indent = Some(ind);
                    let _ = rest;
                    out.push(n + 1);
                }
            }
        }
    }
    out
}

fn case_problem(file: &SourceFile, e: &serde_yaml::Error) -> Problem {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    match e.location() {
        Some(l) => Problem::in_file(Code::Shipment, file, l.index(), l.index() + 1, msg)
            .help("a case has `name`, `set`, `remove`, `as_of` and `expect` (`verdict`, `findings`, `exactly`, `not_findings`, `relaxed`, `missing`, `messages`)"),
        None => Problem::whole(Code::Shipment, Some(&file.name), msg),
    }
}

/// Sets (or, with `None`, removes) the value at a path such as `items[0].hs_code`.
fn edit(root: &mut Yaml, path: &str, value: Option<Yaml>) -> Result<(), String> {
    let mut steps: Vec<Result<String, usize>> = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            steps.push(Ok(key.to_string()));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or("unclosed `[`")?;
            steps.push(Err(r[..end]
                .parse::<usize>()
                .map_err(|_| format!("`{}` is not an index", &r[..end]))?));
            rest = &r[end + 1..];
        }
    }
    let (last, parents) = steps.split_last().ok_or("empty path")?;
    let mut cur = root;
    for s in parents {
        cur = match s {
            Ok(k) => {
                let m = cur
                    .as_mapping_mut()
                    .ok_or(format!("`{k}` is not inside a mapping"))?;
                m.entry(Yaml::String(k.clone()))
                    .or_insert(Yaml::Mapping(serde_yaml::Mapping::new()))
            }
            Err(i) => cur
                .as_sequence_mut()
                .and_then(|s| s.get_mut(*i))
                .ok_or(format!("there is no element {i}"))?,
        };
    }
    match (last, value) {
        (Ok(k), Some(v)) => {
            cur.as_mapping_mut()
                .ok_or("not a mapping")?
                .insert(Yaml::String(k.clone()), v);
        }
        (Ok(k), None) => {
            cur.as_mapping_mut()
                .ok_or("not a mapping")?
                .remove(k.as_str());
        }
        (Err(i), Some(v)) => {
            let s = cur.as_sequence_mut().ok_or("not a list")?;
            if *i == s.len() {
                s.push(v);
            } else {
                *s.get_mut(*i).ok_or(format!("there is no element {i}"))? = v;
            }
        }
        (Err(i), None) => {
            let s = cur.as_sequence_mut().ok_or("not a list")?;
            if *i >= s.len() {
                return Err(format!("there is no element {i}"));
            }
            s.remove(*i);
        }
    }
    Ok(())
}

/// The result of running one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case.
    pub case: Case,
    /// What the rules gave.
    pub outcome: Outcome,
    /// What did not match; empty when the case passed.
    pub failures: Vec<String>,
}

impl CaseResult {
    /// True when the outcome met every expectation.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs one case.
#[must_use]
pub fn run_case(rules: &RuleSet, case: &Case) -> CaseResult {
    let outcome = evaluate(
        rules,
        &case.shipment,
        &Options {
            as_of: case.as_of,
            explain: true,
        },
    );
    let failures = compare(&case.expect, &outcome);
    CaseResult {
        case: case.clone(),
        outcome,
        failures,
    }
}

/// What an outcome would have to be expected as, for `--update`.
#[must_use]
pub fn expectation_of(outcome: &Outcome, previous: &Expect) -> Expect {
    let fired: Vec<String> = outcome
        .findings
        .iter()
        .map(|f| f.rule.to_string())
        .collect();
    Expect {
        verdict: outcome.verdict,
        findings: if previous.exactly || !previous.findings.is_empty() {
            fired.clone()
        } else {
            Vec::new()
        },
        exactly: previous.exactly,
        not_findings: previous
            .not_findings
            .iter()
            .filter(|r| !fired.contains(r))
            .cloned()
            .collect(),
        relaxed: outcome
            .relaxed
            .iter()
            .map(|f| f.rule.to_string())
            .filter(|r| previous.relaxed.contains(r))
            .collect(),
        missing: outcome
            .missing
            .iter()
            .map(|m| m.fact.clone())
            .filter(|m| previous.missing.contains(m))
            .collect(),
        messages: previous
            .messages
            .iter()
            .filter(|m| {
                outcome
                    .findings
                    .iter()
                    .any(|f| f.message.contains(m.as_str()))
            })
            .cloned()
            .collect(),
    }
}

fn compare(e: &Expect, o: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    if o.verdict != e.verdict {
        out.push(format!(
            "verdict: expected {}, got {}",
            e.verdict, o.verdict
        ));
    }
    let fired: Vec<&str> = o.findings.iter().map(|f| f.rule.as_str()).collect();
    for r in &e.findings {
        if !fired.contains(&r.as_str()) {
            out.push(format!(
                "finding {r}: expected, not found (found: {})",
                list(&fired)
            ));
        }
    }
    if e.exactly {
        for r in &fired {
            if !e.findings.iter().any(|x| x == r) {
                out.push(format!("finding {r}: not expected"));
            }
        }
    }
    for r in &e.not_findings {
        if fired.contains(&r.as_str()) {
            out.push(format!("finding {r}: expected not to fire, but it did"));
        }
    }
    let relaxed: Vec<&str> = o.relaxed.iter().map(|f| f.rule.as_str()).collect();
    for r in &e.relaxed {
        if !relaxed.contains(&r.as_str()) {
            out.push(format!(
                "relaxed {r}: expected an exception to lift it (relaxed: {})",
                list(&relaxed)
            ));
        }
    }
    let missing: Vec<&str> = o.missing.iter().map(|m| m.fact.as_str()).collect();
    for m in &e.missing {
        if !missing.contains(&m.as_str()) {
            out.push(format!(
                "missing {m}: expected among the missing facts (missing: {})",
                list(&missing)
            ));
        }
    }
    for m in &e.messages {
        if !o.findings.iter().any(|f| f.message.contains(m.as_str())) {
            out.push(format!("message: no finding says \"{m}\""));
        }
    }
    out
}

fn list(xs: &[&str]) -> String {
    if xs.is_empty() {
        "none".into()
    } else {
        xs.join(", ")
    }
}

/// Runs cases on all cores; results come back in the order of `cases`.
#[must_use]
#[allow(clippy::expect_used)] // a panicking case is a bug, and its panic is passed on
pub fn run_all(rules: &RuleSet, cases: &[Case], jobs: usize) -> Vec<CaseResult> {
    let jobs = jobs.max(1).min(cases.len().max(1));
    let chunk = cases.len().div_ceil(jobs).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || part.iter().map(|c| run_case(rules, c)).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .expect("a case panicked: that is a bug in rulecheck")
            })
            .collect()
    })
}

/// How often the cases exercised one rule or exception.
#[derive(Debug, Clone, Serialize)]
pub struct Exercised {
    /// Rule or exception id.
    pub id: String,
    /// `file:line` of its declaration.
    pub location: String,
    /// Cases in which it fired (rules: held, relaxed or not; exceptions: applied).
    pub fired: usize,
    /// Cases that evaluated it and saw it not fire.
    pub not_fired: usize,
}

/// Which rules and exceptions the cases exercise.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Every rule, in rule-set order.
    pub rules: Vec<Exercised>,
    /// Every exception, in rule-set order.
    pub exceptions: Vec<Exercised>,
    /// Percent of rules fired by some case.
    pub percent_fired: f64,
}

/// Counts, for each rule and exception, the cases that fired it and those that saw it
/// not fire.
#[must_use]
#[allow(clippy::indexing_slicing)] // indices come from maps built over the same vectors
pub fn coverage(rules: &RuleSet, results: &[CaseResult]) -> Coverage {
    use crate::verdict::ExceptionOutcome;
    let loc = |span| rules.sources.location(span).to_string();
    let mut rs: Vec<Exercised> = rules
        .rules
        .iter()
        .map(|r| Exercised {
            id: r.id.clone(),
            location: loc(r.span),
            fired: 0,
            not_fired: 0,
        })
        .collect();
    let mut xs: Vec<Exercised> = rules
        .exceptions
        .iter()
        .map(|x| Exercised {
            id: x.id.clone(),
            location: loc(x.span),
            fired: 0,
            not_fired: 0,
        })
        .collect();
    let rule_index: BTreeMap<&str, usize> = rules
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let exc_index: BTreeMap<&str, usize> = rules
        .exceptions
        .iter()
        .enumerate()
        .map(|(i, x)| (x.id.as_str(), i))
        .collect();
    for res in results {
        let o = &res.outcome;
        for f in o.findings.iter().chain(&o.relaxed) {
            if let Some(&i) = rule_index.get(f.rule.as_str()) {
                // An undecided rule (review for missing facts) has not fired.
                if f.missing.is_empty() {
                    rs[i].fired += 1;
                } else {
                    rs[i].not_fired += 1;
                }
            }
            for n in &f.exceptions {
                if let Some(&i) = exc_index.get(n.exception.as_str()) {
                    match n.outcome {
                        ExceptionOutcome::Applied => xs[i].fired += 1,
                        ExceptionOutcome::Unknown | ExceptionOutcome::NotApplied => {
                            xs[i].not_fired += 1;
                        }
                    }
                }
            }
        }
        for n in o.not_fired.iter().flatten() {
            if let Some(&i) = rule_index.get(n.rule.as_str()) {
                rs[i].not_fired += 1;
            }
        }
    }
    let fired = rs.iter().filter(|r| r.fired > 0).count();
    #[allow(clippy::cast_precision_loss)] // counts of rules
    let percent_fired = if rs.is_empty() {
        100.0
    } else {
        100.0 * fired as f64 / rs.len() as f64
    };
    Coverage {
        rules: rs,
        exceptions: xs,
        percent_fired,
    }
}

impl Coverage {
    /// A table for people.
    #[must_use]
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let fired = self.rules.iter().filter(|r| r.fired > 0).count();
        let _ = writeln!(
            s,
            "coverage: {fired} of {} rules fired by some case ({:.1}%)",
            self.rules.len(),
            self.percent_fired
        );
        let width = self
            .rules
            .iter()
            .chain(&self.exceptions)
            .map(|r| r.id.len())
            .max()
            .unwrap_or(4)
            .max(9);
        for (title, items) in [("rule", &self.rules), ("exception", &self.exceptions)] {
            if items.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n{title:<width$}  fired  not fired  declared at");
            for r in items {
                let _ = writeln!(
                    s,
                    "{:<width$}  {:>5}  {:>9}  {}",
                    r.id, r.fired, r.not_fired, r.location
                );
            }
        }
        let never: Vec<&Exercised> = self
            .rules
            .iter()
            .chain(&self.exceptions)
            .filter(|r| r.fired == 0)
            .collect();
        if !never.is_empty() {
            let _ = writeln!(s, "\nnever fired by any case:");
            for r in never {
                let touched = if r.not_fired == 0 {
                    "no case touches it"
                } else {
                    "tested only where it does not fire"
                };
                let _ = writeln!(s, "  {} ({}): {touched}", r.id, r.location);
            }
        }
        s
    }
}

/// Escapes text for XML attributes and content.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `JUnit` XML for CI systems: one suite, one test case per case, failures with messages.
#[must_use]
pub fn junit(
    results: &[CaseResult],
    skipped: usize,
    explain: impl Fn(&Outcome) -> String,
) -> String {
    use std::fmt::Write as _;
    let failed = results.iter().filter(|r| !r.passed()).count();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"rulecheck\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"{skipped}\">",
        results.len()
    );
    let _ = writeln!(
        s,
        "  <testsuite name=\"rulecheck\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"{skipped}\">",
        results.len()
    );
    for r in results {
        let (file, name) = r.case.id.split_once("::").unwrap_or(("", &r.case.id));
        let _ = write!(
            s,
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\"",
            xml(file),
            xml(name),
            xml(&r.case.file.display().to_string()),
            r.case.line
        );
        if r.passed() {
            s.push_str("/>\n");
        } else {
            let _ = writeln!(
                s,
                ">\n      <failure message=\"{}\" type=\"expectation\">{}\n\n{}</failure>\n    </testcase>",
                xml(&r.failures.join("; ")),
                xml(&r.failures.join("\n")),
                xml(&explain(&r.outcome))
            );
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

/// A case result for JSON output.
#[derive(Serialize)]
pub struct CaseReport<'a> {
    /// Case id.
    pub id: &'a str,
    /// Case file.
    pub file: String,
    /// Line of the case.
    pub line: usize,
    /// True when it passed.
    pub passed: bool,
    /// What did not match.
    pub failures: &'a [String],
    /// The actual outcome.
    pub outcome: &'a Outcome,
}

impl<'a> From<&'a CaseResult> for CaseReport<'a> {
    fn from(r: &'a CaseResult) -> Self {
        CaseReport {
            id: &r.case.id,
            file: r.case.file.display().to_string(),
            line: r.case.line,
            passed: r.passed(),
            failures: &r.failures,
            outcome: &r.outcome,
        }
    }
}

/// Rewrites the `expect` of the given cases in their files to what they now get; each
/// rewritten expectation is one flow-style line, so the diff of the case file is what
/// a reviewer reads.
#[allow(clippy::indexing_slicing)] // line indices are kept below `next`, itself at most the number of lines
pub fn update(results: &[CaseResult]) -> Result<usize, Problem> {
    let mut by_file: BTreeMap<&Path, Vec<&CaseResult>> = BTreeMap::new();
    for r in results.iter().filter(|r| !r.passed()) {
        by_file.entry(r.case.file.as_path()).or_default().push(r);
    }
    let mut n = 0;
    for (file, rs) in by_file {
        let name = file.display().to_string();
        let text = crate::source::read_text(file, MAX_CASE_BYTES)
            .map_err(|e| Problem::whole(Code::Io, Some(&name), e.to_string()))?;
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let starts = case_lines(&text);
        // Later cases first, so that earlier line numbers stay valid.
        let mut rs = rs;
        rs.sort_by_key(|r| std::cmp::Reverse(r.case.line));
        for r in rs {
            let start = r.case.line.saturating_sub(1);
            let next = starts
                .iter()
                .copied()
                .find(|&l| l > r.case.line)
                .map_or(lines.len(), |l| l - 1);
            let Some(at) = (start..next).find(|&i| {
                lines[i]
                    .trim_start()
                    .trim_start_matches("- ")
                    .starts_with("expect:")
            }) else {
                return Err(Problem::whole(
                    Code::Shipment,
                    Some(&name),
                    format!("cannot find the `expect` of case `{}` to update", r.case.id),
                ));
            };
            let line = &lines[at];
            let prefix_len = line.find("expect:").unwrap_or(0);
            let indent = line.len() - line.trim_start().len();
            let mut end = at + 1;
            while end < next
                && (lines[end].trim().is_empty()
                    || lines[end].len() - lines[end].trim_start().len() > indent)
            {
                end += 1;
            }
            // Keep blank lines between cases.
            while end > at + 1 && lines[end - 1].trim().is_empty() {
                end -= 1;
            }
            let new = expectation_of(&r.outcome, &r.case.expect);
            let replacement = format!("{}expect: {}", &line[..prefix_len], flow(&new));
            lines.splice(at..end, [replacement]);
            n += 1;
        }
        let mut out = lines.join("\n");
        out.push('\n');
        std::fs::write(file, out)
            .map_err(|e| Problem::whole(Code::Io, Some(&name), e.to_string()))?;
    }
    Ok(n)
}

fn flow(e: &Expect) -> String {
    let list = |xs: &[String]| format!("[{}]", xs.join(", "));
    let mut parts = vec![format!("verdict: {}", e.verdict)];
    if !e.findings.is_empty() {
        parts.push(format!("findings: {}", list(&e.findings)));
    }
    if e.exactly {
        parts.push("exactly: true".into());
    }
    if !e.not_findings.is_empty() {
        parts.push(format!("not_findings: {}", list(&e.not_findings)));
    }
    if !e.relaxed.is_empty() {
        parts.push(format!("relaxed: {}", list(&e.relaxed)));
    }
    if !e.missing.is_empty() {
        parts.push(format!("missing: {}", list(&e.missing)));
    }
    if !e.messages.is_empty() {
        let quoted: Vec<String> = e.messages.iter().map(|m| format!("{m:?}")).collect();
        parts.push(format!("messages: [{}]", quoted.join(", ")));
    }
    format!("{{ {} }}", parts.join(", "))
}
