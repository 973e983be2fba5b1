//! The compiled rule set: names resolved, fact paths turned into field steps, lists
//! turned into indexed sets. Evaluation runs on this form only.

use std::collections::HashMap;
use std::sync::Arc;

use crate::ast::{CompareOp, Leaves, Quantifier, TimeUnit};
use crate::schema::{Field, Ty};
use crate::source::{SourceMap, Span};
use crate::types::{CountryCode, Date, HsCode, Verdict};

/// Everything `eval` needs: regimes, rules, exceptions, lists, and the sources they came from.
#[derive(Debug)]
pub struct RuleSet {
    /// Regimes, in source order.
    pub regimes: Vec<Regime>,
    /// Rules, in source order.
    pub rules: Vec<Rule>,
    /// Exceptions, in source order.
    pub exceptions: Vec<Exception>,
    /// Named lists, in source order.
    pub lists: Vec<Arc<ListSet>>,
    /// For each rule (by index), the exceptions (by index) that may relax it.
    pub exceptions_by_rule: Vec<Vec<usize>>,
    /// `sha256:` of every rule and data file.
    pub digest: String,
    /// The rule files, for locations in output.
    pub sources: SourceMap,
    /// Number of variable slots an evaluation needs.
    pub slots: usize,
}

/// A compiled regime.
#[derive(Debug)]
pub struct Regime {
    /// Its name.
    pub name: String,
    /// Its title.
    pub title: Option<String>,
    /// The legal instrument.
    pub authority: Option<String>,
    /// When it binds; `None` binds everyone.
    pub scope: Option<Cond>,
    /// Where it is declared.
    pub span: Span,
}

/// A period in force, both ends inclusive.
#[derive(Debug, Clone, Copy, Default)]
pub struct Period {
    /// First day.
    pub from: Option<Date>,
    /// Last day.
    pub until: Option<Date>,
}

impl Period {
    /// True when `d` lies inside.
    #[must_use]
    pub fn contains(&self, d: Date) -> bool {
        self.from.is_none_or(|f| d >= f) && self.until.is_none_or(|u| d <= u)
    }

    /// "from 2022-02-25 until 2024-12-19" style description.
    #[must_use]
    pub fn describe(&self) -> String {
        match (self.from, self.until) {
            (Some(f), Some(u)) => format!("in force from {f} until {u}"),
            (Some(f), None) => format!("in force from {f}"),
            (None, Some(u)) => format!("in force until {u}"),
            (None, None) => "always in force".into(),
        }
    }
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// Stable id.
    pub id: String,
    /// Index into `RuleSet::regimes`.
    pub regime: usize,
    /// Title.
    pub title: Option<String>,
    /// Citation.
    pub citation: Option<String>,
    /// Period in force.
    pub effective: Period,
    /// Condition.
    pub when: Cond,
    /// Verdict when it holds.
    pub verdict: Verdict,
    /// Message template.
    pub message: Vec<Segment>,
    /// Where it is declared.
    pub span: Span,
}

/// A compiled exception.
#[derive(Debug)]
pub struct Exception {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: Option<String>,
    /// Citation.
    pub citation: Option<String>,
    /// Period in force.
    pub effective: Period,
    /// Condition.
    pub when: Cond,
    /// What it leaves.
    pub leaves: Leaves,
    /// Where it is declared.
    pub span: Span,
}

/// A piece of a message template.
#[derive(Debug)]
pub enum Segment {
    /// Literal text.
    Text(String),
    /// A fact to interpolate.
    Fact(FactPath),
}

