//! Loading list data (CSV, YAML, JSON, OFAC SDN) into indexed sets, each entry checked
//! against the list's kind and every problem located at its line in the data file.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, Visitor};

use crate::compile::{Entry, ListKind, ListSet, SetIndex, normalize_name};
use crate::diagnostics::{Code, Problem};
use crate::source::SourceFile;
use crate::types::{CountryCode, Eccn, HsCode};

/// Largest data file accepted, in bytes.
pub const MAX_DATA_BYTES: usize = 64 * 1024 * 1024;

/// Data file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header row.
    Csv,
    /// A YAML sequence of strings or objects.
    Yaml,
    /// A JSON array of strings or objects.
    Json,
    /// OFAC's `sdn.csv`: no header, 12 columns, `-0-` for null.
    OfacSdn,
}

impl Format {
    /// The format from its keyword.
    #[must_use]
    pub fn from_name(s: &str) -> Option<Format> {
        Some(match s {
            "csv" => Format::Csv,
            "yaml" => Format::Yaml,
            "json" => Format::Json,
            "ofac_sdn" => Format::OfacSdn,
            _ => return None,
        })
    }

    /// The format a file name suggests.
    #[must_use]
    pub fn from_extension(path: &str) -> Option<Format> {
        let ext = path.rsplit('.').next()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" => Format::Csv,
            "yaml" | "yml" => Format::Yaml,
            "json" => Format::Json,
            _ => return None,
        })
    }
}

/// Where an entry of a data file is written: `file:line` (CSV) or `file[n]` (YAML, JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryOrigin {
    /// The data file, as named in diagnostics; shared by all its entries.
    pub file: Arc<str>,
    /// The entry's place in it.
    pub place: Place,
}

/// An entry's place in its data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The 1-based line of a CSV row.
    Line(u64),
    /// The 0-based index of an element of a YAML or JSON sequence.
    Index(usize),
}

impl fmt::Display for EntryOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Place::Line(n) => write!(f, "{}:{n}", self.file),
            Place::Index(n) => write!(f, "{}[{n}]", self.file),
        }
    }
}

/// An entry read from a data file, before indexing.
#[derive(Debug, Clone)]
pub struct RawEntry {
    /// The key as written.
    pub key: String,
    /// The entity id (entity lists).
    pub id: Option<String>,
    /// Other columns: each column's name is shared by the rows of its file.
    pub attrs: Vec<(Arc<str>, String)>,
    /// Where it is written.
    pub origin: EntryOrigin,
    /// Byte range of the entry in its file, for diagnostics.
    pub at: (usize, usize),
}

/// Columns shown in evidence for an entry; long free text is left out.
fn cited_attr(name: &str) -> bool {
    !matches!(
        name,
        "description" | "name" | "code" | "remarks" | "title" | "notes" | "note"
    )
}

/// Reads the entries of one data file.
pub fn read_entries(
    file: &SourceFile,
    format: Format,
    column: Option<&str>,
) -> Result<Vec<RawEntry>, Vec<Problem>> {
    if file.text.len() > MAX_DATA_BYTES {
        return Err(vec![Problem::whole(
            Code::Limit,
            Some(&file.name),
            format!(
                "the data file is {} bytes, more than the limit of {MAX_DATA_BYTES}",
                file.text.len()
            ),
        )]);
    }
    match format {
        Format::Csv => read_csv(file, column),
        Format::OfacSdn => read_ofac_sdn(file),
        Format::Yaml | Format::Json => read_structured(file, format, column),
    }
}

fn line_end(text: &str, start: usize) -> usize {
    text[start.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |n| start + n)
}

