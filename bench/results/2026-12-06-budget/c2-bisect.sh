#!/bin/bash
# The resident set over the floor at 5,000 and 10,000 entities of the 64 MiB flood, per release binary of the day.
for b in "$@"; do
  r=$(RUST_LOG=error timeout 60 $b bench budget --entities 20000 --max-memory 67108864 --spray-gap 1000 2>&1 | grep -E "^ +(5000|10000) entities" | awk '{print $3}' | tr '\n' ' ')
  echo "$(ls -la --time-style=+%H:%M $b | awk '{print $6}') $b $r"
done
