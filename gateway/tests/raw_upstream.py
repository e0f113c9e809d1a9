"""A stand-in service that speaks HTTP/1.1 by hand, so tests see the wire as the gateway sent it.

Each request is recorded with its headers as sent (lower-cased names), its body as received
(de-chunked) and whether it came chunked; each TCP connection is counted. `answer` writes the
response for one request on the connection; by default a 200 with a short JSON body.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Recorded:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    chunked: bool
    connection: int
    all_headers: list[tuple[str, str]] = field(default_factory=list)


def ok(_request: Recorded, connection: socket.socket) -> None:
    body = b'{"ok": true}'
    connection.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


class RawUpstream:
    def __init__(self, answer: Callable[[Recorded, socket.socket], None] = ok) -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.requests: list[Recorded] = []
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            self.open.append(connection)
            args = (connection, self.connections)
            threading.Thread(target=self._serve, args=args, daemon=True).start()

    def _serve(self, connection: socket.socket, number: int) -> None:
        stream = connection.makefile("rb")
        try:
            while True:
                request_line = stream.readline()
                if not request_line:
                    return
                method, target, _ = request_line.decode("latin-1").split(" ", 2)
                pairs = []
                while (line := stream.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    pairs.append((name.strip().lower(), value.strip()))
                headers = dict(pairs)
                chunked = "chunked" in headers.get("transfer-encoding", "").lower()
                body = _chunked_body(stream) if chunked else _sized_body(stream, headers)
                recorded = Recorded(method, target, headers, body, chunked, number, pairs)
                self.requests.append(recorded)
                self.answer(recorded, connection)
        except OSError:
            return
        finally:
            stream.close()
            connection.close()

    def close(self) -> None:
        self.listener.close()
        for connection in self.open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


def _sized_body(stream, headers: dict[str, str]) -> bytes:
    return stream.read(int(headers.get("content-length") or 0))


def _chunked_body(stream) -> bytes:
    body = b""
    while True:
        size = int(stream.readline().split(b";")[0], 16)
        if size == 0:
            while stream.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return body
        body += stream.read(size)
        stream.readline()
