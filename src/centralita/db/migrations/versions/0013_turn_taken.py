"""messages.turn_taken_at (issue 7): exact deduplication of the receptionist's turns

The dialogue record remembers the last 50 message ids it answered; the crash harness
redelivered an event four minutes late, after more than 50 newer turns, and the message was
answered twice. The inbound message itself now records that it was answered.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import centralita.db.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(
            sa.Column("turn_taken_at", centralita.db.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("turn_taken_at")
