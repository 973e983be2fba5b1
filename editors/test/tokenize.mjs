// Tokenizes rule files with the TextMate engine of VS Code (vscode-textmate on the
// Oniguruma regular expressions of vscode-oniguruma) and checks the grammar
// editors/textmate/rulecheck.tmLanguage.json against them.
//
//   node editors/test/tokenize.mjs                      # the default check (below)
//   node editors/test/tokenize.mjs [--grammar G] FILE…  # only these files, no expectations
//   node editors/test/tokenize.mjs --dump FILE…         # also print every token's scopes
//
// For every file: no token may carry `invalid.illegal`, and no text outside comments and
// strings may be left unrecognised, i.e. carry no scope but the root `source.rulecheck`
// and `meta.*` regions (a block or a declaration). The default check tokenizes
// rules/**/*.rules, tests/fixtures/rules/*.rules, benches/peer/rules/*.rules and
// editors/test/samples/sample.rules, then checks the scopes of chosen tokens of the
// sample, and that the unterminated strings of samples/unterminated.rules are
// `invalid.illegal`.
//
// Prints a summary; exits 1 on any failure (with FILE:LINE:COL and the text), 2 on a
// usage error.

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
const ROOT_SCOPE = "source.rulecheck";

// ---- arguments --------------------------------------------------------------

let grammarPath = path.join(root, "editors", "textmate", "rulecheck.tmLanguage.json");
let dump = false;
const files = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--grammar") {
    if (i + 1 >= args.length) usage("--grammar needs a file");
    grammarPath = path.resolve(args[++i]);
  } else if (args[i] === "--dump") {
    dump = true;
  } else if (args[i] === "--help" || args[i] === "-h") {
    usage(null);
  } else if (args[i].startsWith("-")) {
    usage(`unknown option ${args[i]}`);
  } else {
    files.push(path.resolve(args[i]));
  }
}
const defaultRun = files.length === 0;

function usage(problem) {
  if (problem) console.error(`tokenize.mjs: ${problem}`);
  console.error("usage: node editors/test/tokenize.mjs [--grammar GRAMMAR.json] [--dump] [FILE.rules ...]");
  process.exit(problem ? 2 : 0);
}

// ---- the engine ---------------------------------------------------------------

const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));

const registry = new vsctm.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
    createOnigString: (s) => new oniguruma.OnigString(s),
  }),
  loadGrammar: async (scopeName) => {
    if (scopeName !== ROOT_SCOPE) return null;
    const text = fs.readFileSync(grammarPath, "utf8");
    return vsctm.parseRawGrammar(text, grammarPath);
  },
});
const grammar = await registry.loadGrammar(ROOT_SCOPE);
if (!grammar) {
  console.error(`tokenize.mjs: ${grammarPath} does not define ${ROOT_SCOPE}`);
  process.exit(1);
}

// ---- tokenizing ---------------------------------------------------------------

const failures = [];
const totals = { files: 0, lines: 0, tokens: 0 };

function rel(file) {
  return path.relative(process.cwd(), file) || file;
}

/// Tokenizes a file: a list of lines, each { text, tokens: [{ start, end, text, scopes }] }.
function tokenize(file) {
  let text = fs.readFileSync(file, "utf8");
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  const lines = text.split("\n").map((l) => l.replace(/\r$/, ""));
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  let stack = vsctm.INITIAL;
  const out = [];
  for (const [i, line] of lines.entries()) {
    const r = grammar.tokenizeLine(line, stack, 10000);
    if (r.stoppedEarly) fail(file, i, 0, line, "tokenizing stopped early (10 s time limit for a line)");
    stack = r.ruleStack;
    const tokens = r.tokens.map((t) => ({
      start: t.startIndex,
      end: Math.min(t.endIndex, line.length),
      text: line.slice(t.startIndex, t.endIndex),
      scopes: t.scopes,
    }));
    out.push({ text: line, tokens });
  }
  return out;
}

function fail(file, lineIndex, col, text, why) {
  failures.push(`${rel(file)}:${lineIndex + 1}:${col + 1}: ${why}: ${JSON.stringify(text)}`);
}

/// A token is unrecognised if it holds non-blank text outside comments and strings and
/// carries no scope but the root and `meta.*` regions.
function unrecognised(token) {
  if (!/\S/.test(token.text)) return false;
  return token.scopes.every((s) => s === ROOT_SCOPE || s.startsWith("meta."));
}

