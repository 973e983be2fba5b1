//! Named lints over a checked rule set: problems that are not errors of the language
//! but are likely mistakes of the law's transcription (a rule that can never apply, one
//! that another makes redundant, an unused list, a hidden character). Each lint has a
//! stable name, a default level and a page under `docs/lints/`.
//!
//! Runs after `check` and `compile`, on the compiled rule set and on the syntax tree of
//! its rule files (parsed again, for spans). A lint is silenced on one declaration by a
//! comment with a reason on the line before it, or on its first line:
//! `# rulecheck: allow(unused_list) -- kept for the next package`.

mod logic;

use std::collections::{HashMap, HashSet};

use miette::Severity;

use crate::ast::{self, Decl, Expr, SetRef, Term};
use crate::compile::{self, Cond, ListKind, Period, Root, RuleSet, Value};
use crate::diagnostics::{Code, Problem, Problems, did_you_mean};
use crate::lists::{EntryOrigin, Place};
use crate::source::{FileId, SourceFile, SourceMap, Span};
use crate::types::{Date, HsCode};

/// How a lint is reported unless configured otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Makes `rulecheck check` fail.
    Error,
    /// Printed; `rulecheck check` still succeeds.
    Warning,
}

macro_rules! lints {
    ($($(#[$doc:meta])* $var:ident = $name:literal, $level:ident, $summary:literal;)*) => {
        /// A named lint.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Lint {
            $($(#[$doc])* $var,)*
        }

        impl Lint {
            /// Every lint, in documentation order.
            pub const ALL: &'static [Lint] = &[$(Lint::$var),*];

            /// The stable name, as written in suppressions.
            #[must_use]
            pub fn name(self) -> &'static str {
                match self { $(Lint::$var => $name,)* }
            }

            /// The diagnostic code, `rulecheck::lint::<name>`.
            #[must_use]
            pub fn code(self) -> &'static str {
                match self { $(Lint::$var => concat!("rulecheck::lint::", $name),)* }
            }

            /// The page that documents it.
            #[must_use]
            pub fn doc_path(self) -> &'static str {
                match self { $(Lint::$var => concat!("docs/lints/", $name, ".md"),)* }
            }

            /// Error or warning.
            #[must_use]
            pub fn default_level(self) -> Level {
                match self { $(Lint::$var => Level::$level,)* }
            }

            /// One line on what it finds.
            #[must_use]
            pub fn summary(self) -> &'static str {
                match self { $(Lint::$var => $summary,)* }
            }
        }
    };
}

lints! {
    /// A rule with no `citation`.
    MissingCitation = "missing_citation", Warning,
        "a rule that cites no article of law";
    /// A rule with no `effective from` date.
    MissingEffectiveStart = "missing_effective_start", Warning,
        "a rule with no date from which it is in force";
    /// A rule or exception whose condition can never hold.
    ImpossibleCondition = "impossible_condition", Error,
        "a rule or exception whose condition can never hold";
    /// A condition, or a part of one joined by `and`, that always holds.
    AlwaysTrue = "always_true", Warning,
        "a condition, or one of its `and` parts, that always holds";
    /// An effective period that ends before the `as_of` date of a list it uses.
    PeriodBeforeList = "period_before_list", Warning,
        "an effective period that ends before the date of a list the condition uses";
    /// A rule another rule of its regime makes redundant.
    ShadowedRule = "shadowed_rule", Warning,
        "a rule made redundant by another rule of the same regime";
    /// An exception in force on no day on which a rule it relaxes is.
    ExceptionNeverInForce = "exception_never_in_force", Warning,
        "an exception whose period is disjoint from every rule it relaxes";
    /// Two exceptions of one rule that can both apply and leave different verdicts.
    OverlappingExceptions = "overlapping_exceptions", Warning,
        "two exceptions to one rule that can both apply with different outcomes";
    /// A list no condition uses.
    UnusedList = "unused_list", Warning,
        "a list that no condition uses";
    /// A predicate no condition uses.
    UnusedPredicate = "unused_predicate", Warning,
        "a predicate that no condition uses";
    /// The same entry twice in a list.
    DuplicateListEntry = "duplicate_list_entry", Warning,
        "an entry listed twice in one list";
    /// A list entry that is valid but unlikely to be meant.
    MalformedListEntry = "malformed_list_entry", Warning,
        "a list entry accepted by the loader but not well formed for its kind";
    /// Bidirectional, invisible or mixed-script characters.
    SuspiciousUnicode = "suspicious_unicode", Warning,
        "bidirectional controls, invisible characters or mixed scripts in rule source";
    /// A suppression comment without a reason, or not written as one.
    InvalidSuppression = "invalid_suppression", Error,
        "a suppression comment without a reason, or malformed";
    /// A suppression naming no lint.
    UnknownLint = "unknown_lint", Error,
        "a suppression that names no lint";
    /// A suppression that silenced nothing.
    UnusedSuppression = "unused_suppression", Warning,
        "a suppression that silences nothing";
}

impl Lint {
    /// The lint with this name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Lint> {
        Lint::ALL.iter().copied().find(|l| l.name() == name)
    }

    /// Lints about suppressions themselves cannot be suppressed.
    fn suppressible(self) -> bool {
        !matches!(
            self,
            Lint::InvalidSuppression | Lint::UnknownLint | Lint::UnusedSuppression
        )
    }
}

/// The prefix of a suppression comment, after `#`.
pub const SUPPRESSION_PREFIX: &str = "rulecheck:";

/// A problem a lint found, and the declaration it belongs to (for suppression).
struct Found {
    lint: Lint,
    owner: Option<Span>,
    problem: Problem,
}

/// A problem of a lint at a span, with its default level.
fn problem(lint: Lint, sources: &SourceMap, span: Span, message: impl Into<String>) -> Problem {
    level(lint, Problem::at(Code::Lint(lint), sources, span, message))
}

