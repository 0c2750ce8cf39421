#!/usr/bin/env bash
# The Hub-compatible endpoint of `atmo serve` against an unmodified huggingface_hub (from
# PyPI): a node offers a small repository made in real formats (safetensors, config.json)
# from its Hugging Face cache; with HF_ENDPOINT pointing at the node and fresh, empty
# caches, snapshot_download, hf_hub_download and the `hf download` CLI get every file with
# the right bytes, and a missing repository, revision or file raises the Hub's error; the
# same through a second node of the mesh with an empty cache (it fetches from the first), and
# through a node of a mesh of its own whose --upstream is the first node's endpoint (it
# mirrors the repository into its own cache once); a large file through a node whose only
# source is a slow peer, over HTTP or over a relay alone, streamed by that node as it
# fetches (no redirect, no read timeout).
#
# Usage: Tests/Interop/hub-endpoint/run.sh [path/to/atmo]   (default .build/debug/atmo)
# Installs huggingface_hub, safetensors and numpy with pip if missing. Prints one line per
# check ("ok - ..." / "FAIL - ..."); exits 1 if any check fails.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
interop_setup "hub endpoint interop" atmo-hub-interop "$@"

# --- prerequisites -------------------------------------------------------------------
interop_need_atmo
interop_need_python --command hf 'import huggingface_hub, safetensors, numpy' huggingface_hub safetensors numpy
echo "python huggingface_hub $(python3 -c 'import huggingface_hub; print(huggingface_hub.__version__)')," \
    "safetensors $(python3 -c 'import safetensors; print(safetensors.__version__)'), atmo at $atmo"

# Nothing of the machine's own Hugging Face setup may leak in (token, caches, offline mode).
unset HF_TOKEN HF_HUB_OFFLINE HF_HUB_CACHE HF_HOME HF_ENDPOINT HUGGING_FACE_HUB_TOKEN HF_HUB_DISABLE_XET
export HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_PROGRESS_BARS=1 HF_HUB_DISABLE_IMPLICIT_TOKEN=1
export HF_HOME="$work/client-home"

# start_node NAME CACHE [serve flags...]: an `atmo serve` on a free loopback port with CACHE
# as its Hugging Face cache; sets $endpoint.
start_node() {
    local name="$1" cache="$2"
    shift 2
    mkdir -p "$cache"
    local port
    HF_HUB_CACHE="$cache" interop_start_node "$name" --name "$name" "$@"
    endpoint="http://127.0.0.1:$port"
}

# wait_listed ENDPOINT NAME [REPO [REVISION]]: polls (with a deadline) until the endpoint lists
# the repository (default atmo-test/tiny-model at main).
wait_listed() {
    local repo="${3:-atmo-test/tiny-model}" revision="${4:-main}"
    for _ in $(seq 1 600); do
        curl -fsS "$1/api/models/$repo/revision/$revision" 2>/dev/null | grep -q '"sha"' && return 0
        sleep 0.1
    done
    tail -20 "$work/$2.err" | sed 's/^/   /'
    interop_fail_early "$2 did not list $repo@$revision on its Hub endpoint within 60 s"
}

passed=0
failed=0
# run_checks NAME ARGS...: one hub_checks.py run, its lines counted.
run_checks() {
    local name="$1"
    shift
    python3 "$here/${checks_script:-hub_checks.py}" "$@" | sed "s/^\(ok\|FAIL\) - /\1 - [$name] /" | tee "$work/checks.out"
    local status=${PIPESTATUS[0]}
    passed=$((passed + $(grep -c '^ok - ' "$work/checks.out")))
    local bad
    bad=$(grep -c '^FAIL - ' "$work/checks.out")
    if [[ $status -ne 0 && $bad -eq 0 ]]; then
        bad=1
        echo "FAIL - [$name] ${checks_script:-hub_checks.py} $1 exited with $status"
    fi
    failed=$((failed + bad))
    if [[ $bad -ne 0 ]]; then
        echo "$name's log (last 30 lines):"
        tail -30 "$work/$name.err" | sed 's/^/   /'
    fi
}

# --- 1. a node holding the repository in its cache ----------------------------------------
python3 "$here/hub_checks.py" make-cache "$work/node-cache" || interop_fail_early "could not make the test repository"
start_node holder "$work/node-cache"
holder="$endpoint"
wait_listed "$holder" holder
wait_listed "$holder" holder atmo-test/tiny-model v1.0
HF_ENDPOINT="$holder" run_checks holder check "$work/node-cache" "$work/holder"

