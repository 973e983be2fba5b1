//! The rule book: a readable, linked description of a rule set for reviewers and
//! auditors, in Markdown or as one self-contained HTML page.
//!
//! The book is built once as a small document model (headings, fields, nested lists of
//! inline text, code and links) from the syntax trees and the compiled rule set, and
//! then written out by one renderer per format, so that both formats say the same and
//! every link points at an anchor the model itself made. Conditions are shown from the
//! syntax, not from the compiled form, which has predicates inlined.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::ast::{
    self, CompareOp, Decl, Expr, Leaves, LiteralKind, Quantifier, Scope, SetRef, Term, TimeUnit,
};
use crate::compile::{ListSet, Period, RuleSet, Segment};
use crate::load::{Loaded, Origin};
use crate::source::{SourceMap, Span};

/// Output formats of `rulecheck doc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// GitHub-flavoured Markdown with explicit anchors.
    Md,
    /// One self-contained HTML5 page with a table of contents beside the text.
    Html,
}

/// Lists with at most this many entries show them in the book.
const SHOWN_ENTRIES: usize = 40;

/// Writes the rule book of a rule set loaded from `origin`.
#[must_use]
pub fn render(loaded: &Loaded, origin: &Origin, format: Format) -> String {
    let book = build(loaded, origin);
    match format {
        Format::Md => markdown(&book),
        Format::Html => html(&book),
    }
}

// ---------------------------------------------------------------------------------------
// The document model.

/// A piece of running text.
#[derive(Debug, Clone)]
enum Inline {
    Text(String),
    Code(String),
    Strong(String),
    /// A verdict or outcome keyword, shown as a badge in HTML.
    Badge(String),
    /// A link to an anchor of the book.
    Link(Vec<Inline>, String),
}

type Line = Vec<Inline>;

/// A bullet with nested bullets.
#[derive(Debug, Clone, Default)]
struct Item {
    line: Line,
    children: Vec<Item>,
}

impl Item {
    fn leaf(line: Line) -> Self {
        Item {
            line,
            children: Vec::new(),
        }
    }
}

#[derive(Debug)]
enum Value {
    Line(Line),
    Items(Vec<Item>),
}

#[derive(Debug)]
enum Block {
    Heading {
        level: u8,
        id: String,
        text: Line,
    },
    Para(Line),
    Fields(Vec<(String, Value)>),
    Table {
        head: Vec<String>,
        rows: Vec<Vec<Line>>,
    },
}

#[derive(Debug, Clone)]
struct TocNode {
    id: String,
    label: Line,
    children: Vec<TocNode>,
}

impl TocNode {
    /// An entry without children, labelled with a name in code.
    fn leaf(id: String, name: impl Into<String>) -> Self {
        TocNode {
            id,
            label: vec![code(name)],
            children: Vec::new(),
        }
    }
}

#[derive(Debug)]
struct Book {
    title: String,
    intro: Vec<Block>,
    toc: Vec<TocNode>,
    body: Vec<Block>,
}

fn text(s: impl Into<String>) -> Inline {
    Inline::Text(s.into())
}

fn code(s: impl Into<String>) -> Inline {
    Inline::Code(s.into())
}

fn link(label: Line, to: String) -> Inline {
    Inline::Link(label, to)
}

/// Anchor ids: the kind, then the name; names are `[a-z0-9_.]`, anything else is replaced
/// so that an id is always a valid fragment.
fn anchor(kind: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{kind}-{clean}")
}

// ---------------------------------------------------------------------------------------
// Building the book.

/// What a condition refers to by name.
#[derive(Debug, Default, Clone)]
struct Refs {
    lists: BTreeSet<String>,
    predicates: BTreeSet<String>,
}

