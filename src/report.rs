//! Problems as reports for machines: CI jobs, code scanning and pull-request annotations.
//!
//! People read miette's rendering (`human`, on standard error). The other formats are
//! meant for standard output, to be redirected to a file or read by a CI system:
//!
//! - `json`: one document, `{"diagnostics": [...], "errors": N, "warnings": N}`. Each
//!   diagnostic has the keys `code`, `severity`, `message`, `file`, `line`, `column`,
//!   `end_line`, `end_column`, `label`, `help`, always all of them and in this order
//!   (`null` where there is nothing to say, e.g. no position for a whole-file problem).
//!   `severity` is `error`, `warning` or `note`. Lines and columns are 1-based, columns
//!   count characters (Unicode scalar values), and the end is exclusive: `end_column` is
//!   the column just past the last character at fault, as in SARIF.
//! - `sarif`: one SARIF 2.1.0 log with one run, for GitHub code scanning and other
//!   SARIF viewers. It validates against the OASIS schema (`tests/data/sarif/`).
//! - `github`: GitHub Actions workflow commands, one line per problem, which the runner
//!   turns into annotations on the files of a pull request.

use std::path::{Component, Path};

use miette::Severity;
use serde::Serialize;

use crate::diagnostics::{self, Code, Problem};

/// How `rulecheck check` reports problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReportFormat {
    /// Diagnostics with their source snippet, for people (on standard error).
    #[default]
    Human,
    /// One JSON document with every problem and the counts.
    Json,
    /// SARIF 2.1.0, for code scanning (e.g. GitHub's `upload-sarif`).
    Sarif,
    /// GitHub Actions workflow commands: one annotation per problem.
    Github,
}

/// The schema a SARIF log names: the OASIS publication of SARIF 2.1.0, errata 01.
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Renders problems in a format; `cwd` is the directory that file locations are made
/// relative to (SARIF and GitHub want paths from the repository root, where CI runs).
#[must_use]
pub fn render(format: ReportFormat, problems: &[Problem], cwd: Option<&Path>) -> String {
    match format {
        ReportFormat::Human => problems
            .iter()
            .map(|p| diagnostics::render_plain(p))
            .collect(),
        ReportFormat::Json => json(problems),
        ReportFormat::Sarif => sarif(problems, cwd),
        ReportFormat::Github => github(problems, cwd),
    }
}

// ---- JSON -----------------------------------------------------------------------------

/// The JSON document; a struct, so that the keys keep their order whatever `serde_json`'s
/// features are.
#[derive(Serialize)]
struct JsonReport<'a> {
    diagnostics: Vec<JsonDiagnostic<'a>>,
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    severity: &'static str,
    message: &'a str,
    file: Option<&'a str>,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    label: Option<&'a str>,
    help: Option<&'a str>,
}

/// The problems as one JSON document (see the module documentation), with a final newline.
#[must_use]
pub fn json(problems: &[Problem]) -> String {
    let diagnostics = problems
        .iter()
        .map(|p| {
            let start = p.line_col;
            let end = p.end_line_col();
            JsonDiagnostic {
                code: p.code.as_str(),
                severity: level(p.severity),
                message: &p.message,
                file: p.file_name(),
                line: start.map(|s| s.0),
                column: start.map(|s| s.1),
                end_line: end.map(|e| e.0),
                end_column: end.map(|e| e.1),
                label: Some(p.label.as_str()).filter(|l| !l.is_empty()),
                help: p.help.as_deref(),
            }
        })
        .collect();
    pretty(&JsonReport {
        diagnostics,
        errors: problems.iter().filter(|p| p.is_error()).count(),
        warnings: problems
            .iter()
            .filter(|p| p.severity == Severity::Warning)
            .count(),
    })
}

/// SARIF's names for severities (`note` for advice), used by the JSON report too.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Advice => "note",
    }
}

