//! Finding and reading rule files and their data files: from a directory or file on
//! disk, or from the rule set bundled into the binary.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use include_dir::{Dir, include_dir};
use sha2::{Digest as _, Sha256};

use crate::ast;
use crate::compile::RuleSet;
use crate::diagnostics::{Code, Problem, Problems};
use crate::source::{FileId, SourceMap};

/// The rule files and list data shipped with rulecheck.
static BUNDLED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/rules");

/// Extension of rule files.
pub const RULE_EXTENSION: &str = "rules";

/// Largest rule file accepted, in bytes.
pub const MAX_RULE_BYTES: usize = 4 * 1024 * 1024;

/// Where rule files and their data come from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// The bundled `rules/` directory.
    Bundled,
    /// A directory or a single rule file on disk.
    Disk(PathBuf),
    /// Files held in memory, by name (for tools and fuzzing): rule files end in `.rules`.
    Memory(Vec<(String, Arc<str>)>),
}

impl Origin {
    /// Lists rule files (names as shown to users), sorted for a stable order.
    fn rule_files(&self) -> Result<Vec<String>, Problem> {
        let mut out = Vec::new();
        match self {
            Origin::Bundled => collect_bundled(&BUNDLED, &mut out),
            Origin::Memory(files) => out.extend(
                files
                    .iter()
                    .filter(|(n, _)| n.ends_with(&format!(".{RULE_EXTENSION}")))
                    .map(|(n, _)| n.clone()),
            ),
            Origin::Disk(p) => {
                if p.is_file() {
                    out.push(p.display().to_string());
                } else if p.is_dir() {
                    collect_disk(p, &mut out).map_err(|e| {
                        Problem::whole(
                            Code::Io,
                            Some(&p.display().to_string()),
                            format!("cannot read the rules directory: {e}"),
                        )
                    })?;
                } else {
                    return Err(Problem::whole(
                        Code::Io,
                        Some(&p.display().to_string()),
                        "no such rule file or directory",
                    ));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Reads a file by the name `rule_files` gave or a data path resolved from it.
    pub fn read(&self, name: &str) -> Result<Arc<str>, String> {
        let bytes = match self {
            Origin::Bundled => BUNDLED
                .get_file(name.strip_prefix("rules/").unwrap_or(name))
                .map(include_dir::File::contents)
                .ok_or_else(|| "no such file in the bundled rules".to_string())?,
            Origin::Disk(_) => {
                return crate::source::read_text(Path::new(name), crate::lists::MAX_DATA_BYTES)
                    .map(Arc::from)
                    .map_err(|e| e.to_string());
            }
            Origin::Memory(files) => {
                return files
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, t)| Arc::clone(t))
                    .ok_or_else(|| "no such file".to_string());
            }
        };
        // One copy, straight from the binary into the shared text.
        std::str::from_utf8(bytes)
            .map(Arc::from)
            .map_err(|_| "the bundled file is not UTF-8 text".to_string())
    }

    /// Resolves a data path written in `rule_file` relative to that file's directory.
    #[must_use]
    pub fn resolve(&self, rule_file: &str, data: &str) -> String {
        let dir = Path::new(rule_file).parent().unwrap_or(Path::new(""));
        normalize(&dir.join(data))
    }

    /// The directory file names are relative to in the digest.
    fn root(&self) -> String {
        match self {
            Origin::Bundled => "rules".into(),
            Origin::Memory(_) => String::new(),
            Origin::Disk(p) if p.is_file() => normalize(p.parent().unwrap_or(Path::new(""))),
            Origin::Disk(p) => normalize(p),
        }
    }
}

/// Normalises `a/./b/../c` to `a/c`, so that bundled lookups work, names stay
/// readable, and digests do not depend on how a path was written.
fn normalize(joined: &Path) -> String {
    {
        let mut parts: Vec<String> = Vec::new();
        let absolute = joined.is_absolute();
        for c in joined.components() {
            match c {
                std::path::Component::ParentDir => {
                    if parts.last().is_some_and(|p| p != "..") {
                        parts.pop();
                    } else if !absolute {
                        // Above the root is the root itself.
                        parts.push("..".into());
                    }
                }
                // The root is written once, below, not as a part (which gave `//tmp`).
                std::path::Component::CurDir | std::path::Component::RootDir => {}
                other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
            }
        }
        let s = parts.join("/");
        if absolute && !s.starts_with('/') {
            format!("/{s}")
        } else {
            s
        }
    }
}

fn collect_bundled(dir: &Dir<'static>, out: &mut Vec<String>) {
    for f in dir.files() {
        if f.path().extension().is_some_and(|e| e == RULE_EXTENSION) {
            out.push(format!("rules/{}", f.path().display()));
        }
    }
    for d in dir.dirs() {
        collect_bundled(d, out);
    }
}

fn collect_disk(dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            collect_disk(&p, out)?;
        } else if p.extension().is_some_and(|e| e == RULE_EXTENSION) {
            out.push(p.display().to_string());
        }
    }
    Ok(())
}

/// Hashes file names (relative to the rule root) and contents in a stable order.
#[derive(Clone)]
pub struct DigestBuilder {
    root: String,
    files: Vec<(String, Arc<str>)>,
}

impl DigestBuilder {
    /// A digest of the files of `origin`.
    #[must_use]
    pub fn new(origin: &Origin) -> Self {
        DigestBuilder {
            root: origin.root(),
            files: Vec::new(),
        }
    }

    /// Adds one file.
    pub fn add(&mut self, name: &str, text: &Arc<str>) {
        let name = normalize(Path::new(name));
        let rel = match name.strip_prefix(&self.root) {
            Some(r) if self.root.is_empty() || r.starts_with('/') => {
                r.trim_start_matches('/').to_string()
            }
            _ => name,
        };
        self.files.push((rel, Arc::clone(text)));
    }

