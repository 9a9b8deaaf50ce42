#!/usr/bin/env bash
# sekimori vs CrowdSec on the simulator's takeover login attempts: one command
# regenerates everything (see README.md beside this file).
#
#   bash bench/crowdsec/run.sh                 # small world, seed 1 -> results.md
#   SIZE=medium SEED=2 bash bench/crowdsec/run.sh   # -> results-medium-seed2.md
#
# Environment:
#   SEKIMORI_BIN  a sekimori binary to use (default: cargo build --release -p sekimori)
#   SIZE, SEED    the simulated world (default small, 1)
#   OUT           working directory (default bench/crowdsec/out, git-ignored)
#   RESULTS       the markdown to write (default results.md for small/1)
#   REPEAT        timed runs of each tool; the report takes the median (default 3)
#   DUMP          1: CrowdSec parse check with -dump-data (default 1 for small
#                 only: the dump is ~10 KB per log line)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SIZE=${SIZE:-small}
SEED=${SEED:-1}
REPEAT=${REPEAT:-3}
if [ "$SIZE" = small ]; then DUMP=${DUMP:-1}; else DUMP=${DUMP:-0}; fi
OUT=${OUT:-$HERE/out}
if [ -z "${RESULTS:-}" ]; then
  if [ "$SIZE" = small ] && [ "$SEED" = 1 ]; then
    RESULTS=$HERE/results.md
  else
    RESULTS=$HERE/results-$SIZE-seed$SEED.md
  fi
fi
CMD="bash bench/crowdsec/run.sh"
[ "$SIZE" = small ] && [ "$SEED" = 1 ] || CMD="SIZE=$SIZE SEED=$SEED $CMD"

T0=$(date +%s.%N)
say() { printf '== %s\n' "$*" >&2; }
now() { date +%s.%N; }

# --------------------------------------------------------------------------
# 1. CrowdSec, from Debian, offline.
# The postinst registers to the Central API and fails without network; a
# non-empty /etc/crowdsec/online_api_credentials.yaml written beforehand makes
# it skip that (README.Debian). Only the binaries, the offline hub
# (/usr/share/crowdsec/hub) and the grok patterns (/etc/crowdsec/patterns) are
# used: no service, no /etc/crowdsec config, no /var/lib/crowdsec.
# --------------------------------------------------------------------------
cs_ready() {
  command -v crowdsec >/dev/null && command -v cscli >/dev/null &&
    [ -f /usr/share/crowdsec/hub/.index.json ] && [ -d /etc/crowdsec/patterns ]
}
if ! cs_ready || ! dpkg-query -W -f='${Status}' crowdsec 2>/dev/null | grep -q 'ok installed'; then
  say "installing crowdsec (Debian package, offline hub)"
  [ "$(id -u)" = 0 ] || { echo "run as root to install crowdsec" >&2; exit 1; }
  mkdir -p /etc/crowdsec
  if [ ! -s /etc/crowdsec/online_api_credentials.yaml ]; then
    echo "# no thanks: offline (sekimori bench/crowdsec)" >/etc/crowdsec/online_api_credentials.yaml
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y crowdsec >&2 ||
    say "apt-get install reported an error (service start?); checking what was installed"
  # A half-configured package from an earlier failed install: finish it.
  if ! dpkg-query -W -f='${Status}' crowdsec 2>/dev/null | grep -q 'ok installed'; then
    DEBIAN_FRONTEND=noninteractive dpkg --configure crowdsec >&2 || true
  fi
  cs_ready || { echo "crowdsec binaries or offline hub missing after install" >&2; exit 1; }
fi

# --------------------------------------------------------------------------
# 2. sekimori.
# --------------------------------------------------------------------------
if [ -z "${SEKIMORI_BIN:-}" ]; then
  say "building sekimori (cargo build --release -p sekimori)"
  (cd "$REPO" && cargo build --release -p sekimori >&2)
  SEKIMORI_BIN=$REPO/target/release/sekimori
fi
[ -x "$SEKIMORI_BIN" ] || { echo "no sekimori binary at $SEKIMORI_BIN" >&2; exit 1; }

