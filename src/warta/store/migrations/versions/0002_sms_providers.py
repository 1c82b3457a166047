"""SMS providers: parts and receipts, opt-outs, inbound callbacks, priority

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_parts",
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=True),
        sa.Column("part", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("provider", "reference", name=op.f("pk_sms_parts")),
    )
    op.create_index("ix_sms_parts_notification", "sms_parts", ["notification_id"])
    op.create_table(
        "sms_opt_outs",
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_sms_opt_outs_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("agency_id", "phone_hash", name=op.f("pk_sms_opt_outs")),
    )
    with op.batch_alter_table("agencies") as batch:
        batch.add_column(sa.Column("inbound_callback_url", sa.String(length=2000), nullable=True))
        batch.add_column(sa.Column("inbound_callback_token_enc", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("provider", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("priority", sa.String(length=10), nullable=False, server_default="normal")
        )
    with op.batch_alter_table("callbacks") as batch:
        batch.alter_column("notification_id", existing_type=sa.Uuid(), nullable=True)
        batch.add_column(sa.Column("received_text_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_callbacks_received_text_id_received_texts"),
            "received_texts",
            ["received_text_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_constraint(
            op.f("fk_callbacks_received_text_id_received_texts"), type_="foreignkey"
        )
        batch.drop_column("received_text_id")
        batch.alter_column("notification_id", existing_type=sa.Uuid(), nullable=False)
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("priority")
        batch.drop_column("provider")
    with op.batch_alter_table("agencies") as batch:
        batch.drop_column("inbound_callback_token_enc")
        batch.drop_column("inbound_callback_url")
    op.drop_table("sms_opt_outs")
    op.drop_index("ix_sms_parts_notification", table_name="sms_parts")
    op.drop_table("sms_parts")
