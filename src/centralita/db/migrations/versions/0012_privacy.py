"""privacy (issue 7): erasure requests and the salt of the suppression hashes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import centralita.db.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("ground", sa.String(length=24), nullable=False),
        sa.Column("blocked_at", centralita.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("destroy_after", centralita.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", centralita.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sealed_file", sa.String(length=80), nullable=True),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_erasure_requests_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_requests")),
    )
    with op.batch_alter_table("erasure_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_erasure_requests_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index("ix_erasure_requests_due", ["status", "destroy_after"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_erasure_requests_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "suppression_salts",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("created_at", centralita.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_suppression_salts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_suppression_salts")),
    )


def downgrade() -> None:
    op.drop_table("suppression_salts")
    with op.batch_alter_table("erasure_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_requests_tenant_id"))
        batch_op.drop_index("ix_erasure_requests_due")
        batch_op.drop_index(batch_op.f("ix_erasure_requests_contact_id"))
    op.drop_table("erasure_requests")
