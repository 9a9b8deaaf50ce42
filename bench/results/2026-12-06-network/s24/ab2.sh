#!/bin/bash
cd /tmp/s24d
for b in after2 before after2 before; do
  echo "=== $b stream4 $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"; python3 fsync.py 100
  RUST_LOG=error ./sekimori-$b bench http --events /tmp/f16/m600k.jsonl --stream 4 --rates 10000,50000 --seconds 6 --warmup 2 --out ab2-$b-stream-$(date +%H%M%S) 2>&1 | grep -v -e WARN -e INFO
done
echo "=== after2 stream8 $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
RUST_LOG=error ./sekimori-after2 bench http --events /tmp/f16/m600k.jsonl --stream 8 --rates 50000 --seconds 6 --warmup 2 --out ab2-after2-stream8 2>&1 | grep -v -e WARN -e INFO
for b in after2 before; do
  echo "=== $b single $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"; python3 fsync.py 100
  RUST_LOG=error ./sekimori-$b bench http --events /tmp/f16/m600k.jsonl --rates 1000,5000 --seconds 6 --warmup 2 --out ab2-$b-single 2>&1 | grep -v -e WARN -e INFO
done
echo "=== end $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
