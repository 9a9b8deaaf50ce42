#!/usr/bin/env bash
# Issue 15: decision throughput through replication with one shard and with
# two shards on this machine. Three NATS nodes (JetStream, R3) and two
# sekimori leaders: node a leads shard `bank`, node b leads shard `card`
# (no followers: they would only take CPU from the leaders here; a follower
# is not on a leader's path). Phase 1 drives shard bank alone at the total
# rates; phase 2 drives both shards at once, each at half of each total rate,
# with two `sekimori bench http` processes. Loopback only; a temp directory.
#   BIN=target/release/sekimori TOTALS=1000,2000,3000,4000 SECS=5 bench/cluster/shards.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release/sekimori}
OUT=${OUT:-bench/results/$(date +%F)-cluster/shards}
TOTALS=${TOTALS:-1000,2000,3000,4000}
SECS=${SECS:-5}
. bench/cluster/nats.sh
mkdir -p -m 700 "$T/a" "$T/b"
KEY=$("$BIN" keys create --name bench --scopes ingest,read --all-services --data "$T/a")
cp "$T/a/keys.json" "$T/b/keys.json"
"$BIN" serve --data "$T/a" --listen "127.0.0.1:${P[0]}" --nats "$URLS" --node a --shard bank \
  >>"$T/a.out" 2>>"$T/a.log" &
"$BIN" serve --data "$T/b" --listen "127.0.0.1:${P[1]}" --nats "$URLS" --node b --shard card \
  >>"$T/b.out" 2>>"$T/b.log" &
for p in "${P[@]}"; do
  until [ "$(curl -s -m 1 "127.0.0.1:$p/v1/cluster" | jq -r .role 2>/dev/null || true)" = leader ]; do sleep 0.2; done
done
{ echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"; nproc; } | tee "$OUT/machine.txt"
half=$(echo "$TOTALS" | tr ',' '\n' | awk '{printf "%s%d", (NR>1?",":""), $1/2}')
echo "== one shard (bank), totals $TOTALS"
"$BIN" bench http --url "http://127.0.0.1:${P[0]}" --key "$KEY" --size small \
  --rates "$TOTALS" --seconds "$SECS" --out "$OUT/one" | tee "$OUT/one.txt"
echo "== two shards at once (bank, card), each at $half"
"$BIN" bench http --url "http://127.0.0.1:${P[0]}" --key "$KEY" --size small \
  --rates "$half" --seconds "$SECS" --out "$OUT/two-bank" >"$OUT/two-bank.txt" &
b1=$!
"$BIN" bench http --url "http://127.0.0.1:${P[1]}" --key "$KEY" --size small \
  --rates "$half" --seconds "$SECS" --out "$OUT/two-card" >"$OUT/two-card.txt" &
b2=$!
wait $b1 $b2
cat "$OUT/two-bank.txt" "$OUT/two-card.txt"
for p in "${P[@]}"; do curl -s "127.0.0.1:$p/v1/cluster"; echo; done | tee "$OUT/cluster.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"
