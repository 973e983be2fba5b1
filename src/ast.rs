//! The typed syntax tree of rule files; every node carries the span it came from.

use crate::source::Span;

/// A name with the span where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A string literal: its unescaped text and the span of the quoted source.
#[derive(Debug, Clone, PartialEq)]
pub struct Str {
    /// The text between the quotes, escapes resolved.
    pub value: String,
    /// The span including the quotes.
    pub span: Span,
    /// Byte offset of each char of `value` in the source, for locating interpolations.
    pub offsets: Vec<u32>,
}

/// One parsed rule file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    /// Declarations in source order.
    pub decls: Vec<Decl>,
}

/// A top-level declaration.
#[derive(Debug, Clone, PartialEq)]
pub enum Decl {
    /// `regime NAME { ... }`
    Regime(Regime),
    /// `rule ID { ... }`
    Rule(Rule),
    /// `exception ID { ... }`
    Exception(Exception),
    /// `list NAME { ... }`
    List(ListDecl),
    /// `predicate NAME(params) { ... }`
    Predicate(Predicate),
    /// `fact PATH: TYPE "description"`
    Fact(FactDecl),
}

/// A body of law and the shipments it binds.
#[derive(Debug, Clone, PartialEq)]
pub struct Regime {
    /// Its name, referenced by rules.
    pub name: Ident,
    /// A short human title.
    pub title: Option<Str>,
    /// The legal instrument, e.g. "Council Regulation (EU) No 833/2014".
    pub authority: Option<Str>,
    /// When it binds a shipment; `None` until set, `Some(None)` for `everyone`.
    pub scope: Option<Scope>,
    /// Free notes for reviewers.
    pub notes: Vec<Str>,
    /// The whole declaration.
    pub span: Span,
}

/// A regime's reach.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    /// Binds every shipment.
    Everyone(Span),
    /// Binds shipments for which the condition holds.
    When(Expr),
}

/// The period a rule or exception is in force, both ends inclusive.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    /// First day in force.
    pub from: Option<(crate::types::Date, Span)>,
    /// Last day in force.
    pub until: Option<(crate::types::Date, Span)>,
    /// The whole `effective` field.
    pub span: Span,
}

/// A rule: a condition under which a shipment gets a verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Stable dotted id, e.g. `eu.833.art2a`.
    pub id: Ident,
    /// The regime it belongs to.
    pub regime: Option<Ident>,
    /// Short title.
    pub title: Option<Str>,
    /// Article, annex, paragraph.
    pub citation: Option<Str>,
    /// Period in force.
    pub effective: Option<Effective>,
    /// The condition.
    pub when: Option<Expr>,
    /// What the rule says when its condition holds.
    pub verdict: Option<(crate::types::Verdict, Span)>,
    /// Message with `{fact.path}` interpolations.
    pub message: Option<Str>,
    /// Free notes for reviewers.
    pub notes: Vec<Str>,
    /// The whole declaration.
    pub span: Span,
}

/// What an exception leaves of the rule it relaxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaves {
    /// The finding goes away.
    Nothing,
    /// The finding stays with this weaker verdict.
    Verdict(crate::types::Verdict),
}

/// An "unless" of the law: relaxes named rules when its condition holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    /// Stable dotted id.
    pub id: Ident,
    /// Rule ids (or `prefix.*` patterns) it relaxes.
    pub relaxes: Vec<Ident>,
    /// Short title.
    pub title: Option<Str>,
    /// Its own legal basis.
    pub citation: Option<Str>,
    /// Period in force.
    pub effective: Option<Effective>,
    /// The condition.
    pub when: Option<Expr>,
    /// What it leaves.
    pub leaves: Option<(Leaves, Span)>,
    /// Free notes for reviewers.
    pub notes: Vec<Str>,
    /// The whole declaration.
    pub span: Span,
}

/// A named set of countries, codes or entities, inline or from a data file.
#[derive(Debug, Clone, PartialEq)]
pub struct ListDecl {
    /// Its name.
    pub name: Ident,
    /// What its entries are.
    pub kind: Option<(TypeName, Span)>,
    /// Short title.
    pub title: Option<Str>,
    /// Inline entries.
    pub entries: Option<(Vec<Literal>, Span)>,
    /// Data files, relative to the rule file.
    pub from: Vec<Str>,
    /// Data file format (`csv`, `yaml`, `json`, `ofac_sdn`); guessed from the extension if absent.
    pub format: Option<Ident>,
    /// The CSV column (or object key) holding the entry.
    pub column: Option<Str>,
    /// An OFAC `alt.csv` style alias file.
    pub aliases: Option<Str>,
    /// Where the list comes from.
    pub source: Option<Str>,
    /// The date the list is current as of.
    pub as_of: Option<(crate::types::Date, Span)>,
    /// Free notes for reviewers.
    pub notes: Vec<Str>,
    /// The whole declaration.
    pub span: Span,
}

