//! The value types that facts and rules share: verdicts, country codes, HS codes, ECCNs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar date (no time of day, no zone): the law counts in days.
pub type Date = chrono::NaiveDate;

/// How severe a finding or a shipment's result is; ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing applied and nothing was missing.
    Clear,
    /// A person must look at it before the goods move.
    Review,
    /// The export needs an authorisation.
    LicenseRequired,
    /// The export is banned.
    Prohibited,
}

impl Verdict {
    /// The keyword used in rule files and JSON output.
    #[must_use]
    #[allow(clippy::expect_used)] // country codes are validated ASCII letters
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Clear => "clear",
            Verdict::Review => "review",
            Verdict::LicenseRequired => "license_required",
            Verdict::Prohibited => "prohibited",
        }
    }

    /// The documented process exit status for this verdict.
    #[must_use]
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Clear => 0,
            Verdict::Review => 1,
            Verdict::LicenseRequired => 2,
            Verdict::Prohibited => 3,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Verdict {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "clear" => Ok(Verdict::Clear),
            "review" => Ok(Verdict::Review),
            "license_required" => Ok(Verdict::LicenseRequired),
            "prohibited" => Ok(Verdict::Prohibited),
            _ => Err(()),
        }
    }
}

/// Officially assigned ISO 3166-1 alpha-2 codes, plus `XK` (Kosovo), which customs use.
const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT \
MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG \
UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

/// `ASSIGNED[26 * first + second]` says whether a two-letter code is assigned: built
/// once, at compile time, from the list above, so a lookup is one array access.
#[allow(clippy::indexing_slicing)] // evaluated at compile time: out of bounds would not compile
const ASSIGNED: [bool; 676] = {
    let b = ISO_3166_ALPHA2.as_bytes();
    let mut table = [false; 676];
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i].is_ascii_uppercase() && b[i + 1].is_ascii_uppercase() {
            table[(b[i] - b'A') as usize * 26 + (b[i + 1] - b'A') as usize] = true;
            i += 2;
        } else {
            i += 1;
        }
    }
    table
};

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses an upper-case ISO 3166-1 alpha-2 code; anything else is an error message.
    #[allow(clippy::indexing_slicing)] // the length is checked to be 2 first
    pub fn parse(s: &str) -> Result<Self, String> {
        let b = s.as_bytes();
        if b.len() != 2 || !b.iter().all(u8::is_ascii_alphabetic) {
            return Err(format!(
                "`{s}` is not a country code: expected two letters (ISO 3166-1 alpha-2, e.g. `DE`)"
            ));
        }
        if !b.iter().all(u8::is_ascii_uppercase) {
            return Err(format!(
                "`{s}` is not a country code: codes are upper case (`{}`)",
                s.to_ascii_uppercase()
            ));
        }
        if !ASSIGNED[usize::from(b[0] - b'A') * 26 + usize::from(b[1] - b'A')] {
            return Err(format!(
                "`{s}` is not an assigned ISO 3166-1 alpha-2 country code"
            ));
        }
        Ok(CountryCode([b[0], b[1]]))
    }

    /// The code of two upper-case letters if it is assigned: [`CountryCode::parse`] for
    /// a reader that holds the letters already, with no message to word.
    #[must_use]
    pub fn from_letters(a: u8, b: u8) -> Option<Self> {
        if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
            return None;
        }
        let assigned = ASSIGNED.get(usize::from(a - b'A') * 26 + usize::from(b - b'A'))?;
        assigned.then_some(CountryCode([a, b]))
    }

    /// The two letters as bytes.
    #[must_use]
    pub fn letters(self) -> [u8; 2] {
        self.0
    }

    /// The two letters.
    #[must_use]
    #[allow(clippy::expect_used)] // country codes are validated ASCII letters
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("country codes are validated ASCII")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ParseVisitor(
            "a country code (ISO 3166-1 alpha-2, e.g. \"DE\")",
            CountryCode::parse,
        ))
    }
}

/// Validates a string inside the deserializer's visit, so that the YAML reader
/// can attach the position of the offending scalar to the error.
pub(crate) struct ParseVisitor<T>(pub &'static str, pub fn(&str) -> Result<T, String>);

impl<T> serde::de::Visitor<'_> for ParseVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        (self.1)(v).map_err(E::custom)
    }
}

/// A Harmonized System code, 4 to 10 digits, kept as digits only so that
/// `8542.31`, `854231` and `8542 31` are the same code.
///
/// The digits are held in place rather than on the heap: every item has a code, and a
/// code is short and bounded.
///
/// Aligned to eight bytes: a code of 11 bytes was copied as two overlapping moves, and
/// reading it back right after stalled the store buffer (it is copied a few times as
/// each item is read).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(align(8))]
pub struct HsCode {
    /// The digits as ASCII, zeros after the last: equal codes are equal arrays.
    digits: [u8; 10],
    /// How many digits there are, 4 to 10.
    len: u8,
}

