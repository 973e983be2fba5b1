//! Evaluation: a compiled rule set applied to one shipment, in three-valued (Kleene)
//! logic that fails closed. A first pass decides each rule cheaply; rules that fire or
//! stay undecided are evaluated again with tracing on, to collect their evidence and
//! the facts they missed.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use smallvec::SmallVec;

use crate::ast::{CompareOp, Leaves, TimeUnit};
use crate::compile::{
    Cond, Const, CountryOf, FactPath, Fast, ListSet, Lookup, Reach, Root, Rule, RuleSet, Segment,
    Value, quantified,
};
use crate::facts::{Contract, Item, License, Money, Owner, Party, Shipment};
use crate::schema::{Field, Ty};
use crate::types::{CountryCode, Date, HsCode, Verdict};
use crate::verdict::{
    Evidence, ExceptionNote, ExceptionOutcome, Finding, Missing, NotFired, Outcome, Text,
};

/// Kleene truth values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    /// Does not hold.
    False,
    /// Cannot be decided: a fact it needs is missing.
    Unknown,
    /// Holds.
    True,
}

impl Tri {
    fn from(b: bool) -> Tri {
        if b { Tri::True } else { Tri::False }
    }
}

/// How to evaluate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Evaluate as of this date instead of the shipment's.
    pub as_of: Option<Date>,
    /// Also say why each rule in force did not fire.
    pub explain: bool,
}

