//! The canonical form of a shipment's facts, the bytes its `facts_digest` is taken of:
//! compact JSON, fields in schema order, absent facts left out, codes normalised, extra
//! facts after the schema's in key order. It is exactly what `serde_json` writes for the
//! `Serialize` form of [`Shipment`] (tests hold the two equal on every shipment the
//! project has and on generated ones), written here by hand because it is done for every
//! record of a batch, and the general serializer, with its flattened maps, cost a fifth
//! of the time of a run.
//!
//! Absent facts are left out rather than written as `null`: a fact given as `null` and
//! one not given are the same fact, and every byte written is hashed for every record.
//! Each member of an object is written with a leading comma, and the first one's comma
//! becomes the object's opening brace, so that no member needs to know whether another
//! came before it.

use crate::facts::{Contract, Extra, Item, License, Money, Party, Shipment};
use crate::json_text::{self, escape_into, hundredths, small_whole};
use crate::types::{CountryCode, Date, HsCode};

/// `,"key":` and the value `$some` writes of `$v`, or nothing when `$v` is `None`.
macro_rules! field {
    ($w:ident, $key:literal, $v:expr, |$x:pat_param| $some:expr) => {
        if let Some($x) = $v {
            $w.raw($key.as_bytes());
            $some;
        }
    };
}

/// Writes the canonical form of `s` into `out`.
pub fn write(out: &mut Vec<u8>, s: &Shipment) -> serde_json::Result<()> {
    write_strings(out, s, false)
}

/// [`write`], where `plain` says that every string of `s` is known to hold nothing JSON
/// escapes (as a reader of JSON can tell), and so is copied without a look.
pub(crate) fn write_strings(
    out: &mut Vec<u8>,
    s: &Shipment,
    plain: bool,
) -> serde_json::Result<()> {
    let w = &mut Writer {
        out,
        plain_strings: plain,
    };
    w.raw(b"{\"id\":");
    w.str(&s.id.0);
    w.raw(b",\"date\":");
    w.date(s.date);
    w.raw(b",\"exporter\":");
    w.party(&s.exporter)?;
    w.raw(b",\"consignee\":");
    w.party(&s.consignee)?;
    field!(w, ",\"end_user\":", &s.end_user, |p| w.party(p)?);
    field!(
        w,
        ",\"intermediaries\":",
        s.intermediaries.as_deref(),
        |ps| { w.list(ps, Writer::party)? }
    );
    w.raw(b",\"destination\":");
    w.country(s.destination);
    field!(w, ",\"route\":", s.route.as_deref(), |cs| {
        w.list(cs, |w, c| {
            w.country(*c);
            Ok(())
        })?;
    });
    w.raw(b",\"items\":");
    w.list(&s.items, Writer::item)?;
    field!(w, ",\"contract\":", &s.contract, |c| w.contract(c)?);
    field!(w, ",\"licenses\":", s.licenses.as_deref(), |ls| {
        w.list(ls, Writer::license)?;
    });
    w.extra(&s.extra)?;
    w.raw(b"}");
    Ok(())
}

/// Appends JSON to a buffer.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// Whether every string is known to need no escape.
    plain_strings: bool,
}