impl HsCode {
    /// Parses a code written with or without dots and spaces.
    pub fn parse(s: &str) -> Result<Self, String> {
        // The usual shapes, told at once: nearly every code is written `8542.31` or
        // `8542.31.90`.
        let digit = u8::is_ascii_digit;
        match *s.as_bytes() {
            [a, b, c, d, b'.', e, f] if [a, b, c, d, e, f].iter().all(digit) => {
                return Ok(HsCode {
                    digits: [a, b, c, d, e, f, 0, 0, 0, 0],
                    len: 6,
                });
            }
            [a, b, c, d, b'.', e, f, b'.', g, h] if [a, b, c, d, e, f, g, h].iter().all(digit) => {
                return Ok(HsCode {
                    digits: [a, b, c, d, e, f, g, h, 0, 0],
                    len: 8,
                });
            }
            _ => {}
        }
        // One pass over the bytes, not chars: a code is read for every item, and any byte
        // that is not a digit, dot or space (a non-ASCII one included) refuses it anyway.
        let mut digits = [0u8; 10];
        let (mut n, mut allowed) = (0usize, true);
        for b in s.bytes() {
            if b.is_ascii_digit() {
                if let Some(slot) = digits.get_mut(n) {
                    *slot = b;
                }
                n += 1;
            } else if b != b'.' && b != b' ' {
                allowed = false;
                break;
            }
        }
        if !allowed || n == 0 {
            return Err(format!(
                "`{s}` is not an HS code: only digits, dots and spaces are allowed (e.g. `8542.31`)"
            ));
        }
        let Ok(len @ 4..=10) = u8::try_from(n) else {
            return Err(format!(
                "`{s}` is not an HS code: it has {n} digits, an HS code has 4 to 10"
            ));
        };
        Ok(HsCode { digits, len })
    }

    /// The digits as ten ASCII bytes, zeros after the last, and how many there are (4
    /// to 10): a fixed-size copy for writers of the whole code.
    #[must_use]
    pub fn padded_digits(&self) -> (&[u8; 10], usize) {
        (&self.digits, usize::from(self.len))
    }

    /// The digits as ASCII bytes.
    #[must_use]
    pub fn digit_bytes(&self) -> &[u8] {
        self.digits.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The code as digits only.
    #[must_use]
    pub fn digits(&self) -> &str {
        // ASCII digits, checked when read: the conversion cannot fail.
        std::str::from_utf8(self.digit_bytes()).unwrap_or_default()
    }

    /// True when `self` (a list entry) covers `code` in the HS hierarchy.
    #[must_use]
    pub fn covers(&self, code: &HsCode) -> bool {
        code.digit_bytes().starts_with(self.digit_bytes())
    }
}

// Ordered and hashed as the digit string is, as when the code was held as one.
impl Ord for HsCode {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.digit_bytes().cmp(other.digit_bytes())
    }
}

impl PartialOrd for HsCode {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::hash::Hash for HsCode {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // What `str` feeds a hasher, without converting the bytes to one.
        state.write(self.digit_bytes());
        state.write_u8(0xff);
    }
}

impl HsCode {
    /// Appends the dotted form (see the `Display` impl) without the formatting machinery:
    /// evidence shows a code for every matched item.
    pub fn push_dotted(&self, out: &mut String) {
        for (i, b) in self.digit_bytes().iter().enumerate() {
            if i >= 4 && i % 2 == 0 {
                out.push('.');
            }
            out.push(char::from(*b));
        }
    }
}

impl fmt::Display for HsCode {
    /// Dotted form: heading, then two-digit groups (`8542.31.90`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(usize::from(self.len) + 3);
        self.push_dotted(&mut s);
        f.write_str(&s)
    }
}

