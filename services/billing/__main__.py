"""`python -m services.billing migrate | worker | revision -m MSG`."""

import sys
from pathlib import Path

from services.billing.handlers import consumers
from services.billing.jobs import jobs
from services.billing.models import IdempotencyKey, InboxEvent, OutboxEvent
from shared.cli import service_main

if __name__ == "__main__":
    sys.exit(
        service_main(
            service="billing",
            outbox_model=OutboxEvent,
            inbox_model=InboxEvent,
            idempotency_model=IdempotencyKey,
            migrations_dir=Path(__file__).parent / "migrations",
            consumers=consumers,
            jobs=jobs,
        )
    )
