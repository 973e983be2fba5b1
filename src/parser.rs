//! Parsing: rule source text → typed AST. The only module that sees pest's pairs.
// pest guarantees the shape of every pair the grammar defines; each `expect` below names
// the grammar rule it relies on, so one failing is a bug in the grammar or this module.
#![allow(clippy::expect_used)]

use pest::Parser as _;
use pest::iterators::Pair;

use crate::ast::{
    CompareOp, Decl, Effective, Exception, Expr, FactDecl, File, Ident, Leaves, ListDecl, Literal,
    LiteralKind, Path, Predicate, Quantifier, Regime, Rule as RuleDecl, Scope, SetRef, Str, Term,
    TimeUnit, TypeName,
};
use crate::diagnostics::{Code, Problem, did_you_mean};
use crate::source::{FileId, SourceFile, Span};
use crate::types::{Date, Verdict};

mod grammar {
    //! The parser pest derives from `grammar/rulecheck.pest`.
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/rulecheck.pest"]
    pub struct Grammar;
}
use grammar::{Grammar, Rule};

/// Nesting depth of conditions beyond which a file is refused (the parser recurses).
pub const MAX_NESTING: usize = 64;

/// Depth of the condition tree (each parenthesis or quantifier adds a few levels).
const MAX_EXPR_DEPTH: usize = 4 * MAX_NESTING;

/// Date shifts in one value (`d + 1 month - 1 day`) beyond which a file is refused.
const MAX_SHIFTS: usize = 16;

/// Parses one rule file. A syntax error stops the file; problems in field values
/// (a bad date, a field given twice) are collected and returned together.
pub fn parse_file(file_id: FileId, file: &SourceFile) -> Result<File, Vec<Problem>> {
    if let Some(offset) = too_deep(&file.text) {
        return Err(vec![
            Problem::in_file(
                Code::Limit,
                file,
                offset,
                offset + 1,
                format!("conditions are nested more than {MAX_NESTING} levels deep"),
            )
            .label("too deep")
            .help("split the condition into named predicates"),
        ]);
    }
    let pairs = match Grammar::parse(Rule::file, &file.text) {
        Ok(p) => p,
        Err(e) => return Err(vec![syntax_error(file, &e)]),
    };
    let mut cx = Cx {
        file_id,
        file,
        problems: Vec::new(),
        depth: 0,
        too_deep_reported: false,
    };
    let mut out = File::default();
    for pair in pairs.flatten().take(1) {
        for decl in pair.into_inner() {
            if let Some(d) = cx.decl(decl) {
                out.decls.push(d);
            }
        }
    }
    if cx.problems.is_empty() {
        Ok(out)
    } else {
        Err(cx.problems)
    }
}

/// Finds the first byte at which parentheses or brackets nest too deep.
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut in_comment = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_comment {
            in_comment = c != '\n';
            continue;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '#' => in_comment = true,
            '"' => in_string = true,
            '(' | '[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Words a user knows for what the parser expected.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::block_end => "`}`",
        Rule::regime_decl
        | Rule::rule_decl
        | Rule::exception_decl
        | Rule::list_decl
        | Rule::predicate_decl
        | Rule::fact_decl => {
            "a declaration (`regime`, `rule`, `exception`, `list`, `predicate` or `fact`)"
        }
        Rule::title_field => "`title`",
        Rule::authority_field => "`authority`",
        Rule::citation_field => "`citation`",
        Rule::note_field => "`note`",
        Rule::message_field => "`message`",
        Rule::scope_field => "`scope`",
        Rule::regime_field_ref => "`regime`",
        Rule::effective_field => "`effective`",
        Rule::effective_from => "`from`",
        Rule::effective_until => "`until`",
        Rule::when_field => "`when`",
        Rule::verdict_field => "`verdict`",
        Rule::leaves_field => "`leaves`",
        Rule::relaxes_field => "`relaxes`",
        Rule::kind_field => "`kind`",
        Rule::entries_field => "`entries`",
        Rule::from_field => "`from`",
        Rule::format_field => "`format`",
        Rule::column_field => "`column`",
        Rule::aliases_field => "`aliases`",
        Rule::source_field => "`source`",
        Rule::as_of_field => "`as_of`",
        Rule::verdict => "a verdict (`prohibited`, `license_required` or `review`)",
        Rule::nothing => "`nothing`",
        Rule::everyone => "`everyone`",
        Rule::value_type => {
            "a type (`string`, `number`, `percent`, `date`, `bool`, `country`, `hs_code`, `eccn`, `entity`, `party`, `item`, `license`)"
        }
        Rule::expr
        | Rule::and_expr
        | Rule::unary
        | Rule::quantified
        | Rule::presence
        | Rule::comparison
        | Rule::membership
        | Rule::prefix_test
        | Rule::call => "a condition",
        Rule::or_op => "`or`",
        Rule::and_op => "`and`",
        Rule::not_op => "`not`",
        Rule::quantifier => "`any`, `all` or `none`",
        Rule::compare_op => "a comparison (`==`, `!=`, `<`, `<=`, `>`, `>=`, `before`, `after`)",
        Rule::present => "`present`",
        Rule::missing => "`missing`",
        Rule::starts_with => "`starts with`",
        Rule::set => "a list name or `[...]`",
        Rule::bool_lit => "`true` or `false`",
        Rule::term | Rule::ownership | Rule::count | Rule::sum => "a value",
        Rule::date_shift | Rule::shift_op => "`+` or `-`",
        Rule::duration => "a duration (e.g. `30 days`)",
        Rule::time_unit => "`days`, `months` or `years`",
        Rule::date_lit => "a date (YYYY-MM-DD)",
        Rule::percent => "a percentage (e.g. `50%`)",
        Rule::number => "a number",
        Rule::code => "a code (e.g. `RU`, `EAR99`)",
        Rule::string => "a quoted string",
        Rule::inline_list => "a list `[...]`",
        Rule::path => "a fact (e.g. `consignee.country`)",
        Rule::name | Rule::field_name => "a name",
        Rule::rule_id => "an id (e.g. `eu.833.art2a`)",
        Rule::rule_pattern => "a rule id or pattern (e.g. `eu.833.*`)",
        Rule::params => "`(`",
        Rule::param => "a parameter (`name: type`)",
        Rule::kw_in => "`in`",
        Rule::kw_is => "`is`",
        Rule::kw_where => "`where`",
        Rule::kw_of => "`of`",
        Rule::kw_by => "`by`",
        Rule::kw_for => "`for`",
        _ => return None,
    })
}

