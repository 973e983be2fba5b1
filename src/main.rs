//! The `rulecheck` command line: parses arguments, dispatches, returns an exit code.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use rulecheck::diagnostics::{self, Code, Problem};
use rulecheck::eval::{self, Options};
use rulecheck::facts::Shipment;
use rulecheck::load::{self, Origin};
use rulecheck::render::{self, Format};
use rulecheck::report::{self, ReportFormat};

/// A batch run allocates and frees a few dozen small blocks per shipment, and start-up
/// tens of thousands for the lists; mimalloc does this in about half the time of the
/// system allocator (see benches/README.md). Its v2 line, not the crate's default v3:
/// v3 commits memory in huge pages that the kernel zeroes whole, so a short run touched
/// 43 MiB where v2 touches 34, and a batch ran ~6 % slower.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use rulecheck::source::{ReadError, SourceMap};
use rulecheck::types::Date;

/// Exit status of `check` for rules with warnings and no errors.
const EXIT_WARNINGS: u8 = 1;
/// Exit status for a bad shipment file (and no verdict).
const EXIT_BAD_SHIPMENT: u8 = 10;
/// Exit status for rule files with errors.
const EXIT_BAD_RULES: u8 = 11;
/// Exit status for a usage error.
const EXIT_USAGE: u8 = 12;

/// Sanctions and export-control rules as code, with explained verdicts.
#[derive(Parser)]
#[command(name = "rulecheck", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate shipments against the rules.
    ///
    /// Exit status: 0 clear, 1 review, 2 license required, 3 prohibited (the most
    /// severe over all shipments); 10 a shipment file is invalid; 11 the rules are
    /// invalid; 12 usage error.
    Eval {
        /// Rule file or directory (default: the rules bundled with rulecheck).
        #[arg(long, value_name = "PATH")]
        rules: Option<PathBuf>,
        /// Evaluate as of this date (YYYY-MM-DD) instead of each shipment's date.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        as_of: Option<Date>,
        /// Output format (default: text, or jsonl for JSON Lines input).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Also say why each rule in force did not fire.
        #[arg(long)]
        explain: bool,
        /// Parallel jobs for JSON Lines input (default: all cores).
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
        /// Shipment files: YAML, or JSON Lines (`*.jsonl`, or `-` for standard input).
        #[arg(required = true, value_name = "SHIPMENT")]
        shipments: Vec<PathBuf>,
    },
    /// Run regression cases: shipments with the verdicts they must get.
    ///
    /// Exit status: 0 all cases passed (and at least one ran), 1 some failed, 10 a case
    /// file is invalid, 11 the rules are invalid.
    Test {
        /// Rule file or directory (default: the bundled rules).
        #[arg(long, value_name = "PATH")]
        rules: Option<PathBuf>,
        /// Run only cases whose id contains this text.
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        /// Parallel jobs (default: all cores).
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TestFormat::Text)]
        format: TestFormat,
        /// Rewrite the expectations of failing cases to what they now get.
        #[arg(long)]
        update: bool,
        /// Report which rules and exceptions the cases fire.
        #[arg(long)]
        coverage: bool,
        /// Fail when fewer than this percent of rules are fired by some case.
        #[arg(long, value_name = "PERCENT")]
        min_coverage: Option<f64>,
        /// Case files or directories (default: tests/cases).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Compare the verdicts of a corpus of shipments under two versions of the rules.
    ///
    /// Exit status: 0 no change that `--fail-on` forbids, 1 such a change, 10 a shipment
    /// is invalid, 11 either rule set is invalid, 12 usage error (e.g. an unknown revision).
    Diff {
        /// The rules before the change: a directory, or a git revision (e.g. `origin/main`).
        #[arg(long, value_name = "DIR|REV")]
        base: String,
        /// The rules after the change (default: the rules directory as it is on disk).
        #[arg(long, value_name = "DIR|REV")]
        head: Option<String>,
        /// The rules directory within the repository, for git revisions.
        #[arg(long, value_name = "PATH", default_value = "rules")]
        rules_dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
        /// Exit 1 when the change has relaxations, escalations, or any change.
        #[arg(long, value_enum, value_name = "KIND")]
        fail_on: Option<FailOn>,
        /// Changed shipments listed per direction in Markdown.
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: usize,
        /// Parallel jobs (default: all cores).
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
        /// Shipment files (YAML), directories of them, or JSON Lines files.
        #[arg(required = true, value_name = "SHIPMENTS")]
        shipments: Vec<PathBuf>,
    },
    /// Write the rule book: every regime, rule, exception, list and predicate, linked.
    ///
    /// Exit status: 0 written, 11 the rules are invalid, 12 usage error.
    Doc {
        /// Output format.
        #[arg(long, value_enum, default_value_t = rulecheck::book::Format::Md)]
        format: rulecheck::book::Format,
        /// Write the book to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Rule file or directory (default: the bundled rules).
        rules: Option<PathBuf>,
    },
    /// Format rule files in the canonical layout (see docs/fmt.md).
    ///
    /// Without a path, or with `-`, reads standard input and writes standard output.
    /// Exit status: 0 formatted (or nothing to do), 1 with `--check` or `--diff` when a
    /// file would change, 11 a file does not parse (it is left as it is), 12 usage error
    /// (e.g. a path that does not exist).
    Fmt {
        /// Write nothing; list on stderr each file that would change.
        #[arg(long)]
        check: bool,
        /// Write nothing; print a unified diff of what would change.
        #[arg(long)]
        diff: bool,
        /// Rule files, or directories searched for `*.rules` files (`-`: standard input).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Parse and check rule files; report every problem found.
    ///
    /// Runs the named lints too (docs/lints/).
    ///
    /// Exit status: 0 no problems, 1 warnings only, 11 errors (the rules are invalid),
    /// 12 usage error. The summary line is on standard error in every format.
    #[command(visible_alias = "lint")]
    Check {
        /// Rule file or directory (default: the bundled rules).
        path: Option<PathBuf>,
        /// How to report problems: `human` on standard error; `json`, `sarif` or `github`
        /// (workflow commands for annotations) on standard output.
        #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
        format: ReportFormat,
    },
}