/// Tokenizes and checks one file; returns its tokens.
function check(file, { allowInvalid = false } = {}) {
  const lines = tokenize(file);
  totals.files += 1;
  totals.lines += lines.length;
  for (const [i, line] of lines.entries()) {
    totals.tokens += line.tokens.length;
    if (dump) {
      for (const t of line.tokens) {
        if (/\S/.test(t.text)) console.log(`${rel(file)}:${i + 1}:${t.start + 1}\t${JSON.stringify(t.text)}\t${t.scopes.slice(1).join(" ")}`);
      }
    }
    for (const t of line.tokens) {
      if (!allowInvalid && t.scopes.some((s) => s.startsWith("invalid.illegal"))) {
        fail(file, i, t.start, t.text, `invalid.illegal (${t.scopes.at(-1)})`);
      } else if (unrecognised(t)) {
        const lead = t.text.length - t.text.trimStart().length;
        fail(file, i, t.start + lead, t.text.trim(), `not recognised (only ${t.scopes.join(" ")})`);
      }
    }
  }
  return lines;
}

function walk(dir) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...walk(p));
    else if (entry.name.endsWith(".rules")) found.push(p);
  }
  return found.sort();
}

// ---- expectations on the sample ------------------------------------------------

/// Expects the `nth` occurrence of `text` on the line of `file` that contains `marker`
/// to be one token (or a run of tokens) whose scopes include one starting with `scope`.
function expect(file, lines, marker, text, scope, nth = 1) {
  const i = lines.findIndex((l) => l.text.includes(marker));
  if (i < 0) {
    failures.push(`${rel(file)}: expectation: no line contains ${JSON.stringify(marker)}`);
    return;
  }
  const line = lines[i];
  // whole words only: `in` is not the `in` of `items`
  const word = /\w/;
  const whole = (at) =>
    !(word.test(text[0]) && word.test(line.text[at - 1] ?? "")) &&
    !(word.test(text.at(-1)) && word.test(line.text[at + text.length] ?? ""));
  let col = -1;
  for (let k = 0; k < nth; k++) {
    do col = line.text.indexOf(text, col + 1);
    while (col >= 0 && !whole(col));
    if (col < 0) break;
  }
  if (col < 0) {
    fail(file, i, 0, line.text, `expectation: ${JSON.stringify(text)} not found on the line`);
    return;
  }
  const covering = line.tokens.filter((t) => t.end > col && t.start < col + text.length && /\S/.test(t.text));
  const wrong = covering.filter((t) => !t.scopes.some((s) => s.startsWith(scope)));
  if (covering.length === 0 || wrong.length > 0) {
    const got = (wrong[0] ?? { scopes: ["(no token)"] }).scopes.join(" ");
    fail(file, i, col, text, `expected ${scope}, got ${got}`);
  }
}

