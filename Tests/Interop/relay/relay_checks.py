#!/usr/bin/env python3
"""Interop checks of `atmo relay` (and of `atmo mesh` tokens) with an independent Python
client (relay_client.py). Prints one line per check, "ok - ..." or "FAIL - ...", and exits
1 if any check failed.

    relay_checks.py --relay ws://127.0.0.1:PORT
        [--atmo PATH --swift-state DIR --swift-invite FILE --work DIR]

With --swift-state (a state folder where `atmo mesh create` ran) and --swift-invite (the
output of `atmo mesh invite --json` there), it also checks the Swift token with Python and
uses it on the relay; with --atmo and --work, it has `atmo mesh join` read a Python invite.
"""

import argparse
import asyncio
import json
import os
import secrets
import stat
import subprocess
import sys
import time
import traceback
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from relay_client import (
    Node, Peer, b64url_decode, b64url_encode, canonical, issue_token, key_id, raw_public, verify_token,
)

RESULTS = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    if condition:
        RESULTS["passed"] += 1
        print(f"ok - {name}", flush=True)
    else:
        RESULTS["failed"] += 1
        print(f"FAIL - {name}" + (f": {detail}" if detail else ""), flush=True)
    return condition


async def scenario(name, body, *args):
    """Runs one group of checks; an exception is one FAIL line, and the next group runs."""
    try:
        await body(*args)
    except Exception as error:  # noqa: BLE001 - any failure of a group is reported, not fatal
        check(f"{name} ran to its end", False, f"{type(error).__name__}: {error}")
        traceback.print_exc(limit=3, file=sys.stderr)


async def refused(relay, mesh_id, hello, label):
    """Sends `hello` on a new connection; returns (error message or None, close code)."""
    peer = await Peer.open(relay, mesh_id, label)
    await peer.send(hello)
    try:
        error = await peer.expect("error")
    except AssertionError:
        error = None
    code = await peer.wait_closed()
    if code is None:
        await peer.close()
    return error, code


def http_get(relay, path):
    url = relay.replace("ws://", "http://", 1).replace("wss://", "https://", 1) + path
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


# --- the relay by itself ---------------------------------------------------------------


async def health_and_stats(relay):
    status, body = http_get(relay, "/health")
    check("GET /health answers 200", status == 200, f"status {status}")
    status, body = http_get(relay, "/stats")
    stats = json.loads(body)
    check("GET /stats answers 200 with a JSON object", status == 200 and isinstance(stats, dict), body[:200])


