"""HTTP resources of the sales service."""

from flask import current_app

from services.sales.contacts import ContactsPort


def contacts_port() -> ContactsPort:
    """The contacts service client this app was built with."""
    return current_app.extensions["contacts"]
