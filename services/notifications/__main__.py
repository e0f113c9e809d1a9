"""`python -m services.notifications migrate | worker | revision -m MSG`."""

import sys
from pathlib import Path

from services.notifications.handlers import consumers
from services.notifications.jobs import jobs
from services.notifications.models import IdempotencyKey, InboxEvent, OutboxEvent
from shared.cli import service_main

if __name__ == "__main__":
    sys.exit(
        service_main(
            service="notifications",
            outbox_model=OutboxEvent,
            inbox_model=InboxEvent,
            idempotency_model=IdempotencyKey,
            migrations_dir=Path(__file__).parent / "migrations",
            consumers=consumers,
            jobs=jobs,
        )
    )
