"""Direction 2: python-zeroconf registers a service for `atmo discover` to find.

Usage: register_service.py NAME PORT READY_FILE STOP_FILE
Registers NAME._atmosphere._tcp.local. on 127.0.0.1 with a TXT record, creates
READY_FILE, waits (at most 120 s) for STOP_FILE to appear, then unregisters (which sends
the goodbye) and exits.
"""

import os
import socket
import sys
import time

from zeroconf import IPVersion, ServiceInfo, Zeroconf

SERVICE_TYPE = "_atmosphere._tcp.local."
name, port, ready_file, stop_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
info = ServiceInfo(
    SERVICE_TYPE,
    f"{name}.{SERVICE_TYPE}",
    addresses=[socket.inet_aton("127.0.0.1")],
    port=port,
    properties={"node_id": "py-0123456789abcd", "mesh_id": "", "capabilities": "serve", "custom": "kept"},
    server=f"{name}.local.",
)
try:
    zc.register_service(info)
    open(ready_file, "w").close()
    deadline = time.monotonic() + 120
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        time.sleep(0.1)
    zc.unregister_service(info)
finally:
    zc.close()
