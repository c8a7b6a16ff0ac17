"""mailout_item signed letter

``mailout_item.signed_file`` and ``signed_sha256``: a signed mailout's letter as delivered, a
file of its own in the mailout's folder (a signature does not survive being merged into the
bundle). NULL for unsigned mailouts and for items made before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 08:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mailout_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signed_file", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("signed_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mailout_item", schema=None) as batch_op:
        batch_op.drop_column("signed_sha256")
        batch_op.drop_column("signed_file")
