"""Reading the logs of benches/peer/run.sh: one repetition of one engine a file,
LOG_DIR/<label>-<engine>-r<rep>.log, each the stderr of one run under /usr/bin/time -v.
Shared by table.py (one run's table) and pool.py (several runs together)."""
import collections
import glob
import json
import os
import re

ENGINES = ["regorus", "regorus-rvm", "cedar", "reference", "parse-only", "rulecheck-15k-j1", "rulecheck-j1",
           "rulecheck-j2"]
NAMES = {
    "regorus": "regorus (tree-walker)",
    "regorus-rvm": "regorus RVM",
    "cedar": "cedar-policy",
    "reference": "Python reference (json + dict lookups)",
    "parse-only": "parse-only: JSON line → rulecheck `Shipment` (no rules, no output)",
    "rulecheck-15k-j1": "rulecheck `--jobs 1` with the 15k list, paired with each 150k run",
    "rulecheck-j1": "**rulecheck `--jobs 1`**",
    "rulecheck-j2": "rulecheck `--jobs 2`",
}


def time_v(text, key):
    m = re.search(re.escape(key) + r": (.+)$", text, re.M)
    return m.group(1).strip() if m else None


def wall_s(text):
    v = time_v(text, "Elapsed (wall clock) time (h:mm:ss or m:ss)")
    if not v:
        return None
    parts = [float(x) for x in v.split(":")]
    s = 0.0
    for p in parts:
        s = s * 60 + p
    return s


def parse(engine, text):
    r = {"rss_mib": int(time_v(text, "Maximum resident set size (kbytes)") or 0) / 1024,
         "cpu": time_v(text, "Percent of CPU this job got"), "wall": wall_s(text)}
    if engine in ("regorus", "regorus-rvm", "cedar"):
        st = json.loads(re.search(r"^STATS (.*)$", text, re.M).group(1))
        r.update(tput=st["throughput_per_s"], load_ms=st["load_ms"], median_us=st["median_us"])
    elif engine == "reference":
        m = re.search(r"load ([\d.]+) ms, eval (\d+) shipments in [\d.]+ s \((\d+)/s", text)
        r.update(tput=float(m.group(3)), load_ms=float(m.group(1)))
    elif engine == "parse-only":
        m = re.search(r"parse-only: (\d+) records, (\d+) errors, ([\d.]+) s, (\d+) records/s", text)
        r.update(tput=float(m.group(4)))
    else:  # rulecheck
        m = re.search(r": (\d+) records: .*?; (\d+) errors?; (\d+) records/s", text)
        n, rate = int(m.group(1)), float(m.group(3))
        r.update(tput=rate)
        if r["wall"] is not None:
            # wall time of the process minus the loop = process start + rule and list load
            r["load_ms"] = max(0.0, (r["wall"] - n / rate) * 1e3)
    return r


def read_runs(d):
    """{(label, engine): [repetition, ...]} in repetition order."""
    runs = collections.defaultdict(list)
    found = []
    for path in glob.glob(os.path.join(d, "*-r[0-9]*.log")):
        m = re.match(r"(c100k-sdn15k|c100k-sdn150k)-(.+)-r(\d+)\.log$", os.path.basename(path))
        if m and m.group(2) in ENGINES:
            found.append((m.group(1), m.group(2), int(m.group(3)), path))
    for label, engine, _, path in sorted(found):
        runs[(label, engine)].append(parse(engine, open(path, encoding="utf-8").read()))
    return runs


def read_metrics(d):
    """The `name value` lines run.sh writes to LOG_DIR/metrics.txt."""
    metrics = {}
    path = os.path.join(d, "metrics.txt")
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            if line.strip():
                k, v = line.split(None, 1)
                metrics[k] = v.strip()
    return metrics
