"""stream tickets: one-time tickets that open a user's stream without a header

Revision ID: 464ba13861da
Revises: 2cebe8ff91f7
Create Date: 2026-12-02 05:58:52
"""

import sqlalchemy as sa
from alembic import op

import shared.db

revision = "464ba13861da"
down_revision = "2cebe8ff91f7"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_tickets",
        sa.Column("ticket_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=50), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("issued_at", sa.Float(), nullable=True),
        sa.Column("expires_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("ticket_hash"),
    )


def downgrade() -> None:
    op.drop_table("stream_tickets")
