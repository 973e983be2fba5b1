//! The check pass: resolves names, types every condition against the shipment schema,
//! loads lists, and lowers the AST into the compiled rule set. Problems are collected
//! (several at once) and reported in source order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::ast::{self, CompareOp, Decl, Expr, Leaves, LiteralKind, SetRef, Term};
use crate::compile::{
    Cond, Const, Entry, Exception, FactPath, ListKind, ListSet, Lookup, Period, Reach, Regime,
    Root, Rule, RuleSet, Segment, Value,
};
use crate::diagnostics::{Code, Problem, Problems, did_you_mean};
use crate::lists::{self, Format};
use crate::load::{DigestBuilder, Origin};
use crate::schema::{Field, Kind, Schema, Ty};
use crate::source::{FileId, SourceMap, Span};
use crate::types::{CountryCode, Date, Eccn, HsCode};

/// Inlining depth beyond which predicate calls are refused (recursion is caught earlier).
const MAX_INLINE_DEPTH: usize = 32;

/// Checks parsed files and compiles them; returns the rule set and its warnings.
#[allow(clippy::indexing_slicing)] // rule indices come from enumerating the same rules
pub fn check(
    origin: &Origin,
    mut sources: SourceMap,
    files: Vec<(FileId, ast::File)>,
    mut problems: Problems,
) -> Result<(RuleSet, Vec<Problem>), Problems> {
    let mut digest = DigestBuilder::new(origin);
    for (_, f) in sources.files() {
        digest.add(&f.name, &f.text);
    }
    let decls: Vec<Decl> = files.into_iter().flat_map(|(_, f)| f.decls).collect();
    // Data files are added to the map after the rule files.
    let rule_files = sources.files().count();

    // Declared facts first: every condition is typed against them.
    let mut schema = Schema::default();
    for d in &decls {
        if let Decl::Fact(f) = d {
            declare_fact(&mut schema, f, &sources, &mut problems);
        }
    }

    // Names, and duplicates among them.
    let mut seen: HashMap<(&str, String), Span> = HashMap::new();
    for d in &decls {
        let (ns, what, ident) = match d {
            Decl::Regime(r) => ("regime", "regime", &r.name),
            Decl::Rule(r) => ("rule", "rule", &r.id),
            Decl::Exception(x) => ("rule", "exception", &x.id),
            Decl::List(l) => ("name", "list", &l.name),
            Decl::Predicate(p) => ("name", "predicate", &p.name),
            Decl::Fact(_) => continue,
        };
        if let Some(first) = seen.get(&(ns, ident.name.clone())) {
            let loc = sources.location(*first);
            problems.push(
                Problem::at(
                    Code::Duplicate,
                    &sources,
                    ident.span,
                    format!("{what} `{}` is declared twice", ident.name),
                )
                .label("declared again here")
                .help(format!(
                    "the first declaration is at {loc}; ids and names must be unique"
                )),
            );
        } else {
            seen.insert((ns, ident.name.clone()), ident.span);
        }
    }

    // Lists.
    let mut list_map: HashMap<String, Arc<ListSet>> = HashMap::new();
    let mut lists = Vec::new();
    let mut failed_lists = HashSet::new();
    for d in &decls {
        if let Decl::List(l) = d {
            match load_list(l, origin, &mut sources, &mut digest, &mut problems) {
                Some(set) => {
                    let set = Arc::new(set);
                    list_map
                        .entry(l.name.name.clone())
                        .or_insert_with(|| Arc::clone(&set));
                    lists.push(set);
                }
                None => {
                    failed_lists.insert(l.name.name.clone());
                }
            }
        }
    }

    // Every file is read: the digest is made while the rules are checked.
    let digest = digest.start();

    let predicates: HashMap<String, &ast::Predicate> = decls
        .iter()
        .filter_map(|d| match d {
            Decl::Predicate(p) => Some((p.name.name.clone(), p)),
            _ => None,
        })
        .collect();
    let recursive = find_recursion(&predicates, &sources, &mut problems);

    let mut cx = Cx {
        sources: &sources,
        schema,
        lists: list_map,
        failed_lists,
        predicates,
        recursive,
        problems: Vec::new(),
        slots: 0,
        next_slot: 0,
        rule_vars: Vec::new(),
        closed_vars: Vec::new(),
        inline_depth: 0,
        in_exception: false,
    };

    // Predicates are checked once where declared; calls inline them without re-reporting.
    for d in &decls {
        if let Decl::Predicate(p) = d {
            cx.check_predicate(p);
        }
    }

    let mut regimes = Vec::new();
    let mut regime_index: HashMap<String, usize> = HashMap::new();
    for d in &decls {
        if let Decl::Regime(r) = d {
            regime_index
                .entry(r.name.name.clone())
                .or_insert(regimes.len());
            regimes.push(cx.regime(r));
        }
    }

    let mut rules = Vec::new();
    for d in &decls {
        if let Decl::Rule(r) = d
            && let Some(rule) = cx.rule(r, &regime_index)
        {
            rules.push(rule);
        }
    }

    let mut exceptions = Vec::new();
    let mut exceptions_by_rule = vec![Vec::new(); rules.len()];
    for d in &decls {
        if let Decl::Exception(x) = d
            && let Some((exc, relaxed)) = cx.exception(x, &rules, &regimes)
        {
            for r in relaxed {
                exceptions_by_rule[r].push(exceptions.len());
            }
            exceptions.push(exc);
        }
    }

    let slots = cx.slots;
    problems.0.extend(std::mem::take(&mut cx.problems));
    drop(cx);
    problems.sort();
    if problems.has_errors() {
        return Err(problems);
    }
    Ok((
        RuleSet {
            regimes,
            rules,
            exceptions,
            lists,
            exceptions_by_rule,
            digest: digest.finish(),
            sources,
            rule_files,
            slots,
            shared: std::sync::OnceLock::new(),
        },
        problems.0,
    ))
}

fn declare_fact(
    schema: &mut Schema,
    f: &ast::FactDecl,
    sources: &SourceMap,
    problems: &mut Problems,
) {
    let segs = &f.path.segments;
    let Some((last, parents)) = segs.split_last() else {
        return;
    };
    let mut kind = Kind::Shipment;
    for s in parents {
        match schema.field(kind, &s.name) {
            Some((_, Ty::Obj(k))) => kind = k,
            Some((_, Ty::List(t))) if matches!(*t, Ty::Obj(_)) => {
                let Ty::Obj(k) = *t else {
                    unreachable!("matched above")
                };
                kind = k;
            }
            _ => {
                let names = schema.names(kind);
                let mut p = Problem::at(
                    Code::UnknownFact,
                    sources,
                    s.span,
                    format!(
                        "`{}` is not a structured fact of the {}",
                        s.name,
                        kind.name()
                    ),
                )
                .label("no such fact");
                if let Some(m) = did_you_mean(&s.name, names.iter().map(String::as_str)) {
                    p = p.help(format!("did you mean `{m}`?"));
                }
                problems.push(p);
                return;
            }
        }
    }
    let ty = Ty::from_name(f.ty.0);
    if matches!(ty, Ty::Obj(_)) {
        problems.push(
            Problem::at(
                Code::Type,
                sources,
                f.ty.1,
                "a declared fact is a plain value",
            )
            .label("not a plain type")
            .help(
                "use `string`, `number`, `percent`, `date`, `bool`, `country`, `hs_code` or `eccn`",
            ),
        );
        return;
    }
    if !schema.declare(kind, &last.name, ty) {
        problems.push(
            Problem::at(
                Code::Duplicate,
                sources,
                last.span,
                format!("the {} already has a fact `{}`", kind.name(), last.name),
            )
            .label("already defined")
            .help("declare only facts beyond the shipment schema, and each once"),
        );
    }
}

