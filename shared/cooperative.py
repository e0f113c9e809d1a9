"""Keeping a gevent worker responsive: CPU-heavy calls go to a real thread.

Under gunicorn's gevent worker every request of a process shares one OS thread, so a call
that computes for 100 ms (a password hash) would stall every other request and open event
stream of that process meanwhile. `off_the_loop` runs such a call on gevent's thread pool
when the process is monkey-patched (hashlib releases the GIL while it hashes), and simply
calls it otherwise (gthread workers, tests, command-line tools).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def gevent_patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("socket"))


def off_the_loop(function: Callable[..., T], *args: Any) -> T:
    if gevent_patched():
        import gevent

        return gevent.get_hub().threadpool.apply(function, args)
    return function(*args)
