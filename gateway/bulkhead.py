"""At most so many requests in flight to one upstream; the next ones wait briefly, then give up.

A slow service then ties up only its own share of the gateway's workers (greenlets or threads),
and a request it cannot take is turned away at once instead of piling up behind the others.

Waiting uses `threading` primitives, which gunicorn's gevent worker monkey-patches: a waiting
request is a parked greenlet, and the process goes on serving other requests. Every wait has a
finite timeout, so a slot that is never released cannot park a greenlet (or a thread) forever.
"""

from __future__ import annotations

import math
import threading


class Slot:
    """One request's place in a bulkhead, held until `release` (which is safe to call twice)."""

    def __init__(self, semaphore: threading.BoundedSemaphore) -> None:
        self._semaphore: threading.BoundedSemaphore | None = semaphore

    def release(self) -> None:
        semaphore, self._semaphore = self._semaphore, None
        if semaphore is not None:
            semaphore.release()


class Bulkhead:
    """`capacity` slots; `enter` waits up to `queue_timeout` seconds for one."""

    def __init__(self, capacity: int, queue_timeout: float) -> None:
        if capacity < 1:
            raise ValueError(f"a bulkhead needs at least one slot, not {capacity}")
        if not math.isfinite(queue_timeout) or queue_timeout < 0:
            raise ValueError(f"the queue timeout must be finite and >= 0, not {queue_timeout}")
        self.capacity = capacity
        self.queue_timeout = queue_timeout
        self._semaphore = threading.BoundedSemaphore(capacity)

    def enter(self) -> Slot | None:
        """A slot, or None when none came free within the queue timeout."""
        if not self._semaphore.acquire(timeout=self.queue_timeout):
            return None
        return Slot(self._semaphore)
