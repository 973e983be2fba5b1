//! Shipment facts: the input contract of `../shared/shipment-schema.md`, loaded from YAML
//! with every schema violation located in the shipment file.

use std::fmt;
use std::ops::Deref;

use compact_str::{CompactString, ToCompactString as _};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest as _, Sha256};

use crate::diagnostics::{Code, Problem};
use crate::source::SourceFile;
use crate::types::{CountryCode, Date, DateField, Eccn, HsCode};

mod quick;

/// Largest shipment file accepted, in bytes.
pub const MAX_SHIPMENT_BYTES: usize = 8 * 1024 * 1024;

/// Fields a team adds beyond the schema, kept as written and reachable from rules, in
/// key order.
///
/// A sorted list rather than a tree: a record has a few extra facts at most, and most
/// items have one or none, which a tree would give a node of its own, to build and to drop.
///
/// Keys are short strings held in place: most items have a fact, and its key would
/// otherwise be an allocation of its own.
#[derive(Clone, Default, PartialEq)]
pub struct Extra(Vec<(CompactString, serde_yaml::Value)>);

impl Extra {
    /// No extra facts.
    #[must_use]
    pub fn new() -> Extra {
        Extra(Vec::new())
    }

    /// Adds a fact, in key order; the value it replaces, if the key was there.
    pub fn insert(&mut self, key: &str, value: serde_yaml::Value) -> Option<serde_yaml::Value> {
        if self.0.is_empty() {
            // The usual case, allocated at its size rather than grown, or in the room
            // left by the facts of a record read before into the same place.
            if self.0.capacity() == 0 {
                self.0 = vec![(key.into(), value)];
            } else {
                self.0.push((key.into(), value));
            }
            return None;
        }
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
            Ok(i) => self.0.get_mut(i).map(|(_, v)| std::mem::replace(v, value)),
            Err(i) => {
                self.0.insert(i, (key.into(), value));
                None
            }
        }
    }

    /// The fact named `key`.
    #[must_use]
    pub fn get<Q>(&self, key: &Q) -> Option<&serde_yaml::Value>
    where
        CompactString: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        use std::borrow::Borrow;
        // Most shipments, parties and items have one or two extra facts: a scan compares
        // fewer bytes than a search, which is kept for the longer lists.
        if self.0.len() <= 4 {
            return self
                .0
                .iter()
                .find(|(k, _)| Borrow::<Q>::borrow(k) == key)
                .map(|(_, v)| v);
        }
        self.0
            .binary_search_by(|(k, _)| Borrow::<Q>::borrow(k).cmp(key))
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, v)| v)
    }

    /// Whether there is a fact named `key`.
    #[must_use]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        CompactString: std::borrow::Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.get(key).is_some()
    }

    /// How many facts there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The facts in key order.
    pub fn iter(&self) -> ExtraIter<'_> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

/// The facts of an [`Extra`] in key order.
pub type ExtraIter<'a> = std::iter::Map<
    std::slice::Iter<'a, (CompactString, serde_yaml::Value)>,
    fn(&'a (CompactString, serde_yaml::Value)) -> (&'a CompactString, &'a serde_yaml::Value),
>;

impl<'a> IntoIterator for &'a Extra {
    type Item = (&'a CompactString, &'a serde_yaml::Value);
    type IntoIter = ExtraIter<'a>;
    fn into_iter(self) -> ExtraIter<'a> {
        self.iter()
    }
}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Extra {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// A percentage, 0 to 100 inclusive.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct Percent(pub f64);

/// Reads a number and checks it inside the visit, so that errors carry the position.
struct NumberVisitor(&'static str, fn(f64) -> Result<f64, String>);

impl serde::de::Visitor<'_> for NumberVisitor {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<f64, E> {
        (self.1)(v).map_err(E::custom)
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<f64, E> {
        #[allow(clippy::cast_precision_loss)] // amounts beyond 2^53 are refused by the check anyway
        self.visit_f64(v as f64)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<f64, E> {
        #[allow(clippy::cast_precision_loss)]
        self.visit_f64(v as f64)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_f64(NumberVisitor("a percentage from 0 to 100", Percent::check))
            .map(Percent)
    }
}

impl Percent {
    /// The number if it is a percentage.
    fn check(v: f64) -> Result<f64, String> {
        if v.is_finite() && (0.0..=100.0).contains(&v) {
            Ok(v)
        } else {
            Err(format!(
                "{v} is not a percentage: expected a number from 0 to 100"
            ))
        }
    }
}

/// A finite, non-negative number such as a quantity or an amount.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct Amount(pub f64);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_f64(NumberVisitor("a number", Amount::check))
            .map(Amount)
    }
}

impl Amount {
    /// The number if it is a usable amount.
    fn check(v: f64) -> Result<f64, String> {
        if v.is_finite() && (0.0..=1e15).contains(&v) {
            Ok(v)
        } else {
            Err(format!(
                "{v} is not a usable amount: expected a finite number from 0 to 10^15"
            ))
        }
    }
}

