#!/bin/bash
# issue 16 part 4, engineer C, 2026-12-06 (network-2)
cd /tmp/C
B=/tmp/C-bin
ld() { echo "--- $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"; python3 fsync.py 100; }
ld; echo "=== single 1000,2000,5000"
RUST_LOG=error $B bench http --events m600k.jsonl --rates 1000,2000,5000 --seconds 6 --warmup 2 --out single 2>&1 | grep -v -e WARN -e INFO
ld; echo "=== stream 4: 5000,10000,20000,50000 + redis 100000"
RUST_LOG=error $B bench http --events m600k.jsonl --stream 4 --rates 5000,10000,20000,50000 --seconds 6 --warmup 2 --redis 100000 --out stream 2>&1 | grep -v -e WARN -e INFO
ld; echo "=== end"