/// A value met during evaluation; borrows from the shipment and the rule set, so that
/// binding and passing one is a copy.
#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    Str(&'a str),
    Num(f64),
    /// A number only known to lie in `lo..=hi`: a count or sum over elements some of
    /// which are undecided. Comparisons decide when the whole range agrees.
    Range(f64, f64),
    Date(Date),
    Bool(bool),
    Country(CountryCode),
    Hs(&'a HsCode),
    /// An HS code read from an extra fact: the text as written, known to parse; it is
    /// parsed again where it is used, which keeps values borrowed (extras are rare).
    HsText(&'a str),
    Shipment(&'a Shipment),
    Party(&'a Party),
    Item(&'a Item),
    Money(&'a Money),
    Contract(&'a Contract),
    License(&'a License),
    List(List<'a>),
}

#[derive(Debug, Clone, Copy)]
enum List<'a> {
    Items(&'a [Item]),
    Parties(&'a [Party]),
    Owners(&'a [Owner]),
    Countries(&'a [CountryCode]),
    Strings(&'a [String]),
    Licenses(&'a [License]),
    AllParties(&'a Shipment),
    Yaml(&'a [serde_yaml::Value]),
}

impl<'a> List<'a> {
    fn len(self) -> usize {
        match self {
            List::Items(v) => v.len(),
            List::Parties(v) => v.len(),
            List::Owners(v) => v.len(),
            List::Countries(v) => v.len(),
            List::Strings(v) => v.len(),
            List::Licenses(v) => v.len(),
            List::AllParties(s) => {
                2 + usize::from(s.end_user.is_some())
                    + s.intermediaries.as_ref().map_or(0, Vec::len)
            }
            List::Yaml(v) => v.len(),
        }
    }

    fn get(self, i: usize) -> Option<Val<'a>> {
        Some(match self {
            List::Items(v) => Val::Item(v.get(i)?),
            List::Parties(v) => Val::Party(v.get(i)?),
            List::Owners(v) => Val::Party(&v.get(i)?.0),
            List::Countries(v) => Val::Country(*v.get(i)?),
            List::Strings(v) => Val::Str(v.get(i)?),
            List::Licenses(v) => Val::License(v.get(i)?),
            List::AllParties(s) => Val::Party(party_at(s, i)?.1),
            List::Yaml(v) => yaml_scalar(v.get(i)?)?,
        })
    }

    /// Writes the concrete path of element `i` when it is not simply `collection[i]`;
    /// false when it is.
    fn write_label(self, i: usize, out: &mut String) -> bool {
        match self {
            List::AllParties(s) => match party_at(s, i) {
                Some((PartyLabel::Named(n), _)) => {
                    out.push_str(n);
                    true
                }
                Some((PartyLabel::Intermediary(k), _)) => {
                    out.push_str("intermediaries");
                    push_index(out, k);
                    true
                }
                None => false,
            },
            _ => false,
        }
    }
}

/// Appends `[i]`: paths of elements are rendered for every missing fact and every piece
/// of evidence about one, and the formatting machinery cost more than the rest.
fn push_index(out: &mut String, i: usize) {
    out.push('[');
    out.push_str(itoa::Buffer::new().format(i));
    out.push(']');
}

/// Where a party of `parties` sits in the shipment: a named field or an intermediary.
#[derive(Clone, Copy)]
enum PartyLabel {
    Named(&'static str),
    Intermediary(usize),
}

/// The `i`th of `parties`: exporter, consignee, end user (when given), intermediaries.
/// Indexed directly, as every quantifier step over the parties asks for one element.
fn party_at(s: &Shipment, i: usize) -> Option<(PartyLabel, &Party)> {
    match i {
        0 => Some((PartyLabel::Named("exporter"), &s.exporter)),
        1 => Some((PartyLabel::Named("consignee"), &s.consignee)),
        _ => {
            let mut k = i - 2;
            if let Some(e) = &s.end_user {
                if k == 0 {
                    return Some((PartyLabel::Named("end_user"), e));
                }
                k -= 1;
            }
            let p = s.intermediaries.as_ref()?.get(k)?;
            Some((PartyLabel::Intermediary(k), p))
        }
    }
}

fn yaml_scalar(v: &serde_yaml::Value) -> Option<Val<'_>> {
    match v {
        serde_yaml::Value::String(s) => Some(Val::Str(s)),
        serde_yaml::Value::Number(n) => n.as_f64().map(Val::Num),
        serde_yaml::Value::Bool(b) => Some(Val::Bool(*b)),
        _ => None,
    }
}

/// A declared extra fact, read as its declared type.
fn typed_extra<'a>(v: &'a serde_yaml::Value, ty: &Ty) -> Option<Val<'a>> {
    match (ty, v) {
        (Ty::Str, serde_yaml::Value::String(s)) => Some(Val::Str(s)),
        (Ty::Num | Ty::Percent, serde_yaml::Value::Number(n)) => {
            n.as_f64().filter(|x| x.is_finite()).map(Val::Num)
        }
        (Ty::Bool, serde_yaml::Value::Bool(b)) => Some(Val::Bool(*b)),
        (Ty::Date, serde_yaml::Value::String(s)) => {
            Date::parse_from_str(s, "%Y-%m-%d").ok().map(Val::Date)
        }
        (Ty::Country, serde_yaml::Value::String(s)) => CountryCode::parse(s).ok().map(Val::Country),
        (Ty::Hs, serde_yaml::Value::String(s)) => HsCode::parse(s).ok().map(|_| Val::HsText(s)),
        (Ty::Eccn, serde_yaml::Value::String(s)) => {
            crate::types::Eccn::parse(s).ok().map(|_| Val::Str(s))
        }
        (Ty::List(_), serde_yaml::Value::Sequence(xs)) => Some(Val::List(List::Yaml(xs))),
        _ => None,
    }
}

// Inlined into the one loop that walks paths: a call per step cost as much as the step.
#[allow(clippy::inline_always)]
#[inline(always)]
fn field<'a>(v: &Val<'a>, f: &Field, ty: &Ty) -> Option<Val<'a>> {
    use Field as F;
    match (v, f) {
        (Val::Shipment(s), F::Extra(n)) => typed_extra(s.extra.get(&**n)?, ty),
        (Val::Party(p), F::Extra(n)) => typed_extra(p.extra.get(&**n)?, ty),
        (Val::Item(i), F::Extra(n)) => typed_extra(i.extra.get(&**n)?, ty),
        (Val::Contract(c), F::Extra(n)) => typed_extra(c.extra.get(&**n)?, ty),
        (Val::License(l), F::Extra(n)) => typed_extra(l.extra.get(&**n)?, ty),
        (Val::Shipment(s), f) => Some(match f {
            F::Id => Val::Str(&s.id.0),
            F::Date => Val::Date(s.date),
            F::Exporter => Val::Party(&s.exporter),
            F::Consignee => Val::Party(&s.consignee),
            F::EndUser => Val::Party(s.end_user.as_ref()?),
            F::Intermediaries => Val::List(List::Parties(s.intermediaries.as_ref()?)),
            F::Parties => Val::List(List::AllParties(s)),
            F::Destination => Val::Country(s.destination),
            F::Route => Val::List(List::Countries(s.route.as_ref()?)),
            F::Items => Val::List(List::Items(&s.items)),
            F::Contract => Val::Contract(s.contract.as_ref()?),
            F::Licenses => Val::List(List::Licenses(s.licenses.as_ref()?)),
            _ => return None,
        }),
        (Val::Party(p), f) => Some(match f {
            F::Id => Val::Str(p.id.as_deref()?),
            F::Name => Val::Str(&p.name),
            F::Country => Val::Country(p.country?),
            F::City => Val::Str(p.city.as_deref()?),
            F::Role => Val::Str(p.role.as_deref()?),
            F::EndUse => Val::Str(p.end_use?.as_str()),
            F::Percent => Val::Num(p.percent?.0),
            F::Owners => Val::List(List::Owners(p.owners.as_ref()?)),
            _ => return None,
        }),
        (Val::Item(i), f) => Some(match f {
            F::Description => Val::Str(i.description.as_deref()?),
            F::HsCode => Val::Hs(&i.hs_code),
            F::Eccn => Val::Str(i.eccn.as_ref()?.as_str()),
            F::Origin => Val::Country(i.origin?),
            F::UsContentPercent => Val::Num(i.us_content_percent?.0),
            F::Quantity => Val::Num(i.quantity?.0),
            F::Unit => Val::Str(i.unit.as_deref()?),
            F::Value => Val::Money(i.value.as_ref()?),
            _ => return None,
        }),
        (Val::Money(m), F::Amount) => Some(Val::Num(m.amount.0)),
        (Val::Money(m), F::Currency) => Some(Val::Str(&m.currency.0)),
        (Val::Contract(c), f) => Some(match f {
            F::Id => Val::Str(c.id.as_deref()?),
            F::Date => Val::Date(c.date?),
            F::NoRussiaClause => Val::Bool(c.no_russia_clause?),
            _ => return None,
        }),
        (Val::License(l), f) => Some(match f {
            F::Id => Val::Str(l.id.as_deref()?),
            F::Authority => Val::Str(l.authority.as_deref()?),
            F::Covers => Val::List(List::Strings(&l.covers)),
            F::ValidUntil => Val::Date(l.valid_until?),
            _ => return None,
        }),
        _ => None,
    }
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        if x == 0.0 && x.is_sign_negative() {
            return "-0".into();
        }
        // A whole number below 10^15 is exactly an i64: written as one, as `{x:.0}` would.
        #[allow(clippy::cast_possible_truncation)]
        let whole = x as i64;
        itoa::Buffer::new().format(whole).to_string()
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

impl<'a> Val<'a> {
    /// The HS code of an HS value.
    fn hs(&self) -> Option<Cow<'a, HsCode>> {
        match *self {
            Val::Hs(h) => Some(Cow::Borrowed(h)),
            Val::HsText(s) => HsCode::parse(s).ok().map(Cow::Owned),
            _ => None,
        }
    }

    fn display(&self, ty: &Ty) -> String {
        match self {
            Val::Str(s) => (*s).to_string(),
            Val::Num(n) if *ty == Ty::Percent => {
                let mut s = fmt_num(*n);
                s.push('%');
                s
            }
            Val::Num(n) => fmt_num(*n),
            Val::Range(lo, hi) if hi.is_infinite() => {
                format!("{} or more (some undecided)", fmt_num(*lo))
            }
            Val::Range(lo, hi) => format!("{} to {} (some undecided)", fmt_num(*lo), fmt_num(*hi)),
            // The common kinds are written directly: the formatting machinery cost more
            // than the text.
            Val::Date(d) => {
                let mut s = String::with_capacity(10);
                crate::json_text::push_date(&mut s, *d);
                s
            }
            Val::Bool(b) => if *b { "true" } else { "false" }.to_string(),
            Val::Country(c) => c.as_str().to_string(),
            Val::Hs(_) | Val::HsText(_) => {
                let mut s = String::with_capacity(16);
                if let Some(h) = self.hs() {
                    h.push_dotted(&mut s);
                }
                s
            }
            Val::Party(p) => p.name.as_str().to_owned(),
            Val::Item(i) => i
                .description
                .as_deref()
                .map_or_else(|| i.hs_code.to_string(), str::to_string),
            Val::Money(m) => [&fmt_num(m.amount.0), " ", &m.currency.0].concat(),
            Val::Contract(c) => c.id.clone().unwrap_or_else(|| "contract".into()),
            Val::License(l) => l.id.clone().unwrap_or_else(|| "license".into()),
            Val::Shipment(s) => s.id.0.as_str().to_owned(),
            Val::List(l) => format!("{} entries", l.len()),
        }
    }
}

/// A bound quantifier variable: the element and where it came from.
#[derive(Debug, Clone, Copy)]
struct Bound<'a> {
    val: Val<'a>,
    collection: &'a FactPath,
    list: List<'a>,
    index: usize,
}

struct Env<'a> {
    shipment: &'a Shipment,
    as_of: Date,
    rule: Option<(&'a str, &'a str)>,
    slots: Slots<'a>,
}

/// The variable slots of an evaluation: rule sets bind few variables at once, so they
/// live on the stack, and evaluating a shipment allocates nothing for them.
type Slots<'a> = SmallVec<[Option<Bound<'a>>; 8]>;

/// What tracing collects.
#[derive(Default)]
struct Trace<'a> {
    /// Also say why a condition does not hold (`first_false`): only `--explain` asks.
    why: bool,
    evidence: Vec<Evidence>,
    missing: Vec<String>,
    first_false: Option<String>,
    /// The detail of the last value computed, for its evidence: an ownership chain.
    detail: Option<String>,
    /// Elements that made an `any` hold, by slot, in evaluation order; discarded with
    /// the evidence of a branch that did not count.
    witness: Vec<(usize, Bound<'a>)>,
}

impl Trace<'_> {
    /// True when a test that came out `holds` leaves nothing to record: tracing is off,
    /// or it failed and no one asks why (or the first failure is already told).
    fn skip<const ON: bool>(&self, holds: bool) -> bool {
        !ON || (!holds && (!self.why || self.first_false.is_some()))
    }
}

impl<'a> Env<'a> {
    /// The concrete path of `fp` up to `n` steps, e.g. `items[1].hs_code`.
    fn render(&self, fp: &FactPath, n: usize) -> String {
        // Room for a usual path: growing it push by push cost more than writing it.
        let mut s = String::with_capacity(48);
        self.render_into(fp, n, &mut s);
        s
    }

    /// [`Env::render`] appended to `out`: nested variables write into the one buffer.
    #[allow(clippy::indexing_slicing)] // the start is clamped to the length
    fn render_into(&self, fp: &FactPath, n: usize, out: &mut String) {
        let start = out.len();
        match &fp.root {
            Root::Shipment => {}
            Root::AsOf => out.push_str("as_of"),
            Root::RuleId => out.push_str("rule.id"),
            Root::RuleRegime => out.push_str("rule.regime"),
            Root::Var(slot) => match self.slots.get(*slot).and_then(Option::as_ref) {
                Some(b) => {
                    if !b.list.write_label(b.index, out) {
                        self.render_into(b.collection, b.collection.steps.len(), out);
                        push_index(out, b.index);
                    }
                }
                None => out.push('?'),
            },
        }
        let skip = usize::from(matches!(fp.root, Root::Var(_)));
        let names = match fp.root {
            Root::Shipment | Root::Var(_) => &fp.names[skip.min(fp.names.len())..],
            _ => &[][..],
        };
        for name in names.iter().take(n) {
            if out.len() > start {
                out.push('.');
            }
            out.push_str(name);
        }
    }

    /// The value at `fp`; when it is missing and tracing is on, the path as far as it
    /// went is recorded as a missing fact.
    fn resolve<const ON: bool>(&self, fp: &'a FactPath, tr: &mut Trace<'a>) -> Option<Val<'a>> {
        match self.quick(fp) {
            Some(Some(v)) => Some(v),
            // A miss under tracing walks the steps to record what was missing.
            Some(None) if !ON => None,
            _ => self.walk::<ON>(fp, tr),
        }
    }

    /// The value at `fp` when it is one step from the shipment or from a bound variable,
    /// or a field of a named party, as nearly every path rules test is: taken in one
    /// step, where the rule set's compilation found it (`fp.reach`), without walking the
    /// steps. `None` for other paths.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    #[allow(clippy::option_option)] // none: not a quick path; some none: the fact is missing
    fn quick(&self, fp: &'a FactPath) -> Option<Option<Val<'a>>> {
        debug_assert_eq!(
            fp.reach,
            Reach::of(&fp.root, &fp.steps),
            "a path's reach is decided when it is resolved, from its root and steps"
        );
        let s = self.shipment;
        let ty = &fp.ty;
        let slot = |i: usize| self.slots.get(i).and_then(Option::as_ref).map(|b| b.val);
        Some(match &fp.reach {
            Reach::Shipment(f) => field(&Val::Shipment(s), f, ty),
            Reach::Exporter(f) => field(&Val::Party(&s.exporter), f, ty),
            Reach::Consignee(f) => field(&Val::Party(&s.consignee), f, ty),
            Reach::EndUser(f) => s
                .end_user
                .as_ref()
                .and_then(|p| field(&Val::Party(p), f, ty)),
            Reach::Var(i, f) => slot(*i).and_then(|v| field(&v, f, ty)),
            Reach::Bound(i) => slot(*i),
            Reach::Walk => return None,
        })
    }

    /// [`Env::resolve`] untraced, with the quick paths inline at the caller.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn value_at(&self, fp: &'a FactPath, tr: &mut Trace<'a>) -> Option<Val<'a>> {
        match self.quick(fp) {
            Some(v) => v,
            None => self.walk::<false>(fp, tr),
        }
    }

    /// [`Env::resolve`] step by step.
    fn walk<const ON: bool>(&self, fp: &'a FactPath, tr: &mut Trace<'a>) -> Option<Val<'a>> {
        let mut v = match &fp.root {
            Root::Shipment => Val::Shipment(self.shipment),
            Root::Var(slot) => self.slots.get(*slot)?.as_ref()?.val,
            Root::AsOf => return Some(Val::Date(self.as_of)),
            Root::RuleId => return self.rule.map(|(id, _)| Val::Str(id)),
            Root::RuleRegime => return self.rule.map(|(_, r)| Val::Str(r)),
        };
        let n = fp.steps.len();
        for (i, f) in fp.steps.iter().enumerate() {
            let ty = if i + 1 == n { &fp.ty } else { &Ty::Str };
            match field(&v, f, ty) {
                Some(next) => v = next,
                None => {
                    if ON {
                        let mut path = self.render(fp, i + 1);
                        if let Field::Extra(name) = f
                            && Self::extra_present(&v, name)
                        {
                            let _ = write!(path, " (not {})", fp.ty);
                        }
                        if !tr.missing.contains(&path) {
                            tr.missing.push(path);
                        }
                    }
                    return None;
                }
            }
        }
        Some(v)
    }

    fn extra_present(v: &Val<'a>, name: &str) -> bool {
        match v {
            Val::Shipment(s) => s.extra.contains_key(name),
            Val::Party(p) => p.extra.contains_key(name),
            Val::Item(i) => i.extra.contains_key(name),
            Val::Contract(c) => c.extra.contains_key(name),
            Val::License(l) => l.extra.contains_key(name),
            _ => false,
        }
    }
}

/// The value of `v`. Facts and constants, which nearly every test reads, are taken here
/// at the caller; computed values go through [`computed`].
#[inline]
fn value<'a, const ON: bool>(
    v: &'a Value,
    env: &mut Env<'a>,
    tr: &mut Trace<'a>,
) -> Option<Val<'a>> {
    match v {
        Value::Fact(fp) => env.resolve::<ON>(fp, tr),
        Value::Const(c) => Some(match c {
            Const::Str(s) => Val::Str(s),
            Const::Num(n) => Val::Num(*n),
            Const::Date(d) => Val::Date(*d),
            Const::Bool(b) => Val::Bool(*b),
            Const::Country(c) => Val::Country(*c),
            Const::Hs(h) => Val::Hs(h),
        }),
        _ => computed::<ON>(v, env, tr),
    }
}

/// The value of an ownership share, count, sum or date shift.
fn computed<'a, const ON: bool>(
    v: &'a Value,
    env: &mut Env<'a>,
    tr: &mut Trace<'a>,
) -> Option<Val<'a>> {
    match v {
        Value::Fact(_) | Value::Const(_) => value::<ON>(v, env, tr),
        Value::Ownership { party, list } => {
            let Val::Party(p) = env.resolve::<ON>(party, tr)? else {
                return None;
            };
            let Some(owners) = &p.owners else {
                if ON {
                    let mut path = env.render(party, party.steps.len());
                    path.push_str(".owners");
                    if !tr.missing.contains(&path) {
                        tr.missing.push(path);
                    }
                }
                return None;
            };
            let (share, chain) = owned_share(owners, list, ON);
            if ON {
                tr.detail = Some(if chain.is_empty() {
                    "no listed owner".to_string()
                } else {
                    chain.join("; ")
                });
            }
            Some(Val::Num(share))
        }
        Value::Count {
            slot,
            collection,
            filter,
        } => {
            let Val::List(list) = env.resolve::<ON>(collection, tr)? else {
                return None;
            };
            let (mut n, mut undecided) = (0u32, 0u32);
            for i in 0..list.len() {
                bind(env, *slot, collection, list, i);
                match filter
                    .as_ref()
                    .map_or(Tri::True, |f| operand::<ON>(f, env, tr, false))
                {
                    Tri::True => n += 1,
                    Tri::Unknown => undecided += 1,
                    Tri::False => {}
                }
            }
            Some(if undecided == 0 {
                Val::Num(f64::from(n))
            } else {
                Val::Range(f64::from(n), f64::from(n + undecided))
            })
        }
        Value::Sum {
            slot,
            collection,
            value: vp,
            filter,
        } => {
            let Val::List(list) = env.resolve::<ON>(collection, tr)? else {
                return None;
            };
            // Amounts and quantities are never negative (the schema says so), which
            // bounds a sum from below when some of its terms are unknown.
            let non_negative = matches!(vp.steps.last(), Some(Field::Amount | Field::Quantity));
            let (mut lo, mut hi) = (0.0, 0.0);
            if !ON
                && filter.is_none()
                && let List::Items(items) = list
                && let (Root::Var(var), [f]) = (&vp.root, vp.steps.as_slice())
                && var == slot
            {
                // Untraced, every item counted and a field of each summed, as the
                // commonest sums are: read from the items without binding each.
                for it in items {
                    match field(&Val::Item(it), f, &vp.ty) {
                        Some(Val::Num(x)) => {
                            lo += x;
                            hi += x;
                        }
                        _ if non_negative => hi = f64::INFINITY,
                        _ => return Some(Val::Range(f64::NEG_INFINITY, f64::INFINITY)),
                    }
                }
            } else {
                for i in 0..list.len() {
                    bind(env, *slot, collection, list, i);
                    let included = filter
                        .as_ref()
                        .map_or(Tri::True, |f| operand::<ON>(f, env, tr, false));
                    let term = match included {
                        Tri::False => continue,
                        _ => env.resolve::<ON>(vp, tr),
                    };
                    match (included, term) {
                        (Tri::True, Some(Val::Num(x))) => {
                            lo += x;
                            hi += x;
                        }
                        (_, Some(Val::Num(x))) if x >= 0.0 => hi += x,
                        (_, Some(Val::Num(x))) => lo += x,
                        _ if non_negative => hi = f64::INFINITY,
                        _ => return Some(Val::Range(f64::NEG_INFINITY, f64::INFINITY)),
                    }
                }
            }
            // Amounts are decimal: round away binary noise such as 0.1 + 0.2.
            let (lo, hi) = (round6(lo), round6(hi));
            // Both ends are rounded to millionths, so equal sums compare equal exactly.
            Some(if lo.total_cmp(&hi).is_eq() {
                Val::Num(lo)
            } else {
                Val::Range(lo, hi)
            })
        }
        Value::Shift { base, amount, unit } => {
            let Val::Date(d) = value::<ON>(base, env, tr)? else {
                return None;
            };
            let shifted = match unit {
                TimeUnit::Days => d.checked_add_signed(chrono::Duration::days(*amount)),
                TimeUnit::Months | TimeUnit::Years => {
                    let months = if *unit == TimeUnit::Years {
                        amount.checked_mul(12)?
                    } else {
                        *amount
                    };
                    let m = chrono::Months::new(u32::try_from(months.unsigned_abs()).ok()?);
                    if months >= 0 {
                        d.checked_add_months(m)
                    } else {
                        d.checked_sub_months(m)
                    }
                }
            };
            Some(Val::Date(shifted?))
        }
    }
}

