# Sourced by Tests/Interop/metrics/run.sh: `GET /metrics` asked from another machine. Two
# network namespaces joined by a veth pair stand for two machines (10.231.0.1, the node's,
# and 10.231.0.2, the other's); their addresses exist only inside them.
#
#   1. node P (`atmo serve --host 0.0.0.0`, default rule): the other machine gets 403 for
#      /metrics (and 200 for /health, so the network is fine); this machine gets 200 on
#      loopback and on the very address it reached;
#   2. node Q (`--metrics-public`): the other machine gets 200, and it parses;
#   3. node C on the other machine (`--peer` P) pulls P's model over HTTP: P counts the
#      bytes it served under C's node id (the only peer on C's address), not "unknown".
#
# remote_checks needs root (ip netns); without it, it says why and checks nothing.
# Uses run.sh's $atmo, $work, record, checks, interop_track, interop_wait_port, $size.

remote_namespaces=()
remote_cleanup() {
    local namespace
    for namespace in "${remote_namespaces[@]}"; do ip netns del "$namespace" 2>/dev/null; done
}

# remote_node NAMESPACE NAME ARGS...: `atmo serve` NAME in NAMESPACE on every address; sets $port.
remote_node() {
    local namespace=$1 name=$2
    shift 2
    ip netns exec "$namespace" "$atmo" serve --host 0.0.0.0 --port 0 --port-file "$work/$name.port" \
        --state-dir "$work/$name-state" --models-dir "$work/$name-models" --no-lan --no-llamafarm --no-huggingface \
        --name "node-$name" "$@" >"$work/$name.out" 2>"$work/$name.err" &
    local pid=$!
    interop_track "$pid"
    interop_wait_port "$pid" "$work/$name.port" || { port=""; tail -5 "$work/$name.err"; }
}

# remote_status NAMESPACE URL [OUT]: the HTTP status of GET URL from NAMESPACE (000: no answer).
remote_status() {
    ip netns exec "$1" curl -s --max-time 10 -o "${3:-/dev/null}" -w '%{http_code}' "$2"
}

remote_checks() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "(/metrics from another machine: SKIPPED, network namespaces need root)"
        return
    fi
    if ! command -v ip >/dev/null 2>&1; then
        { apt-get update -qq && apt-get install -y -qq iproute2; } >/dev/null 2>&1
    fi
    local server="atmo-met-s-$$" client="atmo-met-c-$$" error
    if ! error="$(ip netns add "$server" 2>&1)"; then
        echo "(/metrics from another machine: SKIPPED, cannot create a network namespace: $error)"
        return
    fi
    remote_namespaces+=("$server")
    ip netns add "$client" && remote_namespaces+=("$client")
    if ! error="$({ ip link add "ams$$" type veth peer name "amc$$" &&
        ip link set "ams$$" netns "$server" && ip link set "amc$$" netns "$client" &&
        ip -n "$server" addr add 10.231.0.1/24 dev "ams$$" && ip -n "$client" addr add 10.231.0.2/24 dev "amc$$" &&
        ip -n "$server" link set "ams$$" up && ip -n "$client" link set "amc$$" up &&
        ip -n "$server" link set lo up && ip -n "$client" link set lo up; } 2>&1)"; then
        echo "(/metrics from another machine: SKIPPED, cannot join two namespaces with a veth pair: $error)"
        return
    fi

    remote_node "$server" p --folder "$work/offered"
    local p_port=$port
    remote_node "$server" q --metrics-public
    local q_port=$port
    if [[ -z "$p_port" || -z "$q_port" ]]; then
        record "FAIL - atmo serve did not start in the namespace"
        status=1
        return
    fi
    local p_remote="http://10.231.0.1:$p_port" q_remote="http://10.231.0.1:$q_port" code
    code=$(remote_status "$client" "$p_remote/metrics" "$work/remote-403.txt")
    if [[ $code == 403 ]] && grep -q -- "--metrics-public" "$work/remote-403.txt"; then
        record "ok - another machine (10.231.0.2) gets 403 for /metrics: $(head -c 160 "$work/remote-403.txt")"
    else
        record "FAIL - another machine got $code for /metrics without --metrics-public: $(head -c 300 "$work/remote-403.txt")"
        status=1
    fi
    code=$(remote_status "$client" "$p_remote/health")
    [[ $code == 200 ]] && record "ok - another machine gets 200 for /health of the same node" \
        || { record "FAIL - another machine got $code for /health"; status=1; }
    code=$(remote_status "$server" "http://127.0.0.1:$p_port/metrics")
    [[ $code == 200 ]] && record "ok - this machine gets 200 for /metrics on loopback" \
        || { record "FAIL - loopback got $code for /metrics"; status=1; }
    code=$(remote_status "$server" "$p_remote/metrics")
    [[ $code == 200 ]] && record "ok - this machine gets 200 for /metrics on the address it reached (10.231.0.1)" \
        || { record "FAIL - this machine got $code for /metrics at 10.231.0.1"; status=1; }
    code=$(remote_status "$client" "$q_remote/metrics" "$work/remote-public.txt")
    if [[ $code == 200 ]]; then
        record "ok - another machine gets 200 for /metrics of a node started with --metrics-public"
        checks parse "$work/remote-public.txt"
    else
        record "FAIL - another machine got $code for /metrics with --metrics-public"
        status=1
    fi

    # Bytes served over HTTP, by the requesting node's id.
    remote_node "$client" c --peer "$p_remote"
    local c_port=$port c_id=""
    [[ -n "$c_port" ]] || { record "FAIL - node C did not start"; status=1; return; }
    for _ in $(seq 1 600); do
        c_id="$(ip netns exec "$client" curl -fsS "http://127.0.0.1:$c_port/health" 2>/dev/null |
            python3 -c 'import json, sys; print(json.load(sys.stdin).get("node_id", ""))' 2>/dev/null)"
        # P knows C (C's catalog reached it) and C lists P's model.
        if [[ -n "$c_id" ]] && ip netns exec "$server" curl -fsS "http://127.0.0.1:$p_port/v1/mesh/peers" 2>/dev/null | grep -q "$c_id" &&
            ip netns exec "$client" curl -fsS "http://127.0.0.1:$c_port/v1/mesh/models" 2>/dev/null | grep -q '"metrics-probe.gguf"'; then
            break
        fi
        sleep 0.1
    done
    if ip netns exec "$client" "$atmo" pull metrics-probe.gguf --state-dir "$work/c-state" --models-dir "$work/c-models" \
        >"$work/remote-pull.out" 2>&1; then
        record "ok - node C on the other machine pulled metrics-probe.gguf from P"
        ip netns exec "$server" curl -fsS "http://127.0.0.1:$p_port/metrics" -o "$work/p-after.txt"
        checks served_to "$work/p-after.txt" "$c_id" "$size"
    else
        record "FAIL - node C's pull from P: $(tail -3 "$work/remote-pull.out")"
        status=1
    fi
}
