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
    fn walk(p: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        if p.is_dir() {
            for e in std::fs::read_dir(p)? {
                walk(&e?.path(), out)?;
            }
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p.to_path_buf());
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(Problem::whole(
                Code::Io,
                Some(&p.display().to_string()),
                "no such case file or directory",
            ));
        }
        walk(p, &mut out)
            .map_err(|e| Problem::whole(Code::Io, Some(&p.display().to_string()), e.to_string()))?;
    }
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
    let fired: Vec<String> = outcome.findings.iter().map(|f| f.rule.clone()).collect();
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
            .map(|f| f.rule.clone())
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