/// Entity ownership under the OFAC 50 percent rule: the aggregate share held by listed
/// owners, directly or through owners that are themselves blocked (50% or more).
fn round6(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1e6).round() / 1e6
    } else {
        x
    }
}

/// Shares are summed in millionths of a percent, so that 9.2 + 25.4 + 15.4 is exactly 50.
fn micro(pct: f64) -> i64 {
    // Percentages are validated to 0..=100, so this cannot overflow.
    #[allow(clippy::cast_possible_truncation)]
    let m = (pct * 1e6).round() as i64;
    m
}

fn owned_share(owners: &[Owner], list: &ListSet, explain: bool) -> (f64, Vec<String>) {
    let (total, chain) = owned_micro(owners, list, explain);
    #[allow(clippy::cast_precision_loss)] // at most 10^8, exact in f64
    let share = total.min(100_000_000) as f64 / 1e6;
    (share, chain)
}

fn owned_micro(owners: &[Owner], list: &ListSet, explain: bool) -> (i64, Vec<String>) {
    let mut total = 0i64;
    let mut chain = Vec::new();
    for o in owners {
        let p = &o.0;
        let pct = o.percent();
        let listed = list.find_party(p);
        if let Some(e) = listed {
            total += micro(pct);
            if explain {
                chain.push(format!(
                    "{} {}% ({})",
                    p.name,
                    fmt_num(pct),
                    list.describe_entry(e)
                ));
            }
        } else if let Some(sub) = &p.owners {
            let (share, subchain) = owned_micro(sub, list, explain);
            if share >= 50_000_000 {
                total += micro(pct);
                if explain {
                    chain.push(format!(
                        "{} {}%, blocked: owned {}% ← {}",
                        p.name,
                        fmt_num(pct),
                        fmt_num(micro_to_pct(share)),
                        subchain.join(", ")
                    ));
                }
            }
        }
    }
    (total, chain)
}

