#!/usr/bin/env bash
# The dashboard of `atmo serve` in a real browser (Debian's Chromium, headless, driven by
# Selenium through Debian's chromedriver):
#
#   1. node A (`atmo serve`, uploads throttled by --limit-up) offers a small GGUF file and a
#      large one (sparse); node B (`atmo serve --peer A`) is the node whose dashboard is
#      opened; a fake peer (fake_peer.py) pushes B a catalog of 1,000 models, one named
#      `<img src=x onerror=alert(1)>`.
#   2. dashboard_checks.py: the first paint of the model list with 1,000 models (printed;
#      asserted loosely), search and the type/format/capability filters, a download of A's
#      small model started from the page (priority and button) followed to 100% and shown
#      installed, the large one paused/resumed (when the node has the routes) and cancelled
#      from the page, the hostile names shown as text with no alert and no <img>, a
#      cross-origin POST refused, and screenshots of the main views.
#
# Usage: Tests/Interop/dashboard/run.sh [path/to/atmo]   (default .build/debug/atmo)
# Installs chromium and chromium-driver with apt-get and selenium with pip if missing.
# Screenshots go to $ATMO_DASHBOARD_OUT (default Tests/Interop/dashboard/out/, ignored by
# git); ATMO_DASHBOARD_README_IMAGE=1 also copies the models view to docs/images/dashboard.png.
# Prints one line per check ("ok - ..." / "FAIL - ..." / "SKIP - ..."); exits 1 if any
# check fails.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
interop_setup "dashboard browser test" atmo-dashboard "$@"

# --- prerequisites -------------------------------------------------------------------
interop_need_atmo
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "installing chromium and chromium-driver with apt-get"
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; } \
        >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; interop_fail_early "cannot install chromium and chromium-driver with apt-get"; }
fi
interop_need_python 'import selenium' selenium
echo "$(chromium --version 2>/dev/null | head -1), $(chromedriver --version | head -1 | cut -d' ' -f1-2)," \
    "python selenium $(python3 -c 'import selenium; print(selenium.__version__)'), atmo at $atmo"

out="${ATMO_DASHBOARD_OUT:-$here/out}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
export HOME="$work/home"
mkdir -p "$HOME"

# Starts `atmo serve` NAME with extra arguments (own state, models and port); sets $port.
start_node() {
    local name=$1
    shift
    "$atmo" serve --host 127.0.0.1 --port 0 --port-file "$work/$name.port" --state-dir "$work/$name-state" \
        --models-dir "$work/$name-models" --no-lan --no-llamafarm --no-huggingface --name "node-$name" "$@" \
        >"$work/$name.out" 2>"$work/$name.err" &
    local pid=$!
    interop_track "$pid"
    interop_wait_port "$pid" "$work/$name.port"
    if [[ -z "$port" ]]; then
        sed 's/^/   /' "$work/$name.err" | tail -20
        interop_fail_early "atmo serve $name did not write its port within 60 s"
    fi
    echo "node $name (pid $pid) at http://127.0.0.1:$port"
}

# Polls URL until its body contains TEXT (deadline 90 s).
wait_for() {
    local url=$1 text=$2
    for _ in $(seq 1 900); do
        if curl -fsS "$url" 2>/dev/null | grep -q "$text"; then return 0; fi
        sleep 0.1
    done
    return 1
}

# A's models: a small GGUF file (downloaded to the end) and a large sparse one (paused and
# cancelled); A's uploads are throttled so the large one is still moving when the page acts.
small_size=$((8 * 1024 * 1024 + 5))
large_size=$((512 * 1024 * 1024))
mkdir -p "$work/offered"
python3 - "$work/offered" "$small_size" "$large_size" <<'PY'
import os, sys
folder, small, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
header = b"GGUF" + bytes([3, 0, 0, 0])
with open(os.path.join(folder, "dash-small.gguf"), "wb") as f:
    f.write(header + os.urandom(small - len(header)))
with open(os.path.join(folder, "dash-large.gguf"), "wb") as f:
    f.write(header + os.urandom(1024 * 1024))
    f.truncate(large)
PY

start_node a --folder "$work/offered" --limit-up 4MB/s
a_url="http://127.0.0.1:$port"
wait_for "$a_url/v1/models" '"dash-large.gguf"' || interop_fail_early "node A does not offer dash-large.gguf within 90 s"
wait_for "$a_url/v1/models" '"dash-small.gguf"' || interop_fail_early "node A does not offer dash-small.gguf within 90 s"
start_node b --peer "$a_url"
b_url="http://127.0.0.1:$port"
wait_for "$b_url/v1/mesh/models" '"dash-large.gguf"' || interop_fail_early "node B did not learn dash-large.gguf from A within 90 s"
wait_for "$b_url/v1/mesh/models" '"dash-small.gguf"' || interop_fail_early "node B did not learn dash-small.gguf from A within 90 s"

readme_image=""
[[ "${ATMO_DASHBOARD_README_IMAGE:-0}" == 1 ]] && readme_image="$here/../../../docs/images/dashboard.png"
python3 "$here/dashboard_checks.py" --node "$b_url" --provider "$a_url" --out "$out" --work "$work" --atmo "$atmo" \
    --small-size "$small_size" --large-size "$large_size" ${readme_image:+--readme-image "$readme_image"} \
    | tee "$work/checks.out"
status=${PIPESTATUS[0]}

passed=$(grep -c '^ok - ' "$work/checks.out")
failed=$(grep -c '^FAIL - ' "$work/checks.out")
skipped=$(grep -c '^SKIP - ' "$work/checks.out")
[[ $status -ne 0 && $failed -eq 0 ]] && failed=1
if [[ $failed -ne 0 ]]; then
    for name in a b; do
        echo "node $name log (last 20 lines):"
        tail -20 "$work/$name.err" | sed 's/^/   /'
    done
fi
echo "dashboard browser test: $passed passed, $failed failed, $skipped skipped ($((SECONDS - started)) s); screenshots in $out"
[[ $failed -eq 0 ]]
