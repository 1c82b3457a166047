"""Citizens: registry, contacts, preferences, consent, topics, broadcasts; citizen sends

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "citizens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("nik_hash", sa.String(length=64), nullable=False),
        sa.Column("nik_enc", sa.LargeBinary(), nullable=False),
        sa.Column("name_enc", sa.LargeBinary(), nullable=False),
        sa.Column("region_code", sa.String(length=13), nullable=False),
        sa.Column("zone", sa.String(length=4), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("channel_order", sa.String(length=100), nullable=False),
        sa.Column("quiet_start", sa.String(length=5), nullable=True),
        sa.Column("quiet_end", sa.String(length=5), nullable=True),
        sa.Column("max_per_day", sa.Integer(), nullable=True),
        sa.Column("max_per_week", sa.Integer(), nullable=True),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("digest_at", sa.String(length=5), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizens")),
        sa.UniqueConstraint("nik_hash", name=op.f("uq_citizens_nik_hash")),
    )
    with op.batch_alter_table("citizens") as batch_op:
        batch_op.create_index("ix_citizens_region", ["region_code"], unique=False)

    op.create_table(
        "agency_citizens",
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_agency_citizens_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_agency_citizens_citizen_id_citizens")
        ),
        sa.PrimaryKeyConstraint("agency_id", "citizen_id", name=op.f("pk_agency_citizens")),
    )
    op.create_table(
        "citizen_contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value_enc", sa.LargeBinary(), nullable=False),
        sa.Column("value_hash", sa.String(length=64), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_citizen_contacts_citizen_id_citizens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_contacts")),
    )
    with op.batch_alter_table("citizen_contacts") as batch_op:
        batch_op.create_index(
            "ix_citizen_contacts_owner", ["citizen_id", "kind", "value_hash"], unique=True
        )
        batch_op.create_index("ix_citizen_contacts_value", ["value_hash"], unique=False)

    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("text_shown", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_consents_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_consents_citizen_id_citizens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents") as batch_op:
        batch_op.create_index("ix_consents_citizen", ["citizen_id", "created_at"], unique=False)

    op.create_table(
        "opt_outs",
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_opt_outs_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_opt_outs_citizen_id_citizens")
        ),
        sa.PrimaryKeyConstraint("citizen_id", "agency_id", "topic", name=op.f("pk_opt_outs")),
    )
    op.create_table(
        "topics",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_topics_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topics")),
    )
    with op.batch_alter_table("topics") as batch_op:
        batch_op.create_index("ix_topics_agency_slug", ["agency_id", "slug"], unique=True)

    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("key_type", sa.String(length=10), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=True),
        sa.Column("region_prefix", sa.String(length=13), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("reference", sa.String(length=1000), nullable=True),
        sa.Column("content_enc", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cursor", sa.Uuid(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_broadcasts_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_broadcasts_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"], ["templates.id"], name=op.f("fk_broadcasts_template_id_templates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    with op.batch_alter_table("broadcasts") as batch_op:
        batch_op.create_index("ix_broadcasts_due", ["status", "lease_until"], unique=False)

    op.create_table(
        "topic_subscriptions",
        sa.Column("topic_id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_topic_subscriptions_citizen_id_citizens")
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name=op.f("fk_topic_subscriptions_topic_id_topics")
        ),
        sa.PrimaryKeyConstraint("topic_id", "citizen_id", name=op.f("pk_topic_subscriptions")),
    )
    with op.batch_alter_table("topic_subscriptions") as batch_op:
        batch_op.create_index("ix_topic_subscriptions_citizen", ["citizen_id"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_jobs_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_jobs_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"], ["templates.id"], name=op.f("fk_jobs_template_id_templates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_agency_id"), ["agency_id"], unique=False)

    with op.batch_alter_table("notifications") as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.Uuid(), nullable=True))
        batch_op.create_index(
            "ix_notifications_job",
            ["job_id", "status"],
            unique=False,
            sqlite_where=sa.text("job_id IS NOT NULL"),
            postgresql_where=sa.text("job_id IS NOT NULL"),
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_job_id_jobs"), "jobs", ["job_id"], ["id"]
        )
        batch_op.add_column(sa.Column("citizen_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("message_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("broadcast_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("topic", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("routing", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("alternatives_enc", sa.LargeBinary(), nullable=True))
        batch_op.alter_column("content_enc", existing_type=sa.BLOB(), nullable=True)
        batch_op.create_index(
            "ix_notifications_broadcast", ["broadcast_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_notifications_citizen", ["citizen_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_notifications_escalate",
            ["escalate_at"],
            unique=False,
            sqlite_where=sa.text("escalate_at IS NOT NULL"),
            postgresql_where=sa.text("escalate_at IS NOT NULL"),
        )
        batch_op.create_index("ix_notifications_message", ["message_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_broadcast_id_broadcasts"),
            "broadcasts",
            ["broadcast_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_citizen_id_citizens"), "citizens", ["citizen_id"], ["id"]
        )

    with op.batch_alter_table("template_versions") as batch_op:
        batch_op.add_column(sa.Column("channel_bodies", sa.Text(), nullable=True))

    with op.batch_alter_table("templates") as batch_op:
        batch_op.add_column(sa.Column("channel_bodies", sa.Text(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("templates") as batch_op:
        batch_op.drop_column("channel_bodies")

    with op.batch_alter_table("template_versions") as batch_op:
        batch_op.drop_column("channel_bodies")

    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_notifications_job_id_jobs"), type_="foreignkey")
        batch_op.drop_index("ix_notifications_job")
        batch_op.drop_column("job_id")
        batch_op.drop_constraint(
            batch_op.f("fk_notifications_citizen_id_citizens"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_notifications_broadcast_id_broadcasts"), type_="foreignkey"
        )
        batch_op.drop_index("ix_notifications_message")
        batch_op.drop_index("ix_notifications_escalate")
        batch_op.drop_index("ix_notifications_citizen")
        batch_op.drop_index("ix_notifications_broadcast")
        batch_op.alter_column("content_enc", existing_type=sa.BLOB(), nullable=False)
        batch_op.drop_column("alternatives_enc")
        batch_op.drop_column("routing")
        batch_op.drop_column("escalate_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("topic")
        batch_op.drop_column("broadcast_id")
        batch_op.drop_column("message_id")
        batch_op.drop_column("citizen_id")

    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_agency_id"))

    op.drop_table("jobs")
    with op.batch_alter_table("topic_subscriptions") as batch_op:
        batch_op.drop_index("ix_topic_subscriptions_citizen")

    op.drop_table("topic_subscriptions")
    with op.batch_alter_table("broadcasts") as batch_op:
        batch_op.drop_index("ix_broadcasts_due")

    op.drop_table("broadcasts")
    with op.batch_alter_table("topics") as batch_op:
        batch_op.drop_index("ix_topics_agency_slug")

    op.drop_table("topics")
    op.drop_table("opt_outs")
    with op.batch_alter_table("consents") as batch_op:
        batch_op.drop_index("ix_consents_citizen")

    op.drop_table("consents")
    with op.batch_alter_table("citizen_contacts") as batch_op:
        batch_op.drop_index("ix_citizen_contacts_value")
        batch_op.drop_index("ix_citizen_contacts_owner")

    op.drop_table("citizen_contacts")
    op.drop_table("agency_citizens")
    with op.batch_alter_table("citizens") as batch_op:
        batch_op.drop_index("ix_citizens_region")

    op.drop_table("citizens")
