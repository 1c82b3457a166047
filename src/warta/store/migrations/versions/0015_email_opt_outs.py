"""Email one-click unsubscribe and complaint opt-outs (issue 19)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 20:00:00

docs/email.md "One-click unsubscribe". ``email_opt_outs`` is the email twin of
``sms_opt_outs``: an address (by keyed hash) that stopped an agency's non-urgent email, or
one topic's (``topic`` the slug, "" for the whole agency), and how (``source``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_opt_outs",
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_email_opt_outs_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint(
            "agency_id", "address_hash", "topic", name=op.f("pk_email_opt_outs")
        ),
    )


def downgrade() -> None:
    op.drop_table("email_opt_outs")