fn level(lint: Lint, p: Problem) -> Problem {
    match lint.default_level() {
        Level::Error => p,
        Level::Warning => p.warning(),
    }
}

/// Runs every lint on a checked rule set; returns the problems, suppressions applied,
/// in source order.
#[must_use]
pub fn lint(rs: &RuleSet) -> Problems {
    let sources = &rs.sources;
    let mut files: Vec<(FileId, ast::File)> = Vec::new();
    for (id, f) in sources.files().take(rs.rule_files) {
        // The set was checked: its files parse. One that does not is left out.
        if let Ok(parsed) = crate::parser::parse_file(id, f) {
            files.push((id, parsed));
        }
    }
    let decls: Vec<&Decl> = files.iter().flat_map(|(_, f)| f.decls.iter()).collect();
    let mut cx = Lints {
        rs,
        sources,
        decls: &decls,
        found: Vec::new(),
    };
    cx.citations_and_dates();
    cx.conditions();
    cx.periods_before_lists();
    cx.shadowed_rules();
    cx.exceptions();
    cx.unused();
    cx.list_entries();
    for (id, f) in sources.files().take(rs.rule_files) {
        cx.unicode(id, f);
    }
    let found = std::mem::take(&mut cx.found);
    let mut problems = Problems(suppress(sources, rs.rule_files, &decls, found));
    problems.sort();
    problems
}

struct Lints<'a> {
    rs: &'a RuleSet,
    sources: &'a SourceMap,
    decls: &'a [&'a Decl],
    found: Vec<Found>,
}

fn decl_span(d: &Decl) -> Span {
    match d {
        Decl::Regime(r) => r.span,
        Decl::Rule(r) => r.span,
        Decl::Exception(x) => x.span,
        Decl::List(l) => l.span,
        Decl::Predicate(p) => p.span,
        Decl::Fact(f) => f.span,
    }
}

impl<'a> Lints<'a> {
    fn push(&mut self, lint: Lint, owner: Span, problem: Problem) {
        self.found.push(Found {
            lint,
            owner: Some(owner),
            problem,
        });
    }

    fn rules(&self) -> impl Iterator<Item = &'a ast::Rule> + use<'a> {
        self.decls.iter().filter_map(|d| match d {
            Decl::Rule(r) => Some(r),
            _ => None,
        })
    }

    fn exceptions_ast(&self) -> impl Iterator<Item = &'a ast::Exception> + use<'a> {
        self.decls.iter().filter_map(|d| match d {
            Decl::Exception(x) => Some(x),
            _ => None,
        })
    }

    fn compiled_rule(&self, id: &str) -> Option<(usize, &'a compile::Rule)> {
        self.rs.rules.iter().enumerate().find(|(_, r)| r.id == id)
    }

    fn compiled_exception(&self, id: &str) -> Option<(usize, &'a compile::Exception)> {
        self.rs
            .exceptions
            .iter()
            .enumerate()
            .find(|(_, x)| x.id == id)
    }

    fn citations_and_dates(&mut self) {
        for r in self.rules() {
            if r.citation.is_none() {
                let p = problem(
                    Lint::MissingCitation,
                    self.sources,
                    r.id.span,
                    format!("rule `{}` has no `citation`", r.id.name),
                )
                .label("cites nothing")
                .help("add `citation \"...\"`: findings cite the article of law");
                self.push(Lint::MissingCitation, r.span, p);
            }
            let from = r.effective.as_ref().and_then(|e| e.from);
            if from.is_none() {
                let span = r.effective.as_ref().map_or(r.id.span, |e| e.span);
                let p = problem(
                    Lint::MissingEffectiveStart,
                    self.sources,
                    span,
                    format!("rule `{}` does not say from when it is in force", r.id.name),
                )
                .label("no `effective from`")
                .help("add `effective from YYYY-MM-DD`, the day the provision entered into force");
                self.push(Lint::MissingEffectiveStart, r.span, p);
            }
        }
    }

    /// Impossible and always-true conditions of rules and exceptions.
    fn conditions(&mut self) {
        let mut todo: Vec<(&str, &ast::Ident, Span, &Expr, &Cond)> = Vec::new();
        for r in self.rules() {
            if let (Some(w), Some((_, c))) = (&r.when, self.compiled_rule(&r.id.name)) {
                todo.push(("rule", &r.id, r.span, w, &c.when));
            }
        }
        for x in self.exceptions_ast() {
            if let (Some(w), Some((_, c))) = (&x.when, self.compiled_exception(&x.id.name)) {
                todo.push(("exception", &x.id, x.span, w, &c.when));
            }
        }
        for (what, id, owner, expr, cond) in todo {
            self.condition(what, id, owner, expr, cond);
        }
    }

