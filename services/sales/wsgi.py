"""gunicorn entry point: `gunicorn services.sales.wsgi:app`."""

from services.sales.app import create_app

app = create_app()
