#!/usr/bin/env python3
"""Convert `rulecheck eval` JSON Lines output to the peer harness's result lines.

  python3 to_peer.py --input SHIPMENTS.jsonl --rulecheck OUT.jsonl --out PEER.jsonl \
      [--errors ERRORS.jsonl]

Writes one `{"id", "verdict", "fired"}` line per shipment that rulecheck evaluated:
upper-case verdict (PROHIBITED, LICENSE_REQUIRED, REVIEW, CLEAR) and the POLICY.md ids
of the rules with a finding, sorted. This is the shape `check_agree.py` compares.

It also checks what the comparison would not see:

* rulecheck writes one output record per input record, in input order: the n-th output
  line must be the n-th non-blank input line (same shipment id), and the counts equal;
* a finding that rulecheck left *undecided* (a fact was missing, fail closed: the finding
  is `review` and says which facts it lacked) is not a rule firing in POLICY.md's sense:
  it is written as `<RULE_ID>?UNDECIDED` so that it shows up as a disagreement, never
  as a silent match;
* error records (the input contract rejected the record) name the input line, and the
  shipment id when the line had a readable one (checked against the input); they are
  left out of the result file and listed in --errors (one JSON line each: id, line,
  error).

Prints a one-line summary on stderr; exits 1 if the order or count check fails, or
with --require-clean if there is any error record or undecided finding.
"""
import argparse
import json
import sys

RULE_IDS = {
    "peer.r1": "R1_CHPL_RU_BY",
    "peer.r2": "R2_SDN_PARTY",
    "peer.r3": "R3_ECCN_LICENSE",
    "peer.r4": "R4_DIVERSION_CHPL_NO_END_USER",
    "peer.r5": "R5_HIGH_VALUE_DIVERSION",
}


def input_records(path):
    """(line number, shipment id or None) for every non-blank input line."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                sid = json.loads(line).get("id")
            except (ValueError, AttributeError):
                sid = None
            yield n, sid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True, help="the JSON Lines rulecheck read")
    ap.add_argument("--rulecheck", required=True, help="rulecheck's JSON Lines output")
    ap.add_argument("--out", required=True, help="peer result lines to write")
    ap.add_argument("--errors", help="where to list error records (default: not written)")
    ap.add_argument("--require-clean", action="store_true",
                    help="also fail on any error record or undecided finding (for the corpora)")
    args = ap.parse_args()

    problems = []
    n_out = n_err = n_undecided = 0
    errors = []
    with open(args.rulecheck, encoding="utf-8") as rc, open(args.out, "w", encoding="utf-8") as out:
        inputs = input_records(args.input)
        for k, line in enumerate(rc, 1):
            rec = json.loads(line)
            try:
                in_line, in_id = next(inputs)
            except StopIteration:
                problems.append(f"output record {k} has no input record")
                break
            if rec.get("verdict") == "error":
                if rec.get("line") != in_line:
                    problems.append(f"output record {k}: error for line {rec.get('line')}, expected line {in_line}")
                if "shipment" in rec and rec["shipment"] != in_id:
                    problems.append(f"output record {k}: error for {rec['shipment']!r}, input line {in_line} is {in_id!r}")
                errors.append({"id": in_id, "line": rec.get("line"), "error": rec.get("error")})
                n_err += 1
                continue
            if rec["shipment"] != in_id:
                problems.append(f"output record {k} is {rec['shipment']!r}, input line {in_line} is {in_id!r}")
            fired = []
            for f in rec["findings"]:
                rid = RULE_IDS.get(f["rule"], f["rule"])
                if f.get("missing"):
                    rid += "?UNDECIDED"
                    n_undecided += 1
                fired.append(rid)
            out.write(json.dumps({"id": rec["shipment"], "verdict": rec["verdict"].upper(),
                                  "fired": sorted(fired)}, separators=(",", ":")))
            out.write("\n")
            n_out += 1
        rest = sum(1 for _ in inputs)
        if rest:
            problems.append(f"{rest} input records have no output record")
    if args.errors:
        with open(args.errors, "w", encoding="utf-8") as f:
            for e in errors:
                f.write(json.dumps(e) + "\n")
    for p in problems[:20]:
        print(f"to_peer: {p}", file=sys.stderr)
    print(f"to_peer: {n_out} results, {n_err} error records, {n_undecided} undecided findings, "
          f"order/count check {'FAILED' if problems else 'ok'}", file=sys.stderr)
    if args.require_clean and (n_err or n_undecided):
        print("to_peer: error records or undecided findings where none are expected", file=sys.stderr)
        sys.exit(1)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
