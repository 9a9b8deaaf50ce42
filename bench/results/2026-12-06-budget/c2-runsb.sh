#!/bin/bash
# usage: runs.sh NAME ENV...
name=$1; shift
for r in 1 2 3; do
  f=/tmp/C2/res-$name-r$r.txt
  { date; uptime; echo "+ env $* $BIN bench budget --entities 200000 --max-memory 67108864 --spray-gap 1000 --out /tmp/C2/out-$name-r$r"; } > $f
  env "$@" RUST_LOG=error /usr/bin/time -v $BIN bench budget --entities 200000 --max-memory 67108864 --spray-gap 1000 --out /tmp/C2/out-$name-r$r >> $f 2>&1
  { date; uptime; } >> $f
done