/// A reusable named condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    /// Its name.
    pub name: Ident,
    /// Typed parameters.
    pub params: Vec<(Ident, TypeName, Span)>,
    /// Short title.
    pub title: Option<Str>,
    /// The condition.
    pub when: Option<Expr>,
    /// Free notes.
    pub notes: Vec<Str>,
    /// The whole declaration.
    pub span: Span,
}

/// A fact beyond the standard schema that rules may use.
#[derive(Debug, Clone, PartialEq)]
pub struct FactDecl {
    /// The fact path, e.g. `consignee.incorporated`.
    pub path: Path,
    /// Its type.
    pub ty: (TypeName, Span),
    /// What it means.
    pub description: Option<Str>,
    /// The whole declaration.
    pub span: Span,
}

/// A type written in a rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeName {
    /// Text.
    String,
    /// A number.
    Number,
    /// A percentage, 0 to 100.
    Percent,
    /// A date.
    Date,
    /// true / false.
    Bool,
    /// An ISO country code.
    Country,
    /// An HS code.
    HsCode,
    /// An ECCN.
    Eccn,
    /// A listed person or company (lists only).
    Entity,
    /// A party of the shipment.
    Party,
    /// An item of the shipment.
    Item,
    /// A licence held.
    License,
}

impl TypeName {
    /// The keyword, as written in rule files.
    #[must_use]
    pub fn keyword(self) -> &'static str {
        match self {
            TypeName::String => "string",
            TypeName::Number => "number",
            TypeName::Percent => "percent",
            TypeName::Date => "date",
            TypeName::Bool => "bool",
            TypeName::Country => "country",
            TypeName::HsCode => "hs_code",
            TypeName::Eccn => "eccn",
            TypeName::Entity => "entity",
            TypeName::Party => "party",
            TypeName::Item => "item",
            TypeName::License => "license",
        }
    }

    /// Parses the keyword.
    #[must_use]
    pub fn from_keyword(s: &str) -> Option<Self> {
        Some(match s {
            "string" => TypeName::String,
            "number" => TypeName::Number,
            "percent" => TypeName::Percent,
            "date" => TypeName::Date,
            "bool" => TypeName::Bool,
            "country" => TypeName::Country,
            "hs_code" => TypeName::HsCode,
            "eccn" => TypeName::Eccn,
            "entity" => TypeName::Entity,
            "party" => TypeName::Party,
            "item" => TypeName::Item,
            "license" => TypeName::License,
            _ => return None,
        })
    }
}

/// A dotted fact path such as `items` or `end_user.country`.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// The segments.
    pub segments: Vec<Ident>,
    /// The whole path.
    pub span: Span,
}