fn list_kind(t: ast::TypeName) -> Option<ListKind> {
    use ast::TypeName as T;
    Some(match t {
        T::Country => ListKind::Country,
        T::HsCode => ListKind::Hs,
        T::Eccn => ListKind::Eccn,
        T::String => ListKind::Str,
        T::Entity => ListKind::Entity,
        _ => return None,
    })
}

fn load_list(
    l: &ast::ListDecl,
    origin: &Origin,
    sources: &mut SourceMap,
    digest: &mut DigestBuilder,
    problems: &mut Problems,
) -> Option<ListSet> {
    let Some((kind_name, kind_span)) = l.kind else {
        problems.push(
            Problem::at(
                Code::Field,
                sources,
                l.name.span,
                format!("list `{}` has no `kind`", l.name.name),
            )
            .label("what are its entries?")
            .help(
                "add `kind country`, `kind hs_code`, `kind eccn`, `kind entity` or `kind string`",
            ),
        );
        return None;
    };
    let Some(kind) = list_kind(kind_name) else {
        problems.push(
            Problem::at(
                Code::Type,
                sources,
                kind_span,
                "lists hold countries, HS codes, ECCNs, entities or strings",
            )
            .label("not a list kind")
            .help("use `country`, `hs_code`, `eccn`, `entity` or `string`"),
        );
        return None;
    };
    let rule_file = sources.file(l.span.file).name.clone();
    // The alias file (OFAC's has tens of thousands of rows) is read and parsed while the
    // entries are, on a thread of its own; what it holds is taken in the same order after.
    let mut pending = l
        .aliases
        .as_ref()
        .filter(|_| kind == ListKind::Entity)
        .and_then(|alias| {
            let path = origin.resolve(&rule_file, &alias.value);
            let origin = origin.clone();
            // Without a thread to spare, the file is read in its turn below. A list that
            // fails before then leaves the thread to finish unheard.
            std::thread::Builder::new()
                .spawn(move || read_aliases(&origin, &path))
                .ok()
        });
    let mut entries = Vec::new();
    let mut canonical = Vec::new();
    let mut ids = Vec::new();
    let mut ok = true;
    match (&l.entries, l.from.is_empty()) {
        (Some(_), false) => {
            problems.push(
                Problem::at(Code::Field, sources, l.name.span, format!("list `{}` has both `entries` and `from`", l.name.name))
                    .label("one or the other")
                    .help("write short lists inline with `entries`, and long ones in a data file with `from`"),
            );
            return None;
        }
        (None, true) => {
            problems.push(
                Problem::at(
                    Code::Field,
                    sources,
                    l.name.span,
                    format!("list `{}` has no entries", l.name.name),
                )
                .label("empty list")
                .help("add `entries [ ... ]` or `from \"data/file.csv\"`"),
            );
            return None;
        }
        (Some((lits, _)), true) => {
            for lit in lits {
                match lists::canonical_key(kind, &lit.text) {
                    Ok(k) => {
                        entries.push(Entry {
                            key: display_key(kind, &k, &lit.text),
                            attrs: Vec::new(),
                            origin: None,
                        });
                        canonical.push(k);
                        ids.push(None);
                    }
                    Err(e) => {
                        ok = false;
                        problems.push(
                            Problem::at(Code::Type, sources, lit.span, e)
                                .label(format!("not a valid {} entry", kind.name())),
                        );
                    }
                }
            }
        }
        (None, false) => {
            for (i, from) in l.from.iter().enumerate() {
                let path = origin.resolve(&rule_file, &from.value);
                let text = match origin.read(&path) {
                    Ok(t) => t,
                    Err(e) => {
                        ok = false;
                        problems.push(
                            Problem::at(
                                Code::DataFile,
                                sources,
                                from.span,
                                format!("cannot read data file `{path}`: {e}"),
                            )
                            .label("this file")
                            .help("paths are relative to the rule file that names them"),
                        );
                        continue;
                    }
                };
                digest.add(&path, &text);
                let format = match &l.format {
                    Some(f) => match Format::from_name(&f.name) {
                        Some(x) => x,
                        None => {
                            problems.push(
                                Problem::at(
                                    Code::Field,
                                    sources,
                                    f.span,
                                    format!("unknown data format `{}`", f.name),
                                )
                                .label("unknown format")
                                .help("the formats are `csv`, `yaml`, `json` and `ofac_sdn`"),
                            );
                            return None;
                        }
                    },
                    None => match Format::from_extension(&path) {
                        Some(x) => x,
                        None => {
                            problems.push(
                                Problem::at(
                                    Code::Field,
                                    sources,
                                    from.span,
                                    "cannot tell the format of this data file",
                                )
                                .label("unknown extension")
                                .help("name it `.csv`, `.yaml` or `.json`, or add `format ...`"),
                            );
                            return None;
                        }
                    },
                };
                if format == Format::OfacSdn && kind != ListKind::Entity {
                    problems.push(
                        Problem::at(
                            Code::Type,
                            sources,
                            kind_span,
                            "an OFAC SDN file holds entities",
                        )
                        .label("use `kind entity`"),
                    );
                    return None;
                }
                let fid = sources.add(path.clone(), text);
                let file = sources.file(fid).clone();
                let raw = match lists::read_entries(
                    &file,
                    format,
                    l.column.as_ref().map(|c| c.value.as_str()),
                ) {
                    Ok(r) => r,
                    Err(ps) => {
                        ok = false;
                        problems.0.extend(ps);
                        continue;
                    }
                };
                let mut bad = 0;
                entries.reserve(raw.len());
                canonical.reserve(raw.len());
                ids.reserve(raw.len());
                for r in raw {
                    match lists::canonical_key(kind, &r.key) {
                        Ok(k) => {
                            // Names and strings are shown as written, their canonical key:
                            // the written copy is kept rather than copied again.
                            let key = if kind != ListKind::Hs && k == r.key {
                                r.key
                            } else {
                                display_key(kind, &k, &r.key)
                            };
                            entries.push(Entry {
                                key,
                                attrs: r.attrs,
                                origin: Some(r.origin),
                            });
                            canonical.push(k);
                            ids.push(r.id);
                        }
                        Err(e) => {
                            ok = false;
                            bad += 1;
                            // One wrong column can make every row wrong: show the first few.
                            if bad <= 5 {
                                problems.push(
                                    Problem::in_file(Code::DataFile, &file, r.at.0, r.at.1, e)
                                        .label(format!("not a valid {} entry", kind.name()))
                                        .help(format!(
                                            "list `{}` in {} is `kind {}`",
                                            l.name.name,
                                            rule_file,
                                            kind.name()
                                        )),
                                );
                            }
                        }
                    }
                }
                let _ = i;
            }
            if l.source.is_none() || l.as_of.is_none() {
                problems.push(
                    Problem::at(Code::Field, sources, l.name.span, format!("list `{}` is loaded from data but does not say its {}", l.name.name,
                        match (l.source.is_none(), l.as_of.is_none()) { (true, true) => "`source` and `as_of`", (true, false) => "`source`", _ => "`as_of`" }))
                        .label("provenance missing")
                        .help("findings cite the list's source and the date it is current as of: add `source \"...\"` and `as_of YYYY-MM-DD`"),
                );
                ok = false;
            }
        }
    }
    let mut set = ListSet {
        name: l.name.name.clone(),
        kind,
        title: l.title.as_ref().map(|t| t.value.clone()),
        source: l.source.as_ref().map(|s| s.value.clone()),
        as_of: l.as_of.map(|(d, _)| d),
        index: lists::build_index(kind, &entries, &canonical, &ids),
        entries,
        span: l.span,
        inline: false,
    };
    if let Some(alias) = &l.aliases {
        if kind != ListKind::Entity {
            problems.push(
                Problem::at(
                    Code::Type,
                    sources,
                    alias.span,
                    "only entity lists have aliases",
                )
                .label("not an entity list"),
            );
            return None;
        }
        let path = origin.resolve(&rule_file, &alias.value);
        let read = match pending.take() {
            // A panic there is a bug in the alias reader: pass it on.
            Some(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            None => read_aliases(origin, &path),
        };
        match read {
            Ok((text, rows)) => {
                digest.add(&path, &text);
                sources.add(path.clone(), text);
                match rows {
                    Ok(rows) => {
                        let resolved: Vec<(usize, String)> = rows
                            .into_iter()
                            .filter_map(|(id, name, _)| set.find_exact(&id).map(|e| (e, name)))
                            .collect();
                        lists::add_aliases(&mut set, &resolved);
                    }
                    Err(ps) => {
                        ok = false;
                        // Say whose aliases they are: the row alone does not name the list.
                        problems.0.extend(ps.into_iter().map(|mut p| {
                            p.help.get_or_insert_with(|| {
                                format!(
                                    "these are the aliases of list `{}` in {rule_file}; OFAC's alt.csv rows are ent_num, alt_num, type, alias and remarks",
                                    l.name.name
                                )
                            });
                            p
                        }));
                    }
                }
            }
            Err(e) => {
                ok = false;
                problems.push(
                    Problem::at(
                        Code::DataFile,
                        sources,
                        alias.span,
                        format!("cannot read alias file `{path}`: {e}"),
                    )
                    .label("this file"),
                );
            }
        }
    }
    ok.then_some(set)
}

/// An alias file's text and its rows (or the problems in them), or why it cannot be read.
type AliasRead = Result<(Arc<str>, Result<Vec<lists::AliasRow>, Vec<Problem>>), String>;

/// Reads and parses an OFAC alias file.
fn read_aliases(origin: &Origin, path: &str) -> AliasRead {
    let text = origin.read(path)?;
    let file = crate::source::SourceFile {
        name: path.to_string(),
        text: Arc::clone(&text),
    };
    Ok((text, lists::read_ofac_aliases(&file)))
}

fn display_key(kind: ListKind, canonical: &str, written: &str) -> String {
    match kind {
        ListKind::Hs => {
            HsCode::parse(canonical).map_or_else(|_| written.to_string(), |h| h.to_string())
        }
        _ => canonical.to_string(),
    }
}

/// Predicate names a condition calls.
#[allow(clippy::indexing_slicing)] // guarded by the length test in the pattern
fn calls(e: &Expr, out: &mut Vec<(String, Span)>) {
    match e {
        Expr::And(xs, _) | Expr::Or(xs, _) => {
            for x in xs {
                calls(x, out);
            }
        }
        Expr::Not(a, _) => calls(a, out),
        Expr::Quantified { body, .. } => calls(body, out),
        Expr::Call(n, _, _) => out.push((n.name.clone(), n.span)),
        Expr::Path(p) if p.segments.len() == 1 => out.push((p.segments[0].name.clone(), p.span)),
        Expr::Compare(a, _, b, _) => {
            term_calls(a, out);
            term_calls(b, out);
        }
        Expr::In { term, .. } | Expr::StartsWith(term, _, _) => term_calls(term, out),
        _ => {}
    }
}

fn term_calls(t: &Term, out: &mut Vec<(String, Span)>) {
    match t {
        Term::Count {
            filter: Some(f), ..
        }
        | Term::Sum {
            filter: Some(f), ..
        } => calls(f, out),
        Term::Shift { base, .. } => term_calls(base, out),
        _ => {}
    }
}

/// Reports predicates that use themselves, directly or not; returns their names.
fn find_recursion(
    preds: &HashMap<String, &ast::Predicate>,
    sources: &SourceMap,
    problems: &mut Problems,
) -> HashSet<String> {
    let mut bad = HashSet::new();
    let mut names: Vec<&String> = preds.keys().collect();
    names.sort();
    for start in names {
        // Depth-first search for a path back to `start`.
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        let mut visited = HashSet::new();
        while let Some((name, chain)) = stack.pop() {
            let Some(p) = preds.get(&name) else { continue };
            let mut cs = Vec::new();
            if let Some(w) = &p.when {
                calls(w, &mut cs);
            }
            for (c, call) in cs {
                if &c == start {
                    problems.push(
                        Problem::at(Code::Recursion, sources, call, format!("predicate `{start}` uses itself ({} → {start})", chain.join(" → ")))
                            .label("calls it again")
                            .help("rules must always terminate: predicates cannot call themselves, directly or through others"),
                    );
                    bad.insert(start.clone());
                    stack.clear();
                    break;
                }
                if preds.contains_key(&c) && visited.insert(c.clone()) {
                    let mut ch = chain.clone();
                    ch.push(c.clone());
                    stack.push((c, ch));
                }
            }
        }
    }
    bad
}

/// A name in scope inside a condition.
#[derive(Clone)]
enum Binding {
    /// A quantified variable in a slot.
    Slot(usize, Ty),
    /// A predicate parameter standing for the caller's fact path.
    Alias(FactPath),
}

#[derive(Clone, Default)]
struct Scope {
    vars: Vec<(String, Binding)>,
}

impl Scope {
    fn get(&self, name: &str) -> Option<&Binding> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
    }
}