/// A compiled condition.
#[derive(Debug)]
pub enum Cond {
    /// A constant.
    Const(bool),
    /// All hold.
    And(Vec<Cond>),
    /// One holds.
    Or(Vec<Cond>),
    /// Does not hold.
    Not(Box<Cond>),
    /// Compare two values.
    Compare {
        /// Left side.
        lhs: Value,
        /// Operator.
        op: CompareOp,
        /// Right side.
        rhs: Value,
        /// The test as written, e.g. `>= 50%`, for evidence.
        test: Box<str>,
    },
    /// Membership in a set.
    In {
        /// The value tested.
        value: Value,
        /// The set.
        set: Arc<ListSet>,
        /// How values are looked up.
        how: Lookup,
        /// `not in`.
        negated: bool,
    },
    /// Membership in a list-valued fact, e.g. `rule.id in l.covers`.
    InFact {
        /// The value tested.
        value: Value,
        /// The list fact.
        list: FactPath,
        /// `not in`.
        negated: bool,
    },
    /// Prefix test against a set of strings.
    StartsWith {
        /// The value tested.
        value: Value,
        /// The prefixes.
        set: Arc<ListSet>,
    },
    /// Presence of a fact.
    Present {
        /// The fact.
        path: FactPath,
        /// True for `is missing`.
        missing: bool,
    },
    /// A quantifier over a collection.
    Quant {
        /// Which.
        quantifier: Quantifier,
        /// Slot of the bound variable.
        slot: usize,
        /// The collection.
        collection: FactPath,
        /// Condition per element.
        body: Box<Cond>,
    },
    /// A boolean fact.
    Truthy(FactPath),
}

/// How a value is looked up in a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// By the value itself (countries, codes, strings).
    Direct,
    /// An entity list, by normalised name.
    Name,
    /// An entity list, by id.
    Id,
    /// An entity list, by a party's id or name.
    Party,
}

/// A compiled value.
#[derive(Debug)]
pub enum Value {
    /// A fact.
    Fact(FactPath),
    /// A constant.
    Const(Const),
    /// Percent of a party owned by listed persons.
    Ownership {
        /// The party.
        party: FactPath,
        /// The list of blocked persons.
        list: Arc<ListSet>,
    },
    /// Number of elements (that pass the filter).
    Count {
        /// Variable slot.
        slot: usize,
        /// Collection.
        collection: FactPath,
        /// Filter.
        filter: Option<Box<Cond>>,
    },
    /// Sum of a number over elements.
    Sum {
        /// Variable slot.
        slot: usize,
        /// Collection.
        collection: FactPath,
        /// The number per element.
        value: FactPath,
        /// Filter.
        filter: Option<Box<Cond>>,
    },
    /// A date moved by a duration.
    Shift {
        /// The date.
        base: Box<Value>,
        /// Signed amount.
        amount: i64,
        /// Unit.
        unit: TimeUnit,
    },
}

/// A constant value.
#[derive(Debug, Clone, PartialEq)]
pub enum Const {
    /// Text.
    Str(Box<str>),
    /// Number or percentage.
    Num(f64),
    /// Date.
    Date(Date),
    /// Boolean.
    Bool(bool),
    /// Country.
    Country(CountryCode),
    /// HS code.
    Hs(HsCode),
}

/// Where a fact path starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Root {
    /// The shipment.
    Shipment,
    /// A variable bound by a quantifier.
    Var(usize),
    /// The date rules are evaluated as of.
    AsOf,
    /// The id of the rule an exception is relaxing.
    RuleId,
    /// The regime of the rule an exception is relaxing.
    RuleRegime,
}

/// A fact path resolved to field steps.
#[derive(Debug, Clone)]
pub struct FactPath {
    /// Start.
    pub root: Root,
    /// Field steps.
    pub steps: Vec<Field>,
    /// The field names, for rendering concrete paths.
    pub names: Vec<Box<str>>,
    /// The type of the value at the end.
    pub ty: Ty,
}

/// A named set: inline or loaded from data, with its provenance and an index.
#[derive(Debug)]
pub struct ListSet {
    /// Its name (inline sets: as written).
    pub name: String,
    /// Entry type.
    pub kind: ListKind,
    /// Title.
    pub title: Option<String>,
    /// Where the data comes from.
    pub source: Option<String>,
    /// Date the list is current as of.
    pub as_of: Option<Date>,
    /// The entries.
    pub entries: Vec<Entry>,
    /// The index for lookups.
    pub index: SetIndex,
    /// Where it is declared.
    pub span: Span,
    /// True for `[...]` sets written in a condition.
    pub inline: bool,
}