/// One export transaction.
#[derive(Debug, Clone, Serialize)]
pub struct Shipment {
    /// Unique id within a batch.
    pub id: ShipmentId,
    /// Date of the shipment; rules are evaluated as of it unless `--as-of` says otherwise.
    pub date: Date,
    /// Who exports.
    pub exporter: Party,
    /// Who receives the goods.
    pub consignee: Party,
    /// The declared end user; `None` means not declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_user: Option<Party>,
    /// Forwarders, notify parties, agents, banks; `None` means unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intermediaries: Option<Vec<Party>>,
    /// Declared country of final delivery.
    pub destination: CountryCode,
    /// Countries passed through, in order; `None` means unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<Vec<CountryCode>>,
    /// The goods, at least one.
    pub items: Vec<Item>,
    /// The sales contract.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract: Option<Contract>,
    /// Authorisations held; `None` means unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licenses: Option<Vec<License>>,
    /// Facts beyond the schema.
    #[serde(flatten)]
    pub extra: Extra,
    /// `sha256:` of the facts in canonical form, computed once when read.
    #[serde(skip)]
    digest: FactsDigest,
}

/// The length of a facts digest: `sha256:` and 64 hexadecimal digits.
const DIGEST_LEN: usize = 7 + 64;

/// A shipment's facts digest, `sha256:` of its canonical form, and the one its outcomes
/// carry: every shipment and outcome has one, so it is held in place rather than
/// allocated. Other texts (outcomes made by hand) are held as they are. It reads,
/// compares, prints and serialises as its text.
#[derive(Clone)]
pub struct FactsDigest(DigestRepr);

#[derive(Clone)]
enum DigestRepr {
    /// A shipment's digest: `sha256:` and 64 hexadecimal digits, which JSON never escapes.
    Plain([u8; DIGEST_LEN]),
    Owned(String),
}

impl FactsDigest {
    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Copied from a `str` whole: the conversion cannot fail.
            DigestRepr::Plain(b) => std::str::from_utf8(b).unwrap_or_default(),
            DigestRepr::Owned(s) => s,
        }
    }

    /// The text's bytes, when JSON is known to escape none of them.
    #[must_use]
    pub fn plain_bytes(&self) -> Option<&[u8]> {
        match &self.0 {
            DigestRepr::Plain(b) => Some(b),
            DigestRepr::Owned(_) => None,
        }
    }
}

impl Deref for FactsDigest {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for FactsDigest {
    fn from(s: &str) -> FactsDigest {
        FactsDigest(DigestRepr::Owned(s.to_string()))
    }
}

impl From<String> for FactsDigest {
    fn from(s: String) -> FactsDigest {
        FactsDigest(DigestRepr::Owned(s))
    }
}

impl fmt::Debug for FactsDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for FactsDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl PartialEq for FactsDigest {
    fn eq(&self, other: &FactsDigest) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for FactsDigest {}

impl Serialize for FactsDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Default for FactsDigest {
    /// Empty: a shipment's digest before it is computed.
    fn default() -> FactsDigest {
        FactsDigest(DigestRepr::Owned(String::new()))
    }
}

/// Checks that an extra fact has one canonical JSON form: string keys, finite numbers,
/// no YAML tags.
fn canonical_extra(v: &serde_yaml::Value) -> Result<(), String> {
    match v {
        serde_yaml::Value::Mapping(m) => {
            for (k, v) in m {
                if !k.is_string() {
                    return Err("mapping keys must be strings".into());
                }
                canonical_extra(v)?;
            }
            Ok(())
        }
        serde_yaml::Value::Sequence(xs) => xs.iter().try_for_each(canonical_extra),
        serde_yaml::Value::Number(n) if n.as_f64().is_some_and(|x| !x.is_finite()) => {
            Err("numbers must be finite (not .nan or .inf)".into())
        }
        serde_yaml::Value::Tagged(_) => Err("YAML tags (`!name`) are not facts".into()),
        _ => Ok(()),
    }
}

/// A shipment id: a non-empty string (numbers are accepted and kept as written).
///
/// Held in place when short, as ids are: every shipment has one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ShipmentId(pub CompactString);

impl fmt::Display for ShipmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ShipmentId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = CompactString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a shipment id: a string or a whole number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CompactString, E> {
                Ok(v.into())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<CompactString, E> {
                Ok(v.to_compact_string())
            }
        }
        ShipmentId::check(d.deserialize_any(V)?).map_err(serde::de::Error::custom)
    }
}

impl ShipmentId {
    /// The id if it is not blank.
    fn check(s: CompactString) -> Result<ShipmentId, &'static str> {
        // Blank when every character is white space: told at its first character, as
        // ids are not blank, without trimming both ends.
        if s.chars().all(char::is_whitespace) {
            Err("the shipment id is empty")
        } else {
            Ok(ShipmentId(s))
        }
    }
}

