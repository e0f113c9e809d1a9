"""`/healthz` (alive) and `/readyz` (dependencies reachable) for web and worker processes.

A worker's probe server also serves its Prometheus metrics at `/metrics`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from shared.metrics import exposition

Check = Callable[[], bool]


def run_checks(checks: dict[str, Check]) -> tuple[bool, dict[str, str]]:
    results = {}
    for name, check in checks.items():
        try:
            results[name] = "ok" if check() else "unavailable"
        except Exception:
            results[name] = "unavailable"
    return all(v == "ok" for v in results.values()), results


def serve_health(
    host: str, port: int, alive: Check, ready: dict[str, Check]
) -> ThreadingHTTPServer:
    """A tiny HTTP server for a worker process's probes, on its own daemon thread."""

    class Probe(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/metrics":
                self.send_metrics()
                return
            if self.path == "/healthz":
                ok, body = alive(), {"status": "ok" if alive() else "failing"}
            elif self.path == "/readyz":
                ok, checks = run_checks(ready)
                body = {"status": "ok" if ok else "unavailable", "checks": checks}
            else:
                ok, body = False, {"status": "not found"}
            payload = json.dumps(body).encode()
            self.send_response(200 if ok else (404 if body["status"] == "not found" else 503))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def send_metrics(self):
            payload, content_type = exposition()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, port), Probe)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
