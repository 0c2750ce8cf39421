#!/usr/bin/env python3
"""A STAND-IN for the older Python Atmosphere relay: a minimal relay that applies the rules
PROTOCOL-NOTES section 4 gives for it, so that `atmo serve` can be checked against them
without the older relay itself. It is not that relay and not `atmo relay`; it is written
from the notes (websockets, asyncio), in memory, and keeps what it saw in `events`.

The older relay's rules it applies:
- `register_mesh`: MISSING_FIELDS without node_id, mesh_public_key or founder_proof; a mesh
  already registered accepts, without a proof, a node id it recorded as its founder (and
  refuses others); a new mesh has its founder_proof checked against `node_public_key`
  WHEN THAT FIELD IS PRESENT, otherwise against `mesh_public_key`. Refusals are
  {"type":"error","code":"REGISTRATION_FAILED"} then close 1008.
- `join`/`register`: a recorded founder rejoins without a token; a token is checked against
  the key of the mesh it names, and a mesh this relay does not know answers TOKEN_INVALID
  "Mesh not registered" (as after a restart, before the founder registered again); no
  token: TOKEN_REQUIRED on a registered mesh, admitted on an unregistered one.
- registrations live in memory only: `restart()` forgets them, as the older relay's
  process restarting does.
- admission: older connection of the node replaced, `peer_joined` to the others, `joined`
  then `peers` to the newcomer; `ping` -> `pong`; `broadcast` and `direct` -> `message`;
  `peer_left` on disconnect.
"""

import asyncio
import base64
import json
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from websockets.asyncio.server import serve

from relay_client import canonical, CLAIMS