case "$OUT" in /|"$HOME"|"$REPO"|"$HERE") echo "refusing to wipe OUT=$OUT" >&2; exit 1 ;; esac
rm -rf "$OUT"
mkdir -p "$OUT"
# Pin the binary: target/ may be rebuilt by other work while this runs.
cp "$SEKIMORI_BIN" "$OUT/sekimori"
SEKIMORI_SRC=$SEKIMORI_BIN
SEKIMORI_BIN=$OUT/sekimori
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
echo '{}' >"$OUT/timing.json"
timed() { # name cmd...   (wall time of cmd, seconds, appended to timing.json[name])
  local name=$1 s e; shift
  s=$(now); "$@"; e=$(now)
  python3 - "$OUT/timing.json" "$name" "$s" "$e" <<'EOF'
import json, sys
path, key, s, e = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
t = json.load(open(path)); t.setdefault(key, []).append(round(e - s, 4))
json.dump(t, open(path, "w"), indent=2)
EOF
}

# --------------------------------------------------------------------------
# 3. The world, and the two renderings of its login attempts.
# --------------------------------------------------------------------------
say "simulating ($SIZE, seed $SEED, baseline none)"
"$SEKIMORI_BIN" simulate --size "$SIZE" --seed "$SEED" --scenario all --baseline none \
  --events "$OUT/events.jsonl" --out "$OUT/sim" >"$OUT/simulate.log" 2>&1
python3 "$HERE/render.py" "$OUT/events.jsonl" "$OUT/sim/ground_truth.jsonl" "$OUT"
head -n 1 "$OUT/logins.jsonl" >"$OUT/one.jsonl"
head -n 1 "$OUT/auth.log" >"$OUT/one.log"

# --------------------------------------------------------------------------
# 4. sekimori replay (embedded default pack), timed; and a one-event run for
#    its fixed cost. Deterministic: every repeat writes the same decisions.
# --------------------------------------------------------------------------
say "sekimori replay (x$REPEAT)"
for _ in $(seq "$REPEAT"); do
  timed sekimori "$SEKIMORI_BIN" replay "$OUT/logins.jsonl" --out "$OUT/sekimori-decisions.jsonl" \
    2>>"$OUT/sekimori-replay.log"
  timed sekimori_one "$SEKIMORI_BIN" replay "$OUT/one.jsonl" --out "$OUT/sekimori-one.jsonl" \
    2>>"$OUT/sekimori-replay.log"