async def mesh_session(relay):
    mesh_key = Ed25519PrivateKey.generate()
    mesh_id = key_id(mesh_key)
    founder, alice, bob = Node("py-founder"), Node("py-alice"), Node("py-bob")

    f = await Peer.open(relay, mesh_id, "founder")
    hello = founder.register(mesh_key)
    hello["node_public_key"] = hello["mesh_public_key"]  # as atmo's founder and an older Python founder send it
    await f.send(hello)
    registered = await f.expect("mesh_registered")
    check("a Python founder registers its mesh (mesh_public_key, founder_proof, node_public_key = the mesh key): "
          "mesh_registered success=true", registered.get("success") is True, registered)

    # A token for alice only, capabilities given unsorted: the relay must sort them to verify.
    token = issue_token(mesh_key, mesh_id, alice.node_id, founder.node_id, capabilities=["zeta", "participant"])
    a = await Peer.open(relay, mesh_id, "alice")
    await a.send(alice.join(token))
    joined = await a.expect("joined")
    check("a member joins with a Python-signed token (unsorted capabilities): joined names the mesh",
          joined.get("mesh_id") == mesh_id, joined)
    check("joined counts the founder and the member (node_count 2)", joined.get("node_count") == 2, joined)
    peers = await a.expect("peers")
    listed = {p.get("node_id"): p for p in peers.get("peers", [])}
    entry = listed.get(founder.node_id, {})
    check("peers lists the founder with is_founder=true, name, capabilities and joined_at",
          entry.get("is_founder") is True and entry.get("name") == "py-founder"
          and isinstance(entry.get("capabilities"), list) and "joined_at" in entry, peers)
    announced = await f.expect("peer_joined", lambda m: m.get("node_id") == alice.node_id)
    check("the founder hears peer_joined for the member (name, capabilities, is_founder=false)",
          announced.get("name") == "py-alice" and announced.get("is_founder") is False
          and announced.get("capabilities") == ["participant"], announced)

    # A token for any node (node_id null), sent with the other hello type, "register".
    any_token = issue_token(mesh_key, mesh_id, None, founder.node_id)
    b = await Peer.open(relay, mesh_id, "bob")
    await b.send(bob.join(any_token, kind="register"))
    joined = await b.expect("joined")
    check("a token for any node (node_id null) admits a second member, hello type 'register'",
          joined.get("node_count") == 3, joined)
    await b.expect("peers")
    await a.expect("peer_joined", lambda m: m.get("node_id") == bob.node_id)
    await f.expect("peer_joined", lambda m: m.get("node_id") == bob.node_id)

    await a.send({"type": "ping"})
    pong = await a.expect("pong")
    stamp = pong.get("timestamp")
    check("ping -> pong with a timestamp in seconds",
          isinstance(stamp, (int, float)) and abs(stamp - time.time()) < 120, pong)

    payload = {"type": "model_catalog", "node_id": founder.node_id, "models": [], "nested": {"x": [1, 2.5, "é", None]}}
    await f.send({"type": "broadcast", "payload": payload})
    at_alice = await a.expect("message")
    at_bob = await b.expect("message")
    check("broadcast reaches every other peer as message with from = the sender and the payload intact",
          at_alice.get("from") == founder.node_id and at_alice.get("payload") == payload
          and at_bob.get("from") == founder.node_id and at_bob.get("payload") == payload, (at_alice, at_bob))
    check("the sender does not receive its own broadcast", await f.quiet("message"))

    request = {"type": "model_request", "request_id": secrets.token_hex(8), "model_id": "m.gguf"}
    await a.send({"type": "direct", "target": founder.node_id, "payload": request})
    direct = await f.expect("message")
    check("direct reaches its target only, as message with from and payload",
          direct.get("from") == alice.node_id and direct.get("payload") == request, direct)
    check("a direct message is not delivered to the other peers", await b.quiet("message"))

    await a.send({"type": "direct", "target": "no-such-node-42", "payload": {"type": "hello"}})
    error = await a.expect("error")
    check("direct to an unknown node -> error naming it ('not found')",
          "no-such-node-42" in str(error.get("message", "")) and "not found" in str(error.get("message", "")).lower(), error)

    # Refused hellos on the registered mesh.
    intruder = Node("py-intruder")
    error, code = await refused(relay, mesh_id, intruder.join(None), "no-token")
    check("a join without a token -> error TOKEN_REQUIRED", (error or {}).get("code") == "TOKEN_REQUIRED", error)
    check("... and the relay closes that connection (1008)", code == 1008, f"close code {code}")
    forged = issue_token(Ed25519PrivateKey.generate(), mesh_id, None, founder.node_id)
    error, code = await refused(relay, mesh_id, intruder.join(forged), "forged")
    check("a token signed by another key -> error TOKEN_INVALID", (error or {}).get("code") == "TOKEN_INVALID", error)
    check("... and the relay closes that connection", code is not None, "still open")
    tampered = dict(any_token, capabilities=["participant", "admin"])
    error, _ = await refused(relay, mesh_id, intruder.join(tampered), "tampered")
    check("a token with an altered claim (capabilities) -> TOKEN_INVALID", (error or {}).get("code") == "TOKEN_INVALID", error)
    error, _ = await refused(relay, mesh_id, intruder.join(token), "stolen")
    check("alice's token presented by another node id -> TOKEN_INVALID", (error or {}).get("code") == "TOKEN_INVALID", error)
    now = int(time.time())
    expired = issue_token(mesh_key, mesh_id, None, founder.node_id, lifetime=3600, issued_at=now - 7200)
    error, _ = await refused(relay, mesh_id, intruder.join(expired), "expired")
    check("an expired token -> TOKEN_INVALID", (error or {}).get("code") == "TOKEN_INVALID", error)
    too_long = issue_token(mesh_key, mesh_id, None, founder.node_id, lifetime=8 * 86400)
    error, _ = await refused(relay, mesh_id, intruder.join(too_long), "too-long")
    check("a token living more than 7 days -> TOKEN_INVALID", (error or {}).get("code") == "TOKEN_INVALID", error)
    other_mesh = issue_token(mesh_key, key_id(Ed25519PrivateKey.generate()), None, founder.node_id)
    error, _ = await refused(relay, mesh_id, intruder.join(other_mesh), "other-mesh")
    check("a token (signed by this mesh's key) naming another mesh_id -> TOKEN_INVALID",
          (error or {}).get("code") == "TOKEN_INVALID", error)

    # Registration refusals.
    thief = Node("py-thief")
    error, code = await refused(relay, mesh_id, thief.register(mesh_key, proof_key=Ed25519PrivateKey.generate()), "bad-proof")
    check("register_mesh with a founder_proof by another key -> REGISTRATION_FAILED, closed 1008",
          (error or {}).get("code") == "REGISTRATION_FAILED" and code == 1008, (error, code))
    # The older relay would take this one (it checks the proof against node_public_key when
    # present); atmo relay always checks against mesh_public_key.
    self_signed = thief.register(Ed25519PrivateKey.generate(), proof_key=thief.key)
    error, code = await refused(relay, self_signed["mesh_id"], self_signed, "node-key-proof")
    check("register_mesh whose founder_proof only node_public_key verifies -> REGISTRATION_FAILED (stricter than "
          "the older relay)", (error or {}).get("code") == "REGISTRATION_FAILED" and code == 1008, (error, code))
    wrong_key = thief.register(Ed25519PrivateKey.generate(), mesh_id=mesh_id)
    error, _ = await refused(relay, mesh_id, wrong_key, "wrong-key")
    check("register_mesh of a mesh id that is not the key's -> REGISTRATION_FAILED",
          (error or {}).get("code") == "REGISTRATION_FAILED", error)
    other_key = Ed25519PrivateKey.generate()
    missing = thief.register(other_key)
    del missing["founder_proof"]
    error, _ = await refused(relay, key_id(other_key), missing, "missing")
    check("register_mesh without founder_proof -> MISSING_FIELDS", (error or {}).get("code") == "MISSING_FIELDS", error)
    check("refused hellos did not disturb the members (no peer_joined for them)",
          await a.quiet("peer_joined", 0.3) and await f.quiet("peer_joined", 0.1))

    # A second connection of alice replaces the first; bob leaving is announced.
    a2 = await Peer.open(relay, mesh_id, "alice-again")
    await a2.send(alice.join(token))
    await a2.expect("joined")
    check("a node connecting again replaces its older connection (closed by the relay)", await a.wait_closed() is not None)
    await b.close()
    left_f = await f.expect("peer_left", lambda m: m.get("node_id") == bob.node_id)
    left_a = await a2.expect("peer_left", lambda m: m.get("node_id") == bob.node_id)
    check("a disconnect -> peer_left with the node_id to the others", bool(left_f) and bool(left_a))
    await f.send({"type": "direct", "target": alice.node_id, "payload": {"n": 1}})
    check("the new connection of alice receives messages for her", (await a2.expect("message")).get("payload") == {"n": 1})
    for peer in (a2, f):
        await peer.close()


