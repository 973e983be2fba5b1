//! Reading many shipments: YAML files, directories of them, and JSON Lines files, each
//! record named by where it came from so that a bad one can be pointed at.

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
    let cannot = |e: &dyn std::fmt::Display, at: &str| {
        Problem::whole(Code::Io, Some(at), format!("cannot read: {e}"))
    };
    if path.extension().is_none_or(|e| e != "jsonl") {
        let one = crate::source::read_text(path, crate::facts::MAX_SHIPMENT_BYTES)
            .map(|text| {
                Raw::Yaml(SourceFile {
                    name: name.clone(),
                    text: text.into(),
                })
            })
            .map_err(|e| cannot(&e, &name));
        return Box::new(std::iter::once(one));
    }
    let file = match std::fs::File::open(path) {
        Ok(f) if f.metadata().is_ok_and(|m| m.is_dir()) => {
            let e = "it is a directory, not a file";
            return Box::new(std::iter::once(Err(cannot(&e, &name))));
        }
        Ok(f) => f,
        Err(e) => return Box::new(std::iter::once(Err(cannot(&e, &name)))),
    };
    let file_name: Arc<str> = name.into();
    Box::new(crate::batch::Lines::new(file).filter_map(move |read| {
        let (line, bytes) = match read {
            Ok(l) => l,
            Err(e) => return Some(Err(cannot(&e, &file_name))),
        };
        let at = || format!("{file_name}:{line}");
        if bytes.len() > crate::facts::MAX_SHIPMENT_BYTES {
            return Some(Err(Problem::whole(
                Code::Limit,
                Some(&at()),
                format!(
                    "the record is longer than the limit of {} bytes",
                    crate::facts::MAX_SHIPMENT_BYTES
                ),
            )));
        }
        let Ok(text) = String::from_utf8(bytes) else {
            return Some(Err(Problem::whole(
                Code::Shipment,
                Some(&at()),
                "the record is not UTF-8 text",
            )));
        };
        let body = if line == 1 {
            text.trim_start_matches('\u{feff}')
        } else {
            &text
        };
        // Blank lines separate nothing in JSON Lines: they are not records.
        if body.trim().is_empty() {
            return None;
        }
        let text = if body.len() == text.len() {
            text
        } else {
            body.to_string()
        };
        Some(Ok(Raw::JsonLine {
            file: Arc::clone(&file_name),
            line,
            text,
        }))
    }))
}
