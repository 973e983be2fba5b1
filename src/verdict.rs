//! The result of evaluating a shipment: its verdict, findings with evidence and
//! citations, missing facts, and (on request) why the other rules did not fire.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use compact_str::CompactString;
use serde::Serialize;

pub use crate::facts::FactsDigest;
use crate::types::{Date, Verdict};

/// Text of an outcome that most outcomes repeat (rule ids, citations, list entries):
/// shared with the rule set when it is the same for every shipment, owned when it was
/// made for one. It reads, compares, prints and serialises as the string it holds.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    /// With whether it is [`plain`].
    Static(&'static str, bool),
    /// With whether it is [`plain`].
    Shared(Arc<str>, bool),
    Owned(String),
}

/// True when JSON escapes no byte of `b` ([`crate::json_text::escapes`]); a `const fn`,
/// so that fixed texts are checked when the program is compiled.
const fn plain(mut b: &[u8]) -> bool {
    while let [c, rest @ ..] = b {
        if crate::json_text::escapes(*c) {
            return false;
        }
        b = rest;
    }
    true
}

impl Text {
    /// Text fixed in the program: nothing to allocate or free.
    #[must_use]
    pub const fn fixed(s: &'static str) -> Text {
        Text(Repr::Static(s, plain(s.as_bytes())))
    }

    /// Text to be shared by many outcomes: cloning it copies a pointer.
    #[must_use]
    pub fn shared(s: &str) -> Text {
        // Checked byte by byte: once per text, not per outcome.
        Text(Repr::Shared(s.into(), plain(s.as_bytes())))
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s, _) => s,
            Repr::Shared(s, _) => s,
            Repr::Owned(s) => s,
        }
    }

    /// True when the text is known to hold no character JSON escapes: fixed and shared
    /// texts were checked once, when they were made, so that the many outcomes that
    /// repeat them are written without checking them again. False when not known.
    #[must_use]
    pub fn known_plain(&self) -> bool {
        match &self.0 {
            Repr::Static(_, p) | Repr::Shared(_, p) => *p,
            Repr::Owned(_) => false,
        }
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Default for Text {
    fn default() -> Text {
        Text(Repr::Owned(String::new()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Repr::Owned(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Repr::Owned(s.to_string()))
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        match t.0 {
            Repr::Static(s, _) => s.to_string(),
            Repr::Shared(s, _) => s.to_string(),
            Repr::Owned(s) => s,
        }
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Everything decided about one shipment; serialises to the JSON output contract.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outcome {
    /// Shipment id: held in place, as ids are short, rather than allocated per outcome.
    pub shipment: CompactString,
    /// The date rules were evaluated as of.
    pub as_of: Date,
    /// The most severe finding, or `clear`.
    pub verdict: Verdict,
    /// Identifies the rule set and list data.
    pub rules_digest: Text,
    /// Identifies the facts.
    pub facts_digest: FactsDigest,
    /// Findings, most severe first, then in rule order.
    pub findings: Vec<Finding>,
    /// Facts that were needed but absent, with the rules that needed them.
    pub missing: Vec<Missing>,
    /// Rules that held but an exception lifted entirely.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relaxed: Vec<Finding>,
    /// With `--explain`: why each rule in force did not fire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_fired: Option<Vec<NotFired>>,
}

/// One rule that applies to the shipment.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    /// Rule id.
    pub rule: Text,
    /// Regime name.
    pub regime: Text,
    /// The verdict this finding gives (after exceptions).
    pub verdict: Verdict,
    /// The legal basis.
    pub citation: Text,
    /// The rule's message with facts filled in.
    pub message: Text,
    /// The tests that held, with fact, value and matched entry.
    pub because: Vec<Evidence>,
    /// Facts whose absence left the rule undecided (the finding is then `review`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// Exceptions that were considered for this rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<ExceptionNote>,
    /// The verdict of the rule before exceptions relaxed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relaxed_from: Option<Verdict>,
    /// Set when two exceptions apply with different outcomes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
}

/// One test that held.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Evidence {
    /// The concrete fact path, e.g. `items[1].hs_code`.
    pub fact: String,
    /// Its value.
    pub value: String,
    /// The test as written, e.g. `in chpl`.
    pub test: Text,
    /// The list entry or constant it matched, with the list's provenance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<Text>,
}

/// An exception considered for a finding.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExceptionNote {
    /// Exception id.
    pub exception: String,
    /// Its legal basis.
    pub citation: String,
    /// `applied`, `not_applied` or `unknown`.
    pub outcome: ExceptionOutcome,
    /// What it leaves when applied: `nothing` or a verdict.
    pub leaves: String,
    /// The tests that held, when applied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub because: Vec<Evidence>,
    /// Facts whose absence kept it from applying.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// With `--explain`, why it does not apply: the first test that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Whether an exception applied.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionOutcome {
    /// Its condition held: it relaxed the rule.
    Applied,
    /// Its condition was unknown: it does not apply (fail closed).
    Unknown,
    /// Its condition does not hold (reported with `--explain` only).
    NotApplied,
}

/// A fact that was needed but absent.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Missing {
    /// The fact path.
    pub fact: String,
    /// Rules that needed it (an exception's missing facts are told in its finding).
    pub needed_by: Vec<String>,
}

/// Why a rule did not fire.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NotFired {
    /// Rule id.
    pub rule: String,
    /// Regime name.
    pub regime: String,
    /// The reason, in words.
    pub reason: String,
}
