"""The contacts service's application factory."""

from __future__ import annotations

from flask import Flask

from services.contacts.api import (
    attachments,
    companies,
    contacts,
    conversions,
    interactions,
    taggings,
    tags,
)
from services.contacts.domain.conversions import CONVERSIONS_SCOPE
from services.contacts.models import IdempotencyKey
from services.contacts.ports.records import HttpRecords, RecordsPort
from services.contacts.ports.support import HttpSupport, SupportPort
from services.contacts.storage import Storage, storage_from_settings
from shared.config import Settings
from shared.credentials import Credentials
from shared.db import Database
from shared.idempotency import register_idempotency
from shared.users import HttpUserDirectory, UserDirectory
from shared.web import create_base_app

SERVICE = "contacts"


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    credentials: Credentials | None = None,
    users: UserDirectory | None = None,
    support: SupportPort | None = None,
    records: RecordsPort | None = None,
    storage: Storage | None = None,
) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    database = database or Database(settings.database_url)
    app = create_base_app(
        __name__,
        settings,
        database,
        title="CRM contacts service",
        blueprints=(
            companies.blp,
            contacts.blp,
            interactions.blp,
            conversions.blp,
            tags.blp,
            taggings.blp,
            attachments.blp,
        ),
        credentials=credentials,
        service_scopes={
            "conversions.Conversions": CONVERSIONS_SCOPE,
            "conversions.ConversionByLead": CONVERSIONS_SCOPE,
        },
    )
    # An upload's multipart body may hold a whole file; everything else keeps the usual limit.
    app.config["BODY_LIMITS"]["attachments.Attachments"] = settings.upload_max_bytes
    register_idempotency(app, IdempotencyKey)
    app.extensions["users"] = users or HttpUserDirectory(
        settings.users_url, app.extensions["credentials"], settings.http_timeout
    )
    app.extensions["support"] = support or HttpSupport(
        settings.support_url, app.extensions["credentials"], settings.http_timeout
    )
    owners = {
        "sales": settings.sales_url,
        "support": settings.support_url,
        "billing": settings.billing_url,
    }
    app.extensions["records"] = records or HttpRecords(
        owners, app.extensions["credentials"], settings.http_timeout
    )
    app.extensions["storage"] = storage or storage_from_settings(
        settings.extra, settings.extra.get("CRM_VAR_DIR", "var")
    )
    return app
