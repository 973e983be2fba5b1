#!/usr/bin/env python3
"""Check rulecheck's error records on the harness's hand-written edge cases.

  python3 check_edge.py --errors ERRORS.jsonl --expected edge_cases.expected.jsonl \
      --filtered EXPECTED_WITHOUT_REJECTED.jsonl

Some edge cases are outside rulecheck's input contract (../shared/shipment-schema.md):
a shipment has at least one item, country codes are upper-case ISO 3166-1 alpha-2, an
ECCN is a digit, a category letter A-E and three digits (or EAR99). rulecheck answers
those with an error record instead of a verdict; that difference is expected. This
script checks that the error records are exactly those cases, each for its reason, and
writes the expected results of the other cases to --filtered for check_agree.py.
Exits 1 on any unexpected, missing or differently-motivated error.
"""
import argparse
import json
import re
import sys

# id -> (what the input contract says, a pattern the error message must match)
REJECTED = {
    "EDGE-empty-items-ru": ("no items: a shipment has at least one item", r"at least one item"),
    "EDGE-eccn-2char": ("ECCN `3A` is not an ECCN", r"`3A` is not an ECCN"),
    "EDGE-eccn-short-lower-empty": ("ECCNs `3`, `3a001`, `` are not ECCNs (the first is reported)",
                                    r"is not an ECCN"),
    "EDGE-lowercase-country": ("lower-case country codes (`ru`, `by`)", r"is not a country code: codes are upper case"),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--errors", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--filtered", required=True)
    args = ap.parse_args()

    with open(args.errors, encoding="utf-8") as f:
        errors = [json.loads(line) for line in f if line.strip()]
    with open(args.expected, encoding="utf-8") as f:
        expected = {d["id"]: d for d in (json.loads(line) for line in f if line.strip())}

    bad = 0
    seen = set()
    for e in errors:
        sid = e["id"]
        seen.add(sid)
        want = REJECTED.get(sid)
        policy = expected.get(sid, {})
        policy_says = f"{policy.get('verdict')} {policy.get('fired')}"
        if want is None:
            print(f"  UNEXPECTED error record for {sid} (line {e['line']}): {e['error']}")
            bad += 1
        elif not re.search(want[1], e["error"]):
            print(f"  {sid}: error for another reason than {want[0]!r}: {e['error']}")
            bad += 1
        else:
            print(f"  {sid} (line {e['line']}): error record as expected [{want[0]}]; "
                  f"POLICY.md's expected result was {policy_says}")
    for sid in sorted(REJECTED.keys() - seen):
        print(f"  {sid}: expected an error record (input contract), got a verdict")
        bad += 1

    with open(args.filtered, "w", encoding="utf-8") as f:
        for sid, d in expected.items():
            if sid not in REJECTED:
                f.write(json.dumps(d, separators=(",", ":")) + "\n")
    print(f"edge cases: {len(errors)} error records, {len(expected) - len(REJECTED)} cases left to compare; "
          + ("error records OK" if not bad else f"{bad} PROBLEMS"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
