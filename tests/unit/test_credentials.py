"""Password policies and argon2id hashing (credentials package)."""

from __future__ import annotations

import math
import pickle
import re
import traceback
import unicodedata

import pytest

from credentials import (
    DEFAULT_HINT_TH,
    DEFAULT_POLICY,
    DIGITS,
    LONG_POLICY,
    LOWERCASE,
    POLICIES,
    UPPERCASE,
    HashSettings,
    PasswordPolicy,
    generate,
    hash_many,
    hash_password,
    make_context,
    policy_from_name,
    verify_password,
)

FAST = HashSettings(memory_kib=1024, time_cost=1, parallelism=1)
LOOK_ALIKES = set("ilo01IO")


# --------------------------------------------------------------------------- policy


def test_default_policy_shape_like_seed_slip() -> None:
    assert DEFAULT_POLICY.pattern == "aa99aaa"
    assert DEFAULT_POLICY.hint_th == "ตัวอักษรภาษาอังกฤษตัวพิมพ์เล็ก"
    for _ in range(300):
        password = generate(DEFAULT_POLICY)
        assert re.fullmatch(r"[a-z]{2}[2-9]{2}[a-z]{3}", password)
        assert DEFAULT_POLICY.matches(password)
        assert not LOOK_ALIKES & set(password)


def test_long_policy_shape() -> None:
    assert LONG_POLICY.length == 12
    for _ in range(300):
        password = generate(LONG_POLICY)
        assert LONG_POLICY.matches(password)
        assert not LOOK_ALIKES & set(password)
        for ch, cls in zip(password, LONG_POLICY.pattern, strict=True):
            expected = {"a": LOWERCASE, "A": UPPERCASE, "9": DIGITS}[cls]
            assert ch in expected


def test_uppercase_class_is_supported() -> None:
    policy = PasswordPolicy(pattern="AA9a", name="custom")
    password = generate(policy)
    assert re.fullmatch(r"[A-Z]{2}[2-9][a-z]", password)


def test_alphabets_have_no_look_alikes() -> None:
    assert not LOOK_ALIKES & set(LOWERCASE + UPPERCASE + DIGITS)
    assert set(DIGITS) == set("23456789")
    assert len(set(LOWERCASE)) == len(LOWERCASE) == 23


def test_thousand_draws_vary() -> None:
    draws = [generate(DEFAULT_POLICY) for _ in range(1000)]
    assert len(set(draws)) > 900
    for position in range(DEFAULT_POLICY.length):
        assert len({d[position] for d in draws}) > 1


def test_matches_rejects_wrong_shape() -> None:
    assert not DEFAULT_POLICY.matches("ab12cde")  # '1' is a look-alike
    assert not DEFAULT_POLICY.matches("cu27kdo")  # 'o' is a look-alike
    assert not DEFAULT_POLICY.matches("ab23cd")
    assert not DEFAULT_POLICY.matches("AB23CDE")
    assert DEFAULT_POLICY.matches("ab23cde")


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("aa#9", "'#' at position 3"),
        ("aab", "'b' at position 3"),
        ("", "empty"),
    ],
)
def test_invalid_pattern_errors(pattern: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="pattern") as info:
        PasswordPolicy(pattern=pattern)
    assert fragment in str(info.value)


def test_pattern_must_be_str() -> None:
    with pytest.raises(TypeError):
        PasswordPolicy(pattern=7)  # type: ignore[arg-type]


def test_entropy_bits() -> None:
    assert DEFAULT_POLICY.entropy_bits == pytest.approx(5 * math.log2(23) + 2 * math.log2(8))
    assert LONG_POLICY.entropy_bits > 45
    assert LONG_POLICY.entropy_bits > DEFAULT_POLICY.entropy_bits


def test_policy_from_name() -> None:
    assert policy_from_name("default") is DEFAULT_POLICY
    assert policy_from_name("long") is LONG_POLICY
    assert set(POLICIES) == {"default", "long"}
    with pytest.raises(ValueError, match="unknown password policy 'short'") as info:
        policy_from_name("short")
    assert "default" in str(info.value) and "long" in str(info.value)


def test_hint_is_a_field_and_nfc() -> None:
    decomposed = "ป\u0e48\u0e39"  # tone mark before sara uu: not canonical order
    policy = PasswordPolicy(hint_th=decomposed)
    assert policy.hint_th == unicodedata.normalize("NFC", decomposed)
    assert PasswordPolicy().hint_th == DEFAULT_HINT_TH
    assert unicodedata.is_normalized("NFC", LONG_POLICY.hint_th)


