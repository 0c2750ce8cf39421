#!/usr/bin/env bash
# Bandwidth shaping figures of issue 11, in one run, loopback only:
#
# (a) A limit of LIMIT (default 8MB/s) holds within +/-5% over 30 s, counted on the wire by
#     a counting TCP proxy (bench/shaping_proxy.py count): a provider with `--limit-up LIMIT`
#     serving over HTTP (`atmo pull --from` the proxy), then the same provider serving a
#     relayed transfer (its relay link goes through the proxy). Beside them, the same HTTP
#     pull with the limit lifted at runtime (`atmo limit --up unlimited`): the path's ceiling.
# (b) Through a bottleneck (shaping_proxy.py bottleneck: one first-in first-out queue of up
#     to DEPTH bytes, default 8 MB, drained at RATE, default 4 MB/s) on a provider's link to
#     the relay, a ping that shares the queue (8 bytes every 100 ms to an echo server) while a
#     relayed transfer runs: unthrottled, then as a background transfer (`atmo limit
#     --adaptive-uploads on`: the upload watches its acks' round trips and halves its rate
#     when they rise 100 ms above their base), and for reference an unthrottled HTTP pull
#     through the same bottleneck. The figure is the ping's added delay (its round trip less
#     the idle one) from 5 s to 25 s into each transfer, and the transfer's rate meanwhile.
#
# Usage: bench/shaping.sh. LIMIT=8MB/s RATE=4000000 DEPTH=8000000 MODES=fast_text (the
# consumers' relay modes in (b); fast_text's 256 KiB chunks take 65 ms each through a 4 MB/s
# link, fast_binary's 1 MiB 260 ms, longer than the delay target itself). ATMO_BIN=PATH uses
# that binary instead of building a release one (.build-release). COMPARE=1 measures the
# background transfer ROUNDS times (default 2) with the delay controller as built and, between
# them, with the reference one (ATMO_DELAY_CONTROLLER=reference: provider C restarted), so both
# see the same machine load. SKIP_LIMIT=1 skips (a). Installs python3 and curl
# with apt-get when missing. Every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LIMIT=${LIMIT:-8MB/s}
RATE=${RATE:-4000000}
DEPTH=${DEPTH:-8000000}
MODES=${MODES:-fast_text}
COMPARE=${COMPARE:-0}
ROUNDS=${ROUNDS:-2}
SKIP_LIMIT=${SKIP_LIMIT:-0}
WORK=$(mktemp -d /tmp/atmo-shaping-bench.XXXXXX)
cleanup() {
    [ -f "$WORK/pids" ] && while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$WORK/pids"
    sleep 0.3
    [ -f "$WORK/pids" ] && while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done < "$WORK/pids"
    rm -rf "$WORK"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1; }
if ! need python3 || ! need curl; then
    echo "== installing python3, curl"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 curl >/dev/null
fi
if [ -n "${ATMO_BIN:-}" ]; then
    ATMO=$ATMO_BIN
else
    echo "== building atmo (release, .build-release)"
    swift build -c release --product atmo --scratch-path .build-release 2>&1 | tail -1
    ATMO="$ROOT/.build-release/release/atmo"