/// Appends the lints' problems to those of the check; lint errors fail it like others.
fn with_lints(
    (rs, mut problems): (rulecheck::compile::RuleSet, Vec<Problem>),
) -> Result<(rulecheck::compile::RuleSet, Vec<Problem>), rulecheck::diagnostics::Problems> {
    problems.extend(rulecheck::lint::lint(&rs).0);
    let mut all = rulecheck::diagnostics::Problems(problems);
    all.sort();
    if all.has_errors() {
        Err(all)
    } else {
        Ok((rs, all.0))
    }
}

fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date: write YYYY-MM-DD"))
}

fn origin(p: Option<PathBuf>) -> Origin {
    p.map_or(Origin::Bundled, Origin::Disk)
}

fn print_problem(p: &Problem, color: bool) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{}", diagnostics::render(p, color));
}

/// Stack for the worker thread. Rule and shipment nesting is bounded by explicit limits;
/// this leaves a wide margin on top of them.
const STACK_BYTES: usize = 64 * 1024 * 1024;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    match std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(move || run(cli))
        .map(std::thread::JoinHandle::join)
    {
        Ok(Ok(code)) => code,
        // A panic is a bug: it has printed its message; say so in the exit status.
        Ok(Err(_)) => ExitCode::from(101),
        Err(e) => {
            eprintln!("rulecheck: cannot start: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run(cli: Cli) -> ExitCode {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    match cli.command {
        Command::Check { path, format } => check(path, format, color),
        Command::Doc { format, out, rules } => doc(format, out.as_deref(), rules, color),
        Command::Fmt { check, diff, paths } => fmt(check, diff, &paths, color),
        Command::Test {
            rules,
            filter,
            jobs,
            format,
            update,
            coverage,
            min_coverage,
            paths,
        } => test(
            &TestArgs {
                rules,
                filter,
                jobs,
                format,
                update,
                coverage,
                min_coverage,
                paths,
            },
            color,
        ),
        Command::Diff {
            base,
            head,
            rules_dir,
            format,
            fail_on,
            limit,
            jobs,
            shipments,
        } => diff(
            &DiffArgs {
                base,
                head,
                rules_dir,
                format,
                fail_on,
                limit,
                jobs,
                shipments,
            },
            color,
        ),
        Command::Eval {
            rules,
            as_of,
            format,
            explain,
            jobs,
            shipments,
        } => {
            let rs = match load_rules(&origin(rules), "no verdict", color) {
                Ok(rs) => rs,
                Err(code) => return code,
            };
            let opts = Options { as_of, explain };
            let jobs = jobs.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
            });
            let code = eval_all(&rs, opts, format, jobs, &shipments, color);
            // The process ends here: freeing every list entry and index one by one
            // would cost a tenth of the start-up time of a one-shipment run.
            std::mem::forget(rs);
            code
        }
    }
}