fn read_csv(file: &SourceFile, column: Option<&str>) -> Result<Vec<RawEntry>, Vec<Problem>> {
    let text = file.text.strip_prefix('\u{feff}').unwrap_or(&file.text);
    let bom = file.text.len() - text.len();
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![csv_problem(file, bom, &e)]),
    };
    let names: Vec<&str> = headers.iter().map(str::trim).collect();
    let key_col = match column {
        Some(c) => names.iter().position(|n| *n == c).ok_or_else(|| {
            vec![
                Problem::in_file(
                    Code::DataFile,
                    file,
                    bom,
                    line_end(&file.text, bom),
                    format!("the data file has no column `{c}`"),
                )
                .label("header row")
                .help(format!("its columns are: {}", names.join(", "))),
            ]
        })?,
        None => names
            .iter()
            .position(|n| matches!(*n, "code" | "name" | "country" | "entry"))
            .unwrap_or(0),
    };
    let id_col = names.iter().position(|n| *n == "id");
    // Each cited column's name once, shared by every row that has it.
    let cited: Vec<Option<Arc<str>>> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (i != key_col && Some(i) != id_col && cited_attr(n)).then(|| Arc::from(*n)))
        .collect();
    let file_name: Arc<str> = file.name.as_str().into();
    let mut lines = LineCount::new(text);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                problems.push(csv_problem(file, bom, &e));
                break;
            }
        };
        let start = row_start(text, rec.position().map_or(0, csv::Position::byte));
        let line = lines.at(start);
        let pos = start + bom;
        let key = rec.get(key_col).unwrap_or("").trim().to_string();
        let attrs = rec
            .iter()
            .zip(&cited)
            .filter_map(|(v, n)| {
                let (v, n) = (v.trim(), n.as_ref()?);
                (!v.is_empty()).then(|| (Arc::clone(n), v.to_string()))
            })
            .collect();
        out.push(RawEntry {
            key,
            id: id_col
                .and_then(|c| rec.get(c))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            attrs,
            origin: EntryOrigin {
                file: Arc::clone(&file_name),
                place: Place::Line(line),
            },
            at: (pos, line_end(&file.text, pos)),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Where the row the CSV reader places at `byte` starts. The reader ends a row at the
/// `\r` of a CRLF line end and counts the `\n` as the start of the next: left as it is, a
/// row of a CRLF file (as OFAC's are) would be shown at the end of the line before it.
fn row_start(text: &str, byte: u64) -> usize {
    let b = text.as_bytes();
    let mut at = usize::try_from(byte).map_or(b.len(), |n| n.min(b.len()));
    while matches!(b.get(at), Some(b'\r' | b'\n')) {
        at += 1;
    }
    at
}

/// The 1-based line of each row start, counted from the last one asked for: rows are
/// asked for in order, so a file is counted once (the reader's own line numbers are off
/// by one after a CRLF line end, as its positions are).
struct LineCount<'t> {
    text: &'t [u8],
    at: usize,
    line: u64,
}

impl<'t> LineCount<'t> {
    fn new(text: &'t str) -> Self {
        LineCount {
            text: text.as_bytes(),
            at: 0,
            line: 1,
        }
    }

    /// The line of byte `at`.
    fn at(&mut self, at: usize) -> u64 {
        if at < self.at {
            (self.at, self.line) = (0, 1);
        }
        let between = self.text.get(self.at..at).unwrap_or_default();
        self.line += memchr::memchr_iter(b'\n', between).count() as u64;
        self.at = at;
        self.line
    }
}

fn csv_problem(file: &SourceFile, bom: usize, e: &csv::Error) -> Problem {
    let text = file.text.get(bom..).unwrap_or_default();
    let pos = row_start(text, e.position().map_or(0, csv::Position::byte)) + bom;
    // The csv crate's own message repeats the position, which the snippet shows.
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!(
                "malformed CSV: this row has {len} fields, the rows before it have {expected_len}"
            )
        }
        csv::ErrorKind::Utf8 { .. } => "malformed CSV: the file is not UTF-8 text".to_string(),
        _ => format!("malformed CSV: {e}"),
    };
    Problem::in_file(
        Code::DataFile,
        file,
        pos,
        line_end(&file.text, pos),
        message,
    )
    .label("this row")
    .help("every row has as many fields as the header; quote fields that contain commas")
}

/// OFAC nulls are `-0-`, often with a trailing space.
fn ofac_field(s: &str) -> Option<&str> {
    let t = s.trim();
    (t != "-0-" && !t.is_empty()).then_some(t)
}

/// OFAC's files end with a DOS end-of-file mark (0x1A) after the last line.
fn without_eof_mark(text: &str) -> &str {
    text.trim_end_matches(['\u{1a}', '\r', '\n'])
}