fi
PROXY="$ROOT/bench/shaping_proxy.py"
LIMIT_BPS=$(python3 -c "
import re, sys
m = re.fullmatch(r'([0-9.]+)\s*(MB|KB|GB)/s', '$LIMIT')
sys.exit('LIMIT must look like 8MB/s') if not m else print(int(float(m[1]) * {'KB': 1e3, 'MB': 1e6, 'GB': 1e9}[m[2]]))")

waitport() { for _ in $(seq 600); do [ -s "$1" ] && { cat "$1"; return; }; sleep 0.05; done; echo "no port in $1" >&2; exit 1; }
track() { echo "$1" >> "$WORK/pids"; }
waitmodel() { # port path model
    for _ in $(seq 1200); do curl -sf "http://127.0.0.1:$1$2" | grep -q "\"$3\"" && return; sleep 0.1; done
    echo "model $3 not listed at $1$2" >&2; exit 1
}
serve() { # state-dir extra-args...: starts atmo serve, prints its port
    local dir=$1; shift
    "$ATMO" serve --host 127.0.0.1 --port 0 --port-file "$dir.port" --state-dir "$dir" --no-huggingface --no-llamafarm --no-lan \
        --log-level warning "$@" > /dev/null 2> "$dir.log" &
    track $!
    echo $! > "$dir.pid"
    waitport "$dir.port"
}
stop() { kill "$(cat "$1.pid")" 2>/dev/null || true; }

# Bytes per second of a counting proxy's log column over [first byte + 2 s, first byte + 32 s].
window_rate() { # log column(2 up, 3 down)
    python3 - "$1" "$2" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
col = int(sys.argv[2]) - 1
points = [(float(r[0]), int(r[col])) for r in rows if len(r) == 3]
start = next(t for t, b in points if b > 0)
def at(t):
    return max((b for s, b in points if s <= t), default=0)
a, b = start + 2, start + 32
print(f"{(at(b) - at(a)) / (b - a):.0f}")
PY
}
deviation() { python3 -c "print(f'{($1 - $2) / $2 * 100:+.1f}%')"; }
mb() { python3 -c "print(f'{$1 / 1e6:.2f}')"; }

SIZE=$((LIMIT_BPS * 40))
[ "$SIZE" -lt $((160 * 1000 * 1000)) ] && SIZE=$((160 * 1000 * 1000))
MODEL=shaping-model.gguf
mkdir -p "$WORK/models"
echo "== writing a $((SIZE / 1000000)) MB random model"
head -c "$SIZE" /dev/urandom > "$WORK/models/$MODEL"

# The relay, a mesh, and provider A (the limit), whose relay link is counted.
"$ATMO" relay --host 127.0.0.1 --port 0 --port-file "$WORK/relay.port" --state-dir "$WORK/relay" --log-level warning \
    2> "$WORK/relay.log" &
track $!
RELAY_PORT=$(waitport "$WORK/relay.port")
python3 "$PROXY" count "$WORK/count-relay.port" "$RELAY_PORT" "$WORK/count-relay.log" &
track $!
COUNT_RELAY=$(waitport "$WORK/count-relay.port")
"$ATMO" mesh create shaping --relay "ws://127.0.0.1:$COUNT_RELAY" --state-dir "$WORK/a" > /dev/null
INVITE=$("$ATMO" mesh invite --state-dir "$WORK/a" --json | sed -n 's/.*"invite" *: *"\([^"]*\)".*/\1/p')
A_PORT=$(serve "$WORK/a" --folder "$WORK/models" --advertise-url http://127.0.0.1:1 --limit-up "$LIMIT")
waitmodel "$A_PORT" /v1/models "$MODEL"
cat "$WORK/models/$MODEL" > /dev/null   # page cache: the disk is not what limits

if [ "$SKIP_LIMIT" != 1 ]; then
echo
echo "== (a) --limit-up $LIMIT, counted on the wire over 30 s"
python3 "$PROXY" count "$WORK/count-http.port" "$A_PORT" "$WORK/count-http.log" &
track $!
COUNT_HTTP=$(waitport "$WORK/count-http.port")
"$ATMO" pull "$MODEL" --from "http://127.0.0.1:$COUNT_HTTP" --state-dir "$WORK/c-http" > /dev/null 2> "$WORK/c-http.log" &
PULL=$!
track $PULL
sleep 35
kill $PULL 2>/dev/null || true
HTTP_RATE=$(window_rate "$WORK/count-http.log" 3)

# The relayed transfer: consumer B (its own relay link direct), pulling from A through the relay.
"$ATMO" mesh join "$INVITE" --relay "ws://127.0.0.1:$RELAY_PORT" --state-dir "$WORK/b" > /dev/null
B_PORT=$(serve "$WORK/b" --advertise-url http://127.0.0.1:1)
waitmodel "$B_PORT" /v1/mesh/models relay
: > "$WORK/count-relay.log"
"$ATMO" pull "$MODEL" --state-dir "$WORK/b" > /dev/null 2> "$WORK/b-pull.log" &
PULL=$!
track $PULL
sleep 35
kill $PULL 2>/dev/null || true
curl -sf -X DELETE "http://127.0.0.1:$B_PORT/v1/downloads/$MODEL" > /dev/null || true
RELAY_RATE=$(window_rate "$WORK/count-relay.log" 2)
stop "$WORK/b"

# Reference: the same HTTP path, the limit lifted at runtime.
"$ATMO" limit --up unlimited --state-dir "$WORK/a" > /dev/null
: > "$WORK/count-http.log"
T0=$(date +%s.%N)
"$ATMO" pull "$MODEL" --from "http://127.0.0.1:$COUNT_HTTP" --state-dir "$WORK/c-free" > /dev/null 2> "$WORK/c-free.log"
T1=$(date +%s.%N)
FREE_RATE=$(python3 -c "print(f'{$SIZE / ($T1 - $T0):.0f}')")
stop "$WORK/a"

printf "%-44s %10s %12s\n" "path" "MB/s" "vs limit"
printf "%-44s %10s %12s\n" "limit (--limit-up $LIMIT)" "$(mb "$LIMIT_BPS")" ""
printf "%-44s %10s %12s\n" "HTTP serving, 30 s on the wire" "$(mb "$HTTP_RATE")" "$(deviation "$HTTP_RATE" "$LIMIT_BPS")"
printf "%-44s %10s %12s\n" "relayed (fast_binary), 30 s on the wire" "$(mb "$RELAY_RATE")" "$(deviation "$RELAY_RATE" "$LIMIT_BPS")"
printf "%-44s %10s %12s\n" "HTTP serving, limit lifted (whole pull)" "$(mb "$FREE_RATE")" ""
else
    stop "$WORK/a"
fi

echo
echo "== (b) bottleneck $(mb "$RATE") MB/s with a $(mb "$DEPTH") MB queue on provider C's link; ping through the same queue"
python3 "$PROXY" echo "$WORK/echo.port" &
track $!
ECHO_PORT=$(waitport "$WORK/echo.port")
# Provider C joins the mesh with its relay link through the bottleneck (A is stopped: C is
# the only provider), and its HTTP endpoint is reached through the bottleneck too.
python3 "$PROXY" bottleneck "$WORK/bn" "$RATE" "$DEPTH" "$WORK/bn.log" "relay:$RELAY_PORT:up" "ping:$ECHO_PORT:up" &
track $!
BN_RELAY=$(waitport "$WORK/bn.relay.port")
BN_PING=$(waitport "$WORK/bn.ping.port")
"$ATMO" mesh join "$INVITE" --relay "ws://127.0.0.1:$BN_RELAY" --state-dir "$WORK/c" > /dev/null
C_PORT=$(serve "$WORK/c" --folder "$WORK/models" --advertise-url http://127.0.0.1:1)
waitmodel "$C_PORT" /v1/models "$MODEL"
python3 "$PROXY" bottleneck "$WORK/bh" "$RATE" "$DEPTH" "$WORK/bh.log" "http:$C_PORT:down" "ping:$ECHO_PORT:up" &
track $!
BH_HTTP=$(waitport "$WORK/bh.http.port")
BH_PING=$(waitport "$WORK/bh.ping.port")

python3 "$PROXY" ping "$BN_PING" 5 "$WORK/ping-idle.txt"
IDLE=$(python3 -c "
import statistics
print(f'{statistics.median(float(l.split()[1]) for l in open(\"$WORK/ping-idle.txt\")):.2f}')")

# One transfer with pings beside it: prints "rate_bytes_per_s median p90 max" of the added delay.
measure() { # label ping-port bottleneck-log listener command...
    local label=$1 ping_port=$2 log=$3 listener=$4; shift 4
    : > "$log"
    "$@" > /dev/null 2> "$WORK/$label.log" &
    local pid=$!
    track $pid
    python3 "$PROXY" ping "$ping_port" 25 "$WORK/ping-$label.txt"
    kill $pid 2>/dev/null || true
    python3 - "$WORK/ping-$label.txt" "$log" "$listener" "$IDLE" <<'PY'
import statistics, sys
pings, log, listener, idle = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
samples = [(float(t), float(r)) for t, r in (l.split() for l in open(pings))]
t0 = samples[0][0]
added = sorted(max(0.0, r - idle) for t, r in samples if t - t0 >= 5)
rows = [l.split() for l in open(log)]
points = [(float(t), int(b)) for t, name, b in rows if name == listener]
def at(x):
    return max((b for s, b in points if s <= x), default=0)
rate = (at(t0 + 25) - at(t0 + 5)) / 20
p90 = added[int(0.9 * (len(added) - 1))] if added else float("nan")
print(f"{rate:.0f} {statistics.median(added):.0f} {p90:.0f} {max(added):.0f} {len(added)}")
PY
}

consumer() { # name: a fresh consumer node on the relay, offering only $MODES; prints its port
    "$ATMO" mesh join "$INVITE" --relay "ws://127.0.0.1:$RELAY_PORT" --state-dir "$WORK/$1" > /dev/null
    local port
    port=$(ATMO_RELAY_MODES=$MODES serve "$WORK/$1" --advertise-url http://127.0.0.1:1)
    waitmodel "$port" /v1/mesh/models relay
    echo "$port"
}

D_PORT=$(consumer d)
echo "load before: $(uptime | sed 's/.*load/load/')"

UNTHROTTLED=$(measure relay-unthrottled "$BN_PING" "$WORK/bn.log" relay "$ATMO" pull "$MODEL" --state-dir "$WORK/d")
curl -sf -X DELETE "http://127.0.0.1:$D_PORT/v1/downloads/$MODEL" > /dev/null || true
stop "$WORK/d"
sleep 3   # the queue drains

"$ATMO" limit --adaptive-uploads on --state-dir "$WORK/c" > /dev/null
E_PORT=$(consumer e)
BACKGROUND=$(measure relay-background "$BN_PING" "$WORK/bn.log" relay "$ATMO" pull "$MODEL" --state-dir "$WORK/e")
curl -sf -X DELETE "http://127.0.0.1:$E_PORT/v1/downloads/$MODEL" > /dev/null || true
HELD=$("$ATMO" limit --state-dir "$WORK/c" | grep "held back" || echo "held back by delay: none at the end")
stop "$WORK/e"
sleep 3

HTTP_REF=$(measure http-unthrottled "$BH_PING" "$WORK/bh.log" http "$ATMO" pull "$MODEL" --from "http://127.0.0.1:$BH_HTTP" \
    --state-dir "$WORK/f")
sleep 3

COMPARED=()
if [ "$COMPARE" = 1 ]; then
    restart_c() { # controller (reference|default): provider C again, adaptive uploads on
        stop "$WORK/c"
        for _ in $(seq 100); do kill -0 "$(cat "$WORK/c.pid")" 2>/dev/null || break; sleep 0.1; done
        rm -f "$WORK/c.port"
        C_PORT=$(ATMO_DELAY_CONTROLLER=$1 serve "$WORK/c" --folder "$WORK/models" --advertise-url http://127.0.0.1:1)
        waitmodel "$C_PORT" /v1/models "$MODEL"
        "$ATMO" limit --adaptive-uploads on --state-dir "$WORK/c" > /dev/null
        sleep 2   # its relay link up again
    }
    n=0
    for round in $(seq "$ROUNDS"); do
        for variant in reference new; do
            n=$((n + 1))
            if [ "$variant" = reference ]; then restart_c reference; else restart_c default; fi
            port=$(consumer "k$n")
            load=$(uptime | sed 's/.*load average: //')
            result=$(measure "relay-$variant-$round" "$BN_PING" "$WORK/bn.log" relay "$ATMO" pull "$MODEL" --state-dir "$WORK/k$n")
            curl -sf -X DELETE "http://127.0.0.1:$port/v1/downloads/$MODEL" > /dev/null || true
            stop "$WORK/k$n"
            COMPARED+=("background, $variant controller, round $round|$result|$load")
            sleep 3
        done
    done
fi

row() { # label "rate median p90 max n"
    set -- "$1" $2
    printf "%-40s %8s %10s %8s %8s %6s\n" "$1" "$(mb "$2")" "$3" "$4" "$5" "$6"
}
echo "idle ping through the bottleneck: $IDLE ms"
printf "%-40s %8s %10s %8s %8s %6s\n" "transfer (5-25 s)" "MB/s" "median ms" "p90 ms" "max ms" "pings"
row "relayed, unthrottled" "$UNTHROTTLED"
row "relayed, background (adaptive uploads)" "$BACKGROUND"
row "HTTP pull, unthrottled (reference)" "$HTTP_REF"
for entry in "${COMPARED[@]}"; do
    IFS='|' read -r label result load <<< "$entry"
    row "$label" "$result"
    echo "    (load average at its start: $load)"
done
echo "($HELD)"
echo "added delay = ping round trip - idle round trip; goal: background median under 100 ms where unthrottled is not"
