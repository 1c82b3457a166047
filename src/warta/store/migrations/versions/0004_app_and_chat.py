"""Push, chat and the in-app inbox: read receipts, dead contacts, chat links, platform keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_notifications_provider_reference",
        "notifications",
        ["provider", "provider_reference"],
        sqlite_where=sa.text("provider_reference IS NOT NULL"),
        postgresql_where=sa.text("provider_reference IS NOT NULL"),
    )
    with op.batch_alter_table("citizen_contacts") as batch:
        batch.add_column(sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "platform_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_platform_secrets")),
    )
    op.create_table(
        "chat_links",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_chat_links_citizen_id_citizens")
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_chat_links")),
    )


def downgrade() -> None:
    op.drop_table("chat_links")
    op.drop_table("platform_secrets")
    with op.batch_alter_table("citizen_contacts") as batch:
        batch.drop_column("last_inbound_at")
        batch.drop_column("gone_at")
    op.drop_index("ix_notifications_provider_reference", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("read_at")
        batch.drop_column("seen_at")
