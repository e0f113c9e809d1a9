"""The sales service's application factory."""

from __future__ import annotations

from flask import Flask

from services.sales.api import campaigns, leads, opportunities, products, reports
from services.sales.contacts import ContactsPort, HttpContacts
from services.sales.models import IdempotencyKey
from shared.config import Settings
from shared.credentials import Credentials
from shared.db import Database
from shared.idempotency import register_idempotency
from shared.users import HttpUserDirectory, UserDirectory
from shared.web import create_base_app

SERVICE = "sales"


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    credentials: Credentials | None = None,
    users: UserDirectory | None = None,
    contacts: ContactsPort | None = None,
) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    database = database or Database(settings.database_url)
    app = create_base_app(
        __name__,
        settings,
        database,
        title="CRM sales service",
        blueprints=(campaigns.blp, leads.blp, opportunities.blp, products.blp, reports.blp),
        credentials=credentials,
    )
    register_idempotency(app, IdempotencyKey)
    app.extensions["users"] = users or HttpUserDirectory(
        settings.users_url, app.extensions["credentials"], settings.http_timeout
    )
    app.extensions["contacts"] = contacts or HttpContacts(
        settings.contacts_url,
        app.extensions["credentials"],
        settings.http_timeout,
    )
    return app
