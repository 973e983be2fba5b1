//! The canonical form of a shipment's facts, the bytes its `facts_digest` is taken of:
//! compact JSON, fields in schema order, absent facts as `null`, codes normalised, extra
//! facts after the schema's in key order. It is exactly what `serde_json` writes for the
//! `Serialize` form of [`Shipment`] (a test holds the two equal on every shipment the
//! project has), written here by hand because it is done for every record of a batch, and
//! the general serializer, with its flattened maps, cost a fifth of the time of a run.

use serde::Serialize;

use chrono::Datelike;

use crate::facts::{Contract, Extra, Item, License, Money, Party, Shipment};
use crate::types::{CountryCode, Date, Eccn, HsCode};

/// Writes the canonical form of `s` into `out`.
pub fn write(out: &mut Vec<u8>, s: &Shipment) -> serde_json::Result<()> {
    let mut w = Writer { out, first: true };
    w.open();
    w.field("id", &s.id)?;
    w.date_field("date", Some(s.date))?;
    w.key("exporter");
    w.party(&s.exporter)?;
    w.key("consignee");
    w.party(&s.consignee)?;
    w.key("end_user");
    match &s.end_user {
        Some(p) => w.party(p)?,
        None => w.null(),
    }
    w.key("intermediaries");
    w.list(s.intermediaries.as_deref(), Writer::party)?;
    w.country_field("destination", Some(s.destination));
    w.key("route");
    w.list(s.route.as_deref(), |w, c| {
        w.quoted(c.as_str());
        Ok(())
    })?;
    w.key("items");
    w.list(Some(&s.items), Writer::item)?;
    w.key("contract");
    match &s.contract {
        Some(c) => w.contract(c)?,
        None => w.null(),
    }
    w.key("licenses");
    w.list(s.licenses.as_deref(), Writer::license)?;
    w.extra(&s.extra)?;
    w.close();
    Ok(())
}