fn pretty(v: &impl Serialize) -> String {
    // Plain structs of strings and numbers: serialising them cannot fail.
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

// ---- SARIF ----------------------------------------------------------------------------

#[derive(Serialize)]
struct SarifLog {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [SarifRun; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRun {
    tool: SarifTool,
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct SarifTool {
    driver: SarifDriver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifDriver {
    name: &'static str,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'static str>,
    rules: Vec<SarifRule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRule {
    id: &'static str,
    short_description: SarifText,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
}

#[derive(Serialize)]
struct SarifText {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: SarifText,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<SarifLocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation {
    physical_location: SarifPhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifPhysicalLocation {
    artifact_location: SarifArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<SarifRegion>,
}

#[derive(Serialize)]
struct SarifArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRegion {
    start_line: usize,
    start_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<SarifText>,
}

/// Where to read about rulecheck: the package's homepage or repository, when Cargo.toml
/// names one (a SARIF `informationUri` must be an absolute URI, so none is invented).
#[must_use]
pub fn information_uri() -> Option<&'static str> {
    [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")]
        .into_iter()
        .find(|u| !u.is_empty())
}

/// The problems as a SARIF 2.1.0 log, with a final newline.
///
/// `tool.driver.rules` has one entry per code that occurs, in order of first occurrence;
/// each result points to its entry by `ruleIndex`. A problem in a file has a location
/// (a relative URI where the file is under `cwd`), with a region when it has a span; a
/// problem about no file has none.
#[must_use]
pub fn sarif(problems: &[Problem], cwd: Option<&Path>) -> String {
    let mut codes: Vec<Code> = Vec::new();
    let mut results = Vec::with_capacity(problems.len());
    for p in problems {
        let rule_index = codes.iter().position(|c| *c == p.code).unwrap_or_else(|| {
            codes.push(p.code);
            codes.len() - 1
        });
        let end = p.end_line_col();
        let region = p.line_col.map(|(start_line, start_column)| SarifRegion {
            start_line,
            start_column,
            end_line: end.map(|e| e.0),
            end_column: end.map(|e| e.1),
            message: Some(&p.label)
                .filter(|l| !l.is_empty())
                .map(|l| SarifText { text: l.clone() }),
        });
        let locations = p
            .file_name()
            .map(|f| SarifLocation {
                physical_location: SarifPhysicalLocation {
                    artifact_location: SarifArtifactLocation {
                        uri: file_uri(f, cwd),
                    },
                    region,
                },
            })
            .into_iter()
            .collect();
        results.push(SarifResult {
            rule_id: p.code.as_str(),
            rule_index,
            level: level(p.severity),
            message: SarifText { text: text(p) },
            locations,
        });
    }
    let rules = codes
        .into_iter()
        .map(|c| SarifRule {
            id: c.as_str(),
            short_description: SarifText {
                text: c.summary().to_string(),
            },
            help_uri: c.doc_url(),
        })
        .collect();
    pretty(&SarifLog {
        schema: SARIF_SCHEMA,
        version: "2.1.0",
        runs: [SarifRun {
            tool: SarifTool {
                driver: SarifDriver {
                    name: "rulecheck",
                    version: env!("CARGO_PKG_VERSION"),
                    information_uri: information_uri(),
                    rules,
                },
            },
            // Columns count Unicode scalar values (`source::line_col`), not the UTF-16
            // code units that SARIF assumes unless told.
            column_kind: "unicodeCodePoints",
            results,
        }],
    })
}

/// The message with its help folded in, for formats that have one text per problem.
fn text(p: &Problem) -> String {
    match &p.help {
        Some(h) => format!("{}\nhelp: {h}", p.message),
        None => p.message.clone(),
    }
}

/// A file name as given to rulecheck, split into path segments: relative to `cwd` when
/// it lies under it. The flag says the path is still absolute.
fn segments(name: &str, cwd: Option<&Path>) -> (bool, Vec<String>) {
    let path = Path::new(name);
    let (absolute, path) = match cwd.and_then(|c| path.strip_prefix(c).ok()) {
        Some(rel) if path.is_absolute() => (false, rel),
        _ => (path.is_absolute(), path),
    };
    let parts = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".to_string()),
            // Windows drive letters become the first segment of a `file:///C:/...` URI.
            Component::Prefix(p) => Some(p.as_os_str().to_string_lossy().into_owned()),
            Component::RootDir | Component::CurDir => None,
        })
        .collect();
    (absolute, parts)
}

/// A file name as a URI reference: relative, with forward slashes, when the file is
/// under `cwd` or was named relatively; otherwise an absolute `file://` URI. Every byte
/// outside RFC 3986's unreserved characters is percent-encoded.
#[must_use]
pub fn file_uri(name: &str, cwd: Option<&Path>) -> String {
    let (absolute, parts) = segments(name, cwd);
    let path = parts
        .iter()
        .map(|s| percent_encode(s))
        .collect::<Vec<_>>()
        .join("/");
    if absolute {
        format!("file:///{path}")
    } else {
        path
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---- GitHub Actions -------------------------------------------------------------------

/// The problems as GitHub Actions workflow commands, one line each:
/// `::error file=F,line=L,col=C,endLine=L,endColumn=C,title=CODE::MESSAGE`.
///
/// Warnings are `::warning`. The help is folded into the message, on its own line.
/// Columns appear only for a span on one line, as GitHub's annotations allow.
#[must_use]
pub fn github(problems: &[Problem], cwd: Option<&Path>) -> String {
    let mut out = String::new();
    for p in problems {
        let command = match p.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Advice => "notice",
        };
        let mut props = Vec::new();
        if let Some(name) = p.file_name() {
            let (absolute, parts) = segments(name, cwd);
            let path = format!("{}{}", if absolute { "/" } else { "" }, parts.join("/"));
            props.push(format!("file={}", escape_property(&path)));
            if let Some((line, col)) = p.line_col {
                props.push(format!("line={line}"));
                match p.end_line_col() {
                    Some((end_line, end_col)) if end_line == line => {
                        props.push(format!("col={col}"));
                        props.push(format!("endLine={end_line}"));
                        props.push(format!("endColumn={end_col}"));
                    }
                    Some((end_line, _)) => props.push(format!("endLine={end_line}")),
                    None => props.push(format!("col={col}")),
                }
            }
        }
        props.push(format!("title={}", escape_property(p.code.as_str())));
        out.push_str(&format!(
            "::{command} {}::{}\n",
            props.join(","),
            escape_data(&text(p))
        ));
    }
    out
}

/// Escapes the message of a workflow command, as GitHub's runner reads it back.
#[must_use]
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command (`file=`, `title=`): as the message,
/// and also `:` and `,`, which end a property.
#[must_use]
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
