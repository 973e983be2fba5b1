//! Reading many shipments: YAML files, directories of them, and JSON Lines files, each
//! record named by where it came from so that a bad one can be pointed at.

use std::io::{BufRead, Read as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostics::{Code, Problem};
use crate::facts::Shipment;
use crate::source::SourceFile;

/// Lists the files of a corpus: YAML shipments and JSON Lines, directories walked.
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Problem> {
    crate::source::find_files(paths, &["yaml", "yml", "jsonl", "json"], "shipment file")
}

/// A record read but not yet parsed, so that parsing can run on every core.
#[derive(Debug)]
pub enum Raw {
    /// A YAML shipment file.
    Yaml(SourceFile),
    /// One line of a JSON Lines file.
    JsonLine {
        /// The file.
        file: Arc<str>,
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
}

impl Raw {
    /// Parses and validates the shipment.
    pub fn parse(&self) -> Result<Shipment, Problem> {
        match self {
            Raw::Yaml(f) => Shipment::from_yaml(f),
            Raw::JsonLine { file, line, text } => Shipment::from_json_line(text, file, *line),
        }
    }

    /// `file` or `file:line`.
    #[must_use]
    pub fn origin(&self) -> String {
        match self {
            Raw::Yaml(f) => f.name.clone(),
            Raw::JsonLine { file, line, .. } => format!("{file}:{line}"),
        }
    }
}

/// The records of one corpus file, read as they are wanted, without parsing them: a
/// YAML (or JSON) file is one record, a JSON Lines file one record a line, so that a
/// corpus of any size is compared in bounded memory. A file that cannot be opened or
/// read yields one problem; a line too long or not UTF-8 yields a problem at its line
/// and reading goes on.
pub fn records(path: &Path) -> Box<dyn Iterator<Item = Result<Raw, Problem>> + Send> {
    let name = path.display().to_string();
    let io = |e: std::io::Error, name: &str| {
        Problem::whole(Code::Io, Some(name), format!("cannot read: {e}"))
    };
    if path.extension().is_none_or(|e| e != "jsonl") {
        let one = crate::source::read_text(path, crate::facts::MAX_SHIPMENT_BYTES)
            .map(|text| {
                Raw::Yaml(SourceFile {
                    name: name.clone(),
                    text: text.into(),
                })
            })
            .map_err(|e| Problem::whole(Code::Io, Some(&name), format!("cannot read: {e}")));
        return Box::new(std::iter::once(one));
    }
    let file = match std::fs::File::open(path) {
        Ok(f) if f.metadata().is_ok_and(|m| m.is_dir()) => {
            let e = std::io::Error::other("it is a directory, not a file");
            return Box::new(std::iter::once(Err(io(e, &name))));
        }
        Ok(f) => f,
        Err(e) => return Box::new(std::iter::once(Err(io(e, &name)))),
    };
    Box::new(Lines {
        input: std::io::BufReader::with_capacity(1 << 16, file),
        file: name.into(),
        line: 0,
        done: false,
        buf: Vec::new(),
    })
}

/// The records of a JSON Lines file, a line at a time.
struct Lines<R> {
    input: R,
    file: Arc<str>,
    /// Lines read so far.
    line: usize,
    done: bool,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    /// Reads the next line into `buf` without its end, keeping at most
    /// [`MAX_SHIPMENT_BYTES`](crate::facts::MAX_SHIPMENT_BYTES) + 1 bytes of it: the
    /// rest of a longer line is passed over. False at the end of the input.
    fn next_line(&mut self) -> std::io::Result<bool> {
        self.buf.clear();
        let keep = crate::facts::MAX_SHIPMENT_BYTES as u64 + 1;
        let n = (&mut self.input)
            .take(keep)
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(false);
        }
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if self.buf.len() as u64 == keep {
            // Cut at the limit: the rest of the line is not kept.
            loop {
                let chunk = self.input.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                if let Some(i) = memchr::memchr(b'\n', chunk) {
                    self.input.consume(i + 1);
                    break;
                }
                let len = chunk.len();
                self.input.consume(len);
            }
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(true)
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = Result<Raw, Problem>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match self.next_line() {
                Ok(true) => {}
                Ok(false) => self.done = true,
                Err(e) => {
                    self.done = true;
                    let at = format!("{}:{}", self.file, self.line + 1);
                    return Some(Err(Problem::whole(
                        Code::Io,
                        Some(&at),
                        format!("cannot read: {e}"),
                    )));
                }
            }
            if self.done {
                break;
            }
            self.line += 1;
            let at = || format!("{}:{}", self.file, self.line);
            if self.buf.len() > crate::facts::MAX_SHIPMENT_BYTES {
                return Some(Err(Problem::whole(
                    Code::Limit,
                    Some(&at()),
                    format!(
                        "the record is longer than the limit of {} bytes",
                        crate::facts::MAX_SHIPMENT_BYTES
                    ),
                )));
            }
            let Ok(text) = std::str::from_utf8(&self.buf) else {
                return Some(Err(Problem::whole(
                    Code::Shipment,
                    Some(&at()),
                    "the record is not UTF-8 text",
                )));
            };
            let text = if self.line == 1 {
                text.trim_start_matches('\u{feff}')
            } else {
                text
            };
            // Blank lines separate nothing in JSON Lines: they are not records.
            if text.trim().is_empty() {
                continue;
            }
            return Some(Ok(Raw::JsonLine {
                file: Arc::clone(&self.file),
                line: self.line,
                text: text.to_string(),
            }));
        }
        None
    }
}
