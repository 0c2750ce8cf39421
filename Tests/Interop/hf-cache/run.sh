#!/usr/bin/env bash
# The scan of a Hugging Face cache agrees with the real `huggingface_hub` package (issue 12):
#
#   1. hf_cache_checks.py makes a cache of three small repositories in real formats
#      (`safetensors` weights, a real config.json and tokenizer.json, a model sharded in two
#      safetensors files with its index, a GGUF written with the `gguf` package), laid out
#      as huggingface_hub lays it out (blobs by etag, relative snapshot symlinks, refs);
#   2. `atmo serve` scans it; its GET /v1/repositories agrees with scan_cache_dir() on every
#      file (path, size, blob id = etag, SHA-256, commit, refs), scan_cache_dir reports no
#      warnings, every file is served by its model_id, GET /v1/models lists only the GGUF;
#   3. `atmo models --json` lists the three repositories with their files.
#
# Usage: Tests/Interop/hf-cache/run.sh [path/to/atmo]   (default .build/debug/atmo)
# Installs huggingface_hub, safetensors, numpy (and gguf, tokenizers when it can) with pip.
# Prints one line per check ("ok - ..." / "FAIL - ..."); exits 1 if any check fails.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
interop_setup "hf-cache interop" atmo-hf-cache-interop "$@"
interop_early_summary() {
    echo "hf-cache interop: failed after $((SECONDS - started)) s"
}

interop_need_atmo
interop_need_python 'import huggingface_hub, safetensors, numpy' huggingface_hub safetensors numpy
# Optional: without them the script writes the GGUF and tokenizer.json formats itself.
python3 -c 'import gguf, tokenizers' 2>/dev/null || interop_pip_install gguf tokenizers
echo "python huggingface_hub $(python3 -c 'import huggingface_hub; print(huggingface_hub.__version__)')," \
    "gguf $(python3 -c 'import gguf, importlib.metadata as m; print(m.version("gguf"))' 2>/dev/null || echo 'by hand')," \
    "tokenizers $(python3 -c 'import tokenizers; print(tokenizers.__version__)' 2>/dev/null || echo 'by hand'), atmo at $atmo"

# Nothing of the machine's own Hugging Face setup may leak in.
unset HF_TOKEN HF_HUB_OFFLINE HF_HUB_CACHE HF_HOME HF_ENDPOINT HUGGING_FACE_HUB_TOKEN XDG_CACHE_HOME
export HF_HUB_DISABLE_TELEMETRY=1 HOME="$work/home"
mkdir -p "$HOME"

cache="$work/hub"
python3 "$here/hf_cache_checks.py" make "$cache" || interop_fail_early "could not make the cache"

HF_HUB_CACHE="$cache" "$atmo" serve --host 127.0.0.1 --port 0 --port-file "$work/port" --state-dir "$work/state" \
    --models-dir "$work/models" --no-lan --no-llamafarm --name hf-cache >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
interop_track "$pid"
interop_wait_port "$pid" "$work/port"
if [[ -z "$port" ]]; then
    sed 's/^/   /' "$work/serve.err" | tail -20
    interop_fail_early "atmo serve did not write its port within 60 s"
fi
url="http://127.0.0.1:$port"
echo "atmo serve (pid $pid) at $url"

# Every file hashed: all three repositories offered (deadline 90 s).
offered=""
for _ in $(seq 1 900); do
    offered="$(curl -fsS "$url/v1/repositories" 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["repositories"]))' 2>/dev/null)"
    [[ "$offered" == "3" ]] && break
    sleep 0.1
done
[[ "$offered" == "3" ]] || interop_fail_early "the node offers ${offered:-no} repositories after 90 s, not 3"

status=0
python3 "$here/hf_cache_checks.py" check "$cache" "$url" || status=1

# The CLI through the running node (its mesh view includes its own catalog once published).
listed=""
for _ in $(seq 1 300); do
    "$atmo" models --state-dir "$work/state" --json >"$work/models.json" 2>"$work/models.err" \
        && listed="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("repositories", [])))' "$work/models.json" 2>/dev/null)"
    [[ "$listed" == "3" ]] && break
    sleep 0.1
done
python3 "$here/hf_cache_checks.py" listing "$work/models.json" || status=1
if "$atmo" models --state-dir "$work/state" 2>/dev/null | grep -E '^atmo-interop--tiny-sharded +atmo-interop/tiny-sharded .* 6 ' >/dev/null; then
    echo "ok - atmo models shows the sharded repository as one model with its 6 files"
else
    echo "FAIL - atmo models shows the sharded repository as one model with its 6 files"
    "$atmo" models --state-dir "$work/state" 2>&1 | sed 's/^/   /' | head -10
    status=1
fi

echo "hf-cache interop: $([[ $status == 0 ]] && echo passed || echo FAILED) in $((SECONDS - started)) s"
exit $status
