//! Problems found in rule files, data files and shipment files, as located miette diagnostics.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceCode};

use crate::source::{SourceFile, SourceMap, Span};

/// Lines longer than this are not shown as a snippet.
const MAX_SNIPPET_LINE: usize = 16_000;

/// What kind of problem it is; shown as the diagnostic code `rulecheck::<kind>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// The text does not follow the grammar.
    Syntax,
    /// A name that nothing defines.
    UndefinedName,
    /// Two declarations share an id or a name.
    Duplicate,
    /// A value of the wrong type.
    Type,
    /// A fact path the shipment schema does not have.
    UnknownFact,
    /// A required field of a declaration is absent, or given twice.
    Field,
    /// An effective period that is impossible.
    Effective,
    /// A data file that is missing or malformed.
    DataFile,
    /// A shipment file that is not valid YAML or breaks the schema.
    Shipment,
    /// A file that cannot be read.
    Io,
    /// A predicate that uses itself.
    Recursion,
    /// A limit on size or depth was exceeded.
    Limit,
    /// A named lint (see `docs/lints/`).
    Lint(crate::lint::Lint),
}

impl Code {
    /// The code as shown.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "rulecheck::syntax",
            Code::UndefinedName => "rulecheck::undefined",
            Code::Duplicate => "rulecheck::duplicate",
            Code::Type => "rulecheck::type",
            Code::UnknownFact => "rulecheck::unknown_fact",
            Code::Field => "rulecheck::field",
            Code::Effective => "rulecheck::effective",
            Code::DataFile => "rulecheck::data_file",
            Code::Shipment => "rulecheck::shipment",
            Code::Io => "rulecheck::io",
            Code::Recursion => "rulecheck::recursion",
            Code::Limit => "rulecheck::limit",
            Code::Lint(l) => l.code(),
        }
    }

    /// One line saying what the code is about, for SARIF's `shortDescription`.
    #[must_use]
    pub fn summary(self) -> &'static str {
        match self {
            Code::Syntax => "the text does not follow the grammar",
            Code::UndefinedName => "a name that nothing defines",
            Code::Duplicate => "two declarations share an id or a name",
            Code::Type => "a value of the wrong type",
            Code::UnknownFact => "a fact path the shipment schema does not have",
            Code::Field => "a field of a declaration is absent, given twice or incomplete",
            Code::Effective => "an effective period that is impossible",
            Code::DataFile => "a list data file that is missing or malformed",
            Code::Shipment => "a shipment file that cannot be parsed or breaks the schema",
            Code::Io => "a file that cannot be read",
            Code::Recursion => "a predicate that uses itself",
            Code::Limit => "a limit on size or depth was exceeded",
            Code::Lint(l) => l.summary(),
        }
    }

    /// The address of the page that documents this code, if it has one.
    ///
    /// This is the hook for doc pages: machine-readable reports (SARIF's `helpUri`)
    /// link to whatever it returns. Lints have pages (`docs/lints/`), but in the source
    /// tree only: there is no published address to link to yet.
    #[must_use]
    pub fn doc_url(self) -> Option<String> {
        match self {
            Code::Syntax
            | Code::UndefinedName
            | Code::Duplicate
            | Code::Type
            | Code::UnknownFact
            | Code::Field
            | Code::Effective
            | Code::DataFile
            | Code::Shipment
            | Code::Io
            | Code::Recursion
            | Code::Limit
            | Code::Lint(_) => None,
        }
    }
}

/// One problem, with where it is and how to fix it.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The kind of problem.
    pub code: Code,
    /// What is wrong, lower case, no final period.
    pub message: String,
    /// The text the problem is about; `None` for a whole-file problem (e.g. unreadable).
    pub source: Option<(Arc<str>, Arc<str>)>,
    /// Byte range in `source`.
    pub at: Option<(usize, usize)>,
    /// The label under the span.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Error or warning.
    pub severity: Severity,
    /// 1-based line and column of `at` in `source`, for one-line output.
    pub line_col: Option<(usize, usize)>,
    named: Option<NamedSource<Arc<str>>>,
    /// Byte range in `source`, kept also where `at` is dropped for a line too long to show.
    range: Option<(usize, usize)>,
}

impl Problem {
    /// A problem located at a span of a rule file.
    #[must_use]
    pub fn at(code: Code, sources: &SourceMap, span: Span, message: impl Into<String>) -> Self {
        Self::in_file(
            code,
            sources.file(span.file),
            span.start as usize,
            span.end as usize,
            message,
        )
    }