/// Keywords that start a declaration.
const DECLARATION_WORDS: &[&str] = &["regime", "rule", "exception", "list", "predicate", "fact"];

/// True when a string starting at `rest` (on its opening quote) closes on the same line.
fn string_closed_on_line(rest: &str) -> bool {
    let mut escaped = false;
    for c in rest.chars().skip(1) {
        match (escaped, c) {
            (_, '\n') => return false,
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return true,
            _ => {}
        }
    }
    false
}

/// The offset of the last `{` in `text` that no `}` closes, outside strings and comments.
fn unclosed_brace(text: &str) -> Option<usize> {
    let mut open = Vec::new();
    let (mut in_string, mut in_comment, mut escaped) = (false, false, false);
    for (i, c) in text.char_indices() {
        if in_comment {
            in_comment = c != '\n';
        } else if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"' | '\n') => in_string = false,
                _ => {}
            }
        } else {
            match c {
                '#' => in_comment = true,
                '"' => in_string = true,
                '{' => open.push(i),
                '}' => {
                    open.pop();
                }
                _ => {}
            }
        }
    }
    open.pop()
}

/// Keywords that may start a field, for "did you mean".
const FIELD_WORDS: &[&str] = &[
    "title",
    "authority",
    "citation",
    "note",
    "message",
    "scope",
    "regime",
    "effective",
    "when",
    "verdict",
    "leaves",
    "relaxes",
    "kind",
    "entries",
    "from",
    "format",
    "column",
    "aliases",
    "source",
    "as_of",
    "prohibited",
    "license_required",
    "review",
    "nothing",
    "everyone",
    "rule",
    "exception",
    "list",
    "predicate",
    "fact",
];