# --- 2. a node of the same mesh with an empty cache: it fetches from the holder -------------
start_node meshed "$work/meshed-cache" --peer "$holder"
meshed="$endpoint"
wait_listed "$meshed" meshed
wait_listed "$meshed" meshed atmo-test/tiny-model v1.0
HF_ENDPOINT="$meshed" run_checks meshed check "$work/node-cache" "$work/meshed"
run_checks meshed node-holds "$work/node-cache" "$work/meshed-cache" "fetched through the mesh"

# --- 3. a node of a mesh of its own, the holder's endpoint its upstream: it mirrors ---------
start_node mirror "$work/mirror-cache" --upstream "$holder"
HF_ENDPOINT="$endpoint" run_checks mirror check "$work/node-cache" "$work/mirror"
run_checks mirror node-holds "$work/node-cache" "$work/mirror-cache" "mirrored from the upstream"

# --- 4. a large file mirrored from a slow upstream (uploads limited to 2 MB/s): it streams --
python3 "$here/hub_checks.py" make-big "$work/big-cache" || interop_fail_early "could not make the large repository"
echo '{"bandwidth": {"up": "2MB/s"}}' >"$work/slow.json"
start_node slow "$work/big-cache" --config "$work/slow.json"
slow="$endpoint"
wait_listed "$slow" slow atmo-test/big-model
start_node bigmirror "$work/bigmirror-cache" --upstream "$slow"
HF_ENDPOINT="$endpoint" HF_HUB_DOWNLOAD_TIMEOUT=5 run_checks bigmirror check-big "$work/big-cache" "$work/bigmirror"

source "$here/upstream_hub_behaviour.sh" # 5. --upstream = a replay of huggingface.co's answers (helper U's line; others: leave it)
# --- 6. the same file through a node whose only source is that slow node: it streams ------
# The node fetches it from the mesh (a swarm pull, pieces checked against the manifest) and
# hands the client each checked piece as it lands (no redirect to the slow node).
start_node streamed "$work/streamed-cache" --peer "$slow"
wait_listed "$endpoint" streamed atmo-test/big-model
checks_script=stream_checks.py HF_ENDPOINT="$endpoint" HF_HUB_DOWNLOAD_TIMEOUT=5 \
    run_checks streamed check-streamed "$work/big-cache" "$work/streamed"

# --- 7. the same through a node that reaches its only source over a relay alone ------------
"$atmo" relay --host 127.0.0.1 --port 0 --port-file "$work/relay.port" --state-dir "$work/relay-state" \
    >"$work/relay.out" 2>"$work/relay.err" &
relay_pid=$!
interop_track "$relay_pid"
interop_wait_port "$relay_pid" "$work/relay.port"
[[ -n "$port" ]] || interop_fail_early "atmo relay did not write its port within 60 s"
relay="ws://127.0.0.1:$port"
"$atmo" mesh create "hub relay" --relay "$relay" --state-dir "$work/relayholder-state" >"$work/mesh.out" 2>&1 \
    && "$atmo" mesh invite --json --state-dir "$work/relayholder-state" >"$work/invite.json" 2>>"$work/mesh.out" \
    && "$atmo" mesh join "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["invite"])' "$work/invite.json")" \
        --state-dir "$work/relayed-state" --relay "$relay" >>"$work/mesh.out" 2>&1 \
    || { sed 's/^/   /' "$work/mesh.out"; interop_fail_early "could not make a mesh on the relay"; }
# Neither node has an HTTP endpoint the other can reach (a dead advertised URL): the relay only.
start_node relayholder "$work/big-cache" --config "$work/slow.json" --advertise-url http://127.0.0.1:1
start_node relayed "$work/relayed-cache" --advertise-url http://127.0.0.1:1
wait_listed "$endpoint" relayed atmo-test/big-model
# The client's own read timeout (10 s): the first piece comes through the relay (its
# manifest and pieces asked over it), slower than over HTTP on a loaded machine.
checks_script=stream_checks.py HF_ENDPOINT="$endpoint" \
    run_checks relayed check-streamed "$work/big-cache" "$work/relayed"

echo "hub endpoint interop: $passed passed, $failed failed ($((SECONDS - started)) s)"
[[ $failed -eq 0 ]]