    /// A problem located at a byte range of a file.
    #[must_use]
    pub fn in_file(
        code: Code,
        file: &SourceFile,
        start: usize,
        end: usize,
        message: impl Into<String>,
    ) -> Self {
        let text = &*file.text;
        let len = text.len();
        let floor = |mut i: usize| {
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let start = floor(start.min(len));
        let mut end = floor(end.clamp(start, len));
        // A label covers the text at fault, not the blank space after it.
        while end > start && text[..end].ends_with(char::is_whitespace) {
            end = floor(end - 1);
        }
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(len, |i| start + i);
        // Snippets of very long lines (one-line JSON, minified files) are unreadable and
        // beyond what the renderer can lay out: give the position in words instead.
        let snippet = line_end - line_start <= MAX_SNIPPET_LINE;
        Problem {
            code,
            message: message.into(),
            source: Some((Arc::from(file.name.as_str()), Arc::clone(&file.text))),
            at: snippet.then_some((start, end)),
            label: "here".into(),
            help: None,
            severity: Severity::Error,
            line_col: Some(file.line_col(start)),
            named: snippet.then(|| file.named_source()),
            range: Some((start, end)),
        }
    }

    /// A problem about a whole file (or no file).
    #[must_use]
    pub fn whole(code: Code, file_name: Option<&str>, message: impl Into<String>) -> Self {
        Problem {
            code,
            message: message.into(),
            source: file_name.map(|n| (Arc::from(n), Arc::from(""))),
            at: None,
            label: String::new(),
            help: None,
            severity: Severity::Error,
            line_col: None,
            named: None,
            range: None,
        }
    }

    /// Sets the label shown under the span.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Sets the help line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Makes it a warning.
    #[must_use]
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// True for errors (not warnings).
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The file name, if any.
    #[must_use]
    pub fn file_name(&self) -> Option<&str> {
        self.source.as_ref().map(|(n, _)| &**n)
    }

    /// 1-based line and column just past the end of the problem's text (an exclusive end,
    /// as SARIF's `endColumn`), counted in characters like `line_col`; `None` for a
    /// whole-file problem.
    #[must_use]
    pub fn end_line_col(&self) -> Option<(usize, usize)> {
        let (start, end) = self.range?;
        let (line, col) = self.line_col?;
        let covered = self.source.as_ref()?.1.get(start..end)?;
        // Counted from the start, not from the top of the file, so that it agrees with a
        // `line_col` that was set by hand (a JSON Lines record is its own little file).
        let (lines, last) = crate::source::line_col(covered, covered.len());
        Some(if lines == 1 {
            (line, col + last - 1)
        } else {
            (line + lines - 1, last)
        })
    }

    /// `file:line:col: message` on one line, for logs and JSON Lines.
    #[must_use]
    pub fn one_line(&self) -> String {
        match (self.file_name(), self.line_col) {
            (Some(f), Some((l, c))) => format!("{f}:{l}:{c}: {}", self.message),
            (Some(f), None) => format!("{f}: {}", self.message),
            _ => self.message.clone(),
        }
    }

    /// Sort key: file, then position, so that problems are reported in source order.
    #[must_use]
    pub fn sort_key(&self) -> (String, usize) {
        (
            self.file_name().unwrap_or_default().to_string(),
            self.at.map_or(0, |a| a.0),
        )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A problem without a snippet must still say which file it is about.
        match (self.file_name(), self.at, self.line_col) {
            (Some(name), None, Some((line, col))) => {
                write!(f, "{name}:{line}:{col}: {}", self.message)
            }
            (Some(name), None, None) => write!(f, "{name}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code.as_str()))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        match (&self.source, self.at) {
            (Some(_), Some(_)) => self.named.as_ref().map(|n| n as &dyn SourceCode),
            _ => None,
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (s, e) = self.at?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.label.clone()),
            (s, e - s),
        ))))
    }
}

/// Several problems, reported together in source order.
#[derive(Debug, Clone, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// True if any is an error.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Problem::is_error)
    }

    /// Sorts by file and position.
    pub fn sort(&mut self) {
        self.0.sort_by_key(Problem::sort_key);
    }

    /// Adds one.
    pub fn push(&mut self, p: Problem) {
        self.0.push(p);
    }
}

impl From<Problem> for Problems {
    fn from(p: Problem) -> Self {
        Problems(vec![p])
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.0.iter().filter(|p| p.is_error()).count();
        write!(f, "{errors} error{}", if errors == 1 { "" } else { "s" })
    }
}

impl std::error::Error for Problems {}

/// Renders a diagnostic as text, without colour (for tests, logs and pipes).
#[must_use]
pub fn render_plain(d: &dyn Diagnostic) -> String {
    let mut out = String::new();
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100);
    // Writing into a String cannot fail.
    let _ = handler.render_report(&mut out, d);
    out
}

/// Renders a diagnostic for a terminal (colour) or not.
#[must_use]
pub fn render(d: &dyn Diagnostic, color: bool) -> String {
    if !color {
        return render_plain(d);
    }
    let mut out = String::new();
    let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode())
        .with_width(100);
    let _ = handler.render_report(&mut out, d);
    out
}

/// Suggests the closest of `candidates` to `name`, if one is close enough to be a typo.
#[must_use]
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= (name.len().max(c.len()) / 3).max(1) && *d > 0)
        .min()
        .map(|(_, c)| c.to_string())
}
