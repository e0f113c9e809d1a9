"""HTTP resources of the billing service, and the ports the app was built with."""

from flask import current_app

from services.billing.domain.pdf import Seller
from services.billing.ports.clock import Clock
from services.billing.ports.sales import SalesPort


def sales_port() -> SalesPort:
    return current_app.extensions["sales"]


def clock() -> Clock:
    return current_app.extensions["clock"]


def terms_days() -> int:
    return current_app.extensions["payment_terms_days"]


def seller() -> Seller:
    return current_app.extensions["seller"]
