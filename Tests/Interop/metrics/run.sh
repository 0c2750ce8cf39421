#!/usr/bin/env bash
# `GET /metrics` read by the real Prometheus text parser (prometheus_client from PyPI):
#
#   1. node A (`atmo serve`) offers a 6 MiB GGUF file; node B (`atmo serve --peer A`).
#   2. Both nodes' /metrics are scraped, then `atmo pull` through the running node B fetches
#      the file from A, then both are scraped again.
#   3. Every scrape parses with prometheus_client.parser.text_string_to_metric_families,
#      with the documented families and types (docs/METRICS.md); A's bytes served, B's
#      bytes received and B's completed downloads moved during the pull.
#   4. From another machine (remote.sh: two network namespaces and a veth pair; root only):
#      /metrics answers 403 without --metrics-public and 200 with it, and a node there that
#      pulls over HTTP is counted under its node id in the provider's bytes served.
#
# Usage: Tests/Interop/metrics/run.sh [path/to/atmo]   (default .build/debug/atmo)
# Installs prometheus_client with pip if missing. Prints one line per check ("ok - ..." /
# "FAIL - ..."); exits 1 if any check fails.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
interop_setup "metrics interop" atmo-metrics "$@"

# --- prerequisites -------------------------------------------------------------------
interop_need_atmo
interop_need_python 'import prometheus_client' prometheus_client
echo "python prometheus_client $(python3 -c 'from importlib.metadata import version; print(version("prometheus_client"))'), atmo at $atmo"

export HOME="$work/home"
mkdir -p "$HOME"

# Starts `atmo serve` NAME with extra arguments (own state, models and port); sets $port.
start_node() {
    local name=$1
    shift
    interop_start_node "$name" --models-dir "$work/$name-models" --no-huggingface --name "node-$name" "$@"
}

wait_for() { interop_wait_for "$@"; }

size=$((6 * 1024 * 1024 + 3))
mkdir -p "$work/offered"
python3 - "$work/offered/metrics-probe.gguf" "$size" <<'PY'
import os, sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.write(b"GGUF" + bytes([3, 0, 0, 0]) + os.urandom(size - 8))
PY

start_node a --folder "$work/offered"
a_url="http://127.0.0.1:$port"
wait_for "$a_url/v1/models" '"metrics-probe.gguf"' || interop_fail_early "node A does not offer metrics-probe.gguf within 90 s"
start_node b --peer "$a_url"
b_url="http://127.0.0.1:$port"
wait_for "$b_url/v1/mesh/models" '"metrics-probe.gguf"' || interop_fail_early "node B did not learn metrics-probe.gguf from A within 90 s"

status=0
: >"$work/checks.out"
record() { echo "$1" | tee -a "$work/checks.out"; }
scrape() {
    if curl -fsS "$1/metrics" -o "$2"; then record "ok - GET $1/metrics answers"; else record "FAIL - GET $1/metrics"; status=1; fi
}
checks() {
    python3 "$here/metrics_checks.py" "$@" | tee -a "$work/checks.out"
    [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
}

scrape "$a_url" "$work/a-before.txt"
scrape "$b_url" "$work/b-before.txt"
content_type=$(curl -fsS -o /dev/null -w '%{content_type}' "$b_url/metrics")
[[ "$content_type" == "text/plain; version=0.0.4; charset=utf-8" ]] && record "ok - content type $content_type" \
    || { record "FAIL - content type '$content_type'"; status=1; }

if "$atmo" pull metrics-probe.gguf --state-dir "$work/b-state" --models-dir "$work/b-models" --json \
    >"$work/pull.json" 2>"$work/pull.err"; then
    record "ok - atmo pull metrics-probe.gguf through node B exits 0"
else
    record "FAIL - atmo pull failed: $(tail -3 "$work/pull.err" "$work/pull.json")"
    status=1
fi

scrape "$a_url" "$work/a-after.txt"
scrape "$b_url" "$work/b-after.txt"
checks parse "$work/a-before.txt" "$work/b-before.txt" "$work/a-after.txt" "$work/b-after.txt"
checks moved "$work/a-before.txt" "$work/a-after.txt" "$work/b-before.txt" "$work/b-after.txt" "$size"

# 4. From another machine (two network namespaces; root only, else SKIPPED): 403 unless
#    --metrics-public, and bytes served over HTTP counted under the requesting node's id.
source "$here/remote.sh"
trap 'interop_cleanup; remote_cleanup' EXIT
remote_checks

passed=$(grep -c '^ok - ' "$work/checks.out")
failed=$(grep -c '^FAIL - ' "$work/checks.out")
[[ $status -ne 0 && $failed -eq 0 ]] && failed=1
if [[ $failed -ne 0 ]]; then
    for name in a b; do
        echo "node $name log (last 20 lines):"
        tail -20 "$work/$name.err" | sed 's/^/   /'
    done
fi
echo "metrics interop: $passed passed, $failed failed ($((SECONDS - started)) s)"
[[ $failed -eq 0 ]]
