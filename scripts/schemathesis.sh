#!/usr/bin/env bash
# Proves openapi.json against a live server with schemathesis (issue 17):
# starts `sekimori serve` on a random loopback port in a temporary directory
# with a key of every scope and an admin analyst of the workbench (signed in
# over the API), runs every check with a fixed seed and a bounded
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
EXTRA=("$@")
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
# An admin analyst for the workbench's routes: signed in over the API below
# with the TOTP code of its provisioning URI (scripts/totp.py, standard
# library only).
ANALYST_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
OTPAUTH="$(printf '%s\n' "$ANALYST_PASSWORD" | "$BIN" users create --data "$WORK/data" --login fuzz-admin --role admin 2>/dev/null)"
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

# The analyst's session, opened before the run (the sign-in route is fuzzed
# too, and its failures throttle this address).
SESSION="$(python3 - "$URL" "$OTPAUTH" "$ANALYST_PASSWORD" "$ROOT/scripts" <<'PY'
import json, sys, urllib.request
url, uri, password, scripts = sys.argv[1:]
sys.path.insert(0, scripts)
import time, totp
body = json.dumps({"login": "fuzz-admin", "password": password, "code": totp.code(uri, time.time())}).encode()
req = urllib.request.Request(url + "/v1/workbench/sessions", body, {"content-type": "application/json"})
print(json.load(urllib.request.urlopen(req))["token"])
PY
)" || { echo "the analyst could not sign in" >&2; tail -20 "$WORK/serve.log" >&2; exit 1; }

cd "$WORK"  # schemathesis keeps a cache in the working directory: not the repository
REPORTS="${REPORT_DIR:-$ROOT/target/schemathesis}"
# One run per credential: the API key for the server's operations (and the
# workbench's sign-in and labels), the analyst's session for the
# workbench's, and last, alone, the operation that ends that session.
WB_SESSION_OPS='^(GET|POST) /v1/(cases|analysts|search)'
END_ALL='POST /v1/workbench/sessions/end-all'
fuzz() {
  PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=schemathesis_hooks \
  "$ST" --config-file "$ROOT/scripts/schemathesis.toml" run "$ROOT/openapi.json" \
    --url "$URL" \
    --checks all \
    --seed "$SEED" \
    --max-examples "$EXAMPLES" \
    --workers 1 \
    --generation-database none \
    --no-color \
    --report junit --report-dir "$REPORTS" \
    "$@" "${EXTRA[@]}"
}
set +e
STATUS=0
echo "=== 1/3: the server's operations, the workbench's sign-in and labels (API key)"
fuzz -H "Authorization: Bearer $KEY" --exclude-name-regex "$WB_SESSION_OPS" --exclude-name "$END_ALL" || STATUS=1
echo "=== 2/3: the workbench's operations (an admin analyst's session)"
fuzz -H "Authorization: Bearer $SESSION" --include-name-regex "$WB_SESSION_OPS" || STATUS=1
echo "=== 3/3: ending every session of the analyst"
# (no stateful phase: no link leads to or from it)
fuzz -H "Authorization: Bearer $SESSION" --include-name "$END_ALL" --phases examples,coverage,fuzzing || STATUS=1
set -e
if [ "$STATUS" -ne 0 ]; then
  echo "--- server log (last 40 lines) ---" >&2
  tail -40 "$WORK/serve.log" >&2
fi
exit "$STATUS"
