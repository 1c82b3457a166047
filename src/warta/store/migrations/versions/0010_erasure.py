"""Erasure: what makes a deleted citizen's data unrecoverable

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 11:00:00

``pending_checkpoints``: an erasure whose old copies may still be in SQLite's write-ahead
log, until a truncating checkpoint empties it (``store/scrub.py``). Nothing to convert:
rows deleted before this revision, without ``secure_delete``, may still lie in a SQLite
file's free pages until ``VACUUM`` (docs/trust.md says how).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_checkpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_checkpoints")),
    )


def downgrade() -> None:
    op.drop_table("pending_checkpoints")
