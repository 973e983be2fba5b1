//! A small decision procedure over compiled conditions, for the lints that ask whether a
//! condition can hold, always holds, or implies another.
//!
//! Conditions are put in negation normal form and expanded into a bounded disjunction of
//! conjunctions; each conjunction is checked per fact (equalities, ranges, list
//! membership, presence). The answer "unsatisfiable" is only given when it is proved;
//! anything the procedure does not understand, or a formula too large to expand, counts
//! as satisfiable. Reasoning is two-valued: "can never hold" means never true for any
//! values of the facts; a missing fact can still make such a condition unknown.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Days;

use crate::ast::{CompareOp, TimeUnit};
use crate::compile::{Cond, Const, FactPath, ListKind, ListSet, Lookup, Root, Value, quantified};
use crate::schema::Field;
use crate::types::{Date, HsCode};

/// Conjunctions a formula may expand to before the procedure gives up (answers "maybe").
const MAX_CUBES: usize = 512;

/// Where a fact path starts; variable slots can be renamed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RootKey {
    Shipment,
    Var(usize),
    AsOf,
    RuleId,
    RuleRegime,
    /// A value with no path (count, sum): unique to its binding slot.
    Opaque(String),
}

/// A fact, or a derived value, that tests constrain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    root: RootKey,
    steps: Vec<Field>,
    /// Ownership by a list, date shifts: text appended to the path.
    extra: String,
}

impl Key {
    fn of_path(fp: &FactPath) -> Key {
        let root = match fp.root {
            Root::Shipment => RootKey::Shipment,
            Root::Var(s) => RootKey::Var(s),
            Root::AsOf => RootKey::AsOf,
            Root::RuleId => RootKey::RuleId,
            Root::RuleRegime => RootKey::RuleRegime,
        };
        Key {
            root,
            steps: fp.steps.clone(),
            extra: String::new(),
        }
    }

    /// True when `self` is `other` or a prefix of it (`end_user` of `end_user.country`).
    fn covers(&self, other: &Key) -> bool {
        self.root == other.root
            && self.extra.is_empty()
            && other.steps.len() >= self.steps.len()
            && other.steps.iter().zip(&self.steps).all(|(a, b)| a == b)
    }

    fn map_slots(&self, f: &impl Fn(usize) -> usize) -> Key {
        let root = match &self.root {
            RootKey::Var(s) => RootKey::Var(f(*s)),
            RootKey::Opaque(t) => RootKey::Opaque(shift_opaque(t, f)),
            other => other.clone(),
        };
        Key {
            root,
            steps: self.steps.clone(),
            extra: self.extra.clone(),
        }
    }
}

/// Opaque keys are `count@N` / `sum@N`: the slot number is renamed with the rest.
fn shift_opaque(t: &str, f: &impl Fn(usize) -> usize) -> String {
    match t.split_once('@') {
        Some((what, n)) => match n.parse::<usize>() {
            Ok(n) => format!("{what}@{}", f(n)),
            Err(_) => t.to_string(),
        },
        None => t.to_string(),
    }
}

/// A constant, ordered where the language orders it.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Num(f64),
    Date(Date),
    Text(String),
    Hs(HsCode),
    Bool(bool),
}

impl Val {
    fn of(c: &Const) -> Val {
        match c {
            Const::Str(s) => Val::Text(s.to_string()),
            Const::Num(n) => Val::Num(*n),
            Const::Date(d) => Val::Date(*d),
            Const::Bool(b) => Val::Bool(*b),
            Const::Country(c) => Val::Text(c.as_str().to_string()),
            Const::Hs(h) => Val::Hs(*h),
        }
    }

