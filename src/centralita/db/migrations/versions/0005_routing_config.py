"""routing config: the ACD's queue settings and each staff member's capacity

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 03:11:17.226480
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing queues get the defaults of the tenant document (tenants.config.schema).
    with op.batch_alter_table("queues", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "strategy", sa.String(length=20), server_default="longest_idle", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "offer_timeout_seconds", sa.Integer(), server_default=sa.text("30"), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("wrapup_seconds", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("aging_per_minute", sa.Double(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("min_proficiency", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "max_missed_offers", sa.Integer(), server_default=sa.text("3"), nullable=False
            )
        )

    # NULL: the routing reader's default capacity.
    with op.batch_alter_table("staff_members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "capacity",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_members", schema=None) as batch_op:
        batch_op.drop_column("capacity")

    with op.batch_alter_table("queues", schema=None) as batch_op:
        batch_op.drop_column("max_missed_offers")
        batch_op.drop_column("min_proficiency")
        batch_op.drop_column("aging_per_minute")
        batch_op.drop_column("wrapup_seconds")
        batch_op.drop_column("offer_timeout_seconds")
        batch_op.drop_column("strategy")
