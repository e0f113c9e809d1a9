"""`python -m services.sales migrate | worker | revision -m MSG`."""

import sys
from pathlib import Path

from services.sales.handlers import consumers
from services.sales.models import IdempotencyKey, InboxEvent, OutboxEvent
from shared.cli import service_main

if __name__ == "__main__":
    sys.exit(
        service_main(
            service="sales",
            outbox_model=OutboxEvent,
            inbox_model=InboxEvent,
            idempotency_model=IdempotencyKey,
            migrations_dir=Path(__file__).parent / "migrations",
            consumers=consumers,
        )
    )