fn micro_to_pct(m: i64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // shares are at most 10^8 millionths
    let p = m.min(100_000_000) as f64 / 1e6;
    p
}

#[allow(clippy::indexing_slicing)] // the slots are resized to hold `slot` just above
#[inline]
fn bind<'a>(env: &mut Env<'a>, slot: usize, collection: &'a FactPath, list: List<'a>, i: usize) {
    if let Some(val) = list.get(i) {
        // Grown a slot at a time, inline: a call to `resize` cost more than the slots.
        while env.slots.len() <= slot {
            env.slots.push(None);
        }
        env.slots[slot] = Some(Bound {
            val,
            collection,
            list,
            index: i,
        });
    }
}

/// Decides `[lo, hi] op c` when every value of the range gives the same answer.
fn compare_range(lo: f64, hi: f64, op: CompareOp, c: f64) -> Option<bool> {
    let all = |f: &dyn Fn(f64) -> bool| f(lo) && f(hi);
    let none = |f: &dyn Fn(f64) -> bool| !f(lo) && !f(hi);
    let decide = |f: &dyn Fn(f64) -> bool| {
        if all(f) {
            Some(true)
        } else if none(f) {
            Some(false)
        } else {
            None
        }
    };
    match op {
        CompareOp::Lt => decide(&|x| x < c),
        CompareOp::Le => decide(&|x| x <= c),
        CompareOp::Gt => decide(&|x| x > c),
        CompareOp::Ge => decide(&|x| x >= c),
        // Equality over a range is decided only when c lies outside it.
        CompareOp::Eq => (c < lo || c > hi).then_some(false),
        CompareOp::Ne => (c < lo || c > hi).then_some(true),
    }
}

