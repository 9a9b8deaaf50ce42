#!/bin/bash
cd /tmp/s24d
echo "=== after3 stream4 + redis $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"; uptime; python3 fsync.py 100
RUST_LOG=error ./sekimori-after3 bench http --events /tmp/f16/m600k.jsonl --stream 4 --rates 5000,10000,50000 --seconds 6 --warmup 2 --redis 100000 --out sbs-after3-stream 2>&1 | grep -v -e WARN -e INFO
echo "=== after3 single $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"; python3 fsync.py 100
RUST_LOG=error ./sekimori-after3 bench http --events /tmp/f16/m600k.jsonl --rates 5000 --seconds 6 --warmup 2 --out sbs-after3-single 2>&1 | grep -v -e WARN -e INFO
echo "=== end $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"; python3 fsync.py 100