async def open_mesh(relay):
    mesh_id = "py-open-" + secrets.token_hex(6)
    first, second = Node("py-open-1"), Node("py-open-2")
    p1 = await Peer.open(relay, mesh_id, "open-1")
    await p1.send(first.join(None))
    joined = await p1.expect("joined")
    check("an unregistered mesh admits a join without a token", joined.get("mesh_id") == mesh_id, joined)
    p2 = await Peer.open(relay, mesh_id, "open-2")
    await p2.send(second.join(None))
    await p2.expect("joined")
    await p1.send({"type": "broadcast", "payload": {"hello": "open"}})
    message = await p2.expect("message")
    check("... and relays between its peers", message.get("from") == first.node_id, message)
    for peer in (p1, p2):
        await peer.close()


# --- across implementations ---------------------------------------------------------------


async def swift_token(relay, state, invite_path):
    with open(os.path.join(state, "mesh.key"), "rb") as handle:
        raw = handle.read()
    check("atmo's mesh.key holds a raw 32-byte Ed25519 private key", len(raw) == 32, f"{len(raw)} bytes")
    mesh_key = Ed25519PrivateKey.from_private_bytes(raw)
    with open(invite_path) as handle:
        invite = json.load(handle)
    mesh_id = key_id(mesh_key)
    check("the mesh id atmo printed is sha256(raw public key)[:16] in Python", invite["mesh_id"] == mesh_id,
          f"{invite['mesh_id']} vs {mesh_id}")
    token = json.loads(b64url_decode(invite["token"]))
    check("atmo's token is base64url JSON without padding, with every field of the notes",
          "=" not in invite["token"] and set(token) >= {"mesh_id", "node_id", "issued_at", "expires_at", "capabilities",
                                                         "issuer_id", "nonce", "signature"}, sorted(token))
    check("Python verifies atmo's token signature over the canonical JSON with the mesh public key",
          verify_token(token, raw_public(mesh_key)), canonical({k: token[k] for k in token if k != "signature"}))
    query = urllib.parse.parse_qs(urllib.parse.urlparse(invite["invite"]).query)
    check("atmo's invite link carries the token, the relay and the mesh name",
          invite["invite"].startswith("atmosphere://join?") and query.get("invite") == [invite["token"]]
          and query.get("relay") == [relay] and query.get("name") == [invite.get("name")], query)

    founder, member = Node("py-founder-of-swift-mesh"), Node("py-member-with-swift-token")
    f = await Peer.open(relay, mesh_id, "swift-mesh-founder")
    await f.send(founder.register(mesh_key))
    registered = await f.expect("mesh_registered")
    check("a Python founder registers atmo's mesh with the key from mesh.key", registered.get("success") is True, registered)
    m = await Peer.open(relay, mesh_id, "swift-token-member")
    await m.send(member.join(token))
    joined = await m.expect("joined")
    check("a Python node joins the relay with the token `atmo mesh invite` issued", joined.get("mesh_id") == mesh_id, joined)
    await f.expect("peer_joined", lambda message: message.get("node_id") == member.node_id)
    for peer in (m, f):
        await peer.close()


