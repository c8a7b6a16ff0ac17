"""Password policies for one-time credentials printed on paper slips.

A policy is a *pattern* of character classes, one character per position:

* ``a`` -- a lowercase ASCII letter
* ``A`` -- an uppercase ASCII letter
* ``9`` -- a digit

Each class draws from an alphabet without look-alike characters, because the
password is read off paper and typed by hand: no ``i``/``l``/``o`` (they look
like ``1``/``1``/``0``), no ``I``/``O``, and no digits ``0``/``1``.

Passwords are drawn with :func:`secrets.choice` only.
"""

from __future__ import annotations

import math
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

LOWERCASE = "abcdefghjkmnpqrstuvwxyz"
"""Lowercase letters without ``i``, ``l`` and ``o``."""

UPPERCASE = "ABCDEFGHJKLMNPQRSTUVWXYZ"
"""Uppercase letters without ``I`` and ``O``."""

DIGITS = "23456789"
"""Digits without ``0`` and ``1``."""

CLASS_ALPHABETS: Mapping[str, str] = MappingProxyType({"a": LOWERCASE, "A": UPPERCASE, "9": DIGITS})
"""Pattern character -> the alphabet it draws from."""

CLASS_NAMES: Mapping[str, str] = MappingProxyType(
    {"a": "lowercase letter", "A": "uppercase letter", "9": "digit"}
)

DEFAULT_HINT_TH = "ตัวอักษรภาษาอังกฤษตัวพิมพ์เล็ก"
"""Hint printed on the slip under the password ("lowercase English letters")."""


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True)
class PasswordPolicy:
    """A fixed-shape password policy, e.g. ``"aa99aaa"`` -> ``cu27kdp``."""

    pattern: str = "aa99aaa"
    hint_th: str = DEFAULT_HINT_TH
    name: str = "default"

    def __post_init__(self) -> None:
        _check_pattern(self.pattern)
        object.__setattr__(self, "hint_th", _nfc(self.hint_th))

    @property
    def length(self) -> int:
        return len(self.pattern)

    @property
    def alphabets(self) -> tuple[str, ...]:
        """The alphabet used at each position of the password."""
        return tuple(CLASS_ALPHABETS[c] for c in self.pattern)

    @property
    def entropy_bits(self) -> float:
        """Entropy of a uniformly drawn password, in bits."""
        return sum(math.log2(len(alphabet)) for alphabet in self.alphabets)

    def matches(self, password: str) -> bool:
        """True if *password* has this policy's shape and uses only its alphabets."""
        if len(password) != self.length:
            return False
        return all(ch in alphabet for ch, alphabet in zip(password, self.alphabets, strict=True))


def _check_pattern(pattern: object) -> None:
    if not isinstance(pattern, str):
        raise TypeError(f"password pattern must be a str, got {type(pattern).__name__}")
    if not pattern:
        raise ValueError("password pattern is empty; use classes " + _classes_text())
    for position, ch in enumerate(pattern, start=1):
        if ch not in CLASS_ALPHABETS:
            raise ValueError(
                f"invalid password pattern {pattern!r}: character {ch!r} at position {position}"
                f" is not a class; use {_classes_text()}"
            )


def _classes_text() -> str:
    return ", ".join(f"{c!r} ({CLASS_NAMES[c]})" for c in CLASS_ALPHABETS)


def generate(policy: PasswordPolicy) -> str:
    """Draw one password for *policy* using :mod:`secrets`."""
    return "".join(secrets.choice(alphabet) for alphabet in policy.alphabets)


DEFAULT_POLICY = PasswordPolicy()
"""7 characters, 2 lowercase + 2 digits + 3 lowercase, like ``cu27kdp`` (about 28.6 bits)."""

LONG_POLICY = PasswordPolicy(
    pattern="aaaA99aaaA99",
    hint_th="ตัวอักษรภาษาอังกฤษตัวพิมพ์เล็ก ตัวพิมพ์ใหญ่ และตัวเลข",
    name="long",
)
"""12 characters mixing lowercase, uppercase and digits (about 48.3 bits)."""

POLICIES: Mapping[str, PasswordPolicy] = MappingProxyType(
    {DEFAULT_POLICY.name: DEFAULT_POLICY, LONG_POLICY.name: LONG_POLICY}
)


def policy_from_name(name: str) -> PasswordPolicy:
    """Look a policy up by name; unknown names raise :class:`ValueError`."""
    try:
        return POLICIES[name]
    except KeyError:
        known = ", ".join(sorted(POLICIES))
        raise ValueError(f"unknown password policy {name!r}; known policies: {known}") from None