    fn cmp(&self, other: &Val) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Val::Num(a), Val::Num(b)) => a.partial_cmp(b),
            (Val::Date(a), Val::Date(b)) => Some(a.cmp(b)),
            (Val::Text(a), Val::Text(b)) => Some(a.cmp(b)),
            (Val::Hs(a), Val::Hs(b)) => Some(a.digits().cmp(b.digits())),
            (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// One test, after negations are pushed inwards.
#[derive(Debug, Clone)]
enum Lit {
    /// `fact op constant`.
    Cmp { key: Key, op: CompareOp, val: Val },
    /// `fact op fact`, two different facts.
    Rel { a: Key, op: CompareOp, b: Key },
    /// Membership in a list looked up by value.
    In {
        key: Key,
        set: Arc<ListSet>,
        neg: bool,
    },
    /// `is present` / `is missing`.
    Present { key: Key, missing: bool },
    /// Anything else, compared by its text (for `a and not a`), on the facts it reads.
    Atom {
        text: String,
        reads: Vec<Key>,
        neg: bool,
    },
}

impl Lit {
    fn reads(&self) -> Vec<&Key> {
        match self {
            Lit::Cmp { key, .. } | Lit::In { key, .. } => vec![key],
            Lit::Rel { a, b, .. } => vec![a, b],
            Lit::Present { .. } => vec![],
            Lit::Atom { reads, .. } => reads.iter().collect(),
        }
    }

    fn map_slots(&self, f: &impl Fn(usize) -> usize) -> Lit {
        match self {
            Lit::Cmp { key, op, val } => Lit::Cmp {
                key: key.map_slots(f),
                op: *op,
                val: val.clone(),
            },
            Lit::Rel { a, op, b } => Lit::Rel {
                a: a.map_slots(f),
                op: *op,
                b: b.map_slots(f),
            },
            Lit::In { key, set, neg } => Lit::In {
                key: key.map_slots(f),
                set: Arc::clone(set),
                neg: *neg,
            },
            Lit::Present { key, missing } => Lit::Present {
                key: key.map_slots(f),
                missing: *missing,
            },
            Lit::Atom { text, reads, neg } => Lit::Atom {
                text: text.clone(),
                reads: reads.iter().map(|k| k.map_slots(f)).collect(),
                neg: *neg,
            },
        }
    }
}

/// A condition in negation normal form.
#[derive(Debug, Clone)]
pub enum Form {
    /// A constant.
    Const(bool),
    /// All hold.
    And(Vec<Form>),
    /// One holds.
    Or(Vec<Form>),
    /// One test.
    Lit(Box<LitBox>),
    /// Some element of a collection passes.
    Any(usize, Key, Box<Form>),
    /// Every element passes.
    All(usize, Key, Box<Form>),
}

/// A test, boxed to keep [`Form`] small.
#[derive(Debug, Clone)]
pub struct LitBox(Lit);

impl Form {
    /// The negation normal form of `c`, negated when `neg`.
    #[must_use]
    pub fn of(c: &Cond, neg: bool) -> Form {
        match c {
            Cond::Const(b) => Form::Const(*b != neg),
            Cond::And(xs) => {
                let parts = xs.iter().map(|x| Form::of(x, neg)).collect();
                if neg {
                    Form::Or(parts)
                } else {
                    Form::And(parts)
                }
            }
            Cond::Or(xs) => {
                let parts = xs.iter().map(|x| Form::of(x, neg)).collect();
                if neg {
                    Form::And(parts)
                } else {
                    Form::Or(parts)
                }
            }
            Cond::Not(a) => Form::of(a, !neg),
            Cond::Compare { lhs, op, rhs, .. } => {
                let op = if neg { op.negate() } else { *op };
                compare(lhs, op, rhs)
            }
            Cond::In {
                value,
                set,
                how,
                negated,
            } => {
                let neg = *negated != neg;
                match (how, value_key(value)) {
                    (Lookup::Direct, Some(key)) if set.kind != ListKind::Entity => lit(Lit::In {
                        key,
                        set: Arc::clone(set),
                        neg,
                    }),
                    _ => {
                        let (d, reads) = describe(value);
                        lit(Lit::Atom {
                            text: format!("{d} in list {} by {how:?}", set.name),
                            reads,
                            neg,
                        })
                    }
                }
            }
            Cond::InFact {
                value,
                list,
                negated,
            } => {
                let (d, mut reads) = describe(value);
                reads.push(Key::of_path(list));
                lit(Lit::Atom {
                    text: format!("{d} in fact _"),
                    reads,
                    neg: *negated != neg,
                })
            }
            Cond::StartsWith { value, set } => {
                let (d, reads) = describe(value);
                lit(Lit::Atom {
                    text: format!("{d} starts with {}", set_text(set)),
                    reads,
                    neg,
                })
            }
            Cond::Present { path, missing } => lit(Lit::Present {
                key: Key::of_path(path),
                missing: *missing != neg,
            }),
            Cond::Quant {
                quantifier,
                slot,
                collection,
                body,
            } => {
                let coll = Key::of_path(collection);
                let (is_any, body_neg) = quantified(*quantifier, neg);
                let body = Box::new(Form::of(body, body_neg));
                if is_any {
                    Form::Any(*slot, coll, body)
                } else {
                    Form::All(*slot, coll, body)
                }
            }
            Cond::Truthy(fp) => lit(Lit::Cmp {
                key: Key::of_path(fp),
                op: if neg { CompareOp::Ne } else { CompareOp::Eq },
                val: Val::Bool(true),
            }),
        }
    }

    /// Renames every variable slot, so that two conditions can be combined.
    #[must_use]
    pub fn shift_slots(&self, by: usize) -> Form {
        self.map_slots(&|s| s + by)
    }

    fn map_slots(&self, f: &impl Fn(usize) -> usize) -> Form {
        match self {
            Form::Const(b) => Form::Const(*b),
            Form::And(xs) => Form::And(xs.iter().map(|x| x.map_slots(f)).collect()),
            Form::Or(xs) => Form::Or(xs.iter().map(|x| x.map_slots(f)).collect()),
            Form::Lit(l) => Form::Lit(Box::new(LitBox(l.0.map_slots(f)))),
            Form::Any(s, k, b) => Form::Any(f(*s), k.map_slots(f), Box::new(b.map_slots(f))),
            Form::All(s, k, b) => Form::All(f(*s), k.map_slots(f), Box::new(b.map_slots(f))),
        }
    }
}

fn lit(l: Lit) -> Form {
    Form::Lit(Box::new(LitBox(l)))
}

/// A value for an atom's text: `_` for a fact (its key goes to the reads), or the constant.
fn describe(v: &Value) -> (String, Vec<Key>) {
    match value_key(v) {
        Some(k) => ("_".into(), vec![k]),
        None => (
            const_of(v).map_or_else(|| "?".into(), |c| format!("{c:?}")),
            vec![],
        ),
    }
}

fn set_text(set: &ListSet) -> String {
    if set.inline {
        let mut keys: Vec<&str> = set.entries.iter().map(|e| e.key.as_str()).collect();
        keys.sort_unstable();
        format!("[{}]", keys.join(","))
    } else {
        set.name.clone()
    }
}

/// The key a value stands for; `None` for a constant.
fn value_key(v: &Value) -> Option<Key> {
    match v {
        Value::Fact(fp) => Some(Key::of_path(fp)),
        Value::Const(_) => None,
        Value::Ownership { party, list } => {
            let mut k = Key::of_path(party);
            k.extra = format!("ownership by {}", list.name);
            Some(k)
        }
        Value::Count { slot, .. } => Some(Key {
            root: RootKey::Opaque(format!("count@{slot}")),
            steps: vec![],
            extra: String::new(),
        }),
        Value::Sum { slot, .. } => Some(Key {
            root: RootKey::Opaque(format!("sum@{slot}")),
            steps: vec![],
            extra: String::new(),
        }),
        Value::Shift { base, amount, unit } => {
            let mut k = value_key(base)?;
            k.extra.push_str(&format!(" {amount:+} {unit:?}"));
            Some(k)
        }
    }
}

/// A constant value, with date shifts applied.
fn const_of(v: &Value) -> Option<Val> {
    match v {
        Value::Const(c) => Some(Val::of(c)),
        Value::Shift { base, amount, unit } => {
            let Val::Date(d) = const_of(base)? else {
                return None;
            };
            let n = amount.unsigned_abs();
            let shifted = match unit {
                TimeUnit::Days => {
                    if *amount >= 0 {
                        d.checked_add_days(Days::new(n))
                    } else {
                        d.checked_sub_days(Days::new(n))
                    }
                }
                TimeUnit::Months | TimeUnit::Years => {
                    let m =
                        u32::try_from(if *unit == TimeUnit::Years { n * 12 } else { n }).ok()?;
                    if *amount >= 0 {
                        d.checked_add_months(chrono::Months::new(m))
                    } else {
                        d.checked_sub_months(chrono::Months::new(m))
                    }
                }
            }?;
            Some(Val::Date(shifted))
        }
        _ => None,
    }
}

fn compare(lhs: &Value, op: CompareOp, rhs: &Value) -> Form {
    match (const_of(lhs), const_of(rhs)) {
        (Some(a), Some(b)) => match a.cmp(&b) {
            Some(o) => Form::Const(op.holds(o)),
            None => atom_cmp(lhs, op, rhs),
        },
        (None, Some(val)) => match value_key(lhs) {
            Some(key) => lit(Lit::Cmp { key, op, val }),
            None => atom_cmp(lhs, op, rhs),
        },
        (Some(val), None) => match value_key(rhs) {
            Some(key) => lit(Lit::Cmp {
                key,
                op: op.mirror(),
                val,
            }),
            None => atom_cmp(lhs, op, rhs),
        },
        (None, None) => match (value_key(lhs), value_key(rhs)) {
            // A fact compared with itself: decided whenever the fact is known.
            (Some(a), Some(b)) if a == b => Form::Const(op.holds(std::cmp::Ordering::Equal)),
            (Some(a), Some(b)) => lit(Lit::Rel { a, op, b }),
            _ => atom_cmp(lhs, op, rhs),
        },
    }
}

fn atom_cmp(lhs: &Value, op: CompareOp, rhs: &Value) -> Form {
    let (a, mut reads) = describe(lhs);
    let (b, more) = describe(rhs);
    reads.extend(more);
    lit(Lit::Atom {
        text: format!("{a} {} {b}", op.symbol()),
        reads,
        neg: false,
    })
}

/// One conjunction: tests and quantifiers.
#[derive(Debug, Clone, Default)]
struct Cube {
    lits: Vec<Lit>,
    anys: Vec<(usize, Key, Form)>,
    alls: Vec<(usize, Key, Form)>,
}

impl Cube {
    fn join(&self, other: &Cube) -> Cube {
        let mut c = self.clone();
        c.lits.extend(other.lits.iter().cloned());
        c.anys.extend(other.anys.iter().cloned());
        c.alls.extend(other.alls.iter().cloned());
        c
    }
}

/// The conjunctions `f` expands to; `None` when there would be too many.
fn cubes(f: &Form) -> Option<Vec<Cube>> {
    match f {
        Form::Const(true) => Some(vec![Cube::default()]),
        Form::Const(false) => Some(vec![]),
        Form::Lit(l) => Some(vec![Cube {
            lits: vec![l.0.clone()],
            ..Cube::default()
        }]),
        Form::Any(s, k, b) => Some(vec![Cube {
            anys: vec![(*s, k.clone(), (**b).clone())],
            ..Cube::default()
        }]),
        Form::All(s, k, b) => Some(vec![Cube {
            alls: vec![(*s, k.clone(), (**b).clone())],
            ..Cube::default()
        }]),
        Form::Or(xs) => {
            let mut out = Vec::new();
            for x in xs {
                out.extend(cubes(x)?);
                if out.len() > MAX_CUBES {
                    return None;
                }
            }
            Some(out)
        }
        Form::And(xs) => {
            let mut acc = vec![Cube::default()];
            for x in xs {
                let cs = cubes(x)?;
                if acc.len().saturating_mul(cs.len()) > MAX_CUBES {
                    return None;
                }
                acc = acc
                    .iter()
                    .flat_map(|a| cs.iter().map(move |c| a.join(c)))
                    .collect();
            }
            Some(acc)
        }
    }
}

/// False only when `f` is proved never to hold.
#[must_use]
pub fn satisfiable(f: &Form) -> bool {
    sat(f, &[], 0)
}

/// True when `f` is proved to hold whenever the facts it reads are known.
#[must_use]
pub fn valid(c: &Cond) -> bool {
    !satisfiable(&Form::of(c, true))
}

/// True when `a` and `b` can hold together (`false` only when proved disjoint).
#[must_use]
pub fn overlap(a: &Cond, b: &Cond, slots: usize) -> bool {
    satisfiable(&Form::And(vec![
        Form::of(a, false),
        Form::of(b, false).shift_slots(slots),
    ]))
}

/// Nesting of quantifier bodies beyond which the procedure answers "maybe".
const MAX_DEPTH: usize = 16;

fn sat(f: &Form, outer: &[Lit], depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return true;
    }
    let Some(cs) = cubes(f) else { return true };
    cs.iter().any(|c| cube_sat(c, outer, depth))
}