fn compare_vals(a: &Val<'_>, op: CompareOp, b: &Val<'_>) -> Option<bool> {
    use std::cmp::Ordering;
    match (a, b) {
        (Val::Range(lo, hi), Val::Num(c)) => return compare_range(*lo, *hi, op, *c),
        (Val::Num(c), Val::Range(lo, hi)) => return compare_range(*lo, *hi, op.mirror(), *c),
        _ => {}
    }
    let ord: Option<Ordering> = match (a, b) {
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
        (Val::Date(x), Val::Date(y)) => Some(x.cmp(y)),
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        (Val::Country(x), Val::Country(y)) => Some(x.cmp(y)),
        (Val::Hs(_) | Val::HsText(_), Val::Hs(_) | Val::HsText(_)) => {
            let (x, y) = (a.hs()?, b.hs()?);
            Some(x.digit_bytes().cmp(y.digit_bytes()))
        }
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    };
    ord.map(|o| op.holds(o))
}

// Inlined into the membership test, its one caller.
#[allow(clippy::inline_always)]
#[inline(always)]
fn lookup(set: &ListSet, how: Lookup, v: &Val<'_>) -> Option<usize> {
    match (how, v) {
        (Lookup::Direct, Val::Hs(h)) => set.find_hs(h),
        (Lookup::Direct, Val::HsText(_)) => set.find_hs(&*v.hs()?),
        (Lookup::Direct, Val::Country(c)) => set.find_country(*c),
        (Lookup::Direct | Lookup::Id, Val::Str(s)) => set.find_exact(s),
        (Lookup::Name, Val::Str(s)) => set.find_name(s),
        (Lookup::Party, Val::Party(p)) => set.find_party(p),
        _ => None,
    }
}

fn fact_text(v: &Value, env: &Env<'_>) -> String {
    let mut s = String::with_capacity(48);
    fact_text_into(v, env, &mut s);
    s
}

/// [`fact_text`] appended to `out`.
fn fact_text_into(v: &Value, env: &Env<'_>, out: &mut String) {
    match v {
        Value::Fact(fp) => env.render_into(fp, fp.steps.len(), out),
        Value::Ownership { party, list } => {
            out.push_str("ownership of ");
            env.render_into(party, party.steps.len(), out);
            out.push_str(" by ");
            out.push_str(&list.name);
        }
        Value::Count { collection, .. } => {
            out.push_str("count of ");
            env.render_into(collection, collection.steps.len(), out);
        }
        Value::Sum {
            collection, value, ..
        } => {
            out.push_str("sum of ");
            out.push_str(value.names.last().map_or("", |n| &**n));
            out.push_str(" over ");
            env.render_into(collection, collection.steps.len(), out);
        }
        Value::Shift { base, amount, unit } => {
            let unit = match unit {
                TimeUnit::Days => "days",
                TimeUnit::Months => "months",
                TimeUnit::Years => "years",
            };
            let sign = if *amount < 0 { '-' } else { '+' };
            fact_text_into(base, env, out);
            let _ = write!(out, " {sign} {} {unit}", amount.unsigned_abs());
        }
        Value::Const(_) => {}
    }
}

fn value_ty(v: &Value) -> &Ty {
    match v {
        Value::Fact(fp) => &fp.ty,
        Value::Ownership { .. } => &Ty::Percent,
        Value::Count { .. } | Value::Sum { .. } => &Ty::Num,
        Value::Shift { .. } => &Ty::Date,
        Value::Const(_) => &Ty::Str,
    }
}

fn leaf(
    tr: &mut Trace<'_>,
    holds: bool,
    fact: String,
    value: String,
    test: Text,
    matched: Option<Text>,
) -> Tri {
    if holds {
        tr.evidence.push(Evidence {
            fact,
            value,
            test,
            matched,
        });
    } else if tr.first_false.is_none() {
        tr.first_false = Some(if test.starts_with("is ") {
            [&fact, " is ", &value, " (needed: ", &test, ")"].concat()
        } else {
            [&fact, " = ", &value, " (needed: ", &test, ")"].concat()
        });
    }
    Tri::from(holds)
}

/// [`cond`] of an operand of a junction, the body of a quantifier or a filter. Untraced,
/// the commonest tests (a fact in a set, a fact present) are decided here, in the
/// caller's frame: the call to [`cond`] and the registers it saves cost as much as the test.
#[allow(clippy::inline_always)]
#[inline(always)]
fn operand<'a, const ON: bool>(
    c: &'a Cond,
    env: &mut Env<'a>,
    tr: &mut Trace<'a>,
    neg: bool,
) -> Tri {
    if !ON {
        match c {
            Cond::In {
                value: Value::Fact(fp),
                set,
                how,
                negated,
            } => {
                return match env.value_at(fp, tr) {
                    Some(got) => Tri::from(lookup(set, *how, &got).is_some() != (*negated != neg)),
                    None => Tri::Unknown,
                };
            }
            Cond::Present { path, missing } => {
                let present = env.value_at(path, tr).is_some();
                return Tri::from((present != *missing) != neg);
            }
            _ => {}
        }
    }
    cond::<ON>(c, env, tr, neg)
}