/// Something that uses lists and predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum User<'a> {
    Regime(&'a str),
    Rule(&'a str),
    Exception(&'a str),
    Predicate(&'a str),
}

impl User<'_> {
    fn link(self) -> Inline {
        match self {
            User::Regime(n) => link(vec![code(n)], anchor("regime", n)),
            User::Rule(n) => link(vec![code(n)], anchor("rule", n)),
            User::Exception(n) => link(vec![code(n)], anchor("exception", n)),
            User::Predicate(n) => link(vec![code(n)], anchor("predicate", n)),
        }
    }
}

struct Cx<'a> {
    rs: &'a RuleSet,
    sources: &'a SourceMap,
    regimes: Vec<&'a ast::Regime>,
    rules: Vec<&'a ast::Rule>,
    exceptions: Vec<&'a ast::Exception>,
    lists: Vec<&'a ast::ListDecl>,
    predicates: Vec<&'a ast::Predicate>,
    facts: Vec<&'a ast::FactDecl>,
    list_sets: BTreeMap<&'a str, &'a ListSet>,
    predicate_by_name: BTreeMap<&'a str, &'a ast::Predicate>,
    /// Lists and predicates each predicate names itself.
    predicate_refs: BTreeMap<&'a str, Refs>,
}

fn build(loaded: &Loaded, origin: &Origin) -> Book {
    let rs = &loaded.rules;
    let decls = loaded.files.iter().flat_map(|f| &f.decls);
    let mut cx = Cx {
        rs,
        sources: &rs.sources,
        regimes: Vec::new(),
        rules: Vec::new(),
        exceptions: Vec::new(),
        lists: Vec::new(),
        predicates: Vec::new(),
        facts: Vec::new(),
        list_sets: rs
            .lists
            .iter()
            .filter(|l| !l.inline)
            .map(|l| (l.name.as_str(), &**l))
            .collect(),
        predicate_by_name: BTreeMap::new(),
        predicate_refs: BTreeMap::new(),
    };
    for d in decls {
        match d {
            Decl::Regime(r) => cx.regimes.push(r),
            Decl::Rule(r) => cx.rules.push(r),
            Decl::Exception(x) => cx.exceptions.push(x),
            Decl::List(l) => cx.lists.push(l),
            Decl::Predicate(p) => cx.predicates.push(p),
            Decl::Fact(f) => cx.facts.push(f),
        }
    }
    cx.predicate_by_name = cx
        .predicates
        .iter()
        .map(|p| (p.name.name.as_str(), *p))
        .collect();
    let mut predicate_refs = BTreeMap::new();
    for p in &cx.predicates {
        let mut r = Refs::default();
        if let Some(w) = &p.when {
            cx.refs(w, &mut r);
        }
        predicate_refs.insert(p.name.name.as_str(), r);
    }
    cx.predicate_refs = predicate_refs;
    cx.book(origin)
}

impl<'a> Cx<'a> {
    /// The "Declared in" field: the file and line of a declaration.
    fn declared_in(&self, fields: &mut Vec<(String, Value)>, span: Span) {
        fields.push((
            "Declared in".into(),
            Value::Line(vec![code(self.location(span))]),
        ));
    }

    fn location(&self, span: Span) -> String {
        let l = self.sources.location(span);
        format!("{}:{}", l.file, l.line)
    }

    fn is_list(&self, name: &str) -> bool {
        self.list_sets.contains_key(name)
    }

    fn is_predicate(&self, name: &str) -> bool {
        self.predicate_by_name.contains_key(name)
    }

    // --- references -----------------------------------------------------------------

    fn refs(&self, e: &Expr, out: &mut Refs) {
        match e {
            Expr::And(xs, _) | Expr::Or(xs, _) => xs.iter().for_each(|x| self.refs(x, out)),
            Expr::Not(x, _) => self.refs(x, out),
            Expr::Bool(..) | Expr::Presence { .. } => {}
            Expr::Compare(l, _, r, _) => {
                self.term_refs(l, out);
                self.term_refs(r, out);
            }
            Expr::In { term, set, .. } | Expr::StartsWith(term, set, _) => {
                self.term_refs(term, out);
                if let SetRef::Named(p) = set
                    && let [one] = p.segments.as_slice()
                    && self.is_list(&one.name)
                {
                    out.lists.insert(one.name.clone());
                }
            }
            Expr::Quantified { body, .. } => self.refs(body, out),
            Expr::Call(name, _, _) => {
                out.predicates.insert(name.name.clone());
            }
            Expr::Path(p) => {
                if let [one] = p.segments.as_slice()
                    && self.is_predicate(&one.name)
                {
                    out.predicates.insert(one.name.clone());
                }
            }
        }
    }

    fn term_refs(&self, t: &Term, out: &mut Refs) {
        match t {
            Term::Path(_) | Term::Literal(_) => {}
            Term::Ownership { list, .. } => {
                out.lists.insert(list.name.clone());
            }
            Term::Count { filter, .. } | Term::Sum { filter, .. } => {
                if let Some(f) = filter {
                    self.refs(f, out);
                }
            }
            Term::Shift { base, .. } => self.term_refs(base, out),
        }
    }

    /// Everything a condition uses, through predicates too: the lists, each with the
    /// predicates it is reached through (empty when named directly), and the predicates.
    fn closure(&self, e: Option<&Expr>) -> (BTreeMap<String, BTreeSet<String>>, BTreeSet<String>) {
        let mut direct = Refs::default();
        if let Some(e) = e {
            self.refs(e, &mut direct);
        }
        let mut lists: BTreeMap<String, BTreeSet<String>> = direct
            .lists
            .iter()
            .map(|l| (l.clone(), BTreeSet::new()))
            .collect();
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = direct.predicates.iter().cloned().collect();
        while let Some(p) = todo.pop() {
            if !seen.insert(p.clone()) {
                continue;
            }
            if let Some(r) = self.predicate_refs.get(p.as_str()) {
                for l in &r.lists {
                    let through = lists.entry(l.clone()).or_default();
                    if !direct.lists.contains(l) {
                        through.insert(p.clone());
                    }
                }
                todo.extend(r.predicates.iter().cloned());
            }
        }
        (lists, seen)
    }

    // --- conditions in plain form ---------------------------------------------------

    fn cond(&self, e: &Expr) -> Item {
        match e {
            Expr::And(xs, _) => self.group("all of:", xs),
            Expr::Or(xs, _) => self.group("any of:", xs),
            Expr::Not(x, _) => self.negated(x),
            Expr::Bool(b, _) => Item::leaf(vec![text(if *b {
                "always (true)"
            } else {
                "never (false)"
            })]),
            Expr::Compare(l, op, r, _) => Item::leaf(self.compare(l, *op, r)),
            Expr::In {
                term, negated, set, ..
            } => Item::leaf(self.membership(term, *negated, set)),
            Expr::StartsWith(term, set, _) => {
                let mut line = self.term(term);
                line.push(text(" starts with "));
                match set {
                    SetRef::Named(p) => {
                        line.push(text("an entry of "));
                        line.extend(self.set_name(p));
                    }
                    SetRef::Inline(lits, _) => {
                        line.push(text("one of "));
                        line.extend(literals(lits));
                    }
                }
                Item::leaf(line)
            }
            Expr::Presence { path, missing, .. } => Item::leaf(vec![
                code(path.text()),
                text(if *missing {
                    " is missing"
                } else {
                    " is present"
                }),
            ]),
            Expr::Quantified {
                quantifier,
                var,
                collection,
                body,
                ..
            } => {
                let (before, after) = match quantifier {
                    Quantifier::Any => ("some ", " where "),
                    Quantifier::All => ("every ", " satisfies "),
                    Quantifier::None => ("no ", " where "),
                };
                self.quantified(before, &var.name, collection, after, body)
            }
            Expr::Call(name, args, _) => Item::leaf(self.call(&name.name, args)),
            Expr::Path(p) => match p.segments.as_slice() {
                [one] if self.is_predicate(&one.name) => Item::leaf(self.call(&one.name, &[])),
                _ => Item::leaf(vec![code(p.text()), text(" is true")]),
            },
        }
    }

    fn group(&self, head: &str, xs: &[Expr]) -> Item {
        Item {
            line: vec![text(head)],
            children: xs.iter().map(|x| self.cond(x)).collect(),
        }
    }

    fn quantified(
        &self,
        before: &str,
        var: &str,
        collection: &ast::Path,
        after: &str,
        body: &Expr,
    ) -> Item {
        let inner = self.cond(body);
        let mut line = vec![
            text(before),
            code(var),
            text(" in "),
            code(collection.text()),
            text(after),
        ];
        line.extend(inner.line);
        Item {
            line,
            children: inner.children,
        }
    }

    /// `not X`, said the positive way where the language has a word for it.
    fn negated(&self, x: &Expr) -> Item {
        match x {
            Expr::Or(xs, _) => self.group("none of:", xs),
            Expr::And(xs, _) => self.group("not all of:", xs),
            Expr::Not(inner, _) => self.cond(inner),
            Expr::Compare(l, op, r, _) => Item::leaf(self.compare(l, op.negate(), r)),
            Expr::In {
                term, negated, set, ..
            } => Item::leaf(self.membership(term, !negated, set)),
            Expr::Presence { path, missing, .. } => Item::leaf(vec![
                code(path.text()),
                text(if *missing {
                    " is present"
                } else {
                    " is missing"
                }),
            ]),
            Expr::Quantified {
                quantifier: Quantifier::Any,
                var,
                collection,
                body,
                ..
            } => self.quantified("no ", &var.name, collection, " where ", body),
            Expr::Quantified {
                quantifier: Quantifier::None,
                var,
                collection,
                body,
                ..
            } => self.quantified("some ", &var.name, collection, " where ", body),
            Expr::Path(p) if !(p.segments.len() == 1 && self.is_predicate(&p.text())) => {
                Item::leaf(vec![code(p.text()), text(" is not true")])
            }
            other => {
                let inner = self.cond(other);
                let mut line = vec![text("not ")];
                line.extend(inner.line);
                Item {
                    line,
                    children: inner.children,
                }
            }
        }
    }

    fn call(&self, name: &str, args: &[ast::Path]) -> Line {
        let mut line = vec![if self.is_predicate(name) {
            link(vec![code(name)], anchor("predicate", name))
        } else {
            code(name)
        }];
        if !args.is_empty() {
            line.push(text("("));
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    line.push(text(", "));
                }
                line.push(code(a.text()));
            }
            line.push(text(")"));
        }
        if let Some(t) = self
            .predicate_by_name
            .get(name)
            .and_then(|p| p.title.as_ref())
        {
            line.push(text(format!(" — {}", t.value)));
        }
        line
    }

    fn compare(&self, l: &Term, op: CompareOp, r: &Term) -> Line {
        // `before` and `<` are one operator; the words read better where they were written.
        let between = Span {
            file: l.span().file,
            start: l.span().end,
            end: r.span().start.max(l.span().end),
        };
        let dates = self.sources.text(between).chars().any(char::is_alphabetic);
        let word = match (op, dates) {
            (CompareOp::Eq, _) => "is",
            (CompareOp::Ne, _) => "is not",
            (CompareOp::Lt, true) => "is before",
            (CompareOp::Le, true) => "is on or before",
            (CompareOp::Gt, true) => "is after",
            (CompareOp::Ge, true) => "is on or after",
            (CompareOp::Lt, false) => "<",
            (CompareOp::Le, false) => "≤",
            (CompareOp::Gt, false) => ">",
            (CompareOp::Ge, false) => "≥",
        };
        let mut line = self.term(l);
        line.push(text(format!(" {word} ")));
        line.extend(self.term(r));
        line
    }

    fn membership(&self, term: &Term, negated: bool, set: &SetRef) -> Line {
        let mut line = self.term(term);
        let not = if negated { " not" } else { "" };
        match set {
            SetRef::Named(p) => {
                let kind = match p.segments.as_slice() {
                    [one] => self.list_sets.get(one.name.as_str()).map(|l| l.kind),
                    _ => None,
                };
                let word = match kind {
                    Some(crate::compile::ListKind::Entity) => "on",
                    Some(crate::compile::ListKind::Hs) => "covered by",
                    _ => "one of",
                };
                line.push(text(format!(" is{not} {word} ")));
                line.extend(self.set_name(p));
            }
            SetRef::Inline(lits, _) => {
                line.push(text(format!(" is{not} one of ")));
                line.extend(literals(lits));
            }
        }
        line
    }

    fn set_name(&self, p: &ast::Path) -> Line {
        match p.segments.as_slice() {
            [one] if self.is_list(&one.name) => vec![
                text("list "),
                link(vec![code(one.name.clone())], anchor("list", &one.name)),
            ],
            _ => vec![code(p.text())],
        }
    }

    fn term(&self, t: &Term) -> Line {
        match t {
            Term::Path(p) => vec![code(p.text())],
            Term::Literal(l) => vec![literal(l)],
            Term::Ownership { party, list, .. } => vec![
                text("the share of "),
                code(party.text()),
                text(" owned by persons on list "),
                link(vec![code(list.name.clone())], anchor("list", &list.name)),
            ],
            Term::Count {
                var,
                collection,
                filter,
                ..
            } => {
                let mut line = vec![
                    text("the number of "),
                    code(var.name.clone()),
                    text(" in "),
                    code(collection.text()),
                ];
                self.filter(filter.as_deref(), &mut line);
                line
            }
            Term::Sum {
                value,
                var,
                collection,
                filter,
                ..
            } => {
                let mut line = vec![
                    text("the total of "),
                    code(value.text()),
                    text(" over "),
                    code(var.name.clone()),
                    text(" in "),
                    code(collection.text()),
                ];
                self.filter(filter.as_deref(), &mut line);
                line
            }
            Term::Shift {
                base, amount, unit, ..
            } => {
                let mut line = self.term(base);
                let unit = match (unit, amount.unsigned_abs() == 1) {
                    (TimeUnit::Days, true) => "day",
                    (TimeUnit::Days, false) => "days",
                    (TimeUnit::Months, true) => "month",
                    (TimeUnit::Months, false) => "months",
                    (TimeUnit::Years, true) => "year",
                    (TimeUnit::Years, false) => "years",
                };
                let sign = if *amount < 0 { '-' } else { '+' };
                line.push(text(format!(" {sign} {} {unit}", amount.unsigned_abs())));
                line
            }
        }
    }

    /// A condition inside a value (`count ... where`) is shown on one line.
    fn filter(&self, f: Option<&Expr>, line: &mut Line) {
        if let Some(f) = f {
            line.push(text(" where "));
            flatten(&self.cond(f), line);
        }
    }

    // --- sections -------------------------------------------------------------------

    fn book(&self, origin: &Origin) -> Book {
        let mut toc = Vec::new();
        let mut body = Vec::new();
        self.regimes_section(&mut toc, &mut body);
        self.exceptions_section(&mut toc, &mut body);
        self.lists_section(origin, &mut toc, &mut body);
        self.predicates_section(&mut toc, &mut body);
        self.facts_section(&mut toc, &mut body);
        Book {
            title: "Rule book".into(),
            intro: self.intro(origin),
            toc,
            body,
        }
    }

    fn intro(&self, origin: &Origin) -> Vec<Block> {
        let rs = self.rs;
        let as_of = rs.lists.iter().filter_map(|l| l.as_of).max();
        let from = match origin {
            Origin::Bundled => text("the rules bundled with rulecheck"),
            Origin::Disk(p) => code(p.display().to_string()),
            Origin::Memory(_) => text("rule files given in memory"),
        };
        let files = self.rs.sources.files().filter(|(_, f)| {
            std::path::Path::new(&f.name)
                .extension()
                .is_some_and(|e| e == crate::load::RULE_EXTENSION)
        });
        let mut fields = vec![(
            "Rules from".to_string(),
            Value::Line(vec![
                from,
                text(match files.count() {
                    1 => " (1 rule file)".to_string(),
                    n => format!(" ({n} rule files)"),
                }),
            ]),
        )];
        if !rs.digest.is_empty() {
            fields.push(("Digest".into(), Value::Line(vec![code(rs.digest.clone())])));
        }
        if let Some(d) = as_of {
            fields.push((
                "Current as of".into(),
                Value::Line(vec![
                    Inline::Strong(d.to_string()),
                    text(" (the latest date a list is current as of)"),
                ]),
            ));
        }
        let n =
            |k: usize, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
        let counts = [
            n(self.regimes.len(), "regime", "regimes"),
            n(self.rules.len(), "rule", "rules"),
            n(self.exceptions.len(), "exception", "exceptions"),
            n(self.lists.len(), "list", "lists"),
            n(self.predicates.len(), "predicate", "predicates"),
            n(self.facts.len(), "declared fact", "declared facts"),
        ];
        fields.push((
            "Contains".into(),
            Value::Line(vec![text(counts.join(", "))]),
        ));
        let mut rows = Vec::new();
        for v in [
            crate::types::Verdict::Prohibited,
            crate::types::Verdict::LicenseRequired,
            crate::types::Verdict::Review,
        ] {
            let k = self
                .rules
                .iter()
                .filter(|r| r.verdict.is_some_and(|(x, _)| x == v))
                .count();
            rows.push(vec![
                vec![Inline::Badge(v.as_str().into())],
                vec![text(k.to_string())],
            ]);
        }
        vec![
            Block::Para(vec![text(
                "Every regime with its rules, the exceptions that relax them, and the lists and \
                 predicates they use, as the rule files state them. Conditions are shown in \
                 plain form; a missing fact never makes a shipment clear.",
            )]),
            Block::Fields(fields),
            Block::Table {
                head: vec!["verdict".into(), "rules".into()],
                rows,
            },
        ]
    }

    fn regimes_section(&self, toc: &mut Vec<TocNode>, body: &mut Vec<Block>) {
        let mut node = section(body, "regimes", "Regimes");
        for g in &self.regimes {
            let name = g.name.name.as_str();
            let id = anchor("regime", name);
            body.push(Block::Heading {
                level: 3,
                id: id.clone(),
                text: titled(name, g.title.as_ref()),
            });
            let mut fields = vec![("Name".to_string(), Value::Line(vec![code(name)]))];
            if let Some(a) = &g.authority {
                fields.push(("Authority".into(), Value::Line(vec![text(&a.value)])));
            }
            match &g.scope {
                Some(Scope::Everyone(_)) | None => fields.push((
                    "Binds".into(),
                    Value::Line(vec![text("everyone (every shipment)")]),
                )),
                Some(Scope::When(e)) => fields.push((
                    "Binds shipments where".into(),
                    Value::Items(vec![self.cond(e)]),
                )),
            }
            notes(&mut fields, &g.notes);
            let rules: Vec<&&ast::Rule> = self
                .rules
                .iter()
                .filter(|r| r.regime.as_ref().is_some_and(|x| x.name == name))
                .collect();
            fields.push((
                "Rules".into(),
                if rules.is_empty() {
                    Value::Line(vec![text("none")])
                } else {
                    Value::Items(rules.iter().map(|r| Item::leaf(rule_link(r))).collect())
                },
            ));
            self.declared_in(&mut fields, g.name.span);
            body.push(Block::Fields(fields));
            let mut children = Vec::new();
            for r in rules {
                self.rule(r, body);
                children.push(TocNode::leaf(anchor("rule", &r.id.name), r.id.name.clone()));
            }
            node.children.push(TocNode {
                id,
                label: vec![code(name)],
                children,
            });
        }
        toc.push(node);
    }

    fn rule(&self, r: &ast::Rule, body: &mut Vec<Block>) {
        let id = r.id.name.as_str();
        body.push(Block::Heading {
            level: 4,
            id: anchor("rule", id),
            text: titled(id, r.title.as_ref()),
        });
        let mut fields = vec![("Id".to_string(), Value::Line(vec![code(id)]))];
        if let Some(g) = &r.regime {
            fields.push((
                "Regime".into(),
                Value::Line(vec![link(
                    vec![code(g.name.clone())],
                    anchor("regime", &g.name),
                )]),
            ));
        }
        citation(&mut fields, r.citation.as_ref());
        fields.push((
            "Effective".into(),
            Value::Line(vec![text(period(r.effective.as_ref()).describe())]),
        ));
        if let Some((v, _)) = r.verdict {
            fields.push((
                "Verdict".into(),
                Value::Line(vec![Inline::Badge(v.as_str().into())]),
            ));
        }
        if let Some(w) = &r.when {
            fields.push(("Applies when".into(), Value::Items(vec![self.cond(w)])));
        }
        let compiled = self.rs.rules.iter().position(|c| c.id == id);
        if r.message.is_none() {
            fields.push((
                "Message".into(),
                Value::Line(vec![text("none: a finding shows the title")]),
            ));
        } else if let Some(c) = compiled.and_then(|i| self.rs.rules.get(i)) {
            let mut line = Vec::new();
            for s in &c.message {
                match s {
                    Segment::Text(t) => line.push(text(t.clone())),
                    Segment::Fact(f) => line.push(code(format!("{{{}}}", f.names.join(".")))),
                }
            }
            fields.push(("Message".into(), Value::Line(line)));
        }
        notes(&mut fields, &r.notes);
        let relaxed_by: Vec<Item> = compiled
            .and_then(|i| self.rs.exceptions_by_rule.get(i))
            .into_iter()
            .flatten()
            .filter_map(|x| self.rs.exceptions.get(*x))
            .map(|x| {
                let mut line = vec![link(vec![code(x.id.clone())], anchor("exception", &x.id))];
                if let Some(t) = &x.title {
                    line.push(text(format!(" — {t}: ")));
                } else {
                    line.push(text(": "));
                }
                line.push(leaves(x.leaves));
                Item::leaf(line)
            })
            .collect();
        fields.push((
            "Relaxed by".into(),
            if relaxed_by.is_empty() {
                Value::Line(vec![text("no exception")])
            } else {
                Value::Items(relaxed_by)
            },
        ));
        self.uses(&mut fields, r.when.as_ref());
        self.declared_in(&mut fields, r.id.span);
        body.push(Block::Fields(fields));
    }

    /// The lists and predicates a condition uses, through predicates too.
    fn uses(&self, fields: &mut Vec<(String, Value)>, when: Option<&Expr>) {
        let (lists, predicates) = self.closure(when);
        if !lists.is_empty() {
            let mut line = Vec::new();
            for (i, (l, through)) in lists.iter().enumerate() {
                if i > 0 {
                    line.push(text(", "));
                }
                line.push(link(vec![code(l.clone())], anchor("list", l)));
                if !through.is_empty() {
                    line.push(text(" (through "));
                    for (j, p) in through.iter().enumerate() {
                        if j > 0 {
                            line.push(text(", "));
                        }
                        line.push(code(p.clone()));
                    }
                    line.push(text(")"));
                }
            }
            fields.push(("Lists used".into(), Value::Line(line)));
        }
        if !predicates.is_empty() {
            let line = join(
                predicates
                    .iter()
                    .map(|p| link(vec![code(p.clone())], anchor("predicate", p))),
            );
            fields.push(("Predicates used".into(), Value::Line(line)));
        }
    }

    fn exceptions_section(&self, toc: &mut Vec<TocNode>, body: &mut Vec<Block>) {
        if self.exceptions.is_empty() {
            return;
        }
        let mut node = section(body, "exceptions", "Exceptions");
        for x in &self.exceptions {
            let id = x.id.name.as_str();
            body.push(Block::Heading {
                level: 3,
                id: anchor("exception", id),
                text: titled(id, x.title.as_ref()),
            });
            let mut fields = vec![("Id".to_string(), Value::Line(vec![code(id)]))];
            citation(&mut fields, x.citation.as_ref());
            fields.push((
                "Effective".into(),
                Value::Line(vec![text(period(x.effective.as_ref()).describe())]),
            ));
            let compiled = self.rs.exceptions.iter().position(|c| c.id == id);
            let relaxed: Vec<Item> = self
                .rs
                .exceptions_by_rule
                .iter()
                .enumerate()
                .filter(|(_, xs)| compiled.is_some_and(|c| xs.contains(&c)))
                .filter_map(|(r, _)| self.rs.rules.get(r))
                .filter_map(|r| self.rules.iter().find(|a| a.id.name == r.id))
                .map(|r| Item::leaf(rule_link(r)))
                .collect();
            fields.push((
                "Relaxes".into(),
                if relaxed.is_empty() {
                    Value::Line(vec![text("no rule")])
                } else {
                    Value::Items(relaxed)
                },
            ));
            if x.relaxes
                .iter()
                .any(|p| !self.rules.iter().any(|r| r.id.name == p.name))
            {
                fields.push((
                    "Written as".into(),
                    Value::Line(join(x.relaxes.iter().map(|p| self.relaxes_target(&p.name)))),
                ));
            }
            if let Some((l, _)) = x.leaves {
                fields.push(("Outcome".into(), Value::Line(vec![leaves(l)])));
            }
            if let Some(w) = &x.when {
                fields.push(("Applies when".into(), Value::Items(vec![self.cond(w)])));
            }
            notes(&mut fields, &x.notes);
            self.uses(&mut fields, x.when.as_ref());
            self.declared_in(&mut fields, x.id.span);
            body.push(Block::Fields(fields));
            node.children
                .push(TocNode::leaf(anchor("exception", id), id));
        }
        toc.push(node);
    }

    /// What an exception names in `relaxes`: a rule, a regime, or a `prefix.*` pattern.
    fn relaxes_target(&self, name: &str) -> Inline {
        if self.rules.iter().any(|r| r.id.name == name) {
            link(vec![code(name)], anchor("rule", name))
        } else if self.regimes.iter().any(|g| g.name.name == name) {
            link(vec![code(name), text(" (regime)")], anchor("regime", name))
        } else {
            code(name)
        }
    }

    /// Who uses a list or predicate `name`: rules, exceptions and regimes through
    /// predicates too, predicates only when they name it themselves.
    fn users(&self, name: &str, list: bool) -> Vec<User<'a>> {
        let mut out = Vec::new();
        let uses = |e: Option<&Expr>| {
            let (lists, preds) = self.closure(e);
            if list {
                lists.contains_key(name)
            } else {
                preds.contains(name)
            }
        };
        for g in &self.regimes {
            if let Some(Scope::When(e)) = &g.scope
                && uses(Some(e))
            {
                out.push(User::Regime(g.name.name.as_str()));
            }
        }
        for r in &self.rules {
            if uses(r.when.as_ref()) {
                out.push(User::Rule(r.id.name.as_str()));
            }
        }
        for x in &self.exceptions {
            if uses(x.when.as_ref()) {
                out.push(User::Exception(x.id.name.as_str()));
            }
        }
        for p in &self.predicates {
            if let Some(r) = self.predicate_refs.get(p.name.name.as_str())
                && (if list {
                    r.lists.contains(name)
                } else {
                    r.predicates.contains(name)
                })
            {
                out.push(User::Predicate(p.name.name.as_str()));
            }
        }
        out
    }

    fn used_by(fields: &mut Vec<(String, Value)>, users: &[User<'_>]) {
        let group = |u: &User<'_>| match u {
            User::Rule(_) => 0,
            User::Exception(_) => 1,
            User::Predicate(_) => 2,
            User::Regime(_) => 3,
        };
        let labels = [
            "Used by rules",
            "Used by exceptions",
            "Used by predicates",
            "Used by regime scopes",
        ];
        for (k, label) in labels.iter().enumerate() {
            let these: Vec<&User<'_>> = users.iter().filter(|u| group(u) == k).collect();
            if !these.is_empty() {
                fields.push((
                    (*label).into(),
                    Value::Line(join(these.iter().map(|u| u.link()))),
                ));
            }
        }
        if users.is_empty() {
            fields.push(("Used by".into(), Value::Line(vec![text("nothing")])));
        }
    }

    fn lists_section(&self, origin: &Origin, toc: &mut Vec<TocNode>, body: &mut Vec<Block>) {
        if self.lists.is_empty() {
            return;
        }
        let mut node = section(body, "lists", "Lists");
        for l in &self.lists {
            let name = l.name.name.as_str();
            let id = anchor("list", name);
            body.push(Block::Heading {
                level: 3,
                id: id.clone(),
                text: titled(name, l.title.as_ref()),
            });
            let set = self.list_sets.get(name);
            let mut fields = vec![("Name".to_string(), Value::Line(vec![code(name)]))];
            if let Some(s) = set {
                fields.push(("Kind".into(), Value::Line(vec![code(s.kind.name())])));
                let mut count = format!(
                    "{} entr{}",
                    s.entries.len(),
                    if s.entries.len() == 1 { "y" } else { "ies" }
                );
                if !s.index.aliases.is_empty() {
                    let _ = write!(count, ", {} aliases", s.index.aliases.len());
                }
                fields.push(("Entries".into(), Value::Line(vec![text(count)])));
            }
            if let Some(s) = &l.source {
                fields.push(("Source".into(), Value::Line(vec![text(&s.value)])));
            }
            if let Some((d, _)) = l.as_of {
                fields.push(("As of".into(), Value::Line(vec![text(d.to_string())])));
            }
            let rule_file = self.sources.file(l.span.file).name.as_str();
            if !l.from.is_empty() {
                let files = l
                    .from
                    .iter()
                    .map(|f| code(origin.resolve(rule_file, &f.value)));
                fields.push((
                    if l.from.len() == 1 { "File" } else { "Files" }.into(),
                    Value::Line(join(files)),
                ));
            }
            if let Some(f) = &l.format {
                fields.push(("Format".into(), Value::Line(vec![code(f.name.clone())])));
            }
            if let Some(a) = &l.aliases {
                fields.push((
                    "Aliases".into(),
                    Value::Line(vec![code(origin.resolve(rule_file, &a.value))]),
                ));
            }
            if let Some(s) = set
                && !s.entries.is_empty()
                && s.entries.len() <= SHOWN_ENTRIES
            {
                fields.push((
                    "The entries".into(),
                    Value::Line(join(s.entries.iter().map(|e| code(e.key.clone())))),
                ));
            }
            notes(&mut fields, &l.notes);
            Self::used_by(&mut fields, &self.users(name, true));
            self.declared_in(&mut fields, l.name.span);
            body.push(Block::Fields(fields));
            node.children.push(TocNode::leaf(id, name));
        }
        toc.push(node);
    }

    fn predicates_section(&self, toc: &mut Vec<TocNode>, body: &mut Vec<Block>) {
        if self.predicates.is_empty() {
            return;
        }
        let mut node = section(body, "predicates", "Predicates");
        for p in &self.predicates {
            let name = p.name.name.as_str();
            let id = anchor("predicate", name);
            body.push(Block::Heading {
                level: 3,
                id: id.clone(),
                text: titled(name, p.title.as_ref()),
            });
            let mut fields = vec![("Name".to_string(), Value::Line(vec![code(name)]))];
            fields.push((
                "Parameters".into(),
                if p.params.is_empty() {
                    Value::Line(vec![text("none")])
                } else {
                    Value::Line(join(
                        p.params
                            .iter()
                            .map(|(n, t, _)| code(format!("{}: {}", n.name, t.keyword()))),
                    ))
                },
            ));
            if let Some(w) = &p.when {
                fields.push(("Holds when".into(), Value::Items(vec![self.cond(w)])));
            }
            notes(&mut fields, &p.notes);
            self.uses(&mut fields, p.when.as_ref());
            Self::used_by(&mut fields, &self.users(name, false));
            self.declared_in(&mut fields, p.name.span);
            body.push(Block::Fields(fields));
            node.children.push(TocNode::leaf(id, name));
        }
        toc.push(node);
    }

    fn facts_section(&self, toc: &mut Vec<TocNode>, body: &mut Vec<Block>) {
        if self.facts.is_empty() {
            return;
        }
        let node = section(body, "facts", "Declared facts");
        body.push(Block::Para(vec![text(
            "Facts beyond the shipment schema that the rules use.",
        )]));
        let rows = self
            .facts
            .iter()
            .map(|f| {
                vec![
                    vec![code(f.path.text())],
                    vec![code(f.ty.0.keyword())],
                    f.description
                        .as_ref()
                        .map_or_else(Vec::new, |d| prose(&d.value)),
                    vec![code(self.location(f.path.span))],
                ]
            })
            .collect();
        body.push(Block::Table {
            head: vec![
                "fact".into(),
                "type".into(),
                "meaning".into(),
                "declared in".into(),
            ],
            rows,
        });
        toc.push(node);
    }
}