fn cube_sat(c: &Cube, outer: &[Lit], depth: usize) -> bool {
    let mut lits: Vec<&Lit> = outer.iter().collect();
    lits.extend(c.lits.iter());
    if !lits_sat(&lits, &c.anys) {
        return false;
    }
    // Each `any` names an element; every `all` over the same collection holds for it too.
    let context: Vec<Lit> = lits.iter().map(|l| (*l).clone()).collect();
    for (slot, coll, body) in &c.anys {
        let mut parts = vec![body.clone()];
        for (s2, coll2, body2) in &c.alls {
            if coll2 == coll {
                let (from, to) = (*s2, *slot);
                parts.push(body2.map_slots(&|s| if s == from { to } else { s }));
            }
        }
        if !sat(&Form::And(parts), &context, depth + 1) {
            return false;
        }
    }
    true
}

/// Constraints gathered on one key.
#[derive(Default)]
struct OnKey<'a> {
    cmps: Vec<(CompareOp, &'a Val)>,
    ins: Vec<&'a ListSet>,
    not_ins: Vec<&'a ListSet>,
}

fn lits_sat(lits: &[&Lit], anys: &[(usize, Key, Form)]) -> bool {
    let mut by_key: HashMap<&Key, OnKey<'_>> = HashMap::new();
    let mut atoms: HashMap<(&str, &[Key]), bool> = HashMap::new();
    let mut rels: HashMap<(String, String), [bool; 3]> = HashMap::new();
    let mut missing: Vec<&Key> = Vec::new();
    let mut present: Vec<&Key> = Vec::new();
    for l in lits {
        match l {
            Lit::Cmp { key, op, val } => by_key.entry(key).or_default().cmps.push((*op, val)),
            Lit::In { key, set, neg } => {
                let k = by_key.entry(key).or_default();
                if *neg {
                    k.not_ins.push(set);
                } else {
                    k.ins.push(set);
                }
            }
            Lit::Present { key, missing: m } => {
                if *m {
                    missing.push(key);
                } else {
                    present.push(key);
                }
            }
            Lit::Atom { text, reads, neg } => {
                if atoms
                    .insert((text.as_str(), reads.as_slice()), *neg)
                    .is_some_and(|n| n != *neg)
                {
                    return false;
                }
            }
            Lit::Rel { a, op, b } => {
                // Orderings allowed: [less, equal, greater] of a against b.
                let (a, b) = (format!("{a:?}"), format!("{b:?}"));
                let (k, op) = if a <= b {
                    ((a, b), *op)
                } else {
                    ((b, a), op.mirror())
                };
                let allowed = rels.entry(k).or_insert([true; 3]);
                for (i, o) in [
                    std::cmp::Ordering::Less,
                    std::cmp::Ordering::Equal,
                    std::cmp::Ordering::Greater,
                ]
                .into_iter()
                .enumerate()
                {
                    if !op.holds(o)
                        && let Some(x) = allowed.get_mut(i)
                    {
                        *x = false;
                    }
                }
                if allowed.iter().all(|x| !x) {
                    return false;
                }
            }
        }
    }
    // A missing fact makes every test of its value unknown, never true.
    for m in &missing {
        if present.iter().any(|p| m.covers(p))
            || lits.iter().any(|l| l.reads().iter().any(|k| m.covers(k)))
            || anys.iter().any(|(_, coll, _)| m.covers(coll))
        {
            return false;
        }
    }
    by_key.values().all(key_sat)
}