#[allow(clippy::indexing_slicing)] // the list of expected words is non-empty in the branches that index it
fn syntax_error(file: &SourceFile, e: &pest::error::Error<Rule>) -> Problem {
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let rest = &file.text[pos.min(file.text.len())..];
    let found: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let found_desc = if rest.is_empty() {
        "the end of the file".to_string()
    } else if found.is_empty() {
        format!("`{}`", rest.chars().next().unwrap_or(' '))
    } else {
        format!("`{found}`")
    };
    let end = pos + found.len().max(usize::from(!rest.is_empty()));
    let (message, expected) = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut words: Vec<&str> = Vec::new();
            for r in positives {
                if let Some(w) = describe(*r)
                    && !words.contains(&w)
                {
                    words.push(w);
                }
            }
            let expected = match words.len() {
                0 => "something else".to_string(),
                1 => words[0].to_string(),
                n => format!("{} or {}", words[..n - 1].join(", "), words[n - 1]),
            };
            (
                format!("unexpected {found_desc}: expected {expected}"),
                words,
            )
        }
        pest::error::ErrorVariant::CustomError { message } => (message.clone(), Vec::new()),
    };
    if let pest::error::ErrorVariant::CustomError { message } = &e.variant
        && message.contains("limit reached")
    {
        return Problem::in_file(
            Code::Limit,
            file,
            pos,
            end,
            "the rule nests too deep to be read",
        )
        .label("too deep")
        .help("split the condition into named predicates");
    }
    if rest.starts_with('"') && !string_closed_on_line(rest) {
        let line_end = rest.find('\n').map_or(file.text.len(), |n| pos + n);
        return Problem::in_file(Code::Syntax, file, pos, line_end, "this string is not closed before the end of the line")
            .label("unclosed string")
            .help("close it with `\"`; a string cannot run over several lines (write `\\n` for a line break)");
    }
    if rest.starts_with('=') && !rest.starts_with("==") {
        return Problem::in_file(Code::Syntax, file, pos, pos + 1, "`=` is not a comparison")
            .label("single `=`")
            .help("compare with `==` (or `!=`, `<`, `<=`, `>`, `>=`)");
    }
    if expected.contains(&"`}`")
        && DECLARATION_WORDS.contains(&found.as_str())
        && let Some(open) = unclosed_brace(&file.text[..pos])
    {
        let (line, _) = file.line_col(open);
        return Problem::in_file(
            Code::Syntax,
            file,
            open,
            open + 1,
            format!(
                "this `{{` is not closed: `{found}` on line {} starts a new declaration inside it",
                file.line_col(pos).0
            ),
        )
        .label("opened here")
        .help(format!(
            "add `}}` at the end of the block opened on line {line}"
        ));
    }
    let mut p = Problem::in_file(Code::Syntax, file, pos, end, message).label("not expected here");
    if !found.is_empty()
        && let Some(s) = did_you_mean(&found, FIELD_WORDS.iter().copied())
        && expected
            .iter()
            .any(|w| w.contains(&format!("`{s}`")) || w.starts_with("a declaration"))
    {
        p = p.help(format!("did you mean `{s}`?"));
    } else if expected.iter().any(|w| *w == "`}`" || w.starts_with('`')) && rest.starts_with('"') {
        p = p.help("each value needs its field keyword in front of it, e.g. `title \"...\"`");
    } else if expected.contains(&"a condition")
        && !found.is_empty()
        && found.chars().all(|c| c.is_ascii_uppercase())
    {
        p = p.help("a condition compares a fact with a value, e.g. `destination == RU`");
    }
    p
}

struct Cx<'a> {
    file_id: FileId,
    file: &'a SourceFile,
    problems: Vec<Problem>,
    depth: usize,
    too_deep_reported: bool,
}

/// Turns a "set once" field into a problem if it was already set.
macro_rules! set_once {
    ($cx:expr, $slot:expr, $value:expr, $pair_span:expr, $what:literal) => {{
        let v = $value;
        if $slot.is_some() {
            $cx.problem(
                Code::Field,
                $pair_span,
                concat!("`", $what, "` is given twice"),
                "given again here",
                Some("keep one"),
            );
        } else {
            $slot = Some(v);
        }
    }};
}

