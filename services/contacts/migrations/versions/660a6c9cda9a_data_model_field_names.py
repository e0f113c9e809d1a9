"""data model field names: street, phone_number, state, postal_code; one contact name;
interaction_date, outcome, case_id; subject optional

Revision ID: 660a6c9cda9a
Revises: d05b3a909186
Create Date: 2026-11-27 10:00:00.000000

Moves the data, it does not drop it: a contact's `name` is first_name and last_name, each
trimmed, joined by one space (just last_name when first_name is null or empty); the renamed
columns keep their values. On SQLite every altered table is copied (batch mode);
shared.migrations turns foreign keys off meanwhile, so the copy of `contacts` does not
cascade into interactions.
"""

import sqlalchemy as sa
from alembic import op

revision = "660a6c9cda9a"
down_revision = "d05b3a909186"
branch_labels = None
depends_on = None

#: Wide enough for any old first_name (100) + " " + last_name (100); the API takes 1..200.
NAME_LENGTH = 201
OLD_NAME_LENGTH = 100


def upgrade() -> None:
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.alter_column(
            "address",
            new_column_name="street",
            existing_type=sa.String(length=500),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "phone",
            new_column_name="phone_number",
            existing_type=sa.String(length=50),
            existing_nullable=True,
        )
        batch_op.add_column(sa.Column("state", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("postal_code", sa.String(length=20), nullable=True))

    op.drop_index("ix_contacts_last_name", table_name="contacts")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=NAME_LENGTH), nullable=True))
    joined = "TRIM(COALESCE(TRIM(first_name), '') || ' ' || TRIM(last_name))"
    # A last_name of blanks only (the old API allowed it) is kept as it was, never emptied.
    op.execute(
        f"UPDATE contacts SET name = CASE WHEN {joined} = '' THEN last_name ELSE {joined} END"
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.alter_column(
            "name", existing_type=sa.String(length=NAME_LENGTH), nullable=False
        )
        batch_op.alter_column(
            "phone",
            new_column_name="phone_number",
            existing_type=sa.String(length=50),
            existing_nullable=True,
        )
        batch_op.drop_column("first_name")
        batch_op.drop_column("last_name")
    op.create_index("ix_contacts_name", "contacts", ["name", "id"], unique=False)

    op.drop_index("ix_interactions_occurred", table_name="interactions")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.alter_column(
            "occurred_at",
            new_column_name="interaction_date",
            existing_type=sa.DateTime(timezone=True),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "subject", existing_type=sa.String(length=200), nullable=True
        )
        batch_op.add_column(sa.Column("case_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=500), nullable=True))
    op.create_index(
        "ix_interactions_interaction_date",
        "interactions",
        ["interaction_date", "id"],
        unique=False,
    )
    op.create_index(
        "ix_interactions_case", "interactions", ["case_id", "created_at", "id"], unique=False
    )


def downgrade() -> None:
    """Back to the old columns. Lossy where the old shape has no room: state, postal_code,
    outcome and case_id are dropped; the whole name goes into last_name (cut at 100
    characters); an interaction without a subject gets its outcome (cut at 200) or its type."""
    op.drop_index("ix_interactions_case", table_name="interactions")
    op.drop_index("ix_interactions_interaction_date", table_name="interactions")
    op.execute(
        "UPDATE interactions SET subject = COALESCE(SUBSTR(outcome, 1, 200), type)"
        " WHERE subject IS NULL"
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_column("outcome")
        batch_op.drop_column("case_id")
        batch_op.alter_column(
            "subject", existing_type=sa.String(length=200), nullable=False
        )
        batch_op.alter_column(
            "interaction_date",
            new_column_name="occurred_at",
            existing_type=sa.DateTime(timezone=True),
            existing_nullable=False,
        )
    op.create_index(
        "ix_interactions_occurred", "interactions", ["occurred_at", "id"], unique=False
    )

    op.drop_index("ix_contacts_name", table_name="contacts")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("first_name", sa.String(length=OLD_NAME_LENGTH), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_name", sa.String(length=OLD_NAME_LENGTH), nullable=True)
        )
    op.execute(f"UPDATE contacts SET last_name = SUBSTR(name, 1, {OLD_NAME_LENGTH})")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.alter_column(
            "last_name", existing_type=sa.String(length=OLD_NAME_LENGTH), nullable=False
        )
        batch_op.alter_column(
            "phone_number",
            new_column_name="phone",
            existing_type=sa.String(length=50),
            existing_nullable=True,
        )
        batch_op.drop_column("name")
    op.create_index("ix_contacts_last_name", "contacts", ["last_name", "id"], unique=False)

    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_column("postal_code")
        batch_op.drop_column("state")
        batch_op.alter_column(
            "phone_number",
            new_column_name="phone",
            existing_type=sa.String(length=50),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "street",
            new_column_name="address",
            existing_type=sa.String(length=500),
            existing_nullable=True,
        )
