"""gunicorn entry point: `gunicorn services.support.wsgi:app`."""

from services.support.app import create_app

app = create_app()