/// A party: exporter, consignee, end user, intermediary or owner.
///
/// The id and the name are held in place when short, as most are: a shipment has a few
/// parties, and each would otherwise be two allocations.
#[derive(Debug, Clone, Serialize)]
pub struct Party {
    /// Registry number, LEI or list id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<CompactString>,
    /// Name as written on the documents.
    pub name: CompactString,
    /// ISO country code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Role of an intermediary (`freight_forwarder`, `bank`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Declared end use of an end user (`civil`, `military`, `unknown`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_use: Option<EndUse>,
    /// Share this owner holds in the entity above it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<Percent>,
    /// Owners of this party; `None` means unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owners: Option<Owners>,
    /// Facts beyond the schema.
    #[serde(flatten)]
    pub extra: Extra,
    /// The name normalised for list matching, worked out on first use: every entity
    /// list a rule screens the party against looks it up.
    #[serde(skip)]
    matched_name: std::sync::OnceLock<String>,
}

impl Party {
    /// The name as entity lists match it (see [`crate::compile::normalize_name`]).
    #[must_use]
    pub fn matched_name(&self) -> &str {
        self.matched_name
            .get_or_init(|| crate::compile::normalize_name(&self.name))
    }
}

/// Declared end use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndUse {
    /// Civil end use.
    Civil,
    /// Military end use.
    Military,
    /// Declared as unknown.
    Unknown,
}

impl EndUse {
    /// The keyword.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EndUse::Civil => "civil",
            EndUse::Military => "military",
            EndUse::Unknown => "unknown",
        }
    }
}

/// An owner in an ownership tree: a party with the share it holds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(try_from = "Party")]
pub struct Owner(pub Party);

impl Owner {
    /// The share held (validated present).
    #[must_use]
    pub fn percent(&self) -> f64 {
        self.0.percent.map_or(0.0, |p| p.0)
    }
}

impl TryFrom<Party> for Owner {
    type Error = String;
    fn try_from(p: Party) -> Result<Self, String> {
        if p.percent.is_none() {
            return Err(format!(
                "owner `{}` has no `percent`: an owner states the share it holds",
                p.name
            ));
        }
        Ok(Owner(p))
    }
}

/// The owners of one party, holding at most 100% between them.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Owners(pub Vec<Owner>);

impl std::ops::Deref for Owners {
    type Target = [Owner];
    fn deref(&self) -> &[Owner] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Owners {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Checked inside the visit, so that the error points at the list of owners.
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Owners;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of owners, each with `name` and `percent`")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Owners, A::Error> {
                let mut out = Vec::new();
                while let Some(o) = seq.next_element::<Owner>()? {
                    out.push(o);
                }
                Owners::check(out).map_err(serde::de::Error::custom)
            }
        }
        d.deserialize_seq(V)
    }
}

impl Owners {
    /// The owners if they hold at most 100% between them.
    fn check(owners: Vec<Owner>) -> Result<Owners, String> {
        // Millionths of a percent, so that 33.3 + 33.3 + 33.4 is exactly 100.
        #[allow(clippy::cast_possible_truncation)] // each share is 0..=100
        let total: i64 = owners
            .iter()
            .map(|o| (o.percent() * 1e6).round() as i64)
            .sum();
        if total > 100_000_000 {
            #[allow(clippy::cast_precision_loss)] // at most a few billion
            let shown = total as f64 / 1e6;
            return Err(format!("the owners hold {shown}% in total, more than 100%"));
        }
        Ok(Owners(owners))
    }
}

/// One line of goods.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// What the goods are; held in place when short, as many descriptions are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<CompactString>,
    /// HS code, matched hierarchically.
    pub hs_code: HsCode,
    /// ECCN or EAR99.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eccn: Option<Eccn>,
    /// Country of origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<CountryCode>,
    /// Share of US-origin controlled content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub us_content_percent: Option<Percent>,
    /// Quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Amount>,
    /// Unit of the quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Line value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Money>,
    /// Facts beyond the schema.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An amount of money.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Money {
    /// The amount.
    pub amount: Amount,
    /// ISO 4217 currency code.
    pub currency: Currency,
}

/// An ISO 4217 currency code: three upper-case letters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Currency(pub String);

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(crate::types::ParseVisitor(
            "a currency code such as \"EUR\"",
            Currency::parse,
        ))
    }
}

impl Currency {
    /// Parses three upper-case letters.
    fn parse(s: &str) -> Result<Currency, String> {
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Currency(s.to_string()))
        } else {
            Err(format!(
                "`{s}` is not a currency code: expected three upper-case letters (ISO 4217, e.g. `EUR`)"
            ))
        }
    }
}

/// The sales contract.
#[derive(Debug, Clone, Serialize)]
pub struct Contract {
    /// Contract number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Date concluded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    /// Contains the EU Art. 12g clause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_russia_clause: Option<bool>,
    /// Facts beyond the schema.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An authorisation the exporter holds.
#[derive(Debug, Clone, Serialize)]
pub struct License {
    /// Licence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Issuing authority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Rule ids or regime ids it authorises.
    pub covers: Vec<String>,
    /// Last day valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    /// Facts beyond the schema.
    #[serde(flatten)]
    pub extra: Extra,
}

// ---- reading: one typed pass, fields beyond the schema kept as extra facts ----------
//
// The derived readers would drop unknown keys, and `flatten` buffers every record into
// an untyped tree first; these read each record once, straight from the text (YAML or
// JSON), each known key into its field and every other key into `extra`.

/// A mapping key, borrowed from the input where the reader allows.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(v.to_owned().into()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
        }
        d.deserialize_str(V)
    }
}

