"""data model names: lead name and phone_number, free-text sources, product type good

Revision ID: 2849d9033bf4
Revises: c7071dfc61c2
Create Date: 2026-12-02 10:00:00.000000

Moves the data, keeps it:

- leads: `name` = first_name and last_name (each trimmed) joined by one space, or just
  last_name when first_name is null or blank; first_name and last_name are dropped; `phone`
  is renamed `phone_number`; `lead_source` is widened to 100 characters (free text now;
  stored values are kept as they are, `web` included).
- opportunities: a new nullable `source` (free text, 100).
- products: `type` 'product' becomes 'good' (the model's name).

On SQLite, changing `leads` (and, going down, `opportunities`) rebuilds the table (batch
mode: copy, drop, rename). With `PRAGMA foreign_keys=ON` (set on every connection by
shared.db.make_engine) dropping the old table would fail on opportunities that point at a
lead, and dropping `opportunities` would silently delete its line items and stage history
(ON DELETE CASCADE). So, as SQLite's own procedure for table changes says, foreign keys are
off during the rebuild (shared.migrations.run_migrations does that; see
`_sqlite_foreign_keys_off` for any other runner) and `PRAGMA foreign_key_check` must come back
empty. The partial unique index `uq_leads_open_email` is dropped before and created after
explicitly, so that it keeps its WHERE clause whatever reflection makes of it.

downgrade() reverses it: `name` is split at its first space (no space: all of it is the
last_name), each part cut to 100 characters; `lead_source` is cut to 30; opportunities lose
`source`; products of type 'good' become 'product' again.
"""

from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "2849d9033bf4"
down_revision = "c7071dfc61c2"
branch_labels = None
depends_on = None

OPEN_EMAIL_WHERE = "status IN ('new', 'contacted', 'qualified')"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


@contextmanager
def _sqlite_foreign_keys_off():
    """On SQLite, make sure foreign keys are off for the table rebuild, and check them after.

    shared.migrations.run_migrations already runs SQLite migrations with them off. Run any
    other way, with them enforced, this migration switches them off itself (outside a
    transaction, where the pragma takes effect) and on again after.
    """
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    enforced = sqlite and bool(bind.exec_driver_sql("PRAGMA foreign_keys").scalar())
    if enforced:
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=OFF")
    yield  # no try/finally: on an error the transaction must roll back, not be committed here
    if sqlite:
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left dangling references: {broken[:10]}")
    if enforced:
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=ON")


def _drop_open_email_index() -> None:
    op.drop_index("uq_leads_open_email", table_name="leads")


def _create_open_email_index() -> None:
    op.create_index(
        "uq_leads_open_email",
        "leads",
        ["email"],
        unique=True,
        sqlite_where=sa.text(OPEN_EMAIL_WHERE),
        postgresql_where=sa.text(OPEN_EMAIL_WHERE),
    )


def upgrade() -> None:
    with _sqlite_foreign_keys_off():
        _drop_open_email_index()
        op.add_column("leads", sa.Column("name", sa.String(length=201), nullable=True))
        op.execute(
            """
            UPDATE leads SET name = CASE
                WHEN first_name IS NULL OR TRIM(first_name) = '' THEN TRIM(last_name)
                ELSE TRIM(TRIM(first_name) || ' ' || TRIM(last_name))
            END
            """
        )
        with op.batch_alter_table("leads") as batch_op:
            batch_op.alter_column("name", existing_type=sa.String(length=201), nullable=False)
            batch_op.alter_column(
                "phone", new_column_name="phone_number", existing_type=sa.String(length=50)
            )
            batch_op.alter_column(
                "lead_source",
                type_=sa.String(length=100),
                existing_type=sa.String(length=30),
                existing_nullable=True,
            )
            batch_op.drop_column("first_name")
            batch_op.drop_column("last_name")
        _create_open_email_index()

        op.add_column("opportunities", sa.Column("source", sa.String(length=100), nullable=True))
        op.execute("UPDATE products SET type = 'good' WHERE type = 'product'")


def downgrade() -> None:
    name = "TRIM(name)"
    space = f"instr({name}, ' ')" if _sqlite() else f"strpos({name}, ' ')"
    with _sqlite_foreign_keys_off():
        op.execute("UPDATE products SET type = 'product' WHERE type = 'good'")
        with op.batch_alter_table("opportunities") as batch_op:
            batch_op.drop_column("source")

        _drop_open_email_index()
        op.add_column("leads", sa.Column("first_name", sa.String(length=100), nullable=True))
        op.add_column("leads", sa.Column("last_name", sa.String(length=100), nullable=True))
        op.execute(
            f"""
            UPDATE leads SET
                first_name = CASE WHEN {space} > 0
                    THEN substr(substr({name}, 1, {space} - 1), 1, 100) END,
                last_name = CASE WHEN {space} > 0
                    THEN substr(TRIM(substr({name}, {space} + 1)), 1, 100)
                    ELSE substr({name}, 1, 100) END,
                lead_source = substr(lead_source, 1, 30)
            """
        )
        with op.batch_alter_table("leads") as batch_op:
            batch_op.alter_column("last_name", existing_type=sa.String(length=100), nullable=False)
            batch_op.alter_column(
                "phone_number", new_column_name="phone", existing_type=sa.String(length=50)
            )
            batch_op.alter_column(
                "lead_source",
                type_=sa.String(length=30),
                existing_type=sa.String(length=100),
                existing_nullable=True,
            )
            batch_op.drop_column("name")
        _create_open_email_index()