fn section(body: &mut Vec<Block>, id: &str, title: &str) -> TocNode {
    body.push(Block::Heading {
        level: 2,
        id: id.into(),
        text: vec![text(title)],
    });
    TocNode {
        id: id.into(),
        label: vec![text(title)],
        children: Vec::new(),
    }
}

fn titled(name: &str, title: Option<&ast::Str>) -> Line {
    match title {
        Some(t) => vec![text(&t.value)],
        None => vec![code(name)],
    }
}

fn rule_link(r: &ast::Rule) -> Line {
    let mut line = vec![link(
        vec![code(r.id.name.clone())],
        anchor("rule", &r.id.name),
    )];
    if let Some(t) = &r.title {
        line.push(text(format!(" — {}", t.value)));
    }
    line
}

fn citation(fields: &mut Vec<(String, Value)>, c: Option<&ast::Str>) {
    fields.push((
        "Citation".into(),
        Value::Line(vec![text(c.map_or("none given", |c| c.value.as_str()))]),
    ));
}

fn notes(fields: &mut Vec<(String, Value)>, notes: &[ast::Str]) {
    for n in notes {
        fields.push(("Note".into(), Value::Line(prose(&n.value))));
    }
}

/// Free text of a note: authors write names in backticks (`` `percent: 0` ``), as in
/// the README, so paired backticks become code; an unpaired one stays as it is.
fn prose(s: &str) -> Line {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return vec![text(s)];
    }
    parts
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_empty())
        .map(|(i, p)| if i % 2 == 1 { code(*p) } else { text(*p) })
        .collect()
}