/// Reads the fields of one record. `known` lists the schema's keys; `field` reads the
/// value of the one at the index it is given. Every other key is kept, with its value,
/// as an extra fact.
fn read_record<'de, A: MapAccess<'de>>(
    map: &mut A,
    known: &'static [&'static str],
    mut field: impl FnMut(usize, &mut A) -> Result<(), A::Error>,
) -> Result<Extra, A::Error> {
    let mut extra = Extra::new();
    // A bit per known key: the derived readers refuse a key given twice, and so do these.
    let mut seen = 0u32;
    while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
        if let Some((i, &name)) = known.iter().enumerate().find(|(_, k)| **k == key) {
            if seen & (1 << i) != 0 {
                return Err(de::Error::duplicate_field(name));
            }
            seen |= 1 << i;
            field(i, map)?;
        } else {
            let value: serde_yaml::Value = map.next_value()?;
            if extra.insert(&key, value).is_some() {
                return Err(de::Error::custom("a field is given twice"));
            }
        }
    }
    Ok(extra)
}

/// The items of a shipment, refused inside the list when there are none, so that the
/// error points at the list.
struct NonEmptyItems(Vec<Item>);

impl<'de> Deserialize<'de> for NonEmptyItems {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NonEmptyItems;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of items")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<NonEmptyItems, A::Error> {
                // JSON gives no length: room for a typical shipment's items at once
                // rather than growing the list twice.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(8).min(64));
                while let Some(item) = seq.next_element()? {
                    out.push(item);
                }
                if out.is_empty() {
                    Err(de::Error::custom("a shipment has at least one item"))
                } else {
                    Ok(NonEmptyItems(out))
                }
            }
        }
        d.deserialize_seq(V)
    }
}

/// A required field that was absent.
fn required<T, E: de::Error>(v: Option<T>, name: &'static str) -> Result<T, E> {
    v.ok_or_else(|| E::missing_field(name))
}

/// The error for a key the record's reader lists but does not handle: a bug.
fn unhandled<E: de::Error>(name: &str) -> E {
    E::custom(format!(
        "internal error: field `{name}` is listed but not read"
    ))
}

/// Reads one record with [`read_record`]: each arm `"key" => statement` names a known key
/// and reads its value from the map `$m`. The key is matched once, in `read_record`; the
/// arm is then chosen by its index, not by comparing the name again.
macro_rules! read_fields {
    ($map:ident, |$m:ident| { $($key:literal => $read:expr),* $(,)? }) => {{
        const KNOWN: &[&str] = &[$($key),*];
        read_record(&mut $map, KNOWN, |i, $m| {
            let mut at = 0usize;
            $(
                if i == at {
                    $read;
                    return Ok(());
                }
                at += 1;
            )*
            let _ = at;
            Err(unhandled(KNOWN.get(i).copied().unwrap_or_default()))
        })
    }};
}

