#!/usr/bin/env bash
# Issue 15's measurements: decision latency through a replicated shard (three
# NATS nodes, JetStream R3, two sekimori nodes) beside the embedded engine,
# and failover time (SIGKILL of the leader to the first event acknowledged
# durable by the new leader). Loopback only; everything in a temp directory.
#   BIN=target/release/sekimori RATES=200,500,1000 SECS=10 ROUNDS=5 bench/cluster/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release/sekimori}
OUT=${OUT:-bench/results/$(date +%F)-cluster}
RATES=${RATES:-200,500,1000}
SECS=${SECS:-10}
ROUNDS=${ROUNDS:-5}
LEASE=${LEASE:-2000}
. bench/cluster/nats.sh
mkdir -p -m 700 "$T/s0" "$T/s1"
KEY=$("$BIN" keys create --name bench --scopes ingest,read --all-services --data "$T/s0")
cp "$T/s0/keys.json" "$T/s1/keys.json"
declare -a PIDS
start_node() {
  "$BIN" serve --data "$T/s$1" --listen "127.0.0.1:${P[$1]}" --nats "$URLS" --node "s$1" \
    --shard bench --lease-ttl-ms "$LEASE" >>"$T/s$1.out" 2>>"$T/s$1.log" &
  PIDS[$1]=$!
}
leader() {
  for i in 0 1; do
    r=$(curl -s -m 1 "127.0.0.1:${P[$i]}/v1/cluster" | jq -r .role 2>/dev/null || true)
    if [ "$r" = leader ]; then echo "$i"; return; fi
  done
  echo -1
}
start_node 0; start_node 1
until [ "$(leader)" -ge 0 ]; do sleep 0.1; done
L=$(leader)
if [ -z "${SKIP_LATENCY:-}" ]; then
echo "== replicated: leader s$L"
"$BIN" bench http --url "http://127.0.0.1:${P[$L]}" --key "$KEY" --size small \
  --rates "$RATES" --seconds "$SECS" --out "$OUT/replicated" | tee "$OUT/replicated.txt"
echo "== embedded"
"$BIN" bench http --size small --rates "$RATES" --seconds "$SECS" --out "$OUT/embedded" | tee "$OUT/embedded.txt"
fi
# Both nodes up (a follower that failed to start would make this wait forever).
for i in 0 1; do until curl -s -m 1 "127.0.0.1:${P[$i]}/healthz" >/dev/null; do sleep 0.1; done; done
echo "== failover (lease TTL ${LEASE} ms)" | tee "$OUT/failover.txt"
event() { printf '{"id":"%s","type":"login.attempt","service":"bank","at":"2025-06-01T00:00:%02dZ","account":"a1","factor":"pin","result":"failure","actor":{"ip":"198.51.100.7"}}' "$1" "$2"; }
for r in $(seq "$ROUNDS"); do
  L=$(leader)
  kill -9 "${PIDS[$L]}"
  t0=$(date +%s%N)
  i=0
  while :; do
    a=$(curl -s -m 2 -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
      -d "$(event "fo-$r" "$r")" "127.0.0.1:${P[$i]}/v1/events" || true)
    [ "$(echo "$a" | jq -r .durable 2>/dev/null || true)" = true ] && break
    i=$(( (i + 1) % 2 )); sleep 0.01
  done
  t1=$(date +%s%N)
  echo "round $r: killed s$L, s$i acknowledged after $(( (t1 - t0) / 1000000 )) ms" | tee -a "$OUT/failover.txt"
  start_node "$L"
  until curl -s -m 1 "127.0.0.1:${P[$L]}/healthz" >/dev/null; do sleep 0.1; done
  sleep 1
done
