"""gunicorn entry point: `gunicorn services.contacts.wsgi:app`."""

from services.contacts.app import create_app

app = create_app()
