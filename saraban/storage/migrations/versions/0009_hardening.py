"""receipt active content

``receipt.active_content``: what an uploaded PDF would do by itself when opened (scripts,
launch actions: saraban.domain.pdfactions), comma-separated, found when it was registered;
empty for none; NULL for rows made before the check (and for delivered letters, which OVEC
made).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("receipt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active_content", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("receipt", schema=None) as batch_op:
        batch_op.drop_column("active_content")
