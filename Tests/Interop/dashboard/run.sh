#!/usr/bin/env bash
# The dashboard of `atmo serve` in a real browser (Debian's Chromium, headless, driven by
# Selenium through Debian's chromedriver):
#
#   1. node A (`atmo serve`, uploads throttled by --limit-up) offers a small GGUF file and a
#      large one (sparse); node B (`atmo serve --peer A`) is the node whose dashboard is
#      opened; a fake peer (fake_peer.py) pushes B a catalog of 1,000 models, one named
#      `<img src=x onerror=alert(1)>`.
#   2. dashboard_checks.py (with models_checks.py and downloads_checks.py), through the
#      page's data-testid attributes, each view compared with the node's own API:
#      - the first paint of the model list with 1,000 models (navigation start to the page's
#        performance mark 'models-painted'; printed as a figure, failed only above 3 s), and
#        what the idle view asks of the node in 20 s (a figure; failed only for a loop);
#      - search and the type/format/capability filters show the rows GET /v1/mesh/models
#        answers for the same query;
#      - the hostile names show as text: no <img> made of them, no alert, no CSP violation;
#      - a download of A's small model started from the page (priority select and button):
#        the bar reaches 100%, the model shows installed without a reload, the notification
#        permission is asked only on its button's click and one notification fires;
#      - the large one paused and resumed from the page (SKIP when the node has no
#        /v1/downloads/{id}/pause) and cancelled; node A's view lists the upload; one of
#        the fake peer's models (which it does not serve) fails and stays with its reason;
#      - peers and node views; the open list follows a peer's goodbye and a new catalog;
#      - node C (`atmo serve --peer T`), whose one configured peer T (trickler.py) trickles
#        its answers: C's peers view says "no answer in time" next to T, with the
#        reliability the API gives (peers_checks.py); a long markup probe_error shows as
#        text, cut with a visible "…";
#      - a POST from a page of another origin is refused (403, no download), and the page
#        under a rebinding name for 127.0.0.1 (--host-resolver-rules) is refused while a
#        *.localhost name works;
#      - no JavaScript error in the console; screenshots of the views;
#      - 8 tabs of B (tabs_checks.py) each render the list and follow a new catalog live, and
#        B holds one events stream for them all (the page's SharedWorker; counted by GET
#        /v1/node's event_streams), none once they are closed; a page
#        in the back/forward cache gives the stream back and takes it again on return.
#
# Usage: Tests/Interop/dashboard/run.sh [path/to/atmo]   (default .build/debug/atmo)
# Installs chromium and chromium-driver with apt-get and selenium with pip if missing.
# Screenshots go to $ATMO_DASHBOARD_OUT (default Tests/Interop/dashboard/out/, ignored by
# git); ATMO_DASHBOARD_README_IMAGE=1 also copies the models view to docs/images/dashboard.png.
# ATMO_DASHBOARD_CHECKS=many_tabs,hostile runs only those steps of dashboard_checks.py.
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
export HOME="$work/home" PYTHONDONTWRITEBYTECODE=1
mkdir -p "$HOME"

# Starts `atmo serve` NAME with extra arguments (own state, models and port); sets $port.
start_node() {
    local name=$1
    shift
    interop_start_node "$name" --models-dir "$work/$name-models" --no-huggingface --name "node-$name" "$@"
}

wait_for() { interop_wait_for "$@"; }

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

# Node C and its one configured peer, which answers every request one byte every 2 s: C's
# probes of it time out, after 2 s (--probe-timeout; C probes again as soon as a round ends).
python3 "$here/trickler.py" "$work/trickler.port" >"$work/trickler.err" 2>&1 &
trickler_pid=$!
interop_track "$trickler_pid"
interop_wait_port "$trickler_pid" "$work/trickler.port" || interop_fail_early "trickler.py did not write its port within 60 s"
trickler_url="http://127.0.0.1:$port"
start_node c --peer "$trickler_url" --probe-interval 0.3 --probe-timeout 2
c_url="http://127.0.0.1:$port"

readme_image=""
[[ "${ATMO_DASHBOARD_README_IMAGE:-0}" == 1 ]] && readme_image="$here/../../../docs/images/dashboard.png"
: >"$work/checks.out"
# In the background and tracked, so the cleanup's TERM reaches it (it then stops Chromium).
python3 "$here/dashboard_checks.py" --node "$b_url" --provider "$a_url" --out "$out" --work "$work" --atmo "$atmo" \
    --small-size "$small_size" --trickled-node "$c_url" --trickler "$trickler_url" \
    ${readme_image:+--readme-image "$readme_image"} \
    >"$work/checks.out" 2>&1 &
checks_pid=$!
interop_track "$checks_pid"
# The output as it comes (tail ends with the checks; waiting with `wait`, not on a
# foreground command, lets INT/TERM run the traps at once).
tail -n +1 -f --pid="$checks_pid" "$work/checks.out" &
tail_pid=$!
interop_track "$tail_pid"
wait "$checks_pid"
status=$?
wait "$tail_pid"

passed=$(grep -c '^ok - ' "$work/checks.out")
failed=$(grep -c '^FAIL - ' "$work/checks.out")
skipped=$(grep -c '^SKIP - ' "$work/checks.out")
[[ $status -ne 0 && $failed -eq 0 ]] && failed=1
if [[ $failed -ne 0 ]]; then
    for name in a b c; do
        echo "node $name log (last 20 lines):"
        tail -20 "$work/$name.err" | sed 's/^/   /'
    done
fi
echo "dashboard browser test: $passed passed, $failed failed, $skipped skipped ($((SECONDS - started)) s); screenshots in $out"
[[ $failed -eq 0 ]]
