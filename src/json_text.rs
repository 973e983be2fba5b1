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
    let y = u64::from(d.year().unsigned_abs());
    let ([c0, c1], [y0, y1]) = (pair(y / 100), pair(y));
    let ([m0, m1], [d0, d1]) = (pair(u64::from(d.month())), pair(u64::from(d.day())));
    Some([c0, c1, y0, y1, b'-', m0, m1, b'-', d0, d1])
}

/// Appends the contents of a JSON string for `s`, escaped as `serde_json` escapes:
/// `"`, `\` and control characters below U+0020, nothing else.
#[inline]
pub fn escape_into(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if needs_escape(bytes) {
        escape_slow(out, bytes);
    } else {
        // Most strings: one copy, inline at the caller, without the escaping loop's
        // registers to save.
        out.extend_from_slice(bytes);
    }
}

/// [`escape_into`] for a string with something to escape.
#[cold]
#[inline(never)]
fn escape_slow(out: &mut Vec<u8>, bytes: &[u8]) {
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

/// Whether any byte of `bytes` is one JSON escapes: sixteen bytes at a time, the last
/// sixteen overlapping blocks already seen rather than a tail read byte by byte.
#[inline]
pub fn needs_escape(bytes: &[u8]) -> bool {
    if let Some(last) = bytes.last_chunk::<16>() {
        let (blocks, _) = bytes.as_chunks::<16>();
        return blocks.iter().any(block_needs_escape) || block_needs_escape(last);
    }
    match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        // Eight to sixteen bytes: the first eight and the last eight make a block
        // (overlapping, the same bytes twice).
        (Some(first), Some(last)) => {
            let mut block = [0; 16];
            let (a, b) = block.split_at_mut(8);
            a.copy_from_slice(first);
            b.copy_from_slice(last);
            block_needs_escape(&block)
        }
        _ => bytes.iter().any(|&b| escapes(b)),
    }
}

/// Whether JSON escapes the byte `b`: the bytes a JSON string cannot hold raw, and where
/// a reader of one must stop to look.
#[inline]
pub const fn escapes(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// [`needs_escape`] for one block, without an early exit, so that the compiler makes it
/// a few vector instructions.
#[inline]
fn block_needs_escape(block: &[u8; 16]) -> bool {
    block.iter().fold(false, |any, &b| any | escapes(b))
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

/// `x` in hundredths when it is positive, below 10^12, and the double nearest to a whole
/// number of hundredths, as amounts of money are: `serde_json` writes such a number with
/// at most two decimals, as [`cents`] does (tests hold the two equal). Below 2^43 the
/// numbers that read back as one double span less than 0.01, so no other decimal with
/// two places or fewer reads back as `x`: the digits of the hundredths are the shortest
/// form, and the only one.
pub fn hundredths(x: f64) -> Option<u64> {
    if !(x > 0.0 && x < 1e12) {
        return None;
    }
    // A candidate, checked below: the nearest whole number of hundredths.
    // Converted as a signed integer, which takes one instruction where an unsigned one
    // takes several; below 10^14 either is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // in range, checked above
    let n = (x * 100.0 + 0.5) as i64 as u64;
    // The division is rounded correctly, so it is the double `n / 100` reads as; for a
    // whole number that is the whole number itself, compared without the division's
    // latency.
    #[allow(clippy::cast_precision_loss, clippy::float_cmp)] // n < 2^47 is exact; equal means equal
    let exact = if n.is_multiple_of(100) {
        (n / 100) as f64 == x
    } else {
        n as f64 / 100.0 == x
    };
    exact.then_some(n)
}

/// Appends `n` hundredths as `serde_json` writes the double nearest to them (see
/// [`hundredths`]): the whole part, a point, and one or two decimals.
pub fn cents(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n / 100).as_bytes());
    let [tenths, hundredths] = pair(n);
    if hundredths == b'0' {
        // `12.5`, and `12.0` for a whole number.
        out.extend_from_slice(&[b'.', tenths]);
    } else {
        out.extend_from_slice(&[b'.', tenths, hundredths]);
    }
}

/// The two digits of `n % 100`.
fn pair(n: u64) -> [u8; 2] {
    /// `00` to `99`.
    const PAIRS: [[u8; 2]; 100] = {
        let mut pairs = [[0; 2]; 100];
        let mut i = 0;
        while i < 100 {
            #[allow(clippy::cast_possible_truncation, clippy::indexing_slicing)] // below 100
            {
                pairs[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
            }
            i += 1;
        }
        pairs
    };
    // Below 100: never out of the table.
    let i = usize::try_from(n % 100).unwrap_or_default();
    PAIRS.get(i).copied().unwrap_or_default()
}
