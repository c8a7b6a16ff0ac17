"""mailout_job: a mailout run as a background job; on PostgreSQL, procrastinate's schema

``mailout_job`` holds a queued mailout's inputs (a mailout folder), its output folder, its state
(queued, running, finished, failed, cancelled) and its errors; its progress is counted from its
mailout's items. On PostgreSQL this revision also creates procrastinate's tables, functions and
types (procrastinate_jobs, procrastinate_workers, ...), from the schema of the procrastinate
release pinned in requirements.lock, in the same transaction as saraban's own tables: one
``upgrade_schema`` (or ``alembic upgrade head``) sets up everything, and Alembic records it.
A later procrastinate release that changes its schema comes with its migration SQL
(procrastinate/sql/migrations/), applied by a new revision of ours. SQLite has no
procrastinate: its jobs run in saraban's local worker.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 18:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_STATES = ("queued", "running", "finished", "failed", "cancelled")
PROCRASTINATE_TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
    "procrastinate_version",
)


def upgrade() -> None:
    op.create_table(
        "mailout_job",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("folder", sa.String(length=1024), nullable=False),
        sa.Column("roster_path", sa.String(length=1024), nullable=True),
        sa.Column("out_dir", sa.String(length=1024), nullable=False),
        sa.Column("mailout_id", sa.Integer(), sa.ForeignKey("mailout.id"), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in JOB_STATES) + ")",
            name="mailout_job_state",
        ),
    )
    op.create_index("ix_mailout_job_name", "mailout_job", ["name"])
    op.create_index("ix_mailout_job_mailout_id", "mailout_job", ["mailout_id"])
    if op.get_bind().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # Executed as the driver gets it: procrastinate's SQL is full of ``::`` casts and ``%``.
        op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    op.drop_index("ix_mailout_job_mailout_id", table_name="mailout_job")
    op.drop_index("ix_mailout_job_name", table_name="mailout_job")
    op.drop_table("mailout_job")
    if op.get_bind().dialect.name == "postgresql":
        # Its tables, then its functions and types (the tables' row types went with them):
        # upgrade creates them all again (CREATE TYPE has no IF NOT EXISTS), so nothing of
        # procrastinate's may stay behind.
        for table in PROCRASTINATE_TABLES:
            op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        op.execute(_DROP_PROCRASTINATE_OBJECTS)


_DROP_PROCRASTINATE_OBJECTS = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure AS signature FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
    LOOP
        EXECUTE 'DROP FUNCTION IF EXISTS ' || r.signature || ' CASCADE';
    END LOOP;
    FOR r IN
        SELECT t.typname FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%'
            AND t.typtype IN ('e', 'd', 'c')
    LOOP
        EXECUTE 'DROP TYPE IF EXISTS ' || quote_ident(r.typname) || ' CASCADE';
    END LOOP;
END
$$;
"""
