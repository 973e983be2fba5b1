//! A reader for the usual shape of a JSON Lines record, straight from the bytes to the
//! shipment: no generic deserializer between the text and the fields.
//!
//! It reads only what it is sure `serde_json` and the typed readers in `facts` would
//! read to the same shipment, and gives up (`None`) on anything else: an escape
//! `serde_json` refuses, a number that `serde_json` would round its own way, a value of an unexpected
//! kind, a key given twice, a refused value, nesting past [`MAX_DEPTH`]. The caller then
//! reads the record with `serde_json`, which accepts it or words the diagnostic, so
//! giving up is never wrong, only slower.

use std::borrow::Cow;

use compact_str::{CompactString, ToCompactString as _};
use serde_yaml::{Mapping, Value};

use super::{
    Amount, Contract, Currency, EndUse, Extra, Item, License, Money, Owner, Owners, Party, Percent,
    Shipment, ShipmentId,
};
use crate::types::{CountryCode, Date, Eccn, HsCode, parse_date};

/// Deepest nesting read here: below `serde_json`'s recursion limit (128), so that a
/// record it would refuse for depth is never accepted here.
const MAX_DEPTH: usize = 100;

/// Reads one record, or `None` where `serde_json` must.
#[cfg(test)]
pub(super) fn read(text: &str) -> Option<Shipment> {
    let mut held = None;
    read_into(text, &mut held)?;
    held
}

/// Reads one record into `held`, over the shipment it holds if any, whose buffers (of
/// its items, names and extra facts) are reused; `None` where `serde_json` must, and then
/// `held` holds a shipment partly overwritten, fit only to be read into again.
///
/// With whether every string of the shipment is plain, holding nothing JSON escapes:
/// true unless an escape was decoded, as a string read here without one stops at the
/// first quote, backslash or control character.
pub(super) fn read_into(text: &str, held: &mut Option<Shipment>) -> Option<bool> {
    let mut c = Cursor {
        text,
        b: text.as_bytes(),
        i: 0,
        depth: 0,
        unescaped: false,
    };
    let s = match held {
        Some(s) => s,
        None => held.insert(blank_shipment()?),
    };
    shipment(&mut c, s)?;
    // Only whitespace may follow the record.
    if c.peek().is_some() {
        return None;
    }
    Some(!c.unescaped)
}

/// A number as `serde_json` hands it to a visitor.
enum Number {
    /// A non-negative integer.
    U(u64),
    /// A negative integer.
    I(i64),
    /// Anything with a fraction or an exponent.
    F(f64),
}

impl Number {
    /// The value as the typed readers' number visitor takes it.
    #[allow(clippy::cast_precision_loss)] // as the visitor converts it
    fn to_f64(&self) -> f64 {
        match *self {
            Number::U(u) => u as f64,
            Number::I(i) => i as f64,
            Number::F(f) => f,
        }
    }
}

impl From<Number> for serde_yaml::Number {
    fn from(n: Number) -> serde_yaml::Number {
        match n {
            Number::U(u) => u.into(),
            Number::I(i) => i.into(),
            Number::F(f) => f.into(),
        }
    }
}

/// The powers of ten a float's significand can be multiplied or divided by exactly:
/// the first entries of `serde_json`'s own table.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The powers of ten below 10^8, as integers.
const POW10_U64: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// The decimal digits `b` starts with, up to eight, read at once from its first eight
/// bytes: how many there are (eight when all are), and their value; `None` when `b` is
/// shorter than eight bytes.
fn digits(b: &[u8]) -> Option<(usize, u64)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let x = u64::from_le_bytes(*b.first_chunk::<8>()?).wrapping_sub(ONES * u64::from(b'0'));
    // The high bit of each byte that is not a digit: below `0` (the subtraction wraps it)
    // or above `9` (adding 0x76 carries into it). A borrow or carry only reaches bytes
    // above a marked one, so the lowest mark is exact.
    let marks = (x | x.wrapping_add(ONES * 0x76)) & (ONES * 0x80);
    let n = (marks.trailing_zeros() / 8) as usize;
    if n == 0 {
        return Some((0, 0));
    }
    // The digits moved to the top, zeros (as leading zeros) below them, then added up in
    // pairs, fours and eights, the first byte being the most significant digit.
    let v = (x << (8 * (8 - n))) & (ONES * 0x0F);
    let v = (v.wrapping_mul(10 * (1 << 8) + 1) >> 8) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(100 * (1 << 16) + 1) >> 16) & 0x0000_FFFF_0000_FFFF;
    let v = v.wrapping_mul(10_000 * (1 << 32) + 1) >> 32;
    Some((n, v))
}

/// A position in the record.
struct Cursor<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    depth: usize,
    /// Whether a string with an escape was read, which may hold what JSON escapes.
    unescaped: bool,
}

