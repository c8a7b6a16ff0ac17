"""organisation, organisation_member, draft, draft_version, draft_event, org_receipt,
org_route, org_route_event: OVEC and
every college as organisations of one kind, the letters they compose and route for signature,
and the replies one delivers to another (registered on arrival)

Existing data is carried over: every college becomes a college organisation (its name; its
agency code and address are left blank for the college to fill in), OVEC becomes the one OVEC
organisation (``ศธ 0603``, สอศ.), and every OVEC account becomes a member of it with the role
``clerk``. New tables only; nothing existing changes (the college's login with its institution
code and slip password, and OVEC's accounts, stay as they are).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 18:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OVEC_NAME = "สำนักงานคณะกรรมการการอาชีวศึกษา"
OVEC_SHORT = "สอศ."
OVEC_CODE = "ศธ 0603"
OVEC_ADDRESS = "กระทรวงศึกษาธิการ กทม. 10300"


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("college_code", sa.String(length=10), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("short_name", sa.String(length=100), nullable=False),
        sa.Column("agency_code", sa.String(length=50), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint("kind IN ('ovec', 'college')", name=op.f("ck_organisation_kind")),
        sa.CheckConstraint(
            "(kind = 'ovec' AND college_code IS NULL)"
            " OR (kind = 'college' AND college_code IS NOT NULL)",
            name=op.f("ck_organisation_kind_fields"),
        ),
        sa.ForeignKeyConstraint(
            ["college_code"], ["college.code"], name=op.f("fk_organisation_college_code_college")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
        sa.UniqueConstraint("college_code", name=op.f("uq_organisation_college_code")),
    )
    op.create_index(
        "uq_organisation_one_ovec",
        "organisation",
        ["kind"],
        unique=True,
        sqlite_where=sa.text("kind = 'ovec'"),
        postgresql_where=sa.text("kind = 'ovec'"),
    )
    op.create_table(
        "organisation_member",
        sa.Column("account_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "role IN ('clerk', 'deputy', 'director', 'staff')",
            name=op.f("ck_organisation_member_role"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_organisation_member_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_organisation_member_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_organisation_member")),
    )
    op.create_index(
        op.f("ix_organisation_member_organisation_id"), "organisation_member", ["organisation_id"]
    )
    op.create_table(
        "draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("approved_version", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("dispatch_entry_id", sa.Integer(), nullable=True),
        sa.Column("signer_id", sa.Integer(), nullable=True),
        sa.Column("reply_to_receipt_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'approved', 'sent')", name=op.f("ck_draft_status")
        ),
        sa.CheckConstraint("kind IN ('external', 'circular', 'memo')", name=op.f("ck_draft_kind")),
        sa.CheckConstraint(
            "(status IN ('approved', 'sent')) = (approved_version IS NOT NULL)",
            name=op.f("ck_draft_approved"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_draft_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["dispatch_entry_id"],
            ["dispatch_entry.id"],
            name=op.f("fk_draft_dispatch_entry_id_dispatch_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["signer_id"], ["account.id"], name=op.f("fk_draft_signer_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["reply_to_receipt_id"],
            ["receipt.id"],
            name=op.f("fk_draft_reply_to_receipt_id_receipt"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft")),
        sa.UniqueConstraint("dispatch_entry_id", name=op.f("uq_draft_dispatch_entry_id")),
    )
    op.create_index(op.f("ix_draft_organisation_id"), "draft", ["organisation_id"])
    op.create_table(
        "draft_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("letter_toml", sa.Text(), nullable=False),
        sa.Column("qr_sheet_toml", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        _ts("created_at"),
        sa.CheckConstraint("version >= 1", name=op.f("ck_draft_version_version_positive")),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["draft.id"], name=op.f("fk_draft_version_draft_id_draft")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_version")),
        sa.UniqueConstraint("draft_id", "version", name=op.f("uq_draft_version_draft_id_version")),
    )
    op.create_index(op.f("ix_draft_version_draft_id"), "draft_version", ["draft_id"])
    op.create_table(
        "draft_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("to_account_id", sa.Integer(), nullable=True),
        _ts("at"),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('submit', 'note', 'return', 'approve', 'send')",
            name=op.f("ck_draft_event_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["draft.id"], name=op.f("fk_draft_event_draft_id_draft")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_draft_event_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["to_account_id"], ["account.id"], name=op.f("fk_draft_event_to_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_event")),
        sa.UniqueConstraint("draft_id", "seq", name=op.f("uq_draft_event_draft_id_seq")),
    )
    op.create_index(op.f("ix_draft_event_draft_id"), "draft_event", ["draft_id"])

    op.create_table(
        "org_receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("from_organisation_id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("year_be", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("letter_number", sa.String(length=255), nullable=False),
        sa.Column("letter_date", sa.Date(), nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("file_path", sa.String(length=1024), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        _ts("received_at"),
        sa.CheckConstraint("number >= 1", name=op.f("ck_org_receipt_number_positive")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_org_receipt_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["from_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_org_receipt_from_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["draft.id"], name=op.f("fk_org_receipt_draft_id_draft")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_receipt")),
        sa.UniqueConstraint(
            "organisation_id",
            "year_be",
            "number",
            name=op.f("uq_org_receipt_organisation_id_year_be_number"),
        ),
        sa.UniqueConstraint(
            "organisation_id", "draft_id", name=op.f("uq_org_receipt_organisation_id_draft_id")
        ),
    )
    op.create_index(op.f("ix_org_receipt_organisation_id"), "org_receipt", ["organisation_id"])

    op.create_table(
        "org_route",
        sa.Column("org_receipt_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("roster", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=1000), nullable=True),
        sa.Column("decided_by", sa.String(length=1000), nullable=True),
        _ts("decided_at", nullable=True),
        _ts("planned_at"),
        sa.Column("planned_by", sa.String(length=64), nullable=False),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(
            ["org_receipt_id"],
            ["org_receipt.id"],
            name=op.f("fk_org_route_org_receipt_id_org_receipt"),
        ),
        sa.PrimaryKeyConstraint("org_receipt_id", name=op.f("pk_org_route")),
    )
    op.create_table(
        "org_route_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_receipt_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        _ts("at"),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('note', 'decision', 'acknowledgement')",
            name=op.f("ck_org_route_event_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["org_receipt_id"],
            ["org_route.org_receipt_id"],
            name=op.f("fk_org_route_event_org_receipt_id_org_route"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["account.id"], name=op.f("fk_org_route_event_staff_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_route_event")),
        sa.UniqueConstraint(
            "org_receipt_id", "seq", name=op.f("uq_org_route_event_org_receipt_id_seq")
        ),
    )

    # The data as it is: OVEC, every college, and OVEC's accounts as OVEC's members.
    now = sa.func.current_timestamp()
    organisation = sa.table(
        "organisation",
        sa.column("kind", sa.String),
        sa.column("college_code", sa.String),
        sa.column("name", sa.String),
        sa.column("short_name", sa.String),
        sa.column("agency_code", sa.String),
        sa.column("address", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("id", sa.Integer),
    )
    college = sa.table("college", sa.column("code", sa.String), sa.column("name", sa.String))
    account = sa.table("account", sa.column("id", sa.Integer), sa.column("kind", sa.String))
    member = sa.table(
        "organisation_member",
        sa.column("account_id", sa.Integer),
        sa.column("organisation_id", sa.Integer),
        sa.column("role", sa.String),
    )
    op.execute(
        organisation.insert().values(
            kind="ovec",
            college_code=None,
            name=OVEC_NAME,
            short_name=OVEC_SHORT,
            agency_code=OVEC_CODE,
            address=OVEC_ADDRESS,
            created_at=now,
            updated_at=now,
        )
    )
    op.execute(
        organisation.insert().from_select(
            [
                "kind",
                "college_code",
                "name",
                "short_name",
                "agency_code",
                "address",
                "created_at",
                "updated_at",
            ],
            sa.select(
                sa.literal("college"),
                college.c.code,
                college.c.name,
                sa.literal(""),
                sa.literal(""),
                sa.literal(""),
                now,
                now,
            ).order_by(college.c.code),
        )
    )
    ovec_id = sa.select(organisation.c.id).where(organisation.c.kind == "ovec").scalar_subquery()
    op.execute(
        member.insert().from_select(
            ["account_id", "organisation_id", "role"],
            sa.select(account.c.id, ovec_id, sa.literal("clerk")).where(account.c.kind == "ovec"),
        )
    )


def downgrade() -> None:
    op.drop_table("org_route_event")
    op.drop_table("org_route")
    op.drop_index(op.f("ix_org_receipt_organisation_id"), table_name="org_receipt")
    op.drop_table("org_receipt")
    op.drop_index(op.f("ix_draft_event_draft_id"), table_name="draft_event")
    op.drop_table("draft_event")
    op.drop_index(op.f("ix_draft_version_draft_id"), table_name="draft_version")
    op.drop_table("draft_version")
    op.drop_index(op.f("ix_draft_organisation_id"), table_name="draft")
    op.drop_table("draft")
    op.drop_index(op.f("ix_organisation_member_organisation_id"), table_name="organisation_member")
    op.drop_table("organisation_member")
    op.drop_index("uq_organisation_one_ovec", table_name="organisation")
    op.drop_table("organisation")
