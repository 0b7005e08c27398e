"""kpi indexes: interactions by arrival, facts by creation, owners, presence by time

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index, table, columns): what analytics.service and analytics.metrics filter on.
INDEXES = (
    ("ix_interactions_tenant_arrived", "interactions", ["tenant_id", "arrived_at"]),
    ("ix_conversations_owner", "conversations", ["owner_type", "status"]),
    ("ix_staff_messages_tenant_created", "staff_messages", ["tenant_id", "created_at"]),
    ("ix_appointments_tenant_created", "appointments", ["tenant_id", "created_at"]),
    ("ix_presence_log_tenant_at", "presence_log", ["tenant_id", "at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