/// Implements `Deserialize` for a record type with a visitor that reads a mapping.
macro_rules! record_reader {
    ($ty:ident, $expecting:literal, |$map:ident| $body:block) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut $map: A) -> Result<$ty, A::Error> {
                        $body
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

record_reader!(
    Shipment,
    "a shipment: a mapping with `id`, `date`, `exporter`, `consignee`, `destination` and `items`",
    |map| {
        let (mut id, mut date, mut exporter, mut consignee, mut destination, mut items) =
            (None, None, None, None, None, None);
        let (mut end_user, mut intermediaries, mut route, mut contract, mut licenses) =
            (None, None, None, None, None);
        let extra = read_fields!(map, |m| {
            "id" => id = Some(m.next_value()?),
            "date" => date = Some(m.next_value::<DateField>()?.0),
            "exporter" => exporter = Some(m.next_value()?),
            "consignee" => consignee = Some(m.next_value()?),
            "end_user" => end_user = m.next_value()?,
            "intermediaries" => intermediaries = m.next_value()?,
            "destination" => destination = Some(m.next_value()?),
            "route" => route = m.next_value()?,
            "items" => items = Some(m.next_value::<NonEmptyItems>()?.0),
            "contract" => contract = m.next_value()?,
            "licenses" => licenses = m.next_value()?,
        })?;
        Ok(Shipment {
            id: required(id, "id")?,
            date: required(date, "date")?,
            exporter: required(exporter, "exporter")?,
            consignee: required(consignee, "consignee")?,
            end_user,
            intermediaries,
            destination: required(destination, "destination")?,
            route,
            items: required(items, "items")?,
            contract,
            licenses,
            extra,
            digest: FactsDigest::default(),
        })
    }
);

record_reader!(Party, "a party: a mapping with at least `name`", |map| {
    let (mut id, mut name, mut country, mut city, mut role) = (None, None, None, None, None);
    let (mut end_use, mut percent, mut owners) = (None, None, None);
    let extra = read_fields!(map, |m| {
        "id" => id = m.next_value()?,
        "name" => name = Some(m.next_value()?),
        "country" => country = m.next_value()?,
        "city" => city = m.next_value()?,
        "role" => role = m.next_value()?,
        "end_use" => end_use = m.next_value()?,
        "percent" => percent = m.next_value()?,
        "owners" => owners = m.next_value()?,
    })?;
    Ok(Party {
        id,
        name: required(name, "name")?,
        country,
        city,
        role,
        end_use,
        percent,
        owners,
        extra,
        matched_name: std::sync::OnceLock::new(),
    })
});

record_reader!(Item, "an item: a mapping with at least `hs_code`", |map| {
    let (mut description, mut hs_code, mut eccn, mut origin) = (None, None, None, None);
    let (mut us_content_percent, mut quantity, mut unit, mut value) = (None, None, None, None);
    let extra = read_fields!(map, |m| {
        "description" => description = m.next_value()?,
        "hs_code" => hs_code = Some(m.next_value()?),
        "eccn" => eccn = m.next_value()?,
        "origin" => origin = m.next_value()?,
        "us_content_percent" => us_content_percent = m.next_value()?,
        "quantity" => quantity = m.next_value()?,
        "unit" => unit = m.next_value()?,
        "value" => value = m.next_value()?,
    })?;
    Ok(Item {
        description,
        hs_code: required(hs_code, "hs_code")?,
        eccn,
        origin,
        us_content_percent,
        quantity,
        unit,
        value,
        extra,
    })
});

record_reader!(Contract, "a contract: a mapping", |map| {
    let (mut id, mut date, mut no_russia_clause) = (None, None, None);
    let extra = read_fields!(map, |m| {
        "id" => id = m.next_value()?,
        "date" => date = m.next_value::<Option<DateField>>()?.map(|d| d.0),
        "no_russia_clause" => no_russia_clause = m.next_value()?,
    })?;
    Ok(Contract {
        id,
        date,
        no_russia_clause,
        extra,
    })
});

record_reader!(License, "a licence: a mapping", |map| {
    let (mut id, mut authority, mut covers, mut valid_until) = (None, None, None, None);
    let extra = read_fields!(map, |m| {
        "id" => id = m.next_value()?,
        "authority" => authority = m.next_value()?,
        "covers" => covers = Some(m.next_value()?),
        "valid_until" => {
            valid_until = m.next_value::<Option<DateField>>()?.map(|d| d.0);
        }
    })?;
    Ok(License {
        id,
        authority,
        covers: covers.unwrap_or_default(),
        valid_until,
        extra,
    })
});

impl Shipment {
    /// Parses and validates a shipment from YAML (JSON is YAML too).
    pub fn from_yaml(file: &SourceFile) -> Result<Shipment, Problem> {
        let text = file.text.strip_prefix('\u{feff}').unwrap_or(&file.text);
        if text.len() > MAX_SHIPMENT_BYTES {
            return Err(Problem::whole(
                Code::Limit,
                Some(&file.name),
                format!(
                    "the shipment file is {} bytes, more than the limit of {MAX_SHIPMENT_BYTES}",
                    text.len()
                ),
            )
            .help("a shipment file holds one shipment; use JSON Lines for a batch"));
        }
        let only_comments = text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        if only_comments {
            return Err(Problem::whole(Code::Shipment, Some(&file.name), "the shipment file is empty")
                .help("a shipment needs at least `id`, `date`, `exporter`, `consignee`, `destination` and `items`"));
        }
        let bom = file.text.len() - text.len();
        if let Some(at) = too_deep(text) {
            return Err(Problem::in_file(
                Code::Limit,
                file,
                at + bom,
                at + bom + 1,
                format!("the file nests more than {MAX_YAML_DEPTH} levels deep"),
            )
            .label("too deep")
            .help("the file nests too deep to be a shipment"));
        }
        let mut s: Shipment =
            serde_yaml::from_str(text).map_err(|e| yaml_problem(file, bom, &e))?;
        s.check_extras()
            .map_err(|m| Problem::whole(Code::Shipment, Some(&file.name), m))?;
        s.digest = s.compute_digest(false);
        Ok(s)
    }

    /// Parses and validates one shipment from a line of JSON Lines; `name` and `line`
    /// locate it in diagnostics.
    #[allow(clippy::expect_used)] // a shipment is read into `held` or the reading fails
    pub fn from_json_line(text: &str, name: &str, line: usize) -> Result<Shipment, Problem> {
        let mut held = None;
        Shipment::read_json_line(&mut held, text, name, line)?;
        Ok(held.expect("a shipment was read"))
    }

    /// Reads one shipment from a line of JSON Lines as [`Shipment::from_json_line`] does,
    /// into `held`: over the shipment read before, whose buffers it reuses, if `held`
    /// holds one. On an error `held` holds a shipment partly overwritten, fit only to be
    /// read into again.
    #[allow(clippy::expect_used)] // a shipment is read into `held` or the reading fails
    pub fn read_json_line<'s>(
        held: &'s mut Option<Shipment>,
        text: &str,
        name: &str,
        line: usize,
    ) -> Result<&'s Shipment, Problem> {
        // One typed pass over the text: no value tree, extra facts captured on the way.
        // The record's usual shape is read by a reader made for it; whatever it leaves,
        // `serde_json` reads, and it alone words the diagnostics.
        let plain = match quick::read_into(text, held) {
            Some(plain) => plain,
            None => {
                let s = serde_json::from_str::<Shipment>(text)
                    .map_err(|e| json_problem(text, name, line, &e))?;
                *held = Some(s);
                // Not known: such records are few, and their strings are checked.
                false
            }
        };
        let s = held.as_mut().expect("a shipment was read");
        // JSON has no extra fact without a canonical form: the reader gives string keys
        // only, refuses numbers out of range, and has no tags. The walk is skipped, and the
        // claim checked wherever debug assertions run.
        debug_assert_eq!(s.check_extras(), Ok(()));
        s.digest = s.compute_digest(plain);
        Ok(s)
    }

    /// Checks what the typed pass cannot see field by field: extra facts that have no
    /// canonical form.
    fn check_extras(&self) -> Result<(), String> {
        fn extras(extra: &Extra) -> Result<(), String> {
            for (key, v) in extra {
                canonical_extra(v).map_err(|e| format!("extra fact `{key}`: {e}"))?;
            }
            Ok(())
        }
        fn party(p: &Party) -> Result<(), String> {
            extras(&p.extra)?;
            p.owners
                .iter()
                .flat_map(|o| o.iter())
                .try_for_each(|o| party(&o.0))
        }
        // In the order of the fields, so that the first bad fact reported is the same.
        extras(&self.extra)?;
        party(&self.exporter)?;
        party(&self.consignee)?;
        self.end_user.iter().try_for_each(party)?;
        self.intermediaries.iter().flatten().try_for_each(party)?;
        self.items.iter().try_for_each(|i| extras(&i.extra))?;
        self.contract.iter().try_for_each(|c| extras(&c.extra))?;
        self.licenses
            .iter()
            .flatten()
            .try_for_each(|l| extras(&l.extra))
    }

    /// `sha256:` of the facts in canonical form: sorted keys, normalised codes, no
    /// formatting, so equal facts written differently digest the same.
    #[must_use]
    pub fn digest(&self) -> &str {
        self.digest.as_str()
    }

    /// [`Shipment::digest`] as its type, for an outcome to hold.
    #[must_use]
    pub fn facts_digest(&self) -> &FactsDigest {
        &self.digest
    }

    /// The digest of the facts; `plain`: every string of the shipment is known to hold
    /// nothing JSON escapes, so that each is copied as it is rather than checked.
    #[allow(clippy::expect_used)] // extra facts were checked to have a canonical JSON form when the shipment was read
    fn compute_digest(&self, plain: bool) -> FactsDigest {
        // The canonical form is the typed shipment as compact JSON: fields in schema
        // order, codes normalised, extra facts in key order (they are kept sorted), so
        // the same facts give the same bytes however they were written. The bytes are
        // hashed in one call, which feeds the hash whole blocks; the buffer is the
        // thread's own, kept from one shipment to the next rather than allocated each time.
        thread_local! {
            static CANONICAL: std::cell::RefCell<Vec<u8>> =
                std::cell::RefCell::new(Vec::with_capacity(4096));
        }
        let hash = CANONICAL.with_borrow_mut(|canonical| {
            canonical.clear();
            crate::canonical::write_strings(canonical, self, plain)
                .expect("a checked shipment has a canonical JSON form");
            let hash = Sha256::digest(&canonical[..]);
            // An exceptionally large shipment does not keep its memory for the rest of the run.
            if canonical.capacity() > 1 << 16 {
                *canonical = Vec::with_capacity(4096);
            }
            hash
        });
        FactsDigest(DigestRepr::Plain(sha256_text(hash.into())))
    }
}