fn period(e: Option<&ast::Effective>) -> Period {
    Period {
        from: e.and_then(|e| e.from.map(|(d, _)| d)),
        until: e.and_then(|e| e.until.map(|(d, _)| d)),
    }
}

fn leaves(l: Leaves) -> Inline {
    Inline::Badge(match l {
        Leaves::Nothing => "leaves nothing".into(),
        Leaves::Verdict(v) => format!("leaves {}", v.as_str()),
    })
}

fn join(parts: impl Iterator<Item = Inline>) -> Line {
    let mut line = Vec::new();
    for (i, p) in parts.enumerate() {
        if i > 0 {
            line.push(text(", "));
        }
        line.push(p);
    }
    line
}

fn literal(l: &ast::Literal) -> Inline {
    match l.kind {
        LiteralKind::String => code(format!("\"{}\"", l.text)),
        // The parser keeps the number of a percentage; the sign is part of its meaning.
        LiteralKind::Percent => code(format!("{}%", l.text)),
        LiteralKind::Date | LiteralKind::Number | LiteralKind::Code => code(l.text.clone()),
    }
}

fn literals(lits: &[ast::Literal]) -> Line {
    join(lits.iter().map(literal))
}

/// One line for a nested condition: `all of: (a; b)`.
fn flatten(item: &Item, out: &mut Line) {
    out.extend(item.line.iter().cloned());
    if !item.children.is_empty() {
        out.push(text(" ("));
        for (i, c) in item.children.iter().enumerate() {
            if i > 0 {
                out.push(text("; "));
            }
            flatten(c, out);
        }
        out.push(text(")"));
    }
}

