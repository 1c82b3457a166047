"""Citizen cases: services, cases, their events and photos, days off, Open311 keys

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 14:00:00

The tables of docs/cases.md, and ``callbacks.case_event_id`` (with ``agency_id``, for the
agency that forwarded a case away): a change to a case owes its agency a signed webhook
like a delivery receipt does. Nothing to convert.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open311_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("revoked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_keys_key_hash")),
    )
    op.create_table(
        "agency_days_off",
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_agency_days_off_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("agency_id", "day", name=op.f("pk_agency_days_off")),
    )
    op.create_table(
        "case_services",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("group_name", sa.String(length=255), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("attributes_json", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_case_services_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_services")),
        sa.UniqueConstraint("code", name=op.f("uq_case_services_code")),
    )
    op.create_index(
        op.f("ix_case_services_agency_id"), "case_services", ["agency_id"], unique=False
    )
    op.create_table(
        "case_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("service_key", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_case_messages_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"], ["templates.id"], name=op.f("fk_case_messages_template_id_templates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_messages")),
    )
    op.create_index(
        "ix_case_messages_key",
        "case_messages",
        ["agency_id", "service_key", "status", "language"],
        unique=True,
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tracking_id", sa.String(length=8), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=True),
        sa.Column("reporter_enc", sa.LargeBinary(), nullable=True),
        sa.Column("description_enc", sa.LargeBinary(), nullable=False),
        sa.Column("location_enc", sa.LargeBinary(), nullable=True),
        sa.Column("region_code", sa.String(length=13), nullable=True),
        sa.Column("attributes_enc", sa.LargeBinary(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("open311_key_id", sa.Uuid(), nullable=True),
        sa.Column("key_type", sa.String(length=10), nullable=False),
        sa.Column("token", sa.String(length=36), nullable=False),
        sa.Column("assigned_to", sa.Uuid(), nullable=True),
        sa.Column("duplicate_of", sa.Uuid(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("step_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("within_deadline", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_cases_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to"], ["staff.id"], name=op.f("fk_cases_assigned_to_staff")
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizens.id"], name=op.f("fk_cases_citizen_id_citizens")
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of"], ["cases.id"], name=op.f("fk_cases_duplicate_of_cases")
        ),
        sa.ForeignKeyConstraint(
            ["open311_key_id"],
            ["open311_keys.id"],
            name=op.f("fk_cases_open311_key_id_open311_keys"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["case_services.id"], name=op.f("fk_cases_service_id_case_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("token", name=op.f("uq_cases_token")),
        sa.UniqueConstraint("tracking_id", name=op.f("uq_cases_tracking_id")),
    )
    op.create_index(
        "ix_cases_agency_status", "cases", ["agency_id", "status", "created_at"], unique=False
    )
    op.create_index("ix_cases_citizen", "cases", ["citizen_id"], unique=False)
    op.create_index("ix_cases_due", "cases", ["due_at"], unique=False)
    op.create_table(
        "case_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=True),
        sa.Column("public_message_enc", sa.LargeBinary(), nullable=True),
        sa.Column("internal_note_enc", sa.LargeBinary(), nullable=True),
        sa.Column("actor_kind", sa.String(length=10), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("update_id", sa.String(length=64), nullable=True),
        sa.Column("tell", sa.Boolean(), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_case_events_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
    )
    op.create_index("ix_case_events_at", "case_events", ["at"], unique=False)
    op.create_index("ix_case_events_untold", "case_events", ["tell", "told_at"], unique=False)
    op.create_index("ix_case_events_case", "case_events", ["case_id", "at"], unique=False)
    op.create_index(
        "ix_case_events_update_id", "case_events", ["case_id", "update_id"], unique=True
    )
    op.create_table(
        "case_photos",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("content_type", sa.String(length=20), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_photos_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_photos")),
    )
    op.create_index(op.f("ix_case_photos_case_id"), "case_photos", ["case_id"], unique=False)
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("case_event_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("agency_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_callbacks_agency_id_agencies"), "agencies", ["agency_id"], ["id"]
        )
        batch.create_foreign_key(
            op.f("fk_callbacks_case_event_id_case_events"), "case_events", ["case_event_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_constraint(op.f("fk_callbacks_case_event_id_case_events"), type_="foreignkey")
        batch.drop_column("case_event_id")
        batch.drop_constraint(op.f("fk_callbacks_agency_id_agencies"), type_="foreignkey")
        batch.drop_column("agency_id")
    op.drop_index(op.f("ix_case_photos_case_id"), table_name="case_photos")
    op.drop_table("case_photos")
    op.drop_index("ix_case_events_update_id", table_name="case_events")
    op.drop_index("ix_case_events_untold", table_name="case_events")
    op.drop_index("ix_case_events_case", table_name="case_events")
    op.drop_index("ix_case_events_at", table_name="case_events")
    op.drop_table("case_events")
    op.drop_index("ix_cases_due", table_name="cases")
    op.drop_index("ix_cases_citizen", table_name="cases")
    op.drop_index("ix_cases_agency_status", table_name="cases")
    op.drop_table("cases")
    op.drop_index("ix_case_messages_key", table_name="case_messages")
    op.drop_table("case_messages")
    op.drop_index(op.f("ix_case_services_agency_id"), table_name="case_services")
    op.drop_table("case_services")
    op.drop_table("agency_days_off")
    op.drop_table("open311_keys")