    fn condition(&mut self, what: &str, id: &ast::Ident, owner: Span, expr: &Expr, cond: &Cond) {
        let text = |s: Span| {
            self.sources
                .text(s)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        if !logic::satisfiable(&logic::Form::of(cond, false)) {
            // Narrow the contradiction down to the `and` parts that make it.
            let p = match (expr, cond) {
                (Expr::And(xs, _), Cond::And(cs)) if xs.len() == cs.len() => {
                    let mut keep: Vec<usize> = (0..cs.len()).collect();
                    let mut i = 0;
                    while i < keep.len() && keep.len() > 1 {
                        let trial: Vec<usize> = keep
                            .iter()
                            .copied()
                            .filter(|k| Some(k) != keep.get(i))
                            .collect();
                        let f = logic::Form::And(
                            trial
                                .iter()
                                .filter_map(|k| cs.get(*k))
                                .map(|c| logic::Form::of(c, false))
                                .collect(),
                        );
                        if logic::satisfiable(&f) {
                            i += 1;
                        } else {
                            keep = trial;
                        }
                    }
                    let parts: Vec<String> = keep
                        .iter()
                        .filter_map(|k| xs.get(*k))
                        .map(|x| format!("`{}`", text(x.span())))
                        .collect();
                    let at = keep
                        .first()
                        .and_then(|k| xs.get(*k))
                        .map_or(expr.span(), Expr::span);
                    let msg = if parts.len() == 1 {
                        format!(
                            "{what} `{}` can never apply: {} never holds",
                            id.name,
                            parts.join("")
                        )
                    } else {
                        format!(
                            "{what} `{}` can never apply: {} cannot {} hold",
                            id.name,
                            join_and(&parts),
                            if parts.len() == 2 { "both" } else { "all" }
                        )
                    };
                    problem(Lint::ImpossibleCondition, self.sources, at, msg)
                }
                _ => problem(
                    Lint::ImpossibleCondition,
                    self.sources,
                    expr.span(),
                    format!(
                        "{what} `{}` can never apply: its condition never holds",
                        id.name
                    ),
                ),
            };
            let p = p.label("contradictory").help(
                "the tests exclude each other for every shipment: correct the values, or the `and` that should be `or`",
            );
            self.push(Lint::ImpossibleCondition, owner, p);
            return;
        }
        let mut dead = Vec::new();
        dead_branches(expr, cond, &[], &mut dead);
        for e in dead {
            let p = problem(
                Lint::ImpossibleCondition,
                self.sources,
                e.span(),
                format!(
                    "in {what} `{}`, `{}` never holds with the rest of the condition",
                    id.name,
                    text(e.span())
                ),
            )
            .label("dead branch")
            .help("this alternative of the `or` can never make the condition true: correct its values, or remove it");
            self.push(Lint::ImpossibleCondition, owner, p);
        }
        if logic::valid(cond) {
            let p = problem(
                Lint::AlwaysTrue,
                self.sources,
                expr.span(),
                format!("the condition of {what} `{}` always holds", id.name),
            )
            .label("always true")
            .help("it applies to every shipment in its period and scope: is a test missing?");
            self.push(Lint::AlwaysTrue, owner, p);
            return;
        }
        if let (Expr::And(xs, _), Cond::And(cs)) = (expr, cond)
            && xs.len() == cs.len()
        {
            for (x, c) in xs.iter().zip(cs) {
                if logic::valid(c) {
                    let p = problem(
                        Lint::AlwaysTrue,
                        self.sources,
                        x.span(),
                        format!("`{}` always holds", text(x.span())),
                    )
                    .label("always true")
                    .help("it tests nothing: remove it, or write the test that was meant");
                    self.push(Lint::AlwaysTrue, owner, p);
                }
            }
        }
    }

    fn periods_before_lists(&mut self) {
        let preds: HashMap<&str, &ast::Predicate> = self
            .decls
            .iter()
            .filter_map(|d| match d {
                Decl::Predicate(p) => Some((p.name.name.as_str(), p)),
                _ => None,
            })
            .collect();
        let mut todo = Vec::new();
        for r in self.rules() {
            todo.push(("rule", &r.id, r.span, r.effective.as_ref(), r.when.as_ref()));
        }
        for x in self.exceptions_ast() {
            todo.push((
                "exception",
                &x.id,
                x.span,
                x.effective.as_ref(),
                x.when.as_ref(),
            ));
        }
        for (what, id, owner, eff, when) in todo {
            let (Some((until, until_span)), Some(when)) = (eff.and_then(|e| e.until), when) else {
                continue;
            };
            let mut names = Vec::new();
            lists_used(when, &preds, &mut HashSet::new(), &mut names);
            let mut seen = HashSet::new();
            for name in names {
                if !seen.insert(name.clone()) {
                    continue;
                }
                let Some(list) = self.rs.lists.iter().find(|l| l.name == name) else {
                    continue;
                };
                if let Some(as_of) = list.as_of
                    && until < as_of
                {
                    let p = problem(
                        Lint::PeriodBeforeList,
                        self.sources,
                        until_span,
                        format!(
                            "{what} `{}` is in force until {until}, but list `{name}` is as of {as_of}",
                            id.name
                        ),
                    )
                    .label("ends before the list's date")
                    .help(format!(
                        "the {what} is only ever evaluated with entries the list had later than its period: use the list as it was then, or say why it is the same"
                    ));
                    self.push(Lint::PeriodBeforeList, owner, p);
                }
            }
        }
    }

    fn shadowed_rules(&mut self) {
        let rs = self.rs;
        let excs_of: Vec<HashSet<usize>> = rs
            .exceptions_by_rule
            .iter()
            .map(|v| v.iter().copied().collect())
            .collect();
        let reads_id: Vec<bool> = rs
            .exceptions
            .iter()
            .map(|x| reads_rule_id(&x.when))
            .collect();
        let n = rs.rules.len();
        // A rule that can never apply implies anything: it is reported as impossible.
        // Each condition, and its negation with slots apart, built once for all pairs.
        let holds: Vec<logic::Form> = rs
            .rules
            .iter()
            .map(|r| logic::Form::of(&r.when, false))
            .collect();
        let fails: Vec<logic::Form> = rs
            .rules
            .iter()
            .map(|r| logic::Form::of(&r.when, true).shift_slots(rs.slots))
            .collect();
        let implies = |a: usize, b: usize| match (holds.get(a), fails.get(b)) {
            (Some(x), Some(y)) => {
                !logic::satisfiable(&logic::Form::And(vec![x.clone(), y.clone()]))
            }
            _ => false,
        };
        let possible: Vec<bool> = holds.iter().map(logic::satisfiable).collect();
        let mut reported = HashSet::new();
        for a in 0..n {
            for b in 0..n {
                let (Some(ra), Some(rb)) = (rs.rules.get(a), rs.rules.get(b)) else {
                    continue;
                };
                if a == b
                    || ra.regime != rb.regime
                    || rb.verdict < ra.verdict
                    || possible.get(a) != Some(&true)
                    || possible.get(b) != Some(&true)
                {
                    continue;
                }
                if !covers(rb.effective, ra.effective) {
                    continue;
                }
                let (Some(ea), Some(eb)) = (excs_of.get(a), excs_of.get(b)) else {
                    continue;
                };
                // An exception that relaxes `b` alone (or depends on which rule it relaxes)
                // can leave `a` as the only finding.
                if !eb.is_subset(ea) || eb.iter().any(|x| reads_id.get(*x) == Some(&true)) {
                    continue;
                }
                if !implies(a, b) {
                    continue;
                }
                // Two equivalent rules: the later one is the redundant one.
                let mutual = rb.verdict == ra.verdict
                    && ea == eb
                    && covers(ra.effective, rb.effective)
                    && implies(b, a);
                if mutual && a < b {
                    continue;
                }
                if !reported.insert(a) {
                    continue;
                }
                let Some(ast_a) = self.rules().find(|r| r.id.name == ra.id) else {
                    continue;
                };
                let loc = self.sources.location(rb.span);
                let p = problem(
                    Lint::ShadowedRule,
                    self.sources,
                    ast_a.id.span,
                    format!(
                        "rule `{}` is redundant: rule `{}` applies whenever it does, with the verdict `{}`",
                        ra.id, rb.id, rb.verdict
                    ),
                )
                .label("shadowed")
                .help(format!(
                    "rule `{}` is at {loc}, in force whenever this one is, and every exception to it relaxes this one too: remove one, or make the conditions differ",
                    rb.id
                ));
                self.push(Lint::ShadowedRule, ast_a.span, p);
            }
        }
    }

    fn exceptions(&mut self) {
        let rs = self.rs;
        let mut rules_of: Vec<Vec<usize>> = vec![Vec::new(); rs.exceptions.len()];
        for (r, xs) in rs.exceptions_by_rule.iter().enumerate() {
            for x in xs {
                if let Some(v) = rules_of.get_mut(*x) {
                    v.push(r);
                }
            }
        }
        for x in self.exceptions_ast() {
            let Some((i, cx)) = self.compiled_exception(&x.id.name) else {
                continue;
            };
            let relaxed = rules_of.get(i).map_or(&[][..], Vec::as_slice);
            if !relaxed.is_empty()
                && relaxed
                    .iter()
                    .filter_map(|r| rs.rules.get(*r))
                    .all(|r| !meet(r.effective, cx.effective))
            {
                let span = x.effective.as_ref().map_or(x.id.span, |e| e.span);
                let p = problem(
                    Lint::ExceptionNeverInForce,
                    self.sources,
                    span,
                    format!(
                        "exception `{}` is {}, a period in which no rule it relaxes is in force",
                        x.id.name,
                        cx.effective.describe()
                    ),
                )
                .label("disjoint period")
                .help("it can never apply: correct its dates or the rules it relaxes");
                self.push(Lint::ExceptionNeverInForce, x.span, p);
            }
        }
        // Pairs of exceptions of one rule that can both apply with different outcomes.
        let mut reported = HashSet::new();
        for (r, xs) in rs.exceptions_by_rule.iter().enumerate() {
            let Some(rule) = rs.rules.get(r) else {
                continue;
            };
            for (k, &i) in xs.iter().enumerate() {
                for &j in xs.iter().skip(k + 1) {
                    let (Some(a), Some(b)) = (rs.exceptions.get(i), rs.exceptions.get(j)) else {
                        continue;
                    };
                    if a.leaves == b.leaves || reported.contains(&(i, j)) {
                        continue;
                    }
                    let both = Period {
                        from: a.effective.from.max(b.effective.from),
                        until: match (a.effective.until, b.effective.until) {
                            (Some(x), Some(y)) => Some(x.min(y)),
                            (x, y) => x.or(y),
                        },
                    };
                    if !meet(both, a.effective)
                        || !meet(both, b.effective)
                        || !period_nonempty(both)
                        || !meet(both, rule.effective)
                        || !logic::overlap(&a.when, &b.when, rs.slots)
                    {
                        continue;
                    }
                    reported.insert((i, j));
                    let Some(xb) = self.exceptions_ast().find(|x| x.id.name == b.id) else {
                        continue;
                    };
                    let loc = self.sources.location(a.span);
                    let p = problem(
                        Lint::OverlappingExceptions,
                        self.sources,
                        xb.id.span,
                        format!(
                            "exceptions `{}` and `{}` can both apply to rule `{}`, and leave {} and {}",
                            a.id,
                            b.id,
                            rule.id,
                            leaves_text(a.leaves),
                            leaves_text(b.leaves)
                        ),
                    )
                    .label("overlaps")
                    .help(format!(
                        "`{}` is at {loc}; when both apply the least severe outcome wins and the conflict is reported: make their conditions exclusive, or suppress this with the reason both readings stand",
                        a.id
                    ));
                    self.push(Lint::OverlappingExceptions, xb.span, p);
                }
            }
        }
    }

    fn unused(&mut self) {
        let mut lists = HashSet::new();
        let mut calls = HashSet::new();
        for d in self.decls {
            let mut visit = |e: &Expr| names_in(e, &mut lists, &mut calls);
            match d {
                Decl::Regime(r) => {
                    if let Some(ast::Scope::When(e)) = &r.scope {
                        walk(e, &mut visit);
                    }
                }
                Decl::Rule(r) => r.when.iter().for_each(|e| walk(e, &mut visit)),
                Decl::Exception(x) => x.when.iter().for_each(|e| walk(e, &mut visit)),
                Decl::Predicate(p) => p.when.iter().for_each(|e| walk(e, &mut visit)),
                Decl::List(_) | Decl::Fact(_) => {}
            }
        }
        for d in self.decls {
            match d {
                Decl::List(l) if !lists.contains(&l.name.name) => {
                    let p = problem(
                        Lint::UnusedList,
                        self.sources,
                        l.name.span,
                        format!("list `{}` is not used", l.name.name),
                    )
                    .label("used by no condition")
                    .help("remove it, or use it in a rule: an unused list is often a test that was forgotten");
                    self.push(Lint::UnusedList, l.span, p);
                }
                Decl::Predicate(pr) if !calls.contains(&pr.name.name) => {
                    let p = problem(
                        Lint::UnusedPredicate,
                        self.sources,
                        pr.name.span,
                        format!("predicate `{}` is not used", pr.name.name),
                    )
                    .label("used by no condition")
                    .help("remove it, or call it where it was meant to apply");
                    self.push(Lint::UnusedPredicate, pr.span, p);
                }
                _ => {}
            }
        }
    }

    fn list_entries(&mut self) {
        let lists: Vec<&ast::ListDecl> = self
            .decls
            .iter()
            .filter_map(|d| match d {
                Decl::List(l) => Some(l),
                _ => None,
            })
            .collect();
        for l in lists {
            let Some(set) = self.rs.lists.iter().find(|s| s.name == l.name.name) else {
                continue;
            };
            if let Some((lits, _)) = &l.entries {
                let mut seen: HashMap<String, Span> = HashMap::new();
                for lit in lits {
                    let key = crate::lists::canonical_key(set.kind, &lit.text)
                        .unwrap_or_else(|_| lit.text.clone());
                    if let Some(first) = seen.get(&key) {
                        let loc = self.sources.location(*first);
                        let p = problem(
                            Lint::DuplicateListEntry,
                            self.sources,
                            lit.span,
                            format!("`{}` is listed twice in list `{}`", lit.text, l.name.name),
                        )
                        .label("listed again")
                        .help(format!("the first is at {loc}: remove one"));
                        self.push(Lint::DuplicateListEntry, l.span, p);
                    } else {
                        seen.insert(key.clone(), lit.span);
                    }
                    if let Some(why) = malformed(set.kind, &key) {
                        let p = problem(
                            Lint::MalformedListEntry,
                            self.sources,
                            lit.span,
                            format!("`{}` in list `{}` {why}", lit.text, l.name.name),
                        )
                        .label("unusual entry")
                        .help(malformed_help(set.kind));
                        self.push(Lint::MalformedListEntry, l.span, p);
                    }
                }
            } else {
                self.file_entries(l, set);
            }
        }
    }

    fn file_entries(&mut self, l: &ast::ListDecl, set: &compile::ListSet) {
        let mut seen: HashMap<String, Option<&EntryOrigin>> = HashMap::new();
        // An entity entry whose id no earlier entry has is an entity of its own, whatever
        // its name: the id index keeps the first entry of each id.
        let own_id: HashSet<usize> = if set.kind == ListKind::Entity {
            set.index.exact.values().copied().collect()
        } else {
            HashSet::new()
        };
        for (i, e) in set.entries.iter().enumerate() {
            let origin = e.origin.as_ref();
            let written_at = || origin.map(ToString::to_string).unwrap_or_default();
            // Entities are the same entry only when every cited column agrees too: OFAC
            // lists distinct persons under one name.
            let key = if set.kind == ListKind::Entity {
                format!("{}\u{0}{:?}", e.key, e.attrs)
            } else {
                e.key.clone()
            };
            if let Some(first) = seen.get(&key).filter(|_| !own_id.contains(&i)) {
                let here = origin.and_then(|o| self.data_location(o));
                let msg = format!("`{}` is listed twice in list `{}`", e.key, l.name.name);
                let first = first.map(ToString::to_string).unwrap_or_default();
                let help = format!("the first is at {first}: remove one");
                let p = match &here {
                    Some((file, s, t)) => level(
                        Lint::DuplicateListEntry,
                        Problem::in_file(Code::Lint(Lint::DuplicateListEntry), file, *s, *t, msg),
                    ),
                    None => problem(
                        Lint::DuplicateListEntry,
                        self.sources,
                        l.name.span,
                        format!("{msg} ({})", written_at()),
                    ),
                }
                .label("listed again")
                .help(help);
                self.push(Lint::DuplicateListEntry, l.span, p);
            } else {
                seen.entry(key).or_insert(origin);
            }
            if let Some(why) = malformed(set.kind, &e.key) {
                let here = origin.and_then(|o| self.data_location(o));
                // HS codes are shown dotted; the digits are what the file says.
                let shown = HsCode::parse(&e.key)
                    .ok()
                    .filter(|_| set.kind == ListKind::Hs)
                    .map_or_else(|| e.key.clone(), |h| h.digits().to_string());
                let msg = format!("`{shown}` in list `{}` {why}", l.name.name);
                let p = match &here {
                    Some((file, s, t)) => level(
                        Lint::MalformedListEntry,
                        Problem::in_file(Code::Lint(Lint::MalformedListEntry), file, *s, *t, msg),
                    ),
                    None => problem(
                        Lint::MalformedListEntry,
                        self.sources,
                        l.name.span,
                        format!("{msg} ({})", written_at()),
                    ),
                }
                .label("unusual entry")
                .help(malformed_help(set.kind));
                self.push(Lint::MalformedListEntry, l.span, p);
            }
        }
    }

    /// The data file and byte range of the line of an entry read from CSV.
    fn data_location(&self, origin: &EntryOrigin) -> Option<(&'a SourceFile, usize, usize)> {
        let Place::Line(line) = origin.place else {
            return None;
        };
        let line = usize::try_from(line).ok()?;
        let (_, file) = self
            .sources
            .files()
            .skip(self.rs.rule_files)
            .find(|(_, f)| *f.name == *origin.file)?;
        let start = if line <= 1 {
            0
        } else {
            file.text
                .match_indices('\n')
                .nth(line - 2)
                .map(|(i, _)| i + 1)?
        };
        let end = file
            .text
            .get(start..)
            .and_then(|t| t.find('\n'))
            .map_or(file.text.len(), |n| start + n);
        Some((file, start, end))
    }

    /// Invisible characters, and words mixing Latin with Cyrillic or Greek letters.
    fn unicode(&mut self, id: FileId, f: &SourceFile) {
        let owner = |at: usize| {
            self.decls
                .iter()
                .map(|d| decl_span(d))
                .find(|s| s.file == id && (s.start as usize) <= at && at < s.end as usize)
        };
        let mut out = Vec::new();
        let start = usize::from(f.text.starts_with('\u{FEFF}')) * 3;
        for (i, c) in f.text.char_indices().skip_while(|(i, _)| *i < start) {
            if let Some(what) = invisible(c) {
                out.push((
                    i,
                    Problem::in_file(
                        Code::Lint(Lint::SuspiciousUnicode),
                        f,
                        i,
                        i + c.len_utf8(),
                        format!("U+{:04X} is {what}", c as u32),
                    )
                    .label("invisible character")
                    .help("delete it; rule files are reviewed as they read")
                    .warning(),
                ));
            }
        }
        let (mut word_start, mut in_word) = (0, false);
        let mut scripts: Vec<Script> = Vec::new();
        for (i, c) in f
            .text
            .char_indices()
            .chain(std::iter::once((f.text.len(), ' ')))
        {
            if c.is_alphanumeric() {
                if !in_word {
                    word_start = i;
                    in_word = true;
                }
                if let Some(sc) = script(c)
                    && !scripts.contains(&sc)
                {
                    scripts.push(sc);
                }
            } else {
                if scripts.len() > 1 {
                    let word = f.text.get(word_start..i).unwrap_or("");
                    out.push((
                        word_start,
                        Problem::in_file(
                            Code::Lint(Lint::SuspiciousUnicode),
                            f,
                            word_start,
                            i,
                            format!("`{word}` mixes Latin with Cyrillic or Greek letters"),
                        )
                        .label("mixed scripts")
                        .help("letters that look alike are different characters: write the word in one script")
                        .warning(),
                    ));
                }
                scripts.clear();
                in_word = false;
            }
        }
        for (at, p) in out {
            let o = owner(at);
            self.found.push(Found {
                lint: Lint::SuspiciousUnicode,
                owner: o,
                problem: p,
            });
        }
    }
}

/// `a`, `b` and `c`.
fn join_and(parts: &[String]) -> String {
    match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => parts.concat(),
    }
}

