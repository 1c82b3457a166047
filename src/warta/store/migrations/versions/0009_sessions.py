"""Sessions: server-side portal sessions, lockout counted per account and client address

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 11:00:00

Portal sessions were sealed tokens nothing could revoke; they become rows, so existing
tokens stop working and citizens sign in once more. Staff lockout moves from two columns
on ``staff`` (per account only, counted after the password check) to
``staff_sign_in_failures`` (per account and client address, plus a ceiling per account);
existing counts and locks are dropped.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_portal_sessions_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_portal_sessions")),
    )
    op.create_index(
        op.f("ix_portal_sessions_citizen_id"), "portal_sessions", ["citizen_id"], unique=False
    )
    op.create_table(
        "staff_sign_in_failures",
        sa.Column("account_hash", sa.String(length=64), nullable=False),
        sa.Column("client_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_hash", "client_hash", name=op.f("pk_staff_sign_in_failures")
        ),
    )
    op.create_index(
        op.f("ix_staff_sign_in_failures_last_at"),
        "staff_sign_in_failures",
        ["last_at"],
        unique=False,
    )
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("failures")
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    op.drop_index(op.f("ix_staff_sign_in_failures_last_at"), table_name="staff_sign_in_failures")
    op.drop_table("staff_sign_in_failures")
    op.drop_index(op.f("ix_portal_sessions_citizen_id"), table_name="portal_sessions")
    op.drop_table("portal_sessions")
