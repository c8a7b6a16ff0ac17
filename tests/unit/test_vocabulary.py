"""The one vocabulary (saraban.domain.vocabulary): its words agree with every place that spells
them out (the Literals the API validates with, the database's CHECK constraints, the letter
file's signer), and its numerals, years and dates are Thailand's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import get_args

import pytest
import sqlalchemy as sa

from letters import model, thaitext
from saraban.domain import routing, vocabulary
from saraban.domain.vocabulary import (
    ACTING_CHOICES,
    DECISION_KINDS,
    POST_RELATIONS,
    PROPOSAL_KINDS,
    ROLES,
    SIGNING_RELATIONS,
    ActingRelation,
    DecisionKind,
    ProposalKind,
    Role,
    abbreviated_thai_date,
    arabic_digits,
    short_thai_date,
    thai_date,
    thai_time,
    year_be,
)
from saraban.storage.models import Account


def test_the_kinds_and_their_literals_are_the_same_words() -> None:
    assert get_args(ProposalKind) == PROPOSAL_KINDS
    assert get_args(DecisionKind) == DECISION_KINDS
    assert get_args(Role) == ROLES
    assert get_args(ActingRelation) == ACTING_CHOICES == ("", *POST_RELATIONS)
    # The routing rules re-export them, not copies of them.
    assert routing.PROPOSAL_KINDS is PROPOSAL_KINDS and routing.DECISION_KINDS is DECISION_KINDS


def test_a_signer_may_sign_for_the_director_but_only_a_post_holder_decides() -> None:
    assert vocabulary.DELEGATED in SIGNING_RELATIONS and vocabulary.DELEGATED not in ACTING_CHOICES
    assert set(POST_RELATIONS) < set(SIGNING_RELATIONS)
    assert model.ACTING_RELATIONS is SIGNING_RELATIONS  # the letter file's choice
    with pytest.raises(routing.RoutingError, match="acting"):
        routing.Staff(
            id=1,
            name="นายทดสอบ",
            position="รองผู้อำนวยการ",
            role="deputy",
            acting=vocabulary.DELEGATED,
            acting_for="ผู้อำนวยการวิทยาลัย",
        )


def test_the_database_checks_the_same_roles_and_relations() -> None:
    table = Account.__table__  # type: ignore[attr-defined]
    checks = {
        c.name: str(c.sqltext) for c in table.constraints if isinstance(c, sa.CheckConstraint)
    }
    acting = checks["ck_account_acting_relation"]
    kinds = checks["ck_account_kind_fields"]
    for relation in ACTING_CHOICES:
        assert f"'{relation}'" in acting
    assert f"'{vocabulary.DELEGATED}'" not in acting
    for role in ROLES:
        assert f"'{role}'" in kinds


def test_year_be_in_bangkok_time() -> None:
    # 17:00 UTC on 31 December is midnight in Bangkok (UTC+7).
    assert year_be(datetime(2025, 12, 31, 16, 59, 59, tzinfo=UTC)) == 2568
    assert year_be(datetime(2025, 12, 31, 17, 0, tzinfo=UTC)) == 2569
    assert year_be(datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=9)))) == 2568
    assert year_be(date(2026, 4, 10)) == 2569
    assert year_be() == datetime.now(UTC).astimezone(vocabulary.BANGKOK).year + 543
    assert vocabulary.bangkok_today().year + 543 == year_be()
    with pytest.raises(ValueError, match="naive"):
        year_be(datetime(2026, 1, 1))


def test_thai_dates_are_the_dates_in_thailand() -> None:
    late = datetime(2026, 4, 19, 18, 5, tzinfo=UTC)  # 20 April, 01.05 in Bangkok
    assert thai_date(late) == "๒๐ เมษายน ๒๕๖๙"
    assert thai_date(late, thai=False) == "20 เมษายน 2569"
    assert abbreviated_thai_date(late) == "20 เม.ย. 2569"
    assert short_thai_date(late) == "20 เม.ย. 69"
    assert thai_time(late) == "01.05 น."
    assert thai_date(date(2026, 4, 10)) == "๑๐ เมษายน ๒๕๖๙"
    # The typesetting's names are the vocabulary's functions, not copies.
    assert thaitext.thai_date is thai_date and thaitext.short_thai_date is short_thai_date


def test_thai_digits_read_as_arabic() -> None:
    assert arabic_digits("๑๓๕๒๐๑๖๕๐๑") == "1352016501"
    assert arabic_digits("เลขที่ ๑๒/2569") == "เลขที่ 12/2569"
    assert not vocabulary.has_thai_digits("1352016501") and vocabulary.has_thai_digits("๐")
