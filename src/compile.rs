//! The compiled rule set: names resolved, fact paths turned into field steps, lists
//! turned into indexed sets. Evaluation runs on this form only.

use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;
use std::sync::Arc;
use std::sync::OnceLock;

use crate::ast::{CompareOp, Leaves, Quantifier, TimeUnit};
use crate::schema::{Field, Ty};
use crate::source::{SourceMap, Span};
use crate::types::{CountryCode, Date, HsCode, Verdict};
use crate::verdict::Text;

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
    /// The first `rule_files` files of `sources` are rule files; the rest are data files.
    pub rule_files: usize,
    /// Number of variable slots an evaluation needs.
    pub slots: usize,
    /// What evaluation makes once for the rule set, made on first use: see
    /// [`RuleSet::shared`].
    pub shared: OnceLock<SharedTexts>,
}

/// What evaluation makes once for a rule set rather than for each shipment: the texts
/// outcomes repeat, shared by every outcome rather than copied into each, and the
/// conditions prepared for deciding them untraced.
#[derive(Debug)]
pub struct SharedTexts {
    /// The rule set's digest.
    pub digest: Text,
    /// For each rule (by index), what its findings repeat.
    pub rules: Vec<FindingTexts>,
    /// For each rule (by index), its condition prepared: see [`Fast`].
    pub conditions: Vec<Fast>,
    /// For each regime (by index), its scope prepared, if it has one.
    pub scopes: Vec<Option<Fast>>,
}

/// A condition prepared for deciding it untraced, as every rule is for every shipment:
/// negations pushed into the tests, and the tests' facts reached by where they are
/// rather than by walking their paths. Tests of other kinds keep their condition.
// An explicit tag: every test matches on it, and a niche in a field would cost more to read.
#[derive(Debug)]
#[repr(u8)]
pub enum Fast {
    /// Every operand holds.
    All(Box<[Fast]>),
    /// Some operand holds.
    Any(Box<[Fast]>),
    /// A fact in a set: holds when it is found, or (`flip`) when it is not.
    In {
        /// The fact.
        at: FactPath,
        /// The set.
        set: Arc<ListSet>,
        /// How it is looked up.
        how: Lookup,
        /// The test holds when the fact is not found.
        flip: bool,
    },
    /// The country of the destination or of a named party in a country set, as most
    /// tests of most rule sets are: holds when it is found, or (`flip`) when it is not.
    InCountry {
        /// Whose country.
        of: CountryOf,
        /// The set.
        set: Arc<ListSet>,
        /// The test holds when the country is not found.
        flip: bool,
    },
    /// Presence of a fact: holds when it is present, or (`flip`) when it is missing.
    Present {
        /// The fact.
        at: FactPath,
        /// The test holds when the fact is missing.
        flip: bool,
    },
    /// A quantifier over a collection.
    Quant {
        /// Holds when some element's body holds; otherwise when every element's does.
        exists: bool,
        /// Slot of the bound variable.
        slot: usize,
        /// The collection.
        at: FactPath,
        /// The body.
        body: Box<Fast>,
    },
    /// Any other condition, negated when `neg`.
    Other {
        /// The condition.
        cond: Box<Cond>,
        /// Whether it is negated.
        neg: bool,
    },
}

/// Whose country a [`Fast::InCountry`] test looks up.
#[derive(Debug, Clone, Copy)]
pub enum CountryOf {
    /// `destination`.
    Destination,
    /// `exporter.country`.
    Exporter,
    /// `consignee.country`.
    Consignee,
    /// `end_user.country`.
    EndUser,
}

/// Where a fact path's value is: most paths rules test are a field of the shipment, of
/// a named party or of a bound variable, and those are taken in one step.
#[derive(Debug, Clone, PartialEq)]
#[repr(u8)]
pub enum Reach {
    /// A field of the shipment.
    Shipment(Field),
    /// A field of the exporter.
    Exporter(Field),
    /// A field of the consignee.
    Consignee(Field),
    /// A field of the end user, when there is one.
    EndUser(Field),
    /// A field of a bound variable.
    Var(usize, Field),
    /// A bound variable itself.
    Bound(usize),
    /// Anywhere else: the path is walked.
    Walk,
}

impl CountryOf {
    /// Whose country `path` is, when it is one of these.
    fn of(path: &FactPath) -> Option<CountryOf> {
        if path.root != Root::Shipment {
            return None;
        }
        Some(match path.steps.as_slice() {
            [Field::Destination] => CountryOf::Destination,
            [Field::Exporter, Field::Country] => CountryOf::Exporter,
            [Field::Consignee, Field::Country] => CountryOf::Consignee,
            [Field::EndUser, Field::Country] => CountryOf::EndUser,
            _ => return None,
        })
    }
}

