#!/usr/bin/env python3
"""Render the simulator's login attempts as an sshd auth log and as JSONL.

Input: the events the undefended world sent (`sekimori simulate --baseline none
--events EV.jsonl`) and its `ground_truth.jsonl`.

Kept: every `login.attempt` of the takeover scenarios below, and every honest
`login.attempt` (an event not listed in the ground truth), sorted by their own
time (the simulator writes events in the order it sends them, and a session
can send some a few minutes ahead of others; the sort is stable, so ties keep
that order). Login attempts of other attack scenarios are left out and counted.

Output, in OUT:
  auth.log      one sshd line per attempt, for CrowdSec's stock syslog + sshd
                parsers:
                  2026-06-24T00:00:03.260Z wallet sshd[4711]: Failed password for w-4e461bcd from 100.65.3.7 port 51234 ssh2
                  2026-06-24T00:00:03.260Z wallet sshd[4711]: Accepted password for w-4e461bcd from 100.65.3.7 port 51234 ssh2
                The timestamp is the event's own RFC 3339 time (UTC), which the
                SYSLOGBASE2 pattern takes as TIMESTAMP_ISO8601: no year is
                guessed, unlike "Jun 24 00:00:03". The host is the service that
                reported the attempt (wallet, netbank, bank-0243, ...); every
                service's sshd feeds the same CrowdSec, as the services share
                sekimori.
  logins.jsonl  the same attempts, the simulator's JSON verbatim, for
                `sekimori replay`.
  auth-control.log
                the same log, but every attempt of a scenario comes from one
                address (198.51.100.N, one N per scenario): what CrowdSec would
                see from an attacker who does not rotate addresses. A control
                that its buckets fire on this traffic's pacing.
  alone/SCENARIO.jsonl
                logins.jsonl with the honest attempts and that scenario's only:
                all scenarios share one world, and sekimori's secret counters see
                every scenario's tries, so run.sh also replays each alone.
  render.json   counts, and the control's address per scenario.

Usage: render.py EVENTS.jsonl GROUND_TRUTH.jsonl OUT_DIR
"""

import hashlib
import json
import os
import re
import sys
from datetime import datetime

TAKEOVER = [
    "docomo-koza",
    "docomo-koza-slow",
    "password-spray",
    "crypto-stuffing-2018",
    "7pay",
    "sbi",
    "phishing-ato",
    "mitb",
]

USER_OK = re.compile(r"[^A-Za-z0-9._-]")  # grok USERNAME
HOST_OK = re.compile(r"[^A-Za-z0-9.-]")


def ground_truth(path):
    """event id -> scenario, for the first baseline listed (the run's events)."""
    truth, baseline = {}, None
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            g = json.loads(line)
            baseline = baseline or g["baseline"]
            if g["baseline"] == baseline:
                truth[g["event_id"]] = g["scenario"]
    return truth


def instant(at):
    """RFC 3339 -> aware datetime (Python 3.11 reads any fraction length)."""
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def control_ip(scenario):
    return f"198.51.100.{TAKEOVER.index(scenario) + 1}"


def sshd_line(e, ip=None):
    digest = hashlib.sha256(e["id"].encode()).digest()
    port = 1024 + int.from_bytes(digest[:2], "big") % (65536 - 1024)
    pid = 1000 + int.from_bytes(digest[2:4], "big") % 30000
    host = HOST_OK.sub("-", str(e.get("service") or "auth")) or "auth"
    user = USER_OK.sub("_", str(e.get("account") or "unknown")) or "unknown"
    verb = "Accepted" if e.get("result") == "success" else "Failed"
    return (
        f'{e["at"]} {host} sshd[{pid}]: {verb} password for {user} '
        f'from {ip or e["actor"]["ip"]} port {port} ssh2'
    )


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    events, truth_path, out = sys.argv[1:]
    truth = ground_truth(truth_path)
    os.makedirs(out, exist_ok=True)

    kept = []  # (at, seq, raw line, event)
    skipped = {}
    seq = 0
    with open(events) as f:
        for raw in f:
            if not raw.strip():
                continue
            e = json.loads(raw)
            if e.get("type") != "login.attempt":
                continue
            scenario = truth.get(e["id"], "honest")
            if scenario != "honest" and scenario not in TAKEOVER:
                skipped[scenario] = skipped.get(scenario, 0) + 1
                continue
            kept.append((instant(e["at"]), seq, raw.rstrip("\n"), e))
            seq += 1

    # Both tools get the attempts in time order (CrowdSec's buckets run on the
    # lines' timestamps).
    in_order = all(kept[i][0] <= kept[i + 1][0] for i in range(len(kept) - 1))
    if not in_order:
        kept.sort(key=lambda k: (k[0], k[1]))

    counts = {"honest": 0, **{s: 0 for s in TAKEOVER}}
    with open(os.path.join(out, "auth.log"), "w") as log, open(
        os.path.join(out, "auth-control.log"), "w"
    ) as ctl, open(os.path.join(out, "logins.jsonl"), "w") as jl:
        for _, _, raw, e in kept:
            scenario = truth.get(e["id"], "honest")
            log.write(sshd_line(e) + "\n")
            ctl.write(
                sshd_line(e, None if scenario == "honest" else control_ip(scenario))
                + "\n"
            )
            jl.write(raw + "\n")
            counts[scenario] += 1
    os.makedirs(os.path.join(out, "alone"), exist_ok=True)
    for scen in TAKEOVER:
        with open(os.path.join(out, "alone", f"{scen}.jsonl"), "w") as f:
            for _, _, raw, e in kept:
                if truth.get(e["id"], "honest") in ("honest", scen):
                    f.write(raw + "\n")

    summary = {
        "attempts": len(kept),
        "by_scenario": counts,
        "skipped_other_attack_scenarios": skipped,
        "resorted": not in_order,
        "control_ips": {s: control_ip(s) for s in TAKEOVER},
        "first": kept[0][3]["at"] if kept else None,
        "last": kept[-1][3]["at"] if kept else None,
    }
    with open(os.path.join(out, "render.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    print(
        f"rendered {len(kept)} login attempts ({counts['honest']} honest) "
        f"-> {out}/auth.log, {out}/logins.jsonl",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
