#!/usr/bin/env python3
"""Several runs of benches/peer/run.sh taken together: the single-thread targets over all
their repetitions, as well as run by run.

  python3 pool.py LOG_DIR [LOG_DIR ...]

Each LOG_DIR is the logs of one run (run.sh keeps a copy of each under $WORK/runs/).
On a host whose speed drifts by a fifth from one minute to the next, one run's medians
decide a target that is within a few per cent of the line by the luck of that run; the
median of every repetition of every run says where it stands. Two figures are given for
each ratio to rulecheck's single-job rate:

  * pooled: the median of all of rulecheck's repetitions over the median of all of the
    other engine's;
  * by round: the median, over every round of every run, of the ratio of rulecheck's
    repetition to the other engine's in the same round (run.sh runs each engine once a
    round, in turn, so the two are at most a minute apart).
"""
import statistics
import sys

from logs import NAMES, read_metrics, read_runs

LABEL = "c100k-sdn15k"
# (engine, target ratio of rulecheck's single-job rate to the engine's)
TARGETS = [("cedar", 8), ("regorus-rvm", 8), ("reference", 5), ("parse-only", 0.7)]

dirs = sys.argv[1:]
if not dirs:
    sys.exit(__doc__)
runs = [read_runs(d) for d in dirs]
commits = sorted({read_metrics(d).get("commit", "?") for d in dirs})
med = statistics.median


def reps(engine):
    return [[r["tput"] for r in run.get((LABEL, engine), [])] for run in runs]


j1 = reps("rulecheck-j1")
print(f"{len(dirs)} runs, commit {', '.join(commits)}, {sum(map(len, j1))} repetitions of rulecheck `--jobs 1`\n")
print("| target | " + " | ".join(f"run {i + 1}" for i in range(len(dirs))) + " | pooled | by round |")
print("|---|" + "---|" * (len(dirs) + 2))


def fmt(x, k):
    return f"{100 * x:.1f} %" if k < 1 else f"{x:.2f}×"


def row(name, k, top, bottom):
    """The row of the ratio of `top`'s rates to `bottom`'s (repetitions by run): run by
    run, pooled, and by round."""
    per_run = [med(a) / med(b) if a and b else None for a, b in zip(top, bottom)]
    pooled = med(sum(top, [])) / med(sum(bottom, []))
    by_round = med([x / y for a, b in zip(top, bottom) for x, y in zip(a, b)])
    cells = [fmt(x, k) if x else "—" for x in per_run]
    print(f"| {name} | " + " | ".join(cells) + f" | {fmt(pooled, k)} | {fmt(by_round, k)} |")


for engine, k in TARGETS:
    other = reps(engine)
    if any(other):
        row(f"single thread ≥ {k}× {NAMES[engine]}" if k >= 1 else "end-to-end ≥ 70 % of the parse-only pass",
            k, j1, other)
j2 = reps("rulecheck-j2")
if any(j2):
    row("2 jobs ≥ 1.7× 1 job", 1.7, j2, j1)
