//! Formatting: a parsed rule file and its comments → the canonical text (`rulecheck fmt`).
//!
//! The formatter changes layout only. Every token of the source is written again, in
//! the same order and with the same spelling (`before` stays `before`, `((x))` keeps its
//! parentheses, strings are copied byte for byte); only the white space between tokens
//! and the place of comments on their lines change. The AST says where a declaration,
//! a field or a condition begins and ends, so that the layout follows the structure;
//! a small lexer gives the tokens and the comments, which the grammar drops.
//!
//! Layout (see `docs/fmt.md`): one blank line between declarations (none between
//! consecutive `fact` lines), fields one per line indented by two spaces in the order
//! written, inline lists filling their lines, and conditions broken at their outermost
//! `and`/`or` as the bundled rules are: a top-level chain puts one operand per line with the operators right-aligned
//! under the first operand, unless every operand is a bare name or call and the line
//! fits in [`WIDTH`] columns; a chain inside parentheses or under another operator
//! stays on one line when it fits, and otherwise continues at the column of its first
//! operand, each line starting with the operator.
//!
//! As a safety net the result is parsed again and compared with the source, ignoring
//! spans, and its comments with the source's: a difference is reported, never written.

use crate::ast::{Decl, Effective, Expr, File, SetRef, Str, Term};
use crate::diagnostics::{Code, Problem};
use crate::source::{SourceMap, Span};

/// Line width the formatter fits conditions into. Strings are never broken, so a line
/// with a long string may be longer.
pub const WIDTH: usize = 100;

/// Indent of the fields of a declaration.
const INDENT: usize = 2;

/// Formats one rule file. `name` is used in diagnostics. A file that does not parse is
/// refused with the parser's located problems.
pub fn format_source(name: &str, text: &str) -> Result<String, Vec<Problem>> {
    let mut map = SourceMap::default();
    let id = map.add(name, text);
    let file = crate::parser::parse_file(id, map.file(id))?;
    let formatted = format_file(&file, text).ok_or_else(|| vec![internal(name)])?;
    // The safety net: the result must mean the same and keep every comment.
    let mut again = SourceMap::default();
    let id2 = again.add(name, formatted.as_str());
    match crate::parser::parse_file(id2, again.file(id2)) {
        Ok(reparsed)
            if crate::ast::without_spans(&reparsed) == crate::ast::without_spans(&file)
                && comment_texts(&formatted) == comment_texts(text) =>
        {
            Ok(formatted)
        }
        _ => Err(vec![internal(name)]),
    }
}

fn internal(name: &str) -> Problem {
    Problem::whole(
        Code::Syntax,
        Some(name),
        "the formatter could not lay this file out without changing it, so it was left as it is",
    )
    .help("this is a bug in `rulecheck fmt`: please report it with the file")
}

/// The texts of the comments of a rule source, in order (`#` included, trailing blanks
/// removed): what formatting must keep.
#[must_use]
pub fn comment_texts(text: &str) -> Vec<String> {
    lex(text)
        .comments
        .iter()
        .map(|c| comment_text(text, c).to_string())
        .collect()
}

fn comment_text<'a>(src: &'a str, c: &Comment) -> &'a str {
    src.get(c.start..c.end).unwrap_or("").trim_end()
}

/// Formats a parsed file given its source; `None` if the tokens do not match the AST
/// (a bug: the caller reports it).
fn format_file(file: &File, src: &str) -> Option<String> {
    let lexed = lex(src);
    let mut b = Builder {
        src,
        lx: &lexed,
        next: 0,
        next_comment: 0,
        top_level: true,
        broken: false,
    };
    let mut out = Vec::new();
    let mut previous: Option<&Decl> = None;
    for d in &file.decls {
        if let Some(p) = previous {
            if matches!((p, d), (Decl::Fact(_), Decl::Fact(_))) {
                out.push(Doc::HardLine);
            } else {
                out.push(Doc::BlankLine);
            }
        }
        b.decl(d, &mut out);
        previous = Some(d);
    }
    if b.next_comment < lexed.comments.len() && !file.decls.is_empty() {
        out.push(Doc::BlankLine);
    }
    b.top_level = true;
    b.own_line_comments(usize::MAX, &mut out);
    if b.broken || b.next != lexed.toks.len() {
        return None;
    }
    Some(print(&Doc::Concat(out)))
}

