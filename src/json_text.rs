//! JSON text written by hand on the hot paths (the canonical facts form, outcome lines),
//! byte for byte as `serde_json` writes it: strings escaped as it escapes them, whole
//! numbers and dates in its forms. Tests hold each function equal to `serde_json`.

use chrono::Datelike;

use crate::types::Date;

/// Appends `"s"`, escaped as `serde_json` escapes it.
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escape_into(out, s);
    out.push(b'"');
}

/// A date as chrono writes it for serde: `"YYYY-MM-DD"` for the years 0 to 9999, written
/// here; the others (with a sign) by chrono itself.
#[allow(clippy::expect_used)] // writing a date into memory cannot fail
pub fn date(out: &mut Vec<u8>, d: Date) {
    let Some(text) = ymd(d) else {
        serde_json::to_writer(out, &d).expect("a date serialises into memory");
        return;
    };
    out.push(b'"');
    out.extend_from_slice(&text);
    out.push(b'"');
}

/// Appends a date as its `Display` writes it (`YYYY-MM-DD`), without the formatting
/// machinery for the years 0 to 9999.
pub fn push_date(out: &mut String, d: Date) {
    match ymd(d).as_ref().map(|t| std::str::from_utf8(t)) {
        Some(Ok(text)) => out.push_str(text),
        _ => {
            use std::fmt::Write as _;
            let _ = write!(out, "{d}");
        }
    }
}

/// `YYYY-MM-DD` for the years 0 to 9999, which need no sign.
fn ymd(d: Date) -> Option<[u8; 10]> {
    if !(0..=9999).contains(&d.year()) {
        return None;
    }
    let (y, m, day) = (d.year().unsigned_abs(), d.month(), d.day());
    let digit = |n: u32| b'0' + u8::try_from(n % 10).unwrap_or(0);
    Some([
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(day / 10),
        digit(day),
    ])
}

/// Appends the contents of a JSON string for `s`, escaped as `serde_json` escapes:
/// `"`, `\` and control characters below U+0020, nothing else.
pub fn escape_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if !needs_escape(bytes) {
        // Most strings: one copy.
        out.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            b'\t' => b't',
            b'\n' => b'n',
            0x0C => b'f',
            b'\r' => b'r',
            0x00..=0x1F => b'u',
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        start = i + 1;
        if short == b'u' {
            #[allow(clippy::indexing_slicing)] // a nibble indexes 16 digits
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX_DIGITS[usize::from(b >> 4)],
                HEX_DIGITS[usize::from(b & 15)],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', short]);
        }
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
}

/// Lower-case hexadecimal digits.
const HEX_DIGITS: [u8; 16] = *b"0123456789abcdef";

/// Whether any byte of `bytes` is one JSON escapes: eight bytes at a time, each word
/// tested with the classic has-zero-byte arithmetic.
pub fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Some byte of `x` is below 0x20, `"` or `\`; exact as a whole (a borrow can only
    // mark a byte above one that already matched).
    let any = |x: u64| {
        let below = x.wrapping_sub(ONES * 0x20);
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        let zero = |v: u64| v.wrapping_sub(ONES) & !v;
        (below & !x | zero(quote) | zero(backslash)) & HIGH != 0
    };
    let (words, tail) = bytes.as_chunks::<8>();
    if words.iter().any(|w| any(u64::from_ne_bytes(*w))) {
        return true;
    }
    if tail.is_empty() {
        return false;
    }
    // The last eight bytes, overlapping words already seen, rather than a copy of the
    // tail; a string shorter than a word is read byte by byte.
    match bytes.last_chunk::<8>() {
        Some(last) => any(u64::from_ne_bytes(*last)),
        None => tail.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\'),
    }
}

/// `x` as an integer when it is whole, positive (not `-0.0`) and at most 10^15, where
/// `serde_json` writes it as the integer and `.0` (a test holds the two equal over the
/// range).
pub fn small_whole(x: f64) -> Option<u64> {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked in range below
    let n = x as u64;
    #[allow(clippy::cast_precision_loss, clippy::float_cmp)]
    // exact up to 2^53; whole means exactly equal
    let whole = n as f64 == x;
    (x.is_sign_positive() && x <= 1e15 && whole).then_some(n)
}