impl Path {
    /// The path as written, e.g. `end_user.country`.
    #[must_use]
    pub fn text(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// A condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// All hold (two or more operands, flat: a long chain never nests deep).
    And(Vec<Expr>, Span),
    /// One holds (two or more operands, flat).
    Or(Vec<Expr>, Span),
    /// Does not hold.
    Not(Box<Expr>, Span),
    /// `true` / `false`.
    Bool(bool, Span),
    /// `a < b`, `a == b`, `a before b`, ...
    Compare(Box<Term>, CompareOp, Box<Term>, Span),
    /// `a in set` / `a not in set`.
    In {
        /// The value tested.
        term: Box<Term>,
        /// `not in`.
        negated: bool,
        /// The set.
        set: SetRef,
        /// The whole test.
        span: Span,
    },
    /// `a starts with set`.
    StartsWith(Box<Term>, SetRef, Span),
    /// `path is present` / `path is missing`.
    Presence {
        /// The fact.
        path: Path,
        /// True for `is missing`.
        missing: bool,
        /// The whole test.
        span: Span,
    },
    /// `any|all|none VAR in PATH where BODY`.
    Quantified {
        /// Which quantifier.
        quantifier: Quantifier,
        /// The bound variable.
        var: Ident,
        /// The collection.
        collection: Path,
        /// The condition on each element.
        body: Box<Expr>,
        /// The whole test.
        span: Span,
    },
    /// A named predicate applied to arguments (or a bare boolean fact if no parentheses).
    Call(Ident, Vec<Path>, Span),
    /// A bare path: a boolean fact, or a predicate without parameters.
    Path(Path),
}

impl Expr {
    /// The span of the whole condition.
    #[must_use]
    pub fn span(&self) -> Span {
        match self {
            Expr::And(_, s)
            | Expr::Or(_, s)
            | Expr::Not(_, s)
            | Expr::Bool(_, s)
            | Expr::Compare(_, _, _, s)
            | Expr::StartsWith(_, _, s)
            | Expr::Call(_, _, s) => *s,
            Expr::In { span, .. } | Expr::Presence { span, .. } | Expr::Quantified { span, .. } => {
                *span
            }
            Expr::Path(p) => p.span,
        }
    }
}

/// Quantifiers over a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// At least one element.
    Any,
    /// Every element.
    All,
    /// No element.
    None,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<` or `before`
    Lt,
    /// `<=` or `on or before`
    Le,
    /// `>` or `after`
    Gt,
    /// `>=` or `on or after`
    Ge,
}

impl CompareOp {
    /// The operator with its operands swapped: `a < b` is `b > a`.
    #[must_use]
    pub fn mirror(self) -> Self {
        match self {
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Le => CompareOp::Ge,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Ge => CompareOp::Le,
            other => other,
        }
    }

    /// Whether the comparison holds for operands that compare as `o`.
    #[must_use]
    pub fn holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            CompareOp::Eq => o == Equal,
            CompareOp::Ne => o != Equal,
            CompareOp::Lt => o == Less,
            CompareOp::Le => o != Greater,
            CompareOp::Gt => o == Greater,
            CompareOp::Ge => o != Less,
        }
    }

    /// The symbol used in explanations.
    #[must_use]
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }

    /// The operator that holds exactly when this one does not.
    #[must_use]
    pub fn negate(self) -> Self {
        match self {
            CompareOp::Eq => CompareOp::Ne,
            CompareOp::Ne => CompareOp::Eq,
            CompareOp::Lt => CompareOp::Ge,
            CompareOp::Le => CompareOp::Gt,
            CompareOp::Gt => CompareOp::Le,
            CompareOp::Ge => CompareOp::Lt,
        }
    }
}

/// The right-hand side of `in` / `starts with`.
#[derive(Debug, Clone, PartialEq)]
pub enum SetRef {
    /// A named list, or a list-valued fact such as `l.covers` (resolved by the checker).
    Named(Path),
    /// `[a, b, c]`
    Inline(Vec<Literal>, Span),
}

/// A value in a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// A fact or a bound variable.
    Path(Path),
    /// A constant.
    Literal(Literal),
    /// `ownership of PARTY by LIST`: percent owned by listed persons (OFAC 50 percent rule).
    Ownership {
        /// The party whose ownership is computed.
        party: Path,
        /// The list of blocked persons.
        list: Ident,
        /// The whole term.
        span: Span,
    },
    /// `count VAR in PATH [where BODY]`.
    Count {
        /// Bound variable.
        var: Ident,
        /// Collection.
        collection: Path,
        /// Optional filter.
        filter: Option<Box<Expr>>,
        /// The whole term.
        span: Span,
    },
    /// `sum VALUE for VAR in PATH [where BODY]`.
    Sum {
        /// The value summed, a path from the variable.
        value: Path,
        /// Bound variable.
        var: Ident,
        /// Collection.
        collection: Path,
        /// Optional filter.
        filter: Option<Box<Expr>>,
        /// The whole term.
        span: Span,
    },
    /// `DATE + N days|months|years`.
    Shift {
        /// The date shifted.
        base: Box<Term>,
        /// Signed amount.
        amount: i64,
        /// Days, months or years.
        unit: TimeUnit,
        /// The whole term.
        span: Span,
    },
}

impl Term {
    /// The span of the whole term.
    #[must_use]
    pub fn span(&self) -> Span {
        match self {
            Term::Path(p) => p.span,
            Term::Literal(l) => l.span,
            Term::Ownership { span, .. }
            | Term::Count { span, .. }
            | Term::Sum { span, .. }
            | Term::Shift { span, .. } => *span,
        }
    }
}

/// Units of date arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Calendar days.
    Days,
    /// Calendar months.
    Months,
    /// Calendar years.
    Years,
}

/// A constant as written; its meaning (country, HS code, number) comes from context.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    /// The lexical form.
    pub kind: LiteralKind,
    /// The source text (strings: unescaped value).
    pub text: String,
    /// Where it was written.
    pub span: Span,
}

/// Lexical forms of constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralKind {
    /// `2024-03-20`
    Date,
    /// `50%`
    Percent,
    /// `42000`, `8542.31`
    Number,
    /// `RU`, `EAR99`, `3A991`
    Code,
    /// `"text"`
    String,
}

/// The tree as text with every span and source offset left out: two files that differ
/// only in layout and comments give the same text.
#[must_use]
pub fn without_spans(file: &File) -> String {
    let debug = format!("{file:?}");
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug.as_str();
    loop {
        let span = rest.find("Span { file: ");
        let offsets = rest.find("offsets: [");
        let (at, close) = match (span, offsets) {
            (Some(s), Some(o)) if o < s => (o, ']'),
            (Some(s), _) => (s, '}'),
            (None, Some(o)) => (o, ']'),
            (None, None) => break,
        };
        out.push_str(rest.get(..at).unwrap_or(""));
        out.push('_');
        let after = rest.get(at..).unwrap_or("");
        match after.find(close) {
            Some(end) => rest = after.get(end + 1..).unwrap_or(""),
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}
