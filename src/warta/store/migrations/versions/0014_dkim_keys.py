"""DKIM signing keys per agency sending domain (issue 19)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 20:00:00

docs/email.md "DNS set-up". One row per key: its domain and selector (unique together,
as the DNS name ``selector._domainkey.domain`` is), the owner (an agency, or NULL for
Warta's own domain), the sealed private key and the public key; rotation sets
``retired_at`` on the key a newer one replaced. Nothing to convert: mail stays unsigned
until a key is made.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dkim_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("selector", sa.String(length=63), nullable=False),
        sa.Column("private_key_enc", sa.LargeBinary(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_dkim_keys_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dkim_keys")),
    )
    op.create_index(op.f("ix_dkim_keys_agency_id"), "dkim_keys", ["agency_id"], unique=False)
    op.create_index(
        "ix_dkim_keys_domain_selector", "dkim_keys", ["domain", "selector"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_dkim_keys_domain_selector", table_name="dkim_keys")
    op.drop_index(op.f("ix_dkim_keys_agency_id"), table_name="dkim_keys")
    op.drop_table("dkim_keys")
