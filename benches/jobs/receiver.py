#!/usr/bin/env python3
"""Webhook receivers for the bench: one threaded HTTP server per port given, answering every
POST with 204 and counting them (printed on SIGTERM). Loopback only; stops when killed."""
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {}


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        port = self.server.server_address[1]
        counts[port] = counts.get(port, 0) + 1
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


servers = [ThreadingHTTPServer(("127.0.0.1", int(p)), Receiver) for p in sys.argv[1:]]
for server in servers:
    threading.Thread(target=server.serve_forever, daemon=True).start()


def stop(*_):
    print("received:", sum(counts.values()), counts, flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
signal.pause()
