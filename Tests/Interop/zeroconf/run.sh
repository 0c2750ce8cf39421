#!/usr/bin/env bash
# Interop of `atmo discover` with python-zeroconf, an independent mDNS/DNS-SD stack, in a
# network namespace of its own (only its loopback: nothing reaches any real network).
#
#   1. zeroconf's ServiceBrowser finds the service `atmo discover --advertise` registers,
#      with the right SRV port, TXT and address; and sees its goodbye on SIGTERM.
#   2. `atmo discover --json` finds a service zeroconf registers, with its TXT; and
#      `atmo discover --watch` reports it lost when zeroconf unregisters it.
#   3. zeroconf registers a name first; `atmo discover --advertise` of the same name probes,
#      finds it taken and comes up as "NAME (2)" (RFC 6762 §8.1, §9); zeroconf resolves both.
#
# Usage: Tests/Interop/zeroconf/run.sh [path/to/atmo]   (default .build/debug/atmo)
# Run as root (network namespaces). Prints SKIPPED and exits 0 if namespaces cannot be made;
# exits 1 if any check fails.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
atmo="${1:-.build/debug/atmo}"
[[ "$atmo" = /* ]] || atmo="$PWD/$atmo"
namespace="atmo-zc-$$-$RANDOM"
work="$(mktemp -d /tmp/atmo-zeroconf.XXXXXX)"
pids=()
namespace_made=0
passed=0
failed=0

cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null && sleep 0.2
        kill -KILL "$pid" 2>/dev/null
    done
    if [[ $namespace_made == 1 ]]; then ip netns del "$namespace" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip() {
    echo "zeroconf interop SKIPPED: $*"
    exit 0
}

ok() {
    echo "ok - $*"
    passed=$((passed + 1))
}

fail() {
    echo "FAIL - $*"
    failed=$((failed + 1))
}

# Only for commands run in the foreground: a function run with & is a subshell, whose $!
# is not the process to signal. Background processes use `ip netns exec` directly (it
# execs the command, so $! is the command itself).
in_namespace() { ip netns exec "$namespace" "$@"; }

# --- prerequisites -------------------------------------------------------------------
if [[ ! -x "$atmo" ]]; then
    echo "FAIL - no atmo binary at $atmo (build it with: swift build --product atmo)"
    exit 1
fi
if ! "$atmo" discover --help >/dev/null 2>&1; then
    echo "FAIL - $atmo has no 'discover' command"
    exit 1
fi
if ! command -v ip >/dev/null 2>&1; then
    echo "installing iproute2 (ip is missing)"
    { apt-get update -qq && apt-get install -y -qq iproute2; } >/dev/null 2>&1 || skip "ip is missing and apt-get could not install iproute2"
fi

if ! error="$(ip netns add "$namespace" 2>&1)"; then
    skip "cannot create a network namespace ($error); run as root on Linux"
fi
namespace_made=1
if ! error="$(in_namespace sh -c 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo' 2>&1)"; then
    skip "cannot enable multicast on loopback in the namespace ($error)"
fi
echo "namespace $namespace: lo up, multicast on, 224.0.0.0/4 via lo"
if ! python3 -c 'import zeroconf' 2>/dev/null; then
    echo "installing python zeroconf"
    python3 -m pip install -q zeroconf >/dev/null 2>&1 \
        || python3 -m pip install -q --break-system-packages zeroconf >/dev/null 2>&1
    if ! python3 -c 'import zeroconf' 2>/dev/null; then
        echo "FAIL - cannot install the python zeroconf package with pip"
        exit 1
    fi
fi
echo "python zeroconf $(python3 -c 'import zeroconf; print(zeroconf.__version__)'), atmo at $atmo"

# --- 1. zeroconf finds atmo's advertisement, then its goodbye ------------------------
name="atmo-interop-$$"
port=47123
node_id="node-$$-0123456789"
ip netns exec "$namespace" "$atmo" discover --advertise "$name" --port "$port" --node-id "$node_id" --mesh-id mesh-1 \
    --capabilities serve,relay --txt "extra=x y" --timeout 0 >"$work/advertise.out" 2>"$work/advertise.err" &
atmo_pid=$!
pids+=("$atmo_pid")
echo "# 1. atmo advertises $name on port $port (pid $atmo_pid); zeroconf browses"
in_namespace python3 "$here/browse_atmo.py" "$name" "$port" "$node_id" "$atmo_pid" >"$work/browse.out" 2>&1
browse_status=$?
failed_before=$failed
while read -r line; do
    case "$line" in
        "ok - "*) ok "${line#ok - }" ;;
        "FAIL - "*) fail "${line#FAIL - }" ;;
        *) echo "$line" ;;
    esac
done <"$work/browse.out"
if [[ $browse_status != 0 && $failed == "$failed_before" ]]; then
    fail "browse_atmo.py failed with status $browse_status (output above)"
fi
kill -TERM "$atmo_pid" 2>/dev/null  # in case the script died before stopping it
status=""
for _ in $(seq 1 50); do
    if ! kill -0 "$atmo_pid" 2>/dev/null; then
        wait "$atmo_pid"
        status=$?
        break
    fi
    sleep 0.1
done
if [[ "$status" == 0 ]]; then
    ok "atmo discover --advertise exited 0 after SIGTERM"
else
    fail "atmo discover --advertise did not exit 0 after SIGTERM (status '${status:-still running}'); stderr:"
    sed 's/^/   /' "$work/advertise.err"
fi

# --- 2. atmo finds zeroconf's service, then its goodbye ------------------------------
py_name="zeroconf-node-$$"
py_port=47124
echo "# 2. zeroconf registers $py_name on port $py_port; atmo discovers"
ip netns exec "$namespace" python3 "$here/register_service.py" "$py_name" "$py_port" "$work/ready" "$work/stop" \
    >"$work/register.out" 2>&1 &
register_pid=$!
pids+=("$register_pid")
for _ in $(seq 1 150); do
    [[ -e "$work/ready" ]] && break
    kill -0 "$register_pid" 2>/dev/null || break
    sleep 0.1
done
if [[ ! -e "$work/ready" ]]; then
    fail "zeroconf could not register its service:"
    sed 's/^/   /' "$work/register.out"
else
    in_namespace "$atmo" discover --json --timeout 3 >"$work/discover.json" 2>"$work/discover.err"
    discover_status=$?
    [[ $discover_status == 0 ]] && ok "atmo discover --json exited 0" || fail "atmo discover --json exited $discover_status: $(cat "$work/discover.err")"
    echo "   atmo discover --json printed:"
    sed 's/^/   /' "$work/discover.json"
    if python3 - "$work/discover.json" "$py_name" "$py_port" <<'PY'
import json, sys
path, name, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
nodes = [json.loads(line) for line in open(path) if line.strip()]
node = next((n for n in nodes if n["instance_name"] == name), None)
assert node is not None, f"{name} not in the output"
assert node["port"] == port, f"port {node['port']}"
assert node["host_name"] == f"{name}.local.", f"host {node['host_name']}"
assert "127.0.0.1" in node["addresses"], f"addresses {node['addresses']}"
assert node["txt"] == {"node_id": "py-0123456789abcd", "mesh_id": "", "capabilities": "serve", "custom": "kept"}, node["txt"]
assert node["node_id"] == "py-0123456789abcd" and node["capabilities"] == ["serve"], node
PY
    then
        ok "atmo discover --json found $py_name with port $py_port, 127.0.0.1 and its TXT (unknown key kept)"
    else
        fail "atmo discover --json did not report $py_name as registered"
    fi

    ip netns exec "$namespace" "$atmo" discover --json --watch --timeout 6 >"$work/watch.json" 2>"$work/watch.err" &
    watch_pid=$!
    pids+=("$watch_pid")
    for _ in $(seq 1 50); do
        grep -q "\"instance_name\":\"$py_name\"" "$work/watch.json" 2>/dev/null && break
        sleep 0.1
    done
    touch "$work/stop"  # zeroconf unregisters: a goodbye
    wait "$watch_pid"
    echo "   atmo discover --json --watch printed:"
    sed 's/^/   /' "$work/watch.json"
    if python3 - "$work/watch.json" "$py_name" <<'PY'
import json, sys
path, name = sys.argv[1], sys.argv[2]
lines = [json.loads(line) for line in open(path) if line.strip()]
events = [(l.get("event"), l["instance_name"]) for l in lines if "event" in l]
assert ("found", name) in events, events
assert ("lost", name) in events, events
assert events.index(("found", name)) < events.index(("lost", name)), events
final = [l for l in lines if "event" not in l]
assert all(l["instance_name"] != name for l in final), final
PY
    then
        ok "atmo discover --watch reported $py_name found, then lost on zeroconf's goodbye"
    else
        fail "atmo discover --watch did not report $py_name found then lost"
    fi
fi
wait "$register_pid" 2>/dev/null

# --- 3. a name zeroconf holds: atmo renames itself "NAME (2)" --------------------------
same="shared-name-$$"
held_port=47125
our_port=47126
echo "# 3. zeroconf registers $same first; atmo discover --advertise $same must come up as '$same (2)'"
ip netns exec "$namespace" python3 "$here/register_service.py" "$same" "$held_port" "$work/ready3" "$work/stop3" \
    >"$work/register3.out" 2>&1 &
register3_pid=$!
pids+=("$register3_pid")
for _ in $(seq 1 150); do
    [[ -e "$work/ready3" ]] && break
    kill -0 "$register3_pid" 2>/dev/null || break
    sleep 0.1
done
if [[ ! -e "$work/ready3" ]]; then
    fail "zeroconf could not register $same:"
    sed 's/^/   /' "$work/register3.out"
else
    ip netns exec "$namespace" "$atmo" discover --advertise "$same" --port "$our_port" --node-id "node-$$-same" \
        --timeout 0 >"$work/advertise3.out" 2>"$work/advertise3.err" &
    same_pid=$!
    pids+=("$same_pid")
    in_namespace python3 "$here/resolve_both.py" "$same" "$held_port" "$same (2)" "$our_port" >"$work/resolve3.out" 2>&1
    resolve_status=$?
    failed_before=$failed
    while read -r line; do
        case "$line" in
            "ok - "*) ok "${line#ok - }" ;;
            "FAIL - "*) fail "${line#FAIL - }" ;;
            *) echo "   $line" ;;
        esac
    done <"$work/resolve3.out"
    if [[ $resolve_status != 0 && $failed == "$failed_before" ]]; then
        fail "resolve_both.py failed with status $resolve_status (output above)"
    fi
    if grep -q "advertising as '$same (2)'" "$work/advertise3.err"; then
        ok "atmo said its name was taken and advertises as '$same (2)'"
    else
        fail "atmo did not say it renamed itself; stderr:"
        sed 's/^/   /' "$work/advertise3.err"
    fi
    if grep -qi "NonUniqueName\|conflict" "$work/register3.out"; then
        fail "zeroconf saw a conflict: $(cat "$work/register3.out")"
    else
        ok "zeroconf kept its name without a conflict"
    fi
    kill -TERM "$same_pid" 2>/dev/null
    touch "$work/stop3"
    wait "$register3_pid" 2>/dev/null
fi

# --- 4. (opt-in) the in-process Swift test, which needs multicast on lo ----------------
# ATMO_DISCOVERY_SWIFT_TEST=1 also runs LANDiscoveryLoopbackTests (built beforehand with
# `swift build --build-tests`) in the namespace, where it is not skipped.
if [[ "${ATMO_DISCOVERY_SWIFT_TEST:-0}" == 1 ]]; then
    echo "# 4. swift test --filter LANDiscoveryLoopbackTests inside the namespace"
    in_namespace swift test --skip-build --filter LANDiscoveryLoopbackTests >"$work/swift-test.out" 2>&1
    swift_status=$?
    grep -E '✔|✘|skipped' "$work/swift-test.out" | sed 's/^/   /'
    if [[ $swift_status == 0 ]] && grep -q 'two services see each other.* passed' "$work/swift-test.out"; then
        ok "LANDiscoveryLoopbackTests ran and passed in the namespace"
    else
        fail "LANDiscoveryLoopbackTests did not pass in the namespace (status $swift_status)"
    fi
fi

echo "zeroconf-interop: $passed passed, $failed failed"
[[ $failed == 0 ]]
