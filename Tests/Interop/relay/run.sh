#!/usr/bin/env bash
# Interop of `atmo relay` and `atmo mesh` with an independent Python client (the
# `websockets` package and `cryptography`'s Ed25519), written from the protocol notes:
#
#   1. Python founds a mesh, registers it with its founder_proof, issues tokens; Python
#      members join, see joined/peers/peer_joined, broadcast, send direct messages, ping,
#      leave (peer_left); missing, forged, altered, expired, foreign tokens are refused.
#   2. A token made by `atmo mesh invite` verifies in Python (the mesh key read from
#      mesh.key) and admits a Python node once a Python founder registered that mesh.
#   3. `atmo mesh join` reads an invite link made in Python, and the token it saves admits.
#   4. `atmo serve` against a stand-in for the older Python relay (older_relay_standin.py,
#      its rules from the protocol notes): the founder's register_mesh is valid there, and a
#      member refused after that relay restarted is back within seconds of the founder.
#
# Usage: Tests/Interop/relay/run.sh [path/to/atmo]   (default .build/debug/atmo)
# Installs websockets and cryptography with pip if missing. Prints one line per check
# ("ok - ..." / "FAIL - ..."); exits 1 if any check fails.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
interop_setup "relay interop" atmo-relay-interop "$@"

# --- prerequisites -------------------------------------------------------------------
interop_need_atmo
"$atmo" relay --help 2>/dev/null | grep -q -- "--port-file" || interop_fail_early "$atmo relay has no --port-file option (is the relay built?)"
interop_need_python 'import websockets, cryptography' websockets cryptography
echo "python websockets $(python3 -c 'import websockets; print(websockets.__version__)')," \
    "cryptography $(python3 -c 'import cryptography; print(cryptography.__version__)'), atmo at $atmo"

# --- the relay, on a port the OS picks -------------------------------------------------
"$atmo" relay --host 127.0.0.1 --port 0 --port-file "$work/port" --state-dir "$work/relay-state" \
    >"$work/relay.out" 2>"$work/relay.err" &
relay_pid=$!
interop_track "$relay_pid"
interop_wait_port "$relay_pid" "$work/port"
if [[ -z "$port" ]]; then
    echo "atmo relay stderr:"
    sed 's/^/   /' "$work/relay.err"
    interop_fail_early "atmo relay did not write its port to $work/port within 60 s"
fi
relay="ws://127.0.0.1:$port"
echo "atmo relay (pid $relay_pid) listens at $relay"

# --- a mesh founded by atmo, and its invite --------------------------------------------
swift_state="$work/swift-founder"
swift_args=()
if "$atmo" mesh create "interop mesh" --relay "$relay" --state-dir "$swift_state" >"$work/create.out" 2>&1 \
    && "$atmo" mesh invite --json --expires 30m --state-dir "$swift_state" >"$work/invite.json" 2>"$work/invite.err"; then
    swift_args=(--swift-state "$swift_state" --swift-invite "$work/invite.json")
else
    echo "FAIL - atmo mesh create / invite failed:"
    sed 's/^/   /' "$work/create.out" "$work/invite.err" 2>/dev/null
    mesh_failed=1
fi

# --- the checks -------------------------------------------------------------------------
python3 "$here/relay_checks.py" --relay "$relay" --atmo "$atmo" --work "$work" "${swift_args[@]}"
status=$?
python3 "$here/older_relay_checks.py" --atmo "$atmo" --work "$work" || status=1
if ! kill -0 "$relay_pid" 2>/dev/null; then
    echo "FAIL - atmo relay died during the checks; its stderr:"
    sed 's/^/   /' "$work/relay.err"
    status=1
fi
if [[ $status != 0 ]]; then
    echo "atmo relay stderr (last 40 lines):"
    tail -n 40 "$work/relay.err" | sed 's/^/   /'
fi
echo "relay interop took $((SECONDS - started)) s"
[[ ${mesh_failed:-0} == 0 && $status == 0 ]]
