"""A Server-Sent Events client for tests: reads a stream on a thread, frame by frame."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

import requests

from shared.testing.helpers import eventually


class SSEClient:
    """`GET url` as an EventSource would; `frames` fill up as they arrive (with arrival times)."""

    def __init__(self, url: str, headers: dict | None = None, read_timeout: float = 30) -> None:
        self.response = requests.get(
            url,
            headers={**(headers or {}), "Accept": "text/event-stream"},
            stream=True,
            timeout=(3, read_timeout),
        )
        self.frames: list[dict[str, Any]] = []
        self.comments: list[str] = []
        self.ended = threading.Event()
        if self.response.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.ended.set()

    def _read(self) -> None:
        buffer = ""
        try:
            for chunk in self.response.iter_content(chunk_size=None, decode_unicode=True):
                buffer += chunk
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    self._take(block)
        except (requests.RequestException, OSError, AttributeError, ValueError):
            pass  # closed by the test or by the server
        finally:
            self.ended.set()

    def _take(self, block: str) -> None:
        frame: dict[str, Any] = {"received_at": time.time()}
        for line in block.split("\n"):
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            frame[name] = value.removeprefix(" ")
        if "data" in frame:
            frame["json"] = json.loads(frame["data"])
        self.frames.append(frame)

    def notifications(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("event") == "notification"]

    def wait_for_notifications(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The notification frames once there are at least `count`; fail after `timeout`."""

        def arrived() -> list[dict[str, Any]]:
            frames = self.notifications()
            return frames if len(frames) >= count else []

        return eventually(arrived, timeout)

    def wait_until_connected(self, timeout: float = 30.0) -> None:
        eventually(lambda: any("retry" in f for f in self.frames), timeout)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.response.close()
