"""conversions: what each lead conversion created or attached

Revision ID: d05b3a909186
Revises: 2477109a1b26
Create Date: 2026-11-25 14:50:56.195928
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "d05b3a909186"
down_revision = "2477109a1b26"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No foreign keys on purpose: the ids record what a conversion did and must not stop a
    # user from deleting a company or contact later.
    op.create_table(
        "conversions",
        sa.Column("lead_id", sa.String(length=36), nullable=False),
        sa.Column("company_id", sa.String(length=36), nullable=True),
        sa.Column("contact_id", sa.String(length=36), nullable=False),
        sa.Column("created_company", sa.Boolean(), nullable=False),
        sa.Column("created_contact", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_conversions_lead", "conversions", ["lead_id"], unique=True)
    op.create_index("ix_conversions_company", "conversions", ["company_id"])
    op.create_index("ix_conversions_contact", "conversions", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_conversions_contact", table_name="conversions")
    op.drop_index("ix_conversions_company", table_name="conversions")
    op.drop_index("ix_conversions_lead", table_name="conversions")
    op.drop_table("conversions")