/// Alternatives of an `or` that cannot hold together with the tests that must hold
/// beside them (`context`): such a branch never makes the condition true.
fn dead_branches<'e>(
    expr: &'e Expr,
    cond: &Cond,
    context: &[logic::Form],
    out: &mut Vec<&'e Expr>,
) {
    match (expr, cond) {
        (Expr::And(xs, _), Cond::And(cs)) if xs.len() == cs.len() => {
            for (i, (x, c)) in xs.iter().zip(cs).enumerate() {
                let mut inner: Vec<logic::Form> = context.to_vec();
                inner.extend(
                    cs.iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, c)| logic::Form::of(c, false)),
                );
                dead_branches(x, c, &inner, out);
            }
        }
        (Expr::Or(xs, _), Cond::Or(cs)) if xs.len() == cs.len() => {
            for (x, c) in xs.iter().zip(cs) {
                let mut all = context.to_vec();
                all.push(logic::Form::of(c, false));
                if logic::satisfiable(&logic::Form::And(all)) {
                    dead_branches(x, c, context, out);
                } else {
                    out.push(x);
                }
            }
        }
        _ => {}
    }
}

fn leaves_text(l: ast::Leaves) -> String {
    match l {
        ast::Leaves::Nothing => "nothing".into(),
        ast::Leaves::Verdict(v) => format!("`{v}`"),
    }
}