impl Reach {
    /// Where the value of the path from `root` by `steps` is.
    #[must_use]
    pub fn of(root: &Root, steps: &[Field]) -> Reach {
        match (root, steps) {
            (Root::Var(slot), []) => Reach::Bound(*slot),
            (Root::Var(slot), [f]) => Reach::Var(*slot, f.clone()),
            (Root::Shipment, [f]) => Reach::Shipment(f.clone()),
            (Root::Shipment, [Field::Exporter, f]) => Reach::Exporter(f.clone()),
            (Root::Shipment, [Field::Consignee, f]) => Reach::Consignee(f.clone()),
            (Root::Shipment, [Field::EndUser, f]) => Reach::EndUser(f.clone()),
            _ => Reach::Walk,
        }
    }
}

impl Fast {
    /// `c` prepared, negated when `neg`: the same Kleene value as `eval` gives `c`.
    #[must_use]
    pub fn of(c: &Cond, neg: bool) -> Fast {
        match c {
            Cond::Not(x) => Fast::of(x, !neg),
            Cond::And(xs) | Cond::Or(xs) => {
                let ops = xs.iter().map(|x| Fast::of(x, neg)).collect();
                if matches!(c, Cond::And(_)) != neg {
                    Fast::All(ops)
                } else {
                    Fast::Any(ops)
                }
            }
            Cond::In {
                value: Value::Fact(fp),
                set,
                how: Lookup::Direct,
                negated,
            } if set.kind == ListKind::Country
                && let Some(of) = CountryOf::of(fp) =>
            {
                Fast::InCountry {
                    of,
                    set: Arc::clone(set),
                    flip: *negated != neg,
                }
            }
            Cond::In {
                value: Value::Fact(fp),
                set,
                how,
                negated,
            } => Fast::In {
                at: fp.clone(),
                set: Arc::clone(set),
                how: *how,
                flip: *negated != neg,
            },
            Cond::Present { path, missing } => Fast::Present {
                at: path.clone(),
                flip: *missing != neg,
            },
            Cond::Quant {
                quantifier,
                slot,
                collection,
                body,
            } => {
                let (exists, body_neg) = quantified(*quantifier, neg);
                Fast::Quant {
                    exists,
                    slot: *slot,
                    at: collection.clone(),
                    body: Box::new(Fast::of(body, body_neg)),
                }
            }
            _ => Fast::Other {
                cond: Box::new(c.clone()),
                neg,
            },
        }
    }
}

/// A quantifier, negated when `neg`, as a search: true when it holds if some element's
/// body holds (false: if every element's does), with whether the body is negated.
#[must_use]
pub fn quantified(quantifier: Quantifier, neg: bool) -> (bool, bool) {
    match (quantifier, neg) {
        (Quantifier::Any, false) | (Quantifier::None, true) => (true, false),
        (Quantifier::Any, true) | (Quantifier::None, false) => (false, true),
        (Quantifier::All, false) => (false, false),
        (Quantifier::All, true) => (true, true),
    }
}

/// What every finding of one rule repeats.
#[derive(Debug)]
pub struct FindingTexts {
    /// The rule id.
    pub rule: Text,
    /// Its regime's name.
    pub regime: Text,
    /// Its citation, empty without one.
    pub citation: Text,
    /// Its message, when the template interpolates no fact.
    pub message: Option<Text>,
    /// The message of an undecided finding: `undecided: ` and the title (or the id).
    pub undecided: Text,
}

impl RuleSet {
    /// The texts outcomes repeat, made on the first call.
    pub fn shared(&self) -> &SharedTexts {
        self.shared.get_or_init(|| SharedTexts {
            digest: Text::shared(&self.digest),
            rules: self
                .rules
                .iter()
                .map(|r| {
                    let fixed = r.message.iter().all(|s| matches!(s, Segment::Text(_)));
                    FindingTexts {
                        rule: Text::shared(&r.id),
                        regime: Text::shared(
                            self.regimes.get(r.regime).map_or("", |g| g.name.as_str()),
                        ),
                        citation: Text::shared(r.citation.as_deref().unwrap_or_default()),
                        message: fixed.then(|| {
                            let text: String = r
                                .message
                                .iter()
                                .map(|s| match s {
                                    Segment::Text(t) => t.as_str(),
                                    Segment::Fact(_) => "",
                                })
                                .collect();
                            Text::shared(&text)
                        }),
                        undecided: Text::shared(
                            &["undecided: ", r.title.as_deref().unwrap_or(&r.id)].concat(),
                        ),
                    }
                })
                .collect(),
            conditions: self
                .rules
                .iter()
                .map(|r| Fast::of(&r.when, false))
                .collect(),
            scopes: self
                .regimes
                .iter()
                .map(|g| g.scope.as_ref().map(|c| Fast::of(c, false)))
                .collect(),
        })
    }
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
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
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
    /// Where the value is, decided from `root` and `steps` when the path is resolved.
    pub reach: Reach,
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
    pub attrs: Vec<(Arc<str>, String)>,
    /// Where the entry came from, for an entry of a data file.
    pub origin: Option<crate::lists::EntryOrigin>,
}