function sampleExpectations() {
  const sample = path.join(here, "samples", "sample.rules");
  const s = check(sample);
  const e = (marker, text, scope, nth) => expect(sample, s, marker, text, scope, nth);
  e("# Sample", "# Sample", "comment.line.number-sign");
  e("# a trailing", "# a trailing comment", "comment.line.number-sign");
  e("regime eu_russia {", "regime", "keyword.declaration");
  e("regime eu_russia {", "eu_russia", "entity.name.type");
  e("regime eu_russia {", "{", "punctuation.section.block.begin");
  e("rule eu.833.sample", "rule", "keyword.declaration");
  e("rule eu.833.sample", "eu.833.sample", "entity.name.function");
  e("exception eu.833.licensed", "exception", "keyword.declaration");
  e("list russia_belarus", "list", "keyword.declaration");
  e("list russia_belarus", "russia_belarus", "entity.name.type");
  e("predicate chpl_item", "predicate", "keyword.declaration");
  e("predicate chpl_item", "chpl_item", "entity.name.function");
  e("predicate chpl_item", "i", "variable.parameter");
  e("predicate chpl_item", "item", "support.type");
  e("fact purpose", "fact", "keyword.declaration");
  e("fact purpose", "purpose", "entity.name.variable");
  e("fact purpose", "string", "support.type");
  e("fact purpose", '"the declared purpose"', "string.quoted.double");
  e("  title \"EU", "title", "keyword.other");
  e("  title \"EU", '"EU restrictive measures"', "string.quoted.double");
  e("kind country", "kind", "keyword.other");
  e("kind country", "country", "support.type");
  e("entries [RU", "[", "punctuation.section.brackets");
  e("entries [RU", "RU", "constant.other");
  e("entries [RU", "3A991", "constant.other");
  e("entries [RU", "EAR99", "constant.other");
  e("format csv", "csv", "support.constant");
  e("as_of 2024", "as_of", "keyword.other");
  e("as_of 2024", "2024-06-24", "constant.numeric");
  e("effective from", "effective", "keyword.other");
  e("effective from", "from", "keyword.other");
  e("effective from", "2022-02-25", "constant.numeric");
  e("effective from", "until", "keyword.other");
  e("scope everyone", "everyone", "constant.language");
  e("when any item", "when", "keyword.other");
  e("when any item", "any", "keyword.operator");
  e("when any item", "in", "keyword.operator");
  e("when any item", "where", "keyword.operator");
  e("when any item", "chpl_item", "entity.name.function");
  e("when any item", "item", "variable.other", 1);
  e("and (destination", "and", "keyword.operator.logical");
  e("and (destination", "(", "punctuation.section.parens");
  e("and (destination", "destination", "variable.other");
  e("and (destination", "not in", "keyword.operator");
  e("and (destination", "country", "variable.other.property");
  e("ownership of", "ownership", "keyword.operator");
  e("ownership of", ">=", "keyword.operator.comparison");
  e("ownership of", "50%", "constant.numeric");
  e("contract.date + 6 months", "+", "keyword.operator.arithmetic");
  e("contract.date + 6 months", "6", "constant.numeric");
  e("contract.date + 6 months", "months", "keyword.other.unit");
  e("contract.date + 6 months", "on or after", "keyword.operator");
  e("contract.date + 6 months", "as_of", "variable.other");
  e("starts with", "starts with", "keyword.operator");
  e("starts with", '"3A"', "string.quoted.double");
  e("count x in", "count", "keyword.operator");
  e("count x in", "1000000", "constant.numeric");
  e("is missing", "missing", "constant.language");
  e("== true", "true", "constant.language");
  e("8542.31", "8542.31", "constant.numeric");
  e("verdict prohibited", "verdict", "keyword.other");
  e("verdict prohibited", "prohibited", "constant.language");
  e("message \"{item", "message", "keyword.other");
  e("message \"{item", "{item.description}", "string.quoted.double");
  e("message \"{item", "item.description", "variable.other.placeholder");
  e("message \"{item", "{{", "constant.character.escape");
  e("message \"{item", '\\"', "constant.character.escape");
  e("relaxes eu.833", "relaxes", "keyword.other");
  e("relaxes eu.833", "eu.833.sample", "entity.name.function");
  e("relaxes eu.833", "*", "keyword.operator");
  e("leaves nothing", "nothing", "constant.language");
  e("leaves review", "review", "constant.language");

  const unterminated = path.join(here, "samples", "unterminated.rules");
  const u = check(unterminated, { allowInvalid: true });
  expect(unterminated, u, "title \"Goods", '"Goods sent to Russia', "invalid.illegal");
  expect(unterminated, u, "citation", "citation", "keyword.other");
  expect(unterminated, u, "citation", '"Council Regulation"', "string.quoted.double");
  expect(unterminated, u, "message", '"{item.description} to', "invalid.illegal");
  expect(unterminated, u, "verdict", "prohibited", "constant.language");
}

// ---- run ------------------------------------------------------------------------

if (defaultRun) {
  const inDir = (...parts) =>
    fs
      .readdirSync(path.join(root, ...parts))
      .filter((n) => n.endsWith(".rules"))
      .sort()
      .map((n) => path.join(root, ...parts, n));
  const targets = [
    ...walk(path.join(root, "rules")),
    ...inDir("tests", "fixtures", "rules"),
    ...inDir("benches", "peer", "rules"),
  ];
  for (const f of targets) check(f);
  sampleExpectations();
} else {
  for (const f of files) {
    if (!fs.existsSync(f)) usage(`no such file: ${f}`);
    check(f);
  }
}

console.log(
  `tokenized ${totals.files} files, ${totals.lines} lines, ${totals.tokens} tokens with ${rel(grammarPath)}: ` +
    (failures.length === 0 ? "ok" : `${failures.length} failures`),
);
if (failures.length > 0) {
  for (const f of failures) console.error(f);
  process.exit(1);
}
