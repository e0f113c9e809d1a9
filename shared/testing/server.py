"""A real HTTP server on loopback for one WSGI app, in a background thread."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server


class ThreadServer:
    def __init__(self, app, port: int) -> None:
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
