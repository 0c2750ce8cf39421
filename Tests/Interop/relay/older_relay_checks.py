#!/usr/bin/env python3
"""`atmo serve` against a STAND-IN for the older Python relay (older_relay_standin.py, the
older relay's rules from PROTOCOL-NOTES section 4, in this process). Prints one line per
check, "ok - ..." or "FAIL - ...", and exits 1 if any check failed.

    older_relay_checks.py --atmo PATH --work DIR

1. An atmo founder's register_mesh is valid on it (it checks founder_proof against
   node_public_key when present), and an atmo member with the founder's invite joins.
2. The stand-in restarts (forgetting every registration) while the founder is down: the
   member is refused ("Mesh not registered"); once the founder is back and registered
   again, the member is admitted within seconds, not after a 300 s refusal backoff.
"""

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from older_relay_standin import OlderRelayStandIn
from relay_client import Node, Peer, key_id

RESULTS = {"passed": 0, "failed": 0}
# How long a member may take to get back in once its founder registered again: its
# refusal backoff starts near 1 s and doubles (1, 2, 4 s); before issue 9 it was 300 s.
BACK_WITHIN_SECONDS = 10.0


def check(name, condition, detail=""):
    if condition:
        RESULTS["passed"] += 1
        print(f"ok - {name}", flush=True)
    else:
        RESULTS["failed"] += 1
        print(f"FAIL - {name}" + (f": {detail}" if detail else ""), flush=True)
    return condition


class Serve:
    """`atmo serve` on 127.0.0.1 with its own state folder; stderr kept in a file."""

    def __init__(self, atmo, work, state, name):
        self.log_path = os.path.join(work, f"{name}.err")
        self.log = open(self.log_path, "ab")
        env = dict(os.environ, HOME=os.path.join(work, "home"))
        self.process = subprocess.Popen(
            [atmo, "serve", "--host", "127.0.0.1", "--port", "0", "--state-dir", state, "--name", name,
             "--no-huggingface", "--no-llamafarm", "--no-lan"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=env)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def tail(self, lines=15):
        with open(self.log_path, "rb") as handle:
            return "\n".join(handle.read().decode("utf-8", "replace").splitlines()[-lines:])


def atmo_run(atmo, work, *args):
    env = dict(os.environ, HOME=os.path.join(work, "home"))
    run = subprocess.run([atmo, *args], capture_output=True, text=True, timeout=60, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"atmo {' '.join(args[:2])} failed ({run.returncode}): {run.stderr.strip()}")
    return run.stdout


def refusals(relay):
    return [details for _, kind, details in relay.events if kind == "refused"]


async def stand_in_applies_the_older_rule(relay):
    """The stand-in itself: a proof by the mesh key with another key in node_public_key is
    refused, as the older relay refuses it (atmo relay accepts it: relay_checks.py)."""
    mesh_key = Ed25519PrivateKey.generate()
    node = Node("py-founder-with-node-key")
    peer = await Peer.open(relay.url, key_id(mesh_key), "py-founder-with-node-key")
    await peer.send(node.register(mesh_key))  # node_public_key: the node's own key
    error = await peer.expect("error")
    check("the stand-in refuses a founder_proof that node_public_key (the node's key) does not verify: "
          "REGISTRATION_FAILED", error.get("code") == "REGISTRATION_FAILED", error)
    await peer.wait_closed()


async def founder_and_member(atmo, work, relay):
    founder_state, member_state = os.path.join(work, "older-founder"), os.path.join(work, "older-member")
    atmo_run(atmo, work, "mesh", "create", "older relay mesh", "--relay", relay.url, "--state-dir", founder_state)
    invite = json.loads(atmo_run(atmo, work, "mesh", "invite", "--json", "--expires", "30m", "--state-dir", founder_state))
    mesh_id = invite["mesh_id"]
    atmo_run(atmo, work, "mesh", "join", invite["invite"], "--state-dir", member_state)

    founder = Serve(atmo, work, founder_state, "older-founder")
    member = Serve(atmo, work, member_state, "older-member")
    try:
        registered = await relay.wait_for("registered", lambda d: d["mesh_id"] == mesh_id)
        check("atmo serve as founder registers its mesh on the stand-in for the older relay (mesh_registered)",
              registered is not None, f"refusals: {refusals(relay)}; founder log:\n{founder.tail()}")
        if registered is None:
            return
        details = registered[1]
        check("... sending node_public_key equal to mesh_public_key, as an older Python founder does",
              details["node_public_key"] == details["mesh_public_key"], details)
        founder_id = details["node_id"]
        is_member = lambda d: d["mesh_id"] == mesh_id and d["node_id"] != founder_id  # noqa: E731
        joined = await relay.wait_for("joined", is_member)
        check("an atmo member with the founder's invite joins that mesh on the stand-in", joined is not None,
              f"refusals: {refusals(relay)}; member log:\n{member.tail()}")
        catalog = await relay.wait_for("broadcast", lambda d: d["from"] == founder_id and d["payload_type"] == "model_catalog")
        check("the founder's model_catalog crosses the stand-in", catalog is not None)

        # The older relay restarts while the founder is down: it has forgotten the mesh.
        founder.stop()
        restarted_at = time.monotonic()
        await relay.restart()
        refused = await relay.wait_for(
            "refused", lambda d: is_member(d) and "not registered" in d["message"], after=restarted_at, timeout=20)
        check("after the restart the member is refused until the founder is back (TOKEN_INVALID 'Mesh not registered')",
              refused is not None, f"events since: {[e for e in relay.events if e[0] >= restarted_at]}")
        founder = Serve(atmo, work, founder_state, "older-founder")
        again = await relay.wait_for("registered", lambda d: d["mesh_id"] == mesh_id, after=restarted_at)
        check("the founder registers the mesh again after the restart", again is not None, founder.tail())
        if again is None:
            return
        back = await relay.wait_for("joined", is_member, after=again[0], timeout=BACK_WITHIN_SECONDS + 20)
        waited = (back[0] - again[0]) if back else None
        tries = len([d for d in refusals(relay) if is_member(d)])
        print(f"   member back {waited if waited is None else round(waited, 2)} s after the founder's "
              f"re-registration ({tries} refusals in all)", flush=True)
        check(f"the member is back in the mesh within {BACK_WITHIN_SECONDS:.0f} s of the founder's re-registration "
              "(its refusal backoff starts near 1 s)", waited is not None and waited < BACK_WITHIN_SECONDS,
              f"waited {waited}; member log:\n{member.tail()}")
    finally:
        founder.stop()
        member.stop()


async def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--atmo", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    os.makedirs(os.path.join(args.work, "home"), exist_ok=True)
    relay = OlderRelayStandIn()
    await relay.start()
    print(f"stand-in for the older Python relay listens at {relay.url}", flush=True)
    try:
        for name, body, extra in (("the stand-in's rule", stand_in_applies_the_older_rule, ()),
                                  ("atmo founder and member", founder_and_member, (args.atmo, args.work))):
            try:
                await (body(*extra, relay) if extra else body(relay))
            except Exception as error:  # noqa: BLE001 - one FAIL line per broken group
                check(f"{name} ran to its end", False, f"{type(error).__name__}: {error}")
    finally:
        await relay.stop()
    print(f"older relay stand-in (python): {RESULTS['passed']} passed, {RESULTS['failed']} failed", flush=True)
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
