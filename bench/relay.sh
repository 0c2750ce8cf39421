#!/usr/bin/env bash
# Relay throughput figure of issue 4, in one run: a model pulled through `atmo relay` in each
# chunked-transfer mode (fast_binary, fast_text, compat), next to a direct HTTP pull of the
# same file from the same provider; first on loopback, then with DELAY_MS of added round-trip
# delay on the consumer's link: tc netem in a network namespace where the kernel has netem,
# else (containers without the sch_netem module) bench/delay_proxy.py, a TCP proxy that
# delays every byte by DELAY_MS/2 each way without limiting bandwidth. The figure says which.
#
# Every pull is `atmo pull` through the consumer's node: transferred, verified, installed.
# The provider advertises a dead HTTP endpoint, so the consumer's node can only use the relay;
# the direct figure is `atmo pull --from` the provider's real port.
# Usage (root): bench/relay.sh [SIZE_MIB] (default 256). DELAY_MS=20 by default;
# SKIP_DELAY=1 measures loopback only (for large sizes: compat under delay runs at ~4 MB/s).
# Also the time from a relay-only pull's start to its first byte (issue 9, item 13), for the
# consumer node of BEFORE (default /tmp/atmo-before, the code before the fix) and of this
# build, in the same run; FIRST_BYTE_ONLY=1 measures only that. ATMO_BIN=PATH uses that
# binary instead of building a release one.
# Every process and the namespace started here are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-256}
DELAY_MS=${DELAY_MS:-20}
ROOT=$(pwd)
WORK=$(mktemp -d /tmp/atmo-relay-bench.XXXXXX)
NS=atmo-relay-bench-$$
HOST_IP=10.231.7.1
NS_IP=10.231.7.2
cleanup() {
    [ -f "$WORK/pids" ] && while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$WORK/pids"
    ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true
    sleep 0.3
    ip netns del "$NS" 2>/dev/null || true
    ip link del "vrb$$" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1; }
if ! need ip || ! need tc || ! need curl; then
    echo "== installing iproute2, curl"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 curl >/dev/null
fi

if [ -n "${ATMO_BIN:-}" ]; then
    ATMO=$ATMO_BIN   # e.g. a debug build, to compare first bytes with the debug BEFORE alike
    echo "== atmo: $ATMO"
else
    echo "== building atmo (release, .build-release)"
    swift build -c release --product atmo --scratch-path .build-release 2>&1 | tail -1
    ATMO="$ROOT/.build-release/release/atmo"
fi

DELAY_VIA=proxy
if ip netns add "$NS" 2>/dev/null; then
    ip link add "vrb$$" type veth peer name vrb-ns netns "$NS"
    ip addr add "$HOST_IP/24" dev "vrb$$" && ip link set "vrb$$" up
    ip netns exec "$NS" ip addr add "$NS_IP/24" dev vrb-ns
    ip netns exec "$NS" ip link set vrb-ns up
    ip netns exec "$NS" ip link set lo up
    ip netns exec "$NS" tc qdisc add dev vrb-ns root netem delay "${DELAY_MS}ms" 2>/dev/null && DELAY_VIA=netem
fi
echo "== ${DELAY_MS} ms of delay through: $DELAY_VIA"

echo "== writing a ${SIZE_MIB} MiB random model"
mkdir -p "$WORK/models"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$WORK/models/bench-model.gguf"
BYTES=$(stat -c %s "$WORK/models/bench-model.gguf")
MODEL=bench-model.gguf

waitport() { for _ in $(seq 600); do [ -s "$1" ] && { cat "$1"; return; }; sleep 0.05; done; echo "no port in $1" >&2; exit 1; }

"$ATMO" relay --host 0.0.0.0 --port 0 --port-file "$WORK/relay.port" --state-dir "$WORK/relay" --log-level warning \
    2> "$WORK/relay.log" &
echo $! >> "$WORK/pids"
RELAY_PORT=$(waitport "$WORK/relay.port")

RELAY_HOST=127.0.0.1
[ "$DELAY_VIA" = netem ] && RELAY_HOST=$HOST_IP
"$ATMO" mesh create bench --relay "ws://$RELAY_HOST:$RELAY_PORT" --state-dir "$WORK/a" > /dev/null
INVITE=$("$ATMO" mesh invite --state-dir "$WORK/a" --json | sed -n 's/.*"invite" *: *"\([^"]*\)".*/\1/p')
"$ATMO" serve --host 0.0.0.0 --port 0 --port-file "$WORK/a.port" --state-dir "$WORK/a" --folder "$WORK/models" \
    --no-huggingface --no-llamafarm --no-lan --advertise-url http://127.0.0.1:1 --log-level warning 2> "$WORK/a.log" &