impl<'a> Cursor<'a> {
    /// The next byte that is not JSON whitespace, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        // Records are mostly written without spaces: the next byte is usually it.
        match self.b.get(self.i) {
            Some(&c) if c > b' ' => Some(c),
            _ => self.skip_space(),
        }
    }

    /// [`Cursor::peek`] past whitespace.
    #[inline(never)]
    fn skip_space(&mut self) -> Option<u8> {
        while let Some(&c) = self.b.get(self.i) {
            if !matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(c);
            }
            self.i += 1;
        }
        None
    }

    /// Consumes `c`, the next byte that is not whitespace.
    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// Consumes `null` if it comes next.
    fn null(&mut self) -> bool {
        self.peek() == Some(b'n') && self.word(b"null").is_some()
    }

    /// Consumes `word`, which must come next.
    fn word(&mut self, word: &[u8]) -> Option<()> {
        let rest = self.b.get(self.i..)?;
        rest.starts_with(word).then(|| self.i += word.len())
    }

    /// A key: a string without escapes, borrowed from the record (a key with escapes is
    /// left to `serde_json`).
    fn key(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let end = start + special(self.b.get(start..)?)?;
        if self.b.get(end) != Some(&b'"') {
            return None;
        }
        self.i = end + 1;
        self.text.get(start..end)
    }

    /// A string: borrowed from the record unless it has escapes.
    ///
    /// Inlined: returned from a call, the string went through memory as two 8-byte
    /// stores and came back as one 16-byte load, which stalls store forwarding.
    #[allow(clippy::inline_always)] // see above; the rare escaped string stays out of line
    #[inline(always)]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.i;
        let end = start + special(self.b.get(start..)?)?;
        match self.b.get(end)? {
            b'"' => {
                self.i = end + 1;
                self.text.get(start..end).map(Cow::Borrowed)
            }
            b'\\' => self.unescape(start, end).map(Cow::Owned),
            // A raw control character, which `serde_json` refuses.
            _ => None,
        }
    }

    /// The string from `start` with its escapes decoded, the first at `at`, as
    /// `serde_json` decodes them; `None` for those it refuses (lone surrogates included).
    #[cold]
    #[inline(never)]
    fn unescape(&mut self, start: usize, mut at: usize) -> Option<String> {
        self.unescaped = true;
        let mut out = String::from(self.text.get(start..at)?);
        loop {
            let c = *self.b.get(at + 1)?;
            at += 2;
            match c {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let high = self.hex4(at)?;
                    at += 4;
                    let code = match high {
                        0xD800..=0xDBFF => {
                            if self.b.get(at..at + 2)? != b"\\u" {
                                return None;
                            }
                            let low = self.hex4(at + 2)?;
                            at += 6;
                            if !(0xDC00..=0xDFFF).contains(&low) {
                                return None;
                            }
                            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                        }
                        0xDC00..=0xDFFF => return None,
                        _ => high,
                    };
                    out.push(char::from_u32(code)?);
                }
                _ => return None,
            }
            let run = special(self.b.get(at..)?)?;
            out.push_str(self.text.get(at..at + run)?);
            at += run;
            match self.b.get(at)? {
                b'"' => {
                    self.i = at + 1;
                    return Some(out);
                }
                b'\\' => {}
                _ => return None,
            }
        }
    }

    /// Four hexadecimal digits at `at`.
    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.b.get(at..at + 4)?;
        digits
            .iter()
            .try_fold(0u32, |n, &c| Some(n * 16 + char::from(c).to_digit(16)?))
    }

    /// A number, read as `serde_json` reads it; `None` for those it would not read
    /// exactly this way (integers beyond 64 bits, `-0`, floats it computes inexactly).
    fn number(&mut self) -> Option<Number> {
        self.peek()?;
        let negative = self.b.get(self.i) == Some(&b'-');
        if negative {
            self.i += 1;
        }
        let digit = |c: &Self| {
            c.b.get(c.i)
                .filter(|d| d.is_ascii_digit())
                .map(|d| d - b'0')
        };
        let mut significand;
        match self.b.get(self.i..).and_then(digits) {
            // Fewer than eight digits, the usual case, read at once. One leading zero
            // only.
            Some((n @ 1..8, value)) => {
                if n > 1 && self.b.get(self.i) == Some(&b'0') {
                    return None;
                }
                significand = value;
                self.i += n;
            }
            _ => {
                significand = u64::from(digit(self)?);
                self.i += 1;
                if significand == 0 {
                    if digit(self).is_some() {
                        return None;
                    }
                } else {
                    while let Some(d) = digit(self) {
                        significand = significand.checked_mul(10)?.checked_add(u64::from(d))?;
                        self.i += 1;
                    }
                }
            }
        }
        let mut exponent = 0i32;
        let mut float = false;
        if self.b.get(self.i) == Some(&b'.') {
            float = true;
            self.i += 1;
            if let Some((n @ 1..8, value)) = self.b.get(self.i..).and_then(digits) {
                // Likewise the decimals.
                significand = significand
                    .checked_mul(*POW10_U64.get(n)?)?
                    .checked_add(value)?;
                exponent = -i32::try_from(n).ok()?;
                self.i += n;
            } else {
                digit(self)?;
                while let Some(d) = digit(self) {
                    significand = significand.checked_mul(10)?.checked_add(u64::from(d))?;
                    exponent -= 1;
                    self.i += 1;
                }
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            float = true;
            self.i += 1;
            let positive = match self.b.get(self.i) {
                Some(b'-') => {
                    self.i += 1;
                    false
                }
                Some(b'+') => {
                    self.i += 1;
                    true
                }
                _ => true,
            };
            let mut e = i32::from(digit(self)?);
            self.i += 1;
            while let Some(d) = digit(self) {
                e = e.checked_mul(10)?.checked_add(i32::from(d))?;
                self.i += 1;
            }
            exponent = if positive {
                exponent.checked_add(e)?
            } else {
                exponent.checked_sub(e)?
            };
        }
        if !float {
            return if negative {
                // `serde_json` reads -0 and integers below i64::MIN as floats.
                #[allow(clippy::cast_possible_wrap)] // as serde_json does
                let n = (significand as i64).wrapping_neg();
                (n < 0).then_some(Number::I(n))
            } else {
                Some(Number::U(significand))
            };
        }
        // An exact significand times or divided by an exact power of ten, rounded once:
        // the nearest float, which `serde_json` computes too (by a longer way: rulecheck
        // builds it with its `float_roundtrip` feature, so that it rounds correctly).
        if significand > 1 << 53 {
            return None;
        }
        let pow = *POW10.get(usize::try_from(exponent.unsigned_abs()).ok()?)?;
        #[allow(clippy::cast_precision_loss)] // as serde_json does
        let mut f = significand as f64;
        if exponent >= 0 {
            f *= pow;
        } else {
            f /= pow;
        }
        Some(Number::F(if negative { -f } else { f }))
    }

    /// Reads a mapping, handing each key to `field`, which reads its value.
    fn fields(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.delimited(b'{', b'}', |c| {
            let key = c.key()?;
            c.eat(b':')?;
            field(c, key)
        })
    }

    /// Reads a mapping whose usual keys are `names`, in the order records usually give
    /// them. Each key is first compared with the name expected after the last one, as
    /// written without spaces, and read as a string only when it is not that one: most
    /// records give their keys in one order. `field` reads the value of the key at its
    /// index in `names`, or at `names.len()` for any other key, which it is given too. A
    /// key of `names` given twice is refused, as the typed readers refuse it. The keys of
    /// `names` read are the bits set in the number returned, at their indexes.
    fn known_fields(
        &mut self,
        names: &'static [Name],
        mut field: impl FnMut(&mut Self, usize, &'a str) -> Option<()>,
    ) -> Option<u32> {
        let mut next = 0;
        let mut seen = 0u32;
        self.delimited(b'{', b'}', |c| {
            let (k, key) = match names.get(next) {
                Some(name) if c.at(name) => {
                    c.i += name.text.len() + 3;
                    (next, name.text)
                }
                _ => {
                    let key = c.key()?;
                    c.eat(b':')?;
                    let k = names
                        .iter()
                        .position(|n| n.text == key)
                        .unwrap_or(names.len());
                    (k, key)
                }
            };
            if k < names.len() {
                first(&mut seen, k)?;
                next = k + 1;
            }
            field(c, k, key)
        })?;
        Some(seen)
    }

    /// Whether `name` comes next as written without spaces: `"name":`.
    fn at(&self, name: &Name) -> bool {
        self.b
            .get(self.i..)
            .and_then(<[u8]>::first_chunk::<16>)
            .is_some_and(|w| u128::from_le_bytes(*w) & name.mask == name.written)
    }

    /// Reads a list, `element` reading each element.
    fn elements(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.delimited(b'[', b']', element)
    }

    /// Reads `open`, members separated by commas, each read by `member`, and `close`,
    /// one level deeper.
    #[allow(clippy::inline_always)] // one copy per caller, as when each had its own loop
    #[inline(always)]
    fn delimited(
        &mut self,
        open: u8,
        close: u8,
        mut member: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.eat(open)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        if self.peek()? == close {
            self.i += 1;
        } else {
            loop {
                member(self)?;
                match self.peek()? {
                    b',' => self.i += 1,
                    c if c == close => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// A list of values each read by `read`.
    fn list<T>(&mut self, mut read: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let mut out = Vec::new();
        self.elements(|c| {
            out.push(read(c)?);
            Some(())
        })?;
        Some(out)
    }

    /// `null` as `None`, anything else read by `read`.
    #[allow(clippy::option_option)] // the outer `None` gives up, the inner one is `null`
    fn nullable<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.null() {
            Some(None)
        } else {
            read(self).map(Some)
        }
    }

    /// Any value, as an extra fact.
    fn value(&mut self) -> Option<Value> {
        Some(match self.peek()? {
            b'"' => Value::String(self.string()?.into_owned()),
            b'{' => {
                let mut m = Mapping::new();
                self.fields(|c, key| {
                    let v = c.value()?;
                    // A key given twice is refused.
                    m.insert(Value::String(key.to_owned()), v)
                        .is_none()
                        .then_some(())
                })?;
                Value::Mapping(m)
            }
            b'[' => Value::Sequence(self.list(Self::value)?),
            b't' => {
                self.word(b"true")?;
                Value::Bool(true)
            }
            b'f' => {
                self.word(b"false")?;
                Value::Bool(false)
            }
            b'n' => {
                self.word(b"null")?;
                Value::Null
            }
            _ => Value::Number(self.number()?.into()),
        })
    }

    fn owned(&mut self) -> Option<String> {
        self.string().map(Cow::into_owned)
    }

    /// A string held in place when short.
    fn compact(&mut self) -> Option<CompactString> {
        // Copied from the text whether or not it had escapes: the conversion from a
        // `Cow`, which would keep an unescaped copy's buffer, is not inlined, and costs
        // more on every string than it saves on the rare escaped one.
        self.string().map(|s| CompactString::new(&*s))
    }

    fn country(&mut self) -> Option<CountryCode> {
        // A code as records write it, `"KG"`, is read without the string reader: two
        // letters have no escape to decode.
        if let Some(&[b'"', a, b, b'"']) = self.b.get(self.i..).and_then(<[u8]>::first_chunk)
            && a.is_ascii_uppercase()
            && b.is_ascii_uppercase()
        {
            self.i += 4;
            return CountryCode::from_letters(a, b);
        }
        CountryCode::parse(&self.string()?).ok()
    }

    fn date(&mut self) -> Option<Date> {
        // A date as records write it, `"2024-05-01"`, is read without the string reader:
        // digits and dashes have no escape to decode.
        if let Some(&[b'"', y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'"']) =
            self.b.get(self.i..).and_then(<[u8]>::first_chunk)
            && [y0, y1, y2, y3, m0, m1, d0, d1]
                .iter()
                .all(u8::is_ascii_digit)
        {
            let date = parse_date(self.text.get(self.i + 1..self.i + 11)?).ok()?;
            self.i += 12;
            return Some(date);
        }
        parse_date(&self.string()?).ok()
    }

    /// An HS code written as a string.
    fn hs_code(&mut self) -> Option<HsCode> {
        // The usual codes, `"8542.31"` and `"8542.31.90"`, are read without the string
        // reader: a code that parses has only digits, dots and spaces, no escape.
        if self.b.get(self.i) == Some(&b'"') {
            for end in [8, 11] {
                if self.b.get(self.i + end) == Some(&b'"')
                    && let Some(text) = self.text.get(self.i + 1..self.i + end)
                    && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                    && let Ok(code) = HsCode::parse(text)
                {
                    self.i += end + 1;
                    return Some(code);
                }
            }
        }
        HsCode::parse(&self.string()?).ok()
    }

    fn percent(&mut self) -> Option<Percent> {
        Percent::check(self.number()?.to_f64()).ok().map(Percent)
    }

    fn amount(&mut self) -> Option<Amount> {
        Amount::check(self.number()?.to_f64()).ok().map(Amount)
    }

    /// A field beyond the schema.
    fn extra(&mut self, extra: &mut Extra, key: &str) -> Option<()> {
        let v = self.value()?;
        extra.insert(key, v).is_none().then_some(())
    }

    /// A field beyond the schema, into the facts of the record read before.
    fn refill(&mut self, extra: &mut Refill<'_>, key: &str) -> Option<()> {
        // Most extra facts are numbers: read without the reader of any value.
        let v = match self.peek()? {
            b'0'..=b'9' | b'-' => Value::Number(self.number()?.into()),
            _ => self.value()?,
        };
        extra.insert(key, v)
    }
}

/// The offset of the first quote, backslash or control character in `b`: sixteen bytes,
/// then eight at a time, as most strings are short and `memchr` costs more to set up
/// than they take.
#[allow(clippy::inline_always)] // out of line, the call would cost as much as the scan of a short string
#[inline(always)]
fn special(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    // Sixteen bytes at a time while there are as many, as there mostly are (the record
    // goes on after the string): a byte of ones for each byte marked, which the compiler
    // makes a few vector instructions, and the first found by its trailing zeros.
    while let Some(block) = b.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        let mut flags = [0u8; 16];
        for (flag, &c) in flags.iter_mut().zip(block) {
            *flag = if crate::json_text::escapes(c) {
                0xFF
            } else {
                0
            };
        }
        let marks = u128::from_le_bytes(flags);
        if marks != 0 {
            return Some(at + (marks.trailing_zeros() / 8) as usize);
        }
        at += 16;
    }
    while let Some(chunk) = b.get(at..at + 8) {
        let x = u64::from_le_bytes(chunk.try_into().ok()?);
        // The high bit of each byte that is below 0x20, or equal to `"` or `\`. A borrow
        // can only mark bytes above a marked one, so the lowest mark is exact.
        let below = |v: u64, n: u64| v.wrapping_sub(ONES * n) & !v & HIGH;
        let marks = below(x, 0x20)
            | below(x ^ (ONES * u64::from(b'"')), 1)
            | below(x ^ (ONES * u64::from(b'\\')), 1);
        if marks != 0 {
            return Some(at + (marks.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = b.get(at..)?;
    rest.iter()
        .position(|&c| crate::json_text::escapes(c))
        .map(|n| at + n)
}

/// The extra facts of a record read over those of the record read before in the same
/// place: while each fact has the key the old one had at its place, it takes that place,
/// so that records with the same extra facts (as the items of a file mostly have) reuse
/// their keys rather than make them again.
struct Refill<'e> {
    extra: &'e mut Extra,
    /// How many facts took the place of an old one, while all did.
    kept: Option<usize>,
}

impl<'e> Refill<'e> {
    fn new(extra: &'e mut Extra) -> Refill<'e> {
        Refill {
            extra,
            kept: Some(0),
        }
    }

    /// Adds a fact; `None` if its key was given before.
    fn insert(&mut self, key: &str, value: Value) -> Option<()> {
        if let Some(n) = self.kept {
            if let Some((k, v)) = self.extra.0.get_mut(n)
                && k.as_str() == key
            {
                // The facts kept are those read, in key order. A number over a number
                // has nothing to drop.
                match (v, value) {
                    (Value::Number(old), Value::Number(new)) => *old = new,
                    (v, value) => *v = value,
                }
                self.kept = Some(n + 1);
                return Some(());
            }
            self.extra.0.truncate(n);
            self.kept = None;
        }
        self.extra.insert(key, value).is_none().then_some(())
    }

    /// Drops the old facts not replaced.
    fn finish(self) {
        // Not truncated to its own length: that would still call the drop of nothing.
        if let Some(n) = self.kept
            && n < self.extra.0.len()
        {
            self.extra.0.truncate(n);
        }
    }
}

/// A key a mapping usually has.
struct Name {
    text: &'static str,
    /// The first sixteen bytes of the key as written without spaces (`"name":`) and
    /// what follows it, as one number, to compare with the record's next bytes at once.
    written: u128,
    /// The bytes of `written` that are the key's: none for a key too long to fit, which
    /// is then never taken for the key expected.
    mask: u128,
}

impl Name {
    #[allow(clippy::indexing_slicing)] // evaluated when compiling: an index out of bounds fails the build
    const fn new(text: &'static str) -> Name {
        let b = text.as_bytes();
        let len = b.len() + 3;
        let mut bytes = [0u8; 16];
        let mut mask = 0;
        if len <= 16 {
            bytes[0] = b'"';
            let mut i = 0;
            while i < b.len() {
                bytes[i + 1] = b[i];
                i += 1;
            }
            bytes[len - 2] = b'"';
            bytes[len - 1] = b':';
            mask = u128::MAX >> (8 * (16 - len));
        }
        Name {
            text,
            // Never the masked bytes of the record when the mask is empty.
            written: if mask == 0 {
                1
            } else {
                u128::from_le_bytes(bytes)
            },
            mask,
        }
    }
}

/// Marks field `bit` as read; `None` when it was already: the typed readers refuse a
/// key given twice.
fn first(seen: &mut u32, bit: usize) -> Option<()> {
    let was = *seen & (1 << bit) != 0;
    *seen |= 1 << bit;
    (!was).then_some(())
}

/// The keys of shipment, in the order records usually give them.
const SHIPMENT: [Name; 11] = [
    Name::new("id"),
    Name::new("date"),
    Name::new("destination"),
    Name::new("route"),
    Name::new("exporter"),
    Name::new("consignee"),
    Name::new("end_user"),
    Name::new("items"),
    Name::new("intermediaries"),
    Name::new("contract"),
    Name::new("licenses"),
];
/// A shipment to read into: each field is overwritten when a record is read into it.
fn blank_shipment() -> Option<Shipment> {
    Some(Shipment {
        id: ShipmentId(CompactString::default()),
        date: Date::default(),
        exporter: blank_party(),
        consignee: blank_party(),
        end_user: None,
        intermediaries: None,
        destination: CountryCode::parse("DE").ok()?,
        route: None,
        items: Vec::new(),
        contract: None,
        licenses: None,
        extra: Extra::new(),
        digest: super::FactsDigest::default(),
    })
}

/// A party to read into.
fn blank_party() -> Party {
    Party {
        id: None,
        name: CompactString::default(),
        country: None,
        city: None,
        role: None,
        end_use: None,
        percent: None,
        owners: None,
        extra: Extra::new(),
        matched_name: std::sync::OnceLock::new(),
    }
}

/// An item to read into; `None` only if the code it is made with stopped parsing.
fn blank_item() -> Option<Item> {
    /// Any code: the item's own overwrites it.
    static CODE: std::sync::LazyLock<Option<HsCode>> =
        std::sync::LazyLock::new(|| HsCode::parse("0000").ok());
    Some(Item {
        description: None,
        hs_code: (*CODE)?,
        eccn: None,
        origin: None,
        us_content_percent: None,
        quantity: None,
        unit: None,
        value: None,
        extra: Extra::new(),
    })
}

/// Whether field `bit` is missing from the fields `seen`.
fn absent(seen: u32, bit: u32) -> bool {
    seen & (1 << bit) == 0
}

/// Reads a string into `to`, in the buffer it has if it has one.
fn compact_into(c: &mut Cursor<'_>, to: &mut CompactString) -> Option<()> {
    let s = c.string()?;
    if to.is_heap_allocated() {
        to.clear();
        to.push_str(&s);
    } else {
        // Held in place: a new one costs less than one filled again.
        *to = CompactString::new(&*s);
    }
    Some(())
}

/// Reads a string or `null` into `to`, in the buffer it has if it has one.
fn nullable_compact_into(c: &mut Cursor<'_>, to: &mut Option<CompactString>) -> Option<()> {
    if c.null() {
        *to = None;
    } else {
        match to {
            Some(to) => compact_into(c, to)?,
            None => *to = Some(c.compact()?),
        }
    }
    Some(())
}

/// Reads a record into `s`, reusing its buffers.
fn shipment(c: &mut Cursor<'_>, s: &mut Shipment) -> Option<()> {
    let (mut id, mut date, mut destination) = (None, None, None);
    let mut extra = Refill::new(&mut s.extra);
    let seen = c.known_fields(&SHIPMENT, |c, k, key| {
        match k {
            // `id`
            0 => {
                let raw = match c.peek()? {
                    b'"' => c.compact()?,
                    _ => match c.number()? {
                        Number::U(u) => u.to_compact_string(),
                        _ => return None,
                    },
                };
                id = Some(ShipmentId::check(raw).ok()?);
            }
            // `date`
            1 => date = Some(c.date()?),
            // `destination`
            2 => destination = Some(c.country()?),
            // `route`
            3 => {
                if c.null() {
                    s.route = None;
                } else {
                    let route = s.route.get_or_insert_with(Vec::new);
                    route.clear();
                    c.elements(|c| {
                        route.push(c.country()?);
                        Some(())
                    })?;
                }
            }
            // `exporter`
            4 => party(c, &mut s.exporter)?,
            // `consignee`
            5 => party(c, &mut s.consignee)?,
            // `end_user`
            6 => {
                if c.null() {
                    s.end_user = None;
                } else {
                    party(c, s.end_user.get_or_insert_with(blank_party))?;
                }
            }
            // `items`
            7 => {
                if s.items.capacity() == 0 {
                    // Room for a typical shipment's items at once.
                    s.items.reserve(8);
                }
                let mut n = 0;
                c.elements(|c| {
                    match s.items.get_mut(n) {
                        Some(it) => item(c, it)?,
                        None => {
                            let mut it = blank_item()?;
                            item(c, &mut it)?;
                            s.items.push(it);
                        }
                    }
                    n += 1;
                    Some(())
                })?;
                // A shipment has at least one item.
                if n == 0 {
                    return None;
                }
                s.items.truncate(n);
            }
            // `intermediaries`
            8 => {
                s.intermediaries = c.nullable(|c| {
                    c.list(|c| {
                        let mut p = blank_party();
                        party(c, &mut p)?;
                        Some(p)
                    })
                })?;
            }
            // `contract`
            9 => s.contract = c.nullable(self::contract)?,
            // `licenses`
            10 => s.licenses = c.nullable(|c| c.list(license))?,
            _ => c.refill(&mut extra, key)?,
        }
        Some(())
    })?;
    extra.finish();
    // The parties and the items were read in place: they must have been there. The
    // fields not given are emptied; one that can hold memory is checked first, as most
    // are empty already, and emptying one calls the drop of what it held.
    if absent(seen, 4) || absent(seen, 5) || absent(seen, 7) {
        return None;
    }
    s.id = id?;
    s.date = date?;
    s.destination = destination?;
    if absent(seen, 3) && s.route.is_some() {
        s.route = None;
    }
    if absent(seen, 6) && s.end_user.is_some() {
        s.end_user = None;
    }
    if absent(seen, 8) && s.intermediaries.is_some() {
        s.intermediaries = None;
    }
    if absent(seen, 9) && s.contract.is_some() {
        s.contract = None;
    }
    if absent(seen, 10) && s.licenses.is_some() {
        s.licenses = None;
    }
    Some(())
}

/// The keys of party, in the order records usually give them.
const PARTY: [Name; 8] = [
    Name::new("id"),
    Name::new("name"),
    Name::new("country"),
    Name::new("city"),
    Name::new("role"),
    Name::new("end_use"),
    Name::new("percent"),
    Name::new("owners"),
];

/// Reads a party into `p`, reusing its buffers.
fn party(c: &mut Cursor<'_>, p: &mut Party) -> Option<()> {
    let mut extra = Refill::new(&mut p.extra);
    // The name is matched anew.
    p.matched_name = std::sync::OnceLock::new();
    let seen = c.known_fields(&PARTY, |c, k, key| {
        match k {
            // `id`
            0 => nullable_compact_into(c, &mut p.id)?,
            // `name`
            1 => compact_into(c, &mut p.name)?,
            // `country`
            2 => p.country = c.nullable(Cursor::country)?,
            // `city`
            3 => p.city = c.nullable(Cursor::owned)?,
            // `role`
            4 => p.role = c.nullable(Cursor::owned)?,
            // `end_use`
            5 => {
                p.end_use = c.nullable(|c| match &*c.string()? {
                    "civil" => Some(EndUse::Civil),
                    "military" => Some(EndUse::Military),
                    "unknown" => Some(EndUse::Unknown),
                    _ => None,
                })?;
            }
            // `percent`
            6 => p.percent = c.nullable(Cursor::percent)?,
            // `owners`
            7 => {
                p.owners = c.nullable(|c| {
                    let list = c.list(|c| {
                        let mut o = blank_party();
                        party(c, &mut o)?;
                        Owner::try_from(o).ok()
                    })?;
                    Owners::check(list).ok()
                })?;
            }
            _ => c.refill(&mut extra, key)?,
        }
        Some(())
    })?;
    extra.finish();
    if absent(seen, 1) {
        return None;
    }
    if absent(seen, 0) && p.id.is_some() {
        p.id = None;
    }
    if absent(seen, 2) {
        p.country = None;
    }
    if absent(seen, 3) && p.city.is_some() {
        p.city = None;
    }
    if absent(seen, 4) && p.role.is_some() {
        p.role = None;
    }
    if absent(seen, 5) {
        p.end_use = None;
    }
    if absent(seen, 6) {
        p.percent = None;
    }
    if absent(seen, 7) && p.owners.is_some() {
        p.owners = None;
    }
    Some(())
}

/// The keys of item, in the order records usually give them, with an extra fact most
/// records give each item.
const ITEM: [Name; 9] = [
    Name::new("hs_code"),
    Name::new("eccn"),
    Name::new("description"),
    Name::new("quantity"),
    Name::new("value_eur"),
    Name::new("origin"),
    Name::new("us_content_percent"),
    Name::new("unit"),
    Name::new("value"),
];

/// Reads an item into `it`, reusing its buffers.
fn item(c: &mut Cursor<'_>, it: &mut Item) -> Option<()> {
    let mut hs_code = None;
    let mut extra = Refill::new(&mut it.extra);
    let seen = c.known_fields(&ITEM, |c, k, key| {
        match k {
            // `hs_code`
            0 => {
                hs_code = Some(match c.peek()? {
                    b'"' => c.hs_code()?,
                    _ => match c.number()? {
                        Number::U(u) => HsCode::parse(&u.to_string()).ok()?,
                        _ => return None,
                    },
                });
            }
            // `eccn`
            1 => it.eccn = c.nullable(|c| Eccn::parse(&c.string()?).ok())?,
            // `description`
            2 => nullable_compact_into(c, &mut it.description)?,
            // `quantity`
            3 => it.quantity = c.nullable(Cursor::amount)?,
            // `origin`
            5 => it.origin = c.nullable(Cursor::country)?,
            // `us_content_percent`
            6 => it.us_content_percent = c.nullable(Cursor::percent)?,
            // `unit`
            7 => it.unit = c.nullable(Cursor::owned)?,
            // `value`
            8 => it.value = c.nullable(money)?,
            _ => c.refill(&mut extra, key)?,
        }
        Some(())
    })?;
    extra.finish();
    it.hs_code = hs_code?;
    if absent(seen, 1) && it.eccn.is_some() {
        it.eccn = None;
    }
    if absent(seen, 2) && it.description.is_some() {
        it.description = None;
    }
    if absent(seen, 3) {
        it.quantity = None;
    }
    if absent(seen, 5) {
        it.origin = None;
    }
    if absent(seen, 6) {
        it.us_content_percent = None;
    }
    if absent(seen, 7) && it.unit.is_some() {
        it.unit = None;
    }
    if absent(seen, 8) && it.value.is_some() {
        it.value = None;
    }
    Some(())
}

/// An amount of money: its two fields and no other (the derived reader skips unknown
/// keys, which is left to it).
/// The keys of money, in the order records usually give them.
const MONEY: [Name; 2] = [Name::new("amount"), Name::new("currency")];
fn money(c: &mut Cursor<'_>) -> Option<Money> {
    let (mut amount, mut currency) = (None, None);
    c.known_fields(&MONEY, |c, k, _| {
        match k {
            // `amount`
            0 => amount = Some(c.amount()?),
            // `currency`
            1 => {
                currency = Some(Currency::parse(&c.string()?).ok()?);
            }
            _ => return None,
        }
        Some(())
    })?;
    Some(Money {
        amount: amount?,
        currency: currency?,
    })
}

/// The keys of contract, in the order records usually give them.
const CONTRACT: [Name; 3] = [
    Name::new("id"),
    Name::new("date"),
    Name::new("no_russia_clause"),
];
fn contract(c: &mut Cursor<'_>) -> Option<Contract> {
    let (mut id, mut date, mut no_russia_clause) = (None, None, None);
    let mut extra = Extra::new();
    c.known_fields(&CONTRACT, |c, k, key| {
        match k {
            // `id`
            0 => {
                id = c.nullable(Cursor::owned)?;
            }
            // `date`
            1 => {
                date = c.nullable(Cursor::date)?;
            }
            // `no_russia_clause`
            2 => {
                no_russia_clause = c.nullable(|c| match c.peek()? {
                    b't' => c.word(b"true").map(|()| true),
                    b'f' => c.word(b"false").map(|()| false),
                    _ => None,
                })?;
            }
            _ => c.extra(&mut extra, key)?,
        }
        Some(())
    })?;
    Some(Contract {
        id,
        date,
        no_russia_clause,
        extra,
    })
}

/// The keys of license, in the order records usually give them.
const LICENSE: [Name; 4] = [
    Name::new("id"),
    Name::new("authority"),
    Name::new("covers"),
    Name::new("valid_until"),
];
fn license(c: &mut Cursor<'_>) -> Option<License> {
    let (mut id, mut authority, mut covers, mut valid_until) = (None, None, None, None);
    let mut extra = Extra::new();
    c.known_fields(&LICENSE, |c, k, key| {
        match k {
            // `id`
            0 => {
                id = c.nullable(Cursor::owned)?;
            }
            // `authority`
            1 => {
                authority = c.nullable(Cursor::owned)?;
            }
            // `covers`
            2 => {
                covers = Some(c.list(Cursor::owned)?);
            }
            // `valid_until`
            3 => {
                valid_until = c.nullable(Cursor::date)?;
            }
            _ => c.extra(&mut extra, key)?,
        }
        Some(())
    })?;
    Some(License {
        id,
        authority,
        covers: covers.unwrap_or_default(),
        valid_until,
        extra,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use proptest::prelude::*;

    use super::*;

    /// Fails unless this reader gives up on `line` or reads what `serde_json` reads, and
    /// when it says the strings are plain, copying them writes the canonical form.
    fn agrees(line: &str) -> Result<(), TestCaseError> {
        let mut held = None;
        if let Some(plain) = read_into(line, &mut held) {
            let fast = held.unwrap();
            let (mut copied, mut checked) = (Vec::new(), Vec::new());
            crate::canonical::write_strings(&mut copied, &fast, plain).unwrap();
            crate::canonical::write(&mut checked, &fast).unwrap();
            prop_assert_eq!(
                String::from_utf8(copied).unwrap(),
                String::from_utf8(checked).unwrap(),
                "{}",
                line
            );
            let slow = serde_json::from_str::<Shipment>(line);
            prop_assert!(
                slow.is_ok(),
                "read here, refused by serde_json: {line}\n{slow:?}"
            );
            prop_assert_eq!(
                format!("{fast:?}"),
                format!("{:?}", slow.unwrap()),
                "{}",
                line
            );
        }
        Ok(())
    }

    /// Numbers at the edges of what either reader computes exactly, now and then
    /// something that is not quite a number.
    fn number() -> impl Strategy<Value = String> {
        let edges = prop::sample::select(vec![
            "0",
            "-0",
            "-0.0",
            "0.0",
            "1",
            "-1",
            "1e5",
            "1E+2",
            "1e-3",
            "2.5e-3",
            "1.5e22",
            "3e23",
            "1e-22",
            "1e-23",
            "1e400",
            "1e-400",
            "9007199254740993",
            "9007199254740993.0",
            "9007199254740992.0",
            "0.1",
            "0.30000000000000004",
            "123456789012345678.5",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "100",
            "100.0",
            "1e0",
            "0e500",
            "4.9e-324",
            "1.7976931348623157e308",
            "1e2147483648",
            "33380.67",
        ]);
        let odd = prop::sample::select(vec![
            "01", "-01", "1.", ".5", "-", "+1", "12.", "1.2.3", "1e", "1e+", "0x10", "1_0",
        ]);
        prop_oneof![
            40 => edges.prop_map(str::to_string),
            1 => odd.prop_map(str::to_string),
            20 => any::<u64>().prop_map(|x| x.to_string()),
            20 => any::<i64>().prop_map(|x| x.to_string()),
            20 => any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(|x| format!("{x}")),
            20 => any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(|x| format!("{x:e}")),
            200 => "[0-9]{1,5}(\\.[0-9]{1,3})?",
            40 => "-?[1-9][0-9]{0,20}\\.[0-9]{1,25}([eE][+-]?[0-9]{1,3})?",
            20 => "-?[0-9]{1,25}",
        ]
    }

    /// Strings, with escapes, control characters, non-ASCII text and codes among them.
    fn string() -> impl Strategy<Value = String> {
        let written = prop::sample::select(vec![
            "\"a\\\"b\"",
            "\"\\u00e9\"",
            "\"\\ud83d\\ude00\"",
            "\"\u{e9}t\u{e9}\"",
            "\"\\n\"",
            "\"\u{7f}\"",
            "\"\"",
            "\"  \"",
            "\"8542.31\"",
            "\"KG\"",
            "\"2024-05-01\"",
            "\"EAR99\"",
            "\"5E002\"",
            "\"civil\"",
            "\"EUR\"",
            "\"\\u0069d\"",
            "\"a/b\\/c\"",
        ]);
        let odd = prop::sample::select(vec![
            "\"\\ud800\"",
            "\"a\tb\"",
            "\"\\x\"",
            "\"\u{1}\"",
            "\"a",
        ]);
        prop_oneof![
            200 => "[A-Za-z0-9 .-]{0,12}".prop_map(|s| format!("\"{s}\"")),
            40 => written.prop_map(str::to_string),
            1 => odd.prop_map(str::to_string),
        ]
    }

    /// Any JSON value, now and then something close to one.
    fn value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            40 => number(),
            40 => string(),
            20 => prop::sample::select(vec!["null", "true", "false"]).prop_map(str::to_string),
            1 => prop::sample::select(vec!["nul", "True", "[", "}"]).prop_map(str::to_string),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(("[a-z]{0,3}", inner), 0..4).prop_map(|kv| {
                    let fields: Vec<String> =
                        kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", fields.join(","))
                }),
            ]
        })
    }

    /// The value of an extra fact: mostly a plain one, as records usually have.
    fn extra() -> impl Strategy<Value = String> {
        prop_oneof![
            10 => "[0-9]{1,5}(\\.[0-9]{1,2})?",
            10 => "[A-Za-z0-9 .-]{0,12}".prop_map(|s| format!("\"{s}\"")),
            2 => prop::sample::select(vec!["null", "true", "false", "[]", "{}", r#"["a",{"b":1}]"#])
                .prop_map(str::to_string),
            3 => value(),
        ]
    }

    type Field = BoxedStrategy<(String, String)>;

    /// A known key, mostly with one of the `good` values, now and then with a `bad` one
    /// or with any value at all.
    fn field(key: &'static str, good: &[&'static str], bad: &[&'static str]) -> Field {
        let pick = |v: &[&'static str]| prop::sample::select(v.to_vec()).prop_map(str::to_string);
        let values = if bad.is_empty() {
            prop_oneof![100 => pick(good), 1 => value()].boxed()
        } else {
            prop_oneof![100 => pick(good), 1 => pick(bad), 1 => value()].boxed()
        };
        made(key, values)
    }

    /// A known key whose value is made by `values`.
    fn made(key: &'static str, values: impl Strategy<Value = String> + 'static) -> Field {
        values.prop_map(move |v| (key.to_string(), v)).boxed()
    }

    /// One of `good` mostly, now and then one of `bad`.
    fn mostly(good: BoxedStrategy<String>, bad: &[&'static str]) -> BoxedStrategy<String> {
        let bad = prop::sample::select(bad.to_vec()).prop_map(str::to_string);
        prop_oneof![50 => good, 1 => bad].boxed()
    }

    /// A record of `known` (rarely one left out), shuffled, with extra facts, rarely a
    /// key given twice, written with `sep` around its punctuation.
    fn record(known: Vec<Field>) -> impl Strategy<Value = String> {
        let n = known.len();
        (
            known,
            prop::collection::vec(prop::bool::weighted(0.97), n),
            prop::collection::vec(("[a-z_]{1,8}", extra()), 0..3),
            any::<prop::sample::Index>(),
            prop::bool::weighted(0.02),
            prop_oneof![
                30 => prop::sample::select(vec!["", " ", "\n", "\t", "\r", "  "]),
                1 => Just("\u{a0}"),
            ],
        )
            .prop_flat_map(|(known, keep, extras, at, twice, sep)| {
                let mut out: Vec<(String, String)> = known
                    .into_iter()
                    .zip(keep)
                    .filter(|(_, k)| *k)
                    .map(|(f, _)| f)
                    .collect();
                out.extend(extras);
                if twice && !out.is_empty() {
                    let dup = out[at.index(out.len())].clone();
                    out.push(dup);
                }
                Just(out).prop_shuffle().prop_map(move |fields| {
                    let body: Vec<String> = fields
                        .iter()
                        .map(|(k, v)| format!("\"{k}\"{sep}:{sep}{v}"))
                        .collect();
                    format!("{{{sep}{}{sep}}}", body.join(&format!("{sep},{sep}")))
                })
            })
    }

    fn list(
        of: impl Strategy<Value = String>,
        n: std::ops::Range<usize>,
    ) -> impl Strategy<Value = String> {
        prop::collection::vec(of, n).prop_map(|v| format!("[{}]", v.join(",")))
    }

    fn party() -> impl Strategy<Value = String> {
        let owner = prop::sample::select(vec![
            r#"{"name":"O","percent":50}"#,
            r#"{"name":"O","percent":20.5,"owners":[{"name":"P","percent":100}]}"#,
        ])
        .prop_map(str::to_string);
        let owners = mostly(
            list(owner, 0..2).boxed(),
            &[
                "null",
                r#"[{"name":"O"}]"#,
                r#"[{"name":"O","percent":60},{"name":"P","percent":40.5}]"#,
                r#"[{"name":"O","percent":33.3},{"name":"P","percent":33.3},{"name":"Q","percent":33.4}]"#,
            ],
        );
        record(vec![
            field("id", &["\"P1\"", "null"], &["7"]),
            field("name", &["\"Acme Ltd\"", "\"A\""], &["null", "5"]),
            field(
                "country",
                &["\"DE\"", "\"KG\"", "null"],
                &["\"XX\"", "\"de\""],
            ),
            field("city", &["\"Bishkek\"", "null"], &[]),
            field("role", &["\"bank\"", "null"], &[]),
            field(
                "end_use",
                &["\"civil\"", "\"military\"", "\"unknown\"", "null"],
                &["\"other\"", r#"{"civil":null}"#],
            ),
            field(
                "percent",
                &["50", "100", "0.5", "null"],
                &["101", "-1", "1e1"],
            ),
            made("owners", owners),
        ])
    }

    fn item() -> impl Strategy<Value = String> {
        record(vec![
            field(
                "description",
                &["\"Chips\"", "null", "\"Aerials for telephony\""],
                &[],
            ),
            field(
                "hs_code",
                &["\"8542.31\"", "\"8542 31 90\"", "854231"],
                &["8542.31", "\"85\"", "-8542", "null"],
            ),
            field(
                "eccn",
                &["\"3A991\"", "\"EAR99\"", "\"5E002\"", "null"],
                &["\"3a001\""],
            ),
            field("origin", &["\"US\"", "null"], &["\"us\""]),
            field("us_content_percent", &["25", "25.5", "null"], &["150"]),
            made(
                "quantity",
                prop_oneof![10 => "[0-9]{1,5}(\\.[0-9]{1,3})?".boxed(), 1 => number().boxed()],
            ),
            field("unit", &["\"pcs\"", "null"], &[]),
            field(
                "value",
                &[
                    r#"{"amount":100,"currency":"EUR"}"#,
                    r#"{"currency":"USD","amount":2.5}"#,
                    "null",
                ],
                &[
                    r#"{"amount":1.5,"currency":"eur"}"#,
                    r#"{"amount":1,"currency":"EUR","x":1}"#,
                    r#"{"amount":1,"amount":2,"currency":"EUR"}"#,
                    r#"{"amount":1}"#,
                    r#"[1,"EUR"]"#,
                ],
            ),
            made("value_eur", number()),
        ])
    }

    fn shipment() -> impl Strategy<Value = String> {
        let contract = record(vec![
            field("id", &["\"C1\"", "null"], &[]),
            field("date", &["\"2022-01-01\"", "null"], &["\"2022-13-01\""]),
            field("no_russia_clause", &["true", "false", "null"], &["1"]),
        ]);
        let license = record(vec![
            field("id", &["\"L1\"", "null"], &[]),
            field("authority", &["\"BAFA\"", "null"], &[]),
            field("covers", &[r#"["r1","r2"]"#, "[]"], &["null", "[1]"]),
            field("valid_until", &["\"2030-01-01\"", "null"], &[]),
        ]);
        let body = record(vec![
            field(
                "id",
                &["\"S1\"", "\"SHP-0000001\"", "12"],
                &["-3", "\"  \"", "1.5", "\"\""],
            ),
            field(
                "date",
                &["\"2024-05-01\"", "\"2024-02-29\""],
                &[
                    "\"2024-02-30\"",
                    "\"2024-5-1\"",
                    "\"+2024-05-01\"",
                    "\"2024-05-01 \"",
                ],
            ),
            made("exporter", party()),
            made("consignee", party()),
            made("end_user", prop_oneof![Just("null".to_string()), party()]),
            made(
                "intermediaries",
                prop_oneof![Just("null".to_string()), list(party(), 0..3)],
            ),
            field(
                "destination",
                &["\"KG\"", "\"AU\""],
                &["\"kg\"", "\"XX\"", "null"],
            ),
            field(
                "route",
                &[r#"["PL","BE"]"#, "[]", "null"],
                &[r#"["pl"]"#, r#""PL""#],
            ),
            made("items", mostly(list(item(), 1..4).boxed(), &["[]", "null"])),
            made("contract", prop_oneof![Just("null".to_string()), contract]),
            made(
                "licenses",
                prop_oneof![Just("null".to_string()), list(license, 0..3)],
            ),
        ]);
        let around = prop_oneof![
            20 => Just(""),
            2 => prop::sample::select(vec![" ", "\r", "\t"]),
            1 => prop::sample::select(vec!["\u{feff}", "x", "{}", "\u{a0}"]),
        ];
        (around.clone(), body, around).prop_map(|(a, b, c)| {
            // Text before the record other than whitespace is a BOM or garbage.
            let a = if a == "{}" { "" } else { a };
            format!("{a}{b}{c}")
        })
    }

    /// A line with a few characters deleted, replaced or inserted.
    fn mutated() -> impl Strategy<Value = String> {
        let edit = (
            any::<prop::sample::Index>(),
            0..3u8,
            prop::sample::select(vec![
                '"', '\\', '{', '}', '[', ']', ',', ':', '0', '9', '-', '.', 'e', ' ', 'n', '\u{1}',
            ]),
        );
        (shipment(), prop::collection::vec(edit, 1..4)).prop_map(|(line, edits)| {
            let mut chars: Vec<char> = line.chars().collect();
            for (at, kind, c) in edits {
                if chars.is_empty() {
                    break;
                }
                let i = at.index(chars.len());
                match kind {
                    0 => {
                        chars.remove(i);
                    }
                    1 => chars[i] = c,
                    _ => chars.insert(i, c),
                }
            }
            chars.into_iter().collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn reads_as_serde_json_reads(line in shipment()) {
            agrees(&line)?;
        }

        #[test]
        fn reads_damaged_lines_as_serde_json_reads(line in mutated()) {
            agrees(&line)?;
        }

        /// Each record read over the last, as a worker reads them, whether the last was
        /// read here, by `serde_json`, or given up on part way.
        #[test]
        fn reads_over_the_last_record_as_serde_json_reads(
            lines in prop::collection::vec(prop_oneof![4 => shipment(), 1 => mutated()], 1..8),
        ) {
            let mut held = None;
            for line in &lines {
                let slow = serde_json::from_str::<Shipment>(line);
                if read_into(line, &mut held).is_some() {
                    prop_assert!(slow.is_ok(), "read here, refused by serde_json: {line}");
                    prop_assert_eq!(
                        format!("{:?}", held.as_ref().unwrap()),
                        format!("{:?}", slow.unwrap()),
                        "{}",
                        line
                    );
                } else if let Ok(s) = slow {
                    held = Some(s);
                }
            }
        }

        #[test]
        fn extras_read_as_serde_json_reads(x in value(), n in number()) {
            let line = format!(
                r#"{{"id":"S1","date":"2024-05-01","x":{x},"n":{n},"exporter":{{"name":"A"}},"consignee":{{"name":"B"}},"destination":"KG","items":[{{"hs_code":"8542.31","q":{n}}}]}}"#
            );
            agrees(&line)?;
        }

        #[test]
        fn escapes_read_as_serde_json_reads(
            parts in prop::collection::vec(
                prop::sample::select(vec![
                    "a", "\u{e9}", " ", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r",
                    "\\t", "\\u00e9", "\\u0000", "\\uD83D", "\\ude00", "\\uDBFF", "\\uDFFF",
                    "\\u12", "\\x", "\\", "\\u0069d", "\u{1}", "\"",
                ]),
                0..8,
            ),
        ) {
            let s = parts.concat();
            let line = format!(
                r#"{{"id":"S1","date":"2024-05-01","{s}":1,"exporter":{{"name":"{s}"}},"consignee":{{"name":"B","id":"{s}"}},"destination":"KG","items":[{{"hs_code":"8542.31","description":"{s}"}}]}}"#
            );
            agrees(&line)?;
        }

        #[test]
        fn digits_are_read_as_one_at_a_time(s in "[0-9]{0,10}[-+.eE\"},/:a \u{0}\u{ff}0-9]{0,6}") {
            let b = s.as_bytes();
            let n = b.iter().take(8).take_while(|c| c.is_ascii_digit()).count();
            let value = b.iter().take(n).fold(0, |v, c| v * 10 + u64::from(c - b'0'));
            prop_assert_eq!(digits(b), (b.len() >= 8).then_some((n, value)));
        }

        #[test]
        fn special_finds_the_first_quote_backslash_or_control(s in "[a\"\\\\\u{1}\u{1f} \u{7f}\u{e9}\u{80}]{0,40}") {
            let b = s.as_bytes();
            let naive = b.iter().position(|&c| c < 0x20 || c == b'"' || c == b'\\');
            prop_assert_eq!(special(b), naive);
        }
    }

    /// A good share of the generated records is read here, so that the agreement above
    /// is tested on records read, not only on records given up on.
    #[test]
    fn generated_records_are_often_read_here() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (lines, n) = (shipment(), 1000);
        let (mut here, mut plain) = (0, 0);
        for _ in 0..n {
            let line = lines.new_tree(&mut runner).unwrap().current();
            let read = read_into(&line, &mut None);
            here += usize::from(read.is_some());
            plain += usize::from(read == Some(true));
        }
        assert!(here * 20 > n, "{here} of {n}");
        // Both kinds, strings copied and strings checked, are among them.
        assert!(plain > 0 && plain < here, "{plain} of {here}");
    }

    /// The usual records are read here, not left to `serde_json`: without this the
    /// agreement above would hold by giving up on everything.
    #[test]
    fn usual_records_are_read_here() {
        let lines = [
            r#"{"id":"SHP-0000000","date":"2024-08-16","destination":"AU","route":["PL"],"exporter":{"id":"P30332598","name":"Magastdel Ltd","country":"AT"},"consignee":{"id":"P04271731","name":"Kar Holding Ltd","country":"AU"},"end_user":{"id":"P78210864","name":"Magoptzen Inc.","country":"AU"},"items":[{"hs_code":"8532.22","eccn":null,"description":"Aluminium electrolytic capacitors","quantity":2788,"value_eur":33380.67}]}"#,
            "{ \"id\": 17, \"date\": \"2024-05-01\",\n \"exporter\": {\"name\": \"A\", \"owners\": [{\"name\": \"O\", \"percent\": 60}]},\n \"consignee\": {\"name\": \"B\", \"end_use\": \"civil\"}, \"end_user\": null, \"intermediaries\": [{\"name\": \"F\", \"role\": \"bank\"}],\n \"destination\": \"KG\", \"route\": null, \"items\": [{\"hs_code\": \"8542.31\", \"eccn\": \"3A991\", \"origin\": \"US\", \"us_content_percent\": 30.5, \"quantity\": 1, \"unit\": \"pcs\", \"value\": {\"amount\": 5000, \"currency\": \"EUR\"}, \"tags\": [\"a\", {\"b\": -2, \"c\": [true, false, null]}]}],\n \"contract\": {\"id\": \"C\", \"date\": \"2022-01-01\", \"no_russia_clause\": true}, \"licenses\": [{\"id\": \"L\", \"covers\": [\"r1\"], \"valid_until\": \"2030-01-01\"}], \"incorporated\": \"2023-01-01\" } ",
        ];
        let escaped = r#"{"id":"S\"1\"","date":"2024-05-01","exporter":{"name":"M\u00fcller \/ S\u00f6hne \ud83d\ude00\n","city":"Gen\u00e8ve"},"consignee":{"name":"B\\C\t"},"destination":"KG","items":[{"hs_code":"8542.31","description":"\"quoted\" \b\f\r"}]}"#;
        for line in lines.iter().chain([&escaped]) {
            // Strings with escapes are not taken for plain.
            let plain = !std::ptr::eq(*line, escaped);
            assert_eq!(read_into(line, &mut None), Some(plain));
            let fast = read(line).expect("read here");
            let slow = serde_json::from_str::<Shipment>(line).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
        }
    }
}
