"""Citizen digests: which attempts wait for the digest, and which attempt carried them

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows already waiting for a digest keep going one by one, as when they were routed:
    # the marker is set from now on, by the routing decisions that make it.
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.add_column(
            sa.Column("digest", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("digest_of", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "ix_notifications_digest_of",
            ["digest_of"],
            unique=False,
            sqlite_where=sa.text("digest_of IS NOT NULL"),
            postgresql_where=sa.text("digest_of IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_index("ix_notifications_digest_of")
        batch_op.drop_column("digest_of")
        batch_op.drop_column("digest")
