"""Is this process shutting down? Long-lived responses (event streams) ask, and end early.

gunicorn stops taking new connections on SIGTERM and waits up to `graceful_timeout` for the
open ones. An event stream would keep its connection for minutes, so streams check
`stopping()` between polls and end at once; the client reconnects to a process that stays
(with `Last-Event-ID`, so nothing is lost). gunicorn.conf.py's `post_worker_init` hook
connects this to the worker's own flag; elsewhere (tests, the dev server) it is never set.
"""

from __future__ import annotations

from collections.abc import Callable

_check: Callable[[], bool] = lambda: False  # noqa: E731


def watch(check: Callable[[], bool]) -> None:
    """Use `check` to tell whether the process is shutting down."""
    global _check
    _check = check


def stopping() -> bool:
    return _check()
