"""The case workflow: new -> open -> pending <-> open -> resolved -> closed; resolved may reopen."""

from __future__ import annotations

from shared.errors import Conflict

#: status -> the statuses a case may move to from it.
MOVES: dict[str, tuple[str, ...]] = {
    "new": ("open",),
    "open": ("pending", "resolved"),
    "pending": ("open",),
    "resolved": ("open", "closed"),
    "closed": (),
}


def check_move(*, current: str, target: str) -> None:
    """Conflict (409) naming the allowed moves unless `current` may become `target`."""
    allowed = MOVES[current]
    if target in allowed:
        return
    if allowed:
        detail = f"A {current} case may move to {', '.join(allowed)}, not to {target}."
    else:
        detail = f"A {current} case cannot change status."
    raise Conflict(detail, status_now=current, allowed=list(allowed))