async def python_invite_for_atmo(relay, atmo, work):
    """`atmo mesh join` reads an invite link made in Python; the token it saves still admits."""
    mesh_key = Ed25519PrivateKey.generate()
    mesh_id = key_id(mesh_key)
    founder = Node("py-founder-for-atmo")
    token = issue_token(mesh_key, mesh_id, None, founder.node_id, lifetime=600, capabilities=["participant", "relay"])
    transport = b64url_encode(json.dumps(token).encode("utf-8"))  # Python's default separators, with spaces
    link = "atmosphere://join?" + urllib.parse.urlencode(
        [("invite", transport), ("relay", relay), ("name", "Python mesh")], quote_via=urllib.parse.quote)
    state = os.path.join(work, "atmo-member")
    run = subprocess.run([atmo, "mesh", "join", link, "--state-dir", state], capture_output=True, text=True, timeout=60)
    check("`atmo mesh join` accepts an invite link built in Python", run.returncode == 0, run.stderr.strip())
    path = os.path.join(state, "mesh.json")
    saved = json.load(open(path)) if os.path.exists(path) else {}
    check("atmo's mesh.json holds the mesh, name, relay and the token",
          saved.get("mesh_id") == mesh_id and saved.get("name") == "Python mesh" and saved.get("relays") == [relay]
          and saved.get("founder") is False and (saved.get("token") or {}).get("nonce") == token["nonce"], saved)
    check("atmo's mesh.json is owner-only (0600)",
          os.path.exists(path) and stat.S_IMODE(os.stat(path).st_mode) == 0o600)
    kept = saved.get("token") or {}
    check("the token atmo saved still verifies in Python", bool(kept) and verify_token(kept, raw_public(mesh_key)), kept)

    f = await Peer.open(relay, mesh_id, "py-founder-for-atmo")
    await f.send(founder.register(mesh_key))
    await f.expect("mesh_registered")
    m = await Peer.open(relay, mesh_id, "token-from-atmo-state")
    await m.send(Node("py-with-atmo-saved-token").join(kept))
    joined = await m.expect("joined")
    check("the token as atmo saved it admits a node on the relay", joined.get("mesh_id") == mesh_id, joined)
    for peer in (m, f):
        await peer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--relay", required=True, help="ws://HOST:PORT of a running `atmo relay`")
    parser.add_argument("--atmo", help="the atmo binary (for `atmo mesh join` of a Python invite)")
    parser.add_argument("--swift-state", help="a state folder where `atmo mesh create` ran")
    parser.add_argument("--swift-invite", help="the output of `atmo mesh invite --json` in that folder")
    parser.add_argument("--work", help="a scratch folder")
    args = parser.parse_args()
    relay = args.relay.rstrip("/")

    await scenario("health and stats", health_and_stats, relay)
    await scenario("a mesh session", mesh_session, relay)
    await scenario("an open mesh", open_mesh, relay)
    if args.swift_state and args.swift_invite:
        await scenario("atmo's token", swift_token, relay, args.swift_state, args.swift_invite)
    if args.atmo and args.work:
        await scenario("a Python invite for atmo", python_invite_for_atmo, relay, args.atmo, args.work)
    print(f"relay interop (python): {RESULTS['passed']} passed, {RESULTS['failed']} failed", flush=True)
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