fn key_sat(k: &OnKey<'_>) -> bool {
    let eqs: Vec<&Val> = k
        .cmps
        .iter()
        .filter(|(op, _)| *op == CompareOp::Eq)
        .map(|(_, v)| *v)
        .collect();
    if let Some(first) = eqs.first() {
        // A value fixed by `==` must pass every other test.
        return k
            .cmps
            .iter()
            .all(|(op, v)| first.cmp(v).is_none_or(|o| op.holds(o)))
            && k.ins.iter().all(|s| member(s, first) != Some(false))
            && k.not_ins.iter().all(|s| member(s, first) != Some(true));
    }
    if k.ins.iter().any(|s| s.entries.is_empty()) {
        return false;
    }
    if !range_sat(&k.cmps) {
        return false;
    }
    match k.ins.first() {
        None => true,
        Some(first) if first.kind == ListKind::Hs => hs_sat(k),
        Some(first) => {
            // Finite sets: some entry of the first list must pass every test.
            first.index.exact.keys().any(|e| {
                let v = Val::Text(e.to_string());
                k.ins.iter().all(|s| s.find_exact(e).is_some())
                    && k.not_ins.iter().all(|s| s.find_exact(e).is_none())
                    && k.cmps
                        .iter()
                        .all(|(op, c)| v.cmp(c).is_none_or(|o| op.holds(o)))
            }) || first.index.exact.is_empty() && !first.entries.is_empty()
        }
    }
}

