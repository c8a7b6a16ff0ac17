"""draft.reply_to_org_receipt_id: a reply to a letter delivered through saraban

A letter delivered directly (an OVEC letter into a college's inbox, a college's letter into
OVEC's) is answered to its sender organisation: the reply draft names the ``org_receipt`` it
answers, as ``reply_to_receipt_id`` names a college's ``receipt``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 08:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("draft") as batch:
        batch.add_column(sa.Column("reply_to_org_receipt_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_draft_reply_to_org_receipt_id_org_receipt"),
            "org_receipt",
            ["reply_to_org_receipt_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("draft") as batch:
        batch.drop_constraint(
            op.f("fk_draft_reply_to_org_receipt_id_org_receipt"), type_="foreignkey"
        )
        batch.drop_column("reply_to_org_receipt_id")