fn malformed_help(kind: ListKind) -> &'static str {
    match kind {
        ListKind::Country => {
            "check how the shipments this list is matched against write the country"
        }
        _ => "HS codes have 4, 6, 8 or 10 digits: check the code against the tariff",
    }
}

/// Why a valid entry of this kind is unlikely to be meant, if it is.
fn malformed(kind: ListKind, key: &str) -> Option<String> {
    if kind == ListKind::Hs
        && let Ok(h) = HsCode::parse(key)
        && h.digits().len() % 2 == 1
    {
        return Some(format!(
            "has {} digits, and HS codes have 4, 6, 8 or 10",
            h.digits().len()
        ));
    }
    if kind == ListKind::Country && key == "XK" {
        return Some(
            "is a user-assigned code (Kosovo), not an ISO 3166-1 alpha-2 code: shipments from sources that do not use it will not match"
                .into(),
        );
    }
    None
}

/// True when `outer` is in force on every day `inner` is.
fn covers(outer: Period, inner: Period) -> bool {
    let from_ok = match (outer.from, inner.from) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(o), Some(i)) => o <= i,
    };
    let until_ok = match (outer.until, inner.until) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(o), Some(i)) => o >= i,
    };
    from_ok && until_ok
}

/// True when two periods share a day.
fn meet(a: Period, b: Period) -> bool {
    let from: Option<Date> = a.from.max(b.from);
    let until = match (a.until, b.until) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    period_nonempty(Period { from, until })
}

