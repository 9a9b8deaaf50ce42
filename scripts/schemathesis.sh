#!/usr/bin/env bash
# Proves openapi.json against a live server with schemathesis (issue 17):
# starts `sekimori serve` on a random loopback port in a temporary directory
# with a key of every scope, runs every check with a fixed seed and a bounded
# number of examples per operation, and fails on any server error, valid
# request refused, invalid request accepted, or non-conforming answer.
#
#   scripts/schemathesis.sh            # schemathesis on PATH, target/debug/sekimori
#   SEKIMORI_BIN=... SCHEMATHESIS=... EXAMPLES=30 SEED=17 scripts/schemathesis.sh
#
# Where a request valid by the schema is refused by a business rule the
# schema cannot say (a time ahead of the server clock, a pack that does not
# compile, a hold already in force), the document names the answer and
# scripts/schemathesis.toml lists it as expected for that operation.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${SEKIMORI_BIN:-$ROOT/target/debug/sekimori}"
ST="${SCHEMATHESIS:-schemathesis}"
# A relative path is relative to where the script was started: the run below
# changes directory.
case "$ST" in /*) ;; */*) ST="$PWD/$ST" ;; esac
EXAMPLES="${EXAMPLES:-30}"
SEED="${SEED:-17}"
WORK="$(mktemp -d)"
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

KEY="$("$BIN" keys create --data "$WORK/data" --name fuzz --scopes ingest,read,admin,approve,custody,stepup 2>/dev/null)"
SEKIMORI_LOG=info NO_COLOR=1 "$BIN" serve --data "$WORK/data" --listen 127.0.0.1:0 >"$WORK/serve.log" 2>&1 &
PID=$!
URL=""
for _ in $(seq 1 600); do
  URL="$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$WORK/serve.log" | head -1 | sed 's/listening on //')" || true
  [ -n "$URL" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; echo "sekimori serve exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { echo "sekimori serve did not start" >&2; exit 1; }
echo "sekimori at $URL; schemathesis $("$ST" --version | awk '{print $NF}'), seed $SEED, $EXAMPLES examples per operation"

# The served document must be the committed one (the test suite checks the
# committed one against the code).
curl -fsS -H "Authorization: Bearer $KEY" "$URL/openapi.json" | cmp -s - "$ROOT/openapi.json" \
  || { echo "the served document differs from openapi.json" >&2; exit 1; }

set +e
cd "$WORK"  # schemathesis keeps a cache in the working directory: not the repository
PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=schemathesis_hooks \
"$ST" --config-file "$ROOT/scripts/schemathesis.toml" run "$ROOT/openapi.json" \
  --url "$URL" \
  -H "Authorization: Bearer $KEY" \
  --checks all \
  --seed "$SEED" \
  --max-examples "$EXAMPLES" \
  --workers 1 \
  --generation-database none \
  --no-color \
  --report junit --report-dir "${REPORT_DIR:-$ROOT/target/schemathesis}" \
  "$@"
STATUS=$?
set -e
if [ "$STATUS" -ne 0 ]; then
  echo "--- server log (last 40 lines) ---" >&2
  tail -40 "$WORK/serve.log" >&2
fi
exit "$STATUS"
