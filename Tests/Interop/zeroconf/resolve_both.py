"""Direction 3: after a name conflict, python-zeroconf resolves both instances.

Usage: resolve_both.py NAME PORT RENAMED RENAMED_PORT
Resolves NAME._atmosphere._tcp.local. and RENAMED._atmosphere._tcp.local. with a fresh
Zeroconf instance (retrying for up to 10 s) and checks each one's SRV port; prints one
`ok - ...` or `FAIL - ...` line per instance.
"""

import sys
import time

from zeroconf import IPVersion, ServiceBrowser, ServiceListener, Zeroconf

SERVICE_TYPE = "_atmosphere._tcp.local."
name, port, renamed, renamed_port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])


class Names(ServiceListener):
    def __init__(self):
        self.names = set()

    def add_service(self, zc, type_, name):
        self.names.add(name)

    def update_service(self, zc, type_, name):
        self.names.add(name)

    def remove_service(self, zc, type_, name):
        self.names.discard(name)


zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
listener = Names()
browser = ServiceBrowser(zc, SERVICE_TYPE, listener)
status = 0
try:
    for instance, expected_port in ((name, port), (renamed, renamed_port)):
        full = f"{instance}.{SERVICE_TYPE}"
        deadline = time.monotonic() + 10
        info = None
        while time.monotonic() < deadline:
            info = zc.get_service_info(SERVICE_TYPE, full, timeout=1000)
            if info is not None and info.port == expected_port and full in listener.names:
                break
            time.sleep(0.2)
        if info is not None and info.port == expected_port and full in listener.names:
            txt = {k.decode(): (v or b"").decode() for k, v in info.properties.items()}
            print(f"ok - zeroconf browses and resolves '{instance}' (port {info.port}, node_id {txt.get('node_id')})")
        else:
            got = f"port {info.port}" if info is not None else "nothing"
            print(f"FAIL - zeroconf did not resolve '{instance}' on port {expected_port} (got {got}; browsed {sorted(listener.names)})")
            status = 1
finally:
    browser.cancel()
    zc.close()
sys.exit(status)
