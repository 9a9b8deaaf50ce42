#!/bin/bash
# One sitting: the after binary and the before binary back to back, uptime beside each.
cd /tmp/s23e
A=./sekimori-after; B=./sekimori-before
F() { grep -v -E "WARN|INFO"; }
{
echo "== after stream + redis $(date -u +%T) $(uptime)"
RUST_LOG=error $A bench http --events m600k.jsonl --stream 4 --rates 5000,10000,50000 --seconds 10 --warmup 2 --redis 100000 --out /tmp/s23e/after2-stream 2>&1 | F
echo "== before stream $(date -u +%T) $(uptime)"
RUST_LOG=error $B bench http --events m600k.jsonl --stream 4 --rates 5000,10000,50000 --seconds 10 --warmup 2 --out /tmp/s23e/before3-stream 2>&1 | F
echo "== after single $(date -u +%T) $(uptime)"
RUST_LOG=error $A bench http --events m600k.jsonl --rates 5000 --seconds 10 --warmup 2 --out /tmp/s23e/after2-single 2>&1 | F
echo "== before single $(date -u +%T) $(uptime)"
RUST_LOG=error $B bench http --events m600k.jsonl --rates 5000 --seconds 10 --warmup 2 --out /tmp/s23e/before3-single 2>&1 | F
echo "== end $(date -u +%T) $(uptime)"
} > /tmp/s23e/sitting2.txt 2>&1