/// Lookup structures built once at load. The keys come from the rule set's own data,
/// never from shipments, so a fast hash without flooding protection is safe: shipments
/// only look keys up.
#[derive(Debug, Default)]
pub struct SetIndex {
    /// Exact keys (countries, ECCNs, strings, entity ids) → entry.
    pub exact: FxHashMap<Box<str>, usize>,
    /// HS digits → entry, keyed by number; looked up by every prefix of a code.
    pub hs: HsNumbers,
    /// Normalised entity names and aliases → a name match: the index of the entry whose
    /// own name it is, or `entries.len() + k` for `aliases[k]` (see [`ListSet::find_name`]).
    pub names: FxHashMap<Box<str>, usize>,
    /// Aliases of entity entries, as written: the entry each belongs to, and the alias.
    pub aliases: Vec<(usize, Box<str>)>,
    /// Entry keys as written → the first entry with that key, for prefix tests against
    /// long sets; built on the first such test.
    pub prefixes: OnceLock<FxHashMap<Box<str>, usize>>,
    /// `; ` and the list's provenance (empty without one), as every described entry ends:
    /// made on the first description.
    pub provenance_tail: OnceLock<Box<str>>,
    /// [`ListSet::describe_entry`] of each name match (entries, then aliases), made on
    /// first use and shared by the evidence that cites it: the same entries are cited
    /// shipment after shipment.
    pub described: OnceLock<Box<[OnceLock<Text>]>>,
    /// The tests evidence names this set in: `in`, `not in`, `starts with` and `not
    /// starts with` it; made on first use.
    pub tests: OnceLock<[Text; 4]>,
    /// Country sets: by [`country_slot`] of a code, 1 + the entry of `exact` it maps to,
    /// or 0; empty for other sets. Countries are tested on every shipment, often several
    /// times, and a table index costs less than hashing the code's text.
    pub countries: Box<[u32]>,
}

/// Number of two-letter codes: the size of a country table.
const COUNTRY_SLOTS: usize = 26 * 26;

/// Where a country code sits in a country table.
fn country_slot(c: CountryCode) -> usize {
    let [a, b] = c.letters();
    // Codes are validated upper-case letters; anything else falls outside the table.
    usize::from(a.wrapping_sub(b'A')) * 26 + usize::from(b.wrapping_sub(b'A'))
}

impl SetIndex {
    /// The country table of a set whose `exact` keys are country codes; keys that are not
    /// codes cannot be met by one, so they are left out.
    #[must_use]
    pub fn country_table(exact: &FxHashMap<Box<str>, usize>) -> Box<[u32]> {
        let mut table = vec![0u32; COUNTRY_SLOTS];
        for (k, &i) in exact {
            if let (Ok(c), Ok(v)) = (CountryCode::parse(k), u32::try_from(i + 1))
                && let Some(t) = table.get_mut(country_slot(c))
            {
                *t = v;
            }
        }
        table.into_boxed_slice()
    }
}

/// HS codes have at most this many digits (see [`HsCode::parse`]).
const MAX_HS_DIGITS: usize = 10;

/// The key of `n` digits whose value is `v`: the length tells `0123` from `123`.
fn hs_key(v: u64, n: usize) -> u64 {
    (v << 4) | n as u64
}

/// HS entries keyed by the number their digits write, which hashes in one step where
/// the text took a pass over its bytes; every item of every shipment is looked up.
#[derive(Debug, Default)]
pub struct HsNumbers {
    /// Bit `n` set when some key has `n` digits, so that a code is looked up only by
    /// prefixes of lengths that occur.
    lengths: u64,
    /// Number key (see [`hs_key`]) → entry.
    map: FxHashMap<u64, usize>,
    /// A bit set for each key (see [`HsNumbers::bit`]): most prefixes looked up are no
    /// key, and a clear bit tells so without hashing.
    bits: [u64; 16],
}

impl HsNumbers {
    /// Room for `n` more keys.
    pub fn reserve(&mut self, n: usize) {
        self.map.reserve(n);
    }

    /// Indexes HS digits `key` as entry `i`, unless an earlier entry has them. A key that
    /// is not 1 to 10 digits cannot be the prefix of a code, so it is left out.
    pub fn insert(&mut self, key: &str, i: usize) {
        let n = key.len();
        if !(1..=MAX_HS_DIGITS).contains(&n) || !key.bytes().all(|b| b.is_ascii_digit()) {
            return;
        }
        let v = key.bytes().fold(0u64, |v, b| v * 10 + u64::from(b - b'0'));
        self.lengths |= 1u64 << n;
        let k = hs_key(v, n);
        let (word, bit) = Self::bit(k);
        if let Some(w) = self.bits.get_mut(word) {
            *w |= bit;
        }
        self.map.entry(k).or_insert(i);
    }

    /// The word and bit of `bits` that stand for number key `k`.
    #[inline]
    fn bit(k: u64) -> (usize, u64) {
        // The top ten bits of a multiplicative hash: one of 1024 bits.
        let h = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54;
        (usize::try_from(h >> 6).unwrap_or(0), 1u64 << (h & 63))
    }