/// Writes one JSON object at a time; `first` says whether a comma is due.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Writer<'_> {
    fn open(&mut self) {
        self.out.push(b'{');
        self.first = true;
    }

    fn close(&mut self) {
        self.out.push(b'}');
        self.first = false;
    }

    fn null(&mut self) {
        self.out.extend_from_slice(b"null");
    }

    /// A key of the schema: plain ASCII, nothing to escape.
    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A key and a leaf value, written as `serde_json` writes it.
    fn field<T: Serialize + ?Sized>(&mut self, k: &str, v: &T) -> serde_json::Result<()> {
        self.key(k);
        self.value(v)
    }

    fn value<T: Serialize + ?Sized>(&mut self, v: &T) -> serde_json::Result<()> {
        serde_json::to_writer(&mut *self.out, v)
    }

    /// A string: copied as it is when it has nothing JSON escapes, as most have.
    fn str_field(&mut self, k: &str, v: Option<&str>) -> serde_json::Result<()> {
        self.key(k);
        match v {
            Some(s) if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') => {
                self.quoted(s);
                Ok(())
            }
            Some(s) => self.value(s),
            None => {
                self.null();
                Ok(())
            }
        }
    }

    /// A string known to need no escaping (codes, dates): between quotes as it is.
    fn quoted(&mut self, s: &str) {
        self.out.push(b'"');
        self.out.extend_from_slice(s.as_bytes());
        self.out.push(b'"');
    }

    fn country_field(&mut self, k: &str, c: Option<CountryCode>) {
        self.key(k);
        match c {
            Some(c) => self.quoted(c.as_str()),
            None => self.null(),
        }
    }

    /// The dotted form, as `HsCode` displays: heading, then two-digit groups.
    fn hs_code(&mut self, h: &HsCode) {
        let (heading, mut rest) = h.digits().split_at(4.min(h.digits().len()));
        self.out.push(b'"');
        self.out.extend_from_slice(heading.as_bytes());
        while !rest.is_empty() {
            let (group, tail) = rest.split_at(2.min(rest.len()));
            self.out.push(b'.');
            self.out.extend_from_slice(group.as_bytes());
            rest = tail;
        }
        self.out.push(b'"');
    }

    fn eccn(&mut self, e: &Eccn) {
        self.quoted(e.as_str());
    }

    /// `YYYY-MM-DD`, as the date type writes it; years outside 0..=9999 are left to it.
    fn date_field(&mut self, k: &str, d: Option<Date>) -> serde_json::Result<()> {
        self.key(k);
        match d {
            Some(d) if (0..=9999).contains(&d.year()) => {
                let (y, m, day) = (d.year().unsigned_abs(), d.month(), d.day());
                let digit = |n: u32| b'0' + u8::try_from(n % 10).unwrap_or(0);
                self.out.extend_from_slice(&[
                    b'"',
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
                    b'"',
                ]);
                Ok(())
            }
            Some(d) => self.value(&d),
            None => {
                self.null();
                Ok(())
            }
        }
    }

    fn list<T>(
        &mut self,
        xs: Option<&[T]>,
        mut each: impl FnMut(&mut Self, &T) -> serde_json::Result<()>,
    ) -> serde_json::Result<()> {
        let Some(xs) = xs else {
            self.null();
            return Ok(());
        };
        self.out.push(b'[');
        for (i, x) in xs.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            each(self, x)?;
        }
        self.out.push(b']');
        self.first = false;
        Ok(())
    }

    /// Extra facts, flattened into the object after the schema's fields.
    fn extra(&mut self, extra: &Extra) -> serde_json::Result<()> {
        for (k, v) in extra {
            if !self.first {
                self.out.push(b',');
            }
            self.first = false;
            self.value(k.as_str())?;
            self.out.push(b':');
            self.value(v)?;
        }
        Ok(())
    }

    fn party(&mut self, p: &Party) -> serde_json::Result<()> {
        self.open();
        self.str_field("id", p.id.as_deref())?;
        self.str_field("name", Some(&p.name))?;
        self.country_field("country", p.country);
        self.str_field("city", p.city.as_deref())?;
        self.str_field("role", p.role.as_deref())?;
        self.field("end_use", &p.end_use)?;
        self.field("percent", &p.percent)?;
        self.key("owners");
        self.list(p.owners.as_deref(), |w, o| w.party(&o.0))?;
        self.extra(&p.extra)?;
        self.close();
        Ok(())
    }

    fn item(&mut self, i: &Item) -> serde_json::Result<()> {
        self.open();
        self.str_field("description", i.description.as_deref())?;
        self.key("hs_code");
        self.hs_code(&i.hs_code);
        self.key("eccn");
        match &i.eccn {
            Some(e) => self.eccn(e),
            None => self.null(),
        }
        self.country_field("origin", i.origin);
        self.field("us_content_percent", &i.us_content_percent)?;
        self.field("quantity", &i.quantity)?;
        self.str_field("unit", i.unit.as_deref())?;
        self.key("value");
        match &i.value {
            Some(m) => self.money(m)?,
            None => self.null(),
        }
        self.extra(&i.extra)?;
        self.close();
        Ok(())
    }

    fn money(&mut self, m: &Money) -> serde_json::Result<()> {
        self.open();
        self.field("amount", &m.amount)?;
        self.field("currency", &m.currency)?;
        self.close();
        Ok(())
    }

    fn contract(&mut self, c: &Contract) -> serde_json::Result<()> {
        self.open();
        self.str_field("id", c.id.as_deref())?;
        self.date_field("date", c.date)?;
        self.field("no_russia_clause", &c.no_russia_clause)?;
        self.extra(&c.extra)?;
        self.close();
        Ok(())
    }

    fn license(&mut self, l: &License) -> serde_json::Result<()> {
        self.open();
        self.str_field("id", l.id.as_deref())?;
        self.str_field("authority", l.authority.as_deref())?;
        self.field("covers", &l.covers)?;
        self.date_field("valid_until", l.valid_until)?;
        self.extra(&l.extra)?;
        self.close();
        Ok(())
    }
}