impl Cx<'_> {
    fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.file_id, s.start(), s.end())
    }

    fn problem(&mut self, code: Code, span: Span, msg: &str, label: &str, help: Option<&str>) {
        let mut p = Problem::in_file(code, self.file, span.start as usize, span.end as usize, msg)
            .label(label);
        if let Some(h) = help {
            p = p.help(h);
        }
        self.problems.push(p);
    }

    fn ident(&self, p: &Pair<'_, Rule>) -> Ident {
        Ident {
            name: p.as_str().to_string(),
            span: self.span(p),
        }
    }

    fn string(&mut self, p: &Pair<'_, Rule>) -> Str {
        let span = self.span(p);
        let inner = p
            .clone()
            .into_inner()
            .next()
            .expect("grammar: a string has an inner part");
        let base = inner.as_span().start();
        let raw = inner.as_str();
        let mut value = String::with_capacity(raw.len());
        let mut offsets = Vec::with_capacity(raw.len());
        let mut chars = raw.char_indices();
        while let Some((i, c)) = chars.next() {
            let off = u32::try_from(base + i).unwrap_or(u32::MAX);
            if c == '\\' {
                match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, 't')) => value.push('\t'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((j, other)) => {
                        let s = Span::new(self.file_id, base + i, base + j + other.len_utf8());
                        self.problem(
                            Code::Syntax,
                            s,
                            &format!("unknown escape `\\{other}` in a string"),
                            "unknown escape",
                            Some("the escapes are `\\\"`, `\\\\`, `\\n` and `\\t`"),
                        );
                    }
                    None => {}
                }
            } else {
                value.push(c);
            }
            offsets.push(off);
        }
        Str {
            value,
            span,
            offsets,
        }
    }

    fn date(&mut self, p: &Pair<'_, Rule>) -> Option<(Date, Span)> {
        let span = self.span(p);
        match Date::parse_from_str(p.as_str(), "%Y-%m-%d") {
            Ok(d) => Some((d, span)),
            Err(_) => {
                self.problem(
                    Code::Type,
                    span,
                    &format!("`{}` is not a date", p.as_str()),
                    "no such day",
                    Some("dates are written YYYY-MM-DD, e.g. `2024-03-20`"),
                );
                None
            }
        }
    }

    fn type_name(&self, p: &Pair<'_, Rule>) -> (TypeName, Span) {
        (
            TypeName::from_keyword(p.as_str()).expect("grammar: value_type is a known keyword"),
            self.span(p),
        )
    }

    fn verdict(&self, p: &Pair<'_, Rule>) -> (Verdict, Span) {
        (
            p.as_str()
                .parse()
                .expect("grammar: verdict is a known keyword"),
            self.span(p),
        )
    }

    fn decl(&mut self, p: Pair<'_, Rule>) -> Option<Decl> {
        match p.as_rule() {
            Rule::regime_decl => Some(Decl::Regime(self.regime(p))),
            Rule::rule_decl => Some(Decl::Rule(self.rule(p))),
            Rule::exception_decl => Some(Decl::Exception(self.exception(p))),
            Rule::list_decl => Some(Decl::List(self.list(p))),
            Rule::predicate_decl => Some(Decl::Predicate(self.predicate(p))),
            Rule::fact_decl => Some(Decl::Fact(self.fact(p))),
            Rule::EOI => None,
            r => unreachable!("grammar: unexpected declaration {r:?}"),
        }
    }

    fn effective(&mut self, p: Pair<'_, Rule>) -> Effective {
        let span = self.span(&p);
        let mut e = Effective {
            from: None,
            until: None,
            span,
        };
        for part in p.into_inner() {
            let date = part
                .clone()
                .into_inner()
                .next()
                .expect("grammar: from/until has a date");
            let d = self.date(&date);
            match part.as_rule() {
                Rule::effective_from => e.from = d,
                _ => e.until = d,
            }
        }
        e
    }

    fn regime(&mut self, p: Pair<'_, Rule>) -> Regime {
        let span = self.span(&p);
        let mut inner = p.into_inner().filter(|x| x.as_rule() != Rule::block_end);
        let name = self.ident(&inner.next().expect("grammar: regime has a name"));
        let mut r = Regime {
            name,
            title: None,
            authority: None,
            scope: None,
            notes: Vec::new(),
            span,
        };
        for f in inner {
            let fs = self.span(&f);
            let v = f
                .clone()
                .into_inner()
                .next()
                .expect("grammar: field has a value");
            match f.as_rule() {
                Rule::title_field => set_once!(self, r.title, self.string(&v), fs, "title"),
                Rule::authority_field => {
                    set_once!(self, r.authority, self.string(&v), fs, "authority");
                }
                Rule::note_field => r.notes.push(self.string(&v)),
                Rule::scope_field => {
                    let scope = if v.as_rule() == Rule::everyone {
                        Scope::Everyone(self.span(&v))
                    } else {
                        Scope::When(self.expr(v))
                    };
                    set_once!(self, r.scope, scope, fs, "scope");
                }
                other => unreachable!("grammar: unexpected regime field {other:?}"),
            }
        }
        r
    }

    fn rule(&mut self, p: Pair<'_, Rule>) -> RuleDecl {
        let span = self.span(&p);
        let mut inner = p.into_inner().filter(|x| x.as_rule() != Rule::block_end);
        let id = self.ident(&inner.next().expect("grammar: rule has an id"));
        let mut r = RuleDecl {
            id,
            regime: None,
            title: None,
            citation: None,
            effective: None,
            when: None,
            verdict: None,
            message: None,
            notes: Vec::new(),
            span,
        };
        for f in inner {
            let fs = self.span(&f);
            if f.as_rule() == Rule::effective_field {
                set_once!(self, r.effective, self.effective(f), fs, "effective");
                continue;
            }
            let v = f
                .clone()
                .into_inner()
                .next()
                .expect("grammar: field has a value");
            match f.as_rule() {
                Rule::regime_field_ref => set_once!(self, r.regime, self.ident(&v), fs, "regime"),
                Rule::title_field => set_once!(self, r.title, self.string(&v), fs, "title"),
                Rule::citation_field => {
                    set_once!(self, r.citation, self.string(&v), fs, "citation");
                }
                Rule::when_field => set_once!(self, r.when, self.expr(v), fs, "when"),
                Rule::verdict_field => set_once!(self, r.verdict, self.verdict(&v), fs, "verdict"),
                Rule::message_field => set_once!(self, r.message, self.string(&v), fs, "message"),
                Rule::note_field => r.notes.push(self.string(&v)),
                other => unreachable!("grammar: unexpected rule field {other:?}"),
            }
        }
        r
    }

    fn exception(&mut self, p: Pair<'_, Rule>) -> Exception {
        let span = self.span(&p);
        let mut inner = p.into_inner().filter(|x| x.as_rule() != Rule::block_end);
        let id = self.ident(&inner.next().expect("grammar: exception has an id"));
        let mut x = Exception {
            id,
            relaxes: Vec::new(),
            title: None,
            citation: None,
            effective: None,
            when: None,
            leaves: None,
            notes: Vec::new(),
            span,
        };
        for f in inner {
            let fs = self.span(&f);
            match f.as_rule() {
                Rule::effective_field => {
                    set_once!(self, x.effective, self.effective(f), fs, "effective");
                    continue;
                }
                Rule::relaxes_field => {
                    if !x.relaxes.is_empty() {
                        self.problem(
                            Code::Field,
                            fs,
                            "`relaxes` is given twice",
                            "given again here",
                            Some("list all rules in one `relaxes` field, separated by commas"),
                        );
                    }
                    x.relaxes = f.into_inner().map(|r| self.ident(&r)).collect();
                    continue;
                }
                _ => {}
            }
            let v = f
                .clone()
                .into_inner()
                .next()
                .expect("grammar: field has a value");
            match f.as_rule() {
                Rule::title_field => set_once!(self, x.title, self.string(&v), fs, "title"),
                Rule::citation_field => {
                    set_once!(self, x.citation, self.string(&v), fs, "citation");
                }
                Rule::when_field => set_once!(self, x.when, self.expr(v), fs, "when"),
                Rule::leaves_field => {
                    let l = if v.as_rule() == Rule::nothing {
                        (Leaves::Nothing, self.span(&v))
                    } else {
                        let (verdict, s) = self.verdict(&v);
                        (Leaves::Verdict(verdict), s)
                    };
                    set_once!(self, x.leaves, l, fs, "leaves");
                }
                Rule::note_field => x.notes.push(self.string(&v)),
                other => unreachable!("grammar: unexpected exception field {other:?}"),
            }
        }
        x
    }

    fn list(&mut self, p: Pair<'_, Rule>) -> ListDecl {
        let span = self.span(&p);
        let mut inner = p.into_inner().filter(|x| x.as_rule() != Rule::block_end);
        let name = self.ident(&inner.next().expect("grammar: list has a name"));
        let mut l = ListDecl {
            name,
            kind: None,
            title: None,
            entries: None,
            from: Vec::new(),
            format: None,
            column: None,
            aliases: None,
            source: None,
            as_of: None,
            notes: Vec::new(),
            span,
        };
        for f in inner {
            let fs = self.span(&f);
            if f.as_rule() == Rule::from_field {
                if !l.from.is_empty() {
                    self.problem(
                        Code::Field,
                        fs,
                        "`from` is given twice",
                        "given again here",
                        Some("list all data files in one `from` field, separated by commas"),
                    );
                }
                l.from = f.into_inner().map(|s| self.string(&s)).collect();
                continue;
            }
            let v = f
                .clone()
                .into_inner()
                .next()
                .expect("grammar: field has a value");
            match f.as_rule() {
                Rule::kind_field => set_once!(self, l.kind, self.type_name(&v), fs, "kind"),
                Rule::title_field => set_once!(self, l.title, self.string(&v), fs, "title"),
                Rule::entries_field => {
                    let es = self.span(&v);
                    let lits = v.into_inner().map(|x| self.literal(&x)).collect();
                    set_once!(self, l.entries, (lits, es), fs, "entries");
                }
                Rule::format_field => set_once!(self, l.format, self.ident(&v), fs, "format"),
                Rule::column_field => set_once!(self, l.column, self.string(&v), fs, "column"),
                Rule::aliases_field => set_once!(self, l.aliases, self.string(&v), fs, "aliases"),
                Rule::source_field => set_once!(self, l.source, self.string(&v), fs, "source"),
                Rule::as_of_field => {
                    if let Some(d) = self.date(&v) {
                        set_once!(self, l.as_of, d, fs, "as_of");
                    }
                }
                Rule::note_field => l.notes.push(self.string(&v)),
                other => unreachable!("grammar: unexpected list field {other:?}"),
            }
        }
        l
    }

    fn predicate(&mut self, p: Pair<'_, Rule>) -> Predicate {
        let span = self.span(&p);
        let mut inner = p
            .into_inner()
            .filter(|x| x.as_rule() != Rule::block_end)
            .peekable();
        let name = self.ident(&inner.next().expect("grammar: predicate has a name"));
        let mut params = Vec::new();
        if inner.peek().is_some_and(|x| x.as_rule() == Rule::params) {
            for param in inner.next().expect("peeked").into_inner() {
                let ps = self.span(&param);
                let mut parts = param.into_inner();
                let n = self.ident(&parts.next().expect("grammar: param has a name"));
                let (t, _) = self.type_name(&parts.next().expect("grammar: param has a type"));
                params.push((n, t, ps));
            }
        }
        let mut pr = Predicate {
            name,
            params,
            title: None,
            when: None,
            notes: Vec::new(),
            span,
        };
        for f in inner {
            let fs = self.span(&f);
            let v = f
                .clone()
                .into_inner()
                .next()
                .expect("grammar: field has a value");
            match f.as_rule() {
                Rule::title_field => set_once!(self, pr.title, self.string(&v), fs, "title"),
                Rule::when_field => set_once!(self, pr.when, self.expr(v), fs, "when"),
                Rule::note_field => pr.notes.push(self.string(&v)),
                other => unreachable!("grammar: unexpected predicate field {other:?}"),
            }
        }
        pr
    }

    fn fact(&mut self, p: Pair<'_, Rule>) -> FactDecl {
        let span = self.span(&p);
        let mut inner = p.into_inner();
        let path = self.path(&inner.next().expect("grammar: fact has a path"));
        let ty = self.type_name(&inner.next().expect("grammar: fact has a type"));
        let description = inner.next().map(|s| self.string(&s));
        FactDecl {
            path,
            ty,
            description,
            span,
        }
    }

    fn path(&self, p: &Pair<'_, Rule>) -> Path {
        Path {
            segments: p.clone().into_inner().map(|s| self.ident(&s)).collect(),
            span: self.span(p),
        }
    }

    fn literal(&mut self, p: &Pair<'_, Rule>) -> Literal {
        let span = self.span(p);
        let (kind, text) = match p.as_rule() {
            Rule::date_lit => (LiteralKind::Date, p.as_str().to_string()),
            Rule::percent => (
                LiteralKind::Percent,
                p.as_str().trim_end_matches('%').to_string(),
            ),
            Rule::number => (LiteralKind::Number, p.as_str().to_string()),
            Rule::code => (LiteralKind::Code, p.as_str().to_string()),
            Rule::string => (LiteralKind::String, self.string(p).value),
            r => unreachable!("grammar: unexpected literal {r:?}"),
        };
        Literal { kind, text, span }
    }

    fn expr(&mut self, p: Pair<'_, Rule>) -> Expr {
        // Nesting (parentheses, quantifiers) is bounded so that every later pass can
        // recurse over the tree without running out of stack.
        if self.depth >= MAX_EXPR_DEPTH {
            if !self.too_deep_reported {
                self.too_deep_reported = true;
                let span = self.span(&p);
                let mut problem = Problem::in_file(
                    Code::Limit,
                    self.file,
                    span.start as usize,
                    span.start as usize + 1,
                    format!("conditions are nested more than {MAX_NESTING} levels deep"),
                )
                .label("too deep");
                problem = problem.help("split the condition into named predicates");
                self.problems.push(problem);
            }
            return Expr::Bool(false, self.span(&p));
        }
        self.depth += 1;
        let e = self.expr_inner(p);
        self.depth -= 1;
        e
    }

    fn expr_inner(&mut self, p: Pair<'_, Rule>) -> Expr {
        match p.as_rule() {
            Rule::expr | Rule::and_expr => {
                let is_or = p.as_rule() == Rule::expr;
                let parts = p
                    .into_inner()
                    .filter(|x| !matches!(x.as_rule(), Rule::or_op | Rule::and_op));
                let mut operands: Vec<Expr> = parts.map(|x| self.expr(x)).collect();
                if operands.len() == 1 {
                    return operands.pop().expect("checked: one operand");
                }
                let first = operands.first().expect("checked: two or more");
                let span = first
                    .span()
                    .to(operands.last().expect("checked: two or more").span());
                if is_or {
                    Expr::Or(operands, span)
                } else {
                    Expr::And(operands, span)
                }
            }
            Rule::unary => {
                let span = self.span(&p);
                let parts: Vec<_> = p.into_inner().collect();
                let (last, nots) = parts
                    .split_last()
                    .expect("grammar: unary ends with a primary");
                let inner = self.expr(last.clone());
                // `not not x` is `x`: only the parity of a run of `not`s matters, so a
                // long run never builds a deep tree.
                if nots.len() % 2 == 1 {
                    Expr::Not(Box::new(inner), span)
                } else {
                    inner
                }
            }
            Rule::quantified => {
                let span = self.span(&p);
                let mut it = p.into_inner();
                let q = match it.next().expect("grammar: quantifier").as_str() {
                    "any" => Quantifier::Any,
                    "all" => Quantifier::All,
                    _ => Quantifier::None,
                };
                let var = self.ident(&it.next().expect("grammar: quantified variable"));
                let _in = it.next();
                let collection = self.path(&it.next().expect("grammar: quantified collection"));
                let _where = it.next();
                let body = self.expr(it.next().expect("grammar: quantified body"));
                Expr::Quantified {
                    quantifier: q,
                    var,
                    collection,
                    body: Box::new(body),
                    span,
                }
            }
            Rule::presence => {
                let span = self.span(&p);
                let mut it = p.into_inner();
                let path = self.path(&it.next().expect("grammar: presence path"));
                let _is = it.next();
                let missing =
                    it.next().expect("grammar: present/missing").as_rule() == Rule::missing;
                Expr::Presence {
                    path,
                    missing,
                    span,
                }
            }
            Rule::comparison => {
                let span = self.span(&p);
                let mut it = p.into_inner();
                let lhs = self.term(it.next().expect("grammar: comparison lhs"));
                let op_pair = it.next().expect("grammar: comparison op");
                let op = match op_pair.as_str() {
                    "==" => CompareOp::Eq,
                    "!=" => CompareOp::Ne,
                    "<" => CompareOp::Lt,
                    "<=" => CompareOp::Le,
                    ">" => CompareOp::Gt,
                    ">=" => CompareOp::Ge,
                    _ => match op_pair.into_inner().next().map(|x| x.as_rule()) {
                        Some(Rule::before) => CompareOp::Lt,
                        Some(Rule::after) => CompareOp::Gt,
                        Some(Rule::on_or_before) => CompareOp::Le,
                        _ => CompareOp::Ge,
                    },
                };
                let rhs = self.term(it.next().expect("grammar: comparison rhs"));
                Expr::Compare(Box::new(lhs), op, Box::new(rhs), span)
            }
            Rule::membership => {
                let span = self.span(&p);
                let mut it = p.into_inner();
                let term = self.term(it.next().expect("grammar: membership term"));
                let mut next = it.next().expect("grammar: membership keyword");
                let negated = next.as_rule() == Rule::not_op;
                if negated {
                    next = it.next().expect("grammar: `in` after `not`");
                }
                debug_assert_eq!(next.as_rule(), Rule::kw_in);
                let set = self.set(it.next().expect("grammar: membership set"));
                Expr::In {
                    term: Box::new(term),
                    negated,
                    set,
                    span,
                }
            }
            Rule::prefix_test => {
                let span = self.span(&p);
                let mut it = p.into_inner();
                let term = self.term(it.next().expect("grammar: prefix term"));
                let _sw = it.next();
                let set = self.set(it.next().expect("grammar: prefix set"));
                Expr::StartsWith(Box::new(term), set, span)
            }
            Rule::call => {
                let span = self.span(&p);
                let mut it = p.into_inner();
                let name = self.ident(&it.next().expect("grammar: call name"));
                let args = it.map(|a| self.path(&a)).collect();
                Expr::Call(name, args, span)
            }
            Rule::bool_lit => Expr::Bool(p.as_str() == "true", self.span(&p)),
            Rule::path => Expr::Path(self.path(&p)),
            r => unreachable!("grammar: unexpected condition {r:?}"),
        }
    }

    fn set(&mut self, p: Pair<'_, Rule>) -> SetRef {
        let inner = p.into_inner().next().expect("grammar: set has content");
        match inner.as_rule() {
            Rule::inline_list => {
                let span = self.span(&inner);
                SetRef::Inline(inner.into_inner().map(|x| self.literal(&x)).collect(), span)
            }
            _ => SetRef::Named(self.path(&inner)),
        }
    }

    fn term(&mut self, p: Pair<'_, Rule>) -> Term {
        debug_assert_eq!(p.as_rule(), Rule::term);
        let mut it = p.into_inner();
        let atom = it.next().expect("grammar: term has an atom");
        let mut t = self.term_atom(atom);
        for (n, shift) in it.enumerate() {
            let span = t.span().to(self.span(&shift));
            if n == MAX_SHIFTS {
                self.problem(
                    Code::Limit,
                    self.span(&shift),
                    &format!("more than {MAX_SHIFTS} date shifts in one value"),
                    "too many",
                    Some("add the durations up: `+ 3 months` rather than `+ 1 month + 1 month + 1 month`"),
                );
            }
            if n >= MAX_SHIFTS {
                continue;
            }
            let mut parts = shift.into_inner();
            let sign = parts.next().expect("grammar: shift sign").as_str();
            let duration = parts.next().expect("grammar: shift duration");
            let mut d = duration.into_inner();
            let n_pair = d.next().expect("grammar: duration number");
            let unit = match d.next().expect("grammar: duration unit").as_str() {
                "day" | "days" => TimeUnit::Days,
                "month" | "months" => TimeUnit::Months,
                _ => TimeUnit::Years,
            };
            // At most a thousand years either way: every shifted date stays a date.
            let max = match unit {
                TimeUnit::Days => 366_000,
                TimeUnit::Months => 12_000,
                TimeUnit::Years => 1_000,
            };
            let amount = match n_pair.as_str().parse::<i64>() {
                Ok(n) if n.abs() <= max => n,
                _ => {
                    self.problem(
                        Code::Limit,
                        self.span(&n_pair),
                        &format!(
                            "`{}` is not a whole number of days, months or years within a thousand years",
                            n_pair.as_str()
                        ),
                        "not a usable duration",
                        Some("write a whole number, e.g. `30 days`"),
                    );
                    0
                }
            };
            t = Term::Shift {
                base: Box::new(t),
                amount: if sign == "-" { -amount } else { amount },
                unit,
                span,
            };
        }
        t
    }

    fn term_atom(&mut self, p: Pair<'_, Rule>) -> Term {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::ownership => {
                let mut it = p.into_inner().filter(|x| {
                    x.as_rule() != Rule::kw_ownership
                        && x.as_rule() != Rule::kw_of
                        && x.as_rule() != Rule::kw_by
                });
                let party = self.path(&it.next().expect("grammar: ownership party"));
                let list = self.ident(&it.next().expect("grammar: ownership list"));
                Term::Ownership { party, list, span }
            }
            Rule::count => {
                let mut it = p.into_inner().filter(|x| {
                    !matches!(x.as_rule(), Rule::kw_count | Rule::kw_in | Rule::kw_where)
                });
                let var = self.ident(&it.next().expect("grammar: count variable"));
                let collection = self.path(&it.next().expect("grammar: count collection"));
                let filter = it.next().map(|b| Box::new(self.expr(b)));
                Term::Count {
                    var,
                    collection,
                    filter,
                    span,
                }
            }
            Rule::sum => {
                let mut it = p.into_inner().filter(|x| {
                    !matches!(
                        x.as_rule(),
                        Rule::kw_sum | Rule::kw_for | Rule::kw_in | Rule::kw_where
                    )
                });
                let value = self.path(&it.next().expect("grammar: sum value"));
                let var = self.ident(&it.next().expect("grammar: sum variable"));
                let collection = self.path(&it.next().expect("grammar: sum collection"));
                let filter = it.next().map(|b| Box::new(self.expr(b)));
                Term::Sum {
                    value,
                    var,
                    collection,
                    filter,
                    span,
                }
            }
            Rule::path => Term::Path(self.path(&p)),
            _ => Term::Literal(self.literal(&p)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceMap;

    fn parse(src: &str) -> Result<File, Vec<Problem>> {
        let mut map = SourceMap::default();
        let id = map.add("t.rc", src);
        parse_file(id, map.file(id))
    }

    #[test]
    fn precedence_not_and_or() {
        let f = parse("predicate p { when not a and b or c }").unwrap();
        let Decl::Predicate(p) = &f.decls[0] else {
            panic!("expected a predicate")
        };
        let Some(Expr::Or(operands, _)) = &p.when else {
            panic!("`or` binds loosest: {:?}", p.when)
        };
        let Expr::And(conj, _) = &operands[0] else {
            panic!("`and` binds tighter than `or`")
        };
        assert!(matches!(conj[0], Expr::Not(..)));
    }

    #[test]
    fn literals_take_their_lexical_kind() {
        let f = parse("list l { kind hs_code entries [8542.31, 8542] } list c { kind country entries [RU, BY] }")
            .unwrap();
        let Decl::List(l) = &f.decls[0] else {
            panic!("expected a list")
        };
        let (lits, _) = l.entries.as_ref().unwrap();
        assert_eq!(lits[0].kind, LiteralKind::Number);
        assert_eq!(lits[0].text, "8542.31");
    }

    #[test]
    fn syntax_errors_use_words() {
        let e = parse("rule a.b { titel \"x\" }").unwrap_err();
        assert!(
            e[0].message.contains("unexpected `titel`"),
            "{}",
            e[0].message
        );
        assert_eq!(e[0].help.as_deref(), Some("did you mean `title`?"));
    }
}
