# Sourced by run.sh and shards.sh (not run alone): checks for nats-server,
# makes the temp directory $T (removed, with every background job killed, on
# exit) and "$OUT", picks free loopback ports (C: client, R: cluster route,
# P: two sekimori listeners) and starts a three-node JetStream cluster whose
# client URLs are in $URLS.
command -v nats-server >/dev/null || { echo "nats-server is needed (apt-get install -y nats-server)"; exit 1; }
T=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$T"' EXIT
mkdir -p "$OUT"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
C=($(port) $(port) $(port)); R=($(port) $(port) $(port)); P=($(port) $(port))
for i in 0 1 2; do
  routes=""
  for j in 0 1 2; do [ $j = $i ] || routes="$routes${routes:+,}nats://127.0.0.1:${R[$j]}"; done
  nats-server -js -a 127.0.0.1 -p "${C[$i]}" -n "n$i" --cluster_name bench \
    --cluster "nats://127.0.0.1:${R[$i]}" --routes "$routes" -sd "$T/nats$i" >"$T/nats$i.log" 2>&1 &
done
URLS="nats://127.0.0.1:${C[0]},nats://127.0.0.1:${C[1]},nats://127.0.0.1:${C[2]}"
