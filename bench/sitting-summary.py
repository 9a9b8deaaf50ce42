#!/usr/bin/env python3
"""summary.md of a sitting (bench/sitting.sh): a before/after table of every
headline number, read from the JSON and text the benchmarks wrote.

Usage: python3 bench/sitting-summary.py OUT > OUT/summary.md
Each cell lists every run of that binary (the sitting alternates base and
after); a missing number is "-" (the benchmark was skipped or failed: see
timings.tsv and the benchmark's .txt).
"""

import glob
import gzip
import json
import os
import re
import statistics
import sys

OUT = sys.argv[1]
WHO = ("base", "after")


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def runs(who, name, file):
    """The JSON of every run of a benchmark, in order."""
    found = []
    for d in glob.glob(os.path.join(OUT, who, f"{name}*")):
        m = re.fullmatch(re.escape(name) + r"(?:-(\d+))?", os.path.basename(d))
        if m and os.path.exists(os.path.join(d, file)):
            found.append((int(m.group(1) or 0), os.path.join(d, file)))
    paths = [p for _, p in sorted(found)]
    return [d for d in (load(p) for p in paths) if d is not None]


def get(d, *path):
    for k in path:
        if isinstance(d, dict) and k in d:
            d = d[k]
        elif isinstance(d, list) and isinstance(k, int) and -len(d) <= k < len(d):
            d = d[k]
        else:
            return None
    return d


def fmt(x, unit=""):
    if x is None:
        return "-"
    if isinstance(x, float) and abs(x) < 100:
        s = f"{x:.2f}"
    else:
        s = f"{x:,.0f}"
    return s + unit


def cell(values, unit=""):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return " / ".join(fmt(v, unit) for v in values)


def change(b, a, higher_better=True):
    b = [v for v in b if v is not None]
    a = [v for v in a if v is not None]
    if not b or not a:
        return ""
    mb, ma = statistics.median(b), statistics.median(a)
    if mb == 0:
        return ""
    r = ma / mb
    better = r > 1 if higher_better else r < 1
    return f"{r:.2f}x" + ("" if abs(r - 1) < 0.02 else (" better" if better else " worse"))


rows = []


def row(label, b, a, unit="", higher_better=True):
    rows.append((label, cell(b, unit), cell(a, unit), change(b, a, higher_better)))


# --- replay -----------------------------------------------------------------
for kind, what in (("replay-own", "own world, own pack"), ("replay-same", "same file, base pack")):
    data = {w: runs(w, kind, "replay.json") for w in WHO}
    if not any(data.values()):
        continue
    ev = {w: [get(d, "events") for d in data[w]] for w in WHO}
    rows.append((f"**replay, {what}** (events: base {cell(ev['base'][:1])}, after {cell(ev['after'][:1])})", "", "", ""))
    for key, label in (
        ("one_core", "1 core, decode + decide (events/s)"),
        ("two_cores", "2 cores (events/s)"),
        ("decode_only", "decode only (events/s)"),
        ("decide_only", "decide only (events/s)"),
    ):
        row(label, [get(d, key, "events_per_s") for d in data["base"]],
            [get(d, key, "events_per_s") for d in data["after"]])
    us = {w: [1e6 / get(d, "decide_only", "events_per_s") for d in data[w]
              if get(d, "decide_only", "events_per_s")] for w in WHO}
    row("decide µs an event", us["base"], us["after"], " µs", higher_better=False)
    dig = {w: sorted({str(get(d, "decision_digest"))[:12] for d in data[w] if get(d, "decision_digest")}) for w in WHO}
    rows.append(("decision digest", ", ".join(dig["base"]) or "- (not printed)", ", ".join(dig["after"]) or "-", ""))
    acts = {w: get(data[w][0], "actions") if data[w] else None for w in WHO}
    rows.append(("actions", json.dumps(acts["base"]), json.dumps(acts["after"]), ""))

# --- callgrind ----------------------------------------------------------------
cg_events = None
try:
    with open(os.path.join(OUT, "callgrind.txt")) as f:
        m = re.search(r"events: (\d+)", f.read())
        cg_events = int(m.group(1)) if m else None
except OSError:
    pass


def callgrind_total(who, what):
    path = os.path.join(OUT, who, f"callgrind-{what}.out.gz")
    if not os.path.exists(path):
        return None
    with gzip.open(path, "rt") as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    return None


