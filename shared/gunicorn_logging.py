"""gunicorn's own messages ("Booting worker with pid ...") as the same JSON lines as the app's.

`logger_class = "shared.gunicorn_logging.JsonLogger"` in gunicorn.conf.py.
"""

from __future__ import annotations

import os

from gunicorn.glogging import Logger

from shared.logs import configure_logging


def service_of(app_uri: str) -> str:
    """`services.contacts.wsgi:app` -> `contacts`, `gateway.wsgi:app` -> `gateway`."""
    module = app_uri.split(":", 1)[0].removesuffix(".wsgi")
    return module.rsplit(".", 1)[-1] or "crm"


class JsonLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        service = service_of(str(cfg.proc_name or ""))
        json_lines = configure_logging(service, os.environ.get("LOG_LEVEL", "INFO"))
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(json_lines)