/// Writes the rule book to `out` or standard output.
fn doc(
    format: rulecheck::book::Format,
    out: Option<&std::path::Path>,
    rules: Option<PathBuf>,
    color: bool,
) -> ExitCode {
    let origin = origin(rules);
    let loaded = match load::load_with_syntax(&origin) {
        Ok(l) => {
            for w in &l.warnings {
                print_problem(w, color);
            }
            l
        }
        Err(ps) => {
            for p in &ps.0 {
                print_problem(p, color);
            }
            eprintln!("{ps} in the rules: no rule book");
            return ExitCode::from(EXIT_BAD_RULES);
        }
    };
    let book = rulecheck::book::render(&loaded, &origin, format);
    let written = match out {
        Some(path) => std::fs::write(path, book)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display())),
        None => std::io::stdout()
            .lock()
            .write_all(book.as_bytes())
            .map_err(|e| format!("cannot write the rule book: {e}")),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rulecheck: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn is_lines(p: &std::path::Path) -> bool {
    p.as_os_str() == "-" || p.extension().is_some_and(|e| e == "jsonl")
}

fn eval_all(
    rs: &rulecheck::compile::RuleSet,
    opts: Options,
    format: Option<Format>,
    jobs: usize,
    shipments: &[PathBuf],
    color: bool,
) -> ExitCode {
    let out_color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut worst: Option<u8> = None;
    let mut bad = false;
    // Not locked for the whole run: batch workers may write to it themselves.
    let mut stdout = std::io::stdout();
    for path in shipments {
        if is_lines(path) {
            match batch(rs, opts, path, jobs, &mut stdout, color) {
                Ok(summary) => {
                    bad |= summary.errors > 0;
                    if let Some(v) = summary.worst() {
                        worst = Some(worst.map_or(v.exit_code(), |w| w.max(v.exit_code())));
                    }
                }
                Err(p) => {
                    print_problem(&p, color);
                    bad = true;
                }
            }
            continue;
        }
        let name = path.display().to_string();
        let text = match read_text(path) {
            Ok(t) => t,
            Err(p) => {
                print_problem(&p, color);
                bad = true;
                continue;
            }
        };
        let mut map = SourceMap::default();
        let id = map.add(name, text);
        let shipment = match Shipment::from_yaml(map.file(id)) {
            Ok(s) => s,
            Err(p) => {
                print_problem(&p, color);
                bad = true;
                continue;
            }
        };
        let outcome = eval::evaluate(rs, &shipment, &opts);
        let code = outcome.verdict.exit_code();
        worst = Some(worst.map_or(code, |w| w.max(code)));
        let rendered = match format.unwrap_or(Format::Text) {
            Format::Text => render::text(&outcome, out_color).into_bytes(),
            Format::Json => (render::json(&outcome) + "\n").into_bytes(),
            Format::Jsonl => {
                // The same writer as batch mode, so that a line is the same bytes either way.
                let mut line = Vec::with_capacity(1024);
                rulecheck::outcome_json::write(&mut line, &outcome);
                line.push(b'\n');
                line
            }
        };
        if stdout.write_all(&rendered).is_err() {
            break;
        }
    }
    let _ = stdout.flush();
    if bad {
        ExitCode::from(EXIT_BAD_SHIPMENT)
    } else {
        ExitCode::from(worst.unwrap_or(0))
    }
}