// ---- lexer -------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    Str,
    Punct,
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy)]
struct Comment {
    start: usize,
    end: usize,
    /// Nothing but blanks before it on its line.
    own_line: bool,
    /// A blank line follows it.
    blank_after: bool,
    /// The number of tokens before it.
    before_tok: usize,
}

struct Lexed {
    toks: Vec<Tok>,
    comments: Vec<Comment>,
    /// For each `(` token, the start of its matching `)`.
    close: Vec<Option<usize>>,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '*' | '%')
}

/// Splits a source into tokens and comments. It runs on text the parser accepted, so it
/// only needs to tell tokens apart, not to validate them.
fn lex(src: &str) -> Lexed {
    let bytes: Vec<(usize, char)> = src.char_indices().collect();
    let at = |i: usize| bytes.get(i).map(|&(_, c)| c);
    let off = |i: usize| bytes.get(i).map_or(src.len(), |&(o, _)| o);
    let mut toks: Vec<Tok> = Vec::new();
    let mut comments = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let start = off(i);
        if c.is_whitespace() || c == '\u{FEFF}' {
            i += 1;
        } else if c == '#' {
            let line_start = src
                .get(..start)
                .and_then(|s| s.rfind('\n'))
                .map_or(0, |n| n + 1);
            let own_line = src
                .get(line_start..start)
                .is_some_and(|s| s.trim().is_empty());
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
            let end = off(i);
            // A blank line after it: the next line holds only blanks.
            let rest = src.get(end..).unwrap_or("");
            let blank_after = rest.split('\n').nth(1).is_some_and(|l| l.trim().is_empty());
            comments.push(Comment {
                start,
                end,
                own_line,
                blank_after,
                before_tok: toks.len(),
            });
        } else if c == '"' {
            i += 1;
            let mut escaped = false;
            while let Some(c) = at(i) {
                i += 1;
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"' | '\n') => break,
                    _ => {}
                }
            }
            toks.push(Tok {
                kind: Kind::Str,
                start,
                end: off(i),
            });
        } else if is_word_char(c)
            || (c == '-'
                && at(i + 1).is_some_and(|d| d.is_ascii_digit())
                && !toks.last().is_some_and(|t| ends_value(src, t)))
        {
            i += 1;
            loop {
                match at(i) {
                    Some(d) if is_word_char(d) => i += 1,
                    // dates: `2024-03-20`
                    Some('-')
                        if at(i + 1).is_some_and(|d| d.is_ascii_digit())
                            && is_date_prefix(src.get(start..off(i)).unwrap_or("")) =>
                    {
                        i += 1;
                    }
                    _ => break,
                }
            }
            toks.push(Tok {
                kind: Kind::Word,
                start,
                end: off(i),
            });
        } else {
            let two = matches!((c, at(i + 1)), ('=' | '!' | '<' | '>', Some('=')));
            i += if two { 2 } else { 1 };
            toks.push(Tok {
                kind: Kind::Punct,
                start,
                end: off(i),
            });
        }
    }
    let mut close = vec![None; toks.len()];
    let mut open = Vec::new();
    for (n, t) in toks.iter().enumerate() {
        match src.get(t.start..t.end) {
            Some("(") => open.push(n),
            Some(")") => {
                if let Some(o) = open.pop()
                    && let Some(slot) = close.get_mut(o)
                {
                    *slot = Some(t.start);
                }
            }
            _ => {}
        }
    }
    Lexed {
        toks,
        comments,
        close,
    }
}

/// True when a `-` after this token is an operator rather than a sign.
fn ends_value(src: &str, t: &Tok) -> bool {
    match t.kind {
        Kind::Word | Kind::Str => true,
        Kind::Punct => matches!(src.get(t.start..t.end), Some(")" | "]")),
    }
}

fn is_date_prefix(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    match b.len() {
        4 => digits(b),
        7 => {
            b.get(..4).is_some_and(digits)
                && b.get(4) == Some(&b'-')
                && b.get(5..).is_some_and(digits)
        }
        _ => false,
    }
}

// ---- documents and the printer -----------------------------------------------------