// ---------------------------------------------------------------------------------------
// Markdown.

/// Escapes text for Markdown, inside a line (table cells escape `|` besides): the characters that could start markup
/// there are backslash-escaped (`CommonMark` allows that for any punctuation), so rule text
/// shows as written, `<` and `&` included. An underscore inside a word starts no
/// emphasis in GitHub's Markdown and stays as it is, so `license_required` reads well in
/// the source too.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let escape = match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '&' | '~' => true,
            // A line break would end the list item the text is in.
            '\n' | '\r' => {
                out.push(' ');
                prev = Some(' ');
                continue;
            }
            '_' => {
                let word = |x: Option<char>| x.is_some_and(char::is_alphanumeric);
                !(word(prev) && word(chars.peek().copied()))
            }
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

fn md_code(s: &str) -> String {
    // A backtick inside needs a longer fence, and spaces so it does not touch the fence.
    let mut run = 0;
    let mut longest = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let s = s.replace(['\n', '\r'], " ");
    if longest == 0 {
        format!("`{s}`")
    } else {
        let fence = "`".repeat(longest + 1);
        format!("{fence} {s} {fence}")
    }
}

fn md_line(line: &[Inline]) -> String {
    let mut out = String::new();
    for i in line {
        match i {
            Inline::Text(t) => out.push_str(&md_escape(t)),
            Inline::Code(c) => out.push_str(&md_code(c)),
            Inline::Strong(t) | Inline::Badge(t) => {
                let _ = write!(out, "**{}**", md_escape(t));
            }
            Inline::Link(label, to) => {
                let _ = write!(out, "[{}](#{to})", md_line(label));
            }
        }
    }
    out
}