/// Screens one JSON Lines input, with a progress bar on a terminal and a summary.
fn batch(
    rs: &rulecheck::compile::RuleSet,
    opts: Options,
    path: &std::path::Path,
    jobs: usize,
    out: &mut (impl std::io::Write + Send),
    color: bool,
) -> Result<rulecheck::batch::Summary, Problem> {
    let name = if path.as_os_str() == "-" {
        "stdin".to_string()
    } else {
        path.display().to_string()
    };
    let io_problem =
        |e: std::io::Error| Problem::whole(Code::Io, Some(&name), format!("cannot read: {e}"));
    let show = std::io::stderr().is_terminal();
    let bar = if show {
        let total = if path.as_os_str() == "-" {
            None
        } else {
            count_lines(path).ok()
        };
        let bar = total.map_or_else(
            indicatif::ProgressBar::new_spinner,
            indicatif::ProgressBar::new,
        );
        let style = if total.is_some() {
            "{spinner} {pos}/{len} records  {per_sec}  eta {eta}  {wide_bar}"
        } else {
            "{spinner} {pos} records  {per_sec}"
        };
        if let Ok(st) = indicatif::ProgressStyle::with_template(style) {
            bar.set_style(st);
        }
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        Some(bar)
    } else {
        None
    };
    let progress = |n: u64| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    };
    let started = std::time::Instant::now();
    let io = rulecheck::batch::Io::for_jobs(jobs.max(1));
    let summary = if path.as_os_str() == "-" {
        let stdin = std::io::stdin();
        rulecheck::batch::run(rs, &opts, &name, stdin, out, jobs, io, &progress)
    } else {
        let f = std::fs::File::open(path).map_err(io_problem)?;
        rulecheck::batch::run(rs, &opts, &name, f, out, jobs, io, &progress)
    }
    .map_err(|e| Problem::whole(Code::Io, Some(&name), e.to_string()))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let counts: Vec<String> = summary
        .verdicts
        .iter()
        .rev()
        .map(|(v, n)| format!("{n} {v}"))
        .collect();
    #[allow(clippy::cast_precision_loss)] // a rate for people
    let rate = summary.records as f64 / secs;
    let _ = color;
    eprintln!(
        "{name}: {} records: {}; {} error{}; {rate:.0} records/s",
        summary.records,
        if counts.is_empty() {
            "no verdict".to_string()
        } else {
            counts.join(", ")
        },
        summary.errors,
        plural(usize::try_from(summary.errors).unwrap_or(2)),
    );
    Ok(summary)
}

#[allow(clippy::indexing_slicing)] // `k` is what `read` returned for this buffer
fn count_lines(path: &std::path::Path) -> std::io::Result<u64> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            return Ok(n);
        }
        // Only a progress estimate, once per run: no need for a faster count.
        #[allow(clippy::naive_bytecount)]
        let lines = buf[..k].iter().filter(|b| **b == b'\n').count();
        n += lines as u64;
    }
}

/// `rulecheck check`: every problem in the chosen format, the summary on standard error.
fn check(path: Option<PathBuf>, format: ReportFormat, color: bool) -> ExitCode {
    let (problems, summary) = match load::load(&origin(path)).and_then(with_lints) {
        Ok((rs, warnings)) => {
            let summary = format!(
                "checked {} rule{}, {} exception{}, {} list{}: no errors{}",
                rs.rules.len(),
                plural(rs.rules.len()),
                rs.exceptions.len(),
                plural(rs.exceptions.len()),
                rs.lists.len(),
                plural(rs.lists.len()),
                if warnings.is_empty() {
                    String::new()
                } else {
                    format!(", {} warning{}", warnings.len(), plural(warnings.len()))
                }
            );
            (warnings, summary)
        }
        Err(ps) => {
            let summary = ps.to_string();
            (ps.0, summary)
        }
    };
    if format == ReportFormat::Human {
        for p in &problems {
            print_problem(p, color);
        }
    } else {
        let cwd = std::env::current_dir().ok();
        let out = report::render(format, &problems, cwd.as_deref());
        // A reader that went away (`| head`) is not a problem in the rules.
        let _ = std::io::stdout().lock().write_all(out.as_bytes());
    }
    eprintln!("{summary}");
    if problems.iter().any(Problem::is_error) {
        ExitCode::from(EXIT_BAD_RULES)
    } else if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_WARNINGS)
    }
}

/// Loads a rule set, or prints its problems and gives the exit status for bad rules.
fn load_rules(
    origin: &Origin,
    consequence: &str,
    color: bool,
) -> Result<rulecheck::compile::RuleSet, ExitCode> {
    load::load(origin).map(|(rs, _)| rs).map_err(|ps| {
        for p in &ps.0 {
            print_problem(p, color);
        }
        eprintln!("{ps} in the rules: {consequence}");
        ExitCode::from(EXIT_BAD_RULES)
    })
}