echo $! >> "$WORK/pids"
A_PORT=$(waitport "$WORK/a.port")
for _ in $(seq 1200); do curl -sf "http://127.0.0.1:$A_PORT/v1/models" | grep -q "\"$MODEL\"" && break; sleep 0.1; done
cat "$WORK/models/bench-model.gguf" > /dev/null   # page cache: every run reads from memory

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mbps() { awk -v bytes="$BYTES" -v s="$1" 'BEGIN { printf "%.1f", bytes / s / 1e6 }'; }

# A delay proxy in front of 127.0.0.1:PORT; prints its port.
delayed_port() {
    python3 "$ROOT/bench/delay_proxy.py" "$WORK/proxy-$1.port" 127.0.0.1 "$1" "$DELAY_MS" > /dev/null 2> "$WORK/proxy-$1.log" &
    echo $! >> "$WORK/pids"
    waitport "$WORK/proxy-$1.port"
}

# One relayed pull: a fresh consumer node offering only MODE; prints seconds.
relayed() { # mode delayed(0/1)
    local mode=$1 delayed=$2 dir="$WORK/b-$1-$2" run=() relay="ws://127.0.0.1:$RELAY_PORT"
    if [ "$delayed" = 1 ]; then
        if [ "$DELAY_VIA" = netem ]; then run=(ip netns exec "$NS"); relay="ws://$HOST_IP:$RELAY_PORT"
        else relay="ws://127.0.0.1:$RELAY_DELAYED"; fi
    fi
    "$ATMO" mesh join "$INVITE" --relay "$relay" --state-dir "$dir" > /dev/null
    ATMO_RELAY_MODES=$mode "${run[@]}" "$ATMO" serve --host 127.0.0.1 --port 0 --port-file "$dir.port" --state-dir "$dir" \
        --no-huggingface --no-llamafarm --no-lan --advertise-url http://127.0.0.1:1 --log-level warning > /dev/null 2> "$dir.log" &
    local pid=$!
    echo $pid >> "$WORK/pids"
    local port; port=$(waitport "$dir.port")
    for _ in $(seq 600); do
        "${run[@]}" curl -sf "http://127.0.0.1:$port/v1/mesh/models" | grep -q "\"relay\"" && break
        sleep 0.1
    done
    local t0 t1; t0=$(now)
    "${run[@]}" "$ATMO" pull "$MODEL" --state-dir "$dir" > /dev/null 2>> "$dir.log" || { echo "pull failed: $(tail -3 "$dir.log")" >&2; exit 1; }
    t1=$(now)
    kill "$pid" 2>/dev/null || true
    elapsed "$t0" "$t1"
}

direct() { # delayed(0/1)
    local delayed=$1 dir="$WORK/d-$1" run=() url="http://127.0.0.1:$A_PORT"
    if [ "$delayed" = 1 ]; then
        if [ "$DELAY_VIA" = netem ]; then run=(ip netns exec "$NS"); url="http://$HOST_IP:$A_PORT"
        else url="http://127.0.0.1:$A_DELAYED"; fi
    fi
    local t0 t1; t0=$(now)
    "${run[@]}" "$ATMO" pull "$MODEL" --from "$url" --to "$dir/models" --state-dir "$dir" > /dev/null
    t1=$(now)
    elapsed "$t0" "$t1"
}

# The same pull over HTTP through a consumer node (the path relayed pulls take, from the
# CLI's request to the node to the install), from a second provider of the same folder that
# advertises its real endpoint; prints seconds. Loopback only.
direct_node() {
    local dir="$WORK/dn" provider="$WORK/a2"
    "$ATMO" serve --host 127.0.0.1 --port 0 --port-file "$provider.port" --state-dir "$provider" --folder "$WORK/models" \
        --no-huggingface --no-llamafarm --no-lan --log-level warning > /dev/null 2> "$provider.log" &
    local ppid=$!
    echo $ppid >> "$WORK/pids"
    local pport; pport=$(waitport "$provider.port")
    for _ in $(seq 1200); do curl -sf "http://127.0.0.1:$pport/v1/models" | grep -q "\"$MODEL\"" && break; sleep 0.1; done
    "$ATMO" serve --host 127.0.0.1 --port 0 --port-file "$dir.port" --state-dir "$dir" --no-huggingface --no-llamafarm \
        --no-lan --peer "http://127.0.0.1:$pport" --log-level warning > /dev/null 2> "$dir.log" &
    local pid=$!
    echo $pid >> "$WORK/pids"
    local port; port=$(waitport "$dir.port")
    for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/v1/mesh/models" | grep -q "\"$MODEL\"" && break; sleep 0.1; done
    local t0 t1; t0=$(now)
    "$ATMO" pull "$MODEL" --state-dir "$dir" > /dev/null 2>> "$dir.log" || { echo "pull failed: $(tail -3 "$dir.log")" >&2; exit 1; }
    t1=$(now)
    kill "$pid" "$ppid" 2>/dev/null || true
    elapsed "$t0" "$t1"
}

row() { printf "%-34s %8s s %9s MB/s\n" "$1" "$2" "$(mbps "$2")"; }