if cg_events:
    rows.append((f"**callgrind** ({cg_events} events, base pack)", "", "", ""))
    for what, label in (("decide", "instructions a decision"), ("decode", "instructions a decode")):
        t = {w: callgrind_total(w, what) for w in WHO}
        row(label, [t["base"] / cg_events if t["base"] else None],
            [t["after"] / cg_events if t["after"] else None], higher_better=False)
    t = callgrind_total("after", "decide-ownpack")
    row("instructions a decision, after's own pack", [], [t / cg_events if t else None],
        higher_better=False)

# --- memory ------------------------------------------------------------------
data = {w: runs(w, "memory", "memory.json") for w in WHO}
if any(data.values()):
    rows.append(("**memory**", "", "", ""))
    for i in range(max(len(get(d, "engine") or []) for w in WHO for d in data[w] or [{}]) if any(data.values()) else 0):
        n = next((get(d, "engine", i, "entities") for w in WHO for d in data[w] if get(d, "engine", i)), None)
        row(f"bytes per tracked entity ({fmt(n)} entities, resident)",
            [get(d, "engine", i, "rss_bytes_per_entity") for d in data["base"]],
            [get(d, "engine", i, "rss_bytes_per_entity") for d in data["after"]], " B", False)
        row(f"bytes per tracked window ({fmt(n)} entities, resident)",
            [get(d, "engine", i, "rss_bytes_per_window") for d in data["base"]],
            [get(d, "engine", i, "rss_bytes_per_window") for d in data["after"]], " B", False)
    cases = []
    for w in WHO:
        for d in data[w]:
            for c in get(d, "windows") or []:
                if c.get("case") not in cases:
                    cases.append(c.get("case"))

    def per_case(d, case):
        for c in get(d, "windows") or []:
            if c.get("case") == case:
                return c.get("rss_bytes_per_window")
        return None

    for case in cases:
        row(f"bytes per window, {case}", [per_case(d, case) for d in data["base"]],
            [per_case(d, case) for d in data["after"]], " B", False)

# --- scaling -------------------------------------------------------------------
data = {w: runs(w, "scaling", "scaling.json") for w in WHO}
if any(data.values()):
    rows.append(("**scaling** (decide only, events/s)", "", "", ""))
    keys = []
    for w in WHO:
        for d in data[w]:
            for r in get(d, "by_rules") or []:
                if ("rules", r.get("rules")) not in keys:
                    keys.append(("rules", r.get("rules")))
            for r in get(d, "by_entities") or []:
                if ("entities", r.get("entities")) not in keys:
                    keys.append(("entities", r.get("entities")))

    def sc(d, kind, n):
        for r in get(d, f"by_{kind}") or []:
            if r.get(kind) == n:
                return r.get("events_per_s")
        return None

    for kind, n in keys:
        row(f"{fmt(n)} {kind}", [sc(d, kind, n) for d in data["base"]], [sc(d, kind, n) for d in data["after"]])

# --- ingest ----------------------------------------------------------------------
data = {w: runs(w, "ingest", "ingest.json") for w in WHO}
if any(data.values()):
    rows.append(("**ingest** (durable appends)", "", "", ""))
    levels = []
    for w in WHO:
        for d in data[w]:
            for lv in get(d, "levels") or []:
                if lv.get("in_flight") not in levels:
                    levels.append(lv.get("in_flight"))

    def ing(d, n):
        for lv in get(d, "levels") or []:
            if lv.get("in_flight") == n:
                return lv.get("appends_per_s")
        return None

    for n in levels:
        row(f"appends/s, {n} in flight", [ing(d, n) for d in data["base"]], [ing(d, n) for d in data["after"]])
    row("HTTP decisions/s (closed loop)", [get(d, "http", "decisions_per_s") for d in data["base"]],
        [get(d, "http", "decisions_per_s") for d in data["after"]])
    row("HTTP p99 (closed loop)", [get(d, "http", "latency_us", "p99") for d in data["base"]],
        [get(d, "http", "latency_us", "p99") for d in data["after"]], " µs", False)