fn md_items(items: &[Item], depth: usize, out: &mut String) {
    for it in items {
        let _ = writeln!(out, "{}- {}", "  ".repeat(depth), md_line(&it.line));
        md_items(&it.children, depth + 1, out);
    }
}

fn md_toc(nodes: &[TocNode], depth: usize, out: &mut String) {
    for n in nodes {
        let _ = writeln!(
            out,
            "{}- [{}](#{})",
            "  ".repeat(depth),
            md_line(&n.label),
            n.id
        );
        md_toc(&n.children, depth + 1, out);
    }
}

fn md_block(b: &Block, out: &mut String) {
    match b {
        Block::Heading { level, id, text } => {
            let _ = writeln!(
                out,
                "{} <a id=\"{id}\"></a>{}\n",
                "#".repeat(usize::from(*level)),
                md_line(text)
            );
        }
        Block::Para(line) => {
            let _ = writeln!(out, "{}\n", md_line(line));
        }
        Block::Fields(fields) => {
            for (label, value) in fields {
                match value {
                    Value::Line(line) => {
                        let _ = writeln!(out, "- **{}:** {}", md_escape(label), md_line(line));
                    }
                    Value::Items(items) => {
                        let _ = writeln!(out, "- **{}:**", md_escape(label));
                        md_items(items, 1, out);
                    }
                }
            }
            out.push('\n');
        }
        Block::Table { head, rows } => {
            let _ = writeln!(
                out,
                "| {} |",
                head.iter()
                    .map(|h| md_escape(h))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
            let _ = writeln!(out, "|{}", "---|".repeat(head.len()));
            for r in rows {
                // In a table a `|` ends the cell, inside code too, unless escaped.
                let cells: Vec<String> = r.iter().map(|c| md_line(c).replace('|', "\\|")).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            out.push('\n');
        }
    }
}

fn markdown(book: &Book) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# <a id=\"top\"></a>{}\n", md_escape(&book.title));
    for b in &book.intro {
        md_block(b, &mut out);
    }
    out.push_str("## <a id=\"contents\"></a>Contents\n\n");
    md_toc(&book.toc, 0, &mut out);
    out.push('\n');
    for b in &book.body {
        md_block(b, &mut out);
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

// ---------------------------------------------------------------------------------------
// HTML.

/// Escapes text for HTML element content and double- or single-quoted attributes.
#[must_use]
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_line(line: &[Inline]) -> String {
    let mut out = String::new();
    for i in line {
        match i {
            Inline::Text(t) => out.push_str(&html_escape(t)),
            Inline::Code(c) => {
                let _ = write!(out, "<code>{}</code>", html_escape(c));
            }
            Inline::Strong(t) => {
                let _ = write!(out, "<strong>{}</strong>", html_escape(t));
            }
            Inline::Badge(t) => {
                let class: String = t
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .collect();
                let _ = write!(
                    out,
                    "<span class=\"badge b-{class}\">{}</span>",
                    html_escape(t)
                );
            }
            Inline::Link(label, to) => {
                let _ = write!(
                    out,
                    "<a href=\"#{}\">{}</a>",
                    html_escape(to),
                    html_line(label)
                );
            }
        }
    }
    out
}

fn html_items(items: &[Item], class: &str, out: &mut String) {
    let _ = write!(out, "<ul class=\"{class}\">");
    for it in items {
        out.push_str("<li>");
        out.push_str(&html_line(&it.line));
        if !it.children.is_empty() {
            html_items(&it.children, class, out);
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
}

fn html_toc(nodes: &[TocNode], out: &mut String) {
    out.push_str("<ul>");
    for n in nodes {
        let _ = write!(
            out,
            "<li><a href=\"#{}\">{}</a>",
            html_escape(&n.id),
            html_line(&n.label)
        );
        if !n.children.is_empty() {
            html_toc(&n.children, out);
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
}

fn html_block(b: &Block, out: &mut String) {
    match b {
        Block::Heading { level, id, text } => {
            let _ = writeln!(
                out,
                "<h{level} id=\"{}\">{}</h{level}>",
                html_escape(id),
                html_line(text)
            );
        }
        Block::Para(line) => {
            let _ = writeln!(out, "<p>{}</p>", html_line(line));
        }
        Block::Fields(fields) => {
            out.push_str("<dl class=\"fields\">\n");
            for (label, value) in fields {
                let _ = write!(out, "<dt>{}</dt><dd>", html_escape(label));
                match value {
                    Value::Line(line) => out.push_str(&html_line(line)),
                    Value::Items(items) => html_items(items, "cond", out),
                }
                out.push_str("</dd>\n");
            }
            out.push_str("</dl>\n");
        }
        Block::Table { head, rows } => {
            out.push_str("<table>\n<thead><tr>");
            for h in head {
                let _ = write!(out, "<th>{}</th>", html_escape(h));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for r in rows {
                out.push_str("<tr>");
                for c in r {
                    let _ = write!(out, "<td>{}</td>", html_line(c));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
    }
}

/// The page's only style: no external fonts, images or scripts.
const CSS: &str = r"
:root { --ink: #1d2330; --muted: #5b6475; --rule: #d9dde5; --accent: #1f4e8c;
  --paper: #ffffff; --side: #f4f6f9; --code: #eef1f6; }
* { box-sizing: border-box; }
html { scroll-padding-top: 1rem; }
body { margin: 0; color: var(--ink); background: var(--paper);
  font: 16px/1.55 Georgia, 'DejaVu Serif', 'Times New Roman', serif; }
nav.toc { position: fixed; top: 0; left: 0; bottom: 0; width: 20rem; overflow-y: auto;
  background: var(--side); border-right: 1px solid var(--rule); padding: 1.2rem 1rem 2rem;
  font: 14px/1.45 system-ui, 'DejaVu Sans', Arial, sans-serif; }
nav.toc h2 { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.08em;
  color: var(--muted); margin: 0 0 0.6rem; border: 0; padding: 0; }
nav.toc ul { list-style: none; margin: 0; padding-left: 0.9rem; }
nav.toc > ul { padding-left: 0; }
nav.toc li { margin: 0.15rem 0; }
nav.toc > ul > li { margin-top: 0.7rem; font-weight: 600; }
nav.toc > ul > li li { font-weight: 400; }
nav.toc a { color: var(--ink); text-decoration: none; }
nav.toc code { font-size: 0.8em; background: none; padding: 0; }
nav.toc a:hover { color: var(--accent); text-decoration: underline; }
main { margin-left: 20rem; padding: 2rem 3rem 4rem; max-width: 62rem; }
h1, h2, h3, h4 { font-family: system-ui, 'DejaVu Sans', Arial, sans-serif; line-height: 1.25; }
h1 { font-size: 2.1rem; margin: 0 0 1rem; }
h2 { font-size: 1.55rem; margin: 3rem 0 1rem; padding-bottom: 0.3rem;
  border-bottom: 2px solid var(--ink); }
h3 { font-size: 1.25rem; margin: 2.2rem 0 0.6rem; padding-top: 0.8rem;
  border-top: 1px solid var(--rule); }
h4 { font-size: 1.08rem; margin: 1.8rem 0 0.5rem; color: var(--accent); }
a { color: var(--accent); }
code { font: 0.88em/1.3 'DejaVu Sans Mono', Menlo, Consolas, monospace; background: var(--code);
  padding: 0.05em 0.3em; border-radius: 3px; overflow-wrap: anywhere; }
dl.fields { display: grid; grid-template-columns: 11rem 1fr; gap: 0.3rem 1rem; margin: 0.5rem 0 1rem; }
dl.fields dt { font: 600 0.85rem/1.8 system-ui, 'DejaVu Sans', Arial, sans-serif; color: var(--muted); }
dl.fields dd { margin: 0; }
ul.cond { margin: 0.1rem 0; padding-left: 1.2rem; }
ul.cond ul.cond { border-left: 2px solid var(--rule); margin-left: 0.2rem; padding-left: 1.1rem; }
ul.cond li { margin: 0.1rem 0; }
.badge { display: inline-block; font: 600 0.78rem/1.5 system-ui, 'DejaVu Sans', Arial, sans-serif;
  padding: 0 0.5em; border-radius: 0.7em; background: #e6e9ef; color: var(--ink); }
.b-prohibited { background: #fbe3e1; color: #a1160a; }
.b-license_required, .b-license-required { background: #fdf0d5; color: #8a5300; }
.b-review { background: #e1ecfb; color: #1f4e8c; }
.b-leaves-nothing { background: #e3f4e6; color: #1d6b2c; }
.b-leaves-review, .b-leaves-license_required, .b-leaves-license-required { background: #fdf0d5; color: #8a5300; }
table { border-collapse: collapse; margin: 0.8rem 0 1.2rem; }
th, td { border: 1px solid var(--rule); padding: 0.3rem 0.7rem; text-align: left; vertical-align: top; }
th { background: var(--side); font: 600 0.85rem system-ui, 'DejaVu Sans', Arial, sans-serif; }
@media (max-width: 60rem) {
  nav.toc { position: static; width: auto; border-right: 0; border-bottom: 1px solid var(--rule); }
  main { margin-left: 0; padding: 1.2rem; }
  dl.fields { grid-template-columns: 1fr; }
}
@media print { nav.toc { display: none; } main { margin: 0; } }
";

fn html(book: &Book) -> String {
    let mut out = String::new();
    let title = html_escape(&book.title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
    );
    out.push_str(
        "<nav class=\"toc\" id=\"contents\" aria-label=\"Contents\">\n<h2>Contents</h2>\n",
    );
    let mut top = vec![TocNode {
        id: "top".into(),
        label: vec![text(book.title.clone())],
        children: Vec::new(),
    }];
    top.extend(book.toc.iter().cloned());
    html_toc(&top, &mut out);
    out.push_str("\n</nav>\n<main>\n");
    let _ = writeln!(out, "<h1 id=\"top\">{title}</h1>");
    for b in &book.intro {
        html_block(b, &mut out);
    }
    for b in &book.body {
        html_block(b, &mut out);
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::{Inline, anchor, html_escape, md_code, md_escape, prose};

    #[test]
    fn markdown_escapes_markup_but_not_underscores_inside_words() {
        assert_eq!(md_escape("license_required"), "license_required");
        assert_eq!(md_escape("_stars_"), r"\_stars\_");
        assert_eq!(md_escape("a <b> & [c] *d*"), r"a \<b> \& \[c\] \*d\*");
        assert_eq!(md_escape("two\nlines"), "two lines");
        assert_eq!(md_code("a`b"), "`` a`b ``");
    }

    #[test]
    fn html_escapes_text_and_attributes() {
        assert_eq!(
            html_escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn anchors_are_valid_fragments() {
        assert_eq!(anchor("rule", "eu.833.art12g"), "rule-eu.833.art12g");
        assert_eq!(anchor("list", "a b#c"), "list-a-b-c");
    }

    #[test]
    fn backticks_in_notes_become_code_when_paired() {
        let line = prose("owners with `percent: 0` only");
        assert!(matches!(&line[1], Inline::Code(c) if c == "percent: 0"));
        assert_eq!(prose("one ` alone").len(), 1);
    }
}