    /// Starts hashing on a thread of its own (megabytes of list data, while the rules are
    /// checked); [`Hashing::finish`] gives the digest.
    #[must_use]
    pub fn start(self) -> Hashing {
        let files = self.clone();
        // The thread only hashes: for a rule set of up to about a hundred files (the sort
        // keeps its scratch space on the stack) it allocates nothing, so it never makes
        // itself a heap, whose first page the system would have to clear.
        match std::thread::Builder::new().spawn(move || files.hash()) {
            Ok(h) => Hashing::Started(h),
            // Without a thread to spare, it is hashed when asked for.
            Err(_) => Hashing::Waiting(self),
        }
    }

    /// `sha256:` over all files, sorted by name.
    #[must_use]
    pub fn finish(self) -> String {
        hex_digest(&self.hash())
    }

    /// SHA-256 over all files, sorted by name.
    fn hash(mut self) -> [u8; 32] {
        self.files.sort_by(|a, b| a.0.cmp(&b.0));
        self.files.dedup_by(|a, b| a.0 == b.0);
        let mut h = Sha256::new();
        for (rel, text) in &self.files {
            h.update(rel.len().to_le_bytes());
            h.update(rel.as_bytes());
            h.update(text.len().to_le_bytes());
            h.update(text.as_bytes());
        }
        h.finalize().into()
    }
}

/// A digest as written: `sha256:` and its hex, as a facts digest is.
fn hex_digest(d: &[u8; 32]) -> String {
    // ASCII throughout: the conversion cannot fail.
    std::str::from_utf8(&crate::facts::sha256_text(*d))
        .unwrap_or_default()
        .to_owned()
}

/// A rule set's digest being made.
pub enum Hashing {
    /// On its own thread.
    Started(std::thread::JoinHandle<[u8; 32]>),
    /// Not started.
    Waiting(DigestBuilder),
}

impl Hashing {
    /// The digest, `sha256:...`.
    #[must_use]
    pub fn finish(self) -> String {
        match self {
            // A panic while hashing is a bug: pass it on.
            Hashing::Started(h) => {
                hex_digest(&h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            }
            Hashing::Waiting(d) => d.finish(),
        }
    }
}

/// Loads, parses, checks and compiles a rule set.
pub fn load(origin: &Origin) -> Result<(RuleSet, Vec<Problem>), Problems> {
    let (sources, parsed, problems) = parse(origin)?;
    crate::check::check(origin, sources, parsed, problems)
}

/// A rule set together with the syntax trees it was compiled from, for tools that show
/// the rules as written (the rule book): compiling inlines predicates and drops the
/// declarations' own structure, which the syntax keeps, with spans into `sources`.
#[derive(Debug)]
pub struct Loaded {
    /// The compiled rule set.
    pub rules: RuleSet,
    /// Every rule file's declarations, in the order the files were read.
    pub files: Vec<ast::File>,
    /// Warnings of the check.
    pub warnings: Vec<Problem>,
}

/// Loads like [`load`], keeping the syntax trees.
pub fn load_with_syntax(origin: &Origin) -> Result<Loaded, Problems> {
    let (sources, parsed, problems) = parse(origin)?;
    let files = parsed.iter().map(|(_, f)| f.clone()).collect();
    let (rules, warnings) = crate::check::check(origin, sources, parsed, problems)?;
    Ok(Loaded {
        rules,
        files,
        warnings,
    })
}

/// Rule files read and parsed, with the problems found so far.
type Parsed = (SourceMap, Vec<(FileId, ast::File)>, Problems);

/// Reads and parses every rule file; parse problems are collected, not returned early,
/// so that the check reports its own with them.
fn parse(origin: &Origin) -> Result<Parsed, Problems> {
    let files = origin.rule_files().map_err(Problems::from)?;
    if files.is_empty() {
        return Err(Problem::whole(
            Code::Io,
            match origin {
                Origin::Disk(p) => Some(p.to_str().unwrap_or("rules")),
                Origin::Bundled | Origin::Memory(_) => None,
            },
            format!("no rule files (`*.{RULE_EXTENSION}`) found"),
        )
        .into());
    }
    let mut sources = SourceMap::default();
    let mut problems = Problems::default();
    let mut parsed = Vec::new();
    for name in &files {
        let text = match origin.read(name) {
            Ok(t) => t,
            Err(e) => {
                problems.push(Problem::whole(
                    Code::Io,
                    Some(name),
                    format!("cannot read the rule file: {e}"),
                ));
                continue;
            }
        };
        if text.len() > MAX_RULE_BYTES {
            problems.push(Problem::whole(
                Code::Limit,
                Some(name),
                format!(
                    "the rule file is {} bytes, more than the limit of {MAX_RULE_BYTES}",
                    text.len()
                ),
            ));
            continue;
        }
        let id = sources.add(name.clone(), text);
        match crate::parser::parse_file(id, sources.file(id)) {
            Ok(f) => parsed.push((id, f)),
            Err(ps) => problems.0.extend(ps),
        }
    }
    Ok((sources, parsed, problems))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::normalize;

    #[test]
    fn paths_are_normalised_once_rooted() {
        assert_eq!(
            normalize(Path::new("/tmp/r/./data/../sdn.json")),
            "/tmp/r/sdn.json"
        );
        assert_eq!(normalize(Path::new("/../x")), "/x");
        assert_eq!(normalize(Path::new("rules/../../x")), "../x");
        assert_eq!(normalize(Path::new("a/./b")), "a/b");
    }
}
