//! The shipment schema as the rule checker sees it: which fact paths exist and their types.

use std::fmt;

/// The type of a value in a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    /// Text.
    Str,
    /// A number.
    Num,
    /// A percentage.
    Percent,
    /// A date.
    Date,
    /// true / false.
    Bool,
    /// An ISO country code.
    Country,
    /// An HS code.
    Hs,
    /// An ECCN.
    Eccn,
    /// A structured fact.
    Obj(Kind),
    /// A collection.
    List(Box<Ty>),
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Str => f.write_str("a string"),
            Ty::Num => f.write_str("a number"),
            Ty::Percent => f.write_str("a percentage"),
            Ty::Date => f.write_str("a date"),
            Ty::Bool => f.write_str("true/false"),
            Ty::Country => f.write_str("a country code"),
            Ty::Hs => f.write_str("an HS code"),
            Ty::Eccn => f.write_str("an ECCN"),
            Ty::Obj(k) => write!(f, "{}", k.article()),
            Ty::List(t) => write!(f, "a list of {}", t.plural()),
        }
    }
}

impl Ty {
    fn plural(&self) -> String {
        match self {
            Ty::Str => "strings".into(),
            Ty::Num => "numbers".into(),
            Ty::Percent => "percentages".into(),
            Ty::Date => "dates".into(),
            Ty::Bool => "booleans".into(),
            Ty::Country => "country codes".into(),
            Ty::Hs => "HS codes".into(),
            Ty::Eccn => "ECCNs".into(),
            Ty::Obj(k) => format!("{}s", k.name()),
            Ty::List(t) => format!("lists of {}", t.plural()),
        }
    }

    /// The type from a type keyword of a rule file.
    #[must_use]
    pub fn from_name(t: crate::ast::TypeName) -> Ty {
        use crate::ast::TypeName as T;
        match t {
            T::String | T::Entity => Ty::Str,
            T::Number => Ty::Num,
            T::Percent => Ty::Percent,
            T::Date => Ty::Date,
            T::Bool => Ty::Bool,
            T::Country => Ty::Country,
            T::HsCode => Ty::Hs,
            T::Eccn => Ty::Eccn,
            T::Party => Ty::Obj(Kind::Party),
            T::Item => Ty::Obj(Kind::Item),
            T::License => Ty::Obj(Kind::License),
        }
    }
}

/// Kinds of structured facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The shipment itself (the root).
    Shipment,
    /// A party or an owner.
    Party,
    /// An item.
    Item,
    /// An amount with currency.
    Money,
    /// The contract.
    Contract,
    /// A licence.
    License,
}

impl Kind {
    /// Singular name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Kind::Shipment => "shipment",
            Kind::Party => "party",
            Kind::Item => "item",
            Kind::Money => "money amount",
            Kind::Contract => "contract",
            Kind::License => "license",
        }
    }

    /// The name with its article: "a party", "an item".
    #[must_use]
    pub fn article(self) -> String {
        match self {
            Kind::Item => "an item".into(),
            k => format!("a {}", k.name()),
        }
    }
}

/// A field of a structured fact, resolved once at compile time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    /// `id`
    Id,
    /// `date`
    Date,
    /// `exporter`
    Exporter,
    /// `consignee`
    Consignee,
    /// `end_user`
    EndUser,
    /// `intermediaries`
    Intermediaries,
    /// `parties`: exporter, consignee, end user and intermediaries that are present
    Parties,
    /// `destination`
    Destination,
    /// `route`
    Route,
    /// `items`
    Items,
    /// `contract`
    Contract,
    /// `licenses`
    Licenses,
    /// `name`
    Name,
    /// `country`
    Country,
    /// `city`
    City,
    /// `role`
    Role,
    /// `end_use`
    EndUse,
    /// `percent`
    Percent,
    /// `owners`
    Owners,
    /// `description`
    Description,
    /// `hs_code`
    HsCode,
    /// `eccn`
    Eccn,
    /// `origin`
    Origin,
    /// `us_content_percent`
    UsContentPercent,
    /// `quantity`
    Quantity,
    /// `unit`
    Unit,
    /// `value`
    Value,
    /// `amount`
    Amount,
    /// `currency`
    Currency,
    /// `no_russia_clause`
    NoRussiaClause,
    /// `authority`
    Authority,
    /// `covers`
    Covers,
    /// `valid_until`
    ValidUntil,
    /// A fact declared in the rules with `fact`, beyond the schema.
    Extra(Box<str>),
}