/// Evaluates `c` (negated when `neg`), pushing negation down to the tests so that the
/// evidence of a negated test reads as what held.
#[allow(clippy::too_many_lines)]
#[allow(clippy::indexing_slicing)] // `junction` calls with indices below the length it is given
fn cond<'a, const ON: bool>(c: &'a Cond, env: &mut Env<'a>, tr: &mut Trace<'a>, neg: bool) -> Tri {
    match c {
        Cond::Const(b) => Tri::from(*b != neg),
        Cond::Not(x) => cond::<ON>(x, env, tr, !neg),
        Cond::And(xs) | Cond::Or(xs) => {
            let all_mode = matches!(c, Cond::And(_)) != neg;
            junction::<ON>(xs.len(), all_mode, tr, |i, tr| {
                operand::<ON>(&xs[i], env, tr, neg)
            })
        }
        Cond::Compare { lhs, op, rhs, test } => {
            if ON {
                tr.detail = None;
            }
            let l = value::<ON>(lhs, env, tr);
            // Only the left side's detail is shown.
            let detail = if ON { tr.detail.take() } else { None };
            let r = value::<ON>(rhs, env, tr);
            if ON {
                tr.detail = None;
            }
            let (Some(l), Some(r)) = (l, r) else {
                return Tri::Unknown;
            };
            let Some(b) = compare_vals(&l, *op, &r) else {
                return Tri::Unknown;
            };
            let holds = b != neg;
            if tr.skip::<ON>(holds) {
                return Tri::from(holds);
            }
            let ty = value_ty(lhs);
            let test = if neg {
                [
                    op.negate().symbol(),
                    " ",
                    test.split_once(' ').map_or("", |x| x.1),
                ]
                .concat()
            } else {
                test.to_string()
            };
            let matched = detail.map(Text::from).or_else(|| match rhs {
                Value::Const(_) => None,
                _ => Some(
                    [&fact_text(rhs, env), " = ", &r.display(value_ty(rhs))]
                        .concat()
                        .into(),
                ),
            });
            leaf(
                tr,
                holds,
                fact_text(lhs, env),
                l.display(ty),
                test.into(),
                matched,
            )
        }
        Cond::In {
            value: v,
            set,
            how,
            negated,
        } => {
            let Some(got) = value::<ON>(v, env, tr) else {
                return Tri::Unknown;
            };
            let found = lookup(set, *how, &got);
            let holds = found.is_some() != (*negated != neg);
            if tr.skip::<ON>(holds) {
                return Tri::from(holds);
            }
            leaf(
                tr,
                holds,
                fact_text(v, env),
                got.display(value_ty(v)),
                set.test_text(false, *negated != neg),
                found.map(|e| set.described(e)),
            )
        }
        Cond::InFact {
            value: v,
            list,
            negated,
        } => {
            let Some(got) = value::<ON>(v, env, tr) else {
                return Tri::Unknown;
            };
            let Some(Val::List(items)) = env.resolve::<ON>(list, tr) else {
                return Tri::Unknown;
            };
            let found = (0..items.len()).find(|&i| {
                items
                    .get(i)
                    .and_then(|e| compare_vals(&got, CompareOp::Eq, &e))
                    == Some(true)
            });
            let holds = found.is_some() != (*negated != neg);
            if tr.skip::<ON>(holds) {
                return Tri::from(holds);
            }
            let not = if *negated != neg { "not in" } else { "in" };
            let lp = env.render(list, list.steps.len());
            leaf(
                tr,
                holds,
                fact_text(v, env),
                got.display(value_ty(v)),
                [not, " ", &lp].concat().into(),
                found.map(|i| {
                    let mut s = lp.clone();
                    push_index(&mut s, i);
                    s.into()
                }),
            )
        }
        Cond::StartsWith { value: v, set } => {
            let Some(got) = value::<ON>(v, env, tr) else {
                return Tri::Unknown;
            };
            let code = got.hs();
            let text = match (&got, &code) {
                (Val::Str(s), _) => *s,
                (_, Some(h)) => h.digits(),
                _ => return Tri::Unknown,
            };
            let found = set.find_prefix(text);
            let holds = found.is_some() != neg;
            if tr.skip::<ON>(holds) {
                return Tri::from(holds);
            }
            leaf(
                tr,
                holds,
                fact_text(v, env),
                got.display(value_ty(v)),
                set.test_text(true, neg),
                found.map(|e| set.described(e)),
            )
        }
        Cond::Present { path, missing } => {
            // A presence test is never unknown: that is what it is for.
            let present = env.resolve::<false>(path, tr).is_some();
            let holds = (present != *missing) != neg;
            if tr.skip::<ON>(holds) {
                return Tri::from(holds);
            }
            let shown = if present { "present" } else { "missing" };
            let test = if (*missing) != neg {
                Text::fixed("is missing")
            } else {
                Text::fixed("is present")
            };
            leaf(
                tr,
                holds,
                env.render(path, path.steps.len()),
                shown.into(),
                test,
                None,
            )
        }
        Cond::Truthy(path) => {
            let Some(v) = env.resolve::<ON>(path, tr) else {
                return Tri::Unknown;
            };
            let Val::Bool(b) = v else { return Tri::Unknown };
            let holds = b != neg;
            if tr.skip::<ON>(holds) {
                return Tri::from(holds);
            }
            leaf(
                tr,
                holds,
                env.render(path, path.steps.len()),
                b.to_string(),
                Text::fixed(if neg { "is false" } else { "is true" }),
                None,
            )
        }
        Cond::Quant {
            quantifier,
            slot,
            collection,
            body,
        } => {
            let Some(Val::List(list)) = env.resolve::<ON>(collection, tr) else {
                return Tri::Unknown;
            };
            let (exists, body_neg) = quantified(*quantifier, neg);
            let witness = exists && !body_neg;
            let explained_before = tr.first_false.is_some();
            let r = junction::<ON>(list.len(), !exists, tr, |i, tr| {
                bind(env, *slot, collection, list, i);
                let r = operand::<ON>(body, env, tr, body_neg);
                if witness
                    && r == Tri::True
                    && ON
                    && let Some(Some(b)) = env.slots.get(*slot)
                {
                    tr.witness.push((*slot, *b));
                }
                r
            });
            if r == Tri::True && ON && !exists && list.len() == 0 {
                // A vacuous `all`/`none` still says why it held.
                tr.evidence.push(Evidence {
                    fact: env.render(collection, collection.steps.len()),
                    value: "[]".into(),
                    test: Text::fixed("is empty"),
                    matched: None,
                });
            }
            if r == Tri::False && ON && tr.why && !explained_before {
                let coll = env.render(collection, collection.steps.len());
                tr.first_false = Some(match (exists, tr.first_false.take()) {
                    _ if list.len() == 0 => [&coll, " is empty"].concat(),
                    (true, Some(first)) => {
                        ["no element of ", &coll, " passes (the first: ", &first, ")"].concat()
                    }
                    (_, Some(first)) => first,
                    (_, None) => ["the test over ", &coll, " does not hold"].concat(),
                });
            }
            r
        }
    }
}

/// Kleene and (`all_mode`) or or over `n` operands, short-circuiting, keeping only
/// the evidence and missing facts that bear on the result.
fn junction<'a, const ON: bool>(
    n: usize,
    all_mode: bool,
    tr: &mut Trace<'a>,
    mut each: impl FnMut(usize, &mut Trace<'a>) -> Tri,
) -> Tri {
    if !ON {
        // Nothing is recorded: only the Kleene result.
        let mut result = if all_mode { Tri::True } else { Tri::False };
        for i in 0..n {
            match (all_mode, each(i, tr)) {
                (true, Tri::False) => return Tri::False,
                (false, Tri::True) => return Tri::True,
                (_, Tri::Unknown) => result = Tri::Unknown,
                _ => {}
            }
        }
        return result;
    }
    let (ev0, mi0, wi0) = (tr.evidence.len(), tr.missing.len(), tr.witness.len());
    let mut result = if all_mode { Tri::True } else { Tri::False };
    for i in 0..n {
        let (ev, wi) = (tr.evidence.len(), tr.witness.len());
        let r = each(i, tr);
        match (all_mode, r) {
            (true, Tri::False) => {
                tr.evidence.truncate(ev0);
                tr.missing.truncate(mi0);
                tr.witness.truncate(wi0);
                return Tri::False;
            }
            (false, Tri::True) => {
                // Keep this operand's evidence and witnesses only.
                tr.evidence.drain(ev0..ev);
                tr.witness.drain(wi0..wi);
                tr.missing.truncate(mi0);
                return Tri::True;
            }
            (_, Tri::Unknown) => {
                tr.evidence.truncate(ev);
                tr.witness.truncate(wi);
                result = Tri::Unknown;
            }
            (false, Tri::False) => {
                tr.evidence.truncate(ev);
                tr.witness.truncate(wi);
            }
            _ => {}
        }
    }
    // An undecided conjunction keeps the evidence of the parts that held: a reviewer
    // sees what is known as well as what is missing.
    if result == Tri::False {
        tr.evidence.truncate(ev0);
        tr.witness.truncate(wi0);
    }
    result
}

fn effective_as_of(s: &Shipment, o: Options) -> Date {
    o.as_of.unwrap_or(s.date)
}

struct Traced<'a> {
    result: Tri,
    trace: Trace<'a>,
}