/// `sha256:` and the 64 lower-case hexadecimal digits of `hash`: how every digest
/// rulecheck writes (of facts, of a rule set) reads.
#[inline]
#[must_use]
pub fn sha256_text(hash: [u8; 32]) -> [u8; DIGEST_LEN] {
    let mut out = [0; DIGEST_LEN];
    let (prefix, digits) = out.split_at_mut(7);
    prefix.copy_from_slice(b"sha256:");
    // Formatting each byte through `{:x}` costs more than the hash of a shipment; a
    // digit computed without a table or a branch lets the compiler make sixteen at a time.
    let digit = |n: u8| n + if n > 9 { b'a' - 10 } else { b'0' };
    for (pair, b) in digits.as_chunks_mut::<2>().0.iter_mut().zip(hash) {
        *pair = [digit(b >> 4), digit(b & 15)];
    }
    out
}

/// The diagnostic for a record `serde_json` refused: line `line` of `name`.
fn json_problem(text: &str, name: &str, line: usize, e: &serde_json::Error) -> Problem {
    // Built only for a diagnostic: most records are good, and copying each line
    // would cost more than reading it.
    let file = || SourceFile {
        name: name.to_string(),
        text: text.into(),
    };
    let at_column = |code: Code, col: usize, message: String| {
        let mut p = Problem::in_file(code, &file(), col - 1, col, message);
        // The record is read as a file of its own: its position is the line in the
        // input, and a snippet of it would number that line 1, so none is shown.
        p.line_col = Some((line, col));
        p.at = None;
        p
    };
    match too_deep(text) {
        // The reader stops at its own depth limit; say which bracket crossed ours.
        Some(at) if e.to_string().contains("recursion limit") => at_column(
            Code::Limit,
            at + 1,
            format!("the record nests more than {MAX_YAML_DEPTH} levels deep"),
        ),
        // Columns count within the line; the line is the record's.
        _ => at_column(
            Code::Shipment,
            e.column().max(1),
            plain_message(&e.to_string()),
        ),
    }
}

