"""Trust: contact provenance and scope, the test-key sandbox, unique sender ids, durable
code limits, platform-wide SMS stops, replies kept for the platform

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 08:30:00

Existing contacts become the citizen's own (scope ``citizen``, proof ``migrated``): they
were verified under the old rules, and taking them away would silence citizens who rely on
them. Sender ids: an agency that used the platform's ``WARTA`` loses it (it sends from the
platform sender, as before, with replies routed by who last texted); of two agencies with
the same sender id (any case), the older keeps it and the other sends from ``WARTA`` until
it registers its own.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLATFORM_SENDER = "WARTA"


def upgrade() -> None:
    with op.batch_alter_table("citizen_contacts") as batch:
        batch.add_column(
            sa.Column("scope", sa.String(length=36), nullable=False, server_default="citizen")
        )
        batch.add_column(sa.Column("added_by", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("proof", sa.String(length=20), nullable=True))
        batch.create_foreign_key(
            op.f("fk_citizen_contacts_added_by_agencies"), "agencies", ["added_by"], ["id"]
        )
        batch.drop_index("ix_citizen_contacts_owner")
        batch.create_index(
            "ix_citizen_contacts_owner",
            ["citizen_id", "kind", "value_hash", "scope"],
            unique=True,
        )
    op.execute("UPDATE citizen_contacts SET proof = 'migrated' WHERE verified_at IS NOT NULL")

    with op.batch_alter_table("citizens") as batch:
        batch.add_column(sa.Column("sandbox_of", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("registered_by", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_citizens_sandbox_of_agencies"), "agencies", ["sandbox_of"], ["id"]
        )
        batch.create_foreign_key(
            op.f("fk_citizens_registered_by_agencies"), "agencies", ["registered_by"], ["id"]
        )
    # The registrant: the agency whose link to the citizen came first.
    op.execute(
        "UPDATE citizens SET registered_by = (SELECT ac.agency_id FROM agency_citizens ac "
        "WHERE ac.citizen_id = citizens.id ORDER BY ac.created_at, ac.agency_id LIMIT 1)"
    )

    with op.batch_alter_table("agencies") as batch:
        batch.add_column(sa.Column("sms_sender_key", sa.String(length=11), nullable=True))
    _unique_senders()
    with op.batch_alter_table("agencies") as batch:
        batch.create_index("ix_agencies_sms_sender_key", ["sms_sender_key"], unique=True)

    with op.batch_alter_table("received_texts") as batch:
        batch.alter_column("agency_id", existing_type=sa.Uuid(), nullable=True)

    with op.batch_alter_table("notifications") as batch:
        batch.create_index(
            "ix_notifications_sms_recipient",
            ["recipient_hash", "sent_at"],
            unique=False,
            sqlite_where=sa.text("type = 'sms' AND sent_at IS NOT NULL"),
            postgresql_where=sa.text("type = 'sms' AND sent_at IS NOT NULL"),
        )
    op.create_table(
        "sms_platform_opt_outs",
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone_hash", name=op.f("pk_sms_platform_opt_outs")),
    )
    op.create_table(
        "code_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_events")),
    )
    with op.batch_alter_table("code_events") as batch:
        batch.create_index("ix_code_events_key", ["key_hash", "kind", "created_at"], unique=False)


def _unique_senders() -> None:
    """One agency per sender id (compared without case); none may hold the platform's."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT id, sms_sender FROM agencies WHERE sms_sender IS NOT NULL "
            "ORDER BY created_at, id"
        )
    ).all()
    taken = {PLATFORM_SENDER}
    for agency_id, sender in rows:
        key = sender.upper()
        if key in taken:
            connection.execute(
                sa.text("UPDATE agencies SET sms_sender = NULL WHERE id = :id"), {"id": agency_id}
            )
            continue
        taken.add(key)
        connection.execute(
            sa.text("UPDATE agencies SET sms_sender_key = :key WHERE id = :id"),
            {"key": key, "id": agency_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("code_events") as batch:
        batch.drop_index("ix_code_events_key")
    op.drop_table("code_events")
    op.drop_table("sms_platform_opt_outs")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index("ix_notifications_sms_recipient")
    op.execute("DELETE FROM received_texts WHERE agency_id IS NULL")
    with op.batch_alter_table("received_texts") as batch:
        batch.alter_column("agency_id", existing_type=sa.Uuid(), nullable=False)
    with op.batch_alter_table("agencies") as batch:
        batch.drop_index("ix_agencies_sms_sender_key")
        batch.drop_column("sms_sender_key")
    op.execute(
        "DELETE FROM citizen_contacts WHERE citizen_id IN "
        "(SELECT id FROM citizens WHERE sandbox_of IS NOT NULL)"
    )
    with op.batch_alter_table("citizens") as batch:
        batch.drop_constraint(op.f("fk_citizens_sandbox_of_agencies"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_citizens_registered_by_agencies"), type_="foreignkey")
        batch.drop_column("sandbox_of")
        batch.drop_column("registered_by")
    op.execute("DELETE FROM citizen_contacts WHERE scope <> 'citizen'")
    with op.batch_alter_table("citizen_contacts") as batch:
        batch.drop_index("ix_citizen_contacts_owner")
        batch.create_index(
            "ix_citizen_contacts_owner", ["citizen_id", "kind", "value_hash"], unique=True
        )
        batch.drop_constraint(op.f("fk_citizen_contacts_added_by_agencies"), type_="foreignkey")
        batch.drop_column("proof")
        batch.drop_column("added_by")
        batch.drop_column("scope")