/// Decides a prepared condition (see [`Fast`]) untraced: the same value as [`cond`] gives
/// the condition it was prepared from.
fn fast<'a>(c: &'a Fast, env: &mut Env<'a>, tr: &mut Trace<'a>) -> Tri {
    match c {
        Fast::All(xs) => {
            let mut result = Tri::True;
            for x in xs {
                match fast_operand(x, env, tr) {
                    Tri::False => return Tri::False,
                    Tri::Unknown => result = Tri::Unknown,
                    Tri::True => {}
                }
            }
            result
        }
        Fast::Any(xs) => {
            let mut result = Tri::False;
            for x in xs {
                match fast_operand(x, env, tr) {
                    Tri::True => return Tri::True,
                    Tri::Unknown => result = Tri::Unknown,
                    Tri::False => {}
                }
            }
            result
        }
        Fast::Quant {
            exists,
            slot,
            at,
            body,
        } => {
            let Some(Val::List(list)) = env.value_at(at, tr) else {
                return Tri::Unknown;
            };
            let mut result = if *exists { Tri::False } else { Tri::True };
            for i in 0..list.len() {
                bind(env, *slot, at, list, i);
                match (*exists, fast_operand(body, env, tr)) {
                    (false, Tri::False) => return Tri::False,
                    (true, Tri::True) => return Tri::True,
                    (_, Tri::Unknown) => result = Tri::Unknown,
                    _ => {}
                }
            }
            result
        }
        _ => fast_operand(c, env, tr),
    }
}

/// [`fast`] of an operand: tests are decided here, in the caller's frame, where a call
/// would cost as much as the test.
#[allow(clippy::inline_always)]
#[inline(always)]
fn fast_operand<'a>(c: &'a Fast, env: &mut Env<'a>, tr: &mut Trace<'a>) -> Tri {
    match c {
        Fast::In { at, set, how, flip } => match env.value_at(at, tr) {
            Some(got) => Tri::from(lookup(set, *how, &got).is_some() != *flip),
            None => Tri::Unknown,
        },
        Fast::InCountry { of, set, flip } => {
            let s = env.shipment;
            let country = match of {
                CountryOf::Destination => Some(s.destination),
                CountryOf::Exporter => s.exporter.country,
                CountryOf::Consignee => s.consignee.country,
                CountryOf::EndUser => s.end_user.as_ref().and_then(|p| p.country),
            };
            match country {
                Some(c) => Tri::from(set.find_country(c).is_some() != *flip),
                None => Tri::Unknown,
            }
        }
        Fast::Present { at, flip } => Tri::from(env.value_at(at, tr).is_some() != *flip),
        Fast::All(_) | Fast::Any(_) | Fast::Quant { .. } => fast(c, env, tr),
        Fast::Other { cond: c, neg } => cond::<false>(c, env, tr, *neg),
    }
}

fn run<'a>(c: &'a Cond, env: &mut Env<'a>, on: bool, why: bool) -> Traced<'a> {
    let mut trace = Trace {
        why,
        ..Trace::default()
    };
    // Two copies of the evaluator: the untraced one, which decides most rules, carries
    // none of the code that records evidence.
    let result = if on {
        cond::<true>(c, env, &mut trace, false)
    } else {
        cond::<false>(c, env, &mut trace, false)
    };
    Traced { result, trace }
}

fn message<'a>(rule: &'a Rule, env: &mut Env<'a>, witness: &[(usize, Bound<'a>)]) -> String {
    // The first element that made each `any` hold names it in the message.
    let mut slots: Slots<'a> = SmallVec::from_elem(None, env.slots.len());
    for (slot, b) in witness {
        if let Some(s @ None) = slots.get_mut(*slot) {
            *s = Some(*b);
        }
    }
    let mut out = String::new();
    for seg in &rule.message {
        match seg {
            Segment::Text(t) => out.push_str(t),
            Segment::Fact(fp) => {
                let saved = std::mem::take(&mut env.slots);
                env.slots.clone_from(&slots);
                let mut quiet = Trace::default();
                match env.resolve::<false>(fp, &mut quiet) {
                    Some(v) => out.push_str(&v.display(&fp.ty)),
                    None => out.push_str("(not given)"),
                }
                env.slots = saved;
            }
        }
    }
    out
}

/// Evaluates every rule of `rules` against `shipment`.
#[must_use]
pub fn evaluate(rules: &RuleSet, shipment: &Shipment, opts: &Options) -> Outcome {
    evaluate_with(rules, shipment, *opts, true)
}

/// Verdicts, findings and exceptions only: no evidence, messages or missing facts.
/// For comparing many shipments, where only what changed is explained.
#[must_use]
pub fn evaluate_verdicts(rules: &RuleSet, shipment: &Shipment, opts: &Options) -> Outcome {
    evaluate_with(rules, shipment, *opts, false)
}

/// A regime scope's evidence and missing facts, once traced.
type ScopeTrace = Option<(Vec<Evidence>, Vec<String>)>;

