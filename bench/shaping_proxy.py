#!/usr/bin/env python3
"""Helpers of bench/shaping.sh (loopback only).

  count PORT_FILE TARGET_PORT LOG
      A TCP proxy to 127.0.0.1:TARGET_PORT that counts the bytes it forwards each way and
      appends "epoch_seconds up_bytes down_bytes" (cumulative; up = client to target) to LOG
      every 0.1 s: the bytes on the wire, as the bench counts them.
  bottleneck PREFIX RATE DEPTH LOG NAME:TARGET_PORT:DIR ...
      One bottleneck link shared by several listeners: the bytes of every listener's DIR
      direction ("up": client to target, "down": target to client) wait in ONE first-in
      first-out queue of at most DEPTH bytes (a deep buffer: the proxy stops reading while it
      is full) drained at RATE bytes per second; the other direction passes freely. Each
      listener's port goes to PREFIX.NAME.port; LOG gets "epoch_seconds name delivered_bytes" every 0.5 s.
  echo PORT_FILE
      Echoes what it reads.
  ping PORT SECONDS OUT
      Sends 8 bytes (its send time) every 100 ms to PORT, whatever came back, and writes each
      round trip as it returns (one "epoch_seconds_sent rtt_ms" per line) to OUT; pings still
      out 10 s after the last was sent are not counted.
"""
import asyncio
import collections
import struct
import sys
import time

READ = 64 * 1024


def write_port(path, server):
    with open(path, "w") as f:
        f.write(f"{server.sockets[0].getsockname()[1]}\n")


async def copy(reader, writer, counted=None):
    try:
        while True:
            data = await reader.read(READ)
            if not data:
                break
            if counted:
                counted(len(data))
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def count(port_file, target_port, log):
    totals = {"up": 0, "down": 0}

    def add(key):
        def counted(n):
            totals[key] += n
        return counted

    async def handle(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(copy(reader, up_writer, add("up")), copy(up_reader, writer, add("down")))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    write_port(port_file, server)
    with open(log, "a", buffering=1) as out:
        while True:
            await asyncio.sleep(0.1)
            out.write(f"{time.time():.3f} {totals['up']} {totals['down']}\n")


class Link:
    """The bottleneck: one FIFO queue drained at `rate` bytes per second."""

    def __init__(self, rate, depth):
        self.rate = rate
        self.depth = depth
        self.queue = collections.deque()  # [writer, bytearray | None, name]
        self.queued = 0
        self.space = asyncio.Event()
        self.space.set()
        self.delivered = collections.Counter()

    async def put(self, writer, data, name):
        while self.queued >= self.depth:
            self.space.clear()
            await self.space.wait()
        self.queue.append([writer, data, name])
        self.queued += len(data) if data else 0

    async def drain(self):
        tick = 0.002
        budget = 0.0
        last = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            budget = min(budget + (now - last) * self.rate, self.rate * 0.01 + READ)
            last = now
            while self.queue and budget > 0:
                entry = self.queue[0]
                writer, data, name = entry
                if data is None:
                    self.queue.popleft()
                    try:
                        writer.close()
                    except Exception:
                        pass
                    continue
                take = min(len(data), int(budget))
                if take <= 0:
                    break
                if not writer.is_closing():
                    writer.write(bytes(data[:take]))
                del data[:take]
                budget -= take
                self.queued -= take
                self.delivered[name] += take
                if not data:
                    self.queue.popleft()
            if self.queued < self.depth:
                self.space.set()


async def queued_copy(link, reader, writer, name):
    try:
        while True:
            data = await reader.read(READ)
            if not data:
                break
            await link.put(writer, bytearray(data), name)
    except (ConnectionError, OSError):
        pass
    finally:
        await link.put(writer, None, name)


async def bottleneck(prefix, rate, depth, log, listeners):
    link = Link(rate, depth)
    servers = []
    for spec in listeners:
        name, target, direction = spec.split(":")

        def handler(name=name, target=int(target), direction=direction):
            async def handle(reader, writer):
                try:
                    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
                except OSError:
                    writer.close()
                    return
                if direction == "up":
                    await asyncio.gather(queued_copy(link, reader, up_writer, name), copy(up_reader, writer))
                else:
                    await asyncio.gather(copy(reader, up_writer), queued_copy(link, up_reader, writer, name))
            return handle

        server = await asyncio.start_server(handler(), "127.0.0.1", 0)
        write_port(f"{prefix}.{name}.port", server)
        servers.append(server)
    drainer = asyncio.ensure_future(link.drain())
    with open(log, "a", buffering=1) as out:
        while True:
            await asyncio.sleep(0.5)
            for name, total in sorted(link.delivered.items()):
                out.write(f"{time.time():.3f} {name} {total}\n")


async def echo(port_file):
    async def handle(reader, writer):
        await copy(reader, writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    write_port(port_file, server)
    await asyncio.Event().wait()


async def ping(port, seconds, out_path):
    """A ping every 100 ms whatever the answers (so a long wait is sampled as often as a short
    one); each carries its send time, echoed back in order."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    start = time.monotonic()
    count = int(seconds * 10)

    async def send():
        for index in range(count):
            await asyncio.sleep(max(0, start + index * 0.1 - time.monotonic()))
            writer.write(struct.pack("!d", time.monotonic()))

    async def receive(out):
        for _ in range(count):
            sent = struct.unpack("!d", await reader.readexactly(8))[0]
            now = time.monotonic()
            out.write(f"{time.time() - (now - sent):.3f} {(now - sent) * 1000:.2f}\n")

    with open(out_path, "w", buffering=1) as out:
        try:
            await asyncio.wait_for(asyncio.gather(send(), receive(out)), seconds + 10)
        except asyncio.TimeoutError:
            pass
    writer.close()


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "count":
        asyncio.run(count(args[0], int(args[1]), args[2]))
    elif mode == "bottleneck":
        asyncio.run(bottleneck(args[0], float(args[1]), int(args[2]), args[3], args[4:]))
    elif mode == "echo":
        asyncio.run(echo(args[0]))
    elif mode == "ping":
        asyncio.run(ping(int(args[0]), float(args[1]), args[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
