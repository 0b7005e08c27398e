"""surveys: the satisfaction survey sent after an interaction, and its answer

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import centralita.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("interaction_id", sa.String(length=40), nullable=True),
        sa.Column("conversation_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("queue_id", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("sent_at", centralita.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", centralita.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", centralita.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("invalid_replies", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_surveys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("tenant_id", "interaction_id", name="uq_surveys_interaction"),
    )
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.create_index("ix_surveys_answered", ["tenant_id", "answered_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_surveys_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_surveys_interaction_id"), ["interaction_id"], unique=False
        )
        batch_op.create_index(
            "ix_surveys_pending", ["tenant_id", "contact_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_surveys_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_surveys_tenant_id"))
        batch_op.drop_index("ix_surveys_pending")
        batch_op.drop_index(batch_op.f("ix_surveys_interaction_id"))
        batch_op.drop_index(batch_op.f("ix_surveys_conversation_id"))
        batch_op.drop_index("ix_surveys_answered")
    op.drop_table("surveys")