/// The evaluation loop; `full` adds evidence, messages and missing facts.
#[allow(clippy::too_many_lines)]
#[allow(clippy::indexing_slicing)] // regime and exception indices are made by the checker over the same rule set
fn evaluate_with(rules: &RuleSet, shipment: &Shipment, opts: Options, full: bool) -> Outcome {
    let as_of = effective_as_of(shipment, opts);
    let mut env = Env {
        shipment,
        as_of,
        rule: None,
        // Grown by the first binding of each slot: a shipment that binds none (or few)
        // does not pay for clearing them all.
        slots: SmallVec::new(),
    };
    // Only passed along: an untraced evaluation never records anything in it, so one
    // serves every rule of a shipment, and it stays empty: nothing to drop.
    let mut idle = std::mem::ManuallyDrop::new(Trace::default());
    let shared = rules.shared();
    // Each regime's scope is decided once per shipment.
    let mut scopes: SmallVec<[Tri; 16]> = SmallVec::new();
    for g in &shared.scopes {
        scopes.push(
            g.as_ref()
                .map_or(Tri::True, |c| fast(c, &mut env, &mut idle)),
        );
    }
    let scopes = scopes.as_slice();

    // Made when a scope is first traced: most rule sets trace none for most shipments.
    let mut scope_traces: SmallVec<[ScopeTrace; 8]> = SmallVec::new();

    let mut findings = Vec::new();
    let mut relaxed = Vec::new();
    let mut not_fired = Vec::new();

    // The shared texts are made from the same rules, in the same order.
    for (ri, ((rule, texts), prepared)) in rules
        .rules
        .iter()
        .zip(&shared.rules)
        .zip(&shared.conditions)
        .enumerate()
    {
        let regime = &rules.regimes[rule.regime];
        if !rule.effective.contains(as_of) {
            if opts.explain {
                not_fired.push(NotFired {
                    rule: rule.id.clone(),
                    regime: regime.name.clone(),
                    reason: format!("not in force on {as_of} ({})", rule.effective.describe()),
                });
            }
            continue;
        }
        let scope = scopes[rule.regime];
        if scope == Tri::False {
            if opts.explain {
                let why = regime
                    .scope
                    .as_ref()
                    .and_then(|c| run(c, &mut env, true, true).trace.first_false)
                    .unwrap_or_default();
                not_fired.push(NotFired {
                    rule: rule.id.clone(),
                    regime: regime.name.clone(),
                    reason: format!("outside the scope of regime {}: {why}", regime.name),
                });
            }
            continue;
        }
        let decided = fast(prepared, &mut env, &mut idle);
        let combined = match (scope, decided) {
            (_, Tri::False) => Tri::False,
            (Tri::True, r) => r,
            _ => Tri::Unknown,
        };
        if combined == Tri::False {
            if opts.explain {
                let t = run(&rule.when, &mut env, true, true);
                // The prepared condition decides for the traced one: wherever both run,
                // they must agree (the property tests explain every rule they decide).
                debug_assert_eq!(
                    t.result,
                    Tri::False,
                    "rule {}: prepared and traced",
                    rule.id
                );
                let why = t
                    .trace
                    .first_false
                    .unwrap_or_else(|| "its condition does not hold".into());
                not_fired.push(NotFired {
                    rule: rule.id.clone(),
                    regime: regime.name.clone(),
                    reason: why,
                });
            }
            continue;
        }
        let traced = if full {
            let t = run(&rule.when, &mut env, true, false);
            debug_assert_eq!(t.result, decided, "rule {}: prepared and traced", rule.id);
            t
        } else {
            Traced {
                result: combined,
                trace: Trace::default(),
            }
        };
        let mut because = traced.trace.evidence;
        let mut rule_missing = if combined == Tri::Unknown {
            traced.trace.missing
        } else {
            Vec::new()
        };
        if !full {
            // Verdicts only: no evidence of the scope either.
        } else if let Some(sc) = &regime.scope
            && scope != Tri::False
        {
            // Traced once per regime and shipment: every rule of the regime shows the same.
            if scope_traces.is_empty() {
                scope_traces.resize(rules.regimes.len(), None);
            }
            let (sc_evidence, sc_missing) = scope_traces[rule.regime].get_or_insert_with(|| {
                let st = run(sc, &mut env, true, false).trace;
                (st.evidence, st.missing)
            });
            if scope == Tri::Unknown {
                for m in sc_missing.iter() {
                    if !rule_missing.contains(m) {
                        rule_missing.push(m.clone());
                    }
                }
            } else {
                // The scope is part of why the rule applies: show what brought the shipment in.
                let mut ev = sc_evidence.clone();
                ev.append(&mut because);
                because = ev;
            }
        }
        let base = if combined == Tri::True {
            rule.verdict
        } else {
            Verdict::Review
        };
        // An undecided rule has no element to name: say what it would decide, and why not.
        let msg = if !full {
            Text::default()
        } else if combined != Tri::True {
            texts.undecided.clone()
        } else if let Some(m) = &texts.message {
            m.clone()
        } else {
            message(rule, &mut env, &traced.trace.witness).into()
        };

        // Exceptions.
        env.rule = Some((&rule.id, &regime.name));
        let mut notes = Vec::new();
        let mut outcomes: Vec<(usize, Leaves)> = Vec::new();
        for &xi in &rules.exceptions_by_rule[ri] {
            let x = &rules.exceptions[xi];
            if !x.effective.contains(as_of) {
                continue;
            }
            let t = run(&x.when, &mut env, full, full && opts.explain);
            let leaves_text = match x.leaves {
                Leaves::Nothing => "nothing".to_string(),
                Leaves::Verdict(v) => v.to_string(),
            };
            match t.result {
                Tri::True => {
                    outcomes.push((xi, x.leaves));
                    notes.push(ExceptionNote {
                        exception: x.id.clone(),
                        citation: x.citation.clone().unwrap_or_default(),
                        outcome: ExceptionOutcome::Applied,
                        leaves: leaves_text,
                        because: t.trace.evidence,
                        missing: Vec::new(),
                        reason: None,
                    });
                }
                Tri::Unknown => {
                    // Fail closed: an undecided exception does not apply. Its missing facts
                    // are told in the finding; they do not make the verdict undecided.
                    notes.push(ExceptionNote {
                        exception: x.id.clone(),
                        citation: x.citation.clone().unwrap_or_default(),
                        outcome: ExceptionOutcome::Unknown,
                        leaves: leaves_text,
                        because: Vec::new(),
                        missing: t.trace.missing,
                        reason: None,
                    });
                }
                Tri::False if opts.explain => notes.push(ExceptionNote {
                    exception: x.id.clone(),
                    citation: x.citation.clone().unwrap_or_default(),
                    outcome: ExceptionOutcome::NotApplied,
                    leaves: leaves_text,
                    because: Vec::new(),
                    missing: Vec::new(),
                    reason: t.trace.first_false,
                }),
                Tri::False => {}
            }
        }
        env.rule = None;
        let severity = |l: Leaves| match l {
            Leaves::Nothing => None,
            Leaves::Verdict(v) => Some(v),
        };
        let mut conflict = None;
        let final_verdict = if outcomes.is_empty() {
            Some(base)
        } else {
            let mut distinct: Vec<Option<Verdict>> =
                outcomes.iter().map(|(_, l)| severity(*l)).collect();
            distinct.sort();
            distinct.dedup();
            if distinct.len() > 1 {
                conflict = Some(format!(
                    "exceptions {} both apply with different outcomes; the least severe is applied, as each is an exemption the law grants: check that the rules mean this",
                    outcomes
                        .iter()
                        .map(|(xi, l)| format!(
                            "{} (leaves {})",
                            rules.exceptions[*xi].id,
                            match l {
                                Leaves::Nothing => "nothing".to_string(),
                                Leaves::Verdict(v) => v.to_string(),
                            }
                        ))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ));
            }
            // Each exception is an exemption in its own right, so the most generous one
            // prevails; this keeps exceptions monotone (adding one never makes a verdict
            // more severe), and the conflict is reported rather than hidden.
            distinct.first().copied().flatten().map(|v| v.min(base))
        };
        let finding = Finding {
            rule: texts.rule.clone(),
            regime: texts.regime.clone(),
            verdict: final_verdict.unwrap_or(base),
            citation: texts.citation.clone(),
            message: msg,
            because,
            missing: rule_missing,
            exceptions: notes,
            relaxed_from: match final_verdict {
                Some(v) if v != base => Some(base),
                None => Some(base),
                _ => None,
            },
            conflict,
        };
        if final_verdict.is_some() {
            findings.push(finding);
        } else {
            relaxed.push(finding);
        }
    }

    // Missing facts by fact, with the rules that needed them in rule order (`findings` is
    // still in rule order here). Facts that only relaxed findings needed cannot change
    // the verdict: they are left out. Built from the findings' own lists, so that each
    // fact is copied once, not once per rule.
    // Most outcomes miss nothing: they skip the map.
    let missing: Vec<Missing> = if findings.iter().all(|f| f.missing.is_empty()) {
        Vec::new()
    } else {
        let mut needed: BTreeMap<&str, SmallVec<[&str; 4]>> = BTreeMap::new();
        for f in &findings {
            for m in &f.missing {
                needed.entry(m.as_str()).or_default().push(f.rule.as_str());
            }
        }
        needed
            .into_iter()
            .map(|(fact, mut needed_by)| {
                needed_by.dedup();
                Missing {
                    fact: fact.to_string(),
                    needed_by: needed_by.iter().map(|r| (*r).to_string()).collect(),
                }
            })
            .collect()
    };
    findings.sort_by_key(|f| std::cmp::Reverse(f.verdict));
    let verdict = findings
        .iter()
        .map(|f| f.verdict)
        .max()
        .unwrap_or(if missing.is_empty() {
            Verdict::Clear
        } else {
            Verdict::Review
        });
    Outcome {
        shipment: shipment.id.0.clone(),
        as_of,
        verdict,
        rules_digest: shared.digest.clone(),
        facts_digest: shipment.facts_digest().clone(),
        findings,
        missing,
        relaxed,
        not_fired: opts.explain.then_some(not_fired),
    }
}
