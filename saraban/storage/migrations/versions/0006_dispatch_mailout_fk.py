"""dispatch_entry.mailout_id: the mailout's integer id, a foreign key

Until 0005 ``dispatch_entry.mailout_id`` was text holding the mailout's id (``"12"``) with
nothing to keep it true. It becomes an integer referencing ``mailout.id``; every stored value
is kept. A value that is not the id of a mailout (never written by saraban) stops the upgrade
with the rows named, and nothing changes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_dispatch_entry_mailout_id_mailout"


def _check_values() -> None:
    bind = op.get_bind()
    mailouts = {row[0] for row in bind.execute(sa.text("SELECT id FROM mailout"))}
    rows = bind.execute(
        sa.text("SELECT id, mailout_id FROM dispatch_entry WHERE mailout_id IS NOT NULL")
    )
    bad = [
        (entry_id, value)
        for entry_id, value in rows
        if not (value.strip().isdigit() and int(value) in mailouts)
    ]
    if bad:
        shown = ", ".join(f"{entry_id} ({value!r})" for entry_id, value in bad[:20])
        raise RuntimeError(
            f"dispatch_entry rows whose mailout_id names no mailout: {shown}; set them to "
            "NULL or to the mailout's id, then upgrade again (nothing was changed)"
        )


def upgrade() -> None:
    _check_values()
    with op.batch_alter_table("dispatch_entry") as batch_op:
        batch_op.alter_column(
            "mailout_id",
            existing_type=sa.String(length=255),
            type_=sa.Integer(),
            existing_nullable=True,
            postgresql_using="CAST(TRIM(mailout_id) AS INTEGER)",
        )
        batch_op.create_foreign_key(FK, "mailout", ["mailout_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("dispatch_entry") as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")
        batch_op.alter_column(
            "mailout_id",
            existing_type=sa.Integer(),
            type_=sa.String(length=255),
            existing_nullable=True,
            postgresql_using="CAST(mailout_id AS VARCHAR(255))",
        )
