"""The notifications service's application factory."""

from __future__ import annotations

from flask import Flask

from services.notifications.api import notifications
from services.notifications.listener import live_streams
from services.notifications.models import IdempotencyKey
from services.notifications.stream import StreamConfig
from shared.config import Settings
from shared.credentials import Credentials
from shared.db import Database
from shared.idempotency import register_idempotency
from shared.web import create_base_app

SERVICE = "notifications"


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    credentials: Credentials | None = None,
) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    database = database or Database(settings.database_url)
    app = create_base_app(
        __name__,
        settings,
        database,
        title="CRM notifications service",
        blueprints=(notifications.blp,),
        credentials=credentials,
    )
    # A replayed ticket would be a used one, and its plaintext would be stored with the key.
    register_idempotency(app, IdempotencyKey, skip_endpoints={notifications.TICKET_ENDPOINT})
    app.config["PUBLIC_ENDPOINTS"] = {notifications.STREAM_ENDPOINT}  # it authenticates itself
    app.extensions["api"].spec.components.security_scheme(
        "streamTicket", {"type": "apiKey", "in": "query", "name": "ticket"}
    )
    app.extensions["stream"] = StreamConfig.from_settings(settings)
    # On PostgreSQL, its listener starts with the process's first stream.
    listen_url = settings.extra.get("CRM_SSE_LISTEN_URL")
    app.extensions["fanout"] = live_streams(database, listen_url)
    return app
