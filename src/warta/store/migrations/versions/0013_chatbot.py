"""The chatbot: conversations and their messages, FAQ entries, templates' Q&A, office hours

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 15:00:00

docs/chatbot.md. ``templates.qa_json`` holds what the bot answers about a message sent with
the template; ``agencies.office_*`` when a person answers chats handed off. Nothing to
convert: existing agencies answer 08:00-16:00 WIB until they say otherwise.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "faq_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_faq_entries_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_entries")),
    )
    op.create_index(op.f("ix_faq_entries_agency_id"), "faq_entries", ["agency_id"], unique=False)
    op.create_table(
        "conversations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("address_enc", sa.LargeBinary(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("citizen_id", sa.Uuid(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("state_enc", sa.LargeBinary(), nullable=True),
        sa.Column("misunderstood", sa.Integer(), nullable=False),
        sa.Column("handoff_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_conversations_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_conversations_citizen_id_citizens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    op.create_index(
        "ix_conversations_address", "conversations", ["channel", "address_hash"], unique=True
    )
    op.create_index("ix_conversations_citizen", "conversations", ["citizen_id"], unique=False)
    op.create_index(
        "ix_conversations_handoff", "conversations", ["agency_id", "handoff_at"], unique=False
    )
    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=10), nullable=False),
        sa.Column("text_enc", sa.LargeBinary(), nullable=False),
        sa.Column("intent", sa.String(length=20), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("staff_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_conversation_messages_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_messages")),
    )
    op.create_index(
        "ix_conversation_messages_at",
        "conversation_messages",
        ["conversation_id", "at"],
        unique=False,
    )
    with op.batch_alter_table("agencies") as batch:
        batch.add_column(
            sa.Column("office_zone", sa.String(4), server_default="WIB", nullable=False)
        )
        batch.add_column(
            sa.Column("office_open", sa.String(5), server_default="08:00", nullable=False)
        )
        batch.add_column(
            sa.Column("office_close", sa.String(5), server_default="16:00", nullable=False)
        )
    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("qa_json", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        batch.drop_column("qa_json")
    with op.batch_alter_table("agencies") as batch:
        batch.drop_column("office_close")
        batch.drop_column("office_open")
        batch.drop_column("office_zone")
    op.drop_index("ix_conversation_messages_at", table_name="conversation_messages")
    op.drop_table("conversation_messages")
    op.drop_index("ix_conversations_handoff", table_name="conversations")
    op.drop_index("ix_conversations_citizen", table_name="conversations")
    op.drop_index("ix_conversations_address", table_name="conversations")
    op.drop_table("conversations")
    op.drop_index(op.f("ix_faq_entries_agency_id"), table_name="faq_entries")
    op.drop_table("faq_entries")
