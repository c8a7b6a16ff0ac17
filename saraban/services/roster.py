"""The roster of colleges into the database: a file read and checked whole
(saraban.domain.roster: a file with any bad row is refused), then every college created or
updated by code in one transaction."""

from __future__ import annotations

from sqlalchemy import Engine

from saraban.domain.roster import RosterFile
from saraban.storage import store
from saraban.storage.engine import session_scope
from saraban.storage.store import ImportResult


def import_roster(engine: Engine, roster: RosterFile) -> ImportResult:
    """Create or update the roster's colleges (none is deleted), in one transaction."""
    with session_scope(engine, immediate=True) as session:
        return store.import_colleges(session=session, colleges=roster.rows)


def college_count(engine: Engine) -> int:
    """How many colleges the database holds (none: no roster imported yet)."""
    from sqlalchemy import func
    from sqlmodel import select

    from saraban.storage.models import College

    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(College)).one())