/// What a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Country codes.
    Country,
    /// HS codes, matched hierarchically.
    Hs,
    /// ECCNs.
    Eccn,
    /// Plain strings.
    Str,
    /// Persons and companies: names, aliases and ids.
    Entity,
}

impl ListKind {
    /// The element type a value must have to be looked up.
    #[must_use]
    pub fn element_ty(self) -> Ty {
        match self {
            ListKind::Country => Ty::Country,
            ListKind::Hs => Ty::Hs,
            ListKind::Eccn => Ty::Eccn,
            ListKind::Str | ListKind::Entity => Ty::Str,
        }
    }

    /// Keyword.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ListKind::Country => "country",
            ListKind::Hs => "hs_code",
            ListKind::Eccn => "eccn",
            ListKind::Str => "string",
            ListKind::Entity => "entity",
        }
    }
}

/// One list entry with its attributes, for evidence.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The entry as shown (`8542.31`, `LIFSHITS, Artem Mikhaylovich`).
    pub key: String,
    /// Other columns worth citing (tier, programs, list id).
    pub attrs: Vec<(String, String)>,
    /// Where the entry came from: `file:line`.
    pub origin: Option<String>,
}

/// Lookup structures built once at load.
#[derive(Debug, Default)]
pub struct SetIndex {
    /// Exact keys (countries, ECCNs, strings, entity ids) → entry.
    pub exact: HashMap<Box<str>, usize>,
    /// HS digits → entry; looked up by every prefix of a code.
    pub hs: HashMap<Box<str>, usize>,
    /// Normalised entity names and aliases → entry.
    pub names: HashMap<Box<str>, usize>,
}

impl ListSet {
    /// The entry an HS code falls under, the most specific first.
    #[must_use]
    pub fn find_hs(&self, code: &HsCode) -> Option<usize> {
        let d = code.digits();
        (4..=d.len())
            .rev()
            .find_map(|n| self.index.hs.get(&d[..n]).copied())
    }

    /// The entry with exactly this key.
    #[must_use]
    pub fn find_exact(&self, key: &str) -> Option<usize> {
        self.index.exact.get(key).copied()
    }

    /// The entity whose name or alias matches, after normalisation.
    #[must_use]
    pub fn find_name(&self, name: &str) -> Option<usize> {
        self.index.names.get(normalize_name(name).as_str()).copied()
    }

    /// "list `chpl` (Common High Priority List, as of 2024-02-23)" provenance text.
    #[must_use]
    pub fn provenance(&self) -> String {
        match (&self.source, self.as_of) {
            (Some(s), Some(d)) => format!("{s}; list as of {d}"),
            (Some(s), None) => s.clone(),
            (None, Some(d)) => format!("list as of {d}"),
            (None, None) => String::new(),
        }
    }

    /// Evidence text for a matched entry: "8542.31, tier 1; EU CHPL; list as of 2024-02-23".
    #[must_use]
    pub fn describe_entry(&self, i: usize) -> String {
        let Some(e) = self.entries.get(i) else {
            return String::new();
        };
        let mut s = format!("entry {}", e.key);
        for (k, v) in &e.attrs {
            s.push_str(&format!(", {k} {v}"));
        }
        let p = self.provenance();
        if !p.is_empty() {
            s.push_str("; ");
            s.push_str(&p);
        }
        s
    }
}

/// Normalises a person or company name for matching: upper case, punctuation dropped,
/// words sorted, so that `LIFSHITS, Artem` and `Artem Lifshits` are the same name.
#[must_use]
pub fn normalize_name(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .flat_map(char::to_uppercase)
        .collect();
    let mut words: Vec<&str> = upper.split_whitespace().collect();
    words.sort_unstable();
    words.join(" ")
}
