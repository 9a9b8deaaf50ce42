#!/usr/bin/env bash
# The decisions of the earlier scorecards, base binary against after binary:
# the same event files decided by both on the same pack, and the decision
# files compared byte for byte (sha-256), then line by line where they differ
# (bench/decisions-diff.py: which actions, rules, scores, features changed).
#
# Usage, from anywhere:
#   bash bench/scorecards.sh BASE_BIN AFTER_BIN [OUT]
# OUT defaults to bench/results/DATE-scorecards.
#
# The event files (each decided with `sekimori replay FILE --out DECISIONS`,
# which both binaries have: a fresh engine, one decision a line):
#   - examples/events/*.jsonl of the base commit (the documented examples);
#   - the undefended simulator worlds SCORECARD_WORLDS (size:seed, default
#     "small:1 small:7"), written once by each binary's own simulator
#     (`simulate --baseline none --events`): world-base-*, world-after-*.
# The packs: the base commit's rules/default (both binaries load it) and the
# after commit's (AFTER_REV, default HEAD of this tree), tried with both.
#
# Environment: BASE_REV (9215564), AFTER_REV (HEAD), SCORECARD_WORLDS.
# Left out: the closed-loop scorecards (sekimori-sim's `friction` and
# `card` examples, an hour each at medium size: the world answers the
# engine, so their events differ between binaries by design), the cowrie
# dev set (outside the repository) and the backtests (a ledger's labels;
# `sekimori backtest` is not in the base binary).
set -uo pipefail

if [ $# -lt 2 ]; then
  sed -n '2,26p' "$0"
  exit 2
fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE_BIN="$(realpath "$1")"
AFTER_BIN="$(realpath "$2")"
BASE_REV="${BASE_REV:-9215564}"
AFTER_REV="$(git -C "$ROOT" rev-parse --short "${AFTER_REV:-HEAD}")"
WORLDS="${SCORECARD_WORLDS:-small:1 small:7}"
OUT="${3:-$ROOT/bench/results/$(date -u +%Y-%m-%d)-scorecards}"
mkdir -p "$OUT/decisions" "$OUT/diff"
OUT="$(realpath "$OUT")"
: > "$OUT/errors.txt"
TMP="$(mktemp -d /tmp/scorecards.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
START="$(date +%s)"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ), uptime: $(uptime)"
  echo "base: $BASE_BIN (sha256 $(sha256sum "$BASE_BIN" | cut -c1-16)…), commit $BASE_REV"
  echo "after: $AFTER_BIN (sha256 $(sha256sum "$AFTER_BIN" | cut -c1-16)…), tree $AFTER_REV"
  echo "worlds: $WORLDS"
} > "$OUT/machine.txt"

# The packs, as committed.
for rev in "$BASE_REV" "$AFTER_REV"; do
  mkdir -p "$TMP/pack-$rev"
  git -C "$ROOT" archive "$rev" rules/default | tar -x -C "$TMP/pack-$rev"
done
# The base pack as the after binary accepts it: since e8d4449 a pack may not
# fall back to allow for mfa.result (a degraded answer must never count as a
# vote). The fallback is the server's answer past the time budget, never
# used by `replay`; the base binary's decisions on both copies are compared
# below as well (the pack's name and version are the same).
mkdir -p "$TMP/pack-${BASE_REV}f"
cp -r "$TMP/pack-$BASE_REV/rules" "$TMP/pack-${BASE_REV}f/"
sed -i 's/^    mfa\.result: allow$/    mfa.result: review/' "$TMP/pack-${BASE_REV}f/rules/default/pack.yaml"
diff -r "$TMP/pack-$BASE_REV" "$TMP/pack-${BASE_REV}f" > "$OUT/shared-pack.diff"
PACKS=("$BASE_REV" "${BASE_REV}f" "$AFTER_REV")

# The event files.
mkdir -p "$TMP/events"
for f in $(git -C "$ROOT" ls-tree --name-only "$BASE_REV" examples/events/); do
  git -C "$ROOT" show "$BASE_REV:$f" > "$TMP/events/example-$(basename "$f")"
