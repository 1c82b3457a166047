"""Bounces and complaints read by the bounce listener (issue 19)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 20:00:00

docs/email.md "Bounces and complaints" and "Health per agency". ``email_feedback`` keeps
one row per notification a bounce or complaint was about (a digest's members each get
one), unique per (notification, kind) so a report read twice acts once; the unmatched keep
only their kind, status code and time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_feedback",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=True),
        sa.Column("reported_id", sa.Uuid(), nullable=True),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("recipient_hash", sa.String(length=64), nullable=True),
        sa.Column("notification_created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_email_feedback_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_email_feedback_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_feedback")),
        sa.UniqueConstraint(
            "notification_id", "kind", name=op.f("uq_email_feedback_notification_id")
        ),
    )
    op.create_index(
        "ix_email_feedback_agency_day",
        "email_feedback",
        ["agency_id", "notification_created_at"],
    )
    op.create_index(
        "ix_email_feedback_recipient", "email_feedback", ["recipient_hash", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_email_feedback_recipient", table_name="email_feedback")
    op.drop_index("ix_email_feedback_agency_day", table_name="email_feedback")
    op.drop_table("email_feedback")
