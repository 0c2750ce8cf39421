#!/usr/bin/env bash
# Benchmarks of issue 2, printed side by side with their reference in one run:
#   1. serve: curl from `atmo serve` vs nginx (sendfile on / off)
#   2. pull:  `atmo pull` (verified, installed) vs `curl -o FILE` from the same server
#   3. hash:  the inventory's first hash vs `openssl dgst -sha256`; rescan of an unchanged
#             10 GiB inventory
#   4. peak RSS of `atmo serve` during 8 concurrent downloads, and of `atmo pull`
# Usage: bench/run.sh [SIZE_MIB] (default 1024). Needs root for apt-get (nginx, curl, time).
# Everything runs on 127.0.0.1; every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/nginx.sh
SIZE_MIB=${1:-1024}
RUNS=${RUNS:-3}
ROOT=$(pwd)
WORK=$(mktemp -d /tmp/atmo-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    nginx_stop "$WORK/nginx"
    sleep 0.3
    rm -rf "$WORK"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need curl || [ ! -x /usr/bin/time ] || ! need openssl; then
    echo "== installing nginx-light, curl, time, openssl"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light curl time openssl >/dev/null
fi

echo "== building atmo (release, .build-release)"
swift build -c release --product atmo --scratch-path .build-release 2>&1 | tail -1
ATMO="$ROOT/.build-release/release/atmo"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
mbps() { awk -v bytes="$1" -v s="$2" 'BEGIN { printf "%.0f", bytes / s / 1e6 }'; }

echo "== writing a ${SIZE_MIB} MiB random model"
mkdir -p "$WORK/models" && chmod 755 "$WORK/models"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$WORK/models/bench-model.gguf"
chmod 644 "$WORK/models/bench-model.gguf"
BYTES=$(stat -c %s "$WORK/models/bench-model.gguf")
MODEL=bench-model.gguf
cat "$WORK/models/bench-model.gguf" > /dev/null   # page cache: every run reads from memory

# ---- 3. hash (first, while nothing else runs) ----
hash_atmo=(); hash_openssl=()
for i in $(seq "$RUNS"); do
    rm -rf "$WORK/hashstate"
    t0=$(date +%s.%N); "$ATMO" ls --hash --json --folder "$WORK/models" --state-dir "$WORK/hashstate" >/dev/null; t1=$(date +%s.%N)
    hash_atmo+=("$(elapsed "$t0" "$t1")")
    t0=$(date +%s.%N); openssl dgst -sha256 "$WORK/models/bench-model.gguf" >/dev/null; t1=$(date +%s.%N)
    hash_openssl+=("$(elapsed "$t0" "$t1")")
done
H_ATMO=$(printf '%s\n' "${hash_atmo[@]}" | median); H_SSL=$(printf '%s\n' "${hash_openssl[@]}" | median)

# Rescan of an unchanged 10 GiB inventory: ten names (hard links) for the file, hashed once.
mkdir -p "$WORK/big"
for i in $(seq 10); do ln "$WORK/models/bench-model.gguf" "$WORK/big/copy-$i.gguf"; done
"$ATMO" ls --hash --json --folder "$WORK/big" --state-dir "$WORK/bigstate" >/dev/null
rescan=()
for i in $(seq "$RUNS"); do
    t0=$(date +%s.%N); "$ATMO" ls --json --folder "$WORK/big" --state-dir "$WORK/bigstate" > "$WORK/rescan.json"; t1=$(date +%s.%N)
    rescan+=("$(elapsed "$t0" "$t1")")
done
RESCAN=$(printf '%s\n' "${rescan[@]}" | median)
grep -q null "$WORK/rescan.json" && echo "WARNING: rescan found unhashed files"

# ---- servers ----
"$ATMO" serve --host 127.0.0.1 --port 0 --port-file "$WORK/atmo.port" --folder "$WORK/models" \
    --no-huggingface --no-llamafarm --no-lan --state-dir "$WORK/serve" --log-level warning &
SERVE_PID=$!; PIDS+=("$SERVE_PID")
for _ in $(seq 600); do [ -s "$WORK/atmo.port" ] && curl -sf "http://127.0.0.1:$(cat "$WORK/atmo.port")/v1/models/$MODEL" >/dev/null && break; sleep 0.1; done
APORT=$(cat "$WORK/atmo.port")
ATMO_URL="http://127.0.0.1:$APORT"

# The reference server, sendfile on and off (bench/lib/nginx.sh).
NGINX=$(nginx_start "$WORK/nginx" "$WORK/models" 2)
read -r _ NPORT_ON NPORT_OFF <<< "$NGINX"

fetch() { curl -s -o /dev/null -w '%{time_total}\n' "$1"; }
fetch "$ATMO_URL/v1/models/download/$MODEL" >/dev/null   # warm-up
# Interleaved, so a burst of load elsewhere on the machine hits all three alike.
s_atmo=(); s_on=(); s_off=()
for i in $(seq "$RUNS"); do
    s_atmo+=("$(fetch "$ATMO_URL/v1/models/download/$MODEL")")
    s_on+=("$(fetch "http://127.0.0.1:$NPORT_ON/bench-model.gguf")")
    s_off+=("$(fetch "http://127.0.0.1:$NPORT_OFF/bench-model.gguf")")
done
S_ATMO=$(printf '%s\n' "${s_atmo[@]}" | median)
S_ON=$(printf '%s\n' "${s_on[@]}" | median)
S_OFF=$(printf '%s\n' "${s_off[@]}" | median)
S_BEST=$(printf '%s\n%s\n' "$S_ON" "$S_OFF" | sort -g | head -1)

# ---- 2. pull vs curl -o FILE ----
pull_t=(); curl_t=(); pull_rss=()
for i in $(seq "$RUNS"); do
    rm -rf "$WORK/pull" "$WORK/curl.out"
    /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$ATMO" pull "$MODEL" --from "$ATMO_URL" --state-dir "$WORK/pull" >/dev/null
    read -r secs kib < "$WORK/time.txt"; pull_t+=("$secs"); pull_rss+=("$kib")
    cmp -s "$WORK/pull/models/$MODEL" "$WORK/models/bench-model.gguf" || { echo "FAIL: pulled bytes differ"; exit 1; }
    t0=$(date +%s.%N); curl -s -o "$WORK/curl.out" "$ATMO_URL/v1/models/download/$MODEL"; t1=$(date +%s.%N)
    curl_t+=("$(elapsed "$t0" "$t1")")
done
rm -rf "$WORK/pull" "$WORK/curl.out"
P_ATMO=$(printf '%s\n' "${pull_t[@]}" | median); P_CURL=$(printf '%s\n' "${curl_t[@]}" | median)
P_RSS=$(printf '%s\n' "${pull_rss[@]}" | sort -g | tail -1)

# ---- 4. serve RSS under 8 concurrent downloads ----
for i in $(seq 8); do curl -s -o /dev/null "$ATMO_URL/v1/models/download/$MODEL" & done
wait_for_curls() { for job in $(jobs -p); do [ "$job" = "$SERVE_PID" ] || wait "$job" 2>/dev/null || true; done; }
wait_for_curls
S_RSS=$(awk '/VmHWM/ {print $2}' "/proc/$SERVE_PID/status")

echo
echo "atmo benchmarks: ${SIZE_MIB} MiB random file, loopback, median of $RUNS runs, $(nproc) cores, $(date -u +%Y-%m-%d)"
printf '%-44s %12s %12s %8s  %s\n' "measure" "atmo" "reference" "ratio" "goal"
printf '%-44s %10s s %10s s %8s  %s\n' "1. serve: curl -o /dev/null (vs best nginx)" "$S_ATMO" "$S_BEST" "$(ratio "$S_BEST" "$S_ATMO")" ">= 1.0 (reference time / atmo time)"
printf '%-44s %10s s %10s s\n' "   nginx sendfile on / off" "$S_ON" "$S_OFF"
printf '%-44s %8s MB/s %8s MB/s\n' "   throughput" "$(mbps "$BYTES" "$S_ATMO")" "$(mbps "$BYTES" "$S_BEST")"
printf '%-44s %10s s %10s s %8s  %s\n' "2. pull (verified+installed) vs curl -o FILE" "$P_ATMO" "$P_CURL" "$(ratio "$P_ATMO" "$P_CURL")" "<= 1.25 (atmo time / curl time)"
printf '%-44s %8s MB/s %8s MB/s\n' "   throughput" "$(mbps "$BYTES" "$P_ATMO")" "$(mbps "$BYTES" "$P_CURL")"
printf '%-44s %10s s %10s s %8s  %s\n' "3. first hash vs openssl dgst -sha256" "$H_ATMO" "$H_SSL" "$(ratio "$H_SSL" "$H_ATMO")" ">= 0.9 (openssl time / atmo time)"
printf '%-44s %10s s %12s %8s  %s\n' "   rescan, unchanged 10 x ${SIZE_MIB} MiB" "$RESCAN" "-" "-" "< 0.5 s"
printf '%-44s %8s MiB %12s %8s  %s\n' "4. peak RSS atmo serve, 8 downloads" "$((S_RSS / 1024))" "-" "-" "< 64 MiB"
printf '%-44s %8s MiB %12s %8s  %s\n' "   peak RSS atmo pull" "$((P_RSS / 1024))" "-" "-" "< 64 MiB"
