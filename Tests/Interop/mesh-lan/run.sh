#!/usr/bin/env bash
# Three `atmo serve` nodes find each other on a LAN with no address typed anywhere: DNS-SD
# over multicast, in a network namespace of their own (its loopback only, multicast on).
#
#   1. every node's `atmo models` lists the models of all three (no --peer anywhere);
#   2. `atmo pull ID` on C fetches A's model by id alone, byte for byte;
#   3. a fourth node started with B's name comes up on the LAN as "node-b (2)" (RFC 6762
#      probing), and it and B list each other's models;
#   4. an older Python node (python-zeroconf, a /health without node_id) is listed under the
#      node id of its TXT record, not its URL;
#   5. A stops (SIGTERM): its models leave B's view.
#
# Usage: Tests/Interop/mesh-lan/run.sh [path/to/atmo]  (default .build/debug/atmo). Root.
# Prints SKIPPED and exits 0 when namespaces cannot be made; exits 1 when a check fails.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
atmo="${1:-.build/debug/atmo}"
[[ "$atmo" = /* ]] || atmo="$PWD/$atmo"
namespace="atmo-lan-$$-$RANDOM"
work="$(mktemp -d /tmp/atmo-mesh-lan.XXXXXX)"
pids=()
namespace_made=0
passed=0
failed=0

cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    sleep 0.5
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    [[ $namespace_made == 1 ]] && ip netns del "$namespace" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ok() { echo "ok - $*"; passed=$((passed + 1)); }
fail() { echo "FAIL - $*"; failed=$((failed + 1)); }
skip() { echo "mesh LAN suite SKIPPED: $*"; exit 0; }
in_namespace() { ip netns exec "$namespace" "$@"; }

[[ -x "$atmo" ]] || { echo "FAIL - no atmo binary at $atmo"; exit 1; }
if ! command -v ip >/dev/null 2>&1; then
    { apt-get update -qq && apt-get install -y -qq iproute2; } >/dev/null 2>&1 || skip "ip is missing and apt-get could not install iproute2"
fi
error="$(ip netns add "$namespace" 2>&1)" || skip "cannot create a network namespace ($error); run as root on Linux"
namespace_made=1
error="$(in_namespace sh -c 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo' 2>&1)" ||
    skip "cannot enable multicast on loopback in the namespace ($error)"

# Three nodes, each with one model of its own.
for name in a b c; do
    mkdir -p "$work/$name/models"
    head -c $((3 * 1024 * 1024 + 17)) /dev/urandom > "$work/$name/models/model-$name.gguf"
    ip netns exec "$namespace" "$atmo" serve --host 127.0.0.1 --port 0 --port-file "$work/$name/port" --name "node-$name" \
        --folder "$work/$name/models" --no-huggingface --no-llamafarm --state-dir "$work/$name/state" --log-level warning \
        2> "$work/$name/log" &
    pids+=($!)
    eval "pid_$name=$!"
done

lists_all() { # node -> 0 when its `atmo models` lists all three models
    local out other
    out="$(in_namespace "$atmo" models --state-dir "$work/$1/state" --json 2>/dev/null)" || return 1
    for other in a b c; do grep -q "\"model-$other.gguf\"" <<< "$out" || return 1; done
}
# What every node knows, printed when a node misses a model: its peers, the catalogs its
# gossip holds (origin, timestamp, models), its gossip counters and its log's tail.
show_nodes() {
    local name
    for name in a b c; do
        echo "--- node-$name (port $(cat "$work/$name/port" 2>/dev/null))"
        in_namespace python3 - "$(cat "$work/$name/port" 2>/dev/null)" <<'PY'
import json, sys, urllib.request
base = "http://127.0.0.1:%s" % sys.argv[1]
def get(path):
    try:
        with urllib.request.urlopen(base + path, timeout=5) as answer:
            return answer.read().decode()
    except Exception as error:
        return "(%s: %s)" % (path, error)
try:
    for peer in json.loads(get("/v1/mesh/peers"))["peers"]:
        print("peer %s %s %s origin=%s models=%s latency=%s" % (peer.get("node_name"), peer.get("node_id"), peer.get("http"),
              peer.get("origin"), peer.get("model_count"), peer.get("latency_ms")))
    for catalog in json.loads(get("/v1/catalogs"))["catalogs"]:
        print("catalog %s %s at %s: %s" % (catalog["node_name"], catalog["node_id"], catalog["timestamp"],
              [model["model_id"] for model in catalog.get("models", [])]))
except Exception as error:
    print("(no answer: %s)" % error)
print(" ".join(line for line in get("/metrics").splitlines() if line.startswith("atmo_gossip")))
PY
        tail -5 "$work/$name/log"
    done
}
for name in a b c; do
    seen=0
    for _ in $(seq 150); do lists_all "$name" && { seen=1; break; }; sleep 0.2; done
    if [[ $seen == 1 ]]; then ok "node $name lists the models of all three nodes (found by DNS-SD)"; else
        fail "node $name does not list all three models: $(in_namespace "$atmo" models --state-dir "$work/$name/state" 2>&1 | head -5)"
        show_nodes
    fi
done
peers="$(in_namespace "$atmo" peers --state-dir "$work/c/state" 2>&1)"
if grep -q " lan " <<< "$peers"; then ok "atmo peers on c shows peers found on the LAN"; else fail "atmo peers on c: $peers"; fi

if in_namespace "$atmo" pull model-a.gguf --state-dir "$work/c/state" > "$work/pull.out" 2>&1 &&
    cmp -s "$work/c/state/models/model-a.gguf" "$work/a/models/model-a.gguf"; then
    ok "atmo pull model-a.gguf on c (no address given) installed the same bytes"
else
    fail "pull by id on c: $(tail -3 "$work/pull.out")"
fi

# A node with B's name: it must probe, find "node-b" taken, and advertise "node-b (2)".
mkdir -p "$work/d/models"
head -c $((1024 * 1024 + 5)) /dev/urandom > "$work/d/models/model-d.gguf"
ip netns exec "$namespace" "$atmo" serve --host 127.0.0.1 --port 0 --port-file "$work/d/port" --name "node-b" \
    --folder "$work/d/models" --no-huggingface --no-llamafarm --state-dir "$work/d/state" --log-level warning \
    2> "$work/d/log" &
pids+=($!)
both=0
for _ in $(seq 150); do
    out_b="$(in_namespace "$atmo" models --state-dir "$work/b/state" --json 2>/dev/null)"
    out_d="$(in_namespace "$atmo" models --state-dir "$work/d/state" --json 2>/dev/null)"
    if grep -q '"model-d.gguf"' <<< "$out_b" && grep -q '"model-b.gguf"' <<< "$out_d"; then both=1; break; fi
    sleep 0.2
done
if [[ $both == 1 ]]; then ok "two nodes named node-b list each other's models"; else
    fail "b and its namesake do not see each other: $(tail -3 "$work/d/log")"
fi
if grep -q "advertising as 'node-b (2)'" "$work/d/log"; then ok "the second node-b advertises as 'node-b (2)'"; else
    fail "the second node-b did not rename itself: $(tail -3 "$work/d/log")"
fi
if grep -qi "conflict\|is taken" "$work/b/log"; then fail "b logged a conflict: $(grep -i 'conflict\|is taken' "$work/b/log" | head -2)"; else
    ok "b kept its name without a conflict"
fi

# An older Python node: its /health names no node; its TXT record does.
if in_namespace python3 -c 'import zeroconf' 2>/dev/null; then
    ip netns exec "$namespace" python3 "$here/older_node.py" py-older-0001 older-python "$work/older.ready" "$work/older.stop" \
        > "$work/older.log" 2>&1 &
    pids+=($!)
    listed=0
    for _ in $(seq 150); do
        if in_namespace "$atmo" peers --state-dir "$work/c/state" --json 2>/dev/null | python3 -c '
import json, sys
peers = json.load(sys.stdin)
peers = peers.get("peers", peers) if isinstance(peers, dict) else peers
sys.exit(0 if any(p.get("node_id") == "py-older-0001" and p.get("http", "").startswith("http://127.0.0.1:") for p in peers) else 1)'
        then listed=1; break; fi
        sleep 0.2
    done
    if [[ $listed == 1 ]]; then ok "the older Python node is listed under its TXT node_id"; else
        fail "the older node is not listed under py-older-0001: $(in_namespace "$atmo" peers --state-dir "$work/c/state" 2>&1 | head -8)"
    fi
    touch "$work/older.stop"
else
    echo "(python zeroconf missing: the older-node check is skipped; the zeroconf suite installs it)"
fi

kill -TERM "$pid_a"
gone=0
# (c offers model-a.gguf too since it pulled it: a must leave its providers.)
a_provides() {
    in_namespace "$atmo" models --state-dir "$work/b/state" --json 2>/dev/null | python3 -c '
import json, sys
try:
    models = json.load(sys.stdin)["models"]
except Exception:
    sys.exit(3)  # no answer: not known to be gone
sys.exit(0 if any(p.get("node_name") == "node-a" for m in models for p in m.get("providers", [])) else 1)'
}
for _ in $(seq 100); do
    a_provides
    if [[ $? == 1 ]]; then gone=1; break; fi
    sleep 0.2
done
if [[ $gone == 1 ]]; then ok "a stopped: it left b's view"; else fail "b still lists node-a as a provider after a stopped"; fi

echo "mesh-lan: $passed passed, $failed failed"
[[ $failed == 0 ]]