impl fmt::Debug for HsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for HsCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HsCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // An unquoted YAML number such as 8542.31 arrives as a float; insist on a string
        // so that trailing zeros (8542.10) are never lost.
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = HsCode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an HS code as a quoted string, e.g. \"8542.31\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HsCode, E> {
                HsCode::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<HsCode, E> {
                HsCode::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<HsCode, E> {
                // The digits as written are not known here; the reader quotes them back.
                let _ = v;
                Err(E::custom(
                    "an HS code written as a number, which loses trailing zeros",
                ))
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads a date field: `YYYY-MM-DD` directly, anything else through chrono's reader,
/// which gives the same date and the same error message as reading a [`Date`] does.
pub(crate) struct DateField(pub Date);

/// `YYYY-MM-DD` with a valid day, without chrono's general format machinery, which costs
/// more than the rest of a date field; everything else is chrono's to accept or refuse.
pub(crate) fn parse_date(s: &str) -> Result<Date, chrono::ParseError> {
    if let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = s.as_bytes() {
        let digits = [y0, y1, y2, y3, m0, m1, d0, d1];
        if digits.iter().all(u8::is_ascii_digit) {
            let n = |ds: &[u8]| ds.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0'));
            #[allow(clippy::cast_possible_wrap)] // four digits
            let year = n(&[y0, y1, y2, y3]) as i32;
            if let Some(d) = Date::from_ymd_opt(year, n(&[m0, m1]), n(&[d0, d1])) {
                return Ok(d);
            }
        }
    }
    s.parse()
}

impl<'de> Deserialize<'de> for DateField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = DateField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // chrono's words, so that errors read as before
                f.write_str("a formatted date string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DateField, E> {
                parse_date(v).map(DateField).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A US Export Control Classification Number (`3A991`, `5A002.a.1`) or `EAR99`.
///
/// Held in place when short, as codes are: the paragraph after the first five
/// characters has no bound, but rarely more than a few characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Eccn(compact_str::CompactString);

impl Eccn {
    /// Parses an ECCN: digit, category letter A-E, three digits, optional paragraph; or EAR99.
    #[allow(clippy::indexing_slicing)] // the length is checked to be at least 5 first
    pub fn parse(s: &str) -> Result<Self, String> {
        if s == "EAR99" {
            return Ok(Eccn(s.into()));
        }
        let b = s.as_bytes();
        let ok = b.len() >= 5
            && b[0].is_ascii_digit()
            && (b'A'..=b'E').contains(&b[1])
            && b[2..5].iter().all(u8::is_ascii_digit)
            && b[5..]
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'.');
        if ok {
            Ok(Eccn(s.into()))
        } else {
            Err(format!(
                "`{s}` is not an ECCN: expected a digit, a category letter A-E and three digits (e.g. `3A991`), or `EAR99`"
            ))
        }
    }

    /// The code as written.
    #[must_use]
    #[allow(clippy::expect_used)] // country codes are validated ASCII letters
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Eccn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Eccn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Eccn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Eccn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ParseVisitor(
            "an ECCN such as \"3A991\" or \"EAR99\"",
            Eccn::parse,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hs_codes_normalise_and_match_hierarchically() {
        let entry = HsCode::parse("8542").unwrap();
        let code = HsCode::parse("8542.31.90").unwrap();
        assert_eq!(code.digits(), "85423190");
        assert_eq!(code.to_string(), "8542.31.90");
        assert!(entry.covers(&code));
        assert!(!code.covers(&entry));
        assert!(HsCode::parse("85A2").is_err());
        assert!(HsCode::parse("854").is_err());
    }

    /// The reading before byte-level parsing: the reference for equivalence.
    fn hs_reference(s: &str) -> Result<String, String> {
        let digits: String = s.chars().filter(|c| *c != '.' && *c != ' ').collect();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "`{s}` is not an HS code: only digits, dots and spaces are allowed (e.g. `8542.31`)"
            ));
        }
        if !(4..=10).contains(&digits.len()) {
            return Err(format!(
                "`{s}` is not an HS code: it has {} digits, an HS code has 4 to 10",
                digits.len()
            ));
        }
        Ok(digits)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn hs_parse_matches_reference(s in "[0-9. a\\u{e9}٣-]{0,14}") {
            proptest::prop_assert_eq!(
                HsCode::parse(&s).map(|h| h.digits().to_string()),
                hs_reference(&s)
            );
        }

        #[test]
        fn dates_read_as_chrono_reads_them(s in "[+ -]?[0-9]{1,5}[- ]{1,2}[0-9]{1,3}[- ]{1,2}[0-9]{1,3} ?") {
            proptest::prop_assert_eq!(parse_date(&s), s.parse::<Date>());
        }

        #[test]
        fn well_formed_dates_read_as_chrono_reads_them(y in 0u32..10000, m in 0u32..14, d in 0u32..33) {
            let s = format!("{y:04}-{m:02}-{d:02}");
            proptest::prop_assert_eq!(parse_date(&s), s.parse::<Date>());
        }
    }

    #[test]
    fn country_codes_are_iso_alpha2_upper_case() {
        assert!(CountryCode::parse("KG").is_ok());
        assert!(CountryCode::parse("kg").is_err());
        assert!(CountryCode::parse("XX").is_err());
        assert!(CountryCode::parse("RUS").is_err());
    }

    #[test]
    fn country_codes_from_letters_are_those_parsed() {
        for a in 0..=u8::MAX {
            for b in [b'A', b'G', b'S', b'U', b'Z', b'a', b'@', b'[', 0x80] {
                let text = [a, b];
                let parsed = std::str::from_utf8(&text)
                    .ok()
                    .and_then(|s| CountryCode::parse(s).ok());
                assert_eq!(CountryCode::from_letters(a, b), parsed, "{a} {b}");
                let parsed = std::str::from_utf8(&[b, a])
                    .ok()
                    .and_then(|s| CountryCode::parse(s).ok());
                assert_eq!(CountryCode::from_letters(b, a), parsed, "{b} {a}");
            }
        }
    }

    #[test]
    fn eccns() {
        assert!(Eccn::parse("3A991").is_ok());
        assert!(Eccn::parse("5A002.a.1").is_ok());
        assert!(Eccn::parse("EAR99").is_ok());
        assert!(Eccn::parse("3A").is_err());
        assert!(Eccn::parse("3a001").is_err());
    }
}