fn period_nonempty(p: Period) -> bool {
    match (p.from, p.until) {
        (Some(f), Some(u)) => f <= u,
        _ => true,
    }
}

/// True when a condition reads `rule.id`: it may hold for one rule and not another.
fn reads_rule_id(c: &Cond) -> bool {
    fn value(v: &Value) -> bool {
        match v {
            Value::Fact(fp) => fp.root == Root::RuleId,
            Value::Const(_) | Value::Ownership { .. } => false,
            Value::Count { filter, .. } | Value::Sum { filter, .. } => {
                filter.as_deref().is_some_and(reads_rule_id)
            }
            Value::Shift { base, .. } => value(base),
        }
    }
    match c {
        Cond::Const(_) | Cond::Present { .. } | Cond::Truthy(_) => false,
        Cond::And(xs) | Cond::Or(xs) => xs.iter().any(reads_rule_id),
        Cond::Not(a) => reads_rule_id(a),
        Cond::Compare { lhs, rhs, .. } => value(lhs) || value(rhs),
        Cond::In { value: v, .. } | Cond::StartsWith { value: v, .. } => value(v),
        Cond::InFact { value: v, list, .. } => value(v) || list.root == Root::RuleId,
        Cond::Quant { body, .. } => reads_rule_id(body),
    }
}