done
# Each scenario alone with the honest attempts (untimed): the shared world lets
# one scenario's tries of a secret count against another's.
for f in "$OUT"/alone/*.jsonl; do
  "$SEKIMORI_BIN" replay "$f" --out "${f%.jsonl}.decisions.jsonl" 2>>"$OUT/sekimori-replay.log"
done

# --------------------------------------------------------------------------
# 5. CrowdSec in time-machine (forensic) mode with a throwaway config.
#    `crowdsec -dsn file://... -type syslog` reads the file once, runs the
#    buckets on the lines' own timestamps and exits. Its local API runs in the
#    same process, on a free loopback port, so that alerts and ban decisions
#    land in this config's own SQLite database, read afterwards.
# --------------------------------------------------------------------------
CS=$OUT/crowdsec
HUB_SRC=/usr/share/crowdsec/hub
mkdir -p "$CS/etc" "$CS/data" "$CS/hub"
for item in blockers collections parsers postoverflows scenarios .index.json; do
  ln -s "$HUB_SRC/$item" "$CS/hub/$item"
done
ln -s /etc/crowdsec/patterns "$CS/etc/patterns"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$CS/etc/config.yaml" <<EOF
# Throwaway config for bench/crowdsec: stock items from the Debian offline hub,
# everything else local to this directory.
common:
  daemonize: false
  log_media: stdout
  log_level: info
  working_dir: .
config_paths:
  config_dir: $CS/etc/
  data_dir: $CS/data/
  simulation_path: $CS/etc/simulation.yaml
  hub_dir: $CS/hub/
  index_path: $CS/hub/.index.json
  notification_dir: $CS/etc/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: $CS/etc/acquis.yaml
  parser_routines: 1
cscli:
  output: human
  color: "no"
  hub_branch: master   # skips the online version lookup
db_config:
  log_level: info
  type: sqlite
  db_path: $CS/data/crowdsec.db
  use_wal: false
  flush:
    max_items: 10000000
    max_age: 3650d
api:
  client:
    insecure_skip_verify: false
    credentials_path: $CS/etc/local_api_credentials.yaml
  server:
    log_level: info
    listen_uri: 127.0.0.1:$PORT
    profiles_path: $CS/etc/profiles.yaml
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
  level: full
  listen_addr: 127.0.0.1
  listen_port: 6060
EOF
echo "simulation: off" >"$CS/etc/simulation.yaml"
: >"$CS/etc/acquis.yaml"
# The stock profile: any IP-scoped alert with remediation -> 4h ban.
cp /etc/crowdsec/profiles.yaml "$CS/etc/profiles.yaml"

# Enable the stock items offline the Debian way: a symlink per item, vendor
# dropped (`cscli ... install` would download from the online hub). The
# crowdsecurity/sshd collection = sshd-logs + ssh-bf + ssh-slow-bf; the linux
# collection's syslog-logs and dateparse-enrich parse the syslog frame and
# the timestamp. Not enabled: crowdsecurity/whitelists, which drops
# 10/8, 172.16/12 and 192.168/16 -- the simulator's stand-ins for public
# addresses -- and would hide every attacker.
for item in \
  collections/crowdsecurity/sshd.yaml \
  parsers/s00-raw/crowdsecurity/syslog-logs.yaml \
  parsers/s01-parse/crowdsecurity/sshd-logs.yaml \
  parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml \
  scenarios/crowdsecurity/ssh-bf.yaml \
  scenarios/crowdsecurity/ssh-slow-bf.yaml; do
  dir=$CS/etc/$(dirname "$(dirname "$item")")
  mkdir -p "$dir"
  ln -s "$CS/hub/$item" "$dir/$(basename "$item")"
done
CSCLI=(cscli -c "$CS/etc/config.yaml")
"${CSCLI[@]}" hub list -o raw >"$OUT/crowdsec-hub.txt" 2>/dev/null || "${CSCLI[@]}" hub list >"$OUT/crowdsec-hub.txt" 2>&1

cs_fresh() { # a new empty database with one registered agent
  rm -f "$CS/data/crowdsec.db"*
  "${CSCLI[@]}" machines add bench --auto --force -f "$CS/etc/local_api_credentials.yaml" \
    >/dev/null 2>&1
}
cs_run() { # log-file run-log [extra args]
  local log=$1 runlog=$2; shift 2
  crowdsec -c "$CS/etc/config.yaml" -dsn "file://$log" -type syslog -no-capi "$@" >"$runlog" 2>&1
}
cs_keep_db() { cp "$CS/data/crowdsec.db" "$1"; }

say "crowdsec: replay of auth.log (x$REPEAT, each with a one-line run for the fixed cost)"
for _ in $(seq "$REPEAT"); do
  cs_fresh; timed crowdsec_one cs_run "$OUT/one.log" "$OUT/crowdsec-one.log"
  cs_fresh; timed crowdsec cs_run "$OUT/auth.log" "$OUT/crowdsec-run.log"
  python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from alerts").fetchone()[0])' \
    "$CS/data/crowdsec.db" >>"$OUT/crowdsec-alert-counts.txt"
done
cs_keep_db "$OUT/crowdsec.db"
if [ "$DUMP" = 1 ]; then
  say "crowdsec: parse check (-dump-data, untimed)"
  cs_fresh; mkdir -p "$OUT/crowdsec-dump"
  cs_run "$OUT/auth.log" "$OUT/crowdsec-dump.log" -dump-data "$OUT/crowdsec-dump"
fi
say "crowdsec: control (each scenario from one address)"
cs_fresh; cs_run "$OUT/auth-control.log" "$OUT/crowdsec-control.log"
cs_keep_db "$OUT/crowdsec-control.db"

# --------------------------------------------------------------------------
# 6. Facts for the report, and the report.
# --------------------------------------------------------------------------
T1=$(now)
python3 - "$OUT/meta.json" <<EOF
import json, subprocess, sys, datetime, platform
def sh(c):
    try: return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception as e: return str(e)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
json.dump({
  "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
  "nproc": sh("nproc"), "cpu": cpu, "kernel": platform.release(),
  "command": "$CMD", "size": "$SIZE", "seed": "$SEED", "repeat": $REPEAT,
  "crowdsec_version": sh("crowdsec -version 2>&1 | head -n1 | sed 's/.*version: //'"),
  "crowdsec_deb": sh("dpkg-query -W -f='\${Version}' crowdsec"),
  "sekimori_bin": "$SEKIMORI_SRC",
  "sekimori_sha256": sh("sha256sum '$SEKIMORI_BIN' | cut -c1-16"),
  "loadavg_start": "$LOADAVG", "loadavg_end": open("/proc/loadavg").read().split()[:3],
  "sekimori_git": sh("cd '$REPO' && git rev-parse --short HEAD") + (" (dirty tree)" if sh("cd '$REPO' && git status --porcelain --untracked-files=no") else ""),
  "setup_seconds": round($T1 - $T0, 1),
}, open(sys.argv[1], "w"), indent=2)
EOF
python3 "$HERE/compare.py" "$OUT" "$RESULTS"
T2=$(now)
say "done in $(python3 -c "print(round($T2 - $T0, 1))") s -> $RESULTS"
