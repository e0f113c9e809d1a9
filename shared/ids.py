"""Time-ordered string ids (UUIDv7): sortable by creation, safe to make anywhere."""

from uuid6 import uuid7


def new_id() -> str:
    return str(uuid7())