/// Calls `row` with each row of an OFAC CSV file (no header, `-0-` nulls, end-of-file
/// mark), its byte range and 1-based line for diagnostics. One record is reused for
/// every row: the SDN list and its aliases have tens of thousands of rows.
fn each_ofac_row(
    file: &SourceFile,
    mut row: impl FnMut(&csv::StringRecord, (usize, usize), u64) -> Result<(), Vec<Problem>>,
) -> Result<(), Vec<Problem>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(without_eof_mark(&file.text).as_bytes());
    let mut rec = csv::StringRecord::new();
    let mut lines = LineCount::new(&file.text);
    while reader
        .read_record(&mut rec)
        .map_err(|e| vec![csv_problem(file, 0, &e)])?
    {
        let pos = row_start(&file.text, rec.position().map_or(0, csv::Position::byte));
        row(&rec, (pos, line_end(&file.text, pos)), lines.at(pos))?;
    }
    Ok(())
}

fn read_ofac_sdn(file: &SourceFile) -> Result<Vec<RawEntry>, Vec<Problem>> {
    // OFAC's rows are about 200 bytes: size the list once rather than grow it.
    let mut out = Vec::with_capacity(file.text.len() / 200);
    // The cited columns' names, and the file's, once: tens of thousands of rows share them.
    let (ent_num, kind, programs): (Arc<str>, Arc<str>, Arc<str>) =
        ("ent_num".into(), "type".into(), "programs".into());
    let file_name: Arc<str> = file.name.as_str().into();
    each_ofac_row(file, |rec, at, line| {
        if rec.len() != 12 {
            return Err(vec![
                Problem::in_file(Code::DataFile, file, at.0, at.1, format!("an OFAC SDN row has 12 fields, this one has {}", rec.len()))
                    .label("this row")
                    .help("the columns are ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks"),
            ]);
        }
        let (Some(id), Some(name)) = (
            rec.get(0).and_then(ofac_field),
            rec.get(1).and_then(ofac_field),
        ) else {
            return Err(vec![
                Problem::in_file(
                    Code::DataFile,
                    file,
                    at.0,
                    at.1,
                    "an OFAC SDN row without ent_num or name",
                )
                .label("this row"),
            ]);
        };
        if !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(vec![
                Problem::in_file(
                    Code::DataFile,
                    file,
                    at.0,
                    at.1,
                    format!("`{id}` is not an OFAC ent_num (a number)"),
                )
                .label("this row")
                .help("is this OFAC's sdn.csv? It has no header row"),
            ]);
        }
        let mut attrs = Vec::with_capacity(3);
        attrs.push((Arc::clone(&ent_num), id.to_string()));
        if let Some(t) = rec.get(2).and_then(ofac_field) {
            attrs.push((Arc::clone(&kind), t.to_string()));
        }
        if let Some(p) = rec.get(3).and_then(ofac_field) {
            // Several programs are written `RUSSIA-EO14024] [UKRAINE-EO13662`: cited as
            // `RUSSIA-EO14024, UKRAINE-EO13662`.
            attrs.push((Arc::clone(&programs), p.replace("] [", ", ")));
        }
        out.push(RawEntry {
            key: name.to_string(),
            id: Some(id.to_string()),
            attrs,
            origin: EntryOrigin {
                file: Arc::clone(&file_name),
                place: Place::Line(line),
            },
            at,
        });
        Ok(())
    })?;
    Ok(out)
}

/// One element of a structured list file as read: a scalar (`None`: null, or a nested
/// list or mapping, which cannot be a key), or a mapping of string keys to scalars.
/// Read straight from the text: a general value tree per entry was a third of the time
/// it took to start with a 150,000-entry list.
enum Row {
    Scalar(Option<String>),
    Map(Vec<(Option<String>, Option<String>)>),
}