/// A layout document, after Wadler's "prettier printer": groups print flat when they fit.
#[derive(Debug, Clone)]
enum Doc {
    Text(String),
    /// One space, dropped at the start of a line.
    Space,
    /// A space in a flat group, or a new line at the indent less `dedent`.
    Break {
        dedent: usize,
    },
    /// Always a new line.
    HardLine,
    /// A new line and one empty line.
    BlankLine,
    Concat(Vec<Doc>),
    Group {
        force: bool,
        docs: Vec<Doc>,
    },
    /// Sets the indent to the current column.
    Align(Vec<Doc>),
    Indent(usize, Vec<Doc>),
    Comment {
        text: String,
        trailing: bool,
        blank_after: bool,
    },
}

fn has_hard(docs: &[Doc]) -> bool {
    docs.iter().any(|d| match d {
        Doc::HardLine | Doc::BlankLine | Doc::Comment { .. } => true,
        Doc::Concat(v) | Doc::Align(v) | Doc::Indent(_, v) => has_hard(v),
        Doc::Group { force, docs } => *force || has_hard(docs),
        Doc::Text(_) | Doc::Space | Doc::Break { .. } => false,
    })
}

fn group(force: bool, docs: Vec<Doc>) -> Doc {
    Doc::Group {
        force: force || has_hard(&docs),
        docs,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

struct Printer {
    out: String,
    /// Characters written on the current line (indent included).
    col: usize,
    /// Nothing written on the current line yet.
    line_empty: bool,
    /// The indent the current line gets when something is written on it.
    pending: usize,
    /// A trailing comment ended the line: the next text goes on a new line.
    need_newline: bool,
}

impl Printer {
    fn column(&self, indent: usize) -> usize {
        if self.need_newline {
            indent
        } else if self.line_empty {
            self.pending
        } else {
            self.col
        }
    }

    fn text(&mut self, indent: usize, s: &str) {
        if self.need_newline {
            self.newline(indent);
        }
        if self.line_empty {
            self.out.extend(std::iter::repeat_n(' ', self.pending));
            self.col = self.pending;
            self.line_empty = false;
        }
        self.out.push_str(s);
        self.col += s.chars().count();
    }

    fn space(&mut self) {
        if !self.line_empty && !self.need_newline {
            self.out.push(' ');
            self.col += 1;
        }
    }

    fn newline(&mut self, indent: usize) {
        if !self.line_empty {
            self.out.push('\n');
            self.line_empty = true;
        }
        self.need_newline = false;
        self.pending = indent;
    }

    fn blank_line(&mut self, indent: usize) {
        self.newline(indent);
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    fn comment(&mut self, indent: usize, text: &str, trailing: bool, blank_after: bool) {
        if trailing {
            if self.line_empty {
                // The line was broken before the comment's token came: it still belongs
                // at the end of the line above.
                if self.out.ends_with('\n') && !self.out.ends_with("\n\n") {
                    self.out.pop();
                    self.out.push(' ');
                    self.out.push_str(text);
                    self.out.push('\n');
                    return;
                }
            } else {
                self.out.push(' ');
                self.out.push_str(text);
                self.need_newline = true;
                return;
            }
        }
        if !self.line_empty {
            self.newline(indent);
        }
        self.need_newline = false;
        self.out.extend(std::iter::repeat_n(' ', self.pending));
        self.out.push_str(text);
        self.out.push('\n');
        if blank_after {
            self.out.push('\n');
        }
    }
}

fn print(doc: &Doc) -> String {
    let mut p = Printer {
        out: String::new(),
        col: 0,
        line_empty: true,
        pending: 0,
        need_newline: false,
    };
    let mut stack: Vec<(usize, Mode, &Doc)> = vec![(0, Mode::Break, doc)];
    while let Some((indent, mode, d)) = stack.pop() {
        match d {
            Doc::Text(s) => p.text(indent, s),
            Doc::Space => p.space(),
            Doc::Break { dedent } => match mode {
                Mode::Flat => p.space(),
                Mode::Break => p.newline(indent.saturating_sub(*dedent)),
            },
            Doc::HardLine => p.newline(indent),
            Doc::BlankLine => p.blank_line(indent),
            Doc::Concat(v) => stack.extend(v.iter().rev().map(|d| (indent, mode, d))),
            Doc::Align(v) => {
                let col = p.column(indent);
                stack.extend(v.iter().rev().map(|d| (col, mode, d)));
            }
            Doc::Indent(n, v) => stack.extend(v.iter().rev().map(|d| (indent + n, mode, d))),
            Doc::Group { force, docs } => {
                let m = if mode == Mode::Flat
                    || (!*force && fits(WIDTH.saturating_sub(p.column(indent)), docs, &stack))
                {
                    Mode::Flat
                } else {
                    Mode::Break
                };
                stack.extend(docs.iter().rev().map(|d| (indent, m, d)));
            }
            Doc::Comment {
                text,
                trailing,
                blank_after,
            } => p.comment(indent, text, *trailing, *blank_after),
        }
    }
    let mut out = String::with_capacity(p.out.len());
    for line in p.out.trim_end().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Whether `docs`, flat, and what follows them up to the next line break fit in `room`.
fn fits(room: usize, docs: &[Doc], rest: &[(usize, Mode, &Doc)]) -> bool {
    let mut room = room;
    // (mode, doc, whether it follows the group rather than being part of it)
    let mut local: Vec<(Mode, &Doc, bool)> =
        docs.iter().rev().map(|d| (Mode::Flat, d, false)).collect();
    let mut rest = rest.iter().rev();
    loop {
        let (mode, d, after) = match local.pop() {
            Some(x) => x,
            None => match rest.next() {
                Some(&(_, m, d)) => (m, d, true),
                None => return true,
            },
        };
        let used = match d {
            Doc::Text(s) => s.chars().count(),
            Doc::Space => 1,
            Doc::Break { .. } => {
                if mode == Mode::Break {
                    return true;
                }
                1
            }
            Doc::HardLine | Doc::BlankLine => return mode == Mode::Break,
            // A comment ends its line: what comes before it is all that must fit.
            Doc::Comment { .. } => return after,
            Doc::Concat(v) | Doc::Align(v) | Doc::Indent(_, v) => {
                local.extend(v.iter().rev().map(|d| (mode, d, after)));
                0
            }
            Doc::Group { force, docs } => {
                let m = if *force { Mode::Break } else { mode };
                local.extend(docs.iter().rev().map(|d| (m, d, after)));
                0
            }
        };
        if used > room {
            return false;
        }
        room -= used;
    }
}

// ---- building the document from the AST and the tokens ---------------------------

struct Builder<'a> {
    src: &'a str,
    lx: &'a Lexed,
    /// The next token to write.
    next: usize,
    /// The next comment to write.
    next_comment: usize,
    /// Between declarations: blank lines after comments are kept.
    top_level: bool,
    /// The tokens did not have the shape the AST promised.
    broken: bool,
}

/// A field of a declaration, for writing the fields in the order written.
enum Field<'a> {
    /// A field whose value is a condition.
    Condition(&'a Expr),
    /// Any other field: its tokens, up to this offset, on one line.
    Plain(u32),
}

impl Builder<'_> {
    fn tok(&self) -> Option<&Tok> {
        self.lx.toks.get(self.next)
    }

    fn tok_text(&self) -> &str {
        self.tok()
            .and_then(|t| self.src.get(t.start..t.end))
            .unwrap_or("")
    }

    fn tok_start(&self) -> usize {
        self.tok().map_or(usize::MAX, |t| t.start)
    }

    /// Writes the comments on their own lines that come before token `before`.
    fn own_line_comments(&mut self, before: usize, out: &mut Vec<Doc>) {
        while let Some(c) = self.lx.comments.get(self.next_comment) {
            if c.before_tok > before {
                break;
            }
            out.push(Doc::Comment {
                text: comment_text(self.src, c).to_string(),
                trailing: !c.own_line,
                blank_after: c.blank_after && self.top_level,
            });
            self.next_comment += 1;
        }
    }

    /// Writes the next token (with the comments around it).
    fn take(&mut self, out: &mut Vec<Doc>) {
        self.own_line_comments(self.next, out);
        let Some(t) = self.tok().copied() else {
            self.broken = true;
            return;
        };
        out.push(Doc::Text(
            self.src.get(t.start..t.end).unwrap_or("").to_string(),
        ));
        self.next += 1;
        // Comments on the rest of this token's line stay at its end.
        while let Some(c) = self.lx.comments.get(self.next_comment) {
            if c.before_tok != self.next || c.own_line {
                break;
            }
            out.push(Doc::Comment {
                text: comment_text(self.src, c).to_string(),
                trailing: true,
                blank_after: false,
            });
            self.next_comment += 1;
        }
    }

    /// Writes the next token, which must be `text`.
    fn expect(&mut self, text: &str, out: &mut Vec<Doc>) {
        if self.tok_text() != text {
            self.broken = true;
        }
        self.take(out);
    }

    /// Writes tokens up to byte offset `end` on one line: one space between them, none
    /// before `,` `:` `)` `]` or after `(` `[`.
    fn plain(&mut self, end: usize, mut space_first: bool, out: &mut Vec<Doc>) {
        let mut after_open = false;
        while self.tok_start() < end {
            let t = self.tok_text();
            let tight = matches!(t, "," | ":" | ")" | "]");
            if space_first && !tight && !after_open {
                out.push(Doc::Space);
            }
            after_open = t == "(";
            space_first = true;
            if t == "[" {
                self.inline_list(out);
            } else {
                self.take(out);
            }
        }
    }

    /// Writes `[a, b, ...]`, filling lines: an entry that does not fit on the line goes
    /// on the next, under the first entry.
    fn inline_list(&mut self, out: &mut Vec<Doc>) {
        self.expect("[", out);
        let mut entries = Vec::new();
        let mut first = true;
        while self.tok().is_some() {
            match self.tok_text() {
                "]" => break,
                "," => self.take(&mut entries),
                _ if first => {
                    first = false;
                    self.take(&mut entries);
                }
                _ => {
                    let mut entry = vec![Doc::Break { dedent: 0 }];
                    self.take(&mut entry);
                    entries.push(group(false, entry));
                }
            }
        }
        out.push(Doc::Align(entries));
        self.expect("]", out);
    }

    fn decl(&mut self, d: &Decl, out: &mut Vec<Doc>) {
        self.top_level = true;
        let mut fields: Vec<(u32, Field<'_>)> = Vec::new();
        let (header_end, span) = match d {
            Decl::Regime(r) => {
                strs(&mut fields, [&r.title, &r.authority]);
                notes(&mut fields, &r.notes);
                match &r.scope {
                    Some(crate::ast::Scope::Everyone(s)) => {
                        fields.push((s.start, Field::Plain(s.end)));
                    }
                    Some(crate::ast::Scope::When(e)) => {
                        fields.push((e.span().start, Field::Condition(e)));
                    }
                    None => {}
                }
                (r.name.span.end, r.span)
            }
            Decl::Rule(r) => {
                if let Some(g) = &r.regime {
                    fields.push((g.span.start, Field::Plain(g.span.end)));
                }
                strs(&mut fields, [&r.title, &r.citation, &r.message]);
                effective(&mut fields, r.effective.as_ref());
                if let Some(e) = &r.when {
                    fields.push((e.span().start, Field::Condition(e)));
                }
                if let Some((_, s)) = &r.verdict {
                    fields.push((s.start, Field::Plain(s.end)));
                }
                notes(&mut fields, &r.notes);
                (r.id.span.end, r.span)
            }
            Decl::Exception(x) => {
                if let (Some(f), Some(l)) = (x.relaxes.first(), x.relaxes.last()) {
                    fields.push((f.span.start, Field::Plain(l.span.end)));
                }
                strs(&mut fields, [&x.title, &x.citation]);
                effective(&mut fields, x.effective.as_ref());
                if let Some(e) = &x.when {
                    fields.push((e.span().start, Field::Condition(e)));
                }
                if let Some((_, s)) = &x.leaves {
                    fields.push((s.start, Field::Plain(s.end)));
                }
                notes(&mut fields, &x.notes);
                (x.id.span.end, x.span)
            }
            Decl::List(l) => {
                for s in [
                    l.kind.as_ref().map(|k| k.1),
                    l.entries.as_ref().map(|e| e.1),
                    l.format.as_ref().map(|f| f.span),
                    l.as_of.as_ref().map(|a| a.1),
                ]
                .into_iter()
                .flatten()
                {
                    fields.push((s.start, Field::Plain(s.end)));
                }
                strs(&mut fields, [&l.title, &l.column, &l.aliases, &l.source]);
                if let (Some(f), Some(last)) = (l.from.first(), l.from.last()) {
                    fields.push((f.span.start, Field::Plain(last.span.end)));
                }
                notes(&mut fields, &l.notes);
                (l.name.span.end, l.span)
            }
            Decl::Predicate(p) => {
                strs(&mut fields, [&p.title]);
                if let Some(e) = &p.when {
                    fields.push((e.span().start, Field::Condition(e)));
                }
                notes(&mut fields, &p.notes);
                // `name(params)`: no space before the parenthesis.
                self.take(out); // `predicate`
                out.push(Doc::Space);
                self.take(out); // the name
                if self.tok_text() == "(" {
                    let close = self.lx.close.get(self.next).copied().flatten();
                    self.plain(close.map_or(0, |c| c + 1), false, out);
                }
                fields.sort_by_key(|f| f.0);
                self.block(&fields, p.span, out);
                return;
            }
            Decl::Fact(f) => {
                self.plain(f.span.end as usize, false, out);
                return;
            }
        };
        fields.sort_by_key(|f| f.0);
        self.plain(header_end as usize, false, out);
        self.block(&fields, span, out);
    }

    /// Writes `{`, the fields one per line, and `}`.
    fn block(&mut self, fields: &[(u32, Field<'_>)], span: Span, out: &mut Vec<Doc>) {
        out.push(Doc::Space);
        self.expect("{", out);
        self.top_level = false;
        let mut inner = Vec::new();
        for (_, f) in fields {
            inner.push(Doc::HardLine);
            // A comment inside a value puts the rest of it under the value's first token.
            self.take(&mut inner); // the field's keyword
            let mut value = Vec::new();
            match f {
                Field::Plain(end) => self.plain(*end as usize, true, &mut value),
                Field::Condition(e) => {
                    value.push(Doc::Space);
                    self.expr(e, true, &mut value);
                }
            }
            if let Some(Doc::Space) = value.first() {
                value.remove(0);
                inner.push(Doc::Space);
            }
            inner.push(Doc::Align(value));
        }
        // Comments after the last field stay inside the block.
        let before_close = self.next;
        let had_comments = self
            .lx
            .comments
            .get(self.next_comment)
            .is_some_and(|c| c.before_tok <= before_close);
        if !had_comments && fields.is_empty() {
            self.expect("}", out);
        } else {
            if had_comments {
                inner.push(Doc::HardLine);
            }
            self.own_line_comments(before_close, &mut inner);
            out.push(Doc::Indent(INDENT, inner));
            out.push(Doc::HardLine);
            self.expect("}", out);
        }
        if self.tok_start() < span.end as usize {
            self.broken = true;
        }
        self.top_level = true;
    }

    /// The number of tokens before `e` that belong to it: parentheses around it and, for
    /// a `not not` that the parser folded away, the `not`s.
    fn prefix_len(&self, e: &Expr) -> usize {
        let span = e.span();
        let chain = matches!(e, Expr::And(..) | Expr::Or(..));
        let mut n = self.next;
        let mut good = self.next;
        while let Some(t) = self.lx.toks.get(n) {
            if t.start >= span.start as usize {
                break;
            }
            match self.src.get(t.start..t.end) {
                Some("(")
                    if self
                        .lx
                        .close
                        .get(n)
                        .copied()
                        .flatten()
                        .is_some_and(|c| c >= span.end as usize) =>
                {
                    n += 1;
                    good = n;
                }
                Some("not") => {
                    n += 1;
                    if !chain {
                        good = n;
                    }
                }
                _ => break,
            }
        }
        good - self.next
    }

    fn expr(&mut self, e: &Expr, top: bool, out: &mut Vec<Doc>) {
        let mut closers = 0;
        for _ in 0..self.prefix_len(e) {
            if self.tok_text() == "(" {
                closers += 1;
                self.take(out);
            } else {
                self.take(out);
                out.push(Doc::Space);
            }
        }
        match e {
            Expr::And(ops, _) | Expr::Or(ops, _) => {
                let op = if matches!(e, Expr::And(..)) {
                    "and"
                } else {
                    "or"
                };
                let top = top && closers == 0;
                let mut inner = Vec::new();
                for (i, x) in ops.iter().enumerate() {
                    if i > 0 {
                        inner.push(Doc::Break {
                            dedent: if top { op.len() + 1 } else { 0 },
                        });
                        self.expect(op, &mut inner);
                        inner.push(Doc::Space);
                    }
                    self.expr(x, false, &mut inner);
                }
                let simple = ops.iter().all(|x| match x {
                    Expr::Not(x, _) => {
                        matches!(**x, Expr::Path(_) | Expr::Call(..) | Expr::Bool(..))
                    }
                    x => matches!(x, Expr::Path(_) | Expr::Call(..) | Expr::Bool(..)),
                });
                out.push(Doc::Align(vec![group(top && !simple, inner)]));
            }
            Expr::Not(x, _) => {
                while self.tok_text() == "not" {
                    self.take(out);
                    out.push(Doc::Space);
                }
                self.expr(x, false, out);
            }
            Expr::Bool(..) | Expr::Path(_) => self.take(out),
            Expr::Compare(l, _, r, _) => {
                self.term(l, out);
                self.plain(r.span().start as usize, true, out);
                out.push(Doc::Space);
                self.term(r, out);
            }
            Expr::In { term, set, .. } => {
                self.term(term, out);
                self.plain(set_start(set), true, out);
                out.push(Doc::Space);
                self.set(set, out);
            }
            Expr::StartsWith(term, set, _) => {
                self.term(term, out);
                self.plain(set_start(set), true, out);
                out.push(Doc::Space);
                self.set(set, out);
            }
            Expr::Presence { span, .. } => self.plain(span.end as usize, false, out),
            Expr::Quantified { body, .. } => {
                // `any v in path where`
                for i in 0..5 {
                    if i > 0 {
                        out.push(Doc::Space);
                    }
                    self.take(out);
                }
                out.push(Doc::Space);
                self.expr(body, false, out);
            }
            Expr::Call(_, _, span) => {
                self.take(out);
                self.plain(span.end as usize, false, out);
            }
        }
        for _ in 0..closers {
            self.expect(")", out);
        }
    }

    fn set(&mut self, s: &SetRef, out: &mut Vec<Doc>) {
        match s {
            SetRef::Named(p) => self.plain(p.span.end as usize, false, out),
            SetRef::Inline(_, span) => self.plain(span.end as usize, false, out),
        }
    }

    fn term(&mut self, t: &Term, out: &mut Vec<Doc>) {
        match t {
            Term::Path(_) | Term::Literal(_) => self.take(out),
            Term::Ownership { span, .. } => self.plain(span.end as usize, false, out),
            Term::Count { filter, span, .. } | Term::Sum { filter, span, .. } => {
                let mut first = true;
                while self.tok_start() < span.end as usize && self.tok_text() != "where" {
                    if !first {
                        out.push(Doc::Space);
                    }
                    first = false;
                    self.take(out);
                }
                if let Some(f) = filter {
                    out.push(Doc::Space);
                    self.expect("where", out);
                    out.push(Doc::Space);
                    self.expr(f, false, out);
                }
            }
            Term::Shift { base, span, .. } => {
                self.term(base, out);
                self.plain(span.end as usize, true, out);
            }
        }
    }
}

fn set_start(s: &SetRef) -> usize {
    match s {
        SetRef::Named(p) => p.span.start as usize,
        SetRef::Inline(_, span) => span.start as usize,
    }
}

fn strs<const N: usize>(fields: &mut Vec<(u32, Field<'_>)>, values: [&Option<Str>; N]) {
    for s in values.into_iter().flatten() {
        fields.push((s.span.start, Field::Plain(s.span.end)));
    }
}

fn notes(fields: &mut Vec<(u32, Field<'_>)>, notes: &[Str]) {
    for s in notes {
        fields.push((s.span.start, Field::Plain(s.span.end)));
    }
}

fn effective(fields: &mut Vec<(u32, Field<'_>)>, e: Option<&Effective>) {
    if let Some(e) = e {
        fields.push((e.span.start, Field::Plain(e.span.end)));
    }
}
