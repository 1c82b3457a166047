"""Preference changes: who changed how a citizen is reached, and when

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "preference_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("preferences", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_preference_changes_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_preference_changes_citizen_id_citizens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preference_changes")),
    )
    with op.batch_alter_table("preference_changes") as batch_op:
        batch_op.create_index(
            "ix_preference_changes_citizen", ["citizen_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("preference_changes") as batch_op:
        batch_op.drop_index("ix_preference_changes_citizen")
    op.drop_table("preference_changes")
