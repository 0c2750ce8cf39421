"""An older Atmosphere node, as the Python ones answer: `/health` without `node_id` or
`node_name`, `/v1/models`, no `/v1/catalogs`; found on the LAN through python-zeroconf with
the TXT keys `node_id`, `mesh_id`, `capabilities` (PROTOCOL-NOTES §5).

Usage: older_node.py NODE_ID INSTANCE_NAME READY_FILE STOP_FILE
Serves on 127.0.0.1 (a port the OS picks), registers INSTANCE_NAME._atmosphere._tcp.local.,
creates READY_FILE, and stops (unregistering) when STOP_FILE appears (at most 300 s).
"""

import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from zeroconf import IPVersion, ServiceInfo, Zeroconf

node_id, instance, ready_file, stop_file = sys.argv[1:5]
MODEL = {
    "model_id": "older-model.gguf", "name": "older model", "type": "llm", "format": "gguf",
    "size_bytes": 5, "sha256": "a" * 64, "capabilities": ["chat"], "source_ref": "local",
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        port = self.server.server_address[1]
        if self.path == "/health":
            self.answer(200, {"status": "ok", "models_available": 1, "http_port": port})
        elif self.path == "/v1/models":
            self.answer(200, {"models": [MODEL]})
        else:
            self.answer(404, {"error": "Not found"})

    def do_POST(self):
        self.answer(404, {"error": "Not found"})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
port = server.server_address[1]
zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
info = ServiceInfo(
    "_atmosphere._tcp.local.", f"{instance}._atmosphere._tcp.local.", addresses=[socket.inet_aton("127.0.0.1")],
    port=port, properties={"node_id": node_id, "mesh_id": "", "capabilities": "models"}, server=f"{instance}.local.")
try:
    zc.register_service(info)
    open(ready_file, "w").close()
    deadline = time.monotonic() + 300
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        time.sleep(0.1)
    zc.unregister_service(info)
finally:
    zc.close()
    server.shutdown()
