"""The billing service's application factory."""

from __future__ import annotations

import os

from flask import Flask

from services.billing.api import invoices, items, reports
from services.billing.domain.pdf import Seller
from services.billing.domain.terms import terms_days
from services.billing.models import IdempotencyKey
from services.billing.ports.clock import Clock, SystemClock
from services.billing.ports.sales import HttpSales, SalesPort
from shared.config import Settings
from shared.credentials import Credentials
from shared.db import Database
from shared.idempotency import register_idempotency
from shared.web import create_base_app

SERVICE = "billing"
DEFAULT_SALES_URL = "http://127.0.0.1:8002"


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    credentials: Credentials | None = None,
    sales: SalesPort | None = None,
    clock: Clock | None = None,
) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    database = database or Database(settings.database_url)
    app = create_base_app(
        __name__,
        settings,
        database,
        title="CRM billing service",
        blueprints=(invoices.blp, items.blp, reports.blp),
        credentials=credentials,
    )
    register_idempotency(app, IdempotencyKey)
    app.extensions["sales"] = sales or HttpSales(
        os.environ.get("SALES_URL", DEFAULT_SALES_URL),
        app.extensions["credentials"],
        settings.http_timeout,
    )
    app.extensions["clock"] = clock or SystemClock()
    app.extensions["payment_terms_days"] = terms_days(settings.extra)
    app.extensions["seller"] = Seller.from_settings(settings.extra)
    return app