    /// The entry of number key `k`.
    #[inline]
    fn get(&self, k: u64) -> Option<usize> {
        let (word, bit) = Self::bit(k);
        if self.bits.get(word).is_some_and(|w| w & bit != 0) {
            self.map.get(&k).copied()
        } else {
            None
        }
    }
}

/// Sets up to this many entries are scanned for a prefix rather than hashed: a short
/// scan costs less than hashing every prefix of the value.
const PREFIX_SCAN_MAX: usize = 16;

impl ListSet {
    /// The entry an HS code falls under, the most specific first.
    #[must_use]
    pub fn find_hs(&self, code: &HsCode) -> Option<usize> {
        let table = &self.index.hs;
        let digits = code.digit_bytes();
        let len = digits.len().min(MAX_HS_DIGITS);
        // The prefix lengths to look up: from 4 to the code's length, those some key has.
        let mut lengths = table.lengths & ((2u64 << len) - 1) & !0b1111;
        if lengths == 0 {
            return None;
        }
        // The first `n` digits of the code as a number, for every `n`: one pass.
        let mut prefixes = [0u64; MAX_HS_DIGITS];
        let mut v = 0u64;
        for (p, b) in prefixes.iter_mut().zip(digits) {
            v = v * 10 + u64::from(b.wrapping_sub(b'0'));
            *p = v;
        }
        // The longest first.
        while lengths != 0 {
            let n = 63 - lengths.leading_zeros() as usize;
            lengths &= !(1u64 << n);
            if let Some(p) = prefixes.get(n.wrapping_sub(1))
                && let Some(e) = table.get(hs_key(*p, n))
            {
                return Some(e);
            }
        }
        None
    }

    /// The first entry (in list order) whose key, as written, is a prefix of `text`.
    #[must_use]
    pub fn find_prefix(&self, text: &str) -> Option<usize> {
        if self.entries.len() <= PREFIX_SCAN_MAX {
            return self
                .entries
                .iter()
                .position(|e| text.starts_with(e.key.as_str()));
        }
        let keys = self.index.prefixes.get_or_init(|| {
            let mut keys = FxHashMap::default();
            for (i, e) in self.entries.iter().enumerate() {
                keys.entry(e.key.as_str().into()).or_insert(i);
            }
            keys
        });
        // Every prefix of `text` that is a key matches; the first entry among them wins.
        (0..=text.len())
            .filter_map(|n| text.get(..n))
            .filter_map(|p| keys.get(p).copied())
            .min()
    }

    /// The entry of a country code: what [`ListSet::find_exact`] gives for its text.
    /// Inlined into evaluation, which tests countries several times per shipment: the
    /// call cost as much as the table lookup.
    #[must_use]
    #[allow(clippy::inline_always)]
    #[inline(always)]
    pub fn find_country(&self, c: CountryCode) -> Option<usize> {
        if self.index.countries.is_empty() {
            return self.find_exact(c.as_str());
        }
        match self.index.countries.get(country_slot(c)) {
            Some(&v) if v > 0 => usize::try_from(v - 1).ok(),
            _ => None,
        }
    }

    /// The entry with exactly this key.
    #[must_use]
    pub fn find_exact(&self, key: &str) -> Option<usize> {
        self.index.exact.get(key).copied()
    }

    /// The entity a party is: by its id if it has a listed one, else by name or alias.
    #[must_use]
    pub fn find_party(&self, party: &crate::facts::Party) -> Option<usize> {
        party
            .id
            .as_deref()
            .and_then(|id| self.find_exact(id))
            .or_else(|| self.find_normalized(party.matched_name()))
    }

    /// The entity whose name or alias matches, after normalisation. The number is a name
    /// match for [`ListSet::describe_entry`]: an entry index when the entry's own name
    /// matched, `entries.len() + k` when its alias `index.aliases[k]` did; use
    /// [`ListSet::entry_of`] for the entry itself.
    #[must_use]
    pub fn find_name(&self, name: &str) -> Option<usize> {
        self.find_normalized(&normalize_name(name))
    }

    /// [`ListSet::find_name`] for a name already normalised.
    #[must_use]
    pub fn find_normalized(&self, normalized: &str) -> Option<usize> {
        self.index.names.get(normalized).copied()
    }

    /// The alias a name match went through, if any: (entry index, alias as written).
    fn alias_of(&self, m: usize) -> Option<(usize, &str)> {
        let k = m.checked_sub(self.entries.len())?;
        self.index.aliases.get(k).map(|(e, a)| (*e, &**a))
    }

    /// The entry a name match (or an entry index) stands for.
    #[must_use]
    pub fn entry_of(&self, m: usize) -> usize {
        self.alias_of(m).map_or(m, |(e, _)| e)
    }

    /// "list `chpl` (Common High Priority List, as of 2024-02-23)" provenance text.
    #[must_use]
    pub fn provenance(&self) -> String {
        let mut s = String::new();
        self.write_provenance(&mut s);
        s
    }

