#!/usr/bin/env python3
"""An independent client of the Atmosphere relay protocol, written from the protocol notes
(PROTOCOL-NOTES section 4, not from this project's Swift code) with the `websockets`
package (asyncio) and `cryptography`'s Ed25519: mesh and node keys and ids, founder
proofs, admission tokens (canonical JSON, base64url transport) and a relay peer that
queues what it receives. The checks that use it are in relay_checks.py.
"""

import asyncio
import base64
import hashlib
import json
import secrets
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.exceptions import InvalidSignature

try:
    from websockets.asyncio.client import connect
except ImportError:  # websockets < 13
    from websockets import connect

TIMEOUT = 5.0


# --- keys, ids, tokens (as the notes define them) ----------------------------------------


def raw_public(private_key):
    return private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(private_key):
    """Node ids and mesh ids: the first 16 hex characters of sha256(raw Ed25519 public key)."""
    return hashlib.sha256(raw_public(private_key)).hexdigest()[:16]


def b64(data):
    return base64.b64encode(data).decode("ascii")


def canonical(claims):
    """The signed bytes: keys sorted, separators "," and ":" (no spaces), capabilities sorted."""
    claims = dict(claims, capabilities=sorted(claims["capabilities"]))
    return json.dumps(claims, sort_keys=True, separators=(",", ":")).encode("utf-8")


CLAIMS = ("mesh_id", "node_id", "issued_at", "expires_at", "capabilities", "issuer_id", "nonce")


def issue_token(mesh_key, mesh_id, node_id, issuer_id, lifetime=3600, capabilities=None, issued_at=None):
    now = int(time.time()) if issued_at is None else issued_at
    claims = {
        "mesh_id": mesh_id,
        "node_id": node_id,
        "issued_at": now,
        "expires_at": now + lifetime,
        "capabilities": capabilities if capabilities is not None else ["participant"],
        "issuer_id": issuer_id,
        "nonce": secrets.token_hex(16),
    }
    token = dict(claims)
    token["signature"] = b64(mesh_key.sign(canonical(claims)))
    return token


def verify_token(token, mesh_public_raw):
    claims = {name: token[name] for name in CLAIMS}
    try:
        Ed25519PublicKey.from_public_bytes(mesh_public_raw).verify(base64.b64decode(token["signature"]), canonical(claims))
        return True
    except InvalidSignature:
        return False


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


# --- a relay peer ---------------------------------------------------------------------


class Peer:
    """One WebSocket connection to /relay/{mesh_id}: received messages are queued, and
    `expect` finds the next one of a type (keeping the others for later expects)."""

    def __init__(self, name, ws):
        self.name = name
        self.ws = ws
        self.backlog = []
        self.arrived = asyncio.Event()
        self.closed = None  # the close code once the relay closed the connection
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, relay, mesh_id, name):
        ws = await asyncio.wait_for(connect(f"{relay}/relay/{mesh_id}", open_timeout=TIMEOUT), TIMEOUT)
        return cls(name, ws)

    async def _read(self):
        try:
            async for frame in self.ws:
                if isinstance(frame, bytes):
                    continue
                try:
                    self.backlog.append(json.loads(frame))
                except ValueError:
                    self.backlog.append({"type": "__not_json__", "text": frame})
                self.arrived.set()
        except Exception:
            pass
        self.closed = getattr(self.ws, "close_code", None)
        if self.closed is None:
            self.closed = -1
        self.arrived.set()

    async def send(self, message):
        await self.ws.send(json.dumps(message))

    async def expect(self, kind, match=None, timeout=TIMEOUT):
        """The first queued or arriving message of type `kind` (satisfying `match`)."""
        deadline = time.monotonic() + timeout
        while True:
            for index, message in enumerate(self.backlog):
                if message.get("type") == kind and (match is None or match(message)):
                    return self.backlog.pop(index)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed is not None:
                seen = [m.get("type") for m in self.backlog]
                why = f"closed with code {self.closed}" if self.closed is not None else f"nothing within {timeout:.1f} s"
                raise AssertionError(f"{self.name}: no '{kind}' message ({why}; queued: {seen})")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def quiet(self, kind, seconds=0.5):
        """True when no message of type `kind` arrives within `seconds`."""
        try:
            await self.expect(kind, timeout=seconds)
            return False
        except AssertionError:
            return True

    async def wait_closed(self, timeout=TIMEOUT):
        try:
            await asyncio.wait_for(asyncio.shield(self.reader), timeout)
        except asyncio.TimeoutError:
            return None
        return self.closed

    async def close(self):
        await self.ws.close()
        await self.wait_closed()


class Node:
    """A Python node: its own key, node id and display name."""

    def __init__(self, name):
        self.key = Ed25519PrivateKey.generate()
        self.node_id = key_id(self.key)
        self.name = name

    def register(self, mesh_key, mesh_id=None, proof_key=None):
        mesh_id = mesh_id or key_id(mesh_key)
        return {
            "type": "register_mesh",
            "mesh_id": mesh_id,
            "mesh_public_key": b64(raw_public(mesh_key)),
            "founder_proof": b64((proof_key or mesh_key).sign(mesh_id.encode("utf-8"))),
            "node_id": self.node_id,
            "name": self.name,
            "display_name": self.name,
            "node_public_key": b64(raw_public(self.key)),
            "capabilities": ["participant", "founder"],
        }

    def join(self, token, kind="join"):
        message = {"type": kind, "node_id": self.node_id, "capabilities": ["participant"], "name": self.name}
        if token is not None:
            message["token"] = token
        return message
