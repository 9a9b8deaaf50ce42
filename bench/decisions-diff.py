#!/usr/bin/env python3
"""Compares two decision files (`sekimori replay FILE --out DECISIONS`, one
JSON decision a line, in event order) line by line and says how they differ.

Usage: python3 bench/decisions-diff.py EVENTS BEFORE AFTER [--examples N] [--json OUT]

Each differing line is put in the first class that applies:
  action    the action differs (counted as before -> after)
  reasons   same action; the rules that fired (name, action, shadow) differ
  score     same action and rules; the score or a reason's score differs
  features  same action, rules and scores; a feature's value or the set of
            features differs (named)
  other     only other fields (named), e.g. a reason's text or the pack's name
Prints a short report; with --json writes the counts and examples.
"""

import collections
import json
import sys


def main():
    args = sys.argv[1:]
    examples = 5
    json_out = None
    if "--examples" in args:
        i = args.index("--examples")
        examples = int(args[i + 1])
        del args[i:i + 2]
    if "--json" in args:
        i = args.index("--json")
        json_out = args[i + 1]
        del args[i:i + 2]
    events_path, before_path, after_path = args
    with open(events_path) as f:
        events = [line for line in f if line.strip()]
    with open(before_path) as f:
        before = f.read().splitlines()
    with open(after_path) as f:
        after = f.read().splitlines()

    classes = collections.Counter()
    transitions = collections.Counter()
    rules_added = collections.Counter()
    rules_removed = collections.Counter()
    features_changed = collections.Counter()
    other_keys = collections.Counter()
    by_type = collections.Counter()
    shown = collections.defaultdict(list)
    first = {}
    n = min(len(before), len(after))

    def fired(d):
        return [(r.get("rule"), r.get("action"), bool(r.get("shadow"))) for r in d.get("reasons", [])]

    for i in range(n):
        if before[i] == after[i]:
            continue
        b, a = json.loads(before[i]), json.loads(after[i])
        if b.get("action") != a.get("action"):
            cls = "action"
            transitions[(b.get("action"), a.get("action"))] += 1
        elif fired(b) != fired(a):
            cls = "reasons"
        elif b.get("score") != a.get("score") or [r.get("score") for r in b.get("reasons", [])] != [
            r.get("score") for r in a.get("reasons", [])
        ]:
            cls = "score"
        elif b.get("features") != a.get("features"):
            cls = "features"
        else:
            cls = "other"
        if cls in ("action", "reasons"):
            fb, fa = set(fired(b)), set(fired(a))
            for r in fa - fb:
                rules_added[f"{r[0]} ({r[1]}{', shadow' if r[2] else ''})"] += 1
            for r in fb - fa:
                rules_removed[f"{r[0]} ({r[1]}{', shadow' if r[2] else ''})"] += 1
        fb, fa = b.get("features", {}), a.get("features", {})
        for k in set(fb) | set(fa):
            if fb.get(k, "<absent>") != fa.get(k, "<absent>"):
                features_changed[k] += 1
        for k in set(b) | set(a):
            if k not in ("action", "reasons", "score", "features") and b.get(k) != a.get(k):
                other_keys[k] += 1
        if cls == "other":
            for rb, ra in zip(b.get("reasons", []), a.get("reasons", [])):
                for k in set(rb) | set(ra):
                    if rb.get(k) != ra.get(k):
                        other_keys[f"reasons[].{k}"] += 1
        classes[cls] += 1
        by_type[b.get("event_type")] += 1
        first.setdefault(cls, i + 1)
        if len(shown[cls]) < examples:
            shown[cls].append({
                "line": i + 1,
                "event": json.loads(events[i]) if i < len(events) else None,
                "before": b,
                "after": a,
            })

    differ = sum(classes.values())
    print(f"{n} decisions compared ({len(before)} before, {len(after)} after); "
          f"{n - differ} byte-identical, {differ} differ")
    for cls in ("action", "reasons", "score", "features", "other"):
        if classes[cls]:
            print(f"  {cls}: {classes[cls]} (first at line {first[cls]})")
    if transitions:
        print("  actions, before -> after: " + ", ".join(
            f"{b}->{a} {c}" for (b, a), c in transitions.most_common()))
    for title, counter in (("rules firing only after", rules_added),
                           ("rules firing only before", rules_removed),
                           ("features whose value differs", features_changed),
                           ("other fields that differ", other_keys),
                           ("differing decisions by event type", by_type)):
        if counter:
            print(f"  {title}: " + ", ".join(f"{k} {c}" for k, c in counter.most_common(12)))
    if json_out:
        with open(json_out, "w") as f:
            json.dump({
                "compared": n, "differ": differ, "classes": classes,
                "transitions": {f"{b}->{a}": c for (b, a), c in transitions.items()},
                "rules_added": rules_added, "rules_removed": rules_removed,
                "features_changed": features_changed, "other_keys": other_keys,
                "by_type": by_type, "examples": shown,
            }, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