    /// Appends [`ListSet::provenance`] to `out`.
    fn write_provenance(&self, out: &mut String) {
        if let Some(src) = &self.source {
            out.push_str(src);
        }
        if let Some(d) = self.as_of {
            if self.source.is_some() {
                out.push_str("; ");
            }
            out.push_str("list as of ");
            crate::json_text::push_date(out, d);
        }
    }

    /// [`ListSet::describe_entry`], made once per entry and shared.
    #[must_use]
    pub fn described(&self, i: usize) -> Text {
        let all = self.index.described.get_or_init(|| {
            (0..self.entries.len() + self.index.aliases.len())
                .map(|_| OnceLock::new())
                .collect()
        });
        match all.get(i) {
            Some(d) => d
                .get_or_init(|| Text::shared(&self.describe_entry(i)))
                .clone(),
            None => self.describe_entry(i).into(),
        }
    }

    /// The text of a test on this set: `in` it (negated: `not in`), or `starts with` it
    /// (`not starts with`).
    #[must_use]
    pub fn test_text(&self, prefix: bool, negated: bool) -> Text {
        let [a, b, c, d] = self.index.tests.get_or_init(|| {
            let t = |w: &str| Text::shared(&[w, &self.name].concat());
            [
                t("in "),
                t("not in "),
                t("starts with "),
                t("not starts with "),
            ]
        });
        match (prefix, negated) {
            (false, false) => a,
            (false, true) => b,
            (true, false) => c,
            (true, true) => d,
        }
        .clone()
    }

    /// Evidence text for a matched entry: "entry 8542.31, tier 1; EU CHPL; list as of
    /// 2024-02-23". For a name match through an alias (see [`ListSet::find_name`]) it
    /// names both: "alias JSC POSITIVE TECHNOLOGIES of entry AKTSIONERNOE OBSHCHESTVO POZITIV
    /// TEKNOLODZHIZ, `ent_num` 31455; ...".
    #[must_use]
    pub fn describe_entry(&self, i: usize) -> String {
        let alias = self.alias_of(i);
        let Some(e) = self.entries.get(self.entry_of(i)) else {
            return String::new();
        };
        let mut s = String::with_capacity(128);
        if let Some((_, a)) = alias {
            s.push_str("alias ");
            s.push_str(a);
            s.push_str(" of ");
        }
        s.push_str("entry ");
        s.push_str(&e.key);
        for (k, v) in &e.attrs {
            s.push_str(", ");
            s.push_str(k);
            s.push(' ');
            s.push_str(v);
        }
        s.push_str(self.index.provenance_tail.get_or_init(|| {
            let mut t = String::from("; ");
            self.write_provenance(&mut t);
            // No provenance: no separator either.
            if t.len() == 2 { "" } else { &t }.into()
        }));
        s
    }
}

/// Legal-form words that say what kind of company a name belongs to, not which one:
/// they are left out when names are matched. Upper case, as [`name_words`] gives them;
/// dotted abbreviations arrive joined (`S.A.` is `SA`, `S.p.A.` is `SPA`).
#[rustfmt::skip]
const LEGAL_FORMS: &[&str] = &[
    // English-speaking and international
    "LLC", "LLP", "LP", "LTD", "LIMITED", "INC", "INCORPORATED", "CORP", "CORPORATION", "CO",
    "COMPANY", "PLC", "PTE", "PTY", "PVT", "BHD", "JSC", "OJSC", "CJSC", "PJSC",
    // Russia, Belarus, Central Asia (transliterated and Cyrillic)
    "OOO", "AO", "OAO", "ZAO", "PAO", "NAO", "TOO", "ODO", "CHUP", "ООО", "АО", "ОАО", "ЗАО",
    "ПАО", "ТОО",
    // Europe
    "GMBH", "AG", "KG", "SE", "SA", "SAS", "SARL", "SRL", "SPA", "SL", "NV", "BV", "AB", "AS",
    "AŞ", "ASA", "OY", "OYJ", "SRO", "DOO", "KFT", "SPZOO", "UAB", "SIA",
    // Gulf free zones, Asia
    "FZE", "FZCO", "FZC", "FZ", "FZLLC", "DMCC", "KK",
];

/// Legal forms written out in several words, matched as a sequence before single words.
const LEGAL_FORM_PHRASES: &[&[&str]] = &[
    &["OBSHCHESTVO", "S", "OGRANICHENNOI", "OTVETSTVENNOSTYU"],
    &["OBSHCHESTVO", "S", "OGRANICHENNOY", "OTVETSTVENNOSTYU"],
    &["TOVARISHCHESTVO", "S", "OGRANICHENNOI", "OTVETSTVENNOSTYU"],
    &["TOVARISHCHESTVO", "S", "OGRANICHENNOY", "OTVETSTVENNOSTYU"],
    &["PUBLICHNOE", "AKTSIONERNOE", "OBSHCHESTVO"],
    &["OTKRYTOE", "AKTSIONERNOE", "OBSHCHESTVO"],
    &["ZAKRYTOE", "AKTSIONERNOE", "OBSHCHESTVO"],
    &["AKTSIONERNOE", "OBSHCHESTVO"],
    &["AKTSIONERNOE", "OBSCHESTVO"],
    &["PUBLIC", "JOINT", "STOCK", "COMPANY"],
    &["OPEN", "JOINT", "STOCK", "COMPANY"],
    &["CLOSED", "JOINT", "STOCK", "COMPANY"],
    &["PRIVATE", "JOINT", "STOCK", "COMPANY"],
    &["JOINT", "STOCK", "COMPANY"],
    &["LIMITED", "LIABILITY", "COMPANY"],
    &["LIMITED", "LIABILITY", "PARTNERSHIP"],
    &["PUBLIC", "LIMITED", "COMPANY"],
    &["FREE", "ZONE", "ESTABLISHMENT"],
    &["FREE", "ZONE", "COMPANY"],
];