/// Visits `e` and every condition inside it (quantifier bodies, `count`/`sum` filters).
fn walk(e: &Expr, f: &mut impl FnMut(&Expr)) {
    fn term(t: &Term, f: &mut impl FnMut(&Expr)) {
        match t {
            Term::Count {
                filter: Some(x), ..
            }
            | Term::Sum {
                filter: Some(x), ..
            } => walk(x, f),
            Term::Shift { base, .. } => term(base, f),
            _ => {}
        }
    }
    f(e);
    match e {
        Expr::And(xs, _) | Expr::Or(xs, _) => xs.iter().for_each(|x| walk(x, f)),
        Expr::Not(a, _) => walk(a, f),
        Expr::Quantified { body, .. } => walk(body, f),
        Expr::Compare(a, _, b, _) => {
            term(a, f);
            term(b, f);
        }
        Expr::In { term: t, .. } | Expr::StartsWith(t, _, _) => term(t, f),
        _ => {}
    }
}

/// List names and predicate names one expression (not its sub-expressions) mentions.
fn names_in(e: &Expr, lists: &mut HashSet<String>, calls: &mut HashSet<String>) {
    fn term(t: &Term, lists: &mut HashSet<String>) {
        match t {
            Term::Ownership { list, .. } => {
                lists.insert(list.name.clone());
            }
            Term::Shift { base, .. } => term(base, lists),
            _ => {}
        }
    }
    match e {
        Expr::In { term: t, set, .. } | Expr::StartsWith(t, set, _) => {
            if let SetRef::Named(p) = set
                && let [one] = p.segments.as_slice()
            {
                lists.insert(one.name.clone());
            }
            term(t, lists);
        }
        Expr::Compare(a, _, b, _) => {
            term(a, lists);
            term(b, lists);
        }
        Expr::Call(n, _, _) => {
            calls.insert(n.name.clone());
        }
        Expr::Path(p) => {
            if let [one] = p.segments.as_slice() {
                calls.insert(one.name.clone());
            }
        }
        _ => {}
    }
}

/// Lists a condition uses, through the predicates it calls.
fn lists_used(
    e: &Expr,
    preds: &HashMap<&str, &ast::Predicate>,
    visited: &mut HashSet<String>,
    out: &mut Vec<String>,
) {
    let mut lists = HashSet::new();
    let mut calls = HashSet::new();
    walk(e, &mut |x| names_in(x, &mut lists, &mut calls));
    let mut lists: Vec<String> = lists.into_iter().collect();
    lists.sort();
    out.extend(lists);
    let mut calls: Vec<String> = calls.into_iter().collect();
    calls.sort();
    for c in calls {
        if let Some(p) = preds.get(c.as_str())
            && visited.insert(c.clone())
            && let Some(w) = &p.when
        {
            lists_used(w, preds, visited, out);
        }
    }
}

