"""The support service's application factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask

from services.support.api import cases, reports
from services.support.domain.sla import SlaPolicy, policy_from_env
from services.support.models import IdempotencyKey
from services.support.ports.contacts import ContactsPort, HttpContacts
from shared.config import Settings
from shared.credentials import Credentials
from shared.db import Database, utcnow
from shared.idempotency import register_idempotency
from shared.users import HttpUserDirectory, UserDirectory
from shared.web import create_base_app

SERVICE = "support"


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    credentials: Credentials | None = None,
    users: UserDirectory | None = None,
    contacts: ContactsPort | None = None,
    sla: SlaPolicy | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    database = database or Database(settings.database_url)
    app = create_base_app(
        __name__,
        settings,
        database,
        title="CRM support service",
        blueprints=(cases.blp, reports.blp),
        credentials=credentials,
    )
    register_idempotency(app, IdempotencyKey)
    app.extensions["users"] = users or HttpUserDirectory(
        settings.users_url, app.extensions["credentials"], settings.http_timeout
    )
    app.extensions["contacts"] = contacts or HttpContacts(
        settings.contacts_url, app.extensions["credentials"], settings.http_timeout
    )
    app.extensions["sla"] = sla or policy_from_env(settings.extra)
    app.extensions["clock"] = clock
    return app
