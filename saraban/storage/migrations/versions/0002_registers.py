"""registers: running-number counters and the dispatch register

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One row per sequence: the last number taken (saraban.storage.counters).
    op.create_table(
        "number_counter",
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("year_be", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.CheckConstraint("last >= 1", name=op.f("ck_number_counter_last_positive")),
        sa.PrimaryKeyConstraint("scope", "year_be", name=op.f("pk_number_counter")),
    )

    # ทะเบียนหนังสือส่ง (saraban.services.dispatch).
    op.create_table(
        "dispatch_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("year_be", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("dated", sa.Date(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("recipients", sa.String(), nullable=False),
        sa.Column("owning_unit", sa.String(length=255), nullable=False),
        sa.Column("mailout_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cancelled_reason", sa.String(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.CheckConstraint("kind IN ('external', 'circular')", name=op.f("ck_dispatch_entry_kind")),
        sa.CheckConstraint(
            "status IN ('issued', 'cancelled')", name=op.f("ck_dispatch_entry_status")
        ),
        sa.CheckConstraint("number >= 1", name=op.f("ck_dispatch_entry_number_positive")),
        sa.CheckConstraint(
            "(status = 'issued' AND cancelled_at IS NULL AND cancelled_by IS NULL"
            " AND cancelled_reason IS NULL)"
            " OR (status = 'cancelled' AND cancelled_at IS NOT NULL"
            " AND cancelled_by IS NOT NULL AND cancelled_reason IS NOT NULL)",
            name=op.f("ck_dispatch_entry_cancel_fields"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_entry")),
        sa.UniqueConstraint(
            "register",
            "kind",
            "year_be",
            "number",
            name=op.f("uq_dispatch_entry_register_kind_year_be_number"),
        ),
    )
    with op.batch_alter_table("dispatch_entry") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispatch_entry_mailout_id"), ["mailout_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dispatch_entry") as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispatch_entry_mailout_id"))
    op.drop_table("dispatch_entry")
    op.drop_table("number_counter")