/// The legal forms, and the first words of the phrases, as sets built once: names are
/// normalised for every list entry and alias at load and for every party screened.
fn legal_form_index() -> &'static (FxHashSet<&'static str>, FxHashSet<&'static str>) {
    static INDEX: OnceLock<(FxHashSet<&'static str>, FxHashSet<&'static str>)> = OnceLock::new();
    INDEX.get_or_init(|| {
        (
            LEGAL_FORMS.iter().copied().collect(),
            LEGAL_FORM_PHRASES
                .iter()
                .filter_map(|p| p.first().copied())
                .collect(),
        )
    })
}

/// The words of a name, upper case, written into `buf` with their byte ranges in `words`
/// (in order, though not always one after another: an ASCII name is written whole). Any character other than a letter or digit separates words,
/// except that a dotted abbreviation of short parts is one word (`S.A.`, `K.K.`). One
/// buffer for all words: this runs for every name and alias of every list at startup.
fn name_words(name: &str, buf: &mut String, words: &mut Vec<(usize, usize)>) {
    if name.is_ascii() {
        ascii_name_words(name, buf, words);
        return;
    }
    let mut push = |buf: &mut String, parts: &mut dyn Iterator<Item = &str>| {
        let start = buf.len();
        for p in parts {
            if p.is_ascii() {
                // Most list names are ASCII: no case tables to consult.
                let at = buf.len();
                buf.push_str(p);
                if let Some(word) = buf.get_mut(at..) {
                    word.make_ascii_uppercase();
                }
            } else {
                buf.extend(p.chars().flat_map(char::to_uppercase));
            }
        }
        if buf.len() > start {
            words.push((start, buf.len()));
        }
    };
    for raw in name.split(|c: char| !(c.is_alphanumeric() || c == '.')) {
        let parts = || raw.split('.').filter(|p| !p.is_empty());
        let abbreviation = parts().nth(1).is_some() && parts().all(|p| p.chars().nth(2).is_none());
        if abbreviation {
            push(buf, &mut parts());
        } else {
            for p in parts() {
                push(buf, &mut std::iter::once(p));
            }
        }
    }
}

/// [`name_words`] of an ASCII name, as most are: a byte is a character, so the name is
/// upper-cased at once into `buf` and most words are ranges of it; only a dotted
/// abbreviation (`S.A.`) is written again, joined. Every party screened by name and every
/// name of a list at load comes through here.
fn ascii_name_words(name: &str, buf: &mut String, words: &mut Vec<(usize, usize)>) {
    let base = buf.len();
    buf.push_str(name);
    if let Some(upper) = buf.get_mut(base..) {
        upper.make_ascii_uppercase();
    }
    // Where each piece of a split starts: pieces are separated by exactly one byte.
    let mut at = base;
    for raw in name
        .as_bytes()
        .split(|b| !(b.is_ascii_alphanumeric() || *b == b'.'))
    {
        let start = at;
        at += raw.len() + 1;
        if !raw.contains(&b'.') {
            if !raw.is_empty() {
                words.push((start, start + raw.len()));
            }
            continue;
        }
        let parts = || raw.split(|b| *b == b'.');
        let (mut n, mut short) = (0, true);
        for p in parts().filter(|p| !p.is_empty()) {
            n += 1;
            short &= p.len() <= 2;
        }
        if n > 1 && short {
            // A dotted abbreviation: one word, its parts joined after the name.
            let from = buf.len();
            for p in parts() {
                buf.extend(p.iter().map(|b| char::from(b.to_ascii_uppercase())));
            }
            words.push((from, buf.len()));
        } else {
            let mut part = start;
            for p in parts() {
                if !p.is_empty() {
                    words.push((part, part + p.len()));
                }
                part += p.len() + 1;
            }
        }
    }
}

