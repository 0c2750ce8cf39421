"""A configured peer of the dashboard suite that never answers whole: every request gets a
200 head with `Content-Length: 4000`, then one body byte every 2 s until the client hangs up
(4000 would take over two hours). A node probing its `/health` gets no whole answer within
the probe's deadline: `/v1/mesh/peers` says `probe_error: "timeout"` for its address.

Run by run.sh as its own process: `trickler.py PORT_FILE` listens on 127.0.0.1 at a port
the OS picks, writes that port to PORT_FILE, and serves until TERM.
"""

import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INTERVAL = 2.0
DECLARED = 4000


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(DECLARED))
        self.end_headers()
        try:
            self.wfile.write(b"{")
            self.wfile.flush()
            for _ in range(DECLARED - 1):
                time.sleep(INTERVAL)  # the trickle's pace, not a wait for readiness
                self.wfile.write(b" ")
                self.wfile.flush()
        except OSError:
            pass  # the client gave up: what a trickler is for
        self.close_connection = True

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Written whole, then renamed: run.sh never reads half a port.
    with open(sys.argv[1] + ".tmp", "w") as port_file:
        port_file.write(str(server.server_address[1]))
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
