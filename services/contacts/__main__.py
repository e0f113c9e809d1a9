"""`python -m services.contacts migrate | worker | revision -m MSG`."""

import sys
from pathlib import Path

from services.contacts.handlers import consumers
from services.contacts.jobs import jobs
from services.contacts.models import IdempotencyKey, InboxEvent, OutboxEvent
from shared.cli import service_main

if __name__ == "__main__":
    sys.exit(
        service_main(
            service="contacts",
            outbox_model=OutboxEvent,
            inbox_model=InboxEvent,
            idempotency_model=IdempotencyKey,
            migrations_dir=Path(__file__).parent / "migrations",
            consumers=consumers,
            jobs=jobs,
        )
    )
