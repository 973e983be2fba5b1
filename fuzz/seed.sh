#!/usr/bin/env bash
# Fills fuzz/corpus/TARGET with seeds taken from the project's own files (rules, examples,
# cases, bad inputs, list data) and writes a dictionary per target. Idempotent: run.sh
# calls it before every run, so the seeds follow the project's files as they change.
# The generated corpus is not committed (see .gitignore); hand-made seeds are in
# fuzz/seeds/TARGET and inputs that once crashed in fuzz/regressions/TARGET.
set -euo pipefail
cd "$(dirname "$0")"
root=..
target=${1:?usage: seed.sh TARGET}
out=corpus/$target
mkdir -p "$out"

# Copies a file into the corpus under a name that says where it came from.
put() {
    local src=$1 name
    name=$(echo "${src#"$root"/}" | tr '/' '_')
    cp "$src" "$out/seed_$name"
}

case $target in
parse_check)
    # Each rule file alone, each bad rule file, and each rule file with the common
    # declarations and regimes in front of it, so that it checks and compiles.
    while IFS= read -r -d '' f; do put "$f"; done \
        < <(find "$root/rules" "$root/tests/bad_rules" -name '*.rules' -print0)
    prelude=$(cat "$root/rules/common.rules" "$root/rules/regimes.rules")
    while IFS= read -r -d '' f; do
        name=$(echo "${f#"$root"/rules/}" | tr '/' '_')
        printf '%s\n%s\n' "$prelude" "$(cat "$f")" > "$out/seed_full_$name"
    done < <(find "$root/rules" -mindepth 2 -name '*.rules' -print0)
    # The grammar's literals: keywords, operators, punctuation.
    grep -o '"[^"\\]*"' "$root/grammar/rulecheck.pest" \
        | grep -E '^"[][A-Za-z0-9_.,:;{}()<>=!%+*#|&-]+"$' \
        | sort -u > corpus/parse_check.dict
    ;;
shipment_yaml)
    while IFS= read -r -d '' f; do put "$f"; done \
        < <(find "$root/examples" "$root/tests/bad_shipments" "$root/tests/cases" \
            -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' -o -name '*.jsonl' \) -print0)
    {
        for k in id date exporter consignee end_user intermediaries destination route \
            items contract licenses name country city owners percent role end_use \
            description hs_code eccn origin us_content_percent quantity unit value \
            amount currency no_russia_clause covers valid_until authority; do
            printf '"%s:"\n' "$k"
        done
        printf '"%s"\n' "- " "null" "~" "[]" "{}" "&a" "*a" "<<: " "!!str" "2024-04-12" \
            "\"8542.31\"" "RU" "KG" "1e400" ".nan" ".inf" "\\xef\\xbb\\xbf" "\\x0d\\x0a"
    } > corpus/shipment_yaml.dict
    ;;
list_loaders)
    # Every data file, cut to its first 300 lines (OFAC's files are large).
    while IFS= read -r -d '' f; do
        name=$(echo "${f#"$root"/}" | tr '/' '_')
        head -n 300 "$f" > "$out/seed_$name"
    done < <(find "$root/rules/data" "$root/tests/bad_rules" -type f \
        \( -name '*.csv' -o -name '*.yaml' -o -name '*.json' \) -print0)
    printf '"%s"\n' "-0- " "\"" "\"\"" "," "\\x0a" "\\x0d\\x0a" "\\x1a" "code" "name" "id" \
        "- " "[" "]" "{" "}" "\"key\":" "a.k.a." > corpus/list_loaders.dict
    ;;
eval_bundled)
    # Structured input: libFuzzer's bytes are decoded by `Arbitrary`; the project's
    # files mean nothing to it, so the corpus grows from empty.
    ;;
*)
    echo "unknown target: $target (parse_check, shipment_yaml, eval_bundled, list_loaders)" >&2
    exit 2
    ;;
esac
