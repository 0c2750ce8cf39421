#!/usr/bin/env python3
"""A TCP proxy for the swarm benchmarks (bench/swarm.sh), Python 3 standard library only.

Caps the downstream direction (target -> client, i.e. the provider's upload) at --rate bytes
per second with one token bucket shared by every connection, counts the bytes of both
directions, and can flip exactly one byte of one model download in transit.

Usage:
  throttle_proxy.py --listen 127.0.0.1:0 --target HOST:PORT [--rate BYTES_PER_S]
                    [--stats FILE] [--flip-download N] [--flip-offset K]
  --target-port-file PATH instead of --target: the target is 127.0.0.1 and the port is read
  from PATH at each new connection (so the proxy can start before the server it fronts, and
  the server can advertise the proxy's URL).

The first line of stdout is the port the proxy listens on. --stats FILE is written (JSON,
atomically) on SIGUSR1, SIGTERM and SIGINT: bytes down (target -> client), bytes up, the
connections, and with HTTP parsing on (--http or --flip-download) the body bytes of
`GET /v1/models/download/...` answers, the bytes of WebSocket connections after their 101,
and which answer was corrupted. SIGTERM/SIGINT then exit.

--flip-download N: exactly one byte in total is inverted, in the N-th answer (1-based, over
every connection, in the order they reach their offset) that passes its flip offset: the
body of a GET /v1/models/download/... answered 200 or 206 at body offset K (--flip-offset;
default: the middle of that body), or a WebSocket connection (the direct transfer route,
after its 101) at byte K of what follows the 101 (default: 1 MiB + 4097, inside a frame).
"""
import argparse
import asyncio
import json
import os
import signal
import sys
import time

CHUNK = 64 * 1024
DOWNLOAD_PREFIX = b"/v1/models/download/"


class Bucket:
    """A token bucket as a virtual clock: bytes leave at `rate`, in the order they asked, with
    at most `burst` seconds of credit saved while idle. One bucket for all connections, so the
    cap is the provider's whole upload, split among its connections first come first served."""

    def __init__(self, rate, burst_seconds=0.05):
        self.rate = rate
        self.burst = burst_seconds
        self.next_free = time.monotonic()

    async def take(self, count):
        if self.rate <= 0:
            return
        now = time.monotonic()
        start = max(self.next_free, now - self.burst)
        self.next_free = start + count / self.rate
        wait = self.next_free - self.burst - now
        if wait > 0:
            await asyncio.sleep(wait)


class Stats:
    def __init__(self):
        self.down = 0
        self.up = 0
        self.connections = 0
        self.download_body_bytes = 0
        self.download_answers = 0
        self.upgrades = 0
        self.upgraded_bytes = 0
        self.flipped = None  # {"request": ..., "range": ..., "body_offset": ..., "body_length": ...}

    def as_dict(self):
        return {
            "bytes_down": self.down,
            "bytes_up": self.up,
            "connections": self.connections,
            "download_answers": self.download_answers,
            "download_body_bytes": self.download_body_bytes,
            "websocket_upgrades": self.upgrades,
            "websocket_bytes": self.upgraded_bytes,
            "flipped": self.flipped,
        }


