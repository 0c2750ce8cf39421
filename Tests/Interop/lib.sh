# Shared boilerplate of the interop suites (Tests/Interop/<name>/run.sh). Sourced, not run:
#
#   here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
#   source "$here/../lib.sh"
#   interop_setup "metrics interop" atmo-metrics "$@"
#
# interop_setup LABEL TMPNAME [ATMO]   sets started, atmo (absolute; default
#                                      .build/debug/atmo), work (a fresh mktemp folder
#                                      /tmp/TMPNAME.XXXXXX), pids=() and the traps: on exit
#                                      every tracked process gets TERM, up to 5 s to end, then
#                                      KILL, and $work is removed; INT/TERM exit 130.
# interop_track PID                    the cleanup stops PID too.
# interop_fail_early MSG...            prints "FAIL - MSG", the suite's summary of an early
#                                      failure ("LABEL: 0 passed, 1 failed", or what the
#                                      suite's own interop_early_summary function prints),
#                                      and exits 1.
# interop_need_atmo                    fails early without an executable $atmo.
# interop_pip_install PKG...           pip install, with --break-system-packages if needed.
# interop_need_python [--command CMD] "import a, b" PKG...
#                                      installs PKG... with pip unless the import works (and
#                                      CMD is on the PATH); fails early if the import still
#                                      does not work.
# interop_wait_port PID FILE           waits for the port PID writes to its --port-file.

interop_setup() {
    interop_label="$1"
    local tmpname="$2"
    shift 2
    started=$SECONDS
    atmo="${1:-.build/debug/atmo}"
    [[ "$atmo" = /* ]] || atmo="$PWD/$atmo"
    work="$(mktemp -d "/tmp/$tmpname.XXXXXX")"
    pids=()
    trap interop_cleanup EXIT
    trap 'exit 130' INT TERM
}

interop_track() {
    pids+=("$1")
}

interop_cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
    done
    rm -rf "$work"
}

interop_fail_early() {
    echo "FAIL - $*"
    if declare -F interop_early_summary >/dev/null; then
        interop_early_summary
    else
        echo "$interop_label: 0 passed, 1 failed"
    fi
    exit 1
}

interop_need_atmo() {
    [[ -x "$atmo" ]] || interop_fail_early "no atmo binary at $atmo (build it with: swift build --product atmo)"
}

interop_pip_install() {
    python3 -m pip install -q "$@" >/dev/null 2>&1 \
        || python3 -m pip install -q --break-system-packages "$@" >/dev/null 2>&1
}

# "a", "a and b", "a, b and c"
interop_name_list() {
    local list="$1"
    shift
    while [[ $# -gt 1 ]]; do
        list="$list, $1"
        shift
    done
    [[ $# -eq 1 ]] && list="$list and $1"
    echo "$list"
}

interop_need_python() {
    local command=""
    if [[ "$1" == "--command" ]]; then
        command="$2"
        shift 2
    fi
    local imports="$1"
    shift
    if ! python3 -c "$imports" 2>/dev/null || { [[ -n "$command" ]] && ! command -v "$command" >/dev/null; }; then
        local names noun=packages
        names="$(interop_name_list "$@")"
        [[ $# -eq 1 ]] && noun=package
        echo "installing python $names"
        interop_pip_install "$@"
        python3 -c "$imports" 2>/dev/null || interop_fail_early "cannot install the python $names $noun with pip"
    fi
}

# interop_wait_port PID FILE           sets port to the number process PID writes to FILE
#                                      (its --port-file); port is empty if PID ended first or
#                                      after 60 s.
interop_wait_port() {
    local pid="$1" file="$2"
    port=""
    for _ in $(seq 1 600); do
        [[ -s "$file" ]] && port="$(tr -dc '0-9' <"$file")"
        [[ -n "$port" ]] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# interop_start_node NAME [ARGS...]    starts `$atmo serve` on 127.0.0.1, port 0, state in
#                                      $work/NAME-state, no LAN, no LlamaFarm, plus ARGS;
#                                      tracks it, sets port (fails early with its log if it
#                                      writes none). Environment set before the call
#                                      (HF_HUB_CACHE=... interop_start_node ...) reaches it.
interop_start_node() {
    local name="$1"
    shift
    "$atmo" serve --host 127.0.0.1 --port 0 --port-file "$work/$name.port" --state-dir "$work/$name-state" \
        --no-lan --no-llamafarm "$@" >"$work/$name.out" 2>"$work/$name.err" &
    local pid=$!
    interop_track "$pid"
    interop_wait_port "$pid" "$work/$name.port"
    if [[ -z "$port" ]]; then
        sed 's/^/   /' "$work/$name.err" | tail -20
        interop_fail_early "atmo serve $name did not write its port within 60 s"
    fi
    echo "node $name (pid $pid) at http://127.0.0.1:$port"
}

# interop_wait_for URL TEXT            polls URL until its body contains TEXT; 1 after 90 s.
interop_wait_for() {
    local url="$1" text="$2"
    for _ in $(seq 1 900); do
        if curl -fsS "$url" 2>/dev/null | grep -q "$text"; then return 0; fi
        sleep 0.1
    done
    return 1
}
