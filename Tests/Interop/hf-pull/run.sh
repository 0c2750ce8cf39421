#!/usr/bin/env bash
# `atmo pull org/name` installs a repository into the Hugging Face cache so that the real
# huggingface_hub (from PyPI) loads it offline:
#
#   1. node A (`atmo serve`) holds a small repository made in real formats (safetensors
#      weights, a real config.json, tokenizer files, a nested onnx/model.onnx) in its
#      Hugging Face cache; node B (`atmo serve`, another cache) gossips with A.
#   2. `atmo pull atmo-test/tiny-repo` on B's state folder (through the running node B)
#      installs it into B's cache; with HF_HUB_OFFLINE=1, snapshot_download returns the
#      snapshot, hf_hub_download finds every file with A's bytes, scan_cache_dir reports
#      no warnings. Pulled again, every file is already installed.
#   3. `--include "*.json"` into a fresh cache installs only the JSON files; a single
#      file (`atmo pull atmo-test/tiny-repo onnx/model.onnx`) only that one.
#   4. The pulls go through the running node (POST /v1/repository-pulls), not the
#      command's own process.
#
# Usage: Tests/Interop/hf-pull/run.sh [path/to/atmo]   (default .build/debug/atmo)
# Installs huggingface_hub, safetensors and numpy with pip if missing. Prints one line per
# check ("ok - ..." / "FAIL - ..."); exits 1 if any check fails.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
interop_setup "hf pull interop" atmo-hf-pull "$@"

# --- prerequisites -------------------------------------------------------------------
interop_need_atmo
interop_need_python 'import huggingface_hub, safetensors, numpy' huggingface_hub safetensors numpy
echo "python huggingface_hub $(python3 -c 'import huggingface_hub; print(huggingface_hub.__version__)')," \
    "safetensors $(python3 -c 'import safetensors; print(safetensors.__version__)'), atmo at $atmo"

# Nothing of the machine's own Hugging Face setup may leak in.
unset HF_TOKEN HF_HUB_OFFLINE HF_HUB_CACHE HF_HOME HF_ENDPOINT HUGGING_FACE_HUB_TOKEN XDG_CACHE_HOME
export HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_PROGRESS_BARS=1 HF_HUB_DISABLE_IMPLICIT_TOKEN=1
export HOME="$work/home"
mkdir -p "$HOME"

# Starts `atmo serve` NAME with HF cache CACHE and extra arguments; sets $port.
start_node() {
    local name=$1 cache=$2
    shift 2
    HF_HUB_CACHE="$cache" interop_start_node "$name" --models-dir "$work/$name-models" --name "node-$name" "$@"
}

# Polls URL's /v1/catalogs until a catalog offers the repository (deadline 90 s).
wait_for_repository() {
    local url=$1
    for _ in $(seq 1 900); do
        if curl -fsS "$url/v1/catalogs" 2>/dev/null | grep -q '"atmo-test--tiny-repo"'; then return 0; fi
        sleep 0.1
    done
    return 1
}

python3 "$here/hf_pull_checks.py" make-cache "$work/a-cache" || interop_fail_early "could not make the test repository"
start_node a "$work/a-cache"
a_url="http://127.0.0.1:$port"
wait_for_repository "$a_url" || interop_fail_early "node A does not offer atmo-test/tiny-repo in its catalog within 90 s"
start_node b "$work/b-cache" --peer "$a_url"
b_url="http://127.0.0.1:$port"
wait_for_repository "$b_url" || interop_fail_early "node B did not learn atmo-test/tiny-repo from A within 90 s"

status=0
checks() {
    python3 "$here/hf_pull_checks.py" "$@" | tee -a "$work/checks.out"
    [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
}
pull() {
    local cache=$1 out=$2
    shift 2
    if HF_HUB_CACHE="$cache" "$atmo" pull atmo-test/tiny-repo --state-dir "$work/b-state" --models-dir "$work/b-models" --json "$@" \
        >"$work/$out.json" 2>"$work/$out.err"; then
        echo "ok - atmo pull atmo-test/tiny-repo $* exits 0" | tee -a "$work/checks.out"
    else
        echo "FAIL - atmo pull atmo-test/tiny-repo $* failed: $(tail -3 "$work/$out.err" "$work/$out.json")" | tee -a "$work/checks.out"
        status=1
    fi
}

# --- the whole repository, through the running node B -------------------------------
pull "$work/b-cache" full
HF_HUB_OFFLINE=1 checks check-full "$work/b-cache" "$work/a-cache"
checks check-json "$work/full.json" fetched
# Nothing of it stays in B's store as standalone models (its bytes are in the cache once).
stray=$(find "$work/b-models" -maxdepth 1 -type f -name 'atmo-test--tiny-repo*' 2>/dev/null | wc -l)
[[ $stray -eq 0 ]] && echo "ok - no copy left in the node's store" | tee -a "$work/checks.out" \
    || { echo "FAIL - $stray files left in the node's store" | tee -a "$work/checks.out"; status=1; }
pull "$work/b-cache" again
checks check-json "$work/again.json" already_installed

# --- selective pulls into fresh caches --------------------------------------------------
pull "$work/json-cache" json --include "*.json"
HF_HUB_OFFLINE=1 checks check-only "$work/json-cache" "$work/a-cache" config.json tokenizer.json tokenizer_config.json
pull "$work/one-cache" one onnx/model.onnx
HF_HUB_OFFLINE=1 checks check-only "$work/one-cache" "$work/a-cache" onnx/model.onnx

# The running node B did the pulls (its route), not the command's own process.
if HF_HUB_CACHE="$work/txt-cache" "$atmo" pull atmo-test/tiny-repo --include "*.txt" --state-dir "$work/b-state" \
    --models-dir "$work/b-models" 2>&1 | grep -q "by the node"; then
    echo "ok - with a node running, the node runs the pull" | tee -a "$work/checks.out"
else
    echo "FAIL - with a node running, the pull did not go through the node" | tee -a "$work/checks.out"
    status=1
fi

passed=$(grep -c '^ok - ' "$work/checks.out")
failed=$(grep -c '^FAIL - ' "$work/checks.out")
[[ $status -ne 0 && $failed -eq 0 ]] && failed=1
if [[ $failed -ne 0 ]]; then
    for name in a b; do
        echo "node $name log (last 20 lines):"
        tail -20 "$work/$name.err" | sed 's/^/   /'
    done
fi
echo "hf pull interop: $passed passed, $failed failed ($((SECONDS - started)) s)"
[[ $failed -eq 0 ]]
