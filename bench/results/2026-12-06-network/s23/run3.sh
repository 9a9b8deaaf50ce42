#!/bin/bash
# The borrowed-entry change (d5cc190): after3 (with it) and after2 (without), back to back.
cd /tmp/s23e
F() { grep -v -E "WARN|INFO"; }
{
for b in after3 after2 after3 after2; do
echo "== $b stream $(date -u +%T) $(uptime)"
RUST_LOG=error ./sekimori-$b bench http --events m600k.jsonl --stream 4 --rates 10000 --seconds 8 --warmup 2 2>&1 | F | grep -A1 "^rate"
done
echo "== end $(date -u +%T) $(uptime)"
} > /tmp/s23e/sitting3.txt 2>&1