/// The standard fields of each kind: name, field, type.
#[must_use]
pub fn standard_fields(kind: Kind) -> Vec<(&'static str, Field, Ty)> {
    use Field as F;
    let party = || Ty::Obj(Kind::Party);
    match kind {
        Kind::Shipment => vec![
            ("id", F::Id, Ty::Str),
            ("date", F::Date, Ty::Date),
            ("exporter", F::Exporter, party()),
            ("consignee", F::Consignee, party()),
            ("end_user", F::EndUser, party()),
            (
                "intermediaries",
                F::Intermediaries,
                Ty::List(Box::new(party())),
            ),
            ("parties", F::Parties, Ty::List(Box::new(party()))),
            ("destination", F::Destination, Ty::Country),
            ("route", F::Route, Ty::List(Box::new(Ty::Country))),
            ("items", F::Items, Ty::List(Box::new(Ty::Obj(Kind::Item)))),
            ("contract", F::Contract, Ty::Obj(Kind::Contract)),
            (
                "licenses",
                F::Licenses,
                Ty::List(Box::new(Ty::Obj(Kind::License))),
            ),
        ],
        Kind::Party => vec![
            ("id", F::Id, Ty::Str),
            ("name", F::Name, Ty::Str),
            ("country", F::Country, Ty::Country),
            ("city", F::City, Ty::Str),
            ("role", F::Role, Ty::Str),
            ("end_use", F::EndUse, Ty::Str),
            ("percent", F::Percent, Ty::Percent),
            ("owners", F::Owners, Ty::List(Box::new(party()))),
        ],
        Kind::Item => vec![
            ("description", F::Description, Ty::Str),
            ("hs_code", F::HsCode, Ty::Hs),
            ("eccn", F::Eccn, Ty::Eccn),
            ("origin", F::Origin, Ty::Country),
            ("us_content_percent", F::UsContentPercent, Ty::Percent),
            ("quantity", F::Quantity, Ty::Num),
            ("unit", F::Unit, Ty::Str),
            ("value", F::Value, Ty::Obj(Kind::Money)),
        ],
        Kind::Money => vec![
            ("amount", F::Amount, Ty::Num),
            ("currency", F::Currency, Ty::Str),
        ],
        Kind::Contract => vec![
            ("id", F::Id, Ty::Str),
            ("date", F::Date, Ty::Date),
            ("no_russia_clause", F::NoRussiaClause, Ty::Bool),
        ],
        Kind::License => vec![
            ("id", F::Id, Ty::Str),
            ("authority", F::Authority, Ty::Str),
            ("covers", F::Covers, Ty::List(Box::new(Ty::Str))),
            ("valid_until", F::ValidUntil, Ty::Date),
        ],
    }
}

/// The fact schema: standard fields plus the facts the rule files declare.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    declared: Vec<(Kind, String, Ty)>,
}

impl Schema {
    /// Adds a declared fact on a kind; false if it clashes with a standard field.
    pub fn declare(&mut self, kind: Kind, name: &str, ty: Ty) -> bool {
        if standard_fields(kind).iter().any(|(n, _, _)| *n == name)
            || self
                .declared
                .iter()
                .any(|(k, n, _)| *k == kind && n == name)
        {
            return false;
        }
        self.declared.push((kind, name.to_string(), ty));
        true
    }

    /// The field and type of `name` on `kind`.
    #[must_use]
    pub fn field(&self, kind: Kind, name: &str) -> Option<(Field, Ty)> {
        if let Some((_, f, t)) = standard_fields(kind)
            .into_iter()
            .find(|(n, _, _)| *n == name)
        {
            return Some((f, t));
        }
        self.declared
            .iter()
            .find(|(k, n, _)| *k == kind && n == name)
            .map(|(_, n, t)| (Field::Extra(n.as_str().into()), t.clone()))
    }

    /// All field names of a kind, for "did you mean".
    #[must_use]
    pub fn names(&self, kind: Kind) -> Vec<String> {
        let mut v: Vec<String> = standard_fields(kind)
            .into_iter()
            .map(|(n, _, _)| n.to_string())
            .collect();
        v.extend(
            self.declared
                .iter()
                .filter(|(k, _, _)| *k == kind)
                .map(|(_, n, _)| n.clone()),
        );
        v
    }
}
