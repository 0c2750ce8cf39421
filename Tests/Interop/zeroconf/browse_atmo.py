"""Direction 1: python-zeroconf browses for the service `atmo discover --advertise` registers.

Usage: browse_atmo.py NAME PORT NODE_ID ATMO_PID
Finds NAME._atmosphere._tcp.local., checks its SRV port, TXT and address, then sends
SIGTERM to ATMO_PID and waits for the goodbye (the service's removal).
Prints one line per check ("ok - ..." or "FAIL - ...") and exits 1 if any failed.
"""

import os
import signal
import sys
import threading
import time

from zeroconf import IPVersion, ServiceBrowser, ServiceListener, Zeroconf

SERVICE_TYPE = "_atmosphere._tcp.local."
name, port, node_id, atmo_pid = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
full_name = f"{name}.{SERVICE_TYPE}"
failures = 0


def check(condition, what):
    global failures
    print(("ok - " if condition else "FAIL - ") + what, flush=True)
    if not condition:
        failures += 1


class Listener(ServiceListener):
    def __init__(self):
        self.added = threading.Event()
        self.removed = threading.Event()

    def add_service(self, zc, type_, service_name):
        if service_name == full_name:
            self.added.set()

    def update_service(self, zc, type_, service_name):
        pass

    def remove_service(self, zc, type_, service_name):
        if service_name == full_name:
            self.removed.set()


zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
listener = Listener()
browser = ServiceBrowser(zc, SERVICE_TYPE, listener)
try:
    check(listener.added.wait(15), f"zeroconf ServiceBrowser saw {full_name}")
    info = zc.get_service_info(SERVICE_TYPE, full_name, timeout=5000)
    check(info is not None, "zeroconf resolved its SRV, TXT and A records")
    if info is not None:
        txt = {k.decode(): (v.decode() if v is not None else None) for k, v in info.properties.items()}
        print(f"   resolved: server={info.server} port={info.port} addresses={info.parsed_addresses()} txt={txt}")
        check(info.port == port, f"SRV port is {port}")
        check(info.server == f"atmo-{name}.local.", f"SRV target is atmo-{name}.local.")
        check("127.0.0.1" in info.parsed_addresses(), "A record has 127.0.0.1")
        expected = {
            "node_id": node_id,
            "mesh_id": "mesh-1",
            "capabilities": "serve,relay",
            "http_port": str(port),
            "protocol_version": "1.1",
            "node_name": name,
            "extra": "x y",
        }
        check(txt == expected, f"TXT is {expected}")
    os.kill(atmo_pid, signal.SIGTERM)
    started = time.monotonic()
    removed = listener.removed.wait(10)
    check(removed, "zeroconf saw the goodbye when atmo stopped on SIGTERM "
          f"(after {time.monotonic() - started:.2f} s)")
finally:
    browser.cancel()
    zc.close()
sys.exit(1 if failures else 0)