struct Cx<'a> {
    sources: &'a SourceMap,
    schema: Schema,
    lists: HashMap<String, Arc<ListSet>>,
    /// Declared lists that failed to load: already reported, so uses stay quiet.
    failed_lists: HashSet<String>,
    predicates: HashMap<String, &'a ast::Predicate>,
    recursive: HashSet<String>,
    problems: Vec<Problem>,
    slots: usize,
    next_slot: usize,
    rule_vars: Vec<(String, usize, Ty)>,
    closed_vars: Vec<String>,
    inline_depth: usize,
    in_exception: bool,
}

impl Cx<'_> {
    fn err(
        &mut self,
        code: Code,
        span: Span,
        msg: impl Into<String>,
        label: &str,
        help: Option<String>,
    ) {
        // Inside an inlined predicate the problem was reported where the predicate is declared.
        if self.inline_depth > 0 {
            return;
        }
        let mut p = Problem::at(code, self.sources, span, msg).label(label);
        if let Some(h) = help {
            p = p.help(h);
        }
        self.problems.push(p);
    }

    fn period(&mut self, e: Option<&ast::Effective>) -> Period {
        let Some(e) = e else { return Period::default() };
        let p = Period {
            from: e.from.map(|(d, _)| d),
            until: e.until.map(|(d, _)| d),
        };
        if let (Some((f, _)), Some((u, us))) = (e.from, e.until)
            && u < f
        {
            self.err(
                Code::Effective,
                us,
                format!("the effective period ends ({u}) before it starts ({f})"),
                "ends before it starts",
                Some("`until` is the last day in force and must not be before `from`".into()),
            );
        }
        p
    }

    fn check_predicate(&mut self, p: &ast::Predicate) {
        let Some(when) = &p.when else {
            self.err(
                Code::Field,
                p.name.span,
                format!("predicate `{}` has no `when`", p.name.name),
                "no condition",
                Some("add `when <condition>`".into()),
            );
            return;
        };
        if self.recursive.contains(&p.name.name) {
            return;
        }
        self.start();
        let mut scope = Scope::default();
        for (n, t, _) in &p.params {
            let slot = self.new_slot();
            scope
                .vars
                .push((n.name.clone(), Binding::Slot(slot, Ty::from_name(*t))));
        }
        let _ = self.cond(when, &scope);
    }

    /// Starts a top-level condition: slots are numbered afresh.
    fn start(&mut self) {
        self.next_slot = 0;
        self.rule_vars.clear();
        self.closed_vars.clear();
    }

    fn new_slot(&mut self) -> usize {
        let s = self.next_slot;
        self.next_slot += 1;
        self.slots = self.slots.max(self.next_slot);
        s
    }

    fn regime(&mut self, r: &ast::Regime) -> Regime {
        self.start();
        let scope = match &r.scope {
            None => {
                self.err(
                    Code::Field,
                    r.name.span,
                    format!("regime `{}` has no `scope`", r.name.name),
                    "whom does it bind?",
                    Some("add `scope <condition>` (e.g. `scope exporter.country in eu_member_states`) or `scope everyone`".into()),
                );
                None
            }
            Some(ast::Scope::Everyone(_)) => None,
            Some(ast::Scope::When(e)) => Some(self.cond(e, &Scope::default())),
        };
        Regime {
            name: r.name.name.clone(),
            title: r.title.as_ref().map(|t| t.value.clone()),
            authority: r.authority.as_ref().map(|t| t.value.clone()),
            scope,
            span: r.span,
        }
    }

    fn rule(&mut self, r: &ast::Rule, regimes: &HashMap<String, usize>) -> Option<Rule> {
        let effective = self.period(r.effective.as_ref());
        let regime = match &r.regime {
            None => {
                self.err(
                    Code::Field,
                    r.id.span,
                    format!("rule `{}` has no `regime`", r.id.name),
                    "which regime?",
                    Some("add `regime <name>`".into()),
                );
                None
            }
            Some(name) => match regimes.get(&name.name) {
                Some(i) => Some(*i),
                None => {
                    let mut names: Vec<&str> = regimes.keys().map(String::as_str).collect();
                    names.sort_unstable();
                    let help = did_you_mean(&name.name, names.iter().copied())
                        .map(|m| format!("did you mean `{m}`?"))
                        .or_else(|| Some(format!("the regimes are: {}", names.join(", "))));
                    self.err(
                        Code::UndefinedName,
                        name.span,
                        format!("no regime named `{}`", name.name),
                        "not declared",
                        help,
                    );
                    None
                }
            },
        };
        // A missing citation is the `missing_citation` lint.
        let verdict = r.verdict.map(|(v, _)| v);
        if verdict.is_none() {
            self.err(
                Code::Field,
                r.id.span,
                format!("rule `{}` has no `verdict`", r.id.name),
                "what does it decide?",
                Some(
                    "add `verdict prohibited`, `verdict license_required` or `verdict review`"
                        .into(),
                ),
            );
        }
        let Some(when) = &r.when else {
            self.err(
                Code::Field,
                r.id.span,
                format!("rule `{}` has no `when`", r.id.name),
                "no condition",
                Some("add `when <condition>`".into()),
            );
            return None;
        };
        self.start();
        let cond = self.cond(when, &Scope::default());
        let witnesses = std::mem::take(&mut self.rule_vars);
        let message = match (&r.message, &r.title) {
            (Some(m), _) => self.message(m, &witnesses),
            (None, Some(t)) => vec![Segment::Text(t.value.clone())],
            (None, None) => vec![Segment::Text(r.id.name.clone())],
        };
        Some(Rule {
            id: r.id.name.clone(),
            regime: regime?,
            title: r.title.as_ref().map(|t| t.value.clone()),
            citation: r.citation.as_ref().map(|t| t.value.clone()),
            effective,
            when: cond,
            verdict: verdict?,
            message,
            span: r.span,
        })
    }

    #[allow(clippy::indexing_slicing)] // rule indices come from enumerating `rules`
    fn exception(
        &mut self,
        x: &ast::Exception,
        rules: &[Rule],
        regimes: &[Regime],
    ) -> Option<(Exception, Vec<usize>)> {
        let effective = self.period(x.effective.as_ref());
        if x.relaxes.is_empty() {
            self.err(
                Code::Field,
                x.id.span,
                format!("exception `{}` has no `relaxes`", x.id.name),
                "relaxes what?",
                Some("add `relaxes <rule id>, ...`".into()),
            );
        }
        let mut relaxed = Vec::new();
        for pat in &x.relaxes {
            let before = relaxed.len();
            if let Some(prefix) = pat.name.strip_suffix(".*") {
                relaxed.extend(
                    rules
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| {
                            r.id.starts_with(prefix) && r.id[prefix.len()..].starts_with('.')
                        })
                        .map(|(i, _)| i),
                );
            } else if let Some(g) = regimes.iter().position(|g| g.name == pat.name) {
                relaxed.extend(
                    rules
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.regime == g)
                        .map(|(i, _)| i),
                );
            } else {
                relaxed.extend(rules.iter().position(|r| r.id == pat.name));
            }
            if relaxed.len() == before {
                let help = did_you_mean(&pat.name, rules.iter().map(|r| r.id.as_str()))
                    .map(|m| format!("did you mean `{m}`?"));
                self.err(
                    Code::UndefinedName,
                    pat.span,
                    format!("`{}` names no rule", pat.name),
                    "no such rule",
                    help.or_else(|| {
                        Some("name a rule id, a `prefix.*` pattern or a regime".into())
                    }),
                );
            }
        }
        relaxed.sort_unstable();
        relaxed.dedup();
        let leaves = match x.leaves {
            None => {
                self.err(
                    Code::Field,
                    x.id.span,
                    format!("exception `{}` has no `leaves`", x.id.name),
                    "leaves what?",
                    Some("add `leaves nothing` or `leaves review` (a weaker verdict)".into()),
                );
                None
            }
            Some((l, span)) => {
                if let Leaves::Verdict(v) = l {
                    for &r in &relaxed {
                        if v >= rules[r].verdict {
                            self.err(
                                Code::Type,
                                span,
                                format!("`leaves {v}` does not relax rule `{}`, whose verdict is `{}`", rules[r].id, rules[r].verdict),
                                "not weaker",
                                Some("an exception leaves `nothing` or a verdict weaker than the rule's".into()),
                            );
                        }
                    }
                }
                Some(l)
            }
        };
        let Some(when) = &x.when else {
            self.err(
                Code::Field,
                x.id.span,
                format!("exception `{}` has no `when`", x.id.name),
                "no condition",
                Some("add `when <condition>`".into()),
            );
            return None;
        };
        self.in_exception = true;
        self.start();
        let cond = self.cond(when, &Scope::default());
        self.in_exception = false;
        Some((
            Exception {
                id: x.id.name.clone(),
                title: x.title.as_ref().map(|t| t.value.clone()),
                citation: x.citation.as_ref().map(|t| t.value.clone()),
                effective,
                when: cond,
                leaves: leaves?,
                span: x.span,
            },
            relaxed,
        ))
    }

    /// Parses `{fact.path}` interpolations of a message.
    #[allow(clippy::indexing_slicing)] // every index is below `chars.len()` by the loop condition or `position`
    fn message(&mut self, m: &ast::Str, witnesses: &[(String, usize, Ty)]) -> Vec<Segment> {
        let mut scope = Scope::default();
        for (n, slot, ty) in witnesses {
            scope
                .vars
                .push((n.clone(), Binding::Slot(*slot, ty.clone())));
        }
        let chars: Vec<char> = m.value.chars().collect();
        let off = |i: usize| m.offsets.get(i).map_or(m.span.start, |o| *o) as usize;
        let mut out = Vec::new();
        let mut text = String::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '{' if chars.get(i + 1) == Some(&'{') => {
                    text.push('{');
                    i += 2;
                }
                '}' if chars.get(i + 1) == Some(&'}') => {
                    text.push('}');
                    i += 2;
                }
                '{' => {
                    let Some(len) = chars[i + 1..].iter().position(|c| *c == '}') else {
                        let s = Span::new(m.span.file, off(i), off(i) + 1);
                        self.err(
                            Code::Syntax,
                            s,
                            "`{` opens an interpolation that is never closed",
                            "unclosed",
                            Some("close it with `}`, or write `{{` for a literal brace".into()),
                        );
                        break;
                    };
                    let inner: String = chars[i + 1..i + 1 + len].iter().collect();
                    let start = off(i + 1);
                    let span = Span::new(m.span.file, start, start + inner.len());
                    let segments: Vec<ast::Ident> = inner
                        .trim()
                        .split('.')
                        .map(|s| ast::Ident {
                            name: s.to_string(),
                            span,
                        })
                        .collect();
                    if segments.iter().any(|s| {
                        s.name.is_empty()
                            || !s
                                .name
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    }) {
                        self.err(Code::Syntax, span, format!("`{inner}` is not a fact path"), "not a fact", Some("interpolate a fact such as `{item.description}`; write `{{` for a literal brace".into()));
                    } else if let Some(fp) = self.path(&ast::Path { segments, span }, &scope) {
                        if !out.is_empty() || !text.is_empty() {
                            out.push(Segment::Text(std::mem::take(&mut text)));
                        }
                        if matches!(fp.ty, Ty::List(_)) {
                            self.err(Code::Type, span, format!("`{inner}` is a list"), "a list", Some("interpolate one value, e.g. a field of the item an `any` found".into()));
                        }
                        out.push(Segment::Fact(fp));
                    }
                    i += len + 2;
                }
                c => {
                    text.push(c);
                    i += 1;
                }
            }
        }
        if !text.is_empty() {
            out.push(Segment::Text(text));
        }
        out
    }

    #[allow(clippy::indexing_slicing)] // the grammar gives every path at least one segment, and `n` is checked against the length
    fn path(&mut self, p: &ast::Path, scope: &Scope) -> Option<FactPath> {
        let first = &p.segments[0];
        let mut fp = match scope.get(&first.name) {
            Some(Binding::Slot(slot, ty)) => FactPath {
                root: Root::Var(*slot),
                steps: vec![],
                names: vec![first.name.as_str().into()],
                ty: ty.clone(),
                reach: Reach::Bound(*slot),
            },
            Some(Binding::Alias(a)) => a.clone(),
            None => {
                let special = match first.name.as_str() {
                    "as_of" => Some((Root::AsOf, Ty::Date)),
                    "rule" if self.in_exception => {
                        let which = p.segments.get(1).map(|s| s.name.as_str());
                        match which {
                            Some("id") => Some((Root::RuleId, Ty::Str)),
                            Some("regime") => Some((Root::RuleRegime, Ty::Str)),
                            _ => {
                                self.err(
                                    Code::UnknownFact,
                                    p.span,
                                    "in an exception, `rule` has the fields `id` and `regime`",
                                    "unknown",
                                    Some("write `rule.id` or `rule.regime`".into()),
                                );
                                return None;
                            }
                        }
                    }
                    _ => None,
                };
                if let Some((root, ty)) = special {
                    let n = if matches!(root, Root::AsOf) { 1 } else { 2 };
                    if p.segments.len() > n {
                        self.err(
                            Code::Type,
                            p.segments[n].span,
                            format!(
                                "`{}` has no fields",
                                p.segments[..n]
                                    .iter()
                                    .map(|s| s.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(".")
                            ),
                            "no such field",
                            None,
                        );
                        return None;
                    }
                    return Some(FactPath {
                        reach: Reach::of(&root, &[]),
                        root,
                        steps: vec![],
                        names: p.segments.iter().map(|s| s.name.as_str().into()).collect(),
                        ty,
                    });
                }
                match self.schema.field(Kind::Shipment, &first.name) {
                    Some((f, ty)) => FactPath {
                        root: Root::Shipment,
                        reach: Reach::Shipment(f.clone()),
                        steps: vec![f],
                        names: vec![first.name.as_str().into()],
                        ty,
                    },
                    None => {
                        self.unknown_name(first, scope);
                        return None;
                    }
                }
            }
        };
        for seg in &p.segments[1..] {
            match fp.ty.clone() {
                Ty::Obj(kind) => match self.schema.field(kind, &seg.name) {
                    Some((f, ty)) => {
                        fp.steps.push(f);
                        fp.names.push(seg.name.as_str().into());
                        fp.ty = ty;
                    }
                    None => {
                        let names = self.schema.names(kind);
                        let help = did_you_mean(&seg.name, names.iter().map(String::as_str))
                            .map(|m| format!("did you mean `{m}`?"))
                            .unwrap_or_else(|| {
                                format!(
                                    "the fields of {} are: {}; declare other facts with `fact`",
                                    kind.article(),
                                    names.join(", ")
                                )
                            });
                        self.err(
                            Code::UnknownFact,
                            seg.span,
                            format!("{} has no fact `{}`", kind.article(), seg.name),
                            "unknown fact",
                            Some(help),
                        );
                        return None;
                    }
                },
                Ty::List(_) => {
                    let so_far: Vec<&str> = fp.names.iter().map(|s| &**s).collect();
                    self.err(
                        Code::Type,
                        seg.span,
                        format!(
                            "`{}` is a list, so `{}` is not one value",
                            so_far.join("."),
                            seg.name
                        ),
                        "field of a list",
                        Some(format!(
                            "use a quantifier: `any x in {} where x.{} ...`",
                            so_far.join("."),
                            seg.name
                        )),
                    );
                    return None;
                }
                other => {
                    self.err(
                        Code::Type,
                        seg.span,
                        format!("`{}` is {other} and has no fields", fp.names.join(".")),
                        "no fields",
                        None,
                    );
                    return None;
                }
            }
        }
        // Decided again for the steps added to the first (or to an alias).
        fp.reach = Reach::of(&fp.root, &fp.steps);
        Some(fp)
    }

    fn unknown_name(&mut self, first: &ast::Ident, scope: &Scope) {
        let upper = first.name.to_ascii_uppercase();
        if CountryCode::parse(&upper).is_ok() && first.name.len() == 2 {
            self.err(
                Code::UnknownFact,
                first.span,
                format!("unknown fact or name `{}`", first.name),
                "not defined",
                Some(format!("country codes are upper case: `{upper}`")),
            );
            return;
        }
        if self.lists.contains_key(&first.name) {
            self.err(
                Code::Type,
                first.span,
                format!("`{}` is a list, not a fact", first.name),
                "a list",
                Some(format!("test membership: `<fact> in {}`", first.name)),
            );
            return;
        }
        if self.closed_vars.contains(&first.name) {
            self.err(
                Code::UnknownFact,
                first.span,
                format!("`{}` is not defined here: it is bound only inside the `where` test of its quantifier", first.name),
                "out of its quantifier",
                Some(format!("the test after `where` is one test; to test several things of `{}`, put them in parentheses: `where (... and ...)`", first.name)),
            );
            return;
        }
        let mut candidates: Vec<String> = self.schema.names(Kind::Shipment);
        candidates.extend(scope.vars.iter().map(|(n, _)| n.clone()));
        candidates.extend(self.predicates.keys().cloned());
        candidates.push("as_of".into());
        let help = did_you_mean(&first.name, candidates.iter().map(String::as_str))
            .map(|m| format!("did you mean `{m}`?"))
            .unwrap_or_else(|| "facts start at the shipment (`consignee`, `items`, ...) or at a variable bound by `any`/`all`/`none`".into());
        self.err(
            Code::UnknownFact,
            first.span,
            format!("unknown fact or name `{}`", first.name),
            "not defined",
            Some(help),
        );
    }

    #[allow(clippy::indexing_slicing)] // the grammar gives every path at least one segment
    fn cond(&mut self, e: &Expr, scope: &Scope) -> Cond {
        match e {
            Expr::And(xs, _) => Cond::And(xs.iter().map(|x| self.cond(x, scope)).collect()),
            Expr::Or(xs, _) => Cond::Or(xs.iter().map(|x| self.cond(x, scope)).collect()),
            Expr::Not(a, _) => Cond::Not(Box::new(self.cond(a, scope))),
            Expr::Bool(b, _) => Cond::Const(*b),
            Expr::Compare(l, op, r, span) => self
                .compare(l, *op, r, *span, scope)
                .unwrap_or(Cond::Const(false)),
            Expr::In {
                term,
                negated,
                set,
                span,
            } => self
                .membership(term, *negated, set, *span, scope)
                .unwrap_or(Cond::Const(false)),
            Expr::StartsWith(term, set, span) => self
                .starts_with(term, set, *span, scope)
                .unwrap_or(Cond::Const(false)),
            Expr::Presence { path, missing, .. } => match self.path(path, scope) {
                Some(p) => Cond::Present {
                    path: p,
                    missing: *missing,
                },
                None => Cond::Const(false),
            },
            Expr::Quantified {
                quantifier,
                var,
                collection,
                body,
                ..
            } => match self.bind(var, collection, scope) {
                Some((slot, coll, inner)) => {
                    let body = self.cond(body, &inner);
                    self.closed_vars.push(var.name.clone());
                    Cond::Quant {
                        quantifier: *quantifier,
                        slot,
                        collection: coll,
                        body: Box::new(body),
                    }
                }
                None => Cond::Const(false),
            },
            Expr::Call(name, args, span) => self.call(name, args, *span, scope),
            Expr::Path(p) => {
                if p.segments.len() == 1
                    && scope.get(&p.segments[0].name).is_none()
                    && self.predicates.contains_key(&p.segments[0].name)
                {
                    return self.call(&p.segments[0], &[], p.span, scope);
                }
                match self.path(p, scope) {
                    Some(fp) if fp.ty == Ty::Bool => Cond::Truthy(fp),
                    Some(fp) => {
                        self.err(Code::Type, p.span, format!("`{}` is {}, not a condition", p.text(), fp.ty), "not true/false", Some("compare it with something, e.g. `destination == RU` or `x in some_list`".into()));
                        Cond::Const(false)
                    }
                    None => Cond::Const(false),
                }
            }
        }
    }

    /// Binds a quantified variable to a fresh slot.
    fn bind(
        &mut self,
        var: &ast::Ident,
        collection: &ast::Path,
        scope: &Scope,
    ) -> Option<(usize, FactPath, Scope)> {
        let coll = self.path(collection, scope)?;
        let Ty::List(elem) = coll.ty.clone() else {
            self.err(Code::Type, collection.span, format!("`{}` is {}, not a list", collection.text(), coll.ty), "not a list", Some("quantifiers range over lists such as `items`, `parties`, `route`, `intermediaries` or `x.owners`".into()));
            return None;
        };
        if scope.get(&var.name).is_some() || self.schema.field(Kind::Shipment, &var.name).is_some()
        {
            self.err(
                Code::Duplicate,
                var.span,
                format!("`{}` already means something here", var.name),
                "name taken",
                Some("choose another name for the variable".into()),
            );
            return None;
        }
        let slot = self.new_slot();
        if self.inline_depth == 0 && !self.rule_vars.iter().any(|(n, _, _)| *n == var.name) {
            self.rule_vars
                .push((var.name.clone(), slot, (*elem).clone()));
        }
        let mut inner = scope.clone();
        inner
            .vars
            .push((var.name.clone(), Binding::Slot(slot, *elem)));
        Some((slot, coll, inner))
    }

    fn call(&mut self, name: &ast::Ident, args: &[ast::Path], span: Span, scope: &Scope) -> Cond {
        let Some(p) = self.predicates.get(&name.name).copied() else {
            let mut names: Vec<&str> = self.predicates.keys().map(String::as_str).collect();
            names.sort_unstable();
            let help = did_you_mean(&name.name, names.iter().copied())
                .map(|m| format!("did you mean `{m}`?"));
            self.err(
                Code::UndefinedName,
                name.span,
                format!("no predicate named `{}`", name.name),
                "not declared",
                help,
            );
            return Cond::Const(false);
        };
        if p.params.len() != args.len() {
            self.err(
                Code::Type,
                span,
                format!(
                    "predicate `{}` takes {} argument{}, given {}",
                    name.name,
                    p.params.len(),
                    if p.params.len() == 1 { "" } else { "s" },
                    args.len()
                ),
                "wrong number of arguments",
                Some(format!(
                    "it is declared as `{}({})`",
                    name.name,
                    p.params
                        .iter()
                        .map(|(n, t, _)| format!("{}: {}", n.name, t.keyword()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
            return Cond::Const(false);
        }
        let mut inner = Scope::default();
        let mut ok = true;
        for ((pn, pt, _), a) in p.params.iter().zip(args) {
            let Some(fp) = self.path(a, scope) else {
                ok = false;
                continue;
            };
            let want = Ty::from_name(*pt);
            if fp.ty != want {
                self.err(
                    Code::Type,
                    a.span,
                    format!(
                        "`{}` is {}, but parameter `{}` is {}",
                        a.text(),
                        fp.ty,
                        pn.name,
                        want
                    ),
                    "wrong type",
                    None,
                );
                ok = false;
            }
            inner.vars.push((pn.name.clone(), Binding::Alias(fp)));
        }
        if !ok || self.recursive.contains(&name.name) {
            return Cond::Const(false);
        }
        let Some(when) = &p.when else {
            return Cond::Const(false);
        };
        if self.inline_depth >= MAX_INLINE_DEPTH {
            self.err(
                Code::Limit,
                span,
                "predicates call each other too deeply",
                "too deep",
                None,
            );
            return Cond::Const(false);
        }
        self.inline_depth += 1;
        let c = self.cond(when, &inner);
        self.inline_depth -= 1;
        c
    }

    fn compare(
        &mut self,
        l: &Term,
        op: CompareOp,
        r: &Term,
        span: Span,
        scope: &Scope,
    ) -> Option<Cond> {
        // Type the side that is not a bare constant first; constants take their meaning from it.
        let (lv, lt, rv, rt) = if matches!(l, Term::Literal(_)) && !matches!(r, Term::Literal(_)) {
            let (rv, rt) = self.term(r, scope, None)?;
            let (lv, lt) = self.term(l, scope, Some(&rt))?;
            (lv, lt, rv, rt)
        } else {
            let (lv, lt) = self.term(l, scope, None)?;
            let (rv, rt) = self.term(r, scope, Some(&lt))?;
            (lv, lt, rv, rt)
        };
        let comparable =
            lt == rt || matches!((&lt, &rt), (Ty::Num, Ty::Percent) | (Ty::Percent, Ty::Num));
        if !comparable || matches!(lt, Ty::Obj(_) | Ty::List(_)) {
            let help = match (&lt, &rt) {
                (Ty::Obj(Kind::Party), _) | (_, Ty::Obj(Kind::Party)) => {
                    Some("compare a field of the party, e.g. `consignee.country`".to_string())
                }
                (Ty::List(_), _) | (_, Ty::List(_)) => {
                    Some("use a quantifier (`any x in ... where ...`) or `count`".to_string())
                }
                _ => None,
            };
            self.err(
                Code::Type,
                span,
                format!("cannot compare {lt} with {rt}"),
                "types differ",
                help,
            );
            return None;
        }
        if matches!((&lt, &rt), (Ty::Num, Ty::Percent) | (Ty::Percent, Ty::Num)) {
            self.err(
                Code::Type,
                span,
                "a percentage is compared with a plain number",
                "percent and number",
                Some("write the constant with a percent sign, e.g. `50%`".into()),
            );
            return None;
        }
        if !matches!(op, CompareOp::Eq | CompareOp::Ne)
            && !matches!(lt, Ty::Num | Ty::Percent | Ty::Date)
        {
            self.err(Code::Type, span, format!("{lt} has no order"), "cannot be ordered", Some("`<`, `>`, `before` and `after` compare numbers, percentages and dates; use `==` or `in` here".into()));
            return None;
        }
        // Evidence reads "fact = value, test": keep the constant on the right.
        let (lv, op, rv, rhs_span) =
            if matches!(lv, Value::Const(_)) && !matches!(rv, Value::Const(_)) {
                let mirrored = match op {
                    CompareOp::Lt => CompareOp::Gt,
                    CompareOp::Le => CompareOp::Ge,
                    CompareOp::Gt => CompareOp::Lt,
                    CompareOp::Ge => CompareOp::Le,
                    other => other,
                };
                (rv, mirrored, lv, l.span())
            } else {
                (lv, op, rv, r.span())
            };
        let test = format!("{} {}", op.symbol(), self.sources.text(rhs_span));
        Some(Cond::Compare {
            lhs: lv,
            op,
            rhs: rv,
            test: test.into(),
        })
    }

    #[allow(clippy::indexing_slicing)] // the grammar gives every path at least one segment
    fn membership(
        &mut self,
        term: &Term,
        negated: bool,
        set: &SetRef,
        span: Span,
        scope: &Scope,
    ) -> Option<Cond> {
        let (value, ty) = self.term(term, scope, None)?;
        if let Ty::List(elem) = &ty {
            self.err(
                Code::Type,
                term.span(),
                format!(
                    "`{}` is a list of {}",
                    self.sources.text(term.span()),
                    Ty::List(elem.clone())
                ),
                "a list",
                Some(format!(
                    "test each element: `any x in {} where x in ...`",
                    self.sources.text(term.span())
                )),
            );
            return None;
        }
        if let SetRef::Named(path) = set
            && (path.segments.len() > 1
                || !self.lists.contains_key(&path.segments[0].name)
                    && !self.failed_lists.contains(&path.segments[0].name))
            && (path.segments.len() > 1
                || scope.get(&path.segments[0].name).is_some()
                || self
                    .schema
                    .field(Kind::Shipment, &path.segments[0].name)
                    .is_some())
        {
            let list = self.path(path, scope)?;
            let Ty::List(elem) = &list.ty else {
                self.err(
                    Code::Type,
                    path.span,
                    format!("`{}` is {}, not a list", path.text(), list.ty),
                    "not a list",
                    None,
                );
                return None;
            };
            if **elem != ty {
                self.err(
                    Code::Type,
                    span,
                    format!(
                        "`{}` is {ty}, but `{}` is {}",
                        self.sources.text(term.span()),
                        path.text(),
                        list.ty
                    ),
                    "types differ",
                    None,
                );
                return None;
            }
            return Some(Cond::InFact {
                value,
                list,
                negated,
            });
        }
        let set = self.set(set, &ty, span)?;
        let how = match (set.kind, &ty) {
            (ListKind::Entity, Ty::Obj(Kind::Party)) => Lookup::Party,
            (ListKind::Entity, Ty::Str) => match &value {
                Value::Fact(fp) if fp.steps.last() == Some(&Field::Id) => Lookup::Id,
                _ => Lookup::Name,
            },
            (k, t) if k.element_ty() == *t => Lookup::Direct,
            (k, t) => {
                self.err(
                    Code::Type,
                    span,
                    format!(
                        "`{}` is {t}, but `{}` is a list of {} entries",
                        self.sources.text(term.span()),
                        set.name,
                        k.name()
                    ),
                    "types differ",
                    None,
                );
                return None;
            }
        };
        Some(Cond::In {
            value,
            set,
            how,
            negated,
        })
    }

    fn starts_with(
        &mut self,
        term: &Term,
        set: &SetRef,
        span: Span,
        scope: &Scope,
    ) -> Option<Cond> {
        let (value, ty) = self.term(term, scope, None)?;
        if !matches!(ty, Ty::Str | Ty::Eccn | Ty::Hs) {
            self.err(
                Code::Type,
                term.span(),
                format!("`starts with` tests text, and this is {ty}"),
                "not text",
                None,
            );
            return None;
        }
        let set = self.set(set, &Ty::Str, span)?;
        if set.kind != ListKind::Str {
            self.err(
                Code::Type,
                span,
                "`starts with` takes a list of strings",
                "not strings",
                None,
            );
            return None;
        }
        Some(Cond::StartsWith { value, set })
    }

    #[allow(clippy::indexing_slicing)] // the grammar gives every path at least one segment
    fn set(&mut self, set: &SetRef, elem: &Ty, _span: Span) -> Option<Arc<ListSet>> {
        match set {
            SetRef::Named(p) => {
                let n = &p.segments[0];
                if p.segments.len() > 1 {
                    self.err(
                        Code::Type,
                        p.span,
                        format!("`{}` is not a list name", p.text()),
                        "not a list",
                        None,
                    );
                    return None;
                }
                match self.lists.get(&n.name) {
                    Some(s) => Some(Arc::clone(s)),
                    None if self.failed_lists.contains(&n.name) => None,
                    None => {
                        let mut names: Vec<&str> = self.lists.keys().map(String::as_str).collect();
                        names.sort_unstable();
                        let help = did_you_mean(&n.name, names.iter().copied())
                            .map(|m| format!("did you mean `{m}`?"));
                        self.err(
                            Code::UndefinedName,
                            n.span,
                            format!("no list named `{}`", n.name),
                            "not declared",
                            help,
                        );
                        None
                    }
                }
            }
            SetRef::Inline(lits, span) => {
                let kind = match elem {
                    Ty::Country => ListKind::Country,
                    Ty::Hs => ListKind::Hs,
                    Ty::Eccn => ListKind::Eccn,
                    Ty::Str => ListKind::Str,
                    other => {
                        self.err(
                            Code::Type,
                            *span,
                            format!("{other} cannot be looked up in a list"),
                            "no list of these",
                            None,
                        );
                        return None;
                    }
                };
                let mut entries = Vec::new();
                let mut canonical = Vec::new();
                let mut ok = true;
                for lit in lits {
                    match lists::canonical_key(kind, &lit.text) {
                        Ok(k) => {
                            entries.push(Entry {
                                key: display_key(kind, &k, &lit.text),
                                attrs: vec![],
                                origin: None,
                            });
                            canonical.push(k);
                        }
                        Err(e) => {
                            ok = false;
                            self.err(Code::Type, lit.span, e, "not valid here", None);
                        }
                    }
                }
                if !ok {
                    return None;
                }
                let ids = vec![None; canonical.len()];
                Some(Arc::new(ListSet {
                    name: self.sources.text(*span).to_string(),
                    kind,
                    title: None,
                    source: None,
                    as_of: None,
                    index: lists::build_index(kind, &entries, &canonical, &ids),
                    entries,
                    span: *span,
                    inline: true,
                }))
            }
        }
    }

    fn term(&mut self, t: &Term, scope: &Scope, hint: Option<&Ty>) -> Option<(Value, Ty)> {
        match t {
            Term::Path(p) => {
                let fp = self.path(p, scope)?;
                let ty = fp.ty.clone();
                Some((Value::Fact(fp), ty))
            }
            Term::Literal(l) => self.literal(l, hint),
            Term::Ownership { party, list, .. } => {
                let fp = self.path(party, scope)?;
                if fp.ty != Ty::Obj(Kind::Party) {
                    self.err(
                        Code::Type,
                        party.span,
                        format!(
                            "ownership is computed for a party, and `{}` is {}",
                            party.text(),
                            fp.ty
                        ),
                        "not a party",
                        Some("e.g. `ownership of consignee by sdn >= 50%`".into()),
                    );
                    return None;
                }
                let set = self.set(
                    &SetRef::Named(ast::Path {
                        segments: vec![list.clone()],
                        span: list.span,
                    }),
                    &Ty::Str,
                    list.span,
                )?;
                if set.kind != ListKind::Entity {
                    self.err(
                        Code::Type,
                        list.span,
                        format!(
                            "`{}` is a list of {} entries, not of persons",
                            list.name,
                            set.kind.name()
                        ),
                        "not an entity list",
                        Some("ownership is counted for owners on a `kind entity` list".into()),
                    );
                    return None;
                }
                Some((
                    Value::Ownership {
                        party: fp,
                        list: set,
                    },
                    Ty::Percent,
                ))
            }
            Term::Count {
                var,
                collection,
                filter,
                ..
            } => {
                let (slot, coll, inner) = self.bind(var, collection, scope)?;
                let filter = filter.as_ref().map(|f| Box::new(self.cond(f, &inner)));
                Some((
                    Value::Count {
                        slot,
                        collection: coll,
                        filter,
                    },
                    Ty::Num,
                ))
            }
            Term::Sum {
                value,
                var,
                collection,
                filter,
                ..
            } => {
                let (slot, coll, inner) = self.bind(var, collection, scope)?;
                let v = self.path(value, &inner);
                let filter = filter.as_ref().map(|f| Box::new(self.cond(f, &inner)));
                let v = v?;
                if v.ty != Ty::Num {
                    self.err(
                        Code::Type,
                        value.span,
                        format!(
                            "`{}` is {}, and only numbers can be summed",
                            value.text(),
                            v.ty
                        ),
                        "not a number",
                        None,
                    );
                    return None;
                }
                if !matches!(v.root, Root::Var(s) if s == slot) {
                    self.err(
                        Code::Type,
                        value.span,
                        format!("the summed value should be a field of `{}`", var.name),
                        "not per element",
                        Some(format!(
                            "e.g. `sum {}.value.amount for {} in ...`",
                            var.name, var.name
                        )),
                    );
                    return None;
                }
                Some((
                    Value::Sum {
                        slot,
                        collection: coll,
                        value: v,
                        filter,
                    },
                    Ty::Num,
                ))
            }
            Term::Shift {
                base,
                amount,
                unit,
                span,
            } => {
                let (b, bt) = self.term(base, scope, Some(&Ty::Date))?;
                if bt != Ty::Date {
                    self.err(
                        Code::Type,
                        *span,
                        format!(
                            "only dates can be moved by days, months or years, and this is {bt}"
                        ),
                        "not a date",
                        None,
                    );
                    return None;
                }
                Some((
                    Value::Shift {
                        base: Box::new(b),
                        amount: *amount,
                        unit: *unit,
                    },
                    Ty::Date,
                ))
            }
        }
    }

    fn literal(&mut self, l: &ast::Literal, hint: Option<&Ty>) -> Option<(Value, Ty)> {
        let bad = |cx: &mut Self, msg: String, help: Option<String>| {
            cx.err(Code::Type, l.span, msg, "wrong value", help);
            None
        };
        let c = |c: Const, t: Ty| Some((Value::Const(c), t));
        match (l.kind, hint) {
            (LiteralKind::Date, _) | (LiteralKind::String, Some(Ty::Date)) => {
                match Date::parse_from_str(&l.text, "%Y-%m-%d") {
                    Ok(d) => c(Const::Date(d), Ty::Date),
                    Err(_) => bad(
                        self,
                        format!("`{}` is not a date", l.text),
                        Some("dates are written YYYY-MM-DD".into()),
                    ),
                }
            }
            (LiteralKind::Percent, _) => match l.text.parse::<f64>() {
                Ok(v) if (0.0..=100.0).contains(&v) => c(Const::Num(v), Ty::Percent),
                _ => bad(
                    self,
                    format!("{}% is not a percentage from 0% to 100%", l.text),
                    None,
                ),
            },
            (LiteralKind::Number | LiteralKind::String, Some(Ty::Hs)) => {
                match HsCode::parse(&l.text) {
                    Ok(h) => c(Const::Hs(h), Ty::Hs),
                    Err(e) => bad(self, e, None),
                }
            }
            (LiteralKind::Number, Some(Ty::Percent)) => bad(
                self,
                format!("`{}` is a plain number compared with a percentage", l.text),
                Some(format!("write `{}%`", l.text)),
            ),
            (LiteralKind::Number, _) => match l.text.parse::<f64>() {
                Ok(v) if v.is_finite() => c(Const::Num(v), Ty::Num),
                _ => bad(
                    self,
                    format!("`{}` is not a number", l.text),
                    Some("numbers are written like `1000000` or `0.5`".into()),
                ),
            },
            (LiteralKind::Code | LiteralKind::String, Some(Ty::Country)) => {
                match CountryCode::parse(&l.text) {
                    Ok(cc) => c(Const::Country(cc), Ty::Country),
                    Err(e) => bad(self, e, None),
                }
            }
            (LiteralKind::Code | LiteralKind::String, Some(Ty::Eccn)) => match Eccn::parse(&l.text)
            {
                Ok(e) => c(Const::Str(e.as_str().into()), Ty::Eccn),
                Err(e) => bad(self, e, None),
            },
            (LiteralKind::Code | LiteralKind::String, Some(Ty::Str)) => {
                c(Const::Str(l.text.as_str().into()), Ty::Str)
            }
            (LiteralKind::String, None) => c(Const::Str(l.text.as_str().into()), Ty::Str),
            (LiteralKind::Code, None) => match CountryCode::parse(&l.text) {
                Ok(cc) => c(Const::Country(cc), Ty::Country),
                Err(_) => bad(
                    self,
                    format!("cannot tell what `{}` is", l.text),
                    Some("compare it with a fact, e.g. `item.eccn == 3A991`".into()),
                ),
            },
            (_, Some(t)) => bad(self, format!("`{}` is not {t}", l.text), None),
        }
    }
}