done
for w in $WORLDS; do
  size="${w%%:*}"; seed="${w##*:}"
  for who in base after; do
    bin="$BASE_BIN"; [ "$who" = after ] && bin="$AFTER_BIN"
    t0="$(date +%s)"
    "$bin" simulate --size "$size" --seed "$seed" --baseline none --out "$TMP/sim-$who-$size-$seed" \
      --events "$TMP/events/world-$who-$size-$seed.jsonl" > "$TMP/sim-$who-$size-$seed.log" 2>&1 \
      || echo "simulate $who $size $seed failed: $(tail -1 "$TMP/sim-$who-$size-$seed.log")"
    echo "simulate $who $size:$seed: $(( $(date +%s) - t0 )) s" >> "$OUT/machine.txt"
  done
done
(cd "$TMP/events" && wc -l ./*.jsonl && sha256sum ./*.jsonl) > "$OUT/events.txt"

# decide WHO PACKREV FILE: decisions/WHO-packREV-FILE.jsonl.sha256 (and the
# decisions themselves in TMP), or the error.
decide() {
  local who="$1" rev="$2" file="$3" bin="$BASE_BIN"
  [ "$who" = after ] && bin="$AFTER_BIN"
  local name dec
  name="$(basename "$file" .jsonl)"
  dec="$TMP/dec-$who-pack$rev-$name.jsonl"
  if "$bin" replay "$file" --out "$dec" --rules "$TMP/pack-$rev/rules/default" \
      > "$TMP/err" 2>&1; then
    sha256sum "$dec" | cut -d' ' -f1
  else
    rm -f "$dec"
    echo "$who, pack $rev, $name: $(grep -m1 -i error "$TMP/err")" >> "$OUT/errors.txt"
    echo "error"
  fi
}

{
  echo "| events | lines | pack | base | after | same? |"
  echo "| --- | ---: | --- | --- | --- | --- |"
} > "$OUT/digests.md"
for file in "$TMP"/events/*.jsonl; do
  name="$(basename "$file" .jsonl)"
  lines="$(grep -c . "$file")"
  for rev in "${PACKS[@]}"; do
    b="$(decide base "$rev" "$file")"
    a="$(decide after "$rev" "$file")"
    same="no"
    [ "$a" = "$b" ] && same="**identical**"
    [[ "$a" == error || "$b" == error ]] && same="- (errors.txt)"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$lines" "$rev" \
      "${b:0:16}" "${a:0:16}" "$same" >> "$OUT/digests.md"
    echo "$name pack $rev: base ${b:0:16} after ${a:0:16} $same"
    if [ "$same" = no ]; then
      python3 "$ROOT/bench/decisions-diff.py" "$file" "$TMP/dec-base-pack$rev-$name.jsonl" \
        "$TMP/dec-after-pack$rev-$name.jsonl" --examples 3 \
        --json "$OUT/diff/$name-pack$rev.json" > "$OUT/diff/$name-pack$rev.txt"
      sed 's/^/    /' "$OUT/diff/$name-pack$rev.txt"
    fi
  done
done
# The base binary on its own pack and on the shared copy: the same decisions?
for file in "$TMP"/events/*.jsonl; do
  name="$(basename "$file" .jsonl)"
  o="$TMP/dec-base-pack$BASE_REV-$name.jsonl"; f="$TMP/dec-base-pack${BASE_REV}f-$name.jsonl"
  if [ -f "$o" ] && [ -f "$f" ]; then
    if cmp -s "$o" "$f"; then r=identical; else r=DIFFERENT; fi
    echo "base binary, $name: pack $BASE_REV against ${BASE_REV}f: $r" >> "$OUT/shared-pack.txt"
  fi
done
# Keep the decisions of the small files (the examples) for reading.
cp "$TMP"/dec-*-example-*.jsonl "$OUT/decisions/" 2>/dev/null || true
echo "wall clock: $(( $(date +%s) - START )) s, uptime at end: $(uptime)" >> "$OUT/machine.txt"
cat "$OUT/digests.md"