class Framer:
    """Finds HTTP/1.1 message boundaries in one direction of a connection (Content-Length,
    chunked, or until close), to count and corrupt answer bodies. After a 101 it passes the rest
    untouched."""

    def __init__(self, is_response):
        self.is_response = is_response
        self.head = b""
        self.state = "head"  # head | body | chunk-size | chunk-data | chunk-crlf | trailer | raw
        self.remaining = 0
        self.line = b""
        self.on_head = None  # callback(head_bytes) -> context for the body
        self.on_body = None  # callback(context, data, body_offset) -> data (possibly changed)
        self.context = None
        self.body_offset = 0

    def feed(self, data):
        """Returns `data`, possibly with one byte changed by on_body."""
        out = bytearray()
        i = 0
        n = len(data)
        while i < n:
            if self.state == "raw":
                out += self.body(data[i:])
                break
            if self.state == "head":
                end = (self.head + data[i:]).find(b"\r\n\r\n")
                if end < 0:
                    self.head += data[i:]
                    out += data[i:]
                    if len(self.head) > 1 << 20:
                        self.state = "raw"  # not HTTP as we know it: stop parsing
                    break
                take = end + 4 - len(self.head)
                self.head += data[i:i + take]
                out += data[i:i + take]
                i += take
                self.start_body(self.head)
                self.head = b""
                continue
            if self.state == "body":
                take = min(self.remaining, n - i) if self.remaining >= 0 else n - i
                out += self.body(data[i:i + take])
                i += take
                if self.remaining >= 0:
                    self.remaining -= take
                    if self.remaining == 0:
                        self.end_message()
                continue
            if self.state in ("chunk-size", "chunk-crlf", "trailer"):
                j = data.find(b"\n", i)
                if j < 0:
                    self.line += data[i:]
                    out += data[i:]
                    break
                self.line += data[i:j + 1]
                out += data[i:j + 1]
                i = j + 1
                line = self.line.strip()
                self.line = b""
                if self.state == "chunk-size":
                    size = int(line.split(b";")[0] or b"0", 16)
                    if size == 0:
                        self.state = "trailer"
                    else:
                        self.remaining = size
                        self.state = "chunk-data"
                elif self.state == "chunk-crlf":
                    self.state = "chunk-size"
                elif line == b"":
                    self.end_message()
                continue
            if self.state == "chunk-data":
                take = min(self.remaining, n - i)
                out += self.body(data[i:i + take])
                i += take
                self.remaining -= take
                if self.remaining == 0:
                    self.state = "chunk-crlf"
                continue
        return bytes(out)

    def body(self, data):
        if self.on_body is not None and self.context is not None:
            data = self.on_body(self.context, data, self.body_offset)
        self.body_offset += len(data)
        return data

    def start_body(self, head):
        lines = head.split(b"\r\n")
        first = lines[0].split(b" ")
        fields = {}
        for line in lines[1:]:
            if b":" in line:
                name, value = line.split(b":", 1)
                fields[name.strip().lower()] = value.strip()
        self.body_offset = 0
        self.context = self.on_head(first, fields) if self.on_head else None
        status = int(first[1]) if self.is_response and len(first) > 1 and first[1].isdigit() else 0
        if self.is_response and status == 101:
            self.state = "raw"  # the context stays: the rest of the connection is its body
            return
        no_body = self.is_response and (status < 200 or status in (204, 304) or
                                        (self.context or {}).get("head_request", False))
        if no_body:
            self.end_message()
        elif b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            self.state = "chunk-size"
        elif b"content-length" in fields:
            self.remaining = int(fields[b"content-length"])
            self.state = "body" if self.remaining > 0 else "head"
            if self.remaining == 0:
                self.end_message()
        elif self.is_response:
            self.remaining = -1  # until the connection closes
            self.state = "body"
        else:
            self.end_message()

    def end_message(self):
        self.state = "head"
        self.context = None


