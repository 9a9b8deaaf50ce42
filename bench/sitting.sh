#!/usr/bin/env bash
# One sitting of issue 16's acceptance: every benchmark, for a base and an
# after binary, on the same machine, back to back, with the plots the
# benchmarks write, a callgrind profile of decide and decode for each, and a
# before/after table (summary.md).
#
# Usage, from anywhere:
#   bash bench/sitting.sh BASE_BIN AFTER_BIN [OUT]
# OUT defaults to bench/results/DATE-sitting-SIZE. Run it on a quiet machine:
# every number but callgrind's is wall-clock time.
#
# Environment (all optional):
#   SITTING_SIZE   small (a trial of a few minutes) or medium (the real one; default)
#   SITTING_SEED   simulator seed (7)
#   SITTING_SKIP   space-separated parts to leave out: replay same callgrind
#                  scaling memory ingest http redis after-only micro
#   BASE_REV       the base binary's commit, whose rules/default is the shared
#                  pack (9215564)
#   AFTER_REV      the after binary's commit, for machine.txt
#   BASE_SRC, AFTER_SRC        source trees for the divan micro-benches
#                  (cargo bench); without BASE_SRC the micro part is skipped
#   BASE_TARGET, AFTER_TARGET  their CARGO_TARGET_DIRs (default: $CARGO_TARGET_DIR)
#   SITTING_REPEATS  runs of each short benchmark per binary (small 2, medium 1)
#
# Each benchmark runs base then after (then base, after again when short);
# a failing run is recorded (its exit code in timings.tsv) and the sitting
# goes on. Needs valgrind (callgrind_annotate), redis-server
# (bench/redis/install.sh), python3, and for the micro part cargo.
# CrowdSec's side by side (bench/crowdsec/run.sh) is not part of it: it
# downloads CrowdSec.
set -uo pipefail

if [ $# -lt 2 ]; then
  sed -n '2,30p' "$0"
  exit 2
fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE_BIN="$(realpath "$1")"
AFTER_BIN="$(realpath "$2")"
SIZE="${SITTING_SIZE:-medium}"
SEED="${SITTING_SEED:-7}"
BASE_REV="${BASE_REV:-9215564}"
OUT="${3:-$ROOT/bench/results/$(date -u +%Y-%m-%d)-sitting-$SIZE}"
SKIP=" ${SITTING_SKIP:-} "
mkdir -p "$OUT"
OUT="$(realpath "$OUT")"
TMP="$(mktemp -d /tmp/sitting.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT

case "$SIZE" in
  small)
    REPEATS="${SITTING_REPEATS:-2}"
    SCALING_LIMIT=30000; SCALING_ENTITIES=10000,100000
    MEM_KEYS=100000; MEM_ENTITIES=100000
    INGEST_SECONDS=1; INGEST_HTTP=10000
    HTTP_RATES=1000,5000; HTTP_SECONDS=3; HTTP_WARMUP=1
    STREAM_RATES=10000,50000
    REDIS_LIMIT=20000; REDIS_VERIFY=5000
    CG_EVENTS=5000; SAME_LIMIT=1000000000
    BUDGET_ENTITIES=100000; OVERLOAD_SECONDS=3
    DIVAN_ARGS="--min-time 0.2 --max-time 1"
    ;;
  medium)
    REPEATS="${SITTING_REPEATS:-1}"
    SCALING_LIMIT=300000; SCALING_ENTITIES=10000,100000,1000000
    MEM_KEYS=1000000; MEM_ENTITIES=1000000
    INGEST_SECONDS=5; INGEST_HTTP=100000
    HTTP_RATES=1000,2000,5000,8000,12000; HTTP_SECONDS=10; HTTP_WARMUP=2
    STREAM_RATES=10000,20000,50000
    REDIS_LIMIT=300000; REDIS_VERIFY=100000
    CG_EVENTS=20000; SAME_LIMIT=1000000
    BUDGET_ENTITIES=1000000; OVERLOAD_SECONDS=10
    DIVAN_ARGS=""
    ;;
  *) echo "SITTING_SIZE is small or medium" >&2; exit 2 ;;