/// Normalises a person or company name for matching: upper case, punctuation dropped,
/// legal-form words left out, words sorted, so that `LIFSHITS, Artem` and `Artem
/// Lifshits` are the same name, and so are `OOO Neobit`, `NEOBIT, LLC` and `OBSHCHESTVO S
/// OGRANICHENNOI OTVETSTVENNOSTYU NEOBIT`. A name made only of legal-form words keeps them.
#[must_use]
pub fn normalize_name(name: &str) -> String {
    let mut buf = String::with_capacity(name.len() + 8);
    let mut ranges = Vec::with_capacity(8);
    name_words(name, &mut buf, &mut ranges);
    // Names have few words: they stay on the stack, this runs for every party screened.
    let words: SmallVec<[&str; 8]> = ranges
        .iter()
        .map(|&(a, b)| buf.get(a..b).unwrap_or_default())
        .collect();
    let mut kept: SmallVec<[&str; 8]> = SmallVec::new();
    let mut rest: &[&str] = &words;
    let (forms, phrase_starts) = legal_form_index();
    while let Some((first, tail)) = rest.split_first() {
        // Most words start no phrase: look the phrases up only for those that do.
        let phrase = phrase_starts.contains(first).then(|| {
            LEGAL_FORM_PHRASES
                .iter()
                .find(|p| rest.len() >= p.len() && p.iter().zip(rest).all(|(a, b)| a == b))
        });
        if let Some(Some(p)) = phrase {
            rest = rest.get(p.len()..).unwrap_or_default();
        } else {
            if !forms.contains(first) {
                kept.push(first);
            }
            rest = tail;
        }
    }
    if kept.is_empty() {
        kept = words;
    }
    kept.sort_unstable();
    kept.join(" ")
}