class OlderRelayStandIn:
    """The stand-in relay on 127.0.0.1. `events` lists (monotonic time, kind, details) of
    every registration, admission and refusal, in order."""

    def __init__(self):
        self.server = None
        self.port = 0
        self.events = []
        self._forget()

    def _forget(self):
        self.mesh_keys = {}  # mesh_id -> raw Ed25519 public key
        self.founders = {}  # mesh_id -> set of founder node ids
        self.rooms = {}  # mesh_id -> {node_id: (connection, info)}

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, port=0):
        """Listens on `port` (0: one the OS picks, kept for `restart`); returns the port."""
        self.server = await serve(self._serve, "127.0.0.1", port or self.port, compression=None, ping_interval=None)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self):
        if self.server is not None:
            self.server.close(close_connections=True)
            await self.server.wait_closed()
            self.server = None

    async def restart(self):
        """Stops (every connection closed), forgets every registration, listens again on the same port."""
        await self.stop()
        self._forget()
        self.events.append((time.monotonic(), "restarted", {}))
        await self.start(self.port)

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}"

    def find(self, kind, match=lambda details: True, after=0.0):
        """The first event of `kind` at or after `after` whose details satisfy `match`."""
        for stamp, event_kind, details in self.events:
            if event_kind == kind and stamp >= after and match(details):
                return stamp, details
        return None

    async def wait_for(self, kind, match=lambda details: True, after=0.0, timeout=30.0):
        """Polls `events` until `find` has an answer; None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.find(kind, match, after)
            if found:
                return found
            await asyncio.sleep(0.05)
        return None

    # --- one connection ------------------------------------------------------------------

    async def _serve(self, ws):
        path = ws.request.path
        if not path.startswith("/relay/") or len(path) <= len("/relay/"):
            await ws.close(1008, "unknown path")
            return
        mesh_id = path[len("/relay/"):]
        try:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 30))
        except (asyncio.TimeoutError, ValueError):
            await ws.close(1008, "Registration timeout")
            return
        except Exception:  # noqa: BLE001 - the peer went away
            return
        admitted = await self._admission(ws, mesh_id, hello)
        if admitted is None:
            return
        node_id, info = admitted
        try:
            async for frame in ws:
                if not isinstance(frame, str):
                    continue
                await self._route(ws, mesh_id, node_id, json.loads(frame))
        except Exception:  # noqa: BLE001 - closed or malformed: the connection ends
            pass
        finally:
            room = self.rooms.get(mesh_id, {})
            if room.get(node_id, (None,))[0] is ws:
                del room[node_id]
                await self._send_all(mesh_id, {"type": "peer_left", "node_id": node_id})

    async def _refuse(self, ws, code, message, mesh_id, node_id):
        self.events.append((time.monotonic(), "refused", {"code": code, "message": message, "mesh_id": mesh_id,
                                                          "node_id": node_id}))
        try:
            await ws.send(json.dumps({"type": "error", "code": code, "message": message}))
            await ws.close(1008, message[:100])
        except Exception:  # noqa: BLE001
            pass
        return None

    async def _admission(self, ws, mesh_id, hello):
        kind = hello.get("type")
        node_id = hello.get("node_id")
        if kind == "register_mesh":
            key_b64, proof_b64 = hello.get("mesh_public_key"), hello.get("founder_proof")
            if not all([node_id, key_b64, proof_b64]):
                return await self._refuse(ws, "MISSING_FIELDS", "Missing required fields for mesh registration",
                                          mesh_id, node_id)
            if mesh_id in self.mesh_keys:
                if node_id not in self.founders.get(mesh_id, set()):
                    return await self._refuse(ws, "REGISTRATION_FAILED", "Mesh already registered by different founder",
                                              mesh_id, node_id)
            else:
                # THE rule this stand-in exists for: node_public_key, when present, is the
                # key the founder_proof must verify against.
                checked_with = "node_public_key" if hello.get("node_public_key") else "mesh_public_key"
                try:
                    key = base64.b64decode(hello[checked_with])
                    Ed25519PublicKey.from_public_bytes(key).verify(base64.b64decode(proof_b64), mesh_id.encode("utf-8"))
                except Exception as error:  # noqa: BLE001 - any failure is an invalid proof
                    return await self._refuse(ws, "REGISTRATION_FAILED",
                                              f"Invalid founder proof (checked with {checked_with}): {error!r}",
                                              mesh_id, node_id)
                self.mesh_keys[mesh_id] = base64.b64decode(key_b64)
                self.founders.setdefault(mesh_id, set()).add(node_id)
            self.events.append((time.monotonic(), "registered", {
                "mesh_id": mesh_id, "node_id": node_id, "node_public_key": hello.get("node_public_key"),
                "mesh_public_key": key_b64}))
            await ws.send(json.dumps({"type": "mesh_registered", "success": True}))
            return await self._admit(ws, mesh_id, node_id, hello.get("display_name") or hello.get("name") or "",
                                     hello.get("capabilities", []), True)
        if kind in ("join", "register"):
            if not node_id:
                await ws.close(1008, "node_id required")
                return None
            token = hello.get("token")
            founder = node_id in self.founders.get(mesh_id, set())
            if not founder:
                if token:
                    problem = self._token_problem(token, node_id)
                    if problem:
                        return await self._refuse(ws, "TOKEN_INVALID", problem, mesh_id, node_id)
                elif mesh_id in self.mesh_keys:
                    return await self._refuse(ws, "TOKEN_REQUIRED", "This mesh requires a token to join", mesh_id, node_id)
            return await self._admit(ws, mesh_id, node_id, hello.get("name") or "", hello.get("capabilities", []), founder)
        await ws.close(1008, "expected register_mesh or join")
        return None

    def _token_problem(self, token, node_id):
        try:
            if time.time() > token.get("expires_at", 0):
                return "Token expired"
            if token.get("node_id") and token["node_id"] != node_id:
                return "Token bound to different node"
            key = self.mesh_keys.get(token.get("mesh_id"))
            if key is None:
                return "Mesh not registered"
            claims = {name: token.get(name) for name in CLAIMS}
            Ed25519PublicKey.from_public_bytes(key).verify(base64.b64decode(token["signature"]), canonical(claims))
            return None
        except Exception as error:  # noqa: BLE001
            return f"Invalid token: {error!r}"

    async def _admit(self, ws, mesh_id, node_id, name, capabilities, is_founder):
        room = self.rooms.setdefault(mesh_id, {})
        info = {"node_id": node_id, "name": name, "capabilities": capabilities, "is_founder": is_founder,
                "joined_at": time.time()}
        older = room.get(node_id)
        room[node_id] = (ws, info)
        if older is not None:
            try:
                await older[0].close(1000, "replaced")
            except Exception:  # noqa: BLE001
                pass
        self.events.append((time.monotonic(), "joined", {"mesh_id": mesh_id, "node_id": node_id, "is_founder": is_founder}))
        announce = {"type": "peer_joined", **{k: info[k] for k in ("node_id", "name", "capabilities", "is_founder")}}
        await self._send_all(mesh_id, announce, except_node=node_id)
        await ws.send(json.dumps({"type": "joined", "mesh": mesh_id, "mesh_id": mesh_id, "node_count": len(room)}))
        others = [other for other_id, (_, other) in room.items() if other_id != node_id]
        await ws.send(json.dumps({"type": "peers", "peers": others}))
        return node_id, info

    async def _route(self, ws, mesh_id, node_id, message):
        kind = message.get("type")
        if kind == "ping":
            await ws.send(json.dumps({"type": "pong", "timestamp": time.time()}))
        elif kind == "broadcast":
            self.events.append((time.monotonic(), "broadcast", {"from": node_id, "payload_type": (message.get("payload") or {}).get("type")}))
            await self._send_all(mesh_id, {"type": "message", "from": node_id, "payload": message.get("payload")},
                                 except_node=node_id)
        elif kind == "direct":
            target = self.rooms.get(mesh_id, {}).get(message.get("target"))
            if target is None:
                await ws.send(json.dumps({"type": "error", "message": f"Peer {message.get('target')} not found"}))
            else:
                await target[0].send(json.dumps({"type": "message", "from": node_id, "payload": message.get("payload")}))

    async def _send_all(self, mesh_id, message, except_node=None):
        text = json.dumps(message)
        for other_id, (other, _) in list(self.rooms.get(mesh_id, {}).items()):
            if other_id != except_node:
                try:
                    await other.send(text)
                except Exception:  # noqa: BLE001 - that peer is going away
                    pass
