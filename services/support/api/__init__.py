"""HTTP resources of the support service."""

from collections.abc import Callable
from datetime import datetime

from flask import current_app

from services.support.domain.sla import SlaPolicy
from services.support.ports.contacts import ContactsPort


def contacts_port() -> ContactsPort:
    """The contacts service client this app was built with."""
    return current_app.extensions["contacts"]


def sla_policy() -> SlaPolicy:
    """The SLA targets and business calendar this app was built with."""
    return current_app.extensions["sla"]


def clock() -> Callable[[], datetime]:
    """The clock this app reads (a test passes its own)."""
    return current_app.extensions["clock"]