impl Writer<'_> {
    fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn null(&mut self) {
        self.raw(b"null");
    }

    /// A JSON string, escaped as `serde_json` escapes it.
    fn str(&mut self, s: &str) {
        if self.plain_strings {
            self.plain(s);
        } else {
            self.escaped(s);
        }
    }

    /// [`Writer::str`] for strings not known to be plain: apart, so that the usual copy
    /// is small enough to be made at the caller.
    #[inline(never)]
    fn escaped(&mut self, s: &str) {
        self.out.push(b'"');
        escape_into(self.out, s);
        self.out.push(b'"');
    }

    /// A string known to hold nothing to escape.
    fn plain(&mut self, s: &str) {
        self.out.push(b'"');
        self.raw(s.as_bytes());
        self.out.push(b'"');
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.null(),
        }
    }

    /// A number as `serde_json` writes an `f64`: the shortest form that reads back the
    /// same, from the same crate, and `null` for what JSON cannot hold.
    fn f64(&mut self, x: f64) {
        if let Some(n) = hundredths(x) {
            // Quantities and amounts of money, whole (`2788.0`) or in cents (`33380.67`),
            // as the float writer has them, at a fraction of the cost.
            json_text::cents(self.out, n);
        } else if let Some(n) = small_whole(x) {
            // Larger whole numbers, likewise.
            self.int(n);
            self.raw(b".0");
        } else if x.is_finite() {
            self.raw(zmij::Buffer::new().format_finite(x).as_bytes());
        } else {
            self.null();
        }
    }

    fn opt_f64(&mut self, x: Option<f64>) {
        match x {
            Some(x) => self.f64(x),
            None => self.null(),
        }
    }

    fn int(&mut self, n: impl itoa::Integer) {
        self.raw(itoa::Buffer::new().format(n).as_bytes());
    }

    fn bool(&mut self, b: bool) {
        self.raw(if b { b"true" } else { b"false" });
    }

    fn country(&mut self, c: CountryCode) {
        // Two validated letters: nothing to escape, and a constant-size copy.
        let [a, b] = c.letters();
        self.raw(&[b'"', a, b, b'"']);
    }

    /// The dotted form, as `HsCode` displays: heading, then two-digit groups.
    fn hs_code(&mut self, h: &HsCode) {
        // The whole dotted form of ten digits, cut to the length of this code, costs one
        // constant-size copy rather than one per group.
        let ([d0, d1, d2, d3, d4, d5, d6, d7, d8, d9], n) = h.padded_digits();
        let at = self.out.len();
        self.raw(&[
            b'"', *d0, *d1, *d2, *d3, b'.', *d4, *d5, b'.', *d6, *d7, b'.', *d8, *d9,
        ]);
        // The quote, the heading, then each digit past it and a point before every pair.
        let rest = n.saturating_sub(4);
        self.out.truncate(at + 5 + rest + rest.div_ceil(2));
        self.out.push(b'"');
    }

    /// `YYYY-MM-DD`, as the date type writes it.
    fn date(&mut self, d: Date) {
        json_text::date(self.out, d);
    }

    fn list<T>(
        &mut self,
        xs: &[T],
        mut each: impl FnMut(&mut Self, &T) -> serde_json::Result<()>,
    ) -> serde_json::Result<()> {
        self.out.push(b'[');
        for (i, x) in xs.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            each(self, x)?;
        }
        self.out.push(b']');
        Ok(())
    }

    /// Extra facts, flattened into the object after the schema's fields.
    #[inline]
    fn extra(&mut self, extra: &Extra) -> serde_json::Result<()> {
        // Most objects have none: no call for them.
        if extra.is_empty() {
            return Ok(());
        }
        self.extra_facts(extra)
    }

    #[inline(never)]
    fn extra_facts(&mut self, extra: &Extra) -> serde_json::Result<()> {
        use serde_yaml::Value;
        for (k, v) in extra {
            self.out.push(b',');
            self.str(k);
            self.out.push(b':');
            // Most extra facts are numbers (amounts) and strings: written here, without
            // the general writer's call, which saves the registers of its recursion.
            match v {
                Value::Number(n) if n.is_f64() => self.opt_f64(n.as_f64()),
                Value::String(s) => self.str(s),
                _ => self.value(v)?,
            }
        }
        Ok(())
    }

    /// An extra fact, as `serde_json` writes a `serde_yaml::Value`.
    fn value(&mut self, v: &serde_yaml::Value) -> serde_json::Result<()> {
        use serde_yaml::Value;
        match v {
            Value::Null => self.null(),
            Value::Bool(b) => self.bool(*b),
            // Tested in the order of the number's kinds: positive integer, negative
            // integer, float.
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    self.int(u);
                } else if let Some(i) = n.as_i64() {
                    self.int(i);
                } else {
                    self.opt_f64(n.as_f64());
                }
            }
            Value::String(s) => self.str(s),
            Value::Sequence(xs) => self.list(xs, Writer::value)?,
            Value::Mapping(m) if m.keys().all(Value::is_string) => {
                self.out.push(b'{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.opt_str(k.as_str());
                    self.out.push(b':');
                    self.value(v)?;
                }
                self.out.push(b'}');
            }
            // Tags and keys that are not strings have no canonical form and are refused
            // when a shipment is read; the serializer says what it makes of them.
            Value::Mapping(_) | Value::Tagged(_) => serde_json::to_writer(&mut *self.out, v)?,
        }
        Ok(())
    }

    /// Starts an object whose members are written each with a leading comma; returns
    /// where it starts, for [`Writer::close`].
    fn open(&self) -> usize {
        self.out.len()
    }

    /// Ends the object started at `at`: the first member's comma becomes its brace.
    fn close(&mut self, at: usize) {
        match self.out.get_mut(at) {
            Some(comma) => *comma = b'{',
            None => self.out.push(b'{'),
        }
        self.out.push(b'}');
    }

    fn party(&mut self, p: &Party) -> serde_json::Result<()> {
        let at = self.open();
        field!(self, ",\"id\":", p.id.as_deref(), |id| self.str(id));
        self.raw(b",\"name\":");
        self.str(&p.name);
        field!(self, ",\"country\":", p.country, |c| self.country(c));
        field!(self, ",\"city\":", p.city.as_deref(), |c| self.str(c));
        field!(self, ",\"role\":", p.role.as_deref(), |r| self.str(r));
        // A keyword: nothing to escape.
        field!(self, ",\"end_use\":", p.end_use, |e| self.plain(e.as_str()));
        field!(self, ",\"percent\":", p.percent, |x| self.f64(x.0));
        field!(self, ",\"owners\":", p.owners.as_deref(), |os| {
            self.list(os, |w, o| w.party(&o.0))?;
        });
        self.extra(&p.extra)?;
        self.close(at);
        Ok(())
    }

    fn item(&mut self, i: &Item) -> serde_json::Result<()> {
        let at = self.open();
        field!(self, ",\"description\":", i.description.as_deref(), |d| {
            self.str(d);
        });
        self.raw(b",\"hs_code\":");
        self.hs_code(&i.hs_code);
        // Letters, digits and dots: nothing to escape.
        field!(self, ",\"eccn\":", &i.eccn, |e| self.plain(e.as_str()));
        field!(self, ",\"origin\":", i.origin, |c| self.country(c));
        field!(
            self,
            ",\"us_content_percent\":",
            i.us_content_percent,
            |x| { self.f64(x.0) }
        );
        field!(self, ",\"quantity\":", i.quantity, |x| self.f64(x.0));
        field!(self, ",\"unit\":", i.unit.as_deref(), |u| self.str(u));
        field!(self, ",\"value\":", &i.value, |m| self.money(m));
        self.extra(&i.extra)?;
        self.close(at);
        Ok(())
    }

    fn money(&mut self, m: &Money) {
        self.raw(b"{\"amount\":");
        self.f64(m.amount.0);
        self.raw(b",\"currency\":");
        self.str(&m.currency.0);
        self.raw(b"}");
    }

    fn contract(&mut self, c: &Contract) -> serde_json::Result<()> {
        let at = self.open();
        field!(self, ",\"id\":", c.id.as_deref(), |id| self.str(id));
        field!(self, ",\"date\":", c.date, |d| self.date(d));
        field!(self, ",\"no_russia_clause\":", c.no_russia_clause, |b| {
            self.bool(b);
        });
        self.extra(&c.extra)?;
        self.close(at);
        Ok(())
    }

    fn license(&mut self, l: &License) -> serde_json::Result<()> {
        let at = self.open();
        field!(self, ",\"id\":", l.id.as_deref(), |id| self.str(id));
        field!(self, ",\"authority\":", l.authority.as_deref(), |a| self
            .str(a));
        self.raw(b",\"covers\":");
        self.list(&l.covers, |w, c| {
            w.str(c);
            Ok(())
        })?;
        field!(self, ",\"valid_until\":", l.valid_until, |d| self.date(d));
        self.extra(&l.extra)?;
        self.close(at);
        Ok(())
    }
}