impl Row {
    fn scalar(self) -> Option<String> {
        match self {
            Row::Scalar(s) => s,
            Row::Map(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RowVisitor)
    }
}

struct RowVisitor;

impl<'de> Visitor<'de> for RowVisitor {
    type Value = Row;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list entry: a value, or a mapping of fields")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Row, E> {
        Ok(Row::Scalar(Some(v.to_string())))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Row, E> {
        Ok(Row::Scalar(Some(v.to_string())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Row, E> {
        Ok(Row::Scalar(Some(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Row, E> {
        // Written as the YAML reader writes numbers, whichever format the file is in.
        Ok(Row::Scalar(Some(serde_yaml::Number::from(v).to_string())))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Row, E> {
        Ok(Row::Scalar(Some(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Row, E> {
        Ok(Row::Scalar(Some(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Row, E> {
        Ok(Row::Scalar(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Row, E> {
        Ok(Row::Scalar(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Row, D::Error> {
        Row::deserialize(d)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Row, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Row::Scalar(None))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(4).min(32));
        while let Some(k) = map.next_key::<Row>()? {
            // Only string keys name fields; the YAML reader's numbers and booleans do not.
            let key = match k {
                Row::Scalar(Some(s)) => Some(s),
                _ => None,
            };
            fields.push((key, map.next_value::<Row>()?.scalar()));
        }
        Ok(Row::Map(fields))
    }
}

/// The top of a structured list file: its entries, or `None` when it is not a sequence.
struct Rows(Option<Vec<Row>>);

impl<'de> Deserialize<'de> for Rows {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Rows;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence of list entries")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Rows, A::Error> {
                let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(r) = seq.next_element()? {
                    rows.push(r);
                }
                Ok(Rows(Some(rows)))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Rows, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Rows(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Rows, E> {
                Ok(Rows(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Rows, E> {
                Ok(Rows(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Rows, E> {
                Ok(Rows(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Rows, E> {
                Ok(Rows(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Rows, E> {
                Ok(Rows(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Rows, E> {
                Ok(Rows(None))
            }
        }
        d.deserialize_any(V)
    }
}

fn read_structured(
    file: &SourceFile,
    format: Format,
    column: Option<&str>,
) -> Result<Vec<RawEntry>, Vec<Problem>> {
    let rows = match format {
        // Read straight into entries: no general value tree (a 150,000-entry list is
        // read at start-up).
        Format::Json => serde_json::from_str::<Rows>(&file.text).map_err(|e| {
            let off = offset_of(&file.text, e.line(), e.column());
            vec![
                Problem::in_file(
                    Code::DataFile,
                    file,
                    off,
                    off + 1,
                    format!("malformed JSON: {e}"),
                )
                .label("here"),
            ]
        })?,
        _ => serde_yaml::from_str::<Rows>(&file.text).map_err(|e| {
            let off = e.location().map_or(0, |l| l.index());
            vec![
                Problem::in_file(
                    Code::DataFile,
                    file,
                    off,
                    line_end(&file.text, off),
                    format!("malformed YAML: {e}"),
                )
                .label("here"),
            ]
        })?,
    };
    let Rows(Some(rows)) = rows else {
        return Err(vec![
            Problem::in_file(Code::DataFile, file, 0, line_end(&file.text, 0), "a list data file holds a sequence of entries")
                .label("not a sequence")
                .help("write `- RU` lines (YAML) or `[\"RU\"]` (JSON), or objects with a `code` or `name` field"),
        ]);
    };
    let key_field = column.unwrap_or("");
    let file_name: Arc<str> = file.name.as_str().into();
    let mut out = Vec::with_capacity(rows.len());
    for (n, row) in rows.into_iter().enumerate() {
        let origin = EntryOrigin {
            file: Arc::clone(&file_name),
            place: Place::Index(n),
        };
        let entry = match row {
            Row::Map(fields) => {
                // The last of a key given twice, as a mapping keeps it.
                let get = |k: &str| {
                    fields
                        .iter()
                        .rev()
                        .find(|(f, _)| f.as_deref() == Some(k))
                        .and_then(|(_, v)| v.clone())
                };
                let key = if key_field.is_empty() {
                    get("code")
                        .or_else(|| get("name"))
                        .or_else(|| get("country"))
                } else {
                    get(key_field)
                };
                key.map(|key| RawEntry {
                    key,
                    id: get("id"),
                    attrs: fields
                        .iter()
                        .filter_map(|(k, v)| {
                            let k = k.as_deref()?;
                            (cited_attr(k) && k != key_field && k != "id")
                                .then(|| v.clone().map(|s| (Arc::from(k), s)))
                                .flatten()
                        })
                        .collect(),
                    origin,
                    at: (0, 0),
                })
            }
            Row::Scalar(s) => s.map(|key| RawEntry {
                key,
                id: None,
                attrs: Vec::new(),
                origin,
                at: (0, 0),
            }),
        };
        match entry {
            Some(e) => out.push(e),
            None => {
                return Err(vec![Problem::whole(
                    Code::DataFile,
                    Some(&file.name),
                    format!(
                        "entry {n} has no `{}` value",
                        if key_field.is_empty() {
                            "code` or `name"
                        } else {
                            key_field
                        }
                    ),
                )]);
            }
        }
    }
    // Structured files have no byte positions per entry: locate each by searching its key.
    let mut from = 0;
    for e in &mut out {
        if let Some(i) = file.text[from..].find(&e.key) {
            e.at = (from + i, from + i + e.key.len());
            from += i;
        }
    }
    Ok(out)
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + column.saturating_sub(1)).min(text.len())
}

/// One alias row: the `ent_num` it belongs to, the alias, and its byte range.
pub type AliasRow = (String, String, (usize, usize));

/// Reads an OFAC `alt.csv` alias file.
pub fn read_ofac_aliases(file: &SourceFile) -> Result<Vec<AliasRow>, Vec<Problem>> {
    // Alias rows are about 60 bytes.
    let mut out = Vec::with_capacity(file.text.len() / 60);
    each_ofac_row(file, |rec, at, _| {
        match (
            rec.get(0).and_then(ofac_field),
            rec.get(3).and_then(ofac_field),
        ) {
            (Some(id), Some(name)) => {
                out.push((id.to_string(), name.to_string(), at));
                Ok(())
            }
            _ => Err(vec![
                Problem::in_file(
                    Code::DataFile,
                    file,
                    at.0,
                    at.1,
                    "an OFAC alias row needs ent_num (1st field) and the alias name (4th field)",
                )
                .label("this row"),
            ]),
        }
    })?;
    Ok(out)
}

/// Checks a raw entry against the list kind and returns its canonical key.
pub fn canonical_key(kind: ListKind, key: &str) -> Result<String, String> {
    match kind {
        ListKind::Country => CountryCode::parse(key).map(|c| c.to_string()),
        ListKind::Hs => HsCode::parse(key).map(|h| h.digits().to_string()),
        ListKind::Eccn => Eccn::parse(key).map(|e| e.to_string()),
        ListKind::Str => Ok(key.to_string()),
        ListKind::Entity => {
            if !crate::compile::is_name(key) {
                Err(format!("`{key}` is not a name"))
            } else {
                Ok(key.to_string())
            }
        }
    }
}

/// Builds the index of a set from checked entries (`canonical` keys in entry order).
#[must_use]
pub fn build_index(
    kind: ListKind,
    entries: &[Entry],
    canonical: &[String],
    ids: &[Option<String>],
) -> SetIndex {
    let mut index = SetIndex::default();
    let n = canonical.len();
    match kind {
        ListKind::Hs => index.hs.reserve(n),
        ListKind::Entity => {
            index.names.reserve(n);
            index.exact.reserve(n);
        }
        _ => index.exact.reserve(n),
    }
    let names = if kind == ListKind::Entity {
        normalize_names(canonical)
    } else {
        Vec::new()
    };
    for (i, key) in canonical.iter().enumerate() {
        match kind {
            ListKind::Hs => index.hs.insert(key, i),
            ListKind::Entity => {
                if let Some(name) = names.get(i) {
                    index.names.entry(name.as_str().into()).or_insert(i);
                }
                if let Some(Some(id)) = ids.get(i) {
                    index.exact.entry(id.as_str().into()).or_insert(i);
                }
            }
            _ => {
                index.exact.entry(key.as_str().into()).or_insert(i);
            }
        }
    }
    debug_assert_eq!(entries.len(), canonical.len());
    if kind == ListKind::Country {
        index.countries = SetIndex::country_table(&index.exact);
    }
    index
}

/// Adds aliases (entry index, alias) to an entity set's name index. The alias text is
/// kept, so that a match through it is cited as "alias X of entry Y"; an alias that reads
/// the same as a name already indexed adds nothing.
pub fn add_aliases(set: &mut ListSet, aliases: &[(usize, String)]) {
    let base = set.entries.len();
    let names = normalize_names(
        aliases
            .iter()
            .map(|(_, a)| a)
            .collect::<Vec<_>>()
            .as_slice(),
    );
    for ((entry, alias), name) in aliases.iter().zip(names) {
        if let std::collections::hash_map::Entry::Vacant(v) =
            set.index.names.entry(name.into_boxed_str())
        {
            v.insert(base + set.index.aliases.len());
            set.index.aliases.push((*entry, alias.as_str().into()));
        }
    }
}

/// Lists of fewer names than this are normalised on one thread.
const PARALLEL_NAMES: usize = 4096;

/// The normalised form of each name, in order. A sanctions list has tens of thousands of
/// names and aliases, and normalising them is most of the time it takes to start: large
/// lists are split over the cores.
fn normalize_names<S: AsRef<str> + Sync>(names: &[S]) -> Vec<String> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if names.len() < PARALLEL_NAMES || cores < 2 {
        return names.iter().map(|n| normalize_name(n.as_ref())).collect();
    }
    let chunk = names.len().div_ceil(cores);
    let normalize = |part: &[S]| {
        part.iter()
            .map(|n| normalize_name(n.as_ref()))
            .collect::<Vec<_>>()
    };
    // The first part on this thread, which would otherwise only wait: one thread fewer
    // to start, and no new heap for it to touch.
    let (first, rest) = names.split_at(chunk.min(names.len()));
    std::thread::scope(|s| {
        let parts: Vec<_> = rest
            .chunks(chunk)
            .map(|part| s.spawn(move || normalize(part)))
            .collect();
        let mut out = normalize(first);
        out.reserve(rest.len());
        for h in parts {
            // A panic in a worker is a bug in normalize_name: pass it on.
            out.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdn_sample() -> ListSet {
        let entries = vec![
            Entry {
                key: "AKTSIONERNOE OBSHCHESTVO POZITIV TEKNOLODZHIZ".into(),
                attrs: vec![("ent_num".into(), "31455".into())],
                origin: None,
            },
            Entry {
                key: "KHOROSHEV, Dmitry Yuryevich".into(),
                attrs: vec![("ent_num".into(), "48603".into())],
                origin: None,
            },
        ];
        let canonical: Vec<String> = entries.iter().map(|e| e.key.clone()).collect();
        let ids = vec![Some("31455".to_string()), Some("48603".to_string())];
        let mut set = ListSet {
            name: "sdn".into(),
            kind: ListKind::Entity,
            title: None,
            source: Some("OFAC SDN List".into()),
            as_of: None,
            index: build_index(ListKind::Entity, &entries, &canonical, &ids),
            entries,
            span: crate::source::Span::default(),
            inline: false,
        };
        add_aliases(
            &mut set,
            &[
                (0, "JSC POSITIVE TECHNOLOGIES".into()),
                // reads the same as the entry's own name once the legal form is left out
                (0, "POZITIV TEKNOLODZHIZ, AO".into()),
                (1, "KHOROSHEV, Dmitriy Yurevich".into()),
                (1, "Dmitry Yuryevich KHOROSHEV".into()),
            ],
        );
        set
    }

    #[test]
    fn a_match_through_an_alias_names_the_alias_and_the_entry() {
        let set = sdn_sample();
        let m = set
            .find_name("Positive Technologies AO")
            .expect("matches through the alias");
        assert_eq!(set.entry_of(m), 0);
        assert_eq!(
            set.describe_entry(m),
            "alias JSC POSITIVE TECHNOLOGIES of entry AKTSIONERNOE OBSHCHESTVO POZITIV \
             TEKNOLODZHIZ, ent_num 31455; OFAC SDN List"
        );
        let m = set.find_name("Dmitriy Yurevich Khoroshev").expect("alias");
        assert_eq!(set.entry_of(m), 1);
        assert!(
            set.describe_entry(m).starts_with(
                "alias KHOROSHEV, Dmitriy Yurevich of entry KHOROSHEV, Dmitry Yuryevich"
            )
        );
    }

    #[test]
    fn a_match_on_the_entry_name_names_only_the_entry() {
        let set = sdn_sample();
        let m = set
            .find_name("dmitry yuryevich khoroshev")
            .expect("own name");
        assert_eq!(m, 1);
        assert_eq!(
            set.describe_entry(m),
            "entry KHOROSHEV, Dmitry Yuryevich, ent_num 48603; OFAC SDN List"
        );
        assert_eq!(set.index.aliases.len(), 2);
        assert_eq!(set.find_exact("31455"), Some(0));
        assert_eq!(set.find_name("OOO Pozitiv Teknolodzhiz"), Some(0));
    }

    fn structured(
        format: Format,
        text: &str,
        column: Option<&str>,
    ) -> Result<Vec<RawEntry>, Vec<Problem>> {
        let file = SourceFile {
            name: "data".into(),
            text: text.into(),
        };
        read_entries(&file, format, column)
    }

    fn summary(r: &Result<Vec<RawEntry>, Vec<Problem>>) -> Vec<String> {
        match r {
            Ok(es) => es
                .iter()
                .map(|e| {
                    format!(
                        "{} id={:?} attrs={:?} at={:?} {}",
                        e.key, e.id, e.attrs, e.at, e.origin
                    )
                })
                .collect(),
            Err(ps) => ps.iter().map(|p| format!("error: {}", p.message)).collect(),
        }
    }

    #[test]
    fn yaml_and_json_list_files_read_the_same_entries() {
        let pairs = [
            (
                "- RU\n- 12\n- 1.5\n- true\n",
                r#"["RU", 12, 1.5, true]"#,
                None,
            ),
            (
                "- {name: Zen LLC, id: P1, country: RU, tier: 2, note: null, tags: [a], 7: x}\n- {code: '8542', tier: 1.0}\n",
                r#"[{"name": "Zen LLC", "id": "P1", "country": "RU", "tier": 2, "note": null, "tags": ["a"], "7": "x"}, {"code": "8542", "tier": 1.0}]"#,
                None,
            ),
            (
                "- {code: A, code: B}\n",
                r#"[{"code": "A", "code": "B"}]"#,
                None,
            ),
            (
                "- {name: X, tier: 3}\n",
                r#"[{"name": "X", "tier": 3}]"#,
                Some("tier"),
            ),
            ("- [RU]\n", r#"[["RU"]]"#, None),
            ("- {tier: 1}\n", r#"[{"tier": 1}]"#, None),
            ("code: RU\n", r#"{"code": "RU"}"#, None),
            ("RU\n", r#""RU""#, None),
        ];
        for (yaml, json, column) in pairs {
            let y = structured(Format::Yaml, yaml, column);
            let j = structured(Format::Json, json, column);
            // Keys the YAML reader reads as numbers (`7`) are no field names; JSON's are.
            // Positions differ between the two texts.
            let strip = |v: Vec<String>| -> Vec<String> {
                v.into_iter()
                    .map(|l| {
                        let l = l.replace(", (\"7\", \"x\")", "");
                        match (l.find(" at="), l.rfind(" data[")) {
                            (Some(a), Some(b)) => format!("{}{}", &l[..a], &l[b..]),
                            _ => l,
                        }
                    })
                    .collect()
            };
            assert_eq!(strip(summary(&y)), strip(summary(&j)), "{yaml}");
        }
        assert_eq!(
            summary(&structured(
                Format::Json,
                r#"[{"name": "Zen LLC", "id": "P1", "tier": 2, "tags": ["a"]}]"#,
                None
            )),
            [r#"Zen LLC id=Some("P1") attrs=[("tier", "2")] at=(11, 18) data[0]"#]
        );
        assert_eq!(
            summary(&structured(Format::Json, "[1.5, true]", None)),
            [
                "1.5 id=None attrs=[] at=(1, 4) data[0]",
                "true id=None attrs=[] at=(6, 10) data[1]",
            ]
        );
        assert_eq!(
            summary(&structured(Format::Yaml, "- [RU]\n", None)),
            ["error: entry 0 has no `code` or `name` value"]
        );
        assert_eq!(
            summary(&structured(Format::Json, r#"{"code": "RU"}"#, None)),
            ["error: a list data file holds a sequence of entries"]
        );
    }
}
