"""Delivery after a crash: provider ids recorded at once, leases owned by a worker

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 11:00:00

``notifications.lease_owner`` names who holds a row's lease (``worker name#boot id``), so a
restarted worker takes back its dead boot's rows at once instead of waiting for the lease.
Existing leases have no owner and run out as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("lease_owner")
