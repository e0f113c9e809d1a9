"""A stand-in service for gateway tests: GET /api/v1/<anything> answers JSON 200.

`python -m gateway.tests.upstream_app NAME PORT` serves it on 127.0.0.1 from this one process,
so that a test can stop it with SIGSTOP. GET /seen (outside /api/v1) lists the paths it was sent.
"""

from __future__ import annotations

import json
import sys

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler


class Server(ThreadedWSGIServer):
    request_queue_size = 1024  # a burst of connections waits in the backlog, not refused


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args) -> None:
        pass


def make_app(name: str):
    seen: list[str] = []

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/seen":
            status, body = "200 OK", {"seen": list(seen)}
        elif path.startswith("/api/v1/") and environ["REQUEST_METHOD"] == "GET":
            seen.append(path)
            status, body = "200 OK", {"service": name, "path": path}
        else:
            status, body = "404 Not Found", {"detail": "no such path"}
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json")])
        return [data]

    return app


def main(argv: list[str]) -> None:
    name, port = argv
    Server("127.0.0.1", int(port), make_app(name), handler=QuietHandler).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
