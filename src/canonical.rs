//! The canonical form of a shipment's facts, the bytes its `facts_digest` is taken of:
//! compact JSON, fields in schema order, absent facts as `null`, codes normalised, extra
//! facts after the schema's in key order. It is exactly what `serde_json` writes for the
//! `Serialize` form of [`Shipment`] (tests hold the two equal on every shipment the
//! project has and on generated ones), written here by hand because it is done for every
//! record of a batch, and the general serializer, with its flattened maps, cost a fifth
//! of the time of a run.
//!
//! Every object of the schema starts with a field the schema always writes (as `null`
//! when absent), so each key after the first carries its comma in a constant, and extra
//! facts, which always follow schema fields, always start with one.

use crate::facts::{Contract, Extra, Item, License, Money, Party, Shipment};
use crate::json_text::{self, escape_into, small_whole};
use crate::types::{CountryCode, Date, HsCode};

/// Writes the canonical form of `s` into `out`.
pub fn write(out: &mut Vec<u8>, s: &Shipment) -> serde_json::Result<()> {
    let w = &mut Writer { out };
    w.raw(b"{\"id\":");
    w.str(&s.id.0);
    w.raw(b",\"date\":");
    w.date(s.date);
    w.raw(b",\"exporter\":");
    w.party(&s.exporter)?;
    w.raw(b",\"consignee\":");
    w.party(&s.consignee)?;
    w.raw(b",\"end_user\":");
    match &s.end_user {
        Some(p) => w.party(p)?,
        None => w.null(),
    }
    w.raw(b",\"intermediaries\":");
    w.list(s.intermediaries.as_deref(), Writer::party)?;
    w.raw(b",\"destination\":");
    w.country(s.destination);
    w.raw(b",\"route\":");
    w.list(s.route.as_deref(), |w, c| {
        w.country(*c);
        Ok(())
    })?;
    w.raw(b",\"items\":");
    w.list(Some(&s.items), Writer::item)?;
    w.raw(b",\"contract\":");
    match &s.contract {
        Some(c) => w.contract(c)?,
        None => w.null(),
    }
    w.raw(b",\"licenses\":");
    w.list(s.licenses.as_deref(), Writer::license)?;
    w.extra(&s.extra)?;
    w.raw(b"}");
    Ok(())
}

/// Appends JSON to a buffer.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
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
        self.out.push(b'"');
        escape_into(self.out, s);
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
        if let Some(n) = small_whole(x) {
            // Quantities are mostly whole: `2788.0`, as the float writer has it, at a
            // fraction of the cost.
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
        // Two validated letters: nothing to escape.
        self.out.push(b'"');
        self.raw(c.as_str().as_bytes());
        self.out.push(b'"');
    }

    fn opt_country(&mut self, c: Option<CountryCode>) {
        match c {
            Some(c) => self.country(c),
            None => self.null(),
        }
    }

    /// The dotted form, as `HsCode` displays: heading, then two-digit groups.
    fn hs_code(&mut self, h: &HsCode) {
        let (heading, mut rest) = h.digits().split_at(4.min(h.digits().len()));
        self.out.push(b'"');
        self.raw(heading.as_bytes());
        while !rest.is_empty() {
            let (group, tail) = rest.split_at(2.min(rest.len()));
            self.out.push(b'.');
            self.raw(group.as_bytes());
            rest = tail;
        }
        self.out.push(b'"');
    }

    /// `YYYY-MM-DD`, as the date type writes it.
    fn date(&mut self, d: Date) {
        json_text::date(self.out, d);
    }

    fn opt_date(&mut self, d: Option<Date>) {
        match d {
            Some(d) => self.date(d),
            None => self.null(),
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
        Ok(())
    }

    /// Extra facts, flattened into the object after the schema's fields.
    fn extra(&mut self, extra: &Extra) -> serde_json::Result<()> {
        for (k, v) in extra {
            self.out.push(b',');
            self.str(k);
            self.out.push(b':');
            self.value(v)?;
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
            Value::Sequence(xs) => self.list(Some(xs), Writer::value)?,
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

    fn party(&mut self, p: &Party) -> serde_json::Result<()> {
        self.raw(b"{\"id\":");
        self.opt_str(p.id.as_deref());
        self.raw(b",\"name\":");
        self.str(&p.name);
        self.raw(b",\"country\":");
        self.opt_country(p.country);
        self.raw(b",\"city\":");
        self.opt_str(p.city.as_deref());
        self.raw(b",\"role\":");
        self.opt_str(p.role.as_deref());
        self.raw(b",\"end_use\":");
        self.opt_str(p.end_use.map(crate::facts::EndUse::as_str));
        self.raw(b",\"percent\":");
        self.opt_f64(p.percent.map(|x| x.0));
        self.raw(b",\"owners\":");
        self.list(p.owners.as_deref(), |w, o| w.party(&o.0))?;
        self.extra(&p.extra)?;
        self.raw(b"}");
        Ok(())
    }

    fn item(&mut self, i: &Item) -> serde_json::Result<()> {
        self.raw(b"{\"description\":");
        self.opt_str(i.description.as_deref());
        self.raw(b",\"hs_code\":");
        self.hs_code(&i.hs_code);
        self.raw(b",\"eccn\":");
        self.opt_str(i.eccn.as_ref().map(crate::types::Eccn::as_str));
        self.raw(b",\"origin\":");
        self.opt_country(i.origin);
        self.raw(b",\"us_content_percent\":");
        self.opt_f64(i.us_content_percent.map(|x| x.0));
        self.raw(b",\"quantity\":");
        self.opt_f64(i.quantity.map(|x| x.0));
        self.raw(b",\"unit\":");
        self.opt_str(i.unit.as_deref());
        self.raw(b",\"value\":");
        match &i.value {
            Some(m) => self.money(m),
            None => self.null(),
        }
        self.extra(&i.extra)?;
        self.raw(b"}");
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
        self.raw(b"{\"id\":");
        self.opt_str(c.id.as_deref());
        self.raw(b",\"date\":");
        self.opt_date(c.date);
        self.raw(b",\"no_russia_clause\":");
        match c.no_russia_clause {
            Some(b) => self.bool(b),
            None => self.null(),
        }
        self.extra(&c.extra)?;
        self.raw(b"}");
        Ok(())
    }

    fn license(&mut self, l: &License) -> serde_json::Result<()> {
        self.raw(b"{\"id\":");
        self.opt_str(l.id.as_deref());
        self.raw(b",\"authority\":");
        self.opt_str(l.authority.as_deref());
        self.raw(b",\"covers\":");
        self.list(Some(&l.covers), |w, c| {
            w.str(c);
            Ok(())
        })?;
        self.raw(b",\"valid_until\":");
        self.opt_date(l.valid_until);
        self.extra(&l.extra)?;
        self.raw(b"}");
        Ok(())
    }
}