# --------------------------------------------------------------------------- hashing


def test_default_context_is_owasp_argon2id() -> None:
    ctx = make_context()
    hashed = hash_password(ctx, "ab23cde")
    assert hashed.startswith("$argon2id$")
    assert "$m=19456,t=2,p=1$" in hashed
    assert verify_password(ctx, "ab23cde", hashed) == (True, None)
    assert verify_password(ctx, "ab23cdf", hashed) == (False, None)
    assert HashSettings() == HashSettings(19456, 2, 1)


def test_hash_is_salted() -> None:
    ctx = FAST.context()
    assert hash_password(ctx, "ab23cde") != hash_password(ctx, "ab23cde")


def test_needs_update_returns_new_hash_when_params_raised() -> None:
    weak = make_context(memory_kib=1024, time_cost=1)
    strong = make_context(memory_kib=2048, time_cost=2)
    old = hash_password(weak, "xy34pqr")
    assert strong.needs_update(old)
    ok, new = verify_password(strong, "xy34pqr", old)
    assert ok
    assert new is not None and new.startswith("$argon2id$") and "$m=2048,t=2,p=1$" in new
    assert verify_password(strong, "xy34pqr", new) == (True, None)
    assert verify_password(strong, "wrong", old) == (False, None)


def test_current_hash_needs_no_update() -> None:
    ctx = FAST.context()
    hashed = hash_password(ctx, "xy34pqr")
    assert not ctx.needs_update(hashed)
    assert verify_password(ctx, "xy34pqr", hashed) == (True, None)


def test_hash_settings_is_picklable_and_validated() -> None:
    assert pickle.loads(pickle.dumps(FAST)) == FAST
    for bad in ({"memory_kib": 0}, {"time_cost": -1}, {"parallelism": 0}, {"memory_kib": 4}):
        with pytest.raises(ValueError):
            HashSettings(**bad)


def test_hash_many_parallel_preserves_order() -> None:
    passwords = [generate(DEFAULT_POLICY) for _ in range(12)]
    hashes = hash_many(FAST, passwords, workers=2)
    assert len(hashes) == len(passwords)
    ctx = FAST.context()
    for password, hashed in zip(passwords, hashes, strict=True):
        assert "$m=1024,t=1,p=1$" in hashed
        assert verify_password(ctx, password, hashed) == (True, None)
    assert not verify_password(ctx, passwords[0], hashes[1])[0]


def test_hash_many_in_process() -> None:
    passwords = ["ab23cde", "fg45hjk", "mn67pqr"]
    for workers in (1, None):
        hashes = hash_many(FAST, passwords, workers=workers)
        ctx = FAST.context()
        assert [verify_password(ctx, p, h)[0] for p, h in zip(passwords, hashes, strict=True)] == [
            True,
            True,
            True,
        ]
    assert hash_many(FAST, []) == []


def test_hash_many_rejects_bad_workers() -> None:
    with pytest.raises(ValueError, match="workers"):
        hash_many(FAST, ["ab23cde"], workers=0)


def test_no_plaintext_in_errors_or_reprs() -> None:
    password = generate(LONG_POLICY)
    ctx = FAST.context()
    for call in (
        lambda: verify_password(ctx, password, "not-a-hash"),
        lambda: verify_password(ctx, password, "$argon2id$v=19$garbage"),
        lambda: verify_password(ctx, password, None),  # type: ignore[arg-type]
        lambda: hash_password(ctx, password.encode()),  # type: ignore[arg-type]
        lambda: hash_many(FAST, [password, password.encode()]),  # type: ignore[list-item]
        lambda: hash_password(ctx, password * 1000),
        lambda: verify_password(ctx, password * 1000, hash_password(ctx, password)),
    ):
        with pytest.raises((ValueError, TypeError)) as info:
            call()
        text = "".join(traceback.format_exception_only(info.type, info.value))
        assert password not in text
        assert password not in repr(info.value)
    assert password not in repr(ctx) + repr(FAST) + repr(LONG_POLICY)


def test_too_long_password_is_not_reported_as_bad_hash() -> None:
    ctx = FAST.context()
    hashed = hash_password(ctx, "ab23cde")
    with pytest.raises(ValueError, match="maximum allowed size"):
        verify_password(ctx, "x" * 5000, hashed)