# Seconds from `atmo pull MODEL` (through a fresh consumer node running BINARY that knows A
# only through the relay, A's HTTP endpoint refusing connections) to the first byte: the
# node's /v1/downloads polled every 10 ms until bytes_done > 0 (the pull reports its bytes
# every 200 ms, so the figure is that fine). The pull is then stopped.
first_byte() { # binary run-number
    local bin=$1 dir="$WORK/fb-$2" relay="ws://127.0.0.1:$RELAY_PORT"
    "$bin" mesh join "$INVITE" --relay "$relay" --state-dir "$dir" > /dev/null
    "$bin" serve --host 127.0.0.1 --port 0 --port-file "$dir.port" --state-dir "$dir" --no-huggingface --no-llamafarm \
        --no-lan --advertise-url http://127.0.0.1:1 --log-level warning > /dev/null 2> "$dir.log" &
    local pid=$!
    echo $pid >> "$WORK/pids"
    local port; port=$(waitport "$dir.port")
    for _ in $(seq 600); do
        curl -sf "http://127.0.0.1:$port/v1/mesh/models" | grep -q "\"relay\"" && break
        sleep 0.1
    done
    python3 - "$bin" "$MODEL" "$dir" "$port" <<'PY'
import json, subprocess, sys, time, urllib.request
binary, model, state, port = sys.argv[1:5]
start = time.monotonic()
pull = subprocess.Popen([binary, "pull", model, "--state-dir", state, "--json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
seconds = None
while time.monotonic() - start < 60 and seconds is None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/downloads", timeout=2) as answer:
            body = json.load(answer)
        entries = body.get("downloads", body) if isinstance(body, dict) else body
        if any(e.get("bytes_done", 0) > 0 for e in entries if isinstance(e, dict)):
            seconds = time.monotonic() - start
    except Exception:
        pass
    time.sleep(0.01)
pull.kill()
print(f"{seconds:.2f}" if seconds is not None else "none")
PY
    kill "$pid" 2>/dev/null || true
}

first_bytes() { # binary label
    local runs=() i
    for i in 1 2 3; do runs+=("$(first_byte "$1" "$2-$i")"); done
    printf "%-34s %s s (runs: %s)\n" "$2" "$(printf "%s\n" "${runs[@]}" | sort -n | sed -n 2p)" "${runs[*]}"
}

echo
echo "== relay-only pull: time from pull start to first byte (median of 3; A's HTTP endpoint refuses)"
BEFORE=${BEFORE:-/tmp/atmo-before}
if [ -x "$BEFORE" ]; then first_bytes "$BEFORE" "before ($BEFORE)"; else echo "before: no binary at $BEFORE (set BEFORE=)"; fi
first_bytes "$ATMO" "after (this build)"
[ "${FIRST_BYTE_ONLY:-0}" = 1 ] && exit 0

echo
echo "== ${SIZE_MIB} MiB, loopback (consumer in the root namespace)"
L_HTTP=$(direct 0);            row "direct HTTP (atmo pull --from)" "$L_HTTP"
L_NODE=$(direct_node);          row "direct HTTP, through the node" "$L_NODE"
L_BIN=$(relayed fast_binary 0); row "relay, fast_binary" "$L_BIN"
L_TEXT=$(relayed fast_text 0);  row "relay, fast_text" "$L_TEXT"
L_COMPAT=$(relayed compat 0);   row "relay, compat (older design)" "$L_COMPAT"

if [ "${SKIP_DELAY:-0}" = 1 ]; then
    echo
    echo "fast_binary vs direct HTTP through the node, loopback: $(awk -v a="$L_NODE" -v b="$L_BIN" 'BEGIN { printf "%.2f", a / b }')x the throughput (goal >= 0.3x)"
    exit 0
fi
if [ "$DELAY_VIA" = netem ]; then
    RTT=$(ip netns exec "$NS" ping -c 3 -q "$HOST_IP" | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
else
    RELAY_DELAYED=$(delayed_port "$RELAY_PORT")
    A_DELAYED=$(delayed_port "$A_PORT")
    RTT="${DELAY_MS} (added by the proxy)"
fi
echo
echo "== ${SIZE_MIB} MiB, consumer behind ${DELAY_MS} ms of delay via $DELAY_VIA (RTT ${RTT} ms)"
D_HTTP=$(direct 1);            row "direct HTTP (atmo pull --from)" "$D_HTTP"
D_BIN=$(relayed fast_binary 1); row "relay, fast_binary" "$D_BIN"
D_TEXT=$(relayed fast_text 1);  row "relay, fast_text" "$D_TEXT"
D_COMPAT=$(relayed compat 1);   row "relay, compat (older design)" "$D_COMPAT"

echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "== goals"
echo "fast_binary vs compat under ${DELAY_MS} ms: $(ratio "$D_COMPAT" "$D_BIN")x faster (goal >= 10x)"
echo "fast_binary vs direct HTTP through the node, loopback: $(ratio "$L_NODE" "$L_BIN")x the throughput (goal >= 0.3x)"