class Proxy:
    def __init__(self, args):
        self.args = args
        self.bucket = Bucket(args.rate)
        self.stats = Stats()
        self.parse = args.http or args.flip_download > 0
        self.candidates_seen = 0

    def target(self):
        if self.args.target_port_file:
            with open(self.args.target_port_file) as f:
                return "127.0.0.1", int(f.read().strip())
        host, port = self.args.target.rsplit(":", 1)
        return host.strip("[]"), int(port)

    async def handle(self, client_reader, client_writer):
        self.stats.connections += 1
        try:
            host, port = self.target()
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except (OSError, ValueError):
            client_writer.close()
            return
        requests = []  # (method, path, range) of requests whose answers have not started
        up_framer = down_framer = None
        if self.parse:
            up_framer = Framer(is_response=False)
            down_framer = Framer(is_response=True)

            def request_head(first, fields):
                method = first[0] if first else b""
                path = first[1] if len(first) > 1 else b""
                requests.append((method, path, fields.get(b"range", b"").decode("latin-1")))
                return None

            def response_head(first, fields):
                method, path, range_ = requests.pop(0) if requests else (b"", b"", "")
                status = int(first[1]) if len(first) > 1 and first[1].isdigit() else 0
                context = {"head_request": method == b"HEAD", "request": path.decode("latin-1"), "range": range_}
                if status == 101:
                    # A WebSocket (direct transfer route): its frames are the body.
                    self.stats.upgrades += 1
                    context["upgraded"] = True
                    context["flip_at"] = self.args.flip_offset if self.args.flip_offset >= 0 else (1 << 20) + 4097
                elif method == b"GET" and path.startswith(DOWNLOAD_PREFIX) and status in (200, 206):
                    self.stats.download_answers += 1
                    length = int(fields.get(b"content-length", b"-1"))
                    context["download"] = True
                    context["length"] = length
                    offset = self.args.flip_offset if self.args.flip_offset >= 0 else length // 2
                    if length > offset:
                        context["flip_at"] = offset
                return context

            def response_body(context, data, offset):
                if context.get("download"):
                    self.stats.download_body_bytes += len(data)
                elif context.get("upgraded"):
                    self.stats.upgraded_bytes += len(data)
                else:
                    return data
                at = context.get("flip_at")
                if at is None or not offset <= at < offset + len(data):
                    return data
                # This answer passes its flip offset now: it is the next candidate.
                context.pop("flip_at")
                wanted = self.args.flip_download
                if wanted <= 0 or self.stats.flipped is not None:
                    return data
                self.candidates_seen += 1
                if self.candidates_seen != wanted:
                    return data
                self.stats.flipped = {"request": context["request"], "range": context["range"], "offset": at,
                                      "websocket": bool(context.get("upgraded")), "body_length": context.get("length")}
                changed = bytearray(data)
                changed[at - offset] ^= 0xFF
                return bytes(changed)

            up_framer.on_head = request_head
            down_framer.on_head = response_head
            down_framer.on_body = response_body

        async def pump(reader, writer, upstream):
            try:
                while True:
                    data = await reader.read(CHUNK)
                    if not data:
                        if writer.can_write_eof():
                            writer.write_eof()
                        break
                    if upstream:
                        if up_framer:
                            up_framer.feed(data)
                        self.stats.up += len(data)
                    else:
                        await self.bucket.take(len(data))
                        if down_framer:
                            data = down_framer.feed(data)
                        self.stats.down += len(data)
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                try:
                    writer.close()
                except Exception:
                    pass

        await asyncio.gather(pump(client_reader, upstream_writer, True),
                             pump(upstream_reader, client_writer, False))

    def write_stats(self):
        if not self.args.stats:
            return
        tmp = self.args.stats + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.stats.as_dict(), f)
        os.replace(tmp, self.args.stats)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:0")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--target")
    target.add_argument("--target-port-file")
    parser.add_argument("--rate", type=float, default=0, help="bytes per second downstream (0: no cap)")
    parser.add_argument("--stats")
    parser.add_argument("--http", action="store_true", help="parse HTTP to count download bodies")
    parser.add_argument("--flip-download", type=int, default=0)
    parser.add_argument("--flip-offset", type=int, default=-1)
    args = parser.parse_args()
    proxy = Proxy(args)
    host, port = args.listen.rsplit(":", 1)
    server = await asyncio.start_server(proxy.handle, host.strip("[]"), int(port))
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGUSR1, proxy.write_stats)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with server:
        await stop
        proxy.write_stats()
    sys.stdout.flush()
    os._exit(0)  # open connections are not waited for


asyncio.run(main())
