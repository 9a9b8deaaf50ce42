#!/usr/bin/env bash
# Runs every benchmark of issue 6 in sequence and writes its raw output
# (the printed lines, JSON and PNG plots) to bench/results/DATE/.
# Usage, from the repository root: bash bench/run-all.sh [DATE]
# Needs: a release build (done here), redis-server (bench/redis/install.sh),
# CrowdSec for the CrowdSec side by side (bench/crowdsec/run.sh installs it).
# Run it on a quiet machine: every number is wall-clock time.
set -euo pipefail
cd "$(dirname "$0")/.."
DATE="${1:-$(date -u +%Y-%m-%d)}"
OUT="bench/results/$DATE"
mkdir -p "$OUT"
cargo build --release -p sekimori
BIN=target/release/sekimori
run() { # name, command...
  local name="$1"; shift
  echo "== $name: $*" | tee "$OUT/$name.txt"
  "$@" 2>&1 | tee -a "$OUT/$name.txt"
}
{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit: $(git rev-parse --short HEAD)"
  echo "cpus: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "kernel: $(uname -sr)"
  echo "rustc: $(rustc --version)"
} > "$OUT/machine.txt"
run replay  $BIN bench replay --size medium --seed 7 --out "$OUT"
# The same world once as a file, so the other benchmarks do not simulate it again.
EVENTS="$(mktemp -d)/medium-7.jsonl"
$BIN simulate --size medium --seed 7 --baseline none --out "$(dirname "$EVENTS")" --events "$EVENTS"
run scaling $BIN bench scaling --events "$EVENTS" --limit 300000 --out "$OUT"
run memory  $BIN bench memory --out "$OUT"
run ingest  $BIN bench ingest --events "$EVENTS" --out "$OUT"
SEKIMORI_LOG=error run http $BIN bench http --events "$EVENTS" --rates 1000,2000,4000,6000,8000,12000 --out "$OUT"
run redis   $BIN bench redis --events "$EVENTS" --out "$OUT"
SEKIMORI_BIN=$BIN run crowdsec bash bench/crowdsec/run.sh
cp bench/crowdsec/results.md "$OUT/crowdsec.md"
for d in windows:sekimori-window decode:sekimori-event rules:sekimori-rules; do
  run "micro-${d%%:*}" cargo bench -p "${d##*:}" --bench "${d%%:*}"
done