# --- http ---------------------------------------------------------------------------
def http_rows(name, title, who_list=WHO):
    data = {w: runs(w, name, "http.json") if w in who_list else [] for w in WHO}
    if not any(data.values()):
        return
    rows.append((f"**{title}** (open loop, µs from the due time)", "", "", ""))
    rates = []
    for w in WHO:
        for d in data[w]:
            for r in get(d, "rates") or []:
                if r.get("rate") not in rates:
                    rates.append(r.get("rate"))

    def at(d, rate, *path):
        for r in get(d, "rates") or []:
            if r.get("rate") == rate:
                return get(r, *path)
        return None

    for rate in rates:
        for q in ("p50", "p99"):
            row(f"{q} at {fmt(rate)}/s", [at(d, rate, "latency_us", q) for d in data["base"]],
                [at(d, rate, "latency_us", q) for d in data["after"]], " µs", False)
        row(f"achieved at {fmt(rate)}/s", [at(d, rate, "achieved_per_s") for d in data["base"]],
            [at(d, rate, "achieved_per_s") for d in data["after"]])

    def saturation(d):
        ach = [r.get("achieved_per_s") for r in get(d, "rates") or [] if r.get("achieved_per_s")]
        return max(ach) if ach else None

    row("saturation (highest achieved/s)", [saturation(d) for d in data["base"]],
        [saturation(d) for d in data["after"]])


http_rows("http", "HTTP, one request an event")
http_rows("http-stream", "HTTP stream (after only)", ("after",))

# --- redis ---------------------------------------------------------------------------
data = {w: runs(w, "redis", "redis.json") for w in WHO}
if any(data.values()):
    rows.append(("**Redis-counter baseline**", "", "", ""))
    for key, label in (("ratio_per_event", "sekimori / Redis, one round trip an event"),
                       ("ratio_batched", "sekimori / Redis, batched")):
        row(label, [get(d, key) for d in data["base"]], [get(d, key) for d in data["after"]])


# --- divan ---------------------------------------------------------------------------
UNITS = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}


def divan(path):
    """name -> median ns, from divan's tree table."""
    out, stack = {}, []
    try:
        text = open(path).read()
    except OSError:
        return out
    for line in text.splitlines():
        m = re.match(r"^([│├╰─ ]*)([^│├╰─ ][^│]*?)\s{2,}(.*)$", line) or re.match(r"^([│├╰─ ]*)(\S+)\s*$", line)
        if not m or line.startswith("=="):
            continue
        depth = len(m.group(1)) // 3
        name = m.group(2).strip()
        stack = stack[:depth] + [name]
        cols = [c.strip() for c in (m.group(3) if m.lastindex >= 3 else "").split("│")]
        if len(cols) >= 3:
            mm = re.match(r"^([\d.]+)\s*(ps|ns|µs|us|ms|s)$", cols[2])
            if mm:
                out["/".join(stack)] = float(mm.group(1)) * UNITS[mm.group(2)]
    return out


for bench in ("windows", "decode", "rules"):
    med = {w: divan(os.path.join(OUT, w, f"micro-{bench}.txt")) for w in WHO}
    if not med["base"] and not med["after"]:
        continue
    rows.append((f"**divan `{bench}`** (median, ns)", "", "", ""))
    names = list(med["base"]) + [n for n in med["after"] if n not in med["base"]]
    for n in names:
        row(n, [med["base"].get(n)], [med["after"].get(n)], " ns", False)

# --- print ---------------------------------------------------------------------------
print(f"# Sitting: {os.path.basename(OUT.rstrip('/'))}\n")
try:
    print("```\n" + open(os.path.join(OUT, "machine.txt")).read().rstrip() + "\n```\n")
except OSError:
    pass
print("Every run of each binary is listed (base and after alternated); the change is the")
print("ratio of the medians, after / base.\n")
print("| measure | base | after | after / base |")
print("| --- | ---: | ---: | ---: |")
for r in rows:
    print("| " + " | ".join(r) + " |")

print("\n## Time of each part\n")
print("| part | binary | run | seconds | exit | load before | load after |")
print("| --- | --- | --- | ---: | ---: | --- | --- |")
totals = {}
try:
    for line in open(os.path.join(OUT, "timings.tsv")):
        f = line.rstrip("\n").split("\t")
        if len(f) >= 7:
            print("| " + " | ".join(f) + " |")
            totals[f[0]] = totals.get(f[0], 0.0) + float(f[3])
except OSError:
    pass
print("\n| part | seconds |\n| --- | ---: |")
for k, v in totals.items():
    print(f"| {k} | {v:.0f} |")
print(f"| all | {sum(totals.values()):.0f} |")

plots = sorted(glob.glob(os.path.join(OUT, "*", "*", "*.png")))
if plots:
    print("\n## Plots\n")
    for p in plots:
        rel = os.path.relpath(p, OUT)
        print(f"- [{rel}]({rel})")