/// Characters that change how text is displayed without being seen: bidirectional
/// controls (the "Trojan Source" attack) and zero-width characters.
fn invisible(c: char) -> Option<&'static str> {
    match c {
        '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{061C}' => Some(
            "a bidirectional control character, which can make the text read differently from how it is evaluated",
        ),
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => {
            Some("an invisible character, which makes two names that look the same differ")
        }
        _ => None,
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Script {
    Latin,
    Cyrillic,
    Greek,
}

fn script(c: char) -> Option<Script> {
    match c {
        'A'..='Z' | 'a'..='z' | '\u{00C0}'..='\u{024F}' => Some(Script::Latin),
        '\u{0400}'..='\u{04FF}' => Some(Script::Cyrillic),
        '\u{0370}'..='\u{03FF}' => Some(Script::Greek),
        _ => None,
    }
}

// ---- suppressions ----------------------------------------------------------

/// One `# rulecheck: allow(...) -- reason` comment.
struct Suppression {
    /// The whole comment.
    span: Span,
    /// Lints named, with where each is written.
    lints: Vec<(Lint, Span)>,
    /// The declaration it is attached to.
    target: Option<Span>,
    /// Which of `lints` silenced something.
    used: Vec<bool>,
}

/// Comments of a rule file: byte ranges from `#` to the end of the line, outside strings.
fn comments(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut in_string = false;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => in_string = !in_string,
            '\\' if in_string => {
                chars.next();
            }
            '\n' => in_string = false,
            '#' if !in_string => {
                let end = text
                    .get(i..)
                    .and_then(|t| t.find('\n'))
                    .map_or(text.len(), |n| i + n);
                out.push((i, end));
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Reads the suppressions of every rule file; problems with the comments themselves
/// go to `bad`.
fn suppressions(
    sources: &SourceMap,
    rule_files: usize,
    decls: &[&Decl],
    bad: &mut Vec<Problem>,
) -> Vec<Suppression> {
    let mut out = Vec::new();
    for (id, f) in sources.files().take(rule_files) {
        let text = &*f.text;
        let mut spans: Vec<Span> = decls
            .iter()
            .map(|d| decl_span(d))
            .filter(|s| s.file == id)
            .collect();
        spans.sort_by_key(|s| s.start);
        for (start, end) in comments(text) {
            let raw = text.get(start + 1..end).unwrap_or("");
            // Offsets of the names are counted back from the end of the text, without a
            // trailing `\r` or blanks.
            let body_end = start + 1 + raw.trim_end().len();
            let body = raw.trim();
            let Some(rest) = body.strip_prefix(SUPPRESSION_PREFIX) else {
                continue;
            };
            let span = Span::new(id, start, end);
            let bad_syntax = |bad: &mut Vec<Problem>, what: &str| {
                bad.push(
                    problem(
                        Lint::InvalidSuppression,
                        sources,
                        span,
                        format!("malformed suppression: {what}"),
                    )
                    .label("not a suppression")
                    .help("write `# rulecheck: allow(<lint>, ...) -- <reason>`"),
                );
            };
            let rest = rest.trim_start();
            let Some(args) = rest.strip_prefix("allow(") else {
                bad_syntax(bad, "expected `allow(`");
                continue;
            };
            let Some(close) = args.find(')') else {
                bad_syntax(bad, "`allow(` is not closed");
                continue;
            };
            let names_at = body_end - rest.len() + "allow(".len();
            let (names, after) = (
                args.get(..close).unwrap_or(""),
                args.get(close + 1..).unwrap_or(""),
            );
            let after = after.trim();
            let reason = after.strip_prefix("--").map(str::trim);
            match reason {
                Some(r) if !r.is_empty() => {}
                _ if !after.is_empty() && reason.is_none() => {
                    bad_syntax(bad, "the reason follows `--`");
                    continue;
                }
                _ => {
                    bad.push(
                        problem(Lint::InvalidSuppression, sources, span, "suppression without a reason")
                            .label("why?")
                            .help("say why the lint does not apply here: `# rulecheck: allow(<lint>) -- <reason>`"),
                    );
                    continue;
                }
            }
            let mut lints = Vec::new();
            let mut offset = 0;
            for part in names.split(',') {
                let name = part.trim();
                let lead = part.len() - part.trim_start().len();
                let at = Span::new(
                    id,
                    names_at + offset + lead,
                    names_at + offset + lead + name.len(),
                );
                offset += part.len() + 1;
                match Lint::from_name(name) {
                    Some(l) if l.suppressible() => lints.push((l, at)),
                    Some(l) => bad.push(
                        problem(
                            Lint::InvalidSuppression,
                            sources,
                            at,
                            format!("`{}` cannot be suppressed", l.name()),
                        )
                        .label("not suppressible")
                        .help("fix the suppression comments instead"),
                    ),
                    None => {
                        let kebab = name.replace('-', "_");
                        let suggestion = if Lint::from_name(&kebab).is_some() {
                            Some(kebab)
                        } else {
                            did_you_mean(name, Lint::ALL.iter().map(|l| l.name()))
                        };
                        bad.push(
                            problem(
                                Lint::UnknownLint,
                                sources,
                                at,
                                format!("no lint named `{name}`"),
                            )
                            .label("unknown lint")
                            .help(suggestion.map_or_else(
                                || "the lints are listed in docs/lints/README.md".to_string(),
                                |m| format!("did you mean `{m}`?"),
                            )),
                        );
                    }
                }
            }
            let target = attach(text, start, &spans);
            let used = vec![false; lints.len()];
            out.push(Suppression {
                span,
                lints,
                target,
                used,
            });
        }
    }
    out
}

/// The declaration a comment at `at` is attached to: the one whose first line it is on,
/// or the next one when only comment lines lie between.
fn attach(text: &str, at: usize, spans: &[Span]) -> Option<Span> {
    let line_of = |o: usize| text.get(..o).map_or(0, |t| t.matches('\n').count());
    let here = line_of(at);
    if let Some(s) = spans
        .iter()
        .find(|s| line_of(s.start as usize) == here && (s.start as usize) < at)
    {
        return Some(*s);
    }
    let next = spans.iter().find(|s| s.start as usize > at)?;
    let between = text.get(at..next.start as usize)?;
    // The comment's own line, then only comment lines, then the declaration's line.
    let mut lines = between.split('\n');
    lines.next();
    let last = lines.next_back();
    if lines.all(|l| l.trim_start().starts_with('#')) && last.is_some_and(|l| l.trim().is_empty()) {
        Some(*next)
    } else {
        None
    }
}

fn suppress(
    sources: &SourceMap,
    rule_files: usize,
    decls: &[&Decl],
    found: Vec<Found>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut sups = suppressions(sources, rule_files, decls, &mut out);
    for f in found {
        let mut silenced = false;
        if let Some(owner) = f.owner {
            for s in sups.iter_mut().filter(|s| s.target == Some(owner)) {
                for (k, (l, _)) in s.lints.iter().enumerate() {
                    if *l == f.lint {
                        silenced = true;
                        if let Some(u) = s.used.get_mut(k) {
                            *u = true;
                        }
                    }
                }
            }
        }
        if !silenced {
            out.push(f.problem);
        }
    }
    for s in &sups {
        if s.target.is_none() {
            out.push(
                problem(
                    Lint::UnusedSuppression,
                    sources,
                    s.span,
                    "this suppression is attached to no declaration",
                )
                .label("applies to nothing")
                .help("put it on the line before the declaration, or on its first line"),
            );
            continue;
        }
        for ((l, at), used) in s.lints.iter().zip(&s.used) {
            if !used {
                out.push(
                    problem(
                        Lint::UnusedSuppression,
                        sources,
                        *at,
                        format!("`{}` is allowed here but does not fire", l.name()),
                    )
                    .label("nothing to silence")
                    .help("remove it from the suppression"),
                );
            }
        }
    }
    out
}

/// Severity of a lint's problems.
#[must_use]
pub fn severity(lint: Lint) -> Severity {
    match lint.default_level() {
        Level::Error => Severity::Error,
        Level::Warning => Severity::Warning,
    }
}