esac

skip() { [[ "$SKIP" == *" $1 "* ]]; }
now() { date -u +%H:%M:%S; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# run PART WHO NAME CMD...: the command's output to WHO/NAME.txt, its
# --out files (if it takes one: the literal word OUTDIR is replaced) to
# WHO/NAME/, and a line to timings.tsv.
run() {
  local part="$1" who="$2" name="$3"; shift 3
  local dir="$OUT/$who/$name" log="$OUT/$who/$name.txt"
  mkdir -p "$OUT/$who"
  local args=() a
  for a in "$@"; do
    if [ "$a" = OUTDIR ]; then mkdir -p "$dir"; args+=("$dir"); else args+=("$a"); fi
  done
  local l0 t0 rc
  l0="$(load)"; t0="$(date +%s.%N)"
  echo "$(now) $who $name (load $l0)" | tee -a "$OUT/progress.log"
  { echo "== $* "; echo "== start $(date -u +%FT%TZ), uptime: $(uptime)"; } > "$log"
  "${args[@]}" >> "$log" 2>&1
  rc=$?
  local secs
  secs="$(echo "$(date +%s.%N) - $t0" | bc)"
  echo "== end $(date -u +%FT%TZ), exit $rc, ${secs} s, uptime: $(uptime)" >> "$log"
  printf '%s\t%s\t%s\t%.1f\t%s\t%s\t%s\n' "$part" "$who" "$name" "$secs" "$rc" "$l0" "$(load)" \
    >> "$OUT/timings.tsv"
  [ "$rc" -eq 0 ] || echo "   FAILED (exit $rc): see $log" | tee -a "$OUT/progress.log"
  return 0
}

# both PART NAME ARGS...: base and after alternately, REPEATS times each (the
# binary's place is the literal word BIN).
both() {
  local part="$1" name="$2"; shift 2
  local i who bin args a
  for i in $(seq 1 "$REPEATS"); do
    for who in base after; do
      if [ "$who" = base ]; then bin="$BASE_BIN"; else bin="$AFTER_BIN"; fi
      args=()
      for a in "$@"; do if [ "$a" = BIN ]; then args+=("$bin"); else args+=("$a"); fi; done
      run "$part" "$who" "$name-$i" "${args[@]}"
    done
  done
}

: > "$OUT/timings.tsv"
: > "$OUT/progress.log"
START="$(date +%s)"

# --- The machine and the binaries -----------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "size: $SIZE, seed: $SEED, repeats: $REPEATS"
  echo "base binary: $BASE_BIN (sha256 $(sha256sum "$BASE_BIN" | cut -c1-16)…, built $(date -u -r "$BASE_BIN" +%FT%TZ)), commit $BASE_REV"
  echo "after binary: $AFTER_BIN (sha256 $(sha256sum "$AFTER_BIN" | cut -c1-16)…, built $(date -u -r "$AFTER_BIN" +%FT%TZ)), commit ${AFTER_REV:-not given (AFTER_REV)}"
  echo "tree of this script (not necessarily the after binary's): $(git -C "$ROOT" rev-parse --short HEAD) ($(git -C "$ROOT" log -1 --format=%cI)); uncommitted files in it: $(git -C "$ROOT" status --porcelain -uno | wc -l)"
  [ -n "${AFTER_SRC:-}" ] && echo "after source (micro): $AFTER_SRC at $(git -C "$AFTER_SRC" rev-parse --short HEAD)"
  [ -n "${BASE_SRC:-}" ] && echo "base source (micro): $BASE_SRC at $(git -C "$BASE_SRC" rev-parse --short HEAD)"
  echo "cpus: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "kernel: $(uname -sr)"
  echo "rustc: $(rustc --version 2>/dev/null || echo none)"
  echo "valgrind: $(valgrind --version 2>/dev/null || echo none)"
  echo "redis-server: $(redis-server --version 2>/dev/null | cut -d' ' -f3 || echo none)"
  echo "uptime at start: $(uptime)"
  echo "(every benchmark's uptime before and after: timings.tsv and the first and last line of each output)"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"

# --- The inputs ------------------------------------------------------------
# The shared pack: the base commit's rules/default, which both binaries load.
PACK="$TMP/pack-$BASE_REV"
mkdir -p "$PACK"
git -C "$ROOT" archive "$BASE_REV" rules/default | tar -x -C "$PACK"
PACK="$PACK/rules/default"
# Packs since e8d4449 may not fall back to allow for mfa.result (a degraded
# answer must never count as a vote); the fallback is the server's answer
# past the time budget, never used by `bench replay` or `replay`, so the
# shared pack holds review there and decides every event the same.
sed -i 's/^    mfa\.result: allow$/    mfa.result: review/' "$PACK/pack.yaml"
# The world as a file, once per simulator; the shared benchmarks read the
# base's (both binaries decode it; the after binary's own world is in the
# `replay own` runs).
for who in base after; do
  bin="$BASE_BIN"; [ "$who" = after ] && bin="$AFTER_BIN"
  run inputs "$who" simulate "$bin" simulate --size "$SIZE" --seed "$SEED" --baseline none \
    --out "$TMP/sim-$who" --events "$TMP/world-$who.jsonl"
done
WORLD="$TMP/world-base.jsonl"
wc -l "$TMP"/world-*.jsonl | tee "$OUT/inputs.txt"
sha256sum "$TMP"/world-*.jsonl | sed "s|$TMP/||" >> "$OUT/inputs.txt"
head -n "$CG_EVENTS" "$WORLD" > "$TMP/cg.jsonl"

# --- Throughput: replay --------------------------------------------------
# `own`: the acceptance command, each binary its own world and embedded pack.
skip replay || both replay replay-own BIN bench replay --size "$SIZE" --seed "$SEED" --out OUTDIR
# `same`: one input and one pack for both: the engine alone changed.
skip same || both replay replay-same BIN bench replay --events "$WORLD" --limit "$SAME_LIMIT" \
  --rules "$PACK" --out OUTDIR

# --- Scaling, memory, ingest, HTTP, Redis --------------------------------
skip scaling || both scaling scaling BIN bench scaling --events "$WORLD" --limit "$SCALING_LIMIT" \
  --entities "$SCALING_ENTITIES" --out OUTDIR
skip memory || both memory memory BIN bench memory --keys "$MEM_KEYS" --entities "$MEM_ENTITIES" --out OUTDIR
skip ingest || both ingest ingest env SEKIMORI_LOG=error BIN bench ingest --events "$WORLD" --seconds "$INGEST_SECONDS" \
  --http-requests "$INGEST_HTTP" --out OUTDIR
skip http || both http http env SEKIMORI_LOG=error BIN bench http --events "$WORLD" --rates "$HTTP_RATES" \
  --seconds "$HTTP_SECONDS" --warmup "$HTTP_WARMUP" --out OUTDIR
skip redis || both redis redis BIN bench redis --events "$WORLD" --limit "$REDIS_LIMIT" \
  --verify "$REDIS_VERIFY" --out OUTDIR

# --- The after binary's own benchmarks (the base has none of them) --------
if ! skip after-only; then
  run after-only after http-stream env SEKIMORI_LOG=error "$AFTER_BIN" bench http --events "$WORLD" \
    --stream 4 --rates "$STREAM_RATES" --seconds "$HTTP_SECONDS" --warmup "$HTTP_WARMUP" --out OUTDIR
  run after-only after budget "$AFTER_BIN" bench budget --entities "$BUDGET_ENTITIES" --out OUTDIR
  run after-only after overload env SEKIMORI_LOG=error "$AFTER_BIN" bench overload \
    --seconds "$OVERLOAD_SECONDS" --out OUTDIR
fi

# --- divan micro-benchmarks, from the source trees -------------------------
# Built first (untimed), then run base, after per bench.
if ! skip micro && [ -n "${BASE_SRC:-}" ]; then
  AFTER_SRC="${AFTER_SRC:-$ROOT}"
  BASE_TARGET="${BASE_TARGET:-${CARGO_TARGET_DIR:-$BASE_SRC/target}}"
  AFTER_TARGET="${AFTER_TARGET:-${CARGO_TARGET_DIR:-$AFTER_SRC/target}}"
  micro() { # who src target crate bench [divan args]
    local who="$1" src="$2" tgt="$3" crate="$4" bench="$5"; shift 5
    run micro "$who" "micro-$bench" env -C "$src" CARGO_TARGET_DIR="$tgt" \
      cargo bench -q -p "$crate" --bench "$bench" -- "$@"
  }
  for d in windows:sekimori-window decode:sekimori-event rules:sekimori-rules; do
    run micro-build base "build-${d%%:*}" env -C "$BASE_SRC" CARGO_TARGET_DIR="$BASE_TARGET" \
      cargo bench -q --no-run -p "${d##*:}" --bench "${d%%:*}"
    run micro-build after "build-${d%%:*}" env -C "$AFTER_SRC" CARGO_TARGET_DIR="$AFTER_TARGET" \
      cargo bench -q --no-run -p "${d##*:}" --bench "${d%%:*}"
  done
  for d in windows:sekimori-window decode:sekimori-event rules:sekimori-rules; do
    # shellcheck disable=SC2086
    micro base "$BASE_SRC" "$BASE_TARGET" "${d##*:}" "${d%%:*}" $DIVAN_ARGS
    # shellcheck disable=SC2086
    micro after "$AFTER_SRC" "$AFTER_TARGET" "${d##*:}" "${d%%:*}" $DIVAN_ARGS
  done
fi

# --- The profile: callgrind instructions a decision and a decode ------------
# Last: instruction counts do not depend on the load, so this part may run
# while the machine is busy again (or alone: SITTING_SKIP with every other part).
# `sekimori replay FILE --out /dev/null`: both binaries have it (decode a
# line, decide it, write the decision). Instructions are counted inside the
# toggled function only; divided by the events: per decision, per decode.
CG_DECIDE="${CG_DECIDE_SYM:-sekimori_engine::engine::Engine::decide}"
CG_DECODE="${CG_DECODE_SYM:-sekimori_event::decode::decode}"
callgrind() { # who bin what symbol [rules]
  local who="$1" bin="$2" what="$3" sym="$4"; shift 4
  local f="$OUT/$who/callgrind-$what.out"
  run callgrind "$who" "callgrind-$what" valgrind --tool=callgrind --callgrind-out-file="$f" \
    --toggle-collect="$sym" "$bin" replay "$TMP/cg.jsonl" --out /dev/null "$@"
  if [ -s "$f" ]; then
    callgrind_annotate --inclusive=yes "$f" 2>/dev/null | head -n 60 > "$OUT/$who/callgrind-$what.annotate.txt"
    gzip -f "$f"
  fi
}
if ! skip callgrind; then
  echo "events: $CG_EVENTS (the first lines of the base world), pack of $BASE_REV unless -ownpack" \
    > "$OUT/callgrind.txt"
  for who in base after; do
    bin="$BASE_BIN"; [ "$who" = after ] && bin="$AFTER_BIN"
    callgrind "$who" "$bin" decide "$CG_DECIDE" --rules "$PACK"
    callgrind "$who" "$bin" decode "$CG_DECODE" --rules "$PACK"
  done
  # The after binary with its own default pack: the number the issue's target is about.
  callgrind after "$AFTER_BIN" decide-ownpack "$CG_DECIDE"
fi

echo "uptime at end: $(uptime)" >> "$OUT/machine.txt"
echo "wall clock: $(( $(date +%s) - START )) s" >> "$OUT/machine.txt"
python3 "$ROOT/bench/sitting-summary.py" "$OUT" > "$OUT/summary.md" \
  || echo "summary failed" >&2
cat "$OUT/summary.md"
