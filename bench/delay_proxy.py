#!/usr/bin/env python3
"""A TCP proxy that adds latency but not a bandwidth limit, for machines whose kernel has no
netem: every chunk read from one side is written to the other `delay_ms / 2` later (so a
round trip gets `delay_ms` more), in order, without waiting for the previous chunk's delay.

Usage: delay_proxy.py PORT_FILE TARGET_HOST TARGET_PORT DELAY_MS
Listens on 127.0.0.1 on a port from the OS and writes it to PORT_FILE.
"""
import asyncio
import sys
import time

CHUNK = 256 * 1024
QUEUE = 256  # chunks in flight per direction (bounds memory at 64 MiB per direction)


async def pump(reader, writer, one_way):
    queue = asyncio.Queue(QUEUE)

    async def read_side():
        while True:
            data = await reader.read(CHUNK)
            await queue.put((time.monotonic() + one_way, data))
            if not data:
                return

    async def write_side():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                writer.write_eof() if writer.can_write_eof() else writer.close()
                return
            writer.write(data)
            await writer.drain()

    try:
        await asyncio.gather(read_side(), write_side())
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main():
    port_file, host, port, delay_ms = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    one_way = delay_ms / 2000.0

    async def handle(client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pump(client_reader, upstream_writer, one_way), pump(upstream_reader, client_writer, one_way))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    with open(port_file + ".tmp", "w") as out:
        out.write(str(server.sockets[0].getsockname()[1]))
    import os
    os.rename(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()


asyncio.run(main())
