"""colleges, issue batches, credentials

Revision ID: 0001
Revises:
Create Date: 2026-11-25

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_ONLY = "status = 'live'"


def upgrade() -> None:
    op.create_table(
        "college",
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("province", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("director_title", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_college")),
    )

    op.create_table(
        "issue_batch",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("slips_path", sa.String(length=1024), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.CheckConstraint("kind IN ('issue', 'reissue')", name=op.f("ck_issue_batch_kind")),
        sa.CheckConstraint("state IN ('pending', 'committed')", name=op.f("ck_issue_batch_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issue_batch")),
    )

    op.create_table(
        "credential",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("college_code", sa.String(length=10), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=255), nullable=False),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_by", sa.String(length=255), nullable=True),
        sa.Column("void_reason", sa.String(), nullable=True),
        sa.CheckConstraint("status IN ('live', 'void')", name=op.f("ck_credential_status")),
        sa.CheckConstraint(
            "(status = 'live' AND voided_at IS NULL AND voided_by IS NULL"
            " AND void_reason IS NULL)"
            " OR (status = 'void' AND voided_at IS NOT NULL AND voided_by IS NOT NULL"
            " AND void_reason IS NOT NULL)",
            name=op.f("ck_credential_void_fields"),
        ),
        sa.CheckConstraint(
            "password_hash LIKE '$argon2%'", name=op.f("ck_credential_password_hash_argon2")
        ),
        sa.ForeignKeyConstraint(
            ["college_code"],
            ["college.code"],
            name=op.f("fk_credential_college_code_college"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["issue_batch.id"],
            name=op.f("fk_credential_batch_id_issue_batch"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential")),
    )
    with op.batch_alter_table("credential") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credential_college_code"), ["college_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_credential_batch_id"), ["batch_id"], unique=False)
        # At most one live credential per college.
        batch_op.create_index(
            "uq_credential_live_college",
            ["college_code"],
            unique=True,
            sqlite_where=sa.text(LIVE_ONLY),
            postgresql_where=sa.text(LIVE_ONLY),
        )


def downgrade() -> None:
    with op.batch_alter_table("credential") as batch_op:
        batch_op.drop_index("uq_credential_live_college")
        batch_op.drop_index(batch_op.f("ix_credential_batch_id"))
        batch_op.drop_index(batch_op.f("ix_credential_college_code"))
    op.drop_table("credential")
    op.drop_table("issue_batch")
    op.drop_table("college")
