//! Source files and spans: every diagnostic points back into the file at fault.

use std::fmt;
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// The file the range lies in.
    pub file: FileId,
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span over `start..end` of `file`.
    #[must_use]
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span {
            file,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    /// The smallest span covering both.
    #[must_use]
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

impl From<Span> for SourceSpan {
    fn from(s: Span) -> Self {
        SourceSpan::new((s.start as usize).into(), (s.end - s.start) as usize)
    }
}

/// One loaded text file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user gave it (or as bundled), shown in diagnostics.
    pub name: String,
    /// The whole text.
    pub text: Arc<str>,
}

impl SourceFile {
    /// The file as a miette source, for attaching to a diagnostic.
    #[must_use]
    pub fn named_source(&self) -> NamedSource<Arc<str>> {
        NamedSource::new(self.name.clone(), Arc::clone(&self.text)).with_language("rulecheck")
    }

    /// 1-based line and column of a byte offset.
    #[must_use]
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(&self.text, offset)
    }
}

/// 1-based line and column of a byte offset in `text`; the column counts characters
/// (Unicode scalar values), and an offset inside a character counts as that character.
#[must_use]
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let upto = text.get(..offset).unwrap_or_default();
    let line = upto.matches('\n').count() + 1;
    // Columns count characters, as editors do, not bytes.
    let col = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// All files of a rule set, so that spans can be turned back into snippets.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// Adds a file and returns its id.
    #[allow(clippy::expect_used)] // four billion rule files do not fit in memory anyway
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).expect("fewer than 4 billion rule files"));
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
        });
        id
    }

    /// The file behind an id.
    #[must_use]
    #[allow(clippy::indexing_slicing)] // file ids are only made by this map, for files it holds
    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// Every file, in the order added.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(u32::try_from(i).unwrap_or(u32::MAX)), f))
    }

    /// The source text a span covers.
    #[must_use]
    pub fn text(&self, span: Span) -> &str {
        let f = self.file(span.file);
        f.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// `file:line:col` of a span's start, for one-line locations.
    #[must_use]
    pub fn location(&self, span: Span) -> Location {
        let f = self.file(span.file);
        let (line, column) = f.line_col(span.start as usize);
        Location {
            file: f.name.clone(),
            line,
            column,
        }
    }
}

/// A human-readable position: file, line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File name as shown to the user.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Why a file could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The operating system refused.
    #[error("{0}")]
    Io(String),
    /// Larger than the limit for its kind.
    #[error("the file is {size} bytes, more than the limit of {limit}")]
    TooBig {
        /// Its size.
        size: u64,
        /// The limit.
        limit: usize,
    },
    /// Not UTF-8.
    #[error("the file is not UTF-8 text: invalid byte at line {line}, column {column}")]
    NotUtf8 {
        /// 1-based line of the first invalid byte.
        line: usize,
        /// 1-based column (in characters) of the first invalid byte.
        column: usize,
    },
}

impl ReadError {
    /// A short help line for the problem.
    #[must_use]
    pub fn help(&self) -> &'static str {
        match self {
            ReadError::Io(_) => "check the path and the file's permissions",
            ReadError::TooBig { .. } => "see the limits in the README",
            ReadError::NotUtf8 { .. } => "save the file as UTF-8",
        }
    }
}

/// Reads a whole text file, refusing files over `limit` bytes and invalid UTF-8.
#[allow(clippy::indexing_slicing)] // `valid_up_to` is within the bytes it was computed on
pub fn read_text(path: &std::path::Path, limit: usize) -> Result<String, ReadError> {
    let io = |e: std::io::Error| {
        ReadError::Io(match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::IsADirectory => "it is a directory, not a file".to_string(),
            _ => e.to_string(),
        })
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(ReadError::Io("it is a directory, not a file".into()));
    }
    if meta.len() > limit as u64 {
        return Err(ReadError::TooBig {
            size: meta.len(),
            limit,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let prefix = String::from_utf8_lossy(&e.as_bytes()[..valid]);
        let line = prefix.matches('\n').count() + 1;
        let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ReadError::NotUtf8 { line, column }
    })
}

/// The files named on a command line, directories walked in path order, keeping those
/// whose extension is one of `extensions` (a file named directly is always kept).
/// `what` names the kind of file in the error for a path that does not exist.
pub fn find_files(
    paths: &[std::path::PathBuf],
    extensions: &[&str],
    what: &str,
) -> Result<Vec<std::path::PathBuf>, crate::diagnostics::Problem> {
    use crate::diagnostics::{Code, Problem};
    fn walk(
        p: &std::path::Path,
        extensions: &[&str],
        out: &mut Vec<std::path::PathBuf>,
    ) -> std::io::Result<()> {
        if p.is_dir() {
            let mut entries: Vec<std::path::PathBuf> = std::fs::read_dir(p)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()?;
            entries.sort();
            for e in entries {
                walk(&e, extensions, out)?;
            }
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e))
        {
            out.push(p.to_path_buf());
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        let name = p.display().to_string();
        if !p.exists() {
            return Err(Problem::whole(
                Code::Io,
                Some(&name),
                format!("no such {what} or directory"),
            ));
        }
        if p.is_file() {
            out.push(p.clone());
        } else {
            walk(p, extensions, &mut out)
                .map_err(|e| Problem::whole(Code::Io, Some(&name), e.to_string()))?;
        }
    }
    Ok(out)
}
