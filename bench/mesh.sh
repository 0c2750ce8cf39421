#!/usr/bin/env bash
# Mesh propagation figure of issue 3, on loopback: three `atmo serve` nodes in a line,
# A <- B <- C (each started with --peer of the one before; no multicast). A new model file
# appears in A's folder; the script prints how long until A offers it (rescan + hash), until
# B lists it and until C lists it (C learned of A only through B's gossip).
# Usage: bench/mesh.sh [RUNS] (default 5). Every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
WORK=$(mktemp -d /tmp/atmo-mesh-bench.XXXXXX)
# Started inside $(...), so their pids go through a file, not an array.
cleanup() { [ -f "$WORK/pids" ] && while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$WORK/pids"; sleep 0.3; rm -rf "$WORK"; }
trap cleanup EXIT

echo "== building atmo (release, .build-release)"
swift build -c release --product atmo --scratch-path .build-release 2>&1 | tail -1
ATMO="$(pwd)/.build-release/release/atmo"

start() { # name folder peer-url-or-empty
    local name=$1 folder=$2 peer=$3 args=()
    mkdir -p "$WORK/$name" "$folder"
    [ -n "$peer" ] && args=(--peer "$peer")
    "$ATMO" serve --host 127.0.0.1 --port 0 --port-file "$WORK/$name/port" --folder "$folder" --no-huggingface \
        --no-llamafarm --no-lan --rescan-interval 1 --state-dir "$WORK/$name/state" --log-level warning "${args[@]}" \
        > /dev/null 2> "$WORK/$name.log" &
    echo $! >> "$WORK/pids"
    for _ in $(seq 300); do [ -s "$WORK/$name/port" ] && break; sleep 0.05; done
    echo "http://127.0.0.1:$(cat "$WORK/$name/port")"
}
A=$(start a "$WORK/a-models" "")
B=$(start b "$WORK/b-models" "$A")
C=$(start c "$WORK/c-models" "$B")
sleep 1

now() { date +%s.%N; }
lists() { curl -sf "$1$2" | grep -q "\"$3\""; }
waitfor() { # url path id -> prints seconds since $T0
    for _ in $(seq 6000); do lists "$1" "$2" "$3" && { awk -v a="$T0" -v b="$(now)" 'BEGIN{printf "%.3f", b-a}'; return; }; sleep 0.01; done
    echo "timeout"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ta=(); tb=(); tc=()
for i in $(seq "$RUNS"); do
    id="new-model-$i.gguf"
    head -c 1048576 /dev/urandom > "$WORK/$id"
    T0=$(now); mv "$WORK/$id" "$WORK/a-models/$id"
    ta+=("$(waitfor "$A" /v1/models "$id")")
    tb+=("$(waitfor "$B" /v1/mesh/models "$id")")
    tc+=("$(waitfor "$C" /v1/mesh/models "$id")")
done
echo
echo "mesh propagation on loopback: 1 MiB model appears in A's folder (rescan every 1 s), median of $RUNS"
printf '%-46s %8s s\n' "A offers it (rescan + hash)" "$(printf '%s\n' "${ta[@]}" | median)"
printf '%-46s %8s s\n' "B lists it (A's push)" "$(printf '%s\n' "${tb[@]}" | median)"
printf '%-46s %8s s\n' "C lists it (relayed by B, or pushed by A)" "$(printf '%s\n' "${tc[@]}" | median)"
echo "runs (A / B / C): ${ta[*]} / ${tb[*]} / ${tc[*]}"
