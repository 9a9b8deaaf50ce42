#!/usr/bin/env bash
# Installs redis-server (Debian package) for `sekimori bench redis`. Idempotent:
# does nothing when redis-server is already on PATH. The benchmark starts and
# stops its own server; this script does not start one.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  echo "redis-server already installed: $(redis-server --version)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends redis-server
# The package may start a system service; the benchmark does not use it.
echo "installed: $(redis-server --version)"
