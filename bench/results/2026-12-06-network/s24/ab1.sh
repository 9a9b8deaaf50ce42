#!/bin/bash
# A/B, alternating: after1 then before, stream 4 then single.
cd /tmp/s24d
for b in after1 before; do
  echo "=== $b stream4 $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"; python3 fsync.py 100
  RUST_LOG=error ./sekimori-$b bench http --events /tmp/f16/m600k.jsonl --stream 4 --rates 5000,10000,50000 --seconds 6 --warmup 2 --out ab1-$b-stream 2>&1 | grep -v -e WARN -e INFO
done
for b in after1 before; do
  echo "=== $b single $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"; python3 fsync.py 100
  RUST_LOG=error ./sekimori-$b bench http --events /tmp/f16/m600k.jsonl --rates 5000 --seconds 6 --warmup 2 --out ab1-$b-single 2>&1 | grep -v -e WARN -e INFO
done
echo "=== end $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