/// Deepest nesting of a shipment: the YAML reader's own limit, checked before reading
/// so that a hostile file is refused at once rather than after a slow scan.
const MAX_YAML_DEPTH: usize = 128;

/// The offset of the first flow bracket (`[` or `{`) nested deeper than the limit,
/// outside quotes and comments. Block nesting needs indentation, which costs bytes, and
/// is left to the reader.
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let (mut quote, mut comment) = (None::<char>, false);
    let mut prev = '\n';
    for (i, c) in text.char_indices() {
        if comment {
            comment = c != '\n';
        } else if let Some(q) = quote {
            if c == q {
                quote = None;
            }
        } else {
            match c {
                '#' if prev.is_whitespace() => comment = true,
                '"' | '\'' if matches!(prev, ' ' | '[' | '{' | ',' | ':' | '\n' | '-') => {
                    quote = Some(c);
                }
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_YAML_DEPTH {
                        return Some(i);
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        prev = c;
    }
    None
}

/// `serde_yaml`'s messages repeat the position (`at line 9 column 3`), which the snippet
/// shows already, and name the parser's state: keep what a person can act on.
fn plain_message(raw: &str) -> String {
    let mut s = raw.to_string();
    while let Some(i) = s.find(" at line ") {
        let rest = &s[i + " at line ".len()..];
        let digits = |t: &str| t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let n = digits(rest);
        let after = &rest[n..];
        let Some(col) = after.strip_prefix(" column ") else {
            break;
        };
        let m = digits(col);
        let cut = i + " at line ".len() + n + " column ".len() + m;
        s.replace_range(i..cut, "");
    }
    if let Some(i) = s.find(", while ") {
        s.truncate(i);
    }
    s
}

fn yaml_problem(file: &SourceFile, bom: usize, e: &serde_yaml::Error) -> Problem {
    // "a sequence" is YAML's word; rule authors and data producers say "a list".
    let mut message = plain_message(&e.to_string()).replace("a sequence", "a list");
    let Some(loc) = e.location() else {
        let help = if message.contains("repetition limit") {
            message = "the file expands YAML aliases (`*name`) too many times".to_string();
            "a shipment does not need aliases; write the values out"
        } else {
            "the file is not a valid shipment"
        };
        return Problem::whole(Code::Shipment, Some(&file.name), message).help(help);
    };
    let text = &*file.text;
    let mut start = (loc.index() + bom).min(text.len());
    let mut end = text[start..]
        .find(['\n', ',', '}', ']', '#'])
        .map_or(text.len(), |n| start + n.max(1));
    let token = text.get(start..end).unwrap_or("").trim().to_string();
    // The path serde_yaml puts in front, e.g. `items[0].quantity: `.
    let (path, detail) = match message.split_once(": ") {
        Some((p, d)) if !p.contains(' ') => (format!("{p}: "), d.to_string()),
        _ => (String::new(), message.clone()),
    };
    let mut label = "here";
    let mut help = None;
    let duplicate = detail
        .strip_prefix("duplicate entry with key \"")
        .and_then(|k| k.strip_suffix('"'))
        .or_else(|| {
            detail
                .strip_prefix("duplicate field `")
                .and_then(|k| k.strip_suffix('`'))
        });
    if let Some(key) = duplicate {
        // The reader points at the mapping; the mistake is the key's second line.
        let at_key = |line: &str| {
            line.trim_start()
                .strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        };
        let mut offset = 0;
        let mut seen = 0;
        for line in text[start..].split_inclusive('\n') {
            if at_key(line) {
                seen += 1;
                if seen == 2 {
                    start += offset + (line.len() - line.trim_start().len());
                    end = start + key.len();
                    break;
                }
            }
            offset += line.len();
        }
        message = format!("{path}`{key}` is given twice");
        label = "given again here";
        help = Some("keep one of them".to_string());
    } else if detail.contains("written as a number") {
        message =
            format!("{path}HS code `{token}` is written as a number, which loses trailing zeros");
        label = "unquoted";
        help = Some(format!("quote it: \"{token}\""));
    } else if [
        "input is out of range",
        "input contains invalid characters",
        "premature end of input",
        "trailing input",
        "input is not enough for unique date",
    ]
    .iter()
    .any(|m| detail.contains(m))
    {
        message = format!("{path}`{token}` is not a date");
        label = "not a date";
        help = Some("dates are written YYYY-MM-DD, e.g. `2024-03-20`".to_string());
    } else if detail.contains("cannot start any token") && text[start..].starts_with('\t') {
        message = "a tab is used for indentation".to_string();
        label = "tab";
        help = Some("YAML indents with spaces, never tabs".to_string());
    } else if detail.contains("invalid type")
        && (detail.contains("expected a number")
            || detail.contains("expected f64")
            || detail.contains("expected a percentage"))
    {
        help = Some("write the number without quotes or units, e.g. `5000`".to_string());
    } else if let Some(field) = detail
        .strip_prefix("missing field `")
        .and_then(|f| f.strip_suffix('`'))
    {
        message = format!("{path}`{field}` is missing");
        label = "in the mapping that starts here";
        help = Some("a shipment needs `id`, `date`, `exporter`, `consignee`, `destination` and `items`; a party needs `name`; an item needs `hs_code` (see the shipment schema)".to_string());
    } else if detail.contains("missing field") {
        help = Some("a shipment needs `id`, `date`, `exporter`, `consignee`, `destination` and `items`; a party needs `name`; an item needs `hs_code` (see the shipment schema)".to_string());
    } else if detail.contains("recursion limit") {
        help = Some("the file nests too deep to be a shipment".to_string());
    } else if detail.contains("repetition limit") {
        message = format!("{path}the file expands YAML aliases (`*name`) too many times");
        help = Some("a shipment does not need aliases; write the values out".to_string());
    } else if detail.contains("did not find expected")
        || detail.contains("mapping values are not allowed")
        || detail.contains("cannot start any token")
    {
        help = Some(
            "this is not valid YAML: check the indentation and the `key: value` form".to_string(),
        );
    }
    let mut p = Problem::in_file(Code::Shipment, file, start, end, message).label(label);
    if let Some(h) = help {
        p = p.help(h);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceMap;

    fn load(text: &str) -> Result<Shipment, Problem> {
        let mut m = SourceMap::default();
        let id = m.add("s.yaml", text);
        Shipment::from_yaml(m.file(id))
    }

    const MIN: &str = "id: S1\ndate: 2024-05-01\nexporter: {name: A, country: DE}\nconsignee: {name: B, country: KG}\ndestination: KG\nitems:\n  - {hs_code: \"8542.31\"}\n";

    #[test]
    fn minimal_shipment_loads_and_keeps_extras() {
        let s = load(&format!("{MIN}incorporated: 2023-01-01\n")).unwrap();
        assert_eq!(s.items[0].hs_code.digits(), "854231");
        assert!(s.end_user.is_none());
        assert!(s.extra.contains_key("incorporated"));
    }

    #[test]
    fn bad_country_is_located() {
        let e = load(&MIN.replace("destination: KG", "destination: kg")).unwrap_err();
        assert!(e.message.contains("upper case"), "{}", e.message);
        assert_eq!(e.line_col.map(|l| l.0), Some(5));
    }

    /// A JSON value of any kind, numbers at and beyond the edges of `f64` and `u64`
    /// included, nested a few levels.
    fn json_value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let edge = prop::sample::select(vec![
            "null",
            "true",
            "-0",
            "-0.0",
            "1e308",
            "-1.7976931348623157e308",
            "4.9e-324",
            "1e-400",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
            "123456789012345678901234567890",
            "\"\\ud83d\\ude00\"",
        ])
        .prop_map(str::to_string);
        let leaf = prop_oneof![
            edge,
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(|x| format!("{x:e}")),
            any::<i64>().prop_map(|x| x.to_string()),
            "[a-z\u{e9} ]{0,4}".prop_map(|s| format!("\"{s}\"")),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(("[a-c0-9]{0,2}", inner), 0..4).prop_map(|kv| {
                    let fields: Vec<String> =
                        kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", fields.join(","))
                }),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// `from_json_line` skips the walk over extra facts: whatever JSON reads, it has a
        /// canonical form.
        #[test]
        fn json_extras_are_always_canonical(top in json_value(), party in json_value(), item in json_value()) {
            let line = format!(
                r#"{{"id":"S1","date":"2024-05-01","x":{top},"exporter":{{"name":"A","y":{party}}},"consignee":{{"name":"B"}},"destination":"KG","items":[{{"hs_code":"8542.31","z":{item}}}]}}"#
            );
            if let Ok(s) = Shipment::from_json_line(&line, "t.jsonl", 1) {
                proptest::prop_assert_eq!(s.check_extras(), Ok(()));
            }
        }
    }

    #[test]
    fn json_extras_at_the_edges_read() {
        let line = r#"{"id":"S1","date":"2024-05-01","big":123456789012345678901234567890,"neg":-0,"tiny":1e-400,"max":1.7976931348623157e308,"exporter":{"name":"A"},"consignee":{"name":"B"},"destination":"KG","items":[{"hs_code":"8542.31"}]}"#;
        let s = Shipment::from_json_line(line, "t.jsonl", 1).unwrap();
        assert_eq!(s.check_extras(), Ok(()));
        assert_eq!(s.extra.len(), 4);
    }

    #[test]
    fn digest_ignores_formatting() {
        let a = load(MIN).unwrap();
        let b = load(
            &MIN.replace("\"8542.31\"", "\"854231\"")
                .replace("{name: A, country: DE}", "\n  country: DE\n  name: A"),
        )
        .unwrap();
        assert_eq!(a.digest(), b.digest());
        let c = load(&MIN.replace("name: B", "name: C")).unwrap();
        assert_ne!(a.digest(), c.digest());
    }
}
