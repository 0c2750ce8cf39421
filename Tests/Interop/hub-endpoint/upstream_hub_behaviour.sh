# Sourced by run.sh (one line there; this case's files are upstream_hub_behaviour.*): a node
# of a mesh of its own whose --upstream is a REPLAY of huggingface.co's documented answers
# (upstream_hub_behaviour.py: two loopback hosts, the Hub's and the CDN's; not the Hub),
# checked with the unmodified huggingface_hub. Uses run.sh's start_node, $passed, $failed.
python3 "$here/upstream_hub_behaviour.py" serve "$work/hub-replay.port" >"$work/hub-replay.out" 2>"$work/hub-replay.err" &
replay_pid=$!
interop_track "$replay_pid"
interop_wait_port "$replay_pid" "$work/hub-replay.port" || interop_fail_early "the Hub replay did not start: $(tail -5 "$work/hub-replay.err")"
replay_url="http://127.0.0.1:$port"
start_node hubreplay "$work/hubreplay-cache" --upstream "$replay_url"
{
    HF_HUB_DISABLE_XET=1 python3 "$here/upstream_hub_behaviour.py" check-replay "$replay_url" "$work/hubreplay" \
        || echo "exit $?"
    HF_ENDPOINT="$endpoint" python3 "$here/upstream_hub_behaviour.py" check "$work/hubreplay" "$work/hubreplay-cache" \
        || echo "exit $?"
} | sed "s/^\(ok\|FAIL\) - /\1 - [hubreplay] /" | tee "$work/hubreplay.checks"
replay_status=0
grep -q '^exit ' "$work/hubreplay.checks" && replay_status=1
passed=$((passed + $(grep -c '^ok - ' "$work/hubreplay.checks")))
replay_bad=$(grep -c '^FAIL - ' "$work/hubreplay.checks")
if [[ $replay_status -ne 0 && $replay_bad -eq 0 ]]; then
    replay_bad=1
    echo "FAIL - [hubreplay] upstream_hub_behaviour.py check exited with $replay_status"
fi
failed=$((failed + replay_bad))
[[ $replay_bad -eq 0 ]] || tail -30 "$work/hubreplay.err" | sed 's/^/   /'
