"""inbox_requests (issue 7): accept-then-process ingest

With ``ingest_mode = "inbox"`` a provider webhook is verified, parsed, stored as received in
one insert and acknowledged; workers then store its messages in order per customer.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import centralita.db.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "inbox_requests",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("channel_account_id", sa.String(length=40), nullable=False),
        sa.Column("order_key", sa.String(length=400), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("headers", _JSON, nullable=False),
        sa.Column("query", _JSON, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", centralita.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", centralita.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_account_id"],
            ["channel_accounts.id"],
            name=op.f("fk_inbox_requests_channel_account_id_channel_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_inbox_requests_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_requests")),
    )
    with op.batch_alter_table("inbox_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbox_requests_due", ["state", "next_attempt_at", "id"], unique=False
        )
        batch_op.create_index("ix_inbox_requests_order", ["order_key", "state", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inbox_requests_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inbox_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_requests_tenant_id"))
        batch_op.drop_index("ix_inbox_requests_order")
        batch_op.drop_index("ix_inbox_requests_due")
    op.drop_table("inbox_requests")