/// True when a name has something to match on: [`normalize_name`] of it is not empty.
#[must_use]
pub fn is_name(name: &str) -> bool {
    name.chars().any(char::is_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::normalize_name;
    use proptest::prelude::*;

    fn string_set(keys: &[String]) -> super::ListSet {
        super::ListSet {
            name: "s".into(),
            kind: super::ListKind::Str,
            title: None,
            source: None,
            as_of: None,
            entries: keys
                .iter()
                .map(|k| super::Entry {
                    key: k.clone(),
                    attrs: Vec::new(),
                    origin: None,
                })
                .collect(),
            index: super::SetIndex::default(),
            span: crate::source::Span::default(),
            inline: false,
        }
    }

    proptest! {
        /// The hashed prefix search finds the entry the plain scan finds: the first in list
        /// order, for short and long sets, duplicate and empty keys, multi-byte text.
        #[test]
        fn find_prefix_is_the_first_entry_that_is_a_prefix(
            keys in prop::collection::vec("[3-5][A-Dé]{0,3}[0-9]{0,2}", 0..60),
            texts in prop::collection::vec("[3-5][A-Dé]{0,4}[0-9]{0,3}", 1..20),
        ) {
            let set = string_set(&keys);
            for text in &texts {
                let plain = keys.iter().position(|k| text.starts_with(k.as_str()));
                prop_assert_eq!(set.find_prefix(text), plain, "{}", text);
            }
        }

        /// The country table finds what the exact keys find, for every code, with
        /// duplicate keys and keys that are not codes.
        #[test]
        fn find_country_is_find_exact(
            keys in prop::collection::vec("[A-Z]{2}|[A-Z][a-z]|[A-Z]{3}", 0..40),
        ) {
            let mut set = string_set(&keys);
            set.kind = super::ListKind::Country;
            set.index = crate::lists::build_index(super::ListKind::Country, &set.entries, &keys, &[]);
            prop_assert!(!set.index.countries.is_empty());
            for a in b'A'..=b'Z' {
                for b in b'A'..=b'Z' {
                    let text = String::from_utf8(vec![a, b]).unwrap();
                    if let Ok(c) = crate::types::CountryCode::parse(&text) {
                        prop_assert_eq!(set.find_country(c), set.find_exact(&text), "{}", text);
                    }
                }
            }
        }

        /// The words of an ASCII name, found byte by byte, are those of the plain
        /// definition: dotted abbreviations, runs of dots and punctuation included.
        #[test]
        fn ascii_name_words_are_the_plain_words(
            name in "[ -~]{0,40}|[A-Za-z .,&-]{0,30}|([A-Za-z]{1,3}[.]{1,2}){0,5}[A-Za-z]{0,4}",
        ) {
            let (mut buf, mut ranges) = (String::new(), Vec::new());
            super::name_words(&name, &mut buf, &mut ranges);
            let words: Vec<&str> = ranges.iter().map(|&(a, b)| &buf[a..b]).collect();
            prop_assert_eq!(words, plain_words(&name), "{}", name);
        }

        /// Skipping the prefix lengths no key has finds what looking every length up finds.
        #[test]
        fn find_hs_is_the_most_specific_entry(
            keys in prop::collection::vec("[0-9]{4,10}", 0..40),
            codes in prop::collection::vec("[0-9]{4,10}", 1..20),
        ) {
            let mut set = string_set(&keys);
            set.kind = super::ListKind::Hs;
            set.index = crate::lists::build_index(super::ListKind::Hs, &set.entries, &keys, &[]);
            for code in &codes {
                let hs = crate::types::HsCode::parse(code).unwrap();
                let d = hs.digits();
                let plain = (4..=d.len())
                    .rev()
                    .find_map(|n| keys.iter().position(|k| k.as_str() == &d[..n]));
                prop_assert_eq!(set.find_hs(&hs), plain, "{}", code);
            }
        }
    }

    /// The definition of a name's words, written plainly: what the one-buffer version in
    /// `name_words` must give.
    fn plain_words(name: &str) -> Vec<String> {
        let mut out = Vec::new();
        for raw in name.split(|c: char| !(c.is_alphanumeric() || c == '.')) {
            let parts: Vec<&str> = raw.split('.').filter(|p| !p.is_empty()).collect();
            if parts.len() > 1 && parts.iter().all(|p| p.chars().count() <= 2) {
                out.push(parts.concat().to_uppercase());
            } else {
                out.extend(parts.iter().map(|p| p.to_uppercase()));
            }
        }
        out
    }

    #[test]
    fn name_words_agree_with_the_plain_definition_on_every_ofac_name() {
        let mut names = vec![
            "S.A. de C.V.".to_string(),
            "K.K.".into(),
            "Straße GmbH".into(),
            "...".into(),
            "A.B.CDE".into(),
            "ǅemal".into(),
        ];
        for file in ["rules/data/ofac/sdn.csv", "rules/data/ofac/alt.csv"] {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_path(file)
                .unwrap();
            names.extend(reader.records().filter_map(|r| {
                let r = r.ok()?;
                Some(r.get(1).unwrap_or_default().to_string() + " " + r.get(3).unwrap_or_default())
            }));
        }
        assert!(names.len() > 10_000, "{} names", names.len());
        for name in &names {
            let (mut buf, mut ranges) = (String::new(), Vec::new());
            super::name_words(name, &mut buf, &mut ranges);
            let words: Vec<&str> = ranges.iter().map(|&(a, b)| &buf[a..b]).collect();
            assert_eq!(words, plain_words(name), "`{name}`");
            assert_eq!(
                super::is_name(name),
                !normalize_name(name).is_empty(),
                "`{name}`"
            );
        }
    }

    fn same(a: &str, b: &str) {
        assert_eq!(normalize_name(a), normalize_name(b), "`{a}` and `{b}`");
    }

    fn differ(a: &str, b: &str) {
        assert_ne!(normalize_name(a), normalize_name(b), "`{a}` and `{b}`");
    }

    #[test]
    fn case_punctuation_and_word_order_do_not_matter() {
        same(
            "LIFSHITS, Artem Mikhaylovich",
            "Artem Mikhaylovich Lifshits",
        );
        same("BEL-KAP-STEEL", "bel kap steel");
        assert_eq!(normalize_name("Artem  LIFSHITS"), "ARTEM LIFSHITS");
    }

    #[test]
    fn legal_form_words_are_ignored() {
        for form in [
            "LLC",
            "OOO",
            "GmbH",
            "AO",
            "OAO",
            "ZAO",
            "PAO",
            "JSC",
            "LTD",
            "Limited",
            "Inc.",
            "Corp.",
            "SA",
            "S.A.",
            "AG",
            "FZE",
            "FZCO",
            "TOO",
            "PLC",
            "S.p.A.",
            "A.S.",
            "K.K.",
            "Co., Ltd.",
            "FZ-LLC",
            "PJSC",
            "ООО",
        ] {
            same(
                &format!("Gulf Precision Trading {form}"),
                "Gulf Precision Trading",
            );
            same(
                &format!("{form} Gulf Precision Trading"),
                "GULF PRECISION TRADING",
            );
        }
    }

    #[test]
    fn legal_forms_written_out_are_ignored() {
        same(
            "OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU NEOBIT",
            "NEOBIT, OOO",
        );
        same("AKTSIONERNOE OBSHCHESTVO PASIT", "PASIT, AO");
        same(
            "JSC POSITIVE TECHNOLOGIES",
            "Positive Technologies Joint-Stock Company",
        );
        same(
            "Limited Liability Company Southern Project",
            "Southern Project LLC",
        );
        same("OTKRYTOE AKTSIONERNOE OBSHCHESTVO X", "X OAO");
    }

    #[test]
    fn different_names_stay_different() {
        differ("Gulf Precision Trading FZE", "Gulf Precision FZE");
        differ("KHOROSHEV, Dmitry Yuryevich", "KHOROSHEV, Dmitry");
        // A form word is ignored only as a whole word, never inside another word.
        differ("Agora Trading", "Ora Trading");
        differ("Coastal Ltd", "Astal Ltd");
        // Initials are not a dotted legal form: `J.Smith` is `J SMITH`.
        assert_eq!(normalize_name("J.Smith"), "J SMITH");
    }

    #[test]
    fn a_name_of_legal_form_words_only_keeps_them() {
        assert_eq!(
            normalize_name("Limited Liability Company"),
            "COMPANY LIABILITY LIMITED"
        );
        assert_eq!(normalize_name("A.O."), "AO");
        assert!(!normalize_name("LLC").is_empty());
    }
}
