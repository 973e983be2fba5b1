//! Reading many shipments: YAML files, directories of them, and JSON Lines files, each
//! record named by where it came from so that a bad one can be pointed at.

use std::path::{Path, PathBuf};

use crate::diagnostics::{Code, Problem};
use crate::facts::Shipment;
use crate::source::SourceFile;

/// Largest JSON Lines file read whole, in bytes.
pub const MAX_CORPUS_BYTES: usize = 1 << 30;

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
        file: std::sync::Arc<str>,
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

/// Reads the records of one corpus file without parsing them.
pub fn read_raw(path: &Path) -> Result<Vec<Raw>, Problem> {
    let name = path.display().to_string();
    let is_lines = path.extension().is_some_and(|e| e == "jsonl");
    let limit = if is_lines {
        MAX_CORPUS_BYTES
    } else {
        crate::facts::MAX_SHIPMENT_BYTES
    };
    let text = crate::source::read_text(path, limit)
        .map_err(|e| Problem::whole(Code::Io, Some(&name), format!("cannot read: {e}")))?;
    if !is_lines {
        return Ok(vec![Raw::Yaml(SourceFile {
            name,
            text: text.into(),
        })]);
    }
    let file: std::sync::Arc<str> = name.into();
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| Raw::JsonLine {
            file: std::sync::Arc::clone(&file),
            line: i + 1,
            text: l.to_string(),
        })
        .collect())
}