/// What `fmt` does with a file whose layout is not canonical.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FmtMode {
    Write,
    Check,
    Diff,
}

/// `rulecheck fmt`: formats files in place, or standard input to standard output.
fn fmt(check: bool, diff: bool, paths: &[PathBuf], color: bool) -> ExitCode {
    let mode = if diff {
        FmtMode::Diff
    } else if check {
        FmtMode::Check
    } else {
        FmtMode::Write
    };
    let stdin = paths.is_empty() || paths.iter().any(|p| p.as_os_str() == "-");
    if stdin && paths.len() > 1 {
        eprintln!("rulecheck fmt: `-` (standard input) cannot be given with other paths");
        return ExitCode::from(EXIT_USAGE);
    }
    if stdin {
        let mut text = String::new();
        let limit = load::MAX_RULE_BYTES as u64 + 1;
        if let Err(e) = std::io::Read::read_to_string(
            &mut std::io::Read::take(std::io::stdin(), limit),
            &mut text,
        ) {
            eprintln!("rulecheck fmt: cannot read standard input: {e}");
            return ExitCode::from(EXIT_BAD_RULES);
        }
        if text.len() > load::MAX_RULE_BYTES {
            eprintln!(
                "rulecheck fmt: standard input is more than the limit of {} bytes for a rule file",
                load::MAX_RULE_BYTES
            );
            return ExitCode::from(EXIT_BAD_RULES);
        }
        return match fmt_one("<stdin>", &text, mode, color) {
            Ok(None) => {
                if mode == FmtMode::Write {
                    let _ = std::io::stdout().lock().write_all(text.as_bytes());
                }
                ExitCode::SUCCESS
            }
            Ok(Some(formatted)) => {
                if mode == FmtMode::Write {
                    let _ = std::io::stdout().lock().write_all(formatted.as_bytes());
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(code) => code,
        };
    }
    let files = match rulecheck::source::find_files(paths, &[load::RULE_EXTENSION], "rule file") {
        Ok(f) => f,
        Err(p) => {
            print_problem(&p, color);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let (mut changed, mut bad) = (0usize, false);
    for path in &files {
        let name = path.display().to_string();
        let text = match rulecheck::source::read_text(path, load::MAX_RULE_BYTES) {
            Ok(t) => t,
            Err(e) => {
                let p = Problem::whole(
                    Code::Io,
                    Some(&name),
                    format!("cannot read the rule file: {e}"),
                )
                .help(e.help());
                print_problem(&p, color);
                bad = true;
                continue;
            }
        };
        match fmt_one(&name, &text, mode, color) {
            Ok(None) => {}
            Ok(Some(formatted)) => {
                changed += 1;
                if mode == FmtMode::Write
                    && let Err(e) = std::fs::write(path, formatted)
                {
                    eprintln!("rulecheck fmt: cannot write {name}: {e}");
                    bad = true;
                }
            }
            Err(_) => bad = true,
        }
    }
    if bad {
        ExitCode::from(EXIT_BAD_RULES)
    } else if changed > 0 && mode != FmtMode::Write {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Formats one source: `Some(text)` when its layout changes (listed or shown as a diff
/// in `--check` and `--diff` modes), `None` when it is already formatted.
fn fmt_one(name: &str, text: &str, mode: FmtMode, color: bool) -> Result<Option<String>, ExitCode> {
    let formatted = rulecheck::format::format_source(name, text).map_err(|problems| {
        for p in &problems {
            print_problem(p, color);
        }
        eprintln!("{name}: not formatted: it does not parse");
        ExitCode::from(EXIT_BAD_RULES)
    })?;
    if formatted == text {
        return Ok(None);
    }
    match mode {
        FmtMode::Write => {}
        FmtMode::Check => eprintln!("{name}"),
        FmtMode::Diff => {
            let diff = similar::TextDiff::from_lines(text, formatted.as_str());
            let unified = diff
                .unified_diff()
                .context_radius(3)
                .header(name, name)
                .to_string();
            let _ = std::io::stdout().lock().write_all(unified.as_bytes());
        }
    }
    Ok(Some(formatted))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn read_text(path: &std::path::Path) -> Result<String, Problem> {
    rulecheck::source::read_text(path, rulecheck::facts::MAX_SHIPMENT_BYTES).map_err(|e| {
        let code = match e {
            ReadError::Io(_) => Code::Io,
            ReadError::TooBig { .. } => Code::Limit,
            ReadError::NotUtf8 { .. } => Code::Shipment,
        };
        Problem::whole(
            code,
            Some(&path.display().to_string()),
            format!("cannot read the shipment: {e}"),
        )
        .help(e.help())
    })
}

/// Output formats of `rulecheck test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TestFormat {
    /// Failures with their explanation, then a summary line.
    Text,
    /// One JSON object with every case and the coverage.
    Json,
    /// `JUnit` XML for CI systems.
    Junit,
}

struct TestArgs {
    rules: Option<PathBuf>,
    filter: Option<String>,
    jobs: Option<usize>,
    format: TestFormat,
    update: bool,
    coverage: bool,
    min_coverage: Option<f64>,
    paths: Vec<PathBuf>,
}

fn test(args: &TestArgs, color: bool) -> ExitCode {
    use rulecheck::testing;
    let rs = match load_rules(&origin(args.rules.clone()), "no test ran", color) {
        Ok(rs) => rs,
        Err(code) => return code,
    };
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("tests/cases")]
    } else {
        args.paths.clone()
    };
    let files = match testing::discover(&paths) {
        Ok(f) => f,
        Err(p) => {
            print_problem(&p, color);
            return ExitCode::from(EXIT_BAD_SHIPMENT);
        }
    };
    let mut cases = Vec::new();
    let mut bad = false;
    for f in &files {
        match testing::load_cases(f) {
            Ok(cs) => cases.extend(cs),
            Err(p) => {
                print_problem(&p, color);
                bad = true;
            }
        }
    }
    if bad {
        return ExitCode::from(EXIT_BAD_SHIPMENT);
    }
    let total = cases.len();
    if let Some(f) = &args.filter {
        cases.retain(|c| c.id.contains(f.as_str()));
    }
    let skipped = total - cases.len();
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let results = testing::run_all(&rs, &cases, jobs);
    let failed = results.iter().filter(|r| !r.passed()).count();
    let passed = results.len() - failed;
    let cov =
        (args.coverage || args.min_coverage.is_some()).then(|| testing::coverage(&rs, &results));
    let mut out = std::io::stdout().lock();
    match args.format {
        TestFormat::Text => {
            for r in results.iter().filter(|r| !r.passed()) {
                let _ = writeln!(
                    out,
                    "FAIL {} ({}:{})",
                    r.case.id,
                    r.case.file.display(),
                    r.case.line
                );
                for f in &r.failures {
                    let _ = writeln!(out, "  {f}");
                }
                let _ = writeln!(out, "  explanation of the actual verdict:");
                for line in render::text(&r.outcome, false).lines() {
                    let _ = writeln!(out, "    {line}");
                }
                let _ = writeln!(out);
            }
            if let Some(c) = &cov {
                let _ = writeln!(out, "{}", c.table());
            }
            let _ = write!(out, "{passed} passed, {failed} failed");
            if skipped > 0 {
                let _ = write!(out, ", {skipped} skipped");
            }
            let _ = writeln!(out);
        }
        TestFormat::Json => {
            let report = serde_json::json!({
                "passed": passed,
                "failed": failed,
                "skipped": skipped,
                "cases": results.iter().map(testing::CaseReport::from).collect::<Vec<_>>(),
                "coverage": cov,
            });
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
        }
        TestFormat::Junit => {
            let _ = write!(
                out,
                "{}",
                testing::junit(&results, skipped, |o| render::text(o, false))
            );
        }
    }
    drop(out);
    if args.update && failed > 0 {
        match testing::update(&results) {
            Ok(n) => eprintln!("updated the expectations of {n} case{}", plural(n)),
            Err(p) => {
                print_problem(&p, color);
                return ExitCode::from(EXIT_BAD_SHIPMENT);
            }
        }
        return ExitCode::SUCCESS;
    }
    if let (Some(min), Some(c)) = (args.min_coverage, &cov)
        && c.percent_fired + 1e-9 < min
    {
        eprintln!(
            "coverage {:.1}% is below the minimum of {min}%",
            c.percent_fired
        );
        return ExitCode::from(1);
    }
    if failed == 0 && passed > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Output formats of `rulecheck diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DiffFormat {
    /// Transitions and every changed shipment, for people.
    Text,
    /// Everything, for tools.
    Json,
    /// A summary for a pull-request comment.
    Markdown,
}

/// Which changes make `rulecheck diff` fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FailOn {
    /// A shipment gets a less severe verdict.
    Relaxation,
    /// A shipment gets a more severe verdict.
    Escalation,
    /// Any change of verdict or of findings.
    Any,
}

struct DiffArgs {
    base: String,
    head: Option<String>,
    rules_dir: PathBuf,
    format: DiffFormat,
    fail_on: Option<FailOn>,
    limit: usize,
    jobs: Option<usize>,
    shipments: Vec<PathBuf>,
}

/// A rule set named on the command line: a directory, or the rules directory at a git
/// revision, checked out into a temporary directory that lives as long as this value.
struct RulesAt {
    origin: Origin,
    _checkout: Option<tempfile::TempDir>,
}

fn rules_at(spec: &str, rules_dir: &std::path::Path) -> Result<RulesAt, String> {
    let p = PathBuf::from(spec);
    if p.exists() {
        return Ok(RulesAt {
            origin: Origin::Disk(p),
            _checkout: None,
        });
    }
    let git = |args: &[&str]| -> Result<Vec<u8>, String> {
        let out = std::process::Command::new("git")
            .args(args)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    };
    let dir = rules_dir.display().to_string();
    let listing = git(&["ls-tree", "-r", "--name-only", spec, "--", &dir])
        .map_err(|e| format!("`{spec}` is neither a directory nor a git revision: {e}"))?;
    let names: Vec<String> = String::from_utf8_lossy(&listing)
        .lines()
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        return Err(format!("revision `{spec}` has no files under `{dir}`"));
    }
    let tmp = tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    for name in &names {
        let bytes = git(&["show", &format!("{spec}:./{name}")])?;
        let target = tmp.path().join(name);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&target, bytes).map_err(|e| e.to_string())?;
    }
    Ok(RulesAt {
        origin: Origin::Disk(tmp.path().join(rules_dir)),
        _checkout: Some(tmp),
    })
}

fn diff(args: &DiffArgs, color: bool) -> ExitCode {
    let load_side = |spec: &str| -> Result<(rulecheck::compile::RuleSet, RulesAt), ExitCode> {
        let at = rules_at(spec, &args.rules_dir).map_err(|e| {
            eprintln!("rulecheck: {e}");
            ExitCode::from(EXIT_USAGE)
        })?;
        let rs = load_rules(&at.origin, &format!("`{spec}` cannot be compared"), color)?;
        Ok((rs, at))
    };
    let head_spec = args
        .head
        .clone()
        .unwrap_or_else(|| args.rules_dir.display().to_string());
    let (base, _b) = match load_side(&args.base) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let (head, _h) = match load_side(&head_spec) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let files = match rulecheck::corpus::files(&args.shipments) {
        Ok(f) => f,
        Err(p) => {
            print_problem(&p, color);
            return ExitCode::from(EXIT_BAD_SHIPMENT);
        }
    };
    let records = files.iter().flat_map(|f| rulecheck::corpus::records(f));
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let report = match rulecheck::diff::diff(&base, &head, records, jobs) {
        Ok(r) => r,
        Err(ps) => {
            for p in &ps {
                print_problem(p, color);
            }
            eprintln!(
                "{} shipment{} could not be read: no comparison",
                ps.len(),
                plural(ps.len())
            );
            return ExitCode::from(EXIT_BAD_SHIPMENT);
        }
    };
    let rendered = match args.format {
        DiffFormat::Text => report.text(),
        DiffFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
        DiffFormat::Markdown => report.markdown(args.limit),
    };
    let _ = std::io::stdout().lock().write_all(rendered.as_bytes());
    let fail = match args.fail_on {
        None => false,
        Some(FailOn::Relaxation) => report.count(rulecheck::diff::Direction::Relaxation) > 0,
        Some(FailOn::Escalation) => report.count(rulecheck::diff::Direction::Escalation) > 0,
        Some(FailOn::Any) => !report.changes.is_empty(),
    };
    if fail {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