/// Whether a constant is in a set; `None` when it cannot be told.
fn member(s: &ListSet, v: &Val) -> Option<bool> {
    match (s.kind, v) {
        (ListKind::Hs, Val::Hs(h)) => Some(s.find_hs(h).is_some()),
        (ListKind::Country | ListKind::Eccn | ListKind::Str, Val::Text(t)) => {
            if s.index.exact.is_empty() && !s.entries.is_empty() {
                None
            } else {
                Some(s.find_exact(t).is_some())
            }
        }
        _ => None,
    }
}

/// HS codes: some code must fall under every `in` list and under no `not in` list. The
/// longest of the entries it falls under can be taken as the code, so trying each
/// entry of the `in` lists is exact.
fn hs_sat(k: &OnKey<'_>) -> bool {
    k.ins.iter().flat_map(|s| s.entries.iter()).any(|e| {
        let Ok(h) = HsCode::parse(&e.key) else {
            return true;
        };
        k.ins.iter().all(|s| s.find_hs(&h).is_some())
            && k.not_ins.iter().all(|s| s.find_hs(&h).is_none())
    })
}

/// Numbers and dates: the bounds leave room for a value, and not only one excluded by `!=`.
fn range_sat(cmps: &[(CompareOp, &Val)]) -> bool {
    use std::cmp::Ordering;
    let mut lo: Option<(&Val, bool)> = None; // (bound, strict)
    let mut hi: Option<(&Val, bool)> = None;
    for (op, v) in cmps {
        match op {
            CompareOp::Gt | CompareOp::Ge => {
                let strict = *op == CompareOp::Gt;
                lo = match lo {
                    Some((b, s)) => match v.cmp(b) {
                        Some(Ordering::Greater) => Some((v, strict)),
                        Some(Ordering::Equal) => Some((b, s || strict)),
                        _ => Some((b, s)),
                    },
                    None => Some((v, strict)),
                };
            }
            CompareOp::Lt | CompareOp::Le => {
                let strict = *op == CompareOp::Lt;
                hi = match hi {
                    Some((b, s)) => match v.cmp(b) {
                        Some(Ordering::Less) => Some((v, strict)),
                        Some(Ordering::Equal) => Some((b, s || strict)),
                        _ => Some((b, s)),
                    },
                    None => Some((v, strict)),
                };
            }
            _ => {}
        }
    }
    let (Some((l, ls)), Some((h, hs))) = (lo, hi) else {
        return true;
    };
    // Dates are whole days: `after D` is `on or after D + 1`.
    let (l, ls, h, hs) = match (l, h) {
        (Val::Date(a), Val::Date(b)) => {
            let a = if ls { a.succ_opt().unwrap_or(*a) } else { *a };
            let b = if hs { b.pred_opt().unwrap_or(*b) } else { *b };
            return match a.cmp(&b) {
                Ordering::Greater => false,
                Ordering::Equal => !cmps
                    .iter()
                    .any(|(op, v)| *op == CompareOp::Ne && **v == Val::Date(a)),
                Ordering::Less => true,
            };
        }
        _ => (l, ls, h, hs),
    };
    match l.cmp(h) {
        Some(Ordering::Greater) => false,
        Some(Ordering::Equal) => {
            !ls && !hs
                && !cmps
                    .iter()
                    .any(|(op, v)| *op == CompareOp::Ne && l.cmp(v) == Some(Ordering::Equal))
        }
        _ => true,
    }
}
