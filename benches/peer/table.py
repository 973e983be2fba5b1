#!/usr/bin/env python3
"""Turn the logs of benches/peer/run.sh into the side-by-side table and the target check.

  python3 table.py LOG_DIR > summary.md

Reads LOG_DIR/<label>-<engine>-r<rep>.log (each the stderr of one run under
/usr/bin/time -v) and LOG_DIR/metrics.txt (`name value` lines written by run.sh).
Throughput is the median over repetitions; peak RSS the maximum.

Every throughput here is shipments / wall time of the whole streaming loop, single
process, including reading the input lines and writing the result lines, excluding the
load of policy and lists:
  * peer engines: their own `STATS` line (loop wall clock);
  * rulecheck: its summary line (`N records/s`, timed from after the rules are loaded
    to the last record written);
  * Python reference: its own line (`NNN/s`);
  * parse-only: its own line.
"""
import statistics
import sys

from logs import ENGINES, NAMES, read_metrics, read_runs

d = sys.argv[1] if len(sys.argv) > 1 else "logs"
runs = read_runs(d)
metrics = read_metrics(d)

med = statistics.median


def agg(label, eng):
    rs = runs.get((label, eng))
    if not rs:
        return None
    out = {"reps": len(rs), "tput": med([r["tput"] for r in rs]), "rss": max(r["rss_mib"] for r in rs),
           "cpu": "/".join(r["cpu"] or "?" for r in rs)}
    if all("load_ms" in r for r in rs):
        out["load_ms"] = med([r["load_ms"] for r in rs])
    if all("median_us" in r for r in rs):
        out["median_us"] = med([r["median_us"] for r in rs])
    return out


def table(label, title):
    rc = agg(label, "rulecheck-j1")
    print(f"\n### {title}\n")
    print("| engine | reps | shipments/s | µs/shipment (wall ÷ n) | engine's own median µs (prep+eval) "
          "| load ms | peak RSS MiB | CPU | rulecheck j1 ÷ this |")
    print("|---|---|---|---|---|---|---|---|---|")
    for e in ENGINES:
        a = agg(label, e)
        if not a:
            continue
        ratio = f"{rc['tput'] / a['tput']:.2f}×" if rc else "—"
        own = f"{a['median_us']:.1f}" if "median_us" in a else "—"
        load = f"{a['load_ms']:,.0f}" if "load_ms" in a else "—"
        print(f"| {NAMES[e]} | {a['reps']} | {a['tput']:,.0f} | {1e6 / a['tput']:.1f} | {own} | {load} "
              f"| {a['rss']:.1f} | {a['cpu']} | {ratio} |")


table("c100k-sdn15k", "100,000 shipments, 15,000-entry SDN list")
table("c100k-sdn150k", "Scaling point: the same 100,000 shipments, 150,000-entry SDN list")

# ------------------------------------------------------------------------ targets
print("\n### The issue's targets\n")
print("| target | measured | verdict |")
print("|---|---|---|")


def row(name, measured, ok):
    print(f"| {name} | {measured} | {'met' if ok else '**missed**'} |")


def t(label, e):
    a = agg(label, e)
    return a["tput"] if a else None


rc1, rc2 = t("c100k-sdn15k", "rulecheck-j1"), t("c100k-sdn15k", "rulecheck-j2")
for e, k in (("cedar", 8), ("regorus-rvm", 8), ("reference", 5)):
    other = t("c100k-sdn15k", e)
    if rc1 and other:
        row(f"single thread ≥ {k}× {NAMES[e]}", f"{rc1 / other:.2f}× ({rc1:,.0f} vs {other:,.0f} shipments/s)",
            rc1 / other >= k)
po = t("c100k-sdn15k", "parse-only")
if rc1 and po:
    row("end-to-end ≥ 70% of a parse-only pass", f"{100 * rc1 / po:.0f}% ({rc1:,.0f} vs {po:,.0f} shipments/s)",
        rc1 / po >= 0.7)
if rc1 and rc2:
    row("2 jobs ≥ 1.7× 1 job", f"{rc2 / rc1:.2f}×", rc2 / rc1 >= 1.7)
r150 = t("c100k-sdn150k", "rulecheck-j1")
pairs = list(zip(runs.get(("c100k-sdn150k", "rulecheck-15k-j1"), []), runs.get(("c100k-sdn150k", "rulecheck-j1"), [])))
if pairs:
    # Each 150k run against the 15k run just before it: the host's drift between the
    # benchmark's blocks does not enter the ratio.
    ratio = med([a["tput"] / b["tput"] for a, b in pairs])
    row("150k-entry SDN list ≤ 1.2× the evaluation time of 15k",
        f"{ratio:.2f}× (time per shipment; median of {len(pairs)} runs each paired with a 15k run next to it)",
        ratio <= 1.2)
elif rc1 and r150:
    row("150k-entry SDN list ≤ 1.2× the evaluation time of 15k", f"{rc1 / r150:.2f}× (time per shipment)",
        rc1 / r150 <= 1.2)
if "startup_ms_sdn15k" in metrics and "startup_ms_sdn150k" in metrics:
    s15, s150 = float(metrics["startup_ms_sdn15k"]), float(metrics["startup_ms_sdn150k"])
    row("150k-entry SDN list loads in well under a second",
        f"{s150:,.0f} ms to start and answer one shipment with 150k entries ({s15:,.0f} ms with 15k)",
        s150 < 500)
if "rss_kib_10k" in metrics and "rss_kib_1m" in metrics:
    a, b = int(metrics["rss_kib_10k"]), int(metrics["rss_kib_1m"])
    row("peak memory for 1,000,000 shipments ≤ 1.2× that for 10,000",
        f"{b / 1024:.1f} MiB vs {a / 1024:.1f} MiB = {b / a:.2f}× (default jobs, stdin)", b / a <= 1.2)
if "bundled_us_per_shipment" in metrics:
    v = float(metrics["bundled_us_per_shipment"])
    row("bundled library: one shipment in tens of µs at most",
        f"{v:.0f} µs/shipment (bundled rules, 10k peer shipments, `--jobs 1`, incl. parse and output)", v < 100)
if "bundled_one_yaml_ms" in metrics:
    v = float(metrics["bundled_one_yaml_ms"])
    row("`rulecheck eval one.yaml` (bundled rules) under 50 ms wall",
        f"{v:.0f} ms (median of 5, examples/bishkek-microcontrollers.yaml)", v < 50)
