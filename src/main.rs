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
use rulecheck::source::{ReadError, SourceMap};
use rulecheck::types::Date;

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
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Also say why each rule in force did not fire.
        #[arg(long)]
        explain: bool,
        /// Shipment files (YAML).
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
        /// Case files or directories (default: tests/cases).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Parse and check rule files; report every problem found.
    ///
    /// Exit status: 0 no errors (warnings may be printed), 11 errors.
    Check {
        /// Rule file or directory (default: the bundled rules).
        path: Option<PathBuf>,
    },
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
        Command::Check { path } => match load::load(&origin(path)) {
            Ok((rs, warnings)) => {
                for w in &warnings {
                    print_problem(w, color);
                }
                eprintln!(
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
                ExitCode::SUCCESS
            }
            Err(ps) => {
                for p in &ps.0 {
                    print_problem(p, color);
                }
                eprintln!("{ps}");
                ExitCode::from(EXIT_BAD_RULES)
            }
        },
        Command::Test {
            rules,
            filter,
            jobs,
            paths,
        } => test(rules, filter.as_deref(), jobs, paths, color),
        Command::Eval {
            rules,
            as_of,
            format,
            explain,
            shipments,
        } => {
            let rs = match load::load(&origin(rules)) {
                Ok((rs, _)) => rs,
                Err(ps) => {
                    for p in &ps.0 {
                        print_problem(p, color);
                    }
                    eprintln!("{ps} in the rules: no verdict");
                    return ExitCode::from(EXIT_BAD_RULES);
                }
            };
            let out_color =
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let opts = Options { as_of, explain };
            let mut worst: Option<u8> = None;
            let mut bad = false;
            let mut stdout = std::io::stdout().lock();
            for path in &shipments {
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
                let outcome = eval::evaluate(&rs, &shipment, &opts);
                let code = outcome.verdict.exit_code();
                worst = Some(worst.map_or(code, |w| w.max(code)));
                let rendered = match format {
                    Format::Text => render::text(&outcome, out_color),
                    Format::Json => render::json(&outcome) + "\n",
                };
                if stdout.write_all(rendered.as_bytes()).is_err() {
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
    }
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

fn test(
    rules: Option<PathBuf>,
    filter: Option<&str>,
    jobs: Option<usize>,
    paths: Vec<PathBuf>,
    color: bool,
) -> ExitCode {
    let rs = match load::load(&origin(rules)) {
        Ok((rs, _)) => rs,
        Err(ps) => {
            for p in &ps.0 {
                print_problem(p, color);
            }
            eprintln!("{ps} in the rules: no test ran");
            return ExitCode::from(EXIT_BAD_RULES);
        }
    };
    let paths = if paths.is_empty() {
        vec![PathBuf::from("tests/cases")]
    } else {
        paths
    };
    let files = match rulecheck::testing::discover(&paths) {
        Ok(f) => f,
        Err(p) => {
            print_problem(&p, color);
            return ExitCode::from(EXIT_BAD_SHIPMENT);
        }
    };
    let mut cases = Vec::new();
    let mut bad = false;
    for f in &files {
        match rulecheck::testing::load_cases(f) {
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
    if let Some(f) = filter {
        cases.retain(|c| c.id.contains(f));
    }
    let skipped = total - cases.len();
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let results = rulecheck::testing::run_all(&rs, &cases, jobs);
    let mut out = std::io::stdout().lock();
    let failed = results.iter().filter(|r| !r.passed()).count();
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
    let passed = results.len() - failed;
    let _ = write!(out, "{passed} passed, {failed} failed");
    if skipped > 0 {
        let _ = write!(out, ", {skipped} skipped");
    }
    let _ = writeln!(out);
    if failed == 0 && passed > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
