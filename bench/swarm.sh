#!/usr/bin/env bash
# Swarm figures of issue 10, each printed beside its reference from the same run:
#   three   three `atmo serve` providers of the same file, each behind a proxy capping its
#           upload at RATE; one pull through a consumer node that knows all three, beside the
#           same pull through a consumer node that knows one (goal: >= 2.7 RATE)
#   fanout  one seed capped at RATE and CONSUMERS (8) consumer nodes pulling together, all in
#           one mesh over loopback, beside one consumer alone: time until all have verified and
#           installed (goal <= 1.5x), bytes the seed sent (goal <= 1.5x the file)
#   flip    a provider whose proxy flips one byte of one download answer, plus an honest one:
#           model bytes over the wire minus the file size (goal: at most one piece), beside the
#           same pull with no flip; and `atmo pull --from` the flipping provider alone, pulled
#           until it succeeds (3 times at most)
#   single  `atmo pull --from URL` (verified, installed) vs `curl -o` of the same file from the
#           same provider, onto tmpfs, pairs interleaved (goal <= 1.25x), and the pull's peak
#           RSS (goal < 64 MiB); in the same rounds, both again from the same binary serving
#           with --no-sendfile (-plain rows), and curl from nginx (Debian's nginx-light,
#           sendfile on and off: the reference server of bench/run.sh); with BASELINE_BIN, that
#           binary's pull too in every round (an older build side by side: same provider, load)
#   all     every one of them
# Usage: bench/swarm.sh three|fanout|flip|single|all
# Environment: SIZE_MIB (256: three, fanout, flip), SINGLE_MIB (1024), RATE (bytes/s per
# capped provider, 20000000), CONSUMERS (8), RUNS (3: single), ATMO_BIN (a binary to measure
# instead of building a release one in .build-release), BASELINE_BIN (single: another binary
# pulled in the same rounds), BENCH_DIR (/dev/shm: every file, the
# served one and the pulled ones, lives on tmpfs so the shared disk's noise stays out).
# The proxies are bench/tools/throttle_proxy.py (Python asyncio; one token bucket per provider).
# Everything runs on 127.0.0.1; every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/nginx.sh
ROOT=$(pwd)
WHAT=${1:-all}
case "$WHAT" in three | fanout | flip | single | all) ;; *) sed -n '2,25p' "$0"; exit 2 ;; esac
SIZE_MIB=${SIZE_MIB:-256}
SINGLE_MIB=${SINGLE_MIB:-1024}
RATE=${RATE:-20000000}
CONSUMERS=${CONSUMERS:-8}
RUNS=${RUNS:-3}
BENCH_DIR=${BENCH_DIR:-/dev/shm}
PROXY="$ROOT/bench/tools/throttle_proxy.py"
WORK=$(mktemp -d "$BENCH_DIR/atmo-swarm-bench.XXXXXX")
MODEL=bench-model.gguf
: > "$WORK/pids"
# Processes are started inside $(...), so their pids go through files: every one in
# $WORK/pids (stopped on exit), each phase's also in $WORK/phase-pids (stopped between phases).
stop_phase() {
    [ -f "$WORK/phase-pids" ] && while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$WORK/phase-pids"
    [ -f "$WORK/phase-pids" ] && while read -r pid; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done < "$WORK/phase-pids"
    : > "$WORK/phase-pids"
}
cleanup() {
    stop_phase
    while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$WORK/pids"
    sleep 0.3
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need() { command -v "$1" >/dev/null 2>&1; }
if ! need curl || [ ! -x /usr/bin/time ] || ! need python3 || ! need nginx; then
    echo "== installing curl, time, python3, nginx-light"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl time python3 nginx-light >/dev/null
fi

if [ -n "${ATMO_BIN:-}" ]; then
    ATMO=$ATMO_BIN
    echo "== atmo: $ATMO"
else
    echo "== building atmo (release, .build-release)"
    swift build -c release --product atmo --scratch-path .build-release 2>&1 | tail -1
    ATMO="$ROOT/.build-release/release/atmo"
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mbps() { awk -v bytes="$1" -v s="$2" 'BEGIN { printf "%.1f", bytes / s / 1e6 }'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
track() { echo "$1" >> "$WORK/pids"; echo "$1" >> "$WORK/phase-pids"; }
waitfile() { for _ in $(seq 1200); do [ -s "$1" ] && { head -1 "$1"; return; }; sleep 0.05; done; echo "nothing in $1" >&2; exit 1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

model_file() { # size-MiB -> path of a random model of that size (written once per size)
    local dir="$WORK/models-$1"
    if [ ! -f "$dir/$MODEL" ]; then
        mkdir -p "$dir"
        head -c $(($1 * 1024 * 1024)) /dev/urandom > "$dir/$MODEL"
    fi
    echo "$dir/$MODEL"
}

# A capped provider: a proxy (RATE, HTTP counting, extra proxy args) in front of an `atmo serve`
# of FOLDER that advertises the proxy's URL. Prints the proxy's port; its stats go to
# $WORK/NAME/stats, its pid to $WORK/NAME/proxy.pid.
provider() { # name folder rate [proxy args...]
    local name=$1 folder=$2 rate=$3 dir="$WORK/$1"
    shift 3
    mkdir -p "$dir"
    python3 "$PROXY" --target-port-file "$dir/port" --rate "$rate" --http --stats "$dir/stats" "$@" \
        > "$dir/proxy.out" 2> "$dir/proxy.log" &
    track $!
    echo $! > "$dir/proxy.pid"
    local pport; pport=$(waitfile "$dir/proxy.out")
    "$ATMO" serve --host 127.0.0.1 --port 0 --port-file "$dir/port" --folder "$folder" --no-huggingface --no-llamafarm \
        --no-lan --state-dir "$dir/state" --advertise-url "http://127.0.0.1:$pport" --log-level warning \
        > /dev/null 2> "$dir/serve.log" &
    track $!
    local port; port=$(waitfile "$dir/port")
    for _ in $(seq 1200); do curl -sf "http://127.0.0.1:$port/v1/models" | grep -q "\"$MODEL\"" && break; sleep 0.1; done
    echo "$pport"
}

# A consumer node (no models of its own) gossiping with the given peer URLs. Prints its port.
consumer() { # name peer-url...
    local name=$1 dir="$WORK/$1" args=()
    shift
    for peer in "$@"; do args+=(--peer "$peer"); done
    mkdir -p "$dir"
    "$ATMO" serve --host 127.0.0.1 --port 0 --port-file "$dir/port" --no-huggingface --no-llamafarm --no-lan \
        --state-dir "$dir/state" --log-level warning "${args[@]}" > /dev/null 2> "$dir/serve.log" &
    track $!
    waitfile "$dir/port"
}

# Waits until the node on PORT lists at least COUNT providers of the model (60 s at most).
wait_providers() { # port count
    local n=0
    for _ in $(seq 600); do
        n=$(curl -sf "http://127.0.0.1:$1/v1/mesh/models/$MODEL" 2> /dev/null \
            | json "max([len(m['providers']) for m in d['models']] or [0])" 2> /dev/null || echo 0)
        [ "$n" -ge "$2" ] && return 0
        sleep 0.1
    done
    echo "   (warning: the node on port $1 lists $n providers of the model, not $2)" >&2
}

# The proxy of NAME writes its stats now; prints FIELD of them.
proxy_stat() { # name field
    local dir="$WORK/$1"
    rm -f "$dir/stats"
    kill -USR1 "$(cat "$dir/proxy.pid")"
    waitfile "$dir/stats" > /dev/null
    json "d['$2']" < "$dir/stats"
}

# `atmo pull MODEL` through the consumer node NAME; prints seconds. Checks the installed bytes.
pull_via() { # name file
    local dir="$WORK/$1" t0 t1
    t0=$(now)
    "$ATMO" pull "$MODEL" --state-dir "$dir/state" > "$dir/pull.out" 2>&1 || { echo "pull failed: $(tail -3 "$dir/pull.out")" >&2; exit 1; }
    t1=$(now)
    cmp -s "$dir/state/models/$MODEL" "$2" || { echo "FAIL: the bytes $1 installed differ" >&2; exit 1; }
    elapsed "$t0" "$t1"
}

# ---- 1. three capped providers ----
figure_three() {
    local file bytes p1 p2 p3 one all t_one t_three
    file=$(model_file "$SIZE_MIB"); bytes=$(stat -c %s "$file")
    echo "== three: ${SIZE_MIB} MiB, 3 providers each capped at $(mbps "$RATE" 1) MB/s"
    # Reference: one capped provider (stopped after, with its consumer: a node that holds the
    # file would be an uncapped source of the next pull).
    p1=$(provider p0 "$(dirname "$file")" "$RATE")
    one=$(consumer three-ref "http://127.0.0.1:$p1")
    wait_providers "$one" 1
    t_one=$(pull_via three-ref "$file")
    stop_phase
    p1=$(provider p1 "$(dirname "$file")" "$RATE")
    p2=$(provider p2 "$(dirname "$file")" "$RATE")
    p3=$(provider p3 "$(dirname "$file")" "$RATE")
    all=$(consumer three "http://127.0.0.1:$p1" "http://127.0.0.1:$p2" "http://127.0.0.1:$p3")
    wait_providers "$all" 3
    t_three=$(pull_via three "$file")
    local s1 s2 s3
    s1=$(proxy_stat p1 download_body_bytes); s2=$(proxy_stat p2 download_body_bytes); s3=$(proxy_stat p3 download_body_bytes)
    local d1 d2 d3
    d1=$(proxy_stat p1 bytes_down); d2=$(proxy_stat p2 bytes_down); d3=$(proxy_stat p3 bytes_down)
    local c1 c2 c3 a1 a2 a3
    c1=$(proxy_stat p1 connections); c2=$(proxy_stat p2 connections); c3=$(proxy_stat p3 connections)
    a1=$(proxy_stat p1 download_answers); a2=$(proxy_stat p2 download_answers); a3=$(proxy_stat p3 download_answers)
    stop_phase
    local r_one r_three
    r_one=$(mbps "$bytes" "$t_one"); r_three=$(mbps "$bytes" "$t_three")
    printf '%-46s %10s %10s\n' "" "1 source" "3 sources"
    printf '%-46s %8s s %8s s\n' "pull time (through a consumer node)" "$t_one" "$t_three"
    printf '%-46s %5s MB/s %5s MB/s\n' "rate (R = $(mbps "$RATE" 1) MB/s per provider)" "$r_one" "$r_three"
    printf '%-46s %9sR %9sR   goal >= 2.7R\n' "rate / R" "$(ratio "$r_one" "$(mbps "$RATE" 1)")" "$(ratio "$r_three" "$(mbps "$RATE" 1)")"
    printf '%-46s %s\n' "3 sources: download bodies from p1 / p2 / p3" "$s1 / $s2 / $s3 (file $bytes)"
    printf '%-46s %s\n' "3 sources: all bytes sent by p1 / p2 / p3" "$d1 / $d2 / $d3"
    printf '%-46s %s\n' "3 sources: connections / range answers, p1..p3" "$c1 / $a1, $c2 / $a2, $c3 / $a3 (gossip and probes too)"
    echo
}

# ---- 2. fan-out: one capped seed, CONSUMERS consumer nodes together ----
figure_fanout() {
    local file bytes seed t_one seed_one
    file=$(model_file "$SIZE_MIB"); bytes=$(stat -c %s "$file")
    echo "== fanout: ${SIZE_MIB} MiB, one seed capped at $(mbps "$RATE" 1) MB/s, $CONSUMERS consumers together vs 1 alone"
    # Reference: one consumer alone (its own seed, stopped after, so the consumer that now
    # holds the file takes no part in the fan-out).
    seed=$(provider seed-ref "$(dirname "$file")" "$RATE")
    local alone; alone=$(consumer alone "http://127.0.0.1:$seed")
    wait_providers "$alone" 1
    t_one=$(pull_via alone "$file")
    seed_one=$(proxy_stat seed-ref bytes_down)
    stop_phase

    seed=$(provider seed "$(dirname "$file")" "$RATE")
    local ports=() previous="" i port
    for i in $(seq "$CONSUMERS"); do
        if [ -n "$previous" ]; then port=$(consumer "c$i" "http://127.0.0.1:$seed" "http://127.0.0.1:$previous")
        else port=$(consumer "c$i" "http://127.0.0.1:$seed"); fi
        ports+=("$port"); previous=$port
    done
    for port in "${ports[@]}"; do wait_providers "$port" 1; done
    # Every consumer knows every other (gossip through the seed and the chain), 30 s at most.
    local peers
    for port in "${ports[@]}"; do
        for _ in $(seq 300); do
            peers=$(curl -sf "http://127.0.0.1:$port/v1/mesh/peers" | json "len(d['peers'])" 2> /dev/null || echo 0)
            [ "$peers" -ge "$CONSUMERS" ] && break
            sleep 0.1
        done
        [ "$peers" -ge "$CONSUMERS" ] || echo "   (warning: the consumer on port $port knows $peers peers, not $CONSUMERS)"
    done
    local seed_before; seed_before=$(proxy_stat seed bytes_down)
    # All pulls at once; a Python driver starts them, and prints each one's seconds.
    local states=()
    for i in $(seq "$CONSUMERS"); do states+=("$WORK/c$i/state"); done
    python3 - "$ATMO" "$MODEL" "${states[@]}" > "$WORK/fanout.times" <<'PY'
import signal, subprocess, sys, time
binary, model, states = sys.argv[1], sys.argv[2], sys.argv[3:]
start = time.monotonic()
pulls = [subprocess.Popen([binary, "pull", model, "--state-dir", s], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE) for s in states]
def stop(*_):
    for p in pulls:
        p.kill()
    sys.exit(1)
signal.signal(signal.SIGTERM, stop)
done = {}
while len(done) < len(pulls):
    for i, p in enumerate(pulls):
        if i not in done and p.poll() is not None:
            done[i] = time.monotonic() - start
            if p.returncode != 0:
                print(f"pull {i + 1} failed: {p.stderr.read().decode()[-300:]}", file=sys.stderr)
                stop()
    time.sleep(0.02)
for i in range(len(pulls)):
    print(f"{done[i]:.2f}")
PY
    local seed_all; seed_all=$(( $(proxy_stat seed bytes_down) - seed_before ))
    for i in $(seq "$CONSUMERS"); do
        cmp -s "$WORK/c$i/state/models/$MODEL" "$file" || { echo "FAIL: the bytes c$i installed differ" >&2; exit 1; }
    done
    stop_phase
    local t_all; t_all=$(sort -g "$WORK/fanout.times" | tail -1)
    printf '%-46s %10s %10s\n' "" "1 alone" "$CONSUMERS together"
    printf '%-46s %8s s %8s s   ratio %s, goal <= 1.5\n' "time until all have verified and installed" "$t_one" "$t_all" "$(ratio "$t_all" "$t_one")"
    printf '%-46s %10s %10s   ratio %s, goal <= 1.5 (without a swarm: %s)\n' "bytes the seed sent / file size" \
        "$(ratio "$seed_one" "$bytes")" "$(ratio "$seed_all" "$bytes")" "$(ratio "$seed_all" "$bytes")" "$CONSUMERS"
    echo "   each consumer's seconds: $(tr '\n' ' ' < "$WORK/fanout.times")"
    echo
}

# ---- 3. one flipped byte ----
# A pull through a consumer node knowing an honest provider and one whose proxy flips the
# middle byte of its first download answer; prints "seconds re-sent flipped-json".
flip_run() { # tag flip(0/1) file
    local tag=$1 flip=$2 file=$3 bytes honest corrupt node t sent=0
    bytes=$(stat -c %s "$file")
    local extra=()
    [ "$flip" = 1 ] && extra=(--flip-download 1)
    honest=$(provider "$tag-honest" "$(dirname "$file")" "$RATE")
    corrupt=$(provider "$tag-corrupt" "$(dirname "$file")" "$RATE" "${extra[@]}")
    node=$(consumer "$tag" "http://127.0.0.1:$honest" "http://127.0.0.1:$corrupt")
    wait_providers "$node" 2
    t=$(pull_via "$tag" "$file")
    sent=$(( $(proxy_stat "$tag-honest" bytes_down) + $(proxy_stat "$tag-corrupt" bytes_down) ))
    local payload
    payload=$(( $(json "d['download_body_bytes'] + d['websocket_bytes']" < "$WORK/$tag-corrupt/stats") ))
    payload=$(( payload + $(proxy_stat "$tag-honest" download_body_bytes) + $(proxy_stat "$tag-honest" websocket_bytes) ))
    local flipped; flipped=$(json "d['flipped']" < "$WORK/$tag-corrupt/stats")
    stop_phase
    echo "$t $((sent - bytes)) $((payload - bytes)) $flipped"
}

figure_flip() {
    local file bytes
    file=$(model_file "$SIZE_MIB"); bytes=$(stat -c %s "$file")
    echo "== flip: ${SIZE_MIB} MiB, an honest provider and one flipping a byte, each capped at $(mbps "$RATE" 1) MB/s"
    local clean flipped
    clean=$(flip_run flip-ref 0 "$file")
    flipped=$(flip_run flip 1 "$file")
    # The flipping provider alone (`atmo pull --from` its proxy): pulls until one succeeds
    # (3 at most: a pull that finds a bad file may fail), counting every download byte.
    local corrupt dir="$WORK/flip-alone" attempts=0 t0 t1 piece
    corrupt=$(provider flip-alone-p "$(dirname "$file")" "$RATE" --flip-download 1)
    # The piece size the provider's catalog entry names (none before piece manifests).
    piece=$(curl -sf "http://127.0.0.1:$(cat "$WORK/flip-alone-p/port")/v1/models/$MODEL" \
        | json "d.get('piece_size') or (d.get('model') or {}).get('piece_size') or 'none'" 2> /dev/null || echo none)
    t0=$(now)
    while [ $attempts -lt 3 ]; do
        attempts=$((attempts + 1))
        "$ATMO" pull "$MODEL" --from "http://127.0.0.1:$corrupt" --to "$dir/models" --state-dir "$dir/state" \
            > "$dir.out.$attempts" 2>&1 && break
    done
    t1=$(now)
    local alone_sent alone_payload; alone_sent=$(proxy_stat flip-alone-p bytes_down)
    alone_payload=$(json "d['download_body_bytes'] + d['websocket_bytes']" < "$WORK/flip-alone-p/stats")
    local alone_flip; alone_flip=$(json "d['flipped']" < "$WORK/flip-alone-p/stats")
    cmp -s "$dir/models/$MODEL" "$file" && alone_ok=yes || alone_ok=no
    stop_phase
    local clean_extra flip_extra clean_payload flip_payload
    clean_extra=$(echo "$clean" | cut -d' ' -f2); flip_extra=$(echo "$flipped" | cut -d' ' -f2)
    clean_payload=$(echo "$clean" | cut -d' ' -f3); flip_payload=$(echo "$flipped" | cut -d' ' -f3)
    printf '%-46s %12s %12s %12s\n' "" "no flip" "1 flip" "1 flip, alone"
    printf '%-46s %10s s %10s s %10s s\n' "pull time" "$(echo "$clean" | cut -d' ' -f1)" "$(echo "$flipped" | cut -d' ' -f1)" "$(elapsed "$t0" "$t1")"
    printf '%-46s %12s %12s %12s\n' "all bytes the providers sent - file size" "$clean_extra" "$flip_extra" "$((alone_sent - bytes))"
    printf '%-46s %12s %12s %12s   goal: at most one piece (%s)\n' "re-sent: model bytes sent - file size" "$clean_payload" \
        "$flip_payload" "$((alone_payload - bytes))" "$piece"
    printf '%-46s %12s %12s %12s\n' "pulls run / installed bytes right" "1 / yes" "1 / yes" "$attempts / $alone_ok"
    echo "   flipped (with an honest provider): $(echo "$flipped" | cut -d' ' -f4-)"
    echo "   flipped (alone): $alone_flip"
    echo "   (all bytes: catalogs, gossip, probes included; model bytes: download answers' bodies and direct WebSocket"
    echo "   connections; piece size from the catalog entry; 'None': the flip offset was never reached on that provider)"
    echo
}

# ---- 4. single source onto tmpfs: pull vs curl ----
# User + system clock ticks of a process and its children that were waited for; nginx's
# workers: the sum over the master's children.
serve_ticks() {
    if [ -f "/proc/$1/task/$1/children" ] && [ -n "$(cat "/proc/$1/task/$1/children")" ]; then
        local total=0 child
        for child in $(cat "/proc/$1/task/$1/children"); do total=$(( total + $(awk '{ print $14 + $15 }' "/proc/$child/stat") )); done
        echo "$total"
    else
        awk '{ print $14 + $15 }' "/proc/$1/stat"
    fi
}
# One timed transfer: appends "LABEL seconds peak-KiB cpu-seconds provider-ticks" to $dir/results.
single_measure() {
    local label=$1 provider=$2 ticks secs kib user sys; shift 2
    ticks=$(serve_ticks "$provider")
    /usr/bin/time -f '%e %M %U %S' -o "$dir/time.txt" "$@" > /dev/null
    read -r secs kib user sys < "$dir/time.txt"
    echo "$label $secs $kib $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $(( $(serve_ticks "$provider") - ticks ))" >> "$dir/results"
}
single_pull() {   # LABEL PROVIDER-PID URL BINARY
    rm -rf "$dir/pull"
    single_measure "$1" "$2" "$4" pull "$MODEL" --from "$3" --to "$dir/pull/models" --state-dir "$dir/pull/state"
    cmp -s "$dir/pull/models/$MODEL" "$file" || { echo "FAIL: pulled bytes differ ($1)" >&2; exit 1; }
    rm -rf "$dir/pull"
}
single_curl() {   # LABEL PROVIDER-PID URL (of the file itself)
    rm -f "$dir/curl.out"
    single_measure "$1" "$2" curl -s -o "$dir/curl.out" "$3"
    cmp -s "$dir/curl.out" "$file" || { echo "FAIL: curl's bytes differ ($1)" >&2; exit 1; }
    rm -f "$dir/curl.out"
}
single_nginx() {   # starts nginx (sendfile on and off) serving the file's folder; prints "PID URL-ON URL-OFF"
    local started pid on off
    # (user root: the bench's folders are root's own, mode 0700)
    started=$(nginx_start "$dir/nginx" "$(dirname "$file")" 1 root) || exit 1
    read -r pid on off <<< "$started"; track "$pid"
    curl -s -o /dev/null "http://127.0.0.1:$on/$MODEL"; curl -s -o /dev/null "http://127.0.0.1:$off/$MODEL"   # warm-up
    echo "$pid http://127.0.0.1:$on/$MODEL http://127.0.0.1:$off/$MODEL"
}
single_serve() {   # NAME [serve flags...]: starts a provider of the file, prints "PID URL" once it lists it
    local name=$1 port url; shift
    "$ATMO" serve --host 127.0.0.1 --port 0 --port-file "$dir/$name.port" --folder "$(dirname "$file")" --no-huggingface \
        --no-llamafarm --no-lan --state-dir "$dir/$name" --log-level warning "$@" > /dev/null 2> "$dir/$name.log" &
    track $!
    port=$(waitfile "$dir/$name.port"); url="http://127.0.0.1:$port"
    for _ in $(seq 1200); do curl -sf "$url/v1/models" | grep -q "\"$MODEL\"" && break; sleep 0.1; done
    curl -s -o /dev/null "$url/v1/models/download/$MODEL"   # warm-up
    echo "$(tail -1 "$WORK/phase-pids") $url"
}
# "LABEL": median seconds, largest peak RSS (MiB), median CPU-s/GiB, median provider CPU-s/GiB.
single_row() {
    awk -v l="$1" -v g="$gib" -v hz="$(getconf CLK_TCK)" '$1 == l { n++; t[n]=$2; r=($3>r?$3:r); c[n]=$4; p[n]=$5 }
        function med(a, n,   i, j, x) { for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j+1] = a[j]; a[j+1] = x }
            return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
        END { printf "%.2f %d %.2f %.2f\n", med(t, n), r / 1024, med(c, n) / g, med(p, n) / hz / g }' "$dir/results"
}
single_runs() { awk -v l="$1" '$1 == l { printf "%s ", $2 }' "$dir/results"; }
figure_single() {
    local file bytes dir="$WORK/single" gib base=${BASELINE_BIN:-} load_before i
    file=$(model_file "$SINGLE_MIB"); bytes=$(stat -c %s "$file")
    gib=$(awk -v b="$bytes" 'BEGIN { print b / 1073741824 }')
    echo "== single: ${SINGLE_MIB} MiB, one provider, onto $(df --output=fstype "$WORK" | tail -1) ($BENCH_DIR), $RUNS interleaved rounds"
    mkdir -p "$dir"; : > "$dir/results"
    local sf plain sf_pid sf_url plain_pid plain_url
    sf=$(single_serve sendfile); read -r sf_pid sf_url <<< "$sf"
    # The same provider with sendfile off (pread + write, as before 2026-12-07 e), in the same rounds.
    plain=$(single_serve plain --no-sendfile); read -r plain_pid plain_url <<< "$plain"
    # The reference server of bench/run.sh, sendfile on (Debian's default) and off.
    local nginx_pid nginx_on nginx_off download=/v1/models/download/$MODEL
    read -r nginx_pid nginx_on nginx_off <<< "$(single_nginx)"
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    for i in $(seq "$RUNS"); do
        [ -n "$base" ] && single_pull baseline "$sf_pid" "$sf_url" "$base"
        single_pull pull "$sf_pid" "$sf_url" "$ATMO"
        single_curl curl "$sf_pid" "$sf_url$download"
        single_curl curl-nginx "$nginx_pid" "$nginx_on"
        single_pull pull-plain "$plain_pid" "$plain_url" "$ATMO"
        single_curl curl-plain "$plain_pid" "$plain_url$download"
        single_curl curl-nginx-off "$nginx_pid" "$nginx_off"
    done
    stop_phase
    local p c pr cr
    read -r p pr _ _ <<< "$(single_row pull)"; read -r c _ _ _ <<< "$(single_row curl)"
    printf '%-34s %10s %10s %8s %14s %14s\n' "provider / client" "time" "ratio" "peak RSS" "client CPU-s/GiB" "provider CPU-s/GiB"
    for label in pull curl pull-plain curl-plain curl-nginx curl-nginx-off ${base:+baseline}; do
        local t r cpu prov ref
        read -r t r cpu prov <<< "$(single_row "$label")"
        case $label in pull | baseline) ref=$c ;; pull-plain) ref=$(single_row curl-plain | cut -d' ' -f1) ;; *) ref=$t ;; esac
        printf '%-34s %8s s %10s %6s MiB %14s %14s\n' "$label" "$t" "$(ratio "$t" "$ref")x" "$r" "$cpu" "$prov"
    done
    local best n_on n_off
    n_on=$(single_row curl-nginx | cut -d' ' -f1); n_off=$(single_row curl-nginx-off | cut -d' ' -f1)
    best=$(printf '%s\n' "$c" "$(single_row curl-plain | cut -d' ' -f1)" "$n_on" "$n_off" | sort -g | head -1)
    echo "   goal: pull (verified, installed, from the sendfile provider) <= 1.25x curl -o; peak RSS < 64 MiB (pull: $pr MiB)"
    echo "   pull against curl from nginx: sendfile on (Debian's default) $(ratio "$p" "$n_on")x, off $(ratio "$p" "$n_off")x"
    echo "   against the fastest curl of the four servers ($best s): pull $(ratio "$p" "$best")x (sendfile slows curl's own copy on loopback)"
    echo "   rate: pull $(mbps "$bytes" "$p") MB/s, curl $(mbps "$bytes" "$c") MB/s"
    echo "   (-plain: the same provider binary with --no-sendfile, each chunk read into memory and written)"
    for label in pull curl pull-plain curl-plain curl-nginx curl-nginx-off ${base:+baseline}; do echo "   runs $label: $(single_runs "$label")"; done
    [ -n "$base" ] && echo "   baseline: $base pulling from the sendfile provider"
    echo "   load average (1/5/15 min) before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
    echo
}

BUILT="this tree ($(git rev-parse --short HEAD) + uncommitted changes if any)"
[ -n "${ATMO_BIN:-}" ] && BUILT=$ATMO_BIN
echo "atmo swarm benchmarks, loopback, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), atmo: $BUILT"
echo
case "$WHAT" in
    three) figure_three ;;
    fanout) figure_fanout ;;
    flip) figure_flip ;;
    single) figure_single ;;
    all) figure_three; figure_fanout; figure_flip; figure_single ;;
esac
